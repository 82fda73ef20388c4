"""Fitting the particle-size model to sulfurscope's own result tables (model D).

* :func:`fit_cycling_model` — model C's kinetics (and fade) to the smallest-particle sample's cycle
  summary or rate-capability table, by re-simulating the same protocol;
* :func:`fit_formation_model` — model B's D₀ to the capacities of the larger-particle samples, with the
  model C parameters held fixed;
* :func:`protocol_from_table` — the protocol a cycle summary or rate table describes.

Accepted tables (plain DataFrames, the column names sulfurscope writes):

* cycle summary: ``"Cycle"``, ``"Discharge C-rate"``, ``"Discharge capacity [mAh/g]"`` and optionally
  ``"Charge C-rate"`` (the charge after each discharge; default = the next discharge's rate);
* rate capability: ``"C-rate"``, ``"Cycles"``, ``"Mean discharge capacity [mAh/g]"`` (one row per block,
  in test order; the first one-cycle block is taken as the formation discharge when
  ``formation=True``);

One D from GITT relaxation times is :func:`sulfurscope.cycling.gitt.fit_sphere_diffusivity` (one
implementation, with the finite-rest read-out). All fits here use lmfit (Levenberg–Marquardt) and return the values, standard errors, correlations, initial
values and optimiser status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import lmfit
import numpy as np
import pandas as pd

from sulfurscope.errors import FitError, MissingColumnError, SulfurscopeError

from .active_volume import SizeDistribution, single_size
from .cycling import CyclingParameters
from .formation import FormationParameters
from .protocols import CellModel, ProtocolStep, protocol_capacities

__all__ = [
    "ModelFit",
    "fit_cycling_model",
    "fit_formation_model",
    "formation_sensitivity",
    "protocol_from_table",
]

CYCLE = "Cycle"
DIS_RATE = "Discharge C-rate"
CH_RATE = "Charge C-rate"
DIS_CAP = "Discharge capacity [mAh/g]"
#: Optional column of a cycle summary: the standard uncertainty of each capacity (e.g. of a
#: condition mean over replicate cells); when present the fit is weighted by it.
DIS_CAP_U = "Discharge capacity u [mAh/g]"
C_RATE = "C-rate"
CYCLES = "Cycles"
MEAN_DIS_CAP = "Mean discharge capacity [mAh/g]"

#: Parameters fitted on a log10 scale (positive, spanning decades).
_LOG_PARAMS = {"k_c_per_h", "k_d_per_h", "diffusivity_m2_s", "solid_diffusivity_m2_s"}


@dataclass(frozen=True, slots=True)
class ModelFit:
    """A fit of model B/C parameters to measured discharge capacities.

    Attributes
    ----------
    values, stderr : dict of str to float
        Fitted parameters in their natural units (log-fitted ones back-transformed; their standard error
        by the delta method). ``stderr`` is NaN when lmfit could not estimate it.
    initial : dict of str to float
    correlations : dict of str to float
        ``"a|b"`` → correlation of the fitted (log) parameters.
    cycling : CyclingParameters
        Model C parameters with the fitted values in place.
    formation : FormationParameters
        Model B parameters with the fitted values in place.
    table : DataFrame
        ``Sample``, ``Cycle`` (or ``Block``), ``C-rate``, ``Measured [mAh/g]``, ``Fitted [mAh/g]``.
    chi_square, reduced_chi_square : float
        In (mAh/g)².
    n_points : int
    success : bool
    message : str
    """

    values: dict
    stderr: dict
    initial: dict
    correlations: dict
    cycling: CyclingParameters
    formation: FormationParameters
    table: pd.DataFrame
    chi_square: float
    reduced_chi_square: float
    n_points: int
    success: bool
    message: str

    def to_frame(self) -> pd.DataFrame:
        """One row per fitted parameter: value, standard error, initial value."""
        return pd.DataFrame(
            {
                "Parameter": list(self.values),
                "Value": [self.values[k] for k in self.values],
                "Standard error": [self.stderr[k] for k in self.values],
                "Initial": [self.initial[k] for k in self.values],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain python (the measured-vs-fitted table as records)."""
        return {
            "values": dict(self.values),
            "stderr": dict(self.stderr),
            "initial": dict(self.initial),
            "correlations": dict(self.correlations),
            "cycling": self.cycling.to_dict(),
            "formation": self.formation.to_dict(),
            "table": self.table.to_dict(orient="records"),
            "chi_square": self.chi_square,
            "reduced_chi_square": self.reduced_chi_square,
            "n_points": self.n_points,
            "success": self.success,
            "message": self.message,
        }


