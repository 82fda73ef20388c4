"""Sulfur content from thermogravimetry: the mass-loss step of sulfur evaporation.

In a carbon–sulfur composite heated in inert gas, sulfur evaporates between about 150 and 400 °C while
the carbon stays; below 150 °C only moisture and solvent leave. The sulfur mass fraction is therefore

    w_S = (m(T₁) − m(T₂)) / m(T₁),    T₁ ≈ 150 °C, T₂ ≈ 400 °C,

normalised to the dry mass at T₁ (``normalise="window_start"``, the default) or to the initial mass
(``normalise="initial"``). The derivative (DTG) locates the evaporation peak and the step's onset and
end (where −dm/dT exceeds 5 % of its peak).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.signal import savgol_filter

from sulfurscope.errors import SulfurscopeError

__all__ = ["TGAResult", "sulfur_fraction"]


@dataclass(frozen=True, slots=True)
class TGAResult:
    """Sulfur fraction from one TGA curve.

    Attributes
    ----------
    sulfur_fraction : float
        Mass fraction of sulfur, 0–1.
    mass_at_start_pct, mass_at_end_pct : float
        Mass at the window's ends, % of the initial mass.
    window_c : tuple of float
        (T₁, T₂), °C.
    normalise : str
        ``"window_start"`` (dry mass at T₁) or ``"initial"``.
    dtg_peak_c : float
        Temperature of the fastest mass loss inside the window, °C.
    onset_c, endset_c : float
        Where −dm/dT first and last exceeds 5 % of its peak inside the window, °C.
    residue_pct : float
        Mass at the highest temperature, % of initial.
    """

    sulfur_fraction: float
    mass_at_start_pct: float
    mass_at_end_pct: float
    window_c: tuple[float, float]
    normalise: str
    dtg_peak_c: float
    onset_c: float
    endset_c: float
    residue_pct: float

    def to_dict(self) -> dict[str, Any]:
        """As a plain dict."""
        return asdict(self)


def sulfur_fraction(
    temperature_c: np.ndarray,
    mass: np.ndarray,
    *,
    window_c: tuple[float, float] = (150.0, 400.0),
    normalise: Literal["window_start", "initial"] = "window_start",
) -> TGAResult:
    """Sulfur mass fraction from the mass-loss step between ``window_c`` temperatures.

    Parameters
    ----------
    temperature_c : (N,) ndarray of float, °C
        Sample temperature (heating segment).
    mass : (N,) ndarray of float, % or mg
        Sample mass (any unit; converted to % of the first value).
    window_c : (float, float)
        Evaporation window (T₁, T₂), °C.
    normalise : {"window_start", "initial"}
        Divide the loss by the mass at T₁ (dry basis) or by the initial mass.

    Returns
    -------
    TGAResult

    Raises
    ------
    SulfurscopeError
        If the curve does not cover the window, lengths differ, or the mass rises across the window.

    Examples
    --------
    >>> T = np.linspace(25, 600, 1151)
    >>> m = 100 - 2 / (1 + np.exp(-(T - 90) / 5)) - 49 / (1 + np.exp(-(T - 280) / 10))
    >>> round(sulfur_fraction(T, m).sulfur_fraction, 3)
    0.5
    """
    t = np.asarray(temperature_c, dtype=float)
    m = np.asarray(mass, dtype=float)
    if t.shape != m.shape or t.ndim != 1:
        raise SulfurscopeError(
            f"temperature and mass must be 1-D arrays of one length, got {t.shape} and {m.shape}"
        )
    ok = np.isfinite(t) & np.isfinite(m)
    t, m = t[ok], m[ok]
    lo, hi = window_c
    if len(t) < 5 or t.min() > lo or t.max() < hi:
        raise SulfurscopeError(
            f"the TGA curve spans {t.min() if len(t) else float('nan'):.0f}–"
            f"{t.max() if len(t) else float('nan'):.0f} °C; the window {lo:.0f}–{hi:.0f} °C must lie inside it"
        )
    m_pct = 100.0 * m / m[0]
    # heating segment only: sort by temperature (cooling segments would fold the curve)
    order = np.argsort(t, kind="stable")
    ts, ms = t[order], m_pct[order]
    m1 = float(np.interp(lo, ts, ms))
    m2 = float(np.interp(hi, ts, ms))
    if m2 > m1:
        raise SulfurscopeError(
            f"mass rises from {m1:.2f} % at {lo:.0f} °C to {m2:.2f} % at {hi:.0f} °C: not a sulfur "
            "evaporation step (buoyancy uncorrected? oxidising gas?)"
        )
    base = m1 if normalise == "window_start" else 100.0
    w = (m1 - m2) / base
    grid = np.linspace(lo, hi, 501)
    mg = np.interp(grid, ts, ms)
    win = min(51, len(grid) - (1 - len(grid) % 2))
    dtg = -savgol_filter(mg, win, 2, deriv=1, delta=grid[1] - grid[0])
    k = int(np.argmax(dtg))
    above = np.flatnonzero(dtg > 0.05 * dtg[k]) if dtg[k] > 0 else np.array([k])
    return TGAResult(
        sulfur_fraction=float(w),
        mass_at_start_pct=m1,
        mass_at_end_pct=m2,
        window_c=(float(lo), float(hi)),
        normalise=normalise,
        dtg_peak_c=float(grid[k]),
        onset_c=float(grid[above[0]]),
        endset_c=float(grid[above[-1]]),
        residue_pct=float(ms[-1]),
    )
