"""STEM-EDS maps and net-intensity profiles from the particle surface (Figure 3c/d).

:func:`analyse_eds` is the one implementation behind ``sulfurscope eds`` and the pipeline's EDS tasks:
net intensity per X-ray line (window or per-pixel fit method), maps binned for storage, the depth
profile from a drawn polyline or the detected particle edge, and (JEOL projects) our gross window sums
checked against JEOL's own ``.map`` files.

Tables
------
``eds_lines``      one row per line: windows (keV), gross/background/net totals, overlap notes
``eds_profiles``   mean net counts vs distance from the surface (raw bins and moving average)
``eds_maps``       gross and net maps, binned to at most 128 px a side (long table)
``eds_map_check``  JEOL projects: our gross window sums vs each ``.map``
``eds_surface``    the surface polyline (full-resolution pixels) the profiles are measured from
``eds_depth``      per line: the 1/e depth and the detection depth (3σ of background) of the signal
                   above background, each with a 95 % interval (the study's "LiF-rich to ~100 nm,
                   detectable to ~1 µm" as numbers)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._common import depth_flags, finish, record_warnings
from sulfurscope.analysis._options import (
    OptionError,
    Options,
    choice,
    integer,
    number,
    numbers,
    text,
    texts,
)
from sulfurscope.analysis._result import AnalysisResult, Flag, source

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["TABLES", "EdsOptions", "analyse_eds", "map_check_table", "run_files"]

TABLES = ("eds_lines", "eds_profiles", "eds_maps", "eds_map_check", "eds_surface", "eds_depth")
MAX_STORED_MAP_PX = 128
_PROFILE_COLUMNS = [
    "Line",
    "Depth [nm]",
    "Mean counts [counts/px]",
    "Smoothed [counts/px]",
    "Pixels",
    "Moving average window",
    "Edge policy",
]


@dataclass(frozen=True, slots=True)
class EdsOptions(Options):
    """Options of :func:`analyse_eds` (``downsample``/``cutoff_kev`` act when the file is read)."""

    lines: tuple[str, ...] = texts(("S_Ka", "F_Ka"), "X-ray lines, e.g. S_Ka,F_Ka.")
    method: str = choice(
        "windows",
        ("windows", "fit"),
        "Net intensity: windows (linear background from side windows) or fit (per-pixel linear "
        "fit of the lines of the elements present).",
    )
    elements: tuple[str, ...] | None = texts(
        None, "Elements present, for the fit method, e.g. C,O,F,S,Cu."
    )
    surface_px: tuple[float, ...] | None = numbers(
        None, "Surface polyline x0,y0,x1,y1[,...] (default: the detected particle edge).", unit="px"
    )
    inside: str = choice(
        "auto", ("auto", "left", "right"), "Particle side of the surface polyline."
    )
    band_width_px: float | None = number(
        None, "Lateral band width along the polyline.", unit="px", positive=True
    )
    edge_line: str | None = text(
        None, "Line whose gross map gives the particle edge (default: the first line)."
    )
    moving_average_points: int = integer(
        5, "Moving-average window of the depth profile.", minimum=1, maximum=10_000
    )
    edge_policy: str = choice(
        "shrink", ("shrink", "nan", "valid"), "How the moving average treats the profile ends."
    )
    max_depth_nm: float | None = number(
        None, "Deepest profile point.", unit="nm", positive=True
    )
    downsample: int = integer(
        1, "Sum n×n pixels when reading (power of two).", minimum=1, maximum=64
    )
    cutoff_kev: float | None = number(
        None, "Drop channels above this energy when reading.", unit="keV", positive=True
    )


def map_check_table(data: Any) -> pd.DataFrame:
    """Our gross window sums from the spectrum image vs each JEOL ``.map`` of the project."""
    import pandas as pd

    si = data.spectrum_image
    if si is None or not data.maps or "coef_a_kev" not in data.calibration:
        return pd.DataFrame()
    return pd.DataFrame([r for m in data.maps if (r := _map_check_row(data, m)) is not None])


def _map_check_row(data: Any, m: Any) -> dict[str, Any] | None:
    import numpy as np

    from sulfurscope.io.eds import jeol_map_window_kev
    from sulfurscope.spectra.eds import window_map

    lo, hi = jeol_map_window_kev(
        m.roi_channels,
        coef_a_kev=data.calibration["coef_a_kev"],
        coef_b_kev=data.calibration["coef_b_kev"],
    )
    ours = window_map(data.spectrum_image, (lo, hi))
    theirs = m.counts.astype(float)
    if ours.shape != theirs.shape:
        factor = theirs.shape[0] // ours.shape[0]
        if factor < 1 or theirs.shape[0] % ours.shape[0]:
            return None
        ny, nx = ours.shape
        theirs = theirs.reshape(ny, factor, nx, factor).sum(axis=(1, 3))
    a, b = ours.ravel(), theirs.ravel()
    return {
        "Map": m.title,
        "File": m.path.name,
        "ROI start [channel]": m.roi_channels[0],
        "ROI end [channel]": m.roi_channels[1],
        "Window start [keV]": lo,
        "Window end [keV]": hi,
        "Sweeps": m.sweeps,
        "JEOL counts": float(b.sum()),
        "Our counts": float(a.sum()),
        "Ratio ours/JEOL": float(a.sum() / b.sum()) if b.sum() else float("nan"),
        "Pixels equal [%]": float(np.mean(a == b) * 100),
        "Pearson r": float(np.corrcoef(a, b)[0, 1]) if a.std() and b.std() else float("nan"),
    }


def _bin_map(m: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return m
    ny, nx = m.shape[0] // factor, m.shape[1] // factor
    return m[: ny * factor, : nx * factor].reshape(ny, factor, nx, factor).sum(axis=(1, 3))


def _maps_table(lm: Any, si: Any, downsample: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    ny, nx = si.shape[:2]
    factor = max(1, int(np.ceil(max(ny, nx) / MAX_STORED_MAP_PX)))
    rows = []
    for k, line in enumerate(lm.lines):
        for kind, arr in (("gross", lm.gross[k]), ("net", lm.net[k])):
            b = _bin_map(arr, factor)
            yy, xx = np.mgrid[0 : b.shape[0], 0 : b.shape[1]]
            rows.append(
                pd.DataFrame(
                    {
                        "Line": line,
                        "Kind": kind,
                        "Bin [px]": factor * downsample,
                        "Pixel size [nm]": si.pixel_size_nm * factor,
                        "y [px]": yy.ravel(),
                        "x [px]": xx.ravel(),
                        "Counts": b.ravel(),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _polyline(options: EdsOptions) -> np.ndarray | None:
    import numpy as np

    v = options.surface_px
    if v is None:
        return None
    if len(v) < 4 or len(v) % 2:
        raise OptionError(
            "surface_px", f"needs an even number ≥ 4 of pixel coordinates, got {len(v)}"
        )
    return np.asarray(v, dtype=float).reshape(-1, 2) / options.downsample


def _inside(shape: tuple[int, int], poly: np.ndarray, weight: np.ndarray, o: EdsOptions) -> str:
    """The particle side of the polyline: the one with more counts in the edge line's map."""
    from sulfurscope.spectra.eds import polyline_depth

    if o.inside != "auto":
        return o.inside
    left = polyline_depth(shape, poly, inside="left", band_width_px=o.band_width_px)
    band = left.valid & (abs(left.depth_px) <= max(shape) / 4)
    inner, outer = band & (left.depth_px > 0), band & (left.depth_px < 0)
    mean_left = weight[inner].mean() if inner.any() else 0.0
    mean_right = weight[outer].mean() if outer.any() else 0.0
    return "left" if mean_left >= mean_right else "right"


