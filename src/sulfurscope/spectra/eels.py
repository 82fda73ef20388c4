"""EELS line scans: zero-loss alignment, t/λ, power-law backgrounds, edge integrals, fingerprints.

A short NumPy core for the STEM-EELS line scan of the reference study (Fig 3g): the relative
thickness t/λ from the low-loss spectra by the log-ratio method, the Li K and S L2,3 edge integrals of
the core-loss spectra above a power-law background, the integrals divided by t/λ pixel by pixel and
smoothed with a moving average of 5, and the identification of the Li K fine structure (LiF) by
normalised correlation with reference spectra.

Every function takes arrays whose **last axis is the energy axis** (a single spectrum ``(N,)``, a line
scan ``(P, N)`` or a spectrum image ``(Y, X, N)``) and an energy axis ``energy_ev`` of shape ``(N,)``
(uniform, increasing; channel centres in eV). Counts are counts per channel. Nothing is read from
metadata and nothing is rescaled behind the caller's back.

Energy windows ``(lo, hi)`` select the channels ``i0 ≤ i < i1`` with ``i0 = rint((lo − E₀)/ΔE)`` and
``i1 = rint((hi − E₀)/ΔE)`` (E₀ the first channel, ΔE the dispersion): a half-open channel range, the
same rounding as HyperSpy's ``isig[lo:hi]``, so that results can be compared with exspy channel for
channel.

References
----------
.. [1] R. F. Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd ed.,
   Springer (2011).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.spectra._eels_axis import _axis, _index, _spectra, _window
from sulfurscope.spectra.eels_background import (
    BACKGROUND_METHODS,
    BackgroundMethod,
    PowerLawBackground,
    power_law,
    power_law_background,
)

__all__ = [
    "BACKGROUND_METHODS",
    "EDGE_TABLE",
    "REFERENCE_SLOTS",
    "EdgeIntegrals",
    "EdgeWindow",
    "PowerLawBackground",
    "ThicknessResult",
    "ZeroLossAlignment",
    "align_zero_loss",
    "zero_loss_end_ev",
    "edge_integrals",
    "edge_window",
    "power_law",
    "power_law_background",
    "relative_thickness",
    "subtract_background",
    "zero_loss_centres",
]

REFERENCE_SLOTS: tuple[str, ...] = ("LiF", "Li2S", "Li2CO3", "S")
"""Named reference slots of the fingerprinting step (user-provided spectra)."""


# --------------------------------------------------------------------------------------------------
# edge table


@dataclass(frozen=True, slots=True)
class EdgeWindow:
    """Energy windows of one ionisation edge.

    Attributes
    ----------
    name : str
        Key used on the command line and in tables (``"Li_K"``, ``"S_L23"``).
    label : str
        Label for figures (``"Li K"``).
    onset_ev : float
        Nominal edge onset, eV.
    background_ev : (float, float)
        Pre-edge window in which the power-law background is fitted, eV.
    integral_ev : (float, float)
        Window over which the background-subtracted edge is integrated, eV.
    fingerprint_ev : (float, float)
        Window in which the fine structure is compared with references, eV.
    """

    name: str
    label: str
    onset_ev: float
    background_ev: tuple[float, float]
    integral_ev: tuple[float, float]
    fingerprint_ev: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return {
            "name": self.name,
            "label": self.label,
            "onset_ev": self.onset_ev,
            "background_ev": list(self.background_ev),
            "integral_ev": list(self.integral_ev),
            "fingerprint_ev": list(self.fingerprint_ev),
        }


# The study's defaults: Li K integrated over the LiF fingerprint region 62–69 eV, S L2,3 from its onset
# (~160–165 eV) over the first ~30 eV. The others serve the real test files (O K, Mn L2,3, Ti L2,3)
# and the lamella's neighbours (C K, F K). Edit by passing your own EdgeWindow objects
# (``dataclasses.replace(EDGE_TABLE["Li_K"], integral_ev=(60.0, 70.0))``).
EDGE_TABLE: Mapping[str, EdgeWindow] = MappingProxyType(
    {
        e.name: e
        for e in (
            EdgeWindow("Li_K", "Li K", 55.0, (44.0, 54.0), (62.0, 69.0), (55.0, 75.0)),
            EdgeWindow("S_L23", "S L2,3", 162.0, (130.0, 158.0), (160.0, 190.0), (158.0, 185.0)),
            EdgeWindow("C_K", "C K", 284.0, (240.0, 280.0), (282.0, 310.0), (282.0, 310.0)),
            EdgeWindow("Ti_L23", "Ti L2,3", 456.0, (400.0, 450.0), (452.0, 475.0), (452.0, 475.0)),
            EdgeWindow("O_K", "O K", 532.0, (480.0, 525.0), (528.0, 560.0), (528.0, 560.0)),
            EdgeWindow("Mn_L23", "Mn L2,3", 640.0, (580.0, 625.0), (628.0, 665.0), (628.0, 665.0)),
            EdgeWindow("F_K", "F K", 685.0, (640.0, 680.0), (682.0, 715.0), (682.0, 715.0)),
        )
    }
)
"""Default edge windows (name → :class:`EdgeWindow`), read-only; pass edited copies instead."""


def edge_window(name: str, *, edges: Mapping[str, EdgeWindow] | None = None) -> EdgeWindow:
    """Look up an edge by name in ``edges`` (default :data:`EDGE_TABLE`).

    Raises
    ------
    SulfurscopeError
        When the name is not in the table (the message lists the known names).

    Examples
    --------
    >>> edge_window("Li_K").integral_ev
    (62.0, 69.0)
    """
    table = EDGE_TABLE if edges is None else edges
    if name not in table:
        raise SulfurscopeError(f"edge {name!r} unknown: expected one of {sorted(table)}")
    return table[name]


# --------------------------------------------------------------------------------------------------
# zero-loss peak and thickness


@dataclass(frozen=True, slots=True)
class ZeroLossAlignment:
    """Spectra shifted by whole channels so that every zero-loss maximum sits at 0 eV.

    Attributes
    ----------
    counts : (..., M) ndarray of float
        Shifted spectra, cropped to the channels every pixel covers (no channel is invented).
    energy_ev : (M,) ndarray of float, eV
        Calibrated energy axis (ZLP maximum at 0 eV).
    shift_channels : (...) ndarray of int
        Channel shift applied to each pixel (positive: spectrum moved to lower energy).
    zlp_centre_ev : (...) ndarray of float, eV
        ZLP maximum of each pixel on the input axis.
    """

    counts: np.ndarray
    energy_ev: np.ndarray
    shift_channels: np.ndarray
    zlp_centre_ev: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per pixel: ZLP centre and applied shift."""
        return pd.DataFrame(
            {
                "Pixel": np.arange(self.zlp_centre_ev.size),
                "ZLP centre [eV]": self.zlp_centre_ev.ravel(),
                "Shift [channels]": self.shift_channels.ravel(),
            }
        )


