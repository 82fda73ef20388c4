"""A simulated GITT run in the canonical cycler table (the demo's Figure 2 story).

The reference study pulses at C/10 for 100 mAh/g_S and rests 2 h, over the first discharge, the charge
and the second discharge, for three particle sizes. Here one plateau near 2.1 V, a capacity that follows
the active-shell geometry f = 1 − (1 − 2δ/d)³ (δ = 1 µm; ~600 mAh/g_S for 1 µm, ~350 for 8 µm), an ohmic
IR step and a polarisation that builds up under current and relaxes exponentially during the rest with
time constant τ. In the first discharge τ ∝ L² (slower for larger particles); afterwards all sizes relax
alike. Noise is Gaussian on the voltage; sampling is dense right after each current change and every
``sample_s`` otherwise, as EC-Lab's dE/dt recording gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import (
    CHARGE,
    CURRENT,
    Q_THEORETICAL_SULFUR_MAH_G,
    REST,
    SECONDS_PER_HOUR,
    STEP,
    TIME,
    VOLTAGE,
)

__all__ = ["gitt_capacity_mah_g", "gitt_tau_s", "simulate_gitt"]


def gitt_capacity_mah_g(
    particle_size_um: float, *, shell_um: float = 1.0, reference_mah_g: float = 600.0
) -> float:
    """Accessible capacity: ``reference_mah_g · f(d)/f(1 µm)``, f = 1 − (1 − 2δ/d)³ (the study's shell).

    Examples
    --------
    >>> round(gitt_capacity_mah_g(8.0), 1)
    346.9
    """

    def f(d: float) -> float:
        return 1.0 - (1.0 - 2.0 * shell_um / d) ** 3 if d > 2.0 * shell_um else 1.0

    return reference_mah_g * f(particle_size_um) / f(1.0)


def gitt_tau_s(
    particle_size_um: float,
    half_cycle: int,
    *,
    tau_at_8um_s: float = 900.0,
    tau_later_s: float = 300.0,
) -> float:
    """Relaxation time constant of the simulation: τ = τ₈ (L/8 µm)² in the first discharge
    (``half_cycle == 1``), ``tau_later_s`` afterwards.

    Examples
    --------
    >>> gitt_tau_s(4.0, 1), gitt_tau_s(4.0, 2)
    (225.0, 300.0)
    """
    if half_cycle == 1:
        return tau_at_8um_s * (particle_size_um / 8.0) ** 2
    return tau_later_s


def _ocv(y: np.ndarray | float) -> np.ndarray:
    """One plateau near 2.1 V; y = lithiated fraction of the accessible capacity."""
    y = np.clip(np.asarray(y, dtype=float), 0.0, 1.0)
    eps = 2e-3
    return (
        2.1
        + 0.025 * np.log((1.0 - y + eps) / (y + eps))
        + 0.5 * np.exp(-y / 0.04)
        - 0.8 * np.exp(-(1.0 - y) / 0.02)
    )


def _rest_times(rest_s: float, sample_s: float) -> np.ndarray:
    dense = np.geomspace(1.0, rest_s, 40)
    grid = np.arange(sample_s, rest_s, sample_s)
    t = np.unique(np.round(np.concatenate([dense, grid, [rest_s]]), 3))
    return t[(t > 0) & (t <= rest_s)]


def _pulse_times(t_pulse: float, sample_s: float) -> np.ndarray:
    """Sample times of a pulse: regular plus log-spaced early points, from 0 to its end."""
    grid = np.unique(
        np.concatenate([np.geomspace(1.0, t_pulse, 25), np.arange(0, t_pulse, sample_s)])
    )
    return np.unique(np.concatenate([[0.0], grid[grid < t_pulse], [t_pulse]]))


class _Segments:
    """Pulses and rests as they are generated."""

    def __init__(self) -> None:
        self.t: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.step: list[np.ndarray] = []
        self.rest: list[np.ndarray] = []

    def add(self, t: np.ndarray, v: np.ndarray, current: float, step: int, rest: bool) -> None:
        self.t.append(t)
        self.v.append(v)
        self.c.append(np.full(len(t), current))
        self.step.append(np.full(len(t), step, dtype=np.int64))
        self.rest.append(np.full(len(t), rest, dtype=bool))


def simulate_gitt(
    *,
    particle_size_um: float,
    sulfur_mass_mg: float,
    rng: np.random.Generator,
    n_half_cycles: int = 3,
    c_rate: float = 0.1,
    pulse_mah_g: float = 100.0,
    rest_s: float = 7200.0,
    initial_rest_s: float = 1800.0,
    tau_at_8um_s: float = 900.0,
    tau_later_s: float = 300.0,
    overpotential_v: float = 0.06,
    ir_drop_v: float = 0.02,
    noise_v: float = 3e-4,
    sample_s: float = 60.0,
    v_min: float = 1.5,
    v_max: float = 2.8,
) -> pd.DataFrame:
    """Generate a canonical-table GITT run for one particle size.

    Parameters
    ----------
    particle_size_um : float, µm
        Particle size d: sets the accessible capacity (active shell) and, in the first discharge, τ.
    sulfur_mass_mg : float, mg
        Sulfur mass (sets the current: ``c_rate · Q_S · m`` with Q_S = :data:`~sulfurscope.units.Q_THEORETICAL_SULFUR_MAH_G`). Required, never defaulted.
    rng : numpy.random.Generator
        Noise source.
    n_half_cycles : int
        Discharge, charge, discharge, ... (starting with the first discharge).
    c_rate, pulse_mah_g, rest_s : float
        C-rate of the pulses (1C = Q_S, :data:`~sulfurscope.units.Q_THEORETICAL_SULFUR_MAH_G`), charge per pulse (mAh/g_S) and rest length (s).
    initial_rest_s : float, s
        Open-circuit rest before the first discharge.
    tau_at_8um_s, tau_later_s : float, s
        τ of the first discharge at 8 µm (scaled by (d/8 µm)²) and of every later half-cycle.
    overpotential_v, ir_drop_v : float, V
        Steady polarisation under current (relaxing with τ) and the instantaneous ohmic step.
        The first discharge carries 1.5× the polarisation.
    noise_v : float, V
        Standard deviation of the voltage noise.
    sample_s : float, s
        Regular sampling interval (plus dense log-spaced points after each current change).
    v_min, v_max : float, V
        Voltage limits that cut the last pulse of a half-cycle.

    Returns
    -------
    DataFrame
        Canonical columns (``Time [s]``, ``Voltage [V]``, ``Current [mA]``, ``Charge [mAh]``, ``Step``,
        ``Rest``); ``Step`` counts half-cycles (rests share their pulse's step, as in BioLogic GCPL).

    Examples
    --------
    >>> df = simulate_gitt(particle_size_um=8.0, sulfur_mass_mg=2.0, rng=np.random.default_rng(0))
    >>> list(df.columns)[:3], bool(df["Rest"].any())
    (['Time [s]', 'Voltage [V]', 'Current [mA]'], True)
    """
    if not (particle_size_um > 0):
        raise SulfurscopeError(f"particle_size_um must be > 0, got {particle_size_um!r}")
    if sulfur_mass_mg is None or not (sulfur_mass_mg > 0):
        raise SulfurscopeError(
            f"sulfur_mass_mg must be a positive mass in mg, got {sulfur_mass_mg!r}"
        )
    if n_half_cycles < 1:
        raise SulfurscopeError(f"n_half_cycles must be >= 1, got {n_half_cycles}")
    q_acc = gitt_capacity_mah_g(particle_size_um)
    i_ma = c_rate * Q_THEORETICAL_SULFUR_MAH_G * sulfur_mass_mg / 1000.0
    t_pulse = pulse_mah_g / (c_rate * Q_THEORETICAL_SULFUR_MAH_G) * SECONDS_PER_HOUR
    rest_grid = _rest_times(rest_s, sample_s)
    pulse_grid = _pulse_times(t_pulse, sample_s)

    out = _Segments()
    ti = np.concatenate([[0.0], _rest_times(initial_rest_s, sample_s)])
    y = 0.0  # lithiated fraction of the accessible capacity
    out.add(ti, np.full(len(ti), float(_ocv(y))), 0.0, 0, True)  # initial rest
    t0 = float(ti[-1])
    for h in range(1, n_half_cycles + 1):
        s = -1 if h % 2 == 1 else 1  # discharge first
        tau = gitt_tau_s(particle_size_um, h, tau_at_8um_s=tau_at_8um_s, tau_later_s=tau_later_s)
        eta = overpotential_v * (1.5 if h == 1 else 1.0)
        for _ in range(1000):
            tp = pulse_grid
            yy = y - s * (pulse_mah_g / q_acc) * tp / t_pulse  # discharge (s=-1) raises y
            vp = _ocv(yy) + s * (ir_drop_v + eta * (1.0 - np.exp(-tp / tau)))
            beyond = (vp < v_min) | (yy > 0.9995) if s < 0 else (vp > v_max) | (yy < 0.0005)
            cut = bool(beyond[1:].any())
            if cut:
                n_keep = int(np.flatnonzero(beyond[1:])[0]) + 1  # first sample beyond the limit
                tp, vp, yy = tp[: n_keep + 1], vp[: n_keep + 1], yy[: n_keep + 1]
            t_end = float(tp[-1])
            out.add(t0 + tp + 1e-3, vp, s * i_ma, h, False)
            y = float(yy[-1])
            eta_end = eta * (1.0 - np.exp(-t_end / tau))
            out.add(t0 + t_end + rest_grid, _ocv(y) + s * eta_end * np.exp(-rest_grid / tau), 0.0,
                    h, True)
            t0 = t0 + t_end + rest_s
            if cut or y >= 0.999 or y <= 0.001:
                break
    ts, vs, cs, steps, rests = out.t, out.v, out.c, out.step, out.rest
    t = np.concatenate(ts)
    v = (
        np.concatenate(vs) + rng.normal(0.0, noise_v, size=len(t))
        if noise_v > 0
        else np.concatenate(vs)
    )
    cur = np.concatenate(cs)
    dt = np.diff(t)
    q = np.concatenate([[0.0], np.cumsum(cur[1:] * dt * (cur[1:] != 0))]) / SECONDS_PER_HOUR
    return pd.DataFrame(
        {
            TIME: t,
            VOLTAGE: v,
            CURRENT: cur,
            CHARGE: q,
            STEP: np.concatenate(steps),
            REST: np.concatenate(rests),
        }
    )
