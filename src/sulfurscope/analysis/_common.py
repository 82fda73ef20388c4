"""Helpers shared by the analyses (private): provenance, reading inputs, thinning tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._options import Options
from sulfurscope.analysis._result import AnalysisResult, Flag, Provenance, Source, source
from sulfurscope.analysis._version import code_version

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "decimate",
    "finish",
    "grid_array",
    "grid_table",
    "read_cycler_files",
    "read_tga_curve",
    "record_warnings",
]


def finish(
    analysis: str,
    module: str,
    tables: Mapping[str, pd.DataFrame],
    flags: Iterable[Flag],
    options: Options | Mapping[str, Any],
    sources: Iterable[Source] = (),
    *,
    summary: Mapping[str, Any] | None = None,
) -> AnalysisResult:
    """Wrap an analysis's tables and flags with its provenance (``module``: the analysis's module,
    whose source closure is the analysis version)."""
    from sulfurscope import __version__

    opts = options.to_dict() if isinstance(options, Options) else dict(options)
    prov = Provenance(
        analysis=analysis,
        analysis_version=code_version(module),
        sulfurscope_version=__version__,
        options=opts,
        inputs=tuple(sources),
    )
    return AnalysisResult(
        analysis=analysis,
        tables=dict(tables),
        flags=tuple(dict.fromkeys(flags)),
        provenance=prov,
        summary=dict(summary or {}),
    )


def read_cycler_files(
    files: Mapping[str, Path],
) -> tuple[pd.DataFrame, str, tuple[Source, ...]]:
    """A cell's canonical table from ``file`` continued by ``file_2``, ``file_3``, … (joined in order
    by :func:`sulfurscope.io.join_cycler_frames`), its format(s) and the files' sources."""
    from sulfurscope.io import join_cycler_frames, read_cycler

    extra = sorted((k for k in files if k.startswith("file_")), key=lambda k: int(k[5:]))
    roles = ["file", *extra]
    paths = [Path(files[r]) for r in roles]
    data = [read_cycler(p) for p in paths]
    for path, d in zip(paths, data, strict=True):
        _refuse_impedance_only(path, d.frame, d.metadata)
    sources = tuple(source(p, r) for p, r in zip(paths, roles, strict=True))
    if len(data) == 1:
        return data[0].frame, data[0].format, sources
    frame = join_cycler_frames([d.frame for d in data], sources=[p.name for p in paths])
    return frame, "+".join(dict.fromkeys(d.format for d in data)), sources


#: BioLogic techniques that record impedance spectra only (no galvanostatic or potentiostatic
#: charge transfer to analyse as cycles).
IMPEDANCE_TECHNIQUES = frozenset({"PEIS", "GEIS", "SPEIS", "SGEIS"})


def _refuse_impedance_only(path: Path, frame: pd.DataFrame, metadata: Mapping[str, Any]) -> None:
    """Refuse a file that holds impedance spectra only: its 'cycles' would be frequency sweeps.

    Raises
    ------
    FileFormatError
        When the file's technique is an impedance technique, or every point carries a frequency.
    """
    from sulfurscope.errors import FileFormatError

    technique = str(metadata.get("technique") or "").upper()
    freq = frame.get("Frequency [Hz]")
    all_impedance = freq is not None and len(frame) > 0 and bool((freq.fillna(0) > 0).all())
    if technique in IMPEDANCE_TECHNIQUES or all_impedance:
        what = f"technique {technique}" if technique else "every point carries a frequency"
        raise FileFormatError(
            f"{path}: holds impedance spectra only ({what}), not galvanostatic cycling; the cycling "
            "and GITT analyses need a charge/discharge record (e.g. BioLogic GCPL, a cycler's CC steps)"
        )


def read_tga_curve(path: Path, role: str = "tga") -> tuple[pd.DataFrame, Source]:
    """A TGA export's curve (``Temperature [°C]``, ``Mass [%]``) and its source."""
    from sulfurscope.io.tga import read_tga

    return read_tga(path).frame, source(path, role)


