"""Later cycles: one plateau, asymmetric Butler–Volmer kinetics, size classes sharing the potential,
early fade (model C, MODEL.md §C).

x_k ∈ [0, 1] is the lithiated fraction of class k's active sulfur; its active share is
a_k = w_k f_k (1 − L_k) (sulfur-volume weight, formation active fraction, fade loss). With the current i
in C-units (h⁻¹, relative to the total sulfur):

    r_k = g_k [e^{αη/V_T} − e^{−αη/V_T}],   g_k = k_d (1 − x_k)^{m_d} (discharge),  k_c x_k^{m_c} (charge)
    Σ a_k r_k = i  ⇒  η = (V_T/α) asinh(i / (2 Σ a_k g_k))   (explicit),   dx_k/dt = ±r_k
    V = U₀ − s_U (x̄ − ½) ∓ η ∓ i R_Ω − η_diff,   stop at V_min (discharge) / V_max (charge).

The asymmetry lives in k_c ≪ k_d and m_c > m_d (loss of contact as sulfur shrinks on charge), never in
different forward/backward constants of one Butler–Volmer term. Because every class obeys the same
kinetics per unit active sulfur, classes that start in the same state stay in it: then x(t) is linear in
time and the end of a half-cycle is found by one root solve (exact). Classes in different states are
integrated with an explicit Runge–Kutta method and a terminal event.

Closed form (charge-limited, MODEL.md §C): Q(C) ≈ q_th F [1 − (C/(F C_c*))^{1/m_c}],
C_c* = 2 k_c sinh(α(V_max − U₀ − C R_Ω)/V_T).

Early fade: a weakly confined outer layer λ holds the vulnerable share φ_k of class k's active sulfur
(φ ≈ 6λ/d for thin layers); its remaining part decays by exp(−(k_N/2 + k_t Δt)) per half-cycle, so
Q_N = Q_∞ + (Q₂ − Q_∞) e^{−(N−2)/N_c} with 1/N_c = k_N + k_t t_cycle (slow rates fade more).

GITT relaxation in later cycles: solid-state diffusion across each class's active layer of thickness
L_k = R_k (1 − (1 − f_k)^{1/3}) adds η_diff = s_D Σ ω_k u_k, u_k the surface-minus-mean lithiation from
the exact constant-flux sphere modes (x_n = tan x_n roots): du_n/dt = −x_n² D/L² u_n + (2/3) dx/dt,
with |u_k| ≤ 1 (surface and mean cannot differ by more than the full range). In the first (formation)
discharge the simulator uses the same modes across each particle's radius R_k with the pristine
composite's D_p and s_P, driven by each class's conversion rate d⟨θ_k⟩/dt from model B.

Why two diffusivities (default D_p = 2e-17, D_s = 2e-18 m²/s): the study's Figure 2 has first-discharge
τ growing ~3× from 1 to 8 µm and later τ alike. Analysed like the study (V0 = first rest point, V∞ = last
sample of a 2 h rest), a pulse-saturated sphere reads τ ≈ 0.46 t_p, so a 3× ratio needs the 1 µm
particles well out of saturation (T_p = t_p D/R² ≈ 0.1 → D_p ≈ 2e-17); the layers left by formation
are ≈ 0.5 µm (1 µm particles, fully converted) to ≈ 1.5 µm (8 µm), and with that same D the later τ
would differ ~3× as well. Alike later τ need the layers in the saturated regime, D_s ≲ 2e-18 (slower
transport in the converted Li₂S/CEI layer); much lower D_s drives |u| of the 8 µm layers into the
|u| ≤ 1 bound, whose rests then stay flat and read absurd τ (5e-19 gave 3700 s).

Defaults and the voltage limits (retuned). The protocol simulator ends every current step when the full
voltage, diffusion term included, reaches V_min / V_max (see :mod:`sulfurscope.model.protocols`); before,
model C alone decided the end and the diffusion term was clipped on top, so charges ran on flat at
3.000 V. With the old defaults (k_c = 1e-6 h⁻¹, s_D = 0.25 V, λ = 0.03 µm) honest limits cut the charges
short: C/2.5 discharge 350 / 147 / 65 mAh/g_S for 1 / 4 / 8 µm instead of the study's ~600 / ~300 — the
thick layers of big particles reach |u| ≈ 1 within a C/2.5 charge and lose the whole s_D. The defaults
are therefore k_c = 8e-5 h⁻¹ (compensates the diffusion term's share of the 0.9 V charge window,
≈ e^{α s_D/V_T}), s_D = 0.2 V (the big particles' penalty; lower values leave the 1 µm later-cycle GITT
relaxations only a few times the 2 mV noise, and their τ scatter) and λ = 0.045 µm (small particles fade
a little more, which brings the 1 µm sample's C/2.5 capacity back towards ~600). Other values are
MODEL.md's illustrative ones. With these defaults (12-class Gaussians, sd = 0.3 d, 2 mV noise): C/2.5
discharge ≈ 684 / 510 / 343 mAh/g_S; first-discharge τ ≈ 490 / 1200 / 1350 s and later τ ≈ 1020 /
1240 / 1170 s for 1 / 4 / 8 µm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.integrate import solve_ivp

from sulfurscope._sphere import sphere_roots
from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import FARADAY, GAS_CONSTANT, Q_THEORETICAL_SULFUR_MAH_G

__all__ = [
    "CyclingParameters",
    "HalfCycle",
    "charge_limited_capacity",
    "fade_vulnerable_share",
    "simulate_half_cycle",
    "sphere_roots",
]

Direction = Literal["discharge", "charge"]


@dataclass(frozen=True, slots=True)
class CyclingParameters:
    """Parameters of model C (MODEL.md §C illustrative values as defaults, except k_c, s_D and λ: see
    the module notes, "Defaults and the voltage limits").

    Attributes
    ----------
    k_d_per_h, k_c_per_h : float, h⁻¹
        Discharge / charge rate constants (k_c ≪ k_d: charge-limited).
    m_d, m_c : float
        Exponents of (1 − x) on discharge and x on charge.
    alpha : float
        Transfer coefficient.
    ocv_v : float
        U₀ of the single plateau.
    ocv_slope_v : float
        s_U: U = U₀ − s_U (x̄ − ½) (a slight slope of the plateau).
    ohmic_v_per_c : float
        R_Ω in volts per unit C-rate.
    v_min, v_max : float
        Discharge / charge cut-off voltages.
    fade_layer_um : float
        λ, thickness of the weakly confined outer layer.
    fade_per_cycle, fade_per_hour : float
        k_N (per cycle) and k_t (per hour) of the vulnerable sulfur's loss.
    solid_diffusivity_m2_s : float
        D_s for the GITT relaxation in later cycles (across each class's active layer); see the module
        notes for why it is 10× below ``pristine_diffusivity_m2_s``.
    diffusion_v : float
        s_D, volts per unit surface-minus-mean lithiation (later cycles).
    pristine_diffusivity_m2_s : float
        D_p, solid-state diffusivity of the pristine composite during the first (formation) discharge,
        across each particle's radius (the simulator's formation GITT relaxation).
    pristine_diffusion_v : float
        s_P, volts per unit surface-minus-mean conversion during the first discharge.
    temperature_k : float
    """

    k_d_per_h: float = 1e-3
    k_c_per_h: float = 8e-5
    m_d: float = 2.0
    m_c: float = 8.0
    alpha: float = 0.5
    ocv_v: float = 2.1
    ocv_slope_v: float = 0.05
    ohmic_v_per_c: float = 0.05
    v_min: float = 0.5
    v_max: float = 3.0
    fade_layer_um: float = 0.045
    fade_per_cycle: float = 0.08
    fade_per_hour: float = 0.002
    solid_diffusivity_m2_s: float = 2e-18
    diffusion_v: float = 0.2
    pristine_diffusivity_m2_s: float = 2e-17
    pristine_diffusion_v: float = 0.8
    temperature_k: float = 298.15

    def to_frame(self) -> pd.DataFrame:
        """One row of parameters."""
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, float]:
        """Parameters as a plain dict."""
        return {name: float(getattr(self, name)) for name in self.__slots__}  # type: ignore[attr-defined]


_ROOTS = sphere_roots(400)  # no-flux sphere decay modes, shared with the GITT map


def fade_vulnerable_share(d_um: Any, active_fraction: Any, *, layer_um: float) -> np.ndarray:
    """Share φ_k of a class's active sulfur that lies in the weakly confined outer layer λ.

    φ = (1 − (1 − 2λ/d)³)/f, capped at 1 (≈ 6λ/(d f) for thin layers: small particles fade more).

    Examples
    --------
    >>> fade_vulnerable_share([1.0, 8.0], [1.0, 0.578], layer_um=0.03).round(3)
    array([0.169, 0.039])
    """
    d = np.asarray(d_um, dtype=float)
    f = np.asarray(active_fraction, dtype=float)
    shell = 1.0 - np.clip(1.0 - 2.0 * layer_um / d, 0.0, 1.0) ** 3
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(f > 0, shell / f, 0.0)
    return np.clip(phi, 0.0, 1.0)


def _vt(p: CyclingParameters) -> float:
    return GAS_CONSTANT * p.temperature_k / FARADAY


def charge_limited_capacity(
    c_rate: Any, params: CyclingParameters | None = None, *, active_fraction: float = 1.0
) -> np.ndarray:
    """Closed-form charge-limited rate law of model C (MODEL.md §C), mAh/g of total sulfur.

    Q(C) = q_th F [1 − (C/(F C_c*))^{1/m_c}], C_c* = 2 k_c sinh(α(V_max − U₀ − C R_Ω)/V_T): the charge
    stops when k_c x^{m_c} has fallen so far that the overpotential reaches V_max; the next discharge
    returns what that charge delivered. (Exact for one class when the plateau slope is 0.)

    Examples
    --------
    >>> q = charge_limited_capacity([0.025, 0.4])
    >>> bool(q[0] > q[1])
    True
    """
    p = params or CyclingParameters()
    c = np.asarray(c_rate, dtype=float)
    vt = _vt(p)
    arg = np.clip(p.alpha * (p.v_max - p.ocv_v - c * p.ohmic_v_per_c) / vt, 0.0, 700.0)
    c_star = 2.0 * p.k_c_per_h * np.sinh(arg)
    with np.errstate(divide="ignore"):
        x_end = np.clip(c / (active_fraction * c_star), 0.0, 1.0) ** (1.0 / p.m_c)
    return Q_THEORETICAL_SULFUR_MAH_G * active_fraction * (1.0 - x_end)


@dataclass(frozen=True, slots=True)
class HalfCycle:
    """One simulated constant-current half-cycle (or rest) of model C.

    Attributes
    ----------
    time_s : (M,) ndarray
        Sample times from the start of the half-cycle.
    x : (M, K) ndarray
        Lithiated fraction per class.
    voltage_v : (M,) ndarray
        Terminal voltage: model C's, plus ``extra_voltage_v`` when one was given (the protocol simulator
        passes its solid-state diffusion term there, so the limit applies to the full voltage).
    rate_per_h : (M, K) ndarray
        dx_k/dt.
    capacity_mah_g : float
        Charge passed per gram of total sulfur.
    ended_by : str
        ``"voltage"``, ``"capacity"``, ``"time"`` or ``"empty"`` (nothing left to react).
    """

    time_s: np.ndarray
    x: np.ndarray
    voltage_v: np.ndarray
    rate_per_h: np.ndarray
    capacity_mah_g: float
    ended_by: str

    def to_frame(self) -> pd.DataFrame:
        """Time, voltage and mean lithiation."""
        return pd.DataFrame(
            {
                "Time [s]": self.time_s,
                "Voltage [V]": self.voltage_v,
                "Mean lithiation": self.x.mean(axis=1),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Scalars."""
        return {
            "capacity_mah_g": self.capacity_mah_g,
            "ended_by": self.ended_by,
            "points": int(self.time_s.size),
        }


