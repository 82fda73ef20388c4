"""XPS figures in the style of the study's Fig 4b–f: data dots, components, envelope, background, residual."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sulfurscope.errors import MissingColumnError, SulfurscopeError
from sulfurscope.report._style import cell_colours, flag_figure, legend
from sulfurscope.spectra.peaks import PeakFit
from sulfurscope.spectra.xps import CURVES, ENERGY, INTENSITY, fit_curves

__all__ = [
    "fig_xps_depth_profile",
    "fig_xps_fits",
    "plot_depth_profile",
    "plot_xps_curves",
    "plot_xps_fit",
]


def plot_xps_curves(curves: pd.DataFrame, *, title: str = "") -> Figure:
    """Fig 4b–f panel from a :func:`~sulfurscope.spectra.xps.fit_curves` table (one region).

    Components are drawn on top of the background and filled; the binding-energy axis runs from
    high to low, as XPS figures do; a residual panel sits below.
    """
    for col in ("Curve", ENERGY, INTENSITY):
        if col not in curves.columns:
            raise MissingColumnError(f"XPS curves table lacks column {col!r}")
    if curves.empty:
        raise SulfurscopeError("XPS curves table is empty")
    by = {str(k): g.sort_values(ENERGY) for k, g in curves.groupby("Curve", sort=False)}
    for need in CURVES:
        if need not in by:
            raise SulfurscopeError(f"XPS curves table has no {need!r} curve")
    e = by["data"][ENERGY].to_numpy()
    bg = by["background"][INTENSITY].to_numpy()
    fig = Figure(figsize=(4.6, 4.2), layout="constrained")
    ax, axr = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    comps = [k for k in by if k not in CURVES]
    for name, colour in zip(comps, cell_colours(list(comps)), strict=True):
        c = by[name][INTENSITY].to_numpy() + bg
        ax.fill_between(e, bg, c, color=colour, alpha=0.35, lw=0)
        ax.plot(e, c, color=colour, lw=1.0, label=name)
    ax.plot(e, by["data"][INTENSITY], "o", ms=2.0, mfc="none", mec="0.25", mew=0.6, label="data")
    ax.plot(e, by["envelope"][INTENSITY], color="k", lw=1.2, label="envelope")
    ax.plot(e, bg, color="0.5", lw=1.0, ls="--", label="background")
    ax.set_ylabel("Intensity (counts/s)")
    legend(ax, fontsize=6.5, frameon=False, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    res = by["residual"][INTENSITY].to_numpy()
    axr.axhline(0.0, color="0.6", lw=0.8)
    axr.plot(e, res, color="k", lw=0.7)
    axr.set_ylabel("Resid.")
    axr.set_xlabel("Binding energy (eV)")
    axr.set_xlim(float(np.max(e)), float(np.min(e)))
    return fig


def plot_xps_fit(fit: PeakFit, *, region: str = "", title: str = "") -> Figure:
    """Fig 4b–f panel of a :class:`~sulfurscope.spectra.peaks.PeakFit`."""
    return plot_xps_curves(fit_curves(fit, region=region), title=title or region)


def plot_depth_profile(profile: pd.DataFrame) -> Figure:
    """Region area against sputter time of a PHI ``.pro`` depth profile (each region normalised to its maximum)."""
    need = ("Region", "Sputter time [s]", "Area [counts/s·eV]")
    for col in need:
        if col not in profile.columns:
            raise MissingColumnError(f"depth-profile table lacks column {col!r}")
    fig = Figure(figsize=(4.6, 3.4), layout="constrained")
    ax = fig.subplots()
    groups = [(str(k), g) for k, g in profile.groupby("Region", sort=False) if k != "Survey"]
    for (name, g), colour in zip(groups, cell_colours(len(groups)), strict=True):
        a = g["Area [counts/s·eV]"].to_numpy(float)
        m = np.nanmax(a) if np.any(np.isfinite(a)) and np.nanmax(a) > 0 else 1.0
        ax.plot(g["Sputter time [s]"], a / m, "o-", ms=3, color=colour, label=name)
    ax.set_xlabel("Sputter time (s)")
    ax.set_ylabel("Area / max")
    legend(ax, fontsize=7, frameon=False)
    return fig


def fig_xps_fits(tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """Fig 4b–f for one measurement: one panel per fitted region (from ``xps_curves``)."""
    curves = tables.get("xps_curves", pd.DataFrame())
    if curves.empty:
        return {}
    task = str(curves["Task"].iloc[0]) if "Task" in curves.columns else ""
    quality = tables.get("xps_fit_quality", pd.DataFrame())
    verdict = (dict(zip(quality["Region"].astype(str), quality["Verdict"].astype(str), strict=True))
               if {"Region", "Verdict"} <= set(quality.columns) else {})
    out = {}
    for region, g in curves.groupby("Region", sort=False):
        fig = plot_xps_curves(g, title=f"{task}: {region}".strip(": "))
        if verdict.get(str(region), "ok") != "ok":
            flag_figure(fig, f"fit {verdict[str(region)]}: read its areas with care (see the flags)")
        out[str(region)] = fig
    return out


def fig_xps_depth_profile(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Region areas against sputter time of a depth profile (``xps_depth_profile``)."""
    profile = tables.get("xps_depth_profile", pd.DataFrame())
    return None if profile.empty else plot_depth_profile(profile)
