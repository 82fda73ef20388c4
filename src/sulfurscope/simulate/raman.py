"""Forward model of Raman spectra of carbons: known bands on a baseline, with noise and spikes.

Used by the synthetic-truth tests and the demo. Every spectrum is labelled simulated by the caller
(the demo writes "simulated data" into the file header). Band heights are the *peak heights* of the
noise-free bands, so the true I_D/I_G (height) is ``height_D / height_G`` and the true I_D/I_G (area)
follows from the shapes (Lorentzian area = π/2·FWHM·height, Gaussian area = √(π/ln 2)/2·FWHM·height).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope.spectra.lineshapes import gaussian, lorentzian

__all__ = [
    "DISORDERED_CARBON_BANDS",
    "band_area",
    "simulate_raman",
    "simulate_raman_line",
    "write_demo_raman",
]

# A disordered (activated) carbon as in the reference study's Fig S1: broad D above G.
DISORDERED_CARBON_BANDS: tuple[dict[str, Any], ...] = (
    {"name": "D4", "shape": "lorentzian", "center_cm1": 1210.0, "fwhm_cm1": 180.0, "height": 60.0},
    {"name": "D1", "shape": "lorentzian", "center_cm1": 1345.0, "fwhm_cm1": 160.0, "height": 400.0},
    {"name": "D3", "shape": "gaussian", "center_cm1": 1505.0, "fwhm_cm1": 130.0, "height": 90.0},
    {"name": "G", "shape": "lorentzian", "center_cm1": 1590.0, "fwhm_cm1": 65.0, "height": 260.0},
    {"name": "D2", "shape": "lorentzian", "center_cm1": 1618.0, "fwhm_cm1": 35.0, "height": 50.0},
)

_GAUSS_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))


def band_area(shape: str, fwhm_cm1: float, height: float) -> float:
    """Integrated area of a band from its FWHM and peak height (Lorentzian or Gaussian).

    >>> round(band_area("lorentzian", 2.0, 1.0), 6)  # π/2 · FWHM · h
    3.141593
    """
    if shape == "lorentzian":
        return float(np.pi / 2.0 * fwhm_cm1 * height)
    if shape == "gaussian":
        sigma = fwhm_cm1 / _GAUSS_FWHM
        return float(height * sigma * np.sqrt(2.0 * np.pi))
    raise ValueError(f"shape must be 'lorentzian' or 'gaussian', got {shape!r}")


def _band(x: np.ndarray, b: Mapping[str, Any]) -> np.ndarray:
    shape, fwhm, h, c = b["shape"], float(b["fwhm_cm1"]), float(b["height"]), float(b["center_cm1"])
    area = band_area(shape, fwhm, h)
    if shape == "lorentzian":
        return np.asarray(lorentzian(x, area, c, fwhm / 2.0))
    return np.asarray(gaussian(x, area, c, fwhm / _GAUSS_FWHM))


def simulate_raman(
    shift_cm1: Any,
    bands: Sequence[Mapping[str, Any]] = DISORDERED_CARBON_BANDS,
    *,
    baseline: Sequence[float] = (500.0, 0.05),
    noise: float | str = "poisson",
    n_spikes: int = 0,
    spike_height: float = 2000.0,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """One simulated Raman spectrum (counts).

    Parameters
    ----------
    shift_cm1 : (N,) array_like of float, 1/cm
    bands : sequence of mappings
        Each with ``shape`` ("lorentzian"/"gaussian"), ``center_cm1``, ``fwhm_cm1``, ``height``.
    baseline : sequence of float
        Polynomial coefficients in powers of (shift − first shift)/1000 (``c0 + c1·u + ...``).
    noise : "poisson" or float
        Poisson counting noise, or Gaussian noise of this standard deviation (0 for none).
    n_spikes : int
        Single-pixel cosmic-ray spikes at random points.
    spike_height : float
        Height of each spike (counts), scaled by U(0.5, 1).
    rng : Generator, int or None

    Returns
    -------
    (N,) ndarray of float
    """
    gen = np.random.default_rng(rng)
    x = np.asarray(shift_cm1, dtype=float)
    u = (x - x[0]) / 1000.0
    clean = np.polynomial.polynomial.polyval(u, np.asarray(baseline, dtype=float))
    for b in bands:
        clean = clean + _band(x, b)
    if noise == "poisson":
        y = gen.poisson(np.clip(clean, 0.0, None)).astype(float)
    else:
        y = clean + gen.normal(0.0, float(noise), x.size)
    if n_spikes:
        where = gen.choice(np.arange(2, x.size - 2), size=n_spikes, replace=False)
        y[where] += spike_height * gen.uniform(0.5, 1.0, n_spikes)
    return y


def simulate_raman_line(
    shift_cm1: Any,
    id_ig_height: Sequence[float],
    *,
    bands: Sequence[Mapping[str, Any]] = DISORDERED_CARBON_BANDS,
    d_name: str = "D1",
    baseline: Sequence[float] = (500.0, 0.05),
    noise: float | str = "poisson",
    spikes_per_spectrum: int = 1,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """A line of spectra whose I_D/I_G (height) follows ``id_ig_height`` (G fixed, D scaled).

    Returns
    -------
    (M, N) ndarray of float
        One row per entry of ``id_ig_height``.
    """
    gen = np.random.default_rng(rng)
    g = next(b for b in bands if b["name"] == "G")
    out = []
    for r in id_ig_height:
        bs = [dict(b, height=float(r) * g["height"]) if b["name"] == d_name else b for b in bands]
        out.append(
            simulate_raman(
                shift_cm1, bs, baseline=baseline, noise=noise, n_spikes=spikes_per_spectrum, rng=gen
            )
        )
    return np.asarray(out)


def write_demo_raman(
    folder: str | Path,
    id_ig_height: Mapping[str, float] | None = None,
    *,
    rng: np.random.Generator | int | None = 0,
) -> dict[str, Path]:
    """Write one simulated Raman text file per sample (for the demo study), labelled simulated.

    Parameters
    ----------
    folder : str or Path
    id_ig_height : mapping of sample label → true I_D/I_G (height, D1/G), optional
        Default: the study's milled activated carbons, a little more disorder for smaller particles
        (8 µm 1.45, 4 µm 1.55, 1 µm 1.65).
    rng : Generator, int or None

    Returns
    -------
    dict of label → Path
        ``raman_<label>.txt`` (two columns, 532 nm-like axis 800–2200 cm⁻¹, 1.2 cm⁻¹ step).
    """
    from sulfurscope.io.raman import write_raman_text

    gen = np.random.default_rng(rng)
    ratios = id_ig_height or {"8um": 1.45, "4um": 1.55, "1um": 1.65}
    x = np.arange(800.0, 2200.0, 1.2)
    out: dict[str, Path] = {}
    base = [dict(b, height=8.0 * b["height"]) for b in DISORDERED_CARBON_BANDS]
    for label, r in ratios.items():
        y = simulate_raman_line(
            x, [r], bands=base, baseline=(2500.0, 300.0), spikes_per_spectrum=2, rng=gen
        )[0]
        header = (
            f"SIMULATED DATA (sulfurscope demo): Raman of carbon sample {label}, "
            f"true I_D/I_G (height, D1/G) = {r:g}"
        )
        out[label] = write_raman_text(Path(folder) / f"raman_{label}.txt", x, y, header=header)
    return out
