"""The particle-size model (Figure 5): predict, formation, fit.

Three analyses, each the one implementation behind its CLI command and (for the fit) the pipeline's
study-level ``model`` step:

:func:`analyse_model_predict`    model A: other sizes' rate capability from a reference curve (5b–e)
:func:`analyse_model_formation`  model B: the first discharge, active fraction per size, θ(r)
:func:`analyse_model_fit`        models C, B and A fitted to the study's tables, then every sample's
                                 rate test, retention and first discharge predicted (Figure 5)

:func:`model_inputs` builds the fit's inputs (rate tests and size distributions per sample) from the
study's store tables; the CLI reads them from a results folder with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._common import finish
from sulfurscope.analysis._options import Options, choice, flag, integer, number, numbers
from sulfurscope.analysis._result import AnalysisResult, Flag

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FIT_TABLES",
    "FORMATION_TABLES",
    "PREDICT_TABLES",
    "ModelFitOptions",
    "ModelFormationOptions",
    "ModelPredictOptions",
    "analyse_model_fit",
    "analyse_model_formation",
    "analyse_model_predict",
    "distribution_of",
    "model_inputs",
    "sample_sizes",
]

PREDICT_TABLES = ("model_rate_predictions", "model_prediction_distributions")
FORMATION_TABLES = ("formation_classes", "formation_curves", "formation_profiles")
FIT_TABLES = (
    "model_parameters",
    "model_fitted_vs_measured",
    "model_cycling_fit",
    "model_predicted_rate",
    "model_predicted_retention",
    "model_predicted_first_discharge",
    "model_active_fraction",
    "model_distributions",
    "model_rate_comparison",
    "model_measured_rate",
    "model_shell_scaling",
)
_DIAM = "Equivalent diameter [um]"


@dataclass(frozen=True, slots=True)
class _Sizes(Options):
    particle_sizes_um: tuple[float, ...] = numbers(
        (1.0, 4.0, 8.0), "Mean particle diameters, e.g. 1,4,8.", unit="µm", positive=True
    )
    particle_size_sd_um: tuple[float, ...] | None = numbers(
        None, "Standard deviations (one, or one per size; 0 = a single size).", unit="µm",
        minimum=0.0,
    )
    distribution: str = choice(
        "gaussian", ("gaussian", "lognormal"), "Shape of each size distribution (with particle_size_sd_um)."
    )


@dataclass(frozen=True, slots=True)
class ModelPredictOptions(_Sizes):
    """Options of :func:`analyse_model_predict`."""

    shell_um: float = number(1.0, "Active shell thickness δ.", unit="µm", positive=True)
    reference_particle_size_um: float = number(
        1.0, "Diameter of the reference sample.", unit="µm", positive=True
    )
    rate_correction: bool = flag(True, "Apply the C/F rate correction (MODEL.md A.2).")
    n_classes: int = integer(40, "Size classes per distribution.", minimum=2, maximum=400)


@dataclass(frozen=True, slots=True)
class ModelFormationOptions(_Sizes):
    """Options of :func:`analyse_model_formation`."""

    c_rate: float = number(0.1, "Formation C-rate.", minimum=0.001, maximum=100.0)
    diffusivity_m2_s: float | None = number(
        None, "D₀ of model B (default: the model's).", unit="m²/s", minimum=1e-24,
        maximum=1e-8,
    )
    gitt_pulse_mah_g: float | None = number(
        None,
        "Run the first discharge as a GITT with pulses of this charge.",
        unit="mAh/g",
        minimum=10.0,  # at most ~170 pulses (~20 s); the study's is 100
        maximum=1000.0,
    )
    n_cells: int = integer(30, "Grid cells per size class.", minimum=5, maximum=400)
    n_classes: int = integer(12, "Size classes per distribution.", minimum=2, maximum=200)


@dataclass(frozen=True, slots=True)
class ModelFitOptions(Options):
    """Options of :func:`analyse_model_fit`."""

    n_classes: int = integer(8, "Size classes per distribution.", minimum=2, maximum=200)
    n_cells: int = integer(20, "Model B grid cells per size class.", minimum=5, maximum=400)


# ------------------------------------------------------------------------- distributions


def distribution_of(mean_um: float, sd_um: float, kind: str, n_classes: int) -> Any:
    """One size distribution: a single size (sd 0), Gaussian or log-normal."""
    from sulfurscope.model import gaussian_distribution, lognormal_distribution, single_size

    if sd_um <= 0 or kind == "single":
        return single_size(mean_um)
    if kind == "lognormal":
        return lognormal_distribution(mean_um, sd_um, n_classes=n_classes)
    return gaussian_distribution(mean_um, sd_um, n_classes=n_classes)


def _distributions(options: _Sizes, n_classes: int) -> dict[str, Any]:
    from sulfurscope.analysis._options import OptionError

    sizes = options.particle_sizes_um
    sd = options.particle_size_sd_um or (0.0,)
    if len(sd) not in (1, len(sizes)):
        raise OptionError("particle_size_sd_um", f"give one value or one per size ({len(sizes)}), got {len(sd)}")
    sd = sd * len(sizes) if len(sd) == 1 else sd
    return {
        f"{d:g} um": distribution_of(d, s, options.distribution, n_classes)
        for d, s in zip(sizes, sd, strict=True)
    }


def _distribution_table(dists: Mapping[str, Any]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(
        [
            pd.DataFrame(
                {"Sample": k, "Diameter [um]": d.diameter_um, "Number fraction": d.number_fraction}
            )
            for k, d in dists.items()
        ],
        ignore_index=True,
    )


def _mean_size(dist: Any) -> float:
    import numpy as np

    return float(np.average(dist.diameter_um, weights=dist.number_fraction))


def sample_distributions(
    particles: pd.DataFrame, samples: pd.DataFrame, n_classes: int = 12
) -> dict[str, Any]:
    """Each sample's size distribution: its SEM particles in ``n_classes`` classes when it has ≥ 10,
    else one size from the manifest's ``Particle size [um]``."""
    import dataclasses

    import numpy as np

    from sulfurscope.model import measured_distribution, single_size

    out: dict[str, Any] = {}
    for _, s in samples.iterrows():
        name = str(s["Sample"])
        p = particles[particles["Sample"] == name] if not particles.empty else particles
        if not p.empty and _DIAM in p.columns and p[_DIAM].notna().sum() >= 10:
            d = p[_DIAM].dropna().to_numpy(float)
            dist = measured_distribution(p[[_DIAM]].dropna(), column=_DIAM, bins=n_classes)
            # the sampling uncertainty of the mean size, carried into the model parameters
            u_rel = float(np.std(d, ddof=1) / np.mean(d) / np.sqrt(d.size))
            out[name] = dataclasses.replace(
                dist, parameters={**dist.parameters, "mean_relative_stderr": u_rel}
            )
        elif np.isfinite(s["Particle size [um]"]):
            out[name] = single_size(float(s["Particle size [um]"]))
    return dict(sorted(out.items(), key=lambda kv: _mean_size(kv[1])))


