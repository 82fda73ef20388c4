"""What every analysis returns: its tables, its flags and its provenance.

:class:`AnalysisResult` is one frozen type for every analysis. Its ``tables`` are tidy DataFrames with
``"Quantity [unit]"`` columns (the store writes them as they are; the CLI writes them as CSV and
Parquet), its ``flags`` say what was doubtful or failed (a failed fit is a flag with severity
``"failed"``, never a silent NaN), and its ``provenance`` says what produced it: the analysis and the
version of its code, the sulfurscope version, the options, and the inputs' SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FLAG_COLUMNS",
    "AnalysisResult",
    "Flag",
    "Provenance",
    "Source",
    "flags_frame",
    "source",
]

Severity = Literal["note", "warning", "failed"]
FLAG_COLUMNS = ["Severity", "Code", "Subject", "Message"]


@dataclass(frozen=True, slots=True)
class Flag:
    """Something a reader of the numbers must know.

    Attributes
    ----------
    code : str
        Short snake_case name of the condition (``fit_failed``, ``rest_too_short``, ``pulse_limited``,
        ``window_overlap``, ...); the docs list them.
    message : str
        What is wrong with the data or the estimate, in a sentence.
    severity : {"note", "warning", "failed"}
        ``failed``: a number could not be determined (it is absent or NaN in the tables and this flag
        says why); ``warning``: a number exists but leaves its method's validity; ``note``: context.
    subject : str
        What it concerns (a region, a step, a line), "" for the whole result.
    """

    code: str
    message: str
    severity: Severity = "warning"
    subject: str = ""

    def to_dict(self) -> dict[str, str]:
        """Plain dict."""
        return {
            "severity": self.severity,
            "code": self.code,
            "subject": self.subject,
            "message": self.message,
        }


def flags_frame(flags: Iterable[Flag]) -> pd.DataFrame:
    """Flags as a table (``Severity``, ``Code``, ``Subject``, ``Message``)."""
    import pandas as pd

    rows = [[f.severity, f.code, f.subject, f.message] for f in flags]
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


@dataclass(frozen=True, slots=True)
class Source:
    """One input file: its role (``file``, ``low_loss``, ...), name, size and SHA-256."""

    role: str
    name: str
    sha256: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "role": self.role,
            "name": self.name,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
        }


def source(path: str | os.PathLike[str], role: str = "file") -> Source:
    """Describe an input file (its content hash, read in 1 MiB blocks, opened read-only)."""
    p = Path(path)
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return Source(role=role, name=p.name, sha256=h.hexdigest(), size_bytes=p.stat().st_size)


@dataclass(frozen=True, slots=True)
class Provenance:
    """What produced a result.

    Attributes
    ----------
    analysis : str
        Analysis name.
    analysis_version : str
        Hash of the source code the analysis runs (its module and every sulfurscope module it
        imports): it changes when the code changes, which invalidates cached results.
    sulfurscope_version : str
        Package version.
    options : mapping
        The options, as plain values.
    inputs : tuple of Source
        The input files (empty for study-level steps, which record their input tables' hashes).
    """

    analysis: str
    analysis_version: str
    sulfurscope_version: str
    options: Mapping[str, Any]
    inputs: tuple[Source, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "analysis": self.analysis,
            "analysis_version": self.analysis_version,
            "sulfurscope_version": self.sulfurscope_version,
            "options": dict(self.options),
            "inputs": [s.to_dict() for s in self.inputs],
        }


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """The result of one analysis on one input (or of a study-level step on many).

    Attributes
    ----------
    analysis : str
        Analysis name (``cycling``, ``gitt``, ``xps``, ...).
    tables : mapping of str to DataFrame
        The result tables by name (read-only mapping).
    flags : tuple of Flag
        Warnings and failures (see :class:`Flag`).
    provenance : Provenance
        Analysis, code version, options, inputs.
    summary : mapping
        A few JSON-ready headline numbers for the console and ``--json``.
    """

    analysis: str
    tables: Mapping[str, pd.DataFrame]
    flags: tuple[Flag, ...] = ()
    provenance: Provenance | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        object.__setattr__(self, "flags", tuple(self.flags))
        object.__setattr__(self, "summary", MappingProxyType(dict(self.summary)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: table names with row counts, flags, provenance, summary."""
        return {
            "analysis": self.analysis,
            "tables": {k: len(v) for k, v in self.tables.items()},
            "flags": [f.to_dict() for f in self.flags],
            "provenance": None if self.provenance is None else self.provenance.to_dict(),
            "summary": dict(self.summary),
        }


def merge_flags(*groups: Sequence[Flag]) -> tuple[Flag, ...]:
    """Concatenate flag groups, dropping exact duplicates (order kept)."""
    return tuple(dict.fromkeys(f for g in groups for f in g))
