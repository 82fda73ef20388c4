"""Exact constant-flux diffusion in a sphere: the 1/e relaxation time after a GITT pulse.

Shared by :mod:`sulfurscope.cycling.gitt` (reading τ) and :mod:`sulfurscope.model` (fitting D to τ):
one implementation of the sphere map for both (MODEL.md, "GITT interpretation").

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

import functools

import numpy as np

_N_ROOTS = 400
_ONE_MINUS_INV_E = 1.0 - np.exp(-1.0)



def _brentq():  # scipy.optimize costs ~0.8 s to import: only when a root is solved
    from scipy.optimize import brentq

    return brentq


def _erfc():
    from scipy.special import erfc

    return erfc

def _tan_roots(n: int) -> np.ndarray:
    """The first n positive roots of tan x = x (fixed-point x = kπ + arctan x)."""
    k = np.arange(1, n + 1, dtype=float)
    x = (k + 0.5) * np.pi - 1e-3
    for _ in range(60):
        x = k * np.pi + np.arctan(x)
    return x


def sphere_roots(n: int = 40) -> np.ndarray:
    """First ``n`` positive roots of tan x = x (x₁ = 4.4934...), the no-flux sphere's decay modes.

    Examples
    --------
    >>> round(float(sphere_roots(1)[0]), 4)
    4.4934
    """
    return _tan_roots(n)


_ROOTS = _tan_roots(_N_ROOTS)
_ROOTS_SQ = _ROOTS**2
_X_TAIL = _ROOTS[-1] + 0.5 * np.pi
_INV_SQ = 1.0 / _ROOTS_SQ


def sphere_g(t_dimless: np.ndarray | float) -> np.ndarray:
    """Surface concentration g(T) of a sphere under unit constant flux (MODEL.md; Crank eq. 6.49).

    Examples
    --------
    >>> float(sphere_g(0.0))
    0.0
    >>> round(float(sphere_g(1.0)), 6)  # 3T + 1/5 once the transient has died out
    3.2
    """
    if np.ndim(t_dimless) == 0:  # one time (root solvers call this ~10⁵ times): math, one exp
        return np.float64(_g_scalar(float(t_dimless)))
    t = np.atleast_1d(np.asarray(t_dimless, dtype=float))
    tt = np.clip(t, 0.0, None)
    # modes with T x_n² > 40 add < e⁻⁴⁰/x_n² each (below double precision of the sum): left out
    pos = tt[tt > 0]
    k = _ROOTS.size if pos.size == 0 else int(np.searchsorted(_ROOTS_SQ, 40.0 / pos.min())) + 1
    roots_sq = _ROOTS_SQ[: min(k, _ROOTS.size)]
    series = (np.exp(-np.multiply.outer(tt, roots_sq)) / roots_sq).sum(axis=-1)
    rt = np.sqrt(tt)
    tail = (np.exp(-tt * _X_TAIL**2) / _X_TAIL - np.sqrt(np.pi * tt) * _erfc()(_X_TAIL * rt)) / np.pi
    out = 3.0 * tt + 0.2 - 2.0 * (series + tail)
    out = np.where(tt > 0, out, 0.0)
    return out if np.ndim(t_dimless) else out[0]


def _g_scalar(tt: float) -> float:
    """:func:`sphere_g` of one time (the same sums; e⁻⁴⁰-small modes left out)."""
    import math

    if not tt > 0:
        return 0.0
    k = min(int(_ROOTS_SQ.searchsorted(40.0 / tt)) + 1, _ROOTS.size)
    series = float(np.exp(-tt * _ROOTS_SQ[:k]) @ _INV_SQ[:k])
    tail = (math.exp(-tt * _X_TAIL**2) / _X_TAIL
            - math.sqrt(math.pi * tt) * math.erfc(_X_TAIL * math.sqrt(tt))) / math.pi
    return 3.0 * tt + 0.2 - 2.0 * (series + tail)


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
    return float(_brentq()(f, 0.0, hi, xtol=1e-15, rtol=1e-12))


def sphere_tau_ratio_limit() -> float:
    """lim τ_e/t_p for T_p → 0 (semi-infinite medium): √(1+x) − √x = 1/e → 1 + x… ≈ 1.379."""
    a = (np.e**2 - 1.0) / (2.0 * np.e)  # √x from √(1+x) + √x = e
    return float(a * a)


# ---------------------------------------------------------------- spherical shell (inert core)


@functools.lru_cache(maxsize=16)
def _shell_modes(inner: float, n_cells: int = 320) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Modes of a spherical shell inner·R ≤ r ≤ R (R = 1), no flux at the core, unit flux at R.

    Finite volumes on a grid clustered at both ends (cell sizes down to ~1e-5 R), symmetrised
    operator S = V^-1/2 K V^-1/2 diagonalised once. Returns (eigenvalues λ_k ≤ 0, surface weights
    w_k, mean-rise rate, surface offset) such that the surface concentration under unit flux is
    g(T) = Σ_k w_k φ(λ_k, T), φ = T for λ = 0 and (e^{λT} − 1)/λ otherwise.
    """
    s = np.linspace(0.0, 1.0, n_cells + 1)
    u = 0.5 - 0.5 * np.cos(np.pi * s)  # cosine clustering at both faces
    r = inner + (1.0 - inner) * u
    # extra refinement next to the outer surface, where the pulse response lives
    fine = 1.0 - np.geomspace(1e-5, (1.0 - inner) * 0.02, 60)[::-1]
    r = np.unique(np.concatenate([r[r < fine[0]], fine, [1.0]]))
    vol = (r[1:] ** 3 - r[:-1] ** 3) / 3.0
    centres = 0.5 * (r[1:] + r[:-1])
    n = len(vol)
    face = r[1:-1] ** 2 / np.diff(centres)  # conductance of interior faces
    k_mat = np.zeros((n, n))
    idx = np.arange(n - 1)
    k_mat[idx, idx] -= face
    k_mat[idx + 1, idx + 1] -= face
    k_mat[idx, idx + 1] += face
    k_mat[idx + 1, idx] += face
    vh = 1.0 / np.sqrt(vol)
    sym = vh[:, None] * k_mat * vh[None, :]
    lam, q = np.linalg.eigh(sym)
    b = np.zeros(n)
    b[-1] = 1.0 / vol[-1]  # unit flux through the outer face (area R² = 1)
    coeff = q.T @ (np.sqrt(vol) * b)  # modal input
    surf = vh[-1] * q[-1, :]  # concentration of the outer cell per mode
    w = surf * coeff
    lam = np.minimum(lam, 0.0)
    lam[int(np.argmin(np.abs(lam)))] = 0.0  # the one conserved (uniform) mode
    mean_rate = 1.0 / float(vol.sum())
    offset = float(1.0 - centres[-1])  # c_s = c_N + J (R - r_N) with J = 1
    return lam, w, mean_rate, offset


