"""GITT (Figure 2, Figure S4): pulses, rests, overpotentials, relaxation times τ, τ-vs-size scaling.

:func:`analyse_gitt` is the one implementation behind ``sulfurscope gitt`` and the pipeline's GITT
tasks; :func:`analyse_gitt_scaling` fits τ ∝ L^n across cells of different particle sizes for both
(the CLI with ``--particle-size-um``, the pipeline as a study-level step).

Tables
------
``gitt_steps``       one row per pulse with its rest voltages and, where it has a rest, τ
``gitt_trace``       the voltage trace (decimated) against time and charge
``gitt_relaxation``  the normalised relaxation curves (Fig S4), log-spaced points per rest
``gitt_scaling``     τ ∝ L^n per half-cycle (exponent, its 95 % interval, pulse-limited points)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._cell import CellOptions, cell_of
from sulfurscope.analysis._common import decimate, finish, read_cycler_files
from sulfurscope.analysis._options import Options, choice, integer
from sulfurscope.analysis._result import AnalysisResult, Flag

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SCALING_TABLES",
    "TABLES",
    "GittOptions",
    "GittScalingOptions",
    "analyse_gitt",
    "analyse_gitt_scaling",
    "run_files",
]

TABLES = ("gitt_steps", "gitt_trace", "gitt_relaxation")
SCALING_TABLES = ("gitt_scaling",)
V0_CHOICES = ("first_rest_point", "last_under_current")
VINF_CHOICES = ("last_sample", "fitted")


@dataclass(frozen=True, slots=True)
class GittOptions(CellOptions):
    """Options of :func:`analyse_gitt` (the cell's mass options plus the τ read-out)."""

    v0: str = choice(
        "first_rest_point",
        V0_CHOICES,
        "Relaxation origin: first_rest_point (IR step excluded) or last_under_current (included).",
    )
    v_inf: str = choice(
        "last_sample",
        VINF_CHOICES,
        "V∞ of each rest: its last sample, or a fitted asymptote.",
    )
    trace_points: int = integer(
        3000, "Points kept of the stored voltage trace.", minimum=10, maximum=1_000_000
    )
    curve_points: int = integer(
        40, "Log-spaced points kept per rest of the stored relaxation curves.", minimum=5,
        maximum=100_000,
    )


@dataclass(frozen=True, slots=True)
class GittScalingOptions(Options):
    """Options of :func:`analyse_gitt_scaling`."""

    v_inf: str = choice(
        "last_sample",
        VINF_CHOICES,
        "V∞ method the τ were read with (sets the pulse-limited threshold of a finite rest).",
    )


def _relaxation_table(frame: Any, steps: Any, options: GittOptions) -> pd.DataFrame:
    """Normalised relaxation curves (Fig S4), thinned to ``curve_points`` log-spaced points per rest."""
    import numpy as np
    import pandas as pd

    from sulfurscope.cycling.gitt import relaxation_curves

    c = relaxation_curves(frame, steps, v0=options.v0, v_inf=options.v_inf)  # type: ignore[arg-type]
    label = dict(zip(c.curve_step.tolist(), c.curve_half_cycle_label.tolist(), strict=True))
    parts = []
    for n in c.curve_step:
        m = np.flatnonzero(c.step == n)
        if m.size == 0:
            continue
        t = c.time_s[m]
        pos = np.flatnonzero(t > 0)
        if pos.size > options.curve_points:
            grid = np.geomspace(t[pos[0]], t[pos[-1]], options.curve_points)
            keep = np.unique(pos[np.searchsorted(t[pos], grid).clip(0, pos.size - 1)])
        else:
            keep = pos
        parts.append(
            pd.DataFrame(
                {
                    "Step": int(n),
                    "Half cycle label": label[int(n)],
                    "Rest time [s]": t[keep],
                    "Normalised voltage": c.normalised_voltage[m][keep],
                    "Fraction relaxed": c.fraction[m][keep],
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _step_table(steps: Any, times: Any, mass: float | None) -> pd.DataFrame:
    """Every pulse with its rest voltages and, where it has a rest, its τ."""
    tau = times.to_frame().drop(
        columns=["Half cycle", "Half cycle label", "Direction", "Pulse duration [s]"]
        + (["Specific capacity [mAh/g]"] if times.capacity_mah_g is not None else []),
        errors="ignore",
    )
    table = steps.to_frame().merge(tau, on="Step", how="left")
    table["V0 convention"] = times.v0_convention
    table["Vinf method"] = times.v_inf_method
    table["Sulfur mass [mg]"] = mass
    return table


def _step_flags(table: pd.DataFrame) -> list[Flag]:
    flags = []
    limited = table.get("Pulse limited")
    if limited is not None and bool(limited.eq(True).any()):
        n = int(limited.eq(True).sum())
        flags.append(
            Flag(
                "pulse_limited",
                f"{n} rest(s) read a τ set by the pulse length (τ ≥ the saturated reading): "
                "such τ bound the transport time from below only",
                "warning",
            )
        )
    if "Reached" in table.columns:
        has = table["Has rest"].astype(bool)
        missed = has & ~table["Reached"].eq(True)
        if missed.any():
            flags.append(
                Flag(
                    "tau_not_reached",
                    f"{int(missed.sum())} rest(s) never reached 63.2 % of their relaxation: no τ",
                    "failed",
                )
            )
    return flags


def analyse_gitt(
    frame: pd.DataFrame,
    options: GittOptions | None = None,
    *,
    tga: pd.DataFrame | None = None,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """Pulses, rests, overpotentials and relaxation times of one GITT run.

    Parameters
    ----------
    frame : DataFrame
        Canonical cycler table of the run.
    options : GittOptions
        Sulfur mass route, V0 convention and V∞ method (reported in every row).
    tga : DataFrame, optional
        TGA curve of the composite for the composite mass route.
    sources : tuple of Source
        The input files (provenance).

    Returns
    -------
    AnalysisResult
        Tables ``gitt_steps``, ``gitt_trace``, ``gitt_relaxation``; flags for pulse-limited τ and
        rests that never relaxed far enough.

    Raises
    ------
    SulfurscopeError
        When the run holds no current pulse.
    """
    import numpy as np

    from sulfurscope.cycling.gitt import gitt_steps, relaxation_times
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.units import CHARGE, TIME, VOLTAGE

    options = options or GittOptions()
    cell = cell_of(options, tga)
    steps = gitt_steps(frame, sulfur_mass_mg=cell.sulfur_mass_mg)
    if len(steps.step) == 0:
        raise SulfurscopeError("no current pulse found (is this a GITT run?)")
    times = relaxation_times(frame, steps, v0=options.v0, v_inf=options.v_inf)  # type: ignore[arg-type]
    table = _step_table(steps, times, cell.sulfur_mass_mg)
    trace = frame[[TIME, VOLTAGE, CHARGE]].copy()
    if cell.sulfur_mass_mg:
        trace["Charge [mAh/g]"] = trace[CHARGE] / (cell.sulfur_mass_mg * 1e-3)
    tables = {"gitt_steps": table, "gitt_trace": decimate(trace, options.trace_points)}
    if np.any(steps.has_rest):
        tables["gitt_relaxation"] = _relaxation_table(frame, steps, options)
    summary = {
        "pulses": len(steps.step),
        "rests": int(steps.has_rest.sum()),
        "v0_convention": options.v0,
    }
    flags = _step_flags(table)
    if cell.sulfur_mass_mg is None:
        flags.append(
            Flag("no_sulfur_mass", "no sulfur mass: no specific capacity or SOC", "note")
        )
    return finish("gitt", __name__, tables, flags, options, sources, summary=summary)


def run_files(files: Mapping[str, Path], options: GittOptions) -> AnalysisResult:
    """Read a cell's GITT files (``file``, ``file_2``, …; optional ``tga``) and analyse them."""
    frame, _fmt, sources = read_cycler_files(files)
    tga = None
    if "tga" in files:
        from sulfurscope.analysis._common import read_tga_curve

        tga, tga_source = read_tga_curve(files["tga"])
        sources = (*sources, tga_source)
    return analyse_gitt(frame, options, tga=tga, sources=sources)


def _scaling_row(half: str, g: pd.DataFrame, v_inf: str) -> dict[str, Any]:
    from sulfurscope.cycling.gitt import transport_scaling

    fit = transport_scaling(
        g["Size [um]"].to_numpy(float),
        g["Tau [s]"].to_numpy(float),
        tau_low_s=g["Tau low [s]"].to_numpy(float),
        tau_high_s=g["Tau high [s]"].to_numpy(float),
        pulse_s=g["Pulse duration [s]"].to_numpy(float),
        rest_s=g["Rest duration [s]"].to_numpy(float),
        v_inf=v_inf,  # type: ignore[arg-type]
    )
    return {
        "Half cycle label": half,
        "Exponent n": fit.exponent,
        "Exponent stderr": fit.exponent_stderr,
        "Exponent CI95 low": fit.exponent_ci95[0],
        "Exponent CI95 high": fit.exponent_ci95[1],
        "Points": fit.n_points,
        "Sizes": fit.n_sizes,
        "Pulse limited points": int(fit.pulse_limited.sum()),
        "Note": fit.note,
    }


def analyse_gitt_scaling(
    steps: pd.DataFrame,
    sizes_um: Mapping[str, float],
    options: GittScalingOptions | None = None,
) -> AnalysisResult:
    """τ ∝ L^n across cells of different particle size, per half-cycle (Fig 2's argument).

    Parameters
    ----------
    steps : DataFrame
        ``gitt_steps`` of several cells, concatenated with a ``Task`` column (the cell names).
    sizes_um : mapping of str to float
        Particle size (diameter, µm) of each task.
    options : GittScalingOptions

    Returns
    -------
    AnalysisResult
        Table ``gitt_scaling`` (one row per half-cycle with at least two sizes); a flag when points
        are pulse-limited (the exponent is then no evidence for L² scaling) or a fit fails.
    """
    import numpy as np
    import pandas as pd

    from sulfurscope.errors import SulfurscopeError

    options = options or GittScalingOptions()
    flags: list[Flag] = []
    rows = []
    if not steps.empty and "Tau [s]" in steps.columns:
        s = steps.assign(**{"Size [um]": steps["Task"].map(dict(sizes_um)).astype(float)})
        ok = np.isfinite(s["Size [um]"]) & (s["Tau [s]"] > 0) & (s["Tau low [s]"] > 0)
        s = s[ok & s["Reached"].eq(True)]
        for half, g in s.groupby("Half cycle label", sort=False):
            if g["Size [um]"].nunique() < 2:
                continue
            try:
                rows.append(_scaling_row(str(half), g, options.v_inf))
            except SulfurscopeError as exc:
                flags.append(Flag("scaling_failed", str(exc), "failed", str(half)))
    table = pd.DataFrame(rows)
    for r in rows:
        if r["Pulse limited points"]:
            flags.append(Flag("pulse_limited", r["Note"], "warning", r["Half cycle label"]))
    return finish(
        "gitt_scaling",
        __name__,
        {"gitt_scaling": table},
        flags,
        options,
        summary={"half_cycles": len(rows)},
    )
