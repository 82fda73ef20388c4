"""Rate capability (C-rate blocks found from the current alone) and asymmetric charge/discharge rates.

The study's rate test is a C/10 formation discharge followed by 5 cycles each at C/40, C/20, C/10, C/5
and C/2.5 (Fig 1e), but any sequence is found: consecutive cycles whose C-rates agree within a relative
tolerance form one block. Asymmetric tests (Fig 5f,g) pair each discharge with the charge before it,
because in a charge-limited cell the discharge can only return what that charge delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.cycling.cycles import CycleSummary, _records
from sulfurscope.errors import MissingColumnError, SulfurscopeError

__all__ = [
    "AsymmetricRates",
    "RateCapability",
    "asymmetric_rates",
    "c_rate_label",
    "rate_capability",
]


def c_rate_label(c_rate: float) -> str:
    """Label a C-rate the way papers write it.

    Examples
    --------
    >>> c_rate_label(0.4), c_rate_label(0.025), c_rate_label(1.0), c_rate_label(2.0)
    ('C/2.5', 'C/40', '1C', '2C')
    """
    if not np.isfinite(c_rate) or c_rate <= 0:
        return "n/a"
    if c_rate >= 1:
        return f"{c_rate:.3g}C"
    return f"C/{1.0 / c_rate:.3g}"


def _specific(summary: CycleSummary) -> pd.DataFrame:
    t = summary.table
    if "Discharge C-rate" not in t.columns:
        raise SulfurscopeError(
            "rate capability needs C-rates and specific capacities: build the cycle summary "
            "with sulfur_mass_mg"
        )
    return t


@dataclass(frozen=True, slots=True)
class RateCapability:
    """C-rate blocks of a rate test.

    Attributes
    ----------
    table : DataFrame
        One row per block: ``Block``, ``C-rate`` (mean measured), ``Label`` (e.g. ``C/2.5``),
        ``First cycle``, ``Last cycle``, ``Cycles``, ``Mean discharge capacity [mAh/g]``,
        ``SD discharge capacity [mAh/g]``, ``Mean charge capacity [mAh/g]``,
        ``SD charge capacity [mAh/g]``, ``Mean coulombic efficiency [%]`` (of the block's own
        charge/discharge pairs, ``CE pairing``),
        ``Fade in block [%]`` ((last − first)/first × 100 of the discharge capacity),
        ``Fade rate [%/cycle]`` (least-squares slope relative to the block mean).
    cycles : DataFrame
        The cycle summary rows with their ``Block`` and ``C-rate`` columns.
    by : str
        Which half's rate defined the blocks.
    tolerance : float
        Relative C-rate tolerance used.
    """

    table: pd.DataFrame
    cycles: pd.DataFrame
    by: str
    tolerance: float

    def to_frame(self) -> pd.DataFrame:
        """The block table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """Blocks as JSON-ready records."""
        return {"by": self.by, "tolerance": self.tolerance, "blocks": _records(self.table)}


def _blocks(rates: np.ndarray, tolerance: float) -> np.ndarray:
    """Block number (0-based) of each cycle: consecutive C-rates within |ln(C/C_block)| < tolerance,
    C_block the running median of the block."""
    block = np.zeros(len(rates), dtype=int)
    ref, members = rates[0], [rates[0]]
    for k in range(1, len(rates)):
        if abs(np.log(rates[k] / ref)) < tolerance:
            block[k] = block[k - 1]
            members.append(rates[k])
            ref = float(np.median(members))
        else:
            block[k], ref, members = block[k - 1] + 1, rates[k], [rates[k]]
    return block


def _mean_sd(x: np.ndarray) -> tuple[float, float]:
    ok = x[np.isfinite(x)]
    if not ok.size:
        return float("nan"), float("nan")
    return float(ok.mean()), float(ok.std(ddof=1)) if ok.size > 1 else 0.0


