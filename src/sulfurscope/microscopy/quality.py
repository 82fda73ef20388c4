"""Is there anything in the image? A blank (noise-only) micrograph is refused, not analysed.

An image whose intensity range is a few times its pixel noise holds no structure to size or index
(a detector looking at vacuum, a dropped acquisition: README batch 2 B11 is such a Velox image,
values 9,987–10,002 with σ 1.9). The noise is estimated robustly from the differences of
neighbouring pixels, σ_n = 1.4826 · MAD(Δ)/√2 (Immerkær-like; independent of smooth structure), and
the range is the 0.5–99.5 % percentile spread. The image is blank when the range is below
``min_ratio`` (10) times the noise **and** neighbouring pixels are nearly uncorrelated (correlation
< 0.3): a noisy atomic-resolution image has a small range-to-noise ratio too, but its columns span
many pixels, so its neighbours are strongly correlated.
"""

from __future__ import annotations

import numpy as np

__all__ = ["blank_image_reason"]


def blank_image_reason(image: np.ndarray, *, min_ratio: float = 10.0) -> str:
    """A sentence saying why ``image`` is blank, or "" when it has structure.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> blank_image_reason(10000 + rng.normal(0, 2, (64, 64))) != ""
    True
    >>> yy, xx = np.mgrid[:64, :64]
    >>> blank_image_reason(np.hypot(yy - 32, xx - 32) < 12) == ""
    True
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2 or a.size < 16 or not np.isfinite(a).all():
        return ""
    lo, hi = np.percentile(a, [0.5, 99.5])
    spread = float(hi - lo)
    if spread == 0.0:
        return f"every pixel has the value {lo:g}"
    diffs = np.concatenate([np.diff(a, axis=0).ravel(), np.diff(a, axis=1).ravel()])
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    noise = 1.4826 * mad / np.sqrt(2.0)
    if noise > 0 and spread < min_ratio * noise and _neighbour_correlation(a) < 0.3:
        return (f"the intensity range ({spread:.3g}) is only {spread / noise:.1f}× the pixel noise "
                f"({noise:.3g}) and neighbouring pixels are uncorrelated: no structure to analyse")
    return ""


def _neighbour_correlation(a: np.ndarray) -> float:
    """The larger of the horizontal and vertical correlation of neighbouring pixels."""
    out = 0.0
    for x, y in ((a[:, :-1], a[:, 1:]), (a[:-1, :], a[1:, :])):
        x, y = x.ravel() - x.mean(), y.ravel() - y.mean()
        den = np.sqrt((x @ x) * (y @ y))
        out = max(out, float(x @ y / den) if den > 0 else 0.0)
    return out
