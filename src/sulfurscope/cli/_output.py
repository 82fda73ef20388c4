"""What every analysis command does after parsing: run the analysis on each input, write the tables
(CSV and Parquet), draw the figures, print what was found and what was flagged, set the exit code.

Exit codes: 0 success (failed estimates are printed and counted: the flags say which and why);
1 a data error (no result); 2 a usage error; 3 completed with failures (an input could not be
analysed while others were).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from sulfurscope.errors import SulfurscopeError

__all__ = [
    "EXIT_DATA",
    "EXIT_FAILURES",
    "EXIT_USAGE",
    "Common",
    "SETTINGS",
    "Input",
    "UsageError",
    "echo",
    "jsonable",
    "per_input_options",
    "report_results",
    "run_inputs",
    "unique_labels",
]

#: Exit codes: 0 success, 1 a data error (or every input failed), 2 a usage error, 3 completed with
#: failures (some inputs or tasks failed; the rest was analysed).
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_FAILURES = 3


class UsageError(SulfurscopeError):
    """A command-line usage error (exit code 2), e.g. a per-file flag given the wrong number of times."""


@dataclass(frozen=True, slots=True)
class Common:
    """The flags every analysis command has."""

    out: Path
    as_json: bool


@dataclass
class _Settings:
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    flag_names: bool = False  # an analysis command runs: option names in messages are its flags


SETTINGS = _Settings()


def echo(text: str, *, err: bool = False, level: str = "info") -> None:
    """Print respecting ``--quiet`` (only errors) and ``--verbose`` (also details)."""
    if SETTINGS.quiet and level != "error":
        return
    if level == "detail" and not SETTINGS.verbose:
        return
    typer.echo(text, err=err)


def jsonable(obj: Any) -> Any:
    """NumPy/pandas scalars, NaN and containers → JSON-ready values (NaN → null)."""
    import numpy as np
    import pandas as pd

    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


@dataclass(frozen=True, slots=True)
class Input:
    """One input of a command: its task name (label) and its files by role."""

    task: str
    files: dict[str, Path] = field(default_factory=dict)


def unique_labels(paths: Sequence[Path], labels: Sequence[str] | None) -> list[str]:
    """Labels of the inputs: the given ones (one per input, distinct) or the file stems."""
    if labels:
        if len(labels) != len(paths):
            raise UsageError(f"--label was given {len(labels)} times for {len(paths)} inputs")
        if len(set(labels)) != len(labels):
            raise UsageError(f"--label values must be distinct, got {list(labels)}")
        return list(labels)
    stems = [p.stem for p in paths]
    return [s if stems.count(s) == 1 else f"{s}_{k + 1}" for k, s in enumerate(stems)]


def per_input_options(
    scalar: Mapping[str, Any], per_input: Mapping[str, list[Any]], n: int
) -> list[dict[str, Any]]:
    """The options of each of ``n`` inputs: scalar ones for all, per-input ones once or once each."""
    from sulfurscope.analysis import option_flag

    out = [dict(scalar) for _ in range(n)]
    for name, values in per_input.items():
        if len(values) not in (1, n):
            raise UsageError(
                f"{option_flag(name)} was given {len(values)} times for {n} inputs: "
                "give it once or once per input"
            )
        for k in range(n):
            out[k][name] = values[0] if len(values) == 1 else values[k]
    return out


def _tagged(results: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Each table concatenated over the inputs with ``Task`` (the input's label) first."""
    from sulfurscope._tables import concat_tables

    parts: dict[str, list[Any]] = {}
    for task, res in results:
        for name, t in res.tables.items():
            frame = t.drop(columns=[c for c in ("Task",) if c in t.columns]).copy()
            frame.insert(0, "Task", task)
            parts.setdefault(name, []).append(frame)
    return {n: concat_tables(p) for n, p in parts.items()}


def _write_tables(tables: Mapping[str, Any], out: Path) -> list[Path]:
    from sulfurscope._files import atomic_path
    from sulfurscope.study.store import arrow_safe

    written = []
    for name, frame in tables.items():
        if frame.empty:
            continue  # nothing to write (e.g. no JEOL maps to check against)
        for suffix in (".csv", ".parquet"):
            path = out / f"{name}{suffix}"
            with atomic_path(path) as tmp:
                if suffix == ".csv":
                    frame.to_csv(tmp, index=False)
                else:
                    arrow_safe(frame).to_parquet(tmp, index=False)
            written.append(path)
    return written


