"""STEM-EELS line scans: t/λ, Li K and S L2,3 integrals ÷ t/λ, moving average (Figure 3e–g).

:func:`analyse_eels` is the one implementation behind ``sulfurscope eels`` and the pipeline's EELS
tasks. Either spectrum may be absent: low-loss only gives t/λ; core-loss only gives edge integrals that
are *not* normalised (a flag says so). Reference spectra (roles ``reference_<slot>``) add a
fine-structure fingerprint per pixel.

Tables
------
``eels_thickness``          t/λ per pixel (log-ratio), with the position of a line scan
``eels_integrals``          edge integrals per pixel and edge, ÷ t/λ when the low-loss is given
``eels_profile``            line scan: integral, ÷ t/λ and moving average vs position, per edge
``eels_depth``              line scan: per depth edge, the 1/e depth and the detection depth (3σ of
                            the deep background) of the surface excess, each with a 95 % interval
``eels_spectrum``           pixel 0 of each spectrum (decimated), for the figures
``eels_fingerprint``        best reference per pixel and edge with its score
``eels_fingerprint_curves`` pixel 0's edge and the references, scaled and shifted (the figure)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._common import decimate, depth_flags, finish, record_warnings
from sulfurscope.analysis._options import OptionError, Options, choice, flag, integer, number, texts
from sulfurscope.analysis._result import AnalysisResult, Flag, source

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["TABLES", "EelsOptions", "analyse_eels", "run_files"]

TABLES = (
    "eels_thickness",
    "eels_integrals",
    "eels_profile",
    "eels_depth",
    "eels_spectrum",
    "eels_fingerprint",
    "eels_fingerprint_curves",
)


@dataclass(frozen=True, slots=True)
class EelsOptions(Options):
    """Options of :func:`analyse_eels`."""

    edges: tuple[str, ...] = texts(("Li_K", "S_L23"), "Edges to integrate, e.g. Li_K,S_L23.")
    edge_windows: tuple[str, ...] | None = texts(
        None,
        "Edge window overrides NAME=bg_low,bg_high,int_low,int_high in eV (repeat per edge).",
        split=False,
    )
    zlp_threshold_ev: float = number(
        3.0, "Upper end of the zero-loss window (log-ratio t/λ).", unit="eV", positive=True
    )
    align: bool = flag(True, "Align the zero-loss peaks before t/λ.")
    background_method: str = choice(
        "least_squares",
        ("least_squares", "log_fit", "two_area"),
        "Power-law background: least squares in counts (= exspy fast=False), weighted log-log "
        "fit, or exspy's two-area method (fast=True).",
    )
    depth_edges: tuple[str, ...] = texts(
        ("F_K", "Li_K"),
        "Edges whose depth from the surface is measured (those among --edges), e.g. F_K,Li_K.",
    )
    surface: str = choice(
        "start",
        ("start", "end"),
        "Which end of the line scan lies at the particle surface (depth 0).",
    )
    moving_average_points: int = integer(
        5, "Moving-average window of the profile.", minimum=1, maximum=10_000
    )


def _edges(options: EelsOptions) -> list[Any]:
    import dataclasses

    from sulfurscope.spectra.eels import EDGE_TABLE, EdgeWindow, edge_window

    table = dict(EDGE_TABLE)
    for item in options.edge_windows or ():
        name, _, vals = item.partition("=")
        try:
            v = [float(x) for x in vals.split(",")]
        except ValueError:
            v = []
        if not name or len(v) != 4:
            raise OptionError(
                "edge_windows", f"{item!r}: expected NAME=bg_low,bg_high,int_low,int_high (eV)"
            )
        base = table.get(name) or EdgeWindow(
            name, name, v[2], (v[0], v[1]), (v[2], v[3]), (v[2], v[3])
        )
        table[name] = dataclasses.replace(
            base, background_ev=(v[0], v[1]), integral_ev=(v[2], v[3])
        )
    return [edge_window(n, edges=table) for n in options.edges]


def _inside(w: Any, energy: Any) -> bool:
    lo, hi = float(min(energy[0], energy[-1])), float(max(energy[0], energy[-1]))
    return bool(lo <= w.background_ev[0] and w.integral_ev[1] <= hi)


def _default_edges(options: EelsOptions, energy: Any, flags: list[Flag]) -> list[Any]:
    """The edges to integrate. Edges the user named are used as named (a window outside the axis is
    an error naming it); the *default* edges only where the spectrum covers them — else the
    table's edges that lie inside its energy axis, with a note saying so."""
    from sulfurscope.spectra.eels import EDGE_TABLE

    edges = _edges(options)
    if options.edges != EelsOptions().edges or all(_inside(w, energy) for w in edges):
        return edges
    kept = [w for w in edges if _inside(w, energy)] or [
        w for w in EDGE_TABLE.values() if _inside(w, energy)
    ]
    axis = f"{float(min(energy[0], energy[-1])):.0f}–{float(max(energy[0], energy[-1])):.0f} eV"
    names = ", ".join(w.name for w in kept) or "none"
    flags.append(Flag("edges_defaulted", f"the default edges {', '.join(options.edges)} are not "
                      f"all inside the core-loss axis ({axis}); integrated: {names} (set --edges)",
                      "note"))
    return kept


