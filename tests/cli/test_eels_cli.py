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


def _edge(prof, name):
    return prof[prof["Edge"] == name].reset_index(drop=True)


def test_line_scan_profile_recovers_truth(scan, tmp_path):
    sim, ll, cl, _ = scan
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        ["eels", "--low-loss", str(ll), "--core-loss", str(cl), "--edges", "Li_K,S_L23", "--out",
         str(out)],
    )
    assert res.exit_code == 0, res.output
    prof = pd.read_csv(out / "eels_profile.csv")
    for j, name in enumerate(sim.edge_names):
        e = _edge(prof, name)
        np.testing.assert_allclose(e["t/lambda"], sim.t_over_lambda, rtol=0.03)
        np.testing.assert_allclose(e["Normalised integral [counts]"], sim.integral_per_t[:, j],
                                   rtol=0.03)
        assert e["Normalised by t/lambda"].all() and (e["Window [points]"] == 5).all()
        assert e["Moving average [counts]"].notna().all()
    assert len(pd.read_parquet(out / "eels_profile.parquet")) == 2 * sim.position_nm.size
    for fig in ("fig3g_eels_profile_lowloss.png", "eels_core_loss_lowloss.png"):
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
    # the simulated Li profile is a sigmoid step at 100 nm on a 300 nm scan, not an exponential:
    # the depth metrics say so rather than report a clean 1/e depth
    codes = {f["code"] for f in data["inputs"][0]["flags"]}
    assert codes <= {"depth_background_not_reached", "depth_poor_fit", "depth_uncertain"}
    assert "depth_poor_fit" in codes
    assert data["figures_failed"] == []
    depth = pd.read_csv(tmp_path / "eels_depth.csv")
    assert list(depth["Edge"]) == ["Li_K"] and depth["Surface"].eq("start").all()
    integ = pd.read_csv(tmp_path / "eels_integrals.csv")
    assert list(dict.fromkeys(integ["Edge"])) == ["Li_K", "S_L23"]
    fp = pd.read_csv(tmp_path / "eels_fingerprint.csv")
    li = fp[fp["Edge"] == "Li_K"].set_index("Pixel")
    assert (li.loc[:3, "Best"] == "LiF").all()  # the LiF-rich surface
    assert (li.loc[25:, "Best"] == "Li2S").all()
    assert set(fp.loc[fp["Edge"] == "S_L23", "Best"]) == {"S"}
    assert (tmp_path / "eels_fingerprint_lowloss_Li_K.png").exists()