def decimate(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """Every k-th row (first and last kept) so that at most ``max_rows`` remain."""
    import numpy as np

    n = len(frame)
    if n <= max_rows:
        return frame.reset_index(drop=True)
    idx = np.unique(np.linspace(0, n - 1, max_rows).round().astype(int))
    return frame.iloc[idx].reset_index(drop=True)


def grid_table(array: np.ndarray, max_side: int = 256, **columns: np.ndarray) -> pd.DataFrame:
    """A 2-D array (and same-shape companions, e.g. labels) as a long table ``Row``, ``Column``,
    ``Value`` (+ one column per companion), strided so that no side exceeds ``max_side``."""
    import numpy as np
    import pandas as pd

    step = max(1, int(np.ceil(max(array.shape[:2]) / max_side)))
    a = np.asarray(array)[::step, ::step]
    rows, cols = np.indices(a.shape[:2])
    out = {"Row": rows.ravel(), "Column": cols.ravel(), "Value": a.ravel().astype(float)}
    for name, comp in columns.items():
        out[name] = np.asarray(comp)[::step, ::step].ravel()
    return pd.DataFrame(out)


def grid_array(table: pd.DataFrame, column: str = "Value") -> np.ndarray:
    """Inverse of :func:`grid_table` for one column."""
    import numpy as np

    shape = (int(table["Row"].max()) + 1, int(table["Column"].max()) + 1)
    out = np.zeros(shape, dtype=table[column].dtype)
    out[table["Row"].to_numpy(int), table["Column"].to_numpy(int)] = table[column].to_numpy()
    return out


class record_warnings:  # noqa: N801 - used like warnings.catch_warnings
    """Collect the :class:`~sulfurscope.errors.SulfurscopeWarning` s raised inside the block as flags
    (other warnings pass through unchanged)."""

    def __init__(self, flags: list[Flag], code: str = "warning", subject: str = "") -> None:
        self.flags, self.code, self.subject = flags, code, subject

    def __enter__(self) -> record_warnings:
        import warnings

        self._cm = warnings.catch_warnings(record=True)
        self._caught = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: object) -> None:
        import warnings

        from sulfurscope.errors import SulfurscopeWarning

        self._cm.__exit__(*exc)
        for w in self._caught:
            if issubclass(w.category, SulfurscopeWarning):
                self.flags.append(Flag(self.code, str(w.message), "warning", self.subject))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def depth_flags(table: pd.DataFrame, key: str) -> list[Flag]:
    """Flags of a depth-metrics table (EDS lines, EELS edges) from its ``Flags`` column."""
    words = {
        "background_not_reached": (
            "the profile ends before the signal reaches its background (1/e depth > a third of "
            "the profile): depths rest on an extrapolated background",
            "warning",
        ),
        "not_detected": (
            "no surface excess above 3σ of the deep background: the signal is uniform in depth "
            "(no 1/e or detection depth)",
            "note",
        ),
        "fit_failed": ("the exponential depth fit failed: no depth metrics", "failed"),
        "uncertain": (
            "the depths are poorly determined: a standard error above 5 % (1/e depth) or 10 % "
            "(detection depth), or a 1/e depth shorter than two depth bins; see their intervals",
            "warning",
        ),
        "poor_fit": (
            "the profile is not an exponential over a background (scatter about the fit > 3× "
            "the counting noise): the depths are a rough description",
            "warning",
        ),
    }
    flags = []
    for _, row in table.iterrows():
        for code in filter(None, str(row.get("Flags", "")).split(",")):
            msg, sev = words[code]
            flags.append(Flag(f"depth_{code}", msg, sev, str(row[key])))  # type: ignore[arg-type]
    return flags


#: Fewest pixels per side of an image (or region) that particle sizing or an FFT can use.
MIN_IMAGE_SIDE_PX = 16


def refuse_unusable_image(micrograph: Any, region: tuple[int, int, int, int] | None = None) -> None:
    """Refuse an image (or its ``region``) smaller than :data:`MIN_IMAGE_SIDE_PX` per side, or one
    that is blank (:func:`sulfurscope.microscopy.quality.blank_image_reason`), naming the file.

    Raises
    ------
    SulfurscopeError
        With the file name and why the image cannot be analysed.
    """
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.microscopy.quality import blank_image_reason

    name = micrograph.path.name
    image = micrograph.image
    crop = image if region is None else image[region[0] : region[1], region[2] : region[3]]
    if crop.ndim != 2 or min(crop.shape) < MIN_IMAGE_SIDE_PX:
        what = "the image" if region is None else f"the region {list(region)} of the image"
        raise SulfurscopeError(
            f"{name}: {what} is {' x '.join(map(str, crop.shape))} px; particle sizing and lattice "
            f"analysis need at least {MIN_IMAGE_SIDE_PX} px per side (is this a spectrum or a "
            "spectrum image rather than a micrograph?)"
        )
    reason = blank_image_reason(image)
    if reason:
        raise SulfurscopeError(f"{name}: the image is blank — {reason}")
