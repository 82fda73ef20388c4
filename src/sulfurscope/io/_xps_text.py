"""XPS text exports: SPECS Prodigy ``.xy``, CasaXPS "export to text" (columns or rows of tables) and
plain two-column text — one spectrum per region, binding energy ascending, counts per second.

=====================  ========================================================================
layout                 how it is recognised and read
=====================  ========================================================================
SPECS Prodigy ``.xy``  ``# Region:`` blocks inside ``# Group:``; each ``# Cycle: k, Curve: m``
                       block is one spectrum (``cycle`` = k). The export's ``Energy Axis``
                       (binding or kinetic: BE = hν − KE with the region's ``Excitation
                       Energy``) and ``ColumnLabels`` (``counts/s``, or ``counts`` ÷ dwell ×
                       scans) are honoured; regions on an ``index`` axis (``FixedEnergies``
                       alignment scans) hold no energy and are skipped (listed in metadata).
CasaXPS columns        blocks opening with ``Cycle n:Group:Region``; the data header has a
                       ``K.E.`` half and a ``B.E.`` half: B.E. with ``CPS`` is used; without
                       them BE = hν − K.E. and counts ÷ the block's acquisition time (as the
                       FAIRmat parser does).
CasaXPS rows           first line ``Characteristic Energy eV … Acquisition Time s``; one
                       (x, y, blank) column triple per spectrum, titled ``Cycle n:Group:Region``.
column text            binding energy, intensity (``#`` comments, ``# region: S 2p``): the
                       columns a header names (``B.E.``/``Binding``, else ``K.E.``/``Kinetic``
                       converted with ``source_energy_ev``; ``CPS``/``Intensity``, else
                       ``Counts``), else the first two (a warning when the rows hold more).
=====================  ========================================================================

Regions with the same name in several groups are named ``"<region> [<group>]"``; repeated names
within a group get ``" #2"``, ``" #3"`` … (the order of the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope.errors import FileFormatError
from sulfurscope.io._validate import clean_axis, repair_warning
from sulfurscope.spectra.xps import XPSSpectrum, region_key

__all__ = ["parse_xps_text"]

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@dataclass
class _Block:
    """One spectrum as read: where it came from, its header fields and its rows."""

    group: str = ""
    region: str = ""
    cycle: int = 0
    header: dict[str, str] = field(default_factory=dict)
    rows: list[list[float]] = field(default_factory=list)


def parse_xps_text(
    text: str, name: str, *, region: str | None, source_energy_ev: float
) -> tuple[list[XPSSpectrum], dict[str, Any], str]:
    """The spectra, metadata and layout name (``specs-xy``, ``casa-columns``, ``casa-rows``,
    ``text``) of an XPS text export."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((line for line in lines if line.strip()), "")
    if any(line.startswith("# Region:") for line in lines[:400]) or "SpecsLab Prodigy" in first:
        return (*_specs(lines, name), "specs-xy")
    if first.startswith("Cycle ") and ":" in first:
        return (*_casa_columns(lines, name), "casa-columns")
    if "Characteristic Energy" in first and "Acquisition Time" in first:
        return (*_casa_rows(lines, name), "casa-rows")
    return (*_two_columns(lines, name, region, source_energy_ev), "text")


def _floats(line: str) -> list[float] | None:
    parts = line.split()
    if not parts or not all(_NUMBER.match(p) for p in parts):
        return None
    return [float(p) for p in parts]


def _spectrum(
    region: str, x: np.ndarray, y: np.ndarray, where: str, source: float, cycle: int = 0
) -> XPSSpectrum:
    e, yy = clean_axis(x, y, where, "binding energy")
    return XPSSpectrum(region=region, binding_energy_ev=e, intensity=yy,
                       source_energy_ev=float(source), cycle=cycle)


def _unique_names(blocks: list[_Block]) -> list[str]:
    """Region names, qualified by group where a name occurs in several groups, numbered where it
    repeats within a group (see the module docstring)."""
    keys = [region_key(b.region) for b in blocks]
    groups_of: dict[str, set[str]] = {}
    for k, b in zip(keys, blocks, strict=True):
        groups_of.setdefault(k, set()).add(b.group)
    names = [f"{k} [{b.group}]" if len(groups_of[k]) > 1 and b.group else k
             for k, b in zip(keys, blocks, strict=True)]
    seen: dict[tuple[str, int], int] = {}
    out = []
    for n, b in zip(names, blocks, strict=True):
        seen[(n, b.cycle)] = rank = seen.get((n, b.cycle), 0) + 1
        out.append(n if rank == 1 else f"{n} #{rank}")
    return out


