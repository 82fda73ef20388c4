"""A simulated study like the reference one, drawn from the particle-size model.

Three particle sizes (Gaussian number distributions, ~8, ~4 and ~1 µm), each with a rate test, a long
cycling test and a GITT, simulated by :func:`sulfurscope.model.simulate_protocol` (model B for the
CEI-forming first discharge, model C for later cycles) and written as EC-Lab .mpt text files — so the
simulated study is physically consistent and fitting the model to its files should recover the
parameters used. This is a shell (it writes files). Every file says in its header that it is simulated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sulfurscope._files import atomic_write_bytes
from sulfurscope.model import (
    CellModel,
    ProtocolStep,
    electrode_active_fraction,
    gaussian_distribution,
    gitt_protocol,
    long_cycling_protocol,
    rate_test_protocol,
    simulate_protocol,
)

__all__ = [
    "SIMULATED_NOTE",
    "SimulatedCell",
    "default_cell_model",
    "simulate_study",
    "with_rests",
]

SIMULATED_NOTE = "SIMULATED DATA (sulfurscope demo) - not a measurement"


def with_rests(protocol: Sequence[ProtocolStep], rest_s: float) -> tuple[ProtocolStep, ...]:
    """The protocol with an open-circuit rest of ``rest_s`` after every current step (as cyclers
    are usually programmed: a short OCV period between half-cycles)."""
    out: list[ProtocolStep] = []
    for step in protocol:
        out.append(step)
        if step.mode != "rest" and rest_s > 0:
            out.append(ProtocolStep("rest", duration_s=rest_s))
    return tuple(out)


def default_cell_model(mean_um: float, sd_um: float) -> CellModel:
    """The model sample the demo simulates for a Gaussian size distribution (MODEL.md parameters)."""
    return CellModel(distribution=gaussian_distribution(mean_um, sd_um, n_classes=12))


@dataclass(frozen=True, slots=True)
class SimulatedCell:
    """What the simulator wrote for one cell (a row of the demo's manifest)."""

    label: str
    sample: str
    particle_size_um: float
    particle_sd_um: float
    protocol: str
    sulfur_mass_mg: float
    loading_mg_cm2: float
    geometric_active_fraction: float
    path: str


def _simulate_cell(
    d: float,
    sd: float,
    protocol: str,
    loading: float,
    stream: np.random.SeedSequence,
    out: Path,
    long_cycles: int,
    long_c_rate: float,
    rest_s: float,
    cell_model: Callable[[float, float], CellModel],
) -> SimulatedCell:
    from sulfurscope.io import write_mpt  # shell-to-shell import: the writer lives in io

    builders = {
        "rate": lambda: with_rests(rate_test_protocol(), rest_s),
        "long": lambda: with_rests(
            long_cycling_protocol(c_rate=long_c_rate, n_cycles=long_cycles), rest_s
        ),
        "gitt": lambda: gitt_protocol(),
    }
    model = cell_model(d, sd)
    f_geo = float(electrode_active_fraction(model.distribution, shell_um=1.0))
    sample = f"AC-S_{d:g}um"
    mass = round(loading * 1.32, 4)
    frame = simulate_protocol(
        builders[protocol](), model, sulfur_mass_mg=mass, rng=np.random.default_rng(stream)
    )
    label = f"{sample}_{protocol}"
    path = out / f"{label}.mpt"
    write_mpt(
        frame,
        path,
        metadata={
            "sulfur_mass_mg": mass,
            "electrode_area_cm2": 1.32,
            "comments": f"{SIMULATED_NOTE}; particle size {d:g} +/- {sd:.2g} um; {protocol} test",
        },
    )
    return SimulatedCell(
        label=label,
        sample=sample,
        particle_size_um=float(d),
        particle_sd_um=float(sd),
        protocol=protocol,
        sulfur_mass_mg=mass,
        loading_mg_cm2=loading,
        geometric_active_fraction=f_geo,
        path=str(path),
    )


def simulate_study(
    out_dir: str | Path,
    *,
    sizes_um: Sequence[float] = (8.0, 4.0, 1.0),
    relative_sd: float = 0.3,
    long_cycles: int = 50,
    long_c_rate: float = 0.1,
    rest_s: float = 600.0,
    protocols: Sequence[str] = ("rate", "long", "gitt"),
    cell_model: Callable[[float, float], CellModel] = default_cell_model,
    seed: int = 2026,
    workers: int = 1,
) -> list[SimulatedCell]:
    """Simulate and write a rate test, a long cycling test and a GITT per particle size.

    Parameters
    ----------
    out_dir : path
        Folder for the .mpt files and ``manifest.json``.
    sizes_um : sequence of float
        Mean particle diameters, µm (the study: ~8, ~4, ~1).
    relative_sd : float
        Standard deviation of each Gaussian size distribution relative to its mean.
    long_cycles, long_c_rate : int, float
        Length and C-rate of the long cycling test (default C/10, the reference study's).
    rest_s : float
        Open-circuit rest after every half-cycle of the rate and long tests, s (the GITT has its own
        2 h rests).
    protocols : sequence of {"rate", "long", "gitt"}
        Which tests to simulate.
    cell_model : callable
        ``(mean_um, sd_um) -> CellModel``: the model sample for a size distribution.
    seed : int
        Seed of the random generator (loadings and noise): the same seed writes the same files.
    workers : int
        Processes to simulate the cells in (a picklable ``cell_model`` is needed for more than one);
        the files are the same for any number of workers.

    Returns
    -------
    list of SimulatedCell
    """
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for d in sizes_um:
        for protocol in protocols:
            if protocol not in ("rate", "long", "gitt"):
                raise ValueError(f"protocols: {protocol!r} is not one of rate, long, gitt")
            loading = float(rng.uniform(1.7, 2.5))
            jobs.append((float(d), protocol, loading))
    # one independent noise stream per cell, so the files do not depend on how many workers ran
    streams = np.random.SeedSequence(seed).spawn(len(jobs))
    args = [
        (
            d,
            relative_sd * d,
            protocol,
            loading,
            stream,
            out,
            long_cycles,
            long_c_rate,
            rest_s,
            cell_model,
        )
        for (d, protocol, loading), stream in zip(jobs, streams, strict=True)
    ]
    if workers > 1 and len(args) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            cells = list(pool.map(_simulate_cell, *zip(*args, strict=True)))
    else:
        cells = [_simulate_cell(*a) for a in args]
    manifest = {
        "note": SIMULATED_NOTE,
        "seed": seed,
        "model": {
            c.sample: cell_model(c.particle_size_um, c.particle_sd_um).to_dict() for c in cells
        },
        "cells": [asdict(c) for c in cells],
    }
    atomic_write_bytes(
        out / "manifest.json", json.dumps(manifest, indent=1, default=float).encode()
    )
    return cells
