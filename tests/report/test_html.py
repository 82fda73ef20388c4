"""The HTML report: one self-contained file with embedded figures and escaped tables."""

from __future__ import annotations

import base64

import pandas as pd

from sulfurscope.report import save_figure
from sulfurscope.report._style import new_figure
from sulfurscope.report.html import ReportSection, render_html_report, write_html_report


def test_report_embeds_figures_and_escapes_text(tmp_path) -> None:
    fig, ax = new_figure()
    ax[0, 0].plot([0, 1], [0, 1])
    png = save_figure(fig, tmp_path / "f.png")
    table = pd.DataFrame({"Sample": ["<8 um>"], "Capacity [mAh/g]": [301.23456]})
    html = render_html_report(
        [ReportSection("Rate <test>", "a & b", figures=(png,), tables=(("t", table),))],
        title="demo",
        note="SIMULATED",
    )
    assert base64.b64encode(png.read_bytes()).decode() in html
    assert "Rate &lt;test&gt;" in html and "a &amp; b" in html and "&lt;8 um&gt;" in html
    assert "301.2" in html and "301.23456" not in html  # 4 significant figures
    assert "class='note'>SIMULATED" in html


def test_report_write_is_atomic(tmp_path) -> None:
    p = write_html_report(tmp_path / "r.html", [ReportSection("only text")], title="x")
    assert p.read_text().startswith("<!doctype html>")
    assert [q.name for q in tmp_path.iterdir()] == ["r.html"]
