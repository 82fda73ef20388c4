"""Private numerics of the relaxation analysis: crossing times, smoothing, asymptotes and fits.

Kept free of pandas so that :func:`sulfurscope.cycling.gitt.relaxation_times` stays fast on a few
hundred rests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

ONE_MINUS_INV_E = 1.0 - np.exp(-1.0)


def moving_average(y: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average with edge windows shrunk symmetrically (the ends stay fixed)."""
    n = len(y)
    if width <= 1 or n < 3:
        return y.copy()
    half = width // 2
    c = np.concatenate([[0.0], np.cumsum(y)])
    idx = np.arange(n)
    h = np.minimum(np.minimum(idx, n - 1 - idx), half)
    return (c[idx + h + 1] - c[idx - h]) / (2 * h + 1)


def crossing_time(
    t: np.ndarray,
    f: np.ndarray,
    target: float,
    window: int = 2,
    band: float = 0.1,
    max_side: int = 25,
) -> tuple[float, int]:
    """First time f reaches ``target``, interpolated in ln t (in t next to t = 0).

    The crossing is bracketed by the first sample at or above the target and the last sample below
    it within the next few samples (noise can make the curve hover around the target). A local
    quadratic in ln t is fitted by least squares to the samples within ±``band`` of the target (at
    least ``window`` and at most ``max_side`` on each side of the bracket; a straight line when
    fewer than 6 samples; window = 1 is plain two-point interpolation): it averages the noise of
    single samples without the curvature bias of a wide straight-line window. Returns (time, index
    of the first sample at or above target); (nan, -1) when never reached.
    """
    tau, k, _ = _crossing(t, f, target, window, band, max_side)
    return tau, k


def crossing_time_levels(
    t: np.ndarray, f: np.ndarray, target: float, levels: Sequence[float]
) -> tuple[float, int, list[float]]:
    """Crossing time at ``target`` and at nearby ``levels`` of the same curve.

    Shifting V0 or V∞ of a normalised curve is the same as reading the unshifted curve at another
    level, so the perturbed read-outs reuse the local fit of the main crossing when the level lies
    inside the fitted window, and fall back to a full :func:`crossing_time` otherwise.
    """
    tau, k, model = _crossing(t, f, target, 2, 0.1, 25)
    out: list[float] = []
    for lev in levels:
        val = _eval_level(model, lev) if model is not None else None
        out.append(val if val is not None else crossing_time(t, f, lev)[0])
    return tau, k, out


def _eval_level(model: tuple[float, ...], level: float) -> float | None:
    xm, g_c0, c1, c2, slope, fm, use_log, x_lo, x_hi, f_lo, f_hi = model
    if not (f_lo < level < f_hi):
        return None
    xc = xm + (level - fm) / slope
    c0 = g_c0 - level
    if c2 != 0.0:
        disc = c1 * c1 - 4 * c2 * c0
        if disc < 0:
            return None
        sq = math.sqrt(disc)
        r1, r2 = (-c1 + sq) / (2 * c2), (-c1 - sq) / (2 * c2)
        xc = xm + (r1 if abs(xm + r1 - xc) <= abs(xm + r2 - xc) else r2)
    elif c1 > 0:
        xc = xm - c0 / c1
    if not (x_lo <= xc <= x_hi):
        return None
    return math.exp(xc) if use_log else xc


