"""A tiny synthetic study for the pipeline tests: cycler files written as .mpt, a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sulfurscope.io import write_mpt
from sulfurscope.simulate.cycling import long_cycling_schedule, rate_test_schedule, simulate_run
from sulfurscope.simulate.gitt import simulate_gitt


def _law(q: float):
    def capacity(cycle: int, c_rate: float, direction: int) -> float:
        return q * (1.0 - 0.15 * np.log10(max(c_rate, 1e-3) / 0.025)) * (1 - 0.002 * cycle)

    return capacity


def _write_schedule(path: Path, schedule, mass: float, seed: int) -> Path:
    frame = simulate_run(
        schedule,
        sulfur_mass_mg=mass,
        points_per_half_cycle=60,
        points_per_rest=4,
        initial_rest_s=60.0,
        rng=np.random.default_rng(seed),
    )
    return write_mpt(frame, path)


def write_rate(path: Path, q: float, mass: float, seed: int) -> Path:
    return _write_schedule(
        path, rate_test_schedule(_law(q), cycles_per_rate=2, rest_s=60.0), mass, seed
    )


def write_long(path: Path, q: float, mass: float, seed: int) -> Path:
    return _write_schedule(path, long_cycling_schedule(_law(q), cycles=12, rest_s=60.0), mass, seed)


def write_gitt(path: Path, size_um: float, mass: float, seed: int) -> Path:
    frame = simulate_gitt(
        particle_size_um=size_um,
        sulfur_mass_mg=mass,
        rng=np.random.default_rng(seed),
        n_half_cycles=2,
        pulse_mah_g=200.0,
        rest_s=3600.0,
        sample_s=120.0,
    )
    return write_mpt(frame, path)


MANIFEST = """\
[study]
title = "{title}"
description = "Synthetic test study"

[[samples]]
name = "{small}"
carbon = "activated carbon"
particle_size = "1 um"
particle_size_um = 1.0
sulfur_fraction = 0.49

[[samples]]
name = "big"
carbon = "activated carbon"
particle_size = "8 um"
particle_size_um = 8.0
sulfur_fraction = 0.49

[[cells]]
name = "small_rate"
sample = "{small}"
files = ["raw/small_rate.mpt"]
protocol = "rate"
sulfur_mass_mg = 2.5

[[cells]]
name = "big_rate"
sample = "big"
files = ["raw/big_rate.mpt"]
protocol = "rate"
loading_mg_cm2 = 2.0
area_cm2 = 1.32

[[cells]]
name = "big_long"
sample = "big"
file = "raw/big_long.mpt"
protocol = "cycling"
composite_mass_mg = 4.0

[[cells]]
name = "small_gitt"
sample = "{small}"
files = ["raw/small_gitt.mpt"]
protocol = "gitt"
sulfur_mass_mg = 2.0

[[cells]]
name = "big_gitt"
sample = "big"
files = ["raw/big_gitt.mpt"]
protocol = "gitt"
sulfur_mass_mg = 2.0

[model]
enabled = {model}
"""


def make_study(
    folder: Path, *, small: str = "small", title: str = "Test study", model: bool = False
) -> Path:
    """Write the raw files and ``study.toml`` into ``folder``; return the manifest path."""
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    write_rate(raw / "small_rate.mpt", 600.0, 2.5, 1)
    write_rate(raw / "big_rate.mpt", 300.0, 2.64, 2)
    write_long(raw / "big_long.mpt", 300.0, 1.96, 3)
    write_gitt(raw / "small_gitt.mpt", 1.0, 2.0, 4)
    write_gitt(raw / "big_gitt.mpt", 8.0, 2.0, 5)
    path = folder / "study.toml"
    path.write_text(
        MANIFEST.format(
            small=small.replace("\\", "\\\\").replace('"', '\\"'),
            title=title,
            model="true" if model else "false",
        )
    )
    return path


IMAGES = """
[[images]]
name = "sem_small"
sample = "{small}"
kind = "sem"
file = "raw/sem_small.tif"

[[images]]
name = "hrtem_discharged"
sample = "{small}"
kind = "hrtem"
file = "raw/hrtem.tif"
"""


def add_images(folder: Path, manifest: Path, *, small: str = "small") -> Path:
    """Render a small SEM image (with a Hitachi sidecar) and an HRTEM image; add them to the manifest."""
    from sulfurscope.simulate.microscopy import render_hrtem, render_sem, write_tiff_with_sidecar

    rng = np.random.default_rng(7)
    sem = render_sem(
        1.0,
        0.3,
        pixel_size_nm=1000.0 / 30.0,
        shape=(360, 480),
        n_particles=40,
        bar_rows=40,
        rng=rng,
    )
    write_tiff_with_sidecar(sem, folder / "raw" / "sem_small.tif", note="SIMULATED test image")
    hrtem = render_hrtem(shape=(256, 256), rng=rng)
    write_tiff_with_sidecar(hrtem, folder / "raw" / "hrtem.tif", note="SIMULATED test image")
    text = manifest.read_text()
    head, model = text.split("[model]")
    esc = small.replace("\\", "\\\\").replace('"', '\\"')
    manifest.write_text(head + IMAGES.format(small=esc) + "\n[model]" + model)
    return manifest
