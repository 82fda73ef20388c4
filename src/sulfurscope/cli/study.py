"""``sulfurscope run`` (a study manifest → results store + report) and ``sulfurscope init``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from sulfurscope.cli._output import (
    EXIT_DATA,
    EXIT_FAILURES,
    SETTINGS,
    UsageError,
    echo,
    jsonable,
)

__all__ = ["register"]


def _print_run(result: object) -> None:
    r = result  # RunResult
    echo(
        f"{r.tasks} tasks: {r.done} done, {r.cached} cached, "  # type: ignore[attr-defined]
        f"{r.failed} failed in {r.seconds:.1f} s ({r.executor})"  # type: ignore[attr-defined]
    )
    for _, p in r.problems.iterrows():  # type: ignore[attr-defined]
        echo(f"  problem: {p['Task']} ({p['Analysis']}): {p['Error type']}: {p['Message']}",
             err=True, level="error")
    flags = r.flags  # type: ignore[attr-defined]
    failed = flags[flags["Severity"] == "failed"] if len(flags) else flags
    for _, f in failed.iterrows():
        echo(f"  failed estimate: {f['Task']} {f['Subject']}: {f['Message']} [{f['Code']}]",
             err=True)
    echo(f"results: {r.out}/results.duckdb, {r.out}/tables/")  # type: ignore[attr-defined]
    echo(f"report: {r.report}")  # type: ignore[attr-defined]


def _positive(value: float | None) -> float | None:
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"expected a positive finite number, got {value}")
    return value


def _executor_choice(workers: int | None, dask_local: int | None, scheduler: str | None) -> None:
    given = [
        o
        for o, v in (("--workers", workers), ("--dask-local", dask_local),
                     ("--scheduler", scheduler))
        if v is not None
    ]
    if len(given) > 1:
        raise UsageError(f"give one of {given}, not several")


def run(
    manifest: Annotated[
        Path,
        typer.Argument(help="The study manifest (study.toml).", exists=True, dir_okay=False),
    ],
    out: Annotated[Path, typer.Option("--out", help="Results folder.")] = Path(
        "sulfurscope-results"
    ),
    force: Annotated[
        bool, typer.Option("--force", help="Ignore the cache: redo every task.")
    ] = False,
    errors: Annotated[
        Literal["skip", "raise"],
        typer.Option(
            "--errors",
            help="skip: failed tasks go to the problems table; raise: stop at the first.",
        ),
    ] = "skip",
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Tasks run at once on this machine.", min=1),
    ] = None,
    dask_local: Annotated[
        int | None,
        typer.Option("--dask-local", help="Run on a Dask LocalCluster with N workers.", min=1),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on a Dask scheduler, e.g. tcp://host:8786."),
    ] = None,
    task_timeout: Annotated[
        float | None,
        typer.Option("--task-timeout", metavar="S", callback=_positive,
                     help="Stop a task after this many seconds (default: manifest, else 1800)."),
    ] = None,
    task_memory: Annotated[
        float | None,
        typer.Option("--task-memory", metavar="MB", callback=_positive,
                     help="Stop a task using more memory (default: manifest, else 4096 MB)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="If another run writes to --out, wait for it.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run every analysis of a study: tables (Parquet + DuckDB) and one HTML report.

    Exit code 0: every task succeeded (failed estimates are listed); 3: completed with failed
    tasks (listed first in the report and in problems.csv); 1: every task failed, or the study
    could not be run.
    """
    from sulfurscope.study.pipeline import run_study

    _executor_choice(workers, dask_local, scheduler)
    result = run_study(
        manifest,
        out,
        force=force,
        errors=errors,  # type: ignore[arg-type]
        workers=workers,
        dask_local=dask_local,
        scheduler=scheduler,
        show_progress=not (as_json or SETTINGS.quiet),
        task_timeout_s=task_timeout,
        task_memory_mb=task_memory,
        wait=wait,
    )
    if as_json:
        sys.stdout.write(json.dumps(jsonable(result.to_dict()), indent=1) + "\n")
    else:
        _print_run(result)
    if result.failed:
        raise typer.Exit(EXIT_DATA if result.done + result.cached == 0 else EXIT_FAILURES)


def init(
    folder: Annotated[
        Path,
        typer.Argument(help="Folder of raw instrument files.", exists=True, file_okay=False),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Manifest to write (not overwritten).")
    ] = Path("study.toml"),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was found as JSON.")
    ] = False,
) -> None:
    """Scan a folder of raw files and write a starting study.toml (edit the TODOs)."""
    from sulfurscope._files import atomic_write_bytes
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.study.scan import manifest_text, scan_folder

    if out.exists():
        raise UsageError(f"{out}: exists; choose another --out or remove it")
    files = scan_folder(folder)
    if not files:
        raise SulfurscopeError(f"{folder}: no recognised raw files")
    text = manifest_text(files, out.parent, title=folder.resolve().name)
    atomic_write_bytes(out, text.encode("utf-8"))
    if as_json:
        doc = {"manifest": str(out), "files": [f.to_dict() for f in files]}
        sys.stdout.write(json.dumps(jsonable(doc), indent=1) + "\n")
        return
    kinds: dict[str, int] = {}
    for f in files:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    echo(
        f"wrote {out}: "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + f" — edit the TODOs (sulfur masses!) then: sulfurscope run {out} --out results"
    )


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``init`` to the app."""
    app.command("run")(run)
    app.command("init")(init)
