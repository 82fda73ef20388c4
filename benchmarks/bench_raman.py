"""Benchmark the Raman band fits on the real Renishaw line (235 spectra × 1015 points).

Ours: :func:`sulfurscope.spectra.raman.fit_raman_map` (despike → window → pybaselines imodpoly →
bands + linear term on the shared peak core). Peer: plain lmfit on the SAME model — same
pre-processing (our despike and baseline, timed too), the same band shapes, start values, bounds and
linear term, ``leastsq`` with at most 5000 evaluations (see LMFIT_MAX_NFEV). Both run single-threaded BLAS in one process.
Printed: total time, time per spectrum, lmfit/ours ratio, failures, and how far the two I_D/I_G
(height) agree on spectra both fitted.

    /work/venv/bin/python benchmarks/bench_raman.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # 6 agents share 2 cores: threads only contend
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from sulfurscope.io.raman import read_raman  # noqa: E402
from sulfurscope.spectra.raman import RAMAN_BAND_SETS, despike, raman_baseline
from sulfurscope.spectra.raman_map import fit_raman_map

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SULFURSCOPE_REALDATA", ROOT.parent / "shared" / "data"))
WDF = DATA / "spectro" / "raman" / "Renishaw_532nm_carbon_DG_235spectra.wdf"
WINDOW = (1000.0, 2000.0)
# lmfit's leastsq spends P + 1 evaluations per finite-difference Jacobian (P = 8 two-band, 17
# five-band); 5000 evaluations ≈ 280 five-band iterations, ours is limited to 1000 evaluations with
# an analytic Jacobian. lmfit's own default (2000·(P+1) = 36,000) makes the five-band line take
# tens of minutes because most fits end on a bound, where leastsq's bound transform crawls.
LMFIT_MAX_NFEV = 5000
_H = {"lorentzian": 2.0 / np.pi, "gaussian": 2.0 * np.sqrt(np.log(2.0) / np.pi)}
_SIG = {"lorentzian": 2.0, "gaussian": 2.0 * np.sqrt(2.0 * np.log(2.0))}


def lmfit_line(x, y, model):
    """Plain lmfit on the same band model; returns (I_D/I_G height, χ² per spectrum, failures)."""
    import lmfit

    bands = RAMAN_BAND_SETS[model]
    d_name = "D1" if model == "sadezky" else "D"
    clean = despike(y)
    sel = (x >= WINDOW[0]) & (x <= WINDOW[1])
    xw = x[sel]
    comp = None
    for b in bands:
        cls = (
            lmfit.models.LorentzianModel if b.shape == "lorentzian" else lmfit.models.GaussianModel
        )
        m = cls(prefix=f"{b.name}_")
        comp = m if comp is None else comp + m
    comp = comp + lmfit.models.LinearModel(prefix="bg_")
    ratios, chi2, failed = [], [], 0
    for row in clean:
        yw = row[sel]
        net = yw - raman_baseline(xw, yw)
        scale = float(net.max())
        pars = comp.make_params(bg_slope=0.0, bg_intercept=0.0)
        for b in bands:
            cmin, cmax = max(b.center_min_cm1, xw[0]), min(b.center_max_cm1, xw[-1])
            c = float(
                np.clip(b.center_cm1, cmin + 1e-6 * (cmax - cmin), cmax - 1e-6 * (cmax - cmin))
            )
            h = max(float(np.interp(c, xw, net)), 0.02 * scale)
            h = 0.25 * h if b.name in ("D2", "D3", "D4") else h
            pars[f"{b.name}_center"].set(value=c, min=cmin, max=cmax)
            pars[f"{b.name}_sigma"].set(
                value=b.fwhm_cm1 / _SIG[b.shape],
                min=b.fwhm_min_cm1 / _SIG[b.shape],
                max=b.fwhm_max_cm1 / _SIG[b.shape],
            )
            pars[f"{b.name}_amplitude"].set(value=h * b.fwhm_cm1 / _H[b.shape], min=0.0)
        try:
            out = comp.fit(net, pars, x=xw, max_nfev=LMFIT_MAX_NFEV)
        except Exception:
            failed += 1
            ratios.append(np.nan)
            chi2.append(np.nan)
            continue
        if not out.success:
            failed += 1
        v = out.params
        ratios.append(v[f"{d_name}_height"].value / v["G_height"].value)
        chi2.append(out.chisqr)
    return np.asarray(ratios), np.asarray(chi2), failed


def main() -> None:
    if not WDF.exists():
        raise SystemExit(f"real file not found: {WDF} (set SULFURSCOPE_REALDATA)")
    data = read_raman(WDF)
    x, y = data.shift_cm1, data.intensity
    m = y.shape[0]
    print(f"{WDF.name}: {m} spectra × {x.size} points, window {WINDOW} 1/cm")
    fit_raman_map(x, y[:3], model="two-band")  # warm-up (imports)
    for model in ("two-band", "sadezky"):
        t0 = time.perf_counter()
        ours = fit_raman_map(x, y, model=model)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref, ref_chi2, lm_failed = lmfit_line(x, y, model)
        t_lm = time.perf_counter() - t0
        s = ours.summary
        ok = s["Success"].to_numpy(bool) & np.isfinite(ref)
        diff = np.abs(s["I_D/I_G (height)"].to_numpy()[ok] - ref[ok]) / np.abs(ref[ok])
        n_pts = int(((x >= WINDOW[0]) & (x <= WINDOW[1])).sum())
        n_par = 3 * len(RAMAN_BAND_SETS[model]) + 2
        our_chi2 = s["Reduced chi-square"].to_numpy(float)[ok] * (n_pts - n_par)
        lower = np.mean(our_chi2 <= ref_chi2[ok] * (1 + 1e-6))
        print(
            f"{model:9s} ours {t_ours:6.2f} s ({1e3 * t_ours / m:5.1f} ms/spectrum, "
            f"{int((~s['Success']).sum())} marked failed) | lmfit {t_lm:6.2f} s "
            f"({1e3 * t_lm / m:5.1f} ms/spectrum, {lm_failed} not converged) | "
            f"lmfit/ours = {t_lm / t_ours:4.1f}x | I_D/I_G(height) rel. diff median "
            f"{np.median(diff):.1e}, share within 1 %: {np.mean(diff < 0.01):.0%}; "
            f"ours reaches χ² ≤ lmfit's on {lower:.0%} of them"
        )
        print(
            f"          medians: ours I_D/I_G height {np.nanmedian(s['I_D/I_G (height)']):.3f}, "
            f"area {np.nanmedian(s['I_D/I_G (area)']):.3f}; lmfit height {np.nanmedian(ref):.3f}"
        )


if __name__ == "__main__":
    main()
