"""GITT D against truth: relaxations of a sphere simulated by independent numerics
(``_sphere_pde``: finite volumes + matrix-exponential steps, not the modal series the analysis
inverts), read through the same calls the pipeline makes (``analyse_gitt`` → ``analyse_gitt_scaling``).

The issue's bar (MODEL.md, "GITT interpretation"): the study's protocol (36 min pulse, 2 h rest, 8 µm,
D = 1e-16 m²/s) and a rest of one 1 − 1/e time give D within 30 % or flagged/refused; rests ≥ 5 R²/D
give D within 5 %; τ_e of 3–4 sizes gives D within 10 %; the 95 % interval of D covers the truth in
90–98 % of noisy replicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.analysis.gitt import (
    GittOptions,
    GittScalingOptions,
    analyse_gitt,
    analyse_gitt_scaling,
)
from sulfurscope.cycling.gitt import transport_scaling

from ._sphere_pde import sphere_gitt_frame

PULSE_S = 2160.0  # 100 mAh/g_S at C/10 (the study's GITT step)


def _through_pipeline_calls(
    cells: dict[str, tuple[float, pd.DataFrame]], v_inf: str, v0: str = "first_rest_point"
):
    steps = []
    for name, (_, frame) in cells.items():
        r = analyse_gitt(frame, GittOptions(v_inf=v_inf, v0=v0))
        steps.append(r.tables["gitt_steps"].assign(Task=name, Sample=name))
    sizes = {name: size for name, (size, _) in cells.items()}
    return analyse_gitt_scaling(
        pd.concat(steps, ignore_index=True), sizes, GittScalingOptions(v_inf=v_inf)
    )


def _one_cell(diameter_um: float, d: float, rest_s: float, **kw) -> dict:
    sample = max(5.0, rest_s / 3000.0)
    frame = sphere_gitt_frame(
        radius_um=diameter_um / 2, diffusivity_m2_s=d, pulse_s=PULSE_S, rest_s=rest_s,
        sample_s=sample, **kw,
    )  # fmt: skip
    return {"cell": (diameter_um, frame)}


def _d_or_flag(result, d_true: float, rel: float) -> str:
    """'ok' when every rest's D is within ``rel`` of the truth, 'flagged' when the rests are
    refused or flagged and left out of the fits; fails otherwise."""
    table = result.tables["gitt_diffusivity"]
    codes = {f.code for f in result.flags}
    d = table["D [m2/s]"].to_numpy(float)
    within = np.isfinite(d) & (np.abs(d / d_true - 1) <= rel)
    if within.all():
        return "ok"
    flagged = table["D poorly determined"].to_numpy(bool)
    assert flagged[~within].all(), table
    assert codes & {"d_not_determined", "rest_short", "d_poorly_determined"}, codes
    return "flagged"


@pytest.mark.parametrize("v_inf", ["last_sample", "fitted"])
def test_study_protocol_gives_d_within_30_percent_or_says_it_cannot(v_inf):
    res = _through_pipeline_calls(_one_cell(8.0, 1e-16, 7200.0), v_inf)
    outcome = _d_or_flag(res, 1e-16, 0.30)
    assert outcome == "flagged"  # 2 h ≈ 0.05 R²/D: the 1/e time is pulse-limited or extrapolated
    if v_inf == "last_sample":  # refused with an upper bound that holds the truth
        bound = res.tables["gitt_diffusivity"]["D upper bound [m2/s]"].iloc[0]
        assert bound >= 1e-16


@pytest.mark.parametrize("v_inf", ["last_sample", "fitted"])
def test_rest_of_one_relaxation_time_is_refused_or_flagged(v_inf):
    from sulfurscope._sphere import read_tau_s

    rest = read_tau_s(PULSE_S, 4e-6, 1e-16)  # one 1 − 1/e time
    res = _through_pipeline_calls(_one_cell(8.0, 1e-16, rest), v_inf)
    _d_or_flag(res, 1e-16, 0.30)


@pytest.mark.parametrize("v_inf", ["last_sample", "fitted"])
@pytest.mark.parametrize("diameter_um", [2.0, 8.0])
def test_long_rest_gives_d_within_5_percent(v_inf, diameter_um):
    d = 1e-15 if diameter_um == 8.0 else 1e-16
    rest = 5.0 * (diameter_um / 2 * 1e-6) ** 2 / d  # 5 R²/D
    res = _through_pipeline_calls(_one_cell(diameter_um, d, rest), v_inf)
    assert _d_or_flag(res, d, 0.05) == "ok"
    assert not {f.code for f in res.flags} & {"rest_short", "d_not_determined"}


def test_unrelaxed_start_is_flagged():
    """Three pulses with 1 h rests in a 4 µm particle: later pulses start unrelaxed."""
    res = _through_pipeline_calls(_one_cell(4.0, 1e-16, 3600.0, pulses=3), "last_sample")
    assert "unrelaxed_start" in {f.code for f in res.flags}
    d = res.tables["gitt_diffusivity"]["D [m2/s]"].to_numpy(float)
    assert d[0] == pytest.approx(1e-16, rel=0.02)  # the first pulse starts from equilibrium


def test_ir_step_in_v0_is_flagged():
    res = _through_pipeline_calls(
        _one_cell(2.0, 1e-16, 7200.0), "last_sample", v0="last_under_current"
    )
    assert "d_v0_convention" in {f.code for f in res.flags}


def test_size_scaling_recovers_d_within_10_percent():
    """τ_e of four sizes, one D, the study's pulse: the across-size D of ``gitt_scaling``."""
    d = 1e-15
    cells = {}
    for size in (1.0, 2.0, 4.0, 8.0):
        cells[f"{size:g} um"] = _one_cell(size, d, 7200.0, pulses=2)["cell"]
    res = _through_pipeline_calls(cells, "last_sample")
    table = res.tables["gitt_scaling"]
    assert len(table) == 1
    row = table.iloc[0]
    assert row["D [m2/s]"] == pytest.approx(d, rel=0.10)
    assert row["D CI95 low [m2/s]"] <= d <= row["D CI95 high [m2/s]"]
    assert row["D points"] >= 4