# ------------------------------------------------------------------------------- SPECS .xy


def _specs_settings(lines: list[str]) -> dict[str, str]:
    settings = {}
    for line in lines:
        if line.startswith("# Group:"):
            break
        m = re.match(r"#\s+([^:]+):\s*(.*)$", line)
        if m:
            settings[m.group(1).strip()] = m.group(2).strip()
    return settings


def _specs_blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    group, region, header, cycle = "", "", {}, 0
    current: _Block | None = None
    for line in lines:
        if line.startswith("#"):
            m = re.match(r"#\s*([^:]+):\s*(.*)$", line)
            if not m:
                continue
            key, value = m.group(1).strip(), m.group(2).strip()
            if key == "Group":
                group, current = value, None
            elif key == "Region":
                region, header, current = value, {}, None
            elif key == "Cycle":
                c = re.match(r"(\d+)(?:,\s*Curve:\s*(\d+))?", value)
                cycle = int(c.group(1)) if c else cycle
                if c and c.group(2) is not None:
                    current = _Block(group, region, cycle, dict(header))
                    blocks.append(current)
            elif current is not None:
                current.header[key] = value
            else:
                header[key] = value
            continue
        values = _floats(line)
        if values is not None and current is not None:
            current.rows.append(values)
    return [b for b in blocks if b.rows]


def _specs_number(header: dict[str, str], key: str, where: str) -> float:
    try:
        return float(header[key].split()[0])
    except (KeyError, ValueError, IndexError):
        raise FileFormatError(f"{where}: no number in its {key!r} line") from None


def _specs(lines: list[str], name: str) -> tuple[list[XPSSpectrum], dict[str, Any]]:
    settings = _specs_settings(lines)
    kinetic = "kinetic" in settings.get("Energy Axis", "Binding Energy").lower()
    blocks = _specs_blocks(lines)
    if not blocks:
        raise FileFormatError(f"{name}: SPECS .xy export without data rows")
    skipped, kept = [], []
    for b in blocks:
        labels = b.header.get("ColumnLabels", "energy counts/s").split()
        if labels and labels[0].lower() == "index":
            skipped.append(f"{b.group}/{b.region} cycle {b.cycle} (index axis, no energy)")
        else:
            kept.append(b)
    names = _unique_names(kept)
    spectra, blocks_meta = [], []
    for b, region in zip(kept, names, strict=True):
        where = f"{name} ({b.group}/{b.region}, cycle {b.cycle})"
        rows = np.array([r[:2] for r in b.rows if len(r) >= 2], dtype=float)
        if rows.size == 0:
            raise FileFormatError(f"{where}: no two-column data rows")
        hv = _specs_number(b.header, "Excitation Energy", where)
        x = hv - rows[:, 0] if kinetic else rows[:, 0]
        labels = b.header.get("ColumnLabels", "energy counts/s").split()
        unit = labels[1].lower() if len(labels) > 1 else "counts/s"
        divisor = 1.0
        if unit in ("counts", "count"):
            divisor = _specs_number(b.header, "Dwell Time", where) * _specs_number(
                b.header, "Number of Scans", where
            )
        spectra.append(_spectrum(region, x, rows[:, 1] / divisor, where, hv, b.cycle))
        blocks_meta.append({"region": region, "group": b.group, "name_in_file": b.region,
                            "cycle": b.cycle, "points": int(rows.shape[0]),
                            "excitation_energy_ev": hv, "intensity_unit": unit,
                            "intensity_divisor": divisor,
                            "axis": "kinetic → binding" if kinetic else "binding"})
    meta = {"export_settings": settings, "blocks": blocks_meta, "skipped_regions": skipped}
    return spectra, meta


# ------------------------------------------------------------------------------ CasaXPS


def _casa_keyvalues(line: str) -> dict[str, float]:
    """``Characteristic Energy eV\\t1486.61\\tAcquisition Time s\\t0.2`` → {name: value}."""
    out = {}
    cells = line.split("\t")
    for k in range(0, len(cells) - 1):
        label, value = cells[k].strip(), cells[k + 1].strip()
        if label and not _NUMBER.match(label) and _NUMBER.match(value):
            out[label] = float(value)
    return out


