"""EDS readers: JEOL project/.pts/.map through rosettasciio, EMSA, .hspy/.rpl round trips, errors.

Oracles: JEOL's own .map files (gross counts in a channel ROI) vs our window sums from the .pts;
rosettasciio's dense .pts reader vs our event form.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from sulfurscope.errors import FileFormatError, SulfurscopeError
from sulfurscope.io.eds import jeol_map_window_kev, read_eds, write_spectrum_image
from sulfurscope.simulate.eds import simulate_particle_eds
from sulfurscope.spectra.eds import SpectrumImage, sum_spectrum, window_map
from tests.conftest import realdata_path

PTS = ("spectro", "eds_jeol", "Sample", "00_View000", "View000_0000006.pts")


@pytest.fixture(scope="module")
def project():
    """The real JEOL project, full resolution, event form (our NumPy stream decoder)."""
    return read_eds(realdata_path("spectro", "eds_jeol", "rawdata.ASW"))


@pytest.fixture(scope="module")
def pts_small():
    """The .pts alone, 8×8 binned and cut at 10 keV."""
    return read_eds(realdata_path(*PTS), downsample=8, cutoff_kev=10.0)


def test_project_contents(project):
    si = project.spectrum_image
    assert project.format == "jeol"
    assert si.shape == (512, 512, 4096)
    assert si.counts is None and si.events is not None  # never the dense 1 GB cube
    assert si.events.shape[0] < 400_000
    assert int(si.event_counts.sum()) == 308_261  # data README: 308k counts
    assert si.pixel_size_nm == pytest.approx(8.691, rel=1e-3)
    assert si.energy_scale_kev == pytest.approx(0.01, rel=1e-3)
    assert si.energy_offset_kev == pytest.approx(-0.9607, abs=1e-3)
    assert si.resolution_mnka_ev == pytest.approx(138.0)
    assert si.beam_energy_kev == pytest.approx(200.0)
    assert [m.title for m in project.maps] == ["C K", "O K", "S K", "Fe K", "Cu K"]
    assert [t for t, _ in project.images] == ["IMG1"]
    assert {m.sweeps for m in project.maps} == {14}


# agreement of our gross window sums with JEOL's .map files, per map (ratio of totals,
# share of identical pixels): O, S, Fe and Cu are reproduced count for count; C K 0.86 % low.
MAP_AGREEMENT = {
    "C K": (0.9914, 99.7),
    "O K": (1.0, 100.0),
    "S K": (1.0, 100.0),
    "Fe K": (1.0, 100.0),
    "Cu K": (1.0, 100.0),
}


@pytest.mark.parametrize("title", list(MAP_AGREEMENT))
def test_gross_window_sums_match_jeol_maps(project, title):
    m = next(m for m in project.maps if m.title == title)
    lo, hi = jeol_map_window_kev(
        m.roi_channels,
        coef_a_kev=project.calibration["coef_a_kev"],
        coef_b_kev=project.calibration["coef_b_kev"],
    )
    ours = window_map(project.spectrum_image, (lo, hi))
    ratio = ours.sum() / m.counts.sum()
    equal_pct = np.mean(ours == m.counts) * 100
    want_ratio, want_equal = MAP_AGREEMENT[title]
    assert ratio == pytest.approx(want_ratio, abs=0.001)
    assert abs(ratio - 1) < 0.01  # "a few %": within 1 % for every map
    assert equal_pct >= want_equal
    assert np.corrcoef(ours.ravel(), m.counts.ravel())[0, 1] > 0.995


def test_map_window_shifted_by_one_channel_disagrees(project):
    """The oracle is sharp: moving the S K window one channel breaks the exact agreement."""
    m = next(m for m in project.maps if m.title == "S K")
    a, b = project.calibration["coef_a_kev"], project.calibration["coef_b_kev"]
    lo, hi = jeol_map_window_kev(
        (m.roi_channels[0] + 1, m.roi_channels[1] + 1), coef_a_kev=a, coef_b_kev=b
    )
    assert not np.array_equal(window_map(project.spectrum_image, (lo, hi)), m.counts)


def test_downsampled_pts_keeps_counts(project, pts_small):
    si = pts_small.spectrum_image
    assert si.shape == (64, 64, 1096)
    assert si.pixel_size_nm == pytest.approx(8 * project.spectrum_image.pixel_size_nm)
    full = sum_spectrum(project.spectrum_image)[:1096]
    np.testing.assert_array_equal(sum_spectrum(si), full)


def test_pts_events_match_rosettasciio_dense(pts_small):
    """rosettasciio's dense reader (8×8 binned, ≤ 10 keV) is the oracle for our event form."""
    from rsciio.jeol import file_reader

    dense = file_reader(
        str(realdata_path(*PTS)), downsample=8, cutoff_at_kV=10.0, SI_dtype=np.uint16
    )[0]["data"]
    si = pts_small.spectrum_image
    ours = np.zeros(si.shape, dtype=np.int64)
    np.add.at(ours, tuple(si.events.T), si.event_counts)
    np.testing.assert_array_equal(ours, dense)


