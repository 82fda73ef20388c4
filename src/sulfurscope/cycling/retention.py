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
from scipy.optimize import minimize_scalar

from sulfurscope.cycling.cycles import CycleSummary, _records
from sulfurscope.errors import SulfurscopeError

__all__ = ["Retention", "early_fade", "retention"]


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
        First cycle after which every cycle-to-cycle retention stays within ``threshold`` of 100 %
        for ``window`` cycles (empirical), None if never.
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
            "cycles": _records(self.table),
        }


def retention(
    summary: CycleSummary,
    *,
    reference_cycle: int = 2,
    threshold_pct: float = 0.5,
    window: int = 5,
) -> Retention:
    """Capacity retention relative to a reference cycle and the plateau of the early fade.

    Parameters
    ----------
    summary : CycleSummary
        Per-cycle summary.
    reference_cycle : int
        Cycle to normalise to (the study: 2, the first after formation).
    threshold_pct : float
        A cycle is on the plateau when |Q_n/Q_n−1 − 1| × 100 < ``threshold_pct`` for ``window``
        consecutive cycles.
    window : int
        Cycles that must all satisfy the threshold.

    Returns
    -------
    Retention

    Raises
    ------
    SulfurscopeError
        When the reference cycle has no discharge capacity.
    """
    t = summary.table
    col = (
        "Discharge capacity [mAh/g]"
        if "Discharge capacity [mAh/g]" in t.columns
        else "Discharge capacity [mAh]"
    )
    ref_rows = t.loc[t["Cycle"] == reference_cycle, col]
    if ref_rows.empty or not np.isfinite(ref_rows.iloc[0]) or ref_rows.iloc[0] <= 0:
        raise SulfurscopeError(
            f"retention needs a discharge capacity in reference cycle {reference_cycle}; "
            f"the run has cycles {t['Cycle'].min()}–{t['Cycle'].max()}"
        )
    q = t[col].to_numpy(dtype=float)
    cyc = t["Cycle"].to_numpy()
    q_ref = float(ref_rows.iloc[0])
    prev = np.r_[np.nan, q[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        c2c = 100.0 * q / prev
    table = pd.DataFrame(
        {
            "Cycle": cyc,
            col: q,
            "Retention [%]": 100.0 * q / q_ref,
            "Cycle-to-cycle retention [%]": c2c,
        }
    )
    after = cyc >= reference_cycle
    plateau: int | None = None
    ok_c2c = np.abs(c2c - 100.0) < threshold_pct
    idx = np.flatnonzero(after)
    for k in idx:
        if k + window <= len(q) and np.all(ok_c2c[k : k + window]):
            plateau = int(cyc[k])
            break
    fit_ok, msg = False, ""
    q_inf = n_c = n_c_sd = plateau_fit = np.nan
    q_fit_ref = q_ref
    x, y = cyc[after].astype(float), q[after]
    good = np.isfinite(y)
    x, y = x[good], y[good]
    if len(x) < 4:
        msg = f"early-fade fit needs at least 4 cycles after cycle {reference_cycle}, got {len(x)}"
    else:
        fit = _fit_early_fade(x, y, float(reference_cycle))
        fit_ok, msg = fit["ok"], fit["message"]
        if fit_ok:
            q_inf, q_fit_ref, n_c, n_c_sd = fit["q_inf"], fit["q_ref"], fit["n_c"], fit["n_c_sd"]
            plateau_fit = float(reference_cycle + n_c * np.log(20.0))
    return Retention(
        table=table,
        reference_cycle=reference_cycle,
        capacity_column=col,
        fit_ok=fit_ok,
        fit_message=msg,
        q_inf=float(q_inf),
        q_ref=float(q_fit_ref),
        n_c=float(n_c),
        n_c_sd=float(n_c_sd),
        plateau_cycle_fit=float(plateau_fit),
        plateau_cycle=plateau,
    )
