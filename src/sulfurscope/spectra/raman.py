"""Raman analysis of carbons: despiking, baseline, D/G band fits and I_D/I_G (Figure S1).

A functional core: arrays in, arrays or frozen results out, no I/O. The band fits run on the shared
peak core (:mod:`sulfurscope.spectra.peaks`, lineshapes of :mod:`sulfurscope.spectra.lineshapes`);
this module only defines the band sets, the pre-processing and the Raman read-outs.

Band sets (:data:`RAMAN_BAND_SETS`, plain data):

* ``"two-band"`` — D (~1350 cm⁻¹) and G (~1590 cm⁻¹), both Lorentzian;
* ``"sadezky"`` — the five-band model of Sadezky et al. (Carbon 43 (2005) 1731, Table 1): G ~1580,
  D1 ~1350, D2 ~1620, D4 ~1200 (Lorentzian) and D3 ~1500 (Gaussian). "D" means D1.

I_D/I_G is reported twice, named: by **height** (peak maxima of the fitted bands) and by **area**
(integrated intensities). They differ because D is broader than G in disordered carbons, so
``I_D/I_G (area) = I_D/I_G (height) × (w_D/w_G)`` for bands of the same shape (Lorentzian: area =
π/2 · FWHM · height).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from sulfurscope.errors import FitError, SulfurscopeError
from sulfurscope.spectra.peaks import Component, PeakModel, fit_peaks

__all__ = [
    "MAX_RATIO_SCATTER",
    "RAMAN_BAND_SETS",
    "RamanBand",
    "RamanFit",
    "RatioScatter",
    "despike",
    "find_spikes",
    "fit_raman",
    "raman_baseline",
    "raman_curves",
    "ratio_scatter",
]

BandModel = Literal["two-band", "sadezky"]
BaselineMethod = Literal["imodpoly", "modpoly", "arpls", "asls", "snip", "none"]

# peak height = factor × area / FWHM (Lorentzian 2/π; Gaussian 2√(ln 2/π))
_HEIGHT_PER_AREA_FWHM = {"lorentzian": 2.0 / np.pi, "gaussian": 2.0 * np.sqrt(np.log(2.0) / np.pi)}


@dataclass(frozen=True, slots=True)
class RamanBand:
    """One band of a band set: name, line shape, start position and the allowed ranges.

    Attributes
    ----------
    name : str
    shape : {"lorentzian", "gaussian"}
    center_cm1, center_min_cm1, center_max_cm1 : float, 1/cm
    fwhm_cm1, fwhm_min_cm1, fwhm_max_cm1 : float, 1/cm
    """

    name: str
    shape: str
    center_cm1: float
    center_min_cm1: float
    center_max_cm1: float
    fwhm_cm1: float
    fwhm_min_cm1: float
    fwhm_max_cm1: float

    def to_dict(self) -> dict[str, Any]:
        """The band as a plain dict."""
        return {f: getattr(self, f) for f in self.__slots__}


RAMAN_BAND_SETS: dict[str, tuple[RamanBand, ...]] = {
    "two-band": (
        RamanBand("D", "lorentzian", 1350.0, 1300.0, 1400.0, 120.0, 10.0, 400.0),
        RamanBand("G", "lorentzian", 1590.0, 1540.0, 1620.0, 70.0, 8.0, 250.0),
    ),
    # Sadezky et al., Carbon 43 (2005) 1731–1742, Table 1 (positions) and Section 3.2 (shapes).
    "sadezky": (
        RamanBand("D4", "lorentzian", 1200.0, 1120.0, 1260.0, 150.0, 20.0, 400.0),
        RamanBand("D1", "lorentzian", 1350.0, 1320.0, 1380.0, 120.0, 10.0, 400.0),
        RamanBand("D3", "gaussian", 1500.0, 1460.0, 1540.0, 120.0, 20.0, 300.0),
        RamanBand("G", "lorentzian", 1585.0, 1560.0, 1605.0, 60.0, 8.0, 200.0),
        RamanBand("D2", "lorentzian", 1615.0, 1605.0, 1635.0, 35.0, 8.0, 120.0),
    ),
}
_D_NAME = {"two-band": "D", "sadezky": "D1"}


def _check_axis(shift_cm1: Any, intensity: Any, *, allow_2d: bool) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(shift_cm1, dtype=float)
    y = np.asarray(intensity, dtype=float)
    if x.ndim != 1:
        raise SulfurscopeError(f"shift_cm1 must be 1-D, got shape {x.shape}")
    if x.size < 3:
        raise SulfurscopeError(
            f"shift_cm1 has {x.size} points, expected at least 3 (empty spectrum?)"
        )
    if y.ndim not in ((1, 2) if allow_2d else (1,)):
        raise SulfurscopeError(
            f"intensity must be {'1-D or 2-D' if allow_2d else '1-D'}, got {y.shape}"
        )
    if y.shape[-1] != x.size:
        raise SulfurscopeError(
            f"intensity has {y.shape[-1]} points per spectrum, shift_cm1 has {x.size}"
        )
    if not np.all(np.isfinite(x)):
        raise SulfurscopeError("shift_cm1 has non-finite values (NaN/inf)")
    if not np.all(np.isfinite(y)):
        raise SulfurscopeError(
            f"intensity has {int((~np.isfinite(y)).sum())} non-finite value(s) (NaN/inf)"
        )
    d = np.diff(x)
    if np.all(d < 0):
        raise SulfurscopeError(
            "shift_cm1 is decreasing: pass the axis in increasing order "
            "(flip shift and intensity together, e.g. x[::-1], y[..., ::-1])"
        )
    if not np.all(d > 0):
        k = int(np.nonzero(d <= 0)[0][0])
        raise SulfurscopeError(
            f"shift_cm1 must be strictly increasing: duplicate or step back at index {k + 1} "
            f"({x[k]:.6g} → {x[k + 1]:.6g} 1/cm)"
        )
    return x, y


def find_spikes(intensity: Any, *, threshold: float = 8.0, half_window: int = 3) -> np.ndarray:
    """Cosmic-ray spikes: points far above a running median (robust z-score).

    The residual r from a running median of ``2·half_window+1`` points is scored with a modified
    z-score z = 0.6745 r / MAD (Iglewicz & Hoaglin 1993), the MAD taken locally over
    ``16·half_window+1`` points (floored at half the global one) because counting noise grows with
    the signal, and never below 0.2 % of the spectrum's 1–99 % span; points with
    z > ``threshold`` are spikes, and a neighbour with z > threshold/3 joins its spike. Whitaker &
    Hayes (Chemom. Intell. Lab. Syst. 179 (2018) 82) score the first difference instead; the
    running-median residual does not flag the steep flanks of narrow bands.

    Parameters
    ----------
    intensity : (N,) or (M, N) array_like of float
        One spectrum or one per row.
    threshold : float
        Modified z-score above which a point is a spike.
    half_window : int
        Half-width (points) of the running median; spikes wider than this are not found.

    Returns
    -------
    (N,) or (M, N) ndarray of bool
        True on spike points.

    Examples
    --------
    >>> y = np.ones(50) + 0.01 * np.sin(np.arange(50)); y[20] = 30.0
    >>> np.nonzero(find_spikes(y))[0].tolist()
    [20]
    """
    y = np.asarray(intensity, dtype=float)
    if y.ndim not in (1, 2) or y.shape[-1] < 3:
        raise SulfurscopeError(f"intensity must be (N,) or (M, N) with N ≥ 3, got {y.shape}")
    if threshold <= 0 or half_window < 1:
        raise SulfurscopeError(
            f"threshold must be > 0 and half_window ≥ 1, got {threshold}, {half_window}"
        )
    y2 = np.atleast_2d(y)
    size = (1, 2 * half_window + 1)
    r = y2 - median_filter(y2, size=size, mode="nearest")
    # local robust scale (MAD over ~8 windows): counting noise grows with the signal
    local = median_filter(np.abs(r), size=(1, 16 * half_window + 1), mode="nearest")
    glob = np.median(np.abs(r), axis=1, keepdims=True)
    span = np.percentile(y2, 99, axis=1, keepdims=True) - np.percentile(
        y2, 1, axis=1, keepdims=True
    )
    # floor: 0.2 % of the signal span, so that noise-free curvature is never a "spike"
    scale = np.maximum(np.maximum(local, 0.5 * glob), 2e-3 * span)
    scale = np.where(scale > 0, scale, 1e-300)
    z = 0.6745 * r / scale
    core = z > threshold
    weak = z > threshold / 3.0
    mask = core.copy()
    for _ in range(half_window):
        grown = mask.copy()
        grown[:, 1:] |= mask[:, :-1]
        grown[:, :-1] |= mask[:, 1:]
        grown &= weak
        grown |= core
        if np.array_equal(grown, mask):
            break
        mask = grown
    return mask if y.ndim == 2 else mask[0]


def despike(intensity: Any, *, threshold: float = 8.0, half_window: int = 3) -> np.ndarray:
    """Replace cosmic-ray spikes by linear interpolation between their unflagged neighbours.

    Spikes are found by :func:`find_spikes` (same parameters). The input is not changed.

    Parameters
    ----------
    intensity : (N,) or (M, N) array_like of float
    threshold, half_window
        See :func:`find_spikes`.

    Returns
    -------
    ndarray of float
        Same shape as ``intensity``.

    Examples
    --------
    >>> y = np.linspace(0.0, 1.0, 40); y[10] += 50.0
    >>> bool(np.allclose(despike(y), np.linspace(0.0, 1.0, 40)))
    True
    """
    y = np.array(intensity, dtype=float)  # copy
    mask = find_spikes(y, threshold=threshold, half_window=half_window)
    y2, m2 = np.atleast_2d(y), np.atleast_2d(mask)
    idx = np.arange(y2.shape[1])
    for k in np.nonzero(m2.any(axis=1))[0]:
        good = ~m2[k]
        if good.sum() < 2:
            continue
        y2[k, m2[k]] = np.interp(idx[m2[k]], idx[good], y2[k, good])
    return y2 if y.ndim == 2 else y2[0]


def raman_baseline(
    shift_cm1: Any,
    intensity: Any,
    *,
    method: BaselineMethod = "imodpoly",
    poly_order: int = 1,
    lam: float | None = None,
) -> np.ndarray:
    """Baseline under a Raman spectrum, through :mod:`pybaselines`.

    Parameters
    ----------
    shift_cm1 : (N,) array_like of float, 1/cm
        Strictly increasing.
    intensity : (N,) or (M, N) array_like of float, counts
    method : {"imodpoly", "modpoly", "arpls", "asls", "snip", "none"}
        ``imodpoly`` (improved modified polynomial, Zhao et al., Appl. Spectrosc. 61 (2007) 1225) of
        order ``poly_order`` is the default: over a D/G window the fluorescence background is close to
        linear and the broad bands of disordered carbons defeat smoothness-penalised methods, which
        bend into the D–G valley. ``arpls``/``asls`` use ``lam`` (pybaselines' default when None);
        ``snip`` uses a half window of 1/4 of the spectrum. ``none`` gives zeros.
    poly_order : int
        Polynomial order for ``imodpoly``/``modpoly``.
    lam : float, optional
        Smoothness for ``arpls``/``asls``.

    Returns
    -------
    ndarray of float, counts
        Same shape as ``intensity``.
    """
    x, y = _check_axis(shift_cm1, intensity, allow_2d=True)
    if method == "none":
        return np.zeros_like(y)
    from pybaselines import Baseline

    fitter = Baseline(x_data=x, assume_sorted=True)
    rows = np.atleast_2d(y)
    out = np.empty_like(rows)
    for k, row in enumerate(rows):
        if method in ("imodpoly", "modpoly"):
            base, _ = getattr(fitter, method)(row, poly_order=poly_order)
        elif method in ("arpls", "asls"):
            kw = {} if lam is None else {"lam": lam}
            base, _ = getattr(fitter, method)(row, **kw)
        elif method == "snip":
            base, _ = fitter.snip(row, max_half_window=max(3, x.size // 4))
        else:
            raise SulfurscopeError(
                f"baseline method must be one of imodpoly, modpoly, arpls, asls, snip, none; "
                f"got {method!r}"
            )
        out[k] = base
    return out if y.ndim == 2 else out[0]


@dataclass(frozen=True, slots=True)
class RamanFit:
    """A D/G band fit of one Raman spectrum, with what reproduces it.

    Per-band arrays are ordered as ``band``. Heights and areas are of the baseline-subtracted
    bands; the stderr values come from the least-squares covariance (ratios by first-order
    propagation including the correlations). They do **not** include the uncertainty of the
    subtracted baseline: over Poisson noise replicas the scatter of the two-band height ratio
    matches its stderr, but the five-band height ratio scatters ~1.7× more (0.44 against 0.26 in
    tests/truth/test_raman_identifiability.py) — :func:`ratio_scatter` measures it.

    Attributes
    ----------
    model : {"two-band", "sadezky"}
    band, shape : tuple of str
    center_cm1, center_stderr_cm1, fwhm_cm1, fwhm_stderr_cm1 : (K,) ndarray, 1/cm
    height_counts, height_stderr_counts : (K,) ndarray, counts
    area_counts_cm1, area_stderr_counts_cm1 : (K,) ndarray, counts·1/cm
    id_ig_height, id_ig_height_stderr, id_ig_area, id_ig_area_stderr : float
        I_D/I_G by peak height and by integrated area (D = D1 in the Sadezky model).
    shift_range_cm1 : (float, float)
    baseline_method : str
    spikes_removed : int
    shift_cm1, intensity_counts, baseline_counts, model_counts : (N,) ndarray
        The fitted window: despiked data, baseline, baseline + bands.
    components_counts : (K, N) ndarray
        Each band alone (without baseline).
    initial : dict
        Start values ``{band: {"center_cm1", "fwhm_cm1", "height_counts"}}``.
    success : bool
    message : str
        The optimiser's message.
    nfev : int
    redchi : float
        Reduced chi-square (unweighted, counts²).
    at_bounds : tuple of str
        Parameters that ended on a bound (e.g. ``"D FWHM"``): the band set does not describe the
        spectrum well there; read the value with care.
    """

    model: str
    band: tuple[str, ...]
    shape: tuple[str, ...]
    center_cm1: np.ndarray
    center_stderr_cm1: np.ndarray
    fwhm_cm1: np.ndarray
    fwhm_stderr_cm1: np.ndarray
    height_counts: np.ndarray
    height_stderr_counts: np.ndarray
    area_counts_cm1: np.ndarray
    area_stderr_counts_cm1: np.ndarray
    id_ig_height: float
    id_ig_height_stderr: float
    id_ig_area: float
    id_ig_area_stderr: float
    shift_range_cm1: tuple[float, float]
    baseline_method: str
    spikes_removed: int
    shift_cm1: np.ndarray
    intensity_counts: np.ndarray
    baseline_counts: np.ndarray
    model_counts: np.ndarray
    components_counts: np.ndarray
    initial: dict[str, dict[str, float]]
    success: bool
    message: str
    nfev: int
    redchi: float
    at_bounds: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per band: position, width, height, area with stderr."""
        return pd.DataFrame(
            {
                "Model": self.model,
                "Band": list(self.band),
                "Shape": list(self.shape),
                "Center [1/cm]": self.center_cm1,
                "Center stderr [1/cm]": self.center_stderr_cm1,
                "FWHM [1/cm]": self.fwhm_cm1,
                "FWHM stderr [1/cm]": self.fwhm_stderr_cm1,
                "Height [counts]": self.height_counts,
                "Height stderr [counts]": self.height_stderr_counts,
                "Area [counts/cm]": self.area_counts_cm1,
                "Area stderr [counts/cm]": self.area_stderr_counts_cm1,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Scalars: the ratios, D and G positions and widths, fit status."""
        d = self.band.index(_D_NAME[self.model])
        g = self.band.index("G")
        return {
            "Model": self.model,
            "I_D/I_G (height)": self.id_ig_height,
            "I_D/I_G (height) stderr": self.id_ig_height_stderr,
            "I_D/I_G (area)": self.id_ig_area,
            "I_D/I_G (area) stderr": self.id_ig_area_stderr,
            "D position [1/cm]": float(self.center_cm1[d]),
            "G position [1/cm]": float(self.center_cm1[g]),
            "D FWHM [1/cm]": float(self.fwhm_cm1[d]),
            "G FWHM [1/cm]": float(self.fwhm_cm1[g]),
            "D height [counts]": float(self.height_counts[d]),
            "G height [counts]": float(self.height_counts[g]),
            "Shift range low [1/cm]": self.shift_range_cm1[0],
            "Shift range high [1/cm]": self.shift_range_cm1[1],
            "Baseline": self.baseline_method,
            "Spikes removed": self.spikes_removed,
            "Success": self.success,
            "At bounds": ", ".join(self.at_bounds),
            "Message": self.message,
            "Function evaluations": self.nfev,
            "Reduced chi-square": self.redchi,
        }


def raman_curves(fit: RamanFit) -> pd.DataFrame:
    """The fitted window as a tidy table for figures: data, baseline, model and each band.

    Columns ``Raman shift [1/cm]``, ``Intensity [counts]``, ``Baseline [counts]``,
    ``Model [counts]`` (baseline + bands) and ``<band> [counts]`` (band alone).
    """
    out = {
        "Raman shift [1/cm]": fit.shift_cm1,
        "Intensity [counts]": fit.intensity_counts,
        "Baseline [counts]": fit.baseline_counts,
        "Model [counts]": fit.model_counts,
    }
    for name, comp in zip(fit.band, fit.components_counts, strict=True):
        out[f"{name} [counts]"] = comp
    return pd.DataFrame(out)


def _bands_for(model: str, bands: Sequence[RamanBand] | None) -> tuple[RamanBand, ...]:
    if bands is not None:
        out = tuple(bands)
        names = [b.name for b in out]
        if "G" not in names or _D_NAME.get(model, "D") not in names:
            raise SulfurscopeError(
                f"bands must include 'G' and '{_D_NAME.get(model, 'D')}', got {names}"
            )
        return out
    if model not in RAMAN_BAND_SETS:
        raise SulfurscopeError(f"model must be one of {list(RAMAN_BAND_SETS)}, got {model!r}")
    return RAMAN_BAND_SETS[model]


def fit_raman(
    shift_cm1: Any,
    intensity: Any,
    *,
    model: BandModel = "two-band",
    shift_range_cm1: tuple[float, float] = (1000.0, 2000.0),
    baseline: BaselineMethod = "imodpoly",
    poly_order: int = 1,
    remove_spikes: bool = True,
    bands: Sequence[RamanBand] | None = None,
    fit_background: Literal["none", "constant", "linear"] = "linear",
    ftol: float = 1e-8,
    max_nfev: int = 1000,
) -> RamanFit:
    """Fit the D and G bands of one Raman spectrum.

    Steps: despike (:func:`despike`, optional) → cut ``shift_range_cm1`` → baseline
    (:func:`raman_baseline`) → least-squares fit of the band set on the baseline-subtracted window
    (shared peak core) → heights, areas and I_D/I_G both ways.

    Parameters
    ----------
    shift_cm1 : (N,) array_like of float, 1/cm
        Strictly increasing (a decreasing axis is refused, not silently flipped).
    intensity : (N,) array_like of float, counts
    model : {"two-band", "sadezky"}
        Band set of :data:`RAMAN_BAND_SETS`.
    shift_range_cm1 : (float, float)
        Fitted range; clipped to the data.
    baseline : {"imodpoly", "modpoly", "arpls", "asls", "snip", "none"}
    poly_order : int
        For the polynomial baselines.
    remove_spikes : bool
        Run :func:`despike` first.
    bands : sequence of RamanBand, optional
        A custom band set (must contain G and the D band of ``model``).
    fit_background : {"none", "constant", "linear"}
        A background fitted together with the bands *on top of* the subtracted baseline. The
        default ``"linear"`` absorbs what the baseline took from the long Lorentzian tails (a
        subtract-only fit underestimates a 140 cm⁻¹ wide D band by ~15 % in width).
    ftol : float
        Relative cost tolerance of the least-squares solver (against 1e-10 it moved I_D/I_G by
        < 0.1 % in a spot check on the real line file and is 2–3× faster on noisy five-band fits).
    max_nfev : int
        Evaluation limit; a fit that reaches it raises FitError.

    Returns
    -------
    RamanFit

    Raises
    ------
    SulfurscopeError
        Empty, non-finite, reversed or duplicated axis; fewer than 20 points in the window; no
        positive signal.
    FitError
        The optimiser did not converge (message included), or the fitted G band height is not 3
        standard errors above zero (I_D/I_G undefined).
    """
    x, y = _check_axis(shift_cm1, intensity, allow_2d=False)
    band_set = _bands_for(model, bands)
    xw, yw, n_spikes = _window(x, y, shift_range_cm1, remove_spikes)
    base = raman_baseline(xw, yw, method=baseline, poly_order=poly_order)
    net = yw - base
    scale = _signal_scale(xw, yw, net)
    comps, initial = _start_components(band_set, xw, net, scale)
    if fit_background not in ("none", "constant", "linear"):
        raise SulfurscopeError(
            f"fit_background must be 'none', 'constant' or 'linear', got {fit_background!r}"
        )
    peak_model = PeakModel(
        tuple(comps),
        background=fit_background,
        background_mode="model" if fit_background != "none" else "subtract",
    )
    res = fit_peaks(xw, net, peak_model, ftol=ftol, max_nfev=max_nfev)
    names = [b.name for b in band_set]
    shapes = tuple(b.shape for b in band_set)
    height, jac_h, jac_a = _heights(res, names, shapes)
    cov = res.covariance
    height_err = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac_h, cov, jac_h), 0.0, None))
    gi = names.index("G")
    if not (np.isfinite(height[gi]) and height[gi] > 0
            and (height[gi] > 3.0 * height_err[gi] or _g_in_data(xw, yw, net, res.center[gi]))):
        raise FitError(
            f"G band not found: fitted height {height[gi]:.3g} ± {height_err[gi]:.2g} counts is not "
            "3 standard errors above zero, so I_D/I_G is undefined"
        )
    di = names.index(_D_NAME.get(model, "D"))
    h_ratio, h_err, a_ratio, a_err = _ratios(height, res.area, jac_h, jac_a, cov, di, gi)
    method = baseline if baseline not in ("imodpoly", "modpoly") else f"{baseline}({poly_order})"
    return RamanFit(
        model=model, band=tuple(names), shape=shapes, center_cm1=res.center,
        center_stderr_cm1=res.center_stderr, fwhm_cm1=res.fwhm, fwhm_stderr_cm1=res.fwhm_stderr,
        height_counts=height, height_stderr_counts=height_err, area_counts_cm1=res.area,
        area_stderr_counts_cm1=res.area_stderr, id_ig_height=h_ratio, id_ig_height_stderr=h_err,
        id_ig_area=a_ratio, id_ig_area_stderr=a_err, shift_range_cm1=(float(xw[0]), float(xw[-1])),
        baseline_method=method + ("" if fit_background == "none" else f" + fitted {fit_background}"),
        spikes_removed=n_spikes, shift_cm1=xw, intensity_counts=yw,
        baseline_counts=base + res.background, model_counts=base + res.best_fit,
        components_counts=res.component_curves.reshape(len(names), -1), initial=initial,
        success=res.success, message=res.message, nfev=res.nfev, redchi=res.reduced_chi_square,
        at_bounds=_at_bound(band_set, res, xw),
    )


@dataclass(frozen=True, slots=True)
class RatioScatter:
    """How well one fit determines I_D/I_G: refits of noise replicas of the fitted spectrum.

    Attributes
    ----------
    height_sd, area_sd : float
        Standard deviation of I_D/I_G (height, area) over the replicas' refits.
    height_rel, area_rel : float
        The same relative to the fit's own ratios.
    replicas, failed : int
        Replicas refitted, and those whose refit failed.
    identifiable : bool
        ``height_rel`` ≤ ``MAX_RATIO_SCATTER`` and no more than one refit in ten failed.
    """

    height_sd: float
    area_sd: float
    height_rel: float
    area_rel: float
    replicas: int
    failed: int
    identifiable: bool


#: Relative scatter of I_D/I_G above which the bands count as not identifiable at this noise.
MAX_RATIO_SCATTER = 0.05


def ratio_scatter(
    fit: RamanFit,
    *,
    baseline: BaselineMethod = "imodpoly",
    poly_order: int = 1,
    bands: Sequence[RamanBand] | None = None,
    fit_background: Literal["none", "constant", "linear"] = "linear",
    replicas: int = 12,
    seed: int = 0,
) -> RatioScatter:
    """Parametric bootstrap of I_D/I_G: refit ``replicas`` copies of the fitted spectrum (bands +
    baseline) with the fit's own noise, through the same baseline and band fit.

    The noise is heteroscedastic like counting noise, σ_i = k √m_i (m the fitted counts, k² =
    Σ r² / Σ m from the residuals r): with one σ for all channels the replicas had less noise at the
    band maxima than the spectrum (√1500 vs √500 counts), and the scatter of the height ratio came
    out 25 % short of its real spread (coverage 82 % instead of 95 %).

    The least-squares stderr of a ratio leaves out the subtracted baseline and the flat directions
    between overlapping bands: for the five-band (Sadezky) model at the counting noise of a typical
    spectrum the ratio scatters 4–13× its stderr between noise seeds, while the two-band ratio
    scatters as its stderr says. This check measures that scatter on the spectrum at hand.
    """
    rng = np.random.default_rng(seed)
    clean = fit.model_counts
    sigma = _replica_sigma(fit)
    heights, areas, failed = [], [], 0
    for _ in range(replicas):
        y = clean + rng.normal(0.0, sigma)
        try:
            f = fit_raman(
                fit.shift_cm1, y, model=fit.model, shift_range_cm1=fit.shift_range_cm1,  # type: ignore[arg-type]
                baseline=baseline, poly_order=poly_order, remove_spikes=False, bands=bands,
                fit_background=fit_background,
            )  # fmt: skip
        except SulfurscopeError:
            failed += 1
            continue
        heights.append(f.id_ig_height)
        areas.append(f.id_ig_area)
    hs = float(np.std(heights, ddof=1)) if len(heights) > 2 else float("nan")
    as_ = float(np.std(areas, ddof=1)) if len(areas) > 2 else float("nan")
    h_rel = hs / abs(fit.id_ig_height) if fit.id_ig_height else float("nan")
    a_rel = as_ / abs(fit.id_ig_area) if fit.id_ig_area else float("nan")
    ok = bool(np.isfinite(h_rel) and h_rel <= MAX_RATIO_SCATTER and failed <= replicas // 10)
    return RatioScatter(hs, as_, h_rel, a_rel, replicas, failed, ok)


def _replica_sigma(fit: RamanFit) -> np.ndarray:
    """Per-channel noise σ_i = k √m_i of a fit (counting-like), k from its residuals."""
    m = np.maximum(np.asarray(fit.model_counts, dtype=float), 1.0)
    r = np.asarray(fit.intensity_counts, dtype=float) - np.asarray(fit.model_counts, dtype=float)
    ok = np.isfinite(r)
    if r.shape != m.shape or not ok.any():
        return np.full(m.shape, float(np.sqrt(max(fit.redchi, 0.0))))
    k2 = float(np.sum(r[ok] ** 2) / np.sum(m[ok]))
    return np.sqrt(k2 * m)


def _window(x: np.ndarray, y: np.ndarray, shift_range_cm1: tuple[float, float],
            remove_spikes: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """The fitted window (spikes removed when asked) and how many spikes were removed in it."""
    lo, hi = float(shift_range_cm1[0]), float(shift_range_cm1[1])
    if not lo < hi:
        raise SulfurscopeError(
            f"shift_range_cm1 must be (low, high) with low < high, got {shift_range_cm1}"
        )
    sel = (x >= lo) & (x <= hi)
    if sel.sum() < 20:
        raise SulfurscopeError(
            f"shift_range_cm1 {shift_range_cm1} holds {int(sel.sum())} points of a spectrum "
            f"spanning {x[0]:.0f}–{x[-1]:.0f} 1/cm; expected at least 20"
        )
    if remove_spikes:
        clean = despike(y)
        n_spikes = int(np.count_nonzero((clean != y) & sel))
    else:
        clean, n_spikes = y, 0
    return x[sel], clean[sel], n_spikes


def _g_in_data(xw: np.ndarray, yw: np.ndarray, net: np.ndarray, centre: float) -> bool:
    """The spectrum itself shows a band at the fitted G position (net signal within ±30 1/cm above
    5× the point noise): in the five-band model the G height can be poorly determined (it trades
    with D2) although the band is plainly there — that is an identifiability problem, reported by
    :func:`ratio_scatter`, not a missing band."""
    d = np.diff(yw)
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
    near = np.abs(xw - centre) <= 30.0
    return bool(near.any() and float(np.max(net[near])) > 5.0 * max(noise, 1e-12))


def _signal_scale(xw: np.ndarray, yw: np.ndarray, net: np.ndarray) -> float:
    """The largest net intensity; refused when it is not above the noise (no band)."""
    scale = float(np.max(net))
    d = np.diff(yw)
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
    floor = max(noise, 1e-9 * float(np.max(np.abs(yw))))
    if not (scale > floor and float(np.ptp(yw)) > floor):  # (a flat line has no band)
        raise SulfurscopeError(
            f"no positive signal above the baseline in the window {xw[0]:.0f}–{xw[-1]:.0f} 1/cm "
            f"(maximum {scale:.3g} counts for noise {noise:.3g}: empty or flat spectrum?)"
        )
    return scale


def _start_components(band_set: Sequence[RamanBand], xw: np.ndarray, net: np.ndarray,
                      scale: float) -> tuple[list[Component], dict[str, dict[str, float]]]:
    """Each band as a bounded component started from the data (height read at its centre)."""
    initial: dict[str, dict[str, float]] = {}
    comps = []
    for b in band_set:
        cmin, cmax = max(b.center_min_cm1, xw[0]), min(b.center_max_cm1, xw[-1])
        if cmin >= cmax:
            raise SulfurscopeError(
                f"band {b.name} ({b.center_min_cm1:g}–{b.center_max_cm1:g} 1/cm) lies outside the "
                f"window {xw[0]:.0f}–{xw[-1]:.0f} 1/cm: widen shift_range_cm1 or drop the band"
            )
        c = float(np.clip(b.center_cm1, cmin + 1e-6 * (cmax - cmin), cmax - 1e-6 * (cmax - cmin)))
        h = max(float(np.interp(c, xw, net)), 0.02 * scale)
        if b.name in ("D2", "D3", "D4"):
            h = 0.25 * h
        fwhm = float(np.clip(b.fwhm_cm1, b.fwhm_min_cm1, b.fwhm_max_cm1))
        initial[b.name] = {"center_cm1": c, "fwhm_cm1": fwhm, "height_counts": h}
        comps.append(Component(
            b.name, c, fwhm, area=h * fwhm / _HEIGHT_PER_AREA_FWHM[b.shape],
            shape=b.shape,  # type: ignore[arg-type]
            center_bounds=(cmin, cmax), fwhm_bounds=(b.fwhm_min_cm1, b.fwhm_max_cm1),
            assignment="Raman band",
        ))
    return comps, initial


def _heights(res: Any, names: list[str], shapes: tuple[str, ...]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band heights, and the Jacobians of heights and areas with respect to the free parameters
    (for the covariance propagation)."""
    factor = np.array([_HEIGHT_PER_AREA_FWHM[sh] for sh in shapes])
    height = factor * res.area / res.fwhm
    free = {n: i for i, n in enumerate(res.free_names)}
    jac_h = np.zeros((len(names), len(free)))
    jac_a = np.zeros((len(names), len(free)))
    for i, n in enumerate(names):
        ia, iw = free.get(f"{n}.area"), free.get(f"{n}.fwhm")
        if ia is not None:
            jac_a[i, ia] = 1.0
            jac_h[i, ia] = factor[i] / res.fwhm[i]
        if iw is not None:
            jac_h[i, iw] = -factor[i] * res.area[i] / res.fwhm[i] ** 2
    return height, jac_h, jac_a


def _at_bound(band_set: Sequence[RamanBand], res: Any, xw: np.ndarray) -> tuple[str, ...]:
    out = []
    for b, c, w in zip(band_set, res.center, res.fwhm, strict=True):
        for what, v, lo_, hi_ in (
            ("center", c, max(b.center_min_cm1, xw[0]), min(b.center_max_cm1, xw[-1])),
            ("FWHM", w, b.fwhm_min_cm1, b.fwhm_max_cm1),
        ):
            if min(abs(v - lo_), abs(v - hi_)) <= 1e-4 * (hi_ - lo_):
                out.append(f"{b.name} {what}")
    return tuple(out)


def _ratios(
    height: np.ndarray,
    area: np.ndarray,
    jac_h: np.ndarray,
    jac_a: np.ndarray,
    cov: np.ndarray | None,
    d: int,
    g: int,
) -> tuple[float, float, float, float]:
    """I_D/I_G by height and by area with first-order (delta-method) stderr using the covariance."""
    out = []
    for val, jac in ((height, jac_h), (area, jac_a)):
        ratio = float(val[d] / val[g]) if val[g] > 0 else np.inf
        if cov is None or not np.isfinite(ratio):
            out += [ratio, np.nan]
            continue
        grad = jac[d] / val[g] - ratio * jac[g] / val[g]
        var = float(grad @ cov @ grad)
        out += [ratio, float(np.sqrt(var)) if var >= 0 else np.nan]
    return out[0], out[1], out[2], out[3]

