"""Study plug-in: XPS deconvolution with the study's component library (Fig 4b–f, Tables S1–S6).

Manifest entry (``[[spectra]]``, ``kind = "xps"``, ``files = { file = "..." }``); options (all optional):
``region`` (e.g. ``"S 2p"``; default every region with a library), ``components`` (library name),
``background`` (``shirley``), ``background_mode`` (``model``/``subtract``), ``cycle`` (depth-profile
cycle, 0), ``shift_ev`` (charge correction, 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.io.xps import read_xps
from sulfurscope.report._style import save_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.report.xps import plot_xps_curves
from sulfurscope.spectra.xps import analyse_xps
from sulfurscope.study.registry import register_analysis

__all__ = ["report_xps", "run_xps"]

_OPTIONS = ("region", "components", "background", "background_mode", "cycle", "shift_ev")


def _safe(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in text.replace(" ", ""))
    return keep[:80] or "x"


def run_xps(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One XPS file → component table, fitted curves and quantification (read-only, no files written)."""
    from sulfurscope.errors import SulfurscopeError

    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise SulfurscopeError(f"xps: unknown option(s) {unknown}; allowed: {list(_OPTIONS)}")
    if "file" not in files:
        raise SulfurscopeError(f"xps: files must have a 'file' role, got {sorted(files)}")
    data = read_xps(Path(files["file"]))
    analysis = analyse_xps(
        data.spectra,
        region=options.get("region"),
        components=options.get("components"),
        background=options.get("background", "shirley"),
        background_mode=options.get("background_mode", "model"),
        cycle=int(options.get("cycle", 0)),
        shift_ev=float(options.get("shift_ev", 0.0)),
    )
    out: dict[str, pd.DataFrame] = {}
    if not analysis.components.empty:
        comp = analysis.components.copy()
        comp["File"] = Path(files["file"]).name
        out["xps_components"] = comp
        out["xps_curves"] = analysis.curves
    if not analysis.quantification.empty:
        out["xps_quantification"] = analysis.quantification
    return out


def report_xps(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Fig 4b–f panels (one per task and region) with Tables S2–S6 and the quantification."""
    comps = tables.get("xps_components", pd.DataFrame())
    curves = tables.get("xps_curves", pd.DataFrame())
    quant = tables.get("xps_quantification", pd.DataFrame())
    if comps.empty and quant.empty:
        return []
    figures = []
    if not curves.empty:
        keys = ["Task", "Region"] if "Task" in curves.columns else ["Region"]
        for key, g in curves.groupby(keys, sort=False):
            label = " ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
            fig = plot_xps_curves(g, title=label)
            figures.append(save_figure(fig, figdir / f"xps_{_safe(label)}.png"))
    show = [
        c
        for c in (
            "Task",
            "Sample",
            "Region",
            "Component",
            "Function",
            "BE [eV]",
            "FWHM [eV]",
            "Area [%]",
            "Assignment",
        )
        if c in comps.columns
    ]
    out_tables: list[tuple[str, pd.DataFrame]] = []
    if not comps.empty:
        out_tables.append(("Tables S2–S6: XPS components", comps[show]))
    if not quant.empty:
        out_tables.append(("Table S1 and derived sulfur numbers", quant))
    text = (
        "Core-level regions fitted with the study's component library (Voigt doublets/singlets, "
        "S 2p splitting 1.18 eV at 2:1, P 2p 0.84 eV) on a Shirley background; atomic % from "
        "Shirley-subtracted region areas and Scofield RSFs. Reduced sulfur = (Li2S + terminal + "
        "bridging S)/all S 2p; residual S / Li2S2 / Li2S under the Li2S2 assumption (bridging S is "
        "elemental sulfur)."
    )
    return [
        ReportSection(
            "XPS — S 2p, F 1s, Li 1s, C 1s, P 2p deconvolution",
            text,
            figures=tuple(figures),
            tables=tuple(out_tables),
        )
    ]


register_analysis(
    name="xps",
    kind="xps",
    run=run_xps,
    report=report_xps,
    tables=("xps_components", "xps_curves", "xps_quantification"),
    figure="Figure 4b–f, Tables S1–S6",
    order=40,
)
