"""The model step's independent model runs, on the cores the study lets it use.

These are model C's refits (the size distribution shifted, the delete-one-cell jackknife) and the
model runs of model B's sensitivity to model C. They do not depend on each other, and the refits
not on model B, so they run in worker processes while the caller fits model B in its own process;
when the caller is free it takes the runs no worker has started yet (last first), so no core waits
for the other. The numbers are the same either way.

The step may use ``processes`` cores (the study pipeline passes its worker count: ``--workers 1``
keeps the step in one process; None: every core of the machine). Workers are *spawned*, not
forked, so they are safe in a process that holds threads (a Dask client, a progress bar); one is
started when the pool opens, so its imports overlap the caller's first fit. The runs happen in this
process instead:

- on one core (or ``processes`` = 1);
- inside a daemonic worker, which may not have children;
- when ``SULFURSCOPE_MODEL_PROCESSES=0`` is set;
- and, as a fallback, whenever the pool cannot start or breaks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from sulfurscope._threads import one_thread_per_process

__all__ = ["pool_map", "refit_pool", "refit_values", "results"]


def refit_values(
    rate: Any, dist: Any, cycling: Any, n_cells: int, names: Sequence[str]
) -> list[float] | None:
    """Model C refitted to ``rate`` with ``dist``: the named parameters' values (None: it failed)."""
    from sulfurscope.errors import FitError, SulfurscopeError
    from sulfurscope.model import fit_cycling_model

    try:
        again = fit_cycling_model(rate, dist, cycling=cycling, n_cells=n_cells)
    except (FitError, SulfurscopeError):
        return None
    return [float(again.values[k]) for k in names]


def _warm() -> None:
    """Import the model in a fresh worker (while the caller is busy)."""
    import sulfurscope.model  # noqa: F401


class _Here:
    """An executor that runs each call at once in this process."""

    def submit(self, fn: Any, *args: Any) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            done.set_exception(exc)
        return done


def _processes(jobs: int, caller_busy: bool, processes: int | None = None) -> int:
    import multiprocessing

    if os.environ.get("SULFURSCOPE_MODEL_PROCESSES") == "0" or multiprocessing.current_process().daemon:
        return 0
    cores = os.cpu_count() or 1
    if processes is not None:
        cores = max(1, min(cores, int(processes)))
    return max(0, min(jobs, cores - 1 if caller_busy else cores))


@contextmanager
def refit_pool(jobs: int, *, caller_busy: bool, processes: int | None = None) -> Iterator[Any]:
    """An executor for ``jobs`` independent runs: worker processes when the step has a core to
    spare (``caller_busy``: this process works meanwhile; ``processes``: the cores the step may
    use, None for all), else this process."""
    n = _processes(jobs, caller_busy, processes) if jobs > 1 or caller_busy else 0
    if n == 0:
        yield _Here()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with one_thread_per_process(n + int(caller_busy)):  # set before the workers start
        try:
            pool = ProcessPoolExecutor(max_workers=n,
                                       mp_context=multiprocessing.get_context("spawn"))
            pool.submit(_warm)
        except (OSError, ValueError, RuntimeError):
            pool = None
        if pool is None:
            yield _Here()
            return
        with pool:
            yield pool


def results(
    futures: Sequence[Future], calls: Sequence[tuple[Any, ...]],
    fn: Callable[..., Any] = refit_values,
) -> list[Any]:
    """The futures' results in order (``futures[i]`` runs ``fn(*calls[i])``).

    The calls no worker has started are taken back and run here, last first (the workers take them
    first first); a call whose worker broke is run again here."""
    from concurrent.futures.process import BrokenProcessPool

    out: list[Any] = [None] * len(futures)
    local = set()
    for i in reversed(range(len(futures))):
        if futures[i].cancel():
            out[i] = fn(*calls[i])
            local.add(i)
    for i, (future, args) in enumerate(zip(futures, calls, strict=True)):
        if i in local:
            continue
        try:
            out[i] = future.result()
        except (BrokenProcessPool, OSError, EOFError):
            out[i] = fn(*args)
    return out


def pool_map(pool: Any, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]) -> list[Any]:
    """``[fn(*c) for c in calls]`` on ``pool`` and this process (see :func:`results`)."""
    return results([pool.submit(fn, *c) for c in calls], calls, fn)
