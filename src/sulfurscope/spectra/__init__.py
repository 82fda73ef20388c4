"""spectra."""

__all__: list[str] = []
