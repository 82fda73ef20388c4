"""XPS readers: every real file, oracles (yadg, pynxtools-xps), VAMAS round trips and quirks, errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from sulfurscope.errors import FileFormatError, SulfurscopeError
from sulfurscope.io.xps import (
    read_phi,
    read_vamas,
    read_xps,
    read_xps_text,
    select_region,
    write_vamas,
)
from sulfurscope.simulate.xps import simulate_xps
from sulfurscope.spectra.xps import XPSSpectrum
from tests.conftest import realdata_path

NPL = "PHI_VersaProbeII_Multipak_C1s_Mo3d_N1s_O1s_S2p.npl"
SPE0 = "PHI_Quantum2000_F1s_survey_test0.spe"
SPE1 = "PHI_Quantum2000_F1s_survey_test1.spe"
PRO = "PHI_VersaProbe4_depthprofile_C1s_Si2p_Sn3d5.pro"


def _xps(name: str) -> Path:
    return realdata_path("spectro", "xps", name)


# ------------------------------------------------------------------------------- real files


@pytest.mark.realdata
def test_multipak_vamas_regions() -> None:
    d = read_xps(_xps(NPL))
    assert d.format == "vamas"
    got = {
        s.region: (s.binding_energy_ev.size, s.binding_energy_ev[0], s.binding_energy_ev[-1])
        for s in d.spectra
    }
    assert got == {
        "C 1s": (601, 275.0, 305.0),
        "Mo 3d": (401, 220.0, 240.0),
        "N 1s": (401, 390.0, 410.0),
        "O 1s": (601, 525.0, 555.0),
        "S 2p": (501, 155.0, 180.0),
    }
    s2p = select_region(d, "S2p")
    # the file stores 180 → 155 eV; the first stored ordinate (at 180 eV) ends our ascending axis
    assert np.all(np.diff(s2p.binding_energy_ev) > 0)
    assert s2p.source_energy_ev == 1486.6
    assert d.metadata["instrument"].startswith("PHI VersaProbe II")


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "npts"), [(SPE0, 161), (SPE1, 201)])
def test_phi_spe_regions(name: str, npts: int) -> None:
    d = read_xps(_xps(name))
    got = {s.region: s.binding_energy_ev.size for s in d.spectra}
    assert got == {"Survey": 3401, "F 1s": npts}
    f1s = select_region(d, "F 1s")
    assert (f1s.binding_energy_ev[0], f1s.binding_energy_ev[-1]) == (675.0, 695.0)
    assert d.metadata["instrument"] == "PHI Quantum 2000"


@pytest.mark.realdata
def test_phi_pro_depth_profile() -> None:
    d = read_xps(_xps(PRO))
    assert len(d.spectra) == 4 * 21
    assert {s.region for s in d.spectra} == {"Survey", "C 1s", "Si 2p", "Sn 3d5"}
    assert sorted({s.cycle for s in d.spectra}) == list(range(21))
    prof = d.depth_profile.pivot(index="Cycle", columns="Region", values="Area [counts/s·eV]")
    # SnO2 10 nm on Si: Sn falls and Si rises with sputtering; adventitious C goes after cycle 0
    assert prof["Sn 3d5"].iloc[-1] < 0.5 * prof["Sn 3d5"].max()
    assert prof["Si 2p"].iloc[-1] > 10 * max(prof["Si 2p"].iloc[0], 1.0)
    assert prof["C 1s"].iloc[0] > 3 * prof["C 1s"].iloc[-1]
    times = d.depth_profile[d.depth_profile.Region == "C 1s"]["Sputter time [s]"].to_numpy()
    assert np.all(np.diff(times) > 0)
    with pytest.raises(SulfurscopeError, match="no region"):
        select_region(d, "S 2p", cycle=3)


@pytest.mark.realdata
@pytest.mark.parametrize("name", [SPE0, SPE1])
def test_spe_matches_yadg(name: str) -> None:
    yadg_spe = pytest.importorskip("yadg.extractors.phi.spe")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = yadg_spe.extract_from_path(_xps(name))
    ours = read_xps(_xps(name))
    mapping = {"1su": "Survey", "F1s": "F 1s"}
    for key, node in tree.children.items():
        ds = node.to_dataset()
        mine = select_region(ours, mapping[key])
        np.testing.assert_allclose(mine.binding_energy_ev, ds["E"].values[::-1])
        np.testing.assert_allclose(mine.intensity, ds["y"].values[::-1])


@pytest.mark.realdata
def test_npl_matches_pynxtools_xps() -> None:
    vms = pytest.importorskip("pynxtools_xps.parsers.vms.parser")
    p = vms.VamasParser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p.parse(_xps(NPL))
    ours = read_xps(_xps(NPL))
    dwell = {b["region"]: b["dwell_time_s"] for b in ours.metadata["blocks"]}
    assert len(p._data) == 5
    for key, spec in p._data.items():
        region = key.split("__")[-1]
        mine = select_region(ours, region)
        e = spec.data.coords["energy"].values
        y = spec.data.values.ravel()
        np.testing.assert_allclose(mine.binding_energy_ev, e[::-1])
        # pynxtools-xps divides the c/s ordinates by the dwell time (0.4 s here), rounded to 0.01
        np.testing.assert_allclose(mine.intensity, y[::-1] * dwell[mine.region], atol=0.006)


@pytest.mark.realdata
def test_pro_matches_pynxtools_xps() -> None:
    phi = pytest.importorskip("pynxtools_xps.parsers.phi.parser")
    p = phi.PHIParser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p.parse(_xps(PRO))
    ours = read_xps(_xps(PRO))
    for key, spec in p._data.items():
        region = "Survey" if key == "Su1s" else key
        arr = spec.data.values[0]  # (cycles, points)
        mine = np.array(
            [
                s.intensity
                for s in ours.spectra
                if s.region.replace(" ", "") == region.replace(" ", "")
            ]
        )
        assert mine.shape == arr.shape
        np.testing.assert_allclose(mine[:, ::-1], arr, rtol=1e-6)


# ------------------------------------------------------------------------------- VAMAS round trips


@pytest.mark.parametrize("scan_mode", ["REGULAR", "IRREGULAR"])
@pytest.mark.parametrize("axis", ["binding", "kinetic"])
def test_vamas_round_trip(tmp_path: Path, scan_mode: str, axis: str) -> None:
    a = simulate_xps(rng=0)
    b = simulate_xps(
        "F 1s/paper",
        areas={"LiF": 900, "C-F": 300, "CHF-OCO2": 200, "POF3/PF6": 100},
        energy_ev=np.linspace(680, 695, 151),
        rng=1,
    )
    p = write_vamas([a, b], tmp_path / "x.vms", axis=axis, scan_mode=scan_mode)  # type: ignore[arg-type]
    d = read_vamas(p)
    assert [s.region for s in d.spectra] == ["S 2p", "F 1s"]
    for s, t in zip(d.spectra, (a, b), strict=True):
        np.testing.assert_allclose(s.binding_energy_ev, t.binding_energy_ev, atol=1e-9)
        np.testing.assert_allclose(s.intensity, t.intensity)
    assert d.metadata["blocks"][0]["axis"] == (
        "binding" if axis == "binding" else "kinetic → binding"
    )


def test_vamas_quirks_nul_names_leading_blank_lines_and_lf(tmp_path: Path) -> None:
    p = write_vamas([simulate_xps(rng=0)], tmp_path / "x.vms")
    text = p.read_text(encoding="latin-1").replace("\r\n", "\n")
    text = "\n\n  \n" + text.replace("\nS\n2p\n", "\nS\n2p\x00\x00\x00\n", 1)
    q = tmp_path / "quirky.npl"
    q.write_bytes(text.encode("latin-1"))
    (s,) = read_xps(q).spectra
    assert s.region == "S 2p"


def test_kinetic_axis_uses_the_source_energy_and_work_function(tmp_path: Path) -> None:
    a = simulate_xps(rng=0, source_energy_ev=1253.6)  # Mg Kα
    p = write_vamas([a], tmp_path / "mg.vms", axis="kinetic")
    (s,) = read_vamas(p).spectra
    np.testing.assert_allclose(s.binding_energy_ev, a.binding_energy_ev, atol=1e-9)
    (w,) = read_vamas(p, work_function_ev=4.5).spectra
    np.testing.assert_allclose(w.binding_energy_ev, a.binding_energy_ev - 4.5, atol=1e-9)


def test_regular_needs_a_uniform_axis(tmp_path: Path) -> None:
    s = XPSSpectrum("S 2p", np.array([1.0, 2.0, 4.0]), np.ones(3), 1486.6)
    with pytest.raises(SulfurscopeError, match="IRREGULAR"):
        write_vamas([s], tmp_path / "x.vms")
    d = read_vamas(write_vamas([s], tmp_path / "y.vms", scan_mode="IRREGULAR"))
    np.testing.assert_allclose(d.spectra[0].binding_energy_ev, [1.0, 2.0, 4.0])


def test_text_reader(tmp_path: Path) -> None:
    p = tmp_path / "s2p.txt"
    p.write_text("# region: S2p\nBE\tcounts\n170.0\t5\n165.0\t7\n160.0\t9\n")
    d = read_xps(p)
    (s,) = d.spectra
    assert s.region == "S 2p"
    assert s.binding_energy_ev.tolist() == [160.0, 165.0, 170.0]
    assert s.intensity.tolist() == [9.0, 7.0, 5.0]
    q = tmp_path / "F1s.csv"
    q.write_text("680,1\n681,2\n")
    assert read_xps_text(q).spectra[0].region == "F 1s"


# ------------------------------------------------------------------------------- errors


def test_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.vms"
    bad.write_text("hello\n")
    with pytest.raises(FileFormatError, match="not a VAMAS file"):
        read_xps(bad)
    good = write_vamas([simulate_xps(rng=0)], tmp_path / "g.vms")
    cut = tmp_path / "cut.vms"
    cut.write_text("\n".join(good.read_text(encoding="latin-1").splitlines()[:60]))
    with pytest.raises(FileFormatError, match="ends early"):
        read_vamas(cut)
    spe = tmp_path / "x.spe"
    spe.write_bytes(b"nothing here")
    with pytest.raises(FileFormatError, match="SOFH"):
        read_phi(spe)
    other = tmp_path / "x.abc"
    other.write_bytes(b"\x00\x01")
    with pytest.raises(FileFormatError, match="unknown XPS format"):
        read_xps(other)
    empty = tmp_path / "e.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(FileFormatError, match="no two-column"):
        read_xps(empty)
    with pytest.raises(FileFormatError, match="no such file"):
        read_xps(tmp_path / "missing.vms")


@pytest.mark.realdata
def test_truncated_phi_binary(tmp_path: Path) -> None:
    raw = _xps(SPE0).read_bytes()
    p = tmp_path / "t.spe"
    p.write_bytes(raw[: len(raw) - 5000])
    with pytest.raises(FileFormatError, match="past the end"):
        read_phi(p)


@pytest.mark.parametrize(
    ("name", "cps_max"),
    [
        # README batch 2 (B4, B5): counts / (dwell × scans), as CasaXPS and the FAIRmat parser show
        ("vamas_omicron_EIS_counts_dwell0p2_feranick_c.vms", [12660, 11862.5, 880.7, 14319.2, 4251.7]),
        ("vamas_casaxps_Pd3d_intensity_dwell0p2_feranick.vms", [38488, 50406, 6240]),
    ],
)
def test_vamas_counts_become_counts_per_second_like_the_vamas_oracle(name, cps_max) -> None:
    """An ordinate in counts (unit 'd') is divided by dwell × scans; the oracle (the vamas package)
    reads the raw counts, dwell and scans of every block."""
    vamas = pytest.importorskip("vamas")
    path = realdata_path("spectro", "xps", name)
    ours = read_vamas(path)
    oracle = vamas.Vamas(str(path)).blocks
    assert len(ours.spectra) == len(oracle) == len(cps_max)
    for s, b, expected, meta in zip(ours.spectra, oracle, cps_max, ours.metadata["blocks"], strict=True):
        counts = np.asarray(b.corresponding_variables[0].y_values, dtype=float)
        divisor = b.signal_collection_time * b.num_scans_to_compile_block
        assert meta["ordinate_unit"] == b.corresponding_variables[0].unit == "d"
        assert meta["intensity_divisor"] == pytest.approx(divisor)
        np.testing.assert_allclose(np.sort(s.intensity), np.sort(counts / divisor), rtol=1e-12)
        assert s.intensity.max() == pytest.approx(expected, abs=0.06)


def test_vamas_counts_per_second_are_kept() -> None:
    """A block already in c/s (MultiPak .npl) is not divided again."""
    d = read_vamas(realdata_path("spectro", "xps", "PHI_VersaProbeII_Multipak_C1s_Mo3d_N1s_O1s_S2p.npl"))
    assert {b["intensity_divisor"] for b in d.metadata["blocks"]} == {1.0}
    assert {b["ordinate_unit"] for b in d.metadata["blocks"]} == {"c/s"}


def test_specs_xy_multiregion_matches_pynxtools_xps() -> None:
    """README batch 2 B6: one spectrum per region and cycle (never glued into one), the same
    energies and counts/s as pynxtools-xps's SPECSXYParser, index-axis alignment scans skipped."""
    xy = pytest.importorskip("pynxtools_xps.parsers.specs.xy.parser")
    path = realdata_path("spectro", "xps", "specs_xy_MgFe2O4_multiregion_transmission.xy")
    ours = read_xps(path)
    assert ours.format == "specs-xy"
    assert len(ours.metadata["skipped_regions"]) == 2  # the two 'Align' scans on an index axis
    from pynxtools_xps.parsers.base import _construct_entry_name as entry_name

    oracle = xy.SPECSXYParser()
    oracle.parse(path)
    blocks = ours.metadata["blocks"]
    compared = 0
    for entry, spectrum in oracle.data.items():
        if entry.startswith("Alignment") or entry == "1_as_loaded__Fe2p":  # skipped / merged there
            continue
        mine = [(b, s) for b, s in zip(blocks, ours.spectra, strict=True)
                if entry_name([b["group"], b["name_in_file"]]) == entry]
        data = np.asarray(spectrum.data)  # (cycle, scan, energy)
        energy = np.asarray(spectrum.data.coords["energy"])
        assert len(mine) == data.shape[0], entry
        for b, s in mine:
            order = np.argsort(energy)
            np.testing.assert_allclose(s.binding_energy_ev, energy[order])
            np.testing.assert_allclose(s.intensity, data[b["cycle"], 0, order], rtol=1e-9)
            compared += 1
    assert compared >= 100
    # several regions of one name in several groups are told apart
    names = {s.region for s in ours.spectra}
    assert "C 1s [2 S1110, UHV, RT, Epass = 20 eV]" in names and len(names) == 28



