"""The canonical cycler table every reader returns, and the checks that make it canonical.

Columns (see :mod:`sulfurscope.units`): ``Time [s]`` (from the start of the file, monotone
non-decreasing), ``Voltage [V]``, ``Current [mA]`` (positive = charge), ``Charge [mAh]``
(cumulative, signed, starts at 0), ``Step`` (int, the instrument's step/sequence counter), ``Rest``
(bool, no current by instruction of the instrument), plus whatever else the file carries, named in
the same grammar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._validate import clean_rows
from sulfurscope.units import CHARGE, CURRENT, REST, SECONDS_PER_HOUR, STEP, TIME, VOLTAGE

__all__ = [
    "CyclerData",
    "current_from_charge",
    "finalize_cycler_columns",
    "charge_from_step_counter",
    "finalize_cycler_frame",
    "join_cycler_frames",
]


@dataclass(frozen=True, slots=True)
class CyclerData:
    """A cycler file read into the canonical table.

    Attributes
    ----------
    frame : DataFrame
        The canonical table (columns in :data:`sulfurscope.units.CANONICAL_CYCLER_COLUMNS` first).
    metadata : dict
        What the file says about the run (technique, active mass, limits, instrument, ...). Keys are
        ``snake_case`` with a unit suffix where one applies (``active_mass_mg``).
    path : str
        The file it came from.
    format : str
        The reader used (``"biologic-mpr"``, ``"biologic-mpt"``, ``"arbin-res"``, ``"neware"``,
        ``"maccor"``, ...).
    """

    frame: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    format: str = ""

    def to_frame(self) -> pd.DataFrame:
        """Return the canonical table."""
        return self.frame

    def to_dict(self) -> dict[str, Any]:
        """Return path, format, metadata and the row count (not the table) as a plain dict."""
        return {
            "path": self.path,
            "format": self.format,
            "metadata": dict(self.metadata),
            "rows": len(self.frame),
        }


def finalize_cycler_frame(
    frame: pd.DataFrame,
    *,
    source: str | Path,
    charge_from_current: bool = False,
) -> pd.DataFrame:
    """Check a reader's table and complete it into the canonical one.

    Requires ``Time [s]`` and ``Voltage [V]``; needs ``Current [mA]`` or ``Charge [mAh]`` (the
    missing one is derived: current from dQ/dt, charge by trapezoidal integration). ``Step``
    defaults to 0 and ``Rest`` to ``Current == 0``. Time is shifted to start at 0, charge to start
    at 0. The input is not changed (every column of the result is a fresh array).

    Raises
    ------
    FileFormatError
        Naming ``source`` when time or voltage is missing, the table is empty, or values are not
        finite.
    """
    columns = {str(c): frame[c].to_numpy(copy=True) for c in frame.columns}
    return finalize_cycler_columns(columns, source=source, charge_from_current=charge_from_current)


def finalize_cycler_columns(
    columns: dict[str, np.ndarray],
    *,
    source: str | Path,
    charge_from_current: bool = False,
    zero_current: bool = False,
) -> pd.DataFrame:
    """:func:`finalize_cycler_frame` for readers that hold a dict of NumPy columns.

    ``zero_current``: a file with neither current nor charge is a rest record (BioLogic OCV): its
    current is 0 (else such a file is refused).

    Works column by column in NumPy and builds the frame once without consolidating blocks (the
    fast path of the readers). The arrays in ``columns`` end up in the frame: pass arrays the
    caller owns.
    """
    name = Path(source).name
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        raise FileFormatError(f"{name}: no data rows (empty or truncated file)")
    for col in (TIME, VOLTAGE):
        if col not in columns:
            raise FileFormatError(
                f"{name}: no {col.split(' [')[0].lower()} column; expected one mapping to {col!r} "
                f"(found {list(columns)[:12]})"
            )
    if CURRENT not in columns and CHARGE not in columns:
        if not zero_current:
            raise FileFormatError(f"{name}: neither current nor charge column; one is needed")
        columns = {**columns, CURRENT: np.zeros(n)}  # a rest (OCV) record: I = 0 by definition
    out = _checked(columns, name)
    n = len(out[TIME])
    t = np.asarray(out[TIME], dtype=np.float64)
    out[TIME] = t - t[0]
    out[VOLTAGE] = np.asarray(out[VOLTAGE], dtype=np.float64)
    current = np.asarray(out[CURRENT], dtype=np.float64) if CURRENT in out else None
    if current is None or np.isnan(current).all():
        current = current_from_charge(out[TIME], np.asarray(out[CHARGE], dtype=np.float64))
    out[CURRENT] = current
    if CHARGE not in out or charge_from_current:
        tt = out[TIME]
        q_mas = np.empty(n)
        q_mas[0] = 0.0
        np.cumsum(0.5 * (current[1:] + current[:-1]) * np.diff(tt), out=q_mas[1:])
        out[CHARGE] = q_mas / SECONDS_PER_HOUR
    else:
        q = np.asarray(out[CHARGE], dtype=np.float64)
        out[CHARGE] = q - q[0]
    out[STEP] = np.zeros(n, dtype=np.int64) if STEP not in out else _integers(out[STEP], name)
    out[REST] = (current == 0.0) if REST not in out else np.asarray(out[REST], dtype=bool)
    first = [TIME, VOLTAGE, CURRENT, CHARGE, STEP, REST]
    ordered = {c: out[c] for c in first}
    ordered.update({c: v for c, v in out.items() if c not in ordered})
    return pd.DataFrame(ordered, index=pd.RangeIndex(n), copy=False)


def _checked(columns: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """The columns with unusable rows dropped (counted warnings): non-finite time, voltage, current,
    charge or step, a negative step, time running backwards."""
    out = {c: np.asarray(v) for c, v in columns.items()}
    for col in (TIME, VOLTAGE, CURRENT, CHARGE, STEP):
        if col in out and out[col].dtype.kind not in "iufb":
            try:
                out[col] = out[col].astype(np.float64)
            except (TypeError, ValueError):
                raise FileFormatError(
                    f"{name}: column {col!r} holds text where numbers are expected"
                ) from None
    current_all_nan = CURRENT in out and bool(np.isnan(out[CURRENT].astype(float)).all())
    finite = tuple(c for c in (TIME, VOLTAGE, CURRENT, CHARGE, STEP)
                   if not (c == CURRENT and current_all_nan))
    return clean_rows(out, name, finite=finite, nonnegative=(STEP,), time=TIME)


def _integers(values: np.ndarray, name: str) -> np.ndarray:
    """Step numbers as int64 (they are finite and non-negative here); non-integers are refused."""
    a = np.asarray(values)
    if a.dtype.kind in "iub":
        return a.astype(np.int64, copy=False)
    rounded = np.rint(a)
    if not np.allclose(a, rounded, rtol=0, atol=1e-9) or (np.abs(rounded) > 2**62).any():
        raise FileFormatError(f"{name}: {STEP} holds values that are not whole numbers")
    return rounded.astype(np.int64)


def charge_from_step_counter(step: np.ndarray, counter: np.ndarray) -> np.ndarray | None:
    """The running charge (mAh, from 0) from a cycler's signed per-step capacity counter.

    Cyclers (Neware, Maccor) count the capacity of each step from 0; the running charge is the sum
    of the finished steps' final counts plus the current step's count. The cycler integrates its
    own current at its own (high) rate, so this is exact where integrating the logged, sparsely
    sampled current is not (a 30 s pulse logged every few seconds). Returns None when the counter
    does not restart at the steps (so it cannot be read this way) or is not finite.
    """
    step = np.asarray(step)
    q = np.asarray(counter, dtype=np.float64)
    n = len(q)
    if n == 0 or not np.isfinite(q).all():
        return None
    starts = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
    ends = np.r_[starts[1:] - 1, n - 1]
    scale = max(float(np.max(np.abs(q))), 1e-12)
    if len(starts) > 1 and np.median(np.abs(q[starts[1:]])) > 0.05 * scale:
        return None  # not restarting at each step
    before = np.zeros(len(starts))
    before[1:] = np.cumsum(q[ends])[:-1]
    return np.repeat(before, ends - starts + 1) + q


def current_from_charge(time_s: np.ndarray, charge_mah: np.ndarray) -> np.ndarray:
    """Current in mA from a cumulative charge in mAh, by backward differences.

    I_k = (Q_k - Q_(k-1)) / (t_k - t_(k-1)), the mean current of the interval ending at point k
    (what EC-Lab reports as ``<I>``). The first point takes the current of the first interval.
    Intervals of zero length give the previous current (duplicate time stamps occur in real files).
    """
    n = len(time_s)
    out = np.empty(max(n, 1), dtype=np.float64)
    if n < 2:
        out[:] = 0.0
        return out[:n] if n else out[:0]
    i = out[1:]
    with np.errstate(over="ignore", invalid="ignore"):
        np.subtract(charge_mah[1:], charge_mah[:-1], out=i)
        i *= 3600.0  # mA s
        dt = np.subtract(time_s[1:], time_s[:-1])
        ok = dt > 0
        np.divide(i, dt, out=i, where=ok)
    i[~ok] = np.nan
    bad = ~np.isfinite(i)  # zero-length intervals, and overflow from absurd values
    if bad.any():  # forward fill, then 0 before the first valid interval
        idx = np.where(bad, 0, np.arange(len(i)))
        np.maximum.accumulate(idx, out=idx)
        i[:] = np.where(bad, np.nan, i)[idx]
        i[~np.isfinite(i)] = 0.0
    out[0] = i[0]
    return out


def join_cycler_frames(
    frames: list[pd.DataFrame], *, sources: list[str] | None = None
) -> pd.DataFrame:
    """One canonical table from the files of one cell, in order (a run continued in a new file).

    Each canonical table starts at ``Time [s] = 0`` and ``Charge [mAh] = 0`` (see
    :func:`finalize_cycler_frame`), so file k+1 is shifted to start one sample interval (its own
    first interval, or 1 s) after file k ends, its charge continues from file k's last value and its
    steps are renumbered after file k's. The time between two files is therefore not the real pause
    (the files do not say it); capacities, cycles and rests inside each file are unchanged.

    Parameters
    ----------
    frames : list of DataFrame
        Canonical tables in run order.
    sources : list of str, optional
        File names, for error messages.

    Returns
    -------
    DataFrame
        Canonical columns (and only those), with a ``File`` column (0-based index of the source).

    Raises
    ------
    FileFormatError
        When a table lacks a canonical column or the list is empty.

    Examples
    --------
    >>> a = pd.DataFrame({"Time [s]": [0.0, 1.0], "Voltage [V]": [2.0, 2.1], "Current [mA]": [1.0, 1.0],
    ...                   "Charge [mAh]": [0.0, 0.5], "Step": [0, 0], "Rest": [False, False]})
    >>> j = join_cycler_frames([a, a])
    >>> j["Time [s]"].tolist(), j["Charge [mAh]"].tolist(), j["Step"].tolist()
    ([0.0, 1.0, 2.0, 3.0], [0.0, 0.5, 0.5, 1.0], [0, 0, 1, 1])
    """
    if not frames:
        raise FileFormatError("join_cycler_frames: no table given")
    names = sources or [f"file {k + 1}" for k in range(len(frames))]
    cols = (TIME, VOLTAGE, CURRENT, CHARGE, STEP, REST)
    parts = []
    t_end = q_end = 0.0
    step_next = 0
    for k, (f, name) in enumerate(zip(frames, names, strict=True)):
        missing = [c for c in cols if c not in f.columns]
        if missing:
            raise FileFormatError(
                f"{name}: canonical columns {missing} missing (read with read_cycler)"
            )
        if len(f) == 0:
            raise FileFormatError(f"{name}: empty table")
        t = f[TIME].to_numpy(dtype=float)
        q = f[CHARGE].to_numpy(dtype=float)
        step = f[STEP].to_numpy()
        part = pd.DataFrame({c: f[c].to_numpy(copy=True) for c in cols})
        if k > 0:
            dt = float(t[1] - t[0]) if t.size > 1 and t[1] > t[0] else 1.0
            part[TIME] = t - t[0] + t_end + dt
            part[CHARGE] = q - q[0] + q_end
            part[STEP] = step - step.min() + step_next
        part["File"] = k
        t_end = float(part[TIME].iloc[-1])
        q_end = float(part[CHARGE].iloc[-1])
        step_next = int(part[STEP].max()) + 1
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
