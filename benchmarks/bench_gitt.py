"""Benchmark the GITT analysis (plain script; run in one process).

Whole analysis = gitt_steps + relaxation_times (both V0 conventions) + relaxation_curves +
diffusion_coefficients; the exponential fits are timed separately. Target: < 0.2 s for ~300 pulses.
There is no peer tool that computes the study's τ, so the ratio printed is against that target, and
the reader time is shown for scale.

    /work/venv/bin/python benchmarks/bench_gitt.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from sulfurscope.cycling.gitt import (
    diffusion_coefficients,
    gitt_steps,
    relaxation_curves,
    relaxation_fits,
    relaxation_times,
)
from sulfurscope.io import read_cycler
from sulfurscope.simulate.gitt import simulate_gitt

TARGET_S = 0.2
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SULFURSCOPE_REALDATA", ROOT.parent / "shared" / "data")) / "echem"
REAL = [
    "biologic_mp_pulse_rest_issue183.mpr",
    "biologic_mb_geis_pulse_ocvrelax_biol.mpr",
    "biologic_gcpl_30min_rest_C04.mpr",
    "maccor_diag_xTESLADIAG_000019_CH70.070",
]


def analyse(frame):
    s = gitt_steps(frame, sulfur_mass_mg=2.0)
    relaxation_times(frame, s, v0="first_rest_point")
    relaxation_times(frame, s, v0="last_under_current")
    relaxation_curves(frame, s, v0="first_rest_point")
    diffusion_coefficients(frame, s, particle_radius_um=4.0)
    return s


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def report(name: str, frame, read_s: float | None) -> None:
    s = analyse(frame)  # warm-up
    t = best_of(lambda: analyse(frame))
    tf = best_of(lambda: relaxation_fits(frame, s, v0="first_rest_point"), repeat=1)
    read = f"read {read_s:7.3f} s  " if read_s is not None else " " * 17
    print(
        f"{name:44s} rows {len(frame):7d}  pulses {len(s.step):4d}  rests {int(s.has_rest.sum()):4d}  "
        f"{read}analysis {t:7.4f} s  ({t / TARGET_S:5.2f}x target, "
        f"{1e3 * t / max(len(s.step), 1):.2f} ms/pulse)  fits {tf:6.2f} s"
    )


def main() -> None:
    print(f"target: whole analysis < {TARGET_S} s for ~300 pulses")
    for name in REAL:
        path = DATA / name
        if not path.exists():
            print(f"{name}: not found (set SULFURSCOPE_REALDATA)")
            continue
        t0 = time.perf_counter()
        frame = read_cycler(path).frame
        report(name, frame, time.perf_counter() - t0)
    frame = simulate_gitt(
        particle_size_um=1.0, sulfur_mass_mg=2.0, rng=np.random.default_rng(0), n_half_cycles=50
    )
    report("synthetic (simulate_gitt, 50 half-cycles)", frame, None)


if __name__ == "__main__":
    main()
