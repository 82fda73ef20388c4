"""TGA reader and the sulfur fraction: NETZSCH-style and generic exports written in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.errors import FileFormatError, SulfurscopeError
from sulfurscope.io.tga import read_tga
from sulfurscope.spectra import sulfur_fraction

STUDY_FRACTIONS = [0.485, 0.490, 0.497]  # TGA of the three milled composites


def _curve(w: float, moisture: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(30.0, 600.0, 1141)
    dry = 100.0 - moisture
    m = 100.0 - moisture / (1 + np.exp(-(t - 80) / 5)) - w * dry / (1 + np.exp(-(t - 280) / 12))
    return t, m


def _write_netzsch(path, t, m, *, decimal=",", sep=";", encoding="cp1252") -> None:
    lines = ["#EXPORTTYPE:\tDATA ALL", "#SAMPLE:\tAC-S 800 rpm", "#SAMPLE MASS /mg:\t10,21"]
    lines.append(sep.join(["##Temp./°C", "Time/min", "Mass/%", "DSC/(mW/mg)"]))
    for k, (ti, mi) in enumerate(zip(t, m, strict=True)):
        row = [f"{ti:.3f}", f"{k * 0.1:.3f}", f"{mi:.5f}", "0.0"]
        lines.append(sep.join(r.replace(".", decimal) for r in row))
    path.write_bytes("\r\n".join(lines).encode(encoding))


@pytest.mark.parametrize("w", STUDY_FRACTIONS)
@pytest.mark.parametrize(("decimal", "sep"), [(",", ";"), (".", "\t"), (".", ",")])
def test_study_fractions_recovered(tmp_path, w: float, decimal: str, sep: str) -> None:
    t, m = _curve(w)
    f = tmp_path / "tga.txt"
    _write_netzsch(f, t, m, decimal=decimal, sep=sep)
    data = read_tga(f)
    assert data.metadata["sample"] == "AC-S 800 rpm"
    assert data.frame["Time [s]"].iloc[10] == pytest.approx(60.0)
    r = sulfur_fraction(
        data.frame["Temperature [°C]"].to_numpy(), data.frame["Mass [%]"].to_numpy()
    )
    assert r.sulfur_fraction == pytest.approx(w, abs=0.002)
    assert 260 < r.dtg_peak_c < 300
    assert r.onset_c < r.dtg_peak_c < r.endset_c


def test_initial_normalisation_counts_moisture(tmp_path) -> None:
    t, m = _curve(0.49, moisture=4.0)
    dry = sulfur_fraction(t, m).sulfur_fraction
    wet = sulfur_fraction(t, m, normalise="initial").sulfur_fraction
    assert wet == pytest.approx(dry * 0.96, rel=2e-3)


def test_generic_csv_in_mg_and_kelvin(tmp_path) -> None:
    t, m = _curve(0.5)
    f = tmp_path / "generic.csv"
    f.write_text(
        "Temperature (K),Weight (mg)\n"
        + "\n".join(f"{a + 273.15},{b / 10}" for a, b in zip(t, m, strict=True))
    )
    d = read_tga(f)
    assert d.frame["Temperature [°C]"].iloc[0] == pytest.approx(30.0)
    assert d.frame["Mass [%]"].iloc[0] == pytest.approx(100.0)
    assert sulfur_fraction(
        d.frame["Temperature [°C]"], d.frame["Mass [%]"]
    ).sulfur_fraction == pytest.approx(0.5, abs=2e-3)


def test_tga_errors(tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty.txt: empty"):
        read_tga(empty)
    nomass = tmp_path / "nomass.csv"
    nomass.write_text("Temp/°C;DSC/mW\n30;0\n40;0\n")
    with pytest.raises(FileFormatError, match="nomass.csv: no mass column"):
        read_tga(nomass)
    t, m = _curve(0.5)
    with pytest.raises(SulfurscopeError, match="window"):
        sulfur_fraction(t[t < 300], m[t < 300], method="window")
    with pytest.raises(SulfurscopeError, match="mass rises"):
        sulfur_fraction(t, 200 - m, method="window")
    with pytest.raises(SulfurscopeError, match="does not reach"):
        sulfur_fraction(t[t < 100], m[t < 100])
    with pytest.raises(SulfurscopeError, match="mass does not fall"):
        sulfur_fraction(t, 200 - m)


# --- instrument exports: TA Instruments, METTLER TOLEDO STARe, PerkinElmer Pyris -------------------
# Written here from the vendors' text layouts; the sample temperature differs from the program
# (reference) temperature by 12 °C and a baseline column differs from the weight, so reading the
# wrong column shows. Truth: 30 % + 20 % steps of the dry mass at 280 / 470 °C, 0.5 % moisture.


def _two_step(n: int = 500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.linspace(30.0, 800.0, n)
    dry = 1.0 - 0.005 / (1 + np.exp(-(ts - 100.0) / 8.0))
    mg = 10.0 * (dry - 0.995 * (0.30 / (1 + np.exp(-(ts - 280.0) / 20.0))
                                + 0.20 / (1 + np.exp(-(ts - 470.0) / 25.0))))
    return ts, (ts - 30.0) / 10.0, mg  # sample T [°C], time [min], mass [mg]


def _write_ta(path, decimal=".") -> None:
    ts, tmin, mg = _two_step()
    head = ["OrgFile\tC:\\TA\\Data\\TGA\\AC-S.001", "Instrument\tTGA Q500 V20.13 Build 39",
            "Sample\tAC-S 8 um", "Size\t10.0000\tmg", "Nsig\t3", "Sig1\tTime (min)",
            "Sig2\tTemperature (°C)", "Sig3\tWeight (mg)", "StartOfData"]
    rows = [f"{a:.6f}\t{b:.4f}\t{c:.6f}".replace(".", decimal) for a, b, c in zip(tmin, ts, mg,
                                                                                   strict=True)]
    path.write_bytes("\r\n".join(head + rows).encode("cp1252"))


def _write_mettler(path) -> None:
    ts, tmin, mg = _two_step()
    head = ["Sample:  AC-S 8 um, 10.0000 mg", "Method: 30-800 10K/min N2", "",
            "Curve Values:",
            "      Index             t            Ts            Tr         Value",
            "                      [s]          [°C]          [°C]          [mg]"]
    rows = [f"{k:11d} {a * 60:13.3f} {b:13.4f} {b + 12.0:13.4f} {c:13.6f}"
            for k, (a, b, c) in enumerate(zip(tmin, ts, mg, strict=True))]
    path.write_bytes("\r\n".join(head + rows).encode("cp1252"))


def _write_pyris(path) -> None:
    ts, tmin, mg = _two_step()
    head = ["Filename:\tC:\\pyris\\ACS.tga", "Operator ID:\t", "Sample ID:\tAC-S 8 um",
            "Sample Weight:\t10.000 mg", "",
            "Time (min)\tUnsubtracted Weight (mg)\tBaseline Weight (mg)\tProgram Temp. (°C)\t"
            "Sample Temp. (°C)\tSample Purge Flow (mL/min)\tBalance Purge Flow (mL/min)"]
    rows = [f"{a:.4f}\t{c:.6f}\t{0.1 * c:.6f}\t{b + 12.0:.4f}\t{b:.4f}\t20.0\t40.0"
            for a, b, c in zip(tmin, ts, mg, strict=True)]
    path.write_bytes("\r\n".join(head + rows).encode("cp1252"))


@pytest.mark.parametrize("writer", ["ta", "ta_comma", "mettler", "pyris"])
def test_instrument_exports(tmp_path, writer) -> None:
    f = tmp_path / f"{writer}.txt"
    {"ta": _write_ta, "ta_comma": lambda p: _write_ta(p, decimal=","),
     "mettler": _write_mettler, "pyris": _write_pyris}[writer](f)
    d = read_tga(f)
    ts, tmin, mg = _two_step()
    np.testing.assert_allclose(d.frame["Temperature [°C]"], ts, atol=1e-3)  # sample, not program
    np.testing.assert_allclose(d.frame["Mass [mg]"], mg, atol=1e-5)  # weight, not baseline
    np.testing.assert_allclose(d.frame["Time [s]"], tmin * 60.0, atol=0.01)
    r = sulfur_fraction(d.frame["Temperature [°C]"].to_numpy(), d.frame["Mass [%]"].to_numpy())
    assert r.sulfur_fraction == pytest.approx(0.50, abs=0.01)


def test_ta_export_without_signal_names_is_refused(tmp_path) -> None:
    f = tmp_path / "ta.txt"
    f.write_text("Instrument\tTGA Q500\nStartOfData\n0.0\t30.0\t10.0\n0.1\t31.0\t10.0\n")
    with pytest.raises(FileFormatError, match="ta.txt: .*Sig1"):
        read_tga(f)
