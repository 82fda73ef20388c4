"""Rate-capability blocks against analytic truth: a cell at exactly 100 % coulombic efficiency, for
the two programs labs run (discharge then charge at each rate; and the study's formation discharge
followed by charge/discharge loops). The table is built here from half-cycle capacities, not by the
project's simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sulfurscope.cycling import cycle_summary, rate_capability

MASS_MG = 2.0
RATES = (1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5)
ONE_C_MA = MASS_MG * 1.672  # 1C in mA for 2 mg of sulfur


def _capacity(c_rate: float, k: int) -> float:
    return 900.0 * (1 - 0.3 * np.log10(c_rate / 0.025)) - 2.0 * k  # mAh/g, fading


def _table(halves: list[tuple[int, float, float]]) -> pd.DataFrame:
    """Canonical table from (sign, C-rate, capacity mAh/g) half-cycles at constant current."""
    t, q, rows = 60.0, 0.0, [(0.0, 2.1, 0.0, 0.0)]  # an initial rest
    for sign, c, cap in halves:
        i = sign * c * ONE_C_MA  # mA
        dur = cap * MASS_MG / 1000.0 / abs(i) * 3600.0
        for tt in np.linspace(0.0, dur, 40):
            rows.append((t + tt, 2.1 + 0.1 * sign, i, q + i * tt / 3600.0))
        t, q = t + dur, q + i * dur / 3600.0
        rows.append((t + 60.0, 2.1, 0.0, q))  # a rest sample between half-cycles
        t += 60.0
    frame = pd.DataFrame(rows, columns=["Time [s]", "Voltage [V]", "Current [mA]", "Charge [mAh]"])
    frame["Step"] = 0
    frame["Rest"] = frame["Current [mA]"] == 0
    return frame


def _discharge_then_charge() -> tuple[pd.DataFrame, list[float]]:
    halves, caps = [], []
    for c in RATES:
        for k in range(5):
            q = _capacity(c, k)
            halves += [(-1, c, q), (1, c, q)]
            caps.append(q)
    return _table(halves), caps


def _study_program() -> tuple[pd.DataFrame, list[float]]:
    """C/10 formation discharge, then per rate 5 loops of charge followed by discharge."""
    halves, caps = [(-1, 0.1, 1200.0)], []
    for c in RATES:
        for k in range(5):
            q = _capacity(c, k)
            halves += [(1, c, q), (-1, c, q)]
            caps.append(q)
    return _table(halves), caps


@pytest.mark.parametrize("program", [_discharge_then_charge, _study_program])
def test_blocks_at_exactly_100_percent_ce(program):
    frame, caps = program()
    blocks = rate_capability(cycle_summary(frame, sulfur_mass_mg=MASS_MG)).table
    rate_blocks = blocks[blocks["Cycles"] == 5].reset_index(drop=True)
    assert len(rate_blocks) == 5
    expected = np.array(caps).reshape(5, 5).mean(axis=1)
    np.testing.assert_allclose(rate_blocks["Mean discharge capacity [mAh/g]"], expected, rtol=1e-6)
    np.testing.assert_allclose(rate_blocks["Mean charge capacity [mAh/g]"], expected, rtol=1e-6)
    np.testing.assert_allclose(rate_blocks["Mean coulombic efficiency [%]"], 100.0, atol=0.1)
    assert rate_blocks["CE pairing"].str.startswith("charges of cycles").all()
