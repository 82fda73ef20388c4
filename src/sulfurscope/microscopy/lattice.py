"""Lattice spacings from HRTEM/STEM images by FFT, indexed against phases of the Li–S cathode.

The reference study assigned fringes on discharged particles to LiF (111) and Li2S (111) from the
FFT (Figure 4a, Figure S6). The steps:

1. :func:`lattice_spacings` — windowed FFT of an image or a region, spots (local maxima of the power
   over its radial median, sub-pixel by a parabola on the log power) and rings (peaks of the
   azimuthal average over a smooth background); d = 1/|g|.
2. :func:`reference_spacings` — d-spacings of the phases in :data:`REFERENCE_PHASES` (or yours:
   :class:`Phase` is a plain dataclass) from their lattice constants, with the centring and glide
   absences.
3. :func:`index_spots` — match every spot within a tolerance; flag near-ambiguous matches (Li2S(111)
   3.30 Å vs graphite (002) 3.36 Å vs S8; LiF(200) vs Li2S(220)) and resolve them with a second spot
   whose angle to the first fits only one phase.
4. :func:`refine_calibration` — pixel-size correction (scale and anisotropy) from a known reference
   lattice in the same image; :func:`correct_spots` applies it.
5. :func:`fft_filter` — soft (Gaussian) masks on chosen spots and their mirror spots, inverse FFT of
   the un-windowed transform.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from sulfurscope.microscopy.phases import (
    REFERENCE_PHASES,
    Phase,
    _centring_allowed,
    _families,
    _reciprocal_metric,
    interplanar_angle,
    reference_spacings,
)

__all__ = [
    "REFERENCE_PHASES",
    "LatticeAnalysis",
    "Phase",
    "fft_filter",
    "index_spots",
    "interplanar_angle",
    "lattice_spacings",
    "reference_spacings",
    "spot_angles",
]


# --------------------------------------------------------------------------------------------
# FFT spots and rings


@dataclass(frozen=True, slots=True)
class LatticeAnalysis:
    """FFT spots and rings of an image.

    Attributes
    ----------
    spots : DataFrame
        One row per spot (one of each Friedel pair): ``"fx [1/px]"``, ``"fy [1/px]"`` (spatial
        frequency in cycles per pixel, +y downwards), ``"g [1/u]"``, ``"d [u]"``, ``"Azimuth [deg]"``
        (counter-clockwise from +x as seen on screen), ``"SNR"`` (peak power over the radial median)
        with ``u`` = ``"nm"`` when calibrated, ``"px"`` otherwise.
    rings : DataFrame
        ``"g [1/u]"``, ``"d [u]"``, ``"Prominence"`` (log10 power above background), ``"FWHM [1/u]"``.
    power_log10 : (M, N) ndarray
        log10 of the windowed power spectrum, centred (for figures).
    pixel_size_nm : float or None
    length_unit : str
        ``"nm"`` or ``"px"``.
    window : str
    region : tuple of int or None
        ``(row0, row1, col0, col1)`` analysed.
    """

    spots: pd.DataFrame
    rings: pd.DataFrame
    power_log10: np.ndarray
    pixel_size_nm: float | None
    length_unit: str
    window: str
    region: tuple[int, int, int, int] | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (no power spectrum)."""
        return {
            "spots": self.spots.to_dict(orient="records"),
            "rings": self.rings.to_dict(orient="records"),
            "pixel_size_nm": self.pixel_size_nm,
            "length_unit": self.length_unit,
            "window": self.window,
            "region": list(self.region) if self.region else None,
        }


def _window(shape: tuple[int, int], kind: str) -> np.ndarray:
    if kind == "none":
        return np.ones(shape)
    if kind == "hann":
        return np.outer(np.hanning(shape[0]), np.hanning(shape[1]))
    if kind == "tukey":
        from scipy.signal.windows import tukey

        return np.outer(tukey(shape[0], 0.25), tukey(shape[1], 0.25))
    raise ValueError(f"window must be 'hann', 'tukey' or 'none', got {kind!r}")


