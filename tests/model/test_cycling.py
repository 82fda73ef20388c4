"""Model C: one plateau, asymmetric kinetics, shared potential, fade; and the GITT sphere map."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sulfurscope._sphere import sphere_tau_dimless as tau_dimless
from sulfurscope._sphere import sphere_tau_s as tau_s
from sulfurscope.errors import SulfurscopeError
from sulfurscope.model import (
    CellModel,
    CyclingParameters,
    ProtocolStep,
    charge_limited_capacity,
    fade_vulnerable_share,
    gaussian_distribution,
    protocol_capacities,
    rate_test_protocol,
    simulate_half_cycle,
    single_size,
    sphere_roots,
)

FLAT = CyclingParameters(ocv_slope_v=0.0)


@pytest.mark.parametrize("c_rate", [0.025, 0.1, 0.4, 1.0])
def test_closed_form_rate_law_is_exact_for_one_class(c_rate):
    hc = simulate_half_cycle([1.0], [0.7], FLAT, c_rate=c_rate, direction="charge")
    assert hc.capacity_mah_g == pytest.approx(
        float(charge_limited_capacity(c_rate, FLAT, active_fraction=0.7)), rel=1e-8
    )
    assert hc.ended_by == "voltage"
    assert hc.voltage_v[-1] == pytest.approx(FLAT.v_max, abs=1e-6)


def test_shared_potential_general_path_matches_synchronised_path():
    a = np.array([0.5, 0.3, 0.2])
    sync = simulate_half_cycle(np.full(3, 0.2), a, c_rate=0.2, direction="discharge")
    gen = simulate_half_cycle(
        np.array([0.2, 0.2 + 1e-9, 0.2]), a, c_rate=0.2, direction="discharge"
    )
    assert gen.capacity_mah_g == pytest.approx(sync.capacity_mah_g, rel=1e-5)


def test_classes_in_different_states_share_the_potential():
    a = np.array([0.5, 0.5])
    hc = simulate_half_cycle([0.0, 0.6], a, c_rate=0.2, direction="discharge")
    # the less lithiated class has the larger exchange term g and takes more of the current
    assert hc.rate_per_h[0, 0] > hc.rate_per_h[0, 1]
    np.testing.assert_allclose((hc.rate_per_h * a).sum(axis=1), 0.2, rtol=1e-6)


def test_discharge_follows_previous_charge_and_asymmetry():
    cell = CellModel(single_size(1.0))

    def run(ch, dis):
        steps = (
            ProtocolStep("formation", 0.1),
            ProtocolStep("charge", ch),
            ProtocolStep("discharge", dis),
        )
        return protocol_capacities(steps, cell).table["Capacity [mAh/g]"].to_numpy()

    slow_ch = run(0.05, 0.4)
    fast_ch = run(0.4, 0.05)
    # a charge-limited cell returns on discharge what the charge before it delivered
    assert slow_ch[2] == pytest.approx(slow_ch[1], rel=0.02)
    assert fast_ch[2] == pytest.approx(fast_ch[1], rel=0.02)
    # "slow discharge / fast charge gives less"
    assert fast_ch[2] < slow_ch[2]


@settings(max_examples=25, deadline=None)
@given(c1=st.floats(0.01, 1.0), factor=st.floats(1.1, 5.0))
def test_capacity_falls_with_rate(c1, factor):
    q1 = simulate_half_cycle([1.0], [1.0], c_rate=c1, direction="charge").capacity_mah_g
    q2 = simulate_half_cycle([1.0], [1.0], c_rate=c1 * factor, direction="charge").capacity_mah_g
    assert q2 < q1


def test_early_fade_law_and_size_dependence():
    steps = rate_test_protocol([0.1], cycles_per_rate=40)
    small = protocol_capacities(steps, CellModel(single_size(1.0), n_cells=16)).table
    big = protocol_capacities(steps, CellModel(single_size(8.0), n_cells=16)).table
    q_s = small[small["Mode"] == "discharge"]["Capacity [mAh/g]"].to_numpy()
    q_b = big[big["Mode"] == "discharge"]["Capacity [mAh/g]"].to_numpy()
    # decays and levels off (plateau by 30-40 cycles)
    assert np.all(np.diff(q_s) < 0)
    assert (q_s[-2] - q_s[-1]) < 0.05 * (q_s[0] - q_s[1])
    # small particles fade more (relative)
    assert (1 - q_s[-1] / q_s[0]) > (1 - q_b[-1] / q_b[0])
    # the exponential law Q_N = Q_inf + (Q_2 - Q_inf) exp(-(N-2)/N_c) with N_c ~ 8-12
    ratio = (q_s[1:-1] - q_s[-1]) / (q_s[0] - q_s[-1])
    n_c = -1.0 / np.polyfit(np.arange(1, ratio.size + 1)[:15], np.log(ratio[:15]), 1)[0]
    assert 5 < n_c < 15


def test_slow_rates_fade_more():
    cell = CellModel(single_size(1.0), n_cells=16)

    def fade(c):
        t = protocol_capacities(rate_test_protocol([c], cycles_per_rate=10), cell).table
        q = t[t["Mode"] == "discharge"]["Capacity [mAh/g]"].to_numpy()
        return 1 - q[-1] / q[0]

    assert fade(0.025) > fade(0.4)


def test_vulnerable_share():
    phi = fade_vulnerable_share([0.5, 1.0, 8.0], [1.0, 1.0, 1.0], layer_um=0.02)
    np.testing.assert_allclose(phi, 1 - (1 - 0.04 / np.array([0.5, 1.0, 8.0])) ** 3)
    assert 6 * 0.02 / 8.0 == pytest.approx(phi[2], rel=0.02)  # φ ≈ 6λ/d


def test_distribution_classes_are_a_drop_in_for_one_class():
    steps = rate_test_protocol([0.1, 0.4], cycles_per_rate=2)
    one = protocol_capacities(steps, CellModel(single_size(1.0), n_cells=16)).table
    many = protocol_capacities(
        steps, CellModel(gaussian_distribution(1.0, 1e-3, n_classes=5), n_cells=16)
    ).table
    np.testing.assert_allclose(many["Capacity [mAh/g]"], one["Capacity [mAh/g]"], rtol=2e-3)


# --- GITT: the exact sphere map (MODEL.md table) ----------------------------------------------------------
def test_sphere_roots():
    x = sphere_roots(3)
    np.testing.assert_allclose(np.tan(x), x, rtol=1e-9)
    assert x[0] == pytest.approx(4.4934, abs=1e-4)


def test_tau_map_reference_values():
    tp = [1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
    expect = [1.28e-4, 1.09e-3, 6.84e-3, 0.0132, 0.0203, 0.0221, 0.0222]
    got = [tau_dimless(t) for t in tp]
    np.testing.assert_allclose(got, expect, rtol=6e-3)
    # τ_e ≲ 1.4 t_p always; long pulses saturate at ~R²/(45 D)
    assert all(g < 1.4 * t for g, t in zip(got, tp, strict=True))
    assert tau_s(3600.0, 4e-6, 1e-15) == pytest.approx(
        tau_dimless(3600 * 1e-15 / 16e-12) * 16e-12 / 1e-15
    )


def test_errors():
    with pytest.raises(SulfurscopeError, match="c_rate"):
        simulate_half_cycle([1.0], [1.0], c_rate=-1, direction="charge")
    with pytest.raises(SulfurscopeError, match="direction"):
        simulate_half_cycle([1.0], [1.0], c_rate=1, direction="up")  # type: ignore[arg-type]
    with pytest.raises(SulfurscopeError, match="shape"):
        simulate_half_cycle([1.0, 1.0], [1.0], c_rate=1, direction="charge")
