"""``sulfurscope cycling``: cycler files → summary, rate capability, retention tables and figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from matplotlib.figure import Figure
from rich.progress import Progress

from sulfurscope.cli._common import echo_json, exit_on_error, write_table
from sulfurscope.cycling import (
    DISC_AREA_13MM_CM2,
    Cell,
    asymmetric_rates,
    cycle_summary,
    dqdv,
    make_cell,
    rate_capability,
    retention,
    voltage_profiles,
)
from sulfurscope.errors import SulfurscopeError
from sulfurscope.io import read_cycler
from sulfurscope.io.tga import read_tga
from sulfurscope.report import (
    plot_dqdv,
    plot_rate_capability,
    plot_retention,
    plot_voltage_profiles,
    save_figure,
)
from sulfurscope.spectra import sulfur_fraction as tga_sulfur_fraction

__all__ = ["analyse_cycling_files", "register"]


def _per_file(values: list[float] | None, n: int, name: str) -> list[float | None]:
    if not values:
        return [None] * n
    out: list[float | None] = list(values)
    if len(out) == 1:
        return out * n
    if len(out) != n:
        raise SulfurscopeError(
            f"{name} was given {len(out)} times for {n} files: give it once or once per file"
        )
    return out


def analyse_cycling_files(
    files: list[Path],
    cells: list[Cell],
    out: Path,
    *,
    first: str = "discharge",
    show_progress: bool = False,
) -> dict[str, Any]:
    """Analyse each file, write tables and figures into ``out``; return a JSON-ready summary."""
    out.mkdir(parents=True, exist_ok=True)
    profiles, rates, rets, dq = {}, {}, {}, {}
    results: dict[str, Any] = {"cells": [], "figures": [], "out": str(out)}
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("analysing", total=len(files))
        for path, cell in zip(files, cells, strict=True):
            data = read_cycler(path)
            label = cell.label or path.stem
            mass = cell.sulfur_mass_mg
            summary = cycle_summary(
                data.frame,
                sulfur_mass_mg=mass,
                theoretical_capacity_mah_g=cell.theoretical_capacity_mah_g,
                first=first,  # type: ignore[arg-type]
            )
            entry: dict[str, Any] = {
                "label": label,
                "file": str(path),
                "format": data.format,
                "cell": cell.to_dict(),
                "summary": summary.to_dict()["cycles"],
                "skipped": {},
            }
            table = summary.table.copy()
            table.insert(0, "Cell", label)
            write_table(table, out, f"{label}_summary")
            prof = voltage_profiles(data.frame, sulfur_mass_mg=mass, first=first)  # type: ignore[arg-type]
            profiles[label] = prof
            try:
                dq[label] = dqdv(prof, capacity="specific" if mass else "absolute")
            except SulfurscopeError as exc:
                entry["skipped"]["dqdv"] = str(exc)
            if mass is not None:
                try:
                    rc = rate_capability(summary)
                    rates[label] = rc
                    write_table(rc.table, out, f"{label}_rate_capability")
                    entry["rate_capability"] = rc.to_dict()["blocks"]
                    write_table(asymmetric_rates(summary).table, out, f"{label}_asymmetric_rates")
                except SulfurscopeError as exc:
                    entry["skipped"]["rate_capability"] = str(exc)
            else:
                entry["skipped"]["rate_capability"] = "no sulfur mass given: C-rates unknown"
            try:
                r = retention(summary)
                rets[label] = r
                write_table(r.table, out, f"{label}_retention")
                entry["retention"] = {k: v for k, v in r.to_dict().items() if k != "cycles"}
            except SulfurscopeError as exc:
                entry["skipped"]["retention"] = str(exc)
            results["cells"].append(entry)
            progress.advance(task)
    figs: dict[str, tuple[Callable[[Any], Figure], dict[str, Any]]] = {
        "voltage_profiles.png": (plot_voltage_profiles, profiles),
        "rate_capability.png": (plot_rate_capability, rates),
        "retention.png": (plot_retention, rets),
        "dqdv.png": (plot_dqdv, dq),
    }
    for name, (fn, arg) in figs.items():
        if arg:
            results["figures"].append(str(save_figure(fn(arg), out / name)))
    return results


def register(app: typer.Typer) -> None:
    """Add ``cycling`` to the app."""

    @app.command("cycling")
    def cycling(
        files: Annotated[
            list[Path],
            typer.Argument(
                help="Cycler files (.mpr, .mpt, .res, .nda/.ndax, Maccor).",
                exists=True,
                dir_okay=False,
            ),
        ],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-cycling"
        ),
        sulfur_mass_mg: Annotated[
            list[float] | None,
            typer.Option("--sulfur-mass-mg", help="Sulfur mass in mg (once, or once per file)."),
        ] = None,
        loading_mg_cm2: Annotated[
            list[float] | None,
            typer.Option(
                "--loading-mg-cm2", help="Areal sulfur loading in mg/cm² (once, or once per file)."
            ),
        ] = None,
        area_cm2: Annotated[
            float, typer.Option("--area-cm2", help="Electrode area, cm².")
        ] = DISC_AREA_13MM_CM2,
        composite_mass_mg: Annotated[
            list[float] | None,
            typer.Option(
                "--composite-mass-mg",
                help="Coating (composite) mass in mg, with --sulfur-fraction or --tga (once, or once per file).",
            ),
        ] = None,
        sulfur_fraction: Annotated[
            float | None,
            typer.Option("--sulfur-fraction", help="Sulfur mass fraction of the composite, 0-1."),
        ] = None,
        tga: Annotated[
            Path | None,
            typer.Option(
                "--tga",
                help="TGA export of the composite: the sulfur fraction is its 150-400 °C mass-loss step.",
                exists=True,
                dir_okay=False,
            ),
        ] = None,
        label: Annotated[
            list[str] | None, typer.Option("--label", help="Cell label (once per file).")
        ] = None,
        first: Annotated[
            str, typer.Option("--first", help="Which half opens a cycle: discharge or charge.")
        ] = "discharge",
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Capacity, efficiency, rate capability and retention of cycler files (Fig 1d–f)."""

        def run() -> dict[str, Any]:
            routes = [bool(sulfur_mass_mg), bool(loading_mg_cm2), bool(composite_mass_mg)]
            if sum(routes) > 1:
                raise SulfurscopeError(
                    "give one of --sulfur-mass-mg, --loading-mg-cm2 or --composite-mass-mg, not both"
                )
            fraction = sulfur_fraction
            if tga is not None:
                if fraction is not None:
                    raise SulfurscopeError("give --sulfur-fraction or --tga, not both")
                curve = read_tga(tga).frame
                fraction = tga_sulfur_fraction(
                    curve["Temperature [°C]"].to_numpy(), curve["Mass [%]"].to_numpy()
                ).sulfur_fraction
            if composite_mass_mg and fraction is None:
                raise SulfurscopeError("--composite-mass-mg needs --sulfur-fraction or --tga")
            n = len(files)
            masses = _per_file(sulfur_mass_mg, n, "--sulfur-mass-mg")
            loads = _per_file(loading_mg_cm2, n, "--loading-mg-cm2")
            composites = _per_file(composite_mass_mg, n, "--composite-mass-mg")
            labels = label or []
            if labels and len(labels) != n:
                raise SulfurscopeError(f"--label was given {len(labels)} times for {n} files")
            cells = [
                make_cell(
                    label=labels[k] if labels else files[k].stem,
                    sulfur_mass_mg=masses[k],
                    loading_mg_cm2=loads[k],
                    composite_mass_mg=composites[k],
                    sulfur_fraction=fraction if composites[k] is not None else None,
                    electrode_area_cm2=area_cm2,
                )
                for k in range(n)
            ]
            return analyse_cycling_files(
                files, cells, out, first=first, show_progress=n > 1 and not as_json
            )

        result = exit_on_error(run)
        if as_json:
            echo_json(result)
        else:
            typer.echo(
                f"wrote {len(result['cells'])} cell(s) and {len(result['figures'])} figure(s) to {out}"
            )
