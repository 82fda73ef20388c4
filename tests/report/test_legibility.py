"""Report legibility: empty cells are "—" with a footnote, flagged fits are marked on the figure,
one colour per sample in every figure, scale bars on calibrated micrographs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sulfurscope.report._style import cell_colours, register_colours, scale_bar, study_colours
from sulfurscope.report.html import EMPTY_NOTE, ReportSection, render_html_report
from sulfurscope.report.xps import fig_xps_fits
from sulfurscope.spectra.xps import ENERGY, INTENSITY


def test_empty_cells_are_a_dash_with_a_footnote() -> None:
    table = pd.DataFrame({"Loading [mg/cm2]": [None, 2.0], "Sample": ["a", None],
                          "x": [np.nan, 1.0], "note": ["nan", "ok"]})
    html = render_html_report([ReportSection("s", tables=(("t", table),))], title="r")
    body = html.split("<tbody>")[1]
    assert "None" not in body and "nan" not in body and body.count("<td>—</td>") == 4
    assert EMPTY_NOTE.split(" — ")[0] in html
    full = pd.DataFrame({"a": [1.0]})
    assert "class='foot'" not in render_html_report([ReportSection("s", tables=(("t", full),))],
                                                     title="r")


def _curves(region: str) -> pd.DataFrame:
    e = np.linspace(158, 172, 50)
    parts = []
    for curve, y in (("data", 1 + np.exp(-(e - 164) ** 2)), ("envelope", 1 + np.exp(-(e - 164) ** 2)),
                     ("background", np.ones_like(e)), ("residual", np.zeros_like(e)),
                     ("Li2S", np.exp(-(e - 164) ** 2))):
        parts.append(pd.DataFrame({"Task": "t", "Region": region, "Curve": curve, ENERGY: e,
                                   INTENSITY: y}))
    return pd.concat(parts, ignore_index=True)


def test_a_doubtful_fit_is_marked_on_its_figure() -> None:
    curves = pd.concat([_curves("S 2p"), _curves("F 1s")], ignore_index=True)
    quality = pd.DataFrame({"Region": ["S 2p", "F 1s"], "Verdict": ["doubtful", "ok"]})
    figs = fig_xps_fits({"xps_curves": curves, "xps_fit_quality": quality})
    assert "FLAGGED" in figs["S 2p"]._suptitle.get_text()
    assert figs["F 1s"]._suptitle is None


def test_one_colour_per_sample_in_every_figure() -> None:
    """Cells keep their sample's colour (in shades) whatever subset a figure shows."""
    store = {
        "samples": pd.DataFrame({"Sample": ["S8", "S4", "S1"]}),
        "cells": pd.DataFrame({"Cell": ["c8a", "c8b", "c1a"], "Sample": ["S8", "S8", "S1"],
                               "Condition": ["S8", "S8", "S1"]}),
    }
    with study_colours(store):
        register_colours({"x": pd.DataFrame({"Task": ["c1a"], "Sample": ["S1"]})})  # ignored
        both = cell_colours(["c8a", "c1a"])
        alone = cell_colours(["c1a"])
        samples = cell_colours(["S8", "S4", "S1"])
    assert alone == [both[1]] and len(set(samples)) == 3
    assert cell_colours(3) == cell_colours(3)


def test_scale_bar_on_a_calibrated_image() -> None:
    from sulfurscope.report._style import new_figure

    fig, ax = new_figure()
    a = ax[0, 0]
    a.imshow(np.zeros((100, 200)))
    scale_bar(a, 50.0, 200)  # 10 µm field: a 2 µm bar
    assert any(t.get_text() == "2 µm" for t in a.texts)
    fig2, ax2 = new_figure()
    scale_bar(ax2[0, 0], None, 200)
    assert not ax2[0, 0].texts