def _positions(data: Any) -> np.ndarray:
    import numpy as np

    if data.counts.ndim == 1:
        return np.zeros(1)
    if data.counts.ndim == 2:
        return np.asarray(data.navigation_nm[0], dtype=float)
    return np.arange(int(np.prod(data.counts.shape[:-1])), dtype=float)


def _spectrum(name: str, data: Any) -> pd.DataFrame:
    import pandas as pd

    e = data.energy_ev
    flat = data.counts.reshape(-1, e.size)
    frame = pd.DataFrame(
        {
            "Spectrum": name,
            "Energy [eV]": e,
            "Counts": flat[0],
            "Dispersion [eV]": float(e[1] - e[0]),
        }
    )
    return decimate(frame, 2000)


def _thickness(ll: Any, options: EelsOptions) -> tuple[Any, pd.DataFrame]:
    from sulfurscope.spectra.eels import relative_thickness

    thick = relative_thickness(
        ll.counts,
        ll.energy_ev,
        zlp_window_ev=(None, options.zlp_threshold_ev),
        align=options.align,
    )
    tf = thick.to_frame()
    tf.insert(1, "Position [nm]", _positions(ll))
    tf["ZLP window high [eV]"] = thick.zlp_window_ev[1]
    return thick, tf


def _zlp_flags(thick: Any, options: EelsOptions) -> list[Flag]:
    """t/λ without alignment while the zero-loss peak sits away from 0 eV: the fixed window then
    cuts into (or past) the ZLP and t/λ is wrong. Tolerated: 10 % of the window's upper limit."""
    import numpy as np

    if thick.aligned:
        return []
    worst = float(np.nanmax(np.abs(thick.zlp_centre_ev)))
    if not worst > 0.1 * options.zlp_threshold_ev:
        return []
    return [Flag("zlp_not_at_zero",
                 f"the zero-loss peak is up to {worst:.2f} eV from 0 eV, but t/λ was computed "
                 f"without alignment (ZLP window up to {options.zlp_threshold_ev:g} eV on the "
                 "file's axis): part of the ZLP is counted as inelastic, so t/λ and every "
                 "integral ÷ t/λ are wrong; run with --align (the default)", "failed")]


def _zlp_window_flags(ll: Any, thick: Any, options: EelsOptions) -> list[Flag]:
    """A warning when t/λ depends on the chosen ZLP window: the median t/λ differs by more than
    5 % from the one with the window ending where the ZLP ends (the first minimum after it,
    :func:`~sulfurscope.spectra.eels.zero_loss_end_ev`). A window inside the ZLP counts elastic
    intensity as inelastic (t/λ too high); one past the minimum counts plasmon intensity as elastic
    (too low)."""
    import numpy as np

    from sulfurscope.spectra.eels import relative_thickness, zero_loss_end_ev

    end = float(np.nanmedian(zero_loss_end_ev(ll.counts, ll.energy_ev)))
    if not end > 0 or not thick.aligned:
        return []
    ref = relative_thickness(ll.counts, ll.energy_ev, zlp_window_ev=(None, end), align=True)
    ours, theirs = (float(np.median(t)) for t in (thick.t_over_lambda, ref.t_over_lambda))
    if not theirs > 0 or abs(ours / theirs - 1) <= 0.05:
        return []
    return [Flag("zlp_window",
                 f"t/λ depends on the ZLP window: median {ours:.3g} with the window up to "
                 f"{options.zlp_threshold_ev:g} eV, {theirs:.3g} with it ending where the ZLP ends "
                 f"(the first minimum after it, {end:.2g} eV): set --zlp-threshold-ev near "
                 f"{end:.2g}", "warning")]


def _integrals(cl: Any, edges: list[Any], thick: Any, options: EelsOptions) -> Any:
    import numpy as np

    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.spectra.eels import edge_integrals

    integ = edge_integrals(cl.counts, cl.energy_ev, edges, method=options.background_method)  # type: ignore[arg-type]
    it = integ.to_frame()
    it["Background method"] = options.background_method
    if thick is not None:
        tl = np.asarray(thick.t_over_lambda).ravel()
        n = cl.counts.size // cl.energy_ev.size
        if tl.size != n:
            raise SulfurscopeError(
                f"the low-loss scan has {tl.size} pixels but the core-loss scan has {n}: "
                "they must be the same scan"
            )
        it["t/lambda"] = tl[it["Pixel"].to_numpy()]
        it["Integral/(t/lambda) [counts]"] = it["Integral [counts]"] / it["t/lambda"]
    return integ, it


