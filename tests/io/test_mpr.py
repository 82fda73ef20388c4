"""BioLogic .mpr through galvani: oracle against the .mpt exports, settings, current, errors."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from sulfurscope.errors import FileFormatError
from sulfurscope.io import read_biologic_mpr, read_biologic_mpt, read_cycler
from sulfurscope.units import CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE
from tests.conftest import realdata_path

PAIRS = ["biologic_bcd_issue241", "biologic_gcpl_NaHC_halfcell_pr182_1"]


@pytest.mark.parametrize("stem", PAIRS)
def test_mpr_matches_mpt(stem: str) -> None:
    """Oracle (galvani's test_MPR_matches_MPT): the binary and EC-Lab's text export agree."""
    mpr = read_biologic_mpr(realdata_path("echem", f"{stem}.mpr")).frame
    mpt = read_biologic_mpt(realdata_path("echem", f"{stem}.mpt")).frame
    assert len(mpr) == len(mpt)
    np.testing.assert_allclose(mpr[TIME], mpt[TIME], rtol=0, atol=1e-6)
    # Ewe is float32 in the .mpr and printed with 8 significant digits in the .mpt
    np.testing.assert_allclose(mpr[VOLTAGE], mpt[VOLTAGE], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(mpr[CHARGE], mpt[CHARGE], rtol=0, atol=1e-12)
    # NaHC: the .mpr has no current (rebuilt from dq/dt); the .mpt has EC-Lab's own <I>/mA
    np.testing.assert_allclose(mpr[CURRENT], mpt[CURRENT], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(mpr[STEP], mpt[STEP])
    np.testing.assert_array_equal(mpr["Mode"], mpt["Mode"])
    np.testing.assert_array_equal(mpr[REST], mpt[REST])
    np.testing.assert_array_equal(mpr["Half cycle (file)"], mpt["Half cycle (file)"])
    shared = set(mpr.columns) & set(mpt.columns)
    assert {TIME, VOLTAGE, CURRENT, CHARGE, STEP, REST, "Mode", "Ox/red"} <= shared


def test_current_rebuilt_from_dq() -> None:
    data = read_biologic_mpr(realdata_path("echem", "biologic_gcpl_30min_rest_C04.mpr"))
    assert "I/mA" not in data.metadata["columns_in_file"]
    i = data.frame[CURRENT].to_numpy()
    on = ~data.frame[REST].to_numpy()
    # set point from the settings: Is = +/-3.8 mA
    assert np.median(np.abs(i[on])) == pytest.approx(3.8, rel=0.005)


def test_rests_inside_a_step_marked_by_mode() -> None:
    """GCPL rests share Ns with the pulse: only the mode flag marks them."""
    frame = read_biologic_mpr(realdata_path("echem", "biologic_gcpl_30min_rest_C04.mpr")).frame
    mixed = frame.groupby(STEP)[REST].agg(["any", "all"])
    assert (mixed["any"] & ~mixed["all"]).any()
    np.testing.assert_array_equal(frame[REST], frame["Mode"] == 3)


def test_settings_through_yadg() -> None:
    m = read_biologic_mpr(realdata_path("echem", "biologic_gcpl_30min_rest_C04.mpr")).metadata
    assert m["technique"] == "GCPL"
    assert m["rest_time_s"][1:] == [1800.0, 1800.0, 1800.0]
    assert m["settings"]["Is"][1] == pytest.approx(-3.8, rel=1e-6)
    assert "settings_error" not in m
    m2 = read_biologic_mpr(
        realdata_path("echem", "biologic_gcpl_NaHC_halfcell_pr182_1.mpr")
    ).metadata
    assert m2["active_mass_mg"] == pytest.approx(6.52, rel=1e-6)
    assert m2["electrode_material"] == "Hard Carbon"


def test_settings_yadg_failure_is_recorded() -> None:
    data = read_biologic_mpr(realdata_path("echem", "biologic_mb_geis_pulse_ocvrelax_biol.mpr"))
    assert "Apply I/C" in data.metadata["settings_error"]
    assert len(data.frame) == 23561


@pytest.mark.parametrize("parse", [True, False])
def test_settings_option(parse: bool) -> None:
    data = read_cycler(realdata_path("echem", "biologic_bcd_issue241.mpr"), settings=parse)
    assert ("settings" in data.metadata) is parse
    assert data.metadata["n_points"] == 2550


def test_column_unknown_to_galvani_resolved_through_yadg() -> None:
    data = read_biologic_mpr(realdata_path("echem", "biologic_gcpl_newcols_issue230.mpr"))
    assert data.metadata["columns_from_yadg"] == {
        "unknown_colID_883": "Energy ce charge/W.h",
        "unknown_colID_884": "Energy ce discharge/W.h",
    }
    for col in ("Charge energy CE [Wh]", "Discharge energy CE [Wh]"):
        values = data.frame[col].to_numpy()
        assert values.dtype == np.float64
        # read with yadg's dtype (<f8), the energies are finite, non-negative and small
        assert np.isfinite(values).all() and values.min() >= 0.0 and values.max() < 1.0


def _column_id_offset(path: Path) -> int:
    """Byte offset of the first column id in the data module (module version 2/3)."""
    from galvani import BioLogic

    with open(path, "rb") as fh:
        fh.read(len(BioLogic.MPR_MAGIC))
        for mod in BioLogic.read_VMP_modules(fh, read_module_data=False):
            if mod["shortname"].strip() == b"VMP data":
                assert mod["version"] in (2, 3)
                return int(mod["offset"]) + 5
    raise AssertionError("no data module")


def test_unknown_column_id(tmp_path: Path) -> None:
    src = realdata_path("echem", "biologic_bcd_issue241.mpr")
    bad = tmp_path / "cell_07.mpr"
    raw = bytearray(src.read_bytes())
    off = _column_id_offset(src)
    ids = np.frombuffer(bytes(raw[off : off + 2 * 8]), dtype="<u2")
    k = int(np.flatnonzero(ids == 6)[0])  # Ewe/V -> an id nobody knows
    raw[off + 2 * k : off + 2 * k + 2] = np.uint16(4000 + 249).tobytes()
    bad.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match=r"cell_07\.mpr: column id 4249 unknown"):
        read_cycler(bad)


def test_truncated_mpr(tmp_path: Path) -> None:
    src = realdata_path("echem", "biologic_gcpl_30min_rest_C04.mpr")
    cut = tmp_path / "cut.mpr"
    cut.write_bytes(src.read_bytes()[:100_000])
    with pytest.raises(FileFormatError, match=r"cut\.mpr: not a readable BioLogic \.mpr file"):
        read_cycler(cut)


def test_png_renamed_mpr(tmp_path: Path) -> None:
    png = tmp_path / "image.mpr"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(FileFormatError, match=r"image\.mpr: not a BioLogic \.mpr file"):
        read_cycler(png)


def test_read_only_mpr(tmp_path: Path) -> None:
    src = realdata_path("echem", "biologic_gcpl_NaHC_halfcell_pr182_1.mpr")
    ro = tmp_path / "ro.mpr"
    shutil.copyfile(src, ro)
    os.chmod(ro, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    assert len(read_cycler(ro).frame) == 2533


def test_mpr_and_mpt_metadata_agree() -> None:
    a = read_biologic_mpr(realdata_path("echem", "biologic_bcd_issue241.mpr")).metadata
    b = read_biologic_mpt(realdata_path("echem", "biologic_bcd_issue241.mpt")).metadata
    for key in ("technique", "active_mass_mg", "rest_time_s", "n_points", "comments"):
        assert a[key] == b[key], key
    assert a["battery_capacity_mah"] == pytest.approx(b["battery_capacity_mah"], rel=1e-3)
    assert a["electrode_area_cm2"] == pytest.approx(b["electrode_area_cm2"], rel=1e-6)


@pytest.mark.parametrize(
    "name", ["biologic_ocv_yadg.mpr", "biologic_ocv_aurora_commercial_cell_C01.mpr"]
)
def test_ocv_mpr_without_current_reads_with_zero_current(name: str) -> None:
    """README batch 2 B13/B14 (F7): an OCV record has no current or charge column; I = 0 by
    definition. Voltages and times equal yadg's (the oracle)."""
    mpr = pytest.importorskip("yadg.extractors.eclab.mpr")
    path = realdata_path("echem", name)
    data = read_cycler(path)
    oracle = mpr.extract_from_path(str(path), timezone="UTC").to_dataset()
    np.testing.assert_allclose(data.frame["Voltage [V]"], oracle["Ewe"].values, rtol=1e-7)
    t = np.asarray(oracle["uts"].values if "uts" in oracle else oracle["time"].values, float)
    np.testing.assert_allclose(data.frame["Time [s]"], t - t[0], atol=1e-3)
    assert (data.frame["Current [mA]"] == 0).all() and (data.frame["Charge [mAh]"] == 0).all()
    assert "OCV" in data.metadata["current"]


def test_mpt_exported_without_header_reads_like_with_header(tmp_path) -> None:
    """EC-Lab can export an .mpt without its header: the first line is then the column line."""
    src = realdata_path("echem", "biologic_gcpl_NaHC_halfcell_pr182_1.mpt")
    raw = src.read_bytes()
    n = int(raw.split(b"\n")[1].split(b":")[1])
    bare = tmp_path / "no_header.mpt"
    bare.write_bytes(b"\n".join(raw.split(b"\n")[n - 1:]))
    full, headerless = read_cycler(src), read_cycler(bare)
    assert headerless.format == "biologic-mpt" and headerless.metadata["n_header_lines"] == 1
    assert "without its header" in headerless.metadata["header"]
    for col in (TIME, VOLTAGE, CURRENT, CHARGE, STEP):
        np.testing.assert_array_equal(headerless.frame[col], full.frame[col])
    bare.rename(tmp_path / "no_header.txt")  # found by its content, not its extension
    assert read_cycler(tmp_path / "no_header.txt").format == "biologic-mpt"


def test_peis_mpr_reads_its_impedance_columns_against_yadg() -> None:
    """README batch 2 B16 (F9): a PEIS file (4 sweeps × 61 frequencies, only ⟨Ewe⟩/⟨I⟩). The
    impedance columns are read as the file means them (oracle: yadg); the technique is kept so
    the cycling and GITT analyses refuse the file (tests/cli/test_cycling_cli.py)."""
    mpr = pytest.importorskip("yadg.extractors.eclab.mpr")
    path = realdata_path("echem", "biologic_peis_aurora.mpr")
    data = read_cycler(path)
    oracle = mpr.extract_from_path(str(path), timezone="UTC").to_dataset()
    f = data.frame
    assert len(f) == 244 and data.metadata["technique"] == "PEIS"
    for ours, theirs in [("Frequency [Hz]", "freq"), ("Re(Z) [Ohm]", "Re(Z)"),
                         ("-Im(Z) [Ohm]", "-Im(Z)"), ("Voltage [V]", "<Ewe>")]:
        np.testing.assert_allclose(f[ours], oracle[theirs].values, rtol=1e-6, err_msg=ours)
    np.testing.assert_array_equal(f["Cycle (file)"], oracle["cycle number"].values)
