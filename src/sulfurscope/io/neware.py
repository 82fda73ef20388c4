"""Neware .nda / .ndax files through ``fastnda``.

``fastnda.read(path, cycle_mode="raw")`` returns a polars table with ``voltage_V``, ``current_mA``,
``total_time_s``, ``step_count``, ``step_index``, ``step_type`` (``"CC_Chg"``, ``"CC_DChg"``,
``"Rest"``, ``"CCCV_Chg"``, ``"Control"``...), ``cycle_count``, ``capacity_mAh``, ``energy_mWh``
(both restart every step) and, where recorded, temperatures; ``fastnda.read_metadata`` gives the
test information. Neware's current is signed like ours (charge positive). ``Charge [mAh]`` is the
integral of the current; ``Step`` is the running step counter; ``Rest`` is a rest step (or a
zero-current control step).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._canonical import CyclerData, charge_from_step_counter, finalize_cycler_frame
from sulfurscope.io._guard import reader
from sulfurscope.units import CHARGE, CURRENT, REST, SECONDS_PER_HOUR, STEP, TIME, VOLTAGE

__all__ = ["NEWARE_COLUMNS", "read_neware"]

#: fastnda column -> (our name, factor into our unit).
NEWARE_COLUMNS: dict[str, tuple[str, float]] = {
    "total_time_s": (TIME, 1.0),
    "voltage_V": (VOLTAGE, 1.0),
    "current_mA": (CURRENT, 1.0),
    "step_count": (STEP, 1.0),
    "step_index": ("Step index (file)", 1.0),
    "cycle_count": ("Cycle (file)", 1.0),
    "step_time_s": ("Step time [s]", 1.0),
    "unix_time_s": ("Unix time [s]", 1.0),
    "capacity_mAh": ("Step capacity (file) [mAh]", 1.0),
    "energy_mWh": ("Step energy (file) [mWh]", 1.0),
    "index": ("Record", 1.0),
}

_METADATA_KEYS = ("active_mass_mg", "start_time", "creator", "remarks", "barcode", "test_name")


_FASTNDA_LOGGERS = ("", ".main", ".nda", ".ndax", ".nda_meta", ".btsda", ".utils", ".formats")


class _Collect(logging.Filter):
    """Keep fastnda's log records (warnings about the file) for the metadata, not the console."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__()
        self._sink = sink

    def filter(self, record: logging.LogRecord) -> bool:
        self._sink.append(record.getMessage())
        return False


def _fastnda_table(p: Path) -> tuple[Any, list[str]]:
    """fastnda's table of the file, and the messages its loggers emitted while reading."""
    import fastnda

    messages: list[str] = []
    catcher = _Collect(messages)
    # filters do not propagate to children: attach to each fastnda module logger (getLogger
    # creates the ones fastnda imports lazily; the module then gets the same object)
    loggers = [logging.getLogger(f"fastnda{m}") for m in _FASTNDA_LOGGERS]
    for lg in loggers:
        lg.addFilter(catcher)
    try:
        table = fastnda.read(p, cycle_mode="raw")
    except Exception as exc:  # fastnda raises ValueError, KeyError, zipfile errors, ...
        raise FileFormatError(
            f"{p.name}: not a readable Neware .nda/.ndax file ({type(exc).__name__}: {exc})"
        ) from exc
    finally:
        for lg in loggers:
            lg.removeFilter(catcher)
    return table, messages


def _frame(table: Any) -> pd.DataFrame:
    """fastnda's columns under our names and units; ``Rest`` from the step type."""
    columns: dict[str, Any] = {}
    step_type = None
    for col in table.columns:
        if col == "step_type":
            step_type = table[col].cast(str).to_numpy()
            columns["Step type"] = step_type
            continue
        target, factor = NEWARE_COLUMNS.get(col, (_rename(col), 1.0))
        values = table[col].to_numpy()
        if values.dtype.kind == "f":
            values = values.astype(np.float64)
        columns[target] = values * factor if factor != 1.0 else values
    frame = pd.DataFrame(columns)
    if step_type is not None and CURRENT in frame.columns:
        st = pd.Series(step_type).str.lower()
        zero = frame[CURRENT].to_numpy() == 0.0
        frame[REST] = (st.str.contains("rest") | (st.str.contains("control") & zero)).to_numpy()
    return frame


