"""Benchmark: file → full cycling summary, sulfurscope vs navani, with galvani's raw parse as the floor.

Run: ``python benchmarks/bench_cycling.py [DATA_DIR] [--repeats N]`` (navani is not a dependency:
``pip install --no-deps navani NewareNDA`` into the same environment first; without it the navani
column is skipped).

For every real BioLogic .mpr file, best of N in one process:

* ``galvani``  — ``galvani.BioLogic.MPRfile`` on the file (the raw structured-array parse);
* ``read``     — ``sulfurscope.io.read_cycler`` (canonical table, settings through yadg included);
* ``summary``  — read + ``cycle_summary`` (the per-cycle table: what navani computes);
* ``full``     — summary + ``voltage_profiles`` + ``rate_capability`` + ``retention`` (with its fit);
* ``navani``   — ``navani.echem.echem_file_loader`` + ``navani.echem.cycle_summary``.

Prints the ratios read/galvani (target ≤ 1.2), navani/summary (like for like, target ≥ 10) and
navani/full, per file and over all files.
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("data", nargs="?", default=default)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    from galvani import BioLogic

    from sulfurscope.cycling import cycle_summary, rate_capability, retention, voltage_profiles
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.io import read_cycler

    try:
        import navani.echem as nav
        import numpy as np

        if not hasattr(np, "trapz"):  # navani 0.1.22 still calls np.trapz, removed in NumPy 2.0
            np.trapz = np.trapezoid  # type: ignore[attr-defined]  # noqa: NPY201
    except ImportError:
        nav = None

    def ours_summary(path: Path) -> None:
        cycle_summary(read_cycler(path).frame, sulfur_mass_mg=2.0)

    def ours_full(path: Path) -> None:
        d = read_cycler(path)
        s = cycle_summary(d.frame, sulfur_mass_mg=2.0)
        voltage_profiles(d.frame, sulfur_mass_mg=2.0)
        with contextlib.suppress(SulfurscopeError):
            rate_capability(s)
        with contextlib.suppress(SulfurscopeError):
            retention(s)

    def navani_full(path: Path) -> None:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = nav.echem_file_loader(str(path))
            nav.cycle_summary(df)

    def galvani_raw(path: Path) -> None:
        with open(path, "rb") as fh:
            BioLogic.MPRfile(fh)

    warnings.simplefilter("ignore")  # galvani warns about unknown column ids on several real files
    files = sorted(Path(args.data, "echem").glob("*.mpr"))
    print(
        f"{'file':44s} {'points':>7s} {'galvani':>9s} {'read':>9s} {'summary':>9s} {'full':>9s} {'navani':>9s} {'rd/galv':>8s} {'nav/sum':>8s} {'nav/full':>8s}"
    )
    tot = {"g": 0.0, "r": 0.0, "s": 0.0, "f": 0.0, "n": 0.0, "s_nav": 0.0, "f_nav": 0.0}
    nav_ok = nav is not None

    for f in files:
        n_pts = len(read_cycler(f).frame)
        try:
            ours_summary(f)
        except SulfurscopeError as exc:  # not a cycling file (OCV, impedance): nothing to summarise
            print(f"{f.name[:44]:44s} {n_pts:7d}  skipped: {str(exc)[:70]}")
            continue
        g = best_of(lambda f=f: galvani_raw(f), args.repeats)
        r = best_of(lambda f=f: read_cycler(f), args.repeats)
        su = best_of(lambda f=f: ours_summary(f), args.repeats)
        fu = best_of(lambda f=f: ours_full(f), args.repeats)
        nv = float("nan")
        if nav_ok:
            try:
                nv = best_of(lambda f=f: navani_full(f), max(2, args.repeats // 3))
            except Exception as exc:  # navani fails on some real files; say so, keep going
                print(f"  navani failed on {f.name}: {type(exc).__name__}: {str(exc)[:80]}")
        tot["g"] += g
        tot["r"] += r
        tot["s"] += su
        tot["f"] += fu
        if nv == nv:
            tot["n"] += nv
            tot["s_nav"] += su
            tot["f_nav"] += fu
        print(
            f"{f.name[:44]:44s} {n_pts:7d} {g * 1e3:7.2f}ms {r * 1e3:7.2f}ms {su * 1e3:7.2f}ms {fu * 1e3:7.2f}ms {nv * 1e3:7.2f}ms {r / g:8.2f} {nv / su:8.1f} {nv / fu:8.1f}"
        )
    ms = {k: v * 1e3 for k, v in tot.items()}
    print(
        f"{'TOTAL':44s} {'':7s} {ms['g']:7.2f}ms {ms['r']:7.2f}ms {ms['s']:7.2f}ms {ms['f']:7.2f}ms {ms['n']:7.2f}ms {tot['r'] / tot['g']:8.2f} {tot['n'] / max(tot['s_nav'], 1e-12):8.1f} {tot['n'] / max(tot['f_nav'], 1e-12):8.1f}"
    )
    print("targets: read/galvani <= 1.2 ; navani/summary >= 10")


if __name__ == "__main__":
    main()
