"""Sulfur content from thermogravimetry: the mass-loss steps of sulfur evaporation.

In a carbon–sulfur composite heated in inert gas, moisture and solvent leave below about 150 °C; then
sulfur evaporates — bulk and mesopore sulfur around 250–350 °C, sulfur held in micropores (the study's
0.8 nm pores) up to ~600 °C, often as a second step. A fixed 150–400 °C window misses the second step:
on a two-step curve of true content 0.50 it returns 0.22–0.32. So the default (``method="steps"``)
finds the steps in the derivative:

1. −dm/dT (DTG) on a 0.5 °C grid, Savitzky–Golay smoothed over ~15 °C;
2. the dry point T_d: the DTG minimum between ``moisture_end_c`` ± 30 °C (default 150 °C), the mass
   there m_d;
3. the sulfur loss runs from T_d to the end of the last step: 30 °C past the last temperature where
   the DTG is above 2 % of its peak above T_d (the mass has stopped falling; the step's tail is gone);
   its mass m_e;
4. w_S = (m_d − m_e) / m_d (dry basis, ``normalise="dry"``) or / m(initial) (``"initial"``).

Every step (DTG peak above 5 % of the largest, with its temperature and mass loss) is reported, and
``complete`` is False when the curve ends while the mass is still falling (the DTG at the last point is
above the 2 % threshold): the fraction is then a lower bound. The uncertainty combines the mass noise
(the residual of the smoothed curve, on both ends) with the end-point choice (the fraction with the
threshold at 1 % and 5 % instead of 2 %).

``method="window"`` keeps the classic fixed window: w_S = (m(T₁) − m(T₂)) / m(T₁).
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
    sulfur_fraction_sd : float
        One standard deviation of the fraction (steps method; NaN for the window method).
    method : str
        ``"steps"`` or ``"window"``.
    steps : tuple of (float, float)
        The DTG peaks found: (temperature °C, mass lost in the step % of initial).
    complete : bool
        False when the curve ends while the mass is still falling.
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
    sulfur_fraction_sd: float = float("nan")
    method: str = "window"
    steps: tuple[tuple[float, float], ...] = ()
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        """As a plain dict."""
        return asdict(self)


def sulfur_fraction(
    temperature_c: np.ndarray,
    mass: np.ndarray,
    *,
    method: Literal["steps", "window"] = "steps",
    moisture_end_c: float = 150.0,
    window_c: tuple[float, float] = (150.0, 400.0),
    normalise: Literal["dry", "window_start", "initial"] = "dry",
) -> TGAResult:
    """Sulfur mass fraction of a composite from its TGA curve (module docstring).

    Parameters
    ----------
    temperature_c, mass : (N,) ndarray of float
        Heating segment; mass in any unit (converted to % of the first value).
    method : {"steps", "window"}
        Find the sulfur steps in the DTG (default) or use the fixed ``window_c``.
    moisture_end_c : float, °C
        Where moisture and solvent have left (steps method; refined to the DTG minimum nearby).
    window_c : (float, float)
        The fixed window (window method).
    normalise : {"dry", "window_start", "initial"}
        Divide the loss by the dry mass (at T_d, or T₁ for the window method) or by the initial mass.

    Examples
    --------
    >>> T = np.linspace(25, 800, 1551)
    >>> m = (100 - 0.5 / (1 + np.exp(-(T - 90) / 8)) - 30 / (1 + np.exp(-(T - 280) / 15))
    ...      - 20 / (1 + np.exp(-(T - 470) / 20)))
    >>> r = sulfur_fraction(T, m, normalise="initial")
    >>> round(r.sulfur_fraction, 2), len(r.steps), r.complete
    (0.5, 2, True)
    """
    if method == "window":
        norm = "window_start" if normalise == "dry" else normalise
        return _window_fraction(temperature_c, mass, window_c=window_c, normalise=norm)
    if method != "steps":
        raise SulfurscopeError(f"method must be 'steps' or 'window', got {method!r}")
    return _steps_fraction(temperature_c, mass, moisture_end_c=moisture_end_c, normalise=normalise)


def _curve(temperature_c: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(temperature_c, dtype=float)
    m = np.asarray(mass, dtype=float)
    if t.shape != m.shape or t.ndim != 1:
        raise SulfurscopeError(
            f"temperature and mass must be 1-D arrays of one length, got {t.shape} and {m.shape}"
        )
    ok = np.isfinite(t) & np.isfinite(m)
    t, m = t[ok], m[ok]
    if len(t) < 20:
        raise SulfurscopeError(f"the TGA curve has {len(t)} points; at least 20 are needed")
    m_pct = 100.0 * m / m[0]
    order = np.argsort(t, kind="stable")  # heating segment: cooling would fold the curve
    return t[order], m_pct[order]


def _dtg(ts: np.ndarray, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Grid, smoothed mass and DTG on 0.5 °C steps, and the noise of one smoothed mass value: the
    raw residual's std × √(9/(4 n)), the variance factor of a quadratic Savitzky–Golay filter at
    its centre over the n raw points its window spans."""
    grid = np.arange(ts[0], ts[-1], 0.5)
    if grid.size < 40:
        raise SulfurscopeError(f"the TGA curve spans only {ts[-1] - ts[0]:.0f} °C")
    mg = np.interp(grid, ts, ms)
    win = min(31, grid.size - (1 - grid.size % 2))
    smooth = savgol_filter(mg, win, 2)
    dtg = -savgol_filter(mg, win, 2, deriv=1, delta=0.5)
    raw_per_c = (ts.size - 1) / max(ts[-1] - ts[0], 1e-9)
    n_raw = max(win * 0.5 * raw_per_c, 3.0)
    residual = ms - np.interp(ts, grid, smooth)
    noise = float(np.std(residual) * np.sqrt(9.0 / (4.0 * n_raw)))
    return grid, smooth, dtg, noise


