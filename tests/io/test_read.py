"""read_cycler: format detection, forced formats, vendor errors, read-only access."""

from __future__ import annotations

import builtins
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sulfurscope.io as sio
from sulfurscope.errors import FileFormatError, InputRepairWarning
from sulfurscope.io import CYCLER_FORMATS, detect_cycler_format, read_cycler, write_mpt
from sulfurscope.units import CURRENT, REST, TIME, VOLTAGE
from tests.conftest import realdata_path


def test_public_api() -> None:
    for name in (
        "CyclerData",
        "finalize_cycler_frame",
        "read_cycler",
        "write_mpt",
        "read_biologic_mpr",
        "read_biologic_mpt",
        "read_arbin_res",
        "read_neware",
        "read_maccor",
    ):
        assert name in sio.__all__
        assert callable(getattr(sio, name)) or name == "CyclerData"


@pytest.mark.parametrize("ext", [".mpr", ".mpt", ".res", ".nda", ".ndax", ".070", ".txt"])
def test_empty_file(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"empty{ext}"
    path.write_bytes(b"")
    with pytest.raises(FileFormatError, match=rf"empty{ext}: empty file"):
        read_cycler(path)


@pytest.mark.parametrize("fmt", CYCLER_FORMATS)
def test_empty_file_forced(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"empty\.bin: "):
        read_cycler(path, format=fmt)  # type: ignore[arg-type]


def test_unknown_file(tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(FileFormatError, match=r"picture\.png: unknown cycler file .* format="):
        read_cycler(path)


def test_unknown_format_name(tmp_path: Path) -> None:
    path = tmp_path / "a.mpt"
    path.write_bytes(b"EC-Lab ASCII FILE\r\n")
    with pytest.raises(FileFormatError, match=r"a\.mpt: format='gamry' is not available"):
        read_cycler(path, format="gamry")  # type: ignore[arg-type]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.mpr"):
        read_cycler(tmp_path / "nope.mpr")


def test_content_beats_extension(tmp_path: Path) -> None:
    frame = pd.DataFrame({TIME: [0.0, 1.0], VOLTAGE: [2.0, 2.1], CURRENT: [1.0, 1.0]})
    path = write_mpt(frame, tmp_path / "export.txt")
    assert detect_cycler_format(path) == "biologic-mpt"
    assert read_cycler(path).format == "biologic-mpt"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("biologic_gcpl_30min_rest_C04.mpr", "biologic-mpt"),
        ("neware_navani_test.ndax", "maccor"),
        ("maccor_diag_xTESLADIAG_000019_CH70.070", "biologic-mpr"),
        ("biologic_bcd_issue241.mpt", "neware"),
        ("biologic_bcd_issue241.mpt", "arbin-res"),
    ],
)
def test_forced_wrong_format(name: str, fmt: str) -> None:
    with pytest.raises(FileFormatError, match=name.replace(".", r"\.")):
        read_cycler(realdata_path("echem", name), format=fmt)  # type: ignore[arg-type]


def test_arbin_without_mdbtools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(FileFormatError, match=r"needs 'mdb-export' from mdbtools"):
        read_cycler(realdata_path("echem", "arbin_cycling_navani_example.res"))


def test_arbin_truncated(tmp_path: Path) -> None:
    src = realdata_path("echem", "arbin_cycling_navani_example.res")
    cut = tmp_path / "cut.res"
    cut.write_bytes(src.read_bytes()[:4096])
    with pytest.raises(FileFormatError, match=r"cut\.res: "):
        read_cycler(cut)


def test_neware_truncated(tmp_path: Path) -> None:
    src = realdata_path("echem", "neware_navani_test.ndax")
    cut = tmp_path / "cut.ndax"
    cut.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(FileFormatError, match=r"cut\.ndax: not a readable Neware"):
        read_cycler(cut)


def test_maccor_truncated(tmp_path: Path) -> None:
    src = realdata_path("echem", "maccor_diag_xTESLADIAG_000019_CH70.070")
    raw = src.read_bytes()
    cut = tmp_path / "cut.070"
    cut.write_bytes(raw[: raw.rfind(b"\t", 0, 200_000)])
    with pytest.warns(InputRepairWarning, match=r"cut\.070: dropped the last of \d+ rows"):
        data = read_cycler(cut)  # the incomplete last row is dropped, and said
    full = read_cycler(src).frame
    n = len(data.frame)
    np.testing.assert_array_equal(data.frame["Voltage [V]"], full["Voltage [V]"][:n])


def test_maccor_sign_from_state() -> None:
    frame = read_cycler(realdata_path("echem", "maccor_diag_xTESLADIAG_000019_CH70.070")).frame
    state = frame["State"].astype(str).to_numpy()
    i = frame[CURRENT].to_numpy()
    assert (i[state == "C"] >= 0).all() and (i[state == "C"] > 0).any()
    assert (i[state == "D"] <= 0).all() and (i[state == "D"] < 0).any()
    assert (i[state == "R"] == 0).all()
    np.testing.assert_array_equal(frame[REST], state == "R")