def _casa_columns_export(vamas, *, be_half: bool) -> str:
    """A CasaXPS 'export to text' (Columns of Tables) of every block of a real VAMAS file: one
    ``Cycle 0:Group:Region`` block each, a K.E./Counts half and (optionally) a B.E./CPS half."""
    out = []
    for s, b in zip(vamas.spectra, vamas.metadata["blocks"], strict=True):
        acq = b["dwell_time_s"] * b["scans"]
        hv = b["source_energy_ev"]
        out += [f"Cycle 0:Pd on Si:{s.region}",
                f"Characteristic Energy eV\t{hv}\tAcquisition Time s\t{acq}",
                "Name\t", "Position\t", "FWHM\t", "Area\t", "Lineshape\t"]
        head = "K.E.\tCounts\tBackground\tEnvelope"
        out.append(head + ("\t\tB.E.\tCPS\tBackground CPS\tEnvelope CPS" if be_half else ""))
        for e, y in zip(s.binding_energy_ev[::-1], s.intensity[::-1], strict=True):
            left = f"{hv - e:.4f}\t{y * acq:.6g}\t0\t0"
            out.append(left + (f"\t\t{e:.4f}\t{y:.8g}\t0\t0" if be_half else ""))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("be_half", [True, False])
def test_casaxps_text_export_is_one_region_per_block(tmp_path, be_half) -> None:
    """README F4: a CasaXPS multi-region text export reads as one spectrum per block with the
    binding-energy axis (never the K.E. column taken as BE) and counts/s, equal to the VAMAS file it
    was exported from; pynxtools-xps's export parser agrees."""
    src = read_vamas(realdata_path("spectro", "xps",
                                   "vamas_casaxps_Pd3d_intensity_dwell0p2_feranick.vms"))
    path = tmp_path / "casa_export.txt"
    path.write_text(_casa_columns_export(src, be_half=be_half))
    ours = read_xps(path)
    assert ours.format == "casa-columns" and len(ours.spectra) == len(src.spectra) == 3
    for mine, ref in zip(ours.spectra, src.spectra, strict=True):
        assert mine.region == ref.region
        np.testing.assert_allclose(mine.binding_energy_ev, ref.binding_energy_ev, atol=1e-3)
        np.testing.assert_allclose(mine.intensity, ref.intensity, rtol=1e-5)
    if be_half:
        export = pytest.importorskip("pynxtools_xps.parsers.vms_export.parser_export")
        oracle = export.VamasExportParser()
        oracle.parse(path)
        assert len(oracle.data) == 3