def _loss_end(grid: np.ndarray, dtg: np.ndarray, k0: int, frac: float) -> int:
    """Index where the loss has ended: 30 °C past the last temperature (beyond k0) whose DTG
    exceeds ``frac`` of its peak (the step's tail is gone by then), or the end of the curve."""
    peak = float(np.max(dtg[k0:])) if k0 < dtg.size else 0.0
    above = np.flatnonzero(dtg[k0:] > frac * peak) + k0 if peak > 0 else np.array([], int)
    last = int(above[-1]) if above.size else k0
    return min(last + int(round(30.0 / (grid[1] - grid[0]))), grid.size - 1)


def _steps_fraction(
    temperature_c: np.ndarray, mass: np.ndarray, *, moisture_end_c: float, normalise: str
) -> TGAResult:
    from scipy.signal import find_peaks

    ts, ms = _curve(temperature_c, mass)
    grid, smooth, dtg, noise = _dtg(ts, ms)
    near = np.flatnonzero(np.abs(grid - moisture_end_c) <= 30.0)
    if near.size == 0:
        raise SulfurscopeError(
            f"the TGA curve ({ts[0]:.0f}–{ts[-1]:.0f} °C) does not reach {moisture_end_c:.0f} °C"
        )
    k_dry = int(near[np.argmin(dtg[near])])
    if not np.max(dtg[k_dry:]) > 0 or smooth[-1] >= smooth[k_dry]:
        raise SulfurscopeError(
            f"the mass does not fall after {grid[k_dry]:.0f} °C ({smooth[k_dry]:.2f} → "
            f"{smooth[-1]:.2f} %): no sulfur step (buoyancy uncorrected? oxidising gas?)"
        )
    fractions = {}
    for frac in (0.01, 0.02, 0.05):
        k_end = _loss_end(grid, dtg, k_dry, frac)
        base = smooth[k_dry] if normalise in ("dry", "window_start") else 100.0
        fractions[frac] = (smooth[k_dry] - smooth[k_end]) / base, k_end
    w, k_end = fractions[0.02]
    spread = abs(fractions[0.01][0] - fractions[0.05][0]) / 3
    base = smooth[k_dry] if normalise in ("dry", "window_start") else 100.0
    sd = float(np.hypot(np.sqrt(2.0) * noise / base, spread))
    peak = float(np.max(dtg[k_dry:]))
    idx, _ = find_peaks(dtg[k_dry:k_end + 1], prominence=0.05 * peak, distance=40)
    steps = _step_losses(grid, smooth, dtg, idx + k_dry, k_dry, k_end)
    complete = bool(dtg[-1] <= 0.02 * peak)
    k_peak = int(k_dry + np.argmax(dtg[k_dry:]))
    onset = int(np.flatnonzero(dtg[k_dry:] > 0.02 * peak)[0] + k_dry) if peak > 0 else k_dry
    return TGAResult(
        sulfur_fraction=float(w), mass_at_start_pct=float(smooth[k_dry]),
        mass_at_end_pct=float(smooth[k_end]), window_c=(float(grid[k_dry]), float(grid[k_end])),
        normalise=normalise, dtg_peak_c=float(grid[k_peak]), onset_c=float(grid[onset]),
        endset_c=float(grid[k_end]), residue_pct=float(ms[-1]), sulfur_fraction_sd=sd,
        method="steps", steps=steps, complete=complete,
    )


def _step_losses(grid: np.ndarray, smooth: np.ndarray, dtg: np.ndarray, peaks: np.ndarray,
                 lo: int, hi: int) -> tuple[tuple[float, float], ...]:
    """(temperature, mass lost) of each step: split at the DTG minimum between neighbouring
    peaks, from the dry point to the end of the loss."""
    bounds = [lo]
    for a, b in zip(peaks[:-1], peaks[1:], strict=True):
        bounds.append(int(a + np.argmin(dtg[a:b + 1])))
    bounds.append(hi)
    return tuple((float(grid[p]), float(smooth[bounds[k]] - smooth[bounds[k + 1]]))
                 for k, p in enumerate(peaks))


def _window_fraction(
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
    >>> round(_window_fraction(T, m).sulfur_fraction, 3)
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
