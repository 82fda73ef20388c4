"""``sulfurscope eels``: placeholder, filled in by its issue."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the command(s) of this area to the application."""
