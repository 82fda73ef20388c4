"""The peak model compiled into arrays (private to :mod:`sulfurscope.spectra.peaks`).

A :class:`~sulfurscope.spectra.peak_model.PeakModel` becomes a :class:`_Compiled`: the free
parameters θ, the map p = M θ + c onto every component's (center, area, FWHM, shape parameter)
that encodes shared widths, position offsets, area ratios and doublets, the bounds, the line layout
and the background. Evaluation and the Jacobian (:mod:`sulfurscope.spectra.peaks`) work on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sulfurscope.errors import SulfurscopeError
from sulfurscope.spectra import backgrounds as _bg
from sulfurscope.spectra.peak_model import (
    _PARAMS,
    _SHAPE_BOUNDS,
    BACKGROUNDS,
    SHAPES,
    Array,
    Component,
    PeakModel,
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    x: Array
    model: PeakModel
    n_comp: int
    M: Array  # (4C + nb, P)
    c: Array  # (4C + nb,)
    free_names: tuple[str, ...]
    lower: Array
    upper: Array
    line_comp: NDArray[np.intp]
    line_off: Array
    line_frac: Array
    groups: tuple[tuple[str, NDArray[np.intp]], ...]
    bg_names: tuple[str, ...]
    bg_extra: Array | None = field(default=None)
    scatter: Array | None = field(default=None)  # (P, 4L): Mᵀ restricted to the line parameters
    line_scatter: Array | None = field(default=None)  # (4C, 4L): line parameters → components


def _guess_area(x: Array, y: Array, comp: Component) -> float:
    base = np.interp(x, [x[0], x[-1]], [y[0], y[-1]])
    h = float(np.interp(comp.center, x, y - base))
    h = max(h, 0.05 * float(np.ptp(y)) if np.ptp(y) > 0 else 1.0)
    nlines = 1.0 + (comp.branching if comp.splitting is not None else 0.0)
    if comp.shape == "breit_wigner_fano":  # amplitude is a height scale: peak ≈ A (1 + q²)
        return h / (1.0 + comp.shape_param**2) * nlines
    if comp.shape == "doniach_sunjic":  # height ≈ A / σ^(1−α), σ = FWHM/2
        return h * (comp.fwhm / 2.0) ** (1.0 - comp.shape_param) * nlines
    return h * comp.fwhm * 1.064 * nlines


def _check_components(comps: tuple[Component, ...], x: Array) -> dict[str, int]:
    """Validate the components against the window; their index by name."""
    if not comps:
        raise SulfurscopeError("the peak model has no components")
    names = [c.name for c in comps]
    if len(set(names)) != len(names):
        raise SulfurscopeError(f"component names must be unique, got {names}")
    index = {n: i for i, n in enumerate(names)}
    lo_x, hi_x = float(x[0]), float(x[-1])
    for comp in comps:
        if comp.shape not in SHAPES:
            raise SulfurscopeError(
                f"component {comp.name!r}: unknown shape {comp.shape!r}, expected one of {SHAPES}"
            )
        if not (lo_x <= comp.center <= hi_x):
            raise SulfurscopeError(
                f"component {comp.name!r} at {comp.center:g} lies outside the window "
                f"{lo_x:g}–{hi_x:g}; widen the region or drop the component"
            )
        if comp.fwhm <= 0:
            raise SulfurscopeError(f"component {comp.name!r}: fwhm must be > 0, got {comp.fwhm}")
        for ref in (comp.fwhm_of, comp.center_of, comp.area_of):
            if ref is not None and ref not in index:
                raise SulfurscopeError(
                    f"component {comp.name!r} refers to unknown component {ref!r}; known: {names}"
                )
    return index


_N_BACKGROUND = {"none": 0, "constant": 1, "linear": 2, "shirley": 2, "tougaard": 2}


#: Which field ties parameter p (0 center, 1 area, 2 FWHM) to another component, and its factor.
_REFS = {0: ("center_of", "center_offset"), 1: ("area_of", "area_ratio"), 2: ("fwhm_of", None)}


def _n_background(model: PeakModel) -> int:
    if model.background not in _N_BACKGROUND:
        raise SulfurscopeError(f"background must be one of {BACKGROUNDS}, got {model.background!r}")
    if model.background_mode not in ("subtract", "model"):
        raise SulfurscopeError(
            f"background_mode must be 'subtract' or 'model', got {model.background_mode!r}"
        )
    return _N_BACKGROUND[model.background] if model.background_mode == "model" else 0


class _ParamTable:
    """Each component parameter as a linear function of the free parameters (coefficients and a
    constant), following the constraints; the free parameters with their start and bounds."""

    def __init__(self, comps: tuple[Component, ...], index: dict[str, int], x: Array, y: Array):
        self.comps, self.index, self.x, self.y = comps, index, x, y
        self.rows: dict[tuple[int, int], tuple[dict[int, float], float]] = {}
        self.free_names: list[str] = []
        self.free_init: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def resolve(self, i: int, p: int, stack: tuple[tuple[int, int], ...] = ()
                ) -> tuple[dict[int, float], float]:
        if (i, p) in self.rows:
            return self.rows[(i, p)]
        if (i, p) in stack:
            names = [c.name for c in self.comps]
            chain = " → ".join(names[j] for j, _ in stack + ((i, p),))
            raise SulfurscopeError(f"circular constraint on {_PARAMS[p]}: {chain}")
        comp = self.comps[i]
        ref_attr = _REFS.get(p)
        ref = getattr(comp, ref_attr[0]) if ref_attr else None
        if ref is not None:
            coef, const = self.resolve(self.index[ref], p, stack + ((i, p),))
            if p == 0:
                row = (dict(coef), const + comp.center_offset)
            elif p == 1:
                row = ({k: v * comp.area_ratio for k, v in coef.items()}, const * comp.area_ratio)
            else:
                row = (dict(coef), const)
        else:
            row = self._own(comp, p)
        self.rows[(i, p)] = row
        return row

    def _own(self, comp: Component, p: int) -> tuple[dict[int, float], float]:
        raw = [comp.center, comp.area, comp.fwhm, comp.shape_param][p]
        init = _guess_area(self.x, self.y, comp) if raw is None else float(raw)
        vary = [comp.vary_center, comp.vary_area, comp.vary_fwhm, comp.vary_shape][p]
        if not vary or (comp.shape in ("gaussian", "lorentzian") and p == 3):
            return {}, float(init)
        b = self._bounds(comp, p)
        if not (b[0] <= init <= b[1]):
            raise SulfurscopeError(
                f"component {comp.name!r}: starting {_PARAMS[p]} {init:g} outside its bounds {b}"
            )
        k = self.add(f"{comp.name}.{_PARAMS[p]}", float(init), float(b[0]), float(b[1]))
        return {k: 1.0}, 0.0

    def _bounds(self, comp: Component, p: int) -> tuple[float, float]:
        if p == 0:
            return comp.center_bounds or (float(self.x[0]), float(self.x[-1]))
        if p == 1:
            return (0.0, np.inf)
        if p == 2:
            return comp.fwhm_bounds or (comp.fwhm / 5.0, comp.fwhm * 5.0)
        return _SHAPE_BOUNDS[comp.shape]

    def add(self, name: str, init: float, lo: float, hi: float) -> int:
        self.free_names.append(name)
        self.free_init.append(init)
        self.lower.append(lo)
        self.upper.append(hi)
        return len(self.free_names) - 1


def _background_params(table: _ParamTable, model: PeakModel, y: Array, n_bg: int) -> tuple[str, ...]:
    """Add the fitted background's parameters (model mode) to the free parameters."""
    if not n_bg:
        return ()
    base = float(np.mean(y[: max(1, min(model.average_points, y.size))]))
    names, init = {
        "constant": (("b0",), [float(np.min(y))]),
        "linear": (("b0", "b1"), [base, 0.0]),
        "shirley": (("b0", "k_shirley"), [base, 0.0]),
        "tougaard": (("b0", "B_tougaard"), [base, 0.0]),
    }[model.background]
    for nm, v in zip(names, init, strict=True):
        lo = 0.0 if nm in ("k_shirley", "B_tougaard") else -np.inf
        table.add(f"background.{nm}", v, lo, np.inf)
    return names


