"""XPS atomic % against truth: region areas and their uncertainty from plain-NumPy spectra.

Truth: three regions (C 1s, F 1s, S 2p) written here without ``sulfurscope.simulate``: a Gaussian
peak of known area on an exact Shirley step (background = low level + k·∫ peak, so a Shirley
background recovers the peak area exactly), Poisson counts divided by dwell × scans (counts/s).
The issue's bar: the 95 % interval (± 1.96 stderr) of every atomic % holds the true value
x_i = (A_i/S_i)/Σ(A_j/S_j) in 90–98 % of 200 replicates; the estimate is unbiased within 1 SE.
"""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.errors import FitError
from sulfurscope.spectra.xps import XPSSpectrum, noise_scale, region_area_stderr
from sulfurscope.spectra.xps_quant import quantification_rows

# region → (centre eV, FWHM eV, area counts/s·eV, background counts/s, Shirley step ÷ peak height,
# window eV)
REGIONS = {
    "C 1s": (284.8, 1.4, 1500.0, 300.0, 0.10, (278.0, 292.0)),
    "F 1s": (685.5, 1.8, 2400.0, 500.0, 0.15, (679.0, 693.0)),
    "S 2p": (163.5, 2.2, 450.0, 200.0, 0.05, (156.0, 172.0)),
}
RSF = {"C 1s": 1.0, "F 1s": 4.43, "S 2p": 1.68}
DWELL_SCANS = 0.5  # 0.1 s dwell × 5 scans: counts/s = counts / 0.5


def _region(rng, centre, fwhm, area, low, step, window):
    e = np.arange(window[0], window[1] + 1e-9, 0.1)
    s = fwhm / 2.3548
    peak = area * np.exp(-0.5 * ((e - centre) / s) ** 2) / (np.sqrt(2 * np.pi) * s)
    # Shirley step: rises towards high binding energy with the integral of the peak
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (peak[1:] + peak[:-1]) * np.diff(e))])
    lam = low + peak + step * peak.max() * cum / area  # a step of `step` × the peak height
    return e, rng.poisson(lam * DWELL_SCANS) / DWELL_SCANS


def _truth():
    c = {k: v[2] / RSF[k] for k, v in REGIONS.items()}
    t = sum(c.values())
    return {k: 100.0 * v / t for k, v in c.items()}


@pytest.mark.parametrize("region", list(REGIONS))
def test_noise_scale_recovers_the_counting_noise(region):
    rng = np.random.default_rng(1)
    k = np.array([noise_scale(_region(rng, *REGIONS[region])[1]) for _ in range(100)])
    assert k.mean() == pytest.approx(1.0 / np.sqrt(DWELL_SCANS), rel=0.03)
    assert k.std() / k.mean() < 0.10


@pytest.mark.parametrize("region", list(REGIONS))
def test_region_area_is_the_peak_area(region):
    """Nearly unbiased: the mean of 200 areas is within 2 % of the true area and the bias is under a
    quarter of one area's standard error (measured: C 1s +0.3 %, F 1s −1.7 %; the Shirley
    background is non-linear in the noisy end levels, so a small bias remains on big steps).

    On the low-S/N S 2p region the averaged end levels are often further apart than the peak can
    explain and Shirley has no solution (FitError, ~4 %): the pipeline then takes a linear
    background and says so (next test)."""
    rng = np.random.default_rng(2)
    est, failed = [], 0
    for _ in range(200):
        try:
            est.append(region_area_stderr(_region(rng, *REGIONS[region]), replicates=2)[0])
        except FitError:
            failed += 1
    est_a = np.array(est)
    true = REGIONS[region][2]
    assert failed <= 0.1 * 200
    assert abs(est_a.mean() - true) < 0.25 * est_a.std()
    assert abs(est_a.mean() / true - 1) < 0.02


def test_atomic_percent_intervals_cover_the_truth():
    """Through the pipeline's own quantification (Shirley, linear where Shirley has no solution)."""
    rng = np.random.default_rng(20261207)
    truth = _truth()
    hits = {k: 0 for k in REGIONS}
    z: dict[str, list[float]] = {k: [] for k in REGIONS}
    n = 200
    for _ in range(n):
        cands = [XPSSpectrum(k, *_region(rng, *spec), 1486.6) for k, spec in REGIONS.items()]
        failures: list[tuple[str, str]] = []
        q = quantification_rows(cands, [], [], RSF, failures).set_index("Region")
        assert not failures
        for k in REGIONS:
            x, u = q.loc[k, "Value [%]"], q.loc[k, "Stderr [%]"]
            hits[k] += abs(x - truth[k]) <= 1.96 * u
            z[k].append((x - truth[k]) / u)
    cover = {k: v / n for k, v in hits.items()}
    assert all(0.90 <= c <= 0.98 for c in cover.values()), cover
    assert all(abs(np.mean(v)) < 0.3 for v in z.values()), {k: np.mean(v) for k, v in z.items()}
