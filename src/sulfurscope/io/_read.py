"""``read_cycler``: pick the reader from the file's first bytes (then its extension) and run it.

Detection, in order: BioLogic .mpr magic ``BIO-LOGIC MODULAR FILE``; EC-Lab text magic ``EC-Lab
ASCII FILE``; MS Access / Jet database (``Standard Jet DB`` / ``Standard ACE DB`` at byte 4, Arbin
.res); ZIP (Neware .ndax); Neware .nda magic ``NEWARE``; a tab-separated first line with Maccor's
column names (``Rec#``, ``Cyc#``, ``Step``, ``Test (Sec)``...). When the content is not recognised,
the extension decides (.mpr, .mpt, .res, .nda, .ndax, .txt/.0NN Maccor) and the chosen reader raises
:class:`FileFormatError` if the content does not fit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sulfurscope.errors import FileFormatError
from sulfurscope.io._canonical import CyclerData
from sulfurscope.io._guard import reader

__all__ = ["CYCLER_FORMATS", "detect_cycler_format", "read_cycler"]

CyclerFormat = Literal["biologic-mpr", "biologic-mpt", "arbin-res", "neware", "maccor"]
CYCLER_FORMATS: tuple[str, ...] = ("biologic-mpr", "biologic-mpt", "arbin-res", "neware", "maccor")

_EXTENSIONS = {
    ".mpr": "biologic-mpr",
    ".mpt": "biologic-mpt",
    ".res": "arbin-res",
    ".nda": "neware",
    ".ndax": "neware",
}
_MACCOR_EXT = re.compile(r"^\.(\d{3}|txt)$", re.IGNORECASE)
_MACCOR_HEADER = (b"Rec#", b"Cyc#", b"Test (Sec)", b"TestTime", b"Amp-hr", b"Amps", b"Volts")


def detect_cycler_format(path: str | os.PathLike[str]) -> str:
    """Name of the reader for ``path`` (one of :data:`CYCLER_FORMATS`).

    Raises
    ------
    FileFormatError
        When the file is empty or neither its content nor its extension is a known cycler format.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if not head:
        raise FileFormatError(f"{p.name}: empty file (0 bytes)")
    if head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return "biologic-mpr"
    if head.lstrip(b"\xef\xbb\xbf").startswith((b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE")):
        return "biologic-mpt"
    if head[4:19] in (b"Standard Jet DB", b"Standard ACE DB"):
        return "arbin-res"
    if head.startswith(b"PK\x03\x04") and p.suffix.lower() in (".ndax", ""):
        return "neware"
    if head.startswith(b"NEWARE"):
        return "neware"
    first_line = head.split(b"\n", 1)[0]
    if b"\t" in first_line and (b"time/s" in first_line or b"Ewe/V" in first_line):
        return "biologic-mpt"  # an EC-Lab export without its header
    if b"\t" in first_line or b"," in first_line:
        hits = sum(tok in head[:2048] for tok in _MACCOR_HEADER)
        if hits >= 3:
            return "maccor"
    ext = p.suffix.lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if _MACCOR_EXT.match(ext):
        return "maccor"
    raise FileFormatError(
        f"{p.name}: unknown cycler file (first bytes {head[:24]!r}); expected BioLogic .mpr/.mpt, "
        "Arbin .res, Neware .nda/.ndax or a Maccor text export — pass format= to force a reader"
    )


def _readers() -> dict[str, Callable[[Path], CyclerData]]:
    from sulfurscope.io.arbin import read_arbin_res
    from sulfurscope.io.biologic import read_biologic_mpr, read_biologic_mpt
    from sulfurscope.io.maccor import read_maccor
    from sulfurscope.io.neware import read_neware

    return {
        "biologic-mpr": read_biologic_mpr,
        "biologic-mpt": read_biologic_mpt,
        "arbin-res": read_arbin_res,
        "neware": read_neware,
        "maccor": read_maccor,
    }


_CYCLER_MODULES = (
    "galvani.BioLogic", "yadg.extractors.eclab.mpr", "yadg.extractors.eclab.mpr_columns", "fastnda",
)


_MPR_SETTINGS_MODULES = ("yadg.extractors.eclab.mpr", "yadg.extractors.eclab.mpr_columns")


def _cycler_modules(path: Path, kwargs: dict[str, Any]) -> tuple[str, ...]:
    """The libraries one read needs: yadg (~0.6 s to import) only for .mpr technique settings."""
    suffix = path.suffix.lower()
    if suffix == ".mpr":
        return ("galvani.BioLogic",) + (_MPR_SETTINGS_MODULES if kwargs.get("settings", True) else ())
    if suffix in (".nda", ".ndax"):
        return ("fastnda",)
    return ()


@reader("cycler", modules=_cycler_modules)
def read_cycler(
    path: str | os.PathLike[str],
    *,
    format: CyclerFormat | None = None,  # noqa: A002 - the documented keyword
    settings: bool = True,
) -> CyclerData:
    """Read any supported cycler file into the canonical table.

    Parameters
    ----------
    path : str or path-like
        BioLogic .mpr / .mpt, Arbin .res, Neware .nda / .ndax or Maccor text export. Opened
        read-only.
    format : {"biologic-mpr", "biologic-mpt", "arbin-res", "neware", "maccor"}, optional
        Force a reader instead of detecting it from the file's first bytes and extension.
    settings : bool, default True
        BioLogic .mpr only: parse the technique settings into the metadata (see
        :func:`~sulfurscope.io.read_biologic_mpr`).

    Returns
    -------
    CyclerData
        ``frame`` with ``Time [s]``, ``Voltage [V]``, ``Current [mA]``, ``Charge [mAh]``,
        ``Step``, ``Rest`` first, then every other column of the file in the
        ``"Quantity [unit]"`` grammar; ``metadata`` with snake_case keys.

    Raises
    ------
    FileFormatError
        Unknown, empty, truncated or corrupt file, unknown column, missing time or voltage; the
        message names the file.
    FileNotFoundError
        When ``path`` does not exist.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from sulfurscope.io import read_cycler, write_mpt
    >>> table = pd.DataFrame({"Time [s]": [0.0, 10.0, 20.0], "Voltage [V]": [2.1, 2.2, 2.3],
    ...                       "Current [mA]": [0.5, 0.5, 0.5]})
    >>> out = write_mpt(table, pathlib.Path(tempfile.mkdtemp()) / "cell.mpt")
    >>> data = read_cycler(out)
    >>> data.format, round(float(data.frame["Charge [mAh]"].iloc[-1]), 6)
    ('biologic-mpt', 0.002778)
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    fmt = format or detect_cycler_format(p)
    readers = _readers()
    if fmt not in readers:
        raise FileFormatError(
            f"{p.name}: format={fmt!r} is not available; choose one of {sorted(readers)}"
        )
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: empty file (0 bytes)")
    if fmt == "biologic-mpr":
        from sulfurscope.io.biologic import read_biologic_mpr

        return read_biologic_mpr(p, settings=settings)
    return readers[fmt](p)
