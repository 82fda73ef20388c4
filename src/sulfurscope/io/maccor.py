"""Maccor text exports (tab-delimited, one title line, then the column names).

Our own reader (pandas' C parser): Maccor writes amperes and ampere-hours with an unsigned current;
the sign comes from the ``State`` column (``C`` charge, ``D`` discharge, ``R`` rest, anything else
treated as zero-current "other"). ``Charge [mAh]`` is the integral of the signed current;
Maccor's ``Amp-hr`` (restarting each step) is kept as ``Step capacity (file) [mAh]``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._canonical import CyclerData, finalize_cycler_frame
from sulfurscope.io._guard import reader
from sulfurscope.units import CURRENT, REST, STEP, TIME, VOLTAGE

__all__ = ["MACCOR_COLUMNS", "read_maccor"]

#: Maccor column -> (our name, factor into our unit).
MACCOR_COLUMNS: dict[str, tuple[str, float]] = {
    "Test (Sec)": (TIME, 1.0),
    "TestTime": (TIME, 1.0),
    "Volts": (VOLTAGE, 1.0),
    "Amps": (CURRENT, 1000.0),
    "Step": (STEP, 1.0),
    "Cyc#": ("Cycle (file)", 1.0),
    "Rec#": ("Record", 1.0),
    "Step (Sec)": ("Step time [s]", 1.0),
    "StepTime": ("Step time [s]", 1.0),
    "Amp-hr": ("Step capacity (file) [mAh]", 1000.0),
    "Watt-hr": ("Step energy (file) [Wh]", 1.0),
    "State": ("State", 1.0),
    "ES": ("End status", 1.0),
    "DPt Time": ("Date time", 1.0),
    "ACImp/Ohms": ("AC impedance [Ohm]", 1.0),
    "DCIR/Ohms": ("DC internal resistance [Ohm]", 1.0),
    "Range": ("Current range", 1.0),
}

_SIGN = {"C": 1.0, "D": -1.0}


@reader("Maccor text")
def read_maccor(path: str | os.PathLike[str]) -> CyclerData:
    """Read a Maccor tab-delimited text export into the canonical table.

    Parameters
    ----------
    path : str or path-like
        The export (e.g. ``xTESLADIAG_000019_CH70.070``), opened read-only.

    Returns
    -------
    CyclerData
        ``format="maccor"``; metadata from the title line (``test_date``, ``procedure``,
        ``comment``).

    Raises
    ------
    FileFormatError
        No ``Rec#``/``Amps``/``Volts`` header within the first lines, non-numeric data, truncated
        last row, missing time or voltage.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        raw = fh.read()
    if not raw.strip():
        raise FileFormatError(f"{p.name}: empty file (0 bytes)")
    lines = raw[:8192].splitlines()
    header_row = None
    for k, line in enumerate(lines[:5]):
        fields = line.decode("latin-1").split("\t")
        if "Amps" in fields and "Volts" in fields:
            header_row = k
            break
    if header_row is None:
        raise FileFormatError(
            f"{p.name}: no Maccor column line (tab-separated, with 'Amps' and 'Volts') in the "
            "first 5 lines"
        )
    meta: dict[str, Any] = {}
    if header_row > 0:
        title = lines[0].decode("latin-1").split("\t")
        for i, tok in enumerate(title):
            tok = tok.strip()
            if tok.startswith("Date of Test") and i + 1 < len(title):
                meta["test_date"] = title[i + 1].strip()
            if "Procedure:" in tok:
                meta["procedure"] = tok.split("Procedure:", 1)[1].strip()
            if tok.startswith("Comment") and i + 1 < len(title):
                meta["comment"] = title[i + 1].strip()
    try:
        table = pd.read_csv(
            io.BytesIO(raw),
            sep="\t",
            skiprows=header_row,
            header=0,
            index_col=False,
            encoding="latin-1",
            na_values=["N/A"],
            low_memory=False,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(f"{p.name}: not a tab-separated Maccor export ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    if len(table) and table.iloc[-1][["Amps", "Volts"]].isna().any():
        raise FileFormatError(f"{p.name}: last data row is incomplete (truncated file?)")
    columns: dict[str, Any] = {}
    for col in table.columns:
        if col.startswith("Unnamed") and table[col].isna().all():
            continue
        target, factor = MACCOR_COLUMNS.get(col, (col, 1.0))
        values = table[col].to_numpy()
        columns[target] = values * factor if factor != 1.0 else values
    frame = pd.DataFrame(columns)
    for col in (TIME, VOLTAGE, CURRENT):
        if col in frame.columns and frame[col].dtype.kind not in "fiu":
            raise FileFormatError(f"{p.name}: column {col!r} is not numeric")
    if "State" in frame.columns and CURRENT in frame.columns:
        state = frame["State"].astype(str).str.strip().str.upper().to_numpy()
        sign = np.zeros(len(frame))
        for code, s in _SIGN.items():
            sign[state == code] = s
        frame[CURRENT] = np.abs(frame[CURRENT].to_numpy(np.float64)) * sign
        frame[REST] = state == "R"
    frame = finalize_cycler_frame(frame, source=p, charge_from_current=True)
    meta["n_points"] = int(len(frame))
    return CyclerData(frame=frame, metadata=meta, path=str(p), format="maccor")
