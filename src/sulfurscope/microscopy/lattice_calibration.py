"""Calibration refinement of a lattice image: the pixel size (and anisotropy) that makes the indexed
spots agree with a reference phase.

:func:`refine_calibration` fits a scale and an x/y anisotropy to the spots indexed by
:func:`sulfurscope.microscopy.lattice.index_spots` (the nominal calibration of a TEM is often a few %
off); :func:`correct_spots` applies it to a spot table. Built on :mod:`sulfurscope.microscopy.lattice`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sulfurscope.errors import FitError
from sulfurscope.microscopy.lattice import _g_nm
from sulfurscope.microscopy.phases import (
    Phase,
    _families,
)

__all__ = ["CalibrationRefinement", "correct_spots", "refine_calibration"]


@dataclass(frozen=True, slots=True)
class CalibrationRefinement:
    """Correction of the reciprocal-space calibration from a known lattice.

    ``g_true = matrix @ g_measured`` for spot vectors (fx, fy); ``matrix`` is symmetric.

    Attributes
    ----------
    phase : str
    matrix : (2, 2) ndarray
    scale : float
        Geometric mean of the eigenvalues (isotropic correction: true pixel size = nominal / scale).
    anisotropy_percent : float
        ``100 * (lambda_max / lambda_min - 1)``.
    axis_deg : float
        Direction (azimuth in the image, counter-clockwise from +x) of the largest eigenvalue.
    pixel_size_nm : float
        Corrected (isotropic) pixel size = nominal / scale.
    n_spots : int
    rms_error_percent : float
        RMS relative d error of the used spots after the correction.
    assignments : tuple of str
        ``"spot i: phase(hkl)"`` for the used spots.
    """

    phase: str
    matrix: np.ndarray
    scale: float
    anisotropy_percent: float
    axis_deg: float
    pixel_size_nm: float
    n_spots: int
    rms_error_percent: float
    assignments: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready)."""
        d = asdict(self)
        d["matrix"] = self.matrix.tolist()
        d["assignments"] = list(self.assignments)
        return d


def refine_calibration(
    spots: pd.DataFrame,
    phase: Phase,
    *,
    pixel_size_nm: float,
    max_correction: float = 0.1,
    tolerance: float = 0.01,
    d_min_nm: float = 0.1,
) -> CalibrationRefinement:
    """Refine the pixel size (and its anisotropy) from a known lattice in the image.

    An isotropic scale is searched within ``±max_correction`` so that the most spots fall within
    ``tolerance`` of a reflection of ``phase``; then a symmetric 2×2 correction (scale, anisotropy,
    axis) is fitted by least squares to the matched spots (three or more non-collinear spots; one
    or two give the isotropic scale only).

    Parameters
    ----------
    spots : DataFrame
        ``LatticeAnalysis.spots`` computed with ``pixel_size_nm``.
    phase : Phase
        The reference lattice (e.g. the substrate, or a known phase).
    pixel_size_nm : float
        Nominal pixel size the spots were computed with.
    max_correction : float
        Largest isotropic correction searched (fraction).
    tolerance : float
        Largest relative mismatch of a spot used in the fit.
    d_min_nm : float
        Shortest reference spacing used (dense high-index reflections would match noise).

    Returns
    -------
    CalibrationRefinement

    Raises
    ------
    FitError
        When no spot matches the phase within the searched range.
    """
    from scipy.optimize import least_squares

    g = _g_nm(spots)
    fvec = spots[["fx [1/px]", "fy [1/px]"]].to_numpy() / pixel_size_nm
    flist = _families(phase, d_min_nm)
    dref = np.array([d for _, d, _ in flist])
    if dref.size == 0 or g.size == 0:
        raise FitError(f"refine_calibration: no reflection of {phase.name} in range of the spots")
    gref = 1.0 / dref
    best = None
    for s in np.linspace(1 - max_correction, 1 + max_correction, 2001):
        rel = np.abs(s * g[:, None] - gref[None, :]) / gref[None, :]
        m = rel.min(axis=1)
        n = int((m <= tolerance).sum())
        score = (n, -float(np.sum(np.minimum(m, tolerance))))
        if best is None or score > best[0]:
            best = (score, s)
    assert best is not None
    s0 = best[1]
    rel = np.abs(s0 * g[:, None] - gref[None, :]) / gref[None, :]
    idx = rel.argmin(axis=1)
    used = np.flatnonzero(rel.min(axis=1) <= tolerance)
    if used.size == 0:
        raise FitError(
            f"refine_calibration: no spot within {tolerance:.1%} of a {phase.name} reflection for "
            f"any scale within ±{max_correction:.0%}"
        )
    target = gref[idx[used]]
    vec = fvec[used]
    dirs = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    spread = np.linalg.svd(dirs, compute_uv=False)
    if used.size >= 3 and spread[-1] > 0.2:

        def resid(p: np.ndarray) -> np.ndarray:
            m = np.array([[p[0], p[2]], [p[2], p[1]]])
            return (np.linalg.norm(vec @ m.T, axis=1) - target) / target

        fit = least_squares(resid, x0=[s0, s0, 0.0])
        matrix = np.array([[fit.x[0], fit.x[2]], [fit.x[2], fit.x[1]]])
        res = resid(fit.x)
    else:
        s = float(np.median(target / np.linalg.norm(vec, axis=1)))
        matrix = np.eye(2) * s
        res = (np.linalg.norm(vec, axis=1) * s - target) / target
    evals, evecs = np.linalg.eigh(matrix)
    if np.any(evals <= 0):
        raise FitError(f"refine_calibration: fitted correction is not positive definite: {evals}")
    scale = float(np.sqrt(evals.prod()))
    vmax = evecs[:, 1]
    # fy points down in the image: screen azimuth uses -fy
    axis = math.degrees(math.atan2(-vmax[1], vmax[0])) % 180.0
    labels = [flist[k][0] for k in idx[used]]
    return CalibrationRefinement(
        phase=phase.name,
        matrix=matrix,
        scale=scale,
        anisotropy_percent=float(100 * (evals.max() / evals.min() - 1)),
        axis_deg=axis,
        pixel_size_nm=pixel_size_nm / scale,
        n_spots=int(used.size),
        rms_error_percent=float(100 * np.sqrt(np.mean(res**2))),
        assignments=tuple(
            f"spot {i}: {phase.name}{lab}" for i, lab in zip(used, labels, strict=True)
        ),
    )


def correct_spots(
    spots: pd.DataFrame, refinement: CalibrationRefinement, *, pixel_size_nm: float
) -> pd.DataFrame:
    """Spots with ``g``, ``d`` and azimuth recomputed through a calibration refinement."""
    f = spots[["fx [1/px]", "fy [1/px]"]].to_numpy() / pixel_size_nm
    gt = f @ refinement.matrix.T
    out = spots.copy()
    gn = np.linalg.norm(gt, axis=1)
    out["g [1/nm]"] = gn
    out["d [nm]"] = 1.0 / gn
    out["Azimuth [deg]"] = np.degrees(np.arctan2(-gt[:, 1], gt[:, 0])) % 180.0
    return out
