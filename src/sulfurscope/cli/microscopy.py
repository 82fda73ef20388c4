"""CLI commands for microscopy: ``sulfurscope particles`` and ``sulfurscope lattice``."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from sulfurscope.cli._common import atomic_path, jsonable
from sulfurscope.errors import FitError, SulfurscopeError, SulfurscopeWarning

__all__ = ["register"]


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


def _save_figure(fig: Any, path: Path) -> None:
    _atomic(path, lambda p: fig.savefig(p, dpi=110, format=path.suffix.lstrip(".")))


def _write_csv(frame: Any, path: Path) -> None:
    frame.to_csv(path, index=False)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


def _parse_phase(text: str) -> Any:
    """``NAME:a[,b,c[,alpha,beta,gamma]][:CENTRING]`` → Phase."""
    from sulfurscope.microscopy.lattice import Phase

    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise typer.BadParameter(
            f"--phase {text!r}: expected NAME:a[,b,c[,alpha,beta,gamma]][:CENTRING], "
            "e.g. SrTiO3:3.905:P"
        )
    try:
        nums = [float(v) for v in parts[1].split(",")]
    except ValueError as exc:
        raise typer.BadParameter(f"--phase {text!r}: lattice constants must be numbers") from exc
    if len(nums) not in (1, 3, 6):
        raise typer.BadParameter(f"--phase {text!r}: give 1, 3 or 6 numbers (Å and degrees)")
    kw: dict[str, Any] = {"a_angstrom": nums[0]}
    if len(nums) >= 3:
        kw.update(b_angstrom=nums[1], c_angstrom=nums[2])
    if len(nums) == 6:
        kw.update(alpha_deg=nums[3], beta_deg=nums[4], gamma_deg=nums[5])
    if len(parts) == 3:
        kw["centring"] = parts[2].upper()
    return Phase(parts[0], **kw)


def _number_or_auto(text: str, option: str, *, keep_words: bool = False) -> Any:
    """``"auto"`` stays ``"auto"``, a number becomes a float; other words are kept for
    ``keep_words`` options (method names) and rejected otherwise."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        if keep_words:
            return text
        raise ValueError(f"{option} must be 'auto' or a number, got {text!r}") from None


