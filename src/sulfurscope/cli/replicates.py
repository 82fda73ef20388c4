"""``sulfurscope replicates RESULTS``: statistics per condition of a study's replicate cells.

Reads a study's results folder (what ``sulfurscope run`` writes: ``tables/`` with ``cells``,
``cycling_cycles``, ``cycling_rate_blocks``, ``cycling_retention``, ``gitt_steps``,
``gitt_diffusivity`` and ``tga_fraction``) and runs the analysis the pipeline's ``replicates`` step
runs (:func:`sulfurscope.analysis.replicates.analyse_replicates`), e.g. again with other options
(``--ci-method bootstrap``) without rerunning the study.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from sulfurscope.analysis import options_class
from sulfurscope.cli._build import add_command, option_values
from sulfurscope.cli._output import Common

__all__ = ["read_replicate_inputs", "register"]

_TABLES = ("cycling_cycles", "cycling_rate_blocks", "cycling_retention", "gitt_steps",
           "gitt_diffusivity", "tga_fraction")


def read_replicate_inputs(folder: Path) -> tuple[Any, dict[str, Any]]:
    """The manifest's cells and the store tables the replicates analysis reads, from a results
    folder."""
    import pandas as pd

    from sulfurscope.errors import SulfurscopeError

    tables = folder / "tables"
    cells_path = tables / "cells.parquet"
    if not cells_path.is_file():
        raise SulfurscopeError(
            f"{folder}: tables/cells.parquet missing (a study results folder written by "
            "sulfurscope run is needed; rerun the study)"
        )
    cells = pd.read_parquet(cells_path)
    out = {n: pd.read_parquet(tables / f"{n}.parquet") for n in _TABLES
           if (tables / f"{n}.parquet").is_file()}
    return cells, out


def replicates_command(values: dict[str, Any], common: Common) -> None:
    """Condition means with 95 % intervals, differences between conditions, outlier flags and the
    sulfur-mass uncertainty of a study's replicate cells."""
    from sulfurscope.analysis.replicates import ReplicateOptions, analyse_replicates
    from sulfurscope.cli._output import report_results

    scalar, _ = option_values(ReplicateOptions, values)
    cells, tables = read_replicate_inputs(values["results"])
    result = analyse_replicates(cells, tables, ReplicateOptions.from_mapping(scalar))
    report_results("replicates", [("replicates", result)], [], common)


def register(app: typer.Typer) -> None:
    """Add ``replicates`` to the app."""
    add_command(
        app,
        "replicates",
        replicates_command,
        help=replicates_command.__doc__ or "",
        options=options_class("replicates"),
        arguments=[
            inspect.Parameter(
                "results",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[
                    Path,
                    typer.Argument(help="A study's results folder.", exists=True,
                                   file_okay=False),
                ],
            )
        ],
    )
