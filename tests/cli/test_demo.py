"""``sulfurscope demo`` end to end: simulate → .mpt → read → every analysis → one report."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "sulfurscope-demo"
    res = runner.invoke(app, ["demo", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def test_demo_is_labelled_simulated(demo) -> None:
    out, doc = demo
    assert "SIMULATED" in doc["note"]
    assert "SIMULATED" in (out / "README.md").read_text()
    assert "SIMULATED" in (out / "report.html").read_text()
    head = (out / "raw" / "AC-S_8um_rate.mpt").read_text(errors="replace")[:4000]
    assert "SIMULATED" in head
    manifest = json.loads((out / "raw" / "manifest.json").read_text())
    assert {c["protocol"] for c in manifest["cells"]} == {"rate", "long", "gitt"}


def test_demo_shows_the_particle_size_story(demo) -> None:
    out, _ = demo
    t = pd.read_csv(out / "rate_capability_by_size.csv")
    assert set(t["Rate"]) == {"C/10", "C/40", "C/20", "C/5", "C/2.5"}
    fast = t[t["Rate"] == "C/2.5"].set_index("Particle size [um]")[
        "Mean discharge capacity [mAh/g]"
    ]
    # the study: ~600 vs ~300 mAh/g_S at C/2.5 for the smallest vs the largest particles
    assert 480 < fast[1.0] < 720
    assert 240 < fast[8.0] < 380
    assert fast[1.0] > fast[4.0] > fast[8.0]
    # every rate block of the rate test has 5 cycles after the one-cycle formation block
    assert sorted(t.groupby("Sample")["Cycles"].apply(list).iloc[0]) == [1, 5, 5, 5, 5, 5]


def test_demo_gitt_first_discharge_tau_grows_with_size(demo) -> None:
    out, _ = demo
    tau = pd.read_csv(out / "gitt_tau_by_size.csv")
    first = tau[tau["Half cycle label"] == "first discharge"].set_index("Particle size [um]")[
        "Median tau [s]"
    ]
    assert first[8.0] > first[4.0] > first[1.0]
    steps = pd.read_parquet(out / "gitt" / "AC-S_8um_gitt_gitt_steps.parquet")
    assert (steps["V0 convention"] == "first_rest_point").all()


def test_demo_model_section(demo) -> None:
    out, _ = demo
    pred = pd.read_csv(out / "model" / "rate_predictions.csv")
    assert set(pred["Sample"]) == {"AC-S_8um", "AC-S_4um"}
    # the active-shell prediction orders the samples like the measurement
    by = pred.groupby("Sample")["Measured capacity [mAh/g]"].mean()
    assert by["AC-S_8um"] < by["AC-S_4um"]
    fit = json.loads((out / "model" / "fit" / "model_fit.json").read_text())
    assert fit["reference"] == "AC-S_1um_rate"
    for fig in ("fig5b_active_fraction.png", "fig5cde_rate_predictions.png"):
        assert (out / "model" / fig).stat().st_size > 1000
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 10


def test_demo_particle_sizes_from_simulated_sem(demo) -> None:
    out, _ = demo
    t = pd.read_csv(out / "particles" / "particle_sizes.csv").set_index("Sample")
    assert (t["Calibration"] == "hitachi").all()  # pixel size read from the sidecar, not assumed
    # measured number-mean ECD within 5 % of the rendered truth, sd within 15 %
    ratio = t["Number mean [um]"] / t["True mean [um]"]
    assert ratio.between(0.95, 1.05).all(), ratio
    assert (t["Number sd [um]"] / t["True sd [um]"]).between(0.85, 1.15).all()
    # the model fit read the measured particle tables next to the rate tests
    assert (out / "cycling" / "rate" / "AC-S_8um_rate_particles.csv").exists()


def test_demo_hrtem_finds_lif_and_li2s(demo) -> None:
    out, _ = demo
    spots = pd.read_csv(out / "lattice" / "lattice_spots.csv")
    found = set(zip(spots["Phase"], spots["hkl"], strict=True))
    assert {("LiF", "(111)"), ("Li2S", "(111)")} <= found
    assert spots["d error [%]"].abs().max() < 1.0


def test_demo_rate_and_long_tests_have_rests_and_model_comparison(demo) -> None:
    out, _ = demo
    from sulfurscope.io import read_cycler

    data = read_cycler(out / "raw" / "AC-S_4um_long.mpt")
    rest = data.frame["Rest"].to_numpy()
    # an OCV rest after every half-cycle: rests start about twice per cycle
    starts = int(((~rest[:-1]) & rest[1:]).sum())
    assert starts >= 2 * 49
    assert (out / "model" / "first_discharge_model_vs_measured.png").stat().st_size > 1000
    assert (out / "model" / "fit" / "predicted_retention.csv").exists()
