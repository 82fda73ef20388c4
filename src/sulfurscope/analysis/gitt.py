"""GITT (Figure 2, Figure S4): pulses, rests, overpotentials, relaxation times τ, τ-vs-size scaling.

:func:`analyse_gitt` is the one implementation behind ``sulfurscope gitt`` and the pipeline's GITT
tasks; :func:`analyse_gitt_scaling` fits τ ∝ L^n across cells of different particle sizes for both
(the CLI with ``--particle-size-um``, the pipeline as a study-level step).

Tables
------
``gitt_steps``       one row per pulse with its rest voltages and, where it has a rest, τ
``gitt_trace``       the voltage trace (decimated) against time and charge
``gitt_relaxation``  the normalised relaxation curves (Fig S4), log-spaced points per rest
``gitt_scaling``     τ ∝ L^n per half-cycle (exponent, its 95 % interval, pulse-limited points) and
                     one D per half-cycle fitted across sizes with its 95 % interval
``gitt_diffusivity`` D of every rest of a cell with a known particle size, with its read-out range,
                     sensitivity and rest adequacy (MODEL.md, "GITT interpretation")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._cell import CellOptions, cell_of, mass_uncertainty_of
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
SCALING_TABLES = ("gitt_scaling", "gitt_diffusivity")
V0_CHOICES = ("first_rest_point", "last_under_current")
#: A pulse after a rest with adequacy below this starts from a visibly unrelaxed profile.
UNRELAXED_START = 0.5
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
        coarse = table.get("Tau coarse")
        if coarse is not None and bool((has & coarse.eq(True)).any()):
            flags.append(
                Flag(
                    "tau_coarse",
                    f"{int((has & coarse.eq(True)).sum())} rest(s) cross 1 − 1/e between samples more "
                    "than 1.5× apart in time (or before the first sample): τ is not resolved "
                    "(its range spans those samples; record the rest's start faster)",
                    "warning",
                )
            )
        if "Tau low [s]" in table.columns:
            vague = has & table["Reached"].eq(True) & ~(table["Tau low [s]"] > 0)
            if vague.any():
                flags.append(
                    Flag(
                        "tau_undetermined",
                        f"{int(vague.sum())} rest(s) relax within the voltage noise: the 95 % range "
                        "of τ reaches 0 s, so τ is not determined (no D from them)",
                        "warning",
                    )
                )
        flags += _drift_flags(table, has)
        if missed.any():
            flags.append(
                Flag(
                    "tau_not_reached",
                    f"{int(missed.sum())} rest(s) never reached 63.2 % of their relaxation: no τ",
                    "failed",
                )
            )
    return flags


def _drift_flags(table: pd.DataFrame, has: pd.Series) -> list[Flag]:
    """A note when rests end while the voltage still drifts (``Settled`` False: more than 5 % of
    the relaxation still to come, judged from the end slope)."""
    settled = table.get("Settled")
    if settled is None or "Unrelaxed fraction" not in table.columns:
        return []
    drift = has & table["Reached"].eq(True) & settled.eq(False)
    if not drift.any():
        return []
    top = float(table.loc[drift, "Unrelaxed fraction"].astype(float).max())
    most = f"up to {top:.0%}" if top == top and top != float("inf") else "an unknown share"
    fitted = "Vinf method" in table.columns and bool(table["Vinf method"].eq("fitted").any())
    tau = ("τ is read against the fitted asymptote V∞, an extrapolation past the rest's end" if fitted
           else "τ is read with V∞ = the last sample (the study's convention, which the D map "
           "models; a longer rest or --v-inf fitted reads the full relaxation)")
    return [Flag(
        "rest_not_settled",
        f"{int(drift.sum())} rest(s) end while the voltage still drifts ({most} of the "
        f"relaxation still to come, from the end slope): their QOCV and overpotential are not at "
        f"equilibrium, and {tau}",
        "note",
    )]


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
    m = mass_uncertainty_of(options, tga)
    table["Sulfur mass u [mg]"] = float("nan") if m is None else m.u_mg
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


def _pulse_and_origin(s: pd.DataFrame) -> tuple[Any, Any]:
    """The pulse length the sphere map needs (|charge|/|current| when it agrees within 10 % with
    the sampled duration, which misses up to one sample interval) and τ's origin after the pulse end
    (the first rest sample for V0 = first_rest_point, else the pulse end)."""
    import numpy as np

    sampled = s["Pulse duration [s]"].to_numpy(float)
    pulse = sampled
    if {"Pulse charge [mAh]", "Current [mA]"} <= set(s.columns):
        with np.errstate(divide="ignore", invalid="ignore"):
            from_charge = 3600.0 * np.abs(
                s["Pulse charge [mAh]"].to_numpy(float) / s["Current [mA]"].to_numpy(float)
            )
        good = np.isfinite(from_charge) & (np.abs(from_charge / sampled - 1.0) < 0.1)
        pulse = np.where(good, from_charge, sampled)
    origin = np.zeros(len(s))
    if {"Rest start [s]", "Pulse end [s]"} <= set(s.columns):
        gap = (s["Rest start [s]"] - s["Pulse end [s]"]).to_numpy(float)
        first = (
            s["V0 convention"].eq("first_rest_point").to_numpy()
            if "V0 convention" in s else np.ones(len(s), bool)
        )  # fmt: skip
        origin = np.where(first & np.isfinite(gap) & (gap > 0), gap, 0.0)
    return pulse, origin


def _polydisperse_fit(g: pd.DataFrame, dists: Mapping[str, Any], v_inf: str, pulse: Any,
                      origin: Any) -> Any:
    """One D across the rests of ``g`` through each cell's size-distribution map, or None when a
    cell has no measured distribution (``pulse``, ``origin``: :func:`_pulse_and_origin` of ``g``)."""
    import numpy as np

    from sulfurscope.cycling.gitt._polydisperse import fit_polydisperse_diffusivity
    from sulfurscope.cycling.gitt._transport import TAU_SIGMA_FLOOR, _log_sigma

    if not dists or not g["Task"].isin(list(dists)).all():
        return None
    rest = g["Rest duration [s]"].to_numpy(float)
    maps = [(float(pulse[j]), *dists[str(t)],
             float(origin[j] + rest[j]) if v_inf == "last_sample" and np.isfinite(rest[j]) else None,
             float(origin[j])) for j, t in enumerate(g["Task"])]
    tau = g["Tau [s]"].to_numpy(float)
    sig, _ = _log_sigma(tau, g["Tau low [s]"].to_numpy(float), g["Tau high [s]"].to_numpy(float),
                        np.ones(len(tau), bool))
    sig = np.maximum(np.nan_to_num(sig, nan=np.inf), TAU_SIGMA_FLOOR)  # as fit_sphere_diffusivity
    usable = g["D distribution [m2/s]"].to_numpy(float) * ~g["_limited"].to_numpy(bool)
    return fit_polydisperse_diffusivity(
        tau, sig, np.where(usable > 0, usable, np.nan),
        g["_sensitivity distribution"].to_numpy(float), maps,
    )


def _scaling_row(half: str, g: pd.DataFrame, v_inf: str,
                 dists: Mapping[str, Any] | None = None) -> dict[str, Any]:
    from sulfurscope.cycling.gitt import transport_scaling

    pulse, origin = _pulse_and_origin(g)
    fit = transport_scaling(
        g["Size [um]"].to_numpy(float),
        g["Tau [s]"].to_numpy(float),
        tau_low_s=g["Tau low [s]"].to_numpy(float),
        tau_high_s=g["Tau high [s]"].to_numpy(float),
        pulse_s=pulse,
        rest_s=g["Rest duration [s]"].to_numpy(float),
        v_inf=v_inf,  # type: ignore[arg-type]
        origin_s=origin,
    )
    poly = (_polydisperse_fit(g, dists or {}, v_inf, pulse, origin)
            if "D distribution [m2/s]" in g else None)
    d, ci, n_d = fit.diffusivity_m2_s, fit.diffusivity_ci95_m2_s, fit.diffusivity_points
    method = "tau_e = G(t_p D/R^2, t_rest/t_p) R^2/D, R = size/2, V_inf " + v_inf
    if poly is not None:
        d, ci, n_d = poly.diffusivity_m2_s, poly.ci95_m2_s, poly.n_points
        method = ("tau_e of each cell's SEM size distribution (volume-weighted spheres, "
                  "same rate per volume), V_inf " + v_inf)
    return {
        "Half cycle label": half,
        "Exponent n": fit.exponent,
        "Exponent stderr": fit.exponent_stderr,
        "Exponent CI95 low": fit.exponent_ci95[0],
        "Exponent CI95 high": fit.exponent_ci95[1],
        "Points": fit.n_points,
        "Sizes": fit.n_sizes,
        "Pulse limited points": int(fit.pulse_limited.sum()),
        "D [m2/s]": d,
        "D CI95 low [m2/s]": ci[0],
        "D CI95 high [m2/s]": ci[1],
        "D points": n_d,
        "D single size [m2/s]": fit.diffusivity_m2_s,
        "D method": method,
        "Note": fit.note,
    }


def _diffusivity_table(s: pd.DataFrame, v_inf: str) -> pd.DataFrame:
    """D of every rest with a τ, inverted alone through the sphere map as τ was read."""
    import pandas as pd

    from sulfurscope.cycling.gitt import sphere_diffusivity

    if s.empty:
        return pd.DataFrame()
    pulse, origin = _pulse_and_origin(s)
    d = sphere_diffusivity(
        s["Tau [s]"].to_numpy(float),
        radius_um=s["Size [um]"].to_numpy(float) / 2.0,
        pulse_s=pulse,
        rest_s=s["Rest duration [s]"].to_numpy(float),
        v_inf=v_inf,  # type: ignore[arg-type]
        tau_low_s=s["Tau low [s]"].to_numpy(float),
        tau_high_s=s["Tau high [s]"].to_numpy(float),
        origin_s=origin,
    )
    keep = [c for c in ("Task", "Step", "Half cycle label", "Direction") if c in s]
    # the cell's own names: a study-level table's Task/Sample are the step's, set by the store
    out = s[keep].reset_index(drop=True).rename(columns={"Task": "Cell"})
    out["Size [um]"] = s["Size [um]"].to_numpy(float)
    frame = d.to_frame().rename(columns={"Radius [um]": "Diffusion length [um]"})
    table = pd.concat([out, frame], axis=1).assign(**{"Vinf method": v_inf})
    coarse = s["Tau coarse"].eq(True).to_numpy() if "Tau coarse" in s else False
    table["Tau coarse"] = coarse
    table["D poorly determined"] = table["D poorly determined"].astype(bool) | table["Tau coarse"]
    if "Cell" in table and "Step" in table:  # adequacy of the rest before each pulse
        table = table.sort_values(["Cell", "Step"], kind="stable")
        table["Previous rest adequacy"] = table.groupby("Cell")["Rest adequacy"].shift(1)
        table = table.sort_index()
    return table


def _with_distribution(table: pd.DataFrame, s: pd.DataFrame, dists: Mapping[str, Any],
                       v_inf: str) -> pd.DataFrame:
    """The per-rest D table with D through each cell's size distribution where it has one
    (:mod:`sulfurscope.cycling.gitt._polydisperse`): ``D [m2/s]`` and its range become that D (the
    range from the τ range through the map's sensitivity), ``D single size [m2/s]`` keeps the
    mean-size reading and ``Size model`` says which one a row gives. Row i of ``table`` is row i
    of ``s``."""
    import numpy as np
    import pandas as pd

    from sulfurscope.cycling.gitt._polydisperse import polydisperse_diffusivity

    if "D [m2/s]" not in table:  # no rest to read
        cols = ["D [m2/s]", "D single size [m2/s]", "Size model", "D distribution [m2/s]",
                "_sensitivity distribution", "Pulse limited"]
        return pd.DataFrame({c: pd.Series(dtype=object if c == "Size model" else float)
                             for c in cols}, index=range(len(s)))
    table = table.assign(**{"D single size [m2/s]": table["D [m2/s]"], "Size model": "single size",
                            "D distribution [m2/s]": np.nan, "_sensitivity distribution": np.nan})
    if table.empty or not dists:
        return table
    pulse, origin = _pulse_and_origin(s)
    tasks = s["Task"].astype(str).to_numpy()
    rest = s["Rest duration [s]"].to_numpy(float)
    tau = s["Tau [s]"].to_numpy(float)
    mono = table["D single size [m2/s]"].to_numpy(float)
    for task in set(tasks) & set(dists):  # rests with a D (pulse-limited ones give only a bound)
        rows = np.flatnonzero((tasks == task) & np.isfinite(mono))
        diam, w = dists[task]
        d, sens = polydisperse_diffusivity(
            tau[rows], diameters_um=diam, weights=w, pulse_s=pulse[rows], rest_s=rest[rows],
            origin_s=origin[rows], v_inf=v_inf,  # type: ignore[arg-type]
            guess_m2_s=mono[rows],
        )
        table.loc[rows, "D distribution [m2/s]"] = d
        table.loc[rows, "_sensitivity distribution"] = sens
        table.loc[tasks == task, "Size model"] = f"SEM distribution ({len(diam)} classes)"
        ok = rows[np.isfinite(d)]
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = table.loc[ok, "D distribution [m2/s]"].to_numpy(float)
            sv = table.loc[ok, "_sensitivity distribution"].to_numpy(float)
            lo_t = s["Tau low [s]"].to_numpy(float)[ok]
            hi_t = s["Tau high [s]"].to_numpy(float)[ok]
            table.loc[ok, "D [m2/s]"] = dd
            table.loc[ok, "D low [m2/s]"] = dd * (tau[ok] / hi_t) ** (1.0 / sv)
            table.loc[ok, "D high [m2/s]"] = dd * (tau[ok] / lo_t) ** (1.0 / sv)
            table.loc[ok, "D sensitivity"] = sv
            table.loc[ok, "D poorly determined"] = table.loc[ok, "D poorly determined"] | (sv < 0.2)
        _distribution_bounds(table, s["Size [um]"].to_numpy(float), (pulse, origin, rest),
                             tasks == task, dists[task], v_inf)
    return table


def _distribution_bounds(table: pd.DataFrame, size: Any, protocol: tuple[Any, Any, Any], mine: Any,
                         classes: tuple[Any, Any], v_inf: str) -> None:
    """``D upper bound`` of a cell's pulse-limited rests through its size distribution: the D at
    which the distribution reads the τ at which one sphere of the mean size reaches its bound
    (the pulse-limited threshold). The distribution reads longer τ than the mean sphere, so its
    bound is higher; one inversion per protocol (pulse, rest, origin to 0.5 %). ``protocol`` =
    (pulse, origin, rest) per row, as :func:`_with_distribution` has them."""
    import numpy as np

    from sulfurscope._sphere import read_tau_s
    from sulfurscope.cycling.gitt._polydisperse import polydisperse_diffusivity

    pulse, origin, rest = protocol
    bound = table["D upper bound [m2/s]"].to_numpy(float)
    done: dict[tuple, float] = {}
    for j in np.flatnonzero(mine & np.isfinite(bound) & table["Pulse limited"].to_numpy(bool)):
        finite = v_inf == "last_sample" and np.isfinite(rest[j])
        key = (round(float(np.log(pulse[j])), 2), round(float(np.log(rest[j])), 2) if finite
               else None, round(float(origin[j]), 1), round(float(np.log(size[j])), 3))
        if key not in done:
            end = origin[j] + rest[j] if finite else None
            tau = read_tau_s(float(pulse[j]), 0.5e-6 * float(size[j]), float(bound[j]),
                             rest_s=end, origin_s=float(origin[j]))
            d, _ = polydisperse_diffusivity(
                [tau], diameters_um=classes[0], weights=classes[1], pulse_s=pulse[j],
                rest_s=rest[j] if finite else None, origin_s=origin[j], v_inf=v_inf,  # type: ignore[arg-type]
                guess_m2_s=bound[j])
            done[key] = float(d[0]) if np.isfinite(d[0]) else float(bound[j])
        table.loc[table.index[j], "D upper bound [m2/s]"] = done[key]


def _distribution_flags(table: pd.DataFrame) -> list[Flag]:
    """A note of how far the size distribution moved D from the mean-size reading, or that D
    assumes one size."""
    import numpy as np

    if table.empty:
        return []
    dist = table["Size model"].ne("single size").to_numpy()
    both = dist & np.isfinite(table["D [m2/s]"].to_numpy(float)) & np.isfinite(
        table["D single size [m2/s]"].to_numpy(float))
    flags = []
    if both.any():
        ratio = float(np.median(table.loc[both, "D single size [m2/s]"] / table.loc[both, "D [m2/s]"]))
        flags.append(Flag("d_size_distribution",
                          f"D is read through each cell's SEM size distribution (volume-weighted "
                          f"spheres lithiated at the same rate per volume); the mean size alone "
                          f"would give {ratio:.2f}× that D (median over {int(both.sum())} rests)",
                          "note"))
    if not dist.all():
        cells = sorted(set(table.loc[~dist, "Cell"].astype(str))) if "Cell" in table else []
        which = f" ({', '.join(cells)})" if dist.any() and cells else ""
        flags.append(Flag("d_single_size",
                          f"D assumes one particle size per sample{which} (no SEM size distribution "
                          "of ≥ 10 particles): a spread of sd/d = 0.3 makes such a D ~0.6× the true "
                          "one, sd/d = 0.5 ~0.4×", "note"))
    return flags


#: Particle-size classes of a sample's size distribution in the GITT map (as the model step).
SIZE_CLASSES = 12
#: The particle table's diameter column (``sulfurscope particles``, the study's SEM tasks).
DIAMETER_COLUMN = "Equivalent diameter [um]"


def size_classes(particles: pd.DataFrame, n_classes: int = SIZE_CLASSES) -> tuple[Any, Any] | None:
    """(class diameters µm, volume weights) of a particle table (``Equivalent diameter [um]``, one
    row per particle, as ``sulfurscope particles`` writes it) with ≥ 10 particles, else None: the
    size distribution GITT's D is read through (the CLI's ``--particles`` and the study pipeline)."""
    from sulfurscope.model import class_weights, measured_distribution

    col = DIAMETER_COLUMN
    if particles is None or col not in particles.columns or particles[col].notna().sum() < 10:
        return None
    dist = measured_distribution(particles[[col]].dropna(), column=col, bins=n_classes)
    if len(dist.diameter_um) < 2:
        return None
    return dist.diameter_um, class_weights(dist, weighting="volume")


#: Per-size median D that differ by more than this factor contradict a diffusion length of size/2.
SIZE_SPREAD_LIMIT = 3.0


def _size_consistency_flags(table: pd.DataFrame) -> list[Flag]:
    """Per half-cycle: when the well-determined D of different particle sizes differ (median per
    size, more than :data:`SIZE_SPREAD_LIMIT` apart), τ does not scale as (size/2)², so the length
    the map assumes is not the diffusion length (e.g. an active layer after formation) and one D
    across sizes is no material constant."""
    import numpy as np

    flags: list[Flag] = []
    if table.empty or "Half cycle label" not in table:
        return flags
    good = table[np.isfinite(table["D [m2/s]"].to_numpy(float)) & ~table["D poorly determined"]]
    for half, g in good.groupby("Half cycle label", sort=False):
        med = g.groupby("Size [um]")["D [m2/s]"].median()
        if len(med) >= 2 and med.max() / med.min() > SIZE_SPREAD_LIMIT:
            sizes = ", ".join(f"{k:.2g} µm: {v:.2g}" for k, v in med.items())
            flags.append(Flag(
                "d_size_inconsistent",
                f"D differs {med.max() / med.min():.0f}× between particle sizes ({sizes} m²/s): τ does "
                "not scale as (size/2)², so size/2 is not the diffusion length (an active layer?) "
                "and the D across sizes is not a material constant", "warning", str(half)))
    return flags


def _diffusivity_flags(table: pd.DataFrame, steps: pd.DataFrame) -> list[Flag]:
    flags: list[Flag] = []
    if table.empty:
        return flags
    limited = table["Pulse limited"].astype(bool)
    if limited.any():
        bound = float(table.loc[limited, "D upper bound [m2/s]"].max())
        flags.append(
            Flag(
                "d_not_determined",
                f"{int(limited.sum())} rest(s) read a pulse-limited τ: no D, only D ≤ {bound:.2g} m²/s "
                "(lengthen the pulse or the rest, or read V∞ from a fitted asymptote)",
                "failed",
            )
        )
    coarse = table["Tau coarse"].astype(bool) & ~limited
    if coarse.any():
        flags.append(
            Flag(
                "d_poorly_determined",
                f"{int(coarse.sum())} rest(s) give D from a τ the sampling does not resolve (the "
                "samples around the 1 − 1/e crossing are more than 1.5× apart in time)",
                "warning",
            )
        )
    weak = table["D poorly determined"] & ~limited & ~table["Rest short"] & ~coarse
    if weak.any():
        worst = float(table.loc[weak, "D sensitivity"].min())
        flags.append(
            Flag(
                "d_poorly_determined",
                f"{int(weak.sum())} rest(s) give a D that a 1 % error in τ moves by up to "
                f"{1.0 / max(worst, 1e-9):.0f} % (τ near its pulse-length saturation)",
                "warning",
            )
        )
    short = table["Rest short"]
    if short.any():
        flags.append(
            Flag(
                "rest_short",
                f"{int(short.sum())} rest(s) ran only "
                f"{float(table.loc[short, 'Rest adequacy'].min()):.2g}× the 5 R²/(20.19 D) needed "
                "to relax, and V∞ was fitted: D rests on an extrapolated asymptote (read τ with "
                "V∞ = last sample, which the sphere map models exactly)",
                "warning",
            )
        )
    prev = table.get("Previous rest adequacy")
    if prev is not None and bool((prev < UNRELAXED_START).any()):
        n = int((prev < UNRELAXED_START).sum())
        flags.append(
            Flag(
                "unrelaxed_start",
                f"{n} pulse(s) start after a rest that ran less than {UNRELAXED_START}× the "
                f"5 R²/(20.19 D) needed to relax (down to {float(prev.min()):.2g}×): the sphere map "
                "assumes a uniform start, and D from such pulses is biased (−10 % at 0.35× in the "
                "truth tests)",
                "warning",
            )
        )
    return flags


def _v0_flags(steps: pd.DataFrame) -> list[Flag]:
    if "V0 convention" in steps and steps["V0 convention"].eq("last_under_current").any():
        return [Flag(
            "d_v0_convention",
            "τ were read from the last point under current (IR step included); the sphere map "
            "assumes V0 after the IR step, so D is biased high (or, where the IR step alone crosses "
            "1 − 1/e, not given)",
            "warning",
        )]  # fmt: skip
    return []


def analyse_gitt_scaling(
    steps: pd.DataFrame,
    sizes_um: Mapping[str, float],
    options: GittScalingOptions | None = None,
    distributions: Mapping[str, tuple[Any, Any]] | None = None,
) -> AnalysisResult:
    """τ ∝ L^n across cells of different particle size, per half-cycle (Fig 2's argument).

    Parameters
    ----------
    steps : DataFrame
        ``gitt_steps`` of several cells, concatenated with a ``Task`` column (the cell names).
    sizes_um : mapping of str to float
        Particle size (diameter, µm) of each task.
    options : GittScalingOptions
    distributions : mapping of str to (diameters µm, volume weights), optional
        Each task's particle-size classes (from SEM). With them D is read through the size
        distribution (:func:`~sulfurscope.cycling.gitt._polydisperse.mixture_read_tau_s`), else
        through one sphere of the task's size (flag ``d_single_size``).

    Returns
    -------
    AnalysisResult
        Table ``gitt_scaling`` (one row per half-cycle with at least two sizes, with the exponent and
        one D fitted across sizes) and ``gitt_diffusivity`` (D of every rest of a cell with a size);
        flags when points are pulse-limited (the exponent is then no evidence for L² scaling), when
        D is poorly determined or rests too short, or when a fit fails.
    """
    import numpy as np
    import pandas as pd

    from sulfurscope.errors import SulfurscopeError

    options = options or GittScalingOptions()
    flags: list[Flag] = []
    rows = []
    diffusivity = pd.DataFrame()
    if not steps.empty and "Tau [s]" in steps.columns:
        s = steps.assign(**{"Size [um]": steps["Task"].map(dict(sizes_um)).astype(float)})
        ok = np.isfinite(s["Size [um]"]) & (s["Tau [s]"] > 0) & (s["Tau low [s]"] > 0)
        rests = np.isfinite(s["Size [um]"]) & s["Has rest"].astype(bool)
        dropped = int((rests & ~(ok & s["Reached"].eq(True))).sum())
        flags.extend(_v0_flags(s[rests]))
        s = s[ok & s["Reached"].eq(True)]
        dists = {k: v for k, v in (distributions or {}).items() if len(v[0]) > 1}
        diffusivity = _with_distribution(_diffusivity_table(s, options.v_inf), s, dists,
                                         options.v_inf)
        flags.extend(_distribution_flags(diffusivity))
        flags.extend(_size_consistency_flags(diffusivity))
        s = s.assign(**{"D distribution [m2/s]": diffusivity["D distribution [m2/s]"].to_numpy(),
                        "_sensitivity distribution":
                            diffusivity["_sensitivity distribution"].to_numpy(),
                        "_limited": diffusivity["Pulse limited"].to_numpy(bool)})
        diffusivity = diffusivity.drop(columns=["_sensitivity distribution",
                                                "D distribution [m2/s]"])
        coarse = s["Tau coarse"].eq(True) if "Tau coarse" in s else pd.Series(False, index=s.index)
        s = s[~coarse]  # τ between samples far apart: no evidence for the size scaling
        flags.extend(_diffusivity_flags(diffusivity, s))
        if dropped:
            flags.append(Flag(
                "d_not_determined",
                f"{dropped} rest(s) gave no τ (never reached 63.2 % of the relaxation, or relaxed "
                "within the voltage noise): no D from them"
                + ("; no rest gives D" if diffusivity.empty else ""),
                "failed" if diffusivity.empty else "warning",
            ))  # fmt: skip
        for half, g in s.groupby("Half cycle label", sort=False):
            if g["Size [um]"].nunique() < 2:
                continue
            try:
                rows.append(_scaling_row(str(half), g, options.v_inf, dists))
            except SulfurscopeError as exc:
                flags.append(Flag("scaling_failed", str(exc), "failed", str(half)))
    table = pd.DataFrame(rows)
    for r in rows:
        if r["Pulse limited points"]:
            flags.append(Flag("pulse_limited", r["Note"], "warning", r["Half cycle label"]))
        if not np.isfinite(r["D [m2/s]"]):
            flags.append(
                Flag("d_not_determined", "no τ determines D: " + r["Note"], "failed",
                     r["Half cycle label"])
            )  # fmt: skip
    return finish(
        "gitt_scaling",
        __name__,
        {"gitt_scaling": table, "gitt_diffusivity": diffusivity},
        flags,
        options,
        summary={"half_cycles": len(rows), "rests_with_d": int(len(diffusivity))},
    )
