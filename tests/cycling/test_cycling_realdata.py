"""The cycling core on every real cycler file, and the .mpr/.mpt oracle at summary level."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.cycling import cycle_summary, half_cycles, voltage_profiles
from sulfurscope.io import read_cycler
from tests.conftest import realdata_path

ECHEM = [
    "arbin_cycling_navani_example.res",
    "biologic_bcd_issue241.mpr",
    "biologic_bcd_issue241.mpt",
    "biologic_gcpl_30min_rest_C04.mpr",
    "biologic_gcpl_5cycles_coin_jdb11-1_c3_C09.mpr",
    "biologic_gcpl_LNMO-SiGr_cycling_01_02.mpr",
    "biologic_gcpl_LNMO-SiGr_formation_01_01.mpr",
    "biologic_gcpl_NaHC_halfcell_pr182_1.mpr",
    "biologic_gcpl_NaHC_halfcell_pr182_1.mpt",
    "biologic_gcpl_cccv_4p6V_issue228.mpr",
    "biologic_gcpl_newcols_issue230.mpr",
    "biologic_gcpl_squidcell_jdb11-1_e1_s3_C15.mpr",
    "biologic_mb_analogin_issue218.mpr",
    "biologic_mb_geis_pulse_ocvrelax_biol.mpr",
    "biologic_mb_newcols_issue223.mpr",
    "biologic_mp_pulse_rest_issue183.mpr",
    "maccor_diag_xTESLADIAG_000019_CH70.070",
    "neware_cccv_5cycles_nw4-120-6-1-36.ndax",
    "neware_charge_252k_IFE_BTS85.ndax",
    "neware_navani_test.nda",
    "neware_navani_test.ndax",
]


@pytest.mark.realdata
@pytest.mark.parametrize("name", ECHEM)
def test_every_real_file_summarises(name: str) -> None:
    data = read_cycler(realdata_path("echem", name))
    s = cycle_summary(data.frame, sulfur_mass_mg=1.0)
    t = s.table
    assert len(t) >= 1
    # charge conservation: every mAh counted once — the half-cycles' own-direction capacities and
    # the opposite charge of merged glitches add up to the net charge passed and to the throughput
    q = data.frame["Charge [mAh]"].to_numpy()
    net = q[-1] - q[0]
    h = s.half_cycles
    total = np.sum(h["Direction"] * (h["Capacity [mAh]"] - h["Opposite charge [mAh]"]))
    assert total == pytest.approx(net, rel=1e-9, abs=1e-9)
    throughput = np.abs(np.diff(q)).sum()
    counted = h["Capacity [mAh]"].sum() + h["Opposite charge [mAh]"].sum()
    assert counted == pytest.approx(throughput, rel=1e-9, abs=1e-9)
    if s.merged.empty:
        assert h["Opposite charge [mAh]"].sum() <= 1e-2 * throughput  # rest noise only
    # mean voltages lie inside the voltage range of the file
    v = data.frame["Voltage [V]"]
    for col in ("Mean discharge voltage [V]", "Mean charge voltage [V]"):
        m = t[col].dropna()
        assert ((m >= v.min() - 1e-9) & (m <= v.max() + 1e-9)).all()
    prof = voltage_profiles(data.frame).table
    assert prof["Capacity [mAh]"].min() >= -1e-6 * max(1.0, abs(net))


@pytest.mark.realdata
@pytest.mark.parametrize("stem", ["biologic_bcd_issue241", "biologic_gcpl_NaHC_halfcell_pr182_1"])
def test_mpr_and_mpt_give_the_same_summary(stem: str) -> None:
    a = cycle_summary(read_cycler(realdata_path("echem", stem + ".mpr")).frame).table
    b = cycle_summary(read_cycler(realdata_path("echem", stem + ".mpt")).frame).table
    assert list(a["Cycle"]) == list(b["Cycle"])
    for col in ("Discharge capacity [mAh]", "Charge capacity [mAh]", "Mean discharge voltage [V]"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-4, atol=1e-6, equal_nan=True)


@pytest.mark.realdata
def test_nahc_half_cycles_match_ec_lab_counts() -> None:
    # EC-Lab's own export says: formation + 3 loops, 8 half-cycles, discharge (sodiation) first
    data = read_cycler(realdata_path("echem", "biologic_gcpl_NaHC_halfcell_pr182_1.mpt"))
    hc = half_cycles(data.frame).table
    assert len(hc) == 8
    assert list(hc["Direction"]) == [-1, 1] * 4
    # EC-Lab's "Q discharge/mA.h" of the first discharge, read from the same export
    s = cycle_summary(data.frame).table
    assert s["Discharge capacity [mAh]"].iloc[0] == pytest.approx(3.252, rel=2e-3)


@pytest.mark.realdata
def test_gcpl_5cycles_has_five_full_cycles() -> None:
    # README: 5 cycles, 13 half-cycles (a short first half after the 1 h rest)
    data = read_cycler(realdata_path("echem", "biologic_gcpl_5cycles_coin_jdb11-1_c3_C09.mpr"))
    s = cycle_summary(data.frame, first="charge").table
    full = s.dropna(subset=["Discharge capacity [mAh]", "Charge capacity [mAh]"])
    assert len(full) >= 5
    ce = full["Coulombic efficiency [%]"].iloc[1:]
    assert ce.between(90, 110).all()
