"""Voltage limits as a cycler applies them (issue 4, part E).

Every current step of the simulated instrument (formation discharge and its GITT pulses, CC half-cycles,
later GITT pulses) ends at the first time the *full* voltage — model B/C's with the ohmic drop plus the
solid-state diffusion term — reaches V_min / V_max. So no sample under current lies beyond a limit, there
is no flat (clipped) segment at a limit while current flows, the charge column is the integral of the
current, model C's state follows the charge actually passed, and :func:`protocol_capacities` decides
the same end points as :func:`simulate_protocol`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sulfurscope.cycling import cycle_summary
from sulfurscope.model import (
    CellModel,
    CyclingParameters,
    ProtocolStep,
    charge_limited_capacity,
    gaussian_distribution,
    gitt_protocol,
    long_cycling_protocol,
    protocol_capacities,
    rate_test_protocol,
    simulate_half_cycle,
    simulate_protocol,
    single_size,
)
from sulfurscope.units import CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE

SIZES_UM = (1.0, 4.0, 8.0)
MASS_MG = 2.5
# noise-free runs (rng=None): noise would only be added on top (simulate_protocol adds it last), and
# would hide a flat (clipped) segment; the allowance is numerical only
ALLOWANCE_V = 1e-6
PROTOCOLS = {
    "rate": rate_test_protocol(),
    "long": long_cycling_protocol(0.2, 15),
    "gitt": gitt_protocol(),
}
P = CyclingParameters()


def _cell(d_um: float) -> CellModel:
    return CellModel(distribution=gaussian_distribution(d_um, 0.3 * d_um, n_classes=12))


_CACHE: dict[tuple[str, float], tuple[pd.DataFrame, pd.DataFrame]] = {}


def _run(name: str, d_um: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = (name, d_um)
    if key not in _CACHE:
        frame = simulate_protocol(
            PROTOCOLS[name],
            _cell(d_um),
            sulfur_mass_mg=MASS_MG,
        )
        table = protocol_capacities(PROTOCOLS[name], _cell(d_um)).table
        _CACHE[key] = (frame, table)
    return _CACHE[key]


CASES = [(name, d) for name in PROTOCOLS for d in SIZES_UM]


def _runs_near(
    v: np.ndarray, under: np.ndarray, step: np.ndarray, level: float, *, tol_v: float = 1e-3
) -> int:
    """Longest run of consecutive samples under current, within one step, within ``tol_v`` of
    ``level``; each step's end point (the limit crossing, off the sampling grid) is left out."""
    end = np.r_[step[1:] != step[:-1], True]
    near = under & ~end & (np.abs(v - level) <= tol_v)
    longest = run = 0
    for k in range(v.size):
        if near[k] and k > 0 and near[k - 1] and step[k] == step[k - 1]:
            run += 1
        else:
            run = int(near[k])
        longest = max(longest, run)
    return longest


def _longest_flat_run_near(v: np.ndarray, under: np.ndarray, level: float) -> int:
    """Longest run of samples under current within 1 mV of ``level`` with a constant voltage (what
    clipping produced), end points included."""
    flat = under & (np.abs(v - level) <= 1e-3)
    same = np.r_[False, np.abs(np.diff(v)) < 1e-9]
    longest = run = 0
    for k in range(v.size):
        run = run + 1 if (flat[k] and same[k] and k > 0 and flat[k - 1]) else int(flat[k])
        longest = max(longest, run)
    return longest


@pytest.mark.parametrize(("name", "d_um"), CASES)
def test_no_sample_under_current_beyond_the_limits(name, d_um):
    frame, _ = _run(name, d_um)
    under = frame[CURRENT].to_numpy() != 0
    v = frame[VOLTAGE].to_numpy()[under]
    assert v.min() >= P.v_min - ALLOWANCE_V, (v.min(), name, d_um)
    assert v.max() <= P.v_max + ALLOWANCE_V, (v.max(), name, d_um)


