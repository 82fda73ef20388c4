"""Cells that stand out among their replicates — flagged, never dropped.

A cell is flagged (table ``cell_flags``) when, among the cells of its condition and protocol:

* ``outlier_first_discharge``: its first-discharge capacity has a robust z-score |z| > ``z_max``
  (default 3.5, Iglewicz & Hoaglin 1993) — scale max(1.4826 MAD, ``floor`` × the median (default
  5 %, the usual cell-to-cell spread of Li–S coin cells), the cells' own capacity uncertainty), so
  that three replicates agreeing closely do not make a tiny MAD flag an ordinary cell (needs ≥ 3
  cells). Measured on normal replicates with a 5 % spread: false-positive rate 0.2 % (n = 3) to
  0.5 % (n = 5) per condition; a cell 30 % low is found in 53 % (n = 3), 70 % (n = 4) and 75 %
  (n = 5) of draws (a floor of 2 % gives 11–15 % false positives);
* ``outlier_ce``: its mean coulombic efficiency (cycles ≥ 2) has |z| > ``z_max`` with a floor of one
  percentage point (≥ 3 cells);
* ``ce_anomaly``: its mean coulombic efficiency lies outside ``ce_range`` (default 90–105 %: a
  polysulfide shuttle or a side reaction; any number of cells);
* ``early_end``: it ran fewer than half the cycles of the condition's median cell (≥ 2 cells);
* ``capacity_collapse``: its last discharge capacity fell below ``collapse`` (default 20 %) of its
  highest capacity after the first cycle (cell death; any number of cells).

A cell the manifest excludes (``exclude = "reason"``) appears with code ``excluded`` and its reason;
it is the only way a cell leaves the condition statistics. A cell that is neither excluded nor
present in any result (its file could not be read or its analysis failed: see the problems table)
appears with code ``no_results``, so a condition's n never shrinks without a word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sulfurscope.replicates.stats import robust_z

__all__ = ["FLAG_COLUMNS", "cell_flags"]

FLAG_COLUMNS = ["cell", "condition", "protocol", "code", "metric", "value", "robust_z",
                "excluded", "reason"]


def _row(cell: str, cond: str, proto: str, code: str, metric: str, value: float, z: float,
         reason: str, excluded: bool = False) -> dict:
    return {"cell": cell, "condition": cond, "protocol": proto, "code": code, "metric": metric,
            "value": value, "robust_z": z, "excluded": excluded, "reason": reason}


def _robust(values: pd.DataFrame, metric: str, code: str, z_max: float, floor_rel: float,
            floor_abs: float) -> list[dict]:
    out = []
    v = values[values["metric"] == metric]
    for (cond, proto), g in v.groupby(["condition", "protocol"], sort=False):
        if len(g) < 3:
            continue
        x = g["value"].to_numpy(float)
        u = g["u_cell"].to_numpy(float)
        floor = max(floor_rel * abs(float(np.nanmedian(x))), floor_abs,
                    float(np.sqrt(np.nanmean(u**2))) if np.isfinite(u).any() else 0.0)
        z = robust_z(x, floor)
        med = float(np.nanmedian(x))
        for k in np.flatnonzero(np.abs(z) > z_max):
            out.append(_row(str(g["cell"].iat[k]), str(cond), str(proto), code, metric,
                            float(x[k]), float(z[k]),
                            f"{metric} {x[k]:.4g} {g['unit'].iat[k]} against the median "
                            f"{med:.4g} of {len(g)} cells (robust z {z[k]:+.1f}, limit "
                            f"{z_max:g})"))
    return out


def _ce_range(values: pd.DataFrame, lo: float, hi: float) -> list[dict]:
    v = values[values["metric"] == "Mean coulombic efficiency"]
    bad = v[(v["value"] < lo) | (v["value"] > hi)]
    return [_row(str(r.cell), str(r.condition), str(r.protocol), "ce_anomaly",
                 "Mean coulombic efficiency", float(r.value), float("nan"),
                 f"mean coulombic efficiency {r.value:.1f} % outside {lo:g}–{hi:g} %")
            for r in bad.itertuples(index=False)]


def _life(values: pd.DataFrame, collapse: float) -> list[dict]:
    out = []
    v = values[values["metric"] == "Discharge capacity"]
    if v.empty:
        return out
    per = v.groupby(["condition", "protocol", "cell"], sort=False)
    last = per["position"].max()
    for (cond, proto), g in last.groupby(level=[0, 1], sort=False):
        med = float(g.median())
        for (_, _, cell), n in g.items():
            if len(g) >= 2 and n < 0.5 * med:
                out.append(_row(str(cell), str(cond), str(proto), "early_end", "Cycles",
                                float(n), float("nan"),
                                f"ran {n:g} cycles, under half the median {med:g} of "
                                f"{len(g)} cells"))
    for (cond, proto, cell), g in per:
        g = g.sort_values("position")
        after = g[g["position"] >= 2]["value"].to_numpy(float)
        if after.size >= 2 and np.isfinite(after).any():
            top, end = float(np.nanmax(after)), float(after[-1])
            if top > 0 and end < collapse * top:
                out.append(_row(str(cell), str(cond), str(proto), "capacity_collapse",
                                "Discharge capacity", end, float("nan"),
                                f"last discharge capacity {end:.4g} mAh/g is "
                                f"{end / top:.0%} of its highest {top:.4g} (limit {collapse:.0%})"))
    return out


def cell_flags(
    cells: pd.DataFrame,
    values: pd.DataFrame,
    *,
    z_max: float = 3.5,
    ce_range: tuple[float, float] = (90.0, 105.0),
    collapse: float = 0.2,
    floor: float = 0.05,
) -> pd.DataFrame:
    """Outlier and exclusion flags of the cells (module docstring).

    Parameters
    ----------
    cells : DataFrame
        ``Cell``, ``Condition``, ``Protocol``, ``Excluded`` (the manifest's reason or "").
    values : DataFrame
        :func:`sulfurscope.replicates.cell_metrics` output (included cells only).
    z_max, ce_range, collapse, floor : float, (float, float), float, float
        Limits (module docstring).

    Returns
    -------
    DataFrame
        :data:`FLAG_COLUMNS`, one row per flag.
    """
    rows = [_row(str(c.Cell), str(c.Condition), str(c.Protocol), "excluded", "", float("nan"),
                 float("nan"), f"excluded by the manifest: {c.Excluded}", True)
            for c in cells.itertuples(index=False) if str(c.Excluded or "")]
    seen = set(values["cell"].astype(str)) if len(values) else set()
    rows += [_row(str(c.Cell), str(c.Condition), str(c.Protocol), "no_results", "", float("nan"),
                  float("nan"), "no result to include (the cell's file could not be read or its "
                  "analysis failed: see the problems table)")
             for c in cells.itertuples(index=False)
             if not str(c.Excluded or "") and str(c.Cell) not in seen]
    if len(values):
        rows += _robust(values, "First-discharge capacity", "outlier_first_discharge", z_max,
                        floor, 0.0)
        rows += _robust(values, "Mean coulombic efficiency", "outlier_ce", z_max, 0.0, 1.0)
        rows += _ce_range(values, *ce_range)
        rows += _life(values, collapse)
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)
