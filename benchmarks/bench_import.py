"""Import cost: ``import sulfurscope.io, sulfurscope.cycling`` vs ``import pandas`` alone (issue 19).

Each measurement is a fresh interpreter (the user's view: a command starts cold); the best of
``REPEAT`` runs of each, interleaved, reported as a ratio (the issue's bar: ≤ 1.5×).

Run: ``python benchmarks/bench_import.py``
"""

from __future__ import annotations

import subprocess
import sys

REPEAT = 7
CASES = {
    "pandas": "import pandas",
    "sulfurscope.io + cycling": "import sulfurscope.io, sulfurscope.cycling",
    "sulfurscope (package)": "import sulfurscope",
}


def _time(stmt: str) -> float:
    code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    best = dict.fromkeys(CASES, float("inf"))
    for _ in range(REPEAT):
        for name, stmt in CASES.items():
            best[name] = min(best[name], _time(stmt))
    for name, t in best.items():
        print(f"{name:28s} {t * 1e3:8.1f} ms   ratio to pandas {t / best['pandas']:5.2f}×")


if __name__ == "__main__":
    main()
