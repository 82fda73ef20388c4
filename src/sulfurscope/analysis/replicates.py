"""Replicate cells: statistics per condition, outliers, and the sulfur-mass uncertainty of every
specific capacity (study-level step ``replicates``).

The functions are :mod:`sulfurscope.replicates`'s; this module gathers them into one analysis with
its options (the manifest's ``[replicates]`` table) and its flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sulfurscope.analysis._common import finish
from sulfurscope.analysis._options import Options, choice, number
from sulfurscope.analysis._result import AnalysisResult, Flag

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COMPARED_METRICS", "TABLES", "ReplicateOptions", "analyse_replicates"]

TABLES = ("condition_stats", "condition_comparisons", "cell_flags", "cell_mass_uncertainty",
          "cell_metric_values")
#: The comparisons the reference study makes: capacity against particle size at each rate, the
#: first discharge, τ between sizes per half-cycle.
COMPARED_METRICS = (
    "Rate-block discharge capacity",
    "First-discharge capacity",
    "Mean coulombic efficiency",
    "GITT tau",
    "GITT D",
)


@dataclass(frozen=True, slots=True)
class ReplicateOptions(Options):
    """Options of :func:`analyse_replicates` (the manifest's ``[replicates]`` table)."""

    confidence: float = number(0.95, "Level of the condition intervals.", minimum=0.5,
                               maximum=0.999)
    ci_method: str = choice("t", ("t", "bootstrap"),
                            "Interval of a condition mean: Student t (Welch–Satterthwaite with "
                            "the shared mass uncertainty), or percentile bootstrap for n >= 5.")
    outlier_z: float = number(3.5, "Robust z-score beyond which a cell is flagged.",
                              positive=True)
    outlier_floor: float = number(0.05, "Smallest robust scale of the first-discharge capacity, "
                                  "relative to the median (the usual cell-to-cell spread).",
                                  minimum=0.0, maximum=1.0)
    ce_low_pct: float = number(90.0, "Lowest plausible mean coulombic efficiency.", unit="%",
                           positive=True)
    ce_high_pct: float = number(105.0, "Highest plausible mean coulombic efficiency.", unit="%",
                            positive=True)
    collapse: float = number(0.2, "A cell whose last capacity falls below this fraction of its "
                             "highest is flagged as collapsed.", positive=True, maximum=1.0)
    balance_u_mg: float = number(0.01 * 2**0.5, "Standard uncertainty of a weighed mass when the "
                                 "manifest gives none (two weighings on a 0.01 mg balance).",
                                 unit="mg", minimum=0.0)


def _flags(flags: pd.DataFrame, masses: pd.DataFrame, stats: pd.DataFrame) -> list[Flag]:
    out = [
        Flag(str(r.code), f"cell {r.cell} ({r.condition}): {r.reason}",
             "note" if r.excluded else "warning", str(r.cell))
        for r in flags.itertuples(index=False)
    ]
    out += [Flag("mass_uncertainty_unknown", f"cell {r.cell}: {r.error}", "warning", str(r.cell))
            for r in masses.itertuples(index=False) if r.error]
    if len(stats):
        single = sorted(set(stats.loc[stats["n"] < 2, "condition"].astype(str)))
        if single:
            out.append(Flag(
                "single_cell",
                f"conditions with a single cell for some metrics ({', '.join(single)}): their "
                "interval is the cell's own measurement uncertainty, without cell-to-cell spread",
                "note", ", ".join(single)))
    return out


def analyse_replicates(
    cells: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    options: ReplicateOptions | None = None,
) -> AnalysisResult:
    """Condition statistics, comparisons, outlier flags and mass uncertainties of a study.

    Parameters
    ----------
    cells : DataFrame
        The manifest's cells: ``Cell``, ``Sample``, ``Condition``, ``Protocol``, ``Excluded`` and
        the mass columns of :func:`sulfurscope.replicates.cell_masses`.
    tables : mapping of str to DataFrame
        Store tables: ``cycling_cycles``, ``cycling_rate_blocks``, ``cycling_retention``,
        ``gitt_steps``, ``gitt_diffusivity``, ``tga_fraction`` (absent ones are skipped).
    options : ReplicateOptions

    Returns
    -------
    AnalysisResult
        Tables ``condition_stats`` (n, mean, sd, 95 % interval per condition, metric and cycle or
        rate), ``condition_comparisons`` (differences A − B with Welch intervals),
        ``cell_flags`` (outliers, early ends, CE anomalies, exclusions with reasons),
        ``cell_mass_uncertainty`` and ``cell_metric_values`` (every cell's points the statistics
        were computed from); each flag also as a :class:`Flag`.
    """
    from sulfurscope import replicates as rp

    options = options or ReplicateOptions()
    masses = rp.cell_masses(cells, tables.get("tga_fraction"), balance_u_mg=options.balance_u_mg)
    values = rp.cell_metrics(cells, masses, tables)
    stats = rp.condition_summary(values, confidence=options.confidence,
                                 method=options.ci_method)
    comparisons = rp.compare_conditions(stats, metrics=COMPARED_METRICS,
                                        confidence=options.confidence)
    flags = rp.cell_flags(cells, values, z_max=options.outlier_z,
                          ce_range=(options.ce_low_pct, options.ce_high_pct), collapse=options.collapse,
                          floor=options.outlier_floor)
    pos = values.groupby(["metric", "protocol", "cycle_or_rate"], sort=False)["position"].first()
    stats = stats.merge(pos.reset_index(), on=["metric", "protocol", "cycle_or_rate"], how="left")
    summary = {"conditions": int(stats["condition"].nunique()) if len(stats) else 0,
               "cells": int(values["cell"].nunique()) if len(values) else 0,
               "flagged cells": int(flags["cell"].nunique()) if len(flags) else 0}
    return finish(
        "replicates", __name__,
        {"condition_stats": stats, "condition_comparisons": comparisons, "cell_flags": flags,
         "cell_mass_uncertainty": masses, "cell_metric_values": values},
        _flags(flags, masses, stats), options, summary=summary,
    )
