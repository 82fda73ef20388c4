"""Study plug-in: STEM-EELS line scan — t/λ, Li K and S L2,3 integrals ÷ t/λ, MA-5 (Fig 3g).

``files`` = ``{"low_loss": p, "core_loss": q}`` (either may be absent). Options (all optional):
``edges`` (list or comma string, default Li_K,S_L23), ``edge_windows`` ({name: [bg_low, bg_high,
int_low, int_high]} eV), ``zlp_threshold_ev`` (3.0), ``align`` (true), ``background_method``
("log_fit" | "two_area"), ``window`` (5). Fingerprint references (slots LiF, Li2S, Li2CO3, S) come
as extra file roles ``reference_<slot>`` (resolved by the manifest like any file), e.g.
``files = { low_loss = "ll.dm3", core_loss = "cl.dm3", reference_LiF = "refs/LiF.msa" }``, or as
``options.references = {slot = "/absolute/path"}``.

Manifest entry::

    [[spectra]]
    name = "eels_scan_1um"
    sample = "AC-S_1um"
    kind = "eels"
    files = { low_loss = "spectro/scan_ll.dm4", core_loss = "spectro/scan_cl.dm4" }
    options = { edges = ["Li_K", "S_L23"], zlp_threshold_ev = 3.0 }
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.io.eels import read_eels, read_reference_spectrum
from sulfurscope.report import save_figure
from sulfurscope.report.eels import (
    plot_core_loss,
    plot_line_scan_profile,
    plot_thickness_profile,
)
from sulfurscope.report.html import ReportSection
from sulfurscope.spectra.eels import (
    EDGE_TABLE,
    REFERENCE_SLOTS,
    EdgeIntegrals,
    EdgeWindow,
    LineScanProfile,
    ThicknessResult,
    edge_integrals,
    edge_window,
    fingerprint_pixels,
    line_scan_profile,
    relative_thickness,
)
from sulfurscope.study.analyses._common import decimate, per_task, safe_name
from sulfurscope.study.registry import register_analysis

__all__ = ["report_eels", "run_eels"]

_TABLES = ("eels_thickness", "eels_integrals", "eels_profile", "eels_spectrum", "eels_fingerprint")


def _edges(options: Mapping[str, Any]) -> list[EdgeWindow]:
    table = dict(EDGE_TABLE)
    for name, v in dict(options.get("edge_windows", {})).items():
        if len(v) != 4:
            raise SulfurscopeError(
                f"options.edge_windows[{name!r}]: expected [bg_low, bg_high, int_low, int_high]"
            )
        v = [float(x) for x in v]
        base = table.get(name) or EdgeWindow(
            name, name, v[2], (v[0], v[1]), (v[2], v[3]), (v[2], v[3])
        )
        table[name] = dataclasses.replace(
            base, background_ev=(v[0], v[1]), integral_ev=(v[2], v[3])
        )
    names = options.get("edges", ("Li_K", "S_L23"))
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    return [edge_window(str(n), edges=table) for n in names]


def _positions(data: Any) -> np.ndarray:
    if data.counts.ndim == 2:
        return np.asarray(data.navigation_nm[0], dtype=float)
    return np.arange(max(1, data.counts.size // data.counts.shape[-1]), dtype=float)


def run_eels(files: Mapping[str, Path], options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Low-loss and/or core-loss file → thickness, integrals, profile, spectrum (and fingerprint)."""
    if "low_loss" not in files and "core_loss" not in files:
        raise SulfurscopeError(
            f"eels task needs files low_loss and/or core_loss, got {sorted(files)}"
        )
    method = str(options.get("background_method", "log_fit"))
    window = int(options.get("window", 5))
    out: dict[str, pd.DataFrame] = {}
    spectra = []
    thick: ThicknessResult | None = None
    if "low_loss" in files:
        ll = read_eels(files["low_loss"])
        thick = relative_thickness(
            ll.counts,
            ll.energy_ev,
            zlp_window_ev=(None, float(options.get("zlp_threshold_ev", 3.0))),
            align=bool(options.get("align", True)),
        )
        tf = thick.to_frame()
        tf.insert(1, "Position [nm]", _positions(ll))
        tf["ZLP window high [eV]"] = thick.zlp_window_ev[1]
        out["eels_thickness"] = tf
        spectra.append(
            decimate(
                pd.DataFrame(
                    {
                        "Spectrum": "low-loss pixel 0",
                        "Energy [eV]": ll.energy_ev,
                        "Counts": ll.counts.reshape(-1, ll.energy_ev.size)[0],
                        "Dispersion [eV]": float(ll.energy_ev[1] - ll.energy_ev[0]),
                    }
                ),
                2000,
            )
        )
    if "core_loss" in files:
        cl = read_eels(files["core_loss"])
        edges = _edges(options)
        integ = edge_integrals(cl.counts, cl.energy_ev, edges, method=method)  # type: ignore[arg-type]
        it = integ.to_frame()
        it["Background method"] = method
        if thick is not None:
            tl = np.asarray(thick.t_over_lambda).ravel()
            if tl.size != cl.counts.size // cl.energy_ev.size:
                raise SulfurscopeError(
                    f"{files['low_loss'].name} has {tl.size} pixels but {files['core_loss'].name} "
                    f"has {cl.counts.size // cl.energy_ev.size}: they must be the same scan"
                )
            it["t/lambda"] = tl[it["Pixel"].to_numpy()]
            it["Integral/(t/lambda) [counts]"] = it["Integral [counts]"] / it["t/lambda"]
        out["eels_integrals"] = it
        flat = cl.counts.reshape(-1, cl.energy_ev.size)
        spectra.append(
            decimate(
                pd.DataFrame(
                    {
                        "Spectrum": "core-loss pixel 0",
                        "Energy [eV]": cl.energy_ev,
                        "Counts": flat[0],
                        "Dispersion [eV]": float(cl.energy_ev[1] - cl.energy_ev[0]),
                    }
                ),
                2000,
            )
        )
        prof = (
            line_scan_profile(_positions(cl), integ, thick, window=window)
            if flat.shape[0] == _positions(cl).size
            else None
        )
        if prof is not None:
            rows = []
            for j, name in enumerate(prof.edge_names):
                rows.append(
                    pd.DataFrame(
                        {
                            "Position [nm]": prof.position_nm,
                            "Edge": name,
                            "t/lambda": np.nan
                            if prof.t_over_lambda is None
                            else prof.t_over_lambda,
                            "Integral [counts]": prof.integral[:, j],
                            "Normalised integral [counts]": prof.normalised[:, j],
                            "Moving average [counts]": prof.smoothed[:, j],
                            "Normalised by t/lambda": prof.t_over_lambda is not None,
                            "Window [points]": prof.window,
                        }
                    )
                )
            out["eels_profile"] = pd.concat(rows, ignore_index=True)
        given = {str(k): Path(v) for k, v in dict(options.get("references", {})).items()}
        given.update(
            {
                r[len("reference_") :]: Path(p)
                for r, p in files.items()
                if r.startswith("reference_")
            }
        )
        bad = sorted(set(given) - set(REFERENCE_SLOTS))
        if bad:
            raise SulfurscopeError(
                f"eels references: unknown slot(s) {bad}, use {list(REFERENCE_SLOTS)}"
            )
        refs = {k: read_reference_spectrum(v) for k, v in given.items()}
        rows = [
            f
            for w in edges
            if not (f := fingerprint_pixels(cl.counts, cl.energy_ev, w, refs, method=method)).empty  # type: ignore[arg-type]
        ]
        if rows:
            out["eels_fingerprint"] = pd.concat(rows, ignore_index=True)[
                ["Pixel", "Edge", "Best", "Score"]
            ]
    out["eels_spectrum"] = pd.concat(spectra, ignore_index=True)
    return out