def _file_metadata(p: Path) -> dict[str, Any]:
    import fastnda

    meta: dict[str, Any] = {}
    try:
        info = fastnda.read_metadata(p)
    except Exception as exc:  # metadata is optional
        meta["metadata_error"] = f"{type(exc).__name__}: {exc}"
        return meta
    for key in _METADATA_KEYS:
        if info.get(key) not in (None, ""):
            meta[key] = info[key]
    if "TestInfo" in info:
        test = info["TestInfo"].get("TestInfo", {})
        for src, key in (("StartTime", "start_time"), ("StepName", "step_file"),
                         ("ChlID", "channel")):
            if test.get(src):
                meta[key] = test[src]
    meta["neware"] = info
    return meta


def _charge(frame: pd.DataFrame, meta: dict[str, Any]) -> None:
    """Charge from the cycler's per-step capacity counter when the file has one (recorded in
    ``meta["charge_source"]``), with the integral of the logged current for comparison."""
    counter = frame.get("Step capacity (file) [mAh]")
    if counter is None or STEP not in frame or TIME not in frame or CURRENT not in frame:
        meta["charge_source"] = "integrated from the current (no capacity counter in the file)"
        return
    q = charge_from_step_counter(frame[STEP].to_numpy(), counter.to_numpy(np.float64))
    t = frame[TIME].to_numpy(np.float64)
    i = frame[CURRENT].to_numpy(np.float64)
    integrated = np.r_[0.0, np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))] / SECONDS_PER_HOUR
    meta["charge_integrated_end_mah"] = float(integrated[-1]) if len(t) else 0.0
    if q is None:
        meta["charge_source"] = "integrated from the current (the counter does not restart per step)"
        return
    frame[CHARGE] = q
    meta["charge_source"] = "the cycler's per-step capacity counter"


def _rename(name: str) -> str:
    """fastnda 'quantity_unit' names not in the map -> 'Quantity [unit]' (e.g. T1_degC)."""
    base, _, unit = name.rpartition("_")
    if base and unit in ("V", "mA", "mAh", "mWh", "s", "degC", "C", "kPa", "Pa"):
        return f"{base.replace('_', ' ').capitalize()} [{unit}]"
    return name.replace("_", " ").capitalize()


@reader("Neware .nda/.ndax", modules=("fastnda",))
def read_neware(path: str | os.PathLike[str]) -> CyclerData:
    """Read a Neware .nda or .ndax file into the canonical table.

    Parameters
    ----------
    path : str or path-like
        The .nda / .ndax file (fastnda opens it read-only).

    Returns
    -------
    CyclerData
        ``format="neware"``; metadata from ``fastnda.read_metadata`` (``active_mass_mg``,
        ``start_time`` ... for .nda; the test/step information for .ndax under ``neware``).

    Raises
    ------
    FileFormatError
        When fastnda cannot parse the file (not Neware, truncated, unsupported version).
    """
    p = Path(path)
    table, messages = _fastnda_table(p)
    frame = _frame(table)
    meta: dict[str, Any] = {}
    _charge(frame, meta)
    frame = finalize_cycler_frame(frame, source=p, charge_from_current=CHARGE not in frame)
    meta["n_points"] = int(len(frame))
    if messages:
        # e.g. "negative jumps in the 'unix_time_s' column": Time [s] comes from total_time_s
        meta["reader_messages"] = messages
    meta.update(_file_metadata(p))
    return CyclerData(frame=frame, metadata=meta, path=str(p), format="neware")
