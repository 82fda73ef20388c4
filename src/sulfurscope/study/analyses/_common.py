"""Helpers shared by the built-in analysis plug-ins (private)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.cycling import Cell, make_cell
from sulfurscope.errors import SulfurscopeError

__all__ = [
    "cell_from_options",
    "decimate",
    "grid_array",
    "grid_table",
    "per_task",
    "read_cell_files",
    "safe_name",
]


def read_cell_files(files: Mapping[str, Path]) -> tuple[pd.DataFrame, str]:
    """A cell's cycler table and format: ``files["file"]``, continued by ``file_2``, ``file_3``, …
    (joined in order by :func:`sulfurscope.io.join_cycler_frames`)."""
    from sulfurscope.io import join_cycler_frames, read_cycler

    extra = sorted((k for k in files if k.startswith("file_")), key=lambda k: int(k[5:]))
    paths = [files["file"], *(files[k] for k in extra)]
    data = [read_cycler(p) for p in paths]
    if len(data) == 1:
        return data[0].frame, data[0].format
    frame = join_cycler_frames([d.frame for d in data], sources=[Path(p).name for p in paths])
    return frame, "+".join(dict.fromkeys(d.format for d in data))


def decimate(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """Every k-th row (first and last kept) so that at most ``max_rows`` remain."""
    n = len(frame)
    if n <= max_rows:
        return frame.reset_index(drop=True)
    idx = np.unique(np.linspace(0, n - 1, max_rows).round().astype(int))
    return frame.iloc[idx].reset_index(drop=True)


def cell_from_options(files: Mapping[str, Path], options: Mapping[str, Any]) -> Cell:
    """The :class:`~sulfurscope.cycling.Cell` of a manifest cell (mass given, from the loading, or
    composite mass × the sample's sulfur fraction, the fraction read from ``files["tga"]`` when given)."""
    fraction = options.get("sulfur_fraction")
    composite = options.get("composite_mass_mg")
    if composite is not None and "tga" in files:
        from sulfurscope.io.tga import read_tga
        from sulfurscope.spectra import sulfur_fraction

        curve = read_tga(files["tga"]).frame
        fraction = sulfur_fraction(
            curve["Temperature [°C]"].to_numpy(), curve["Mass [%]"].to_numpy()
        ).sulfur_fraction
    if composite is not None and fraction is None:
        raise SulfurscopeError("composite_mass_mg needs the sample's sulfur_fraction or tga file")
    return make_cell(
        label=str(options.get("cell", "")),
        sulfur_mass_mg=options.get("sulfur_mass_mg"),
        loading_mg_cm2=options.get("loading_mg_cm2"),
        electrode_area_cm2=float(options.get("area_cm2", 1.32)),
        composite_mass_mg=composite,
        sulfur_fraction=fraction if composite is not None else None,
    )


def per_task(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a store table by its ``Task`` column (order of first appearance)."""
    if table.empty or "Task" not in table.columns:
        return {}
    return {str(k): g.reset_index(drop=True) for k, g in table.groupby("Task", sort=False)}


def safe_name(text: str) -> str:
    """A file-name-safe version of a user string (figures are named after tasks)."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    return keep[:80] or "x"


def grid_table(array: np.ndarray, max_side: int = 256, **columns: np.ndarray) -> pd.DataFrame:
    """A 2-D array (and same-shape companions, e.g. labels) as a long table ``Row``, ``Column``,
    ``Value`` (+ one column per companion), strided so that no side exceeds ``max_side``."""
    step = max(1, int(np.ceil(max(array.shape[:2]) / max_side)))
    a = np.asarray(array)[::step, ::step]
    rows, cols = np.indices(a.shape[:2])
    out = {"Row": rows.ravel(), "Column": cols.ravel(), "Value": a.ravel().astype(float)}
    for name, comp in columns.items():
        out[name] = np.asarray(comp)[::step, ::step].ravel()
    return pd.DataFrame(out)


def grid_array(table: pd.DataFrame, column: str = "Value") -> np.ndarray:
    """Inverse of :func:`grid_table` for one column."""
    shape = (int(table["Row"].max()) + 1, int(table["Column"].max()) + 1)
    out = np.zeros(shape, dtype=table[column].dtype)
    out[table["Row"].to_numpy(int), table["Column"].to_numpy(int)] = table[column].to_numpy()
    return out
