"""Figures of the microscopy analyses: particle outlines (Figure S8 style), size histogram with fits
(Figure 1a–c style), FFT with labelled spots and the FFT-filtered image (Figure 4a / S6 style)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from scipy import stats

from sulfurscope.microscopy.lattice import LatticeAnalysis
from sulfurscope.microscopy.particles import ParticleSizeDistribution

__all__ = ["lattice_figure", "particle_overlay_figure", "size_histogram_figure"]


def _display_step(shape: tuple[int, ...], max_px: int = 1200) -> int:
    """Decimation step that brings the larger image side to at most ``max_px`` for display."""
    return max(1, int(np.ceil(max(shape) / max_px)))


def particle_overlay_figure(
    image: np.ndarray, labels: np.ndarray, *, title: str = "", pixel_size_nm: float | None = None
) -> Figure:
    """The image with the accepted particle outlines drawn on it (Figure S8 style).

    Parameters
    ----------
    image : (M, N) ndarray
    labels : (M, N) ndarray of int
        Label image of the accepted particles.
    title : str
    pixel_size_nm : float, optional
        Adds the field width in the title when given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy import ndimage as ndi
    from skimage.segmentation import find_boundaries

    img = np.asarray(image, dtype=float)
    fig = Figure(figsize=(7, 7 * img.shape[0] / img.shape[1] + 0.4), layout="constrained")
    ax = fig.add_subplot()
    step = _display_step(img.shape)
    extent = (-0.5, img.shape[1] - 0.5, img.shape[0] - 0.5, -0.5)
    ax.imshow(img[::step, ::step], cmap="gray", interpolation="nearest", extent=extent)
    edges = find_boundaries(labels, mode="inner")
    if step > 1:  # keep thin outlines visible when the display is decimated
        edges = ndi.maximum_filter(edges, size=step)[::step, ::step]
    overlay = np.zeros((*edges.shape, 4))
    overlay[edges] = (1.0, 0.85, 0.0, 1.0)
    ax.imshow(overlay, interpolation="nearest", extent=extent)
    n = int(len(np.unique(labels)) - (1 if (labels == 0).any() else 0))
    extra = f", field {img.shape[1] * pixel_size_nm / 1000:.3g} µm" if pixel_size_nm else ""
    ax.set_title(f"{title} — {n} particles{extra}".strip(" —"), fontsize=9)
    ax.set_axis_off()
    return fig


def size_histogram_figure(
    dist: ParticleSizeDistribution, *, title: str = "", bins: int = 25
) -> Figure:
    """Histogram of equivalent diameters with the Gaussian and log-normal fits (Figure 1a–c style).

    Parameters
    ----------
    dist : ParticleSizeDistribution
    title : str
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    u = {"um": "µm"}.get(dist.length_unit, dist.length_unit)
    d = dist.diameters
    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(d, bins=bins, density=True, color="0.75", edgecolor="0.4", label=f"n = {d.size}")
    x = np.linspace(max(d.min() * 0.5, 1e-9), d.max() * 1.3, 400)
    ax.plot(
        x,
        stats.norm.pdf(x, dist.gaussian_mean, dist.gaussian_sd),
        "C0",
        label=(
            f"Gaussian {dist.gaussian_mean:.3g} ± {dist.gaussian_sd:.2g} {u}"
            f" (KS p={dist.gaussian_ks_pvalue:.2g})"
        ),
    )
    if dist.lognormal_sigma > 0:
        ax.plot(
            x,
            stats.lognorm.pdf(x, dist.lognormal_sigma, 0, dist.lognormal_median),
            "C3--",
            label=(
                f"log-normal median {dist.lognormal_median:.3g} {u}, σ={dist.lognormal_sigma:.2g}"
                f" (KS p={dist.lognormal_ks_pvalue:.2g})"
            ),
        )
    ax.set_xlabel(f"Equivalent diameter [{u}]")
    ax.set_ylabel("Probability density")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def lattice_figure(
    image: np.ndarray,
    analysis: LatticeAnalysis,
    *,
    indexed: pd.DataFrame | None = None,
    filtered: np.ndarray | None = None,
    title: str = "",
) -> Figure:
    """Image, FFT with the spots labelled by phase and plane, and the FFT-filtered image.

    Parameters
    ----------
    image : (M, N) ndarray
    analysis : LatticeAnalysis
    indexed : DataFrame, optional
        Output of :func:`sulfurscope.microscopy.lattice.index_spots` (labels the spots).
    filtered : (M, N) ndarray, optional
        Output of :func:`sulfurscope.microscopy.lattice.fft_filter`.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    ncol = 3 if filtered is not None else 2
    fig = Figure(figsize=(4.2 * ncol, 4.6), layout="constrained")
    axes = fig.subplots(1, ncol)
    step = _display_step(np.shape(image))
    shown = np.asarray(image)[::step, ::step]
    extent = (-0.5, np.shape(image)[1] - 0.5, np.shape(image)[0] - 0.5, -0.5)
    axes[0].imshow(shown, cmap="gray", extent=extent)
    axes[0].set_title(title or "image", fontsize=9)
    p = analysis.power_log10
    lo, hi = np.percentile(p, [50, 99.95])
    ny, nx = p.shape
    axes[1].imshow(p, cmap="magma", vmin=lo, vmax=hi)
    spots = indexed if indexed is not None else analysis.spots
    u = analysis.length_unit
    for i, row in spots.iterrows():
        for sgn in (1, -1):
            x = nx // 2 + sgn * row["fx [1/px]"] * nx
            y = ny // 2 + sgn * row["fy [1/px]"] * ny
            axes[1].plot(x, y, "o", mfc="none", mec="cyan", ms=8, mew=0.8)
        label = f"{row[f'd [{u}]']:.3g}"
        if indexed is not None and isinstance(row.get("Phase"), str) and row["Phase"]:
            label = f"{row['Phase']}{row['hkl']}{'?' if row['Ambiguous'] else ''}\n{label}"
        axes[1].annotate(
            f"{i}: {label}",
            (nx // 2 + row["fx [1/px]"] * nx, ny // 2 + row["fy [1/px]"] * ny),
            xytext=(4, 4),
            textcoords="offset points",
            color="white",
            fontsize=6,
        )
    for _, ring in analysis.rings.head(3).iterrows():
        g = ring[f"g [1/{u}]"] * (analysis.pixel_size_nm or 1.0)
        axes[1].add_patch(
            Ellipse(
                (nx // 2, ny // 2), 2 * g * nx, 2 * g * ny, fill=False, ec="lime", lw=0.6, ls="--"
            )
        )
    if len(spots):
        # zoom on the spots (the outer FFT is mostly noise); labels stay readable
        rad = np.hypot(spots["fx [1/px]"] * nx, spots["fy [1/px]"] * ny)
        half = float(min(max(nx, ny) / 2, max(24.0, 2.2 * np.median(rad))))
        axes[1].set_xlim(nx // 2 - half, nx // 2 + half)
        axes[1].set_ylim(ny // 2 + half, ny // 2 - half)
    axes[1].set_title(f"FFT (log power), d in {u}", fontsize=9)
    if filtered is not None:
        axes[2].imshow(np.asarray(filtered)[::step, ::step], cmap="gray", extent=extent)
        axes[2].set_title("FFT-filtered (selected spots)", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    return fig
