"""``sulfurscope gitt`` end to end (typer CliRunner) on simulated and real files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.io import write_mpt
from sulfurscope.simulate.gitt import gitt_tau_s, simulate_gitt
from tests.conftest import realdata_path

runner = CliRunner()


def _file(tmp_path, size: float):
    frame = simulate_gitt(
        particle_size_um=size,
        sulfur_mass_mg=2.0,
        rng=np.random.default_rng(int(size)),
        n_half_cycles=2,
    )
    return write_mpt(frame, tmp_path / f"gitt_{size:g}um.mpt")


def test_gitt_writes_tables_figures_and_scaling(tmp_path):
    files = [_file(tmp_path, s) for s in (1.0, 4.0, 8.0)]
    out = tmp_path / "out"
    args = ["gitt", *map(str, files), "--sulfur-mass-mg", "2.0", "--out", str(out)]
    for s in ("1", "4", "8"):
        args += ["--particle-size-um", s]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "v0_convention = first_rest_point" in res.output
    csv = pd.read_csv(out / "gitt_steps.csv")
    pq = pd.read_parquet(out / "gitt_steps.parquet")
    assert len(csv) == len(pq) > 0
    for f, size in zip(files, (1.0, 4.0, 8.0), strict=True):
        steps = csv[csv["Task"] == f.stem]
        assert len(steps) > 0
        assert (steps["V0 convention"] == "first_rest_point").all()
        first = steps["Half cycle label"] == "first discharge"
        np.testing.assert_allclose(steps.loc[first, "Tau [s]"], gitt_tau_s(size, 1), rtol=0.05)
    for fig in ("fig2af_gitt_voltage.png", "fig2gi_relaxation_times.png", "figS4_relaxation.png"):
        assert (out / fig).stat().st_size > 1000
    scaling = pd.read_csv(out / "gitt_scaling.csv").set_index("Half cycle label")
    assert scaling.loc["first discharge", "Exponent n"] == pytest.approx(2.0, abs=0.1)
    assert abs(scaling.loc["first charge", "Exponent n"]) < 0.1
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporaries


@pytest.mark.parametrize("v0", ["last_under_current", "first_rest_point"])
def test_gitt_json_prints_the_step_table(tmp_path, v0):
    f = _file(tmp_path, 4.0)
    res = runner.invoke(
        app,
        ["gitt", str(f), "--sulfur-mass-mg", "2", "--out", str(tmp_path / "o"), "--v0", v0,
         "--json"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    summary = doc["inputs"][0]["summary"]
    assert summary["v0_convention"] == v0
    steps = doc["results"]["gitt_steps"]
    assert summary["pulses"] == len(steps) == summary["rests"]
    assert {"CCV [V]", "QOCV [V]", "Tau [s]", "Specific capacity [mAh/g]"} <= set(steps[0])
    assert doc["inputs"][0]["provenance"]["options"]["v0"] == v0


def test_gitt_errors_are_one_line(tmp_path):
    f = _file(tmp_path, 4.0)
    res = runner.invoke(
        app,
        ["gitt", str(f), "--sulfur-mass-mg", "2", "--v0", "middle", "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 2
    assert "--v0" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(
        app,
        ["gitt", str(f), str(f), "--sulfur-mass-mg", "1", "--sulfur-mass-mg", "2",
         "--sulfur-mass-mg", "3", "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 2 and "once per input" in res.output
    # without a sulfur mass nothing specific is computed (never a default mass)
    res = runner.invoke(app, ["gitt", str(f), "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert "Specific capacity [mAh/g]" not in doc["results"]["gitt_steps"][0]
    assert any(f["code"] == "no_sulfur_mass" for f in doc["inputs"][0]["flags"])


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "pulses"),
    [
        ("biologic_gcpl_30min_rest_C04.mpr", 53),
        ("biologic_mb_geis_pulse_ocvrelax_biol.mpr", 4),
        ("biologic_mp_pulse_rest_issue183.mpr", 8),
        ("arbin_cycling_navani_example.res", 8),
        ("maccor_diag_xTESLADIAG_000019_CH70.070", 62),
        ("neware_navani_test.nda", 3),
    ],
)
def test_gitt_cli_on_real_pulse_files(tmp_path, name, pulses):
    path = realdata_path("echem", name)
    res = runner.invoke(
        app, ["gitt", str(path), "--sulfur-mass-mg", "1.0", "--out", str(tmp_path), "--json"]
    )
    assert res.exit_code in (0, 3), res.output  # 3: some rest never relaxed far enough (flagged)
    assert json.loads(res.stdout)["inputs"][0]["summary"]["pulses"] == pulses


def test_gitt_particles_tables(tmp_path):
    files = [_file(tmp_path, s) for s in (1.0, 4.0)]
    rng = np.random.default_rng(3)
    tables = []
    for size in (1.0, 4.0):
        path = tmp_path / f"particles_{size:g}.csv"
        pd.DataFrame({"Equivalent diameter [um]": size * (1 + 0.3 * rng.standard_normal(60)).clip(0.2)}
                     ).to_csv(path, index=False)
        tables += ["--particles", str(path)]
    base = ["gitt", *map(str, files), "--sulfur-mass-mg", "2.0"]
    sizes = ["--particle-size-um", "1", "--particle-size-um", "4"]
    # --particles without sizes would be ignored: refused, before any analysis
    res = runner.invoke(app, [*base, *tables, "--out", str(tmp_path / "a")])
    assert res.exit_code == 2 and "--particle-size-um" in res.output
    # not a particle table: one line naming the file and the column
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"Area": [1.0] * 20}).to_csv(bad, index=False)
    res = runner.invoke(app, [*base, *sizes, "--particles", str(bad), "--particles", str(bad),
                              "--out", str(tmp_path / "b")])
    assert res.exit_code != 0 and "bad.csv" in res.output and "Equivalent diameter" in res.output
    assert "Traceback" not in res.output
    # the size distributions are used: D read through them, the mean-size reading kept beside
    res = runner.invoke(app, [*base, *sizes, *tables, "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    d = pd.read_csv(tmp_path / "c" / "gitt_diffusivity.csv")
    assert d["Size model"].str.startswith("SEM distribution").all()
    assert "D single size [m2/s]" in d.columns
