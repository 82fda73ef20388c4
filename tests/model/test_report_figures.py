"""report/model.py: every figure function returns a Figure with content."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sulfurscope.model import (
    CellModel,
    fit_cycling_model,
    gaussian_distribution,
    long_cycling_protocol,
    predict_rate_capability,
    rate_law_capacity,
    simulate_protocol,
    single_size,
)
from sulfurscope.report.model import (
    plot_active_fraction,
    plot_formation_profiles,
    plot_model_fit,
    plot_rate_predictions,
    plot_voltage_comparison,
)

RATES = np.array([0.025, 0.1, 0.4])


def test_figures():
    dists = {"1 um": gaussian_distribution(1, 0.3), "8 um": gaussian_distribution(8, 2.4)}
    fig = plot_active_fraction(dists, shell_um=1.0)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ref = (RATES, rate_law_capacity(RATES, q_max_mah_g=1400, c_star=30, m=6))
    preds = {k: predict_rate_capability(ref, d, shell_um=1.0) for k, d in dists.items()}
    assert len(plot_rate_predictions(preds).axes) == 2
    from sulfurscope.analysis.model import ModelFormationOptions, analyse_model_formation

    formation = analyse_model_formation(
        ModelFormationOptions(particle_sizes_um=(8.0,), particle_size_sd_um=(2.4,), n_classes=4, n_cells=14)
    )
    profiles = formation.tables["formation_profiles"]
    assert profiles["Diameter [um]"].nunique() == 4
    curves = formation.tables["formation_curves"]
    assert len(plot_formation_profiles(profiles, curves, c_rate=0.1).axes) == 2
    cell = CellModel(single_size(1.0), n_cells=14)
    sim = simulate_protocol(
        long_cycling_protocol(0.2, 2), cell, sulfur_mass_mg=2.0, sample_interval_s=600
    )
    fig = plot_voltage_comparison(sim, sim, sulfur_mass_mg=2.0)
    assert len(fig.axes[0].lines) == 2
    import pandas as pd

    table = pd.DataFrame(
        {
            "Cycle": [1, 2, 3, 4],
            "Discharge C-rate": [0.1, 0.1, 0.4, 0.4],
            "Discharge capacity [mAh/g]": [1600.0, 900.0, 700.0, 690.0],
        }
    )
    fit = fit_cycling_model(table, 1.0, vary=("k_c_per_h", "m_c"), n_cells=14)
    assert len(plot_model_fit(fit.table).axes[0].lines) == 2
