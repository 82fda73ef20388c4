"""Exact constant-flux diffusion in a sphere: the 1/e relaxation time after a GITT pulse.

Private helpers of :mod:`sulfurscope.cycling.gitt` (MODEL.md, "GITT interpretation").

A sphere of radius R receives a constant flux during a pulse of length t_p and none afterwards. In
dimensionless time T = t D / R², the surface concentration under constant flux from a uniform start is
(Crank, *The Mathematics of Diffusion*, 2nd ed., eq. 6.49 at r = R)

    g(T) = 3T + 1/5 − 2 Σ_n exp(−x_n² T) / x_n²,   tan x_n = x_n (x_1 = 4.4934…),

and during the rest that follows (superposition) c_s ∝ g(T) − g(T − T_p). The surface relaxes from
g(T_p) to the mean 3 T_p; the time after the pulse end at which 1 − 1/e of that relaxation is done is
τ_e = G(T_p) · R²/D. The series is summed over the first ``_N_ROOTS`` roots and its tail is replaced by
the integral with roots spaced π apart (midpoint rule), which keeps g exact to ~1e-9 down to T → 0
(g(T) → 2√(T/π) there).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfc

_N_ROOTS = 400
_ONE_MINUS_INV_E = 1.0 - np.exp(-1.0)


def _tan_roots(n: int) -> np.ndarray:
    """The first n positive roots of tan x = x (fixed-point x = kπ + arctan x)."""
    k = np.arange(1, n + 1, dtype=float)
    x = (k + 0.5) * np.pi - 1e-3
    for _ in range(60):
        x = k * np.pi + np.arctan(x)
    return x


_ROOTS = _tan_roots(_N_ROOTS)
_ROOTS_SQ = _ROOTS**2
_X_TAIL = _ROOTS[-1] + 0.5 * np.pi


def sphere_g(t_dimless: np.ndarray | float) -> np.ndarray:
    """Surface concentration g(T) of a sphere under unit constant flux (MODEL.md; Crank eq. 6.49).

    Examples
    --------
    >>> float(sphere_g(0.0))
    0.0
    >>> round(float(sphere_g(1.0)), 6)  # 3T + 1/5 once the transient has died out
    3.2
    """
    t = np.atleast_1d(np.asarray(t_dimless, dtype=float))
    tt = np.clip(t, 0.0, None)
    s = np.exp(-np.multiply.outer(tt, _ROOTS_SQ)) / _ROOTS_SQ
    series = s.sum(axis=-1)
    rt = np.sqrt(tt)
    tail = (np.exp(-tt * _X_TAIL**2) / _X_TAIL - np.sqrt(np.pi * tt) * erfc(_X_TAIL * rt)) / np.pi
    out = 3.0 * tt + 0.2 - 2.0 * (series + tail)
    out = np.where(tt > 0, out, 0.0)
    return out if np.ndim(t_dimless) else out[0]


def sphere_relaxation_fraction(t_after_dimless: np.ndarray, pulse_dimless: float) -> np.ndarray:
    """Fraction of the post-pulse surface relaxation done at T_after = (t − t_p) D/R² ≥ 0."""
    tp = float(pulse_dimless)
    g_end = float(sphere_g(tp))
    ta = np.asarray(t_after_dimless, dtype=float)
    surface = sphere_g(tp + ta) - sphere_g(ta)
    return (g_end - surface) / (g_end - 3.0 * tp)


def sphere_tau_dimless(pulse_dimless: float) -> float:
    """G(T_p) = τ_e D / R²: the 1 − 1/e relaxation time after a pulse of dimensionless length T_p.

    Examples
    --------
    >>> round(sphere_tau_dimless(1e-2), 5)
    0.00684
    """
    tp = float(pulse_dimless)
    if not tp > 0:
        raise ValueError(f"pulse_dimless must be > 0, got {pulse_dimless!r}")
    g_end = float(sphere_g(tp))
    target = g_end - _ONE_MINUS_INV_E * (g_end - 3.0 * tp)

    def f(ta: float) -> float:
        return float(sphere_g(tp + ta) - sphere_g(ta)) - target

    hi = 1.0
    while f(hi) > 0:  # pragma: no cover - G saturates at 0.0222 < 1
        hi *= 2.0
    return float(brentq(f, 0.0, hi, xtol=1e-15, rtol=1e-12))


def sphere_tau_ratio_limit() -> float:
    """lim τ_e/t_p for T_p → 0 (semi-infinite medium): √(1+x) − √x = 1/e → 1 + x… ≈ 1.379."""
    a = (np.e**2 - 1.0) / (2.0 * np.e)  # √x from √(1+x) + √x = e
    return float(a * a)


def sphere_pulse_dimless_from_ratio(ratio: float) -> float:
    """Invert ρ(T_p) = G(T_p)/T_p = τ/t_p for T_p (ρ falls monotonically from ≈1.38 to 0)."""

    def f(log_tp: float) -> float:
        tp = np.exp(log_tp)
        return sphere_tau_dimless(tp) / tp - ratio

    lo, hi = np.log(1e-9), np.log(1e4)
    if not f(lo) > 0:
        raise ValueError(f"tau/t_p = {ratio:.4g} is at or above the semi-infinite limit")
    if f(hi) > 0:
        raise ValueError(f"tau/t_p = {ratio:.4g} is below the resolvable range")
    return float(np.exp(brentq(f, lo, hi, xtol=1e-10)))
