"""Report sections: for each analysis, its heading, what it computed, its figures and the tables a
reader wants to see (the full tables are in the store).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sulfurscope.report.html import ReportSection
from sulfurscope.units import Q_THEORETICAL_SULFUR_MAH_G

__all__ = ["SECTIONS", "section_for"]

Tables = Mapping[str, pd.DataFrame]


def _get(tables: Tables, name: str) -> pd.DataFrame:
    t = tables.get(name)
    return t if isinstance(t, pd.DataFrame) else pd.DataFrame()


def _keep(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return table[[c for c in columns if c in table.columns]]


def _cycling(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    cycles = _get(tables, "cycling_cycles")
    if cycles.empty:
        return []
    cols = ["Sample", "Protocol", "Sulfur mass [mg]", "Sulfur mass u [mg]", "Mass source", "Format"]
    overview = cycles.groupby("Task", sort=False)[[c for c in cols if c in cycles]].first()
    overview = overview.reset_index()
    overview["Cycles"] = cycles.groupby("Task", sort=False)["Cycle"].max().to_numpy()
    out = [("Cells", overview)]
    blocks = _get(tables, "cycling_rate_blocks")
    if not blocks.empty:
        keep = [
            "Task", "Sample", "Label", "C-rate", "Cycles", "Mean discharge capacity [mAh/g]",
            "SD discharge capacity [mAh/g]", "Mean coulombic efficiency [%]", "Fade in block [%]",
        ]
        out.append(("Rate capability per block (Fig 1e)", _keep(blocks, keep)))
    asym = _get(tables, "cycling_asymmetric")
    if not asym.empty:
        out.append(("Asymmetric rates (charge vs discharge C-rate)", asym))
    fits = _get(tables, "cycling_retention_fit")
    if not fits.empty:
        out.append(("Retention: early-fade fit (Fig 1f)", fits))
    return out


def _gitt(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    steps = _get(tables, "gitt_steps")
    if steps.empty or "Tau [s]" not in steps.columns or not steps["Tau [s]"].notna().any():
        return []
    median = (
        steps.groupby(["Sample", "Task", "Half cycle label"], sort=False)
        .agg(
            **{
                "Median tau [s]": ("Tau [s]", "median"),
                "Median overpotential [V]": ("Overpotential [V]", "median"),
                "Pulses": ("Step", "count"),
            }
        )
        .reset_index()
    )
    return [("Median τ and overpotential per half-cycle (Fig 2g–i)", median)]


def _one(name: str, title: str) -> Callable[[Tables], list[tuple[str, pd.DataFrame]]]:
    def pick(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
        t = _get(tables, name)
        return [(title, t)] if not t.empty else []

    return pick


def _gitt_scaling(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    out = []
    for name, title in (
        ("gitt_scaling", "τ ∝ L^n and D across sizes, per half-cycle"),
        ("gitt_diffusivity", "D of every rest (sphere map as τ was read)"),
    ):
        if not _get(tables, name).empty:
            out.append((title, _get(tables, name)))
    return out


def _lattice(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    out = []
    for name, title in (("lattice_spots", "FFT spots"), ("lattice_rings", "FFT rings")):
        if not _get(tables, name).empty:
            out.append((title, _get(tables, name)))
    return out


def _xps(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    comps = _get(tables, "xps_components")
    quant = _get(tables, "xps_quantification")
    out = []
    if not comps.empty:
        keep = [
            "Task", "Sample", "Region", "Component", "Function", "BE [eV]", "FWHM [eV]",
            "Area [%]", "Assignment",
        ]
        out.append(("Tables S2–S6: XPS components", _keep(comps, keep)))
    if not quant.empty:
        out.append(("Table S1 and derived sulfur numbers", quant))
    quality = _get(tables, "xps_fit_quality")
    if not quality.empty:
        out.append(("Fit quality per region", quality))
    return out


def _raman(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    s = _get(tables, "raman_summary")
    curves = _get(tables, "raman_curves")
    if s.empty or curves.empty:
        return []
    rep = curves.groupby(["Task", "Model"], sort=False)["Spectrum"].first().reset_index()
    rows = s.merge(rep, on=["Task", "Model", "Spectrum"], how="inner")
    keep = [
        "Task", "Sample", "Model", "Spectrum", "I_D/I_G (height)", "I_D/I_G (height) uncertainty",
        "I_D/I_G (area)", "I_D/I_G (area) uncertainty",
        "D position [1/cm]", "G position [1/cm]", "D FWHM [1/cm]", "G FWHM [1/cm]", "Success",
    ]
    return [("I_D/I_G per sample and model (representative spectrum; −1 = mean)", _keep(rows, keep))]


def _eds(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    lines = _get(tables, "eds_lines")
    if lines.empty:
        return []
    keep = [
        "Task", "Sample", "Line", "File", "Energy [keV]", "Peak start [keV]", "Peak end [keV]",
        "Gross counts", "Net counts", "Overlaps", "Method",
    ]
    out = [("EDS lines (windows, totals)", _keep(lines, keep))]
    depth = _get(tables, "eds_depth")
    if not depth.empty:
        out.append(
            (
                "Depth from the surface: 1/e depth and detection depth (3σ of background), "
                "fit y = B + A·exp(−z/λ), 95 % intervals by Poisson bootstrap",
                depth,
            )
        )
    check = _get(tables, "eds_map_check")
    if not check.empty:
        out.append(("Gross window sums vs JEOL .map files", check))
    return out


def _eels(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    out = []
    integ = _get(tables, "eels_integrals")
    if not integ.empty:
        out.append(("Edge integrals", integ))
    thick = _get(tables, "eels_thickness")
    if not thick.empty:
        out.append(("t/λ (log-ratio)", thick))
    depth = _get(tables, "eels_depth")
    if not depth.empty:
        out.append(
            (
                "Depth from the surface along the line scan: 1/e depth and detection depth "
                "(3σ of a deep point), fit I = B + A·exp(−z/λ) to the edge integrals (÷ t/λ), "
                "95 % intervals by parametric bootstrap",
                depth,
            )
        )
    finger = _get(tables, "eels_fingerprint")
    if not finger.empty:
        summary = (
            finger.groupby(["Task", "Edge", "Best"], sort=False)
            .agg(Pixels=("Pixel", "count"), **{"Median score": ("Score", "median")})
            .reset_index()
        )
        out.append(("Fingerprint: best reference per pixel", summary))
    return out


def _model_fit(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    out = []
    for name, title in (
        ("model_shell_scaling",
         "Larger samples from the smallest one's rate curve × active fraction (Fig 5c–e)"),
        ("model_rate_comparison", "Predicted vs measured rate capability (Fig 5c–e)"),
        ("model_parameters", "Fitted parameters"),
        ("model_active_fraction", "Active fractions (Fig 5b)"),
    ):
        t = _get(tables, name)
        if not t.empty:
            out.append((title, t.drop(columns=["Task"], errors="ignore")))
    return out


def _ci_text(r: pd.Series) -> str:
    if not np.isfinite(r["mean"]):
        return "—"
    lo, hi = r["ci95_low"], r["ci95_high"]
    ci = f" [{lo:.4g}, {hi:.4g}]" if np.isfinite(lo) and np.isfinite(hi) else " [—]"
    return f"{r['mean']:.4g}{ci} (n={int(r['n'])})"


_HEADLINE = (
    ("First-discharge capacity", None, "First discharge [mAh/g]"),
    ("Rate-block discharge capacity", None, "{key} [mAh/g]"),
    ("Mean coulombic efficiency", None, "Mean CE, cycles ≥ 2 [%]"),
    ("GITT tau", "first discharge", "τ first discharge [s]"),
)


def _condition_table(stats: pd.DataFrame) -> pd.DataFrame:
    """One row per condition and protocol: its headline metrics as mean [95 % CI] (n)."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for metric, only, name in _HEADLINE:
        s = stats[stats["metric"] == metric]
        if only is not None:
            s = s[s["cycle_or_rate"] == only]
        for _, r in s.sort_values("position", kind="stable").iterrows():
            key = (str(r["condition"]), str(r["protocol"]))
            col = name.format(key=r["cycle_or_rate"])
            rows.setdefault(key, {"Condition": key[0], "Protocol": key[1]})[col] = _ci_text(r)
    return pd.DataFrame(list(rows.values())).fillna("—")