def _flag_lines(results: Sequence[tuple[str, Any]]) -> tuple[list[str], int]:
    lines, failed = [], 0
    for task, res in results:
        for f in res.flags:
            failed += f.severity == "failed"
            subject = f" {f.subject}" if f.subject else ""
            lines.append(f"{f.severity}: {task}{subject}: {f.message} [{f.code}]")
    return lines, failed


def _short(summary: Mapping[str, Any]) -> str:
    """A result's headline numbers on one line (scalars only, 4 significant digits)."""
    parts = []
    for k, v in summary.items():
        if isinstance(v, float):
            parts.append(f"{k} = {v:.4g}")
        elif isinstance(v, int | str | bool) or v is None:
            parts.append(f"{k} = {v}")
        elif isinstance(v, list | tuple) and len(v) <= 8:
            parts.append(f"{k} = [{', '.join(str(x) for x in v)}]")
    return ", ".join(parts)


def report_results(
    analysis: str,
    results: Sequence[tuple[str, Any]],
    errors: Sequence[tuple[str, str]],
    common: Common,
    *,
    extra_tables: Mapping[str, Any] | None = None,
) -> None:
    """Write tables, figures and ``summary.json``; print; exit with the right code."""
    from sulfurscope._files import atomic_path
    from sulfurscope.report.figures import save_figures

    common.out.mkdir(parents=True, exist_ok=True)
    tables = {k: v for k, v in {**_tagged(results), **dict(extra_tables or {})}.items()
              if not v.empty}
    written = _write_tables(tables, common.out)
    figures, bad_figures = save_figures(analysis, tables, common.out) if tables else ([], [])
    lines, failed = _flag_lines(results)
    lines += [f"warning: figure {stem} not drawn: {why} [figure_failed]" for stem, why in bad_figures]
    summary = {
        "analysis": analysis,
        "out": str(common.out),
        "inputs": [{"task": t, **r.to_dict()} for t, r in results],
        "errors": [{"task": t, "message": m} for t, m in errors],
        "tables": {n: len(t) for n, t in tables.items()},
        "files": [str(p) for p in written],
        "figures": [str(p) for p, _ in figures],
        "figures_failed": [{"figure": f, "reason": r} for f, r in bad_figures],
        "failed_estimates": failed,
    }
    with atomic_path(common.out / "summary.json") as tmp:
        tmp.write_text(json.dumps(jsonable(summary), indent=1), encoding="utf-8")
    if common.as_json:
        small = {n: t for n, t in tables.items() if len(t) <= 500}
        sys.stdout.write(json.dumps(jsonable({**summary, "results": small}), indent=1) + "\n")
    else:
        for task, res in results:
            echo(f"{task}: {_short(res.summary)}")
        for line in lines:
            echo(line, err=True, level="warning")
        echo(f"wrote {len(tables)} table(s) and {len(figures)} figure(s) to {common.out}")
    if failed:
        echo(f"{failed} estimate(s) failed: see the flags above and in summary.json", err=True,
             level="error")
    if errors:
        echo(f"completed with failures: {len(errors)} input(s) not analysed", err=True,
             level="error")
        raise typer.Exit(EXIT_FAILURES)


def run_inputs(
    analysis: str, inputs: Sequence[Input], options: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    """Validate every input's options, then run the analysis on each input in turn: (results,
    errors).

    A data error in one input is printed (one line naming it) and the others go on; when every
    input failed the command exits 1.
    """
    from sulfurscope.analysis import OptionError, options_class, run_files

    cls = options_class(analysis)
    validated = [cls.from_mapping(dict(o)) for o in options]  # usage errors before any reading
    results, errors = [], []
    for inp, opts in zip(inputs, validated, strict=True):
        try:
            results.append((inp.task, run_files(analysis, inp.files, opts)))
        except OptionError:
            raise  # an option the data cannot take is a usage error
        except SulfurscopeError as exc:
            errors.append((inp.task, _with_file(exc, inp)))
            echo(f"error: {errors[-1][1]}", err=True, level="error")
    if not results:
        raise typer.Exit(1)
    return results, errors


def flag_names(message: str) -> str:
    """Option field names in a message written as the CLI flags a user types (``--sulfur-mass-mg``)."""
    import re

    from sulfurscope.analysis import ANALYSES, option_flag, options_class

    names = {n for a in ANALYSES for n in options_class(a).specs() if "_" in n}
    if not names:
        return message
    pattern = r"(?<![-\w])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?!\w)"
    return re.sub(pattern, lambda m: option_flag(m.group(1)), message)


def _with_file(exc: Exception, inp: Input) -> str:
    msg = flag_names(str(exc))
    names = [p.name for p in inp.files.values()]
    return msg if any(n in msg for n in names) else f"{', '.join(names)}: {msg}"