def test_size_scaling_d_interval_covers_the_truth():
    """200 replicates of τ with 5 % log-normal read-out scatter around independently simulated τ:
    the 95 % interval of D holds the truth in 90–98 % of them."""
    d = 1e-15
    sizes = np.array([1.0, 2.0, 4.0, 8.0])
    tau_true = []
    for size in sizes:
        res = _through_pipeline_calls(_one_cell(size, d, 7200.0), "last_sample")
        tau_true.append(float(res.tables["gitt_diffusivity"]["Tau [s]"].iloc[0]))
        origin = float(res.tables["gitt_diffusivity"]["Tau origin after pulse [s]"].iloc[0])
        rest = float(res.tables["gitt_diffusivity"]["Rest [s]"].iloc[0])
    size_rep = np.repeat(sizes, 2)
    tau_rep = np.repeat(tau_true, 2)
    rng = np.random.default_rng(2026)
    hits = 0
    n = 200
    for _ in range(n):
        tau = tau_rep * np.exp(rng.normal(0.0, 0.05, len(tau_rep)))
        fit = transport_scaling(
            size_rep, tau, pulse_s=PULSE_S, rest_s=rest, v_inf="last_sample", origin_s=origin
        )
        lo, hi = fit.diffusivity_ci95_m2_s
        hits += lo <= d <= hi
    assert 0.90 <= hits / n <= 0.98, hits / n


@pytest.mark.parametrize(("diameter_um", "d", "sample_s"), [(1.0, 1e-14, 1.0), (1.0, 1e-14, 2.4),
                                                           (4.0, 1e-14, 12.0)])
