"""Particle-sizing accuracy on real micrographs with hand-made masks, and speed, against the plain
scikit-image pipeline (Otsu + distance-transform watershed, README "Training batch 3"), in one run.

Per image: the mask's median equivalent-circle diameter (truth), sulfurscope's automatic mode and the
baseline, their errors, sulfurscope's warnings, and the time ratio sulfurscope / baseline.

Run: ``python benchmarks/bench_particle_accuracy.py`` (needs SULFURSCOPE_REALDATA, default
../shared/data).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from skimage.io import imread
    from tests.microscopy._masks import CASES, baseline_median_ecd, truth_median_ecd, window

    from sulfurscope.analysis import run_files
    from sulfurscope.io.images import read_image

    folder = Path(os.environ.get("SULFURSCOPE_REALDATA", ROOT.parent / "shared" / "data")) / "images"
    print("| image | truth median ECD [px] (n) | sulfurscope [px] | error | baseline [px] | error | "
          "sulfurscope warnings | time ratio |")
    print("|---|---|---|---|---|---|---|---|")
    errs, base_errs, ratios = [], [], []
    for name, ext, mask, win, kind in CASES:
        true, n = truth_median_ecd(folder, name, mask, win, kind)
        mic = read_image(folder / f"{name}{ext}")
        t0 = time.perf_counter()
        res = run_files("particles", {"file": folder / f"{name}{ext}"})
        t_ours = time.perf_counter() - t0
        table = res.tables["particles"]
        col = next(c for c in table.columns if c.startswith("Equivalent diameter"))
        px = mic.calibration.pixel_size_nm
        ours = float(np.median(table[col].to_numpy() / (px if col.endswith("[nm]") else 1.0)))
        t0 = time.perf_counter()  # the plain pipeline reads its file too (scikit-image's imread)
        raw = np.asarray(imread(folder / f"{name}{ext}"), dtype=float)
        base = baseline_median_ecd(window(raw if raw.ndim == 2 else raw[..., :3].mean(-1), win))
        t_base = time.perf_counter() - t0
        e, b = 100 * (ours - true) / true, 100 * (base - true) / true
        errs.append(abs(e))
        base_errs.append(abs(b))
        ratios.append(t_ours / t_base)
        warn = ", ".join(sorted(f.code for f in res.flags if f.severity == "warning"
                                and f.code != "uncalibrated")) or "—"
        print(f"| {name} | {true:.1f} ({n}) | {ours:.1f} | {e:+.1f} % | {base:.1f} | {b:+.1f} % | "
              f"{warn} | {t_ours / t_base:.1f} |")
    print(f"\nmean |error|: sulfurscope {np.mean(errs):.1f} %, baseline {np.mean(base_errs):.1f} %; "
          f"median time ratio {np.median(ratios):.1f}")


if __name__ == "__main__":
    main()
