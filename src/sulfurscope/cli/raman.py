"""``sulfurscope raman``: Raman file → D/G band fits, I_D/I_G tables (CSV + Parquet) and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from sulfurscope.cli._common import echo_json, exit_on_error, write_table
from sulfurscope.errors import SulfurscopeError
from sulfurscope.io.raman import read_raman
from sulfurscope.report._style import save_figure
from sulfurscope.report.raman import plot_raman_fit, plot_raman_line
from sulfurscope.spectra.raman import RAMAN_BAND_SETS, raman_tables

__all__ = ["analyse_raman_file", "register"]

_BASELINES = ("imodpoly", "modpoly", "arpls", "asls", "snip", "none")


def analyse_raman_file(
    path: Path,
    out: Path,
    *,
    models: tuple[str, ...] = ("two-band", "sadezky"),
    window_cm1: tuple[float, float] = (1000.0, 2000.0),
    baseline: str = "imodpoly",
    poly_order: int = 1,
    remove_spikes: bool = True,
) -> dict[str, Any]:
    """Read, fit every spectrum with every model, write tables and figures; JSON-ready summary."""
    for m in models:
        if m not in RAMAN_BAND_SETS:
            raise SulfurscopeError(
                f"--model must be one of {[*RAMAN_BAND_SETS, 'both']}, got {m!r}"
            )
    if baseline not in _BASELINES:
        raise SulfurscopeError(f"--baseline must be one of {list(_BASELINES)}, got {baseline!r}")
    data = read_raman(path)
    tables = raman_tables(
        data.shift_cm1,
        data.intensity,
        positions=data.positions,
        models=models,  # type: ignore[arg-type]
        window_cm1=window_cm1,
        baseline=baseline,  # type: ignore[arg-type]
        poly_order=poly_order,
        remove_spikes=remove_spikes,
    )
    out.mkdir(parents=True, exist_ok=True)
    stem = path.stem
    written: list[str] = []
    for name, frame in tables.items():
        written += [str(p) for p in write_table(frame, out, f"{stem}_{name}")]
    summary = tables["raman_summary"]
    curves = tables["raman_curves"]
    n = data.intensity.shape[0]
    figures: list[str] = []
    results: dict[str, Any] = {}
    rep = -1 if n > 1 else 0
    for model in models:
        rows = summary[summary["Model"] == model]
        rep_row = rows[rows["Spectrum"] == rep].iloc[0].to_dict()
        what = f"mean of {n} spectra" if n > 1 else "spectrum"
        fig = plot_raman_fit(
            curves[curves["Model"] == model].drop(columns=["Model", "Spectrum"]),
            title=f"{path.name}: {model} fit ({what})",
            ratios=rep_row,
        )
        figures.append(str(save_figure(fig, out / f"{stem}_raman_fit_{model}.png")))
        entry: dict[str, Any] = {"representative": what, "fit": rep_row}
        if n > 1:
            per = rows[rows["Spectrum"] >= 0]
            ok = per[per["Success"].astype(bool)]
            entry.update(
                {
                    "spectra": n,
                    "fitted": int(len(ok)),
                    "failed": int(len(per) - len(ok)),
                    "median_id_ig_height": float(np.median(ok["I_D/I_G (height)"]))
                    if len(ok)
                    else None,
                    "median_id_ig_area": float(np.median(ok["I_D/I_G (area)"]))
                    if len(ok)
                    else None,
                }
            )
            fig = plot_raman_line(per, title=f"{path.name}: {model}")
            figures.append(str(save_figure(fig, out / f"{stem}_raman_line_{model}.png")))
        results[model] = entry
    return {
        "file": str(path),
        "format": data.format,
        "spectra": n,
        "points": int(data.shift_cm1.size),
        "shift_range_cm1": [float(data.shift_cm1[0]), float(data.shift_cm1[-1])],
        "out": str(out),
        "models": results,
        "tables": written,
        "figures": figures,
    }


def register(app: typer.Typer) -> None:
    """Add ``raman`` to the app."""

    @app.command("raman")
    def raman(
        file: Annotated[
            Path,
            typer.Argument(
                help="Raman file: Renishaw .wdf (single, line or map) or text export.",
                exists=True,
                dir_okay=False,
            ),
        ],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-raman"
        ),
        model: Annotated[
            str, typer.Option("--model", help="Band set: two-band, sadezky or both.")
        ] = "both",
        window: Annotated[
            tuple[float, float],
            typer.Option("--window", help="Fitted range in 1/cm (low high)."),
        ] = (1000.0, 2000.0),
        baseline: Annotated[
            str,
            typer.Option(
                "--baseline", help="pybaselines method: imodpoly, modpoly, arpls, asls, snip, none."
            ),
        ] = "imodpoly",
        poly_order: Annotated[
            int, typer.Option("--poly-order", help="Order of the polynomial baseline.")
        ] = 1,
        despike: Annotated[
            bool, typer.Option("--despike/--no-despike", help="Remove cosmic-ray spikes first.")
        ] = True,
        as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    ) -> None:
        """D and G bands of carbons: I_D/I_G by height and by area, positions, widths (Fig S1)."""

        def run() -> dict[str, Any]:
            models = ("two-band", "sadezky") if model == "both" else (model,)
            return analyse_raman_file(
                file,
                out,
                models=models,
                window_cm1=(float(window[0]), float(window[1])),
                baseline=baseline,
                poly_order=poly_order,
                remove_spikes=despike,
            )

        result = exit_on_error(run)
        if as_json:
            echo_json(result)
            return
        parts = []
        for name, entry in result["models"].items():
            fit = entry["fit"]
            parts.append(
                f"{name}: I_D/I_G height {fit['I_D/I_G (height)']:.3g}, "
                f"area {fit['I_D/I_G (area)']:.3g} ({entry['representative']})"
            )
        typer.echo(
            f"{Path(result['file']).name}: {result['spectra']} spectrum(s); "
            + "; ".join(parts)
            + f"; wrote {len(result['tables'])} table file(s) and {len(result['figures'])} "
            f"figure(s) to {result['out']}"
        )
