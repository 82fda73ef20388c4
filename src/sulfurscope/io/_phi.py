"""PHI MultiPak ``.spe``/``.pro`` parsing in named steps (the reader is
:func:`sulfurscope.io.xps.read_phi`).

The ASCII header (SOFH … EOFH) holds ``key: value`` lines; its ``SpectralRegDef`` lines give each
region's name, points and energy range. The binary part starts with (group, number of traces,
trace-header bytes, data-header bytes) and one 24-word header per trace (points at word 5, cycles at
6, data type at 18, byte count at 19, offset at 20). A ``.pro`` file stores each region as cycles ×
points; the extra traces (cycle × region) hold the sputter time per cycle and the region areas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.io._validate import clean_axis
from sulfurscope.spectra.xps import XPSSpectrum, region_key

__all__ = ["parse_phi"]

_TRACE_FIELDS = 24  # uint32 words per trace header


def _phi_header(raw: bytes, name: str) -> tuple[dict[str, list[str]], bytes]:
    m = re.search(rb"EOFH\r?\n", raw)
    if not raw.lstrip().startswith(b"SOFH") or m is None:
        raise FileFormatError(f"{name}: not a PHI MultiPak file (no SOFH … EOFH header)")
    head = raw[: m.start()].decode("latin-1").replace("\r", "")
    header: dict[str, list[str]] = {}
    for line in head.split("\n")[1:]:
        if ":" not in line:
            continue
        k, _, v = line.partition(":")
        header.setdefault(k.strip(), []).append(v.strip())
    return header, raw[m.end() :]


def _regions(header: dict[str, list[str]], name: str) -> list[dict[str, Any]]:
    regdefs = header.get("SpectralRegDef", [])
    if not regdefs:
        raise FileFormatError(f"{name}: header has no SpectralRegDef lines")
    regions = []
    for line in regdefs:
        f = line.split()
        try:
            regions.append({"number": int(f[0]), "name": f[2], "points": int(f[4]),
                            "step": float(f[5]), "start": float(f[6]), "stop": float(f[7])})
        except (IndexError, ValueError):
            raise FileFormatError(f"{name}: cannot parse SpectralRegDef {line!r}") from None
    return regions


def _source_energy(header: dict[str, list[str]]) -> float:
    src = header.get("XraySource", [""])[0].split()
    try:
        return float(src[1]) if len(src) > 1 else 1486.6
    except ValueError:
        return 1486.6


@dataclass(frozen=True)
class _Traces:
    """The binary part: trace headers and their data."""

    data: bytes
    words: np.ndarray  # (n_traces, 24) uint32
    raw_words: bytes
    group: int
    name: str

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def unit(self, t: int) -> str:
        return self.raw_words[t * 96 + 56 : t * 96 + 72].split(b"\x00")[0].decode("latin-1").strip()

    def values(self, t: int) -> np.ndarray:
        w = self.words[t]
        code = self.raw_words[t * 96 + 72 : t * 96 + 76].rstrip(b"\x00").decode("latin-1")
        if code not in ("f4", "f8"):
            raise FileFormatError(f"{self.name}: trace {t + 1} has unknown data type {code!r}")
        nbytes, offset = int(w[19]), int(w[20])
        if offset + nbytes > len(self.data) or nbytes % int(code[1]):
            raise FileFormatError(f"{self.name}: trace {t + 1} runs past the end of the file")
        return np.frombuffer(self.data[offset : offset + nbytes], dtype="<" + code).astype(float)


def _traces(data: bytes, n_regions: int, name: str) -> _Traces:
    if len(data) < 16:
        raise FileFormatError(f"{name}: binary part is truncated ({len(data)} bytes)")
    group, n_traces, trace_bytes, head_bytes = (int(v) for v in np.frombuffer(data[:16], "<u4"))
    if n_traces < n_regions or trace_bytes != n_traces * 4 * _TRACE_FIELDS:
        raise FileFormatError(
            f"{name}: binary header says {n_traces} traces / {trace_bytes} header bytes for "
            f"{n_regions} regions (expected {4 * _TRACE_FIELDS} bytes per trace)"
        )
    if head_bytes + trace_bytes > len(data):
        raise FileFormatError(f"{name}: trace headers run past the end of the file")
    raw_words = data[head_bytes : head_bytes + trace_bytes]
    words = np.frombuffer(raw_words, dtype="<u4").reshape(n_traces, _TRACE_FIELDS)
    return _Traces(data, words, raw_words, group, name)


def _profile_extras(tr: _Traces, n_reg: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The depth-profile extras: sputter time (s) and region area (c/s·eV) per cycle × region."""
    sputter = areas = None
    for t in range(n_reg, len(tr)):
        vals = tr.values(t)
        ncyc = int(tr.words[t][5])  # stored region by region: n_reg blocks of ncyc values
        if ncyc * n_reg != vals.size:
            continue
        tab = vals.reshape(n_reg, ncyc).T
        unit = tr.unit(t)
        if unit == "s":
            sputter = tab
        elif "eV" in unit:
            areas = tab
    return sputter, areas


