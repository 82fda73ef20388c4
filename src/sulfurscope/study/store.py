"""The results store: tidy tables as Parquet plus one embedded DuckDB database.

Layout of an output folder::

    tables/<name>.parquet   one file per table, every task concatenated ("Task", "Sample" first)
    results.duckdb          the same tables (and problems, tasks, inputs, samples) as DuckDB tables
    figures/*.png           the report's figures
    report.html             the self-contained report
    provenance.json         inputs with SHA-256, parameters, versions
    problems.csv            the failed inputs and tasks
    cache/                  per-task results keyed by content hash (see :mod:`.pipeline`)
    .generations/<id>/      the complete results of one run (the names above point into it)
    .current                symbolic link to the generation in force
    .lock                   held by the run writing into the folder

**Atomic commit.** A run writes everything into a new generation folder (:func:`new_generation`),
flushes it to disk (fsync of every file and folder), then replaces the ``.current`` link in one
``rename`` (:func:`commit_generation`). ``tables``, ``figures``, ``results.duckdb``, ``report.html``,
``provenance.json`` and ``problems.csv`` are links through ``.current``, so a reader sees either the
whole previous run or the whole new one — never a report from one run beside tables of another.
Older generations, and generations left by a killed run, are removed by the next run. Where the
file system has no symbolic links, the items are renamed into place one by one instead.

**Lock.** :func:`lock_results` holds an exclusive POSIX lock on ``.lock`` for the duration of a run: a
second run into the same folder fails at once with a message naming the holder (or waits, with
``wait=True``). The lock dies with its process, so a killed run never leaves the folder locked.

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

import errno
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sulfurscope._files import atomic_path
from sulfurscope.errors import SulfurscopeError

__all__ = [
    "DATABASE",
    "TABLES_DIR",
    "arrow_safe",
    "commit_generation",
    "lock_results",
    "new_generation",
    "query",
    "read_tables",
    "write_database",
    "write_parquet",
    "write_tables",
]

DATABASE = "results.duckdb"
TABLES_DIR = "tables"
GENERATIONS = ".generations"
CURRENT = ".current"
LOCK = ".lock"
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
    """A fresh, empty generation folder inside ``out`` for the next set of results."""
    out.mkdir(parents=True, exist_ok=True)
    stage = out / GENERATIONS / f"g{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.time_ns()}"
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


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` (and it) to disk."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not sync folders
        pass
    finally:
        os.close(fd)


def _symlinks_work(out: Path) -> bool:
    probe = out / f".probe-{os.getpid()}"
    try:
        os.symlink(".", probe)
    except (OSError, NotImplementedError):
        return False
    probe.unlink()
    return True


def _link_items(stage: Path, out: Path) -> None:
    """Make each top-level item the generation has a link through ``.current`` (replacing a real
    file or folder left by an older version of sulfurscope); remove the items it does not have."""
    for item in _GENERATION_ITEMS:
        dst = out / item
        if not (stage / item).exists():
            if dst.is_symlink() or dst.is_file():
                dst.unlink()
            elif dst.is_dir():
                shutil.rmtree(dst)
            continue
        target = f"{CURRENT}/{item}"
        if dst.is_symlink() and os.readlink(dst) == target:
            continue
        tmp = out / f".{item}.link-{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(target, tmp)
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        os.replace(tmp, dst)


def _rename_items(stage: Path, out: Path) -> None:
    """Without symbolic links: rename each item over its predecessor."""
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


def commit_generation(stage: Path, out: Path) -> None:
    """Make a complete generation the one in force: fsync it, point ``.current`` at it (one atomic
    rename), link the top-level items through ``.current``, remove the other generations."""
    _fsync_tree(stage)
    if not _symlinks_work(out):
        _rename_items(stage, out)
        return
    tmp = out / f"{CURRENT}.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(f"{GENERATIONS}/{stage.name}", tmp)
    current = out / CURRENT
    if current.is_dir() and not current.is_symlink():  # a folder copied without its links
        shutil.rmtree(current)
    os.replace(tmp, current)
    _fsync_dir(out)
    _link_items(stage, out)
    remove_stale_generations(out)


def current_generation(out: Path) -> Path | None:
    """The generation ``.current`` points at, or None."""
    link = Path(out) / CURRENT
    if not link.is_symlink():
        return None
    return (Path(out) / os.readlink(link)).resolve()


def remove_stale_generations(out: Path) -> list[Path]:
    """Remove every generation but the current one (older runs, and runs killed before their
    commit); call it only while holding the lock. Returns what was removed."""
    folder = Path(out) / GENERATIONS
    if not folder.is_dir():
        return []
    keep = current_generation(out)
    removed = []
    if keep is None and (Path(out) / CURRENT).exists():
        return removed  # a copied folder whose .current is a real folder: leave it alone
    for g in folder.iterdir():
        if keep is None or g.resolve() != keep:
            shutil.rmtree(g, ignore_errors=True)
            removed.append(g)
    for leftover in list(Path(out).glob(".staging-*")) + list(Path(out).glob(".old-*")):
        shutil.rmtree(leftover, ignore_errors=True)  # left by older versions of sulfurscope
        removed.append(leftover)
    return removed


_HELD: set[str] = set()
_HELD_GUARD = threading.Lock()


@contextmanager
def lock_results(out: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the results folder's lock for the block.

    Raises
    ------
    SulfurscopeError
        Another run holds the lock (and ``wait`` is False); the message names its process.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK
    key = str(path.resolve())
    with _HELD_GUARD:  # POSIX locks do not exclude threads of one process: this does
        if key in _HELD and not wait:
            raise SulfurscopeError(
                f"{out}: another sulfurscope run (process {os.getpid()}) is writing these "
                "results; wait for it to finish, choose another --out, or pass --wait"
            )
        _HELD.add(key)
    try:
        with _posix_lock(path, out, wait):
            yield
    finally:
        with _HELD_GUARD:
            _HELD.discard(key)


@contextmanager
def _posix_lock(path: Path, out: Path, wait: bool) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            yield
            return
        try:  # a POSIX record lock: not inherited by the run's task processes, released at death
            fcntl.lockf(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise SulfurscopeError(
                f"{out}: another sulfurscope run (process {holder}) is writing these results; "
                "wait for it to finish, choose another --out, or pass --wait"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


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
