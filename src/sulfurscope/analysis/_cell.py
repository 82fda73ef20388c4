"""The options every cell analysis shares: how its sulfur mass is known.

Specific capacities divide by the sulfur mass, and sulfurscope never assumes one: it is given
(``sulfur_mass_mg``), or areal loading × electrode area (``loading_mg_cm2``, ``area_cm2``), or composite
mass × sulfur fraction (``composite_mass_mg`` with ``sulfur_fraction`` or a TGA curve of the composite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._options import Options, number
from sulfurscope.units import ELECTRODE_AREA_13MM_CM2, Q_THEORETICAL_SULFUR_MAH_G

if TYPE_CHECKING:
    import pandas as pd

    from sulfurscope.cycling import Cell

__all__ = ["CellOptions", "cell_of", "mass_uncertainty_of"]


@dataclass(frozen=True, slots=True)
class CellOptions(Options):
    """How a cell's sulfur mass is known (one route) and what defines 1C."""

    sulfur_mass_mg: float | None = number(
        None, "Sulfur mass in the electrode.", unit="mg", positive=True, per_input=True
    )
    loading_mg_cm2: float | None = number(
        None,
        "Areal sulfur loading; the mass is loading × area_cm2.",
        unit="mg/cm²",
        positive=True,
        per_input=True,
    )
    area_cm2: float = number(
        ELECTRODE_AREA_13MM_CM2,
        "Electrode area (used with loading_mg_cm2).",
        unit="cm²",
        positive=True,
    )
    composite_mass_mg: float | None = number(
        None,
        "Composite (coating) mass; the sulfur mass is composite_mass_mg × sulfur_fraction.",
        unit="mg",
        positive=True,
        per_input=True,
    )
    sulfur_fraction: float | None = number(
        None,
        "Sulfur mass fraction of the composite (0–1); from the TGA file when one is given.",
        positive=True,
        maximum=1.0,
    )
    theoretical_capacity_mah_g: float = number(
        Q_THEORETICAL_SULFUR_MAH_G,
        "Specific capacity that defines 1C (S + 2 Li → Li2S).",
        unit="mAh/g",
        minimum=1.0,
        maximum=10000.0,
    )
    sulfur_mass_u_mg: float | None = number(
        None, "Standard uncertainty of sulfur_mass_mg (default: two weighings on a 0.01 mg "
        "balance, 0.014 mg).", unit="mg", minimum=0.0, per_input=True,
    )
    loading_u_mg_cm2: float | None = number(
        None, "Standard uncertainty of loading_mg_cm2 (default 0.014 mg / area).", unit="mg/cm²",
        minimum=0.0, per_input=True,
    )
    area_u_cm2: float | None = number(
        None, "Standard uncertainty of area_cm2 (default 0.77 %: a 13 mm punch ± 0.05 mm).",
        unit="cm²", minimum=0.0,
    )
    composite_mass_u_mg: float | None = number(
        None, "Standard uncertainty of composite_mass_mg (default 0.014 mg).", unit="mg",
        minimum=0.0, per_input=True,
    )
    sulfur_fraction_u: float | None = number(
        None, "Standard uncertainty of the sulfur fraction (default 0.005, or the TGA's own sd "
        "when larger).", minimum=0.0, maximum=1.0,
    )


def cell_of(options: CellOptions, tga: pd.DataFrame | None = None) -> Cell:
    """The cell (sulfur mass and its source) from the options, the fraction from ``tga`` if needed.

    ``tga`` is a TGA curve (``Temperature [°C]``, ``Mass [%]``) of the composite; its sulfur fraction
    is the TGA analysis's (:func:`sulfurscope.analysis.tga.sulfur_fraction_of`).
    """
    from sulfurscope.cycling import make_cell

    fraction = options.sulfur_fraction
    composite = options.composite_mass_mg
    if composite is not None and fraction is None and tga is not None:
        from sulfurscope.analysis.tga import sulfur_fraction_of

        fraction = sulfur_fraction_of(tga)
    return make_cell(
        sulfur_mass_mg=options.sulfur_mass_mg,
        loading_mg_cm2=options.loading_mg_cm2,
        electrode_area_cm2=options.area_cm2,
        composite_mass_mg=composite,
        sulfur_fraction=fraction if composite is not None else None,
        theoretical_capacity_mah_g=options.theoretical_capacity_mah_g,
    )


def mass_uncertainty_of(options: CellOptions, tga: pd.DataFrame | None = None) -> Any:
    """The cell's sulfur mass with its standard uncertainty
    (:func:`sulfurscope.replicates.sulfur_mass_uncertainty`: the GUM product rule over the route's
    factors); the fraction's uncertainty from the TGA analysis when the fraction comes from
    ``tga``. None when the mass route is incomplete (the cell analysis then has no mass at all)."""
    from sulfurscope.errors import SulfurscopeError
    from sulfurscope.replicates import FRACTION_U, sulfur_mass_uncertainty

    fraction, fraction_u = options.sulfur_fraction, options.sulfur_fraction_u
    composite = options.composite_mass_mg
    if composite is not None and fraction is None and tga is not None:
        from sulfurscope.analysis.tga import sulfur_fraction_with_sd

        fraction, sd = sulfur_fraction_with_sd(tga)
        fraction_u = max(sd, FRACTION_U) if fraction_u is None else fraction_u
    try:
        return sulfur_mass_uncertainty(
            sulfur_mass_mg=options.sulfur_mass_mg, sulfur_mass_u_mg=options.sulfur_mass_u_mg,
            loading_mg_cm2=options.loading_mg_cm2, loading_u_mg_cm2=options.loading_u_mg_cm2,
            area_cm2=options.area_cm2 if options.loading_mg_cm2 is not None else None,
            area_u_cm2=options.area_u_cm2, composite_mass_mg=composite,
            composite_mass_u_mg=options.composite_mass_u_mg,
            sulfur_fraction=fraction if composite is not None else None,
            sulfur_fraction_u=fraction_u,
        )
    except SulfurscopeError:
        return None
