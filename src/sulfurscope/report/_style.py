"""Shared figure helpers: a headless Figure and one colour per cell."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sulfurscope._files import atomic_path

__all__ = ["cell_colours", "legend", "new_figure", "per_task", "safe_name", "save_figure"]

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


def per_task(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a table by its ``Task`` column (order of first appearance); {} when empty."""
    if table is None or table.empty or "Task" not in table.columns:
        return {}
    return {str(k): g.reset_index(drop=True) for k, g in table.groupby("Task", sort=False)}


def safe_name(text: str) -> str:
    """A file-name-safe version of a user string (figures are named after tasks)."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    return keep[:80] or "x"


def legend(ax, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """A legend when the axes have labelled artists (none otherwise, and no warning)."""
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=kwargs.pop("fontsize", 7), frameon=kwargs.pop("frameon", False), **kwargs)
