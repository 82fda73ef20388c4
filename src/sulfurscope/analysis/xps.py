"""XPS deconvolution and quantification (Figure 4b–f, Tables S1–S6).

:func:`analyse_xps_file` is the one implementation behind ``sulfurscope xps`` and the pipeline's XPS
tasks: fit the regions with the study's component library (:func:`sulfurscope.spectra.xps.analyse_xps`),
optionally add Monte-Carlo uncertainties, quantify.

Tables
------
``xps_components``      one row per fitted component (Tables S2–S6)
``xps_curves``          data, background, envelope and components of every fitted region
``xps_quantification``  atomic % and the derived sulfur numbers (Table S1)
``xps_spectra``         every spectrum of the file (long table)
``xps_depth_profile``   a depth profile's per-cycle region areas (PHI .pro)
``xps_fit_quality``     one row per fitted region: R², reduced χ², evaluations
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._common import finish
from sulfurscope.analysis._options import Options, choice, integer, number, text
from sulfurscope.analysis._result import AnalysisResult, Flag, source

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLES", "XpsOptions", "analyse_xps_file", "run_files"]

TABLES = (
    "xps_components",
    "xps_curves",
    "xps_quantification",
    "xps_spectra",
    "xps_depth_profile",
    "xps_fit_quality",
)


@dataclass(frozen=True, slots=True)
class XpsOptions(Options):
    """Options of :func:`analyse_xps_file`."""

    region: str | None = text(None, 'Fit only this region, e.g. "S 2p" (default: every region).')
    components: str | None = text(
        None, 'Component library, e.g. "S 2p/paper" (default: the region\'s own).'
    )
    background: str = choice(
        "shirley", ("shirley", "linear", "tougaard", "none"), "Background under the peaks."
    )
    background_mode: str = choice(
        "model",
        ("model", "subtract"),
        "model: the background is fitted with the peaks; subtract: removed first.",
    )
    cycle: int = integer(0, "Depth-profile cycle to fit (PHI .pro).", minimum=0)
    shift_ev: float = number(
        0.0, "Charge correction added to every binding energy.", unit="eV", minimum=-50.0,
        maximum=50.0,
    )
    mc_replicas: int = integer(
        0, "Monte-Carlo replicas for the component uncertainties (0 = off).", minimum=0,
        maximum=100000,
    )
    seed: int = integer(0, "Seed of the Monte-Carlo replicas.", minimum=0)


def _monte_carlo(analysis: Any, options: XpsOptions) -> pd.DataFrame:
    import pandas as pd

    from sulfurscope.spectra.peaks import monte_carlo

    comps = analysis.components
    if not options.mc_replicas or not analysis.fits:
        return comps
    extra = []
    for reg, fit in zip(analysis.regions, analysis.fits, strict=True):
        mc = monte_carlo(fit, n_replicas=options.mc_replicas, rng=options.seed).to_frame()
        mc.insert(0, "Region", reg)
        extra.append(mc)
    return comps.merge(pd.concat(extra, ignore_index=True), on=["Region", "Component"], how="left")


_QUALITY_COLUMNS = ["Region", "R squared", "Reduced chi square", "Evaluations", "Converged",
                    "At bounds", "Verdict"]


def _quality(analysis: Any, flags: list[Flag]) -> pd.DataFrame:
    """One row per fitted region with its verdict; a ``fit_failed`` or ``fit_doubtful`` flag for
    every region whose fit is not usable (see :func:`sulfurscope.spectra.peaks.fit_problems`)."""
    import pandas as pd

    from sulfurscope.spectra.peaks import fit_problems

    rows = []
    for r, f in zip(analysis.regions, analysis.fits, strict=True):
        failed, doubtful = fit_problems(f)
        flags += [Flag("fit_failed", m, "failed", r) for m in failed]
        flags += [Flag("fit_doubtful", m, "warning", r) for m in doubtful]
        rows.append({
            "Region": r, "R squared": f.r_squared, "Reduced chi square": f.reduced_chi_square,
            "Evaluations": f.nfev, "Converged": bool(f.success),
            "At bounds": ", ".join(f.at_bounds),
            "Verdict": "failed" if failed else ("doubtful" if doubtful else "ok"),
        })
    return pd.DataFrame(rows, columns=_QUALITY_COLUMNS)


def analyse_xps_file(
    data: Any,
    options: XpsOptions | None = None,
    *,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """Fit and quantify the regions of one XPS measurement.

    Parameters
    ----------
    data : XPSData
        From :func:`sulfurscope.io.read_xps`.
    options : XpsOptions
    sources : tuple of Source

    Returns
    -------
    AnalysisResult
        Tables ``xps_*``; a ``fit_failed`` flag per region that could not be fitted.
    """
    from sulfurscope.spectra.xps import analyse_xps

    options = options or XpsOptions()
    analysis = analyse_xps(
        data.spectra,
        region=options.region,
        components=options.components,
        background=options.background,  # type: ignore[arg-type]
        background_mode=options.background_mode,  # type: ignore[arg-type]
        cycle=options.cycle,
        shift_ev=options.shift_ev,
    )
    flags = [Flag("fit_failed", msg, "failed", reg) for reg, msg in analysis.failures]
    quality = _quality(analysis, flags)
    tables: dict[str, Any] = {"xps_spectra": data.to_frame(), "xps_fit_quality": quality}
    if not analysis.components.empty:
        tables["xps_components"] = _monte_carlo(analysis, options)
        tables["xps_curves"] = analysis.curves
    if not analysis.quantification.empty:
        tables["xps_quantification"] = analysis.quantification
    if not data.depth_profile.empty:
        tables["xps_depth_profile"] = data.depth_profile
    summary = {
        "format": data.format,
        "spectra": len(data.spectra),
        "regions_fitted": list(analysis.regions),
        "failed": len(analysis.failures) + int((quality["Verdict"] == "failed").sum()),
    }
    return finish("xps", __name__, tables, flags, options, sources, summary=summary)


def run_files(files: Mapping[str, Path], options: XpsOptions) -> AnalysisResult:
    """Read an XPS file (role ``file``) and analyse it."""
    from sulfurscope.io.xps import read_xps

    data = read_xps(Path(files["file"]))
    return analyse_xps_file(data, options, sources=(source(files["file"], "file"),))
