"""The study pipeline on a tiny synthetic study: store, cache, skip-on-error, executors, DuckDB."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sulfurscope.errors import FileFormatError, SulfurscopeError
from sulfurscope.study import pipeline, store
from sulfurscope.study.registry import analyses, register_analysis, unregister_analysis
from tests.study._synth import make_study, write_rate

CELLS = {"small_rate", "big_rate", "big_long"}
GITT = {"small_gitt", "big_gitt"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The synthetic study analysed once (serially); tests copy it."""
    folder = tmp_path_factory.mktemp("study")
    manifest = make_study(folder)
    result = pipeline.run_study(manifest, folder / "out", workers=1)
    return folder, result


@pytest.fixture
def study(base, tmp_path):
    folder, _ = base
    dst = tmp_path / "study"
    shutil.copytree(folder, dst)
    return dst


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_first_run_writes_store_database_report(base):
    folder, result = base
    out = folder / "out"
    # five tasks and the study-level GITT τ ∝ L^n step (two particle sizes)
    # 5 cells + the GITT D step + the replicates step
    assert (result.tasks, result.done, result.cached, result.failed) == (7, 7, 0, 0)
    assert result.executor == "serial"
    tables = store.read_tables(out)
    cycles = tables["cycling_cycles"]
    assert list(cycles.columns[:2]) == ["Task", "Sample"]
    assert set(cycles["Task"]) == CELLS
    assert set(tables["gitt_steps"]["Task"]) == GITT
    assert set(tables["cycling_rate_blocks"]["Task"]) == {"small_rate", "big_rate"}
    # sulfur masses from the three routes: given, loading × area, composite × fraction
    masses = cycles.groupby("Task")["Sulfur mass [mg]"].first()
    assert masses["small_rate"] == 2.5
    assert masses["big_rate"] == pytest.approx(2.64)
    assert masses["big_long"] == pytest.approx(4.0 * 0.49)
    assert (out / "report.html").is_file() and (out / "provenance.json").is_file()
    assert len(list((out / ".generations").iterdir())) == 1  # only the current generation


def test_duckdb_query_across_cells(base):
    folder, _ = base
    q = store.query(
        folder / "out",
        'SELECT Sample, Task, max("Discharge capacity [mAh/g]") AS q FROM cycling_cycles '
        "WHERE Protocol = 'rate' GROUP BY Sample, Task ORDER BY q DESC",
    )
    assert list(q["Task"]) == ["small_rate", "big_rate"]
    assert q["q"].iloc[0] > 1.5 * q["q"].iloc[1]  # the synthetic small particles hold ~2x
    inputs = store.query(
        folder / "out", 'SELECT count(*) AS n FROM inputs WHERE length("SHA-256") = 64'
    )
    assert inputs["n"].iloc[0] == 5
    joined = store.query(
        folder / "out",
        "SELECT t.Analysis, count(*) AS n FROM tasks t JOIN inputs i USING (Task) GROUP BY 1 ORDER BY 1",
    )
    assert dict(zip(joined["Analysis"], joined["n"], strict=True)) == {"cycling": 3, "gitt": 2}


