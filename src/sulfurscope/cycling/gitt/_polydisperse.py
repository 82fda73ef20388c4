"""GITT transport of an electrode of many particle sizes: the relaxation of a size distribution.

A real powder is not one sphere. With the particles of class k (diameter d_k = 2R_k, volume fraction
φ_k) lithiated at the same rate per volume q during a pulse, class k's surface concentration above its
mean is (q R_k²/3D)·[g(T_k) − 3T_k] (constant-flux sphere, MODEL.md "GITT interpretation"; Crank
eq. 6.49) with T_k = t D/R_k². The rest signal read from the voltage is the volume-weighted surface
concentration,

    S(t_a) = Σ_k φ_k R_k² [g((t_p + t_a) D/R_k²) − g(t_a D/R_k²)],     t_a = time after the pulse end,

whose asymptote 3 t_p D is common to every class (the mean lithiation is). τ is read from S exactly as
from one sphere (V0 at the first rest sample, V∞ at the rest's last sample or the asymptote), and D is
found by inverting that map.

Why it matters: large particles relax slowly *and* carry the largest surface excess (∝ R²), so the
mixture's τ is longer than that of a sphere of the mean size. Read with the mean radius, D comes out
low: by 0.62× for a Gaussian spread sd/d = 0.3 and 0.41× for sd/d = 0.5 (1 µm particles,
D = 2·10⁻¹⁷ m²/s, a 2153 s pulse and a 2 h rest); less where τ nears its pulse-length saturation.
The assumption stated: every class lithiates at the same rate per volume and the voltage follows the
volume-weighted surface state (the common-potential multi-particle picture at small overpotential).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sulfurscope._sphere import _brentq, sphere_g
from sulfurscope.errors import SulfurscopeError

__all__ = [
    "PolydisperseFit",
    "fit_polydisperse_diffusivity",
    "mixture_read_tau_s",
    "polydisperse_diffusivity",
]

_ONE_MINUS_INV_E = 1.0 - math.exp(-1.0)


def _classes(diameters_um: Sequence[float] | np.ndarray,
             weights: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R² in m², volume fractions) of the classes with positive weight."""
    d = np.asarray(diameters_um, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if d.shape != w.shape or d.size == 0:
        raise SulfurscopeError(f"diameters_um and weights must have one equal, non-zero length "
                               f"(got {d.size} and {w.size})")
    if not (np.all(np.isfinite(d) & (d > 0)) and np.all(np.isfinite(w) & (w >= 0)) and w.sum() > 0):
        raise SulfurscopeError("diameters_um must be positive and weights non-negative, not all zero")
    keep = w > 0
    return (0.5e-6 * d[keep]) ** 2, w[keep] / w[keep].sum()


def _signal(ta: float, pulse_s: float, r2: np.ndarray, phi: np.ndarray, d: float) -> float:
    """S(t_a) of the module notes (m²·dimensionless)."""
    a = d / r2
    return float(phi @ ((sphere_g((pulse_s + ta) * a) - sphere_g(ta * a)) * r2))


def _read_tau(pulse_s: float, r2: np.ndarray, phi: np.ndarray, d: float,
              rest_end_s: float | None, origin_s: float) -> float:
    s0 = _signal(origin_s, pulse_s, r2, phi, d)
    if rest_end_s is None:
        s_end, t_hi = 3.0 * pulse_s * d, max(10.0 * float(r2.max()) / d, 10.0 * origin_s, pulse_s)
    else:
        s_end, t_hi = _signal(rest_end_s, pulse_s, r2, phi, d), rest_end_s
    if not (s0 - s_end) > 1e-9 * max(abs(s0), 1e-300):
        return float("nan")  # relaxed before the origin
    target = s0 - _ONE_MINUS_INV_E * (s0 - s_end)

    def f(ta: float) -> float:
        return _signal(ta, pulse_s, r2, phi, d) - target

    if not (f(origin_s) > 0 > f(t_hi)):
        return float("nan")
    return float(_brentq()(f, origin_s, t_hi, xtol=1e-9 * t_hi, rtol=1e-10)) - origin_s


def mixture_read_tau_s(
    pulse_s: float,
    diameters_um: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    diffusivity_m2_s: float,
    *,
    rest_s: float | None = None,
    origin_s: float = 0.0,
) -> float:
    """τ (s) as read from the rest of an electrode of particle classes (module notes).

    Parameters
    ----------
    pulse_s : float
        Pulse length t_p.
    diameters_um, weights : array
        Class diameters and volume fractions (normalised here).
    diffusivity_m2_s : float
    rest_s : float, optional
        Time from the pulse end to the rest's last sample (V∞ = that sample); None: V∞ = the
        asymptote.
    origin_s : float
        Time from the pulse end to V0 and t = 0 (the first rest sample).

    Returns
    -------
    float
        τ counted from the origin; NaN when the rest relaxed before the origin.

    Examples
    --------
    >>> from sulfurscope._sphere import read_tau_s
    >>> one = mixture_read_tau_s(2160.0, [2.0], [1.0], 1e-16)  # one class: the sphere's map
    >>> round(one / read_tau_s(2160.0, 1e-6, 1e-16), 6)
    1.0
    """
    r2, phi = _classes(diameters_um, weights)
    if not (pulse_s > 0 and diffusivity_m2_s > 0 and origin_s >= 0):
        raise SulfurscopeError("pulse_s and diffusivity_m2_s must be > 0 and origin_s >= 0")
    return _read_tau(float(pulse_s), r2, phi, float(diffusivity_m2_s),
                     None if rest_s is None else float(rest_s), float(origin_s))


def _invert(tau: float, pulse: float, r2: np.ndarray, phi: np.ndarray, rest_end: float | None,
            origin: float, guess: float) -> float:
    """D with τ_mix(D) = τ (brentq in ln D from a bracket around ``guess``); NaN when no D gives τ."""

    def f(ld: float) -> float:
        t = _read_tau(pulse, r2, phi, math.exp(ld), rest_end, origin)
        return -50.0 if not np.isfinite(t) else math.log(t) - math.log(tau)  # NaN: relaxed early

    lo = hi = math.log(guess)
    f_lo = f_hi = f(lo)
    for _ in range(40):  # τ falls with D: f(lo) > 0 > f(hi) brackets the root
        if f_lo <= 0:
            lo -= 1.0
            f_lo = f(lo)
        elif f_hi >= 0:
            hi += 1.0
            f_hi = f(hi)
        if f_lo > 0 > f_hi:
            return math.exp(_brentq()(f, lo, hi, xtol=1e-7))
        if f_lo == f_hi == 0:
            return math.exp(lo)
    return float("nan")  # τ beyond the saturated reading: pulse-limited


def polydisperse_diffusivity(
    tau_s: Sequence[float] | np.ndarray,
    *,
    diameters_um: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    pulse_s: Sequence[float] | np.ndarray | float,
    rest_s: Sequence[float] | np.ndarray | float | None = None,
    origin_s: Sequence[float] | np.ndarray | float = 0.0,
    v_inf: Literal["last_sample", "fitted"] = "last_sample",
    guess_m2_s: Sequence[float] | np.ndarray | float = 1e-16,
) -> tuple[np.ndarray, np.ndarray]:
    """D of each τ through the size distribution's map, and its sensitivity |d ln τ/d ln D|.

    ``rest_s`` counts from the origin (as the step table does): V∞ is read at origin + rest with
    ``v_inf="last_sample"``. NaN where no D gives the τ (beyond the pulse-length saturation).
    """
    tau = np.atleast_1d(np.asarray(tau_s, dtype=float))
    n = tau.size
    r2, phi = _classes(diameters_um, weights)
    tp = np.broadcast_to(np.asarray(pulse_s, dtype=float), (n,))
    origin = np.broadcast_to(np.asarray(origin_s, dtype=float), (n,))
    rest = np.broadcast_to(np.asarray(np.nan if rest_s is None else rest_s, dtype=float), (n,))
    guess = np.broadcast_to(np.asarray(guess_m2_s, dtype=float), (n,))
    d = np.full(n, np.nan)
    sens = np.full(n, np.nan)
    for j in range(n):
        if not (np.isfinite(tau[j]) and tau[j] > 0 and tp[j] > 0):
            continue
        end = origin[j] + rest[j] if v_inf == "last_sample" and np.isfinite(rest[j]) else None
        g = guess[j] if np.isfinite(guess[j]) and guess[j] > 0 else 1e-16
        d[j] = _invert(float(tau[j]), float(tp[j]), r2, phi, end, float(origin[j]), float(g))
        if np.isfinite(d[j]):
            up = _read_tau(float(tp[j]), r2, phi, d[j] * 1.02, end, float(origin[j]))
            dn = _read_tau(float(tp[j]), r2, phi, d[j] / 1.02, end, float(origin[j]))
            sens[j] = abs(math.log(dn / up) / (2.0 * math.log(1.02)))
    return d, sens


@dataclass(frozen=True, slots=True)
class PolydisperseFit:
    """One D fitted to τ of several rests through each rest's size-distribution map.

    Attributes
    ----------
    diffusivity_m2_s : float
    ci95_m2_s : tuple of float
    n_points : int
        Rests used (those with a finite, well-determined per-rest D).
    """

    diffusivity_m2_s: float
    ci95_m2_s: tuple[float, float]
    n_points: int


def fit_polydisperse_diffusivity(
    tau_s: np.ndarray,
    sigma_log_tau: np.ndarray | None,
    per_rest_d: np.ndarray,
    sensitivity: np.ndarray,
    maps: Sequence[tuple[float, np.ndarray, np.ndarray, float | None, float]],
) -> PolydisperseFit:
    """Gauss–Newton in ln D, as :func:`~sulfurscope.cycling.gitt.fit_sphere_diffusivity` does, with
    τ_i(D) from each rest's map ``maps[i]`` = (t_p, diameters µm, volume weights, V∞ time after the
    pulse end or None, origin): start at the weighted mean of ``per_rest_d``, Jacobian −s_i,
    se(ln D)² = φ/Σ w s²: with known weights (σ(ln τ) from the read-out ranges) φ = max(1,
    χ²/(m − 1)) and 1.96 (the Particle Data Group's scale factor; the Student-t quantile on top
    covered 97–98 % in 900 replicates), without them φ = χ²/(m − 1) and Student t (m − 1)."""
    from scipy import stats

    use = np.flatnonzero(np.isfinite(per_rest_d) & (sensitivity >= 0.2))
    nan2 = (float("nan"), float("nan"))
    if use.size == 0:
        return PolydisperseFit(float("nan"), nan2, 0)
    w = np.ones(tau_s.size) if sigma_log_tau is None else 1.0 / sigma_log_tau**2
    wu, s = w[use], sensitivity[use]
    log_d = float(np.sum(wu * s**2 * np.log(per_rest_d[use])) / np.sum(wu * s**2))
    prepared = {j: (maps[j][0], *_classes(maps[j][1], maps[j][2]), maps[j][3], maps[j][4])
                for j in use}

    def resid(ld: float) -> np.ndarray:
        out = []
        for j in use:
            tp, r2, phi, end, origin = prepared[j]
            t = _read_tau(tp, r2, phi, math.exp(ld), end, origin)
            out.append(math.log(tau_s[j]) - (math.log(t) if np.isfinite(t) else -50.0))
        return np.array(out)

    for _ in range(6):
        step = -float(np.sum(wu * s * resid(log_d)) / np.sum(wu * s**2))
        log_d += step
        if abs(step) < 1e-9:
            break
    m = use.size
    chi2 = float(np.sum(wu * resid(log_d) ** 2))
    if m >= 2:
        phi_ = chi2 / (m - 1)
        q = float(stats.t.ppf(0.975, m - 1))
        if sigma_log_tau is not None:  # known read-out σ: scaled up only by excess scatter
            phi_, q = max(1.0, phi_), 1.96
        se = math.sqrt(phi_ / float(np.sum(wu * s**2)))
    elif sigma_log_tau is not None:
        q, se = 1.96, math.sqrt(1.0 / float(np.sum(wu * s**2)))
    else:
        return PolydisperseFit(math.exp(log_d), nan2, 1)
    return PolydisperseFit(math.exp(log_d), (math.exp(log_d - q * se), math.exp(log_d + q * se)), m)
