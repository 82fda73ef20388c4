"""The study pipeline: manifest → tasks → executor → cache → results store → report.

A task is one analysis applied to one manifest entry (a cycler file, an image, a spectrum, a TGA
file); the tasks of every registered analysis are built from the manifest by the analysis's ``kind``
(:mod:`sulfurscope.study.tasks`). Tasks run on an executor (:mod:`sulfurscope.study.executors`) — in
this process, on local processes (the default) or on a Dask cluster. Each task's result is cached
(:mod:`sulfurscope.study.cache`) under a key made of its inputs' content, its options and its code's
version, so a rerun does only what changed; ``force=True`` redoes everything. Study-level steps
(``combine=``) run after the tasks and are cached by the content of the tables they read. With
``errors="skip"`` (default) a failed task becomes a row of the problems table and the rest of the study
completes; ``"raise"`` re-raises the first failure. Raw files are only ever opened for reading.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sulfurscope._tables import concat_tables
from sulfurscope._threads import one_thread_per_process
from sulfurscope.analysis import preload
from sulfurscope.errors import SulfurscopeError
from sulfurscope.study import cache
from sulfurscope.study.executors import (
    Job,
    Outcome,
    TaskLimits,
    dask_jobs,
    process_jobs,
    serial_jobs,
)
from sulfurscope.study.manifest import Study, load_study
from sulfurscope.study.registry import BUILTIN_KINDS, Analysis, AnalysisContext, Task, analyses
from sulfurscope.study.store import lock_results, remove_stale_generations
from sulfurscope.study.tasks import build_tasks

__all__ = [
    "FLAG_STORE_COLUMNS",
    "PROBLEM_COLUMNS",
    "RunResult",
    "file_sha256",
    "run_study",
]

PROBLEM_COLUMNS = ["Task", "Analysis", "File", "Error type", "Message"]
FLAG_STORE_COLUMNS = ["Task", "Sample", "Analysis", "Severity", "Code", "Subject", "Message"]
Errors = Literal["skip", "raise"]


def _version() -> str:
    from sulfurscope import __version__

    return __version__


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content (opened read-only)."""
    from sulfurscope.analysis import source

    return source(path).sha256


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run did.

    Attributes
    ----------
    out : Path
        Results folder.
    report : Path or None
        ``report.html``.
    tasks, done, cached, failed : int
        Tasks in the study; run now; taken from the cache; failed (problems table).
    seconds : float
        Wall time of the run.
    executor : str
        ``"serial"``, ``"processes(N)"``, ``"dask-local(N)"`` or ``"dask(URL)"``.
    tables : dict of str to int
        Rows per store table.
    problems : DataFrame
        ``Task``, ``Analysis``, ``File``, ``Error type``, ``Message``.
    flags : DataFrame
        Warnings and failed estimates of the analyses (``Task``, ``Sample``, ``Analysis``,
        ``Severity``, ``Code``, ``Subject``, ``Message``).
    """

    out: Path
    report: Path | None
    tasks: int
    done: int
    cached: int
    failed: int
    seconds: float
    executor: str
    tables: dict[str, int]
    problems: pd.DataFrame
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAG_STORE_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "out": str(self.out),
            "report": str(self.report) if self.report else None,
            "tasks": self.tasks,
            "done": self.done,
            "cached": self.cached,
            "failed": self.failed,
            "seconds": self.seconds,
            "executor": self.executor,
            "tables": dict(self.tables),
            "problems": self.problems.to_dict(orient="records"),
            "flags": self.flags.to_dict(orient="records"),
        }


@dataclass
class _Run:
    """The state of one run (private, mutable while the run proceeds)."""

    study: Study
    out: Path
    registry: dict[str, Analysis]
    version: str
    tasks: list[tuple[Analysis, Task]] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    results: dict[tuple[str, str], dict[str, pd.DataFrame]] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    durations: dict[tuple[str, str], float] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    done: int = 0
    cached: int = 0
    failed: int = 0
    n_study: int = 0
    limits: TaskLimits = field(default_factory=TaskLimits)
    cores: int = 1  # local processes the study steps and the report may use


def _problem(task: str, analysis: str, file: str, error_type: str, message: str) -> dict[str, str]:
    return dict(zip(PROBLEM_COLUMNS, (task, analysis, file, error_type, message), strict=True))


def _flag_rows(flags: list[dict[str, Any]], task: Task) -> list[dict[str, Any]]:
    return [
        {
            "Task": task.name,
            "Sample": task.sample,
            "Analysis": task.analysis,
            "Severity": f["severity"],
            "Code": f["code"],
            "Subject": f["subject"],
            "Message": f["message"],
        }
        for f in flags
    ]


# ------------------------------------------------------------------------------ planning


def _task_key(run: _Run, analysis: Analysis, task: Task) -> str:
    return cache.task_key(
        {
            "analysis": task.analysis,
            "files": [(role, run.hashes[path]) for role, path in task.files],
            "options": [list(kv) for kv in task.options],
            "code": cache.run_version(analysis.run),
            "version": run.version,
        }
    )


def _refuse_unreadable(run: _Run, errors: Errors) -> set[str]:
    """Hash every input; a task with an input that cannot be read (missing, empty, not a file, past
    the file-size limit) is refused here, before it runs, as a problem naming the file."""
    from sulfurscope.io._guard import check_input

    refused: set[str] = set()
    for a, t in run.tasks:
        for _, p in t.files:
            if p in run.hashes:
                continue
            try:
                check_input(p, "input")
            except SulfurscopeError as exc:
                if errors == "raise":
                    raise
                run.problems.append(
                    _problem(t.name, a.name, Path(p).name, type(exc).__name__, str(exc))
                )
                run.failed += 1
                refused.add(t.name)
                break
            run.hashes[p] = file_sha256(p)
    return refused


def _plan(run: _Run, force: bool, errors: Errors) -> None:
    """Tasks, input hashes, cache keys; cached results taken, the rest queued as jobs."""
    run.tasks = [(a, t) for a in run.registry.values() for t in build_tasks(run.study, a)]
    refused = _refuse_unreadable(run, errors)
    handled = {a.kind for a in run.registry.values()}
    for sp in run.study.spectra:
        if sp.kind not in handled:
            run.problems.append(
                _problem(
                    sp.name,
                    "",
                    ", ".join(p.name for p in sp.files.values()),
                    "NotAnalysed",
                    f"no analysis is registered for spectra kind {sp.kind!r} "
                    f"(registered kinds: {sorted(handled - set(BUILTIN_KINDS))})",
                )
            )
    for a, t in run.tasks:
        if t.name in refused:
            continue
        key = run.keys[(a.name, t.name)] = _task_key(run, a, t)
        hit = None if force else cache.read_entry(cache.cache_dir(run.out, t.analysis, key))
        if hit is not None:
            run.results[(a.name, t.name)] = hit[0]
            run.flags += _flag_rows(hit[1], t)
            run.cached += 1
        else:
            run.jobs.append((a.run, t))  # type: ignore[arg-type]
    # longest first (LPT), so that no long task starts last while the other workers idle
    run.jobs.sort(key=lambda job: -_expected_seconds(job[1]))


#: Typical seconds of one task of a built-in analysis on a laptop core (demo files; the scheduling
#: order only, results do not depend on it); others count 0.3 s. Plus 0.1 s per MB of input.
_TASK_SECONDS = {"eds": 3.0, "particles": 2.0, "raman": 1.0, "eels": 0.8, "xps": 0.7,
                 "lattice": 0.4}


def _expected_seconds(task: Task) -> float:
    size = 0
    for _, path in task.files:
        try:
            size += os.stat(path).st_size
        except OSError:
            pass
    return _TASK_SECONDS.get(task.analysis, 0.3) + 0.1 * size / 1e6


def _executor(
    jobs: list[Job], workers: int | None, dask_local: int | None, scheduler: str | None,
    limits: TaskLimits,
) -> tuple[str, Iterator[tuple[Task, Outcome]]]:
    if scheduler is not None:
        return f"dask({scheduler})", dask_jobs(
            jobs, n_workers=None, scheduler=scheduler, limits=limits
        )
    if dask_local is not None:
        if dask_local < 1:
            raise SulfurscopeError(f"dask_local must be >= 1, got {dask_local}")
        return f"dask-local({dask_local})", dask_jobs(
            jobs, n_workers=dask_local, scheduler=None, limits=limits
        )
    n = workers if workers is not None else min(os.cpu_count() or 1, max(len(jobs), 1))
    # without isolation a task would run in a thread of this process: threads add no speed to
    # Python-bound analyses, and two threads calling a threaded BLAS at once can crawl for minutes
    if n <= 1 or len(jobs) <= 1 or not limits.isolate:
        return "serial", serial_jobs(jobs, limits)
    return f"processes({n})", process_jobs(jobs, n, limits)


def _limits(study: Study, timeout_s: float | None, memory_mb: float | None,
            isolate: bool) -> TaskLimits:
    """Task limits: the arguments, else the manifest's ``[limits]``, else the defaults."""
    base = TaskLimits()
    timeout = timeout_s if timeout_s is not None else study.limits.get("task_timeout_s")
    memory = memory_mb if memory_mb is not None else study.limits.get("task_memory_mb")
    for name, value in (("task_timeout_s", timeout), ("task_memory_mb", memory)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise SulfurscopeError(f"{name} must be a positive number, got {value!r}")
    return TaskLimits(
        timeout_s=base.timeout_s if timeout is None else float(timeout),
        memory_mb=base.memory_mb if memory is None else float(memory),
        isolate=isolate,
    )


# ----------------------------------------------------------------------------- executing


def _accept(run: _Run, task: Task, outcome: Outcome, errors: Errors) -> None:
    """Store one finished task's outcome (cache, results, flags) or record its failure."""
    analysis = run.registry[task.analysis]
    k = (task.analysis, task.name)
    run.durations[k] = outcome.seconds
    if outcome.ok:
        unknown = set(outcome.tables) - set(analysis.tables)
        if unknown:
            outcome = Outcome(
                False,
                error_type="SulfurscopeError",
                message=f"run() returned tables not declared in tables=: {sorted(unknown)}",
            )
    if outcome.ok:
        meta = {"task": task.to_dict(), "version": run.version}
        cache.write_entry(
            cache.cache_dir(run.out, task.analysis, run.keys[k]), outcome.tables, outcome.flags, meta
        )
        run.results[k] = outcome.tables
        run.flags += _flag_rows(outcome.flags, task)
        run.done += 1
        return
    run.failed += 1
    if errors == "raise":
        if outcome.error is not None:
            raise outcome.error
        raise SulfurscopeError(f"{task.name}: {outcome.error_type}: {outcome.message}")
    files = ", ".join(Path(p).name for _, p in task.files)
    run.problems.append(
        _problem(task.name, task.analysis, files, outcome.error_type, outcome.message)
    )


def _progress(show: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show,
        transient=False,
    )


def _say(show: bool, t0: float, message: str) -> None:
    """One log line per phase on stderr (with the progress bar: nothing stalls silently)."""
    if show:
        import sys

        sys.stderr.write(f"[{time.perf_counter() - t0:6.1f} s] {message}\n")
        sys.stderr.flush()


def _execute(run: _Run, executor: str, runner: Iterator[tuple[Task, Outcome]], show: bool,
             errors: Errors) -> None:
    with _progress(show) as progress:
        bar = progress.add_task(f"tasks ({executor})", total=len(run.tasks), completed=run.cached)
        if not run.jobs:
            return
        try:
            for task, outcome in runner:
                _accept(run, task, outcome, errors)
                progress.advance(bar)
        finally:
            close = getattr(runner, "close", None)
            if close is not None:
                close()


# ------------------------------------------------------------------------------- storing


def _tag(frame: pd.DataFrame, task: str, sample: str) -> pd.DataFrame:
    out = frame.drop(columns=[c for c in ("Task",) if c in frame.columns])
    if "Sample" in out.columns and sample == "":
        sample_col = out.pop("Sample")
    else:
        sample_col = pd.Series([sample] * len(out), index=out.index, dtype=object)
        out = out.drop(columns=[c for c in ("Sample",) if c in out.columns])
    out.insert(0, "Sample", sample_col.astype(str).to_numpy())
    out.insert(0, "Task", task)
    return out.reset_index(drop=True)


def _store_tables(run: _Run) -> dict[str, pd.DataFrame]:
    """Per analysis, every table concatenated over its tasks with ``Task``/``Sample`` columns."""
    store: dict[str, pd.DataFrame] = {}
    for a in run.registry.values():
        if not a.per_task:
            continue
        for name in a.tables:
            parts = [
                _tag(run.results[(a.name, t.name)][name], t.name, t.sample)
                for aa, t in run.tasks
                if aa.name == a.name
                and (a.name, t.name) in run.results
                and name in run.results[(a.name, t.name)]
            ]
            if parts:
                store[name] = concat_tables(parts)
    return store


def _combine_key(run: _Run, a: Analysis, inputs: Mapping[str, pd.DataFrame],
                 options: Mapping[str, Any], samples: pd.DataFrame,
                 cells: pd.DataFrame | None = None) -> str:
    import hashlib

    from sulfurscope.study.store import arrow_safe

    h = hashlib.sha256()
    h.update(
        cache._json(
            {"analysis": a.name, "options": dict(options), "version": run.version,
             "code": cache.run_version(a.combine)}
        ).encode()
    )
    h.update(pd.util.hash_pandas_object(samples, index=False).to_numpy().tobytes())
    if cells is not None and len(cells):
        h.update(pd.util.hash_pandas_object(cells, index=False).to_numpy().tobytes())
    for tname in sorted(inputs):
        h.update(tname.encode() + cache._json(list(inputs[tname].columns)).encode())
        frame = arrow_safe(inputs[tname])
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:32]


