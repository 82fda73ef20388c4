"""Cycling figures: voltage profiles (Fig 1d), rate capability (Fig 1e), retention (Fig 1f), dQ/dV.

Each function takes results for several cells (a mapping label → result), draws one colour per cell
with the label in the legend, and returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sulfurscope.cycling import DQDV, RateCapability, Retention, VoltageProfiles
from sulfurscope.report._style import cell_colours, legend, new_figure

__all__ = [
    "fig_dqdv",
    "fig_rate_capability",
    "fig_retention",
    "fig_voltage_profiles",
    "plot_dqdv",
    "plot_rate_capability",
    "plot_retention",
    "plot_voltage_profiles",
]


def plot_voltage_profiles(
    profiles: Mapping[str, VoltageProfiles],
    *,
    cycles: Sequence[int] | None = None,
    title: str = "Voltage profiles",
) -> Figure:
    """Voltage vs specific capacity (Fig 1d); solid discharge, dashed charge, one colour per cell.

    ``cycles`` picks which cycles to draw (default: the second, the first after formation, or the
    first if there is only one); lighter lines for later cycles.
    """
    fig, ax = new_figure()
    a = ax[0, 0]
    colours = cell_colours(list(profiles))
    for (label, prof), colour in zip(profiles.items(), colours, strict=True):
        t = prof.table
        qcol = (
            "Specific capacity [mAh/g]"
            if "Specific capacity [mAh/g]" in t.columns
            else "Capacity [mAh]"
        )
        avail = sorted(t["Cycle"].unique())
        chosen = list(cycles) if cycles is not None else ([2] if 2 in avail else avail[:1])
        for k, cyc in enumerate(chosen):
            g = t[t["Cycle"] == cyc]
            alpha = 1.0 - 0.6 * k / max(len(chosen), 1)
            named = False  # the cell's label on its first drawn half-cycle (a charge-only cycle too)
            for direction, ls in (("discharge", "-"), ("charge", "--")):
                h = g[g["Direction"] == direction]
                if h.empty:
                    continue
                a.plot(
                    h[qcol],
                    h["Voltage [V]"],
                    ls=ls,
                    color=colour,
                    alpha=alpha,
                    lw=1.4,
                    label=None if named else f"{label} (cycle {cyc})",
                )
                named = True
    unit = (
        "mAh/g$_S$"
        if all("Specific capacity [mAh/g]" in p.table.columns for p in profiles.values())
        else "mAh"
    )
    a.set_xlabel(f"Capacity ({unit})")
    a.set_ylabel("Voltage (V vs Li/Li$^+$)")
    a.set_title(title)
    legend(a, fontsize=7, frameon=False)
    return fig


def plot_rate_capability(
    rates: Mapping[str, RateCapability],
    *,
    title: str = "Rate capability",
) -> Figure:
    """Discharge capacity vs cycle with the C-rate blocks labelled (Fig 1e)."""
    fig, ax = new_figure(6.0, 3.6)
    a = ax[0, 0]
    colours = cell_colours(list(rates))
    labelled = None
    for (label, rc), colour in zip(rates.items(), colours, strict=True):
        c = rc.cycles
        a.plot(
            c["Cycle"],
            c["Discharge capacity [mAh/g]"],
            "o",
            ms=3.5,
            color=colour,
            label=label,
        )
        a.plot(c["Cycle"], c["Charge capacity [mAh/g]"], "o", ms=3.5, mfc="none", color=colour)
        if labelled is None:
            labelled = rc
    if labelled is not None:
        ymax = max(np.nanmax(r.cycles["Discharge capacity [mAh/g]"]) for r in rates.values())
        for _, b in labelled.table.iterrows():
            mid = 0.5 * (b["First cycle"] + b["Last cycle"])
            a.text(mid, 1.04 * ymax, b["Label"], ha="center", fontsize=7)
            a.axvline(b["Last cycle"] + 0.5, color="0.85", lw=0.8, zorder=0)
        a.set_ylim(0, 1.12 * ymax)
    a.set_xlabel("Cycle")
    a.set_ylabel("Capacity (mAh/g$_S$)")
    a.set_title(title, pad=14)
    legend(a, fontsize=7, frameon=False, loc="lower left")
    return fig


def plot_retention(
    retentions: Mapping[str, Retention],
    *,
    title: str = "Capacity retention",
) -> Figure:
    """Retention vs cycle (Fig 1f): Q_n/Q_2 above, Q_n/Q_n−1 below; early-fade fit where it converged."""
    fig, ax = new_figure(5.0, 5.0, nrows=2)
    top, bottom = ax[0, 0], ax[1, 0]
    colours = cell_colours(list(retentions))
    for (label, r), colour in zip(retentions.items(), colours, strict=True):
        t = r.table[r.table["Cycle"] >= r.reference_cycle]  # the formation cycle is not a retention
        top.plot(t["Cycle"], t["Retention [%]"], "o", ms=3, color=colour, label=label)
        later = t[t["Cycle"] > r.reference_cycle]
        bottom.plot(
            later["Cycle"], later["Cycle-to-cycle retention [%]"], ".-", ms=3, lw=0.8, color=colour
        )
        if r.fit_ok:
            n = np.linspace(r.reference_cycle, t["Cycle"].max(), 200)
            fit = r.q_inf + (r.q_ref - r.q_inf) * np.exp(-(n - r.reference_cycle) / r.n_c)
            q_ref = float(t.loc[t["Cycle"] == r.reference_cycle, r.capacity_column].iloc[0])
            top.plot(n, 100 * fit / q_ref, "-", lw=0.9, color=colour, alpha=0.7)
        if r.plateau_cycle is not None:
            top.axvline(r.plateau_cycle, color=colour, ls=":", lw=0.9)
    top.set_ylabel(f"Q$_n$/Q$_{{{next(iter(retentions.values())).reference_cycle}}}$ (%)")
    top.set_title(title)
    legend(top, fontsize=7, frameon=False)
    bottom.set_ylabel("Q$_n$/Q$_{n-1}$ (%)")
    bottom.set_xlabel("Cycle")
    return fig


def plot_dqdv(
    curves: Mapping[str, DQDV], *, cycle: int | None = None, title: str = "dQ/dV"
) -> Figure:
    """Differential capacity vs voltage; discharge below the axis (negative), charge above."""
    fig, ax = new_figure()
    a = ax[0, 0]
    colours = cell_colours(list(curves))
    for (label, d), colour in zip(curves.items(), colours, strict=True):
        t = d.table
        ycol = [c for c in t.columns if c.startswith("dQ/dV")][0]
        cyc = (
            cycle
            if cycle is not None
            else (2 if (t["Cycle"] == 2).any() else int(t["Cycle"].min()))
        )
        g = t[t["Cycle"] == cyc]
        for direction, sign in (("discharge", -1), ("charge", 1)):
            h = g[g["Direction"] == direction]
            a.plot(
                h["Voltage [V]"],
                sign * h[ycol],
                color=colour,
                lw=1.2,
                label=label if sign < 0 else None,
            )
    a.axhline(0, color="0.6", lw=0.6)
    a.set_xlabel("Voltage (V)")
    a.set_ylabel(next(iter(curves.values())).table.columns[-1])
    a.set_title(title)
    legend(a, fontsize=7, frameon=False)
    return fig


# ------------------------------------------------------------------ figures from the tables


def _tasks(table: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    from sulfurscope.report._style import per_task

    return {} if table is None else per_task(table)


def fig_voltage_profiles(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 1d from ``cycling_profiles``: the second cycle of every cell."""
    profiles = {
        task: VoltageProfiles(table=t, sulfur_mass_mg=None)
        for task, t in _tasks(tables.get("cycling_profiles")).items()
    }
    return plot_voltage_profiles(profiles) if profiles else None