@pytest.mark.parametrize(
    "name",
    [
        "biologic_bcd_issue241.mpr",
        "biologic_bcd_issue241.mpt",
        "arbin_cycling_navani_example.res",
        "neware_navani_test.nda",
        "neware_navani_test.ndax",
        "maccor_diag_xTESLADIAG_000019_CH70.070",
    ],
)
def test_inputs_opened_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Copy made read-only (0o444), and every open() the readers make is a read mode."""
    src = realdata_path("echem", name)
    ro = tmp_path / name
    shutil.copyfile(src, ro)
    ro.chmod(0o444)
    modes: list[str] = []
    real_open = builtins.open

    def spy(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file) == str(ro):
            modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    data = read_cycler(ro)
    assert len(data.frame) > 0
    assert all(set(m) <= set("rbt") for m in modes), modes
    assert ro.read_bytes() == src.read_bytes()


def test_neware_log_messages_go_to_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    data = read_cycler(realdata_path("echem", "neware_charge_252k_IFE_BTS85.ndax"))
    assert any("unix_time_s" in m for m in data.metadata["reader_messages"])
    assert "IMPORTANT" not in capsys.readouterr().err
    t = data.frame[TIME].to_numpy()
    assert np.all(np.diff(t) >= 0)  # Time [s] comes from total_time_s, not the unix clock


def test_maccor_day_format_times_and_counter_charge_against_pandas() -> None:
    """README batch 2 B1 (F1): 'Nd hh:mm:ss.sss' times and a 3-line title. Oracle: a plain pandas
    parse (sep TAB, 3 title lines) and the cycler's own step-end Amp-hr counters."""
    import pandas as pd

    src = realdata_path("echem", "maccor_cellpy_001_dayformat_time.txt")
    ref = pd.read_csv(src, sep="\t", skiprows=3, encoding="latin-1", index_col=False)
    data = read_cycler(src)
    f = data.frame
    assert len(f) == len(ref) == 6704
    days = ref["TestTime"].str.extract(r"(\d+)d\s+(\d+):(\d+):([\d.]+)").astype(float)
    seconds = days[0] * 86400 + days[1] * 3600 + days[2] * 60 + days[3]
    np.testing.assert_allclose(f["Time [s]"], seconds - seconds[0], atol=1e-6)
    assert f["Time [s]"].iloc[-1] == pytest.approx(183171.57, abs=0.01)
    np.testing.assert_allclose(f["Voltage [V]"], ref["Volts"])
    sign = ref["State"].str.strip().map({"C": 1.0, "D": -1.0}).fillna(0.0)
    np.testing.assert_allclose(f["Current [mA]"], 1000 * ref["Amps"].abs() * sign)
    step_end = ref.groupby((ref["Step"] != ref["Step"].shift()).cumsum()).tail(1)
    dis = step_end.loc[step_end["State"].str.strip() == "D", "Amp-hr"].sum()
    chg = step_end.loc[step_end["State"].str.strip() == "C", "Amp-hr"].sum()
    assert (dis, chg) == (pytest.approx(17.36311, abs=1e-5), pytest.approx(17.62360, abs=1e-5))
    assert f["Charge [mAh]"].iloc[-1] == pytest.approx(1000 * (chg - dis), abs=1e-6)
    assert "counter" in data.metadata["charge_source"]
    assert "Aux #1 [C]" in f.columns  # auxiliary channels carried with their unit


def test_maccor_key_value_header_decimal_comma_minutes_against_pandas() -> None:
    """README batch 2 B2 (F1): a key/value header, blank lines, decimal commas, TestTime in minutes
    (the date-time column advances 60 s per row), a truncated last line."""
    import pandas as pd

    src = realdata_path("echem", "maccor_cellpy_two_KIT-SIMBA_kvheader.txt")
    ref = pd.read_csv(src, sep="\t", skiprows=13, decimal=",", encoding="latin-1",
                      index_col=False)
    assert len(ref) == 214
    complete = ref.dropna(subset=["DPT Time"])  # the last line is cut off before it
    with pytest.warns(InputRepairWarning, match="dropped the last"):
        data = read_cycler(src)
    f = data.frame
    assert len(f) == len(complete) == 213
    np.testing.assert_allclose(f["Voltage [V]"], complete["Voltage [V]"].astype(float))
    np.testing.assert_allclose(f["Time [s]"], 60.0 * complete["TestTime"].astype(float))
    assert data.metadata["time_unit"] == "min" and data.metadata["decimal"] == ","
    assert data.metadata["procedure"] == "SIMBA.000"


def test_neware_pulse_charge_from_the_cycler_counter() -> None:
    """README batch 2 B15 (F8): a ±2 A, 30 s pulse pair. The charge comes from the cycler's own
    per-step capacity counter; NewareNDA's step-end capacities are the oracle (16.681528 mAh
    charged, 16.640799 mAh discharged)."""
    data = read_cycler(realdata_path("echem", "neware_pulse_2A_46_1_5_60_bts16.ndax"))
    q = data.frame["Charge [mAh]"]
    assert q.max() == pytest.approx(16.681528, abs=1e-5)
    assert q.iloc[-1] == pytest.approx(16.681528 - 16.640799, abs=1e-5)
    assert "counter" in data.metadata["charge_source"]


