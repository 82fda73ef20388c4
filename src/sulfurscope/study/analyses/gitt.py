"""Study plug-in: GITT (Figure 2, Figure S4) — pulses, rests, overpotentials, relaxation times τ.

Reuses :func:`sulfurscope.cycling.gitt_steps` and :func:`~sulfurscope.cycling.relaxation_times`; the
τ-vs-size scaling across samples is a study-level step (see :mod:`.model`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.cycling.gitt import gitt_steps, relaxation_times
from sulfurscope.errors import SulfurscopeError
from sulfurscope.io import read_cycler
from sulfurscope.report import save_figure
from sulfurscope.report._style import cell_colours, new_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.study.analyses._common import cell_from_options, decimate, per_task
from sulfurscope.study.registry import register_analysis
from sulfurscope.units import TIME, VOLTAGE

__all__ = ["report_gitt", "run_gitt"]

_TRACE_POINTS = 3000


def run_gitt(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One GITT file → per-step table (pulses, rest voltages, τ) and a downsampled voltage trace."""
    cell = cell_from_options(files, options)
    v0 = options.get("v0", "first_rest_point")
    v_inf = options.get("v_inf", "last_sample")
    frame = read_cycler(files["file"]).frame
    steps = gitt_steps(frame, sulfur_mass_mg=cell.sulfur_mass_mg)
    if len(steps.step) == 0:
        raise SulfurscopeError(
            f"{files['file'].name}: no current pulse found (is this a GITT file?)"
        )
    times = relaxation_times(frame, steps, v0=v0, v_inf=v_inf)
    # the per-step table: every pulse with, where it has a rest, its τ (as ``sulfurscope gitt`` writes)
    table = steps.to_frame()
    tau = times.to_frame().drop(
        columns=["Half cycle", "Half cycle label", "Direction", "Pulse duration [s]"]
        + (["Specific capacity [mAh/g]"] if times.capacity_mah_g is not None else []),
        errors="ignore",
    )
    table = table.merge(tau, on="Step", how="left")
    table["V0 convention"] = times.v0_convention
    table["Vinf method"] = times.v_inf_method
    table["Sulfur mass [mg]"] = cell.sulfur_mass_mg
    trace = frame[[TIME, VOLTAGE, "Charge [mAh]"]].copy()
    if cell.sulfur_mass_mg:
        trace["Charge [mAh/g]"] = trace["Charge [mAh]"] / (cell.sulfur_mass_mg * 1e-3)
    return {"gitt_steps": table, "gitt_trace": decimate(trace, _TRACE_POINTS)}


def _tau_figure(steps: pd.DataFrame) -> Any:
    halves = list(dict.fromkeys(steps["Half cycle label"].dropna()))[:4]
    fig, axes = new_figure(3.3 * max(len(halves), 1), 3.2, ncols=max(len(halves), 1))
    tasks = list(dict.fromkeys(steps["Task"]))
    xcol = "Specific capacity [mAh/g]" if "Specific capacity [mAh/g]" in steps.columns else "Step"
    for ax, half in zip(axes[0], halves, strict=False):
        for task, colour in zip(tasks, cell_colours(len(tasks)), strict=True):
            g = steps[(steps["Task"] == task) & (steps["Half cycle label"] == half)]
            if "Tau [s]" in g.columns:
                g = g[np.isfinite(g["Tau [s]"].astype(float))]
                ax.plot(g[xcol], g["Tau [s]"], "o-", ms=3, lw=0.8, color=colour, label=task)
        ax.set_yscale("log")
        ax.set_title(half, fontsize=9)
        ax.set_xlabel("Capacity (mAh/g$_S$)" if xcol != "Step" else "Step")
        ax.set_ylabel("τ (s)")
        ax.legend(fontsize=6, frameon=False)
    return fig


def _trace_figure(traces: Mapping[str, pd.DataFrame]) -> Any:
    fig, axes = new_figure(6.0, 3.4)
    ax = axes[0, 0]
    for (task, t), colour in zip(traces.items(), cell_colours(len(traces)), strict=True):
        ax.plot(t[TIME] / 3600.0, t[VOLTAGE], lw=0.7, color=colour, label=task)
    ax.set_xlabel("Time (h)")
    ax.set_ylabel("Voltage (V vs Li/Li$^+$)")
    ax.set_title("GITT voltage")
    ax.legend(fontsize=7, frameon=False)
    return fig


def report_gitt(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Figure 2: GITT voltage traces, τ per half-cycle; table of median τ per half-cycle and sample."""
    steps = tables["gitt_steps"]
    if steps.empty:
        return []
    figures = []
    traces = per_task(tables["gitt_trace"])
    if traces:
        figures.append(save_figure(_trace_figure(traces), figdir / "fig2_gitt_voltage.png"))
    if "Tau [s]" in steps.columns and steps["Tau [s]"].notna().any():
        figures.append(save_figure(_tau_figure(steps), figdir / "fig2_relaxation_times.png"))
        median = (
            steps.groupby(["Sample", "Task", "Half cycle label"], sort=False)["Tau [s]"]
            .median()
            .rename("Median tau [s]")
            .reset_index()
        )
    else:
        median = pd.DataFrame()
    return [
        ReportSection(
            "Figure 2 — GITT: overpotential and relaxation times",
            "Pulses and rests found from the Rest flag and the current sign; τ read where the "
            "normalised relaxation reaches 1 − 1/e on discharge and 1/e on charge.",
            figures=tuple(figures),
            tables=(("Median τ per half-cycle (Fig 2g–i)", median),) if not median.empty else (),
        )
    ]


register_analysis(
    name="gitt",
    kind="gitt",
    run=run_gitt,
    report=report_gitt,
    tables=("gitt_steps", "gitt_trace"),
    figure="Figure 2, Figure S4",
    order=20,
)