def _profile(cl: Any, integ: Any, thick: Any, options: EelsOptions) -> pd.DataFrame | None:
    import numpy as np
    import pandas as pd

    from sulfurscope.spectra.eels_scan import line_scan_profile

    pos = _positions(cl)
    if cl.counts.reshape(-1, cl.energy_ev.size).shape[0] != pos.size:
        return None
    prof = line_scan_profile(pos, integ, thick, window=options.moving_average_points)
    rows = [
        pd.DataFrame(
            {
                "Position [nm]": prof.position_nm,
                "Edge": name,
                "t/lambda": np.nan if prof.t_over_lambda is None else prof.t_over_lambda,
                "Integral [counts]": prof.integral[:, j],
                "Normalised integral [counts]": prof.normalised[:, j],
                "Moving average [counts]": prof.smoothed[:, j],
                "Normalised by t/lambda": prof.t_over_lambda is not None,
                "Window [points]": prof.window,
            }
        )
        for j, name in enumerate(prof.edge_names)
    ]
    return pd.concat(rows, ignore_index=True)


def _depth(cl: Any, integ: Any, thick: Any, options: EelsOptions) -> pd.DataFrame | None:
    """1/e and detection depth of each depth edge along the line scan (not smoothed).

    σ of each point: the Poisson noise of the raw counts in the integral window, ÷ t/λ like the
    signal; :func:`~sulfurscope.spectra.eds_depth.depth_metrics_sigma` rescales it by the fit's
    √(χ²/ν) when the scatter is larger (extrapolated background, gain).
    """
    import numpy as np
    import pandas as pd

    from sulfurscope.spectra.eds_depth import depth_metrics_sigma

    pos = _positions(cl)
    names = [w.name for w in integ.edges]
    use = [n for n in options.depth_edges if n in names]
    if cl.counts.ndim != 2 or pos.size < 6 or not use:
        return None
    depth = pos - pos[0] if options.surface == "start" else pos[-1] - pos
    k = len(names)
    signal = integ.integral.reshape(-1, k)
    raw = signal + integ.background_counts.reshape(-1, k)
    tl = None if thick is None else np.asarray(thick.t_over_lambda, dtype=float).ravel()
    rows = []
    for name in use:
        j = names.index(name)
        y, sg = signal[:, j], np.sqrt(np.maximum(raw[:, j], 1.0))
        if tl is not None and tl.size == y.size:
            y, sg = y / tl, sg / tl
        order = np.argsort(depth)
        m = depth_metrics_sigma(depth[order], y[order], sg[order], line=name)
        rows.append(m.to_row())
    table = pd.DataFrame(rows).rename(columns={"Line": "Edge"})
    table.columns = [c.replace("[counts/px]", "[counts]") for c in table.columns]
    table["Surface"] = options.surface
    table["Normalised by t/lambda"] = tl is not None
    return table


def _fingerprint_curves(cl: Any, edge: Any, refs: Mapping[str, Any], method: str) -> pd.DataFrame:
    """Pixel 0's background-subtracted edge and each reference, scaled to 0–1 and shifted."""
    import numpy as np
    import pandas as pd

    from sulfurscope.spectra.eels import power_law_background, subtract_background
    from sulfurscope.spectra.eels_scan import fingerprint_edge

    e = cl.energy_ev
    flat = cl.counts.reshape(-1, e.size)
    bg = power_law_background(flat[:1], e, edge.background_ev, method=method)  # type: ignore[arg-type]
    y = subtract_background(flat[:1], e, bg)[0]
    fp = fingerprint_edge(e, y, refs, window_ev=edge.fingerprint_ev)
    sel = (e >= fp.window_ev[0]) & (e < fp.window_ev[1])

    def unit(v: np.ndarray) -> np.ndarray:
        v = v - v.min()
        return v / v.max() if v.max() > 0 else v

    parts = [pd.DataFrame({"Curve": "measured", "Energy [eV]": e[sel], "Intensity": unit(y[sel])})]
    for name, score, shift in zip(fp.names, fp.scores, fp.shifts_ev, strict=True):
        re, ri = (np.asarray(a, dtype=float) for a in refs[name])
        parts.append(
            pd.DataFrame(
                {
                    "Curve": name,
                    "Energy [eV]": e[sel],
                    "Intensity": unit(np.interp(e[sel] - shift, re, ri)),
                    "Score": float(score),
                    "Shift [eV]": float(shift),
                    "Best": name == fp.best,
                }
            )
        )
    return pd.concat(parts, ignore_index=True).assign(Edge=edge.name)


