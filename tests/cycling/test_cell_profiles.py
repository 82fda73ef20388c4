"""Cell description, voltage profiles and dQ/dV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.cycling import (
    cycle_summary,
    dqdv,
    make_cell,
    one_c_current_ma,
    require_sulfur_mass,
    voltage_profiles,
)
from sulfurscope.errors import SulfurscopeError
from sulfurscope.simulate.cycling import HalfCycleSpec, simulate_run


def test_mass_from_loading_uses_13mm_disc_area() -> None:
    assert make_cell(loading_mg_cm2=1.7).sulfur_mass_mg == pytest.approx(1.7 * 1.32)
    assert make_cell(loading_mg_cm2=2.5, electrode_area_cm2=2.0).sulfur_mass_mg == pytest.approx(
        5.0
    )


def test_mass_from_tga_fraction() -> None:
    c = make_cell(composite_mass_mg=5.0, sulfur_fraction=0.485)
    assert c.sulfur_mass_mg == pytest.approx(2.425)
    assert c.mass_source == "composite"


def test_one_c_is_1672_mah_per_g() -> None:
    assert one_c_current_ma(1.0) == pytest.approx(1.672)
    assert one_c_current_ma(1.0, theoretical_capacity_mah_g=1000) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sulfur_mass_mg": 1.0, "loading_mg_cm2": 2.0}, "one way only"),
        ({"composite_mass_mg": 3.0}, "both composite_mass_mg and sulfur_fraction"),
        ({"composite_mass_mg": 3.0, "sulfur_fraction": 49.0}, "percent"),
        ({"sulfur_mass_mg": -1.0}, "positive"),
    ],
)
def test_cell_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(SulfurscopeError, match=match):
        make_cell(**kwargs)


def test_no_default_mass() -> None:
    assert make_cell().sulfur_mass_mg is None
    with pytest.raises(SulfurscopeError, match="never assumes a default mass"):
        require_sulfur_mass(None)


def _frame() -> pd.DataFrame:
    sched = [HalfCycleSpec(-1, 0.1, 600.0, 1800.0), HalfCycleSpec(1, 0.1, 580.0, 1800.0)] * 2
    return simulate_run(sched, sulfur_mass_mg=2.0)


@pytest.mark.parametrize("include_rest", [False, True])
def test_profiles_start_at_zero_and_end_at_capacity(include_rest: bool) -> None:
    p = voltage_profiles(_frame(), sulfur_mass_mg=2.0, include_rest=include_rest).table
    for (_, _, direction), g in p.groupby(["Cycle", "Half cycle", "Direction"], observed=True):
        q = g["Specific capacity [mAh/g]"].to_numpy()
        assert q.min() >= -1e-9
        assert q.max() == pytest.approx(600.0 if direction == "discharge" else 580.0, rel=1e-6)
        assert np.all(np.diff(q) >= -1e-9)  # capacity never runs backwards in a half-cycle
    rest_rows = len(p) - len(voltage_profiles(_frame(), sulfur_mass_mg=2.0).table)
    assert (rest_rows > 0) == include_rest


def test_profiles_select_cycles() -> None:
    p = voltage_profiles(_frame(), cycles=[2]).table
    assert set(p["Cycle"]) == {2}
    assert "Specific capacity [mAh/g]" not in p.columns


def test_dqdv_peak_at_plateau_and_area_equals_capacity() -> None:
    prof = voltage_profiles(_frame(), sulfur_mass_mg=2.0, cycles=[1])
    d = dqdv(prof).table
    dis = d[d["Direction"] == "discharge"]
    vpk = dis.loc[dis["dQ/dV [mAh/g/V]"].idxmax(), "Voltage [V]"]
    assert 1.8 < vpk < 2.1  # one plateau near 2.1 V minus the overpotential
    area = np.trapezoid(dis["dQ/dV [mAh/g/V]"], dis["Voltage [V]"])
    assert area == pytest.approx(600.0, rel=0.03)


def test_dqdv_errors() -> None:
    prof = voltage_profiles(_frame())
    with pytest.raises(SulfurscopeError, match="sulfur_mass_mg"):
        dqdv(prof)
    with pytest.raises(SulfurscopeError, match="odd"):
        dqdv(prof, capacity="absolute", window=10)


def test_summary_mean_voltage_matches_profile_average() -> None:
    f = _frame()
    s = cycle_summary(f, sulfur_mass_mg=2.0).table
    p = voltage_profiles(f, sulfur_mass_mg=2.0, cycles=[1]).table
    dis = p[p["Direction"] == "discharge"]
    v_avg = np.trapezoid(dis["Voltage [V]"], dis["Specific capacity [mAh/g]"]) / 600.0
    assert s["Mean discharge voltage [V]"].iloc[0] == pytest.approx(v_avg, abs=0.01)