def _combine_one(run: _Run, a: Analysis, store: dict[str, pd.DataFrame], force: bool,
                 errors: Errors) -> None:
    options = _step_options(run.study, a.name)
    samples, cells = run.study.to_frame(), run.study.cells_frame()
    # a step sees the tables it declares (its cache key), not the whole store: less to send to
    # its isolated process; a step that declares none sees every table
    inputs = {n: store[n] for n in a.inputs if n in store}
    view = inputs if a.inputs else dict(store)
    if a.applies is not None and not a.applies(
        AnalysisContext(tables=view, samples=samples, options=options, cells=cells)
    ):
        return
    key = _combine_key(run, a, inputs, options, samples, cells)
    ctask = Task(a.name, a.name, "", (), ())
    cdir = cache.cache_dir(run.out, a.name, key)
    hit = None if force else cache.read_entry(cdir)
    run.n_study += 1
    if hit is not None:
        tables, flags = hit
        run.cached += 1
    else:
        ctx = AnalysisContext(tables=view, samples=samples, options=options, cells=cells,
                              cores=run.cores)
        t1 = time.perf_counter()
        outcome = _run_combine(a, ctx, run.limits)
        run.durations[(a.name, a.name)] = time.perf_counter() - t1
        if not outcome.ok:
            run.failed += 1
            if errors == "raise":
                raise outcome.error or SulfurscopeError(f"{a.name}: {outcome.message}")
            run.problems.append(
                _problem(a.name, a.name, "(study-level)", outcome.error_type, outcome.message)
            )
            return
        tables, flags = outcome.tables, outcome.flags
        cache.write_entry(cdir, tables, flags, {"task": ctask.to_dict(), "version": run.version})
        run.done += 1
    run.flags += _flag_rows(flags, ctask)
    for name, t in tables.items():
        store[name] = _tag(t, a.name, "")


