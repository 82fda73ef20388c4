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

from sulfurscope.cycling.gitt import gitt_steps, relaxation_curves, relaxation_times
from sulfurscope.errors import SulfurscopeError
from sulfurscope.report import save_figure
from sulfurscope.report._style import cell_colours, new_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.study.analyses._common import (
    cell_from_options,
    decimate,
    per_task,
    read_cell_files,
)
from sulfurscope.study.registry import register_analysis
from sulfurscope.units import TIME, VOLTAGE

__all__ = ["report_gitt", "run_gitt"]

_TRACE_POINTS = 3000
_CURVE_POINTS = 40  # per rest, log-spaced in time: enough to redraw Fig S4
#: The half-cycles the study's Fig 2 shows (first discharge: CEI formation; afterwards alike).
_FIG2_HALVES = ("first discharge", "first charge", "second discharge")


def _relaxation_table(frame: pd.DataFrame, steps: Any, v0: Any, v_inf: Any) -> pd.DataFrame:
    """Normalised relaxation curves (Fig S4), thinned to ≤ _CURVE_POINTS log-spaced points per rest."""
    c = relaxation_curves(frame, steps, v0=v0, v_inf=v_inf)
    label = dict(zip(c.curve_step.tolist(), c.curve_half_cycle_label.tolist(), strict=True))
    parts = []
    for n in c.curve_step:
        m = np.flatnonzero(c.step == n)
        if m.size == 0:
            continue
        t = c.time_s[m]
        pos = np.flatnonzero(t > 0)
        if pos.size > _CURVE_POINTS:
            grid = np.geomspace(t[pos[0]], t[pos[-1]], _CURVE_POINTS)
            keep = np.unique(pos[np.searchsorted(t[pos], grid).clip(0, pos.size - 1)])
        else:
            keep = pos
        parts.append(
            pd.DataFrame(
                {
                    "Step": int(n),
                    "Half cycle label": label[int(n)],
                    "Rest time [s]": t[keep],
                    "Normalised voltage": c.normalised_voltage[m][keep],
                    "Fraction relaxed": c.fraction[m][keep],
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def run_gitt(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One GITT file → per-step table (pulses, rest voltages, τ) and a downsampled voltage trace."""
    cell = cell_from_options(files, options)
    v0 = options.get("v0", "first_rest_point")
    v_inf = options.get("v_inf", "last_sample")
    frame, _ = read_cell_files(files)
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
    out = {"gitt_steps": table, "gitt_trace": decimate(trace, _TRACE_POINTS)}
    if np.any(steps.has_rest):
        out["gitt_relaxation"] = _relaxation_table(frame, steps, v0, v_inf)
    return out


def _halves_present(steps: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(steps["Half cycle label"].dropna()))
    return [h for h in _FIG2_HALVES if h in present] or present[:3]


def _voltage_figure(steps: pd.DataFrame, traces: Mapping[str, pd.DataFrame]) -> Any:
    """Fig 2a–f: per sample (row) and half-cycle (column), the GITT trace against specific capacity and
    the relaxation-voltage curve (QOCV at the rest ends)."""
    halves = _halves_present(steps)
    tasks = [t for t in dict.fromkeys(steps["Task"]) if t in traces]
    fig, axes = new_figure(3.0 * len(halves), 2.4 * len(tasks), nrows=len(tasks), ncols=len(halves))
    for i, task in enumerate(tasks):
        tr = traces[task]
        mass = steps.loc[steps["Task"] == task, "Sulfur mass [mg]"].iloc[0]
        for j, half in enumerate(halves):
            ax = axes[i, j]
            g = steps[(steps["Task"] == task) & (steps["Half cycle label"] == half)]
            if g.empty or not mass or not np.isfinite(mass):
                ax.set_visible(False)
                continue
            t0 = float(g["Pulse start [s]"].min())
            t1 = float(np.nanmax(g[["Pulse end [s]", "Rest end [s]"]].to_numpy(float)))
            w = tr[(tr[TIME] >= t0) & (tr[TIME] <= t1)]
            q0 = float(np.interp(t0, tr[TIME], tr["Charge [mAh]"]))
            cap = (w["Charge [mAh]"] - q0).abs() / (mass * 1e-3)
            ax.plot(cap, w[VOLTAGE], color="#3b6ea8", lw=0.8, label="GITT")
            r = g[g["Has rest"].astype(bool)]
            ax.plot(
                r["Specific capacity [mAh/g]"] if "Specific capacity [mAh/g]" in r else r.index,
                r["QOCV [V]"],
                "o-",
                color="#d62728",
                ms=2.5,
                lw=1.0,
                label="relaxation voltage",
            )
            ax.set_title(f"{g['Sample'].iloc[0]} — {half}", fontsize=8)
            if i == len(tasks) - 1:
                ax.set_xlabel("Capacity (mAh/g$_S$)")
            if j == 0:
                ax.set_ylabel("V vs Li/Li$^+$")
    axes[0, 0].legend(fontsize=6, frameon=False)
    return fig


def _per_half_figure(steps: pd.DataFrame, column: str, ylabel: str, *, log: bool) -> Any:
    """Fig 2g–i style: ``column`` against specific capacity, one panel per half-cycle, one colour
    per sample."""
    halves = _halves_present(steps)
    fig, axes = new_figure(3.2 * len(halves), 3.0, ncols=len(halves))
    tasks = list(dict.fromkeys(steps["Task"]))
    xcol = "Specific capacity [mAh/g]" if "Specific capacity [mAh/g]" in steps.columns else "Step"
    for ax, half in zip(axes[0], halves, strict=True):
        for task, colour in zip(tasks, cell_colours(len(tasks)), strict=True):
            g = steps[(steps["Task"] == task) & (steps["Half cycle label"] == half)]
            g = g[np.isfinite(g[column].astype(float))]
            if g.empty:
                continue
            flagged = (
                g["Pulse limited"].eq(True)
                if column == "Tau [s]" and "Pulse limited" in g.columns
                else pd.Series(False, index=g.index)
            )
            name = str(g["Sample"].iloc[0]) or task
            ax.plot(g[xcol], g[column], "-", lw=0.8, color=colour)
            ax.plot(g[xcol][~flagged], g[column][~flagged], "o", ms=3.5, color=colour, label=name)
            if flagged.any():
                ax.plot(g[xcol][flagged], g[column][flagged], "o", ms=3.5, mfc="none", color=colour)
        if log:
            ax.set_yscale("log")
        ax.set_title(half, fontsize=9)
        ax.set_xlabel("Capacity (mAh/g$_S$)" if xcol != "Step" else "Step")
    axes[0, 0].set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7, frameon=False)
    return fig


def _relaxation_figure(curves: pd.DataFrame) -> Any:
    """Fig S4: normalised relaxation voltage vs rest time; dashed 1 − 1/e (discharge), dotted 1/e
    (charge), where τ is read."""
    halves = _halves_present(curves)
    fig, axes = new_figure(3.2 * len(halves), 3.0, ncols=len(halves))
    tasks = list(dict.fromkeys(curves["Task"]))
    for ax, half in zip(axes[0], halves, strict=True):
        for task, colour in zip(tasks, cell_colours(len(tasks)), strict=True):
            g = curves[(curves["Task"] == task) & (curves["Half cycle label"] == half)]
            for k, (_, rest) in enumerate(g.groupby("Step", sort=True)):
                label = str(rest["Sample"].iloc[0]) or task
                ax.plot(
                    rest["Rest time [s]"],
                    rest["Normalised voltage"],
                    color=colour,
                    lw=0.8,
                    alpha=max(0.25, 1.0 - 0.08 * k),
                    label=label if k == 0 else None,
                )
        ax.axhline(1.0 - np.exp(-1.0), ls="--", lw=0.7, color="0.4")
        ax.axhline(np.exp(-1.0), ls=":", lw=0.7, color="0.4")
        ax.set_xscale("log")
        ax.set_title(half, fontsize=9)
        ax.set_xlabel("Rest time (s)")
    axes[0, 0].set_ylabel("Normalised voltage")
    axes[0, 0].legend(fontsize=7, frameon=False)
    return fig


def report_gitt(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Figure 2 (voltage with the relaxation-voltage curve, overpotential, τ per half-cycle) and
    Figure S4 (normalised relaxation curves); table of median τ and overpotential per half-cycle."""
    steps = tables["gitt_steps"]
    if steps.empty:
        return []
    figures = []
    traces = per_task(tables["gitt_trace"])
    if traces and "Sulfur mass [mg]" in steps.columns:
        figures.append(
            save_figure(_voltage_figure(steps, traces), figdir / "fig2af_gitt_voltage.png")
        )
    if "Overpotential [V]" in steps.columns and steps["Overpotential [V]"].notna().any():
        figures.append(
            save_figure(
                _per_half_figure(steps, "Overpotential [V]", "Overpotential (V)", log=False),
                figdir / "fig2_overpotential.png",
            )
        )
    has_tau = "Tau [s]" in steps.columns and steps["Tau [s]"].notna().any()
    if has_tau:
        figures.append(
            save_figure(
                _per_half_figure(steps, "Tau [s]", "τ (s)", log=True),
                figdir / "fig2gi_relaxation_times.png",
            )
        )
    curves = tables.get("gitt_relaxation", pd.DataFrame())
    if not curves.empty:
        figures.append(save_figure(_relaxation_figure(curves), figdir / "figS4_relaxation.png"))
    median = pd.DataFrame()
    if has_tau:
        median = (
            steps.groupby(["Sample", "Task", "Half cycle label"], sort=False)
            .agg(
                **{
                    "Median tau [s]": ("Tau [s]", "median"),
                    "Median overpotential [V]": ("Overpotential [V]", "median"),
                    "Pulses": ("Step", "count"),
                }
            )
            .reset_index()
        )
    conv = sorted(set(steps["V0 convention"].dropna())) if "V0 convention" in steps else []
    return [
        ReportSection(
            "Figure 2 — GITT: overpotential and relaxation times (Figure S4)",
            "Pulses and rests found from the Rest flag and the current sign. Top: the GITT trace "
            "against capacity with the relaxation-voltage curve (QOCV at the rest ends) per sample and "
            "half-cycle; overpotential CCV − QOCV; τ read where the normalised relaxation reaches "
            "1 − 1/e on discharge and 1/e on charge (open markers: pulse-limited, τ ≥ 1.2 t_p); "
            f"Figure S4: the normalised relaxation curves. V0 = {', '.join(conv) or 'n/a'}.",
            figures=tuple(figures),
            tables=(("Median τ and overpotential per half-cycle (Fig 2g–i)", median),)
            if not median.empty
            else (),
        )
    ]


register_analysis(
    name="gitt",
    kind="gitt",
    run=run_gitt,
    report=report_gitt,
    tables=("gitt_steps", "gitt_trace", "gitt_relaxation"),
    figure="Figure 2, Figure S4",
    order=20,
)
