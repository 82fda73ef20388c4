"""Relaxation curves and times of the rests (private; see :mod:`sulfurscope.cycling.gitt`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.cycling import _relaxation as _rx
from sulfurscope.cycling.gitt._common import (
    PULSE_LIMITED_FRACTION,
    V0Convention,
    VInfMethod,
    check_choice,
    plain_dict,
    saturated_tau_reading,
)
from sulfurscope.cycling.gitt._steps import GittSteps, check_steps
from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import TIME, VOLTAGE

__all__ = ["RelaxationCurves", "RelaxationTimes", "relaxation_curves", "relaxation_times"]


def _curve(
    t: np.ndarray,
    v: np.ndarray,
    steps: GittSteps,
    n: int,
    v0: V0Convention,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Time from the curve origin and voltage of rest n, with V0 as the first point.

    ``last_under_current``: origin at the last sample under current (V0 = CCV, so the IR step is part of
    the relaxation). ``first_rest_point``: origin and V0 at the first rest sample.
    """
    ra, rb = int(steps.rest_start_row[n]), int(steps.rest_stop_row[n])
    if v0 == "last_under_current":
        a = int(steps.pulse_stop_row[n]) - 1
        tt = np.concatenate([[t[a]], t[ra:rb]]) - t[a]
        vv = np.concatenate([[v[a]], v[ra:rb]])
    else:
        tt = t[ra:rb] - t[ra]
        vv = v[ra:rb]
    return tt, vv, float(vv[0])


