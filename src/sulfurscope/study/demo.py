"""The demo study for notebooks, tutorials and the documentation gallery: simulated once, analysed by
the study pipeline once, then reused from a cache (SIMULATED DATA, labelled so in every file)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_results"]


def _simulator_hash() -> str:
    """SHA-256 (12 hex digits) of the simulators' sources: a cached demo is redone when they change."""
    import hashlib

    h = hashlib.sha256()
    import sulfurscope.simulate

    for path in sorted(Path(sulfurscope.simulate.__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def demo_results(
    cache: str | Path | None = None, *, seed: int = 2026, replicates: int = 1, workers: int = 2
) -> Path:
    """The results folder of the demo study, simulated and analysed once and then reused.

    For the documentation gallery, notebooks and tutorials: the first call simulates the study
    (:func:`sulfurscope.simulate.demo.write_demo_study`) and runs the study pipeline on it (what ``sulfurscope demo`` does); later
    calls return the same folder. SIMULATED DATA, labelled so in every file.

    Parameters
    ----------
    cache : path, optional
        Cache folder (default ``$SULFURSCOPE_CACHE`` or ``~/.cache/sulfurscope``). The demo goes to a
        sub-folder named after the seed, the replicates and a hash of the simulators' sources.
    seed, replicates, workers
        As :func:`sulfurscope.simulate.demo.write_demo_study`; ``workers`` also runs the pipeline's tasks.

    Returns
    -------
    Path
        The results folder (``tables/*.parquet``, ``results.duckdb``, ``report.html``); its study
        manifest is ``<results>/../study.toml``.
    """
    import os
    import shutil

    from sulfurscope.simulate.demo import write_demo_study
    from sulfurscope.study.pipeline import run_study

    root = Path(cache or os.environ.get("SULFURSCOPE_CACHE") or Path.home() / ".cache" / "sulfurscope")
    folder = root / f"demo-{seed}-{replicates}-{_simulator_hash()}"
    results = folder / "results"
    if (results / "tables").is_dir():
        return results
    stage = root / f"{folder.name}.tmp{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    manifest = write_demo_study(stage, seed=seed, workers=workers, replicates=replicates)
    run_study(manifest, stage / "results", workers=workers)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(stage, folder)  # the results folder's links are relative: the move keeps them
    return results
