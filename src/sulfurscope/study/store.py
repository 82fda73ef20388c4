"""The results store: tidy tables as Parquet plus one embedded DuckDB database.

Layout of an output folder::

    tables/<name>.parquet   one file per table, every task concatenated ("Task", "Sample" first)
    results.duckdb          the same tables (and problems, tasks, inputs, samples) as DuckDB tables
    figures/*.png           the report's figures
    report.html             the self-contained report
    provenance.json         inputs with SHA-256, parameters, versions
    cache/                  per-task results keyed by content hash (see :mod:`.pipeline`)

Everything except the cache is written into a staging folder first and moved into place only when
complete (:func:`commit_generation`), so an interrupted run leaves the previous results intact.

Examples
--------
>>> import tempfile, pandas as pd
>>> out = Path(tempfile.mkdtemp())
>>> stage = new_generation(out)
>>> paths = write_tables(stage, {"cells": pd.DataFrame({"Task": ["a"], "Capacity [mAh]": [1.5]})})
>>> db = write_database(stage, {"cells": pd.DataFrame({"Task": ["a"], "Capacity [mAh]": [1.5]})})
>>> commit_generation(stage, out)
>>> query(out, 'SELECT "Capacity [mAh]" FROM cells').iloc[0, 0]
np.float64(1.5)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sulfurscope._files import atomic_path
from sulfurscope.errors import SulfurscopeError

__all__ = [
    "DATABASE",
    "TABLES_DIR",
    "arrow_safe",
    "commit_generation",
    "new_generation",
    "query",
    "read_tables",
    "write_database",
    "write_parquet",
    "write_tables",
]

DATABASE = "results.duckdb"
TABLES_DIR = "tables"
_GENERATION_ITEMS = (
    TABLES_DIR,
    "figures",
    DATABASE,
    "report.html",
    "provenance.json",
    "problems.csv",
)


def arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns with mixed Python types become strings (Parquet needs one type per column)."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object:
            kinds = {type(v) for v in s.dropna()}
            if len(kinds) > 1 or (kinds and not kinds <= {str, bool}):
                out[col] = s.map(
                    lambda v: v if v is None or (isinstance(v, float) and v != v) else str(v)
                )
    out.columns = [str(c) for c in out.columns]
    return out


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write one table atomically (temporary file in the same folder, then rename)."""
    with atomic_path(path) as tmp:
        arrow_safe(frame).to_parquet(tmp, index=False)
    return path


def new_generation(out: Path) -> Path:
    """A fresh, empty staging folder inside ``out`` for the next set of results."""
    out.mkdir(parents=True, exist_ok=True)
    stage = out / f".staging-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    (stage / TABLES_DIR).mkdir(parents=True)
    (stage / "figures").mkdir()
    return stage


def write_tables(stage: Path, tables: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Every table as ``stage/tables/<name>.parquet``."""
    return [write_parquet(t, stage / TABLES_DIR / f"{name}.parquet") for name, t in tables.items()]


def write_database(stage: Path, tables: Mapping[str, pd.DataFrame]) -> Path:
    """``stage/results.duckdb`` with one DuckDB table per store table (self-contained copies)."""
    import duckdb

    path = stage / DATABASE
    tmp = stage / f".{DATABASE}.tmp"
    if tmp.exists():
        tmp.unlink()
    con = duckdb.connect(str(tmp))
    try:
        for name, frame in tables.items():
            safe = arrow_safe(frame)
            con.register("_frame", safe)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
    finally:
        con.close()
    os.replace(tmp, path)
    return path


def commit_generation(stage: Path, out: Path) -> None:
    """Move a complete staging folder's results over the previous ones and remove the stage.

    Files are renamed over their predecessors (atomic); folders are swapped (old renamed aside,
    new renamed in, old removed).
    """
    for item in _GENERATION_ITEMS:
        src = stage / item
        if not src.exists():
            continue
        dst = out / item
        if src.is_dir():
            old = out / f".old-{item}-{os.getpid()}"
            if dst.exists():
                os.replace(dst, old)
            os.replace(src, dst)
            if old.exists():
                shutil.rmtree(old)
        else:
            os.replace(src, dst)
    shutil.rmtree(stage, ignore_errors=True)


def read_tables(out: Path) -> dict[str, pd.DataFrame]:
    """Every Parquet table of a results folder."""
    folder = Path(out) / TABLES_DIR
    if not folder.is_dir():
        raise SulfurscopeError(f"{out}: no {TABLES_DIR}/ folder (not a sulfurscope results folder)")
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def query(out: Path, sql: str) -> pd.DataFrame:
    """Run SQL on ``out/results.duckdb`` (read-only) and return a DataFrame."""
    import duckdb

    path = Path(out) / DATABASE
    if not path.is_file():
        raise SulfurscopeError(f"{out}: no {DATABASE}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()
