"""``sulfurscope eds``: EDS project/spectrum image → net-intensity maps, depth profiles, figures.

Tables (CSV + Parquet) written to ``--out``:

``eds_lines``      one row per line: windows (keV), gross/background/net totals, overlap notes
``eds_profiles``   profile vs distance from the surface (raw bin means and moving average)
``eds_maps``       gross and net maps, binned to at most 128 px a side (long table, for redrawing)
``eds_map_check``  JEOL projects: our gross window sums vs JEOL's own ``.map`` files, per map

Figures: ``eds_maps.png`` (element colours, surface drawn) and ``eds_profiles.png``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from sulfurscope.cli._common import echo_json, exit_on_error, write_table
from sulfurscope.errors import SulfurscopeError, SulfurscopeWarning
from sulfurscope.io.eds import EdsData, jeol_map_window_kev, read_eds
from sulfurscope.report._style import save_figure
from sulfurscope.report.eds import plot_eds_maps, plot_eds_profiles
from sulfurscope.spectra.eds import (
    DepthMap,
    depth_profile,
    line_maps,
    particle_edge_depth,
    polyline_depth,
    window_map,
)

__all__ = ["eds_figures", "eds_tables", "map_check_table", "register"]

MAX_STORED_MAP_PX = 128


def map_check_table(data: EdsData) -> pd.DataFrame:
    """Our gross window sums from the spectrum image vs each JEOL ``.map`` of the project."""
    si = data.spectrum_image
    rows: list[dict[str, Any]] = []
    if si is None or not data.maps or "coef_a_kev" not in data.calibration:
        return pd.DataFrame(rows)
    for m in data.maps:
        lo, hi = jeol_map_window_kev(
            m.roi_channels,
            coef_a_kev=data.calibration["coef_a_kev"],
            coef_b_kev=data.calibration["coef_b_kev"],
        )
        ours = window_map(si, (lo, hi))
        theirs = m.counts.astype(float)
        if ours.shape != theirs.shape:
            factor = theirs.shape[0] // ours.shape[0]
            if factor < 1 or theirs.shape[0] % ours.shape[0]:
                continue
            ny, nx = ours.shape
            theirs = theirs.reshape(ny, factor, nx, factor).sum(axis=(1, 3))
        a, b = ours.ravel(), theirs.ravel()
        rows.append(
            {
                "Map": m.title,
                "File": m.path.name,
                "ROI start [channel]": m.roi_channels[0],
                "ROI end [channel]": m.roi_channels[1],
                "Window start [keV]": lo,
                "Window end [keV]": hi,
                "Sweeps": m.sweeps,
                "JEOL counts": float(b.sum()),
                "Our counts": float(a.sum()),
                "Ratio ours/JEOL": float(a.sum() / b.sum()) if b.sum() else float("nan"),
                "Pixels equal [%]": float(np.mean(a == b) * 100),
                "Pearson r": float(np.corrcoef(a, b)[0, 1])
                if a.std() and b.std()
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _bin_map(m: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return m
    ny, nx = m.shape[0] // factor, m.shape[1] // factor
    return m[: ny * factor, : nx * factor].reshape(ny, factor, nx, factor).sum(axis=(1, 3))


def _parse_surface(surface: str | None) -> np.ndarray | None:
    if surface is None or surface == "":
        return None
    try:
        v = [float(s) for s in surface.replace(";", ",").split(",") if s.strip()]
    except ValueError:
        raise SulfurscopeError(
            f"--surface must be numbers x0,y0,x1,y1[,...], got {surface!r}"
        ) from None
    if len(v) < 4 or len(v) % 2:
        raise SulfurscopeError(
            f"--surface needs an even number ≥ 4 of pixel coordinates x0,y0,x1,y1[,...], got {len(v)}"
        )
    return np.array(v).reshape(-1, 2)


def eds_tables(
    path: str | Path,
    *,
    lines: list[str],
    surface: str | np.ndarray | None = None,
    inside: str = "auto",
    band_width_px: float | None = None,
    window: int = 5,
    edge: str = "shrink",
    max_depth_nm: float | None = None,
    downsample: int = 1,
    cutoff_kev: float | None = None,
    edge_line: str | None = None,
    method: str = "windows",
    elements: list[str] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read ``path`` and compute every EDS table; returns (tables, summary).

    ``surface``: polyline "x0,y0,x1,y1,..." (pixels of the full-resolution image) or ``None`` to
    detect the particle edge from the gross map of ``edge_line`` (default: the first of
    ``lines``; choose an element spread evenly through the particle, e.g. S_Ka). ``inside``:
    "left", "right" or "auto" (the side with more counts in that map).
    """
    p = Path(path)
    if not lines:
        raise SulfurscopeError("--lines is empty: give e.g. S_Ka,F_Ka")
    if inside not in ("auto", "left", "right"):
        raise SulfurscopeError(f"--inside must be auto, left or right, got {inside!r}")
    data = read_eds(p, downsample=downsample, cutoff_kev=cutoff_kev)
    si = data.spectrum_image
    if si is None:
        raise SulfurscopeError(f"{p.name}: no spectrum image or spectrum in this file or project")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SulfurscopeWarning)
        lm = line_maps(si, lines, method=method, elements=elements)  # type: ignore[arg-type]
    notes = [str(w.message) for w in caught if issubclass(w.category, SulfurscopeWarning)]
    tables: dict[str, pd.DataFrame] = {"eds_lines": lm.to_frame()}
    tables["eds_lines"].insert(1, "File", p.name)
    tables["eds_lines"]["Method"] = method
    tables["eds_lines"]["Elements fitted"] = ",".join(elements or []) if method == "fit" else ""
    summary: dict[str, Any] = {
        "file": str(p),
        "format": data.format,
        "spectrum_image": si.to_dict(),
        "overlap_warnings": notes,
        "method": method,
        "elements": list(elements or []),
    }
    ny, nx = si.shape[:2]
    # maps, binned for storage
    factor = max(1, int(np.ceil(max(ny, nx) / MAX_STORED_MAP_PX)))
    rows = []
    for k, line in enumerate(lm.lines):
        for kind, arr in (("gross", lm.gross[k]), ("net", lm.net[k])):
            b = _bin_map(arr, factor)
            yy, xx = np.mgrid[0 : b.shape[0], 0 : b.shape[1]]
            rows.append(
                pd.DataFrame(
                    {
                        "Line": line,
                        "Kind": kind,
                        "Bin [px]": factor * downsample,
                        "Pixel size [nm]": si.pixel_size_nm * factor,
                        "y [px]": yy.ravel(),
                        "x [px]": xx.ravel(),
                        "Counts": b.ravel(),
                    }
                )
            )
    tables["eds_maps"] = pd.concat(rows, ignore_index=True)
    tables["eds_map_check"] = map_check_table(data)
    # depth profile
    if ny * nx > 1:
        poly = surface if isinstance(surface, np.ndarray) else _parse_surface(surface)
        edge_line = edge_line or lm.lines[0]
        if edge_line not in lm.lines:
            raise SulfurscopeError(
                f"--edge-line {edge_line!r} must be one of --lines {list(lm.lines)}"
            )
        weight = lm.gross[lm.lines.index(edge_line)]
        if poly is not None:
            poly = poly / downsample
            side = inside
            if side == "auto":
                left = polyline_depth((ny, nx), poly, inside="left", band_width_px=band_width_px)
                band = left.valid & (np.abs(left.depth_px) <= max(ny, nx) / 4)
                mean_left = (
                    weight[band & (left.depth_px > 0)].mean()
                    if (band & (left.depth_px > 0)).any()
                    else 0.0
                )
                mean_right = (
                    weight[band & (left.depth_px < 0)].mean()
                    if (band & (left.depth_px < 0)).any()
                    else 0.0
                )
                side = "left" if mean_left >= mean_right else "right"
            dm: DepthMap = polyline_depth(
                (ny, nx),
                poly,
                inside=side,  # type: ignore[arg-type]
                band_width_px=band_width_px,
            )
            summary["surface"] = {
                "method": "polyline",
                "inside": side,
                "polyline_xy_px": (poly * downsample).tolist(),
            }
        else:
            dm = particle_edge_depth(weight)
            summary["surface"] = {
                "method": "edge",
                "edge_line": edge_line,
                "particle_pixels": int(dm.valid.sum()),
            }
        prof = depth_profile(
            lm.net,
            dm,
            lines=lm.lines,
            pixel_size_nm=si.pixel_size_nm if np.isfinite(si.pixel_size_nm) else 1.0,
            window=window,
            edge=edge,  # type: ignore[arg-type]
            max_depth_nm=max_depth_nm,
        )
        tables["eds_profiles"] = prof.to_frame()
        summary["_surface_xy"] = dm.surface_xy * downsample  # full-resolution pixels
    else:
        tables["eds_profiles"] = pd.DataFrame(
            columns=[
                "Line",
                "Depth [nm]",
                "Mean counts [counts/px]",
                "Smoothed [counts/px]",
                "Pixels",
                "Moving average window",
                "Edge policy",
            ]
        )
        summary["surface"] = {"method": "none (single spectrum)"}
    return tables, summary


