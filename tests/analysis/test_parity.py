"""One analysis, one implementation: for every analysis, the CLI's output tables equal the study
pipeline's stored tables for the same input and options (same rows, same values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sulfurscope.analysis import tables_of
from sulfurscope.cli import app
from sulfurscope.study import store
from sulfurscope.study.pipeline import run_study
from tests.conftest import realdata_path
from tests.study._synth import add_images, make_study

runner = CliRunner()
EELS = ("spectro", "eels")

SPECTRA = """
[[spectra]]
name = "xps_npl"
sample = "big"
kind = "xps"
file = "{xps}"
options = {{ region = "S 2p", shift_ev = 0.2 }}

[[spectra]]
name = "raman_txt"
sample = "big"
kind = "raman"
file = "{raman}"
options = {{ models = ["sadezky"], baseline = "asls" }}

[[spectra]]
name = "eds_jeol"
sample = "big"
kind = "eds"
files = {{ project = "{eds}" }}
options = {{ lines = ["S_Ka", "Fe_Ka"], downsample = 4, moving_average_points = 3 }}

[[spectra]]
name = "eels_lsmo"
sample = "big"
kind = "eels"
files = {{ low_loss = "{ll}", core_loss = "{cl}" }}
options = {{ edges = ["O_K", "Mn_L23"], background_method = "two_area" }}
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A study with every kind of input, analysed once by the pipeline."""
    folder = tmp_path_factory.mktemp("parity")
    manifest = make_study(folder)
    add_images(folder, manifest)
    t = np.linspace(25.0, 600.0, 800)
    mass = 100.0 - 49.0 / (1.0 + np.exp(-(t - 280.0) / 20.0))
    pd.DataFrame({"Temperature [°C]": t, "Mass [%]": mass}).to_csv(
        folder / "raw" / "tga_big.csv", index=False
    )
    text = manifest.read_text().replace(
        "particle_size_um = 8.0\nsulfur_fraction = 0.49",
        'particle_size_um = 8.0\ntga = "raw/tga_big.csv"',
    )
    text = text.replace('protocol = "gitt"\nsulfur_mass_mg = 2.0', 'protocol = "gitt"\n'
                        'sulfur_mass_mg = 2.0\noptions = { v0 = "last_under_current" }')
    text = text.replace(  # the real files are read where they are: declare their folder
        'description = "Synthetic test study"',
        f'description = "Synthetic test study"\ndata_roots = ["{realdata_path().as_posix()}"]',
    )
    head, model = text.split("[model]")
    spectra = SPECTRA.format(
        xps=realdata_path("spectro", "xps", "PHI_VersaProbeII_Multipak_C1s_Mo3d_N1s_O1s_S2p.npl"),
        raman=realdata_path("spectro", "raman", "disordered_carbon_DG_DW38C_pos1.txt"),
        eds=realdata_path("spectro", "eds_jeol", "rawdata.ASW"),
        ll=realdata_path(*EELS, "LSMO_linescan_lowloss.hspy"),
        cl=realdata_path(*EELS, "LSMO_linescan_coreloss.hspy"),
    )
    manifest.write_text(head + spectra + "\n[model]" + model)
    result = run_study(manifest, folder / "out", workers=1, report=False)
    assert result.failed == 0, result.problems.to_dict(orient="records")
    return folder, store.read_tables(folder / "out")


def _cli(args: list[str], out: Path) -> dict[str, pd.DataFrame]:
    res = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}


def _same(analysis: str, stored: dict[str, pd.DataFrame], cli: dict[str, pd.DataFrame],
          tasks: list[str]) -> None:
    compared = 0
    for name in tables_of(analysis):
        s = stored.get(name, pd.DataFrame())
        s = s[s["Task"].isin(tasks)] if len(s) else s
        c = cli.get(name, pd.DataFrame())
        if s.empty and c.empty:
            continue
        assert not s.empty and not c.empty, (name, len(s), len(c))
        s = s.drop(columns=["Sample"]).sort_values("Task", kind="stable").reset_index(drop=True)
        c = c.sort_values("Task", kind="stable").reset_index(drop=True)
        assert list(c.columns) == list(s.columns), name
        pd.testing.assert_frame_equal(c, s, check_dtype=False, rtol=1e-12, obj=name)
        compared += 1
    assert compared, analysis


def test_cycling(study, tmp_path):
    folder, stored = study
    raw = folder / "raw"
    cli = _cli(["cycling", str(raw / "small_rate.mpt"), "--label", "small_rate",
                "--sulfur-mass-mg", "2.5", "--protocol", "rate"], tmp_path / "a")
    _same("cycling", stored, cli, ["small_rate"])
    cli = _cli(["cycling", str(raw / "big_long.mpt"), "--label", "big_long", "--composite-mass-mg",
                "4.0", "--tga", str(raw / "tga_big.csv"), "--protocol", "cycling"], tmp_path / "b")
    _same("cycling", stored, cli, ["big_long"])


def test_gitt_and_scaling(study, tmp_path):
    folder, stored = study
    raw = folder / "raw"
    from sulfurscope.analysis.model import sample_sizes

    sizes = sample_sizes(stored["particles"], stored["samples"])
    tables = []  # each sample's SEM particles, as `sulfurscope particles` writes them
    for name in ("small", "big"):
        path = tmp_path / f"particles_{name}.csv"
        stored["particles"][stored["particles"]["Sample"] == name].to_csv(path, index=False)
        tables += ["--particles", str(path)]
    cli = _cli(["gitt", str(raw / "small_gitt.mpt"), str(raw / "big_gitt.mpt"),
                "--label", "small_gitt", "--label", "big_gitt", "--sulfur-mass-mg", "2.0",
                "--v0", "last_under_current", "--particle-size-um", repr(sizes["small"]),
                "--particle-size-um", repr(sizes["big"]), *tables], tmp_path / "g")
    _same("gitt", stored, cli, ["small_gitt", "big_gitt"])
    _same("gitt_scaling", stored, cli, ["gitt_scaling"])


def test_particles_and_lattice(study, tmp_path):
    folder, stored = study
    raw = folder / "raw"
    _same("particles", stored, _cli(["particles", str(raw / "sem_small.tif")], tmp_path / "p"),
          ["sem_small"])
    cli = _cli(["lattice", str(raw / "hrtem.tif")], tmp_path / "l")
    cli = {k: v.assign(Task="hrtem_discharged") for k, v in cli.items()}  # the manifest's name
    _same("lattice", stored, cli, ["hrtem_discharged"])


def test_tga(study, tmp_path):
    folder, stored = study
    cli = _cli(["tga", str(folder / "raw" / "tga_big.csv")], tmp_path / "t")
    cli = {k: v.assign(Task="big") for k, v in cli.items()}  # the sample's name
    _same("tga", stored, cli, ["big"])


@pytest.mark.parametrize(
    ("analysis", "task", "args"),
    [
        ("xps", "xps_npl", ["xps", "{xps}", "--region", "S 2p", "--shift-ev", "0.2"]),
        ("raman", "raman_txt", ["raman", "{raman}", "--models", "sadezky", "--baseline", "asls"]),
        ("eds", "eds_jeol", ["eds", "{eds}", "--lines", "S_Ka,Fe_Ka", "--downsample", "4",
                             "--moving-average-points", "3"]),
        ("eels", "eels_lsmo", ["eels", "--low-loss", "{ll}", "--core-loss", "{cl}", "--edges",
                               "O_K,Mn_L23", "--background-method", "two_area"]),
    ],
)
def test_spectra(study, tmp_path, analysis, task, args):
    _, stored = study
    files = {
        "xps": realdata_path("spectro", "xps", "PHI_VersaProbeII_Multipak_C1s_Mo3d_N1s_O1s_S2p.npl"),
        "raman": realdata_path("spectro", "raman", "disordered_carbon_DG_DW38C_pos1.txt"),
        "eds": realdata_path("spectro", "eds_jeol", "rawdata.ASW"),
        "ll": realdata_path(*EELS, "LSMO_linescan_lowloss.hspy"),
        "cl": realdata_path(*EELS, "LSMO_linescan_coreloss.hspy"),
    }
    cli = _cli([a.format(**{k: str(v) for k, v in files.items()}) for a in args], tmp_path / "s")
    cli = {k: v.assign(Task=task) for k, v in cli.items()}
    _same(analysis, stored, cli, [task])


def test_replicates(study, tmp_path):
    """``sulfurscope replicates RESULTS`` on the pipeline's own results folder gives the tables
    the pipeline's replicates step stored."""
    folder, stored = study
    cli = _cli(["replicates", str(folder / "out")], tmp_path / "r")
    _same("replicates", stored, cli, ["replicates"])


def test_every_analysis_has_a_parity_test():
    """Every analysis the pipeline runs is compared above; the model's fit is compared in
    tests/cli/test_demo.py (the CLI on the pipeline's own results); model predict and formation
    have no pipeline step."""
    from sulfurscope.analysis import ANALYSES

    tested_here = {"cycling", "gitt", "gitt_scaling", "particles", "lattice", "tga", "xps", "raman",
                   "eds", "eels", "replicates"}
    elsewhere = {"model_fit"}
    cli_only = {"model_predict", "model_formation"}
    assert set(ANALYSES) == tested_here | elsewhere | cli_only
