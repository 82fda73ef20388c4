"""Coverage of model B's D₀ and model A's shell over replicate simulated studies (issue 16).

Each study: three particle sizes (1, 4, 8 µm) × three replicate rate tests, simulated with
cell-to-cell spread (:class:`sulfurscope.simulate.study.CellSpread`: connected sulfur ±5 %, fade
and D₀ log-normal, balance error) on the simulator's finer numerics (16 size classes, 36 grid
cells, cycler drift and gain error), written as .mpt files, read and analysed by the cycling
analysis, summarised per condition by the replicates analysis, and fitted by the model-fit analysis
(models C, B and A; 8 classes, 20 cells). Reported for D₀: how often the simulated population
value lies within ±1.96 standard errors, for the fit's error alone and for the total (with model C's
uncertainty carried over). Model A's δ has no truth in a model-B simulation; its coverage is
checked against the geometric law in ``tests/truth/test_shell_fit_coverage.py``.

Run: ``python benchmarks/model_b_coverage.py [--studies 12]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def one_study(k: int, folder: Path) -> dict[str, float]:
    import pandas as pd

    from sulfurscope.analysis import run_files
    from sulfurscope.analysis.model import _condition_rates, analyse_model_fit
    from sulfurscope.analysis.replicates import analyse_replicates
    from sulfurscope.model import gaussian_distribution
    from sulfurscope.simulate.study import CellSpread, simulate_study

    sizes = (1.0, 4.0, 8.0)
    cells = simulate_study(folder, sizes_um=sizes, protocols=("rate",), replicates=3,
                           spread=CellSpread(), seed=5000 + k)
    frames = []
    for c in cells:
        r = run_files("cycling", {"file": c.path},
                      {"sulfur_mass_mg": c.sulfur_mass_mg, "protocol": "rate"})
        frames.append(r.tables["cycling_cycles"].assign(Task=c.label, Sample=c.sample))
    cycles = pd.concat(frames, ignore_index=True)
    cell_frame = pd.DataFrame({"Cell": [c.label for c in cells], "Sample": [c.sample for c in cells],
                               "Condition": [c.sample for c in cells], "Protocol": "rate",
                               "Excluded": "", "Sulfur mass [mg]": [c.sulfur_mass_mg for c in cells]})
    stats = analyse_replicates(cell_frame, {"cycling_cycles": cycles}).tables["condition_stats"]
    rates = _condition_rates(cycles, stats, cell_frame)
    dists = {f"AC-S_{d:g}um": gaussian_distribution(d, 0.3 * d, n_classes=8) for d in sizes}
    res = analyse_model_fit({k: rates[k] for k in dists}, dists)
    p = res.tables["model_parameters"]
    row = p[p["Parameter"] == "diffusivity_m2_s"].iloc[0]
    return {"value": float(row["Value"]), "se_fit": float(row["Standard error (fit)"]),
            "se": float(row["Standard error"])}


def main() -> None:
    from sulfurscope.model import FormationParameters

    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=12)
    args = ap.parse_args()
    truth = FormationParameters().diffusivity_m2_s
    hits = []
    for k in range(args.studies):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            r = one_study(k, Path(tmp))
        z_fit = (r["value"] - truth) / r["se_fit"]
        z = (r["value"] - truth) / r["se"]
        hits.append((abs(z_fit) <= 1.96, abs(z) <= 1.96))
        print(f"study {k + 1}: D0 {r['value']:.4g} ± {r['se_fit']:.2g} (fit) ± {r['se']:.2g} "
              f"(total); z {z_fit:+.2f} / {z:+.2f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    a = np.array(hits)
    print(f"D0 truth {truth:.4g}: within 1.96 SE(fit) {a[:, 0].mean():5.0%}, "
          f"within 1.96 SE(total) {a[:, 1].mean():5.0%}  ({len(a)} studies)")


if __name__ == "__main__":
    main()
