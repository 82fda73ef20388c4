"""Galvanostatic cycling analysis: cell and sulfur mass, cycles, capacities, rate capability,
retention, voltage profiles and dQ/dV, GITT.

Every function takes the canonical cycler table (see :mod:`sulfurscope.io`) or a result of another
function here and returns a frozen result dataclass.
"""

from sulfurscope.cycling.cell import (
    DISC_AREA_13MM_CM2,
    Cell,
    make_cell,
    one_c_current_ma,
    require_sulfur_mass,
)
from sulfurscope.cycling.cycles import (
    CycleSummary,
    HalfCycles,
    cycle_summary,
    half_cycles,
    label_cycles,
)
from sulfurscope.cycling.gitt import (
    DiffusionCoefficients,
    DiffusivityFit,
    GittSteps,
    RelaxationCurves,
    RelaxationFits,
    RelaxationTimes,
    SphereDiffusivity,
    TransportScaling,
    diffusion_coefficients,
    fit_sphere_diffusivity,
    gitt_steps,
    relaxation_curves,
    relaxation_fits,
    relaxation_times,
    saturated_tau_reading,
    sphere_diffusivity,
    sphere_relaxation_time,
    transport_scaling,
)
from sulfurscope.cycling.profiles import DQDV, VoltageProfiles, dqdv, voltage_profiles
from sulfurscope.cycling.rate import (
    AsymmetricRates,
    RateCapability,
    asymmetric_rates,
    c_rate_label,
    rate_capability,
)
from sulfurscope.cycling.retention import Retention, early_fade, retention

__all__ = [
    "DiffusionCoefficients",
    "GittSteps",
    "RelaxationCurves",
    "RelaxationFits",
    "RelaxationTimes",
    "DiffusivityFit",
    "SphereDiffusivity",
    "TransportScaling",
    "diffusion_coefficients",
    "gitt_steps",
    "relaxation_curves",
    "relaxation_fits",
    "relaxation_times",
    "fit_sphere_diffusivity",
    "sphere_diffusivity",
    "sphere_relaxation_time",
    "transport_scaling",
    "DISC_AREA_13MM_CM2",
    "DQDV",
    "AsymmetricRates",
    "Cell",
    "CycleSummary",
    "HalfCycles",
    "RateCapability",
    "Retention",
    "VoltageProfiles",
    "asymmetric_rates",
    "c_rate_label",
    "cycle_summary",
    "dqdv",
    "early_fade",
    "half_cycles",
    "label_cycles",
    "make_cell",
    "one_c_current_ma",
    "rate_capability",
    "require_sulfur_mass",
    "retention",
    "saturated_tau_reading",
    "voltage_profiles",
]
