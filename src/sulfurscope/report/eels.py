"""EELS figures: the line-scan profile (Fig 3g), a core-loss spectrum with its backgrounds, and the
fingerprint comparison.

Each function takes results of :mod:`sulfurscope.spectra.eels` (or plain arrays) and returns a
:class:`matplotlib.figure.Figure` (no pyplot state, never shown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sulfurscope.errors import SulfurscopeError
from sulfurscope.report._style import cell_colours, legend, new_figure
from sulfurscope.spectra.eels import EdgeIntegrals, EdgeWindow, ThicknessResult, power_law
from sulfurscope.spectra.eels_scan import LineScanProfile

__all__ = [
    "fig_eels_core_loss",
    "fig_eels_fingerprint",
    "fig_eels_profile",
    "fig_eels_thickness",
    "plot_core_loss",
    "plot_fingerprint",
    "plot_line_scan_profile",
    "plot_thickness_profile",
]


def plot_line_scan_profile(profile: LineScanProfile, *, scale_to_max: bool = True) -> Figure:
    """Edge integrals ÷ t/λ vs position with t/λ on a second axis (Fig 3g style).

    Markers: per-pixel values; lines: the moving average (``profile.window`` points). With
    ``scale_to_max`` each edge is divided by the maximum of its moving average (the axis label says
    so), so that edges of very different strength share one axis.
    """
    fig, axes = new_figure(width_in=5.4, height_in=3.6)
    ax = axes[0, 0]
    colours = cell_colours(len(profile.edge_names))
    for j, (name, c) in enumerate(zip(profile.edge_names, colours, strict=True)):
        raw = profile.normalised[:, j]
        ma = profile.smoothed[:, j]
        f = float(np.nanmax(np.abs(ma))) if scale_to_max else 1.0
        f = f if f > 0 else 1.0
        ax.plot(profile.position_nm, raw / f, "o", ms=2.5, color=c, alpha=0.35)
        ax.plot(
            profile.position_nm, ma / f, "-", lw=1.6, color=c, label=f"{name} (MA-{profile.window})"
        )
    what = "integral / (t/λ)" if profile.t_over_lambda is not None else "integral (not normalised)"
    ax.set_ylabel(what + (" [scaled to max]" if scale_to_max else " [counts]"))
    ax.set_xlabel("Position from surface [nm]")
    if profile.t_over_lambda is not None:
        ax2 = ax.twinx()
        ax2.plot(
            profile.position_nm, profile.t_over_lambda, "--", color="#555555", lw=1.2, label="t/λ"
        )
        ax2.set_ylabel("t/λ")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="best")
    else:
        legend(ax, fontsize=7, loc="best", frameon=True)
    return fig


def plot_core_loss(
    energy_ev: Any,
    spectrum: Any,
    integrals: EdgeIntegrals,
    *,
    pixel: int = 0,
    title: str = "",
    dispersion_ev: float | None = None,
) -> Figure:
    """One core-loss spectrum with each edge's extrapolated power law and shaded windows.

    ``dispersion_ev`` (eV per channel, default the step of ``energy_ev``) converts the power-law
    density into counts per channel; give it when the spectrum was thinned out for storage.
    """
    e = np.asarray(energy_ev, dtype=float)
    y = np.asarray(spectrum, dtype=float)
    if y.shape != e.shape:
        raise SulfurscopeError(f"spectrum shape {y.shape} does not match energy axis {e.shape}")
    k = len(integrals.edges)
    amp = integrals.background_amplitude.reshape(-1, k)[pixel]
    r = integrals.background_r.reshape(-1, k)[pixel]
    de = float(e[1] - e[0]) if dispersion_ev is None else float(dispersion_ev)
    fig, axes = new_figure(width_in=5.4, height_in=3.4)
    ax = axes[0, 0]
    ax.plot(e, y, color="k", lw=0.8, label="spectrum")
    for j, (edge, c) in enumerate(zip(integrals.edges, cell_colours(k), strict=True)):
        sel = (e >= edge.background_ev[0]) & (e <= edge.integral_ev[1])
        ax.plot(
            e[sel],
            power_law(e[sel], amp[j], r[j]) * de,
            "--",
            color=c,
            lw=1.0,
            label=f"{edge.name} background (r={r[j]:.2f})",
        )
        ax.axvspan(*edge.background_ev, color=c, alpha=0.08)
        ax.axvspan(*edge.integral_ev, color=c, alpha=0.2)
    ax.set_xlabel("Energy loss [eV]")
    ax.set_ylabel("Counts per channel")
    if title:
        ax.set_title(title, fontsize=9)
    legend(ax, fontsize=7, frameon=True)
    return fig


def plot_fingerprint(curves: pd.DataFrame) -> Figure:
    """One edge's background-subtracted fine structure (pixel 0) with each reference, scaled to 0–1
    and shifted by its best shift (``eels_fingerprint_curves`` of one edge)."""
    fig, axes = new_figure(width_in=5.0, height_in=3.4)
    ax = axes[0, 0]
    m = curves[curves["Curve"] == "measured"]
    ax.plot(m["Energy [eV]"], m["Intensity"], color="k", lw=1.6, label="measured")
    refs = [(str(k), g) for k, g in curves.groupby("Curve", sort=False) if k != "measured"]
    best = ""
    for (name, g), c in zip(refs, cell_colours(len(refs)), strict=True):
        is_best = bool(g["Best"].iloc[0])
        best = f"{name} ({g['Score'].iloc[0]:.3f})" if is_best else best
        ax.plot(
            g["Energy [eV]"],
            g["Intensity"],
            color=c,
            lw=1.4 if is_best else 0.8,
            label=f"{name}: {g['Score'].iloc[0]:.3f} (δ={g['Shift [eV]'].iloc[0]:+.2f} eV)",
        )
    ax.set_xlabel("Energy loss [eV]")
    ax.set_ylabel("Intensity [scaled]")
    edge = str(curves["Edge"].iloc[0]) if "Edge" in curves.columns and len(curves) else ""
    ax.set_title(f"{edge} fingerprint — best match: {best}", fontsize=9)
    legend(ax, fontsize=7, frameon=True)
    return fig


def plot_thickness_profile(position_nm: Any, thickness: ThicknessResult) -> Figure:
    """t/λ vs position along a low-loss line scan."""
    pos = np.asarray(position_nm, dtype=float).ravel()
    tl = np.asarray(thickness.t_over_lambda, dtype=float).ravel()
    if pos.size != tl.size:
        raise SulfurscopeError(f"{pos.size} positions for {tl.size} t/λ values")
    fig, axes = new_figure(width_in=5.0, height_in=3.2)
    ax = axes[0, 0]
    ax.plot(pos, tl, "o-", ms=3, color="#555555")
    lo, hi = thickness.zlp_window_ev
    ax.set_title(f"log-ratio, ZLP window {'start' if lo is None else lo}…{hi:+g} eV", fontsize=9)
    ax.set_xlabel("Position [nm]")
    ax.set_ylabel("t/λ")
    return fig


# ------------------------------------------------------------------ figures from the tables


def _profile_from_table(table: pd.DataFrame) -> LineScanProfile:
    names = tuple(dict.fromkeys(table["Edge"].astype(str)))
    first = table[table["Edge"] == names[0]]
    normalised = bool(first["Normalised by t/lambda"].iloc[0])

    def col(c: str) -> np.ndarray:
        return np.stack([table.loc[table["Edge"] == n, c].to_numpy(float) for n in names], axis=1)

    return LineScanProfile(
        position_nm=first["Position [nm]"].to_numpy(float),
        t_over_lambda=first["t/lambda"].to_numpy(float) if normalised else None,
        edge_names=names,
        integral=col("Integral [counts]"),
        normalised=col("Normalised integral [counts]"),
        smoothed=col("Moving average [counts]"),
        window=int(first["Window [points]"].iloc[0]),
        edge_policy="shrink",
    )


def fig_eels_profile(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 3g for one line scan: integrals ÷ t/λ with their moving average, t/λ on a second axis."""
    prof = tables.get("eels_profile", pd.DataFrame())
    if prof.empty or prof["Position [nm]"].nunique() <= 1:
        return None
    return plot_line_scan_profile(_profile_from_table(prof))


