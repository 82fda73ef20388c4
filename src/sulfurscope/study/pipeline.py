"""The study pipeline: manifest → tasks → executor → cache → results store → report.

A task is one analysis applied to one manifest entry (a cycler file, an image, a spectrum, a TGA
file); the tasks of every registered analysis are built from the manifest by the analysis's ``kind``
(:mod:`sulfurscope.study.registry`). Tasks run on an executor — in this process (``workers <= 1``),
on local processes (:class:`concurrent.futures.ProcessPoolExecutor`, the default) or on a Dask
distributed cluster (``dask_local=N`` starts a :class:`distributed.LocalCluster` on loopback,
``scheduler="tcp://host:port"`` connects a :class:`distributed.Client`): the same tasks, no scheduler
of our own.

Each task's result is cached under ``out/cache/<analysis>/<key>/`` where the key is the SHA-256 of the
analysis name, the contents of its input files, its options and the sulfurscope version, so a rerun
only does what changed; ``force=True`` redoes everything. Study-level steps (``combine=``) run after
the tasks and are cached by the content of the tables they read. With ``errors="skip"`` (default) a
failed task becomes a row of the problems table and the rest of the study completes; ``"raise"``
re-raises the first failure. Raw files are only ever opened for reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import shutil
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.study.manifest import Study, load_study
from sulfurscope.study.registry import BUILTIN_KINDS, Analysis, AnalysisContext, Task, analyses
from sulfurscope.study.store import (
    arrow_safe,
    commit_generation,
    new_generation,
    write_database,
    write_tables,
)

__all__ = [
    "PROBLEM_COLUMNS",
    "RunResult",
    "build_tasks",
    "file_sha256",
    "run_study",
    "task_key",
]

PROBLEM_COLUMNS = ["Task", "Analysis", "File", "Error type", "Message"]
Errors = Literal["skip", "raise"]


def _version() -> str:
    from sulfurscope import __version__

    return __version__


def file_sha256(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's content (opened read-only)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------------- tasks


def _clean(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in options.items() if v is not None))


def _cell_tasks(study: Study, analysis: str, protocols: Sequence[str]) -> list[Task]:
    samples = {s.name: s for s in study.samples}
    tasks = []
    for cell in study.cells:
        if cell.protocol not in protocols:
            continue
        sample = samples[cell.sample]
        opts: dict[str, Any] = {
            "cell": cell.name,
            "protocol": cell.protocol,
            "sulfur_mass_mg": cell.sulfur_mass_mg,
            "loading_mg_cm2": cell.loading_mg_cm2,
            "area_cm2": cell.area_cm2 if cell.loading_mg_cm2 is not None else None,
            "composite_mass_mg": cell.composite_mass_mg,
            "sulfur_fraction": sample.sulfur_fraction if cell.composite_mass_mg else None,
            **dict(cell.options),
        }
        # one task per cell: several files of a cell are one run continued (joined in order)
        files = [("file" if k == 0 else f"file_{k + 1}", str(p)) for k, p in enumerate(cell.files)]
        if cell.composite_mass_mg is not None and sample.tga is not None:
            files.append(("tga", str(sample.tga)))
        tasks.append(Task(analysis, cell.name, cell.sample, tuple(files), _clean(opts)))
    return tasks


def build_tasks(study: Study, analysis: Analysis) -> list[Task]:
    """The tasks of one analysis for a study (empty for study-level steps)."""
    kind = analysis.kind
    if kind == "study" or not analysis.per_task:
        return []
    if kind == "cycling":
        return _cell_tasks(study, analysis.name, ("rate", "cycling", "asymmetric"))
    if kind == "gitt":
        return _cell_tasks(study, analysis.name, ("gitt",))
    if kind in ("sem", "hrtem"):
        return [
            Task(
                analysis.name,
                img.name,
                img.sample,
                (("file", str(img.file)),),
                _clean({"pixel_size_nm": img.pixel_size_nm, **dict(img.options)}),
            )
            for img in study.images
            if img.kind == kind
        ]
    if kind == "tga":
        return [
            Task(analysis.name, s.name, s.name, (("file", str(s.tga)),), ())
            for s in study.samples
            if s.tga is not None
        ]
    return [
        Task(
            analysis.name,
            sp.name,
            sp.sample,
            tuple((role, str(p)) for role, p in sp.files.items()),
            _clean(dict(sp.options)),
        )
        for sp in study.spectra
        if sp.kind == kind
    ]


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def task_key(task: Task, hashes: Mapping[str, str], *, version: str | None = None) -> str:
    """Cache key: SHA-256 of analysis, input file contents (by role), options and version."""
    payload = {
        "analysis": task.analysis,
        "files": [(role, hashes[path]) for role, path in task.files],
        "options": [list(kv) for kv in task.options],
        "version": version or _version(),
    }
    return hashlib.sha256(_json(payload).encode()).hexdigest()[:32]


# ------------------------------------------------------------------------------ execution


@dataclass(frozen=True, slots=True)
class _Outcome:
    ok: bool
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    error: BaseException | None = None
    error_type: str = ""
    message: str = ""
    seconds: float = 0.0


def _execute(run: Callable[..., Any], task: Task) -> _Outcome:
    """Run one task (in a worker); never raises — failures come back as an outcome."""
    t0 = time.perf_counter()
    try:
        files = {role: Path(p) for role, p in task.files}
        tables = run(files, dict(task.options))
        if not isinstance(tables, dict) or not all(
            isinstance(v, pd.DataFrame) for v in tables.values()
        ):
            raise SulfurscopeError(
                f"analysis {task.analysis!r}: run() must return a dict of DataFrames, "
                f"got {type(tables).__name__}"
            )
        return _Outcome(True, tables=tables, seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - batch code records every failure (errors="skip")
        try:
            pickle.dumps(exc)
            keep: BaseException | None = exc
        except Exception:  # noqa: BLE001
            keep = None
        return _Outcome(
            False,
            error=keep,
            error_type=type(exc).__name__,
            message=str(exc) or traceback.format_exc(limit=2),
            seconds=time.perf_counter() - t0,
        )


def _serial(jobs: list[tuple[Callable[..., Any], Task]]) -> Iterator[tuple[Task, _Outcome]]:
    for run, task in jobs:
        yield task, _execute(run, task)


def _processes(
    jobs: list[tuple[Callable[..., Any], Task]], workers: int
) -> Iterator[tuple[Task, _Outcome]]:
    import multiprocessing

    ctx: Any
    if "forkserver" in multiprocessing.get_all_start_methods():
        # a clean server process (no inherited threads) that imports the plug-ins once
        ctx = get_context("forkserver")
        ctx.set_forkserver_preload(["sulfurscope.study.analyses"])
    else:  # Windows
        ctx = get_context("spawn")
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    try:
        futures = {ex.submit(_execute, run, task): task for run, task in jobs}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def _dask(
    jobs: list[tuple[Callable[..., Any], Task]],
    *,
    n_workers: int | None,
    scheduler: str | None,
) -> Iterator[tuple[Task, _Outcome]]:
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
        futures = [client.submit(_execute, run, task, pure=False) for run, task in jobs]
        by_key = {f.key: task for f, (_, task) in zip(futures, jobs, strict=True)}
        for fut in dask_completed(futures):
            yield by_key[fut.key], fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------------------------- cache


def _cache_dir(out: Path, task: Task, key: str) -> Path:
    return out / "cache" / task.analysis / key


def _cache_read(path: Path) -> dict[str, pd.DataFrame] | None:
    """A task's cached tables, or None (missing, incomplete or unreadable entries are misses)."""
    done = path / "done.json"
    if not done.is_file():
        return None
    try:
        with open(path / "tables.pkl", "rb") as fh:
            tables = pickle.load(fh)
    except Exception:  # noqa: BLE001 - e.g. written by another pandas version: recompute
        return None
    return tables if isinstance(tables, dict) else None


