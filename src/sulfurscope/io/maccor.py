"""Maccor text exports: every variant the established Maccor readers (cellpy, beep) handle.

Our own reader (pandas' C parser on the data rows). What varies between exports, and how it is read:

=========================  ================================================================
variant                    handling
=========================  ================================================================
header                     none, a one-line title (``Today's Date … Date of Test …``), a few
                           title lines, or a key/value block (``Name:``, ``Procedure``, …)
                           with blank lines: the column line is the first line (of the first
                           60) with ≥ 5 tab-separated fields naming a current and a voltage;
                           ``key: value`` / ``key<TAB>value`` pairs above it become metadata
column names               ``Amps``/``Current [A]``, ``Volts``/``Voltage [V]``, ``Test (Sec)``/
                           ``TestTime``, ``Step (Sec)``/``StepTime``, ``Amp-hr``/``Cap. [Ah]``,
                           ``Watt-hr``/``Ener. [Wh]``, ``State``/``Md``, ``Cyc#``/``Cycle C``,
                           ``Rec#``/``Rec``, ``DPt Time``/``DPT Time``
decimal comma              detected from the voltage column (``0,1377``)
times                      seconds, ``h:mm:ss``, or ``0d 00:00:5.05`` (day prefix): all in s; a
                           plain-number test time whose steps disagree with the date-time
                           column (e.g. minutes) is rescaled to it (factor 60 or 3600, recorded)
current sign               Maccor writes an unsigned current: the sign comes from ``State``/``Md``
                           (``C`` charge +, ``D`` discharge −, ``R`` rest 0, other 0); a current
                           column that already has negative values is kept as it is
charge                     from the cycler's own step counter (``Amp-hr`` restarts every step:
                           Charge = signed running sum of the steps' ends plus the current
                           step's counter) when the file has it; else integrated from the
                           current. ``metadata["charge_source"]`` says which
aux channels               ``Aux #n`` with the unit of the following ``Units`` column:
                           ``Aux #n [C]``
truncated last row         dropped, with a counted warning
=========================  ================================================================
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._canonical import CyclerData, finalize_cycler_frame
from sulfurscope.io._guard import reader
from sulfurscope.io._validate import repair_warning
from sulfurscope.units import CHARGE, CURRENT, REST, SECONDS_PER_HOUR, STEP, TIME, VOLTAGE

__all__ = ["MACCOR_COLUMNS", "read_maccor"]

#: Maccor column -> (our name, factor into our unit).
MACCOR_COLUMNS: dict[str, tuple[str, float]] = {
    "Test (Sec)": (TIME, 1.0),
    "TestTime": (TIME, 1.0),
    "Test Time": (TIME, 1.0),
    "Volts": (VOLTAGE, 1.0),
    "Voltage [V]": (VOLTAGE, 1.0),
    "Voltage": (VOLTAGE, 1.0),
    "Amps": (CURRENT, 1000.0),
    "Current [A]": (CURRENT, 1000.0),
    "Current": (CURRENT, 1000.0),
    "Step": (STEP, 1.0),
    "Cyc#": ("Cycle (file)", 1.0),
    "Cycle C": ("Cycle (file)", 1.0),
    "Cycle P": ("Cycle P (file)", 1.0),
    "Rec#": ("Record", 1.0),
    "Rec": ("Record", 1.0),
    "Step (Sec)": ("Step time [s]", 1.0),
    "StepTime": ("Step time [s]", 1.0),
    "Amp-hr": ("Step capacity (file) [mAh]", 1000.0),
    "Cap. [Ah]": ("Step capacity (file) [mAh]", 1000.0),
    "Watt-hr": ("Step energy (file) [Wh]", 1.0),
    "Ener. [Wh]": ("Step energy (file) [Wh]", 1.0),
    "State": ("State", 1.0),
    "Md": ("State", 1.0),
    "ES": ("End status", 1.0),
    "DPt Time": ("Date time", 1.0),
    "DPT Time": ("Date time", 1.0),
    "ACImp/Ohms": ("AC impedance [Ohm]", 1.0),
    "DCIR/Ohms": ("DC internal resistance [Ohm]", 1.0),
    "Range": ("Current range", 1.0),
}
_CURRENTS = ("Amps", "Current [A]", "Current")
_VOLTAGES = ("Volts", "Voltage [V]", "Voltage")
_TIMES = ("Test (Sec)", "TestTime", "Test Time")
_SIGN = {"C": 1.0, "D": -1.0}
_DAY_TIME = re.compile(r"^\s*(?:(\d+)d\s+)?(\d+):(\d+):(\d+(?:[.,]\d*)?)\s*$")


@reader("Maccor text")
def read_maccor(path: str | os.PathLike[str]) -> CyclerData:
    """Read a Maccor text export (any of the variants in the module docstring) into the canonical
    table.

    Parameters
    ----------
    path : str or path-like
        The export (e.g. ``xTESLADIAG_000019_CH70.070``), opened read-only.

    Returns
    -------
    CyclerData
        ``format="maccor"``; metadata from the header (``test_date``, ``procedure``, ...), the time
        unit found (``time_unit``) and where the charge came from (``charge_source``).

    Raises
    ------
    FileFormatError
        No column line naming a current and a voltage within the first 60 lines, non-numeric data,
        missing time or voltage.
    """
    p = Path(path)
    text = p.read_bytes().decode("latin-1")
    if not text.strip():
        raise FileFormatError(f"{p.name}: empty file (0 bytes)")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    k, names = _column_line(lines, p.name)
    meta = _header_metadata(lines[:k])
    table = _data_table(lines[k + 1:], names, p.name)
    columns, notes = _columns(table, p.name)
    meta.update(notes)
    frame = pd.DataFrame(columns)
    frame = finalize_cycler_frame(frame, source=p, charge_from_current=CHARGE not in frame)
    meta["n_points"] = int(len(frame))
    return CyclerData(frame=frame, metadata=meta, path=str(p), format="maccor")


def _column_line(lines: list[str], name: str) -> tuple[int, list[str]]:
    for k, line in enumerate(lines[:60]):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) >= 5 and any(c in fields for c in _CURRENTS) and any(
            v in fields for v in _VOLTAGES
        ):
            return k, fields
    raise FileFormatError(
        f"{name}: no Maccor column line (tab-separated, naming a current such as 'Amps' or "
        "'Current [A]' and a voltage such as 'Volts') in the first 60 lines"
    )


def _header_metadata(lines: list[str]) -> dict[str, Any]:
    """``key: value`` and ``key<TAB>value`` pairs of the header lines (snake_case keys)."""
    meta: dict[str, Any] = {}
    for line in lines:
        cells = [c.strip() for c in re.split(r"\t|:\s+(?=\S)", line) if c.strip()]
        for key, value in zip(cells[::2], cells[1::2], strict=False):
            k = re.sub(r"\W+", "_", key.strip().rstrip(":").lower()).strip("_")
            if k and k not in meta:
                meta[k] = value
    for old, new in (("date_of_test", "test_date"), ("comment_barcode", "comment")):
        if old in meta:
            meta[new] = meta[old]
    return meta


def _data_table(lines: list[str], names: list[str], name: str) -> pd.DataFrame:
    body = [ln for ln in lines if ln.strip()]
    if not body:
        raise FileFormatError(f"{name}: no data rows after the column line")
    names = _unique(names)
    body = [_fit_row(r, len(names), name, k) for k, r in enumerate(body)]
    last = body[-1].split("\t")
    if len(last) < len(names) - 1 and len(body) > 1:
        repair_warning(name, f"dropped the last of {len(body)} rows: it is incomplete "
                             f"({len(last)} of {len(names)} fields; truncated file?)")
        body = body[:-1]
    volt = next(v for v in _VOLTAGES if v in names)
    sample = [r.split("\t")[names.index(volt)] for r in body[:200] if "\t" in r]
    decimal = "," if sample and all("," in s and "." not in s for s in sample if s.strip()) else "."
    try:
        table = pd.read_csv(
            io.StringIO("\n".join(body)), sep="\t", header=None, names=names, index_col=False,
            decimal=decimal, na_values=["N/A"], dtype=str, keep_default_na=True,
            on_bad_lines="error", engine="c",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(f"{name}: not a tab-separated Maccor export ({exc})") from None
    table.attrs["decimal"] = decimal
    return table


def _fit_row(row: str, n: int, name: str, k: int) -> str:
    """A data row with trailing empty fields beyond the header's columns dropped; a row with more
    values than columns is refused (its values could not be assigned)."""
    fields = row.split("\t")
    if len(fields) <= n:
        return row
    if any(f.strip() for f in fields[n:]):
        raise FileFormatError(
            f"{name}: data row {k + 1} has {len(fields)} fields, the column line {n}"
        )
    return "\t".join(fields[:n])


def _unique(names: list[str]) -> list[str]:
    out, seen = [], {}
    for n in names:
        n = n or "Unnamed"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}.{seen[n] - 1}")
    return out


def _number(series: pd.Series, decimal: str, col: str, name: str) -> np.ndarray:
    s = series.astype(str).str.strip()
    if decimal == ",":
        s = s.str.replace(",", ".", regex=False)
    values = pd.to_numeric(s.replace({"nan": None, "": None}), errors="coerce").to_numpy(float)
    bad = np.isnan(values) & series.notna().to_numpy() & (s != "").to_numpy()
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FileFormatError(
            f"{name}: column {col!r} row {k + 1}: {series.iloc[k]!r} is not a number"
        )
    return values


def _seconds(series: pd.Series, decimal: str, col: str, name: str) -> np.ndarray:
    """A Maccor time column in seconds: plain seconds, ``h:mm:ss`` or ``Nd hh:mm:ss.sss``."""
    s = series.astype(str)
    if not s.str.contains(":", regex=False).any():
        return _number(series, decimal, col, name)
    parts = s.str.extract(_DAY_TIME)
    if parts.isna().any(axis=None):
        k = int(np.flatnonzero(parts.isna().any(axis=1).to_numpy())[0])
        raise FileFormatError(
            f"{name}: column {col!r} row {k + 1}: {series.iloc[k]!r} is not a time "
            "(expected seconds, h:mm:ss or '0d 00:00:00.00')"
        )
    days = pd.to_numeric(parts[0].fillna("0")).to_numpy(float)
    hms = [pd.to_numeric(parts[i].str.replace(",", ".", regex=False)).to_numpy(float)
           for i in (1, 2, 3)]
    return days * 86400.0 + hms[0] * 3600.0 + hms[1] * 60.0 + hms[2]


def _time_scale(t: np.ndarray, dates: pd.Series | None) -> tuple[float, str]:
    """Factor that turns a plain-number test time into seconds, from the date-time column."""
    if dates is None or len(t) < 3:
        return 1.0, "s"
    stamps = pd.to_datetime(dates, errors="coerce", format="mixed")
    real = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(float)
    ok = np.isfinite(real) & np.isfinite(t)
    if ok.sum() < 3 or np.ptp(t[ok]) <= 0 or np.ptp(real[ok]) <= 0:
        return 1.0, "s"
    ratio = np.ptp(real[ok]) / np.ptp(t[ok])
    for factor, unit in ((1.0, "s"), (60.0, "min"), (3600.0, "h")):
        if abs(ratio / factor - 1.0) < 0.2:
            return factor, unit
    return 1.0, "s"


def _columns(table: pd.DataFrame, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    decimal = table.attrs.get("decimal", ".")
    out: dict[str, Any] = {}
    notes: dict[str, Any] = {"decimal": decimal}
    names = list(table.columns)
    for j, col in enumerate(names):
        if col.startswith("Units") or (col.startswith("Unnamed") and table[col].isna().all()):
            continue
        target, factor = MACCOR_COLUMNS.get(col, (col, 1.0))
        if col.startswith("Aux #"):
            unit = _aux_unit(table, names, j)
            target = f"{col} [{unit}]" if unit else col
        if target in (TIME, "Step time [s]"):
            out[target] = _seconds(table[col], decimal, col, name)
        elif target in ("State", "Date time", "End status", "Current range"):
            out[target] = table[col].astype(str).str.strip().to_numpy()
        elif col in MACCOR_COLUMNS or col.startswith(("Aux", "VAR", "WF ")):
            out[target] = _number(table[col], decimal, col, name) * factor
    if TIME in out and not table[next(c for c in names if c in _TIMES)].astype(str).str.contains(":").any():
        scale, unit = _time_scale(out[TIME], table.get("DPt Time", table.get("DPT Time")))
        out[TIME] = out[TIME] * scale
        notes["time_unit"] = unit
    with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN judged by validation
        _sign_current(out, notes)
    with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN judged by validation
        _charge_from_counters(out, notes)
    return out, notes


def _aux_unit(table: pd.DataFrame, names: list[str], j: int) -> str:
    if j + 1 < len(names) and names[j + 1].startswith("Units"):
        units = table[names[j + 1]].dropna().astype(str).str.strip()
        return units.iloc[0] if len(units) else ""
    return ""


def _sign_current(out: dict[str, Any], notes: dict[str, Any]) -> None:
    if "State" not in out or CURRENT not in out:
        return
    state = np.char.upper(out["State"].astype(str))
    current = np.asarray(out[CURRENT], dtype=float)
    if np.any(current < 0):  # NaN compares False (np.nanmin warns on an all-NaN column)
        notes["current_sign"] = "as stored (the file has negative currents)"
    else:
        sign = np.zeros(len(current))
        for code, s in _SIGN.items():
            sign[state == code] = s
        with np.errstate(invalid="ignore"):  # inf × 0 (a rest row) → NaN, judged by validation
            out[CURRENT] = np.abs(current) * sign
        notes["current_sign"] = "from State/Md (C +, D −, R and others 0)"
    out[REST] = state == "R"


def _charge_from_counters(out: dict[str, Any], notes: dict[str, Any]) -> None:
    """Charge from the cycler's step counter (restarting every step), signed by the current."""
    q_step = out.get("Step capacity (file) [mAh]")
    if q_step is None or STEP not in out or CURRENT not in out or np.isnan(q_step).any():
        notes["charge_source"] = "integrated from the current"
        return
    step = np.asarray(out[STEP])
    current = np.asarray(out[CURRENT], dtype=float)
    starts = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
    ends = np.r_[starts[1:] - 1, len(step) - 1]
    sign = np.zeros(len(step))
    for a, b in zip(starts, ends, strict=True):
        sign[a: b + 1] = np.sign(np.nansum(current[a: b + 1]))
    signed = sign * np.abs(q_step)
    before = np.zeros(len(starts))
    before[1:] = np.cumsum(signed[ends])[:-1]
    offset = np.repeat(before, ends - starts + 1)
    out[CHARGE] = offset + signed
    notes["charge_source"] = "the cycler's step capacity counter (Amp-hr), signed by the current"
    integrated = np.concatenate([[0.0], np.cumsum(
        0.5 * (current[1:] + current[:-1]) * np.diff(np.asarray(out.get(TIME, np.zeros(len(step))),
                                                                dtype=float)))]) / SECONDS_PER_HOUR
    notes["charge_integrated_end_mah"] = float(integrated[-1]) if len(integrated) else 0.0
