"""Simulated TGA: the written NETZSCH export reads back and gives the sulfur fraction it was made with."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.io.tga import read_tga
from sulfurscope.simulate.tga import tga_curve, write_netzsch_tga
from sulfurscope.spectra import sulfur_fraction


@pytest.mark.parametrize("w", [0.485, 0.490, 0.497])
@pytest.mark.parametrize("noisy", [False, True])
def test_written_tga_recovers_the_fraction(tmp_path, w: float, noisy: bool) -> None:
    rng = np.random.default_rng(3)
    t, m = tga_curve(w, noise_pct=0.02 if noisy else 0.0, rng=rng)
    p = write_netzsch_tga(t, m, tmp_path / "tga.txt", sample="AC-S <1 um>", note="SIMULATED")
    data = read_tga(p)
    assert len(data.frame) == t.size
    np.testing.assert_allclose(data.frame["Temperature [°C]"], t, atol=1e-3)
    res = sulfur_fraction(data.frame["Temperature [°C]"], data.frame["Mass [%]"])
    assert res.to_dict()["sulfur_fraction"] == pytest.approx(w, abs=0.002)


def test_tga_curve_is_monotone_without_noise() -> None:
    _, m = tga_curve(0.49)
    assert np.all(np.diff(m) <= 1e-12)
    assert m[0] == pytest.approx(100.0)


def test_tga_curve_errors() -> None:
    with pytest.raises(ValueError, match="sulfur_fraction"):
        tga_curve(49.0)
    with pytest.raises(ValueError, match="rng"):
        tga_curve(0.49, noise_pct=0.1)
