"""``sulfurscope model``: the particle-size model — predict, formation, fit.

``model fit STUDY_RESULTS`` reads a folder of sulfurscope result tables:

* ``samples.csv`` — one row per sample: ``Sample``, ``Mean diameter [um]``, optional
  ``SD diameter [um]`` and ``Distribution`` (``gaussian`` | ``lognormal`` | ``single``);
* per sample, a cycle summary ``<Sample>_summary.csv`` (as ``sulfurscope cycling`` writes it, with
  ``Cycle``, ``Discharge C-rate``, ``Discharge capacity [mAh/g]``, ``Charge C-rate``) or else a rate table
  ``<Sample>_rate_capability.csv`` (``C-rate``, ``Cycles``, ``Mean discharge capacity [mAh/g]``);
* optionally ``<Sample>_particles.csv`` — a particle table (``Equivalent diameter [nm]`` / ``[um]`` as
  the microscopy analysis writes it, or ``Diameter [um]``) that replaces the mean/SD distribution.

The sample with the smallest mean diameter is the reference: model C is fitted to it, then model B's D₀
to all samples; model A's shell thickness is fitted to the rate tables' capacity ratios.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from sulfurscope.cli._common import echo_json, exit_on_error, jsonable, write_table, write_text
from sulfurscope.errors import MissingColumnError, SulfurscopeError
from sulfurscope.model import (
    FormationParameters,
    SizeDistribution,
    fit_cycling_model,
    fit_formation_model,
    fit_shell_thickness,
    gaussian_distribution,
    lognormal_distribution,
    measured_distribution,
    predict_rate_capability,
    predict_samples,
    simulate_formation,
    single_size,
)
from sulfurscope.report._style import save_figure
from sulfurscope.report.model import (
    plot_active_fraction,
    plot_formation_profiles,
    plot_model_fit,
    plot_rate_predictions,
    plot_sample_predictions,
)

__all__ = ["fit_study_results", "register"]

model_app = typer.Typer(
    help="Particle-size model: active shell, first-discharge formation, cycling, fitting.",
    no_args_is_help=True,
)


def _floats(text: str | None, name: str) -> list[float]:
    if not text:
        return []
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SulfurscopeError(f"{name}: expected comma-separated numbers, got {text!r}") from None


def _distributions(
    sizes: str, sd: str | None, kind: str, n_classes: int
) -> dict[str, SizeDistribution]:
    d = _floats(sizes, "--sizes")
    if not d:
        raise SulfurscopeError("--sizes: give at least one diameter in µm, e.g. 1,4,8")
    s = _floats(sd, "--sd")
    if s and len(s) not in (1, len(d)):
        raise SulfurscopeError(f"--sd: give one value or one per size ({len(d)}), got {len(s)}")
    if len(s) == 1:
        s = s * len(d)
    out: dict[str, SizeDistribution] = {}
    for k, dk in enumerate(d):
        name = f"{dk:g} um"
        if not s or s[k] == 0:
            out[name] = single_size(dk)
        elif kind == "gaussian":
            out[name] = gaussian_distribution(dk, s[k], n_classes=n_classes)
        elif kind == "lognormal":
            out[name] = lognormal_distribution(dk, s[k], n_classes=n_classes)
        else:
            raise SulfurscopeError(f"--distribution: expected gaussian or lognormal, got {kind!r}")
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SulfurscopeError(f"{path}: cannot read as CSV ({exc})") from None


def _predict(
    sizes: str,
    sd: str | None,
    kind: str,
    shell_um: float,
    reference: Path,
    reference_size: float,
    rate_correction: bool,
    out: Path,
    n_classes: int,
) -> dict[str, Any]:
    dists = _distributions(sizes, sd, kind, n_classes)
    ref = _read_csv(reference)
    out.mkdir(parents=True, exist_ok=True)
    preds = {
        name: predict_rate_capability(
            ref,
            dist,
            shell_um=shell_um,
            rate_correction=rate_correction,
            reference_distribution=reference_size,
        )
        for name, dist in dists.items()
    }
    frames = []
    for name, p in preds.items():
        f = p.to_frame()
        f.insert(0, "Sample", name)
        f["Active fraction"] = p.active_fraction
        frames.append(f)
    written = write_table(pd.concat(frames, ignore_index=True), out, "rate_predictions")
    figs = [
        save_figure(
            plot_active_fraction(dists, shell_um=shell_um), out / "fig5b_active_fraction.png"
        ),
        save_figure(plot_rate_predictions(preds), out / "fig5cde_rate_predictions.png"),
    ]
    return {
        "shell_um": shell_um,
        "rate_correction": rate_correction,
        "samples": {k: p.to_dict() for k, p in preds.items()},
        "files": [str(p) for p in written + figs],
    }


def _formation(
    gitt_pulse_mah_g: float | None,
    sizes: str,
    sd: str | None,
    kind: str,
    c_rate: float,
    out: Path,
    n_cells: int,
    n_classes: int,
    diffusivity: float | None,
) -> dict[str, Any]:
    dists = _distributions(sizes, sd, kind, n_classes)
    params = (
        FormationParameters()
        if diffusivity is None
        else FormationParameters(diffusivity_m2_s=diffusivity)
    )
    out.mkdir(parents=True, exist_ok=True)
    per_class, curves, result, files = [], [], {}, []
    for name, dist in dists.items():
        r = simulate_formation(
            dist, params, c_rate=c_rate, n_cells=n_cells, gitt_pulse_mah_g=gitt_pulse_mah_g
        )
        t = r.to_frame()
        t.insert(0, "Sample", name)
        per_class.append(t)
        curves.append(
            pd.DataFrame(
                {
                    "Sample": name,
                    "Time [s]": r.time_s,
                    "Voltage [V]": r.voltage_v,
                    "Current [C]": r.current_c,
                    "Specific capacity [mAh/g]": r.converted * 1672.0,
                }
            )
        )
        result[name] = {k: v for k, v in r.to_dict().items() if k != "parameters"}
        stem = name.replace(" ", "")
        files.append(
            save_figure(plot_formation_profiles(r), out / f"formation_profiles_{stem}.png")
        )
    files += write_table(pd.concat(per_class, ignore_index=True), out, "formation_classes")
    files += write_table(pd.concat(curves, ignore_index=True), out, "formation_curves")
    return {
        "c_rate": c_rate,
        "parameters": params.to_dict(),
        "samples": result,
        "files": [str(f) for f in files],
    }


def _study_distribution(row: pd.Series, folder: Path, n_classes: int) -> SizeDistribution:
    name = str(row["Sample"])
    particles = folder / f"{name}_particles.csv"
    if particles.exists():
        table = _read_csv(particles)
        names = ("Equivalent diameter [um]", "Equivalent diameter [nm]", "Diameter [um]")
        col = next((c for c in names if c in table.columns), None)
        if col is None:
            raise MissingColumnError(
                f"{particles}: need one of {list(names)} (have {list(table.columns)})"
            )
        return measured_distribution(table, column=col, bins=n_classes)
    mean = float(row["Mean diameter [um]"])
    sd = float(row.get("SD diameter [um]", 0.0) or 0.0)
    kind = str(row.get("Distribution", "gaussian") or "gaussian")
    if sd <= 0 or kind == "single":
        return single_size(mean)
    if kind == "lognormal":
        return lognormal_distribution(mean, sd, n_classes=n_classes)
    return gaussian_distribution(mean, sd, n_classes=n_classes)


def _study_table(name: str, folder: Path) -> tuple[pd.DataFrame, str]:
    for suffix in ("summary", "rate_capability"):
        p = folder / f"{name}_{suffix}.csv"
        if p.exists():
            return _read_csv(p), suffix
    raise SulfurscopeError(
        f"{folder}: no {name}_summary.csv or {name}_rate_capability.csv for sample {name!r}"
    )


def fit_study_results(
    folder: Path, out: Path, n_classes: int = 12, n_cells: int = 30
) -> dict[str, Any]:
    """Fit the model to a folder of result tables (layout in the module docstring); write into ``out``."""
    samples_csv = folder / "samples.csv"
    if not samples_csv.exists():
        raise SulfurscopeError(f"{folder}: samples.csv missing (Sample, Mean diameter [um], ...)")
    samples = _read_csv(samples_csv)
    for col in ("Sample", "Mean diameter [um]"):
        if col not in samples.columns:
            raise MissingColumnError(
                f"{samples_csv}: column {col!r} missing (have {list(samples.columns)})"
            )
    samples = samples.sort_values("Mean diameter [um]")
    dists = {
        str(r["Sample"]): _study_distribution(r, folder, n_classes) for _, r in samples.iterrows()
    }
    tables = {name: _study_table(name, folder) for name in dists}
    ref = next(iter(dists))
    out.mkdir(parents=True, exist_ok=True)
    fit_c = fit_cycling_model(tables[ref][0], dists[ref], n_cells=n_cells)
    result: dict[str, Any] = {"reference": ref, "cycling_fit": fit_c.to_dict()}
    files = write_table(fit_c.to_frame(), out, "cycling_fit_parameters")
    files.append(save_figure(plot_model_fit(fit_c), out / "cycling_fit.png"))
    final_formation = fit_c.formation
    if len(dists) > 1:
        fit_b = fit_formation_model(
            {k: (dists[k], tables[k][0]) for k in dists}, cycling=fit_c.cycling, n_cells=n_cells
        )
        final_formation = fit_b.formation
        result["formation_fit"] = fit_b.to_dict()
        files += write_table(fit_b.to_frame(), out, "formation_fit_parameters")
        files += write_table(fit_b.table, out, "fitted_vs_measured")
        files.append(save_figure(plot_model_fit(fit_b), out / "formation_fit.png"))
        # model A: the shell thickness from block capacity ratios (rate tables or summaries)
        rows = []
        for name, (table, kind) in tables.items():
            if kind == "rate_capability":
                t = table[["C-rate", "Mean discharge capacity [mAh/g]"]].copy()
            else:
                t = table[table["Cycle"] > 1][["Discharge C-rate", "Discharge capacity [mAh/g]"]]
                t = t.rename(
                    columns={
                        "Discharge C-rate": "C-rate",
                        "Discharge capacity [mAh/g]": "Mean discharge capacity [mAh/g]",
                    }
                )
            t.insert(0, "Sample", name)
            rows.append(t)
        try:
            shell = fit_shell_thickness(pd.concat(rows, ignore_index=True), dists, reference=ref)
            result["shell_fit"] = shell.to_dict()
            files.append(
                save_figure(
                    plot_active_fraction(dists, shell_um=shell.shell_um),
                    out / "fig5b_active_fraction.png",
                )
            )
        except SulfurscopeError as exc:
            result["shell_fit"] = {"skipped": str(exc)}
    # predict every sample's rate test, retention and first discharge with the fitted parameters
    preds = predict_samples(
        dists, cycling=fit_c.cycling, formation=final_formation, n_cells=min(n_cells, 20)
    )
    files += write_table(preds.rate, out, "predicted_rate_test")
    files += write_table(preds.retention, out, "predicted_retention")
    files += write_table(preds.first_discharge, out, "predicted_first_discharge")
    measured = {
        name: table[["Cycle", "Discharge capacity [mAh/g]"]]
        for name, (table, kind) in tables.items()
        if kind == "summary"
    }
    files.append(save_figure(plot_sample_predictions(preds, measured), out / "predictions.png"))
    result["predictions"] = preds.to_dict()
    files.append(write_text(json.dumps(jsonable(result), indent=1), out / "model_fit.json"))
    result["files"] = [str(f) for f in files]
    return result


@model_app.command("predict")
def predict(
    sizes: Annotated[
        str, typer.Option("--sizes", help="Mean diameters in µm, comma-separated (e.g. 1,4,8).")
    ],
    reference: Annotated[
        Path,
        typer.Option(
            "--reference",
            help="Reference rate table CSV (C-rate + capacity).",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("sulfurscope-model"),
    sd: Annotated[
        str | None, typer.Option("--sd", help="Standard deviations in µm (one, or one per size).")
    ] = None,
    distribution: Annotated[
        str, typer.Option("--distribution", help="gaussian or lognormal (with --sd).")
    ] = "gaussian",
    shell_um: Annotated[
        float, typer.Option("--shell-um", help="Active shell thickness δ, µm.")
    ] = 1.0,
    reference_size: Annotated[
        float, typer.Option("--reference-size", help="Diameter of the reference sample, µm.")
    ] = 1.0,
    rate_correction: Annotated[
        bool,
        typer.Option(
            "--rate-correction/--no-rate-correction", help="Apply the C/F rate correction."
        ),
    ] = True,
    n_classes: Annotated[
        int, typer.Option("--n-classes", help="Size classes per distribution.")
    ] = 40,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Predict rate capability of other particle sizes from a reference curve (Fig 5b–e)."""
    res = exit_on_error(
        lambda: _predict(
            sizes,
            sd,
            distribution,
            shell_um,
            reference,
            reference_size,
            rate_correction,
            out,
            n_classes,
        )
    )
    if as_json:
        echo_json(res)
    else:
        for name, s in res["samples"].items():
            caps = ", ".join(f"{q:.0f}" for q in s["capacity_mah_g"])
            typer.echo(f"{name}: F = {s['active_fraction']:.3f}; capacity [mAh/g] = {caps}")
        typer.echo(f"wrote {len(res['files'])} file(s) to {out}")


