"""Every real cycler file in SULFURSCOPE_REALDATA/echem reads into the canonical table.

Point counts, rests and current levels come from ../shared/data/README.md (verified here).
"""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.io import CyclerData, detect_cycler_format, read_cycler
from sulfurscope.units import CANONICAL_CYCLER_COLUMNS, CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE
from tests.conftest import realdata_path

# file -> (format, points from the data README, total rest expected in hours (None = no claim))
REAL_FILES = {
    "arbin_cycling_navani_example.res": ("arbin-res", 2150, None),
    "biologic_bcd_issue241.mpr": ("biologic-mpr", 2550, None),
    "biologic_bcd_issue241.mpt": ("biologic-mpt", 2550, None),
    "biologic_gcpl_30min_rest_C04.mpr": ("biologic-mpr", 7430, 53 * 0.5),
    "biologic_gcpl_5cycles_coin_jdb11-1_c3_C09.mpr": ("biologic-mpr", 46102, 1.0),
    "biologic_gcpl_LNMO-SiGr_cycling_01_02.mpr": ("biologic-mpr", 3791, None),
    "biologic_gcpl_LNMO-SiGr_formation_01_01.mpr": ("biologic-mpr", 392, 12.0),
    "biologic_gcpl_NaHC_halfcell_pr182_1.mpr": ("biologic-mpr", 2533, None),
    "biologic_gcpl_NaHC_halfcell_pr182_1.mpt": ("biologic-mpt", 2533, None),
    "biologic_gcpl_cccv_4p6V_issue228.mpr": ("biologic-mpr", 10914, None),
    "biologic_gcpl_newcols_issue230.mpr": ("biologic-mpr", 19025, 6.0),
    "biologic_gcpl_squidcell_jdb11-1_e1_s3_C15.mpr": ("biologic-mpr", 32917, 6.0),
    "biologic_mb_analogin_issue218.mpr": ("biologic-mpr", 3564, None),
    "biologic_mb_geis_pulse_ocvrelax_biol.mpr": ("biologic-mpr", 23561, 4 * (5 + 30) / 60),
    "biologic_mb_newcols_issue223.mpr": ("biologic-mpr", 108, None),
    "biologic_mp_pulse_rest_issue183.mpr": ("biologic-mpr", 59239, 8 * 0.25),
    "maccor_diag_xTESLADIAG_000019_CH70.070": ("maccor", 11669, None),
    "neware_cccv_5cycles_nw4-120-6-1-36.ndax": ("neware", 7257, None),
    "neware_charge_252k_IFE_BTS85.ndax": ("neware", 252951, None),
    "neware_navani_test.nda": ("neware", 439, 0.01),
    "neware_navani_test.ndax": ("neware", 1464, 0.1),
}

# |current| levels named in the data README (mA): the reconstructed/converted current must hit them
CURRENT_LEVELS_MA = {
    "biologic_gcpl_30min_rest_C04.mpr": 3.8,
    "biologic_gcpl_5cycles_coin_jdb11-1_c3_C09.mpr": 0.0888,
    "biologic_gcpl_squidcell_jdb11-1_e1_s3_C15.mpr": 0.010,
    "arbin_cycling_navani_example.res": 0.0866,
    "neware_cccv_5cycles_nw4-120-6-1-36.ndax": 22.5,
    "maccor_diag_xTESLADIAG_000019_CH70.070": 9400.0,
}


@pytest.fixture(scope="module", params=sorted(REAL_FILES))
def real(request: pytest.FixtureRequest) -> tuple[str, CyclerData]:
    name = request.param
    return name, read_cycler(realdata_path("echem", name))


