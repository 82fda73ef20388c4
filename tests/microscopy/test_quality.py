"""Blank images are refused; real micrographs of every kind are not."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.analysis import run_files
from sulfurscope.errors import SulfurscopeError
from sulfurscope.io.images import read_image
from sulfurscope.microscopy.quality import blank_image_reason
from tests.conftest import realdata_path


def test_noise_only_is_blank_and_faint_structure_is_not():
    rng = np.random.default_rng(1)
    noise = 10000 + rng.normal(0, 2.0, (128, 128))
    assert "no structure" in blank_image_reason(noise)
    yy, xx = np.mgrid[:128, :128]
    faint = noise + 6.0 * (np.hypot(yy - 64, xx - 64) < 30)  # 3σ disc: structure, correlated
    assert blank_image_reason(faint) == ""
    assert "every pixel" in blank_image_reason(np.full((32, 32), 7.0))


@pytest.mark.parametrize("analysis", ["particles", "lattice"])
def test_blank_velox_image_is_refused_by_the_analyses(analysis):
    """README batch 2 B11: a Velox HAADF image of nothing (9,987–10,002, σ 1.9)."""
    path = realdata_path("images", "velox_stem_haadf_titan_blank.emd")
    with pytest.raises(SulfurscopeError, match="velox_stem_haadf_titan_blank.emd: the image is blank"):
        run_files(analysis, {"file": path})


def test_real_micrographs_are_not_blank(realdata):
    files = [p for p in sorted((realdata / "images").iterdir())
             if p.suffix.lower() in (".tif", ".png", ".jpg", ".webp", ".emd", ".emi", ".hspy", ".hdf5")
             and "blank" not in p.name]
    assert len(files) >= 25
    for p in files:
        assert blank_image_reason(read_image(p).image) == "", p.name