def _line_layout(comps: tuple[Component, ...]) -> tuple[np.ndarray, list[float], list[float]]:
    """Each drawn line's component, offset and share of the component's area (doublets: two)."""
    line_comp, line_off, line_frac = [], [], []
    for i, comp in enumerate(comps):
        if comp.splitting is None:
            line_comp.append(i)
            line_off.append(0.0)
            line_frac.append(1.0)
        else:
            r = comp.branching
            line_comp += [i, i]
            line_off += [0.0, float(comp.splitting)]
            line_frac += [1.0 / (1.0 + r), r / (1.0 + r)]
    return np.asarray(line_comp, dtype=np.intp), line_off, line_frac


def _compile(x: Array, y: Array, model: PeakModel) -> tuple[_Compiled, Array]:
    """The model as arrays: p = M θ + c for every component parameter (and background), bounds,
    line layout and shape groups; and the starting θ."""
    comps = model.components
    index = _check_components(comps, x)
    n_bg = _n_background(model)
    table = _ParamTable(comps, index, x, y)
    C = len(comps)
    for i in range(C):
        for p in range(4):
            table.resolve(i, p)
    bg_names = _background_params(table, model, y, n_bg)
    P = len(table.free_names)
    M = np.zeros((4 * C + n_bg, P))
    c = np.zeros(4 * C + n_bg)
    for (i, p), (coef, const) in table.rows.items():
        for k, v in coef.items():
            M[4 * i + p, k] = v
        c[4 * i + p] = const
    for b in range(n_bg):
        M[4 * C + b, P - n_bg + b] = 1.0
    lc, line_off, line_frac = _line_layout(comps)
    groups = tuple(
        (s, np.flatnonzero(np.array([comps[i].shape == s for i in lc])))
        for s in SHAPES
        if any(comps[i].shape == s for i in lc)
    )
    extra = None
    if n_bg and model.background == "tougaard":
        extra = _bg.tougaard_matrix(x, c_ev2=model.tougaard_c_ev2)
    L = lc.size
    S = np.zeros((4 * C, 4 * L))
    S[(4 * lc[:, None] + np.arange(4)[None, :]).ravel(), np.arange(4 * L)] = 1.0
    compiled = _Compiled(
        x=x, model=model, n_comp=C, M=M, c=c, free_names=tuple(table.free_names),
        lower=np.asarray(table.lower, dtype=float), upper=np.asarray(table.upper, dtype=float),
        line_comp=lc, line_off=np.asarray(line_off), line_frac=np.asarray(line_frac),
        groups=groups, bg_names=bg_names, bg_extra=extra, scatter=M[: 4 * C].T @ S,
        line_scatter=S,
    )
    return compiled, np.asarray(table.free_init, dtype=float)
