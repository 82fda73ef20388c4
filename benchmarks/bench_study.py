"""Benchmark: the study pipeline over a generated archive of up to 200 cells.

Half the cells are rate tests (C/10 formation then 5 cycles at each of C/40…C/2.5, 240 points per
half-cycle, 10-min rests: ~13k rows), half are GITTs (C/10 pulses of 100 mAh/g_S with 2 h rests,
60 s sampling: 3 half-cycles), written once as EC-Lab .mpt into a cache folder
(``$SULFURSCOPE_BENCH_CACHE``, default ``/tmp/sulfurscope-bench-study``). After an untimed warm-up, the pipeline
runs on the first 50, 125 and all 200 cells, with the local process executor (2 workers) and with a 2-worker Dask
LocalCluster, each with ``force=True`` (no cache) and without the HTML report (the tasks and the
store only), and prints throughput (cells/s) and the cost growth 50 → 200 (linear = 4.0×). A last run
shows the cached rerun.

    python benchmarks/bench_study.py [--cells 200] [--small 50]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

from sulfurscope.io import write_mpt
from sulfurscope.simulate.cycling import rate_test_schedule, simulate_run
from sulfurscope.simulate.gitt import simulate_gitt
from sulfurscope.study.pipeline import run_study

CACHE = Path(os.environ.get("SULFURSCOPE_BENCH_CACHE", "/tmp/sulfurscope-bench-study"))


def _law(q: float):
    def capacity(cycle: int, c_rate: float, direction: int) -> float:
        return q * (1.0 - 0.15 * np.log10(c_rate / 0.025)) * (1 - 0.002 * cycle)

    return capacity


def generate(n_cells: int) -> Path:
    """Write (once) n_cells files: even k rate tests, odd k GITTs."""
    raw = CACHE / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    sizes = (1.0, 4.0, 8.0)
    for k in range(n_cells):
        size = sizes[k % 3]
        mass = round(float(rng.uniform(1.7, 2.5)) * 1.32, 4)
        path = raw / f"cell_{k:03d}.mpt"
        if path.exists():
            continue
        if k % 2 == 0:
            frame = simulate_run(
                rate_test_schedule(_law(600.0 / (1 + size / 8))),
                sulfur_mass_mg=mass,
                rng=np.random.default_rng(k),
            )
        else:
            frame = simulate_gitt(
                particle_size_um=size, sulfur_mass_mg=mass, rng=np.random.default_rng(k)
            )
        write_mpt(frame, path, metadata={"sulfur_mass_mg": mass})
    return raw


def manifest(n_cells: int) -> Path:
    lines = ['[study]\ntitle = "benchmark archive"\n']
    for s in (1, 4, 8):
        lines.append(f'[[samples]]\nname = "S{s}"\nparticle_size_um = {s}.0\n')
    rng = np.random.default_rng(2026)
    sizes = (1, 4, 8)
    for k in range(n_cells):
        mass = round(float(rng.uniform(1.7, 2.5)) * 1.32, 4)
        protocol = "rate" if k % 2 == 0 else "gitt"
        lines.append(
            f'[[cells]]\nname = "cell_{k:03d}"\nsample = "S{sizes[k % 3]}"\n'
            f'file = "raw/cell_{k:03d}.mpt"\nprotocol = "{protocol}"\nsulfur_mass_mg = {mass}\n'
        )
    lines.append("[model]\nenabled = false\n")
    path = CACHE / f"study_{n_cells}.toml"
    path.write_text("\n".join(lines))
    return path


def timed(label: str, path: Path, out: Path, **kw) -> float:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        r = run_study(path, out, force=True, report=False, **kw)
    dt = time.perf_counter() - t0
    print(
        f"{label:<34s} {r.tasks:4d} cells  {dt:7.1f} s  {r.tasks / dt:6.2f} cells/s  "
        f"(done {r.done}, failed {r.failed}, {r.executor})",
        flush=True,
    )
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--small", type=int, default=50)
    args = ap.parse_args()
    t0 = time.perf_counter()
    raw = generate(args.cells)
    rows = sum(1 for _ in open(raw / "cell_000.mpt")), sum(1 for _ in open(raw / "cell_001.mpt"))
    print(
        f"archive: {args.cells} files in {raw} (rate test ~{rows[0]} lines, GITT ~{rows[1]} lines); "
        f"generation/check {time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs"
    )
    sizes = sorted({args.small, (args.small + args.cells) // 2, args.cells})
    studies = {n: manifest(n) for n in sizes}
    out = CACHE / "out"
    # warm-up (untimed): the local executor's fork server imports the plug-ins once per process
    run_study(manifest(4), out / "warm", workers=2, force=True, report=False)
    local = {
        n: timed(f"local processes (2), {n} cells", studies[n], out / f"l{n}", workers=2)
        for n in sizes
    }
    dask = {
        n: timed(f"dask LocalCluster(2), {n} cells", studies[n], out / f"d{n}", dask_local=2)
        for n in sizes
    }
    # the same cluster kept up across runs (how a lab uses a cluster): the start-up cost, ~10 s on
    # these machines, is paid once, so the growth shows the per-cell cost
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        kept = {
            n: timed(
                f"dask cluster kept up (2), {n} cells",
                studies[n],
                out / f"k{n}",
                scheduler=cluster.scheduler_address,
            )
            for n in sizes
        }
    ratio = args.cells / args.small
    print(
        f"cost growth {args.small} -> {args.cells} cells (linear = {ratio:.1f}x): "
        f"local {local[args.cells] / local[args.small]:.2f}x, "
        f"dask {dask[args.cells] / dask[args.small]:.2f}x, "
        f"dask (cluster kept up) {kept[args.cells] / kept[args.small]:.2f}x"
    )
    print(f"dask / local time at {args.cells} cells: {dask[args.cells] / local[args.cells]:.2f}")
    for label, t in (("local", local), ("dask", dask), ("dask kept up", kept)):
        ts, tb = t[args.small], t[args.cells]
        marginal = (tb - ts) / (args.cells - args.small)
        print(
            f"{label}: marginal cost {marginal * 1000:.0f} ms/cell "
            f"({1 / marginal:.1f} cells/s), fixed cost per run ~{ts - args.small * marginal:.1f} s"
        )
    big = studies[args.cells]
    t0 = time.perf_counter()
    r = run_study(big, out / f"l{args.cells}", workers=2, report=False)
    print(
        f"cached rerun of {args.cells} cells: {time.perf_counter() - t0:.1f} s "
        f"(done {r.done}, cached {r.cached})"
    )


if __name__ == "__main__":
    main()