def _region_spectra(tr: _Traces, t: int, reg: dict[str, Any], source_energy: float,
                    sputter: np.ndarray | None) -> list[XPSSpectrum]:
    npts = int(tr.words[t][5])
    if npts != reg["points"]:
        raise FileFormatError(
            f"{tr.name}: region {reg['name']} has {npts} points in the binary header but "
            f"{reg['points']} in SpectralRegDef"
        )
    vals = tr.values(t)
    ncyc = int(tr.words[t][6]) or 1
    if vals.size != npts * ncyc:
        raise FileFormatError(
            f"{tr.name}: region {reg['name']}: {vals.size} values for {ncyc} × {npts} points"
        )
    energy = np.linspace(reg["start"], reg["stop"], npts)
    out = []
    for c in range(ncyc):
        e, y = clean_axis(energy, vals[c * npts : (c + 1) * npts],
                          f"{tr.name} ({reg['name']}, cycle {c})", "binding energy")
        st = float(sputter[c, t]) if sputter is not None and c < sputter.shape[0] else float("nan")
        out.append(XPSSpectrum(region=region_key(reg["name"]), binding_energy_ev=e, intensity=y,
                               source_energy_ev=source_energy, cycle=c if ncyc > 1 else 0,
                               sputter_time_s=st))
    return out


def _profile_table(regions: list[dict[str, Any]], n_cycles: int, sputter: np.ndarray | None,
                   areas: np.ndarray | None) -> pd.DataFrame:
    if n_cycles <= 1:
        return pd.DataFrame()
    rows = [
        {"Cycle": c, "Region": region_key(reg["name"]),
         "Sputter time [s]": float(sputter[c, t]) if sputter is not None else np.nan,
         "Area [counts/s·eV]": float(areas[c, t]) if areas is not None else np.nan}
        for c in range(n_cycles)
        for t, reg in enumerate(regions)
    ]
    return pd.DataFrame(rows)


def parse_phi(raw: bytes, name: str) -> tuple[list[XPSSpectrum], dict[str, Any], pd.DataFrame]:
    """Spectra, metadata and depth-profile table of a PHI ``.spe``/``.pro`` file's bytes."""
    header, data = _phi_header(raw, name)
    regions = _regions(header, name)
    source_energy = _source_energy(header)
    tr = _traces(data, len(regions), name)
    n_reg = len(regions)
    sputter, areas = _profile_extras(tr, n_reg) if len(tr) > n_reg else (None, None)
    spectra = [s for t, reg in enumerate(regions)
               for s in _region_spectra(tr, t, reg, source_energy, sputter)]
    n_cycles = max(int(tr.words[t][6]) or 1 for t in range(n_reg))
    meta = {
        "file_type": header.get("FileType", [""])[0],
        "instrument": header.get("InstrumentModel", [""])[0],
        "software": header.get("SoftwareVersion", [""])[0],
        "date": header.get("FileDate", [""])[0],
        "source": header.get("XraySource", [""])[0],
        "work_function_ev": header.get("AnalyserWorkFcn", [""])[0],
        "group": tr.group,
        "regions": [r["name"] for r in regions],
    }
    return spectra, meta, _profile_table(regions, n_cycles, sputter, areas)
