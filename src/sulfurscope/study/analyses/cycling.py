"""Study plug-in: cycling (Figure 1d–f) — cycle summaries, rate blocks, retention, voltage profiles.

Reuses :mod:`sulfurscope.cycling` (``cycle_summary``, ``rate_capability``, ``retention``,
``voltage_profiles``, ``asymmetric_rates``) and the Figure 1 plots of :mod:`sulfurscope.report.cycling`;
the report rebuilds their light result objects from the store tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.cycling import (
    RateCapability,
    Retention,
    VoltageProfiles,
    asymmetric_rates,
    cycle_summary,
    rate_capability,
    retention,
    voltage_profiles,
)
from sulfurscope.errors import SulfurscopeError
from sulfurscope.report import (
    plot_rate_capability,
    plot_retention,
    plot_voltage_profiles,
    save_figure,
)
from sulfurscope.report.html import ReportSection
from sulfurscope.study.analyses._common import (
    cell_from_options,
    decimate,
    per_task,
    read_cell_files,
)
from sulfurscope.study.registry import register_analysis

__all__ = ["report_cycling", "run_cycling"]

_PROFILE_POINTS = 400


def run_cycling(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One cycler file → cycles, rate blocks (rate tests), retention, profiles, asymmetric rates."""
    cell = cell_from_options(files, options)
    frame, fmt = read_cell_files(files)
    protocol = str(options.get("protocol", "cycling"))
    summary = cycle_summary(
        frame,
        sulfur_mass_mg=cell.sulfur_mass_mg,
        theoretical_capacity_mah_g=cell.theoretical_capacity_mah_g,
        first=options.get("first", "discharge"),
    )
    cycles = summary.table.copy()
    cycles.insert(0, "Protocol", protocol)
    cycles["Sulfur mass [mg]"] = cell.sulfur_mass_mg
    cycles["Mass source"] = cell.mass_source
    cycles["Format"] = fmt
    out: dict[str, pd.DataFrame] = {"cycling_cycles": cycles}
    if protocol == "rate":
        rc = rate_capability(summary)
        out["cycling_rate_blocks"] = rc.table.copy()
    if protocol == "asymmetric":
        out["cycling_asymmetric"] = asymmetric_rates(summary).table.copy()
    try:
        r = retention(summary)
    except SulfurscopeError:
        r = None  # fewer cycles than the reference cycle: no retention for this file
    if r is not None:
        out["cycling_retention"] = r.table.copy()
        out["cycling_retention_fit"] = pd.DataFrame(
            [
                {
                    "Reference cycle": r.reference_cycle,
                    "Capacity column": r.capacity_column,
                    "Fit ok": r.fit_ok,
                    "Fit message": r.fit_message,
                    "Q inf [mAh/g]": r.q_inf,
                    "Q ref [mAh/g]": r.q_ref,
                    "N c": r.n_c,
                    "N c sd": r.n_c_sd,
                    "Plateau cycle fit": r.plateau_cycle_fit,
                    "Plateau cycle": float("nan") if r.plateau_cycle is None else r.plateau_cycle,
                }
            ]
        )
    last = int(cycles["Cycle"].max()) if len(cycles) else 1
    prof = voltage_profiles(
        frame,
        sulfur_mass_mg=cell.sulfur_mass_mg,
        cycles=sorted({1, min(2, last), last}),
        first=options.get("first", "discharge"),
    ).table
    parts = [
        decimate(g, _PROFILE_POINTS)
        for _, g in prof.groupby(["Cycle", "Direction"], sort=False, observed=True)
    ]
    out["cycling_profiles"] = pd.concat(parts, ignore_index=True) if parts else prof
    return out


def _rates(tables: Mapping[str, pd.DataFrame]) -> dict[str, RateCapability]:
    cycles = per_task(tables["cycling_cycles"])
    out = {}
    for task, blocks in per_task(tables["cycling_rate_blocks"]).items():
        c = cycles.get(task)
        if c is None or "Discharge capacity [mAh/g]" not in c.columns:
            continue
        out[task] = RateCapability(table=blocks, cycles=c, by="discharge", tolerance=0.1)
    return out