def _casa_title(line: str) -> tuple[str, str, int]:
    """``Cycle 0:Group:Region[:unit]`` → (group, region, cycle)."""
    parts = [p.strip() for p in line.strip().split(":")]
    m = re.match(r"Cycle\s+(\d+)", parts[0])
    cycle = int(m.group(1)) if m else 0
    if len(parts) >= 3:
        return parts[1], parts[2], cycle
    return "", parts[1] if len(parts) > 1 else "region", cycle


def _column(header: list[str], names: tuple[str, ...], start: int = 0) -> int | None:
    for k in range(start, len(header)):
        if header[k].strip() in names:
            return k
    return None


def _casa_block_arrays(
    block: list[str], where: str, hv: float, acq: float
) -> tuple[np.ndarray, np.ndarray, str]:
    """(binding energy, counts/s, how) of one columns-of-tables block."""
    k = next((i for i, ln in enumerate(block) if "K.E." in ln or "B.E." in ln), None)
    if k is None:
        raise FileFormatError(f"{where}: no data header with 'K.E.' or 'B.E.'")
    header = block[k].split("\t")
    rows = [ln.split("\t") for ln in block[k + 1:] if ln.strip()]
    be, ke = _column(header, ("B.E.",)), _column(header, ("K.E.",))
    cps = _column(header, ("CPS",), be or 0)
    counts = _column(header, ("Counts",), ke or 0)

    def col(j: int) -> np.ndarray:
        return np.array([float(r[j]) if j < len(r) and _NUMBER.match(r[j].strip()) else np.nan
                         for r in rows])

    if be is not None and cps is not None:
        return col(be), col(cps), "B.E. and CPS columns"
    if ke is None or counts is None:
        raise FileFormatError(f"{where}: neither B.E./CPS nor K.E./Counts columns")
    if not acq > 0:
        raise FileFormatError(f"{where}: counts but no positive 'Acquisition Time s'")
    return hv - col(ke), col(counts) / acq, f"BE = hν − K.E.; Counts ÷ {acq:g} s"


def _casa_columns(lines: list[str], name: str) -> tuple[list[XPSSpectrum], dict[str, Any]]:
    starts = [i for i, ln in enumerate(lines) if ln.startswith("Cycle ")]
    parsed = []
    for a, b in zip(starts, [*starts[1:], len(lines)], strict=True):
        group, region, cycle = _casa_title(lines[a])
        where = f"{name} ({lines[a].strip()})"
        values = {}
        for ln in lines[a + 1: b]:
            if "Characteristic Energy" in ln:
                values = _casa_keyvalues(ln)
        hv = values.get("Characteristic Energy eV", float("nan"))
        acq = values.get("Acquisition Time s", float("nan"))
        x, y, how = _casa_block_arrays(lines[a + 1: b], where, hv, acq)
        parsed.append((_Block(group, region, cycle), x, y, hv, how, where))
    names = _unique_names([p[0] for p in parsed])
    spectra = [_spectrum(n, x, y, where, hv, blk.cycle)
               for n, (blk, x, y, hv, _how, where) in zip(names, parsed, strict=True)]
    meta = {"blocks": [{"region": n, "group": blk.group, "name_in_file": blk.region,
                        "cycle": blk.cycle, "source_energy_ev": hv, "columns": how}
                       for n, (blk, _x, _y, hv, how, _w) in zip(names, parsed, strict=True)]}
    return spectra, meta


def _casa_rows(lines: list[str], name: str) -> tuple[list[XPSSpectrum], dict[str, Any]]:
    titles_line = next((ln for ln in lines[:12] if "Cycle " in ln), None)
    if titles_line is None:
        raise FileFormatError(f"{name}: CasaXPS rows export without 'Cycle n:…' titles")
    titles = [t for t in titles_line.split("\t")[1::3]]
    hv_values = [v for k, v in _casa_keyvalues(lines[0]).items() if "Characteristic" in k]
    hv = hv_values[0] if hv_values else float("nan")
    start = lines.index(titles_line) + 1
    table = [ln.split("\t") for ln in lines[start:] if ln.strip()]
    blocks, arrays = [], []
    for j, title in enumerate(titles):
        group, region, cycle = _casa_title(title)
        xs = [r[3 * j] for r in table if len(r) > 3 * j + 1]
        ys = [r[3 * j + 1] for r in table if len(r) > 3 * j + 1]
        pairs = [(float(a), float(b)) for a, b in zip(xs, ys, strict=True)
                 if _NUMBER.match(a.strip()) and _NUMBER.match(b.strip())]
        if pairs:
            blocks.append(_Block(group, region, cycle))
            arrays.append(np.array(pairs))
    names = _unique_names(blocks)
    spectra = [_spectrum(n, a[:, 0], a[:, 1], f"{name} ({n})", hv, b.cycle)
               for n, a, b in zip(names, arrays, blocks, strict=True)]
    return spectra, {"blocks": [{"region": n, "group": b.group} for n, b in zip(names, blocks, strict=True)]}


