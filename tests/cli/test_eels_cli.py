"""``sulfurscope eels`` end to end (typer CliRunner) and the study plug-in, on simulated and real files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.io.eels import write_eels
from sulfurscope.simulate.eels import reference_spectra, simulate_eels_line_scan
from tests.conftest import realdata_path

runner = CliRunner()
EELS = ("spectro", "eels")


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    d = tmp_path_factory.mktemp("eels")
    sim = simulate_eels_line_scan(rng=np.random.default_rng(3), step_nm=10.0)
    ll = write_eels(
        d / "lowloss.hspy", sim.low_loss, sim.low_loss_energy_ev, position_nm=sim.position_nm
    )
    cl = write_eels(
        d / "coreloss.hspy", sim.core_loss, sim.core_loss_energy_ev, position_nm=sim.position_nm
    )
    refs = reference_spectra()
    paths = {}
    for name, (e, y) in refs.items():
        paths[name] = d / f"{name}.csv"
        paths[name].write_text("\n".join(f"{a},{b}" for a, b in zip(e, y, strict=True)))
    return sim, ll, cl, paths


def test_line_scan_profile_recovers_truth(scan, tmp_path):
    sim, ll, cl, _ = scan
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "eels",
            "--low-loss",
            str(ll),
            "--core-loss",
            str(cl),
            "--edges",
            "Li_K,S_L23",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "t/lambda" in res.output
    prof = pd.read_csv(out / "eels_profile.csv")
    np.testing.assert_allclose(prof["t/lambda"], sim.t_over_lambda, rtol=0.03)
    for j, name in enumerate(sim.edge_names):
        got = prof[f"{name} integral/(t/lambda) [counts]"]
        np.testing.assert_allclose(got, sim.integral_per_t[:, j], rtol=0.03)
        assert f"{name} integral/(t/lambda) MA5 [counts]" in prof.columns
    assert len(pd.read_parquet(out / "eels_profile.parquet")) == sim.position_nm.size
    for fig in ("eels_profile.png", "eels_core_loss.png"):
        assert (out / fig).stat().st_size > 1000
    assert not list(out.glob(".*tmp*"))


def test_json_and_fingerprint(scan, tmp_path):
    sim, ll, cl, refs = scan
    args = ["eels", "--low-loss", str(ll), "--core-loss", str(cl), "--out", str(tmp_path), "--json"]
    for name in ("LiF", "Li2S", "Li2CO3", "S"):
        args += ["--reference", f"{name}={refs[name]}"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["warnings"] == [] and data["notes"] == []
    assert [e["name"] for e in data["edges"]] == ["Li_K", "S_L23"]
    fp = pd.DataFrame(data["fingerprint"])
    li = fp[fp["Edge"] == "Li_K"].set_index("Pixel")
    assert (li.loc[:3, "Best"] == "LiF").all()  # the LiF-rich surface
    assert (li.loc[25:, "Best"] == "Li2S").all()
    assert set(fp.loc[fp["Edge"] == "S_L23", "Best"]) == {"S"}
    assert (tmp_path / "eels_fingerprint_Li_K.png").exists()


def test_core_loss_only_is_stated_unnormalised(scan, tmp_path):
    sim, _, cl, _ = scan
    res = runner.invoke(app, ["eels", "--core-loss", str(cl), "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert any("NOT normalised" in n for n in data["notes"])
    prof = pd.DataFrame(data["profile"])
    assert "Li_K integral MA5 [counts]" in prof.columns
    assert "t/lambda" not in prof.columns


def test_edge_window_override(scan, tmp_path):
    _, _, cl, _ = scan
    res = runner.invoke(
        app,
        [
            "eels",
            "--core-loss",
            str(cl),
            "--edges",
            "Li_K",
            "--edge-window",
            "Li_K=44,54,56,80",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["edges"][0]["integral_ev"] == [56.0, 80.0]


REAL_RUNS = {
    "Al low-loss only": (["--low-loss", "Al_lowloss_ZLP_plasmon.dm3"], ["eels_thickness.csv"]),
    "LSMO low-loss only": (
        ["--low-loss", "LSMO_linescan_lowloss.hspy"],
        ["eels_thickness.csv", "eels_thickness.png"],
    ),
    "LSMO pair": (
        [
            "--low-loss",
            "LSMO_linescan_lowloss.hspy",
            "--core-loss",
            "LSMO_linescan_coreloss.hspy",
            "--edges",
            "O_K,Mn_L23",
        ],
        ["eels_profile.csv", "eels_profile.png", "eels_edge_integrals.csv"],
    ),
    "LSMO core-loss only": (
        ["--core-loss", "LSMO_linescan_coreloss.hspy", "--edges", "O_K"],
        ["eels_profile.csv"],
    ),
    "SrTiO3 core-loss": (
        ["--core-loss", "SrTiO3_coreloss_TiL_OK.dm3", "--edges", "Ti_L23,O_K"],
        ["eels_edge_integrals.csv", "eels_core_loss.png"],
    ),
    "DM4 SI core-loss": (
        [
            "--core-loss",
            "EELS_SI_2x2_coreloss.dm4",
            "--edges",
            "O_K",
            "--background-method",
            "two_area",
        ],
        ["eels_edge_integrals.csv"],
    ),
}


@pytest.mark.parametrize("case", sorted(REAL_RUNS))
def test_every_real_file_runs(case, tmp_path):
    argv, expected = REAL_RUNS[case]
    args = ["eels"] + [
        str(realdata_path(*EELS, a)) if a.endswith((".dm3", ".dm4", ".hspy")) else a for a in argv
    ]
    res = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    for f in expected:
        assert (tmp_path / f).exists(), f
    if "--low-loss" in argv and "LSMO" in " ".join(argv):
        tl = pd.read_csv(tmp_path / "eels_thickness.csv")["t/lambda"]
        assert tl.iloc[0] == pytest.approx(0.39, abs=0.03)
        assert tl.iloc[-1] == pytest.approx(0.69, abs=0.03)
    if "--core-loss" in argv:
        integ = pd.read_csv(tmp_path / "eels_edge_integrals.csv")
        assert (integ["Integral [counts]"] > 0).all()


def test_errors(scan, tmp_path):
    sim, ll, cl, refs = scan
    res = runner.invoke(app, ["eels", "--out", str(tmp_path)])
    assert res.exit_code == 1 and "give --low-loss FILE, --core-loss FILE or both" in res.output
    lsmo = realdata_path(*EELS, "LSMO_linescan_coreloss.hspy")
    res = runner.invoke(app, ["eels", "--core-loss", str(lsmo), "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "LSMO_linescan_coreloss.hspy (--core-loss): Li_K integral window" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["eels", "--low-loss", str(lsmo), "--out", str(tmp_path)])
    assert res.exit_code == 1 and "(--low-loss)" in res.output and "ZLP" in res.output
    al = realdata_path(*EELS, "Al_lowloss_ZLP_plasmon.dm3")
    res = runner.invoke(
        app, ["eels", "--low-loss", str(al), "--core-loss", str(cl), "--out", str(tmp_path)]
    )
    assert res.exit_code == 1
    assert "Al_lowloss_ZLP_plasmon.dm3 has 1 pixels but coreloss.hspy has 31" in res.output
    res = runner.invoke(
        app,
        ["eels", "--core-loss", str(cl), "--reference", f"FeS={refs['S']}", "--out", str(tmp_path)],
    )
    assert res.exit_code == 1 and "NAME one of ['LiF', 'Li2S', 'Li2CO3', 'S']" in res.output
    res = runner.invoke(
        app, ["eels", "--core-loss", str(cl), "--edge-window", "Li_K=1,2", "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "NAME=bg_low,bg_high,int_low,int_high" in res.output
    res = runner.invoke(
        app,
        ["eels", "--core-loss", str(cl), "--background-method", "spline", "--out", str(tmp_path)],
    )
    assert res.exit_code == 1 and "--background-method must be one of" in res.output
    res = runner.invoke(
        app, ["eels", "--core-loss", str(cl), "--edges", "Zz_K", "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "edge 'Zz_K' unknown" in res.output


def test_warning_is_printed_not_fatal(tmp_path):
    lsmo = realdata_path(*EELS, "LSMO_linescan_coreloss.hspy")
    res = runner.invoke(
        app,
        [
            "eels",
            "--core-loss",
            str(lsmo),
            "--edges",
            "Mn_L23",
            "--edge-window",
            "Mn_L23=590,635,636,665",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "warning: background window (590.0, 635.0) eV" in res.output


# ------------------------------------------------------------------ study plug-in


def test_study_plugin_run_and_report(scan, tmp_path):
    from sulfurscope.study.analyses.eels import report_eels, run_eels
    from sulfurscope.study.registry import get_analysis

    sim, ll, cl, refs = scan
    tables = run_eels(
        {"low_loss": ll, "core_loss": cl, "reference_Li2S": refs["Li2S"]},
        {"edges": "Li_K,S_L23", "references": {"LiF": str(refs["LiF"])}},
    )
    assert set(tables) == {
        "eels_thickness",
        "eels_integrals",
        "eels_profile",
        "eels_spectrum",
        "eels_fingerprint",
    }
    np.testing.assert_allclose(tables["eels_thickness"]["t/lambda"], sim.t_over_lambda, rtol=0.03)
    prof = tables["eels_profile"]
    li = prof[prof["Edge"] == "Li_K"]["Normalised integral [counts]"].to_numpy()
    np.testing.assert_allclose(li, sim.integral_per_t[:, 0], rtol=0.03)
    store = {
        k: v.assign(Task="eels:scan", Sample="1um")[["Task", "Sample", *v.columns]]
        for k, v in tables.items()
    }
    secs = report_eels(store, tmp_path)
    assert len(secs) == 1 and "LiF" in secs[0].text
    assert all(p.exists() and p.stat().st_size > 1000 for p in secs[0].figures)
    assert {p.name for p in secs[0].figures} == {
        "eels_scan_profile.png",
        "eels_scan_core_loss.png",
    }
    a = get_analysis("eels")
    assert a.kind == "eels" and "eels_profile" in a.tables
    # low-loss only: t/λ figure, no profile
    only = run_eels({"low_loss": ll}, {})
    assert set(only) == {"eels_thickness", "eels_spectrum"}
    secs = report_eels(
        {k: v.assign(Task="t", Sample="")[["Task", "Sample", *v.columns]] for k, v in only.items()},
        tmp_path,
    )
    assert secs[0].figures[0].name == "t_thickness.png"
    assert report_eels({t: pd.DataFrame() for t in a.tables}, tmp_path) == []


def test_study_pipeline_end_to_end(tmp_path):
    """Manifest [[spectra]] kind = "eels" → store tables and a report section (real files)."""
    import sulfurscope.study.analyses.eels  # noqa: F401  (registers, until the lead lists it)
    from sulfurscope.study.pipeline import run_study

    ll = realdata_path(*EELS, "LSMO_linescan_lowloss.hspy")
    cl = realdata_path(*EELS, "LSMO_linescan_coreloss.hspy")
    sto = realdata_path(*EELS, "SrTiO3_coreloss_TiL_OK.dm3")
    manifest = tmp_path / "study.toml"
    manifest.write_text(
        f"""
