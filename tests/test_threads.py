"""One native thread per process while processes share the cores (``sulfurscope._threads``)."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np  # noqa: F401 - loads the BLAS whose threads are limited
import pytest
from threadpoolctl import threadpool_info

from sulfurscope._threads import THREAD_VARIABLES, one_thread_per_process


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info()]


def _child_threads() -> list[int]:
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info()]


@pytest.mark.skipif(not threadpool_info(), reason="no native thread pool loaded")
def test_this_forked_and_spawned_processes_run_one_thread():
    before = _blas_threads()
    env_before = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    with one_thread_per_process(2):
        assert set(_blas_threads()) == {1}
        assert all(os.environ[k] == "1" for k in THREAD_VARIABLES)
        for method in ("fork", "spawn"):
            with multiprocessing.get_context(method).Pool(1) as pool:
                assert set(pool.apply(_child_threads)) == {1}, method
    assert _blas_threads() == before
    assert {k: os.environ.get(k) for k in THREAD_VARIABLES} == env_before


def test_one_process_keeps_its_threads():
    before = _blas_threads()
    env_before = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    with one_thread_per_process(1):
        assert _blas_threads() == before
        assert {k: os.environ.get(k) for k in THREAD_VARIABLES} == env_before


def test_thread_budget_is_one_while_processes_share_the_cores(monkeypatch):
    from sulfurscope._threads import one_thread_per_process, thread_budget

    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(key, raising=False)
    outside = thread_budget()
    assert outside >= 1
    with one_thread_per_process(2):
        assert thread_budget() == 1
    assert thread_budget() == outside
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the user's own limit
    assert thread_budget() == 1
