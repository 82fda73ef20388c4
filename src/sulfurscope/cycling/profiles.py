"""Capacity–voltage profiles per half-cycle (Fig 1d) and differential capacity dQ/dV.

dQ/dV smoothing (documented, explicit): each half-cycle's points under current are put in voltage
order, Q(V) is made monotone with a running maximum, resampled onto a uniform voltage grid of step
``dv`` by linear interpolation, and differentiated with a Savitzky–Golay filter (window ``window``
points, polynomial order ``polyorder``) — the approach of Bloom et al. (J. Power Sources 139 (2005)
295) with the Savitzky–Golay derivative (Anal. Chem. 36 (1964) 1627).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.cycling.cycles import Convention, _arrays, _segment
from sulfurscope.errors import SulfurscopeError

__all__ = ["DQDV", "VoltageProfiles", "dqdv", "voltage_profiles"]


@dataclass(frozen=True, slots=True)
class VoltageProfiles:
    """Capacity–voltage curves, one per half-cycle.

    Attributes
    ----------
    table : DataFrame
        Long table: ``Cycle``, ``Half cycle``, ``Direction`` (``"discharge"``/``"charge"``),
        ``Capacity [mAh]`` (from 0 at the start of the half-cycle), ``Specific capacity [mAh/g]``
        (with a sulfur mass), ``Voltage [V]``.
    sulfur_mass_mg : float or None
        Mass used for the specific column.
    """

    table: pd.DataFrame
    sulfur_mass_mg: float | None

    def to_frame(self) -> pd.DataFrame:
        """The long table."""
        return self.table


def voltage_profiles(
    frame: pd.DataFrame,
    *,
    sulfur_mass_mg: float | None = None,
    cycles: list[int] | None = None,
    include_rest: bool = False,
    first: Convention = "auto",
) -> VoltageProfiles:
    """Capacity–voltage curves of every (or the chosen) cycle.

    Parameters
    ----------
    frame : DataFrame
        Canonical cycler table.
    sulfur_mass_mg : float, optional
        Adds ``Specific capacity [mAh/g]`` = capacity / m_S.
    cycles : list of int, optional
        Cycles to keep (default all).
    include_rest : bool
        Keep points without current (relaxations draw vertical lines); default False.
    first : {"auto", "discharge", "charge"}
        Cycle convention.

    Returns
    -------
    VoltageProfiles
    """
    arrays = _arrays(frame)
    seg = _segment(
        frame, first=first, current_tolerance_ma=None, min_charge_fraction=0.005, arrays=arrays
    )
    q, v, i = arrays["q"], arrays["v"], arrays["i"]
    # interval j -> j+1 belongs to the half-cycle of point j+1: count from the point before the start
    q0 = q[np.maximum(seg.start - 1, 0)][seg.half]
    sign = seg.direction[seg.half]
    cap = (q - q0) * sign
    keep = np.ones(len(q), dtype=bool)
    if not include_rest:
        keep &= np.abs(i) > seg.tolerance_ma
        if arrays["rest"] is not None:
            keep &= ~arrays["rest"]
    cyc = seg.cycle[seg.half]
    if cycles is not None:
        keep &= np.isin(cyc, np.asarray(cycles))
    codes = (sign[keep] > 0).astype(np.int8)
    cap_k = cap[keep]
    cols: dict[str, Any] = {
        "Cycle": cyc[keep],
        "Half cycle": seg.half[keep] + 1,
        "Direction": pd.Categorical.from_codes(codes, categories=["discharge", "charge"]),
        "Capacity [mAh]": cap_k,
    }
    if sulfur_mass_mg is not None:
        cols["Specific capacity [mAh/g]"] = cap_k / (sulfur_mass_mg / 1000)
    cols["Voltage [V]"] = v[keep]
    table = pd.DataFrame(cols)
    return VoltageProfiles(table=table, sulfur_mass_mg=sulfur_mass_mg)


@dataclass(frozen=True, slots=True)
class DQDV:
    """Differential capacity curves.

    Attributes
    ----------
    table : DataFrame
        ``Cycle``, ``Half cycle``, ``Direction``, ``Voltage [V]``, ``dQ/dV [mAh/V]`` (or
        ``[mAh/g/V]`` when the profiles carry a sulfur mass; positive for both directions).
    dv_v : float
        Voltage grid step, V.
    window : int
        Savitzky–Golay window, points.
    polyorder : int
        Savitzky–Golay polynomial order.
    """

    table: pd.DataFrame
    dv_v: float
    window: int
    polyorder: int

    def to_frame(self) -> pd.DataFrame:
        """The dQ/dV table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """Settings (not the table)."""
        return {"dv_v": self.dv_v, "window": self.window, "polyorder": self.polyorder}