def _fingerprints(
    cl: Any, edges: list[Any], refs: Mapping[str, Any], options: EelsOptions, flags: list[Flag]
) -> dict[str, pd.DataFrame]:
    import pandas as pd

    from sulfurscope.spectra.eels_scan import fingerprint_pixels

    per_pixel, curves = [], []
    for w in edges:
        f = fingerprint_pixels(cl.counts, cl.energy_ev, w, refs, method=options.background_method)  # type: ignore[arg-type]
        if f.empty:
            flags.append(
                Flag("no_reference", f"no reference covers {w.fingerprint_ev} eV", "note", w.name)
            )
            continue
        per_pixel.append(f[["Pixel", "Edge", "Best", "Score"]])
        use = {n: refs[n] for n in refs if f"{n} score" in f.columns}
        curves.append(_fingerprint_curves(cl, w, use, options.background_method))
    if not per_pixel:
        return {}
    return {
        "eels_fingerprint": pd.concat(per_pixel, ignore_index=True),
        "eels_fingerprint_curves": pd.concat(curves, ignore_index=True),
    }


def analyse_eels(
    low_loss: Any | None,
    core_loss: Any | None,
    options: EelsOptions | None = None,
    *,
    references: Mapping[str, tuple[Any, Any]] | None = None,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """t/λ, edge integrals (÷ t/λ) and the line-scan profile of one low-loss/core-loss pair.

    Parameters
    ----------
    low_loss, core_loss : EELSData or None
        From :func:`sulfurscope.io.read_eels`; at least one.
    options : EelsOptions
    references : mapping of slot → (energy_ev, intensity), optional
        Reference spectra for the fingerprint (slots of :data:`sulfurscope.spectra.eels.REFERENCE_SLOTS`).
    sources : tuple of Source

    Returns
    -------
    AnalysisResult
    """
    from sulfurscope.errors import SulfurscopeError

    if low_loss is None and core_loss is None:
        raise SulfurscopeError("EELS needs a low-loss spectrum, a core-loss spectrum or both")
    options = options or EelsOptions()
    flags: list[Flag] = []
    tables: dict[str, Any] = {}
    spectra = []
    thick = None
    with record_warnings(flags, "eels"):
        if low_loss is not None:
            thick, tables["eels_thickness"] = _thickness(low_loss, options)
            flags.extend(_zlp_flags(thick, options))
            flags.extend(_zlp_window_flags(low_loss, thick, options))
            spectra.append(_spectrum("low-loss pixel 0", low_loss))
        if core_loss is not None:
            edges = _default_edges(options, core_loss.energy_ev, flags)
            if not edges:
                raise SulfurscopeError(
                    "no edge of the table lies inside the core-loss energy axis; name edges with "
                    "--edges and their windows with --edge-windows"
                )
            integ, tables["eels_integrals"] = _integrals(core_loss, edges, thick, options)
            spectra.append(_spectrum("core-loss pixel 0", core_loss))
            prof = _profile(core_loss, integ, thick, options)
            if prof is not None:
                tables["eels_profile"] = prof
            depth = _depth(core_loss, integ, thick, options)
            if depth is not None:
                tables["eels_depth"] = depth
                flags.extend(depth_flags(depth, "Edge"))
            if thick is None:
                flags.append(
                    Flag("not_normalised", "no low-loss spectrum: integrals not ÷ t/λ", "warning")
                )
            if references:
                tables.update(_fingerprints(core_loss, edges, references, options, flags))
    import pandas as pd

    tables["eels_spectrum"] = pd.concat(spectra, ignore_index=True)
    return finish("eels", __name__, tables, flags, options, sources)


def run_files(files: Mapping[str, Path], options: EelsOptions) -> AnalysisResult:
    """Read ``low_loss`` and/or ``core_loss`` (and ``reference_<slot>`` spectra) and analyse them."""
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.io.eels import read_eels, read_reference_spectrum
    from sulfurscope.spectra.eels import REFERENCE_SLOTS

    refs = {r[len("reference_") :]: Path(p) for r, p in files.items() if r.startswith("reference_")}
    bad = sorted(set(refs) - set(REFERENCE_SLOTS))
    if bad:
        raise SulfurscopeError(f"unknown reference slot(s) {bad}; use {list(REFERENCE_SLOTS)}")
    ll = read_eels(Path(files["low_loss"])) if "low_loss" in files else None
    cl = read_eels(Path(files["core_loss"])) if "core_loss" in files else None
    sources = tuple(source(p, r) for r, p in files.items())
    references = {k: read_reference_spectrum(v) for k, v in refs.items()}
    return analyse_eels(ll, cl, options, references=references, sources=sources)
