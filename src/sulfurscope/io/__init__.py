"""Readers: one module per vendor format, each returning the canonical cycler table + metadata.

=====================  =======================  ================================================
reader                 format                   library
=====================  =======================  ================================================
read_biologic_mpr      BioLogic .mpr            galvani (datalab-org-galvani), settings via yadg
read_biologic_mpt      BioLogic .mpt            our own (galvani fails on header-less exports)
read_arbin_res         Arbin .res (MS Access)   Debian mdbtools ``mdb-export``
read_neware            Neware .nda / .ndax      fastnda
read_maccor            Maccor text export       our own (pandas)
=====================  =======================  ================================================

:func:`read_cycler` picks one from the file; :func:`write_mpt` writes EC-Lab .mpt text.
"""

from typing import Any

from sulfurscope.io._canonical import (
    CyclerData,
    current_from_charge,
    finalize_cycler_frame,
    join_cycler_frames,
)
from sulfurscope.io._guard import preload as _preload
from sulfurscope.io._read import CYCLER_FORMATS, detect_cycler_format, read_cycler

#: Public names of the vendor modules, imported on first use (PEP 562): ``import sulfurscope.io``
#: loads only the canonical table and the cycler dispatch, not every instrument's reader.
_LAZY: dict[str, str] = {
    **dict.fromkeys(["read_arbin_res"], "arbin"),
    **dict.fromkeys(["read_biologic_mpr", "read_biologic_mpt", "write_mpt"], "biologic"),
    **dict.fromkeys(["EDS_FORMATS", "EdsData", "JeolMap", "jeol_map_window_kev", "read_eds",
                     "write_spectrum_image"], "eds"),
    **dict.fromkeys(["EELS_FORMATS", "EELSData", "read_eels", "read_reference_spectrum",
                     "write_eels"], "eels"),
    **dict.fromkeys(["read_maccor"], "maccor"),
    **dict.fromkeys(["read_neware"], "neware"),
    **dict.fromkeys(["RAMAN_FORMATS", "RamanData", "read_raman", "read_raman_text",
                     "read_renishaw_wdf", "write_raman_text"], "raman"),
    **dict.fromkeys(["XPSData", "read_phi", "read_vamas", "read_xps", "read_xps_text",
                     "select_region", "write_vamas"], "xps"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sulfurscope.io' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"sulfurscope.io.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "preload_readers",
    "reader_modules",
    "current_from_charge",
    "CYCLER_FORMATS",
    "CyclerData",
    "detect_cycler_format",
    "EDS_FORMATS",
    "EdsData",
    "EELS_FORMATS",
    "EELSData",
    "finalize_cycler_frame",
    "join_cycler_frames",
    "jeol_map_window_kev",
    "JeolMap",
    "RAMAN_FORMATS",
    "RamanData",
    "read_arbin_res",
    "read_biologic_mpr",
    "read_biologic_mpt",
    "read_cycler",
    "read_eds",
    "read_eels",
    "read_maccor",
    "read_neware",
    "read_phi",
    "read_raman",
    "read_raman_text",
    "read_reference_spectrum",
    "read_renishaw_wdf",
    "read_vamas",
    "read_xps",
    "read_xps_text",
    "select_region",
    "write_eels",
    "write_mpt",
    "write_raman_text",
    "write_spectrum_image",
    "write_vamas",
    "XPSData",
]


def reader_modules(kind: str) -> tuple[str, ...]:
    """The libraries the readers of ``kind`` (``cycler``, ``image``, ``eds``, ``eels``, ``raman``)
    import."""
    from sulfurscope.io._read import _CYCLER_MODULES
    from sulfurscope.io.eds import _EDS_MODULES
    from sulfurscope.io.eels import _EELS_MODULES
    from sulfurscope.io.images import _IMAGE_MODULES

    return {
        "cycler": _CYCLER_MODULES,
        "image": _IMAGE_MODULES + ("roifile",),
        "eds": _EDS_MODULES,
        "eels": _EELS_MODULES,
        "raman": ("rsciio.renishaw",),
    }.get(kind, ())


def preload_readers(kinds: tuple[str, ...] | list[str]) -> None:
    """Import the reading libraries of ``kinds`` in this process, so isolated reads (child processes)
    inherit them instead of importing them on every read."""
    for kind in kinds:
        _preload(reader_modules(kind))
