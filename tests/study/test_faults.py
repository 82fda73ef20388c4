"""Fault injection: a study with a task that hangs, one that crashes the interpreter, one that
allocates past the memory cap, one with an input past the file-size limit, among good tasks. The run
completes, the good results are all there, the failures are listed first in the report with their
reasons, and the exit code says "completed with failures". Plus: manifest confinement, the results
lock, a run killed with SIGKILL, a read-only results folder."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from sulfurscope._isolate import set_read_limits
from sulfurscope.errors import SulfurscopeError
from sulfurscope.study import pipeline, store
from sulfurscope.study.manifest import load_study
from tests.study import _faulty
from tests.study._synth import make_study

CELLS = {"small_rate", "big_rate", "big_long", "small_gitt", "big_gitt"}


@pytest.fixture
def faulty():
    _faulty.register()
    yield
    _faulty.unregister()
    set_read_limits(None)


def _faulty_study(tmp_path: Path, hows: list[str]) -> Path:
    manifest = make_study(tmp_path)
    _faulty.add_spectra(tmp_path, manifest, hows)
    return manifest


def _check_failures(result, expected: dict[str, str]) -> None:
    problems = result.problems.set_index("Task")
    got = {t: problems.loc[t, "Error type"] for t in problems.index}
    assert got == expected, result.problems.to_dict(orient="records")
    tables = store.read_tables(result.out)
    assert set(tables["cycling_cycles"]["Task"]) == {"small_rate", "big_rate", "big_long"}
    assert set(tables["gitt_steps"]["Task"]) == {"small_gitt", "big_gitt"}
    assert set(tables["faulty_rows"]["Task"]) == {"faulty_ok"}


def test_hang_crash_memory_and_oversized_inputs_fail_alone(faulty, tmp_path):
    manifest = _faulty_study(tmp_path, ["ok", "hang", "crash", "memory", "oserror", "big"])
    (tmp_path / "raw" / "big.txt").write_bytes(b"big" + b" " * 3_000_000)  # past the limit below
    set_read_limits(max_file_mb=2.0)
    t0 = time.perf_counter()
    result = pipeline.run_study(
        manifest, tmp_path / "out", workers=2, task_timeout_s=8, task_memory_mb=400
    )
    assert time.perf_counter() - t0 < 120  # the hang was stopped at its limit
    # + gitt_scaling, ok, replicates
    assert result.failed == 5 and result.done == len(CELLS) + 1 + 1 + 1
    _check_failures(result, {
        "faulty_hang": "Timeout", "faulty_crash": "Crash", "faulty_memory": "OutOfMemory",
        "faulty_oserror": "OSError", "faulty_big": "FileFormatError",
    })
    messages = result.problems.set_index("Task")["Message"]
    assert "8 s" in messages["faulty_hang"] and "SIGSEGV" in messages["faulty_crash"]
    assert "memory" in messages["faulty_memory"]
    assert "big.txt" in messages["faulty_big"] and "file-size limit" in messages["faulty_big"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.index("Failed inputs (5)") < html.index(">Study</h2>")
    assert "Timeout" in html and "Crash" in html and "OutOfMemory" in html


def test_oversized_real_input_is_refused_before_reading(tmp_path):
    manifest = make_study(tmp_path)
    set_read_limits(max_file_mb=0.001)  # every synthetic cycler file is larger than 1 kB
    try:
        result = pipeline.run_study(manifest, tmp_path / "out", workers=1, report=False)
    finally:
        set_read_limits(None)
    assert result.done == 0 and result.failed == 5
    assert result.problems["Message"].str.contains("larger than the file-size limit").all()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_dask_executor_isolates_hang_and_crash(faulty, tmp_path):
    manifest = _faulty_study(tmp_path, ["ok", "hang", "crash"])
    result = pipeline.run_study(
        manifest, tmp_path / "out", dask_local=2, task_timeout_s=8, task_memory_mb=600,
        report=False,
    )
    assert result.executor == "dask-local(2)"
    _check_failures(result, {"faulty_hang": "Timeout", "faulty_crash": "Crash"})


def test_cli_exit_code_says_completed_with_failures(faulty, tmp_path):
    from typer.testing import CliRunner

    from sulfurscope.cli import app

    manifest = _faulty_study(tmp_path, ["ok", "crash"])
    res = CliRunner().invoke(app, ["run", str(manifest), "--out", str(tmp_path / "out"),
                                   "--workers", "1", "--task-timeout", "20"])
    assert res.exit_code == 3, res.output
    assert "faulty_crash" in res.output and "Crash" in res.output


def test_every_task_failing_is_exit_1(tmp_path):
    from typer.testing import CliRunner

    from sulfurscope.cli import app

    manifest = make_study(tmp_path)
    for p in (tmp_path / "raw").glob("*.mpt"):
        p.write_text("not an EC-Lab file\n")
    res = CliRunner().invoke(app, ["run", str(manifest), "--out", str(tmp_path / "out"),
                                   "--workers", "1"])
    assert res.exit_code == 1, res.output


# --------------------------------------------------------------------------- confinement


def _with_file(manifest: Path, path: str) -> None:
    text = manifest.read_text().replace('file = "raw/big_long.mpt"', f'file = "{path}"')
    manifest.write_text(text)


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_manifest_paths_outside_the_study_are_refused(tmp_path, kind):
    study = tmp_path / "study"
    manifest = make_study(study)
    outside = tmp_path / "secret.mpt"
    outside.write_bytes((study / "raw" / "big_long.mpt").read_bytes())
    if kind == "dotdot":
        _with_file(manifest, "../secret.mpt")
    elif kind == "absolute":
        _with_file(manifest, str(outside))
    else:
        (study / "raw" / "link.mpt").symlink_to(outside)
        _with_file(manifest, "raw/link.mpt")
    with pytest.raises(SulfurscopeError, match=r"line \d+: cells\[2\]\.file: .*outside the study"):
        load_study(manifest)
    with pytest.raises(SulfurscopeError, match="outside the study"):
        pipeline.run_study(manifest, study / "out", workers=1)
    assert not (study / "out" / "tables").exists()


def test_declared_data_roots_are_allowed(tmp_path):
    study = tmp_path / "study"
    manifest = make_study(study)
    data = tmp_path / "archive"
    data.mkdir()
    (data / "secret.mpt").write_bytes((study / "raw" / "big_long.mpt").read_bytes())
    _with_file(manifest, "../archive/secret.mpt")
    text = manifest.read_text().replace(
        'description = "Synthetic test study"',
        'description = "Synthetic test study"\ndata_roots = ["../archive"]',
    )
    manifest.write_text(text)
    assert load_study(manifest).cells[2].files[0].name == "secret.mpt"
    with pytest.raises(SulfurscopeError, match=r"data_roots: no such folder"):
        manifest.write_text(text.replace('"../archive"', '"../nowhere"'))
        load_study(manifest)


def test_etc_passwd_never_reaches_the_store(tmp_path):
    manifest = make_study(tmp_path)
    _with_file(manifest, "../" * 12 + "etc/passwd")
    with pytest.raises(SulfurscopeError, match="outside the study"):
        pipeline.run_study(manifest, tmp_path / "out", workers=1)


# ------------------------------------------------------------------------------- store


def test_second_concurrent_run_fails_clearly_or_waits(tmp_path):
    manifest = make_study(tmp_path)
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from sulfurscope.study.store import lock_results\n"
         f"with lock_results(Path({str(out)!r})):\n    print('held', flush=True); time.sleep(3)"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(SulfurscopeError, match=rf"another sulfurscope run \(process {holder.pid}\)"):
        pipeline.run_study(manifest, out, workers=1, report=False)
    result = pipeline.run_study(manifest, out, workers=1, report=False, wait=True)
    holder.communicate()
    assert result.failed == 0
    with store.lock_results(out):  # and within one process (threads)
        with pytest.raises(SulfurscopeError, match="another sulfurscope run"):
            pipeline.run_study(manifest, out, workers=1, report=False)


def _run_in_subprocess(manifest: Path, out: Path, *extra: str) -> subprocess.Popen:
    code = (
        "import sys; from sulfurscope.cli import main; "
        f"sys.argv = ['sulfurscope', 'run', {str(manifest)!r}, '--out', {str(out)!r}, "
        f"'--workers', '1', '--json', *{list(extra)!r}]; main()"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_two_concurrent_cli_runs_into_one_out(tmp_path):
    manifest = make_study(tmp_path)
    out = tmp_path / "out"
    first = _run_in_subprocess(manifest, out)
    while not (out / store.LOCK).exists() or not (out / store.LOCK).read_text().strip():
        time.sleep(0.05)
        assert first.poll() is None, first.communicate()
    second = _run_in_subprocess(manifest, out)
    _, err2 = second.communicate(timeout=300)
    if first.poll() is None:  # the first still held the lock when the second tried
        assert second.returncode == 1 and b"another sulfurscope run" in err2
        assert err2.count(b"\n") == 1  # one line, no traceback
    waiting = _run_in_subprocess(manifest, out, "--wait")
    first.communicate(timeout=300)
    waiting.communicate(timeout=300)
    assert first.returncode == 0 and waiting.returncode == 0
    assert store.query(out, "SELECT count(*) FROM cycling_cycles").iloc[0, 0] > 0


def test_sigkill_then_rerun(tmp_path):
    manifest = make_study(tmp_path)
    out = tmp_path / "out"
    proc = _run_in_subprocess(manifest, out)
    deadline = time.time() + 120
    while not (out / store.GENERATIONS).exists() and not list((out / "cache").rglob("done.json")):
        time.sleep(0.02)
        assert time.time() < deadline and proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    result = pipeline.run_study(manifest, out, workers=1)  # lock released with the process
    assert result.failed == 0 and result.done + result.cached == 7
    assert len(list((out / store.GENERATIONS).iterdir())) == 1  # leftovers cleaned
    assert store.query(out, "SELECT count(*) FROM cycling_cycles").iloc[0, 0] > 0


@contextmanager
def _tmpfs(path: Path, options: str):
    """A tmpfs mounted at ``path`` (root in a container can), else skip."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _cli_run(manifest: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sulfurscope", "run", str(manifest), "--out", str(out),
         "--workers", "1"], capture_output=True, text=True, timeout=300,
    )


