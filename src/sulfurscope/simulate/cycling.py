"""Simulated galvanostatic runs in the canonical cycler-table shape.

A run is built from a *schedule* (a list of :class:`HalfCycleSpec`: direction, C-rate, cut-off
capacity, rest after it) and a voltage-shape law. The capacity each half-cycle reaches comes from the
caller (the demo uses the particle-size model of :mod:`sulfurscope.model`), so this module only turns
capacities into realistic time series: one plateau near 2.1 V (solid-state S ↔ Li₂S), an ohmic step
at every current change, a steep end of discharge towards 0.5 V and of charge towards 3.0 V,
relaxation during rests, and Gaussian voltage noise.

Everything here is simulated data and is labelled so by the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from sulfurscope.units import CHARGE, CURRENT, Q_THEORETICAL_SULFUR_MAH_G, REST, STEP, TIME, VOLTAGE

__all__ = [
    "HalfCycleSpec",
    "VoltageShape",
    "long_cycling_schedule",
    "rate_test_schedule",
    "simulate_run",
]


@dataclass(frozen=True, slots=True)
class HalfCycleSpec:
    """One half-cycle of a schedule.

    Attributes
    ----------
    direction : int
        −1 discharge (lithiation), +1 charge.
    c_rate : float
        Current as a C-rate (1C = m_S · q_th per hour).
    capacity_mah_g : float
        Specific capacity at which the half-cycle reaches its voltage limit, mAh/g_S.
    rest_s : float
        Open-circuit rest after the half-cycle, s.
    """

    direction: int
    c_rate: float
    capacity_mah_g: float
    rest_s: float = 0.0


@dataclass(frozen=True, slots=True)
class VoltageShape:
    """Parameters of the simulated voltage curve (V).

    V_dis(x) = U₀ − η − w·ln(x/(1−x)) − tail, V_ch = U₀ + η_ch + w·ln(x/(1−x)) + tail, with x the fraction
    of the half-cycle's capacity and η = η₀ + r·C the rate-dependent overpotential.
    """

    u0_v: float = 2.1
    eta0_v: float = 0.08
    eta_per_c_v: float = 0.35
    charge_extra_v: float = 0.1
    width_v: float = 0.04
    v_min_v: float = 0.5
    v_max_v: float = 3.0
    noise_v: float = 0.0015
    relax_tau_s: float = 600.0


def rate_test_schedule(
    capacity_mah_g: CapacityLaw,
    *,
    rates: Sequence[float] = (1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5),
    cycles_per_rate: int = 5,
    formation_rate: float = 0.1,
    rest_s: float = 600.0,
) -> list[HalfCycleSpec]:
    """The study's rate test: a formation discharge, then ``cycles_per_rate`` cycles at each rate.

    ``capacity_mah_g(cycle, c_rate, direction)`` gives each half-cycle's capacity. The formation cycle
    is cycle 1 (discharge at ``formation_rate`` and the charge after it at the first rate).
    """
    sched = [HalfCycleSpec(-1, formation_rate, capacity_mah_g(1, formation_rate, -1), rest_s)]
    sched.append(HalfCycleSpec(1, rates[0], capacity_mah_g(1, rates[0], 1), rest_s))
    n = 2
    for r in rates:
        for _ in range(cycles_per_rate):
            sched.append(HalfCycleSpec(-1, r, capacity_mah_g(n, r, -1), rest_s))
            sched.append(HalfCycleSpec(1, r, capacity_mah_g(n, r, 1), rest_s))
            n += 1
    return sched


def long_cycling_schedule(
    capacity_mah_g: CapacityLaw,
    *,
    cycles: int = 50,
    c_rate: float = 0.4,
    formation_rate: float = 0.1,
    rest_s: float = 300.0,
) -> list[HalfCycleSpec]:
    """Formation discharge at ``formation_rate`` then ``cycles`` − 1 cycles at ``c_rate``."""
    sched = [HalfCycleSpec(-1, formation_rate, capacity_mah_g(1, formation_rate, -1), rest_s)]
    sched.append(HalfCycleSpec(1, c_rate, capacity_mah_g(1, c_rate, 1), rest_s))
    for n in range(2, cycles + 1):
        sched.append(HalfCycleSpec(-1, c_rate, capacity_mah_g(n, c_rate, -1), rest_s))
        sched.append(HalfCycleSpec(1, c_rate, capacity_mah_g(n, c_rate, 1), rest_s))
    return sched


class CapacityLaw(Protocol):
    """Callable (cycle, c_rate, direction) -> capacity in mAh/g_S."""

    def __call__(self, cycle: int, c_rate: float, direction: int, /) -> float: ...


def simulate_run(
    schedule: Sequence[HalfCycleSpec],
    *,
    sulfur_mass_mg: float,
    shape: VoltageShape | None = None,
    points_per_half_cycle: int = 240,
    points_per_rest: int = 30,
    initial_rest_s: float = 3600.0,
    theoretical_capacity_mah_g: float = Q_THEORETICAL_SULFUR_MAH_G,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Turn a schedule into a canonical cycler table.

    Parameters
    ----------
    schedule : sequence of HalfCycleSpec
        The half-cycles in order.
    sulfur_mass_mg : float
        Sulfur mass, mg (sets the currents: I = C · m_S · q_th).
    shape : VoltageShape, optional
        Voltage-curve parameters.
    points_per_half_cycle, points_per_rest : int
        Sampling density (uniform in capacity; log-spaced in rest time).
    initial_rest_s : float
        OCV rest before the first half-cycle.
    theoretical_capacity_mah_g : float
        1C definition.
    rng : numpy.random.Generator, optional
        Noise source; no noise when None.

    Returns
    -------
    DataFrame
        ``Time [s]``, ``Voltage [V]``, ``Current [mA]``, ``Charge [mAh]``, ``Step``, ``Rest``; exact
        charge bookkeeping: each half-cycle passes exactly its capacity × m_S.
    """
    sh = shape or VoltageShape()
    i1c = sulfur_mass_mg * theoretical_capacity_mah_g / 1000.0  # mA
    g = sulfur_mass_mg / 1000.0
    times, volts, currents, charges, steps, rests = [], [], [], [], [], []
    t0, q0 = 0.0, 0.0
    v_ocv = sh.u0_v + 0.35  # fresh sulfur cathode OCV before the first discharge
    step = 0

    def add_rest(duration: float, v_start: float, v_end: float) -> None:
        nonlocal t0
        if duration <= 0:
            return
        tt = np.geomspace(1.0, duration, points_per_rest)
        vv = v_end + (v_start - v_end) * np.exp(-tt / sh.relax_tau_s)
        times.append(t0 + tt)
        volts.append(vv)
        currents.append(np.zeros_like(tt))
        charges.append(np.full_like(tt, q0))
        steps.append(np.full(len(tt), step))
        rests.append(np.ones(len(tt), dtype=bool))
        t0 += duration

    add_rest(initial_rest_s, v_ocv, v_ocv)
    for spec in schedule:
        step += 1
        cap = max(spec.capacity_mah_g, 1e-6) * g  # mAh
        i = spec.direction * spec.c_rate * i1c
        duration = cap / abs(i) * 3600.0
        x = np.linspace(0.0, 1.0, points_per_half_cycle + 1)[1:]
        eta = sh.eta0_v + sh.eta_per_c_v * spec.c_rate
        xc = np.clip(x, 1e-3, 1 - 1e-3)
        logit = sh.width_v * np.log(xc / (1 - xc))
        if spec.direction < 0:
            tail = (sh.u0_v - eta - 0.2 - sh.v_min_v) * x**40
            v = sh.u0_v - eta - logit - tail
            v_eq_end = sh.u0_v - 0.15
        else:
            tail = (sh.v_max_v - sh.u0_v - eta - sh.charge_extra_v - 0.2) * x**40
            v = sh.u0_v + eta + sh.charge_extra_v + logit + tail
            v_eq_end = sh.u0_v + 0.25
        v = np.clip(v, sh.v_min_v, sh.v_max_v)
        times.append(t0 + x * duration)
        volts.append(v)
        currents.append(np.full_like(x, i))
        charges.append(q0 + spec.direction * x * cap)
        steps.append(np.full(len(x), step))
        rests.append(np.zeros(len(x), dtype=bool))
        t0 += duration
        q0 += spec.direction * cap
        step += 1
        add_rest(spec.rest_s, float(v[-1]), v_eq_end)
    frame = pd.DataFrame(
        {
            TIME: np.concatenate(times),
            VOLTAGE: np.concatenate(volts),
            CURRENT: np.concatenate(currents),
            CHARGE: np.concatenate(charges),
            STEP: np.concatenate(steps).astype(np.int64),
            REST: np.concatenate(rests),
        }
    )
    if rng is not None and sh.noise_v > 0:
        frame[VOLTAGE] = frame[VOLTAGE] + rng.normal(0.0, sh.noise_v, len(frame))
    # start with t = 0 and Q = 0 exactly as a cycler would
    frame.loc[0, TIME] = 0.0
    return frame
