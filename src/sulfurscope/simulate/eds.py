"""Simulated STEM-EDS spectrum image across a discharged particle's cross-section (study Fig 3c/d).

A disc-shaped particle (carbon matrix, sulfur roughly uniform) whose outer shell is rich in LiF, so
that the F Kα intensity falls from the surface inwards; outside the particle only a weak
bremsstrahlung and a trace of Cu (grid). Each pixel's expected spectrum is a sum of Gaussian lines
(FWHM from the detector resolution, :func:`sulfurscope.spectra.eds.line_fwhm_kev`) on a Kramers
bremsstrahlung ``k·(E₀ − E)/E`` with a low-energy detector cut-off; counts are Poisson.

F concentration vs depth ``d`` from the surface (the truth the tests recover)::

    c_F(d) = c_F0 · ½ erfc((d − δ) / (√2 σ))      δ: shell thickness, σ: its roughness

Everything here is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erfc

from sulfurscope.errors import SulfurscopeError
from sulfurscope.spectra.eds import SpectrumImage, line_fwhm_kev, xray_line_table

__all__ = ["SimulatedEds", "f_shell_profile", "simulate_particle_eds", "write_simulated_eds"]

# relative line intensities of each element (per unit concentration); K-family branching as in the table
_ELEMENT_LINES = {
    "C": ("C_Ka",),
    "O": ("O_Ka",),
    "F": ("F_Ka",),
    "S": ("S_Ka", "S_Kb"),
    "Cu": ("Cu_Ka", "Cu_Kb", "Cu_La"),
}


@dataclass(frozen=True, slots=True)
class SimulatedEds:
    """A simulated spectrum image and its truth.

    Attributes
    ----------
    spectrum_image : SpectrumImage
        Dense Poisson counts.
    concentration : dict of str → (ny, nx) ndarray
        Element intensity per pixel (expected counts of the element's main line).
    depth_nm : (ny, nx) ndarray, nm
        Distance from the particle surface, positive inside.
    centre_xy_px : (float, float)
    radius_px : float
    shell_nm, roughness_nm : float, nm
    """

    spectrum_image: SpectrumImage
    concentration: dict[str, np.ndarray]
    depth_nm: np.ndarray
    centre_xy_px: tuple[float, float]
    radius_px: float
    shell_nm: float
    roughness_nm: float

    def to_dict(self) -> dict[str, Any]:
        """Truth parameters as a dict."""
        return {
            "centre_xy_px": list(self.centre_xy_px),
            "radius_px": self.radius_px,
            "shell_nm": self.shell_nm,
            "roughness_nm": self.roughness_nm,
            "spectrum_image": self.spectrum_image.to_dict(),
        }


def f_shell_profile(
    depth_nm: np.ndarray,
    *,
    shell_nm: float,
    roughness_nm: float,
    tail_fraction: float = 0.0,
    tail_nm: float = 300.0,
) -> np.ndarray:
    """Relative F content vs depth: ``½ erfc((d − δ)/(√2 σ)) + f_t·exp(−d/λ_t)`` inside, 0 outside.

    The optional dilute tail (fraction ``tail_fraction`` of the surface content, decay length
    ``tail_nm``) is LiF that reaches deeper than the dense CEI layer (the study: rich in the outer
    ~100 nm, detectable to ~1 µm).

    Examples
    --------
    >>> float(f_shell_profile(np.array([100.0]), shell_nm=100.0, roughness_nm=20.0)[0])
    0.5
    """
    d = np.asarray(depth_nm, dtype=float)
    shell = 0.5 * erfc((d - shell_nm) / (np.sqrt(2.0) * roughness_nm))
    tail = tail_fraction * np.exp(-np.maximum(d, 0.0) / tail_nm) if tail_fraction else 0.0
    return np.where(d >= 0, shell + tail, 0.0)


def simulate_particle_eds(
    *,
    shape: tuple[int, int] = (64, 64),
    pixel_size_nm: float = 20.0,
    radius_px: float | None = None,
    centre_xy_px: tuple[float, float] | None = None,
    shell_nm: float = 150.0,
    roughness_nm: float = 30.0,
    tail_fraction: float = 0.0,
    tail_nm: float = 300.0,
    counts: dict[str, float] | None = None,
    background_counts: float = 20.0,
    n_channels: int = 1024,
    energy_scale_kev: float = 0.01,
    energy_offset_kev: float = 0.0,
    resolution_mnka_ev: float = 130.0,
    beam_energy_kev: float = 200.0,
    rng: np.random.Generator,
) -> SimulatedEds:
    """Spectrum image of a particle cross-section with a LiF-rich shell (F), uniform S, C matrix.

    Parameters
    ----------
    shape : (ny, nx)
    pixel_size_nm : float, nm
    radius_px : float, optional
        Particle radius (default 0.6 × the image's smaller side, centred below the image's middle
        so the surface crosses the field of view as in Fig 3c).
    centre_xy_px : (float, float), optional
        Particle centre (x, y) in pixels (default: (nx/2, ny·0.95)).
    shell_nm, roughness_nm : float, nm
        F-rich shell thickness δ and its roughness σ (:func:`f_shell_profile`).
    tail_fraction, tail_nm : float
        Dilute F tail below the shell (:func:`f_shell_profile`; default none).
    counts : dict element → float
        Expected counts per pixel in the main line of each element at full concentration
        (defaults C 30, O 3, F 40 (at the surface), S 25, Cu 1 (everywhere, grid)).
    background_counts : float
        Expected bremsstrahlung counts per pixel over the spectrum inside the particle (a tenth
        outside).
    n_channels, energy_scale_kev, energy_offset_kev : spectrum axis.
    resolution_mnka_ev : float, eV
    beam_energy_kev : float, keV
    rng : numpy.random.Generator
    """
    ny, nx = shape
    if ny < 4 or nx < 4:
        raise SulfurscopeError(f"shape must be at least 4 × 4, got {shape}")
    if pixel_size_nm <= 0 or shell_nm <= 0 or roughness_nm <= 0:
        raise SulfurscopeError("pixel_size_nm, shell_nm and roughness_nm must be > 0")
    c = {"C": 30.0, "O": 3.0, "F": 40.0, "S": 25.0, "Cu": 1.0}
    c.update(counts or {})
    r = 0.6 * min(ny, nx) if radius_px is None else float(radius_px)
    cx, cy = centre_xy_px if centre_xy_px is not None else (nx / 2.0, ny * 0.95)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    depth_px = r - np.hypot(xx - cx, yy - cy)
    depth_nm = depth_px * pixel_size_nm
    inside = depth_px >= 0
    conc = {
        "C": np.where(inside, c["C"], 0.0),
        "O": np.where(inside, c["O"], 0.0),
        "F": c["F"] * f_shell_profile(depth_nm, shell_nm=shell_nm, roughness_nm=roughness_nm,
                                      tail_fraction=tail_fraction, tail_nm=tail_nm),
        "S": np.where(inside, c["S"], 0.0),
        "Cu": np.full(shape, c["Cu"]),
    }
    table = xray_line_table().set_index("Line")
    e = energy_offset_kev + energy_scale_kev * np.arange(n_channels)
    components = []
    for el, lines in _ELEMENT_LINES.items():
        spec = np.zeros(n_channels)
        for line in lines:
            e0 = float(table.loc[line, "Energy [keV]"])
            w = float(table.loc[line, "Weight"])
            if line == "Cu_La":
                w = 0.3
            s = line_fwhm_kev(e0, resolution_mnka_ev=resolution_mnka_ev) / 2.3548
            spec += (
                w * energy_scale_kev * np.exp(-0.5 * ((e - e0) / s) ** 2) / (np.sqrt(2 * np.pi) * s)
            )
        components.append((conc[el], spec))
    ee = np.clip(e, 1e-3, None)
    brems = np.where(e > 0.1, (beam_energy_kev - ee) / ee * (1 - np.exp(-((ee / 0.8) ** 3))), 0.0)
    brems = brems / brems.sum()
    components.append((np.where(inside, background_counts, 0.1 * background_counts), brems))
    lam = np.zeros((ny, nx, n_channels))
    for amp, spec in components:
        lam += amp[:, :, None] * spec[None, None, :]
    data = rng.poisson(lam).astype(np.uint16)
    si = SpectrumImage(
        (ny, nx, n_channels),
        data,
        None,
        None,
        float(energy_offset_kev),
        float(energy_scale_kev),
        float(pixel_size_nm),
        float(resolution_mnka_ev),
        float(beam_energy_kev),
        1.0,
        "simulated",
    )
    return SimulatedEds(
        si, conc, depth_nm, (float(cx), float(cy)), r, float(shell_nm), float(roughness_nm)
    )


def write_simulated_eds(
    path: str | Path, *, rng: np.random.Generator, **kwargs: Any
) -> tuple[Path, SimulatedEds]:
    """Simulate (:func:`simulate_particle_eds` with ``kwargs``) and write a ``.hspy``/``.rpl`` file.

    The file reads back with :func:`sulfurscope.io.eds.read_eds`, ``sulfurscope eds`` and
    ``hyperspy.load``; its title says it is simulated. Returns the path and the truth.
    """
    from sulfurscope.io.eds import write_spectrum_image

    sim = simulate_particle_eds(rng=rng, **kwargs)
    title = (
        f"SIMULATED STEM-EDS: particle cross-section, LiF shell {sim.shell_nm:g} nm "
        f"(sigma {sim.roughness_nm:g} nm), sulfurscope"
    )
    return write_spectrum_image(sim.spectrum_image, path, title=title), sim
