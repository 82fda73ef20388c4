"""The built-in analyses as pipeline steps: each is the analysis layer's function (run on a task's
files, or on the store tables for a study-level step) and the report layer's figures and section.

Nothing here computes: a task runs :func:`sulfurscope.analysis.run_files`, exactly what the matching
CLI command runs; the report draws :mod:`sulfurscope.report.figures` and
:mod:`sulfurscope.report.sections`, exactly what the CLI writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.study.manifest import KIND_OF

__all__ = [
    "builtin_analyses",
    "builtin_report",
    "builtin_run",
    "combine_gitt_scaling",
    "combine_model",
    "combine_replicates",
]
_ORDER = {
    "particles": 5, "cycling": 10, "gitt": 20, "gitt_scaling": 21, "eds": 32, "eels": 33,
    "lattice": 39, "xps": 40, "replicates": 45, "model": 50, "raman": 60, "tga": 70,
}


def builtin_run(name: str, files: Mapping[str, Path], options: Mapping[str, Any]) -> Any:
    """A task of a built-in analysis: read its files and run the analysis (worker side)."""
    from sulfurscope.analysis import run_files

    return run_files(name, files, options)


def builtin_report(name: str, tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[Any]:
    """The report section of a built-in analysis: its figures (saved into ``figdir``), tables and
    flags (``tables["flags"]``)."""
    from sulfurscope.analysis import analysis_spec
    from sulfurscope.report.figures import save_figures
    from sulfurscope.report.sections import section_for

    analysis = "model_fit" if name == "model" else name
    figures, failed = save_figures(analysis, tables, figdir)
    flags = tables.get("flags")
    if failed:
        extra = pd.DataFrame(
            [
                {"Task": "", "Severity": "warning", "Code": "figure_failed", "Subject": stem,
                 "Message": f"figure not drawn: {why}"}
                for stem, why in failed
            ]
        )
        flags = extra if flags is None or flags.empty else pd.concat([flags, extra], ignore_index=True)
    section = section_for(
        analysis,
        tables,
        figures,
        flags=flags if flags is not None and len(flags) else None,
        figure_ref=analysis_spec(analysis).figure,
    )
    return [] if section is None else [section]


def combine_gitt_scaling(ctx: Any) -> Any:
    """τ ∝ L^n across the GITT cells of samples of different size (study-level)."""
    from sulfurscope.analysis.gitt import GittScalingOptions, analyse_gitt_scaling
    from sulfurscope.analysis.model import sample_sizes

    steps = ctx.tables.get("gitt_steps", pd.DataFrame())
    sizes = sample_sizes(ctx.tables.get("particles", pd.DataFrame()), ctx.samples)
    per_task = {}
    if not steps.empty:
        per_task = {str(t): sizes.get(str(s), float("nan")) for t, s in
                    steps.groupby("Task", sort=False)["Sample"].first().items()}
    v_inf = str(steps["Vinf method"].iloc[0]) if "Vinf method" in steps and len(steps) else None
    opts = GittScalingOptions() if v_inf is None else GittScalingOptions(v_inf=v_inf)
    return analyse_gitt_scaling(steps, per_task, opts, _task_distributions(ctx, steps))


def _task_distributions(ctx: Any, steps: pd.DataFrame) -> dict[str, Any]:
    """Each GITT task's particle-size classes (diameters, volume weights) from its sample's SEM
    particles (none for a sample sized only by the manifest)."""
    from sulfurscope.analysis.gitt import size_classes

    particles = ctx.tables.get("particles", pd.DataFrame())
    if steps.empty or particles.empty or "Sample" not in particles:
        return {}
    out = {}
    for task, sample in steps.groupby("Task", sort=False)["Sample"].first().items():
        classes = size_classes(particles[particles["Sample"].astype(str) == str(sample)])
        if classes is not None:
            out[str(task)] = classes
    return out


def _gitt_sizes(ctx: Any) -> bool:
    """The τ-scaling / D step applies when GITT cells with a known particle size have a τ (D per
    rest needs one size; the τ ∝ L^n rows need two, and are simply absent otherwise)."""
    from sulfurscope.analysis.model import sample_sizes

    steps = ctx.tables.get("gitt_steps", pd.DataFrame())
    if steps.empty or "Tau [s]" not in steps.columns:
        return False
    sizes = sample_sizes(ctx.tables.get("particles", pd.DataFrame()), ctx.samples)
    known = {sizes[s] for s in steps["Sample"].astype(str).unique() if s in sizes}
    return len(known) >= 1


def combine_model(ctx: Any) -> Any:
    """The particle-size model fitted to the study's store tables (study-level)."""
    from sulfurscope.analysis.model import ModelFitOptions, analyse_model_fit, model_inputs
    from sulfurscope.errors import SulfurscopeError

    opts = ModelFitOptions.from_mapping(
        {k: v for k, v in ctx.options.items() if k in ("n_classes", "n_cells")}
    )
    rates, dists = model_inputs(
        ctx.tables.get("cycling_cycles", pd.DataFrame()),
        ctx.tables.get("particles", pd.DataFrame()),
        ctx.samples,
        opts.n_classes,
        ctx.tables.get("condition_stats"),
        getattr(ctx, "cells", None),
    )
    if not dists:
        raise SulfurscopeError(
            "model: no sample has both a size (particle_size_um or SEM images) and a rate test "
            "with sulfur masses; set [model] enabled = false to skip"
        )
    return analyse_model_fit(rates, dists, opts, processes=getattr(ctx, "cores", None))


