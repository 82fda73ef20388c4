"""EELS figures: the line-scan profile (Fig 3g), a core-loss spectrum with its backgrounds, and the
fingerprint comparison.

Each function takes results of :mod:`sulfurscope.spectra.eels` (or plain arrays) and returns a
:class:`matplotlib.figure.Figure` (no pyplot state, never shown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sulfurscope.errors import SulfurscopeError
from sulfurscope.report._style import cell_colours, new_figure
from sulfurscope.spectra.eels import (
    EdgeIntegrals,
    FingerprintResult,
    LineScanProfile,
    ThicknessResult,
    power_law,
)

__all__ = [
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
        ax.legend(fontsize=7, loc="best")
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
    ax.legend(fontsize=7)
    return fig


def plot_fingerprint(
    energy_ev: Any,
    edge_signal: Any,
    references: Mapping[str, tuple[Any, Any]],
    result: FingerprintResult,
) -> Figure:
    """The background-subtracted edge over the window with each reference, scaled and shifted."""
    e = np.asarray(energy_ev, dtype=float)
    y = np.asarray(edge_signal, dtype=float)
    sel = (e >= result.window_ev[0]) & (e < result.window_ev[1])

    def unit(v: np.ndarray) -> np.ndarray:
        v = v - v.min()
        m = v.max()
        return v / m if m > 0 else v

    fig, axes = new_figure(width_in=5.0, height_in=3.4)
    ax = axes[0, 0]
    ax.plot(e[sel], unit(y[sel]), color="k", lw=1.6, label="measured")
    for (name, score, shift), c in zip(
        zip(result.names, result.scores, result.shifts_ev, strict=True),
        cell_colours(len(result.names)),
        strict=True,
    ):
        re, ri = (np.asarray(a, dtype=float) for a in references[name])
        ref = np.interp(e[sel] - shift, re, ri)
        lw = 1.4 if name == result.best else 0.8
        ax.plot(e[sel], unit(ref), color=c, lw=lw, label=f"{name}: {score:.3f} (δ={shift:+.2f} eV)")
    ax.set_xlabel("Energy loss [eV]")
    ax.set_ylabel("Intensity [scaled]")
    ax.set_title(f"best match: {result.best} ({result.best_score:.3f})", fontsize=9)
    ax.legend(fontsize=7)
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
