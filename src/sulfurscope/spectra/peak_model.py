"""The peak model as plain data: components, their constraints, and the fit results.

:class:`Component` (one line: shape, position, FWHM, area, and how they are tied to other lines —
shared FWHM, position offsets, area ratios, doublets with fixed splitting and ratio),
:class:`PeakModel` (components + background), :class:`PeakFit` and :class:`MonteCarloResult`
(what :func:`sulfurscope.spectra.peaks.fit_peaks` and :func:`~sulfurscope.spectra.peaks.monte_carlo`
return). No user string is ever evaluated: every constraint is a field.

Every component has the same four parameters, whatever its shape:

=================  ===========================================================================
``center``         position of the (first line's) maximum, x units
``area``           total area of the component (both lines of a doublet)
``fwhm``           full width at half maximum of each line, x units (see table below)
``shape_param``    the shape's extra parameter (see table below)
=================  ===========================================================================

==================  ========================================  ==============================
shape               ``shape_param``                           ``fwhm`` maps to
==================  ========================================  ==============================
gaussian            unused                                    σ = FWHM/2.3548
lorentzian          unused                                    σ = FWHM/2
voigt               Lorentzian share η = f_L/(f_L + f_G)      total FWHM (Olivero)
pseudo_voigt        Lorentzian fraction η                     σ = FWHM/2
gl_product          m, % Lorentzian (CasaXPS GL(m))           F
gl_sum              m, % Lorentzian (CasaXPS SGL(m))          F
doniach_sunjic      asymmetry α (tail to higher x)            σ = FWHM/2 (exact for α = 0)
breit_wigner_fano   Fano q                                    σ (resonance FWHM)
==================  ========================================  ==============================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sulfurscope.errors import SulfurscopeError

__all__ = [
    "BACKGROUNDS",
    "Component",
    "MonteCarloResult",
    "PeakFit",
    "PeakModel",
    "SHAPES",
    "components_from_records",
]

Shape = Literal[
    "gaussian",
    "lorentzian",
    "voigt",
    "pseudo_voigt",
    "gl_product",
    "gl_sum",
    "doniach_sunjic",
    "breit_wigner_fano",
]


Background = Literal["none", "constant", "linear", "shirley", "tougaard"]


SHAPES: tuple[str, ...] = (
    "gaussian",
    "lorentzian",
    "voigt",
    "pseudo_voigt",
    "gl_product",
    "gl_sum",
    "doniach_sunjic",
    "breit_wigner_fano",
)


BACKGROUNDS: tuple[str, ...] = ("none", "constant", "linear", "shirley", "tougaard")


_AREA_NORMALISED = {"gaussian", "lorentzian", "voigt", "pseudo_voigt", "gl_product", "gl_sum"}


_SHAPE_BOUNDS = {
    "gaussian": (0.0, 1.0),
    "lorentzian": (0.0, 1.0),
    "voigt": (0.0, 1.0),
    "pseudo_voigt": (0.0, 1.0),
    "gl_product": (0.0, 100.0),
    "gl_sum": (0.0, 100.0),
    "doniach_sunjic": (0.0, 0.5),
    "breit_wigner_fano": (-np.inf, np.inf),
}


_PARAMS = ("center", "area", "fwhm", "shape_param")


Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Component:
    """One peak (or spin–orbit doublet) of a :class:`PeakModel`, as data.

    Parameters
    ----------
    name : str
        Unique name (constraints refer to it).
    center : float
        Starting position, x units (for a doublet: the first, lower-x line, e.g. S 2p3/2).
    fwhm : float
        Starting FWHM, x units.
    area : float or None
        Starting total area; ``None`` guesses it from the data.
    shape : str
        One of :data:`SHAPES`.
    shape_param : float
        The shape's extra parameter (module table).
    center_bounds, fwhm_bounds : (float, float) or None
        Bounds; ``None`` means the data window for the centre and ``(fwhm/5, 5 fwhm)`` for the FWHM.
    vary_center, vary_fwhm, vary_area, vary_shape : bool
        Which parameters are free (``vary_shape`` is off by default).
    splitting : float or None
        Doublet: second line at ``center + splitting`` with the same FWHM and shape.
    branching : float
        Doublet area ratio second/first (S 2p: 1/2 → 0.5).
    fwhm_of : str or None
        Share the FWHM of the named component (CasaXPS "FWHM = B").
    center_of, center_offset : str or None, float
        ``center = center(center_of) + center_offset``.
    area_of, area_ratio : str or None, float
        ``area = area_ratio · area(area_of)``.
    assignment : str
        Free text (chemical assignment) carried into tables.
    """

    name: str
    center: float
    fwhm: float = 1.0
    area: float | None = None
    shape: Shape = "voigt"
    shape_param: float = 0.3
    center_bounds: tuple[float, float] | None = None
    fwhm_bounds: tuple[float, float] | None = None
    vary_center: bool = True
    vary_fwhm: bool = True
    vary_area: bool = True
    vary_shape: bool = False
    splitting: float | None = None
    branching: float = 0.5
    fwhm_of: str | None = None
    center_of: str | None = None
    center_offset: float = 0.0
    area_of: str | None = None
    area_ratio: float = 1.0
    assignment: str = ""

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class PeakModel:
    """Components plus a background, the whole specification of a fit.

    ``background_mode="subtract"`` computes the background from the data first
    (:mod:`~sulfurscope.spectra.backgrounds`, with ``average_points`` end-point averaging);
    ``"model"`` fits it together with the peaks.
    """

    components: tuple[Component, ...]
    background: Background = "shirley"
    background_mode: Literal["subtract", "model"] = "subtract"
    average_points: int = 5
    tougaard_c_ev2: float = 1643.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (components as dicts)."""
        return {
            "components": [c.to_dict() for c in self.components],
            "background": self.background,
            "background_mode": self.background_mode,
            "average_points": self.average_points,
            "tougaard_c_ev2": self.tougaard_c_ev2,
        }