def _radial_index(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fy = np.fft.fftshift(np.fft.fftfreq(shape[0]))
    fx = np.fft.fftshift(np.fft.fftfreq(shape[1]))
    fyy, fxx = np.meshgrid(fy, fx, indexing="ij")
    # radius in units of the coarser frequency step (square images: FFT pixels)
    step = max(1.0 / shape[0], 1.0 / shape[1])
    r = np.hypot(fxx, fyy) / step
    return fxx, fyy, r


def _subpixel(logp: np.ndarray, y: int, x: int) -> tuple[float, float]:
    def off(m: float, c: float, p: float) -> float:
        den = m - 2 * c + p
        return 0.0 if den >= 0 else float(np.clip(0.5 * (m - p) / den, -0.5, 0.5))

    ny, nx = logp.shape
    # the candidate is a maximum of the background-subtracted power; the parabola needs the
    # maximum of the power itself, which can sit one pixel away (a parabola clipped at ±0.5 px
    # would then stop half a pixel short): climb to it first
    for _ in range(3):
        if not (0 < y < ny - 1 and 0 < x < nx - 1):
            break
        k = int(np.argmax(logp[y - 1 : y + 2, x - 1 : x + 2]))
        if k == 4:
            break
        y, x = y - 1 + k // 3, x - 1 + k % 3
    if 0 < y < ny - 1 and 0 < x < nx - 1:
        dy = off(logp[y - 1, x], logp[y, x], logp[y + 1, x])
        dx = off(logp[y, x - 1], logp[y, x], logp[y, x + 1])
        return y + dy, x + dx
    return float(y), float(x)


def lattice_spacings(
    image: np.ndarray,
    *,
    pixel_size_nm: float | None = None,
    region: tuple[int, int, int, int] | None = None,
    window: Literal["hann", "tukey", "none"] = "hann",
    snr_min: float = 30.0,
    max_spots: int = 24,
    min_radius_px: float = 4.0,
    d_min_nm: float | None = None,
    ring_prominence: float = 0.08,
) -> LatticeAnalysis:
    """FFT spots and rings of an HRTEM/STEM image and their d-spacings.

    Parameters
    ----------
    image : (M, N) ndarray
        Grey image.
    pixel_size_nm : float, optional
        Calibration; without it spacings are in pixels (columns say ``[px]``).
    region : (row0, row1, col0, col1), optional
        Analyse only this part of the image.
    window : {"hann", "tukey", "none"}
        Apodisation before the FFT (suppresses the edge streaks).
    snr_min : float
        Smallest peak power over the radial median power at the same |g| for a spot. Noise power
        is exponentially distributed, so a ratio t is exceeded by chance with probability
        ``2**-t`` per pixel: 30 keeps a 1024² FFT free of false spots.
    max_spots : int
        Keep the strongest spots (one per Friedel pair).
    min_radius_px : float
        Ignore the centre of the FFT (DC and the slow background) within this radius.
    d_min_nm : float, optional
        Ignore spots with smaller spacing (noise near Nyquist).
    ring_prominence : float
        Smallest height (log10 power) of a ring above the smooth background.

    Returns
    -------
    LatticeAnalysis

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[:128, :128]
    >>> img = np.cos(2 * np.pi * x / 8.0)          # fringes 8 px apart
    >>> res = lattice_spacings(img, pixel_size_nm=0.05)
    >>> round(float(res.spots["d [nm]"].iloc[0]), 3)
    0.4
    """
    img = np.asarray(image, dtype=float)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    if region is not None:
        r0, r1, c0, c1 = region
        img = img[r0:r1, c0:c1]
    if min(img.shape) < 16:
        raise ValueError(f"image (region) {img.shape} is too small for an FFT analysis (>= 16 px)")
    if pixel_size_nm is not None and not pixel_size_nm > 0:
        raise ValueError(f"pixel_size_nm must be positive, got {pixel_size_nm}")
    win = _window(img.shape, window)
    f = np.fft.fftshift(np.fft.fft2((img - img.mean()) * win))
    logp = np.log10(np.abs(f) ** 2 + 1e-30)
    fxx, fyy, r = _radial_index(img.shape)
    rbin = np.rint(r).astype(np.intp)
    med, mean = _radial_profiles(logp, rbin)
    snr_log = logp - med[rbin]
    rmax = min(img.shape) / 2 - 2
    unit = "nm" if pixel_size_nm is not None else "px"
    scale = pixel_size_nm if pixel_size_nm is not None else 1.0
    spots = _spots(logp, snr_log, (fxx, fyy, r), (min_radius_px, rmax), snr_min, max_spots,
                   scale, unit, d_min_nm if pixel_size_nm is not None else None)
    # ---- rings: peaks of the azimuthal mean above a smooth (log-log quadratic) background
    rings = _rings(mean, img.shape, scale, unit, min_radius_px, rmax, ring_prominence)
    return LatticeAnalysis(
        spots=spots,
        rings=rings,
        power_log10=logp,
        pixel_size_nm=pixel_size_nm,
        length_unit=unit,
        window=window,
        region=(int(r0), int(r1), int(c0), int(c1)) if region is not None else None,
    )


def _radial_profiles(logp: np.ndarray, rbin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per radius: the median of log power (the robust background of spots) and the log of the
    mean power (for rings)."""
    nbins = int(rbin.max()) + 1
    order = np.argsort(rbin, axis=None)
    sorted_bins = rbin.ravel()[order]
    sorted_logp = logp.ravel()[order]
    bounds = np.searchsorted(sorted_bins, np.arange(nbins + 1))
    med = np.zeros(nbins)
    mean = np.zeros(nbins)
    for i in range(nbins):
        if bounds[i + 1] > bounds[i]:
            part = sorted_logp[bounds[i] : bounds[i + 1]]
            med[i] = np.median(part)
            mean[i] = np.log10(np.mean(10**part))
    return med, mean


def _spots(logp: np.ndarray, snr_log: np.ndarray, grids: tuple, radii: tuple[float, float],
           snr_min: float, max_spots: int, scale: float, unit: str,
           d_min: float | None) -> pd.DataFrame:
    """The strongest local maxima of the power over its radial median (one of each Friedel pair:
    the upper half plane), refined to sub-pixel."""
    fxx, fyy, r = grids
    cand = (ndi.maximum_filter(snr_log, size=5) == snr_log) & (r >= radii[0]) & (r <= radii[1])
    cand &= snr_log >= math.log10(snr_min)
    cand &= (fyy < 0) | ((fyy == 0) & (fxx > 0))
    ys, xs = np.nonzero(cand)
    strength = snr_log[ys, xs]
    cy, cx = logp.shape[0] // 2, logp.shape[1] // 2
    rows = []
    for i in np.argsort(-strength)[: max(0, max_spots)]:
        y, x = _subpixel(logp, int(ys[i]), int(xs[i]))
        fx, fy = (x - cx) / logp.shape[1], (y - cy) / logp.shape[0]
        g = math.hypot(fx, fy) / scale
        if d_min is not None and 1.0 / g < d_min:
            continue
        rows.append((fx, fy, g, 1.0 / g, math.degrees(math.atan2(-fy, fx)) % 180.0,
                     float(10 ** strength[i])))
    return pd.DataFrame(
        rows,
        columns=["fx [1/px]", "fy [1/px]", f"g [1/{unit}]", f"d [{unit}]", "Azimuth [deg]", "SNR"],
    )


def _rings(
    mean_log: np.ndarray,
    shape: tuple[int, int],
    scale: float,
    unit: str,
    rmin: float,
    rmax: float,
    prominence: float,
) -> pd.DataFrame:
    from scipy.signal import find_peaks

    radius = np.arange(mean_log.size, dtype=float)
    sel = (radius >= max(rmin, 3)) & (radius <= rmax)
    cols = [f"g [1/{unit}]", f"d [{unit}]", "Prominence", f"FWHM [1/{unit}]"]
    if sel.sum() < 10:
        return pd.DataFrame(columns=cols)
    x = np.log10(radius[sel])
    y = mean_log[sel]
    use = np.ones_like(x, dtype=bool)
    for _ in range(5):  # robust quadratic background: drop points well above the fit
        coef = np.polyfit(x[use], y[use], 3)
        resid = y - np.polyval(coef, x)
        sd = np.std(resid[use])
        use = resid < 1.5 * sd
    resid = ndi.gaussian_filter1d(y - np.polyval(coef, x), 1.0)
    peaks, props = find_peaks(resid, prominence=prominence, width=1.5)
    step = max(1.0 / shape[0], 1.0 / shape[1])
    rows = []
    for p, prom, wid in zip(peaks, props["prominences"], props["widths"], strict=True):
        off = 0.0
        if 0 < p < resid.size - 1:
            m, c, q = resid[p - 1], resid[p], resid[p + 1]
            den = m - 2 * c + q
            off = 0.5 * (m - q) / den if den < 0 else 0.0
        rad = radius[sel][p] + off
        g = rad * step / scale
        rows.append((g, 1.0 / g, float(prom), wid * step / scale))
    return pd.DataFrame(rows, columns=cols).sort_values(
        "Prominence", ascending=False, ignore_index=True
    )


def spot_angles(spots: pd.DataFrame) -> pd.DataFrame:
    """Angles between every pair of spots (0–180°, between the g vectors).

    Returns
    -------
    DataFrame
        ``"Spot 1"``, ``"Spot 2"`` (row indices), ``"Angle [deg]"``.
    """
    f = spots[["fx [1/px]", "fy [1/px]"]].to_numpy()
    rows = []
    for i, j in itertools.combinations(range(len(f)), 2):
        cos = f[i] @ f[j] / (np.linalg.norm(f[i]) * np.linalg.norm(f[j]))
        rows.append((i, j, math.degrees(math.acos(float(np.clip(cos, -1, 1))))))
    return pd.DataFrame(rows, columns=["Spot 1", "Spot 2", "Angle [deg]"])


# --------------------------------------------------------------------------------------------
# indexing


def _g_nm(spots: pd.DataFrame) -> np.ndarray:
    if "g [1/nm]" not in spots.columns:
        raise ValueError("spots carry no calibration (no 'g [1/nm]' column): give pixel_size_nm")
    return spots["g [1/nm]"].to_numpy(dtype=float)


def _allowed(p: Phase, h: np.ndarray) -> bool:
    hh = [int(x) for x in h]
    if not any(hh):
        return False
    return _centring_allowed(p.centring, *hh) and not (p.absent is not None and p.absent(*hh))


def _zone_solution(
    phase: Phase,
    gstar: np.ndarray,
    cands: list,
    gvec: np.ndarray,
    dmeas: np.ndarray,
    tolerance: float,
    angle_tolerance_deg: float,
    max_pairs: int = 10,
    max_combos: int = 80,
) -> tuple[int, dict[int, np.ndarray], str, float]:
    """Largest set of spots that one orientation of ``phase`` indexes consistently.

    Returns (number of spots, {spot: hkl}, basis text, rms relative d error); ties in the number
    of spots go to the smaller rms error.

    Two non-collinear spots i, j with members h1, h2 whose interplanar angle matches the measured
    one fix the zone; every other spot k = m g_i + n g_j (m, n multiples of 1/q, q <= 3) must then
    be ``(m h1 + n h2)``, an allowed reflection whose d matches within ``tolerance``.
    """
    name = phase.name
    members: dict[int, np.ndarray] = {}
    for k, c in enumerate(cands):
        ms = [t[3] for t in c if t[0] == name and abs(t[4]) <= tolerance]
        if ms:
            members[k] = np.concatenate(ms)
    best: tuple[int, dict[int, np.ndarray], str, float] = (0, {}, "", math.inf)
    if len(members) < 2:
        return best
    for i, j, ang in _spot_pairs(list(members), gvec)[:max_pairs]:
        combos = _matching_members(members[i], members[j], gstar, ang, angle_tolerance_deg)
        if combos.size == 0:
            continue
        coef = np.linalg.solve(np.stack([gvec[i], gvec[j]], axis=1), gvec.T).T
        for a, b in combos[:max_combos]:
            assign = _assign_zone(phase, gstar, members[i][a], members[j][b], i, j, coef, dmeas,
                                  tolerance)
            if len(assign) >= best[0]:
                rms = _rms_d_error(assign, gstar, dmeas)
                if len(assign) > best[0] or rms < best[3]:
                    best = (len(assign), assign, f"spots {i}, {j} at {ang:.1f} deg", rms)
    return best


def _spot_pairs(idx: list[int], gvec: np.ndarray) -> list[tuple[int, int, float]]:
    """Non-collinear pairs (8–172°) among the first candidate spots, with their angle."""
    norms = np.linalg.norm(gvec, axis=1)
    pairs = []
    for a, i in enumerate(idx[:6]):
        for j in idx[a + 1 : 8]:
            cos = gvec[i] @ gvec[j] / (norms[i] * norms[j])
            ang = math.degrees(math.acos(float(np.clip(cos, -1, 1))))
            if 8.0 < ang < 172.0:
                pairs.append((i, j, ang))
    return pairs


def _matching_members(m1: np.ndarray, m2: np.ndarray, gstar: np.ndarray, ang: float,
                      tolerance_deg: float) -> np.ndarray:
    """(a, b) index pairs of reflections of the two families whose interplanar angle matches."""
    n1 = np.sqrt(np.einsum("ij,jk,ik->i", m1, gstar, m1))
    n2 = np.sqrt(np.einsum("ij,jk,ik->i", m2, gstar, m2))
    cosm = (m1 @ gstar @ m2.T) / np.outer(n1, n2)
    angs = np.degrees(np.arccos(np.clip(cosm, -1, 1)))
    return np.argwhere(np.abs(angs - ang) <= tolerance_deg)


def _assign_zone(phase: Phase, gstar: np.ndarray, h1: np.ndarray, h2: np.ndarray, i: int, j: int,
                 coef: np.ndarray, dmeas: np.ndarray, tolerance: float) -> dict[int, np.ndarray]:
    """The spots that the zone of (h1 at spot i, h2 at spot j) indexes: spot k = m g_i + n g_j
    with m, n multiples of 1/q (q ≤ 3) is (m h1 + n h2) when that is allowed and its d matches."""
    assign = {i: h1, j: h2}
    for k in range(len(coef)):
        if k in assign:
            continue
        m, n = coef[k]
        for q in (1, 2, 3):
            qm, qn = q * m, q * n
            if abs(qm - round(qm)) >= 0.12 or abs(qn - round(qn)) >= 0.12:
                continue
            hv = round(qm) * h1 + round(qn) * h2
            if np.any(hv % q):
                continue
            hk = hv // q
            if _allowed(phase, hk):
                dk = 1.0 / math.sqrt(float(hk @ gstar @ hk))
                if abs(dmeas[k] - dk) / dk <= tolerance:
                    assign[k] = hk
            break
    return assign


def _rms_d_error(assign: dict[int, np.ndarray], gstar: np.ndarray, dmeas: np.ndarray) -> float:
    err = [(dmeas[k] - 1.0 / math.sqrt(float(h @ gstar @ h))) * math.sqrt(float(h @ gstar @ h))
           for k, h in assign.items()]
    return float(np.sqrt(np.mean(np.square(err))))


def _candidates(g: np.ndarray, phases: Sequence[Phase], d_min_nm: float, within: float
                ) -> list[list[tuple[str, str, float, np.ndarray, float]]]:
    """Per spot: the reflection families of every phase whose d is within ``within`` (relative),
    closest first, as (phase, label, d ref, members, relative error)."""
    fams = {p.name: _families(p, d_min_nm) for p in phases}
    cands = []
    for gi in g:
        d = 1.0 / gi
        c = [(name, label, dref, members, (d - dref) / dref)
             for name, flist in fams.items() for label, dref, members in flist
             if abs((d - dref) / dref) <= within]
        c.sort(key=lambda t: abs(t[4]))
        cands.append(c)
    return cands


def _hkl_text(h: np.ndarray) -> str:
    return "(" + "".join(str(int(x)) if x >= 0 else f"-{abs(int(x))}" for x in h) + ")"


def _spot_row(i: int, c: list, zones: dict, tolerance: float, ambiguity: float) -> tuple:
    """One spot's phase, hkl, reference d, error, candidates, ambiguity and evidence (see
    :func:`index_spots`)."""
    within = [t for t in c if abs(t[4]) <= tolerance]
    near = [t for t in c if abs(t[4]) <= ambiguity]
    names = sorted({t[0] for t in near})
    cand_text = ", ".join(f"{t[0]}{t[1]} {t[2]:.4f}" for t in near)
    if not within:
        return ("", "", np.nan, np.nan, cand_text, len(names) > 1, "")
    # phases whose consistent zone indexing explains this spot: most spots, then smaller rms error
    explaining = sorted({t[0] for t in within if i in zones[t[0]][1]},
                        key=lambda n: (-zones[n][0], zones[n][3]))
    ambiguous = len(names) > 1
    phase = within[0][0]
    if explaining:
        top = zones[explaining[0]]
        nxt = zones[explaining[1]] if len(explaining) > 1 else (0, {}, "", math.inf)
        if top[0] >= 3 and (top[0] > nxt[0] or (top[0] == nxt[0] and top[3] < 0.5 * nxt[3])):
            phase = explaining[0]
            ambiguous = False
    t = next(t for t in within if t[0] == phase)
    label, why = t[1], ""
    if i in zones[phase][1]:
        label = _hkl_text(zones[phase][1][i])
        why = f"zone of {len(zones[phase][1])} spots ({zones[phase][2]})"
    return (phase, label, t[2], 100 * t[4], cand_text, ambiguous, why)


def index_spots(
    spots: pd.DataFrame,
    phases: Sequence[Phase] = REFERENCE_PHASES,
    *,
    tolerance: float = 0.02,
    angle_tolerance_deg: float = 1.5,
    ambiguity: float = 0.03,
    d_min_nm: float = 0.1,
) -> pd.DataFrame:
    """Assign spots to phase and plane; flag and (where possible) resolve ambiguous ones.

    Parameters
    ----------
    spots : DataFrame
        ``LatticeAnalysis.spots`` (calibrated: with ``"g [1/nm]"``).
    phases : sequence of Phase
    tolerance : float
        Largest relative d mismatch of a match.
    angle_tolerance_deg : float
        Largest mismatch of the angle between two spots and between the two planes.
    ambiguity : float
        Candidates of different phases within this relative d of the spot make it ambiguous.
    d_min_nm : float
        Shortest reference spacing considered (spots below it stay unassigned: high-index
        reflections are so dense that anything would match).

    Returns
    -------
    DataFrame
        The spots table plus ``"Phase"``, ``"hkl"``, ``"d ref [nm]"``, ``"d error [%]"``,
        ``"Candidates"`` (all phase(hkl) within ``ambiguity``), ``"Ambiguous"`` (bool, still
        ambiguous after the zone test), ``"Confirmed by"`` (size and basis of the consistent
        zone indexing that includes the spot, or ""). ``"hkl"`` is the specific member found by
        the zone indexing, else the family representative.

    Notes
    -----
    Two spots from one crystal make the angle between their planes: a pair of members ``h1``,
    ``h2`` of their candidate families with that angle (within ``angle_tolerance_deg``,
    :func:`interplanar_angle`) fixes a zone axis, and every further spot ``g_k = m g_1 + n g_2``
    must then be the allowed reflection ``m h1 + n h2`` with a matching d. For each phase the
    orientation that explains the most spots (then the smallest rms d error) is kept; an ambiguous
    spot goes to the phase whose zone explains it with at least 3 spots and either more spots
    than any other phase or as many with less than half the rms d error; otherwise it stays
    flagged. Dense low-symmetry phases (S8, Li2CO3, Li2SO4) match any single pair by
    chance, which is why a pair alone does not resolve.
    """
    g = _g_nm(spots)
    cands = _candidates(g, phases, d_min_nm, max(tolerance, ambiguity))
    f = spots[["fx [1/px]", "fy [1/px]"]].to_numpy()
    gvec = np.stack([f[:, 0], -f[:, 1]], axis=1)
    zones = {
        p.name: _zone_solution(
            p, _reciprocal_metric(p), cands, gvec, 1.0 / g, tolerance, angle_tolerance_deg
        )
        for p in phases
    }
    rows = [_spot_row(i, c, zones, tolerance, ambiguity) for i, c in enumerate(cands)]
    extra = pd.DataFrame(
        rows,
        columns=["Phase", "hkl", "d ref [nm]", "d error [%]", "Candidates", "Ambiguous",
                 "Confirmed by"],
    )
    return pd.concat([spots.reset_index(drop=True), extra], axis=1)


# --------------------------------------------------------------------------------------------
# calibration refinement


# --------------------------------------------------------------------------------------------
# filtering


def fft_filter(
    image: np.ndarray,
    frequencies: np.ndarray,
    *,
    radius: float = 0.01,
    keep_mean: bool = True,
) -> np.ndarray:
    """Bragg-filtered image: soft masks on chosen spots and their mirrors, inverse FFT.

    The transform is of the un-windowed image (a windowed transform would fade the borders of the
    filtered image).

    Parameters
    ----------
    image : (M, N) ndarray
    frequencies : (K, 2) array_like
        Spot positions ``(fx, fy)`` in cycles per pixel (the ``"fx [1/px]"``, ``"fy [1/px]"``
        columns of ``LatticeAnalysis.spots``); the mirror ``(-fx, -fy)`` is added.
    radius : float
        Gaussian mask sigma in cycles per pixel.
    keep_mean : bool
        Add the image mean back.

    Returns
    -------
    (M, N) ndarray of float

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[:64, :64]
    >>> img = np.cos(2 * np.pi * x / 8) + np.cos(2 * np.pi * y / 5)
    >>> out = fft_filter(img, [[1 / 8, 0.0]], radius=0.01, keep_mean=False)
    >>> bool(np.allclose(out, np.cos(2 * np.pi * x / 8), atol=0.05))
    True
    """
    img = np.asarray(image, dtype=float)
    freq = np.atleast_2d(np.asarray(frequencies, dtype=float))
    if freq.shape[1] != 2:
        raise ValueError(f"frequencies must be (K, 2) of (fx, fy), got shape {freq.shape}")
    if radius <= 0:
        raise ValueError(f"radius must be positive, got {radius}")
    mean = img.mean()
    f = np.fft.fft2(img - mean)
    fy = np.fft.fftfreq(img.shape[0])[:, None]
    fx = np.fft.fftfreq(img.shape[1])[None, :]
    mask = np.zeros(img.shape)
    for sx, sy in freq:
        for sgn in (1.0, -1.0):
            # distance on the periodic frequency grid
            dx = (fx - sgn * sx + 0.5) % 1.0 - 0.5
            dy = (fy - sgn * sy + 0.5) % 1.0 - 0.5
            mask = np.maximum(mask, np.exp(-(dx**2 + dy**2) / (2 * radius**2)))
    out = np.real(np.fft.ifft2(f * mask))
    return out + mean if keep_mean else out

