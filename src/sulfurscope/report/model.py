"""Figures of the particle-size model: Fig 5b (active fraction vs size with the distributions), Fig 5c–e
(predicted vs measured rate capability), formation θ(r) profiles, simulated vs measured voltage curves and
fitted vs measured capacities. Each function takes result objects and returns a Figure (no pyplot)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

from sulfurscope.cycling import c_rate_label
from sulfurscope.model import (
    RatePrediction,
    SamplePredictions,
    SizeDistribution,
    active_fraction,
    class_weights,
    electrode_active_fraction,
)
from sulfurscope.report._style import cell_colours, legend, new_figure
from sulfurscope.units import CHARGE, SECONDS_PER_HOUR, TIME, VOLTAGE

__all__ = [
    "fig_formation_profiles",
    "fig_model_active_fraction",
    "fig_model_comparison",
    "fig_model_cycling_fit",
    "fig_model_formation_fit",
    "fig_model_predictions",
    "fig_model_rate_predictions",
    "fig_model_shell_scaling",
    "plot_first_discharge_comparison",
    "plot_sample_predictions",
    "plot_active_fraction",
    "plot_formation_profiles",
    "plot_model_fit",
    "plot_rate_predictions",
    "plot_voltage_comparison",
]


def plot_active_fraction(
    distributions: Mapping[str, SizeDistribution], *, shell_um: float, d_max_um: float | None = None
) -> Figure:
    """Fig 5b: f(d) = 1 − (1 − 2δ/d)³ with each sample's volume-weighted size distribution and its F."""
    fig, axes = new_figure(5.5, 3.8)
    ax = axes[0, 0]
    d_top = d_max_um or max(float(d.diameter_um.max()) for d in distributions.values()) * 1.1
    d = np.linspace(max(0.05, 2 * shell_um * 0.5), d_top, 400)
    ax.plot(
        d,
        active_fraction(d, shell_um=shell_um),
        color="k",
        lw=1.5,
        label=f"f(d), δ = {shell_um:g} µm",
    )
    ax2 = ax.twinx()
    for colour, (name, dist) in zip(
        cell_colours(list(distributions)), distributions.items(), strict=False
    ):
        w = class_weights(dist, weighting="volume")
        width = (
            np.gradient(dist.diameter_um) if dist.diameter_um.size > 1 else np.array([d_top / 50])
        )
        ax2.bar(dist.diameter_um, w / width, width=width, alpha=0.3, color=colour)
        big_f = electrode_active_fraction(dist, shell_um=shell_um)
        ax.axhline(big_f, color=colour, ls="--", lw=1, label=f"{name}: F = {big_f:.2f}")
    ax.set_xlabel("Particle diameter [µm]")
    ax.set_ylabel("Active fraction")
    ax2.set_ylabel("Volume-weighted density [1/µm]")
    ax.set_ylim(0, 1.05)
    legend(ax, fontsize=7, loc="upper right", frameon=True)
    return fig


def plot_rate_predictions(
    predictions: Mapping[str, RatePrediction],
    measured: Mapping[str, pd.DataFrame] | None = None,
    *,
    capacity_column: str = "Mean discharge capacity [mAh/g]",
) -> Figure:
    """Fig 5c–e: one panel per sample, predicted (line) vs measured (points) capacity against C-rate."""
    n = max(1, len(predictions))
    fig, axes = new_figure(3.2 * n, 3.2, ncols=n)
    for ax, (name, pred) in zip(axes[0], predictions.items(), strict=False):
        ax.plot(pred.c_rate, pred.reference_capacity_mah_g, "k:", label="reference")
        ax.plot(
            pred.c_rate,
            pred.capacity_mah_g,
            "o-",
            label=f"predicted (F = {pred.active_fraction:.2f})",
        )
        if measured and name in measured:
            m = measured[name]
            if "C-rate" in m.columns and capacity_column in m.columns:
                ax.plot(m["C-rate"], m[capacity_column], "s", mfc="none", label="measured")
        ax.set_xscale("log")
        rates = np.unique(np.round(np.asarray(pred.c_rate, dtype=float), 6))
        ax.xaxis.set_major_locator(FixedLocator(rates.tolist()))
        ax.xaxis.set_major_formatter(FixedFormatter([c_rate_label(r) for r in rates]))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("C-rate")
        ax.set_ylabel("Discharge capacity [mAh/g$_S$]")
        legend(ax, fontsize=7, frameon=True)
    return fig


