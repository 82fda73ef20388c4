"""Raman readers: Renishaw .wdf (rosettasciio) and text; oracles, reference values, errors."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from sulfurscope.errors import FileFormatError
from sulfurscope.io.raman import (
    RamanData,
    read_raman,
    read_raman_text,
    read_renishaw_wdf,
    write_raman_text,
)
from tests.conftest import realdata_path

WDF = ("spectro", "raman", "Renishaw_532nm_carbon_DG_235spectra.wdf")
TXT = ("spectro", "raman", "disordered_carbon_DG_DW38C_pos1.txt")


def _raw_wdf_blocks(path):
    """Independent minimal WDF block walk: {block id: payload bytes} (16-byte block headers)."""
    raw = path.read_bytes()
    out, pos = {}, 0
    while pos + 16 <= len(raw):
        bid = raw[pos : pos + 4].decode("latin-1")
        size = int(np.frombuffer(raw, "<u8", 1, pos + 8)[0])
        if size < 16:
            break
        out.setdefault(bid, raw[pos + 16 : pos + size])
        pos += size
    return out


# ---------------------------------------------------------------- reference values (data README)
def test_wdf_line_shape_axis_and_positions():
    d = read_raman(realdata_path(*WDF))
    assert d.format == "wdf"
    assert d.intensity.shape == (235, 1015)
    assert d.shift_cm1[0] == pytest.approx(1226.27, abs=0.01)
    assert d.shift_cm1[-1] == pytest.approx(2787.51, abs=0.01)
    step = np.diff(d.shift_cm1)
    assert np.all(step > 0)
    assert step.max() - step.min() > 0.3  # non-uniform axis kept, not resampled (1.72 → 1.38)
    assert d.metadata["axis_reversed"] is True  # WiRE stores it decreasing
    assert d.metadata["laser_wavelength_nm"] == pytest.approx(532.25, abs=0.01)
    assert d.metadata["map_shape"] == (235,)
    assert list(d.positions.columns) == ["Spectrum", "Distance [µm]"]
    assert d.positions["Distance [µm]"].iloc[-1] == pytest.approx(234 * 0.25)
    # carbon: G band is the strongest feature of the first spectrum
    g = d.shift_cm1[np.argmax(d.intensity[0])]
    assert 1560 < g < 1610


def test_text_two_column_reference():
    d = read_raman(realdata_path(*TXT))
    assert d.format == "text"
    assert d.intensity.shape == (1, 1600)
    assert d.shift_cm1[0] == pytest.approx(-94.68, abs=0.01)
    assert d.shift_cm1[-1] == pytest.approx(3651.3, abs=0.1)
    assert d.metadata["layout"] == "two-column"


# ---------------------------------------------------------------- oracles
def test_wdf_matches_raw_block_parse():
    """Our reader (rosettasciio) vs a direct read of the XLST and DATA blocks of the file."""
    p = realdata_path(*WDF)
    blocks = _raw_wdf_blocks(p)
    xl = np.frombuffer(blocks["XLST"], "<f4", offset=8)
    data = np.frombuffer(blocks["DATA"], "<f4")[: 235 * xl.size].reshape(235, xl.size)
    d = read_renishaw_wdf(p)
    np.testing.assert_array_equal(d.shift_cm1, xl[::-1].astype(float))
    np.testing.assert_array_equal(d.intensity, data[:, ::-1].astype(float))


def test_wdf_matches_renishaw_wdf_package():
    """Oracle: Renishaw's own accessor classes (``renishaw-wdf``) on the same file."""
    wdf = pytest.importorskip("wdf")
    p = realdata_path(*WDF)
    with wdf.Wdf(str(p)) as w:
        x = np.asarray(w.xlist(), dtype=float)
        y = np.asarray([w.spectrum(i) for i in range(len(w))], dtype=float)
    d = read_renishaw_wdf(p)
    np.testing.assert_array_equal(d.shift_cm1, x[::-1])
    np.testing.assert_array_equal(d.intensity, y[:, ::-1])


def test_text_matches_numpy_loadtxt():
    p = realdata_path(*TXT)
    ref = np.loadtxt(p)
    d = read_raman_text(p)
    np.testing.assert_array_equal(d.shift_cm1, ref[:, 0])
    np.testing.assert_array_equal(d.intensity[0], ref[:, 1])


