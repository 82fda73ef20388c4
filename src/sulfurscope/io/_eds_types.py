"""What the EDS readers return (:class:`EdsData`, :class:`JeolMap`) and the small helpers they share (private to :mod:`sulfurscope.io`; :mod:`sulfurscope.io.eds` re-exports the public names)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope.spectra.eds import SpectrumImage


@dataclass(frozen=True, slots=True)
class JeolMap:
    """One JEOL Analysis Station element map (``.map``).

    Attributes
    ----------
    title : str
        E.g. ``"S K"``.
    counts : (ny, nx) ndarray of int
        Gross counts in the ROI (uint8 in the file).
    roi_channels : (int, int)
        ``StartRoi``, ``EndRoi`` (inclusive), channels of ~10 eV from 0 keV.
    sweeps : int
        Frames summed (``SweepCount``).
    pixel_size_nm : float, nm
    path : Path
    """

    title: str
    counts: np.ndarray
    roi_channels: tuple[int, int]
    sweeps: int
    pixel_size_nm: float
    path: Path

    def to_dict(self) -> dict[str, Any]:
        """Metadata as a JSON-ready dict."""
        return {
            "title": self.title,
            "roi_channels": list(self.roi_channels),
            "sweeps": self.sweeps,
            "pixel_size_nm": self.pixel_size_nm,
            "file": self.path.name,
            "total_counts": int(self.counts.sum()),
        }


@dataclass(frozen=True, slots=True)
class EdsData:
    """What an EDS file or project holds.

    Attributes
    ----------
    spectrum_image : SpectrumImage or None
        The (first) spectrum image, or a single spectrum as 1 × 1 px.
    maps : tuple of JeolMap
        Element maps (JEOL projects).
    images : tuple of (str, ndarray)
        Titled electron images (JEOL ``.img``).
    path : Path
    format : str
        ``"jeol"``, ``"msa"``, ``"bruker"``, ``"emd"``, ``"dm"``, ``"hspy"`` or ``"ripple"``.
    calibration : dict
        JEOL ``CoefA``/``CoefB`` (keV per ROI channel, keV) as ``coef_a_kev``/``coef_b_kev`` when
        known — needed to place ``.map`` ROIs on the energy axis.
    content : str
        What was read when it is not the obvious (e.g. "single EDS spectra (no spectrum image in
        the file): their sum").
    """

    spectrum_image: SpectrumImage | None
    maps: tuple[JeolMap, ...]
    images: tuple[tuple[str, np.ndarray], ...]
    path: Path
    format: str
    calibration: dict[str, float]
    content: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Metadata as a JSON-ready dict."""
        return {
            "file": str(self.path),
            "format": self.format,
            "spectrum_image": None
            if self.spectrum_image is None
            else self.spectrum_image.to_dict(),
            "maps": [m.to_dict() for m in self.maps],
            "images": [t for t, _ in self.images],
            "calibration": dict(self.calibration),
            "content": self.content,
        }


def _get(d: Any, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _float(v: Any, default: float = float("nan")) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


# value types of the JEOL tag tree (as rosettasciio's jeol reader, GPL-3.0-or-later, defines them)
_JTYPE = {
    1: "B",
    2: "H",
    3: "i",
    4: "f",
    5: "d",
    6: "B",
    7: "H",
    8: "i",
    9: "f",
    10: "d",
    11: "?",
    12: "c",
    13: "c",
    14: "H",
    20: "c",
    65553: "?",
    65552: "?",
}
