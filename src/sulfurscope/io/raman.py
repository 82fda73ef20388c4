"""Raman readers: Renishaw WiRE ``.wdf`` (through rosettasciio) and text exports; a text writer.

=====================  ============================================  ==================================
reader                 format                                        library
=====================  ============================================  ==================================
read_renishaw_wdf      Renishaw WiRE ``.wdf`` (single, line, map)    rosettasciio (``rsciio.renishaw``)
read_raman_text        two-column text; wide (shift + one column     our own (NumPy)
                       per spectrum); WiRE long ``X Y Wave Int``
=====================  ============================================  ==================================

:func:`read_raman` picks one from the file. Every reader returns a :class:`RamanData`: one shift axis
``shift_cm1`` (N,) and a 2-D ``intensity`` (M, N) with one row per spectrum, even for one spectrum.

Conventions (no magic):

* The shift axis is kept point for point as the instrument wrote it — a Renishaw axis is not uniform
  and is **not** resampled. It is returned in increasing order: WiRE stores it decreasing and both
  rosettasciio and this module flip it (together with the intensities); ``metadata["axis_reversed"]``
  says whether the file stored it decreasing.
* Intensities are the raw counts (no cosmic-ray removal, no baseline, no normalisation).
* A duplicated shift value, a non-finite value or an empty file raises :class:`FileFormatError` naming
  the file.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope._files import atomic_path
from sulfurscope.errors import FileFormatError
from sulfurscope.io._guard import reader
from sulfurscope.units import NM_PER_CM

__all__ = [
    "RAMAN_FORMATS",
    "RamanData",
    "read_raman",
    "read_raman_text",
    "read_renishaw_wdf",
    "write_raman_text",
]

RAMAN_FORMATS = ("wdf", "text")

SHIFT = "Raman shift [1/cm]"
INTENSITY = "Intensity [counts]"


@dataclass(frozen=True, slots=True)
class RamanData:
    """Raman spectra sharing one shift axis.

    Attributes
    ----------
    shift_cm1 : (N,) ndarray of float, 1/cm
        Raman shift, strictly increasing, not resampled.
    intensity : (M, N) ndarray of float, counts
        One row per spectrum (M = 1 for a single spectrum).
    positions : DataFrame
        One row per spectrum: ``Spectrum`` (0..M-1) and the stage coordinates the file gives
        (e.g. ``Distance [µm]`` for a line, ``X [µm]``/``Y [µm]`` for a map).
    metadata : dict
        Laser wavelength (``laser_wavelength_nm``), title, date, ``axis_reversed``, ``map_shape``...
    path : str
    format : {"wdf", "text"}
    """

    shift_cm1: np.ndarray
    intensity: np.ndarray
    positions: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    format: str = ""

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``Spectrum``, ``Raman shift [1/cm]``, ``Intensity [counts]``."""
        m, n = self.intensity.shape
        return pd.DataFrame(
            {
                "Spectrum": np.repeat(np.arange(m), n),
                SHIFT: np.tile(self.shift_cm1, m),
                INTENSITY: self.intensity.ravel(),
            }
        )


def _finish(
    shift: np.ndarray,
    intensity: np.ndarray,
    positions: pd.DataFrame,
    metadata: dict[str, Any],
    path: Path,
    fmt: str,
) -> RamanData:
    """Check the axis, flip it to increasing order and build the result."""
    name = path.name
    shift = np.asarray(shift, dtype=float)
    intensity = np.atleast_2d(np.asarray(intensity, dtype=float))
    if shift.size == 0 or intensity.size == 0:
        raise FileFormatError(f"{name}: no spectrum in the file (empty)")
    if shift.size < 3:
        raise FileFormatError(f"{name}: only {shift.size} points per spectrum, expected ≥ 3")
    if intensity.shape[1] != shift.size:
        raise FileFormatError(
            f"{name}: {intensity.shape[1]} intensities per spectrum for {shift.size} shift values"
        )
    if not np.all(np.isfinite(shift)):
        raise FileFormatError(f"{name}: Raman shift axis has non-finite values")
    bad = ~np.isfinite(intensity)
    if bad.any():
        row = int(np.nonzero(bad.any(axis=1))[0][0])
        raise FileFormatError(
            f"{name}: intensity has {int(bad.sum())} non-finite value(s) (first in spectrum {row})"
        )
    d = np.diff(shift)
    reversed_ = bool(d[0] < 0)
    if reversed_:
        shift = shift[::-1]
        intensity = intensity[:, ::-1]
        d = np.diff(shift)
    if not np.all(d > 0):
        k = int(np.nonzero(d <= 0)[0][0])
        raise FileFormatError(
            f"{name}: Raman shift axis is not monotonic or has duplicates "
            f"(at {shift[k]:.6g} and {shift[k + 1]:.6g} 1/cm)"
        )
    meta = dict(metadata)
    meta["axis_reversed"] = reversed_ or bool(meta.get("axis_reversed", False))
    # (for .wdf, rosettasciio has already flipped a decreasing axis; the flag still says so)
    shift.setflags(write=False)
    intensity = np.ascontiguousarray(intensity)
    intensity.setflags(write=False)
    return RamanData(shift, intensity, positions, meta, str(path), fmt)


