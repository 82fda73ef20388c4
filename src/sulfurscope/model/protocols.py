"""Cycling protocols and the simulated instrument: models B and C driven through a protocol into the
canonical cycler table (issue 4, part E).

A protocol is a tuple of :class:`ProtocolStep`. The first discharge of a fresh cell is a
``"formation"`` step (model B: CEI formation decides each size class's active fraction; with
``pulse_mah_g`` it is a GITT of the first discharge); later ``"charge"``/``"discharge"`` steps run model C
on the sulfur that formation activated; ``"rest"`` steps relax (model C's solid-state diffusion term).

Solid-state diffusion (MODEL.md, GITT interpretation): every class carries the exact constant-flux
sphere modes of its surface-minus-mean lithiation u_k. During the first (formation) discharge they span
the particle radius R_k with the pristine diffusivity D_p, driven by each class's conversion rate from
model B (so big particles polarise more and relax more slowly, saturated by the pulse length); after
formation they span the active layer L_k with D_s. The voltage carries −s Σ a_k u_k / Σ a_k on top of
model B / model C; GITT rests relax it.

Voltage limits (as a cycler applies them): every current step (formation discharge or pulse, CC
half-cycle, GITT pulse) ends at the first time the *full* voltage — model B/C's, including the ohmic drop,
plus the diffusion term — reaches V_min (discharge) / V_max (charge); the capacity, model C's state x_k
and the diffusion modes are those at that time, so the next half-cycle can only return what this one
delivered. No sample under current lies beyond a limit and nothing is clipped. The formation's crossing
is found on its sampled curve (``_FORMATION_POINTS`` per segment, linear within the interval), model
C's by a root solve. After a GITT pulse has reached the limit, the further pulses of that half-cycle
(same mode) do not run (``"empty"``) and their rests are ``"skipped"``, as a cycler's GITT loop moves on
to the next sequence. :func:`protocol_capacities` decides the same end points as
:func:`simulate_protocol` (it carries the diffusion modes without sampling them).

Everything is pure: :func:`simulate_protocol` returns a DataFrame with ``Time [s]``, ``Voltage [V]``,
``Current [mA]`` (positive = charge), ``Charge [mAh]`` (cumulative), ``Step`` (int) and ``Rest`` (bool);
voltage noise only when an ``rng`` is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import (
    CHARGE,
    CURRENT,
    Q_THEORETICAL_SULFUR_MAH_G,
    REST,
    STEP,
    TIME,
    VOLTAGE,
)

from .active_volume import SizeDistribution, class_weights
from .cycling import (
    _ROOTS,
    CyclingParameters,
    _voltage,
    fade_vulnerable_share,
    simulate_half_cycle,
)
from .formation import FormationParameters, FormationResult, simulate_formation

_ROOTS_SQ = _ROOTS**2
#: Σ_{n≥N} x_n⁻² for N = 0 … len(_ROOTS), over *all* roots of tan x = x (Σ_{n≥0} x_n⁻² = 1/10): the
#: settled tail of the mode sum in closed form, including the modes past the 400 carried (without
#: them the steady surface-minus-mean, R²r/(15D), came out 0.25 % low; found against a
#: finite-volume sphere, tests/model/test_protocols.py).
_INV_ROOTS_SQ_TAIL = 0.1 - np.concatenate([[0.0], np.cumsum(1.0 / _ROOTS_SQ)])
#: λt beyond which a mode has forgotten its start (e^−50 ≈ 2e−22).
_MEMORY_CUTOFF = 50.0
#: Mode counts the times of one step are grouped into (:meth:`_State._head_sizes`).
_HEAD_SIZES = np.unique(np.minimum([8, 16, 32, 64, 128, 256, _ROOTS.size], _ROOTS.size))

__all__ = [
    "CellModel",
    "ProtocolStep",
    "StepOutcome",
    "gitt_protocol",
    "long_cycling_protocol",
    "protocol_capacities",
    "rate_test_protocol",
    "simulate_protocol",
]

Mode = Literal["formation", "discharge", "charge", "rest"]

STUDY_C_RATES = (1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5)


@dataclass(frozen=True, slots=True)
class ProtocolStep:
    """One step of a protocol.

    Attributes
    ----------
    mode : {"formation", "discharge", "charge", "rest"}
    c_rate : float
        Current in C-units of the total sulfur (ignored for rests).
    max_capacity_mah_g : float or None
        Capacity limit (mAh/g_S), e.g. a GITT pulse; None = run to the voltage limit.
    duration_s : float or None
        Time limit (required for rests).
    pulse_mah_g : float or None
        Formation only: run the first discharge as a GITT with pulses of this size.
    pulse_rest_s : float
        Formation GITT rest length.
    """

    mode: Mode
    c_rate: float = 0.0
    max_capacity_mah_g: float | None = None
    duration_s: float | None = None
    pulse_mah_g: float | None = None
    pulse_rest_s: float = 7200.0

    def to_frame(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "mode": self.mode,
            "c_rate": self.c_rate,
            "max_capacity_mah_g": self.max_capacity_mah_g,
            "duration_s": self.duration_s,
            "pulse_mah_g": self.pulse_mah_g,
            "pulse_rest_s": self.pulse_rest_s,
        }


def rate_test_protocol(
    c_rates: Sequence[float] = STUDY_C_RATES,
    *,
    cycles_per_rate: int = 5,
    formation_c_rate: float = 0.1,
    charge_c_rates: Sequence[float] | None = None,
    rest_s: float = 0.0,
) -> tuple[ProtocolStep, ...]:
    """The study's rate test: a formation discharge, then ``cycles_per_rate`` × (charge, discharge) per rate.

    ``charge_c_rates`` (same length as ``c_rates``) makes it asymmetric (e.g. slow charge, fast discharge).

    Examples
    --------
    >>> steps = rate_test_protocol()
    >>> len(steps), steps[0].mode, steps[1].c_rate
    (51, 'formation', 0.025)
    """
    if cycles_per_rate < 1 or not c_rates:
        raise SulfurscopeError("rate test needs >= 1 rate and cycles_per_rate >= 1")
    ch = list(c_rates) if charge_c_rates is None else list(charge_c_rates)
    if len(ch) != len(c_rates):
        raise SulfurscopeError(f"charge_c_rates: expected {len(c_rates)} rates, got {len(ch)}")
    steps: list[ProtocolStep] = [ProtocolStep("formation", formation_c_rate)]
    for c_dis, c_ch in zip(c_rates, ch, strict=True):
        for _ in range(cycles_per_rate):
            steps.append(ProtocolStep("charge", float(c_ch)))
            if rest_s > 0:
                steps.append(ProtocolStep("rest", duration_s=rest_s))
            steps.append(ProtocolStep("discharge", float(c_dis)))
            if rest_s > 0:
                steps.append(ProtocolStep("rest", duration_s=rest_s))
    return tuple(steps)


def long_cycling_protocol(
    c_rate: float = 0.2,
    n_cycles: int = 100,
    *,
    charge_c_rate: float | None = None,
    formation_c_rate: float = 0.1,
) -> tuple[ProtocolStep, ...]:
    """Formation discharge, then ``n_cycles`` − 1 × (charge, discharge) at ``c_rate`` (charge at
    ``charge_c_rate`` if given), ending with a charge.

    Examples
    --------
    >>> len(long_cycling_protocol(0.2, 3))
    6
    """
    if n_cycles < 1:
        raise SulfurscopeError(f"n_cycles: expected >= 1, got {n_cycles!r}")
    cc = c_rate if charge_c_rate is None else charge_c_rate
    steps = [ProtocolStep("formation", formation_c_rate), ProtocolStep("charge", cc)]
    for _ in range(n_cycles - 1):
        steps += [ProtocolStep("discharge", c_rate), ProtocolStep("charge", cc)]
    return tuple(steps)


def gitt_protocol(
    *,
    c_rate: float = 0.1,
    pulse_mah_g: float = 100.0,
    rest_s: float = 7200.0,
    n_cycles: int = 2,
    max_pulses: int = 40,
) -> tuple[ProtocolStep, ...]:
    """The study's GITT: pulses of ``pulse_mah_g`` at ``c_rate`` with ``rest_s`` rests, on the first
    (formation) discharge and on ``n_cycles`` − 1 later charge/discharge pairs, starting with a charge.

    Later half-cycles are written as ``max_pulses`` pulse/rest pairs; pulses after the voltage limit,
    and the rests after them, are skipped by the simulator (``"Ended by" == "empty"`` / ``"skipped"``).

    Examples
    --------
    >>> steps = gitt_protocol(n_cycles=1)
    >>> steps[0].mode, steps[0].pulse_mah_g
    ('formation', 100.0)
    """
    steps: list[ProtocolStep] = [
        ProtocolStep("formation", c_rate, pulse_mah_g=pulse_mah_g, pulse_rest_s=rest_s)
    ]
    for _ in range(n_cycles - 1):
        for mode in ("charge", "discharge"):
            for _ in range(max_pulses):
                steps.append(ProtocolStep(mode, c_rate, max_capacity_mah_g=pulse_mah_g))  # type: ignore[arg-type]
                steps.append(ProtocolStep("rest", duration_s=rest_s))
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class CellModel:
    """One sample for the simulator: its size distribution and the parameters of models B and C.

    Attributes
    ----------
    distribution : SizeDistribution
    formation : FormationParameters
    cycling : CyclingParameters
    n_cells : int
        Model B grid cells per class.
    """

    distribution: SizeDistribution
    formation: FormationParameters = field(default_factory=FormationParameters)
    cycling: CyclingParameters = field(default_factory=CyclingParameters)
    n_cells: int = 30

    def to_frame(self) -> pd.DataFrame:
        """The classes of the distribution."""
        return self.distribution.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict."""
        return {
            "distribution": self.distribution.to_dict(),
            "formation": self.formation.to_dict(),
            "cycling": self.cycling.to_dict(),
            "n_cells": self.n_cells,
        }


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """Per-step result of a protocol run (capacities without the time series).

    Attributes
    ----------
    table : DataFrame
        ``Step``, ``Mode``, ``C-rate``, ``Capacity [mAh/g]``, ``Duration [s]``, ``Ended by``,
        ``Active fraction`` (Σ a_k after the step).
    formation : FormationResult or None
    """

    table: pd.DataFrame
    formation: FormationResult | None

    def to_frame(self) -> pd.DataFrame:
        """The step table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """Steps as records."""
        return {"steps": self.table.to_dict(orient="records")}


class _State:
    def __init__(self, cell: CellModel) -> None:
        self.cell = cell
        self.d = cell.distribution.diameter_um
        self.w = class_weights(cell.distribution, weighting="volume")
        self.f = np.ones_like(self.w)
        self.base = self.w.copy()
        self.phi = np.zeros_like(self.w)
        self.vuln = np.ones_like(self.w)
        self.x = np.zeros_like(self.w)
        self.formed = False
        self.modes = np.zeros((self.w.size, _ROOTS.size))
        # first (formation) discharge: the pristine composite, diffusion across each particle's radius
        length = 0.5e-6 * self.d
        self.lam = (
            _ROOTS[None, :] ** 2 * cell.cycling.pristine_diffusivity_m2_s / length[:, None] ** 2
        )
        self.amplitude_v = cell.cycling.pristine_diffusion_v
        self._rates()

    def form(self, f: np.ndarray) -> None:
        p = self.cell.cycling
        self.f = np.clip(f, 1e-9, 1.0)
        self.base = self.w * self.f
        self.phi = fade_vulnerable_share(self.d, self.f, layer_um=p.fade_layer_um)
        self.x = np.ones_like(self.w)
        self.formed = True
        # diffusion length of later cycles: the active layer thickness
        length = 0.5e-6 * self.d * (1.0 - np.cbrt(np.clip(1.0 - self.f, 0.0, 1.0)))
        length = np.maximum(length, 1e-9)
        self.lam = _ROOTS[None, :] ** 2 * p.solid_diffusivity_m2_s / length[:, None] ** 2
        self.amplitude_v = p.diffusion_v
        self._rates()
        # the formation profile is not carried into the new (layer) geometry
        self.modes = np.zeros_like(self.modes)

    def _rates(self) -> None:
        """c_k = λ_k0 / x_0² (1/s) of the current geometry and its minimum."""
        self.c = self.lam[:, 0] / _ROOTS_SQ[0]
        self.c_min = float(self.c.min())

    @property
    def share(self) -> np.ndarray:
        return self.base * (1.0 - self.phi * (1.0 - self.vuln))

    def age(self, duration_h: float) -> None:
        p = self.cell.cycling
        self.vuln = self.vuln * np.exp(-(0.5 * p.fade_per_cycle + p.fade_per_hour * duration_h))

    def _eta(self, u: np.ndarray) -> np.ndarray:
        """s · Σ a_k u_k / Σ a_k with |u_k| ≤ 1 (surface and mean differ by at most the full range)."""
        u = u.clip(-1.0, 1.0)
        a = self.share
        return self.amplitude_v * (u @ a) / max(float(a.sum()), 1e-300)

    def _head(self, t_s: np.ndarray) -> int:
        """Number of leading modes that still carry memory at every time in ``t_s``.

        Mode n of class k decays as exp(−λ_kn t) with λ_kn = x_n² c_k; for λ_kn t ≥ 50 (e^−50 ≈ 2e−22)
        it sits at its steady value (2/3)·r/λ_kn to double precision, so only the modes below the first
        x_n² ≥ 50/(c_min t_min) need the exponential (about 20 of 400 a few seconds into a step).
        """
        positive = t_s[t_s > 0.0]
        t_min = float(positive.min()) if positive.size else 0.0
        c_min = self.c_min
        if t_min <= 0.0 or c_min <= 0.0:
            return _ROOTS.size
        return int(np.searchsorted(_ROOTS_SQ, _MEMORY_CUTOFF / (c_min * t_min), side="right"))

    def _modes_at(self, t_s: np.ndarray, rate_per_s: float | np.ndarray) -> np.ndarray:
        """Modes (T, K, n) at times t_s into a step of constant dx/dt (exact update), not advanced."""
        t_s = np.asarray(t_s, dtype=float)
        rate = np.broadcast_to(np.asarray(rate_per_s, dtype=float), self.w.shape)
        n = self._head(t_s)
        lam = self.lam[None, :, :n]
        e = np.exp(-lam * t_s[:, None, None])
        head = self.modes[None, :, :n] * e + (2.0 / 3.0) * rate[None, :, None] / lam * (1.0 - e)
        tail = np.broadcast_to(
            (2.0 / 3.0) * rate[:, None] / self.lam[:, n:], (t_s.size, *self.lam[:, n:].shape)
        )
        out = np.concatenate([head, tail], axis=2)
        out[t_s <= 0.0] = self.modes  # no time into the step: the modes as they are
        return out

    def _head_sizes(self, t_s: np.ndarray) -> np.ndarray:
        """Per time: :meth:`_head` of that time alone, rounded up to one of :data:`_HEAD_SIZES`
        (so that the times of a step share a few exponentials; more modes than needed are exact)."""
        if self.c_min <= 0.0:
            return np.full(t_s.size, _ROOTS.size)
        # t ≤ 0 (the modes as they are, handled by the caller) maps past the last root
        x = _MEMORY_CUTOFF / (self.c_min * np.maximum(t_s, 1e-30))
        return _HEAD_SIZES[np.searchsorted(_HEAD_SIZES, np.searchsorted(_ROOTS_SQ, x, "right"))]

    def diffusion_at(self, t_s: np.ndarray, rate_per_s: float | np.ndarray) -> np.ndarray:
        """η_diff at times t_s into a step of constant dx/dt, without advancing the modes.

        Sums the decayed modes exactly and the settled tail in closed form,
        Σ_{n≥N} (2/3) r/(x_n² c_k) = (2/3)(r/c_k) Σ_{n≥N} x_n⁻² (see :meth:`_head`), with N chosen
        per time (late times need few modes).
        """
        t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
        if self.amplitude_v == 0:
            return np.zeros(t_s.size)
        rate = np.broadcast_to(np.asarray(rate_per_s, dtype=float), self.w.shape)
        settled = (2.0 / 3.0) * rate / self.c
        need = self._head_sizes(t_s)
        single = t_s.size == 1 or need.min() == need.max()
        u = np.empty((t_s.size, self.w.size))
        for n in need[:1] if single else np.unique(need):
            sel = slice(None) if single else need == n
            lam = self.lam[None, :, :n]
            e = np.exp(-lam * t_s[sel, None, None])
            head = self.modes[None, :, :n] * e + (2.0 / 3.0) * rate[None, :, None] / lam * (1.0 - e)
            u[sel] = head.sum(axis=2) + (settled * _INV_ROOTS_SQ_TAIL[n])[None, :]
        start = t_s <= 0.0
        if start.any():  # no time into the step: the modes as they are
            u[start] = self.modes.sum(axis=1)
        return self._eta(u)

    def advance(self, t_s: float, rate_per_s: float | np.ndarray) -> None:
        """Advance the modes by t_s at constant dx/dt (the same exact update as :meth:`diffusion_v`)."""
        self.modes = self._modes_at(np.array([float(t_s)]), rate_per_s)[0]

    def diffusion_v(self, t_s: np.ndarray, rate_per_s: float | np.ndarray) -> np.ndarray:
        """η_diff at times t_s into a step of constant dx/dt (exact mode update); advances the modes
        to the last time.

        ``rate_per_s`` is one dx/dt for every class or one per class, (K,).
        """
        t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
        out = self.diffusion_at(t_s, rate_per_s)
        self.advance(float(t_s[-1]), rate_per_s)
        return out

    def formation_diffusion_v(self, t_s: np.ndarray, converted: np.ndarray) -> np.ndarray:
        """η_diff along a formation curve: per-class conversion ⟨θ_k⟩(t) (M, K), piecewise-constant
        rate between samples, exact mode update over each interval (MODEL.md, GITT interpretation)."""
        if self.amplitude_v == 0 or not np.all(self.lam > 0):
            return np.zeros(t_s.size)
        u = np.zeros(converted.shape)
        lam = self.lam
        m = self.modes
        dt = np.diff(t_s)
        beyond = np.zeros(lam.shape[0])
        for j in range(dt.size):
            if dt[j] > 0:
                e = np.exp(-lam * dt[j])
                rate = (converted[j + 1] - converted[j]) / dt[j]
                m = m * e + (2.0 / 3.0) * rate[:, None] / lam * (1.0 - e)
                beyond = (2.0 / 3.0) * rate / self.c * _INV_ROOTS_SQ_TAIL[-1]  # modes past 400
            u[j + 1] = m.sum(axis=1) + beyond
        self.modes = m
        return self._eta(u)


#: The last few formation terms: a model C fit re-runs one given formation with new model C
#: parameters many times, and the term depends only on the formation and the pristine geometry.
_FORMATION_ETA: dict[tuple, tuple[FormationResult, np.ndarray]] = {}


def _formation_eta(st: _State, fr: FormationResult) -> np.ndarray:
    """:meth:`_State.formation_diffusion_v` of a fresh state along ``fr``, remembered for the same
    ``fr`` object and the same pristine geometry (D_p, amplitude, class sizes and weights). The
    state's modes are not used afterwards: formation restarts them in the layer geometry."""
    if st.modes.any():  # not fresh (a step before the formation moved the modes)
        return st.formation_diffusion_v(fr.time_s, fr.class_converted)
    key = (id(fr), st.amplitude_v, st.lam.tobytes(), st.share.tobytes())
    hit = _FORMATION_ETA.get(key)
    if hit is not None and hit[0] is fr:
        return hit[1]
    eta = st.formation_diffusion_v(fr.time_s, fr.class_converted)
    if len(_FORMATION_ETA) >= 4:
        _FORMATION_ETA.pop(next(iter(_FORMATION_ETA)))
    _FORMATION_ETA[key] = (fr, eta)
    return eta


