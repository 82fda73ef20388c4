"""Arbin .res files (MS Access / Jet databases) through Debian's mdbtools (``mdb-export``).

Arbin MITS Pro stores a run as an Access database. We call ``mdb-export`` (package ``mdbtools``) as
a subprocess for the tables ``Channel_Normal_Table`` (the data), ``Auxiliary_Table`` and
``Aux_Global_Data_Table`` (auxiliary channels: temperature, voltage, pressure …) and ``Global_Table``
(test name, start time, schedule, channel) and parse its CSV output with pandas. Arbin writes amperes
and ampere-hours; the column map converts to mA / mAh. Rows are ordered by ``Data_Point`` (the
database does not keep them in order). ``Charge_Capacity``/``Discharge_Capacity`` are the cycler's
own counters, restarting every cycle: ``Charge [mAh]`` is built from them
(:func:`~sulfurscope.io._canonical.charge_from_step_counter`; ``metadata["charge_source"]``), the
integral of the logged current only when they are missing. Each auxiliary channel becomes a column
``"<name> <index> [<unit>]"`` aligned on ``Data_Point`` (names and units from
``Aux_Global_Data_Table``, else by Arbin's data type: voltage, temperature, pressure, pH, flow rate,
concentration, digital in, digital out). Arbin has no rest flag in this table: ``Rest`` is
``Current == 0``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._canonical import CyclerData, charge_from_step_counter, finalize_cycler_frame
from sulfurscope.io._guard import reader
from sulfurscope.units import CHARGE, CURRENT, STEP, TIME, VOLTAGE

__all__ = ["ARBIN_COLUMNS", "read_arbin_res"]

#: Arbin column -> (our name, factor into our unit).
ARBIN_COLUMNS: dict[str, tuple[str, float]] = {
    "Test_Time": (TIME, 1.0),
    "Voltage": (VOLTAGE, 1.0),
    "Current": (CURRENT, 1000.0),
    "Step_Index": (STEP, 1.0),
    "Cycle_Index": ("Cycle (file)", 1.0),
    "Data_Point": ("Data point", 1.0),
    "Step_Time": ("Step time [s]", 1.0),
    "DateTime": ("Date time [OLE days]", 1.0),
    "Charge_Capacity": ("Charge capacity (file) [mAh]", 1000.0),
    "Discharge_Capacity": ("Discharge capacity (file) [mAh]", 1000.0),
    "Charge_Energy": ("Charge energy [Wh]", 1.0),
    "Discharge_Energy": ("Discharge energy [Wh]", 1.0),
    "dV/dt": ("dV/dt [V/s]", 1.0),
    "Internal_Resistance": ("Internal resistance [Ohm]", 1.0),
    "AC_Impedance": ("AC impedance [Ohm]", 1.0),
    "ACI_Phase_Angle": ("ACI phase angle [deg]", 1.0),
    "Is_FC_Data": ("Is FC data", 1.0),
    "Test_ID": ("Test ID", 1.0),
}

_GLOBAL_KEYS = {
    "Test_Name": "test_name",
    "Start_DateTime": "start_datetime_ole_days",
    "Schedule_File_Name": "schedule_file",
    "Channel_Number": "channel",
    "Creator": "creator",
    "Comments": "comments",
}


def _output_cap(path: Path) -> int:
    """Most bytes ``mdb-export`` may write for one table: 64 MB plus 40× the database's size (a real
    export is ~3× the file; a damaged file can make it emit without end)."""
    return 64_000_000 + 40 * path.stat().st_size


#: Address space allowed to one mdb-export process (a damaged database can make it allocate without
#: bound; an intact one needs a few tens of MB).
_MDB_MEMORY_BYTES = 1 << 30


def _limit_child_memory() -> None:  # pragma: no cover - runs in the mdb-export child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (_MDB_MEMORY_BYTES, _MDB_MEMORY_BYTES))


def _mdb_export(path: Path, table: str, *, allow_empty: bool = False) -> bytes:
    """One table of the Access database as CSV bytes, streamed from ``mdb-export`` with a byte cap
    (:func:`_output_cap`) and a time limit; the program is killed when either is passed."""
    exe = shutil.which("mdb-export")
    if exe is None:
        raise FileFormatError(
            f"{path.name}: reading Arbin .res needs 'mdb-export' from mdbtools "
            "(Debian/Ubuntu: apt-get install mdbtools; macOS: brew install mdbtools)"
        )
    cap = _output_cap(path)
    try:
        proc = subprocess.Popen(
            [exe, str(path), table], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=_limit_child_memory,
        )
    except OSError as exc:
        raise FileFormatError(f"{path.name}: mdb-export failed to start ({exc})") from exc
    with proc:
        try:
            out, err = _stream(proc, cap, path.name, table)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    if allow_empty and proc.returncode == 0:
        return out
    if proc.returncode != 0 or not out.strip():
        lines = err.decode(errors="replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit code {proc.returncode}, no output"
        raise FileFormatError(
            f"{path.name}: mdb-export could not read table {table!r} ({detail}); "
            "not an Arbin .res file, or truncated"
        )
    return out


def _stream(proc: subprocess.Popen, cap: int, name: str, table: str) -> tuple[bytes, bytes]:
    """Read the program's output until it ends or passes ``cap`` bytes."""
    import threading

    err_chunks: list[bytes] = []
    reader = threading.Thread(
        target=lambda: err_chunks.append(proc.stderr.read(65536)), daemon=True  # type: ignore[union-attr]
    )
    reader.start()
    chunks, total = [], 0
    while True:
        chunk = proc.stdout.read1(1 << 20)  # type: ignore[union-attr]
        if not chunk:
            break
        total += len(chunk)
        if total > cap:
            proc.kill()
            raise FileFormatError(
                f"{name}: mdb-export wrote more than {cap / 1e6:.0f} MB for table {table!r} "
                "(a damaged database; an intact one exports a few times its size)"
            )
        chunks.append(chunk)
    proc.wait()
    reader.join(timeout=5)
    return b"".join(chunks), b"".join(err_chunks)


