"""EELS depth metrics against independently simulated line scans (issue 16).

Truth: a core-loss line scan written here with plain NumPy, not by ``sulfurscope.simulate``: a
power-law background 4·10¹²·E^−3.4 counts/eV, an F K edge at 685 eV whose step height follows
c(z) = B + A·exp(−z/λ) along the scan (LiF-rich surface over a uniform interior), Poisson counts.
The F K integral over the default 682–715 eV window is then I(z) = h·c(z) exactly, so the 1/e depth
is λ; the detection depth is where the excess reaches 3σ of one deep point, with σ the standard
deviation of the deep integral measured on 2 000 independent noisy spectra (background
extrapolation included). The bars are the issue's: 1/e depth within 10 %, detection depth within
20 %, and the 95 % interval of λ holds the truth in 90–98 % of replicate scans.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sulfurscope.analysis.eels import EelsOptions, analyse_eels
from sulfurscope.io.eels import EELSData

E = np.arange(600.0, 760.0, 0.5)
DE = 0.5
STEP = np.where(E >= 685.0, (E / 685.0) ** -2.5, 0.0)  # edge shape per unit step height
BG = 4e12 * E**-3.4 * DE  # ≈ 900 counts/channel at 680 eV
WINDOW = (E >= 682.0 - DE / 2) & (E < 715.0 - DE / 2)  # the channels the default window takes


def _scan(rng, lam, a, b, h, pos):
    c = b + a * np.exp(-pos / lam)
    mean = BG[None, :] + h * c[:, None] * STEP[None, :]
    return rng.poisson(mean).astype(float)


def _data(counts, pos):
    return EELSData(
        counts=counts,
        energy_ev=E.copy(),
        navigation_names=("x",),
        navigation_nm=(pos,),
        navigation_units=("nm",),
        title="synthetic F K line scan",
        path=Path("synthetic.hspy"),
        format="synthetic",
    )


OPTS = EelsOptions(edges=("F_K",), depth_edges=("F_K",))


def _deep_sigma(rng, b, h, n=2000):
    """σ of one deep point's F K integral, by simulation through the same analysis."""
    deep = rng.poisson(BG[None, :] + h * b * STEP[None, :], size=(n, E.size)).astype(float)
    res = analyse_eels(None, _data(deep, np.arange(n, dtype=float)), OPTS)
    return float(res.tables["eels_integrals"]["Integral [counts]"].std())


@pytest.mark.parametrize(("lam", "a", "b", "h"), [(100.0, 4.0, 1.0, 60.0), (250.0, 2.0, 1.0, 80.0)])
def test_eels_depths_within_bounds_of_the_truth(lam, a, b, h):
    rng = np.random.default_rng(11)
    pos = np.arange(0.0, 1500.0, 10.0)
    per_unit = h * float(STEP[WINDOW].sum())  # integral per unit concentration
    sigma_b = _deep_sigma(rng, b, h)
    truth_det = lam * np.log(a * per_unit / (3.0 * sigma_b))
    for _ in range(5):
        res = analyse_eels(None, _data(_scan(rng, lam, a, b, h, pos), pos), OPTS)
        row = res.tables["eels_depth"].iloc[0]
        assert row["Edge"] == "F_K" and row["Surface"] == "start"
        assert row["1/e depth [nm]"] == pytest.approx(lam, rel=0.10)
        assert row["Detection depth [nm]"] == pytest.approx(truth_det, rel=0.20)
        assert row["Surface excess [counts]"] == pytest.approx(a * per_unit, rel=0.15)
        assert row["Flags"] == ""


def test_eels_depth_from_the_far_end_and_flags_a_flat_profile():
    rng = np.random.default_rng(5)
    pos = np.arange(0.0, 1500.0, 10.0)
    counts = _scan(rng, 100.0, 4.0, 1.0, 60.0, pos)[::-1]  # surface at the end of the scan
    res = analyse_eels(None, _data(counts, pos), EelsOptions(edges=("F_K",), surface="end"))
    assert res.tables["eels_depth"].iloc[0]["1/e depth [nm]"] == pytest.approx(100.0, rel=0.10)
    flat = _scan(rng, 100.0, 0.0, 1.0, 60.0, pos)
    res = analyse_eels(None, _data(flat, pos), OPTS)
    assert "not_detected" in res.tables["eels_depth"].iloc[0]["Flags"]
    assert any(f.code == "depth_not_detected" for f in res.flags)


def test_eels_depth_interval_coverage():
    """95 % intervals over 100 replicate scans (λ = 100 nm) hold the truth in 90–98 %.

    Measured: λ 94 %, detection depth 96 % (89 % before σ_B's own scatter entered the bootstrap).
    """
    rng = np.random.default_rng(2026)
    pos = np.arange(0.0, 1500.0, 10.0)
    per_unit = 60.0 * float(STEP[WINDOW].sum())
    truth_det = 100.0 * np.log(
        4.0 * per_unit / (3.0 * _deep_sigma(np.random.default_rng(1), 1.0, 60.0))
    )
    hits = hits_det = 0
    for _ in range(100):
        res = analyse_eels(None, _data(_scan(rng, 100.0, 4.0, 1.0, 60.0, pos), pos), OPTS)
        row = res.tables["eels_depth"].iloc[0]
        hits += row["1/e depth CI95 low [nm]"] <= 100.0 <= row["1/e depth CI95 high [nm]"]
        lo, hi = row["Detection depth CI95 low [nm]"], row["Detection depth CI95 high [nm]"]
        hits_det += lo <= truth_det <= hi
    assert 90 <= hits <= 98
    assert 90 <= hits_det <= 98
