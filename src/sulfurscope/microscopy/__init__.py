"""microscopy."""

__all__: list[str] = []
