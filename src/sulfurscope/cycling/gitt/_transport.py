"""τ → D with the exact sphere solution, and τ ∝ L^n across sizes (private)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope import _sphere
from sulfurscope.cycling.gitt._common import (
    PULSE_LIMITED_FRACTION,
    PULSE_LIMITED_RATIO,
    plain_dict,
    saturated_tau_reading,
)
from sulfurscope.errors import SulfurscopeError

__all__ = [
    "SphereDiffusivity",
    "TransportScaling",
    "sphere_diffusivity",
    "sphere_relaxation_time",
    "transport_scaling",
]


def _inner_fraction(radius_um: float, shell_um: float | None) -> float:
    if shell_um is None:
        return 0.0
    if not (np.isfinite(shell_um) and shell_um > 0):
        raise SulfurscopeError(f"shell_um must be a positive thickness in µm, got {shell_um!r}")
    return max(0.0, 1.0 - shell_um / radius_um)


def sphere_relaxation_time(
    *, pulse_s: float, radius_um: float, diffusivity_m2_s: float, shell_um: float | None = None
) -> float:
    """The 1 − 1/e relaxation time after a constant-current pulse into a sphere, τ_e = G(t_p D/R²)·R²/D.

    Exact constant-flux sphere solution (MODEL.md, "GITT interpretation"; Crank eq. 6.49):
    g(T) = 3T + 1/5 − 2 Σ exp(−x_n² T)/x_n², tan x_n = x_n, c_s(rest) ∝ g(T) − g(T − T_p).
    τ_e is measured from the end of the pulse. With ``shell_um`` = δ only an outer shell
    R − δ ≤ r ≤ R is active (inert core, no flux at r = R − δ, the study's active shell); its
    response is computed from the modes of a finite-volume shell (checked against the sphere and,
    for thin shells, the slab).

    Examples
    --------
    >>> tau = sphere_relaxation_time(pulse_s=3600.0, radius_um=4.0, diffusivity_m2_s=1e-15)
    >>> round(tau / 3600.0, 3)  # ≈ 0.0222 R²/D / t_p: well below the ~1.38 t_p ceiling
    0.098
    """
    for name, val in (
        ("pulse_s", pulse_s),
        ("radius_um", radius_um),
        ("diffusivity_m2_s", diffusivity_m2_s),
    ):
        if not (np.isfinite(val) and val > 0):
            raise SulfurscopeError(f"{name} must be a positive number, got {val!r}")
    inner = _inner_fraction(radius_um, shell_um)
    r2_over_d = (radius_um * 1e-6) ** 2 / diffusivity_m2_s
    return _sphere.shell_tau_dimless(pulse_s / r2_over_d, inner) * r2_over_d


@dataclass(frozen=True, slots=True)
class SphereDiffusivity:
    """Transport coefficients from τ by inverting the exact sphere map τ = G(t_p D/R²)·R²/D.

    Attributes
    ----------
    tau_s, radius_um, pulse_s : (K,) ndarray of float
        The inputs (broadcast).
    tau_over_pulse : (K,) ndarray of float
    d_m2_s : (K,) ndarray of float, m²/s
        The D that reproduces τ; NaN where τ/t_p is at or above the semi-infinite limit (≈ 1.381),
        where no D does (``pulse_limited`` is then True).
    d_upper_bound_m2_s : (K,) ndarray of float, m²/s
        For pulse-limited points (τ ≥ 1.2 t_p) the D at τ = 1.2 t_p: τ then only says D ≤ this.
        NaN elsewhere.
    pulse_limited : (K,) ndarray of bool
        τ ≥ 1.2 t_p.
    note : str
    """

    tau_s: np.ndarray
    radius_um: np.ndarray
    pulse_s: np.ndarray
    tau_over_pulse: np.ndarray
    d_m2_s: np.ndarray
    d_upper_bound_m2_s: np.ndarray
    pulse_limited: np.ndarray
    note: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Tau [s]": self.tau_s,
                "Radius [um]": self.radius_um,
                "Pulse [s]": self.pulse_s,
                "Tau/pulse": self.tau_over_pulse,
                "D [m2/s]": self.d_m2_s,
                "D upper bound [m2/s]": self.d_upper_bound_m2_s,
                "Pulse limited": self.pulse_limited,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)


_PULSE_LIMIT_NOTE = (
    "{n} of {m} tau are pulse-limited (>= 0.87 of the saturated read-out: 1.2 t_p for a full "
    "relaxation, less when V_inf is the last sample of a finite rest). The 1/e time of a sphere "
    "saturates near 1.38 t_p, so these tau only bound D from above, and a tau ratio between particle "
    "sizes is not by itself proof of L^2 scaling (one D plus pulse-length saturation gives the same "
    "ratio)."
)


def sphere_diffusivity(
    tau_s: np.ndarray | Sequence[float] | float,
    *,
    radius_um: np.ndarray | Sequence[float] | float,
    pulse_s: np.ndarray | Sequence[float] | float,
    shell_um: float | None = None,
) -> SphereDiffusivity:
    """Invert τ = G(t_p D/R²)·R²/D (MODEL.md) for D, flagging pulse-limited τ (τ ≥ 1.2 t_p).

    ``shell_um`` = δ inverts the active-shell (inert core) solution instead of the full sphere.

    τ/t_p = G(T_p)/T_p falls monotonically from ≈ 1.381 (T_p → 0) to 0, so every τ/t_p below 1.381 has
    exactly one D.

    Examples
    --------
    >>> r = sphere_diffusivity(684.0, radius_um=1.0, pulse_s=1000.0)  # τ/t_p = 0.684 ⇔ T_p = 0.01
    >>> round(float(r.d_m2_s[0]) * 1e17, 2)
    1.0
    """
    tau, rad, tp = np.broadcast_arrays(
        np.atleast_1d(np.asarray(tau_s, dtype=float)),
        np.atleast_1d(np.asarray(radius_um, dtype=float)),
        np.atleast_1d(np.asarray(pulse_s, dtype=float)),
    )
    for name, arr in (("tau_s", tau), ("radius_um", rad), ("pulse_s", tp)):
        if not np.all(np.isfinite(arr) & (arr > 0)):
            raise SulfurscopeError(f"{name} must be positive and finite, got {arr.tolist()}")
    ratio = tau / tp
    limit = _sphere.sphere_tau_ratio_limit()
    d = np.full(len(tau), np.nan)
    bound = np.full(len(tau), np.nan)
    r2 = (rad * 1e-6) ** 2
    for j in range(len(tau)):
        inner = _inner_fraction(float(rad[j]), shell_um)
        if ratio[j] < limit * (1 - 1e-3):
            try:
                tpd = _sphere.shell_pulse_dimless_from_ratio(float(ratio[j]), inner)
                d[j] = tpd * r2[j] / tp[j]
            except ValueError:  # at the semi-infinite limit within numerical resolution
                d[j] = np.nan
        if ratio[j] >= PULSE_LIMITED_RATIO:
            tp_at_bound = _sphere.shell_pulse_dimless_from_ratio(PULSE_LIMITED_RATIO, inner)
            bound[j] = tp_at_bound * r2[j] / tp[j]
    limited = ratio >= PULSE_LIMITED_RATIO
    note = _PULSE_LIMIT_NOTE.format(n=int(limited.sum()), m=len(tau)) if limited.any() else ""
    return SphereDiffusivity(
        tau_s=tau.astype(float),
        radius_um=rad.astype(float),
        pulse_s=tp.astype(float),
        tau_over_pulse=ratio,
        d_m2_s=d,
        d_upper_bound_m2_s=bound,
        pulse_limited=limited,
        note=note,
    )


@dataclass(frozen=True, slots=True)
class TransportScaling:
    """Power-law fit τ = a · L^n across particle sizes (n ≈ 2 for diffusion-limited transport).

    Attributes
    ----------
    exponent : float
        n.
    exponent_stderr : float
        Standard error of n (weighted by the τ ranges when given, else from the residual scatter).
    exponent_ci95 : tuple of float
        95 % interval of n (Student t with n_points − 2 degrees of freedom; ±1.96 σ when weighted).
    prefactor_s : float, s
        a: τ at L = 1 µm.
    n_points, n_sizes : int
    size_um, tau_s : (K,) ndarray of float
        The points fitted.
    pulse_limited : (K,) ndarray of bool
        τ ≥ 1.2 t_p (only when ``pulse_s`` was given; else all False).
    diffusivity_l2_m2_s : float, m²/s
        D from the n = 2 fit τ = R²/(x₁² D) with the sphere's slowest mode x₁² ≈ 20.19 and
        R = L/2 (L is the particle diameter). Meaningful only where τ is not pulse-limited.
    note : str
        Caveats (pulse-limited points, too few sizes).
    """

    exponent: float
    exponent_stderr: float
    exponent_ci95: tuple[float, float]
    prefactor_s: float
    n_points: int
    n_sizes: int
    size_um: np.ndarray
    tau_s: np.ndarray
    pulse_limited: np.ndarray
    diffusivity_l2_m2_s: float
    note: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"Size [um]": self.size_um, "Tau [s]": self.tau_s, "Pulse limited": self.pulse_limited}
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def transport_scaling(
    size_um: np.ndarray | Sequence[float],
    tau_s: np.ndarray | Sequence[float],
    *,
    tau_low_s: np.ndarray | Sequence[float] | None = None,
    tau_high_s: np.ndarray | Sequence[float] | None = None,
    pulse_s: np.ndarray | Sequence[float] | float | None = None,
    rest_s: np.ndarray | Sequence[float] | float | None = None,
    v_inf: Literal["last_sample", "fitted"] = "fitted",
) -> TransportScaling:
    """Fit τ ∝ L^n across particle sizes and report n with its uncertainty.

    Least squares of ln τ = ln a + n ln L (several τ per size allowed, e.g. one per step). With
    ``tau_low_s``/``tau_high_s`` the points are weighted by σ(ln τ) = ln(high/low)/4.

    The study argues n ≈ 2 in the first discharge and n ≈ 0 afterwards. A τ ≥ 1.2 t_p is
    pulse-limited (MODEL.md): the 1/e time of a sphere saturates near 1.38 t_p, so such a τ bounds
    the transport time only from below and the fitted n is then not evidence for L² scaling; the
    ``note`` says so. With ``rest_s`` and ``v_inf="last_sample"`` the threshold is the same fraction of
    the saturated reading of that finite rest (:func:`saturated_tau_reading`).

    Raises
    ------
    SulfurscopeError
        Fewer than two distinct sizes, non-positive values, mismatched lengths.

    Examples
    --------
    >>> r = transport_scaling([1.0, 4.0, 8.0], [10.0, 160.0, 640.0])
    >>> round(r.exponent, 6)
    2.0
    """
    size = np.asarray(size_um, dtype=float).ravel()
    tau = np.asarray(tau_s, dtype=float).ravel()
    if size.shape != tau.shape:
        raise SulfurscopeError(f"size_um and tau_s differ in length ({len(size)} vs {len(tau)})")
    keep = np.isfinite(size) & np.isfinite(tau)
    if np.any((size[keep] <= 0) | (tau[keep] <= 0)):
        raise SulfurscopeError("size_um and tau_s must be positive")
    sig, keep = _log_sigma(tau, tau_low_s, tau_high_s, keep)
    size_k, tau_k = size[keep], tau[keep]
    n_sizes = len(np.unique(size_k))
    if n_sizes < 2:
        raise SulfurscopeError(
            f"transport_scaling needs tau for at least two particle sizes, got {n_sizes} "
            f"(sizes {np.unique(size_k).tolist()})"
        )
    x, y = np.log(size_k), np.log(tau_k)
    w = np.ones_like(x) if sig is None else 1.0 / sig[keep] ** 2
    coef, se, q = _weighted_line(x, y, w, weighted=sig is not None)
    limited = np.zeros(len(tau_k), bool)
    notes = []
    if pulse_s is not None:
        tp = np.broadcast_to(np.asarray(pulse_s, dtype=float), tau.shape)[keep]
        rest = (
            None if rest_s is None else np.broadcast_to(np.asarray(rest_s, float), tau.shape)[keep]
        )
        limited = tau_k >= PULSE_LIMITED_FRACTION * saturated_tau_reading(tp, rest, v_inf=v_inf)
        if limited.any():
            notes.append(_PULSE_LIMIT_NOTE.format(n=int(limited.sum()), m=len(tau_k)))
    if n_sizes == 2 and sig is None:
        notes.append("two sizes only: n is exact through two points and has no uncertainty")
    # n = 2 fit with the sphere's slowest mode: tau = R^2 / (x1^2 D), R = L/2
    c2 = float(np.exp(np.sum(w * (y - 2 * x)) / np.sum(w)))  # tau = c2 L^2 (L in µm)
    n_exp = float(coef[1])
    return TransportScaling(
        exponent=n_exp,
        exponent_stderr=se,
        exponent_ci95=(n_exp - q * se, n_exp + q * se),
        prefactor_s=float(np.exp(coef[0])),
        n_points=len(x),
        n_sizes=n_sizes,
        size_um=size_k,
        tau_s=tau_k,
        pulse_limited=limited,
        diffusivity_l2_m2_s=1e-12 / (4.0 * float(_sphere._ROOTS_SQ[0]) * c2),
        note=" ".join(notes),
    )


def _log_sigma(
    tau: np.ndarray, low: Any, high: Any, keep: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray]:
    """σ(ln τ) = ln(high/low)/4 from a τ range (None without one) and the points that have it."""
    if (low is None) != (high is None):
        raise SulfurscopeError("give both tau_low_s and tau_high_s, or neither")
    if low is None:
        return None, keep
    lo = np.asarray(low, dtype=float).ravel()
    hi = np.asarray(high, dtype=float).ravel()
    if lo.shape != tau.shape or hi.shape != tau.shape:
        raise SulfurscopeError("tau_low_s/tau_high_s must have the length of tau_s")
    keep = keep & np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (hi > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.maximum(np.log(hi / lo) / 4.0, 1e-6), keep


def _weighted_line(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, *, weighted: bool
) -> tuple[np.ndarray, float, float]:
    """Weighted least squares y = a + n x: coefficients, standard error of n and the 95 % factor
    (Student t with len − 2 degrees of freedom from the scatter; 1.96 with known weights)."""
    from scipy import stats

    a_mat = np.column_stack([np.ones_like(x), x]) * np.sqrt(w)[:, None]
    yw = y * np.sqrt(w)
    coef, *_ = np.linalg.lstsq(a_mat, yw, rcond=None)
    cov = np.linalg.inv(a_mat.T @ a_mat)
    if weighted:
        return coef, float(np.sqrt(cov[1, 1])), 1.96
    dof = len(x) - 2
    if dof <= 0:
        return coef, float("nan"), float("nan")
    resid = yw - a_mat @ coef
    s2 = float(resid @ resid) / dof
    return coef, float(np.sqrt(cov[1, 1] * s2)), float(stats.t.ppf(0.975, dof))