def test_cache_rerun_touch_force_and_version(study, monkeypatch):
    out = study / "out"
    manifest = study / "study.toml"
    again = pipeline.run_study(manifest, out, workers=1, report=False)
    assert (again.done, again.cached, again.failed) == (0, 7, 0)
    # touching a file (same content) keeps the cache: the key is the content hash
    raw = study / "raw" / "big_rate.mpt"
    os.utime(raw, (1e9, 1e9))
    assert pipeline.run_study(manifest, out, workers=1, report=False).cached == 7
    # changing one input reruns only its task
    before = store.read_tables(out)["cycling_cycles"]
    write_rate(raw, 250.0, 2.64, 9)
    changed = pipeline.run_study(manifest, out, workers=1, report=False)
    # the cell and the replicates step that reads its table; the GITT step's inputs did not change
    assert (changed.done, changed.cached) == (2, 5)
    after = store.read_tables(out)["cycling_cycles"]
    b = before[before["Task"] == "big_rate"]["Discharge capacity [mAh/g]"].max()
    a = after[after["Task"] == "big_rate"]["Discharge capacity [mAh/g]"].max()
    assert a < 0.9 * b
    pd.testing.assert_frame_equal(
        before[before["Task"] == "small_rate"].reset_index(drop=True),
        after[after["Task"] == "small_rate"].reset_index(drop=True),
    )
    # --force redoes everything
    forced = pipeline.run_study(manifest, out, workers=1, force=True, report=False)
    assert (forced.done, forced.cached) == (7, 0)
    # a new sulfurscope version invalidates the cache
    monkeypatch.setattr(pipeline, "_version", lambda: "999.0")
    bumped = pipeline.run_study(manifest, out, workers=1, report=False)
    assert (bumped.done, bumped.cached) == (7, 0)


def test_options_change_invalidates_only_that_task(study):
    manifest = study / "study.toml"
    text = manifest.read_text().replace("sulfur_mass_mg = 2.5", "sulfur_mass_mg = 2.4")
    manifest.write_text(text)
    result = pipeline.run_study(manifest, study / "out", workers=1, report=False)
    # the changed cell, the replicates step (its input table and the cells changed) and the
    # GITT D step (the manifest's cells are part of every study step's cache key)
    assert (result.done, result.cached) == (3, 4)


def test_corrupt_file_becomes_a_problem_and_the_rest_completes(study):
    (study / "raw" / "big_gitt.mpt").write_bytes(
        b"EC-Lab ASCII FILE\r\nNb header lines : 40\r\ngarbage"
    )
    result = pipeline.run_study(study / "study.toml", study / "out", workers=1)
    assert result.failed == 1 and result.cached == 4
    p = result.problems
    assert list(p.columns) == pipeline.PROBLEM_COLUMNS
    row = p.iloc[0]
    assert (row["Task"], row["Analysis"], row["File"]) == ("big_gitt", "gitt", "big_gitt.mpt")
    assert row["Error type"] == "FileFormatError" and "big_gitt.mpt" in row["Message"]
    tables = store.read_tables(study / "out")
    assert set(tables["gitt_steps"]["Task"]) == {"small_gitt"}
    assert set(tables["cycling_cycles"]["Task"]) == CELLS
    html = (study / "out" / "report.html").read_text()
    assert "Failed inputs (1)" in html and "FileFormatError" in html
    assert html.index("Failed inputs (1)") < html.index(">Study</h2>")  # the report opens with it
    db = store.query(study / "out", "SELECT * FROM problems")
    assert list(db["Task"]) == ["big_gitt"]


def test_errors_raise_reraises_the_original_error(study):
    (study / "raw" / "big_gitt.mpt").write_bytes(b"")
    with pytest.raises(FileFormatError, match="big_gitt.mpt: empty file"):
        pipeline.run_study(study / "study.toml", study / "out", workers=1, errors="raise")
    with pytest.raises(SulfurscopeError, match="errors must be"):
        pipeline.run_study(study / "study.toml", study / "out", errors="ignore")  # type: ignore[arg-type]


def test_raw_files_are_never_written(study):
    raw = study / "raw"
    for p in raw.iterdir():
        p.chmod(0o444)
    before = _digest(raw)
    stamps = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    result = pipeline.run_study(study / "study.toml", study / "out2", workers=1, report=False)
    assert result.failed == 0
    assert _digest(raw) == before
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == stamps
    assert sorted(p.name for p in raw.iterdir()) == sorted(stamps)


