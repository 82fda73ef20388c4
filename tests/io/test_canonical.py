"""The canonical table: finalize_cycler_frame and current_from_charge (synthetic truth, properties)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sulfurscope.errors import FileFormatError
from sulfurscope.io import current_from_charge, finalize_cycler_frame
from sulfurscope.units import CHARGE, CURRENT, REST, STEP, TIME, VOLTAGE


def test_current_from_charge_recovers_piecewise_constant_current() -> None:
    t = np.arange(0.0, 100.0, 5.0)
    i_true = np.where(t < 50, -1.2, 0.8)
    q = np.concatenate([[0.0], np.cumsum(i_true[1:] * np.diff(t))]) / 3600.0
    np.testing.assert_allclose(current_from_charge(t, q), i_true, rtol=1e-12)


def test_current_from_charge_duplicate_timestamps() -> None:
    t = np.array([0.0, 10.0, 10.0, 20.0])
    q = np.array([0.0, 1.0, 1.0, 2.0]) / 36.0  # 1/36 mAh = 100 mA s per 10 s: 10 mA
    np.testing.assert_allclose(current_from_charge(t, q), [10.0, 10.0, 10.0, 10.0])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-20, 20, allow_nan=False), min_size=2, max_size=50),
    st.floats(0.1, 100.0),
)
def test_charge_current_round_trip(currents: list[float], dt: float) -> None:
    """Property: integrating (rectangle rule) then differentiating gives the current back."""
    i = np.asarray(currents)
    t = np.arange(len(i)) * dt
    q = np.concatenate([[0.0], np.cumsum(i[1:] * dt)]) / 3600.0
    back = current_from_charge(t, q)
    np.testing.assert_allclose(back[1:], i[1:], rtol=1e-9, atol=1e-9)


def test_finalize_fills_and_orders() -> None:
    frame = pd.DataFrame(
        {
            "Extra [V]": [1.0, 2.0, 3.0],
            VOLTAGE: np.array([2.0, 2.1, 2.2], dtype=np.float32),
            TIME: [100.0, 110.0, 120.0],
            CURRENT: [0.0, 3.6, 3.6],
        }
    )
    out = finalize_cycler_frame(frame, source="x.csv")
    assert list(out.columns) == [TIME, VOLTAGE, CURRENT, CHARGE, STEP, REST, "Extra [V]"]
    np.testing.assert_allclose(out[TIME], [0.0, 10.0, 20.0])
    # trapezoid: (0 + 3.6)/2*10 + 3.6*10 = 54 mA s = 0.015 mAh
    assert out[CHARGE].iloc[-1] == pytest.approx(0.015)
    assert list(out[REST]) == [True, False, False]
    assert out[STEP].dtype == np.int64 and out[VOLTAGE].dtype == np.float64


def test_finalize_does_not_touch_or_share_input() -> None:
    frame = pd.DataFrame({TIME: [5.0, 6.0], VOLTAGE: [2.0, 2.0], CHARGE: [1.0, 1.5]})
    before = frame.copy()
    out = finalize_cycler_frame(frame, source="x")
    pd.testing.assert_frame_equal(frame, before)
    out.loc[0, VOLTAGE] = 9.0
    assert frame.loc[0, VOLTAGE] == 2.0
    np.testing.assert_allclose(out[CURRENT], [1800.0, 1800.0])


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({TIME: [], VOLTAGE: [], CURRENT: []}), "no data rows"),
        (pd.DataFrame({VOLTAGE: [1.0], CURRENT: [1.0]}), "no time column"),
        (pd.DataFrame({TIME: [0.0], CURRENT: [1.0]}), "no voltage column"),
        (pd.DataFrame({TIME: [0.0], VOLTAGE: [1.0]}), "neither current nor charge"),
        (pd.DataFrame({TIME: [0.0, np.nan], VOLTAGE: [1.0, 1.0], CURRENT: [1, 1]}), "non-finite"),
    ],
)
def test_finalize_errors(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(FileFormatError, match=rf"cell\.mpt: .*{match}|cell\.mpt: {match}"):
        finalize_cycler_frame(frame, source="/some/dir/cell.mpt")


@pytest.mark.parametrize("n", [0, 1])
def test_current_from_charge_short(n: int) -> None:
    out = current_from_charge(np.zeros(n), np.zeros(n))
    assert out.shape == (n,)
    assert not out.any()


def test_current_from_charge_leading_duplicates() -> None:
    t = np.array([0.0, 0.0, 10.0])
    q = np.array([0.0, 0.0, 1.0 / 360.0])  # 10 mA s over 10 s: 1 mA
    np.testing.assert_allclose(current_from_charge(t, q), [0.0, 0.0, 1.0])


def test_join_cycler_frames_errors_and_continuity():
    import pandas as pd
    import pytest

    from sulfurscope.errors import FileFormatError
    from sulfurscope.io import join_cycler_frames

    a = pd.DataFrame(
        {
            "Time [s]": [0.0, 10.0, 20.0],
            "Voltage [V]": [2.0, 2.1, 2.2],
            "Current [mA]": [-1.0, -1.0, 0.0],
            "Charge [mAh]": [0.0, -0.1, -0.1],
            "Step": [3, 3, 4],
            "Rest": [False, False, True],
        }
    )
    j = join_cycler_frames([a, a, a])
    assert j["Time [s]"].is_monotonic_increasing and j["Time [s]"].iloc[3] == 30.0
    assert j["Charge [mAh]"].iloc[-1] == pytest.approx(-0.3)
    assert j["Step"].tolist() == [3, 3, 4, 5, 5, 6, 7, 7, 8]
    assert j["File"].tolist() == [0] * 3 + [1] * 3 + [2] * 3
    assert a["Time [s]"].tolist() == [0.0, 10.0, 20.0]  # inputs unchanged
    with pytest.raises(FileFormatError, match="no table"):
        join_cycler_frames([])
    with pytest.raises(FileFormatError, match=r"b\.mpt: canonical columns \['Rest'\]"):
        join_cycler_frames([a, a.drop(columns=["Rest"])], sources=["a.mpt", "b.mpt"])
