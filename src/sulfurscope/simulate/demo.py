"""The demo study: every instrument of the reference study, simulated and written in its file format.

:func:`write_demo_study` writes a folder a lab could have produced — cycler files (EC-Lab .mpt) for a
rate test, a long cycling test and a GITT per particle size, SEM images with the microscope's sidecar,
an HRTEM image, TGA exports (NETZSCH), XPS regions (VAMAS), Raman spectra (text export), an STEM-EDS
spectrum image (.hspy) and an EELS low-loss/core-loss line-scan pair (.hspy) with reference edges — and
the ``study.toml`` manifest that describes it. ``sulfurscope run`` then analyses the folder like any
measured study. Each file comes from the project's own forward models (particle-size model for the
cells, the XPS/Raman/EDS/EELS simulators for the spectra) and says in its header or title that it is
simulated. This is a shell: it writes files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope._files import atomic_write_bytes

from .study import SIMULATED_NOTE, CellSpread, SimulatedCell, simulate_study

__all__ = ["DEMO_SAMPLES", "DemoSample", "write_demo_study"]


@dataclass(frozen=True, slots=True)
class DemoSample:
    """One simulated sample: particle size, the study's TGA sulfur fraction, the XPS reduced-S share."""

    name: str
    particle_size_um: float
    milling: str
    sulfur_fraction: float
    reduced_sulfur: float


#: The reference study's three samples (TGA 48.5 / 49.0 / 49.7 wt% S; XPS reduced S 16 % vs 33 %).
DEMO_SAMPLES = (
    DemoSample("AC-S_8um", 8.0, "as received", 0.485, 0.16),
    DemoSample("AC-S_4um", 4.0, "milled 500 rpm", 0.490, 0.25),
    DemoSample("AC-S_1um", 1.0, "milled 800 rpm", 0.497, 0.33),
)

_PROTOCOL = {"rate": "rate", "long": "cycling", "gitt": "gitt"}

#: The study's cell: electrolyte of every simulated cell.
ELECTROLYTE = "1 M LiPF6 in FEC:DMC 1:4"

#: STEM-EDS of a discharged particle: LiF rich in the outer ~100 nm, a dilute tail to ~1 µm
#: (96 × 64 px of 30 nm; the field reaches ~1.7 µm below the surface, past the tail).
DEMO_EDS: dict[str, Any] = {
    "shape": (96, 64), "radius_px": 56.0, "pixel_size_nm": 30.0, "shell_nm": 100.0,
    "roughness_nm": 25.0, "tail_fraction": 0.08, "tail_nm": 350.0,
}

#: Areas (counts/s·eV) of the non-sulfur regions of a discharged cathode's surface (Fig 4c–f).
_XPS_REGIONS: dict[str, tuple[tuple[float, float], dict[str, float]]] = {
    "F 1s/paper": (
        (680.0, 695.0),
        {"LiF": 3000.0, "C-F": 1500.0, "CHF-OCO2": 800.0, "POF3/PF6": 600.0},
    ),
    "Li 1s/paper": ((50.0, 62.0), {"LiF": 400.0, "Li2CO3": 150.0}),
    "C 1s/paper": (
        (280.0, 295.0),
        {"C-C/C-H": 5000.0, "Si-CH3": 800.0, "C-F": 600.0, "CO3": 500.0},
    ),
    "P 2p/paper": ((128.0, 140.0), {"POF3": 300.0}),
}


def _s2p_areas(reduced: float, total: float = 10000.0) -> dict[str, float]:
    """S 2p component areas with a given reduced-sulfur share; Li2S : terminal : bridging = 30 : 45 : 25
    (the study's 30 % Li2S, 45 % Li2S2, 25 % S under the Li2S2 assumption), the rest C–S : sulfate =
    42 : 25."""
    red = reduced * total
    rest = total - red
    return {
        "Li2S": red * 0.30,
        "terminal S": red * 0.45,
        "bridging S": red * 0.25,
        "C-S": rest * 42 / 67,
        "sulfate": rest * 25 / 67,
    }


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _table(header: str, entries: Mapping[str, Any]) -> str:
    return "\n".join([header, *(f"{k} = {_toml(v)}" for k, v in entries.items())]) + "\n"


