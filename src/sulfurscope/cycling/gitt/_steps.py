"""Pulses and rests of a GITT run (private; see :mod:`sulfurscope.cycling.gitt`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.cycling import _relaxation as _rx
from sulfurscope.cycling.gitt._common import (
    mass_mg,
    ordinal,
    plain_dict,
    require_columns,
    runs,
)
from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import CHARGE, CURRENT, REST, TIME, VOLTAGE

__all__ = ["GittSteps", "check_steps", "gitt_steps"]


@dataclass(frozen=True, slots=True)
class GittSteps:
    """Every current pulse of a run and the open-circuit rest that follows it.

    One entry per pulse (a maximal run of same-sign current between rests). Row indices refer to the
    canonical table the steps were found in (``*_row`` start inclusive, ``*_stop_row`` exclusive;
    ``rest_start_row == rest_stop_row`` when no rest follows).

    Attributes
    ----------
    step : (K,) ndarray of int
        0-based pulse number.
    pulse_start_s, pulse_end_s : (K,) ndarray of float, s
        Times of the first and last sample under current.
    rest_start_s, rest_end_s : (K,) ndarray of float, s
        Times of the first and last sample of the rest after the pulse (NaN when ``has_rest`` is False).
    current_ma : (K,) ndarray of float, mA
        Median current of the pulse (positive = charge/delithiation).
    charge_mah : (K,) ndarray of float, mAh
        Signed charge passed during the pulse (from ``Charge [mAh]``).
    charge_end_mah : (K,) ndarray of float, mAh
        Cumulative ``Charge [mAh]`` of the table at the pulse end.
    direction : (K,) ndarray of str
        ``"lithiation"`` (discharge) or ``"delithiation"`` (charge).
    control : (K,) ndarray of str
        ``"galvanostatic"`` (constant current), ``"potentiostatic"`` (constant voltage, e.g. a Modular
        Pulse CV step) or ``"mixed"`` (e.g. CC then CV before the rest).
    half_cycle : (K,) ndarray of int
        1-based half-cycle (direction changes start a new one; rests do not).
    half_cycle_label : (K,) ndarray of str
        ``"first discharge"``, ``"first charge"``, ``"second discharge"``, ...
    has_rest : (K,) ndarray of bool
        Whether a rest follows the pulse directly.
    truncated : (K,) ndarray of bool
        Pulse shorter than 95 % of the median pulse of the same direction and current (cut by a
        voltage limit or the end of the file).
    voltage_before_v : (K,) ndarray of float, V
        Last sample before the pulse when it is a rest sample (the previous quasi-equilibrium), else NaN.
    ccv_v : (K,) ndarray of float, V
        Closed-circuit voltage: last sample under current.
    qocv_v : (K,) ndarray of float, V
        Quasi-open-circuit ("relaxation") voltage: last sample of the rest.
    overpotential_v : (K,) ndarray of float, V
        ``ccv_v − qocv_v`` (negative on discharge, positive on charge).
    ir_drop_pulse_v : (K,) ndarray of float, V
        First sample under current minus the rest sample just before it (NaN without a preceding rest).
    ir_drop_rest_v : (K,) ndarray of float, V
        First rest sample minus the last sample under current.
    rest_end_slope_mv_h : (K,) ndarray of float, mV/h
        Slope of the voltage over the last ``tail_fraction`` of the rest.
    equilibrated : (K,) ndarray of bool
        ``|rest_end_slope_mv_h| ≤ max_slope_mv_h`` (False without a rest).
    capacity_mah_g : (K,) ndarray of float, mAh/g_S, or None
        Specific capacity passed in the half-cycle up to the pulse end (the x axis of Fig. 2a–f);
        None without a sulfur mass.
    soc_mah_g : (K,) ndarray of float, mAh/g_S, or None
        Cumulative signed charge of the table at the pulse end per gram of sulfur; None without a mass.
    sulfur_mass_mg : float or None
        The mass used for the specific quantities.
    pulse_start_row, pulse_stop_row, rest_start_row, rest_stop_row : (K,) ndarray of int
        Row indices into the table.
    max_slope_mv_h : float
        The equilibration threshold used.
    """

    step: np.ndarray
    pulse_start_s: np.ndarray
    pulse_end_s: np.ndarray
    rest_start_s: np.ndarray
    rest_end_s: np.ndarray
    current_ma: np.ndarray
    charge_mah: np.ndarray
    charge_end_mah: np.ndarray
    direction: np.ndarray
    control: np.ndarray
    half_cycle: np.ndarray
    half_cycle_label: np.ndarray
    has_rest: np.ndarray
    truncated: np.ndarray
    voltage_before_v: np.ndarray
    ccv_v: np.ndarray
    qocv_v: np.ndarray
    overpotential_v: np.ndarray
    ir_drop_pulse_v: np.ndarray
    ir_drop_rest_v: np.ndarray
    rest_end_slope_mv_h: np.ndarray
    equilibrated: np.ndarray
    capacity_mah_g: np.ndarray | None
    soc_mah_g: np.ndarray | None
    sulfur_mass_mg: float | None
    pulse_start_row: np.ndarray
    pulse_stop_row: np.ndarray
    rest_start_row: np.ndarray
    rest_stop_row: np.ndarray
    max_slope_mv_h: float

    def to_frame(self) -> pd.DataFrame:
        """One row per pulse, columns in the ``"Quantity [unit]"`` grammar."""
        cols: dict[str, Any] = {
            "Step": self.step,
            "Half cycle": self.half_cycle,
            "Half cycle label": self.half_cycle_label,
            "Direction": self.direction,
            "Control": self.control,
            "Pulse start [s]": self.pulse_start_s,
            "Pulse end [s]": self.pulse_end_s,
            "Pulse duration [s]": self.pulse_end_s - self.pulse_start_s,
            "Rest start [s]": self.rest_start_s,
            "Rest end [s]": self.rest_end_s,
            "Rest duration [s]": self.rest_end_s - self.rest_start_s,
            "Current [mA]": self.current_ma,
            "Pulse charge [mAh]": self.charge_mah,
            "Charge at pulse end [mAh]": self.charge_end_mah,
        }
        if self.capacity_mah_g is not None and self.soc_mah_g is not None:
            cols["Specific capacity [mAh/g]"] = self.capacity_mah_g
            cols["State of charge [mAh/g]"] = self.soc_mah_g
        cols.update(
            {
                "Has rest": self.has_rest,
                "Truncated": self.truncated,
                "Voltage before pulse [V]": self.voltage_before_v,
                "CCV [V]": self.ccv_v,
                "QOCV [V]": self.qocv_v,
                "Overpotential [V]": self.overpotential_v,
                "IR drop at pulse start [V]": self.ir_drop_pulse_v,
                "IR drop at rest start [V]": self.ir_drop_rest_v,
                "Rest end slope [mV/h]": self.rest_end_slope_mv_h,
                "Equilibrated": self.equilibrated,
            }
        )
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (lists for arrays) for JSON."""
        return plain_dict(self)


