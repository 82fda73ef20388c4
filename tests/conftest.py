"""Shared fixtures. Real instrument files come from SULFURSCOPE_REALDATA (default ../shared/data).

Where the folder is absent the real-data tests skip with a reason; with SULFURSCOPE_REQUIRE_REALDATA=1
(set by .ci/run) a missing folder is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("SULFURSCOPE_REALDATA", ROOT.parent / "shared" / "data")).resolve()


def realdata_path(*parts: str) -> Path:
    """Path of a real instrument file; skip (or fail in CI) when it is not there."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        msg = f"real instrument data not found at {p} (set SULFURSCOPE_REALDATA)"
        if os.environ.get("SULFURSCOPE_REQUIRE_REALDATA"):
            pytest.fail(msg)
        pytest.skip(msg)
    return p


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real-data folder (skips or fails when absent, see module docstring)."""
    return realdata_path()