def _replicates(tables: Tables) -> list[tuple[str, pd.DataFrame]]:
    stats = _get(tables, "condition_stats")
    out = []
    if not stats.empty:
        out.append(("Per condition: mean [95 % CI] (n cells)", _condition_table(stats)))
    comp = _get(tables, "condition_comparisons")
    if not comp.empty:
        keep = ["metric", "protocol", "cycle_or_rate", "condition_a", "condition_b", "n_a", "n_b",
                "difference", "ci95_low", "ci95_high", "unit", "method", "excludes_zero"]
        out.append(("Differences between conditions (A − B, Welch 95 % CI)", _keep(comp, keep)))
    flags = _get(tables, "cell_flags")
    if not flags.empty:
        out.append(("Flagged and excluded cells", _keep(
            flags, ["cell", "condition", "protocol", "code", "excluded", "reason"])))
    masses = _get(tables, "cell_mass_uncertainty")
    if not masses.empty:
        out.append(("Sulfur mass and its standard uncertainty per cell", _keep(
            masses, ["cell", "condition", "mass_mg", "u_mg", "u_rel_cell", "u_rel_shared",
                     "components", "error"])))
    return out


_TEXT = {
    "cycling": (
        "Figure 1 — Cycling: voltage profiles, rate capability, retention",
        "Cycles segmented from the sign of the current; capacities per gram of sulfur from the "
        "manifest's sulfur masses; C-rates relative to the theoretical capacity, 1C = "
        f"{Q_THEORETICAL_SULFUR_MAH_G:g} mAh/g_S.",
        _cycling,
    ),
    "gitt": (
        "Figure 2 — GITT: overpotential and relaxation times (Figure S4)",
        "Pulses and rests found from the Rest flag and the current sign. Overpotential = CCV − "
        "QOCV; τ read where the normalised relaxation reaches 1 − 1/e (discharge) or 1/e (charge).",
        _gitt,
    ),
    "gitt_scaling": (
        "Figure 2 — τ ∝ L^n and D across particle sizes",
        "Least squares of ln τ = ln a + n ln L per half-cycle, weighted by each τ's read-out range. "
        "Pulse-limited τ bound the transport time from below only: n is then no evidence for L². "
        "D: the exact constant-flux sphere solution τ = G(t_p D/R², t_rest/t_p)·R²/D, R = size/2, "
        "with τ modelled as it was read (V∞ = the rest's last sample, or the true asymptote), fitted "
        "across sizes by Gauss–Newton in ln D with a Student-t 95 % interval (MODEL.md, GITT "
        "interpretation). Rests whose τ is near saturation (|d ln τ/d ln D| < 0.2) are flagged and "
        "left out of the fit.",
        _gitt_scaling,
    ),
    "particles": (
        "Figure 1a–c — Particle sizes from SEM (Figure S8)",
        "Equivalent circular diameters of the segmented particles, the distribution with its "
        "Gaussian and log-normal fits, and the accepted outlines over the image.",
        _one("particle_distribution", "Size distributions"),
    ),
    "lattice": (
        "Figure 4a — HRTEM lattice fringes",
        "FFT spots and rings with their d-spacings, indexed against LiF, Li2S, S8, graphite, "
        "Li2CO3 and Li2SO4 when the image is calibrated; near-coincident candidates are flagged.",
        _lattice,
    ),
    "xps": (
        "XPS — S 2p, F 1s, Li 1s, C 1s, P 2p deconvolution",
        "Core-level regions fitted with the study's component library (Voigt doublets/singlets, "
        "S 2p splitting 1.18 eV at 2:1, P 2p 0.84 eV) on a Shirley background; atomic % from "
        "Shirley-subtracted region areas and Scofield RSFs. Reduced sulfur = (Li2S + terminal + "
        "bridging S)/all S 2p; residual S / Li2S2 / Li2S under the Li2S2 assumption.",
        _xps,
    ),
    "raman": (
        "Raman — D and G bands (Figure S1)",
        "I_D/I_G is given by peak HEIGHT and by integrated AREA: they differ because D is broader "
        "than G. Two-band: D and G Lorentzians; Sadezky: D4, D1, D2, G Lorentzian and D3 Gaussian "
        "(D = D1). Line/map files: every spectrum is fitted; figures show their mean spectrum.",
        _raman,
    ),
    "tga": (
        "TGA — sulfur content",
        "Sulfur mass fraction from the mass-loss step between the window temperatures.",
        _one("tga_fraction", "Sulfur fractions"),
    ),
    "eds": (
        "Figure 3c/d — STEM-EDS maps and profiles from the surface",
        "Net intensity per line (window ±1 FWHM with a linear background, or a per-pixel linear "
        "fit of the lines of the elements present); profiles are the mean over pixels at equal "
        "distance from the particle surface (1 px bins) with a centred moving average. Lines "
        "listed under Overlaps fall into a window and bias the window method's net intensity.",
        _eds,
    ),
    "eels": (
        "Figure 3e–g — EELS line scans from the surface",
        "t/λ by the log-ratio method; edge integrals above a power-law background fitted in the "
        "pre-edge window, divided by t/λ per pixel, moving average.",
        _eels,
    ),
    "replicates": (
        "Replicate cells — statistics per condition",
        "Cells belong to a condition (the manifest's condition, by default their sample). Per "
        "condition and metric: n cells, mean, sd and the 95 % interval of the mean — Student t on "
        "the cell-to-cell spread with the uncertainty all cells of a sample share (the sulfur "
        "fraction) added in quadrature (Welch–Satterthwaite degrees of freedom); a single cell's "
        "interval is its own sulfur-mass uncertainty (GUM product rule: weighing, area, fraction). "
        "Differences between conditions: Welch. Cells are flagged, never dropped: robust z > 3.5 on "
        "the first-discharge capacity or mean CE, early end, capacity collapse, CE outside "
        "90–105 %; only a manifest `exclude = \"reason\"` removes a cell, and the reason is "
        "listed here.",
        _replicates,
    ),
    "model_fit": (
        "Figure 5 — Particle-size model: fit and predictions",
        "Model C fitted to the smallest particles' cycling, model B's D₀ to all samples, model A's "
        "shell thickness to the capacity ratios; each sample's rate test, retention and first "
        "discharge predicted with the fitted parameters and compared with the measurements.\n\n"
        "Three active fractions appear below, each named in its column. (1) 'Geometric active "
        "fraction (1 um shell)': the paper's assumption, f(d) = 1 − (1 − 2δ/d)³ with δ = 1 µm, "
        "volume-weighted over the SEM size distribution, F = Σ n d³ f(d) / Σ n d³. (2) 'Active "
        "fraction' in the shell-scaling table: the same F with the shell δ fitted to the measured "
        "capacity ratios ('Shell [um]'). (3) 'Active fraction after formation': the share of sulfur "
        "converted in model B's first discharge (reaction–diffusion, no assumed shell). They differ "
        "by construction; the fitted ones are the measurements' answer.",
        _model_fit,
    ),
}
SECTIONS = tuple(_TEXT)


def section_for(
    analysis: str,
    tables: Tables,
    figures: Sequence[tuple[Path, str]],
    *,
    flags: pd.DataFrame | None = None,
    figure_ref: str = "",
) -> ReportSection | None:
    """The report section of ``analysis`` (None when it has neither figures nor tables to show)."""
    if analysis not in _TEXT:
        return None
    title, text, pick = _TEXT[analysis]
    shown = tuple(pick(tables))
    if not shown and not figures and (flags is None or flags.empty):
        return None
    if figure_ref:
        text = f"{text}\n\nReference study: {figure_ref}."
    return ReportSection(
        title,
        text,
        figures=tuple(p for p, _ in figures),
        tables=shown,
        captions=tuple(c for _, c in figures),
        flags=flags,
    )