def test_real_file_reads_canonical(real: tuple[str, CyclerData]) -> None:
    name, data = real
    fmt, points, _ = REAL_FILES[name]
    frame = data.frame
    assert data.format == fmt
    assert list(frame.columns[:6]) == list(CANONICAL_CYCLER_COLUMNS)
    assert len(frame) == points
    for col in (TIME, VOLTAGE, CURRENT, CHARGE):
        assert frame[col].dtype == np.float64
        assert np.isfinite(frame[col].to_numpy()).all(), col
    assert frame[STEP].dtype == np.int64
    assert frame[REST].dtype == bool
    t = frame[TIME].to_numpy()
    assert t[0] == 0.0
    assert np.all(np.diff(t) >= 0), "time must be monotone non-decreasing"
    v = frame[VOLTAGE].to_numpy()
    assert -1.0 <= v.min() and v.max() <= 5.0
    assert frame[CHARGE].iloc[0] == 0.0
    # every extra column follows the grammar: no EC-Lab 'quantity/unit' names left
    for col in frame.columns[6:]:
        assert "/" not in col.split(" [")[0] or col.startswith(("dV/dt", "Ox/red")), col


@pytest.mark.parametrize("name", sorted(n for n, v in REAL_FILES.items() if v[2] is not None))
def test_real_file_rests(name: str) -> None:
    rest_h = REAL_FILES[name][2]
    frame = read_cycler(realdata_path("echem", name)).frame
    t = frame[TIME].to_numpy()
    dt = np.diff(t, prepend=t[0])
    found_h = dt[frame[REST].to_numpy()].sum() / 3600.0
    assert found_h >= 0.9 * rest_h
    # rest rows carry no current, except the first row of a rest, whose interval (backward
    # difference, as EC-Lab's own <I>) can still hold the end of the previous pulse
    rest = frame[REST].to_numpy()
    first_of_rest = rest & ~np.concatenate([[False], rest[:-1]])
    inner = rest & ~first_of_rest
    i_max = max(1e-9, float(frame[CURRENT].abs().max()))
    assert np.abs(frame[CURRENT].to_numpy()[inner]).max(initial=0.0) <= 1e-3 * i_max


@pytest.mark.parametrize("name", sorted(CURRENT_LEVELS_MA))
def test_real_current_levels(name: str) -> None:
    frame = read_cycler(realdata_path("echem", name)).frame
    level = CURRENT_LEVELS_MA[name]
    i = frame[CURRENT].to_numpy()
    moving = np.abs(i) > 0.5 * level
    assert moving.mean() > 0.1
    assert np.median(np.abs(i[moving])) == pytest.approx(level, rel=0.03)
    # both signs present: the sign convention (charge positive) was applied
    assert (i > 0.5 * level).any() and (i < -0.5 * level).any()


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_detect_format(name: str) -> None:
    assert detect_cycler_format(realdata_path("echem", name)) == REAL_FILES[name][0]


def test_charge_is_integral_of_current_on_real_gcpl() -> None:
    frame = read_cycler(realdata_path("echem", "biologic_gcpl_30min_rest_C04.mpr")).frame
    t = frame[TIME].to_numpy()
    i = frame[CURRENT].to_numpy()
    q = frame[CHARGE].to_numpy()
    # backward-difference current reproduces the file's charge exactly (rectangle rule)
    q_rect = np.concatenate([[0.0], np.cumsum(i[1:] * np.diff(t))]) / 3600.0
    assert np.allclose(q, q_rect, atol=1e-9 * np.abs(q).max() + 1e-12)


def test_mp_step_charge_rebuilds_cumulative_charge() -> None:
    """'dQ/mA.h' (id 23) restarts at every step: Charge must equal the integral of <I>."""
    frame = read_cycler(realdata_path("echem", "biologic_mp_pulse_rest_issue183.mpr")).frame
    t = frame[TIME].to_numpy()
    i = frame[CURRENT].to_numpy()
    q_int = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))]) / 3600.0
    q = frame[CHARGE].to_numpy()
    assert np.abs(q - q_int).max() < 1e-3 * np.abs(q_int).max()
    assert "Step charge [mAh]" in frame.columns
