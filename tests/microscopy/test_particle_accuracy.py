"""Automatic particle sizing against hand-made masks (README "Training batch 3"): within 10 % of the
mask's median equivalent-circle diameter on every image, or a warning; never worse than the plain
scikit-image pipeline on average."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.analysis import run_files
from sulfurscope.io.images import read_image
from tests.microscopy._masks import CASES, baseline_median_ecd, truth_median_ecd, window

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

UNSURE = {"particles_touching", "clusters_unsplit", "border_dominated", "few_particles",
          "methods_disagree"}


@pytest.fixture(scope="module")
def results(realdata):
    folder = realdata / "images"
    out = []
    for name, ext, mask, win, kind in CASES:
        true, n = truth_median_ecd(folder, name, mask, win, kind)
        mic = read_image(folder / f"{name}{ext}")
        res = run_files("particles", {"file": folder / f"{name}{ext}"})
        table = res.tables["particles"]
        col = next(c for c in table.columns if c.startswith("Equivalent diameter"))
        px = mic.calibration.pixel_size_nm
        ecd_px = table[col].to_numpy() / (px if col.endswith("[nm]") else 1.0)
        ours = float(np.median(ecd_px))
        base = baseline_median_ecd(window(mic.image, win))
        codes = {f.code for f in res.flags}
        out.append((name, true, ours, base, codes))
    return out


def test_within_ten_percent_or_warns(results):
    for name, true, ours, _base, codes in results:
        err = abs(ours - true) / true
        assert err <= 0.10 or codes & UNSURE, f"{name}: {100 * err:.1f} % off and no warning"


def test_never_worse_than_the_plain_pipeline_on_average(results):
    ours = np.mean([abs(o - t) / t for _, t, o, _, _ in results])
    base = np.mean([abs(b - t) / t for _, t, _, b, _ in results])
    assert ours <= base, (ours, base)


def test_easy_images_are_right_without_warnings(results):
    """Isolated or lightly clustered particles (C1, C2, C7) need no excuse."""
    easy = {"bam_tio2_1908252", "bam_tio2_1908270", "emps_tem_f485e2051b"}
    for name, true, ours, _base, codes in results:
        if name in easy:
            assert abs(ours - true) / true <= 0.10 and not codes & UNSURE, (name, ours, true, codes)
