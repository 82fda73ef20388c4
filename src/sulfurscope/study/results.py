"""Writing a run's results: store tables, DuckDB, provenance, report — staged, then committed.

Everything is written into a staging folder inside the results folder and moved into place only
when complete (:func:`sulfurscope.study.store.commit_generation`), so an interrupted run leaves the
previous results intact.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.study.store import (
    commit_generation,
    new_generation,
    write_database,
    write_tables,
)

__all__ = ["versions", "write_results"]

_PACKAGES = (
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
)


def versions() -> dict[str, str]:
    """sulfurscope's, Python's and the key libraries' versions."""
    from importlib.metadata import PackageNotFoundError, version

    from sulfurscope import __version__

    out = {"sulfurscope": __version__, "python": platform.python_version()}
    for dist in _PACKAGES:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _task_table(run: Any, problems: pd.DataFrame) -> pd.DataFrame:
    failed = set(zip(problems["Task"], problems["Analysis"], strict=True))
    rows = [
        {
            "Task": t.name,
            "Analysis": t.analysis,
            "Sample": t.sample,
            "Key": run.keys.get((t.analysis, t.name), ""),
            "Status": "failed" if (t.name, t.analysis) in failed else "ok",
            "Seconds": run.durations.get((t.analysis, t.name), float("nan")),
            "Options": json.dumps(dict(t.options), sort_keys=True, default=str),
        }
        for _, t in run.tasks
    ]
    cols = ["Task", "Analysis", "Sample", "Key", "Status", "Seconds", "Options"]
    return pd.DataFrame(rows, columns=cols)


def _input_table(run: Any) -> pd.DataFrame:
    rows = [
        {
            "Task": t.name,
            "Analysis": t.analysis,
            "Role": role,
            "File": p,
            "SHA-256": run.hashes.get(p, "(not read)"),
            "Size [bytes]": os.path.getsize(p) if os.path.isfile(p) else -1,
        }
        for _, t in run.tasks
        for role, p in t.files
    ]
    return pd.DataFrame(rows, columns=["Task", "Analysis", "Role", "File", "SHA-256", "Size [bytes]"])


def _provenance(run: Any, executor: str, tasks: pd.DataFrame, inputs: pd.DataFrame) -> dict:
    from sulfurscope.analysis import source

    path = Path(run.study.path)
    return {
        "manifest": str(path),
        "manifest_sha256": source(path).sha256 if path.is_file() else None,
        "executor": executor,
        "versions": versions(),
        "study": run.study.to_dict(),
        "tasks": tasks.to_dict(orient="records"),
        "inputs": inputs.to_dict(orient="records"),
    }


def write_results(
    run: Any,
    store: dict[str, pd.DataFrame],
    problems: pd.DataFrame,
    flags: pd.DataFrame,
    executor: str,
    report: bool,
) -> tuple[Path | None, pd.DataFrame]:
    """Write the new generation of results and swap it in; return the report path and the problems
    (the report's own failures added)."""
    from sulfurscope.study.report import analysis_sections, write_study_report

    tasks = _task_table(run, problems)
    inputs = _input_table(run)
    samples = run.study.to_frame()
    cells = run.study.cells_frame()
    stage = new_generation(run.out)
    try:
        write_tables(stage, {**store, "flags": flags, "samples": samples, "cells": cells})
        prov = _provenance(run, executor, tasks, inputs)
        (stage / "provenance.json").write_text(json.dumps(prov, indent=1, default=str))
        report_path = None
        if report:
            from sulfurscope.report._style import study_colours

            with study_colours({**store, "samples": samples, "cells": cells}):
                sections, report_problems = analysis_sections(
                    store, flags, run.registry, stage / "figures",
                    workers=getattr(run, "cores", 1), limits=getattr(run, "limits", None),
                )
            if report_problems:
                problems = pd.concat([problems, pd.DataFrame(report_problems)], ignore_index=True)
            write_study_report(
                stage / "report.html",
                run.study,
                sections,
                problems=problems,
                inputs=inputs,
                tasks=tasks,
                versions=prov["versions"],
                executor=executor,
                store=store,
            )
            report_path = run.out / "report.html"
        meta = {"problems": problems, "tasks": tasks, "inputs": inputs, "samples": samples,
                "cells": cells}
        write_database(stage, {**store, "flags": flags, **meta})
        problems.to_csv(stage / "problems.csv", index=False)
        commit_generation(stage, run.out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return report_path, problems
