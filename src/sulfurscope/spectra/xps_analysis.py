"""One XPS measurement analysed: every region fitted with its component library and quantified (the core of `sulfurscope xps` and the pipeline's XPS tasks; built on :mod:`sulfurscope.spectra.xps` and :mod:`sulfurscope.spectra.xps_quant`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sulfurscope.errors import FitError, SulfurscopeError
from sulfurscope.spectra.peaks import Component, PeakFit
from sulfurscope.spectra.xps import (
    XPSSpectrum,
    component_libraries,
    component_table,
    fit_curves,
    fit_xps,
    region_key,
)

__all__ = ["XPSAnalysis", "analyse_xps"]


@dataclass(frozen=True, slots=True)
class XPSAnalysis:
    """Fits, component tables, curves and quantification of one file's regions (:func:`analyse_xps`).

    ``quantification`` is a long table (``Region``, ``Quantity``, ``Value [%]``, ``Area [counts/s·eV]``,
    ``RSF``, ``Note``): atomic % per region and, when an S 2p fit with the study's components exists,
    the reduced-sulfur fraction and the Li2S2-assumption speciation.
    """

    regions: tuple[str, ...]
    fits: tuple[PeakFit, ...]
    failures: tuple[tuple[str, str], ...]
    components: pd.DataFrame
    curves: pd.DataFrame
    quantification: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The component table (Tables S2–S6 style, all fitted regions)."""
        return self.components

    def to_dict(self) -> dict[str, Any]:
        """Fitted regions, failures and the tables as records."""
        return {
            "regions": list(self.regions),
            "failures": [{"region": r, "error": m} for r, m in self.failures],
            "components": self.components.to_dict(orient="records"),
            "quantification": self.quantification.to_dict(orient="records"),
            "fits": [
                {
                    "region": r,
                    "reduced_chi_square": f.reduced_chi_square,
                    "r_squared": f.r_squared,
                    "nfev": f.nfev,
                }
                for r, f in zip(self.regions, self.fits, strict=True)
            ],
        }


def analyse_xps(
    spectra: Sequence[XPSSpectrum],
    *,
    region: str | None = None,
    components: str | Sequence[Component] | None = None,
    background: Literal["shirley", "linear", "tougaard", "none"] = "shirley",
    background_mode: Literal["model", "subtract"] = "model",
    cycle: int = 0,
    rsf: str | Path | Mapping[str, float] = "scofield",
    table: str | Path | None = None,
    shift_ev: float = 0.0,
) -> XPSAnalysis:
    """Fit and quantify the regions of one measurement.

    With ``region`` (and optionally ``components``) only that region is fitted and any error is
    raised. Without, every non-survey region is fitted — with its ``"<region>/paper"`` library where
    one exists (library components outside the measured window are dropped), else with
    :func:`auto_components` — and failures are recorded, not raised.
    Every non-survey region with an RSF is quantified from its Shirley-subtracted area.
    ``shift_ev`` is a charge correction added to every binding energy before fitting (e.g. to put
    adventitious C 1s at 284.8 eV).

    Examples
    --------
    >>> from sulfurscope.simulate.xps import simulate_xps
    >>> a = analyse_xps([simulate_xps(rng=0)])
    >>> a.regions, sorted(a.quantification["Quantity"].unique())[:2]
    (('S 2p',), ['Atomic [%]', 'Li2S [%]'])
    """
    from sulfurscope.spectra.xps_quant import quantification_rows

    cands = [s for s in spectra if s.cycle == cycle]
    if shift_ev:
        cands = [replace(s, binding_energy_ev=s.binding_energy_ev + float(shift_ev)) for s in cands]
    if not cands:
        raise SulfurscopeError(f"no spectrum for cycle {cycle}")
    targets, strict = _targets(cands, region, components, table)
    regions, fits, failures, comp_tabs, curve_tabs = [], [], [], [], []
    for spec, comps in targets:
        try:
            fit = fit_xps(spec, comps, background=background, background_mode=background_mode,
                          drop_outside=not strict or isinstance(comps, str), table=table)
        except (FitError, SulfurscopeError) as exc:
            if strict:
                raise
            failures.append((spec.region, str(exc)))
            continue
        regions.append(spec.region)
        fits.append(fit)
        comp_tabs.append(component_table(fit, region=spec.region))
        curve_tabs.append(fit_curves(fit, region=spec.region))
    quant = quantification_rows(cands, regions, fits, rsf, failures)
    return XPSAnalysis(
        regions=tuple(regions),
        fits=tuple(fits),
        failures=tuple(failures),
        components=pd.concat(comp_tabs, ignore_index=True) if comp_tabs else pd.DataFrame(),
        curves=pd.concat(curve_tabs, ignore_index=True) if curve_tabs else pd.DataFrame(),
        quantification=quant,
    )


def _targets(
    cands: list[XPSSpectrum], region: str | None, components: Any, table: Any
) -> tuple[list[tuple[XPSSpectrum, Any]], bool]:
    """The (spectrum, components) pairs to fit, and whether errors are raised (one region asked)."""
    libs = {lib.split("/")[0]: lib for lib in component_libraries(table)}
    auto_all = isinstance(components, str) and components.strip().lower() == "auto"
    if isinstance(components, str) and region is None and not auto_all:
        region = components.split("/")[0]
    if region is None:
        return [(s, "auto" if auto_all else libs.get(s.region, "auto"))
                for s in cands if s.region != "Survey"], False
    key = region_key(region)
    have = [s for s in cands if s.region == key]
    if not have:
        raise SulfurscopeError(
            f"no region {region!r}; available: {sorted({s.region for s in cands})}"
        )
    return [(have[0], components if components is not None else libs.get(key, "auto"))], True
