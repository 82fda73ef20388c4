"""Helpers shared by the CLI commands: atomic writes, JSON output, one-line errors."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import typer

from sulfurscope._files import atomic_path
from sulfurscope.errors import SulfurscopeError

__all__ = [
    "atomic_path",
    "echo_json",
    "exit_on_error",
    "jsonable",
    "write_table",
    "write_text",
]

T = TypeVar("T")


def write_table(
    frame: pd.DataFrame, out_dir: Path, stem: str, *, parquet: bool = True
) -> list[Path]:
    """Write ``stem.csv`` (and ``stem.parquet``) atomically; return the paths written."""
    written = []
    p = out_dir / f"{stem}.csv"
    with atomic_path(p) as tmp:
        frame.to_csv(tmp, index=False)
    written.append(p)
    if parquet:
        p = out_dir / f"{stem}.parquet"
        with atomic_path(p) as tmp:
            frame.to_parquet(tmp, index=False)
        written.append(p)
    return written


def write_text(text: str, path: Path) -> Path:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def jsonable(obj: Any) -> Any:
    """Convert NumPy/pandas scalars, NaN and containers into JSON-ready values (NaN → null)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout."""
    sys.stdout.write(json.dumps(jsonable(obj), indent=1) + "\n")


def exit_on_error(fn: Callable[[], T]) -> T:
    """Run ``fn``; a SulfurscopeError becomes a one-line message on stderr and exit code 1."""
    try:
        return fn()
    except SulfurscopeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
