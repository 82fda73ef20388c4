"""``sulfurscope eels``: low-loss/core-loss files → t/λ, edge integrals, line-scan profile (Fig 3g).

Either file may be left out: low-loss only gives t/λ; core-loss only gives edge integrals that are
*not* normalised (the output says so). A line scan (one navigation axis) also gives the profile
integrals ÷ t/λ vs position with a moving average; a spectrum image gives per-pixel tables.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from sulfurscope.cli._common import echo_json, exit_on_error, write_table
from sulfurscope.errors import SulfurscopeError, SulfurscopeWarning
from sulfurscope.io.eels import EELSData, read_eels, read_reference_spectrum
from sulfurscope.report._style import save_figure
from sulfurscope.report.eels import (
    plot_core_loss,
    plot_fingerprint,
    plot_line_scan_profile,
    plot_thickness_profile,
)
from sulfurscope.spectra.eels import (
    EDGE_TABLE,
    REFERENCE_SLOTS,
    EdgeWindow,
    edge_integrals,
    edge_window,
    fingerprint_edge,
    fingerprint_pixels,
    line_scan_profile,
    power_law_background,
    relative_thickness,
    subtract_background,
)

__all__ = ["analyse_eels_files", "demo_eels", "parse_edges", "register"]

_METHODS = ("log_fit", "two_area")


def parse_edges(edges: str, overrides: list[str] | None = None) -> list[EdgeWindow]:
    """``"Li_K,S_L23"`` plus ``NAME=blo,bhi,ilo,ihi`` overrides → edge windows."""
    table = dict(EDGE_TABLE)
    for item in overrides or []:
        name, _, vals = item.partition("=")
        try:
            v = [float(x) for x in vals.split(",")]
        except ValueError:
            v = []
        if not name or len(v) != 4:
            raise SulfurscopeError(
                f"--edge-window {item!r}: expected NAME=bg_low,bg_high,int_low,int_high (eV)"
            )
        base = table.get(name)
        if base is None:
            base = EdgeWindow(name, name, v[2], (v[0], v[1]), (v[2], v[3]), (v[2], v[3]))
        table[name] = dataclasses.replace(
            base, background_ev=(v[0], v[1]), integral_ev=(v[2], v[3])
        )
    names = [n.strip() for n in edges.split(",") if n.strip()]
    if not names:
        raise SulfurscopeError("--edges is empty: give e.g. Li_K,S_L23")
    return [edge_window(n, edges=table) for n in names]


def _references(items: list[str] | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    refs = {}
    for item in items or []:
        name, _, path = item.partition("=")
        if name not in REFERENCE_SLOTS or not path:
            raise SulfurscopeError(
                f"--reference {item!r}: expected NAME=FILE with NAME one of {list(REFERENCE_SLOTS)}"
            )
        refs[name] = read_reference_spectrum(Path(path))
    return refs


def _position(data: EELSData) -> np.ndarray:
    if data.counts.ndim == 1:
        return np.zeros(1)
    if data.counts.ndim == 2:
        return data.navigation_nm[0]
    return np.arange(int(np.prod(data.counts.shape[:-1])), dtype=float)


def _in_file(path: Path, role: str, fn: Any) -> Any:
    try:
        return fn()
    except SulfurscopeError as exc:
        msg = str(exc)
        if path.name in msg:
            raise
        raise type(exc)(f"{path.name} ({role}): {msg}") from None


def analyse_eels_files(
    low_loss: Path | None,
    core_loss: Path | None,
    out: Path,
    *,
    edges: str = "Li_K,S_L23",
    edge_windows: list[str] | None = None,
    zlp_threshold_ev: float = 3.0,
    align: bool = True,
    method: str = "log_fit",
    window: int = 5,
    references: list[str] | None = None,
) -> dict[str, Any]:
    """Analyse one low-loss and/or one core-loss file; write tables and figures into ``out``.

    Returns a JSON-ready summary (tables as records, warnings, notes).
    """
    if low_loss is None and core_loss is None:
        raise SulfurscopeError("give --low-loss FILE, --core-loss FILE or both")
    if method not in _METHODS:
        raise SulfurscopeError(
            f"--background-method must be one of {list(_METHODS)}, got {method!r}"
        )
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"out": str(out), "notes": [], "figures": [], "tables": []}
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always", SulfurscopeWarning)
        thick = None
        ll = cl = None
        if low_loss is not None:
            ll = read_eels(low_loss)
            thick = _in_file(
                low_loss,
                "--low-loss",
                lambda: relative_thickness(
                    ll.counts, ll.energy_ev, zlp_window_ev=(None, zlp_threshold_ev), align=align
                ),
            )
            tf = thick.to_frame()
            if ll.counts.ndim <= 2:
                tf.insert(1, "Position [nm]", _position(ll))
            result["low_loss"] = ll.to_dict()
            result["thickness"] = tf
            result["zlp_window_ev"] = [None, zlp_threshold_ev]
            result["tables"] += [str(p) for p in write_table(tf, out, "eels_thickness")]
        if core_loss is not None:
            cl = read_eels(core_loss)
            windows = parse_edges(edges, edge_windows)
            integ = _in_file(
                core_loss,
                "--core-loss",
                lambda: edge_integrals(cl.counts, cl.energy_ev, windows, method=method),  # type: ignore[arg-type]
            )
            it = integ.to_frame()
            result["core_loss"] = cl.to_dict()
            result["edges"] = [w.to_dict() for w in windows]
            result["background_method"] = method
            if thick is not None:
                tl = np.asarray(thick.t_over_lambda).ravel()
                if tl.size != cl.counts.size // cl.counts.shape[-1]:
                    raise SulfurscopeError(
                        f"{low_loss.name} has {tl.size} pixels but {core_loss.name} has "  # type: ignore[union-attr]
                        f"{cl.counts.size // cl.counts.shape[-1]}: they must be the same scan"
                    )
                it["t/lambda"] = tl[it["Pixel"].to_numpy()]
                it["Integral/(t/lambda) [counts]"] = it["Integral [counts]"] / it["t/lambda"]
            else:
                result["notes"].append(
                    "no low-loss file: edge integrals are NOT normalised by t/lambda"
                )
            result["integrals"] = it
            result["tables"] += [str(p) for p in write_table(it, out, "eels_edge_integrals")]
            flat = cl.counts.reshape(-1, cl.energy_ev.size)
            fig = plot_core_loss(cl.energy_ev, flat[0], integ, title=f"{core_loss.name} pixel 0")
            result["figures"].append(str(save_figure(fig, out / "eels_core_loss.png")))
            if cl.counts.ndim <= 2:
                prof = line_scan_profile(_position(cl), integ, thick, window=window)
                pf = prof.to_frame()
                result["profile"] = pf
                result["tables"] += [str(p) for p in write_table(pf, out, "eels_profile")]
                if cl.counts.ndim == 2:
                    fig = plot_line_scan_profile(prof)
                    result["figures"].append(str(save_figure(fig, out / "eels_profile.png")))
            refs = _references(references)
            if refs:
                parts = []
                for w in windows:
                    ff = fingerprint_pixels(cl.counts, cl.energy_ev, w, refs, method=method)  # type: ignore[arg-type]
                    if ff.empty:
                        result["notes"].append(
                            f"{w.name}: no reference covers {w.fingerprint_ev} eV"
                        )
                        continue
                    parts.append(ff)
                    # pixel 0 drawn against the references it was compared with
                    use = {n: refs[n] for n in refs if f"{n} score" in ff.columns}
                    bg = power_law_background(
                        flat[:1],
                        cl.energy_ev,
                        w.background_ev,
                        method=method,  # type: ignore[arg-type]
                    )
                    sub0 = subtract_background(flat[:1], cl.energy_ev, bg)[0]
                    fp = fingerprint_edge(cl.energy_ev, sub0, use, window_ev=w.fingerprint_ev)
                    fig = plot_fingerprint(cl.energy_ev, sub0, use, fp)
                    result["figures"].append(
                        str(save_figure(fig, out / f"eels_fingerprint_{w.name}.png"))
                    )
                rows = parts
                if rows:
                    ff = pd.concat(rows, ignore_index=True)
                    result["fingerprint"] = ff
                    result["tables"] += [str(p) for p in write_table(ff, out, "eels_fingerprint")]
        if thick is not None and ll is not None and ll.counts.ndim == 2 and "profile" not in result:
            fig = plot_thickness_profile(_position(ll), thick)
            result["figures"].append(str(save_figure(fig, out / "eels_thickness.png")))
        caught = [str(m.message) for m in rec if issubclass(m.category, SulfurscopeWarning)]
        for m in rec:
            if not issubclass(m.category, SulfurscopeWarning):
                warnings.warn_explicit(m.message, m.category, m.filename, m.lineno)
    result["warnings"] = caught
    return result


def register(app: typer.Typer) -> None:
    """Add ``eels`` to the app."""

    @app.command("eels")
    def eels(
        low_loss: Annotated[
            Path | None,
            typer.Option(
                "--low-loss",
                help="Low-loss file with the ZLP (.dm3/.dm4/.hspy/.msa).",
                exists=True,
                dir_okay=False,
            ),
        ] = None,
        core_loss: Annotated[
            Path | None,
            typer.Option(
                "--core-loss",
                help="Core-loss file of the same pixels.",
                exists=True,
                dir_okay=False,
            ),
        ] = None,
        edges: Annotated[
            str, typer.Option("--edges", help=f"Edges, comma separated: {', '.join(EDGE_TABLE)}.")
        ] = "Li_K,S_L23",
        edge_window_: Annotated[
            list[str] | None,
            typer.Option(
                "--edge-window",
                help="Override/add an edge: NAME=bg_low,bg_high,int_low,int_high (eV).",
            ),
        ] = None,
        zlp_threshold_ev: Annotated[
            float,
            typer.Option(
                "--zlp-threshold-ev", help="ZLP window: first channel to ZLP maximum + this (eV)."
            ),
        ] = 3.0,
        no_align: Annotated[
            bool, typer.Option("--no-align", help="Do not follow each pixel's ZLP maximum.")
        ] = False,
        method: Annotated[
            str, typer.Option("--background-method", help="log_fit or two_area (exspy's).")
        ] = "log_fit",
        window: Annotated[int, typer.Option("--window", help="Moving-average points.")] = 5,
        reference: Annotated[
            list[str] | None,
            typer.Option(
                "--reference",
                help=f"Fingerprint reference NAME=FILE, NAME in {list(REFERENCE_SLOTS)}.",
            ),
        ] = None,
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
            "sulfurscope-eels"
        ),
        as_json: Annotated[bool, typer.Option("--json", help="Print the tables as JSON.")] = False,
    ) -> None:
        """t/λ (log-ratio), edge integrals over power-law backgrounds, profile ÷ t/λ (Fig 3g)."""

        def run() -> dict[str, Any]:
            return analyse_eels_files(
                low_loss,
                core_loss,
                out,
                edges=edges,
                edge_windows=edge_window_,
                zlp_threshold_ev=zlp_threshold_ev,
                align=not no_align,
                method=method,
                window=window,
                references=reference,
            )

        result = exit_on_error(run)
        for w in result["warnings"]:
            typer.echo(f"warning: {w}", err=True)
        if as_json:
            echo_json(result)
            return
        parts = []
        if "thickness" in result:
            tl = result["thickness"]["t/lambda"]
            parts.append(f"t/lambda {tl.min():.3f}–{tl.max():.3f} over {len(tl)} pixel(s)")
        if "integrals" in result:
            parts.append(f"{len(result['edges'])} edge(s) integrated")
        for n in result["notes"]:
            parts.append(n)
        typer.echo(
            "; ".join(parts)
            + f"; wrote {len(result['tables'])} table file(s) and {len(result['figures'])} figure(s) to {out}"
        )


def demo_eels(folder: Path, out: Path, *, rng: np.random.Generator) -> dict[str, Any]:
    """For ``sulfurscope demo``: simulate the study's line scan, write it, analyse it like real data.

    Writes ``SIMULATED_eels_low_loss.hspy``, ``SIMULATED_eels_core_loss.hspy`` and the four reference
    edges (``SIMULATED_ref_<slot>.msa``) into ``folder`` (titles say SIMULATED), then runs
    :func:`analyse_eels_files` with Li K, S L2,3 and the references into ``out``. The truth per pixel
    is written as ``eels_truth.csv`` next to the results.
    """
    from sulfurscope.io.eels import write_eels
    from sulfurscope.simulate.eels import reference_spectra, simulate_eels_line_scan

    sim = simulate_eels_line_scan(rng=rng)
    ll = write_eels(
        folder / "SIMULATED_eels_low_loss.hspy",
        sim.low_loss,
        sim.low_loss_energy_ev,
        position_nm=sim.position_nm,
        title="SIMULATED low-loss line scan (sulfurscope demo)",
    )
    cl = write_eels(
        folder / "SIMULATED_eels_core_loss.hspy",
        sim.core_loss,
        sim.core_loss_energy_ev,
        position_nm=sim.position_nm,
        title="SIMULATED core-loss line scan (sulfurscope demo)",
    )
    refs = []
    for name, (e, y) in reference_spectra().items():
        p = write_eels(folder / f"SIMULATED_ref_{name}.msa", y, e, title=f"SIMULATED {name}")
        refs.append(f"{name}={p}")
    result = analyse_eels_files(ll, cl, out, edges="Li_K,S_L23", references=refs)
    result["tables"] += [str(p) for p in write_table(sim.to_frame(), out, "eels_truth")]
    return result