@reader("Renishaw .wdf", modules=("rsciio.renishaw",))
def read_renishaw_wdf(path: str | Path) -> RamanData:
    """Read a Renishaw WiRE ``.wdf`` file (single spectrum, line/StreamLine or map).

    Parameters
    ----------
    path : str or Path
        The ``.wdf`` file (opened read-only by rosettasciio).

    Returns
    -------
    RamanData
        ``intensity`` (M, N) in counts; ``positions`` holds the navigation axes (line: one
        coordinate, map: two, row-major as stored); ``metadata["map_shape"]`` gives the navigation
        shape; the white-light image, if any, is not returned.

    Raises
    ------
    FileFormatError
        Not a WDF file, truncated, or no Raman spectrum inside.
    """
    p = Path(path)
    try:
        from rsciio.renishaw import file_reader
    except ImportError as exc:  # pragma: no cover - rosettasciio is a dependency
        raise FileFormatError(f"{p.name}: reading .wdf needs rosettasciio ({exc})") from None
    with p.open("rb") as fh:
        head = fh.read(4)
    if head != b"WDF1":
        raise FileFormatError(
            f"{p.name}: not a Renishaw .wdf file (starts with {head!r}, expected b'WDF1')"
        )
    logger = logging.getLogger("rsciio")
    level = logger.level
    logger.setLevel(logging.ERROR)  # "Cannot find package lumispy" is not the user's concern
    try:
        signals = file_reader(str(p), lazy=False, use_uniform_signal_axis=False)
    except Exception as exc:  # rsciio raises many types on corrupt files
        raise FileFormatError(f"{p.name}: rosettasciio cannot read this .wdf ({exc})") from None
    finally:
        logger.setLevel(level)
    spectra = [s for s in signals if np.asarray(s["data"]).dtype.names is None]
    if not spectra:
        raise FileFormatError(f"{p.name}: no spectrum in the .wdf (only images)")
    sig = spectra[0]
    data = np.asarray(sig["data"], dtype=float)
    axes = sorted(sig["axes"], key=lambda a: a.get("index_in_array", 0))
    signal_axis = axes[-1]
    if "axis" in signal_axis:
        x = np.asarray(signal_axis["axis"], dtype=float)
    else:
        x = signal_axis["offset"] + signal_axis["scale"] * np.arange(int(signal_axis["size"]))
    laser = sig.get("metadata", {}).get("Acquisition_instrument", {}).get("Laser", {}).get(
        "wavelength"
    )
    shift, axis_note = _raman_shift(x, signal_axis, laser, p.name)
    nav = axes[:-1]
    map_shape = tuple(int(a["size"]) for a in nav)
    m = int(np.prod(map_shape)) if map_shape else 1
    intensity = data.reshape(m, -1)
    cols: dict[str, Any] = {"Spectrum": np.arange(m)}
    if nav:
        grids = np.meshgrid(
            *[float(a["offset"]) + float(a["scale"]) * np.arange(int(a["size"])) for a in nav],
            indexing="ij",
        )
        for a, g in zip(nav, grids, strict=True):
            label = str(a.get("name") or "Axis").replace("Abs. ", "").strip()
            unit = str(a.get("units") or "").replace("um", "µm")
            cols[f"{label} [{unit}]" if unit else label] = g.ravel()
    md = sig.get("metadata", {})
    om = sig.get("original_metadata", {})
    general = md.get("General", {})
    wdf1 = om.get("WDF1_1", {})
    metadata = {
        "title": general.get("title"),
        "date": general.get("date"),
        "time": general.get("time"),
        "laser_wavelength_nm": float(laser) if laser is not None else None,
        "scan_type": wdf1.get("scan_type"),
        "map_shape": map_shape,
        "signal_units": signal_axis.get("units"),
        "x_axis": axis_note,
        "reader": "rosettasciio.renishaw",
    }
    metadata["axis_reversed"] = _wdf_axis_decreasing(p)
    wxda = om.get("WXDA_0", {})
    if isinstance(wxda, dict) and wxda.get("lastScanCompletionStatus"):
        metadata["scan_completion"] = wxda["lastScanCompletionStatus"]
    return _finish(shift, intensity, pd.DataFrame(cols), metadata, p, "wdf")


