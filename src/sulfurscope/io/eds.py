"""Read EDS spectrum images and spectra through rosettasciio; write spectrum images for the demo.

=====================================  ==========================================================
file                                   what comes back
=====================================  ==========================================================
JEOL ``.ASW`` (Analysis Station)       the project's spectrum image (``.pts``), element maps
                                       (``.map``) and images (``.img``) of every view
JEOL ``.pts``                          the spectrum image, in event form (never a dense cube)
JEOL ``.map`` / ``.img``               one element map (with its ROI and sweep count) / image
EMSA ``.msa`` / ``.ems``               one spectrum, as a 1 × 1 spectrum image
Bruker ``.bcf``, ``.emd`` (Velox),     the EDS spectrum image (dense; ``downsample`` and
HyperSpy ``.hspy``, ripple ``.rpl``    ``cutoff_kev`` where rosettasciio offers them)
=====================================  ==========================================================

A JEOL ``.pts`` of 512 × 512 px × 4096 channels would be 1 GB as a dense uint8 cube (2 GB as
uint16). It is never densified: by default (``engine="stream"``) the event stream is decoded with
vectorised NumPy straight into the event form (``SpectrumImage.events``: occupied cells and their
counts, ~0.3 M for the real file), with the JEOL tag tree parsed by a port of rosettasciio's
parser; ``engine="rosettasciio"`` reads it with rosettasciio's ``lazy=True`` (sparse COO, needs
numba + sparse) and takes the COO coordinates. Both give identical counts (tested). Peak memory of
the full-file path (read, two net maps, profile) is in ``benchmarks/bench_eds.py``.

JEOL ``.map`` files hold gross counts summed over a channel ROI ``[StartRoi, EndRoi]`` (inclusive,
channels of ``CoefA`` keV from ``CoefB``, i.e. *without* the ``.pts`` zero offset) over
``SweepCount`` frames; :func:`jeol_map_window_kev` turns the ROI into an energy window
``[lo, hi)`` for :func:`sulfurscope.spectra.eds.window_map`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sulfurscope.errors import FileFormatError, SulfurscopeError
from sulfurscope.io._eds_types import EdsData, JeolMap, _float, _get
from sulfurscope.io._guard import reader
from sulfurscope.io._jeol import _read_jeol_stream
from sulfurscope.spectra.eds import SpectrumImage, bin_spectrum_image

__all__ = [
    "EDS_FORMATS",
    "EdsData",
    "JeolMap",
    "jeol_map_window_kev",
    "read_eds",
    "write_spectrum_image",
]

EDS_FORMATS = {
    ".asw": "jeol",
    ".pts": "jeol",
    ".map": "jeol",
    ".img": "jeol",
    ".msa": "msa",
    ".ems": "msa",
    ".bcf": "bruker",
    ".emd": "emd",
    ".dm3": "dm",
    ".dm4": "dm",
    ".hspy": "hspy",
    ".rpl": "ripple",
}

_LENGTH_NM = {"nm": 1.0, "µm": 1e3, "um": 1e3, "μm": 1e3, "mm": 1e6, "m": 1e9, "Å": 0.1, "pm": 1e-3}


def jeol_map_window_kev(
    roi_channels: tuple[int, int], *, coef_a_kev: float, coef_b_kev: float
) -> tuple[float, float]:
    """Energy window ``[lo, hi)`` of a JEOL map ROI (inclusive channels ``start … end``).

    ``lo = start·A + B``, ``hi = (end + 1)·A + B`` with JEOL's ``CoefA`` (keV/channel) and
    ``CoefB`` (keV).

    Examples
    --------
    >>> [round(v, 4) for v in jeol_map_window_kev((218, 243), coef_a_kev=0.01, coef_b_kev=0.0)]
    [2.18, 2.44]
    """
    start, end = roi_channels
    return start * coef_a_kev + coef_b_kev, (end + 1) * coef_a_kev + coef_b_kev


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _instrument(md: dict) -> dict:
    acq = md.get("Acquisition_instrument", {}) or {}
    for mode in ("TEM", "SEM"):
        if mode in acq:
            return acq[mode]
    return {}


def _energy_axis(path: Path, axes: list[dict]) -> tuple[int, float, float]:
    """Index, offset (keV), scale (keV) of the energy axis."""
    for k, ax in enumerate(axes):
        if not ax.get("navigate", True) or str(ax.get("name", "")).lower().startswith("energy"):
            units = str(ax.get("units", "keV"))
            factor = {"keV": 1.0, "eV": 1e-3, "kev": 1.0, "ev": 1e-3}.get(units)
            if factor is None:
                raise FileFormatError(
                    f"{path.name}: energy axis {ax.get('name')!r} has units {units!r}; "
                    "expected keV or eV"
                )
            return k, _float(ax.get("offset", 0.0), 0.0) * factor, _float(ax["scale"]) * factor
    raise FileFormatError(
        f"{path.name}: no energy (signal) axis among {[a.get('name') for a in axes]}"
    )


def _pixel_nm(axes: list[dict], skip: int) -> float:
    for k, ax in enumerate(axes):
        if k == skip:
            continue
        f = _LENGTH_NM.get(str(ax.get("units", "")))
        if f is not None:
            return _float(ax.get("scale")) * f
    return float("nan")


def _si_from_dict(path: Path, d: dict, *, resolution_default: float) -> SpectrumImage:
    axes = list(d["axes"])
    e_index, offset, scale = _energy_axis(path, axes)
    md = d.get("metadata", {}) or {}
    inst = _instrument(md)
    eds = _get(inst, "Detector", "EDS", default={}) or {}
    data = d["data"]
    if hasattr(data, "compute"):
        data = data.compute()
    data = np.asarray(data)
    data = np.moveaxis(data, e_index, -1)
    if data.ndim == 1:
        data = data[None, None, :]
    elif data.ndim == 2:
        data = data[None, :, :]
    elif data.ndim != 3:
        raise FileFormatError(
            f"{path.name}: EDS data has {data.ndim} dimensions; expected a spectrum (1), a line "
            "scan (2) or a spectrum image (3)"
        )
    return SpectrumImage(
        shape=tuple(int(s) for s in data.shape),  # type: ignore[arg-type]
        counts=data,
        events=None,
        event_counts=None,
        energy_offset_kev=offset,
        energy_scale_kev=scale,
        pixel_size_nm=_pixel_nm(axes, e_index),
        resolution_mnka_ev=_float(eds.get("energy_resolution_MnKa"), resolution_default),
        beam_energy_kev=_float(inst.get("beam_energy")),
        live_time_s=_float(eds.get("live_time")),
        source=path.name,
    )


def _coo_from_dask(path: Path, arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates and counts of rosettasciio's lazy ``.pts`` array, without densifying it."""
    try:
        import sparse
    except ImportError:  # pragma: no cover - dependency
        raise SulfurscopeError(
            f"{path.name}: reading a .pts lazily needs the 'sparse' package "
            "(pip install 'rosettasciio[eds-stream,speed]')"
        ) from None
    graph = arr.__dask_graph__()
    found = []
    for v in graph.values():
        v = getattr(v, "value", v)  # dask DataNode wraps the array
        if isinstance(v, sparse.COO):
            found.append(v)
    if len(found) == 1 and tuple(found[0].shape) == tuple(arr.shape):
        coo = found[0]
        return np.asarray(coo.coords, dtype=np.int64).T, np.asarray(coo.data, dtype=np.int64)
    # fallback: compute one block at a time and keep its non-zero cells
    events, counts = [], []
    for idx in np.ndindex(*arr.numblocks):
        block = np.asarray(arr.blocks[idx].compute())
        nz = np.nonzero(block)
        starts = [sum(arr.chunks[d][: idx[d]]) for d in range(3)]
        events.append(np.stack([nz[d] + starts[d] for d in range(3)], axis=1))
        counts.append(block[nz].astype(np.int64))
    return np.concatenate(events), np.concatenate(counts)


