"""EELS core: synthetic truth, exspy oracle on the real files, reference values, properties, errors."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sulfurscope.errors import FitError, SulfurscopeError, SulfurscopeWarning
from sulfurscope.io.eels import read_eels
from sulfurscope.simulate.eels import reference_spectra, simulate_eels_line_scan
from sulfurscope.spectra.eels import (
    EDGE_TABLE,
    align_zero_loss,
    edge_integrals,
    edge_window,
    power_law,
    power_law_background,
    relative_thickness,
    subtract_background,
    zero_loss_centres,
)
from sulfurscope.spectra.eels_scan import fingerprint_edge, line_scan_profile, moving_average
from tests.conftest import realdata_path

EELS = ("spectro", "eels")


@pytest.fixture(scope="module")
def sim():
    return simulate_eels_line_scan(rng=np.random.default_rng(7))


@pytest.fixture(scope="module")
def sim_exact():
    return simulate_eels_line_scan(rng=np.random.default_rng(7), noise=False)


def _hs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("exspy", reason="exspy (test-only oracle) not installed")
        hs = pytest.importorskip("hyperspy.api")
    return hs


def _load(hs, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hs.load(realdata_path(*EELS, name))


# ---------------------------------------------------------------- synthetic truth


def test_synthetic_thickness_recovered_within_3_percent(sim):
    th = relative_thickness(sim.low_loss, sim.low_loss_energy_ev)
    np.testing.assert_allclose(th.t_over_lambda, sim.t_over_lambda, rtol=0.03)
    # the drifting ZLP was followed pixel by pixel
    np.testing.assert_allclose(th.zlp_centre_ev, sim.zlp_shift_ev, atol=0.11)


def test_synthetic_thickness_needs_alignment(sim):
    """Without following the drift the fixed window cuts ZLPs differently: a wrong answer."""
    sim2 = simulate_eels_line_scan(rng=np.random.default_rng(7), zlp_drift_ev=4.0, noise=False)
    good = relative_thickness(sim2.low_loss, sim2.low_loss_energy_ev, zlp_window_ev=(None, 1.5))
    bad = relative_thickness(
        sim2.low_loss, sim2.low_loss_energy_ev, zlp_window_ev=(None, 1.5), align=False
    )
    np.testing.assert_allclose(good.t_over_lambda, sim2.t_over_lambda, rtol=0.01)
    assert np.max(np.abs(bad.t_over_lambda / sim2.t_over_lambda - 1)) > 0.1


def test_synthetic_edge_profiles_recovered_within_3_percent(sim):
    th = relative_thickness(sim.low_loss, sim.low_loss_energy_ev)
    integ = edge_integrals(sim.core_loss, sim.core_loss_energy_ev, ["Li_K", "S_L23"])
    prof = line_scan_profile(sim.position_nm, integ, th)
    np.testing.assert_allclose(prof.normalised, sim.integral_per_t, rtol=0.03)
    np.testing.assert_allclose(prof.smoothed, moving_average(sim.integral_per_t), rtol=0.02)
    # the LiF-rich outer 100 nm: Li high at the surface, S low
    li, s = prof.smoothed[:, 0], prof.smoothed[:, 1]
    assert li[:10].mean() > 1.5 * li[-10:].mean()
    assert s[:10].mean() < 0.5 * s[-10:].mean()


@pytest.mark.parametrize("method", ["least_squares", "log_fit", "two_area"])
def test_noise_free_edges(sim_exact, method):
    integ = edge_integrals(
        sim_exact.core_loss, sim_exact.core_loss_energy_ev, ["Li_K", "S_L23"], method=method
    )
    ratio = integ.integral / (sim_exact.integral_per_t * sim_exact.t_over_lambda[:, None])
    if method != "two_area":
        np.testing.assert_allclose(ratio, 1.0, rtol=1e-3)
    else:  # HyperSpy's two-area convention: half-channel bias, documented
        assert np.all(np.abs(ratio - 1) < 0.07)
    np.testing.assert_allclose(integ.background_r, 3.0, atol=0.03)


def test_fingerprint_finds_lif_at_the_surface_and_li2s_inside(sim):
    refs = reference_spectra()
    li_refs = {k: refs[k] for k in ("LiF", "Li2S", "Li2CO3")}
    edge = EDGE_TABLE["Li_K"]
    bg = power_law_background(sim.core_loss, sim.core_loss_energy_ev, edge.background_ev)
    sub = subtract_background(sim.core_loss, sim.core_loss_energy_ev, bg)
    surface = fingerprint_edge(
        sim.core_loss_energy_ev, sub[:5].sum(0), li_refs, window_ev=edge.fingerprint_ev
    )
    inside = fingerprint_edge(
        sim.core_loss_energy_ev, sub[-5:].sum(0), li_refs, window_ev=edge.fingerprint_ev
    )
    assert surface.best == "LiF" and surface.best_score > 0.98
    assert inside.best == "Li2S"
    assert abs(surface.shifts_ev[surface.names.index("LiF")]) <= 0.1
    frame = surface.to_frame()
    assert frame["Reference"].iloc[0] == "LiF" and frame["Best"].iloc[0]


def test_fingerprint_recovers_an_energy_shift():
    refs = reference_spectra()
    e = np.arange(50.0, 80.0, 0.1)
    measured = np.interp(e - 0.7, *refs["LiF"])
    res = fingerprint_edge(
        e, measured, {k: refs[k] for k in ("LiF", "Li2CO3")}, window_ev=(55.0, 75.0)
    )
    assert res.best == "LiF"
    assert res.shifts_ev[0] == pytest.approx(0.7, abs=0.051)
    assert res.best_score == pytest.approx(1.0, abs=1e-3)


# ---------------------------------------------------------------- oracle: exspy on the real files


def test_thickness_matches_exspy_lsmo_aligned():
    hs = _hs()
    s = _load(hs, "LSMO_linescan_lowloss.hspy").inav[::4]  # 10 of 40 pixels: exspy is slow here
    d = read_eels(realdata_path(*EELS, "LSMO_linescan_lowloss.hspy"))
    ours = relative_thickness(d.counts[::4], d.energy_ev, zlp_window_ev=(None, 3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.align_zero_loss_peak(subpixel=False, print_stats=False, show_progressbar=False)
        ref = s.estimate_thickness(threshold=3.0).data
    np.testing.assert_allclose(ours.t_over_lambda, ref, rtol=0.01)


@pytest.mark.parametrize(
    ("name", "threshold"),
    [("LSMO_linescan_lowloss.hspy", 6.0), ("Al_lowloss_ZLP_plasmon.dm3", 3.0)],
)
def test_thickness_matches_exspy_unaligned(name, threshold):
    hs = _hs()
    s = _load(hs, name)
    d = read_eels(realdata_path(*EELS, name))
    ours = relative_thickness(d.counts, d.energy_ev, zlp_window_ev=(None, threshold), align=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = s.estimate_thickness(threshold=threshold).data
    np.testing.assert_allclose(np.ravel(ours.t_over_lambda), np.ravel(ref), rtol=1e-4)


def test_thickness_of_al_matches_exspy_aligned():
    hs = _hs()
    s = _load(hs, "Al_lowloss_ZLP_plasmon.dm3")
    d = read_eels(realdata_path(*EELS, "Al_lowloss_ZLP_plasmon.dm3"))
    ours = relative_thickness(d.counts, d.energy_ev)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.align_zero_loss_peak(subpixel=False, print_stats=False, show_progressbar=False)
        ref = float(np.ravel(s.estimate_thickness(threshold=3.0).data)[0])
    assert float(ours.t_over_lambda) == pytest.approx(ref, rel=0.01)


@pytest.mark.parametrize(
    ("name", "edges"),
    [
        ("LSMO_linescan_coreloss.hspy", ("O_K", "Mn_L23")),
        ("SrTiO3_coreloss_TiL_OK.dm3", ("Ti_L23", "O_K")),
        ("EELS_SI_2x2_coreloss.dm4", ("O_K",)),
    ],
)
def test_edge_integrals_match_exspy(name, edges):
    hs = _hs()
    s = _load(hs, name)
    d = read_eels(realdata_path(*EELS, name))
    ours = edge_integrals(d.counts, d.energy_ev, list(edges), method="two_area")
    for j, e in enumerate(edges):
        w = EDGE_TABLE[e]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sub = s.remove_background(
                signal_range=w.background_ev,
                background_type="PowerLaw",
                fast=True,
                show_progressbar=False,
            )
            ref = sub.isig[w.integral_ev[0] : w.integral_ev[1]].integrate1D(-1).data
        np.testing.assert_allclose(ours.integral[..., j], ref, rtol=0.01)


@pytest.mark.parametrize(
    ("name", "edges"),
    [
        ("LSMO_linescan_coreloss.hspy", ("O_K", "Mn_L23")),
        ("SrTiO3_coreloss_TiL_OK.dm3", ("Ti_L23", "O_K")),
        ("EELS_SI_2x2_coreloss.dm4", ("O_K",)),
    ],
)
def test_default_background_matches_exspy_least_squares(name, edges):
    """Oracle: the default background (least squares) vs exspy ``fast=False`` on every real file.

    Issue 16 asks for ≤ 1 %; the two solve the same problem, so the agreement is far tighter.
    """
    hs = _hs()
    s = _load(hs, name)
    d = read_eels(realdata_path(*EELS, name))
    ours = edge_integrals(d.counts, d.energy_ev, list(edges))
    assert ours.method == "least_squares"
    for j, e in enumerate(edges):
        w = EDGE_TABLE[e]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sub = s.remove_background(
                signal_range=w.background_ev,
                background_type="PowerLaw",
                fast=False,
                show_progressbar=False,
            )
            ref = sub.isig[w.integral_ev[0] : w.integral_ev[1]].integrate1D(-1).data
        np.testing.assert_allclose(ours.integral[..., j], ref, rtol=1e-5)


@pytest.mark.parametrize("method", ["least_squares", "log_fit", "two_area"])
def test_background_under_the_edge_unbiased_on_poisson_power_law(method):
    """Truth: 400 Poisson realisations of 3e10·E^−3.2 (≈900 counts/channel at 180 eV).

    The background extrapolated over 190–230 eV must be unbiased within 0.3 % for the two fits;
    Egerton's two-area formula carries its documented ≈0.5 % bias here (< 1 %).
    """
    rng = np.random.default_rng(20261207)
    e = np.arange(40.0, 260.0, 0.5)
    lam = power_law(e, 3e10, 3.2) * 0.5
    y = rng.poisson(np.broadcast_to(lam, (400, e.size))).astype(float)
    under = (e >= 190.0) & (e < 230.0)
    bg = power_law_background(y, e, (110.0, 180.0), method=method)
    est = (power_law(e[under], bg.amplitude[:, None], bg.r[:, None]) * 0.5).sum(-1)
    bias = est.mean() / lam[under].sum() - 1.0
    assert abs(bias) < (0.01 if method == "two_area" else 0.003)
    # and the spread is the Poisson one, not inflated by a poor optimiser (< 1 %)
    assert est.std() / lam[under].sum() < 0.01


def test_least_squares_handles_empty_channels_and_warns_on_failure():
    """Low-count spectra hold zeros: the least-squares fit (unlike a log fit) still works."""
    rng = np.random.default_rng(3)
    e = np.arange(100.0, 300.0, 1.0)
    lam = power_law(e, 3e7, 3.0)
    y = rng.poisson(np.broadcast_to(lam, (50, e.size))).astype(float)
    assert np.any(y[:, (e >= 110) & (e <= 180)] == 0)
    bg = power_law_background(y, e, (110.0, 180.0))
    assert np.all(np.isfinite(bg.r)) and abs(float(np.median(bg.r)) - 3.0) < 0.3
    with pytest.raises(FitError, match="no positive counts"):
        power_law_background(np.zeros((2, e.size)), e, (110.0, 180.0))


# ---------------------------------------------------------------- reference values


def test_lsmo_thickness_reference_values():
    """README: exspy gave t/λ 0.36→0.69 along the LSMO scan."""
    d = read_eels(realdata_path(*EELS, "LSMO_linescan_lowloss.hspy"))
    tl = relative_thickness(d.counts, d.energy_ev).t_over_lambda
    assert tl.shape == (40,)
    assert 0.35 < tl[:3].mean() < 0.41
    assert 0.66 < tl[-3:].mean() < 0.72


def test_study_default_windows():
    assert EDGE_TABLE["Li_K"].integral_ev == (62.0, 69.0)
    assert 160.0 <= EDGE_TABLE["S_L23"].onset_ev <= 165.0
    assert edge_window("S_L23").label == "S L2,3"


# ---------------------------------------------------------------- properties


@settings(max_examples=10, deadline=None)
@given(r=st.floats(2.0, 5.0), amp=st.floats(1e3, 1e9))
def test_power_law_is_recovered(r, amp):
    e = np.arange(100.0, 300.0, 0.5)
    y = power_law(e, amp * 100.0**r, r) * 0.5
    for method in ("least_squares", "log_fit", "two_area"):
        bg = power_law_background(y, e, (110.0, 180.0), method=method)
        tol = 0.02 * r if method == "two_area" else 1e-6  # Egerton's formula is approximate
        assert float(bg.r) == pytest.approx(r, abs=tol)


@settings(max_examples=20, deadline=None)
@given(k=st.floats(0.01, 1000.0))
def test_thickness_is_scale_invariant(k, sim_exact):
    a = relative_thickness(sim_exact.low_loss[:4], sim_exact.low_loss_energy_ev).t_over_lambda
    b = relative_thickness(k * sim_exact.low_loss[:4], sim_exact.low_loss_energy_ev).t_over_lambda
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_thickness_grows_with_the_window_cut_inside_the_zlp(sim_exact):
    e = sim_exact.low_loss_energy_ev
    narrow = relative_thickness(sim_exact.low_loss[:3], e, zlp_window_ev=(None, 0.2)).t_over_lambda
    wide = relative_thickness(sim_exact.low_loss[:3], e, zlp_window_ev=(None, 3.0)).t_over_lambda
    assert np.all(narrow > wide)


def test_edge_integral_is_linear_in_the_edge(sim_exact):
    e = sim_exact.core_loss_energy_ev
    bkg = power_law(e, 1e9, 3.0) * 0.25
    edge = np.where(e > 160.0, 1000.0 * (e / 160.0) ** -3.0, 0.0)
    one = edge_integrals(bkg + edge, e, ["S_L23"]).integral
    two = edge_integrals(bkg + 2 * edge, e, ["S_L23"]).integral
    assert two[0] == pytest.approx(2 * one[0], rel=1e-6)


@pytest.mark.parametrize("edge", ["shrink", "nan"])
def test_moving_average_properties(edge):
    const = np.full((9, 2), 3.0)
    np.testing.assert_allclose(moving_average(const, 5, edge=edge)[2:-2], 3.0)
    ramp = np.arange(9.0)
    out = moving_average(ramp, 5, edge=edge)
    np.testing.assert_allclose(out[2:-2], ramp[2:-2])  # linear data unchanged inside
    if edge == "shrink":
        assert out[0] == pytest.approx(1.0)  # mean of 0, 1, 2
    else:
        assert np.isnan(out[:2]).all() and np.isnan(out[-2:]).all()


def test_align_zero_loss_conserves_counts_and_calibrates(sim):
    al = align_zero_loss(sim.low_loss, sim.low_loss_energy_ev)
    assert np.all(zero_loss_centres(al.counts, al.energy_ev) == 0.0)
    np.testing.assert_allclose(
        al.counts.sum(-1) / sim.low_loss.sum(-1), 1.0, rtol=1e-3
    )  # only cropped far-tail channels
    assert len(al.to_frame()) == sim.position_nm.size


def test_result_frames(sim):
    th = relative_thickness(sim.low_loss, sim.low_loss_energy_ev)
    integ = edge_integrals(sim.core_loss, sim.core_loss_energy_ev, ["Li_K", "S_L23"])
    assert list(th.to_frame().columns)[:2] == ["Pixel", "t/lambda"]
    f = integ.to_frame()
    assert set(f["Edge"]) == {"Li_K", "S_L23"} and len(f) == 2 * sim.position_nm.size
    prof = line_scan_profile(sim.position_nm, integ, th).to_frame()
    assert "Li_K integral/(t/lambda) MA5 [counts]" in prof.columns
    un = line_scan_profile(sim.position_nm, integ, None)
    assert un.t_over_lambda is None and "Li_K integral MA5 [counts]" in un.to_frame().columns
    assert EDGE_TABLE["Li_K"].to_dict()["integral_ev"] == [62.0, 69.0]


# ---------------------------------------------------------------- warnings and errors


def test_short_background_window_warns(sim_exact):
    with pytest.warns(SulfurscopeWarning, match="short"):
        power_law_background(sim_exact.core_loss, sim_exact.core_loss_energy_ev, (52.0, 54.0))


def test_implausible_exponent_warns():
    e = np.arange(100.0, 300.0, 0.5)
    rising = power_law(e, 1.0, -1.0)
    with pytest.warns(SulfurscopeWarning, match="outside the plausible range"):
        power_law_background(rising, e, (110.0, 180.0))


def test_real_lsmo_window_on_the_mn_edge_warns():
    """A window that touches the Mn L3 white line (shifted axis) gives r < 0: warned."""
    d = read_eels(realdata_path(*EELS, "LSMO_linescan_coreloss.hspy"))
    with pytest.warns(SulfurscopeWarning, match="plausible"):
        power_law_background(d.counts, d.energy_ev, (590.0, 635.0))


def test_errors():
    e = np.arange(100.0, 200.0, 1.0)
    y = np.ones((3, e.size))
    with pytest.raises(SulfurscopeError, match="outside the energy axis"):
        edge_integrals(y, e, ["Li_K"])
    with pytest.raises(SulfurscopeError, match="edge 'Zz_K' unknown"):
        edge_integrals(y, e, ["Zz_K"])
    with pytest.raises(SulfurscopeError, match="uniform"):
        relative_thickness(y, np.r_[e[:-1], 1000.0])
    with pytest.raises(SulfurscopeError, match="energy axis last"):
        relative_thickness(np.ones((3, 1)), [1.0])
    with pytest.raises(SulfurscopeError, match="1-D axis with 100"):
        relative_thickness(y, e[:-1])
    with pytest.raises(SulfurscopeError, match="positive odd"):
        moving_average(np.ones(5), 4)
    with pytest.raises(SulfurscopeError, match="overlaps"):
        bad = dataclasses.replace(
            EDGE_TABLE["O_K"], background_ev=(120.0, 150.0), integral_ev=(140.0, 160.0)
        )
        edge_integrals(y, e, [bad])
    with pytest.raises(FitError, match="no positive counts"):
        power_law_background(np.zeros((2, e.size)), e, (110.0, 150.0))
    with pytest.raises(SulfurscopeError, match="no positive zero-loss"):
        relative_thickness(np.zeros((2, 50)), np.arange(-5.0, 20.0, 0.5))
    with pytest.raises(SulfurscopeError, match="does not overlap"):
        relative_thickness(y, e)
    with pytest.raises(SulfurscopeError, match="references is empty"):
        fingerprint_edge(e, y[0], {}, window_ev=(110.0, 150.0))
    with pytest.raises(SulfurscopeError, match="not the fingerprint window"):
        fingerprint_edge(
            e, y[0], {"S": (np.arange(0.0, 10.0), np.ones(10))}, window_ev=(110.0, 150.0)
        )
    integ = edge_integrals(
        y * power_law(e, 1e6, 3.0),
        e,
        [
            dataclasses.replace(
                EDGE_TABLE["O_K"], background_ev=(110.0, 140.0), integral_ev=(150.0, 170.0)
            )
        ],
    )
    with pytest.raises(SulfurscopeError, match="position_nm has 2"):
        line_scan_profile([0.0, 1.0], integ)


def test_spectrum_image_shapes_match_per_pixel(sim_exact):
    """A (Y, X, N) spectrum image gives the same numbers as its pixels one by one."""
    ll = sim_exact.low_loss[:6].reshape(2, 3, -1)
    cl = sim_exact.core_loss[:6].reshape(2, 3, -1)
    th = relative_thickness(ll, sim_exact.low_loss_energy_ev)
    integ = edge_integrals(cl, sim_exact.core_loss_energy_ev, ["Li_K", "S_L23"])
    assert th.t_over_lambda.shape == (2, 3) and integ.integral.shape == (2, 3, 2)
    one = edge_integrals(sim_exact.core_loss[4], sim_exact.core_loss_energy_ev, ["Li_K", "S_L23"])
    np.testing.assert_allclose(integ.integral[1, 1], one.integral, rtol=1e-12)
    np.testing.assert_allclose(th.t_over_lambda.ravel(), sim_exact.t_over_lambda[:6], rtol=1e-3)
    assert len(integ.to_frame()) == 12


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    window=st.sampled_from([1, 3, 5, 7]),
)
def test_moving_average_stays_within_the_data(values, window):
    v = np.asarray(values)
    out = moving_average(v, window)
    span = max(1.0, float(np.abs(v).max()))
    assert np.all(out >= v.min() - 1e-9 * span) and np.all(out <= v.max() + 1e-9 * span)
    if window == 1:
        np.testing.assert_allclose(out, v)


def test_fingerprint_pixels_agrees_with_the_single_spectrum_function(sim):
    """Per-pixel fingerprints = fingerprint_edge on each background-subtracted pixel; the LiF-rich
    surface pixels pick LiF; references that do not cover the window are left out."""
    from sulfurscope.spectra.eels_scan import fingerprint_pixels

    refs = reference_spectra()
    edge = EDGE_TABLE["Li_K"]
    table = fingerprint_pixels(sim.core_loss, sim.core_loss_energy_ev, edge, refs)
    assert len(table) == sim.core_loss.shape[0]
    assert (table["Edge"] == "Li_K").all()
    bg = power_law_background(sim.core_loss, sim.core_loss_energy_ev, edge.background_ev)
    sub = subtract_background(sim.core_loss, sim.core_loss_energy_ev, bg)
    used = {k: refs[k] for k in refs if f"{k} score" in table.columns}
    for p in (0, len(table) // 2, len(table) - 1):
        one = fingerprint_edge(sim.core_loss_energy_ev, sub[p], used, window_ev=edge.fingerprint_ev)
        assert table["Best"].iloc[p] == one.best
        assert table["Score"].iloc[p] == pytest.approx(one.best_score)
    assert (table["Best"].iloc[:5] == "LiF").all()
    far = {"S": (np.linspace(150.0, 250.0, 201), np.ones(201))}  # does not cover 55–75 eV
    assert fingerprint_pixels(sim.core_loss, sim.core_loss_energy_ev, edge, far).empty


def _shifted_zlp_pair(shift_ev: float):
    """A 3-pixel low-loss scan written here: a Gaussian ZLP (σ 0.4 eV) at ``shift_ev`` and a plasmon
    of half its area at 20 eV, so t/λ = ln 1.5 exactly."""
    from pathlib import Path

    from sulfurscope.io.eels import EELSData

    e = np.arange(-20.0, 120.0, 0.1)
    zlp = np.exp(-0.5 * ((e - shift_ev) / 0.4) ** 2)
    plasmon = np.exp(-0.5 * ((e - 20.0 - shift_ev) / 3.0) ** 2)
    one = 1e5 * (zlp / zlp.sum() + 0.5 * plasmon / plasmon.sum())
    return EELSData(counts=np.tile(one, (3, 1)), energy_ev=e, navigation_names=("x",),
                    navigation_nm=(np.arange(3.0),), navigation_units=("nm",), title="t",
                    path=Path("ll.hspy"), format="hspy")


@pytest.mark.parametrize("align", [True, False])
def test_unaligned_zlp_away_from_zero_is_a_failed_t_over_lambda(align):
    """The real LSMO low-loss scan has its ZLP at +3 eV: with --no-align t/λ came out 2.13 instead
    of 0.39 (exspy, aligned), and the table said "ZLP centre 0.0"."""
    from sulfurscope.analysis.eels import EelsOptions, analyse_eels

    res = analyse_eels(_shifted_zlp_pair(3.0), None, EelsOptions(align=align))
    t = res.tables["eels_thickness"]
    np.testing.assert_allclose(t["ZLP centre [eV]"], 3.0, atol=0.05)  # measured either way
    codes = {f.code: f.severity for f in res.flags}
    if align:
        np.testing.assert_allclose(t["t/lambda"], np.log(1.5), rtol=1e-3)
        assert "zlp_not_at_zero" not in codes
    else:
        assert codes.get("zlp_not_at_zero") == "failed"
    # a ZLP at 0 eV needs no alignment and raises nothing
    res0 = analyse_eels(_shifted_zlp_pair(0.0), None, EelsOptions(align=False))
    assert "zlp_not_at_zero" not in {f.code for f in res0.flags}
    np.testing.assert_allclose(res0.tables["eels_thickness"]["t/lambda"], np.log(1.5), rtol=1e-3)


@pytest.mark.parametrize("threshold, flagged", [(0.3, True), (3.0, False), (12.0, False), (16.0, True)])
def test_zlp_window_inside_the_zlp_or_past_its_end_is_flagged(threshold, flagged):
    """t/λ = ln 1.5 exactly (ZLP σ 0.4 eV, plasmon of half its area at 20 eV, σ 3 eV): a window up
    to 0.3 eV cuts the ZLP (t/λ too high), one up to 16 eV takes in the plasmon (too low, −11 %);
    3 eV is right and 12 eV only 0.4 % low: both unflagged."""
    from sulfurscope.analysis.eels import EelsOptions, analyse_eels

    res = analyse_eels(_shifted_zlp_pair(0.0), None, EelsOptions(zlp_threshold_ev=threshold))
    tl = float(res.tables["eels_thickness"]["t/lambda"].median())
    assert ("zlp_window" in {f.code for f in res.flags}) == flagged
    assert (abs(tl / np.log(1.5) - 1) > 0.05) == flagged