NEWARE_FILES = ["neware_cccv_5cycles_nw4-120-6-1-36.ndax", "neware_charge_252k_IFE_BTS85.ndax",
                 "neware_navani_test.nda", "neware_navani_test.ndax",
                 "neware_pulse_2A_46_1_5_60_bts16.ndax"]


@pytest.mark.parametrize("name", NEWARE_FILES)
def test_neware_charge_and_voltage_against_newarenda(name: str) -> None:
    """Oracle: NewareNDA (an independent reader of the same binary). Its per-step
    Charge_/Discharge_Capacity counters, chained over steps, are the running net charge; ours
    must equal it at every point (float32 counters: 1e-3 mAh), and the voltages must agree."""
    NewareNDA = pytest.importorskip("NewareNDA")
    path = realdata_path("echem", name)
    ref = NewareNDA.read(str(path))
    data = read_cycler(path)
    f = data.frame
    assert len(f) == len(ref)
    net = (ref["Charge_Capacity(mAh)"] - ref["Discharge_Capacity(mAh)"]).to_numpy()
    step = ref["Step"].to_numpy()
    new_step = np.r_[False, step[1:] != step[:-1]]
    offset = np.cumsum(np.where(new_step, np.r_[0.0, net[:-1]], 0.0))
    expected = offset + net
    ours = f["Charge [mAh]"].to_numpy()
    np.testing.assert_allclose(ours - ours[0], expected - expected[0], atol=1e-3)
    np.testing.assert_allclose(f["Voltage [V]"], ref["Voltage"], atol=1e-6)
    np.testing.assert_allclose(f["Current [mA]"], ref["Current(mA)"], atol=1e-3)
    assert "counter" in data.metadata["charge_source"]


def test_counter_charge_differs_from_the_integral_of_a_sparse_log() -> None:
    """Why the counter: a square current pulse logged every 10 s, starting on its ramp, integrates
    wrong; the counter (the cycler's own fine integration) is right."""
    from sulfurscope.io._canonical import charge_from_step_counter

    t = np.arange(0, 31, 10.0)  # 0, 10, 20, 30 s; the pulse runs 1 s … 30 s at 2000 mA
    step = np.ones(len(t), dtype=int)
    counter = 2000.0 * np.clip(t - 1.0, 0, None) / 3600.0  # the cycler's own count
    q = charge_from_step_counter(step, counter)
    assert q[-1] == pytest.approx(2000 * 29 / 3600)
    logged = np.array([0.0, 2000.0, 2000.0, 2000.0])
    integral = np.sum(0.5 * (logged[1:] + logged[:-1]) * np.diff(t)) / 3600
    assert abs(integral - q[-1]) > 0.01 * q[-1]  # the sampled integral is off
    assert charge_from_step_counter(np.array([1, 1, 2, 2]), np.array([0, 1, 1.5, 2.0])) is None


def test_arbin_charge_from_its_counters_against_mdb_export() -> None:
    """Arbin's Charge_/Discharge_Capacity restart every cycle; the running charge is the sum of the
    finished cycles' (Qc − Qd) plus the current cycle's. Oracle: mdb-export's CSV read by pandas."""
    import io
    import subprocess

    import pandas as pd

    path = realdata_path("echem", "arbin_cycling_navani_example.res")
    csv = subprocess.run(["mdb-export", str(path), "Channel_Normal_Table"], capture_output=True,
                         check=True).stdout
    ref = pd.read_csv(io.BytesIO(csv)).sort_values("Data_Point")
    net = 1000 * (ref["Charge_Capacity"] - ref["Discharge_Capacity"])
    ends = ref.groupby("Cycle_Index").tail(1)
    expected_end = 1000 * (ends["Charge_Capacity"] - ends["Discharge_Capacity"]).sum()
    data = read_cycler(path)
    assert data.frame["Charge [mAh]"].iloc[-1] == pytest.approx(expected_end - net.iloc[0], abs=1e-9)
    assert "counters" in data.metadata["charge_source"]


def test_arbin_aux_channels_become_columns() -> None:
    """The long Auxiliary_Table pivots to one column per channel, aligned on Data_Point, named and
    unit-labelled from Aux_Global_Data_Table or Arbin's data type."""
    import pandas as pd

    from sulfurscope.io.arbin import aux_columns

    aux = pd.DataFrame({"Data_Point": [1, 2, 3, 1, 3], "Auxiliary_Index": [0, 0, 0, 1, 1],
                        "Data_Type": [1, 1, 1, 0, 0], "X": [25.0, 25.5, 26.0, 3.1, 3.3]})
    names = pd.DataFrame({"Auxiliary_Index": [0], "Data_Type": [1], "Nickname": ["Cell T"],
                          "Unit": ["°C"]})
    cols = aux_columns(aux, names, np.array([1, 2, 3, 4]))
    np.testing.assert_array_equal(cols["Cell T 1 [°C]"], [25.0, 25.5, 26.0, np.nan])
    np.testing.assert_array_equal(cols["Aux voltage 2 [V]"], [3.1, np.nan, 3.3, np.nan])