@pytest.mark.parametrize(("name", "d_um"), CASES)
def test_no_flat_segment_at_a_limit_while_current_flows(name, d_um):
    frame, table = _run(name, d_um)
    under = frame[CURRENT].to_numpy() != 0
    v = frame[VOLTAGE].to_numpy()
    step = frame[STEP].to_numpy()
    for level in (P.v_min, P.v_max):
        # no clipped (constant) segment at all
        assert _longest_flat_run_near(v, under, level) <= 1, (level, name, d_um)
        # and at most two regular samples within 1 mV of a limit before the step's end point (at C/40
        # the voltage approaches V_max at ~0.5 mV/min, so two 60 s samples can be within 1 mV)
        assert _runs_near(v, under, step, level) <= 2, (level, name, d_um)
    # the steps that ended by voltage do end at the limit (with current flowing)
    last = frame.groupby(STEP).tail(1).set_index(STEP)
    ended = table.set_index("Step")["Ended by"]
    for n in ended.index[ended == "voltage"]:
        row = last.loc[n]
        assert row[CURRENT] != 0
        limit = P.v_max if row[CURRENT] > 0 else P.v_min
        assert row[VOLTAGE] == pytest.approx(limit, abs=ALLOWANCE_V), (n, name, d_um)


@pytest.mark.parametrize(("name", "d_um"), CASES)
def test_charge_column_is_the_integral_of_the_current(name, d_um):
    frame, _ = _run(name, d_um)
    t = frame[TIME].to_numpy()
    i = frame[CURRENT].to_numpy()
    q = np.concatenate([[0.0], np.cumsum(np.diff(t) * i[1:] / 3600.0)])
    np.testing.assert_allclose(frame[CHARGE], q, atol=1e-9)


@pytest.mark.parametrize(("name", "d_um"), CASES)
def test_protocol_capacities_match_the_simulated_table(name, d_um):
    frame, table = _run(name, d_um)
    # per step: the charge passed in the table is the step's capacity
    dq = frame.groupby(STEP)[CHARGE].agg(lambda q: abs(q.iloc[-1] - q.iloc[0])) / (MASS_MG / 1e3)
    ran = table[~table["Ended by"].isin(["empty", "skipped"])].set_index("Step")
    np.testing.assert_allclose(dq.loc[ran.index], ran["Capacity [mAh/g]"], rtol=1e-6, atol=1e-6)
    assert set(frame[STEP]) == set(ran.index)
    if name == "gitt":
        return
    # the analysis package's cycle summary of the simulated table agrees with protocol_capacities
    summary = cycle_summary(frame, sulfur_mass_mg=MASS_MG).table
    dis = table.loc[table["Mode"].isin(["formation", "discharge"]), "Capacity [mAh/g]"].to_numpy()
    ch = table.loc[table["Mode"] == "charge", "Capacity [mAh/g]"].to_numpy()
    assert len(summary) == dis.size
    np.testing.assert_allclose(summary["Discharge capacity [mAh/g]"], dis, rtol=1e-6)
    np.testing.assert_allclose(
        summary["Charge capacity [mAh/g]"].to_numpy()[: ch.size], ch, rtol=1e-6
    )


def test_gitt_charge_of_big_particles_has_no_hold_at_3v():
    """The symptom of the clipping bug: GITT charge pulses of an 8 µm sample ran at 3.000 V."""
    frame, table = _run("gitt", 8.0)
    charge = frame[(frame[CURRENT] > 0)]
    # a clipped hold sits at 3.000 V exactly; a sample a few seconds before the crossing may come
    # within a millivolt of it (the voltage rises ~4 mV/min there)
    at_limit = charge[VOLTAGE] >= P.v_max - 1e-4
    # at most the end point of each voltage-ended pulse is at the limit
    n_voltage = int(((table["Mode"] == "charge") & (table["Ended by"] == "voltage")).sum())
    assert n_voltage == 1
    assert int(at_limit.sum()) <= n_voltage
    # after the pulse that reached the limit no further charge pulse runs, and no rest after those
    ended = table["Ended by"].tolist()
    k = next(
        j
        for j, (m, e) in enumerate(zip(table["Mode"], ended, strict=True))
        if m == "charge" and e == "voltage"
    )
    assert ended[k + 1] == "time"  # its own rest relaxes
    assert table["Mode"].iloc[k + 2] == "charge" and ended[k + 2] == "empty"
    assert ended[k + 3] == "skipped"