def _block_charges(
    t: pd.DataFrame, cycles: np.ndarray, c_rate: float, tolerance: float
) -> tuple[np.ndarray, str]:
    """The charge capacities that belong to a block: the charges run at the block's C-rate among its
    cycles and the one before (a charge/discharge loop's charge sits in the previous discharge-first
    cycle), and how they pair with the discharges."""
    cand = t[t["Cycle"].isin(np.r_[cycles.min() - 1, cycles])]
    rate = cand["Charge C-rate"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        same = np.isfinite(rate) & (rate > 0) & (np.abs(np.log(rate / c_rate)) < tolerance)
    own = cand[same]
    qc = own["Charge capacity [mAh/g]"].to_numpy(float)
    first, last = (
        int(own["Cycle"].min()) if len(own) else 0,
        int(own["Cycle"].max()) if len(own) else 0,
    )
    pairing = (
        f"charges of cycles {first}–{last} with discharges of cycles {cycles.min()}–{cycles.max()}"
        if len(own)
        else "no charge at the block's rate"
    )
    return qc, pairing


def _block_row(
    b: int, cyc: pd.DataFrame, t: pd.DataFrame, rates: np.ndarray, tolerance: float
) -> dict[str, Any]:
    """Statistics of one block: capacities, its own charge/discharge pairs' CE, fade."""
    n = cyc["Cycle"].to_numpy()
    qd = cyc["Discharge capacity [mAh/g]"].to_numpy(dtype=float)
    c_rate = float(np.mean(rates))
    qc, pairing = _block_charges(t, n, c_rate, tolerance)
    mean_d, sd_d = _mean_sd(qd)
    mean_c, sd_c = _mean_sd(qc)
    ok = np.isfinite(qd)
    fade = fade_rate = 0.0
    if ok.sum() >= 2:
        fade = 100.0 * (qd[ok][-1] - qd[ok][0]) / qd[ok][0]
        fade_rate = 100.0 * float(np.polyfit(n[ok].astype(float), qd[ok], 1)[0]) / mean_d
    paired = len(qc) == ok.sum() and len(qc) > 0
    ce = 100.0 * float(np.nansum(qc) / np.nansum(qd[ok])) if paired else float("nan")
    return {
        "Block": b,
        "C-rate": c_rate,
        "Label": c_rate_label(c_rate),
        "First cycle": int(n[0]),
        "Last cycle": int(n[-1]),
        "Cycles": len(n),
        "Mean discharge capacity [mAh/g]": mean_d,
        "SD discharge capacity [mAh/g]": sd_d,
        "Mean charge capacity [mAh/g]": mean_c,
        "SD charge capacity [mAh/g]": sd_c,
        "Mean coulombic efficiency [%]": ce,
        "CE pairing": pairing if paired else f"{pairing} (unequal counts: no block CE)",
        "Fade in block [%]": float(fade),
        "Fade rate [%/cycle]": float(fade_rate),
    }


def rate_capability(
    summary: CycleSummary,
    *,
    by: Literal["discharge", "charge"] = "discharge",
    tolerance: float = 0.1,
    skip_first: int = 0,
) -> RateCapability:
    """Find C-rate blocks and their capacity statistics (Fig 1e).

    Parameters
    ----------
    summary : CycleSummary
        From :func:`sulfurscope.cycling.cycle_summary` with a sulfur mass.
    by : {"discharge", "charge"}
        Which half-cycle's C-rate defines the blocks.
    tolerance : float
        Consecutive cycles belong to one block while |ln(C_n / C_block)| < ``tolerance``.
    skip_first : int
        Cycles at the start to leave out (the formation cycle is kept as its own block otherwise).

    Returns
    -------
    RateCapability

    Notes
    -----
    Mean ± sample sd (ddof = 1; 0 for one cycle) per block. A block's charge capacity and its
    coulombic efficiency 100·ΣQ_ch/ΣQ_dis use the block's own pairs: the charges run at the block's
    rate (in a charge/discharge loop program they sit one discharge-first cycle earlier), never the
    next block's first charge; ``CE pairing`` says which. Fade rate: least-squares slope of capacity
    vs cycle over the block mean (%/cycle).
    """
    t = _specific(summary)
    col = "Discharge C-rate" if by == "discharge" else "Charge C-rate"
    cyc = t[t[col].notna() & (t[col] > 0)].copy()
    cyc = cyc[cyc["Cycle"] > cyc["Cycle"].min() + skip_first - 1] if skip_first else cyc
    if cyc.empty:
        raise SulfurscopeError(f"no cycle has a {by} C-rate: nothing to group into rate blocks")
    rates = cyc[col].to_numpy()
    block = _blocks(rates, tolerance)
    cyc["Block"] = block + 1
    bounds = np.flatnonzero(np.r_[True, block[1:] != block[:-1], True])
    rows = [
        _block_row(b, cyc.iloc[lo:hi], t, rates[lo:hi], tolerance)
        for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True), start=1)
    ]
    cyc = cyc.rename(columns={col: "C-rate"}) if col != "C-rate" else cyc
    return RateCapability(table=pd.DataFrame(rows), cycles=cyc, by=by, tolerance=tolerance)