def fig_eels_thickness(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """t/λ along a line scan that has no core-loss profile."""
    t = tables.get("eels_thickness", pd.DataFrame())
    prof = tables.get("eels_profile", pd.DataFrame())
    if len(t) <= 1 or (not prof.empty and prof["Position [nm]"].nunique() > 1):
        return None
    res = ThicknessResult(
        t_over_lambda=t["t/lambda"].to_numpy(float),
        zlp_intensity=t["ZLP intensity [counts]"].to_numpy(float),
        total_intensity=t["Total intensity [counts]"].to_numpy(float),
        zlp_centre_ev=t["ZLP centre [eV]"].to_numpy(float),
        zlp_window_ev=(None, float(t["ZLP window high [eV]"].iloc[0])),
        aligned=True,
    )
    return plot_thickness_profile(t["Position [nm]"], res)


def fig_eels_core_loss(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Pixel 0 of the core-loss spectrum with each edge's power-law background and windows."""
    integ = tables.get("eels_integrals", pd.DataFrame())
    spectra = tables.get("eels_spectrum", pd.DataFrame())
    if integ.empty or spectra.empty:
        return None
    spec = spectra[spectra["Spectrum"] == "core-loss pixel 0"]
    first = integ[integ["Pixel"] == 0]
    if spec.empty or first.empty:
        return None
    edges = tuple(
        EdgeWindow(
            str(r["Edge"]),
            str(r["Edge"]),
            float(r["Integral window low [eV]"]),
            (float(r["Background window low [eV]"]), float(r["Background window high [eV]"])),
            (float(r["Integral window low [eV]"]), float(r["Integral window high [eV]"])),
            (float(r["Integral window low [eV]"]), float(r["Integral window high [eV]"])),
        )
        for _, r in first.iterrows()
    )
    res = EdgeIntegrals(
        edges=edges,
        integral=first["Integral [counts]"].to_numpy(float),
        background_r=first["Background r"].to_numpy(float),
        background_amplitude=first["Background A"].to_numpy(float),
        background_counts=first["Background under window [counts]"].to_numpy(float),
        method=str(first["Background method"].iloc[0]),
    )
    task = str(integ["Task"].iloc[0]) if "Task" in integ.columns else ""
    return plot_core_loss(
        spec["Energy [eV]"].to_numpy(float),
        spec["Counts"].to_numpy(float),
        res,
        title=f"{task} core-loss pixel 0".strip(),
        dispersion_ev=float(spec["Dispersion [eV]"].iloc[0]),
    )


def fig_eels_fingerprint(tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """Per edge: pixel 0's fine structure against the reference spectra."""
    curves = tables.get("eels_fingerprint_curves", pd.DataFrame())
    if curves.empty:
        return {}
    return {str(e): plot_fingerprint(g) for e, g in curves.groupby("Edge", sort=False)}
