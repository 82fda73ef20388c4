"""Synthetic micrographs with known truth (shared by the microscopy tests)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def render_discs(
    shape: tuple[int, int] = (512, 512),
    *,
    n: int = 60,
    mean_d_px: float = 30.0,
    sd_d_px: float = 3.0,
    blur_px: float = 1.2,
    noise: float = 0.08,
    seed: int = 0,
    gap_px: float = 4.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping bright discs on a dark background; returns (image, true diameters)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.zeros(shape)
    centres: list[tuple[float, float, float]] = []
    tries = 0
    while len(centres) < n and tries < 20000:
        tries += 1
        d = max(6.0, rng.normal(mean_d_px, sd_d_px))
        r = d / 2
        cy, cx = rng.uniform(r + 3, shape[0] - r - 3), rng.uniform(r + 3, shape[1] - r - 3)
        if all(np.hypot(cy - y, cx - x) > r + rr + gap_px for y, x, rr in centres):
            centres.append((cy, cx, r))
    diam = []
    for cy, cx, r in centres:
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        img[disc] = 1.0
        diam.append(2 * np.sqrt(disc.sum() / np.pi))
    img = ndi.gaussian_filter(img, blur_px) + rng.normal(0, noise, shape)
    return img, np.array(diam)


def render_lattice(
    shape: tuple[int, int],
    g_vectors_per_px: list[tuple[float, float]],
    *,
    noise: float = 0.2,
    seed: int = 0,
) -> np.ndarray:
    """Sum of cosine fringes with the given (fx, fy) spatial frequencies (cycles per pixel)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.zeros(shape)
    for fx, fy in g_vectors_per_px:
        img += np.cos(2 * np.pi * (fx * xx + fy * yy))
    return img + rng.normal(0, noise, shape)