def combine_replicates(ctx: Any) -> Any:
    """Condition statistics, comparisons, outliers and mass uncertainties of the replicate cells
    (study-level)."""
    from sulfurscope.analysis.replicates import ReplicateOptions, analyse_replicates

    tables = {n: ctx.tables[n] for n in (*_CELL_TABLES, "tga_fraction") if n in ctx.tables}
    cells = getattr(ctx, "cells", None)
    if cells is None or cells.empty:
        from sulfurscope.errors import SulfurscopeError

        raise SulfurscopeError("replicates: the study has no cells")
    return analyse_replicates(cells, tables, ReplicateOptions.from_mapping(ctx.options))


_CELL_TABLES = ("cycling_cycles", "cycling_rate_blocks", "cycling_retention", "gitt_steps",
                "gitt_diffusivity")


def _has_cells(ctx: Any) -> bool:
    """The replicates step applies when the study has cells with cycling or GITT results."""
    cells = getattr(ctx, "cells", None)
    return cells is not None and not cells.empty and any(
        n in ctx.tables and not ctx.tables[n].empty for n in _CELL_TABLES
    )


def builtin_analyses() -> list[dict[str, Any]]:
    """The built-in analyses as :func:`~sulfurscope.study.registry.register_analysis` arguments
    (the registry registers them; nothing here depends on it)."""
    from sulfurscope.analysis import analysis_spec, tables_of

    out: list[dict[str, Any]] = [
        {
            "name": name,
            "kind": kind,
            "run": partial(builtin_run, name),
            "report": partial(builtin_report, name),
            "tables": tables_of(name),
            "figure": analysis_spec(name).figure,
            "order": _ORDER[name],
        }
        for kind, name in KIND_OF.items()
    ]
    out.append(
        {
            "name": "gitt_scaling",
            "kind": "study",
            "run": None,
            "report": partial(builtin_report, "gitt_scaling"),
            "tables": tables_of("gitt_scaling"),
            "figure": analysis_spec("gitt_scaling").figure,
            "combine": combine_gitt_scaling,
            "inputs": ("gitt_steps", "particles"),
            "applies": _gitt_sizes,
            "order": _ORDER["gitt_scaling"],
        }
    )
    out.append(
        {
            "name": "replicates",
            "kind": "study",
            "run": None,
            "report": partial(builtin_report, "replicates"),
            "tables": tables_of("replicates"),
            "figure": analysis_spec("replicates").figure,
            "combine": combine_replicates,
            "inputs": (*_CELL_TABLES, "tga_fraction"),
            "applies": _has_cells,
            "order": _ORDER["replicates"],
        }
    )
    out.append(
        {
            "name": "model",
            "kind": "study",
            "run": None,
            "report": partial(builtin_report, "model"),
            "tables": tables_of("model_fit"),
            "figure": analysis_spec("model_fit").figure,
            "combine": combine_model,
            "inputs": ("cycling_cycles", "gitt_steps", "particles", "condition_stats"),
            "order": _ORDER["model"],
        }
    )
    return out