def _sorted_events(si):
    order = np.lexsort(si.events.T[::-1])
    return si.events[order], si.event_counts[order]


@pytest.mark.parametrize("options", [{"downsample": 8, "cutoff_kev": 10.0}, {"frames": [0, 13]}])
def test_stream_decoder_equals_rosettasciio_lazy(options):
    """Oracle: our NumPy stream decoder ≡ rosettasciio's lazy (numba + sparse) reader."""
    path = realdata_path(*PTS)
    ours = read_eds(path, **options)
    theirs = read_eds(path, engine="rosettasciio", **options)
    a, b = ours.spectrum_image, theirs.spectrum_image
    assert a.shape == b.shape
    for x, y in zip(_sorted_events(a), _sorted_events(b), strict=True):
        np.testing.assert_array_equal(x, y)
    for k in (
        "energy_offset_kev",
        "energy_scale_kev",
        "pixel_size_nm",
        "resolution_mnka_ev",
        "beam_energy_kev",
        "live_time_s",
    ):
        assert getattr(a, k) == pytest.approx(getattr(b, k)), k
    assert ours.calibration["coef_a_kev"] == theirs.calibration["coef_a_kev"]


def test_stream_maps_equal_rosettasciio(project):
    from rsciio.jeol import file_reader

    for m in project.maps:
        d = file_reader(str(m.path))[0]
        np.testing.assert_array_equal(m.counts, d["data"])
        assert m.roi_channels == (
            d["original_metadata"]["Map"]["StartRoi"],
            d["original_metadata"]["Map"]["EndRoi"],
        )
        assert m.pixel_size_nm == pytest.approx(d["axes"][0]["scale"] * 1e3)


def test_frames_subset(project):
    one = read_eds(realdata_path(*PTS), frames=[0]).spectrum_image
    assert 0 < one.event_counts.sum() < project.spectrum_image.event_counts.sum() / 10


def test_read_single_map_and_image():
    m = read_eds(
        realdata_path("spectro", "eds_jeol", "Sample", "00_View000", "View000_0000003.map")
    )
    assert m.spectrum_image is None
    assert len(m.maps) == 1 and m.maps[0].title == "S K"
    assert m.maps[0].roi_channels == (218, 243)
    img = read_eds(
        realdata_path("spectro", "eds_jeol", "Sample", "00_View000", "View000_0000000.img")
    )
    assert img.images[0][1].shape == (512, 512)


@pytest.mark.parametrize("suffix", [".hspy", ".rpl"])
def test_write_read_round_trip(tmp_path, suffix):
    sim = simulate_particle_eds(shape=(12, 10), n_channels=256, rng=np.random.default_rng(3))
    si = sim.spectrum_image
    p = write_spectrum_image(si, tmp_path / f"sim{suffix}")
    back = read_eds(p).spectrum_image
    assert back.shape == si.shape
    np.testing.assert_array_equal(back.counts, si.counts)
    assert back.energy_scale_kev == pytest.approx(si.energy_scale_kev)
    assert back.energy_offset_kev == pytest.approx(si.energy_offset_kev)
    assert back.pixel_size_nm == pytest.approx(si.pixel_size_nm)
    assert back.resolution_mnka_ev == pytest.approx(si.resolution_mnka_ev)
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write leaves no temporary


