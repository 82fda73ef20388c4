"""Particle-size distributions and the active fraction of the study's shell geometry (MODEL.md §A).

A particle of diameter d delivers the fraction f(d; δ) = 1 − (1 − 2δ/d)³ for d > 2δ, else 1
(:func:`active_fraction`; study Fig. 5b). A sample is a number distribution over size classes
(:class:`SizeDistribution`: one size, Gaussian, log-normal, measured or a histogram); its electrode
active fraction is the volume-weighted mean F = Σ n_k d_k³ f_k / Σ n_k d_k³
(:func:`electrode_active_fraction`; :func:`class_weights` gives the number, area or volume weights)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from sulfurscope.errors import MissingColumnError, SulfurscopeError
from sulfurscope.units import parse_column

__all__ = [
    "DIAMETER",
    "SizeDistribution",
    "active_fraction",
    "class_weights",
    "electrode_active_fraction",
    "gaussian_distribution",
    "histogram_distribution",
    "lognormal_distribution",
    "measured_distribution",
    "single_size",
]

Weighting = Literal["number", "area", "volume"]


DIAMETER = "Diameter [um]"


_LENGTH_TO_UM = {"nm": 1e-3, "um": 1.0, "µm": 1.0, "mm": 1e3}


def active_fraction(d_um: Any, *, shell_um: float) -> np.ndarray:
    """Active (outer-shell) volume fraction of spheres of diameter ``d_um``.

    Parameters
    ----------
    d_um : float or array_like of float, µm
        Particle diameters (> 0).
    shell_um : float, µm
        Active shell thickness δ (>= 0).

    Returns
    -------
    ndarray of float
        f = 1 − (1 − 2δ/d)³ where d > 2δ, else 1 (study Fig. 5b; MODEL.md §A). Same shape as ``d_um``.

    Raises
    ------
    SulfurscopeError
        When a diameter is not positive or the shell is negative.

    Examples
    --------
    >>> active_fraction([8.0, 4.0, 1.0, 15.0], shell_um=1.0).round(3)
    array([0.578, 0.875, 1.   , 0.349])
    """
    d = np.asarray(d_um, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise SulfurscopeError(f"d_um: diameters must be finite and > 0, got min {np.min(d)!r}")
    if not np.isfinite(shell_um) or shell_um < 0:
        raise SulfurscopeError(f"shell_um: expected a finite thickness >= 0 µm, got {shell_um!r}")
    core = np.clip(1.0 - 2.0 * shell_um / d, 0.0, 1.0)
    return 1.0 - core**3


@dataclass(frozen=True, slots=True)
class SizeDistribution:
    """A particle-size distribution as discrete classes with *number* fractions.

    Attributes
    ----------
    diameter_um : (K,) ndarray of float, µm
        Class diameters (ascending).
    number_fraction : (K,) ndarray of float
        Number fraction of particles in each class (sums to 1).
    kind : str
        ``"single"``, ``"gaussian"``, ``"lognormal"``, ``"measured"`` or ``"histogram"``.
    parameters : dict
        What built it (mean/sd in µm, class count, source column ...).
    """

    diameter_um: np.ndarray
    number_fraction: np.ndarray
    kind: str
    parameters: dict

    def to_frame(self) -> pd.DataFrame:
        """Classes as a table: diameter and number, area and volume fractions."""
        return pd.DataFrame(
            {
                DIAMETER: self.diameter_um,
                "Number fraction": self.number_fraction,
                "Area fraction": class_weights(self, weighting="area"),
                "Volume fraction": class_weights(self, weighting="volume"),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-python description (lists, no arrays)."""
        return {
            "kind": self.kind,
            "parameters": dict(self.parameters),
            "diameter_um": self.diameter_um.tolist(),
            "number_fraction": self.number_fraction.tolist(),
        }