@dataclass(frozen=True, slots=True)
class RelaxationCurves:
    """Every rest normalised to run from 0 to 1 (Fig. S4), in long format.

    Attributes
    ----------
    step : (M,) ndarray of int
        Pulse number of each sample.
    time_s : (M,) ndarray of float, s
        Time from the curve origin (see ``v0_convention``).
    voltage_v : (M,) ndarray of float, V
    fraction : (M,) ndarray of float
        Fraction of the relaxation done, (V − V0)/(V∞ − V0): 0 → 1 on charge and discharge.
    normalised_voltage : (M,) ndarray of float
        The paper's normalised voltage (V − min)/(max − min) with min/max = the curve ends: rises
        0 → 1 on discharge (τ at 1 − 1/e) and falls 1 → 0 on charge (τ at 1/e).
    curve_step, v0_v, v_inf_v : (K,) ndarray
        Per rest: pulse number, V0, V∞.
    curve_direction, curve_half_cycle_label : (K,) ndarray of str
    v0_convention, v_inf_method : str
    """

    step: np.ndarray
    time_s: np.ndarray
    voltage_v: np.ndarray
    fraction: np.ndarray
    normalised_voltage: np.ndarray
    curve_step: np.ndarray
    v0_v: np.ndarray
    v_inf_v: np.ndarray
    curve_direction: np.ndarray
    curve_half_cycle_label: np.ndarray
    v0_convention: str
    v_inf_method: str

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per rest sample."""
        return pd.DataFrame(
            {
                "Step": self.step,
                "Time [s]": self.time_s,
                "Voltage [V]": self.voltage_v,
                "Fraction relaxed": self.fraction,
                "Normalised voltage": self.normalised_voltage,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)


def _v_inf(
    tt: np.ndarray, vv: np.ndarray, method: VInfMethod, tau_guess: float | None = None
) -> float:
    if method == "last_sample":
        return float(vv[-1])
    if tau_guess is None or not np.isfinite(tau_guess):
        f = (vv - vv[0]) / ((vv[-1] - vv[0]) or 1.0)
        tau_guess, _ = _rx.crossing_time(tt, f, _rx.ONE_MINUS_INV_E)
        if not np.isfinite(tau_guess) or tau_guess <= 0:
            tau_guess = max(float(tt[-1]) / 5.0, 1e-6)
    sel = tt >= tau_guess
    if sel.sum() < 5:
        sel = tt >= 0
    vinf, _, _ = _rx.exp_asymptote(tt[sel], vv[sel], tau_guess)
    return vinf if np.isfinite(vinf) else float(vv[-1])


def relaxation_curves(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    v0: V0Convention,
    v_inf: VInfMethod = "last_sample",
) -> RelaxationCurves:
    """Normalise every rest after a pulse to run from 0 to 1 (the study's Fig. S4).

    Parameters
    ----------
    data : DataFrame
        The canonical table ``steps`` was found in.
    steps : GittSteps
    v0 : {"last_under_current", "first_rest_point"}
        Reference point V0 (required: the two differ by the IR step and give τ ~3× apart on real data).
    v_inf : {"last_sample", "fitted"}
        V∞ from the last rest sample or from a one-exponential asymptote fitted to the tail.

    Returns
    -------
    RelaxationCurves
    """
    check_steps(data, steps)
    check_choice("v0", v0, ("last_under_current", "first_rest_point"))
    check_choice("v_inf", v_inf, ("last_sample", "fitted"))
    t = data[TIME].to_numpy(dtype=float)
    v = data[VOLTAGE].to_numpy(dtype=float)
    idx = np.flatnonzero(steps.has_rest)
    parts_t, parts_v, parts_f, parts_n, parts_s = [], [], [], [], []
    v0s, vinfs = np.empty(len(idx)), np.empty(len(idx))
    for j, n in enumerate(idx):
        tt, vv, v0v = _curve(t, v, steps, int(n), v0)
        vi = _v_inf(tt, vv, v_inf)
        dv = vi - v0v
        f = (vv - v0v) / dv if dv != 0 else np.zeros_like(vv)
        lith = steps.direction[n] == "lithiation"
        parts_t.append(tt)
        parts_v.append(vv)
        parts_f.append(f)
        parts_n.append(np.full(len(tt), n, dtype=np.int64))
        parts_s.append(f if lith else 1.0 - f)
        v0s[j], vinfs[j] = v0v, vi

    def cat(p: list[np.ndarray], dtype: Any = float) -> np.ndarray:
        return np.concatenate(p) if p else np.zeros(0, dtype=dtype)

    return RelaxationCurves(
        step=cat(parts_n, np.int64),
        time_s=cat(parts_t),
        voltage_v=cat(parts_v),
        fraction=cat(parts_f),
        normalised_voltage=cat(parts_s),
        curve_step=steps.step[idx],
        v0_v=v0s,
        v_inf_v=vinfs,
        curve_direction=steps.direction[idx],
        curve_half_cycle_label=steps.half_cycle_label[idx],
        v0_convention=v0,
        v_inf_method=v_inf,
    )


# ================================================================== relaxation times


@dataclass(frozen=True, slots=True)
class RelaxationTimes:
    """The study's τ per rest, with its reference choices, quality flags and an uncertainty range.

    Attributes
    ----------
    step, half_cycle : (K,) ndarray of int
    half_cycle_label, direction : (K,) ndarray of str
    capacity_mah_g : (K,) ndarray of float, mAh/g_S, or None
        Specific capacity in the half-cycle at the pulse end (None without a sulfur mass).
    tau_s : (K,) ndarray of float, s
        Time from the curve origin at which 1 − 1/e of the relaxation is done (log-time
        interpolation). NaN only when ``reached`` is False.
    tau_low_s, tau_high_s : (K,) ndarray of float, s
        Range of τ over perturbations of V0 (± 2 σ_noise), V∞ (last sample, mean of the last 5, fitted
        asymptote, ± 2 σ_noise) and smoothing (5-point moving average).
        A relaxation |V∞ − V0| below ``MIN_SNR`` noise σ, or a level the rest never reaches, widens
        the range to 0 / the rest's end.
    v0_v, v_inf_v, v_inf_fitted_v : (K,) ndarray of float, V
        V0 and V∞ used, and the fitted one-exponential asymptote of the tail for comparison.
    noise_v : (K,) ndarray of float, V
        Noise σ estimated from the rest's second differences.
    reached : (K,) ndarray of bool
        Whether the curve reached 1 − 1/e.
    non_monotone : (K,) ndarray of bool
        The curve re-crosses 1 − 1/e after the first crossing, or overshoots V∞ (by more than
        3 σ_noise and 5 % of the relaxation).
    coarse : (K,) ndarray of bool
        The samples bracketing the crossing lie more than ``MAX_BRACKET_RATIO`` apart in time (or
        the crossing comes before the first sample after the origin): τ is not resolved by the
        sampling, and its range spans the bracket.
    unrelaxed_fraction : (K,) ndarray of float
        Estimated relaxation still to come at the rest end: |dV/dt|_end · T_tail / |V∞ − V0|.
    settled : (K,) ndarray of bool
        ``unrelaxed_fraction ≤ max_unrelaxed_fraction`` (the drift check on V∞).
    pulse_duration_s : (K,) ndarray of float, s
    pulse_limited : (K,) ndarray of bool
        τ ≥ 1.2 t_p: the 1/e time of a sphere saturates near 1.4 t_p, so τ only bounds the transport
        time from below (MODEL.md) and a τ ratio between sizes is no proof of L² scaling.
    v0_convention, v_inf_method : str
    target_fraction : float
        1 − 1/e.
    """

    step: np.ndarray
    half_cycle: np.ndarray
    half_cycle_label: np.ndarray
    direction: np.ndarray
    capacity_mah_g: np.ndarray | None
    tau_s: np.ndarray
    tau_low_s: np.ndarray
    tau_high_s: np.ndarray
    v0_v: np.ndarray
    v_inf_v: np.ndarray
    v_inf_fitted_v: np.ndarray
    noise_v: np.ndarray
    reached: np.ndarray
    non_monotone: np.ndarray
    coarse: np.ndarray
    unrelaxed_fraction: np.ndarray
    settled: np.ndarray
    pulse_duration_s: np.ndarray
    pulse_limited: np.ndarray
    v0_convention: str
    v_inf_method: str
    target_fraction: float

    def to_frame(self) -> pd.DataFrame:
        """One row per rest."""
        cols: dict[str, Any] = {
            "Step": self.step,
            "Half cycle": self.half_cycle,
            "Half cycle label": self.half_cycle_label,
            "Direction": self.direction,
        }
        if self.capacity_mah_g is not None:
            cols["Specific capacity [mAh/g]"] = self.capacity_mah_g
        cols.update(
            {
                "Tau [s]": self.tau_s,
                "Tau low [s]": self.tau_low_s,
                "Tau high [s]": self.tau_high_s,
                "V0 [V]": self.v0_v,
                "Vinf [V]": self.v_inf_v,
                "Vinf fitted [V]": self.v_inf_fitted_v,
                "Noise [V]": self.noise_v,
                "Reached": self.reached,
                "Non-monotone": self.non_monotone,
                "Tau coarse": self.coarse,
                "Unrelaxed fraction": self.unrelaxed_fraction,
                "Settled": self.settled,
                "Pulse duration [s]": self.pulse_duration_s,
                "Pulse limited": self.pulse_limited,
                "V0 convention": self.v0_convention,
                "Vinf method": self.v_inf_method,
            }
        )
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)


#: The samples bracketing the 1 − 1/e crossing may be at most this ratio apart in time (t_k / t_k−1);
#: coarser, the interpolated τ is off by tens of % (e.g. a 0.84 s τ read as 1.7 s from 1 s samples,
#: found against a finite-volume sphere) and τ counts as unresolved.
MAX_BRACKET_RATIO = 1.5
#: A relaxation smaller than this many noise σ does not determine τ (its 1 − 1/e level moves by
#: ± 2σ/|ΔV| ≥ 0.4 of the whole relaxation); τ's range then reaches 0. The demo's rests have ≥ 8σ.
MIN_SNR = 5.0


def _tau_of(tt: np.ndarray, vv: np.ndarray, v0v: float, vi: float) -> float:
    dv = vi - v0v
    if dv == 0 or not np.isfinite(dv):
        return float("nan")
    tau, _ = _rx.crossing_time(tt, (vv - v0v) / dv, _rx.ONE_MINUS_INV_E)
    return tau


def relaxation_times(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    v0: V0Convention,
    v_inf: VInfMethod = "last_sample",
    smooth_points: int = 1,
    max_unrelaxed_fraction: float = 0.05,
) -> RelaxationTimes:
    """The study's relaxation time τ of every rest after a pulse.

    τ is the time from the curve origin at which (V − V0)/(V∞ − V0) first reaches 1 − 1/e (the
    study's 1 − 1/e on discharge and 1/e on charge of the normalised voltage), read by linear
    interpolation in ln t between the bracketing samples.

    Parameters
    ----------
    data : DataFrame
        The canonical table ``steps`` was found in.
    steps : GittSteps
    v0 : {"last_under_current", "first_rest_point"}
        V0 and t = 0 at the last sample under current (IR step included) or at the first rest
        sample (excluded). No default: it changes τ several-fold and is reported with every τ.
    v_inf : {"last_sample", "fitted"}
        V∞: the last rest sample (drift-checked) or a one-exponential asymptote of the tail t ≥ τ.
    smooth_points : int
        Centred moving average applied before reading τ (1 = none).
    max_unrelaxed_fraction : float
        A rest is ``settled`` when the relaxation still to come is below this fraction.

    Returns
    -------
    RelaxationTimes
        ``pulse_limited``: τ ≥ 1.2 t_p, as τ_e = G(t_p D/R²)·R²/D of a sphere saturates near
        1.38 t_p (MODEL.md); for V∞ = last sample of a finite rest, the same fraction of that rest's
        saturated reading (:func:`saturated_tau_reading`).
    """
    check_steps(data, steps)
    check_choice("v0", v0, ("last_under_current", "first_rest_point"))
    check_choice("v_inf", v_inf, ("last_sample", "fitted"))
    if smooth_points < 1:
        raise SulfurscopeError(f"smooth_points must be >= 1, got {smooth_points}")
    t, v = data[TIME].to_numpy(dtype=float), data[VOLTAGE].to_numpy(dtype=float)
    idx = np.flatnonzero(steps.has_rest)
    rows = []
    for n in idx:
        tt, vv, v0v = _curve(t, v, steps, int(n), v0)
        if smooth_points > 1:
            vv = np.concatenate([[vv[0]], _rx.moving_average(vv, smooth_points)[1:]])
        rows.append(_read_rest(tt, vv, v0v, v_inf))
    col = {
        k: np.array([r[k] for r in rows],
                    dtype=float if k not in ("reached", "nonmono", "coarse") else bool)
        for k in _REST_KEYS
    }
    dur = (steps.pulse_end_s - steps.pulse_start_s)[idx]
    saturated = saturated_tau_reading(
        dur, (steps.rest_end_s - steps.rest_start_s)[idx], v_inf=v_inf
    )
    reached = col["reached"].astype(bool) if len(idx) else np.zeros(0, bool)
    return RelaxationTimes(
        step=steps.step[idx],
        half_cycle=steps.half_cycle[idx],
        half_cycle_label=steps.half_cycle_label[idx],
        direction=steps.direction[idx],
        capacity_mah_g=None if steps.capacity_mah_g is None else steps.capacity_mah_g[idx],
        **{field: col[key] for field, key in _FIELDS.items()},
        reached=reached,
        non_monotone=col["nonmono"].astype(bool),
        coarse=col["coarse"].astype(bool) if len(idx) else np.zeros(0, bool),
        settled=np.nan_to_num(col["unrelaxed"], nan=np.inf) <= max_unrelaxed_fraction,
        pulse_duration_s=dur,
        pulse_limited=reached & (np.nan_to_num(col["tau"]) >= PULSE_LIMITED_FRACTION * saturated),
        v0_convention=v0,
        v_inf_method=v_inf,
        target_fraction=float(_rx.ONE_MINUS_INV_E),
    )


_REST_KEYS = ("tau", "lo", "hi", "v0", "vinf", "vfit", "noise", "reached", "nonmono", "unrelaxed",
              "coarse")
_FIELDS = {
    "tau_s": "tau",
    "tau_low_s": "lo",
    "tau_high_s": "hi",
    "v0_v": "v0",
    "v_inf_v": "vinf",
    "v_inf_fitted_v": "vfit",
    "noise_v": "noise",
    "unrelaxed_fraction": "unrelaxed",
}


def _tail_asymptote(tt: np.ndarray, vv: np.ndarray, tau0: float) -> tuple[float, float]:
    """One-exponential asymptote of the tail t ≥ τ₀: the fitted V∞ and the tail time constant."""
    v_last = float(vv[-1])
    if not (np.isfinite(tau0) and tau0 > 0):
        return v_last, float("nan")
    sel = tt >= tau0
    if sel.sum() < 5:
        sel = tt >= 0
    v_fit, _, t_tail = _rx.exp_asymptote(tt[sel], vv[sel], tau0)
    return (v_fit if np.isfinite(v_fit) else v_last), t_tail


def _tau_range(
    tt: np.ndarray, vv: np.ndarray, v0v: float, vi: float, sigma: float, alt: float
) -> tuple[float, int, list[float]]:
    """τ and its read-outs under perturbed V0 (± 2σ) and V∞ (the other V∞ estimate, the mean of the
    last 5 samples, ± 2σ): the perturbations are read-outs of the same curve at shifted levels."""
    target = _rx.ONE_MINUS_INV_E
    dv = vi - v0v
    f = (vv - v0v) / dv
    tail5 = float(vv[-5:].sum()) / len(vv[-5:])
    levels = [(target * (dv - d0) + d0) / dv for d0 in (-2 * sigma, 2 * sigma)]
    levels += [target * (vi2 - v0v) / dv for vi2 in (alt, tail5, vi - 2 * sigma, vi + 2 * sigma)]
    tj, kk, perturbed = _rx.crossing_time_levels(tt, f, target, levels)
    return tj, kk, list(perturbed)


def _read_rest(tt: np.ndarray, vv: np.ndarray, v0v: float, v_inf: str) -> dict[str, float]:
    """τ of one rest curve with its range, V∞, noise, monotonicity and drift."""
    sigma = _rx.noise_sigma(vv)
    out = dict.fromkeys(_REST_KEYS, float("nan"))
    out.update(v0=v0v, noise=sigma, reached=False, nonmono=False, coarse=False)
    if len(tt) < 3:
        out["vinf"] = out["vfit"] = float(vv[-1])
        return out
    v_last = float(vv[-1])
    v_fit, t_tail = _tail_asymptote(tt, vv, _tau_of(tt, vv, v0v, v_last))
    vi = v_last if v_inf == "last_sample" else v_fit
    out.update(vinf=vi, vfit=v_fit)
    dv = vi - v0v
    if dv == 0:
        return out
    alt = v_fit if v_inf == "last_sample" else v_last
    tj, kk, perturbed = _tau_range(tt, vv, v0v, vi, sigma, alt)
    f = (vv - v0v) / dv
    tol = 3.0 * sigma / abs(dv)
    target = _rx.ONE_MINUS_INV_E
    out.update(tau=tj, reached=kk >= 0)
    if kk >= 0:  # re-crossing after the first crossing, or overshoot beyond V∞
        out["nonmono"] = bool((f[kk:] < target - tol).any() or (f > 1.0 + max(tol, 0.05)).any())
    if not np.isfinite(t_tail):  # drift: end slope × tail time constant, relative to the relaxation
        t_tail = tj if np.isfinite(tj) else float(tt[-1])
    out["unrelaxed"] = abs(_rx.end_slope(tt, vv, 0.1)) * t_tail / abs(dv)
    vs = np.concatenate([[vv[0]], _rx.moving_average(vv, 5)[1:]])  # and a 5-point smoothing
    # a perturbed level the rest never reaches (noise of the order of the relaxation) means τ may
    # lie as late as the rest's end: dropping it made a noise-dominated τ look well determined
    late = float(tt[-1])
    perturbed = [late if kk >= 0 and not np.isfinite(p) else p for p in perturbed]
    c = np.array([tj, *perturbed, _tau_of(tt, vs, v0v, vi)], dtype=float)
    if kk >= 0 and abs(dv) < MIN_SNR * sigma:  # within the noise: τ not determined
        c = np.append(c, [0.0, late])
    if kk >= 0:  # the samples bracketing the crossing: too far apart, τ is not resolved
        before = float(tt[kk - 1]) if kk > 0 else 0.0
        if before <= 0 or float(tt[kk]) / before > MAX_BRACKET_RATIO:
            out["coarse"] = True
            c = np.append(c, [before, float(tt[kk])])
    c = c[np.isfinite(c)]
    if len(c):
        out.update(lo=float(c.min()), hi=float(c.max()))
    return out