def _require(table: pd.DataFrame, *cols: str, what: str) -> None:
    for c in cols:
        if c not in table.columns:
            raise MissingColumnError(f"{what}: column {c!r} missing (have {list(table.columns)})")


@dataclass(frozen=True, slots=True)
class _Target:
    protocol: tuple[ProtocolStep, ...]
    groups: list[np.ndarray]  # per data point: indices of discharge steps averaged
    measured: np.ndarray
    labels: pd.DataFrame
    sigma: np.ndarray | None = None  # standard uncertainty per point (weights), None: unweighted


def protocol_from_table(
    table: pd.DataFrame, *, formation: bool = True, min_cycle: int = 1
) -> tuple[tuple[ProtocolStep, ...], pd.DataFrame]:
    """The protocol a cycle summary or a rate-capability table describes, and the measured points.

    Parameters
    ----------
    table : DataFrame
        A cycle summary (``"Cycle"``, ``"Discharge C-rate"``, ``"Discharge capacity [mAh/g]"``,
        optionally ``"Charge C-rate"``) or a rate-capability table (``"C-rate"``, ``"Cycles"``,
        ``"Mean discharge capacity [mAh/g]"``), in test order.
    formation : bool
        The first discharge is the cell's formation discharge (model B).
    min_cycle : int
        Cycles (or blocks starting) before this are simulated but not returned as measured points.

    Returns
    -------
    protocol : tuple of ProtocolStep
    points : DataFrame
        ``Group`` (list of discharge-step indices into the protocol), ``C-rate``,
        ``Measured [mAh/g]`` and ``Cycle`` or ``Block``.

    Raises
    ------
    MissingColumnError
        When neither table shape is recognised.
    """
    steps: list[ProtocolStep] = []
    rows: list[dict[str, Any]] = []
    if CYCLE in table.columns and DIS_RATE in table.columns:
        _require(table, DIS_CAP, what="cycle summary")
        t = table.sort_values(CYCLE)
        t = t[t[DIS_RATE].notna() & (t[DIS_RATE] > 0)]
        rates = t[DIS_RATE].to_numpy(float)
        unc = t[DIS_CAP_U].to_numpy(float) if DIS_CAP_U in t.columns else None
        ch = t[CH_RATE].to_numpy(float) if CH_RATE in t.columns else np.full(rates.size, np.nan)
        for n, (cyc, rate, cap) in enumerate(
            zip(t[CYCLE], rates, t[DIS_CAP].to_numpy(float), strict=True)
        ):
            if n == 0 and formation:
                steps.append(ProtocolStep("formation", float(rate)))
            else:
                prev_ch = ch[n - 1] if n > 0 and np.isfinite(ch[n - 1]) and ch[n - 1] > 0 else rate
                if n > 0 or not formation:
                    steps.append(ProtocolStep("charge", float(prev_ch)))
                steps.append(ProtocolStep("discharge", float(rate)))
            if int(cyc) >= min_cycle and np.isfinite(cap):
                rows.append(
                    {
                        CYCLE: int(cyc),
                        C_RATE: float(rate),
                        "Measured [mAh/g]": float(cap),
                        "Group": [len(steps) - 1],
                        **({} if unc is None else {"Measured u [mAh/g]": float(unc[n])}),
                    }
                )
    elif C_RATE in table.columns and CYCLES in table.columns:
        _require(table, MEAN_DIS_CAP, what="rate capability table")
        first = True
        cycle_no = 1
        for b, (rate, ncyc, cap) in enumerate(
            zip(
                table[C_RATE].to_numpy(float),
                table[CYCLES].to_numpy(int),
                table[MEAN_DIS_CAP].to_numpy(float),
                strict=True,
            ),
            start=1,
        ):
            group = []
            for _ in range(int(ncyc)):
                if first and formation:
                    steps.append(ProtocolStep("formation", float(rate)))
                else:
                    steps.append(ProtocolStep("charge", float(rate)))
                    steps.append(ProtocolStep("discharge", float(rate)))
                first = False
                group.append(len(steps) - 1)
            first_cycle, cycle_no = cycle_no, cycle_no + int(ncyc)
            if np.isfinite(cap) and first_cycle >= min_cycle:
                rows.append(
                    {
                        "Block": b,
                        C_RATE: float(rate),
                        "Measured [mAh/g]": float(cap),
                        "Group": group,
                    }
                )
    else:
        raise MissingColumnError(
            "table: need a cycle summary ('Cycle', 'Discharge C-rate', 'Discharge capacity [mAh/g]') "
            f"or a rate table ('C-rate', 'Cycles', 'Mean discharge capacity [mAh/g]'); have {list(table.columns)}"
        )
    if not rows:
        raise SulfurscopeError("table: no cycle with a discharge C-rate and capacity")
    return tuple(steps), pd.DataFrame(rows)


