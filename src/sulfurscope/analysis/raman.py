"""Raman D/G bands of the carbons (Figure S1).

:func:`analyse_raman` is the one implementation behind ``sulfurscope raman`` and the pipeline's Raman
tasks (:func:`sulfurscope.spectra.raman.raman_tables` on every spectrum and on the mean of a line/map).

Tables
------
``raman_summary``  one row per spectrum and model (``Spectrum`` −1 = the mean of a line/map file)
``raman_bands``    one row per spectrum, model and band
``raman_curves``   the representative fit of each model: data, baseline, envelope and bands
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sulfurscope.analysis._common import finish
from sulfurscope.analysis._options import Options, choice, flag, integer, numbers, texts
from sulfurscope.analysis._result import AnalysisResult, Flag, source

__all__ = ["TABLES", "RamanOptions", "analyse_raman", "run_files"]

TABLES = ("raman_summary", "raman_bands", "raman_curves")
MODELS = ("two-band", "sadezky")


@dataclass(frozen=True, slots=True)
class RamanOptions(Options):
    """Options of :func:`analyse_raman`."""

    models: tuple[str, ...] = texts(
        MODELS, "Band models to fit: two-band (D + G) and/or sadezky (five bands).", choices=MODELS
    )
    shift_range_cm1: tuple[float, ...] = numbers(
        (1000.0, 2000.0), "Raman-shift range fitted (low, high).", unit="cm⁻¹", length=2
    )
    baseline: str = choice(
        "imodpoly",
        ("imodpoly", "modpoly", "arpls", "asls", "snip", "none"),
        "Baseline (pybaselines method).",
    )
    poly_order: int = integer(1, "Polynomial order of a polynomial baseline.", minimum=0, maximum=10)
    remove_spikes: bool = flag(True, "Remove cosmic-ray spikes first.")


def _flags(summary: Any) -> list[Flag]:
    flags = _identifiability_flags(summary)
    ok = summary["Success"].astype(bool)
    if ok.all():
        return flags
    bad = summary[~ok]
    return [
        *flags,
        Flag(
            "fit_failed",
            f"{len(bad)} of {len(summary)} fits failed (marked Success = False)",
            "failed",
            ", ".join(dict.fromkeys(bad["Model"].astype(str))),
        ),
    ]


def _identifiability_flags(summary: Any) -> list[Flag]:
    """A model whose I_D/I_G scatters more than 5 % over noise replicas of its own fit."""
    if "Identifiable" not in summary:
        return []
    out = []
    rep = summary[summary["Spectrum"] <= 0]
    for model, g in rep.groupby("Model", sort=False):
        if bool(g["Identifiable"].all()):
            continue
        row = g.iloc[0]
        rel = float(row["I_D/I_G (height) scatter"]) / abs(float(row["I_D/I_G (height)"]))
        own = float(row["I_D/I_G (height) stderr"]) / abs(float(row["I_D/I_G (height)"]))
        out.append(
            Flag(
                "bands_not_identifiable",
                f"I_D/I_G (height) of the {model} model scatters {100 * rel:.0f} % over noise "
                f"replicas of its own fit (its least-squares stderr says {100 * own:.1f} %): the "
                "bands are not identifiable at this signal-to-noise; read the two-band ratio, or "
                "the scatter column as its uncertainty",
                "warning",
                str(model),
            )
        )
    return out


def analyse_raman(
    data: Any,
    options: RamanOptions | None = None,
    *,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """D/G band fits of every spectrum of one Raman file.

    Parameters
    ----------
    data : RamanData
        From :func:`sulfurscope.io.read_raman`.
    options : RamanOptions
    sources : tuple of Source

    Returns
    -------
    AnalysisResult
        Tables ``raman_*``; a ``fit_failed`` flag when any spectrum could not be fitted, and a
        ``bands_not_identifiable`` flag for a model whose I_D/I_G scatters more than 5 % over
        noise replicas of its representative fit.
    """
    import numpy as np

    from sulfurscope.spectra.raman_map import raman_tables

    options = options or RamanOptions()
    lo, hi = options.shift_range_cm1
    tables = raman_tables(
        data.shift_cm1,
        data.intensity,
        positions=data.positions,
        models=options.models,  # type: ignore[arg-type]
        shift_range_cm1=(lo, hi),
        baseline=options.baseline,  # type: ignore[arg-type]
        poly_order=options.poly_order,
        remove_spikes=options.remove_spikes,
    )
    s = tables["raman_summary"]
    ok = s[(s["Spectrum"] >= 0) & s["Success"].astype(bool)]
    summary: dict[str, Any] = {
        "format": data.format,
        "spectra": int(data.intensity.shape[0]),
        "points": int(data.shift_cm1.size),
    }
    for m in options.models:
        r = ok[ok["Model"] == m]
        if len(r):
            summary[f"median_id_ig_height_{m}"] = float(np.median(r["I_D/I_G (height)"]))
            summary[f"median_id_ig_area_{m}"] = float(np.median(r["I_D/I_G (area)"]))
    return finish("raman", __name__, tables, _flags(s), options, sources, summary=summary)


def run_files(files: Mapping[str, Path], options: RamanOptions) -> AnalysisResult:
    """Read a Raman file (role ``file``) and analyse it."""
    from sulfurscope.io.raman import read_raman

    data = read_raman(Path(files["file"]))
    return analyse_raman(data, options, sources=(source(files["file"], "file"),))
