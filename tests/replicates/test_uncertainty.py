"""Sulfur-mass uncertainty: the GUM product rule against its analytic form and against a Monte Carlo
propagation written here with NumPy (independent of the implementation)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sulfurscope.errors import SulfurscopeError
from sulfurscope.replicates import (
    AREA_U_REL,
    BALANCE_U_MG,
    FRACTION_U,
    cell_masses,
    sulfur_mass_uncertainty,
)


def _mc_rel(means, sds, n=400_000, seed=1) -> float:
    rng = np.random.default_rng(seed)
    prod = np.ones(n)
    for m, s in zip(means, sds, strict=True):
        prod *= rng.normal(m, s, n)
    return float(prod.std() / prod.mean())


def test_product_of_independent_factors_is_the_quadrature_sum_of_relative_uncertainties() -> None:
    m = sulfur_mass_uncertainty(composite_mass_mg=5.0, composite_mass_u_mg=0.10,
                                sulfur_fraction=0.5, sulfur_fraction_u=0.015)
    exact = math.sqrt((0.10 / 5.0) ** 2 + (0.015 / 0.5) ** 2)
    assert m.mass_mg == pytest.approx(2.5)
    assert m.u_rel == pytest.approx(exact, rel=1e-12)
    assert m.u_mg == pytest.approx(2.5 * exact, rel=1e-12)
    # the fraction is shared by every cell of the sample; the weighing is the cell's own
    assert m.u_rel_shared == pytest.approx(0.03) and m.u_rel_cell == pytest.approx(0.02)
    assert m.u_rel == pytest.approx(_mc_rel([5.0, 0.5], [0.10, 0.015]), rel=0.02)


def test_loading_times_area_against_monte_carlo() -> None:
    m = sulfur_mass_uncertainty(loading_mg_cm2=2.0, loading_u_mg_cm2=0.06, area_cm2=1.32,
                                area_u_cm2=0.02)
    assert m.mass_mg == pytest.approx(2.64)
    assert m.u_rel == pytest.approx(_mc_rel([2.0, 1.32], [0.06, 0.02]), rel=0.02)
    assert m.u_rel_shared == 0.0


def test_defaults_are_the_documented_ones() -> None:
    assert sulfur_mass_uncertainty(sulfur_mass_mg=2.0).u_mg == pytest.approx(BALANCE_U_MG)
    a = sulfur_mass_uncertainty(loading_mg_cm2=2.0, area_cm2=1.32)
    assert a.components["area"] == pytest.approx(AREA_U_REL)
    assert a.components["loading"] == pytest.approx(BALANCE_U_MG / 1.32 / 2.0)
    c = sulfur_mass_uncertainty(composite_mass_mg=4.0, sulfur_fraction=0.5)
    assert c.u_rel_shared == pytest.approx(FRACTION_U / 0.5)


@pytest.mark.parametrize("kw", [{}, {"sulfur_mass_mg": 1.0, "loading_mg_cm2": 2.0},
                                {"loading_mg_cm2": 2.0}, {"composite_mass_mg": 3.0},
                                {"sulfur_mass_mg": -1.0}, {"sulfur_mass_mg": 1.0,
                                                           "sulfur_mass_u_mg": float("inf")}])
def test_bad_mass_fields_are_refused(kw) -> None:
    with pytest.raises(SulfurscopeError):
        sulfur_mass_uncertainty(**kw)


def test_cell_masses_take_the_tga_fraction_and_its_uncertainty() -> None:
    nan = float("nan")
    cells = pd.DataFrame([
        {"Cell": "a", "Sample": "s", "Condition": "s", "Composite mass [mg]": 4.0,
         "Composite mass u [mg]": 0.02, "Sulfur fraction": nan, "Sulfur fraction u": nan},
        {"Cell": "b", "Sample": "t", "Condition": "t", "Composite mass [mg]": 4.0,
         "Sulfur fraction": nan},
    ])
    tga = pd.DataFrame({"Sample": ["s"], "Sulfur fraction": [0.49], "Sulfur fraction sd": [0.02]})
    out = cell_masses(cells, tga).set_index("cell")
    assert out.loc["a", "mass_mg"] == pytest.approx(4.0 * 0.49)
    assert out.loc["a", "u_rel_shared"] == pytest.approx(0.02 / 0.49)  # the TGA's own sd (> 0.005)
    assert out.loc["a", "u_rel_cell"] == pytest.approx(0.02 / 4.0)
    # no fraction anywhere: refused by name, not a silent NaN
    assert "fraction" in out.loc["b", "error"] and np.isnan(out.loc["b", "mass_mg"])
