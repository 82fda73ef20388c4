"""Model A: the active-shell geometry, size distributions, rate prediction and the shell-thickness fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sulfurscope.errors import MissingColumnError, SulfurscopeError
from sulfurscope.model import (
    active_fraction,
    class_weights,
    electrode_active_fraction,
    fit_rate_law,
    fit_shell_thickness,
    gaussian_distribution,
    histogram_distribution,
    lognormal_distribution,
    measured_distribution,
    predict_rate_capability,
    rate_law_capacity,
    single_size,
)


# --- reference values (the study and MODEL.md §A) ---------------------------------------------------
def test_study_active_fractions():
    f = active_fraction([8.0, 4.0, 1.0, 2.0, 15.0], shell_um=1.0)
    np.testing.assert_allclose(f, [0.578125, 0.875, 1.0, 1.0, 0.349037], atol=1e-4)


def test_volume_weighted_broad_distributions():
    g = gaussian_distribution(8.0, 4.0, n_classes=60)
    ln = lognormal_distribution(8.0, 4.0, n_classes=60)
    assert electrode_active_fraction(g, shell_um=1.0) == pytest.approx(0.44, abs=0.01)
    assert electrode_active_fraction(ln, shell_um=1.0) == pytest.approx(0.40, abs=0.015)
    # number weighting would overestimate F (small particles are many but hold little sulfur)
    assert electrode_active_fraction(g, shell_um=1.0, weighting="number") > 0.5


def test_shell_from_capacity_ratio_single_size():
    t = pd.DataFrame(
        {
            "Sample": ["small", "big"],
            "C-rate": [0.4, 0.4],
            "Mean discharge capacity [mAh/g]": [600.0, 300.0],
        }
    )
    fit = fit_shell_thickness(t, {"small": 1.0, "big": 8.0}, reference="small")
    assert fit.shell_um == pytest.approx(0.825, abs=0.005)
    assert 0 < fit.shell_stderr_um < 0.5
    # with a broad volume-weighted distribution the same ratio needs a thicker shell
    fit_g = fit_shell_thickness(
        t, {"small": 1.0, "big": gaussian_distribution(8, 4)}, reference="small"
    )
    assert fit_g.shell_um > fit.shell_um


def test_gaussian_f_half_needs_thicker_shell():
    g = gaussian_distribution(8.0, 4.0)
    from scipy.optimize import brentq

    delta = brentq(lambda d: electrode_active_fraction(g, shell_um=d) - 0.5, 0.5, 3.0)
    assert delta == pytest.approx(1.2, abs=0.06)


# --- properties --------------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(
    d=st.floats(0.05, 100.0),
    dd=st.floats(0.0, 50.0),
    delta=st.floats(0.0, 10.0),
    dz=st.floats(0, 2),
)
def test_active_fraction_bounds_and_monotone(d, dd, delta, dz):
    f1 = float(active_fraction(d, shell_um=delta))
    f2 = float(active_fraction(d + dd, shell_um=delta))
    f3 = float(active_fraction(d, shell_um=delta + dz))
    assert 0.0 <= f1 <= 1.0
    assert f2 <= f1 + 1e-12  # bigger particles: smaller active share
    assert f3 >= f1 - 1e-12  # thicker shell: larger active share


@pytest.mark.parametrize("weighting", ["number", "area", "volume"])
def test_class_weights_normalised_and_single_size(weighting):
    g = gaussian_distribution(5.0, 2.0)
    w = class_weights(g, weighting=weighting)
    assert w.sum() == pytest.approx(1.0)
    assert electrode_active_fraction(
        single_size(6.0), shell_um=1, weighting=weighting
    ) == pytest.approx(float(active_fraction(6.0, shell_um=1)))


def test_measured_binning_keeps_volume_moment():
    rng = np.random.default_rng(0)
    d = rng.lognormal(np.log(6.0), 0.4, size=2000)
    full = measured_distribution(
        pd.DataFrame({"Equivalent diameter [um]": d}), column="Equivalent diameter [um]"
    )
    binned = measured_distribution(d, bins=15)
    f_full = electrode_active_fraction(full, shell_um=1.0)
    f_binned = electrode_active_fraction(binned, shell_um=1.0)
    assert f_binned == pytest.approx(f_full, abs=0.01)
    assert np.sum(binned.number_fraction * binned.diameter_um**3) == pytest.approx(
        np.mean(d**3), rel=1e-9
    )


def test_gaussian_converges_in_classes():
    f = [
        electrode_active_fraction(gaussian_distribution(8, 4, n_classes=n), shell_um=1)
        for n in (20, 40, 160)
    ]
    assert abs(f[1] - f[2]) < abs(f[0] - f[2]) + 1e-12
    assert abs(f[0] - f[2]) < 5e-3


# --- rate prediction -----------------------------------------------------------------------------------
RATES = np.array([1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5])
REF = rate_law_capacity(RATES, q_max_mah_g=1400.0, c_star=30.0, m=6.0)


@pytest.mark.parametrize("rate_correction", [True, False])
def test_prediction_of_reference_itself_is_identity(rate_correction):
    p = predict_rate_capability((RATES, REF), 1.0, shell_um=1.0, rate_correction=rate_correction)
    np.testing.assert_allclose(p.capacity_mah_g, REF, rtol=1e-9)


def test_study_scaling_without_correction():
    p = predict_rate_capability((RATES, REF), 8.0, shell_um=1.0, rate_correction=False)
    np.testing.assert_allclose(p.capacity_mah_g, 0.578125 * REF, rtol=1e-9)
    assert p.to_frame().shape == (5, 3)


def test_rate_correction_lowers_most_at_fastest_rate():
    plain = predict_rate_capability((RATES, REF), 8.0, shell_um=1.0, rate_correction=False)
    corr = predict_rate_capability((RATES, REF), 8.0, shell_um=1.0, rate_correction=True)
    drop = 1 - corr.capacity_mah_g / plain.capacity_mah_g
    assert np.all(drop > 0)
    assert np.argmax(drop) == RATES.size - 1
    assert 0.03 < drop[-1] < 0.15  # MODEL.md: a further 5–10 %, most at C/2.5


def test_prediction_from_rate_table_averages_rows():
    table = pd.DataFrame(
        {
            "C-rate": np.repeat(RATES, 2),
            "Discharge capacity [mAh/g]": np.repeat(REF, 2) + np.tile([-5, 5], 5),
        }
    )
    p = predict_rate_capability(table, 1.0, shell_um=1.0)
    np.testing.assert_allclose(p.capacity_mah_g, REF, rtol=1e-9)


def test_rate_law_fit_recovers_parameters():
    c = np.geomspace(0.02, 1.0, 8)
    q = rate_law_capacity(c, q_max_mah_g=1300.0, c_star=25.0, m=7.0)
    p = fit_rate_law(c, q)
    assert p["q_max_mah_g"] == pytest.approx(1300.0, rel=1e-3)
    assert p["m"] == pytest.approx(7.0, rel=1e-2)


# --- synthetic truth: δ from several samples and rates --------------------------------------------------
@pytest.mark.parametrize("rate_correction", [False, True])
def test_fit_shell_thickness_recovers_truth(rate_correction):
    dists = {
        "1": gaussian_distribution(1, 0.3),
        "4": gaussian_distribution(4, 1.2),
        "8": gaussian_distribution(8, 2.4),
    }
    rows = []
    for name, dist in dists.items():
        p = predict_rate_capability(
            (RATES, REF),
            dist,
            shell_um=1.3,
            rate_correction=rate_correction,
            reference_distribution=dists["1"],
        )
        for c, q in zip(p.c_rate, p.capacity_mah_g, strict=True):
            rows.append({"Sample": name, "C-rate": c, "Mean discharge capacity [mAh/g]": q})
    fit = fit_shell_thickness(
        pd.DataFrame(rows), dists, reference="1", rate_correction=rate_correction
    )
    assert fit.shell_um == pytest.approx(1.3, rel=1e-3)
    assert fit.success and fit.n_points == 10


# --- errors -----------------------------------------------------------------------------------------------
def test_errors():
    with pytest.raises(SulfurscopeError, match="d_um"):
        active_fraction([1.0, -2.0], shell_um=1.0)
    with pytest.raises(SulfurscopeError, match="shell_um"):
        active_fraction(1.0, shell_um=-1.0)
    with pytest.raises(MissingColumnError, match="Diameter"):
        measured_distribution(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(SulfurscopeError, match="histogram"):
        histogram_distribution([0, 1, 2], [1])
    with pytest.raises(SulfurscopeError, match="weighting"):
        class_weights(single_size(1.0), weighting="mass")  # type: ignore[arg-type]
    with pytest.raises(MissingColumnError, match="C-rate"):
        predict_rate_capability(pd.DataFrame({"Rate": [1]}), 8.0, shell_um=1.0)
    with pytest.raises(SulfurscopeError, match="reference"):
        fit_shell_thickness(
            pd.DataFrame(
                {"Sample": ["a"], "C-rate": [0.1], "Mean discharge capacity [mAh/g]": [1.0]}
            ),
            {"a": 1.0},
            reference="zz",
        )


def test_reference_from_rate_table_drops_formation_and_clusters_rates():
    table = pd.DataFrame(
        {
            "C-rate": [0.1, 0.0249, 0.1012, 0.398],
            "First cycle": [1, 2, 7, 12],
            "Cycles": [1, 5, 5, 5],
            "Mean discharge capacity [mAh/g]": [1600.0, 1000.0, 850.0, 700.0],
        }
    )
    p = predict_rate_capability(table, 1.0, shell_um=1.0)
    np.testing.assert_allclose(p.capacity_mah_g, [1000.0, 850.0, 700.0])
    summary = pd.DataFrame(
        {
            "Cycle": [1, 2, 3, 4, 5],
            "Discharge C-rate": [0.1, 0.1, 0.0995, 0.4, 0.402],
            "Discharge capacity [mAh/g]": [1600.0, 860.0, 840.0, 700.0, 690.0],
        }
    )
    p = predict_rate_capability(summary, 1.0, shell_um=1.0)
    np.testing.assert_allclose(p.capacity_mah_g, [850.0, 695.0])


def test_cluster_rates():
    from sulfurscope.model import cluster_rates

    got = cluster_rates([0.025, 0.0252, 0.4, np.nan, 0.1, 0.099])
    assert got[0] == got[1] and got[4] == got[5] and np.isnan(got[3])
    assert len(set(got[np.isfinite(got)])) == 3


def test_measured_table_units_converted():
    nm = measured_distribution(
        pd.DataFrame({"Equivalent diameter [nm]": [1000.0, 8000.0]}),
        column="Equivalent diameter [nm]",
    )
    np.testing.assert_allclose(nm.diameter_um, [1.0, 8.0])
    with pytest.raises(SulfurscopeError, match="unit"):
        measured_distribution(
            pd.DataFrame({"Equivalent diameter [px]": [3.0]}), column="Equivalent diameter [px]"
        )
