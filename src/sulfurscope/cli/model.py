"""``sulfurscope model predict | formation | fit``: the particle-size model.

``model fit RESULTS`` reads a study's results folder (what ``sulfurscope run`` writes: ``tables/`` with
``cycling_cycles``, ``particles`` and ``samples``) or a folder of tables laid out by hand:

* ``samples.csv`` — one row per sample: ``Sample``, ``Mean diameter [um]``, optional
  ``SD diameter [um]`` and ``Distribution`` (``gaussian`` | ``lognormal`` | ``single``);
* per sample a cycle summary ``<Sample>_summary.csv`` (``Cycle``, ``Discharge C-rate``,
  ``Discharge capacity [mAh/g]``) or a rate table ``<Sample>_rate_capability.csv`` (``C-rate``,
  ``Mean discharge capacity [mAh/g]``);
* optionally ``<Sample>_particles.csv`` with ``Equivalent diameter [um]``/``[nm]`` or
  ``Diameter [um]``, which replaces the mean/SD distribution.

The sample with the smallest mean diameter is the reference.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from sulfurscope.analysis import options_class
from sulfurscope.cli._build import add_command, option_values
from sulfurscope.cli._output import Common
from sulfurscope.errors import MissingColumnError, SulfurscopeError

__all__ = ["read_model_inputs", "register"]

_P = inspect.Parameter
model_app = typer.Typer(
    help="Particle-size model: active shell, first-discharge formation, fitting.",
    no_args_is_help=True,
)


def _read_csv(path: Path) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SulfurscopeError(f"{path}: cannot read as CSV ({exc})") from None


def _legacy_distribution(row: Any, folder: Path, n_classes: int) -> Any:
    from sulfurscope.analysis.model import distribution_of
    from sulfurscope.model import measured_distribution

    particles = folder / f"{row['Sample']}_particles.csv"
    if particles.exists():
        table = _read_csv(particles)
        names = ("Equivalent diameter [um]", "Equivalent diameter [nm]", "Diameter [um]")
        col = next((c for c in names if c in table.columns), None)
        if col is None:
            raise MissingColumnError(f"{particles}: need one of {list(names)}")
        return measured_distribution(table, column=col, bins=n_classes)
    sd = float(row.get("SD diameter [um]", 0.0) or 0.0)
    kind = str(row.get("Distribution", "gaussian") or "gaussian")
    return distribution_of(float(row["Mean diameter [um]"]), sd, kind, n_classes)


def _legacy_inputs(folder: Path, n_classes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    samples = _read_csv(folder / "samples.csv")
    for col in ("Sample", "Mean diameter [um]"):
        if col not in samples.columns:
            raise MissingColumnError(f"{folder / 'samples.csv'}: column {col!r} missing")
    samples = samples.sort_values("Mean diameter [um]")
    dists = {str(r["Sample"]): _legacy_distribution(r, folder, n_classes) for _, r in samples.iterrows()}
    rates = {}
    for name in dists:
        for suffix in ("summary", "rate_capability"):
            p = folder / f"{name}_{suffix}.csv"
            if p.exists():
                rates[name] = _read_csv(p)
                break
        else:
            raise SulfurscopeError(f"{folder}: no {name}_summary.csv or {name}_rate_capability.csv")
    return rates, dists


def read_model_inputs(folder: Path, n_classes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model fit's inputs (rate tests, size distributions) from a results folder."""
    import pandas as pd

    from sulfurscope.analysis.model import model_inputs

    tables = folder / "tables"
    if tables.is_dir():
        def read(name: str) -> pd.DataFrame:
            p = tables / f"{name}.parquet"
            return pd.read_parquet(p) if p.is_file() else pd.DataFrame()

        samples = read("samples")
        if samples.empty:
            raise SulfurscopeError(f"{folder}: tables/samples.parquet missing (rerun the study)")
        return model_inputs(read("cycling_cycles"), read("particles"), samples, n_classes,
                            read("condition_stats"), read("cells"))
    if (folder / "samples.csv").is_file():
        return _legacy_inputs(folder, n_classes)
    raise SulfurscopeError(
        f"{folder}: neither a study results folder (tables/) nor a folder with samples.csv"
    )


def _single(analysis: str, result: Any, common: Common) -> None:
    from sulfurscope.cli._output import report_results

    report_results(analysis, [("model", result)], [], common)


def predict_command(values: dict[str, Any], common: Common) -> None:
    """Predict the rate capability of other particle sizes from a reference curve (Fig 5b–e)."""
    from sulfurscope.analysis.model import ModelPredictOptions, analyse_model_predict

    scalar, _ = option_values(ModelPredictOptions, values)
    opts = ModelPredictOptions.from_mapping(scalar)
    _single("model_predict", analyse_model_predict(_read_csv(values["reference_rates"]), opts), common)


def formation_command(values: dict[str, Any], common: Common) -> None:
    """Simulate the first (formation) discharge: active fraction per size, θ(r), voltage."""
    from sulfurscope.analysis.model import ModelFormationOptions, analyse_model_formation

    scalar, _ = option_values(ModelFormationOptions, values)
    _single("model_formation", analyse_model_formation(ModelFormationOptions.from_mapping(scalar)), common)


def fit_command(values: dict[str, Any], common: Common) -> None:
    """Fit models C (smallest particles), B (D₀, all samples) and A (δ) to a study's results."""
    from sulfurscope.analysis.model import ModelFitOptions, analyse_model_fit

    scalar, _ = option_values(ModelFitOptions, values)
    opts = ModelFitOptions.from_mapping(scalar)
    rates, dists = read_model_inputs(values["results"], opts.n_classes)
    _single("model_fit", analyse_model_fit(rates, dists, opts), common)


def register(app: typer.Typer) -> None:
    """Add the ``model`` sub-app (predict, formation, fit)."""
    add_command(
        model_app,
        "predict",
        predict_command,
        help=predict_command.__doc__ or "",
        options=options_class("model_predict"),
        out_name="model-predict",
        arguments=[
            _P(
                "reference_rates",
                _P.KEYWORD_ONLY,
                annotation=Annotated[
                    Path,
                    typer.Option(
                        "--reference-rates",
                        help="Reference rate table CSV (C-rate and a discharge-capacity column).",
                        exists=True,
                        dir_okay=False,
                    ),
                ],
            )
        ],
    )
    add_command(
        model_app,
        "formation",
        formation_command,
        help=formation_command.__doc__ or "",
        options=options_class("model_formation"),
        out_name="model-formation",
    )
    add_command(
        model_app,
        "fit",
        fit_command,
        help=fit_command.__doc__ or "",
        options=options_class("model_fit"),
        out_name="model-fit",
        arguments=[
            _P(
                "results",
                _P.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[
                    Path,
                    typer.Argument(
                        help="A study's results folder (or a folder with samples.csv).",
                        exists=True,
                        file_okay=False,
                    ),
                ],
            )
        ],
    )
    app.add_typer(model_app, name="model")
