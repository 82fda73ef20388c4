"""Every specific capacity carries its sulfur mass's standard uncertainty: the cycling and GITT
analyses (what the CLI and a pipeline task run) against the GUM product rule written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sulfurscope.analysis import run_files
from tests.study._synth import write_rate


@pytest.fixture(scope="module")
def rate_file(tmp_path_factory):
    return write_rate(tmp_path_factory.mktemp("u") / "rate.mpt", 600.0, 2.5, 7)


def test_capacity_uncertainty_from_composite_and_fraction(rate_file) -> None:
    opts = {"composite_mass_mg": 5.0, "composite_mass_u_mg": 0.05, "sulfur_fraction": 0.5,
            "sulfur_fraction_u": 0.01, "protocol": "rate"}
    c = run_files("cycling", {"file": rate_file}, opts).tables["cycling_cycles"]
    rel = math.hypot(0.05 / 5.0, 0.01 / 0.5)
    assert np.allclose(c["Sulfur mass u [mg]"], 2.5 * rel)
    q = c["Discharge capacity [mAh/g]"].to_numpy(float)
    assert np.allclose(c["Discharge capacity u [mAh/g]"].to_numpy(float), q * rel)


def test_default_balance_uncertainty(rate_file) -> None:
    c = run_files("cycling", {"file": rate_file}, {"sulfur_mass_mg": 2.0}).tables["cycling_cycles"]
    assert np.allclose(c["Sulfur mass u [mg]"], 0.01 * math.sqrt(2))
    rel = 0.01 * math.sqrt(2) / 2.0
    assert np.allclose(c["Charge capacity u [mAh/g]"].dropna(),
                       c["Charge capacity [mAh/g]"].dropna().abs() * rel)
