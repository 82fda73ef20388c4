"""TGA: the sulfur mass fraction of a composite from its mass-loss curve.

:func:`analyse_tga` is the one implementation behind ``sulfurscope tga``, the pipeline's TGA tasks and
the composite-mass route of the cell analyses (:func:`sulfur_fraction_of`).

Tables
------
``tga_fraction``  one row: the sulfur fraction ± sd, the method and basis, the range it spans,
                  masses at its ends, the DTG peak, the number of steps, whether the loss ended
``tga_steps``     one row per mass-loss step found (DTG peak, mass lost)
``tga_curve``     the curve (decimated)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sulfurscope.analysis._common import decimate, finish, read_tga_curve
from sulfurscope.analysis._options import Options, choice, integer, number, numbers
from sulfurscope.analysis._result import AnalysisResult, Flag

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLES", "TgaOptions", "analyse_tga", "run_files", "sulfur_fraction_of"]

TABLES = ("tga_fraction", "tga_curve", "tga_steps")


@dataclass(frozen=True, slots=True)
class TgaOptions(Options):
    """Options of :func:`analyse_tga`."""

    method: str = choice(
        "steps",
        ("steps", "window"),
        "steps: find the sulfur mass-loss steps in the derivative (from the dry point to where "
        "the mass stops falling); window: the fixed window_c.",
    )
    moisture_end_c: float = number(
        150.0, "Where moisture and solvent have left (refined to the DTG minimum within ±30 °C).",
        unit="°C", minimum=50.0, maximum=400.0,
    )
    window_c: tuple[float, float] = numbers(
        (150.0, 400.0),
        "Temperature window of the sulfur mass-loss step (start, end; window method only).",
        unit="°C",
        length=2,
    )
    curve_points: int = integer(
        1500, "Points kept of the stored curve.", minimum=10, maximum=1_000_000
    )


_ABSOLUTE_MASS = ("Mass [mg]", "Mass [g]", "Mass [ug]", "Mass [µg]")


def _canonical(curve: pd.DataFrame) -> pd.DataFrame:
    """The curve with ``Temperature [°C]`` and ``Mass [%]``: taken as they are, or derived from
    ``Temperature [K]`` and an absolute mass column (% of its first finite value); otherwise a
    :class:`~sulfurscope.errors.MissingColumnError` that says what is expected."""
    import numpy as np
    import pandas as pd

    from sulfurscope.errors import MissingColumnError

    cols = list(getattr(curve, "columns", []))
    out = curve
    if "Temperature [°C]" not in cols and "Temperature [K]" in cols:
        out = out.assign(**{"Temperature [°C]": out["Temperature [K]"] - 273.15})
    if "Mass [%]" not in cols:
        absolute = next((c for c in _ABSOLUTE_MASS if c in cols), None)
        if absolute is not None:
            mass = out[absolute].to_numpy(dtype=float)
            finite = mass[np.isfinite(mass) & (mass > 0)]
            if finite.size:
                out = out.assign(**{"Mass [%]": 100.0 * mass / finite[0]})
    missing = [c for c in ("Temperature [°C]", "Mass [%]") if c not in out.columns]
    if missing:
        raise MissingColumnError(
            f"the TGA curve has no {' or '.join(repr(c) for c in missing)} column (found {cols}); "
            "expected 'Temperature [°C]' (or 'Temperature [K]') and 'Mass [%]' (or an absolute "
            "'Mass [mg]'); read files with sulfurscope.io.read_tga"
        )
    numeric = {c: pd.to_numeric(out[c], errors="coerce") for c in ("Temperature [°C]", "Mass [%]")
               if not pd.api.types.is_numeric_dtype(out[c])}  # text → NaN, dropped (too few points)
    return out.assign(**numeric) if numeric else out


def _fraction(curve: pd.DataFrame, options: TgaOptions) -> Any:
    from sulfurscope.spectra import sulfur_fraction

    curve = _canonical(curve)
    return sulfur_fraction(
        curve["Temperature [°C]"].to_numpy(),
        curve["Mass [%]"].to_numpy(),
        method=options.method,  # type: ignore[arg-type]
        moisture_end_c=options.moisture_end_c,
        window_c=options.window_c,
    )


def sulfur_fraction_of(curve: pd.DataFrame, options: TgaOptions | None = None) -> float:
    """The sulfur mass fraction (0–1) of a composite from its TGA curve."""
    return float(_fraction(curve, options or TgaOptions()).sulfur_fraction)


def sulfur_fraction_with_sd(
    curve: pd.DataFrame, options: TgaOptions | None = None
) -> tuple[float, float]:
    """The sulfur mass fraction of a composite from its TGA curve and its standard deviation."""
    r = _fraction(curve, options or TgaOptions())
    return float(r.sulfur_fraction), float(r.sulfur_fraction_sd)


def analyse_tga(
    curve: pd.DataFrame,
    options: TgaOptions | None = None,
    *,
    sources: tuple[Any, ...] = (),
) -> AnalysisResult:
    """Sulfur fraction of a composite from its TGA curve (``Temperature [°C]``, ``Mass [%]``).

    Returns
    -------
    AnalysisResult
        Tables ``tga_fraction`` and ``tga_curve``.
    """
    import pandas as pd

    options = options or TgaOptions()
    curve = _canonical(curve)
    res = _fraction(curve, options)
    d = res.to_dict()
    row = {
        "Sulfur fraction": d["sulfur_fraction"],
        "Sulfur fraction sd": d["sulfur_fraction_sd"],
        "Method": d["method"],
        "Basis": "dry mass" if d["normalise"] in ("dry", "window_start") else "initial mass",
        "Mass at start [%]": d["mass_at_start_pct"],
        "Mass at end [%]": d["mass_at_end_pct"],
        "Window start [°C]": d["window_c"][0],
        "Window end [°C]": d["window_c"][1],
        "DTG peak [°C]": d["dtg_peak_c"],
        "Steps": len(d["steps"]),
        "Complete": d["complete"],
        "Residue [%]": d["residue_pct"],
    }
    flags: list[Flag] = _window_flags(curve, options, d["sulfur_fraction"])
    if not d["complete"]:
        flags.append(Flag("tga_incomplete", f"the curve ends at {curve['Temperature [°C]'].max():.0f}"
                          " °C while the mass is still falling: the sulfur fraction is a lower "
                          "bound", "warning"))
    steps = pd.DataFrame(list(d["steps"]), columns=["DTG peak [°C]", "Mass loss [%]"])
    tables = {
        "tga_fraction": pd.DataFrame([row]),
        "tga_curve": decimate(curve[["Temperature [°C]", "Mass [%]"]], options.curve_points),
        "tga_steps": steps,
    }
    return finish(
        "tga",
        __name__,
        tables,
        flags,
        options,
        sources,
        summary={"sulfur_fraction": d["sulfur_fraction"]},
    )


def _window_flags(curve: pd.DataFrame, options: TgaOptions, fraction: float) -> list[Flag]:
    """With ``method="window"``: a warning when the mass-loss steps the curve shows (the default
    method) give a fraction more than 0.02 away — the fixed window misses a step (sulfur held in
    micropores leaves up to ~600 °C) or takes in another."""
    from sulfurscope.errors import SulfurscopeError

    if options.method != "window":
        return []
    try:
        steps = _fraction(curve, TgaOptions(method="steps", moisture_end_c=options.moisture_end_c))
    except SulfurscopeError:
        return []
    if abs(steps.sulfur_fraction - fraction) <= 0.02:
        return []
    lo, hi = options.window_c
    return [Flag("window_misses_loss",
                 f"the fixed window {lo:g}–{hi:g} °C gives a sulfur fraction of {fraction:.3f}, "
                 f"the mass-loss steps the curve shows give {steps.sulfur_fraction:.3f} "
                 f"({len(steps.steps)} step(s), DTG peaks at "
                 f"{', '.join(f'{t:.0f}' for t, _ in steps.steps)} °C): the window misses or "
                 "takes in a step; use --method steps", "warning")]


def run_files(files: Mapping[str, Path], options: TgaOptions) -> AnalysisResult:
    """Read a TGA export (role ``file``) and analyse it."""
    curve, src = read_tga_curve(Path(files["file"]), "file")
    return analyse_tga(curve, options, sources=(src,))