def plot_formation_profiles(
    profiles: pd.DataFrame, curve: pd.DataFrame, *, c_rate: float | None = None, max_classes: int = 8
) -> Figure:
    """θ(r) at the end of the formation discharge against depth from the particle surface (µm),
    and the discharge curve, for one sample (``formation_profiles`` and ``formation_curves`` rows)."""
    fig, axes = new_figure(6.5, 3.2, ncols=2)
    ax, axv = axes[0]
    classes = list(profiles.groupby("Diameter [um]", sort=True))
    k = len(classes)
    pick = np.unique(np.linspace(0, k - 1, min(k, max_classes)).round().astype(int)) if k else []
    for colour, j in zip(cell_colours(len(pick)), pick, strict=False):
        d, g = classes[j]
        ax.plot(
            g["Depth [um]"],
            g["Conversion"],
            color=colour,
            label=f"{d:.2g} µm (f = {g['Active fraction'].iloc[0]:.2f})",
        )
    ax.set_xlabel("Depth below surface [µm]")
    ax.set_ylabel("Conversion θ (CEI / Li$_2$S)")
    legend(ax, fontsize=7, frameon=True)
    axv.plot(curve["Specific capacity [mAh/g]"], curve["Voltage [V]"], color="k")
    axv.set_xlabel("Capacity [mAh/g$_S$]")
    axv.set_ylabel("Voltage [V]")
    if c_rate:
        axv.set_title(f"C/{1 / c_rate:.3g}", fontsize=9)
    return fig


def plot_voltage_comparison(
    simulated: pd.DataFrame,
    measured: pd.DataFrame | None = None,
    *,
    sulfur_mass_mg: float | None = None,
) -> Figure:
    """Simulated (and measured) voltage against time, or against charge per gram with a sulfur mass."""
    fig, axes = new_figure(6.0, 3.4)
    ax = axes[0, 0]
    for frame, style, label in ((simulated, "-", "simulated"), (measured, "--", "measured")):
        if frame is None:
            continue
        if sulfur_mass_mg:
            x = frame[CHARGE].to_numpy(float) / (sulfur_mass_mg / 1000.0)
            ax.set_xlabel("Charge [mAh/g$_S$]")
        else:
            x = frame[TIME].to_numpy(float) / SECONDS_PER_HOUR
            ax.set_xlabel("Time [h]")
        ax.plot(x, frame[VOLTAGE], style, lw=0.8, label=label)
    ax.set_ylabel("Voltage [V]")
    legend(ax, fontsize=7, frameon=True)
    return fig


def plot_model_fit(table: pd.DataFrame, *, title: str = "") -> Figure:
    """Measured vs fitted discharge capacities of a model fit (its ``table``: ``Sample``, ``Cycle``
    or ``Block``, ``Measured [mAh/g]``, ``Fitted [mAh/g]``), per sample."""
    fig, axes = new_figure(5.5, 3.4)
    ax = axes[0, 0]
    t = table
    x_col = "Cycle" if "Cycle" in t.columns else "Block"
    groups = list(t.groupby("Sample", sort=False)) if "Sample" in t.columns else [("", t)]
    for colour, (name, g) in zip(cell_colours([n for n, _ in groups]), groups, strict=False):
        ax.plot(
            g[x_col], g["Measured [mAh/g]"], "o", mfc="none", color=colour, label=f"{name} measured"
        )
        ax.plot(g[x_col], g["Fitted [mAh/g]"], "-", color=colour, label=f"{name} model")
    ax.set_xlabel(x_col)
    ax.set_ylabel("Discharge capacity [mAh/g$_S$]")
    if title:
        ax.set_title(title, fontsize=9)
    legend(ax, fontsize=7, frameon=True)
    return fig


