"""``sulfurscope gitt``: GITT files → per-step table (CSV + Parquet), relaxation times and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from sulfurscope.cli._common import echo_json, exit_on_error, write_table
from sulfurscope.cycling.gitt import (
    GittSteps,
    RelaxationCurves,
    RelaxationTimes,
    gitt_steps,
    relaxation_curves,
    relaxation_times,
    transport_scaling,
)
from sulfurscope.errors import SulfurscopeError
from sulfurscope.io import read_cycler
from sulfurscope.report._style import save_figure
from sulfurscope.report.gitt import plot_gitt_voltage, plot_relaxation_curves, plot_relaxation_times

__all__ = ["analyse_gitt_files", "gitt_table", "register"]

_V0 = ("last_under_current", "first_rest_point")
_VINF = ("last_sample", "fitted")


def gitt_table(steps: GittSteps, times: RelaxationTimes) -> pd.DataFrame:
    """The per-step table: every pulse with its rest voltages and, where it has a rest, its τ."""
    table = steps.to_frame()
    tau = times.to_frame().drop(
        columns=["Half cycle", "Half cycle label", "Direction", "Pulse duration [s]"]
        + (["Specific capacity [mAh/g]"] if times.capacity_mah_g is not None else [])
    )
    out = table.merge(tau, on="Step", how="left")
    out["V0 convention"] = times.v0_convention
    out["Vinf method"] = times.v_inf_method
    return out


def _per_file(values: list[Any] | None, n: int, name: str) -> list[Any]:
    if not values:
        return [None] * n
    if len(values) == 1:
        return list(values) * n
    if len(values) != n:
        raise SulfurscopeError(
            f"{name} was given {len(values)} times for {n} files: give it once or once per file"
        )
    return list(values)


def analyse_gitt_files(
    files: list[Path],
    masses_mg: list[float],
    out: Path,
    *,
    v0: str = "first_rest_point",
    v_inf: str = "last_sample",
    labels: list[str] | None = None,
    sizes_um: list[float | None] | None = None,
) -> dict[str, Any]:
    """Analyse each file; write ``<label>_gitt_steps.csv/.parquet`` and figures into ``out``.

    Returns a JSON-ready summary with the per-step table of every file.
    """
    if v0 not in _V0:
        raise SulfurscopeError(f"--v0 must be one of {list(_V0)}, got {v0!r}")
    if v_inf not in _VINF:
        raise SulfurscopeError(f"--v-inf must be one of {list(_VINF)}, got {v_inf!r}")
    out.mkdir(parents=True, exist_ok=True)
    if not labels:
        stems = [p.stem for p in files]
        labels = [s if stems.count(s) == 1 else f"{s}_{k + 1}" for k, s in enumerate(stems)]
    sizes = sizes_um or [None] * len(files)
    times: dict[str, RelaxationTimes] = {}
    rests: dict[str, np.ndarray] = {}
    curves: dict[str, RelaxationCurves] = {}
    result: dict[str, Any] = {"out": str(out), "v0_convention": v0, "v_inf_method": v_inf}
    result["cells"] = []
    result["figures"] = []
    for path, mass, label in zip(files, masses_mg, labels, strict=True):
        data = read_cycler(path)
        frame = data.frame
        steps = gitt_steps(frame, sulfur_mass_mg=mass)
        if len(steps.step) == 0:
            raise SulfurscopeError(f"{path.name}: no current pulse found (is this a GITT file?)")
        tau = relaxation_times(frame, steps, v0=v0, v_inf=v_inf)  # type: ignore[arg-type]
        table = gitt_table(steps, tau)
        table.insert(0, "Cell", label)
        written = write_table(table, out, f"{label}_gitt_steps")
        times[label] = tau
        rests[label] = (steps.rest_end_s - steps.rest_start_s)[steps.has_rest]
        curves[label] = relaxation_curves(frame, steps, v0=v0, v_inf=v_inf)  # type: ignore[arg-type]
        fig = plot_gitt_voltage(frame, steps, label=label)
        result["figures"].append(str(save_figure(fig, out / f"{label}_gitt_voltage.png")))
        result["cells"].append(
            {
                "label": label,
                "file": str(path),
                "format": data.format,
                "sulfur_mass_mg": mass,
                "pulses": len(steps.step),
                "rests": int(steps.has_rest.sum()),
                "tables": [str(p) for p in written],
                "steps": table,
            }
        )
    if any(r.reached.any() for r in times.values()):
        result["figures"].append(
            str(save_figure(plot_relaxation_times(times), out / "relaxation_times.png"))
        )
        result["figures"].append(
            str(save_figure(plot_relaxation_curves(curves), out / "relaxation_curves.png"))
        )
    if all(s is not None for s in sizes) and len(set(sizes)) >= 2:
        rows = []
        for half in dict.fromkeys(h for r in times.values() for h in r.half_cycle_label):
            size: list[float] = []
            tau_h: list[float] = []
            lo: list[float] = []
            hi: list[float] = []
            tp: list[float] = []
            tr: list[float] = []
            for (name, r), s in zip(times.items(), sizes, strict=True):
                sel = (r.half_cycle_label == half) & r.reached & (r.tau_low_s > 0)
                size += [float(s)] * int(sel.sum())  # type: ignore[arg-type]
                tau_h += r.tau_s[sel].tolist()
                lo += r.tau_low_s[sel].tolist()
                hi += r.tau_high_s[sel].tolist()
                tp += r.pulse_duration_s[sel].tolist()
                tr += rests[name][sel].tolist()
            if len(set(size)) < 2:
                continue
            fit = transport_scaling(
                size,
                tau_h,
                tau_low_s=lo,
                tau_high_s=hi,
                pulse_s=np.array(tp),
                rest_s=np.array(tr),
                v_inf=v_inf,  # type: ignore[arg-type]
            )
            rows.append(
                {
                    "Half cycle label": half,
                    "Exponent n": fit.exponent,
                    "Exponent stderr": fit.exponent_stderr,
                    "Exponent CI95 low": fit.exponent_ci95[0],
                    "Exponent CI95 high": fit.exponent_ci95[1],
                    "Points": fit.n_points,
                    "Pulse limited points": int(fit.pulse_limited.sum()),
                    "Note": fit.note,
                }
            )
        if rows:
            scaling = pd.DataFrame(rows)
            write_table(scaling, out, "transport_scaling")
            result["transport_scaling"] = scaling
    return result


def register(app: typer.Typer) -> None:
    """Add ``gitt`` to the app."""

    @app.command("gitt")
    def gitt(
        files: Annotated[
            list[Path],
            typer.Argument(
                help="GITT cycler files (.mpr, .mpt, .res, .nda/.ndax, Maccor).",
                exists=True,
                dir_okay=False,
            ),
        ],
        sulfur_mass_mg: Annotated[
            list[float],
            typer.Option("--sulfur-mass-mg", help="Sulfur mass in mg (once, or once per file)."),
        ],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-gitt"
        ),
        v0: Annotated[
            str,
            typer.Option(
                "--v0", help="Relaxation reference: first_rest_point or last_under_current."
            ),
        ] = "first_rest_point",
        v_inf: Annotated[
            str, typer.Option("--v-inf", help="V∞: last_sample or fitted.")
        ] = "last_sample",
        label: Annotated[
            list[str] | None, typer.Option("--label", help="Cell label (once per file).")
        ] = None,
        particle_size_um: Annotated[
            list[float] | None,
            typer.Option("--particle-size-um", help="Particle size per file: fits τ ∝ L^n."),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the per-step tables as JSON.")
        ] = False,
    ) -> None:
        """Pulses, rests, overpotentials and relaxation times τ of GITT runs (Fig 2, Fig S4)."""

        def run() -> dict[str, Any]:
            n = len(files)
            masses = _per_file(sulfur_mass_mg, n, "--sulfur-mass-mg")
            labels = label or []
            if labels and len(labels) != n:
                raise SulfurscopeError(f"--label was given {len(labels)} times for {n} files")
            if len(set(labels)) != len(labels):
                raise SulfurscopeError(f"--label values must be distinct, got {labels}")
            sizes = _per_file(particle_size_um, n, "--particle-size-um")
            return analyse_gitt_files(
                files,
                masses,
                out,
                v0=v0,
                v_inf=v_inf,
                labels=labels or None,
                sizes_um=sizes,
            )

        result = exit_on_error(run)
        if as_json:
            echo_json(result)
        else:
            pulses = sum(c["pulses"] for c in result["cells"])
            typer.echo(
                f"wrote {len(result['cells'])} per-step table(s) ({pulses} pulses, V0 = "
                f"{result['v0_convention']}) and {len(result['figures'])} figure(s) to {out}"
            )
