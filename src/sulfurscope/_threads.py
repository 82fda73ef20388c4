"""One BLAS/OpenMP thread per process while several processes share the cores.

NumPy's OpenBLAS starts one thread per core in every process. When the study pipeline, the demo's
simulation or the model's refits run one process per core, each process's BLAS threads then compete
with the other processes (2 processes × 2 threads on 2 cores), and OpenBLAS's waiting threads spin:
in the demo on 2 cores the Raman tasks took 7.0 s of task time instead of 0.8 s and the whole
``sulfurscope demo`` 50 s instead of 43 s. Inside :func:`one_thread_per_process` this process and
every process it forks run their native thread pools (``threadpoolctl``) with one thread, and
processes it spawns inherit the same limit through the environment (the ``*_NUM_THREADS`` variables
are read when NumPy loads its BLAS).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["THREAD_VARIABLES", "one_thread", "one_thread_per_process", "thread_budget"]

#: Environment variables the native thread pools read when they load.
THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@contextmanager
def one_thread_per_process(processes: int) -> Iterator[None]:
    """Native thread pools limited to one thread while ``processes`` ≥ 2 processes share the cores.

    Parameters
    ----------
    processes : int
        Processes that will compute at once. Below 2 nothing changes (a single process may use
        every core for BLAS).

    Notes
    -----
    The previous limits and environment are restored on exit. The numbers computed do not depend on
    the thread count beyond floating-point summation order.
    """
    if processes < 2:
        yield
        return
    from threadpoolctl import threadpool_limits

    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def one_thread() -> Iterator[None]:
    """Native thread pools of this process limited to one thread (restored on exit).

    For loops of small linear algebra (the SVD of a few-hundred × 30 Jacobian in every
    trust-region step of a peak fit): threads cost more than they give there. On the 26-region SPECS
    file of the real-data set, ``sulfurscope xps`` took 34.7 s of CPU for 21.4 s of wall time with
    OpenBLAS's two threads and 19.3 s for 19.9 s with one; beside another busy process the spinning
    threads made it 231 s. Entering costs ~0.7 ms.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def thread_budget() -> int:
    """Threads this process may use for independent steps of one analysis (e.g. the two particle
    segmentations): 1 inside :func:`one_thread_per_process` (the cores are shared with other
    processes) or when the user limited ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` to 1; else the
    cores this process may run on.
    """
    if any(os.environ.get(k) == "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")):
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
