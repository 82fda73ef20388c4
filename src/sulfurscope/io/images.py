"""Read SEM/TEM/STEM micrographs with their pixel size.

One function, :func:`read_image`, for TIFF (tifffile; Zeiss, FEI/Thermo, TESCAN tags), HyperSpy
``.hspy``/``.hdf5`` (rosettasciio, needs h5py), JPEG/PNG/WebP/BMP (Pillow), and the sidecars
that carry a calibration next to an image: Hitachi / JEOL ``.txt`` and a MATLAB ``*_px-nm.mat`` with
``px_nm`` (pixels per nm). Hand-drawn Fiji ROI sets are read by :func:`read_rois`.

The image comes back as a 2-D float array (RGB is converted to grey by the mean of the three
channels); the data bar is *not* removed here (see
:func:`sulfurscope.microscopy.calibration.crop_data_bar`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sulfurscope.errors import FileFormatError, SulfurscopeWarning
from sulfurscope.io._guard import reader
from sulfurscope.microscopy.calibration import (
    Calibration,
    _to_nm,
    pixel_size_from_fei,
    pixel_size_from_hitachi,
    pixel_size_from_jeol,
    pixel_size_from_tescan,
    pixel_size_from_zeiss,
    uncalibrated,
)

__all__ = ["Micrograph", "read_image", "read_rois"]

_RASTER = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
_TIFF = {".tif", ".tiff"}


@dataclass(frozen=True, slots=True)
class Micrograph:
    """A grey micrograph and its calibration.

    Attributes
    ----------
    image : (M, N) ndarray of float
        Grey values as stored (RGB averaged to grey).
    calibration : Calibration
        Pixel size in nm (or ``None``) and where it came from.
    path : Path
    format : str
        ``"tiff"``, ``"hspy"`` or ``"raster"``.
    metadata : dict
        Vendor metadata that was found (flat, JSON-friendly where possible).
    """

    image: np.ndarray
    calibration: Calibration
    path: Path
    format: str
    metadata: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Summary without the pixels (JSON-ready)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "shape": list(self.image.shape),
            "calibration": self.calibration.to_dict(),
        }


def _gray(data: np.ndarray) -> np.ndarray:
    arr = np.asarray(data)
    if arr.dtype.names:  # rosettasciio RGB structured dtype
        arr = np.stack([arr[name] for name in arr.dtype.names[:3]], axis=-1)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = arr[..., :3].astype(float).mean(axis=-1)
    elif arr.ndim == 3 and arr.shape[0] in (3, 4):
        arr = arr[:3].astype(float).mean(axis=0)
    if arr.ndim != 2:
        raise FileFormatError(f"expected a 2-D image (or RGB), got an array of shape {arr.shape}")
    return arr.astype(float)


def _sidecar_calibration(path: Path) -> tuple[Calibration | None, dict[str, object]]:
    """Calibration from a Hitachi/JEOL .txt or a *_px-nm.mat next to the image."""
    meta: dict[str, object] = {}
    txt = path.with_suffix(".txt")
    if txt.exists():
        text = txt.read_text(errors="replace")
        meta["sidecar"] = str(txt)
        if "[SemImageFile]" in text or "PixelSize=" in text:
            return pixel_size_from_hitachi(text), meta
        if "$$SM_MICRON_BAR" in text or "$CM_" in text:
            return pixel_size_from_jeol(text), meta
    mats = [path.with_name(path.stem + "_px-nm.mat"), path.with_suffix(".mat")]
    for mat in mats:
        if mat.exists():
            from scipy.io import loadmat

            content = loadmat(mat)
            meta["sidecar"] = str(mat)
            if "px_nm" not in content:
                raise FileFormatError(
                    f"{mat.name}: no 'px_nm' variable (pixels per nm) in the .mat"
                )
            px_per_nm = float(np.ravel(content["px_nm"])[0])
            if not px_per_nm > 0:
                raise FileFormatError(f"{mat.name}: px_nm = {px_per_nm} is not positive")
            return (
                Calibration(1.0 / px_per_nm, "sidecar-mat", f"{mat.name}: px_nm = {px_per_nm:.6g}"),
                meta,
            )
    return None, meta


def _read_tiff(path: Path) -> tuple[np.ndarray, Calibration | None, dict[str, object]]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        if not isinstance(page, tifffile.TiffPage):  # pragma: no cover - first page is a page
            raise FileFormatError(f"{path.name}: first TIFF page is not a full page")
        data = page.asarray()
        tags = page.tags
        meta: dict[str, object] = {}
        width = int(page.shape[1]) if len(page.shape) >= 2 else 0
        colormap = page.colormap
        if page.photometric == tifffile.PHOTOMETRIC.PALETTE and colormap is not None:
            # palette images store indices: map them through the (grey) colour table
            cmap = np.asarray(colormap, dtype=float) / 257.0
            data = (
                cmap[:, data].transpose(1, 2, 0)
                if not np.allclose(cmap[0], cmap[1])
                else (cmap[0][data])
            )
        if 34118 in tags:  # Zeiss SmartSEM
            cz = tags[34118].value
            meta["zeiss"] = {k: v for k, v in cz.items() if k}
            return data, pixel_size_from_zeiss(cz, width_px=width), meta
        if 34682 in tags:  # FEI / Thermo Fisher
            value = tags[34682].value
            if isinstance(value, dict):  # tifffile parses the INI into {section: {key: value}}
                text = "\n".join(
                    f"[{sec}]\n" + "\n".join(f"{k}={v}" for k, v in items.items())
                    for sec, items in value.items()
                    if isinstance(items, dict)
                )
            else:
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            meta["fei"] = text
            return data, pixel_size_from_fei(text), meta
        if 50431 in tags:  # TESCAN
            raw = tags[50431].value
            text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
            meta["tescan"] = text
            return data, pixel_size_from_tescan(text), meta
        desc = page.description or ""
        if "PixelSizeX=" in desc:
            return data, pixel_size_from_tescan(desc), {"description": desc}
        if desc:
            meta["description"] = desc
        return data, None, meta


#: rosettasciio reader module of each electron-microscopy format.
_RSCIIO = {
    ".hspy": "hspy", ".hdf5": "hspy", ".h5": "hspy",
    ".emd": "emd",
    ".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph",
    ".emi": "tia", ".ser": "tia",
    ".mrc": "mrc",
    ".img": "jeol", ".map": "jeol",  # JEOL Analysis Station: the SEM/STEM image, element maps
}


_FORMAT_NAMES = {
    "hspy": "HyperSpy HDF5", "emd": "EMD (Velox/Berkeley)", "digitalmicrograph": "Gatan DM",
    "tia": "FEI TIA", "mrc": "MRC", "jeol": "JEOL Analysis Station image",
}


def _read_rsciio(path: Path) -> tuple[np.ndarray, Calibration | None, dict[str, object]]:
    """A 2-D image (the first) from HyperSpy HDF5, Velox/Berkeley EMD, Gatan DM3/DM4, FEI TIA
    .emi/.ser, MRC or JEOL .img/.map through rosettasciio, with the pixel size of its axes."""
    import importlib

    module = _RSCIIO[path.suffix.lower()]
    file_reader = importlib.import_module(f"rsciio.{module}").file_reader
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signals = file_reader(str(path), lazy=False)
    except Exception as exc:  # noqa: BLE001 - rosettasciio raises a zoo of types on bad files
        raise FileFormatError(
            f"{path.name}: not a readable {_FORMAT_NAMES[module]} file "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    images = [s for s in signals if np.ndim(s["data"]) >= 2 and _spatial(s)]
    if not images:
        raise FileFormatError(f"{path.name}: no 2-D image in the file")
    sig = _detector_image(images)
    data = np.asarray(sig["data"])
    while data.ndim > 2:  # a stack: its first frame
        data = data[0]
    cal, meta = _axes_calibration(sig["axes"][-2:], module)
    title = str(((sig.get("metadata") or {}).get("General") or {}).get("title", ""))
    if title:
        meta["signal"] = title
    return data, cal, meta


#: Titles of detector images (not element maps) in EM files that hold both; the acronyms are
#: matched in capitals only (a selenium map is titled "Se", a secondary-electron image "SE").
_DETECTOR = re.compile(
    r"\b(HAADF|ADF|DF\d?|BF|ABF|SE|SEI|BSE|BSD|STEM|TEM|SEM)\b|(?i:\bimage\b|\bimg\d*\b)"
)


def _detector_image(images: list[dict]) -> dict:
    """The detector image (HAADF, BF, SE, …) among a file's 2-D signals, else the first: a Velox
    EDS file lists its element maps (titled "C", "O", …) before its HAADF image."""
    for s in images:
        title = str(((s.get("metadata") or {}).get("General") or {}).get("title", ""))
        if _DETECTOR.search(title):
            return s
    return images[0]


def _spatial(signal: dict) -> bool:
    """An image signal, not an EELS/EDS spectrum (image) (:func:`sulfurscope.io._em.signal_kind`)."""
    from sulfurscope.io._em import signal_kind

    return signal_kind(signal) == "image"


def _axes_calibration(
    axes: list[dict], module: str
) -> tuple[Calibration | None, dict[str, object]]:
    scales = [float(ax.get("scale", 1.0)) for ax in axes]
    units = [str(ax.get("units") or "").replace("_", "") for ax in axes]  # Berkeley EMD 'n_m'
    meta: dict[str, object] = {
        "reader": f"rosettasciio.{module}",
        "axes": [{k: (str(v) if not isinstance(v, float | int) else v) for k, v in ax.items()}
                 for ax in axes],
    }
    unit = units[-1]
    if unit in ("", "<undefined>", "None"):
        if all(s == 1.0 for s in scales):
            return None, meta
        note = (f"axis scale {scales[-1]:.6g} has no unit in the file: not used "
                "(give --pixel-size-nm if it is nm)")
        return uncalibrated(note), meta
    try:
        value = _to_nm(scales[-1], unit)
    except FileFormatError:
        return uncalibrated(f"axis unit {unit!r} is not a length"), meta
    note = f"{module} axes: scale {scales[-1]:.6g} {unit}"
    if not np.isclose(scales[0], scales[-1], rtol=1e-3):
        note += f" (y scale {scales[0]:.6g} differs: non-square pixels, x used)"
    return Calibration(value, f"{module}-axes", note), meta


def _read_raster(path: Path) -> tuple[np.ndarray, Calibration | None, dict[str, object]]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            im: Image.Image = opened
            if im.mode in ("P", "PA"):
                im = im.convert("RGB")
            elif im.mode in ("I;16", "I;16B", "I;16L"):
                im = im.convert("I")
            data = np.asarray(im)
    except (UnidentifiedImageError, OSError) as exc:
        raise FileFormatError(f"{path.name}: not a readable raster image ({exc})") from exc
    return data, None, {}


_IMAGE_MODULES = (
    "tifffile", "imagecodecs", "PIL.Image", "PIL.PngImagePlugin", "rsciio.hspy", "rsciio.emd",
    "rsciio.digitalmicrograph", "rsciio.tia", "rsciio.mrc", "rsciio.jeol",
)


@reader("image", modules=_IMAGE_MODULES)
def read_image(path: str | Path, *, pixel_size_nm: float | None = None) -> Micrograph:
    """Read a micrograph and its pixel size.

    Parameters
    ----------
    path : str or Path
        ``.tif/.tiff`` (Zeiss, FEI/Thermo, TESCAN tags; JPEG/LZW/… compression through
        imagecodecs), ``.hspy/.hdf5`` (HyperSpy), ``.emd`` (Velox, Berkeley), ``.dm3/.dm4``
        (Gatan), ``.emi/.ser`` (FEI TIA), ``.mrc``, ``.img/.map`` (JEOL Analysis Station image and
        element maps), ``.jpg/.png/.webp/.bmp``; a Hitachi/JEOL ``.txt``
        or ``*_px-nm.mat`` sidecar is used when present.
    pixel_size_nm : float, optional
        User calibration; overrides the file's (the file's value is kept in the note).

    Returns
    -------
    Micrograph

    Raises
    ------
    FileFormatError
        Unknown extension, unreadable file, or metadata that contradicts itself.
    FileNotFoundError
        The path does not exist.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext in _TIFF:
        data, cal, meta = _read_tiff(p)
        fmt = "tiff"
    elif ext in _RSCIIO:
        data, cal, meta = _read_rsciio(p)
        fmt = _RSCIIO[ext]
    elif ext in _RASTER:
        data, cal, meta = _read_raster(p)
        fmt = "raster"
    else:
        raise FileFormatError(
            f"{p.name}: extension {ext!r} not supported; expected one of "
            f"{sorted(_TIFF | set(_RSCIIO) | _RASTER)}"
        )
    if cal is None or cal.pixel_size_nm is None:
        side, side_meta = _sidecar_calibration(p)
        meta.update(side_meta)
        if side is not None:
            cal = side
    image = _gray(data)
    if pixel_size_nm is not None:
        if not pixel_size_nm > 0:
            raise ValueError(f"pixel_size_nm must be positive, got {pixel_size_nm}")
        note = f"given by the user ({pixel_size_nm:g} nm)"
        if cal is not None and cal.pixel_size_nm is not None:
            note += f"; file says {cal.pixel_size_nm:.6g} nm ({cal.source})"
            if not np.isclose(cal.pixel_size_nm, pixel_size_nm, rtol=0.05):
                warnings.warn(
                    f"{p.name}: user pixel size {pixel_size_nm:g} nm differs from the file's "
                    f"{cal.pixel_size_nm:.6g} nm ({cal.source}) by more than 5 %",
                    SulfurscopeWarning,
                    stacklevel=2,
                )
        cal = Calibration(float(pixel_size_nm), "user", note)
    elif cal is None:
        cal = uncalibrated()
    return Micrograph(image=image, calibration=cal, path=p, format=fmt, metadata=meta)


@reader("ImageJ ROI", modules=("roifile",))
def read_rois(path: str | Path) -> list[np.ndarray]:
    """Read a Fiji/ImageJ ROI set (``.zip``) or a single ``.roi`` as polygons.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of (K, 2) ndarray of float
        Vertices ``(x, y)`` in pixel coordinates of the image, one array per ROI (ovals and
        rectangles come back as their outline polygons).

    Raises
    ------
    FileFormatError
        When the file is not an ImageJ ROI (set) or contains no area ROI.
    """
    import roifile

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such ROI file")
    try:
        rois = roifile.roiread(p)
    except Exception as exc:
        raise FileFormatError(f"{p.name}: not an ImageJ ROI file or ROI set ({exc})") from exc
    if not isinstance(rois, list):
        rois = [rois]
    polygons = []
    for roi in rois:
        coords = np.asarray(roi.coordinates(), dtype=float)
        if coords.ndim == 2 and coords.shape[0] >= 3:
            polygons.append(coords[:, :2])
    if not polygons:
        raise FileFormatError(f"{p.name}: no area ROI (polygon, oval, rectangle) in the file")
    return polygons
