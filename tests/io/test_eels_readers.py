"""EELS readers (rosettasciio): every real file, round trips through our writer, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sulfurscope.errors import FileFormatError
from sulfurscope.io.eels import read_eels, read_reference_spectrum, write_eels
from tests.conftest import realdata_path

EELS = ("spectro", "eels")

# file → (shape, first energy eV, dispersion eV, navigation names, navigation step nm)
REAL = {
    "Al_lowloss_ZLP_plasmon.dm3": ((2048,), -3.6092, 0.020126, (), None),
    "EELS_SI_2x2_coreloss.dm4": ((2, 2, 2048), 300.0, 1.0, ("y", "x"), 1.99207),
    "LSMO_linescan_coreloss.hspy": ((40, 586), 428.5, 0.5, ("x",), 3.21902),
    "LSMO_linescan_lowloss.hspy": ((40, 1024), -50.0, 0.5, ("x",), 3.21902),
    "SrTiO3_coreloss_TiL_OK.dm3": ((2048,), 350.0, 0.25, (), None),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files(name):
    shape, e0, de, nav, step = REAL[name]
    d = read_eels(realdata_path(*EELS, name))
    assert d.counts.shape == shape
    assert d.energy_ev.size == shape[-1]
    assert d.energy_ev[0] == pytest.approx(e0, abs=1e-3)
    assert d.energy_ev[1] - d.energy_ev[0] == pytest.approx(de, rel=1e-4)
    assert d.navigation_names == nav
    if step is not None:
        for p in d.navigation_nm:
            assert p[1] - p[0] == pytest.approx(step, rel=1e-4)
        assert set(d.navigation_units) == {"nm"}
    assert d.format == name.rsplit(".", 1)[1]
    info = d.to_dict()
    assert info["shape"] == list(shape) and info["title"]


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_match_hyperspy(name):
    """Oracle: HyperSpy's loader (rosettasciio + its post-processing) gives the same array."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("exspy", reason="exspy (test-only oracle) not installed")
        hs = pytest.importorskip("hyperspy.api")
        s = hs.load(realdata_path(*EELS, name))
    d = read_eels(realdata_path(*EELS, name))
    np.testing.assert_array_equal(d.counts, np.asarray(s.data, dtype=float))
    np.testing.assert_allclose(d.energy_ev, s.axes_manager.signal_axes[0].axis)


def test_dm4_spectrum_image_keeps_pixels_apart():
    d = read_eels(realdata_path(*EELS, "EELS_SI_2x2_coreloss.dm4"))
    flat = d.counts.reshape(4, -1)
    assert len({float(f.sum()) for f in flat}) == 4


@pytest.mark.parametrize("suffix", [".hspy", ".msa"])
def test_write_read_round_trip_spectrum(tmp_path, suffix):
    e = np.arange(40.0, 90.0, 0.25)
    y = 1e4 * (e / 40.0) ** -3 + np.arange(e.size)
    p = write_eels(tmp_path / f"s{suffix}", y, e, title="test")
    d = read_eels(p)
    np.testing.assert_allclose(d.counts, y, rtol=1e-6)
    np.testing.assert_allclose(d.energy_ev, e, atol=1e-9)
    assert d.counts.ndim == 1 and d.navigation_names == ()
    assert not list(tmp_path.glob(".*tmp"))


def test_write_read_round_trip_line_scan(tmp_path):
    e = np.arange(-5.0, 50.0, 0.5)
    y = np.random.default_rng(0).poisson(100.0, (7, e.size)).astype(float)
    pos = np.arange(7) * 5.0
    d = read_eels(write_eels(tmp_path / "scan.hspy", y, e, position_nm=pos))
    np.testing.assert_array_equal(d.counts, y)
    np.testing.assert_allclose(d.navigation_nm[0], pos)
    assert d.navigation_units == ("nm",)


def test_reference_from_text_and_msa(tmp_path):
    t = tmp_path / "LiF.csv"
    t.write_text("# energy, intensity\n60,1\n55,0\n65,2\n70,1.5\n")
    e, y = read_reference_spectrum(t)
    np.testing.assert_array_equal(e, [55, 60, 65, 70])
    np.testing.assert_array_equal(y, [0, 1, 2, 1.5])
    m = write_eels(tmp_path / "S.msa", np.ones(20), np.arange(150.0, 170.0))
    e2, y2 = read_reference_spectrum(m)
    assert e2.size == 20 and y2.sum() == 20


def test_errors(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_eels(tmp_path / "missing.dm3")
    bad = tmp_path / "x.txt"
    bad.write_text("1 2\n")
    with pytest.raises(FileFormatError, match="x.txt: suffix '.txt' is not an EELS format"):
        read_eels(bad)
    junk = tmp_path / "junk.dm3"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(FileFormatError, match="junk.dm3: rosettasciio could not read it as dm3"):
        read_eels(junk)
    with pytest.raises(FileFormatError, match="format 'tiff' unknown"):
        read_eels(realdata_path(*EELS, "Al_lowloss_ZLP_plasmon.dm3"), format="tiff")
    with pytest.raises(FileFormatError, match="signal 3 requested, file holds 1"):
        read_eels(realdata_path(*EELS, "Al_lowloss_ZLP_plasmon.dm3"), signal=3)
    with pytest.raises(FileFormatError, match="one spectrum"):
        write_eels(tmp_path / "a.msa", np.ones((2, 5)), np.arange(5.0))
    with pytest.raises(FileFormatError, match="do not match"):
        write_eels(tmp_path / "a.hspy", np.ones((2, 5)), np.arange(4.0))
    with pytest.raises(FileFormatError, match="writes .hspy or .msa"):
        write_eels(tmp_path / "a.dm3", np.ones(5), np.arange(5.0))
    with pytest.raises(FileFormatError, match="a reference must be one spectrum"):
        read_reference_spectrum(realdata_path(*EELS, "LSMO_linescan_coreloss.hspy"))
    one = tmp_path / "one.txt"
    one.write_text("abc def\n")
    with pytest.raises(FileFormatError, match="one.txt: expected a two-column"):
        read_reference_spectrum(one)


@pytest.mark.realdata
def test_eds_spectrum_is_refused_as_eels():
    """A Gatan EDS spectrum (signal type EDS_TEM, eV axis to 20 keV) is not read as EELS."""
    from sulfurscope.errors import FileFormatError

    with pytest.raises(FileFormatError, match="EDS .*sulfurscope eds"):
        read_eels(realdata_path("spectro", "eds", "dm3_test-EDS_spectrum_single.dm3"))
