"""Figures (matplotlib) and the HTML report.

Every figure of the reference study has one function here that takes an analysis's tables (as the
CLI writes them and the study store holds them); :mod:`sulfurscope.report.figures` lists which
figures each analysis draws and saves them, for the CLI and the report alike. The ``plot_*``
functions below draw from core results or plain tables and are what those figure functions call.
Submodules are imported on first use (``sulfurscope.report.plot_voltage_profiles`` works without
importing matplotlib before it is needed).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "save_figure": "_style",
    "plot_dqdv": "cycling",
    "plot_rate_capability": "cycling",
    "plot_retention": "cycling",
    "plot_voltage_profiles": "cycling",
    "plot_eds_maps": "eds",
    "plot_eds_profiles": "eds",
    "plot_core_loss": "eels",
    "plot_fingerprint": "eels",
    "plot_line_scan_profile": "eels",
    "plot_thickness_profile": "eels",
    "plot_active_fraction": "model",
    "plot_first_discharge_comparison": "model",
    "plot_formation_profiles": "model",
    "plot_model_fit": "model",
    "plot_rate_predictions": "model",
    "plot_sample_predictions": "model",
    "plot_voltage_comparison": "model",
    "plot_raman_fit": "raman",
    "plot_raman_line": "raman",
    "plot_raman_spectra": "raman",
    "plot_depth_profile": "xps",
    "plot_xps_curves": "xps",
    "plot_xps_fit": "xps",
    "draw_figures": "figures",
    "save_figures": "figures",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"sulfurscope.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'sulfurscope.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