@pytest.mark.realdata
def test_casa_unlabelled_blocks_are_not_called_none():
    """CasaXPS writes species "None" for unlabelled blocks; a region named "None" read back as a
    missing value from the CSV tables. They are "block N" like other unlabelled blocks."""
    d = read_xps(realdata_path("spectro", "xps", "vamas_casaxps_Pd3d_intensity_dwell0p2_feranick.vms"))
    assert [s.region for s in d.spectra] == ["block 1", "block 2", "block 3"]


def _table_export(path: Path, header: str | None) -> tuple[np.ndarray, np.ndarray]:
    """A region table as spreadsheet/fit programs export it: K.E., B.E., Counts, CPS, a component,
    background, envelope."""
    be = np.round(np.arange(170.0, 155.0, -0.1), 2)
    cps = 300.0 + 900.0 * np.exp(-0.5 * ((be - 160.7) / 0.5) ** 2) + 20.0 * (be - 155.0)
    rows = [f"{1486.6 - b:.2f}\t{b:.2f}\t{0.1 * c:.3f}\t{c:.3f}\t{0.5 * c:.3f}\t300\t{c:.3f}"
            for b, c in zip(be, cps, strict=True)]
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return be, cps


def test_text_table_columns_chosen_by_their_names(tmp_path: Path) -> None:
    """B.E. and CPS are read from a 7-column table whose first columns are K.E. and B.E. (before,
    the B.E. column was read as the intensity: counts of 155–170 "counts/s", no warning)."""
    f = tmp_path / "s2p_table.txt"
    be, cps = _table_export(f, "K.E.\tB.E.\tCounts\tCPS\tLi2S\tBackground\tEnvelope")
    s = read_xps(f).spectra[0]
    order = np.argsort(be)
    np.testing.assert_allclose(s.binding_energy_ev, be[order])
    np.testing.assert_allclose(s.intensity, cps[order], atol=1e-3)