_STUDY_HEADER = (
    f"# {SIMULATED_NOTE}\n# Written by `sulfurscope demo`: every file under raw/ was simulated by "
    "sulfurscope's forward models.\n# Edit and rerun with `sulfurscope run study.toml --out DIR`.\n"
)
_STUDY_TABLE = _table(
    "[study]",
    {
        "title": "sulfurscope demo: particle size and the active shell (SIMULATED DATA)",
        "description": (
            f"{SIMULATED_NOTE}. Activated carbon milled to ~8, ~4 and ~1 um, melt-infiltrated "
            "with sulfur, cycled against Li (0.5-3.0 V): rate tests, long cycling and GITT per "
            "size, SEM, HRTEM, TGA, XPS, Raman, STEM-EDS and EELS across a discharged particle. "
            f"Cells: {ELECTROLYTE}; formation at C/10, rate tests C/40 to C/2.5 (5 cycles each), "
            "long cycling at C/10."
        ),
        "truth": "raw/simulation_truth.json",
    },
)


def _sample_tables(folder: Path, samples: Sequence[DemoSample], rng: np.random.Generator
                   ) -> list[str]:
    """A [[samples]] entry per sample with its simulated TGA export."""
    from sulfurscope.simulate.tga import tga_curve, write_netzsch_tga

    out = []
    for s in samples:
        t, m = tga_curve(s.sulfur_fraction, noise_pct=0.02, rng=rng)
        tga = write_netzsch_tga(t, m, folder / "raw" / "tga" / f"{s.name}_tga.txt", sample=s.name,
                                note=SIMULATED_NOTE)
        out.append(_table("[[samples]]", {
            "name": s.name, "carbon": f"activated carbon (0.8 nm pores), {s.milling}",
            "particle_size": f"~{s.particle_size_um:g} um", "particle_size_um": s.particle_size_um,
            "tga": tga.relative_to(folder).as_posix(),
        }))
    return out


def _image_tables(folder: Path, samples: Sequence[DemoSample], big: DemoSample,
                  rng: np.random.Generator, drawn: dict[str, np.ndarray]) -> list[str]:
    """SEM per sample (a Hitachi-style sidecar carries the pixel size) and one HRTEM image.

    ``drawn`` receives each sample's rendered particle diameters [µm]: the SEM truth (placement
    rejects more large particles than small ones, so their mean sits ~3 % under the nominal size).
    """
    from sulfurscope.simulate.microscopy import render_hrtem, render_sem, write_tiff_with_sidecar

    out = []
    for s in samples:
        d = s.particle_size_um
        sim = render_sem(d, 0.3 * d, pixel_size_nm=d * 1000.0 / 45.0, rng=rng)
        drawn[s.name] = sim.diameters_um
        tif = write_tiff_with_sidecar(sim, folder / "raw" / "sem" / f"{s.name}_sem.tif",
                                      note=SIMULATED_NOTE)
        out.append(_table("[[images]]", {"name": f"{s.name}_sem", "sample": s.name, "kind": "sem",
                                         "file": tif.relative_to(folder).as_posix()}))
    hr = render_hrtem(rng=rng)
    hr_tif = write_tiff_with_sidecar(
        hr, folder / "raw" / "hrtem" / f"{big.name}_discharged_hrtem.tif", note=SIMULATED_NOTE
    )
    out.append(_table("[[images]]", {
        "name": f"{big.name}_hrtem", "sample": big.name, "kind": "hrtem",
        "file": hr_tif.relative_to(folder).as_posix(), "pixel_size_nm": hr.pixel_size_nm,
    }))
    return out


def _xps_tables(folder: Path, samples: Sequence[DemoSample], rng: np.random.Generator
                ) -> list[str]:
    """XPS of discharged cathodes: S 2p, F 1s, Li 1s, C 1s, P 2p."""
    from sulfurscope.io.xps import write_vamas
    from sulfurscope.simulate.xps import simulate_xps

    out = []
    for s in samples:
        regions = [simulate_xps("S 2p/paper", areas=_s2p_areas(s.reduced_sulfur), rng=rng)]
        for lib, ((lo, hi), areas) in _XPS_REGIONS.items():
            e = np.arange(lo, hi + 1e-9, 0.05)
            regions.append(simulate_xps(lib, areas=areas, energy_ev=e, rng=rng))
        vms = write_vamas(regions, folder / "raw" / "xps" / f"{s.name}_discharged.vms",
                          instrument=f"{SIMULATED_NOTE}")
        out.append(_table("[[spectra]]", {"name": f"{s.name}_xps", "sample": s.name,
                                          "kind": "xps", "file": vms.relative_to(folder).as_posix()}))
    return out


