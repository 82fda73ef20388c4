"""The hand-masked validation images (README "Training batch 3"): truth from the masks and the plain
scikit-image baseline, both exactly as the data README describes them (independent of sulfurscope).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: name, image suffix, mask suffix, analysis window (rows, cols) or None, mask kind
CASES = [
    ("bam_tio2_1908252", ".tif", "_mask.tif", ((0, 712), None), "bam"),
    ("bam_tio2_1908270", ".tif", "_mask.tif", ((0, 712), None), "bam"),
    ("bam_tio2_1908292", ".tif", "_mask.tif", ((0, 712), None), "bam"),
    ("bam_tio2_1908320", ".tif", "_mask.tif", ((0, 712), None), "bam"),
    ("bam_tio2_tsem_1908253", ".tif", "_mask.tif", ((0, 703), None), "bam"),
    ("bam_tio2_tsem_1908321", ".tif", "_mask.tif", ((8, 712), (0, 1018)), "bam"),
    ("emps_tem_f485e2051b", ".png", "_mask.png", None, "emps"),
    ("emps_tem_f84ce9e349", ".png", "_mask.png", None, "emps"),
]
#: README's baseline errors (median ECD vs truth) for the record
README_BASELINE_PCT = [-1.4, -20.5, -19.9, -4.4, +11.0, +43.6, -8.0, -50.1]


def _read(path: Path) -> np.ndarray:
    import tifffile
    from PIL import Image

    a = tifffile.imread(path) if path.suffix == ".tif" else np.asarray(Image.open(path))
    return a[..., 0] if a.ndim == 3 else a


def window(a: np.ndarray, win) -> np.ndarray:
    if win is None:
        return a
    (r0, r1), cols = win
    c0, c1 = cols or (0, a.shape[1])
    return a[r0:r1, c0:c1]


def truth_median_ecd(folder: Path, name: str, mask: str, win, kind: str) -> tuple[float, int]:
    """Median ECD (px) and count of the mask's particles: label (BAM: binary, 4-connected; EMPS:
    instance labels), clear_border, drop < 30 px."""
    from skimage.measure import label, regionprops
    from skimage.segmentation import clear_border

    m = window(_read(folder / f"{name}{mask}"), win)
    lab = label(m > 0, connectivity=1) if kind == "bam" else m.astype(np.int64)
    areas = np.array([r.area for r in regionprops(clear_border(lab)) if r.area >= 30])
    return float(np.median(np.sqrt(4 * areas / np.pi))), int(areas.size)


def baseline_median_ecd(image: np.ndarray) -> float:
    """The README's plain pipeline: Gaussian σ=1, Otsu, polarity = minority class, fill holes,
    EDT watershed from peak_local_max(min_distance=5), drop < 20 px, clear_border."""
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops
    from skimage.morphology import remove_small_objects
    from skimage.segmentation import clear_border, watershed

    x = ndi.gaussian_filter(image.astype(float), 1.0)
    fg = x > threshold_otsu(x)
    if fg.mean() > 0.5:
        fg = ~fg
    fg = ndi.binary_fill_holes(fg)
    edt = ndi.distance_transform_edt(fg)
    peaks = peak_local_max(edt, min_distance=5, labels=label(fg), exclude_border=False)
    markers = np.zeros(fg.shape, int)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    lab = watershed(-edt, markers, mask=fg)
    lab = remove_small_objects(lab, max_size=19)
    areas = np.array([r.area for r in regionprops(clear_border(lab))])
    return float(np.median(np.sqrt(4 * areas / np.pi)))
