"""Benchmark: full JEOL .pts (512 × 512 × 4096) → two net-intensity maps → depth profile.

Each path runs in its own subprocess so that its peak resident memory (``ru_maxrss``) is its own;
``tracemalloc`` gives the peak of Python/NumPy allocations in the measured section, and the RSS
after imports (baseline) is printed so the increment is visible. Paths:

``ours``         sulfurscope: read_eds (NumPy stream decoder → event form) → line_maps → edge
                 (from S Kα) → profile
``ours-rsciio``  the same with ``engine="rosettasciio"`` (rosettasciio lazy: numba + sparse)
``exspy-lazy``   hyperspy.load(lazy=True) → estimate_background_windows → get_lines_intensity
``exspy-dense``  hyperspy.load() (dense uint8 cube) → the same

Run: ``/work/venv/bin/python benchmarks/bench_eds.py [PATH_TO_PTS]`` (target: ≤ 300 MB peak).
exspy/hyperspy are test-only dependencies; this script imports them only in their subprocesses.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

LINES = ["S_Ka", "F_Ka"]
DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "spectro"
    / "eds_jeol"
    / "Sample"
    / "00_View000"
    / "View000_0000006.pts"
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _ours(path: str, engine: str) -> dict:
    import numpy as np

    from sulfurscope.io.eds import read_eds
    from sulfurscope.spectra.eds import depth_profile, line_maps, particle_edge_depth

    base = _rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    si = read_eds(path, engine=engine).spectrum_image  # type: ignore[arg-type]
    t_read = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = line_maps(si, LINES)
    dm = particle_edge_depth(lm.gross[0])
    prof = depth_profile(lm.net, dm, lines=lm.lines, pixel_size_nm=si.pixel_size_nm)
    t = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return {
        "path": "ours" if engine == "stream" else "ours-rsciio",
        "time_s": t,
        "read_s": t_read,
        "tracemalloc_peak_mb": peak,
        "rss_baseline_mb": base,
        "rss_peak_mb": _rss_mb(),
        "net_totals": [float(x) for x in lm.net.sum(axis=(1, 2))],
        "gross_totals": [float(x) for x in lm.gross.sum(axis=(1, 2))],
        "profile_bins": int(len(prof.depth_nm)),
        "storage": "events",
        "shape": list(si.shape),
        "nonzero": int(np.count_nonzero(si.event_counts)),
    }


def _exspy(path: str, lazy: bool) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import exspy  # noqa: F401  (registers the EDS signal classes)
        import hyperspy.api as hs
    import numpy as np

    base = _rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = hs.load(path, lazy=lazy)
        t_read = time.perf_counter() - t0
        bw = s.estimate_background_windows(xray_lines=LINES)
        net = s.get_lines_intensity(LINES, background_windows=bw)
        gross = s.get_lines_intensity(LINES)
        if lazy:
            for img in net + gross:
                img.compute()
    t = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return {
        "path": "exspy-lazy" if lazy else "exspy-dense",
        "time_s": t,
        "read_s": t_read,
        "tracemalloc_peak_mb": peak,
        "rss_baseline_mb": base,
        "rss_peak_mb": _rss_mb(),
        "net_totals": [float(np.asarray(i.data).sum()) for i in net],
        "gross_totals": [float(np.asarray(i.data).sum()) for i in gross],
    }


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        which, path = sys.argv[2], sys.argv[3]
        if which.startswith("ours"):
            out = _ours(path, "stream" if which == "ours" else "rosettasciio")
        else:
            out = _exspy(path, lazy=(which == "exspy-lazy"))
        print("RESULT " + json.dumps(out))
        return
    path = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT)
    if not Path(path).exists():
        sys.exit(f"{path}: not found (pass the .pts path)")
    results = {}
    for which in ("ours", "ours-rsciio", "exspy-lazy", "exspy-dense"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", which, path],
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{which}: failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
            continue
        results[which] = json.loads(line[0][7:])
    print(f"file: {path}  lines: {', '.join(LINES)}")
    print(
        f"{'path':12s} {'time [s]':>9s} {'read [s]':>9s} {'tracemalloc peak [MB]':>22s} "
        f"{'RSS peak [MB]':>14s} {'RSS after imports [MB]':>23s}  net totals / gross totals"
    )
    for r in results.values():
        print(
            f"{r['path']:12s} {r['time_s']:9.2f} {r['read_s']:9.2f} {r['tracemalloc_peak_mb']:22.1f} "
            f"{r['rss_peak_mb']:14.1f} {r['rss_baseline_mb']:23.1f}  "
            f"{[round(x, 1) for x in r['net_totals']]} / {[round(x) for x in r['gross_totals']]}"
        )
    if "ours" in results:
        o = results["ours"]
        for k in ("ours-rsciio", "exspy-lazy", "exspy-dense"):
            if k in results:
                e = results[k]
                print(
                    f"ours vs {k}: {k} takes ×{e['time_s'] / o['time_s']:.1f} the time and "
                    f"×{e['rss_peak_mb'] / o['rss_peak_mb']:.2f} the RSS peak; "
                    f"net totals equal: "
                    f"{all(abs(a - b) < 1e-6 * max(1, abs(b)) for a, b in zip(o['net_totals'], e['net_totals'], strict=True))}"
                )
        print(
            f"target ≤ 300 MB peak: ours RSS {o['rss_peak_mb']:.0f} MB "
            f"({'met' if o['rss_peak_mb'] <= 300 else 'NOT met'}), "
            f"increment over imports {o['rss_peak_mb'] - o['rss_baseline_mb']:.0f} MB, "
            f"tracemalloc {o['tracemalloc_peak_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
