"""Raman figures (Figure S1 style): band fits, stacked spectra of several carbons, line profiles.

Each function takes the tables of :mod:`sulfurscope.spectra.raman` (``raman_curves(fit)``,
``RamanFit.to_dict()`` rows, ``RamanMapFit.summary``) — the same tables the study store keeps, so a
report can be redrawn from the store alone — and returns a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sulfurscope.report._style import cell_colours, flag_figure, legend, new_figure

__all__ = [
    "fig_raman_fits",
    "fig_raman_line",
    "fig_raman_spectra",
    "plot_raman_fit",
    "plot_raman_line",
    "plot_raman_spectra",
]

_SHIFT = "Raman shift [1/cm]"
_FIXED = {_SHIFT, "Intensity [counts]", "Baseline [counts]", "Model [counts]"}
_BAND_COLOURS = {
    "D": "#d95f02",
    "D1": "#d95f02",
    "G": "#1b9e77",
    "D2": "#7570b3",
    "D3": "#e7298a",
    "D4": "#a6761d",
}


def _band_columns(curves: pd.DataFrame) -> list[str]:
    return [
        c
        for c in curves.columns
        if c.endswith(" [counts]") and c not in _FIXED and c[0] in "DG" and curves[c].notna().any()
    ]


def plot_raman_fit(
    curves: pd.DataFrame, *, title: str = "", ratios: Mapping[str, Any] | None = None
) -> Figure:
    """Data, baseline, bands and envelope of one fit, with the residual below.

    Parameters
    ----------
    curves : DataFrame
        :func:`sulfurscope.spectra.raman.raman_curves` of one fit.
    title : str
    ratios : mapping, optional
        A :meth:`RamanFit.to_dict` row; I_D/I_G by height and by area are written on the plot.
    """
    fig = Figure(figsize=(5.6, 4.4), layout="constrained")
    ax, res = fig.subplots(2, 1, sharex=True, height_ratios=[3.2, 1])
    x = curves[_SHIFT].to_numpy()
    y = curves["Intensity [counts]"].to_numpy()
    base = curves["Baseline [counts]"].to_numpy()
    model = curves["Model [counts]"].to_numpy()
    ax.plot(x, y, ".", ms=2.2, color="0.35", label="data")
    ax.plot(x, base, "--", lw=0.9, color="0.5", label="baseline")
    for col in _band_columns(curves):
        name = col.removesuffix(" [counts]")
        comp = curves[col].to_numpy()
        colour = _BAND_COLOURS.get(name, "#666666")
        ax.fill_between(x, base, base + comp, color=colour, alpha=0.35, lw=0)
        ax.plot(x, base + comp, lw=0.8, color=colour, label=name)
    ax.plot(x, model, lw=1.3, color="k", label="fit")
    ax.set_ylabel("Intensity (counts)")
    legend(ax, fontsize=7, ncols=2, loc="upper right", frameon=True)
    if ratios:
        h, a = ratios.get("I_D/I_G (height)"), ratios.get("I_D/I_G (area)")
        if h is not None and a is not None and np.isfinite(h) and np.isfinite(a):
            ax.text(
                0.02,
                0.95,
                f"I_D/I_G (height) = {h:.2f}\nI_D/I_G (area) = {a:.2f}",
                transform=ax.transAxes,
                va="top",
                fontsize=8,
            )
    if title:
        ax.set_title(title, fontsize=9)
    res.plot(x, y - model, lw=0.7, color="0.3")
    res.axhline(0.0, color="k", lw=0.5)
    res.set_ylabel("residual")
    res.set_xlabel("Raman shift (cm$^{-1}$)")
    return fig


def plot_raman_spectra(
    curves_by_label: Mapping[str, pd.DataFrame], *, offset: float = 1.1
) -> Figure:
    """Figure S1 style: baseline-subtracted spectra normalised to the G band, stacked, D/G marked.

    Parameters
    ----------
    curves_by_label : mapping of label → DataFrame
        One :func:`raman_curves` table per sample (e.g. per particle size).
    offset : float
        Vertical offset between spectra (units of the G height).
    """
    fig, axes = new_figure(4.6, 1.6 + 1.1 * max(1, len(curves_by_label)))
    ax = axes[0, 0]
    colours = cell_colours(list(curves_by_label))
    for k, ((label, c), colour) in enumerate(zip(curves_by_label.items(), colours, strict=True)):
        x = c[_SHIFT].to_numpy()
        net = (c["Intensity [counts]"] - c["Baseline [counts]"]).to_numpy()
        fitted = (c["Model [counts]"] - c["Baseline [counts]"]).to_numpy()
        g = c["G [counts]"].to_numpy() if "G [counts]" in c else fitted
        norm = float(np.max(g)) or 1.0
        ax.plot(x, net / norm + k * offset, lw=0.8, color=colour, label=label)
        ax.plot(x, fitted / norm + k * offset, lw=0.8, color="k", alpha=0.6)
    for name, pos in (("D", 1350.0), ("G", 1590.0)):
        ax.axvline(pos, color="0.6", lw=0.6, ls=":")
        ax.text(pos, 1.0, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom")
    ax.set_xlabel("Raman shift (cm$^{-1}$)")
    ax.set_ylabel("Intensity / I_G (offset)")
    ax.set_yticks([])
    legend(ax, fontsize=7, loc="upper left", frameon=True)
    return fig


def plot_raman_line(summary: pd.DataFrame, *, title: str = "") -> Figure:
    """I_D/I_G (height and area) and the D/G positions along a line or over a map's spectra.

    Parameters
    ----------
    summary : DataFrame
        :attr:`RamanMapFit.summary` (failed spectra, ``Success`` False, are left out and counted).
    """
    fig, axes = new_figure(5.6, 4.4, nrows=2)
    ax, ax2 = axes[0, 0], axes[1, 0]
    ok = summary[summary["Success"].astype(bool)] if "Success" in summary else summary
    pos_cols = [c for c in summary.columns if c.endswith("[µm]")]
    xcol = pos_cols[0] if pos_cols else "Spectrum"
    x = ok[xcol].to_numpy()
    ax.plot(x, ok["I_D/I_G (height)"], ".-", ms=3, lw=0.6, label="I_D/I_G (height)")
    ax.plot(x, ok["I_D/I_G (area)"], ".-", ms=3, lw=0.6, label="I_D/I_G (area)")
    ax.set_ylabel("I_D/I_G")
    vals = ok[["I_D/I_G (height)", "I_D/I_G (area)"]].to_numpy(dtype=float)
    if vals.size and np.isfinite(vals).any():
        top = float(np.nanpercentile(vals, 98))
        if np.nanmax(vals) > 1.5 * top > 0:  # a few wild ratios must not flatten the profile
            ax.set_ylim(0.0, 1.5 * top)
    failed = len(summary) - len(ok)
    legend(ax, fontsize=7, title=f"{failed} failed fit(s)" if failed else None, title_fontsize=7, frameon=True)
    if title:
        ax.set_title(title, fontsize=9)
    ax2.plot(x, ok["D position [1/cm]"], ".", ms=3, label="D")
    ax2.plot(x, ok["G position [1/cm]"], ".", ms=3, label="G")
    ax2.set_ylabel("position (cm$^{-1}$)")
    ax2.set_xlabel(xcol.replace("[µm]", "(µm)"))
    legend(ax2, fontsize=7, frameon=True)
    return fig


# ------------------------------------------------------------------ figures from the tables


def _representative(curves: pd.DataFrame, model: str) -> pd.DataFrame:
    c = curves[curves["Model"] == model]
    drop = [k for k in ("Task", "Sample", "Model", "Spectrum") if k in c.columns]
    return c.drop(columns=drop).dropna(axis=1, how="all")


def fig_raman_spectra(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Figure S1: every measurement's representative spectrum (Sadezky fit when present), stacked."""
    from sulfurscope.report._style import per_task

    curves = tables.get("raman_curves", pd.DataFrame())
    if curves.empty:
        return None
    models = list(dict.fromkeys(curves["Model"]))
    model = "sadezky" if "sadezky" in models else models[0]
    stacked = {
        task: _representative(c, model)
        for task, c in per_task(curves).items()
        if (c["Model"] == model).any()
    }
    return plot_raman_spectra(stacked) if stacked else None