def test_constant_extra_voltage_shifts_the_charge_limit_exactly():
    """Oracle: a constant extra term c is model C with V_max − c (closed form, one class, flat OCV)."""
    flat = CyclingParameters(ocv_slope_v=0.0)
    for c in (-0.05, 0.1, 0.2):
        expected = float(
            charge_limited_capacity(0.2, replace(flat, v_max=flat.v_max - c), active_fraction=0.8)
        )

        def extra(t_s: np.ndarray, c: float = c) -> np.ndarray:
            return np.full(np.shape(t_s), c)

        sync = simulate_half_cycle(
            [1.0], [0.8], flat, c_rate=0.2, direction="charge", extra_voltage_v=extra
        )
        assert sync.capacity_mah_g == pytest.approx(expected, rel=1e-8)
        assert sync.voltage_v[-1] == pytest.approx(flat.v_max, abs=1e-6)
        # the general (Runge–Kutta + event) path applies the same limit
        gen = simulate_half_cycle(
            [1.0, 1.0 - 1e-9],
            [0.4, 0.4],
            flat,
            c_rate=0.2,
            direction="charge",
            extra_voltage_v=extra,
        )
        assert gen.capacity_mah_g == pytest.approx(expected, rel=1e-4)
        assert gen.voltage_v.max() <= flat.v_max + 1e-6


def test_time_dependent_extra_voltage_ends_at_first_crossing():
    """A bump that crosses V_max early ends the half-cycle there, although model C alone would go on."""

    def bump(t_s: np.ndarray) -> np.ndarray:
        return 1.2 * np.exp(-(((np.asarray(t_s) - 3600.0) / 1200.0) ** 2))

    plain = simulate_half_cycle([1.0], [1.0], c_rate=0.1, direction="charge")
    hc = simulate_half_cycle([1.0], [1.0], c_rate=0.1, direction="charge", extra_voltage_v=bump)
    assert hc.ended_by == "voltage" and hc.time_s[-1] < 3600.0 < plain.time_s[-1]
    assert hc.voltage_v[-1] == pytest.approx(3.0, abs=1e-6)
    assert np.all(hc.voltage_v[:-1] < 3.0)
    assert hc.capacity_mah_g == pytest.approx(1672.0 * 0.1 * hc.time_s[-1] / 3600.0, rel=1e-9)


def test_discharge_returns_what_the_cut_short_charge_delivered():
    """Model C's state follows the charge actually passed: without fade, the next discharge returns
    exactly the charge that the full-voltage limit allowed (and less than model C alone would have)."""
    no_fade = CyclingParameters(fade_per_cycle=0.0, fade_per_hour=0.0)
    cell = CellModel(single_size(8.0), cycling=no_fade, n_cells=16)
    steps = (
        ProtocolStep("formation", 0.1),
        ProtocolStep("charge", 0.4),
        ProtocolStep("discharge", 0.05),
    )
    table = protocol_capacities(steps, cell).table
    q_ch, q_dis = table["Capacity [mAh/g]"].iloc[1:3]
    assert table["Ended by"].iloc[1] == "voltage"
    # (the discharge ends at V_min with 1 − x_k ~ 1e-5 left: the kinetics diverge only at x = 1)
    assert q_dis == pytest.approx(q_ch, rel=1e-4)
    # the diffusion term took part: model C alone (s_D = 0) charges further
    alone = replace(cell, cycling=replace(no_fade, diffusion_v=0.0, pristine_diffusion_v=0.0))
    assert protocol_capacities(steps, alone).table["Capacity [mAh/g]"].iloc[1] > 1.05 * q_ch


def test_formation_ends_at_the_full_voltage_limit():
    frame, table = _run("rate", 8.0)
    first = frame[frame[STEP] == 0]
    assert (first[CURRENT] < 0).all()
    assert first[VOLTAGE].iloc[-1] == pytest.approx(P.v_min, abs=ALLOWANCE_V)
    out = protocol_capacities(PROTOCOLS["rate"][:1], _cell(8.0))
    fr = out.formation
    assert fr.capacity_mah_g == pytest.approx(table["Capacity [mAh/g]"].iloc[0], rel=1e-12)
    # charge balance at the (interpolated) end point: Σ w f_k = i t̃
    assert fr.electrode_active_fraction == pytest.approx(0.1 * fr.time_s[-1] / 3600.0, rel=1e-6)
    assert not first[REST].any()
