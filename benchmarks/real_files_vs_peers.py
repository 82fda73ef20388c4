"""Real files of the known failure types (README of the data, "Training batch 2") read by
sulfurscope and by an established peer tool, side by side: one headline number per file.

Run: ``SULFURSCOPE_REALDATA=../shared/data python benchmarks/real_files_vs_peers.py``
(needs the test extras: yadg, NewareNDA, vamas, pynxtools-xps, renishaw-wdf, rosettasciio).
Prints a Markdown table: file, quantity, peer value, sulfurscope value, relative difference.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(os.environ.get("SULFURSCOPE_REALDATA", Path(__file__).parents[2] / "shared" / "data"))


def _p(*parts: str) -> Path:
    return DATA.joinpath(*parts)


def maccor_day_format() -> tuple[str, float, float]:
    from sulfurscope.io import read_cycler

    path = _p("echem", "maccor_cellpy_001_dayformat_time.txt")
    ref = pd.read_csv(path, sep="\t", skiprows=3, index_col=False, encoding="latin-1")
    days, hms = ref["TestTime"].str.strip().str.split("d ", expand=True).T.values
    last = float(days[-1]) * 86400 + pd.to_timedelta(hms[-1]).total_seconds()
    return "test time at the last row [s]", last, float(read_cycler(path).frame["Time [s]"].iloc[-1])


def maccor_kv_header() -> tuple[str, float, float]:
    from sulfurscope.io import read_cycler

    path = _p("echem", "maccor_cellpy_two_KIT-SIMBA_kvheader.txt")
    ref = pd.read_csv(path, sep="\t", skiprows=13, decimal=",", encoding="latin-1", index_col=False)
    ref = ref.dropna(subset=["DPT Time"])
    return ("time at the last complete row [s] (minutes ×60)", 60.0 * float(ref["TestTime"].iloc[-1]),
            float(read_cycler(path).frame["Time [s]"].iloc[-1]))


def wdf_nm_axis() -> tuple[str, float, float]:
    import wdf

    from sulfurscope.io import read_renishaw_wdf

    path = _p("spectro", "raman", "renishaw_test_map_325nm_nm-axis.wdf")
    with wdf.Wdf(str(path)) as w:
        shift = float(w.hdr.laser_wavenumber) - 1e7 / np.asarray(w.xlist(), float)
    return "lowest Raman shift [1/cm]", float(shift.min()), float(read_renishaw_wdf(path).shift_cm1[0])


def _vamas(name: str) -> tuple[str, float, float]:
    import vamas

    from sulfurscope.io import read_vamas

    path = _p("spectro", "xps", name)
    b = vamas.Vamas(str(path)).blocks[0]
    counts = np.asarray(b.corresponding_variables[0].y_values, float)
    cps = counts / (b.signal_collection_time * b.num_scans_to_compile_block)
    return "block 1 maximum [counts/s]", float(cps.max()), float(read_vamas(path).spectra[0].intensity.max())


def specs_xy() -> tuple[str, float, float]:
    from pynxtools_xps.parsers.specs.xy.parser import SPECSXYParser

    from sulfurscope.io import read_xps

    path = _p("spectro", "xps", "specs_xy_MgFe2O4_multiregion_transmission.xy")
    oracle = SPECSXYParser()
    oracle.parse(path)
    from pynxtools_xps.parsers.base import _construct_entry_name as entry_name

    # pynxtools keys spectra by group and region name: the file's two 'Fe2p' regions of group 1
    # share one key there (one overwrites the other), so that key is left out on both sides
    def kept(e: str) -> bool:
        return not e.startswith("Alignment") and e != "1_as_loaded__Fe2p"

    n = sum(np.asarray(s.data).shape[0] for e, s in oracle.data.items() if kept(e))
    ours = read_xps(path)
    mine = sum(kept(entry_name([b["group"], b["name_in_file"]])) for b in ours.metadata["blocks"])
    return "spectra (region × cycle), shared keys excluded", float(n), float(mine)


def _eds(name: str) -> tuple[str, float, float]:
    from sulfurscope.io import read_eds
    from sulfurscope.spectra import sum_spectrum

    path = _p("spectro", "eds", name)
    if name.endswith(".emd"):
        from rsciio.emd import file_reader

        total = sum(np.asarray(p["data"], float).sum()
                    for p in file_reader(str(path), select_type="single_spectrum"))
    else:
        from rsciio.digitalmicrograph import file_reader

        total = np.asarray(file_reader(str(path))[0]["data"], float).sum()
    si = read_eds(path).spectrum_image
    return "total counts", float(total), float(sum_spectrum(si).sum())


def _image(name: str, module: str) -> tuple[str, float, float]:
    import importlib

    from sulfurscope.io.images import read_image

    path = _p("images", name)
    ref = importlib.import_module(f"rsciio.{module}").file_reader(str(path))[0]
    ax = ref["axes"][-1]  # both files state nm (Berkeley EMD writes 'n_m')
    assert str(ax.get("units", "nm")).replace("_", "") == "nm", ax
    return "pixel size [nm]", float(ax["scale"]), float(read_image(path).calibration.pixel_size_nm)


def _ocv(name: str) -> tuple[str, float, float]:
    from yadg.extractors.eclab.mpr import extract_from_path

    from sulfurscope.io import read_cycler

    path = _p("echem", name)
    ds = extract_from_path(str(path), timezone="UTC").to_dataset()
    return "last Ewe [V] (I = 0)", float(ds["Ewe"].values[-1]), float(read_cycler(path).frame["Voltage [V]"].iloc[-1])


def neware_pulse() -> tuple[str, float, float]:
    import NewareNDA

    from sulfurscope.io import read_cycler

    path = _p("echem", "neware_pulse_2A_46_1_5_60_bts16.ndax")
    ref = NewareNDA.read(str(path))
    return ("charge passed in the +2 A pulse [mAh]", float(ref["Charge_Capacity(mAh)"].max()),
            float(read_cycler(path).frame["Charge [mAh]"].max()))


def peis() -> tuple[str, float, float]:
    from yadg.extractors.eclab.mpr import extract_from_path

    from sulfurscope.io import read_cycler

    path = _p("echem", "biologic_peis_aurora.mpr")
    ds = extract_from_path(str(path), timezone="UTC").to_dataset()
    return ("largest Re(Z) [Ohm] (cycling refuses the file)", float(ds["Re(Z)"].values.max()),
            float(read_cycler(path).frame["Re(Z) [Ohm]"].max()))


ROWS: list[tuple[str, str, Callable[[], tuple[str, float, float]]]] = [
    ("B1 maccor_cellpy_001_dayformat_time.txt", "pandas", maccor_day_format),
    ("B2 maccor_cellpy_two_KIT-SIMBA_kvheader.txt", "pandas", maccor_kv_header),
    ("B3 renishaw_test_map_325nm_nm-axis.wdf", "renishaw-wdf", wdf_nm_axis),
    ("B4 vamas_omicron_EIS_counts_dwell0p2_feranick_c.vms", "vamas",
     lambda: _vamas("vamas_omicron_EIS_counts_dwell0p2_feranick_c.vms")),
    ("B5 vamas_casaxps_Pd3d_intensity_dwell0p2_feranick.vms", "vamas",
     lambda: _vamas("vamas_casaxps_Pd3d_intensity_dwell0p2_feranick.vms")),
    ("B6 specs_xy_MgFe2O4_multiregion_transmission.xy", "pynxtools-xps", specs_xy),
    ("B8 velox_TestSI_16x16_ReducedData_single_spectra.emd", "rosettasciio",
     lambda: _eds("velox_TestSI_16x16_ReducedData_single_spectra.emd")),
    ("B9 dm3_test-EDS_spectrum_single.dm3", "rosettasciio", lambda: _eds("dm3_test-EDS_spectrum_single.dm3")),
    ("B10 ncem_STO_TEAM05_Acquisition_18_berkeley.emd", "rosettasciio",
     lambda: _image("ncem_STO_TEAM05_Acquisition_18_berkeley.emd", "emd")),
    ("B12 tia_IDP_L2083_after_HAADF_130mm.emi", "rosettasciio",
     lambda: _image("tia_IDP_L2083_after_HAADF_130mm.emi", "tia")),
    ("B13 biologic_ocv_yadg.mpr", "yadg", lambda: _ocv("biologic_ocv_yadg.mpr")),
    ("B14 biologic_ocv_aurora_commercial_cell_C01.mpr", "yadg",
     lambda: _ocv("biologic_ocv_aurora_commercial_cell_C01.mpr")),
    ("B15 neware_pulse_2A_46_1_5_60_bts16.ndax", "NewareNDA", neware_pulse),
    ("B16 biologic_peis_aurora.mpr", "yadg", peis),
]


def main() -> None:
    warnings.simplefilter("ignore")
    print("| file | peer | quantity | peer value | sulfurscope | rel. diff |")
    print("|---|---|---|---|---|---|")
    for name, peer, fn in ROWS:
        try:
            what, theirs, ours = fn()
        except Exception as exc:  # a row that cannot run says why
            print(f"| {name} | {peer} | error: {type(exc).__name__}: {exc} | | | |")
            continue
        rel = abs(ours - theirs) / max(abs(theirs), 1e-300)
        print(f"| {name} | {peer} | {what} | {theirs:.6g} | {ours:.6g} | {rel:.1e} |")


if __name__ == "__main__":
    main()