def dqdv(
    profiles: VoltageProfiles,
    *,
    dv_v: float = 0.005,
    window: int = 11,
    polyorder: int = 3,
    capacity: Literal["specific", "absolute"] = "specific",
) -> DQDV:
    """Differential capacity dQ/dV of every half-cycle in ``profiles``.

    Parameters
    ----------
    profiles : VoltageProfiles
        From :func:`voltage_profiles` (without rest points).
    dv_v : float
        Voltage grid step, V (default 5 mV).
    window, polyorder : int
        Savitzky–Golay window (odd, points) and order; the derivative is taken by the filter.
    capacity : {"specific", "absolute"}
        Use mAh/g (needs a sulfur mass) or mAh.

    Returns
    -------
    DQDV

    Examples
    --------
    A linear profile Q = 100 (2.5 − V) has dQ/dV = 100 everywhere:

    >>> import pandas as pd, numpy as np
    >>> v = np.linspace(2.5, 1.5, 201)
    >>> t = pd.DataFrame({"Cycle": 1, "Half cycle": 1, "Direction": "discharge",
    ...                   "Capacity [mAh]": 100 * (2.5 - v), "Voltage [V]": v})
    >>> d = dqdv(VoltageProfiles(t, None), capacity="absolute").table
    >>> bool(np.allclose(d["dQ/dV [mAh/V]"], 100.0))
    True
    """
    if window % 2 == 0 or window <= polyorder:
        raise SulfurscopeError(
            f"window must be odd and larger than polyorder, got window={window}, polyorder={polyorder}"
        )
    t = profiles.table
    if capacity == "specific":
        if "Specific capacity [mAh/g]" not in t.columns:
            raise SulfurscopeError(
                "specific dQ/dV needs profiles built with sulfur_mass_mg (or use capacity='absolute')"
            )
        qcol, out_col = "Specific capacity [mAh/g]", "dQ/dV [mAh/g/V]"
    else:
        qcol, out_col = "Capacity [mAh]", "dQ/dV [mAh/V]"
    parts = []
    for (cyc, half, direction), g in t.groupby(
        ["Cycle", "Half cycle", "Direction"], sort=True, observed=True
    ):
        v = g["Voltage [V]"].to_numpy(dtype=float)
        q = g[qcol].to_numpy(dtype=float)
        if len(v) < window or np.ptp(v) < dv_v * window:
            continue
        order = np.argsort(v, kind="stable")
        v_s, q_s = v[order], q[order]
        # Q falls with V on discharge, rises on charge; make it a monotone function of V
        if direction == "discharge":
            q_s = np.minimum.accumulate(q_s)
        else:
            q_s = np.maximum.accumulate(q_s)
        grid = np.arange(v_s[0], v_s[-1], dv_v)
        if len(grid) < window:
            continue
        v_u, idx = np.unique(v_s, return_index=True)
        q_u = q_s[idx]
        q_g = np.interp(grid, v_u, q_u)
        from scipy.signal import savgol_filter  # imported on use: scipy.signal costs ~1 s

        d = savgol_filter(q_g, window, polyorder, deriv=1, delta=dv_v)
        parts.append(
            pd.DataFrame(
                {
                    "Cycle": cyc,
                    "Half cycle": half,
                    "Direction": direction,
                    "Voltage [V]": grid,
                    out_col: np.abs(d),
                }
            )
        )
    if not parts:
        raise SulfurscopeError(
            "no half-cycle spans enough voltage for dQ/dV "
            f"(need at least window × dv = {window * dv_v:.3f} V)"
        )
    return DQDV(
        table=pd.concat(parts, ignore_index=True), dv_v=dv_v, window=window, polyorder=polyorder
    )
