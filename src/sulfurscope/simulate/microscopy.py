"""Simulated micrographs for the demo: SEM images of a particle-size distribution and an HRTEM image
of a discharged particle's surface.

SEM: non-overlapping particles (ellipses with a Gaussian distribution of equivalent diameters), brighter
than the substrate with secondary-electron edge contrast, a slow background gradient, blur, shot-like
noise and a burnt-in data bar at the bottom; written as a TIFF with a Hitachi-style ``.txt`` sidecar
(``[SemImageFile]`` ``PixelSize=`` in nm), as the study's SU-8200 writes it.

HRTEM: lattice fringes of LiF (111) (d = a/√3 = 0.2325 nm, a = 4.027 Å) and Li2S (111) (0.3296 nm,
a = 5.708 Å) in two grains on an amorphous-carbon background (the study's Fig 4a).

Everything here is simulated and labelled so in the files it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from sulfurscope._files import atomic_path, atomic_write_bytes

__all__ = ["SimulatedImage", "render_hrtem", "render_sem", "write_tiff_with_sidecar"]

D_LIF_111_NM = 0.4027 / np.sqrt(3.0)
D_LI2S_111_NM = 0.5708 / np.sqrt(3.0)


@dataclass(frozen=True, slots=True)
class SimulatedImage:
    """An image with its truth: pixel size and, for SEM, the particles' equivalent diameters."""

    image: np.ndarray
    pixel_size_nm: float
    diameters_um: np.ndarray
    data_bar_row: int | None


def render_sem(
    mean_um: float,
    sd_um: float,
    *,
    pixel_size_nm: float,
    shape: tuple[int, int] = (960, 1280),
    n_particles: int = 120,
    bar_rows: int = 64,
    rng: np.random.Generator,
) -> SimulatedImage:
    """Render an SEM image of particles with a Gaussian ECD distribution (``mean_um`` ± ``sd_um``).

    The image (uint8) has ``shape`` rows × cols including a data bar of ``bar_rows`` at the bottom.
    """
    rows, cols = shape[0] - bar_rows, shape[1]
    yy, xx = np.mgrid[:rows, :cols]
    img = np.zeros((rows, cols))
    placed: list[tuple[float, float, float]] = []
    diam_um: list[float] = []
    tries = 0
    while len(placed) < n_particles and tries < 40 * n_particles:
        tries += 1
        d_um = rng.normal(mean_um, sd_um)
        if d_um < 0.25 * mean_um:
            continue
        r = 0.5 * d_um * 1000.0 / pixel_size_nm
        ecc = rng.uniform(0.8, 1.0)
        a, b = r / np.sqrt(ecc), r * np.sqrt(ecc)  # same area as the disc of radius r
        cy, cx = rng.uniform(-0.3 * a, rows + 0.3 * a), rng.uniform(-0.3 * a, cols + 0.3 * a)
        if any(np.hypot(cy - y, cx - x) < a + ra + 3.0 for y, x, ra in placed):
            continue
        th = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)
        v = -(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)
        rho = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        inside = rho <= 1.0
        img[inside] = np.maximum(img[inside], 0.55 + 0.35 * rho[inside] ** 4)  # SE edge brightening
        placed.append((cy, cx, a))
        diam_um.append(d_um)
    background = 0.18 + 0.08 * (xx / cols) + 0.05 * (yy / rows)
    img = np.where(img > 0, img, background)
    img = ndi.gaussian_filter(img, 1.2)
    img = img + rng.normal(0.0, 0.04, img.shape)
    out = np.zeros(shape, dtype=np.uint8)
    out[:rows] = np.clip(img * 255, 0, 255).astype(np.uint8)
    out[rows:] = 0
    out[rows + bar_rows // 3 : rows + bar_rows // 3 + 6, 40:240] = 255  # scale bar
    out[rows + 2, :] = 255  # frame line of the data bar
    return SimulatedImage(out, float(pixel_size_nm), np.asarray(diam_um), rows)


def render_hrtem(
    *,
    pixel_size_nm: float = 0.02,
    shape: tuple[int, int] = (512, 512),
    rng: np.random.Generator,
) -> SimulatedImage:
    """Render an HRTEM image with a LiF (111) grain and a Li2S (111) grain on amorphous carbon."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(float)
    img = ndi.gaussian_filter(rng.normal(0.0, 1.0, shape), 1.5) * 0.8  # amorphous carbon
    for d_nm, angle_deg, centre, radius in (
        (D_LIF_111_NM, 25.0, (0.35, 0.35), 0.3),
        (D_LI2S_111_NM, -40.0, (0.65, 0.68), 0.3),
    ):
        g = pixel_size_nm / d_nm  # cycles per pixel
        th = np.deg2rad(angle_deg)
        fringes = np.cos(2 * np.pi * g * (xx * np.cos(th) + yy * np.sin(th)))
        cy, cx = centre[0] * shape[0], centre[1] * shape[1]
        grain = np.hypot(yy - cy, xx - cx) < radius * shape[0]
        img += np.where(grain, 1.2 * fringes, 0.0)
    img = img + rng.normal(0.0, 0.5, shape)
    return SimulatedImage(img.astype(np.float32), float(pixel_size_nm), np.array([]), None)


def write_tiff_with_sidecar(
    sim: SimulatedImage, path: str | Path, *, note: str, instrument: str = "SU8200 (simulated)"
) -> Path:
    """Write the image as TIFF (atomically) and a Hitachi-style ``.txt`` sidecar with its pixel size."""
    import tifffile

    p = Path(path)
    with atomic_path(p) as tmp:
        tifffile.imwrite(tmp, sim.image, description=note)
    sidecar = (
        "[SemImageFile]\r\n"
        f"InstructName={instrument}\r\n"
        f"Comment={note}\r\n"
        f"PixelSize={sim.pixel_size_nm:.6g}\r\n"
        f"DataSize={sim.image.shape[1]}x{sim.image.shape[0]}\r\n"
    )
    atomic_write_bytes(p.with_suffix(".txt"), sidecar.encode("ascii"))
    return p
