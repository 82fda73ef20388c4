"""Study plug-in: particle sizes from SEM (Figure 1a–c, Figure S8).

Reuses :mod:`sulfurscope.microscopy` (``crop_data_bar``, ``segment_particles``, ``measure_particles``,
``size_distribution``) and the figures of :mod:`sulfurscope.report.microscopy`. The per-particle table
always carries ``Equivalent diameter [um]`` (when calibrated) so samples are comparable and the model
step can build measured size distributions.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FitError, SulfurscopeWarning
from sulfurscope.io.images import read_image
from sulfurscope.microscopy import (
    crop_data_bar,
    measure_particles,
    segment_particles,
    size_distribution,
)
from sulfurscope.report import save_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.report.microscopy import particle_overlay_figure, size_histogram_figure
from sulfurscope.study.analyses._common import grid_array, grid_table, per_task, safe_name
from sulfurscope.study.registry import register_analysis

__all__ = ["report_particles", "run_particles"]

_SEGMENT_OPTIONS = {
    "invert",
    "smooth_sigma_px",
    "background",
    "background_radius_px",
    "threshold",
    "local_block_px",
    "fill_holes",
    "split",
    "min_distance_px",
    "split_depth",
    "exclude_edge",
    "min_area_px",
}
_TO_UM = {"um": 1.0, "nm": 1e-3, "mm": 1e3}


def run_particles(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One SEM image → particle table, distribution statistics and a downsampled overlay."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SulfurscopeWarning)
        mic = read_image(files["file"], pixel_size_nm=options.get("pixel_size_nm"))
    px = mic.calibration.pixel_size_nm
    image, bar = crop_data_bar(mic.image, detect=bool(options.get("crop_data_bar", True)))
    kwargs = {k: v for k, v in options.items() if k in _SEGMENT_OPTIONS}
    labels = segment_particles(image, **kwargs)
    table = measure_particles(labels, pixel_size_nm=px)
    col = next(c for c in table.columns if c.startswith("Equivalent diameter"))
    unit = col[col.index("[") + 1 : -1]
    if unit in _TO_UM and col != "Equivalent diameter [um]":
        table["Equivalent diameter [um]"] = table[col] * _TO_UM[unit]
    stats: dict[str, Any] = {
        "Image": files["file"].name,
        "Pixel size [nm]": px,
        "Calibration": mic.calibration.source,
        "Length unit": unit,
        "Particles": len(table),
        "Data bar rows": int(mic.image.shape[0] - image.shape[0]),
        "Warnings": "; ".join(str(w.message) for w in caught),
    }
    try:
        dist = size_distribution(
            table[col].to_numpy(),
            sample_size=int(options.get("sample_size", 300)) or None,
            seed=int(options.get("seed", 0)),
            length_unit=unit,
        )
        d: dict[str, Any] = dist.to_dict()
        scale = _TO_UM.get(unit, float("nan"))
        for key, name in (
            ("number_mean", "Number mean"),
            ("number_sd", "Number sd"),
            ("volume_mean", "Volume-weighted mean"),
            ("d50", "d50"),
        ):
            stats[f"{name} [{unit}]"] = float(d[key])
            if unit in _TO_UM:
                stats[f"{name} [um]"] = float(d[key]) * scale
        stats["Sampled"] = int(d["n_sampled"])
    except FitError as exc:
        stats["Distribution error"] = str(exc)
    overlay = grid_table(image.astype(float), Label=labels)
    _ = bar
    return {
        "particles": table,
        "particle_distribution": pd.DataFrame([stats]),
        "particle_overlay": overlay,
    }


def report_particles(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Figure 1a–c: size histograms with fits and segmentation overlays; size table (Fig S8)."""
    particles = tables["particles"]
    stats = tables["particle_distribution"]
    if stats.empty:
        return []
    figures = []
    overlays = per_task(tables["particle_overlay"])
    units = {
        t: (str(g["Length unit"].iloc[0]), g["Pixel size [nm]"].iloc[0])
        for t, g in per_task(stats).items()
    }
    for task, table in per_task(particles).items():
        unit, _px = units.get(task, ("px", None))
        col = f"Equivalent diameter [{unit}]"
        if col not in table.columns or table[col].notna().sum() < 3:
            continue
        try:
            dist = size_distribution(
                table[col].dropna().to_numpy(), sample_size=None, length_unit=unit
            )
        except FitError:
            continue
        figures.append(
            save_figure(
                size_histogram_figure(dist, title=task),
                figdir / f"fig1_sizes_{safe_name(task)}.png",
            )
        )
    for task, grid in overlays.items():
        image = grid_array(grid, "Value")
        labels = grid_array(grid, "Label").astype(np.int64)
        figures.append(
            save_figure(
                particle_overlay_figure(image, labels, title=task),
                figdir / f"figS8_overlay_{safe_name(task)}.png",
            )
        )
    return [
        ReportSection(
            "Figure 1a–c — Particle sizes from SEM (Figure S8)",
            "Equivalent circular diameters of the segmented particles, the distribution with its "
            "Gaussian and log-normal fits, and the accepted outlines over the image (downsampled).",
            figures=tuple(figures),
            tables=(("Size distributions", stats),),
        )
    ]


register_analysis(
    name="particles",
    kind="sem",
    run=run_particles,
    report=report_particles,
    tables=("particles", "particle_distribution", "particle_overlay"),
    figure="Figure 1a–c, Figure S8",
    order=5,
)
