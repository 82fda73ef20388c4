"""Generic peak model: constraints as data, every shape and background, lmfit oracle, errors, MC."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sulfurscope.errors import FitError, SulfurscopeError
from sulfurscope.spectra import lineshapes as ls
from sulfurscope.spectra.peaks import (
    SHAPES,
    Component,
    PeakModel,
    _compile,
    _evaluate,
    _jacobian,
    _jacobian_fd,
    evaluate_model,
    fit_peaks,
    monte_carlo,
)

X = np.linspace(155.0, 175.0, 401)


def _truth(model: PeakModel, theta: np.ndarray) -> np.ndarray:
    cm, _ = _compile(X, np.ones_like(X), model)
    return _evaluate(cm, np.asarray(theta, float))[0]


def _doublets(mode: str = "model", background: str = "shirley") -> PeakModel:
    """Two S 2p-like doublets with a shared FWHM; areas guessed from the data."""
    return PeakModel(
        (
            Component("a", 160.7, 1.0, splitting=1.18),
            Component("b", 162.0, 1.0, splitting=1.18, fwhm_of="a"),
        ),
        background=background,  # type: ignore[arg-type]
        background_mode=mode,  # type: ignore[arg-type]
    )


def test_two_doublets_on_active_shirley_recovered_exactly_without_noise() -> None:
    truth = _truth(_doublets(), [160.7, 3000, 1.0, 162.0, 5000, 200.0, 0.03])
    start = PeakModel(
        (
            Component("a", 160.9, 1.3, splitting=1.18),
            Component("b", 161.8, 1.3, splitting=1.18, fwhm_of="a"),
        ),
        background="shirley",
        background_mode="model",
    )
    fit = fit_peaks(X, truth, start)
    np.testing.assert_allclose(fit.center, [160.7, 162.0], atol=1e-6)
    np.testing.assert_allclose(fit.area, [3000.0, 5000.0], rtol=1e-6)
    np.testing.assert_allclose(fit.fwhm, [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(fit.background_params, [200.0, 0.03], rtol=1e-6)
    # the doublet's second line sits 1.18 eV higher with half the area of the first
    comp = fit.component_curves[0]
    line1 = ls.voigt(X, 2000.0, 160.7, *ls.voigt_width_split(1.0, 0.3))
    np.testing.assert_allclose(
        comp - line1, ls.voigt(X, 1000.0, 161.88, *ls.voigt_width_split(1.0, 0.3)), atol=1e-3
    )


@pytest.mark.parametrize("mode", ["model", "subtract"])
def test_poisson_noise_positions_and_areas(mode: str) -> None:
    rng = np.random.default_rng(3)
    truth = _truth(_doublets(), [160.7, 30000, 1.0, 162.0, 50000, 2000.0, 0.03])
    y = rng.poisson(truth).astype(float)
    fit = fit_peaks(X, y, _doublets(mode))
    assert np.all(np.abs(fit.center - [160.7, 162.0]) < 0.05)
    np.testing.assert_allclose(fit.area, [30000, 50000], rtol=0.02)


def test_constraints_are_honoured_exactly() -> None:
    y = (
        ls.gaussian(X, 100, 160, 0.8)
        + ls.gaussian(X, 50, 162.5, 0.8)
        + ls.gaussian(X, 30, 168, 1.2)
    )
    comps = (
        Component("a", 160.2, 2.0, shape="gaussian"),
        Component(
            "b",
            162.0,
            2.0,
            shape="gaussian",
            center_of="a",
            center_offset=2.5,
            area_of="a",
            area_ratio=0.5,
            fwhm_of="a",
        ),
        Component("c", 167.5, 2.5, shape="gaussian"),
    )
    fit = fit_peaks(X, y, comps)
    assert fit.center[1] - fit.center[0] == pytest.approx(2.5, abs=1e-12)
    assert fit.area[1] / fit.area[0] == pytest.approx(0.5, rel=1e-12)
    assert fit.fwhm[1] == fit.fwhm[0]
    assert fit.free_names == ("a.center", "a.area", "a.fwhm", "c.center", "c.area", "c.fwhm")
    np.testing.assert_allclose(fit.area, [100, 50, 30], rtol=1e-6)


SHAPE_PARAM = {
    "gaussian": 0.0,
    "lorentzian": 0.0,
    "voigt": 0.3,
    "pseudo_voigt": 0.4,
    "gl_product": 30.0,
    "gl_sum": 30.0,
    "doniach_sunjic": 0.1,
    "breit_wigner_fano": -8.0,
}


@pytest.mark.parametrize("background", ["none", "constant", "linear", "shirley", "tougaard"])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_and_background_recovers_its_own_parameters(
    shape: str, background: str
) -> None:
    sp = SHAPE_PARAM[shape]
    vary = shape not in ("gaussian", "lorentzian")
    model = PeakModel(
        (
            Component("p", 163.0, 1.2, area=500.0, shape=shape, shape_param=sp, vary_shape=vary),
            Component("q", 168.0, 1.6, area=300.0, shape=shape, shape_param=sp, vary_shape=vary),
        ),
        background=background,  # type: ignore[arg-type]
        background_mode="model",
    )
    cm, theta = _compile(X, np.ones_like(X), model)
    if background in ("shirley", "tougaard"):
        theta[-2:] = [50.0, 0.05 if background == "shirley" else 200.0]
    elif background == "linear":
        theta[-2:] = [50.0, 1.5]
    elif background == "constant":
        theta[-1] = 50.0
    y = _evaluate(cm, theta)[0]
    # analytic Jacobian = finite differences
    ja, jn = _jacobian(cm, theta), _jacobian_fd(cm, theta)
    np.testing.assert_allclose(ja, jn, atol=2e-4 * np.abs(jn).max())
    start = PeakModel(
        tuple(
            Component(
                c.name,
                c.center + 0.15,
                c.fwhm * 1.15,
                shape=c.shape,
                shape_param=c.shape_param,
                vary_shape=c.vary_shape,
            )
            for c in model.components
        ),
        background=model.background,
        background_mode="model",
    )
    fit = fit_peaks(X, y, start)
    np.testing.assert_allclose(fit.center, [163.0, 168.0], atol=1e-4)
    np.testing.assert_allclose(fit.fwhm, [1.2, 1.6], rtol=1e-4)
    assert fit.r_squared > 1 - 1e-9
    np.testing.assert_allclose(evaluate_model(fit), fit.best_fit, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_same_result_as_lmfit_on_the_same_model() -> None:
    lmfit = pytest.importorskip("lmfit")
    rng = np.random.default_rng(0)
    y = (
        ls.voigt(X, 800, 162.0, 0.35, 0.15)
        + ls.voigt(X, 400, 163.18, 0.35, 0.15)
        + 100
        + 2 * (X - X[0])
        + rng.normal(0, 3, X.size)
    )
    model = PeakModel(
        (Component("a", 162.2, 1.0, splitting=1.18, vary_shape=True, shape_param=0.3),),
        background="linear",
        background_mode="model",
    )
    ours = fit_peaks(X, y, model)

    def fn(x, amp, cen, fw, eta, b0, b1):
        s, g = ls.voigt_width_split(fw, eta)
        return (
            ls.voigt(x, amp * 2 / 3, cen, s, g)
            + ls.voigt(x, amp / 3, cen + 1.18, s, g)
            + b0
            + b1 * (x - x[0])
        )

    m = lmfit.Model(fn)
    pars = m.make_params(amp=1000, cen=162.2, fw=1.0, eta=0.3, b0=100, b1=0)
    pars["eta"].set(min=0, max=1)
    pars["fw"].set(min=0.2, max=5)
    res = m.fit(y, pars, x=X)
    assert ours.center[0] == pytest.approx(res.params["cen"].value, abs=1e-5)
    assert ours.area[0] == pytest.approx(res.params["amp"].value, rel=1e-5)
    assert ours.fwhm[0] == pytest.approx(res.params["fw"].value, rel=1e-5)
    assert ours.center_stderr[0] == pytest.approx(res.params["cen"].stderr, rel=0.02)
    assert ours.area_stderr[0] == pytest.approx(res.params["amp"].stderr, rel=0.02)


def test_monte_carlo_agrees_with_the_covariance() -> None:
    rng = np.random.default_rng(1)
    truth = _truth(_doublets(), [160.7, 3000, 1.0, 162.0, 5000, 200.0, 0.03])
    fit = fit_peaks(X, rng.poisson(truth).astype(float), _doublets())
    mc = monte_carlo(fit, n_replicas=60, rng=2)
    assert mc.n_failed == 0
    np.testing.assert_allclose(mc.area_std, fit.area_stderr, rtol=0.35)
    np.testing.assert_allclose(mc.center_std, fit.center_stderr, rtol=0.35)
    mcp = monte_carlo(fit, n_replicas=30, noise="poisson", rng=3)
    assert list(mcp.to_frame()["Component"]) == ["a", "b"]
    with pytest.raises(SulfurscopeError, match="n_replicas"):
        monte_carlo(fit, n_replicas=1)


def test_result_tables() -> None:
    fit = fit_peaks(
        X, _truth(_doublets(), [160.7, 3000, 1.0, 162.0, 5000, 200.0, 0.03]), _doublets()
    )
    t = fit.to_frame()
    assert list(t["Component"]) == ["a", "b"]
    assert t["Area [%]"].sum() == pytest.approx(100.0)
    d = fit.to_dict()
    assert d["success"] and set(d["background_params"]) == {"b0", "k_shirley"}
    with pytest.raises(AttributeError):
        fit.center = np.zeros(2)  # type: ignore[misc]


GOOD = [Component("a", 165.0, 1.0, shape="gaussian")]
Y = ls.gaussian(X, 100, 165, 0.5)


@pytest.mark.parametrize(
    ("x", "y", "comps", "match"),
    [
        (X[:0], Y[:0], GOOD, "empty"),
        (X, np.where(X > 170, np.nan, Y), GOOD, "NaN"),
        (X[::-1], Y[::-1], GOOD, "reversed"),
        (np.r_[X[:10], X[9:]], np.r_[Y[:10], Y[9:]], GOOD, "duplicate"),
        (np.r_[X[:10], X[11], X[10], X[12:]], Y, GOOD, "not monotonic"),
        (X, Y, [Component("a", 180.0, 1.0)], "outside the window"),
        (X, Y, [Component("a", 165.0, 1.0, fwhm_of="zz")], "unknown component"),
        (
            X,
            Y,
            [Component("a", 165.0, 1.0, fwhm_of="b"), Component("b", 166.0, 1.0, fwhm_of="a")],
            "circular",
        ),
        (X, Y, [Component("a", 165.0, 1.0, shape="triangle")], "unknown shape"),  # type: ignore[arg-type]
        (X, Y, [Component("a", 165.0, 1.0), Component("a", 166.0, 1.0)], "unique"),
        (X, Y, [Component("a", 165.0, -1.0)], "fwhm must be"),
        (X, Y, [], "no components"),
    ],
)
def test_bad_input_is_reported(x, y, comps, match) -> None:
    with pytest.raises(SulfurscopeError, match=match):
        fit_peaks(x, y, comps)


def test_non_convergence_raises_fit_error_with_the_optimiser_message() -> None:
    with pytest.raises(FitError, match="did not converge: .*nfev"):
        fit_peaks(
            X,
            Y + 1.0,
            PeakModel((Component("a", 160.0, 3.0),), background="linear", background_mode="model"),
            max_nfev=1,
        )


def test_inputs_are_not_modified() -> None:
    x, y = X.copy(), Y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_peaks(x, y, GOOD)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y)