def _cache_write(path: Path, tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> None:
    """Write a cache entry into a temporary folder and rename it into place (``done.json`` last).

    The entry is a pickle of the task's tables (private to this folder, read only by this code; the
    key includes the sulfurscope version and an unreadable entry is recomputed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    with open(tmp / "tables.pkl", "wb") as fh:
        pickle.dump(dict(tables), fh, protocol=pickle.HIGHEST_PROTOCOL)
    (tmp / "done.json").write_text(_json({"tables": list(tables), **meta}))
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


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


# ---------------------------------------------------------------------------------- result


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
        }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"sulfurscope": _version(), "python": platform.python_version()}
    for dist in (
        "numpy",
        "scipy",
        "pandas",
        "pyarrow",
        "duckdb",
        "dask",
        "distributed",
        "matplotlib",
        "scikit-image",
        "lmfit",
        "datalab-org-galvani",
        "yadg",
        "rosettasciio",
    ):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _problem(task: str, analysis: str, file: str, error_type: str, message: str) -> dict[str, str]:
    return dict(zip(PROBLEM_COLUMNS, (task, analysis, file, error_type, message), strict=True))


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

    Returns
    -------
    RunResult

    Raises
    ------
    SulfurscopeError
        Invalid manifest or options; with ``errors="raise"`` the first task failure is re-raised.
    """
    if errors not in ("skip", "raise"):
        raise SulfurscopeError(f"errors must be 'skip' or 'raise', got {errors!r}")
    if sum(x is not None for x in (dask_local, scheduler)) > 1 or (
        workers is not None and (dask_local is not None or scheduler is not None)
    ):
        raise SulfurscopeError("choose one executor: workers, dask_local or scheduler")
    t0 = time.perf_counter()
    study = manifest if isinstance(manifest, Study) else load_study(manifest)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    registry = analyses()
    version = _version()

    # tasks and their keys
    tasks = [(a, t) for a in registry.values() for t in build_tasks(study, a)]
    hashes: dict[str, str] = {}
    for _, t in tasks:
        for _, p in t.files:
            if p not in hashes:
                hashes[p] = file_sha256(p)
    keys = {(t.analysis, t.name): task_key(t, hashes, version=version) for _, t in tasks}

    results: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
    problems: list[dict[str, str]] = []
    handled = {a.kind for a in registry.values()}
    for sp in study.spectra:
        if sp.kind not in handled:
            problems.append(
                _problem(
                    sp.name,
                    "",
                    ", ".join(p.name for p in sp.files.values()),
                    "NotAnalysed",
                    f"no analysis is registered for spectra kind {sp.kind!r} "
                    f"(registered kinds: {sorted(handled - set(BUILTIN_KINDS))})",
                )
            )
    durations: dict[tuple[str, str], float] = {}
    jobs: list[tuple[Callable[..., Any], Task]] = []
    cached = 0
    for a, t in tasks:
        hit = None if force else _cache_read(_cache_dir(out, t, keys[(a.name, t.name)]))
        if hit is not None:
            results[(a.name, t.name)] = hit
            cached += 1
        else:
            jobs.append((a.run, t))  # type: ignore[arg-type]

    if scheduler is not None:
        executor, runner = f"dask({scheduler})", _dask(jobs, n_workers=None, scheduler=scheduler)
    elif dask_local is not None:
        if dask_local < 1:
            raise SulfurscopeError(f"dask_local must be >= 1, got {dask_local}")
        executor = f"dask-local({dask_local})"
        runner = _dask(jobs, n_workers=dask_local, scheduler=None)
    else:
        n = workers if workers is not None else min(os.cpu_count() or 1, max(len(jobs), 1))
        if n <= 1 or len(jobs) <= 1:
            executor, runner = "serial", _serial(jobs)
        else:
            executor, runner = f"processes({n})", _processes(jobs, n)

    done = failed = 0
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show_progress,
        transient=False,
    )
    with progress:
        bar = progress.add_task(f"tasks ({executor})", total=len(tasks), completed=cached)
        if jobs:
            try:
                for task, outcome in runner:
                    k = (task.analysis, task.name)
                    durations[k] = outcome.seconds
                    analysis = registry[task.analysis]
                    if outcome.ok:
                        unknown = set(outcome.tables) - set(analysis.tables)
                        if unknown:
                            outcome = _Outcome(
                                False,
                                error_type="SulfurscopeError",
                                message=f"run() returned tables not declared in tables=: {sorted(unknown)}",
                            )
                    if outcome.ok:
                        tables = {n: outcome.tables[n] for n in outcome.tables}
                        _cache_write(
                            _cache_dir(out, task, keys[k]),
                            tables,
                            {"task": task.to_dict(), "version": version},
                        )
                        results[k] = tables
                        done += 1
                    else:
                        failed += 1
                        if errors == "raise":
                            if outcome.error is not None:
                                raise outcome.error
                            raise SulfurscopeError(
                                f"{task.name}: {outcome.error_type}: {outcome.message}"
                            )
                        problems.append(
                            _problem(
                                task.name,
                                task.analysis,
                                ", ".join(Path(p).name for _, p in task.files),
                                outcome.error_type,
                                outcome.message,
                            )
                        )
                    progress.advance(bar)
            finally:
                close = getattr(runner, "close", None)
                if close is not None:
                    close()

    # store tables: per analysis, concatenated over tasks with Task / Sample columns
    store: dict[str, pd.DataFrame] = {}
    for a in registry.values():
        if not a.per_task:
            continue
        for name in a.tables:
            parts = [
                _tag(results[(a.name, t.name)][name], t.name, t.sample)
                for aa, t in tasks
                if aa.name == a.name
                and (a.name, t.name) in results
                and name in results[(a.name, t.name)]
            ]
            if parts:
                store[name] = pd.concat(parts, ignore_index=True)

    # study-level steps
    samples = study.to_frame()
    n_study = 0
    for a in registry.values():
        if a.per_task or a.combine is None:
            continue
        options = study.model.to_dict() if a.name == "model" else {}
        if a.name == "model" and not study.model.enabled:
            continue
        inputs = {n: store[n] for n in a.inputs if n in store}
        if not inputs and a.inputs:
            continue  # nothing to combine
        h = hashlib.sha256()
        h.update(_json({"analysis": a.name, "options": options, "version": version}).encode())
        h.update(pd.util.hash_pandas_object(samples, index=False).to_numpy().tobytes())
        for tname in sorted(inputs):
            h.update(tname.encode() + _json(list(inputs[tname].columns)).encode())
            h.update(
                pd.util.hash_pandas_object(arrow_safe(inputs[tname]), index=False)
                .to_numpy()
                .tobytes()
            )
        n_study += 1
        ctask = Task(a.name, a.name, "", (), ())
        cdir = _cache_dir(out, ctask, h.hexdigest()[:32])
        hit = None if force else _cache_read(cdir)
        if hit is not None:
            tables = hit
            cached += 1
        else:
            ctx = AnalysisContext(tables=dict(store), samples=samples, options=options)
            t1 = time.perf_counter()
            try:
                tables = a.combine(ctx)
                unknown = set(tables) - set(a.tables)
                if unknown:
                    raise SulfurscopeError(
                        f"combine() returned tables not declared in tables=: {sorted(unknown)}"
                    )
                _cache_write(cdir, tables, {"task": ctask.to_dict(), "version": version})
                done += 1
            except Exception as exc:  # noqa: BLE001 - recorded as a problem in skip mode
                failed += 1
                if errors == "raise":
                    raise
                problems.append(
                    _problem(a.name, a.name, "(study-level)", type(exc).__name__, str(exc))
                )
                tables = {}
            durations[(a.name, a.name)] = time.perf_counter() - t1
        for name, t in tables.items():
            store[name] = _tag(t, a.name, "")

    problems_df = pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
    task_rows = [
        {
            "Task": t.name,
            "Analysis": t.analysis,
            "Sample": t.sample,
            "Key": keys[(t.analysis, t.name)],
            "Status": (
                "failed"
                if any(p["Task"] == t.name and p["Analysis"] == t.analysis for p in problems)
                else "ok"
            ),
            "Seconds": durations.get((t.analysis, t.name), float("nan")),
            "Options": _json(dict(t.options)),
        }
        for _, t in tasks
    ]
    tasks_df = pd.DataFrame(
        task_rows, columns=["Task", "Analysis", "Sample", "Key", "Status", "Seconds", "Options"]
    )
    inputs_df = pd.DataFrame(
        [
            {
                "Task": t.name,
                "Analysis": t.analysis,
                "Role": role,
                "File": p,
                "SHA-256": hashes[p],
                "Size [bytes]": os.path.getsize(p),
            }
            for _, t in tasks
            for role, p in t.files
        ],
        columns=["Task", "Analysis", "Role", "File", "SHA-256", "Size [bytes]"],
    )
    versions = _versions()
    provenance = {
        "manifest": str(study.path),
        "manifest_sha256": file_sha256(study.path) if Path(study.path).is_file() else None,
        "executor": executor,
        "versions": versions,
        "study": study.to_dict(),
        "tasks": task_rows,
        "inputs": inputs_df.to_dict(orient="records"),
    }

    # write the new generation, then swap it in
    stage = new_generation(out)
    try:
        write_tables(stage, store)
        (stage / "provenance.json").write_text(json.dumps(provenance, indent=1, default=str))
        report_path = None
        if report:
            from sulfurscope.study.report import analysis_sections, write_study_report

            sections, report_problems = analysis_sections(store, registry, stage / "figures")
            if report_problems:
                problems_df = pd.concat(
                    [problems_df, pd.DataFrame(report_problems, columns=PROBLEM_COLUMNS)],
                    ignore_index=True,
                )
            write_study_report(
                stage / "report.html",
                study,
                sections,
                problems=problems_df,
                inputs=inputs_df,
                tasks=tasks_df,
                versions=versions,
                executor=executor,
            )
            report_path = out / "report.html"
        meta = {"problems": problems_df, "tasks": tasks_df, "inputs": inputs_df, "samples": samples}
        write_database(stage, {**store, **meta})
        problems_df.to_csv(stage / "problems.csv", index=False)
        commit_generation(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    seconds = time.perf_counter() - t0
    return RunResult(
        out=out,
        report=report_path,
        tasks=len(tasks) + n_study,
        done=done,
        cached=cached,
        failed=failed,
        seconds=seconds,
        executor=executor,
        tables={k: len(v) for k, v in store.items()},
        problems=problems_df,
    )