#: Largest spacing (s) of the grid on which a half-cycle's first limit crossing is bracketed.
_CROSSING_GRID_S = 600.0


def _voltage(x: np.ndarray, a: np.ndarray, i: float, sign: int, p: CyclingParameters) -> np.ndarray:
    """Voltage for states x (..., K); sign −1 discharge, +1 charge."""
    a_tot = a.sum()
    xbar = (x * a).sum(axis=-1) / a_tot
    if sign < 0:
        g = p.k_d_per_h * np.clip(1.0 - x, 0.0, 1.0) ** p.m_d
    else:
        g = p.k_c_per_h * np.clip(x, 0.0, 1.0) ** p.m_c
    s = (g * a).sum(axis=-1)
    if i == 0:  # open circuit: no charge-transfer overpotential, even where no sulfur can react
        eta = np.zeros_like(s)
    else:
        with np.errstate(divide="ignore"):
            eta = (_vt(p) / p.alpha) * np.arcsinh(i / (2.0 * s))
    return p.ocv_v - p.ocv_slope_v * (xbar - 0.5) + sign * (eta + i * p.ohmic_v_per_c)


@dataclass(frozen=True)
class _Drive:
    """What a half-cycle integration needs (see :func:`simulate_half_cycle`)."""

    x0: np.ndarray
    a: np.ndarray
    i: float
    sign: int
    p: CyclingParameters
    limit: float
    extra: Callable[[np.ndarray], np.ndarray]
    t_stop_other: float
    other: str
    dt_h: float


