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

from sulfurscope.io._canonical import CyclerData, current_from_charge, finalize_cycler_frame
from sulfurscope.io._read import CYCLER_FORMATS, detect_cycler_format, read_cycler
from sulfurscope.io.arbin import read_arbin_res
from sulfurscope.io.biologic import read_biologic_mpr, read_biologic_mpt, write_mpt
from sulfurscope.io.maccor import read_maccor
from sulfurscope.io.neware import read_neware

__all__ = [
    "CYCLER_FORMATS",
    "CyclerData",
    "current_from_charge",
    "detect_cycler_format",
    "finalize_cycler_frame",
    "read_arbin_res",
    "read_biologic_mpr",
    "read_biologic_mpt",
    "read_cycler",
    "read_maccor",
    "read_neware",
    "write_mpt",
]
