"""GITT segmentation on every real cycler file (../shared/data/echem), read through read_cycler.

Expected counts were established by hand from each file's run structure (runs of the Rest flag and of
the current sign, with their step numbers, durations and currents), independently of gitt_steps:

- C04 GCPL: 30 min rest after each of 53 half-cycles (rests share Ns, marked only by mode) -> 53/53.
- Modulo Bat (biol.mpr): 4 x [GEIS, 5 min rest, 4 h 0.325 mA pulse, 10 s + 30 min OCV]; the 4th pulse
  is cut at 1.0 V (11983 s) and followed by 20 s + 1 h OCV; final GEIS + rests. GEIS is no pulse -> 4/4.
- Modular Pulse (mp.issue_183): 8 x (2 h pulse, 15 min rest), alternating sign -> 8/8.
- Arbin: 4 x (charge, discharge, 1 h rest) -> 8 pulses, 4 rests.
- Maccor diagnostic: discharge + 30 min rest, 30 x (charge, discharge, 30 min rest), slow discharge +
  30 min rest -> 62 pulses, 32 rests.
- Neware .nda: 3 pulses (5 s, 49 s, 500 s) each followed by a rest -> 3/3.
- Plain cycling files without rests: one pulse per half-cycle, no rests.
- LNMO cycling: single flagged points between half-cycles are no rests; only the final 30 min rest.
"""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.cycling.gitt import (
    diffusion_coefficients,
    gitt_steps,
    relaxation_curves,
    relaxation_fits,
    relaxation_times,
)
from sulfurscope.io import read_cycler
from tests.conftest import realdata_path

pytestmark = pytest.mark.realdata

# file -> (pulses, pulses followed by a rest, half-cycles)
HAND_COUNTS = {
    "biologic_gcpl_30min_rest_C04.mpr": (53, 53, 53),
    "biologic_mb_geis_pulse_ocvrelax_biol.mpr": (4, 4, 1),
    "biologic_mp_pulse_rest_issue183.mpr": (8, 8, 8),
    "arbin_cycling_navani_example.res": (8, 4, 8),
    "maccor_diag_xTESLADIAG_000019_CH70.070": (62, 32, 61),
    "neware_navani_test.nda": (3, 3, 3),
    "neware_navani_test.ndax": (2, 1, 2),
    "neware_cccv_5cycles_nw4-120-6-1-36.ndax": (10, 0, 10),
    "neware_charge_252k_IFE_BTS85.ndax": (1, 0, 1),
    "biologic_bcd_issue241.mpr": (2, 1, 2),
    "biologic_bcd_issue241.mpt": (2, 1, 2),
    "biologic_gcpl_5cycles_coin_jdb11-1_c3_C09.mpr": (13, 0, 13),
    "biologic_gcpl_LNMO-SiGr_cycling_01_02.mpr": (6, 1, 6),
    "biologic_gcpl_LNMO-SiGr_formation_01_01.mpr": (1, 1, 1),
    "biologic_gcpl_NaHC_halfcell_pr182_1.mpr": (9, 9, 8),
    "biologic_gcpl_NaHC_halfcell_pr182_1.mpt": (9, 9, 8),
    "biologic_gcpl_cccv_4p6V_issue228.mpr": (22, 0, 22),
    "biologic_gcpl_newcols_issue230.mpr": (6, 6, 5),
    "biologic_gcpl_squidcell_jdb11-1_e1_s3_C15.mpr": (13, 0, 13),
    "biologic_mb_analogin_issue218.mpr": (1, 0, 1),
    "biologic_mb_newcols_issue223.mpr": (4, 4, 4),
}


def _read(name: str):
    return read_cycler(realdata_path("echem", name)).frame


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(HAND_COUNTS))
def test_pulse_and_rest_counts_match_hand_counts(name):
    df = _read(name)
    s = gitt_steps(df, sulfur_mass_mg=None)
    pulses, rests, halves = HAND_COUNTS[name]
    assert (len(s.step), int(s.has_rest.sum()), int(s.half_cycle.max(initial=0))) == (
        pulses,
        rests,
        halves,
    )
    # nothing downstream crashes, for both V0 conventions
    for v0 in ("last_under_current", "first_rest_point"):
        r = relaxation_times(df, s, v0=v0)
        assert len(r.tau_s) == rests
        assert np.all(r.tau_s[r.reached] >= 0)
        c = relaxation_curves(df, s, v0=v0)
        assert len(c.curve_step) == rests
    d = diffusion_coefficients(df, s, particle_radius_um=5.0)
    assert len(d.step) <= rests
    assert s.to_frame().shape[0] == pulses


def test_modulo_bat_pulses_and_cut_pulse():
    df = _read("biologic_mb_geis_pulse_ocvrelax_biol.mpr")
    s = gitt_steps(df, sulfur_mass_mg=None)
    dur = s.pulse_end_s - s.pulse_start_s
    np.testing.assert_allclose(dur[:3], 14400.0, atol=2.0)
    assert dur[3] == pytest.approx(11983.0, abs=2.0)  # cut by the 1.0 V limit
    assert s.truncated.tolist() == [False, False, False, True]
    assert s.ccv_v[3] == pytest.approx(1.0, abs=0.002)
    np.testing.assert_allclose(s.current_ma, 0.325, atol=0.002)
    assert set(s.direction) == {"delithiation"}
    # 10 s + 30 min OCV steps form one rest; the last one is 20 s + 1 h
    rest = s.rest_end_s - s.rest_start_s
    np.testing.assert_allclose(rest[:3], 1810.0, atol=30.0)
    assert rest[3] == pytest.approx(3620.0, abs=30.0)


def test_gcpl_rests_sharing_ns_and_relaxation_conventions():
    df = _read("biologic_gcpl_30min_rest_C04.mpr")
    s = gitt_steps(df, sulfur_mass_mg=None)
    np.testing.assert_allclose(s.rest_end_s - s.rest_start_s, 1800.0, atol=60.0)
    assert s.direction[0] == "lithiation" and s.half_cycle_label[1] == "first charge"
    a = relaxation_times(df, s, v0="last_under_current")
    b = relaxation_times(df, s, v0="first_rest_point")
    # the IR step counted as relaxation makes tau shorter
    assert np.nanmedian(a.tau_s) < np.nanmedian(b.tau_s)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fits_run_on_the_modulo_bat_rests():
    df = _read("biologic_mb_geis_pulse_ocvrelax_biol.mpr")
    s = gitt_steps(df, sulfur_mass_mg=None)
    fits = relaxation_fits(df, s, v0="first_rest_point")
    assert len(fits.step) == 12
    two = fits.model == "two_exponential"
    one = fits.model == "exponential"
    # a real relaxation is not one exponential: the two-exponential fit is clearly better
    assert np.all(fits.rms_residual_mv[two] < fits.rms_residual_mv[one])