def _make(d: np.ndarray, n: np.ndarray, kind: str, parameters: dict) -> SizeDistribution:
    d = np.asarray(d, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    d, n = d[keep], n[keep]
    if d.size == 0 or np.any(d <= 0) or not np.all(np.isfinite(d)):
        raise SulfurscopeError(f"{kind} distribution: no class with positive diameter and weight")
    order = np.argsort(d)
    return SizeDistribution(d[order], n[order] / n.sum(), kind, parameters)


def single_size(d_um: float) -> SizeDistribution:
    """One particle size (the study's own assumption).

    Examples
    --------
    >>> single_size(8.0).diameter_um
    array([8.])
    """
    if not np.isfinite(d_um) or d_um <= 0:
        raise SulfurscopeError(f"d_um: expected a diameter > 0 µm, got {d_um!r}")
    return _make(np.array([d_um]), np.array([1.0]), "single", {"d_um": float(d_um)})


def _check_mean_sd(mean_um: float, sd_um: float, n_classes: int) -> None:
    if not (np.isfinite(mean_um) and mean_um > 0):
        raise SulfurscopeError(f"mean_um: expected > 0 µm, got {mean_um!r}")
    if not (np.isfinite(sd_um) and sd_um >= 0):
        raise SulfurscopeError(f"sd_um: expected >= 0 µm, got {sd_um!r}")
    if n_classes < 1:
        raise SulfurscopeError(f"n_classes: expected >= 1, got {n_classes!r}")


def gaussian_distribution(mean_um: float, sd_um: float, *, n_classes: int = 40) -> SizeDistribution:
    """Gaussian number distribution of diameters truncated at 0 (``mean_um``, ``sd_um`` of the parent).

    Classes are equal-width bins over [max(0, µ − 4σ), µ + 4σ]; each class carries the exact
    probability mass of its bin (CDF differences) at the bin's number-mean diameter.

    Examples
    --------
    >>> g = gaussian_distribution(8.0, 4.0)
    >>> round(electrode_active_fraction(g, shell_um=1.0), 2)
    0.44
    """
    _check_mean_sd(mean_um, sd_um, n_classes)
    if sd_um == 0:
        return _make(
            np.array([mean_um]), np.array([1.0]), "gaussian", {"mean_um": mean_um, "sd_um": 0.0}
        )
    lo, hi = max(1e-3 * mean_um, mean_um - 4 * sd_um), mean_um + 4 * sd_um
    edges = np.linspace(lo, hi, n_classes + 1)
    z = (edges - mean_um) / sd_um
    mass = np.diff(special.ndtr(z))
    pdf = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    # number-mean diameter in each bin: µ + σ (φ(a) − φ(b)) / (Φ(b) − Φ(a))
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = mean_um + sd_um * (pdf[:-1] - pdf[1:]) / mass
    centre = np.where(mass > 1e-300, centre, 0.5 * (edges[:-1] + edges[1:]))
    params = {"mean_um": float(mean_um), "sd_um": float(sd_um), "n_classes": int(n_classes)}
    return _make(centre, mass, "gaussian", params)


def lognormal_distribution(
    mean_um: float, sd_um: float, *, n_classes: int = 40
) -> SizeDistribution:
    """Log-normal number distribution with arithmetic mean ``mean_um`` and standard deviation ``sd_um``.

    The log-space parameters follow from s² = ln(1 + (sd/mean)²), µ = ln(mean) − s²/2; classes are
    equal-width bins in ln d over µ ± 4s with exact CDF masses.

    Examples
    --------
    >>> ln = lognormal_distribution(8.0, 4.0)
    >>> round(electrode_active_fraction(ln, shell_um=1.0), 2)  # MODEL.md: ≈ 0.40
    0.39
    """
    _check_mean_sd(mean_um, sd_um, n_classes)
    if sd_um == 0:
        return _make(
            np.array([mean_um]), np.array([1.0]), "lognormal", {"mean_um": mean_um, "sd_um": 0.0}
        )
    s = np.sqrt(np.log1p((sd_um / mean_um) ** 2))
    mu = np.log(mean_um) - 0.5 * s**2
    edges = np.linspace(mu - 4 * s, mu + 4 * s, n_classes + 1)
    mass = np.diff(special.ndtr((edges - mu) / s))
    centre = np.exp(0.5 * (edges[:-1] + edges[1:]))
    params = {"mean_um": float(mean_um), "sd_um": float(sd_um), "n_classes": int(n_classes)}
    return _make(centre, mass, "lognormal", params)


def measured_distribution(
    particles: pd.DataFrame | Sequence[float] | np.ndarray,
    *,
    column: str = DIAMETER,
    bins: int | None = None,
) -> SizeDistribution:
    """Number distribution from a measured particle list (e.g. the SEM particle table).

    Parameters
    ----------
    particles : DataFrame or (N,) array_like of float, µm
        One row per particle; a DataFrame must have ``column``.
    column : str
        Diameter column of a DataFrame, e.g. the microscopy table's ``"Equivalent diameter [nm]"``;
        its unit (nm, um/µm, mm) is converted to µm.
    bins : int, optional
        Group into this many equal-width classes; ``None`` keeps every particle as its own class.

    Raises
    ------
    MissingColumnError
        When ``column`` is not in the table.
    SulfurscopeError
        When no finite positive diameter is left.

    Examples
    --------
    >>> measured_distribution([1.0, 2.0, 2.0]).number_fraction.round(3)
    array([0.333, 0.333, 0.333])
    """
    if isinstance(particles, pd.DataFrame):
        if column not in particles.columns:
            raise MissingColumnError(
                f"particle table: column {column!r} missing (have {list(particles.columns)}); "
                "pass column= to name the diameter column"
            )
        _, unit = parse_column(column)
        factor = _LENGTH_TO_UM.get(unit or "um")
        if factor is None:
            raise SulfurscopeError(
                f"particle table: column {column!r} has unit {unit!r}; expected one of "
                f"{sorted(_LENGTH_TO_UM)}"
            )
        d = particles[column].to_numpy(dtype=float) * factor
    else:
        d = np.asarray(particles, dtype=float).ravel()
    d = d[np.isfinite(d) & (d > 0)]
    if d.size == 0:
        raise SulfurscopeError("particles: no finite diameter > 0 µm")
    params: dict[str, Any] = {"n_particles": int(d.size), "column": column}
    if bins is None:
        return _make(d, np.ones_like(d), "measured", params)
    counts, edges = np.histogram(d, bins=bins)
    # keep the exact d³ moment of each bin: place the class at the bin's cube-mean diameter
    idx = np.clip(np.digitize(d, edges[1:-1]), 0, bins - 1)
    d3 = np.bincount(idx, weights=d**3, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.cbrt(d3 / counts)
    params["bins"] = int(bins)
    return _make(np.where(counts > 0, centre, 1.0), counts.astype(float), "measured", params)


def histogram_distribution(edges_um: Any, counts: Any) -> SizeDistribution:
    """Number distribution from a histogram (bin edges in µm, particle counts per bin).

    Each bin is one class at its centre diameter.

    Examples
    --------
    >>> histogram_distribution([0, 2, 4], [1, 3]).diameter_um
    array([1., 3.])
    """
    e = np.asarray(edges_um, dtype=float)
    c = np.asarray(counts, dtype=float)
    if e.ndim != 1 or c.ndim != 1 or e.size != c.size + 1:
        raise SulfurscopeError(
            f"histogram: need len(edges_um) == len(counts) + 1, got {e.size} edges and {c.size} counts"
        )
    if np.any(np.diff(e) <= 0) or np.any(c < 0):
        raise SulfurscopeError("histogram: edges must increase and counts must be >= 0")
    return _make(0.5 * (e[:-1] + e[1:]), c, "histogram", {"edges_um": e.tolist()})


def class_weights(distribution: SizeDistribution, *, weighting: Weighting = "volume") -> np.ndarray:
    """Class weights of a number distribution by number, surface area (d²) or volume (d³).

    Capacity follows the sulfur volume: use ``"volume"`` for anything that predicts capacity.

    Examples
    --------
    >>> dist = histogram_distribution([0, 2, 4], [1, 1])
    >>> class_weights(dist, weighting="volume").round(3)
    array([0.036, 0.964])
    """
    power = {"number": 0, "area": 2, "volume": 3}
    if weighting not in power:
        raise SulfurscopeError(
            f"weighting: expected 'number', 'area' or 'volume', got {weighting!r}"
        )
    w = distribution.number_fraction * distribution.diameter_um ** power[weighting]
    return w / w.sum()


def _as_distribution(distribution: SizeDistribution | float) -> SizeDistribution:
    if isinstance(distribution, SizeDistribution):
        return distribution
    return single_size(float(distribution))


def electrode_active_fraction(
    distribution: SizeDistribution | float,
    *,
    shell_um: float,
    weighting: Weighting = "volume",
) -> float:
    """Active fraction F of a sample: the ``weighting``-weighted mean of f over its classes.

    F = Σ n_k d_k³ f(d_k) / Σ n_k d_k³ for volume weighting (MODEL.md §A.1).

    Examples
    --------
    >>> round(electrode_active_fraction(8.0, shell_um=1.0), 3)
    0.578
    """
    dist = _as_distribution(distribution)
    w = class_weights(dist, weighting=weighting)
    return float(np.sum(w * active_fraction(dist.diameter_um, shell_um=shell_um)))
