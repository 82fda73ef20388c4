"""Figures (matplotlib) and the report: functions that take results and return Figures."""

from sulfurscope.report._style import save_figure
from sulfurscope.report.cycling import (
    plot_dqdv,
    plot_rate_capability,
    plot_retention,
    plot_voltage_profiles,
)
from sulfurscope.report.gitt import plot_gitt_voltage, plot_relaxation_curves, plot_relaxation_times
from sulfurscope.report.model import (
    plot_active_fraction,
    plot_first_discharge_comparison,
    plot_formation_profiles,
    plot_model_fit,
    plot_rate_predictions,
    plot_sample_predictions,
    plot_voltage_comparison,
)

__all__ = [
    "plot_active_fraction",
    "plot_dqdv",
    "plot_first_discharge_comparison",
    "plot_formation_profiles",
    "plot_gitt_voltage",
    "plot_model_fit",
    "plot_rate_capability",
    "plot_rate_predictions",
    "plot_relaxation_curves",
    "plot_relaxation_times",
    "plot_retention",
    "plot_sample_predictions",
    "plot_voltage_comparison",
    "plot_voltage_profiles",
    "save_figure",
]
