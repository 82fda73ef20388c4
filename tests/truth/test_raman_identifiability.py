"""Raman I_D/I_G against truth over noise seeds (the issue's Sadezky instability).

Spectra are simulated with known bands (``sulfurscope.simulate.raman``, independent of the fit) and
Poisson noise. The two-band ratio must be stable (spread ≤ 5 %) and say so; the five-band (Sadezky)
ratio must either be stable or be flagged as not identifiable with a scatter that matches its real
spread — never a tight stderr on a number that moves by tens of percent between seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.simulate.raman import DISORDERED_CARBON_BANDS, simulate_raman
from sulfurscope.spectra.raman import fit_raman, ratio_scatter

X = np.arange(800.0, 2200.0, 1.5)
SEEDS = range(20)


def _spectrum(seed: int, scale: float = 1.0) -> np.ndarray:
    bands = [dict(b, height=b["height"] * scale) for b in DISORDERED_CARBON_BANDS]
    return simulate_raman(X, bands, baseline=(500.0 * scale, 0.05 * scale), rng=seed, n_spikes=0)


def test_two_band_ratio_is_stable_and_says_so():
    ratios = []
    for seed in SEEDS:
        fit = fit_raman(X, _spectrum(seed), model="two-band")
        ratios.append(fit.id_ig_height)
        if seed < 3:
            assert ratio_scatter(fit).identifiable
    r = np.asarray(ratios)
    assert np.ptp(r) / np.median(r) <= 0.10 and r.std() / r.mean() <= 0.05


def test_sadezky_ratio_is_stable_or_flagged_with_its_real_spread():
    ratios, scatters, verdicts = [], [], []
    for seed in SEEDS:
        fit = fit_raman(X, _spectrum(seed), model="sadezky")
        ratios.append(fit.id_ig_height)
        if seed < 6:
            sc = ratio_scatter(fit, seed=seed)
            scatters.append(sc.height_sd)
            verdicts.append(sc.identifiable)
    r = np.asarray(ratios)
    spread = r.std() / r.mean()
    if spread <= 0.05:
        return
    assert not any(verdicts), "a five-band ratio that moves between seeds must be flagged"
    # the measured scatter is the real spread within a factor of 2.5 (the stderr is ~5x too small)
    assert 0.4 * r.std() <= float(np.median(scatters)) <= 2.5 * r.std()


@pytest.mark.parametrize("model", ["two-band", "sadezky"])
def test_flag_reaches_the_analysis(model):
    import pandas as pd

    from sulfurscope.analysis.raman import RamanOptions, analyse_raman
    from sulfurscope.io.raman import RamanData

    data = RamanData(shift_cm1=X, intensity=_spectrum(1)[None, :],
                     positions=pd.DataFrame({"Spectrum": [0]}), metadata={}, path="sim.txt",
                     format="text")  # fmt: skip
    res = analyse_raman(data, RamanOptions(models=(model,)))
    codes = {f.code for f in res.flags}
    s = res.tables["raman_summary"]
    assert "Identifiable" in s and "I_D/I_G (height) scatter" in s
    assert ("bands_not_identifiable" in codes) == (not bool(s["Identifiable"].iloc[0]))
    if model == "two-band":
        assert "bands_not_identifiable" not in codes


def test_two_band_ratio_uncertainty_covers_the_truth():
    """Two Lorentzian bands of known heights (I_D/I_G = 0.9) on a sloped baseline, Poisson counts:
    the summary's ``I_D/I_G (height) uncertainty`` holds the truth in 90–98 % of 100 spectra.

    Measured: 95 % (the least-squares stderr alone: 88 %, it leaves out the baseline; the replica
    scatter with one σ for all channels: 82 %)."""
    from sulfurscope.spectra.raman_map import raman_tables

    bands = [
        {"shape": "lorentzian", "center_cm1": 1350.0, "fwhm_cm1": 150.0, "height": 900.0},
        {"shape": "lorentzian", "center_cm1": 1590.0, "fwhm_cm1": 70.0, "height": 1000.0},
    ]
    hits = 0
    for seed in range(100):
        y = simulate_raman(X, bands, baseline=(500.0, 0.05), rng=2000 + seed)
        row = raman_tables(X, y, models=("two-band",))["raman_summary"].iloc[0]
        hits += abs(row["I_D/I_G (height)"] - 0.9) <= 1.96 * row["I_D/I_G (height) uncertainty"]
    assert 90 <= hits <= 98
