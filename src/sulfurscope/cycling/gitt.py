"""GITT and relaxation analysis: pulses and rests, overpotentials, relaxation times and transport.

The reference study (Fig. 2, Fig. S4) cycles at C/10 with a 2 h open-circuit rest after every
100 mAh/g_S and reads a relaxation time τ from each rest: the time at which the normalised rest curve has
done 1 − 1/e (63.2 %) of its relaxation (shown as 1 − 1/e on discharge and 1/e on charge in the paper,
whose normalised voltage falls on charge). This module finds the pulses and rests in the canonical
cycler table whatever wrote it, measures every per-step voltage the paper uses, reads τ by log-time
interpolation with an explicit reference point V0, fits exponential alternatives, estimates chemical
diffusion coefficients (Weppner–Huggins) and maps τ to a transport coefficient with the exact sphere
solution of MODEL.md ("GITT interpretation").

Sign convention (canonical table): positive current = charge = delithiation; negative = discharge =
lithiation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope import _sphere
from sulfurscope.cycling import _relaxation as _rx
from sulfurscope.errors import MissingColumnError, SulfurscopeError
from sulfurscope.units import CHARGE, CURRENT, REST, TIME, VOLTAGE

__all__ = [
    "DiffusionCoefficients",
    "GittSteps",
    "RelaxationCurves",
    "RelaxationFits",
    "RelaxationTimes",
    "SphereDiffusivity",
    "TransportScaling",
    "diffusion_coefficients",
    "gitt_steps",
    "relaxation_curves",
    "relaxation_fits",
    "relaxation_times",
    "sphere_diffusivity",
    "sphere_relaxation_time",
    "transport_scaling",
]

V0Convention = Literal["last_under_current", "first_rest_point"]
VInfMethod = Literal["last_sample", "fitted"]
FitModel = Literal["exponential", "two_exponential", "stretched"]

#: τ ≥ PULSE_LIMITED_RATIO · t_p: the rest time is set by the pulse length, not by transport (MODEL.md).
#: This is the rule for a relaxation read to its true end (fitted V∞, or a rest ≫ t_p); for a finite rest
#: read with V∞ = last sample the same fraction of the saturated reading applies, see
#: :func:`saturated_tau_reading`.
PULSE_LIMITED_RATIO = 1.2
#: The saturated (pulse-limited) τ of a fully relaxed curve is 1.381 t_p; 1.2 t_p is this fraction of it.
_SATURATED_FULL = ((1.0 - np.exp(-2.0)) / (2.0 * np.exp(-1.0))) ** 2
PULSE_LIMITED_FRACTION = PULSE_LIMITED_RATIO / _SATURATED_FULL


def saturated_tau_reading(
    pulse_s: np.ndarray | float,
    rest_s: np.ndarray | float | None = None,
    *,
    v_inf: Literal["last_sample", "fitted"] = "fitted",
) -> np.ndarray:
    """The τ a pulse-limited relaxation reads: the largest τ transport can give for this protocol.

    When R²/D ≫ t_p and the rest, the particle surface behaves as a semi-infinite medium: after a
    constant-flux pulse of length t_p it relaxes as √(t + t_p) − √t (Crank, eq. 2.9 superposed).
    Normalised from V0 (the first rest point) to V∞, the 1 − 1/e read-out solves
    √(x + 1) − √x = L with x = τ/t_p and L = 1 − (1 − 1/e)(1 − s), where s = 0 for the true
    asymptote (``v_inf="fitted"`` or no rest length given: x = 1.381, the sphere's saturation of
    MODEL.md) and s = √(r + 1) − √r for V∞ read at the end of a rest of r = t_rest/t_p
    (``v_inf="last_sample"``: a 2 h rest after a 36 min pulse saturates at 0.46 t_p). Hence
    x = ((1 − L²)/(2L))².

    Examples
    --------
    >>> round(float(saturated_tau_reading(1.0)[0]), 3)
    1.381
    >>> round(float(saturated_tau_reading(2153.0, 7200.0, v_inf="last_sample")[0] / 2153.0), 2)
    0.46
    """
    tp = np.atleast_1d(np.asarray(pulse_s, dtype=float))
    if rest_s is None or v_inf == "fitted":
        s_end = np.zeros_like(tp)
    else:
        r = np.atleast_1d(np.asarray(rest_s, dtype=float)) / tp
        s_end = np.sqrt(r + 1.0) - np.sqrt(r)
    level = 1.0 - (1.0 - np.exp(-1.0)) * (1.0 - s_end)
    return tp * ((1.0 - level**2) / (2.0 * level)) ** 2


_ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)


def _ordinal(k: int) -> str:
    if 1 <= k <= len(_ORDINALS):
        return _ORDINALS[k - 1]
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _require_columns(frame: pd.DataFrame, *cols: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SulfurscopeError(
            f"data must be the canonical cycler table (a pandas DataFrame), got {type(frame).__name__}"
        )
    for c in cols:
        if c not in frame.columns:
            raise MissingColumnError(
                f"the cycler table has no {c!r} column (found {list(frame.columns)[:10]}); "
                "read files with sulfurscope.io.read_cycler"
            )


def _mass(sulfur_mass_mg: float | None, what: str) -> float:
    if sulfur_mass_mg is None:
        raise SulfurscopeError(
            f"{what} needs the sulfur mass: give sulfur_mass_mg (or --sulfur-mass-mg); "
            "sulfurscope never assumes a default mass"
        )
    m = float(sulfur_mass_mg)
    if not (np.isfinite(m) and m > 0):
        raise SulfurscopeError(
            f"sulfur_mass_mg must be a positive number of mg, got {sulfur_mass_mg!r}"
        )
    return m


def _check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise SulfurscopeError(f"{name} must be one of {list(allowed)}, got {value!r}")


# ================================================================== pulses and rests


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
        return _plain_dict(self)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def _plain_dict(obj: Any) -> dict[str, Any]:
    """A result's fields as JSON-ready values (arrays become lists)."""
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in _fields(obj).items()}


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding of a bool array: (starts, stops (exclusive), value)."""
    n = len(mask)
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0, dtype=bool)
    change = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [n]])
    return starts, stops, mask[starts]


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

    The segmentation uses only the ``Rest`` flag and the sign of the current, so it does not depend on
    what the instrument calls a step: BioLogic GCPL rests that share the step counter ``Ns`` with their
    pulse, Modulo Bat loops whose step numbers repeat, Modular Pulse CV pulses, Arbin/Neware step
    tables, pulses cut by a voltage limit. Consecutive rest rows form one rest (e.g. a 10 s and a
    30 min OCV step). An active run whose current changes sign more than twice (an impedance
    excitation, GEIS/PEIS: more than two flips and flips in over 10 % of its samples) is not a pulse;
    otherwise an active run is split at each sign change (charge straight into discharge, plain
    cycling without rests). Pieces with fewer than ``min_points`` samples are not pulses.

    Parameters
    ----------
    data : DataFrame
        The canonical cycler table (``Time [s]``, ``Voltage [V]``, ``Current [mA]``, ``Charge [mAh]``,
        ``Rest``).
    sulfur_mass_mg : float or None
        Sulfur mass for the specific quantities (``capacity_mah_g``, ``soc_mah_g``); with None those
        fields are None (figures and other specific quantities then refuse). Never defaulted.
    min_points : int
        Fewest samples a pulse must have.
    min_rest_points : int
        Fewest samples (spanning a non-zero time) a rest must have to count as the pulse's rest;
        single flagged points at step ends (seen in EC-Lab GCPL files) are not rests.
    max_slope_mv_h : float, mV/h
        A rest counts as equilibrated when the magnitude of its end slope is at most this.
    tail_fraction : float
        Fraction of the rest (by time) over which the end slope is fitted.
    current_tolerance : float
        Relative band around the median current within which 80 % of samples must lie for
        ``control == "galvanostatic"``.

    Returns
    -------
    GittSteps

    Raises
    ------
    MissingColumnError
        When a canonical column is missing.
    SulfurscopeError
        For an empty table, time running backwards, or a non-positive sulfur mass.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(0, 40.0)
    >>> i = np.where((t % 20) < 10, -1.0, 0.0)
    >>> v = 2.1 + 0.01 * np.sign(i)
    >>> q = np.concatenate([[0], np.cumsum(i[:-1])]) / 3600
    >>> df = pd.DataFrame({"Time [s]": t, "Voltage [V]": v, "Current [mA]": i,
    ...                    "Charge [mAh]": q, "Step": 0, "Rest": i == 0})
    >>> s = gitt_steps(df, sulfur_mass_mg=None)
    >>> len(s.step), int(s.has_rest.sum()), s.half_cycle_label[0]
    (2, 2, 'first discharge')
    """
    _require_columns(data, TIME, VOLTAGE, CURRENT, CHARGE, REST)
    if len(data) == 0:
        raise SulfurscopeError("data: the cycler table has no rows")
    m_s = None if sulfur_mass_mg is None else _mass(sulfur_mass_mg, "specific capacity")
    if min_points < 1:
        raise SulfurscopeError(f"min_points must be >= 1, got {min_points}")
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    cur = data[CURRENT].to_numpy(dtype=float)
    q = data[CHARGE].to_numpy(dtype=float)
    rest = data[REST].to_numpy(dtype=bool)
    if np.any(np.diff(t) < 0):
        k = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise SulfurscopeError(f"data: {TIME} runs backwards at row {k} ({t[k - 1]} -> {t[k]} s)")

    i_scale = float(np.nanmax(np.abs(cur))) if len(cur) else 0.0
    dead = max(1e-9, 1e-4 * i_scale)
    sign = np.where(cur > dead, 1, np.where(cur < -dead, -1, 0))
    sign = np.where(rest, 0, sign)

    starts, stops, is_rest = _runs(rest)
    pulses: list[tuple[int, int, int]] = []  # (start, stop, sign)
    pulse_rest: list[tuple[int, int]] = []
    for j in range(len(starts)):
        if is_rest[j]:
            continue
        a, b = int(starts[j]), int(stops[j])
        s = sign[a:b]
        nz = np.flatnonzero(s)
        if len(nz) == 0:
            continue
        flips = np.flatnonzero(s[nz][1:] != s[nz][:-1])
        if len(flips) > 2 and len(flips) > 0.1 * len(nz):
            continue  # rapidly alternating current: impedance excitation (GEIS/PEIS), not a pulse
        cut_points = [a] + [a + int(nz[f + 1]) for f in flips] + [b]
        pieces = list(zip(cut_points[:-1], cut_points[1:], strict=True))
        nxt_rest = (
            (j + 1 < len(starts))
            and bool(is_rest[j + 1])
            and int(stops[j + 1] - starts[j + 1]) >= min_rest_points
            and t[int(stops[j + 1]) - 1] > t[int(starts[j + 1])]
        )
        for p_idx, (pa, pb) in enumerate(pieces):
            ss = s[pa - a : pb - a]
            sg = int(np.sign(ss[ss != 0][0])) if np.any(ss != 0) else 0
            if sg == 0 or (pb - pa) < min_points:
                continue
            pulses.append((pa, pb, sg))
            if p_idx == len(pieces) - 1 and nxt_rest:
                pulse_rest.append((int(starts[j + 1]), int(stops[j + 1])))
            else:
                pulse_rest.append((pb, pb))

    k = len(pulses)
    p_start = np.array([p[0] for p in pulses], dtype=np.int64)
    p_stop = np.array([p[1] for p in pulses], dtype=np.int64)
    sgn = np.array([p[2] for p in pulses], dtype=np.int64)
    r_start = np.array([r[0] for r in pulse_rest], dtype=np.int64)
    r_stop = np.array([r[1] for r in pulse_rest], dtype=np.int64)
    has_rest = r_stop > r_start
    nan = np.full(k, np.nan)

    pulse_start_s = t[p_start] if k else nan
    pulse_end_s = t[p_stop - 1] if k else nan
    rest_start_s = np.where(has_rest, t[np.minimum(r_start, len(t) - 1)], np.nan) if k else nan
    rest_end_s = np.where(has_rest, t[np.maximum(r_stop - 1, 0)], np.nan) if k else nan
    ccv = v[p_stop - 1] if k else nan
    qocv = np.where(has_rest, v[np.maximum(r_stop - 1, 0)], np.nan) if k else nan
    first_rest_v = np.where(has_rest, v[np.minimum(r_start, len(v) - 1)], np.nan) if k else nan
    prev = p_start - 1
    prev_is_rest = (prev >= 0) & rest[np.maximum(prev, 0)] if k else np.zeros(0, bool)
    v_before = np.where(prev_is_rest, v[np.maximum(prev, 0)], np.nan) if k else nan
    ir_pulse = v[p_start] - v_before if k else nan
    ir_rest = first_rest_v - ccv
    charge = (
        q[p_stop - 1] - np.where(p_start > 0, q[np.maximum(p_start - 1, 0)], q[p_start])
        if k
        else nan
    )
    charge_end = q[p_stop - 1] if k else nan

    current = np.empty(k)
    control = np.empty(k, dtype=object)
    slope = np.full(k, np.nan)
    for n in range(k):
        a, b = p_start[n], p_stop[n]
        ii = cur[a:b]
        med = float(np.median(ii))
        current[n] = med
        m_pts = b - a
        in_band = (
            np.count_nonzero(np.abs(ii - med) <= current_tolerance * abs(med)) / m_pts
            if med != 0
            else 0.0
        )
        in_vband = 0.0
        if in_band < 0.8:
            vv = v[a:b]
            vmed = float(np.median(vv))
            v_band = max(0.005, 0.002 * abs(vmed))
            in_vband = np.count_nonzero(np.abs(vv - vmed) <= v_band) / m_pts
        if in_band >= 0.8:
            control[n] = "galvanostatic"
        elif in_vband >= 0.8:
            control[n] = "potentiostatic"
        else:
            control[n] = "mixed"
        if has_rest[n]:
            ra, rb = r_start[n], r_stop[n]
            slope[n] = _rx.end_slope(t[ra:rb], v[ra:rb], tail_fraction) * 3.6e6  # V/s -> mV/h
    direction = np.where(sgn > 0, "delithiation", "lithiation").astype(object)

    # half-cycles: a change of direction between successive pulses starts a new one
    half = np.ones(k, dtype=np.int64)
    if k:
        half = np.concatenate([[1], 1 + np.cumsum(sgn[1:] != sgn[:-1])])
    labels = np.empty(k, dtype=object)
    counts = {1: 0, -1: 0}
    first_pulse_of_half = np.zeros(k, dtype=np.int64)
    for n in range(k):
        if n == 0 or half[n] != half[n - 1]:
            counts[int(sgn[n])] += 1
            first_pulse_of_half[n] = n
        else:
            first_pulse_of_half[n] = first_pulse_of_half[n - 1]
        word = "charge" if sgn[n] > 0 else "discharge"
        labels[n] = f"{_ordinal(counts[int(sgn[n])])} {word}"

    # truncated: shorter than the usual pulse of the same direction and current
    dur = pulse_end_s - pulse_start_s
    truncated = np.zeros(k, dtype=bool)
    for n in range(k):
        same = (sgn == sgn[n]) & (np.abs(current - current[n]) <= 0.1 * abs(current[n]))
        if same.sum() >= 3:
            truncated[n] = dur[n] < 0.95 * float(np.median(dur[same]))

    if m_s is not None and k:
        q_half_start = np.where(
            p_start[first_pulse_of_half] > 0,
            q[np.maximum(p_start[first_pulse_of_half] - 1, 0)],
            q[p_start[first_pulse_of_half]],
        )
        capacity = np.abs(charge_end - q_half_start) / m_s * 1000.0
        soc = charge_end / m_s * 1000.0
    elif m_s is not None:
        capacity, soc = np.zeros(0), np.zeros(0)
    else:
        capacity, soc = None, None

    return GittSteps(
        step=np.arange(k, dtype=np.int64),
        pulse_start_s=np.asarray(pulse_start_s, dtype=float),
        pulse_end_s=np.asarray(pulse_end_s, dtype=float),
        rest_start_s=np.asarray(rest_start_s, dtype=float),
        rest_end_s=np.asarray(rest_end_s, dtype=float),
        current_ma=current,
        charge_mah=np.asarray(charge, dtype=float),
        charge_end_mah=np.asarray(charge_end, dtype=float),
        direction=direction,
        control=control,
        half_cycle=half,
        half_cycle_label=labels,
        has_rest=has_rest,
        truncated=truncated,
        voltage_before_v=np.asarray(v_before, dtype=float),
        ccv_v=np.asarray(ccv, dtype=float),
        qocv_v=np.asarray(qocv, dtype=float),
        overpotential_v=np.asarray(ccv - qocv, dtype=float),
        ir_drop_pulse_v=np.asarray(ir_pulse, dtype=float),
        ir_drop_rest_v=np.asarray(ir_rest, dtype=float),
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


def _check_steps(data: pd.DataFrame, steps: GittSteps) -> None:
    if not isinstance(steps, GittSteps):
        raise SulfurscopeError(
            f"steps must be a GittSteps (from gitt_steps), got {type(steps).__name__}"
        )
    _require_columns(data, TIME, VOLTAGE)
    if len(steps.step) and int(steps.rest_stop_row.max()) > len(data):
        raise SulfurscopeError(
            f"steps were found in a table of at least {int(steps.rest_stop_row.max())} rows but data "
            f"has {len(data)}: pass the same table to gitt_steps and here"
        )


# ================================================================== relaxation curves


def _curve(
    t: np.ndarray,
    v: np.ndarray,
    steps: GittSteps,
    n: int,
    v0: V0Convention,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Time from the curve origin and voltage of rest n, with V0 as the first point.

    ``last_under_current``: origin at the last sample under current (V0 = CCV, so the IR step is part of
    the relaxation). ``first_rest_point``: origin and V0 at the first rest sample.
    """
    ra, rb = int(steps.rest_start_row[n]), int(steps.rest_stop_row[n])
    if v0 == "last_under_current":
        a = int(steps.pulse_stop_row[n]) - 1
        tt = np.concatenate([[t[a]], t[ra:rb]]) - t[a]
        vv = np.concatenate([[v[a]], v[ra:rb]])
    else:
        tt = t[ra:rb] - t[ra]
        vv = v[ra:rb]
    return tt, vv, float(vv[0])


@dataclass(frozen=True, slots=True)
class RelaxationCurves:
    """Every rest normalised to run from 0 to 1 (Fig. S4), in long format.

    Attributes
    ----------
    step : (M,) ndarray of int
        Pulse number of each sample.
    time_s : (M,) ndarray of float, s
        Time from the curve origin (see ``v0_convention``).
    voltage_v : (M,) ndarray of float, V
    fraction : (M,) ndarray of float
        Fraction of the relaxation done, (V − V0)/(V∞ − V0): 0 → 1 on charge and discharge.
    normalised_voltage : (M,) ndarray of float
        The paper's normalised voltage (V − min)/(max − min) with min/max = the curve ends: rises
        0 → 1 on discharge (τ at 1 − 1/e) and falls 1 → 0 on charge (τ at 1/e).
    curve_step, v0_v, v_inf_v : (K,) ndarray
        Per rest: pulse number, V0, V∞.
    curve_direction, curve_half_cycle_label : (K,) ndarray of str
    v0_convention, v_inf_method : str
    """

    step: np.ndarray
    time_s: np.ndarray
    voltage_v: np.ndarray
    fraction: np.ndarray
    normalised_voltage: np.ndarray
    curve_step: np.ndarray
    v0_v: np.ndarray
    v_inf_v: np.ndarray
    curve_direction: np.ndarray
    curve_half_cycle_label: np.ndarray
    v0_convention: str
    v_inf_method: str

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per rest sample."""
        return pd.DataFrame(
            {
                "Step": self.step,
                "Time [s]": self.time_s,
                "Voltage [V]": self.voltage_v,
                "Fraction relaxed": self.fraction,
                "Normalised voltage": self.normalised_voltage,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return _plain_dict(self)


def _v_inf(
    tt: np.ndarray, vv: np.ndarray, method: VInfMethod, tau_guess: float | None = None
) -> float:
    if method == "last_sample":
        return float(vv[-1])
    if tau_guess is None or not np.isfinite(tau_guess):
        f = (vv - vv[0]) / ((vv[-1] - vv[0]) or 1.0)
        tau_guess, _ = _rx.crossing_time(tt, f, _rx.ONE_MINUS_INV_E)
        if not np.isfinite(tau_guess) or tau_guess <= 0:
            tau_guess = max(float(tt[-1]) / 5.0, 1e-6)
    sel = tt >= tau_guess
    if sel.sum() < 5:
        sel = tt >= 0
    vinf, _, _ = _rx.exp_asymptote(tt[sel], vv[sel], tau_guess)
    return vinf if np.isfinite(vinf) else float(vv[-1])


def relaxation_curves(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    v0: V0Convention,
    v_inf: VInfMethod = "last_sample",
) -> RelaxationCurves:
    """Normalise every rest after a pulse to run from 0 to 1 (the study's Fig. S4).

    Parameters
    ----------
    data : DataFrame
        The canonical table ``steps`` was found in.
    steps : GittSteps
    v0 : {"last_under_current", "first_rest_point"}
        Reference point V0 (required: the two differ by the IR step and give τ ~3× apart on real data).
    v_inf : {"last_sample", "fitted"}
        V∞ from the last rest sample or from a one-exponential asymptote fitted to the tail.

    Returns
    -------
    RelaxationCurves
    """
    _check_steps(data, steps)
    _check_choice("v0", v0, ("last_under_current", "first_rest_point"))
    _check_choice("v_inf", v_inf, ("last_sample", "fitted"))
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    idx = np.flatnonzero(steps.has_rest)
    parts_t, parts_v, parts_f, parts_n, parts_s = [], [], [], [], []
    v0s, vinfs = np.empty(len(idx)), np.empty(len(idx))
    for j, n in enumerate(idx):
        tt, vv, v0v = _curve(t, v, steps, int(n), v0)
        vi = _v_inf(tt, vv, v_inf)
        dv = vi - v0v
        f = (vv - v0v) / dv if dv != 0 else np.zeros_like(vv)
        lith = steps.direction[n] == "lithiation"
        parts_t.append(tt)
        parts_v.append(vv)
        parts_f.append(f)
        parts_n.append(np.full(len(tt), n, dtype=np.int64))
        parts_s.append(f if lith else 1.0 - f)
        v0s[j], vinfs[j] = v0v, vi

    def cat(p: list[np.ndarray], dtype: Any = float) -> np.ndarray:
        return np.concatenate(p) if p else np.zeros(0, dtype=dtype)

    return RelaxationCurves(
        step=cat(parts_n, np.int64),
        time_s=cat(parts_t),
        voltage_v=cat(parts_v),
        fraction=cat(parts_f),
        normalised_voltage=cat(parts_s),
        curve_step=steps.step[idx],
        v0_v=v0s,
        v_inf_v=vinfs,
        curve_direction=steps.direction[idx],
        curve_half_cycle_label=steps.half_cycle_label[idx],
        v0_convention=v0,
        v_inf_method=v_inf,
    )


# ================================================================== relaxation times


@dataclass(frozen=True, slots=True)
class RelaxationTimes:
    """The study's τ per rest, with its reference choices, quality flags and an uncertainty range.

    Attributes
    ----------
    step, half_cycle : (K,) ndarray of int
    half_cycle_label, direction : (K,) ndarray of str
    capacity_mah_g : (K,) ndarray of float, mAh/g_S, or None
        Specific capacity in the half-cycle at the pulse end (None without a sulfur mass).
    tau_s : (K,) ndarray of float, s
        Time from the curve origin at which 1 − 1/e of the relaxation is done (log-time
        interpolation). NaN only when ``reached`` is False.
    tau_low_s, tau_high_s : (K,) ndarray of float, s
        Range of τ over perturbations of V0 (± 2 σ_noise), V∞ (last sample, mean of the last 5, fitted
        asymptote, ± 2 σ_noise) and smoothing (5-point moving average).
    v0_v, v_inf_v, v_inf_fitted_v : (K,) ndarray of float, V
        V0 and V∞ used, and the fitted one-exponential asymptote of the tail for comparison.
    noise_v : (K,) ndarray of float, V
        Noise σ estimated from the rest's second differences.
    reached : (K,) ndarray of bool
        Whether the curve reached 1 − 1/e.
    non_monotone : (K,) ndarray of bool
        The curve re-crosses 1 − 1/e after the first crossing, or overshoots V∞ (by more than
        3 σ_noise and 5 % of the relaxation).
    unrelaxed_fraction : (K,) ndarray of float
        Estimated relaxation still to come at the rest end: |dV/dt|_end · T_tail / |V∞ − V0|.
    settled : (K,) ndarray of bool
        ``unrelaxed_fraction ≤ max_unrelaxed_fraction`` (the drift check on V∞).
    pulse_duration_s : (K,) ndarray of float, s
    pulse_limited : (K,) ndarray of bool
        τ ≥ 1.2 t_p: the 1/e time of a sphere saturates near 1.4 t_p, so τ only bounds the transport
        time from below (MODEL.md) and a τ ratio between sizes is no proof of L² scaling.
    v0_convention, v_inf_method : str
    target_fraction : float
        1 − 1/e.
    """

    step: np.ndarray
    half_cycle: np.ndarray
    half_cycle_label: np.ndarray
    direction: np.ndarray
    capacity_mah_g: np.ndarray | None
    tau_s: np.ndarray
    tau_low_s: np.ndarray
    tau_high_s: np.ndarray
    v0_v: np.ndarray
    v_inf_v: np.ndarray
    v_inf_fitted_v: np.ndarray
    noise_v: np.ndarray
    reached: np.ndarray
    non_monotone: np.ndarray
    unrelaxed_fraction: np.ndarray
    settled: np.ndarray
    pulse_duration_s: np.ndarray
    pulse_limited: np.ndarray
    v0_convention: str
    v_inf_method: str
    target_fraction: float

    def to_frame(self) -> pd.DataFrame:
        """One row per rest."""
        cols: dict[str, Any] = {
            "Step": self.step,
            "Half cycle": self.half_cycle,
            "Half cycle label": self.half_cycle_label,
            "Direction": self.direction,
        }
        if self.capacity_mah_g is not None:
            cols["Specific capacity [mAh/g]"] = self.capacity_mah_g
        cols.update(
            {
                "Tau [s]": self.tau_s,
                "Tau low [s]": self.tau_low_s,
                "Tau high [s]": self.tau_high_s,
                "V0 [V]": self.v0_v,
                "Vinf [V]": self.v_inf_v,
                "Vinf fitted [V]": self.v_inf_fitted_v,
                "Noise [V]": self.noise_v,
                "Reached": self.reached,
                "Non-monotone": self.non_monotone,
                "Unrelaxed fraction": self.unrelaxed_fraction,
                "Settled": self.settled,
                "Pulse duration [s]": self.pulse_duration_s,
                "Pulse limited": self.pulse_limited,
                "V0 convention": self.v0_convention,
                "Vinf method": self.v_inf_method,
            }
        )
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        return _plain_dict(self)


def _tau_of(tt: np.ndarray, vv: np.ndarray, v0v: float, vi: float) -> float:
    dv = vi - v0v
    if dv == 0 or not np.isfinite(dv):
        return float("nan")
    tau, _ = _rx.crossing_time(tt, (vv - v0v) / dv, _rx.ONE_MINUS_INV_E)
    return tau


def relaxation_times(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    v0: V0Convention,
    v_inf: VInfMethod = "last_sample",
    smooth_points: int = 1,
    max_unrelaxed_fraction: float = 0.05,
) -> RelaxationTimes:
    """The study's relaxation time τ of every rest after a pulse.

    τ is the time (from the curve origin) at which the fraction of relaxation done,
    (V − V0)/(V∞ − V0), first reaches 1 − 1/e — the study's 1 − 1/e of the normalised voltage on
    discharge and 1/e on charge (both 63.2 % of the relaxation). It is read by linear interpolation in
    ln t between the two bracketing samples, never by taking the nearest sample.

    Parameters
    ----------
    data : DataFrame
        The canonical table ``steps`` was found in.
    steps : GittSteps
    v0 : {"last_under_current", "first_rest_point"}
        ``last_under_current``: V0 is the last sample under current and t = 0 there (the IR step counts
        as relaxation); ``first_rest_point``: V0 and t = 0 at the first rest sample (IR step excluded).
        No default: the choice changes τ several-fold on real data and is reported with every result.
    v_inf : {"last_sample", "fitted"}
        V∞ from the last rest sample (checked for drift) or from a one-exponential asymptote fitted to
        the tail t ≥ τ.
    smooth_points : int
        Width of a centred moving average applied before reading τ (1 = none).
    max_unrelaxed_fraction : float
        Drift check: the rest is ``settled`` when the relaxation still to come is below this fraction.

    Returns
    -------
    RelaxationTimes

    Notes
    -----
    For a sphere the 1 − 1/e time after a constant-current pulse is τ_e = G(t_p D/R²)·R²/D (MODEL.md,
    "GITT interpretation"), which saturates near 1.38 t_p; τ ≥ 1.2 t_p is flagged ``pulse_limited``
    when V∞ is the fitted asymptote. With V∞ = last sample a finite rest caps the read-out lower
    (0.46 t_p for the study's 2 h rest after a 36 min pulse), and the flag is raised at the same
    fraction (0.87) of that saturated reading (:func:`saturated_tau_reading`).
    """
    _check_steps(data, steps)
    _check_choice("v0", v0, ("last_under_current", "first_rest_point"))
    _check_choice("v_inf", v_inf, ("last_sample", "fitted"))
    if smooth_points < 1:
        raise SulfurscopeError(f"smooth_points must be >= 1, got {smooth_points}")
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    idx = np.flatnonzero(steps.has_rest)
    k = len(idx)
    tau = np.full(k, np.nan)
    lo, hi = np.full(k, np.nan), np.full(k, np.nan)
    v0s, vinfs, vfits, noise = (np.full(k, np.nan) for _ in range(4))
    reached = np.zeros(k, bool)
    nonmono = np.zeros(k, bool)
    unrelaxed = np.full(k, np.nan)
    target = _rx.ONE_MINUS_INV_E
    for j, n in enumerate(idx):
        tt, vv, v0v = _curve(t, v, steps, int(n), v0)
        if smooth_points > 1:
            vv = np.concatenate([[vv[0]], _rx.moving_average(vv, smooth_points)[1:]])
        sigma = _rx.noise_sigma(vv)
        noise[j] = sigma
        v0s[j] = v0v
        if len(tt) < 3:
            vinfs[j] = vfits[j] = vv[-1]
            continue
        v_last = float(vv[-1])
        tau0 = _tau_of(tt, vv, v0v, v_last)
        # one-exponential asymptote of the tail (t >= tau0): fitted V∞ and the tail time constant
        if np.isfinite(tau0) and tau0 > 0:
            sel = tt >= tau0
            if sel.sum() < 5:
                sel = tt >= 0
            v_fit, _, t_tail = _rx.exp_asymptote(tt[sel], vv[sel], tau0)
            if not np.isfinite(v_fit):
                v_fit = v_last
        else:
            v_fit, t_tail = v_last, float("nan")
        vi = v_last if v_inf == "last_sample" else v_fit
        vinfs[j], vfits[j] = vi, v_fit
        dv = vi - v0v
        if dv == 0:
            continue
        f = (vv - v0v) / dv
        # V0 and V∞ perturbations are read-outs of the same curve at shifted levels:
        # V0 + d0: f >= (target (dv - d0) + d0) / dv; V∞ -> vi2: f >= target (vi2 - V0) / dv
        alt = v_fit if v_inf == "last_sample" else v_last
        tail5 = float(vv[-5:].sum()) / len(vv[-5:])
        levels = [(target * (dv - d0) + d0) / dv for d0 in (-2 * sigma, 2 * sigma)]
        levels += [
            target * (vi2 - v0v) / dv for vi2 in (alt, tail5, vi - 2 * sigma, vi + 2 * sigma)
        ]
        tj, kk, perturbed = _rx.crossing_time_levels(tt, f, target, levels)
        tau[j] = tj
        reached[j] = kk >= 0
        # monotonicity: re-crossing after the first crossing or overshoot beyond V∞
        tol = 3.0 * sigma / abs(dv)
        if kk >= 0:
            nonmono[j] = bool((f[kk:] < target - tol).any() or (f > 1.0 + max(tol, 0.05)).any())
        # drift: slope at the end times the tail time constant, relative to the relaxation
        slope = _rx.end_slope(tt, vv, 0.1)
        if not np.isfinite(t_tail):
            t_tail = tj if np.isfinite(tj) else float(tt[-1])
        unrelaxed[j] = abs(slope) * t_tail / abs(dv)
        # uncertainty range: the perturbed levels and a 5-point smoothing
        cands = [tj, *perturbed]
        vs = np.concatenate([[vv[0]], _rx.moving_average(vv, 5)[1:]])
        cands.append(_tau_of(tt, vs, v0v, vi))
        c = np.array(cands, dtype=float)
        c = c[np.isfinite(c)]
        if len(c):
            lo[j], hi[j] = float(c.min()), float(c.max())
    dur = (steps.pulse_end_s - steps.pulse_start_s)[idx]
    cap = None if steps.capacity_mah_g is None else steps.capacity_mah_g[idx]
    return RelaxationTimes(
        step=steps.step[idx],
        half_cycle=steps.half_cycle[idx],
        half_cycle_label=steps.half_cycle_label[idx],
        direction=steps.direction[idx],
        capacity_mah_g=cap,
        tau_s=tau,
        tau_low_s=lo,
        tau_high_s=hi,
        v0_v=v0s,
        v_inf_v=vinfs,
        v_inf_fitted_v=vfits,
        noise_v=noise,
        reached=reached,
        non_monotone=nonmono,
        unrelaxed_fraction=unrelaxed,
        settled=np.nan_to_num(unrelaxed, nan=np.inf) <= max_unrelaxed_fraction,
        pulse_duration_s=dur,
        pulse_limited=reached
        & (
            np.nan_to_num(tau)
            >= PULSE_LIMITED_FRACTION
            * saturated_tau_reading(dur, (steps.rest_end_s - steps.rest_start_s)[idx], v_inf=v_inf)
        ),
        v0_convention=v0,
        v_inf_method=v_inf,
        target_fraction=float(target),
    )


# ================================================================== fitted alternatives


@dataclass(frozen=True, slots=True)
class RelaxationFits:
    """One-, two-exponential and stretched-exponential fits of every rest (long format).

    Models (t from the curve origin of ``v0_convention``; fitted to the rest samples only):
    ``exponential`` V∞ − A e^{−t/τ₁}; ``two_exponential`` V∞ − A[w e^{−t/τ₁} + (1 − w) e^{−t/τ₂}]
    (τ₁ ≤ τ₂); ``stretched`` V∞ − A e^{−(t/τ₁)^β}. Unused parameters are NaN.

    Attributes
    ----------
    step : (F,) ndarray of int
    model : (F,) ndarray of str
    v_inf_v, amplitude_v : (F,) ndarray of float, V
    tau1_s, tau2_s : (F,) ndarray of float, s
    weight, beta : (F,) ndarray of float
    tau63_s : (F,) ndarray of float, s
        Time at which the fitted model has done 1 − 1/e of its own relaxation.
    rms_residual_mv : (F,) ndarray of float, mV
    success : (F,) ndarray of bool
    message : (F,) ndarray of str
        Optimiser status.
    initial : (F,) ndarray of object
        Initial parameter tuples (what reproduces the fit).
    n_points : (F,) ndarray of int
        Samples fitted.
    v0_convention : str
    """

    step: np.ndarray
    model: np.ndarray
    v_inf_v: np.ndarray
    amplitude_v: np.ndarray
    tau1_s: np.ndarray
    tau2_s: np.ndarray
    weight: np.ndarray
    beta: np.ndarray
    tau63_s: np.ndarray
    rms_residual_mv: np.ndarray
    success: np.ndarray
    message: np.ndarray
    initial: np.ndarray
    n_points: np.ndarray
    v0_convention: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Step": self.step,
                "Model": self.model,
                "Vinf [V]": self.v_inf_v,
                "Amplitude [V]": self.amplitude_v,
                "Tau1 [s]": self.tau1_s,
                "Tau2 [s]": self.tau2_s,
                "Weight": self.weight,
                "Beta": self.beta,
                "Tau63 [s]": self.tau63_s,
                "RMS residual [mV]": self.rms_residual_mv,
                "Success": self.success,
                "Message": self.message,
                "Points": self.n_points,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        d = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in _fields(self).items()}
        d["initial"] = [list(map(float, p)) for p in self.initial]
        return d


def relaxation_fits(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    v0: V0Convention,
    models: Sequence[FitModel] = ("exponential", "two_exponential", "stretched"),
) -> RelaxationFits:
    """Fit exponential alternatives to every rest so the 1/e read-out can be judged.

    A two-exponential fit much better than the one-exponential fit, or a stretched exponent β well
    below 1, means the single-τ read-out summarises a distribution of time constants.

    Parameters
    ----------
    data, steps
        As for :func:`relaxation_times`.
    v0 : {"last_under_current", "first_rest_point"}
        Sets the time origin (the fits use the rest samples only).
    models : sequence of {"exponential", "two_exponential", "stretched"}

    Returns
    -------
    RelaxationFits
        A failed optimisation is marked ``success=False`` with the optimiser's message.
    """
    _check_steps(data, steps)
    _check_choice("v0", v0, ("last_under_current", "first_rest_point"))
    for mname in models:
        _check_choice("models", mname, tuple(_rx.MODELS))
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []
    for n in np.flatnonzero(steps.has_rest):
        tt, vv, v0v = _curve(t, v, steps, int(n), v0)
        tr, vr = (tt[1:], vv[1:]) if v0 == "last_under_current" else (tt, vv)
        tau_guess = _tau_of(tt, vv, v0v, float(vv[-1]))
        for mname in models:
            npar = {"exponential": 3, "two_exponential": 5, "stretched": 4}[mname]
            row: dict[str, Any] = {"step": int(n), "model": mname, "n_points": len(tr)}
            if len(tr) <= npar:
                p0 = np.full(npar, np.nan)
                row.update(params=p0, rms=np.nan, ok=False, msg="too few points", p0=p0, t63=np.nan)
                rows.append(row)
                continue
            p0 = _rx.initial_guess(mname, tr, vr, v0v, tau_guess)
            try:
                params, rms, ok, msg = _rx.fit_model(mname, tr, vr, p0)
                t63 = _rx.model_tau63(mname, params) if ok else float("nan")
            except (ValueError, RuntimeError, FloatingPointError) as exc:  # pragma: no cover
                params, rms, ok, msg, t63 = np.full(npar, np.nan), np.nan, False, str(exc), np.nan
            row.update(params=params, rms=rms, ok=ok, msg=msg, p0=p0, t63=t63)
            rows.append(row)

    def col(fn: Any, dtype: Any = float) -> np.ndarray:
        return np.array([fn(r) for r in rows], dtype=dtype) if rows else np.zeros(0, dtype=dtype)

    def par(r: dict[str, Any], name: str) -> float:
        p, m = r["params"], r["model"]
        pos = {
            "exponential": {"vinf": 0, "a": 1, "t1": 2},
            "two_exponential": {"vinf": 0, "a": 1, "t1": 2, "t2": 3, "w": 4},
            "stretched": {"vinf": 0, "a": 1, "t1": 2, "beta": 3},
        }[m]
        return float(p[pos[name]]) if name in pos else float("nan")

    initial = np.empty(len(rows), dtype=object)
    for j, r in enumerate(rows):
        initial[j] = tuple(float(x) for x in r["p0"])
    return RelaxationFits(
        step=col(lambda r: r["step"], np.int64),
        model=col(lambda r: r["model"], object),
        v_inf_v=col(lambda r: par(r, "vinf")),
        amplitude_v=col(lambda r: par(r, "a")),
        tau1_s=col(lambda r: par(r, "t1")),
        tau2_s=col(lambda r: par(r, "t2")),
        weight=col(lambda r: par(r, "w")),
        beta=col(lambda r: par(r, "beta")),
        tau63_s=col(lambda r: r["t63"]),
        rms_residual_mv=col(lambda r: r["rms"] * 1000.0),
        success=col(lambda r: r["ok"], bool),
        message=col(lambda r: r["msg"], object),
        initial=initial,
        n_points=col(lambda r: r["n_points"], np.int64),
        v0_convention=v0,
    )


# ================================================================== diffusion coefficients


@dataclass(frozen=True, slots=True)
class DiffusionCoefficients:
    """Chemical diffusion coefficients per pulse (Weppner–Huggins or √t regression).

    Attributes
    ----------
    step : (K,) ndarray of int
    d_m2_s : (K,) ndarray of float, m²/s
    delta_es_v : (K,) ndarray of float, V
        Steady-state change ΔE_s: end of the rest after the pulse − end of the rest before it (each
        the mean of the last ``rest_average_points`` samples).
    delta_et_v : (K,) ndarray of float, V
        Transient change ΔE_t = CCV − first sample under current (IR step excluded).
    sqrt_t_slope_v_s05 : (K,) ndarray of float, V/√s
        dE/d√t of the pulse (least-squares regression, computed for both methods).
    sqrt_t_r2 : (K,) ndarray of float
        R² of that regression.
    pulse_duration_s : (K,) ndarray of float, s
    t_over_l2_d : (K,) ndarray of float
        t_p D / L²: the validity measure (Weppner–Huggins needs t_p ≪ L²/D).
    valid : (K,) ndarray of bool
        ``t_over_l2_d ≤ validity_limit`` and a resolvable ΔE_s.
    plateau : (K,) ndarray of bool
        ΔE_s below 3 σ (noise) or 1 mV: a flat plateau (such as the 2.1 V solid-state plateau) makes
        the estimate ill-conditioned — reported, not hidden.
    length_um : float
        Diffusion length L used (R/3 for spheres or m V_M /(M S) for an electrode).
    method : str
    validity_limit : float
    """

    step: np.ndarray
    d_m2_s: np.ndarray
    delta_es_v: np.ndarray
    delta_et_v: np.ndarray
    sqrt_t_slope_v_s05: np.ndarray
    sqrt_t_r2: np.ndarray
    pulse_duration_s: np.ndarray
    t_over_l2_d: np.ndarray
    valid: np.ndarray
    plateau: np.ndarray
    length_um: float
    method: str
    validity_limit: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Step": self.step,
                "D [m2/s]": self.d_m2_s,
                "Delta Es [V]": self.delta_es_v,
                "Delta Et [V]": self.delta_et_v,
                "dE/dsqrt(t) [V/s0.5]": self.sqrt_t_slope_v_s05,
                "sqrt(t) R2": self.sqrt_t_r2,
                "Pulse duration [s]": self.pulse_duration_s,
                "tD/L2": self.t_over_l2_d,
                "Valid": self.valid,
                "Plateau": self.plateau,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return _plain_dict(self)


def diffusion_coefficients(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    method: Literal["weppner_huggins", "sqrt_t"] = "weppner_huggins",
    particle_radius_um: float | None = None,
    molar_volume_cm3_mol: float | None = None,
    active_mass_mg: float | None = None,
    molar_mass_g_mol: float | None = None,
    area_cm2: float | None = None,
    sqrt_t_window: tuple[float, float] = (0.0, 1.0),
    validity_limit: float = 0.1,
    rest_average_points: int = 5,
) -> DiffusionCoefficients:
    """Chemical diffusion coefficient of every pulse that has a rest before and after it.

    Weppner–Huggins (Weppner & Huggins, J. Electrochem. Soc. 124 (1977) 1569, eq. 29; MODEL.md):

        D = 4/(π t_p) · L² · (ΔE_s / ΔE_t)²,

    with L = R/3 for spheres (V/S of a sphere) or L = m V_M /(M S) for an electrode of active mass m,
    molar mass M, molar volume V_M and area S. The √t variant replaces ΔE_t/√t_p by the regression slope
    s = dE/d√t of the pulse: D = 4/π · (L ΔE_s /(t_p s))². Both assume t_p ≪ L²/D; ``valid`` checks it.

    Parameters
    ----------
    data, steps
        The canonical table and its steps.
    method : {"weppner_huggins", "sqrt_t"}
    particle_radius_um : float, µm
        Give this (spheres) or all four of ``molar_volume_cm3_mol``, ``active_mass_mg``,
        ``molar_mass_g_mol`` and ``area_cm2`` (electrode form).
    sqrt_t_window : (float, float)
        Part of the pulse (fractions of t_p) used for the √t regression.
    validity_limit : float
        Largest t_p D / L² counted as "t_p ≪ L²/D".
    rest_average_points : int
        ΔE_s is taken between the means of the last this-many samples of the rest before and after
        the pulse (noise averaging; 1 = the single last samples, as in ``GittSteps.qocv_v``).

    Returns
    -------
    DiffusionCoefficients

    Raises
    ------
    SulfurscopeError
        When neither or both geometries are given or a size is not positive.
    """
    _check_steps(data, steps)
    _check_choice("method", method, ("weppner_huggins", "sqrt_t"))
    electrode = (molar_volume_cm3_mol, active_mass_mg, molar_mass_g_mol, area_cm2)
    if particle_radius_um is not None and any(x is not None for x in electrode):
        raise SulfurscopeError("give particle_radius_um or the electrode quantities, not both")
    if particle_radius_um is not None:
        if not particle_radius_um > 0:
            raise SulfurscopeError(f"particle_radius_um must be > 0, got {particle_radius_um!r}")
        length_m = particle_radius_um * 1e-6 / 3.0
    elif all(x is not None for x in electrode):
        vm, m, mm, s = (float(x) for x in electrode)  # type: ignore[arg-type]
        if min(vm, m, mm, s) <= 0:
            raise SulfurscopeError(f"electrode quantities must be > 0, got {electrode}")
        length_m = (m * 1e-3 / mm) * vm / s * 1e-2  # mol * cm3/mol / cm2 = cm -> m
    else:
        raise SulfurscopeError(
            "diffusion_coefficients needs a length: particle_radius_um (spheres, L = R/3) or "
            "molar_volume_cm3_mol, active_mass_mg, molar_mass_g_mol and area_cm2 (L = m V_M/(M S))"
        )
    if rest_average_points < 1:
        raise SulfurscopeError(f"rest_average_points must be >= 1, got {rest_average_points}")
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    rest_flag = data[REST].to_numpy(dtype=bool) if REST in data.columns else None
    idx = np.flatnonzero(steps.has_rest & np.isfinite(steps.voltage_before_v))
    k = len(idx)
    d = np.full(k, np.nan)
    slope, r2 = np.full(k, np.nan), np.full(k, np.nan)
    m_avg = int(rest_average_points)
    es = np.empty(k)
    for j, n in enumerate(idx):
        a = int(steps.pulse_start_row[n])
        lo = a - m_avg
        if rest_flag is not None:
            prev = rest_flag[max(0, lo) : a]
            lo = a - (
                len(prev) - int(np.flatnonzero(~prev)[-1]) - 1 if (~prev).any() else len(prev)
            )
        before = float(v[max(0, lo) : a].mean())
        rb = int(steps.rest_stop_row[n])
        ra = max(int(steps.rest_start_row[n]), rb - m_avg)
        es[j] = float(v[ra:rb].mean()) - before
    et = np.full(k, np.nan)
    tp = (steps.pulse_end_s - steps.pulse_start_s)[idx]
    plateau = np.zeros(k, bool)
    for j, n in enumerate(idx):
        a, b = int(steps.pulse_start_row[n]), int(steps.pulse_stop_row[n])
        tt = t[a:b] - t[a]
        vv = v[a:b]
        et[j] = vv[-1] - vv[0]
        w0, w1 = sqrt_t_window
        sel = (tt >= w0 * tp[j]) & (tt <= w1 * tp[j] + 1e-12)
        if sel.sum() >= 3:
            x = np.sqrt(tt[sel])
            y = vv[sel]
            xm = x - x.mean()
            sl = float(np.dot(xm, y - y.mean()) / np.dot(xm, xm))
            res = y - y.mean() - sl * xm
            ss = float(np.dot(y - y.mean(), y - y.mean()))
            slope[j] = sl
            r2[j] = 1.0 - float(np.dot(res, res)) / ss if ss > 0 else float("nan")
        ra, rb = int(steps.rest_start_row[n]), int(steps.rest_stop_row[n])
        sigma = _rx.noise_sigma(v[ra:rb])
        plateau[j] = abs(es[j]) < max(3 * sigma, 1e-3)
        if method == "weppner_huggins":
            if et[j] != 0 and tp[j] > 0:
                d[j] = 4.0 / (np.pi * tp[j]) * length_m**2 * (es[j] / et[j]) ** 2
        elif np.isfinite(slope[j]) and slope[j] != 0 and tp[j] > 0:
            d[j] = 4.0 / np.pi * (length_m * es[j] / (tp[j] * slope[j])) ** 2
    ratio = tp * d / length_m**2
    return DiffusionCoefficients(
        step=steps.step[idx],
        d_m2_s=d,
        delta_es_v=es,
        delta_et_v=et,
        sqrt_t_slope_v_s05=slope,
        sqrt_t_r2=r2,
        pulse_duration_s=tp,
        t_over_l2_d=ratio,
        valid=(np.nan_to_num(ratio, nan=np.inf) <= validity_limit) & ~plateau,
        plateau=plateau,
        length_um=length_m * 1e6,
        method=method,
        validity_limit=float(validity_limit),
    )


# ================================================================== sphere map and scaling


def _inner_fraction(radius_um: float, shell_um: float | None) -> float:
    if shell_um is None:
        return 0.0
    if not (np.isfinite(shell_um) and shell_um > 0):
        raise SulfurscopeError(f"shell_um must be a positive thickness in µm, got {shell_um!r}")
    return max(0.0, 1.0 - shell_um / radius_um)


def sphere_relaxation_time(
    *, pulse_s: float, radius_um: float, diffusivity_m2_s: float, shell_um: float | None = None
) -> float:
    """The 1 − 1/e relaxation time after a constant-current pulse into a sphere, τ_e = G(t_p D/R²)·R²/D.

    Exact constant-flux sphere solution (MODEL.md, "GITT interpretation"; Crank eq. 6.49):
    g(T) = 3T + 1/5 − 2 Σ exp(−x_n² T)/x_n², tan x_n = x_n, c_s(rest) ∝ g(T) − g(T − T_p).
    τ_e is measured from the end of the pulse. With ``shell_um`` = δ only an outer shell
    R − δ ≤ r ≤ R is active (inert core, no flux at r = R − δ, the study's active shell); its
    response is computed from the modes of a finite-volume shell (checked against the sphere and,
    for thin shells, the slab).

    Examples
    --------
    >>> tau = sphere_relaxation_time(pulse_s=3600.0, radius_um=4.0, diffusivity_m2_s=1e-15)
    >>> round(tau / 3600.0, 3)  # ≈ 0.0222 R²/D / t_p: well below the ~1.38 t_p ceiling
    0.098
    """
    for name, val in (
        ("pulse_s", pulse_s),
        ("radius_um", radius_um),
        ("diffusivity_m2_s", diffusivity_m2_s),
    ):
        if not (np.isfinite(val) and val > 0):
            raise SulfurscopeError(f"{name} must be a positive number, got {val!r}")
    inner = _inner_fraction(radius_um, shell_um)
    r2_over_d = (radius_um * 1e-6) ** 2 / diffusivity_m2_s
    return _sphere.shell_tau_dimless(pulse_s / r2_over_d, inner) * r2_over_d


@dataclass(frozen=True, slots=True)
class SphereDiffusivity:
    """Transport coefficients from τ by inverting the exact sphere map τ = G(t_p D/R²)·R²/D.

    Attributes
    ----------
    tau_s, radius_um, pulse_s : (K,) ndarray of float
        The inputs (broadcast).
    tau_over_pulse : (K,) ndarray of float
    d_m2_s : (K,) ndarray of float, m²/s
        The D that reproduces τ; NaN where τ/t_p is at or above the semi-infinite limit (≈ 1.381),
        where no D does (``pulse_limited`` is then True).
    d_upper_bound_m2_s : (K,) ndarray of float, m²/s
        For pulse-limited points (τ ≥ 1.2 t_p) the D at τ = 1.2 t_p: τ then only says D ≤ this.
        NaN elsewhere.
    pulse_limited : (K,) ndarray of bool
        τ ≥ 1.2 t_p.
    note : str
    """

    tau_s: np.ndarray
    radius_um: np.ndarray
    pulse_s: np.ndarray
    tau_over_pulse: np.ndarray
    d_m2_s: np.ndarray
    d_upper_bound_m2_s: np.ndarray
    pulse_limited: np.ndarray
    note: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Tau [s]": self.tau_s,
                "Radius [um]": self.radius_um,
                "Pulse [s]": self.pulse_s,
                "Tau/pulse": self.tau_over_pulse,
                "D [m2/s]": self.d_m2_s,
                "D upper bound [m2/s]": self.d_upper_bound_m2_s,
                "Pulse limited": self.pulse_limited,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return _plain_dict(self)


_PULSE_LIMIT_NOTE = (
    "{n} of {m} tau are pulse-limited (>= 0.87 of the saturated read-out: 1.2 t_p for a full "
    "relaxation, less when V_inf is the last sample of a finite rest). The 1/e time of a sphere "
    "saturates near 1.38 t_p, so these tau only bound D from above, and a tau ratio between particle "
    "sizes is not by itself proof of L^2 scaling (one D plus pulse-length saturation gives the same "
    "ratio)."
)


def sphere_diffusivity(
    tau_s: np.ndarray | Sequence[float] | float,
    *,
    radius_um: np.ndarray | Sequence[float] | float,
    pulse_s: np.ndarray | Sequence[float] | float,
    shell_um: float | None = None,
) -> SphereDiffusivity:
    """Invert τ = G(t_p D/R²)·R²/D (MODEL.md) for D, flagging pulse-limited τ (τ ≥ 1.2 t_p).

    ``shell_um`` = δ inverts the active-shell (inert core) solution instead of the full sphere.

    τ/t_p = G(T_p)/T_p falls monotonically from ≈ 1.381 (T_p → 0) to 0, so every τ/t_p below 1.381 has
    exactly one D.

    Examples
    --------
    >>> r = sphere_diffusivity(684.0, radius_um=1.0, pulse_s=1000.0)  # τ/t_p = 0.684 ⇔ T_p = 0.01
    >>> round(float(r.d_m2_s[0]) * 1e17, 2)
    1.0
    """
    tau, rad, tp = np.broadcast_arrays(
        np.atleast_1d(np.asarray(tau_s, dtype=float)),
        np.atleast_1d(np.asarray(radius_um, dtype=float)),
        np.atleast_1d(np.asarray(pulse_s, dtype=float)),
    )
    for name, arr in (("tau_s", tau), ("radius_um", rad), ("pulse_s", tp)):
        if not np.all(np.isfinite(arr) & (arr > 0)):
            raise SulfurscopeError(f"{name} must be positive and finite, got {arr.tolist()}")
    ratio = tau / tp
    limit = _sphere.sphere_tau_ratio_limit()
    d = np.full(len(tau), np.nan)
    bound = np.full(len(tau), np.nan)
    r2 = (rad * 1e-6) ** 2
    for j in range(len(tau)):
        inner = _inner_fraction(float(rad[j]), shell_um)
        if ratio[j] < limit * (1 - 1e-3):
            try:
                tpd = _sphere.shell_pulse_dimless_from_ratio(float(ratio[j]), inner)
                d[j] = tpd * r2[j] / tp[j]
            except ValueError:  # at the semi-infinite limit within numerical resolution
                d[j] = np.nan
        if ratio[j] >= PULSE_LIMITED_RATIO:
            tp_at_bound = _sphere.shell_pulse_dimless_from_ratio(PULSE_LIMITED_RATIO, inner)
            bound[j] = tp_at_bound * r2[j] / tp[j]
    limited = ratio >= PULSE_LIMITED_RATIO
    note = _PULSE_LIMIT_NOTE.format(n=int(limited.sum()), m=len(tau)) if limited.any() else ""
    return SphereDiffusivity(
        tau_s=tau.astype(float),
        radius_um=rad.astype(float),
        pulse_s=tp.astype(float),
        tau_over_pulse=ratio,
        d_m2_s=d,
        d_upper_bound_m2_s=bound,
        pulse_limited=limited,
        note=note,
    )


@dataclass(frozen=True, slots=True)
class TransportScaling:
    """Power-law fit τ = a · L^n across particle sizes (n ≈ 2 for diffusion-limited transport).

    Attributes
    ----------
    exponent : float
        n.
    exponent_stderr : float
        Standard error of n (weighted by the τ ranges when given, else from the residual scatter).
    exponent_ci95 : tuple of float
        95 % interval of n (Student t with n_points − 2 degrees of freedom; ±1.96 σ when weighted).
    prefactor_s : float, s
        a: τ at L = 1 µm.
    n_points, n_sizes : int
    size_um, tau_s : (K,) ndarray of float
        The points fitted.
    pulse_limited : (K,) ndarray of bool
        τ ≥ 1.2 t_p (only when ``pulse_s`` was given; else all False).
    diffusivity_l2_m2_s : float, m²/s
        D from the n = 2 fit τ = R²/(x₁² D) with the sphere's slowest mode x₁² ≈ 20.19 and
        R = L/2 (L is the particle diameter). Meaningful only where τ is not pulse-limited.
    note : str
        Caveats (pulse-limited points, too few sizes).
    """

    exponent: float
    exponent_stderr: float
    exponent_ci95: tuple[float, float]
    prefactor_s: float
    n_points: int
    n_sizes: int
    size_um: np.ndarray
    tau_s: np.ndarray
    pulse_limited: np.ndarray
    diffusivity_l2_m2_s: float
    note: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"Size [um]": self.size_um, "Tau [s]": self.tau_s, "Pulse limited": self.pulse_limited}
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def transport_scaling(
    size_um: np.ndarray | Sequence[float],
    tau_s: np.ndarray | Sequence[float],
    *,
    tau_low_s: np.ndarray | Sequence[float] | None = None,
    tau_high_s: np.ndarray | Sequence[float] | None = None,
    pulse_s: np.ndarray | Sequence[float] | float | None = None,
    rest_s: np.ndarray | Sequence[float] | float | None = None,
    v_inf: Literal["last_sample", "fitted"] = "fitted",
) -> TransportScaling:
    """Fit τ ∝ L^n across particle sizes and report n with its uncertainty.

    Least squares of ln τ = ln a + n ln L (several τ per size allowed, e.g. one per step). With
    ``tau_low_s``/``tau_high_s`` the points are weighted by σ(ln τ) = ln(high/low)/4.

    The study argues n ≈ 2 in the first discharge and n ≈ 0 afterwards. A τ ≥ 1.2 t_p is
    pulse-limited (MODEL.md): the 1/e time of a sphere saturates near 1.38 t_p, so such a τ bounds
    the transport time only from below and the fitted n is then not evidence for L² scaling; the
    ``note`` says so. With ``rest_s`` and ``v_inf="last_sample"`` the threshold is the same fraction of
    the saturated reading of that finite rest (:func:`saturated_tau_reading`).

    Raises
    ------
    SulfurscopeError
        Fewer than two distinct sizes, non-positive values, mismatched lengths.

    Examples
    --------
    >>> r = transport_scaling([1.0, 4.0, 8.0], [10.0, 160.0, 640.0])
    >>> round(r.exponent, 6)
    2.0
    """
    size = np.asarray(size_um, dtype=float).ravel()
    tau = np.asarray(tau_s, dtype=float).ravel()
    if size.shape != tau.shape:
        raise SulfurscopeError(f"size_um and tau_s differ in length ({len(size)} vs {len(tau)})")
    keep = np.isfinite(size) & np.isfinite(tau)
    if np.any((size[keep] <= 0) | (tau[keep] <= 0)):
        raise SulfurscopeError("size_um and tau_s must be positive")
    sig = None
    if (tau_low_s is None) != (tau_high_s is None):
        raise SulfurscopeError("give both tau_low_s and tau_high_s, or neither")
    if tau_low_s is not None and tau_high_s is not None:
        lo = np.asarray(tau_low_s, dtype=float).ravel()
        hi = np.asarray(tau_high_s, dtype=float).ravel()
        if lo.shape != tau.shape or hi.shape != tau.shape:
            raise SulfurscopeError("tau_low_s/tau_high_s must have the length of tau_s")
        keep &= np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (hi > 0)
        sig = np.maximum(np.log(hi / lo) / 4.0, 1e-6)
    tp = None
    if pulse_s is not None:
        tp = np.broadcast_to(np.asarray(pulse_s, dtype=float), tau.shape)
    size_k, tau_k = size[keep], tau[keep]
    n_sizes = len(np.unique(size_k))
    if n_sizes < 2:
        raise SulfurscopeError(
            f"transport_scaling needs tau for at least two particle sizes, got {n_sizes} "
            f"(sizes {np.unique(size_k).tolist()})"
        )
    x, y = np.log(size_k), np.log(tau_k)
    w = np.ones_like(x) if sig is None else 1.0 / sig[keep] ** 2
    a_mat = np.column_stack([np.ones_like(x), x])
    aw = a_mat * np.sqrt(w)[:, None]
    yw = y * np.sqrt(w)
    coef, *_ = np.linalg.lstsq(aw, yw, rcond=None)
    cov = np.linalg.inv(aw.T @ aw)
    dof = len(x) - 2
    resid = yw - aw @ coef
    from scipy import stats

    if sig is None:
        if dof > 0:
            s2 = float(resid @ resid) / dof
            se = float(np.sqrt(cov[1, 1] * s2))
            q = float(stats.t.ppf(0.975, dof))
        else:
            se, q = float("nan"), float("nan")
    else:
        se = float(np.sqrt(cov[1, 1]))
        q = 1.96
    n_exp = float(coef[1])
    limited = np.zeros(len(tau_k), bool)
    notes = []
    if tp is not None:
        rest = (
            None
            if rest_s is None
            else np.broadcast_to(np.asarray(rest_s, dtype=float), tau.shape)[keep]
        )
        limited = tau_k >= PULSE_LIMITED_FRACTION * saturated_tau_reading(
            tp[keep], rest, v_inf=v_inf
        )
        if limited.any():
            notes.append(_PULSE_LIMIT_NOTE.format(n=int(limited.sum()), m=len(tau_k)))
    if n_sizes == 2 and sig is None:
        notes.append("two sizes only: n is exact through two points and has no uncertainty")
    # n = 2 fit with the sphere's slowest mode: tau = R^2 / (x1^2 D), R = L/2
    x1sq = float(_sphere._ROOTS_SQ[0])
    c2 = float(np.exp(np.sum(w * (y - 2 * x)) / np.sum(w)))  # tau = c2 L^2 (L in µm)
    d_l2 = 1e-12 / (4.0 * x1sq * c2)
    return TransportScaling(
        exponent=n_exp,
        exponent_stderr=se,
        exponent_ci95=(n_exp - q * se, n_exp + q * se),
        prefactor_s=float(np.exp(coef[0])),
        n_points=len(x),
        n_sizes=n_sizes,
        size_um=size_k,
        tau_s=tau_k,
        pulse_limited=limited,
        diffusivity_l2_m2_s=d_l2,
        note=" ".join(notes),
    )
