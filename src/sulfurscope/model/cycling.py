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
transport in the converted Li₂S/CEI layer). With the simulator's defaults: first-discharge τ ≈ 450 /
1200 / 1350 s and later τ ≈ 1000 / 1150 / 1200 s for 1 / 4 / 8 µm (12-class Gaussians, sd = 0.3 d).
"""

from __future__ import annotations

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
    """Parameters of model C (MODEL.md §C illustrative values as defaults).

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
    k_c_per_h: float = 1e-6
    m_d: float = 2.0
    m_c: float = 8.0
    alpha: float = 0.5
    ocv_v: float = 2.1
    ocv_slope_v: float = 0.05
    ohmic_v_per_c: float = 0.05
    v_min: float = 0.5
    v_max: float = 3.0
    fade_layer_um: float = 0.03
    fade_per_cycle: float = 0.08
    fade_per_hour: float = 0.002
    solid_diffusivity_m2_s: float = 2e-18
    diffusion_v: float = 0.25
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
        Terminal voltage without the diffusion term (added by the protocol simulator).
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


def _voltage(x: np.ndarray, a: np.ndarray, i: float, sign: int, p: CyclingParameters) -> np.ndarray:
    """Voltage for states x (..., K); sign −1 discharge, +1 charge."""
    a_tot = a.sum()
    xbar = (x * a).sum(axis=-1) / a_tot
    if sign < 0:
        g = p.k_d_per_h * np.clip(1.0 - x, 0.0, 1.0) ** p.m_d
    else:
        g = p.k_c_per_h * np.clip(x, 0.0, 1.0) ** p.m_c
    s = (g * a).sum(axis=-1)
    with np.errstate(divide="ignore"):
        eta = (_vt(p) / p.alpha) * np.arcsinh(i / (2.0 * s))
    return p.ocv_v - p.ocv_slope_v * (xbar - 0.5) + sign * (eta + i * p.ohmic_v_per_c)


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
) -> HalfCycle:
    """Run one constant-current half-cycle of model C until a voltage, capacity or time limit.

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

    Returns
    -------
    HalfCycle

    Examples
    --------
    >>> hc = simulate_half_cycle([1.0], [1.0], c_rate=0.1, direction="charge")
    >>> round(hc.capacity_mah_g / 1672, 2)
    0.52
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

    v0 = float(_voltage(x0, a, i, sign, p))
    if a_tot <= 0 or past(v0):
        return HalfCycle(
            np.zeros(1), x0[None, :], np.array([v0]), np.zeros((1, x0.size)), 0.0, "empty"
        )
    synced = np.allclose(x0, x0[0], atol=1e-12, rtol=0)
    if synced:
        x_start = float(x0[0])
        # x(t) = x0 − sign · i t / A (discharge raises x)
        dxdt = -sign * i / a_tot
        x_far = 1.0 if sign < 0 else 0.0
        t_full = (x_far - x_start) / dxdt

        def vol_at(t: float) -> float:
            xx = np.full(x0.size, x_start + dxdt * t)
            return float(_voltage(xx, a, i, sign, p)) - limit

        t_hi = t_full * (1.0 - 1e-15)
        if vol_at(t_hi) * (1 if sign < 0 else -1) > 0:  # never reaches the limit (no kinetic limit)
            t_v = t_full
        else:
            t_v = optimize.brentq(vol_at, 0.0, t_hi, xtol=1e-12 * max(t_full, 1e-9), rtol=1e-13)
        if t_v <= t_stop_other:
            t_end, ended = t_v, "voltage"
        else:
            t_end, ended = t_stop_other, other
        dt_h = sample_interval_s / 3600.0
        tt = np.arange(0.0, t_end, dt_h) if t_end > 0 else np.zeros(0)
        tt = np.append(tt, t_end)
        x = x_start + dxdt * tt[:, None] * np.ones((1, x0.size))
        rate = np.full_like(x, dxdt)
    else:
        # general case: explicit RK with the shared (explicit) overpotential
        def rhs(t: float, x: np.ndarray) -> np.ndarray:
            g = (
                p.k_d_per_h * np.clip(1.0 - x, 0.0, 1.0) ** p.m_d
                if sign < 0
                else p.k_c_per_h * np.clip(x, 0.0, 1.0) ** p.m_c
            )
            s = float(np.sum(a * g))
            return -sign * i * g / max(s, 1e-300)

        def ev(t: float, x: np.ndarray) -> float:
            return float(_voltage(x, a, i, sign, p)) - limit

        ev.terminal = True  # type: ignore[attr-defined]
        t_max = min(t_stop_other, 10.0 / i)
        sol = solve_ivp(
            rhs,
            (0.0, t_max),
            x0,
            method="RK45",
            events=ev,
            dense_output=True,
            rtol=1e-8,
            atol=1e-10,
        )
        if sol.status < 0:
            raise SulfurscopeError(f"half-cycle integration failed: {sol.message}")
        t_end = float(sol.t[-1])
        ended = "voltage" if sol.status == 1 else other
        dt_h = sample_interval_s / 3600.0
        tt = np.append(np.arange(0.0, t_end, dt_h), t_end)
        x = sol.sol(tt).T
        rate = np.array([rhs(0.0, xi) for xi in x])
    v = _voltage(x, a, i, sign, p)
    cap = float(np.sum(a * np.abs(x[-1] - x0))) * Q_THEORETICAL_SULFUR_MAH_G
    return HalfCycle(tt * 3600.0, x, np.asarray(v, dtype=float), rate, cap, ended)
