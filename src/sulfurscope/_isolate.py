"""Run a risky call in a child process with a time limit and a memory limit.

Third-party parsers can loop forever, allocate without bound or crash the interpreter on a damaged
file (a zeroed block in a Renishaw ``.wdf``, a damaged HDF5 file in libhdf5), and a study task can do
the same. :func:`call_isolated` runs such a call in a forked child:

* the child gets its own process group (so helper programs it starts die with it), an address-space
  limit of its current size plus the memory cap (``RLIMIT_AS``; an allocation past it raises
  ``MemoryError`` or kills the child), no core dumps, and its standard output and error go to
  ``/dev/null`` (records of library loggers are collected and handed back instead);
* the parent waits for the answer at most ``timeout_s`` seconds and checks the child's private
  memory every 0.1 s; past either limit the whole process group is killed;
* the answer comes back through a pipe: the return value, or the exception (sulfurscope errors and
  built-in exceptions are raised again with their type and message; any other exception as a
  ``RuntimeError`` naming its type). Warnings raised in the child are raised again in the parent, so
  a caller that records warnings sees them.

A timeout, a memory overrun or a crash raises :class:`~sulfurscope.errors.LimitError` whose
``reason`` is ``"timeout"``, ``"memory"`` or ``"crash"``. Where ``fork`` does not exist (Windows),
or when isolation is switched off (``SULFURSCOPE_ISOLATE=0``, the CLI's ``--debug``), the call runs
in this process.

The limits for reading one input file are :func:`read_limits` (defaults below, environment variables
``SULFURSCOPE_READ_TIMEOUT_S``, ``SULFURSCOPE_READ_MEMORY_MB``, ``SULFURSCOPE_MAX_FILE_MB``, or
:func:`set_read_limits`, which the CLI's ``--max-file-size`` etc. call).
"""

from __future__ import annotations

import builtins
import logging
import os
import signal
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sulfurscope import errors

__all__ = [
    "ReadLimits",
    "call_isolated",
    "isolation_available",
    "read_limits",
    "set_read_limits",
]

