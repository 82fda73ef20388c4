"""``sulfurscope xps``: an XPS file → component tables, curves, quantification (CSV + Parquet) and Fig 4b–f panels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sulfurscope.cli._common import echo_json, exit_on_error, write_table
from sulfurscope.errors import SulfurscopeError
from sulfurscope.io.xps import read_xps
from sulfurscope.report._style import save_figure
from sulfurscope.report.xps import plot_depth_profile, plot_xps_fit
from sulfurscope.spectra.peaks import monte_carlo
from sulfurscope.spectra.xps import analyse_xps

__all__ = ["analyse_xps_file", "register"]

_BACKGROUNDS = ("shirley", "linear", "tougaard", "none")
_MODES = ("model", "subtract")


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text.replace(" ", ""))


def analyse_xps_file(
    path: Path,
    out: Path,
    *,
    region: str | None = None,
    components: str | None = None,
    background: str = "shirley",
    background_mode: str = "model",
    cycle: int = 0,
    shift_ev: float = 0.0,
    mc_replicas: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Read ``path``, fit and quantify, write tables and figures into ``out``; return a JSON-ready summary."""
    if background not in _BACKGROUNDS:
        raise SulfurscopeError(
            f"--background must be one of {list(_BACKGROUNDS)}, got {background!r}"
        )
    if background_mode not in _MODES:
        raise SulfurscopeError(
            f"--background-mode must be one of {list(_MODES)}, got {background_mode!r}"
        )
    if mc_replicas < 0:
        raise SulfurscopeError(f"--mc must be >= 0, got {mc_replicas}")
    data = read_xps(path)
    analysis = analyse_xps(
        data.spectra,
        region=region,
        components=components,
        background=background,  # type: ignore[arg-type]
        background_mode=background_mode,  # type: ignore[arg-type]
        cycle=cycle,
        shift_ev=shift_ev,
    )
    out.mkdir(parents=True, exist_ok=True)
    stem = _safe(path.stem)
    written: list[str] = []
    written += map(str, write_table(data.to_frame(), out, f"{stem}_xps_spectra"))
    components_table = analysis.components
    if mc_replicas and analysis.fits:
        extra = []
        for reg, fit in zip(analysis.regions, analysis.fits, strict=True):
            mc = monte_carlo(fit, n_replicas=mc_replicas, rng=seed).to_frame()
            mc.insert(0, "Region", reg)
            extra.append(mc)
        import pandas as pd

        components_table = components_table.merge(
            pd.concat(extra, ignore_index=True), on=["Region", "Component"], how="left"
        )
    if not components_table.empty:
        written += map(str, write_table(components_table, out, f"{stem}_xps_components"))
        written += map(str, write_table(analysis.curves, out, f"{stem}_xps_curves"))
    if not analysis.quantification.empty:
        written += map(str, write_table(analysis.quantification, out, f"{stem}_xps_quantification"))
    figures = []
    for reg, fit in zip(analysis.regions, analysis.fits, strict=True):
        fig = plot_xps_fit(fit, region=reg, title=f"{path.name}: {reg}")
        figures.append(str(save_figure(fig, out / f"{stem}_{_safe(reg)}_fit.png")))
    if not data.depth_profile.empty:
        written += map(str, write_table(data.depth_profile, out, f"{stem}_depth_profile"))
        figures.append(
            str(
                save_figure(
                    plot_depth_profile(data.depth_profile), out / f"{stem}_depth_profile.png"
                )
            )
        )
    return {
        "file": str(path),
        "format": data.format,
        "out": str(out),
        "spectra": data.to_dict()["spectra"] if len(data.spectra) <= 20 else len(data.spectra),
        "regions_fitted": list(analysis.regions),
        "failures": [{"region": r, "error": m} for r, m in analysis.failures],
        "fits": analysis.to_dict()["fits"],
        "components": components_table,
        "quantification": analysis.quantification,
        "tables": written,
        "figures": figures,
    }


def register(app: typer.Typer) -> None:
    """Add ``xps`` to the app."""

    @app.command("xps")
    def xps(
        file: Annotated[
            Path,
            typer.Argument(
                help="XPS file: VAMAS .vms/.npl, PHI .spe/.pro or two-column text.",
                exists=True,
                dir_okay=False,
            ),
        ],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-xps"
        ),
        region: Annotated[
            str | None, typer.Option("--region", help='Fit only this region, e.g. "S 2p".')
        ] = None,
        components: Annotated[
            str | None,
            typer.Option(
                "--components", help='Component library, e.g. "S2p/paper" (default: the region\'s).'
            ),
        ] = None,
        background: Annotated[
            str, typer.Option("--background", help="shirley, linear, tougaard or none.")
        ] = "shirley",
        background_mode: Annotated[
            str,
            typer.Option("--background-mode", help="model (fitted with the peaks) or subtract."),
        ] = "model",
        cycle: Annotated[int, typer.Option("--cycle", help="Depth-profile cycle (.pro).")] = 0,
        shift_ev: Annotated[
            float, typer.Option("--shift-ev", help="Charge correction added to binding energies.")
        ] = 0.0,
        mc: Annotated[
            int, typer.Option("--mc", help="Monte-Carlo replicas for uncertainties (0 = off).")
        ] = 0,
        as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    ) -> None:
        """Fit XPS regions with the study's component library (Fig 4b–f, Tables S1–S6)."""

        def run() -> dict[str, Any]:
            return analyse_xps_file(
                file,
                out,
                region=region,
                components=components,
                background=background,
                background_mode=background_mode,
                cycle=cycle,
                shift_ev=shift_ev,
                mc_replicas=mc,
            )

        result = exit_on_error(run)
        if as_json:
            echo_json(result)
        else:
            fails = f", {len(result['failures'])} failed" if result["failures"] else ""
            typer.echo(
                f"{file.name}: fitted {', '.join(result['regions_fitted']) or 'no region'}{fails}; "
                f"wrote {len(result['tables'])} table file(s) and {len(result['figures'])} "
                f"figure(s) to {out}"
            )
