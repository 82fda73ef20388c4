"""The ``sulfurscope`` command line (typer + rich): a thin shell over the core and the readers.

Each area registers its commands from its own module (``cli/cycling.py``, ``cli/gitt.py``, ...), so the
entry point stays a list of registrations.
"""

from __future__ import annotations

import typer

from sulfurscope.cli import cycling, demo, eds, eels, gitt, microscopy, model, raman, study, xps

__all__ = ["app", "main"]

app = typer.Typer(
    name="sulfurscope",
    help="Lithium-sulfur cathode study toolkit: raw instrument files to figures and tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Lithium-sulfur cathode study toolkit: raw instrument files to figures and tables."""


for _module in (cycling, gitt, model, microscopy, xps, raman, eds, eels, study, demo):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
