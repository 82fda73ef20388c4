"""cycling."""

__all__: list[str] = []
