"""XPS: the study's component library, synthetic truth, quantification, derived numbers, errors, real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.errors import FitError, MissingColumnError, SulfurscopeError
from sulfurscope.simulate.xps import S2P_STUDY_AREAS, simulate_xps
from sulfurscope.spectra.peaks import monte_carlo
from sulfurscope.spectra.xps import (
    ENERGY,
    INTENSITY,
    XPSSpectrum,
    component_libraries,
    component_library,
    component_table,
    fit_curves,
    fit_xps,
    region_area,
    region_key,
)
from sulfurscope.spectra.xps_analysis import analyse_xps
from sulfurscope.spectra.xps_quant import (
    quantify,
    reduced_sulfur_fraction,
    rsf_table,
    sulfur_speciation,
)
from tests.conftest import realdata_path

STUDY = {
    "S 2p/paper": {
        "Li2S": 160.7,
        "terminal S": 162.0,
        "bridging S": 163.7,
        "C-S": 164.6,
        "sulfate": 169.7,
    },
    "F 1s/paper": {"LiF": 685.5, "C-F": 686.3, "CHF-OCO2": 687.8, "POF3/PF6": 688.9},
    "Li 1s/paper": {"LiF": 55.7, "Li2CO3": 56.3},
    "C 1s/paper": {"C-F": 287.2, "CO3": 289.9, "C-C/C-H": 284.8, "Si-CH3": 284.4},
    "P 2p/paper": {"POF3": 134.2},
}


@pytest.mark.parametrize("library", sorted(STUDY))
def test_library_has_the_studys_assignments(library: str) -> None:
    comps = component_library(library)
    assert {c.name: c.center for c in comps} == STUDY[library]
    split = {"S 2p/paper": 1.18, "P 2p/paper": 0.84}.get(library)
    for c in comps:
        assert c.splitting == split
        if split:
            assert c.branching == 0.5  # 2p1/2 : 2p3/2 = 1 : 2
    assert library in component_libraries()


def test_library_names_are_normalised_and_unknown_ones_rejected() -> None:
    assert component_library("S2p/paper") == component_library("S 2p")
    with pytest.raises(SulfurscopeError, match="unknown component library"):
        component_library("Zr 3d/paper")


def test_user_table(tmp_path) -> None:
    p = tmp_path / "mine.csv"
    p.write_text(
        "library,component,assignment,shape,center_ev,center_tolerance_ev,fwhm_ev,fwhm_min_ev,"
        "fwhm_max_ev,shape_param,splitting_ev,branching,fwhm_of\n"
        "Mo 3d/mine,MoS2,MoS2,gl_product,229.0,0.5,1.0,0.5,2.0,30,3.13,0.667,\n"
    )
    (c,) = component_library("Mo 3d/mine", table=p)
    assert (c.shape, c.splitting, c.branching, c.center_bounds) == (
        "gl_product",
        3.13,
        0.667,
        (228.5, 229.5),
    )


@pytest.mark.parametrize("mode", ["model", "subtract"])
def test_synthetic_s2p_truth(mode: str) -> None:
    """Study-like S 2p (five doublets) on Shirley + Poisson noise: positions ±0.05 eV, areas ±2 %.

    Counts are high (dwell 50 s, ~10⁵ counts at the main peak): the 2 % target is a statement about
    the method, so the noise has to be below it.
    """
    spec = simulate_xps(rng=7, dwell_s=50.0)
    fit = fit_xps(spec, "S 2p/paper", background_mode=mode)  # type: ignore[arg-type]
    truth_e = np.array([160.7, 162.0, 163.7, 164.6, 169.7])
    truth_a = np.array([S2P_STUDY_AREAS[n] for n in fit.names])
    assert np.max(np.abs(fit.center - truth_e)) < 0.05
    np.testing.assert_allclose(fit.area, truth_a, rtol=0.02 if mode == "model" else 0.05)
    assert reduced_sulfur_fraction(fit) == pytest.approx(0.33, abs=0.01)


def test_two_doublet_truth_and_uncertainties() -> None:
    areas = {"Li2S": 20000.0, "terminal S": 30000.0}
    comps = component_library("S 2p/paper")[:2]
    spec = simulate_xps(comps, areas=areas, rng=1)
    fit = fit_xps(spec, comps)
    assert np.all(np.abs(fit.center - [160.7, 162.0]) < 0.05)
    np.testing.assert_allclose(fit.area, [20000, 30000], rtol=0.02)
    # the fit is Poisson-weighted (σ ∝ √I): its covariance matches the spread of Poisson replicas
    mcp = monte_carlo(fit, n_replicas=60, noise="poisson", rng=0)
    np.testing.assert_allclose(mcp.area_std, fit.area_stderr, rtol=0.3)


def test_study_numbers() -> None:
    # the study: 25 % S, 45 % Li2S2, 30 % Li2S; 33 % reduced S
    s = sulfur_speciation({"Li2S": 30.0, "terminal S": 45.0, "bridging S": 25.0})
    assert (s.elemental_sulfur_fraction, s.li2s2_fraction, s.li2s_fraction) == pytest.approx(
        (0.25, 0.45, 0.30)
    )
    assert "Li2S2" in s.assumption and s.bridging_to_terminal_ratio == pytest.approx(25 / 45)
    assert reduced_sulfur_fraction(S2P_STUDY_AREAS) == pytest.approx(0.33)
    with pytest.raises(SulfurscopeError, match="not in the fit"):
        reduced_sulfur_fraction({"Li2S": 1.0})


def test_quantify_with_scofield() -> None:
    t = quantify({"C 1s": 100.0, "S 2p": 168.0, "F 1s": 443.0})
    assert t["Atomic [%]"].tolist() == pytest.approx([100 / 3] * 3)
    assert set(t["RSF source"]) == {"scofield"}
    assert rsf_table("scofield").set_index("region").loc["F 1s", "rsf"] == 4.43
    with pytest.raises(SulfurscopeError, match="no RSF for region"):
        quantify({"Zr 3d": 1.0})
    with pytest.raises(SulfurscopeError, match="unknown RSF source"):
        rsf_table("wagner1981")
    assert quantify({"S 2p": 1.0, "C 1s": 1.0}, rsf={"S2p": 2.0, "C1s": 1.0})["Atomic [%]"].round(
        3
    ).tolist() == [33.333, 66.667]


def test_region_key() -> None:
    assert [region_key(n) for n in ("S2p", "S 2p\x00\x00", "Li1s", "Su1s", "Sn3d5", "Mo 3d")] == [
        "S 2p",
        "S 2p",
        "Li 1s",
        "Survey",
        "Sn 3d5",
        "Mo 3d",
    ]


def test_tables_and_curves() -> None:
    fit = fit_xps(simulate_xps(rng=0))
    t = component_table(fit, region="S 2p")
    assert list(t.columns[:7]) == [
        "Region",
        "Component",
        "Function",
        "BE [eV]",
        "FWHM [eV]",
        "Area [%]",
        "Assignment",
    ]
    assert t["Area [%]"].sum() == pytest.approx(100)
    assert set(t["Function"]) == {"Voigt doublet"}
    c = fit_curves(fit, region="S 2p")
    assert set(c["Curve"]) >= {"data", "envelope", "background", "residual", "Li2S"}
    env = c[c.Curve == "envelope"][INTENSITY].to_numpy()
    comps = sum(c[c.Curve == n][INTENSITY].to_numpy() for n in fit.names)
    np.testing.assert_allclose(env, comps + c[c.Curve == "background"][INTENSITY].to_numpy())


def test_dataframe_and_pair_inputs_give_the_same_fit() -> None:
    spec = simulate_xps(rng=4)
    a = fit_xps(spec).area
    np.testing.assert_allclose(fit_xps(spec.to_frame()).area, a)
    np.testing.assert_allclose(fit_xps((spec.binding_energy_ev, spec.intensity)).area, a)
    with pytest.raises(MissingColumnError, match="Binding energy"):
        fit_xps(pd.DataFrame({"x": [1.0]}))


def _spec(e, i) -> XPSSpectrum:
    return XPSSpectrum("S 2p", np.asarray(e, float), np.asarray(i, float), 1486.6)


@pytest.mark.parametrize(
    ("kwargs", "spec", "match"),
    [
        ({"window_ev": (100, 110)}, simulate_xps(rng=0), "no data points in the window"),
        ({}, _spec([], []), "empty"),
        (
            {},
            _spec(np.linspace(155, 175, 401), np.where(np.arange(401) == 7, np.nan, 100.0)),
            "NaN",
        ),
        ({}, _spec(np.linspace(175, 155, 401), np.ones(401)), "reversed"),
        (
            {},
            _spec(np.r_[np.linspace(155, 165, 200), np.linspace(165, 175, 201)], np.ones(401)),
            "duplicate",
        ),
        ({"window_ev": (155, 165)}, simulate_xps(rng=0), "outside the window"),
    ],
)
def test_bad_input(kwargs, spec, match) -> None:
    with pytest.raises(SulfurscopeError, match=match):
        fit_xps(spec, "S 2p/paper", **kwargs)


def test_drop_outside_keeps_the_window_components() -> None:
    fit = fit_xps(simulate_xps(rng=0), window_ev=(155, 167), drop_outside=True)
    assert "sulfate" not in fit.names and len(fit.names) == 4


def test_region_area_of_a_gaussian() -> None:
    x = np.linspace(150.0, 180.0, 601)
    y = 50 + 1000 * np.exp(-((x - 165) ** 2) / 2.0)
    assert region_area((x, y), background="linear") == pytest.approx(
        1000 * np.sqrt(2 * np.pi), rel=1e-3
    )
    with pytest.raises(SulfurscopeError, match="background must be"):
        region_area((x, y), background="spline")  # type: ignore[arg-type]


def test_analyse_xps_records_failures_unless_a_region_is_asked_for() -> None:
    spec = simulate_xps(rng=0)
    odd = XPSSpectrum("F 1s", np.linspace(675, 695, 161), np.ones(161) * 5.0, 1486.6)
    a = analyse_xps([spec, odd])
    assert a.regions == ("S 2p",) or "F 1s" in a.regions
    q = a.quantification.set_index("Quantity")
    assert q.loc["Reduced sulfur [%]", "Value [%]"] == pytest.approx(33, abs=2)
    with pytest.raises(SulfurscopeError, match="no region"):
        analyse_xps([spec], region="C 1s")


@pytest.mark.realdata
def test_real_vamas_s2p_fits() -> None:
    from sulfurscope.io.xps import read_xps, select_region

    data = read_xps(
        realdata_path("spectro", "xps", "PHI_VersaProbeII_Multipak_C1s_Mo3d_N1s_O1s_S2p.npl")
    )
    fit = fit_xps(select_region(data, "S 2p"), "S 2p/paper")
    assert fit.r_squared > 0.98
    # MoS2-type S 2p3/2 lies near 161–162 eV: the two lowest components carry most of the area
    assert fit.area[:2].sum() / fit.area.sum() > 0.8
    a = analyse_xps(data.spectra)
    q = a.quantification[a.quantification.Quantity == "Atomic [%]"].set_index("Region")["Value [%]"]
    # S : Mo of a MoS2 film ≈ 2 (Scofield RSFs, no transmission correction): within a factor 1.5
    assert 2 / 1.5 < q["S 2p"] / q["Mo 3d"] < 2 * 1.5


def test_fit_error_is_a_sulfurscope_error() -> None:
    assert issubclass(FitError, SulfurscopeError)
    assert ENERGY == "Binding energy [eV]"


def test_auto_components_find_the_maxima_and_refuse_noise() -> None:
    from sulfurscope.spectra.xps import auto_components

    e = np.linspace(280.0, 295.0, 301)
    rng = np.random.default_rng(0)
    y = 100 + 1000 * np.exp(-((e - 285) ** 2) / 0.5) + 300 * np.exp(-((e - 289.2) ** 2) / 0.5)
    comps = auto_components((e, rng.poisson(y).astype(float)))
    assert [round(c.center, 0) for c in comps] == [285.0, 289.0]
    assert comps[1].fwhm_of == comps[0].name and {c.assignment for c in comps} == {"auto"}
    fit = fit_xps((e, rng.poisson(y).astype(float)), "auto")
    np.testing.assert_allclose(fit.center, [285.0, 289.2], atol=0.05)
    with pytest.raises(SulfurscopeError, match="no peak above 5× the noise"):
        auto_components((e, rng.poisson(np.full(e.size, 200.0)).astype(float)))


@pytest.mark.realdata
def test_real_spe_f1s_has_two_components_with_auto() -> None:
    from sulfurscope.io.xps import read_xps, select_region

    data = read_xps(realdata_path("spectro", "xps", "PHI_Quantum2000_F1s_survey_test0.spe"))
    fit = fit_xps(select_region(data, "F 1s"), "auto")
    assert len(fit.names) == 2 and fit.r_squared > 0.95
    # uncorrected charging: the F 1s lines sit ~4 eV low (681.3 and 684.7 eV)
    np.testing.assert_allclose(fit.center, [681.3, 684.7], atol=0.3)
