"""Model D: fits with lmfit to sulfurscope-shaped result tables (synthetic truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.errors import FitError, MissingColumnError
from sulfurscope.model import (
    CellModel,
    CyclingParameters,
    FormationParameters,
    fit_cycling_model,
    fit_formation_model,
    gaussian_distribution,
    protocol_capacities,
    protocol_from_table,
    rate_test_protocol,
)

RATES = (1 / 40, 1 / 10, 1 / 2.5)


def _summary(cell: CellModel, rates=RATES, cycles=3) -> pd.DataFrame:
    """A cycle summary (discharge-first cycles) made from model capacities."""
    steps = rate_test_protocol(rates, cycles_per_rate=cycles)
    t = protocol_capacities(steps, cell).table
    dis = t[t["Mode"].isin(["formation", "discharge"])].reset_index(drop=True)
    ch = t[t["Mode"] == "charge"]["C-rate"].tolist() + [np.nan]
    return pd.DataFrame(
        {
            "Cycle": np.arange(1, len(dis) + 1),
            "Discharge C-rate": dis["C-rate"],
            "Discharge capacity [mAh/g]": dis["Capacity [mAh/g]"],
            "Charge C-rate": ch,
        }
    )


def test_protocol_from_summary_reproduces_the_test():
    cell = CellModel(gaussian_distribution(1.0, 0.3, n_classes=4), n_cells=16)
    table = _summary(cell)
    steps, points = protocol_from_table(table)
    assert steps == rate_test_protocol(RATES, cycles_per_rate=3)
    assert list(points["Cycle"]) == list(range(1, 11))


def test_fit_cycling_model_recovers_truth():
    true = CyclingParameters(k_c_per_h=4e-6, m_c=6.5, fade_per_cycle=0.15)
    dist = gaussian_distribution(1.0, 0.3, n_classes=4)
    table = _summary(CellModel(dist, cycling=true, n_cells=16))
    fit = fit_cycling_model(table, dist, n_cells=16)
    assert fit.values["k_c_per_h"] == pytest.approx(4e-6, rel=1e-3)
    assert fit.values["m_c"] == pytest.approx(6.5, rel=1e-3)
    assert fit.values["fade_per_cycle"] == pytest.approx(0.15, rel=1e-3)
    assert fit.initial["m_c"] == 8.0 and fit.success
    assert set(fit.correlations) <= {
        "k_c_per_h|m_c",
        "k_c_per_h|fade_per_cycle",
        "m_c|fade_per_cycle",
    }
    np.testing.assert_allclose(
        fit.table["Fitted [mAh/g]"], fit.table["Measured [mAh/g]"], rtol=1e-4
    )
    assert list(fit.to_frame()["Parameter"]) == ["k_c_per_h", "m_c", "fade_per_cycle"]


def test_fit_formation_model_recovers_diffusivity():
    form = FormationParameters(diffusivity_m2_s=2.0e-15)
    dists = {
        "4": gaussian_distribution(4.0, 1.2, n_classes=3),
        "8": gaussian_distribution(8.0, 2.4, n_classes=3),
    }
    samples = {
        k: (d, _summary(CellModel(d, form, n_cells=14), rates=(0.1, 0.4), cycles=1))
        for k, d in dists.items()
    }
    fit = fit_formation_model(samples, n_cells=14)
    assert fit.values["diffusivity_m2_s"] == pytest.approx(2.0e-15, rel=0.01)
    assert fit.stderr["diffusivity_m2_s"] >= 0 or np.isnan(fit.stderr["diffusivity_m2_s"])
    assert set(fit.table["Sample"]) == {"4", "8"}


def test_formation_sensitivity_predicts_the_refit():
    """∂D₀/∂c from the implicit-function theorem against the truth it approximates: model B refitted
    with model C's k_c and m_c moved (two more least-squares fits, not the formula)."""
    from dataclasses import replace

    from sulfurscope.model import formation_sensitivity

    form = FormationParameters(diffusivity_m2_s=2.0e-15)
    cyc = CyclingParameters()
    dists = {
        "4": gaussian_distribution(4.0, 1.2, n_classes=3),
        "8": gaussian_distribution(8.0, 2.4, n_classes=3),
    }
    rng = np.random.default_rng(3)
    samples = {}
    for k, d in dists.items():
        t = _summary(CellModel(d, form, cyc, n_cells=14), rates=(0.1, 0.4), cycles=2)
        t["Discharge capacity [mAh/g]"] *= 1 + rng.normal(0, 0.01, len(t))  # a non-zero residual
        samples[k] = (d, t)
    base = fit_formation_model(samples, cycling=cyc, n_cells=14)
    seen = []

    def backwards(fn, calls):  # a runner that runs the model runs out of order, as workers may
        seen.append(len(calls))
        return [fn(*c) for c in calls[::-1]][::-1]

    g = formation_sensitivity(samples, cycling=cyc, formation=base.formation,
                              cycling_names=["k_c_per_h", "m_c"], n_cells=14)["diffusivity_m2_s"]
    again = formation_sensitivity(samples, cycling=cyc, formation=base.formation,
                                  cycling_names=["k_c_per_h", "m_c"], n_cells=14,
                                  runner=backwards)["diffusivity_m2_s"]
    assert again == g and seen == [4 * len(samples)]  # base, D₀, k_c, m_c per sample
    for name, rel in (("k_c_per_h", 0.05), ("m_c", 0.02)):
        moved = replace(cyc, **{name: getattr(cyc, name) * (1 + rel)})
        refit = fit_formation_model(samples, cycling=moved, n_cells=14)
        shift = refit.values["diffusivity_m2_s"] - base.values["diffusivity_m2_s"]
        predicted = g[name] * getattr(cyc, name) * rel
        assert abs(shift) > 0, name
        assert predicted == pytest.approx(shift, rel=0.25), (name, predicted, shift)


def test_errors():
    with pytest.raises(MissingColumnError, match="cycle summary"):
        protocol_from_table(pd.DataFrame({"x": [1]}))
    with pytest.raises(FitError, match="cannot fit"):
        table = pd.DataFrame(
            {
                "Cycle": [1, 2],
                "Discharge C-rate": [0.1, 0.1],
                "Discharge capacity [mAh/g]": [1000.0, 900.0],
            }
        )
        fit_cycling_model(table, 1.0)
