"""Backgrounds: Shirley recovers its own definition, fixed point = iteration, end levels, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sulfurscope.errors import FitError, SulfurscopeError
from sulfurscope.spectra import backgrounds as bg
from sulfurscope.spectra import lineshapes as ls

X = np.linspace(155.0, 175.0, 401)
# Gaussians: the peaks vanish at the window ends, so the Shirley definition holds exactly there
PEAKS = ls.gaussian(X, 1000.0, 162.0, 0.5) + ls.gaussian(X, 600.0, 168.0, 0.6)


def _active(lo: float, k: float) -> np.ndarray:
    return lo + k * bg.cumulative_area(X, PEAKS)


@pytest.mark.parametrize("k", [0.0, 0.02, 0.2])
def test_shirley_recovers_a_shirley_background(k: float) -> None:
    truth = _active(200.0, k)
    est = bg.shirley(X, PEAKS + truth, average_points=1)
    # peaks decay to ~1e-3 of their height at the window ends (Voigt tails): tolerance 0.5 count
    np.testing.assert_allclose(est, truth, atol=1e-3 * (1 + k * 1600))


def test_fixed_point_equals_converged_iteration() -> None:
    y = PEAKS + _active(150.0, 0.05)
    lo, hi = bg.end_levels(y, average_points=3)
    it = bg.shirley(X, y, average_points=3, tol=1e-12, max_iter=500)
    fp = bg._shirley_fixed_point(X, y, lo, hi)
    assert fp is not None
    np.testing.assert_allclose(fp, it, atol=1e-3 * (hi - lo))


def test_shirley_without_a_monotonic_solution_raises() -> None:
    # a sloping tail on the high side much larger than the peak's own step: no Shirley solution
    x = np.linspace(155.0, 180.0, 501)
    y = 240 + 1500 * np.exp(-((x - 161.5) ** 2) / 0.8) + 12 * np.clip(x - 163, 0, None)
    with pytest.raises(FitError, match="narrow the window"):
        bg.shirley(x, y)


def test_end_point_averaging() -> None:
    y = np.r_[np.full(5, 10.0), np.full(10, 50.0), 100.0, np.full(4, 20.0)]
    assert bg.end_levels(y, average_points=5) == (10.0, 36.0)
    assert bg.end_levels(y, average_points=1) == (10.0, 20.0)
    x = np.arange(y.size, dtype=float)
    lin = bg.linear(x, y, average_points=5)
    assert lin[0] == 10.0 and lin[-1] == 36.0


def test_tougaard_meets_both_end_levels() -> None:
    y = PEAKS + _active(100.0, 0.05)
    t = bg.tougaard(X, y, average_points=1)
    assert t[0] == pytest.approx(y[0])
    assert t[-1] == pytest.approx(y[-1])
    assert bg.tougaard_matrix(X).shape == (X.size, X.size)


@settings(max_examples=25, deadline=None)
@given(st.floats(-500, 500), st.floats(0.1, 20.0))
def test_shirley_is_affine_equivariant(offset: float, scale: float) -> None:
    y = PEAKS + _active(200.0, 0.03)
    base = bg.shirley(X, y)
    np.testing.assert_allclose(
        bg.shirley(X, scale * y + offset),
        scale * base + offset,
        rtol=1e-6,
        atol=1e-6 * scale * 1000,
    )


@pytest.mark.parametrize("fn", [bg.shirley, bg.linear, bg.tougaard])
def test_bad_input(fn) -> None:
    with pytest.raises(SulfurscopeError, match="strictly increasing"):
        fn(X[::-1], PEAKS[::-1])
    y = PEAKS.copy()
    y[3] = np.nan
    with pytest.raises(SulfurscopeError, match="NaN"):
        fn(X, y)
    with pytest.raises(SulfurscopeError, match="at least 3"):
        fn(X[:2], PEAKS[:2])
    with pytest.raises(SulfurscopeError, match="average_points"):
        fn(X, PEAKS, average_points=300)
