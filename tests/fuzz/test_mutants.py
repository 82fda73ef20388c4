"""Mutants of every real file through its reader: only valid data or a sulfurscope error naming the
file; no foreign exception, hang, memory overrun or crash (see :mod:`tests.fuzz.harness`).

The normal run reads a fixed-seed sample (``DEFAULT_CASES``, well under two minutes on two cores)
and every stored regression; ``pytest -m fuzz --fuzz-cases 100000`` is the long run.
"""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest

from tests.fuzz.harness import (
    ACCEPTABLE,
    CASES_FILE,
    MUTATIONS,
    Case,
    all_cases,
    corpus,
    run_cases,
    write_generated,
)

pytestmark = [pytest.mark.fuzz, pytest.mark.realdata]

DEFAULT_CASES = 240
SEED = 20261206
TIMEOUT_S = 30.0
MEMORY_MB = 2048.0


def _report(results) -> str:
    bad = [r for r in results if r.outcome not in ACCEPTABLE]
    counts = collections.Counter(r.outcome for r in results)
    lines = [f"{len(results)} mutants: {dict(counts)}"]
    lines += [f"  {r.outcome}: {r.case.label()}: {r.detail}" for r in bad[:40]]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def files(realdata, tmp_path_factory) -> list[tuple[str, Path]]:
    generated = tmp_path_factory.mktemp("generated")
    write_generated(generated)
    return corpus(realdata, generated)


def test_corpus_covers_every_reader(files):
    readers = collections.Counter(r for r, _ in files)
    assert set(readers) == {"cycler", "xps", "raman", "eds", "eels", "image", "tga"}
    assert readers["cycler"] >= 20 and readers["image"] >= 20


def test_mutants_of_real_files(files, request, tmp_path):
    n = request.config.getoption("--fuzz-cases") or DEFAULT_CASES
    per_file = max(1, -(-n // len(files)))
    cases = all_cases(files, per_file, SEED)
    random.Random(SEED).shuffle(cases)
    cases = cases[:n]
    results = list(run_cases(cases, tmp_path, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB))
    assert len(results) == len(cases)
    assert all(r.outcome in ACCEPTABLE for r in results), _report(results)
    # the sample exercises every mutation
    assert {c.mutation for c in cases} >= set(MUTATIONS) | {"wrong_suffix"} or n < 50


def _regressions(realdata: Path) -> list[Case]:
    cases = []
    for line in CASES_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            reader, rel, mutation, seed = line.split(":")
            cases.append(Case(reader, realdata / rel, mutation, int(seed)))
    return cases


def test_stored_regressions(realdata, tmp_path):
    cases = _regressions(realdata)
    assert len(cases) >= 20
    results = list(run_cases(cases, tmp_path, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB))
    assert all(r.outcome in ACCEPTABLE for r in results), _report(results)


def test_harness_can_fail(tmp_path, realdata):
    """The harness tells a foreign exception, a hang and a crash apart (it is not a rubber stamp)."""
    from tests.fuzz import harness

    src = next(p for _, p in corpus(realdata, tmp_path) if p.suffix == ".vms")
    for reader, outcome in (("_raise", "escaped"), ("_hang", "hang"), ("_crash", "crash")):
        res = list(run_cases([Case(reader, src, "empty", 0)], tmp_path / reader, timeout_s=2.0))
        assert [r.outcome for r in res] == [outcome], (reader, res)
    assert harness.validate("xps", harness._fake_xps()) != ""
