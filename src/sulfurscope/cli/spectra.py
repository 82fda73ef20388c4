"""``sulfurscope xps | raman | tga | eds | eels``: one spectroscopy file (or pair) → its analysis."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from sulfurscope.analysis import options_class
from sulfurscope.cli._build import add_command, option_values
from sulfurscope.cli._output import Common, Input, UsageError, report_results, run_inputs

__all__ = ["register"]

_P = inspect.Parameter


def _file(help_text: str) -> inspect.Parameter:
    return _P(
        "file",
        _P.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[Path, typer.Argument(help=help_text, exists=True, dir_okay=False)],
    )


def _one_file(analysis: str) -> Any:
    def body(values: dict[str, Any], common: Common) -> None:
        path: Path = values["file"]
        scalar, _ = option_values(options_class(analysis), values)
        results, errors = run_inputs(analysis, [Input(path.stem, {"file": path})], [scalar])
        report_results(analysis, results, errors, common)

    return body


def _eels_inputs(values: dict[str, Any]) -> Input:
    from sulfurscope.spectra.eels import REFERENCE_SLOTS

    files: dict[str, Path] = {}
    for role in ("low_loss", "core_loss"):
        if values.get(role) is not None:
            files[role] = values[role]
    if not files:
        raise UsageError("give --low-loss FILE, --core-loss FILE or both")
    for item in values.get("reference") or []:
        slot, _, path = item.partition("=")
        if slot not in REFERENCE_SLOTS or not path:
            raise UsageError(
                f"--reference {item!r}: expected SLOT=FILE with SLOT one of {list(REFERENCE_SLOTS)}"
            )
        if not Path(path).is_file():
            raise UsageError(f"--reference {item!r}: no such file {path}")
        files[f"reference_{slot}"] = Path(path)
    name = next(iter(files.values())).stem
    return Input(name, files)


def eels_command(values: dict[str, Any], common: Common) -> None:
    """t/λ, edge integrals ÷ t/λ and the line-scan profile of an EELS pair (Fig 3e–g)."""
    inp = _eels_inputs(values)
    scalar, _ = option_values(options_class("eels"), values)
    results, errors = run_inputs("eels", [inp], [scalar])
    report_results("eels", results, errors, common)


def _spectrum_option(name: str, flag: str, help_text: str) -> inspect.Parameter:
    return _P(
        name,
        _P.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None, typer.Option(flag, help=help_text, exists=True, dir_okay=False)
        ],
    )


_COMMANDS = {
    "xps": (
        "XPS file: VAMAS .vms/.npl, PHI .spe/.pro, SPECS .xy or CasaXPS text.",
        "Fit XPS regions with the study's component library and quantify (Fig 4b–f, Tables S1–S6).",
    ),
    "raman": (
        "Raman file: Renishaw .wdf (single, line or map) or text export.",
        "D/G band fits (two-band and Sadezky) and I_D/I_G by height and by area (Fig S1).",
    ),
    "tga": (
        "TGA export (NETZSCH, TA, Mettler or a two-column text).",
        "Sulfur mass fraction of a composite from its TGA mass-loss curve.",
    ),
    "eds": (
        "EDS project or spectrum image/spectrum: JEOL .ASW/.pts, .msa, .bcf, .emd, .hspy, .rpl, .dm3.",
        "Net-intensity maps and depth profiles of EDS lines from the particle surface (Fig 3c/d).",
    ),
}


def register(app: typer.Typer) -> None:
    """Add ``xps``, ``raman``, ``tga``, ``eds`` and ``eels``."""
    for name, (file_help, help_text) in _COMMANDS.items():
        add_command(
            app,
            name,
            _one_file(name),
            help=help_text,
            options=options_class(name),
            arguments=[_file(file_help)],
        )
    add_command(
        app,
        "eels",
        eels_command,
        help=eels_command.__doc__ or "",
        options=options_class("eels"),
        arguments=[
            _spectrum_option("low_loss", "--low-loss", "Low-loss spectrum/scan with the ZLP."),
            _spectrum_option("core_loss", "--core-loss", "Core-loss spectrum/scan (same scan)."),
            _P(
                "reference",
                _P.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[
                    list[str] | None,
                    typer.Option(
                        "--reference",
                        help="Reference spectrum SLOT=FILE for the fingerprint (LiF, Li2S, "
                        "Li2CO3, S); repeat for several.",
                    ),
                ],
            ),
        ],
    )
