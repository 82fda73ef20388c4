"""The one small error tree of sulfurscope.

Every error names the argument or file, what was received and what was expected, e.g.
``FileFormatError("cell_07.mpr: column id 115 unknown — update galvani or export .mpt")``.
"""

from __future__ import annotations

__all__ = [
    "FileFormatError",
    "FitError",
    "InputNotFoundError",
    "InputRepairWarning",
    "LimitError",
    "MissingColumnError",
    "SulfurscopeError",
    "SulfurscopeWarning",
]


class SulfurscopeError(Exception):
    """Base class of every error sulfurscope raises on purpose."""


class FileFormatError(SulfurscopeError, ValueError):
    """An input file is not what its reader expects (wrong format, truncated, empty, unknown field)."""


class InputNotFoundError(FileFormatError, FileNotFoundError):
    """An input file does not exist (the message names the path)."""


class MissingColumnError(SulfurscopeError, KeyError):
    """A table lacks a column an analysis needs (the message names the column and the table)."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class FitError(SulfurscopeError, RuntimeError):
    """A fit did not converge or gave parameters outside their physical range."""


class LimitError(SulfurscopeError, RuntimeError):
    """A read or a task ran past its time or memory limit, or its process died.

    ``reason`` is ``"timeout"``, ``"memory"`` or ``"crash"``.
    """

    def __init__(self, message: str = "", reason: str = "crash") -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # type: ignore[no-untyped-def]  # travels between processes intact
        return (type(self), (str(self), self.reason))


class SulfurscopeWarning(UserWarning):
    """Something worth a look that did not stop the analysis (e.g. a rest that had not equilibrated)."""


class InputRepairWarning(SulfurscopeWarning):
    """A reader repaired its input (dropped non-finite rows, sorted an axis, ...); the message names
    the file and counts what was changed."""
