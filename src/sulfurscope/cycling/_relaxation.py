"""Private numerics of the relaxation analysis: crossing times, smoothing, asymptotes and fits.

Kept free of pandas so that :func:`sulfurscope.cycling.gitt.relaxation_times` stays fast on a few
hundred rests.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq, least_squares

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


def crossing_time(t: np.ndarray, f: np.ndarray, target: float) -> tuple[float, int]:
    """First time f reaches ``target``, interpolated linearly in ln t (linearly in t next to t = 0).

    Returns (time, index of the first sample at or above target); (nan, -1) when never reached.
    """
    above = np.flatnonzero(f >= target)
    if len(above) == 0:
        return float("nan"), -1
    k = int(above[0])
    if k == 0:
        return float(t[0]), 0
    t0, t1, f0, f1 = t[k - 1], t[k], f[k - 1], f[k]
    w = (target - f0) / (f1 - f0) if f1 != f0 else 1.0
    if t0 > 0 and t1 > 0:
        return float(np.exp(np.log(t0) + w * (np.log(t1) - np.log(t0)))), k
    return float(t0 + w * (t1 - t0)), k


def noise_sigma(v: np.ndarray) -> float:
    """Noise standard deviation from successive differences of the last half (robust, MAD)."""
    tail = v[len(v) // 2 :]
    if len(tail) < 4:
        return 0.0
    d = np.diff(tail)
    d2 = np.diff(d)  # second differences remove a smooth trend; var = 6 sigma^2
    if len(d2) < 2:
        return float(np.std(d) / np.sqrt(2.0))
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0))


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

    Returns (V∞, A, T). Linear in (V∞, A) for each T; the best T on a 41-point grid spanning
    tau_guess/10 … 10·tau_guess is refined by a parabola in ln T.
    """
    if len(t) < 4 or not np.isfinite(tau_guess) or tau_guess <= 0:
        return float(v[-1]), float("nan"), float("nan")
    grid = tau_guess * np.logspace(-1, 1, 41)
    e = np.exp(-np.outer(1.0 / grid, t))  # (G, n)
    n = len(t)
    se, see = e.sum(axis=1), (e * e).sum(axis=1)
    sy, sey = v.sum(), e @ v
    det = n * see - se * se
    with np.errstate(divide="ignore", invalid="ignore"):
        vinf = (see * sy - se * sey) / det
        b = (n * sey - se * sy) / det  # coefficient of e (= -A)
    resid = ((v[None, :] - vinf[:, None] - b[:, None] * e) ** 2).sum(axis=1)
    resid = np.where(np.isfinite(resid), resid, np.inf)
    k = int(np.argmin(resid))
    if 0 < k < len(grid) - 1 and np.all(np.isfinite(resid[k - 1 : k + 2])):
        y0, y1, y2 = resid[k - 1 : k + 2]
        den = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / den if den > 0 else 0.0
        lg = np.log(grid[k]) + shift * (np.log(grid[1]) - np.log(grid[0]))
        tau = float(np.exp(lg))
        ee = np.exp(-t / tau)
        a_mat = np.column_stack([np.ones(n), ee])
        coef, *_ = np.linalg.lstsq(a_mat, v, rcond=None)
        return float(coef[0]), float(-coef[1]), tau
    return float(vinf[k]), float(-b[k]), float(grid[k])


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
    ok = bool(res.success) and np.all(np.isfinite(params))
    return params, rms, ok, str(res.message)


def model_tau63(model: str, params: np.ndarray) -> float:
    """Time at which the model has done 1 − 1/e of its own relaxation."""
    if model in ("exponential", "stretched"):
        return float(params[2])
    _, _, t1, t2, w = params

    def f(t: float) -> float:
        return w * np.exp(-t / t1) + (1 - w) * np.exp(-t / t2) - np.exp(-1.0)

    hi = 10 * max(t1, t2)
    return float(brentq(f, 0.0, hi))
