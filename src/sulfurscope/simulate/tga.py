"""Simulated TGA of a carbon–sulfur composite, written as a NETZSCH Proteus ASCII export.

The mass curve is two logistic steps on a heating ramp: adsorbed moisture leaving around 80 °C and
sulfur evaporating from the carbon's pores between ~200 and ~400 °C (the step
:func:`sulfurscope.spectra.sulfur_fraction` reads). This is a shell (it writes a file); the curve itself
is :func:`tga_curve`, a pure function.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sulfurscope._files import atomic_write_bytes

__all__ = ["tga_curve", "write_netzsch_tga"]


def tga_curve(
    sulfur_fraction: float,
    *,
    moisture_pct: float = 1.5,
    start_c: float = 30.0,
    end_c: float = 600.0,
    points: int = 1141,
    noise_pct: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Temperature (°C) and mass (% of the initial mass) of a C/S composite on a heating ramp.

    m(T) = 100 − w_m/(1 + e^{−(T−80)/5}) − x_S (100 − w_m)/(1 + e^{−(T−280)/12}), with x_S the sulfur
    mass fraction of the dry composite and w_m the moisture in %: the sulfur step removes x_S of the dry
    mass, which is what the study's TGA reports (48.5 / 49.0 / 49.7 wt%).

    Parameters
    ----------
    sulfur_fraction : float
        Sulfur mass fraction of the dry composite, 0–1.
    moisture_pct : float
        Moisture lost below ~150 °C, % of the initial mass.
    start_c, end_c : float
        Ramp limits, °C.
    points : int
        Samples on the ramp.
    noise_pct : float
        Gaussian noise on the mass, % (needs ``rng``).
    rng : numpy.random.Generator, optional
        Random generator for the noise.

    Returns
    -------
    temperature_c, mass_pct : (N,) ndarray of float

    Examples
    --------
    >>> t, m = tga_curve(0.49)
    >>> round(float(m[0]), 2), round(float(m[-1]), 2)
    (100.0, 50.24)
    """
    if not 0.0 < sulfur_fraction < 1.0:
        raise ValueError(f"sulfur_fraction: expected a fraction in (0, 1), got {sulfur_fraction}")
    t = np.linspace(start_c, end_c, points)
    dry = 100.0 - moisture_pct
    m = (
        100.0
        - moisture_pct / (1.0 + np.exp(-(t - 80.0) / 5.0))
        - sulfur_fraction * dry / (1.0 + np.exp(-(t - 280.0) / 12.0))
    )
    m = m - (m[0] - 100.0)  # the first point is the reference mass
    if noise_pct > 0:
        if rng is None:
            raise ValueError("rng: required when noise_pct > 0")
        m = m + rng.normal(0.0, noise_pct, m.size)
    return t, m


def write_netzsch_tga(
    temperature_c: np.ndarray,
    mass_pct: np.ndarray,
    path: str | Path,
    *,
    sample: str = "",
    sample_mass_mg: float = 10.0,
    heating_rate_k_min: float = 10.0,
    note: str = "",
) -> Path:
    """Write a NETZSCH Proteus ASCII export (``#KEY:`` header, ``##Temp./°C;Time/min;Mass/%``,
    decimal comma, Windows-1252, CRLF) atomically; return the path."""
    path = Path(path)
    lines = ["#EXPORTTYPE:\tDATA ALL", f"#SAMPLE:\t{sample}"]
    if note:
        lines.append(f"#REMARK:\t{note}")
    lines.append(f"#SAMPLE MASS /mg:\t{sample_mass_mg:.2f}".replace(".", ","))
    lines.append("##Temp./°C;Time/min;Mass/%")
    time_min = (temperature_c - temperature_c[0]) / heating_rate_k_min
    for t, tm, m in zip(temperature_c, time_min, mass_pct, strict=True):
        lines.append(f"{t:.3f};{tm:.3f};{m:.5f}".replace(".", ","))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path