def _raman_shift(
    x: np.ndarray, axis: dict[str, Any], laser_nm: Any, name: str
) -> tuple[np.ndarray, str]:
    """The Raman shift (cm⁻¹) of a .wdf x axis: as stored when it is a shift; converted when it is a
    wavelength, ν̃ = 10⁷/λ_laser − 10⁷/λ (both in nm), with the laser wavelength the file stores;
    refused when the laser is unknown or the axis is anything else."""
    units = str(axis.get("units") or "").strip().lower()
    label = str(axis.get("name") or "").lower()
    if units in ("1/cm", "cm-1", "cm^-1", "cm⁻¹", "rcm", "1 / cm") or "shift" in label:
        return x, "Raman shift as stored"
    if units in ("nm", "nanometre", "nanometer", "nanometers") or "wavelength" in label:
        try:
            laser = float(laser_nm)
        except (TypeError, ValueError):
            laser = float("nan")
        if not (np.isfinite(laser) and laser > 0):
            raise FileFormatError(
                f"{name}: the x axis is a wavelength (nm) and the file does not store the laser "
                "wavelength, so the Raman shift cannot be computed"
            )
        with np.errstate(divide="ignore"):
            shift = NM_PER_CM / laser - NM_PER_CM / x
        return shift, f"wavelength (nm) → Raman shift with the laser at {laser:.2f} nm"
    raise FileFormatError(
        f"{name}: x axis {axis.get('name')!r} in {axis.get('units')!r}; expected a Raman shift "
        "(1/cm) or a wavelength (nm)"
    )


def _wdf_axis_decreasing(path: Path) -> bool:
    """Whether the XLST block stores the shift decreasing (rosettasciio flips it to increasing)."""
    raw = path.read_bytes()
    k = raw.find(b"XLST")
    if k < 0 or len(raw) < k + 32:
        return False
    first, second = np.frombuffer(raw, dtype="<f4", count=2, offset=k + 24)
    return bool(first > second)


_NUM = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?([\s,;]|$)")


def _numeric_table(rows: list[str], name: str) -> np.ndarray:
    """The rows as a float table, separator and decimal mark found from the rows themselves: tab
    or semicolon (a comma is then a decimal comma, as European exports write it); else commas
    between numbers with decimal points; else whitespace, with decimal commas if the numbers have
    them. Before, every comma was a separator, so ``1350,5;1200,3`` became four columns."""
    fields = re.compile(r"[\t;]+") if any("\t" in r or ";" in r for r in rows[:50]) else None
    attempts: list[tuple[Any, str]] = (
        [(fields, ",")] if fields is not None
        else [(re.compile(r"\s*,\s*"), "."), (None, ","), (None, ".")]
    )
    last = ""
    for sep, decimal in attempts:
        try:
            table = [
                [float(t.replace(",", ".") if decimal == "," else t)
                 for t in (sep.split(r.strip()) if sep is not None else r.split()) if t.strip()]
                for r in rows
            ]
        except ValueError as exc:
            last = str(exc)
            continue
        widths = {len(r) for r in table}
        if len(widths) == 1:
            return np.asarray(table, dtype=float).reshape(len(table), -1)
        last = f"rows of {sorted(widths)} fields"
    raise FileFormatError(f"{name}: rows are not a numeric table ({last})")


