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
``xps_casa``            with ``components="casa"``: the file's CasaXPS model refitted, beside Casa's
                        own positions and areas (and atomic % with Casa's RSFs)
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
    "xps_casa",
)


@dataclass(frozen=True, slots=True)
class XpsOptions(Options):
    """Options of :func:`analyse_xps_file`."""

    region: str | None = text(None, 'Fit only this region, e.g. "S 2p" (default: every region).')
    components: str | None = text(
        None, 'Component library, e.g. "S 2p/paper" (default: the region\'s own); "casa": the '
        "CasaXPS model stored in the file, refitted and compared with Casa's own numbers.",
    )
    background: str = choice(
        "shirley", ("shirley", "linear", "tougaard", "none"), "Background under the peaks."
    )
    background_mode: str = choice(
        "model",
        ("model", "subtract"),
        "model: the background is fitted with the peaks; subtract: removed first.",
    )
    rsf: str = text(
        "scofield", "Sensitivity factors for the atomic %: scofield (cross-sections), phi-handbook "
        "(PHI/MultiPak empirical factors, as the reference study) or a CSV file "
        "(source,region,element,rsf).",
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
    from sulfurscope.spectra.xps_analysis import analyse_xps

    options = options or XpsOptions()
    if options.components == "casa":
        return _analyse_casa(data, options, sources)
    analysis = analyse_xps(
        data.spectra,
        region=options.region,
        components=options.components,
        background=options.background,  # type: ignore[arg-type]
        background_mode=options.background_mode,  # type: ignore[arg-type]
        cycle=options.cycle,
        shift_ev=options.shift_ev,
        rsf=options.rsf,
    )
    flags = [Flag("fit_failed", msg, "failed", reg) for reg, msg in analysis.failures]
    flags += _background_flags(analysis.quantification)
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


def _background_flags(quantification: Any) -> list[Flag]:
    """A warning naming the regions whose atomic-% area fell back to a linear background (Shirley
    had no solution in their window), beside regions on Shirley backgrounds."""
    if quantification.empty or "Note" not in quantification.columns:
        return []
    linear = quantification["Note"].astype(str).str.contains("Shirley had no solution", regex=False)
    if not linear.any():
        return []
    regions = ", ".join(dict.fromkeys(quantification.loc[linear, "Region"].astype(str)))
    atomic = quantification["Quantity"] == "Atomic [%]"
    mixed = bool((atomic & ~linear).any())
    return [Flag("quantification_linear_background",
                 f"{regions}: Shirley has no solution in the window (the data fall below the "
                 "high-binding-energy end level after the peak), so the atomic-% area is on a "
                 "linear background" + (", the other regions' on Shirley" if mixed else "") +
                 "; linear and Shirley areas of a peak can differ by tens of %, so read these "
                 "atomic % as approximate (or record a window that ends on flat background)",
                 "warning", "quantification")]


_CASA_COLUMNS = ["Region", "Component", "Shape", "Casa position [eV]", "Position [eV]",
                 "Position difference [eV]", "Casa area [%]", "Area [%]", "Area difference [pp]",
                 "RSF (Casa)", "Atomic [%]", "FWHM [eV]", "R squared"]


def _casa_rows(region: str, model: Any, fit: Any) -> list[dict[str, Any]]:
    import numpy as np

    casa = np.asarray(model.casa_area, dtype=float)
    ours = np.asarray(fit.area, dtype=float)
    rsf = np.asarray(model.rsf, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        atomic = 100.0 * (ours / rsf) / np.sum(ours / rsf)
    return [
        {"Region": region, "Component": c.name, "Shape": f"{c.shape}({c.shape_param:g})",
         "Casa position [eV]": model.casa_position_ev[k], "Position [eV]": fit.center[k],
         "Position difference [eV]": fit.center[k] - model.casa_position_ev[k],
         "Casa area [%]": 100 * casa[k] / casa.sum(), "Area [%]": 100 * ours[k] / ours.sum(),
         "Area difference [pp]": 100 * (ours[k] / ours.sum() - casa[k] / casa.sum()),
         "RSF (Casa)": rsf[k], "Atomic [%]": atomic[k], "FWHM [eV]": fit.fwhm[k],
         "R squared": fit.r_squared}
        for k, c in enumerate(model.components)
    ]


def _analyse_casa(data: Any, options: XpsOptions, sources: tuple[Any, ...]) -> AnalysisResult:
    """The CasaXPS models stored in a VAMAS file, refitted (:mod:`sulfurscope.spectra.casa`) and
    compared with Casa's own positions and areas; Casa's RSFs for the atomic %."""
    import pandas as pd

    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.spectra.casa import fit_casa_model, parse_casa_model

    blocks = data.metadata.get("blocks", [])
    rows, flags = [], []
    for spectrum, block in zip(data.spectra, blocks, strict=False):
        if options.region and spectrum.region != options.region:
            continue
        model = parse_casa_model(block.get("comment", ""),
                                 source_energy_ev=spectrum.source_energy_ev,
                                 kinetic="kinetic" in block.get("axis", ""))
        if model is None:
            continue
        flags += [Flag("casa_import", n, "note", spectrum.region) for n in model.notes]
        try:
            fit = fit_casa_model(spectrum.binding_energy_ev, spectrum.intensity, model)
        except SulfurscopeError as exc:
            flags.append(Flag("fit_failed", str(exc), "failed", spectrum.region))
            continue
        rows += _casa_rows(spectrum.region, model, fit)
    if not rows:
        raise SulfurscopeError(f"{data.path.name}: no CasaXPS model (CASA comp lines) in the file")
    table = pd.DataFrame(rows, columns=_CASA_COLUMNS)
    far = table[table["Position difference [eV]"].abs() > 0.05]
    for _, r in far.iterrows():
        flags.append(Flag("casa_disagrees", f"refitted position {r['Position [eV]']:.3f} eV differs "
                          f"from Casa's {r['Casa position [eV]']:.3f} eV by "
                          f"{r['Position difference [eV]']:+.3f} eV", "warning",
                          f"{r['Region']} {r['Component']}"))
    tables = {"xps_spectra": data.to_frame(), "xps_casa": table}
    summary = {"format": data.format, "casa_components": len(table),
               "rsf": "CasaXPS (from the file)"}
    return finish("xps", __name__, tables, flags, options, sources, summary=summary)


def run_files(files: Mapping[str, Path], options: XpsOptions) -> AnalysisResult:
    """Read an XPS file (role ``file``) and analyse it."""
    from sulfurscope.io.xps import read_xps

    data = read_xps(Path(files["file"]))
    return analyse_xps_file(data, options, sources=(source(files["file"], "file"),))
