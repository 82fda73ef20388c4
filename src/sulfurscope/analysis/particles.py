"""Particle sizes from SEM/TEM images (Figure 1a–c, Figure S8).

:func:`analyse_particles` is the one implementation behind ``sulfurscope particles`` and the pipeline's
SEM tasks: crop the data bar, segment (or take Fiji ROIs), measure every particle, build the size
distribution, and score against a truth mask when one is given.

Tables
------
``particles``              one row per particle (area, ECD, Feret, circularity, centroid)
``particle_distribution``  one row: calibration, counts, number/volume statistics, fits
``particle_sample``        the sampled diameters the statistics (and the histogram) are made of
``particle_segmentation``  one row: every segmentation setting, the automatic ones resolved
``particle_overlay``       image and labels, strided to at most 256 px a side (for the figures)
``particle_accuracy``      one row when a truth mask is given: precision, recall, ECD error
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._common import finish, grid_table, record_warnings, refuse_unusable_image
from sulfurscope.analysis._options import Options, choice, flag, integer, number, number_or
from sulfurscope.analysis._result import AnalysisResult, Flag, source

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["TABLES", "ParticleOptions", "analyse_particles", "run_files"]

TABLES = (
    "particles",
    "particle_distribution",
    "particle_sample",
    "particle_segmentation",
    "particle_overlay",
    "particle_accuracy",
)
_TO_UM = {"um": 1.0, "nm": 1e-3, "mm": 1e3}
_SEGMENT = (
    "invert",
    "smooth_sigma_px",
    "background",
    "background_radius_px",
    "threshold",
    "fill_holes",
    "split",
    "min_distance_px",
    "split_depth",
    "exclude_edge",
    "min_area_px",
)


@dataclass(frozen=True, slots=True)
class ParticleOptions(Options):
    """Options of :func:`analyse_particles`."""

    pixel_size_nm: float | None = number(
        None, "Pixel size; overrides the file's calibration.", unit="nm", positive=True
    )
    crop_data_bar: bool = flag(True, "Detect and crop the instrument's data bar.")
    data_bar_row: int | None = integer(None, "First row of the data bar (skips detection).", minimum=1)
    method: str = choice(
        "auto",
        ("auto", "classic"),
        "auto: Otsu, polarity from the image, holes filled, adaptive distance-transform watershed, "
        "with warnings when unsure (sulfurscope.microscopy.autoseg); classic: the tunable "
        "pipeline of the options below.",
    )
    polarity: str = choice(
        "auto", ("auto", "bright", "dark"), "auto method: particles brighter or darker than the "
        "background (auto: the minority class).",
    )
    invert: bool = flag(False, "Particles darker than the background (bright-field TEM).")
    smooth_sigma_px: float = number(
        1.0, "Gaussian smoothing before thresholding.", unit="px", minimum=0.0, maximum=100.0
    )
    background: str = choice(
        "auto", ("auto", "none", "gaussian", "tophat"), "Background flattening."
    )
    background_radius_px: float | str = number_or(
        "auto", ("auto",), "Scale of the background flattening.", unit="px", positive=True
    )
    threshold: float | str = number_or(
        "auto",
        ("auto", "otsu", "multiotsu", "local", "background", "none"),
        "Threshold method, or a grey value.",
    )
    fill_holes: bool = flag(False, "Fill holes inside particles.")
    split: str = choice(
        "distance",
        ("distance", "intensity", "gradient", "none"),
        "How touching particles are separated (watershed on the distance transform, ...).",
    )
    min_distance_px: int = integer(
        3, "Smallest distance between two particle seeds.", minimum=1, maximum=10_000
    )
    split_depth_px: float | str = number_or(
        "auto", ("auto",), "Depth a watershed seed must have.", unit="px", positive=True
    )
    exclude_edge: bool = flag(True, "Leave out particles touching the image border.")
    min_area_px: float | str = number_or(
        "auto", ("auto",), "Smallest particle area kept.", unit="px²", positive=True
    )
    sample_size: int = integer(
        300, "Particles drawn (seeded) for the distribution statistics; 0 = all.", minimum=0,
        maximum=1_000_000,
    )
    seed: int = integer(0, "Seed of the particle sample.", minimum=0)
    truth_particle_value: int | None = integer(
        None, "Value of the particle pixels in a binary truth mask (default: an instance label "
        "image is used as it is; in a binary mask the minority value is the particles).",
        minimum=0,
    )


_OPTION = {"split_depth": "split_depth_px"}  # core keyword → option name where they differ
_CLASSIC_ONLY = {"threshold": "auto", "background": "auto", "background_radius_px": "auto",
                 "split": "distance", "split_depth_px": "auto", "min_area_px": "auto",
                 "fill_holes": False, "min_distance_px": 3}


def _segment(
    image: np.ndarray, options: ParticleOptions, flags: list[Flag]
) -> tuple[np.ndarray, dict[str, Any]]:
    """The labels and what decided them. ``method="auto"`` (unless a classic-only option is set)
    runs both the automatic pipeline and the classic one with its automatic settings and keeps the
    one whose particles are more particle-like (higher median solidity); when that is not decisive
    (< 0.1 apart) and their median diameters differ by more than 15 %, it warns."""
    import numpy as np

    classic_set = any(getattr(options, k) != v for k, v in _CLASSIC_ONLY.items())
    if options.method == "classic" or classic_set:
        labels, settings = _segment_classic(image, options)
        return labels, {"method": "classic", **settings}
    (auto, (a_med, a_sol)), (classic, settings, (c_med, c_sol)) = _both_segmentations(image, options)
    use_auto = not (c_sol > a_sol + 0.02)
    info = {"method": "auto", "chosen": "automatic" if use_auto else "classic (automatic settings)",
            "median ECD automatic [px]": a_med, "median solidity automatic": a_sol,
            "median ECD classic [px]": c_med, "median solidity classic": c_sol, **auto.to_dict()}
    if abs(a_sol - c_sol) < 0.1 and np.isfinite(a_med) and np.isfinite(c_med) and abs(
        a_med - c_med
    ) > 0.15 * max(a_med, c_med):
        flags.append(Flag("methods_disagree", f"the two segmentations disagree: median diameter "
                          f"{a_med:.1f} px (automatic) vs {c_med:.1f} px (classic), and neither is "
                          "clearly more particle-like; check the overlay", "warning"))
    if use_auto:
        flags += [Flag(code, message, "warning") for code, message in auto.warnings()]
        return auto.labels, info
    return classic, info


def _both_segmentations(image: np.ndarray, options: ParticleOptions) -> tuple[Any, Any]:
    """The automatic and the classic segmentation, each with its (median ECD, median solidity)
    (:func:`sulfurscope.microscopy.autoseg.label_stats`), side by side in two threads when this process
    has two cores to itself (:func:`sulfurscope._threads.thread_budget`; scikit-image and SciPy
    release the GIL in their loops: 0.85 s → 0.50 s on a 768 x 1024 TEM image), else one after the
    other. The results are the same either way."""
    from concurrent.futures import ThreadPoolExecutor

    from sulfurscope._threads import thread_budget
    from sulfurscope.microscopy.autoseg import label_stats, segment_auto

    polarity = "dark" if options.invert and options.polarity == "auto" else options.polarity

    def automatic() -> Any:
        auto = segment_auto(image, polarity=polarity,  # type: ignore[arg-type]
                            smooth_sigma_px=options.smooth_sigma_px,
                            exclude_edge=options.exclude_edge)
        return auto, label_stats(auto.labels)

    def classic() -> Any:
        labels, settings = _segment_classic(image, options)
        return labels, settings, label_stats(labels)

    if thread_budget() < 2:
        return automatic(), classic()
    with ThreadPoolExecutor(1, thread_name_prefix="sulfurscope-autoseg") as pool:
        pending = pool.submit(automatic)
        other = classic()
        return pending.result(), other


def _segment_classic(image: np.ndarray, options: ParticleOptions) -> tuple[np.ndarray, dict[str, Any]]:
    from sulfurscope.microscopy.particles import segment_particles, segmentation_parameters

    kw = {k: getattr(options, _OPTION.get(k, k)) for k in _SEGMENT}
    if kw["min_area_px"] != "auto":
        kw["min_area_px"] = int(kw["min_area_px"])
    settings = segmentation_parameters(image, **kw)
    fixed = {
        **kw,
        "threshold": kw["threshold"] if kw["threshold"] != "auto" else settings.threshold,
        "background": settings.background,
        "background_radius_px": settings.background_radius_px,
        "split_depth": settings.split_depth,
        "min_area_px": settings.min_area_px,
    }
    return segment_particles(image, **fixed), settings.to_dict()


def _distribution(table: pd.DataFrame, col: str, unit: str, options: ParticleOptions) -> Any:
    from sulfurscope.microscopy import size_distribution

    return size_distribution(
        table[col].to_numpy(),
        sample_size=options.sample_size or None,
        seed=options.seed,
        length_unit=unit,
    )


def _stats_row(
    table: pd.DataFrame, col: str, unit: str, options: ParticleOptions, flags: list[Flag]
) -> tuple[dict[str, Any], Any]:
    """The distribution statistics (the study's and every fit's) and the sampled diameters."""
    from sulfurscope.errors import FitError

    stats: dict[str, Any] = {"Length unit": unit, "Particles": len(table)}
    try:
        dist = _distribution(table, col, unit, options)
    except FitError as exc:
        flags.append(Flag("distribution_failed", str(exc), "failed"))
        return stats, None
    d = dist.to_dict()
    scale = _TO_UM.get(unit, float("nan"))
    for key, name in (
        ("number_mean", "Number mean"),
        ("number_sd", "Number sd"),
        ("volume_mean", "Volume-weighted mean"),
        ("d50", "d50"),
    ):
        stats[f"{name} [{unit}]"] = float(d[key])
        if unit in _TO_UM:
            stats[f"{name} [um]"] = float(d[key]) * scale
        for end in ("low", "high"):
            v = float(d[f"{key}_ci95_{end}"])
            stats[f"{name} CI95 {end} [{unit}]"] = v
            if unit in _TO_UM:
                stats[f"{name} CI95 {end} [um]"] = v * scale
    stats["Sampled"] = int(d["n_sampled"])
    if 0 < d["n_sampled"] < 100 and d["lognormal_ks_pvalue"] < 0.05:
        flags.append(Flag("few_particles_volume_mean", f"only {d['n_sampled']} particles sized: the "
                          "volume-weighted mean D[4,3] rests on the few largest and the powder is "
                          "not log-normal: its 95 % bootstrap interval covers the truth only ~85 % "
                          "of the time at 50 particles; read it as a lower bound", "note"))
    for k, v in dist.to_frame().iloc[0].items():
        stats[f"Fit {k}"] = v
    return stats, dist.diameters


def _truth_labels(truth: np.ndarray, value: int | None) -> np.ndarray:
    """A truth mask as a label image: an instance label image (more than two values, 0 =
    background) as it is; a binary mask labelled 4-connected, its particles the given value or
    else the minority value (particles cover less of a field than the background)."""
    import numpy as np
    from scipy import ndimage as ndi

    t = np.asarray(truth)
    if t.ndim == 3:
        t = t[..., 0]
    values, counts = np.unique(t, return_counts=True)
    if value is None and values.size > 2:
        return t.astype(np.int64)
    particle = value if value is not None else values[np.argmin(counts)]
    labels, _ = ndi.label(t == particle)
    return labels


def _accuracy(labels: np.ndarray, truth: np.ndarray, options: ParticleOptions) -> Any:
    import numpy as np
    import pandas as pd

    from sulfurscope.microscopy.particles import match_particles

    tl = _truth_labels(truth[: labels.shape[0], : labels.shape[1]], options.truth_particle_value)
    if options.exclude_edge:
        edge = np.unique(np.concatenate([tl[0], tl[-1], tl[:, 0], tl[:, -1]]))
        tl[np.isin(tl, edge[edge > 0])] = 0
    row = match_particles(labels, tl).to_dict()
    ecd = lambda a: float(np.median(np.sqrt(4 * a[a > 0] / np.pi))) if (a > 0).any() else float("nan")  # noqa: E731
    found, true = ecd(np.bincount(labels.ravel())[1:]), ecd(np.bincount(tl.ravel())[1:])
    row.update({"Median ECD found [px]": found, "Median ECD truth [px]": true,
                "Median ECD error [%]": 100 * (found - true) / true if true else float("nan")})
    return pd.DataFrame([row])


def analyse_particles(
    micrograph: Any,
    options: ParticleOptions | None = None,
    *,
    rois: list[np.ndarray] | None = None,
    truth: np.ndarray | None = None,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """Particle table and size distribution of one micrograph.

    Parameters
    ----------
    micrograph : Micrograph
        From :func:`sulfurscope.io.images.read_image` (image and calibration).
    options : ParticleOptions
    rois : list of (N, 2) arrays, optional
        Fiji ROI polygons (``read_rois``): used instead of the segmentation.
    truth : 2-D array, optional
        A truth mask (binary, particle pixels = ``truth_particle_value``) to score against.
    sources : tuple of Source

    Returns
    -------
    AnalysisResult
    """
    if rois is None:  # with drawn outlines the image content does not decide anything
        refuse_unusable_image(micrograph)
    import pandas as pd

    from sulfurscope.microscopy import crop_data_bar, measure_particles
    from sulfurscope.microscopy.particles import labels_from_polygons

    options = options or ParticleOptions()
    flags: list[Flag] = []
    px = micrograph.calibration.pixel_size_nm
    detect = options.crop_data_bar and options.data_bar_row is None
    image, bar = crop_data_bar(micrograph.image, row=options.data_bar_row, detect=detect)
    tables: dict[str, Any] = {}
    with record_warnings(flags, "segmentation"):
        if rois is not None:
            labels = labels_from_polygons(rois, image.shape)
        else:
            labels, settings = _segment(image, options, flags)
            seg = {k: (",".join(v) if isinstance(v, list) else v) for k, v in settings.items()}
            tables["particle_segmentation"] = pd.DataFrame([seg])
    table = measure_particles(labels, pixel_size_nm=px)
    col = next(c for c in table.columns if c.startswith("Equivalent diameter"))
    unit = col[col.index("[") + 1 : -1]
    if unit in _TO_UM and col != "Equivalent diameter [um]":
        table["Equivalent diameter [um]"] = table[col] * _TO_UM[unit]
    if px is None:
        flags.append(Flag("uncalibrated", "no pixel size: sizes are in pixels", "warning"))
    row, sample = _stats_row(table, col, unit, options, flags)
    stats = {
        "Pixel size [nm]": px,
        "Calibration": micrograph.calibration.source,
        "Data bar row": bar.row,
        "Data bar rows": int(micrograph.image.shape[0] - image.shape[0]),
        "Image width [px]": int(image.shape[1]),
        "Method": "Fiji ROIs" if rois is not None else "segmentation",
        **row,
    }
    tables["particles"] = table
    tables["particle_distribution"] = pd.DataFrame([stats])
    if sample is not None:
        tables["particle_sample"] = pd.DataFrame({col: sample})
    tables["particle_overlay"] = grid_table(image.astype(float), Label=labels)
    if truth is not None:
        tables["particle_accuracy"] = _accuracy(labels, truth, options)
    return finish("particles", __name__, tables, flags, options, sources, summary=stats)


def run_files(files: Mapping[str, Path], options: ParticleOptions) -> AnalysisResult:
    """Read the image (role ``file``; optional ``rois`` and ``truth_mask``) and analyse it."""
    from sulfurscope.io.images import read_image, read_rois

    flags: list[Flag] = []
    with record_warnings(flags, "calibration"):
        mic = read_image(files["file"], pixel_size_nm=options.pixel_size_nm)
    sources = [source(files["file"], "file")]
    rois = truth = None
    if "rois" in files:
        rois = read_rois(files["rois"])
        sources.append(source(files["rois"], "rois"))
    if "truth_mask" in files:
        truth = read_image(files["truth_mask"]).image
        sources.append(source(files["truth_mask"], "truth_mask"))
    res = analyse_particles(mic, options, rois=rois, truth=truth, sources=tuple(sources))
    return finish(
        res.analysis, __name__, res.tables, [*flags, *res.flags], options, sources,
        summary=res.summary,
    )