@reader("Raman text")
def read_raman_text(path: str | Path) -> RamanData:
    """Read a Raman text export.

    Three layouts are recognised from the numbers (header lines, ``#`` comments and the separators
    tab, space, comma or semicolon are tolerated):

    * two columns ``shift, intensity`` — one spectrum;
    * wide, ``shift, I_1, I_2, ...`` — one spectrum per column (M = columns − 1) when there are
      more than two columns and the first column is strictly monotonic;
    * WiRE long export ``X, Y, Wave, Intensity`` (map) or ``X, Wave, Intensity`` (line) — the
      shift axis repeats once per position; spectra are grouped by position in file order.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    RamanData

    Raises
    ------
    FileFormatError
        No numeric rows, ragged rows, a duplicated shift value or non-finite numbers.
    """
    p = Path(path)
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    lines = text.splitlines()
    header = [ln for ln in lines if ln.strip() and not _NUM.match(ln)]
    rows = [ln for ln in lines if _NUM.match(ln)]
    if not rows:
        raise FileFormatError(f"{p.name}: no numeric rows (empty or not a Raman text export)")
    table = _numeric_table(rows, p.name)
    if not np.all(np.isfinite(table)):
        raise FileFormatError(f"{p.name}: the table holds non-finite numbers (NaN/inf)")
    ncol = table.shape[1]
    metadata: dict[str, Any] = {"header": header, "reader": "sulfurscope text"}
    if ncol < 2:
        raise FileFormatError(f"{p.name}: {ncol} column(s), expected shift and intensity")
    if ncol in (3, 4) and _is_long(table):
        coords = table[:, : ncol - 2]
        wave, inten = table[:, -2], table[:, -1]
        change = np.any(np.diff(coords, axis=0) != 0, axis=1)
        starts = np.r_[0, np.nonzero(change)[0] + 1]
        n = np.diff(np.r_[starts, len(table)])
        if np.any(n != n[0]):
            raise FileFormatError(
                f"{p.name}: long (X Y Wave Intensity) export with spectra of unequal length {set(n)}"
            )
        m, npts = len(starts), int(n[0])
        shift = wave[:npts]
        if not np.allclose(wave.reshape(m, npts), shift):
            raise FileFormatError(f"{p.name}: long export whose spectra have different shift axes")
        names = ["X [µm]", "Y [µm]"] if ncol == 4 else ["Distance [µm]"]
        cols: dict[str, Any] = {"Spectrum": np.arange(m)}
        for k, name in enumerate(names):
            cols[name] = coords[starts, k]
        metadata["layout"] = "long"
        return _finish(shift, inten.reshape(m, npts), pd.DataFrame(cols), metadata, p, "text")
    metadata["layout"] = "two-column" if ncol == 2 else "wide"
    intensity = table[:, 1:].T
    positions = pd.DataFrame({"Spectrum": np.arange(intensity.shape[0])})
    return _finish(table[:, 0], intensity, positions, metadata, p, "text")


def _is_long(table: np.ndarray) -> bool:
    """A WiRE long export: coordinates constant in runs and the shift column repeating."""
    wave = table[:, -2]
    d = np.diff(wave)
    if np.all(d > 0) or np.all(d < 0):
        return False
    coords = table[:, :-2]
    change = np.any(np.diff(coords, axis=0) != 0, axis=1)
    return bool(change.any()) and int(change.sum()) < len(table) // 3


@reader("Raman", modules=("rsciio.renishaw",))
def read_raman(
    path: str | Path,
    *,
    format: Literal["wdf", "text"] | None = None,  # noqa: A002
) -> RamanData:
    """Read a Raman file; the format is picked from the first bytes unless given.

    Parameters
    ----------
    path : str or Path
    format : {"wdf", "text"}, optional

    Returns
    -------
    RamanData

    Raises
    ------
    FileFormatError
        Unknown format, or the chosen reader's errors.
    """
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file")
    if format is None:
        with p.open("rb") as fh:
            head = fh.read(512)
        if head.startswith(b"WDF1"):
            format = "wdf"
        elif not head.strip():
            raise FileFormatError(f"{p.name}: empty file")
        elif b"\x00" in head:
            raise FileFormatError(
                f"{p.name}: binary file that is not a Renishaw .wdf (expected 'WDF1' magic)"
            )
        else:
            format = "text"
    if format == "wdf":
        return read_renishaw_wdf(p)
    if format == "text":
        return read_raman_text(p)
    raise FileFormatError(f"{p.name}: unknown Raman format {format!r}, expected {RAMAN_FORMATS}")


def write_raman_text(
    path: str | Path,
    shift_cm1: np.ndarray,
    intensity: np.ndarray,
    *,
    header: str = "",
) -> Path:
    """Write spectra as text that :func:`read_raman_text` reads back (atomic write).

    One spectrum (1-D ``intensity``) gives two tab-separated columns; several (2-D, one row per
    spectrum) give the wide layout ``shift, I_1, ..., I_M``.

    Parameters
    ----------
    path : str or Path
    shift_cm1 : (N,) array_like of float, 1/cm
    intensity : (N,) or (M, N) array_like of float, counts
    header : str, optional
        Written as ``#`` comment lines (e.g. "simulated data").

    Returns
    -------
    Path
    """
    x = np.asarray(shift_cm1, dtype=float)
    y = np.atleast_2d(np.asarray(intensity, dtype=float))
    if y.shape[1] != x.size:
        raise ValueError(f"intensity has {y.shape[1]} points per spectrum, shift_cm1 has {x.size}")
    lines = [f"# {h}" for h in header.splitlines()]
    cols = ["Raman shift [1/cm]"] + [f"Intensity {k} [counts]" for k in range(y.shape[0])]
    lines.append("# " + "\t".join(cols))
    body = np.column_stack([x, y.T])
    buf = io.StringIO()
    np.savetxt(buf, body, delimiter="\t", fmt="%.10g")
    out = Path(path)
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n" + buf.getvalue(), encoding="utf-8")
    return out
