"""``sulfurscope run`` and ``sulfurscope init`` through the typer app."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.study.manifest import load_study
from sulfurscope.study.scan import scan_folder
from tests.study._synth import make_study, write_gitt, write_rate

runner = CliRunner()


def test_run_json_then_cached_text(tmp_path):
    manifest = make_study(tmp_path)
    out = tmp_path / "res"
    res = runner.invoke(app, ["run", str(manifest), "--out", str(out), "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    # 5 tasks, the study-level GITT τ ∝ L^n step (two particle sizes) and the replicates step
    assert (summary["done"], summary["cached"], summary["failed"]) == (7, 0, 0)
    assert summary["report"] == str(out / "report.html")
    res = runner.invoke(app, ["run", str(manifest), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "7 tasks: 0 done, 7 cached, 0 failed" in res.output
    assert "failed estimate: big_long" in res.output  # the linear fade has no exponential fit
    assert f"report: {out / 'report.html'}" in res.output


def test_run_errors_are_one_line(tmp_path):
    manifest = make_study(tmp_path)
    manifest.write_text(manifest.read_text().replace("sulfur_mass_mg = 2.5\n", "", 1))
    res = runner.invoke(app, ["run", str(manifest), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert res.output.strip().startswith("error: study.toml line ")
    assert "cells[0].sulfur_mass_mg: required when no loading is given" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["run", str(manifest), "--workers", "2", "--dask-local", "2"])
    assert res.exit_code == 2 and "not several" in res.output
    res = runner.invoke(app, ["run", str(manifest), "--errors", "ignore"])
    assert res.exit_code == 2 and "--errors" in res.output and "ignore" in res.output
    assert len(res.output.strip().splitlines()) == 1


def _raw_folder(tmp_path):
    raw = tmp_path / "raw"
    (raw / "echem").mkdir(parents=True)
    (raw / "sem").mkdir()
    (raw / "xps").mkdir()
    (raw / "eels").mkdir()
    write_rate(raw / "echem" / "cell 1.mpt", 500.0, 2.0, 1)
    write_gitt(raw / "echem" / "cell_gitt.mpt", 4.0, 2.0, 2)
    from sulfurscope.simulate.microscopy import render_sem, write_tiff_with_sidecar

    sim = render_sem(
        1.0,
        0.3,
        pixel_size_nm=33.0,
        shape=(200, 240),
        n_particles=10,
        bar_rows=20,
        rng=np.random.default_rng(0),
    )
    write_tiff_with_sidecar(sim, raw / "sem" / "s1.tif", note="SIMULATED")
    (raw / "xps" / "S2p.vms").write_text(
        "VAMAS Surface Chemical Analysis Standard Data Transfer Format"
    )
    (raw / "raman.wdf").write_bytes(b"WDF1")
    (raw / "eels" / "scan_lowloss.dm3").write_bytes(b"\x00\x00\x00\x03")
    (raw / "eels" / "scan_coreloss.dm3").write_bytes(b"\x00\x00\x00\x03")
    (raw / "tga.csv").write_text("Temperature [°C],Mass [%]\n25,100\n500,51\n")
    (raw / "notes.md").write_text("not data")
    return raw


def test_init_scans_and_writes_a_manifest_with_todos(tmp_path):
    raw = _raw_folder(tmp_path)
    found = {(f.path.name, f.kind) for f in scan_folder(raw)}
    assert found == {
        ("cell 1.mpt", "cycler"),
        ("cell_gitt.mpt", "cycler"),
        ("s1.tif", "image"),
        ("S2p.vms", "xps"),
        ("raman.wdf", "raman"),
        ("scan_lowloss.dm3", "eels"),
        ("scan_coreloss.dm3", "eels"),
        ("tga.csv", "tga"),
    }
    manifest = tmp_path / "study" / "study.toml"
    res = runner.invoke(app, ["init", str(raw), "--out", str(manifest)])
    assert res.exit_code == 0, res.output
    assert "2 cycler" in res.output and "sulfur masses" in res.output
    text = manifest.read_text()
    assert text.count("TODO REQUIRED unless the sample has loading_mg_cm2: the sulfur mass") == 2
    assert (
        'core_loss = "../raw/eels/scan_coreloss.dm3", low_loss = "../raw/eels/scan_lowloss.dm3"'
        in text
    )
    assert 'files = { file = "../raw/xps/S2p.vms" }' in text
    # unedited, it fails on the first cell's missing sulfur mass, naming the line
    with pytest.raises(
        Exception, match=r"study\.toml line \d+: cells\[0\]\.sulfur_mass_mg: required"
    ):
        load_study(manifest)
    # a person fills in the TODOs: masses and protocols, and drops the entries of analyses to come
    edited = text.replace("# sulfur_mass_mg = ...", "sulfur_mass_mg = 2.0").replace(
        'files = ["../raw/echem/cell_gitt.mpt"]  # biologic-mpt\nprotocol = "cycling"',
        'files = ["../raw/echem/cell_gitt.mpt"]  # biologic-mpt\nprotocol = "gitt"',
    )
    edited = edited.split("[[spectra]]")[0] + "[model]\nenabled = false\n"
    manifest.write_text(edited)
    study = load_study(manifest)
    assert [c.protocol for c in study.cells] == ["cycling", "gitt"]
    assert study.images[0].kind == "sem"
    res = runner.invoke(app, ["init", str(raw), "--out", str(manifest)])
    assert res.exit_code == 2 and "exists" in res.output
    res = runner.invoke(
        app, ["run", str(manifest), "--out", str(tmp_path / "res"), "--workers", "1", "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["failed"] == 0 and summary["done"] == 4  # + the replicates step


def test_init_guesses_samples_and_takes_one_loading_per_sample(tmp_path):
    """File names with a size token (``8um``) give one sample each, with its size and its TGA file;
    one ``loading_mg_cm2`` per sample then applies to every cell of it (a cell's own mass wins)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    other = _raw_folder(tmp_path / "x")
    mpt = other / "echem" / "cell 1.mpt"
    for name in ("AC_8um_rate_1.mpt", "AC_8um_rate_2.mpt", "AC_1um_rate_1.mpt"):
        (raw / name).write_bytes(mpt.read_bytes())
    tga = next(other.rglob("tga.csv"))
    (raw / "AC_8um_tga.csv").write_bytes(tga.read_bytes())
    manifest = tmp_path / "study.toml"
    res = runner.invoke(app, ["init", str(raw), "--out", str(manifest)])
    assert res.exit_code == 0, res.output
    text = manifest.read_text()
    assert 'name = "AC_8um"' in text and 'name = "AC_1um"' in text
    assert "particle_size_um = 8" in text and 'tga = "raw/AC_8um_tga.csv"' in text
    assert text.count('sample = "AC_8um"') == 2 and text.count('sample = "AC_1um"') == 1
    edited = text.replace("# loading_mg_cm2 = ...     # TODO", "loading_mg_cm2 = 2.0  # TODO", 2)
    cells = edited.split("[[cells]]")
    cells[2] = cells[2].replace("# sulfur_mass_mg = ...", "sulfur_mass_mg = 3.1")  # its own mass
    manifest.write_text("[[cells]]".join(cells))
    study = load_study(manifest)
    got = {c.name: (c.sulfur_mass_mg, c.loading_mg_cm2, c.area_cm2) for c in study.cells}
    assert got == {"AC_1um_rate_1": (None, 2.0, 1.32), "AC_8um_rate_1": (3.1, None, 1.32),
                   "AC_8um_rate_2": (None, 2.0, 1.32)}


def test_init_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["init", str(empty), "--out", str(tmp_path / "s.toml")])
    assert res.exit_code == 1 and "no recognised raw files" in res.output
    shutil.rmtree(empty)


