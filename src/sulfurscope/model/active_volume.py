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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from sulfurscope.errors import FitError, MissingColumnError, SulfurscopeError
from sulfurscope.model.sizes import (
    SizeDistribution,
    Weighting,
    active_fraction,
    class_weights,
    electrode_active_fraction,
    gaussian_distribution,
    histogram_distribution,
    lognormal_distribution,
    measured_distribution,
    single_size,
)

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


C_RATE = "C-rate"
DISCHARGE_CAPACITY = "Discharge capacity [mAh/g]"
MEAN_DISCHARGE_CAPACITY = "Mean discharge capacity [mAh/g]"


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


def _shell_fit_data(
    measured: pd.DataFrame, distributions: Mapping[str, Any], reference: str,
    capacity_column: str, rate_correction: bool,
) -> tuple[np.ndarray, np.ndarray, list[tuple[Any, np.ndarray, np.ndarray]]]:
    """The reference curve (rates, capacities) and (distribution, rates, capacities) per other
    sample, rates within 10 % merged (cycle-to-cycle and cell-to-cell scatter)."""
    for col in ("Sample", C_RATE, capacity_column):
        if col not in measured.columns:
            raise MissingColumnError(
                f"measured: column {col!r} missing (have {list(measured.columns)})"
            )
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
    if c_ref.size < 2 and rate_correction:
        raise FitError("rate_correction needs >= 2 reference rates")
    groups = [
        (distributions[name], g[C_RATE].to_numpy(float), g[capacity_column].to_numpy(float))
        for name, g in others.groupby("Sample")
    ]
    return c_ref, ref[capacity_column].to_numpy(float), groups


def _predicted(dist: Any, c: np.ndarray, delta: float, ref_curve: tuple[np.ndarray, np.ndarray],
               ref_dist: Any, rate_correction: bool, weighting: str) -> np.ndarray:
    """Model A's capacity of a sample at rates ``c`` for shell δ, from the reference curve."""
    c_ref, q_ref = ref_curve
    if rate_correction:
        return predict_rate_capability(
            (c_ref, q_ref), dist, shell_um=delta, rate_correction=True,
            reference_distribution=ref_dist, weighting=weighting, c_rate=c,
        ).capacity_mah_g
    f = electrode_active_fraction(dist, shell_um=delta, weighting=weighting)
    fr = electrode_active_fraction(ref_dist, shell_um=delta, weighting=weighting)
    near = np.array([np.argmin(np.abs(np.log(c_ref / ci))) for ci in c])
    if np.any(np.abs(np.log(c_ref[near] / c)) > 0.1):
        raise SulfurscopeError(
            "without rate_correction every rate needs a reference value within 10 %"
        )
    return f / fr * q_ref[near]


#: Fewest residual degrees of freedom from which the capacities' noise is estimated (else stated).
_MIN_DOF = 3


def _t_inflation(dof: int) -> float:
    """(t₀.₉₇₅,ν / z₀.₉₇₅)²: the variance factor that makes ±1.96 SE a Student-t 95 % interval
    when the noise is estimated from ν residual degrees of freedom (1 when it is stated)."""
    if dof < _MIN_DOF:
        return 1.0
    from scipy import stats

    return float((stats.t.ppf(0.975, dof) / stats.norm.ppf(0.975)) ** 2)


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

    The reference curve is measured too: its true capacities ``r_j`` at its m rates are fitted with
    δ (errors in variables), minimising the relative residuals ``(q_ref,j − r_j)/q_ref,j`` and
    ``(q_i − F_s(δ)/F_ref(δ) · r_j(i))/q_i``. The standard error of δ is ``√(cov₀₀ s² (t/z)²)``
    with ``cov = (JᵀJ)⁻¹``, ``s²`` the residuals' mean square over ν = n − m − 1 degrees of freedom
    and ``(t₀.₉₇₅,ν/1.96)²`` making ±1.96 SE a Student-t interval. Coverage on capacities drawn from
    the geometric law with 2 / 5 / 10 % noise: see ``tests/truth/test_shell_fit_coverage.py``.

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
        Relative 1σ uncertainty of each measured capacity, used only when fewer than three residual
        degrees of freedom leave the noise unestimated; otherwise the noise is the residuals' rms.

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
    c_ref, q_ref, groups = _shell_fit_data(measured, distributions, reference, capacity_column,
                                           rate_correction)
    ref_dist = distributions[reference]
    q_meas = np.concatenate([q for _, _, q in groups])
    m = c_ref.size

    def resid(p: np.ndarray) -> np.ndarray:
        # relative residuals of the reference curve (its true values r_j are parameters) and of
        # every other sample's capacities predicted from r at shell δ
        r = q_ref * p[1:]
        pred = np.concatenate([
            _predicted(dist, c, p[0], (c_ref, r), ref_dist, rate_correction, weighting)
            for dist, c, _ in groups
        ])
        return np.concatenate([(q_ref - r) / q_ref, (q_meas - pred) / q_meas])

    sol = optimize.least_squares(
        resid,
        x0=np.r_[1.0, np.ones(m)],
        bounds=(np.r_[shell_bounds_um[0], np.full(m, 0.2)], np.r_[shell_bounds_um[1], np.full(m, 5.0)]),
        x_scale=np.r_[1.0, np.full(m, 0.05)],
        diff_step=1e-6,
    )
    if not sol.success:
        raise FitError(f"fit_shell_thickness: optimiser failed: {sol.message}")
    delta = float(sol.x[0])
    jtj = sol.jac.T @ sol.jac
    n = q_meas.size + m
    dof = n - (m + 1)
    try:
        cov = np.linalg.inv(jtj)
    except np.linalg.LinAlgError:
        cov = np.full_like(jtj, np.nan)
    if not (np.isfinite(cov[0, 0]) and cov[0, 0] > 0):
        raise FitError(
            f"fit_shell_thickness: δ not determined by the data (δ = {delta:.3g} µm at a bound?)"
        )
    # the capacities' relative noise from the residuals when they are redundant enough, else stated
    rel = float(np.sqrt(np.sum(sol.fun**2) / dof)) if dof >= _MIN_DOF else relative_uncertainty
    var = float(cov[0, 0]) * rel**2 * _t_inflation(dof)
    return ShellFit(
        shell_um=delta,
        shell_stderr_um=float(np.sqrt(var)),
        n_points=int(q_meas.size),
        rate_correction=bool(rate_correction),
        weighting=str(weighting),
        residuals=sol.fun[m:],
        success=bool(sol.success),
        message=str(sol.message),
    )
