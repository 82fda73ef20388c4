"""CasaXPS peak models, imported from the comment lines CasaXPS writes into VAMAS blocks.

CasaXPS stores a block's quantification regions and components in its comment lines::

    CASA region (*S 2p*) (*Shirley*) 160.5 172.0 1 1 0 0 299 542 275 9.3 (*NoTag*) 0
    CASA comp (*Li2S*) (*GL(30)*) Area 2260.3 0.001 1e7 -1 1 MFWHM 1.92 0.4 10 -1 1 \
        Position 160.7 155 170 -1 1 RSF 0.717 MASS 32.06 INDEX -1 (*NoTag*)

A region gives the background type and its energy limits; a component gives its line shape and,
for each of area, FWHM and position, the value, the lower and upper bound and a constraint: the
index of another component (−1: none) and a factor (area = factor × that area; FWHM = factor × that
FWHM; position = that position + factor). :func:`parse_casa_model` turns them into sulfurscope's
:class:`~sulfurscope.spectra.peaks.Component` objects on the binding-energy axis (a block stored
in kinetic energy has BE = hν − KE, bounds and position offsets flipped accordingly), keeping Casa's
own areas and RSFs so a refit (:func:`fit_casa_model`) can be compared with Casa's table.

Line shapes: ``GL(m)`` → ``gl_product`` (m % Lorentzian), ``SGL(m)`` → ``gl_sum``; ``GL`` alone is
GL(30). Other CasaXPS shapes (``LA``, ``LF``, ``A``, …) have no counterpart here and are replaced by
GL(30) with a note (:attr:`CasaModel.notes`). A FWHM constraint with a factor other than 1 is kept as
a free FWHM, with a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from sulfurscope.errors import SulfurscopeError
from sulfurscope.spectra.peak_model import Component, PeakFit, PeakModel

__all__ = ["CasaModel", "CasaRegion", "fit_casa_model", "parse_casa_model"]

_NAME = r"\(\*(.*?)\*\)"
_REGION = re.compile(r"CASA region " + _NAME + r" " + _NAME + r" (.*)")
_COMP = re.compile(r"CASA comp " + _NAME + r" " + _NAME + r" (.*)")
_SHAPE = re.compile(r"^(SGL|GL)(?:\((\d+(?:\.\d*)?)\))?$")


@dataclass(frozen=True, slots=True)
class CasaRegion:
    """A CasaXPS quantification region: its name, background and binding-energy limits."""

    name: str
    background: str
    be_low: float
    be_high: float


@dataclass(frozen=True, slots=True)
class CasaModel:
    """A block's CasaXPS model on the binding-energy axis.

    Attributes
    ----------
    regions : tuple of CasaRegion
    components : tuple of Component
        Ready for :func:`sulfurscope.spectra.peaks.fit_peaks`.
    casa_area : tuple of float
        Casa's fitted area of each component (its own units).
    casa_position_ev : tuple of float
        Casa's fitted position of each component (binding energy).
    rsf : tuple of float
        Casa's relative sensitivity factor of each component.
    notes : tuple of str
        What could not be imported exactly.
    """

    regions: tuple[CasaRegion, ...]
    components: tuple[Component, ...]
    casa_area: tuple[float, ...]
    casa_position_ev: tuple[float, ...]
    rsf: tuple[float, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def _fields(rest: str) -> dict[str, list[str]]:
    """``Area a lo hi k f MFWHM ...`` → {"Area": [a, lo, hi, k, f], ...}."""
    tokens = rest.split()
    out: dict[str, list[str]] = {}
    key = None
    for tok in tokens:
        if re.match(r"^[A-Za-z]+$", tok) and tok not in ("e",):
            key = tok
            out[key] = []
        elif key is not None:
            out[key].append(tok)
    return out


def _shape(text: str, notes: list[str], name: str) -> tuple[str, float]:
    m = _SHAPE.match(text.strip())
    if m:
        return ("gl_sum" if m.group(1) == "SGL" else "gl_product"), float(m.group(2) or 30.0)
    notes.append(f"component {name!r}: CasaXPS line shape {text!r} has no counterpart; GL(30) used")
    return "gl_product", 30.0


def _be(value: float, hv: float, kinetic: bool) -> float:
    return hv - value if kinetic else value


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "comp"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
    return out


def parse_casa_model(
    comment: str, *, source_energy_ev: float, kinetic: bool
) -> CasaModel | None:
    """The CasaXPS model in a VAMAS block comment, or None when it holds none.

    Parameters
    ----------
    comment : str
        The block's comment lines (``XPSData.metadata["blocks"][k]["comment"]``).
    source_energy_ev : float
        hν of the block (to convert kinetic energies).
    kinetic : bool
        Whether the block's axis (and so Casa's positions) is kinetic energy.
    """
    lines = [ln.strip() for ln in comment.splitlines()]
    regions = []
    for ln in lines:
        m = _REGION.match(ln)
        if m:
            lo, hi = (float(v) for v in m.group(3).split()[:2])
            a, b = sorted((_be(lo, source_energy_ev, kinetic), _be(hi, source_energy_ev, kinetic)))
            regions.append(CasaRegion(m.group(1), m.group(2).strip().lower(), a, b))
    comps = [(_COMP.match(ln)) for ln in lines]
    comps = [m for m in comps if m]
    if not comps:
        return None
    names = _unique([m.group(1).strip() for m in comps])
    notes: list[str] = []
    built, areas, positions, rsf = [], [], [], []
    for name, m in zip(names, comps, strict=True):
        f = _fields(m.group(3))
        try:
            built.append(_component(name, m.group(2), f, names, source_energy_ev, kinetic, notes))
            areas.append(float(f["Area"][0]))
            positions.append(_be(float(f["Position"][0]), source_energy_ev, kinetic))
            rsf.append(float(f.get("RSF", ["1"])[0]))
        except (KeyError, IndexError, ValueError) as exc:
            raise SulfurscopeError(f"CasaXPS component {name!r}: cannot read {m.group(0)!r} "
                                   f"({type(exc).__name__}: {exc})") from None
    return CasaModel(tuple(regions), tuple(built), tuple(areas), tuple(positions), tuple(rsf),
                     tuple(notes))


def _component(
    name: str, shape_text: str, f: dict[str, list[str]], names: list[str], hv: float,
    kinetic: bool, notes: list[str],
) -> Component:
    shape, m = _shape(shape_text, notes, name)
    area, a_lo, a_hi, a_link, a_fac = (float(v) for v in f["Area"][:5])
    fwhm, w_lo, w_hi, w_link, w_fac = (float(v) for v in f["MFWHM"][:5])
    pos, p_lo, p_hi, p_link, p_fac = (float(v) for v in f["Position"][:5])
    lo, hi = sorted((_be(p_lo, hv, kinetic), _be(p_hi, hv, kinetic)))
    kwargs: dict = {"center_bounds": (lo, hi), "fwhm_bounds": (w_lo, w_hi)}
    if a_link >= 0:
        kwargs.update(area_of=names[int(a_link)], area_ratio=a_fac)
    if p_link >= 0:
        kwargs.update(center_of=names[int(p_link)], center_offset=-p_fac if kinetic else p_fac)
    if w_link >= 0:
        if np.isclose(w_fac, 1.0):
            kwargs["fwhm_of"] = names[int(w_link)]
        else:
            notes.append(f"component {name!r}: FWHM = {w_fac:g} × another's is fitted freely")
    return Component(name, _be(pos, hv, kinetic), fwhm, area=area, shape=shape, shape_param=m,
                     vary_shape=False, **kwargs)


def fit_casa_model(
    energy_ev: np.ndarray, intensity: np.ndarray, model: CasaModel
) -> PeakFit:
    """Refit a CasaXPS model with sulfurscope's fitter: the data inside the (first) region's limits,
    its background subtracted first as CasaXPS does, the imported components as starting values."""
    from sulfurscope.spectra.peaks import fit_peaks

    x = np.asarray(energy_ev, dtype=float)
    y = np.asarray(intensity, dtype=float)
    background = "shirley"
    if model.regions:
        r = model.regions[0]
        inside = (x >= r.be_low) & (x <= r.be_high)
        x, y = x[inside], y[inside]
        background = r.background if r.background in ("shirley", "linear", "tougaard") else (
            "shirley")
    if x.size < 3 * len(model.components) + 3:
        raise SulfurscopeError("the CasaXPS region holds too few points to refit")
    peak_model = PeakModel(model.components, background=background)  # type: ignore[arg-type]
    return fit_peaks(x, y, peak_model)
