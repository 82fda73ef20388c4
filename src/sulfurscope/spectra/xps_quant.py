"""XPS quantification: relative sensitivity factors, atomic fractions and sulfur speciation.

:func:`rsf_table` (Scofield cross-sections, or a table of your own), :func:`quantify` (atomic % from
region areas ÷ RSF), :func:`reduced_sulfur_fraction` and :func:`sulfur_speciation` (the shares of the
S 2p components: Li2S, polysulfide, C–S, sulfate — the study's Figure 4b–f). Built on
:mod:`sulfurscope.spectra.xps`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.spectra.peaks import PeakFit
from sulfurscope.spectra.xps import LI2S2_ASSUMPTION, REDUCED_SULFUR, _read_csv, region_key

__all__ = [
    "QUANTIFICATION_COLUMNS",
    "area_ratio_stderr",
    "quantification_rows",
    "SulfurSpeciation",
    "quantify",
    "reduced_sulfur_fraction",
    "rsf_table",
    "sulfur_speciation",
]


@dataclass(frozen=True, slots=True)
class SulfurSpeciation:
    """S-atom fractions of elemental S, Li2S2 and Li2S from S 2p areas (:func:`sulfur_speciation`)."""

    elemental_sulfur_fraction: float
    li2s2_fraction: float
    li2s_fraction: float
    bridging_to_terminal_ratio: float
    assumption: str

    def to_frame(self) -> pd.DataFrame:
        """One row per species."""
        return pd.DataFrame(
            {
                "Species": ["S (residual, S8)", "Li2S2", "Li2S"],
                "S-atom fraction [%]": [
                    100 * self.elemental_sulfur_fraction,
                    100 * self.li2s2_fraction,
                    100 * self.li2s_fraction,
                ],
                "Assumption": [self.assumption] * 3,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def rsf_table(source: str | Path = "scofield") -> pd.DataFrame:
    """The relative-sensitivity-factor table of one source (columns ``region``, ``element``, ``rsf``).

    Examples
    --------
    >>> float(rsf_table().set_index("region").loc["S 2p", "rsf"])
    1.68
    """
    if isinstance(source, Path) or str(source).endswith(".csv"):
        df = _read_csv(source, "rsf.csv")
        if "source" not in df.columns:
            df["source"] = Path(source).stem
        src = None
    else:
        df = _read_csv("", "rsf.csv")
        src = str(source).lower()
    if src is not None:
        have = sorted(df["source"].astype(str).unique())
        if src not in have:
            raise SulfurscopeError(f"unknown RSF source {source!r}; available: {have}")
        df = df[df["source"].astype(str) == src]
    out = df[["source", "region", "element", "rsf"]].reset_index(drop=True)
    out["region"] = out["region"].map(region_key)
    return out


def quantify(
    areas: Mapping[str, float],
    *,
    rsf: str | Path | Mapping[str, float] = "scofield",
    area_stderr: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    r"""Atomic % from region (or survey-peak) areas with relative sensitivity factors (Table S1).

    ``x_i = (A_i / S_i) / Σ_j (A_j / S_j)``. With ``area_stderr`` (independent region areas) the
    standard error follows by first-order propagation (c_j = A_j/S_j, T = Σ c_j):

    .. math:: u^2(x_i) = \frac{(T - c_i)^2 u^2(c_i) + c_i^2 \sum_{j \ne i} u^2(c_j)}{T^4}

    (the RSFs are taken as exact: their own error is a systematic shared by every sample).

    Parameters
    ----------
    areas : mapping region → area
        Background-subtracted areas (e.g. from :func:`region_area` or the sum of a fit's areas).
    rsf : str, path or mapping
        RSF source name in the shipped table (default ``"scofield"``), your CSV, or a mapping
        region → RSF.

    Examples
    --------
    >>> t = quantify({"C 1s": 1.0, "F 1s": 4.43})
    >>> t["Atomic [%]"].round(1).tolist()
    [50.0, 50.0]
    """
    if not areas:
        raise SulfurscopeError("quantify needs at least one region area")
    if isinstance(rsf, Mapping):
        factors = {region_key(k): float(v) for k, v in rsf.items()}
        src = "user"
    else:
        t = rsf_table(rsf)
        factors = dict(zip(t["region"], t["rsf"].astype(float), strict=True))
        src = str(rsf) if not isinstance(rsf, Path) else rsf.stem
    rows = []
    for name, a in areas.items():
        key = region_key(name)
        if key not in factors:
            raise SulfurscopeError(
                f"no RSF for region {name!r} in source {src!r}; available: {sorted(factors)}"
            )
        if not np.isfinite(a) or a < 0:
            raise SulfurscopeError(f"area of {name!r} must be finite and >= 0, got {a}")
        rows.append((key, float(a), factors[key]))
    corr = np.array([a / s for _, a, s in rows])
    total = corr.sum()
    if total <= 0:
        raise SulfurscopeError("all region areas are zero")
    se = {region_key(k): float(v) for k, v in (area_stderr or {}).items()}
    u_c = np.array([se.get(k, np.nan) / s for k, _, s in rows])
    var_all = float(np.sum(u_c**2))
    u_x = np.sqrt((total - corr) ** 2 * u_c**2 + corr**2 * (var_all - u_c**2)) / total**2
    return pd.DataFrame(
        {
            "Region": [r[0] for r in rows],
            "Area [counts/s·eV]": [r[1] for r in rows],
            "Area stderr [counts/s·eV]": [se.get(r[0], np.nan) for r in rows],
            "RSF": [r[2] for r in rows],
            "RSF source": src,
            "Atomic [%]": 100.0 * corr / total,
            "Atomic stderr [%]": 100.0 * u_x,
        }
    )


def _areas_of(fit_or_areas: PeakFit | Mapping[str, float]) -> dict[str, float]:
    if isinstance(fit_or_areas, PeakFit):
        return dict(zip(fit_or_areas.names, map(float, fit_or_areas.area), strict=True))
    return {str(k): float(v) for k, v in fit_or_areas.items()}


def reduced_sulfur_fraction(
    fit_or_areas: PeakFit | Mapping[str, float], *, reduced: Sequence[str] = REDUCED_SULFUR
) -> float:
    """Fraction of reduced sulfur: (Li2S + terminal + bridging S) / all S 2p area.

    The study reports 33 % (small particles) vs 16 % (large) after the first discharge.

    Examples
    --------
    >>> reduced_sulfur_fraction({"Li2S": 10, "terminal S": 15, "bridging S": 8, "C-S": 40, "sulfate": 27})
    0.33
    """
    a = _areas_of(fit_or_areas)
    missing = [n for n in reduced if n not in a]
    if missing:
        raise SulfurscopeError(f"components {missing} not in the fit; have {sorted(a)}")
    total = sum(a.values())
    if total <= 0:
        raise SulfurscopeError("total S 2p area is zero")
    return float(round(sum(a[n] for n in reduced) / total, 12))


def sulfur_speciation(
    fit_or_areas: PeakFit | Mapping[str, float],
    *,
    li2s: str = "Li2S",
    terminal: str = "terminal S",
    bridging: str = "bridging S",
) -> SulfurSpeciation:
    """Residual sulfur, Li2S2 and Li2S shares of the reduced S under the Li2S2 assumption.

    With only Li2S2 as polysulfide, terminal S ↔ Li2S2 and bridging S ↔ elemental S8; the shares are
    ``bridging : terminal : Li2S`` over their sum (the study: 25 % S, 45 % Li2S2, 30 % Li2S), and the
    bridging/terminal area ratio is reported with them.

    Examples
    --------
    >>> s = sulfur_speciation({"Li2S": 30, "terminal S": 45, "bridging S": 25})
    >>> round(s.elemental_sulfur_fraction, 2), round(s.li2s2_fraction, 2), round(s.li2s_fraction, 2)
    (0.25, 0.45, 0.3)
    """
    a = _areas_of(fit_or_areas)
    for n in (li2s, terminal, bridging):
        if n not in a:
            raise SulfurscopeError(f"component {n!r} not in the fit; have {sorted(a)}")
    total = a[li2s] + a[terminal] + a[bridging]
    if total <= 0:
        raise SulfurscopeError("Li2S + terminal + bridging S area is zero")
    return SulfurSpeciation(
        elemental_sulfur_fraction=a[bridging] / total,
        li2s2_fraction=a[terminal] / total,
        li2s_fraction=a[li2s] / total,
        bridging_to_terminal_ratio=a[bridging] / a[terminal] if a[terminal] > 0 else float("inf"),
        assumption=LI2S2_ASSUMPTION,
    )


def area_ratio_stderr(fit: PeakFit, numerator: Sequence[str], denominator: Sequence[str]) -> float:
    r"""Standard error of Σ_num A / Σ_den A from the fit's area uncertainties and correlations.

    First-order propagation, f = N/D: ∂f/∂A_i = (1[i ∈ num] − f·1[i ∈ den]) / D and
    u²(f) = gᵀ Σ g with Σ_ij = ρ_ij u_i u_j (``fit.area_correlation``; overlapping S 2p doublets
    are strongly anti-correlated, so leaving ρ out would misstate u). NaN when the fit has no
    finite area uncertainties.
    """
    names = list(fit.names)
    a = np.asarray(fit.area, dtype=float)
    u = np.asarray(fit.area_stderr, dtype=float)
    num = np.array([n in numerator for n in names], dtype=float)
    den = np.array([n in denominator for n in names], dtype=float)
    d = float(a @ den)
    used = (num + den) > 0
    if d <= 0 or not np.all(np.isfinite(u[used])):
        return float("nan")
    f = float(a @ num) / d
    g = (num - f * den) / d
    rho = np.asarray(fit.area_correlation, dtype=float)
    if rho.shape != (a.size, a.size) or not np.all(np.isfinite(rho[np.ix_(used, used)])):
        rho = np.eye(a.size)
    uu = np.where(used, u, 0.0)
    cov = rho * np.outer(uu, uu)
    cov = np.where(np.isfinite(cov), cov, 0.0)
    return float(np.sqrt(max(g @ cov @ g, 0.0)))


QUANTIFICATION_COLUMNS = [
    "Region",
    "Quantity",
    "Value [%]",
    "Stderr [%]",
    "Area [counts/s·eV]",
    "RSF",
    "RSF source",
    "Note",
]


def _factors(rsf: Any) -> tuple[dict[str, float], str]:
    if isinstance(rsf, Mapping):
        return {region_key(k): float(v) for k, v in rsf.items()}, "user"
    t = rsf_table(rsf)
    return dict(zip(t["region"], t["rsf"].astype(float), strict=True)), str(rsf)


def _region_areas(
    cands: Any, factors: dict[str, float], failures: list[tuple[str, str]]
) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """Background-subtracted area of every region with an RSF (Shirley, else linear) and its
    bootstrap standard error (:func:`~sulfurscope.spectra.xps.region_area_stderr`)."""
    from sulfurscope.errors import FitError
    from sulfurscope.spectra.xps import region_area_stderr

    areas: dict[str, float] = {}
    errs: dict[str, float] = {}
    how: dict[str, str] = {}
    for s in cands:
        if s.region not in factors or s.region in areas:
            continue
        try:
            a, u = region_area_stderr(s)
            how[s.region] = "Shirley"
        except FitError:
            try:
                a, u = region_area_stderr(s, background="linear")
                how[s.region] = "linear (Shirley had no solution in this window)"
            except (FitError, SulfurscopeError) as exc:
                failures.append((s.region, f"area: {exc}"))
                continue
        except SulfurscopeError as exc:
            failures.append((s.region, f"area: {exc}"))
            continue
        areas[s.region], errs[s.region] = max(a, 0.0), u
    return areas, errs, how


def _sulfur_rows(regions: Any, fits: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for reg, fit in zip(regions, fits, strict=True):
        if reg != "S 2p" or not set(REDUCED_SULFUR) <= set(fit.names):
            continue
        rows.append(
            {
                "Region": reg,
                "Quantity": "Reduced sulfur [%]",
                "Value [%]": 100 * reduced_sulfur_fraction(fit),
                "Stderr [%]": 100 * area_ratio_stderr(fit, REDUCED_SULFUR, fit.names),
                "Area [counts/s·eV]": float(np.sum(fit.area)),
                "RSF": np.nan,
                "Note": "(Li2S + terminal + bridging S) / all S 2p; stderr from the fit's area "
                "covariance",
            }
        )
        sp = sulfur_speciation(fit)
        for q_name, v, comp in (
            ("Residual S (S8) [%]", sp.elemental_sulfur_fraction, "bridging S"),
            ("Li2S2 [%]", sp.li2s2_fraction, "terminal S"),
            ("Li2S [%]", sp.li2s_fraction, "Li2S"),
        ):
            rows.append(
                {
                    "Region": reg,
                    "Quantity": q_name,
                    "Value [%]": 100 * v,
                    "Stderr [%]": 100 * area_ratio_stderr(fit, [comp], REDUCED_SULFUR),
                    "Area [counts/s·eV]": np.nan,
                    "RSF": np.nan,
                    "Note": sp.assumption,
                }
            )
    return rows


def quantification_rows(
    cands: Any, regions: Any, fits: Any, rsf: Any, failures: list[tuple[str, str]]
) -> pd.DataFrame:
    """The quantification table: atomic % of every region with an RSF (its background-subtracted
    area ÷ RSF), the RSF source, and the study's sulfur numbers from the S 2p fit."""
    factors, src = _factors(rsf)
    areas, errs, how = _region_areas(cands, factors, failures)
    rows: list[dict[str, Any]] = []
    if areas and sum(areas.values()) > 0:
        q = quantify(areas, rsf=factors, area_stderr=errs)
        for _, r in q.iterrows():
            rows.append(
                {
                    "Region": r["Region"],
                    "Quantity": "Atomic [%]",
                    "Value [%]": r["Atomic [%]"],
                    "Stderr [%]": r["Atomic stderr [%]"],
                    "Area [counts/s·eV]": r["Area [counts/s·eV]"],
                    "RSF": r["RSF"],
                    "RSF source": src,
                    "Note": f"{how[r['Region']]}-subtracted region area, RSF source {src}; "
                    "stderr: counting noise and background placement (bootstrap)",
                }
            )
    rows += _sulfur_rows(regions, fits)
    return pd.DataFrame(rows, columns=QUANTIFICATION_COLUMNS)