@pytest.mark.parametrize("downsample", [1, 2])
def test_write_event_form_and_downsample(tmp_path, downsample):
    sim = simulate_particle_eds(shape=(8, 8), n_channels=128, rng=np.random.default_rng(4))
    dense = sim.spectrum_image
    nz = np.nonzero(dense.counts)
    ev = SpectrumImage(
        dense.shape,
        None,
        np.stack(nz, axis=1),
        dense.counts[nz].astype(np.int64),
        dense.energy_offset_kev,
        dense.energy_scale_kev,
        dense.pixel_size_nm,
        dense.resolution_mnka_ev,
        dense.beam_energy_kev,
        1.0,
        "ev",
    )
    p = write_spectrum_image(ev, tmp_path / "ev.hspy")
    back = read_eds(p, downsample=downsample).spectrum_image
    assert back.shape == (8 // downsample, 8 // downsample, 128)
    assert back.counts.sum() == dense.counts.sum()


def test_msa_single_spectrum(tmp_path):
    from rsciio.msa import file_writer

    e = np.arange(500) * 0.01
    data = 100 * np.exp(-0.5 * ((e - 2.3072) / 0.04) ** 2) + 5
    file_writer(
        str(tmp_path / "s.msa"),
        {
            "data": data,
            "axes": [
                {
                    "name": "Energy",
                    "size": 500,
                    "offset": 0.0,
                    "scale": 0.01,
                    "units": "keV",
                    "navigate": False,
                }
            ],
            "metadata": {
                "General": {"title": "S"},
                "Signal": {"signal_type": "EDS_SEM"},
                "Acquisition_instrument": {
                    "SEM": {
                        "beam_energy": 15.0,
                        "Detector": {"EDS": {"energy_resolution_MnKa": 133.0, "live_time": 10.0}},
                    }
                },
            },
            "original_metadata": {},
        },
    )
    si = read_eds(tmp_path / "s.msa").spectrum_image
    assert si.shape == (1, 1, 500)
    assert si.resolution_mnka_ev == pytest.approx(133.0)
    assert si.beam_energy_kev == pytest.approx(15.0)
    np.testing.assert_allclose(sum_spectrum(si), data, rtol=1e-6)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileFormatError, match=r"nothing\.xyz: extension"):
        bad = tmp_path / "nothing.xyz"
        bad.write_text("x")
        read_eds(bad)
    with pytest.raises(FileFormatError, match="missing.pts: no such file"):
        read_eds(tmp_path / "missing.pts")
    junk = tmp_path / "junk.msa"
    junk.write_text("this is not an EMSA file\n")
    with pytest.raises(FileFormatError, match="junk.msa"):
        read_eds(junk)
    with pytest.raises(SulfurscopeError, match="writes .hspy or .rpl"):
        sim = simulate_particle_eds(shape=(4, 4), n_channels=32, rng=np.random.default_rng(0))
        write_spectrum_image(sim.spectrum_image, tmp_path / "x.tif")


def test_project_without_its_folder(tmp_path):
    asw = realdata_path("spectro", "eds_jeol", "rawdata.ASW")
    shutil.copy(asw, tmp_path / "rawdata.ASW")
    with pytest.raises(FileFormatError, match="rawdata.ASW: a file of the JEOL project is missing"):
        read_eds(tmp_path / "rawdata.ASW")


def test_truncated_pts(tmp_path):
    src = realdata_path(*PTS)
    bad = tmp_path / "cut.pts"
    bad.write_bytes(src.read_bytes()[:2000])
    with pytest.raises(FileFormatError, match="cut.pts: truncated"):
        read_eds(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FileFormatError, match="cut.pts"):
            read_eds(bad, engine="rosettasciio")
    wrong = tmp_path / "wrong.pts"
    wrong.write_bytes(b"\x00" * 100)
    with pytest.raises(FileFormatError, match="wrong.pts: not a JEOL .pts file"):
        read_eds(wrong)
    with pytest.raises(SulfurscopeError, match="engine must be"):
        read_eds(src, engine="fast")


@pytest.mark.parametrize(
    ("name", "total", "offset", "scale"),
    [
        ("velox_TestSI_16x16_ReducedData_single_spectra.emd", 42097, -0.25, 0.01),
        ("dm3_test-EDS_spectrum_single.dm3", 17051, -0.478, 0.005),
    ],
)
def test_single_eds_spectra_are_read_like_rosettasciio(name, total, offset, scale):
    """README batch 2 B8/B9 (F5): a Velox .emd holding single per-detector spectra and no spectrum
    image (read as their sum), and a Gatan DM3 EDS spectrum. Oracle: rosettasciio's own readers."""
    path = realdata_path("spectro", "eds", name)
    d = read_eds(path)
    si = d.spectrum_image
    assert si.shape == (1, 1, 4096)
    if name.endswith(".emd"):
        from rsciio.emd import file_reader

        parts = file_reader(str(path), select_type="single_spectrum")
        expected = np.sum([np.asarray(p["data"], dtype=float) for p in parts], axis=0)
        assert "single EDS spectra" in d.content
    else:
        from rsciio.digitalmicrograph import file_reader

        expected = np.asarray(file_reader(str(path))[0]["data"], dtype=float)
    np.testing.assert_array_equal(sum_spectrum(si), expected)
    assert expected.sum() == total
    assert (si.energy_offset_kev, si.energy_scale_kev) == (pytest.approx(offset, abs=1e-6),
                                                           pytest.approx(scale, abs=1e-9))


def test_file_without_eds_says_what_it_holds(tmp_path):
    from sulfurscope.errors import FileFormatError

    image = realdata_path("images", "velox_stem_haadf_titan_blank.emd")
    dst = tmp_path / image.name
    dst.write_bytes(image.read_bytes())
    with pytest.raises(FileFormatError, match=r"no EDS spectrum or spectrum image in the file "
                                              r"\(it holds: .*\)"):
        read_eds(dst)
