"""Statistics of replicate cells: a condition's mean with its confidence interval, differences
between conditions, robust z-scores for outliers.

Condition mean
--------------
For the n cells of a condition with values x_i (sample mean x̄, standard deviation s), the standard
uncertainty of the mean combines the cell-to-cell scatter (type A, n − 1 degrees of freedom) with the
uncertainty u_sh every cell shares — the sample's sulfur fraction, measured once, does not average
out over replicate cells (GUM, JCGM 100:2008, §4.2 and §5.1):

.. math:: u(\\bar x)^2 = s^2/n + u_{sh}^2 ,

with the effective degrees of freedom of Welch–Satterthwaite (GUM eq. G.2b; the shared part, a
type-B estimate, counts as ν = ∞):

.. math:: \\nu_{eff} = u(\\bar x)^4 \\big/ \\left[(s^2/n)^2/(n-1)\\right] ,

and the 95 % interval x̄ ± t_{0.975, ν_eff} u(x̄). Without a shared part this is Student's t
interval, exact for normal replicates. A single cell (n = 1) has no scatter: its interval comes from
its own measurement uncertainty (normal, ν = ∞) and says so in ``method``.

``method="bootstrap"`` (n ≥ 5; smaller n fall back to t) replaces the type-A part by the percentile
interval of 4000 bootstrap means (Efron & Tibshirani 1993, ch. 13), widened by the shared part in
quadrature; it under-covers for n ≤ 10 (docs/replicates.md gives the measured coverage), so t is the
default.

Difference of two conditions
----------------------------
d = x̄_A − x̄_B, u(d)² = u(x̄_A)² + u(x̄_B)², ν from Welch–Satterthwaite
u⁴/(u_A⁴/ν_A + u_B⁴/ν_B) (Welch 1947): with no shared parts this is Welch's unequal-variance
interval.

Robust z
--------
z_i = (x_i − median)/max(1.4826 MAD, floor) (Iglewicz & Hoaglin 1993: 0.6745 (x − x̃)/MAD, the
normal-consistent form); the floor keeps three nearly identical cells from making a tiny MAD flag a
cell that differs by less than the measurement uncertainty.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError

__all__ = [
    "STATS_COLUMNS",
    "COMPARISON_COLUMNS",
    "compare_conditions",
    "condition_summary",
    "robust_z",
]

STATS_COLUMNS = [
    "condition", "metric", "cycle_or_rate", "n", "mean", "sd", "ci95_low", "ci95_high", "unit",
    "protocol", "u_mean", "u_shared", "dof", "method", "cells",
]
COMPARISON_COLUMNS = [
    "metric", "protocol", "cycle_or_rate", "condition_a", "condition_b", "n_a", "n_b",
    "difference", "ci95_low", "ci95_high", "unit", "u_difference", "dof", "method",
    "excludes_zero",
]
_KEYS = ["condition", "metric", "protocol", "cycle_or_rate"]


def _t(confidence: float, dof: np.ndarray) -> np.ndarray:
    from scipy.stats import t

    return np.asarray(t.ppf(0.5 + confidence / 2.0, dof), dtype=float)


def _bootstrap_half(values: np.ndarray, confidence: float, rng: np.random.Generator,
                    n_boot: int = 4000) -> tuple[float, float]:
    """Distances from the mean to the percentile bootstrap interval's ends."""
    idx = rng.integers(0, values.size, size=(n_boot, values.size))
    means = values[idx].mean(axis=1)
    lo, hi = np.quantile(means, [0.5 - confidence / 2.0, 0.5 + confidence / 2.0])
    m = values.mean()
    return float(m - lo), float(hi - m)


def _check(values: pd.DataFrame, confidence: float, method: str) -> None:
    need = {*_KEYS, "cell", "value", "unit"}
    missing = need - set(values.columns)
    if missing:
        raise SulfurscopeError(f"condition_summary: values lack columns {sorted(missing)}")
    if not 0.5 < confidence < 1.0:
        raise SulfurscopeError(f"confidence: expected a number in (0.5, 1), got {confidence!r}")
    if method not in ("t", "bootstrap"):
        raise SulfurscopeError(f"method: expected 't' or 'bootstrap', got {method!r}")