def fig_raman_fits(tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """One measurement's representative fit per model (the mean spectrum of a line or map)."""
    curves = tables.get("raman_curves", pd.DataFrame())
    summary = tables.get("raman_summary", pd.DataFrame())
    if curves.empty:
        return {}
    task = str(curves["Task"].iloc[0]) if "Task" in curves.columns else ""
    out = {}
    for m in dict.fromkeys(curves["Model"]):
        rep = int(curves.loc[curves["Model"] == m, "Spectrum"].iloc[0])
        srow = summary[(summary["Model"] == m) & (summary["Spectrum"] == rep)] if len(summary) else summary
        ratios = srow.iloc[0].to_dict() if len(srow) else None
        title = f"{task}: {m}".strip(": ") + (" (mean spectrum)" if rep < 0 else "")
        fig = plot_raman_fit(_representative(curves, m), title=title, ratios=ratios)
        if ratios is not None and not bool(ratios.get("Success", True)):
            flag_figure(fig, f"fit failed: {ratios.get('Message', '')}"[:90])
        elif ratios is not None and str(ratios.get("Identifiable", True)) == "False":
            flag_figure(fig, "bands not identifiable: quote the two-band I_D/I_G")
        out[str(m)] = fig
    return out


def fig_raman_line(tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """I_D/I_G and band positions over the spectra of a line or map, per model."""
    s = tables.get("raman_summary", pd.DataFrame())
    line = s[s["Spectrum"] >= 0] if not s.empty else s
    if line.empty or line["Spectrum"].nunique() <= 1:  # one spectrum: shown as spectrum + fit
        return {}
    task = str(s["Task"].iloc[0]) if "Task" in s.columns else ""
    return {
        f"{m}_line": plot_raman_line(line[line["Model"] == m], title=f"{task}: {m}".strip(": "))
        for m in dict.fromkeys(line["Model"])
    }