def test_interrupted_write_leaves_previous_results_intact(study, monkeypatch):
    out = study / "out"
    keep = {k: v for k, v in _digest(out).items() if not k.startswith("cache")}
    calls = {"n": 0}
    real = store.write_parquet

    def failing(frame, path):
        calls["n"] += 1
        if calls["n"] == 3:  # the third table of the new generation
            raise OSError("disk full (simulated)")
        return real(frame, path)

    from sulfurscope.study import results

    monkeypatch.setattr(
        results,
        "write_tables",
        lambda stage, tables: [
            failing(t, stage / "tables" / f"{n}.parquet") for n, t in tables.items()
        ],
    )
    with pytest.raises(OSError, match="simulated"):
        pipeline.run_study(study / "study.toml", out, workers=1, force=True, report=False)
    assert {k: v for k, v in _digest(out).items() if not k.startswith("cache")} == keep
    assert len(list((out / ".generations").iterdir())) == 1  # only the current generation
    assert store.query(out, "SELECT count(*) FROM cycling_cycles").iloc[0, 0] > 0


def test_atomic_parquet_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    store.write_parquet(pd.DataFrame({"A [1]": [1.0]}), path)
    old = path.read_bytes()

    def boom(self, *a, **k):
        Path(a[0]).write_bytes(b"partial")
        raise OSError("interrupted")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError, match="interrupted"):
        store.write_parquet(pd.DataFrame({"A [1]": [2.0]}), path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def _scale_combine(ctx):
    cycles = ctx.tables["cycling_cycles"]
    best = cycles.groupby("Sample", as_index=False)["Discharge capacity [mAh/g]"].max()
    sizes = ctx.samples.set_index("Sample")["Particle size [um]"]
    best["Particle size [um]"] = best["Sample"].map(sizes)
    best["Option"] = ctx.options.get("x", 0)
    return {"test_best_capacity": best}


def test_study_level_combine_step_sees_every_cell(study):
    register_analysis(
        name="test_best",
        kind="study",
        run=None,
        report=lambda tables, figdir: [],
        tables=("test_best_capacity",),
        figure="test",
        combine=_scale_combine,
        inputs=("cycling_cycles",),
        order=99,
    )
    try:
        result = pipeline.run_study(study / "study.toml", study / "out", workers=1, report=False)
        assert (result.tasks, result.done, result.cached) == (8, 1, 7)
        best = store.read_tables(study / "out")["test_best_capacity"]
        assert set(best["Task"]) == {"test_best"}
        assert best.set_index("Sample")["Particle size [um]"].to_dict() == {
            "small": 1.0,
            "big": 8.0,
        }
        again = pipeline.run_study(study / "study.toml", study / "out", workers=1, report=False)
        assert (again.done, again.cached) == (0, 8)
    finally:
        unregister_analysis("test_best")
    assert "test_best" not in analyses()


def test_local_process_executor(study):
    result = pipeline.run_study(study / "study.toml", study / "out_p", workers=2, report=False)
    assert result.executor == "processes(2)"
    assert (result.done, result.failed) == (7, 0)
    ref = store.read_tables(study / "out")["cycling_cycles"].sort_values(["Task", "Cycle"])
    got = store.read_tables(study / "out_p")["cycling_cycles"].sort_values(["Task", "Cycle"])
    pd.testing.assert_frame_equal(ref.reset_index(drop=True), got.reset_index(drop=True))


def test_without_isolation_tasks_run_one_after_the_other(study):
    """isolate=False (debugging) never runs tasks in threads of this process, whatever workers."""
    result = pipeline.run_study(study / "study.toml", study / "out_i", workers=2, isolate=False,
                                report=False)
    assert result.executor == "serial"
    assert (result.done, result.failed) == (7, 0)
    ref = store.read_tables(study / "out")["cycling_cycles"].sort_values(["Task", "Cycle"])
    got = store.read_tables(study / "out_i")["cycling_cycles"].sort_values(["Task", "Cycle"])
    pd.testing.assert_frame_equal(ref.reset_index(drop=True), got.reset_index(drop=True))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dask_local_cluster_runs_the_same_tasks(study):
    (study / "raw" / "big_gitt.mpt").write_bytes(b"not a cycler file")
    result = pipeline.run_study(study / "study.toml", study / "out_d", dask_local=1, report=False)
    assert result.executor == "dask-local(1)"
    # 4 good cells + the study-level GITT D step (it runs on the one GITT cell with a size left)
    # + the replicates step
    assert (result.done, result.failed) == (6, 1), result.problems.to_dict(orient="records")
    assert result.problems.iloc[0]["Task"] == "big_gitt"
    ref = store.read_tables(study / "out")["cycling_cycles"].sort_values(["Task", "Cycle"])
    got = store.read_tables(study / "out_d")["cycling_cycles"].sort_values(["Task", "Cycle"])
    pd.testing.assert_frame_equal(ref.reset_index(drop=True), got.reset_index(drop=True))


def test_executor_choice_is_exclusive(study):
    with pytest.raises(SulfurscopeError, match="choose one executor"):
        pipeline.run_study(study / "study.toml", study / "o", workers=2, dask_local=2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_scheduler_address_connects_a_client(study):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        result = pipeline.run_study(
            study / "study.toml", study / "out_s", scheduler=address, report=False
        )
    assert result.executor == f"dask({address})"
    assert (result.done, result.failed) == (7, 0)
    assert set(store.read_tables(study / "out_s")["gitt_steps"]["Task"]) == GITT


def test_tga_sample_gives_the_composite_cells_sulfur_mass(study):
    import numpy as np

    t = np.linspace(25.0, 600.0, 800)
    mass = 100.0 - 49.0 / (1.0 + np.exp(-(t - 280.0) / 20.0))
    pd.DataFrame({"Temperature [°C]": t, "Mass [%]": mass}).to_csv(
        study / "raw" / "tga_big.csv", index=False
    )
    text = (study / "study.toml").read_text()
    text = text.replace(
        "particle_size_um = 8.0\nsulfur_fraction = 0.49",
        'particle_size_um = 8.0\ntga = "raw/tga_big.csv"',
    )
    (study / "study.toml").write_text(text)
    result = pipeline.run_study(study / "study.toml", study / "out", workers=1, report=False)
    assert result.failed == 0 and result.tasks == 8  # + the TGA task of sample "big"
    tables = store.read_tables(study / "out")
    fraction = tables["tga_fraction"].set_index("Sample")["Sulfur fraction"]["big"]
    assert fraction == pytest.approx(0.49, abs=0.01)
    masses = tables["cycling_cycles"].groupby("Task")["Sulfur mass [mg]"].first()
    assert masses["big_long"] == pytest.approx(4.0 * fraction, rel=1e-9)
    # the TGA task, the composite cell and the GITT step (its samples table changed) rerun
    # the TGA task, the composite cell, the GITT D and replicates steps (the cells changed)
    assert (result.done, result.cached) == (4, 4)


def _broken_report(tables, figdir):
    raise RuntimeError("cannot draw <this>")


def _run_declared(files, options):
    return {"test_broken_rows": pd.DataFrame({"Bytes [1]": [files["file"].stat().st_size]})}


def _run_undeclared(files, options):
    return {"not_declared": pd.DataFrame({"X [1]": [1.0]})}


@pytest.mark.parametrize("workers", [1, 2])
def test_failing_report_and_undeclared_tables_are_problems(study, workers):
    """With two workers the report functions draw in forked children: the same problems, the same
    report."""
    register_analysis(
        name="test_broken",
        kind="gitt",
        run=_run_declared,
        report=_broken_report,
        tables=("test_broken_rows",),
        figure="none",
    )
    register_analysis(
        name="test_undeclared",
        kind="gitt",
        run=_run_undeclared,
        report=lambda tables, figdir: [],
        tables=("test_undeclared_rows",),
        figure="none",
    )
    try:
        result = pipeline.run_study(study / "study.toml", study / "out", workers=workers)
    finally:
        unregister_analysis("test_broken")
        unregister_analysis("test_undeclared")
    assert result.failed == 2  # the two tasks of test_undeclared
    p = result.problems.set_index("Task")
    undeclared = p[p["Analysis"] == "test_undeclared"]
    assert len(undeclared) == 2 and undeclared["Message"].str.contains("not declared").all()
    row = p.loc["report:test_broken"]
    assert (row["Error type"], row["Message"]) == ("RuntimeError", "cannot draw <this>")
    html = (study / "out" / "report.html").read_text()
    assert "cannot draw &lt;this&gt;" in html and "Figure 1 " in html
    assert len(store.read_tables(study / "out")["test_broken_rows"]) == 2
    assert store.query(study / "out", "SELECT count(*) FROM problems").iloc[0, 0] == 3


def test_asymmetric_protocol_gets_its_table(study):
    text = (study / "study.toml").read_text()
    text = text.replace(
        'files = ["raw/big_rate.mpt"]\nprotocol = "rate"',
        'files = ["raw/big_rate.mpt"]\nprotocol = "asymmetric"',
    )
    (study / "study.toml").write_text(text)
    result = pipeline.run_study(study / "study.toml", study / "out", workers=1)
    # the cell, and the study steps that see the manifest's cells (its protocol changed)
    assert (result.done, result.failed) == (3, 0)
    tables = store.read_tables(study / "out")
    assert set(tables["cycling_asymmetric"]["Task"]) == {"big_rate"}
    assert set(tables["cycling_rate_blocks"]["Task"]) == {"small_rate"}
    assert "Asymmetric rates" in (study / "out" / "report.html").read_text()


def test_a_cell_continued_in_a_second_file_is_one_record(tmp_path):
    """A run split into two files (the cycler restarted a new file at a rest) gives the same cycles
    as the whole run in one file: the files are joined, not analysed as two cells."""
    from sulfurscope.io import read_cycler, write_mpt
    from tests.study._synth import write_long

    whole = write_long(tmp_path / "whole.mpt", 700.0, 2.0, seed=5)
    frame = read_cycler(whole).frame
    rest = frame.index[frame["Rest"] & (frame.index > len(frame) // 2)][0]
    write_mpt(frame.iloc[:rest].reset_index(drop=True), tmp_path / "part1.mpt")
    second = frame.iloc[rest:].reset_index(drop=True)
    second = second.assign(
        **{
            "Time [s]": second["Time [s]"] - second["Time [s]"].iloc[0],
            "Charge [mAh]": second["Charge [mAh]"] - second["Charge [mAh]"].iloc[0],
        }
    )
    write_mpt(second, tmp_path / "part2.mpt")
    (tmp_path / "study.toml").write_text(
        '[study]\ntitle = "split"\n\n[[samples]]\nname = "s"\n\n'
        '[[cells]]\nname = "whole"\nsample = "s"\nfile = "whole.mpt"\nprotocol = "cycling"\n'
        "sulfur_mass_mg = 2.0\n\n"
        '[[cells]]\nname = "split"\nsample = "s"\nfiles = ["part1.mpt", "part2.mpt"]\n'
        'protocol = "cycling"\nsulfur_mass_mg = 2.0\n\n[model]\nenabled = false\n'
    )
    result = pipeline.run_study(tmp_path / "study.toml", tmp_path / "out", workers=1, report=False)
    assert result.failed == 0 and result.tasks == 3  # 2 cells + the replicates step
    cycles = store.read_tables(tmp_path / "out")["cycling_cycles"]
    assert set(cycles["Task"]) == {"whole", "split"}
    cols = ["Cycle", "Discharge capacity [mAh/g]", "Charge capacity [mAh/g]"]
    a = cycles[cycles["Task"] == "whole"][cols].reset_index(drop=True)
    b = cycles[cycles["Task"] == "split"][cols].reset_index(drop=True)
    assert len(a) == 12
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)
    inputs = store.query(tmp_path / "out", "SELECT Role FROM inputs WHERE Task = 'split'")
    assert sorted(inputs["Role"]) == ["file", "file_2"]