def zero_loss_centres(
    spectra: Any, energy_ev: Any, *, search_ev: tuple[float, float] | None = (-10.0, 10.0)
) -> np.ndarray:
    """Energy of the zero-loss maximum of each spectrum.

    The ZLP is taken as the most intense channel inside ``search_ev`` (whole axis when ``None``),
    as exspy's ``estimate_zero_loss_peak_centre`` does; the result is on the channel grid.

    Parameters
    ----------
    spectra : (..., N) array_like of float
        Low-loss spectra, energy axis last.
    energy_ev : (N,) array_like of float, eV
    search_ev : (float, float) or None
        Window that contains the ZLP (use it when a plasmon is more intense than the ZLP).

    Returns
    -------
    (...) ndarray of float, eV

    Examples
    --------
    >>> e = np.arange(-5.0, 20.0, 0.5)
    >>> float(zero_loss_centres(np.exp(-((e - 1.0) ** 2)), e))
    1.0
    """
    s = _spectra(spectra, "low-loss spectra")
    e = _axis(energy_ev, s.shape[-1])
    if search_ev is None:
        i0, i1 = 0, e.size
    else:  # clipped to the axis: a spectrum may start just below 0 eV
        i0, i1 = int(_index(e, search_ev[0])), int(_index(e, search_ev[1]))
        if i1 - i0 < 1:
            raise SulfurscopeError(
                f"search_ev {search_ev} eV does not overlap the energy axis "
                f"({e[0]:.2f}–{e[-1]:.2f} eV): is this a low-loss spectrum with its ZLP?"
            )
    return e[i0 + np.argmax(s[..., i0:i1], axis=-1)]


