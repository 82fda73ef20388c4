"""``sulfurscope raman`` end to end (typer CliRunner), figures, and the study plug-in functions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.io.raman import write_raman_text
from sulfurscope.simulate.raman import DISORDERED_CARBON_BANDS, simulate_raman, simulate_raman_line
from sulfurscope.study.builtin import builtin_report, builtin_run
from tests.conftest import realdata_path

runner = CliRunner()
X = np.linspace(900.0, 2100.0, 700)
BANDS = [dict(b, height=10 * b["height"]) for b in DISORDERED_CARBON_BANDS]


def _single(tmp_path):
    y = simulate_raman(X, BANDS, baseline=(3000.0, 400.0), noise="poisson", n_spikes=2, rng=3)
    return write_raman_text(tmp_path / "carbon_1um.txt", X, y, header="simulated data")


def _line(tmp_path, n=4):
    y = simulate_raman_line(
        X, np.linspace(1.0, 2.0, n), bands=BANDS, baseline=(3000.0, 400.0), rng=4
    )
    return write_raman_text(tmp_path / "line.txt", X, y, header="simulated data")


def test_cli_single_spectrum_tables_figures_json(tmp_path):
    f = _single(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(app, ["raman", str(f), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    summary = d["inputs"][0]["summary"]
    assert summary["spectra"] == 1 and summary["format"] == "text"
    rows = d["results"]["raman_summary"]
    assert {r["Model"] for r in rows} == {"two-band", "sadezky"}
    true_h = 400.0 / 260.0
    sadezky = next(r for r in rows if r["Model"] == "sadezky")
    assert sadezky["I_D/I_G (height)"] == pytest.approx(true_h, rel=0.1)
    for name in ("raman_summary", "raman_bands", "raman_curves"):
        csv = pd.read_csv(out / f"{name}.csv")
        pq = pd.read_parquet(out / f"{name}.parquet")
        assert len(csv) == len(pq) > 0
    s = pd.read_csv(out / "raman_summary.csv")
    assert {"I_D/I_G (height)", "I_D/I_G (area)", "D position [1/cm]", "G FWHM [1/cm]"} <= set(s)
    for fig in d["figures"]:
        assert (out / fig.split("/")[-1]).stat().st_size > 5000
    assert not list(out.glob(".*.tmp"))


def test_cli_line_file_one_model_text_output(tmp_path):
    f = _line(tmp_path)
    out = tmp_path / "o"
    res = runner.invoke(app, ["raman", str(f), "--out", str(out), "--models", "two-band"])
    assert res.exit_code == 0, res.output
    assert "spectra = 4" in res.output
    s = pd.read_parquet(out / "raman_summary.parquet")
    assert sorted(s["Spectrum"]) == [-1, 0, 1, 2, 3]
    assert (out / "raman_line_two-band_line.png").exists()
    assert (out / "raman_fit_line_two-band.png").exists()
    assert not (out / "raman_fit_line_sadezky.png").exists()


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--models", "three"], "--models", 2),
        (["--baseline", "spline"], "--baseline", 2),
        (["--shift-range-cm1", "3000"], "--shift-range-cm1: expected 2 values", 2),
        (["--shift-range-cm1", "3000,3500"], "--shift-range-cm1", 1),
    ],
)
def test_cli_bad_options_one_line_error(tmp_path, args, message, code):
    f = _single(tmp_path)
    res = runner.invoke(app, ["raman", str(f), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == code, res.output
    assert message in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_cli_bad_file_one_line_error(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_text("")
    res = runner.invoke(app, ["raman", str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "empty.txt: empty" in res.output
    p2 = tmp_path / "rev.txt"
    p2.write_text("1000\t1\n1001\t2\n1001\t3\n1002\t4\n")
    res = runner.invoke(app, ["raman", str(p2), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "rev.txt: Raman shift axis" in res.output


@pytest.mark.parametrize(
    "parts",
    [
        ("spectro", "raman", "disordered_carbon_DG_DW38C_pos1.txt"),
        ("spectro", "raman", "Renishaw_532nm_carbon_DG_235spectra.wdf"),
    ],
)
def test_cli_real_files(tmp_path, parts):
    f = realdata_path(*parts)
    args = ["raman", str(f), "--out", str(tmp_path), "--json"]
    if f.suffix == ".wdf":
        args += ["--models", "two-band"]  # the five-band line fit is exercised in the benchmark
    res = runner.invoke(app, args)
    assert res.exit_code in (0, 3), res.output  # 3: some spectra of a map could not be fitted
    s = pd.read_parquet(tmp_path / "raman_summary.parquet")
    if f.suffix == ".txt":
        assert res.exit_code == 0, res.output
        fit = s[s["Model"] == "sadezky"].iloc[0]
        assert fit["I_D/I_G (height)"] == pytest.approx(1.6, abs=0.1)  # data README
        assert fit["I_D/I_G (area)"] / fit["I_D/I_G (height)"] == pytest.approx(2.6, abs=0.3)
    else:
        d = json.loads(res.stdout)
        assert d["inputs"][0]["summary"]["spectra"] == 235
        per = s[s["Spectrum"] >= 0]
        assert len(per) == 235 and per["Success"].sum() > 200
        assert "Distance [µm]" in s.columns
        assert s.loc[~s["Success"], "Message"].str.len().gt(0).all()  # failures say why
        failed = [f for f in d["inputs"][0]["flags"] if f["code"] == "fit_failed"]
        assert len(failed) == int((~s["Success"]).any())  # failures are flagged


# ---------------------------------------------------------------- study plug-in
def test_study_plugin_run_and_report(tmp_path):
    f1, f2 = _single(tmp_path), _line(tmp_path)
    t1 = builtin_run("raman", {"file": f1}, {"models": ["sadezky"]}).tables
    t2 = builtin_run(
        "raman", {"file": f2}, {"models": ["sadezky"], "shift_range_cm1": [950, 2050]}
    ).tables
    assert set(t1) == {"raman_summary", "raman_bands", "raman_curves"}
    stored = {}
    for name in t1:
        parts = []
        for task, t in (("carbon_1um", t1), ("line", t2)):
            frame = t[name].copy()
            frame.insert(0, "Sample", task)
            frame.insert(0, "Task", task)
            parts.append(frame)
        stored[name] = pd.concat(parts, ignore_index=True)
    figdir = tmp_path / "fig"
    figdir.mkdir()
    sections = builtin_report("raman", stored, figdir)
    assert len(sections) == 1
    sec = sections[0]
    assert "HEIGHT" in sec.text and "AREA" in sec.text
    names = {p.name for p in sec.figures}
    assert {
        "figS1_raman.png",
        "raman_fit_carbon_1um_sadezky.png",
        "raman_line_sadezky_line.png",
    } <= names
    table = sec.tables[0][1]
    assert list(table["Spectrum"]) == [0, -1]  # the single spectrum; the line's mean spectrum
    assert table["I_D/I_G (height)"].iloc[0] == pytest.approx(400.0 / 260.0, rel=0.1)


def test_study_plugin_empty_and_errors(tmp_path):
    empty = {"raman_summary": pd.DataFrame(), "raman_curves": pd.DataFrame()}
    assert builtin_report("raman", empty, tmp_path) == []
    f = _single(tmp_path)
    from sulfurscope.errors import SulfurscopeError

    with pytest.raises(SulfurscopeError, match="colour: unknown option"):
        builtin_run("raman", {"file": f}, {"colour": "red"})
    with pytest.raises(SulfurscopeError, match="models: unknown value"):
        builtin_run("raman", {"file": f}, {"models": ["x"]})
    with pytest.raises(SulfurscopeError, match="needs files"):
        builtin_run("raman", {"low_loss": f}, {})


def test_study_plugin_registered():
    from sulfurscope.study.registry import get_analysis

    a = get_analysis("raman")
    assert a.kind == "raman"
    assert tuple(a.tables) == ("raman_summary", "raman_bands", "raman_curves")


def test_demo_files_round_trip_through_cli(tmp_path):
    from sulfurscope.simulate.raman import write_demo_raman

    paths = write_demo_raman(tmp_path, {"1um": 1.65, "8um": 1.45}, rng=1)
    got = {}
    for label, p in paths.items():
        assert "SIMULATED DATA" in p.read_text().splitlines()[0]
        res = runner.invoke(
            app, ["raman", str(p), "--out", str(tmp_path / "o"), "--models", "sadezky", "--json"]
        )
        assert res.exit_code == 0, res.output
        rows = json.loads(res.stdout)["results"]["raman_summary"]
        got[label] = rows[0]["I_D/I_G (height)"]
    assert got["1um"] == pytest.approx(1.65, rel=0.1)
    assert got["8um"] == pytest.approx(1.45, rel=0.1)
