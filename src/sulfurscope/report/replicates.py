"""Figures of replicate cells: condition means with 95 % intervals (Fig 1e/f, Fig 2 τ) and each
cell's first-discharge capacity with its flags. One colour per condition in every figure."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sulfurscope.report._style import cell_colours, legend, new_figure

__all__ = [
    "fig_condition_capacity",
    "fig_condition_first_discharge",
    "fig_condition_rate",
    "fig_condition_tau",
]


def _stats(tables: Mapping[str, pd.DataFrame], metric: str) -> pd.DataFrame:
    s = tables.get("condition_stats", pd.DataFrame())
    if s.empty or "metric" not in s.columns:
        return pd.DataFrame()
    return s[s["metric"] == metric]


def _colours(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    s = tables.get("condition_stats", pd.DataFrame())
    conds = list(dict.fromkeys(s["condition"].astype(str))) if len(s) else []
    return dict(zip(conds, cell_colours(list(conds)), strict=True))


def _err(g: pd.DataFrame) -> np.ndarray:
    m = g["mean"].to_numpy(float)
    e = np.vstack([m - g["ci95_low"].to_numpy(float), g["ci95_high"].to_numpy(float) - m])
    return np.where(np.isfinite(e), e, 0.0)


_MAX_LEGEND = 12


def _legend(ax, tables: Mapping[str, pd.DataFrame]) -> None:  # type: ignore[no-untyped-def]
    """A legend up to a dozen conditions; beyond that the colours repeat and a legend would crush
    the axes — the table of the section names the conditions."""
    if len(_colours(tables)) <= _MAX_LEGEND:
        legend(ax)


def _label(cond: str, g: pd.DataFrame) -> str:
    n = g["n"].to_numpy(int)
    lo, hi = (int(n.min()), int(n.max())) if n.size else (0, 0)
    return f"{cond} (n = {lo})" if lo == hi else f"{cond} (n = {lo}–{hi})"


def fig_condition_rate(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 1e per condition: mean rate-block discharge capacity ± 95 % CI against the block."""
    s = _stats(tables, "Rate-block discharge capacity")
    if s.empty:
        return None
    colours = _colours(tables)
    fig, axes = new_figure(6.0, 3.8)
    ax = axes[0, 0]
    order = s.groupby("cycle_or_rate", sort=False)["position"].min().sort_values()
    x_of = {k: i for i, k in enumerate(order.index)}
    for cond, g in s.groupby("condition", sort=False):
        g = g.assign(x=g["cycle_or_rate"].map(x_of)).sort_values("x")
        ax.errorbar(g["x"], g["mean"], yerr=_err(g), fmt="o-", ms=4, capsize=3,
                    color=colours.get(str(cond)), label=_label(str(cond), g))
    ax.set_xticks(range(len(order)), list(order.index), rotation=30, fontsize=8)
    ax.set_xlabel("Rate block (test order)")
    ax.set_ylabel("Mean discharge capacity [mAh/g$_S$]")
    ax.set_title("Rate capability per condition: mean ± 95 % CI of the cells", fontsize=9)
    _legend(ax, tables)
    return fig


def fig_condition_capacity(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 1e/f per condition: mean discharge capacity per cycle with its 95 % band, one panel per
    protocol (rate test, long cycling)."""
    s = _stats(tables, "Discharge capacity")
    if s.empty:
        return None
    colours = _colours(tables)
    protocols = list(dict.fromkeys(s["protocol"].astype(str)))
    fig, axes = new_figure(4.2 * len(protocols), 3.6, ncols=len(protocols))
    for ax, proto in zip(axes[0], protocols, strict=True):
        for cond, g in s[s["protocol"] == proto].groupby("condition", sort=False):
            g = g.sort_values("position")
            c = colours.get(str(cond))
            ax.plot(g["position"], g["mean"], "-", color=c, lw=1.2, label=_label(str(cond), g))
            ax.fill_between(g["position"], g["ci95_low"], g["ci95_high"], color=c, alpha=0.25,
                            lw=0)
        ax.set_xlabel("Cycle")
        ax.set_ylabel("Discharge capacity [mAh/g$_S$]")
        ax.set_title(f"{proto}: mean (line) and 95 % CI (band)", fontsize=9)
        _legend(ax, tables)
    return fig


def fig_condition_tau(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 2 per condition: each cell's median GITT τ per half-cycle, mean ± 95 % CI."""
    s = _stats(tables, "GITT tau")
    if s.empty:
        return None
    colours = _colours(tables)
    fig, axes = new_figure(5.5, 3.6)
    ax = axes[0, 0]
    order = s.groupby("cycle_or_rate", sort=False)["position"].min().sort_values()
    x_of = {k: i for i, k in enumerate(order.index)}
    conds = list(dict.fromkeys(s["condition"]))
    for k, (cond, g) in enumerate(s.groupby("condition", sort=False)):
        g = g.assign(x=g["cycle_or_rate"].map(x_of) + 0.08 * (k - (len(conds) - 1) / 2))
        ax.errorbar(g["x"], g["mean"], yerr=_err(g), fmt="s", ms=4, capsize=3,
                    color=colours.get(str(cond)), label=_label(str(cond), g))
    ax.set_xticks(range(len(order)), list(order.index), rotation=30, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("Median relaxation time τ [s]")
    ax.set_title("GITT τ per condition: mean ± 95 % CI of the cells", fontsize=9)
    _legend(ax, tables)
    return fig


def fig_condition_first_discharge(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Every cell's first-discharge capacity (dots; flagged cells as red crosses) with the
    condition mean ± 95 % CI (bar), per condition and protocol."""
    v = tables.get("cell_metric_values", pd.DataFrame())
    s = _stats(tables, "First-discharge capacity")
    if v.empty or s.empty:
        return None
    v = v[v["metric"] == "First-discharge capacity"]
    flags = tables.get("cell_flags", pd.DataFrame())
    flagged = set(flags.loc[~flags["excluded"].astype(bool), "cell"]) if len(flags) else set()
    colours = _colours(tables)
    groups = list(s.groupby(["condition", "protocol"], sort=False))
    fig, axes = new_figure(min(max(4.0, 0.9 * len(groups) + 1.5), 16.0), 3.6)
    ax = axes[0, 0]
    for i, ((cond, proto), g) in enumerate(groups):
        c = colours.get(str(cond))
        ax.errorbar([i], g["mean"], yerr=_err(g), fmt="_", ms=14, capsize=5, color=c, lw=1.5)
        pts = v[(v["condition"] == cond) & (v["protocol"] == proto)]
        jitter = np.linspace(-0.15, 0.15, len(pts)) if len(pts) > 1 else np.zeros(len(pts))
        bad = pts["cell"].isin(flagged).to_numpy()
        ax.plot(i + jitter[~bad], pts["value"].to_numpy(float)[~bad], "o", ms=4, mfc="none",
                color=c)
        if bad.any():
            ax.plot(i + jitter[bad], pts["value"].to_numpy(float)[bad], "x", ms=7, color="red",
                    label="flagged cell" if i == 0 or not ax.get_legend_handles_labels()[0]
                    else None)
    ax.set_xticks(range(len(groups)), [f"{c}\n{p}" for (c, p), _ in groups], fontsize=7)
    ax.set_ylabel("First-discharge capacity [mAh/g$_S$]")
    ax.set_title("Cells (o), flagged (x), mean ± 95 % CI (bar)", fontsize=9)
    legend(ax)
    return fig