def align_zero_loss(
    spectra: Any, energy_ev: Any, *, search_ev: tuple[float, float] | None = (-10.0, 10.0)
) -> ZeroLossAlignment:
    """Align the zero-loss peaks of a line scan or spectrum image by whole-channel shifts.

    Each spectrum is shifted so that its ZLP maximum falls on the same channel, the axis is
    recalibrated so that this channel is 0 eV, and the result is cropped to the channels present in
    every pixel. Whole-channel shifts move counts without interpolating them, so sums over windows
    are conserved. Equivalent to exspy's ``align_zero_loss_peak(subpixel=False, calibrate=True,
    crop=True)``.

    Returns
    -------
    ZeroLossAlignment
    """
    s = _spectra(spectra, "low-loss spectra")
    e = _axis(energy_ev, s.shape[-1])
    centres = zero_loss_centres(s, e, search_ev=search_ev)
    idx = _index(e, centres)
    ref = int(np.min(idx))
    shift = idx - ref
    top = int(np.max(shift))
    m = e.size - top
    flat = s.reshape(-1, e.size)
    out = np.empty((flat.shape[0], m))
    for p, k in enumerate(shift.ravel()):
        out[p] = flat[p, k : k + m]
    energy = e[:m] - e[ref]
    return ZeroLossAlignment(
        counts=out.reshape(*s.shape[:-1], m),
        energy_ev=energy,
        shift_channels=np.asarray(shift),
        zlp_centre_ev=np.asarray(centres),
    )


