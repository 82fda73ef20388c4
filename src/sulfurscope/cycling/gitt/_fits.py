"""Fitted relaxation models and Weppner–Huggins diffusion coefficients (private)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.cycling import _relaxation as _rx
from sulfurscope.cycling.gitt._common import (
    FitModel,
    V0Convention,
    check_choice,
    plain_dict,
)
from sulfurscope.cycling.gitt._relax import _curve, _tau_of
from sulfurscope.cycling.gitt._steps import GittSteps, check_steps
from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import REST, TIME, VOLTAGE

__all__ = ["DiffusionCoefficients", "RelaxationFits", "diffusion_coefficients", "relaxation_fits"]


@dataclass(frozen=True, slots=True)
class RelaxationFits:
    """One-, two-exponential and stretched-exponential fits of every rest (long format).

    Models (t from the curve origin of ``v0_convention``; fitted to the rest samples only):
    ``exponential`` V∞ − A e^{−t/τ₁}; ``two_exponential`` V∞ − A[w e^{−t/τ₁} + (1 − w) e^{−t/τ₂}]
    (τ₁ ≤ τ₂); ``stretched`` V∞ − A e^{−(t/τ₁)^β}. Unused parameters are NaN.

    Attributes
    ----------
    step : (F,) ndarray of int
    model : (F,) ndarray of str
    v_inf_v, amplitude_v : (F,) ndarray of float, V
    tau1_s, tau2_s : (F,) ndarray of float, s
    weight, beta : (F,) ndarray of float
    tau63_s : (F,) ndarray of float, s
        Time at which the fitted model has done 1 − 1/e of its own relaxation.
    rms_residual_mv : (F,) ndarray of float, mV
    success : (F,) ndarray of bool
    message : (F,) ndarray of str
        Optimiser status.
    initial : (F,) ndarray of object
        Initial parameter tuples (what reproduces the fit).
    n_points : (F,) ndarray of int
        Samples fitted.
    v0_convention : str
    """

    step: np.ndarray
    model: np.ndarray
    v_inf_v: np.ndarray
    amplitude_v: np.ndarray
    tau1_s: np.ndarray
    tau2_s: np.ndarray
    weight: np.ndarray
    beta: np.ndarray
    tau63_s: np.ndarray
    rms_residual_mv: np.ndarray
    success: np.ndarray
    message: np.ndarray
    initial: np.ndarray
    n_points: np.ndarray
    v0_convention: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Step": self.step,
                "Model": self.model,
                "Vinf [V]": self.v_inf_v,
                "Amplitude [V]": self.amplitude_v,
                "Tau1 [s]": self.tau1_s,
                "Tau2 [s]": self.tau2_s,
                "Weight": self.weight,
                "Beta": self.beta,
                "Tau63 [s]": self.tau63_s,
                "RMS residual [mV]": self.rms_residual_mv,
                "Success": self.success,
                "Message": self.message,
                "Points": self.n_points,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        d = {
            k: (v.tolist() if isinstance(v, np.ndarray) else v)
            for k, v in {n: getattr(self, n) for n in self.__dataclass_fields__}.items()
        }
        d["initial"] = [list(map(float, p)) for p in self.initial]
        return d


_PARAMETER_POSITIONS = {
    "exponential": {"vinf": 0, "a": 1, "t1": 2},
    "two_exponential": {"vinf": 0, "a": 1, "t1": 2, "t2": 3, "w": 4},
    "stretched": {"vinf": 0, "a": 1, "t1": 2, "beta": 3},
}


def _fit_rest(
    n: int, mname: str, tt: np.ndarray, vv: np.ndarray, v0v: float, v0: str
) -> dict[str, Any]:
    """One model fitted to one rest (the rest samples only): parameters, rms, status, τ63."""
    tr, vr = (tt[1:], vv[1:]) if v0 == "last_under_current" else (tt, vv)
    npar = {"exponential": 3, "two_exponential": 5, "stretched": 4}[mname]
    row: dict[str, Any] = {"step": n, "model": mname, "n_points": len(tr)}
    if len(tr) <= npar:
        p0 = np.full(npar, np.nan)
        row.update(params=p0, rms=np.nan, ok=False, msg="too few points", p0=p0, t63=np.nan)
        return row
    p0 = _rx.initial_guess(mname, tr, vr, v0v, _tau_of(tt, vv, v0v, float(vv[-1])))
    try:
        params, rms, ok, msg = _rx.fit_model(mname, tr, vr, p0)
        t63 = _rx.model_tau63(mname, params) if ok else float("nan")
    except (ValueError, RuntimeError, FloatingPointError) as exc:  # pragma: no cover
        params, rms, ok, msg, t63 = np.full(npar, np.nan), np.nan, False, str(exc), np.nan
    row.update(params=params, rms=rms, ok=ok, msg=msg, p0=p0, t63=t63)
    return row


def relaxation_fits(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    v0: V0Convention,
    models: Sequence[FitModel] = ("exponential", "two_exponential", "stretched"),
) -> RelaxationFits:
    """Fit exponential alternatives to every rest so the 1/e read-out can be judged.

    A two-exponential fit much better than the one-exponential fit, or a stretched exponent β well
    below 1, means the single-τ read-out summarises a distribution of time constants.

    Parameters
    ----------
    data, steps
        As for :func:`relaxation_times`.
    v0 : {"last_under_current", "first_rest_point"}
        Sets the time origin (the fits use the rest samples only).
    models : sequence of {"exponential", "two_exponential", "stretched"}

    Returns
    -------
    RelaxationFits
        A failed optimisation is marked ``success=False`` with the optimiser's message.
    """
    check_steps(data, steps)
    check_choice("v0", v0, ("last_under_current", "first_rest_point"))
    for mname in models:
        check_choice("models", mname, tuple(_rx.MODELS))
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []
    for n in np.flatnonzero(steps.has_rest):
        tt, vv, v0v = _curve(t, v, steps, int(n), v0)
        rows += [_fit_rest(int(n), m, tt, vv, v0v, v0) for m in models]

    def col(fn: Any, dtype: Any = float) -> np.ndarray:
        return np.array([fn(r) for r in rows], dtype=dtype) if rows else np.zeros(0, dtype=dtype)

    def par(r: dict[str, Any], name: str) -> float:
        pos = _PARAMETER_POSITIONS[r["model"]]
        return float(r["params"][pos[name]]) if name in pos else float("nan")

    initial = np.empty(len(rows), dtype=object)
    for j, r in enumerate(rows):
        initial[j] = tuple(float(x) for x in r["p0"])
    return RelaxationFits(
        step=col(lambda r: r["step"], np.int64),
        model=col(lambda r: r["model"], object),
        v_inf_v=col(lambda r: par(r, "vinf")),
        amplitude_v=col(lambda r: par(r, "a")),
        tau1_s=col(lambda r: par(r, "t1")),
        tau2_s=col(lambda r: par(r, "t2")),
        weight=col(lambda r: par(r, "w")),
        beta=col(lambda r: par(r, "beta")),
        tau63_s=col(lambda r: r["t63"]),
        rms_residual_mv=col(lambda r: r["rms"] * 1000.0),
        success=col(lambda r: r["ok"], bool),
        message=col(lambda r: r["msg"], object),
        initial=initial,
        n_points=col(lambda r: r["n_points"], np.int64),
        v0_convention=v0,
    )


# ================================================================== diffusion coefficients


@dataclass(frozen=True, slots=True)
class DiffusionCoefficients:
    """Chemical diffusion coefficients per pulse (Weppner–Huggins or √t regression).

    Attributes
    ----------
    step : (K,) ndarray of int
    d_m2_s : (K,) ndarray of float, m²/s
    delta_es_v : (K,) ndarray of float, V
        Steady-state change ΔE_s: end of the rest after the pulse − end of the rest before it (each
        the mean of the last ``rest_average_points`` samples).
    delta_et_v : (K,) ndarray of float, V
        Transient change ΔE_t = CCV − first sample under current (IR step excluded).
    sqrt_t_slope_v_s05 : (K,) ndarray of float, V/√s
        dE/d√t of the pulse (least-squares regression, computed for both methods).
    sqrt_t_r2 : (K,) ndarray of float
        R² of that regression.
    pulse_duration_s : (K,) ndarray of float, s
    t_over_l2_d : (K,) ndarray of float
        t_p D / L²: the validity measure (Weppner–Huggins needs t_p ≪ L²/D).
    valid : (K,) ndarray of bool
        ``t_over_l2_d ≤ validity_limit`` and a resolvable ΔE_s.
    plateau : (K,) ndarray of bool
        ΔE_s below 3 σ (noise) or 1 mV: a flat plateau (such as the 2.1 V solid-state plateau) makes
        the estimate ill-conditioned — reported, not hidden.
    length_um : float
        Diffusion length L used (R/3 for spheres or m V_M /(M S) for an electrode).
    method : str
    validity_limit : float
    """

    step: np.ndarray
    d_m2_s: np.ndarray
    delta_es_v: np.ndarray
    delta_et_v: np.ndarray
    sqrt_t_slope_v_s05: np.ndarray
    sqrt_t_r2: np.ndarray
    pulse_duration_s: np.ndarray
    t_over_l2_d: np.ndarray
    valid: np.ndarray
    plateau: np.ndarray
    length_um: float
    method: str
    validity_limit: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Step": self.step,
                "D [m2/s]": self.d_m2_s,
                "Delta Es [V]": self.delta_es_v,
                "Delta Et [V]": self.delta_et_v,
                "dE/dsqrt(t) [V/s0.5]": self.sqrt_t_slope_v_s05,
                "sqrt(t) R2": self.sqrt_t_r2,
                "Pulse duration [s]": self.pulse_duration_s,
                "tD/L2": self.t_over_l2_d,
                "Valid": self.valid,
                "Plateau": self.plateau,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)


def diffusion_coefficients(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    method: Literal["weppner_huggins", "sqrt_t"] = "weppner_huggins",
    particle_radius_um: float | None = None,
    molar_volume_cm3_mol: float | None = None,
    active_mass_mg: float | None = None,
    molar_mass_g_mol: float | None = None,
    area_cm2: float | None = None,
    sqrt_t_window: tuple[float, float] = (0.0, 1.0),
    validity_limit: float = 0.1,
    rest_average_points: int = 5,
) -> DiffusionCoefficients:
    """Chemical diffusion coefficient of every pulse that has a rest before and after it.

    Weppner & Huggins, J. Electrochem. Soc. 124 (1977) 1569, eq. 29: D = 4/(π t_p) L² (ΔE_s/ΔE_t)²,
    with L = R/3 for spheres or L = m V_M /(M S) for an electrode (active mass m, molar mass M, molar
    volume V_M, area S). The √t variant: D = 4/π · (L ΔE_s /(t_p s))² with s = dE/d√t of the pulse.
    Both assume t_p ≪ L²/D; ``valid`` checks it.

    Parameters
    ----------
    data, steps
        The canonical table and its steps.
    method : {"weppner_huggins", "sqrt_t"}
    particle_radius_um : float, µm
        Give this (spheres) or all four of ``molar_volume_cm3_mol``, ``active_mass_mg``,
        ``molar_mass_g_mol`` and ``area_cm2`` (electrode form).
    sqrt_t_window : (float, float)
        Part of the pulse (fractions of t_p) used for the √t regression.
    validity_limit : float
        Largest t_p D / L² counted as "t_p ≪ L²/D".
    rest_average_points : int
        ΔE_s between the means of the last this-many samples of the rests before and after.

    Returns
    -------
    DiffusionCoefficients
        (``SulfurscopeError`` when neither or both geometries are given.)
    """
    check_steps(data, steps)
    check_choice("method", method, ("weppner_huggins", "sqrt_t"))
    length_m = _diffusion_length_m(
        particle_radius_um, (molar_volume_cm3_mol, active_mass_mg, molar_mass_g_mol, area_cm2)
    )
    if rest_average_points < 1:
        raise SulfurscopeError(f"rest_average_points must be >= 1, got {rest_average_points}")
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    rest_flag = data[REST].to_numpy(dtype=bool) if REST in data.columns else None
    idx = np.flatnonzero(steps.has_rest & np.isfinite(steps.voltage_before_v))
    tp = (steps.pulse_end_s - steps.pulse_start_s)[idx]
    es = np.array([_delta_es(v, rest_flag, steps, int(n), rest_average_points) for n in idx])
    pulse = [_pulse_fit(t, v, steps, int(n), sqrt_t_window) for n in idx]
    et = np.array([p[0] for p in pulse], dtype=float)
    slope = np.array([p[1] for p in pulse], dtype=float)
    r2 = np.array([p[2] for p in pulse], dtype=float)
    sigma = [_rx.noise_sigma(v[steps.rest_start_row[n] : steps.rest_stop_row[n]]) for n in idx]
    plateau = (
        np.abs(es) < np.maximum(3 * np.asarray(sigma), 1e-3) if len(idx) else np.zeros(0, bool)
    )
    d = _wh(method, length_m, tp, es, et, slope)
    ratio = tp * d / length_m**2
    return DiffusionCoefficients(
        step=steps.step[idx],
        d_m2_s=d,
        delta_es_v=es.astype(float) if len(idx) else np.zeros(0),
        delta_et_v=et,
        sqrt_t_slope_v_s05=slope,
        sqrt_t_r2=r2,
        pulse_duration_s=tp,
        t_over_l2_d=ratio,
        valid=(np.nan_to_num(ratio, nan=np.inf) <= validity_limit) & ~plateau,
        plateau=plateau,
        length_um=length_m * 1e6,
        method=method,
        validity_limit=float(validity_limit),
    )


def _wh(
    method: str, length_m: float, tp: np.ndarray, es: np.ndarray, et: np.ndarray, slope: np.ndarray
) -> np.ndarray:
    """Weppner–Huggins D = 4/(π t_p) L² (ΔE_s/ΔE_t)², or its √t form 4/π (L ΔE_s/(t_p s))²."""
    if not len(tp):
        return np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "weppner_huggins":
            d = 4.0 / (np.pi * tp) * length_m**2 * (es / et) ** 2
        else:
            d = 4.0 / np.pi * (length_m * es / (tp * slope)) ** 2
    return np.where(np.isfinite(d) & (tp > 0), d, np.nan)


def _diffusion_length_m(radius_um: float | None, electrode: tuple[float | None, ...]) -> float:
    """L = R/3 for spheres, or L = m V_M/(M S) for an electrode (Weppner & Huggins 1977)."""
    if radius_um is not None and any(x is not None for x in electrode):
        raise SulfurscopeError("give particle_radius_um or the electrode quantities, not both")
    if radius_um is not None:
        if not radius_um > 0:
            raise SulfurscopeError(f"particle_radius_um must be > 0, got {radius_um!r}")
        return radius_um * 1e-6 / 3.0
    if all(x is not None for x in electrode):
        vm, m, mm, s = (float(x) for x in electrode)  # type: ignore[arg-type]
        if min(vm, m, mm, s) <= 0:
            raise SulfurscopeError(f"electrode quantities must be > 0, got {electrode}")
        return (m * 1e-3 / mm) * vm / s * 1e-2  # mol * cm3/mol / cm2 = cm -> m
    raise SulfurscopeError(
        "diffusion_coefficients needs a length: particle_radius_um (spheres, L = R/3) or "
        "molar_volume_cm3_mol, active_mass_mg, molar_mass_g_mol and area_cm2 (L = m V_M/(M S))"
    )


def _delta_es(
    v: np.ndarray, rest_flag: np.ndarray | None, steps: GittSteps, n: int, m_avg: int
) -> float:
    """ΔE_s: mean of the last ``m_avg`` rest samples after the pulse minus that before it."""
    a = int(steps.pulse_start_row[n])
    lo = a - m_avg
    if rest_flag is not None:
        prev = rest_flag[max(0, lo) : a]
        lo = a - (len(prev) - int(np.flatnonzero(~prev)[-1]) - 1 if (~prev).any() else len(prev))
    before = float(v[max(0, lo) : a].mean())
    rb = int(steps.rest_stop_row[n])
    ra = max(int(steps.rest_start_row[n]), rb - m_avg)
    return float(v[ra:rb].mean()) - before


def _pulse_fit(
    t: np.ndarray, v: np.ndarray, steps: GittSteps, n: int, window: tuple[float, float]
) -> tuple[float, float, float]:
    """ΔE_t of a pulse and the slope dE/d√t (with its R²) over the window (fractions of t_p)."""
    a, b = int(steps.pulse_start_row[n]), int(steps.pulse_stop_row[n])
    tt, vv = t[a:b] - t[a], v[a:b]
    tp = float(steps.pulse_end_s[n] - steps.pulse_start_s[n])
    sel = (tt >= window[0] * tp) & (tt <= window[1] * tp + 1e-12)
    if sel.sum() < 3:
        return float(vv[-1] - vv[0]), float("nan"), float("nan")
    x, y = np.sqrt(tt[sel]), vv[sel]
    xm = x - x.mean()
    sl = float(np.dot(xm, y - y.mean()) / np.dot(xm, xm))
    res = y - y.mean() - sl * xm
    ss = float(np.dot(y - y.mean(), y - y.mean()))
    return float(vv[-1] - vv[0]), sl, (1.0 - float(np.dot(res, res)) / ss if ss > 0 else np.nan)


# ================================================================== sphere map and scaling