def _raman_tables(folder: Path, samples: Sequence[DemoSample], rng: np.random.Generator
                  ) -> list[str]:
    """Raman of the carbons (Fig S1)."""
    from sulfurscope.simulate.raman import write_demo_raman

    ratios = {s.name: _RAMAN_RATIO.get(s.particle_size_um, 1.5) for s in samples}
    raman = write_demo_raman(folder / "raw" / "raman", ratios, rng=rng)
    return [_table("[[spectra]]", {"name": f"{name}_raman", "sample": name, "kind": "raman",
                                   "file": path.relative_to(folder).as_posix()})
            for name, path in raman.items()]


def _eds_table(folder: Path, big: DemoSample, rng: np.random.Generator) -> str:
    """STEM-EDS across a discharged particle's surface (Fig 3c/d)."""
    from sulfurscope.simulate.eds import write_simulated_eds

    eds, _ = write_simulated_eds(folder / "raw" / "eds" / f"{big.name}_discharged_eds.hspy",
                                 rng=rng, **DEMO_EDS)
    return _table("[[spectra]]", {
        "name": f"{big.name}_eds", "sample": big.name, "kind": "eds",
        "files": {"project": eds.relative_to(folder).as_posix()},
        "options": {"lines": ["S_Ka", "F_Ka"], "method": "fit",
                    "elements": ["C", "O", "F", "S", "Cu"]},
    })


def _eels_table(folder: Path, big: DemoSample, rng: np.random.Generator) -> str:
    """EELS line scan of 300 nm from the surface (Fig 3e-g), with reference edges."""
    from sulfurscope.io.eels import write_eels
    from sulfurscope.simulate.eels import reference_spectra, simulate_eels_line_scan

    scan = simulate_eels_line_scan(rng=rng)
    eels_dir = folder / "raw" / "eels"
    files = {
        "low_loss": write_eels(eels_dir / f"{big.name}_low_loss.hspy", scan.low_loss,
                               scan.low_loss_energy_ev, position_nm=scan.position_nm,
                               title=f"{SIMULATED_NOTE}: low-loss line scan"),
        "core_loss": write_eels(eels_dir / f"{big.name}_core_loss.hspy", scan.core_loss,
                                scan.core_loss_energy_ev, position_nm=scan.position_nm,
                                title=f"{SIMULATED_NOTE}: core-loss line scan"),
    }
    for slot, (e, y) in reference_spectra().items():
        files[f"reference_{slot}"] = write_eels(
            eels_dir / "references" / f"{slot}.msa", y, e, title=f"{SIMULATED_NOTE}: {slot}"
        )
    return _table("[[spectra]]", {
        "name": f"{big.name}_eels", "sample": big.name, "kind": "eels",
        "files": {k: p.relative_to(folder).as_posix() for k, p in files.items()},
        "options": {"edges": ["Li_K", "S_L23"]},
    })


_RAMAN_RATIO = {8.0: 1.45, 4.0: 1.55, 1.0: 1.65}


