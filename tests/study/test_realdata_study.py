"""A study manifest over the real instrument files (SULFURSCOPE_REALDATA), run end to end.

The manifest is ``realdata_study.toml.in`` with ``@DATA@`` replaced by the real-data folder; the files
are read in place (never copied). The sulfur masses in it are ASSUMED (the files are not Li–S cells).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sulfurscope.study import store
from sulfurscope.study.pipeline import run_study
from sulfurscope.study.registry import analyses
from tests.conftest import check_report_in_browser, realdata_path

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "realdata" / "study.toml"


def test_example_manifest_is_the_template_with_relative_paths():
    """examples/realdata/study.toml (README: run it from a checkout next to ../shared/data) is this
    test's template with the data folder as a path relative to the manifest — they cannot drift."""
    text = (Path(__file__).with_name("realdata_study.toml.in")).read_text()
    assert EXAMPLE.read_text() == text.replace("@DATA@", "../../../shared/data")


def test_real_files_run_end_to_end(tmp_path, browser):
    data = realdata_path()
    text = (Path(__file__).with_name("realdata_study.toml.in")).read_text()
    manifest = tmp_path / "study.toml"
    manifest.write_text(text.replace("@DATA@", data.as_posix()))
    result = run_study(manifest, tmp_path / "out", workers=2)
    assert result.failed == 0, result.problems.to_dict(orient="records")
    assert result.problems.empty, result.problems.to_dict(orient="records")
    kinds = {a.kind for a in analyses().values()}
    assert {"xps", "raman", "eds", "eels"} <= kinds
    out = tmp_path / "out"
    caps = store.query(
        out,
        'SELECT Task, max("Discharge capacity [mAh/g]") AS q FROM cycling_cycles GROUP BY Task',
    ).set_index("Task")["q"]
    assert len(caps) == 6  # BioLogic .mpr/.mpt, Arbin, Neware, Maccor
    assert ((caps > 450) & (caps < 700)).all(), caps  # masses were set for ~600 mAh/g
    steps = store.query(out, "SELECT count(*) FROM gitt_steps").iloc[0, 0]
    assert steps >= 4
    sizes = store.query(out, 'SELECT Task, "Number mean [um]" AS d FROM particle_distribution')
    d = sizes.set_index("Task")["d"]
    assert 0.15 < d["sio2_spheres_jeol"] < 0.26  # ~240 nm spheres (centre spacing is the bound)
    spots = store.query(out, 'SELECT "d [nm]" AS d FROM lattice_spots')["d"].to_numpy()
    # SrTiO3 [110]: 0.276, 0.225, 0.195 nm
    for ref in (0.2761, 0.1953):
        assert np.min(np.abs(spots - ref)) / ref < 0.03
    for kind, expected in (("xps", 3), ("eds", 1), ("eels", 2), ("raman", 2)):
        n = store.query(
            out, f"SELECT count(*) FROM tasks WHERE Analysis = '{kind}' AND Status = 'ok'"
        )
        assert n.iloc[0, 0] == expected, kind
    raman = store.query(out, 'SELECT count(DISTINCT "Spectrum") FROM raman_summary').iloc[0, 0]
    assert raman >= 235  # every spectrum of the Renishaw line was fitted
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "ASSUMED" in html and "Provenance" in html
    page = check_report_in_browser(
        browser, out / "report.html", tmp_path / "real.png", min_images=10
    )
    page.close()
