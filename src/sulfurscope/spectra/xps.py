"""XPS core-level analysis: component libraries, fits, quantification and the study's derived numbers.

``fit_xps(spectrum, components="S 2p/paper")`` fits a region with a component library shipped as an
editable table (``spectra/data/xps_components.csv``; the reference study's assignments, Fig 4b–f and
Tables S2–S6) on a Shirley background, with spin–orbit doublets as single components (S 2p:
1.18 eV, 2:1; P 2p: 0.84 eV, 2:1). :func:`quantify` turns region areas into atomic % with relative
sensitivity factors (``spectra/data/rsf.csv``, Scofield by default; Table S1 style),
:func:`component_table` gives Tables S2–S6 (function, BE, FWHM, area %, assignment), and
:func:`reduced_sulfur_fraction` / :func:`sulfur_speciation` the study's derived numbers.

Binding-energy axes are ascending here (readers sort them); intensities are counts per second.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from sulfurscope.errors import FitError, MissingColumnError, SulfurscopeError
from sulfurscope.spectra import backgrounds as _bg
from sulfurscope.spectra.peaks import Component, PeakFit, PeakModel, fit_peaks

__all__ = [
    "CURVES",
    "auto_components",
    "ENERGY",
    "INTENSITY",
    "REDUCED_SULFUR",
    "XPSSpectrum",
    "component_library",
    "component_libraries",
    "component_table",
    "fit_curves",
    "fit_xps",
    "noise_scale",
    "region_area",
    "region_area_stderr",
    "region_key",
]

ENERGY = "Binding energy [eV]"
INTENSITY = "Intensity [counts/s]"
#: Components counted as reduced sulfur (the study's 33 % vs 16 %).
REDUCED_SULFUR: tuple[str, ...] = ("Li2S", "terminal S", "bridging S")
Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class XPSSpectrum:
    """One XPS region (or one cycle of a depth-profile region).

    ``binding_energy_ev`` is strictly ascending; ``intensity`` is counts/s (as the instruments
    export). ``cycle`` is the depth-profile cycle (0 for ordinary spectra) and ``sputter_time_s`` its
    cumulative sputter time when known (NaN otherwise).
    """

    region: str
    binding_energy_ev: Array
    intensity: Array
    source_energy_ev: float
    cycle: int = 0
    sputter_time_s: float = float("nan")

    def to_frame(self) -> pd.DataFrame:
        """Two columns: binding energy and intensity."""
        return pd.DataFrame({ENERGY: self.binding_energy_ev, INTENSITY: self.intensity})

    def to_dict(self) -> dict[str, Any]:
        """Scalars and the arrays as lists."""
        return {
            "region": self.region,
            "binding_energy_ev": self.binding_energy_ev.tolist(),
            "intensity": self.intensity.tolist(),
            "source_energy_ev": self.source_energy_ev,
            "cycle": self.cycle,
            "sputter_time_s": self.sputter_time_s,
        }


_REGION_RE = re.compile(r"^\s*([A-Z][a-z]?)\s*(\d[spdf])\s*(\d(?:/\d)?)?\s*$")


def region_key(name: str) -> str:
    """Canonical region name: ``"S2p"``, ``"S 2p\\x00"``, ``" s 2p"`` → ``"S 2p"``; ``"Sn3d5"`` → ``"Sn 3d5"``.

    Survey names (PHI ``"Su1s"``, ``"1su"``) become ``"Survey"``; anything else is returned stripped.

    Examples
    --------
    >>> region_key("S2p"), region_key("Sn3d5"), region_key("Su1s"), region_key("C 1s\\x00")
    ('S 2p', 'Sn 3d5', 'Survey', 'C 1s')
    """
    s = name.replace("\x00", "").strip()
    if s.lower() in ("su1s", "1su", "survey", "su"):
        return "Survey"
    m = _REGION_RE.match(s[:1].upper() + s[1:] if s else s)
    if not m:
        return s
    return f"{m.group(1)} {m.group(2)}{m.group(3) or ''}"


def _data_text(name: str) -> str:
    return resources.files("sulfurscope.spectra").joinpath("data", name).read_text(encoding="utf-8")


def _read_csv(source: str | Path, default: str) -> pd.DataFrame:
    if isinstance(source, Path) or (isinstance(source, str) and source.endswith(".csv")):
        p = Path(source)
        if not p.exists():
            raise SulfurscopeError(f"table file {p} does not exist")
        text = p.read_text(encoding="utf-8")
    else:
        text = _data_text(default)
    return pd.read_csv(io.StringIO(text), comment="#", skipinitialspace=True)


def component_libraries(table: str | Path | None = None) -> tuple[str, ...]:
    """Names of the component libraries in the shipped (or given) table.

    Examples
    --------
    >>> "S 2p/paper" in component_libraries()
    True
    """
    df = _read_csv(table or "", "xps_components.csv")
    return tuple(dict.fromkeys(df["library"].astype(str)))


def _norm_lib(name: str) -> str:
    s = name.replace("_", " ").strip()
    region, _, tag = s.partition("/")
    return f"{region_key(region)}/{tag.strip() or 'paper'}"


def component_library(
    name: str = "S 2p/paper", *, table: str | Path | None = None, shape: str | None = None
) -> tuple[Component, ...]:
    """The components of one library (``"S 2p/paper"``, ``"S2p/paper"``, ``"F 1s/paper"``, ...).

    Parameters
    ----------
    name : str
        ``"<region>/<tag>"``; the region is normalised by :func:`region_key`, a missing tag means
        ``paper``.
    table : path, optional
        Your own CSV in the same layout (``spectra/data/xps_components.csv``).
    shape : str, optional
        Override every component's line shape (e.g. ``"gl_product"``).

    Examples
    --------
    >>> [c.center for c in component_library("S2p/paper")]
    [160.7, 162.0, 163.7, 164.6, 169.7]
    """
    df = _read_csv(table or "", "xps_components.csv")
    key = _norm_lib(name)
    libs = {_norm_lib(str(v)): str(v) for v in df["library"].unique()}
    if key not in libs:
        raise SulfurscopeError(
            f"unknown component library {name!r}; available: {sorted(libs.values())}"
        )
    rows = df[df["library"].astype(str) == libs[key]]
    comps = []
    for r in rows.itertuples(index=False):
        cb = (
            None
            if pd.isna(r.center_tolerance_ev)
            else (r.center_ev - r.center_tolerance_ev, r.center_ev + r.center_tolerance_ev)
        )
        split = None if pd.isna(r.splitting_ev) else float(r.splitting_ev)
        comps.append(
            Component(
                name=str(r.component),
                center=float(r.center_ev),
                fwhm=float(r.fwhm_ev),
                shape=shape or str(r.shape),  # type: ignore[arg-type]
                shape_param=float(r.shape_param) if not pd.isna(r.shape_param) else 0.3,
                center_bounds=None if cb is None else (float(cb[0]), float(cb[1])),
                fwhm_bounds=(float(r.fwhm_min_ev), float(r.fwhm_max_ev)),
                splitting=split,
                branching=0.5 if pd.isna(r.branching) else float(r.branching),
                fwhm_of=None
                if pd.isna(r.fwhm_of) or not str(r.fwhm_of).strip()
                else str(r.fwhm_of),
                assignment=str(r.assignment),
            )
        )
    return tuple(comps)


def auto_components(
    spectrum: XPSSpectrum | pd.DataFrame | tuple[ArrayLike, ArrayLike],
    *,
    max_peaks: int = 4,
    min_prominence: float = 0.08,
    fwhm_ev: float = 1.5,
    shape: str = "voigt",
) -> tuple[Component, ...]:
    """Starting components for a region without a library: one singlet per clear maximum.

    Peaks are the maxima of the linear-background-subtracted, lightly smoothed spectrum whose
    prominence exceeds ``min_prominence`` × the largest one (at most ``max_peaks``, strongest first,
    then sorted by energy). Each becomes a Voigt singlet named ``"peak <BE>"`` free to move ±1 eV and
    sharing the first peak's FWHM. No chemistry is implied: the assignment says "auto".

    Examples
    --------
    >>> e = np.linspace(280, 295, 301)
    >>> y = 100 + 1000 * np.exp(-((e - 285) ** 2) / 0.5) + 400 * np.exp(-((e - 289) ** 2) / 0.5)
    >>> [round(c.center, 1) for c in auto_components((e, y))]
    [285.0, 289.0]
    """
    from scipy.signal import find_peaks

    e, i = _as_xy(spectrum)
    if e.size < 10 or not np.all(np.isfinite(i)):
        raise SulfurscopeError("auto components need at least 10 finite points")
    base = np.interp(e, [e[0], e[-1]], [np.mean(i[:5]), np.mean(i[-5:])])
    k = max(1, int(round(0.3 / max(float(np.median(np.diff(e))), 1e-9))))
    sm = np.convolve(i - base, np.ones(2 * k + 1) / (2 * k + 1), mode="same")
    idx, props = find_peaks(sm, prominence=0.0)
    if idx.size == 0:
        raise SulfurscopeError("auto components: no maximum found in the region")
    prom = props["prominences"]
    # noise of the raw spectrum from point-to-point differences (robust: median absolute deviation)
    noise = float(np.median(np.abs(np.diff(i)))) / 0.6745 / np.sqrt(2.0)
    if prom.max() < 5.0 * noise:
        raise SulfurscopeError(
            f"auto components: no peak above 5× the noise ({noise:.3g}) in {e[0]:g}–{e[-1]:g} eV"
        )
    keep = prom >= min_prominence * prom.max()
    idx, prom = idx[keep], prom[keep]
    idx = np.sort(idx[np.argsort(prom)[::-1][:max_peaks]])
    lo, hi = float(e[0]), float(e[-1])
    comps = []
    for n, j in enumerate(idx):
        c = float(e[j])
        comps.append(
            Component(
                name=f"peak {c:.1f}",
                center=c,
                fwhm=fwhm_ev,
                shape=shape,  # type: ignore[arg-type]
                center_bounds=(max(lo, c - 1.0), min(hi, c + 1.0)),
                fwhm_bounds=(0.3, 6.0),
                fwhm_of=None if n == 0 else f"peak {float(e[idx[0]]):.1f}",
                assignment="auto",
            )
        )
    return tuple(comps)


def _as_xy(
    spectrum: XPSSpectrum | pd.DataFrame | tuple[ArrayLike, ArrayLike],
) -> tuple[Array, Array]:
    if isinstance(spectrum, XPSSpectrum):
        return spectrum.binding_energy_ev, spectrum.intensity
    if isinstance(spectrum, pd.DataFrame):
        for col in (ENERGY, INTENSITY):
            if col not in spectrum.columns:
                raise MissingColumnError(
                    f"spectrum table lacks column {col!r}; has {list(spectrum.columns)}"
                )
        return spectrum[ENERGY].to_numpy(float), spectrum[INTENSITY].to_numpy(float)
    try:
        e, i = spectrum
    except (TypeError, ValueError):
        raise SulfurscopeError(
            "spectrum must be an XPSSpectrum, a DataFrame or an (energy, intensity) pair"
        ) from None
    return np.asarray(e, dtype=float), np.asarray(i, dtype=float)


def fit_xps(
    spectrum: XPSSpectrum | pd.DataFrame | tuple[ArrayLike, ArrayLike],
    components: str | Sequence[Component] = "S 2p/paper",
    *,
    window_ev: tuple[float, float] | None = None,
    background: Literal["shirley", "linear", "tougaard", "none"] = "shirley",
    background_mode: Literal["model", "subtract"] = "model",
    average_points: int = 5,
    shape: str | None = None,
    drop_outside: bool = False,
    table: str | Path | None = None,
    starts: int = 5,
) -> PeakFit:
    """Fit an XPS region with a component library on a Shirley (or other) background.

    Parameters
    ----------
    spectrum : XPSSpectrum, DataFrame (``Binding energy [eV]``, ``Intensity [counts/s]``) or pair
        Ascending binding energy.
    components : str or sequence of Component
        A library name (:func:`component_library`), ``"auto"`` (:func:`auto_components`) or your
        own components.
    window_ev : (float, float), optional
        Fit only this binding-energy window.
    background, background_mode
        ``"model"`` (default) fits an active Shirley background ``b₀ + k∫P`` with the peaks;
        ``"subtract"`` removes the iterative Shirley of the data first (MultiPak/CasaXPS style).
    average_points : int
        End-point averaging of a subtracted background.
    shape : str, optional
        Override the library's line shape.
    drop_outside : bool
        Drop library components whose position lies outside the window instead of raising.
    table : path, optional
        Your own component table.
    starts : int
        Starts of the fit: the library's own and ``starts − 1`` jittered ones
        (:func:`~sulfurscope.spectra.peaks.fit_peaks`); the lowest χ² is reported, and a library
        start that ended in a worse local minimum is a warning of
        :func:`~sulfurscope.spectra.peaks.fit_problems`.

    Returns
    -------
    PeakFit

    Raises
    ------
    SulfurscopeError
        Empty window, NaN intensities, reversed or duplicated axis, component outside the window.
    FitError
        The fit did not converge.

    Examples
    --------
    >>> from sulfurscope.simulate.xps import simulate_xps
    >>> spec = simulate_xps(rng=0)
    >>> fit = fit_xps(spec, "S 2p/paper")
    >>> round(float(fit.center[0]), 1)
    160.7
    """
    e, i = _as_xy(spectrum)
    if window_ev is not None:
        lo, hi = sorted(window_ev)
        sel = (e >= lo) & (e <= hi)
        e, i = e[sel], i[sel]
        if e.size == 0:
            raise SulfurscopeError(f"no data points in the window {lo:g}–{hi:g} eV")
    if e.size == 0:
        raise SulfurscopeError("the XPS region is empty (0 points)")
    if e.size < 10:
        raise SulfurscopeError(f"the XPS region has only {e.size} points; need at least 10")
    if isinstance(components, str) and components.strip().lower() == "auto":
        comps = auto_components((e, i), shape=shape or "voigt")
    elif isinstance(components, str):
        comps = component_library(components, table=table, shape=shape)
    else:
        comps = tuple(components)
    if drop_outside and e.size:
        lo_e, hi_e = float(np.nanmin(e)), float(np.nanmax(e))
        keep = {c.name for c in comps if lo_e <= c.center <= hi_e}
        comps = tuple(
            c if (c.fwhm_of is None or c.fwhm_of in keep) else _unlink(c)
            for c in comps
            if c.name in keep
        )
        if not comps:
            raise SulfurscopeError(f"no library component lies in the window {lo_e:g}–{hi_e:g} eV")
    # clip centre bounds to the window so the start is feasible
    if e.size and np.all(np.isfinite(e)):
        lo_e, hi_e = float(np.min(e)), float(np.max(e))
        comps = tuple(_clip_bounds(c, lo_e, hi_e) for c in comps)
    model = PeakModel(
        comps,
        background=background,
        background_mode=background_mode,
        average_points=average_points,
    )
    # Poisson weights: σ ∝ √I (counts/s = counts / (dwell × scans); the scale is unknown here, so the
    # covariance is scaled by the reduced χ²). Unweighted, the area uncertainties of a study-like
    # S 2p came out ~half the real spread (the residual scatter is averaged over the quieter
    # background channels); tests/truth/test_xps_coverage.py.
    floor = 1e-3 * float(np.max(np.abs(i))) if i.size else 1.0
    sigma = np.sqrt(np.maximum(i, floor))
    return fit_peaks(e, i, model, starts=starts, sigma=sigma, sigma_scale="relative")


def _unlink(c: Component) -> Component:
    return replace(c, fwhm_of=None)


def _clip_bounds(c: Component, lo: float, hi: float) -> Component:
    if c.center_bounds is None or not (lo <= c.center <= hi):
        return c
    b0, b1 = max(c.center_bounds[0], lo), min(c.center_bounds[1], hi)
    return replace(c, center_bounds=(b0, b1))


def component_table(fit: PeakFit, *, region: str = "") -> pd.DataFrame:
    """Tables S2–S6 style: function, BE, FWHM, area %, assignment (plus areas and 1σ).

    Examples
    --------
    >>> from sulfurscope.simulate.xps import simulate_xps
    >>> t = component_table(fit_xps(simulate_xps(rng=0)), region="S 2p")
    >>> list(t.columns[:6])
    ['Region', 'Component', 'Function', 'BE [eV]', 'FWHM [eV]', 'Area [%]']
    """
    total = float(np.sum(fit.area))
    func = {
        "voigt": "Voigt",
        "pseudo_voigt": "pseudo-Voigt",
        "gaussian": "Gaussian",
        "lorentzian": "Lorentzian",
        "gl_product": "GL(m)",
        "gl_sum": "SGL(m)",
        "doniach_sunjic": "Doniach-Sunjic",
        "breit_wigner_fano": "BWF",
    }
    comps = fit.model.components
    return pd.DataFrame(
        {
            "Region": region,
            "Component": list(fit.names),
            "Function": [
                func.get(s, s) + (" doublet" if c.splitting is not None else "")
                for s, c in zip(fit.shapes, comps, strict=True)
            ],
            "BE [eV]": fit.center,
            "FWHM [eV]": fit.fwhm,
            "Area [%]": 100.0 * fit.area / total if total > 0 else np.nan,
            "Assignment": list(fit.assignments),
            "BE stderr [eV]": fit.center_stderr,
            "FWHM stderr [eV]": fit.fwhm_stderr,
            "Area [counts/s·eV]": fit.area,
            "Area stderr [counts/s·eV]": fit.area_stderr,
            "Splitting [eV]": [np.nan if c.splitting is None else c.splitting for c in comps],
        }
    )


def region_area(
    spectrum: XPSSpectrum | pd.DataFrame | tuple[ArrayLike, ArrayLike],
    *,
    window_ev: tuple[float, float] | None = None,
    background: Literal["shirley", "linear", "tougaard"] = "shirley",
    average_points: int = 5,
) -> float:
    """Background-subtracted area of a region (counts/s · eV), for :func:`quantify`.

    Examples
    --------
    >>> x = np.linspace(0.0, 10.0, 501)
    >>> y = 10.0 + 100.0 * np.exp(-((x - 5.0) ** 2) / 0.5)
    >>> round(float(region_area((x, y), background="linear") / (100 * np.sqrt(0.5 * np.pi))), 3)
    1.0
    """
    e, i = _as_xy(spectrum)
    if window_ev is not None:
        lo, hi = sorted(window_ev)
        sel = (e >= lo) & (e <= hi)
        e, i = e[sel], i[sel]
    if e.size < 3:
        raise SulfurscopeError(f"region has {e.size} points in the window; need at least 3")
    fn = {"shirley": _bg.shirley, "linear": _bg.linear, "tougaard": _bg.tougaard}
    if background not in fn:
        raise SulfurscopeError(f"background must be one of {list(fn)}, got {background!r}")
    b = fn[background](e, i, average_points=average_points)
    return float(np.trapezoid(i - b, e))


def noise_scale(intensity: ArrayLike) -> float:
    r"""Scale k of Poisson-like noise σ_i = k·√I_i, estimated from the spectrum itself.

    Counts/s are counts ÷ (dwell × scans), so σ ∝ √I with an unknown factor. The second difference
    d_i = I_i − (I_{i−1} + I_{i+1})/2 removes any smooth signal and has variance 1.5 σ² (equal σ
    nearby). r_i = d_i² / (1.5 I_i) is k²·χ²₁: a first k² = median(r)/0.4549 (the median of χ²₁)
    sets aside r > 9k² (3σ: curvature of sharp peaks, spikes), and k² = mean of the rest / 0.97334
    (the mean of χ²₁ below 9) — as robust as the median, twice as efficient.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lam = 400.0 + 300.0 * np.exp(-np.linspace(-3, 3, 2001) ** 2)
    >>> round(noise_scale(rng.poisson(lam) / 4.0), 1)  # counts ÷ 4: σ = √(I/4) = 0.5 √I
    0.5
    """
    i = np.asarray(intensity, dtype=float)
    if i.size < 5:
        raise SulfurscopeError(f"need at least 5 points to estimate the noise, got {i.size}")
    d = i[1:-1] - 0.5 * (i[:-2] + i[2:])
    ok = i[1:-1] > 0
    if not ok.any():
        raise SulfurscopeError("no positive intensity to scale the noise by")
    r = d[ok] ** 2 / (1.5 * i[1:-1][ok])
    k2 = float(np.median(r)) / 0.45494
    if k2 <= 0:
        return 0.0
    kept = r[r < 9.0 * k2]  # beyond 3σ: curvature of sharp peaks, spikes
    return float(np.sqrt(kept.mean() / 0.97334)) if kept.size else float(np.sqrt(k2))


def region_area_stderr(
    spectrum: XPSSpectrum | pd.DataFrame | tuple[ArrayLike, ArrayLike],
    *,
    window_ev: tuple[float, float] | None = None,
    background: Literal["shirley", "linear", "tougaard"] = "shirley",
    average_points: int = 5,
    replicates: int = 200,
    seed: int = 0,
) -> tuple[float, float]:
    r"""Background-subtracted area of a region and its standard error (parametric bootstrap).

    The noise σ_i = k √I_i (:func:`noise_scale`, k from the spectrum's own scatter) is added to the
    spectrum ``replicates`` times and the background (Shirley by default, whose end levels and shape
    move with the noise) is fitted again each time; the standard error is the sd of those areas.
    Peak shape is not assumed, so the error covers counting noise and background placement, not a
    wrong window choice.

    Returns
    -------
    area, stderr : float, counts/s·eV

    Raises
    ------
    FitError
        When the background has no solution for the spectrum, or for more than 10 % of the noise
        replicates (the area is then not stable: use another background).
    """
    e, i = _as_xy(spectrum)
    if window_ev is not None:
        lo, hi = sorted(window_ev)
        sel = (e >= lo) & (e <= hi)
        e, i = e[sel], i[sel]
    area = region_area((e, i), background=background, average_points=average_points)
    k = noise_scale(i)
    sigma = k * np.sqrt(np.maximum(i, 0.0))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(replicates)):
        try:
            out.append(
                region_area(
                    (e, i + rng.normal(0.0, sigma)),
                    background=background,
                    average_points=average_points,
                )
            )
        except (FitError, SulfurscopeError):
            continue
    if len(out) < 0.9 * replicates:
        raise FitError(
            f"{background} background: {replicates - len(out)} of {replicates} noise replicates "
            "have no solution, so the area is not stable under the spectrum's own noise"
        )
    return area, float(np.std(out, ddof=1))


LI2S2_ASSUMPTION = (
    "Li2S2 assumption: all terminal S belongs to Li2S2 (no longer polysulfides), so bridging S "
    "(S-S-S) can only come from residual elemental sulfur (S8); fractions are of S atoms in "
    "Li2S + terminal + bridging S"
)


#: Fixed curve names of :func:`fit_curves` (components follow with their own names).
CURVES: tuple[str, ...] = ("data", "envelope", "background", "residual")


def fit_curves(fit: PeakFit, *, region: str = "") -> pd.DataFrame:
    """Everything needed to redraw a Fig 4b–f panel, as a long table.

    Columns ``Region``, ``Curve`` (``data``, ``envelope``, ``background``, ``residual`` and one per
    component — the component alone, without background), ``Binding energy [eV]`` and
    ``Intensity [counts/s]``.

    Examples
    --------
    >>> from sulfurscope.simulate.xps import simulate_xps
    >>> t = fit_curves(fit_xps(simulate_xps(rng=0)), region="S 2p")
    >>> sorted(t["Curve"].unique())[:4]
    ['C-S', 'Li2S', 'background', 'bridging S']
    """
    e = fit.x
    parts = [
        ("data", fit.y),
        ("envelope", fit.best_fit),
        ("background", fit.background),
        ("residual", fit.y - fit.best_fit),
    ] + [(n, fit.component_curves[k]) for k, n in enumerate(fit.names)]
    return pd.DataFrame(
        {
            "Region": region,
            "Curve": np.repeat([n for n, _ in parts], e.size),
            ENERGY: np.tile(e, len(parts)),
            INTENSITY: np.concatenate([v for _, v in parts]),
        }
    )
