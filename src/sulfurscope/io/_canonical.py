"""The canonical cycler table every reader returns, and the checks that make it canonical.

Columns (see :mod:`sulfurscope.units`): ``Time [s]`` (from the start of the file, monotone
non-decreasing), ``Voltage [V]``, ``Current [mA]`` (positive = charge), ``Charge [mAh]`` (cumulative,
signed, starts at 0), ``Step`` (int, the instrument's step/sequence counter), ``Rest`` (bool, no current
by instruction of the instrument), plus whatever else the file carries, named in the same grammar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import FileFormatError
from sulfurscope.units import CHARGE, CURRENT, REST, SECONDS_PER_HOUR, STEP, TIME, VOLTAGE

__all__ = ["CyclerData", "current_from_charge", "finalize_cycler_frame"]


@dataclass(frozen=True, slots=True)
class CyclerData:
    """A cycler file read into the canonical table.

    Attributes
    ----------
    frame : DataFrame
        The canonical table (columns in :data:`sulfurscope.units.CANONICAL_CYCLER_COLUMNS` first).
    metadata : dict
        What the file says about the run (technique, active mass, limits, instrument, ...). Keys are
        ``snake_case`` with a unit suffix where one applies (``active_mass_mg``).
    path : str
        The file it came from.
    format : str
        The reader used (``"biologic-mpr"``, ``"biologic-mpt"``, ``"arbin-res"``, ``"neware"``,
        ``"maccor"``, ...).
    """

    frame: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    format: str = ""

    def to_frame(self) -> pd.DataFrame:
        """Return the canonical table."""
        return self.frame

    def to_dict(self) -> dict[str, Any]:
        """Return path, format, metadata and the row count (not the table) as a plain dict."""
        return {
            "path": self.path,
            "format": self.format,
            "metadata": dict(self.metadata),
            "rows": len(self.frame),
        }


def finalize_cycler_frame(
    frame: pd.DataFrame,
    *,
    source: str | Path,
    charge_from_current: bool = False,
) -> pd.DataFrame:
    """Check a reader's table and complete it into the canonical one.

    Requires ``Time [s]`` and ``Voltage [V]``; needs ``Current [mA]`` or ``Charge [mAh]`` (the missing one
    is derived: current from dQ/dt, charge by trapezoidal integration). ``Step`` defaults to 0 and
    ``Rest`` to ``Current == 0``. Time is shifted to start at 0, charge to start at 0.

    Raises
    ------
    FileFormatError
        Naming ``source`` when time or voltage is missing, the table is empty, or values are not finite.
    """
    name = Path(source).name
    if len(frame) == 0:
        raise FileFormatError(f"{name}: no data rows (empty or truncated file)")
    for col in (TIME, VOLTAGE):
        if col not in frame.columns:
            raise FileFormatError(
                f"{name}: no {col.split(' [')[0].lower()} column; expected one mapping to {col!r} "
                f"(found {list(frame.columns)[:12]})"
            )
    if CURRENT not in frame.columns and CHARGE not in frame.columns:
        raise FileFormatError(f"{name}: neither current nor charge column; one is needed")
    out = frame.copy()
    t = out[TIME].to_numpy(dtype=float)
    if not np.all(np.isfinite(t)):
        raise FileFormatError(f"{name}: {TIME} has non-finite values")
    out[TIME] = t - t[0]
    out[VOLTAGE] = out[VOLTAGE].astype(float)
    if CURRENT not in out.columns or out[CURRENT].isna().all():
        out[CURRENT] = current_from_charge(out[TIME].to_numpy(), out[CHARGE].to_numpy(dtype=float))
    if CHARGE not in out.columns or charge_from_current:
        i = out[CURRENT].to_numpy(dtype=float)
        tt = out[TIME].to_numpy()
        q_mas = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(tt))])
        out[CHARGE] = q_mas / SECONDS_PER_HOUR
    else:
        q = out[CHARGE].to_numpy(dtype=float)
        out[CHARGE] = q - q[0]
    if STEP not in out.columns:
        out[STEP] = 0
    out[STEP] = out[STEP].astype(np.int64)
    if REST not in out.columns:
        out[REST] = out[CURRENT].to_numpy() == 0.0
    out[REST] = out[REST].astype(bool)
    first = [TIME, VOLTAGE, CURRENT, CHARGE, STEP, REST]
    rest = [c for c in out.columns if c not in first]
    return out[first + rest].reset_index(drop=True)


def current_from_charge(time_s: np.ndarray, charge_mah: np.ndarray) -> np.ndarray:
    """Current in mA from a cumulative charge in mAh, by backward differences.

    The first point takes the current of the first interval. Intervals of zero length give the
    previous current (duplicate time stamps occur in real files).
    """
    dt = np.diff(time_s)
    dq = np.diff(charge_mah) * 3600.0  # mA s
    with np.errstate(divide="ignore", invalid="ignore"):
        i = np.where(dt > 0, dq / np.where(dt > 0, dt, 1.0), np.nan)
    i = pd.Series(i).ffill().fillna(0.0).to_numpy()
    return np.concatenate([i[:1] if len(i) else [0.0], i])
