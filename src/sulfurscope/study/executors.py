"""Where tasks run: in this process, on local worker processes, or on a Dask cluster.

Every executor yields ``(task, outcome)`` pairs as tasks finish; a task's failure is an outcome, never
an exception, so one bad input never stops the study.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.study.registry import Task

__all__ = ["Job", "Outcome", "dask_jobs", "execute", "process_jobs", "serial_jobs"]

Job = tuple[Callable[..., Any], Task]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came back from a task: its tables and flags, or its error."""

    ok: bool
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    error_type: str = ""
    message: str = ""
    seconds: float = 0.0


def _unpack(analysis: str, result: Any) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """Tables and flags of a run/combine result (an AnalysisResult or a dict of tables)."""
    from sulfurscope.analysis import AnalysisResult

    if isinstance(result, AnalysisResult):
        return dict(result.tables), [f.to_dict() for f in result.flags]
    if isinstance(result, dict) and all(isinstance(v, pd.DataFrame) for v in result.values()):
        return result, []
    raise SulfurscopeError(
        f"analysis {analysis!r}: run() must return an AnalysisResult or a dict of DataFrames, "
        f"got {type(result).__name__}"
    )


def execute(run: Callable[..., Any], task: Task) -> Outcome:
    """Run one task (in a worker); never raises — failures come back as an outcome."""
    t0 = time.perf_counter()
    try:
        files = {role: Path(p) for role, p in task.files}
        tables, flags = _unpack(task.analysis, run(files, dict(task.options)))
        return Outcome(True, tables=tables, flags=flags, seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - batch code records every failure (errors="skip")
        return Outcome(
            False,
            error=_picklable(exc),
            error_type=type(exc).__name__,
            message=str(exc) or traceback.format_exc(limit=2),
            seconds=time.perf_counter() - t0,
        )


def _picklable(exc: BaseException) -> BaseException | None:
    """The exception itself when it can travel back from a worker process (a builtin or
    sulfurscope exception whose arguments are plain values), else None."""
    module = type(exc).__module__
    plain = all(isinstance(a, str | int | float | bool | type(None)) for a in exc.args)
    if plain and (module == "builtins" or module.startswith("sulfurscope")):
        return exc
    return None


def serial_jobs(jobs: list[Job]) -> Iterator[tuple[Task, Outcome]]:
    """Tasks one after the other in this process."""
    for run, task in jobs:
        yield task, execute(run, task)


def process_jobs(jobs: list[Job], workers: int) -> Iterator[tuple[Task, Outcome]]:
    """Tasks on ``workers`` local processes (a forkserver that has imported the analyses once)."""
    import multiprocessing

    ctx: Any
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = get_context("forkserver")
        ctx.set_forkserver_preload(["sulfurscope.study.builtin", "sulfurscope.analysis"])  # speed
    else:  # Windows
        ctx = get_context("spawn")
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    try:
        futures = {ex.submit(execute, run, task): task for run, task in jobs}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def dask_jobs(
    jobs: list[Job], *, n_workers: int | None, scheduler: str | None
) -> Iterator[tuple[Task, Outcome]]:
    """Tasks on a Dask cluster: a LocalCluster of ``n_workers`` or the scheduler at ``scheduler``."""
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [client.submit(execute, run, task, pure=False) for run, task in jobs]
        by_key = {f.key: task for f, (_, task) in zip(futures, jobs, strict=True)}
        for fut in dask_completed(futures):
            yield by_key[fut.key], fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
