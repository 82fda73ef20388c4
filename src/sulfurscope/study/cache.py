"""The task cache: each task's tables as Parquet and its flags as JSON, keyed by content.

A task's key is the SHA-256 of its analysis, the content hash of every input file (by role), its
options, the version of the analysis's code (:func:`sulfurscope.analysis._version.code_version`: a
hash of every sulfurscope module the analysis runs) and the sulfurscope version. So a rerun redoes a
task exactly when its inputs, its options or its code changed.

An entry is a folder ``cache/<analysis>/<key>/`` with ``tables/<name>.parquet``, ``flags.json`` and
``done.json`` (written last, after the folder is renamed into place). Only Parquet and JSON are
read back, never executable serialisations: a planted file in the cache is data at worst, never code;
a missing, incomplete or unreadable entry is a miss.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.study.store import arrow_safe

__all__ = ["cache_dir", "read_entry", "run_version", "task_key", "write_entry"]


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def run_version(fn: Any) -> str:
    """Code version of a task's ``run``/``combine`` function.

    Built-in analyses (``functools.partial`` of the study's built-in runner with the analysis name)
    have their analysis's code version; a plug-in has the hash of its function's source file.
    """
    from sulfurscope.analysis import analysis_spec
    from sulfurscope.analysis._version import code_version

    args = getattr(fn, "args", ())
    if args and isinstance(args[0], str):
        name = "model_fit" if args[0] == "model" else args[0]
        try:
            return code_version(analysis_spec(name).module)
        except Exception:  # noqa: BLE001 - not a built-in: fall through
            pass
    target = getattr(fn, "func", fn)
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__name__", "")
    if module == "sulfurscope.study.builtin" and name in _BUILTIN_COMBINE:
        # a built-in study step: its analysis's code and the step's own module file (hashing the
        # closure of the whole study package would cost a second per run for nothing)
        own = inspect.getsourcefile(target) or ""
        digest = hashlib.sha256(Path(own).read_bytes()).hexdigest()[:8] if own else ""
        return code_version(analysis_spec(_BUILTIN_COMBINE[name]).module) + digest
    if module.startswith("sulfurscope."):
        return code_version(module)
    try:
        source = inspect.getsourcefile(target)
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16] if source else ""
    except (TypeError, OSError):
        return ""


#: Built-in study steps (``sulfurscope.study.builtin``) → the analysis whose code they run.
_BUILTIN_COMBINE = {
    "combine_gitt_scaling": "gitt_scaling",
    "combine_model": "model_fit",
    "combine_replicates": "replicates",
}


def task_key(payload: Mapping[str, Any]) -> str:
    """SHA-256 (32 hex digits) of a JSON-ready payload (analysis, input hashes, options, versions)."""
    return hashlib.sha256(_json(dict(payload)).encode()).hexdigest()[:32]


def cache_dir(out: Path, analysis: str, key: str) -> Path:
    """Where a task's entry lives."""
    return out / "cache" / analysis / key


def read_entry(path: Path) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]] | None:
    """A cached task's tables and flags, or None (a miss)."""
    done = path / "done.json"
    if not done.is_file():
        return None
    try:
        meta = json.loads(done.read_text(encoding="utf-8"))
        tables = {
            name: pd.read_parquet(path / "tables" / f"{_file(name)}.parquet")
            for name in meta["tables"]
        }
        flags = json.loads((path / "flags.json").read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - any unreadable entry is recomputed
        return None
    if not isinstance(flags, list):
        return None
    return tables, flags


def _file(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def write_entry(
    path: Path,
    tables: Mapping[str, pd.DataFrame],
    flags: list[dict[str, Any]],
    meta: Mapping[str, Any],
) -> None:
    """Write an entry into a temporary folder and rename it into place (``done.json`` last)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "tables").mkdir(parents=True)
    for name, frame in tables.items():
        arrow_safe(frame).to_parquet(tmp / "tables" / f"{_file(name)}.parquet", index=False)
    (tmp / "flags.json").write_text(_json(flags), encoding="utf-8")
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    (path / "done.json").write_text(_json({"tables": list(tables), **meta}), encoding="utf-8")
