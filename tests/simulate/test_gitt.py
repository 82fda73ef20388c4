"""The simulated GITT run: canonical table, Figure 2's story, and an .mpt round trip."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.cycling.gitt import gitt_steps, relaxation_times, transport_scaling
from sulfurscope.errors import SulfurscopeError
from sulfurscope.simulate.gitt import gitt_capacity_mah_g, gitt_tau_s, simulate_gitt
from sulfurscope.units import CANONICAL_CYCLER_COLUMNS


def _run(size: float, seed: int = 0):
    df = simulate_gitt(particle_size_um=size, sulfur_mass_mg=2.0, rng=np.random.default_rng(seed))
    s = gitt_steps(df, sulfur_mass_mg=2.0)
    return df, s, relaxation_times(df, s, v0="first_rest_point")


def test_canonical_columns_and_protocol():
    df, s, _ = _run(4.0)
    assert tuple(df.columns) == CANONICAL_CYCLER_COLUMNS
    assert np.all(np.diff(df["Time [s]"]) > 0)
    assert s.has_rest.all()
    full = ~s.truncated
    # C/10 pulses of 100 mAh/g_S: 0.6 h each; 2 h rests
    np.testing.assert_allclose(
        (s.pulse_end_s - s.pulse_start_s)[full], 100 / 167.2 * 3600, rtol=1e-3
    )
    np.testing.assert_allclose(s.rest_end_s - s.rest_start_s, 7199.0, atol=1.0)
    np.testing.assert_allclose(np.abs(s.current_ma), 0.1 * 1672 * 2.0 / 1000)
    assert s.half_cycle_label[0] == "first discharge"
    assert set(s.half_cycle_label) == {"first discharge", "first charge", "second discharge"}
    # one plateau near 2.1 V
    assert 2.0 < float(np.median(s.qocv_v)) < 2.2


def test_first_discharge_tau_grows_as_l_squared_then_alike():
    taus = {}
    later = {}
    for size in (1.0, 4.0, 8.0):
        _, _, r = _run(size)
        first = r.half_cycle_label == "first discharge"
        taus[size] = float(np.median(r.tau_s[first]))
        later[size] = float(np.median(r.tau_s[~first]))
        assert taus[size] == pytest.approx(gitt_tau_s(size, 1), rel=0.03)
    assert taus[1.0] < taus[4.0] < taus[8.0]
    fit = transport_scaling(list(taus), list(taus.values()))
    assert fit.exponent == pytest.approx(2.0, abs=0.05)
    flat = transport_scaling(list(later), list(later.values()))
    assert abs(flat.exponent) < 0.05


def test_capacity_follows_active_shell():
    for size in (1.0, 8.0):
        _, s, _ = _run(size)
        first = s.half_cycle_label == "first discharge"
        assert s.capacity_mah_g[first].max() == pytest.approx(gitt_capacity_mah_g(size), rel=0.02)
    assert gitt_capacity_mah_g(1.0) == pytest.approx(600.0)
    assert gitt_capacity_mah_g(8.0) / gitt_capacity_mah_g(1.0) == pytest.approx(0.578, abs=0.001)


def test_noise_is_reproducible_from_rng():
    a = simulate_gitt(particle_size_um=4.0, sulfur_mass_mg=2.0, rng=np.random.default_rng(7))
    b = simulate_gitt(particle_size_um=4.0, sulfur_mass_mg=2.0, rng=np.random.default_rng(7))
    c = simulate_gitt(particle_size_um=4.0, sulfur_mass_mg=2.0, rng=np.random.default_rng(8))
    assert a.equals(b) and not a.equals(c)


def test_mpt_round_trip(tmp_path):
    from sulfurscope.io import read_cycler, write_mpt

    df = simulate_gitt(particle_size_um=8.0, sulfur_mass_mg=2.0, rng=np.random.default_rng(1))
    path = write_mpt(df, tmp_path / "gitt_8um.mpt", metadata={"sulfur_mass_mg": 2.0})
    back = read_cycler(path).frame
    s0 = gitt_steps(df, sulfur_mass_mg=2.0)
    s1 = gitt_steps(back, sulfur_mass_mg=2.0)
    assert len(s1.step) == len(s0.step) and s1.has_rest.sum() == s0.has_rest.sum()
    r0 = relaxation_times(df, s0, v0="first_rest_point").tau_s
    r1 = relaxation_times(back, s1, v0="first_rest_point").tau_s
    np.testing.assert_allclose(r1, r0, rtol=0.01)


def test_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(SulfurscopeError, match="sulfur_mass_mg"):
        simulate_gitt(particle_size_um=4.0, sulfur_mass_mg=None, rng=rng)  # type: ignore[arg-type]
    with pytest.raises(SulfurscopeError, match="particle_size_um"):
        simulate_gitt(particle_size_um=0.0, sulfur_mass_mg=1.0, rng=rng)
