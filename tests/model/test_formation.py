"""Model B: first-discharge CEI formation by reaction–diffusion with pore sealing (MODEL.md §B tests)."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.errors import SulfurscopeError
from sulfurscope.model import (
    THIN_SHELL_FACTOR,
    FormationParameters,
    gaussian_distribution,
    sharp_front_active_fraction,
    simulate_formation,
)
from sulfurscope.model.formation import _planar_thin_shell_factor, _System


def _system(k: int = 2, n: int = 8) -> _System:
    return _System(
        np.linspace(2e-6, 4e-6, k), np.full(k, 1.0 / k), FormationParameters(), 0.1, n, 1.5
    )


# --- the discrete equations -----------------------------------------------------------------------------
def test_analytic_jacobian_matches_finite_differences():
    s = _system()
    y = np.random.default_rng(0).uniform(0.1, 0.9, 2 * 2 * 8)
    jac = s.jac(0.0, y)
    f0 = s.rhs(0.0, y)
    num = np.empty_like(jac)
    for j in range(y.size):
        yy = y.copy()
        h = 1e-7 * max(1.0, abs(y[j]))
        yy[j] += h
        num[:, j] = (s.rhs(0.0, yy) - f0) / h
    np.testing.assert_allclose(jac, num, atol=1e-5 * np.abs(jac).max())
    # the global coupling makes it dense across classes: the rank-one term is in there
    assert np.count_nonzero(jac[:16, 16:]) > 0


def test_reagent_balance_is_conservative():
    """Σ V (ċ + σ θ̇) = the diffusive flux through the surface only (no internal sources)."""
    s = _system(k=1, n=12)
    y = np.random.default_rng(1).uniform(0.1, 0.9, 24)
    dy = s.rhs(0.0, y)
    c, th = s.split(y)
    dc, dth = s.split(dy)
    lhs = np.sum(s.vol * (dc[0] + s.p.sigma * dth[0]))
    d, _ = s.diff(th)
    surface = s.coef[0] * s.geo[-1] * d[0, -1] * (1.0 - c[0, -1])
    assert lhs == pytest.approx(surface, rel=1e-10)


def test_charge_balance():
    r = simulate_formation(gaussian_distribution(6.0, 2.0, n_classes=5), c_rate=0.1, n_cells=20)
    under_current = r.current_c < 0
    t_tilde = r.time_s * 0.1 / 3600.0
    np.testing.assert_allclose(
        r.converted[under_current][:-1], t_tilde[under_current][:-1], rtol=1e-6, atol=1e-9
    )
    assert r.electrode_active_fraction == pytest.approx(np.sum(r.weight * r.active_fraction))
    assert r.capacity_mah_g == pytest.approx(1672.0 * r.electrode_active_fraction)


# --- limits and the closed form ----------------------------------------------------------------------------
def test_no_sealing_no_reagent_limit_converts_everything():
    r = simulate_formation(8.0, FormationParameters(beta=1.0, sigma=1e-3), c_rate=0.1, n_cells=20)
    assert r.active_fraction[0] == pytest.approx(1.0, abs=2e-3)


def test_sharp_front_closed_form():
    assert float(sharp_front_active_fraction(1 / 3)) == pytest.approx(0.875)
    assert float(sharp_front_active_fraction(0.0)) == 0.0
    # quasi-steady shrinking core through a shell of diffusivity D₀ (β = 1): the numerical model's reaction
    # zone is never thinner than the shell (width ≈ 3Λ_s as well), so the closed form is a lower bound
    # that the model approaches as the pores' own reagent (1/σ) vanishes
    for lam_s in (0.1, 0.3):
        eps, sigma = 0.3, 500.0
        d0 = lam_s * eps * sigma * (4e-6) ** 2 / 36000.0
        r = simulate_formation(
            8.0,
            FormationParameters(beta=1.0, sigma=sigma, diffusivity_m2_s=d0),
            c_rate=0.1,
            n_cells=30,
        )
        assert r.active_fraction[0] >= float(sharp_front_active_fraction(lam_s))


def _thin_shell_f(lam_s: float) -> float:
    # β = 1, σ large (pore reagent 1/σ ≪ f), 8 µm at C/10: D₀ from Λ_s = Λ/(εσ)
    eps, sigma = 0.3, 2e4
    d0 = lam_s * eps * sigma * (4e-6) ** 2 / 36000.0
    r = simulate_formation(
        8.0,
        FormationParameters(beta=1.0, sigma=sigma, diffusivity_m2_s=d0),
        c_rate=0.1,
        n_cells=80,
        grid_power=3.0,
    )
    return float(r.active_fraction[0])


def test_sharp_front_limit_converges_to_the_renormalised_closed_form():
    """MODEL.md §B: the sharp-front limit. Model B's front is sharp on the particle scale only as the
    shell gets thin (Λ_s → 0, β = 1, σ → ∞); there f → 1 − (1 + 3AΛ_s)⁻³ with A = THIN_SHELL_FACTOR
    (formation module notes), with a relative error that falls like ≈ 2.3 Λ_s."""
    lams = (0.03, 0.01, 0.003)
    f = np.array([_thin_shell_f(x) for x in lams])
    renorm = sharp_front_active_fraction(THIN_SHELL_FACTOR * np.array(lams))
    err = np.abs(f / renorm - 1.0)
    assert np.all(np.diff(err) < 0), err  # decreasing as the limit is approached
    assert err[-1] < 0.01
    np.testing.assert_array_less(err / np.array(lams), 3.0)  # O(Λ_s) convergence
    # the un-renormalised closed form stays a lower bound, ~40 % low however thin the shell
    plain = sharp_front_active_fraction(np.array(lams))
    assert np.all(f > plain) and f[-1] / plain[-1] - 1.0 > 0.5


def test_thin_shell_factor_from_the_planar_problem():
    """Oracle for A: the universal planar problem, solved independently of model B (first order in the
    step; Richardson-extrapolated)."""
    coarse = _planar_thin_shell_factor(length=8.0, step=0.05, dphi=0.1)
    fine = _planar_thin_shell_factor(length=8.0, step=0.05, dphi=0.05)
    assert abs(fine - THIN_SHELL_FACTOR) < abs(coarse - THIN_SHELL_FACTOR)
    assert 2.0 * fine - coarse == pytest.approx(THIN_SHELL_FACTOR, abs=2e-3)


def test_grid_convergence():
    f = [simulate_formation(8.0, n_cells=n).active_fraction[0] for n in (20, 40, 80)]
    assert abs(f[1] - f[2]) < abs(f[0] - f[2])
    assert abs(f[0] - f[2]) < 3e-3


# --- MODEL.md's illustrative calibration and monotonicity --------------------------------------------------
def test_illustrative_calibration():
    f = [simulate_formation(d, c_rate=0.1).active_fraction[0] for d in (1.0, 4.0, 8.0, 15.0)]
    np.testing.assert_allclose(f, [0.98, 0.81, 0.61, 0.35], atol=0.012)
    by_rate = [simulate_formation(8.0, c_rate=c).active_fraction[0] for c in (0.05, 0.1, 0.2)]
    np.testing.assert_allclose(by_rate, [0.72, 0.61, 0.47], atol=0.012)


def test_monotone_in_size_and_rate():
    r = simulate_formation(gaussian_distribution(8.0, 4.0, n_classes=8), c_rate=0.1, n_cells=20)
    assert np.all(np.diff(r.active_fraction) < 0)
    f = [
        simulate_formation(4.0, c_rate=c, n_cells=20).active_fraction[0] for c in (0.025, 0.1, 0.4)
    ]
    assert f[0] > f[1] > f[2]


def test_rank_one_solver_matches_dense_jacobian():
    """Oracle: the block-LU + Sherman–Morrison Newton solve follows the dense-Jacobian BDF solution."""
    from scipy.integrate import solve_ivp

    from sulfurscope.model.formation import _RankOneBDF

    dist = gaussian_distribution(6.0, 2.0, n_classes=3)
    y0 = np.tile(np.r_[np.ones(16), np.zeros(16)], 3)
    out = []
    for fast in (False, True):
        s = _System(
            dist.diameter_um * 0.5e-6, np.full(3, 1 / 3), FormationParameters(), 0.1, 16, 1.5
        )
        s.sparse_local = fast
        kw = {"method": _RankOneBDF, "system": s} if fast else {"method": "BDF"}
        sol = solve_ivp(s.rhs, (0, 0.4), y0, jac=s.jac, rtol=1e-9, atol=1e-12, **kw)
        assert sol.success and sol.nfev < 5000  # with the rank-one term the solve stays cheap
        out.append(sol.y[:, -1])
    np.testing.assert_allclose(out[1], out[0], atol=1e-6)


def test_gitt_formation_relaxes_and_profiles():
    r = simulate_formation(8.0, c_rate=0.1, gitt_pulse_mah_g=100.0, gitt_rest_s=7200.0, n_cells=20)
    rest = r.current_c == 0
    assert rest.any() and r.ended_by_cutoff
    # during each rest the voltage rises (reagent diffuses back into the depleted pores)
    edges = np.flatnonzero(np.diff(rest.astype(int)) == 1) + 1
    first = edges[0]
    seg = np.arange(first, first + np.flatnonzero(~rest[first:])[0])
    assert r.voltage_v[seg[-1]] > r.voltage_v[seg[0]]
    cont = simulate_formation(8.0, c_rate=0.1, n_cells=20)
    assert r.active_fraction[0] >= cont.active_fraction[0] - 1e-3  # rests let the reagent back in
    # θ(r) falls from the surface inwards
    assert r.theta[0, -1] > r.theta[0, 0]


def test_errors():
    with pytest.raises(SulfurscopeError, match="c_rate"):
        simulate_formation(8.0, c_rate=0.0)
    with pytest.raises(SulfurscopeError, match="n_cells"):
        simulate_formation(8.0, n_cells=2)
    with pytest.raises(SulfurscopeError, match="FormationParameters"):
        simulate_formation(8.0, FormationParameters(beta=0.0))
    with pytest.raises(SulfurscopeError, match="shell_lambda"):
        sharp_front_active_fraction(-1.0)
