"""Part E: protocol builders and the simulated instrument (canonical cycler table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.errors import SulfurscopeError
from sulfurscope.model import (
    CellModel,
    ProtocolStep,
    gaussian_distribution,
    gitt_protocol,
    long_cycling_protocol,
    protocol_capacities,
    rate_test_protocol,
    simulate_protocol,
    single_size,
)
from sulfurscope.units import CANONICAL_CYCLER_COLUMNS, CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE

CELL = CellModel(gaussian_distribution(4.0, 1.2, n_classes=5), n_cells=16)


def test_rate_test_protocol_shape():
    steps = rate_test_protocol()
    assert steps[0] == ProtocolStep("formation", 0.1)
    rates = [s.c_rate for s in steps[1:] if s.mode == "discharge"]
    assert rates == [r for r in (1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5) for _ in range(5)]
    asym = rate_test_protocol([0.4], charge_c_rates=[0.05], cycles_per_rate=1)
    assert [(s.mode, s.c_rate) for s in asym[1:]] == [("charge", 0.05), ("discharge", 0.4)]


def test_simulated_table_is_canonical_and_consistent():
    df = simulate_protocol(
        rate_test_protocol([0.1, 0.4], cycles_per_rate=2),
        CELL,
        sulfur_mass_mg=2.2,
        sample_interval_s=120,
    )
    assert tuple(df.columns) == CANONICAL_CYCLER_COLUMNS
    assert df[STEP].dtype.kind == "i" and df[REST].dtype == bool
    assert np.all(np.diff(df[TIME]) >= 0)
    # charge is the running integral of the current
    q = np.concatenate([[0.0], np.cumsum(np.diff(df[TIME]) * df[CURRENT].to_numpy()[1:] / 3600.0)])
    np.testing.assert_allclose(df[CHARGE], q, atol=1e-9)
    # formation discharge first (negative current), 1C = m_S × 1672 mAh/g
    assert df[CURRENT].iloc[0] == pytest.approx(-0.1 * 2.2e-3 * 1672.0)
    assert df[VOLTAGE].between(0.5 - 1e-9, 3.0 + 1e-9).all()
    # capacities in the table match the per-step capacities
    caps = protocol_capacities(rate_test_protocol([0.1, 0.4], cycles_per_rate=2), CELL).table
    for step, cap in zip(caps["Step"], caps["Capacity [mAh/g]"], strict=True):
        part = df[df[STEP] == step]
        assert abs(part[CHARGE].iloc[-1] - part[CHARGE].iloc[0]) / 2.2e-3 == pytest.approx(
            cap, rel=1e-6
        )


@pytest.mark.parametrize("noisy", [False, True])
def test_noise_only_with_rng(noisy):
    steps = long_cycling_protocol(0.2, 2)
    rng = np.random.default_rng(3) if noisy else None
    a = simulate_protocol(steps, CELL, sulfur_mass_mg=2.0, sample_interval_s=600, rng=rng)
    b = simulate_protocol(steps, CELL, sulfur_mass_mg=2.0, sample_interval_s=600)
    if noisy:
        assert 0.001 < float((a[VOLTAGE] - b[VOLTAGE]).std()) < 0.004
    else:
        pd.testing.assert_frame_equal(a, b)


def test_gitt_protocol_pulses_and_rests():
    steps = gitt_protocol(n_cycles=2, max_pulses=20)
    df = simulate_protocol(
        steps, CellModel(single_size(8.0), n_cells=16), sulfur_mass_mg=2.0, sample_interval_s=60
    )
    rest = df[REST].to_numpy()
    assert rest.any() and (~rest).any()
    # the later-cycle pulses are 100 mAh/g each, except the one that reached the voltage limit
    out = protocol_capacities(steps, CellModel(single_size(8.0), n_cells=16)).table
    later = df[df[STEP] >= 1]
    pulses = later[~later[REST]].groupby(STEP)[CHARGE].agg(lambda q: abs(q.iloc[-1] - q.iloc[0]))
    ended = out.set_index("Step")["Ended by"].reindex(pulses.index)
    assert (ended == "capacity").sum() >= 5 and (ended == "voltage").sum() == 2
    np.testing.assert_allclose(pulses[ended == "capacity"] / 2e-3, 100.0, rtol=1e-6)
    assert (pulses[ended == "voltage"] / 2e-3 <= 100.0 + 1e-6).all()
    # rests after a discharge pulse relax upwards
    start = int(np.flatnonzero(rest)[0])
    stop = start + int(np.flatnonzero(~rest[start:])[0])
    v = df[VOLTAGE].to_numpy()[start:stop]
    assert df[STEP].iloc[start] == 0 and v[-1] > v[0] + 1e-3
    # pulses past the voltage limit do not run, nor do the rests after them
    ended = out["Ended by"].tolist()
    assert "empty" in ended and "skipped" in ended
    for k in range(len(ended) - 1):
        if ended[k] == "empty":
            assert ended[k + 1] == "skipped"
    assert set(df[STEP]) == set(out["Step"][~out["Ended by"].isin(["empty", "skipped"])])


def test_small_particles_deliver_about_twice_big_ones():
    """The study's headline: ~600 vs ~300 mAh/g at C/2.5."""
    steps = rate_test_protocol([0.4], cycles_per_rate=3)
    small = protocol_capacities(
        steps, CellModel(gaussian_distribution(1.0, 0.3, n_classes=5), n_cells=16)
    )
    big = protocol_capacities(
        steps, CellModel(gaussian_distribution(8.0, 2.4, n_classes=5), n_cells=16)
    )
    q_s = small.table["Capacity [mAh/g]"].iloc[-1]
    q_b = big.table["Capacity [mAh/g]"].iloc[-1]
    assert 1.5 < q_s / q_b < 2.5


