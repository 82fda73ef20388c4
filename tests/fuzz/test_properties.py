"""Property-based fuzzing (hypothesis) of the text readers: files built from a real header and rows
of drawn tokens — finite numbers, NaN, ±inf, 1e308, negative values, text, empty fields, rows too
short or too long, time running backwards. Whatever is drawn, a reader returns valid data (finite,
time never decreasing, axes monotonic: :func:`tests.fuzz.harness.validate`) or raises a sulfurscope
error naming the file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sulfurscope.errors import InputRepairWarning, SulfurscopeError
from tests.fuzz.harness import _reader, validate

pytestmark = [pytest.mark.fuzz, pytest.mark.realdata]

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_NUMBER = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda x: f"{x:.6g}"),
    st.integers(-5, 10_000).map(str),
    st.sampled_from(["NaN", "nan", "inf", "-inf", "1e308", "-1e308", "1e12", "", "abc", "1.2.3",
                     "--", "0", "-0"]),
)


def _rows(n_cols: int, sep: str) -> st.SearchStrategy[str]:
    row = st.lists(_NUMBER, min_size=max(1, n_cols - 1), max_size=n_cols + 1).map(sep.join)
    return st.lists(row, min_size=0, max_size=40).map("\n".join)


def _ascending_rows(n_cols: int, sep: str) -> st.SearchStrategy[str]:
    """Rows whose first column mostly increases (a plausible time or energy axis), others drawn."""

    def build(steps: list[float], rest: list[list[str]]) -> str:
        t, out = 0.0, []
        for dt, cols in zip(steps, rest, strict=False):
            t += dt
            out.append(sep.join([f"{t:.6g}", *cols]))
        return "\n".join(out)

    steps = st.lists(st.floats(-5, 50, allow_nan=False), min_size=2, max_size=40)
    rest = st.lists(st.lists(_NUMBER, min_size=n_cols - 1, max_size=n_cols - 1), min_size=2,
                    max_size=40)
    return st.builds(build, steps, rest)


def _check(reader: str, path: Path) -> None:
    try:
        with warnings.catch_warnings():  # repairs are allowed (counted warnings); the data must hold
            warnings.simplefilter("ignore", InputRepairWarning)
            data = _reader(reader)(path)
    except SulfurscopeError as exc:
        assert path.name in str(exc), f"error does not name the file: {exc}"
        return
    assert validate(reader, data) == "", (reader, path.read_text(errors="replace")[:2000])


@pytest.fixture(scope="module")
def mpt_header(realdata) -> tuple[str, int]:
    """The header of a real EC-Lab export up to and including its column line, and the column
    count."""
    lines = (realdata / "echem" / "biologic_bcd_issue241.mpt").read_bytes().decode("latin-1")
    lines = lines.splitlines()
    n = int(lines[1].split(":")[1])
    return "\n".join(lines[:n]) + "\n", len(lines[n - 1].split("\t"))


@SETTINGS
@given(data=st.data())
def test_mpt_rows(mpt_header, tmp_path_factory, data):
    header, n_cols = mpt_header
    body = data.draw(st.one_of(_rows(n_cols, "\t"), _ascending_rows(n_cols, "\t")))
    path = tmp_path_factory.mktemp("mpt") / "drawn.mpt"
    path.write_bytes((header + body + "\n").encode("latin-1", errors="replace"))
    _check("cycler", path)


@pytest.fixture(scope="module")
def maccor_header(realdata) -> tuple[str, int]:
    text = (realdata / "echem" / "maccor_diag_xTESLADIAG_000019_CH70.070").read_bytes()
    lines = text.decode("latin-1").splitlines()
    k = next(i for i, line in enumerate(lines) if "Amps" in line.split("\t"))
    return "\n".join(lines[: k + 1]) + "\n", len(lines[k].split("\t"))


@SETTINGS
@given(data=st.data())
def test_maccor_rows(maccor_header, tmp_path_factory, data):
    header, n_cols = maccor_header
    body = data.draw(st.one_of(_rows(n_cols, "\t"), _ascending_rows(n_cols, "\t")))
    path = tmp_path_factory.mktemp("maccor") / "drawn.070"
    path.write_bytes((header + body + "\n").encode("latin-1", errors="replace"))
    _check("cycler", path)


@SETTINGS
@given(body=st.one_of(_rows(2, ","), _ascending_rows(2, ",")))
def test_tga_rows(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("tga") / "drawn_tga.csv"
    path.write_text("Temperature [°C],Mass [%]\n" + body + "\n", encoding="utf-8")
    _check("tga", path)


@SETTINGS
@given(body=st.one_of(_rows(2, "\t"), _ascending_rows(2, "\t")))
def test_raman_text_rows(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("raman") / "drawn.txt"
    path.write_text(body + "\n", encoding="utf-8")
    _check("raman", path)


@SETTINGS
@given(body=st.one_of(_rows(2, " "), _ascending_rows(2, " ")))
def test_xps_text_rows(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("xps") / "drawn.txt"
    path.write_text("# region: S 2p\n" + body + "\n", encoding="utf-8")
    _check("xps", path)


@pytest.fixture(scope="module")
def vamas(realdata) -> list[str]:
    return (realdata / "spectro" / "xps" / "vamas_casaxps_Pd3d_intensity_dwell0p2_feranick.vms"
            ).read_text(encoding="latin-1").splitlines()


@SETTINGS
@given(data=st.data())
def test_vamas_values(vamas, tmp_path_factory, data):
    """A real VAMAS file with drawn tokens in place of some of its last (ordinate) lines."""
    lines = list(vamas)
    n = len(lines)
    picks = data.draw(st.lists(st.integers(n // 2, n - 1), max_size=30))
    for k in picks:
        lines[k] = data.draw(_NUMBER)
    path = tmp_path_factory.mktemp("vamas") / "drawn.vms"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1", errors="replace")
    _check("xps", path)


@pytest.mark.parametrize(
    "rows",
    [
        ["0", "0×7,inf"],  # inf × the rest row's sign 0
        ["0×7,NaN"],  # an all-NaN current column (np.nanmin warned)
    ],
)
def test_maccor_bad_current_is_refused_without_a_warning(maccor_header, tmp_path, rows):
    """Found by hypothesis: numpy's RuntimeWarnings (an error under the test settings, noise for a
    user) were raised before validation refused the rows."""
    import warnings

    from sulfurscope.errors import FileFormatError
    from sulfurscope.io import read_maccor

    header, n_cols = maccor_header

    def row(spec: str) -> str:
        if spec == "0":
            return "\t".join(["0"] * n_cols)
        value = spec.split(",")[1]
        return "\t".join(["0"] * 7 + [value] + ["0"] * (n_cols - 8))

    rows = [row(r) for r in rows]
    path = tmp_path / "drawn.070"
    path.write_bytes((header + "\n".join(rows) + "\n").encode("latin-1"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            data = read_maccor(path)
        except FileFormatError as exc:  # refused, naming the file
            assert path.name in str(exc)
        else:  # or read validly: nothing non-finite kept
            assert np.isfinite(data.frame.select_dtypes("number").to_numpy()).all()