def test_init_reads_hspy_signal_types_and_guesses_protocols(tmp_path):
    """.hspy files are classified by their own metadata (EELS / EDS / image), not by their names,
    and cycler protocols are guessed from the file name (marked as a guess)."""
    import numpy as np

    from sulfurscope.io import write_eels
    from sulfurscope.simulate.eds import write_simulated_eds
    from sulfurscope.study.scan import guess_protocol

    raw = tmp_path / "raw"
    raw.mkdir()
    e = np.linspace(-5.0, 100.0, 211)
    write_eels(raw / "scan_a.hspy", np.exp(-(e**2)), e, title="line scan")  # no "eels" in the name
    write_simulated_eds(raw / "map_b.hspy", rng=np.random.default_rng(0), shape=(8, 8))
    kinds = {f.path.name: f.kind for f in scan_folder(raw)}
    assert kinds == {"scan_a.hspy": "eels", "map_b.hspy": "eds"}
    assert [guess_protocol(n) for n in ("x_GITT.mpr", "x-rate.mpt", "x_asym.mpr", "x.mpr")] == [
        "gitt",
        "rate",
        "asymmetric",
        None,
    ]


@pytest.mark.realdata
def test_gatan_files_classified_by_what_they_hold(tmp_path):
    """A Gatan .dm3 EDS spectrum is an EDS task (it was an EELS task that failed on its Li K
    window); the EELS .dm3/.dm4 files stay EELS."""
    import shutil

    from tests.conftest import realdata_path

    raw = tmp_path / "raw"
    raw.mkdir()
    for parts in (("spectro", "eds", "dm3_test-EDS_spectrum_single.dm3"),
                  ("spectro", "eels", "SrTiO3_coreloss_TiL_OK.dm3"),
                  ("spectro", "eels", "EELS_SI_2x2_coreloss.dm4")):
        shutil.copy(realdata_path(*parts), raw / parts[-1])
    kinds = {f.path.name: f.kind for f in scan_folder(raw)}
    assert kinds == {"dm3_test-EDS_spectrum_single.dm3": "eds",
                     "SrTiO3_coreloss_TiL_OK.dm3": "eels", "EELS_SI_2x2_coreloss.dm4": "eels"}