def test_tau_between_coarse_samples_is_flagged(diameter_um, d, sample_s):
    """τ of ~1–13 s read from samples 1–12 s apart came out up to 2× long, and D 25–35 % low,
    without a word; now the rest is marked coarse and its D poorly determined (or not given)."""
    frame = sphere_gitt_frame(radius_um=diameter_um / 2, diffusivity_m2_s=d, pulse_s=600.0,
                              rest_s=3600.0, sample_s=sample_s)  # fmt: skip
    steps = analyse_gitt(frame, GittOptions())
    assert "tau_coarse" in {f.code for f in steps.flags}
    assert steps.tables["gitt_steps"]["Tau coarse"].iloc[0]
    res = _through_pipeline_calls({"cell": (diameter_um, frame)}, "last_sample")
    table = res.tables["gitt_diffusivity"]
    codes = {f.code for f in res.flags}
    if len(table):  # D given, but marked: poorly determined, from a coarse τ
        assert table["Tau coarse"].all() and table["D poorly determined"].all()
        assert "d_poorly_determined" in codes
    else:  # τ before the first sample: no D
        assert "d_not_determined" in codes
    # the same rest sampled finely resolves τ and gives D
    fine = sphere_gitt_frame(radius_um=diameter_um / 2, diffusivity_m2_s=d, pulse_s=600.0,
                             rest_s=3600.0, sample_s=sample_s / 20)  # fmt: skip
    res = _through_pipeline_calls({"cell": (diameter_um, fine)}, "last_sample")
    assert _d_or_flag(res, d, 0.05) == "ok"


def test_relaxation_within_the_noise_gives_no_d_and_says_so():
    frame = sphere_gitt_frame(radius_um=0.5, diffusivity_m2_s=1e-17, pulse_s=600.0, rest_s=600.0,
                              sample_s=1.0, noise_v=0.001)  # fmt: skip
    steps = analyse_gitt(frame, GittOptions())
    assert "tau_undetermined" in {f.code for f in steps.flags}
    res = _through_pipeline_calls({"cell": (1.0, frame)}, "last_sample")
    failed = [f for f in res.flags if f.code == "d_not_determined"]
    assert failed and failed[0].severity == "failed"


@pytest.mark.parametrize("seed", range(6))
def test_a_relaxation_of_a_few_noise_sigma_gives_no_d(seed):
    """A 4 µm sphere relaxing by ~2 mV under 1 mV noise: τ came out 0.2–22 s and D was given
    unflagged; a relaxation below 5 σ now leaves τ undetermined and D out, with a flag."""
    frame = sphere_gitt_frame(radius_um=2.0, diffusivity_m2_s=1e-14, pulse_s=2160.0, rest_s=600.0,
                              sample_s=1.0, noise_v=0.001, seed=seed)  # fmt: skip
    steps = analyse_gitt(frame, GittOptions())
    row = steps.tables["gitt_steps"].iloc[0]
    assert abs(row["Vinf [V]"] - row["V0 [V]"]) < 5 * row["Noise [V]"]
    assert "tau_undetermined" in {f.code for f in steps.flags}
    res = _through_pipeline_calls({"cell": (4.0, frame)}, "last_sample")
    assert res.tables["gitt_diffusivity"].empty
    assert "d_not_determined" in {f.code for f in res.flags}


def test_rest_ending_in_drift_is_noted():
    """A 2 h rest of an 8 µm particle (≈ 0.05 R²/D) ends with most of the relaxation still to come:
    a note says the QOCV is not at equilibrium; a rest of 5 R²/D settles and gets none."""
    short = analyse_gitt(_one_cell(8.0, 1e-16, 7200.0)["cell"][1], GittOptions())
    codes = {f.code: f for f in short.flags}
    assert "rest_not_settled" in codes and codes["rest_not_settled"].severity == "note"
    assert "last sample" in codes["rest_not_settled"].message
    fitted = analyse_gitt(_one_cell(8.0, 1e-16, 7200.0)["cell"][1], GittOptions(v_inf="fitted"))
    note = next(f for f in fitted.flags if f.code == "rest_not_settled")
    assert "fitted asymptote" in note.message and "last sample" not in note.message
    rest = 5.0 * (1e-6) ** 2 / 1e-16
    long = analyse_gitt(_one_cell(2.0, 1e-16, rest)["cell"][1], GittOptions())
    assert "rest_not_settled" not in {f.code for f in long.flags}
