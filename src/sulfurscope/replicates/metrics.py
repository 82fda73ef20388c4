"""Per-cell metric points of a study, in long form, ready for :func:`condition_summary`.

Each row is one cell's value of one metric at one cycle, rate or half-cycle, with the condition the
cell belongs to and the standard uncertainties its sulfur mass carries into it (capacities only:
coulombic efficiency, retention, τ and D do not depend on the mass).

=============================  =======  ======================================  ==================
metric                         unit     cycle_or_rate                           from table
=============================  =======  ======================================  ==================
Discharge capacity             mAh/g    cycle number                            cycling_cycles
Coulombic efficiency           %        cycle number                            cycling_cycles
First-discharge capacity       mAh/g    ``first discharge``                     cycling_cycles,
                                                                                gitt_steps
Mean coulombic efficiency      %        ``cycles >= 2``                         cycling_cycles
Rate-block discharge capacity  mAh/g    nominal rate (``C/10``, :func:`rate_label`; cycling_rate_blocks
                                        a repeated rate gets ``(repeat 2)``)
Retention                      %        cycle number                            cycling_retention
GITT tau                       s        half-cycle label (median of its rests)  gitt_steps
GITT D                         m2/s     half-cycle label (median, finite D)     gitt_diffusivity
=============================  =======  ======================================  ==================
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["CELL_COLUMNS", "METRIC_UNITS", "VALUE_COLUMNS", "cell_metrics", "rate_label"]

METRIC_UNITS = {
    "Discharge capacity": "mAh/g",
    "Coulombic efficiency": "%",
    "First-discharge capacity": "mAh/g",
    "Mean coulombic efficiency": "%",
    "Rate-block discharge capacity": "mAh/g",
    "Retention": "%",
    "GITT tau": "s",
    "GITT D": "m2/s",
}
#: Columns of the cells table the metrics need (the manifest's cells, as a frame).
CELL_COLUMNS = ["Cell", "Sample", "Condition", "Protocol", "Excluded"]
VALUE_COLUMNS = ["condition", "metric", "protocol", "cycle_or_rate", "position", "cell", "value",
                 "unit", "u_cell", "u_shared"]


_Part = dict  # column name -> array of one cell's points (joined once at the end)


def _frame(cell: pd.Series, metric: str, protocol: str, key: pd.Series | list, pos: np.ndarray,
           value: np.ndarray, rel: tuple[float, float]) -> _Part:
    value = np.asarray(value, dtype=float)
    n = value.size

    def full(v: object) -> np.ndarray:
        return np.full(n, v, dtype=object)

    return {
        "condition": full(cell["Condition"]), "metric": full(metric), "protocol": full(protocol),
        "cycle_or_rate": np.array([str(k) for k in key], dtype=object),
        "position": np.asarray(pos, dtype=float), "cell": full(cell["Cell"]), "value": value,
        "unit": full(METRIC_UNITS[metric]), "u_cell": np.abs(value) * rel[0],
        "u_shared": np.abs(value) * rel[1],
    }


def _cycling(cell: pd.Series, g: pd.DataFrame, rel: tuple[float, float]) -> list[_Part]:
    proto = str(g["Protocol"].iloc[0]) if "Protocol" in g else str(cell["Protocol"])
    cyc = g["Cycle"].to_numpy(int)
    out = []
    if "Discharge capacity [mAh/g]" in g:
        q = g["Discharge capacity [mAh/g]"].to_numpy(float)
        out.append(_frame(cell, "Discharge capacity", proto, cyc, cyc, q, rel))
        first = g[g["Cycle"] == g["Cycle"].min()]
        out.append(_frame(cell, "First-discharge capacity", proto, ["first discharge"], [1.0],
                          first["Discharge capacity [mAh/g]"].to_numpy(float)[:1], rel))
    if "Coulombic efficiency [%]" in g:
        ce = g["Coulombic efficiency [%]"].to_numpy(float)
        out.append(_frame(cell, "Coulombic efficiency", proto, cyc, cyc, ce, (0.0, 0.0)))
        later = ce[(cyc >= 2) & np.isfinite(ce)]
        if later.size:
            out.append(_frame(cell, "Mean coulombic efficiency", proto, ["cycles >= 2"], [2.0],
                              np.array([later.mean()]), (0.0, 0.0)))
    return out


_LADDER = np.array([1 / 100, 1 / 50, 1 / 40, 1 / 25, 1 / 20, 1 / 10, 1 / 8, 1 / 5, 1 / 4,
                    1 / 3, 1 / 2.5, 1 / 2, 1, 2, 3, 4, 5, 10])


def rate_label(c_rate: float) -> str:
    """The nominal C-rate a measured one stands for: the nearest of the usual ladder (C/100 … 10C)
    within 15 %, else the measured value (``C/9.3``).

    Examples
    --------
    >>> rate_label(0.0952), rate_label(0.41), rate_label(0.107), rate_label(2.0)
    ('C/10', 'C/2.5', 'C/10', '2C')
    """
    if not np.isfinite(c_rate) or c_rate <= 0:
        return "?"
    k = int(np.argmin(np.abs(np.log(_LADDER / c_rate))))
    r = float(_LADDER[k]) if abs(np.log(_LADDER[k] / c_rate)) < np.log(1.15) else float(c_rate)
    return f"{r:.3g}C" if r >= 1 else f"C/{1 / r:.3g}"


def _blocks(cell: pd.Series, g: pd.DataFrame, rel: tuple[float, float]) -> _Part:
    """Blocks keyed by their nominal rate in test order (a repeated rate gets ``(repeat k)``), so
    replicate cells whose measured C-rates differ by their mass error still match."""
    seen: dict[str, int] = {}
    keys = []
    for c in g["C-rate"].to_numpy(float):
        lab = rate_label(c)
        seen[lab] = seen.get(lab, 0) + 1
        keys.append(lab if seen[lab] == 1 else f"{lab} (repeat {seen[lab]})")
    return _frame(cell, "Rate-block discharge capacity", str(cell["Protocol"]), keys,
                  g["Block"].to_numpy(float), g["Mean discharge capacity [mAh/g]"].to_numpy(float),
                  rel)


def _gitt(cell: pd.Series, steps: pd.DataFrame | None, diff: pd.DataFrame | None,
          rel: tuple[float, float]) -> list[_Part]:
    out = []
    if steps is not None and "Tau [s]" in steps:
        order = steps.groupby("Half cycle label", sort=False)["Half cycle"].first()
        tau = steps.groupby("Half cycle label", sort=False)["Tau [s]"].median()
        tau = tau[np.isfinite(tau.to_numpy(float))]
        if len(tau):
            out.append(_frame(cell, "GITT tau", "gitt", tau.index.tolist(),
                              order[tau.index].to_numpy(float), tau.to_numpy(float), (0.0, 0.0)))
        first = steps[steps["Half cycle"] == steps["Half cycle"].min()]
        if "State of charge [mAh/g]" in first and len(first):
            q = np.nanmax(np.abs(first["State of charge [mAh/g]"].to_numpy(float)))
            out.append(_frame(cell, "First-discharge capacity", "gitt", ["first discharge"],
                              [1.0], np.array([q]), rel))
    if diff is not None and "D [m2/s]" in diff and len(diff):
        d = diff[np.isfinite(diff["D [m2/s]"].to_numpy(float))]
        med = d.groupby("Half cycle label", sort=False)["D [m2/s]"].median()
        if len(med):
            pos = np.arange(1, len(med) + 1, dtype=float)
            out.append(_frame(cell, "GITT D", "gitt", med.index.tolist(), pos,
                              med.to_numpy(float), (0.0, 0.0)))
    return out


def _by_cell(table: pd.DataFrame | None, column: str = "Task") -> Mapping[str, pd.DataFrame]:
    if table is None or table.empty or column not in table:
        return {}
    return {str(k): g for k, g in table.groupby(column, sort=False)}


def cell_metrics(
    cells: pd.DataFrame,
    masses: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """Every included cell's metric points (module docstring), in long form.

    Parameters
    ----------
    cells : DataFrame
        :data:`CELL_COLUMNS` (``Excluded``: the manifest's reason, "" when included).
    masses : DataFrame
        ``cell``, ``u_rel_cell``, ``u_rel_shared`` (:func:`sulfurscope.replicates.cell_masses`).
    tables : mapping of str to DataFrame
        Store tables by name (``cycling_cycles``, ``cycling_rate_blocks``, ``cycling_retention``,
        ``gitt_steps``, ``gitt_diffusivity``; absent ones are skipped). Rows are matched to cells
        by ``Task`` (``Cell`` for ``gitt_diffusivity``).

    Returns
    -------
    DataFrame
        :data:`VALUE_COLUMNS`.
    """
    cyc = _by_cell(tables.get("cycling_cycles"))
    blocks = _by_cell(tables.get("cycling_rate_blocks"))
    ret = _by_cell(tables.get("cycling_retention"))
    steps = _by_cell(tables.get("gitt_steps"))
    diff = _by_cell(tables.get("gitt_diffusivity"), "Cell")
    rel = {str(r.cell): (float(r.u_rel_cell), float(r.u_rel_shared))
           for r in masses.itertuples(index=False)} if len(masses) else {}
    parts: list[_Part] = []
    for _, cell in cells.iterrows():
        name = str(cell["Cell"])
        if str(cell.get("Excluded", "") or ""):
            continue
        r = rel.get(name, (np.nan, np.nan))
        if name in cyc:
            parts += _cycling(cell, cyc[name], r)
        if name in blocks and "Mean discharge capacity [mAh/g]" in blocks[name]:
            parts.append(_blocks(cell, blocks[name], r))
        if name in ret and "Retention [%]" in ret[name]:
            g = ret[name]
            parts.append(_frame(cell, "Retention", str(cell["Protocol"]), g["Cycle"].tolist(),
                                g["Cycle"].to_numpy(float), g["Retention [%]"].to_numpy(float),
                                (0.0, 0.0)))
        if name in steps or name in diff:
            parts += _gitt(cell, steps.get(name), diff.get(name), r)
    parts = [p for p in parts if p["value"].size]
    if not parts:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in VALUE_COLUMNS}).astype(
        {c: str for c in ("condition", "metric", "protocol", "cycle_or_rate", "cell", "unit")})