@model_app.command("formation")
def formation(
    sizes: Annotated[str, typer.Option("--sizes", help="Mean diameters in µm, comma-separated.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("sulfurscope-model"),
    sd: Annotated[
        str | None, typer.Option("--sd", help="Standard deviations in µm (one, or one per size).")
    ] = None,
    distribution: Annotated[
        str, typer.Option("--distribution", help="gaussian or lognormal (with --sd).")
    ] = "gaussian",
    c_rate: Annotated[float, typer.Option("--c-rate", help="Formation C-rate.")] = 0.1,
    diffusivity: Annotated[
        float | None, typer.Option("--diffusivity-m2-s", help="D₀ of model B.")
    ] = None,
    n_cells: Annotated[int, typer.Option("--n-cells", help="Grid cells per size class.")] = 30,
    n_classes: Annotated[
        int, typer.Option("--n-classes", help="Size classes per distribution.")
    ] = 12,
    gitt_pulse_mah_g: Annotated[
        float | None,
        typer.Option(
            "--gitt-pulse-mah-g", help="Run the first discharge as a GITT with these pulses."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Simulate the first (formation) discharge: active fraction per size, θ(r) profiles, voltage."""
    res = exit_on_error(
        lambda: _formation(
            gitt_pulse_mah_g, sizes, sd, distribution, c_rate, out, n_cells, n_classes, diffusivity
        )
    )
    if as_json:
        echo_json(res)
    else:
        for name, s in res["samples"].items():
            typer.echo(
                f"{name}: F = {s['electrode_active_fraction']:.3f} "
                f"({s['capacity_mah_g']:.0f} mAh/g at C/{1 / c_rate:.3g})"
            )
        typer.echo(f"wrote {len(res['files'])} file(s) to {out}")


@model_app.command("fit")
def fit(
    study_results: Annotated[
        Path,
        typer.Argument(
            help="Folder with samples.csv and per-sample tables.", exists=True, file_okay=False
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "sulfurscope-model-fit"
    ),
    n_classes: Annotated[
        int, typer.Option("--n-classes", help="Size classes per distribution.")
    ] = 8,
    n_cells: Annotated[int, typer.Option("--n-cells", help="Model B grid cells per class.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fit models C (smallest particles), B (D₀, all samples) and A (δ) to a study's result tables."""
    res = exit_on_error(lambda: fit_study_results(study_results, out, n_classes, n_cells))
    if as_json:
        echo_json(res)
    else:
        vals = res["cycling_fit"]["values"]
        typer.echo("model C: " + ", ".join(f"{k} = {v:.4g}" for k, v in vals.items()))
        if "formation_fit" in res:
            vals = res["formation_fit"]["values"]
            typer.echo("model B: " + ", ".join(f"{k} = {v:.4g}" for k, v in vals.items()))
        if "shell_um" in res.get("shell_fit", {}):
            s = res["shell_fit"]
            typer.echo(f"model A: shell = {s['shell_um']:.3f} ± {s['shell_stderr_um']:.3f} µm")
        typer.echo(f"wrote {len(res['files'])} file(s) to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``model`` sub-app (predict, formation, fit) to ``app``."""
    app.add_typer(model_app, name="model")
