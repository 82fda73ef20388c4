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
from scipy.optimize import curve_fit

from sulfurscope.cycling.cycles import CycleSummary, _records
from sulfurscope.errors import SulfurscopeError

__all__ = ["Retention", "early_fade", "retention"]


def early_fade(cycle: np.ndarray, q_inf: float, q_2: float, n_c: float, n_ref: float = 2.0) -> np.ndarray:
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
        p0 = (float(y[-3:].mean()), float(y[0]), max(2.0, (x[-1] - x[0]) / 5))

        def model(n: np.ndarray, qi: float, q2: float, nc: float) -> np.ndarray:
            return early_fade(n, qi, q2, nc, n_ref=float(reference_cycle))

        try:
            popt, pcov = curve_fit(
                model,
                x,
                y,
                p0=p0,
                bounds=([0.0, 0.0, 1e-3], [np.inf, np.inf, 1e4]),
                maxfev=5000,
            )
            perr = np.sqrt(np.diag(pcov))
            q_inf, q_fit_ref, n_c = (float(v) for v in popt)
            n_c_sd = float(perr[2])
            fit_ok = bool(np.all(np.isfinite(popt)) and n_c < 0.999e4)
            msg = "converged" if fit_ok else "N_c ran to its bound: no exponential early fade"
            plateau_fit = float(reference_cycle + n_c * np.log(20.0)) if fit_ok else np.nan
        except (RuntimeError, ValueError) as exc:
            msg = f"early-fade fit failed: {exc}"
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
