"""``sulfurscope xps`` end to end (typer CliRunner) and the pipeline's XPS step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.io.xps import write_vamas
from sulfurscope.simulate.xps import S2P_STUDY_AREAS, simulate_xps
from tests.conftest import realdata_path

runner = CliRunner()
REAL = [
    "PHI_Quantum2000_F1s_survey_test0.spe",
    "PHI_Quantum2000_F1s_survey_test1.spe",
    "PHI_VersaProbe4_depthprofile_C1s_Si2p_Sn3d5.pro",
    "PHI_VersaProbeII_Multipak_C1s_Mo3d_N1s_O1s_S2p.npl",
]


def _vms(tmp_path: Path) -> Path:
    return write_vamas(
        [simulate_xps(rng=0, dwell_s=20.0)], tmp_path / "sim_S2p.vms", axis="kinetic"
    )


def test_xps_writes_tables_and_figures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        ["xps", str(_vms(tmp_path)), "--region", "S 2p", "--components", "S2p/paper", "--out",
         str(out), "--json"],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["inputs"][0]["summary"]["regions_fitted"] == ["S 2p"]
    comps = pd.read_parquet(out / "xps_components.parquet")
    assert list(comps["Component"]) == list(S2P_STUDY_AREAS)
    truth = np.array(list(S2P_STUDY_AREAS.values()))
    np.testing.assert_allclose(comps["Area [%]"], 100 * truth / truth.sum(), atol=1.0)
    quant = pd.read_csv(out / "xps_quantification.csv").set_index("Quantity")
    assert quant.loc["Reduced sulfur [%]", "Value [%]"] == pytest.approx(33, abs=1.5)
    assert (out / "fig4_xps_sim_S2p_S_2p.png").stat().st_size > 10_000
    assert (out / "xps_curves.csv").exists()
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_xps_monte_carlo_columns(tmp_path: Path) -> None:
    out = tmp_path / "mc"
    res = runner.invoke(
        app,
        ["xps", str(_vms(tmp_path)), "--out", str(out), "--mc-replicas", "5",
         "--background-mode", "subtract"],
    )
    assert res.exit_code == 0, res.output
    assert "S 2p" in res.stdout
    comps = pd.read_csv(out / "xps_components.csv")
    assert comps["Area MC std"].notna().all()


@pytest.mark.parametrize(
    ("args", "match", "code"),
    [
        (["--region", "Zr 3d"], "no region 'Zr 3d'", 1),
        (["--components", "Q 9z/paper", "--region", "S 2p"], "unknown component library", 1),
        (["--background", "spline"], "--background", 2),
        (["--background-mode", "both"], "--background-mode", 2),
        (["--mc-replicas", "-3"], "--mc-replicas", 2),
    ],
)
def test_errors_are_one_line(tmp_path: Path, args: list[str], match: str, code: int) -> None:
    res = runner.invoke(app, ["xps", str(_vms(tmp_path)), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == code, res.output
    assert match in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_unreadable_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npl"
    bad.write_text("not vamas\n")
    res = runner.invoke(app, ["xps", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "not a VAMAS file" in res.output


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL)
def test_every_real_file_reads_and_fits(tmp_path: Path, name: str) -> None:
    out = tmp_path / "real"
    res = runner.invoke(
        app, ["xps", str(realdata_path("spectro", "xps", name)), "--out", str(out), "--json"]
    )
    assert res.exit_code in (0, 3), res.output
    payload = json.loads(res.stdout)
    assert payload["inputs"][0]["summary"]["regions_fitted"], payload["inputs"][0]["flags"]
    assert payload["figures"] and payload["figures_failed"] == []


# ----------------------------------------------------------------- the pipeline's XPS step


def test_pipeline_step_run_and_report(tmp_path: Path) -> None:
    from sulfurscope.analysis import AnalysisResult
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.study.builtin import builtin_report, builtin_run

    res = builtin_run("xps", {"file": _vms(tmp_path)}, {"region": "S 2p", "background_mode": "model"})
    assert isinstance(res, AnalysisResult)
    assert {"xps_components", "xps_curves", "xps_quantification"} <= set(res.tables)
    stored = {}
    for name, t in res.tables.items():
        t = t.copy()
        t.insert(0, "Task", "xps_8um")
        t.insert(1, "Sample", "AC-S_8um")
        stored[name] = t
    figdir = tmp_path / "fig"
    figdir.mkdir()
    sections = builtin_report("xps", stored, figdir)
    assert len(sections) == 1 and sections[0].figures
    assert all(Path(f).exists() for f in sections[0].figures)
    assert builtin_report("xps", {k: pd.DataFrame() for k in stored}, figdir) == []
    with pytest.raises(SulfurscopeError, match="unknown option"):
        builtin_run("xps", {"file": _vms(tmp_path)}, {"regoin": "S 2p"})


def test_pipeline_step_is_registered() -> None:
    from sulfurscope.analysis import tables_of
    from sulfurscope.study import registry

    a = registry.get_analysis("xps")
    assert a.kind == "xps"
    assert tuple(a.tables) == tables_of("xps")
    assert {"xps_components", "xps_curves", "xps_quantification"} <= set(a.tables)