_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Limits for reading one input file.

    Attributes
    ----------
    timeout_s : float
        Seconds a reader may take on a small file (20 s).
    seconds_per_mb : float
        Extra seconds per MB of file (0.5 s/MB: a 1 GB Arbin database gets ~9 min).
    memory_mb : float
        Memory a reader may allocate beyond what the process already holds (1536 MB: with the
        process's own few hundred MB, a read stays under 2 GB resident).
    max_file_mb : float
        Files larger than this are refused before anything is read (4096 MB).
    isolate : bool
        Read formats parsed by third-party libraries in a child process (True).
    """

    timeout_s: float = 20.0
    seconds_per_mb: float = 0.5
    memory_mb: float = 1536.0
    max_file_mb: float = 4096.0
    isolate: bool = True

    def timeout_for(self, size_bytes: int) -> float:
        """The time limit for a file of ``size_bytes``."""
        return self.timeout_s + self.seconds_per_mb * size_bytes / 1e6


_ENV = {
    "timeout_s": "SULFURSCOPE_READ_TIMEOUT_S",
    "memory_mb": "SULFURSCOPE_READ_MEMORY_MB",
    "max_file_mb": "SULFURSCOPE_MAX_FILE_MB",
}
_override: ReadLimits | None = None


def _from_env() -> ReadLimits:
    values: dict[str, Any] = {}
    for field, var in _ENV.items():
        text = os.environ.get(var, "").strip()
        if text:
            try:
                value = float(text)
            except ValueError:
                raise errors.SulfurscopeError(
                    f"environment variable {var}={text!r}: expected a positive number"
                ) from None
            if not value > 0 or value == float("inf"):
                raise errors.SulfurscopeError(
                    f"environment variable {var}={text!r}: expected a positive number"
                )
            values[field] = value
    if os.environ.get("SULFURSCOPE_ISOLATE", "").strip() in ("0", "false", "no"):
        values["isolate"] = False
    return ReadLimits(**values)


def read_limits() -> ReadLimits:
    """The limits in force: those set by :func:`set_read_limits`, else the environment's, else the
    defaults."""
    return _override if _override is not None else _from_env()


def set_read_limits(limits: ReadLimits | None = None, **changes: Any) -> ReadLimits:
    """Set the read limits of this process (``None`` and no changes: back to the environment's).

    Returns the limits now in force. Forked children (pipeline tasks) inherit them; Dask workers get
    them with each task.
    """
    global _override
    if limits is None and not changes:
        _override = None
        return read_limits()
    _override = replace(limits or read_limits(), **changes)
    return _override


def isolation_available() -> bool:
    """True where child processes can be forked (POSIX)."""
    return hasattr(os, "fork")


# ----------------------------------------------------------------------------- the child


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < 50:
            try:
                self.records.append((record.name, record.getMessage()[:500]))
            except Exception:  # noqa: BLE001 - a bad log record is not worth dying for
                pass


def _limit_memory(memory_mb: float) -> None:
    import resource

    size = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    size = int(line.split()[1]) * 1024
    except OSError:
        pass
    want = size + int(memory_mb * 1024 * 1024)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if size and (soft == resource.RLIM_INFINITY or want < soft):
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _quiet_output() -> None:
    import faulthandler

    faulthandler.disable()  # it may write to a copy of the parent's stderr; a crash is reported
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _exception_answer(exc: BaseException) -> tuple[str, ...]:
    cls = type(exc)
    return ("error", cls.__module__, cls.__name__, str(exc))


def _die_with_parent(parent: int) -> None:
    """Linux: the child is killed when the parent dies (a killed run leaves no orphans)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(70)


def _child(conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict, memory_mb: float,
           parent: int) -> None:
    code = 0
    try:
        _die_with_parent(parent)
        os.setpgid(0, 0)
        _quiet_output()
        _limit_memory(memory_mb)
        handler = _Collect()
        logging.getLogger().addHandler(handler)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                answer: tuple = ("ok", fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                answer = _exception_answer(exc)
        notes = [(w.category.__module__, w.category.__name__, str(w.message)) for w in caught[:50]]
        try:
            conn.send((answer, notes, handler.records))
        except MemoryError:
            conn.send((("error", "builtins", "MemoryError", "result too large to send"), [], []))
    except BaseException:  # noqa: BLE001 - never return into the parent's code
        code = 70
    finally:
        os._exit(code)


# ---------------------------------------------------------------------------- the parent


_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20


def _over_memory(pid: int, memory_mb: float) -> bool:
    """Whether the child's private memory exceeds ``memory_mb``.

    Private pages (``smaps_rollup``) are a subset of the resident set, so the cheap resident size
    (``statm``, O(1)) rules most polls out; ``smaps_rollup`` walks the page tables (~7 ms for a
    process holding NumPy and pandas) and is read only when the resident set exceeds the limit.
    """
    try:
        with open(f"/proc/{pid}/statm") as fh:
            resident_mb = int(fh.read().split()[1]) * _PAGE_MB
    except (OSError, ValueError, IndexError):
        resident_mb = float("inf")
    return resident_mb > memory_mb and _private_mb(pid) > memory_mb


def _private_mb(pid: int) -> float:
    """Memory the child has written since the fork (private pages), MB."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return 0.0
    return total / 1024.0


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _reap(pid: int) -> int:
    """Wait for the child and return its exit status (negative: killed by that signal)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 0
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _wait_answer(conn: Any, pid: int, label: str, timeout_s: float, memory_mb: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        if conn.poll(_POLL_S):
            try:
                return conn.recv()
            except (EOFError, OSError):
                return None
        if time.monotonic() > deadline:
            _kill_group(pid)
            raise errors.LimitError(
                f"{label}: did not finish within {timeout_s:.0f} s", reason="timeout"
            )
        if _over_memory(pid, memory_mb):
            _kill_group(pid)
            raise errors.LimitError(
                f"{label}: needed more than {memory_mb:.0f} MB of memory", reason="memory"
            )


def _raise_child_error(module: str, name: str, message: str, label: str) -> None:
    if module.startswith("sulfurscope"):
        cls = getattr(errors, name, None)
        if isinstance(cls, type) and issubclass(cls, errors.SulfurscopeError):
            if issubclass(cls, errors.LimitError):
                raise errors.LimitError(message, reason="memory")
            raise cls(message)
        raise errors.SulfurscopeError(message)
    if name == "MemoryError":
        raise errors.LimitError(f"{label}: ran out of memory ({message or 'MemoryError'})",
                                reason="memory")
    cls = getattr(builtins, name, None) if module == "builtins" else None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            raise cls(message)
        except TypeError:  # exception types whose constructor wants more arguments
            pass
    raise RuntimeError(f"{module}.{name}: {message}")


def _replay(notes: list, records: list) -> None:
    log = logging.getLogger("sulfurscope")
    for name, message in records:
        log.debug("%s: %s", name, message)
    for module, name, message in notes:
        cls: Any = None
        if module.startswith("sulfurscope"):
            cls = getattr(errors, name, None)
        elif module == "builtins":
            cls = getattr(builtins, name, None)
        if not (isinstance(cls, type) and issubclass(cls, Warning)):
            cls = UserWarning
        warnings.warn(message, cls, stacklevel=3)


def call_isolated(
    fn: Callable[..., Any],
    *args: Any,
    timeout_s: float,
    memory_mb: float,
    label: str,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` in a forked child with a time and a memory limit.

    Parameters
    ----------
    fn, args, kwargs
        The call. Its result must be picklable by :mod:`multiprocessing` (arrays, DataFrames and
        dataclasses of them are).
    timeout_s : float
        Seconds to wait for the answer.
    memory_mb : float
        Memory the child may allocate beyond what it inherited.
    label : str
        Names the call in errors (the file name for a reader, the task for a task).

    Raises
    ------
    LimitError
        The child ran past the time or memory limit, or died (signal, exit without an answer).
    SulfurscopeError, built-in exceptions
        What the call raised, with its type and message.
    """
    if not isolation_available():
        return fn(*args, **kwargs)
    import multiprocessing

    reader, writer = multiprocessing.Pipe(duplex=False)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (coverage does not follow os._exit)
        reader.close()
        _child(writer, fn, args, kwargs, memory_mb, parent)
    writer.close()
    try:
        got = _wait_answer(reader, pid, label, timeout_s, memory_mb)
    except BaseException:
        _kill_group(pid)
        _reap(pid)
        reader.close()
        raise
    reader.close()
    status = _reap(pid)
    if got is None:
        how = f"exit status {status}"
        if status < 0:
            try:
                how = f"signal {signal.Signals(-status).name}"
            except ValueError:
                how = f"signal {-status}"
        raise errors.LimitError(f"{label}: the process died ({how})", reason="crash")
    answer, notes, records = got
    _replay(notes, records)
    if answer[0] == "ok":
        return answer[1]
    _raise_child_error(answer[1], answer[2], answer[3], label)
    raise AssertionError("unreachable")  # pragma: no cover