def _profile_from_table(table: pd.DataFrame) -> LineScanProfile:
    names = tuple(dict.fromkeys(table["Edge"].astype(str)))
    first = table[table["Edge"] == names[0]]
    normalised = bool(first["Normalised by t/lambda"].iloc[0])

    def col(c: str) -> np.ndarray:
        return np.stack([table.loc[table["Edge"] == n, c].to_numpy(float) for n in names], axis=1)

    return LineScanProfile(
        position_nm=first["Position [nm]"].to_numpy(float),
        t_over_lambda=first["t/lambda"].to_numpy(float) if normalised else None,
        edge_names=names,
        integral=col("Integral [counts]"),
        normalised=col("Normalised integral [counts]"),
        smoothed=col("Moving average [counts]"),
        window=int(first["Window [points]"].iloc[0]),
        edge_policy="shrink",
    )


def _core_loss_figure(integ: pd.DataFrame, spectra: pd.DataFrame, task: str) -> Any:
    """Pixel 0 of the core-loss scan with each edge's power law, from the stored tables."""
    spec = spectra[spectra["Spectrum"] == "core-loss pixel 0"]
    first = integ[integ["Pixel"] == 0]
    if spec.empty or first.empty:
        return None
    edges = tuple(
        EdgeWindow(
            str(r["Edge"]),
            str(r["Edge"]),
            float(r["Integral window low [eV]"]),
            (float(r["Background window low [eV]"]), float(r["Background window high [eV]"])),
            (float(r["Integral window low [eV]"]), float(r["Integral window high [eV]"])),
            (float(r["Integral window low [eV]"]), float(r["Integral window high [eV]"])),
        )
        for _, r in first.iterrows()
    )
    res = EdgeIntegrals(
        edges=edges,
        integral=first["Integral [counts]"].to_numpy(float),
        background_r=first["Background r"].to_numpy(float),
        background_amplitude=first["Background A"].to_numpy(float),
        background_counts=first["Background under window [counts]"].to_numpy(float),
        method=str(first["Background method"].iloc[0]),
    )
    return plot_core_loss(
        spec["Energy [eV]"].to_numpy(float),
        spec["Counts"].to_numpy(float),
        res,
        title=task,
        dispersion_ev=float(spec["Dispersion [eV]"].iloc[0]),
    )