def _synced(d: _Drive) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Every class at one conversion: closed form x(t) = x0 − sign · i t / A, and the end found as
    the first crossing of the voltage limit on a fixed grid refined by a root search."""
    x_start = float(d.x0[0])
    dxdt = -d.sign * d.i / float(d.a.sum())  # discharge raises x
    x_far = 1.0 if d.sign < 0 else 0.0
    t_full = (x_far - x_start) / dxdt

    def excess(t: np.ndarray) -> np.ndarray:
        # > 0 beyond the limit: (V_C + η_extra − limit) · (−1 on discharge, +1 on charge)
        t = np.asarray(t, dtype=float)
        xx = (x_start + dxdt * t)[..., None] * np.ones(d.x0.size)
        v = _voltage(xx, d.a, d.i, d.sign, d.p) + d.extra(t)
        return (v - d.limit) * (1.0 if d.sign > 0 else -1.0)

    t_hi = min(t_full * (1.0 - 1e-15), d.t_stop_other)
    # first crossing: a uniform grid (≥ 48 intervals, ≤ _CROSSING_GRID_S apart, independent of the
    # output sampling so that every caller finds the same end) plus points clustered at the end
    # (the kinetic limit is steep there), then a root in the first bracket; the full voltage need
    # not be monotone (crossings narrower than the grid spacing are not resolved)
    n_uniform = int(min(max(49, np.ceil(t_hi * 3600.0 / _CROSSING_GRID_S) + 1), 4001))
    grid = np.unique(np.concatenate(
        [np.linspace(0.0, t_hi, n_uniform), t_hi * (1.0 - np.geomspace(1e-9, 0.5, 24))]
    ))
    with np.errstate(divide="ignore", invalid="ignore"):
        ex = excess(grid)
    beyond = np.flatnonzero(ex >= 0)
    if beyond.size:
        j = int(beyond[0])
        t_end = 0.0 if j == 0 else optimize.brentq(
            lambda t: float(excess(np.array([t]))[0]), grid[j - 1], grid[j],
            xtol=1e-12 * max(t_hi, 1e-9), rtol=1e-13,
        )
        ended = "voltage"
    elif d.t_stop_other < t_full:
        t_end, ended = d.t_stop_other, d.other
    else:  # never reaches the limit (no kinetic limit): everything converted
        t_end, ended = t_full, "voltage"
    tt = np.arange(0.0, t_end, d.dt_h) if t_end > 0 else np.zeros(0)
    tt = np.append(tt, t_end)
    x = x_start + dxdt * tt[:, None] * np.ones((1, d.x0.size))
    return tt, x, np.full_like(x, dxdt), ended


def _general(d: _Drive) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Classes at different conversions: explicit RK with the shared overpotential, ended by the
    voltage-limit event."""
    p, sign, i, a = d.p, d.sign, d.i, d.a

    def rhs(t: float, x: np.ndarray) -> np.ndarray:
        g = (
            p.k_d_per_h * np.clip(1.0 - x, 0.0, 1.0) ** p.m_d
            if sign < 0
            else p.k_c_per_h * np.clip(x, 0.0, 1.0) ** p.m_c
        )
        s = float(np.sum(a * g))
        return -sign * i * g / max(s, 1e-300)

    def ev(t: float, x: np.ndarray) -> float:
        return float(_voltage(x, a, i, sign, p)) + float(d.extra(np.array([t]))[0]) - d.limit

    ev.terminal = True  # type: ignore[attr-defined]
    sol = solve_ivp(rhs, (0.0, min(d.t_stop_other, 10.0 / i)), d.x0, method="RK45", events=ev,
                    dense_output=True, rtol=1e-8, atol=1e-10)
    if sol.status < 0:
        raise SulfurscopeError(f"half-cycle integration failed: {sol.message}")
    t_end = float(sol.t[-1])
    ended = "voltage" if sol.status == 1 else d.other
    tt = np.append(np.arange(0.0, t_end, d.dt_h), t_end)
    x = sol.sol(tt).T
    return tt, x, np.array([rhs(0.0, xi) for xi in x]), ended


