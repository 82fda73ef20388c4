"""EELS line scans: the smoothed profile of edge integrals along a scan and per-pixel fingerprints.

:func:`moving_average` (edge-aware window), :func:`line_scan_profile` (t/λ-normalised edge
integrals along the scan, Figure 3g of the reference study), :func:`fingerprint_edge` and
:func:`fingerprint_pixels` (least-squares fractions of reference edge shapes, e.g. Li2S vs LiF vs S,
per spectrum). Built on :mod:`sulfurscope.spectra.eels`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.spectra.eels import (
    REFERENCE_SLOTS,
    EdgeIntegrals,
    EdgeWindow,
    ThicknessResult,
    _axis,
    _spectra,
    _window,
    power_law_background,
    subtract_background,
)

__all__ = [
    "FingerprintResult",
    "LineScanProfile",
    "fingerprint_edge",
    "fingerprint_pixels",
    "line_scan_profile",
    "moving_average",
]


def moving_average(
    values: Any, window: int = 5, *, edge: Literal["shrink", "nan"] = "shrink"
) -> np.ndarray:
    """Centred moving average along the first axis (the scan position).

    Parameters
    ----------
    values : (P, ...) array_like of float
    window : int
        Odd number of points (5 in the study's Fig 3g).
    edge : {"shrink", "nan"}
        What happens within ``window // 2`` points of either end: ``"shrink"`` averages the points
        that exist (the window is truncated, never padded or reflected); ``"nan"`` leaves NaN there.

    Examples
    --------
    >>> moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 3).tolist()
    [1.5, 2.0, 3.0, 4.0, 4.5]
    >>> moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 3, edge="nan").tolist()
    [nan, 2.0, 3.0, 4.0, nan]
    """
    v = np.asarray(values, dtype=float)
    if not isinstance(window, int | np.integer) or window < 1 or window % 2 == 0:
        raise SulfurscopeError(f"window must be a positive odd integer, got {window!r}")
    if edge not in ("shrink", "nan"):
        raise SulfurscopeError(f"edge must be 'shrink' or 'nan', got {edge!r}")
    if v.ndim == 0 or v.shape[0] == 0:
        raise SulfurscopeError("values must have at least one point along the first axis")
    h = window // 2
    n = v.shape[0]
    acc = np.zeros_like(v)
    cnt = np.zeros(n)
    for k in range(-h, h + 1):  # direct window sums: no cumulative-sum cancellation
        lo, hi = max(0, -k), min(n, n - k)
        if hi > lo:
            acc[lo:hi] += v[lo + k : hi + k]
            cnt[lo:hi] += 1
    out = acc / cnt.reshape((n,) + (1,) * (v.ndim - 1))
    idx = np.arange(n)
    if edge == "nan":
        full = (idx - h >= 0) & (idx + h < n)
        out[~full] = np.nan
    return out


@dataclass(frozen=True, slots=True)
class LineScanProfile:
    """Edge integrals ÷ t/λ along a line scan (Fig 3g).

    Attributes
    ----------
    position_nm : (P,) ndarray of float, nm
    t_over_lambda : (P,) ndarray of float or None
        None when no low-loss scan was given (integrals then un-normalised).
    edge_names : tuple of str
    integral : (P, K) ndarray of float, counts
    normalised : (P, K) ndarray of float, counts
        integral ÷ t/λ (equal to ``integral`` when ``t_over_lambda`` is None).
    smoothed : (P, K) ndarray of float, counts
        Moving average of ``normalised``.
    window : int
    edge_policy : str
    """

    position_nm: np.ndarray
    t_over_lambda: np.ndarray | None
    edge_names: tuple[str, ...]
    integral: np.ndarray
    normalised: np.ndarray
    smoothed: np.ndarray
    window: int
    edge_policy: str

    def to_frame(self) -> pd.DataFrame:
        """Wide table: one row per position, columns per edge."""
        cols: dict[str, Any] = {"Position [nm]": self.position_nm}
        if self.t_over_lambda is not None:
            cols["t/lambda"] = self.t_over_lambda
            cols[f"t/lambda MA{self.window}"] = moving_average(
                self.t_over_lambda,
                self.window,
                edge=self.edge_policy,  # type: ignore[arg-type]
            )
        for j, name in enumerate(self.edge_names):
            cols[f"{name} integral [counts]"] = self.integral[:, j]
            if self.t_over_lambda is not None:
                cols[f"{name} integral/(t/lambda) [counts]"] = self.normalised[:, j]
                cols[f"{name} integral/(t/lambda) MA{self.window} [counts]"] = self.smoothed[:, j]
            else:
                cols[f"{name} integral MA{self.window} [counts]"] = self.smoothed[:, j]
        return pd.DataFrame(cols)


def line_scan_profile(
    position_nm: Any,
    integrals: EdgeIntegrals,
    thickness: ThicknessResult | None = None,
    *,
    window: int = 5,
    edge: Literal["shrink", "nan"] = "shrink",
) -> LineScanProfile:
    """Edge integrals divided by t/λ pixel by pixel, then smoothed (Fig 3g).

    Parameters
    ----------
    position_nm : (P,) array_like of float, nm
        Position of each pixel along the scan.
    integrals : EdgeIntegrals
        Of a line scan (integral shape ``(P, K)``).
    thickness : ThicknessResult or None
        Of the low-loss scan of the same pixels; None leaves the integrals un-normalised.
    window, edge
        Moving average (see :func:`moving_average`).

    Raises
    ------
    SulfurscopeError
        When the pixel counts differ or the scan is not one-dimensional.
    """
    pos = np.asarray(position_nm, dtype=float).ravel()
    integ = np.asarray(integrals.integral, dtype=float)
    k = len(integrals.edges)
    integ = integ.reshape(-1, k)
    if integ.shape[0] != pos.size:
        raise SulfurscopeError(
            f"core-loss scan has {integ.shape[0]} pixels but position_nm has {pos.size}"
        )
    tl = None
    norm = integ
    if thickness is not None:
        tl = np.asarray(thickness.t_over_lambda, dtype=float).ravel()
        if tl.size != pos.size:
            raise SulfurscopeError(
                f"low-loss scan has {tl.size} pixels but the core-loss scan has {pos.size}: "
                "they must be the same pixels"
            )
        if np.any(tl <= 0):
            raise SulfurscopeError("t/lambda ≤ 0 in some pixel: cannot normalise by it")
        norm = integ / tl[:, None]
    return LineScanProfile(
        position_nm=pos,
        t_over_lambda=tl,
        edge_names=tuple(e.name for e in integrals.edges),
        integral=integ,
        normalised=norm,
        smoothed=moving_average(norm, window, edge=edge),
        window=int(window),
        edge_policy=edge,
    )


@dataclass(frozen=True, slots=True)
class FingerprintResult:
    """Normalised correlation of one edge with each reference spectrum.

    Attributes
    ----------
    names : tuple of str
        Reference names in the order given.
    scores : (R,) ndarray of float
        Best Pearson correlation coefficient over the allowed energy shifts (−1…1).
    shifts_ev : (R,) ndarray of float, eV
        Shift added to each reference's energy axis at the best score.
    best : str
        Name with the highest score.
    best_score : float
    window_ev : (float, float)
        Comparison window, eV.
    """

    names: tuple[str, ...]
    scores: np.ndarray
    shifts_ev: np.ndarray
    best: str
    best_score: float
    window_ev: tuple[float, float]

    def to_frame(self) -> pd.DataFrame:
        """One row per reference, best first."""
        f = pd.DataFrame(
            {
                "Reference": list(self.names),
                "Score": self.scores,
                "Shift [eV]": self.shifts_ev,
                "Best": [n == self.best for n in self.names],
            }
        )
        return f.sort_values("Score", ascending=False, ignore_index=True)


def fingerprint_edge(
    energy_ev: Any,
    edge_signal: Any,
    references: Mapping[str, tuple[Any, Any]],
    *,
    window_ev: tuple[float, float],
    max_shift_ev: float = 2.0,
    shift_step_ev: float = 0.05,
) -> FingerprintResult:
    r"""Identify an edge's fine structure by normalised correlation with reference spectra.

    Each reference ``(energy, intensity)`` is shifted by δ in ``[−max_shift_ev, max_shift_ev]``
    (step ``shift_step_ev``), interpolated onto the measured channels inside ``window_ev`` and compared
    by the Pearson coefficient

    .. math:: \rho(\delta) = \frac{\sum (y_i - \bar y)(r_i(\delta) - \bar r)}
                                  {\sqrt{\sum (y_i - \bar y)^2 \sum (r_i(\delta) - \bar r)^2}}

    which ignores scale and offset (so references need no absolute normalisation). The best shift
    and score per reference and the best reference are returned.

    Parameters
    ----------
    energy_ev : (N,) array_like of float, eV
    edge_signal : (N,) array_like of float
        Background-subtracted edge (e.g. :func:`subtract_background`), one spectrum.
    references : mapping of name → (energy_ev, intensity)
        User-provided reference spectra, e.g. the slots of :data:`REFERENCE_SLOTS`.
    window_ev : (float, float)
        Comparison window (the Li K fingerprint region 55–75 eV, say).

    Raises
    ------
    SulfurscopeError
        When no reference is given or a reference does not cover the window.
    """
    y = np.asarray(edge_signal, dtype=float)
    if y.ndim != 1:
        raise SulfurscopeError(f"edge_signal must be one spectrum (1-D), got shape {y.shape}")
    e = _axis(energy_ev, y.size)
    if not references:
        raise SulfurscopeError(f"references is empty: give at least one of {REFERENCE_SLOTS}")
    i0, i1 = _window(e, window_ev, "fingerprint window")
    ew, yw = e[i0:i1], y[i0:i1]
    shifts = np.arange(-max_shift_ev, max_shift_ev + 0.5 * shift_step_ev, shift_step_ev)
    names, scores, best_shifts = [], [], []
    for name, (re, ri) in references.items():
        rea = np.asarray(re, dtype=float)
        ria = np.asarray(ri, dtype=float)
        if rea.ndim != 1 or rea.shape != ria.shape or rea.size < 2:
            raise SulfurscopeError(f"reference {name!r}: energy and intensity must be equal 1-D")
        order = np.argsort(rea)
        rea, ria = rea[order], ria[order]
        if rea[0] > ew[0] + max_shift_ev or rea[-1] < ew[-1] - max_shift_ev:
            raise SulfurscopeError(
                f"reference {name!r} covers {rea[0]:.1f}–{rea[-1]:.1f} eV, not the fingerprint "
                f"window {window_ev} eV"
            )
        ref = np.interp(ew[None, :] - shifts[:, None], rea, ria)  # (shifts, channels)
        a = yw - yw.mean()
        b = ref - ref.mean(axis=1, keepdims=True)
        den = np.sqrt((a * a).sum() * (b * b).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            arr = np.where(den > 0, (b @ a) / np.where(den > 0, den, 1.0), np.nan)
        if np.all(np.isnan(arr)):
            raise SulfurscopeError(f"reference {name!r} (or the edge) is flat in the window")
        k = int(np.nanargmax(arr))
        names.append(str(name))
        scores.append(arr[k])
        best_shifts.append(float(shifts[k]))
    sc = np.asarray(scores)
    b = int(np.argmax(sc))
    return FingerprintResult(
        names=tuple(names),
        scores=sc,
        shifts_ev=np.asarray(best_shifts),
        best=names[b],
        best_score=float(sc[b]),
        window_ev=(float(window_ev[0]), float(window_ev[1])),
    )


def fingerprint_pixels(
    counts: Any,
    energy_ev: Any,
    window: EdgeWindow,
    references: Mapping[str, tuple[Any, Any]],
    *,
    method: Literal["least_squares", "log_fit", "two_area"] = "least_squares",
) -> pd.DataFrame:
    """Fingerprint ``window``'s edge in every pixel of a spectrum, line scan or spectrum image.

    The power-law background of ``window.background_ev`` is subtracted per pixel
    (:func:`power_law_background`, :func:`subtract_background`) and each pixel compared with the
    references that cover ``window.fingerprint_ev`` (:func:`fingerprint_edge`). References that do not
    cover the window are left out; with none left the table is empty.

    Returns
    -------
    DataFrame
        One row per pixel (flattened navigation order): ``Pixel``, ``Edge``, ``Best``, ``Score`` and
        ``<reference> score`` / ``<reference> shift [eV]`` per reference used.
    """
    e = np.asarray(energy_ev, dtype=float)
    flat = _spectra(counts).reshape(-1, e.size)
    use = {
        n: r
        for n, r in references.items()
        if np.min(r[0]) <= window.fingerprint_ev[0] and np.max(r[0]) >= window.fingerprint_ev[1]
    }
    if not use:
        return pd.DataFrame(columns=["Pixel", "Edge", "Best", "Score"])
    bg = power_law_background(flat, e, window.background_ev, method=method)
    sub = subtract_background(flat, e, bg)
    rows = []
    for p in range(flat.shape[0]):
        fp = fingerprint_edge(e, sub[p], use, window_ev=window.fingerprint_ev)
        row: dict[str, Any] = {
            "Pixel": p,
            "Edge": window.name,
            "Best": fp.best,
            "Score": fp.best_score,
        }
        for n, sc, d in zip(fp.names, fp.scores, fp.shifts_ev, strict=True):
            row[f"{n} score"] = float(sc)
            row[f"{n} shift [eV]"] = float(d)
        rows.append(row)
    return pd.DataFrame(rows)
