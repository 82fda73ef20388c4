"""Figures (matplotlib) and the report: functions that take results and return Figures."""

from sulfurscope.report._style import save_figure
from sulfurscope.report.cycling import (
    plot_dqdv,
    plot_rate_capability,
    plot_retention,
    plot_voltage_profiles,
)
from sulfurscope.report.eds import (
    plot_eds_maps,
    plot_eds_profiles,
)
from sulfurscope.report.eels import (
    plot_core_loss,
    plot_fingerprint,
    plot_line_scan_profile,
    plot_thickness_profile,
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
from sulfurscope.report.raman import (
    plot_raman_fit,
    plot_raman_line,
    plot_raman_spectra,
)
from sulfurscope.report.xps import plot_depth_profile, plot_xps_curves, plot_xps_fit

__all__ = [
    "plot_active_fraction",
    "plot_core_loss",
    "plot_depth_profile",
    "plot_dqdv",
    "plot_eds_maps",
    "plot_eds_profiles",
    "plot_fingerprint",
    "plot_first_discharge_comparison",
    "plot_formation_profiles",
    "plot_gitt_voltage",
    "plot_line_scan_profile",
    "plot_model_fit",
    "plot_raman_fit",
    "plot_raman_line",
    "plot_raman_spectra",
    "plot_rate_capability",
    "plot_rate_predictions",
    "plot_relaxation_curves",
    "plot_relaxation_times",
    "plot_retention",
    "plot_sample_predictions",
    "plot_thickness_profile",
    "plot_voltage_comparison",
    "plot_voltage_profiles",
    "plot_xps_curves",
    "plot_xps_fit",
    "save_figure",
]
