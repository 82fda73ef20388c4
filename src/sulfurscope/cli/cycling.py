"""``sulfurscope cycling`` and ``sulfurscope gitt``: cycler files → the cycling or GITT analysis."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from sulfurscope.analysis import options_class
from sulfurscope.cli._build import add_command, option_values
from sulfurscope.cli._output import (
    Common,
    Input,
    per_input_options,
    report_results,
    run_inputs,
    unique_labels,
)

__all__ = ["register"]

_P = inspect.Parameter
_FILES = _P(
    "files",
    _P.POSITIONAL_OR_KEYWORD,
    annotation=Annotated[
        list[Path],
        typer.Argument(
            help="Cycler files (.mpr, .mpt, .res, .nda/.ndax, Maccor); one cell each.",
            exists=True,
            dir_okay=False,
        ),
    ],
)
_LABEL = _P(
    "label",
    _P.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        list[str] | None, typer.Option("--label", help="Cell label, once per file.")
    ],
)
_TGA = _P(
    "tga",
    _P.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        Path | None,
        typer.Option(
            "--tga",
            help="TGA export of the composite: its sulfur fraction, with --composite-mass-mg.",
            exists=True,
            dir_okay=False,
        ),
    ],
)
_SIZE = _P(
    "particle_size_um",
    _P.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        list[float] | None,
        typer.Option(
            "--particle-size-um",
            help="Particle diameter of each file's sample [µm], once per file: fits τ ∝ L^n.",
        ),
    ],
)


_PARTICLES = _P(
    "particles",
    _P.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        list[Path] | None,
        typer.Option(
            "--particles",
            help="Particle table of each file's sample (particles.csv of `sulfurscope particles`), "
            "once per file: D is read through that size distribution, not one size.",
            exists=True,
            dir_okay=False,
        ),
    ],
)


def _size_distributions(values: dict[str, Any], tasks: list[str]) -> dict[str, Any]:
    """Each task's size classes from its ``--particles`` table (see ``analysis.gitt.size_classes``)."""
    from sulfurscope.analysis.gitt import DIAMETER_COLUMN, size_classes
    from sulfurscope.cli._output import UsageError
    from sulfurscope.errors import SulfurscopeError

    paths = values.get("particles") or []
    if not paths:
        return {}
    if len(paths) != len(tasks):
        raise UsageError(f"--particles was given {len(paths)} times for {len(tasks)} files: give "
                         "it once per file")
    import pandas as pd

    out = {}
    for task, path in zip(tasks, paths, strict=True):
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise SulfurscopeError(f"{path.name}: not a particle table ({exc})") from None
        if DIAMETER_COLUMN not in table.columns:
            raise SulfurscopeError(f"{path.name}: no '{DIAMETER_COLUMN}' column (expected the "
                                   "particles.csv of `sulfurscope particles`)")
        classes = size_classes(table)  # None below 10 particles: one size (flag d_single_size)
        if classes is not None:
            out[task] = classes
    return out


def _inputs(values: dict[str, Any]) -> list[Input]:
    files: list[Path] = values["files"]
    labels = unique_labels(files, values.get("label"))
    extra = {"tga": values["tga"]} if values.get("tga") is not None else {}
    return [Input(t, {"file": f, **extra}) for t, f in zip(labels, files, strict=True)]


def _run(analysis: str, values: dict[str, Any]) -> tuple[list[tuple[str, Any]], list[Any]]:
    inputs = _inputs(values)
    scalar, per_input = option_values(options_class(analysis), values)
    return run_inputs(analysis, inputs, per_input_options(scalar, per_input, len(inputs)))


def cycling_command(values: dict[str, Any], common: Common) -> None:
    """Capacity, efficiency, rate capability, retention and dQ/dV of cycler files (Fig 1d–f)."""
    results, errors = _run("cycling", values)
    report_results("cycling", results, errors, common)


def gitt_command(values: dict[str, Any], common: Common) -> None:
    """Pulses, rests, overpotentials and relaxation times τ of GITT runs (Fig 2, Fig S4); with
    ``--particle-size-um`` also τ ∝ L^n across the files."""
    from sulfurscope.analysis.gitt import GittScalingOptions, analyse_gitt_scaling
    from sulfurscope.cli._output import UsageError

    sizes = values.get("particle_size_um") or []
    if values.get("particles") and not sizes:  # never ignore an input silently
        raise UsageError("--particles needs --particle-size-um (each file's size for τ ∝ L^n)")
    results, errors = _run("gitt", values)
    if sizes:
        tasks = [i.task for i in _inputs(values)]
        if len(sizes) != len(tasks):
            raise UsageError(
                f"--particle-size-um was given {len(sizes)} times for {len(tasks)} files: "
                "give it once per file"
            )
        import pandas as pd

        steps = pd.concat(
            [r.tables["gitt_steps"].assign(Task=t) for t, r in results], ignore_index=True
        )
        v_inf = values.get("v_inf") or "last_sample"
        scaling = analyse_gitt_scaling(
            steps, dict(zip(tasks, sizes, strict=True)), GittScalingOptions(v_inf=v_inf),
            _size_distributions(values, tasks),
        )
        results = [*results, ("gitt_scaling", scaling)]
    report_results("gitt", results, errors, common)


def register(app: typer.Typer) -> None:
    """Add ``cycling`` and ``gitt``."""
    add_command(
        app,
        "cycling",
        cycling_command,
        help=cycling_command.__doc__ or "",
        options=options_class("cycling"),
        arguments=[_FILES, _LABEL, _TGA],
    )
    add_command(
        app,
        "gitt",
        gitt_command,
        help=gitt_command.__doc__ or "",
        options=options_class("gitt"),
        arguments=[_FILES, _LABEL, _TGA, _SIZE, _PARTICLES],
    )