def condition_summary(
    values: pd.DataFrame, *, confidence: float = 0.95, method: str = "t", seed: int = 0
) -> pd.DataFrame:
    """n, mean, sd and confidence interval per condition, metric, protocol and cycle/rate.

    Parameters
    ----------
    values : DataFrame
        One row per cell and metric point: ``condition``, ``metric``, ``protocol``,
        ``cycle_or_rate``, ``cell``, ``value``, ``unit`` and optionally ``u_cell`` (the cell's own
        standard uncertainty, used only when n = 1) and ``u_shared`` (the part shared by the
        condition's cells). Non-finite values are dropped.
    confidence : float
        Level of the interval (columns keep the ``ci95`` names of the store schema).
    method : {"t", "bootstrap"}
        See the module docstring.
    seed : int
        Seed of the bootstrap resampling.

    Returns
    -------
    DataFrame
        :data:`STATS_COLUMNS`.
    """
    _check(values, confidence, method)
    v = values[np.isfinite(pd.to_numeric(values["value"], errors="coerce"))].copy()
    if v.empty:
        return pd.DataFrame(columns=STATS_COLUMNS)
    for c in ("u_cell", "u_shared"):
        v[c] = pd.to_numeric(v[c], errors="coerce").fillna(0.0) if c in v else 0.0
    v["u_cell2"] = v["u_cell"] ** 2
    g = v.groupby(_KEYS, sort=False, dropna=False)
    out = g.agg(
        n=("value", "size"), mean=("value", "mean"), sd=("value", "std"), unit=("unit", "first"),
        u_shared=("u_shared", "mean"), u_cell2=("u_cell2", "mean"),
        cells=("cell", lambda s: ", ".join(map(str, s))),
    ).reset_index()
    n = out["n"].to_numpy(float)
    sd = out["sd"].to_numpy(float)
    single = n < 2
    u_a2 = np.where(single, out["u_cell2"].to_numpy(float), np.nan_to_num(sd) ** 2 / n)
    u_sh = out["u_shared"].to_numpy(float)
    u = np.sqrt(u_a2 + u_sh**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = np.where(single | (u_a2 <= 0), np.inf, u**4 / (u_a2**2 / np.maximum(n - 1, 1)))
    unknown = single & (u <= 0)  # one cell of a metric with no stated measurement uncertainty
    u = np.where(unknown, np.nan, u)
    half = _t(confidence, dof) * u
    lo, hi = out["mean"].to_numpy(float) - half, out["mean"].to_numpy(float) + half
    meth = np.where(single, "n=1: own measurement uncertainty (no replicate spread)",
                    np.where(u_sh > 0, "t (Welch-Satterthwaite, shared uncertainty added)", "t"))
    meth = np.where(unknown, "n=1: no interval (no replicate spread, no measurement uncertainty)",
                    meth)
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        for k, (_, grp) in enumerate(g):
            if len(grp) >= 5:
                dlo, dhi = _bootstrap_half(grp["value"].to_numpy(float), confidence, rng)
                z = _t(confidence, np.array([np.inf]))[0] * u_sh[k]
                lo[k] = out["mean"].iat[k] - np.hypot(dlo, z)
                hi[k] = out["mean"].iat[k] + np.hypot(dhi, z)
                meth[k] = "percentile bootstrap" + (" + shared uncertainty" if u_sh[k] > 0 else "")
    out = out.assign(sd=np.where(single, np.nan, sd), ci95_low=lo, ci95_high=hi, u_mean=u,
                     dof=dof, method=meth)
    return out[STATS_COLUMNS].reset_index(drop=True)


def compare_conditions(
    stats: pd.DataFrame,
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Differences between conditions (A − B) with their interval, per metric, protocol and
    cycle/rate present in both (module docstring: Welch–Satterthwaite).

    Parameters
    ----------
    stats : DataFrame
        :func:`condition_summary` output.
    pairs : sequence of (str, str), optional
        Condition pairs; default every pair of conditions (in order of appearance).
    metrics : sequence of str, optional
        Metrics to compare; default all.
    confidence : float

    Returns
    -------
    DataFrame
        :data:`COMPARISON_COLUMNS`.
    """
    s = stats if metrics is None else stats[stats["metric"].isin(list(metrics))]
    if s.empty:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    conds = list(dict.fromkeys(s["condition"]))
    if pairs is None:
        pairs = [(a, b) for i, a in enumerate(conds) for b in conds[i + 1:]]
    keys = ["metric", "protocol", "cycle_or_rate"]
    want = pd.DataFrame(list(pairs), columns=["condition_a", "condition_b"]).drop_duplicates()
    left = s.rename(columns=lambda c: c if c in keys else f"{c}_a")
    m = want.merge(left, on="condition_a").merge(
        s.rename(columns=lambda c: c if c in keys else f"{c}_b"), on=["condition_b", *keys]
    )
    if m.empty:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    ua, ub = m["u_mean_a"].to_numpy(float), m["u_mean_b"].to_numpy(float)
    u = np.hypot(ua, ub)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = ua**4 / m["dof_a"].to_numpy(float) + ub**4 / m["dof_b"].to_numpy(float)
        dof = np.where(den > 0, u**4 / den, np.inf)
    d = m["mean_a"].to_numpy(float) - m["mean_b"].to_numpy(float)
    half = _t(confidence, np.nan_to_num(dof, nan=np.inf)) * u
    single = (m["n_a"] < 2) | (m["n_b"] < 2)
    out = m.assign(
        difference=d, ci95_low=d - half, ci95_high=d + half, unit=m["unit_a"], u_difference=u,
        dof=dof, method=np.where(single, "n=1 on a side: measurement uncertainty only", "Welch"),
        excludes_zero=np.isfinite(half) & ((d - half > 0) | (d + half < 0)),
    )
    return out[COMPARISON_COLUMNS].reset_index(drop=True)


def robust_z(values: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Robust z-scores (x − median)/max(1.4826·MAD, floor) (module docstring); NaN stays NaN, and
    all values are 0 when the scale is 0 (identical values, no floor).

    Examples
    --------
    >>> robust_z(np.array([600.0, 610.0, 300.0])).round(1).tolist()
    [0.0, 0.7, -20.2]
    """
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    out = np.full(x.shape, np.nan)
    if not ok.any():
        return out
    med = float(np.median(x[ok]))
    scale = max(1.4826 * float(np.median(np.abs(x[ok] - med))), float(floor))
    out[ok] = (x[ok] - med) / scale if scale > 0 else 0.0
    return out