def eds_figures(
    tables: dict[str, pd.DataFrame],
    out: Path,
    *,
    prefix: str = "",
    surface_xy: np.ndarray | None = None,
) -> list[Path]:
    """Draw the map and profile figures from the tables (so the study report can redraw them).

    ``surface_xy`` is in pixels of the full-resolution image (``eds_maps`` "Bin [px]" is relative
    to it as well).
    """
    figs: list[Path] = []
    maps_t = tables.get("eds_maps")
    if maps_t is not None and len(maps_t):
        net = maps_t[maps_t["Kind"] == "net"]
        maps = {}
        for line, g in net.groupby("Line", sort=False):
            ny, nx = int(g["y [px]"].max()) + 1, int(g["x [px]"].max()) + 1
            arr = np.zeros((ny, nx))
            arr[g["y [px]"].to_numpy(int), g["x [px]"].to_numpy(int)] = g["Counts"].to_numpy(float)
            maps[str(line)] = arr
        px = float(net["Pixel size [nm]"].iloc[0])
        b = float(net["Bin [px]"].iloc[0])
        surf = None if surface_xy is None else np.asarray(surface_xy) / b  # full-res px → map px
        if len(maps) and all(m.size > 1 for m in maps.values()):
            fig = plot_eds_maps(
                maps, pixel_size_nm=px if np.isfinite(px) else None, surface_xy=surf
            )
            figs.append(save_figure(fig, out / f"{prefix}eds_maps.png"))
    prof = tables.get("eds_profiles")
    if prof is not None and len(prof):
        figs.append(save_figure(plot_eds_profiles(prof), out / f"{prefix}eds_profiles.png"))
    return figs