@dataclass(frozen=True, slots=True)
class ThicknessResult:
    """Relative thickness t/λ by the log-ratio method, per pixel.

    Attributes
    ----------
    t_over_lambda : (...) ndarray of float
        ln(I_t / I_0) per pixel (Egerton 2011, Eq. 5.10).
    zlp_intensity : (...) ndarray of float, counts
        I_0: sum of the channels inside the ZLP window.
    total_intensity : (...) ndarray of float, counts
        I_t: sum of all channels of the spectrum.
    zlp_centre_ev : (...) ndarray of float, eV
        Measured ZLP maximum of each pixel (also when ``aligned`` is False: then the window stays
        at 0 eV and a maximum far from 0 means part of the ZLP is counted as inelastic).
    zlp_window_ev : (float | None, float)
        ZLP integration window relative to each pixel's ZLP maximum (``None``: first channel).
    aligned : bool
        Whether the window followed each pixel's ZLP maximum.
    """

    t_over_lambda: np.ndarray
    zlp_intensity: np.ndarray
    total_intensity: np.ndarray
    zlp_centre_ev: np.ndarray
    zlp_window_ev: tuple[float | None, float]
    aligned: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per pixel."""
        return pd.DataFrame(
            {
                "Pixel": np.arange(self.t_over_lambda.size),
                "t/lambda": self.t_over_lambda.ravel(),
                "ZLP intensity [counts]": self.zlp_intensity.ravel(),
                "Total intensity [counts]": self.total_intensity.ravel(),
                "ZLP centre [eV]": self.zlp_centre_ev.ravel(),
            }
        )


def relative_thickness(
    low_loss: Any,
    energy_ev: Any,
    *,
    zlp_window_ev: tuple[float | None, float] = (None, 3.0),
    align: bool = True,
    search_ev: tuple[float, float] | None = (-10.0, 10.0),
) -> ThicknessResult:
    r"""Relative thickness t/λ of each pixel by the log-ratio method.

    .. math:: t/\lambda = \ln(I_t / I_0)

    (Egerton 2011, Eq. 5.10), where :math:`I_t` is the sum of all channels of the spectrum and
    :math:`I_0` the zero-loss intensity: the sum of the channels inside ``zlp_window_ev``.

    Parameters
    ----------
    low_loss : (..., N) array_like of float, counts
        Low-loss spectra including the whole ZLP, energy axis last.
    energy_ev : (N,) array_like of float, eV
    zlp_window_ev : (float or None, float)
        ZLP integration window **relative to each pixel's ZLP maximum** when ``align`` is True
        (absolute energies otherwise). ``None`` as the lower limit starts at the first channel, so
        the whole negative-energy side of the ZLP counts. The upper limit is the truncation energy of
        exspy's ``estimate_thickness(threshold=...)``; 3 eV suits a cold/Schottky FEG ZLP (FWHM
        0.3–1 eV) and stays below plasmon onsets.
    align : bool
        Follow each pixel's ZLP maximum (found in ``search_ev``) instead of assuming it at 0 eV.
    search_ev : (float, float) or None
        Where to look for the ZLP maximum.

    Returns
    -------
    ThicknessResult

    Raises
    ------
    SulfurscopeError
        When a pixel has no positive ZLP intensity, or the window is outside the axis.

    Examples
    --------
    >>> e = np.arange(-5.0, 100.0, 0.25)
    >>> zlp = np.exp(-0.5 * (e / 0.4) ** 2)
    >>> plasmon = np.exp(-0.5 * ((e - 20.0) / 3.0) ** 2)
    >>> s = zlp / zlp.sum() + 0.5 * plasmon / plasmon.sum()
    >>> round(float(relative_thickness(s, e).t_over_lambda), 4)
    0.4055
    """
    s = _spectra(low_loss, "low-loss spectra")
    e = _axis(energy_ev, s.shape[-1])
    lo, hi = zlp_window_ev
    if lo is not None and not hi > lo:
        raise SulfurscopeError(f"zlp_window_ev {zlp_window_ev}: upper limit must exceed lower")
    nav = s.shape[:-1]
    # the ZLP maximum is measured either way (and reported); the window follows it only if aligned
    centres = np.asarray(zero_loss_centres(s, e, search_ev=search_ev), dtype=float)
    origin = centres if align else np.zeros(nav)
    i_hi = _index(e, origin + hi)
    i_lo = np.zeros(nav, dtype=int) if lo is None else _index(e, origin + lo)
    cum = np.concatenate([np.zeros((*nav, 1)), np.cumsum(s, axis=-1)], axis=-1)
    i0 = (
        np.take_along_axis(cum, i_hi[..., None], -1)[..., 0]
        - np.take_along_axis(cum, i_lo[..., None], -1)[..., 0]
    )
    total = cum[..., -1]
    if np.any(i0 <= 0) or np.any(total <= 0):
        bad = int(np.flatnonzero(np.ravel(i0 <= 0) | np.ravel(total <= 0))[0])
        raise SulfurscopeError(
            f"low-loss pixel {bad}: no positive zero-loss intensity in the window {zlp_window_ev} eV "
            "(is the ZLP inside the spectrum? check search_ev/zlp_window_ev)"
        )
    tl = np.log(total / i0)
    return ThicknessResult(
        t_over_lambda=np.asarray(tl),
        zlp_intensity=np.asarray(i0),
        total_intensity=np.asarray(total),
        zlp_centre_ev=centres,
        zlp_window_ev=(None if lo is None else float(lo), float(hi)),
        aligned=bool(align),
    )


def zero_loss_end_ev(low_loss: Any, energy_ev: Any, *, smooth_channels: float = 1.0) -> np.ndarray:
    """Where each pixel's zero-loss peak ends: the first local minimum of the (Gaussian-smoothed)
    spectrum after its maximum, in eV above the maximum — the elastic threshold exspy's
    ``estimate_elastic_scattering_threshold`` looks for. NaN where no minimum follows.

    Examples
    --------
    >>> e = np.arange(-5.0, 60.0, 0.1)
    >>> s = np.exp(-0.5 * (e / 0.4) ** 2) + 0.02 * np.exp(-0.5 * ((e - 15.0) / 3.0) ** 2)
    >>> 1.0 < float(zero_loss_end_ev(s, e)) < 3.0
    True
    """
    from scipy.ndimage import gaussian_filter1d

    s = _spectra(low_loss, "low-loss spectra")
    e = _axis(energy_ev, s.shape[-1])
    flat = s.reshape(-1, e.size)
    out = np.full(flat.shape[0], np.nan)
    for k, row in enumerate(flat):
        i = int(np.argmax(row))
        rising = np.flatnonzero(np.diff(gaussian_filter1d(row, smooth_channels)[i:]) >= 0)
        if rising.size:
            out[k] = e[i + int(rising[0])] - e[i]
    return out.reshape(s.shape[:-1])


# --------------------------------------------------------------------------------------------------
# edge integrals


@dataclass(frozen=True, slots=True)
class EdgeIntegrals:
    """Background-subtracted edge integrals per pixel.

    Attributes
    ----------
    edges : tuple of EdgeWindow
    integral : (..., K) ndarray of float, counts
        Σ (counts − background) over each edge's integration window.
    background_r : (..., K) ndarray of float
    background_amplitude : (..., K) ndarray of float
    background_counts : (..., K) ndarray of float, counts
        Σ background over the integration window (the extrapolated part).
    method : str
        Background method.
    """

    edges: tuple[EdgeWindow, ...]
    integral: np.ndarray
    background_r: np.ndarray
    background_amplitude: np.ndarray
    background_counts: np.ndarray
    method: str

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per pixel and edge."""
        k = len(self.edges)
        integ = self.integral.reshape(-1, k)
        rows = []
        for j, edge in enumerate(self.edges):
            rows.append(
                pd.DataFrame(
                    {
                        "Pixel": np.arange(integ.shape[0]),
                        "Edge": edge.name,
                        "Integral [counts]": integ[:, j],
                        "Background r": self.background_r.reshape(-1, k)[:, j],
                        "Background A": self.background_amplitude.reshape(-1, k)[:, j],
                        "Background under window [counts]": self.background_counts.reshape(-1, k)[
                            :, j
                        ],
                        "Integral window low [eV]": edge.integral_ev[0],
                        "Integral window high [eV]": edge.integral_ev[1],
                        "Background window low [eV]": edge.background_ev[0],
                        "Background window high [eV]": edge.background_ev[1],
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)


def edge_integrals(
    core_loss: Any,
    energy_ev: Any,
    edges: Sequence[EdgeWindow | str],
    *,
    method: BackgroundMethod = "least_squares",
    edge_table: Mapping[str, EdgeWindow] | None = None,
) -> EdgeIntegrals:
    r"""Integrate each edge above a power-law background extrapolated from its pre-edge window.

    .. math:: I_k = \sum_{i \in W_k} \left(c_i - A E_i^{-r} \Delta E\right)

    (Egerton 2011, §4.4 and Eq. 4.65), where :math:`W_k` is the integration window (channels
    ``i0 ≤ i < i1``, see the module notes) and A, r are fitted by :func:`power_law_background` in the
    edge's pre-edge window.

    Parameters
    ----------
    core_loss : (..., N) array_like of float, counts
    energy_ev : (N,) array_like of float, eV
    edges : sequence of EdgeWindow or str
        Edge windows, or names looked up in ``edge_table`` (default :data:`EDGE_TABLE`).
    method : {"least_squares", "log_fit", "two_area"}
        Background fit (see :func:`power_law_background`).

    Returns
    -------
    EdgeIntegrals
    """
    s = _spectra(core_loss, "core-loss spectra")
    e = _axis(energy_ev, s.shape[-1])
    resolved = tuple(
        x if isinstance(x, EdgeWindow) else edge_window(x, edges=edge_table) for x in edges
    )
    if not resolved:
        raise SulfurscopeError("edges is empty: give at least one edge")
    de = e[1] - e[0]
    integ, rr, aa, bb = [], [], [], []
    for edge in resolved:
        j0, j1 = _window(e, edge.integral_ev, f"{edge.name} integral window")
        if edge.background_ev[1] > edge.integral_ev[0] + 1e-9:
            raise SulfurscopeError(
                f"{edge.name}: background window {edge.background_ev} eV overlaps the integral "
                f"window {edge.integral_ev} eV"
            )
        bg = power_law_background(s, e, edge.background_ev, method=method)
        model = power_law(e[j0:j1], bg.amplitude[..., None], bg.r[..., None]) * de
        bsum = model.sum(-1)
        integ.append(s[..., j0:j1].sum(-1) - bsum)
        rr.append(bg.r)
        aa.append(bg.amplitude)
        bb.append(bsum)
    return EdgeIntegrals(
        edges=resolved,
        integral=np.stack(integ, axis=-1),
        background_r=np.stack(rr, axis=-1),
        background_amplitude=np.stack(aa, axis=-1),
        background_counts=np.stack(bb, axis=-1),
        method=method,
    )


def subtract_background(
    core_loss: Any, energy_ev: Any, background: PowerLawBackground
) -> np.ndarray:
    """Core-loss counts minus the fitted power law, zero below the background window start."""
    s = _spectra(core_loss, "core-loss spectra")
    e = _axis(energy_ev, s.shape[-1])
    de = e[1] - e[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        model = power_law(
            np.maximum(e, 1e-9), background.amplitude[..., None], background.r[..., None]
        )
    out = s - model * de
    out[..., e < background.window_ev[0]] = 0.0
    return out


# --------------------------------------------------------------------------------------------------
# smoothing and the line-scan profile


# --------------------------------------------------------------------------------------------------
# fingerprinting
