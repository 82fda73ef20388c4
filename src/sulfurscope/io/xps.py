"""XPS readers (our own): VAMAS ``.vms``/``.npl``, PHI MultiPak ``.spe``/``.pro``, two-column text.

=================  ==========================  ==============================================
reader             format                      notes
=================  ==========================  ==============================================
read_vamas         ISO 14976 VAMAS text        REGULAR and IRREGULAR blocks; kinetic-energy
                   (.vms, .npl)                axes → binding energy with the block's source
                                               energy (BE = hν − KE − φ, φ = ``work_function_ev``,
                                               default 0 as CasaXPS); trailing NULs in names and
                                               leading blank lines tolerated
read_phi           PHI MultiPak .spe / .pro    ASCII header (SOFH…EOFH, LF or CRLF) + binary
                                               traces; ``.pro`` depth profiles give one spectrum
                                               per region and cycle plus the profile table
read_xps_text      two-column text             binding energy, intensity; ``#`` comments
read_xps           any of the above            picks by extension / content
write_vamas        VAMAS                       REGULAR or IRREGULAR, BE or KE axis (demo, tests)
=================  ==========================  ==============================================

Every reader returns :class:`XPSData`, whose spectra have an **ascending** binding-energy axis
(files that store it descending are flipped) and intensity in counts/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope._files import atomic_path
from sulfurscope.errors import FileFormatError, SulfurscopeError
from sulfurscope.io._guard import reader
from sulfurscope.io._validate import clean_axis
from sulfurscope.spectra.xps import ENERGY, INTENSITY, XPSSpectrum, region_key

__all__ = [
    "XPS_FORMATS",
    "XPSData",
    "read_phi",
    "read_vamas",
    "read_xps",
    "read_xps_text",
    "select_region",
    "write_vamas",
]

XPS_FORMATS = ("vamas", "phi", "text")


@dataclass(frozen=True, slots=True)
class XPSData:
    """What an XPS reader returns: the spectra, file metadata and (for ``.pro``) the depth profile."""

    spectra: tuple[XPSSpectrum, ...]
    metadata: dict[str, Any]
    path: Path
    format: str
    depth_profile: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """Long table: Region, Cycle, binding energy, intensity."""
        parts = []
        for s in self.spectra:
            f = s.to_frame()
            f.insert(0, "Cycle", s.cycle)
            f.insert(0, "Region", s.region)
            parts.append(f)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """Summary: file, format and one entry per spectrum."""
        return {
            "path": str(self.path),
            "format": self.format,
            "spectra": [
                {
                    "region": s.region,
                    "cycle": s.cycle,
                    "points": int(s.binding_energy_ev.size),
                    "be_min_ev": float(s.binding_energy_ev.min()),
                    "be_max_ev": float(s.binding_energy_ev.max()),
                    "source_energy_ev": s.source_energy_ev,
                }
                for s in self.spectra
            ],
        }


def _ascending(e: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Binding energy ascending (a descending axis is flipped), non-finite points dropped, a
    non-monotonic axis sorted and repeats dropped — repairs counted (see :mod:`._validate`)."""
    return clean_axis(
        np.asarray(e, dtype=np.float64), np.asarray(y, dtype=np.float64), where, "binding energy"
    )


# ----------------------------------------------------------------------------------------- VAMAS

_EXP_WITH_REGIONS = {"MAP", "MAPDP", "NORM", "SDP"}
_TECH_SPUTTER = {"AES diff", "AES dir", "EDX", "ELS", "UPS", "XPS", "XRF"}
_SIMS_LIKE = {
    "FABMS",
    "FABMS energy spec",
    "ISS",
    "SIMS",
    "SIMS energy spec",
    "SNMS",
    "SNMS energy spec",
}