def register(app: typer.Typer) -> None:
    """Add ``eds`` to the app."""

    @app.command("eds")
    def eds(
        path: Annotated[
            Path,
            typer.Argument(
                help="JEOL .ASW project or .pts, .msa, .bcf, .emd, .hspy, .rpl.",
                exists=True,
                dir_okay=False,
            ),
        ],
        lines: Annotated[
            str, typer.Option("--lines", help="Comma-separated X-ray lines, e.g. S_Ka,F_Ka.")
        ] = "S_Ka,F_Ka",
        surface: Annotated[
            str | None,
            typer.Option(
                "--surface",
                help="Surface polyline x0,y0,x1,y1[,...] in pixels; default: particle edge.",
            ),
        ] = None,
        inside: Annotated[
            str, typer.Option("--inside", help="Particle side of the polyline: auto, left, right.")
        ] = "auto",
        band_width_px: Annotated[
            float | None,
            typer.Option("--band-width-px", help="Lateral band width along the surface."),
        ] = None,
        window: Annotated[int, typer.Option("--window", help="Moving-average window (bins).")] = 5,
        edge: Annotated[
            str, typer.Option("--edge", help="Moving-average edge policy: shrink, nan, valid.")
        ] = "shrink",
        max_depth_nm: Annotated[
            float | None, typer.Option("--max-depth-nm", help="Deepest profile point, nm.")
        ] = None,
        downsample: Annotated[
            int, typer.Option("--downsample", help="Sum n×n pixels at read time (power of 2).")
        ] = 1,
        cutoff_kev: Annotated[
            float | None, typer.Option("--cutoff-kev", help="Drop channels above this energy.")
        ] = None,
        edge_line: Annotated[
            str | None,
            typer.Option(
                "--edge-line", help="Line whose map gives the particle edge (default: first)."
            ),
        ] = None,
        method: Annotated[
            str,
            typer.Option(
                "--method",
                help="Net intensity: windows (linear background) or fit (lines of --elements).",
            ),
        ] = "windows",
        elements: Annotated[
            str,
            typer.Option("--elements", help="Elements present, for --method fit, e.g. C,O,F,S,Cu."),
        ] = "",
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-eds"
        ),
        as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    ) -> None:
        """Net-intensity maps and depth profiles of EDS lines (Fig 3c/d)."""

        def run() -> dict[str, Any]:
            names = [s.strip() for s in lines.split(",") if s.strip()]
            tables, summary = eds_tables(
                path,
                lines=names,
                surface=surface,
                inside=inside,
                band_width_px=band_width_px,
                window=window,
                edge=edge,
                max_depth_nm=max_depth_nm,
                downsample=downsample,
                cutoff_kev=cutoff_kev,
                edge_line=edge_line,
                method=method,
                elements=[e.strip() for e in elements.split(",") if e.strip()] or None,
            )
            out.mkdir(parents=True, exist_ok=True)
            written: list[str] = []
            for name, t in tables.items():
                if len(t):
                    written += [str(x) for x in write_table(t, out, name)]
            surf = summary.pop("_surface_xy", None)
            figs = eds_figures(tables, out, surface_xy=surf)
            summary["tables"] = written
            summary["figures"] = [str(f) for f in figs]
            summary["lines"] = tables["eds_lines"]
            summary["map_check"] = tables["eds_map_check"]
            summary["out"] = str(out)
            return summary

        result = exit_on_error(run)
        if as_json:
            echo_json(result)
        else:
            for note in result["overlap_warnings"]:
                typer.echo(f"warning: {note}", err=True)
            typer.echo(
                f"wrote {len(result['tables'])} table file(s) and {len(result['figures'])} "
                f"figure(s) to {result['out']}"
            )
