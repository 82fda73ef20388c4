"""Cycle segmentation and the per-cycle summary of a galvanostatic run.

Half-cycles are found from the sign of the current alone, so the segmentation does not depend on what
the instrument calls a step: rests (``Rest`` flag or zero current) inherit the half-cycle before them,
constant-voltage holds keep the sign of their decaying current, and GITT pulses of one sign separated
by rests form one half-cycle.

**Glitches, not cycles, are merged.** A run of one sign is merged into the run before it only when
it is a *glitch*: it passes less than ``min_charge_fraction`` (0.5 %) of the largest run's charge
**and** its voltage moves less than ``max_glitch_swing`` (10 %) of the file's voltage range — an
impedance excitation, a short pulse of the other sign. A small but real half-cycle (a fast-fading
cell's tiny discharges still sweep to the cut-off voltage) is kept. Every merged run is listed
(:attr:`CycleSummary.merged`) with its charge and swing, and a half-cycle's capacity counts only the
charge that flowed in its own direction (the merged opposite charge is in ``Opposite charge
[mAh]``), so the totals over the file equal the cycler's: every mAh is counted once.

**Cycle convention.** By default (``first="auto"``) a cycle opens with the cell's own first
half-cycle: a lithium–sulfur cell starts with its CEI-forming discharge (discharge, then the charge
after it; CE = Q_ch/Q_dis), a cell started with a charge is numbered charge-then-discharge (CE =
Q_dis/Q_ch). ``first="discharge"``/``"charge"`` force one. The convention used is reported. A
half-cycle before the first one of the chosen kind belongs to cycle 0. Where the file carries the
cycler's own cycle index (``Cycle (file)``), the number of cycles is compared with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.cycling.cell import one_c_current_ma
from sulfurscope.errors import MissingColumnError, SulfurscopeError
from sulfurscope.units import CHARGE, CURRENT, Q_THEORETICAL_SULFUR_MAH_G, REST, TIME, VOLTAGE

__all__ = [
    "CycleSummary",
    "HalfCycles",
    "cycle_summary",
    "half_cycles",
    "label_cycles",
]

Convention = Literal["auto", "discharge", "charge"]


def _require(frame: pd.DataFrame, *cols: str) -> None:
    for c in cols:
        if c not in frame.columns:
            raise MissingColumnError(
                f"the cycler table has no {c!r} column (found {list(frame.columns)[:10]}); "
                "read files with sulfurscope.io.read_cycler"
            )


@dataclass(frozen=True, slots=True)
class _Segments:
    half: np.ndarray  # (N,) int, half-cycle index per point, 0-based
    direction: np.ndarray  # (H,) int, +1 charge, -1 discharge
    cycle: np.ndarray  # (H,) int, cycle number per half-cycle
    start: np.ndarray  # (H,) int, first point index of each half-cycle
    tolerance_ma: float
    first: str = "discharge"  # the convention used ("auto" resolved)
    merged: tuple[dict[str, float], ...] = ()  # the glitches merged into their neighbours


def _arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns the analyses need, as float/bool arrays (one pandas access each)."""
    _require(frame, TIME, VOLTAGE, CURRENT, CHARGE)
    out = {
        "t": frame[TIME].to_numpy(dtype=float),
        "v": frame[VOLTAGE].to_numpy(dtype=float),
        "i": frame[CURRENT].to_numpy(dtype=float),
        "q": frame[CHARGE].to_numpy(dtype=float),
    }
    out["rest"] = frame[REST].to_numpy(dtype=bool) if REST in frame.columns else None  # type: ignore[assignment]
    return out


def _segment(
    frame: pd.DataFrame,
    *,
    first: Convention,
    current_tolerance_ma: float | None,
    min_charge_fraction: float,
    arrays: dict[str, np.ndarray] | None = None,
    max_glitch_swing: float = 0.1,
) -> _Segments:
    a = arrays if arrays is not None else _arrays(frame)
    if first not in ("auto", "discharge", "charge"):
        raise SulfurscopeError(f"first must be 'auto', 'discharge' or 'charge', got {first!r}")
    i = a["i"]
    n = len(i)
    if n == 0:
        raise SulfurscopeError("the cycler table is empty")
    imax = float(np.nanmax(np.abs(i)))
    tol = current_tolerance_ma if current_tolerance_ma is not None else max(1e-3 * imax, 1e-9)
    s = (i > tol).astype(np.int8) - (i < -tol).astype(np.int8)
    if a["rest"] is not None:
        s[a["rest"]] = 0
    if not s.any():
        raise SulfurscopeError(
            "no current above the tolerance anywhere in the table: nothing to segment "
            f"(tolerance {tol:g} mA)"
        )
    s, merged = _merge_glitches(s, a, min_charge_fraction, max_glitch_swing)
    filled = _ffill_sign(s)
    starts = np.flatnonzero(np.r_[True, filled[1:] != filled[:-1]])
    direction = filled[starts].astype(int)
    half = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    used = first if first != "auto" else ("discharge" if direction[0] < 0 else "charge")
    opener = -1 if used == "discharge" else 1
    cycle = np.cumsum(direction == opener)
    return _Segments(half=half, direction=direction, cycle=cycle, start=starts,
                     tolerance_ma=float(tol), first=used, merged=tuple(merged))


