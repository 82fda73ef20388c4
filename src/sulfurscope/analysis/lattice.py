"""Lattice spacings of HRTEM/STEM images by FFT (Figure 4a, Figure S6).

:func:`analyse_lattice` is the one implementation behind ``sulfurscope lattice`` and the pipeline's
HRTEM tasks: FFT spots and rings, indexing against the reference phases (LiF, Li2S, S8, graphite,
Li2CO3, Li2SO4 and any user phase), optional calibration refinement, FFT-filtered image.

Tables
------
``lattice_spots``     one row per spot (indexed when the image is calibrated)
``lattice_rings``     one row per ring
``lattice_angles``    angles between the strongest spots
``lattice_summary``   one row: image and FFT size, calibration, refinement, filtered spots
``lattice_image``     the analysed image, strided to ≤ 256 px a side
``lattice_power``     the centre of the log power spectrum (the spots' neighbourhood)
``lattice_filtered``  the FFT-filtered image, strided to ≤ 256 px a side
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._common import finish, grid_table, record_warnings, refuse_unusable_image
from sulfurscope.analysis._options import Options, flag, integer, number, numbers, text, texts
from sulfurscope.analysis._result import AnalysisResult, Flag, source

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["TABLES", "LatticeOptions", "analyse_lattice", "parse_phase", "run_files"]

TABLES = (
    "lattice_spots",
    "lattice_rings",
    "lattice_angles",
    "lattice_summary",
    "lattice_image",
    "lattice_power",
    "lattice_filtered",
)


@dataclass(frozen=True, slots=True)
class LatticeOptions(Options):
    """Options of :func:`analyse_lattice`."""

    pixel_size_nm: float | None = number(
        None, "Pixel size; overrides the file's calibration.", unit="nm", positive=True
    )
    region_px: tuple[float, ...] | None = numbers(
        None, "Region to analyse: row0,row1,col0,col1.", unit="px", length=4, minimum=0.0
    )
    phase_lattice_angstrom: tuple[str, ...] | None = texts(
        None,
        "Extra phase NAME:a[,b,c[,alpha,beta,gamma]][:CENTRING], lattice constants in Å, angles "
        "in degrees (repeat for several).",
        split=False,
    )
    only_phases: bool = flag(False, "Index against the given phases only.")
    calibrate_with: str | None = text(
        None, "Phase whose spots refine the pixel calibration (needs a nominal pixel size)."
    )
    d_tolerance: float = number(
        0.02, "Relative tolerance of a d-spacing match.", positive=True, maximum=0.5
    )
    snr_min: float = number(30.0, "Smallest spot power over the radial median.", positive=True)
    max_spots: int = integer(24, "Most spots kept.", minimum=1, maximum=1000)
    filter_spots: tuple[float, ...] | None = numbers(
        None, "Spot indices for the FFT-filtered image (default: the six strongest).", minimum=0.0
    )


def parse_phase(spec: str) -> Any:
    """``NAME:a[,b,c[,alpha,beta,gamma]][:CENTRING]`` (Å, degrees) → :class:`Phase`."""
    from sulfurscope.analysis._options import OptionError
    from sulfurscope.microscopy.lattice import Phase

    parts = spec.split(":")
    where = "phase_lattice_angstrom"
    if len(parts) not in (2, 3) or not parts[0]:
        raise OptionError(where, f"{spec!r}: expected NAME:a[,b,c[,alpha,beta,gamma]][:CENTRING]")
    try:
        nums = [float(v) for v in parts[1].split(",")]
    except ValueError:
        raise OptionError(where, f"{spec!r}: lattice constants must be numbers") from None
    if len(nums) not in (1, 3, 6) or any(not v > 0 for v in nums):
        raise OptionError(where, f"{spec!r}: give 1, 3 or 6 positive numbers (Å and degrees)")
    kw: dict[str, Any] = {"a_angstrom": nums[0]}
    if len(nums) >= 3:
        kw.update(b_angstrom=nums[1], c_angstrom=nums[2])
    if len(nums) == 6:
        kw.update(alpha_deg=nums[3], beta_deg=nums[4], gamma_deg=nums[5])
    if len(parts) == 3:
        centring = parts[2].upper()
        if centring not in ("P", "F", "I", "C", "A", "B"):
            raise OptionError(where, f"{spec!r}: centring must be P, F, I, C, A or B")
        kw["centring"] = centring
    return Phase(parts[0], **kw)


def _phases(options: LatticeOptions) -> list[Any]:
    from sulfurscope.microscopy.lattice import REFERENCE_PHASES

    phases = [parse_phase(p) for p in options.phase_lattice_angstrom or ()]
    if not options.only_phases:
        phases += list(REFERENCE_PHASES)
    return phases


def _region(options: LatticeOptions) -> tuple[int, int, int, int] | None:
    if options.region_px is None:
        return None
    r = tuple(int(v) for v in options.region_px)
    return (r[0], r[1], r[2], r[3])


def _calibrate(spots: Any, phases: list[Any], px: float | None, options: LatticeOptions) -> Any:
    from sulfurscope.analysis._options import OptionError
    from sulfurscope.microscopy.lattice_calibration import correct_spots, refine_calibration

    if options.calibrate_with is None:
        return spots, None
    if px is None:
        raise OptionError("calibrate_with", "needs a nominal pixel size (pixel_size_nm)")
    ref = next((p for p in phases if p.name == options.calibrate_with), None)
    if ref is None:
        raise OptionError(
            "calibrate_with",
            f"{options.calibrate_with!r} is not among the phases {[p.name for p in phases]}",
        )
    refinement = refine_calibration(spots, ref, pixel_size_nm=px)
    return correct_spots(spots, refinement, pixel_size_nm=px), refinement


def _filtered(image: np.ndarray, spots: pd.DataFrame, options: LatticeOptions) -> Any:
    from sulfurscope.analysis._options import OptionError
    from sulfurscope.microscopy.lattice import fft_filter

    if options.filter_spots is not None:
        chosen = [int(v) for v in options.filter_spots]
        if any(c >= len(spots) for c in chosen):
            raise OptionError("filter_spots", f"indices must be < {len(spots)}, got {chosen}")
    else:
        chosen = list(range(min(6, len(spots))))
    freq = spots[["fx [1/px]", "fy [1/px]"]].to_numpy()[chosen]
    return fft_filter(image, freq, radius=2.0 / min(image.shape)), chosen


def _power_centre(power: np.ndarray, spots: pd.DataFrame) -> np.ndarray:
    import numpy as np

    ny, nx = power.shape
    half = max(nx, ny) // 2
    if len(spots):
        rad = np.hypot(spots["fx [1/px]"] * nx, spots["fy [1/px]"] * ny)
        half = int(min(half, max(24.0, 2.2 * float(np.median(rad)))))
    return power[ny // 2 - half : ny // 2 + half, nx // 2 - half : nx // 2 + half]


def _spot_tables(
    spots: pd.DataFrame, px: float | None, phases: list[Any], tolerance: float
) -> Any:
    from sulfurscope.microscopy.lattice import index_spots, spot_angles

    angles = spot_angles(spots.head(12))
    if px is not None and len(spots):
        spots = index_spots(spots, phases, tolerance=tolerance)
    spots = spots[[c for c in spots.columns if c != "Candidates"]].copy()
    for c in spots.columns:
        if spots[c].dtype == object:
            spots[c] = spots[c].astype(str)
    return spots, angles


def _chance_flags(table: pd.DataFrame, phases: list[Any], tolerance: float) -> list[Flag]:
    """A warning for every phase spots were assigned to whose reflections cover half or more of
    the observed spacing range (:func:`~sulfurscope.microscopy.phases.chance_match_fraction`): a
    spacing, or a zone of spots, from any crystal matches it by chance."""
    from sulfurscope.microscopy.phases import chance_match_fraction

    if "Phase" not in table.columns or "d [nm]" not in table.columns:
        return []
    assigned = table[table["Phase"].astype(str).str.len() > 0]
    if assigned.empty:
        return []
    lo, hi = float(assigned["d [nm]"].min()), float(assigned["d [nm]"].max())
    out = []
    for phase in phases:
        n = int((assigned["Phase"] == phase.name).sum())
        if not n:
            continue
        chance = chance_match_fraction(phase, lo, hi, tolerance=tolerance)
        if chance >= 0.5:
            out.append(Flag(
                "phase_not_discriminating",
                f"{n} spot(s) assigned to {phase.name}, but its reflections lie within "
                f"{tolerance:.0%} of {chance:.0%} of all spacings between {lo:.3g} and {hi:.3g} nm: "
                f"spacings (and zones of spots) from any crystal match {phase.name} by chance, so "
                "these assignments are not evidence that it is present", "warning", phase.name))
    return out


def analyse_lattice(
    micrograph: Any,
    options: LatticeOptions | None = None,
    *,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """FFT spots and rings of one image, indexed against the reference phases.

    Parameters
    ----------
    micrograph : Micrograph
        From :func:`sulfurscope.io.images.read_image`.
    options : LatticeOptions
    sources : tuple of Source

    Returns
    -------
    AnalysisResult
        Tables ``lattice_*``; a flag when the image is uncalibrated (spacings in px, no indexing).
    """
    refuse_unusable_image(micrograph, _region(options or LatticeOptions()))
    import pandas as pd

    from sulfurscope.microscopy.lattice import lattice_spacings

    options = options or LatticeOptions()
    flags: list[Flag] = []
    px = micrograph.calibration.pixel_size_nm
    reg = _region(options)
    phases = _phases(options)
    image = micrograph.image
    crop = image if reg is None else image[reg[0] : reg[1], reg[2] : reg[3]]
    res = lattice_spacings(
        image, pixel_size_nm=px, region=reg, snr_min=options.snr_min, max_spots=options.max_spots
    )
    spots, refinement = _calibrate(res.spots, phases, px, options)
    table, angles = _spot_tables(spots, px, phases, options.d_tolerance)
    flags += _chance_flags(table, phases, options.d_tolerance)
    if px is None:
        flags.append(Flag("uncalibrated", "no pixel size: spacings in px, no indexing", "warning"))
    summary: dict[str, Any] = {
        "Rows": int(crop.shape[0]),
        "Columns": int(crop.shape[1]),
        "FFT rows": int(res.power_log10.shape[0]),
        "FFT columns": int(res.power_log10.shape[1]),
        "Pixel size [nm]": px,
        "Calibration": micrograph.calibration.source,
        "Length unit": res.length_unit,
        "Spots": len(table),
        "Rings": len(res.rings),
    }
    if refinement is not None:
        summary.update({f"Refinement {k}": v for k, v in refinement.to_dict().items()})
    tables: dict[str, Any] = {
        "lattice_spots": table,
        "lattice_rings": res.rings.copy(),
        "lattice_angles": angles,
        "lattice_image": grid_table(crop.astype(float), max_side=256),
        "lattice_power": grid_table(_power_centre(res.power_log10, table), max_side=256),
    }
    if len(spots):
        filtered, chosen = _filtered(crop, spots, options)
        summary["Filtered spots"] = ",".join(map(str, chosen))
        tables["lattice_filtered"] = grid_table(filtered, max_side=256)
    tables["lattice_summary"] = pd.DataFrame([summary])
    return finish("lattice", __name__, tables, flags, options, sources, summary=summary)


def run_files(files: Mapping[str, Path], options: LatticeOptions) -> AnalysisResult:
    """Read the image (role ``file``) and analyse it."""
    from sulfurscope.io.images import read_image

    flags: list[Flag] = []
    with record_warnings(flags, "calibration"):
        mic = read_image(files["file"], pixel_size_nm=options.pixel_size_nm)
    res = analyse_lattice(mic, options, sources=(source(files["file"], "file"),))
    return finish(
        res.analysis,
        __name__,
        res.tables,
        [*flags, *res.flags],
        options,
        res.provenance.inputs if res.provenance else (),
        summary=res.summary,
    )
