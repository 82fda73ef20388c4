"""``sulfurscope particles`` and ``sulfurscope lattice`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sulfurscope.cli import app
from tests.conftest import REALDATA
from tests.microscopy._synth import render_discs, render_lattice

runner = CliRunner()


def _write_png(path, img):
    import imageio.v3 as iio

    lo, hi = img.min(), img.max()
    iio.imwrite(path, ((img - lo) / (hi - lo) * 255).astype(np.uint8))
    return path


def test_particles_json_with_pixel_size(tmp_path):
    img, diam = render_discs((256, 256), n=20, mean_d_px=24, sd_d_px=2, seed=1)
    p = _write_png(tmp_path / "discs.png", img)
    res = runner.invoke(
        app,
        ["particles", str(p), "--pixel-size-nm", "50", "--out", str(tmp_path / "out"), "--json"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    rec = doc["results"]["particle_distribution"][0]
    assert rec["Length unit"] == "um" and rec["Calibration"] == "user"
    assert rec["Number mean [um]"] == pytest.approx(np.mean(diam) * 0.05, rel=0.05)
    seg = doc["results"]["particle_segmentation"][0]  # what the automatic mode found
    assert seg["method"] == "auto" and seg["polarity"] in ("bright", "dark")
    assert seg["particle_scale_px"] == pytest.approx(np.mean(diam), rel=0.15)
    assert seg["n_particles"] >= 10
    for name in ("particles.csv", "particle_distribution.csv", "figS8_overlay_discs.png",
                 "fig1_sizes_discs.png"):
        assert (tmp_path / "out" / name).exists()
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left behind


def test_particles_explicit_settings_override_auto(tmp_path):
    img, _ = render_discs((160, 160), n=8, mean_d_px=18, seed=2)
    p = _write_png(tmp_path / "d.png", img)
    res = runner.invoke(
        app,
        [
            "particles",
            str(p),
            "--threshold",
            "multiotsu",
            "--min-area-px",
            "5",
            "--background",
            "tophat",
            "--background-radius-px",
            "15",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    seg = json.loads(res.stdout)["results"]["particle_segmentation"][0]
    assert (seg["threshold"], seg["min_area_px"]) == ("multiotsu", 5)
    assert (seg["background"], seg["background_radius_px"]) == ("tophat", 15.0)
    assert seg["estimated"] == "split_depth"


def test_particles_uncalibrated_says_pixels(tmp_path):
    img, _ = render_discs((128, 128), n=6, mean_d_px=16, seed=2)
    p = _write_png(tmp_path / "d.png", img)
    res = runner.invoke(app, ["particles", str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "px" in res.output and "pixels" in res.output
    head = (tmp_path / "o" / "particles.csv").read_text().splitlines()[0]
    assert "Equivalent diameter [px]" in head


def test_particles_from_fiji_rois(tmp_path):
    import roifile

    p = _write_png(tmp_path / "blank.png", np.random.default_rng(0).random((100, 100)))
    rois = []
    sides = [16, 18, 20, 22]
    for k, ((x, y), a) in enumerate(
        zip([(10, 10), (50, 10), (10, 50), (50, 50)], sides, strict=True)
    ):
        r = roifile.ImagejRoi.frompoints(
            np.array([[x, y], [x + a, y], [x + a, y + a], [x, y + a]], float)
        )
        r.name = f"r{k}"
        rois.append(r)
    roifile.roiwrite(tmp_path / "rois.zip", rois)
    res = runner.invoke(
        app,
        [
            "particles",
            str(p),
            "--rois",
            str(tmp_path / "rois.zip"),
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)["results"]["particle_distribution"][0]
    assert rec["Particles"] == 4 and rec["Method"].startswith("Fiji ROIs")
    expected = np.mean([2 * np.sqrt(a * a / np.pi) for a in sides])
    assert rec["Number mean [px]"] == pytest.approx(expected, rel=0.01)


def test_particles_truth_mask_scores(tmp_path):
    img, _ = render_discs((200, 200), n=10, mean_d_px=20, seed=3, noise=0.02)
    p = _write_png(tmp_path / "i.png", img)
    mask = np.where(img > 0.5, 0, 1).astype(np.uint8)
    _write_png(tmp_path / "m.png", mask.astype(float))
    res = runner.invoke(
        app,
        [
            "particles",
            str(p),
            "--truth-mask",
            str(tmp_path / "m.png"),
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    acc = json.loads(res.stdout)["results"]["particle_accuracy"][0]
    assert acc["precision"] >= 0.9 and acc["recall"] >= 0.9


def test_lattice_json(tmp_path):
    import tifffile

    img = render_lattice((256, 256), [(0.05, 0.0), (0.0, -0.04)], noise=0.3)
    p = tmp_path / "lat.tif"
    tifffile.imwrite(p, img.astype(np.float32))
    res = runner.invoke(
        app,
        [
            "lattice",
            str(p),
            "--pixel-size-nm",
            "0.0201",
            "--out",
            str(tmp_path / "o"),
            "--json",
            "--phase-lattice-angstrom",
            "LiF:4.027:F",
        ],
    )
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)["results"]
    d = sorted(s["d [nm]"] for s in rec["lattice_spots"])
    assert d[0] == pytest.approx(0.402, rel=0.01) and d[1] == pytest.approx(0.5025, rel=0.01)
    assert (tmp_path / "o" / "fig4a_lattice_lat.png").exists()
    assert (tmp_path / "o" / "lattice_spots.csv").exists()


@pytest.mark.parametrize(
    "args, match",
    [
        (["particles", "nope.png"], "does not exist"),
        (["lattice", "nope.tif"], "does not exist"),
        (["particles", "BAD", "--threshold", "triangle"], "--threshold"),
        (["particles", "BAD", "--split-depth-px", "deep"], "--split-depth-px"),
    ],
)
def test_errors_are_one_line(tmp_path, args, match):
    if "BAD" in args:
        args = [
            str(_write_png(tmp_path / "b.png", np.random.default_rng(0).random((32, 32))))
            if a == "BAD"
            else a
            for a in args
        ]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2  # usage errors: one line, exit 2
    assert match in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


_REAL = [
    "images/nffa_L2_0c6f76.jpg",
    "images/nffa_L2_0a111f.jpg",
    "images/nffa_L2_0a7eff.jpg",
    "images/licovo4_cathode_tescan.jpg",
    "images/sio2_spheres_jeol.webp",
    "images/zeiss_sem_512pix.tif",
    "images/gold_nanoparticles_on_carbon_jeol.jpg",
    "images/particlespy_sio2_haadf.hspy",
    "images/carbonblack_tem_201805A_A6_004.png",
    "images/atomap_sto_adf_cropped.hdf5",
    "images/soot_hrtem_botero.tif",
    "spectro/hrtem/SrTiO3_ABF_STEM_512px.hspy",
]


@pytest.mark.realdata
def test_particles_default_path_on_the_textured_film(tmp_path):
    """The CLI's defaults are the automatic mode: the hand-masked textured film scores well."""
    from tests.conftest import realdata_path

    img = realdata_path("images", "nffa_L2_0a111f.jpg")
    mask = realdata_path("images", "nffa_L2_0a111f_mask.png")
    res = runner.invoke(
        app,
        ["particles", str(img), "--truth-mask", str(mask), "--out", str(tmp_path), "--json"],
    )
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)["results"]
    seg = rec["particle_segmentation"][0]  # on a textured film the classic settings win
    assert seg["method"] == "auto" and seg["chosen"].startswith("classic")
    acc = rec["particle_accuracy"][0]
    assert acc["precision"] >= 0.8 and acc["recall"] >= 0.6


