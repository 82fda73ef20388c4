"""The particle-size model of the study: active-shell geometry (A), first-discharge CEI formation by
reaction–diffusion (B), later cycles with asymmetric kinetics and fade (C), fitting (D) and the simulated
instrument (E). Design and equations: MODEL.md; physics core on NumPy/SciPy/lmfit only.
"""

from sulfurscope.model.active_volume import (
    RatePrediction,
    ShellFit,
    SizeDistribution,
    active_fraction,
    class_weights,
    cluster_rates,
    electrode_active_fraction,
    fit_rate_law,
    fit_shell_thickness,
    gaussian_distribution,
    histogram_distribution,
    lognormal_distribution,
    measured_distribution,
    predict_rate_capability,
    rate_law_capacity,
    single_size,
)
from sulfurscope.model.cycling import (
    CyclingParameters,
    HalfCycle,
    charge_limited_capacity,
    fade_vulnerable_share,
    simulate_half_cycle,
    sphere_roots,
)
from sulfurscope.model.fit import (
    ModelFit,
    fit_cycling_model,
    fit_formation_model,
    protocol_from_table,
)
from sulfurscope.model.formation import (
    THIN_SHELL_FACTOR,
    FormationParameters,
    FormationResult,
    sharp_front_active_fraction,
    simulate_formation,
)
from sulfurscope.model.predict import SamplePredictions, predict_samples
from sulfurscope.model.protocols import (
    CellModel,
    ProtocolStep,
    StepOutcome,
    gitt_protocol,
    long_cycling_protocol,
    protocol_capacities,
    rate_test_protocol,
    simulate_protocol,
)

__all__ = [
    "CellModel",
    "CyclingParameters",
    "FormationParameters",
    "FormationResult",
    "HalfCycle",
    "ModelFit",
    "ProtocolStep",
    "RatePrediction",
    "SamplePredictions",
    "ShellFit",
    "SizeDistribution",
    "StepOutcome",
    "active_fraction",
    "charge_limited_capacity",
    "class_weights",
    "cluster_rates",
    "electrode_active_fraction",
    "fade_vulnerable_share",
    "fit_cycling_model",
    "fit_formation_model",
    "fit_rate_law",
    "fit_shell_thickness",
    "gaussian_distribution",
    "gitt_protocol",
    "histogram_distribution",
    "lognormal_distribution",
    "long_cycling_protocol",
    "measured_distribution",
    "predict_rate_capability",
    "predict_samples",
    "protocol_capacities",
    "protocol_from_table",
    "rate_law_capacity",
    "rate_test_protocol",
    "sharp_front_active_fraction",
    "THIN_SHELL_FACTOR",
    "simulate_formation",
    "simulate_half_cycle",
    "simulate_protocol",
    "single_size",
    "sphere_roots",
]
