"""Model C refits for the parameters' uncertainty, on a second core.

These are the refit with the size distribution shifted and the delete-one-cell jackknife. The model
step used to run them one after the other, then fit model B. They do not depend on each other nor on
model B, so they now run in worker processes while the caller fits model B in its own process. The
step's two serial halves thus share the machine's cores, and the numbers are the same either way.

Workers are *spawned*, not forked, so they are safe in a process that holds threads (a Dask client,
a progress bar). The refits run in this process instead:

- on one core;
- inside a daemonic worker, which may not have children;
- when ``SULFURSCOPE_MODEL_PROCESSES=0`` is set;
- and, as a fallback, whenever the pool cannot start or breaks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

__all__ = ["refit_pool", "refit_values", "results"]


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


class _Here:
    """An executor that runs each call at once in this process."""

    def submit(self, fn: Any, *args: Any) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            done.set_exception(exc)
        return done


def _processes(jobs: int, caller_busy: bool) -> int:
    import multiprocessing

    if os.environ.get("SULFURSCOPE_MODEL_PROCESSES") == "0" or multiprocessing.current_process().daemon:
        return 0
    cores = os.cpu_count() or 1
    return max(0, min(jobs, cores - 1 if caller_busy else cores))


@contextmanager
def refit_pool(jobs: int, *, caller_busy: bool) -> Iterator[Any]:
    """An executor for ``jobs`` refits: worker processes when the machine has a core to spare
    (``caller_busy``: this process fits model B meanwhile), else this process."""
    n = _processes(jobs, caller_busy) if jobs > 1 or caller_busy else 0
    if n == 0:
        yield _Here()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"))
    except (OSError, ValueError, RuntimeError):
        yield _Here()
        return
    with pool:
        yield pool


def results(futures: Sequence[Future], calls: Sequence[tuple[Any, ...]]) -> list[Any]:
    """The futures' results in order; a call whose worker broke is run again in this process."""
    from concurrent.futures.process import BrokenProcessPool

    out = []
    for future, args in zip(futures, calls, strict=True):
        try:
            out.append(future.result())
        except (BrokenProcessPool, OSError, EOFError):
            out.append(refit_values(*args))
    return out
