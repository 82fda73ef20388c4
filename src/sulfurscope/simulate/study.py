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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope._files import atomic_write_bytes
from sulfurscope._threads import one_thread_per_process
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
    "CellSpread",
    "Instrument",
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


#: Numerics of the simulated cells, deliberately finer than the analysers' (the model fit uses 8 size
#: classes and 20 grid cells per class): the demo's raw data are not what the fit would compute.
SIMULATION_CLASSES = 16
SIMULATION_GRID_CELLS = 36


def default_cell_model(mean_um: float, sd_um: float) -> CellModel:
    """The model sample the demo simulates for a Gaussian size distribution (MODEL.md parameters),
    on a finer discretisation than the fit's (:data:`SIMULATION_CLASSES` size classes,
    :data:`SIMULATION_GRID_CELLS` model B grid cells)."""
    return CellModel(
        distribution=gaussian_distribution(mean_um, sd_um, n_classes=SIMULATION_CLASSES),
        n_cells=SIMULATION_GRID_CELLS,
    )


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the cycler adds to the cell's true response (none of it is in the model the fit uses).

    Attributes
    ----------
    noise_v : float, V
        White noise of the voltage reading.
    drift_v : float, V
        Amplitude of a slow thermal drift of the voltage reading (a 24 h sine, random phase per cell).
    resolution_v : float, V
        Voltage ADC resolution (readings are rounded to it).
    current_gain_sd : float
        Relative sd of the cell channel's current calibration error: the recorded current and charge
        are the applied ones × (1 + g), g drawn per cell.
    """

    noise_v: float = 0.002
    drift_v: float = 0.0005
    resolution_v: float = 1e-4
    current_gain_sd: float = 5e-4

    def record(self, frame: Any, rng: np.random.Generator) -> Any:
        """The cycler's record of a noise-free simulated run (a new frame)."""
        t = frame["Time [s]"].to_numpy()
        v = frame["Voltage [V]"].to_numpy()
        v = v + rng.normal(0.0, self.noise_v, v.size)
        v = v + self.drift_v * np.sin(2 * np.pi * t / 86400.0 + rng.uniform(0, 2 * np.pi))
        if self.resolution_v > 0:
            v = np.round(v / self.resolution_v) * self.resolution_v
        g = 1.0 + rng.normal(0.0, self.current_gain_sd)
        return frame.assign(**{"Voltage [V]": v, "Current [mA]": frame["Current [mA]"] * g,
                               "Charge [mAh]": frame["Charge [mAh]"] * g})


@dataclass(frozen=True, slots=True)
class CellSpread:
    """Cell-to-cell variation of replicate cells (each cell draws its own).

    Attributes
    ----------
    connected_sd : float
        Relative sd of the electrochemically connected fraction of the sulfur (normal, mean 1,
        clipped to 0.8–1.1): the cell's capacity per recorded gram scales with it.
    fade_sd : float
        sd of ln(fade per cycle) (log-normal around the model's value).
    diffusivity_sd : float
        sd of ln(D₀ of model B) (first-discharge τ and capacity spread).
    weighing_u_mg : float
        Standard uncertainty of the recorded mass (the balance): recorded = true + N(0, u).
    """

    connected_sd: float = 0.05
    fade_sd: float = 0.2
    diffusivity_sd: float = 0.1
    weighing_u_mg: float = 0.014

    def draw(self, model: CellModel, rng: np.random.Generator) -> tuple[CellModel, float, float]:
        """(the cell's model, its connected fraction, its weighing error in mg)."""
        connected = float(np.clip(1.0 + rng.normal(0.0, self.connected_sd), 0.8, 1.1))
        cyc = replace(model.cycling,
                      fade_per_cycle=model.cycling.fade_per_cycle
                      * float(np.exp(rng.normal(0.0, self.fade_sd))))
        form = replace(model.formation,
                       diffusivity_m2_s=model.formation.diffusivity_m2_s
                       * float(np.exp(rng.normal(0.0, self.diffusivity_sd))))
        return (replace(model, cycling=cyc, formation=form), connected,
                float(rng.normal(0.0, self.weighing_u_mg)))


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
    replicate: int = 1
    connected_fraction: float = 1.0
    true_sulfur_mass_mg: float = float("nan")


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
    replicate: int = 0,
    spread: CellSpread | None = None,
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
    true_mass = loading * 1.32
    connected, weighing = 1.0, 0.0
    if spread is not None:
        model, connected, weighing = spread.draw(model, np.random.default_rng(stream.spawn(1)[0]))
    mass = round(true_mass + weighing, 4)
    # the cycler sets its currents (and GITT pulse sizes) from the recorded mass; the model
    # converts only the connected sulfur: in the model's C-units of that mass, every rate is
    # scaled by recorded / connected mass
    k = mass / (true_mass * connected)
    steps = tuple(
        replace(st, c_rate=st.c_rate * k,
                max_capacity_mah_g=None if st.max_capacity_mah_g is None
                else st.max_capacity_mah_g * k,
                pulse_mah_g=None if st.pulse_mah_g is None else st.pulse_mah_g * k)
        for st in builders[protocol]()
    ) if spread is not None else builders[protocol]()
    frame = Instrument().record(
        simulate_protocol(steps, model, sulfur_mass_mg=true_mass * connected),
        np.random.default_rng(stream),
    )
    label = f"{sample}_{protocol}" + (f"_{replicate}" if replicate else "")
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
        replicate=max(replicate, 1),
        connected_fraction=connected,
        true_sulfur_mass_mg=float(true_mass),
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
    replicates: int = 1,
    spread: CellSpread | None = None,
    meanwhile: Callable[[], Any] | None = None,
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
    replicates : int
        Cells per size and protocol; with more than one, cells are named ``<sample>_<protocol>_<k>``.
    spread : CellSpread, optional
        Cell-to-cell variation (default: none — every cell is the model sample exactly).
    meanwhile : callable, optional
        Called once in this process while the worker processes simulate the cells (after them with
        one worker): other work of the caller that can share the machine meanwhile.

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
            for k in range(replicates):
                loading = float(rng.uniform(1.7, 2.5))
                jobs.append((float(d), protocol, loading, k + 1 if replicates > 1 else 0))
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
            rep,
            spread,
        )
        for (d, protocol, loading, rep), stream in zip(jobs, streams, strict=True)
    ]
    if workers > 1 and len(args) > 1:
        # longest first (a GITT outlasts a long test, which outlasts a rate test), so that no long
        # cell starts last; each cell keeps its own noise stream, so the order changes nothing
        cost = {"gitt": 0, "long": 1, "rate": 2}
        order = sorted(range(len(args)), key=lambda j: (cost[args[j][2]], j))
        with one_thread_per_process(workers), ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {j: pool.submit(_simulate_cell, *args[j]) for j in order}
            if meanwhile is not None:
                meanwhile()
            cells = [futures[j].result() for j in range(len(args))]
    else:
        cells = [_simulate_cell(*a) for a in args]
        if meanwhile is not None:
            meanwhile()
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
