"""Shared figure helpers: a headless Figure and one colour per sample (its cells in shades of it),
the same in every figure of a report."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sulfurscope._files import atomic_path

__all__ = [
    "cell_colours",
    "flag_figure",
    "legend",
    "new_figure",
    "per_task",
    "register_colours",
    "safe_name",
    "save_figure",
    "scale_bar",
    "study_colours",
]

_PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


#: name (sample, cell/task, condition) → colour, fixed by :func:`register_colours`.
_COLOURS: dict[str, str] = {}
_LOCKED = False  # a study report fixed the colours for all its figures


def _shade(colour: str, k: int, n: int) -> str:
    """Shade ``k`` of ``n`` of a colour: darker to lighter around it (the colour itself when n = 1)."""
    if n <= 1:
        return colour
    t = -0.3 + 0.6 * k / (n - 1)
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [c + (255 - c) * t if t > 0 else c * (1 + t) for c in rgb]
    return "#" + "".join(f"{round(min(max(c, 0), 255)):02x}" for c in mixed)


def _pairs(tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """(task or cell, sample) pairs of every table with both columns, in order of appearance."""
    out: list[tuple[str, str]] = []
    cells = tables.get("cells")
    if isinstance(cells, pd.DataFrame) and {"Cell", "Sample"} <= set(cells.columns):
        out += list(zip(cells["Cell"].astype(str), cells["Sample"].astype(str), strict=True))
    for table in tables.values():
        if isinstance(table, pd.DataFrame) and len(table) and {"Task", "Sample"} <= set(table.columns):
            pairs = table[["Task", "Sample"]].drop_duplicates()
            out += list(zip(pairs["Task"].astype(str), pairs["Sample"].astype(str), strict=True))
    return out


def register_colours(tables: Mapping[str, pd.DataFrame]) -> None:
    """Fix the colours of the figures drawn next from ``tables``: one palette colour per sample
    (in the order of the ``samples`` table, else of first appearance), every cell/task of a sample
    in a shade of it, a condition in its cells' sample colour. Ignored while a
    :func:`study_colours` block holds the colours of a whole report."""
    if _LOCKED:
        return
    samples = tables.get("samples")
    order = list(samples["Sample"].astype(str)) if isinstance(samples, pd.DataFrame) and (
        "Sample" in samples.columns) else []
    members: dict[str, list[str]] = {}
    for task, sample in _pairs(tables):
        sample = sample if sample not in ("", "nan", "None") else task
        if task not in members.get(sample, []):
            members.setdefault(sample, []).append(task)
    order += [s for s in members if s not in order]
    colours: dict[str, str] = {}
    for i, sample in enumerate(dict.fromkeys(order)):
        base = _PALETTE[i % len(_PALETTE)]
        colours[sample] = base
        tasks = [t for t in members.get(sample, []) if t != sample]
        for k, task in enumerate(tasks):
            colours.setdefault(task, _shade(base, k, len(tasks)))
    cells = tables.get("cells")
    if isinstance(cells, pd.DataFrame) and {"Condition", "Sample"} <= set(cells.columns):
        for cond, sample in zip(cells["Condition"].astype(str), cells["Sample"].astype(str),
                                strict=True):
            colours.setdefault(cond, colours.get(sample, _PALETTE[0]))
    _COLOURS.clear()
    _COLOURS.update(colours)


@contextmanager
def study_colours(store: Mapping[str, pd.DataFrame]) -> Iterator[None]:
    """Within the block, every figure uses the colours of the whole store (one per sample)."""
    global _LOCKED
    register_colours(store)
    _LOCKED = True
    try:
        yield
    finally:
        _LOCKED = False


def cell_colours(n: int | Sequence[str]) -> list[str]:
    """Colours of ``n`` curves, or of the named samples/cells/conditions: the registered colours
    when every name has one (the same in every figure), else distinguishable palette colours in
    order (repeating after eight)."""
    names = [str(x) for x in n] if not isinstance(n, int) else []
    if names and all(x in _COLOURS for x in names):
        return [_COLOURS[x] for x in names]
    count = n if isinstance(n, int) else len(names)
    return [_PALETTE[k % len(_PALETTE)] for k in range(count)]


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


def scale_bar(ax, pixel_size_nm: float | None, width_px: float) -> None:  # type: ignore[no-untyped-def]
    """A scale bar (1, 2 or 5 × 10^k nm, about a fifth of the width) at the lower left of an image
    drawn in pixel coordinates; nothing without a calibration."""
    import math

    if pixel_size_nm is None or not math.isfinite(pixel_size_nm) or pixel_size_nm <= 0:
        return
    target = 0.2 * width_px * pixel_size_nm
    exp = 10.0 ** math.floor(math.log10(target))
    length_nm = max((m * exp for m in (1, 2, 5) if m * exp <= target), default=exp)
    text = f"{length_nm / 1000:g} µm" if length_nm >= 1000 else f"{length_nm:g} nm"
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    left, bottom = min(x0, x1) + 0.04 * abs(x1 - x0), max(y0, y1) - 0.05 * abs(y1 - y0)
    bar = length_nm / pixel_size_nm
    ax.plot([left, left + bar], [bottom, bottom], color="white", lw=4, solid_capstyle="butt")
    ax.plot([left, left + bar], [bottom, bottom], color="black", lw=1.5, solid_capstyle="butt")
    ax.text(left + bar / 2, bottom - 0.02 * abs(y1 - y0), text, color="white", ha="center",
            va="bottom", fontsize=8, fontweight="bold")


def flag_figure(fig: Figure, reason: str) -> Figure:
    """Mark a figure whose result is flagged (a doubtful or failed fit): a red line on top that says
    why, so that it never looks like a good one."""
    fig.suptitle(f"FLAGGED — {reason}", color="#c0392b", fontsize=8, fontweight="bold")
    return fig
