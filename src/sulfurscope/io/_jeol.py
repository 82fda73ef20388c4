"""JEOL EDS files decoded with NumPy: the ``.pts`` event stream, ``.map``/``.img`` images and the JEOL
tag tree (a port of rosettasciio's ``_parsejeol``), without numba and at ~50 MB for the real
512 × 512 × 4096 file. Used by :func:`sulfurscope.io.eds.read_eds` (``engine="stream"``)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope.errors import FileFormatError, SulfurscopeError
from sulfurscope.io._eds_types import _JTYPE, EdsData, JeolMap, _float, _get
from sulfurscope.spectra.eds import SpectrumImage, bin_spectrum_image


def _jeol_decode(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("shift_jis", errors="replace")


def _tag_key(buf: bytes, pos: int) -> tuple[str, int]:
    n = struct.unpack_from("<i", buf, pos)[0]
    raw = buf[pos + 4 : pos + 4 + n].rstrip(b"\x00")
    pos += 4 + n
    if raw == b"\xce\xdf\xb0\xc4":
        return "Port", pos
    return _jeol_decode(raw[:-1] if raw and raw[-1] == 222 else raw), pos


def _tag_value(buf: bytes, pos: int, vtype: int, vlen: int) -> Any:
    code = _JTYPE[vtype]
    if code == "c":
        value: Any = _jeol_decode(buf[pos : pos + vlen].rstrip(b"\x00")).split("\x00")
    else:
        size = np.dtype(code).itemsize
        value = np.frombuffer(buf, code, vlen // size, pos).copy()
    return value[0] if len(value) == 1 else value


def _store(cur: dict, stack: list[str], key: str, vtype: int, value: Any) -> str:
    """Put a tag's value into the tree as rosettasciio does; returns the key it went under."""
    if key[-5:-1] == "PAGE":
        key = f"{key}_{value}"
        cur[key] = {}
        stack[-1] = key
    elif key in ("CountRate", "DeadTime"):
        cur[key] = {"value": value}
    elif key == "Limits":
        pass
    elif vtype == 14:
        cur[key] = {"index": value}
    else:
        cur[key] = value
    return key


def _jeol_tags(buf: bytes, pos: int, name: str) -> dict:
    """Parse a JEOL tag tree starting at ``pos`` (port of rosettasciio's ``_parsejeol``)."""
    root: dict = {}
    stack: list[str] = []
    cur: Any = root
    mark = 1
    try:
        while abs(mark) == 1:
            mark = struct.unpack_from("b", buf, pos)[0]
            pos += 1
            if mark == 1:
                key, pos = _tag_key(buf, pos)
                vtype, vlen = struct.unpack_from("<ii", buf, pos)
                pos += 8
                stack.append(key)
                if vtype == 0:
                    cur[key] = {}
                else:
                    key = _store(cur, stack, key, vtype, _tag_value(buf, pos, vtype, vlen))
                    pos += vlen
                if key != "Limits":
                    cur = cur[key]
            elif stack:
                stack.pop()
                cur = root
                for k in stack:
                    cur = cur[k]
            else:
                mark = 0
    except (struct.error, KeyError, TypeError, ValueError, IndexError) as exc:
        raise FileFormatError(
            f"{name}: JEOL tag tree unreadable at byte {pos} ({type(exc).__name__}: {exc}); "
            "truncated or not a JEOL file"
        ) from None
    return root


def _need(tree: dict, name: str, *keys: str) -> Any:
    v = _get(tree, *keys)
    if v is None:
        raise FileFormatError(f"{name}: header field '{'/'.join(keys)}' missing")
    return v


