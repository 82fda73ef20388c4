"""Figures of the EDS analysis: element maps in element colours and profiles vs depth (Fig 3c/d)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from scipy import ndimage as ndi

from sulfurscope.report._style import legend
from sulfurscope.spectra.eds import DepthProfile

__all__ = [
    "ELEMENT_COLOURS",
    "element_colour",
    "fig_eds_maps",
    "fig_eds_profiles",
    "plot_eds_maps",
    "plot_eds_profiles",
]

ELEMENT_COLOURS = {
    "S": "#f2d600",  # sulfur yellow, as in Fig 3c
    "F": "#2ca02c",  # fluorine green
    "C": "#9a9a9a",
    "O": "#d62728",
    "N": "#1f77b4",
    "P": "#9467bd",
    "Cl": "#17becf",
    "Fe": "#ff7f0e",
    "Cu": "#8c564b",
    "Pt": "#e377c2",
    "Ga": "#7f7f7f",
}


def element_colour(line: str) -> str:
    """Colour of the element of ``line`` (``"S_Ka"``, ``"S K"`` → sulfur yellow)."""
    el = line.replace(" ", "_").split("_")[0]
    return ELEMENT_COLOURS.get(el, "#444444")


def plot_eds_maps(
    maps: Mapping[str, np.ndarray],
    *,
    pixel_size_nm: float | None = None,
    smooth_px: float = 1.0,
    surface_xy: np.ndarray | None = None,
    title: str = "",
) -> Figure:
    """One panel per map, black → element colour (Fig 3c style), optional surface overlay.

    Parameters
    ----------
    maps : mapping name → (ny, nx) ndarray
        E.g. ``{"S_Ka": net_s, "F_Ka": net_f}``; the name sets the colour.
    pixel_size_nm : float, optional
        Axes in µm when given, else pixels.
    smooth_px : float
        Gaussian smoothing for display only (0: none); the 99.5th percentile sets the top colour.
    surface_xy : (m, 2) ndarray, optional
        Surface polyline or edge pixels (x, y) drawn in white.
    title : str
    """
    n = max(1, len(maps))
    fig = Figure(figsize=(3.2 * n, 3.3), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (name, m) in zip(axes, maps.items(), strict=False):
        img = np.asarray(m, dtype=float)
        if smooth_px > 0:
            img = ndi.gaussian_filter(np.nan_to_num(img), smooth_px)
        top = np.nanpercentile(img, 99.5) if np.isfinite(img).any() else 1.0
        cmap = LinearSegmentedColormap.from_list(name, [(0, 0, 0), to_rgb(element_colour(name))])
        ny, nx = img.shape
        if pixel_size_nm:
            ext = (0, nx * pixel_size_nm / 1e3, ny * pixel_size_nm / 1e3, 0)
            scale = pixel_size_nm / 1e3
            ax.set_xlabel("x [µm]")
            ax.set_ylabel("y [µm]")
        else:
            ext = (0, nx, ny, 0)
            scale = 1.0
            ax.set_xlabel("x [px]")
            ax.set_ylabel("y [px]")
        ax.imshow(
            img,
            cmap=cmap,
            vmin=0,
            vmax=top if top > 0 else 1.0,
            extent=ext,
            interpolation="nearest",
        )
        if surface_xy is not None and len(surface_xy):
            s = np.asarray(surface_xy, dtype=float)
            if len(s) <= 50:
                ax.plot(s[:, 0] * scale, s[:, 1] * scale, color="w", lw=1.0)
            else:
                ax.plot(s[:, 0] * scale, s[:, 1] * scale, ",", color="w")
        ax.set_title(name.replace("_", " "))
    if title:
        fig.suptitle(title)
    return fig


def plot_eds_profiles(
    profile: DepthProfile | pd.DataFrame,
    *,
    normalise: bool = False,
    title: str = "",
) -> Figure:
    """Intensity vs distance from the surface, one curve per line (Fig 3d style).

    Raw bin means are drawn as faint points, the moving average as a line.

    Parameters
    ----------
    profile : DepthProfile or DataFrame
        A :class:`DepthProfile` or its ``to_frame()`` table (columns Line, Depth [nm],
        Mean counts [counts/px], Smoothed [counts/px]).
    normalise : bool
        Divide each line by its maximum (smoothed) to compare shapes.
    title : str
    """
    frame = profile.to_frame() if isinstance(profile, DepthProfile) else profile
    fig = Figure(figsize=(5.0, 3.6), layout="constrained")
    ax = fig.subplots()
    for line, g in frame.groupby("Line", sort=False):
        depth = g["Depth [nm]"].to_numpy()
        raw = g["Mean counts [counts/px]"].to_numpy(dtype=float)
        sm = g["Smoothed [counts/px]"].to_numpy(dtype=float)
        norm = np.nanmax(sm) if normalise and np.isfinite(sm).any() and np.nanmax(sm) > 0 else 1.0
        c = element_colour(str(line))
        ax.plot(depth, raw / norm, ".", color=c, alpha=0.35, ms=3)
        window = g["Moving average window"].iloc[0] if "Moving average window" in g else ""
        ax.plot(
            depth,
            sm / norm,
            "-",
            color=c,
            lw=1.8,
            label=f"{str(line).replace('_', ' ')} (MA {window})",
        )
    ax.set_xlabel("Distance from surface [nm]")
    ax.set_ylabel("Net intensity (normalised)" if normalise else "Net counts per pixel")
    ax.axhline(0, color="k", lw=0.5)
    legend(ax, frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    return fig


# ------------------------------------------------------------------ figures from the tables


def fig_eds_maps(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 3c for one measurement: net maps in element colours with the surface the profiles start at."""
    maps_t = tables.get("eds_maps", pd.DataFrame())
    if maps_t.empty:
        return None
    net = maps_t[maps_t["Kind"] == "net"]
    maps = {}
    for line, g in net.groupby("Line", sort=False):
        arr = np.zeros((int(g["y [px]"].max()) + 1, int(g["x [px]"].max()) + 1))
        arr[g["y [px]"].to_numpy(int), g["x [px]"].to_numpy(int)] = g["Counts"].to_numpy(float)
        maps[str(line)] = arr
    if not maps or any(m.size <= 1 for m in maps.values()):
        return None
    px = float(net["Pixel size [nm]"].iloc[0])
    b = float(net["Bin [px]"].iloc[0])
    surface = tables.get("eds_surface", pd.DataFrame())
    surf = None
    if not surface.empty:
        surf = surface[["x [px]", "y [px]"]].to_numpy(float) / b  # full-res px → map px
    return plot_eds_maps(maps, pixel_size_nm=px if np.isfinite(px) else None, surface_xy=surf)


def fig_eds_profiles(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 3d for one measurement: net counts vs distance from the surface, per line."""
    prof = tables.get("eds_profiles", pd.DataFrame())
    return None if prof.empty else plot_eds_profiles(prof)
