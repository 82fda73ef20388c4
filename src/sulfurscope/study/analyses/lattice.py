"""Study plug-in: HRTEM lattice fringes by FFT (Figure 4a).

Reuses :func:`sulfurscope.microscopy.lattice.lattice_spacings` and
:func:`~sulfurscope.microscopy.lattice.index_spots` against the reference phases (LiF, Li2S, S8,
graphite, Li2CO3, Li2SO4).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.io.images import read_image
from sulfurscope.microscopy.lattice import REFERENCE_PHASES, index_spots, lattice_spacings
from sulfurscope.report import save_figure
from sulfurscope.report._style import new_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.study.analyses._common import grid_array, grid_table, per_task, safe_name
from sulfurscope.study.registry import register_analysis

__all__ = ["report_lattice", "run_lattice"]


def run_lattice(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One HRTEM/STEM image → FFT spots (indexed when calibrated), rings, image and power thumbnails."""
    mic = read_image(files["file"], pixel_size_nm=options.get("pixel_size_nm"))
    px = mic.calibration.pixel_size_nm
    res = lattice_spacings(
        mic.image,
        pixel_size_nm=px,
        snr_min=float(options.get("snr_min", 30.0)),
        max_spots=int(options.get("max_spots", 24)),
    )
    spots = res.spots
    if px is not None and len(spots):
        spots = index_spots(
            spots, list(REFERENCE_PHASES), tolerance=float(options.get("tolerance", 0.02))
        )
    spots = spots[[c for c in spots.columns if c != "Candidates"]].copy()
    for c in spots.columns:
        if spots[c].dtype == object:
            spots[c] = spots[c].astype(str)
    n = res.power_log10.shape[0]
    half = n // 4
    centre = res.power_log10[n // 2 - half : n // 2 + half, n // 2 - half : n // 2 + half]
    return {
        "lattice_spots": spots,
        "lattice_rings": res.rings.copy(),
        "lattice_image": grid_table(mic.image.astype(float), max_side=256),
        "lattice_power": grid_table(centre, max_side=256),
    }


def report_lattice(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Figure 4a: HRTEM image and its FFT (centre) per image; indexed spots."""
    spots = tables["lattice_spots"]
    images = per_task(tables["lattice_image"])
    if spots.empty and not images:
        return []
    powers = per_task(tables["lattice_power"])
    figures = []
    for task, grid in images.items():
        fig, axes = new_figure(7.0, 3.4, ncols=2)
        axes[0, 0].imshow(grid_array(grid), cmap="gray")
        axes[0, 0].set_title(task, fontsize=9)
        axes[0, 0].set_axis_off()
        if task in powers:
            p = grid_array(powers[task])
            axes[0, 1].imshow(p, cmap="magma", vmin=np.percentile(p, 50), vmax=p.max())
            axes[0, 1].set_title("FFT (log power, centre)", fontsize=9)
        axes[0, 1].set_axis_off()
        figures.append(save_figure(fig, figdir / f"fig4a_hrtem_{safe_name(task)}.png"))
    return [
        ReportSection(
            "Figure 4a — HRTEM lattice fringes",
            "FFT spots and rings with their d-spacings, indexed against LiF, Li2S, S8, graphite, "
            "Li2CO3 and Li2SO4 when the image is calibrated; near-coincident candidates are flagged.",
            figures=tuple(figures),
            tables=(("FFT spots", spots), ("FFT rings", tables["lattice_rings"])),
        )
    ]


register_analysis(
    name="lattice",
    kind="hrtem",
    run=run_lattice,
    report=report_lattice,
    tables=("lattice_spots", "lattice_rings", "lattice_image", "lattice_power"),
    figure="Figure 4a",
    order=39,
)