def _target(table: pd.DataFrame, formation: bool, min_cycle: int) -> _Target:
    protocol, pts = protocol_from_table(table, formation=formation, min_cycle=min_cycle)
    labels = pts.drop(columns=["Group"])
    sigma = None
    if "Measured u [mAh/g]" in pts.columns:
        u = pts["Measured u [mAh/g]"].to_numpy(float)
        if np.all(np.isfinite(u) & (u > 0)):
            sigma = u
    return _Target(
        protocol,
        [np.asarray(g) for g in pts["Group"]],
        pts["Measured [mAh/g]"].to_numpy(float),
        labels,
        sigma,
    )


def _simulated(target: _Target, cell: CellModel, formation: Any = None) -> np.ndarray:
    out = protocol_capacities(target.protocol, cell, formation_result=formation)
    caps = out.table["Capacity [mAh/g]"].to_numpy(float)
    return np.array([caps[g].mean() for g in target.groups])


def _as_dist(d: SizeDistribution | float) -> SizeDistribution:
    return d if isinstance(d, SizeDistribution) else single_size(float(d))


def _make_params(
    names: Sequence[str], source: Mapping[str, float], bounds: Mapping[str, tuple[float, float]]
) -> lmfit.Parameters:
    params = lmfit.Parameters()
    for name in names:
        v = float(source[name])
        lo, hi = bounds.get(name, (-np.inf, np.inf))
        if name in _LOG_PARAMS:
            if v <= 0:
                raise SulfurscopeError(f"initial {name} must be > 0 for a log-scale fit, got {v!r}")
            params.add(
                name,
                value=np.log10(v),
                min=np.log10(lo) if lo > 0 else -np.inf,
                max=np.log10(hi) if np.isfinite(hi) else np.inf,
            )
        else:
            params.add(name, value=v, min=lo, max=hi)
    return params


def _natural(name: str, value: float) -> float:
    return float(10.0**value) if name in _LOG_PARAMS else float(value)


_DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {
    "k_c_per_h": (1e-12, 1.0),
    "k_d_per_h": (1e-9, 1e3),
    "m_c": (0.5, 40.0),
    "m_d": (0.2, 20.0),
    "fade_per_cycle": (0.0, 2.0),
    "fade_per_hour": (0.0, 1.0),
    "fade_layer_um": (0.0, 1.0),
    "diffusivity_m2_s": (1e-20, 1e-10),
    "ohmic_v_per_c": (0.0, 5.0),
}


