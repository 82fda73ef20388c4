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
from tests.conftest import realdata_path

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_real_files_run_end_to_end(tmp_path):
    data = realdata_path()
    text = (Path(__file__).with_name("realdata_study.toml.in")).read_text()
    manifest = tmp_path / "study.toml"
    manifest.write_text(text.replace("@DATA@", data.as_posix()))
    result = run_study(manifest, tmp_path / "out", workers=2)
    assert result.failed == 0, result.problems.to_dict(orient="records")
    # the only acceptable problems: spectra kinds whose plug-in has not landed yet
    kinds = {a.kind for a in analyses().values()}
    for _, p in result.problems.iterrows():
        assert p["Error type"] == "NotAnalysed", p.to_dict()
        assert "raman" not in kinds or "raman" not in p["Message"]
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
    for kind in ("xps", "eds", "eels"):
        if kind in kinds:
            n = store.query(
                out, f"SELECT count(*) FROM tasks WHERE Analysis = '{kind}' AND Status = 'ok'"
            )
            assert n.iloc[0, 0] == 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "ASSUMED" in html and "Provenance" in html
