"""The sulfur mass of a cell and its standard uncertainty, from how the mass was obtained.

A specific capacity divides a measured charge by the sulfur mass, so its relative uncertainty is the
mass's. The mass is a product of independent measured factors — a weighed sulfur mass; a sulfur
loading × electrode area; or a weighed composite mass × the sulfur fraction — and for a product of
independent factors the relative variances add (GUM, JCGM 100:2008, eq. 10 with the sensitivity
coefficients of a product, §5.1.6):

.. math:: \\left(\\frac{u_m}{m}\\right)^2 = \\sum_i \\left(\\frac{u_{x_i}}{x_i}\\right)^2 .

The factors are split into the part that is independent from cell to cell (weighing, punched area)
and the part every cell of a sample shares (the sample's sulfur fraction, measured once by TGA): the
first is already in the scatter of replicate cells, the second is not and must be added to the
uncertainty of a condition mean (:func:`sulfurscope.replicates.stats.condition_summary`).

Defaults (used when the manifest gives no uncertainty) — documented in ``docs/replicates.md``:

* ``BALANCE_U_MG`` = 0.014 mg: a mass is the difference of two weighings (coated minus bare disc) on a
  balance of 0.01 mg standard uncertainty, √2 × 0.01 mg;
* ``AREA_U_REL`` = 0.77 %: a 13 mm punch with a diameter tolerance of ±0.05 mm (u_A/A = 2 u_d/d);
* ``FRACTION_U`` = 0.005: the repeatability of a TGA sulfur fraction (0.5 wt%) — a TGA analysis's own
  statistical standard deviation is used when it is larger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sulfurscope.errors import SulfurscopeError

__all__ = [
    "AREA_U_REL",
    "BALANCE_U_MG",
    "FRACTION_U",
    "MASS_COLUMNS",
    "MassUncertainty",
    "cell_masses",
    "sulfur_mass_uncertainty",
]

BALANCE_U_MG = math.sqrt(2.0) * 0.01
AREA_U_REL = 2.0 * 0.05 / 13.0
FRACTION_U = 0.005


@dataclass(frozen=True, slots=True)
class MassUncertainty:
    """A cell's sulfur mass with its standard uncertainty.

    Attributes
    ----------
    mass_mg : float
        Sulfur mass, mg.
    u_mg : float
        Combined standard uncertainty, mg.
    u_rel_cell : float
        Relative uncertainty of the factors independent from cell to cell (weighing, area).
    u_rel_shared : float
        Relative uncertainty of the factors every cell of the sample shares (the sulfur fraction).
    components : mapping of str to float
        Each factor's relative standard uncertainty.
    """

    mass_mg: float
    u_mg: float
    u_rel_cell: float
    u_rel_shared: float
    components: Mapping[str, float] = field(default_factory=dict)

    @property
    def u_rel(self) -> float:
        """Combined relative standard uncertainty u_m/m."""
        return math.hypot(self.u_rel_cell, self.u_rel_shared)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "mass_mg": self.mass_mg,
            "u_mg": self.u_mg,
            "u_rel_cell": self.u_rel_cell,
            "u_rel_shared": self.u_rel_shared,
            "components": dict(self.components),
        }


def _rel(value: float, u: float | None, default: float, what: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise SulfurscopeError(f"{what}: expected a positive number, got {value!r}")
    u = default if u is None or (isinstance(u, float) and math.isnan(u)) else float(u)
    if not math.isfinite(u) or u < 0:
        raise SulfurscopeError(f"{what} uncertainty: expected a number >= 0, got {u!r}")
    return u / value


def sulfur_mass_uncertainty(
    *,
    sulfur_mass_mg: float | None = None,
    sulfur_mass_u_mg: float | None = None,
    loading_mg_cm2: float | None = None,
    loading_u_mg_cm2: float | None = None,
    area_cm2: float | None = None,
    area_u_cm2: float | None = None,
    composite_mass_mg: float | None = None,
    composite_mass_u_mg: float | None = None,
    sulfur_fraction: float | None = None,
    sulfur_fraction_u: float | None = None,
    balance_u_mg: float = BALANCE_U_MG,
) -> MassUncertainty:
    """The sulfur mass and its standard uncertainty (GUM product rule, module docstring).

    Exactly one of ``sulfur_mass_mg``, ``loading_mg_cm2`` (with ``area_cm2``) or
    ``composite_mass_mg`` (with ``sulfur_fraction``) gives the mass. An uncertainty left ``None``
    takes its default: ``balance_u_mg`` for a weighed mass, ``balance_u_mg / area`` for a loading,
    ``AREA_U_REL × area`` for the area, ``FRACTION_U`` for the fraction.

    Examples
    --------
    >>> m = sulfur_mass_uncertainty(composite_mass_mg=5.0, composite_mass_u_mg=0.05,
    ...                             sulfur_fraction=0.5, sulfur_fraction_u=0.01)
    >>> round(m.mass_mg, 6), round(m.u_rel, 6)   # sqrt(0.01**2 + 0.02**2)
    (2.5, 0.022361)
    """
    given = [k for k, v in (("sulfur_mass_mg", sulfur_mass_mg), ("loading_mg_cm2", loading_mg_cm2),
                            ("composite_mass_mg", composite_mass_mg)) if v is not None]
    if len(given) != 1:
        raise SulfurscopeError(
            f"sulfur mass: give exactly one of sulfur_mass_mg, loading_mg_cm2, composite_mass_mg "
            f"(got {given or 'none'})"
        )
    comp: dict[str, float] = {}
    shared = 0.0
    if sulfur_mass_mg is not None:
        comp["weighing"] = _rel(sulfur_mass_mg, sulfur_mass_u_mg, balance_u_mg, "sulfur_mass_mg")
        mass = sulfur_mass_mg
    elif loading_mg_cm2 is not None:
        if area_cm2 is None:
            raise SulfurscopeError("loading_mg_cm2 needs area_cm2")
        comp["area"] = _rel(area_cm2, area_u_cm2, AREA_U_REL * area_cm2, "area_cm2")
        comp["loading"] = _rel(
            loading_mg_cm2, loading_u_mg_cm2, balance_u_mg / area_cm2, "loading_mg_cm2"
        )
        mass = loading_mg_cm2 * area_cm2
    else:
        assert composite_mass_mg is not None
        if sulfur_fraction is None:
            raise SulfurscopeError("composite_mass_mg needs the sample's sulfur fraction")
        comp["weighing"] = _rel(
            composite_mass_mg, composite_mass_u_mg, balance_u_mg, "composite_mass_mg"
        )
        shared = _rel(sulfur_fraction, sulfur_fraction_u, FRACTION_U, "sulfur_fraction")
        comp["sulfur fraction"] = shared
        mass = composite_mass_mg * sulfur_fraction
    cell = math.sqrt(sum(v**2 for k, v in comp.items() if k != "sulfur fraction"))
    return MassUncertainty(
        mass_mg=float(mass),
        u_mg=float(mass * math.hypot(cell, shared)),
        u_rel_cell=float(cell),
        u_rel_shared=float(shared),
        components=comp,
    )


_MASS_FIELDS = {
    "sulfur_mass_mg": "Sulfur mass [mg]",
    "sulfur_mass_u_mg": "Sulfur mass u [mg]",
    "loading_mg_cm2": "Loading [mg/cm2]",
    "loading_u_mg_cm2": "Loading u [mg/cm2]",
    "area_cm2": "Area [cm2]",
    "area_u_cm2": "Area u [cm2]",
    "composite_mass_mg": "Composite mass [mg]",
    "composite_mass_u_mg": "Composite mass u [mg]",
    "sulfur_fraction": "Sulfur fraction",
    "sulfur_fraction_u": "Sulfur fraction u",
}
MASS_COLUMNS = ["cell", "condition", "sample", "mass_mg", "u_mg", "u_rel", "u_rel_cell",
                "u_rel_shared", "components", "error"]


def _num(row: Mapping[str, Any], col: str) -> float | None:
    v = row.get(col)
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def cell_masses(cells: Any, tga_fraction: Any = None, *, balance_u_mg: float = BALANCE_U_MG) -> Any:
    """Every cell's sulfur mass and standard uncertainty (:func:`sulfur_mass_uncertainty`).

    Parameters
    ----------
    cells : DataFrame
        ``Cell``, ``Condition``, ``Sample`` and the mass columns of the manifest (``Sulfur mass
        [mg]``, ``Sulfur mass u [mg]``, ``Loading [mg/cm2]``, ``Loading u [mg/cm2]``, ``Area
        [cm2]``, ``Area u [cm2]``, ``Composite mass [mg]``, ``Composite mass u [mg]``, ``Sulfur
        fraction``, ``Sulfur fraction u``; NaN when not given).
    tga_fraction : DataFrame, optional
        The ``tga_fraction`` table: a sample without a manifest fraction takes ``Sulfur
        fraction`` from it, with u = max(``Sulfur fraction sd``, FRACTION_U).
    balance_u_mg : float
        Standard uncertainty of a weighed mass when the manifest gives none.

    Returns
    -------
    DataFrame
        ``MASS_COLUMNS``; a cell whose mass cannot be formed has NaNs and the reason in ``error``.
    """
    import pandas as pd

    tga: dict[str, tuple[float, float]] = {}
    if tga_fraction is not None and len(tga_fraction) and "Sulfur fraction" in tga_fraction:
        for r in tga_fraction.to_dict("records"):
            sd = _num(r, "Sulfur fraction sd") or 0.0
            tga[str(r.get("Sample"))] = (float(r["Sulfur fraction"]), max(sd, FRACTION_U))
    rows = []
    for r in cells.to_dict("records"):
        kw = {k: _num(r, c) for k, c in _MASS_FIELDS.items()}
        if kw["composite_mass_mg"] is not None and kw["sulfur_fraction"] is None:
            kw["sulfur_fraction"], kw["sulfur_fraction_u"] = tga.get(str(r["Sample"]), (None, None))
        if kw["loading_mg_cm2"] is None:
            kw["area_cm2"] = kw["area_u_cm2"] = None
        if kw["composite_mass_mg"] is None:
            kw["sulfur_fraction"] = kw["sulfur_fraction_u"] = None
        base = {"cell": r["Cell"], "condition": r["Condition"], "sample": r["Sample"]}
        try:
            m = sulfur_mass_uncertainty(**kw, balance_u_mg=balance_u_mg)
        except SulfurscopeError as exc:
            rows.append({**base, "error": str(exc)})
            continue
        rows.append({**base, "mass_mg": m.mass_mg, "u_mg": m.u_mg, "u_rel": m.u_rel,
                     "u_rel_cell": m.u_rel_cell, "u_rel_shared": m.u_rel_shared,
                     "components": "; ".join(f"{k} {v:.2%}" for k, v in m.components.items()),
                     "error": ""})
    return pd.DataFrame(rows, columns=MASS_COLUMNS)