def simulate_half_cycle(
    x0: Any,
    active_share: Any,
    params: CyclingParameters | None = None,
    *,
    c_rate: float,
    direction: Direction,
    max_capacity_mah_g: float | None = None,
    max_duration_s: float | None = None,
    sample_interval_s: float = 60.0,
    extra_voltage_v: Callable[[np.ndarray], np.ndarray] | None = None,
) -> HalfCycle:
    """Run one constant-current half-cycle of model C until a voltage, capacity or time limit.

    The voltage limit applies to the full terminal voltage, model C's plus ``extra_voltage_v``: the
    half-cycle ends at the first time that sum reaches V_min (discharge) / V_max (charge), as a cycler
    ends a constant-current step, and the state and capacity are those at that time.

    Parameters
    ----------
    x0 : (K,) array_like
        Initial lithiated fraction per class.
    active_share : (K,) array_like
        a_k = w_k f_k (1 − L_k); Σ a_k is the active fraction of the total sulfur.
    params : CyclingParameters, optional
    c_rate : float
        Current in C-units of the total sulfur (> 0).
    direction : {"discharge", "charge"}
    max_capacity_mah_g : float, optional
        Stop after this specific capacity (mAh/g of total sulfur), e.g. a GITT pulse.
    max_duration_s : float, optional
        Stop after this time.
    sample_interval_s : float
        Output spacing (the end point is always included).
    extra_voltage_v : callable, optional
        η_extra(t_s) → V, (M,) → (M,): a voltage added to model C's terminal voltage, a function of the
        time since the start of the half-cycle (s) only (e.g. the simulator's solid-state diffusion
        overpotential, sign included). Must accept an array of times.

    Returns
    -------
    HalfCycle

    Examples
    --------
    >>> hc = simulate_half_cycle([1.0], [1.0], c_rate=0.1, direction="charge")
    >>> from sulfurscope.units import Q_THEORETICAL_SULFUR_MAH_G as Q_S
    >>> round(hc.capacity_mah_g / Q_S, 2)
    0.72
    """
    p = params or CyclingParameters()
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    a = np.atleast_1d(np.asarray(active_share, dtype=float))
    if x0.shape != a.shape:
        raise SulfurscopeError(f"x0 and active_share differ in shape: {x0.shape} vs {a.shape}")
    if c_rate <= 0 or not np.isfinite(c_rate):
        raise SulfurscopeError(f"c_rate: expected > 0, got {c_rate!r}")
    if direction not in ("discharge", "charge"):
        raise SulfurscopeError(f"direction: expected 'discharge' or 'charge', got {direction!r}")
    a_tot = float(a.sum())
    sign = -1 if direction == "discharge" else 1
    i = float(c_rate)
    limit = p.v_min if sign < 0 else p.v_max
    t_cap = np.inf
    if max_capacity_mah_g is not None:
        t_cap = max_capacity_mah_g / Q_THEORETICAL_SULFUR_MAH_G / i  # h
    t_lim = np.inf if max_duration_s is None else max_duration_s / 3600.0
    t_stop_other = min(t_cap, t_lim)
    other = "capacity" if t_cap <= t_lim else "time"

    def past(v: float) -> bool:
        return v <= limit if sign < 0 else v >= limit

    def extra(t_h: np.ndarray) -> np.ndarray:
        t_h = np.asarray(t_h, dtype=float)
        if extra_voltage_v is None:
            return np.zeros(t_h.shape)
        return np.asarray(extra_voltage_v(t_h * 3600.0), dtype=float).reshape(t_h.shape)

    v0 = float(_voltage(x0, a, i, sign, p)) + float(extra(np.zeros(1))[0])
    if a_tot <= 0 or past(v0):
        return HalfCycle(
            np.zeros(1), x0[None, :], np.array([v0]), np.zeros((1, x0.size)), 0.0, "empty"
        )
    drive = _Drive(x0, a, i, sign, p, limit, extra, t_stop_other, other, sample_interval_s / 3600.0)
    if np.allclose(x0, x0[0], atol=1e-12, rtol=0):
        tt, x, rate, ended = _synced(drive)
    else:
        tt, x, rate, ended = _general(drive)
    v = _voltage(x, a, i, sign, p) + extra(tt)
    cap = float(np.sum(a * np.abs(x[-1] - x0))) * Q_THEORETICAL_SULFUR_MAH_G
    return HalfCycle(tt * 3600.0, x, np.asarray(v, dtype=float), rate, cap, ended)
