"""The two particle segmentations give the same labels side by side in threads as one after the
other (``analysis.particles._both_segmentations``)."""

from __future__ import annotations

import numpy as np
import pytest

import sulfurscope._threads as threads
from sulfurscope.analysis.particles import ParticleOptions, _segment
from tests.conftest import REALDATA
from tests.microscopy._synth import render_discs


def _images():
    img, _ = render_discs((384, 384), n=60, mean_d_px=22, sd_d_px=5, seed=3)
    out = [("synthetic", img)]
    path = REALDATA / "images" / "bam_tio2_1908292.tif"
    if path.exists():
        from sulfurscope.io.images import read_image

        out.append(("bam_tio2_1908292", read_image(path).image))
    return out


@pytest.mark.parametrize("name, image", _images())
def test_threads_give_the_serial_labels(monkeypatch, name, image):
    results = {}
    for budget in (1, 2):
        monkeypatch.setattr(threads, "thread_budget", lambda b=budget: b)
        flags: list = []
        labels, info = _segment(image, ParticleOptions(), flags)
        results[budget] = (labels, info, [f.code for f in flags])
    (l1, i1, f1), (l2, i2, f2) = results[1], results[2]
    np.testing.assert_array_equal(l1, l2)
    assert {k: v for k, v in i1.items() if k != "timings"} == {
        k: v for k, v in i2.items() if k != "timings"
    }
    assert f1 == f2
