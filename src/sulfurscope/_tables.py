"""Concatenating tables whose columns may be missing or all-empty in some parts (private helper)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["concat_tables"]


def concat_tables(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Rows of every part, columns in order of first appearance.

    A column that is empty or all-NA in one part takes the dtype it has where it holds values, so
    the result's dtypes do not depend on which part happened to be empty (and pandas' deprecation of
    the old rule does not apply).
    """
    parts = [p for p in parts if p is not None]
    if not parts:
        return pd.DataFrame()
    columns: dict[str, object] = {}
    for p in parts:
        for c in p.columns:
            if c not in columns or columns[c] is None:
                col = p[c]
                columns[c] = col.dtype if len(col) and col.notna().any() else columns.get(c)
    fixed = []
    for p in parts:
        q = p.reindex(columns=list(columns))
        for c, dtype in columns.items():
            col = q[c]
            if dtype is not None and (len(col) == 0 or col.isna().all()) and col.dtype != dtype:
                try:
                    q[c] = col.astype(dtype)
                except (TypeError, ValueError):
                    q[c] = col.astype(object)
        fixed.append(q)
    return pd.concat(fixed, ignore_index=True)
