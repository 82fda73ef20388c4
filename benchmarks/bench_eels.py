"""EELS benchmark: sulfurscope vs exspy on the real LSMO line scan (40 px), one process.

Path timed (both sides configured alike, files already in memory):
1. t/λ: ZLP alignment (whole channels) + log-ratio with a 3 eV ZLP window
   (exspy: ``align_zero_loss_peak(subpixel=False)`` + ``estimate_thickness(threshold=3)``);
2. O K and Mn L2,3: power-law background in the pre-edge window (two-area, exspy
   ``remove_background(fast=True)``) and the integral over the edge window;
3. integrals ÷ t/λ.
Also our ``log_fit`` background, our default ``least_squares`` background against exspy's
``remove_background(fast=False)`` (the same unweighted power-law fit), and agreement (max relative difference) per quantity.
A larger synthetic scan (simulate.eels, 61 px × 860 ch) is timed for ours only.

Run: ``python benchmarks/bench_eels.py`` (needs the real data folder and exspy).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (
    Path(os.environ.get("SULFURSCOPE_REALDATA", ROOT.parent / "shared" / "data"))
    / "spectro"
    / "eels"
)


def _best(fn, repeat: int = 5) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import exspy  # noqa: F401
    import hyperspy.api as hs

    from sulfurscope.io.eels import read_eels
    from sulfurscope.simulate.eels import simulate_eels_line_scan
    from sulfurscope.spectra.eels import EDGE_TABLE, edge_integrals, relative_thickness

    ll_path, cl_path = DATA / "LSMO_linescan_lowloss.hspy", DATA / "LSMO_linescan_coreloss.hspy"
    edges = ("O_K", "Mn_L23")

    t_read_ours, (ll, cl) = _best(lambda: (read_eels(ll_path), read_eels(cl_path)))
    t_read_hs, (sll, scl) = _best(lambda: (hs.load(ll_path), hs.load(cl_path)))

    def ours(method="two_area"):
        th = relative_thickness(ll.counts, ll.energy_ev, zlp_window_ev=(None, 3.0))
        integ = edge_integrals(cl.counts, cl.energy_ev, list(edges), method=method)
        return th.t_over_lambda, integ.integral / th.t_over_lambda[:, None]

    def theirs():
        s = sll.deepcopy()
        s.align_zero_loss_peak(subpixel=False, print_stats=False, show_progressbar=False)
        tl = s.estimate_thickness(threshold=3.0).data
        cols = []
        for e in edges:
            w = EDGE_TABLE[e]
            sub = scl.remove_background(
                signal_range=w.background_ev,
                background_type="PowerLaw",
                fast=True,
                show_progressbar=False,
            )
            cols.append(sub.isig[w.integral_ev[0] : w.integral_ev[1]].integrate1D(-1).data)
        return tl, np.stack(cols, axis=1) / tl[:, None]

    def theirs_nlls():
        cols = []
        for e in edges:
            w = EDGE_TABLE[e]
            sub = scl.remove_background(
                signal_range=w.background_ev,
                background_type="PowerLaw",
                fast=False,
                show_progressbar=False,
            )
            cols.append(sub.isig[w.integral_ev[0] : w.integral_ev[1]].integrate1D(-1).data)
        return np.stack(cols, axis=1)

    t_ls, ls_o = _best(
        lambda: edge_integrals(cl.counts, cl.energy_ev, list(edges), method="least_squares").integral
    )
    t_nlls, ls_e = _best(theirs_nlls, repeat=1)
    t_ours, (tl_o, n_o) = _best(ours)
    t_log, _ = _best(lambda: ours("log_fit"))
    t_theirs, (tl_e, n_e) = _best(theirs, repeat=3)
    print("LSMO line scan, 40 px: t/λ + O K + Mn L2,3 integrals ÷ t/λ")
    print(
        f"  read (2 files)       ours {t_read_ours * 1e3:8.1f} ms   hyperspy.load {t_read_hs * 1e3:8.1f} ms"
    )
    print(
        f"  analysis (two_area)  ours {t_ours * 1e3:8.2f} ms   exspy {t_theirs * 1e3:8.1f} ms   "
        f"ratio exspy/ours = {t_theirs / t_ours:6.1f}×"
    )
    print(f"  analysis (log_fit)   ours {t_log * 1e3:8.2f} ms")
    print(
        f"  background least squares (default; exspy fast=False): ours {t_ls * 1e3:8.2f} ms   "
        f"exspy {t_nlls * 1e3:8.1f} ms   ratio = {t_nlls / t_ls:6.1f}×   "
        f"max |rel diff| of the integrals = {np.max(np.abs(ls_o / ls_e - 1)):.2e}"
    )
    print(f"  agreement: t/λ max |rel diff| = {np.max(np.abs(tl_o / tl_e - 1)):.2e}")
    for j, e in enumerate(edges):
        print(
            f"             {e} integral/(t/λ) max |rel diff| = {np.max(np.abs(n_o[:, j] / n_e[:, j] - 1)):.2e}"
        )

    sim = simulate_eels_line_scan(rng=np.random.default_rng(0))
    t_sim, _ = _best(
        lambda: (
            relative_thickness(sim.low_loss, sim.low_loss_energy_ev),
            edge_integrals(sim.core_loss, sim.core_loss_energy_ev, ["Li_K", "S_L23"]),
        )
    )
    print(f"synthetic scan 61 px (ours, log_fit): {t_sim * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
