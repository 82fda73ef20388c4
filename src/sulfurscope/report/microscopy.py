"""Figures of the microscopy analyses: particle outlines (Figure S8 style), size histogram with fits
(Figure 1a–c style), FFT with labelled spots and the FFT-filtered image (Figure 4a / S6 style)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from scipy import stats

from sulfurscope.microscopy.particles import ParticleSizeDistribution
from sulfurscope.report._style import legend, scale_bar

__all__ = [
    "fig_lattice",
    "fig_particle_overlay",
    "fig_size_histogram",
    "particle_overlay_figure",
    "size_histogram_figure",
]


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
        Adds the field width in the title and a scale bar when given.

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
    scale_bar(ax, pixel_size_nm, img.shape[1])
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
    legend(ax, fontsize=7, frameon=False)
    return fig


# ------------------------------------------------------------------ figures from the tables


def _grid(table: pd.DataFrame, column: str = "Value") -> np.ndarray:
    shape = (int(table["Row"].max()) + 1, int(table["Column"].max()) + 1)
    out = np.zeros(shape, dtype=table[column].dtype)
    out[table["Row"].to_numpy(int), table["Column"].to_numpy(int)] = table[column].to_numpy()
    return out


def _one(tables: Mapping[str, pd.DataFrame], name: str) -> pd.Series | None:
    t = tables.get(name)
    return None if t is None or t.empty else t.iloc[0]


def fig_particle_overlay(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Figure S8 for one image: the accepted outlines over the (strided) image."""
    grid = tables.get("particle_overlay")
    if grid is None or grid.empty:
        return None
    stats = _one(tables, "particle_distribution")
    image = _grid(grid, "Value")
    px = None if stats is None else stats.get("Pixel size [nm]")
    shown_px = None  # pixel size of the strided image (for the field width in the title)
    if px is not None and np.isfinite(px) and stats is not None:
        shown_px = float(px) * float(stats["Image width [px]"]) / image.shape[1]
    title = str(grid["Task"].iloc[0]) if "Task" in grid.columns else ""
    return particle_overlay_figure(
        image, _grid(grid, "Label").astype(np.int64), title=title, pixel_size_nm=shown_px
    )


def fig_size_histogram(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Figure 1a–c for one image: histogram of the sampled diameters with the Gaussian and
    log-normal fits (from ``particle_sample`` and ``particle_distribution``)."""
    sample = tables.get("particle_sample")
    stats = _one(tables, "particle_distribution")
    if sample is None or sample.empty or stats is None:
        return None
    unit = str(stats["Length unit"])
    col = f"Equivalent diameter [{unit}]"
    fields = {}
    for f in ParticleSizeDistribution.__dataclass_fields__:
        if f in ("diameters", "length_unit"):
            continue
        unitless = f in ("n_total", "n_sampled", "seed", "lognormal_sigma") or "ks" in f
        fields[f] = stats[f"Fit {f}" if unitless else f"Fit {f} [{unit}]"]
    for f in ("n_total", "n_sampled", "seed"):
        fields[f] = int(fields[f])
    dist = ParticleSizeDistribution(
        length_unit=unit, diameters=sample[col].to_numpy(float), **fields
    )
    title = str(sample["Task"].iloc[0]) if "Task" in sample.columns else ""
    return size_histogram_figure(dist, title=title)


def fig_lattice(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Figure 4a / S6 for one image: the image, the centre of its FFT with the spots labelled by
    phase and plane (d in nm when calibrated), and the FFT-filtered image."""
    image = tables.get("lattice_image")
    power = tables.get("lattice_power")
    summary = _one(tables, "lattice_summary")
    if image is None or image.empty or power is None or power.empty or summary is None:
        return None
    spots = tables.get("lattice_spots", pd.DataFrame())
    rings = tables.get("lattice_rings", pd.DataFrame())
    filtered = tables.get("lattice_filtered")
    p = _grid(power)
    ny, nx = int(summary["FFT rows"]), int(summary["FFT columns"])
    u = str(summary["Length unit"])
    px = summary.get("Pixel size [nm]")
    ncol = 3 if filtered is not None and not filtered.empty else 2
    fig = Figure(figsize=(4.2 * ncol, 4.6), layout="constrained")
    axes = fig.subplots(1, ncol)
    shown = _grid(image)
    axes[0].imshow(shown, cmap="gray")
    axes[0].set_title(str(image["Task"].iloc[0]) if "Task" in image else "image", fontsize=9)
    if px is not None and np.isfinite(px):  # the stored image is strided: its own pixel size
        scale_bar(axes[0], float(px) * float(summary["Columns"]) / shown.shape[1], shown.shape[1])
    lo, hi = np.percentile(p, [50, 99.95])
    cy, cx = p.shape[0] / 2, p.shape[1] / 2  # the stored crop is centred on the zero frequency
    axes[1].imshow(p, cmap="magma", vmin=lo, vmax=hi)
    for i, row in spots.reset_index(drop=True).iterrows():
        x, y = cx + row["fx [1/px]"] * nx, cy + row["fy [1/px]"] * ny
        for sx, sy in ((x, y), (2 * cx - x, 2 * cy - y)):
            axes[1].plot(sx, sy, "o", mfc="none", mec="cyan", ms=8, mew=0.8)
        label = f"{row[f'd [{u}]']:.3g}"
        phase = row.get("Phase")
        if isinstance(phase, str) and phase and phase != "nan":
            amb = "?" if str(row.get("Ambiguous")) == "True" else ""
            label = f"{phase}{row['hkl']}{amb}\n{label}"
        axes[1].annotate(
            f"{i}: {label}", (x, y), xytext=(4, 4), textcoords="offset points", color="white",
            fontsize=6,
        )
    for _, ring in rings.head(3).iterrows():
        g = ring[f"g [1/{u}]"] * (float(px) if px is not None and np.isfinite(px) else 1.0)
        axes[1].add_patch(
            Ellipse((cx, cy), 2 * g * nx, 2 * g * ny, fill=False, ec="lime", lw=0.6, ls="--")
        )
    axes[1].set_xlim(-0.5, p.shape[1] - 0.5)
    axes[1].set_ylim(p.shape[0] - 0.5, -0.5)
    axes[1].set_title(f"FFT (log power, centre), d in {u}", fontsize=9)
    if ncol == 3:
        axes[2].imshow(_grid(filtered), cmap="gray")
        axes[2].set_title("FFT-filtered (selected spots)", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    return fig