def _step_options(study: Study, name: str) -> dict[str, Any]:
    """The manifest table of a study-level step: ``[model]``, ``[replicates]`` (without
    ``enabled``), {} for the others."""
    if name == "model":
        return study.model.to_dict()
    if name == "replicates":
        return {k: v for k, v in study.replicates.items() if k != "enabled"}
    return {}


def _combine_in_child(a: Analysis, ctx: AnalysisContext) -> tuple[dict, list]:
    from sulfurscope.study.executors import _unpack

    return _unpack(a.name, a.combine(ctx))  # type: ignore[misc]


def _run_combine(a: Analysis, ctx: AnalysisContext, limits: TaskLimits) -> Outcome:
    from sulfurscope._isolate import call_isolated
    from sulfurscope.study.executors import _failed

    try:
        if limits.isolate:
            tables, flags = call_isolated(
                _combine_in_child, a, ctx, timeout_s=limits.timeout_s,
                memory_mb=limits.memory_mb, label=f"step {a.name}",
            )
        else:
            tables, flags = _combine_in_child(a, ctx)
    except Exception as exc:  # noqa: BLE001 - recorded as a problem in skip mode
        return _failed(exc, 0.0)
    unknown = set(tables) - set(a.tables)
    if unknown:
        return Outcome(
            False,
            error_type="SulfurscopeError",
            message=f"combine() returned tables not declared in tables=: {sorted(unknown)}",
        )
    return Outcome(True, tables=tables, flags=flags)


