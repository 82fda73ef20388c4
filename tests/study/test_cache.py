"""The task cache: keyed on inputs, options and the analysis's code; Parquet/JSON only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sulfurscope.analysis import _version
from sulfurscope.study import cache, pipeline, store
from tests.study._synth import make_study


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    manifest = make_study(folder)
    pipeline.run_study(manifest, folder / "out", workers=1, report=False)
    return folder


@pytest.fixture
def study(analysed, tmp_path):
    dst = tmp_path / "study"
    shutil.copytree(analysed, dst)
    return dst


def test_code_change_of_one_analysis_invalidates_only_its_tasks(study, monkeypatch):
    real = cache.run_version

    def bumped(fn):
        v = real(fn)
        return v + "-edited" if getattr(fn, "args", ("",))[0] == "gitt" else v

    monkeypatch.setattr(cache, "run_version", bumped)
    result = pipeline.run_study(study / "study.toml", study / "out", workers=1, report=False)
    assert (result.done, result.cached) == (2, 5)  # the two GITT cells; cycling and the τ step kept
    # (the τ and replicates steps' inputs are the GITT tables, recomputed identical: still cached)


def test_code_version_follows_the_source_closure(tmp_path, monkeypatch):
    pkg = tmp_path / "sulfurscope"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "maths.py").write_text("def f():\n    return 1\n")
    (pkg / "core" / "other.py").write_text("X = 1\n")
    (pkg / "analysis.py").write_text("def g():\n    from sulfurscope.core.maths import f\n")
    monkeypatch.setattr(_version, "_ROOT", pkg)
    _version.module_closure.cache_clear()
    _version.code_version.cache_clear()
    try:
        closure = {p.name for p in _version.module_closure("sulfurscope.analysis")}
        assert closure == {"analysis.py", "maths.py", "__init__.py"}  # not other.py
        before = _version.code_version("sulfurscope.analysis")
        (pkg / "core" / "other.py").write_text("X = 2\n")
        _version.code_version.cache_clear()
        assert _version.code_version("sulfurscope.analysis") == before
        (pkg / "core" / "maths.py").write_text("def f():\n    return 2\n")  # a function-level import
        _version.module_closure.cache_clear()
        _version.code_version.cache_clear()
        assert _version.code_version("sulfurscope.analysis") != before
    finally:
        _version.module_closure.cache_clear()
        _version.code_version.cache_clear()


def test_option_change_invalidates_that_task(study):
    text = (study / "study.toml").read_text()
    text = text.replace('protocol = "gitt"\nsulfur_mass_mg = 2.0', 'protocol = "gitt"\n'
                        'sulfur_mass_mg = 2.0\noptions = { v0 = "last_under_current" }', 1)
    (study / "study.toml").write_text(text)
    result = pipeline.run_study(study / "study.toml", study / "out", workers=1, report=False)
    assert result.done >= 1 and result.cached >= 4


def test_a_planted_pickle_is_never_loaded(study):
    out = study / "out"
    entries = [p for p in (out / "cache" / "cycling").iterdir() if p.is_dir()]
    marker = study / "PWNED"
    payload = (  # a pickle that would create the marker file if it were ever unpickled
        b"cos\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR."
    )
    for entry in entries:
        shutil.rmtree(entry / "tables")
        (entry / "tables.pkl").write_bytes(payload)
        (entry / "tables").mkdir()
        (entry / "tables" / "cycling_cycles.parquet").write_bytes(payload)
    result = pipeline.run_study(study / "study.toml", out, workers=1, report=False)
    assert not marker.exists()
    assert result.done == len(entries)  # unreadable entries are misses, recomputed
    assert len(store.read_tables(out)["cycling_cycles"]) > 0


def test_cache_entries_are_parquet_and_json_only(analysed):
    files = {p.suffix for p in Path(analysed, "out", "cache").rglob("*") if p.is_file()}
    assert files <= {".parquet", ".json"}