@dataclass(frozen=True, slots=True)
class AsymmetricRates:
    """Discharges paired with the charge before them (Fig 5f,g).

    Attributes
    ----------
    table : DataFrame
        Per cycle: ``Cycle``, ``Discharge C-rate``, ``Preceding charge C-rate``,
        ``Discharge capacity [mAh/g]``, ``Preceding charge capacity [mAh/g]``, ``Charge C-rate``,
        ``Charge capacity [mAh/g]`` (the charge of the same cycle).
    pairs : DataFrame
        Per distinct (preceding charge rate, discharge rate) pair, in order of appearance:
        ``Charge label``, ``Discharge label``, ``Preceding charge C-rate``, ``Discharge C-rate``,
        ``Cycles``, ``Mean discharge capacity [mAh/g]``, ``SD discharge capacity [mAh/g]``.
    """

    table: pd.DataFrame
    pairs: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The per-cycle table."""
        return self.table


def asymmetric_rates(summary: CycleSummary, *, tolerance: float = 0.1) -> AsymmetricRates:
    """Per-cycle charge and discharge C-rates, each discharge paired with the charge before it.

    With discharge-first cycles the charge before discharge n is the charge of cycle n − 1; with
    charge-first cycles it is the charge of cycle n.

    Parameters
    ----------
    summary : CycleSummary
        With a sulfur mass.
    tolerance : float
        Pairs whose rates agree within |ln ratio| < tolerance are grouped.

    Returns
    -------
    AsymmetricRates
    """
    t = _specific(summary)
    for c in ("Charge C-rate", "Charge capacity [mAh/g]"):
        if c not in t.columns:  # pragma: no cover - _specific guarantees these
            raise MissingColumnError(c)
    out = pd.DataFrame({"Cycle": t["Cycle"].to_numpy()})
    out["Discharge C-rate"] = t["Discharge C-rate"].to_numpy()
    out["Discharge capacity [mAh/g]"] = t["Discharge capacity [mAh/g]"].to_numpy()
    out["Charge C-rate"] = t["Charge C-rate"].to_numpy()
    out["Charge capacity [mAh/g]"] = t["Charge capacity [mAh/g]"].to_numpy()
    if summary.first == "discharge":
        out["Preceding charge C-rate"] = out["Charge C-rate"].shift(1)
        out["Preceding charge capacity [mAh/g]"] = out["Charge capacity [mAh/g]"].shift(1)
    else:
        out["Preceding charge C-rate"] = out["Charge C-rate"]
        out["Preceding charge capacity [mAh/g]"] = out["Charge capacity [mAh/g]"]
    valid = out.dropna(subset=["Discharge C-rate", "Preceding charge C-rate"])
    rows: list[dict[str, Any]] = []
    keys: list[tuple[float, float]] = []
    members: dict[int, list[float]] = {}
    for _, r in valid.iterrows():
        rc, rd = float(r["Preceding charge C-rate"]), float(r["Discharge C-rate"])
        for k, (kc, kd) in enumerate(keys):
            if abs(np.log(rc / kc)) < tolerance and abs(np.log(rd / kd)) < tolerance:
                members[k].append(float(r["Discharge capacity [mAh/g]"]))
                break
        else:
            keys.append((rc, rd))
            members[len(keys) - 1] = [float(r["Discharge capacity [mAh/g]"])]
    for k, (kc, kd) in enumerate(keys):
        q = np.asarray(members[k])
        rows.append(
            {
                "Charge label": c_rate_label(kc),
                "Discharge label": c_rate_label(kd),
                "Preceding charge C-rate": kc,
                "Discharge C-rate": kd,
                "Cycles": len(q),
                "Mean discharge capacity [mAh/g]": float(q.mean()),
                "SD discharge capacity [mAh/g]": float(q.std(ddof=1)) if len(q) > 1 else 0.0,
            }
        )
    cols = [
        "Cycle",
        "Discharge C-rate",
        "Preceding charge C-rate",
        "Discharge capacity [mAh/g]",
        "Preceding charge capacity [mAh/g]",
        "Charge C-rate",
        "Charge capacity [mAh/g]",
    ]
    return AsymmetricRates(table=out[cols], pairs=pd.DataFrame(rows))
