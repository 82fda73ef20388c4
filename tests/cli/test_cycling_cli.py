"""``sulfurscope cycling`` end to end: tables, figures, JSON, mass routes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.io import write_mpt
from sulfurscope.simulate.cycling import rate_test_schedule, simulate_run
from tests.conftest import realdata_path

runner = CliRunner()


def _file(tmp_path, name="cell.mpt", mass=2.0):
    law = lambda c, r, d: 700 * (1 - 0.5 * r)  # noqa: E731
    frame = simulate_run(
        rate_test_schedule(law, cycles_per_rate=2), sulfur_mass_mg=mass, points_per_half_cycle=40
    )
    return write_mpt(frame, tmp_path / name)


def _cycles(doc, task=None):
    rows = doc["results"]["cycling_cycles"]
    return [r for r in rows if task is None or r["Task"] == task]


def test_cycling_writes_tables_and_figures(tmp_path) -> None:
    f1, f2 = _file(tmp_path, "a.mpt"), _file(tmp_path, "b.mpt")
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["cycling", str(f1), str(f2), "--sulfur-mass-mg", "2.0", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    s = pd.read_parquet(out / "cycling_cycles.parquet")
    rc = pd.read_csv(out / "cycling_rate_blocks.csv")
    for stem in ("a", "b"):
        t = s[s["Task"] == stem]
        np.testing.assert_allclose(
            t["Discharge capacity [mAh/g]"].iloc[1:3], 700 * (1 - 0.5 / 40), rtol=5e-3
        )
        labels = list(rc.loc[rc["Task"] == stem, "Label"])
        assert labels == ["C/10", "C/40", "C/20", "C/10", "C/5", "C/2.5"]
    for fig in ("fig1d_voltage_profiles.png", "fig1e_rate_capability.png", "dqdv.png"):
        assert (out / fig).stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert [i["task"] for i in summary["inputs"]] == ["a", "b"]
    assert summary["inputs"][0]["provenance"]["inputs"][0]["name"] == "a.mpt"


def test_cycling_json_and_loading(tmp_path) -> None:
    f = _file(tmp_path, mass=2.0 * 1.32)
    res = runner.invoke(
        app, ["cycling", str(f), "--loading-mg-cm2", "2.0", "--out", str(tmp_path / "o"), "--json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    cycles = _cycles(doc)
    assert cycles[0]["Sulfur mass [mg]"] == pytest.approx(2.64)
    assert cycles[0]["Mass source"] == "loading"
    assert cycles[1]["Discharge capacity [mAh/g]"] == pytest.approx(700 * (1 - 0.5 / 40), rel=5e-3)
    assert doc["results"]["cycling_rate_blocks"][-1]["Label"] == "C/2.5"


def test_cycling_without_mass_refuses_specific_but_runs(tmp_path) -> None:
    f = _file(tmp_path)
    res = runner.invoke(app, ["cycling", str(f), "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert "Discharge capacity [mAh/g]" not in _cycles(doc)[0]
    flags = doc["inputs"][0]["flags"]
    assert any(f["code"] == "no_sulfur_mass" and "sulfur mass" in f["message"] for f in flags)


def test_cycling_errors_are_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.mpr"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    res = runner.invoke(app, ["cycling", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "bad.mpr" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    f = _file(tmp_path)
    res = runner.invoke(app, ["cycling", str(f), "--sulfur-mass-mg", "1", "--loading-mg-cm2", "2"])
    assert res.exit_code == 1 and "one way only" in res.output


def test_one_bad_file_among_good_ones_completes_with_failures(tmp_path) -> None:
    bad = tmp_path / "bad.mpt"
    bad.write_bytes(b"EC-Lab ASCII FILE\r\nNb header lines : 40\r\ngarbage")
    good = _file(tmp_path, "good.mpt")
    out = tmp_path / "o"
    res = runner.invoke(app, ["cycling", str(bad), str(good), "--sulfur-mass-mg", "2", "--out", str(out)])
    assert res.exit_code == 3, res.output
    assert "bad.mpt" in res.output and "1 input(s) not analysed" in res.output
    assert set(pd.read_csv(out / "cycling_cycles.csv")["Task"]) == {"good"}


@pytest.mark.realdata
def test_cycling_cli_on_real_files(tmp_path) -> None:
    files = [
        realdata_path("echem", "biologic_gcpl_NaHC_halfcell_pr182_1.mpr"),
        realdata_path("echem", "arbin_cycling_navani_example.res"),
        realdata_path("echem", "neware_cccv_5cycles_nw4-120-6-1-36.ndax"),
        realdata_path("echem", "maccor_diag_xTESLADIAG_000019_CH70.070"),
    ]
    res = runner.invoke(
        app,
        ["cycling", *map(str, files), "--sulfur-mass-mg", "6.52", "--out", str(tmp_path), "--json"],
    )
    assert res.exit_code in (0, 3), res.output  # 3: an estimate (e.g. a retention fit) failed
    doc = json.loads(res.stdout)
    assert doc["errors"] == []
    formats = {r["Task"]: r["Format"] for r in _cycles(doc)}
    assert [formats[p.stem] for p in files] == ["biologic-mpr", "arbin-res", "neware", "maccor"]


def test_cycling_mass_from_composite_and_tga(tmp_path) -> None:
    # TGA export with a 49.0 wt% sulfur step; composite 5.0 mg -> 2.45 mg sulfur
    t = np.linspace(30.0, 600.0, 400)
    m = 100.0 - 49.0 / (1 + np.exp(-(t - 280.0) / 10.0))
    tga = tmp_path / "tga.txt"
    tga.write_text(
        "##Temp./°C;Mass/%\n" + "\n".join(f"{a:.2f};{b:.4f}" for a, b in zip(t, m, strict=True))
    )
    f = _file(tmp_path, mass=2.45)
    res = runner.invoke(
        app,
        [
            "cycling",
            str(f),
            "--composite-mass-mg",
            "5.0",
            "--tga",
            str(tga),
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    cycles = _cycles(json.loads(res.stdout))
    assert cycles[0]["Mass source"] == "composite"
    assert cycles[0]["Sulfur mass [mg]"] == pytest.approx(2.45, rel=3e-3)
    assert cycles[1]["Discharge capacity [mAh/g]"] == pytest.approx(
        700 * (1 - 0.5 / 40), rel=6e-3
    )
    res = runner.invoke(
        app, ["cycling", str(f), "--composite-mass-mg", "5.0", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 1 and "--composite-mass-mg and --sulfur-fraction" in res.output


@pytest.mark.realdata
@pytest.mark.parametrize("command", ["cycling", "gitt"])
def test_impedance_only_file_is_refused_not_cycled(tmp_path, command) -> None:
    """A BioLogic PEIS file holds frequency sweeps; read as cycles it gave 'cycles = 4'. The
    cycling and GITT analyses refuse it with a one-line error naming the file and the technique."""
    path = realdata_path("echem", "biologic_peis_aurora.mpr")
    res = runner.invoke(app, [command, str(path), "--sulfur-mass-mg", "1", "--out", str(tmp_path / "o")])
    assert res.exit_code == 1, res.output
    assert "biologic_peis_aurora.mpr" in res.output and "impedance spectra only" in res.output
    assert "PEIS" in res.output and "Traceback" not in res.output


def test_mixed_file_with_impedance_points_is_still_cycled() -> None:
    """Only files that are impedance throughout are refused: a modulo-bat sequence with some EIS
    points between galvanostatic steps keeps its cycles."""
    from sulfurscope.analysis._common import _refuse_impedance_only

    frame = pd.DataFrame({"Frequency [Hz]": [0.0, 1e3, 10.0, 0.0]})
    _refuse_impedance_only(Path("x.mpr"), frame, {"technique": "MB"})  # no raise
    with pytest.raises(Exception, match="every point carries a frequency"):
        _refuse_impedance_only(Path("x.mpr"), frame.iloc[1:3], {})
