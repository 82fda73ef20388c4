"""``sulfurscope demo``: simulate a whole study like the reference one, then run the study pipeline on it.

The demo writes every instrument's files — cycler (.mpt), SEM and HRTEM (TIFF + sidecar), TGA
(NETZSCH export), XPS (VAMAS), Raman (text), STEM-EDS (.hspy spectrum image) and EELS (.hspy line
scans) — from the project's own forward models, with the ``study.toml`` that describes them
(:func:`sulfurscope.simulate.demo.write_demo_study`), then runs ``sulfurscope run`` on that manifest
exactly as on a measured study: every analysis, the results store (Parquet + DuckDB) and one HTML
report. Everything the demo writes is simulated data and is labelled so (file headers, README, report).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from sulfurscope.cli._output import SETTINGS, echo, jsonable

__all__ = ["register", "run_demo"]


def _headline(results: Path) -> dict[str, Any]:
    """The study's headline numbers, queried from the results store."""
    import duckdb

    con = duckdb.connect(str(results / "results.duckdb"), read_only=True)
    try:
        rate = con.sql(
            """
            SELECT s."Particle size [um]" AS "Particle size [um]",
                   c."mean" AS "Capacity at C/2.5 [mAh/g]", c."ci95_low" AS "CI95 low [mAh/g]",
                   c."ci95_high" AS "CI95 high [mAh/g]", c."n" AS "Cells"
            FROM condition_stats c JOIN samples s ON c."condition" = s."Sample"
            WHERE c."metric" = 'Rate-block discharge capacity' AND c."cycle_or_rate" = 'C/2.5'
              AND c."protocol" = 'rate'
            ORDER BY 1
            """
        ).df()
        tau = con.sql(
            """
            SELECT s."Particle size [um]" AS "Particle size [um]", g."Half cycle label",
                   median(g."Tau [s]") AS "Median tau [s]"
            FROM gitt_steps g JOIN samples s ON g."Sample" = s."Sample"
            WHERE g."Half cycle label" IN ('first discharge', 'second discharge')
            GROUP BY 1, 2 ORDER BY 2, 1
            """
        ).df()
    finally:
        con.close()
    return {"capacity_c2_5": rate, "tau": tau}


def _capacity_line(r: Any) -> str:
    return (f"{r['Particle size [um]']:g} um at C/2.5: {r['Capacity at C/2.5 [mAh/g]']:.0f} "
            f"[{r['CI95 low [mAh/g]']:.0f}, {r['CI95 high [mAh/g]']:.0f}] mAh/g_S "
            f"(n = {int(r['Cells'])} cells)")


def run_demo(
    out: Path, *, seed: int = 2026, workers: int | None = None, show_progress: bool = False
) -> dict[str, Any]:
    """Simulate the study into ``out`` (raw files + ``study.toml``) and run the pipeline on it into
    ``out/results``; return a JSON-ready summary."""
    import sys

    from sulfurscope._files import atomic_write_bytes
    from sulfurscope.simulate.demo import write_demo_study
    from sulfurscope.simulate.study import SIMULATED_NOTE
    from sulfurscope.study.pipeline import run_study

    t0 = time.perf_counter()
    n = workers if workers is not None else 2
    if show_progress:
        sys.stderr.write(f"[{0.0:6.1f} s] simulating the study: every cell's cycler file, SEM, HRTEM, "
                         f"TGA, XPS, Raman, EDS, EELS ({n} processes; about {50 // max(n, 1)} s)\n")
    manifest = write_demo_study(out, seed=seed, workers=n)
    t_sim = time.perf_counter() - t0
    if show_progress:
        sys.stderr.write(f"[{t_sim:6.1f} s] simulated; running the study pipeline on it\n")
    result = run_study(manifest, out / "results", workers=n, show_progress=show_progress)
    headline = _headline(out / "results")
    lines = [
        "# sulfurscope demo",
        "",
        f"**{SIMULATED_NOTE}.** Every file in `raw/` was simulated by sulfurscope's forward models",
        "(three samples, ~8, ~4 and ~1 um particles: three replicate cells each of a rate test, long",
        "cycling and GITT, with cell-to-cell spread; SEM, HRTEM,",
        "TGA, XPS, Raman, STEM-EDS and EELS across a discharged particle) and written in the instrument's",
        "file format. `study.toml` describes them; `sulfurscope run study.toml --out results` analysed",
        "them like a measured study.",
        "",
        "- `results/report.html`: every figure and table in one file",
        "- `results/tables/*.parquet` and `results/results.duckdb`: the results store (SQL across cells)",
        "- `results/problems.csv`, `results/provenance.json`: what failed, and what produced what",
        "",
        "Capacity at C/2.5 (mAh/g_S), mean of the replicate cells [95 % CI]:",
    ]
    lines += [f"- {_capacity_line(r)}" for _, r in headline["capacity_c2_5"].iterrows()]
    atomic_write_bytes(out / "README.md", ("\n".join(lines) + "\n").encode("utf-8"))
    return {
        "note": SIMULATED_NOTE,
        "out": str(out),
        "manifest": str(manifest),
        "report": str(result.report),
        "run": result.to_dict(),
        "capacity_c2_5": headline["capacity_c2_5"],
        "tau": headline["tau"],
        "simulate_seconds": t_sim,
        "seconds": time.perf_counter() - t0,
    }


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""

    @app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-demo"
        ),
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the simulation.")] = 2026,
        workers: Annotated[
            int | None, typer.Option("--workers", help="Worker processes (default 2).", min=1)
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Overwrite an existing demo folder.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Simulate a study like the reference one (SIMULATED DATA) and run the study pipeline on it."""
        import sys

        from sulfurscope.cli._output import UsageError

        if (out / "study.toml").exists() and not force:
            raise UsageError(f"{out} holds a study already: give --force to overwrite it")
        result = run_demo(out, seed=seed, workers=workers,
                          show_progress=not (as_json or SETTINGS.quiet))
        if as_json:
            sys.stdout.write(json.dumps(jsonable(result), indent=1) + "\n")
            return
        run = result["run"]
        echo(result["note"])
        echo(
            f"simulated the study into {out}/raw and {out}/study.toml "
            f"({result['simulate_seconds']:.0f} s); {run['tasks']} tasks: {run['done']} done, "
            f"{run['cached']} cached, {run['failed']} failed"
        )
        for _, r in result["capacity_c2_5"].iterrows():
            echo(f"  {_capacity_line(r)}")
        echo(f"report: {Path(result['report']).resolve()}  ({result['seconds']:.0f} s)")
