"""CLI commands made from an analysis's options dataclass.

:func:`add_command` registers a typer command whose flags are the options' fields (``sulfur_mass_mg``
→ ``--sulfur-mass-mg``, same default, same help with the unit, choices checked), plus the command's
own arguments and the flags every command has (``--out``, ``--json``). The body receives the parsed
values; the options are validated by the dataclass itself, so the CLI and the manifest accept and
refuse exactly the same values.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from sulfurscope.analysis import OptionSpec, option_flag
from sulfurscope.cli._output import SETTINGS, Common

__all__ = ["add_command", "option_values"]


def _help(spec: OptionSpec) -> str:
    unit = f" [{spec.unit}]" if spec.unit else ""
    extra = ""
    if spec.per_input:
        extra = " Once, or once per input."
    elif spec.kind in ("numbers", "texts") and spec.split:
        extra = " Comma-separated."
    elif spec.kind == "texts":
        extra = " Repeat for several."
    return f"{spec.help}{unit}{extra}"


def _annotation(name: str, spec: OptionSpec, default: Any) -> tuple[Any, Any]:
    """(annotation, default) of the typer parameter of one option field."""
    flag = option_flag(name)
    help_text = _help(spec)
    if spec.kind == "flag":
        info = typer.Option(f"{flag}/--no-{flag[2:]}", help=help_text)
        return Annotated[bool, info], bool(default)
    if spec.per_input:
        py: Any = float if spec.kind == "number" else str
        return Annotated[list[py] | None, typer.Option(flag, help=help_text)], None
    if spec.kind == "texts" and not spec.split:
        return Annotated[list[str] | None, typer.Option(flag, help=help_text)], None
    if spec.kind == "choice":
        choices = Literal[tuple(spec.choices)]  # type: ignore[valid-type]
        return Annotated[choices | None, typer.Option(flag, help=help_text)], default
    if spec.kind in ("numbers", "texts"):
        text = None if default is None else ",".join(str(v) for v in default)
        return Annotated[str | None, typer.Option(flag, help=help_text)], text
    py = {"number": float, "integer": int}.get(spec.kind, str)
    if spec.kind == "number_or_word":
        default = str(default)
    return Annotated[py | None, typer.Option(flag, help=help_text)], default


def _option_parameters(options: type | None, skip: Sequence[str]) -> list[inspect.Parameter]:
    if options is None:
        return []
    out = []
    for name, (spec, default) in options.specs().items():  # type: ignore[attr-defined]
        if not spec.cli or name in skip:
            continue
        annotation, value = _annotation(name, spec, default)
        out.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=value, annotation=annotation
            )
        )
    return out


def option_values(options: type, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the command's values into (scalar options, per-input options); values left at None
    (not given) are dropped so that the options' own defaults apply."""
    scalar, per_input = {}, {}
    for name, (spec, _default) in options.specs().items():  # type: ignore[attr-defined]
        if name not in values:
            continue
        v = values[name]
        if v is None or (isinstance(v, list) and not v):
            continue
        if spec.per_input:
            per_input[name] = list(v)
        else:
            scalar[name] = v
    return scalar, per_input


def add_command(
    app: typer.Typer,
    name: str,
    body: Callable[..., None],
    *,
    help: str,
    options: type | None = None,
    arguments: Sequence[inspect.Parameter] = (),
    skip: Sequence[str] = (),
    out_name: str | None = None,
) -> None:
    """Register command ``name``: ``arguments`` first, then every CLI option of ``options``, then
    ``--out`` (default ``sulfurscope-<out_name or name>``) and ``--json``. ``body(values, common)`` gets the
    parsed values (by parameter name) and a :class:`Common`."""
    stem = out_name or name
    common = [
        inspect.Parameter(
            "out",
            inspect.Parameter.KEYWORD_ONLY,
            default=Path(f"sulfurscope-{stem}"),
            annotation=Annotated[Path, typer.Option("--out", help="Output folder.")],
        ),
        inspect.Parameter(
            "as_json",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option("--json", help="Print the results as JSON.")],
        ),
    ]
    params = [*arguments, *_option_parameters(options, skip), *common]

    def command(**kwargs: Any) -> None:
        SETTINGS.flag_names = True
        c = Common(out=kwargs.pop("out"), as_json=kwargs.pop("as_json"))
        body(kwargs, c)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {}
    command.__doc__ = help
    command.__name__ = name.replace("-", "_")
    app.command(name, help=help)(command)
