"""The parent's memory watch of an isolated child (``sulfurscope._isolate``)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from sulfurscope import _isolate
from sulfurscope._isolate import _over_memory, _private_mb
from sulfurscope.errors import LimitError

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")


def _grow(mb: int) -> None:
    block = np.ones(mb * 2**20 // 8)  # written: private pages
    time.sleep(30)
    del block


def test_over_memory_agrees_with_private_pages():
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            _grow(300)
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + 20
        while _private_mb(pid) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _private_mb(pid) >= 300
        assert _over_memory(pid, 200)
        assert not _over_memory(pid, 5000)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_a_child_past_the_limit_is_stopped_by_the_watch(monkeypatch):
    monkeypatch.setattr(_isolate, "_limit_memory", lambda mb: None)  # only the parent's watch
    with pytest.raises(LimitError, match="memory"):
        _isolate.call_isolated(_grow, 400, timeout_s=25, memory_mb=150, label="grow")