@reader("Arbin .res")
def read_arbin_res(path: str | os.PathLike[str]) -> CyclerData:
    """Read an Arbin .res file into the canonical table.

    Parameters
    ----------
    path : str or path-like
        The .res file (mdb-export opens it read-only).

    Returns
    -------
    CyclerData
        ``format="arbin-res"``; metadata from ``Global_Table`` (``test_name``, ``schedule_file``,
        ``channel``, ``creator``, ``start_datetime_ole_days``).

    Raises
    ------
    FileFormatError
        ``mdb-export`` missing, the file is not a readable Access database, the data table is
        empty or lacks time/voltage.
    """
    p = Path(path)
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: empty file (0 bytes)")
    raw = _mdb_export(p, "Channel_Normal_Table")
    try:
        table = pd.read_csv(io.BytesIO(raw))
    except (ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(f"{p.name}: Channel_Normal_Table is not parseable ({exc})") from exc
    if "Data_Point" in table.columns and not table["Data_Point"].is_monotonic_increasing:
        table = table.sort_values("Data_Point", kind="stable")  # the storage order, not a repair
    columns: dict[str, Any] = {}
    for col in table.columns:
        target, factor = ARBIN_COLUMNS.get(col, (col.replace("_", " "), 1.0))
        values = table[col].to_numpy()
        columns[target] = values * factor if factor != 1.0 else values
    frame = pd.DataFrame(columns)
    aux = _aux_channels(p, table.get("Data_Point"))
    for name, values in aux.items():
        frame[name] = values
    source = _counter_charge(frame)
    frame = finalize_cycler_frame(frame, source=p, charge_from_current=CHARGE not in frame)
    meta: dict[str, Any] = {"n_points": int(len(frame)), "charge_source": source,
                            "aux_channels": list(aux)}
    try:
        glob = pd.read_csv(io.BytesIO(_mdb_export(p, "Global_Table")))
        if len(glob):
            row = glob.iloc[0]
            for src, key in _GLOBAL_KEYS.items():
                if src in glob.columns and pd.notna(row[src]):
                    val = row[src]
                    meta[key] = val.item() if isinstance(val, np.generic) else val
    except FileFormatError as exc:
        meta["global_table_error"] = str(exc)
    return CyclerData(frame=frame, metadata=meta, path=str(p), format="arbin-res")


#: Arbin auxiliary data types, in the order of Global_Table's Mapped_Aux_* columns.
_AUX_TYPES = {
    0: ("Aux voltage", "V"), 1: ("Temperature", "°C"), 2: ("Pressure", ""), 3: ("pH", ""),
    4: ("Flow rate", ""), 5: ("Concentration", ""), 6: ("Digital in", ""), 7: ("Digital out", ""),
}


def _aux_channels(p: Path, data_point: pd.Series | None) -> dict[str, np.ndarray]:
    """Auxiliary channels as columns aligned on the data points (empty when there are none)."""
    if data_point is None:
        return {}
    try:
        aux = pd.read_csv(io.BytesIO(_mdb_export(p, "Auxiliary_Table", allow_empty=True)))
    except (FileFormatError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return {}
    try:
        names = pd.read_csv(io.BytesIO(_mdb_export(p, "Aux_Global_Data_Table", allow_empty=True)))
    except (FileFormatError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        names = pd.DataFrame()
    return aux_columns(aux, names, data_point.to_numpy())


def aux_columns(
    aux: pd.DataFrame, names: pd.DataFrame, data_point: np.ndarray
) -> dict[str, np.ndarray]:
    """Arbin's long ``Auxiliary_Table`` (Data_Point, Auxiliary_Index, Data_Type, X) as one column
    per (index, type), aligned on ``data_point`` (NaN where a point has no reading)."""
    need = {"Data_Point", "Auxiliary_Index", "Data_Type", "X"}
    if aux.empty or not need <= set(aux.columns):
        return {}
    label = {}
    if not names.empty and {"Auxiliary_Index", "Data_Type", "Nickname", "Unit"} <= set(names.columns):
        for _, r in names.iterrows():
            nick = str(r["Nickname"]).strip() if pd.notna(r["Nickname"]) else ""
            unit = str(r["Unit"]).strip() if pd.notna(r["Unit"]) else ""
            label[(int(r["Auxiliary_Index"]), int(r["Data_Type"]))] = (nick, unit)
    out = {}
    for (index, kind), group in aux.groupby(["Auxiliary_Index", "Data_Type"], sort=True):
        base, unit = _AUX_TYPES.get(int(kind), (f"Aux type {int(kind)}", ""))
        nick, given = label.get((int(index), int(kind)), ("", ""))
        name = f"{nick or base} {int(index) + 1}" + (f" [{given or unit}]" if (given or unit) else "")
        series = pd.Series(group["X"].to_numpy(float), index=group["Data_Point"].to_numpy())
        series = series[~series.index.duplicated(keep="last")]
        out[name] = series.reindex(data_point).to_numpy(float)
    return out


def _counter_charge(frame: pd.DataFrame) -> str:
    """``Charge [mAh]`` from Arbin's per-cycle charge/discharge counters when present."""
    qc = frame.get("Charge capacity (file) [mAh]")
    qd = frame.get("Discharge capacity (file) [mAh]")
    cycle = frame.get("Cycle (file)")
    if qc is None or qd is None or cycle is None:
        return "integrated from the current (no capacity counters in the file)"
    q = charge_from_step_counter(cycle.to_numpy(), (qc - qd).to_numpy(np.float64))
    if q is None:
        return "integrated from the current (the counters do not restart per cycle)"
    frame[CHARGE] = q
    return "the cycler's charge/discharge capacity counters (restarting every cycle)"
