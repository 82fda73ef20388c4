"""The guard every public reader goes through: only sulfurscope errors leave a reader.

:func:`reader` wraps a reader function so that

1. the input is checked before anything reads it: it exists, is a file (or a folder where the reader
   takes one), is readable, is not empty, and is not larger than
   :attr:`~sulfurscope._isolate.ReadLimits.max_file_mb`;
2. the file is read in a child process with a time and a memory limit
   (:func:`sulfurscope._isolate.call_isolated`), so a file that makes a parser loop, allocate without
   bound or crash (rosettasciio, h5py, tifffile, Pillow, galvani, fastnda, mdb-export, pandas) costs
   one clean error, not the process (~10–30 ms per read on Linux);
3. every exception that is not a sulfurscope error becomes a
   :class:`~sulfurscope.errors.FileFormatError` naming the file, the reader and what the library
   said; a sulfurscope error that does not name the file gets its name prefixed;
4. what the libraries log while reading goes to the ``sulfurscope`` logger at DEBUG level (shown with
   ``--debug``), not to the terminal.

A reader called by another guarded reader (``read_cycler`` → ``read_biologic_mpr``) is not guarded
twice.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sulfurscope._isolate import call_isolated, read_limits
from sulfurscope.errors import FileFormatError, InputNotFoundError, LimitError, SulfurscopeError

__all__ = ["check_input", "preload", "quiet_libraries", "reader"]

F = TypeVar("F", bound=Callable[..., Any])

#: Loggers of the reading libraries (their records are kept off the terminal).
LIBRARY_LOGGERS = (
    "tifffile", "rsciio", "RosettaSciIO", "hyperspy", "exspy", "h5py", "fastnda", "galvani",
    "PIL", "yadg", "imagecodecs", "roifile", "sparse", "numba",
)
_active: contextvars.ContextVar[bool] = contextvars.ContextVar("sulfurscope_guard", default=False)


def check_input(path: str | os.PathLike[str], kind: str, *, folder: bool = False) -> Path:
    """``path`` as a :class:`~pathlib.Path` after checking that it can be read.

    Raises
    ------
    InputNotFoundError
        No such file.
    FileFormatError
        A folder where a file is expected (or the reverse), not readable, empty, or larger than the
        file-size limit.
    """
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{p}: no such file")
    if p.is_dir():
        if folder:
            return p
        raise FileFormatError(f"{p.name}: is a folder; expected a {kind} file")
    if not p.is_file():
        raise FileFormatError(f"{p.name}: not a regular file; expected a {kind} file")
    if not os.access(p, os.R_OK):
        raise FileFormatError(f"{p.name}: not readable (permission denied)")
    size = p.stat().st_size
    if size == 0:
        raise FileFormatError(f"{p.name}: empty file (0 bytes); expected a {kind} file")
    limit = read_limits().max_file_mb
    if size > limit * 1e6:
        raise FileFormatError(
            f"{p.name}: {size / 1e6:.0f} MB is larger than the file-size limit of {limit:g} MB "
            "(raise it with --max-file-size or SULFURSCOPE_MAX_FILE_MB)"
        )
    return p


class _ToDebug(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            logging.getLogger("sulfurscope.io").debug("%s: %s", record.name, record.getMessage())
        except Exception:  # noqa: BLE001 - a malformed record is not worth an error
            pass


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Inside the block, records of the reading libraries' loggers go to ``sulfurscope.io`` at DEBUG
    level instead of their own handlers (which print to the terminal)."""
    saved = []
    handler = _ToDebug()
    for name in LIBRARY_LOGGERS:
        log = logging.getLogger(name)
        saved.append((log, log.handlers[:], log.propagate))
        log.handlers = [handler]
        log.propagate = False
    try:
        yield
    finally:
        for log, handlers, propagate in saved:
            log.handlers = handlers
            log.propagate = propagate


def _named(exc: SulfurscopeError, name: str) -> SulfurscopeError:
    if name in str(exc):
        return exc
    try:
        if isinstance(exc, LimitError):
            return LimitError(f"{name}: {exc}", reason=exc.reason)
        return type(exc)(f"{name}: {exc}")
    except TypeError:
        return FileFormatError(f"{name}: {exc}")