def _run_fit(
    residual: Any, params: lmfit.Parameters, names: Sequence[str], n_points: int, what: str,
) -> tuple[lmfit.minimizer.MinimizerResult, dict, dict, dict, dict]:
    """Least squares with lmfit's covariance scaled by χ²_red. Weighted residuals ((model −
    data)/u) set the points' relative weights only: the u of a condition mean are
    correlated over its cycles (a cell's mass and connected sulfur scale all its cycles), so they
    are not independent point errors; their common part enters the parameters' uncertainty as a
    level shift (:func:`sulfurscope.analysis.model._level_shift`), and the scatter about the model
    sets the rest."""
    initial = {k: _natural(k, params[k].value) for k in names}
    try:
        res = lmfit.minimize(residual, params, method="leastsq")
    except (ValueError, SulfurscopeError) as exc:
        raise FitError(f"{what}: model evaluation failed during the fit: {exc}") from exc
    if not res.success:
        raise FitError(f"{what}: lmfit did not converge: {res.message}")
    values = {k: _natural(k, res.params[k].value) for k in names}
    stderr = {}
    for k in names:
        se = res.params[k].stderr
        if se is None or not np.isfinite(se):
            stderr[k] = float("nan")
        elif k in _LOG_PARAMS:
            stderr[k] = float(values[k] * np.log(10.0) * se)
        else:
            stderr[k] = float(se)
    corr = {}
    for a in names:
        for b, c in (res.params[a].correl or {}).items():
            if names.index(b) > names.index(a):
                corr[f"{a}|{b}"] = float(c)
    return res, values, stderr, corr, initial