def _truth_rows(samples: Sequence[DemoSample], big: DemoSample, small: DemoSample,
                drawn: dict[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """What the demo was simulated with, and where the analyses report what they recovered."""
    from sulfurscope.model import CyclingParameters

    rows: list[dict[str, Any]] = []
    for s in samples:
        rows += [
            {"quantity": "TGA sulfur fraction", "sample": s.name, "assumed": s.sulfur_fraction,
             "unit": "", "table": "tga_fraction", "column": "Sulfur fraction",
             "where": {"Sample": s.name}, "uncertainty": "Sulfur fraction sd"},
            {"quantity": "Mean particle diameter (SEM)", "sample": s.name,
             "assumed": _drawn_mean(drawn, s), "unit": "um", "table": "particle_distribution",
             "column": "Number mean [um]", "where": {"Sample": s.name},
             "interval": ["Number mean CI95 low [um]", "Number mean CI95 high [um]"],
             "note": f"mean ECD of the particles rendered (nominal {s.particle_size_um:g} um)"},
            {"quantity": "Raman I_D1/I_G (height, Sadezky)", "sample": s.name,
             "assumed": _RAMAN_RATIO.get(s.particle_size_um, 1.5), "unit": "",
             "table": "raman_summary", "column": "I_D/I_G (height)",
             "where": {"Sample": s.name, "Model": "sadezky"},
             "uncertainty": "I_D/I_G (height) uncertainty"},
        ]
    for s in (big, small):
        rows.append({"quantity": "XPS reduced sulfur", "sample": s.name,
                     "assumed": 100 * s.reduced_sulfur, "unit": "%",
                     "table": "xps_quantification", "column": "Value [%]",
                     "where": {"Sample": s.name, "Quantity": "Reduced sulfur [%]"},
                     "uncertainty": "Stderr [%]"})
    rows += [
        {"quantity": "EDS: LiF-rich layer (F, 1/e depth, model-free)", "sample": big.name,
         "assumed": _eds_e_folding_nm(), "unit": "nm", "table": "eds_depth",
         "column": "1/e depth, model-free [nm]", "where": {"Line": "F_Ka"},
         "interval": ["1/e depth, model-free CI95 low [nm]", "1/e depth, model-free CI95 high [nm]"],
         "note": f"1/e depth of the simulated F profile (erfc edge at {DEMO_EDS['shell_nm']:g} nm, "
                 f"roughness {DEMO_EDS['roughness_nm']:g} nm, plus a dilute tail)"},
        {"quantity": "EDS: F detectable to (model-free)", "sample": big.name,
         "assumed": 1000.0, "unit": "nm", "table": "eds_depth",
         "column": "Detection depth, model-free [nm]", "where": {"Line": "F_Ka"},
         "interval": ["Detection depth, model-free CI95 low [nm]",
                      "Detection depth, model-free CI95 high [nm]"],
         "note": "the study's claim ('detectable to ~1 µm'), not an exact truth: where the "
                 "simulated tail (8 % decaying over 350 nm) meets the detection limit depends on "
                 "the counts"},
        {"quantity": "EELS: LiF-rich layer (Li K, 1/e depth, model-free)", "sample": big.name,
         "assumed": 100.0, "unit": "nm", "table": "eels_depth",
         "column": "1/e depth, model-free [nm]", "where": {"Edge": "Li_K"},
         "interval": ["1/e depth, model-free CI95 low [nm]", "1/e depth, model-free CI95 high [nm]"],
         "note": "a sigmoid step at 100 nm, not an exponential"},
    ]
    cp = CyclingParameters()
    rows += _gitt_truth_rows(cp)
    for name, value in (("k_c_per_h", cp.k_c_per_h), ("m_c", cp.m_c),
                        ("fade_per_cycle", cp.fade_per_cycle)):
        rows.append({"quantity": f"Model C parameter {name}", "sample": small.name,
                     "assumed": value, "unit": "", "table": "model_parameters", "column": "Value",
                     "where": {"Parameter": name}, "uncertainty": "Standard error",
                     "note": "fitted to the smallest particles' cycling (simulated: 16 size classes, "
                             "36 grid cells, cycler drift and gain error; fitted: 8 classes, 20 "
                             "cells)"})
    from sulfurscope.model import FormationParameters

    rows.append({"quantity": "Model B parameter diffusivity_m2_s (D0)", "sample": "all",
                 "assumed": FormationParameters().diffusivity_m2_s, "unit": "m2/s",
                 "table": "model_parameters", "column": "Value",
                 "where": {"Parameter": "diffusivity_m2_s"}, "uncertainty": "Standard error",
                 "note": "fitted to every sample's first discharges and rate tests with model C "
                         "held at its fit; each cell's D0 is drawn log-normal (sd 0.1) around it"})
    return rows


def _gitt_truth_rows(cp: Any) -> list[dict[str, Any]]:
    """The GITT diffusivities the demo was simulated with, where the analysis reports them."""
    return [
        {"quantity": "GITT D, first discharge (pristine composite, across each particle)",
         "sample": "all", "assumed": cp.pristine_diffusivity_m2_s, "unit": "m2/s",
         "table": "gitt_scaling", "column": "D [m2/s]",
         "where": {"Half cycle label": "first discharge"},
         "interval": ["D CI95 low [m2/s]", "D CI95 high [m2/s]"],
         "note": "one D across the three sizes through each sample's SEM size distribution; "
                 "the simulation converts each size class at model B's own rate, the analysis "
                 "assumes the same rate per volume"},
        {"quantity": "GITT D, second discharge (across the active layer)", "sample": "all",
         "assumed": cp.solid_diffusivity_m2_s, "unit": "m2/s", "table": "gitt_scaling",
         "column": "D [m2/s]", "where": {"Half cycle label": "second discharge"},
         "interval": ["D CI95 low [m2/s]", "D CI95 high [m2/s]"],
         "note": "NOT recoverable as read: the simulated diffusion length is the active layer "
                 "left by formation, the analysis's is size/2; the flag d_size_inconsistent says "
                 "so (D differs between sizes)"},
    ]


def _eds_e_folding_nm() -> float:
    """Where the simulated F profile falls to 1/e of its surface value (nm, to 0.1 nm)."""
    from sulfurscope.simulate.eds import f_shell_profile

    d = np.linspace(0.0, 2000.0, 200_001)
    f = f_shell_profile(d, shell_nm=DEMO_EDS["shell_nm"], roughness_nm=DEMO_EDS["roughness_nm"],
                        tail_fraction=DEMO_EDS["tail_fraction"], tail_nm=DEMO_EDS["tail_nm"])
    return round(float(d[np.argmax(f < f[0] / np.e)]), 1)


def _drawn_mean(drawn: dict[str, np.ndarray] | None, s: DemoSample) -> float:
    d = (drawn or {}).get(s.name)
    return round(float(np.mean(d)), 4) if d is not None and d.size else s.particle_size_um


def _write_truth(path: Path, samples: Sequence[DemoSample], big: DemoSample,
                 small: DemoSample, drawn: dict[str, np.ndarray] | None = None) -> None:
    atomic_write_bytes(path, json.dumps({"note": SIMULATED_NOTE,
                                         "rows": _truth_rows(samples, big, small, drawn)},
                                        indent=1).encode("utf-8"))


def write_demo_study(
    folder: str | Path,
    *,
    seed: int = 2026,
    workers: int = 1,
    samples: tuple[DemoSample, ...] = DEMO_SAMPLES,
    replicates: int = 3,
) -> Path:
    """Simulate every instrument of a study like the reference one into ``folder``; return the manifest.

    Parameters
    ----------
    folder : path
        Study folder: raw files go to ``raw/<instrument>/`` and the manifest to ``study.toml``.
    seed : int
        Seed of every random generator: the same seed writes the same files.
    workers : int
        Processes for the cycler simulations (the slowest part).
    samples : tuple of DemoSample
        The samples (default: the study's three particle sizes).
    replicates : int
        Cells per sample and protocol, with cell-to-cell spread (:class:`CellSpread`: connected
        sulfur ±5 %, fade and D₀ log-normal, balance error on the recorded mass).

    Returns
    -------
    Path
        ``folder/study.toml``.
    """
    folder = Path(folder)
    raw = folder / "raw"
    seeds = np.random.SeedSequence(seed).spawn(6)
    rng_img, rng_tga, rng_xps, rng_raman, rng_eds, rng_eels = (
        np.random.default_rng(s) for s in seeds
    )
    big = max(samples, key=lambda s: s.particle_size_um)
    small = min(samples, key=lambda s: s.particle_size_um)
    drawn: dict[str, np.ndarray] = {}
    others: list[str] = []

    def instruments() -> None:  # every other instrument, while the workers simulate the cells
        others.extend(_image_tables(folder, samples, big, rng_img, drawn))
        others.extend(_xps_tables(folder, (big, small), rng_xps))
        others.extend(_raman_tables(folder, samples, rng_raman))
        others.append(_eds_table(folder, big, rng_eds))
        others.append(_eels_table(folder, big, rng_eels))

    cells: list[SimulatedCell] = simulate_study(
        raw / "cycler",
        sizes_um=tuple(s.particle_size_um for s in samples),
        seed=seed,
        replicates=replicates,
        spread=CellSpread() if replicates > 1 else None,
        workers=workers,
        meanwhile=instruments,
    )
    parts = [_STUDY_HEADER, _STUDY_TABLE]
    parts += _sample_tables(folder, samples, rng_tga)
    parts += [_table("[[cells]]", {
        "name": c.label, "sample": c.sample, "file": Path(c.path).relative_to(folder).as_posix(),
        "protocol": _PROTOCOL[c.protocol], "sulfur_mass_mg": c.sulfur_mass_mg,
        "electrolyte": ELECTROLYTE,
    }) for c in cells]
    parts += others
    parts.append(_table("[model]", {"enabled": True, "n_classes": 8, "n_cells": 20}))
    _write_truth(folder / "raw" / "simulation_truth.json", samples, big, small, drawn)
    manifest = folder / "study.toml"
    atomic_write_bytes(manifest, "\n".join(parts).encode("utf-8"))
    return manifest
