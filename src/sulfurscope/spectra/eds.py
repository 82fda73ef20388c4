"""EDS spectrum images: X-ray line table, window sums, net-intensity maps and depth profiles.

A spectrum image (:class:`SpectrumImage`) holds X-ray counts on a (y, x, channel) grid, either dense
(``counts``) or as a list of occupied cells (``events``: y, x, channel and the number of counts there).
The event form is how a JEOL ``.pts`` file stores a 512 × 512 × 4096 acquisition in ~1 MB, and every
function here works on it without ever building the dense 1 GB cube.

Energy of channel ``i`` is ``E_i = offset + i · scale`` (keV). An energy window ``[lo, hi)`` covers the
channels ``round((lo − offset)/scale) … round((hi − offset)/scale) − 1`` (the rounding convention of
HyperSpy's ``isig[lo:hi]``, so windows agree channel for channel with exspy).

Net intensity of a line (Goldstein et al., *Scanning Electron Microscopy and X-ray Microanalysis*,
3rd ed. 2003, §9.3, "window integration with linear background")::

    N_net = Σ_peak c_i − Σ_peak B(E_i),   B(E) linear through (Ē_left, c̄_left) and (Ē_right, c̄_right)

with c̄ the mean counts per channel in each background window and Ē its centre. Default windows
follow exspy's ``estimate_integration_windows`` / ``estimate_background_windows``: peak
``E₀ ± FWHM``, background ``[E₀ − 3·FWHM, E₀ − 2·FWHM)`` and ``[E₀ + 2·FWHM, E₀ + 3·FWHM)``, the FWHM
at the line energy from the detector's Mn Kα resolution (Fiori & Newbury 1978, eq. in Goldstein
2003 p. 315)::

    FWHM(E)² = FWHM(Mn Kα)² + 2.5 · (E − E_MnKα) · 1000      (eV², E in keV)

Depth profiles average a map over pixels at equal distance from the particle surface (a polyline
in pixel coordinates, or the edge of the particle found by Otsu thresholding), in bins of one pixel,
then smooth with a centred moving average (window 5 by default) whose edge policy is explicit.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError, SulfurscopeWarning
from sulfurscope.spectra.eds_depth import (
    DepthMap,
    DepthProfile,
    depth_profile,
    moving_average,
    particle_edge_depth,
    polyline_depth,
)

__all__ = [
    "DepthMap",
    "DepthProfile",
    "LineMaps",
    "LineWindows",
    "SpectrumImage",
    "bin_spectrum_image",
    "channel_range",
    "depth_profile",
    "energy_axis_kev",
    "line_fwhm_kev",
    "line_maps",
    "line_windows",
    "moving_average",
    "overlapping_lines",
    "particle_edge_depth",
    "polyline_depth",
    "sum_spectrum",
    "weighted_window_map",
    "window_map",
    "xray_line_table",
]

MN_KA_KEV = 5.8987
"""Mn Kα energy, keV: the reference line of detector resolution."""



# --------------------------------------------------------------------------------------------
# line table
# --------------------------------------------------------------------------------------------


def xray_line_table(path: str | Path | None = None) -> pd.DataFrame:
    """The X-ray line table: columns Line, Element, Family, Energy [keV], Weight.

    Parameters
    ----------
    path : str or Path, optional
        A CSV file with the same columns (``#`` comment lines allowed). Default: the table shipped
        with sulfurscope (``spectra/data/xray_lines.csv``; C, N, O, F, Na, Si, P, S, Cl, Fe, Cu,
        Ga, Pt; K, L and M lines).

    Returns
    -------
    pandas.DataFrame
        One row per line, indexed 0..n−1; ``Line`` is ``"<Element>_<line>"`` (e.g. ``"S_Ka"``).

    Examples
    --------
    >>> t = xray_line_table()
    >>> float(t.set_index("Line").loc["S_Ka", "Energy [keV]"])
    2.3072
    """
    if path is None:
        text = resources.files("sulfurscope.spectra").joinpath("data/xray_lines.csv").read_text()
        source = "xray_lines.csv"
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise SulfurscopeError(f"{p}: cannot read the X-ray line table ({exc})") from None
        source = p.name
    table = pd.read_csv(io.StringIO(text), comment="#")
    need = ["Line", "Element", "Family", "Energy [keV]", "Weight"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise SulfurscopeError(f"{source}: X-ray line table lacks column(s) {missing}; need {need}")
    if table["Line"].duplicated().any():
        dup = sorted(set(table.loc[table["Line"].duplicated(), "Line"]))
        raise SulfurscopeError(f"{source}: duplicated line(s) {dup}")
    return table[need].reset_index(drop=True)


def _line_energy(line: str, table: pd.DataFrame) -> float:
    hit = table.loc[table["Line"] == line, "Energy [keV]"]
    if hit.empty:
        known = ", ".join(table["Line"])
        raise SulfurscopeError(f"X-ray line {line!r} is not in the line table (known: {known})")
    return float(hit.iloc[0])


def line_fwhm_kev(energy_kev: float, *, resolution_mnka_ev: float = 130.0) -> float:
    """Detector FWHM at ``energy_kev`` from the Mn Kα resolution (Fiori & Newbury 1978).

    ``FWHM(E)² = FWHM_MnKα² + 2.5 (E − 5.8987 keV)·1000`` in eV² (Goldstein et al. 2003, p. 315).

    Parameters
    ----------
    energy_kev : float, keV
    resolution_mnka_ev : float, eV
        Detector FWHM at Mn Kα (JEOL files store it; 125–140 eV for SDDs).

    Returns
    -------
    float, keV

    Examples
    --------
    >>> round(line_fwhm_kev(5.8987, resolution_mnka_ev=130.0), 4)
    0.13
    >>> round(line_fwhm_kev(2.3072, resolution_mnka_ev=138.0), 4)
    0.1003
    """
    if resolution_mnka_ev <= 0:
        raise SulfurscopeError(f"resolution_mnka_ev must be > 0 eV, got {resolution_mnka_ev}")
    var = resolution_mnka_ev**2 + 2.5 * (energy_kev - MN_KA_KEV) * 1000.0
    if var <= 0:
        raise SulfurscopeError(
            f"line at {energy_kev} keV: FWHM² = {var:.0f} eV² ≤ 0 for a Mn Kα resolution of "
            f"{resolution_mnka_ev} eV (energy too low for the Fiori–Newbury formula)"
        )
    return float(np.sqrt(var) / 1000.0)


@dataclass(frozen=True, slots=True)
class LineWindows:
    """Integration and background windows of one X-ray line (all in keV, half-open ``[lo, hi)``).

    ``left_kev``/``right_kev`` is ``None`` when that side has no background window (then the
    background is flat at the other side's mean; with neither, the net intensity is the gross).
    """

    line: str
    energy_kev: float
    fwhm_kev: float
    peak_kev: tuple[float, float]
    left_kev: tuple[float, float] | None
    right_kev: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        """Flat dict with "Quantity [unit]" keys (NaN for a missing background window)."""
        nan = (float("nan"), float("nan"))
        left = self.left_kev or nan
        right = self.right_kev or nan
        return {
            "Line": self.line,
            "Energy [keV]": self.energy_kev,
            "FWHM [keV]": self.fwhm_kev,
            "Peak start [keV]": self.peak_kev[0],
            "Peak end [keV]": self.peak_kev[1],
            "Left background start [keV]": left[0],
            "Left background end [keV]": left[1],
            "Right background start [keV]": right[0],
            "Right background end [keV]": right[1],
        }


def line_windows(
    line: str,
    *,
    resolution_mnka_ev: float = 130.0,
    peak_fwhm: float = 1.0,
    gap_fwhm: float = 2.0,
    background_fwhm: float = 1.0,
    peak_kev: tuple[float, float] | None = None,
    left_kev: tuple[float, float] | None | Literal["default"] = "default",
    right_kev: tuple[float, float] | None | Literal["default"] = "default",
    table: pd.DataFrame | None = None,
) -> LineWindows:
    """Peak and background windows of ``line``; defaults scale with the line's FWHM.

    Parameters
    ----------
    line : str
        ``"S_Ka"``, ``"F_Ka"``, ... (a row of :func:`xray_line_table`).
    resolution_mnka_ev : float, eV
        Detector resolution at Mn Kα (sets the FWHM, :func:`line_fwhm_kev`).
    peak_fwhm : float
        Half-width of the peak window in FWHM: ``[E₀ − k·FWHM, E₀ + k·FWHM)`` (exspy's
        ``integration_windows=2`` equals ``peak_fwhm=1``).
    gap_fwhm, background_fwhm : float
        Background windows start ``gap_fwhm`` FWHM from E₀ and are ``background_fwhm`` FWHM wide
        (exspy's ``estimate_background_windows`` defaults 2 and 1).
    peak_kev, left_kev, right_kev : (float, float), optional
        Explicit windows in keV, overriding the defaults; ``left_kev=None`` / ``right_kev=None``
        switches that background window off.
    table : DataFrame, optional
        Line table (default :func:`xray_line_table`).

    Examples
    --------
    >>> w = line_windows("S_Ka", resolution_mnka_ev=138.0)
    >>> [round(v, 3) for v in w.peak_kev], [round(v, 3) for v in w.left_kev]
    ([2.207, 2.408], [2.006, 2.107])
    """
    table = xray_line_table() if table is None else table
    e0 = _line_energy(line, table)
    fwhm = line_fwhm_kev(e0, resolution_mnka_ev=resolution_mnka_ev)
    peak = peak_kev or (e0 - peak_fwhm * fwhm, e0 + peak_fwhm * fwhm)
    left = (
        (e0 - (gap_fwhm + background_fwhm) * fwhm, e0 - gap_fwhm * fwhm)
        if left_kev == "default"
        else left_kev
    )
    right = (
        (e0 + gap_fwhm * fwhm, e0 + (gap_fwhm + background_fwhm) * fwhm)
        if right_kev == "default"
        else right_kev
    )
    for name, w in (("peak_kev", peak), ("left_kev", left), ("right_kev", right)):
        if w is not None and not (len(w) == 2 and float(w[0]) < float(w[1])):
            raise SulfurscopeError(f"{line}: {name} must be (start, end) with start < end, got {w}")
    as_pair = lambda w: None if w is None else (float(w[0]), float(w[1]))  # noqa: E731
    return LineWindows(line, e0, fwhm, as_pair(peak), as_pair(left), as_pair(right))  # type: ignore[arg-type]


def overlapping_lines(
    windows: LineWindows,
    *,
    resolution_mnka_ev: float = 130.0,
    table: pd.DataFrame | None = None,
    elements: Sequence[str] | None = None,
    min_weight: float = 0.05,
) -> list[tuple[str, str]]:
    """Other lines of the table that fall into a window of ``windows``.

    A line overlaps a window when its ±FWHM/2 interval intersects the window. Lines of the same
    element within the peak window are ignored (they belong to the measured family, e.g. Fe Ll
    under Fe Lα).

    Returns
    -------
    list of (window, line)
        ``window`` is ``"peak"``, ``"left"`` or ``"right"``; e.g. ``[("left", "P_Ka"),
        ("left", "Pt_Ma"), ("peak", "Pt_Mg")]`` for S Kα.
    """
    table = xray_line_table() if table is None else table
    element = windows.line.split("_")[0]
    out: list[tuple[str, str]] = []
    for row in table.itertuples(index=False):
        name, el, e, weight = row[0], row[1], float(row[3]), float(row[4])
        if name == windows.line or weight < min_weight:
            continue
        if elements is not None and el not in elements:
            continue
        try:
            half = line_fwhm_kev(e, resolution_mnka_ev=resolution_mnka_ev) / 2
        except SulfurscopeError:
            half = 0.03
        for label, w in (
            ("peak", windows.peak_kev),
            ("left", windows.left_kev),
            ("right", windows.right_kev),
        ):
            if w is None or (label == "peak" and el == element):
                continue
            if e + half > w[0] and e - half < w[1]:
                out.append((label, name))
    return out


# --------------------------------------------------------------------------------------------
# spectrum image
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpectrumImage:
    """An EDS spectrum image, dense or as occupied cells (the ``.pts`` event form).

    Attributes
    ----------
    shape : (int, int, int)
        (ny, nx, n_channels).
    counts : (ny, nx, n_channels) ndarray or None
        Dense counts; ``None`` in the event form.
    events : (n, 3) ndarray of int or None
        Occupied cells (y, x, channel) in the event form; ``None`` when dense.
    event_counts : (n,) ndarray of int or None
        Counts in each occupied cell.
    energy_offset_kev, energy_scale_kev : float, keV
        ``E_i = offset + i·scale``.
    pixel_size_nm : float, nm
        Pixel size (square pixels); NaN when unknown.
    resolution_mnka_ev : float, eV
        Detector FWHM at Mn Kα (sets the default windows).
    beam_energy_kev : float, keV
        Accelerating voltage (NaN when unknown).
    live_time_s : float, s
        Live time of the whole acquisition (NaN when unknown).
    source : str
        File name or ``"simulated"``.
    """

    shape: tuple[int, int, int]
    counts: np.ndarray | None
    events: np.ndarray | None
    event_counts: np.ndarray | None
    energy_offset_kev: float
    energy_scale_kev: float
    pixel_size_nm: float
    resolution_mnka_ev: float
    beam_energy_kev: float
    live_time_s: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Metadata (not the counts) as a JSON-ready dict."""
        d = {k: v for k, v in asdict(self).items() if k not in ("counts", "events", "event_counts")}
        d["shape"] = list(self.shape)
        d["storage"] = "dense" if self.counts is not None else "events"
        d["total_counts"] = int(_total(self))
        return d


def _total(si: SpectrumImage) -> int:
    if si.counts is not None:
        return int(si.counts.sum(dtype=np.int64))
    assert si.event_counts is not None
    return int(si.event_counts.sum(dtype=np.int64))


def energy_axis_kev(si: SpectrumImage) -> np.ndarray:
    """Channel energies, keV: ``offset + i·scale``."""
    return si.energy_offset_kev + si.energy_scale_kev * np.arange(si.shape[2])


def channel_range(si: SpectrumImage, window_kev: tuple[float, float]) -> tuple[int, int]:
    """Channels ``[i0, i1)`` of the energy window ``[lo, hi)`` (HyperSpy's rounding), clipped.

    Examples
    --------
    >>> si = SpectrumImage((1, 1, 100), np.zeros((1, 1, 100)), None, None, 0.0, 0.01,
    ...                    1.0, 130.0, 200.0, 1.0, "doc")
    >>> channel_range(si, (0.2, 0.3))
    (20, 30)
    """
    lo, hi = window_kev
    i0 = int(np.floor((lo - si.energy_offset_kev) / si.energy_scale_kev + 0.5))
    i1 = int(np.floor((hi - si.energy_offset_kev) / si.energy_scale_kev + 0.5))
    n = si.shape[2]
    return min(max(i0, 0), n), min(max(i1, 0), n)


def window_map(si: SpectrumImage, window_kev: tuple[float, float]) -> np.ndarray:
    """Gross counts per pixel in the energy window ``[lo, hi)``: (ny, nx) float array."""
    i0, i1 = channel_range(si, window_kev)
    ny, nx, _ = si.shape
    if si.counts is not None:
        return si.counts[:, :, i0:i1].sum(axis=2, dtype=np.float64)
    assert si.events is not None and si.event_counts is not None
    ch = si.events[:, 2]
    sel = (ch >= i0) & (ch < i1)
    flat = si.events[sel, 0].astype(np.int64) * nx + si.events[sel, 1]
    return np.bincount(flat, weights=si.event_counts[sel], minlength=ny * nx).reshape(ny, nx)


def sum_spectrum(si: SpectrumImage, mask: np.ndarray | None = None) -> np.ndarray:
    """Counts per channel summed over all pixels (or over ``mask``, a (ny, nx) bool array)."""
    ny, nx, nch = si.shape
    if mask is not None and np.shape(mask) != (ny, nx):
        raise SulfurscopeError(f"mask has shape {np.shape(mask)}, expected {(ny, nx)}")
    if si.counts is not None:
        data = si.counts if mask is None else si.counts[np.asarray(mask, bool)]
        return data.reshape(-1, nch).sum(axis=0, dtype=np.float64)
    assert si.events is not None and si.event_counts is not None
    w = si.event_counts.astype(np.float64)
    ch = si.events[:, 2]
    if mask is not None:
        keep = np.asarray(mask, bool)[si.events[:, 0], si.events[:, 1]]
        w, ch = w[keep], ch[keep]
    return np.bincount(ch, weights=w, minlength=nch)


def present_elements(
    si: SpectrumImage, *, table: pd.DataFrame | None = None, sigma: float = 3.0
) -> tuple[str, ...]:
    """Elements of the line table whose main line stands out of the sum spectrum.

    The main line is the strongest line of the element's K family inside the spectrum's range,
    else of its L, else its M family. It is present when the net counts in its ±FWHM/2 window,
    against the per-channel mean of two side windows one to two FWHM away, exceed ``sigma`` Poisson
    standard deviations of that background: N_net > σ √B.

    Examples
    --------
    >>> e = np.arange(2048) * 0.01
    >>> peak = 500 * np.exp(-0.5 * ((e - 2.3072) / 0.045) ** 2)  # S Kα only
    >>> si = SpectrumImage((1, 1, 2048), (100 + peak)[None, None, :], None, None, 0.0, 0.01,
    ...                    1.0, 130.0, 200.0, 1.0, "doc")
    >>> present_elements(si)
    ('S',)
    """
    table = xray_line_table() if table is None else table
    e = energy_axis_kev(si)
    spectrum = sum_spectrum(si)
    found = []
    for element, rows in table.groupby("Element", sort=False):
        inside = rows[(rows["Energy [keV]"] >= max(e[0], 0.1)) & (rows["Energy [keV]"] <= e[-1])]
        for family in ("K", "L", "M"):
            fam = inside[inside["Family"] == family]
            if len(fam):
                energy = float(fam.loc[fam["Weight"].idxmax(), "Energy [keV]"])
                break
        else:
            continue
        fwhm = line_fwhm_kev(energy, resolution_mnka_ev=si.resolution_mnka_ev)
        i0, i1 = channel_range(si, (energy - fwhm / 2, energy + fwhm / 2))
        sides = [channel_range(si, (energy + a * fwhm, energy + b * fwhm))
                 for a, b in ((-2.0, -1.0), (1.0, 2.0))]
        means = [spectrum[a:b].mean() for a, b in sides if b > a]
        if i1 <= i0 or not means:
            continue
        background = float(np.mean(means)) * (i1 - i0)
        if float(spectrum[i0:i1].sum()) - background > sigma * np.sqrt(max(background, 1.0)):
            found.append(str(element))
    return tuple(found)


def bin_spectrum_image(si: SpectrumImage, factor: int) -> SpectrumImage:
    """Sum ``factor`` × ``factor`` pixel blocks (keeps the storage form; trailing pixels dropped)."""
    if factor < 1:
        raise SulfurscopeError(f"factor must be ≥ 1, got {factor}")
    if factor == 1:
        return si
    ny, nx, nch = si.shape
    my, mx = ny // factor, nx // factor
    if my == 0 or mx == 0:
        raise SulfurscopeError(f"factor {factor} is larger than the image {ny}×{nx}")
    counts = events = ev_counts = None
    if si.counts is not None:
        c = si.counts[: my * factor, : mx * factor]
        counts = c.reshape(my, factor, mx, factor, nch).sum(axis=(1, 3))
    else:
        assert si.events is not None and si.event_counts is not None
        y, x = si.events[:, 0] // factor, si.events[:, 1] // factor
        keep = (y < my) & (x < mx)
        key = (y[keep].astype(np.int64) * mx + x[keep]) * nch + si.events[keep, 2]
        uniq, inv = np.unique(key, return_inverse=True)
        ev_counts = np.bincount(inv, weights=si.event_counts[keep]).astype(np.int64)
        events = np.stack([uniq // nch // mx, (uniq // nch) % mx, uniq % nch], axis=1)
    return SpectrumImage(
        (my, mx, nch),
        counts,
        events,
        ev_counts,
        si.energy_offset_kev,
        si.energy_scale_kev,
        si.pixel_size_nm * factor,
        si.resolution_mnka_ev,
        si.beam_energy_kev,
        si.live_time_s,
        si.source,
    )


@dataclass(frozen=True, slots=True)
class LineMaps:
    """Gross, background and net intensity maps of several X-ray lines.

    Attributes
    ----------
    lines : tuple of str
    windows : tuple of LineWindows
    gross, background, net : (n_lines, ny, nx) ndarray of float, counts
        ``net = gross − background``; ``background`` is the linear background summed over the
        peak window's channels.
    pixel_size_nm : float, nm
    overlaps : tuple of str
        One note per line with overlapping lines, e.g. ``"S_Ka: Pt_Mg in the peak window;
        P_Ka, Pt_Ma, Pt_Mb in the left window; ..."`` (also emitted as one
        :class:`SulfurscopeWarning` per line).
    """

    lines: tuple[str, ...]
    windows: tuple[LineWindows, ...]
    gross: np.ndarray
    background: np.ndarray
    net: np.ndarray
    pixel_size_nm: float
    overlaps: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per line: windows and map totals."""
        rows = []
        for k, w in enumerate(self.windows):
            row = w.to_dict()
            row["Gross counts"] = float(self.gross[k].sum())
            row["Background counts"] = float(self.background[k].sum())
            row["Net counts"] = float(self.net[k].sum())
            row["Overlaps"] = "".join(
                o.split(": ", 1)[1] for o in self.overlaps if o.startswith(w.line + ":")
            )
            rows.append(row)
        return pd.DataFrame(rows)


def _window_mean(si: SpectrumImage, w: tuple[float, float]) -> tuple[np.ndarray, float, int]:
    i0, i1 = channel_range(si, w)
    n = i1 - i0
    if n <= 0:
        raise SulfurscopeError(
            f"background window {w} keV covers no channel of the spectrum "
            f"({si.energy_offset_kev:.3f}–{energy_axis_kev(si)[-1]:.3f} keV)"
        )
    centre = si.energy_offset_kev + si.energy_scale_kev * (i0 + i1 - 1) / 2
    return window_map(si, w) / n, centre, n


def weighted_window_map(si: SpectrumImage, start: int, weights: np.ndarray) -> np.ndarray:
    """``Σ_c weights[c − start] · counts[y, x, c]`` over channels ``start … start + len(weights)``:
    (ny, nx) float array (dense or event form)."""
    ny, nx, nch = si.shape
    w = np.asarray(weights, dtype=np.float64)
    i0, i1 = max(start, 0), min(start + w.size, nch)
    w = w[i0 - start : i1 - start]
    if si.counts is not None:
        return np.tensordot(si.counts[:, :, i0:i1].astype(np.float64), w, axes=([2], [0]))
    assert si.events is not None and si.event_counts is not None
    ch = si.events[:, 2]
    sel = (ch >= i0) & (ch < i1)
    flat = si.events[sel, 0].astype(np.int64) * nx + si.events[sel, 1]
    vals = si.event_counts[sel] * w[ch[sel] - i0]
    return np.bincount(flat, weights=vals, minlength=ny * nx).reshape(ny, nx)


def _fit_weights(
    si: SpectrumImage,
    line: str,
    windows: LineWindows,
    table: pd.DataFrame,
    elements: Sequence[str] | None,
) -> tuple[int, np.ndarray]:
    """Channel weights of the linear-fit net intensity of ``line`` (see :func:`line_maps`)."""
    e0, fwhm = windows.energy_kev, windows.fwhm_kev
    i0, i1 = channel_range(si, (e0 - 4.0 * fwhm, e0 + 4.0 * fwhm))
    if i1 - i0 < 8:
        raise SulfurscopeError(f"{line}: too few channels around the line to fit ({i1 - i0})")
    e = energy_axis_kev(si)[i0:i1]
    element = line.split("_")[0]
    present = list(dict.fromkeys([element, *(elements or ())]))
    near = table[
        table["Element"].isin(present)
        & (table["Energy [keV]"] > e[0] - 2.0 * fwhm)
        & (table["Energy [keV]"] < e[-1] + 2.0 * fwhm)
    ]
    columns: list[np.ndarray] = []
    target = -1
    for (el, _family), rows in near.groupby(["Element", "Family"], sort=True):
        t = np.zeros(e.size)
        for _, r in rows.iterrows():
            en = float(r["Energy [keV]"])
            sd = line_fwhm_kev(en, resolution_mnka_ev=si.resolution_mnka_ev) / 2.3548
            t += (
                float(r["Weight"])
                * si.energy_scale_kev
                * np.exp(-0.5 * ((e - en) / sd) ** 2)
                / (np.sqrt(2.0 * np.pi) * sd)
            )
        if t.max() <= 0:
            continue
        if el == element and line in set(rows["Line"]):
            target = len(columns)
        columns.append(t)
    if target < 0:
        raise SulfurscopeError(f"{line}: not in the line table near {e0:.3f} keV")
    u = (e - e0) / fwhm
    a = np.column_stack([*columns, np.ones_like(u), u])
    pinv = np.linalg.pinv(a)
    p0, p1 = channel_range(si, windows.peak_kev)
    peak = np.zeros(e.size, dtype=bool)
    peak[max(p0 - i0, 0) : max(p1 - i0, 0)] = True
    return i0, float(columns[target][peak].sum()) * pinv[target]


def line_maps(
    si: SpectrumImage,
    lines: Sequence[str],
    *,
    windows: Mapping[str, LineWindows] | None = None,
    table: pd.DataFrame | None = None,
    check_elements: Sequence[str] | None = None,
    warn: bool = True,
    method: Literal["windows", "fit"] = "windows",
    elements: Sequence[str] | None = None,
) -> LineMaps:
    """Gross and net intensity maps of ``lines`` (window integration with a linear background, or a
    per-pixel linear fit of the lines of the elements present).

    Parameters
    ----------
    si : SpectrumImage
    lines : sequence of str
        Line names, e.g. ``["S_Ka", "F_Ka"]``.
    windows : mapping line → LineWindows, optional
        Explicit windows per line (default :func:`line_windows` with the detector resolution of
        ``si``).
    table : DataFrame, optional
        Line table used for energies and for the overlap check (default :func:`xray_line_table`).
    check_elements : sequence of str, optional
        Restrict the overlap check to these elements (default: every element of the table).
    warn : bool
        Emit one :class:`SulfurscopeWarning` per measured line that has overlapping lines (the
        notes are kept in the result either way).
    method : {"windows", "fit"}
        ``"windows"``: gross peak-window counts minus the linear background interpolated from the
        background windows. ``"fit"``: a linear least-squares fit, per pixel, of the spectrum in
        E₀ ± 4 FWHM by one Gaussian family per element present (line energies and weights from the
        table, FWHM from the detector resolution) plus a linear continuum; the net intensity is the
        measured element's fitted counts in the peak window. Use it when another element's line
        sits in a background window (F Kα between O Kα and Cu L): the window method then
        over-subtracts, the fit attributes those counts to their element.
    elements : sequence of str, optional
        Elements present (``"fit"`` only; default: the elements of ``lines``). Lines of these
        elements are modelled and left out of the overlap notes.

    Returns
    -------
    LineMaps

    Notes
    -----
    Windows: background per channel ``B(E) = c̄_L + (c̄_R − c̄_L)(E − Ē_L)/(Ē_R − Ē_L)`` summed over
    the peak channels (Goldstein et al. 2003, §9.3); with one window, ``B`` is that window's mean.
    Fit: with the design matrix ``A`` (families and continuum over the fitted channels), the
    coefficients are ``A⁺ s`` for every pixel spectrum ``s``, so the net map is one weighted channel
    sum ``Σ_c w_c s_c`` with ``w = t_peak · (A⁺)_row`` (``t_peak`` the element's template summed over
    the peak window) — exact, linear and streamed like a window sum.
    """
    if method not in ("windows", "fit"):
        raise SulfurscopeError(f"method must be 'windows' or 'fit', got {method!r}")
    if not lines:
        raise SulfurscopeError("lines is empty: give at least one X-ray line, e.g. S_Ka")
    table = xray_line_table() if table is None else table
    e = energy_axis_kev(si)
    gross, back, used, notes = [], [], [], []
    for line in lines:
        w = (windows or {}).get(line) or line_windows(
            line, resolution_mnka_ev=si.resolution_mnka_ev, table=table
        )
        used.append(w)
        found = overlapping_lines(
            w, resolution_mnka_ev=si.resolution_mnka_ev, table=table, elements=check_elements
        )
        if method == "fit":
            modelled = set(elements or ()) | {line.split("_")[0]}
            found = [(wh, o) for wh, o in found if o.split("_")[0] not in modelled]
        if found:
            parts = []
            for where in ("peak", "left", "right"):
                names = [o for wh, o in found if wh == where]
                if names:
                    parts.append(f"{', '.join(names)} in the {where} window")
            notes.append(f"{line}: " + "; ".join(parts))
        i0, i1 = channel_range(si, w.peak_kev)
        if i1 <= i0:
            raise SulfurscopeError(
                f"{line}: peak window {w.peak_kev} keV is outside the spectrum "
                f"({e[0]:.3f}–{e[-1]:.3f} keV)"
            )
        g = window_map(si, w.peak_kev)
        sides = [s for s in (w.left_kev, w.right_kev) if s is not None]
        if method == "fit":
            i_lo, weights = _fit_weights(si, line, w, table, elements)
            b = g - weighted_window_map(si, i_lo, weights)
        elif not sides:
            b = np.zeros_like(g)
        else:
            means = [_window_mean(si, s) for s in sides]
            e_peak = e[i0:i1]
            if len(means) == 1:
                b = means[0][0] * len(e_peak)
            else:
                (ml, el, _), (mr, er, _) = means
                slope_sum = float(np.sum((e_peak - el) / (er - el)))
                b = ml * len(e_peak) + (mr - ml) * slope_sum
        gross.append(g)
        back.append(b)
    if warn:
        for note in notes:
            warnings.warn(
                note + " (overlapping lines: check the windows)", SulfurscopeWarning, stacklevel=2
            )
    g_arr = np.stack(gross)
    b_arr = np.stack(back)
    return LineMaps(
        tuple(lines), tuple(used), g_arr, b_arr, g_arr - b_arr, si.pixel_size_nm, tuple(notes)
    )


# --------------------------------------------------------------------------------------------
# depth from the surface and profiles
# --------------------------------------------------------------------------------------------


