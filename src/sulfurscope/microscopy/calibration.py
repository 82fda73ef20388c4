"""Pixel size of a micrograph from the vendor's own metadata, and the burnt-in data bar.

Every function here is pure: the readers in :mod:`sulfurscope.io.images` hand over the text or the
tag dictionary they found, and these functions turn it into a pixel size in nm. Nothing is guessed:
when no calibration is found the result says so (``pixel_size_nm is None``) and the analyses report
sizes in pixels.

Vendors covered:

- Hitachi SU-series ``.txt`` sidecar: ``[SemImageFile]`` section, ``PixelSize=`` in nm.
- FEI/Thermo Fisher TIFF tag 34682 (INI text): ``[Scan]`` ``PixelWidth=`` / ``PixelHeight=`` in m.
- Zeiss SmartSEM TIFF tag 34118 (``CZ_SEM``): ``ap_image_pixel_size`` when present, otherwise
  ``ap_pixel_size`` scaled by 1024/width — SmartSEM writes ``ap_pixel_size`` for a 1024-px-wide frame
  whatever the stored width (rosettasciio does the same; HyperSpy PR #2056).
- TESCAN TIFF tag 50431 / ``.hdr`` text: ``PixelSizeX=`` / ``PixelSizeY=`` in m.
- JEOL SEM ``.txt`` sidecar: ``$$SM_MICRON_BAR`` (bar length in px) and ``$$SM_MICRON_MARKER``
  (bar label, e.g. ``100nm``), or ``$CM_FULL_SIZE`` with ``$$SM_FIELD_OF_VIEW``-style keys where present.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from sulfurscope.errors import FileFormatError

__all__ = [
    "Calibration",
    "DataBar",
    "crop_data_bar",
    "detect_data_bar",
    "pixel_size_from_fei",
    "pixel_size_from_hitachi",
    "pixel_size_from_jeol",
    "pixel_size_from_tescan",
    "pixel_size_from_zeiss",
    "uncalibrated",
]

CalibrationSource = Literal[
    "user", "hitachi", "fei", "zeiss", "tescan", "jeol", "hyperspy-axes", "sidecar-mat", "none"
]

_LENGTH_TO_NM = {
    "m": 1e9,
    "mm": 1e6,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "micron": 1e3,
    "nm": 1.0,
    "a": 0.1,
    "å": 0.1,
    "angstrom": 0.1,
    "pm": 1e-3,
}


@dataclass(frozen=True, slots=True)
class Calibration:
    """Pixel size of an image and where it came from.

    Attributes
    ----------
    pixel_size_nm : float or None
        Edge length of one (square) pixel in nm; ``None`` when the image carries no calibration.
    source : str
        ``"user"``, a vendor name (``"hitachi"``, ``"fei"``, ``"zeiss"``, ``"tescan"``, ``"jeol"``),
        ``"hyperspy-axes"``, ``"sidecar-mat"`` or ``"none"``.
    note : str
        One line saying how the value was obtained (or why there is none).
    """

    pixel_size_nm: float | None
    source: str
    note: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def uncalibrated(note: str = "no calibration in the file: sizes are in pixels") -> Calibration:
    """The calibration of an image without one (sizes stay in pixels).

    Examples
    --------
    >>> uncalibrated().pixel_size_nm is None
    True
    """
    return Calibration(pixel_size_nm=None, source="none", note=note)


def _to_nm(value: float, unit: str) -> float:
    key = unit.strip().lower().replace("\u00b5", "µ")
    if key not in _LENGTH_TO_NM:
        raise FileFormatError(
            f"length unit {unit!r} unknown; expected one of {sorted(_LENGTH_TO_NM)}"
        )
    return float(value) * _LENGTH_TO_NM[key]


def _ini_sections(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip().strip("\x00")
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            sections.setdefault(current, {})
            continue
        if "=" in line:
            key, _, value = line.partition("=")
            sections.setdefault(current, {})[key.strip()] = value.strip()
    return sections


def _positive(value: float, what: str) -> float:
    if not np.isfinite(value) or value <= 0:
        raise FileFormatError(f"{what}: pixel size {value!r} is not a positive number")
    return float(value)


def pixel_size_from_hitachi(text: str) -> Calibration:
    """Pixel size from a Hitachi SEM ``.txt`` sidecar (``[SemImageFile]`` ... ``PixelSize=`` in nm).

    Parameters
    ----------
    text : str
        Content of the sidecar file.

    Returns
    -------
    Calibration

    Raises
    ------
    FileFormatError
        When the text has no ``PixelSize=`` entry.

    Examples
    --------
    >>> pixel_size_from_hitachi("[SemImageFile]\\nPixelSize=4.961\\n").pixel_size_nm
    4.961
    """
    sections = _ini_sections(text)
    for name in ("SemImageFile", *sections):
        section = sections.get(name, {})
        if "PixelSize" in section:
            value = _positive(float(section["PixelSize"]), "Hitachi sidecar")
            return Calibration(value, "hitachi", f"Hitachi sidecar [{name}] PixelSize={value} nm")
    raise FileFormatError("Hitachi sidecar: no 'PixelSize=' entry in a [SemImageFile] section")


def pixel_size_from_fei(text: str) -> Calibration:
    """Pixel size from FEI/Thermo Fisher INI metadata (TIFF tag 34682): ``[Scan] PixelWidth=`` in m.

    Examples
    --------
    >>> pixel_size_from_fei("[Scan]\\nPixelWidth=2.5e-09\\nPixelHeight=2.5e-09\\n").pixel_size_nm
    2.5
    """
    sections = _ini_sections(text)
    for name in ("Scan", "EScan", "Image"):
        section = sections.get(name, {})
        if "PixelWidth" in section:
            width = _positive(float(section["PixelWidth"]) * 1e9, "FEI metadata")
            height = float(section.get("PixelHeight", section["PixelWidth"])) * 1e9
            note = f"FEI/Thermo [{name}] PixelWidth={width:.6g} nm"
            if not np.isclose(width, height, rtol=1e-3):
                note += f" (PixelHeight={height:.6g} nm differs: non-square pixels, width used)"
            return Calibration(width, "fei", note)
    raise FileFormatError("FEI/Thermo metadata: no [Scan] PixelWidth= entry")


def pixel_size_from_zeiss(cz_sem: Mapping[str, object], *, width_px: int) -> Calibration:
    """Pixel size from Zeiss SmartSEM metadata (TIFF tag 34118, as parsed by tifffile).

    SmartSEM stores ``ap_pixel_size`` for a reference frame 1024 px wide, whatever the width of the
    saved image; the pixel size of the saved image is ``ap_pixel_size * 1024 / width_px``.
    ``ap_image_pixel_size``, when present, is already per saved pixel and wins.

    Parameters
    ----------
    cz_sem : mapping
        ``{key: (label, value, unit)}`` as tifffile returns for tag 34118.
    width_px : int
        Width of the saved image in pixels.

    Examples
    --------
    >>> tags = {"ap_pixel_size": ("Pixel Size", 5.825, "nm")}
    >>> pixel_size_from_zeiss(tags, width_px=512).pixel_size_nm
    11.65
    """
    if width_px <= 0:
        raise ValueError(f"width_px must be positive, got {width_px}")

    def _entry(key: str) -> tuple[float, str] | None:
        item = cz_sem.get(key)
        if not isinstance(item, tuple | list) or len(item) < 3:
            return None
        try:
            return float(item[1]), str(item[2])
        except (TypeError, ValueError):
            return None

    image_px = _entry("ap_image_pixel_size")
    if image_px is not None:
        value = _positive(_to_nm(*image_px), "Zeiss ap_image_pixel_size")
        return Calibration(value, "zeiss", f"Zeiss ap_image_pixel_size={value:.6g} nm")
    ref = _entry("ap_pixel_size")
    if ref is None:
        raise FileFormatError(
            "Zeiss tag 34118: neither ap_image_pixel_size nor ap_pixel_size present"
        )
    ref_nm = _positive(_to_nm(*ref), "Zeiss ap_pixel_size")
    value = ref_nm * 1024.0 / width_px
    note = f"Zeiss ap_pixel_size={ref_nm:.6g} nm (1024-px frame) x 1024/{width_px}"
    width_entry = _entry("ap_width")
    if width_entry is not None:
        fov_nm = _to_nm(*width_entry)
        check = fov_nm / width_px
        note += f"; ap_width/width = {check:.6g} nm"
        if not np.isclose(check, value, rtol=0.02):
            note += " (DISAGREES by more than 2 %)"
    return Calibration(value, "zeiss", note)


def pixel_size_from_tescan(text: str) -> Calibration:
    """Pixel size from TESCAN metadata text (TIFF tag 50431 or ``.hdr``): ``PixelSizeX=`` in m.

    Examples
    --------
    >>> pixel_size_from_tescan("[MAIN]\\nPixelSizeX=2.583e-09\\nPixelSizeY=2.583e-09\\n").pixel_size_nm
    2.583
    """
    match = re.search(r"PixelSizeX\s*=\s*([0-9.eE+-]+)", text)
    if match is None:
        raise FileFormatError("TESCAN metadata: no 'PixelSizeX=' entry")
    value = _positive(float(match.group(1)) * 1e9, "TESCAN PixelSizeX")
    return Calibration(round(value, 9), "tescan", f"TESCAN PixelSizeX={value:.6g} nm")


_JEOL_MARKER = re.compile(r"([0-9.]+)\s*([a-zA-Zµμ]+)")


def pixel_size_from_jeol(text: str) -> Calibration:
    """Pixel size from a JEOL SEM ``.txt`` sidecar.

    Uses ``$$SM_MICRON_BAR`` (length of the scale bar in px) and ``$$SM_MICRON_MARKER`` (its label,
    e.g. ``100nm``); pixel size = marker length / bar length.

    Examples
    --------
    >>> pixel_size_from_jeol("$$SM_MICRON_BAR 42\\n$$SM_MICRON_MARKER 100nm\\n").pixel_size_nm
    2.380952380952381
    """
    keys: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[0].startswith("$"):
            keys[parts[0].lstrip("$")] = parts[1].strip()
    if "SM_MICRON_BAR" in keys and "SM_MICRON_MARKER" in keys:
        match = _JEOL_MARKER.match(keys["SM_MICRON_MARKER"])
        if match is None:
            raise FileFormatError(
                f"JEOL sidecar: marker {keys['SM_MICRON_MARKER']!r} not understood"
            )
        length_nm = _to_nm(float(match.group(1)), match.group(2))
        bar_px = _positive(float(keys["SM_MICRON_BAR"]), "JEOL $$SM_MICRON_BAR")
        value = length_nm / bar_px
        return Calibration(
            value, "jeol", f"JEOL sidecar: {keys['SM_MICRON_MARKER']} bar = {bar_px:g} px"
        )
    raise FileFormatError("JEOL sidecar: no $$SM_MICRON_BAR / $$SM_MICRON_MARKER entries")


# --------------------------------------------------------------------------------------------
# data bar


@dataclass(frozen=True, slots=True)
class DataBar:
    """A burnt-in data bar found at the bottom of an image.

    Attributes
    ----------
    row : int or None
        First row of the bar (the image above it is ``image[:row]``); ``None`` when none was found.
    height_px : int
        Number of rows removed (0 when no bar).
    method : str
        ``"detected"``, ``"given"`` or ``"none"``.
    """

    row: int | None
    height_px: int
    method: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _row_mode_fraction(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the fraction of pixels within ±2 grey levels of the row's mode, and that mode."""
    q = np.clip(np.rint(gray), 0, 255).astype(np.intp)
    idx = (np.arange(q.shape[0])[:, None] * 256 + q).ravel()
    counts = np.bincount(idx, minlength=q.shape[0] * 256).reshape(q.shape[0], 256)
    csum = np.concatenate(
        [
            np.zeros((q.shape[0], 3), dtype=np.int64),
            np.cumsum(counts, axis=1),
            np.repeat(np.cumsum(counts, axis=1)[:, -1:], 2, axis=1),
        ],
        axis=1,
    )
    smooth = csum[:, 5:] - csum[:, :-5]  # window of 5 grey levels centred on each level
    mode = smooth.argmax(axis=1)
    return smooth.max(axis=1) / q.shape[1], mode