def plot_sample_predictions(
    predictions: SamplePredictions,
    measured_rate: Mapping[str, pd.DataFrame] | None = None,
) -> Figure:
    """The fitted model's predictions per sample: rate test (with measured points), retention and the
    first-discharge (formation) curve; one colour per sample."""
    fig, axes = new_figure(11.0, 3.4, ncols=3)
    ax_rate, ax_ret, ax_form = axes[0]
    names = list(dict.fromkeys(predictions.rate["Sample"]))
    for name, colour in zip(names, cell_colours(list(names)), strict=True):
        r = predictions.rate[predictions.rate["Sample"] == name]
        ax_rate.plot(
            r["Cycle"], r["Discharge capacity [mAh/g]"], "-", color=colour, label=f"{name} model"
        )
        if measured_rate and name in measured_rate:
            m = measured_rate[name]
            y = m["Discharge capacity [mAh/g]"].to_numpy(float)
            err = None
            if {"CI95 low [mAh/g]", "CI95 high [mAh/g]"} <= set(m.columns):
                err = np.vstack([y - m["CI95 low [mAh/g]"].to_numpy(float),
                                 m["CI95 high [mAh/g]"].to_numpy(float) - y])
                err = np.where(np.isfinite(err), err, 0.0)
            n_cells = int(m["Cells"].max()) if "Cells" in m.columns and len(m) else 1
            ax_rate.errorbar(
                m["Cycle"], y, yerr=err, fmt="o", ms=3, mfc="none", color=colour, elinewidth=0.8,
                capsize=1.5,
                label=f"{name} measured" + (f" (mean of {n_cells} cells, 95 % CI)"
                                            if err is not None and n_cells > 1 else ""),
            )
        t = predictions.retention[predictions.retention["Sample"] == name]
        t = t[t["Cycle"] >= 2]
        ax_ret.plot(t["Cycle"], t["Retention [%]"], "-", color=colour, label=name)
        f = predictions.first_discharge[predictions.first_discharge["Sample"] == name]
        ax_form.plot(
            f["Specific capacity [mAh/g]"], f["Voltage [V]"], "-", color=colour, label=name
        )
    ax_rate.set_xlabel("Cycle")
    ax_rate.set_ylabel("Discharge capacity [mAh/g$_S$]")
    ax_rate.set_title("Rate test: model (lines), measured (o, bars: 95 % CI)", fontsize=9)
    legend(ax_rate, fontsize=7, frameon=True)
    ax_ret.set_xlabel("Cycle")
    ax_ret.set_ylabel("Q$_n$/Q$_2$ [%]")
    ax_ret.set_title("Predicted retention", fontsize=9)
    ax_form.set_xlabel("Specific capacity [mAh/g$_S$]")
    ax_form.set_ylabel("Voltage [V]")
    ax_form.set_title("Predicted first discharge", fontsize=9)
    return fig


def plot_first_discharge_comparison(
    predicted: pd.DataFrame,
    measured: Mapping[str, pd.DataFrame],
) -> Figure:
    """First (CEI-forming) discharge: the fitted model's curve (solid) against the measured one
    (dashed) per sample. ``predicted`` has ``Sample``, ``Specific capacity [mAh/g]``, ``Voltage [V]``
    (:class:`SamplePredictions` ``.first_discharge``); ``measured`` maps each sample to a table with
    the same two columns (e.g. :func:`sulfurscope.cycling.voltage_profiles` of cycle 1)."""
    fig, axes = new_figure(5.5, 3.6)
    ax = axes[0, 0]
    names = list(dict.fromkeys(predicted["Sample"]))
    for name, colour in zip(names, cell_colours(list(names)), strict=True):
        p = predicted[predicted["Sample"] == name]
        ax.plot(
            p["Specific capacity [mAh/g]"],
            p["Voltage [V]"],
            "-",
            color=colour,
            label=f"{name} model",
        )
        if name in measured:
            m = measured[name]
            ax.plot(
                m["Specific capacity [mAh/g]"],
                m["Voltage [V]"],
                "--",
                color=colour,
                lw=1.0,
                label=f"{name} measured",
            )
    ax.set_xlabel("Specific capacity [mAh/g$_S$]")
    ax.set_ylabel("Voltage [V]")
    ax.set_title("First discharge: fitted model vs measurement", fontsize=9)
    legend(ax, fontsize=6, frameon=True)
    return fig


# ------------------------------------------------------------------ figures from the tables


def _distributions(table: pd.DataFrame) -> dict[str, SizeDistribution]:
    return {
        str(k): SizeDistribution(
            diameter_um=g["Diameter [um]"].to_numpy(float),
            number_fraction=g["Number fraction"].to_numpy(float),
            kind="measured",
            parameters={},
        )
        for k, g in table.groupby("Sample", sort=False)
    }


def _fitted_shell_um(tables: Mapping[str, pd.DataFrame]) -> float | None:
    p = tables.get("model_parameters", pd.DataFrame())
    if p.empty or "Parameter" not in p.columns:
        return None
    row = p[p["Parameter"] == "shell_um"]
    return float(row["Value"].iloc[0]) if len(row) else None


