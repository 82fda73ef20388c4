"""sulfurscope: raw instrument files to the figures of a lithium-sulfur cathode study.

The package is a pure functional core (``cycling``, ``microscopy``, ``spectra``, ``model``) wrapped by
thin shells (``io``, ``study``, ``report``, ``cli``). Core functions take arrays and DataFrames with
``"Quantity [unit]"`` columns (see :mod:`sulfurscope.units`) and return frozen result dataclasses.
"""

from sulfurscope.errors import (
    FileFormatError,
    FitError,
    MissingColumnError,
    SulfurscopeError,
    SulfurscopeWarning,
)

__version__ = "0.1.0"

__all__ = [
    "FileFormatError",
    "FitError",
    "MissingColumnError",
    "SulfurscopeError",
    "SulfurscopeWarning",
    "__version__",
]