def report_eels(tables: Mapping[str, pd.DataFrame], figdir: Path) -> list[ReportSection]:
    """One section per task: the Fig 3g profile (or t/λ alone) and the tables."""
    sections = []
    profiles = per_task(tables.get("eels_profile", pd.DataFrame()))
    thick = per_task(tables.get("eels_thickness", pd.DataFrame()))
    integ = per_task(tables.get("eels_integrals", pd.DataFrame()))
    finger = per_task(tables.get("eels_fingerprint", pd.DataFrame()))
    spectra = per_task(tables.get("eels_spectrum", pd.DataFrame()))
    for task in dict.fromkeys([*profiles, *thick, *integ]):
        figs = []
        text = []
        if task in profiles and profiles[task]["Position [nm]"].nunique() > 1:
            prof = _profile_from_table(profiles[task])
            figs.append(
                save_figure(plot_line_scan_profile(prof), figdir / f"{safe_name(task)}_profile.png")
            )
            if prof.t_over_lambda is None:
                text.append("No low-loss file: integrals are not normalised by t/λ.")
        elif task in thick and len(thick[task]) > 1:
            t = thick[task]
            res = ThicknessResult(
                t_over_lambda=t["t/lambda"].to_numpy(float),
                zlp_intensity=t["ZLP intensity [counts]"].to_numpy(float),
                total_intensity=t["Total intensity [counts]"].to_numpy(float),
                zlp_centre_ev=t["ZLP centre [eV]"].to_numpy(float),
                zlp_window_ev=(None, float(t["ZLP window high [eV]"].iloc[0])),
                aligned=True,
            )
            figs.append(
                save_figure(
                    plot_thickness_profile(t["Position [nm]"], res),
                    figdir / f"{safe_name(task)}_thickness.png",
                )
            )
        if task in integ and task in spectra:
            fig = _core_loss_figure(integ[task], spectra[task], task)
            if fig is not None:
                figs.append(save_figure(fig, figdir / f"{safe_name(task)}_core_loss.png"))
        tabs = []
        if task in integ:
            cols = [c for c in integ[task].columns if c not in ("Task", "Sample")]
            tabs.append(("Edge integrals", integ[task][cols]))
        if task in thick:
            tabs.append(("t/λ (log-ratio)", thick[task].drop(columns=["Task", "Sample"])))
        if task in finger:
            f = finger[task]
            parts = []
            for e, g in f.groupby("Edge", sort=False):
                g = g.sort_values("Pixel")
                counts = ", ".join(f"{k} {v}" for k, v in g["Best"].value_counts().items())
                parts.append(
                    f"{e}: {g['Best'].iloc[0]} at the first pixel (score "
                    f"{g['Score'].iloc[0]:.3f}); best match per pixel: {counts}"
                )
            text.append("Fingerprint — " + "; ".join(parts) + ".")
            tabs.append(("Fingerprint", f.drop(columns=["Task", "Sample"])))
        sections.append(
            ReportSection(
                f"Figure 3e–g — EELS line scan from the surface ({task})",
                " ".join(
                    [
                        "t/λ by the log-ratio method; edge integrals above a power-law background "
                        "fitted in the pre-edge window, divided by t/λ per pixel, moving average."
                    ]
                    + text
                ),
                figures=tuple(figs),
                tables=tuple(tabs),
            )
        )
    return sections


register_analysis(
    name="eels",
    kind="eels",
    run=run_eels,
    report=report_eels,
    tables=_TABLES,
    figure="Figure 3g (EELS line scan: Li K, S L2,3 ÷ t/λ, MA-5)",
    order=32,
)
