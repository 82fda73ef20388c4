"""The study's active-shell geometry, size distributions and its rate-capability prediction (model A).

Only an outer shell of thickness δ of each carbon/sulfur particle takes part in the reaction, so a particle
of diameter d delivers the fraction

    f(d; δ) = 1 − (1 − 2δ/d)³   for d > 2δ,   else 1          (MODEL.md §A; study Fig. 5b)

of its sulfur. Over a sample the capacity follows the *sulfur volume*, so the electrode's active fraction
is the volume-weighted mean F = Σ n_k d_k³ f_k / Σ n_k d_k³ of a number distribution n (SEM histograms
are number-based; using them unweighted overestimates F for broad distributions).

The study predicts a larger-particle sample from the smallest-particle reference curve with
Q(d, C) = f(d)/f(d_ref) · Q_ref(C). Only F of the sulfur works, so it runs at C/F; the corrected
prediction (``rate_correction=True``) is Q_pred(C) = F/F_ref · Q_ref(C · F_ref/F), with Q_ref
interpolated in log C and extrapolated with model C's closed-form rate law (MODEL.md §A.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special

from sulfurscope.errors import FitError, MissingColumnError, SulfurscopeError
from sulfurscope.units import parse_column

__all__ = [
    "RatePrediction",
    "ShellFit",
    "SizeDistribution",
    "active_fraction",
    "class_weights",
    "cluster_rates",
    "electrode_active_fraction",
    "fit_rate_law",
    "fit_shell_thickness",
    "gaussian_distribution",
    "histogram_distribution",
    "lognormal_distribution",
    "measured_distribution",
    "predict_rate_capability",
    "rate_law_capacity",
    "single_size",
]

Weighting = Literal["number", "area", "volume"]

C_RATE = "C-rate"
DISCHARGE_CAPACITY = "Discharge capacity [mAh/g]"
MEAN_DISCHARGE_CAPACITY = "Mean discharge capacity [mAh/g]"
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


# --- closed-form rate law (model C, MODEL.md §C) used to extrapolate reference curves --------------


def rate_law_capacity(c_rate: Any, *, q_max_mah_g: float, c_star: float, m: float) -> np.ndarray:
    """Closed-form charge-limited rate law Q(C) = q_max [1 − (C/C*)^{1/m}], clipped at 0.

    MODEL.md §C: Q(C) ≈ q_th F [1 − (C/(F C_c*))^{1/m_c}], here with q_max = q_th F and C* = F C_c*.

    Examples
    --------
    >>> float(rate_law_capacity(1.0, q_max_mah_g=1000.0, c_star=256.0, m=8.0))
    500.0
    """
    c = np.asarray(c_rate, dtype=float)
    return q_max_mah_g * np.clip(1.0 - (c / c_star) ** (1.0 / m), 0.0, None)


def fit_rate_law(c_rate: Any, capacity_mah_g: Any, *, m: float | None = None) -> dict[str, float]:
    """Fit :func:`rate_law_capacity` to a measured rate curve (least squares in capacity).

    Returns a dict ``{"q_max_mah_g", "c_star", "m"}``; with ``m`` given it is held fixed (needed when
    fewer than four rates are measured).

    Raises
    ------
    FitError
        When the fit fails or fewer points than free parameters are given.
    """
    c = np.asarray(c_rate, dtype=float)
    q = np.asarray(capacity_mah_g, dtype=float)
    ok = np.isfinite(c) & np.isfinite(q) & (c > 0)
    c, q = c[ok], q[ok]
    n_free = 2 if m is not None else 3
    if c.size < n_free:
        raise FitError(f"rate law: need >= {n_free} rates with finite capacity, got {c.size}")
    q0 = float(q.max()) * 1.3
    if m is None:

        def res(p: np.ndarray) -> np.ndarray:
            return rate_law_capacity(c, q_max_mah_g=p[0], c_star=np.exp(p[1]), m=p[2]) - q

        p0 = np.array([q0, np.log(max(c.max(), 1e-3) * 100), 6.0])
        lb, ub = [1e-6, -20, 0.5], [1e6, 40, 50]
    else:

        def res(p: np.ndarray) -> np.ndarray:
            return rate_law_capacity(c, q_max_mah_g=p[0], c_star=np.exp(p[1]), m=m) - q

        p0 = np.array([q0, np.log(max(c.max(), 1e-3) * 100)])
        lb, ub = [1e-6, -20], [1e6, 40]
    sol = optimize.least_squares(res, p0, bounds=(lb, ub))
    if not sol.success:
        raise FitError(f"rate law fit failed: {sol.message}")
    return {
        "q_max_mah_g": float(sol.x[0]),
        "c_star": float(np.exp(sol.x[1])),
        "m": float(sol.x[2] if m is None else m),
    }


class _ReferenceCurve:
    """Q_ref(C): linear in log C inside the data, the fitted rate law (matched at the ends) outside."""

    def __init__(self, c_rate: np.ndarray, capacity: np.ndarray) -> None:
        order = np.argsort(c_rate)
        self.logc = np.log(c_rate[order])
        self.q = capacity[order]
        self.law = fit_rate_law(c_rate, capacity, m=None if c_rate.size >= 4 else 6.0)

    def __call__(self, c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=float)
        lc = np.log(c)
        out = np.interp(lc, self.logc, self.q)
        law = self.law

        def f(x: np.ndarray | float) -> np.ndarray:
            return rate_law_capacity(x, **law)

        lo, hi = np.exp(self.logc[0]), np.exp(self.logc[-1])
        f_lo, f_hi = float(f(lo)), float(f(hi))
        above = lc > self.logc[-1]
        below = lc < self.logc[0]
        if np.any(above):
            scale = self.q[-1] / f_hi if f_hi > 0 else 0.0
            out = np.where(above, scale * f(c), out)
        if np.any(below):
            scale = self.q[0] / f_lo if f_lo > 0 else 1.0
            out = np.where(below, scale * f(c), out)
        return out


def cluster_rates(c_rate: Any, *, tolerance: float = 0.1) -> np.ndarray:
    """Group measured C-rates that agree within ``tolerance`` in ln C; return each rate's group median.

    Measured C-rates scatter from cycle to cycle (and cell to cell, through the mass); this maps them
    onto common nominal values.

    Examples
    --------
    >>> cluster_rates([0.1, 0.102, 0.4, 0.099, 0.41]).round(3)
    array([0.1  , 0.1  , 0.405, 0.1  , 0.405])
    """
    c = np.asarray(c_rate, dtype=float)
    out = np.full(c.shape, np.nan)
    ok = np.isfinite(c) & (c > 0)
    if not ok.any():
        return out
    order = np.argsort(c[ok])
    lc = np.log(c[ok][order])
    group = np.concatenate([[0], np.cumsum(np.diff(lc) > tolerance)])
    med = np.array([np.median(np.exp(lc[group == g])) for g in range(group[-1] + 1)])
    vals = np.empty(lc.size)
    vals[order] = med[group]
    out[ok] = vals
    return out


def _reference_arrays(reference: Any, capacity_column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(C-rates, capacities) of a reference curve; rate-table blocks / summary rows of cycle 1 (the
    formation discharge) are left out, rates within 10 % are averaged together."""
    if isinstance(reference, pd.DataFrame):
        ref = reference
        if "First cycle" in ref.columns:
            ref = ref[ref["First cycle"] > 1]
        if "Cycle" in ref.columns:
            ref = ref[ref["Cycle"] > 1]
        rate_col = next((k for k in (C_RATE, "Discharge C-rate") if k in ref.columns), None)
        if rate_col is None:
            raise MissingColumnError(
                f"reference: column {C_RATE!r} (or 'Discharge C-rate') missing "
                f"(have {list(reference.columns)})"
            )
        cols = (
            [capacity_column] if capacity_column else [MEAN_DISCHARGE_CAPACITY, DISCHARGE_CAPACITY]
        )
        col = next((cname for cname in cols if cname in ref.columns), None)
        if col is None:
            raise MissingColumnError(
                f"reference: none of {cols} in the table (have {list(reference.columns)})"
            )
        table = ref[[rate_col, col]].dropna()
        groups = cluster_rates(table[rate_col].to_numpy(float))
        agg = pd.DataFrame({"c": groups, "q": table[col].to_numpy(float)}).groupby("c").mean()
        c, q = agg.index.to_numpy(float), agg["q"].to_numpy(float)
    else:
        c, q = (np.asarray(a, dtype=float) for a in reference)
    if c.size < 2 or np.any(c <= 0):
        raise SulfurscopeError(f"reference: need >= 2 positive C-rates, got {c.tolist()}")
    return c, q


