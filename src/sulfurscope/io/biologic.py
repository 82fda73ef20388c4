"""BioLogic EC-Lab files: binary .mpr through galvani, text .mpt through our own reader.

.mpr
    Parsed with ``galvani.BioLogic.MPRfile`` (package ``datalab-org-galvani``), which names the
    columns as EC-Lab's text export does; :data:`~sulfurscope.io._biologic_columns.BIOLOGIC_COLUMNS`
    maps them into the ``"Quantity [unit]"`` grammar. Column ids galvani does not know are resolved
    through yadg's column table (``yadg.extractors.eclab.mpr_columns``, id modulo 256 as yadg does)
    when the byte width agrees; ids unknown to both raise :class:`FileFormatError` (no guessing).
    Technique settings (technique, active mass, electrode area, the parameter table with the rest
    times ``tR``) come from yadg's settings-module parser applied to the bytes galvani already read
    (``settings=True``, the default; ~0.3 ms). Where yadg cannot parse them (e.g. the Modulo Bat
    file ``biologic_mb_geis_pulse_ocvrelax_biol.mpr``: "element '2' for parameter 'Apply I/C' not
    understood") the metadata says so in ``settings_error`` and keeps what galvani gives. Most GCPL
    files store no current: it is rebuilt from the charge increments, I = dQ/dt
    (:func:`~sulfurscope.io._canonical.current_from_charge`). ``Rest`` is the mode flag (3 = rest):
    rests inside one GCPL step share ``Ns`` with the current pulse, so only the flag marks them.

.mpt
    See :mod:`sulfurscope.io._mpt` (galvani's ``MPTfile`` fails on header-less exports).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope.errors import FileFormatError
from sulfurscope.io._biologic_columns import biologic_table
from sulfurscope.io._canonical import CyclerData, finalize_cycler_columns
from sulfurscope.io._guard import reader
from sulfurscope.io._mpt import read_biologic_mpt, write_mpt
from sulfurscope.units import CHARGE, CURRENT

__all__ = ["MPR_MAGIC", "read_biologic_mpr", "read_biologic_mpt", "write_mpt"]

MPR_MAGIC = b"BIO-LOGIC MODULAR FILE"

_YADG_UNITS = {"mA·h": "mA.h", "W·h": "W.h", "Ω": "Ohm", "µF": "µF", None: None}


def _yadg_column(col_id: int) -> tuple[str, str] | None:
    """(EC-Lab-style name, dtype) for a column id from yadg's table, or None."""
    try:
        from yadg.extractors.eclab.mpr_columns import data_columns
    except ImportError:  # pragma: no cover - yadg is a dependency
        return None
    entry = data_columns.get(int(col_id) % 256)
    if entry is None:
        return None
    dtype, name, unit = entry
    unit = _YADG_UNITS.get(unit, unit)
    return (f"{name}/{unit}" if unit else name), dtype


class _ZeroCopyReader:
    """Read-only file-like view of a buffer for galvani: large reads return memoryviews.

    galvani reads each module with ``fh.read(length)`` and slices the result; on ``bytes`` every
    slice copies the whole data module. Handing it memoryviews of one buffer read from disk makes
    those slices free (10x faster on the 2 MB files) and the records writeable (the buffer is a
    ``bytearray``), so the columns need no further copy. Small reads (module headers, which
    galvani concatenates) return ``bytes``.
    """

    _SMALL = 4096

    def __init__(self, buf: bytearray) -> None:
        self._buf = buf
        self._view = memoryview(buf)
        self._pos = 0

    def read(self, n: int = -1) -> bytes | memoryview:
        size = len(self._buf)
        end = size if n is None or n < 0 else min(self._pos + n, size)
        chunk = self._view[self._pos : end]
        self._pos = end
        return chunk if len(chunk) > self._SMALL else bytes(chunk)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._buf)}[whence]
        self._pos = base + offset
        return self._pos


def _open_mpr(buf: bytearray, name: str) -> tuple[Any, dict[str, tuple[str, str]]]:
    from galvani import BioLogic

    try:
        return BioLogic.MPRfile(_ZeroCopyReader(buf), error_on_unknown_column=True), {}
    except NotImplementedError as exc:
        first_error = str(exc)
    except Exception as exc:  # galvani raises ValueError, IOError, AssertionError, ...
        raise FileFormatError(
            f"{name}: not a readable BioLogic .mpr file ({type(exc).__name__}: {exc})"
        ) from exc
    # an id galvani does not know: resolve it through yadg's table, never by guessing alone
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unknown column ID", category=UserWarning)
        try:
            mpr = BioLogic.MPRfile(_ZeroCopyReader(buf), error_on_unknown_column=False)
        except Exception as exc:
            raise FileFormatError(
                f"{name}: {first_error} and its width cannot be determined — update galvani or "
                "export .mpt"
            ) from exc
    renames: dict[str, tuple[str, str]] = {}
    for field in mpr.dtype.names:
        if not field.startswith("unknown_colID_"):
            continue
        col_id = int(field.rsplit("_", 1)[1])
        known = _yadg_column(col_id)
        if known is None or np.dtype(known[1]).itemsize != mpr.dtype[field].itemsize:
            raise FileFormatError(
                f"{name}: column id {col_id} unknown to galvani and yadg — update galvani or "
                "export .mpt"
            )
        renames[field] = known
    return mpr, renames


