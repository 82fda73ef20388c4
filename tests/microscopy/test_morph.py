"""The segmentation's morphology helpers against scikit-image / SciPy computing the same thing."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk, white_tophat

from sulfurscope.microscopy._morph import plateau_tops, tophat


def test_tophat_is_scikit_image_and_its_memory_follows_the_content():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 70))
    ref = white_tophat(a, disk(5, decomposition="sequence"))
    np.testing.assert_array_equal(tophat(a, 5), ref)
    out = tophat(a, 5)  # remembered: still a fresh array the caller may change
    out[:] = 0
    np.testing.assert_array_equal(tophat(a, 5), ref)
    b = a.copy()
    b[10, 10] += 1.0  # same shape, other content
    np.testing.assert_array_equal(tophat(b, 5), white_tophat(b, disk(5, decomposition="sequence")))
    np.testing.assert_array_equal(tophat(b, 3), white_tophat(b, disk(3, decomposition="sequence")))


def test_plateau_tops_are_the_maxima_of_each_label():
    rng = np.random.default_rng(1)
    land = rng.random((80, 90))  # no ties
    plab, n = ndi.label(rng.random((80, 90)) > 0.6)
    pos, heights = plateau_tops(land, plab)
    ref = ndi.maximum_position(land, plab, np.arange(1, n + 1))
    assert [tuple(map(int, p)) for p in pos] == [tuple(map(int, q)) for q in ref]
    np.testing.assert_array_equal(heights, ndi.maximum(land, plab, np.arange(1, n + 1)))
    # ties: the first pixel in raster order
    flat = np.zeros((5, 5))
    lab = np.zeros((5, 5), int)
    lab[1, 1:4] = 1
    lab[3, 2] = 2
    flat[1, 1:4] = 2.0
    pos, heights = plateau_tops(flat, lab)
    assert [tuple(map(int, p)) for p in pos] == [(1, 1), (3, 2)]
    assert heights.tolist() == [2.0, 0.0]
