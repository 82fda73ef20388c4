"""GITT figures from the GITT tables: voltage vs capacity with the relaxation-voltage curve
(Fig 2a–f), overpotential and τ per half-cycle (Fig 2g–i), normalised relaxation curves (Fig S4).

Each function takes the tables of :func:`sulfurscope.analysis.gitt.analyse_gitt` (several cells
concatenated with a ``Task`` column, as the CLI writes them and the study store holds them) and returns
a :class:`matplotlib.figure.Figure`, or None when the tables hold nothing to draw.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from sulfurscope.report._style import cell_colours, legend, new_figure, per_task
from sulfurscope.units import TIME, VOLTAGE

__all__ = [
    "fig_gitt_voltage",
    "fig_overpotential",
    "fig_relaxation_curves",
    "fig_relaxation_times",
    "fig_tau_scaling",
]

#: The half-cycles the study's Fig 2 shows (first discharge: CEI formation; afterwards alike).
FIG2_HALVES = ("first discharge", "first charge", "second discharge")
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _halves(table: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(table["Half cycle label"].dropna()))
    return [h for h in FIG2_HALVES if h in present] or present[:3]


def _name(g: pd.DataFrame, task: str) -> str:
    s = str(g["Sample"].iloc[0]) if "Sample" in g.columns and len(g) else ""
    return s if s and s != task else task


def fig_gitt_voltage(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 2a–f: per cell (row) and half-cycle (column), the GITT trace against specific capacity
    with the relaxation-voltage curve (QOCV at the rest ends); only the chosen half-cycle's points."""
    steps = tables.get("gitt_steps", pd.DataFrame())
    traces = per_task(tables.get("gitt_trace", pd.DataFrame()))
    if steps.empty or not traces or "Sulfur mass [mg]" not in steps.columns:
        return None
    if not np.isfinite(pd.to_numeric(steps["Sulfur mass [mg]"], errors="coerce")).any():
        return None  # no sulfur mass: no specific capacity to draw against
    halves = _halves(steps)
    tasks = [t for t in dict.fromkeys(steps["Task"]) if t in traces]
    if not tasks or not halves:
        return None
    fig, axes = new_figure(3.0 * len(halves), 2.4 * len(tasks), nrows=len(tasks), ncols=len(halves))
    for i, task in enumerate(tasks):
        for j, half in enumerate(halves):
            _voltage_panel(axes[i, j], steps, traces[task], task, half)
            if i == len(tasks) - 1:
                axes[i, j].set_xlabel("Capacity (mAh/g$_S$)")
            if j == 0:
                axes[i, j].set_ylabel("V vs Li/Li$^+$")
    legend(axes[0, 0], fontsize=6)
    return fig


def _voltage_panel(ax, steps: pd.DataFrame, tr: pd.DataFrame, task: str, half: str) -> None:
    g = steps[(steps["Task"] == task) & (steps["Half cycle label"] == half)]
    mass = g["Sulfur mass [mg]"].iloc[0] if len(g) else np.nan
    if g.empty or not mass or not np.isfinite(mass):
        ax.set_visible(False)
        return
    t0 = float(g["Pulse start [s]"].min())
    t1 = float(np.nanmax(g[["Pulse end [s]", "Rest end [s]"]].to_numpy(float)))
    w = tr[(tr[TIME] >= t0) & (tr[TIME] <= t1)]
    q0 = float(np.interp(t0, tr[TIME], tr["Charge [mAh]"]))
    cap = (w["Charge [mAh]"] - q0).abs() / (mass * 1e-3)
    ax.plot(cap, w[VOLTAGE], color="#3b6ea8", lw=0.8, label="GITT")
    r = g[g["Has rest"].astype(bool)]
    x = r["Specific capacity [mAh/g]"] if "Specific capacity [mAh/g]" in r else r.index
    ax.plot(x, r["QOCV [V]"], "o-", color="#d62728", ms=2.5, lw=1.0, label="relaxation voltage")
    ax.set_title(f"{_name(g, task)} — {half}", fontsize=8)


