"""Line shapes: areas, FWHM, lmfit oracle, analytic derivatives, broadcasting."""

from __future__ import annotations

import lmfit.lineshapes as lm
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sulfurscope.spectra import lineshapes as ls

X = np.linspace(-400.0, 400.0, 800001)

AREA_SHAPES = {
    "gaussian": lambda x: ls.gaussian(x, 2.5, 1.0, 0.7),
    "lorentzian": lambda x: ls.lorentzian(x, 2.5, 1.0, 0.7),
    "voigt": lambda x: ls.voigt(x, 2.5, 1.0, 0.5, 0.3),
    "pseudo_voigt": lambda x: ls.pseudo_voigt(x, 2.5, 1.0, 0.6, 0.4),
    "gl_product": lambda x: ls.gl_product(x, 2.5, 1.0, 1.2, 30.0),
    "gl_sum": lambda x: ls.gl_sum(x, 2.5, 1.0, 1.2, 30.0),
}


@pytest.mark.parametrize("name", sorted(AREA_SHAPES))
def test_amplitude_is_the_area(name: str) -> None:
    y = AREA_SHAPES[name](X)
    # Lorentzian tails beyond ±400 hold ~0.1 % of the area for the widest shape here
    assert np.trapezoid(y, X) == pytest.approx(2.5, rel=2e-3)
    assert X[np.argmax(y)] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda x: ls.gaussian(x, 3.0, 0.5, 0.8), lambda x: lm.gaussian(x, 3.0, 0.5, 0.8)),
        (lambda x: ls.lorentzian(x, 3.0, 0.5, 0.8), lambda x: lm.lorentzian(x, 3.0, 0.5, 0.8)),
        (lambda x: ls.voigt(x, 3.0, 0.5, 0.8, 0.3), lambda x: lm.voigt(x, 3.0, 0.5, 0.8, 0.3)),
        (
            lambda x: ls.pseudo_voigt(x, 3.0, 0.5, 0.8, 0.3),
            lambda x: lm.pvoigt(x, 3.0, 0.5, 0.8, 0.3),
        ),
        (
            lambda x: ls.breit_wigner_fano(x, 3.0, 0.5, 0.8, -4.0),
            lambda x: lm.breit_wigner(x, 3.0, 0.5, 0.8, -4.0),
        ),
        # ours has the tail on the high-x side: lmfit's doniach mirrored about the centre
        (
            lambda x: ls.doniach_sunjic(x, 3.0, 0.5, 0.8, 0.2),
            lambda x: lm.doniach(1.0 - x, 3.0, 0.5, 0.8, 0.2),
        ),
    ],
)
def test_matches_lmfit(ours, theirs) -> None:
    x = np.linspace(-5.0, 6.0, 1001)
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-10, atol=1e-12)


def test_gl_limits_are_gaussian_and_lorentzian_of_the_same_fwhm() -> None:
    x = np.linspace(-5, 5, 2001)
    f = 1.3
    np.testing.assert_allclose(
        ls.gl_product(x, 1.0, 0.0, f, 0.0),
        ls.gaussian(x, 1.0, 0.0, f / ls.FWHM_PER_SIGMA),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        ls.gl_product(x, 1.0, 0.0, f, 100.0), ls.lorentzian(x, 1.0, 0.0, f / 2), rtol=1e-10
    )
    np.testing.assert_allclose(ls.gl_sum(x, 1.0, 0.0, f, 0.0), ls.gl_product(x, 1.0, 0.0, f, 0.0))
    # SGL(m) and GL(m) have their half maximum at ±F/2 for the sum (exactly) and the product (m=0,100)
    for m in (0.0, 40.0, 100.0):
        h = ls.gl_sum(np.array([0.0, f / 2]), 1.0, 0.0, f, m)
        assert h[1] / h[0] == pytest.approx(0.5)


@pytest.mark.parametrize("m", [0.0, 10.0, 50.0, 90.0, 100.0])
def test_gl_product_closed_form_area(m: float) -> None:
    x = np.linspace(-300, 300, 600001)
    assert np.trapezoid(ls.gl_product(x, 1.0, 0.0, 1.0, m), x) == pytest.approx(1.0, rel=2e-3)


def test_voigt_fwhm_olivero() -> None:
    x = np.linspace(-6, 6, 400001)
    for s, g in [(0.4, 0.0), (0.4, 0.3), (0.05, 0.5)]:
        y = ls.voigt(x, 1.0, 0.0, max(s, 1e-9), g)
        above = x[y >= y.max() / 2]
        assert above[-1] - above[0] == pytest.approx(float(ls.fwhm_voigt(s, g)), rel=5e-4)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 5.0), st.floats(0.0, 1.0))
def test_voigt_width_split_roundtrip(fwhm: float, eta: float) -> None:
    s, g = ls.voigt_width_split(fwhm, eta)
    assert float(ls.fwhm_voigt(s, g)) == pytest.approx(fwhm, rel=1e-9)


def test_analytic_derivatives_match_finite_differences() -> None:
    x = np.linspace(-3, 3, 121)
    p = np.array([1.7, 0.2, 0.6, 0.25])
    v, da, dc, ds, dg = ls.voigt_derivatives(x, *p)
    h = 1e-6
    for k, d in enumerate((da, dc, ds, dg)):
        q1, q0 = p.copy(), p.copy()
        q1[k] += h
        q0[k] -= h
        np.testing.assert_allclose(d, (ls.voigt(x, *q1) - ls.voigt(x, *q0)) / (2 * h), atol=1e-6)
    g, *dg3 = ls.gaussian_derivatives(x, 1.7, 0.2, 0.6)
    for k, d in enumerate(dg3):
        q1 = [1.7, 0.2, 0.6]
        q0 = [1.7, 0.2, 0.6]
        q1[k] += h
        q0[k] -= h
        np.testing.assert_allclose(
            d, (ls.gaussian(x, *q1) - ls.gaussian(x, *q0)) / (2 * h), atol=1e-6
        )


def test_broadcasting_batches_of_parameters() -> None:
    x = np.linspace(0, 10, 50)
    centers = np.array([[3.0], [5.0], [7.0]])
    out = ls.voigt(x, 1.0, centers, 0.5, 0.2)
    assert out.shape == (3, 50)
    np.testing.assert_allclose(out[1], ls.voigt(x, 1.0, 5.0, 0.5, 0.2))


def test_doniach_sunjic_tail_is_on_the_high_binding_energy_side() -> None:
    x = np.linspace(-10, 10, 2001)
    y = ls.doniach_sunjic(x, 1.0, 0.0, 0.5, 0.3)
    assert y[x > 3].sum() > 3 * y[x < -3].sum()
