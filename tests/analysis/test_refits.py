"""The model step's refit pool: worker processes when a core is spare, this process otherwise, and
the same answers either way."""

from __future__ import annotations

import math

from sulfurscope.analysis import _refits


def test_pool_and_here_give_the_same_answers(monkeypatch) -> None:
    monkeypatch.setattr(_refits.os, "cpu_count", lambda: 2)
    with _refits.refit_pool(3, caller_busy=False) as pool:
        assert not isinstance(pool, _refits._Here)  # two cores, nothing else to do: workers
        far = [pool.submit(math.sqrt, x) for x in (4.0, 9.0, 16.0)]
        got = [f.result() for f in far]
    monkeypatch.setenv("SULFURSCOPE_MODEL_PROCESSES", "0")
    with _refits.refit_pool(3, caller_busy=False) as here:
        assert isinstance(here, _refits._Here)
        assert [here.submit(math.sqrt, x).result() for x in (4.0, 9.0, 16.0)] == got == [2, 3, 4]


def test_one_core_or_a_single_job_stays_here(monkeypatch) -> None:
    monkeypatch.setattr(_refits.os, "cpu_count", lambda: 1)
    with _refits.refit_pool(4, caller_busy=True) as pool:
        assert isinstance(pool, _refits._Here)
    monkeypatch.setattr(_refits.os, "cpu_count", lambda: 8)
    with _refits.refit_pool(1, caller_busy=False) as pool:
        assert isinstance(pool, _refits._Here)


def test_an_error_in_a_call_reaches_the_caller() -> None:
    future = _refits._Here().submit(math.sqrt, -1.0)
    assert isinstance(future.exception(), ValueError)
