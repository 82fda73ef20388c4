"""Cycle segmentation and the per-cycle summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sulfurscope.cycling import cycle_summary, half_cycles, label_cycles
from sulfurscope.errors import MissingColumnError, SulfurscopeError
from sulfurscope.simulate.cycling import HalfCycleSpec, simulate_run

MASS = 2.5  # mg sulfur


def _run(capacities: list[tuple[int, float, float]], *, rng=None, rest_s=600.0) -> pd.DataFrame:
    sched = [HalfCycleSpec(d, r, q, rest_s) for d, r, q in capacities]
    return simulate_run(sched, sulfur_mass_mg=MASS, rng=rng)


def test_known_capacities_recovered_to_half_percent() -> None:
    spec = [(-1, 0.1, 650.0), (1, 0.1, 600.0), (-1, 0.2, 580.0), (1, 0.2, 570.0)]
    frame = _run(spec, rng=np.random.default_rng(1))
    s = cycle_summary(frame, sulfur_mass_mg=MASS).table
    assert list(s["Cycle"]) == [1, 2]
    np.testing.assert_allclose(s["Discharge capacity [mAh/g]"], [650.0, 580.0], rtol=5e-3)
    np.testing.assert_allclose(s["Charge capacity [mAh/g]"], [600.0, 570.0], rtol=5e-3)
    np.testing.assert_allclose(
        s["Coulombic efficiency [%]"], [100 * 600 / 650, 100 * 570 / 580], rtol=5e-3
    )
    np.testing.assert_allclose(s["Discharge C-rate"], [0.1, 0.2], rtol=1e-6)
    # mean charge voltage above mean discharge voltage: positive overpotential
    assert (s["Overpotential [V]"] > 0).all()
    assert (s["Mean discharge voltage [V]"].between(1.5, 2.2)).all()


def test_energy_equals_mean_voltage_times_capacity() -> None:
    frame = _run([(-1, 0.1, 500.0), (1, 0.1, 480.0)])
    s = cycle_summary(frame, sulfur_mass_mg=MASS).table.iloc[0]
    assert s["Discharge energy [mWh]"] == pytest.approx(
        s["Mean discharge voltage [V]"] * s["Discharge capacity [mAh]"], rel=1e-12
    )
    # specific energy in Wh/kg is mWh per g
    assert s["Discharge energy [Wh/kg]"] == pytest.approx(
        s["Discharge energy [mWh]"] / (MASS / 1000)
    )


def test_charge_first_convention_pairs_differently() -> None:
    frame = _run([(1, 0.1, 300.0), (-1, 0.1, 290.0), (1, 0.1, 280.0), (-1, 0.1, 270.0)])
    dis_first = cycle_summary(frame, sulfur_mass_mg=MASS, first="discharge").table
    ch_first = cycle_summary(frame, sulfur_mass_mg=MASS, first="charge").table
    auto = cycle_summary(frame, sulfur_mass_mg=MASS)  # the cell's own order: it starts charging
    assert auto.first == "charge"
    pd.testing.assert_frame_equal(auto.table, ch_first)
    # discharge-first: the leading charge is cycle 0 on its own
    assert list(dis_first["Cycle"]) == [0, 1, 2]
    assert np.isnan(dis_first["Discharge capacity [mAh]"].iloc[0])
    assert list(ch_first["Cycle"]) == [1, 2]
    np.testing.assert_allclose(
        ch_first["Coulombic efficiency [%]"], [100 * 290 / 300, 100 * 270 / 280], rtol=5e-3
    )


def test_rests_and_cv_hold_do_not_split_half_cycles() -> None:
    frame = _run([(-1, 0.1, 400.0), (1, 0.1, 380.0)], rest_s=3600.0)
    # add a constant-voltage hold: current decays but keeps its sign
    t_end = frame["Time [s]"].iloc[-1]
    hold_t = t_end + np.arange(1, 61) * 60.0
    hold_i = 0.5 * np.exp(-np.arange(60) / 10.0)
    q_end = frame["Charge [mAh]"].iloc[-1]
    hold = pd.DataFrame(
        {
            "Time [s]": hold_t,
            "Voltage [V]": 3.0,
            "Current [mA]": hold_i,
            "Charge [mAh]": q_end + np.cumsum(hold_i * 60.0) / 3600.0,
            "Step": 99,
            "Rest": False,
        }
    )
    both = pd.concat([frame, hold], ignore_index=True)
    hc = half_cycles(both).table
    # rest then CV hold of the same sign as the preceding... here after a rest following the charge
    assert list(hc["Direction"]) == [-1, 1]
    assert hc["Capacity [mAh]"].iloc[1] > 380.0 * MASS / 1000


def test_tiny_opposite_pulse_is_merged() -> None:
    frame = _run([(-1, 0.1, 400.0), (1, 0.1, 380.0)], rest_s=600.0)
    # a 10-s excitation of the opposite sign in the middle of the discharge
    mid = frame.index[(frame["Current [mA]"] < 0)][100]
    f2 = frame.copy()
    f2.loc[mid, "Current [mA]"] = 0.3
    hc = half_cycles(f2).table
    assert len(hc) == 2


def test_label_cycles_does_not_change_input() -> None:
    frame = _run([(-1, 0.1, 400.0), (1, 0.1, 380.0)])
    before = frame.copy()
    out = label_cycles(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert {"Cycle", "Half cycle", "Direction"} <= set(out.columns)
    assert "Cycle" not in frame.columns


@settings(max_examples=25, deadline=None)
@given(
    caps=st.lists(st.floats(50.0, 1200.0), min_size=2, max_size=8),
    rate=st.sampled_from([0.025, 0.1, 0.4]),
)
def test_property_charge_conservation(caps: list[float], rate: float) -> None:
    spec = [(-1 if k % 2 == 0 else 1, rate, q) for k, q in enumerate(caps)]
    frame = _run(spec)
    s = cycle_summary(frame, sulfur_mass_mg=MASS).table
    net = frame["Charge [mAh]"].iloc[-1] - frame["Charge [mAh]"].iloc[0]
    total = np.nansum(s["Charge capacity [mAh]"]) - np.nansum(s["Discharge capacity [mAh]"])
    assert total == pytest.approx(net, rel=1e-9, abs=1e-12)
    got = np.sort(
        np.r_[s["Discharge capacity [mAh/g]"].dropna(), s["Charge capacity [mAh/g]"].dropna()]
    )
    np.testing.assert_allclose(got, np.sort(caps), rtol=1e-6)


def test_without_mass_no_specific_columns() -> None:
    frame = _run([(-1, 0.1, 400.0), (1, 0.1, 380.0)])
    s = cycle_summary(frame).table
    assert "Discharge capacity [mAh/g]" not in s.columns
    assert "Discharge C-rate" not in s.columns
    assert s["Discharge capacity [mAh]"].iloc[0] == pytest.approx(400.0 * MASS / 1000, rel=1e-6)


def test_missing_column_is_named() -> None:
    frame = _run([(-1, 0.1, 400.0), (1, 0.1, 380.0)]).drop(columns=["Charge [mAh]"])
    with pytest.raises(MissingColumnError, match=r"Charge \[mAh\]"):
        cycle_summary(frame)


def test_no_current_is_refused() -> None:
    frame = pd.DataFrame(
        {
            "Time [s]": [0.0, 1.0],
            "Voltage [V]": [2.0, 2.0],
            "Current [mA]": [0.0, 0.0],
            "Charge [mAh]": [0.0, 0.0],
        }
    )
    with pytest.raises(SulfurscopeError, match="no current"):
        cycle_summary(frame)


def test_bad_convention_is_refused() -> None:
    frame = _run([(-1, 0.1, 400.0), (1, 0.1, 380.0)])
    with pytest.raises(SulfurscopeError, match="first must be"):
        cycle_summary(frame, first="sideways")  # type: ignore[arg-type]