def shell_g(t_dimless: np.ndarray | float, inner: float) -> np.ndarray:
    """Surface concentration of a shell (inert core of radius inner·R) under unit constant flux."""
    lam, w, _, offset = _shell_modes(float(inner))
    t = np.atleast_1d(np.asarray(t_dimless, dtype=float))
    tt = np.clip(t, 0.0, None)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(lam == 0.0, tt, np.expm1(lam * tt) / np.where(lam == 0.0, 1.0, lam))
    out = phi @ w + np.where(t > 0, offset, 0.0)
    return out if np.ndim(t_dimless) else out[0]


def shell_tau_dimless(pulse_dimless: float, inner: float) -> float:
    """G(T_p; core) = τ_e D/R² for a shell with an inert core of radius ``inner``·R (0 = sphere)."""
    if not 0.0 <= inner < 1.0:
        raise ValueError(f"inner must be in [0, 1), got {inner!r}")
    if inner == 0.0:
        return sphere_tau_dimless(pulse_dimless)
    tp = float(pulse_dimless)
    _, _, mean_rate, _ = _shell_modes(float(inner))
    g_end = float(shell_g(tp, inner))
    g_inf = mean_rate * tp
    target = g_end - _ONE_MINUS_INV_E * (g_end - g_inf)

    def f(ta: float) -> float:
        return float(shell_g(tp + ta, inner) - shell_g(ta, inner)) - target

    hi = 1.0
    while f(hi) > 0:  # pragma: no cover
        hi *= 2.0
    return float(_brentq()(f, 0.0, hi, xtol=1e-15, rtol=1e-10))


# ---------------------------------------------------------------- τ as read from a finite rest


def _surface(inner: float):  # noqa: ANN202 - private helper returning the g of the geometry
    return sphere_g if inner == 0.0 else (lambda t: shell_g(t, inner))


def read_tau_dimless(
    pulse_dimless: float,
    inner: float = 0.0,
    rest_over_pulse: float | None = None,
    origin_over_pulse: float = 0.0,
) -> float:
    """The 1 − 1/e time τ D/R² as read from a rest, with V∞ the true asymptote or the rest's end.

    With ``rest_over_pulse`` = None the relaxation is normalised by its true asymptote (the mean
    concentration). With ``rest_over_pulse`` = r the rest lasts r·t_p after the pulse and V∞ is its
    last sample: the normalised curve is (s(o) − s(T_a))/(s(o) − s(r T_p)) with
    s(T_a) = g(T_p + T_a) − g(T_a) (MODEL.md, "Finite rests"). ``origin_over_pulse`` = o puts V0 and
    t = 0 at o·t_p after the pulse end (the first rest sample); τ is counted from there. Read this way
    τ is exact for the protocol, whatever the rest length and sampling.
    """
    tp = float(pulse_dimless)
    if not (tp > 0 and (rest_over_pulse is None or rest_over_pulse > 0)):
        raise ValueError("pulse_dimless and rest_over_pulse must be > 0")
    if rest_over_pulse is None and origin_over_pulse == 0.0:
        return shell_tau_dimless(tp, inner)
    g = _surface(float(inner))
    t0 = float(origin_over_pulse) * tp
    g_0 = float(g(tp + t0) - g(t0)) if t0 > 0 else float(g(tp))
    if rest_over_pulse is None:
        g_end = _mean_rise(float(inner)) * tp
        t_hi = max(1.0, 10.0 * t0)
    else:
        t_hi = float(rest_over_pulse) * tp
        g_end = float(g(tp + t_hi) - g(t_hi))
    if not (g_0 - g_end) > 1e-9 * max(1.0, abs(g_0)):
        return float("nan")  # relaxed before the origin: no τ to read
    target = g_0 - _ONE_MINUS_INV_E * (g_0 - g_end)

    def f(ta: float) -> float:
        return float(g(tp + ta) - g(ta)) - target

    if not (f(t0) > 0 > f(t_hi)):
        return float("nan")
    return float(_brentq()(f, t0, t_hi, xtol=1e-15, rtol=1e-10)) - t0