def _per_half(steps: pd.DataFrame, column: str, ylabel: str, *, log: bool) -> Figure | None:
    """``column`` against specific capacity, one panel per half-cycle, one colour and marker per
    cell; error bars from ``Tau low/high``; open markers: pulse-limited or non-monotone."""
    if steps.empty or column not in steps.columns or not steps[column].notna().any():
        return None
    halves = _halves(steps)
    fig, axes = new_figure(3.2 * len(halves), 3.0, ncols=len(halves))
    tasks = list(dict.fromkeys(steps["Task"]))
    xcol = "Specific capacity [mAh/g]" if "Specific capacity [mAh/g]" in steps.columns else "Step"
    for ax, half in zip(axes[0], halves, strict=True):
        for k, (task, colour) in enumerate(zip(tasks, cell_colours(list(tasks)), strict=True)):
            g = steps[(steps["Task"] == task) & (steps["Half cycle label"] == half)]
            g = g[np.isfinite(g[column].astype(float))]
            if not g.empty:
                _points(ax, g, xcol, column, colour, _MARKERS[k % len(_MARKERS)], _name(g, task))
        if log:
            ax.set_yscale("log")
        ax.set_title(half, fontsize=9)
        ax.set_xlabel("Capacity (mAh/g$_S$)" if xcol != "Step" else "Step")
    axes[0, 0].set_ylabel(ylabel)
    legend(axes[0, 0])
    return fig


def _points(ax, g: pd.DataFrame, xcol: str, column: str, colour: str, m: str, name: str) -> None:
    x, y = g[xcol].to_numpy(float), g[column].to_numpy(float)
    flagged = np.zeros(len(g), bool)
    if column == "Tau [s]":
        for c in ("Pulse limited", "Non-monotone"):
            if c in g.columns:
                flagged |= g[c].eq(True).to_numpy()
        lo = g["Tau low [s]"].to_numpy(float)
        hi = g["Tau high [s]"].to_numpy(float)
        err = np.vstack([y - lo, hi - y])
        err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
        ax.errorbar(x, y, yerr=err, fmt="none", ecolor=colour, elinewidth=0.7, alpha=0.6)
    ax.plot(x, y, "-", lw=0.8, color=colour)
    ax.plot(x[~flagged], y[~flagged], m, ms=3.5, color=colour, label=name, ls="none")
    if flagged.any():
        ax.plot(x[flagged], y[flagged], m, ms=3.5, mfc="none", color=colour, ls="none")


