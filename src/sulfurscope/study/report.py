"""Report assembly: one self-contained ``report.html`` for a study.

Sections in the reference study's order (each analysis's ``order``: Fig 1 cycling and particle
sizes, Fig 2 GITT, Fig 3 EDS/EELS, Fig 4 XPS/HRTEM, Fig 5 model, S1 Raman, TGA), then the problems
table and the provenance (inputs with SHA-256, parameters, versions). Each analysis builds its sections
from the store tables only; a failing report function becomes a problem, not a failed report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.report.html import ReportSection, write_html_report
from sulfurscope.study.manifest import Study
from sulfurscope.study.registry import Analysis

__all__ = ["analysis_sections", "write_study_report"]


def _report_of(a: Analysis, tables: Mapping[str, pd.DataFrame], sub: Path) -> list[ReportSection]:
    return list(a.report(tables, sub))


def _report_runner(workers: int, limits: Any) -> Any:
    """``run(a, tables, sub)`` → a future of the analysis's sections: drawn in forked children, up to
    ``workers`` at once (each with the run's task limits), when the run has more than one core and
    the platform can fork; else at once in this process."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from sulfurscope._isolate import call_isolated, isolation_available

    if workers <= 1 or limits is None or not limits.isolate or not isolation_available():

        def here(a: Analysis, tables: Mapping[str, pd.DataFrame], sub: Path) -> Future:
            done: Future = Future()
            try:
                done.set_result(_report_of(a, tables, sub))
            except Exception as exc:  # noqa: BLE001 - becomes a problem row
                done.set_exception(exc)
            return done

        return here, None
    import matplotlib.pyplot  # noqa: F401 - imported once here, not in every child

    import sulfurscope.report.figures  # noqa: F401
    import sulfurscope.report.sections  # noqa: F401

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sulfurscope-report")

    def forked(a: Analysis, tables: Mapping[str, pd.DataFrame], sub: Path) -> Future:
        return pool.submit(call_isolated, _report_of, a, tables, sub, timeout_s=limits.timeout_s,
                           memory_mb=limits.memory_mb, label=f"report {a.name}")

    return forked, pool


def analysis_sections(
    store: Mapping[str, pd.DataFrame],
    flags: pd.DataFrame,
    registry: Mapping[str, Analysis],
    figdir: Path,
    *,
    workers: int = 1,
    limits: Any = None,
) -> tuple[list[ReportSection], list[dict[str, str]]]:
    """Every analysis's report sections (in order) and the problems of report functions.

    Each analysis's report function gets its tables and, as ``tables["flags"]``, its flags. With
    ``workers`` > 1 and task ``limits`` (a :class:`~sulfurscope.study.executors.TaskLimits` that
    isolates), the analyses draw their figures in up to ``workers`` forked processes at once; the
    sections and problems are the same, in the same order.
    """
    import matplotlib

    matplotlib.use("Agg")
    sections: list[ReportSection] = []
    problems: list[dict[str, str]] = []
    figdir.mkdir(parents=True, exist_ok=True)
    run, pool = _report_runner(workers, limits)
    jobs = []
    try:
        for a in sorted(registry.values(), key=lambda x: (x.order, x.name)):
            tables = {n: store.get(n, pd.DataFrame()) for n in a.tables}
            mine = flags[flags["Analysis"] == a.name] if len(flags) else flags
            if all(t.empty for t in tables.values()) and mine.empty:
                continue
            sub = figdir / a.name
            sub.mkdir(exist_ok=True)
            jobs.append((a, run(a, {**tables, "flags": mine}, sub)))
        for a, future in jobs:
            try:
                made = future.result()
            except Exception as exc:  # noqa: BLE001 - one analysis's report must not sink the rest
                problems.append({"Task": f"report:{a.name}", "Analysis": a.name, "File": "",
                                 "Error type": type(exc).__name__, "Message": str(exc)})
                continue
            for sec in made:
                if "Reference study:" not in sec.text:
                    text = sec.text + ("\n\n" if sec.text else "") + f"Reference study: {a.figure}."
                    sec = dataclasses.replace(sec, text=text)
                sections.append(sec)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return sections, problems


def _sha(path: Path) -> str:
    from sulfurscope.analysis import source

    return source(path).sha256 if Path(path).is_file() else "n/a"


def _recovered(row: Mapping[str, Any], store: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The analysed value for one truth row: the rows of its table matching ``where``."""
    import numpy as np

    t = store.get(str(row.get("table", "")), pd.DataFrame())
    col = str(row.get("column", ""))
    if t.empty or col not in t.columns:
        return {"Recovered": np.nan, "±": np.nan, "Agreement": "not analysed"}
    sel = pd.Series(True, index=t.index)
    for k, v in dict(row.get("where", {})).items():
        sel &= t[k].astype(str) == str(v) if k in t.columns else False
    vals = pd.to_numeric(t.loc[sel, col], errors="coerce").dropna()
    if vals.empty:
        return {"Recovered": np.nan, "±": np.nan, "Agreement": "no value (see flags)"}
    rec = float(vals.median())
    u = np.nan
    if row.get("uncertainty") in t.columns:
        u = float(pd.to_numeric(t.loc[sel, row["uncertainty"]], errors="coerce").median())
    elif row.get("interval") and all(c in t.columns for c in row["interval"]):
        lo, hi = (float(pd.to_numeric(t.loc[sel, c], errors="coerce").median()) for c in row["interval"])
        u = (hi - lo) / 3.92
    assumed = float(row["assumed"])
    rel = (rec - assumed) / assumed if assumed else np.nan
    if np.isfinite(u) and u > 0:
        z = (rec - assumed) / u
        verdict = "within 2 σ" if abs(z) <= 2 else f"off by {abs(z):.1f} σ ({100 * rel:+.0f} %)"
    else:
        verdict = f"{100 * rel:+.0f} % (no uncertainty)"
    return {"Recovered": rec, "±": u, "Agreement": verdict}


def _truth_table(study: Study, store: Mapping[str, pd.DataFrame] | None) -> pd.DataFrame | None:
    """Assumed (what a simulated study was made with) beside recovered (what the analyses found)."""
    import json

    if study.truth is None:
        return None
    try:
        rows = json.loads(Path(study.truth).read_text(encoding="utf-8"))["rows"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return pd.DataFrame([{"Quantity": "truth file unreadable", "Note": str(exc)}])
    out = []
    for r in rows:
        if not isinstance(r, dict) or "assumed" not in r:
            continue
        out.append({"Quantity": r.get("quantity", ""), "Sample": r.get("sample", ""),
                    "Assumed": r["assumed"], **_recovered(r, store or {}),
                    "Unit": r.get("unit", ""), "From table": r.get("table", ""),
                    "Note": r.get("note", "")})  # fmt: skip
    return pd.DataFrame(out)


def _manifest_tables(
    study: Study, store: Mapping[str, pd.DataFrame] | None = None
) -> tuple[tuple[str, pd.DataFrame], ...]:
    cells = pd.DataFrame(
        [
            {
                "Cell": c.name,
                "Sample": c.sample,
                "Protocol": c.protocol,
                "Electrolyte": c.electrolyte or "—",
                "Files": ", ".join(p.name for p in c.files),
                "Sulfur mass [mg]": c.sulfur_mass_mg,
                "Loading [mg/cm2]": c.loading_mg_cm2,
                "Composite mass [mg]": c.composite_mass_mg,
            }
            for c in study.cells
        ]
    )
    images = pd.DataFrame(
        [
            {"Image": i.name, "Sample": i.sample, "Kind": i.kind, "File": i.file.name}
            for i in study.images
        ]
    )
    spectra = pd.DataFrame(
        [
            {
                "Spectrum": s.name,
                "Sample": s.sample,
                "Kind": s.kind,
                "Files": ", ".join(f"{r}: {p.name}" for r, p in s.files.items()),
            }
            for s in study.spectra
        ]
    )
    out = [("Samples", study.to_frame())]
    out += [
        (n, t) for n, t in (("Cells", cells), ("Images", images), ("Spectra", spectra)) if len(t)
    ]
    truth = _truth_table(study, store)
    if truth is not None:
        out.insert(0, (
            "Simulated study: what was assumed (the simulation's inputs) and what the analyses "
            "recovered from the raw files alone (± one standard uncertainty where the analysis "
            "gives one)",
            truth,
        ))  # fmt: skip
    return tuple(out)


def _summary(
    sections: Sequence[ReportSection], problems: pd.DataFrame, inputs: pd.DataFrame,
    tasks: pd.DataFrame, versions: Mapping[str, Any],
) -> ReportSection:
    """The report's first section: what was read, what failed, how many flags, which versions."""
    n_files = int(inputs["File"].nunique()) if len(inputs) and "File" in inputs else 0
    ok = int((tasks["Status"] == "ok").sum()) if len(tasks) else 0
    counts = {"failed": 0, "warning": 0, "note": 0}
    for s in sections:
        if s.flags is not None and len(s.flags) and "Severity" in s.flags.columns:
            for sev, n in s.flags["Severity"].value_counts().items():
                counts[str(sev)] = counts.get(str(sev), 0) + int(n)
    main = ", ".join(f"{k} {versions[k]}" for k in ("sulfurscope", "python", "numpy", "pandas",
                                                     "scipy") if k in versions)
    rows = [
        ("Inputs read", f"{n_files} files in {len(tasks)} tasks; {ok} analysed"),
        ("Failed", f"{len(problems)} inputs or steps (listed under 'Failed inputs')"
         if len(problems) else "none"),
        ("Flagged results", f"{counts['failed']} failed, {counts['warning']} warnings, "
         f"{counts['note']} notes — each listed, with its reason, at the top of its section"),
        ("Versions", main + " (all under Provenance)"),
    ]
    return ReportSection(
        "Summary",
        "A number that could not be determined is shown as — and its section says why; a doubtful "
        "one is flagged there. Every figure caption says what is shown and how it was computed.",
        tables=(("Summary", pd.DataFrame(rows, columns=["Item", "Value"])),),
    )


def _no_failures(overview: ReportSection) -> ReportSection:
    from dataclasses import replace

    return replace(overview, text=overview.text + " Every input was analysed (no task failed).")


def write_study_report(
    path: Path,
    study: Study,
    sections: Sequence[ReportSection],
    *,
    problems: pd.DataFrame,
    inputs: pd.DataFrame,
    tasks: pd.DataFrame,
    versions: Mapping[str, Any],
    executor: str,
    store: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the report: overview, the analyses' sections, problems, provenance."""
    overview = ReportSection(
        "Study",
        (study.description + "\n\n" if study.description else "")
        + f"Manifest: {study.path}. {len(study.samples)} samples, {len(study.cells)} cells, "
        f"{len(study.images)} images, {len(study.spectra)} spectra.",
        tables=_manifest_tables(study, store),
    )
    problem_section = ReportSection(
        f"Failed inputs ({len(problems)})",
        "These inputs or steps were not analysed, with the reason (a damaged or unreadable file, a "
        "task stopped at its time or memory limit, a crash). The rest of the study was analysed "
        "without them; every table and figure below lacks them.",
        tables=(("Failed inputs", problems),),
    )
    version_table = pd.DataFrame({"Package": list(versions), "Version": list(versions.values())})
    provenance = ReportSection(
        "Provenance",
        f"Manifest {study.path} (SHA-256 {_sha(study.path)}). "
        f"Executor: {executor}. Every input file with its SHA-256 (the cache key includes it, the "
        "options and the sulfurscope version); the parameters of every task.",
        tables=(
            ("Versions", version_table),
            (
                "Inputs",
                inputs[["Task", "Analysis", "Role", "File", "SHA-256"]] if len(inputs) else inputs,
            ),
            (
                "Parameters",
                tasks[["Task", "Analysis", "Sample", "Status", "Options"]] if len(tasks) else tasks,
            ),
        ),
    )
    first = [problem_section, overview] if len(problems) else [_no_failures(overview)]
    summary = _summary(sections, problems, inputs, tasks, versions)
    return write_html_report(
        path,
        [summary, *first, *sections, provenance],
        title=study.title,
        max_rows=60,
        more_rows_in="the results store (tables/*.parquet, results.duckdb)",
    )
