"""Declarative column map for BioLogic EC-Lab data (.mpr through galvani and our .mpt reader).

galvani names the .mpr columns exactly as EC-Lab names them in its .mpt text export (``"time/s"``,
``"Ewe/V"``, ``"(Q-Qo)/mA.h"``, ...), so one map serves both readers. Each entry maps an EC-Lab name
to a ``"Quantity [unit]"`` name and a factor that converts the file's unit into ours. Names not in
the map are normalised by :func:`normalise_biologic_name`
(``"Analog IN 1/V"`` → ``"Analog IN 1 [V]"``), so no column of the file is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from sulfurscope.units import CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE  # noqa: F401

__all__ = [
    "BIOLOGIC_COLUMNS",
    "BIOLOGIC_MODE_REST",
    "CHARGE_INCREMENT",
    "STEP_CHARGE",
    "CYCLE_FILE",
    "HALF_CYCLE_FILE",
    "INTEGER_COLUMNS",
    "MODE",
    "biologic_table",
    "normalise_biologic_name",
]

MODE = "Mode"
CHARGE_INCREMENT = "Charge increment [mAh]"
STEP_CHARGE = "Step charge [mAh]"
CYCLE_FILE = "Cycle (file)"
HALF_CYCLE_FILE = "Half cycle (file)"

#: EC-Lab ``mode`` flag value meaning "rest" (open circuit); 1 = CC, 2 = CV, 3 = rest.
BIOLOGIC_MODE_REST = 3

#: EC-Lab name -> (our name, factor into our unit). Order of the canonical candidates matters: the
#: first present one becomes the canonical column, later ones keep their own (non-canonical) name.
BIOLOGIC_COLUMNS: dict[str, tuple[str, float]] = {
    "time/s": (TIME, 1.0),
    "Ewe/V": (VOLTAGE, 1.0),
    "Ecell/V": (VOLTAGE, 1.0),
    "<Ewe>/V": (VOLTAGE, 1.0),
    "I/mA": (CURRENT, 1.0),
    "<I>/mA": (CURRENT, 1.0),
    "(Q-Qo)/mA.h": (CHARGE, 1.0),
    "(Q-Qo)/C": (CHARGE, 1.0 / 3.6),
    "dq/mA.h": (CHARGE_INCREMENT, 1.0),
    # column id 23 'dQ' is the charge since the start of the step (Ns), not a per-point increment
    # (checked on biologic_mp_pulse_rest_issue183.mpr against the integral of <I>)
    "dQ/mA.h": (STEP_CHARGE, 1.0),
    "dQ/C": (STEP_CHARGE, 1.0 / 3.6),
    "Ns": (STEP, 1.0),
    "mode": (MODE, 1.0),
    "ox/red": ("Ox/red", 1.0),
    "error": ("Error", 1.0),
    "control changes": ("Control changes", 1.0),
    "Ns changes": ("Step changes", 1.0),
    "counter inc.": ("Counter inc.", 1.0),
    "cycle number": (CYCLE_FILE, 1.0),
    "half cycle": (HALF_CYCLE_FILE, 1.0),
    "z cycle": ("Z cycle (file)", 1.0),
    "control/V/mA": ("Control [V or mA]", 1.0),
    "control/V": ("Control voltage [V]", 1.0),
    "control/mA": ("Control current [mA]", 1.0),
    "Ece/V": ("Counter electrode voltage [V]", 1.0),
    "<Ece>/V": ("Mean counter electrode voltage [V]", 1.0),
    "Ewe-Ece/V": ("Cell voltage (Ewe-Ece) [V]", 1.0),
    "P/W": ("Power [W]", 1.0),
    "Pwe/W": ("Power [W]", 1.0),
    "Q charge/discharge/mA.h": ("Half cycle charge [mAh]", 1.0),
    "Q charge/mA.h": ("Charge capacity (file) [mAh]", 1.0),
    "Q discharge/mA.h": ("Discharge capacity (file) [mAh]", 1.0),
    "Capacity/mA.h": ("Capacity (file) [mAh]", 1.0),
    "Efficiency/%": ("Coulombic efficiency (file) [%]", 1.0),
    "Energy charge/W.h": ("Charge energy [Wh]", 1.0),
    "Energy discharge/W.h": ("Discharge energy [Wh]", 1.0),
    "Energy we charge/W.h": ("Charge energy WE [Wh]", 1.0),
    "Energy we discharge/W.h": ("Discharge energy WE [Wh]", 1.0),
    "Energy ce charge/W.h": ("Charge energy CE [Wh]", 1.0),
    "Energy ce discharge/W.h": ("Discharge energy CE [Wh]", 1.0),
    "|Energy|/W.h": ("Energy [Wh]", 1.0),
    "step time/s": ("Step time [s]", 1.0),
    "I Range": ("I range", 1.0),
    "Temperature/°C": ("Temperature [degC]", 1.0),
    "R/Ohm": ("Resistance [Ohm]", 1.0),
    "Rwe/Ohm": ("Resistance WE [Ohm]", 1.0),
    "Rapp/Ohm": ("Apparent resistance [Ohm]", 1.0),
    "freq/Hz": ("Frequency [Hz]", 1.0),
}

#: Columns that are counters or flags in EC-Lab: integers in our table (int64 from text files, the
#: stored uint8/uint16/uint32/bool from .mpr files).
INTEGER_COLUMNS = frozenset(
    {
        MODE,
        "Ox/red",
        "Error",
        "Control changes",
        "Step changes",
        "Counter inc.",
        HALF_CYCLE_FILE,
        "Z cycle (file)",
        "I range",
    }
)

_UNIT_FIX = {
    "mA.h": "mAh",
    "A.h": "Ah",
    "W.h": "Wh",
    "mW.h": "mWh",
    "µF": "uF",
    "\ufffdF": "uF",
    "µF-2": "uF-2",
    "\ufffdF-2": "uF-2",
    "°C": "degC",
    "\ufffdC": "degC",
    "%": "%",
}
_NAME_UNIT_RE = re.compile(r"^(?P<q>.+?)\s*/\s*(?P<u>[^/]+)$")


def normalise_biologic_name(name: str) -> str:
    """Put an EC-Lab column name into the ``"Quantity [unit]"`` grammar.

    Examples
    --------
    >>> normalise_biologic_name("Analog IN 1/V")
    'Analog IN 1 [V]'
    >>> normalise_biologic_name("Capacitance charge/µF")
    'Capacitance charge [uF]'
    >>> normalise_biologic_name("x")
    'x'
    """
    if name in BIOLOGIC_COLUMNS:
        return BIOLOGIC_COLUMNS[name][0]
    name = name.strip()
    m = _NAME_UNIT_RE.match(name)
    if m is None or not m.group("q"):
        return name
    unit = m.group("u").strip()
    unit = _UNIT_FIX.get(unit, unit)
    return f"{m.group('q').strip()} [{unit}]"


def biologic_table(columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Build the reader columns (before :func:`finalize_cycler_columns`) from EC-Lab-named ones.

    Applies the map, keeps the first source of each canonical quantity (later ones keep a
    suffixed name), reconstructs ``Charge [mAh]`` from the charge increments when the cumulative
    charge is absent and marks ``Rest`` from the ``mode`` flag (3 = rest), because rests inside a
    GCPL step share the step number ``Ns`` with the current pulse.
    """
    out: dict[str, np.ndarray] = {}
    for src, values in columns.items():
        target, factor = BIOLOGIC_COLUMNS.get(src, (normalise_biologic_name(src), 1.0))
        arr = np.asarray(values)
        if factor != 1.0:
            arr = arr.astype(np.float64) * factor
        elif not arr.flags.writeable:
            arr = np.array(arr)  # own, writeable copy (galvani gives read-only buffer views)
        if target in out:
            # a second source of the same quantity (e.g. <I>/mA next to I/mA): keep it, renamed
            qty, _, unit = target.partition(" [")
            tag = src.split("/")[0]
            alt = f"{qty} ({tag}) [{unit}" if unit else f"{qty} ({tag})"
            target = alt if alt not in out else f"{alt} #{len(out)}"
        out[target] = arr
    if CHARGE not in out and CHARGE_INCREMENT in out:
        out[CHARGE] = np.cumsum(out[CHARGE_INCREMENT].astype(np.float64))
    elif CHARGE not in out and STEP_CHARGE in out and STEP in out:
        q_step = out[STEP_CHARGE].astype(np.float64)
        new_step = np.concatenate([[True], np.diff(out[STEP]) != 0])
        inc = np.empty_like(q_step)
        inc[0] = q_step[0]
        inc[1:] = np.diff(q_step)
        inc[new_step] = q_step[new_step]
        out[CHARGE] = np.cumsum(inc)
    if MODE in out:
        out[REST] = out[MODE] == BIOLOGIC_MODE_REST
    for col in (TIME, VOLTAGE, CURRENT, CHARGE):
        if col in out:
            out[col] = out[col].astype(np.float64, copy=False)
    if STEP in out:
        out[STEP] = out[STEP].astype(np.int64)
    for col in INTEGER_COLUMNS.intersection(out):
        # text gives floats -> int64; binary flags/counters keep their small integer/bool dtype
        # (widening them would write 8 bytes per point and column for nothing)
        if out[col].dtype.kind == "f":
            out[col] = out[col].astype(np.int64)
    return out
