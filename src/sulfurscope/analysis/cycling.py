"""Cycling (Figure 1d–f): cycle summary, rate blocks, retention, asymmetric rates, profiles, dQ/dV.

:func:`analyse_cycling` is the one implementation behind ``sulfurscope cycling`` and the study
pipeline's cycling tasks. It calls the core (:mod:`sulfurscope.cycling`) once per quantity and returns
the tables below, with flags for what could not be computed and why.

Tables
------
``cycling_cycles``         one row per cycle (:func:`sulfurscope.cycling.cycle_summary`) with the cell's
                           ``Protocol``, ``Sulfur mass [mg]``, ``Mass source`` and the file ``Format``
``cycling_rate_blocks``    C-rate blocks (:func:`~sulfurscope.cycling.rate_capability`)
``cycling_retention``      Q_n/Q_ref and Q_n/Q_n−1 per cycle (:func:`~sulfurscope.cycling.retention`)
``cycling_retention_fit``  the early-fade fit and the plateau cycle (one row)
``cycling_asymmetric``     each discharge with the charge before it (asymmetric-rate protocol)
``cycling_profiles``       voltage vs capacity of the first, second and last cycles (decimated)
``cycling_dqdv``           dQ/dV of the same cycles (:func:`~sulfurscope.cycling.dqdv`)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._cell import CellOptions, cell_of, mass_uncertainty_of
from sulfurscope.analysis._common import decimate, finish, read_cycler_files
from sulfurscope.analysis._options import choice, integer, number
from sulfurscope.analysis._result import AnalysisResult, Flag

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLES", "CyclingOptions", "analyse_cycling", "run_files"]

TABLES = (
    "cycling_cycles",
    "cycling_rate_blocks",
    "cycling_retention",
    "cycling_retention_fit",
    "cycling_asymmetric",
    "cycling_profiles",
    "cycling_dqdv",
)
PROTOCOLS = ("auto", "rate", "cycling", "asymmetric", "gitt")


@dataclass(frozen=True, slots=True)
class CyclingOptions(CellOptions):
    """Options of :func:`analyse_cycling` (the cell's mass options plus the ones below)."""

    protocol: str = choice(
        "auto",
        PROTOCOLS,
        "What the cell ran: rate (C-rate blocks), cycling (long-term retention), asymmetric "
        "(charge and discharge at different rates) or auto (every table the data allow).",
    )
    first: str = choice(
        "auto",
        ("auto", "discharge", "charge"),
        "Which half-cycle opens a cycle (and the denominator of the coulombic efficiency); auto: "
        "the cell's own first half-cycle.",
    )
    rate_tolerance: float = number(
        0.1,
        "Consecutive cycles form one C-rate block while |ln(C_n/C_block)| stays below this.",
        positive=True,
        maximum=2.0,
    )
    retention_reference_cycle: int = integer(
        2, "Cycle that retention is normalised to (2: the first after formation).", minimum=1
    )
    plateau_threshold_pct: float = number(
        0.5,
        "Retention plateau: the rolling fade rate (slope over plateau_window_cycles cycles ÷ their "
        "mean) stays below this for plateau_window_cycles consecutive windows.",
        unit="%/cycle",
        positive=True,
        maximum=100.0,
    )
    plateau_window_cycles: int = integer(
        5, "Cycles per window of the rolling fade rate (and windows in a row).", minimum=2,
        maximum=1000,
    )
    profile_points: int = integer(
        400, "Points kept per half-cycle of the stored voltage profiles.", minimum=10,
        maximum=100_000,
    )
    dqdv_step_v: float = number(
        0.005, "Voltage grid step of dQ/dV.", unit="V", minimum=1e-5, maximum=1.0
    )
    dqdv_window_points: int = integer(
        11, "Savitzky–Golay window of dQ/dV (odd, points).", minimum=3, maximum=10_001
    )


def _summary(frame: pd.DataFrame, options: CyclingOptions, cell: Any) -> Any:
    from sulfurscope.cycling import cycle_summary

    return cycle_summary(
        frame,
        sulfur_mass_mg=cell.sulfur_mass_mg,
        theoretical_capacity_mah_g=cell.theoretical_capacity_mah_g,
        first=options.first,  # type: ignore[arg-type]
    )


def _segmentation_flags(summary: Any, options: CyclingOptions) -> list[Flag]:
    """What the segmentation decided that a reader must know: the convention, merged glitches, a
    cycle count that differs from the cycler's own index."""
    flags = []
    how = "the cell's own first half-cycle" if options.first == "auto" else "set by the option"
    ce = "Q_ch/Q_dis" if summary.first == "discharge" else "Q_dis/Q_ch"
    flags.append(Flag("cycle_convention", f"cycles open with a {summary.first} ({how}); "
                      f"coulombic efficiency = {ce}", "note"))
    merged = summary.merged
    if len(merged):
        flags.append(Flag(
            "glitches_merged",
            f"{len(merged)} short runs of the other sign (impedance excitations or pulses: largest "
            f"{merged['Charge [mAh]'].max():.3g} mAh, voltage swing ≤ "
            f"{merged['Voltage swing [V]'].max():.3g} V) were merged into their neighbours; their "
            "charge is in the half-cycle table's 'Opposite charge [mAh]'",
            "note",
        ))
    n_file, n = summary.file_cycles, len(summary.table)
    if n_file is not None and abs(n_file - n) > 1:
        flags.append(Flag(
            "cycle_count_differs",
            f"{n} cycles found from the current; the cycler's own cycle index has {n_file} "
            "(a different cycle definition or steps the current does not show)",
            "warning",
        ))
    return flags


def _rate_tables(summary: Any, options: CyclingOptions, flags: list[Flag]) -> dict[str, Any]:
    from sulfurscope.cycling import asymmetric_rates, rate_capability
    from sulfurscope.errors import SulfurscopeError

    out: dict[str, Any] = {}
    if summary.sulfur_mass_mg is None:
        flags.append(Flag("no_sulfur_mass", "no sulfur mass: no C-rates or rate blocks", "note"))
        return out
    if options.protocol in ("auto", "rate"):
        try:
            out["cycling_rate_blocks"] = rate_capability(
                summary, tolerance=options.rate_tolerance
            ).table.copy()
        except SulfurscopeError as exc:
            flags.append(Flag("rate_blocks_failed", str(exc), "failed"))
    if options.protocol in ("auto", "asymmetric"):
        out["cycling_asymmetric"] = asymmetric_rates(
            summary, tolerance=options.rate_tolerance
        ).table.copy()
    return out


def _retention_tables(summary: Any, options: CyclingOptions, flags: list[Flag]) -> dict[str, Any]:
    import pandas as pd

    from sulfurscope.cycling import retention
    from sulfurscope.errors import SulfurscopeError

    try:
        r = retention(
            summary,
            reference_cycle=options.retention_reference_cycle,
            threshold_pct=options.plateau_threshold_pct,
            window=options.plateau_window_cycles,
        )
    except SulfurscopeError as exc:
        flags.append(Flag("no_retention", str(exc), "note"))
        return {}
    if not r.fit_ok:
        flags.append(Flag("retention_fit_failed", r.fit_message, "failed", "early-fade fit"))
    fit = {
        "Reference cycle": r.reference_cycle,
        "Capacity column": r.capacity_column,
        "Fit ok": r.fit_ok,
        "Fit message": r.fit_message,
        "Q inf [mAh/g]": r.q_inf,
        "Q ref [mAh/g]": r.q_ref,
        "N c": r.n_c,
        "N c sd": r.n_c_sd,
        "Plateau cycle fit": r.plateau_cycle_fit,
        "Plateau cycle": float("nan") if r.plateau_cycle is None else r.plateau_cycle,
        "Plateau criterion": r.plateau_criterion,
    }
    return {"cycling_retention": r.table.copy(), "cycling_retention_fit": pd.DataFrame([fit])}


def _profile_tables(
    frame: pd.DataFrame, options: CyclingOptions, cell: Any, last: int, flags: list[Flag]
) -> dict[str, Any]:
    import pandas as pd

    from sulfurscope.cycling import dqdv, voltage_profiles
    from sulfurscope.errors import SulfurscopeError

    prof = voltage_profiles(
        frame,
        sulfur_mass_mg=cell.sulfur_mass_mg,
        cycles=sorted({1, min(2, last), last}),
        first=options.first,  # type: ignore[arg-type]
    )
    parts = [
        decimate(g, options.profile_points)
        for _, g in prof.table.groupby(["Cycle", "Direction"], sort=False, observed=True)
    ]
    out: dict[str, Any] = {
        "cycling_profiles": pd.concat(parts, ignore_index=True) if parts else prof.table
    }
    try:
        out["cycling_dqdv"] = dqdv(
            prof,
            dv_v=options.dqdv_step_v,
            window=options.dqdv_window_points,
            capacity="specific" if cell.sulfur_mass_mg else "absolute",
        ).table
    except SulfurscopeError as exc:
        flags.append(Flag("no_dqdv", str(exc), "note"))
    return out


def _constant_rate(cycles: pd.DataFrame) -> bool:
    """Whether the discharges after the first all ran at one current (within a factor 1.5)."""
    import numpy as np

    i = np.abs(cycles["Discharge current [mA]"].to_numpy(float)[1:])
    i = i[np.isfinite(i) & (i > 0)]
    return bool(i.size == 0 or i.max() <= 1.5 * i.min())


def _with_mass_uncertainty(cycles: pd.DataFrame, m: Any) -> None:
    """``Sulfur mass u [mg]`` and the specific capacities' standard uncertainties Q·u_m/m (the
    charge itself is known far better than the mass)."""
    rel = float("nan") if m is None else m.u_rel
    cycles["Sulfur mass u [mg]"] = float("nan") if m is None else m.u_mg
    for q in ("Discharge", "Charge"):
        col = f"{q} capacity [mAh/g]"
        if col in cycles.columns:
            cycles[f"{q} capacity u [mAh/g]"] = cycles[col].abs() * rel


def analyse_cycling(
    frame: pd.DataFrame,
    options: CyclingOptions | None = None,
    *,
    tga: pd.DataFrame | None = None,
    file_format: str = "",
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """Every cycling table of one cell (module docstring) from its canonical cycler table.

    Parameters
    ----------
    frame : DataFrame
        Canonical cycler table (:func:`sulfurscope.io.read_cycler`; several files of one cell joined
        by :func:`sulfurscope.io.join_cycler_frames`).
    options : CyclingOptions
        Sulfur mass route and analysis settings.
    tga : DataFrame, optional
        TGA curve of the composite (``Temperature [°C]``, ``Mass [%]``) when the mass is composite ×
        a fraction not given in the options.
    file_format : str
        Reader name, stored in the ``Format`` column.
    sources : tuple of Source
        The input files (provenance).

    Returns
    -------
    AnalysisResult
        Tables ``cycling_*`` and flags (no sulfur mass, failed fits, cycles too few for retention).
    """
    options = options or CyclingOptions()
    flags: list[Flag] = []
    cell = cell_of(options, tga)
    summary = _summary(frame, options, cell)
    flags += _segmentation_flags(summary, options)
    cycles = summary.table.copy()
    cycles.insert(0, "Protocol", options.protocol)
    cycles["Cycle convention"] = f"{summary.first}-first"
    cycles["Sulfur mass [mg]"] = cell.sulfur_mass_mg
    _with_mass_uncertainty(cycles, mass_uncertainty_of(options, tga))
    cycles["Mass source"] = cell.mass_source
    cycles["Format"] = file_format
    tables: dict[str, Any] = {"cycling_cycles": cycles}
    tables.update(_rate_tables(summary, options, flags))
    if options.protocol == "cycling" or (options.protocol == "auto" and _constant_rate(cycles)):
        # retention is a constant-rate measure: across C-rate blocks it would mix rate and fade
        tables.update(_retention_tables(summary, options, flags))
    last = int(cycles["Cycle"].max()) if len(cycles) else 1
    tables.update(_profile_tables(frame, options, cell, last, flags))
    summary_numbers = {"cycles": len(cycles), "sulfur_mass_mg": cell.sulfur_mass_mg}
    return finish("cycling", __name__, tables, flags, options, sources, summary=summary_numbers)


def run_files(files: Mapping[str, Path], options: CyclingOptions) -> AnalysisResult:
    """Read a cell's files (``file``, ``file_2``, … joined in order; optional ``tga``) and analyse."""
    frame, fmt, sources = read_cycler_files(files)
    tga = None
    if "tga" in files:
        from sulfurscope.analysis._common import read_tga_curve

        tga, tga_source = read_tga_curve(files["tga"])
        sources = (*sources, tga_source)
    return analyse_cycling(frame, options, tga=tga, file_format=fmt, sources=sources)
