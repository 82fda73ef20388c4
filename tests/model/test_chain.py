"""Whole-chain synthetic truth: simulate → write .mpt → read → sulfurscope.cycling → fit → compare.

The simulated instrument (model B + C) writes EC-Lab text files with known parameters; the readers and
the cycling/GITT analyses turn them into the same tables a user gets from real files; the fits must
recover the parameters within 5 % (issue 4, "Accuracy and speed").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sulfurscope.cycling import cycle_summary, gitt_steps, rate_capability
from sulfurscope.cycling.gitt import fit_sphere_diffusivity, relaxation_times
from sulfurscope.io import read_cycler, write_mpt
from sulfurscope.model import (
    CellModel,
    CyclingParameters,
    FormationParameters,
    fit_cycling_model,
    fit_formation_model,
    gaussian_distribution,
    gitt_protocol,
    protocol_capacities,
    rate_test_protocol,
    simulate_protocol,
    single_size,
)

MASS_MG = 2.2
TRUE_C = CyclingParameters(
    k_c_per_h=3e-6, m_c=7.0, fade_per_cycle=0.12, solid_diffusivity_m2_s=4e-16
)
TRUE_B = FormationParameters(diffusivity_m2_s=1.6e-15)


def _through_files(frame, path: Path):
    write_mpt(frame, path, metadata={"sulfur_mass_mg": MASS_MG, "technique": "GCPL"})
    return read_cycler(path).frame


def test_rate_tests_recover_model_b_and_c_parameters(tmp_path):
    rng = np.random.default_rng(7)
    small = gaussian_distribution(1.0, 0.3, n_classes=4)
    big = gaussian_distribution(8.0, 2.4, n_classes=4)
    tables = {}
    for name, dist in (("small", small), ("big", big)):
        cell = CellModel(dist, TRUE_B, TRUE_C, n_cells=16)
        frame = simulate_protocol(
            rate_test_protocol(), cell, sulfur_mass_mg=MASS_MG, sample_interval_s=120, rng=rng
        )
        data = _through_files(frame, tmp_path / f"{name}.mpt")
        summary = cycle_summary(data, sulfur_mass_mg=MASS_MG)
        tables[name] = (summary.table, rate_capability(summary).table)
    # model C from the smallest particles' cycle summary (D₀ matters little there: f ≈ 1). The
    # solid-state diffusion term counts towards the voltage limits, so the capacities depend on D_s too:
    # it is not fitted here (the GITT test below recovers it), so the fit holds it at its true value;
    # the fitted parameters start from the defaults.
    known = CyclingParameters(solid_diffusivity_m2_s=TRUE_C.solid_diffusivity_m2_s)
    fit_c = fit_cycling_model(
        tables["small"][0], small, formation=TRUE_B, cycling=known, n_cells=16
    )
    for key in ("k_c_per_h", "m_c", "fade_per_cycle"):
        assert fit_c.values[key] == pytest.approx(getattr(TRUE_C, key), rel=0.05), key
    # model B's D₀ from both samples' rate-capability blocks, model C fixed at its fit
    fit_b = fit_formation_model(
        {"small": (small, tables["small"][1]), "big": (big, tables["big"][1])},
        cycling=fit_c.cycling,
        n_cells=16,
    )
    assert fit_b.values["diffusivity_m2_s"] == pytest.approx(TRUE_B.diffusivity_m2_s, rel=0.05)


def test_gitt_recovers_solid_diffusivity(tmp_path):
    cell = CellModel(single_size(8.0), TRUE_B, TRUE_C, n_cells=16)
    steps = gitt_protocol(n_cycles=2, max_pulses=20)
    frame = simulate_protocol(
        steps,
        cell,
        sulfur_mass_mg=MASS_MG,
        sample_interval_s=30,
        rng=np.random.default_rng(1),
        noise_v=2e-5,
    )
    data = _through_files(frame, tmp_path / "gitt.mpt")
    found = gitt_steps(data, sulfur_mass_mg=MASS_MG)
    tau = relaxation_times(data, found, v0="first_rest_point").to_frame()
    later = tau[(tau["Half cycle"] > 1) & ~tau["Pulse limited"]]
    # diffusion length in later cycles: the active layer left by the (GITT) formation discharge
    f = protocol_capacities(steps[:1], cell).formation.active_fraction[0]
    layer_um = 4.0 * (1.0 - (1.0 - f) ** (1.0 / 3.0))
    fit = fit_sphere_diffusivity(
        later["Tau [s]"], radius_um=layer_um, pulse_s=later["Pulse duration [s]"],
        rest_s=found.to_frame().set_index("Step").loc[later["Step"], "Rest duration [s]"],
        v_inf="last_sample",
    )
    assert fit.diffusivity_m2_s == pytest.approx(TRUE_C.solid_diffusivity_m2_s, rel=0.05)
    assert fit.ci95_m2_s[0] <= TRUE_C.solid_diffusivity_m2_s <= fit.ci95_m2_s[1]
    # the first discharge relaxes more slowly than later cycles (the study's GITT finding)
    first = tau[tau["Half cycle"] == 1]["Tau [s]"].median()
    assert first > 2 * later["Tau [s]"].median()