def test_text_table_without_names_warns(tmp_path: Path) -> None:
    f = tmp_path / "s2p_table.txt"
    _table_export(f, None)
    with pytest.warns(UserWarning, match="7 numeric columns and no header"):
        read_xps(f)


@pytest.mark.parametrize(
    "sep, decimal, header",
    [(";", ",", "Binding Energy;Intensity"), ("\t", ",", ""), (" ", ",", ""), (",", ".", ""),
     ("  ", ".", "BE  CPS"), (" ", ".", "")],
)
def test_text_separators_and_decimal_marks(tmp_path: Path, sep, decimal, header) -> None:
    """Decimal commas (``160,7;812,5``) were split into four numbers before."""
    be = np.round(np.arange(155.0, 170.0, 0.1), 2)
    y = 300.0 + 800.0 * np.exp(-0.5 * ((be - 160.7) / 0.5) ** 2)
    rows = [f"{a:.2f}{sep}{b:.3f}" for a, b in zip(be, y, strict=True)]
    if decimal == ",":
        rows = [f"{a:.2f}".replace(".", ",") + sep + f"{b:.3f}".replace(".", ",")
                for a, b in zip(be, y, strict=True)]
    f = tmp_path / "s2p.txt"
    f.write_text("\n".join(([header] if header else []) + rows) + "\n")
    s = read_xps(f).spectra[0]
    np.testing.assert_allclose(s.binding_energy_ev, be)
    np.testing.assert_allclose(s.intensity, y, atol=1e-3)
