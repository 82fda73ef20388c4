"""Study plug-in: Raman D/G bands of the carbons (Figure S1).

One task per ``[[spectra]]`` entry with ``kind = "raman"``, ``files = { file = "..." }`` (.wdf or
text). Options (all optional): ``models`` (list, default ``["two-band", "sadezky"]``),
``window_cm1`` (``[1000, 2000]``), ``baseline`` (``"imodpoly"``), ``poly_order`` (1),
``remove_spikes`` (true).

Tables: ``raman_summary`` (one row per spectrum and model, ``Spectrum`` −1 = the mean spectrum of a
line/map file), ``raman_bands`` (one row per spectrum, model and band) and ``raman_curves`` (the
representative fit of each model: data, baseline, envelope and bands — enough to redraw Fig S1).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.io.raman import read_raman
from sulfurscope.report import save_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.report.raman import plot_raman_fit, plot_raman_line, plot_raman_spectra
from sulfurscope.spectra.raman import RAMAN_BAND_SETS, raman_tables
from sulfurscope.study.analyses._common import per_task, safe_name
from sulfurscope.study.registry import register_analysis

__all__ = ["report_raman", "run_raman"]

_KEYS = {"models", "window_cm1", "baseline", "poly_order", "remove_spikes"}


def run_raman(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """One Raman file → ``raman_summary``, ``raman_bands``, ``raman_curves``."""
    if "file" not in files:
        raise SulfurscopeError(
            f"raman task needs files = {{ file = ... }}, got roles {sorted(files)}"
        )
    unknown = set(options) - _KEYS
    if unknown:
        raise SulfurscopeError(f"raman options {sorted(unknown)} unknown; known: {sorted(_KEYS)}")
    models = tuple(options.get("models", ("two-band", "sadezky")))
    for m in models:
        if m not in RAMAN_BAND_SETS:
            raise SulfurscopeError(
                f"raman option models: {m!r} unknown, expected {list(RAMAN_BAND_SETS)}"
            )
    window = options.get("window_cm1", (1000.0, 2000.0))
    data = read_raman(files["file"])
    tables = raman_tables(
        data.shift_cm1,
        data.intensity,
        positions=data.positions,
        models=models,  # type: ignore[arg-type]
        window_cm1=(float(window[0]), float(window[1])),
        baseline=options.get("baseline", "imodpoly"),
        poly_order=int(options.get("poly_order", 1)),
        remove_spikes=bool(options.get("remove_spikes", True)),
    )
    tables["raman_summary"].insert(0, "File", Path(files["file"]).name)
    return tables


def report_raman(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Fig S1: stacked spectra per task, one fit figure per task and model, line profiles."""
    summary = tables.get("raman_summary", pd.DataFrame())
    curves = tables.get("raman_curves", pd.DataFrame())
    if summary.empty or curves.empty:
        return []
    figures: list[Path] = []
    per_curves = per_task(curves)
    per_summary = per_task(summary)
    models = list(dict.fromkeys(curves["Model"]))
    model = "sadezky" if "sadezky" in models else models[0]
    stacked = {
        task: c[c["Model"] == model].drop(columns=["Task", "Sample", "Model", "Spectrum"])
        for task, c in per_curves.items()
        if (c["Model"] == model).any()
    }
    stacked = {k: v.dropna(axis=1, how="all") for k, v in stacked.items()}
    if stacked:
        figures.append(save_figure(plot_raman_spectra(stacked), figdir / "raman_fig_s1.png"))
    rows = []
    for task, c in per_curves.items():
        s = per_summary.get(task, pd.DataFrame())
        for m in dict.fromkeys(c["Model"]):
            cm = c[c["Model"] == m]
            rep = int(cm["Spectrum"].iloc[0])
            srow = s[(s["Model"] == m) & (s["Spectrum"] == rep)]
            ratios = srow.iloc[0].to_dict() if len(srow) else None
            fig = plot_raman_fit(
                cm.drop(columns=["Task", "Sample", "Model", "Spectrum"]).dropna(axis=1, how="all"),
                title=f"{task}: {m}" + (" (mean spectrum)" if rep < 0 else ""),
                ratios=ratios,
            )
            figures.append(save_figure(fig, figdir / f"raman_{safe_name(task)}_{m}.png"))
            if ratios:
                rows.append(
                    {
                        "Task": task,
                        "Sample": ratios.get("Sample", ""),
                        "Model": m,
                        "Spectrum": "mean" if rep < 0 else str(rep),
                        "I_D/I_G (height)": ratios["I_D/I_G (height)"],
                        "I_D/I_G (area)": ratios["I_D/I_G (area)"],
                        "D position [1/cm]": ratios["D position [1/cm]"],
                        "G position [1/cm]": ratios["G position [1/cm]"],
                        "D FWHM [1/cm]": ratios["D FWHM [1/cm]"],
                        "G FWHM [1/cm]": ratios["G FWHM [1/cm]"],
                    }
                )
        line = s[s["Spectrum"] >= 0] if not s.empty else s
        if len(line) > 1:
            for m in dict.fromkeys(line["Model"]):
                fig = plot_raman_line(line[line["Model"] == m], title=f"{task}: {m}")
                figures.append(save_figure(fig, figdir / f"raman_{safe_name(task)}_{m}_line.png"))
    text = (
        "Raman D and G bands of the carbons (Figure S1). I_D/I_G is given by peak HEIGHT and by "
        "integrated AREA: they differ because D is broader than G. Two-band: D and G Lorentzians; "
        "Sadezky: D4, D1, D2, G Lorentzian and D3 Gaussian (D = D1). Baseline by pybaselines, then a "
        "linear term fitted with the bands. Line/map files: every spectrum is fitted; the figure "
        "shows the fit of their mean spectrum."
    )
    return [
        ReportSection(
            "Raman — D and G bands (Figure S1)",
            text,
            figures=tuple(figures),
            tables=(("I_D/I_G per sample and model", pd.DataFrame(rows)),),
        )
    ]


register_analysis(
    name="raman",
    kind="raman",
    run=run_raman,
    report=report_raman,
    tables=("raman_summary", "raman_bands", "raman_curves"),
    figure="Figure S1",
    order=60,
)
