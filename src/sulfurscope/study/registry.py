"""The analysis registry: how an analysis plugs into the study pipeline.

Every analysis is one module ``sulfurscope/study/analyses/<area>.py`` that ends with one
:func:`register_analysis` call. The pipeline (:mod:`sulfurscope.study.pipeline`) never names an
analysis: it builds tasks from the manifest by each analysis's ``kind``, runs them, stores their tables
and asks each analysis for its report sections.

Contract
--------
``run(files, options) -> dict[str, DataFrame] | AnalysisResult``
    Executed in a worker process (a top-level, picklable function, or a ``functools.partial`` of
    one). A built-in analysis returns the :class:`~sulfurscope.analysis.AnalysisResult` of the
    analysis layer (its tables and its flags); a plug-in may return a dict of tables. ``files`` maps a role to an
    absolute path (``{"file": p}``; ``{"low_loss": p, "core_loss": q}`` for EELS; ``{"project": p}`` for
    an EDS project); ``options`` is the JSON-like options table of the manifest entry (for cells and
    images the pipeline adds the entry's fields, e.g. ``sulfur_mass_mg``, ``protocol``, ``pixel_size_nm``).
    Reads raw files read-only, never writes files, returns tidy tables (``"Quantity [unit]"`` columns)
    keyed by names listed in ``tables``. Raises on failure (the pipeline records it as a problem).
``report(tables, figdir) -> list[ReportSection]``
    Builds report sections from the store tables only: every name of ``tables`` mapped to the
    concatenation over all tasks of the analysis, with ``"Task"`` and ``"Sample"`` as the first two
    columns (an empty DataFrame when no task produced it). Writes figures (PNG) into ``figdir``.
``combine(context) -> dict[str, DataFrame] | AnalysisResult`` (optional, study-level steps)
    Runs once after every per-task analysis, on an :class:`AnalysisContext`: the store tables it
    declares in ``inputs`` (``context.tables``, with ``Task``/``Sample``; every table when it declares
    none), the manifest's samples and cells tables and the options of
    the manifest table named like the analysis (``[model]`` for ``name="model"``). Cached by the content
    of its ``inputs`` tables, its options and the sulfurscope version. Its tables get ``Task`` =
    the analysis name and ``Sample`` = "" unless it returns a ``Sample`` column itself.

``kind`` decides which manifest entries become tasks (see :data:`BUILTIN_KINDS`); any other kind
(``"xps"``, ``"raman"``, ``"eds"``, ``"eels"``, ...) means one task per ``[[spectra]]`` entry with
that ``kind``. ``order`` sorts the report sections (the reference study's figure order).

Examples
--------
>>> import pandas as pd
>>> def run_demo(files, options):
...     return {"demo_values": pd.DataFrame({"Value [1]": [1.0]})}
>>> a = register_analysis(name="_doctest", kind="raman", run=run_demo, report=lambda t, d: [],
...                       tables=("demo_values",), figure="none", replace=True)
>>> a.name, a.per_task
('_doctest', True)
>>> unregister_analysis("_doctest")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.errors import SulfurscopeError

__all__ = [
    "BUILTIN_KINDS",
    "Analysis",
    "AnalysisContext",
    "Task",
    "analyses",
    "get_analysis",
    "register_analysis",
    "unregister_analysis",
]

#: Kinds whose tasks come from the manifest's cells, images and samples (others: ``[[spectra]]``).
BUILTIN_KINDS: dict[str, str] = {
    "cycling": "cells with protocol rate, cycling or asymmetric (one task per cycler file)",
    "gitt": "cells with protocol gitt (one task per cycler file)",
    "sem": "images with kind = 'sem' (one task per image)",
    "hrtem": "images with kind = 'hrtem' (one task per image)",
    "tga": "samples with a tga file (one task per sample)",
    "study": "no per-file tasks: a study-level step given as combine=",
}

RunFunction = Callable[[Mapping[str, Path], Mapping[str, Any]], Any]
CombineFunction = Callable[["AnalysisContext"], Any]
ReportFunction = Callable[[Mapping[str, pd.DataFrame], Path], list[Any]]


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work: an analysis applied to one manifest entry.

    Attributes
    ----------
    analysis : str
        Registered analysis name.
    name : str
        Unique task name (e.g. ``"cycling:8um_rate_1"``); the ``Task`` column of the store.
    sample : str
        Sample name (``Sample`` column), "" when the entry has none.
    files : tuple of (str, str)
        (role, absolute path) pairs; ``run`` receives them as a dict of Paths.
    options : tuple of (str, Any)
        Sorted (key, value) items of the options, JSON-like values; ``run`` receives a dict.
    """

    analysis: str
    name: str
    sample: str
    files: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "analysis": self.analysis,
            "name": self.name,
            "sample": self.sample,
            "files": dict(self.files),
            "options": dict(self.options),
        }


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """What a study-level ``combine`` step sees.

    Attributes
    ----------
    tables : mapping of str to DataFrame
        The store tables the step declares in ``inputs`` (all tasks concatenated, ``Task`` and
        ``Sample`` columns first); every store table for a step that declares none.
    samples : DataFrame
        The manifest's samples: ``Sample``, ``Carbon``, ``Particle size label``,
        ``Particle size [um]``, ``Sulfur fraction``.
    options : mapping of str to Any
        The manifest table named like the analysis (e.g. ``[model]``), {} when absent.
    cells : DataFrame
        The manifest's cells (``Cell``, ``Sample``, ``Condition``, ``Protocol``, ``Excluded`` and
        the sulfur-mass fields; :meth:`Study.cells_frame`).
    cores : int, optional
        Local processes the step may use (the run's worker count; None: every core). A step's
        results must not depend on it.
    """

    tables: Mapping[str, pd.DataFrame]
    samples: pd.DataFrame
    options: Mapping[str, Any] = field(default_factory=dict)
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)
    cores: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Table names with row counts, samples and options."""
        return {
            "tables": {k: len(v) for k, v in self.tables.items()},
            "samples": self.samples.to_dict(orient="records"),
            "options": dict(self.options),
        }


@dataclass(frozen=True, slots=True)
class Analysis:
    """A registered analysis (see the module docstring for the meaning of each field)."""

    name: str
    kind: str
    run: RunFunction | None
    report: ReportFunction
    tables: tuple[str, ...]
    figure: str
    combine: CombineFunction | None = None
    inputs: tuple[str, ...] = ()
    order: float = 100.0
    applies: Callable[[AnalysisContext], bool] | None = None

    @property
    def per_task(self) -> bool:
        """Whether the analysis runs per manifest entry (else it is a study-level combine step)."""
        return self.combine is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (function names, not functions)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "tables": list(self.tables),
            "figure": self.figure,
            "inputs": list(self.inputs),
            "order": self.order,
            "study_level": not self.per_task,
        }


_REGISTRY: dict[str, Analysis] = {}


def register_analysis(
    *,
    name: str,
    kind: str,
    run: RunFunction | None,
    report: ReportFunction,
    tables: tuple[str, ...] | list[str],
    figure: str,
    combine: CombineFunction | None = None,
    inputs: tuple[str, ...] | list[str] = (),
    order: float | None = None,
    replace: bool = False,
    applies: Callable[[AnalysisContext], bool] | None = None,
) -> Analysis:
    """Register an analysis with the study pipeline and return it.

    Parameters
    ----------
    name : str
        Unique name (snake_case), e.g. ``"xps"``.
    kind : str
        Which manifest entries become its tasks (:data:`BUILTIN_KINDS`, else the ``kind`` of
        ``[[spectra]]`` entries).
    run : callable or None
        ``run(files, options) -> dict[str, DataFrame]`` (module docstring); None only with ``combine``.
    report : callable
        ``report(tables, figdir) -> list[ReportSection]``.
    tables : tuple of str
        Names of the store tables it writes; unique across analyses.
    figure : str
        Which figures/tables of the reference study it reproduces (shown in the report).
    combine : callable, optional
        Study-level step ``combine(context: AnalysisContext) -> dict[str, DataFrame]``.
    inputs : tuple of str
        Store tables ``combine`` reads (its cache key); the step is skipped when none is present.
    applies : callable, optional
        ``applies(context) -> bool``: whether a study-level step has anything to do (skipped, and
        not counted as a task, when False).
    order : float, optional
        Report position (Fig 1 = 10, Fig 2 = 20, Fig 3 = 30, Fig 4 = 40, Fig 5 = 50, S1 Raman = 60,
        TGA = 70); default 100.
    replace : bool
        Allow re-registering a name (tests, reloads).

    Raises
    ------
    SulfurscopeError
        Duplicate name or table name, missing ``run`` for a per-task analysis, bad names.
    """
    if not name or not name.replace("_", "").isalnum():
        raise SulfurscopeError(f"register_analysis: name must be snake_case, got {name!r}")
    if run is None and combine is None:
        raise SulfurscopeError(
            f"register_analysis({name!r}): give run= (or combine= for a study step)"
        )
    if name in _REGISTRY and not replace:
        raise SulfurscopeError(f"register_analysis: {name!r} is already registered")
    tables = tuple(tables)
    for t in tables:
        if not t or not t.replace("_", "").isalnum():
            raise SulfurscopeError(
                f"register_analysis({name!r}): table name {t!r} is not snake_case"
            )
        for other in _REGISTRY.values():
            if other.name != name and t in other.tables:
                raise SulfurscopeError(
                    f"register_analysis({name!r}): table {t!r} already belongs to {other.name!r}"
                )
    analysis = Analysis(
        name=name,
        kind=kind,
        run=run,
        report=report,
        tables=tables,
        figure=figure,
        combine=combine,
        inputs=tuple(inputs),
        order=100.0 if order is None else float(order),
        applies=applies,
    )
    _REGISTRY[name] = analysis
    return analysis


def unregister_analysis(name: str) -> None:
    """Remove an analysis (tests)."""
    _REGISTRY.pop(name, None)


def get_analysis(name: str) -> Analysis:
    """The registered analysis called ``name`` (the built-in ones registered first)."""
    analyses()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SulfurscopeError(
            f"no analysis {name!r} registered (have {sorted(_REGISTRY)})"
        ) from None


def _register_builtins() -> None:
    from sulfurscope.study.builtin import builtin_analyses

    if not _BUILTINS_DONE:
        for kwargs in builtin_analyses():
            register_analysis(**kwargs, replace=True)
        _BUILTINS_DONE.append(True)


_BUILTINS_DONE: list[bool] = []


def analyses() -> dict[str, Analysis]:
    """Every registered analysis (the built-in ones first registered), in report order."""
    _register_builtins()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))