def _split_active(
    a: int, b: int, s: np.ndarray, min_points: int
) -> list[tuple[int, int, int]] | None:
    """An active run [a, b) split at each current sign change into (start, stop, sign) pieces;
    None for an impedance excitation (the sign flips more than twice and in over 10 % of samples)."""
    nz = np.flatnonzero(s)
    if len(nz) == 0:
        return []
    flips = np.flatnonzero(s[nz][1:] != s[nz][:-1])
    if len(flips) > 2 and len(flips) > 0.1 * len(nz):
        return None
    cut = [a] + [a + int(nz[f + 1]) for f in flips] + [b]
    out = []
    for pa, pb in zip(cut[:-1], cut[1:], strict=True):
        ss = s[pa - a : pb - a]
        sg = int(np.sign(ss[ss != 0][0])) if np.any(ss != 0) else 0
        if sg != 0 and (pb - pa) >= min_points:
            out.append((pa, pb, sg))
    return out


def _find_pulses(
    t: np.ndarray, sign: np.ndarray, rest: np.ndarray, min_points: int, min_rest_points: int
) -> tuple[np.ndarray, ...]:
    """Pulses (start, stop, sign) and the rest rows after each: five int arrays."""
    starts, stops, is_rest = runs(rest)
    pulses: list[tuple[int, int, int]] = []
    pulse_rest: list[tuple[int, int]] = []
    for j in range(len(starts)):
        if is_rest[j]:
            continue
        a, b = int(starts[j]), int(stops[j])
        pieces = _split_active(a, b, sign[a:b], min_points)
        if not pieces:
            continue
        nxt_rest = (
            (j + 1 < len(starts))
            and bool(is_rest[j + 1])
            and int(stops[j + 1] - starts[j + 1]) >= min_rest_points
            and t[int(stops[j + 1]) - 1] > t[int(starts[j + 1])]
        )
        for p_idx, piece in enumerate(pieces):
            pulses.append(piece)
            last = p_idx == len(pieces) - 1 and nxt_rest
            pb = piece[1]
            pulse_rest.append((int(starts[j + 1]), int(stops[j + 1])) if last else (pb, pb))

    def col(rows: list[tuple[int, ...]], k: int) -> np.ndarray:
        return np.array([r[k] for r in rows], dtype=np.int64)

    return col(pulses, 0), col(pulses, 1), col(pulses, 2), col(pulse_rest, 0), col(pulse_rest, 1)


