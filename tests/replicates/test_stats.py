"""Condition statistics: coverage of the 95 % interval over synthetic replicates drawn from a known
distribution, Welch differences against scipy's ttest_ind as oracle, robust z."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.replicates import compare_conditions, condition_summary, robust_z

MU, SIGMA = 600.0, 40.0


def _values(x: np.ndarray, u_shared: float = 0.0, u_cell: float = 0.0,
            trial_col: bool = True) -> pd.DataFrame:
    trials, n = x.shape
    return pd.DataFrame({
        "condition": np.repeat([f"t{k}" for k in range(trials)], n),
        "metric": "First-discharge capacity", "protocol": "rate",
        "cycle_or_rate": "first discharge", "cell": np.tile([f"c{i}" for i in range(n)], trials),
        "value": x.ravel(), "unit": "mAh/g", "u_shared": u_shared, "u_cell": u_cell,
    })


def _coverage(x: np.ndarray, truth: float, **kw) -> float:
    s = condition_summary(_values(x, **{k: v for k, v in kw.items() if k.startswith("u_")}),
                          **{k: v for k, v in kw.items() if not k.startswith("u_")})
    return float(((s["ci95_low"] <= truth) & (truth <= s["ci95_high"])).mean())


@pytest.mark.parametrize("n", [3, 5])
def test_t_interval_covers_the_true_mean_95_percent(n) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(MU, SIGMA, size=(1000, n))
    cov = _coverage(x, MU)
    assert 0.92 <= cov <= 0.98, cov


@pytest.mark.parametrize("n", [3, 5])
def test_shared_uncertainty_is_added_and_still_covers(n) -> None:
    # a shared error (the sample's sulfur fraction) shifts every cell of a trial alike: the
    # spread alone cannot see it; with u_shared stated the interval covers the true mean
    rng = np.random.default_rng(10 + n)
    u_sh = 25.0
    x = MU + rng.normal(0, u_sh, size=(1000, 1)) + rng.normal(0, SIGMA, size=(1000, n))
    assert _coverage(x, MU) < 0.92  # ignoring it under-covers
    cov = _coverage(x, MU, u_shared=u_sh)
    assert 0.92 <= cov <= 0.98, cov


def test_single_cell_interval_is_its_measurement_uncertainty() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(MU, 12.0, size=(1000, 1))
    cov = _coverage(x, MU, u_cell=12.0)
    assert 0.92 <= cov <= 0.98, cov
    s = condition_summary(_values(x[:1]))  # no stated uncertainty: no interval, said so
    assert np.isnan(s["ci95_low"].iloc[0]) and "no interval" in s["method"].iloc[0]


def test_bootstrap_option_for_larger_n() -> None:
    rng = np.random.default_rng(4)
    x = rng.lognormal(np.log(MU), 0.1, size=(300, 10))
    truth = MU * np.exp(0.1**2 / 2)
    cov = _coverage(x, truth, method="bootstrap")
    assert 0.85 <= cov <= 0.98, cov  # percentile bootstrap under-covers a little at n = 10
    s = condition_summary(_values(x[:2, :3]), method="bootstrap")
    assert (s["method"] == "t").all()  # n < 5 falls back to t


def test_welch_difference_matches_scipy() -> None:
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(5)
    a, b = rng.normal(600, 30, 3), rng.normal(320, 12, 5)
    vals = pd.concat([
        _values(a[None, :]).assign(condition="small"),
        _values(b[None, :]).assign(condition="big"),
    ])
    comp = compare_conditions(condition_summary(vals))
    ci = ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    row = comp.iloc[0]
    assert row["difference"] == pytest.approx(a.mean() - b.mean())
    assert row["ci95_low"] == pytest.approx(ci.low, rel=1e-9)
    assert row["ci95_high"] == pytest.approx(ci.high, rel=1e-9)
    assert bool(row["excludes_zero"]) and row["method"] == "Welch"


def test_difference_with_overlapping_conditions_does_not_exclude_zero() -> None:
    rng = np.random.default_rng(6)
    vals = pd.concat([
        _values(rng.normal(600, 30, (1, 3))).assign(condition="a"),
        _values(rng.normal(600, 30, (1, 3))).assign(condition="b"),
    ])
    comp = compare_conditions(condition_summary(vals))
    assert not bool(comp["excludes_zero"].iloc[0])


def test_robust_z_floor_keeps_agreeing_cells_unflagged() -> None:
    x = np.array([600.0, 600.1, 605.0])
    assert abs(robust_z(x)[2]) > 3.5  # a tiny MAD alone would flag a 1 % difference
    assert abs(robust_z(x, floor=0.02 * 600)[2]) < 1.0
    assert np.isnan(robust_z(np.array([np.nan, 1.0]))[0])