#: Output points per continuous formation segment (pulses get a tenth): fixed, so that the formation's
#: end point (the first time the full voltage reaches V_min) is the same for every sampling interval
#: and for :func:`protocol_capacities`.
_FORMATION_POINTS = 600


def _truncate_formation(
    fr: FormationResult, v_full: np.ndarray, v_min: float
) -> tuple[FormationResult, np.ndarray]:
    """End the formation at the first sample time under current at which the full voltage (model B's
    minus the solid-state diffusion term) reaches ``v_min``, interpolated linearly within the sampled
    interval (under constant current Σ w⟨θ⟩ is linear in time, so the charge stays exact).

    Returns the truncated result (curves cut, active fractions at the crossing) and the full voltage.
    The θ(r)/reagent profiles stay model B's at its own end (at most one output interval later when the
    crossing falls in the last pulse or the final plunge, as it does for the default parameters).
    """
    under = fr.current_c < 0
    hit = np.flatnonzero(under & (v_full <= v_min))
    if hit.size == 0:
        return fr, v_full
    j = int(hit[0])
    if j == 0 or not under[j - 1]:
        # a pulse that starts beyond the limit does not run: the formation ends with the rest before
        keep = max(j, 1)
        t = fr.time_s[:keep]
        v_b = fr.voltage_v[:keep]
        cur = fr.current_c[:keep]
        conv = fr.converted[:keep]
        conv_k = fr.class_converted[:keep]
        v_out = v_full[:keep].copy()
        if j == 0:
            v_out[-1] = v_min
    else:
        v_a, v_b_ = v_full[j - 1], v_full[j]
        t_a, t_b = fr.time_s[j - 1], fr.time_s[j]
        frac = 1.0 if (t_b <= t_a or v_a == v_b_) else float((v_a - v_min) / (v_a - v_b_))

        def at(arr: np.ndarray) -> np.ndarray:
            return arr[j - 1] + frac * (arr[j] - arr[j - 1])

        t = np.append(fr.time_s[:j], t_a + frac * (t_b - t_a))
        v_b = np.append(fr.voltage_v[:j], at(fr.voltage_v))
        cur = np.append(fr.current_c[:j], fr.current_c[j])
        conv = np.append(fr.converted[:j], at(fr.converted))
        conv_k = np.vstack([fr.class_converted[:j], at(fr.class_converted)[None, :]])
        v_out = np.append(v_full[:j], v_min)
    f_k = conv_k[-1].copy()
    big_f = float(np.sum(fr.weight * f_k))
    out = replace(
        fr,
        time_s=t,
        voltage_v=v_b,
        current_c=cur,
        converted=conv,
        class_converted=conv_k,
        active_fraction=f_k,
        electrode_active_fraction=big_f,
        capacity_mah_g=big_f * Q_THEORETICAL_SULFUR_MAH_G,
        ended_by_cutoff=True,
    )
    return out, v_out


