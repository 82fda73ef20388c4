"""TGA readers: NETZSCH Proteus ASCII export and generic CSV.

No maintained Python library reads TGA exports (NETZSCH's binary .ngb-* files are undocumented), so
this is our own tolerant text reader. NETZSCH exports carry ``#KEY: value`` header lines and a column
line starting with ``##`` (``##Temp./°C;Time/min;Mass/%;...``); separators ``;``, ``,`` or tab;
decimal comma or point; encodings UTF-8, UTF-16 or Windows-1252. A generic CSV needs a header row with
a temperature column (``Temp``/``Temperature``, °C or K) and a mass column (``Mass``/``Weight``, % or mg).

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


def _classify(col: str) -> tuple[str, str] | None:
    c = col.strip().lower().replace("°", "deg").replace("º", "deg")
    unit = ""
    m = re.search(r"(?:/|\[|\()\s*([^\]\)/]+)\s*[\]\)]?\s*$", c)
    if m:
        unit = m.group(1).strip()
    if c.startswith(("temp", "ts", "sample temp")) or c.startswith("t/") or c == "t":
        return "temperature", unit or "degc"
    if c.startswith(("mass", "weight", "tg")) and "dtg" not in c and "deriv" not in c:
        return "mass", unit or "%"
    if c.startswith("time"):
        return "time", unit or "min"
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


def _columns(df: pd.DataFrame, name: str) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for c in df.columns:
        kind = _classify(c)
        if kind and kind[0] not in found:
            found[kind[0]] = (c, kind[1])
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
        NETZSCH ASCII export or generic CSV/TXT (opened read-only).

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
    meta, header_idx = _header(lines, name)
    df = _table(lines, header_idx, name)
    found = _columns(df, name)
    out, good = _curve(df, found, name)
    if not good.all():
        repair_warning(name, f"dropped {int((~good).sum())} of {good.size} rows whose temperature "
                             "or mass is not a finite number")
    out = out[good].reset_index(drop=True)
    return TGAData(frame=out, metadata=meta, path=str(p))