def fig_overpotential(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 2: overpotential CCV − QOCV per pulse against capacity, per half-cycle."""
    steps = tables.get("gitt_steps", pd.DataFrame())
    return _per_half(steps, "Overpotential [V]", "Overpotential (V)", log=False)


def fig_relaxation_times(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 2g–i: τ per rest against capacity, per half-cycle, with its read-out range; the V0
    convention in the title; open markers are pulse-limited or non-monotone rests."""
    steps = tables.get("gitt_steps", pd.DataFrame())
    fig = _per_half(steps, "Tau [s]", "τ (s)", log=True)
    if fig is not None:
        conv = sorted(set(steps["V0 convention"].dropna())) if "V0 convention" in steps else []
        fig.suptitle(
            f"V0 = {', '.join(conv) or 'n/a'}; open markers: pulse-limited or non-monotone",
            fontsize=8,
        )
    return fig


def fig_relaxation_curves(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig S4: normalised relaxation voltage vs rest time; dashed 1 − 1/e (discharge), dotted 1/e
    (charge), where τ is read; later rests lighter."""
    curves = tables.get("gitt_relaxation", pd.DataFrame())
    if curves.empty:
        return None
    halves = _halves(curves)
    fig, axes = new_figure(3.2 * len(halves), 3.0, ncols=len(halves))
    tasks = list(dict.fromkeys(curves["Task"]))
    for ax, half in zip(axes[0], halves, strict=True):
        for task, colour in zip(tasks, cell_colours(list(tasks)), strict=True):
            g = curves[(curves["Task"] == task) & (curves["Half cycle label"] == half)]
            for k, (_, rest) in enumerate(g.groupby("Step", sort=True)):
                ax.plot(
                    rest["Rest time [s]"],
                    rest["Normalised voltage"],
                    color=colour,
                    lw=0.8,
                    alpha=max(0.25, 1.0 - 0.08 * k),
                    label=_name(rest, task) if k == 0 else None,
                )
        ax.axhline(1.0 - np.exp(-1.0), ls="--", lw=0.7, color="0.4")
        ax.axhline(np.exp(-1.0), ls=":", lw=0.7, color="0.4")
        ax.set_xscale("log")
        ax.set_title(half, fontsize=9)
        ax.set_xlabel("Rest time (s)")
    axes[0, 0].set_ylabel("Normalised voltage")
    legend(axes[0, 0])
    return fig


def _scaling_text(row: pd.Series | None) -> str:
    if row is None:
        return ""
    n = f"n = {row['Exponent n']:.2f} [{row['Exponent CI95 low']:.2f}, {row['Exponent CI95 high']:.2f}]"
    d = row.get("D [m2/s]")
    if d is None or not np.isfinite(d) or d <= 0:
        return n + "\nD not determined"
    return (n + f"\nD = {d:.2g} [{row['D CI95 low [m2/s]']:.2g}, {row['D CI95 high [m2/s]']:.2g}]"
            " m²/s")


def fig_tau_scaling(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 2 — τ against particle size per half-cycle (log–log): every rest (open: pulse-limited),
    the median per size, and the fitted exponent n of τ ∝ L^n and the D fitted across sizes
    (``gitt_scaling``), each with its 95 % interval."""
    rests = tables.get("gitt_diffusivity", pd.DataFrame())
    fits = tables.get("gitt_scaling", pd.DataFrame())
    if rests.empty or not {"Size [um]", "Tau [s]", "Half cycle label"} <= set(rests.columns):
        return None
    halves = [h for h in FIG2_HALVES if h in set(rests["Half cycle label"])]
    if not halves:
        return None
    fig, axes = new_figure(3.2 * len(halves), 3.0, ncols=len(halves))
    for ax, half in zip(axes[0], halves, strict=True):
        g = rests[(rests["Half cycle label"] == half) & np.isfinite(rests["Tau [s]"].astype(float))]
        limited = g["Pulse limited"].eq(True) if "Pulse limited" in g else pd.Series(False, g.index)
        ax.plot(g.loc[~limited, "Size [um]"], g.loc[~limited, "Tau [s]"], "o", ms=3, color="#3b6ea8",
                alpha=0.6, label="rest")
        ax.plot(g.loc[limited, "Size [um]"], g.loc[limited, "Tau [s]"], "o", ms=3, mfc="none",
                color="#3b6ea8", alpha=0.6, label="rest, pulse-limited")
        med = g.groupby("Size [um]")["Tau [s]"].median()
        ax.plot(med.index, med.to_numpy(), "s-", color="#d62728", ms=5, lw=1, label="median")
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted(set(g["Size [um]"].round(2)))
        ax.set_xticks(sizes, [f"{s:g}" for s in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        row = fits[fits["Half cycle label"] == half] if "Half cycle label" in fits else fits.iloc[:0]
        ax.text(0.03, 0.97, _scaling_text(row.iloc[0] if len(row) else None),
                transform=ax.transAxes, va="top", fontsize=7)
        ax.set_title(half, fontsize=9)
        ax.set_xlabel("Particle size (µm)")
    axes[0, 0].set_ylabel("τ (s)")
    legend(axes[0, -1], loc="lower right")
    return fig
