"""Coverage of model C's parameter uncertainty over replicate simulated studies (issues 16, 18).

Each study: three replicate rate tests of the ~1 µm sample simulated with cell-to-cell spread
(:class:`sulfurscope.simulate.study.CellSpread`: connected sulfur ±5 %, fade and D₀ log-normal,
balance error), written as .mpt files, read and analysed by the cycling analysis, summarised by the
replicates analysis (condition mean ± u per cycle), and model C fitted to the condition mean on the
true size distribution by the model-fit analysis (weighted; the fit's, and the replicate level's
standard errors). Reported: how often the simulated parameter lies within ±1.96 standard errors,
for the fit's error alone and for the total.

Run: ``python benchmarks/model_replicate_coverage.py [--studies 30]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def one_study(k: int, folder: Path) -> dict[str, tuple[float, float, float]]:
    import pandas as pd

    from sulfurscope.analysis import run_files
    from sulfurscope.analysis._refits import refit_values
    from sulfurscope.analysis.model import (
        ModelFitOptions,
        _condition_rates,
        _refit_calls,
        _with_size_uncertainty,
    )
    from sulfurscope.analysis.replicates import analyse_replicates
    from sulfurscope.model import fit_cycling_model
    from sulfurscope.simulate.study import CellSpread, default_cell_model, simulate_study

    cells = simulate_study(folder, sizes_um=(1.0,), protocols=("rate",), replicates=3,
                           spread=CellSpread(), seed=1000 + k)
    frames = []
    for c in cells:
        r = run_files("cycling", {"file": c.path},
                      {"sulfur_mass_mg": c.sulfur_mass_mg, "protocol": "rate"})
        frames.append(r.tables["cycling_cycles"].assign(Task=c.label, Sample=c.sample))
    cycles = pd.concat(frames, ignore_index=True)
    cell_frame = pd.DataFrame({"Cell": [c.label for c in cells], "Sample": cells[0].sample,
                               "Condition": cells[0].sample, "Protocol": "rate", "Excluded": "",
                               "Sulfur mass [mg]": [c.sulfur_mass_mg for c in cells]})
    stats = analyse_replicates(cell_frame, {"cycling_cycles": cycles}).tables["condition_stats"]
    rate = _condition_rates(cycles, stats, cell_frame)[cells[0].sample]
    dist = default_cell_model(1.0, 0.3).distribution
    opts = ModelFitOptions()
    fit = fit_cycling_model(rate, dist, n_cells=opts.n_cells)
    names = list(fit.to_frame()["Parameter"])
    calls, n_size = _refit_calls(fit, rate, dist, opts, names)
    refits = [refit_values(*c) for c in calls]
    frame = _with_size_uncertainty(fit, rate, dist, refits, n_size).set_index("Parameter")
    return {p: (float(frame.loc[p, "Value"]), float(frame.loc[p, "Standard error (fit)"]),
                float(frame.loc[p, "Standard error"])) for p in frame.index}


def main() -> None:
    from sulfurscope.model import CyclingParameters

    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=30)
    args = ap.parse_args()
    truth = CyclingParameters().to_dict()
    hits: dict[str, list[tuple[bool, bool]]] = {}
    for k in range(args.studies):
        with tempfile.TemporaryDirectory() as tmp:
            res = one_study(k, Path(tmp))
        for p, (v, se_fit, se) in res.items():
            t = truth[p]
            hits.setdefault(p, []).append((abs(v - t) <= 1.96 * se_fit, abs(v - t) <= 1.96 * se))
        print(f"study {k + 1}: " + ", ".join(f"{p} {v:.4g}±{sf:.2g} (fit) ±{se:.2g} (total)"
                                             for p, (v, sf, se) in res.items()),
              flush=True)
    for p, h in hits.items():
        a = np.array(h)
        print(f"{p:16s} truth {truth[p]:.4g}: within 1.96 SE(fit) {a[:, 0].mean():5.0%}, "
              f"within 1.96 SE(total) {a[:, 1].mean():5.0%}  ({len(a)} studies)")


if __name__ == "__main__":
    main()