def test_tga_exports_of_three_vendors_are_tga_tasks(tmp_path):
    from tests.io.test_tga import _write_mettler, _write_pyris, _write_ta

    raw = tmp_path / "raw"
    raw.mkdir()
    _write_ta(raw / "ta.txt")
    _write_mettler(raw / "mettler.txt")
    _write_pyris(raw / "pyris.txt")
    assert {f.path.name: f.kind for f in scan_folder(raw)} == {
        "ta.txt": "tga", "mettler.txt": "tga", "pyris.txt": "tga"}


@pytest.mark.realdata
def test_em_image_files_are_found(tmp_path):
    """Velox/Berkeley .emd, TIA .emi (+ its .ser) were left out by `init` without a word: now the
    images are image tasks (the .ser through its .emi) and a Velox EDS .emd an EDS task."""
    import shutil

    from tests.conftest import realdata_path

    raw = tmp_path / "raw"
    raw.mkdir()
    for parts in (("images", "ncem_STO_TEAM05_Acquisition_18_berkeley.emd"),
                  ("images", "tia_IDP_L2083_after_HAADF_130mm.emi"),
                  ("images", "tia_IDP_L2083_after_HAADF_130mm_1.ser"),
                  ("spectro", "eds", "velox_TestSI_16x16_ReducedData_single_spectra.emd")):
        shutil.copy(realdata_path(*parts), raw / parts[-1])
    kinds = {f.path.name: f.kind for f in scan_folder(raw)}
    assert kinds == {"ncem_STO_TEAM05_Acquisition_18_berkeley.emd": "image",
                     "tia_IDP_L2083_after_HAADF_130mm.emi": "image",
                     "velox_TestSI_16x16_ReducedData_single_spectra.emd": "eds"}