def _merge_glitches(
    s: np.ndarray, a: dict[str, np.ndarray], min_charge_fraction: float, max_swing: float
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Silence the runs that are glitches (see the module docstring) so that their points join the
    run before them; return the new sign array and a record of each merged run."""
    q, v, t = a["q"], a["v"], a["t"]
    n = len(s)
    dq = np.r_[0.0, np.diff(q)]
    v_range = float(np.nanmax(v) - np.nanmin(v)) or 1.0
    merged: list[dict[str, float]] = []
    for _ in range(3):
        filled = _ffill_sign(s)
        starts = np.flatnonzero(np.r_[True, filled[1:] != filled[:-1]])
        if len(starts) < 2 or min_charge_fraction <= 0:
            break
        ends = np.r_[starts[1:], n]
        charge = np.abs(np.add.reduceat(dq, starts))
        swing = np.maximum.reduceat(v, starts) - np.minimum.reduceat(v, starts)
        glitch = (charge < min_charge_fraction * charge.max()) & (swing < max_swing * v_range)
        if not glitch.any() or glitch.all():
            break
        for k in np.flatnonzero(glitch):
            merged.append({"Start index": int(starts[k]), "Stop index": int(ends[k]),
                           "Start time [s]": float(t[starts[k]]),
                           "Direction": int(filled[starts[k]]), "Charge [mAh]": float(charge[k]),
                           "Voltage swing [V]": float(swing[k])})
        kill = np.zeros(n + 1, dtype=np.int32)
        np.add.at(kill, starts[glitch], 1)
        np.add.at(kill, ends[glitch], -1)
        s = np.where(np.cumsum(kill[:-1]) > 0, 0, s).astype(np.int8)
        if not s.any():
            break
    return s, merged


def _ffill_sign(s: np.ndarray) -> np.ndarray:
    """Forward-fill zeros with the last non-zero sign; leading zeros take the first non-zero sign."""
    n = len(s)
    idx = np.where(s != 0, np.arange(n), -1)
    np.maximum.accumulate(idx, out=idx)
    first_nz = int(np.flatnonzero(s)[0])
    idx[idx < 0] = first_nz
    return s[idx]


def label_cycles(
    frame: pd.DataFrame,
    *,
    first: Convention = "auto",
    current_tolerance_ma: float | None = None,
    min_charge_fraction: float = 0.005,
) -> pd.DataFrame:
    """Return a copy of the cycler table with ``Cycle``, ``Half cycle`` and ``Direction`` columns.

    Parameters
    ----------
    frame : DataFrame
        Canonical cycler table (``Time [s]``, ``Voltage [V]``, ``Current [mA]``, ``Charge [mAh]``).
    first : {"auto", "discharge", "charge"}
        Which half opens a cycle (default: the cell's own first half-cycle; see the module
        docstring).
    current_tolerance_ma : float, optional
        |I| at or below this is treated as no current (default 0.1 % of the largest |I|).
    min_charge_fraction : float
        A run of one sign passing less than this fraction of the largest run's charge, and moving
        the voltage by less than 10 % of the file's range, is a glitch merged into the run before
        it (default 0.5 %).

    Returns
    -------
    DataFrame
        ``Direction`` is +1 (charge) or −1 (discharge) for the half-cycle each point belongs to.
    """
    seg = _segment(
        frame,
        first=first,
        current_tolerance_ma=current_tolerance_ma,
        min_charge_fraction=min_charge_fraction,
    )
    out = frame.copy()
    out["Half cycle"] = seg.half + 1
    out["Cycle"] = seg.cycle[seg.half]
    out["Direction"] = seg.direction[seg.half]
    return out


@dataclass(frozen=True, slots=True)
class HalfCycles:
    """One row per half-cycle.

    Attributes
    ----------
    table : DataFrame
        ``Half cycle``, ``Cycle``, ``Direction`` (+1 charge / −1 discharge), ``Start index``,
        ``Stop index`` (exclusive), ``Start time [s]``, ``End time [s]``, ``Capacity [mAh]``,
        ``Energy [mWh]``, ``Mean voltage [V]``, ``Current [mA]`` (median |I| under current),
        ``Min voltage [V]``, ``Max voltage [V]``.
    first : str
        The cycle convention used.
    current_tolerance_ma : float
        The no-current threshold used.
    """

    table: pd.DataFrame
    first: str
    current_tolerance_ma: float

    def to_frame(self) -> pd.DataFrame:
        """The half-cycle table."""
        return self.table


def _half_cycle_arrays(a: dict[str, np.ndarray], seg: _Segments) -> dict[str, np.ndarray]:
    """Per-half-cycle aggregates as arrays (the work of :func:`half_cycles`, without pandas)."""
    t, v, i, q = a["t"], a["v"], a["i"], a["q"]
    n = len(t)
    start = seg.start
    stop = np.r_[start[1:], n]
    dq = np.empty(n)
    dq[0] = 0.0
    np.subtract(q[1:], q[:-1], out=dq[1:])
    vmid = np.empty(n)
    vmid[0] = v[0]
    np.add(v[1:], v[:-1], out=vmid[1:])
    vmid[1:] *= 0.5
    signed = dq * seg.direction[seg.half]  # positive for the half-cycle's own direction
    own = np.maximum(signed, 0.0)
    cap = np.add.reduceat(own, start)  # only the charge that flowed the half-cycle's way
    opposite = np.add.reduceat(np.maximum(-signed, 0.0), start)
    energy = np.add.reduceat(vmid * own, start)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_v = np.where(cap > 0, energy / np.where(cap > 0, cap, 1.0), np.nan)
    absi = np.abs(i)
    under = absi > seg.tolerance_ma
    if a["rest"] is not None:
        under &= ~a["rest"]
    med = np.full(len(start), np.nan)
    for k, (lo, hi) in enumerate(zip(start, stop, strict=True)):
        x = absi[lo:hi][under[lo:hi]]
        if len(x):
            med[k] = np.median(x)
    return {
        "Half cycle": np.arange(1, len(start) + 1),
        "Cycle": seg.cycle,
        "Direction": seg.direction,
        "Start index": start,
        "Stop index": stop,
        "Start time [s]": t[start],
        "End time [s]": t[stop - 1],
        "Capacity [mAh]": cap,
        "Opposite charge [mAh]": opposite,
        "Energy [mWh]": energy,
        "Mean voltage [V]": mean_v,
        "Current [mA]": med,
        "Min voltage [V]": np.minimum.reduceat(v, start),
        "Max voltage [V]": np.maximum.reduceat(v, start),
    }


def half_cycles(
    frame: pd.DataFrame,
    *,
    first: Convention = "auto",
    current_tolerance_ma: float | None = None,
    min_charge_fraction: float = 0.005,
) -> HalfCycles:
    """Capacity, energy and mean voltage of every half-cycle.

    Capacity is the charge that flowed in the half-cycle's own direction (Σ of the positive steps of
    direction × ΔQ; interval j → j+1 belongs to the half-cycle of point j+1; the rest is ``Opposite
    charge [mAh]``), energy is Σ V̄ ΔQ over the same steps with V̄ the interval's mean voltage, and
    the mean voltage is energy / capacity.

    Parameters
    ----------
    frame : DataFrame
        Canonical cycler table.
    first, current_tolerance_ma, min_charge_fraction
        See :func:`label_cycles`.

    Returns
    -------
    HalfCycles
    """
    arrays = _arrays(frame)
    seg = _segment(
        frame,
        first=first,
        current_tolerance_ma=current_tolerance_ma,
        min_charge_fraction=min_charge_fraction,
        arrays=arrays,
    )
    table = pd.DataFrame(_half_cycle_arrays(arrays, seg))
    return HalfCycles(table=table, first=seg.first, current_tolerance_ma=seg.tolerance_ma)


@dataclass(frozen=True, slots=True)
class CycleSummary:
    """Per-cycle capacities, efficiency, voltages, energy and C-rates.

    Attributes
    ----------
    table : DataFrame
        One row per cycle: ``Cycle``, ``Discharge capacity [mAh]``, ``Charge capacity [mAh]``,
        ``Coulombic efficiency [%]`` (charge/discharge for discharge-first cycles: the charge
        recovers what the discharge stored, in a Li–S cell that is Q_ch/Q_dis; for charge-first
        cycles Q_dis/Q_ch), ``Mean discharge voltage [V]``, ``Mean charge voltage [V]``,
        ``Overpotential [V]`` (mean charge − mean discharge voltage), ``Discharge energy [mWh]``,
        ``Charge energy [mWh]``, ``Discharge current [mA]``, ``Charge current [mA]``, and with a sulfur
        mass also ``Discharge capacity [mAh/g]``, ``Charge capacity [mAh/g]``,
        ``Discharge energy [Wh/kg]``, ``Charge energy [Wh/kg]``, ``Discharge C-rate``, ``Charge C-rate``
        (per gram of sulfur; C-rate = I / (m_S · q_th)).
    half_cycles : DataFrame
        The half-cycle table the summary was built from (see :class:`HalfCycles`).
    sulfur_mass_mg : float or None
        Sulfur mass used for the specific columns.
    theoretical_capacity_mah_g : float
        Capacity defining 1C.
    first : str
        Cycle convention used (``"discharge"`` or ``"charge"``: which half opens a cycle).
    merged : DataFrame
        The glitches merged into their neighbours (``Start index``, ``Stop index``, ``Start time
        [s]``, ``Direction``, ``Charge [mAh]``, ``Voltage swing [V]``); empty when none.
    file_cycles : int or None
        The number of cycles in the cycler's own cycle index (``Cycle (file)``), when the file has
        one; compare with ``len(table)``.
    """

    table: pd.DataFrame
    half_cycles: pd.DataFrame
    sulfur_mass_mg: float | None
    theoretical_capacity_mah_g: float
    first: str
    merged: pd.DataFrame = field(default_factory=pd.DataFrame)
    file_cycles: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """The per-cycle table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """Summary as a JSON-ready dict (``records`` orientation for the table)."""
        return {
            "sulfur_mass_mg": self.sulfur_mass_mg,
            "theoretical_capacity_mah_g": self.theoretical_capacity_mah_g,
            "first": self.first,
            "merged_glitches": _records(self.merged),
            "file_cycles": self.file_cycles,
            "cycles": _records(self.table),
        }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in table.to_dict(orient="records"):
        out.append(
            {
                k: (None if isinstance(v, float) and not np.isfinite(v) else _py(v))
                for k, v in row.items()
            }
        )
    return out


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def cycle_summary(
    frame: pd.DataFrame,
    *,
    sulfur_mass_mg: float | None = None,
    theoretical_capacity_mah_g: float = Q_THEORETICAL_SULFUR_MAH_G,
    first: Convention = "auto",
    current_tolerance_ma: float | None = None,
    min_charge_fraction: float = 0.005,
) -> CycleSummary:
    """Summarise every cycle of a galvanostatic run.

    Parameters
    ----------
    frame : DataFrame
        Canonical cycler table.
    sulfur_mass_mg : float, optional
        Sulfur mass, mg. Without it the table has capacities in mAh only (no mAh/g, no C-rates).
    theoretical_capacity_mah_g : float
        Capacity defining 1C (default :data:`~sulfurscope.units.Q_THEORETICAL_SULFUR_MAH_G`).
    first, current_tolerance_ma, min_charge_fraction
        See :func:`label_cycles`.

    Returns
    -------
    CycleSummary

    Notes
    -----
    Specific capacity q = Q / m_S (mAh/g with m_S in g); C-rate = |I| / (m_S q_th); Coulombic
    efficiency of a discharge-first cycle n is Q_ch,n / Q_dis,n × 100 %. Energy E = Σ V̄ |ΔQ| (mWh), mean
    voltage E/Q.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(0, 7201.0, 10.0)
    >>> i = np.where(t <= 3600, -1.0, 1.0)                       # 1 mA: 1 h down, 1 h up
    >>> q = np.r_[0, np.cumsum(0.5 * (i[1:] + i[:-1]) * 10.0)] / 3600
    >>> df = pd.DataFrame({"Time [s]": t, "Voltage [V]": 2.1 + 0.0 * t, "Current [mA]": i,
    ...                    "Charge [mAh]": q})
    >>> s = cycle_summary(df, sulfur_mass_mg=1.0).table
    >>> round(float(s["Discharge capacity [mAh/g]"].iloc[0]))
    1000
    """
    arrays = _arrays(frame)
    seg = _segment(
        frame,
        first=first,
        current_tolerance_ma=current_tolerance_ma,
        min_charge_fraction=min_charge_fraction,
        arrays=arrays,
    )
    h = _half_cycle_arrays(arrays, seg)
    cols = _cycle_columns(h, seg)
    if sulfur_mass_mg is not None:
        cols.update(_specific_columns(cols, sulfur_mass_mg, theoretical_capacity_mah_g))
    return CycleSummary(
        table=pd.DataFrame(cols),
        half_cycles=pd.DataFrame(h),
        sulfur_mass_mg=sulfur_mass_mg,
        theoretical_capacity_mah_g=float(theoretical_capacity_mah_g),
        first=seg.first,
        merged=pd.DataFrame(list(seg.merged), columns=_MERGED_COLUMNS),
        file_cycles=_file_cycles(frame),
    )


