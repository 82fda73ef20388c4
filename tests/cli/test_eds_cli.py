"""``sulfurscope eds`` end to end (typer CliRunner), the EDS figures and the study plug-in."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.report.eds import element_colour, plot_eds_maps, plot_eds_profiles
from sulfurscope.simulate.eds import simulate_particle_eds, write_simulated_eds
from sulfurscope.spectra.eds import depth_profile, line_maps, particle_edge_depth
from tests.conftest import realdata_path

runner = CliRunner()


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory):
    path, sim = write_simulated_eds(
        tmp_path_factory.mktemp("eds") / "sim.hspy",
        shape=(48, 48),
        pixel_size_nm=25.0,
        shell_nm=150.0,
        rng=np.random.default_rng(5),
    )
    assert sim.shell_nm == 150.0
    return path


def test_cli_simulated_edge(sim_file, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["eds", str(sim_file), "--lines", "S_Ka,F_Ka", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "F_Ka:" in res.output and "[window_overlap]" in res.output  # O Kα / Fe L / Cu L
    for stem in ("eds_lines", "eds_profiles", "eds_maps"):
        assert (out / f"{stem}.csv").exists() and (out / f"{stem}.parquet").exists()
    assert (out / "fig3c_eds_maps_sim.png").stat().st_size > 5000
    assert (out / "fig3d_eds_profiles_sim.png").stat().st_size > 5000
    prof = pd.read_parquet(out / "eds_profiles.parquet")
    f = prof[prof["Line"] == "F_Ka"]
    # the F-rich shell: near-surface F well above the core
    assert (
        f["Smoothed [counts/px]"].iloc[:3].mean() > 3 * f["Smoothed [counts/px]"].iloc[12:].mean()
    )
    assert set(prof["Moving average window"]) == {5}
    assert not (out / "eds_map_check.csv").exists()  # no JEOL maps in a .hspy


def test_cli_polyline_json(sim_file, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "eds",
            str(sim_file),
            "--lines",
            "F_Ka",
            "--surface-px",
            "0,20,47,20",
            "--moving-average-points",
            "3",
            "--edge-policy",
            "valid",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout[res.stdout.index("{") :])
    summary = payload["inputs"][0]["summary"]
    assert summary["surface"] == "polyline"
    assert summary["inside"] == "right"  # the particle is below the line (y > 20)
    assert summary["shape"] == [48, 48, 1024]
    assert payload["results"]["eds_lines"][0]["Line"] == "F_Ka"
    prof = pd.read_csv(out / "eds_profiles.csv")
    assert set(prof["Edge policy"]) == {"valid"}


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--lines", "Xx_Ka"], "'Xx_Ka' is not in the line table", 1),
        (["--surface-px", "1,2,3"], "--surface-px: needs an even number", 2),
        (["--inside", "up"], "--inside", 2),
        (["--edge-policy", "wrap"], "--edge-policy", 2),
        (["--edge-line", "O_Ka"], "--edge-line: 'O_Ka' must be one of the lines", 2),
    ],
)
def test_cli_errors_one_line(sim_file, tmp_path, args, message, code):
    res = runner.invoke(app, ["eds", str(sim_file), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == code, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert res.output.strip().count("\n") <= 12  # warnings + one error line


def test_cli_bad_file(tmp_path):
    bad = tmp_path / "junk.msa"
    bad.write_text("nope")
    res = runner.invoke(app, ["eds", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert res.output.startswith("error: junk.msa") and len(res.output.splitlines()) == 1


def test_cli_real_jeol_project(tmp_path):
    asw = realdata_path("spectro", "eds_jeol", "rawdata.ASW")
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "eds",
            str(asw),
            "--lines",
            "S_Ka,Fe_Ka",
            "--downsample",
            "4",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["figures_failed"] == []
    check = pd.read_csv(out / "eds_map_check.csv")
    assert list(check["Map"]) == ["C K", "O K", "S K", "Fe K", "Cu K"]
    assert (check["Ratio ours/JEOL"] - 1).abs().max() < 0.01
    assert (check["Pearson r"] > 0.99).all()
    lines = pd.read_csv(out / "eds_lines.csv")
    # overlaps name the elements the spectrum shows (README: C, O, S, Fe, Cu): S Kβ in the right
    # window, not the Pt M lines of a platinum the sample does not hold
    s_overlaps = lines.loc[lines["Line"] == "S_Ka", "Overlaps"].iloc[0]
    assert "S_Kb" in s_overlaps and "Pt" not in s_overlaps
    maps = pd.read_parquet(out / "eds_maps.parquet")
    assert maps["Bin [px]"].iloc[0] == 4 and maps["x [px]"].max() == 127


def test_figures_from_results():
    sim = simulate_particle_eds(shape=(32, 32), rng=np.random.default_rng(2))
    lm = line_maps(sim.spectrum_image, ["S_Ka", "F_Ka"], warn=False)
    dm = particle_edge_depth(lm.gross[0])
    fig = plot_eds_maps(
        dict(zip(lm.lines, lm.net, strict=True)), pixel_size_nm=20.0, surface_xy=dm.surface_xy
    )
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "S Ka"
    prof = depth_profile(lm.net, dm, lines=lm.lines, pixel_size_nm=20.0)
    fig2 = plot_eds_profiles(prof, normalise=True)
    assert len(fig2.axes[0].lines) >= 4
    assert element_colour("S_Ka") != element_colour("F_Ka")
    assert element_colour("S K") == element_colour("S_Ka")


def test_study_plugin_run_and_report(sim_file, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overlap notes go into the tables
        from sulfurscope.study.builtin import builtin_report, builtin_run
        from sulfurscope.study.registry import get_analysis

        tables = dict(builtin_run("eds", {"project": sim_file}, {"lines": "S_Ka,F_Ka"}).tables)
    assert set(tables) == {
        "eds_lines", "eds_profiles", "eds_maps", "eds_map_check", "eds_surface", "eds_depth"
    }
    assert set(get_analysis("eds").tables) == set(tables)
    for name, t in tables.items():
        assert all(isinstance(c, str) for c in t.columns), name
    stored = {
        k: v.assign(Task="eds:sim", Sample="8um").loc[:, ["Task", "Sample", *v.columns]]
        for k, v in tables.items()
    }
    sections = builtin_report("eds", stored, tmp_path)
    assert len(sections) == 1
    assert len(sections[0].figures) == 2 and all(p.exists() for p in sections[0].figures)
    assert builtin_report("eds", {k: v.iloc[:0] for k, v in stored.items()}, tmp_path) == []
