"""Replicate cells: conditions, their statistics, outliers, and the sulfur-mass uncertainty carried
into every specific capacity.

Pure functions on DataFrames (core layer): :func:`cell_masses` (GUM product rule),
:func:`cell_metrics` (per-cell metric points from the store tables), :func:`condition_summary`
(n, mean, sd, 95 % interval per condition), :func:`compare_conditions` (differences, Welch),
:func:`cell_flags` (robust outliers, early death, CE anomalies, manifest exclusions).
"""

from sulfurscope.replicates.metrics import CELL_COLUMNS, METRIC_UNITS, VALUE_COLUMNS, cell_metrics
from sulfurscope.replicates.outliers import FLAG_COLUMNS, cell_flags
from sulfurscope.replicates.stats import (
    COMPARISON_COLUMNS,
    STATS_COLUMNS,
    compare_conditions,
    condition_summary,
    robust_z,
)
from sulfurscope.replicates.uncertainty import (
    AREA_U_REL,
    BALANCE_U_MG,
    FRACTION_U,
    MASS_COLUMNS,
    MassUncertainty,
    cell_masses,
    sulfur_mass_uncertainty,
)

__all__ = [
    "AREA_U_REL",
    "BALANCE_U_MG",
    "CELL_COLUMNS",
    "COMPARISON_COLUMNS",
    "FLAG_COLUMNS",
    "FRACTION_U",
    "MASS_COLUMNS",
    "METRIC_UNITS",
    "STATS_COLUMNS",
    "VALUE_COLUMNS",
    "MassUncertainty",
    "cell_flags",
    "cell_masses",
    "cell_metrics",
    "compare_conditions",
    "condition_summary",
    "robust_z",
    "sulfur_mass_uncertainty",
]