def _pts_to_si(path: Path, d: dict) -> tuple[SpectrumImage, dict[str, float]]:
    axes = list(d["axes"])
    e_index, offset, scale = _energy_axis(path, axes)
    events, counts = _coo_from_dask(path, d["data"])
    shape = tuple(int(s) for s in d["data"].shape)
    md = d.get("metadata", {}) or {}
    inst = _instrument(md)
    eds = _get(inst, "Detector", "EDS", default={}) or {}
    om = d.get("original_metadata", {}) or {}
    doc = _get(om, "PTTD Data", "AnalyzableMap MeasData", "Doc", default={}) or {}
    if "CoefA" not in doc:
        raise FileFormatError(
            f"{path.name}: header field 'PTTD Data/AnalyzableMap MeasData/Doc/CoefA' missing"
        )
    calib = {
        "coef_a_kev": float(doc["CoefA"]),
        "coef_b_kev": float(doc.get("CoefB", 0.0)),
        "sweeps": float(doc.get("Sweep", np.nan)),
    }
    si = SpectrumImage(
        shape=shape,  # type: ignore[arg-type]
        counts=None,
        events=events,
        event_counts=counts,
        energy_offset_kev=offset,
        energy_scale_kev=scale,
        pixel_size_nm=_pixel_nm(axes, e_index),
        resolution_mnka_ev=_float(eds.get("energy_resolution_MnKa"), 130.0),
        beam_energy_kev=_float(inst.get("beam_energy")),
        live_time_s=_float(doc.get("LiveTime")),
        source=path.name,
    )
    return si, calib


