"""Where tasks run: one after another, on local worker processes, or on a Dask cluster.

Every executor yields ``(task, outcome)`` pairs as tasks finish; a task's failure is an outcome, never
an exception, so one bad input never stops the study.

Every task runs isolated (:func:`sulfurscope._isolate.call_isolated`): in a child process of its
own with a time limit and a memory limit (:class:`TaskLimits`). A task that hangs, allocates past
the limit or crashes the interpreter (a segmentation fault in a parsing library) is stopped and comes
back as a failed outcome with the reason (``"timeout"``, ``"memory"``, ``"crash"``); the other tasks
go on. The local executor runs up to ``workers`` such children at once; on Dask each task's child
runs inside a Dask worker, whose own memory limit (``LocalCluster(memory_limit=...)``) and a
zero-retry policy back it up (a task that kills its worker is reported failed, not retried).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.study.registry import Task

__all__ = [
    "Job",
    "Outcome",
    "TaskLimits",
    "dask_jobs",
    "execute",
    "execute_isolated",
    "process_jobs",
    "serial_jobs",
]

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
        return _failed(exc, time.perf_counter() - t0)


@dataclass(frozen=True, slots=True)
class TaskLimits:
    """Limits of one task (settable in the manifest's ``[limits]`` and on the command line).

    Attributes
    ----------
    timeout_s : float
        Seconds a task may run (1800).
    memory_mb : float
        Memory a task may allocate (4096 MB).
    isolate : bool
        Run each task in a child process (True); False runs it in the executor's process (for
        debugging; a hang or crash then stops the run).
    """

    timeout_s: float = 1800.0
    memory_mb: float = 4096.0
    isolate: bool = True


def _failed(exc: BaseException, seconds: float) -> Outcome:
    from sulfurscope.errors import LimitError

    if isinstance(exc, MemoryError):
        exc = LimitError(f"ran out of memory ({exc or 'MemoryError'})", reason="memory")
    if isinstance(exc, LimitError):
        kind = {"timeout": "Timeout", "memory": "OutOfMemory", "crash": "Crash"}.get(
            exc.reason, "LimitError"
        )
        return Outcome(False, error=exc, error_type=kind, message=str(exc), seconds=seconds)
    return Outcome(
        False,
        error=_picklable(exc),
        error_type=type(exc).__name__,
        message=str(exc) or traceback.format_exc(limit=2),
        seconds=seconds,
    )


def execute_isolated(
    run: Callable[..., Any], task: Task, limits: TaskLimits, read_limits: Any = None
) -> Outcome:
    """:func:`execute` in a child process with the task's limits; never raises.

    ``read_limits`` (a :class:`~sulfurscope._isolate.ReadLimits`) is set in the process first (a
    Dask worker does not inherit the client's)."""
    from sulfurscope._isolate import call_isolated, set_read_limits

    if read_limits is not None:
        set_read_limits(read_limits)
    if not limits.isolate:
        return execute(run, task)
    t0 = time.perf_counter()
    try:
        return call_isolated(  # type: ignore[no-any-return]
            execute, run, task, timeout_s=limits.timeout_s, memory_mb=limits.memory_mb,
            label=f"task {task.name}",
        )
    except BaseException as exc:  # noqa: BLE001 - the outcome carries it
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _failed(exc, time.perf_counter() - t0)


def _picklable(exc: BaseException) -> BaseException | None:
    """The exception itself when it can travel back from a worker process (a builtin or
    sulfurscope exception whose arguments are plain values), else None."""
    module = type(exc).__module__
    plain = all(isinstance(a, str | int | float | bool | type(None)) for a in exc.args)
    if plain and (module == "builtins" or module.startswith("sulfurscope")):
        return exc
    return None


def serial_jobs(jobs: list[Job], limits: TaskLimits) -> Iterator[tuple[Task, Outcome]]:
    """Tasks one after the other, each in its own child process."""
    for run, task in jobs:
        yield task, execute_isolated(run, task, limits)


def process_jobs(
    jobs: list[Job], workers: int, limits: TaskLimits
) -> Iterator[tuple[Task, Outcome]]:
    """Tasks on up to ``workers`` child processes at once (each forked from this process, which has
    imported the analyses once; threads here only wait for the children)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sulfurscope-task") as ex:
        futures = {ex.submit(execute_isolated, run, task, limits): task for run, task in jobs}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _dask_outcome(fut: Any, limits: TaskLimits) -> Outcome:
    """A finished Dask future's outcome; a worker that died running it is a crash."""
    try:
        return fut.result()  # type: ignore[no-any-return]
    except BaseException as exc:  # noqa: BLE001 - KilledWorker and any scheduler error
        if isinstance(exc, KeyboardInterrupt):
            raise
        from sulfurscope.errors import LimitError

        if type(exc).__name__ == "KilledWorker":
            exc = LimitError(
                f"the Dask worker running it died (memory limit {limits.memory_mb:.0f} MB or a "
                "crash)",
                reason="crash",
            )
        return _failed(exc, 0.0)


def dask_jobs(
    jobs: list[Job], *, n_workers: int | None, scheduler: str | None, limits: TaskLimits
) -> Iterator[tuple[Task, Outcome]]:
    """Tasks on a Dask cluster: a LocalCluster of ``n_workers`` or the scheduler at ``scheduler``.

    Each task runs isolated inside its worker (:func:`execute_isolated`); the local cluster's workers
    get a memory limit of the task limit plus 1 GB and non-daemonic processes (so they may fork), and
    no task is retried after killing its worker."""
    import dask
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    from sulfurscope._isolate import read_limits

    cluster = None
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.worker.daemon": False}):
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=n_workers or 1,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                memory_limit=f"{int(limits.memory_mb + 1024)}MiB",
            )
            client = Client(cluster)
        else:
            client = Client(scheduler)
    try:
        rl = read_limits()
        futures = [
            client.submit(execute_isolated, run, task, limits, rl, pure=False, retries=0)
            for run, task in jobs
        ]
        by_key = {f.key: task for f, (_, task) in zip(futures, jobs, strict=True)}
        for fut in dask_completed(futures):
            yield by_key[fut.key], _dask_outcome(fut, limits)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
