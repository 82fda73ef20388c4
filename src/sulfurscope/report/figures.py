"""Which figures each analysis draws: one function per figure, used by the CLI and the HTML report.

Every figure function takes the analysis's tables (several inputs concatenated with a ``Task``
column, as the CLI writes them and the study store holds them) and returns a Figure, a mapping of
name suffix → Figure (a figure per region, per model, ...), or None when the tables hold nothing to
draw. Figures marked ``per_task`` are drawn once per task from that task's rows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FIGURES", "FigureSpec", "draw_figures", "save_figures", "show"]


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """One figure of an analysis.

    Attributes
    ----------
    stem : str
        File name stem (``fig1d_voltage_profiles``); per-task figures get ``_<task>`` appended.
    function : str
        ``"module:function"`` under :mod:`sulfurscope.report` (imported when drawn).
    caption : str
        What is shown and how it was computed (the report's caption).
    per_task : bool
        Drawn once per task.
    """

    stem: str
    function: str
    caption: str
    per_task: bool = False

    def draw(self) -> Callable[[Mapping[str, pd.DataFrame]], Any]:
        """The figure function."""
        module, name = self.function.split(":")
        return getattr(importlib.import_module(f"sulfurscope.report.{module}"), name)  # type: ignore[no-any-return]


F = FigureSpec
FIGURES: dict[str, tuple[FigureSpec, ...]] = {
    "cycling": (
        F("fig1d_voltage_profiles", "cycling:fig_voltage_profiles",
          "Fig 1d — voltage against specific capacity of the second cycle (the first after "
          "formation) of each cell; solid discharge, dashed charge."),
        F("fig1e_rate_capability", "cycling:fig_rate_capability",
          "Fig 1e — discharge (filled) and charge (open) capacity per cycle with the C-rate blocks "
          "found from the current."),
        F("fig1f_retention", "cycling:fig_retention",
          "Fig 1f — retention Q_n/Q_2 (top) and cycle-to-cycle Q_n/Q_n−1 (bottom) of the long-"
          "cycling cells, with the early-fade fit and the plateau cycle (dotted)."),
        F("dqdv", "cycling:fig_dqdv",
          "dQ/dV of the second cycle (Savitzky–Golay derivative on a uniform voltage grid); "
          "discharge below the axis."),
    ),
    "gitt": (
        F("fig2af_gitt_voltage", "gitt:fig_gitt_voltage",
          "Fig 2a–f — GITT trace against capacity (blue) with the relaxation-voltage curve, the "
          "quasi-OCV at the rest ends (red), per cell and half-cycle."),
        F("fig2_overpotential", "gitt:fig_overpotential",
          "Fig 2 — overpotential CCV − QOCV of every pulse against capacity, per half-cycle."),
        F("fig2gi_relaxation_times", "gitt:fig_relaxation_times",
          "Fig 2g–i — relaxation time τ (where the normalised rest curve reaches 1 − 1/e on "
          "discharge, 1/e on charge) against capacity; bars: read-out range; open markers: "
          "pulse-limited or non-monotone rests."),
        F("figS4_relaxation", "gitt:fig_relaxation_curves",
          "Fig S4 — normalised relaxation curves of every rest (later rests lighter); dashed "
          "1 − 1/e, dotted 1/e."),
    ),
    "particles": (
        F("fig1_sizes", "microscopy:fig_size_histogram",
          "Fig 1a–c — equivalent circular diameters of the sampled particles with the Gaussian and "
          "log-normal fits (KS p-values).", per_task=True),
        F("figS8_overlay", "microscopy:fig_particle_overlay",
          "Fig S8 — the accepted particle outlines over the image (strided for storage).",
          per_task=True),
    ),
    "lattice": (
        F("fig4a_lattice", "microscopy:fig_lattice",
          "Fig 4a — HRTEM image, the centre of its FFT with the spots labelled by phase and plane "
          "(? = ambiguous), and the FFT-filtered image.", per_task=True),
    ),
    "xps": (
        F("fig4_xps", "xps:fig_xps_fits",
          "Fig 4b–f — data (dots), components (filled), envelope and background of every fitted "
          "region, residual below.", per_task=True),
        F("xps_depth_profile", "xps:fig_xps_depth_profile",
          "Region areas against sputter time of a depth profile.", per_task=True),
    ),
    "raman": (
        F("figS1_raman", "raman:fig_raman_spectra",
          "Fig S1 — baseline-subtracted spectra normalised to G, stacked, with the fit."),
        F("raman_fit", "raman:fig_raman_fits",
          "Representative fit of each model (the mean spectrum of a line or map) with I_D/I_G by "
          "height and by area.", per_task=True),
        F("raman", "raman:fig_raman_line",
          "I_D/I_G and band positions over the spectra of a line or map.", per_task=True),
    ),
    "tga": (
        F("tga_curves", "tga:fig_tga_curves",
          "TGA mass against temperature; the sulfur fraction is the mass lost between the dotted "
          "window limits."),
    ),
    "eds": (
        F("fig3c_eds_maps", "eds:fig_eds_maps",
          "Fig 3c — net-intensity maps in element colours (binned for storage) with the surface "
          "the profiles are measured from (white).", per_task=True),
        F("fig3d_eds_profiles", "eds:fig_eds_profiles",
          "Fig 3d — mean net counts per pixel against distance from the surface (points) and their "
          "moving average (lines).", per_task=True),
    ),
    "eels": (
        F("fig3g_eels_profile", "eels:fig_eels_profile",
          "Fig 3g — edge integrals ÷ t/λ along the line scan (points) with their moving average; "
          "t/λ dashed on the right axis.", per_task=True),
        F("eels_thickness", "eels:fig_eels_thickness",
          "t/λ (log-ratio) along the scan.", per_task=True),
        F("eels_core_loss", "eels:fig_eels_core_loss",
          "Core-loss spectrum of the first pixel with each edge's power-law background "
          "(background window light, integral window dark).", per_task=True),
        F("eels_fingerprint", "eels:fig_eels_fingerprint",
          "Fine structure of the first pixel against the reference spectra (scaled, shifted).",
          per_task=True),
    ),
    "model_fit": (
        F("fig5b_active_fraction", "model:fig_model_active_fraction",
          "Fig 5b — active fraction f(d) = 1 − (1 − 2δ/d)³ with each sample's volume-weighted "
          "size distribution and its electrode active fraction F."),
        F("fig5_predictions", "model:fig_model_predictions",
          "Fig 5 — the fitted model's rate test (lines, measured points), retention and first "
          "discharge per sample."),
        F("fig5cde_shell_scaling", "model:fig_model_shell_scaling",
          "Fig 5c–e — each larger sample predicted from the smallest one's rate curve × active "
          "fraction (the study's scaling), against its measured block means."),
        F("fig5cde_predicted_vs_measured", "model:fig_model_comparison",
          "Predicted against measured block capacity per sample and C-rate."),
        F("model_cycling_fit", "model:fig_model_cycling_fit",
          "Model C fitted to the reference (smallest) sample: measured and fitted capacity."),
        F("model_formation_fit", "model:fig_model_formation_fit",
          "Model B's D₀ fitted to every sample: measured and fitted capacity."),
    ),
    "model_predict": (
        F("fig5b_active_fraction", "model:fig_model_active_fraction",
          "Fig 5b — active fraction f(d) with each size distribution and its F."),
        F("fig5cde_rate_predictions", "model:fig_model_rate_predictions",
          "Fig 5c–e — predicted rate capability of each size from the reference curve."),
    ),
    "model_formation": (
        F("formation_profiles", "model:fig_formation_profiles",
          "Conversion θ against depth below the surface after the formation discharge, per size "
          "class, and the discharge curve."),
    ),
    "gitt_scaling": (
        F("fig2_tau_scaling", "gitt:fig_tau_scaling",
          "Fig 2 — relaxation time τ against particle size per half-cycle (log–log): every rest "
          "(open: pulse-limited, τ then measures the pulse, not D), the median per size (red), "
          "the exponent n of τ ∝ L^n and the D fitted across sizes with τ = G(t_p D/R²)·R²/D, each "
          "with its 95 % interval."),
    ),
    "replicates": (
        F("fig1e_condition_rate", "replicates:fig_condition_rate",
          "Fig 1e per condition — mean discharge capacity of each rate block over the condition's "
          "cells with its 95 % interval (Student t on the cell-to-cell spread, the shared "
          "sulfur-fraction uncertainty added in quadrature; n = 1: the cell's mass uncertainty)."),
        F("fig1ef_condition_capacity", "replicates:fig_condition_capacity",
          "Fig 1e/f per condition — mean discharge capacity per cycle (line) with its 95 % "
          "interval (band), one panel per protocol."),
        F("fig2_condition_tau", "replicates:fig_condition_tau",
          "Fig 2 per condition — each cell's median relaxation time τ of a half-cycle, averaged "
          "over the condition's cells, with its 95 % interval."),
        F("condition_first_discharge", "replicates:fig_condition_first_discharge",
          "First-discharge capacity of every cell (o) and the condition mean with its 95 % interval; "
          "red crosses: cells flagged as outliers (table Flagged cells)."),
    ),
}


def _task_tables(tables: Mapping[str, pd.DataFrame], task: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, t in tables.items():
        if isinstance(t, pd.DataFrame) and "Task" in t.columns:
            out[name] = t[t["Task"] == task].reset_index(drop=True)
    return out


def _tasks(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    seen: dict[str, None] = {}
    for t in tables.values():
        if isinstance(t, pd.DataFrame) and "Task" in t.columns:
            seen.update(dict.fromkeys(str(v) for v in t["Task"].unique()))
    return list(seen)


def _named(stem: str, made: Any) -> list[tuple[str, Any]]:
    from sulfurscope.report._style import safe_name

    if made is None:
        return []
    if isinstance(made, Mapping):
        return [(f"{stem}_{safe_name(str(k))}", f) for k, f in made.items()]
    return [(stem, made)]


def _draw(spec: FigureSpec, tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, Any]]:
    from sulfurscope.report._style import safe_name

    fn = spec.draw()
    if not spec.per_task:
        return _named(spec.stem, fn(tables))
    out = []
    for task in _tasks(tables):
        out += _named(f"{spec.stem}_{safe_name(task)}", fn(_task_tables(tables, task)))
    return out


def draw_figures(
    analysis: str, tables: Mapping[str, pd.DataFrame]
) -> tuple[list[tuple[str, Any, FigureSpec]], list[tuple[str, str]]]:
    """Every figure of ``analysis`` drawn from ``tables``: ([(file stem, Figure, spec)],
    [(figure stem, reason)] for the figures that could not be drawn)."""
    import warnings

    from sulfurscope.report._style import register_colours

    register_colours(tables)  # one colour per sample in all of them (unless a report fixed them)
    drawn: list[tuple[str, Any, FigureSpec]] = []
    failed: list[tuple[str, str]] = []
    for spec in FIGURES.get(analysis, ()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a library warning means a wrong figure
                drawn += [(n, f, spec) for n, f in _draw(spec, tables)]
        except Exception as exc:  # noqa: BLE001 - one figure must not sink the others
            failed.append((spec.stem, f"{type(exc).__name__}: {exc}"))
    return drawn, failed


def save_figures(
    analysis: str, tables: Mapping[str, pd.DataFrame], folder: Path
) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Draw and save every figure of ``analysis`` as PNG into ``folder``: ([(path, caption)],
    [(figure, reason)] of the figures that failed).

    File names are unique: a stem that two tasks sanitise alike gets a numbered suffix.
    """
    from sulfurscope.report._style import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    drawn, failed = draw_figures(analysis, tables)
    saved: list[tuple[Path, str]] = []
    used: set[str] = set()
    for stem, fig, spec in drawn:
        name, k = stem, 2
        while name in used:
            name, k = f"{stem}_{k}", k + 1
        used.add(name)
        saved.append((save_figure(fig, folder / f"{name}.png"), spec.caption))
    return saved, failed


def show(figure: Any) -> Any:
    """Hand a report Figure (made without pyplot) to pyplot, so that a notebook, an interactive
    session or the documentation gallery displays it like any pyplot figure; returns the figure."""
    import matplotlib.pyplot as plt

    manager = plt.figure(figsize=figure.get_size_inches()).canvas.manager
    manager.canvas.figure = figure
    figure.set_canvas(manager.canvas)
    return figure
