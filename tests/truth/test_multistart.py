"""Local minima are not called converged: a start that traps a component away from its peak (its area
collapses) must not be reported; the best of several starts is, with a warning naming the trap.
Truth: two Gaussians of known area and position."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.spectra.peaks import Component, PeakModel, fit_peaks, fit_problems

X = np.linspace(0.0, 10.0, 401)


def _data() -> np.ndarray:
    g = lambda c, w: np.exp(-0.5 * ((X - c) / w) ** 2)  # noqa: E731
    return 100 * g(3.0, 0.5) + 60 * g(6.5, 0.3) + np.random.default_rng(0).normal(0, 1, X.size)


def _model(start_b: float) -> PeakModel:
    return PeakModel(
        (
            Component("a", 3.0, 1.2, shape="gaussian", center_bounds=(1.0, 5.0)),
            Component("b", start_b, 0.7, shape="gaussian", center_bounds=(5.0, 9.5),
                      vary_fwhm=False),
        ),
        background="none",
    )  # fmt: skip


@pytest.mark.parametrize("start_b", [8.5, 9.0, 9.4])
def test_trapped_start_is_escaped_and_named(start_b):
    single = fit_peaks(X, _data(), _model(start_b))
    assert single.area[1] < 1.0  # the trap: b's area collapses far from its peak
    fit = fit_peaks(X, _data(), _model(start_b), starts=5)
    true_b_area = 60 * 0.3 * np.sqrt(2 * np.pi)
    assert fit.center[1] == pytest.approx(6.5, abs=0.01)
    assert fit.area[1] == pytest.approx(true_b_area, rel=0.02)
    assert fit.first_start_excess > 1.0
    _, doubtful = fit_problems(fit)
    assert any("local minimum" in m for m in doubtful)


def test_a_clean_fit_agrees_from_every_start():
    fit = fit_peaks(X, _data(), _model(6.4), starts=5)
    assert fit.starts_at_best == 5 and fit.first_start_excess < 1e-6
    assert fit_problems(fit) == ([], [])


def test_xps_default_fit_uses_several_starts():
    from sulfurscope.simulate.xps import simulate_xps
    from sulfurscope.spectra.xps import fit_xps

    fit = fit_xps(simulate_xps(rng=0), "S 2p/paper")
    assert fit.starts == 5 and fit.starts_at_best >= 3
    assert fit_problems(fit)[1] == []
