"""Cycle segmentation against constructed truth: tiny real cycles are kept (not merged into their
neighbours), glitches are merged and listed, every mAh is counted once, the cycler's own cycle index
is compared, and a charge-first cell is paired in its own order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.analysis import run_files
from sulfurscope.cycling import cycle_summary
from sulfurscope.io import write_mpt


def _cell(halves: list[tuple[int, float]], *, i_ma: float = 1.0, dt: float = 5.0,
          glitch_after: int | None = None) -> pd.DataFrame:
    """Constant-current half-cycles (direction, capacity in mAh) swinging 1.7 ↔ 2.8 V, with a
    'Cycle (file)' index counting discharge-opened cycles; optionally a 20 s impedance-like pulse
    of the other sign (10 s, 10 mV swing) in the middle of half-cycle ``glitch_after``."""
    t, v, i, cyc = [0.0], [2.8], [0.0], [1]
    cycle = 0
    for k, (d, cap) in enumerate(halves):
        if d < 0:
            cycle += 1
        duration = cap / i_ma * 3600.0
        n = max(int(duration / dt), 2)
        times = t[-1] + np.linspace(duration / n, duration, n)
        frac = np.linspace(1.0 / n, 1.0, n)
        volts = 2.8 - 1.1 * frac if d < 0 else 1.7 + 1.1 * frac
        if glitch_after == k:
            mid = n // 2
            pulse_t = times[mid] + np.arange(1, 3) * 5.0
            times = np.r_[times[:mid + 1], pulse_t, times[mid + 1:] + 10.0]
            volts = np.r_[volts[:mid + 1], np.full(2, volts[mid] + 0.01 * -d), volts[mid + 1:]]
            cur = np.r_[np.full(mid + 1, d * i_ma), np.full(2, -d * i_ma),
                        np.full(n - mid - 1, d * i_ma)]
        else:
            cur = np.full(n, d * i_ma)
        t += list(times)
        v += list(volts)
        i += list(cur)
        cyc += [cycle] * len(times)
    t, i = np.asarray(t), np.asarray(i)
    q = np.r_[0.0, np.cumsum(i[1:] * np.diff(t))] / 3600.0  # exact for piecewise-constant current
    return pd.DataFrame({"Time [s]": t, "Voltage [V]": v, "Current [mA]": i, "Charge [mAh]": q,
                         "Cycle (file)": cyc})


def test_fast_fading_cell_keeps_all_its_tiny_cycles():
    caps = 1.0 * np.exp(-np.arange(160) / 25.0)  # 160 cycles down to 0.17 % of the first
    halves = [h for c in caps for h in ((-1, c), (1, 0.999 * c))]
    frame = _cell(halves)
    s = cycle_summary(frame, sulfur_mass_mg=1.0)
    assert len(s.table) == 160 == s.file_cycles
    assert s.merged.empty
    np.testing.assert_allclose(s.table["Discharge capacity [mAh]"], caps, rtol=1e-6)
    np.testing.assert_allclose(s.table["Coulombic efficiency [%]"], 99.9, rtol=1e-6)
    thr = np.abs(np.diff(frame["Charge [mAh]"])).sum()
    h = s.half_cycles
    assert h["Capacity [mAh]"].sum() + h["Opposite charge [mAh]"].sum() == pytest.approx(thr)


def test_glitch_is_merged_listed_and_counted_once():
    frame = _cell([(-1, 1.0), (1, 0.99), (-1, 0.95), (1, 0.94)], glitch_after=2)
    s = cycle_summary(frame, sulfur_mass_mg=1.0)
    assert len(s.table) == 2 and len(s.merged) == 1
    glitch = s.merged.iloc[0]
    assert glitch["Direction"] == 1 and glitch["Voltage swing [V]"] < 0.05
    pulse = 2 * 5.0 / 3600.0  # 2 samples × 5 s at 1 mA
    assert glitch["Charge [mAh]"] == pytest.approx(pulse, rel=1e-6)
    h = s.half_cycles
    assert h["Opposite charge [mAh]"].sum() == pytest.approx(pulse, rel=1e-6)
    # the discharge holding the pulse still counts all of its own charge
    assert s.table["Discharge capacity [mAh]"].iloc[1] == pytest.approx(0.95, rel=1e-6)


def test_charge_first_cell_is_paired_in_its_own_order(tmp_path):
    """A Li-ion-like cell that starts with a charge: 99.5 % CE, not a ratio of mismatched halves."""
    caps = [1.0, 0.99, 0.98, 0.97]
    halves = [h for c in caps for h in ((1, c), (-1, 0.995 * c))]
    frame = _cell(halves)
    s = cycle_summary(frame, sulfur_mass_mg=1.0)
    assert s.first == "charge"
    np.testing.assert_allclose(s.table["Coulombic efficiency [%]"], 99.5, rtol=1e-6)
    path = write_mpt(frame.drop(columns="Cycle (file)"), tmp_path / "charge_first.mpt")
    res = run_files("cycling", {"file": path}, {"sulfur_mass_mg": 1.0})
    ce = res.tables["cycling_cycles"]["Coulombic efficiency [%]"]
    np.testing.assert_allclose(ce, 99.5, rtol=1e-3)
    assert (res.tables["cycling_cycles"]["Cycle convention"] == "charge-first").all()
    assert any(f.code == "cycle_convention" and "charge" in f.message for f in res.flags)


def test_cycle_count_that_differs_from_the_cyclers_index_is_flagged(tmp_path):
    frame = _cell([(-1, 1.0), (1, 0.99), (-1, 0.95), (1, 0.94)])
    frame["Cycle (file)"] = np.arange(len(frame)) // 50  # a cycler that counts otherwise
    s = cycle_summary(frame)
    assert s.file_cycles is not None and abs(s.file_cycles - len(s.table)) > 1