def _foreign(exc: BaseException, name: str, kind: str) -> FileFormatError:
    if isinstance(exc, MemoryError):
        return FileFormatError(
            f"{name}: reading it needs more memory than available (damaged size fields?)"
        )
    if isinstance(exc, RecursionError):
        return FileFormatError(f"{name}: nested too deeply to be a {kind} file")
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return FileFormatError(
        f"{name}: not a readable {kind} file — {type(exc).__name__}{': ' + text if text else ''}"
    )


def _run(fn: Callable[..., Any], p: Path, args: tuple, kwargs: dict, kind: str) -> Any:
    """The reader itself, with foreign exceptions turned into FileFormatError (runs in the child
    when isolated, so the exception that travels back is already ours)."""
    import warnings

    import numpy as np

    token = _active.set(True)
    try:
        # Floating-point noise of damaged numbers (overflow, inf × 0, all-NaN slices) is not a
        # message for the user: the canonical validation judges non-finite values and refuses or
        # repairs them with a sentence that names the file and the column.
        with quiet_libraries(), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"numpy(\.|$)")
            return fn(p, *args, **kwargs)
    except SulfurscopeError as exc:
        raise _named(exc, p.name) from None
    except Exception as exc:  # noqa: BLE001 - the guard's purpose
        raise _foreign(exc, p.name, kind) from None
    finally:
        _active.reset(token)


def preload(modules: tuple[str, ...]) -> None:
    """Import ``modules`` in this process (ignoring any that are missing), so that a reader's child
    process inherits them instead of importing them again on every read."""
    import importlib
    import sys

    for name in modules:
        if name not in sys.modules:
            try:
                with quiet_libraries():
                    importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the reader reports a missing library itself
                pass


def reader(
    kind: str,
    *,
    isolate: bool | Callable[[Path], bool] = True,
    folder: bool = False,
    modules: tuple[str, ...] | Callable[[Path, dict[str, Any]], tuple[str, ...]] = (),
) -> Callable[[F], F]:
    """Decorate a public reader ``fn(path, ...)`` with the guard described in the module docstring.

    Parameters
    ----------
    kind : str
        What the file should be, for messages ("BioLogic .mpr", "XPS", ...).
    isolate : bool or callable
        Read in a child process with limits (True, the default; or a predicate of the path).
    folder : bool
        The reader also takes a folder (a JEOL project).
    modules : tuple of str, or callable
        Libraries the reader imports: imported in this process before a child is forked (see
        :func:`preload`). A callable of the path and the call's keyword arguments names only those
        this call needs (a heavy library a call does not use is not imported for it).
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def guarded(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:
            if _active.get():
                return fn(path, *args, **kwargs)
            p = check_input(path, kind, folder=folder)
            limits = read_limits()
            wanted = isolate(p) if callable(isolate) else isolate
            if not (wanted and limits.isolate):
                return _run(fn, p, args, kwargs, kind)
            size = p.stat().st_size if p.is_file() else 0
            preload(modules(p, kwargs) if callable(modules) else modules)
            try:
                return call_isolated(
                    _run, fn, p, args, kwargs, kind,
                    timeout_s=limits.timeout_for(size), memory_mb=limits.memory_mb, label=p.name,
                )
            except LimitError as exc:
                raise FileFormatError(_limit_message(exc, p.name, kind)) from None
            except (SulfurscopeError, Warning):  # a warning raised by the caller's filters
                raise
            except Exception as exc:  # noqa: BLE001 - anything that still got through
                raise _foreign(exc, p.name, kind) from None

        return guarded  # type: ignore[return-value]

    return decorate


def _limit_message(exc: LimitError, name: str, kind: str) -> str:
    why = {
        "timeout": "the reader did not finish in time",
        "memory": "the reader needed more memory than the limit",
        "crash": "the reading library crashed",
    }.get(exc.reason, "the reader failed")
    detail = str(exc).removeprefix(f"{name}: ")
    return f"{name}: {why} ({detail}); the {kind} file is probably damaged"