def _row(
    n: int, mode: str, c_rate: float, cap: float, dur: float, ended: str, st: _State
) -> dict[str, Any]:
    return {
        "Step": n,
        "Mode": mode,
        "C-rate": c_rate,
        "Capacity [mAh/g]": cap,
        "Duration [s]": dur,
        "Ended by": ended,
        "Active fraction": float(st.share.sum()),
    }


Series = list[tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]]


class _Runner:
    """Drives a protocol step by step; the end point of every step is decided here, identically
    whether or not the time series is wanted (``want_series`` only adds the samples)."""

    def __init__(self, cell: CellModel, sample_interval_s: float, want_series: bool,
                 formation_result: FormationResult | None) -> None:
        self.cell, self.st, self.p = cell, _State(cell), cell.cycling
        self.dt, self.want_series, self.given = sample_interval_s, want_series, formation_result
        self.rows: list[dict[str, Any]] = []
        self.series: Series = []
        self.formation: FormationResult | None = None
        self.skip_rest = False  # a rest after a step that could not run (GITT pulses past limit)
        self.at_limit: str | None = None  # mode whose voltage limit the last step reached

    def step(self, n: int, step: ProtocolStep) -> None:
        if step.mode == "formation":
            self.form(n, step)
            return
        if not self.st.formed:
            self.st.form(np.ones_like(self.st.w))  # no formation: all sulfur active
        if step.mode == "rest":
            self.rest(n, step)
        else:
            self.current(n, step)

    def form(self, n: int, step: ProtocolStep) -> None:
        st, cell = self.st, self.cell
        if st.formed:
            raise SulfurscopeError(f"protocol step {n}: a cell forms only once (first discharge)")
        fr = self.given if self.given is not None else simulate_formation(
            cell.distribution, cell.formation, c_rate=step.c_rate, n_cells=cell.n_cells,
            gitt_pulse_mah_g=step.pulse_mah_g, gitt_rest_s=step.pulse_rest_s,
            n_output=_FORMATION_POINTS,
        )
        # solid-state diffusion across each particle's radius (pristine composite), driven by each
        # class's conversion; the rests relax it. The cycler ends the discharge at V_min.
        v_full = fr.voltage_v - _formation_eta(st, fr)
        fr, v_form = _truncate_formation(fr, v_full, self.p.v_min)
        self.formation = fr
        st.form(fr.active_fraction)
        self.skip_rest, self.at_limit = False, "discharge"
        if self.want_series:
            self._formation_series(n, step, fr, v_form)
        self.rows.append(_row(n, "formation", step.c_rate, fr.capacity_mah_g,
                              float(fr.time_s[-1]), "voltage", st))

    def _formation_series(self, n: int, step: ProtocolStep, fr: FormationResult,
                          v_form: np.ndarray) -> None:
        t = fr.time_s
        if step.pulse_mah_g is None:
            tt = np.append(np.arange(0.0, t[-1], self.dt), t[-1])
            self.series.append((tt, np.interp(tt, t, v_form), np.full(tt.size, -step.c_rate), n,
                                False))
            return
        rest = fr.current_c == 0  # pulses and rests as separate instrument steps
        edges = np.flatnonzero(np.diff(rest.astype(int))) + 1
        for seg in np.split(np.arange(t.size), edges):
            self.series.append((t[seg] - t[seg[0]], v_form[seg], fr.current_c[seg], n,
                                bool(rest[seg[0]])))

    def rest(self, n: int, step: ProtocolStep) -> None:
        st = self.st
        if step.duration_s is None or step.duration_s < 0:
            raise SulfurscopeError(f"protocol step {n}: a rest needs duration_s >= 0")
        if self.skip_rest:
            self.rows.append(_row(n, "rest", 0.0, 0.0, 0.0, "skipped", st))
            return
        if self.want_series:
            tt = np.append(np.arange(0.0, step.duration_s, self.dt), step.duration_s)
            # log-spaced early points so the relaxation is resolved
            tt = np.unique(np.concatenate([tt, np.geomspace(1.0, max(step.duration_s, 1.0), 60)]))
            tt = tt[tt <= step.duration_s]
            eta = st.diffusion_v(tt, 0.0)
            u = _voltage(st.x, st.share, 0.0, -1, self.p)
            self.series.append((tt, np.full(tt.size, float(u)) - eta, np.zeros(tt.size), n, True))
        else:
            st.advance(float(step.duration_s), 0.0)
        self.rows.append(_row(n, "rest", 0.0, 0.0, float(step.duration_s or 0.0), "time", st))

    def current(self, n: int, step: ProtocolStep) -> None:
        st = self.st
        if step.c_rate <= 0:
            raise SulfurscopeError(f"protocol step {n}: c_rate must be > 0 for {step.mode}")
        if step.max_capacity_mah_g is not None and self.at_limit == step.mode:
            # a GITT pulse after the half-cycle reached its voltage limit: the cycler moved on
            self.skip_rest = True
            self.rows.append(_row(n, step.mode, step.c_rate, 0.0, 0.0, "empty", st))
            return
        sign = -1 if step.mode == "discharge" else 1
        rate = -sign * step.c_rate / max(st.share.sum(), 1e-300) / 3600.0  # dx/dt, 1/s
        modes0 = st.modes.copy()

        def extra(t_s: np.ndarray, rate: float = rate) -> np.ndarray:
            # eta > 0 on discharge (surface more lithiated) lowers the voltage
            return -st.diffusion_at(t_s, rate)

        hc = simulate_half_cycle(
            st.x, st.share, self.p, c_rate=step.c_rate, direction=step.mode,
            max_capacity_mah_g=step.max_capacity_mah_g, max_duration_s=step.duration_s,
            sample_interval_s=self.dt, extra_voltage_v=extra,
        )
        self.skip_rest = hc.ended_by == "empty"
        if hc.ended_by != "empty":
            st.x = hc.x[-1].copy()
            st.modes = modes0
            st.advance(float(hc.time_s[-1]), rate)
            self.at_limit = step.mode if hc.ended_by == "voltage" else None
            if self.want_series:
                self.series.append((hc.time_s, hc.voltage_v,
                                    np.full(hc.time_s.size, sign * step.c_rate), n, False))
            st.age(float(hc.time_s[-1]) / 3600.0)
        self.rows.append(_row(n, step.mode, step.c_rate, hc.capacity_mah_g,
                              float(hc.time_s[-1]), hc.ended_by, st))


