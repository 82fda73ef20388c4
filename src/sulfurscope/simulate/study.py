"""A simulated study like the reference one: three particle sizes, a rate test and a long cycling test
each, written as EC-Lab .mpt text files.

This is a shell (it writes files): the numbers come from pure laws here and from
:mod:`sulfurscope.simulate.cycling`. Every file it writes says in its header that it is simulated.

The capacity law (the study's picture, MODEL.md §A and §C):

* active fraction of a size distribution, volume-weighted, with an active shell δ:
  F = Σ n_k d_k³ f(d_k) / Σ n_k d_k³, f(d) = 1 − (1 − 2δ/d)³;
* the smallest particles' rate curve q_ref(C) = q₀ [1 − (C/C*)^{1/m}], and for a sample whose active
  fraction is F the active sulfur runs at C/F: q(C) = F · q_ref(C/F);
* early fade Q_N = Q_∞ + (Q₂ − Q_∞) exp(−(N − 2)/N_c), the formation discharge larger by the CEI share.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sulfurscope.simulate.cycling import long_cycling_schedule, rate_test_schedule, simulate_run

__all__ = ["SimulatedCell", "StudyLaw", "simulate_study", "volume_active_fraction"]

SIMULATED_NOTE = "SIMULATED DATA (sulfurscope demo) - not a measurement"


def volume_active_fraction(mean_um: float, sd_um: float, *, shell_um: float, n: int = 400) -> float:
    """Volume-weighted active fraction of a Gaussian size distribution truncated at 0 (MODEL.md §A.1).

    Examples
    --------
    >>> round(volume_active_fraction(8.0, 1e-6, shell_um=1.0), 3)
    0.578
    """
    if sd_um <= 1e-3 * mean_um:
        d = np.array([mean_um])
        w = np.array([1.0])
    else:
        d = np.linspace(max(mean_um - 4 * sd_um, 1e-3), mean_um + 4 * sd_um, n)
        w = np.exp(-0.5 * ((d - mean_um) / sd_um) ** 2)
    f = np.where(d > 2 * shell_um, 1 - np.clip(1 - 2 * shell_um / d, 0, 1) ** 3, 1.0)
    v = w * d**3
    return float(np.sum(v * f) / np.sum(v))


@dataclass(frozen=True, slots=True)
class StudyLaw:
    """Parameters of the simulated capacities (mAh/g_S)."""

    q0_mah_g: float = 1050.0
    c_star: float = 7.0
    m: float = 2.2
    shell_um: float = 1.0
    fade_fraction: float = 0.18
    n_c: float = 9.0
    formation_excess: float = 0.25
    coulombic_efficiency: float = 0.985

    def reference(self, c_rate: float) -> float:
        """Capacity of fully active material at ``c_rate``: q₀ [1 − (C/C*)^{1/m}]."""
        return self.q0_mah_g * max(1.0 - (c_rate / self.c_star) ** (1.0 / self.m), 0.0)

    def capacity(self, cycle: int, c_rate: float, direction: int, *, active_fraction: float) -> float:
        """Capacity of half-cycle (cycle, direction) at ``c_rate`` for a sample of active fraction F."""
        q = active_fraction * self.reference(c_rate / active_fraction)
        if cycle == 1 and direction == -1:
            return q * (1.0 + self.formation_excess)
        fade = 1.0 - self.fade_fraction * (1.0 - np.exp(-max(cycle - 2, 0) / self.n_c))
        q *= fade
        return q if direction == -1 else q * self.coulombic_efficiency


@dataclass(frozen=True, slots=True)
class SimulatedCell:
    """What the simulator wrote for one cell (the demo's manifest row)."""

    label: str
    particle_size_um: float
    particle_sd_um: float
    protocol: str
    sulfur_mass_mg: float
    loading_mg_cm2: float
    active_fraction: float
    path: str


def simulate_study(
    out_dir: str | Path,
    *,
    sizes_um: Sequence[float] = (8.0, 4.0, 1.0),
    relative_sd: float = 0.3,
    law: StudyLaw | None = None,
    long_cycles: int = 50,
    seed: int = 2026,
) -> list[SimulatedCell]:
    """Write a rate test and a long cycling test per particle size as EC-Lab .mpt files.

    Parameters
    ----------
    out_dir : path
        Folder for the .mpt files and ``manifest.json``.
    sizes_um : sequence of float
        Mean particle diameters, µm (the study: ~8, ~4, ~1).
    relative_sd : float
        Standard deviation of each Gaussian size distribution relative to its mean.
    law : StudyLaw, optional
        Capacity-law parameters.
    long_cycles : int
        Cycles of the long test (at C/2.5).
    seed : int
        Seed of the random generator (loadings and noise): the same seed writes the same files.

    Returns
    -------
    list of SimulatedCell
    """
    from sulfurscope.io import write_mpt  # shell-to-shell import: the writer lives in io

    law = law or StudyLaw()
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cells: list[SimulatedCell] = []
    for d in sizes_um:
        sd = relative_sd * d
        f_act = volume_active_fraction(d, sd, shell_um=law.shell_um)

        def q(cycle: int, c_rate: float, direction: int, _f: float = f_act) -> float:
            return law.capacity(cycle, c_rate, direction, active_fraction=_f)

        for protocol, schedule in (
            ("rate", rate_test_schedule(q)),
            ("long", long_cycling_schedule(q, cycles=long_cycles, c_rate=0.4)),
        ):
            loading = float(rng.uniform(1.7, 2.5))
            mass = round(loading * 1.32, 4)
            frame = simulate_run(
                schedule, sulfur_mass_mg=mass, rng=rng, points_per_half_cycle=160 if protocol == "rate" else 80
            )
            label = f"AC-S_{d:g}um_{protocol}"
            path = out / f"{label}.mpt"
            write_mpt(
                frame,
                path,
                metadata={
                    "sulfur_mass_mg": mass,
                    "comments": f"{SIMULATED_NOTE}; particle size {d:g} +/- {sd:.2g} um; {protocol} test",
                },
            )
            cells.append(
                SimulatedCell(
                    label=label,
                    particle_size_um=float(d),
                    particle_sd_um=float(sd),
                    protocol=protocol,
                    sulfur_mass_mg=mass,
                    loading_mg_cm2=loading,
                    active_fraction=f_act,
                    path=str(path),
                )
            )
    manifest = {"note": SIMULATED_NOTE, "seed": seed, "law": asdict(law), "cells": [asdict(c) for c in cells]}
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / "manifest.json")
    return cells