class _Lines:
    def __init__(self, lines: list[str], name: str) -> None:
        self.lines = lines
        self.i = 0
        self.name = name

    def next(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise FileFormatError(
                f"{self.name}: file ends early (expected {what} at line {self.i + 1})"
            )
        s = self.lines[self.i]
        self.i += 1
        return s

    def integer(self, what: str) -> int:
        s = self.next(what)
        try:
            return int(float(s.strip()))
        except ValueError:
            raise FileFormatError(
                f"{self.name}: line {self.i}: expected {what} (integer), got {s.strip()!r}"
            ) from None

    def number(self, what: str) -> float:
        s = self.next(what)
        try:
            return float(s.strip())
        except ValueError:
            raise FileFormatError(
                f"{self.name}: line {self.i}: expected {what} (number), got {s.strip()!r}"
            ) from None

    def skip(self, n: int, what: str) -> None:
        for _ in range(n):
            self.next(what)


@reader("VAMAS")
def read_vamas(path: str | Path, *, work_function_ev: float = 0.0) -> XPSData:
    """Read an ISO 14976 VAMAS file (``.vms``, PHI MultiPak ``.npl``).

    Intensities are returned in counts per second: a block whose ordinate is counts (unit ``d``,
    label ``counts``/``Intensity``, as Omicron EIS and CasaXPS write) is divided by its dwell time ×
    number of scans, as CasaXPS and the FAIRmat parser do; a block already in counts per second
    (unit ``c/s``, label ``... per second``/``count rate``) is kept. Each block's metadata records the
    stored label and unit and the factor used (``intensity_divisor``).

    Parameters
    ----------
    path : path
    work_function_ev : float
        φ in BE = hν − KE − φ for blocks stored on a kinetic-energy axis (0 by default, as CasaXPS
        and pynxtools-xps).

    Returns
    -------
    XPSData
        One spectrum per block (region names from species + transition, NULs stripped, placeholder
        labels such as CasaXPS's "None" dropped, via
        :func:`~sulfurscope.spectra.xps.region_key`; ``"block N"`` when empty; a name that repeats
        gets ``" #2"``, ``" #3"`` …); metadata per block in ``metadata["blocks"]``.

    Raises
    ------
    FileFormatError
        Not VAMAS, truncated, unsupported experiment mode or inclusion list.
    """
    p = Path(path)
    L = _vamas_lines(p)
    meta, head = _vamas_header(L, p.name)
    spectra, blocks_meta = [], []
    seen: dict[str, int] = {}
    for b in range(head["n_blocks"]):
        bm, energy, y, source_energy = _vamas_block(L, head, b, p.name, work_function_ev)
        label = " ".join(
            t for t in (bm.pop("species").strip(), bm.pop("transition").strip())
            if t and t.lower() not in _PLACEHOLDER_LABELS
        )
        name = region_key(label) or f"block {b + 1}"
        seen[name] = rank = seen.get(name, 0) + 1
        name = name if rank == 1 else f"{name} #{rank}"  # regions must stay apart by name
        energy, y = _ascending(energy, y, f"{p.name} (block {b + 1}, {name})")
        bm["region"] = name
        blocks_meta.append(bm)
        spectra.append(
            XPSSpectrum(
                region=name,
                binding_energy_ev=energy,  # type: ignore[arg-type]
                intensity=y,
                source_energy_ev=float(source_energy),
            )
        )
    meta["blocks"] = blocks_meta
    return XPSData(tuple(spectra), meta, p, "vamas")


def _vamas_lines(p: Path) -> _Lines:
    text = p.read_bytes().decode("latin-1").replace("\x00", "")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    k = 0
    while k < len(lines) and not lines[k].strip():
        k += 1
    lines = lines[k:]
    if not lines or not lines[0].startswith("VAMAS Surface Chemical Analysis Standard"):
        raise FileFormatError(
            f"{p.name}: not a VAMAS file (first line {lines[0][:40]!r} if any; expected "
            "'VAMAS Surface Chemical Analysis Standard Data Transfer Format')"
        )
    return _Lines(lines, p.name)


def _vamas_header(L: _Lines, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The file header: its metadata and what the blocks need (modes, counts of entries)."""
    L.next("format identifier")
    meta: dict[str, Any] = {
        "institution": L.next("institution").strip(),
        "instrument": L.next("instrument model").strip(),
        "operator": L.next("operator").strip(),
        "experiment": L.next("experiment identifier").strip(),
    }
    n_comment = L.integer("number of comment lines")
    meta["comment"] = "\n".join(L.next("comment").rstrip() for _ in range(n_comment))
    exp_mode = meta["experiment_mode"] = L.next("experiment mode").strip()
    scan_mode = meta["scan_mode"] = L.next("scan mode").strip()
    if scan_mode not in ("REGULAR", "IRREGULAR"):
        raise FileFormatError(f"{name}: scan mode {scan_mode!r} not supported (REGULAR, IRREGULAR)")
    if exp_mode in _EXP_WITH_REGIONS:
        L.integer("number of spectral regions")
    if exp_mode in ("MAP", "MAPDP"):
        L.skip(3, "analysis positions / discrete x / discrete y")
    n_exp_var = L.integer("number of experimental variables")
    L.skip(2 * n_exp_var, "experimental variable label/unit")
    n_incl = L.integer("number of entries in the parameter inclusion list")
    if n_incl != 0:
        raise FileFormatError(
            f"{name}: parameter inclusion/exclusion list ({n_incl} entries) is not supported"
        )
    L.integer("number of manually entered items")
    n_future_exp = L.integer("number of future upgrade experiment entries")
    n_future_block = L.integer("number of future upgrade block entries")
    L.skip(n_future_exp, "future upgrade experiment entry")
    head = {"exp_mode": exp_mode, "scan_mode": scan_mode, "n_exp_var": n_exp_var,
            "n_future_block": n_future_block, "n_blocks": L.integer("number of blocks")}
    return meta, head


def _vamas_block_source(L: _Lines, head: dict[str, Any], bm: dict[str, Any]) -> float:
    """Block fields up to the analyser; returns the source energy."""
    exp_mode = head["exp_mode"]
    bm["block"] = L.next("block identifier").strip()
    bm["sample"] = L.next("sample identifier").strip()
    L.skip(6, "date/time")
    L.next("GMT offset")
    n_bc = L.integer("number of block comment lines")
    bm["comment"] = "\n".join(L.next("block comment").rstrip() for _ in range(n_bc))
    technique = bm["technique"] = L.next("technique").strip()
    if exp_mode in ("MAP", "MAPDP"):
        L.skip(2, "x/y coordinate")
    L.skip(head["n_exp_var"], "experimental variable value")
    bm["source"] = L.next("analysis source label").strip()
    if exp_mode in ("MAPDP", "MAPSVDP", "SDP", "SDPSV") or technique in _SIMS_LIKE:
        L.skip(3, "sputtering ion data")
    source_energy = L.number("analysis source characteristic energy")
    L.skip(3, "source strength / beam widths")
    if exp_mode in ("MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM"):
        L.skip(2, "field of view")
    if exp_mode in ("MAPSV", "MAPSVDP", "SEM"):
        L.skip(6, "linescan coordinates")
    L.skip(2, "source polar/azimuth angles")
    bm["analyser_mode"] = L.next("analyser mode").strip()
    bm["pass_energy_ev"] = L.number("analyser pass energy")
    if technique == "AES diff":
        L.next("differential width")
    L.next("magnification")
    bm["work_function_ev"] = L.number("analyser work function")
    L.skip(5, "target bias / analysis widths / take-off angles")
    bm["species"] = L.next("species label").strip()
    bm["transition"] = L.next("transition label").strip()
    L.next("charge of detected particle")
    return source_energy


def _vamas_variables(L: _Lines, head: dict[str, Any], bm: dict[str, Any]) -> tuple[str, float, float, int]:
    """Abscissa and corresponding variables: (abscissa label, start, step, number of variables);
    the first variable's label and unit go into ``bm``."""
    if head["scan_mode"] == "REGULAR":
        x_label = L.next("abscissa label").strip()
        bm["abscissa_units"] = L.next("abscissa units").strip()
        start = L.number("abscissa start")
        step = L.number("abscissa increment")
        n_var = L.integer("number of corresponding variables")
    else:
        n_var = L.integer("number of corresponding variables") - 1
        x_label = L.next("abscissa label").strip()
        bm["abscissa_units"] = L.next("abscissa units").strip()
        start = step = float("nan")
    labels = [(L.next("corresponding variable label").strip(),
               L.next("corresponding variable unit").strip()) for _ in range(n_var)]
    bm["ordinate_label"], bm["ordinate_unit"] = labels[0] if labels else ("", "")
    return x_label, start, step, n_var


def _vamas_values(L: _Lines, head: dict[str, Any], n_var: int, b: int, name: str) -> np.ndarray:
    L.skip(head["n_future_block"], "future upgrade block entry")
    n_ord = L.integer("number of ordinate values")
    n_cols = n_var + (1 if head["scan_mode"] == "IRREGULAR" else 0)
    L.skip(2 * n_cols, "ordinate min/max")
    if n_cols < 1 or n_ord % n_cols or n_ord < 0:
        raise FileFormatError(
            f"{name}: block {b + 1}: {n_ord} values do not split into {n_cols} variables"
        )
    if n_ord > len(L.lines) - L.i:
        raise FileFormatError(
            f"{name}: block {b + 1}: {n_ord} ordinate values declared, only "
            f"{len(L.lines) - L.i} lines left (truncated file?)"
        )
    vals = np.empty(n_ord)
    for j in range(n_ord):
        vals[j] = L.number("ordinate value")
    return vals.reshape(-1, n_cols)


#: Ordinate labels/units that are already a rate (counts per second): kept as stored.
_RATE_WORDS = ("per second", "per sec", "rate", "cps", "c/s", "counts/s", "/s")


def _counts_divisor(bm: dict[str, Any], name: str, b: int) -> float:
    """Dwell × scans when the block's ordinate is counts, 1 when it is a rate (see read_vamas)."""
    label, unit = bm["ordinate_label"].lower(), bm["ordinate_unit"].lower()
    if any(w in label for w in _RATE_WORDS) or unit in ("c/s", "cps", "counts/s", "1/s", "s-1"):
        bm["intensity_conversion"] = "stored as counts per second"
        return 1.0
    dwell, scans = bm["dwell_time_s"], bm["scans"]
    if not (math.isfinite(dwell) and dwell > 0 and scans > 0):
        raise FileFormatError(
            f"{name}: block {b + 1}: ordinate {bm['ordinate_label']!r} ({bm['ordinate_unit']!r}) "
            f"is counts but the dwell time ({dwell}) or number of scans ({scans}) is not positive; "
            "counts per second cannot be computed"
        )
    bm["intensity_conversion"] = f"counts ÷ (dwell {dwell:g} s × {scans} scans)"
    return dwell * scans


def _vamas_block(
    L: _Lines, head: dict[str, Any], b: int, name: str, work_function_ev: float
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, float]:
    """One block: its metadata, binding-energy axis, intensity (counts/s) and source energy."""
    bm: dict[str, Any] = {}
    source_energy = _vamas_block_source(L, head, bm)
    x_label, start, step, n_var = _vamas_variables(L, head, bm)
    bm["signal_mode"] = L.next("signal mode").strip()
    bm["dwell_time_s"] = L.number("signal collection time")
    bm["scans"] = L.integer("number of scans")
    L.next("signal time correction")
    if head["exp_mode"] in ("MAPDP", "MAPSVDP", "SDP", "SDPSV") and bm["technique"] in _TECH_SPUTTER:
        L.skip(7, "sputtering source parameters")
    L.skip(3, "sample tilt / azimuth / rotation")
    n_add = L.integer("number of additional numerical parameters")
    L.skip(3 * n_add, "additional parameter")
    table = _vamas_values(L, head, n_var, b, name)
    if head["scan_mode"] == "REGULAR":
        x, y = start + step * np.arange(table.shape[0]), table[:, 0]
    else:
        x, y = table[:, 0], table[:, 1]
    divisor = _counts_divisor(bm, name, b)
    bm["intensity_divisor"] = divisor
    lab = x_label.lower()
    if "kinetic" in lab:
        energy = source_energy - x - work_function_ev
        bm["axis"] = "kinetic → binding"
    elif "binding" in lab:
        energy = x
        bm["axis"] = "binding"
    else:
        raise FileFormatError(
            f"{name}: block {b + 1}: abscissa {x_label!r} is neither kinetic nor binding energy"
        )
    bm["source_energy_ev"] = source_energy
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are dropped, counted
        return bm, energy, y / divisor, source_energy


# ------------------------------------------------------------------------------------------- PHI


@reader("PHI MultiPak")
def read_phi(path: str | Path) -> XPSData:
    """Read a PHI MultiPak ``.spe`` (several regions) or ``.pro`` (depth profile) file.

    The ASCII header's ``SpectralRegDef`` lines give each region's name, points and energy range;
    the binary part one header per trace (:mod:`sulfurscope.io._phi`). A ``.pro`` file stores each
    region as cycles × points; its extra traces (cycle × region) hold the sputter time per cycle,
    which becomes ``sputter_time_s``, and the region areas, returned in ``depth_profile``.
    """
    from sulfurscope.io._phi import parse_phi

    p = Path(path)
    spectra, meta, profile = parse_phi(p.read_bytes(), p.name)
    return XPSData(tuple(spectra), meta, p, "phi", profile)


@reader("XPS text")
def read_xps_text(
    path: str | Path, *, region: str | None = None, source_energy_ev: float = 1486.6
) -> XPSData:
    """XPS text exports: SPECS Prodigy ``.xy``, CasaXPS "export to text" (columns or rows of
    tables) or plain two-column text (binding energy, intensity; comma/tab/space separated).

    One spectrum per region (and cycle), binding energy ascending, counts per second — see
    :mod:`sulfurscope.io._xps_text` for how each layout is recognised and converted. For plain text a
    region name comes from ``region``, a ``# region: S 2p`` line or the file stem; a kinetic-energy
    first column (header ``K.E.``/``Kinetic``) is converted with ``source_energy_ev``.
    """
    from sulfurscope.io._xps_text import parse_xps_text

    p = Path(path)
    text = p.read_bytes().decode("latin-1")
    spectra, meta, layout = parse_xps_text(
        text, p.name, region=region, source_energy_ev=source_energy_ev
    )
    meta = {"layout": layout, "columns": [ENERGY, INTENSITY], **meta}
    fmt = "text" if layout == "text" else layout
    return XPSData(tuple(spectra), meta, p, fmt)


@reader("XPS")
def read_xps(path: str | Path, *, format: Literal["vamas", "phi", "text"] | None = None) -> XPSData:
    """Read any supported XPS file; ``format`` overrides detection (extension, then content)."""
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p}: file does not exist")
    if format is None:
        ext = p.suffix.lower()
        head = p.read_bytes()[:200].lstrip()
        if head.startswith(b"VAMAS") or ext in (".vms", ".npl"):
            format = "vamas"
        elif head.startswith(b"SOFH") or ext in (".spe", ".pro"):
            format = "phi"
        elif ext in (".txt", ".csv", ".dat", ".xy"):
            format = "text"
        else:
            raise FileFormatError(
                f"{p.name}: unknown XPS format (extension {ext!r}); expected .vms/.npl, .spe/.pro or "
                "two-column text"
            )
    if format == "vamas":
        return read_vamas(p)
    if format == "phi":
        return read_phi(p)
    if format == "text":
        return read_xps_text(p)
    raise SulfurscopeError(f"format must be one of {XPS_FORMATS}, got {format!r}")


def select_region(data: XPSData, region: str | None = None, *, cycle: int = 0) -> XPSSpectrum:
    """The spectrum of one region (and depth-profile cycle); ``None`` picks the only non-survey region."""
    cands = [s for s in data.spectra if s.cycle == cycle]
    if region is None:
        core = [s for s in cands if s.region != "Survey"]
        if len(core) == 1:
            return core[0]
        raise SulfurscopeError(
            f"{data.path.name}: choose a region with --region; available: "
            f"{sorted({s.region for s in data.spectra})}"
        )
    key = region_key(region)
    for s in cands:
        if s.region == key:
            return s
    raise SulfurscopeError(
        f"{data.path.name}: no region {region!r} (cycle {cycle}); available: "
        f"{sorted({s.region for s in data.spectra})}"
        + (f", cycles 0–{max(s.cycle for s in data.spectra)}" if data.depth_profile.size else "")
    )


def write_vamas(
    spectra: tuple[XPSSpectrum, ...] | list[XPSSpectrum],
    path: str | Path,
    *,
    axis: Literal["binding", "kinetic"] = "binding",
    scan_mode: Literal["REGULAR", "IRREGULAR"] = "REGULAR",
    institution: str = "sulfurscope",
    instrument: str = "simulated",
) -> Path:
    """Write spectra as a VAMAS file (NORM mode), atomically.

    ``axis="kinetic"`` stores KE = hν − BE (the usual VAMAS convention); REGULAR needs a uniform axis.
    """
    spectra = list(spectra)
    if not spectra:
        raise SulfurscopeError("write_vamas needs at least one spectrum")
    n = str(len(spectra))
    out = ["VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4", institution,
           instrument, "", "sulfurscope", "1", "written by sulfurscope.io.write_vamas", "NORM",
           scan_mode, n, "0", "0", "0", "0", "0", n]
    for k, s in enumerate(spectra):
        out += _vamas_block_lines(k, s, axis, scan_mode)
    out.append("end of experiment")
    p = Path(path)
    with atomic_path(p) as tmp:
        tmp.write_text("\r\n".join(out) + "\r\n", encoding="latin-1")
    return p


#: Species/transition labels that name nothing (CasaXPS writes "None" for an unlabelled block; a
#: region called "None" also reads back as a missing value from CSV).
_PLACEHOLDER_LABELS = frozenset({"none", "null", "n/a", "na", "?", "-", "unknown"})

#: The fixed block fields between the technique and the species label (source Al, FAT 20 eV, …).
_BLOCK_FIXED = ["0", "0", "0", "0", "0", "FAT", "20", "1", "0", "0", "0", "0", "0", "0"]


def _vamas_block_lines(k: int, s: XPSSpectrum, axis: str, scan_mode: str) -> list[str]:
    """The lines of one NORM-mode block (c/s ordinate)."""
    e = np.asarray(s.binding_energy_ev, float)
    y = np.asarray(s.intensity, float)
    species, _, trans = s.region.partition(" ")
    x = e if axis == "binding" else s.source_energy_ev - e
    if scan_mode == "REGULAR":
        d = np.diff(x)
        if x.size > 1 and not np.allclose(d, d[0], rtol=1e-6, atol=1e-9):
            raise SulfurscopeError(
                f"{s.region}: REGULAR VAMAS needs a uniform energy step; use IRREGULAR"
            )
    out = [f"Block {k + 1}", "sample", "2026", "1", "1", "0", "0", "0", "0", "0", "XPS", "Al",
           f"{s.source_energy_ev:.4f}", *_BLOCK_FIXED, species, trans, "-1"]
    label = "Binding Energy" if axis == "binding" else "Kinetic Energy"
    if scan_mode == "REGULAR":
        step = float(x[1] - x[0]) if x.size > 1 else 0.0
        out += [label, "eV", repr(float(x[0])), repr(step), "1", "Intensity", "c/s"]
    else:
        out += ["2", label, "eV", "Intensity", "c/s"]
    out += ["pulse counting", "1", "1", "0", "0", "0", "0", "0"]
    if scan_mode == "REGULAR":
        out += [str(y.size), repr(float(y.min())), repr(float(y.max()))]
        out += [repr(float(v)) for v in y]
    else:
        out += [str(2 * y.size), repr(float(x.min())), repr(float(x.max())),
                repr(float(y.min())), repr(float(y.max()))]
        for xv, yv in zip(x, y, strict=True):
            out += [repr(float(xv)), repr(float(yv))]
    return out