@dataclass(frozen=True, slots=True)
class PeakFit:
    """Result of :func:`fit_peaks`: what reproduces the fit and what it found.

    Per-component arrays have one entry per component (doublets count once; ``area`` is the total).
    ``area`` is the analytic area for area-normalised shapes and the integral over the window for
    ``doniach_sunjic``/``breit_wigner_fano`` (their area diverges).
    """

    model: PeakModel
    x: Array
    y: Array
    sigma: Array | None
    best_fit: Array
    background: Array
    component_curves: Array
    names: tuple[str, ...]
    shapes: tuple[str, ...]
    assignments: tuple[str, ...]
    center: Array
    center_stderr: Array
    area: Array
    area_stderr: Array
    fwhm: Array
    fwhm_stderr: Array
    shape_param: Array
    shape_param_stderr: Array
    height: Array
    background_params: Array
    background_param_names: tuple[str, ...]
    free_names: tuple[str, ...]
    free_values: Array
    free_stderr: Array
    covariance: Array
    initial_values: Array
    success: bool
    message: str
    nfev: int
    chi_square: float
    reduced_chi_square: float
    r_squared: float
    at_bounds: tuple[str, ...] = ()
    #: Correlation matrix of the component areas (from the parameter covariance; empty when unknown).
    area_correlation: Array = field(default_factory=lambda: np.zeros((0, 0)))
    starts: int = 1
    starts_at_best: int = 1
    first_start_excess: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        """One row per component: position, FWHM, area (± 1σ from the covariance), area %."""
        total = float(np.sum(self.area))
        return pd.DataFrame(
            {
                "Component": list(self.names),
                "Shape": list(self.shapes),
                "Assignment": list(self.assignments),
                "Center": self.center,
                "Center stderr": self.center_stderr,
                "FWHM": self.fwhm,
                "FWHM stderr": self.fwhm_stderr,
                "Area": self.area,
                "Area stderr": self.area_stderr,
                "Area [%]": 100.0 * self.area / total if total > 0 else np.nan,
                "Height": self.height,
                "Shape parameter": self.shape_param,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Scalars, the component table (as records) and the fitted free parameters."""
        return {
            "model": self.model.to_dict(),
            "components": self.to_frame().to_dict(orient="records"),
            "free_parameters": dict(zip(self.free_names, self.free_values.tolist(), strict=True)),
            "free_stderr": dict(zip(self.free_names, self.free_stderr.tolist(), strict=True)),
            "background_params": dict(
                zip(self.background_param_names, self.background_params.tolist(), strict=True)
            ),
            "success": self.success,
            "message": self.message,
            "nfev": self.nfev,
            "chi_square": self.chi_square,
            "reduced_chi_square": self.reduced_chi_square,
            "r_squared": self.r_squared,
            "n_points": int(self.x.size),
        }


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    """Spread of refits of noise replicas around the best fit (:func:`monte_carlo`)."""

    names: tuple[str, ...]
    n_replicas: int
    n_failed: int
    noise: str
    center_std: Array
    area_std: Array
    fwhm_std: Array
    area_fraction_std: Array
    free_names: tuple[str, ...]
    free_std: Array
    samples: Array

    def to_frame(self) -> pd.DataFrame:
        """One row per component with the Monte-Carlo standard deviations."""
        return pd.DataFrame(
            {
                "Component": list(self.names),
                "Center MC std": self.center_std,
                "FWHM MC std": self.fwhm_std,
                "Area MC std": self.area_std,
                "Area fraction MC std [%]": 100.0 * self.area_fraction_std,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Scalars and per-component standard deviations."""
        return {
            "n_replicas": self.n_replicas,
            "n_failed": self.n_failed,
            "noise": self.noise,
            "components": self.to_frame().to_dict(orient="records"),
        }


def components_from_records(records: Sequence[Mapping[str, Any]]) -> tuple[Component, ...]:
    """Build components from plain dicts (e.g. rows of a CSV/TOML table); unknown keys are errors."""
    out = []
    allowed = set(Component.__dataclass_fields__)
    for rec in records:
        extra = set(rec) - allowed
        if extra:
            raise SulfurscopeError(
                f"unknown component field(s) {sorted(extra)}; allowed: {sorted(allowed)}"
            )
        out.append(Component(**rec))
    return tuple(out)