def register(app: typer.Typer) -> None:
    """Add ``particles`` and ``lattice`` to app."""

    @app.command("particles")
    def particles(
        images: Annotated[
            list[Path], typer.Argument(help="SEM/TEM images (tif, hspy, jpg, png...)")
        ],
        out: Annotated[Path, typer.Option("--out", help="Output folder")],
        pixel_size_nm: Annotated[
            float | None, typer.Option("--pixel-size-nm", help="Pixel size (overrides the file's)")
        ] = None,
        rois: Annotated[
            Path | None,
            typer.Option("--rois", help="Fiji ROI set (.zip/.roi) instead of segmentation"),
        ] = None,
        data_bar_row: Annotated[
            int | None,
            typer.Option("--data-bar-row", help="First row of the data bar (else detected)"),
        ] = None,
        no_crop: Annotated[
            bool, typer.Option("--no-crop", help="Do not look for a data bar")
        ] = False,
        invert: Annotated[
            bool, typer.Option("--invert", help="Particles darker than background")
        ] = False,
        threshold: Annotated[
            str,
            typer.Option(
                "--threshold", help="auto | otsu | multiotsu | local | background | none | a number"
            ),
        ] = "auto",
        smooth_sigma_px: Annotated[float, typer.Option("--smooth-sigma-px")] = 1.0,
        background: Annotated[
            str, typer.Option("--background", help="auto | none | gaussian | tophat")
        ] = "auto",
        background_radius_px: Annotated[
            str, typer.Option("--background-radius-px", help="auto | a radius in px")
        ] = "auto",
        split: Annotated[
            str, typer.Option("--split", help="distance | intensity | gradient | none")
        ] = "distance",
        split_depth: Annotated[
            str, typer.Option("--split-depth", help="auto | a seed depth")
        ] = "auto",
        min_distance_px: Annotated[int, typer.Option("--min-distance-px")] = 3,
        fill_holes: Annotated[bool, typer.Option("--fill-holes")] = False,
        keep_edge: Annotated[bool, typer.Option("--keep-edge", help="Keep edge particles")] = False,
        min_area_px: Annotated[
            str, typer.Option("--min-area-px", help="auto | an area in px")
        ] = "auto",
        sample_size: Annotated[int, typer.Option("--sample-size", help="0 = all")] = 300,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        truth_mask: Annotated[
            Path | None, typer.Option("--truth-mask", help="Truth mask image (scores one image)")
        ] = None,
        truth_particle_value: Annotated[int, typer.Option("--truth-particle-value")] = 0,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout")] = False,
    ) -> None:
        """Particle sizes: segmentation (or Fiji ROIs), per-particle table, distribution, figures."""
        from sulfurscope.io.images import read_image, read_rois
        from sulfurscope.microscopy.calibration import crop_data_bar
        from sulfurscope.microscopy.particles import (
            labels_from_polygons,
            match_particles,
            measure_particles,
            segment_particles,
            segmentation_parameters,
            size_distribution,
        )
        from sulfurscope.report.microscopy import particle_overlay_figure, size_histogram_figure

        results = []
        try:
            thr: Any = _number_or_auto(threshold, "--threshold", keep_words=True)
            radius = _number_or_auto(background_radius_px, "--background-radius-px")
            depth = _number_or_auto(split_depth, "--split-depth")
            min_area = _number_or_auto(min_area_px, "--min-area-px")
            if min_area != "auto":
                min_area = int(min_area)
            out.mkdir(parents=True, exist_ok=True)
            if truth_mask is not None and len(images) != 1:
                raise SulfurscopeError("--truth-mask scores one image: give exactly one IMAGE")
            for path in images:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", SulfurscopeWarning)
                    mic = read_image(path, pixel_size_nm=pixel_size_nm)
                px = mic.calibration.pixel_size_nm
                if no_crop and data_bar_row is None:
                    image, bar = crop_data_bar(mic.image, detect=False)
                else:
                    image, bar = crop_data_bar(mic.image, row=data_bar_row)
                if rois is not None:
                    labels = labels_from_polygons(read_rois(rois), image.shape)
                    method = f"Fiji ROIs {rois.name}"
                    segmentation = None
                else:
                    settings = segmentation_parameters(
                        image,
                        invert=invert,
                        smooth_sigma_px=smooth_sigma_px,
                        threshold=thr,
                        background=background,  # type: ignore[arg-type]
                        background_radius_px=radius,
                        split=split,  # type: ignore[arg-type]
                        split_depth=depth,
                        min_distance_px=min_distance_px,
                        fill_holes=fill_holes,
                        exclude_edge=not keep_edge,
                        min_area_px=min_area,
                    )
                    # segment with the resolved settings (the threshold as its method, so a
                    # local threshold stays local)
                    labels = segment_particles(
                        image,
                        invert=invert,
                        smooth_sigma_px=smooth_sigma_px,
                        threshold=thr if thr != "auto" else settings.threshold,  # type: ignore[arg-type]
                        background=settings.background,  # type: ignore[arg-type]
                        background_radius_px=settings.background_radius_px,
                        split=split,  # type: ignore[arg-type]
                        split_depth=settings.split_depth,
                        min_distance_px=min_distance_px,
                        fill_holes=fill_holes,
                        exclude_edge=not keep_edge,
                        min_area_px=settings.min_area_px,
                    )
                    segmentation = settings.to_dict()
                    method = "segmentation"
                table = measure_particles(labels, pixel_size_nm=px)
                ecd_col = next(c for c in table.columns if c.startswith("Equivalent diameter"))
                unit = ecd_col[ecd_col.index("[") + 1 : -1]
                stem = path.stem
                _atomic(out / f"{stem}_particles.csv", partial(_write_csv, table))
                record: dict[str, Any] = {
                    "image": str(path),
                    "shape": list(mic.image.shape),
                    "calibration": mic.calibration.to_dict(),
                    "data_bar": bar.to_dict(),
                    "method": method,
                    "segmentation": segmentation,
                    "n_particles": len(table),
                    "length_unit": unit,
                    "warnings": [str(w.message) for w in caught],
                }
                if px is None:
                    record["note"] = "no calibration: sizes are in pixels"
                try:
                    dist = size_distribution(
                        table[ecd_col].to_numpy(),
                        sample_size=sample_size or None,
                        seed=seed,
                        length_unit=unit,
                    )
                    _atomic(
                        out / f"{stem}_distribution.csv",
                        partial(_write_csv, dist.to_frame()),
                    )
                    stats = dist.to_dict()
                    stats.pop("diameters")
                    record["distribution"] = stats
                    fig = size_histogram_figure(dist, title=path.name)
                    _save_figure(fig, out / f"{stem}_histogram.png")
                except FitError as exc:
                    record["distribution"] = None
                    record["distribution_error"] = str(exc)
                fig = particle_overlay_figure(image, labels, title=path.name, pixel_size_nm=px)
                _save_figure(fig, out / f"{stem}_overlay.png")
                if truth_mask is not None:
                    truth = read_image(truth_mask).image[: image.shape[0]]
                    from scipy import ndimage as ndi

                    tl, _ = ndi.label(truth == truth_particle_value)
                    if not keep_edge:
                        edge = np.unique(np.concatenate([tl[0], tl[-1], tl[:, 0], tl[:, -1]]))
                        tl[np.isin(tl, edge[edge > 0])] = 0
                    record["accuracy"] = match_particles(labels, tl).to_dict()
                results.append(record)
            summary = jsonable({"images": results})
            _atomic(
                out / "particles_summary.json",
                lambda p: p.write_text(json.dumps(summary, indent=2)),
            )
        except (SulfurscopeError, FileNotFoundError, ValueError) as exc:
            _fail(exc)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            for r in results:
                d = r.get("distribution")
                size = (
                    f"ECD {d['number_mean']:.3g} ± {d['number_sd']:.2g} {r['length_unit']}"
                    if d
                    else r.get("distribution_error", "")
                )
                typer.echo(
                    f"{Path(r['image']).name}: {r['n_particles']} particles, {size}"
                    f" ({r['calibration']['note']})"
                )

    @app.command("lattice")
    def lattice(
        image: Annotated[Path, typer.Argument(help="HRTEM/STEM image")],
        out: Annotated[Path, typer.Option("--out", help="Output folder")],
        pixel_size_nm: Annotated[
            float | None, typer.Option("--pixel-size-nm", help="Pixel size (overrides the file's)")
        ] = None,
        region: Annotated[
            str | None, typer.Option("--region", help="row0,row1,col0,col1 to analyse")
        ] = None,
        phase: Annotated[
            list[str] | None,
            typer.Option("--phase", help="Extra phase NAME:a[,b,c[,al,be,ga]][:CENTRING]"),
        ] = None,
        only_phases: Annotated[
            bool, typer.Option("--only-phases", help="Use only the --phase phases")
        ] = False,
        calibrate_with: Annotated[
            str | None, typer.Option("--calibrate-with", help="Phase to refine the calibration")
        ] = None,
        tolerance: Annotated[
            float, typer.Option("--tolerance", help="Relative d tolerance")
        ] = 0.02,
        snr_min: Annotated[float, typer.Option("--snr-min")] = 30.0,
        max_spots: Annotated[int, typer.Option("--max-spots")] = 24,
        filter_spots: Annotated[
            str | None, typer.Option("--filter-spots", help="Spot indices for the filtered image")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout")] = False,
    ) -> None:
        """Lattice spacings by FFT: spots, rings, indexing, calibration refinement, filtered image."""
        from sulfurscope.io.images import read_image
        from sulfurscope.microscopy.lattice import (
            REFERENCE_PHASES,
            correct_spots,
            fft_filter,
            index_spots,
            lattice_spacings,
            refine_calibration,
            spot_angles,
        )
        from sulfurscope.report.microscopy import lattice_figure

        try:
            out.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SulfurscopeWarning)
                mic = read_image(image, pixel_size_nm=pixel_size_nm)
            px = mic.calibration.pixel_size_nm
            reg = None
            if region:
                try:
                    reg = tuple(int(v) for v in region.split(","))
                except ValueError as exc:
                    raise SulfurscopeError(f"--region {region!r}: four integers") from exc
                if len(reg) != 4:
                    raise SulfurscopeError(f"--region {region!r}: expected row0,row1,col0,col1")
            phases = [_parse_phase(p) for p in (phase or [])]
            if not only_phases:
                phases += list(REFERENCE_PHASES)
            res = lattice_spacings(
                mic.image,
                pixel_size_nm=px,
                region=reg,  # type: ignore[arg-type]
                snr_min=snr_min,
                max_spots=max_spots,
            )
            record: dict[str, Any] = {
                "image": str(image),
                "calibration": mic.calibration.to_dict(),
                "warnings": [str(w.message) for w in caught],
            }
            spots = res.spots
            if calibrate_with:
                if px is None:
                    raise SulfurscopeError(
                        "--calibrate-with needs a nominal pixel size (--pixel-size-nm)"
                    )
                ref_phase = next((p for p in phases if p.name == calibrate_with), None)
                if ref_phase is None:
                    raise SulfurscopeError(
                        f"--calibrate-with {calibrate_with!r}: not among the phases "
                        f"{[p.name for p in phases]}"
                    )
                refinement = refine_calibration(spots, ref_phase, pixel_size_nm=px)
                spots = correct_spots(spots, refinement, pixel_size_nm=px)
                record["calibration_refinement"] = refinement.to_dict()
            indexed = None
            if px is not None and len(spots):
                indexed = index_spots(spots, phases, tolerance=tolerance)
                table = indexed
            else:
                table = spots
                if px is None:
                    record["note"] = "no calibration: spacings in pixels, no phase matching"
            _atomic(out / f"{image.stem}_spots.csv", lambda p: table.to_csv(p, index=False))
            _atomic(out / f"{image.stem}_rings.csv", lambda p: res.rings.to_csv(p, index=False))
            record["spots"] = table.to_dict(orient="records")
            record["angles"] = spot_angles(spots.head(12)).to_dict(orient="records")
            record["rings"] = res.rings.to_dict(orient="records")
            filtered = None
            if len(spots):
                if filter_spots:
                    chosen = [int(v) for v in filter_spots.split(",")]
                    if any(not 0 <= c < len(spots) for c in chosen):
                        raise SulfurscopeError(
                            f"--filter-spots {filter_spots}: indices must be < {len(spots)}"
                        )
                else:
                    chosen = list(range(min(6, len(spots))))
                crop = mic.image
                if reg is not None:
                    crop = crop[reg[0] : reg[1], reg[2] : reg[3]]
                freq = spots[["fx [1/px]", "fy [1/px]"]].to_numpy()[chosen]
                filtered = fft_filter(crop, freq, radius=2.0 / min(crop.shape))
                record["filtered_spots"] = chosen
            shown = mic.image if reg is None else mic.image[reg[0] : reg[1], reg[2] : reg[3]]
            fig = lattice_figure(shown, res, indexed=indexed, filtered=filtered, title=image.name)
            _save_figure(fig, out / f"{image.stem}_lattice.png")
            summary = jsonable(record)
            _atomic(
                out / f"{image.stem}_lattice.json",
                lambda p: p.write_text(json.dumps(summary, indent=2)),
            )
        except (SulfurscopeError, FileNotFoundError, ValueError) as exc:
            _fail(exc)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            unit = res.length_unit
            typer.echo(
                f"{image.name}: {len(table)} spots, {len(res.rings)} rings ({mic.calibration.note})"
            )
            for i, row in table.iterrows():
                tag = f" {row['Phase']}{row['hkl']}" if "Phase" in row and row["Phase"] else ""
                amb = " (ambiguous)" if "Ambiguous" in row and row["Ambiguous"] else ""
                typer.echo(
                    f"  spot {i}: d = {row[f'd [{unit}]']:.4g} {unit}, "
                    f"azimuth {row['Azimuth [deg]']:.1f} deg{tag}{amb}"
                )
            for _, row in res.rings.head(3).iterrows():
                typer.echo(f"  ring: d = {row[f'd [{unit}]']:.4g} {unit}")
