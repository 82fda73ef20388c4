"""``sulfurscope demo``: simulate a small study like the reference one, then analyse its files.

The simulated study (three particle sizes; a rate test, a long cycling test and a GITT each) is drawn
from the particle-size model and written as EC-Lab .mpt files; the demo then reads those files back and
runs every analysis on them exactly as on measured files: cycling (Fig 1d–f), GITT (Fig 2, S4), the
active-shell prediction (Fig 5b–e) and the model fit, and writes one HTML report. Everything the demo
writes is simulated data and is labelled so (file headers, README, report).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from sulfurscope.cli._common import echo_json, exit_on_error, write_table, write_text
from sulfurscope.cli.cycling import analyse_cycling_files
from sulfurscope.cli.gitt import analyse_gitt_files
from sulfurscope.cli.model import fit_study_results
from sulfurscope.cycling import make_cell, voltage_profiles
from sulfurscope.io import read_cycler
from sulfurscope.io.images import read_image
from sulfurscope.microscopy import (
    crop_data_bar,
    measure_particles,
    segment_particles,
    size_distribution,
)
from sulfurscope.microscopy.lattice import (
    REFERENCE_PHASES,
    fft_filter,
    index_spots,
    lattice_spacings,
)
from sulfurscope.model import gaussian_distribution, measured_distribution, predict_rate_capability
from sulfurscope.report import (
    plot_active_fraction,
    plot_first_discharge_comparison,
    plot_rate_predictions,
    save_figure,
)
from sulfurscope.report.html import ReportSection, write_html_report
from sulfurscope.report.microscopy import (
    lattice_figure,
    particle_overlay_figure,
    size_histogram_figure,
)
from sulfurscope.simulate.microscopy import render_hrtem, render_sem, write_tiff_with_sidecar
from sulfurscope.simulate.study import SIMULATED_NOTE, SimulatedCell, simulate_study

__all__ = ["register", "run_demo"]


def _rate_table(cycling: dict[str, Any], cells: list[SimulatedCell]) -> pd.DataFrame:
    by_label = {c.label: c for c in cells}
    rows = []
    for entry in cycling["cells"]:
        sim = by_label[entry["label"]]
        if sim.protocol != "rate":
            continue
        for block in entry.get("rate_capability", []):
            rows.append(
                {
                    "Sample": sim.sample,
                    "Particle size [um]": sim.particle_size_um,
                    "Rate": block["Label"],
                    "C-rate": block["C-rate"],
                    "Cycles": block["Cycles"],
                    "Mean discharge capacity [mAh/g]": block["Mean discharge capacity [mAh/g]"],
                    "SD discharge capacity [mAh/g]": block["SD discharge capacity [mAh/g]"],
                }
            )
    return pd.DataFrame(rows)


def _particles_section(cells: list[SimulatedCell], out: Path, *, seed: int) -> dict[str, Any]:
    """Fig 1a–c: simulated SEM images per sample → segmentation → size distributions.

    Each sample's particle table is also written next to its rate test as ``<cell>_particles.csv``, the
    layout ``sulfurscope model fit`` reads, so the model uses the measured distributions.
    """
    rng = np.random.default_rng(seed + 1)
    samples = {c.sample: c for c in cells if c.protocol == "rate"}
    rows, figures, tables = [], [], {}
    for name, cell in samples.items():
        sim = render_sem(
            cell.particle_size_um,
            cell.particle_sd_um,
            pixel_size_nm=cell.particle_size_um * 1000.0 / 45.0,
            rng=rng,
        )
        tif = write_tiff_with_sidecar(
            sim, out.parent / "raw" / "sem" / f"{name}.tif", note=SIMULATED_NOTE
        )
        mic = read_image(tif)
        image, bar = crop_data_bar(mic.image)
        labels = segment_particles(image)
        table = measure_particles(labels, pixel_size_nm=mic.calibration.pixel_size_nm)
        col = next(c for c in table.columns if c.startswith("Equivalent diameter"))
        unit = col[col.index("[") + 1 : -1]
        dist = size_distribution(
            table[col].to_numpy(), sample_size=300, seed=seed, length_unit=unit
        )
        write_table(table, out, f"{name}_particles", parquet=False)
        write_table(
            table, out.parent / "cycling" / "rate", f"{cell.label}_particles", parquet=False
        )
        tables[name] = (table, col)
        figures.append(
            save_figure(
                size_histogram_figure(dist, title=f"{name} (simulated SEM)"),
                out / f"{name}_histogram.png",
            )
        )
        figures.append(
            save_figure(
                particle_overlay_figure(
                    image, labels, title=name, pixel_size_nm=mic.calibration.pixel_size_nm
                ),
                out / f"{name}_overlay.png",
            )
        )
        to_um = {"um": 1.0, "nm": 1e-3, "mm": 1e3}.get(unit, float("nan"))
        d = dist.to_dict()
        rows.append(
            {
                "Sample": name,
                "Pixel size [nm]": mic.calibration.pixel_size_nm,
                "Calibration": mic.calibration.source,
                "Particles": len(table),
                "Number mean [um]": float(d["number_mean"]) * to_um,  # type: ignore[arg-type]
                "Number sd [um]": float(d["number_sd"]) * to_um,  # type: ignore[arg-type]
                "Volume-weighted mean [um]": float(d["volume_mean"]) * to_um,  # type: ignore[arg-type]
                "True mean [um]": float(np.mean(sim.diameters_um)),
                "True sd [um]": float(np.std(sim.diameters_um, ddof=1)),
            }
        )
    summary = pd.DataFrame(rows)
    write_table(summary, out, "particle_sizes", parquet=False)
    return {"summary": summary, "figures": figures, "tables": tables}


def _lattice_section(out: Path, *, seed: int) -> dict[str, Any]:
    """Fig 4a: FFT of a simulated HRTEM image of a discharged surface: LiF (111) and Li2S (111)."""
    sim = render_hrtem(rng=np.random.default_rng(seed + 2))
    res = lattice_spacings(sim.image, pixel_size_nm=sim.pixel_size_nm)
    indexed = index_spots(res.spots, list(REFERENCE_PHASES), tolerance=0.02)
    freq = res.spots[["fx [1/px]", "fy [1/px]"]].to_numpy()
    filtered = fft_filter(sim.image, freq, radius=2.0 / min(sim.image.shape))
    fig = lattice_figure(
        sim.image, res, indexed=indexed, filtered=filtered, title="simulated HRTEM"
    )
    out.mkdir(parents=True, exist_ok=True)
    keep = [c for c in indexed.columns if c not in ("Candidates",)]
    table = indexed[keep]
    write_table(table, out, "lattice_spots", parquet=False)
    return {"table": table, "figures": [save_figure(fig, out / "hrtem_fft.png")]}


def _model_section(
    rate: pd.DataFrame, cells: list[SimulatedCell], out: Path, particles: dict[str, Any]
) -> dict[str, Any]:
    """Fig 5: predict the larger particles from the smallest one (study scaling) over the SEM-measured
    size distributions, then fit the model to all rate tests."""
    out.mkdir(parents=True, exist_ok=True)
    samples = {c.sample: c for c in cells if c.protocol == "rate"}
    ref_name = min(samples, key=lambda k: samples[k].particle_size_um)
    ref_table = rate[(rate["Sample"] == ref_name) & (rate["Cycles"] > 1)]
    measured_tables = particles["tables"]
    dists = {
        name: (
            measured_distribution(
                measured_tables[name][0], column=measured_tables[name][1], bins=24
            )
            if name in measured_tables
            else gaussian_distribution(c.particle_size_um, c.particle_sd_um, n_classes=24)
        )
        for name, c in samples.items()
    }
    ref_dist = dists[ref_name]
    preds = {
        name: predict_rate_capability(
            ref_table, dist, shell_um=1.0, reference_distribution=ref_dist
        )
        for name, dist in dists.items()
        if name != ref_name
    }
    measured = {name: rate[(rate["Sample"] == name) & (rate["Cycles"] > 1)] for name in preds}
    frames = []
    for name, p in preds.items():
        f = p.to_frame()
        f.insert(0, "Sample", name)
        m = (
            measured[name]
            .groupby("C-rate", as_index=False)["Mean discharge capacity [mAh/g]"]
            .mean()
        )
        f["Measured capacity [mAh/g]"] = [
            float(m.iloc[(m["C-rate"] - c).abs().argmin()]["Mean discharge capacity [mAh/g]"])
            for c in f[f.columns[1]]
        ]
        frames.append(f)
    pred_table = pd.concat(frames, ignore_index=True)
    write_table(pred_table, out, "rate_predictions", parquet=False)
    figures = [
        save_figure(plot_active_fraction(dists, shell_um=1.0), out / "fig5b_active_fraction.png"),
        save_figure(plot_rate_predictions(preds, measured), out / "fig5cde_rate_predictions.png"),
    ]
    fit = fit_study_results(out.parent / "cycling" / "rate", out / "fit")
    figures += [Path(f) for f in fit["files"] if str(f).endswith(".png")]
    # the fitted model's first discharge against the measured one, per sample
    predicted = pd.read_csv(out / "fit" / "predicted_first_discharge.csv")
    measured_first = {}
    for c in cells:
        if c.protocol == "rate":
            prof = voltage_profiles(
                read_cycler(c.path).frame, sulfur_mass_mg=c.sulfur_mass_mg, cycles=[1]
            ).table
            measured_first[c.label] = prof[prof["Direction"] == "discharge"]
    figures.append(
        save_figure(
            plot_first_discharge_comparison(predicted, measured_first),
            out / "first_discharge_model_vs_measured.png",
        )
    )
    return {"predictions": pred_table, "fit": fit, "figures": figures}


def run_demo(out: Path, *, seed: int = 2026, show_progress: bool = False) -> dict[str, Any]:
    """Simulate the study into ``out/raw`` and analyse it; return a JSON-ready summary."""
    t0 = time.perf_counter()
    cells = simulate_study(out / "raw", seed=seed)
    by_protocol = {p: [c for c in cells if c.protocol == p] for p in ("rate", "long", "gitt")}
    cycling: dict[str, Any] = {"cells": [], "figures": []}
    for protocol in ("rate", "long"):
        group = by_protocol[protocol]
        part = analyse_cycling_files(
            [Path(c.path) for c in group],
            [make_cell(label=c.label, sulfur_mass_mg=c.sulfur_mass_mg) for c in group],
            out / "cycling" / protocol,
            show_progress=show_progress,
        )
        cycling["cells"] += part["cells"]
        cycling["figures"] += part["figures"]
    rate = _rate_table(cycling, cells)
    rate_files = by_protocol["rate"]
    samples = pd.DataFrame(
        {
            "Sample": [c.label for c in rate_files],
            "Mean diameter [um]": [c.particle_size_um for c in rate_files],
            "SD diameter [um]": [c.particle_sd_um for c in rate_files],
            "Distribution": "gaussian",
        }
    )
    write_table(samples, out / "cycling" / "rate", "samples", parquet=False)
    write_table(rate, out, "rate_capability_by_size", parquet=False)
    gitt_cells = by_protocol["gitt"]
    gitt = analyse_gitt_files(
        [Path(c.path) for c in gitt_cells],
        [c.sulfur_mass_mg for c in gitt_cells],
        out / "gitt",
        v0="first_rest_point",
        labels=[c.label for c in gitt_cells],
        sizes_um=[c.particle_size_um for c in gitt_cells],
    )
    tau = pd.concat([c["steps"] for c in gitt["cells"]], ignore_index=True)
    tau_summary = (
        tau.assign(
            **{
                "Particle size [um]": tau["Cell"].map(
                    {c.label: c.particle_size_um for c in gitt_cells}
                )
            }
        )
        .groupby(["Half cycle label", "Particle size [um]"], sort=False)["Tau [s]"]
        .median()
        .rename("Median tau [s]")
        .reset_index()
    )
    write_table(tau_summary, out, "gitt_tau_by_size", parquet=False)
    particles = _particles_section(cells, out / "particles", seed=seed)
    lattice = _lattice_section(out / "lattice", seed=seed)
    model = _model_section(rate, cells, out / "model", particles)
    fast = rate[rate["Rate"] == "C/2.5"].sort_values("Particle size [um]")
    sections = [
        ReportSection(
            "The simulated study",
            f"{SIMULATED_NOTE}. Three carbon–sulfur samples with Gaussian particle-size distributions "
            "(8, 4 and 1 um mean, 30 % relative spread) were simulated with sulfurscope's particle-size "
            "model (CEI-forming first discharge by reaction–diffusion, later cycles with charge-limited "
            "kinetics and early fade), each cycled in a rate test (C/10 formation, then 5 cycles at each of "
            "C/40, C/20, C/10, C/5, C/2.5), a long test at C/2.5 and a GITT (C/10 pulses of 100 mAh/g_S, "
            "2 h rests). The files were written as EC-Lab .mpt text and read back like measured files.",
            tables=(("Cells", pd.DataFrame([_cell_row(c) for c in cells])),),
        ),
        ReportSection(
            "Particle sizes from SEM (Fig 1a–c, Fig S8)",
            "Simulated SEM images (Hitachi-style sidecar with the pixel size, burnt-in data bar) segmented "
            "by sulfurscope: equivalent circular diameters, a seeded sample of 300 particles, Gaussian and "
            "log-normal fits. The true mean and sd of the rendered particles are given for comparison.",
            figures=tuple(particles["figures"]),
            tables=(("Size distributions", particles["summary"]),),
        ),
        ReportSection(
            "Rate capability and voltage profiles (Fig 1d, 1e)",
            "Capacity per C-rate block (mean ± sd of 5 cycles) for each particle size.",
            figures=tuple(Path(f) for f in cycling["figures"] if "/rate/" in f),
            tables=(("Capacity at C/2.5", fast),),
        ),
        ReportSection(
            "Long cycling and retention (Fig 1f)",
            "Q_n/Q_2 and Q_n/Q_n-1 with the early-fade fit Q_N = Q_inf + (Q_2 − Q_inf) exp(−(N−2)/N_c).",
            figures=tuple(Path(f) for f in cycling["figures"] if "/long/" in f),
        ),
        ReportSection(
            "GITT: overpotential and relaxation times (Fig 2, Fig S4)",
            "τ read where the normalised relaxation reaches 1 − 1/e on discharge and 1/e on charge "
            "(V0 = first rest point); the transport-scaling table fits τ ∝ L^n per half-cycle and says when "
            "τ is pulse-limited.",
            figures=tuple(Path(f) for f in gitt["figures"]),
            tables=tuple(
                [("Median τ by half-cycle and size", tau_summary)]
                + (
                    [("Transport scaling", gitt["transport_scaling"])]
                    if "transport_scaling" in gitt
                    else []
                )
            ),
        ),
        ReportSection(
            "HRTEM lattice fringes (Fig 4a)",
            "FFT of a simulated HRTEM image of a discharged particle's surface: spots indexed against LiF, "
            "Li2S, S8, graphite, Li2CO3 and Li2SO4; near-coincident candidates are listed and flagged.",
            figures=tuple(lattice["figures"]),
            tables=(("Indexed FFT spots", lattice["table"]),),
        ),
        ReportSection(
            "Active shell model (Fig 5b–e) and model fit",
            "Larger particles predicted from the smallest particles' rate curve with the study's active "
            "shell (δ = 1 um, volume-weighted over the size distribution, with the C/F rate correction), "
            "then the model fitted to all three rate tests.",
            figures=tuple(model["figures"]),
            tables=(("Predicted vs measured", model["predictions"]),),
        ),
    ]
    report = write_html_report(
        out / "report.html", sections, title="sulfurscope demo", note=SIMULATED_NOTE
    )
    lines = [
        "# sulfurscope demo",
        "",
        f"**{SIMULATED_NOTE}.** The files in `raw/` were simulated by sulfurscope's particle-size model",
        "(three samples: ~8, ~4 and ~1 um particles; rate test, long cycling and GITT each), written as",
        "EC-Lab .mpt text, then read back and analysed like measured files. Open `report.html`.",
        "",
        "- `raw/`: simulated .mpt files and `manifest.json` (sulfur masses, sizes, model parameters, seed)",
        "- `cycling/rate/`, `cycling/long/`: summaries, rate capability, retention (CSV + Parquet), figures",
        "- `gitt/`: per-step GITT tables, relaxation times, Fig 2 / S4 figures, transport scaling",
        "- `particles/`: SEM particle tables, size distributions, histograms and outlines (Fig 1a–c)",
        "- `lattice/`: HRTEM FFT spots indexed to LiF (111) and Li2S (111) (Fig 4a)",
        "- `model/`: Fig 5 predictions from the smallest particles and the fitted model",
        "- `rate_capability_by_size.csv`, `gitt_tau_by_size.csv`: the study's headline numbers",
        "",
        "Capacity at C/2.5 (mAh/g_S):",
    ]
    lines += [
        f"- {r['Particle size [um]']:g} um: {r['Mean discharge capacity [mAh/g]']:.0f}"
        for _, r in fast.iterrows()
    ]
    write_text("\n".join(lines) + "\n", out / "README.md")
    return {
        "note": SIMULATED_NOTE,
        "out": str(out),
        "report": str(report),
        "files": [c.path for c in cells],
        "figures": [
            str(f)
            for f in cycling["figures"]
            + gitt["figures"]
            + particles["figures"]
            + lattice["figures"]
            + model["figures"]
        ],
        "particle_sizes": particles["summary"],
        "lattice_spots": lattice["table"],
        "rate_capability_by_size": rate,
        "gitt_tau_by_size": tau_summary,
        "rate_predictions": model["predictions"],
        "seconds": time.perf_counter() - t0,
    }


def _cell_row(c: SimulatedCell) -> dict[str, Any]:
    return {
        "Cell": c.label,
        "Particle size [um]": c.particle_size_um,
        "SD [um]": round(c.particle_sd_um, 3),
        "Protocol": c.protocol,
        "Sulfur mass [mg]": c.sulfur_mass_mg,
        "Loading [mg/cm2]": round(c.loading_mg_cm2, 3),
    }


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""

    @app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-demo"
        ),
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the simulation.")] = 2026,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Simulate a study like the reference one (SIMULATED DATA) and analyse it end to end."""
        result = exit_on_error(lambda: run_demo(out, seed=seed, show_progress=not as_json))
        if as_json:
            echo_json(result)
            return
        typer.echo(SIMULATED_NOTE)
        typer.echo(
            f"wrote {len(result['files'])} simulated files and {len(result['figures'])} figures to {out}/"
        )
        fast = result["rate_capability_by_size"]
        for _, r in fast[fast["Rate"] == "C/2.5"].sort_values("Particle size [um]").iterrows():
            typer.echo(
                f"  {r['Particle size [um]']:g} um at C/2.5: {r['Mean discharge capacity [mAh/g]']:.0f} mAh/g_S"
            )
        typer.echo(f"report: {result['report']}  ({result['seconds']:.0f} s)")