_MERGED_COLUMNS = ["Start index", "Stop index", "Start time [s]", "Direction", "Charge [mAh]",
                   "Voltage swing [V]"]


def _file_cycles(frame: pd.DataFrame) -> int | None:
    """Distinct values of the cycler's own cycle index, if the file has one."""
    if "Cycle (file)" not in frame.columns:
        return None
    values = pd.to_numeric(frame["Cycle (file)"], errors="coerce").dropna()
    return int(values.nunique()) if len(values) else None


def _per_cycle(h: dict[str, np.ndarray], seg: _Segments, sign: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capacity, energy and current of each cycle's half of direction ``sign``."""
    cycles = np.unique(seg.cycle)
    pos = np.searchsorted(cycles, seg.cycle)
    nc = len(cycles)
    m = seg.direction == sign
    cap = np.bincount(pos[m], weights=h["Capacity [mAh]"][m], minlength=nc).astype(float)
    en = np.bincount(pos[m], weights=h["Energy [mWh]"][m], minlength=nc).astype(float)
    present = np.bincount(pos[m], minlength=nc) > 0
    cap[~present] = np.nan
    en[~present] = np.nan
    # the current of a cycle's half: the median current of its largest half-cycle
    cur = np.full(nc, np.nan)
    idx = np.flatnonzero(m)
    order = idx[np.lexsort((h["Capacity [mAh]"][idx], pos[idx]))]
    last = np.r_[pos[order][1:] != pos[order][:-1], True] if len(order) else np.array([], bool)
    cur[pos[order][last]] = h["Current [mA]"][order][last]
    return cap, en, cur


def _cycle_columns(h: dict[str, np.ndarray], seg: _Segments) -> dict[str, np.ndarray]:
    qd, ed, id_ = _per_cycle(h, seg, -1)
    qc, ec, ic = _per_cycle(h, seg, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_d = ed / qd
        mean_c = ec / qc
        ce = 100.0 * (qc / qd if seg.first == "discharge" else qd / qc)
    return {
        "Cycle": np.unique(seg.cycle),
        "Discharge capacity [mAh]": qd,
        "Charge capacity [mAh]": qc,
        "Coulombic efficiency [%]": ce,
        "Mean discharge voltage [V]": mean_d,
        "Mean charge voltage [V]": mean_c,
        "Overpotential [V]": mean_c - mean_d,
        "Discharge energy [mWh]": ed,
        "Charge energy [mWh]": ec,
        "Discharge current [mA]": id_,
        "Charge current [mA]": ic,
    }


def _specific_columns(
    cols: dict[str, np.ndarray], sulfur_mass_mg: float, theoretical_capacity_mah_g: float
) -> dict[str, np.ndarray]:
    i1c = one_c_current_ma(sulfur_mass_mg, theoretical_capacity_mah_g=theoretical_capacity_mah_g)
    g = sulfur_mass_mg / 1000.0
    return {
        "Discharge capacity [mAh/g]": cols["Discharge capacity [mAh]"] / g,
        "Charge capacity [mAh/g]": cols["Charge capacity [mAh]"] / g,
        "Discharge energy [Wh/kg]": cols["Discharge energy [mWh]"] / g,
        "Charge energy [Wh/kg]": cols["Charge energy [mWh]"] / g,
        "Discharge C-rate": cols["Discharge current [mA]"] / i1c,
        "Charge C-rate": cols["Charge current [mA]"] / i1c,
    }
