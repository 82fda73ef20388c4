"""Study plug-in: STEM-EDS maps and net-intensity profiles from the particle surface (Figure 3c/d).

Manifest: a ``[[spectra]]`` entry with ``kind = "eds"`` and ``files = {project = "...ASW"}`` (or a
``.pts``/``.bcf``/``.emd``/``.hspy``/``.rpl``/``.msa``). Options (all optional):

``lines``          list or comma string of X-ray lines, default ``["S_Ka", "F_Ka"]``
``surface``        polyline ``[x0, y0, x1, y1, ...]`` in pixels; default: detected particle edge
``inside``         ``"auto"`` | ``"left"`` | ``"right"``
``band_width_px``  lateral band width along the polyline
``window``         moving-average window (5), ``edge``: ``"shrink"`` | ``"nan"`` | ``"valid"``
``max_depth_nm``   deepest profile point; ``downsample`` / ``cutoff_kev``: read-time binning/cut
``edge_line``      line whose gross map gives the particle edge (default: the first line)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.cli.eds import eds_figures, eds_tables
from sulfurscope.errors import SulfurscopeError
from sulfurscope.report.html import ReportSection
from sulfurscope.study.analyses._common import per_task, safe_name
from sulfurscope.study.registry import register_analysis

__all__ = ["report_eds", "run_eds"]

_TABLES = ("eds_lines", "eds_profiles", "eds_maps", "eds_map_check", "eds_surface")
_CHECK_COLUMNS = [
    "Map",
    "File",
    "ROI start [channel]",
    "ROI end [channel]",
    "Window start [keV]",
    "Window end [keV]",
    "Sweeps",
    "JEOL counts",
    "Our counts",
    "Ratio ours/JEOL",
    "Pixels equal [%]",
    "Pearson r",
]


def _lines(value: Any) -> list[str]:
    if value is None:
        return ["S_Ka", "F_Ka"]
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    return [str(s) for s in value]


def run_eds(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One EDS project/spectrum image → line, profile, map, JEOL-map-check and surface tables."""
    if "project" not in files:
        raise SulfurscopeError(f"eds: files must have a 'project' entry, got roles {sorted(files)}")
    surface = options.get("surface")
    if surface is not None and not isinstance(surface, str):
        surface = np.asarray(surface, dtype=float).reshape(-1, 2)
    tables, summary = eds_tables(
        Path(files["project"]),
        lines=_lines(options.get("lines")),
        surface=surface,
        inside=str(options.get("inside", "auto")),
        band_width_px=options.get("band_width_px"),
        window=int(options.get("window", 5)),
        edge=str(options.get("edge", "shrink")),
        max_depth_nm=options.get("max_depth_nm"),
        downsample=int(options.get("downsample", 1)),
        cutoff_kev=options.get("cutoff_kev"),
        edge_line=options.get("edge_line"),
        method=str(options.get("method", "windows")),
        elements=list(options["elements"]) if options.get("elements") else None,
    )
    if tables["eds_map_check"].empty:
        tables["eds_map_check"] = pd.DataFrame(columns=_CHECK_COLUMNS)
    surf = summary.get("_surface_xy")
    if surf is None or len(surf) == 0:
        tables["eds_surface"] = pd.DataFrame({"x [px]": [], "y [px]": [], "Method": []})
    else:
        s = np.asarray(surf, dtype=float)  # full-resolution pixels
        step = max(1, int(np.ceil(len(s) / 2000)))
        s = s[::step]
        tables["eds_surface"] = pd.DataFrame(
            {"x [px]": s[:, 0], "y [px]": s[:, 1], "Method": summary["surface"]["method"]}
        )
    return tables


def report_eds(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Figure 3c/d: element maps (element colours) and net-intensity profiles vs depth, per task."""
    lines = tables.get("eds_lines", pd.DataFrame())
    if lines.empty:
        return []
    maps = per_task(tables.get("eds_maps", pd.DataFrame()))
    profiles = per_task(tables.get("eds_profiles", pd.DataFrame()))
    surfaces = per_task(tables.get("eds_surface", pd.DataFrame()))
    figures: list[Path] = []
    for task in dict.fromkeys(list(maps) + list(profiles)):
        sub: dict[str, pd.DataFrame] = {}
        if task in maps:
            sub["eds_maps"] = maps[task]
        if task in profiles:
            sub["eds_profiles"] = profiles[task]
        surf = surfaces.get(task)
        xy = None if surf is None or surf.empty else surf[["x [px]", "y [px]"]].to_numpy(float)
        figures += eds_figures(sub, figdir, prefix=f"fig3cd_{safe_name(task)}_", surface_xy=xy)
    keep = [
        c
        for c in (
            "Task",
            "Sample",
            "Line",
            "File",
            "Energy [keV]",
            "Peak start [keV]",
            "Peak end [keV]",
            "Gross counts",
            "Net counts",
            "Overlaps",
            "Method",
        )
        if c in lines.columns
    ]
    out_tables: list[tuple[str, pd.DataFrame]] = [("EDS lines (windows, totals)", lines[keep])]
    check = tables.get("eds_map_check", pd.DataFrame())
    if not check.empty:
        out_tables.append(("Gross window sums vs JEOL .map files", check))
    return [
        ReportSection(
            "Figure 3c/d — STEM-EDS maps and profiles from the surface",
            (
                "Net intensity per line: counts of the line's element in the peak window (±1 FWHM) "
                "from a per-pixel linear fit of the lines of the elements present plus a linear "
                "continuum (method 'fit')"
                if "Method" in lines.columns and (lines["Method"] == "fit").any()
                else "Net intensity per line (window ±1 FWHM, linear background from windows at "
                "2–3 FWHM each side)"
            )
            + "; profiles are the mean over pixels at equal distance from the particle "
            "surface (1 px bins) with a centred moving average. Lines listed under Overlaps "
            "fall into a peak or background window and bias the net intensity.",
            figures=tuple(figures),
            tables=tuple(out_tables),
        )
    ]


register_analysis(
    name="eds",
    kind="eds",
    run=run_eds,
    report=report_eds,
    tables=_TABLES,
    figure="Figure 3c/d",
    order=32,
)
