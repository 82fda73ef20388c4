"""``sulfurscope run`` (a study manifest → results store + report) and ``sulfurscope init``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sulfurscope.cli._common import echo_json, exit_on_error, write_text
from sulfurscope.errors import SulfurscopeError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``init`` to the app."""

    @app.command("run")
    def run(
        manifest: Annotated[
            Path, typer.Argument(help="The study manifest (study.toml).", dir_okay=False)
        ],
        out: Annotated[Path, typer.Option("--out", help="Results folder.")] = Path(
            "sulfurscope-results"
        ),
        force: Annotated[
            bool, typer.Option("--force", help="Ignore the cache: redo every task.")
        ] = False,
        errors: Annotated[
            str,
            typer.Option(
                "--errors", help="skip: failed tasks go to the problems table; raise: stop."
            ),
        ] = "skip",
        workers: Annotated[
            int | None,
            typer.Option("--workers", help="Local worker processes (1 = in this process)."),
        ] = None,
        dask_local: Annotated[
            int | None,
            typer.Option("--dask-local", help="Run on a Dask LocalCluster with N workers."),
        ] = None,
        scheduler: Annotated[
            str | None,
            typer.Option("--scheduler", help="Run on a Dask scheduler, e.g. tcp://host:8786."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Run every analysis of a study: tables (Parquet + DuckDB) and one HTML report."""
        from sulfurscope.study.pipeline import run_study

        def go() -> Any:
            if errors not in ("skip", "raise"):
                raise SulfurscopeError(f"--errors must be skip or raise, got {errors!r}")
            given = [
                o
                for o, v in (
                    ("--workers", workers),
                    ("--dask-local", dask_local),
                    ("--scheduler", scheduler),
                )
                if v is not None
            ]
            if len(given) > 1:
                raise SulfurscopeError(f"give one of {given}, not several")
            return run_study(
                manifest,
                out,
                force=force,
                errors=errors,  # type: ignore[arg-type]
                workers=workers,
                dask_local=dask_local,
                scheduler=scheduler,
                show_progress=not as_json,
            )

        result = exit_on_error(go)
        if as_json:
            echo_json(result.to_dict())
            return
        typer.echo(
            f"{result.tasks} tasks: {result.done} done, {result.cached} cached, "
            f"{result.failed} failed in {result.seconds:.1f} s ({result.executor})"
        )
        for _, p in result.problems.iterrows():
            typer.echo(
                f"  problem: {p['Task']} ({p['Analysis']}): {p['Error type']}: {p['Message']}"
            )
        typer.echo(f"results: {result.out}/results.duckdb, {result.out}/tables/")
        typer.echo(f"report: {result.report}")

    @app.command("init")
    def init(
        folder: Annotated[
            Path, typer.Argument(help="Folder of raw instrument files.", file_okay=False)
        ],
        out: Annotated[
            Path, typer.Option("--out", help="Manifest to write (not overwritten).")
        ] = Path("study.toml"),
        as_json: Annotated[
            bool, typer.Option("--json", help="Print what was found as JSON.")
        ] = False,
    ) -> None:
        """Scan a folder of raw files and write a starting study.toml (edit the TODOs)."""
        from sulfurscope.study.scan import manifest_text, scan_folder

        def go() -> Any:
            if out.exists():
                raise SulfurscopeError(f"{out}: exists; choose another --out or remove it")
            files = scan_folder(folder)
            if not files:
                raise SulfurscopeError(f"{folder}: no recognised raw files")
            out.parent.mkdir(parents=True, exist_ok=True)
            write_text(manifest_text(files, out.parent, title=folder.resolve().name), out)
            return files

        files = exit_on_error(go)
        if as_json:
            echo_json({"manifest": str(out), "files": [f.to_dict() for f in files]})
            return
        kinds: dict[str, int] = {}
        for f in files:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        typer.echo(
            f"wrote {out}: "
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            + " — edit the TODOs (sulfur masses!) then: sulfurscope run "
            + f"{out} --out results"
        )