def _crossing(
    t: np.ndarray, f: np.ndarray, target: float, window: int, band: float, max_side: int
) -> tuple[float, int, tuple[float, ...] | None]:
    above = f >= target
    k = int(above.argmax())
    if not above[k]:
        return float("nan"), -1, None
    if k == 0:
        return float(t[0]), 0, None
    n = len(f)
    seg = f[k : k + 8] < target
    kb = k - 1
    if seg.any():
        kb = k + int(np.flatnonzero(seg)[-1])
    k_hi = max(k, kb + 1)
    if k_hi >= n:
        k_hi = k
    # fit window: at least `window` samples each side of the bracket, widened to every sample
    # within ±band of the target (at most `max_side` per side) to average the noise
    k_lo = min(k - 1, kb)
    back = f[max(0, k_lo - max_side) : k_lo + 1] < target - band
    lo_band = max(0, k_lo - max_side) + (int(np.flatnonzero(back)[-1]) + 1 if back.any() else 0)
    fwd = f[k_hi : k_hi + max_side] > target + band
    hi_band = k_hi + (int(np.flatnonzero(fwd)[0]) if fwd.any() else min(max_side, n - k_hi))
    lo_i = max(0, min(k_lo - (window - 1), lo_band))
    hi_i = min(n, max(k_hi + window, hi_band))
    tt, ff = t[lo_i:hi_i], f[lo_i:hi_i]
    use_log = bool(tt[0] > 0)
    if window <= 1 or len(tt) < 3:
        t0, t1, f0, f1 = float(t[k - 1]), float(t[k]), float(f[k - 1]), float(f[k])
        w = (target - f0) / (f1 - f0) if f1 != f0 else 1.0
        if t0 > 0 and t1 > 0:
            return math.exp(math.log(t0) + w * (math.log(t1) - math.log(t0))), k, None
        return t0 + w * (t1 - t0), k, None
    x = np.log(tt) if use_log else tt
    m = len(x)
    xm = float(x.sum()) / m
    dx = x - xm
    fm = float(ff.sum()) / m
    sxx = float(dx @ dx)
    slope = float(dx @ (ff - fm)) / sxx if sxx > 0 else 0.0
    if not slope > 0:
        tau1, k1, _ = _crossing(t, f, target, 1, band, max_side)
        return tau1, k1, None
    g_c0, c1, c2 = fm, slope, 0.0
    if m >= 6:
        # normal equations in the centred variable (Σdx = 0), solved by Cramer's rule
        d2 = dx * dx
        s2, s3, s4 = sxx, float(d2 @ dx), float(d2 @ d2)
        g0, g1, g2 = fm * m, float(dx @ ff), float(d2 @ ff)
        if m * (s2 * s4 - s3 * s3) - s2 * (s2 * s2) > 0:
            g_c0, c1, c2 = _solve3(((float(m), 0.0, s2), (0.0, s2, s3), (s2, s3, s4)), (g0, g1, g2))
            if abs(c2) <= 1e-12 * max(abs(c1), 1e-300):
                c2 = 0.0
    model = (
        xm,
        g_c0,
        c1,
        c2,
        slope,
        fm,
        float(use_log),
        float(x[0]),
        float(x[-1]),
        float(ff.min()),
        float(ff.max()),
    )
    xc = _eval_level(model, target)
    if xc is None:
        xc_lin = xm + (target - fm) / slope
        xc = math.exp(xc_lin) if use_log else xc_lin
    a_t, b_t = float(t[k - 1]), float(t[k_hi])
    if use_log:
        xa, xb = math.log(a_t), math.log(b_t)
        lx = math.log(xc) if xc > 0 else xa
        return math.exp(min(max(lx, min(xa, xb)), max(xa, xb))), k, model
    return min(max(xc, min(a_t, b_t)), max(a_t, b_t)), k, model


def _solve3(
    a: tuple[tuple[float, float, float], ...], b: tuple[float, float, float]
) -> tuple[float, float, float]:
    """Solve a 3×3 linear system by Cramer's rule (plain floats: no NumPy call overhead)."""
    (a11, a12, a13), (a21, a22, a23), (a31, a32, a33) = a
    det = (
        a11 * (a22 * a33 - a23 * a32)
        - a12 * (a21 * a33 - a23 * a31)
        + a13 * (a21 * a32 - a22 * a31)
    )
    b1, b2, b3 = b
    x1 = b1 * (a22 * a33 - a23 * a32) - a12 * (b2 * a33 - a23 * b3) + a13 * (b2 * a32 - a22 * b3)
    x2 = a11 * (b2 * a33 - a23 * b3) - b1 * (a21 * a33 - a23 * a31) + a13 * (a21 * b3 - b2 * a31)
    x3 = a11 * (a22 * b3 - b2 * a32) - a12 * (a21 * b3 - b2 * a31) + b1 * (a21 * a32 - a22 * a31)
    return x1 / det, x2 / det, x3 / det


