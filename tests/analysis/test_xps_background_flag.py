"""The atomic % of a region whose window has no Shirley solution fall back to a linear background
with a warning that names the region (it was only a note in the table)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sulfurscope.analysis.xps import XpsOptions, analyse_xps_file
from sulfurscope.io.xps import XPSData
from sulfurscope.spectra.xps import XPSSpectrum


def _peak(e, centre, area, fwhm=1.5):
    s = fwhm / 2.3548
    return area * np.exp(-0.5 * ((e - centre) / s) ** 2) / (np.sqrt(2 * np.pi) * s)


def _data():
    # F 1s: a peak on its own Shirley step (Shirley solves it)
    e_f = np.arange(679.0, 693.0, 0.1)
    pf = _peak(e_f, 685.5, 2000.0)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (pf[1:] + pf[:-1]) * np.diff(e_f))])
    f = 400.0 + pf + 0.1 * pf.max() * cum / 2000.0
    # C 1s: a peak on a steep straight background that does not come from the peak: after the
    # peak the data lie below the high-energy end level, so no monotonic Shirley exists
    e_c = np.arange(275.0, 305.0, 0.1)
    c = 300.0 + 60.0 * (e_c - 275.0) + _peak(e_c, 284.8, 1500.0)
    spectra = (
        XPSSpectrum("F 1s", e_f, f, 1486.6),
        XPSSpectrum("C 1s", e_c, c, 1486.6),
    )
    return XPSData(spectra=spectra, metadata={}, path=Path("synthetic.vms"), format="vamas")


def test_linear_fallback_is_a_warning_naming_the_region():
    res = analyse_xps_file(_data(), XpsOptions(mc_replicas=0))
    q = res.tables["xps_quantification"]
    atomic = q[q["Quantity"] == "Atomic [%]"].set_index("Region")
    assert "Shirley had no solution" in atomic.loc["C 1s", "Note"]
    assert atomic.loc["F 1s", "Note"].startswith("Shirley")
    flags = [f for f in res.flags if f.code == "quantification_linear_background"]
    assert len(flags) == 1 and flags[0].severity == "warning"
    assert flags[0].message.startswith("C 1s:") and "F 1s" not in flags[0].message
    # the linear area of the straight-background region is its peak area
    assert atomic.loc["C 1s", "Area [counts/s·eV]"] == pytest.approx(1500.0, rel=0.02)


def test_no_flag_when_shirley_solves_every_window():
    d = _data()
    d = XPSData(spectra=d.spectra[:1], metadata={}, path=d.path, format=d.format)
    res = analyse_xps_file(d, XpsOptions(mc_replicas=0))
    assert not [f for f in res.flags if f.code == "quantification_linear_background"]
