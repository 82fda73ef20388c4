"""Capacity retention (Fig 1f) and where the early fade levels off.

The study normalises to the second discharge (the first is the CEI-forming formation discharge):
R_n = Q_dis,n / Q_dis,2, and follows the cycle-to-cycle ratio Q_dis,n / Q_dis,n−1. The early fade is
fitted with the law of ../MODEL.md §C, Q_N = Q_∞ + (Q₂ − Q_∞) exp(−(N − 2)/N_c), and the fade is said to
plateau where the remaining excess has fallen to 5 % of its start, N = 2 + N_c ln 20.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.cycling.cycles import CycleSummary, _records
from sulfurscope.errors import SulfurscopeError

__all__ = ["Retention", "early_fade", "plateau_cycle", "retention"]


_NC_BOUNDS = (0.3, 1e4)


def _fit_early_fade(x: np.ndarray, y: np.ndarray, n_ref: float) -> dict[str, Any]:
    """Least-squares fit of :func:`early_fade` by variable projection.

    For a fixed N_c the law is linear in (Q_∞, Q_ref), so the sum of squares is minimised over ln N_c
    alone (a coarse grid, then bounded Brent), with the linear pair solved exactly at every step
    (Golub & Pereyra, SIAM J. Numer. Anal. 10 (1973) 413). Standard errors from s² (JᵀJ)⁻¹ with the
    analytic Jacobian at the optimum.
    """
    dx = x - n_ref

    def solve(log_nc: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # closed-form 2x2 normal equations for (Q_inf, Q_ref), vectorised over ln N_c
        e = np.exp(-np.multiply.outer(np.exp(-np.atleast_1d(log_nc)), dx))
        u = 1.0 - e
        s11, s12, s22 = (u * u).sum(1), (u * e).sum(1), (e * e).sum(1)
        b1, b2 = u @ y, e @ y
        det = s11 * s22 - s12 * s12
        det = np.where(np.abs(det) > 1e-300, det, np.nan)
        qi = (s22 * b1 - s12 * b2) / det
        qr = (s11 * b2 - s12 * b1) / det
        r = y - qi[:, None] * u - qr[:, None] * e
        return (r * r).sum(1), qi, qr, e

    lo, hi = np.log(_NC_BOUNDS[0]), np.log(_NC_BOUNDS[1])
    grid = np.linspace(lo, hi, 48)
    sse = np.nan_to_num(solve(grid)[0], nan=np.inf)
    k = int(np.argmin(sse))
    from scipy.optimize import minimize_scalar  # imported on use (import time)

    res = minimize_scalar(
        lambda g: float(np.nan_to_num(solve(g)[0][0], nan=np.inf)),
        bounds=(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]),
        method="bounded",
        options={"xatol": 1e-6},
    )
    log_nc = float(res.x)
    s2_a, qi_a, qr_a, e_a = solve(log_nc)
    s2, q_inf, q_ref, e = float(s2_a[0]), float(qi_a[0]), float(qr_a[0]), e_a[0]
    n_c = float(np.exp(log_nc))
    if log_nc > hi - 0.05:
        return {"ok": False, "message": "N_c ran to its bound: no exponential early fade"}
    if q_inf < 0 or q_ref < 0:
        return {"ok": False, "message": f"unphysical fit (Q_inf={q_inf:.3g}, Q_ref={q_ref:.3g})"}
    jac = np.column_stack([1.0 - e, e, (q_ref - q_inf) * e * dx / n_c**2])
    dof = max(len(x) - 3, 1)
    try:
        cov = (s2 / dof) * np.linalg.inv(jac.T @ jac)
        n_c_sd = float(np.sqrt(max(cov[2, 2], 0.0)))
    except np.linalg.LinAlgError:
        n_c_sd = float("inf")
    return {
        "ok": True,
        "message": "converged",
        "q_inf": float(q_inf),
        "q_ref": float(q_ref),
        "n_c": n_c,
        "n_c_sd": n_c_sd,
    }


def early_fade(
    cycle: np.ndarray, q_inf: float, q_2: float, n_c: float, n_ref: float = 2.0
) -> np.ndarray:
    """Early-fade law Q_N = Q_∞ + (Q_ref − Q_∞) exp(−(N − N_ref)/N_c) (MODEL.md §C).

    Examples
    --------
    >>> float(early_fade(np.array([2.0]), 300.0, 400.0, 10.0)[0])
    400.0
    """
    return q_inf + (q_2 - q_inf) * np.exp(-(np.asarray(cycle, dtype=float) - n_ref) / n_c)


@dataclass(frozen=True, slots=True)
class Retention:
    """Retention table and the early-fade fit.

    Attributes
    ----------
    table : DataFrame
        ``Cycle``, ``Discharge capacity [mAh/g]`` (or ``[mAh]`` without a sulfur mass),
        ``Retention [%]`` (Q_n / Q_ref), ``Cycle-to-cycle retention [%]`` (Q_n / Q_n−1).
    reference_cycle : int
        The cycle normalised to (default 2).
    capacity_column : str
        Which capacity column was used.
    fit_ok : bool
        Whether the early-fade fit converged to physical values (Q_∞ ≥ 0, N_c > 0).
    fit_message : str
        Optimiser message or why the fit was not done.
    q_inf, q_ref, n_c : float
        Fitted early-fade parameters (NaN only when ``fit_ok`` is False).
    n_c_sd : float
        Standard error of N_c.
    plateau_cycle_fit : float
        2 + N_c ln 20: where 95 % of the early fade is done.
    plateau_cycle : int or None
        First cycle of the plateau by ``plateau_criterion`` (:func:`plateau_cycle`), None if never.
    plateau_criterion : str
        The criterion in words (shown with every plateau cycle).
    """

    table: pd.DataFrame
    reference_cycle: int
    capacity_column: str
    fit_ok: bool
    fit_message: str
    q_inf: float
    q_ref: float
    n_c: float
    n_c_sd: float
    plateau_cycle_fit: float
    plateau_cycle: int | None
    plateau_criterion: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The retention table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """Fit results and the table as JSON-ready records."""
        return {
            "reference_cycle": self.reference_cycle,
            "fit_ok": self.fit_ok,
            "fit_message": self.fit_message,
            "q_inf": self.q_inf,
            "q_ref": self.q_ref,
            "n_c": self.n_c,
            "n_c_sd": self.n_c_sd,
            "plateau_cycle_fit": self.plateau_cycle_fit,
            "plateau_cycle": self.plateau_cycle,
            "plateau_criterion": self.plateau_criterion,
            "cycles": _records(self.table),
        }


def plateau_cycle(
    cycle: np.ndarray, q: np.ndarray, *, start: int, threshold_pct: float, window: int
) -> int | None:
    """The first cycle from which the fade has levelled off (the study's "plateau after 30–40").

    Criterion: the rolling fade rate — the least-squares slope of Q over ``window`` consecutive
    cycles divided by their mean, in %/cycle — stays below ``threshold_pct`` in magnitude for
    ``window`` consecutive windows. The first cycle of the first such window is the plateau cycle;
    None when the run never meets it.

    Examples
    --------
    >>> n = np.arange(1, 61)
    >>> q = 500 + 300 * np.exp(-(n - 2) / 6.0)
    >>> plateau_cycle(n, q, start=2, threshold_pct=0.5, window=5)  # analytic: the rate at the
    18
    >>> # window centre drops below 0.5 %/cycle at n = 19.8 (50 e⁻ˣ/(500 + 300 e⁻ˣ) = 0.005)
    """
    sel = np.isfinite(q) & (cycle >= start)
    n, y = cycle[sel].astype(float), q[sel]
    if len(n) < 2 * window - 1:
        return None
    m = len(n) - window + 1
    idx = np.arange(m)[:, None] + np.arange(window)[None, :]
    x, v = n[idx], y[idx]
    xm = x - x.mean(axis=1, keepdims=True)
    slope = (xm * (v - v.mean(axis=1, keepdims=True))).sum(1) / (xm * xm).sum(1)
    flat = np.abs(100.0 * slope / v.mean(axis=1)) < threshold_pct
    for k in range(m - window + 1):
        if flat[k : k + window].all():
            return int(n[k])
    return None


def _capacity_column(t: pd.DataFrame) -> str:
    return (
        "Discharge capacity [mAh/g]"
        if "Discharge capacity [mAh/g]" in t.columns
        else "Discharge capacity [mAh]"
    )


def retention(
    summary: CycleSummary,
    *,
    reference_cycle: int = 2,
    threshold_pct: float = 0.5,
    window: int = 5,
) -> Retention:
    """Capacity retention relative to a reference cycle, the early-fade fit and the plateau.

    Parameters
    ----------
    summary : CycleSummary
        Per-cycle summary.
    reference_cycle : int
        Cycle to normalise to (the study: 2, the first after formation).
    threshold_pct, window : float, int
        The plateau criterion (:func:`plateau_cycle`): the rolling fade rate over ``window`` cycles
        below ``threshold_pct`` %/cycle for ``window`` consecutive windows.

    Returns
    -------
    Retention
        With ``plateau_cycle`` (criterion above; None when never met) and ``plateau_cycle_fit``
        (N_ref + N_c ln 20: 95 % of the fitted early fade done).

    Raises
    ------
    SulfurscopeError
        When the reference cycle has no discharge capacity.
    """
    t = summary.table
    col = _capacity_column(t)
    ref_rows = t.loc[t["Cycle"] == reference_cycle, col]
    if ref_rows.empty or not np.isfinite(ref_rows.iloc[0]) or ref_rows.iloc[0] <= 0:
        raise SulfurscopeError(
            f"retention needs a discharge capacity in reference cycle {reference_cycle}; "
            f"the run has cycles {t['Cycle'].min()}–{t['Cycle'].max()}"
        )
    q, cyc = t[col].to_numpy(dtype=float), t["Cycle"].to_numpy()
    q_ref = float(ref_rows.iloc[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        c2c = 100.0 * q / np.r_[np.nan, q[:-1]]
    table = pd.DataFrame(
        {
            "Cycle": cyc,
            col: q,
            "Retention [%]": 100.0 * q / q_ref,
            "Cycle-to-cycle retention [%]": c2c,
        }
    )
    after = (cyc >= reference_cycle) & np.isfinite(q)
    fit = _fit_or_reason(cyc[after].astype(float), q[after], reference_cycle)
    return Retention(
        table=table,
        reference_cycle=reference_cycle,
        capacity_column=col,
        fit_ok=fit["ok"],
        fit_message=fit["message"],
        q_inf=float(fit.get("q_inf", np.nan)),
        q_ref=float(fit.get("q_ref", q_ref)),
        n_c=float(fit.get("n_c", np.nan)),
        n_c_sd=float(fit.get("n_c_sd", np.nan)),
        plateau_cycle_fit=float(reference_cycle + fit["n_c"] * np.log(20.0))
        if fit["ok"]
        else float("nan"),
        plateau_cycle=plateau_cycle(
            cyc, q, start=reference_cycle, threshold_pct=threshold_pct, window=window
        ),
        plateau_criterion=(
            f"rolling fade rate over {window} cycles below {threshold_pct:g} %/cycle for "
            f"{window} consecutive windows"
        ),
    )


def _fit_or_reason(x: np.ndarray, y: np.ndarray, reference_cycle: int) -> dict[str, Any]:
    if len(x) < 4:
        return {
            "ok": False,
            "message": f"early-fade fit needs at least 4 cycles after cycle {reference_cycle}, "
            f"got {len(x)}",
        }
    return _fit_early_fade(x, y, float(reference_cycle))