def test_core_loss_only_is_stated_unnormalised(scan, tmp_path):
    sim, _, cl, _ = scan
    res = runner.invoke(app, ["eels", "--core-loss", str(cl), "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert any(f["code"] == "not_normalised" for f in data["inputs"][0]["flags"])
    prof = pd.DataFrame(data["results"]["eels_profile"])
    li = _edge(prof, "Li_K")
    assert not li["Normalised by t/lambda"].any() and li["Moving average [counts]"].notna().all()
    assert li["t/lambda"].isna().all()


def test_edge_window_override(scan, tmp_path):
    _, _, cl, _ = scan
    res = runner.invoke(
        app,
        ["eels", "--core-loss", str(cl), "--edges", "Li_K", "--edge-windows", "Li_K=44,54,56,80",
         "--out", str(tmp_path), "--json"],
    )
    assert res.exit_code == 0, res.output
    integ = pd.read_csv(tmp_path / "eels_integrals.csv")
    assert (integ["Integral window low [eV]"] == 56.0).all()
    assert (integ["Integral window high [eV]"] == 80.0).all()


REAL_RUNS = {
    "Al low-loss only": (["--low-loss", "Al_lowloss_ZLP_plasmon.dm3"], ["eels_thickness.csv"]),
    "LSMO low-loss only": (
        ["--low-loss", "LSMO_linescan_lowloss.hspy"],
        ["eels_thickness.csv", "eels_thickness_*.png"],
    ),
    "LSMO pair": (
        ["--low-loss", "LSMO_linescan_lowloss.hspy", "--core-loss", "LSMO_linescan_coreloss.hspy",
         "--edges", "O_K,Mn_L23"],
        ["eels_profile.csv", "fig3g_eels_profile_*.png", "eels_integrals.csv"],
    ),
    "LSMO core-loss only": (
        ["--core-loss", "LSMO_linescan_coreloss.hspy", "--edges", "O_K"],
        ["eels_profile.csv"],
    ),
    "SrTiO3 core-loss": (
        ["--core-loss", "SrTiO3_coreloss_TiL_OK.dm3", "--edges", "Ti_L23,O_K"],
        ["eels_integrals.csv", "eels_core_loss_*.png"],
    ),
    "DM4 SI core-loss": (
        ["--core-loss", "EELS_SI_2x2_coreloss.dm4", "--edges", "O_K", "--background-method",
         "two_area"],
        ["eels_integrals.csv"],
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
        assert list(tmp_path.glob(f)), f
    if "--low-loss" in argv and "LSMO" in " ".join(argv):
        tl = pd.read_csv(tmp_path / "eels_thickness.csv")["t/lambda"]
        assert tl.iloc[0] == pytest.approx(0.39, abs=0.03)
        assert tl.iloc[-1] == pytest.approx(0.69, abs=0.03)
    if "--core-loss" in argv:
        integ = pd.read_csv(tmp_path / "eels_integrals.csv")
        assert (integ["Integral [counts]"] > 0).all()


def test_errors(scan, tmp_path):
    sim, ll, cl, refs = scan
    res = runner.invoke(app, ["eels", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "give --low-loss FILE, --core-loss FILE or both" in res.output
    lsmo = realdata_path(*EELS, "LSMO_linescan_coreloss.hspy")
    res = runner.invoke(app, ["eels", "--core-loss", str(lsmo), "--edges", "Li_K",
                              "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "LSMO_linescan_coreloss.hspy" in res.output and "Li_K integral window" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["eels", "--low-loss", str(lsmo), "--out", str(tmp_path)])
    assert res.exit_code == 1 and "LSMO_linescan_coreloss.hspy" in res.output
    assert "ZLP" in res.output
    al = realdata_path(*EELS, "Al_lowloss_ZLP_plasmon.dm3")
    res = runner.invoke(
        app, ["eels", "--low-loss", str(al), "--core-loss", str(cl), "--out", str(tmp_path)]
    )
    assert res.exit_code == 1
    assert "low-loss scan has 1 pixels but the core-loss scan has 31" in res.output
    assert "Al_lowloss_ZLP_plasmon.dm3" in res.output
    res = runner.invoke(
        app,
        ["eels", "--core-loss", str(cl), "--reference", f"FeS={refs['S']}", "--out", str(tmp_path)],
    )
    assert res.exit_code == 2 and "SLOT one of ['LiF', 'Li2S', 'Li2CO3', 'S']" in res.output
    res = runner.invoke(
        app, ["eels", "--core-loss", str(cl), "--edge-windows", "Li_K=1,2", "--out", str(tmp_path)]
    )
    assert res.exit_code == 2 and "NAME=bg_low,bg_high,int_low,int_high" in res.output
    res = runner.invoke(
        app,
        ["eels", "--core-loss", str(cl), "--background-method", "spline", "--out", str(tmp_path)],
    )
    assert res.exit_code == 2 and "--background-method" in res.output
    res = runner.invoke(
        app, ["eels", "--core-loss", str(cl), "--edges", "Zz_K", "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "edge 'Zz_K' unknown" in res.output


def test_warning_is_printed_not_fatal(tmp_path):
    lsmo = realdata_path(*EELS, "LSMO_linescan_coreloss.hspy")
    res = runner.invoke(
        app,
        ["eels", "--core-loss", str(lsmo), "--edges", "Mn_L23", "--edge-windows",
         "Mn_L23=590,635,636,665", "--out", str(tmp_path)],
    )
    assert res.exit_code == 0, res.output
    assert "warning: " in res.output and "background window (590.0, 635.0) eV" in res.output


# ------------------------------------------------------------------ the pipeline's EELS step


def test_study_plugin_run_and_report(scan, tmp_path):
    from sulfurscope.analysis import tables_of
    from sulfurscope.study.builtin import builtin_report, builtin_run
    from sulfurscope.study.registry import get_analysis

    sim, ll, cl, refs = scan
    tables = dict(
        builtin_run(
            "eels",
            {"low_loss": ll, "core_loss": cl, "reference_Li2S": refs["Li2S"],
             "reference_LiF": refs["LiF"]},
            {"edges": "Li_K,S_L23"},
        ).tables
    )
    assert set(tables) == set(tables_of("eels"))
    np.testing.assert_allclose(tables["eels_thickness"]["t/lambda"], sim.t_over_lambda, rtol=0.03)
    prof = tables["eels_profile"]
    li = prof[prof["Edge"] == "Li_K"]["Normalised integral [counts]"].to_numpy()
    np.testing.assert_allclose(li, sim.integral_per_t[:, 0], rtol=0.03)
    store = {
        k: v.assign(Task="eels:scan", Sample="1um")[["Task", "Sample", *v.columns]]
        for k, v in tables.items()
    }
    secs = builtin_report("eels", store, tmp_path)
    assert len(secs) == 1 and "Fingerprint" in secs[0].tables[-1][0]
    assert all(p.exists() and p.stat().st_size > 1000 for p in secs[0].figures)
    assert {"fig3g_eels_profile_eels_scan.png", "eels_core_loss_eels_scan.png",
            "eels_fingerprint_eels_scan_Li_K.png"} <= {p.name for p in secs[0].figures}
    a = get_analysis("eels")
    assert a.kind == "eels" and "eels_profile" in a.tables
    # low-loss only: t/λ figure, no profile
    only = dict(builtin_run("eels", {"low_loss": ll}, {}).tables)
    assert set(only) == {"eels_thickness", "eels_spectrum"}
    secs = builtin_report(
        "eels",
        {k: v.assign(Task="t", Sample="")[["Task", "Sample", *v.columns]] for k, v in only.items()},
        tmp_path,
    )
    assert secs[0].figures[0].name == "eels_thickness_t.png"
    assert builtin_report("eels", {t: pd.DataFrame() for t in a.tables}, tmp_path) == []


def test_study_pipeline_end_to_end(tmp_path):
    """Manifest [[spectra]] kind = "eels" → store tables and a report section (real files)."""
    from sulfurscope.study.pipeline import run_study

    ll = realdata_path(*EELS, "LSMO_linescan_lowloss.hspy")
    cl = realdata_path(*EELS, "LSMO_linescan_coreloss.hspy")
    sto = realdata_path(*EELS, "SrTiO3_coreloss_TiL_OK.dm3")
    manifest = tmp_path / "study.toml"
    manifest.write_text(
        f"""
[study]
title = "eels"
data_roots = ["{ll.parent}"]

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
    assert "EELS line scans from the surface" in html
    assert "fig3g_eels_profile_lsmo.png" in html and "eels_core_loss_sto.png" in html


def test_default_edges_only_where_the_spectrum_covers_them(tmp_path):
    """A real SrTiO3 core-loss spectrum (350–862 eV) lies outside the default Li K / S L2,3
    windows: the edges of the table inside its axis are integrated instead (Ti L2,3 and O K among
    them), with a note; edges the user names are used as named (outside the axis: an error)."""
    path = realdata_path("spectro", "eels", "SrTiO3_coreloss_TiL_OK.dm3")
    res = runner.invoke(app, ["eels", "--core-loss", str(path), "--out", str(tmp_path / "a"), "--json"])
    assert res.exit_code == 0, res.output
    codes = [f["code"] for f in json.loads(res.stdout)["inputs"][0]["flags"]]
    assert "edges_defaulted" in codes
    edges = set(pd.read_csv(tmp_path / "a" / "eels_integrals.csv")["Edge"])
    assert {"Ti_L23", "O_K"} <= edges and not edges & {"Li_K", "S_L23"}
    res = runner.invoke(app, ["eels", "--core-loss", str(path), "--edges", "Li_K",
                              "--out", str(tmp_path / "b")])
    assert res.exit_code == 1 and "Li_K integral window" in res.output