def _combine_steps(run: _Run, store: dict[str, pd.DataFrame], force: bool, errors: Errors,
                   say: Any = None) -> None:
    """Study-level steps, in order, each on the store as it stands (earlier steps' tables in it)."""
    for a in run.registry.values():
        if a.per_task or a.combine is None:
            continue
        if a.name == "model" and not run.study.model.enabled:
            continue
        if a.name == "replicates" and not run.study.replicates.get("enabled", True):
            continue
        if a.inputs and not any(n in store for n in a.inputs):
            continue  # nothing to combine
        if say is not None:
            say(f"study step {a.name} ({a.figure})" if a.figure else f"study step {a.name}")
        _combine_one(run, a, store, force, errors)


# ---------------------------------------------------------------------------------- run


def _check_arguments(errors: str, workers: int | None, dask_local: int | None,
                     scheduler: str | None) -> None:
    if errors not in ("skip", "raise"):
        raise SulfurscopeError(f"errors must be 'skip' or 'raise', got {errors!r}")
    if sum(x is not None for x in (workers, dask_local, scheduler)) > 1:
        raise SulfurscopeError("choose one executor: workers, dask_local or scheduler")


def run_study(
    manifest: str | Path | Study,
    out: str | Path,
    *,
    force: bool = False,
    errors: Errors = "skip",
    workers: int | None = None,
    dask_local: int | None = None,
    scheduler: str | None = None,
    show_progress: bool = False,
    report: bool = True,
    task_timeout_s: float | None = None,
    task_memory_mb: float | None = None,
    isolate: bool = True,
    wait: bool = False,
) -> RunResult:
    """Run every registered analysis of a study and write the store and the report into ``out``.

    Parameters
    ----------
    manifest : path or Study
        ``study.toml`` (validated by :func:`~sulfurscope.study.manifest.load_study`) or a Study.
    out : path
        Results folder (created).
    force : bool
        Ignore the cache and redo every task.
    errors : {"skip", "raise"}
        ``"skip"``: a failed task becomes a problems-table row; ``"raise"``: re-raise it.
    workers : int, optional
        Local worker processes (default: CPU count, at most the number of tasks); ``<= 1`` runs the
        tasks in this process.
    dask_local : int, optional
        Start a Dask ``LocalCluster`` with this many single-threaded worker processes on 127.0.0.1.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:port``).
    show_progress : bool
        Rich progress bar over the tasks (on stderr).
    report : bool
        Write ``report.html``.
    task_timeout_s, task_memory_mb : float, optional
        Limits of each task (default: the manifest's ``[limits]``, else 1800 s and 4096 MB); a task
        past either is stopped and listed as failed (``Timeout``, ``OutOfMemory``), as is a task whose
        process crashed (``Crash``).
    isolate : bool
        Run each task in a child process with those limits (default). ``False`` runs the tasks one
        after the other in this process, for debugging (``workers`` then only bounds the study
        steps and the report).
    wait : bool
        When another run is writing into ``out``, wait for it instead of failing.

    Returns
    -------
    RunResult

    Raises
    ------
    SulfurscopeError
        Invalid manifest or options; another run holds ``out`` (see ``wait``); ``out`` cannot be
        written (read-only, full); with ``errors="raise"`` the first task failure.
    """
    _check_arguments(errors, workers, dask_local, scheduler)
    t0 = time.perf_counter()
    study = manifest if isinstance(manifest, Study) else load_study(manifest)
    run = _Run(study=study, out=Path(out), registry=analyses(), version=_version())
    run.limits = _limits(study, task_timeout_s, task_memory_mb, isolate)
    sharing = dask_local or (workers if workers is not None else (os.cpu_count() or 1))
    with _writable(run.out), lock_results(run.out, wait=wait), one_thread_per_process(sharing):
        remove_stale_generations(run.out)
        return _run_locked(run, force, errors, (workers, dask_local, scheduler), show_progress,
                           report, t0)


