"""The study report: sections in the reference study's order, every user string escaped, provenance."""

from __future__ import annotations

import re

import pandas as pd

from sulfurscope.study import store
from tests.study.conftest import HOSTILE


def test_report_has_the_figures_in_study_order(reported_study):
    folder, result = reported_study
    assert result.failed == 0, result.problems.to_dict(orient="records")
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h2 id='s\d+'>(.*?)</h2>", html)
    assert titles[:2] == ["Summary", "Study"]
    summary = html.split("<h2 id='s1'>")[0]  # read, failed, flagged, versions — before anything else
    for what in ("Inputs read", "Failed", "Flagged results", "Versions", "sulfurscope 0.1.0"):
        assert what in summary, what
    assert ">None<" not in html and ">nan<" not in html  # empty cells are "—" with a footnote
    order = [
        next(k for k, t in enumerate(titles) if t.startswith(p))
        for p in ("Figure 1a", "Figure 1 ", "Figure 2", "Figure 4a", "Provenance")
    ]
    assert order == sorted(order)
    assert "Failed inputs" not in titles and "Every input was analysed" in html
    imgs = re.findall(r"<img [^>]*src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(imgs) >= 8
    assert "http://" not in html and "https://" not in html  # nothing loaded from the network


def test_every_user_string_is_escaped(reported_study):
    folder, _ = reported_study
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    assert HOSTILE not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>&</b>" not in html and "Study &lt;b&gt;&amp;&lt;/b&gt;" in html
    # the hostile name is still the sample's name in the store
    q = store.query(folder / "out", "SELECT DISTINCT Sample FROM cycling_cycles ORDER BY Sample")
    assert HOSTILE in list(q["Sample"])


def test_provenance_lists_inputs_with_sha256_and_versions(reported_study):
    folder, _ = reported_study
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    inputs = store.query(folder / "out", "SELECT * FROM inputs")
    assert len(inputs) == 7  # 5 cycler files, 2 images
    for sha in inputs["SHA-256"]:
        assert sha in html
    import sulfurscope

    assert f"<td>sulfurscope</td>\n      <td>{sulfurscope.__version__}</td>" in html
    assert "duckdb" in html and "pandas" in html


def test_microscopy_tables_in_store(reported_study):
    folder, _ = reported_study
    tables = store.read_tables(folder / "out")
    dist = tables["particle_distribution"]
    assert dist["Particles"].iloc[0] >= 10
    assert 0.6 < dist["Number mean [um]"].iloc[0] < 1.4  # rendered 1.0 ± 0.3 um
    spots = tables["lattice_spots"]
    phases = set(spots.get("Phase", pd.Series(dtype=str)).astype(str))
    assert {"LiF", "Li2S"} & phases
