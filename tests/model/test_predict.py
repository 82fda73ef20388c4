"""Predictions of a fitted model per sample: rate test, retention, first discharge."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.cycling import cycle_summary
from sulfurscope.model import (
    CellModel,
    CyclingParameters,
    FormationParameters,
    gaussian_distribution,
    predict_samples,
    rate_test_protocol,
    simulate_protocol,
    single_size,
)
from sulfurscope.report import plot_sample_predictions

PARAMS_C = CyclingParameters()
PARAMS_B = FormationParameters()


@pytest.fixture(scope="module")
def predictions():
    dists = {"1 um": single_size(1.0), "8 um": gaussian_distribution(8.0, 2.4, n_classes=6)}
    return dists, predict_samples(
        dists, cycling=PARAMS_C, formation=PARAMS_B, cycles_per_rate=2, long_cycles=30, n_cells=16
    )


def test_predicted_rate_test_matches_the_simulated_instrument(predictions) -> None:
    """Synthetic truth: the same parameters through the simulated cycler and the cycle summary."""
    dists, pred = predictions
    frame = simulate_protocol(
        rate_test_protocol(cycles_per_rate=2),
        CellModel(dists["8 um"], PARAMS_B, PARAMS_C, n_cells=16),
        sulfur_mass_mg=2.0,
        sample_interval_s=300.0,
    )
    measured = cycle_summary(frame, sulfur_mass_mg=2.0).table
    p = pred.rate[pred.rate["Sample"] == "8 um"]
    np.testing.assert_allclose(
        p["Discharge capacity [mAh/g]"].to_numpy(),
        measured["Discharge capacity [mAh/g]"].to_numpy(),
        rtol=1e-6,
    )


def test_predictions_follow_the_study(predictions) -> None:
    _, pred = predictions
    # smaller particles: larger active fraction and capacity at every rate
    assert pred.active_fraction["1 um"] > pred.active_fraction["8 um"]
    small = pred.rate[pred.rate["Sample"] == "1 um"]["Discharge capacity [mAh/g]"].to_numpy()
    big = pred.rate[pred.rate["Sample"] == "8 um"]["Discharge capacity [mAh/g]"].to_numpy()
    assert np.all(small > big)
    # retention: 100 % at cycle 2, fading early, then levelling off
    for name in ("1 um", "8 um"):
        r = pred.retention[pred.retention["Sample"] == name].set_index("Cycle")["Retention [%]"]
        assert r[2] == pytest.approx(100.0)
        assert r[30] < r[10] < 100.0
        assert (r[10] - r[30]) < (100.0 - r[10])
    # the first discharge ends at the 0.5 V cut-off
    f = pred.first_discharge
    for name in ("1 um", "8 um"):
        assert f[f["Sample"] == name]["Voltage [V]"].iloc[-1] == pytest.approx(0.5, abs=0.02)


def test_prediction_figure(predictions) -> None:
    _, pred = predictions
    fig = plot_sample_predictions(pred)
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "1 um model",
        "8 um model",
    ]