def _retentions(tables: Mapping[str, pd.DataFrame]) -> dict[str, Retention]:
    fits = per_task(tables["cycling_retention_fit"])
    protocols = {
        t: str(g["Protocol"].iloc[0]) for t, g in per_task(tables["cycling_cycles"]).items()
    }
    out = {}
    for task, table in per_task(tables["cycling_retention"]).items():
        if protocols.get(task) != "cycling" or task not in fits:
            continue
        f = fits[task].iloc[0]
        plateau = f["Plateau cycle"]
        out[task] = Retention(
            table=table,
            reference_cycle=int(f["Reference cycle"]),
            capacity_column=str(f["Capacity column"]),
            fit_ok=bool(f["Fit ok"]),
            fit_message=str(f["Fit message"]),
            q_inf=float(f["Q inf [mAh/g]"]),
            q_ref=float(f["Q ref [mAh/g]"]),
            n_c=float(f["N c"]),
            n_c_sd=float(f["N c sd"]),
            plateau_cycle_fit=float(f["Plateau cycle fit"]),
            plateau_cycle=None if pd.isna(plateau) else int(plateau),
        )
    return out


def report_cycling(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Figure 1d (profiles), 1e (rate capability), 1f (retention) and the rate table (Table S-style)."""
    cycles = tables["cycling_cycles"]
    if cycles.empty:
        return []
    figures: list[Path] = []
    profiles = {
        task: VoltageProfiles(table=t, sulfur_mass_mg=None)
        for task, t in per_task(tables["cycling_profiles"]).items()
    }
    if profiles:
        figures.append(
            save_figure(plot_voltage_profiles(profiles), figdir / "fig1d_voltage_profiles.png")
        )
    rates = _rates(tables)
    if rates:
        figures.append(
            save_figure(plot_rate_capability(rates), figdir / "fig1e_rate_capability.png")
        )
    rets = _retentions(tables)
    if rets:
        figures.append(save_figure(plot_retention(rets), figdir / "fig1f_retention.png"))
    overview_cols = [
        c
        for c in (
            "Task",
            "Sample",
            "Protocol",
            "Sulfur mass [mg]",
            "Mass source",
            "Format",
        )
        if c in cycles.columns
    ]
    overview = cycles.groupby("Task", sort=False)[overview_cols[1:]].first().reset_index()
    overview["Cycles"] = cycles.groupby("Task", sort=False)["Cycle"].max().to_numpy()
    section_tables: list[tuple[str, pd.DataFrame]] = [("Cells", overview)]
    blocks = tables["cycling_rate_blocks"]
    if not blocks.empty:
        keep = [
            c
            for c in (
                "Task",
                "Sample",
                "Label",
                "C-rate",
                "Cycles",
                "Mean discharge capacity [mAh/g]",
                "SD discharge capacity [mAh/g]",
                "Mean coulombic efficiency [%]",
                "Fade in block [%]",
            )
            if c in blocks.columns
        ]
        section_tables.append(("Rate capability per block (Fig 1e)", blocks[keep]))
    asym = tables["cycling_asymmetric"]
    if not asym.empty:
        section_tables.append(("Asymmetric rates (charge vs discharge C-rate)", asym))
    fits = tables["cycling_retention_fit"]
    if not fits.empty:
        section_tables.append(("Retention: early-fade fit (Fig 1f)", fits))
    return [
        ReportSection(
            "Figure 1 — Cycling: voltage profiles, rate capability, retention",
            "Voltage profiles of the second cycle (1d), discharge/charge capacity per cycle with the "
            "C-rate blocks (1e), retention Q_n/Q_2 and Q_n/Q_n−1 with the early-fade fit (1f). "
            "Capacities per gram of sulfur from the manifest's sulfur masses.",
            figures=tuple(figures),
            tables=tuple(section_tables),
        )
    ]


register_analysis(
    name="cycling",
    kind="cycling",
    run=run_cycling,
    report=report_cycling,
    tables=(
        "cycling_cycles",
        "cycling_rate_blocks",
        "cycling_retention",
        "cycling_retention_fit",
        "cycling_profiles",
        "cycling_asymmetric",
    ),
    figure="Figure 1d–f",
    order=10,
)
