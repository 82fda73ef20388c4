"""Benchmarks of the particle-size model (issue 4), printed side by side with PyBaMM where installed.

Run: ``python benchmarks/bench_model.py``. Plain wall-clock timings (best of a few repeats) in one
process; nothing here is asserted.

* Fig 5 sweep (model A): 5 rates × 3 size distributions × 24 classes, with the C/F rate correction
  (target < 0.5 s);
* model C rate test: formation result reused, 5 rates × 5 cycles over 24 classes;
* model B formation: 12 size classes × 30 cells, to the cut-off (target < 2 s), with the solver's
  right-hand-side and Jacobian counts;
* peer: PyBaMM SPM and MPM (12 size classes × 30 radial points) one-hour discharges, first solve
  (build + solve) and re-solve — only where the optional ``pybamm`` extra is installed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from sulfurscope.model import (
    CellModel,
    gaussian_distribution,
    predict_rate_capability,
    protocol_capacities,
    rate_law_capacity,
    rate_test_protocol,
    simulate_formation,
)

RATES = np.array([1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5])


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fig5_sweep() -> list:
    ref = (RATES, rate_law_capacity(RATES, q_max_mah_g=1400.0, c_star=30.0, m=6.0))
    dists = [gaussian_distribution(d, 0.3 * d, n_classes=24) for d in (1.0, 4.0, 8.0)]
    return [
        predict_rate_capability(ref, dist, shell_um=1.0, rate_correction=True) for dist in dists
    ]


def main() -> None:
    rows: list[tuple[str, float, str]] = []
    t, preds = best_of(fig5_sweep)
    rows.append(
        ("Fig 5 sweep: 5 rates x 3 distributions x 24 classes (model A)", t, "target < 0.5 s")
    )

    dist = gaussian_distribution(8.0, 2.4, n_classes=24)
    cell = CellModel(dist, n_cells=30)
    steps = rate_test_protocol()
    formed = protocol_capacities(steps[:1], cell).formation
    t, _ = best_of(lambda: protocol_capacities(steps, cell, formation_result=formed))
    rows.append(("Model C rate test: 5 rates x 5 cycles, 24 classes", t, "prototype 0.06 s"))

    dist12 = gaussian_distribution(8.0, 4.0, n_classes=12)
    t, res = best_of(lambda: simulate_formation(dist12, c_rate=0.1, n_cells=30))
    rows.append(
        (
            "Model B formation: 12 classes x 30 cells",
            t,
            f"target < 2 s; {res.n_rhs} RHS, {res.n_jac} Jacobians; F = {res.electrode_active_fraction:.3f}",
        )
    )

    try:
        import pybamm
    except ImportError:
        rows.append(
            ("PyBaMM SPM / MPM", float("nan"), "skipped: optional extra 'pybamm' not installed")
        )
    else:
        pybamm.set_logging_level("ERROR")
        spm = pybamm.Simulation(pybamm.lithium_ion.SPM())
        t_first, _ = best_of(lambda: spm.solve([0, 3600]), repeat=1)
        t_re, _ = best_of(lambda: spm.solve([0, 3600]))
        rows.append(
            (f"PyBaMM {pybamm.__version__} SPM 1 h discharge: first solve", t_first, "peer")
        )
        rows.append(("PyBaMM SPM re-solve", t_re, "peer"))
        model = pybamm.lithium_ion.MPM()
        pv = pybamm.get_size_distribution_parameters(pybamm.ParameterValues("Marquis2019"))
        pts = dict(model.default_var_pts)
        pts.update({"R_n": 12, "R_p": 12, "r_n": 30, "r_p": 30})
        mpm = pybamm.Simulation(model, parameter_values=pv, var_pts=pts)
        t_first, _ = best_of(lambda: mpm.solve([0, 3600]), repeat=1)
        t_re, _ = best_of(lambda: mpm.solve([0, 3600]))
        rows.append(
            ("PyBaMM MPM (12 size classes x 30 radial points): first solve", t_first, "peer")
        )
        rows.append(("PyBaMM MPM re-solve", t_re, "peer"))

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'time [s]':>9}  note")
    for name, t, note in rows:
        print(f"{name:<{width}}  {t:9.4f}  {note}")
    formation = next(r for r in rows if r[0].startswith("Model B"))[1]
    mpm_rows = [r for r in rows if r[0].startswith("PyBaMM MPM (")]
    if mpm_rows and np.isfinite(mpm_rows[0][1]):
        print(f"ratio PyBaMM MPM first solve / model B formation: {mpm_rows[0][1] / formation:.2f}")


if __name__ == "__main__":
    main()
