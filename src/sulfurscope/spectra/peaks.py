"""A small generic multi-peak model and a fast fitter (shared by XPS and Raman).

Components are **data** (:class:`Component`): a line shape, starting values, bounds and CasaXPS-style
constraints — shared FWHM (``fwhm_of``), position offsets (``center_of`` + ``center_offset``), area
ratios (``area_of`` + ``area_ratio``) and spin–orbit doublets with fixed splitting and area ratio
(``splitting``, ``branching``). Every constraint is linear, so the full parameter table is
``p = M θ + c`` of the free vector θ: no expressions are parsed, nothing is ``eval``-ed.

The four parameters of every component and the line shapes: :mod:`.peak_model`.

Backgrounds (:class:`PeakModel` ``background``) are either **subtracted first** from the data or
**fitted inside the model** (``background_mode="model"``): ``constant`` (b₀), ``linear`` (b₀ + b₁ x),
``shirley`` (active Shirley, b₀ + k ∫P), ``tougaard`` (b₀ + B_T ∫K P) — see
:mod:`sulfurscope.spectra.backgrounds`.

The fitter is :func:`scipy.optimize.least_squares` (trust-region reflective, bounds) with a
vectorised residual and a Jacobian computed in one batched model call (all parameter perturbations
at once). Uncertainties come from the covariance ``s² (JᵀJ)⁻¹`` and, by :func:`monte_carlo`, from
noise replicas refitted from the best fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from sulfurscope._threads import one_thread
from sulfurscope.errors import FitError, SulfurscopeError
from sulfurscope.spectra import backgrounds as _bg
from sulfurscope.spectra import lineshapes as _ls
from sulfurscope.spectra._peak_compile import _compile, _Compiled
from sulfurscope.spectra.peak_model import (
    _AREA_NORMALISED,
    BACKGROUNDS,
    SHAPES,
    Array,
    Component,
    MonteCarloResult,
    PeakFit,
    PeakModel,
    components_from_records,
)

__all__ = [
    "BACKGROUNDS",
    "SHAPES",
    "Component",
    "MonteCarloResult",
    "PeakFit",
    "PeakModel",
    "components_from_records",
    "evaluate_model",
    "fit_peaks",
    "fit_problems",
    "misfit_ratio",
    "systematic_residual",
    "monte_carlo",
]


# --------------------------------------------------------------------------------------------
# compilation of the model into the linear map p = M θ + c


def _validate_xy(x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1 or ya.shape != xa.shape:
        raise SulfurscopeError(
            f"x and y must be 1-D arrays of equal length, got shapes {xa.shape} and {ya.shape}"
        )
    if xa.size == 0:
        raise SulfurscopeError("the spectrum is empty (0 points in the window)")
    if not np.all(np.isfinite(xa)):
        raise SulfurscopeError("the x axis contains NaN or inf")
    bad = int(np.sum(~np.isfinite(ya)))
    if bad:
        raise SulfurscopeError(f"the intensity contains {bad} NaN/inf value(s); drop or fill them")
    d = np.diff(xa)
    if np.any(d == 0):
        k = int(np.flatnonzero(d == 0)[0])
        raise SulfurscopeError(f"the x axis has duplicate values (x = {xa[k]:g} repeated)")
    if np.all(d < 0):
        raise SulfurscopeError(
            "the x axis is reversed (decreasing); flip both arrays so x increases"
        )
    if np.any(d < 0):
        raise SulfurscopeError("the x axis is not monotonic; sort the spectrum by x")
    return xa, ya


def _line_width_args(shape: str, fwhm: Array, sp: Array) -> tuple[Array, ...]:
    if shape == "gaussian":
        return (fwhm / _ls.FWHM_PER_SIGMA,)
    if shape == "lorentzian":
        return (fwhm / 2.0,)
    if shape == "voigt":
        return _ls.voigt_width_split(fwhm, sp)
    if shape == "pseudo_voigt":
        return (fwhm / 2.0, sp)
    if shape in ("gl_product", "gl_sum"):
        return (fwhm, sp)
    if shape == "doniach_sunjic":
        return (fwhm / 2.0, sp)
    return (fwhm, sp)  # breit_wigner_fano


_FUNCS: dict[str, Callable[..., Array]] = {
    "gaussian": _ls.gaussian,
    "lorentzian": _ls.lorentzian,
    "voigt": _ls.voigt,
    "pseudo_voigt": _ls.pseudo_voigt,
    "gl_product": _ls.gl_product,
    "gl_sum": _ls.gl_sum,
    "doniach_sunjic": _ls.doniach_sunjic,
    "breit_wigner_fano": _ls.breit_wigner_fano,
}


def _full(cm: _Compiled, theta: Array) -> Array:
    """(K, 4C + nb) full parameter table of a batch of free vectors (K, P)."""
    return theta @ cm.M.T + cm.c


def _lines(cm: _Compiled, full: Array) -> Array:
    """(K, L, N) line profiles."""
    C = cm.n_comp
    K = full.shape[0]
    table = full[:, : 4 * C].reshape(K, C, 4)
    lp = table[:, cm.line_comp, :]
    centers = lp[..., 0] + cm.line_off
    areas = lp[..., 1] * cm.line_frac
    fw = lp[..., 2]
    sp = lp[..., 3]
    out = np.empty((K, cm.line_comp.size, cm.x.size))
    x = cm.x
    for shape, idx in cm.groups:
        args = _line_width_args(shape, fw[:, idx], sp[:, idx])
        out[:, idx, :] = _FUNCS[shape](
            x, areas[:, idx, None], centers[:, idx, None], *(a[..., None] for a in args)
        )
    return out


def _background_of(cm: _Compiled, full: Array, peaks: Array) -> Array:
    C = cm.n_comp
    bgp = full[:, 4 * C :]
    kind = cm.model.background
    if bgp.shape[1] == 0:
        return np.zeros_like(peaks)
    if kind == "constant":
        return np.broadcast_to(bgp[:, :1], peaks.shape).copy()
    if kind == "linear":
        return bgp[:, :1] + bgp[:, 1:2] * (cm.x - cm.x[0])
    if kind == "shirley":
        return bgp[:, :1] + bgp[:, 1:2] * _bg.cumulative_area(cm.x, peaks)
    return bgp[:, :1] + bgp[:, 1:2] * (peaks @ cm.bg_extra.T)  # type: ignore[union-attr]


def _evaluate(cm: _Compiled, theta: Array) -> Array:
    full = _full(cm, np.atleast_2d(theta))
    peaks = _lines(cm, full).sum(axis=1)
    return peaks + _background_of(cm, full, peaks)


def _line_derivatives(cm: _Compiled, full: Array, need_shape: bool = True) -> tuple[Array, Array]:
    """Lines (L, N) and their derivatives (L, 4, N) w.r.t. (center, component area, fwhm, shape).

    Analytic for Voigt, Gaussian and Lorentzian (centre, area, FWHM); forward differences of the
    line function otherwise and for the shape parameter.
    """
    C = cm.n_comp
    table = full[: 4 * C].reshape(C, 4)
    lp = table[cm.line_comp, :]
    centers = lp[:, 0] + cm.line_off
    frac = cm.line_frac
    areas = lp[:, 1] * frac
    fw = lp[:, 2]
    sp = lp[:, 3]
    x = cm.x
    L = cm.line_comp.size
    lines = np.empty((L, x.size))
    d = np.zeros((L, 4, x.size))
    for shape, idx in cm.groups:
        a = areas[idx, None]
        c = centers[idx, None]
        f = fw[idx, None]
        s_ = sp[idx, None]
        if shape == "voigt":
            sig, gam = _ls.voigt_width_split(f, s_)
            v, da, dc, ds, dg = _ls.voigt_derivatives(x, a, c, sig, gam)
            lines[idx] = v
            d[idx, 0] = dc
            d[idx, 1] = da * frac[idx, None]
            d[idx, 2] = (ds * sig + dg * gam) / f
        elif shape == "gaussian":
            sig = f / _ls.FWHM_PER_SIGMA
            g, da, dc, ds = _ls.gaussian_derivatives(x, a, c, sig)
            lines[idx] = g
            d[idx, 0] = dc
            d[idx, 1] = da * frac[idx, None]
            d[idx, 2] = ds / _ls.FWHM_PER_SIGMA
        else:
            fn = _FUNCS[shape]
            base = fn(x, a, c, *_line_width_args(shape, f, s_))
            lines[idx] = base
            d[idx, 1] = np.where(a != 0, base / np.where(a != 0, a, 1.0), 0.0) * frac[idx, None]
            if shape in ("doniach_sunjic", "breit_wigner_fano"):
                d[idx, 1] = fn(x, 1.0, c, *_line_width_args(shape, f, s_)) * frac[idx, None]
            hc = 1e-6 * np.maximum(f, 1e-3)
            d[idx, 0] = (fn(x, a, c + hc, *_line_width_args(shape, f, s_)) - base) / hc
            d[idx, 2] = (fn(x, a, c, *_line_width_args(shape, f + hc, s_)) - base) / hc
        if need_shape:
            hs = 1e-6 * np.maximum(np.abs(s_), 1e-2)
            d[idx, 3] = (
                _FUNCS[shape](x, a, c, *_line_width_args(shape, f, s_ + hs)) - lines[idx]
            ) / hs
    return lines, d


def _analytic_jacobian(cm: _Compiled, theta: Array) -> tuple[Array, Array]:
    """Model value (N,) and Jacobian (N, P) by the chain rule through p = M θ + c."""
    full = _full(cm, theta[None, :])[0]
    C = cm.n_comp
    need_shape = bool(np.any(cm.M[3 : 4 * C : 4]))
    lines, d = _line_derivatives(cm, full, need_shape)
    n = cm.x.size
    peaks = lines.sum(axis=0)
    kind = cm.model.background
    nb = cm.M.shape[0] - 4 * C
    value = peaks
    if not nb:
        return value, (cm.scatter @ d.reshape(-1, n)).T  # type: ignore[operator]
    jf = np.zeros((4 * C + nb, n))
    jf[: 4 * C] = cm.line_scatter @ d.reshape(-1, n)  # type: ignore[operator]
    if nb:
        bgp = full[4 * C :]
        if kind == "constant":
            value = peaks + bgp[0]
            jf[4 * C] = 1.0
        elif kind == "linear":
            value = peaks + bgp[0] + bgp[1] * (cm.x - cm.x[0])
            jf[4 * C] = 1.0
            jf[4 * C + 1] = cm.x - cm.x[0]
        elif kind == "shirley":
            cum = _bg.cumulative_area(cm.x, peaks)
            value = peaks + bgp[0] + bgp[1] * cum
            jf[: 4 * C] += bgp[1] * _bg.cumulative_area(cm.x, jf[: 4 * C])
            jf[4 * C] = 1.0
            jf[4 * C + 1] = cum
        else:
            K = cm.bg_extra
            tg = K @ peaks  # type: ignore[operator]
            value = peaks + bgp[0] + bgp[1] * tg
            jf[: 4 * C] += bgp[1] * (jf[: 4 * C] @ K.T)  # type: ignore[union-attr]
            jf[4 * C] = 1.0
            jf[4 * C + 1] = tg
    return value, (cm.M.T @ jf).T


def _jacobian(cm: _Compiled, theta: Array, f0: Array | None = None) -> Array:
    return _analytic_jacobian(cm, theta)[1]


def _jacobian_fd(cm: _Compiled, theta: Array) -> Array:
    P = theta.size
    h = 1.49e-8 * np.maximum(np.abs(theta), 1.0)
    step = np.where(theta + h > cm.upper, -h, h)
    batch = np.vstack([theta, theta + np.diag(step)])
    vals = _evaluate(cm, batch)
    return ((vals[1:] - vals[0]) / step[:, None]).T if P else np.zeros((cm.x.size, 0))


def evaluate_model(fit: PeakFit, x: ArrayLike | None = None) -> Array:
    """The fitted model (peaks + in-model background) at ``x`` (default: the fit's own x).

    For ``background_mode="subtract"`` the subtracted background is *not* included.
    """
    xx = fit.x if x is None else np.asarray(x, dtype=float)
    cm, _ = _compile(xx, np.interp(xx, fit.x, fit.y), fit.model)
    return _evaluate(cm, fit.free_values)[0]


def fit_peaks(
    x: ArrayLike,
    y: ArrayLike,
    model: PeakModel | Sequence[Component],
    *,
    sigma: ArrayLike | None = None,
    max_nfev: int | None = None,
    ftol: float = 1e-10,
    starts: int = 1,
    seed: int = 0,
    sigma_scale: Literal["absolute", "relative"] = "absolute",
) -> PeakFit:
    """Fit a :class:`PeakModel` to ``y(x)`` by bounded least squares.

    Parameters
    ----------
    x : (N,) array_like of float
        Strictly increasing axis (binding energy in eV, Raman shift in cm⁻¹).
    y : (N,) array_like of float
        Intensity.
    model : PeakModel or sequence of Component
        A bare sequence means ``PeakModel(components, background="none")``.
    sigma : (N,) array_like of float, optional
        Standard deviation of each ``y`` (weights 1/σ); default unweighted, with the covariance
        scaled by the reduced χ².
    max_nfev : int, optional
        Evaluation limit (default 200 × (P + 1)).
    ftol : float
        Relative cost tolerance of :func:`scipy.optimize.least_squares`.
    starts : int
        Multi-start: besides the model's own start, ``starts − 1`` starts jittered inside the
        bounds (areas ×e^U(−1,1), widths ×e^U(−0.4,0.4), centres ±15 % of their range, or every
        other start anywhere inside their bounds) are solved
        and the lowest χ² is kept. The result records how many starts reached it
        (``starts_at_best``, χ² within 0.01 %) and by how much the model's own start missed it
        (``first_start_excess``); :func:`fit_problems` turns both into warnings.
    seed : int
        Of the jitter.
    sigma_scale : {"absolute", "relative"}
        With ``sigma``: take it as the true standard deviations (``"absolute"``), or only as their
        shape (``"relative"``, e.g. √counts for Poisson data whose dwell is unknown) with the
        covariance scaled by the reduced χ².

    Returns
    -------
    PeakFit

    Raises
    ------
    SulfurscopeError
        Empty, NaN, reversed or duplicated axis; a component outside the window; bad constraints.
    FitError
        The optimiser stopped without converging (its message is included).

    Examples
    --------
    >>> x = np.linspace(0, 10, 201)
    >>> y = _ls.gaussian(x, 2.0, 4.0, 0.5) + _ls.gaussian(x, 1.0, 6.0, 0.5)
    >>> m = PeakModel((Component("a", 3.8, 1.0, shape="gaussian"),
    ...                Component("b", 6.2, 1.0, shape="gaussian", fwhm_of="a")), background="none")
    >>> fit = fit_peaks(x, y, m)
    >>> [round(float(v), 4) for v in fit.area]
    [2.0, 1.0]
    """
    xa, ya = _validate_xy(x, y)
    if not isinstance(model, PeakModel):
        model = PeakModel(tuple(model), background="none")
    sig = None
    if sigma is not None:
        sig = np.broadcast_to(np.asarray(sigma, dtype=float), ya.shape).copy()
        if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
            raise SulfurscopeError("sigma must be finite and > 0 everywhere")
    if model.background_mode == "subtract" and model.background != "none":
        pre_bg = _subtracted_background(model, xa, ya)
    else:
        pre_bg = np.zeros_like(ya)
    target = ya - pre_bg
    cm, theta0 = _compile(xa, target, model)
    if starts <= 1:
        fit = _run_fit(cm, xa, ya, target, pre_bg, sig, theta0, max_nfev=max_nfev, ftol=ftol)
        return _rescaled(fit) if sig is not None and sigma_scale == "relative" else fit
    best, at_best, excess = _multistart(cm, target, sig, theta0, starts, seed, max_nfev, ftol)
    fit = _run_fit(cm, xa, ya, target, pre_bg, sig, best, max_nfev=max_nfev, ftol=ftol)
    if sig is not None and sigma_scale == "relative":
        fit = _rescaled(fit)
    return replace(fit, starts=starts, starts_at_best=at_best, first_start_excess=excess)


def _rescaled(fit: PeakFit) -> PeakFit:
    """Uncertainties of a fit weighted by relative σ: covariance × reduced χ² (stderr × √χ²_red)."""
    f = float(np.sqrt(fit.reduced_chi_square)) if fit.reduced_chi_square > 0 else 1.0
    return replace(
        fit,
        center_stderr=fit.center_stderr * f, area_stderr=fit.area_stderr * f,
        fwhm_stderr=fit.fwhm_stderr * f, shape_param_stderr=fit.shape_param_stderr * f,
        free_stderr=fit.free_stderr * f, covariance=fit.covariance * f * f,
    )  # fmt: skip


#: Two starts reached the same minimum when their χ² agree within this fraction.
SAME_MINIMUM = 1e-4


def _jitter(cm: _Compiled, theta0: Array, rng: np.random.Generator, spread: bool = False) -> Array:
    """A start inside the bounds: areas and widths scaled, centres shifted (``spread``: drawn
    anywhere inside their bounds), the rest kept."""
    t = theta0.copy()
    for k, name in enumerate(cm.free_names):
        lo, hi = float(cm.lower[k]), float(cm.upper[k])
        if name.endswith(".area"):
            t[k] = theta0[k] * np.exp(rng.uniform(-1.0, 1.0))
        elif name.endswith(".fwhm"):
            t[k] = theta0[k] * np.exp(rng.uniform(-0.4, 0.4))
        elif name.endswith(".center") and np.isfinite(lo) and np.isfinite(hi):
            t[k] = rng.uniform(lo, hi) if spread else theta0[k] + rng.uniform(-0.15, 0.15) * (hi - lo)
    finite = np.isfinite(cm.lower) & np.isfinite(cm.upper)
    span = np.where(finite, cm.upper - np.where(finite, cm.lower, 0.0), 0.0)
    return np.clip(t, cm.lower + 1e-6 * span, cm.upper - 1e-6 * span)


def _multistart(
    cm: _Compiled, target: Array, sig: Array | None, theta0: Array, starts: int, seed: int,
    max_nfev: int | None, ftol: float,
) -> tuple[Array, int, float]:
    """The lowest-χ² solution over the model's start and jittered ones; how many reached it; the
    relative χ² excess of the model's own start (inf when it failed)."""
    rng = np.random.default_rng(seed)
    w = None if sig is None else 1.0 / sig
    costs, sols = [], []
    with one_thread():  # small SVDs in every step: BLAS threads only spin
        for k in range(starts):
            t = theta0 if k == 0 else _jitter(cm, theta0, rng, spread=k % 2 == 0)
            try:
                r = _solve(cm, target, w, t, max_nfev, ftol)
            except (ValueError, np.linalg.LinAlgError):
                r = None
            ok = r is not None and r.status > 0 and bool(np.all(np.isfinite(r.x)))
            costs.append(float(r.fun @ r.fun) if ok else np.inf)
            sols.append(r.x if ok else theta0)
    c = np.asarray(costs)
    if not np.isfinite(c).any():
        return theta0, 0, float("inf")
    j = int(np.argmin(c))
    at_best = int(np.sum(c <= c[j] * (1 + SAME_MINIMUM) + 1e-300))
    excess = float(c[0] / c[j] - 1.0) if c[j] > 0 else (0.0 if c[0] == c[j] else float("inf"))
    return sols[j], at_best, excess


def _subtracted_background(model: PeakModel, x: Array, y: Array) -> Array:
    """The background of ``background_mode="subtract"``, computed from the data."""
    ap = model.average_points
    if model.background == "constant":
        return np.full_like(y, _bg.end_levels(y, average_points=ap)[0])
    if model.background == "linear":
        return _bg.linear(x, y, average_points=ap)
    if model.background == "shirley":
        return _bg.shirley(x, y, average_points=ap)
    if model.background == "tougaard":
        return _bg.tougaard(x, y, c_ev2=model.tougaard_c_ev2, average_points=ap)
    raise SulfurscopeError(f"background must be one of {BACKGROUNDS}, got {model.background!r}")


def _solve(
    cm: _Compiled, target: Array, w: Array | None, theta0: Array, max_nfev: int | None, ftol: float
) -> Any:
    if theta0.size == 0:
        raise SulfurscopeError("the model has no free parameter")
    # one model evaluation gives the value and the analytic Jacobian: cache it for jac(θ)
    cache: dict[str, Array] = {}

    def fun(t: Array) -> Array:
        v, j = _analytic_jacobian(cm, t)
        cache["t"], cache["j"] = t.copy(), j
        r = v - target
        return r if w is None else r * w

    def jac(t: Array) -> Array:
        if "t" not in cache or not np.array_equal(cache["t"], t):
            fun(t)
        j = cache["j"]
        return j if w is None else j * w[:, None]

    from scipy.optimize import least_squares  # imported on use: scipy.optimize costs ~0.4 s

    t0 = np.clip(theta0, cm.lower, cm.upper)
    return least_squares(
        fun,
        t0,
        jac=jac,
        bounds=(cm.lower, cm.upper),
        method="trf",
        x_scale="jac",
        ftol=ftol,
        xtol=ftol,
        gtol=1e-10,
        max_nfev=max_nfev or 200 * (theta0.size + 1),
    )


def _area_correlation(cov_full: Array, std_full: Array, n_comp: int) -> Array:
    """Correlation matrix of the area column (index 1) of the (C, 4) component table."""
    ia = 4 * np.arange(n_comp) + 1
    sa = std_full[ia]
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov_full[np.ix_(ia, ia)] / np.outer(sa, sa)


def _areas(comps: Any, area: Array, area_std: Array, curves: Array, xa: Array
           ) -> tuple[Array, Array]:
    """Component areas: the area parameter for area-normalised shapes, else the integral of the
    curve (with the parameter's relative uncertainty)."""
    for i, comp in enumerate(comps):
        if comp.shape not in _AREA_NORMALISED:
            integ = float(np.trapezoid(curves[i], xa))
            rel = area_std[i] / area[i] if area[i] != 0 else np.nan
            area[i] = integ
            area_std[i] = abs(integ * rel)
    return area, area_std


def _covariance(jac: Array) -> Array:
    """(JᵀJ)⁻¹ computed on unit-norm columns and scaled back.

    The parameters differ by many orders of magnitude (an area ~1e4 counts·eV beside a Shirley
    factor ~1e-2): a pseudo-inverse of the raw JᵀJ cuts its smallest singular values relative to the
    largest and silently drops the variance along them (area uncertainties came out half the real
    spread, and zero with the Shirley factor at its bound). Column scaling makes the cut-off a
    statement about correlation only; a truly undetermined direction still gets an infinite
    variance below (singular values < 1e-10 of the largest after scaling).
    """
    norms = np.linalg.norm(jac, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    js = jac / norms
    u, sv, vt = np.linalg.svd(js, full_matrices=False)
    keep = sv > 1e-10 * (sv[0] if sv.size else 1.0)
    inv = np.where(keep, 1.0 / np.where(keep, sv, 1.0) ** 2, np.inf)
    with np.errstate(invalid="ignore"):
        cov_s = (vt.T * inv) @ vt
    if not keep.all():  # undetermined directions: infinite variance where they act, not zero
        bad = np.abs(vt[~keep]).max(axis=0) > 1e-8
        cov_s = np.where(np.isfinite(cov_s), cov_s, 0.0)
        cov_s[bad, :] = np.inf
        cov_s[:, bad] = np.inf
    return cov_s / np.outer(norms, norms)


def _run_fit(
    cm: _Compiled,
    xa: Array,
    ya: Array,
    target: Array,
    pre_bg: Array,
    sig: Array | None,
    theta0: Array,
    *,
    max_nfev: int | None,
    ftol: float,
) -> PeakFit:
    w = None if sig is None else 1.0 / sig
    res = _solve(cm, target, w, theta0, max_nfev, ftol)
    if res.status <= 0 or not np.all(np.isfinite(res.x)):
        raise FitError(f"peak fit did not converge: {res.message} (nfev={res.nfev})")
    theta = res.x
    n = xa.size
    chi2 = float(res.fun @ res.fun)
    red = chi2 / max(n - theta.size, 1)
    cov = _covariance(res.jac)
    if sig is None:
        cov = cov * red
    full = _full(cm, theta[None, :])[0]
    cov_full = cm.M @ cov @ cm.M.T
    std_full = np.sqrt(np.clip(np.diag(cov_full), 0.0, None))
    C = cm.n_comp
    table = full[: 4 * C].reshape(C, 4)
    std_tab = std_full[: 4 * C].reshape(C, 4)
    lines = _lines(cm, full[None, :])[0]
    peaks = lines.sum(axis=0)
    model_bg = _background_of(cm, full[None, :], peaks[None, :])[0]
    curves = np.zeros((C, n))
    np.add.at(curves, cm.line_comp, lines)
    comps = cm.model.components
    area, area_std = _areas(comps, table[:, 1].copy(), std_tab[:, 1].copy(), curves, xa)
    total_bg = pre_bg + model_bg
    ss_tot = float(np.sum((ya - ya.mean()) ** 2))
    best = total_bg + peaks
    r2 = 1.0 - float(np.sum((ya - best) ** 2)) / ss_tot if ss_tot > 0 else np.nan
    nbg = len(cm.bg_names)
    return PeakFit(
        model=cm.model,
        x=xa,
        y=ya,
        sigma=sig,
        best_fit=best,
        background=total_bg,
        component_curves=curves,
        names=tuple(c.name for c in comps),
        shapes=tuple(c.shape for c in comps),
        assignments=tuple(c.assignment for c in comps),
        center=table[:, 0].copy(),
        center_stderr=std_tab[:, 0].copy(),
        area=area,
        area_stderr=area_std,
        area_correlation=_area_correlation(cov_full, std_full, C),
        fwhm=table[:, 2].copy(),
        fwhm_stderr=std_tab[:, 2].copy(),
        shape_param=table[:, 3].copy(),
        shape_param_stderr=std_tab[:, 3].copy(),
        height=curves.max(axis=1),
        background_params=full[4 * C :].copy() if nbg else np.zeros(0),
        background_param_names=cm.bg_names,
        free_names=cm.free_names,
        free_values=theta.copy(),
        free_stderr=np.sqrt(np.clip(np.diag(cov), 0.0, None)),
        covariance=cov,
        initial_values=theta0.copy(),
        success=bool(res.success),
        message=str(res.message),
        nfev=int(res.nfev),
        chi_square=chi2,
        reduced_chi_square=red,
        r_squared=r2,
        at_bounds=_at_bounds(cm, theta),
    )


def _at_bounds(cm: _Compiled, theta: Array) -> tuple[str, ...]:
    """Free parameters that ended on (within 0.1 % of the range of) a finite bound."""
    lo, hi = np.asarray(cm.lower, float), np.asarray(cm.upper, float)
    span = np.where(np.isfinite(hi - lo), hi - lo, np.abs(theta) + 1.0)
    tol = 1e-3 * span
    pinned = (np.isfinite(lo) & (theta - lo <= tol)) | (np.isfinite(hi) & (hi - theta <= tol))
    return tuple(n for n, p in zip(cm.free_names, pinned, strict=True) if p)


def misfit_ratio(fit: PeakFit) -> float:
    r"""Residual variance of a fit over the data's own noise variance (≈ 1 for a model that fits).

    The noise is measured without the model, from second differences of the data,
    d_i = y_i − (y_{i−1} + y_{i+1})/2, Var d = 1.5 σ² (robust: median(d²)/(1.5·0.4549));
    with the fit's ``sigma`` (Poisson weights) both sides are in units of σ_i. Unlike R², which
    falls with the noise (a right model on a noisy spectrum gets R² < 0.9), the ratio only grows
    when the residuals hold structure the noise cannot explain: a missing or misplaced peak.
    The noise floor is 10⁻⁴ of the data range (noise-free data).
    """
    y = np.asarray(fit.y, dtype=float)
    r = y - np.asarray(fit.best_fit, dtype=float)
    if y.size < 5:
        return float("nan")
    s = np.ones_like(y) if fit.sigma is None else np.asarray(fit.sigma, dtype=float)
    s = np.where(np.isfinite(s) & (s > 0), s, np.nan)
    d = (y[1:-1] - 0.5 * (y[:-2] + y[2:])) / s[1:-1]
    noise = float(np.nanmedian(d**2)) / (1.5 * 0.45494)
    floor = (1e-4 * float(np.ptp(y)) / float(np.nanmedian(s))) ** 2
    return float(np.nanmean((r / s) ** 2) / max(noise, floor, np.finfo(float).tiny))


def systematic_residual(fit: PeakFit) -> float:
    """RMS of the residual beyond the noise, as a fraction of the fitted signal's range.

    √max(⟨r²⟩ − σ̂², 0) / range(best fit), σ̂² the model-free noise variance of
    :func:`misfit_ratio` (unweighted): how much of the spectrum the model misses.
    """
    y = np.asarray(fit.y, dtype=float)
    r = y - np.asarray(fit.best_fit, dtype=float)
    if y.size < 5:
        return float("nan")
    d = y[1:-1] - 0.5 * (y[:-2] + y[2:])
    noise = float(np.median(d**2)) / (1.5 * 0.45494)
    span = float(np.ptp(fit.best_fit))
    return float(np.sqrt(max(float(np.mean(r**2)) - noise, 0.0)) / span) if span > 0 else float("nan")


def fit_problems(
    fit: PeakFit, *, max_misfit: float = 4.0, max_systematic: float = 0.05
) -> tuple[list[str], list[str]]:
    """What makes a fit unusable (failures) or doubtful (warnings).

    Failures: the optimiser did not report success; residuals more than ``max_misfit`` times the
    data's own noise variance (:func:`misfit_ratio`) *and* a systematic residual above
    ``max_systematic`` of the signal (:func:`systematic_residual`): the model misses the data; a
    non-finite uncertainty (the covariance is singular: parameters not determined). Warnings:
    residuals above ``max_misfit`` × the noise but a small share of the signal (a slightly wrong
    line shape on a high-count spectrum); free parameters pinned at a bound (the minimum lies
    outside the allowed range, or the bound is what holds the parameter). R² is reported but not
    judged: it falls with the noise alone (a right model on a noisy spectrum has R² < 0.9).
    """
    failed, doubtful = [], []
    if not fit.success:
        failed.append(f"the optimiser did not converge ({fit.message})")
    m, sysr = misfit_ratio(fit), systematic_residual(fit)
    if not (np.isfinite(m) and np.isfinite(sysr)):
        failed.append("the fit residuals are not finite")
    elif m > max_misfit and sysr > max_systematic:
        failed.append(f"the model misses {100 * sysr:.0f} % of the signal (residuals {m:.0f}× the "
                      f"data's own noise variance, R² = {fit.r_squared:.3f})")
    elif m > max_misfit:
        doubtful.append(f"residuals {m:.1f}× the data's own noise variance ({100 * sysr:.1f} % of "
                        "the signal): structure the model does not describe (line shape, a small "
                        "missing component?)")
    if not np.all(np.isfinite(fit.free_stderr)):
        failed.append("singular covariance: some parameters are not determined by the data")
    if fit.at_bounds:
        doubtful.append(f"{len(fit.at_bounds)} parameter(s) pinned at a bound: "
                        f"{', '.join(fit.at_bounds[:6])}")
    if fit.starts > 1 and fit.first_start_excess > 1e-3:
        doubtful.append(f"the model's own start ended in a local minimum (χ² {100 * fit.first_start_excess:.1f} % "
                        f"above the best of {fit.starts} starts, which is reported)")
    if fit.starts > 1 and fit.starts_at_best < (fit.starts + 1) // 2:
        doubtful.append(f"only {fit.starts_at_best} of {fit.starts} starts reached the best minimum: "
                        "the χ² surface has several minima, check the components")
    return failed, doubtful


def monte_carlo(
    fit: PeakFit,
    *,
    n_replicas: int = 1000,
    noise: Literal["gaussian", "poisson"] = "gaussian",
    rng: np.random.Generator | int | None = None,
) -> MonteCarloResult:
    """Monte-Carlo uncertainties: refit ``n_replicas`` noise replicas of the best fit.

    Each replica is ``best_fit + noise``: Gaussian with the fit's residual standard deviation (or
    its ``sigma``), or Poisson draws of ``best_fit`` (for raw counts). The background is recomputed
    for each replica when it was subtracted first, and every replica is refitted starting from the
    best-fit parameters.

    Parameters
    ----------
    fit : PeakFit
    n_replicas : int
    noise : {"gaussian", "poisson"}
    rng : numpy Generator, int or None

    Returns
    -------
    MonteCarloResult

    Examples
    --------
    >>> x = np.linspace(0, 10, 201)
    >>> y = _ls.gaussian(x, 2.0, 5.0, 0.5) + np.random.default_rng(0).normal(0, 0.01, x.size)
    >>> fit = fit_peaks(x, y, [Component("a", 5.0, 1.2, shape="gaussian")])
    >>> mc = monte_carlo(fit, n_replicas=50, rng=1)
    >>> bool(0.3 < mc.area_std[0] / fit.area_stderr[0] < 3.0)
    True
    """
    if n_replicas < 2:
        raise SulfurscopeError(f"n_replicas must be >= 2, got {n_replicas}")
    if noise not in ("gaussian", "poisson"):
        raise SulfurscopeError(f"noise must be 'gaussian' or 'poisson', got {noise!r}")
    gen = np.random.default_rng(rng)
    model = fit.model
    xa = fit.x
    best = fit.best_fit
    if noise == "poisson":
        if np.any(best < 0):
            raise SulfurscopeError("Poisson replicas need a non-negative best fit (raw counts)")
    scale = (
        fit.sigma if fit.sigma is not None else np.full(xa.size, np.sqrt(fit.reduced_chi_square))
    )
    subtract = model.background_mode == "subtract" and model.background != "none"
    cm0, _ = _compile(xa, fit.y - (fit.background if subtract else 0.0), model)
    w = None if fit.sigma is None else 1.0 / fit.sigma
    samples = np.full((n_replicas, fit.free_values.size), np.nan)
    C = cm0.n_comp
    areas = np.full((n_replicas, C), np.nan)
    failed = 0
    for r in range(n_replicas):
        yr = (
            gen.poisson(best).astype(float) if noise == "poisson" else best + gen.normal(0.0, scale)
        )
        if subtract:
            try:
                pre = _subtracted_background(model, xa, yr)
            except FitError:
                failed += 1
                continue
            target = yr - pre
        else:
            target = yr
        res = _solve(cm0, target, w, fit.free_values, None, 1e-7)
        if res.status <= 0:
            failed += 1
            continue
        samples[r] = res.x
        full = _full(cm0, res.x[None, :])[0]
        areas[r] = full[: 4 * C].reshape(C, 4)[:, 1]
    ok = ~np.isnan(samples[:, 0]) if samples.shape[1] else np.zeros(n_replicas, bool)
    if ok.sum() < 2:
        raise FitError(f"Monte-Carlo: only {int(ok.sum())} of {n_replicas} replicas converged")
    full_s = _full(cm0, samples[ok])
    tab = full_s[:, : 4 * C].reshape(-1, C, 4)
    a = areas[ok]
    frac = a / a.sum(axis=1, keepdims=True)
    # non-normalised shapes: scale the amplitude spread to the reported (integrated) area
    rel = np.where(tab[:, :, 1].mean(axis=0) != 0, fit.area / tab[:, :, 1].mean(axis=0), 1.0)
    return MonteCarloResult(
        names=fit.names,
        n_replicas=n_replicas,
        n_failed=failed,
        noise=noise,
        center_std=tab[:, :, 0].std(axis=0, ddof=1),
        area_std=tab[:, :, 1].std(axis=0, ddof=1) * np.abs(rel),
        fwhm_std=tab[:, :, 2].std(axis=0, ddof=1),
        area_fraction_std=frac.std(axis=0, ddof=1),
        free_names=fit.free_names,
        free_std=samples[ok].std(axis=0, ddof=1),
        samples=samples,
    )