def _depth_map(lm: Any, si: Any, options: EdsOptions) -> tuple[Any, str, str]:
    from sulfurscope.spectra.eds import particle_edge_depth, polyline_depth

    edge_line = options.edge_line or lm.lines[0]
    if edge_line not in lm.lines:
        raise OptionError("edge_line", f"{edge_line!r} must be one of the lines {list(lm.lines)}")
    weight = lm.gross[lm.lines.index(edge_line)]
    poly = _polyline(options)
    if poly is None:
        return particle_edge_depth(weight), "edge", ""
    side = _inside(si.shape[:2], poly, weight, options)
    dm = polyline_depth(si.shape[:2], poly, inside=side, band_width_px=options.band_width_px)  # type: ignore[arg-type]
    return dm, "polyline", side


def _profile_tables(lm: Any, si: Any, options: EdsOptions) -> dict[str, pd.DataFrame]:
    import numpy as np
    import pandas as pd

    from sulfurscope.spectra.eds import depth_profile

    ny, nx = si.shape[:2]
    if ny * nx <= 1:
        return {
            "eds_profiles": pd.DataFrame(columns=_PROFILE_COLUMNS),
            "eds_surface": pd.DataFrame({"x [px]": [], "y [px]": [], "Method": []}),
            "eds_depth": pd.DataFrame(),
        }
    dm, method, side = _depth_map(lm, si, options)
    prof = depth_profile(
        lm.net,
        dm,
        lines=lm.lines,
        pixel_size_nm=si.pixel_size_nm if np.isfinite(si.pixel_size_nm) else 1.0,
        window=options.moving_average_points,
        edge=options.edge_policy,  # type: ignore[arg-type]
        max_depth_nm=options.max_depth_nm,
    )
    s = np.asarray(dm.surface_xy, dtype=float) * options.downsample  # full-resolution pixels
    s = s[:: max(1, int(np.ceil(len(s) / 2000)))] if len(s) else s.reshape(0, 2)
    surface = pd.DataFrame(
        {"x [px]": s[:, 0], "y [px]": s[:, 1], "Method": method, "Inside": side}
    )
    return {
        "eds_profiles": prof.to_frame(),
        "eds_surface": surface,
        "eds_depth": _depth_table(prof),
    }