def _to_8bit(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image, dtype=float)
    if img.dtype.kind == "f" and np.nanmax(img) <= 255 and np.nanmin(img) >= 0:
        return img
    lo, hi = np.nanmin(img), np.nanmax(img)
    return (img - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(img)


def detect_data_bar(
    image: np.ndarray,
    *,
    min_fraction: float = 0.5,
    max_height_fraction: float = 0.25,
    min_height_px: int = 8,
) -> DataBar:
    """Find the burnt-in data bar at the bottom of an SEM image.

    A data bar is a block of bottom rows drawn on a flat, saturated background (black for JEOL,
    white for TESCAN and Zeiss) with text: in each of its rows more than ``min_fraction`` of the
    pixels sit within two grey levels of a mode that is ≤ 20 or ≥ 235. The block must be shorter than
    ``max_height_fraction`` of the image (an image that is mostly flat background is not a bar).

    Parameters
    ----------
    image : (M, N) ndarray
        Grey image (any dtype; values outside 0–255 are rescaled to that range for the test).
    min_fraction : float
        Fraction of a row's pixels at the row's mode for the row to count as bar.
    max_height_fraction : float
        Largest bar height as a fraction of the image height.
    min_height_px : int
        Smallest bar height.

    Returns
    -------
    DataBar
        ``row`` is the first bar row, or ``None`` (``method="none"``).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.random.default_rng(0).uniform(60, 200, (100, 80))
    >>> img[90:] = 0; img[93:96, 10:30] = 255   # black bar with "text"
    >>> detect_data_bar(img).row
    90
    """
    gray = _to_8bit(np.asarray(image))
    if gray.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {gray.shape}")
    frac, mode = _row_mode_fraction(gray)
    barlike = (frac > min_fraction) & ((mode <= 20) | (mode >= 235))
    n = gray.shape[0]
    # allow a few non-bar border rows at the very bottom
    end = n
    while end > n - 4 and end > 0 and not barlike[end - 1]:
        end -= 1
    if end == 0 or not barlike[end - 1]:
        return DataBar(None, 0, "none")
    start = end
    gap = 0
    while start > 0:
        if barlike[start - 1]:
            start -= 1
            gap = 0
        elif gap < 2 and start > 1 and barlike[start - 2]:
            start -= 1
            gap += 1
        else:
            break
    height = n - start
    if height < min_height_px or height > max_height_fraction * n or start == 0:
        return DataBar(None, 0, "none")
    return DataBar(int(start), int(height), "detected")


def crop_data_bar(
    image: np.ndarray, *, row: int | None = None, detect: bool = True
) -> tuple[np.ndarray, DataBar]:
    """Remove the data bar: rows from ``row`` down (given), or from the detected bar.

    Parameters
    ----------
    image : (M, N) ndarray
    row : int, optional
        First row of the bar, when known. Negative values count from the bottom.
    detect : bool
        Look for a bar when ``row`` is not given.

    Returns
    -------
    cropped : ndarray
        A view ``image[:row]`` (the input is not changed).
    bar : DataBar

    Examples
    --------
    >>> import numpy as np
    >>> crop_data_bar(np.zeros((10, 4)), row=8)[0].shape
    (8, 4)
    """
    arr = np.asarray(image)
    n = arr.shape[0]
    if row is not None:
        r = row + n if row < 0 else row
        if not 0 < r <= n:
            raise ValueError(f"data bar row {row} is outside the image height {n}")
        return arr[:r], DataBar(int(r), int(n - r), "given")
    if not detect:
        return arr, DataBar(None, 0, "none")
    bar = detect_data_bar(arr if arr.ndim == 2 else arr.mean(axis=-1))
    if bar.row is None:
        return arr, bar
    return arr[: bar.row], bar
