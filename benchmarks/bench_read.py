"""Benchmark: our BioLogic .mpr read vs galvani's raw parse and navani's loader (same process).

Run: ``python benchmarks/bench_read.py [DATA_DIR] [--repeats N]``. For every real .mpr file it prints
the best-of-N time of

* ``galvani``   — ``galvani.BioLogic.MPRfile`` on an open file (the raw structured-array parse);
* ``ours``      — ``sulfurscope.io.read_cycler(path, settings=False)`` (canonical table);
* ``ours+set``  — ``read_cycler(path)`` (canonical table + technique settings through yadg);
* ``navani``    — ``navani.echem.echem_file_loader(path)`` (a pandas table with navani's columns);

and the ratios ours/galvani (target <= 1.2) and navani/ours. Totals are sums over files.
"""

from __future__ import annotations

import argparse
import glob
import os
import time
import warnings
from pathlib import Path


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    default = os.environ.get("SULFURSCOPE_REALDATA", str(root.parent / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default=default)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--no-navani", action="store_true")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "echem", "*.mpr")))
    if not files:
        raise SystemExit(f"no .mpr files under {args.data}/echem")

    from galvani import BioLogic

    from sulfurscope.io import read_cycler

    loader = None
    if not args.no_navani:
        try:
            from navani.echem import echem_file_loader as loader
        except Exception as exc:  # navani optional
            print(f"navani not available: {exc}")

    def galvani_raw(f: str) -> None:
        with open(f, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            BioLogic.MPRfile(fh)

    # warm up imports / caches once per reader
    read_cycler(files[0])
    galvani_raw(files[0])

    head = f"{'file':46s} {'points':>7s} {'galvani':>9s} {'ours':>9s} {'ours+set':>9s} {'navani':>9s} {'ours/galv':>9s} {'+set/galv':>9s} {'navani/ours':>11s}"
    print(head)
    print("-" * len(head))
    tot = {"g": 0.0, "o": 0.0, "s": 0.0, "n": 0.0}
    n_nav = 0
    for f in files:
        n = len(read_cycler(f, settings=False).frame)
        g = best_of(lambda f=f: galvani_raw(f), args.repeats)
        o = best_of(lambda f=f: read_cycler(f, settings=False), args.repeats)
        s = best_of(lambda f=f: read_cycler(f), args.repeats)
        nv = float("nan")
        if loader is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    nv = best_of(lambda f=f: loader(f), max(1, args.repeats // 5))
            except Exception as exc:
                print(f"  navani failed on {Path(f).name}: {type(exc).__name__}: {exc}")
        tot["g"] += g
        tot["o"] += o
        tot["s"] += s
        if nv == nv:
            tot["n"] += nv
            n_nav += 1
        print(
            f"{Path(f).name[:46]:46s} {n:7d} {g * 1e3:8.2f}m {o * 1e3:8.2f}m {s * 1e3:8.2f}m "
            f"{nv * 1e3:8.1f}m {o / g:9.2f} {s / g:9.2f} {nv / o:11.1f}"
        )
    print("-" * len(head))
    print(
        f"{'TOTAL':46s} {'':7s} {tot['g'] * 1e3:8.2f}m {tot['o'] * 1e3:8.2f}m {tot['s'] * 1e3:8.2f}m "
        f"{tot['n'] * 1e3:8.1f}m {tot['o'] / tot['g']:9.2f} {tot['s'] / tot['g']:9.2f} "
        f"{(tot['n'] / tot['o']) if n_nav == len(files) else float('nan'):11.1f}"
    )
    print("times are best of N repeats (ms); target ours/galvani <= 1.2")


if __name__ == "__main__":
    main()