def _stream_pts(
    path: Path, *, cutoff_kev: float | None, frames: Sequence[int] | None
) -> tuple[SpectrumImage, dict[str, float]]:
    """Decode a JEOL ``.pts`` event stream with vectorised NumPy into the event form.

    The stream is a sequence of uint16 words: ``0x8xxx`` x position, ``0x9xxx`` y position
    (a y smaller than the previous one starts the next frame), ``0xAxxx`` electron-image value,
    ``0xBxxx`` one X-ray count in channel ``xxx``; positions are on a 4096 grid. A frame is
    complete when its last y (and, with an electron image, x) reaches the last scan line;
    like rosettasciio (``only_valid_data=True``) the first incomplete frame and all after it are
    dropped. Memory: a few arrays of the stream's length (~0.7 M words for the real file).
    """
    name = path.name
    buf = path.read_bytes()
    if len(buf) < 40 or struct.unpack_from("<I", buf, 0)[0] != 304:
        raise FileFormatError(f"{name}: not a JEOL .pts file (magic number is not 304)")
    _a, _b, head_pos, _head_len, data_pos, _data_len = struct.unpack_from("<6I", buf, 12)
    if data_pos > len(buf) or head_pos + 12 > len(buf):
        raise FileFormatError(f"{name}: truncated (data offset {data_pos} > file size {len(buf)})")
    g = _pts_geometry(_jeol_tags(buf, head_pos + 12, name), name, cutoff_kev)
    raw = np.frombuffer(buf, "<u2", (len(buf) - data_pos) // 2, data_pos)
    events, counts, n_keep = _pts_events(raw, g, frames, name)
    si = SpectrumImage(
        shape=(g["height"], g["width"], g["n_ch"]),
        counts=None,
        events=events,
        event_counts=counts.astype(np.int64),
        energy_offset_kev=float(g["offset"]),
        energy_scale_kev=g["coef_a"],
        pixel_size_nm=g["scan_um"] / g["width"] * 1e3,
        resolution_mnka_ev=_float(g["sem"].get("MnKaRES"), 130.0),
        beam_energy_kev=_float(_get(g["meas"], "MeasCond", "AccKV")),
        live_time_s=_float(g["meas"].get("Doc", {}).get("LiveTime")),
        source=name,
    )
    return si, {"coef_a_kev": g["coef_a"], "coef_b_kev": g["coef_b"], "sweeps": float(n_keep)}


def _pts_geometry(header: dict, name: str, cutoff_kev: float | None) -> dict[str, Any]:
    """Image size, energy calibration, scan size and sweeps from the .pts header tree."""
    meas = _need(header, name, "PTTD Data", "AnalyzableMap MeasData")
    pixels = str(_need(meas, name, "Meas Cond", "Pixels"))
    try:
        width, height = (int(v) for v in pixels.split("x"))
    except ValueError:
        raise FileFormatError(
            f"{name}: header field 'Meas Cond/Pixels' is {pixels!r}, expected 'WxH'"
        ) from None
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise FileFormatError(f"{name}: header field 'Meas Cond/Pixels' is {pixels!r}; "
                              "expected 1–4096 × 1–4096")
    coef_a = float(_need(meas, name, "Doc", "CoefA"))
    coef_b = float(_need(meas, name, "Doc", "CoefB"))
    tpl = _need(meas, name, "Meas Cond", "Tpl")
    dig_z = float(
        _need(header, name, "PTTD Param", "Params", "PARAMPAGE1_EDXRF", "Tpl", tpl, "DigZ")
    )
    sem = _need(header, name, "PTTD Param", "Params", "PARAMPAGE0_SEM")
    mag = float(_need(meas, name, "MeasCond", "Mag"))
    offset = coef_b - coef_a * dig_z
    n_ch = 4096
    if cutoff_kev is not None:
        n_ch = max(1, min(int(np.round((cutoff_kev - offset) / coef_a)), 4096))
    return {"meas": meas, "sem": sem, "width": width, "height": height, "coef_a": coef_a,
            "coef_b": coef_b, "offset": offset, "n_ch": n_ch, "w_norm": 4096 // width,
            "h_norm": 4096 // height, "scan_um": float(sem["ScanSize"]) / mag * 1e3,
            "sweep": int(_need(meas, name, "Doc", "Sweep"))}


def _pts_frames(raw: np.ndarray, kinds: dict[str, np.ndarray], g: dict[str, Any],
                frames: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Frame of each y position, which frames are kept (complete, chosen), how many complete."""
    iy, ix, ia, yv, xv = kinds["y"], kinds["x"], kinds["a"], kinds["yv"], kinds["xv"]
    frame_of_y = np.concatenate([[0], np.cumsum(yv[1:] < yv[:-1])])
    n_frames = int(frame_of_y[-1]) + 1
    # per frame: last y, last x before the frame's end, electron image present?
    last_y_idx = np.searchsorted(frame_of_y, np.arange(n_frames), side="right") - 1
    frame_end = np.append(iy[np.searchsorted(frame_of_y, np.arange(1, n_frames))], len(raw))
    last_x = np.where(
        np.searchsorted(ix, frame_end) > 0,
        xv[np.clip(np.searchsorted(ix, frame_end) - 1, 0, None)] if len(ix) else 0,
        0,
    )
    frame_of_a = frame_of_y[np.clip(np.searchsorted(iy, ia, side="right") - 1, 0, None)]
    has_em = np.bincount(frame_of_a, minlength=n_frames)[:n_frames] > 0
    complete = (yv[last_y_idx] >= 4096 - g["h_norm"]) & ((last_x >= 4096 - g["w_norm"]) | ~has_em)
    n_keep = min(n_frames, g["sweep"] + 1)
    bad = np.flatnonzero(~complete[:n_keep])
    if len(bad):
        n_keep = int(bad[0])
    keep = np.zeros(n_frames, bool)
    keep[:n_keep] = True
    if frames is not None:
        chosen = np.zeros(n_frames, bool)
        chosen[[f for f in frames if 0 <= f < n_frames]] = True
        keep &= chosen
    return frame_of_y, keep, n_keep


def _pts_events(raw: np.ndarray, g: dict[str, Any], frames: Sequence[int] | None,
                name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct (row, column, channel) events and their counts, and the frames kept."""
    kind = raw >> 12
    val = (raw & 0x0FFF).astype(np.int64)
    iy = np.flatnonzero(kind == 0x9)
    ix = np.flatnonzero(kind == 0x8)
    ib = np.flatnonzero(kind == 0xB)
    if len(iy) == 0:
        raise FileFormatError(f"{name}: no scan positions in the event stream (empty or truncated)")
    kinds = {"y": iy, "x": ix, "a": np.flatnonzero(kind == 0xA), "yv": val[iy], "xv": val[ix]}
    frame_of_y, keep, n_keep = _pts_frames(raw, kinds, g, frames)
    # X-ray events: position = last x and last y before them (within the frame)
    yi = np.searchsorted(iy, ib, side="right") - 1
    xi = np.searchsorted(ix, ib, side="right") - 1
    ok = (yi >= 0) & (xi >= 0)
    yi, xi, ch = yi[ok], xi[ok], val[ib[ok]]
    ok = keep[frame_of_y[yi]] & (ch < g["n_ch"])
    y = kinds["yv"][yi[ok]] // g["h_norm"]
    x = kinds["xv"][xi[ok]] // g["w_norm"]
    n_ch, width = g["n_ch"], g["width"]
    uniq, counts = np.unique((y * width + x) * n_ch + ch[ok], return_counts=True)
    events = np.stack([uniq // n_ch // width, (uniq // n_ch) % width, uniq % n_ch], axis=1)
    return events, counts, n_keep


def _stream_map_or_img(path: Path) -> tuple[str, np.ndarray, dict, float]:
    """Title, 2-D data, header tree and pixel size (nm) of a JEOL ``.map``/``.img``."""
    buf = path.read_bytes()
    if len(buf) < 48 or struct.unpack_from("<I", buf, 0)[0] != 52:
        raise FileFormatError(f"{path.name}: not a JEOL image/map file (magic number is not 52)")
    _head_pos, _head_len, data_pos = struct.unpack_from("<3I", buf, 36)
    tree = _jeol_tags(buf, data_pos + 12, path.name)
    w, h = (int(v) for v in _need(tree, path.name, "Image", "Size"))
    bits = np.asarray(_need(tree, path.name, "Image", "Bits"))
    if bits.size != w * h:
        raise FileFormatError(f"{path.name}: image has {bits.size} values for {w}×{h} pixels")
    inst = tree.get("Instrument", {})
    px = _float(inst.get("ScanSize")) / _float(inst.get("Mag")) * 1e6 / w
    title = str(_get(tree, "Image", "Title", default=path.stem))
    return title, bits.reshape(h, w), tree, px


def _read_jeol_stream(
    path: Path, *, downsample: int, cutoff_kev: float | None, frames: Sequence[int] | None
) -> EdsData:
    suffix = path.suffix.lower()
    if suffix == ".asw":
        buf = path.read_bytes()
        if len(buf) < 16 or struct.unpack_from("<I", buf, 0)[0] != 0:
            raise FileFormatError(f"{path.name}: not a JEOL .ASW project (magic number is not 0)")
        tree = _jeol_tags(buf, 12, path.name)
        files = []
        for sample in (tree.get("SampleInfo") or {}).values():
            for view in (sample.get("ViewInfo") or {}).values():
                for item in (view.get("ViewData") or {}).values():
                    fname = item.get("Filename") if isinstance(item, dict) else None
                    if fname:
                        files.append(path.parent.joinpath(*str(fname).split("\\")))
        if not files:
            raise FileFormatError(
                f"{path.name}: project lists no view data (SampleInfo/ViewInfo/ViewData)"
            )
    else:
        files = [path]
    si: SpectrumImage | None = None
    calib: dict[str, float] = {}
    maps: list[JeolMap] = []
    images: list[tuple[str, np.ndarray]] = []
    for f in files:
        if not f.exists():
            raise FileFormatError(
                f"{path.name}: a file of the JEOL project is missing ({f}); keep the "
                "Sample/00_View000/ folder layout next to the .ASW"
            )
        ext = f.suffix.lower()
        if ext == ".pts" and si is None:
            si, calib = _stream_pts(f, cutoff_kev=cutoff_kev, frames=frames)
            if downsample > 1:
                ny, nx = si.shape[:2]
                if ny % downsample or nx % downsample:
                    raise SulfurscopeError(
                        f"{f.name}: downsample {downsample} must divide the image size {ny}×{nx}"
                    )
                si = bin_spectrum_image(si, downsample)
        elif ext in (".map", ".img"):
            title, data, tree, px = _stream_map_or_img(f)
            m = tree.get("Map")
            if ext == ".map" and isinstance(m, dict) and "StartRoi" in m:
                maps.append(
                    JeolMap(
                        title,
                        data.astype(np.int64),
                        (int(m["StartRoi"]), int(m["EndRoi"])),
                        int(m.get("SweepCount", 0)),
                        px,
                        f,
                    )
                )
            else:
                images.append((title, data))
    return EdsData(si, tuple(maps), tuple(images), path, "jeol", calib)
