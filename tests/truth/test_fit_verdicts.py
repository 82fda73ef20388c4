"""Fits that fail or are doubtful say so: a model that misses the data (low R²), a parameter held
by its bound. A good fit of the same data passes. The verdicts reach the analysis's flags."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.spectra.peaks import Component, fit_peaks, fit_problems


def _two_peaks() -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(155.0, 175.0, 801)
    g = lambda c, w: np.exp(-0.5 * ((x - c) / w) ** 2)  # noqa: E731
    rng = np.random.default_rng(3)
    return x, 1000 * g(160.7, 0.5) + 1000 * g(169.7, 0.6) + rng.normal(0, 5, x.size)


def test_good_model_passes():
    x, y = _two_peaks()
    fit = fit_peaks(x, y, [Component("a", 160.5, 1.0), Component("b", 169.5, 1.0)])
    assert fit_problems(fit) == ([], []) and fit.r_squared > 0.99


def test_a_model_missing_a_peak_is_a_failed_fit():
    x, y = _two_peaks()
    fit = fit_peaks(x, y, [Component("a", 160.5, 1.0)])
    failed, _ = fit_problems(fit)
    assert fit.r_squared < 0.9 and any("R²" in m for m in failed)


def test_a_parameter_held_by_its_bound_is_doubtful():
    x, y = _two_peaks()
    fit = fit_peaks(x, y, [Component("a", 161.5, 1.0, center_bounds=(161.2, 162.0)),
                           Component("b", 169.5, 1.0)])
    _, doubtful = fit_problems(fit)
    assert fit.at_bounds and any("pinned at a bound" in m for m in doubtful)


def test_verdicts_become_flags_and_a_quality_column():
    from types import SimpleNamespace

    from sulfurscope.analysis.xps import _quality

    x, y = _two_peaks()
    bad = fit_peaks(x, y, [Component("a", 160.5, 1.0)])
    good = fit_peaks(x, y, [Component("a", 160.5, 1.0), Component("b", 169.5, 1.0)])
    flags: list = []
    q = _quality(SimpleNamespace(regions=("S 2p", "C 1s"), fits=(bad, good)), flags)
    assert list(q["Verdict"]) == ["failed", "ok"]
    assert [(f.code, f.severity, f.subject) for f in flags] == [("fit_failed", "failed", "S 2p")]
    pytest.importorskip("pandas")