def test_errors():
    with pytest.raises(SulfurscopeError, match="sulfur_mass_mg"):
        simulate_protocol(long_cycling_protocol(0.2, 1), CELL, sulfur_mass_mg=0.0)
    with pytest.raises(SulfurscopeError, match="forms only once"):
        protocol_capacities((ProtocolStep("formation", 0.1), ProtocolStep("formation", 0.1)), CELL)
    with pytest.raises(SulfurscopeError, match="rest needs duration"):
        protocol_capacities((ProtocolStep("rest"),), CELL)
    with pytest.raises(SulfurscopeError, match="cycles_per_rate"):
        rate_test_protocol([0.1], cycles_per_rate=0)


def _sphere_fd(times: np.ndarray, n: int = 400) -> np.ndarray:
    """Surface minus mean of ∂c/∂t = ∇²c on the unit sphere with a constant influx that raises the
    mean at rate 1 (flux 1/3), from c = 0: finite volumes in r³ (equal volumes near the surface
    would be coarse; uniform in r here), Crank–Nicolson with 20 000 steps per unit time."""
    from scipy.linalg import solve_banded

    faces = np.linspace(0.0, 1.0, n + 1)
    vol = (faces[1:] ** 3 - faces[:-1] ** 3) / 3.0
    area = faces**2
    h = faces[1] - faces[0]
    a = np.zeros((n, n))
    for i in range(n - 1):  # conductance between cells i and i+1 through face i+1
        g = area[i + 1] / h
        a[i, i] -= g / vol[i]
        a[i, i + 1] += g / vol[i]
        a[i + 1, i + 1] -= g / vol[i + 1]
        a[i + 1, i] += g / vol[i + 1]
    src = np.zeros(n)
    src[-1] = area[-1] * (1.0 / 3.0) / vol[-1]
    dt = 5e-5
    lhs = np.eye(n) - 0.5 * dt * a
    rhs_m = np.eye(n) + 0.5 * dt * a
    ab = np.zeros((3, n))
    ab[0, 1:] = np.diag(lhs, 1)
    ab[1] = np.diag(lhs)
    ab[2, :-1] = np.diag(lhs, -1)
    c, t, out = np.zeros(n), 0.0, []
    for target in times:
        while t < target - 1e-12:
            c = solve_banded((1, 1), ab, rhs_m @ c + dt * src)
            t += dt
        # surface value extrapolated from the last two cells with the known gradient (flux 1/3)
        surface = c[-1] + (1.0 / 3.0) * (faces[-1] - 0.5 * (faces[-1] + faces[-2]))
        out.append(surface - np.sum(c * vol) / np.sum(vol))
    return np.array(out)


def test_diffusion_overpotential_against_a_finite_volume_sphere():
    """The solid-state term's mode sum (with its per-time truncation) against independent numerics:
    a constant-flux sphere solved by finite volumes, at times from 0.2 % of R²/D to steady state
    (surface − mean → R²r/(15 D))."""
    from sulfurscope.model.protocols import _State

    cell = CellModel(single_size(2.0), n_cells=10)
    st = _State(cell)
    big_r, d = 1.0e-6, cell.cycling.pristine_diffusivity_m2_s
    t_unit = big_r**2 / d  # s per dimensionless time
    rate = 0.5 / t_unit  # dx/dt: steady u = rate R²/(15 D) = 1/30
    times = np.array([0.002, 0.01, 0.05, 0.2, 1.0])
    fd = _sphere_fd(times)
    u = st.diffusion_at(times * t_unit, rate) / st.amplitude_v / (rate * t_unit)
    assert u == pytest.approx(fd, rel=2e-3)
    assert u[-1] == pytest.approx(1.0 / 15.0, rel=1e-6)
    assert st.diffusion_at(np.array([1e9]), rate)[0] / st.amplitude_v == pytest.approx(1.0 / 30.0)
    # one time at a time gives the same as all at once (the times share exponentials by group)
    one = [st.diffusion_at(np.array([t]), rate)[0] for t in times * t_unit]
    assert np.array(one) == pytest.approx(st.diffusion_at(times * t_unit, rate), rel=1e-12)


def test_remembered_formation_term_follows_the_pristine_geometry():
    """The formation term is reused for the same formation only while the pristine geometry is the
    same: another pristine D (or amplitude) with the same given formation gives what a fresh run gives."""
    from dataclasses import replace

    from sulfurscope.model import protocols

    proto = rate_test_protocol()[:2]
    base = CellModel(gaussian_distribution(8.0, 2.4, n_classes=4), n_cells=12)
    formed = protocol_capacities(proto[:1], base).formation
    other = replace(base, cycling=replace(base.cycling, pristine_diffusivity_m2_s=5e-17,
                                          pristine_diffusion_v=0.5))
    first = protocol_capacities(proto, base, formation_result=formed).table
    second = protocol_capacities(proto, other, formation_result=formed).table
    protocols._FORMATION_ETA.clear()
    fresh = protocol_capacities(proto, other, formation_result=formed).table
    pd.testing.assert_frame_equal(second, fresh)
    assert not first["Capacity [mAh/g]"].equals(second["Capacity [mAh/g]"])