def test_real_files_opened_read_only(tmp_path):
    for parts in (WDF, TXT):
        src = realdata_path(*parts)
        dst = tmp_path / src.name
        dst.write_bytes(src.read_bytes())
        os.chmod(dst, stat.S_IRUSR)
        d = read_raman(dst)
        assert d.intensity.shape[0] >= 1


# ---------------------------------------------------------------- round trips / properties
@pytest.mark.parametrize("n_spectra", [1, 3])
@pytest.mark.parametrize("decreasing", [False, True])
def test_writer_round_trip(tmp_path, n_spectra, decreasing):
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(1000, 2000, 200))
    y = rng.uniform(0, 1000, (n_spectra, 200))
    p = write_raman_text(
        tmp_path / "s.txt",
        x[::-1] if decreasing else x,
        (y[:, ::-1] if decreasing else y)
        if n_spectra > 1
        else (y[0, ::-1] if decreasing else y[0]),
        header="simulated data\nsecond line",
    )
    d = read_raman(p)
    np.testing.assert_allclose(d.shift_cm1, x, rtol=1e-9)
    np.testing.assert_allclose(d.intensity, y, rtol=1e-9)
    assert d.metadata["axis_reversed"] is decreasing
    assert d.metadata["layout"] == ("two-column" if n_spectra == 1 else "wide")
    assert any("simulated" in h for h in d.metadata["header"])
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file


@pytest.mark.parametrize("with_y", [False, True])
def test_wire_long_export(tmp_path, with_y):
    """WiRE map/line text: X [Y] Wave Intensity, shift decreasing, repeated per position."""
    x = np.linspace(2000.0, 1000.0, 50)
    rows = []
    for k in range(4):
        for xi in x:
            coords = [10.0 + k, -5.0] if with_y else [10.0 + k]
            rows.append(coords + [xi, k * 100.0 + xi / 10])
    head = "#X\t#Y\t#Wave\t#Intensity" if with_y else "#X\t#Wave\t#Intensity"
    p = tmp_path / "map.txt"
    p.write_text(head + "\n" + "\n".join("\t".join(f"{v:.6f}" for v in r) for r in rows) + "\n")
    d = read_raman(p)
    assert isinstance(d, RamanData)
    assert d.intensity.shape == (4, 50)
    assert d.metadata["layout"] == "long"
    np.testing.assert_allclose(d.shift_cm1, x[::-1])
    np.testing.assert_allclose(d.intensity[2], 200.0 + x[::-1] / 10)
    col = "X [µm]" if with_y else "Distance [µm]"
    np.testing.assert_allclose(d.positions[col], [10, 11, 12, 13])


def test_to_frame_long_table():
    d = read_raman(realdata_path(*TXT))
    f = d.to_frame()
    assert list(f.columns) == ["Spectrum", "Raman shift [1/cm]", "Intensity [counts]"]
    assert len(f) == 1600


