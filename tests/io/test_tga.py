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
