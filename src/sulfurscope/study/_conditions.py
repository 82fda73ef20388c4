"""The manifest's replicate keys: a cell's condition, exclusion and mass uncertainties, a sample's
sulfur-fraction uncertainty, the ``[replicates]`` table — and the cells as a frame for the
``replicates`` step.

.. code-block:: toml

    [[samples]]
    name = "AC-S_8um"
    sulfur_fraction = 0.485
    sulfur_fraction_u = 0.005       # standard uncertainty (default 0.005, or the TGA's own)

    [[cells]]
    name = "8um_rate_2"
    sample = "AC-S_8um"
    condition = "8um LiPF6"         # default: the sample
    sulfur_mass_mg = 2.41
    sulfur_mass_u_mg = 0.02         # default 0.014 mg (two weighings, 0.01 mg balance)
    exclude = "separator folded"    # leaves the statistics; the report prints the reason

    [replicates]                    # optional: sulfurscope.analysis.replicates.ReplicateOptions
    enabled = true
    ci_method = "t"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "CELL_KEYS", "SAMPLE_KEYS", "cell_extras", "cells_frame", "replicates_table", "sample_fraction_u",
]

#: Uncertainty keys of a cell (standard uncertainties, same unit as the value).
CELL_U_KEYS = ("sulfur_mass_u_mg", "loading_u_mg_cm2", "area_u_cm2", "composite_mass_u_mg")
CELL_KEYS = {"condition", "exclude", *CELL_U_KEYS}
SAMPLE_KEYS = {"sulfur_fraction_u", "loading_mg_cm2", "area_cm2", "loading_u_mg_cm2", "area_u_cm2"}
#: A sample's electrode keys that its cells inherit (a cell's own mass entry overrides them).
_INHERITED = ("loading_mg_cm2", "area_cm2", "loading_u_mg_cm2", "area_u_cm2")
_MASS_ROUTES = ("sulfur_mass_mg", "loading_mg_cm2", "composite_mass_mg")


def _u(chk: Any, e: Mapping[str, Any], key: str, table: str, k: int) -> float | None:
    if key not in e:
        return None
    v = e[key]
    if not isinstance(v, int | float) or isinstance(v, bool) or not (v >= 0) or v == float("inf"):
        raise chk.fail(table, k, key, f"expected a standard uncertainty >= 0, got {v!r}")
    return float(v)


def cell_extras(chk: Any, e: Mapping[str, Any], k: int, sample: str) -> dict[str, Any]:
    """``condition`` (default: the sample), ``exclude`` (a reason) and the mass uncertainties."""
    condition = chk.string(e, "condition", "cells", k, required=False) or sample
    exclude = ""
    if "exclude" in e:
        exclude = chk.string(e, "exclude", "cells", k, required=True).strip()
    u = {key: _u(chk, e, key, "cells", k) for key in CELL_U_KEYS}
    return {"condition": condition, "exclude": exclude, "mass_u": {a: b for a, b in u.items()
                                                                   if b is not None}}


def sample_cell_defaults(chk: Any, e: Mapping[str, Any], k: int) -> dict[str, float]:
    """A sample's electrode entries applied to each of its cells (``loading_mg_cm2``, ``area_cm2``
    and their uncertainties): one loading per sample instead of one per cell."""
    out = {}
    for key in _INHERITED:
        value = _u(chk, e, key, "samples", k) if "_u_" in key else chk.number(e, key, "samples", k)
        if value is not None:
            out[key] = value
    if "area_cm2" in out and "loading_mg_cm2" not in out:
        raise chk.fail("samples", k, "area_cm2", "only used with loading_mg_cm2")
    return out


def with_sample_defaults(e: Mapping[str, Any], defaults: Mapping[str, float]) -> dict[str, Any]:
    """A cell entry with its sample's electrode entries filled in where the cell gives no sulfur
    mass of its own (a cell's ``sulfur_mass_mg``/``composite_mass_mg``/``loading_mg_cm2`` wins)."""
    if not defaults or any(key in e for key in _MASS_ROUTES):
        return dict(e)
    return {**defaults, **e}


def sample_fraction_u(chk: Any, e: Mapping[str, Any], k: int) -> float | None:
    """A sample's ``sulfur_fraction_u``."""
    return _u(chk, e, "sulfur_fraction_u", "samples", k)


def replicates_table(chk: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[replicates]`` table, validated against the analysis's options (plus ``enabled``)."""
    from sulfurscope.analysis import OptionError, options_class

    t = data.get("replicates", {})
    if not isinstance(t, dict):
        raise chk.fail("replicates", None, None, "expected a table [replicates]")
    enabled = t.get("enabled", True)
    if not isinstance(enabled, bool):
        raise chk.fail("replicates", None, "enabled", f"expected true or false, got {enabled!r}")
    opts = {k: v for k, v in t.items() if k != "enabled"}
    try:
        options_class("replicates").from_mapping(opts)
    except OptionError as exc:
        raise chk.fail("replicates", None, exc.option, exc.detail) from None
    return {"enabled": enabled, **opts}


def cells_frame(study: Any) -> pd.DataFrame:
    """The manifest's cells with their conditions and mass fields (the ``replicates`` step's
    input: :func:`sulfurscope.replicates.cell_masses`)."""
    samples = {s.name: s for s in study.samples}
    nan = float("nan")

    def num(v: Any) -> float:
        return nan if v is None else float(v)

    rows = []
    for c in study.cells:
        s = samples[c.sample]
        u = dict(c.mass_u)
        rows.append({
            "Cell": c.name, "Sample": c.sample, "Condition": c.condition or c.sample,
            "Protocol": c.protocol, "Excluded": c.exclude,
            "Sulfur mass [mg]": num(c.sulfur_mass_mg), "Sulfur mass u [mg]":
            num(u.get("sulfur_mass_u_mg")), "Loading [mg/cm2]": num(c.loading_mg_cm2),
            "Loading u [mg/cm2]": num(u.get("loading_u_mg_cm2")), "Area [cm2]": num(c.area_cm2),
            "Area u [cm2]": num(u.get("area_u_cm2")),
            "Composite mass [mg]": num(c.composite_mass_mg),
            "Composite mass u [mg]": num(u.get("composite_mass_u_mg")),
            "Sulfur fraction": num(s.sulfur_fraction),
            "Sulfur fraction u": num(s.sulfur_fraction_u),
        })
    cols = ["Cell", "Sample", "Condition", "Protocol", "Excluded", "Sulfur mass [mg]",
            "Sulfur mass u [mg]", "Loading [mg/cm2]", "Loading u [mg/cm2]", "Area [cm2]",
            "Area u [cm2]", "Composite mass [mg]", "Composite mass u [mg]", "Sulfur fraction",
            "Sulfur fraction u"]
    return pd.DataFrame(rows, columns=cols)
