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


def render_textured_film(
    shape: tuple[int, int] = (384, 384), *, n: int = 25, mean_d_px: float = 22.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Bright discs on a granular film (smoothed noise at ~35 % of their brightness, the grain
    about 5 px); returns (image, truth label image)."""
    rng = np.random.default_rng(seed)
    discs, _ = render_discs(shape, n=n, mean_d_px=mean_d_px, sd_d_px=3, noise=0.0, seed=seed)
    film = ndi.gaussian_filter(rng.normal(0.0, 1.0, shape), 2.0)
    film = 0.35 + 0.15 * film / film.std()
    truth, _ = ndi.label(discs > 0.5)
    return np.maximum(film, discs) + rng.normal(0.0, 0.03, shape), truth


def render_cluster(
    *, d_px: float = 24.0, shading_px: float = 45.0, blur_px: float = 2.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A compact cluster of 19 touching, bright-centred particles (hexagonal, no gaps) under a
    broad shading that dims the outer ones, on a dark background; returns (image, truth)."""
    rng = np.random.default_rng(seed)
    shape = (256, 256)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.zeros(shape)
    truth = np.zeros(shape, dtype=np.int32)
    k = 0
    for i in range(-3, 4):
        for j in range(-3, 4):
            cy = 128 + i * d_px * np.sqrt(3) / 2
            cx = 128 + j * d_px + (i % 2) * d_px / 2
            if np.hypot(cy - 128, cx - 128) > 2.3 * d_px:
                continue
            r2 = (yy - cy) ** 2 + (xx - cx) ** 2
            disc = r2 <= (d_px / 2) ** 2
            k += 1
            truth[disc] = k
            shade = np.exp(-((cy - 128) ** 2 + (cx - 128) ** 2) / (2 * shading_px**2))
            dome = 0.5 + 0.5 * np.sqrt(1 - r2[disc] / (d_px / 2) ** 2)
            img[disc] = np.maximum(img[disc], (0.3 + 0.7 * shade * rng.uniform(0.8, 1.0)) * dome)
    return ndi.gaussian_filter(img, blur_px) + rng.normal(0.0, 0.02, shape), truth
