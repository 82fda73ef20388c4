"""Study plug-in: the particle-size model (Figure 5) — a study-level step.

What ``sulfurscope model fit`` does on a folder of result tables, here on the store tables: model C is
fitted to the smallest particles' cycle summary, model B's D₀ to every sample, model A's shell
thickness to the block capacities, then every sample's rate test, retention and first discharge is
predicted with the fitted parameters. Size distributions come from the SEM particle tables of each
sample (``particles``), else from the manifest's ``particle_size_um``. The GITT τ ∝ L^n scaling across
samples (``transport_scaling``) is computed here too, as it needs every cell and the sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.cycling.gitt import transport_scaling
from sulfurscope.errors import SulfurscopeError
from sulfurscope.model import (
    RatePrediction,
    SamplePredictions,
    SizeDistribution,
    electrode_active_fraction,
    fit_cycling_model,
    fit_formation_model,
    fit_shell_thickness,
    measured_distribution,
    predict_rate_capability,
    predict_samples,
    single_size,
)
from sulfurscope.report import (
    plot_active_fraction,
    plot_rate_predictions,
    plot_sample_predictions,
    save_figure,
)
from sulfurscope.report._style import cell_colours, new_figure
from sulfurscope.report.html import ReportSection
from sulfurscope.study.registry import AnalysisContext, register_analysis

__all__ = ["combine_model", "report_model"]

_DIAM = "Equivalent diameter [um]"


def _distributions(ctx: AnalysisContext, n_classes: int) -> dict[str, SizeDistribution]:
    particles = ctx.tables.get("particles", pd.DataFrame())
    out: dict[str, SizeDistribution] = {}
    for _, s in ctx.samples.iterrows():
        name = str(s["Sample"])
        p = particles[particles["Sample"] == name] if not particles.empty else particles
        if not p.empty and _DIAM in p.columns and p[_DIAM].notna().sum() >= 10:
            out[name] = measured_distribution(p[[_DIAM]].dropna(), column=_DIAM, bins=n_classes)
        elif np.isfinite(s["Particle size [um]"]):
            out[name] = single_size(float(s["Particle size [um]"]))
    return dict(
        sorted(
            out.items(),
            key=lambda kv: float(np.average(kv[1].diameter_um, weights=kv[1].number_fraction)),
        )
    )


def _rate_tables(ctx: AnalysisContext) -> dict[str, pd.DataFrame]:
    cycles = ctx.tables.get("cycling_cycles", pd.DataFrame())
    if cycles.empty or "Discharge capacity [mAh/g]" not in cycles.columns:
        return {}
    rate = cycles[cycles["Protocol"] == "rate"]
    out = {}
    for sample, g in rate.groupby("Sample", sort=False):
        task = g.groupby("Task")["Cycle"].max().idxmax()  # the longest rate test of the sample
        out[str(sample)] = g[g["Task"] == task].reset_index(drop=True)
    return out


def _scaling(ctx: AnalysisContext, sizes: Mapping[str, float]) -> pd.DataFrame:
    steps = ctx.tables.get("gitt_steps", pd.DataFrame())
    if steps.empty or "Tau [s]" not in steps.columns:
        return pd.DataFrame()
    steps = steps.assign(**{"Size [um]": steps["Sample"].map(sizes)})
    rows = []
    for half, g in steps.groupby("Half cycle label", sort=False):
        g = g[np.isfinite(g["Size [um]"].astype(float)) & (g["Tau [s]"] > 0)]
        if "Reached" in g.columns:
            g = g[g["Reached"].astype(bool)]
        if g["Size [um]"].nunique() < 2:
            continue
        try:
            fit = transport_scaling(g["Size [um]"].to_numpy(float), g["Tau [s]"].to_numpy(float))
        except SulfurscopeError as exc:
            rows.append({"Half cycle label": half, "Note": str(exc)})
            continue
        rows.append(
            {
                "Half cycle label": half,
                "Exponent n": fit.exponent,
                "Exponent stderr": fit.exponent_stderr,
                "Points": fit.n_points,
                "Sizes": fit.n_sizes,
                "Note": fit.note,
            }
        )
    return pd.DataFrame(rows)


def _shell_scaling(
    rates: Mapping[str, pd.DataFrame],
    dists: Mapping[str, SizeDistribution],
    ref: str,
    shell_um: float,
) -> pd.DataFrame:
    """The study's Fig 5c–e: each larger sample predicted from the smallest one's measured rate curve,
    Q(C) = F/F_ref · Q_ref(C·F_ref/F) (model A, :func:`predict_rate_capability`), against its own
    measured block means."""

    def blocks(t: pd.DataFrame) -> pd.DataFrame:
        b = t[t["Cycle"] > 1].rename(
            columns={
                "Discharge C-rate": "C-rate",
                "Discharge capacity [mAh/g]": "Mean discharge capacity [mAh/g]",
            }
        )
        b = b.assign(**{"C-rate": b["C-rate"].round(4)})
        return b.groupby("C-rate", as_index=False)["Mean discharge capacity [mAh/g]"].mean()

    ref_blocks = blocks(rates[ref])
    frames = []
    for name, dist in dists.items():
        if name == ref or name not in rates:
            continue
        pred = predict_rate_capability(
            ref_blocks, dist, shell_um=shell_um, reference_distribution=dists[ref]
        )
        meas = blocks(rates[name])
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


def combine_model(ctx: AnalysisContext) -> dict[str, pd.DataFrame]:
    """Fit and predict from the store tables (module docstring); return the model tables."""
    n_classes = int(ctx.options.get("n_classes", 8))
    n_cells = int(ctx.options.get("n_cells", 20))
    if not ctx.options.get("enabled", True):
        return {}
    dists = _distributions(ctx, n_classes)
    sizes = {
        k: float(np.average(d.diameter_um, weights=d.number_fraction)) for k, d in dists.items()
    }
    out: dict[str, pd.DataFrame] = {}
    scaling = _scaling(ctx, sizes)
    if not scaling.empty:
        out["model_transport_scaling"] = scaling
    rates = _rate_tables(ctx)
    fitted = {k: d for k, d in dists.items() if k in rates}
    if not fitted:
        if out:
            return out
        raise SulfurscopeError(
            "model: no sample has both a size (particle_size_um or SEM images) and a rate test "
            "with sulfur masses; set [model] enabled = false to skip"
        )
    ref = next(iter(fitted))
    fit_c = fit_cycling_model(rates[ref], fitted[ref], n_cells=n_cells)
    params = [fit_c.to_frame().assign(Model="C (cycling)", Reference=ref)]
    formation = fit_c.formation
    if len(fitted) > 1:
        fit_b = fit_formation_model(
            {k: (fitted[k], rates[k]) for k in fitted}, cycling=fit_c.cycling, n_cells=n_cells
        )
        formation = fit_b.formation
        params.append(fit_b.to_frame().assign(Model="B (formation)", Reference=ref))
        out["model_fitted_vs_measured"] = fit_b.table.copy()
        blocks = []
        for name, t in rates.items():
            b = t[t["Cycle"] > 1][["Discharge C-rate", "Discharge capacity [mAh/g]"]].rename(
                columns={
                    "Discharge C-rate": "C-rate",
                    "Discharge capacity [mAh/g]": "Mean discharge capacity [mAh/g]",
                }
            )
            blocks.append(b.assign(Sample=name))
        shell_um = 1.0
        try:
            shell = fit_shell_thickness(pd.concat(blocks, ignore_index=True), fitted, reference=ref)
            shell_um = shell.shell_um
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
        except SulfurscopeError:
            pass
        scaled = _shell_scaling(rates, fitted, ref, shell_um)
        if not scaled.empty:
            out["model_shell_scaling"] = scaled
    out["model_parameters"] = pd.concat(params, ignore_index=True)
    preds = predict_samples(
        fitted, cycling=fit_c.cycling, formation=formation, n_cells=min(n_cells, 20)
    )
    out["model_predicted_rate"] = preds.rate.copy()
    out["model_predicted_retention"] = preds.retention.copy()
    out["model_predicted_first_discharge"] = preds.first_discharge.copy()
    out["model_active_fraction"] = pd.DataFrame(
        {
            "Sample": list(preds.active_fraction),
            "Active fraction after formation": list(preds.active_fraction.values()),
            "Geometric active fraction (1 um shell)": [
                float(electrode_active_fraction(fitted[k], shell_um=1.0))
                for k in preds.active_fraction
            ],
        }
    )
    out["model_distributions"] = pd.concat(
        [
            pd.DataFrame(
                {"Sample": k, "Diameter [um]": d.diameter_um, "Number fraction": d.number_fraction}
            )
            for k, d in fitted.items()
        ],
        ignore_index=True,
    )
    # predicted vs measured rate capability: block means (cycles > 1) per sample and C-rate
    rows = []
    for name, t in rates.items():
        meas = t[t["Cycle"] > 1]
        pred = preds.rate[(preds.rate["Sample"] == name) & (preds.rate["Cycle"] > 1)]
        for c in sorted(pred["C-rate"].round(4).unique()):
            p = pred[np.isclose(pred["C-rate"], c, rtol=0.1)]["Discharge capacity [mAh/g]"]
            m = meas[np.isclose(meas["Discharge C-rate"], c, rtol=0.15)][
                "Discharge capacity [mAh/g]"
            ]
            rows.append(
                {
                    "Sample": name,
                    "C-rate": float(c),
                    "Predicted capacity [mAh/g]": float(p.mean()),
                    "Measured capacity [mAh/g]": float(m.mean()) if len(m) else float("nan"),
                    "Measured cycles": int(len(m)),
                }
            )
    out["model_rate_comparison"] = pd.DataFrame(rows)
    out["model_measured_rate"] = pd.concat(
        [
            t[["Cycle", "Discharge C-rate", "Discharge capacity [mAh/g]"]].assign(Sample=k)
            for k, t in rates.items()
        ],
        ignore_index=True,
    )
    return out


def _comparison_figure(comp: pd.DataFrame) -> Any:
    fig, axes = new_figure(4.2, 4.0)
    ax = axes[0, 0]
    names = list(dict.fromkeys(comp["Sample"]))
    for name, colour in zip(names, cell_colours(len(names)), strict=True):
        g = comp[comp["Sample"] == name]
        ax.plot(
            g["Measured capacity [mAh/g]"],
            g["Predicted capacity [mAh/g]"],
            "o",
            color=colour,
            label=name,
        )
    both = comp[["Measured capacity [mAh/g]", "Predicted capacity [mAh/g]"]].to_numpy(float)
    top = float(np.nanmax(both)) * 1.1 if np.isfinite(both).any() else 1.0
    ax.plot([0, top], [0, top], "k:", lw=1)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("Measured capacity (mAh/g$_S$)")
    ax.set_ylabel("Predicted capacity (mAh/g$_S$)")
    ax.set_title("Rate capability: predicted vs measured", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def report_model(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """Figure 5: active fraction with the size distributions (5b), predictions vs measurements (5c–e)."""
    figures: list[Path] = []
    section_tables: list[tuple[str, pd.DataFrame]] = []
    rate = tables["model_predicted_rate"]
    if not rate.empty:
        dists = {
            str(k): SizeDistribution(
                diameter_um=g["Diameter [um]"].to_numpy(float),
                number_fraction=g["Number fraction"].to_numpy(float),
                kind="measured",
                parameters={},
            )
            for k, g in tables["model_distributions"].groupby("Sample", sort=False)
        }
        if dists:
            figures.append(
                save_figure(
                    plot_active_fraction(dists, shell_um=1.0), figdir / "fig5b_active_fraction.png"
                )
            )
        af = tables["model_active_fraction"]
        preds = SamplePredictions(
            rate=rate.drop(columns=["Task"], errors="ignore"),
            retention=tables["model_predicted_retention"].drop(columns=["Task"], errors="ignore"),
            first_discharge=tables["model_predicted_first_discharge"].drop(
                columns=["Task"], errors="ignore"
            ),
            active_fraction=dict(
                zip(af["Sample"], af["Active fraction after formation"], strict=True)
            ),
        )
        measured = {
            str(k): g.drop(columns=["Task", "Sample"], errors="ignore")
            for k, g in tables["model_measured_rate"].groupby("Sample", sort=False)
        }
        figures.append(
            save_figure(plot_sample_predictions(preds, measured), figdir / "fig5_predictions.png")
        )
        scaled = tables.get("model_shell_scaling", pd.DataFrame())
        if not scaled.empty:
            preds_a = {
                str(k): RatePrediction(
                    c_rate=g["C-rate"].to_numpy(float),
                    capacity_mah_g=g["Predicted discharge capacity [mAh/g]"].to_numpy(float),
                    reference_capacity_mah_g=g["Reference discharge capacity [mAh/g]"].to_numpy(
                        float
                    ),
                    active_fraction=float(g["Active fraction"].iloc[0]),
                    reference_active_fraction=float(g["Reference active fraction"].iloc[0]),
                    shell_um=float(g["Shell [um]"].iloc[0]),
                    rate_correction=True,
                    weighting="volume",
                )
                for k, g in scaled.groupby("Sample", sort=False)
            }
            meas_a = {
                str(k): g.rename(
                    columns={
                        "Measured discharge capacity [mAh/g]": "Mean discharge capacity [mAh/g]"
                    }
                )
                for k, g in scaled.groupby("Sample", sort=False)
            }
            figures.append(
                save_figure(
                    plot_rate_predictions(preds_a, meas_a), figdir / "fig5cde_shell_scaling.png"
                )
            )
            section_tables.append(
                (
                    "Larger samples from the smallest one's rate curve × active fraction (Fig 5c–e)",
                    scaled.drop(columns=["Task"], errors="ignore"),
                )
            )
        comp = tables["model_rate_comparison"]
        if not comp.empty:
            figures.append(
                save_figure(_comparison_figure(comp), figdir / "fig5cde_predicted_vs_measured.png")
            )
            section_tables.append(
                (
                    "Predicted vs measured rate capability (Fig 5c–e)",
                    comp.drop(columns=["Task"], errors="ignore"),
                )
            )
        section_tables.append(
            (
                "Fitted parameters",
                tables["model_parameters"].drop(columns=["Task", "Sample"], errors="ignore"),
            )
        )
        section_tables.append(
            ("Active fractions (Fig 5b)", af.drop(columns=["Task"], errors="ignore"))
        )
    scaling = tables["model_transport_scaling"]
    if not scaling.empty:
        section_tables.append(
            (
                "GITT τ ∝ L^n across samples (Fig 2)",
                scaling.drop(columns=["Task", "Sample"], errors="ignore"),
            )
        )
    if not figures and not section_tables:
        return []
    return [
        ReportSection(
            "Figure 5 — Particle-size model: fit and predictions",
            "Model C fitted to the smallest particles' cycling, model B's D₀ to all samples, model A's "
            "shell thickness to the capacity ratios; each sample's rate test, retention and first "
            "discharge predicted with the fitted parameters and compared with the measurements.",
            figures=tuple(figures),
            tables=tuple(section_tables),
        )
    ]


register_analysis(
    name="model",
    kind="study",
    run=None,
    report=report_model,
    tables=(
        "model_parameters",
        "model_fitted_vs_measured",
        "model_predicted_rate",
        "model_predicted_retention",
        "model_predicted_first_discharge",
        "model_active_fraction",
        "model_distributions",
        "model_rate_comparison",
        "model_measured_rate",
        "model_transport_scaling",
        "model_shell_scaling",
    ),
    figure="Figure 5b–e, Figure 2 (τ scaling)",
    combine=combine_model,
    inputs=("cycling_cycles", "gitt_steps", "particles"),
    order=50,
)
