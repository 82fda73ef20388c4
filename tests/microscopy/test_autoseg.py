"""The automatic segmentation's per-component h-maxima against scikit-image's whole-image transform
(the oracle it replaces), on synthetic edge cases and real micrographs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.measure import label
from skimage.morphology import h_maxima

from sulfurscope.io.images import read_image
from sulfurscope.microscopy.autoseg import _foreground, _h_maxima_by_component


def _whole_image(edt: np.ndarray, lab: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """What segment_auto computed before: two whole-image transforms, one chosen per component."""
    out = np.zeros(edt.shape, dtype=np.uint8)
    for h in np.unique(depth[1:]):
        chosen = (depth[lab] == h) & (lab > 0)
        out[chosen] = h_maxima(edt, float(h))[chosen]
    return out


def _check(fg: np.ndarray, depth_of) -> None:
    lab = label(fg)
    edt = ndi.distance_transform_edt(fg)
    depth = np.array([0.0] + [depth_of(i) for i in range(1, lab.max() + 1)])
    ours = _h_maxima_by_component(edt, lab, depth)
    np.testing.assert_array_equal(ours, _whole_image(edt, lab, depth))


def test_edge_cases_match_the_whole_image_transform():
    yy, xx = np.mgrid[:120, :160]
    fg = np.zeros((120, 160), bool)
    fg |= np.hypot(yy - 30, xx - 30) < 14
    fg |= np.hypot(yy - 30, xx - 52) < 12  # touches the first: two domes, one component
    fg[70:73, 10:60] = True  # thin bar: its top (EDT 2) is lower than h = 3
    fg[100:, 120:] = True  # fills its box at the image corner (no background in the crop)
    fg |= np.hypot(yy - 80, xx - 100) < 9
    fg[5, 150] = True  # a single pixel
    _check(fg, lambda i: 3.0)
    _check(fg, lambda i: 1.0)  # h equal to the thin objects' EDT
    _check(fg, lambda i: 0.5 if i % 2 else 4.0)  # mixed depths, as for clusters vs singles


def test_random_blobs_match_the_whole_image_transform():
    rng = np.random.default_rng(3)
    img = ndi.gaussian_filter(rng.normal(size=(300, 300)), 4)
    fg = img > 0.02
    _check(fg, lambda i: 1.5)
    _check(fg, lambda i: float(rng.choice([0.5, 1.0, 2.5])))


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["emps_tem_f84ce9e349.png", "bam_tio2_1908320.tif",
                                  "nffa_L2_0a111f.jpg"])
def test_real_micrographs_match_the_whole_image_transform(realdata, name):
    img = read_image(realdata / "images" / name).image
    fg, _, _ = _foreground(img, 1.0, "auto")
    _check(fg, lambda i: 1.0 + 0.7 * (i % 3))