# ---------------------------------------------------------------- errors
def test_empty_file(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_text("")
    with pytest.raises(FileFormatError, match="empty.txt: empty"):
        read_raman(p)


def test_header_only_text(tmp_path):
    p = tmp_path / "head.txt"
    p.write_text("# Raman shift\tIntensity\n")
    with pytest.raises(FileFormatError, match="head.txt: no numeric rows"):
        read_raman(p)


def test_nan_intensity(tmp_path):
    p = tmp_path / "nan.txt"
    p.write_text("1000\t1\n1001\tnan\n1002\t3\n1003\t4\n")
    with pytest.raises(FileFormatError, match="nan.txt: .*non-finite"):
        read_raman(p)


def test_duplicated_axis(tmp_path):
    p = tmp_path / "dup.txt"
    p.write_text("1000\t1\n1001\t2\n1001\t3\n1002\t4\n")
    with pytest.raises(FileFormatError, match="dup.txt: Raman shift axis is not monotonic"):
        read_raman(p)


def test_one_column(tmp_path):
    p = tmp_path / "one.txt"
    p.write_text("1\n2\n3\n4\n")
    with pytest.raises(FileFormatError, match="one.txt: 1 column"):
        read_raman(p)


def test_not_a_wdf(tmp_path):
    p = tmp_path / "fake.wdf"
    p.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(FileFormatError, match="fake.wdf: binary file that is not a Renishaw"):
        read_raman(p)
    with pytest.raises(FileFormatError, match="fake.wdf: not a Renishaw .wdf"):
        read_renishaw_wdf(p)


def test_truncated_wdf(tmp_path):
    src = realdata_path(*WDF)
    p = tmp_path / "cut.wdf"
    p.write_bytes(src.read_bytes()[:3000])
    with pytest.raises(FileFormatError, match="cut.wdf"):
        read_raman(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_raman(tmp_path / "absent.wdf")


def test_unknown_format(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("1 2\n3 4\n5 6\n")
    with pytest.raises(FileFormatError, match="unknown Raman format 'spc'"):
        read_raman(p, format="spc")  # type: ignore[arg-type]


def test_wdf_wavelength_axis_becomes_raman_shift_like_renishaw_wdf():
    """README batch 2 B3 (F2): the x axis is a wavelength in nm. The shift comes from the laser
    wavenumber the file stores (oracle: Renishaw's renishaw-wdf accessors), never the nm values."""
    wdf = pytest.importorskip("wdf")
    p = realdata_path("spectro", "raman", "renishaw_test_map_325nm_nm-axis.wdf")
    with wdf.Wdf(str(p)) as w:
        nm = np.asarray(w.xlist(), dtype=float)
        laser_cm1 = float(w.hdr.laser_wavenumber)
        y = np.asarray([w.spectrum(i) for i in range(len(w))], dtype=float)
    expected = laser_cm1 - 1e7 / nm  # descending in nm → ascending shift
    d = read_renishaw_wdf(p)
    order = np.argsort(expected)
    np.testing.assert_allclose(d.shift_cm1, expected[order], rtol=1e-6)
    np.testing.assert_allclose(d.intensity, y[:, order], rtol=1e-6)
    assert d.shift_cm1[0] == pytest.approx(1931.87, abs=0.05)
    assert d.shift_cm1[-1] == pytest.approx(2252.95, abs=0.05)
    assert "wavelength" in d.metadata["x_axis"]


def test_wdf_wavelength_without_laser_is_refused():
    from sulfurscope.errors import FileFormatError
    from sulfurscope.io.raman import _raman_shift

    axis = {"name": "Wavelength", "units": "nm"}
    with pytest.raises(FileFormatError, match="x.wdf: the x axis is a wavelength"):
        _raman_shift(np.array([350.0, 351.0]), axis, None, "x.wdf")
    with pytest.raises(FileFormatError, match="expected a Raman shift"):
        _raman_shift(np.array([1.0, 2.0]), {"name": "Energy", "units": "eV"}, 532.0, "x.wdf")


@pytest.mark.parametrize(
    "sep, decimal, header",
    [(";", ",", "Raman shift;Intensity"), ("\t", ",", ""), (" ", ",", "# shift  counts"),
     (",", ".", "shift,intensity"), (", ", ".", ""), ("\t", ".", "")],
)
def test_text_separators_and_decimal_marks(tmp_path, sep, decimal, header):
    """European exports write decimal commas with ';' or tab between the columns; every comma was
    a separator before, so ``1350,5;1200,3`` was read as four columns (three "spectra")."""
    x = np.linspace(800.0, 2000.0, 300)
    y = 200.0 + 1000.0 / (1 + ((x - 1590.0) / 30.0) ** 2)
    lines = [f"{a:.3f}{sep}{b:.3f}".replace(".", decimal) if decimal == "," else
             f"{a:.3f}{sep}{b:.3f}" for a, b in zip(x, y, strict=True)]
    f = tmp_path / "spectrum.txt"
    f.write_text("\n".join(([header] if header else []) + lines) + "\n")
    d = read_raman_text(f)
    assert d.intensity.shape == (1, 300)
    np.testing.assert_allclose(d.shift_cm1, x, atol=1e-3)
    np.testing.assert_allclose(d.intensity[0], y, atol=1e-3)
