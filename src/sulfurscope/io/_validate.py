"""Checks after parsing: what a reader returns is finite, ordered where the format promises it, and
every repair is counted.

A damaged file can parse into plausible-looking arrays: NaN voltages, a time stamp that jumps back, a
NaN step number (which becomes −9223372036854775808 as an integer), a spectral axis that is not
monotonic, NaN or negative counts. Each check here either repairs the data and raises an
:class:`~sulfurscope.errors.InputRepairWarning` that names the file and says how many rows or values
were changed (the analyses turn it into a flag), or raises a
:class:`~sulfurscope.errors.FileFormatError` when too much is wrong to repair honestly
(:data:`MAX_REPAIR_FRACTION` of the rows or values, or fewer than two rows left).
"""

from __future__ import annotations

import warnings

import numpy as np

from sulfurscope.errors import FileFormatError, InputRepairWarning

__all__ = ["MAX_REPAIR_FRACTION", "clean_axis", "clean_counts", "clean_rows", "repair_warning"]

#: Above this fraction of rows (or values) to drop or replace, a file is refused instead of repaired.
MAX_REPAIR_FRACTION = 0.5


def repair_warning(name: str, text: str) -> None:
    """Raise the :class:`~sulfurscope.errors.InputRepairWarning` ``"<name>: <text>"``."""
    warnings.warn(f"{name}: {text}", InputRepairWarning, stacklevel=3)


def _too_many(name: str, bad: int, n: int, what: str) -> None:
    if n - bad < 2 or bad > MAX_REPAIR_FRACTION * n:
        raise FileFormatError(
            f"{name}: {bad} of {n} rows {what}; too many to repair (damaged or truncated file?)"
        )


def clean_rows(
    columns: dict[str, np.ndarray],
    name: str,
    *,
    finite: tuple[str, ...],
    nonnegative: tuple[str, ...] = (),
    time: str | None = None,
) -> dict[str, np.ndarray]:
    """Drop the rows with a non-finite value in any of ``finite``, a negative value in any of
    ``nonnegative`` and, when ``time`` is given, the rows whose time is earlier than a time already
    seen (a clock glitch or a damaged block).

    Returns the columns (the same dict when nothing was dropped). Warns with the counts.
    """
    n = len(next(iter(columns.values())))
    keep = np.ones(n, dtype=bool)
    for col in finite:
        if col in columns:
            values = np.asarray(columns[col], dtype=np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                _too_many(name, int(bad.sum()), n, f"have a non-finite {col}")
                repair_warning(name, f"dropped {int(bad.sum())} of {n} rows with a non-finite {col}")
                keep &= ~bad
    for col in nonnegative:
        if col in columns:
            values = np.asarray(columns[col], dtype=np.float64)
            bad = keep & (values < 0)
            if bad.any():
                _too_many(name, int(bad.sum()), n, f"have a negative {col}")
                repair_warning(name, f"dropped {int(bad.sum())} of {n} rows with a negative {col}")
                keep &= ~bad
    if time is not None and time in columns:
        t = np.asarray(columns[time], dtype=np.float64)
        t_keep = np.where(keep, t, -np.inf)
        back = keep & (t < np.maximum.accumulate(t_keep))
        if back.any():
            k = int(np.flatnonzero(back)[0])
            _too_many(name, int(back.sum()) + int((~keep).sum()), n, "are unusable")
            repair_warning(
                name,
                f"dropped {int(back.sum())} of {n} rows whose {time} runs backwards (first at row "
                f"{k}: {t[k]:g} after {np.max(t_keep[:k]):g})",
            )
            keep &= ~back
    if keep.all():
        return columns
    return {c: np.asarray(v)[keep] for c, v in columns.items()}


def clean_axis(
    x: np.ndarray, y: np.ndarray, name: str, axis: str, *, descending: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A spectrum's axis and values with non-finite pairs dropped, the axis sorted (ascending, or
    descending when ``descending``) and repeated axis values dropped (the first kept).

    ``y`` may be 1-D (one value per axis point) or have the axis as its last dimension. Warns with the
    counts of each repair.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.size
    if n == 0:
        raise FileFormatError(f"{name}: no {axis} values")
    finite = np.isfinite(x) & np.isfinite(y.reshape(-1, n)).all(axis=0)
    if not finite.all():
        bad = int((~finite).sum())
        _too_many(name, bad, n, f"have a non-finite {axis} or value")
        repair_warning(name, f"dropped {bad} of {n} points with a non-finite {axis} or value")
        x, y = x[finite], y[..., finite]
    step = np.diff(x)
    if np.all(step < 0) if descending else np.all(step > 0):
        return x, y
    if np.all(step > 0) if descending else np.all(step < 0):  # stored the other way round
        return x[::-1].copy(), y[..., ::-1].copy()
    order = np.argsort(-x if descending else x, kind="stable")
    if not np.array_equal(order, np.arange(x.size)):
        repair_warning(name, f"sorted the {axis} ({x.size} points; it was not monotonic)")
    x, y = x[order], y[..., order]
    _, first = np.unique(x, return_index=True)
    if first.size < x.size:
        repeats = x.size - first.size
        _too_many(name, repeats, x.size, f"repeat a {axis} value")
        repair_warning(name, f"dropped {repeats} points with a repeated {axis}")
        keep = np.sort(first)
        x, y = x[keep], y[..., keep]
    return x, y


def clean_counts(counts: np.ndarray, name: str, what: str = "counts") -> np.ndarray:
    """Counts with non-finite or negative values set to 0 (counted warning); refused when more than
    :data:`MAX_REPAIR_FRACTION` of them are bad."""
    a = np.asarray(counts)
    if a.dtype.kind in "iub":
        negative = a < 0 if a.dtype.kind == "i" else np.zeros(a.shape, dtype=bool)
        if not negative.any():
            return a
        bad = negative
    else:
        bad = ~np.isfinite(a) | (a < 0)
        if not bad.any():
            return a
    nbad = int(bad.sum())
    if nbad > MAX_REPAIR_FRACTION * a.size:
        raise FileFormatError(
            f"{name}: {nbad} of {a.size} {what} are negative or not finite; too many to repair"
        )
    repair_warning(name, f"set {nbad} of {a.size} negative or non-finite {what} to 0")
    out = a.copy()
    out[bad] = 0
    return out