def _float_or_none(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def _seconds(value: Any) -> float | None:
    """yadg gives durations in seconds (float); EC-Lab text gives 'h:m:s'."""
    x = _float_or_none(value)
    if x is not None:
        return x
    from sulfurscope.io._mpt import _hms_to_s

    return _hms_to_s(str(value))


def _mpr_settings(mpr: Any) -> dict[str, Any]:
    """Technique settings from the 'VMP Set' module bytes through yadg's parser."""
    meta: dict[str, Any] = {}
    mods = [m for m in mpr.modules if m["shortname"].strip() == b"VMP Set"]
    if not mods:
        meta["settings_error"] = "no settings module"
        return meta
    mod = mods[0]
    minver = "11.50" if "max length" in mod else "10.40"
    try:
        from yadg.extractors.eclab.mpr import process_settings

        technique, settings, params = process_settings(bytes(mod["data"]), minver)
    except Exception as exc:  # yadg fails on some techniques (see module docstring)
        meta["settings_error"] = f"yadg: {type(exc).__name__}: {exc}"
        return meta
    meta["technique"] = technique
    mass = settings.get("active_material_mass")
    if mass is not None:
        meta["active_mass_mg"] = float(mass)
    if settings.get("electrode_area") is not None:
        meta["electrode_area_cm2"] = float(settings["electrode_area"])
    if settings.get("battery_capacity"):
        meta["battery_capacity_mah"] = float(settings["battery_capacity"])
    for key in ("comments", "electrode_material", "electrolyte", "reference_electrode"):
        if settings.get(key):
            lines = [ln.strip() for ln in str(settings[key]).splitlines() if ln.strip()]
            meta[key] = " / ".join(lines)  # as the .mpt header shows them
    meta["settings"] = params
    rests = params.get("tR (h:m:s)") if isinstance(params, dict) else None
    if rests:
        secs = [_seconds(v) for v in rests]
        if all(s is not None for s in secs):
            meta["rest_time_s"] = secs
    for key, out in (("EM (V)", "voltage_limit_v"), ("EL (V)", "voltage_limit_low_v")):
        if isinstance(params, dict) and key in params:
            meta[out] = [_float_or_none(v) for v in params[key]]
    if isinstance(params, dict) and "dq" in params:
        meta["dq_limit"] = list(zip(params["dq"], params.get("unit dq", []), strict=False))
    return meta


@reader(
    "BioLogic .mpr",
    modules=lambda path, kwargs: ("galvani.BioLogic",) + (
        ("yadg.extractors.eclab.mpr", "yadg.extractors.eclab.mpr_columns")
        if kwargs.get("settings", True) else ()
    ),
)
def read_biologic_mpr(path: str | os.PathLike[str], *, settings: bool = True) -> CyclerData:
    """Read a BioLogic EC-Lab binary file (.mpr) into the canonical table.

    Parameters
    ----------
    path : str or path-like
        The .mpr file (opened read-only).
    settings : bool, default True
        Parse the technique settings (yadg) into the metadata. ``False`` skips them.

    Returns
    -------
    CyclerData
        ``format="biologic-mpr"``; metadata has ``technique``, ``active_mass_mg``,
        ``electrode_area_cm2``, ``settings`` (parameter table), ``rest_time_s``, ``start_date``,
        ``n_points`` and ``settings_error`` when yadg could not parse the settings.

    Raises
    ------
    FileFormatError
        Naming the file: wrong magic (not an .mpr), truncated or corrupt modules, a column id
        unknown to galvani and yadg, no time or voltage column.
    """
    p = Path(path)
    name = p.name
    with open(p, "rb") as fh:
        buf = bytearray(os.fstat(fh.fileno()).st_size)
        n_read = fh.readinto(buf)
    if n_read != len(buf):
        raise FileFormatError(f"{name}: read {n_read} of {len(buf)} bytes")
    magic = bytes(buf[: len(MPR_MAGIC)])
    if magic != MPR_MAGIC:
        raise FileFormatError(
            f"{name}: not a BioLogic .mpr file (first bytes {magic!r}, expected "
            f"{MPR_MAGIC.decode()!r})"
        )
    mpr, renames = _open_mpr(buf, name)
    # the records live in our writeable buffer; the columns are views into it
    data = mpr.data
    columns: dict[str, Any] = {}
    for flag in mpr.flags_dict:
        columns[flag] = mpr.get_flag(flag)
    for field in data.dtype.names or ():
        if field == "flags":
            continue
        if field in renames:
            new_name, dtype = renames[field]
            columns[new_name] = data[field].view(dtype)
        else:
            columns[field] = data[field]
    cols = biologic_table(columns)
    rest_record = CURRENT not in cols and CHARGE not in cols
    frame = finalize_cycler_columns(cols, source=p, zero_current=True)
    meta: dict[str, Any] = {
        "n_points": int(len(data)),
        "start_date": str(mpr.startdate),
        "columns_in_file": list(columns),
    }
    if rest_record:
        meta["current"] = "none in the file (an OCV/rest record): I = 0"
    if renames:
        meta["columns_from_yadg"] = {k: v[0] for k, v in renames.items()}
    if settings:
        meta.update(_mpr_settings(mpr))
    return CyclerData(frame=frame, metadata=meta, path=str(p), format="biologic-mpr")
