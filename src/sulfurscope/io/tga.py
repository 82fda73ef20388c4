"""TGA readers: NETZSCH Proteus ASCII, TA Instruments Universal Analysis, METTLER TOLEDO STARe and
PerkinElmer Pyris text exports, and generic CSV.

No maintained Python library reads TGA exports (NETZSCH's binary .ngb-* files are undocumented), so
this is our own tolerant text reader. Encodings UTF-8, UTF-16 or Windows-1252; decimal comma or point.

* NETZSCH: ``#KEY: value`` header lines and a column line starting with ``##``
  (``##Temp./°C;Time/min;Mass/%;...``); separators ``;``, ``,`` or tab.
* TA Instruments (Universal Analysis "export data and parameters"): ``Key<TAB>value`` lines, the
  columns named by ``Sig1<TAB>Time (min)``, ``Sig2<TAB>Temperature (°C)``, ``Sig3<TAB>Weight (mg)``…,
  the numbers after a ``StartOfData`` line.
* METTLER TOLEDO STARe: a column line ``Index t Ts Tr Value`` and a unit line
  ``[s] [°C] [°C] [mg]`` (whitespace-separated); ``Ts`` is the sample temperature, ``Value`` the mass.
* PerkinElmer Pyris and other exports with a metadata block above the table: the column line is the
  last line with words above the first run of numeric rows (an optional unit line below it is
  merged into the names). Sample temperature is preferred over program/reference temperature,
  and the raw ("unsubtracted") weight over baseline or derivative columns.

A generic CSV needs a header row with a temperature column (``Temp``/``Temperature``/``Ts``, °C or K)
and a mass column (``Mass``/``Weight``/``TG``, % or mg).

Returns a table with ``Temperature [°C]``, ``Mass [%]`` (of the first point) and, when present,
``Time [s]`` and ``Mass [mg]``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._guard import reader
from sulfurscope.io._validate import repair_warning

__all__ = ["TGAData", "read_tga"]


@dataclass(frozen=True, slots=True)
class TGAData:
    """A TGA curve: ``frame`` (``Temperature [°C]``, ``Mass [%]``, ...), header ``metadata``, ``path``."""

    frame: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The curve."""
        return self.frame


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FileFormatError(f"{name}: not a text file (cannot decode as UTF-8 or Windows-1252)")


_TIME_UNITS = ("s", "sec", "min", "h")
_NOT_MASS = ("dtg", "deriv", "baseline", "change", "rate", "flow", "purge", "/min", "/s")
_NOT_SAMPLE_T = ("program", "reference", "furnace", "set", "tr")


def _classify(col: str) -> tuple[str, str] | None:
    """(kind, unit) of a column name: "temperature" (sample), "temperature_program" (program,
    reference or furnace), "mass" or "time"; None for any other column."""
    c = col.strip().lower().replace("°", "deg").replace("º", "deg")
    unit = ""
    m = re.search(r"(?:/|\[|\()\s*([^\]\)/]+)\s*[\]\)]?\s*$", c)
    if m:
        unit = m.group(1).strip()
    word = re.split(r"[\s/\[\(]", c, maxsplit=1)[0]
    if unit in _TIME_UNITS and (word in ("t", "time") or c.startswith("time")):
        return "time", unit
    if c.startswith("time"):
        return "time", unit or "min"
    if unit in ("mg", "%", "wt%", "wt.%", "g", "ug", "µg") and (word == "value" or "weight" in c
                                                               or "mass" in c or word == "tg"):
        if not any(w in c for w in _NOT_MASS):
            return "mass", unit
    if (c.startswith(("mass", "weight", "tg", "unsubtracted weight", "sample weight"))
            and not any(w in c for w in _NOT_MASS)):
        return "mass", unit or "%"
    if "temp" in c or word in ("t", "ts", "tr") or c.startswith("t/"):
        if unit in _TIME_UNITS:
            return None
        program = word == "tr" or any(w in c.split("temp")[0] for w in _NOT_SAMPLE_T[:4])
        return ("temperature_program" if program else "temperature"), unit or "degc"
    return None