def _jeol_map(path: Path, d: dict) -> JeolMap:
    om = d.get("original_metadata", {}) or {}
    m = om.get("Map")
    if not isinstance(m, dict) or "StartRoi" not in m:
        raise FileFormatError(f"{path.name}: JEOL map header lacks 'Map/StartRoi'")
    axes = list(d["axes"])
    return JeolMap(
        title=str(_get(d, "metadata", "General", "title", default=m.get("Title", ""))),
        counts=np.asarray(d["data"]).astype(np.int64),
        roi_channels=(int(m["StartRoi"]), int(m["EndRoi"])),
        sweeps=int(m.get("SweepCount", 0)),
        pixel_size_nm=_pixel_nm(axes, -1),
        path=path,
    )


def _read_jeol(
    path: Path, *, downsample: int, cutoff_kev: float | None, frames: Sequence[int] | None
) -> EdsData:
    from rsciio.jeol import file_reader

    # rosettasciio 0.15 rejects every frame when lazy=True is combined with downsample > 1
    # (TypeError in _readcube): read at full resolution in event form and bin the events here.
    kwargs: dict[str, Any] = {"lazy": True}
    if cutoff_kev is not None:
        kwargs["cutoff_at_kV"] = cutoff_kev
    if frames is not None:
        kwargs["frame_list"] = list(frames)
    logger = logging.getLogger("rsciio")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            parts = file_reader(str(path), **kwargs)
    except ImportError as exc:
        raise SulfurscopeError(
            f"{path.name}: engine='rosettasciio' needs {exc.name or 'numba'} for .pts files "
            "(pip install 'rosettasciio[speed,eds-stream]'), or use engine='stream'"
        ) from None
    except ValueError as exc:
        raise FileFormatError(f"{path.name}: rosettasciio could not read it ({exc})") from None
    except FileNotFoundError as exc:
        raise FileFormatError(
            f"{path.name}: a file of the JEOL project is missing ({exc.filename}); keep the "
            "Sample/00_View000/ folder layout next to the .ASW"
        ) from None
    except (IndexError, KeyError, EOFError) as exc:
        raise FileFormatError(
            f"{path.name}: truncated or not a JEOL file ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        logger.setLevel(old)
    if not parts:
        raise FileFormatError(f"{path.name}: not a valid JEOL file (wrong magic number)")
    si: SpectrumImage | None = None
    calib: dict[str, float] = {}
    maps: list[JeolMap] = []
    images: list[tuple[str, np.ndarray]] = []
    for d in parts:
        fname = str(_get(d, "metadata", "General", "original_filename", default=path.name))
        sub = path if fname == path.name else path.parent / fname
        ndim = len(d["axes"])
        om = d.get("original_metadata", {}) or {}
        if ndim == 3 and si is None:
            si, calib = _pts_to_si(sub, d)
            if downsample > 1:
                ny, nx = si.shape[:2]
                if ny % downsample or nx % downsample:
                    raise SulfurscopeError(
                        f"{sub.name}: downsample {downsample} must divide the image size {ny}×{nx}"
                    )
                si = bin_spectrum_image(si, downsample)
        elif "Map" in om and ndim == 2:
            maps.append(_jeol_map(sub, d))
        elif ndim == 2:
            images.append(
                (str(_get(d, "metadata", "General", "title", default=fname)), np.asarray(d["data"]))
            )
    return EdsData(si, tuple(maps), tuple(images), path, "jeol", calib)


# --------------------------------------------------------------------------------------------
# JEOL streaming reader (NumPy only): the tag tree and the .pts event stream
# --------------------------------------------------------------------------------------------


_EDS_MODULES = (
    "rsciio.jeol", "rsciio.msa", "rsciio.bruker", "rsciio.emd", "rsciio.hspy", "rsciio.ripple",
    "rsciio.digitalmicrograph",
)


@reader("EDS", modules=_EDS_MODULES)
def read_eds(
    path: str | Path,
    *,
    downsample: int = 1,
    cutoff_kev: float | None = None,
    frames: Sequence[int] | None = None,
    resolution_mnka_ev: float = 130.0,
    engine: Literal["auto", "stream", "rosettasciio"] = "auto",
) -> EdsData:
    """Read an EDS project, spectrum image or spectrum.

    Parameters
    ----------
    path : str or Path
        ``.ASW``, ``.pts``, ``.map``, ``.img``, ``.msa``/``.ems``, ``.bcf``, ``.emd`` (a spectrum
        image, or single spectra: their sum), ``.dm3``/``.dm4`` (a Gatan EDS spectrum),
        ``.hspy``, ``.rpl``.
    downsample : int
        Sum ``downsample × downsample`` pixels at read time (JEOL ``.pts`` and Bruker ``.bcf``;
        a power of two dividing the image size).
    cutoff_kev : float, optional
        Drop channels above this energy at read time (``.pts``, ``.bcf``).
    frames : sequence of int, optional
        JEOL ``.pts``: sum only these frames (sweeps), e.g. ``range(14)``.
    resolution_mnka_ev : float, eV
        Detector resolution used when the file does not store one.
    engine : {"auto", "stream", "rosettasciio"}
        JEOL files only. ``"stream"`` (and ``"auto"``): our NumPy decoder of the ``.pts`` event
        stream and JEOL tag tree (no numba, ~50 MB for the real 512 × 512 × 4096 file);
        ``"rosettasciio"``: rosettasciio's reader with ``lazy=True`` (needs numba and sparse;
        the two give identical counts, see the tests). Other formats always use rosettasciio.

    Returns
    -------
    EdsData

    Raises
    ------
    FileFormatError
        Unknown extension, unreadable file, or no EDS signal in it.
    """
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p}: file not found")
    fmt = EDS_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise FileFormatError(
            f"{p.name}: extension {p.suffix!r} is not an EDS format; expected one of "
            f"{sorted(EDS_FORMATS)}"
        )
    if downsample < 1:
        raise SulfurscopeError(f"downsample must be ≥ 1, got {downsample}")
    if engine not in ("auto", "stream", "rosettasciio"):
        raise SulfurscopeError(f"engine must be 'auto', 'stream' or 'rosettasciio', got {engine!r}")
    if fmt == "jeol":
        if engine == "rosettasciio":
            return _read_jeol(p, downsample=downsample, cutoff_kev=cutoff_kev, frames=frames)
        return _read_jeol_stream(p, downsample=downsample, cutoff_kev=cutoff_kev, frames=frames)
    parts, note = _rsciio_signals(p, fmt, downsample, cutoff_kev)
    eds = [d for d in parts if _is_eds(d)]
    if not eds:
        kinds = sorted({str(_get(d, "metadata", "Signal", "signal_type", default="") or "image")
                        for d in parts}) or ["nothing"]
        raise FileFormatError(
            f"{p.name}: no EDS spectrum or spectrum image in the file (it holds: "
            f"{', '.join(kinds)})"
        )
    si = _summed(p, eds, resolution_mnka_ev)
    if downsample > 1 and fmt != "bruker" and si.shape[0] * si.shape[1] > 1:
        si = bin_spectrum_image(si, downsample)
    if cutoff_kev is not None and fmt != "bruker" and si.counts is not None:
        si = _cut(si, cutoff_kev)
    return EdsData(si, (), (), p, fmt, {}, content=note)


