"""First discharge: CEI formation by reaction–diffusion with pore sealing (model B, MODEL.md §B).

Per size class k (radius R_k, sulfur-volume weight w_k, Σ w_k = 1), in dimensionless form
(r̃ = r/R_k, t̃ = t·C/3600, c̃ = c/c_b):

    ∂c̃/∂t̃ = (Λ_k/ε) r̃⁻² ∂_r̃(r̃² D̃(θ) ∂_r̃ c̃) − σ ∂θ/∂t̃,     ∂θ/∂t̃ = K(t̃) c̃ (1 − θ),
    D̃(θ) = β + (1 − β)(1 − θ)^q,   ∂_r̃ c̃ = 0 at r̃ = 0,   c̃ = 1 at r̃ = 1,   c̃ = 1, θ = 0 at t̃ = 0,

with Λ_k = D₀ t_C / R_k² (t_C = 3600/C s), σ = ν c_S/(ε c_b). The galvanostatic constraint over all classes
(the carbon is one electronic equipotential), Σ_k w_k ⟨∂θ_k/∂t̃⟩ = i (i = current in units of the
formation C-rate), fixes the global rate K = i / Σ_k w_k ⟨c̃_k (1 − θ_k)⟩ — a rank-one coupling of all
unknowns. Voltage: V = U_f + (RT/2F) ln c̃_r − (2RT/F) asinh(k/(2k₀)) − C·R_Ω, with k = K·C/3600 s⁻¹ the
dimensional rate and c̃_r = Σ w⟨c̃(1 − θ)⟩ / Σ w⟨1 − θ⟩ the reagent concentration seen by unconverted
sulfur (this Nernst term makes the rests of a GITT relax); the discharge stops at the cut-off voltage.

Numerics (MODEL.md §B): finite volumes on a surface-clustered grid (faces r̃_j = 1 − (1 − j/N)^p),
conservative spherical volumes, harmonic-mean face diffusivities; method of lines; SciPy BDF with an
analytic Jacobian = local (tridiagonal-block) part + the rank-one term u ∂K/∂y; terminal event at the
cut-off.

The sharp-front limit of this model (MODEL.md §B's verification "sharp-front limit vs the closed form")
------------------------------------------------------------------------------------------------------
The closed form f = 1 − (1 + 3Λ_s/i)⁻³ (:func:`sharp_front_active_fraction`) assumes a converted shell
(θ = 1) around an untouched core (θ = 0), fed by quasi-steady diffusion through the shell with the shell
group Λ_s = β_shell Λ/(εσ). Model B approaches it only in one limit, and with a renormalised Λ:

1. σ → ∞ (pore reagent negligible): ∂c̃/∂t̃ = (Λ/ε)∇·(D̃∇c̃) − σ∂θ/∂t̃ divided by σ gives the quasi-steady
   Λ_u ∇·(D̃∇c̃) = ∂θ/∂t̃, Λ_u = Λ/(εσ), with ∂θ/∂t̃ = K c̃ (1 − θ) and ⟨∂θ/∂t̃⟩ = i.
2. The reaction zone is never thin compared with the shell. At t = 0 (θ = 0, D̃ = 1) the profile is
   c̃ = sinh(φr̃)/(r̃ sinh φ) with φ² = K/Λ_u, and the current fixes 3Λ_u(φ coth φ − 1) = i: the
   penetration depth 1/φ ≈ 3Λ_u/i is the closed form's own shell thickness δ/R ≈ 3Λ_s/i. Sealing
   (β < 1 at fixed Λ_s) makes it worse — the unconverted core then conducts Λ_s/β, the reagent spreads
   deeper and f rises above the closed form (e.g. Λ_s = 0.1: f = 0.80, 0.93, 0.98 for β = 1, 0.1, 0.01;
   closed form 0.54). So the front is sharp only on the scale of the particle, in the thin-shell limit
   Λ_s → 0 (β = 1, where Λ_s = Λ_u).
3. Thin-shell (planar) limit: with x = 1 − r̃ ≪ 1, ⟨·⟩ = 3∫·dx, and the scalings x = (3Λ_s/i) X,
   t̃ = (9Λ_s/i²) T, k = 9Λ_s K/i², the problem becomes parameter-free:
   c'' = θ_T,  θ_T = k(T) c (1 − θ),  ∫θ_T dX = 1 (so −c'(0) = 1),  c(0) = 1, c(∞) = 0.
   The run ends when k(T) diverges (the supply through the nearly converted outer layer fails; model
   B's exhaustion event), at T_end = ∫θ dX = A. Then f = 3∫θ dx = 9AΛ_s/i, while the sharp-front
   closed form gives 9Λ_s/i to the same order: the model's sharp-front limit is
   f → 1 − (1 + 3Λ_eff/i)⁻³ with Λ_eff = A Λ_s, A = :data:`THIN_SHELL_FACTOR` ≈ 1.709
   (:func:`_planar_thin_shell_factor` solves the planar problem: first-order in the step, A = 1.7144 /
   1.7098 / 1.7092 at Δφ = 0.05 / 0.01 / 0.005, Richardson-extrapolated 1.7086, grid- and
   cap-independent to 1e-5). The partly converted zone ahead of the front holds the extra 71 %.
4. Curvature corrects it at O(Λ_s): model B (β = 1, σ = 1e5, 200 cells) gives Λ_eff/Λ_s = 1.712,
   1.722, 1.756, 1.860 at Λ_s = 0.001, 0.003, 0.01, 0.03 (≈ A + 4Λ_s), i.e. a relative error in f of
   ≈ 2.3 Λ_s against the renormalised closed form — the convergence tests/model/test_formation.py
   asserts. The un-renormalised closed form (Λ_eff = Λ_s) stays a lower bound, 41 % low as Λ_s → 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.integrate import BDF, solve_ivp

from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import FARADAY, GAS_CONSTANT, Q_THEORETICAL_SULFUR_MAH_G

from .active_volume import SizeDistribution, class_weights, single_size

#: Σ w⟨c̃(1 − θ)⟩ below which the reagent supply counts as exhausted (the voltage then diverges to −∞).
_S_FLOOR = 1e-9

__all__ = [
    "THIN_SHELL_FACTOR",
    "FormationParameters",
    "FormationResult",
    "sharp_front_active_fraction",
    "simulate_formation",
]

#: A of model B's thin-shell limit: f → 1 − (1 + 3AΛ_s/i)⁻³ as Λ_s → 0 (β = 1, σ → ∞); see the module
#: notes. The universal planar problem's T_end, from :func:`_planar_thin_shell_factor` (extrapolated).
THIN_SHELL_FACTOR = 1.709


@dataclass(frozen=True, slots=True)
class FormationParameters:
    """Parameters of model B (illustrative calibration of MODEL.md §B as defaults).

    Attributes
    ----------
    diffusivity_m2_s : float
        D₀, effective reagent diffusivity in unconverted pores (Λ(8 µm, C/10) = 2.5 ↔ 1.1e-15 m²/s).
    beta : float
        Residual diffusivity ratio of a fully converted (sealed) region.
    sigma : float
        σ = ν c_S/(ε c_b): reagent needed for full conversion over the pore reagent content.
    porosity : float
        ε.
    exponent_q : float
        q in D(θ) = D₀ [β + (1 − β)(1 − θ)^q].
    rate_constant_per_s : float
        k₀ of the Butler–Volmer-type overpotential η = (2RT/F) asinh(k/(2k₀)).
    ocv_v : float
        U_f, formation plateau potential.
    ohmic_v_per_c : float
        R_Ω as volts per unit C-rate.
    cutoff_v : float
        Discharge cut-off voltage.
    temperature_k : float
    """

    diffusivity_m2_s: float = 1.1e-15
    beta: float = 1e-3
    sigma: float = 20.0
    porosity: float = 0.3
    exponent_q: float = 2.0
    rate_constant_per_s: float = 1e-4
    ocv_v: float = 2.1
    ohmic_v_per_c: float = 0.05
    cutoff_v: float = 0.5
    temperature_k: float = 298.15

    def to_frame(self) -> pd.DataFrame:
        """One row of parameters."""
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, float]:
        """Parameters as a plain dict."""
        return {name: float(getattr(self, name)) for name in self.__slots__}  # type: ignore[attr-defined]


def sharp_front_active_fraction(shell_lambda: Any, *, current: float = 1.0) -> np.ndarray:
    """Closed-form active fraction of the sharp-front (shrinking-core) limit (MODEL.md §B).

    A sharp reaction front at r_c is fed by quasi-steady diffusion through the converted shell; at a fixed
    current the cut-off is reached when the front concentration hits zero, at
    R/r_c = 1 + 3Λ_s/i, so f = 1 − (1 + 3Λ_s/i)⁻³ and δ = 3Λ_s R/(i + 3Λ_s). Here
    Λ_s = D_shell t_C c_b/(R² ν c_S) = β_shell Λ/(ε σ) is the shell's diffusion group (D_shell = β_shell D₀).

    Model B itself tends to this form only in the thin-shell limit and with Λ_s renormalised:
    ``sharp_front_active_fraction(THIN_SHELL_FACTOR * lam_s)`` (β = 1, σ → ∞, Λ_s → 0; see the module
    notes, "The sharp-front limit of this model").

    Examples
    --------
    >>> float(sharp_front_active_fraction(1.0 / 3.0))
    0.875
    """
    lam = np.asarray(shell_lambda, dtype=float)
    if np.any(lam < 0) or current <= 0:
        raise SulfurscopeError("shell_lambda must be >= 0 and current > 0")
    return 1.0 - (1.0 + 3.0 * lam / current) ** -3


def _planar_thin_shell_factor(
    *, length: float = 10.0, step: float = 0.01, dphi: float = 0.01, k_cap: float = 1e8
) -> float:
    """A = T_end of the universal planar problem of model B's thin-shell limit (module notes, step 3).

    c'' = k(1 − θ)c on [0, ``length``] (c(0) = 1, no flux at the far end; nodes ``step`` apart), k from
    the current constraint ∫ k c (1 − θ) dX = 1 (root in log k), θ advanced exactly for frozen k, c with
    1 − θ = e^{−φ} and steps max Δφ = ``dphi`` (first order in ``dphi``); ends when k would exceed
    ``k_cap``. Returns the converted amount ∫θ dX.
    """
    from scipy.linalg import solve_banded
    from scipy.optimize import brentq

    x = np.arange(0.0, length + 0.5 * step, step)
    n = x.size
    m = n - 1
    h2 = 1.0 / step**2

    def consumption(k: float, om: np.ndarray) -> tuple[float, np.ndarray]:
        ab = np.zeros((3, m))
        ab[1] = -2.0 * h2 - k * om[1:]
        ab[0, 1:] = h2
        ab[2, :-1] = h2
        ab[2, -2] = 2.0 * h2  # mirror node at the far end (no flux)
        rhs = np.zeros(m)
        rhs[0] = -h2
        c = np.concatenate([[1.0], solve_banded((1, 1), ab, rhs)])
        g = k * c * om
        return float(step * (g.sum() - 0.5 * g[0] - 0.5 * g[-1])), c

    phi = np.zeros(n)
    total = 0.0
    log_k = 0.0
    while True:
        om = np.exp(-phi)

        def excess(lk: float, om: np.ndarray = om) -> float:
            return consumption(float(np.exp(lk)), om)[0] - 1.0

        lo, hi = log_k - 2.0, log_k + 2.0
        while True:
            if hi > np.log(k_cap):
                return total  # the supply fails: k diverges
            if excess(hi) >= 0:
                break
            hi += 2.0
        while excess(lo) > 0 and lo > -50.0:
            lo -= 2.0
        log_k = brentq(excess, lo, hi, xtol=1e-12)
        k = float(np.exp(log_k))
        c = consumption(k, om)[1]
        rate = k * c  # dφ/dT
        dt = dphi / float(rate.max())
        dth = om * (1.0 - np.exp(-rate * dt))
        total += float(step * (dth.sum() - 0.5 * dth[0] - 0.5 * dth[-1]))
        phi = phi + rate * dt


@dataclass(frozen=True, slots=True)
class FormationResult:
    """Outcome of a first-discharge (formation) simulation.

    Attributes
    ----------
    c_rate : float
        Formation C-rate (of the total sulfur).
    diameter_um, weight : (K,) ndarray
        Class diameters (µm) and sulfur-volume weights.
    lambda_ : (K,) ndarray
        Λ_k = D₀ t_C / R_k².
    active_fraction : (K,) ndarray
        f_k = ⟨θ_k⟩ at cut-off.
    electrode_active_fraction : float
        F = Σ w_k f_k (= charge passed / theoretical).
    capacity_mah_g : float
        First-discharge capacity per gram of sulfur.
    radius_um : (K, N) ndarray
        Cell-centre radii of each class, µm.
    theta : (K, N) ndarray
        θ(r) at cut-off (the CEI/Li₂S conversion profile; CEI(r) ∝ θ(r)).
    reagent : (K, N) ndarray
        c̃(r) at cut-off.
    time_s, voltage_v, current_c, converted : (M,) ndarray
        The simulated curve: time, voltage, current (signed C-rate, negative = discharge) and Σ w⟨θ⟩.
    class_converted : (M, K) ndarray
        ⟨θ_k⟩ of each class along the curve (drives the solid-state diffusion term of the simulator).
    n_rhs, n_jac : int
        Solver statistics (right-hand-side and Jacobian evaluations).
    ended_by_cutoff : bool
        True when the cut-off voltage ended the run.
    parameters : dict
    """

    c_rate: float
    diameter_um: np.ndarray
    weight: np.ndarray
    lambda_: np.ndarray
    active_fraction: np.ndarray
    electrode_active_fraction: float
    capacity_mah_g: float
    radius_um: np.ndarray
    theta: np.ndarray
    reagent: np.ndarray
    time_s: np.ndarray
    voltage_v: np.ndarray
    current_c: np.ndarray
    converted: np.ndarray
    class_converted: np.ndarray
    n_rhs: int
    n_jac: int
    ended_by_cutoff: bool
    parameters: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Per-class table: diameter, weight, Λ, active fraction."""
        return pd.DataFrame(
            {
                "Diameter [um]": self.diameter_um,
                "Volume weight": self.weight,
                "Lambda": self.lambda_,
                "Active fraction": self.active_fraction,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Scalars and per-class values as plain python (curves and profiles left out)."""
        return {
            "c_rate": self.c_rate,
            "diameter_um": self.diameter_um.tolist(),
            "weight": self.weight.tolist(),
            "lambda": self.lambda_.tolist(),
            "active_fraction": self.active_fraction.tolist(),
            "electrode_active_fraction": self.electrode_active_fraction,
            "capacity_mah_g": self.capacity_mah_g,
            "n_rhs": self.n_rhs,
            "n_jac": self.n_jac,
            "ended_by_cutoff": self.ended_by_cutoff,
            "parameters": dict(self.parameters),
        }


class _System:
    """Method-of-lines system for all classes; state y = [c_0, θ_0, c_1, θ_1, ...] (each N long)."""

    def __init__(
        self,
        radius_m: np.ndarray,
        weight: np.ndarray,
        params: FormationParameters,
        c_rate: float,
        n_cells: int,
        grid_power: float,
    ) -> None:
        self.p = params
        self.c_rate = c_rate
        self.t_c = 3600.0 / c_rate
        n = n_cells
        self.n = n
        self.k = radius_m.size
        s = np.linspace(0.0, 1.0, n + 1)
        faces = 1.0 - (1.0 - s) ** grid_power
        faces[0], faces[-1] = 0.0, 1.0
        self.faces = faces
        self.centres = 0.5 * (faces[:-1] + faces[1:])
        self.vol = np.diff(faces**3)
        # geometric face coefficients 3 r_j² / Δr_j for faces 1..N (face N is the surface, c̃ = 1)
        dist = np.empty(n)
        dist[:-1] = np.diff(self.centres)
        dist[-1] = 1.0 - self.centres[-1]
        self.geo = 3.0 * faces[1:] ** 2 / dist  # index j -> face j+1
        self.lam = params.diffusivity_m2_s * self.t_c / radius_m**2
        self.coef = self.lam / params.porosity  # (K,)
        self.w = weight
        self.wv = weight[:, None] * self.vol[None, :]  # (K, N)
        self.current = 1.0
        self.sparse_local = False
        self.nrhs = 0
        self.njac = 0
        self.vt = GAS_CONSTANT * params.temperature_k / FARADAY

    # --- pieces ---------------------------------------------------------------------------------
    def split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        yy = y.reshape(self.k, 2, self.n)
        return yy[:, 0, :], yy[:, 1, :]

    def diff(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.p
        one = np.clip(1.0 - theta, 0.0, 1.0)
        d = p.beta + (1.0 - p.beta) * one**p.exponent_q
        dd = -p.exponent_q * (1.0 - p.beta) * one ** (p.exponent_q - 1.0)
        return d, dd

    def face_d(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Face diffusivities (K, N) for faces 1..N, and their derivatives w.r.t. left/right cells."""
        a, b = d[:, :-1], d[:, 1:]
        fd = np.empty_like(d)
        dl = np.zeros_like(d)
        dr = np.zeros_like(d)
        s = a + b
        fd[:, :-1] = 2.0 * a * b / s
        dl[:, :-1] = 2.0 * b**2 / s**2
        dr[:, :-1] = 2.0 * a**2 / s**2
        fd[:, -1] = d[:, -1]
        dl[:, -1] = 1.0
        return fd, dl, dr

    def rate(self, c: np.ndarray, theta: np.ndarray) -> tuple[float, np.ndarray, float]:
        g = c * (1.0 - theta)
        s = float(np.sum(self.wv * g))
        s_safe = max(s, _S_FLOOR * 1e-3)
        return self.current / s_safe, g, s_safe

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        self.nrhs += 1
        c, th = self.split(y)
        d, _ = self.diff(th)
        fd, _, _ = self.face_d(d)
        cr = np.empty_like(c)
        cr[:, :-1] = c[:, 1:]
        cr[:, -1] = 1.0
        flux = self.geo[None, :] * fd * (cr - c)  # flux through face j+1 into cell j
        div = flux.copy()
        div[:, 1:] -= flux[:, :-1]
        kk, g, _ = self.rate(c, th)
        react = kk * g
        out = np.empty((self.k, 2, self.n))
        out[:, 0, :] = self.coef[:, None] * div / self.vol[None, :] - self.p.sigma * react
        out[:, 1, :] = react
        return out.ravel()

    def jac(self, t: float, y: np.ndarray) -> np.ndarray:
        self.njac += 1
        n, k = self.n, self.k
        m = 2 * n * k
        c, th = self.split(y)
        d, dd = self.diff(th)
        fd, dl, dr = self.face_d(d)
        cr = np.empty_like(c)
        cr[:, :-1] = c[:, 1:]
        cr[:, -1] = 1.0
        grad = cr - c
        kk, g, s = self.rate(c, th)
        jm = np.zeros((m, m))
        idx = np.arange(n)
        sig = self.p.sigma
        for q in range(k):
            oc = 2 * n * q
            ot = oc + n
            a = self.coef[q] / self.vol
            gf = self.geo * fd[q]  # conductance of face j+1
            # ∂(dc)/∂c
            diag = -gf.copy()
            diag[1:] -= gf[:-1]
            jm[oc + idx, oc + idx] = a * diag
            jm[oc + idx[:-1], oc + idx[1:]] = a[:-1] * gf[:-1]
            jm[oc + idx[1:], oc + idx[:-1]] = a[1:] * gf[:-1]
            # ∂(dc)/∂θ via D(θ): flux_j = geo_j fd_j grad_j, fd_j depends on θ_j (left) and θ_{j+1} (right)
            gl = self.geo * grad[q] * dl[q] * dd[q]  # ∂flux_j/∂θ_j
            grr = np.zeros(n)
            grr[:-1] = self.geo[:-1] * grad[q, :-1] * dr[q, :-1] * dd[q, 1:]  # ∂flux_j/∂θ_{j+1}
            # div_i = flux_i − flux_{i−1}
            dth = gl.copy()
            dth[1:] -= grr[:-1]
            jm[oc + idx, ot + idx] = a * dth
            jm[oc + idx[:-1], ot + idx[1:]] = a[:-1] * grr[:-1]
            jm[oc + idx[1:], ot + idx[:-1]] = -a[1:] * gl[:-1]
            # local reaction terms (K held fixed)
            dgc = kk * (1.0 - th[q])
            dgt = -kk * c[q]
            jm[oc + idx, oc + idx] -= sig * dgc
            jm[oc + idx, ot + idx] -= sig * dgt
            jm[ot + idx, oc + idx] = dgc
            jm[ot + idx, ot + idx] = dgt
        # rank-one global coupling: ∂f/∂K ⊗ ∂K/∂y, ∂K/∂y = −(K/S) ∂S/∂y
        u = np.empty((k, 2, n))
        u[:, 0, :] = -sig * g
        u[:, 1, :] = g
        v = np.empty((k, 2, n))
        v[:, 0, :] = self.wv * (1.0 - th)
        v[:, 1, :] = -self.wv * c
        self.u = u.ravel()
        self.v = (-kk / s) * v.ravel()
        blk = 2 * n
        self.blocks = np.stack(
            [jm[q * blk : (q + 1) * blk, q * blk : (q + 1) * blk].copy() for q in range(k)]
        )
        if self.sparse_local:
            # the solver gets the local block-diagonal part; _RankOneBDF adds u vᵀ exactly
            return sparse.block_diag(list(self.blocks), format="csc")
        jm += np.outer(self.u, self.v)
        return jm

    def voltage(self, y: np.ndarray, current: float) -> float:
        c, th = self.split(y)
        g = c * (1.0 - th)
        s = float(np.sum(self.wv * g))
        free = float(np.sum(self.wv * (1.0 - th)))
        p = self.p
        cr = s / free if free > 0 else 0.0
        nernst = 0.5 * self.vt * np.log(max(cr, 1e-300))
        if current == 0:
            return p.ocv_v + nernst
        k_dim = current / max(s, 1e-300) / self.t_c
        eta = 2.0 * self.vt * np.arcsinh(k_dim / (2.0 * p.rate_constant_per_s))
        return p.ocv_v + nernst - eta - abs(current) * self.c_rate * p.ohmic_v_per_c

    def converted(self, y: np.ndarray) -> float:
        _, th = self.split(y)
        return float(np.sum(self.wv * th))

    def class_converted(self, y: np.ndarray) -> np.ndarray:
        _, th = self.split(y)
        return np.sum(th * self.vol[None, :], axis=1)


class _RankOneBDF(BDF):
    """SciPy BDF whose Newton matrix I − c(J_loc + u vᵀ) is solved by per-class block LU plus
    Sherman–Morrison instead of a dense LU of the whole system (same iterates, far fewer flops)."""

    def __init__(
        self,
        fun: Any,
        t0: float,
        y0: np.ndarray,
        t_bound: float,
        *,
        system: _System,
        **options: Any,
    ) -> None:
        super().__init__(fun, t0, y0, t_bound, **options)
        self._system = system

        def lu(a: Any) -> Any:
            # a = I − c J_local (sparse): recover c from the largest local diagonal entry
            self.nlu += 1
            sy = self._system
            blk = 2 * sy.n
            diag_loc = np.concatenate([np.diag(b) for b in sy.blocks])
            j = int(np.argmax(np.abs(diag_loc)))
            c = (1.0 - a[j, j]) / diag_loc[j]
            inv = np.linalg.inv(np.eye(blk)[None] - c * sy.blocks)

            def binv(r: np.ndarray) -> np.ndarray:
                return np.einsum("kij,kj->ki", inv, r.reshape(sy.k, blk)).ravel()

            z = binv(sy.u)
            denom = 1.0 - c * float(sy.v @ z)
            return binv, z, c, denom

        def solve_lu(lu_: Any, b: np.ndarray) -> np.ndarray:
            # Sherman–Morrison: (B − c u vᵀ)⁻¹ b
            binv, z, c, denom = lu_
            y = binv(b)
            return y + z * (c * float(self._system.v @ y) / denom)

        self.lu = lu
        self.solve_lu = solve_lu


def _classes(
    distribution: SizeDistribution | float | Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(distribution, SizeDistribution):
        return distribution.diameter_um, class_weights(distribution, weighting="volume")
    arr = np.atleast_1d(np.asarray(distribution, dtype=float))
    if arr.size == 1:
        d = single_size(float(arr[0]))
        return d.diameter_um, np.ones(1)
    raise SulfurscopeError(
        "distribution: pass a SizeDistribution or one diameter in µm (build several sizes with "
        "histogram_distribution / measured_distribution)"
    )


def _cutoff_event(sys: Any, cutoff_v: float) -> Callable[[float, np.ndarray], float]:
    """The solver's terminal event: the cut-off voltage, or exhaustion of the reagent supply (S
    below a floor: V → −∞ there)."""

    def event(t: float, yy: np.ndarray) -> float:
        cc, th = sys.split(yy)
        s = float(np.sum(sys.wv * cc * (1.0 - th)))
        exhausted = np.log(max(s, 1e-300) / _S_FLOOR)
        return min(sys.voltage(yy, sys.current) - cutoff_v, exhausted)

    event.terminal = True  # type: ignore[attr-defined]
    event.direction = -1  # type: ignore[attr-defined]
    return event


def _check_formation(p: FormationParameters, c_rate: float, n_cells: int) -> None:
    if c_rate <= 0 or not np.isfinite(c_rate):
        raise SulfurscopeError(f"c_rate: expected > 0, got {c_rate!r}")
    if n_cells < 4:
        raise SulfurscopeError(f"n_cells: expected >= 4, got {n_cells!r}")
    if not (0 < p.beta <= 1) or p.sigma < 0 or not (0 < p.porosity <= 1) or p.diffusivity_m2_s <= 0:
        raise SulfurscopeError(f"FormationParameters out of range: {p.to_dict()}")


class _Trace:
    """The time series of a formation run, segment by segment."""

    def __init__(self) -> None:
        self.t: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.i: list[np.ndarray] = []
        self.x: list[np.ndarray] = []
        self.xk: list[np.ndarray] = []

    def add(self, sys: Any, sol: Any, tt: np.ndarray, current_c: float) -> None:
        """Sample a solved segment at ``tt`` (dimensionless time) at the given current."""
        ys = sol.sol(tt)
        self.t.append(tt)
        self.v.append(np.array([sys.voltage(ys[:, j], 1.0 if current_c else 0.0)
                                for j in range(tt.size)]))
        self.i.append(np.full(tt.size, current_c))
        self.x.append(np.array([sys.converted(ys[:, j]) for j in range(tt.size)]))
        self.xk.append(np.array([sys.class_converted(ys[:, j]) for j in range(tt.size)]))

    def exhausted(self, t_hit: float, cutoff_v: float, current_c: float) -> None:
        """Ended by exhaustion of the supply: the voltage falls to the cut-off at once."""
        self.t.append(np.array([t_hit]))
        self.v.append(np.array([cutoff_v]))
        self.i.append(np.array([current_c]))
        self.x.append(np.array([self.x[-1][-1]]))
        self.xk.append(self.xk[-1][-1:].copy())


def simulate_formation(
    distribution: SizeDistribution | float,
    params: FormationParameters | None = None,
    *,
    c_rate: float = 0.1,
    n_cells: int = 30,
    grid_power: float = 1.5,
    gitt_pulse_mah_g: float | None = None,
    gitt_rest_s: float = 7200.0,
    n_output: int = 400,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> FormationResult:
    """Simulate the first (formation) discharge of model B down to the cut-off voltage.

    Parameters
    ----------
    distribution : SizeDistribution or float
        The sample (a float is one diameter in µm). Classes are weighted by sulfur volume.
    params : FormationParameters, optional
        Defaults to the illustrative calibration of MODEL.md §B.
    c_rate : float
        Formation C-rate (of the total sulfur, 1C = q_th per hour).
    n_cells : int
        Finite-volume cells per class (30–60).
    grid_power : float
        p of the surface-clustered grid r̃_j = 1 − (1 − j/N)^p.
    gitt_pulse_mah_g : float, optional
        Run a GITT instead of a continuous discharge: pulses of this capacity (mAh/g_S) at ``c_rate``
        separated by rests of ``gitt_rest_s``; the run ends at the cut-off.
    gitt_rest_s : float, s
        Rest length between GITT pulses.
    n_output : int
        Output points per continuous segment (the voltage curve).
    rtol, atol : float
        BDF tolerances.

    Returns
    -------
    FormationResult

    Raises
    ------
    SulfurscopeError
        On non-physical parameters.

    Examples
    --------
    >>> r = simulate_formation(8.0, c_rate=0.1)
    >>> round(float(r.active_fraction[0]), 2)  # MODEL.md §B: 0.61
    0.6
    """
    p = params or FormationParameters()
    _check_formation(p, c_rate, n_cells)
    d_um, w = _classes(distribution)
    sys = _System(d_um * 0.5e-6, w, p, c_rate, n_cells, grid_power)
    sys.sparse_local = True
    y = np.tile(np.concatenate([np.ones(n_cells), np.zeros(n_cells)]), sys.k)

    event = _cutoff_event(sys, p.cutoff_v)
    out = _Trace()
    t0 = 0.0
    pulse = None if gitt_pulse_mah_g is None else gitt_pulse_mah_g / Q_THEORETICAL_SULFUR_MAH_G
    rest = gitt_rest_s / sys.t_c
    ended = False
    n_seg = n_output if pulse is None else max(20, n_output // 10)
    for _ in range(100000):
        sys.current = 1.0
        sol = solve_ivp(sys.rhs, (t0, t0 + (pulse if pulse is not None else 2.0)), y,
                        method=_RankOneBDF, jac=sys.jac, events=event, rtol=rtol, atol=atol,
                        dense_output=True, system=sys)
        if sol.status < 0:
            raise SulfurscopeError(f"formation solve failed: {sol.message}")
        t_hit = sol.t[-1]
        out.add(sys, sol, np.linspace(t0, t_hit, n_seg), -c_rate)
        y = sol.y[:, -1]
        t0 = t_hit
        if sol.status == 1 or pulse is None:
            ended = sol.status == 1
            if ended and out.v[-1][-1] > p.cutoff_v:
                out.exhausted(t_hit, p.cutoff_v, -c_rate)
            break
        # rest (no current, no reaction; reagent diffuses back)
        sys.current = 0.0
        sol = solve_ivp(sys.rhs, (t0, t0 + rest), y, method=_RankOneBDF, jac=sys.jac, rtol=rtol,
                        atol=atol, dense_output=True, system=sys)
        out.add(sys, sol, t0 + rest * np.concatenate([[0.0], np.geomspace(1e-4, 1.0, n_seg)]), 0.0)
        y = sol.y[:, -1]
        t0 += rest
    t_all, v_all, i_all, x_all, xk_all = out.t, out.v, out.i, out.x, out.xk
    c, th = sys.split(y)
    f_k = np.sum(th * sys.vol[None, :], axis=1)
    big_f = float(np.sum(w * f_k))
    radius_um = np.outer(d_um * 0.5, sys.centres)
    return FormationResult(
        c_rate=float(c_rate),
        diameter_um=d_um.copy(),
        weight=w.copy(),
        lambda_=sys.lam.copy(),
        active_fraction=f_k,
        electrode_active_fraction=big_f,
        capacity_mah_g=big_f * Q_THEORETICAL_SULFUR_MAH_G,
        radius_um=radius_um,
        theta=th.copy(),
        reagent=c.copy(),
        time_s=np.concatenate(t_all) * sys.t_c,
        voltage_v=np.concatenate(v_all),
        current_c=np.concatenate(i_all),
        converted=np.concatenate(x_all),
        class_converted=np.concatenate(xk_all),
        n_rhs=sys.nrhs,
        n_jac=sys.njac,
        ended_by_cutoff=ended,
        parameters={**p.to_dict(), "n_cells": n_cells, "grid_power": grid_power},
    )
