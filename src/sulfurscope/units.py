"""The ``"Quantity [unit]"`` column grammar and every conversion factor sulfurscope uses.

Tables carry their units in the column names, as PyBaMM and PyProBE do: ``"Time [s]"``,
``"Voltage [V]"``, ``"Current [mA]"``, ``"Specific capacity [mAh/g]"``. Dimensionless columns have no
bracket (``"Step"``, ``"Rest"``, ``"Cycle"``). Conversion factors live here and in the readers' column
maps only.

Sign convention (the canonical cycler table): positive current charges the cell (oxidation at the
sulfur working electrode, delithiation); negative current discharges it (lithiation). ``"Charge [mAh]"``
is the running integral of the current, so it falls during a discharge.
"""

from __future__ import annotations

import re

__all__ = [
    "CANONICAL_CYCLER_COLUMNS",
    "CHARGE",
    "CURRENT",
    "ELECTRODE_AREA_13MM_CM2",
    "FARADAY",
    "GAS_CONSTANT",
    "HC_EV_NM",
    "NM_PER_CM",
    "Q_THEORETICAL_SULFUR_MAH_G",
    "REST",
    "ROOM_TEMPERATURE_K",
    "STEP",
    "TIME",
    "VOLTAGE",
    "column",
    "parse_column",
    "MAH_PER_AS",
    "SECONDS_PER_HOUR",
]

TIME = "Time [s]"
VOLTAGE = "Voltage [V]"
CURRENT = "Current [mA]"
CHARGE = "Charge [mAh]"
STEP = "Step"
REST = "Rest"
CANONICAL_CYCLER_COLUMNS = (TIME, VOLTAGE, CURRENT, CHARGE, STEP, REST)

#: Theoretical specific capacity of sulfur, S + 2 Li+ + 2 e- -> Li2S: 2F/M_S = 1672 mAh/g (1C).
Q_THEORETICAL_SULFUR_MAH_G = 1672.0
#: Faraday constant, C/mol (CODATA 2018, exact).
FARADAY = 96485.33212
#: Molar gas constant, J/(mol K) (CODATA 2018, exact).
GAS_CONSTANT = 8.314462618
SECONDS_PER_HOUR = 3600.0
#: 1 mA s = 1/3600 mAh.
MAH_PER_AS = 1000.0 / 3600.0
#: Area of a 13 mm punched disc, π (0.65 cm)² = 1.327 cm²; the reference study quotes 1.32 cm².
ELECTRODE_AREA_13MM_CM2 = 1.32
#: Room temperature used by the models' thermal voltage, K.
ROOM_TEMPERATURE_K = 298.15
#: h·c in eV·nm (CODATA 2018): photon energy E [eV] = HC_EV_NM / λ [nm].
HC_EV_NM = 1239.841984
#: Nanometres per centimetre: wavenumber [cm⁻¹] = NM_PER_CM / λ [nm].
NM_PER_CM = 1.0e7

_COLUMN_RE = re.compile(r"^(?P<quantity>.+?)(?: \[(?P<unit>[^\[\]]+)\])?$")


def column(quantity: str, unit: str | None = None) -> str:
    """Build a column name in the ``"Quantity [unit]"`` grammar.

    Examples
    --------
    >>> column("Specific capacity", "mAh/g")
    'Specific capacity [mAh/g]'
    >>> column("Step")
    'Step'
    """
    return quantity if not unit else f"{quantity} [{unit}]"


def parse_column(name: str) -> tuple[str, str | None]:
    """Split a column name into quantity and unit (``None`` when dimensionless).

    Examples
    --------
    >>> parse_column("Voltage [V]")
    ('Voltage', 'V')
    >>> parse_column("Rest")
    ('Rest', None)
    """
    m = _COLUMN_RE.match(name)
    if m is None:  # pragma: no cover - the regex matches any non-empty string
        raise ValueError(f"column name {name!r} is not of the form 'Quantity [unit]'")
    return m.group("quantity"), m.group("unit")