def _rsciio_signals(
    p: Path, fmt: str, downsample: int, cutoff_kev: float | None
) -> tuple[list[dict], str]:
    """The file's signals through rosettasciio, and a note on what was read. A Velox .emd without
    a spectrum-image stream (a pruned export) is read for its single spectra instead."""
    import importlib

    module = {"msa": "msa", "bruker": "bruker", "emd": "emd", "hspy": "hspy", "ripple": "ripple",
              "dm": "digitalmicrograph"}[fmt]
    file_reader = importlib.import_module(f"rsciio.{module}").file_reader
    kwargs: dict[str, Any] = {}
    if fmt == "bruker":
        kwargs = {"downsample": downsample, "select_type": "spectrum_image"}
        if cutoff_kev is not None:
            kwargs["cutoff_at_kV"] = cutoff_kev
    elif fmt == "emd":
        kwargs = {"select_type": "spectrum_image", "sum_frames": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parts = list(file_reader(str(p), **kwargs))
        if fmt == "emd" and not any(_is_eds(d) for d in parts):
            parts = list(file_reader(str(p), select_type="single_spectrum"))
            return parts, "single EDS spectra (no spectrum image in the file): their sum"
    return parts, ""


def _is_eds(d: dict) -> bool:
    kind = str(_get(d, "metadata", "Signal", "signal_type", default="") or "")
    if kind.startswith("EDS"):
        return True
    return any(str(a.get("name", "")).lower().startswith("energy") and
               str(a.get("units", "")).lower() in ("kev", "ev") for a in d.get("axes", []))


def _summed(p: Path, eds: list[dict], resolution: float) -> SpectrumImage:
    """The spectrum image of the first EDS signal; several single spectra of the same energy axis
    (one per detector, as Velox stores them) are summed."""
    first = _si_from_dict(p, eds[0], resolution_default=resolution)
    if first.shape[:2] != (1, 1) or len(eds) == 1:
        return first
    total = np.asarray(first.counts, dtype=np.float64).copy()
    for d in eds[1:]:
        other = _si_from_dict(p, d, resolution_default=resolution)
        same = (other.shape == first.shape
                and np.isclose(other.energy_offset_kev, first.energy_offset_kev)
                and np.isclose(other.energy_scale_kev, first.energy_scale_kev))
        if same:
            total += np.asarray(other.counts, dtype=np.float64)
    return replace(first, counts=total)


def _cut(si: SpectrumImage, cutoff_kev: float) -> SpectrumImage:
    n = int(np.floor((cutoff_kev - si.energy_offset_kev) / si.energy_scale_kev + 0.5))
    n = max(1, min(n, si.shape[2]))
    return replace(si, shape=(si.shape[0], si.shape[1], n), counts=si.counts[:, :, :n])


def _dense(si: SpectrumImage) -> np.ndarray:
    """The counts as a dense (y, x, channel) array of the smallest unsigned type that holds them."""
    if si.counts is not None:
        data = np.asarray(si.counts)
    else:
        assert si.events is not None and si.event_counts is not None
        data = np.zeros(si.shape, dtype=np.uint32)
        np.add.at(data, (si.events[:, 0], si.events[:, 1], si.events[:, 2]), si.event_counts)
    if np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.uint32 if data.max(initial=0) >= 2**16 else np.uint16)
    return data