def test_read_only_results_folder_is_one_clean_error(tmp_path):
    manifest = make_study(tmp_path)
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as out:
        with pytest.raises(SulfurscopeError, match="cannot write the results.*Read-only"):
            pipeline.run_study(manifest, out, workers=1)
        res = _cli_run(manifest, out)
    progress = re.compile(r"tasks \(|\[\s*[\d.]+ s\] ")  # the progress bar and the phase lines
    errors = [line for line in res.stderr.splitlines() if not progress.match(line)]
    assert res.returncode == 1 and len(errors) == 1 and errors[0].startswith("error: "), res.stderr
    assert "Read-only file system" in errors[0]


def test_full_results_disk_is_one_clean_error_and_keeps_nothing_half_written(tmp_path):
    manifest = make_study(tmp_path)
    with _tmpfs(tmp_path / "full", "size=96k") as out:
        with pytest.raises(SulfurscopeError, match="cannot write the results.*No space"):
            pipeline.run_study(manifest, out, workers=1)
        res = _cli_run(manifest, out)
        assert not (out / store.CURRENT).exists()  # no generation was committed
    progress = re.compile(r"tasks \(|\[\s*[\d.]+ s\] ")  # the progress bar and the phase lines
    errors = [line for line in res.stderr.splitlines() if not progress.match(line)]
    assert res.returncode == 1 and len(errors) == 1 and errors[0].startswith("error: "), res.stderr
    assert "No space left" in errors[0] and "Traceback" not in res.stderr
