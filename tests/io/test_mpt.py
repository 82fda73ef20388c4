"""EC-Lab .mpt: the writer, our tolerant reader, and the write -> read round trip."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sulfurscope.errors import FileFormatError
from sulfurscope.io import read_biologic_mpt, read_cycler, write_mpt
from sulfurscope.units import CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE
from tests.conftest import realdata_path


def _cycling_frame(n_per_step: int = 40, cycles: int = 2, current_ma: float = 0.35) -> pd.DataFrame:
    """Discharge, rest, charge, rest ... with a known current and exact steps."""
    parts = []
    t0 = 0.0
    step = 0
    for c in range(cycles):
        for sign, rest in ((-1.0, False), (0.0, True), (1.0, False), (0.0, True)):
            t = t0 + np.arange(n_per_step) * 30.0
            parts.append(
                pd.DataFrame(
                    {
                        TIME: t,
                        VOLTAGE: 2.1 + 0.3 * sign + 0.001 * np.arange(n_per_step) * (sign or 1),
                        CURRENT: np.full(n_per_step, sign * current_ma),
                        STEP: step,
                        REST: rest,
                        "Cycle": float(c + 1),
                    }
                )
            )
            t0 = t[-1] + 30.0
            step += 1
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def frame() -> pd.DataFrame:
    return _cycling_frame()


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("decimal", [".", ","])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_round_trip(
    tmp_path: Path, frame: pd.DataFrame, header: bool, decimal: str, newline: str
) -> None:
    meta = {"sulfur_mass_mg": 2.345, "technique": "GCPL", "comments": "synthetic"}
    path = write_mpt(
        frame, tmp_path / "cell.mpt", metadata=meta, header=header, decimal=decimal, newline=newline
    )
    raw = path.read_bytes()
    assert raw.startswith(b"EC-Lab ASCII FILE" + newline.encode())
    assert (b"\r\n" in raw) == (newline == "\r\n")
    data = read_cycler(path)
    assert data.format == "biologic-mpt"
    back = data.frame
    assert len(back) == len(frame)
    np.testing.assert_allclose(back[TIME], frame[TIME] - frame[TIME].iloc[0], rtol=1e-14)
    np.testing.assert_allclose(back[VOLTAGE], frame[VOLTAGE], rtol=1e-7)
    np.testing.assert_allclose(back[CURRENT], frame[CURRENT], rtol=1e-7)
    q_expected = pd.concat([frame], ignore_index=True)
    t = frame[TIME].to_numpy()
    i = frame[CURRENT].to_numpy()
    q = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))]) / 3600.0
    np.testing.assert_allclose(back[CHARGE], q, atol=1e-12)
    np.testing.assert_array_equal(back[STEP], frame[STEP])
    np.testing.assert_array_equal(back[REST], frame[REST])
    np.testing.assert_array_equal(back["Cycle (file)"], q_expected["Cycle"])
    # EC-Lab flags: mode 3 = rest, 1 = CC; ox/red 1 for positive current
    np.testing.assert_array_equal(back["Mode"], np.where(frame[REST], 3, 1))
    np.testing.assert_array_equal(back["Ox/red"], (frame[CURRENT] > 0).astype(int))
    if header:
        assert data.metadata["active_mass_mg"] == pytest.approx(2.345)
        assert data.metadata["technique"] == "GCPL"
        assert data.metadata["comments"] == "synthetic"
    else:
        assert data.metadata["n_header_lines"] == 3
        assert "active_mass_mg" not in data.metadata
    assert data.metadata["decimal"] == decimal


def test_writer_layout(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_mpt(frame, tmp_path / "a.mpt", metadata={"active_mass_mg": 1.5})
    lines = path.read_bytes().decode("cp1252").split("\r\n")
    assert lines[0] == "EC-Lab ASCII FILE"
    n_header = int(lines[1].split(":")[1])
    names = lines[n_header - 1].rstrip("\t").split("\t")
    assert names[:7] == [
        "mode",
        "ox/red",
        "error",
        "control changes",
        "Ns changes",
        "counter inc.",
        "Ns",
    ]
    for col in ("time/s", "control/V/mA", "Ewe/V", "I/mA", "dq/mA.h", "(Q-Qo)/mA.h", "half cycle"):
        assert col in names
    assert "cycle number" in names
    assert "Mass of active material : 1.500 mg" in lines
    first = lines[n_header].split("\t")
    # EC-Lab number format: 15 decimals, three-digit exponent
    assert first[names.index("time/s")] == "0.000000000000000E+000"
    # half cycle counts sign alternations: discharge 0, charge 1, discharge 2 ...
    data = read_biologic_mpt(path).frame
    assert data["Half cycle (file)"].max() == 3


def test_writer_is_atomic_and_leaves_no_temp(tmp_path: Path, frame: pd.DataFrame) -> None:
    target = tmp_path / "x.mpt"
    target.write_text("old")
    write_mpt(frame, target)
    assert target.read_bytes().startswith(b"EC-Lab ASCII FILE")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mpt"]


def test_writer_rejects_bad_input(tmp_path: Path, frame: pd.DataFrame) -> None:
    with pytest.raises(FileFormatError, match="no voltage column"):
        write_mpt(frame.drop(columns=[VOLTAGE]), tmp_path / "x.mpt")
    with pytest.raises(ValueError, match="decimal"):
        write_mpt(frame, tmp_path / "x.mpt", decimal=";")  # type: ignore[arg-type]
    assert not (tmp_path / "x.mpt").exists()


def test_writer_does_not_change_input(tmp_path: Path, frame: pd.DataFrame) -> None:
    before = frame.copy()
    write_mpt(frame, tmp_path / "x.mpt")
    pd.testing.assert_frame_equal(frame, before)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    currents=st.lists(
        st.floats(min_value=-50, max_value=50, allow_nan=False).map(lambda x: round(x, 4)),
        min_size=2,
        max_size=30,
    ),
    decimal=st.sampled_from([".", ","]),
    header=st.booleans(),
)
def test_round_trip_property(
    tmp_path: Path, currents: list[float], decimal: str, header: bool
) -> None:
    n = len(currents)
    frame = pd.DataFrame(
        {
            TIME: np.arange(n) * 1.5,
            VOLTAGE: np.linspace(1.7, 2.8, n),
            CURRENT: currents,
            STEP: np.arange(n) // 3,
            REST: np.array(currents) == 0.0,
        }
    )
    path = write_mpt(frame, tmp_path / "p.mpt", decimal=decimal, header=header)  # type: ignore[arg-type]
    back = read_cycler(path).frame
    np.testing.assert_allclose(back[CURRENT], frame[CURRENT], rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(back[STEP], frame[STEP])
    np.testing.assert_array_equal(back[REST], frame[REST])
    # charge is conserved: last charge equals the trapezoid integral of the current
    i = frame[CURRENT].to_numpy()
    q_end = np.sum(0.5 * (i[1:] + i[:-1]) * 1.5) / 3600.0
    assert back[CHARGE].iloc[-1] == pytest.approx(q_end, abs=1e-12)


# --------------------------------------------------------------------------------------------
# tolerant reader


def _write_text(
    path: Path,
    header_lines: list[str],
    names: list[str],
    rows: list[list[str]],
    *,
    newline: str = "\r\n",
    encoding: str = "cp1252",
) -> Path:
    n = 3 + len(header_lines)
    lines = ["EC-Lab ASCII FILE", f"Nb header lines : {n}", *header_lines, "\t".join(names) + "\t"]
    lines += ["\t".join(r) for r in rows]
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def test_reader_any_column_order_and_extra_columns(tmp_path: Path) -> None:
    names = ["Ewe/V", "Capacitance charge/µF", "Ns", "time/s", "mode", "I/mA", "Analog IN 1/V"]
    rows = [
        ["3,1", "0", "0", "0", "3", "0", "1,5"],
        ["3,0", "0", "1", "10", "1", "-2,5", "1,6"],
        ["2,9", "0", "1", "20", "1", "-2,5", "1,7"],
    ]
    path = _write_text(
        tmp_path / "odd.mpt",
        ["", "Galvanostatic Cycling with Potential Limitation", ""],
        names,
        rows,
        newline="\n",
    )
    data = read_cycler(path)
    f = data.frame
    np.testing.assert_allclose(f[VOLTAGE], [3.1, 3.0, 2.9])
    np.testing.assert_allclose(f[CURRENT], [0.0, -2.5, -2.5])
    assert list(f[REST]) == [True, False, False]
    assert list(f[STEP]) == [0, 1, 1]
    assert "Capacitance charge [uF]" in f.columns
    assert "Analog IN 1 [V]" in f.columns
    # no (Q-Qo) column: charge is the trapezoid integral of I/mA: (0 - 2.5)/2*10 - 2.5*10 mA s
    assert f[CHARGE].iloc[-1] == pytest.approx(-37.5 / 3600.0, rel=1e-12)
    assert data.metadata["technique"] == "GCPL"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8"])
def test_reader_encodings(tmp_path: Path, encoding: str) -> None:
    header = [
        "",
        "Modulo Bat",
        "",
        "Electrode surface area : 1.320 cm²",
        "Mass of active material : 2,5 mg",
    ]
    path = _write_text(
        tmp_path / "enc.mpt",
        header,
        ["time/s", "Ewe/V", "I/mA", "Temperature/°C"],
        [["0", "2.1", "0.1", "25"], ["1", "2.2", "0.1", "25"]],
        encoding=encoding,
    )
    data = read_biologic_mpt(path)
    assert data.metadata["electrode_area_cm2"] == pytest.approx(1.32)
    assert data.metadata["active_mass_mg"] == pytest.approx(2.5)
    assert data.metadata["technique"] == "MB"
    assert "Temperature [degC]" in data.frame.columns


def test_real_headerless_mpt_metadata_and_columns() -> None:
    data = read_biologic_mpt(realdata_path("echem", "biologic_gcpl_NaHC_halfcell_pr182_1.mpt"))
    assert data.metadata["n_header_lines"] == 3
    assert len(data.metadata["columns_in_file"]) == 31
    assert "Cycle (file)" in data.frame.columns


def test_real_full_header_mpt_metadata() -> None:
    data = read_biologic_mpt(realdata_path("echem", "biologic_bcd_issue241.mpt"))
    m = data.metadata
    assert m["n_header_lines"] == 76
    assert m["technique"] == "BCD"
    assert m["active_mass_mg"] == pytest.approx(7000.0)
    assert m["rest_time_s"] == [1800.0]
    assert m["settings"]["Is1"] == ["100.000"]
    assert m["device"].startswith("BCS-805")
    assert "Capacitance charge [uF]" in data.frame.columns  # cp1252 'µ' decoded


# --------------------------------------------------------------------------------------------
# errors


def test_mpt_missing_voltage(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "nov.mpt", [], ["time/s", "I/mA"], [["0", "1"], ["1", "1"]])
    with pytest.raises(FileFormatError, match=r"nov\.mpt: no voltage column"):
        read_cycler(path)


def test_mpt_missing_time(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "not.mpt", [], ["Ewe/V", "I/mA"], [["2", "1"], ["2", "1"]])
    with pytest.raises(FileFormatError, match=r"not\.mpt: no time column"):
        read_cycler(path)


def test_mpt_truncated_mid_row(tmp_path: Path, frame: pd.DataFrame) -> None:
    full = write_mpt(frame, tmp_path / "full.mpt").read_bytes()
    cut = tmp_path / "cut.mpt"
    cut.write_bytes(full[: len(full) - 60])
    with pytest.raises(FileFormatError, match=r"cut\.mpt: last data row has \d+ of \d+ fields"):
        read_cycler(cut)


def test_mpt_truncated_in_header(tmp_path: Path, frame: pd.DataFrame) -> None:
    full = write_mpt(frame, tmp_path / "full.mpt").read_bytes()
    cut = tmp_path / "head.mpt"
    cut.write_bytes(full[:300])
    with pytest.raises(FileFormatError, match=r"head\.mpt: header announces \d+ lines"):
        read_cycler(cut)


def test_mpt_header_only(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "h.mpt", [], ["time/s", "Ewe/V", "I/mA"], [])
    with pytest.raises(FileFormatError, match=r"h\.mpt: no data rows"):
        read_cycler(path)


def test_mpt_non_numeric(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "t.mpt", [], ["time/s", "Ewe/V", "I/mA"], [["0", "abc", "1"]])
    with pytest.raises(FileFormatError, match=r"t\.mpt: data rows are not numeric"):
        read_cycler(path)


def test_mpt_forced_on_wrong_file(tmp_path: Path) -> None:
    path = tmp_path / "x.mpt"
    path.write_text("time,voltage\n0,1\n")
    with pytest.raises(FileFormatError, match=r"x\.mpt: not an EC-Lab ASCII file"):
        read_cycler(path, format="biologic-mpt")


def test_mpt_read_only_input(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_mpt(frame, tmp_path / "ro.mpt")
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    before = path.read_bytes()
    data = read_cycler(path)
    assert len(data.frame) == len(frame)
    assert path.read_bytes() == before


def test_header_mass_not_rounded(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_mpt(frame, tmp_path / "m.mpt", metadata={"sulfur_mass_mg": 2.3626})
    assert read_cycler(path).metadata["active_mass_mg"] == pytest.approx(2.3626, rel=1e-12)
    assert b"Mass of active material : 2.362600 mg" in path.read_bytes()


def test_bt_lab_magic(tmp_path: Path, frame: pd.DataFrame) -> None:
    raw = write_mpt(frame, tmp_path / "ec.mpt").read_bytes()
    bt = tmp_path / "bt.mpt"
    bt.write_bytes(raw.replace(b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE", 1))
    assert len(read_cycler(bt).frame) == len(frame)


def test_decimal_comma_detected_beyond_first_row(tmp_path: Path) -> None:
    rows = [["0", "3", "0"], ["10", "2,95", "-1,5"], ["20", "2,9", "-1,5"]]
    path = _write_text(tmp_path / "c.mpt", [], ["time/s", "Ewe/V", "I/mA"], rows)
    np.testing.assert_allclose(read_cycler(path).frame[VOLTAGE], [3.0, 2.95, 2.9])