# ----------------------------------------------------------------------------- two columns


_BE = re.compile(r"^#?\s*(b\.?\s?e\.?|binding)", re.I)
_KE = re.compile(r"^#?\s*(k\.?\s?e\.?|kinetic)", re.I)
_RATE = re.compile(r"(cps|counts?\s*/\s*s|c/s|intensity)", re.I)
_COUNTS = re.compile(r"^#?\s*counts?\b", re.I)


def _named_columns(header: list[str]) -> tuple[int, int, bool] | None:
    """(energy column, intensity column, kinetic) from a header that names them, else None: the
    energy is the B.E. (else K.E.) column, the intensity the CPS/intensity (else Counts) column."""
    be = next((k for k, h in enumerate(header) if _BE.match(h)), None)
    ke = next((k for k, h in enumerate(header) if _KE.match(h)), None)
    energy = be if be is not None else ke
    if energy is None:
        return None
    rest = [k for k in range(len(header)) if k not in (be, ke)]
    rate = next((k for k in rest if _RATE.search(header[k])), None)
    counts = next((k for k in rest if _COUNTS.match(header[k])), None)
    intensity = rate if rate is not None else counts
    if intensity is None:
        return None
    return energy, intensity, be is None


_COMMA_DECIMALS = re.compile(r"\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?(?:\s+[-+]?\d+(?:,\d+)?(?:[eE][-+]?\d+)?)+\s*")


def _fields(line: str) -> list[str]:
    """The fields of a text row: split at tabs or semicolons (commas are then decimal commas), or
    at commas and whitespace between numbers; whitespace-separated numbers with decimal commas
    (``160,7 812,5``) keep their commas as decimal marks."""
    if "\t" in line or ";" in line:
        return [x.strip().replace(",", ".") for x in re.split(r"[\t;]+", line) if x.strip()]
    if _COMMA_DECIMALS.fullmatch(line):
        return [x.replace(",", ".") for x in line.split()]
    return [x for x in re.split(r"[,]+|\s{2,}|(?<=\d)\s(?=[-+\d.])", line) if x.strip()]


def _two_columns(
    lines: list[str], name: str, region: str | None, source_energy_ev: float
) -> tuple[list[XPSSpectrum], dict[str, Any]]:
    """Binding energy and intensity: the columns a header names (``B.E.``/``K.E.``, ``CPS``/
    ``Intensity``/``Counts``), else the first two — with a warning when the rows hold more."""
    rows: list[list[float]] = []
    found_region = None
    header: list[str] = []
    for line in lines:
        s = line.strip()
        if not s:
            continue
        m = re.match(r"#\s*region\s*[:=]\s*(.+)", s, re.I)
        if m:
            found_region = m.group(1).strip()
            continue
        parts = _fields(s)
        if len(parts) < 2:
            continue
        try:
            rows.append([float(x) for x in parts])
        except ValueError:
            if not rows:
                header = [x.strip() for x in re.split(r"[,\t;]+|\s{2,}", s) if x.strip()]
                if len(header) < 2:  # single spaces between the names
                    header = s.split()
            continue
    if not rows:
        raise FileFormatError(f"{name}: no two-column numeric data found")
    width = min(len(r) for r in rows)
    named = _named_columns(header) if header else None
    if named is not None and max(named[:2]) < width:
        ie, ii, kinetic = named
        how = f"columns {header[ie]!r} and {header[ii]!r}"
    else:
        ie, ii = 0, 1
        kinetic = bool(header) and bool(_KE.match(header[0]))
        how = "the first two columns"
        if width > 2:
            repair_warning(name, f"{width} numeric columns and no header naming the energy and "
                                 "intensity columns: the first two are read as energy and intensity")
    x = np.asarray([r[ie] for r in rows])
    y = np.asarray([r[ii] for r in rows])
    if kinetic:
        x = source_energy_ev - x
    key = region_key(region or found_region or Path(name).stem)
    spec = _spectrum(key, x, y, name, source_energy_ev)
    axis = f"kinetic → binding (hν = {source_energy_ev:g} eV)" if kinetic else "binding"
    return [spec], {"axis": axis, "columns_read": how}
