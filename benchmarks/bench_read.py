"""Benchmark: our BioLogic .mpr read vs galvani's raw parse and navani's loader (same process).

Run: ``python benchmarks/bench_read.py [DATA_DIR] [--repeats N]``. For every real .mpr file it
prints the best-of-N time of

* ``galvani``   — ``galvani.BioLogic.MPRfile`` on an open file (the raw structured-array parse);
* ``ours``      — ``sulfurscope.io.read_cycler(path, settings=False)`` (canonical table);
* ``ours+set``  — ``read_cycler(path)`` (canonical table + technique settings through yadg);
* ``navani``    — ``navani.echem.echem_file_loader(path)`` (a pandas table with navani's columns);

and the ratios ours/galvani (target <= 1.2) and navani/ours. Totals are sums over files.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import glob
import io
import logging
import os
import random
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def interleaved_best(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best-of-N wall time of each function, the functions taking turns in every round.

    Taking turns, in a shuffled order each round, exposes every reader to the same machine load
    (the host is shared) and the same allocator state (large buffers freed by the previous reader
    change the cost of the next one's page faults); the garbage collector is off while timing, as
    in :mod:`timeit`.
    """
    best = dict.fromkeys(fns, float("inf"))
    order = list(fns)
    rng = random.Random(0)
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            rng.shuffle(order)
            for key in order:
                fn = fns[key]
                t0 = time.perf_counter()
                fn()
                best[key] = min(best[key], time.perf_counter() - t0)
    finally:
        gc.enable()
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

    cols = ("galvani", "ours", "ours+set", "navani", "ours/galv", "+set/galv")
    head = f"{'file':46s} {'points':>7s} " + " ".join(f"{c:>9s}" for c in cols)
    head += f" {'navani/ours':>11s}"
    print(head)
    print("-" * len(head))
    tot = {"g": 0.0, "o": 0.0, "s": 0.0, "n": 0.0}
    n_nav = 0
    for f in files:
        n = len(read_cycler(f, settings=False).frame)
        fns: dict[str, Callable[[], object]] = {
            "g": lambda f=f: galvani_raw(f),
            "o": lambda f=f: read_cycler(f, settings=False),
            "s": lambda f=f: read_cycler(f),
        }
        best = interleaved_best(fns, args.repeats)
        g, o, s = best["g"], best["o"], best["s"]
        nv = float("nan")
        if loader is not None:
            try:
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("ignore")
                    nv = interleaved_best({"n": lambda f=f: loader(f)}, max(2, args.repeats // 5))[
                        "n"
                    ]
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
        f"{'TOTAL':46s} {'':7s} {tot['g'] * 1e3:8.2f}m {tot['o'] * 1e3:8.2f}m "
        f"{tot['s'] * 1e3:8.2f}m "
        f"{tot['n'] * 1e3:8.1f}m {tot['o'] / tot['g']:9.2f} {tot['s'] / tot['g']:9.2f} "
        f"{(tot['n'] / tot['o']) if n_nav == len(files) else float('nan'):11.1f}"
    )
    print("times are best of N repeats (ms); target ours/galvani <= 1.2")
    bench_mpt(args.data, max(3, args.repeats // 5), loader)


def bench_mpt(data: str, repeats: int, loader: Callable[..., object] | None) -> None:
    """.mpt text exports: ours vs galvani's MPTfile, yadg's eclab.mpt extractor and navani."""
    from galvani import BioLogic

    from sulfurscope.io import read_cycler

    files = sorted(glob.glob(os.path.join(data, "echem", "*.mpt")))
    if not files:
        return

    def galvani_mpt(f: str) -> None:
        with open(f, "rb") as fh:
            rows, _ = BioLogic.MPTfile(fh, encoding="latin1")
            for _ in rows:
                pass

    def yadg_mpt(f: str) -> None:
        from yadg.extractors import extract

        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)
            try:
                extract(filetype="eclab.mpt", path=f, timezone="UTC", encoding="windows-1252")
            finally:
                logging.disable(logging.NOTSET)

    peers: dict[str, Callable[[str], object]] = {"galvani": galvani_mpt, "yadg": yadg_mpt}
    if loader is not None:
        peers["navani"] = loader
    print()
    print(f"{'.mpt file':46s} {'ours':>9s} " + " ".join(f"{k:>14s}" for k in peers))
    for f in files:
        ours = interleaved_best({"o": lambda f=f: read_cycler(f)}, repeats)["o"]
        cells = []
        for name, fn in peers.items():
            try:
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("ignore")
                    t = interleaved_best(
                        {"p": lambda f=f, fn=fn: fn(f)}, 2 if name == "yadg" else repeats
                    )["p"]
                cells.append(f"{t * 1e3:8.1f}m ({t / ours:4.0f}x)")
            except Exception as exc:
                cells.append(f"{'FAIL ' + type(exc).__name__:>14s}")
        print(f"{Path(f).name[:46]:46s} {ours * 1e3:8.2f}m " + " ".join(f"{c:>14s}" for c in cells))
    print("(Nx) = peer time / ours; galvani's MPTfile accepts only four fixed column layouts")


if __name__ == "__main__":
    main()