def fig_rate_capability(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 1e from ``cycling_rate_blocks`` and ``cycling_cycles``."""
    cycles = _tasks(tables.get("cycling_cycles"))
    rates = {}
    for task, blocks in _tasks(tables.get("cycling_rate_blocks")).items():
        c = cycles.get(task)
        if c is None or "Discharge capacity [mAh/g]" not in c.columns or blocks.empty:
            continue
        rates[task] = RateCapability(table=blocks, cycles=c, by="discharge", tolerance=0.1)
    return plot_rate_capability(rates) if rates else None


def fig_retention(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 1f from ``cycling_retention`` and ``cycling_retention_fit`` (long-cycling cells)."""
    fits = _tasks(tables.get("cycling_retention_fit"))
    protocols = {
        t: str(g["Protocol"].iloc[0]) for t, g in _tasks(tables.get("cycling_cycles")).items()
    }
    out = {}
    for task, table in _tasks(tables.get("cycling_retention")).items():
        if protocols.get(task) not in ("cycling", "auto") or task not in fits:
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
    return plot_retention(out) if out else None


def fig_dqdv(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """dQ/dV of the second cycle from ``cycling_dqdv``."""
    curves = {
        task: DQDV(table=t, dv_v=float("nan"), window=0, polyorder=0)
        for task, t in _tasks(tables.get("cycling_dqdv")).items()
        if not t.empty
    }
    return plot_dqdv(curves) if curves else None
