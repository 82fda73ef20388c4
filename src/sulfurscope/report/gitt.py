"""GITT figures: voltage vs capacity with the relaxation-voltage curve (Fig 2a–f), τ vs capacity per
half-cycle (Fig 2g–i) and normalised relaxation curves (Fig S4).

Each function takes results of :mod:`sulfurscope.cycling.gitt` and returns a
:class:`matplotlib.figure.Figure` (no pyplot state, never shown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sulfurscope.cycling.gitt import GittSteps, RelaxationCurves, RelaxationTimes
from sulfurscope.errors import SulfurscopeError
from sulfurscope.report._style import cell_colours, new_figure
from sulfurscope.units import CHARGE, VOLTAGE

__all__ = ["plot_gitt_voltage", "plot_relaxation_curves", "plot_relaxation_times"]

_DEFAULT_HALVES = ("first discharge", "first charge", "second discharge")
_INV_E = float(np.exp(-1.0))


def _halves(labels: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(labels))
    if wanted is None:
        chosen = [h for h in _DEFAULT_HALVES if h in present] or present[:3]
    else:
        chosen = list(wanted)
    return chosen


def plot_gitt_voltage(
    data: pd.DataFrame,
    steps: GittSteps,
    *,
    half_cycles: Sequence[str] | None = None,
    label: str = "",
) -> Figure:
    """Voltage vs specific capacity for one cell, one panel per half-cycle (Fig 2a–f style).

    The measured trace (pulses and rests, rests vertical at constant capacity) in grey-blue and the
    relaxation-voltage curve — the quasi-open-circuit voltages at the rest ends — in red.

    Raises
    ------
    SulfurscopeError
        When ``steps`` has no sulfur mass (specific capacity unknown) or no half-cycle is found.
    """
    if steps.capacity_mah_g is None or steps.sulfur_mass_mg is None:
        raise SulfurscopeError(
            "plot_gitt_voltage needs specific capacity: call gitt_steps with sulfur_mass_mg"
        )
    chosen = _halves(list(steps.half_cycle_label), half_cycles)
    chosen = [h for h in chosen if h in set(steps.half_cycle_label)]
    if not chosen:
        raise SulfurscopeError(
            f"none of the half-cycles {half_cycles} is in the run "
            f"(found {sorted(set(steps.half_cycle_label))})"
        )
    v = data[VOLTAGE].to_numpy(dtype=float)
    q = data[CHARGE].to_numpy(dtype=float)
    fig, axes = new_figure(width_in=3.2 * len(chosen), height_in=3.4, ncols=len(chosen))
    for a, half in zip(axes[0], chosen, strict=True):
        sel = np.flatnonzero(steps.half_cycle_label == half)
        first, last = int(sel[0]), int(sel[-1])
        r0 = int(steps.pulse_start_row[first])
        r1 = int(max(steps.rest_stop_row[last], steps.pulse_stop_row[last]))
        q0 = q[r0 - 1] if r0 > 0 else q[r0]
        cap = np.abs(q[r0:r1] - q0) / steps.sulfur_mass_mg * 1000.0
        a.plot(cap, v[r0:r1], color="#3b6ea8", lw=0.9, label="GITT")
        rest = steps.has_rest[sel]
        a.plot(
            steps.capacity_mah_g[sel][rest],
            steps.qocv_v[sel][rest],
            "o-",
            color="#d62728",
            ms=3,
            lw=1.2,
            label="relaxation voltage",
        )
        a.set_title(f"{label} {half}".strip(), fontsize=9)
        a.set_xlabel("Specific capacity (mAh/g$_S$)")
    axes[0, 0].set_ylabel("Voltage (V vs Li/Li$^+$)")
    axes[0, 0].legend(fontsize=7, frameon=False)
    return fig


def plot_relaxation_times(
    times: Mapping[str, RelaxationTimes],
    *,
    half_cycles: Sequence[str] | None = None,
) -> Figure:
    """τ vs specific capacity, one panel per half-cycle and one marker/colour per cell (Fig 2g–i).

    Error bars span ``tau_low_s`` … ``tau_high_s``; open markers flag non-monotone or pulse-limited
    rests. The V0 convention is written in the figure.

    Raises
    ------
    SulfurscopeError
        When no cell is given or a result has no specific capacity (no sulfur mass).
    """
    if not times:
        raise SulfurscopeError("plot_relaxation_times needs at least one cell")
    for name, r in times.items():
        if r.capacity_mah_g is None:
            raise SulfurscopeError(
                f"{name}: relaxation times have no specific capacity; call gitt_steps with "
                "sulfur_mass_mg"
            )
    labels = [h for r in times.values() for h in r.half_cycle_label]
    chosen = _halves(labels, half_cycles)
    fig, axes = new_figure(width_in=3.2 * len(chosen), height_in=3.2, ncols=len(chosen))
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    conventions = sorted({r.v0_convention for r in times.values()})
    for k, ((name, r), colour) in enumerate(
        zip(times.items(), cell_colours(len(times)), strict=True)
    ):
        for a, half in zip(axes[0], chosen, strict=True):
            sel = (r.half_cycle_label == half) & r.reached
            if not sel.any():
                continue
            x = r.capacity_mah_g[sel]  # type: ignore[index]
            y = r.tau_s[sel]
            err = np.vstack([y - r.tau_low_s[sel], r.tau_high_s[sel] - y])
            err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
            flagged = r.non_monotone[sel] | r.pulse_limited[sel]
            a.errorbar(x, y, yerr=err, fmt="none", ecolor=colour, elinewidth=0.8, alpha=0.7)
            m = markers[k % len(markers)]
            a.plot(x[~flagged], y[~flagged], m, color=colour, ms=5, label=name, ls="none")
            if flagged.any():
                a.plot(x[flagged], y[flagged], m, mfc="none", color=colour, ms=5, ls="none")
    for a, half in zip(axes[0], chosen, strict=True):
        a.set_title(half, fontsize=9)
        a.set_xlabel("Specific capacity (mAh/g$_S$)")
    axes[0, 0].set_ylabel("τ (s)")
    axes[0, 0].legend(fontsize=7, frameon=False)
    fig.suptitle(
        f"V0 = {', '.join(conventions)}; open markers: non-monotone or τ ≥ 1.2 t_p", fontsize=8
    )
    return fig


def plot_relaxation_curves(
    curves: Mapping[str, RelaxationCurves],
    *,
    half_cycles: Sequence[str] | None = None,
    log_time: bool = True,
) -> Figure:
    """Normalised relaxation voltage vs rest time (Fig S4 style), one panel per half-cycle.

    The paper's normalised voltage rises 0 → 1 during discharge rests and falls 1 → 0 during charge
    rests; the dashed lines mark 1 − 1/e and 1/e where τ is read. One colour per cell, later rests
    lighter.
    """
    if not curves:
        raise SulfurscopeError("plot_relaxation_curves needs at least one cell")
    labels = [h for c in curves.values() for h in c.curve_half_cycle_label]
    chosen = _halves(labels, half_cycles)
    fig, axes = new_figure(width_in=3.2 * len(chosen), height_in=3.2, ncols=len(chosen))
    for (name, c), colour in zip(curves.items(), cell_colours(len(curves)), strict=True):
        for a, half in zip(axes[0], chosen, strict=True):
            steps = c.curve_step[c.curve_half_cycle_label == half]
            for j, n in enumerate(steps):
                m = c.step == n
                tt, yy = c.time_s[m], c.normalised_voltage[m]
                if log_time:
                    keep = tt > 0
                    tt, yy = tt[keep], yy[keep]
                alpha = 1.0 - 0.6 * j / max(len(steps), 1)
                a.plot(tt, yy, color=colour, alpha=alpha, lw=1.0, label=name if j == 0 else None)
    for a, half in zip(axes[0], chosen, strict=True):
        a.axhline(1 - _INV_E, ls="--", lw=0.7, color="0.4")
        a.axhline(_INV_E, ls=":", lw=0.7, color="0.4")
        if log_time:
            a.set_xscale("log")
        a.set_title(half, fontsize=9)
        a.set_xlabel("Rest time (s)")
    axes[0, 0].set_ylabel("Normalised voltage")
    axes[0, 0].legend(fontsize=7, frameon=False)
    return fig
