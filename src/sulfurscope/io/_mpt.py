"""BioLogic EC-Lab ASCII (.mpt): our own tolerant reader and a writer.

Why our own reader: galvani's ``MPTfile`` accepts only four fixed column layouts and fails on the
header-less export ('Nb header lines : 3', e.g. ``biologic_gcpl_NaHC_halfcell_pr182_1.mpt``:
"Bad first line for EC-Lab file"); yadg reads it but takes ~0.9 s per file. This reader takes CRLF
and LF line ends, full-header and header-less exports, decimal commas, any column order and
UTF-8 / latin-1 / cp1252 text, and parses the header (technique, active mass, settings table).
Tables are parsed with pandas' C parser.

The writer produces what EC-Lab writes: ``EC-Lab ASCII FILE``, ``Nb header lines : N``, a technique
header (with ``Mass of active material : x mg`` when the mass is known), then tab-separated columns
``mode``, ``ox/red``, ``error``, ``control changes``, ``Ns changes``, ``counter inc.``, ``Ns``,
``time/s``, ``control/V/mA``, ``Ewe/V``, ``I/mA``, ``dq/mA.h``, ``(Q-Qo)/mA.h``, ``half cycle`` and
``cycle number`` (when the table has a ``Cycle`` column), in EC-Lab's number format
(``7.280755286810044E+005``).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._biologic_columns import biologic_table
from sulfurscope.io._canonical import CyclerData, finalize_cycler_columns, finalize_cycler_frame
from sulfurscope.units import CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE

__all__ = ["MPT_MAGIC", "parse_mpt_header", "read_biologic_mpt", "write_mpt"]

MPT_MAGIC = b"EC-Lab ASCII FILE"
_NB_HEADER_RE = re.compile(rb"Nb header lines\s*:\s*(\d+)")
_NUMBER_RE = re.compile(r"[-+]?\d+(?:[.,]\d*)?(?:[eE][-+]?\d+)?")

_TECHNIQUE_NAMES = {
    "GCPL": "Galvanostatic Cycling with Potential Limitation",
    "BCD": "Battery Capacity Determination",
    "MB": "Modulo Bat",
    "GITT": "Galvanostatic Intermittent Titration Technique",
    "OCV": "Open Circuit Voltage",
}
_TECHNIQUE_CODES = {v: k for k, v in _TECHNIQUE_NAMES.items()}


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    """Decode EC-Lab text: UTF-8 if valid, else cp1252 (EC-Lab's Windows code page), else latin-1."""
    for enc in ("utf-8", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _number(text: str) -> float | None:
    m = _NUMBER_RE.search(text)
    if m is None:
        return None
    return float(m.group(0).replace(",", "."))


def _hms_to_s(text: str) -> float | None:
    """EC-Lab durations 'h:m:s.ssss' (e.g. '0:30:0.0000') in seconds."""
    parts = text.strip().replace(",", ".").split(":")
    if len(parts) != 3:
        return None
    try:
        h, m, s = (float(p) for p in parts)
    except ValueError:
        return None
    return h * 3600.0 + m * 60.0 + s


def parse_mpt_header(lines: list[str]) -> dict[str, Any]:
    """Metadata from the header lines of an .mpt (everything above the column-name line).

    Returns snake_case keys: ``technique``, ``active_mass_mg``, ``electrode_area_cm2``,
    ``battery_capacity_mah``, ``acquisition_start``, ``device``, ``channel``, ``comments``,
    ``settings`` (the technique table, name -> list of values per sequence, as text) and, when the
    settings give them, ``rest_time_s`` (the ``tR`` values).
    """
    meta: dict[str, Any] = {}
    body = lines[2:]  # magic and 'Nb header lines'
    for line in body:
        if line.strip():
            if " : " not in line and "\t" not in line and len(line) < 80:
                full = line.strip()
                meta["technique"] = _TECHNIQUE_CODES.get(full, full)
                meta["technique_name"] = full
            break
    comments: list[str] = []
    settings: dict[str, list[str]] = {}
    for line in body:
        key, sep, value = line.partition(" : ")
        key = key.strip()
        value = value.strip()
        if sep:
            if key == "Mass of active material" and "active_mass_mg" not in meta:
                x = _number(value)
                if x is not None:
                    unit = value.split()[-1] if value.split() else "mg"
                    meta["active_mass_mg"] = x * (1000.0 if unit == "g" else 1.0)
            elif key == "Electrode surface area" and "electrode_area_cm2" not in meta:
                meta["electrode_area_cm2"] = _number(value)
            elif key == "Battery capacity" and "battery_capacity_mah" not in meta:
                meta["battery_capacity_mah"] = _number(value)
            elif key == "Acquisition started on":
                meta["acquisition_start"] = value
            elif key == "Device":
                meta["device"] = value
            elif key == "Run on channel":
                meta["channel"] = value
            elif key == "Comments" and value:
                comments.append(value)
            elif key == "Loaded Setting File":
                meta["settings_file"] = value
            elif key in ("File", "Electrode material", "Electrolyte", "Initial state") and value:
                meta[key.lower().replace(" ", "_")] = value
        elif len(line) > 20 and line[18:20] == "  " and line[:18].strip() and "\t" not in line:
            # technique table: 20-character fixed-width columns, one per sequence
            name = line[:20].strip()
            values = [line[i : i + 20].strip() for i in range(20, len(line), 20)]
            settings.setdefault(name, []).extend(v for v in values if v)
    if comments:
        meta["comments"] = " / ".join(comments)
    if settings:
        meta["settings"] = settings
        rests = [_hms_to_s(v) for v in settings.get("tR (h:m:s)", [])]
        if rests and all(r is not None for r in rests):
            meta["rest_time_s"] = rests
    return meta


def read_biologic_mpt(path: str | os.PathLike[str]) -> CyclerData:
    """Read a BioLogic EC-Lab ASCII export (.mpt) into the canonical table.

    Parameters
    ----------
    path : str or path-like
        The .mpt file (opened read-only).

    Returns
    -------
    CyclerData
        Canonical columns (``Time [s]``, ``Voltage [V]`` from ``Ewe/V`` or ``Ecell/V``,
        ``Current [mA]``, ``Charge [mAh]`` from ``(Q-Qo)/mA.h``, ``Step`` from ``Ns``, ``Rest``
        from ``mode == 3``), every other column renamed into the grammar, and the header metadata
        (see :func:`parse_mpt_header`), ``format="biologic-mpt"``.

    Raises
    ------
    FileFormatError
        Naming the file: not an EC-Lab ASCII file, header shorter than announced, truncated last
        line, non-numeric data, missing time or voltage column, no data rows.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        raw = fh.read()
    return _parse_mpt_bytes(raw, p)


def _parse_mpt_bytes(raw: bytes, p: Path) -> CyclerData:
    name = p.name
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.startswith(MPT_MAGIC):
        raise FileFormatError(
            f"{name}: not an EC-Lab ASCII file (first bytes {raw[:20]!r}, "
            f"expected {MPT_MAGIC.decode()!r})"
        )
    m = _NB_HEADER_RE.search(raw, 0, 200)
    if m is None:
        raise FileFormatError(f"{name}: no 'Nb header lines : N' line after the EC-Lab magic")
    n_header = int(m.group(1))
    if n_header < 3:
        raise FileFormatError(f"{name}: 'Nb header lines : {n_header}' (expected at least 3)")
    # split off the header: n_header lines (the last one holds the column names)
    pos = 0
    for _ in range(n_header):
        nl = raw.find(b"\n", pos)
        if nl < 0:
            raise FileFormatError(
                f"{name}: header announces {n_header} lines but the file ends before that "
                "(truncated file?)"
            )
        pos = nl + 1
    header_lines = _decode(raw[:pos]).splitlines()
    names = header_lines[-1].split("\t")
    while names and not names[-1].strip():
        names.pop()
    names = [c.strip() for c in names]
    if len(names) < 2:
        raise FileFormatError(
            f"{name}: line {n_header} should hold the tab-separated column names, "
            f"found {header_lines[-1][:60]!r}"
        )
    data = raw[pos:]
    if not data.strip():
        raise FileFormatError(f"{name}: no data rows (empty or truncated file)")
    first_row = data[: data.find(b"\n") if b"\n" in data else len(data)]
    decimal = "," if b"," in first_row and b"." not in first_row else "."
    usecols = list(range(len(names)))
    try:
        table = pd.read_csv(
            io.BytesIO(data),
            sep="\t",
            header=None,
            names=names,
            usecols=usecols,
            index_col=False,
            decimal=decimal,
            dtype=np.float64,
            engine="c",
            skip_blank_lines=True,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(
            f"{name}: data rows are not numeric tab-separated values ({exc})"
        ) from exc
    if len(table) and table.iloc[-1].isna().any() and not data.rstrip(b"\r\n ").endswith(b"\t"):
        n_fields = data.rstrip(b"\r\n").rsplit(b"\n", 1)[-1].count(b"\t") + 1
        if n_fields < len(names):
            raise FileFormatError(
                f"{name}: last data row has {n_fields} of {len(names)} fields (truncated file?)"
            )
    meta = parse_mpt_header(header_lines[:-1])
    meta["n_header_lines"] = n_header
    meta["decimal"] = decimal
    meta["columns_in_file"] = names
    cols = biologic_table({c: table[c].to_numpy() for c in names})
    try:
        frame = finalize_cycler_columns(cols, source=p)
    except FileFormatError:
        raise
    return CyclerData(frame=frame, metadata=meta, path=str(p), format="biologic-mpt")


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def _fmt(values: np.ndarray, spec: str, decimal: str) -> np.ndarray:
    """Format floats like EC-Lab (3-digit exponent), optionally with a decimal comma."""
    out = np.char.mod(spec, values)
    if "E" in spec:
        # Python writes E+05; EC-Lab writes E+005
        out = np.char.replace(np.char.replace(out, "E+", "E+0"), "E-", "E-0")
    if decimal != ".":
        out = np.char.replace(out, ".", decimal)
    return out


def _header_number(x: float, digits: int, decimal: str) -> str:
    return f"{x:.{digits}f}".replace(".", decimal)


def _half_cycles(current: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """EC-Lab 'half cycle': counts current-sign alternations (rests keep the running count)."""
    sign = np.where(rest, 0, np.sign(current)).astype(np.int64)
    s = pd.Series(sign).replace(0, np.nan).ffill().bfill().fillna(0).to_numpy()
    changes = np.concatenate([[0], (np.diff(s) != 0).astype(np.int64)])
    return np.cumsum(changes)


def _header_lines(
    metadata: Mapping[str, Any], n_points: int, filename: str, decimal: str
) -> list[str]:
    technique = str(metadata.get("technique", "GCPL"))
    technique = _TECHNIQUE_NAMES.get(technique, technique)
    started = metadata.get("acquisition_start", datetime(2026, 1, 1, 12, 0, 0))
    if isinstance(started, datetime):
        started = started.strftime("%m/%d/%Y %H:%M:%S.000")
    lines = [
        "",
        technique,
        "",
        f"Run on channel : {metadata.get('channel', '1 (SN 0001)')}",
        "User : ",
        "Ecell ctrl range : min = 0.00 V, max = 10.00 V",
        f"Acquisition started on : {started}",
        f"Loaded Setting File : {metadata.get('settings_file', 'NONE')}",
        "Saved on :",
        f"\tFile : {Path(filename).with_suffix('.mpr').name}",
        "\tDirectory : .\\",
        "\tHost : 127.0.0.1",
        f"Device : {metadata.get('device', 'VMP3 (SN 0001)')}",
        "Address : USB",
        "EC-Lab for windows v11.50 (software)",
        "Internet server v11.50 (firmware)",
        "Command interpretor v11.50 (firmware)",
        f"Electrode material : {metadata.get('electrode_material', '')}",
        f"Initial state : {metadata.get('initial_state', '')}",
        f"Electrolyte : {metadata.get('electrolyte', '')}",
    ]
    comments = metadata.get("comments", "")
    lines.append(f"Comments : {comments}")
    mass = metadata.get("active_mass_mg", metadata.get("sulfur_mass_mg"))
    if mass is not None:
        lines += [
            f"Mass of active material : {_header_number(float(mass), 3, decimal)} mg",
            f" at x = {_header_number(0.0, 3, decimal)}",
            "Molecular weight of active material (at x = 0) : "
            f"{_header_number(32.06, 3, decimal)} g/mol",
            f"Atomic weight of intercalated ion : {_header_number(6.94, 3, decimal)} g/mol",
            f"Acquisition started at : xo = {_header_number(0.0, 3, decimal)}",
            "Number of e- transfered per intercalated ion : 2",
        ]
    if metadata.get("battery_capacity_mah") is not None:
        cap = float(metadata["battery_capacity_mah"])
        lines.append(f"Battery capacity : {_header_number(cap, 3, decimal)} mA.h")
    if metadata.get("electrode_area_cm2") is not None:
        area = float(metadata["electrode_area_cm2"])
        lines.append(f"Electrode surface area : {_header_number(area, 3, decimal)} cm\u00b2")
    lines.append("Cycle Definition : Charge/Discharge alternance")
    settings = metadata.get("settings")
    if isinstance(settings, Mapping):
        for key, values in settings.items():
            vals = values if isinstance(values, list | tuple) else [values]
            lines.append(f"{str(key):<20}" + "".join(f"{str(v):<20}" for v in vals))
    lines.append("")
    return lines


def write_mpt(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    header: bool = True,
    decimal: Literal[".", ","] = ".",
    newline: Literal["\r\n", "\n"] = "\r\n",
) -> Path:
    """Write a canonical cycler table as an EC-Lab ASCII (.mpt) file, atomically.

    Parameters
    ----------
    frame : DataFrame
        Canonical table: ``Time [s]``, ``Voltage [V]``, ``Current [mA]``, ``Charge [mAh]``,
        ``Step``, ``Rest`` and optionally ``Cycle``. ``Charge [mAh]`` and ``Step``/``Rest`` may be
        absent (charge is then integrated from the current, ``Step`` is 0, ``Rest`` is
        ``Current == 0``).
    path : str or path-like
        Output file; written to a temporary file in the same folder, then moved into place.
    metadata : mapping, optional
        Header fields: ``technique`` (``"GCPL"`` or a full EC-Lab name), ``active_mass_mg`` or
        ``sulfur_mass_mg`` (-> ``Mass of active material : x mg``), ``battery_capacity_mah``,
        ``electrode_area_cm2``, ``comments``, ``acquisition_start`` (datetime or text),
        ``device``, ``channel``, ``settings`` (name -> value(s), written as the technique table).
    header : bool, default True
        Full EC-Lab header; ``False`` writes the header-less variant (``Nb header lines : 3``).
    decimal : {".", ","}
        Decimal separator (EC-Lab on a French/German Windows writes commas).
    newline : {"\\r\\n", "\\n"}
        Line ending (EC-Lab writes CRLF).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FileFormatError
        When ``frame`` lacks time, voltage, or both current and charge.

    Notes
    -----
    ``mode`` is 3 on rest rows and 1 (CC) elsewhere; ``ox/red`` is 1 for positive (charging)
    current; ``dq/mA.h`` is the charge passed since the previous row and ``(Q-Qo)/mA.h`` the
    cumulative charge; ``control/V/mA`` is the current set point. Text is cp1252, as EC-Lab writes.
    """
    if decimal not in (".", ","):
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    if newline not in ("\r\n", "\n"):
        raise ValueError(f"newline must be '\\r\\n' or '\\n', got {newline!r}")
    out_path = Path(path)
    table = finalize_cycler_frame(frame, source=out_path)
    meta = dict(metadata or {})
    n = len(table)
    t = table[TIME].to_numpy(np.float64)
    v = table[VOLTAGE].to_numpy(np.float64)
    i = table[CURRENT].to_numpy(np.float64)
    q = table[CHARGE].to_numpy(np.float64)
    step = table[STEP].to_numpy(np.int64)
    rest = table[REST].to_numpy(bool)
    mode = np.where(rest, 3, 1)
    ns_changes = np.concatenate([[0], (np.diff(step) != 0).astype(np.int64)])
    control_changes = np.concatenate([[1], (np.diff(mode) != 0) | (np.diff(step) != 0)]).astype(
        np.int64
    )
    dq = np.concatenate([[0.0], np.diff(q)])
    cols: list[tuple[str, np.ndarray]] = [
        ("mode", np.char.mod("%d", mode)),
        ("ox/red", np.char.mod("%d", (i > 0).astype(np.int64))),
        ("error", np.char.mod("%d", np.zeros(n, np.int64))),
        ("control changes", np.char.mod("%d", control_changes)),
        ("Ns changes", np.char.mod("%d", ns_changes)),
        ("counter inc.", np.char.mod("%d", np.zeros(n, np.int64))),
        ("Ns", np.char.mod("%d", step)),
        ("time/s", _fmt(t, "%.15E", decimal)),
        ("control/V/mA", _fmt(np.where(rest, 0.0, i), "%.7E", decimal)),
        ("Ewe/V", _fmt(v, "%.7E", decimal)),
        ("I/mA", _fmt(i, "%.7E", decimal)),
        ("dq/mA.h", _fmt(dq, "%.15E", decimal)),
        ("(Q-Qo)/mA.h", _fmt(q, "%.15E", decimal)),
        ("half cycle", np.char.mod("%d", _half_cycles(i, rest))),
    ]
    if "Cycle" in table.columns:
        cols.append(("cycle number", _fmt(table["Cycle"].to_numpy(np.float64), "%.15E", decimal)))
    names_line = "\t".join(c for c, _ in cols) + "\t"
    body_lines = _header_lines(meta, n, out_path.name, decimal) if header else []
    n_header = 3 + len(body_lines)
    lines = ["EC-Lab ASCII FILE", f"{'Nb header lines : ' + str(n_header):<46}", *body_lines]
    lines.append(names_line)
    rows = cols[0][1].astype(object)
    for _, c in cols[1:]:
        rows = rows + "\t" + c.astype(object)
    text = newline.join(lines) + newline + newline.join(rows.tolist()) + newline
    payload = text.encode("cp1252", errors="replace")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return out_path