def _signal_dict(si: SpectrumImage, data: np.ndarray, title: str) -> dict[str, Any]:
    """rosettasciio's signal dictionary: axes, EDS metadata, the data."""
    ny, nx, nch = si.shape
    scale_um = si.pixel_size_nm / 1e3 if np.isfinite(si.pixel_size_nm) else 1.0
    units = "µm" if np.isfinite(si.pixel_size_nm) else ""
    axes = [
        {"name": "y", "size": ny, "offset": 0.0, "scale": scale_um, "units": units,
         "navigate": True},
        {"name": "x", "size": nx, "offset": 0.0, "scale": scale_um, "units": units,
         "navigate": True},
        {"name": "Energy", "size": nch, "offset": si.energy_offset_kev,
         "scale": si.energy_scale_kev, "units": "keV", "navigate": False},
    ]
    eds = {"energy_resolution_MnKa": float(si.resolution_mnka_ev),
           "live_time": float(si.live_time_s)}
    metadata = {
        "General": {"title": title or si.source},
        "Signal": {"signal_type": "EDS_TEM", "quantity": "X-rays (Counts)"},
        "Acquisition_instrument": {
            "TEM": {"beam_energy": float(si.beam_energy_kev), "Detector": {"EDS": eds}}
        },
    }
    return {"data": data, "axes": axes, "metadata": metadata, "original_metadata": {},
            "tmp_parameters": {}, "attributes": {"_lazy": False}, "learning_results": {},
            "models": {}, "package_info": {"name": "sulfurscope", "version": ""}}