def _run(
    protocol: Sequence[ProtocolStep],
    cell: CellModel,
    *,
    sample_interval_s: float,
    want_series: bool,
    formation_result: FormationResult | None = None,
) -> tuple[list[dict[str, Any]], Series, Any]:
    """Drive the protocol (see :class:`_Runner`): step rows, time series, formation result."""
    runner = _Runner(cell, sample_interval_s, want_series, formation_result)
    for n, step in enumerate(protocol):
        runner.step(n, step)
    return runner.rows, runner.series, runner.formation


def protocol_capacities(
    protocol: Sequence[ProtocolStep],
    cell: CellModel,
    *,
    formation_result: FormationResult | None = None,
) -> StepOutcome:
    """Run a protocol and return each step's capacity (no time series; fast, for fitting).

    ``formation_result`` reuses a model B result of the same cell and formation step instead of
    re-simulating it (fits that vary only model C parameters).

    Examples
    --------
    >>> from sulfurscope.model.active_volume import single_size
    >>> out = protocol_capacities(rate_test_protocol(cycles_per_rate=1), CellModel(single_size(1.0)))
    >>> list(out.table["Mode"][:3])
    ['formation', 'charge', 'discharge']
    """
    rows, _, formation = _run(
        protocol,
        cell,
        sample_interval_s=3600.0,
        want_series=False,
        formation_result=formation_result,
    )
    return StepOutcome(pd.DataFrame(rows), formation)


