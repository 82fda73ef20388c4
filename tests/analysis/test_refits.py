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


def test_the_caller_takes_back_what_no_worker_started() -> None:
    """A future no worker has picked up is cancelled and run here (last first); a finished one keeps
    its result."""
    from concurrent.futures import Future

    done: Future = Future()
    done.set_result(10.0)
    waiting = [Future(), Future()]  # pending forever: no executor behind them
    calls = [(1.0,), (4.0,), (9.0,)]
    assert _refits.results([done, *waiting], calls, math.sqrt) == [10.0, 2.0, 3.0]
    assert all(f.cancelled() for f in waiting)


def test_the_step_may_use_only_the_cores_it_is_given(monkeypatch) -> None:
    monkeypatch.setattr(_refits.os, "cpu_count", lambda: 8)
    assert _refits._processes(6, caller_busy=True, processes=1) == 0  # --workers 1: this process
    assert _refits._processes(6, caller_busy=True, processes=2) == 1
    assert _refits._processes(6, caller_busy=True) == 6  # None: every core
    assert _refits._processes(2, caller_busy=False, processes=64) == 2
    with _refits.refit_pool(5, caller_busy=True, processes=1) as pool:
        assert isinstance(pool, _refits._Here)


def test_pool_map_keeps_the_order() -> None:
    with _refits.refit_pool(4, caller_busy=True, processes=1) as pool:
        assert _refits.pool_map(pool, math.pow, [(2.0, k) for k in range(6)]) == [
            2.0**k for k in range(6)
        ]
