"""Replicate statistics cost: a 200-cell study (40 conditions × 5 rate-test cells) run by the study
pipeline with the ``replicates`` step and without it (``[replicates] enabled = false``), both from a
clean results folder, interleaved, best of ``REPEAT`` — reported as a ratio (issue 18's bar: ≤ 1.2×).

The cells are written by the independent cycler simulator (:mod:`sulfurscope.simulate.cycling`):
a short rate test each (2 cycles per rate), capacity per gram drawn per condition and cell.

Run: ``python benchmarks/bench_replicates.py [--cells-per-condition 5] [--conditions 40]``
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

REPEAT = 2


def _law(q: float):
    def capacity(cycle: int, c_rate: float, direction: int) -> float:
        return q * (1.0 - 0.15 * np.log10(max(c_rate, 1e-3) / 0.025)) * (1 - 0.002 * cycle)

    return capacity


def write_study(folder: Path, conditions: int, per: int, seed: int = 0) -> dict[bool, Path]:
    """Raw files once, and two manifests (statistics on / off)."""
    from sulfurscope.io import write_mpt
    from sulfurscope.simulate.cycling import rate_test_schedule, simulate_run

    rng = np.random.default_rng(seed)
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    lines = ['[study]\ntitle = "200-cell benchmark"\n']
    for c in range(conditions):
        lines.append(f'[[samples]]\nname = "s{c}"\nsulfur_fraction = 0.5\n')
    for c in range(conditions):
        q0 = rng.uniform(300, 700)
        for k in range(per):
            name = f"s{c}_{k}"
            frame = simulate_run(
                rate_test_schedule(_law(q0 * rng.normal(1, 0.05)), cycles_per_rate=2,
                                   rest_s=60.0),
                sulfur_mass_mg=2.5, points_per_half_cycle=40, points_per_rest=3,
                initial_rest_s=60.0, rng=rng,
            )
            write_mpt(frame, raw / f"{name}.mpt")
            lines.append(f'[[cells]]\nname = "{name}"\nsample = "s{c}"\nfile = "raw/{name}.mpt"\n'
                         f'protocol = "rate"\ncomposite_mass_mg = 5.0\n')
    lines.append("[model]\nenabled = false\n")
    out = {}
    for on in (True, False):
        p = folder / f"study_{'on' if on else 'off'}.toml"
        p.write_text("\n".join(lines) + f"\n[replicates]\nenabled = {'true' if on else 'false'}\n")
        out[on] = p
    return out


def main() -> None:
    from sulfurscope.study.pipeline import run_study

    ap = argparse.ArgumentParser()
    ap.add_argument("--conditions", type=int, default=40)
    ap.add_argument("--cells-per-condition", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_rep_"))
    try:
        t0 = time.perf_counter()
        manifests = write_study(folder, args.conditions, args.cells_per_condition)
        print(f"wrote {args.conditions * args.cells_per_condition} cells in "
              f"{time.perf_counter() - t0:.0f} s")
        best = {True: float("inf"), False: float("inf")}
        for _ in range(REPEAT):
            for on in (False, True):
                out = folder / f"out_{on}"
                shutil.rmtree(out, ignore_errors=True)
                t = time.perf_counter()
                res = run_study(manifests[on], out, workers=args.workers)
                best[on] = min(best[on], time.perf_counter() - t)
                assert res.failed == 0, res.problems
        print(f"without statistics  {best[False]:7.1f} s")
        print(f"with statistics     {best[True]:7.1f} s   ratio {best[True] / best[False]:.3f}×"
              "  (bar: ≤ 1.2×)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
