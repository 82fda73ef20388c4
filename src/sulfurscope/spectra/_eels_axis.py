"""Energy-axis and spectrum checks shared by the EELS modules (no analysis here)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sulfurscope.errors import SulfurscopeError


def _axis(energy_ev: Any, n: int, what: str = "energy_ev") -> np.ndarray:
    e = np.asarray(energy_ev, dtype=float)
    if e.ndim != 1 or e.size != n:
        raise SulfurscopeError(
            f"{what} must be a 1-D axis with {n} channels (the last axis of the spectra), "
            f"got shape {e.shape}"
        )
    if n < 2:
        raise SulfurscopeError(f"{what} needs at least 2 channels, got {n}")
    d = np.diff(e)
    if not np.all(d > 0):
        raise SulfurscopeError(f"{what} must be strictly increasing")
    if not np.allclose(d, d[0], rtol=1e-4, atol=0.0):
        raise SulfurscopeError(f"{what} must be uniform (constant dispersion)")
    return e


def _spectra(counts: Any, what: str = "spectra") -> np.ndarray:
    a = np.asarray(counts, dtype=float)
    if a.ndim < 1 or a.shape[-1] < 2:
        raise SulfurscopeError(f"{what} must have the energy axis last, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise SulfurscopeError(f"{what} contains NaN or infinite counts")
    return a


def _index(energy: np.ndarray, value: float | np.ndarray) -> np.ndarray:
    """Channel index of ``value`` (HyperSpy's value2index rounding), clipped to [0, N]."""
    e0, de = energy[0], energy[1] - energy[0]
    return np.clip(np.rint((np.asarray(value, dtype=float) - e0) / de), 0, energy.size).astype(int)


def _window(energy: np.ndarray, window: tuple[float, float], what: str) -> tuple[int, int]:
    lo, hi = float(window[0]), float(window[1])
    if not hi > lo:
        raise SulfurscopeError(f"{what} {window}: the upper limit must exceed the lower one")
    if lo < energy[0] - 0.5 * (energy[1] - energy[0]) or hi > energy[-1] + (energy[1] - energy[0]):
        raise SulfurscopeError(
            f"{what} {window} eV lies outside the energy axis "
            f"({energy[0]:.2f}–{energy[-1]:.2f} eV); choose edges inside it or set the window"
        )
    i0, i1 = int(_index(energy, lo)), int(_index(energy, hi))
    if i1 - i0 < 2:
        raise SulfurscopeError(f"{what} {window} eV spans fewer than 2 channels")
    return i0, i1
