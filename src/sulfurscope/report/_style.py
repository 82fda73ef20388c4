"""Shared figure helpers: a headless Figure and one colour per cell."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

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
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp{p.suffix}")
    fig.savefig(tmp, dpi=dpi)
    os.replace(tmp, p)
    return p