def _control(ii: np.ndarray, vv: np.ndarray, current_tolerance: float) -> tuple[float, str]:
    """Median current of a pulse and how it was controlled (galvanostatic/potentiostatic/mixed)."""
    med = float(np.median(ii))
    m_pts = len(ii)
    in_band = (
        np.count_nonzero(np.abs(ii - med) <= current_tolerance * abs(med)) / m_pts if med else 0.0
    )
    if in_band >= 0.8:
        return med, "galvanostatic"
    vmed = float(np.median(vv))
    v_band = max(0.005, 0.002 * abs(vmed))
    if np.count_nonzero(np.abs(vv - vmed) <= v_band) / m_pts >= 0.8:
        return med, "potentiostatic"
    return med, "mixed"


def _half_cycles(sgn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-cycle numbers (a direction change starts one), labels and each pulse's first pulse of
    its half-cycle."""
    k = len(sgn)
    half = np.concatenate([[1], 1 + np.cumsum(sgn[1:] != sgn[:-1])]) if k else np.ones(0, np.int64)
    labels = np.empty(k, dtype=object)
    counts = {1: 0, -1: 0}
    first = np.zeros(k, dtype=np.int64)
    for n in range(k):
        if n == 0 or half[n] != half[n - 1]:
            counts[int(sgn[n])] += 1
            first[n] = n
        else:
            first[n] = first[n - 1]
        word = "charge" if sgn[n] > 0 else "discharge"
        labels[n] = f"{ordinal(counts[int(sgn[n])])} {word}"
    return half.astype(np.int64), labels, first


def _truncated(sgn: np.ndarray, current: np.ndarray, dur: np.ndarray) -> np.ndarray:
    """Shorter than 95 % of the median pulse of the same direction and current."""
    out = np.zeros(len(sgn), dtype=bool)
    for n in range(len(sgn)):
        same = (sgn == sgn[n]) & (np.abs(current - current[n]) <= 0.1 * abs(current[n]))
        if same.sum() >= 3:
            out[n] = dur[n] < 0.95 * float(np.median(dur[same]))
    return out


def _arrays(data: pd.DataFrame, min_points: int) -> tuple[np.ndarray, ...]:
    """Time, voltage, current, charge, rest flag and the sign of the current (0 at rest)."""
    if min_points < 1:
        raise SulfurscopeError(f"min_points must be >= 1, got {min_points}")
    require_columns(data, TIME, VOLTAGE, CURRENT, CHARGE, REST)
    if len(data) == 0:
        raise SulfurscopeError("data: the cycler table has no rows")
    t = data[TIME].to_numpy(dtype=float)
    if np.any(np.diff(t) < 0):
        k = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise SulfurscopeError(f"data: {TIME} runs backwards at row {k} ({t[k - 1]} -> {t[k]} s)")
    cur = data[CURRENT].to_numpy(dtype=float)
    rest = data[REST].to_numpy(dtype=bool)
    dead = max(1e-9, 1e-4 * float(np.nanmax(np.abs(cur))))
    sign = np.where(rest, 0, np.where(cur > dead, 1, np.where(cur < -dead, -1, 0)))
    v = data[VOLTAGE].to_numpy(dtype=float)
    return t, v, cur, data[CHARGE].to_numpy(dtype=float), rest, sign


def _voltages(
    t: np.ndarray, v: np.ndarray, q: np.ndarray, rest: np.ndarray, rows: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Times, charges, CCV, QOCV, the voltage before each pulse and the IR steps."""
    p_start, p_stop, r_start, r_stop = (
        rows["p_start"],
        rows["p_stop"],
        rows["r_start"],
        rows["r_stop"],
    )
    has_rest = r_stop > r_start
    ccv = v[p_stop - 1]
    qocv = np.where(has_rest, v[np.maximum(r_stop - 1, 0)], np.nan)
    first_rest_v = np.where(has_rest, v[np.minimum(r_start, len(v) - 1)], np.nan)
    prev = p_start - 1
    prev_is_rest = (prev >= 0) & rest[np.maximum(prev, 0)]
    v_before = np.where(prev_is_rest, v[np.maximum(prev, 0)], np.nan)
    return {
        "pulse_start_s": t[p_start],
        "pulse_end_s": t[p_stop - 1],
        "rest_start_s": np.where(has_rest, t[np.minimum(r_start, len(t) - 1)], np.nan),
        "rest_end_s": np.where(has_rest, t[np.maximum(r_stop - 1, 0)], np.nan),
        "charge_mah": q[p_stop - 1]
        - np.where(p_start > 0, q[np.maximum(p_start - 1, 0)], q[p_start]),
        "charge_end_mah": q[p_stop - 1],
        "voltage_before_v": v_before,
        "ccv_v": ccv,
        "qocv_v": qocv,
        "overpotential_v": ccv - qocv,
        "ir_drop_pulse_v": v[p_start] - v_before,
        "ir_drop_rest_v": first_rest_v - ccv,
    }


def _per_pulse(
    t: np.ndarray,
    v: np.ndarray,
    cur: np.ndarray,
    rows: dict[str, np.ndarray],
    current_tolerance: float,
    tail_fraction: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median current, control and rest-end slope (mV/h) of every pulse."""
    k = len(rows["p_start"])
    current, control, slope = np.empty(k), np.empty(k, dtype=object), np.full(k, np.nan)
    for n in range(k):
        a, b = rows["p_start"][n], rows["p_stop"][n]
        current[n], control[n] = _control(cur[a:b], v[a:b], current_tolerance)
        ra, rb = rows["r_start"][n], rows["r_stop"][n]
        if rb > ra:
            slope[n] = _rx.end_slope(t[ra:rb], v[ra:rb], tail_fraction) * 3.6e6  # V/s -> mV/h
    return current, control, slope


def _specific(
    q: np.ndarray, rows: dict[str, np.ndarray], first: np.ndarray, m_s: float | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Capacity in the half-cycle and SOC at each pulse end, mAh/g_S (None without a mass)."""
    if m_s is None:
        return None, None
    p_start, p_stop = rows["p_start"], rows["p_stop"]
    if not len(p_start):
        return np.zeros(0), np.zeros(0)
    a = p_start[first]
    q_half_start = np.where(a > 0, q[np.maximum(a - 1, 0)], q[a])
    charge_end = q[p_stop - 1]
    return np.abs(charge_end - q_half_start) / m_s * 1000.0, charge_end / m_s * 1000.0


def gitt_steps(
    data: pd.DataFrame,
    *,
    sulfur_mass_mg: float | None,
    min_points: int = 3,
    min_rest_points: int = 3,
    max_slope_mv_h: float = 5.0,
    tail_fraction: float = 0.1,
    current_tolerance: float = 0.1,
) -> GittSteps:
    """Find every current pulse and the rest after it in a canonical cycler table.

    Only the ``Rest`` flag and the current's sign are used, whatever the instrument calls a step.
    Consecutive rest rows form one rest; an active run whose current flips sign in over 10 % of its
    samples (GEIS/PEIS) is not a pulse; others are split at each sign change.

    Parameters
    ----------
    data : DataFrame
        Canonical cycler table (``Time [s]``, ``Voltage [V]``, ``Current [mA]``, ``Charge [mAh]``,
        ``Rest``).
    sulfur_mass_mg : float or None
        For the specific quantities (None: they are None; never defaulted).
    min_points, min_rest_points : int
        Fewest samples of a pulse, of a rest.
    max_slope_mv_h : float, mV/h
        A rest is ``equilibrated`` when its end slope is at most this.
    tail_fraction : float
        Fraction of the rest (by time) over which the end slope is fitted.
    current_tolerance : float
        Relative band around the median current holding 80 % of samples: ``galvanostatic``.

    Returns
    -------
    GittSteps
        (``MissingColumnError``/``SulfurscopeError``: missing column, empty table, time running
        backwards, non-positive mass.)

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(0, 40.0)
    >>> i = np.where((t % 20) < 10, -1.0, 0.0)
    >>> q = np.concatenate([[0], np.cumsum(i[:-1])]) / 3600
    >>> df = pd.DataFrame({"Time [s]": t, "Voltage [V]": 2.1 + 0.01 * np.sign(i),
    ...                    "Current [mA]": i, "Charge [mAh]": q, "Step": 0, "Rest": i == 0})
    >>> s = gitt_steps(df, sulfur_mass_mg=None)
    >>> len(s.step), int(s.has_rest.sum()), s.half_cycle_label[0]
    (2, 2, 'first discharge')
    """
    t, v, cur, q, rest, sign = _arrays(data, min_points)
    m_s = None if sulfur_mass_mg is None else mass_mg(sulfur_mass_mg, "specific capacity")
    p_start, p_stop, sgn, r_start, r_stop = _find_pulses(t, sign, rest, min_points, min_rest_points)
    rows = {"p_start": p_start, "p_stop": p_stop, "r_start": r_start, "r_stop": r_stop}
    has_rest = r_stop > r_start
    current, control, slope = _per_pulse(t, v, cur, rows, current_tolerance, tail_fraction)
    half, labels, first = _half_cycles(sgn)
    capacity, soc = _specific(q, rows, first, m_s)
    volts = _voltages(t, v, q, rest, rows)
    return GittSteps(
        step=np.arange(len(sgn), dtype=np.int64),
        current_ma=current,
        direction=np.where(sgn > 0, "delithiation", "lithiation").astype(object),
        control=control,
        half_cycle=half,
        half_cycle_label=labels,
        has_rest=has_rest,
        truncated=_truncated(sgn, current, volts["pulse_end_s"] - volts["pulse_start_s"]),
        **volts,
        rest_end_slope_mv_h=slope,
        equilibrated=has_rest & (np.abs(np.nan_to_num(slope, nan=np.inf)) <= max_slope_mv_h),
        capacity_mah_g=capacity,
        soc_mah_g=soc,
        sulfur_mass_mg=m_s,
        pulse_start_row=p_start,
        pulse_stop_row=p_stop,
        rest_start_row=r_start,
        rest_stop_row=r_stop,
        max_slope_mv_h=float(max_slope_mv_h),
    )


def check_steps(data: pd.DataFrame, steps: GittSteps) -> None:
    if not isinstance(steps, GittSteps):
        raise SulfurscopeError(
            f"steps must be a GittSteps (from gitt_steps), got {type(steps).__name__}"
        )
    require_columns(data, TIME, VOLTAGE)
    if len(steps.step) and int(steps.rest_stop_row.max()) > len(data):
        raise SulfurscopeError(
            f"steps were found in a table of at least {int(steps.rest_stop_row.max())} rows but data "
            f"has {len(data)}: pass the same table to gitt_steps and here"
        )
