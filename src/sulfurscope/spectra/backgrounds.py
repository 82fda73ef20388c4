"""Inelastic backgrounds for core-level spectra: iterative Shirley, linear, Tougaard.

Two ways of using them (users ask for both):

* **subtracted first** — :func:`shirley`, :func:`linear`, :func:`tougaard` compute a background from
  the measured spectrum, which is subtracted before the peaks are fitted (CasaXPS / MultiPak style);
* **inside the model** — :mod:`sulfurscope.spectra.peaks` fits the background together with the peaks:
  the *active* Shirley background ``B(x) = b₀ + k ∫_{x₀}^{x} P(x′) dx′`` (linear in ``b₀, k``, computed
  from the peak model ``P`` rather than from the noisy data) and the Tougaard background
  ``B(x) = b₀ + B_T ∫ K(x − x′) P(x′) dx′``. :func:`cumulative_area` and :func:`tougaard_matrix`
  are the building blocks.

All functions take a **binding-energy-like axis increasing with x**: inelastic losses raise the
background on the high-x side. For a kinetic-energy axis pass ``x[::-1]``-ordered data or negate x.

References
----------
.. [1] D. A. Shirley, Phys. Rev. B 5 (1972) 4709.
.. [2] A. Proctor, P. M. A. Sherwood, Anal. Chem. 54 (1982) 13 — iterative Shirley.
.. [3] S. Tougaard, Surf. Interface Anal. 25 (1997) 137 — universal cross-section, B, C = 1643 eV².
.. [4] A. Herrera-Gomez et al., Surf. Interface Anal. 46 (2014) 897 — active backgrounds.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sulfurscope.errors import FitError, SulfurscopeError

__all__ = [
    "cumulative_area",
    "end_levels",
    "linear",
    "shirley",
    "tougaard",
    "tougaard_matrix",
]

Array = NDArray[np.float64]


def _check_xy(x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1 or ya.shape != xa.shape:
        raise SulfurscopeError(
            f"x and y must be 1-D of equal length, got shapes {xa.shape} and {ya.shape}"
        )
    if xa.size < 3:
        raise SulfurscopeError(f"need at least 3 points for a background, got {xa.size}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise SulfurscopeError("x and y must be finite (found NaN or inf)")
    if np.any(np.diff(xa) <= 0):
        raise SulfurscopeError(
            "x must be strictly increasing (binding energy ascending); "
            "sort the spectrum or flip both arrays"
        )
    return xa, ya


def end_levels(y: ArrayLike, *, average_points: int = 5) -> tuple[float, float]:
    """End-point levels: the mean of the first and last ``average_points`` values.

    Averaging the ends (CasaXPS "average width", MultiPak's end-point smoothing) keeps one noisy
    point from tilting the whole background; ``average_points=1`` uses the raw end points.

    Examples
    --------
    >>> end_levels([1.0, 3.0, 5.0, 7.0, 9.0], average_points=2)
    (2.0, 8.0)
    """
    ya = np.asarray(y, dtype=float)
    n = int(average_points)
    if n < 1 or 2 * n > ya.size:
        raise SulfurscopeError(
            f"average_points must be between 1 and half the points ({ya.size // 2}), got {n}"
        )
    return float(ya[:n].mean()), float(ya[-n:].mean())


def cumulative_area(x: ArrayLike, y: ArrayLike) -> Array:
    """Trapezoidal running integral ``∫_{x₀}^{x} y dx′`` (0 at the first point); ``y`` may be (..., N).

    Examples
    --------
    >>> cumulative_area([0.0, 1.0, 2.0], [1.0, 1.0, 1.0]).tolist()
    [0.0, 1.0, 2.0]
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    seg = 0.5 * (ya[..., 1:] + ya[..., :-1]) * np.diff(xa)
    out = np.zeros(ya.shape, dtype=float)
    np.cumsum(seg, axis=-1, out=out[..., 1:])
    return out


def _shirley_fixed_point(x: Array, y: Array, lo: float, hi: float) -> Array | None:
    """Solve ``B = lo + k ∫_{x₀}^{x} (y − B) dx′`` with ``B(x_N) = hi`` for k (the converged Shirley).

    For fixed k the equation is the linear ODE ``B′ = k (y − B)``, integrated with the trapezoid rule
    (a first-order recursion); k follows from the end condition by bracketing + Brent's method.
    Returns None when no k ≥ 0 meets the end level.
    """
    from scipy.optimize import brentq

    dx = np.diff(x)
    ym = y[1:] + y[:-1]

    def curve(k: float) -> Array:
        h = 0.5 * k * dx
        a = (1.0 - h) / (1.0 + h)
        b = h / (1.0 + h)
        out = np.empty_like(y)
        out[0] = lo
        acc = lo
        for i in range(dx.size):
            acc = a[i] * acc + b[i] * ym[i]
            out[i + 1] = acc
        return out

    def end(k: float) -> float:
        return float(curve(k)[-1] - hi)

    f0 = end(0.0)
    if f0 == 0.0:
        return np.full_like(y, lo)
    k_hi = 1.0 / max(float(x[-1] - x[0]), 1e-12)
    for _ in range(60):
        if np.sign(end(k_hi)) != np.sign(f0):
            k = brentq(end, 0.0, k_hi, xtol=1e-14, rtol=1e-12, maxiter=200)
            return curve(k)
        k_hi *= 2.0
    return None


def shirley(
    x: ArrayLike, y: ArrayLike, *, average_points: int = 5, max_iter: int = 100, tol: float = 1e-6
) -> Array:
    """Iterative Shirley background [1]_ [2]_ on an ascending (binding-energy) axis.

    ``B(x) = I_lo + (I_hi − I_lo) · A(x)/A_total``, where ``A(x) = ∫_{x₀}^{x} (y − B) dx′``, iterated
    from ``B = I_lo`` until the largest change is below ``tol · |I_hi − I_lo|`` (or ``tol`` when the
    ends are equal).

    The converged background is the fixed point ``B = I_lo + k ∫ (y − B)`` with ``B(x_N) = I_hi``.
    On wide windows the plain iteration can oscillate (the total area shrinks towards zero); then
    that fixed point is solved directly (k by Brent's method on the exact recursion; the same
    background whenever the iteration converges) and accepted only if it is monotonic.

    Parameters
    ----------
    x : (N,) array_like of float, eV
        Strictly increasing axis.
    y : (N,) array_like of float
        Intensity.
    average_points : int
        End-point averaging (see :func:`end_levels`): ``I_lo``/``I_hi`` are the means of the first and
        last ``average_points`` values.
    max_iter : int
        Iteration limit.
    tol : float
        Relative convergence tolerance.

    Returns
    -------
    (N,) ndarray of float

    Raises
    ------
    FitError
        If neither the iteration nor the fixed-point solve succeeds (the message gives the last
        change).

    Examples
    --------
    >>> x = np.linspace(0.0, 10.0, 201)
    >>> peak = np.exp(-((x - 5.0) ** 2) / 0.5)
    >>> y = 1.0 + peak + 2.0 * np.cumsum(peak) / peak.sum()
    >>> bg = shirley(x, y, average_points=1)
    >>> round(float(bg[0]), 3), round(float(bg[-1]), 3)
    (1.0, 3.0)
    """
    xa, ya = _check_xy(x, y)
    lo, hi = end_levels(ya, average_points=average_points)
    step = hi - lo
    scale = abs(step) if step != 0 else 1.0
    bg = np.full_like(ya, lo)
    change = np.inf
    for _ in range(max_iter):
        area = cumulative_area(xa, ya - bg)
        total = area[-1]
        if total <= 0 or not np.isfinite(total):
            break
        new = lo + step * area / total
        change = float(np.max(np.abs(new - bg)))
        bg = new
        if change <= tol * scale:
            return bg
    solved = _shirley_fixed_point(xa, ya, lo, hi)
    # a Shirley background is monotonic between its end levels; a fixed point that is not (it
    # follows the data through the peaks) means the step is not caused by the peaks in the window
    if solved is not None and np.all(np.sign(step) * np.diff(solved) >= -1e-9 * scale):
        return solved
    raise FitError(
        f"Shirley background did not converge in {max_iter} iterations "
        f"(last change {change:.3g}, tolerance {tol * scale:.3g}) and no monotonic fixed point "
        f"meets the end levels {lo:.4g} → {hi:.4g}: narrow the window to the peaks or use a "
        "linear background"
    )


def linear(x: ArrayLike, y: ArrayLike, *, average_points: int = 5) -> Array:
    """Straight line between the (averaged) end levels.

    Examples
    --------
    >>> linear([0.0, 1.0, 2.0], [1.0, 5.0, 3.0], average_points=1).tolist()
    [1.0, 2.0, 3.0]
    """
    xa, ya = _check_xy(x, y)
    lo, hi = end_levels(ya, average_points=average_points)
    return lo + (hi - lo) * (xa - xa[0]) / (xa[-1] - xa[0])


def tougaard_matrix(x: ArrayLike, *, c_ev2: float = 1643.0, d_ev2: float = 0.0) -> Array:
    """Loss-kernel matrix ``T`` with ``(T @ f)(x) = ∫_{x₀}^{x} K(x − x′) f(x′) dx′``.

    ``K(T) = T/(C + T²)²`` (universal cross-section without ``B``; three-parameter form with
    ``D`` when ``d_ev2 > 0``: ``K = T/((C − T²)² + D T²)``) [3]_. Rectangle rule on the grid.
    """
    xa = np.asarray(x, dtype=float)
    dx = np.gradient(xa)
    t = xa[:, None] - xa[None, :]
    t = np.where(t > 0, t, 0.0)
    if d_ev2 > 0:
        k = t / ((c_ev2 - t * t) ** 2 + d_ev2 * t * t)
    else:
        k = t / (c_ev2 + t * t) ** 2
    return k * dx[None, :]


def tougaard(
    x: ArrayLike,
    y: ArrayLike,
    *,
    c_ev2: float = 1643.0,
    average_points: int = 5,
    max_iter: int = 50,
    tol: float = 1e-6,
) -> Array:
    """Tougaard background [3]_, with ``B`` chosen so the background meets the high-x end level.

    ``B(x) = I_lo + B_T ∫_{x₀}^{x} K(x − x′) (y − I_lo − …) dx′``: iterated like Shirley, with
    ``B_T`` rescaled each step so ``B(x_N)`` equals the averaged high-end level.

    Examples
    --------
    >>> x = np.linspace(150.0, 180.0, 301)
    >>> peak = np.exp(-((x - 163.0) ** 2) / 2.0)
    >>> bg = tougaard(x, 1.0 + peak + 0.3 * np.cumsum(peak) / peak.sum(), average_points=1)
    >>> round(float(bg[0]), 3), round(float(bg[-1]), 3)
    (1.0, 1.3)
    """
    xa, ya = _check_xy(x, y)
    lo, hi = end_levels(ya, average_points=average_points)
    kmat = tougaard_matrix(xa, c_ev2=c_ev2)
    bg = np.full_like(ya, lo)
    scale = abs(hi - lo) or 1.0
    change = np.inf
    for _ in range(max_iter):
        loss = kmat @ (ya - bg)
        if loss[-1] == 0:
            return np.full_like(ya, lo)
        new = lo + (hi - lo) * loss / loss[-1]
        change = float(np.max(np.abs(new - bg)))
        bg = new
        if change <= tol * scale:
            return bg
    raise FitError(
        f"Tougaard background did not converge in {max_iter} iterations (last change {change:.3g})"
    )
