"""Coverage of the condition intervals (issue 18): the fraction of 95 % intervals that contain the
true mean over ``TRIALS`` synthetic sets of replicate cells drawn from a known distribution.

Cases: normal replicates (n = 3, 5), replicates sharing an error of stated size (the sample's
sulfur fraction), one cell with its stated measurement uncertainty, log-normal replicates with the
percentile bootstrap (n = 5, 10). The sets are drawn here with NumPy, not by the code under test.

Run: ``python benchmarks/replicate_coverage.py``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sulfurscope.replicates import condition_summary

TRIALS = 10_000
MU, SIGMA = 600.0, 40.0


def _coverage(x: np.ndarray, truth: float, *, u_shared: float = 0.0, u_cell: float = 0.0,
              method: str = "t") -> float:
    trials, n = x.shape
    v = pd.DataFrame({
        "condition": np.repeat(np.arange(trials).astype(str), n), "metric": "m",
        "protocol": "rate", "cycle_or_rate": "1", "cell": np.tile(np.arange(n).astype(str), trials),
        "value": x.ravel(), "unit": "mAh/g", "u_shared": u_shared, "u_cell": u_cell,
    })
    s = condition_summary(v, method=method)
    return float(((s["ci95_low"] <= truth) & (truth <= s["ci95_high"])).mean())


def main() -> None:
    rng = np.random.default_rng(2026)
    rows = []
    for n in (2, 3, 5, 10):
        rows.append((f"normal, t, n = {n}", _coverage(rng.normal(MU, SIGMA, (TRIALS, n)), MU)))
    for n in (3, 5):
        x = MU + rng.normal(0, 25, (TRIALS, 1)) + rng.normal(0, SIGMA, (TRIALS, n))
        rows.append((f"shared error 25, ignored, n = {n}", _coverage(x, MU)))
        rows.append((f"shared error 25, stated, n = {n}", _coverage(x, MU, u_shared=25.0)))
    rows.append(("one cell, u stated", _coverage(rng.normal(MU, 12, (TRIALS, 1)), MU, u_cell=12)))
    truth = MU * np.exp(0.1**2 / 2)
    for n in (5, 10):
        x = rng.lognormal(np.log(MU), 0.1, (2000, n))
        rows.append((f"log-normal, t, n = {n}", _coverage(x, truth)))
        rows.append((f"log-normal, bootstrap, n = {n}", _coverage(x, truth, method="bootstrap")))
    for name, cov in rows:
        print(f"{name:38s} coverage {cov:6.1%}")


if __name__ == "__main__":
    main()
