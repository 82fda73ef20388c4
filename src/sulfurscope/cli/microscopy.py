"""``sulfurscope particles`` and ``sulfurscope lattice``: micrographs → the microscopy analyses."""

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
    UsageError,
    per_input_options,
    report_results,
    run_inputs,
    unique_labels,
)

__all__ = ["register"]

_P = inspect.Parameter
_IMAGES = _P(
    "images",
    _P.POSITIONAL_OR_KEYWORD,
    annotation=Annotated[
        list[Path],
        typer.Argument(
            help="SEM/TEM images (TIFF, PNG, JPEG, DM3/DM4, EMD, TIA .emi/.ser, JEOL .img, .hspy, ...).",
            exists=True,
            dir_okay=False,
        ),
    ],
)
_IMAGE = _P(
    "image",
    _P.POSITIONAL_OR_KEYWORD,
    annotation=Annotated[
        Path, typer.Argument(help="HRTEM/STEM image.", exists=True, dir_okay=False)
    ],
)


def _file_option(name: str, flag: str, help_text: str) -> inspect.Parameter:
    return _P(
        name,
        _P.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None, typer.Option(flag, help=help_text, exists=True, dir_okay=False)
        ],
    )


def particles_command(values: dict[str, Any], common: Common) -> None:
    """Particle sizes of SEM/TEM images: ECD distributions (Fig 1a–c) and outlines (Fig S8)."""
    images: list[Path] = values["images"]
    extra = {}
    for role in ("rois", "truth_mask"):
        if values.get(role) is not None:
            if len(images) != 1:
                raise UsageError(f"--{role.replace('_', '-')} belongs to one image: give one IMAGE")
            extra[role] = values[role]
    labels = unique_labels(images, None)
    inputs = [Input(t, {"file": p, **extra}) for t, p in zip(labels, images, strict=True)]
    scalar, per_input = option_values(options_class("particles"), values)
    results, errors = run_inputs(
        "particles", inputs, per_input_options(scalar, per_input, len(inputs))
    )
    report_results("particles", results, errors, common)


def lattice_command(values: dict[str, Any], common: Common) -> None:
    """Lattice spacings by FFT: spots, rings, indexing, calibration refinement (Fig 4a)."""
    image: Path = values["image"]
    scalar, _ = option_values(options_class("lattice"), values)
    results, errors = run_inputs("lattice", [Input(image.stem, {"file": image})], [scalar])
    report_results("lattice", results, errors, common)


def register(app: typer.Typer) -> None:
    """Add ``particles`` and ``lattice``."""
    add_command(
        app,
        "particles",
        particles_command,
        help=particles_command.__doc__ or "",
        options=options_class("particles"),
        arguments=[
            _IMAGES,
            _file_option("rois", "--rois", "Fiji ROI set (.roi/.zip) used instead of segmenting."),
            _file_option(
                "truth_mask", "--truth-mask", "Hand-made mask to score the segmentation against."
            ),
        ],
    )
    add_command(
        app,
        "lattice",
        lattice_command,
        help=lattice_command.__doc__ or "",
        options=options_class("lattice"),
        arguments=[_IMAGE],
    )