@pytest.mark.realdata
@pytest.mark.slow
def test_every_real_image_runs_through_both_commands(tmp_path):
    from tests.conftest import realdata_path

    paths = [str(realdata_path(*r.split("/"))) for r in _REAL]
    res = runner.invoke(app, ["particles", *paths, "--out", str(tmp_path / "p"), "--json"])
    assert res.exit_code in (0, 3), res.output
    doc = json.loads(res.stdout)
    assert doc["errors"] == [] and doc["figures_failed"] == []
    import pandas as pd

    recs = pd.read_csv(tmp_path / "p" / "particle_distribution.csv").set_index("Task")
    assert recs.loc["zeiss_sem_512pix", "Pixel size [nm]"] == pytest.approx(11.65)
    assert recs.loc["sio2_spheres_jeol", "Data bar row"] == 960
    assert recs.loc["licovo4_cathode_tescan", "Data bar row"] == 1280
    for path in paths:
        res = runner.invoke(app, ["lattice", path, "--out", str(tmp_path / "l")])
        assert res.exit_code == 0, (path, res.output)
        assert "not drawn" not in res.output


def test_realdata_root_is_a_path():
    assert REALDATA.name


@pytest.mark.parametrize("command", ["particles", "lattice"])
def test_too_small_image_is_a_clear_error(tmp_path, command):
    """An 8 x 8 px image is refused with its size and the file named (the FFT raised an internal
    ValueError on a 2 x 2 px EELS spectrum image before; particle sizing reported 0 particles)."""
    p = _write_png(tmp_path / "tiny.png", np.random.default_rng(0).random((8, 8)))
    res = runner.invoke(app, [command, str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1, res.output
    assert "tiny.png" in res.output and "8 x 8 px" in res.output
    assert "internal error" not in res.output


def test_lattice_region_too_small_is_a_clear_error(tmp_path):
    img = render_lattice((128, 128), [(0.125, 0.0), (0.0, 0.125)])
    p = _write_png(tmp_path / "lat.png", img)
    res = runner.invoke(
        app, ["lattice", str(p), "--region-px", "0,10,0,64", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 1, res.output
    assert "region" in res.output and "10 x 64 px" in res.output


@pytest.mark.realdata
def test_eels_spectrum_image_is_not_a_micrograph(tmp_path):
    """A Gatan EELS spectrum image (2 x 2 px x 2048 channels, energy axis listed first) is not read
    as a 2 x 2 px micrograph."""
    path = REALDATA / "spectro" / "eels" / "EELS_SI_2x2_coreloss.dm4"
    res = runner.invoke(app, ["lattice", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1, res.output
    assert "no 2-D image" in res.output and "internal error" not in res.output