def _mean_rise(inner: float) -> float:
    return 3.0 if inner == 0.0 else _shell_modes(inner)[2]


def _key(x: float | None) -> float | None:
    return None if x is None else float(f"{float(x):.3g}")


@functools.lru_cache(maxsize=256)
def _ratio_table(
    inner: float, rest_key: float | None, origin_key: float
) -> tuple[np.ndarray, np.ndarray]:
    """ρ(T_p) = τ/t_p on a log grid of T_p (for bracketing the inversion)."""
    log_tp = np.linspace(np.log(1e-7), np.log(1e4), 56)
    rho = np.array(
        [read_tau_dimless(np.exp(x), inner, rest_key, origin_key) / np.exp(x) for x in log_tp]
    )
    ok = np.isfinite(rho)
    return log_tp[ok], rho[ok]


def pulse_dimless_from_read_ratio(
    ratio: float,
    inner: float = 0.0,
    rest_over_pulse: float | None = None,
    origin_over_pulse: float = 0.0,
) -> float:
    """Invert ρ(T_p) = τ/t_p for T_p = t_p D/R² for τ read as :func:`read_tau_dimless` reads it.

    ρ falls monotonically with T_p (from the saturated reading at T_p → 0 to 0); the root is
    bracketed on a cached grid (rest and origin rounded to 3 significant figures, which moves τ by
    < 0.1 %) and refined with Brent's method.

    Raises
    ------
    ValueError
        When ``ratio`` is at or above the saturated reading (no D reproduces it) or below the grid.
    """
    rk, ok = _key(rest_over_pulse), _key(origin_over_pulse) or 0.0
    log_tp, rho = _ratio_table(float(inner), rk, ok)
    if not ratio < rho[0]:
        raise ValueError(f"tau/t_p = {ratio:.4g} is at or above the saturated reading")
    if not ratio > rho[-1]:
        raise ValueError(f"tau/t_p = {ratio:.4g} is below the resolvable range")
    k = int(np.flatnonzero(rho <= ratio)[0])

    def f(x: float) -> float:
        return read_tau_dimless(np.exp(x), inner, rk, ok) / np.exp(x) - ratio

    return float(np.exp(_brentq()(f, log_tp[k - 1], log_tp[k], xtol=1e-10)))


def saturated_read_ratio(
    inner: float = 0.0, rest_over_pulse: float | None = None, origin_over_pulse: float = 0.0
) -> float:
    """The largest τ/t_p this read-out gives (T_p → 0, semi-infinite surface): the pulse limit."""
    return float(_ratio_table(float(inner), _key(rest_over_pulse), _key(origin_over_pulse) or 0.0)[1][0])


def read_tau_s(
    pulse_s: float,
    radius_m: float,
    diffusivity_m2_s: float,
    *,
    rest_s: float | None = None,
    origin_s: float = 0.0,
    inner: float = 0.0,
) -> float:
    """τ in seconds as read after a pulse of ``pulse_s``: G·R²/D, with V∞ the end of a rest of
    ``rest_s`` after the pulse when given (else the true asymptote) and V0 at ``origin_s`` after
    the pulse end."""
    scale = radius_m**2 / diffusivity_m2_s
    r = None if rest_s is None else rest_s / pulse_s
    return read_tau_dimless(pulse_s / scale, inner, r, origin_s / pulse_s) * scale


def sphere_tau_s(pulse_s: float, radius_m: float, diffusivity_m2_s: float) -> float:
    """τ_e in seconds after a pulse of ``pulse_s`` in a sphere of radius ``radius_m``: G(t_p D/R²)·R²/D.

    Examples
    --------
    >>> round(sphere_tau_s(100.0, 1e-6, 1e-14), 2)  # R²/D = 100 s, T_p = 1: G(1) = 0.0222
    2.22
    """
    scale = radius_m**2 / diffusivity_m2_s
    return sphere_tau_dimless(pulse_s / scale) * scale
