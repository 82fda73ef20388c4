"""Study plug-in: TGA sulfur content (the 150–400 °C mass-loss step).

Reuses :func:`sulfurscope.io.tga.read_tga` and :func:`sulfurscope.spectra.sulfur_fraction`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.io.tga import read_tga
from sulfurscope.report import save_figure
from sulfurscope.report._style import cell_colours, new_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.spectra import sulfur_fraction
from sulfurscope.study.analyses._common import decimate, per_task
from sulfurscope.study.registry import register_analysis

__all__ = ["report_tga", "run_tga"]


def run_tga(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One TGA export → sulfur fraction (one row) and the downsampled curve."""
    curve = read_tga(files["file"]).frame
    window = tuple(options.get("window_c", (150.0, 400.0)))
    res = sulfur_fraction(
        curve["Temperature [°C]"].to_numpy(), curve["Mass [%]"].to_numpy(), window_c=window
    )
    d = res.to_dict()
    row = {
        "Sulfur fraction": d["sulfur_fraction"],
        "Mass at start [%]": d["mass_at_start_pct"],
        "Mass at end [%]": d["mass_at_end_pct"],
        "Window start [°C]": window[0],
        "Window end [°C]": window[1],
        "DTG peak [°C]": d["dtg_peak_c"],
        "Residue [%]": d["residue_pct"],
    }
    return {
        "tga_fraction": pd.DataFrame([row]),
        "tga_curve": decimate(curve[["Temperature [°C]", "Mass [%]"]], 1500),
    }


def report_tga(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Mass vs temperature per sample with the sulfur fractions."""
    fractions = tables["tga_fraction"]
    if fractions.empty:
        return []
    curves = per_task(tables["tga_curve"])
    fig, axes = new_figure()
    ax = axes[0, 0]
    for (task, c), colour in zip(curves.items(), cell_colours(len(curves)), strict=True):
        ax.plot(c["Temperature [°C]"], c["Mass [%]"], color=colour, label=task)
    ax.set_xlabel("Temperature (°C)")
    ax.set_ylabel("Mass (%)")
    ax.legend(fontsize=7, frameon=False)
    return [
        ReportSection(
            "TGA — sulfur content",
            "Sulfur mass fraction from the mass-loss step between the window temperatures.",
            figures=(save_figure(fig, figdir / "tga_curves.png"),),
            tables=(("Sulfur fractions", fractions),),
        )
    ]


register_analysis(
    name="tga",
    kind="tga",
    run=run_tga,
    report=report_tga,
    tables=("tga_fraction", "tga_curve"),
    figure="TGA (sulfur content, Methods)",
    order=70,
)
