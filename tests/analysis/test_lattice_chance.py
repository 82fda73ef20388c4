"""Phases whose reflections cover most spacings are not evidence of themselves: a real SrTiO3 HRTEM
image was "indexed" as S8, "confirmed" by a zone of 12 spots, without a word."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.microscopy.phases import REFERENCE_PHASES, chance_match_fraction
from tests.conftest import realdata_path


def _phase(name):
    return next(p for p in REFERENCE_PHASES if p.name == name)


def test_chance_fraction_of_lif_is_its_windows_by_hand():
    """LiF (fcc, a = 4.027 Å): 111, 200, 220 inside 0.12–0.5 nm and half of 311's window; each
    ±2 % window spans ln(1.02/0.98) in ln d."""
    a = 0.4027
    d = {hkl: a / np.sqrt(sum(i * i for i in hkl)) for hkl in ((1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1))}
    w = np.log(1.02 / 0.98)
    inside = 3 * w + np.log(d[(3, 1, 1)] * 1.02 / 0.12)
    assert chance_match_fraction(_phase("LiF"), 0.12, 0.5) == pytest.approx(
        inside / np.log(0.5 / 0.12), abs=0.003)


def test_dense_phases_match_most_spacings():
    assert chance_match_fraction(_phase("S8"), 0.12, 0.5) > 0.8
    assert chance_match_fraction(_phase("Li2S"), 0.12, 0.5) < 0.3


@pytest.mark.realdata
def test_srtio3_image_assigned_to_s8_is_flagged():
    from sulfurscope.analysis import run_files

    res = run_files("lattice", {"file": realdata_path(
        "images", "ncem_STO_TEAM05_Acquisition_18_berkeley.emd")})
    flagged = {f.subject for f in res.flags if f.code == "phase_not_discriminating"}
    assert "S8" in flagged
    assert not flagged & {"LiF", "Li2S"}