def fit_cycling_model(
    table: pd.DataFrame,
    distribution: SizeDistribution | float = 1.0,
    *,
    cycling: CyclingParameters | None = None,
    formation: FormationParameters | None = None,
    vary: Sequence[str] = ("k_c_per_h", "m_c", "fade_per_cycle"),
    has_formation: bool = True,
    min_cycle: int = 2,
    n_cells: int = 20,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> ModelFit:
    """Fit model C parameters to a sample's measured discharge capacities (usually the smallest particles).

    Parameters
    ----------
    table : DataFrame
        Cycle summary or rate-capability table (see the module docstring).
    distribution : SizeDistribution or float
        The sample's size distribution (a float is one diameter in µm).
    cycling, formation : parameters, optional
        Starting values / fixed values (defaults: MODEL.md's illustrative values).
    vary : sequence of str
        Names of :class:`CyclingParameters` fields to fit; rate constants are fitted in log10.
    has_formation : bool
        Whether the first discharge in the table is the formation discharge.
    min_cycle : int
        First cycle used as a data point (cycle 1 is the formation discharge, fitted by model B).
    n_cells : int
        Model B grid cells per class (formation is re-run only when formation parameters vary).
    bounds : mapping, optional
        Overrides of the default parameter bounds.

    Returns
    -------
    ModelFit

    Raises
    ------
    FitError
        When the fit does not converge or the model fails.
    """
    cyc = cycling or CyclingParameters()
    form = formation or FormationParameters()
    target = _target(table, has_formation, min_cycle)
    for name in vary:
        if not hasattr(cyc, name):
            raise SulfurscopeError(f"vary: {name!r} is not a CyclingParameters field")
    if len(vary) > target.measured.size:
        raise FitError(f"cannot fit {len(vary)} parameters to {target.measured.size} capacities")
    b = {**_DEFAULT_BOUNDS, **(bounds or {})}
    params = _make_params(vary, cyc.to_dict(), b)
    dist = _as_dist(distribution)
    base = CellModel(dist, form, cyc, n_cells=n_cells)
    # model B does not depend on the model C parameters: simulate the formation once
    formed = protocol_capacities(target.protocol[:1], base).formation

    def cell_for(p: lmfit.Parameters) -> CellModel:
        return replace(base, cycling=replace(cyc, **{k: _natural(k, p[k].value) for k in vary}))

    scale = 1.0 if target.sigma is None else target.sigma

    def residual(p: lmfit.Parameters) -> np.ndarray:
        return (_simulated(target, cell_for(p), formed) - target.measured) / scale

    res, values, stderr, corr, initial = _run_fit(
        residual, params, list(vary), target.measured.size, "fit_cycling_model"
    )
    fitted_cell = cell_for(res.params)
    tab = target.labels.rename(columns={"Measured [mAh/g]": "Measured [mAh/g]"}).copy()
    tab.insert(0, "Sample", "")
    tab["Fitted [mAh/g]"] = _simulated(target, fitted_cell, formed)
    return ModelFit(
        values,
        stderr,
        initial,
        corr,
        fitted_cell.cycling,
        form,
        tab,
        float(res.chisqr),
        float(res.redchi),
        int(target.measured.size),
        bool(res.success),
        str(res.message),
    )


def _formation_targets(
    samples: Mapping[str, tuple[SizeDistribution | float, pd.DataFrame]],
    has_formation: bool,
    min_cycle: int,
) -> tuple[dict[str, tuple[SizeDistribution, _Target]], np.ndarray | float]:
    """Each sample's distribution and fit target, and the residual scale (the points' u when every
    sample states them, else 1): shared by the model B fit and its sensitivity."""
    targets = {
        k: (_as_dist(d), _target(t, has_formation, min_cycle)) for k, (d, t) in samples.items()
    }
    weighted = all(t.sigma is not None for _, t in targets.values())
    scale = np.concatenate([t.sigma for _, t in targets.values()]) if weighted else 1.0  # type: ignore[misc]
    return targets, scale


def fit_formation_model(
    samples: Mapping[str, tuple[SizeDistribution | float, pd.DataFrame]],
    *,
    cycling: CyclingParameters | None = None,
    formation: FormationParameters | None = None,
    vary: Sequence[str] = ("diffusivity_m2_s",),
    has_formation: bool = True,
    min_cycle: int = 1,
    n_cells: int = 20,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> ModelFit:
    """Fit model B parameters (default D₀) to several samples' capacities, model C held fixed.

    Parameters
    ----------
    samples : mapping of name to (distribution, table)
        Each sample's size distribution and its cycle summary or rate table.
    cycling : CyclingParameters, optional
        Model C parameters (e.g. from :func:`fit_cycling_model` on the smallest particles).
    formation : FormationParameters, optional
        Starting values.
    vary : sequence of str
        :class:`FormationParameters` fields to fit (D₀ on a log scale).

    Returns
    -------
    ModelFit
    """
    cyc = cycling or CyclingParameters()
    form = formation or FormationParameters()
    if not samples:
        raise SulfurscopeError("samples: need at least one sample")
    for name in vary:
        if not hasattr(form, name):
            raise SulfurscopeError(f"vary: {name!r} is not a FormationParameters field")
    targets, scale = _formation_targets(samples, has_formation, min_cycle)
    measured = np.concatenate([t.measured for _, t in targets.values()])
    b = {**_DEFAULT_BOUNDS, **(bounds or {})}
    params = _make_params(vary, form.to_dict(), b)

    def form_for(p: lmfit.Parameters) -> FormationParameters:
        return replace(form, **{k: _natural(k, p[k].value) for k in vary})

    def simulate(p: lmfit.Parameters) -> np.ndarray:
        fp = form_for(p)
        return np.concatenate(
            [_simulated(t, CellModel(d, fp, cyc, n_cells=n_cells)) for d, t in targets.values()]
        )

    def residual(p: lmfit.Parameters) -> np.ndarray:
        return (simulate(p) - measured) / scale

    res, values, stderr, corr, initial = _run_fit(
        residual, params, list(vary), measured.size, "fit_formation_model"
    )
    fitted = simulate(res.params)
    parts = []
    for name, (_, t) in targets.items():
        lab = t.labels.copy()
        lab.insert(0, "Sample", name)
        parts.append(lab)
    tab = pd.concat(parts, ignore_index=True)
    tab["Fitted [mAh/g]"] = fitted
    return ModelFit(
        values,
        stderr,
        initial,
        corr,
        cyc,
        form_for(res.params),
        tab,
        float(res.chisqr),
        float(res.redchi),
        int(measured.size),
        bool(res.success),
        str(res.message),
    )


def _serial(fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
    return [fn(*c) for c in calls]


def formation_sensitivity(
    samples: Mapping[str, tuple[SizeDistribution | float, pd.DataFrame]],
    *,
    cycling: CyclingParameters,
    formation: FormationParameters,
    cycling_names: Sequence[str],
    vary: Sequence[str] = ("diffusivity_m2_s",),
    has_formation: bool = True,
    min_cycle: int = 1,
    n_cells: int = 20,
    step: float = 0.01,
    runner: Callable[[Callable[..., Any], list[tuple[Any, ...]]], list[Any]] | None = None,
) -> dict[str, dict[str, float]]:
    """How model B's fitted parameters move with model C's, at the model B optimum.

    Model B is fitted with model C held at its own fit (:func:`fit_formation_model`), so model C's
    uncertainty is missing from B's standard errors. At the optimum of S(b, c) = Σ r² the
    implicit-function theorem gives the sensitivity (a two-step estimator; Murphy & Topel 1985)

        ∂b̂/∂c = −(J_bᵀ J_b)⁻¹ J_bᵀ J_c,

    with J_b, J_c the residual Jacobians in b and c (forward differences of relative size
    ``step``); then Var_C(b̂) = gᵀ Σ_c g with Σ_c model C's covariance.

    runner : callable, optional
        ``runner(fn, calls)`` returns ``[fn(*c) for c in calls]``, in order, perhaps on other
        processes (the study pipeline's worker pool); default: in this process. The 1 + len(vary) +
        len(cycling_names) model runs per sample are independent.

    Returns
    -------
    dict
        ``{b_name: {c_name: ∂b/∂c}}`` in natural units of both.
    """
    targets, scale = _formation_targets(samples, has_formation, min_cycle)
    points: list[tuple[CyclingParameters, FormationParameters, float]] = [(cycling, formation, 1.0)]
    for name in vary:
        v = float(getattr(formation, name))
        h = step * abs(v) if v != 0 else step
        points.append((cycling, replace(formation, **{name: v + h}), h))
    for name in cycling_names:
        v = float(getattr(cycling, name))
        h = step * abs(v) if v != 0 else step
        points.append((replace(cycling, **{name: v + h}), formation, h))
    calls = [(t, CellModel(d, form, cyc, n_cells=n_cells)) for cyc, form, _ in points
             for d, t in targets.values()]
    sims = (runner or _serial)(_simulated, calls)
    k = len(targets)
    cols = [np.concatenate(sims[i * k:(i + 1) * k]) / scale for i in range(len(points))]
    base = cols[0]
    jb = [(cols[1 + i] - base) / points[1 + i][2] for i in range(len(vary))]
    jc = [(cols[1 + len(vary) + i] - base) / points[1 + len(vary) + i][2]
          for i in range(len(cycling_names))]
    jb_m, jc_m = np.array(jb).T, np.array(jc).T
    try:
        g = -np.linalg.solve(jb_m.T @ jb_m, jb_m.T @ jc_m)
    except np.linalg.LinAlgError:
        g = np.full((len(vary), len(cycling_names)), np.nan)
    return {b: {c: float(g[i, j]) for j, c in enumerate(cycling_names)} for i, b in enumerate(vary)}