def noise_sigma(v: np.ndarray) -> float:
    """Noise standard deviation from second differences of the last half of the curve.

    Second differences remove a smooth trend; for Gaussian noise they have variance 6σ² and mean
    absolute value √(12/π)·σ.
    """
    tail = v[len(v) // 2 :]
    if len(tail) < 4:
        return 0.0
    d2 = tail[2:] - 2.0 * tail[1:-1] + tail[:-2]
    return float(np.abs(d2).sum()) / len(d2) / math.sqrt(12.0 / math.pi)


def end_slope(t: np.ndarray, v: np.ndarray, fraction: float, min_points: int = 3) -> float:
    """Least-squares slope dV/dt (V/s) over the last ``fraction`` of the time span."""
    if len(t) < 2:
        return float("nan")
    t_cut = t[-1] - fraction * (t[-1] - t[0])
    sel = t >= t_cut
    if sel.sum() < min_points:
        sel = np.zeros(len(t), bool)
        sel[-min(min_points, len(t)) :] = True
    tt, vv = t[sel], v[sel]
    if len(tt) < 2 or tt[-1] == tt[0]:
        return float("nan")
    tm = tt - tt.mean()
    return float(np.dot(tm, vv - vv.mean()) / np.dot(tm, tm))


def exp_asymptote(t: np.ndarray, v: np.ndarray, tau_guess: float) -> tuple[float, float, float]:
    """Fit V = V∞ − A e^{−t/T} by variable projection on a log grid of T (vectorised).

    Returns (V∞, A, T). Linear in (V∞, A) for each T; the best T on a 25-point grid spanning
    tau_guess/10 … 10·tau_guess is refined by a parabola in ln T. The voltage is centred first so
    that the residual sums do not lose precision.
    """
    if len(t) < 4 or not np.isfinite(tau_guess) or tau_guess <= 0:
        return (float(v[-1]) if len(v) else float("nan")), float("nan"), float("nan")
    v_mean = float(v.sum()) / len(v)
    v = v - v_mean
    vinf_c, a_c, tau_c = _exp_asymptote_centred(t, v, tau_guess)
    return vinf_c + v_mean, a_c, tau_c


def _exp_asymptote_centred(
    t: np.ndarray, v: np.ndarray, tau_guess: float
) -> tuple[float, float, float]:
    grid = tau_guess * _GRID
    e = np.exp(-np.outer(1.0 / grid, t))  # (G, n)
    n = len(t)
    se, see = e.sum(axis=1), np.einsum("ij,ij->i", e, e)
    sy, sey = float(v.sum()), e @ v
    syy = float(v @ v)
    det = n * see - se * se
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        vinf = (see * sy - se * sey) / det
        b = (n * sey - se * sy) / det  # coefficient of e (= -A)
        # residual sum of squares of the linear fit, without forming the residuals
        resid = syy - vinf * sy - b * sey
    resid = np.where(np.isfinite(resid) & (det > 0), resid, np.inf)
    if not np.isfinite(resid).any():
        return float(v[-1]), float("nan"), float("nan")
    k = int(np.argmin(resid))
    tau = float(grid[k])
    if 0 < k < len(grid) - 1 and np.all(np.isfinite(resid[k - 1 : k + 2])):
        y0, y1, y2 = resid[k - 1 : k + 2]
        den = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / den if den > 0 else 0.0
        tau = float(np.exp(np.log(grid[k]) + shift * _GRID_STEP))
    ee = np.exp(-t / tau)
    s_e, s_ee, s_ey = float(ee.sum()), float(ee @ ee), float(ee @ v)
    d = n * s_ee - s_e * s_e
    if d <= 0:
        return float(vinf[k]), float(-b[k]), float(grid[k])
    v_inf = (s_ee * sy - s_e * s_ey) / d
    coef = (n * s_ey - s_e * sy) / d
    return float(v_inf), float(-coef), tau


_GRID = np.logspace(-1, 1, 25)
_GRID_STEP = float(np.log(_GRID[1]) - np.log(_GRID[0]))


# ---------------------------------------------------------------- fitted relaxation models


def _exp1(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    vinf, a, tau = p
    return vinf - a * np.exp(-t / tau)


def _exp2(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    vinf, a, tau1, tau2, w = p
    return vinf - a * (w * np.exp(-t / tau1) + (1.0 - w) * np.exp(-t / tau2))


def _stretched(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    vinf, a, tau, beta = p
    return vinf - a * np.exp(-((np.clip(t, 0, None) / tau) ** beta))


MODELS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "exponential": _exp1,
    "two_exponential": _exp2,
    "stretched": _stretched,
}


def initial_guess(model: str, t: np.ndarray, v: np.ndarray, v0: float, tau: float) -> np.ndarray:
    """Initial values from the read-out τ and the curve ends."""
    vinf = float(v[-1])
    a = vinf - v0
    tau = tau if np.isfinite(tau) and tau > 0 else max(float(t[-1]) / 5.0, 1e-3)
    if model == "exponential":
        return np.array([vinf, a, tau])
    if model == "two_exponential":
        return np.array([vinf, a, tau / 4.0, tau * 2.0, 0.5])
    return np.array([vinf, a, tau, 0.7])


def bounds(model: str, t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    span = float(max(t[-1], 1e-6))
    dt_min = float(np.min(np.diff(t))) if len(t) > 1 else span
    dv = float(np.ptp(v)) + 1e-9
    big = 1e3 * span
    lo_tau, hi_tau = max(dt_min * 1e-2, 1e-6), big
    if model == "exponential":
        return (
            np.array([v.min() - 50 * dv, -50 * dv, lo_tau]),
            np.array([v.max() + 50 * dv, 50 * dv, hi_tau]),
        )
    if model == "two_exponential":
        return (
            np.array([v.min() - 50 * dv, -50 * dv, lo_tau, lo_tau, 0.0]),
            np.array([v.max() + 50 * dv, 50 * dv, hi_tau, hi_tau, 1.0]),
        )
    return (
        np.array([v.min() - 50 * dv, -50 * dv, lo_tau, 0.1]),
        np.array([v.max() + 50 * dv, 50 * dv, hi_tau, 1.5]),
    )


def fit_model(
    model: str, t: np.ndarray, v: np.ndarray, p0: np.ndarray
) -> tuple[np.ndarray, float, bool, str]:
    """Least-squares fit; returns (params, rms residual in V, success, message)."""
    fn = MODELS[model]
    lo, hi = bounds(model, t, v)
    p0 = np.clip(p0, lo + 1e-12 * (np.abs(lo) + 1), hi - 1e-12 * (np.abs(hi) + 1))
    scale = float(np.ptp(v)) or 1.0
    from scipy.optimize import least_squares  # imported on use (import time)

    res = least_squares(
        lambda p: (fn(t, p) - v) / scale,
        p0,
        bounds=(lo, hi),
        x_scale="jac",
        max_nfev=400,
    )
    params = res.x
    if model == "two_exponential" and params[2] > params[3]:  # order the time constants
        params = params.copy()
        params[2], params[3] = params[3], params[2]
        params[4] = 1.0 - params[4]
    rms = float(np.sqrt(np.mean((fn(t, params) - v) ** 2)))
    ok = bool(res.success) and bool(np.all(np.isfinite(params)))
    return params, rms, ok, str(res.message)


def model_tau63(model: str, params: np.ndarray) -> float:
    """Time at which the model has done 1 − 1/e of its own relaxation."""
    if model in ("exponential", "stretched"):
        return float(params[2])
    _, _, t1, t2, w = params

    def f(t: float) -> float:
        return w * np.exp(-t / t1) + (1 - w) * np.exp(-t / t2) - np.exp(-1.0)

    from scipy.optimize import brentq  # imported on use (import time)

    hi = 10 * max(t1, t2)
    return float(brentq(f, 0.0, hi))