@dataclass(frozen=True, slots=True)
class RatePrediction:
    """Predicted rate capability of one sample from a reference sample (study Fig. 5c–e).

    Attributes
    ----------
    c_rate : (M,) ndarray of float
        Nominal C-rates (relative to the total sulfur mass).
    capacity_mah_g : (M,) ndarray of float, mAh/g_S
        Predicted discharge capacity.
    reference_capacity_mah_g : (M,) ndarray of float, mAh/g_S
        The reference curve at the same C-rates (interpolated in log C).
    active_fraction : float
        F of the sample (volume-weighted).
    reference_active_fraction : float
        F of the reference sample.
    shell_um : float
    rate_correction : bool
    weighting : str
    """

    c_rate: np.ndarray
    capacity_mah_g: np.ndarray
    reference_capacity_mah_g: np.ndarray
    active_fraction: float
    reference_active_fraction: float
    shell_um: float
    rate_correction: bool
    weighting: str

    def to_frame(self) -> pd.DataFrame:
        """One row per C-rate."""
        return pd.DataFrame(
            {
                C_RATE: self.c_rate,
                "Predicted discharge capacity [mAh/g]": self.capacity_mah_g,
                "Reference discharge capacity [mAh/g]": self.reference_capacity_mah_g,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Scalars and curves as plain python."""
        return {
            "c_rate": self.c_rate.tolist(),
            "capacity_mah_g": self.capacity_mah_g.tolist(),
            "reference_capacity_mah_g": self.reference_capacity_mah_g.tolist(),
            "active_fraction": self.active_fraction,
            "reference_active_fraction": self.reference_active_fraction,
            "shell_um": self.shell_um,
            "rate_correction": self.rate_correction,
            "weighting": self.weighting,
        }


def predict_rate_capability(
    reference: pd.DataFrame | tuple[Any, Any],
    distribution: SizeDistribution | float,
    *,
    shell_um: float,
    rate_correction: bool = True,
    reference_distribution: SizeDistribution | float = 1.0,
    weighting: Weighting = "volume",
    c_rate: Any = None,
    capacity_column: str | None = None,
) -> RatePrediction:
    """Predict a sample's rate capability from a reference sample's measured curve (MODEL.md §A).

    Parameters
    ----------
    reference : DataFrame or (c_rate, capacity_mah_g)
        The reference (smallest-particle) rate curve: a rate table with ``"C-rate"`` and
        ``"Mean discharge capacity [mAh/g]"`` or ``"Discharge capacity [mAh/g]"`` (several rows per rate
        are averaged), or two arrays.
    distribution : SizeDistribution or float
        The sample to predict (a float is a single diameter in µm).
    shell_um : float, µm
        Active shell thickness δ.
    rate_correction : bool
        Apply the C/F correction: Q = F/F_ref · Q_ref(C F_ref/F). Without it the study's scaling
        Q = F/F_ref · Q_ref(C).
    reference_distribution : SizeDistribution or float
        Size of the reference sample (default a single 1 µm size, the study's reference).
    weighting : {"volume", "area", "number"}
        How classes are averaged into F ("volume" is what capacity follows).
    c_rate : array_like, optional
        Rates to predict at; default the reference's rates.
    capacity_column : str, optional
        Capacity column of a reference table when not one of the defaults.

    Returns
    -------
    RatePrediction

    Examples
    --------
    >>> ref = ([0.1, 0.4], [900.0, 600.0])
    >>> p = predict_rate_capability(ref, 8.0, shell_um=1.0, rate_correction=False)
    >>> p.capacity_mah_g.round(0)
    array([520., 347.])
    """
    c_ref, q_ref = _reference_arrays(reference, capacity_column)
    curve = _ReferenceCurve(c_ref, q_ref)
    big_f = electrode_active_fraction(distribution, shell_um=shell_um, weighting=weighting)
    ref_f = electrode_active_fraction(
        reference_distribution, shell_um=shell_um, weighting=weighting
    )
    c = np.sort(np.unique(c_ref)) if c_rate is None else np.asarray(c_rate, dtype=float)
    if np.any(c <= 0):
        raise SulfurscopeError(f"c_rate: rates must be > 0, got {np.asarray(c).tolist()}")
    scale = big_f / ref_f
    q_at = curve(c)
    q = scale * (curve(c * ref_f / big_f) if rate_correction else q_at)
    return RatePrediction(
        c_rate=c,
        capacity_mah_g=q,
        reference_capacity_mah_g=q_at,
        active_fraction=big_f,
        reference_active_fraction=ref_f,
        shell_um=float(shell_um),
        rate_correction=bool(rate_correction),
        weighting=str(weighting),
    )


@dataclass(frozen=True, slots=True)
class ShellFit:
    """Active shell thickness fitted to measured capacity ratios.

    Attributes
    ----------
    shell_um, shell_stderr_um : float, µm
        δ and its 1σ standard error (from the capacities' stated relative uncertainty when the data
        determine δ exactly, else from the scatter of the residuals).
    n_points : int
        Number of (sample, rate) ratios used.
    rate_correction : bool
    weighting : str
    residuals : (n_points,) ndarray
        Measured − predicted capacity, relative to the measured value.
    success : bool
        Optimiser status.
    message : str
    """

    shell_um: float
    shell_stderr_um: float
    n_points: int
    rate_correction: bool
    weighting: str
    residuals: np.ndarray
    success: bool
    message: str

    def to_frame(self) -> pd.DataFrame:
        """One row: δ, σ(δ), number of ratios."""
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k != "residuals"}])

    def to_dict(self) -> dict[str, Any]:
        """Plain python."""
        return {
            "shell_um": self.shell_um,
            "shell_stderr_um": self.shell_stderr_um,
            "n_points": self.n_points,
            "rate_correction": self.rate_correction,
            "weighting": self.weighting,
            "residuals": self.residuals.tolist(),
            "success": self.success,
            "message": self.message,
        }


def fit_shell_thickness(
    measured: pd.DataFrame,
    distributions: Mapping[str, SizeDistribution | float],
    *,
    reference: str,
    rate_correction: bool = False,
    weighting: Weighting = "volume",
    capacity_column: str = MEAN_DISCHARGE_CAPACITY,
    relative_uncertainty: float = 0.05,
    shell_bounds_um: tuple[float, float] = (1e-3, 20.0),
) -> ShellFit:
    """Fit δ to capacities of several samples relative to a reference sample (MODEL.md §A.3).

    Parameters
    ----------
    measured : DataFrame
        Columns ``"Sample"``, ``"C-rate"`` and ``capacity_column`` (default
        ``"Mean discharge capacity [mAh/g]"``, as in a rate-capability table with a sample column).
    distributions : mapping of sample name to SizeDistribution or diameter (µm)
        Must contain every sample in ``measured`` (and ``reference``).
    reference : str
        The reference sample (its curve is scaled to predict the others).
    rate_correction : bool
        Use the C/F-corrected prediction (:func:`predict_rate_capability`).
    relative_uncertainty : float
        Relative 1σ uncertainty of each measured capacity (sets the error bar on δ).

    Returns
    -------
    ShellFit

    Raises
    ------
    MissingColumnError, SulfurscopeError, FitError

    Examples
    --------
    >>> t = pd.DataFrame({"Sample": ["s", "b"], "C-rate": [0.4, 0.4],
    ...                   "Mean discharge capacity [mAh/g]": [600.0, 300.0]})
    >>> round(fit_shell_thickness(t, {"s": 1.0, "b": 8.0}, reference="s").shell_um, 2)
    0.83
    """
    for col in ("Sample", C_RATE, capacity_column):
        if col not in measured.columns:
            raise MissingColumnError(
                f"measured: column {col!r} missing (have {list(measured.columns)})"
            )
    # rates within 10 % (cycle-to-cycle and cell-to-cell scatter) count as one rate
    clustered = measured.assign(**{C_RATE: cluster_rates(measured[C_RATE].to_numpy(float))})
    table = clustered.groupby(["Sample", C_RATE], as_index=False)[capacity_column].mean()
    missing = set(table["Sample"]) - set(distributions)
    if missing:
        raise SulfurscopeError(f"distributions: no size distribution for samples {sorted(missing)}")
    ref = table[table["Sample"] == reference]
    if len(ref) == 0:
        raise SulfurscopeError(f"reference: sample {reference!r} not in measured table")
    others = table[table["Sample"] != reference]
    if len(others) == 0:
        raise FitError("fit_shell_thickness: no sample other than the reference to fit")
    c_ref = ref[C_RATE].to_numpy(float)
    q_ref = ref[capacity_column].to_numpy(float)
    if c_ref.size < 2 and rate_correction:
        raise FitError("rate_correction needs >= 2 reference rates")
    groups = [
        (distributions[name], g[C_RATE].to_numpy(float), g[capacity_column].to_numpy(float))
        for name, g in others.groupby("Sample")
    ]
    ref_dist = distributions[reference]

    def predict(delta: float) -> np.ndarray:
        out = []
        for dist, c, _ in groups:
            if rate_correction:
                p = predict_rate_capability(
                    (c_ref, q_ref),
                    dist,
                    shell_um=delta,
                    rate_correction=True,
                    reference_distribution=ref_dist,
                    weighting=weighting,
                    c_rate=c,
                )
                out.append(p.capacity_mah_g)
            else:
                f = electrode_active_fraction(dist, shell_um=delta, weighting=weighting)
                fr = electrode_active_fraction(ref_dist, shell_um=delta, weighting=weighting)
                near = np.array([np.argmin(np.abs(np.log(c_ref / ci))) for ci in c])
                if np.any(np.abs(np.log(c_ref[near] / c)) > 0.1):
                    raise SulfurscopeError(
                        "without rate_correction every rate needs a reference value within 10 %"
                    )
                qr = q_ref[near]
                out.append(f / fr * qr)
        return np.concatenate(out)

    q_meas = np.concatenate([q for _, _, q in groups])

    def resid(delta: float) -> np.ndarray:
        return (q_meas - predict(delta)) / (relative_uncertainty * q_meas)

    sol = optimize.least_squares(
        lambda p: resid(p[0]),
        x0=[1.0],
        bounds=([shell_bounds_um[0]], [shell_bounds_um[1]]),
        x_scale=[1.0],
        diff_step=[1e-6],
    )
    if not sol.success:
        raise FitError(f"fit_shell_thickness: optimiser failed: {sol.message}")
    delta = float(sol.x[0])
    jac = sol.jac.ravel()
    jtj = float(jac @ jac)
    if jtj <= 0:
        raise FitError(
            f"fit_shell_thickness: δ not determined by the data (δ = {delta:.3g} µm at a bound?)"
        )
    n = q_meas.size
    chi2 = float(np.sum(sol.fun**2))
    var = 1.0 / jtj * (max(chi2 / (n - 1), 1.0) if n > 1 else 1.0)
    return ShellFit(
        shell_um=delta,
        shell_stderr_um=float(np.sqrt(var)),
        n_points=int(n),
        rate_correction=bool(rate_correction),
        weighting=str(weighting),
        residuals=sol.fun * relative_uncertainty,
        success=bool(sol.success),
        message=str(sol.message),
    )
