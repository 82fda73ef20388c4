"""The report sets a simulated study's assumed numbers beside what the analyses recovered."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sulfurscope.errors import SulfurscopeError
from sulfurscope.study.manifest import parse_study
from sulfurscope.study.report import _manifest_tables, _truth_table


def _study(tmp_path, rows, extra=""):
    (tmp_path / "truth.json").write_text(json.dumps({"rows": rows}))
    text = f'[study]\ntitle = "t"\ntruth = "truth.json"\n{extra}'
    return parse_study(text, tmp_path / "study.toml")


def test_assumed_beside_recovered_with_agreement(tmp_path):
    rows = [
        {"quantity": "S fraction", "sample": "A", "assumed": 0.5, "table": "tga_fraction",
         "column": "Sulfur fraction", "where": {"Sample": "A"}, "uncertainty": "sd"},
        {"quantity": "S fraction", "sample": "B", "assumed": 0.5, "table": "tga_fraction",
         "column": "Sulfur fraction", "where": {"Sample": "B"}, "uncertainty": "sd"},
        {"quantity": "depth", "sample": "A", "assumed": 100.0, "table": "eds_depth",
         "column": "1/e depth [nm]", "where": {"Line": "F_Ka"}},
        {"quantity": "not run", "assumed": 1.0, "table": "nothing", "column": "x"},
    ]
    store = {
        "tga_fraction": pd.DataFrame({"Sample": ["A", "B"], "Sulfur fraction": [0.501, 0.53],
                                      "sd": [0.001, 0.005]}),
        "eds_depth": pd.DataFrame({"Line": ["F_Ka"], "1/e depth [nm]": [125.0]}),
    }  # fmt: skip
    t = _truth_table(_study(tmp_path, rows), store)
    assert list(t["Agreement"]) == [
        "within 2 σ", "off by 6.0 σ (+6 %)", "+25 % (no uncertainty)", "not analysed"
    ]
    assert t["Recovered"].iloc[0] == pytest.approx(0.501) and np.isnan(t["Recovered"].iloc[3])
    # the table leads the study section of the report
    title, first = _manifest_tables(_study(tmp_path, rows), store)[0]
    assert "assumed" in title and len(first) == 4


def test_electrolyte_and_truth_keys_are_checked(tmp_path):
    with pytest.raises(SulfurscopeError, match="truth"):
        parse_study('[study]\ntruth = "missing.json"\n', tmp_path / "study.toml")
    st = _study(tmp_path, [])
    assert st.truth is not None and st.truth.name == "truth.json"
    assert _truth_table(st, {}).empty
