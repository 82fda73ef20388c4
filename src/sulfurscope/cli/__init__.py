"""The ``sulfurscope`` command line (typer): a thin shell over the analysis layer.

Every analysis command is made from its options dataclass (:mod:`sulfurscope.cli._build`): parse →
:func:`sulfurscope.analysis.run_files` → write the tables → draw the figures
(:mod:`sulfurscope.report.figures`). Only the options are imported at start-up; a command's modules
load when it runs.

Errors are one line: a usage error (a bad flag value, a missing file) exits 2, a data error naming
the file exits 1, a run that completed with failures (an input or a task not analysed) exits 3;
failed estimates are printed and counted. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sulfurscope.cli import cycling, demo, microscopy, model, replicates, spectra, study
from sulfurscope.cli._output import SETTINGS, UsageError

__all__ = ["app", "main"]  # and click_command (lazy: the CLI reference)


def _flagged(message: str) -> str:
    from sulfurscope.cli._output import flag_names

    return flag_names(message) if SETTINGS.flag_names else message


def _fail(code: int, message: str) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(code)


def _where(exc: BaseException) -> str:
    """`` at file:line`` of the innermost frame that raised (what a bug report needs)."""
    import os
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" at {os.path.basename(last.filename)}:{last.lineno}"


def _handle(exc: BaseException) -> None:
    """Exit with the code and one-line message of an error (re-raise it under ``--debug``)."""
    from sulfurscope.analysis import OptionError
    from sulfurscope.errors import SulfurscopeError

    if isinstance(exc, SystemExit):
        raise exc
    if isinstance(exc, typer.Exit):
        sys.exit(exc.exit_code)
    usage = hasattr(exc, "format_message") and hasattr(exc, "exit_code")  # a click usage error
    if SETTINGS.debug and not usage:
        raise exc
    if isinstance(exc, typer.Abort | KeyboardInterrupt):
        _fail(130 if isinstance(exc, KeyboardInterrupt) else 1, "aborted")
    if usage:
        _fail(exc.exit_code, exc.format_message())  # type: ignore[attr-defined]
    if isinstance(exc, OptionError):
        from sulfurscope.analysis import option_flag

        _fail(2, f"{option_flag(exc.option)}: {_flagged(exc.detail)}")
    if isinstance(exc, UsageError):
        _fail(2, _flagged(str(exc)))
    if isinstance(exc, SulfurscopeError):
        _fail(1, _flagged(str(exc)))
    if isinstance(exc, OSError):
        _fail(1, f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "))
    _fail(1, f"internal error {type(exc).__name__}: {exc}{_where(exc)} (rerun with --debug for details)")


class _Group(TyperGroup):
    """The root command group: every error becomes one line on stderr and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        SETTINGS.quiet = SETTINGS.verbose = SETTINGS.debug = SETTINGS.flag_names = False
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except BaseException as exc:  # noqa: BLE001 - mapped to one line and an exit code
            _handle(exc)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="sulfurscope",
    help="Lithium-sulfur cathode study toolkit: raw instrument files to figures and tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=_Group,
)


def _version(value: bool) -> None:
    if value:
        from sulfurscope import __version__

        typer.echo(f"sulfurscope {__version__}")
        raise typer.Exit()


def _positive(value: float | None) -> float | None:
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"expected a positive finite number, got {value}")
    return value


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print errors only.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Print more detail.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of errors and the readers' log.")
    ] = False,
    max_file_size: Annotated[
        float | None,
        typer.Option(
            "--max-file-size", metavar="MB", callback=_positive,
            help="Refuse input files larger than this (default 4096 MB; SULFURSCOPE_MAX_FILE_MB).",
        ),
    ] = None,
    read_timeout: Annotated[
        float | None,
        typer.Option(
            "--read-timeout", metavar="S", callback=_positive,
            help="Seconds a reader may take on a small file, plus 0.5 s per MB (default 20).",
        ),
    ] = None,
    read_memory: Annotated[
        float | None,
        typer.Option(
            "--read-memory", metavar="MB", callback=_positive,
            help="Memory a reader may allocate (default 1536 MB).",
        ),
    ] = None,
) -> None:
    """Lithium-sulfur cathode study toolkit: raw instrument files to figures and tables."""
    from sulfurscope._isolate import set_read_limits

    SETTINGS.quiet, SETTINGS.verbose, SETTINGS.debug = quiet, verbose, debug
    changes = {
        k: v
        for k, v in (
            ("max_file_mb", max_file_size), ("timeout_s", read_timeout), ("memory_mb", read_memory)
        )
        if v is not None
    }
    set_read_limits(None)
    if changes:
        set_read_limits(**changes)
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")


for _module in (cycling, microscopy, spectra, model, replicates, study, demo):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


def __getattr__(name: str) -> Any:
    """``click_command``: the app as a click command (for the generated CLI reference)."""
    if name == "click_command":
        return typer.main.get_command(app)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
