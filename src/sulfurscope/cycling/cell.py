"""The cell: its sulfur mass, electrode area and the 1C definition.

Specific capacity needs the sulfur mass, and sulfurscope never assumes one (no "1 mg" default, unlike
cellpy): it is given directly, or computed from the areal loading × electrode area, or from the composite
mass × sulfur fraction (the fraction from TGA, see :func:`sulfurscope.spectra.sulfur_fraction`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sulfurscope.errors import SulfurscopeError
from sulfurscope.units import ELECTRODE_AREA_13MM_CM2, Q_THEORETICAL_SULFUR_MAH_G

__all__ = [
    "DISC_AREA_13MM_CM2",
    "Cell",
    "make_cell",
    "one_c_current_ma",
    "require_sulfur_mass",
]

#: Area of a 13 mm punched disc (:data:`sulfurscope.units.ELECTRODE_AREA_13MM_CM2`).
DISC_AREA_13MM_CM2 = ELECTRODE_AREA_13MM_CM2


@dataclass(frozen=True, slots=True)
class Cell:
    """What the analysis needs to know about a cell.

    Attributes
    ----------
    label : str
        Name used in legends and tables.
    sulfur_mass_mg : float or None
        Sulfur in the electrode, mg. ``None`` when unknown: capacities stay in mAh and anything
        specific (mAh/g_S, C-rates) is refused.
    electrode_area_cm2 : float
        Electrode area, cm² (default a 13 mm disc).
    theoretical_capacity_mah_g : float
        Capacity that defines 1C, mAh/g_S (default :data:`~sulfurscope.units.Q_THEORETICAL_SULFUR_MAH_G`, S + 2Li -> Li2S).
    mass_source : str
        How the sulfur mass was obtained (``"given"``, ``"loading"``, ``"composite"``, ``"unknown"``).
    """

    label: str = ""
    sulfur_mass_mg: float | None = None
    electrode_area_cm2: float = DISC_AREA_13MM_CM2
    theoretical_capacity_mah_g: float = Q_THEORETICAL_SULFUR_MAH_G
    mass_source: str = "unknown"

    def to_dict(self) -> dict[str, Any]:
        """The cell as a plain dict."""
        return asdict(self)


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise SulfurscopeError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def make_cell(
    *,
    label: str = "",
    sulfur_mass_mg: float | None = None,
    loading_mg_cm2: float | None = None,
    electrode_area_cm2: float = DISC_AREA_13MM_CM2,
    composite_mass_mg: float | None = None,
    sulfur_fraction: float | None = None,
    theoretical_capacity_mah_g: float = Q_THEORETICAL_SULFUR_MAH_G,
) -> Cell:
    """Describe a cell, computing the sulfur mass from one of three routes.

    Parameters
    ----------
    label : str
        Cell name.
    sulfur_mass_mg : float, optional
        Sulfur mass given directly, mg.
    loading_mg_cm2 : float, optional
        Areal sulfur loading, mg_S/cm²; mass = loading × ``electrode_area_cm2``.
    electrode_area_cm2 : float
        Electrode area, cm² (default 1.32 cm², a 13 mm disc).
    composite_mass_mg, sulfur_fraction : float, optional
        Composite (electrode coating) mass in mg and its sulfur mass fraction (0–1, e.g. from TGA);
        mass = composite × fraction.
    theoretical_capacity_mah_g : float
        Capacity that defines 1C (default :data:`~sulfurscope.units.Q_THEORETICAL_SULFUR_MAH_G`).

    Returns
    -------
    Cell

    Raises
    ------
    SulfurscopeError
        When more than one route is given, a composite route is incomplete, or a value is not positive.

    Examples
    --------
    >>> make_cell(loading_mg_cm2=2.0).sulfur_mass_mg
    2.64
    >>> make_cell(composite_mass_mg=4.0, sulfur_fraction=0.49).sulfur_mass_mg
    1.96
    """
    _positive("electrode_area_cm2", electrode_area_cm2)
    _positive("theoretical_capacity_mah_g", theoretical_capacity_mah_g)
    routes = [
        sulfur_mass_mg is not None,
        loading_mg_cm2 is not None,
        composite_mass_mg is not None or sulfur_fraction is not None,
    ]
    if sum(routes) > 1:
        raise SulfurscopeError(
            "give the sulfur mass one way only: sulfur_mass_mg, loading_mg_cm2, or "
            "composite_mass_mg with sulfur_fraction"
        )
    mass: float | None = None
    source = "unknown"
    if sulfur_mass_mg is not None:
        mass, source = _positive("sulfur_mass_mg", sulfur_mass_mg), "given"
    elif loading_mg_cm2 is not None:
        loading = _positive("loading_mg_cm2", loading_mg_cm2)
        assert loading is not None
        mass, source = round(loading * electrode_area_cm2, 12), "loading"
    elif routes[2]:
        if composite_mass_mg is None or sulfur_fraction is None:
            raise SulfurscopeError(
                "the composite route needs both composite_mass_mg and sulfur_fraction"
            )
        comp = _positive("composite_mass_mg", composite_mass_mg)
        frac = _positive("sulfur_fraction", sulfur_fraction)
        assert comp is not None and frac is not None
        if frac > 1:
            raise SulfurscopeError(
                f"sulfur_fraction is a mass fraction between 0 and 1, got {frac} (percent?)"
            )
        mass, source = round(comp * frac, 12), "composite"
    return Cell(
        label=label,
        sulfur_mass_mg=mass,
        electrode_area_cm2=float(electrode_area_cm2),
        theoretical_capacity_mah_g=float(theoretical_capacity_mah_g),
        mass_source=source,
    )


def require_sulfur_mass(sulfur_mass_mg: float | None, *, what: str = "specific capacity") -> float:
    """Return the sulfur mass or refuse clearly when it is unknown.

    Raises
    ------
    SulfurscopeError
        When ``sulfur_mass_mg`` is None or not positive.
    """
    if sulfur_mass_mg is None:
        raise SulfurscopeError(
            f"{what} needs the sulfur mass: give sulfur_mass_mg (or --sulfur-mass-mg / "
            "--loading-mg-cm2); sulfurscope never assumes a default mass"
        )
    value = _positive("sulfur_mass_mg", sulfur_mass_mg)
    assert value is not None
    return value


def one_c_current_ma(
    sulfur_mass_mg: float | None,
    *,
    theoretical_capacity_mah_g: float = Q_THEORETICAL_SULFUR_MAH_G,
) -> float:
    """Current of 1C in mA: I₁C = m_S · q_th (mg × mAh/g / 1000 = mAh, per hour).

    Examples
    --------
    >>> round(one_c_current_ma(2.0), 4)
    3.344
    """
    m = require_sulfur_mass(sulfur_mass_mg, what="a C-rate")
    return m * theoretical_capacity_mah_g / 1000.0