def _depth_table(prof: Any) -> pd.DataFrame:
    """1/e and detection depth of every line from the raw (unsmoothed) depth bins."""
    import pandas as pd

    from sulfurscope.spectra.eds_depth import depth_metrics

    rows = [
        depth_metrics(prof.depth_nm, prof.mean_counts[k], prof.n_pixels, line=line).to_row()
        for k, line in enumerate(prof.lines)
    ]
    return pd.DataFrame(rows)


def analyse_eds(
    data: Any,
    options: EdsOptions | None = None,
    *,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """Net-intensity maps and depth profiles of the X-ray lines of one EDS project or spectrum image.

    Parameters
    ----------
    data : EdsData
        From :func:`sulfurscope.io.read_eds` (read with ``options.downsample``/``cutoff_kev``).
    options : EdsOptions
    sources : tuple of Source

    Returns
    -------
    AnalysisResult
        Tables ``eds_*``; ``window_overlap`` flags name other lines that fall in a window.
    """
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.spectra.eds import line_maps, present_elements

    options = options or EdsOptions()
    si = data.spectrum_image
    if si is None:
        raise SulfurscopeError(f"{data.path.name}: holds no EDS spectrum image or spectrum")
    flags: list[Flag] = []
    # overlaps are named for elements the sum spectrum shows (or the user fits), not for every
    # element of the line table: a Pt Mγ line under S Kα matters only where there is Pt
    present = present_elements(si)
    check = sorted(set(present) | set(options.elements or ()))
    with record_warnings(flags, "window_overlap"):
        lm = line_maps(si, list(options.lines), method=options.method, elements=options.elements,  # type: ignore[arg-type]
                       check_elements=check)
    lines = lm.to_frame()
    lines.insert(1, "File", data.path.name)
    lines["Method"] = options.method
    lines["Elements fitted"] = ",".join(options.elements or ()) if options.method == "fit" else ""
    tables = {
        "eds_lines": lines,
        "eds_maps": _maps_table(lm, si, options.downsample),
        "eds_map_check": map_check_table(data),
        **_profile_tables(lm, si, options),
    }
    surface = tables["eds_surface"]
    if not tables["eds_depth"].empty:
        flags.extend(depth_flags(tables["eds_depth"], "Line"))
    summary = {
        "format": data.format,
        "lines": list(lm.lines),
        "elements_present": list(present),
        "shape": list(si.shape),
        "surface": str(surface["Method"].iloc[0]) if len(surface) else "none",
        "inside": str(surface["Inside"].iloc[0]) if len(surface) else "",
    }
    return finish("eds", __name__, tables, flags, options, sources, summary=summary)


def run_files(files: Mapping[str, Path], options: EdsOptions) -> AnalysisResult:
    """Read an EDS project or spectrum image (role ``file``, or ``project``) and analyse it."""
    from sulfurscope.io.eds import read_eds

    role = "file" if "file" in files else "project"
    data = read_eds(Path(files[role]), downsample=options.downsample, cutoff_kev=options.cutoff_kev)
    return analyse_eds(data, options, sources=(source(files[role], role),))
