"""TGA figure: mass against temperature per sample with the sulfur window."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from sulfurscope.report._style import cell_colours, legend, new_figure, per_task

__all__ = ["fig_tga_curves"]


def fig_tga_curves(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Mass (%) against temperature (°C) of every TGA curve, one colour per sample, with the
    window each sulfur fraction was read in."""
    curves = per_task(tables.get("tga_curve", pd.DataFrame()))
    if not curves:
        return None
    fractions = per_task(tables.get("tga_fraction", pd.DataFrame()))
    fig, axes = new_figure()
    ax = axes[0, 0]
    for (task, c), colour in zip(curves.items(), cell_colours(list(curves)), strict=True):
        f = fractions.get(task)
        label = task if f is None else f"{task}: S = {100 * f['Sulfur fraction'].iloc[0]:.1f} wt%"
        ax.plot(c["Temperature [°C]"], c["Mass [%]"], color=colour, label=label)
        if f is not None:
            for col in ("Window start [°C]", "Window end [°C]"):
                ax.axvline(float(f[col].iloc[0]), color=colour, ls=":", lw=0.7)
    ax.set_xlabel("Temperature (°C)")
    ax.set_ylabel("Mass (%)")
    legend(ax, fontsize=7, frameon=False)
    return fig