def write_spectrum_image(si: SpectrumImage, path: str | Path, *, title: str = "") -> Path:
    """Write a spectrum image as HyperSpy ``.hspy`` or ripple ``.rpl``/``.raw`` (rosettasciio).

    The file reads back with :func:`read_eds` (and ``hyperspy.load``) with its energy axis, pixel
    size, beam energy, live time and detector resolution. Dense only; an event-form image is
    densified (fine for simulated images, not for a 512 × 512 × 4096 acquisition). Written to a
    temporary name in the same folder and renamed when complete.
    """
    from sulfurscope._files import atomic_path

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".hspy", ".rpl"):
        raise SulfurscopeError(
            f"{p.name}: write_spectrum_image writes .hspy or .rpl, not {p.suffix!r}"
        )
    signal = _signal_dict(si, _dense(si), title)
    if suffix == ".hspy":
        from rsciio.hspy import file_writer

        with atomic_path(p) as tmp:
            file_writer(str(tmp), signal, show_progressbar=False)
    else:
        from rsciio.ripple import file_writer

        raw = p.with_suffix(".raw")
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp_rpl = p.with_name(f".{p.stem}.tmp.rpl")
        file_writer(str(tmp_rpl), signal)
        tmp_raw = tmp_rpl.with_suffix(".raw")  # the reader finds the .raw by the .rpl's stem
        tmp_raw.replace(raw)
        tmp_rpl.replace(p)
    return p