def fig_model_active_fraction(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 5b: f(d) with each sample's volume-weighted distribution and its F — the fitted shell
    (model A) when the fit gave one, the 1 µm of the study otherwise; the prediction's shell for
    ``model predict``."""
    if "model_prediction_distributions" in tables:
        dist = tables["model_prediction_distributions"]
        pred = tables.get("model_rate_predictions", pd.DataFrame())
        shell = float(pred["Shell [um]"].iloc[0]) if len(pred) else 1.0
    else:
        dist = tables.get("model_distributions", pd.DataFrame())
        shell = _fitted_shell_um(tables) or 1.0
    if dist is None or dist.empty:
        return None
    return plot_active_fraction(_distributions(dist), shell_um=shell)


def _rate_predictions(table: pd.DataFrame) -> dict[str, RatePrediction]:
    return {
        str(k): RatePrediction(
            c_rate=g["C-rate"].to_numpy(float),
            capacity_mah_g=g["Predicted discharge capacity [mAh/g]"].to_numpy(float),
            reference_capacity_mah_g=g["Reference discharge capacity [mAh/g]"].to_numpy(float),
            active_fraction=float(g["Active fraction"].iloc[0]),
            reference_active_fraction=float(g["Reference active fraction"].iloc[0]),
            shell_um=float(g["Shell [um]"].iloc[0]),
            rate_correction=True,
            weighting="volume",
        )
        for k, g in table.groupby("Sample", sort=False)
    }


def fig_model_rate_predictions(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 5c–e (``model predict``): each size's predicted rate capability from the reference."""
    t = tables.get("model_rate_predictions", pd.DataFrame())
    return None if t.empty else plot_rate_predictions(_rate_predictions(t))


def fig_model_shell_scaling(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 5c–e (study): larger samples from the smallest one's rate curve × active fraction,
    against their measured block means."""
    t = tables.get("model_shell_scaling", pd.DataFrame())
    if t.empty:
        return None
    measured = {
        str(k): g.rename(
            columns={"Measured discharge capacity [mAh/g]": "Mean discharge capacity [mAh/g]"}
        )
        for k, g in t.groupby("Sample", sort=False)
    }
    return plot_rate_predictions(_rate_predictions(t), measured)


def fig_model_predictions(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Fig 5: the fitted model's rate test (with the measured points), retention and first
    discharge, per sample."""
    rate = tables.get("model_predicted_rate", pd.DataFrame())
    if rate.empty:
        return None
    af = tables.get("model_active_fraction", pd.DataFrame())
    drop = ["Task"]
    preds = SamplePredictions(
        rate=rate.drop(columns=drop, errors="ignore"),
        retention=tables["model_predicted_retention"].drop(columns=drop, errors="ignore"),
        first_discharge=tables["model_predicted_first_discharge"].drop(columns=drop, errors="ignore"),
        active_fraction=dict(zip(af["Sample"], af["Active fraction after formation"], strict=True)),
    )
    meas = tables.get("model_measured_rate", pd.DataFrame())
    measured = {
        str(k): g.drop(columns=["Task", "Sample"], errors="ignore")
        for k, g in meas.groupby("Sample", sort=False)
    } if not meas.empty else {}
    return plot_sample_predictions(preds, measured)


def fig_model_comparison(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Predicted against measured block capacity for every sample and C-rate (y = x dotted)."""
    comp = tables.get("model_rate_comparison", pd.DataFrame())
    if comp.empty:
        return None
    fig, axes = new_figure(4.2, 4.0)
    ax = axes[0, 0]
    names = list(dict.fromkeys(comp["Sample"]))
    for name, colour in zip(names, cell_colours(list(names)), strict=True):
        g = comp[comp["Sample"] == name]
        ax.plot(
            g["Measured capacity [mAh/g]"], g["Predicted capacity [mAh/g]"], "o", color=colour,
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
    legend(ax, fontsize=7, frameon=False)
    return fig


def fig_model_cycling_fit(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Model C fitted to the reference sample: measured vs fitted capacity per cycle."""
    t = tables.get("model_cycling_fit", pd.DataFrame())
    return None if t.empty else plot_model_fit(t, title="Model C fit (reference sample)")


def fig_model_formation_fit(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Model B's D₀ fitted to every sample: measured vs fitted capacity."""
    t = tables.get("model_fitted_vs_measured", pd.DataFrame())
    return None if t.empty else plot_model_fit(t, title="Model B fit (all samples)")


def fig_formation_profiles(tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """Per sample: θ(r) after the formation discharge and its voltage curve (``model formation``)."""
    prof = tables.get("formation_profiles", pd.DataFrame())
    curves = tables.get("formation_curves", pd.DataFrame())
    if prof.empty:
        return {}
    return {
        str(name).replace(" ", ""): plot_formation_profiles(g, curves[curves["Sample"] == name])
        for name, g in prof.groupby("Sample", sort=False)
    }
