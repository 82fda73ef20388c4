"""The study's Figure 2 story from the simulated instrument (issue 3 demo, issue 4 part E).

A GITT per particle size (C/10 pulses of 100 mAh/g_S, 2 h rests), simulated by model B (first
discharge) + model C (later cycles) with their default parameters and analysed exactly like measured
files: in the first discharge the relaxation is slower and the overpotential larger for bigger particles
(solid-state diffusion across the particle radius, saturated by the pulse length for the big ones);
afterwards τ is alike for all sizes (diffusion across the active layer). Rate capabilities stay the
study's ~600 vs ~300 mAh/g_S at C/2.5 on one plateau near 2.1 V.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope._sphere import sphere_tau_s
from sulfurscope.cycling import gitt_steps
from sulfurscope.cycling.gitt import relaxation_times, transport_scaling
from sulfurscope.model import (
    CellModel,
    CyclingParameters,
    gaussian_distribution,
    gitt_protocol,
    protocol_capacities,
    rate_test_protocol,
    simulate_protocol,
)

SIZES_UM = (1.0, 4.0, 8.0)
MASS_MG = 2.5
PULSE_S = 100.0 / (0.1 * 1672.0) * 3600.0  # 100 mAh/g_S at C/10: 2153 s


def _cell(d_um: float) -> CellModel:
    # what the demo simulates: a Gaussian of relative width 0.3, 12 classes, default parameters
    return CellModel(distribution=gaussian_distribution(d_um, 0.3 * d_um, n_classes=12))


@pytest.fixture(scope="module")
def gitt() -> dict[float, tuple[pd.DataFrame, pd.DataFrame]]:
    out = {}
    for d in SIZES_UM:
        frame = simulate_protocol(
            gitt_protocol(), _cell(d), sulfur_mass_mg=MASS_MG, rng=np.random.default_rng(2026)
        )
        steps = gitt_steps(frame, sulfur_mass_mg=MASS_MG)
        tau = relaxation_times(frame, steps, v0="first_rest_point").to_frame()
        out[d] = (steps.to_frame(), tau)
    return out


def _median_tau(tau: pd.DataFrame, first: bool) -> float:
    sel = tau["Half cycle"] == 1 if first else tau["Half cycle"] > 1
    assert sel.sum() >= 5
    return float(tau.loc[sel, "Tau [s]"].median())


def test_first_discharge_tau_grows_with_size(gitt):
    tau = {d: _median_tau(gitt[d][1], first=True) for d in SIZES_UM}
    assert tau[1.0] < tau[4.0] < tau[8.0]
    assert 2.0 <= tau[8.0] / tau[1.0] <= 5.0
    assert min(tau.values()) >= 120.0  # well resolved at 60 s sampling
    labels = set(gitt[8.0][1].loc[gitt[8.0][1]["Half cycle"] == 1, "Half cycle label"])
    assert labels == {"first discharge"}


def test_later_tau_alike_across_sizes(gitt):
    tau = np.array([_median_tau(gitt[d][1], first=False) for d in SIZES_UM])
    assert np.all(np.abs(tau / tau.mean() - 1.0) <= 0.35), tau
    # both later half-cycles are there for every size
    for d in SIZES_UM:
        assert {"first charge", "second discharge"} <= set(gitt[d][1]["Half cycle label"])


def test_first_discharge_overpotential_larger_for_big_particles(gitt):
    eta = {}
    for d in (1.0, 8.0):
        steps = gitt[d][0]
        eta[d] = float(steps.loc[steps["Half cycle"] == 1, "Overpotential [V]"].median())
    # CCV − relaxed voltage is negative on discharge; bigger particles polarise more
    assert eta[8.0] < eta[1.0] < 0.0
    assert abs(eta[8.0]) > 2.0 * abs(eta[1.0])


def test_one_plateau_near_2v1(gitt):
    for d in SIZES_UM:
        steps = gitt[d][0]
        qocv = steps.loc[steps["Half cycle"] > 1, "QOCV [V]"]
        assert qocv.between(1.95, 2.25).all(), (d, qocv.min(), qocv.max())


@pytest.mark.parametrize(("d_um", "expected"), [(1.0, 600.0), (8.0, 300.0)])
def test_rate_capacity_at_c_2_5(d_um, expected):
    table = protocol_capacities(rate_test_protocol(), _cell(d_um)).table
    block = table[(table["Mode"] == "discharge") & np.isclose(table["C-rate"], 0.4)]
    assert len(block) == 5
    assert block["Capacity [mAh/g]"].mean() == pytest.approx(expected, rel=0.20)


def test_transport_scaling_on_simulated_first_discharge(gitt):
    """The ~3× first-discharge τ ratio is not τ ∝ L²: the fitted exponent is far below 2."""
    first = pd.concat([gitt[d][1].assign(size=d) for d in SIZES_UM])
    first = first[first["Half cycle"] == 1]
    res = transport_scaling(first["size"], first["Tau [s]"], pulse_s=first["Pulse duration [s]"])
    assert res.n_sizes == 3
    assert 0.2 < res.exponent < 1.2
    # every simulated τ is below the 1.2 t_p flag (see the xfail below for why that is a problem)
    assert (first["Tau [s]"] < 1.2 * first["Pulse duration [s]"]).all()


def test_transport_scaling_reports_the_pulse_limit_with_the_model_d():
    """With the model's pristine D the fully relaxed sphere τ_e (MODEL.md) reaches 1.2 t_p only
    for particles ≳ 25 µm; there transport_scaling must add its caveat, and not below."""
    d_p = CyclingParameters().pristine_diffusivity_m2_s
    sizes = (1.0, 8.0, 32.0)
    tau = [sphere_tau_s(PULSE_S, 0.5e-6 * d, d_p) for d in sizes]
    assert tau[0] < tau[1] < 1.2 * PULSE_S <= tau[2]
    res = transport_scaling(sizes, tau, pulse_s=PULSE_S)
    assert res.pulse_limited.tolist() == [False, False, True]
    assert "pulse-limited" in res.note and "L^2" in res.note
    clean = transport_scaling(sizes[:2], tau[:2], pulse_s=PULSE_S)
    assert not clean.pulse_limited.any() and "pulse-limited" not in clean.note


def test_transport_scaling_flags_simulated_first_discharge(gitt):
    """With V∞ = last sample of the 2 h rest a pulse-saturated surface reads τ ≈ 0.46 t_p, not 1.38 t_p:
    the rest-aware rule flags the large particles' first-discharge τ and says the ratio is no proof of L²."""
    parts = []
    for d in SIZES_UM:
        steps, tau = gitt[d]
        parts.append(tau.merge(steps[["Step", "Rest duration [s]"]], on="Step").assign(size=d))
    first = pd.concat(parts)
    first = first[first["Half cycle"] == 1]
    res = transport_scaling(
        first["size"],
        first["Tau [s]"],
        pulse_s=first["Pulse duration [s]"],
        rest_s=first["Rest duration [s]"],
        v_inf="last_sample",
    )
    assert res.pulse_limited.any() and "pulse-limited" in res.note and "L^2" in res.note
    # the flags follow size: most 8 µm rests are pulse-limited, the 1 µm ones are not
    by_size = first.assign(limited=first["Pulse limited"]).groupby("size")["limited"].mean()
    assert by_size[8.0] > 0.5 > by_size[1.0]