def _run_locked(run: _Run, force: bool, errors: Errors, where: tuple, show_progress: bool,
                report: bool, t0: float) -> RunResult:
    from sulfurscope.study.results import write_results

    def say(message: str) -> None:
        _say(show_progress, t0, message)

    workers = where[0]
    run.cores = max(1, workers) if workers is not None else (os.cpu_count() or 1)
    _plan(run, force, errors)
    say(f"{len(run.tasks)} tasks: {len(run.jobs)} to run, {run.cached} from the cache")
    preload(sorted({t.analysis for _, t in run.jobs}))
    executor, runner = _executor(run.jobs, *where, run.limits)
    _execute(run, executor, runner, show_progress, errors)
    store = _store_tables(run)
    _combine_steps(run, store, force, errors, say)
    problems = pd.DataFrame(run.problems, columns=PROBLEM_COLUMNS)
    flags = pd.DataFrame(run.flags, columns=FLAG_STORE_COLUMNS)
    say("writing the store (Parquet, DuckDB)" + (" and the report" if report else ""))
    report_path, problems = write_results(run, store, problems, flags, executor, report)
    say(f"done: {run.done} analysed, {run.cached} cached, {run.failed} failed")
    return RunResult(
        out=run.out,
        report=report_path,
        tasks=len(run.tasks) + run.n_study,
        done=run.done,
        cached=run.cached,
        failed=run.failed,
        seconds=time.perf_counter() - t0,
        executor=executor,
        tables={k: len(v) for k, v in store.items()},
        problems=problems,
        flags=flags,
    )


@contextmanager
def _writable(out: Path) -> Iterator[None]:
    """A results folder that cannot be written (read-only, full, no permission) is one clean error."""
    import errno

    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EDQUOT):
            where = exc.filename or out
            raise SulfurscopeError(
                f"{out}: cannot write the results ({exc.strerror}: {where})"
            ) from None
        raise