def _header(lines: list[str], name: str) -> tuple[dict[str, Any], int]:
    """``#key: value`` metadata above the column header, and the header's line index."""
    meta: dict[str, Any] = {}
    for k, line in enumerate(lines):
        s = line.strip()
        if s.startswith("##"):
            return meta, k
        if s.startswith("#"):
            key, _, val = s[1:].partition(":")
            meta[re.sub(r"\W+", "_", key.strip().lower()).strip("_")] = val.strip()
            continue
        if s and re.search(r"[A-Za-z]", s):
            return meta, k
    raise FileFormatError(f"{name}: no column header line (expected e.g. '##Temp./°C;Mass/%')")


def _table(lines: list[str], header_idx: int, name: str) -> pd.DataFrame:
    header = lines[header_idx].lstrip("#")
    sep = max([";", "\t", ","], key=header.count)
    if header.count(sep) == 0:
        raise FileFormatError(f"{name}: header {header!r} has no ';', tab or ',' separator")
    body = "\n".join(lines[header_idx + 1 :])
    decimal = "," if sep != "," and re.search(r"\d,\d", body) else "."
    try:
        df = pd.read_csv(io.StringIO(body), sep=sep, header=None, decimal=decimal, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FileFormatError(f"{name}: cannot parse the data rows ({exc})") from exc
    cols = [c.strip() for c in header.split(sep)]
    df = df.iloc[:, : len(cols)]
    df.columns = cols[: df.shape[1]]
    return df


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_UNIT_WORDS = {"s", "sec", "min", "h", "degc", "c", "k", "mg", "g", "%", "mw", "ml/min", "µg", "ug"}


def _key(text: str) -> str:
    return re.sub(r"\W+", "_", text.strip().lower()).strip("_")


def _split(line: str, sep: str | None) -> list[str]:
    s = line.strip()
    return [t.strip() for t in s.split(sep)] if sep else s.split()


def _numeric(line: str) -> tuple[int, str | None]:
    """(number of fields, separator) of a row of numbers; (0, None) for any other line."""
    best: tuple[int, str | None] = (0, None)
    for sep in (";", "\t", ",", None):
        if sep and sep not in line:
            continue
        toks = _split(line, sep)
        if len(toks) >= 2 and all(_NUMBER.match(t) for t in toks) and len(toks) > best[0]:
            best = (len(toks), sep)
    return best


def _frame(body: list[str], names: list[str], sep: str | None, name: str) -> pd.DataFrame:
    """The numeric rows under ``names`` (decimal comma when the separator is not a comma)."""
    text = "\n".join(line.strip() for line in body if line.strip())
    decimal = "," if sep != "," and re.search(r"\d,\d", text) else "."
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep if sep else r"\s+", header=None,
                         decimal=decimal, comment="#", engine="python" if sep is None else "c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise FileFormatError(f"{name}: cannot parse the data rows ({exc})") from exc
    df = df.iloc[:, : len(names)]
    df.columns = names[: df.shape[1]]
    return df


def _ta_table(lines: list[str], start: int, name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """TA Instruments Universal Analysis export: ``Sig<n>`` column names, numbers after
    ``StartOfData``."""
    meta: dict[str, Any] = {"instrument_format": "TA Instruments"}
    signals: dict[int, str] = {}
    for line in lines[:start]:
        parts = line.split("\t")
        key = parts[0].strip()
        m = re.fullmatch(r"Sig(\d+)", key)
        if m and len(parts) > 1:
            signals[int(m.group(1))] = parts[1].strip()
        elif key and len(parts) > 1:
            meta[_key(key)] = " ".join(x.strip() for x in parts[1:]).strip()
    if not signals:
        raise FileFormatError(
            f"{name}: a TA Instruments export (StartOfData) without 'Sig1', 'Sig2', … column "
            "names above the data"
        )
    body = [line for line in lines[start + 1 :] if line.strip()]
    sep = _numeric(body[0])[1] if body else None
    return meta, _frame(body, [signals[k] for k in sorted(signals)], sep, name)


def _units_row(tokens: list[str]) -> bool:
    return bool(tokens) and all(
        t[:1] in "[(" or t.lower().replace("°", "deg") in _UNIT_WORDS for t in tokens
    )


def _located_table(lines: list[str], name: str) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """A table under a metadata block (PerkinElmer Pyris, METTLER TOLEDO STARe, …): the column line
    is the last line with words above the first three rows of numbers with the same number of
    fields, a unit line between them merged into the names. None when no such layout is found."""
    start = None
    for k in range(len(lines) - 2):
        n, sep = _numeric(lines[k])
        if n and all(_numeric(lines[k + j]) == (n, sep) for j in (1, 2)):
            start = k
            break
    if start is None:
        return None
    above = [k for k in range(start) if lines[k].strip()]
    if not above:
        return None
    units: list[str] = []
    head = above[-1]
    toks = _split(lines[head], sep)
    if _units_row(toks) and len(above) > 1:
        units, head = toks, above[-2]
        toks = _split(lines[head], sep)
    if len(toks) != n or not all(re.search(r"[A-Za-z]", t) for t in toks):
        return None
    if units and len(units) <= n:  # right-aligned: an index column has no unit
        units = [""] * (n - len(units)) + units
        toks = [t if not u else f"{t} {u if u[:1] in '[(' else '[' + u + ']'}"
                for t, u in zip(toks, units, strict=True)]
    meta: dict[str, Any] = {}
    for line in lines[:head]:
        key, sepr, val = line.strip().partition(":" if ":" in line else "\t")
        if sepr and key.strip() and re.search(r"[A-Za-z]", key):
            meta.setdefault(_key(key), val.strip())
    body = [line for line in lines[start:] if line.strip()]
    return meta, _frame(body, toks, sep, name)


def _vendor_table(lines: list[str], name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metadata and the raw table of any supported export (see the module notes)."""
    stripped = [line.strip() for line in lines]
    if "StartOfData" in stripped:
        return _ta_table(lines, stripped.index("StartOfData"), name)
    if not any(x.startswith("##") for x in stripped):
        located = _located_table(lines, name)
        if located is not None:
            return located
    meta, header_idx = _header(lines, name)
    return meta, _table(lines, header_idx, name)


def _columns(df: pd.DataFrame, name: str) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for c in df.columns:
        kind = _classify(c)
        if kind and kind[0] not in found:
            found[kind[0]] = (c, kind[1])
    if "temperature" not in found and "temperature_program" in found:
        found["temperature"] = found["temperature_program"]  # the only temperature there is
    for need in ("temperature", "mass"):
        if need not in found:
            raise FileFormatError(
                f"{name}: no {need} column among {list(df.columns)} "
                "(expected e.g. 'Temp./°C' and 'Mass/%')"
            )
    return found


def _curve(
    df: pd.DataFrame, found: dict[str, tuple[str, str]], name: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The curve in °C and % (and s), and which rows are finite in both."""
    out = pd.DataFrame()
    tcol, tunit = found["temperature"]
    temp = pd.to_numeric(df[tcol], errors="coerce").to_numpy(dtype=float)
    if tunit.strip() == "k":
        temp = temp - 273.15
    out["Temperature [°C]"] = temp
    mcol, munit = found["mass"]
    mass = pd.to_numeric(df[mcol], errors="coerce").to_numpy(dtype=float)
    good = np.isfinite(temp) & np.isfinite(mass)
    if good.sum() < 2:
        raise FileFormatError(f"{name}: fewer than two numeric rows of temperature and mass")
    if "mg" in munit:
        out["Mass [mg]"] = mass
        out["Mass [%]"] = 100.0 * mass / mass[good][0]
    else:
        out["Mass [%]"] = mass
    if "time" in found:
        c, unit = found["time"]
        tt = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        out["Time [s]"] = tt * (60.0 if unit.startswith("min") else 1.0)
    return out, good


@reader("TGA export")
def read_tga(path: str | Path) -> TGAData:
    """Read a TGA export into ``Temperature [°C]`` and ``Mass [%]``.

    Parameters
    ----------
    path : str or Path
        NETZSCH ASCII, TA Instruments, METTLER TOLEDO STARe or PerkinElmer Pyris text export, or a
        generic CSV/TXT (opened read-only).

    Returns
    -------
    TGAData

    Raises
    ------
    FileFormatError
        Naming the file when it is empty, has no temperature or mass column, or has no numeric rows.
    """
    p = Path(path)
    name = p.name
    raw = p.read_bytes()
    if not raw.strip():
        raise FileFormatError(f"{name}: empty file")
    lines = _decode(raw, name).splitlines()
    meta, df = _vendor_table(lines, name)
    found = _columns(df, name)
    out, good = _curve(df, found, name)
    if not good.all():
        repair_warning(name, f"dropped {int((~good).sum())} of {good.size} rows whose temperature "
                             "or mass is not a finite number")
    out = out[good].reset_index(drop=True)
    return TGAData(frame=out, metadata=meta, path=str(p))