def sample_sizes(particles: pd.DataFrame, samples: pd.DataFrame) -> dict[str, float]:
    """Each sample's number-mean particle diameter (µm): from its SEM particle table when it has ≥ 10
    particles, else the manifest's ``Particle size [um]``."""
    return {k: _mean_size(d) for k, d in sample_distributions(particles, samples, 8).items()}


def _rate_tests(cycles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per sample, the cycle summary of its longest rate test (protocol ``rate``)."""
    if cycles.empty or "Discharge capacity [mAh/g]" not in cycles.columns:
        return {}
    rate = cycles[cycles["Protocol"] == "rate"]
    out = {}
    for sample, g in rate.groupby("Sample", sort=False):
        task = g.groupby("Task")["Cycle"].max().idxmax()
        out[str(sample)] = g[g["Task"] == task].reset_index(drop=True)
    return out


#: Per-cell capacity columns of a condition-mean rate table (the replicate jackknife's input).
CELL_PREFIX = "Cell: "


def _condition_rates(
    cycles: pd.DataFrame, stats: pd.DataFrame, cells: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Per sample, the mean rate test of its replicate cells: the condition's mean discharge
    capacity per cycle (``condition_stats``) with its standard uncertainty as
    ``Discharge capacity u [mAh/g]`` (the fit's weights) and the cells' median C-rates. A sample
    whose rate cells fall in several conditions takes the condition with the most cells."""
    import pandas as pd

    need = {"condition", "metric", "protocol", "position", "mean", "u_mean", "n", "ci95_low",
            "ci95_high"}
    if stats.empty or cells.empty or not need <= set(stats.columns) or cycles.empty:
        return {}
    caps = stats[(stats["metric"] == "Discharge capacity") & (stats["protocol"] == "rate")]
    rate_cells = cells[(cells["Protocol"] == "rate") & (cells["Excluded"].fillna("") == "")]
    out = {}
    for sample, g in rate_cells.groupby("Sample", sort=False):
        cond = g["Condition"].value_counts().index[0]
        c = caps[caps["condition"] == cond]
        mine = cycles[cycles["Task"].isin(g.loc[g["Condition"] == cond, "Cell"])]
        if c.empty or mine.empty:
            continue
        rates = mine.groupby("Cycle")[["Discharge C-rate", "Charge C-rate"]].median()
        per_cell = mine.pivot_table(index="Cycle", columns="Task",
                                    values="Discharge capacity [mAh/g]", aggfunc="first")
        per_cell.columns = [f"{CELL_PREFIX}{c}" for c in per_cell.columns]
        t = pd.DataFrame({"Cycle": c["position"].astype(int).to_numpy(),
                          "Discharge capacity [mAh/g]": c["mean"].to_numpy(float),
                          "Discharge capacity u [mAh/g]": c["u_mean"].to_numpy(float),
                          "CI95 low [mAh/g]": c["ci95_low"].to_numpy(float),
                          "CI95 high [mAh/g]": c["ci95_high"].to_numpy(float),
                          "Cells": c["n"].to_numpy(int)})
        t = t.merge(rates.reset_index(), on="Cycle", how="inner")
        t = t.merge(per_cell.reset_index(), on="Cycle", how="left").sort_values("Cycle")
        out[str(sample)] = t.reset_index(drop=True)
    return out


def model_inputs(
    cycles: pd.DataFrame, particles: pd.DataFrame, samples: pd.DataFrame, n_classes: int,
    stats: pd.DataFrame | None = None, cells: pd.DataFrame | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The fit's inputs from store tables: rate tests and size distributions of the samples that
    have both, ordered by size (the smallest is the reference).

    With the replicates step's ``condition_stats`` and the manifest's cells, a sample's rate test
    is the mean over its replicate cells with each capacity's uncertainty (the fit is weighted by
    it); otherwise the sample's longest single rate test (unweighted)."""
    import pandas as pd

    dists = sample_distributions(particles, samples, n_classes)
    rates = _rate_tests(cycles)
    means = _condition_rates(cycles, stats if stats is not None else pd.DataFrame(),
                             cells if cells is not None else pd.DataFrame())
    rates.update(means)
    return {k: rates[k] for k in dists if k in rates}, {k: d for k, d in dists.items() if k in rates}


# ------------------------------------------------------------------------------- predict


def analyse_model_predict(
    reference: pd.DataFrame, options: ModelPredictOptions | None = None
) -> AnalysisResult:
    """Rate capability of other sizes from the reference sample's curve (model A, MODEL.md A).

    Parameters
    ----------
    reference : DataFrame
        The reference sample's rate table (``C-rate`` and a discharge-capacity column).
    options : ModelPredictOptions

    Returns
    -------
    AnalysisResult
        Tables ``model_rate_predictions`` and ``model_prediction_distributions``.
    """
    import pandas as pd

    from sulfurscope.model import predict_rate_capability

    options = options or ModelPredictOptions()
    dists = _distributions(options, options.n_classes)
    frames = []
    for name, dist in dists.items():
        p = predict_rate_capability(
            reference,
            dist,
            shell_um=options.shell_um,
            rate_correction=options.rate_correction,
            reference_distribution=options.reference_particle_size_um,
        )
        f = p.to_frame()
        f.insert(0, "Sample", name)
        f["Active fraction"] = p.active_fraction
        f["Reference active fraction"] = p.reference_active_fraction
        f["Shell [um]"] = options.shell_um
        frames.append(f)
    tables = {
        "model_rate_predictions": pd.concat(frames, ignore_index=True),
        "model_prediction_distributions": _distribution_table(dists),
    }
    summary = {f"F({f['Sample'].iloc[0]})": float(f["Active fraction"].iloc[0]) for f in frames}
    return finish("model_predict", __name__, tables, [], options, summary=summary)


# ----------------------------------------------------------------------------- formation


def _formation_frames(name: str, r: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    import numpy as np
    import pandas as pd

    from sulfurscope.units import Q_THEORETICAL_SULFUR_MAH_G

    classes = r.to_frame()
    classes.insert(0, "Sample", name)
    curve = pd.DataFrame(
        {
            "Sample": name,
            "Time [s]": r.time_s,
            "Voltage [V]": r.voltage_v,
            "Current [C]": r.current_c,
            "Specific capacity [mAh/g]": r.converted * Q_THEORETICAL_SULFUR_MAH_G,
        }
    )
    profiles = pd.concat(
        [
            pd.DataFrame(
                {
                    "Sample": name,
                    "Diameter [um]": r.diameter_um[j],
                    "Active fraction": r.active_fraction[j],
                    "Depth [um]": r.diameter_um[j] / 2 - np.asarray(r.radius_um[j]),
                    "Conversion": np.asarray(r.theta[j]),
                }
            )
            for j in range(r.diameter_um.size)
        ],
        ignore_index=True,
    )
    return classes, curve, profiles


def analyse_model_formation(options: ModelFormationOptions | None = None) -> AnalysisResult:
    """The first (formation) discharge of model B for each size distribution (MODEL.md B).

    Returns
    -------
    AnalysisResult
        Tables ``formation_classes`` (active fraction per size class), ``formation_curves``
        (voltage vs capacity) and ``formation_profiles`` (θ vs depth per class).
    """
    import pandas as pd

    from sulfurscope.model import FormationParameters, simulate_formation

    options = options or ModelFormationOptions()
    dists = _distributions(options, options.n_classes)
    params = (
        FormationParameters()
        if options.diffusivity_m2_s is None
        else FormationParameters(diffusivity_m2_s=options.diffusivity_m2_s)
    )
    parts: list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = []
    summary = {}
    for name, dist in dists.items():
        r = simulate_formation(
            dist,
            params,
            c_rate=options.c_rate,
            n_cells=options.n_cells,
            gitt_pulse_mah_g=options.gitt_pulse_mah_g,
        )
        parts.append(_formation_frames(name, r))
        summary[name] = {
            "electrode_active_fraction": r.electrode_active_fraction,
            "capacity_mah_g": r.capacity_mah_g,
        }
    tables = {
        n: pd.concat([p[k] for p in parts], ignore_index=True)
        for k, n in enumerate(FORMATION_TABLES)
    }
    return finish("model_formation", __name__, tables, [], options, summary=summary)


# ----------------------------------------------------------------------------------- fit


def _blocks(t: pd.DataFrame) -> pd.DataFrame:
    """Cycles after formation as (C-rate, discharge capacity) rows (a block table as it is)."""
    if "Cycle" not in t.columns:
        return t[["C-rate", "Mean discharge capacity [mAh/g]"]]
    b = t[t["Cycle"] > 1][["Discharge C-rate", "Discharge capacity [mAh/g]"]]
    return b.rename(
        columns={
            "Discharge C-rate": "C-rate",
            "Discharge capacity [mAh/g]": "Mean discharge capacity [mAh/g]",
        }
    )


def _block_means(t: pd.DataFrame) -> pd.DataFrame:
    b = _blocks(t)
    b = b.assign(**{"C-rate": b["C-rate"].round(4)})
    return b.groupby("C-rate", as_index=False)["Mean discharge capacity [mAh/g]"].mean()


def _shell_scaling(
    rates: Mapping[str, pd.DataFrame], dists: Mapping[str, Any], ref: str, shell_um: float
) -> pd.DataFrame:
    """Fig 5c–e: each larger sample from the smallest one's measured rate curve,
    Q(C) = F/F_ref · Q_ref(C·F_ref/F) (model A), against its own measured block means."""
    import pandas as pd

    from sulfurscope.model import predict_rate_capability

    ref_blocks = _block_means(rates[ref])
    frames = []
    for name, dist in dists.items():
        if name == ref or name not in rates:
            continue
        pred = predict_rate_capability(
            ref_blocks, dist, shell_um=shell_um, reference_distribution=dists[ref]
        )
        meas = _block_means(rates[name])
        f = pred.to_frame()
        f["Measured discharge capacity [mAh/g]"] = [
            float(meas.iloc[(meas["C-rate"] - c).abs().argmin()]["Mean discharge capacity [mAh/g]"])
            if len(meas)
            else float("nan")
            for c in f["C-rate"]
        ]
        f["Active fraction"] = pred.active_fraction
        f["Reference active fraction"] = pred.reference_active_fraction
        f["Shell [um]"] = shell_um
        f.insert(0, "Sample", name)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _fit_shell(
    rates: Mapping[str, pd.DataFrame], dists: Mapping[str, Any], ref: str, flags: list[Flag]
) -> Any:
    import pandas as pd

    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.model import fit_shell_thickness

    blocks = pd.concat([_blocks(t).assign(Sample=k) for k, t in rates.items()], ignore_index=True)
    try:
        return fit_shell_thickness(blocks, dists, reference=ref)
    except SulfurscopeError as exc:
        flags.append(Flag("shell_fit_failed", str(exc), "failed", "model A"))
        return None


def _rate_comparison(rates: Mapping[str, pd.DataFrame], predicted: pd.DataFrame) -> pd.DataFrame:
    """Predicted vs measured block means (cycles > 1) per sample and C-rate."""
    import numpy as np
    import pandas as pd

    rows = []
    for name, t in rates.items():
        meas = _blocks(t)
        pred = predicted[(predicted["Sample"] == name) & (predicted["Cycle"] > 1)]
        for c in sorted(pred["C-rate"].round(4).unique()):
            p = pred[np.isclose(pred["C-rate"], c, rtol=0.1)]["Discharge capacity [mAh/g]"]
            m = meas[np.isclose(meas["C-rate"], c, rtol=0.15)]
            m = m["Mean discharge capacity [mAh/g]"]
            rows.append(
                {
                    "Sample": name,
                    "C-rate": float(c),
                    "Predicted capacity [mAh/g]": float(p.mean()),
                    "Measured capacity [mAh/g]": float(m.mean()) if len(m) else float("nan"),
                    "Measured cycles": int(len(m)),
                }
            )
    return pd.DataFrame(rows)


def _refit_calls(fit: Any, rate: pd.DataFrame, dist: Any, options: Any,
                 names: list[str]) -> tuple[list[tuple[Any, ...]], int]:
    """The model C refits behind the parameters' uncertainty, as ``refit_values`` arguments: first the
    fit with the size distribution moved by its relative standard error (when it has one), then the
    replicate refits of :func:`_replicate_curves`; and how many of the first kind there are (0/1)."""
    import dataclasses

    import numpy as np

    u_rel = float(dist.parameters.get("mean_relative_stderr", np.nan))
    calls: list[tuple[Any, ...]] = []
    if np.isfinite(u_rel) and u_rel > 0:
        moved = dataclasses.replace(dist, diameter_um=dist.diameter_um * (1.0 + u_rel))
        calls.append((rate, moved, fit.cycling, options.n_cells, names))
    n_size = len(calls)
    calls += [(curve, dist, fit.cycling, options.n_cells, names) for curve in _replicate_curves(rate)]
    return calls, n_size


def _with_size_uncertainty(fit: Any, rate: pd.DataFrame, dist: Any, refits: list[Any],
                           n_size: int) -> pd.DataFrame:
    """Model C's parameters with the size distribution's and the replicate cells' contributions
    to their uncertainty, from the refits of :func:`_refit_calls` (values, or None: failed).

    The fit's own standard error covers the capacities' scatter; the reference sample's mean size
    is itself uncertain (SEM sampling, u_rel = s/(d̄ √N)). The fit is repeated with every class
    diameter × (1 + u_rel); the parameter shift is that contribution, added in quadrature:
    u² = u_fit² + (θ(d̄(1+u_rel)) − θ(d̄))². Without SEM particles (a size from the manifest) the
    size contribution is unknown and NaN, and only the fit's error is given.
    """
    import numpy as np

    frame = fit.to_frame().rename(columns={"Standard error": "Standard error (fit)"})
    u_rel = float(dist.parameters.get("mean_relative_stderr", np.nan))
    names = list(frame["Parameter"])
    shift = np.full(len(frame), np.nan)
    if n_size and refits[0] is not None and np.isfinite(refits[0]).all():
        with np.errstate(invalid="ignore", over="ignore"):
            shift = np.abs(np.asarray(refits[0]) - np.array([fit.values[k] for k in names]))
    frame["Standard error (size distribution)"] = shift
    level = _replicate_spread(fit, rate, refits[n_size:], names)
    frame["Standard error (replicate cells)"] = level
    fit_se = frame["Standard error (fit)"].to_numpy(float)
    frame["Standard error"] = np.sqrt(
        fit_se**2 + np.nan_to_num(shift) ** 2 + np.nan_to_num(level) ** 2
    )
    frame["Mean size relative stderr"] = u_rel
    return _with_interval(frame, fit, rate)


def _with_interval(frame: pd.DataFrame, fit: Any, rate: pd.DataFrame) -> pd.DataFrame:
    """A 95 % interval per parameter: ± t_ν × the total standard error, ν by Welch–Satterthwaite
    (GUM G.2b) from the fit's ν = N − p and the jackknife's n − 1 (the size part: ν = ∞). With
    three cells the jackknife term dominates and t_ν → t₂ = 4.3: over 24 replicate simulated studies
    (benchmarks/model_replicate_coverage.py) ±1.96 SE covered the simulated k_c, m_c and fade in
    92 / 88 / 79 %, ±t_ν SE in 100 / 100 / 96 %."""
    import numpy as np
    from scipy.stats import t as student

    n_cells = sum(str(c).startswith(CELL_PREFIX) for c in rate.columns)
    nu_fit = max(int(getattr(fit, "n_points", 0) or 0) - len(frame), 1)
    u = frame["Standard error"].to_numpy(float)
    terms = frame["Standard error (fit)"].to_numpy(float) ** 4 / nu_fit
    if n_cells >= 2:
        terms = terms + np.nan_to_num(frame["Standard error (replicate cells)"].to_numpy(float)) ** 4 / (
            n_cells - 1
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = np.where(terms > 0, u**4 / terms, np.inf)
    k = student.ppf(0.975, np.nan_to_num(nu, nan=np.inf))
    value = frame["Value"].to_numpy(float)
    frame["Replicate cells"] = max(n_cells, 1)
    frame["Degrees of freedom"] = nu
    frame["CI95 low"] = value - k * u
    frame["CI95 high"] = value + k * u
    return frame


def _replicate_curves(rate: pd.DataFrame) -> list[pd.DataFrame]:
    """The rate curves the replicate refits fit: with n ≥ 2 cells (``Cell: <name>`` columns) the mean
    of the other cells for each cell left out; with one cell its curve moved by its mass uncertainty
    (``Discharge capacity u [mAh/g]``); none when neither is available."""
    import numpy as np

    cap, col = "Discharge capacity [mAh/g]", "Discharge capacity u [mAh/g]"
    cells = [c for c in rate.columns if str(c).startswith(CELL_PREFIX)]
    if len(cells) >= 2:
        curves = [rate.assign(**{cap: rate[[c for c in cells if c != out]].mean(axis=1)})
                  for out in cells]
    elif col in rate.columns and np.isfinite(rate[col].to_numpy(float)).all():
        curves = [rate.assign(**{cap: rate[cap] + rate[col]})]
    else:
        return []
    return [c[c[cap].notna()] for c in curves]


def _replicate_spread(fit: Any, rate: pd.DataFrame, thetas: list[Any], names: list[str]) -> Any:
    """The replicate cells' share of the parameters' uncertainty, from the refits to
    :func:`_replicate_curves` (``thetas``: their values, None where a refit failed).

    The errors of a condition mean are correlated over its cycles (a cell's mass and connected
    sulfur scale all of them, its own fade tilts all of them), so the fit's independent-point
    covariance misses them. With n ≥ 2 cells: the delete-one-cell jackknife (Efron & Stein 1981),
    SE² = (n − 1)/n Σ (θ₍ᵢ₎ − θ̄₍·₎)², θ₍ᵢ₎ fitted to the mean of the other cells. With one cell: the
    shift when its curve moves by its mass uncertainty. NaN when neither is available or a refit
    fails."""
    import numpy as np

    if not thetas or any(t is None for t in thetas):
        return np.full(len(names), np.nan)
    th = np.asarray(thetas, dtype=float)
    if not np.isfinite(th).all():  # a refit that ran off to infinity says nothing: unknown
        return np.full(len(names), np.nan)
    cells = [c for c in rate.columns if str(c).startswith(CELL_PREFIX)]
    if len(cells) >= 2:
        n = th.shape[0]
        return np.sqrt((n - 1) / n * np.sum((th - th.mean(axis=0)) ** 2, axis=0))
    return np.abs(th[0] - np.array([fit.values[k] for k in names]))


def _fit_bc(
    rates: Mapping[str, pd.DataFrame], dists: Mapping[str, Any], options: ModelFitOptions,
    processes: int | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Model C on the reference (smallest) sample, model B's D₀ on all samples; the independent
    runs (model C's refits, model B's sensitivity) on ``processes`` cores (see ``_refits``)."""
    from functools import partial

    from sulfurscope.analysis._refits import pool_map, refit_pool, refit_values, results
    from sulfurscope.model import fit_cycling_model, fit_formation_model

    ref = next(iter(dists))
    # one pool for every independent run of the step (refits, sensitivity runs); its size is
    # bounded by the cores the step may use, the 8 only caps it on a big machine
    with refit_pool(8, caller_busy=True, processes=processes) as pool:
        fit_c = fit_cycling_model(rates[ref], dists[ref], n_cells=options.n_cells)
        names = list(fit_c.to_frame()["Parameter"])
        calls, n_size = _refit_calls(fit_c, rates[ref], dists[ref], options, names)
        futures = [pool.submit(refit_values, *c) for c in calls]
        fit_b = None
        if len(dists) > 1:  # model B is fitted here while the refits run on the other cores
            fit_b = fit_formation_model(
                {k: (dists[k], rates[k]) for k in dists}, cycling=fit_c.cycling,
                n_cells=options.n_cells,
            )
        refits = results(futures, calls)
        tables: dict[str, Any] = {
            "params": [_with_size_uncertainty(fit_c, rates[ref], dists[ref], refits, n_size)
                       .assign(Model="C (cycling)", Reference=ref)],  # fmt: skip
            "model_cycling_fit": fit_c.table.copy(),
        }
        formation = fit_c.formation
        if fit_b is not None:
            formation = fit_b.formation
            b_frame = _with_cycling_uncertainty(fit_b, fit_c, tables["params"][0], rates, dists,
                                                options, partial(pool_map, pool))
            tables["params"].append(b_frame.assign(Model="B (formation)", Reference=ref))
            tables["model_fitted_vs_measured"] = fit_b.table.copy()
    return fit_c, formation, tables


def _with_cycling_uncertainty(fit_b: Any, fit_c: Any, c_frame: pd.DataFrame,
                              rates: Mapping[str, pd.DataFrame], dists: Mapping[str, Any],
                              options: ModelFitOptions, runner: Any = None) -> pd.DataFrame:
    """Model B's parameters with model C's uncertainty carried over (model B is fitted with C held
    at its fit): u² = u_fit² + gᵀ Σ_C g, g = ∂b̂/∂c from :func:`~sulfurscope.model.formation_sensitivity`
    and Σ_C model C's covariance (its total standard errors and the fit's correlations)."""
    import numpy as np

    from sulfurscope.model import formation_sensitivity

    frame = fit_b.to_frame().rename(columns={"Standard error": "Standard error (fit)"})
    names = list(c_frame["Parameter"])
    se_c = c_frame.set_index("Parameter")["Standard error"].reindex(names).to_numpy(float)
    corr = np.eye(len(names))
    for key, value in fit_c.correlations.items():
        a, b = key.split("|")
        if a in names and b in names:
            corr[names.index(a), names.index(b)] = corr[names.index(b), names.index(a)] = value
    cov = corr * np.outer(se_c, se_c)
    sens = formation_sensitivity(
        {k: (dists[k], rates[k]) for k in dists}, cycling=fit_c.cycling,
        formation=fit_b.formation, cycling_names=names, vary=list(frame["Parameter"]),
        n_cells=options.n_cells, runner=runner,
    )
    prop = []
    for p in frame["Parameter"]:
        g = np.array([sens[p][c] for c in names])
        prop.append(float(np.sqrt(g @ cov @ g)) if np.all(np.isfinite(g) & np.isfinite(se_c))
                    else float("nan"))
    frame["Standard error (model C)"] = prop
    fit_se = frame["Standard error (fit)"].to_numpy(float)
    frame["Standard error"] = np.sqrt(fit_se**2 + np.nan_to_num(np.array(prop)) ** 2)
    return frame


def _fit_flags(fits: list[Any]) -> list[Flag]:
    return [
        Flag("fit_failed", f.message or "the fit did not converge", "failed", name)
        for name, f in fits
        if not f.success
    ]


def analyse_model_fit(
    rates: Mapping[str, pd.DataFrame],
    distributions: Mapping[str, Any],
    options: ModelFitOptions | None = None,
    *,
    processes: int | None = None,
) -> AnalysisResult:
    """Fit models C, B and A to a study and predict every sample (MODEL.md D).

    Parameters
    ----------
    rates : mapping of sample → DataFrame
        Each sample's rate test as a cycle summary (``Cycle``, ``Discharge C-rate``,
        ``Discharge capacity [mAh/g]``, ...) or a block table (``C-rate``, ``Cycles``,
        ``Mean discharge capacity [mAh/g]``).
    distributions : mapping of sample → SizeDistribution
        Ordered by size: the first (smallest) sample is the reference.
    options : ModelFitOptions
    processes : int, optional
        Cores the fit may use for its independent model runs (None: all; 1: this process only).
        The numbers do not depend on it.

    Returns
    -------
    AnalysisResult
        Tables ``model_*``; ``fit_failed``/``shell_fit_failed`` flags (never a silent default).
    """
    import pandas as pd

    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.model import electrode_active_fraction, predict_samples

    options = options or ModelFitOptions()
    dists = {k: d for k, d in distributions.items() if k in rates}
    if not dists:
        raise SulfurscopeError(
            "the model fit needs at least one sample with both a size (particle_size_um or SEM "
            "images) and a rate test with a sulfur mass"
        )
    ref = next(iter(dists))
    fit_c, formation, parts = _fit_bc(rates, dists, options, processes)
    flags = _fit_flags([("model C", fit_c)])
    params = parts.pop("params")
    for frame in params[1:]:  # model B: model C's share of its uncertainty could not be computed
        if frame["Standard error (model C)"].isna().any():
            flags.append(Flag("uncertainty_incomplete", "model B's standard error lacks model C's "
                              "share (singular sensitivity): it is the fit's error alone and too "
                              "small", "warning", "model B"))
    tables: dict[str, Any] = dict(parts)
    if len(dists) > 1:
        shell = _fit_shell(rates, dists, ref, flags)
        if shell is not None:
            params.append(
                pd.DataFrame(
                    [
                        {
                            "Model": "A (active shell)",
                            "Reference": ref,
                            "Parameter": "shell_um",
                            "Value": shell.shell_um,
                            "Standard error": shell.shell_stderr_um,
                        }
                    ]
                )
            )
            scaled = _shell_scaling(rates, dists, ref, shell.shell_um)
            if not scaled.empty:
                tables["model_shell_scaling"] = scaled
    tables["model_parameters"] = pd.concat(params, ignore_index=True)
    preds = predict_samples(
        dists, cycling=fit_c.cycling, formation=formation, n_cells=min(options.n_cells, 20)
    )
    tables["model_predicted_rate"] = preds.rate.copy()
    tables["model_predicted_retention"] = preds.retention.copy()
    tables["model_predicted_first_discharge"] = preds.first_discharge.copy()
    tables["model_active_fraction"] = pd.DataFrame(
        {
            "Sample": list(preds.active_fraction),
            "Active fraction after formation": list(preds.active_fraction.values()),
            "Geometric active fraction (1 um shell)": [
                float(electrode_active_fraction(dists[k], shell_um=1.0))
                for k in preds.active_fraction
            ],
        }
    )
    tables["model_distributions"] = _distribution_table(dists)
    tables["model_rate_comparison"] = _rate_comparison(rates, preds.rate)
    tables["model_measured_rate"] = _measured(rates)
    return finish("model_fit", __name__, tables, flags, options, summary={"reference": ref})


def _measured(rates: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    cols = ["Cycle", "Discharge C-rate", "Discharge capacity [mAh/g]"]
    extra = ["Discharge capacity u [mAh/g]", "CI95 low [mAh/g]", "CI95 high [mAh/g]", "Cells"]
    parts = [t[cols + [c for c in extra if c in t.columns]].assign(Sample=k)
             for k, t in rates.items() if set(cols) <= set(t.columns)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*cols, "Sample"])