[study]
title = "eels"

[[samples]]
name = "B"
carbon = "none"
particle_size = "unknown"

[[spectra]]
name = "lsmo"
sample = "B"
kind = "eels"
files = {{ low_loss = "{ll}", core_loss = "{cl}" }}
options = {{ edges = ["O_K", "Mn_L23"] }}

[[spectra]]
name = "sto"
sample = "B"
kind = "eels"
files = {{ core_loss = "{sto}" }}
options = {{ edges = ["Ti_L23", "O_K"], background_method = "two_area" }}

[model]
enabled = false
"""
    )
    res = run_study(manifest, tmp_path / "out", workers=1, errors="raise")
    assert res.failed == 0 and res.done == 2
    thick = pd.read_parquet(tmp_path / "out" / "tables" / "eels_thickness.parquet")
    assert list(thick.columns[:2]) == ["Task", "Sample"] and len(thick) == 40
    integ = pd.read_parquet(tmp_path / "out" / "tables" / "eels_integrals.parquet")
    assert set(integ["Edge"]) == {"O_K", "Mn_L23", "Ti_L23"}
    html = res.report.read_text(encoding="utf-8")
    assert "EELS line scan from the surface (lsmo)" in html and "(sto)" in html


def test_demo_helper_writes_simulated_files_and_recovers_truth(tmp_path):
    from sulfurscope.cli.eels import demo_eels

    res = demo_eels(tmp_path / "data", tmp_path / "out", rng=np.random.default_rng(11))
    assert (tmp_path / "data" / "SIMULATED_eels_low_loss.hspy").exists()
    assert len(list((tmp_path / "data").glob("SIMULATED_ref_*.msa"))) == 4
    truth = pd.read_csv(tmp_path / "out" / "eels_truth.csv")
    prof = pd.read_csv(tmp_path / "out" / "eels_profile.csv")
    np.testing.assert_allclose(prof["t/lambda"], truth["t/lambda"], rtol=0.03)
    np.testing.assert_allclose(
        prof["S_L23 integral/(t/lambda) [counts]"],
        truth["S_L23 integral/(t/lambda) [counts]"],
        rtol=0.03,
    )
    fp = pd.DataFrame(res["fingerprint"])
    assert fp.loc[(fp["Edge"] == "Li_K") & (fp["Pixel"] == 0), "Best"].item() == "LiF"