def simulate_protocol(
    protocol: Sequence[ProtocolStep],
    cell: CellModel,
    *,
    sulfur_mass_mg: float,
    sample_interval_s: float = 60.0,
    rng: np.random.Generator | None = None,
    noise_v: float = 0.002,
) -> pd.DataFrame:
    """Simulate a cycler run of one sample as the canonical cycler table.

    Parameters
    ----------
    protocol : sequence of ProtocolStep
        From :func:`rate_test_protocol`, :func:`long_cycling_protocol`, :func:`gitt_protocol` or hand-made.
    cell : CellModel
        Size distribution and model parameters.
    sulfur_mass_mg : float, mg
        Sulfur mass (sets the current: 1C = m_S · Q_S per hour, Q_S = :data:`~sulfurscope.units.Q_THEORETICAL_SULFUR_MAH_G`).
    sample_interval_s : float, s
        Sampling interval under current (rests add log-spaced early points).
    rng : numpy Generator, optional
        Adds Gaussian voltage noise of ``noise_v`` when given; without it the output is deterministic.
    noise_v : float, V

    Returns
    -------
    DataFrame
        ``Time [s]``, ``Voltage [V]``, ``Current [mA]`` (+ charge), ``Charge [mAh]`` (cumulative),
        ``Step`` (protocol step index), ``Rest`` (bool).

    Raises
    ------
    SulfurscopeError
        On a non-positive sulfur mass or sample interval, or an invalid protocol.

    Examples
    --------
    >>> from sulfurscope.model.active_volume import single_size
    >>> df = simulate_protocol(long_cycling_protocol(0.2, 2), CellModel(single_size(1.0)),
    ...                        sulfur_mass_mg=2.0, sample_interval_s=600)
    >>> list(df.columns)
    ['Time [s]', 'Voltage [V]', 'Current [mA]', 'Charge [mAh]', 'Step', 'Rest']
    """
    if not (sulfur_mass_mg > 0 and np.isfinite(sulfur_mass_mg)):
        raise SulfurscopeError(f"sulfur_mass_mg: expected > 0 mg, got {sulfur_mass_mg!r}")
    if not (sample_interval_s > 0):
        raise SulfurscopeError(f"sample_interval_s: expected > 0 s, got {sample_interval_s!r}")
    _, series, _ = _run(protocol, cell, sample_interval_s=sample_interval_s, want_series=True)
    one_c_ma = sulfur_mass_mg / 1000.0 * Q_THEORETICAL_SULFUR_MAH_G
    t_parts, v_parts, i_parts, s_parts, r_parts = [], [], [], [], []
    t0 = 0.0
    for tt, v, ic, n, rest in series:
        t_parts.append(tt + t0)
        v_parts.append(v)
        i_parts.append(ic * one_c_ma)
        s_parts.append(np.full(tt.size, n, dtype=int))
        r_parts.append(np.full(tt.size, rest, dtype=bool))
        t0 += float(tt[-1]) if tt.size else 0.0
    t = np.concatenate(t_parts)
    v = np.concatenate(v_parts)
    cur = np.concatenate(i_parts)
    # charge: exact integral of the piecewise-constant current of each segment
    q = np.zeros_like(t)
    offset = 0
    total = 0.0
    for tt, ic in zip(t_parts, i_parts, strict=True):
        local = total + ic * (tt - tt[0]) / 3600.0
        q[offset : offset + tt.size] = local
        total = float(local[-1]) if tt.size else total
        offset += tt.size
    if rng is not None:
        v = v + rng.normal(0.0, noise_v, size=v.size)
    return pd.DataFrame(
        {
            TIME: t,
            VOLTAGE: v,
            CURRENT: cur,
            CHARGE: q,
            STEP: np.concatenate(s_parts),
            REST: np.concatenate(r_parts),
        }
    )


def _with_cycling(cell: CellModel, **changes: float) -> CellModel:
    """Copy of ``cell`` with cycling parameters replaced (used by the fits)."""
    return replace(cell, cycling=replace(cell.cycling, **changes))
