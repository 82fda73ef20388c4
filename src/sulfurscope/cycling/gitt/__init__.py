"""GITT and relaxation analysis: pulses and rests, overpotentials, relaxation times and transport.

The reference study (Fig. 2, Fig. S4) cycles at C/10 with a 2 h open-circuit rest after every
100 mAh/g_S and reads a relaxation time τ from each rest: the time at which the normalised rest curve has
done 1 − 1/e (63.2 %) of its relaxation (shown as 1 − 1/e on discharge and 1/e on charge in the paper,
whose normalised voltage falls on charge). This module finds the pulses and rests in the canonical
cycler table whatever wrote it, measures every per-step voltage the paper uses, reads τ by log-time
interpolation with an explicit reference point V0, fits exponential alternatives, estimates chemical
diffusion coefficients (Weppner–Huggins) and maps τ to a transport coefficient with the exact sphere
solution of MODEL.md ("GITT interpretation").

Sign convention (canonical table): positive current = charge = delithiation; negative = discharge =
lithiation.
"""

from sulfurscope.cycling.gitt._common import (
    PULSE_LIMITED_FRACTION,
    PULSE_LIMITED_RATIO,
    saturated_tau_reading,
)
from sulfurscope.cycling.gitt._fits import (
    DiffusionCoefficients,
    RelaxationFits,
    diffusion_coefficients,
    relaxation_fits,
)
from sulfurscope.cycling.gitt._relax import (
    RelaxationCurves,
    RelaxationTimes,
    relaxation_curves,
    relaxation_times,
)
from sulfurscope.cycling.gitt._steps import GittSteps, gitt_steps
from sulfurscope.cycling.gitt._transport import (
    DiffusivityFit,
    SphereDiffusivity,
    TransportScaling,
    fit_sphere_diffusivity,
    sphere_diffusivity,
    sphere_relaxation_time,
    transport_scaling,
)

__all__ = [
    "PULSE_LIMITED_FRACTION",
    "PULSE_LIMITED_RATIO",
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
    "saturated_tau_reading",
    "fit_sphere_diffusivity",
    "sphere_diffusivity",
    "sphere_relaxation_time",
    "transport_scaling",
]
