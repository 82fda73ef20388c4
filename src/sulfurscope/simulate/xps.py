"""Simulated XPS regions (forward model) for tests and the demo.

Components (Voigt doublets/singlets from a library, with known areas) on an *active* Shirley background
``b₀ + k ∫_{E₀}^{E} P dE′`` (the inelastic step grows with the peak area below E), sampled as counts
with Poisson noise and returned as counts per second, like the instruments export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from sulfurscope.errors import SulfurscopeError
from sulfurscope.spectra.backgrounds import cumulative_area
from sulfurscope.spectra.peaks import Component, PeakModel, _compile, _evaluate
from sulfurscope.spectra.xps import XPSSpectrum, component_library

__all__ = ["S2P_STUDY_AREAS", "simulate_xps", "xps_truth"]

#: Default S 2p areas (counts/s·eV): reduced S 33 % (Li2S 8, terminal 15, bridging 10 of 100).
S2P_STUDY_AREAS: dict[str, float] = {
    "Li2S": 800.0,
    "terminal S": 1500.0,
    "bridging S": 1000.0,
    "C-S": 4200.0,
    "sulfate": 2500.0,
}


def xps_truth(
    energy_ev: ArrayLike,
    components: Sequence[Component],
    *,
    baseline: float = 200.0,
    shirley_k: float = 0.02,
) -> np.ndarray:
    """Noise-free intensity of ``components`` (each with its ``area``) on an active Shirley background.

    Examples
    --------
    >>> e = np.linspace(155, 175, 401)
    >>> y = xps_truth(e, [Component("a", 162.0, 1.0, area=100.0, shape="gaussian")], shirley_k=0.1)
    >>> round(float(y[-1] - y[0]), 1)
    10.0
    """
    e = np.asarray(energy_ev, dtype=float)
    comps = tuple(components)
    for c in comps:
        if c.area is None:
            raise SulfurscopeError(f"component {c.name!r} needs an area for the simulation")
    model = PeakModel(comps, background="none")
    cm, theta = _compile(e, np.zeros_like(e), model)
    peaks = _evaluate(cm, theta)[0]
    return baseline + peaks + shirley_k * cumulative_area(e, peaks)


def simulate_xps(
    components: str | Sequence[Component] = "S 2p/paper",
    *,
    areas: Mapping[str, float] | None = None,
    energy_ev: ArrayLike | None = None,
    fwhm_ev: float | None = None,
    baseline: float = 200.0,
    shirley_k: float = 0.02,
    dwell_s: float = 1.0,
    noise: bool = True,
    region: str | None = None,
    source_energy_ev: float = 1486.6,
    rng: np.random.Generator | int | None = None,
) -> XPSSpectrum:
    """A simulated region: library components with known areas, active Shirley, Poisson noise.

    Parameters
    ----------
    components : library name or components (with ``area`` set, or given through ``areas``)
    areas : mapping name → area (counts/s·eV); default :data:`S2P_STUDY_AREAS` for S 2p
    energy_ev : ascending axis; default 155–175 eV, 0.05 eV step (401 points)
    fwhm_ev : override every component's FWHM
    baseline, shirley_k : background ``baseline + k ∫P``
    dwell_s : counts = intensity × dwell (sets the Poisson noise level)
    noise : add Poisson noise
    region, source_energy_ev : carried into the spectrum
    rng : random generator or seed

    Examples
    --------
    >>> s = simulate_xps(rng=0)
    >>> s.region, s.binding_energy_ev.size
    ('S 2p', 401)
    """
    from dataclasses import replace

    e = np.linspace(155.0, 175.0, 401) if energy_ev is None else np.asarray(energy_ev, dtype=float)
    if isinstance(components, str):
        comps = component_library(components)
        region = region or components.split("/")[0].strip()
        if areas is None and comps[0].name == "Li2S":
            areas = S2P_STUDY_AREAS
    else:
        comps = tuple(components)
    if areas is not None:
        missing = [c.name for c in comps if c.name not in areas]
        if missing:
            raise SulfurscopeError(f"areas missing for components {missing}")
        comps = tuple(replace(c, area=float(areas[c.name])) for c in comps)
    if fwhm_ev is not None:
        comps = tuple(replace(c, fwhm=float(fwhm_ev)) for c in comps)
    y = xps_truth(e, comps, baseline=baseline, shirley_k=shirley_k)
    if noise:
        gen = np.random.default_rng(rng)
        y = gen.poisson(y * dwell_s).astype(float) / dwell_s
    from sulfurscope.spectra.xps import region_key

    return XPSSpectrum(
        region=region_key(region or "XPS"),
        binding_energy_ev=e,
        intensity=y,
        source_energy_ev=float(source_energy_ev),
    )
