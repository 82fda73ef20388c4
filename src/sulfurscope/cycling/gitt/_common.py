"""Shared pieces of the GITT analysis (private): choices, checks, the saturated τ read-out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope.errors import MissingColumnError, SulfurscopeError

__all__ = [
    "PULSE_LIMITED_FRACTION",
    "PULSE_LIMITED_RATIO",
    "FitModel",
    "V0Convention",
    "VInfMethod",
    "check_choice",
    "mass_mg",
    "ordinal",
    "plain_dict",
    "require_columns",
    "runs",
    "saturated_tau_reading",
]

V0Convention = Literal["last_under_current", "first_rest_point"]
VInfMethod = Literal["last_sample", "fitted"]
FitModel = Literal["exponential", "two_exponential", "stretched"]

#: τ ≥ PULSE_LIMITED_RATIO · t_p: the rest time is set by the pulse length, not by transport (MODEL.md).
#: This is the rule for a relaxation read to its true end (fitted V∞, or a rest ≫ t_p); for a finite rest
#: read with V∞ = last sample the same fraction of the saturated reading applies, see
#: :func:`saturated_tau_reading`.
PULSE_LIMITED_RATIO = 1.2
#: The saturated (pulse-limited) τ of a fully relaxed curve is 1.381 t_p; 1.2 t_p is this fraction of it.
_SATURATED_FULL = ((1.0 - np.exp(-2.0)) / (2.0 * np.exp(-1.0))) ** 2
PULSE_LIMITED_FRACTION = PULSE_LIMITED_RATIO / _SATURATED_FULL


def saturated_tau_reading(
    pulse_s: np.ndarray | float,
    rest_s: np.ndarray | float | None = None,
    *,
    v_inf: Literal["last_sample", "fitted"] = "fitted",
) -> np.ndarray:
    """The τ a pulse-limited relaxation reads: the largest τ transport can give for this protocol.

    When R²/D ≫ t_p and the rest, the particle surface behaves as a semi-infinite medium: after a
    constant-flux pulse of length t_p it relaxes as √(t + t_p) − √t (Crank, eq. 2.9 superposed).
    Normalised from V0 (the first rest point) to V∞, the 1 − 1/e read-out solves
    √(x + 1) − √x = L with x = τ/t_p and L = 1 − (1 − 1/e)(1 − s), where s = 0 for the true
    asymptote (``v_inf="fitted"`` or no rest length given: x = 1.381, the sphere's saturation of
    MODEL.md) and s = √(r + 1) − √r for V∞ read at the end of a rest of r = t_rest/t_p
    (``v_inf="last_sample"``: a 2 h rest after a 36 min pulse saturates at 0.46 t_p). Hence
    x = ((1 − L²)/(2L))².

    Examples
    --------
    >>> round(float(saturated_tau_reading(1.0)[0]), 3)
    1.381
    >>> round(float(saturated_tau_reading(2153.0, 7200.0, v_inf="last_sample")[0] / 2153.0), 2)
    0.46
    """
    tp = np.atleast_1d(np.asarray(pulse_s, dtype=float))
    if rest_s is None or v_inf == "fitted":
        s_end = np.zeros_like(tp)
    else:
        r = np.atleast_1d(np.asarray(rest_s, dtype=float)) / tp
        s_end = np.sqrt(r + 1.0) - np.sqrt(r)
    level = 1.0 - (1.0 - np.exp(-1.0)) * (1.0 - s_end)
    return tp * ((1.0 - level**2) / (2.0 * level)) ** 2


_ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)


def ordinal(k: int) -> str:
    if 1 <= k <= len(_ORDINALS):
        return _ORDINALS[k - 1]
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def require_columns(frame: pd.DataFrame, *cols: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SulfurscopeError(
            f"data must be the canonical cycler table (a pandas DataFrame), got {type(frame).__name__}"
        )
    for c in cols:
        if c not in frame.columns:
            raise MissingColumnError(
                f"the cycler table has no {c!r} column (found {list(frame.columns)[:10]}); "
                "read files with sulfurscope.io.read_cycler"
            )


def mass_mg(sulfur_mass_mg: float | None, what: str) -> float:
    if sulfur_mass_mg is None:
        raise SulfurscopeError(
            f"{what} needs the sulfur mass: give sulfur_mass_mg (or --sulfur-mass-mg); "
            "sulfurscope never assumes a default mass"
        )
    m = float(sulfur_mass_mg)
    if not (np.isfinite(m) and m > 0):
        raise SulfurscopeError(
            f"sulfur_mass_mg must be a positive number of mg, got {sulfur_mass_mg!r}"
        )
    return m


def check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise SulfurscopeError(f"{name} must be one of {list(allowed)}, got {value!r}")


# ================================================================== pulses and rests


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def plain_dict(obj: Any) -> dict[str, Any]:
    """A result's fields as JSON-ready values (arrays become lists)."""
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in _fields(obj).items()}


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding of a bool array: (starts, stops (exclusive), value)."""
    n = len(mask)
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0, dtype=bool)
    change = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [n]])
    return starts, stops, mask[starts]
