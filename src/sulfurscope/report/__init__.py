"""Figures (matplotlib) and the report: functions that take results and return Figures."""

from sulfurscope.report._style import save_figure
from sulfurscope.report.cycling import (
    plot_dqdv,
    plot_rate_capability,
    plot_retention,
    plot_voltage_profiles,
)

__all__ = [
    "plot_dqdv",
    "plot_rate_capability",
    "plot_retention",
    "plot_voltage_profiles",
    "save_figure",
]
