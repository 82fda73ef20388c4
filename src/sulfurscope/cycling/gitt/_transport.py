"""τ → D with the exact sphere solution, and τ ∝ L^n across sizes (private)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sulfurscope import _sphere
from sulfurscope.cycling.gitt._common import (
    PULSE_LIMITED_FRACTION,
    check_choice,
    plain_dict,
    saturated_tau_reading,
)
from sulfurscope.errors import SulfurscopeError

__all__ = [
    "MIN_SENSITIVITY",
    "DiffusivityFit",
    "SphereDiffusivity",
    "TransportScaling",
    "fit_sphere_diffusivity",
    "sphere_diffusivity",
    "sphere_relaxation_time",
    "transport_scaling",
]


def _inner_fraction(radius_um: float, shell_um: float | None) -> float:
    if shell_um is None:
        return 0.0
    if not (np.isfinite(shell_um) and shell_um > 0):
        raise SulfurscopeError(f"shell_um must be a positive thickness in µm, got {shell_um!r}")
    return max(0.0, 1.0 - shell_um / radius_um)


def sphere_relaxation_time(
    *, pulse_s: float, radius_um: float, diffusivity_m2_s: float, shell_um: float | None = None
) -> float:
    """The 1 − 1/e relaxation time after a constant-current pulse into a sphere, τ_e = G(t_p D/R²)·R²/D.

    Exact constant-flux sphere solution (MODEL.md, "GITT interpretation"; Crank eq. 6.49):
    g(T) = 3T + 1/5 − 2 Σ exp(−x_n² T)/x_n², tan x_n = x_n, c_s(rest) ∝ g(T) − g(T − T_p).
    τ_e is measured from the end of the pulse. With ``shell_um`` = δ only an outer shell
    R − δ ≤ r ≤ R is active (inert core, no flux at r = R − δ, the study's active shell); its
    response is computed from the modes of a finite-volume shell (checked against the sphere and,
    for thin shells, the slab).

    Examples
    --------
    >>> tau = sphere_relaxation_time(pulse_s=3600.0, radius_um=4.0, diffusivity_m2_s=1e-15)
    >>> round(tau / 3600.0, 3)  # ≈ 0.0222 R²/D / t_p: well below the ~1.38 t_p ceiling
    0.098
    """
    for name, val in (
        ("pulse_s", pulse_s),
        ("radius_um", radius_um),
        ("diffusivity_m2_s", diffusivity_m2_s),
    ):
        if not (np.isfinite(val) and val > 0):
            raise SulfurscopeError(f"{name} must be a positive number, got {val!r}")
    inner = _inner_fraction(radius_um, shell_um)
    r2_over_d = (radius_um * 1e-6) ** 2 / diffusivity_m2_s
    return _sphere.shell_tau_dimless(pulse_s / r2_over_d, inner) * r2_over_d


#: |d ln τ / d ln D| below this: a 1 % error in τ moves D by more than 5 % (D poorly determined).
MIN_SENSITIVITY = 0.2
#: Floor on σ(ln τ) in the D fit: the sphere map's own accuracy (protocol keys rounded to 3
#: significant figures, τ interpolated between samples).
TAU_SIGMA_FLOOR = 0.005
#: A rest relaxes fully after ~5 slowest-mode times, 5 R²/(x₁² D) (x₁² = 20.19; MODEL.md).
_FULL_REST_MODES = 5.0


@dataclass(frozen=True, slots=True)
class SphereDiffusivity:
    """Transport coefficients from τ by inverting the exact sphere map τ = G·R²/D as τ was read.

    τ is modelled as it was read: with V∞ the true asymptote (``v_inf="fitted"``), or the last
    sample of the rest (``v_inf="last_sample"``, the finite-rest reading of MODEL.md), so a finite
    rest does not bias D.

    Attributes
    ----------
    tau_s, radius_um, pulse_s : (K,) ndarray of float
        The inputs (broadcast).
    rest_s : (K,) ndarray of float
        Rest durations counted from τ's origin (NaN when not given).
    origin_s : (K,) ndarray of float
        Time from the pulse end to τ's origin (V0, t = 0).
    tau_over_pulse : (K,) ndarray of float
    d_m2_s : (K,) ndarray of float, m²/s
        The D that reproduces τ; NaN where τ is pulse-limited (no D, or any small D, reproduces it).
    d_low_m2_s, d_high_m2_s : (K,) ndarray of float, m²/s
        D from the τ read-out range (τ high → D low); NaN without a range.
    d_upper_bound_m2_s : (K,) ndarray of float, m²/s
        For pulse-limited points the D at the pulse-limited threshold: τ then only says D ≤ this.
    pulse_limited : (K,) ndarray of bool
        τ ≥ 0.87 of the saturated reading of this protocol (1.2 t_p for a fully read relaxation).
    sensitivity : (K,) ndarray of float
        |d ln τ / d ln D| at the solution: 1 when τ ∝ R²/D, → 0 as τ saturates. A relative τ
        error e moves D by e / sensitivity.
    poorly_determined : (K,) ndarray of bool
        sensitivity < 0.2, pulse-limited or ``rest_short``: D is not determined by this τ (it is
        left out of :func:`fit_sphere_diffusivity`).
    rest_adequacy : (K,) ndarray of float
        t_rest / (5 R²/(x₁² D)): ≥ 1 when the rest ran to equilibrium.
    rest_short : (K,) ndarray of bool
        V∞ fitted from a rest with adequacy < 1: the asymptote is extrapolated, D may be biased
        (read with ``v_inf="last_sample"`` instead, which models the finite rest exactly). An
        extrapolated asymptote overestimated D 1.5× for the study's 2 h rests and 5× for a rest of
        one τ in the truth tests, so such points count as poorly determined.
    v_inf : str
    note : str
    """

    tau_s: np.ndarray
    radius_um: np.ndarray
    pulse_s: np.ndarray
    rest_s: np.ndarray
    origin_s: np.ndarray
    tau_over_pulse: np.ndarray
    d_m2_s: np.ndarray
    d_low_m2_s: np.ndarray
    d_high_m2_s: np.ndarray
    d_upper_bound_m2_s: np.ndarray
    pulse_limited: np.ndarray
    sensitivity: np.ndarray
    poorly_determined: np.ndarray
    rest_adequacy: np.ndarray
    rest_short: np.ndarray
    v_inf: str
    note: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Tau [s]": self.tau_s,
                "Radius [um]": self.radius_um,
                "Pulse for D [s]": self.pulse_s,
                "Rest [s]": self.rest_s,
                "Tau origin after pulse [s]": self.origin_s,
                "Tau/pulse": self.tau_over_pulse,
                "D [m2/s]": self.d_m2_s,
                "D low [m2/s]": self.d_low_m2_s,
                "D high [m2/s]": self.d_high_m2_s,
                "D upper bound [m2/s]": self.d_upper_bound_m2_s,
                "Pulse limited": self.pulse_limited,
                "D sensitivity": self.sensitivity,
                "D poorly determined": self.poorly_determined,
                "Rest adequacy": self.rest_adequacy,
                "Rest short": self.rest_short,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)


_PULSE_LIMIT_NOTE = (
    "{n} of {m} tau are pulse-limited (>= 0.87 of the saturated read-out: 1.2 t_p for a full "
    "relaxation, less when V_inf is the last sample of a finite rest). The 1/e time of a sphere "
    "saturates near 1.38 t_p, so these tau only bound D from above, and a tau ratio between particle "
    "sizes is not by itself proof of L^2 scaling (one D plus pulse-length saturation gives the same "
    "ratio)."
)


def _read_ratio_inverse(
    ratio: float, inner: float, rest_over_pulse: float | None, origin_over_pulse: float = 0.0
) -> float:
    """T_p = t_p D/R² for τ/t_p as read (NaN outside the invertible range)."""
    try:
        return _sphere.pulse_dimless_from_read_ratio(
            ratio, inner, rest_over_pulse, origin_over_pulse
        )
    except ValueError:
        return float("nan")


def _sensitivity(
    tpd: float, inner: float, rest_over_pulse: float | None, origin_over_pulse: float = 0.0
) -> float:
    """|d ln τ/d ln D| = |d ln ρ/d ln T_p| by a central difference (ρ = τ/t_p)."""
    h = 0.02
    args = (inner, rest_over_pulse, origin_over_pulse)
    hi = _sphere.read_tau_dimless(tpd * np.exp(h), *args) / (tpd * np.exp(h))
    lo = _sphere.read_tau_dimless(tpd * np.exp(-h), *args) / (tpd * np.exp(-h))
    return float(abs(np.log(hi / lo)) / (2 * h))


def _vec(x: Any, n: int | None = None) -> np.ndarray:
    a = np.atleast_1d(np.asarray(x, dtype=float))
    return a if n is None else np.broadcast_to(a, (n,)).astype(float)


def _invert_points(
    tau: np.ndarray,
    rad: np.ndarray,
    tp: np.ndarray,
    rest: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    limited: np.ndarray,
    saturated: np.ndarray,
    read: tuple[np.ndarray, np.ndarray],
    shell_um: float | None,
) -> dict[str, np.ndarray]:
    """Per point: D, its range from the τ range, the pulse-limited bound, sensitivity, adequacy."""
    n = len(tau)
    ratio = tau / tp
    r2 = (rad * 1e-6) ** 2
    out = {k: np.full(n, np.nan) for k in ("d", "lo", "hi", "bound", "sens", "adequacy")}
    for j in range(n):
        inner = _inner_fraction(float(rad[j]), shell_um)
        rp = float(read[0][j]) if np.isfinite(read[0][j]) else None
        rd = (rp, float(read[1][j]))
        scale = r2[j] / tp[j]
        if limited[j]:
            thr = PULSE_LIMITED_FRACTION * saturated[j] / tp[j]
            out["bound"][j] = _read_ratio_inverse(thr, inner, *rd) * scale
            out["sens"][j] = 0.0
            continue
        tpd = _read_ratio_inverse(float(ratio[j]), inner, *rd)
        if not np.isfinite(tpd):
            continue
        out["d"][j] = tpd * scale
        out["sens"][j] = _sensitivity(tpd, inner, *rd)
        if np.isfinite(low[j]) and np.isfinite(high[j]) and 0 < low[j] <= high[j]:
            out["lo"][j] = _read_ratio_inverse(float(high[j] / tp[j]), inner, *rd) * scale
            out["hi"][j] = _read_ratio_inverse(float(low[j] / tp[j]), inner, *rd) * scale
        if np.isfinite(rest[j]):
            slowest = r2[j] / (float(_sphere._ROOTS_SQ[0]) * out["d"][j])
            out["adequacy"][j] = rest[j] / (_FULL_REST_MODES * slowest)
    return out


def _diffusivity_notes(
    limited: np.ndarray, poorly: np.ndarray, rest_short: np.ndarray, out: dict[str, np.ndarray]
) -> list[str]:
    """The caveats of :func:`sphere_diffusivity` in words."""
    n = len(limited)
    notes: list[str] = []
    if limited.any():
        notes.append(_PULSE_LIMIT_NOTE.format(n=int(limited.sum()), m=n))
    unresolved = ~limited & ~np.isfinite(out["d"])
    if unresolved.any():
        notes.append(
            f"{int(unresolved.sum())} of {n} tau lie outside what the sphere map can read for this "
            "protocol (tau too short for the sampling and the tau origin): no D"
        )
    weak = poorly & ~limited & ~rest_short & ~unresolved
    if weak.any():
        worst = float(np.nanmin(out["sens"][weak]))
        notes.append(
            f"{int(weak.sum())} of {n} tau are near saturation: |dlnτ/dlnD| down to {worst:.2g}, "
            f"so a 1 % error in tau moves D by up to {1.0 / max(worst, 1e-9):.0f} %"
        )
    if rest_short.any():
        notes.append(
            f"{int(rest_short.sum())} of {n} rests ran only "
            f"{float(np.nanmin(out['adequacy'][rest_short])):.2g}x of the 5 R^2/(20.19 D) needed to "
            "relax: V_inf is extrapolated; read tau with V_inf = last sample, which models the "
            "finite rest"
        )
    return notes


def sphere_diffusivity(
    tau_s: np.ndarray | Sequence[float] | float,
    *,
    radius_um: np.ndarray | Sequence[float] | float,
    pulse_s: np.ndarray | Sequence[float] | float,
    shell_um: float | None = None,
    rest_s: np.ndarray | Sequence[float] | float | None = None,
    v_inf: Literal["last_sample", "fitted"] = "fitted",
    tau_low_s: np.ndarray | Sequence[float] | None = None,
    tau_high_s: np.ndarray | Sequence[float] | None = None,
    origin_s: np.ndarray | Sequence[float] | float = 0.0,
) -> SphereDiffusivity:
    """Invert τ = G(t_p D/R², t_rest/t_p)·R²/D (MODEL.md) for D, as τ was read, with its flags.

    ``v_inf="last_sample"`` with ``rest_s``: τ was normalised by the rest's last sample, and the map
    models that finite rest exactly (no bias from a short rest). ``v_inf="fitted"`` (or no rest):
    τ was normalised by the true asymptote; rests shorter than 5 R²/(x₁² D) are flagged
    ``rest_short`` with their adequacy. ``origin_s`` is the time from the pulse end to τ's origin
    (V0 and t = 0 at the first rest sample; ``rest_s`` counts from there, as the step table does).
    ``shell_um`` = δ inverts the active-shell (inert core)
    solution instead of the full sphere. Every point also gets its sensitivity |d ln τ/d ln D|;
    below 0.2 (τ near saturation) D is flagged as poorly determined.

    Examples
    --------
    >>> r = sphere_diffusivity(684.0, radius_um=1.0, pulse_s=1000.0)  # τ/t_p = 0.684 ⇔ T_p = 0.01
    >>> round(float(r.d_m2_s[0]) * 1e17, 2)
    1.0
    """
    tau, rad, tp = np.broadcast_arrays(_vec(tau_s), _vec(radius_um), _vec(pulse_s))
    n = len(tau)
    for name, arr in (("tau_s", tau), ("radius_um", rad), ("pulse_s", tp)):
        if not np.all(np.isfinite(arr) & (arr > 0)):
            raise SulfurscopeError(f"{name} must be positive and finite, got {arr.tolist()}")
    check_choice("v_inf", v_inf, ("last_sample", "fitted"))
    rest = np.full(n, np.nan) if rest_s is None else _vec(rest_s, n)
    if np.any(np.isfinite(rest) & (rest <= 0)):
        raise SulfurscopeError(f"rest_s must be positive, got {rest.tolist()}")
    low = np.full(n, np.nan) if tau_low_s is None else _vec(tau_low_s, n)
    high = np.full(n, np.nan) if tau_high_s is None else _vec(tau_high_s, n)
    origin = _vec(origin_s, n)
    if not np.all(np.isfinite(origin) & (origin >= 0)):
        raise SulfurscopeError(f"origin_s must be >= 0, got {origin.tolist()}")
    finite_rest = (v_inf == "last_sample") & np.isfinite(rest)
    with np.errstate(invalid="ignore"):
        r_over_p = np.where(finite_rest, (origin + rest) / tp, np.nan)
    o_over_p = origin / tp
    saturated = np.array(
        [
            _sphere.saturated_read_ratio(
                _inner_fraction(float(rad[j]), shell_um),
                float(r_over_p[j]) if finite_rest[j] else None,
                float(o_over_p[j]),
            )
            for j in range(n)
        ]
    ) * tp
    limited = tau >= PULSE_LIMITED_FRACTION * saturated
    out = _invert_points(
        tau, rad, tp, rest, low, high, limited, saturated, (r_over_p, o_over_p), shell_um
    )
    ratio = tau / tp
    rest_short = (v_inf == "fitted") & np.isfinite(out["adequacy"]) & (out["adequacy"] < 1.0)
    poorly = limited | rest_short | (np.nan_to_num(out["sens"], nan=0.0) < MIN_SENSITIVITY)
    notes = _diffusivity_notes(limited, poorly, rest_short, out)
    return SphereDiffusivity(
        tau_s=tau.astype(float),
        radius_um=rad.astype(float),
        pulse_s=tp.astype(float),
        rest_s=rest,
        origin_s=origin,
        tau_over_pulse=ratio,
        d_m2_s=out["d"],
        d_low_m2_s=out["lo"],
        d_high_m2_s=out["hi"],
        d_upper_bound_m2_s=out["bound"],
        pulse_limited=limited,
        sensitivity=out["sens"],
        poorly_determined=poorly,
        rest_adequacy=out["adequacy"],
        rest_short=rest_short,
        v_inf=str(v_inf),
        note=" ".join(notes),
    )


@dataclass(frozen=True, slots=True)
class DiffusivityFit:
    """One D fitted to many τ (steps and/or particle sizes) through the sphere map as read.

    Attributes
    ----------
    diffusivity_m2_s : float, m²/s
        D minimising Σ w (ln τ − ln τ_model(D))² over the points that determine D; NaN when none.
    ci95_m2_s : tuple of float
        95 % interval of D: ln D ± t·se, se from the linearised model with the scatter (Birge
        ratio ≥ 1 when weights are given); NaN with a single unweighted point.
    n_points : int
        Points used (not pulse-limited, sensitivity ≥ 0.2).
    per_point : SphereDiffusivity
        Each τ inverted alone, with its flags.
    fitted_tau_s : (K,) ndarray
        τ_model(D) for every point (NaN where D is NaN).
    success : bool
        False when no point determines D.
    note : str
    """

    diffusivity_m2_s: float
    ci95_m2_s: tuple[float, float]
    n_points: int
    per_point: SphereDiffusivity
    fitted_tau_s: np.ndarray
    success: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        d = plain_dict(self)
        d["per_point"] = self.per_point.to_dict()
        return d


def fit_sphere_diffusivity(
    tau_s: np.ndarray | Sequence[float],
    *,
    radius_um: np.ndarray | Sequence[float] | float,
    pulse_s: np.ndarray | Sequence[float] | float,
    rest_s: np.ndarray | Sequence[float] | float | None = None,
    v_inf: Literal["last_sample", "fitted"] = "fitted",
    tau_low_s: np.ndarray | Sequence[float] | None = None,
    tau_high_s: np.ndarray | Sequence[float] | None = None,
    shell_um: float | None = None,
    origin_s: np.ndarray | Sequence[float] | float = 0.0,
) -> DiffusivityFit:
    """Fit one D to τ of several rests and/or sizes: τ_i = G(t_p,i D/R_i², r_i)·R_i²/D (MODEL.md).

    Gauss–Newton in ln D from the weighted mean of the per-point estimates, with the per-point
    sensitivities s_i = |d ln τ_i/d ln D| as the Jacobian; weights w_i = 1/σ_i² from the τ range
    (σ(ln τ) = ln(high/low)/4, at least 0.5 %) or 1. se(ln D)² = φ / Σ w_i s_i², φ = max(1, χ²/(m−1)) with weights and
    χ²/(m−1) without (Student t, m − 1 degrees of freedom). Pulse-limited and poorly determined
    points (s < 0.2) are left out and counted in ``note``.

    Examples
    --------
    >>> from sulfurscope._sphere import read_tau_s
    >>> taus = [read_tau_s(2160.0, r * 1e-6, 1e-16) for r in (0.5, 1.0, 2.0)]
    >>> fit = fit_sphere_diffusivity(taus, radius_um=[0.5, 1.0, 2.0], pulse_s=2160.0)
    >>> f"{fit.diffusivity_m2_s:.3g}"
    '1e-16'
    """
    from scipy import stats

    per = sphere_diffusivity(
        tau_s, radius_um=radius_um, pulse_s=pulse_s, shell_um=shell_um, rest_s=rest_s,
        v_inf=v_inf, tau_low_s=tau_low_s, tau_high_s=tau_high_s, origin_s=origin_s,
    )  # fmt: skip
    use = np.isfinite(per.d_m2_s) & ~per.poorly_determined
    m = int(use.sum())
    sig, _ = _log_sigma(per.tau_s, tau_low_s, tau_high_s, np.ones(len(per.tau_s), bool))
    if sig is not None:  # floor: the map's own accuracy (rounded protocol keys, interpolated τ)
        sig = np.maximum(np.nan_to_num(sig, nan=np.inf), TAU_SIGMA_FLOOR)
    w = np.ones(len(per.tau_s)) if sig is None else 1.0 / sig**2
    nan2 = (float("nan"), float("nan"))
    if m == 0:
        return DiffusivityFit(
            float("nan"), nan2, 0, per, np.full(len(per.tau_s), np.nan), False,
            "no tau determines D (every point pulse-limited or near saturation)"
            + (f"; {per.note}" if per.note else ""),
        )  # fmt: skip
    idx = np.flatnonzero(use)
    s = per.sensitivity[idx]
    wu = w[idx]
    log_d = float(np.sum(wu * s**2 * np.log(per.d_m2_s[idx])) / np.sum(wu * s**2))

    def model_tau(ld: float, j: int) -> float:
        inner = _inner_fraction(float(per.radius_um[j]), shell_um)
        o = float(per.origin_s[j])
        finite = v_inf == "last_sample" and np.isfinite(per.rest_s[j])
        return _sphere.read_tau_s(
            float(per.pulse_s[j]), float(per.radius_um[j]) * 1e-6, float(np.exp(ld)),
            rest_s=o + float(per.rest_s[j]) if finite else None, origin_s=o, inner=inner,
        )  # fmt: skip

    for _ in range(4):  # Gauss–Newton: d ln τ/d ln D = −s
        resid = np.array([np.log(per.tau_s[j]) - np.log(model_tau(log_d, j)) for j in idx])
        step = -float(np.sum(wu * s * resid) / np.sum(wu * s**2))
        log_d += step
        if abs(step) < 1e-10:
            break
    resid = np.array([np.log(per.tau_s[j]) - np.log(model_tau(log_d, j)) for j in idx])
    chi2 = float(np.sum(wu * resid**2))
    notes = []
    if m >= 2:
        phi = chi2 / (m - 1)
        if sig is not None:
            phi = max(1.0, phi)
        q = float(stats.t.ppf(0.975, m - 1))
        se = float(np.sqrt(phi / np.sum(wu * s**2)))
        ci = (float(np.exp(log_d - q * se)), float(np.exp(log_d + q * se)))
    elif sig is not None:
        se = float(np.sqrt(1.0 / np.sum(wu * s**2)))
        ci = (float(np.exp(log_d - 1.96 * se)), float(np.exp(log_d + 1.96 * se)))
        notes.append("one point: the interval is the read-out range only")
    else:
        ci = nan2
        notes.append("one point without a read-out range: D has no interval")
    left = len(per.tau_s) - m
    if left:
        notes.append(f"{left} of {len(per.tau_s)} tau left out (pulse-limited or near saturation)")
    if per.note:
        notes.append(per.note)
    fitted = np.array(
        [model_tau(log_d, j) if np.isfinite(per.d_m2_s[j]) else np.nan for j in range(len(per.tau_s))]
    )
    return DiffusivityFit(
        float(np.exp(log_d)), ci, m, per, fitted, True, " ".join(notes)
    )


@dataclass(frozen=True, slots=True)
class TransportScaling:
    """Power-law fit τ = a · L^n across particle sizes (n ≈ 2 for diffusion-limited transport).

    Attributes
    ----------
    exponent : float
        n.
    exponent_stderr : float
        Standard error of n (weighted by the τ ranges when given, else from the residual scatter).
    exponent_ci95 : tuple of float
        95 % interval of n (Student t with n_points − 2 degrees of freedom; ±1.96 σ when weighted).
    prefactor_s : float, s
        a: τ at L = 1 µm.
    n_points, n_sizes : int
    size_um, tau_s : (K,) ndarray of float
        The points fitted.
    pulse_limited : (K,) ndarray of bool
        τ ≥ 1.2 t_p (only when ``pulse_s`` was given; else all False).
    diffusivity_m2_s : float, m²/s
        One D fitted across sizes with the pulse-length-aware map τ_e = G(t_p D/R²)·R²/D as τ was
        read (:func:`fit_sphere_diffusivity`, R = L/2, L the particle diameter); NaN without
        ``pulse_s`` or when no point determines D.
    diffusivity_ci95_m2_s : tuple of float
        Its 95 % interval.
    diffusivity_points : int
        Points that determine D (not pulse-limited, sensitivity ≥ 0.2).
    note : str
        Caveats (pulse-limited points, too few sizes).
    """

    exponent: float
    exponent_stderr: float
    exponent_ci95: tuple[float, float]
    prefactor_s: float
    n_points: int
    n_sizes: int
    size_um: np.ndarray
    tau_s: np.ndarray
    pulse_limited: np.ndarray
    diffusivity_m2_s: float
    diffusivity_ci95_m2_s: tuple[float, float]
    diffusivity_points: int
    note: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"Size [um]": self.size_um, "Tau [s]": self.tau_s, "Pulse limited": self.pulse_limited}
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def transport_scaling(
    size_um: np.ndarray | Sequence[float],
    tau_s: np.ndarray | Sequence[float],
    *,
    tau_low_s: np.ndarray | Sequence[float] | None = None,
    tau_high_s: np.ndarray | Sequence[float] | None = None,
    pulse_s: np.ndarray | Sequence[float] | float | None = None,
    rest_s: np.ndarray | Sequence[float] | float | None = None,
    v_inf: Literal["last_sample", "fitted"] = "fitted",
    origin_s: np.ndarray | Sequence[float] | float = 0.0,
) -> TransportScaling:
    """Fit τ ∝ L^n across particle sizes and report n with its uncertainty.

    Least squares of ln τ = ln a + n ln L (several τ per size allowed, e.g. one per step). With
    ``tau_low_s``/``tau_high_s`` the points are weighted by σ(ln τ) = ln(high/low)/4.

    The study argues n ≈ 2 in the first discharge and n ≈ 0 afterwards. A τ ≥ 1.2 t_p is
    pulse-limited (MODEL.md): the 1/e time of a sphere saturates near 1.38 t_p, so such a τ bounds
    the transport time only from below and the fitted n is then not evidence for L² scaling; the
    ``note`` says so. With ``rest_s`` and ``v_inf="last_sample"`` the threshold is the same fraction of
    the saturated reading of that finite rest (:func:`saturated_tau_reading`). With ``pulse_s`` one D
    is also fitted across sizes (:func:`fit_sphere_diffusivity`; ``origin_s`` = time from the pulse end
    to τ's origin).

    Raises
    ------
    SulfurscopeError
        Fewer than two distinct sizes, non-positive values, mismatched lengths.

    Examples
    --------
    >>> r = transport_scaling([1.0, 4.0, 8.0], [10.0, 160.0, 640.0])
    >>> round(r.exponent, 6)
    2.0
    """
    size = np.asarray(size_um, dtype=float).ravel()
    tau = np.asarray(tau_s, dtype=float).ravel()
    if size.shape != tau.shape:
        raise SulfurscopeError(f"size_um and tau_s differ in length ({len(size)} vs {len(tau)})")
    keep = np.isfinite(size) & np.isfinite(tau)
    if np.any((size[keep] <= 0) | (tau[keep] <= 0)):
        raise SulfurscopeError("size_um and tau_s must be positive")
    sig, keep = _log_sigma(tau, tau_low_s, tau_high_s, keep)
    size_k, tau_k = size[keep], tau[keep]
    n_sizes = len(np.unique(size_k))
    if n_sizes < 2:
        raise SulfurscopeError(
            f"transport_scaling needs tau for at least two particle sizes, got {n_sizes} "
            f"(sizes {np.unique(size_k).tolist()})"
        )
    x, y = np.log(size_k), np.log(tau_k)
    w = np.ones_like(x) if sig is None else 1.0 / sig[keep] ** 2
    coef, se, q = _weighted_line(x, y, w, weighted=sig is not None)
    limited = np.zeros(len(tau_k), bool)
    notes = []
    d_fit: DiffusivityFit | None = None
    if pulse_s is not None:
        tp = np.broadcast_to(np.asarray(pulse_s, dtype=float), tau.shape)[keep]
        rest = (
            None if rest_s is None else np.broadcast_to(np.asarray(rest_s, float), tau.shape)[keep]
        )
        limited = tau_k >= PULSE_LIMITED_FRACTION * saturated_tau_reading(tp, rest, v_inf=v_inf)
        if limited.any():
            notes.append(_PULSE_LIMIT_NOTE.format(n=int(limited.sum()), m=len(tau_k)))
        lo = None if sig is None else np.asarray(tau_low_s, float).ravel()[keep]
        hi = None if sig is None else np.asarray(tau_high_s, float).ravel()[keep]
        origin = np.broadcast_to(np.asarray(origin_s, float), tau.shape)[keep]
        d_fit = fit_sphere_diffusivity(
            tau_k, radius_um=size_k / 2.0, pulse_s=tp, rest_s=rest, v_inf=v_inf,
            tau_low_s=lo, tau_high_s=hi, origin_s=origin,
        )  # fmt: skip
        if not d_fit.success:
            notes.append("D: " + d_fit.note)
    else:
        notes.append("no pulse durations: D not fitted")
    if n_sizes == 2 and sig is None:
        notes.append("two sizes only: n is exact through two points and has no uncertainty")
    n_exp = float(coef[1])
    nan2 = (float("nan"), float("nan"))
    return TransportScaling(
        exponent=n_exp,
        exponent_stderr=se,
        exponent_ci95=(n_exp - q * se, n_exp + q * se),
        prefactor_s=float(np.exp(coef[0])),
        n_points=len(x),
        n_sizes=n_sizes,
        size_um=size_k,
        tau_s=tau_k,
        pulse_limited=limited,
        diffusivity_m2_s=float("nan") if d_fit is None else d_fit.diffusivity_m2_s,
        diffusivity_ci95_m2_s=nan2 if d_fit is None else d_fit.ci95_m2_s,
        diffusivity_points=0 if d_fit is None else d_fit.n_points,
        note=" ".join(notes),
    )


def _log_sigma(
    tau: np.ndarray, low: Any, high: Any, keep: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray]:
    """σ(ln τ) = ln(high/low)/4 from a τ range (None without one) and the points that have it."""
    if (low is None) != (high is None):
        raise SulfurscopeError("give both tau_low_s and tau_high_s, or neither")
    if low is None:
        return None, keep
    lo = np.asarray(low, dtype=float).ravel()
    hi = np.asarray(high, dtype=float).ravel()
    if lo.shape != tau.shape or hi.shape != tau.shape:
        raise SulfurscopeError("tau_low_s/tau_high_s must have the length of tau_s")
    keep = keep & np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (hi > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.maximum(np.log(hi / lo) / 4.0, 1e-6), keep


def _weighted_line(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, *, weighted: bool
) -> tuple[np.ndarray, float, float]:
    """Weighted least squares y = a + n x: coefficients, standard error of n and the 95 % factor
    (Student t with len − 2 degrees of freedom from the scatter; 1.96 with known weights)."""
    from scipy import stats

    a_mat = np.column_stack([np.ones_like(x), x]) * np.sqrt(w)[:, None]
    yw = y * np.sqrt(w)
    coef, *_ = np.linalg.lstsq(a_mat, yw, rcond=None)
    cov = np.linalg.inv(a_mat.T @ a_mat)
    if weighted:
        return coef, float(np.sqrt(cov[1, 1])), 1.96
    dof = len(x) - 2
    if dof <= 0:
        return coef, float("nan"), float("nan")
    resid = yw - a_mat @ coef
    s2 = float(resid @ resid) / dof
    return coef, float(np.sqrt(cov[1, 1] * s2)), float(stats.t.ppf(0.975, dof))
