"""The main job end to end: ``sulfurscope demo`` (simulate every instrument → study.toml → pipeline →
report), timed by phase, then a cached rerun of the pipeline. Target (issue 8): ≤ 60 s on 2 cores.

Run: ``python benchmarks/bench_demo.py [--workers 2]``. Prints wall times; no assertion (machines are
noisy, a benchmark is not a test).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sulfurscope.simulate.demo import write_demo_study
from sulfurscope.study.pipeline import run_study


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        t0 = time.perf_counter()
        manifest = write_demo_study(out, workers=args.workers)
        t1 = time.perf_counter()
        first = run_study(manifest, out / "results", workers=args.workers)
        t2 = time.perf_counter()
        again = run_study(manifest, out / "results", workers=args.workers)
        t3 = time.perf_counter()
    print(f"simulate every instrument + study.toml : {t1 - t0:6.1f} s")
    print(
        f"pipeline ({first.tasks} tasks, {first.executor})     : {t2 - t1:6.1f} s "
        f"({first.done} done, {first.failed} failed)"
    )
    print(f"demo end to end                        : {t2 - t0:6.1f} s   (target <= 60 s)")
    print(f"cached rerun (report redrawn)          : {t3 - t2:6.1f} s   ({again.cached} cached)")


if __name__ == "__main__":
    main()
