"""Shared figure helpers: a headless Figure and one colour per cell."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from sulfurscope._files import atomic_path

__all__ = ["cell_colours", "new_figure", "save_figure"]

_PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


def cell_colours(n: int) -> list[str]:
    """``n`` distinguishable colours, one per cell (repeats after eight)."""
    return [_PALETTE[k % len(_PALETTE)] for k in range(n)]


def new_figure(width_in: float = 5.0, height_in: float = 3.6, ncols: int = 1, nrows: int = 1):
    """A Figure not tied to pyplot (no global state, no display) and its axes."""
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write a figure atomically (temporary file in the same folder, then rename)."""
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=dpi, format=p.suffix.lstrip(".") or "png")
    return p
