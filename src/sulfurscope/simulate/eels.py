"""Forward model of a STEM-EELS line scan with known thickness and edge profiles.

The synthetic truth behind the EELS tests and the demo: a scan from the surface of a discharged
particle inwards (Fig 3g of the reference study) with a LiF-rich outer layer.

Low loss — a Gaussian zero-loss peak (FWHM ``zlp_fwhm_ev``, drifting by up to ``zlp_drift_ev`` from
pixel to pixel) convolved with Poisson plural scattering of one Gaussian plasmon (Egerton 2011,
Eq. 3.117 and §4.1): the n-fold scattered part carries the fraction
:math:`P_n = e^{-t/\\lambda} (t/\\lambda)^n / n!` of the electrons and is a Gaussian at
``n·plasmon_ev`` with variance ``σ_zlp² + n·σ_p²``. The log-ratio method therefore recovers t/λ
exactly apart from noise and from the tiny Gaussian tails that cross the 3 eV ZLP window.

Core loss — a power-law background :math:`B\\,(t/\\lambda)\\,E^{-r}` plus hydrogenic-like edges
(a step at the onset broadened by the ZLP width, decaying as :math:`(E/E_k)^{-r}` with the
background's exponent, plus fine-structure peaks), each scaled by ``concentration × t/λ``
(single scattering: the core-loss spectra are not convolved with the low-loss). Li K mixes a LiF and a
Li2S fine structure with the local LiF fraction. Poisson noise on every channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import erf

from sulfurscope.spectra.eels import EDGE_TABLE

__all__ = [
    "SimulatedEELSLineScan",
    "edge_shape",
    "reference_spectra",
    "simulate_eels_line_scan",
]

# fine structure (centre eV, width eV, relative height) on top of the hydrogenic step
_FINE = {
    "LiF": (55.0, [(62.0, 1.2, 1.4), (68.0, 1.8, 1.0)]),
    "Li2S": (55.0, [(59.5, 1.5, 1.2), (65.0, 3.0, 0.5)]),
    "Li2CO3": (55.0, [(60.5, 1.0, 0.9), (63.5, 1.2, 1.1), (71.0, 3.0, 0.6)]),
    "S": (162.5, [(164.0, 0.8, 1.0), (165.3, 0.8, 0.6), (172.0, 4.0, 0.4)]),
}


def edge_shape(
    energy_ev: Any, reference: str, *, r: float = 3.0, broadening_ev: float = 0.4
) -> np.ndarray:
    """Noise-free edge of one reference compound (unit step height at the onset).

    Parameters
    ----------
    energy_ev : (N,) array_like of float, eV
    reference : {"LiF", "Li2S", "Li2CO3", "S"}
    r : float
        Tail exponent: (E/E_onset)^(−r) above the onset.
    broadening_ev : float
        Gaussian σ of the onset step.

    Returns
    -------
    (N,) ndarray of float
    """
    if reference not in _FINE:
        raise ValueError(f"reference must be one of {sorted(_FINE)}, got {reference!r}")
    e = np.asarray(energy_ev, dtype=float)
    onset, peaks = _FINE[reference]
    step = 0.5 * (1.0 + erf((e - onset) / (math.sqrt(2.0) * broadening_ev)))
    tail = (np.maximum(e, onset) / onset) ** (-r)
    shape = step * tail
    for c, w, h in peaks:
        shape = shape + h * np.exp(-0.5 * ((e - c) / w) ** 2) * step
    return shape


def reference_spectra(energy_ev: Any | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Background-free reference edges for the four named slots (LiF, Li2S, Li2CO3, S)."""
    out = {}
    for name in ("LiF", "Li2S", "Li2CO3", "S"):
        if energy_ev is None:
            e = np.arange(45.0, 90.0, 0.1) if name != "S" else np.arange(150.0, 200.0, 0.1)
        else:
            e = np.asarray(energy_ev, dtype=float)
        out[name] = (e, edge_shape(e, name))
    return out


@dataclass(frozen=True, slots=True)
class SimulatedEELSLineScan:
    """A simulated low-loss + core-loss line scan and its truth.

    Attributes
    ----------
    position_nm : (P,) ndarray of float, nm
        Distance from the particle surface.
    low_loss : (P, Nl) ndarray of float, counts
    low_loss_energy_ev : (Nl,) ndarray of float, eV
    core_loss : (P, Nc) ndarray of float, counts
    core_loss_energy_ev : (Nc,) ndarray of float, eV
    t_over_lambda : (P,) ndarray of float
        True relative thickness.
    edge_names : tuple of str
        ``("Li_K", "S_L23")``.
    concentration : (P, K) ndarray of float
        True relative concentration of each edge's element.
    lif_fraction : (P,) ndarray of float
        Fraction of Li present as LiF (the rest as Li2S).
    integral_per_t : (P, K) ndarray of float, counts
        True (noise-free) edge integral in each edge's default integration window divided by t/λ:
        what ``integral ÷ t/λ`` must recover.
    zlp_shift_ev : (P,) ndarray of float, eV
        ZLP drift applied to each low-loss spectrum.
    """

    position_nm: np.ndarray
    low_loss: np.ndarray
    low_loss_energy_ev: np.ndarray
    core_loss: np.ndarray
    core_loss_energy_ev: np.ndarray
    t_over_lambda: np.ndarray
    edge_names: tuple[str, ...]
    concentration: np.ndarray
    lif_fraction: np.ndarray
    integral_per_t: np.ndarray
    zlp_shift_ev: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Truth per pixel."""
        cols: dict[str, Any] = {
            "Position [nm]": self.position_nm,
            "t/lambda": self.t_over_lambda,
            "LiF fraction": self.lif_fraction,
            "ZLP shift [eV]": self.zlp_shift_ev,
        }
        for j, n in enumerate(self.edge_names):
            cols[f"{n} concentration"] = self.concentration[:, j]
            cols[f"{n} integral/(t/lambda) [counts]"] = self.integral_per_t[:, j]
        return pd.DataFrame(cols)


def _sigmoid(x: np.ndarray, x0: float, w: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x - x0) / w))


def simulate_eels_line_scan(
    *,
    rng: np.random.Generator,
    length_nm: float = 300.0,
    step_nm: float = 5.0,
    lif_depth_nm: float = 100.0,
    t_over_lambda: tuple[float, float] = (0.35, 0.75),
    zlp_fwhm_ev: float = 0.8,
    zlp_drift_ev: float = 0.6,
    plasmon_ev: float = 22.0,
    plasmon_sigma_ev: float = 3.5,
    low_loss_counts: float = 1e7,
    background_r: float = 3.0,
    background_counts: float = 2e6,
    edge_counts: float = 4e5,
    noise: bool = True,
) -> SimulatedEELSLineScan:
    """Simulate the study's line scan: 300 nm from the surface, LiF-rich outer ~100 nm.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the Poisson noise and of the ZLP drift.
    length_nm, step_nm : float
        Scan length and pixel step.
    lif_depth_nm : float
        Depth of the LiF-rich layer (Li concentration and LiF fraction fall off there).
    t_over_lambda : (float, float)
        t/λ at the surface and at the far end (linear wedge with a small bump).
    zlp_fwhm_ev, zlp_drift_ev : float
        ZLP width and the uniform random range (±) of its position per pixel.
    plasmon_ev, plasmon_sigma_ev : float
        Plasmon energy and Gaussian width of the single-scattering plasmon.
    low_loss_counts : float
        Electrons per low-loss spectrum.
    background_r, background_counts : float
        Background exponent and background counts/channel at 60 eV for t/λ = 1.
    edge_counts : float
        Li K step height (counts/channel at the onset) for concentration 1 and t/λ = 1; S L2,3 gets
        a quarter of it per unit concentration.
    noise : bool
        Add Poisson noise (False: the expected counts).

    Returns
    -------
    SimulatedEELSLineScan
    """
    pos = np.arange(0.0, length_nm + 0.5 * step_nm, step_nm)
    n = pos.size
    tl = t_over_lambda[0] + (t_over_lambda[1] - t_over_lambda[0]) * pos / length_nm
    tl = tl + 0.05 * np.exp(-0.5 * ((pos - 0.6 * length_nm) / (0.1 * length_nm)) ** 2)
    lif = 1.0 - _sigmoid(pos, lif_depth_nm, 10.0)
    c_li = 0.35 + 0.65 * lif
    c_s = 0.25 + 0.75 * _sigmoid(pos, lif_depth_nm, 15.0)
    conc = np.stack([c_li, c_s], axis=1)

    # low loss: Poisson plural scattering of a Gaussian plasmon
    e_ll = np.round(np.arange(-10.0, 200.0, 0.2), 10)
    drift = rng.uniform(-zlp_drift_ev, zlp_drift_ev, n)
    sz = zlp_fwhm_ev / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    de_ll = e_ll[1] - e_ll[0]
    ll = np.zeros((n, e_ll.size))
    for k in range(n):
        for m in range(0, 12):
            p_m = math.exp(-tl[k]) * tl[k] ** m / math.factorial(m)
            sig = math.sqrt(sz**2 + m * plasmon_sigma_ev**2)
            g = np.exp(-0.5 * ((e_ll - drift[k] - m * plasmon_ev) / sig) ** 2)
            ll[k] += low_loss_counts * p_m * g / (sig * math.sqrt(2 * math.pi)) * de_ll

    # core loss: power law + hydrogenic-like edges ∝ c · t/λ
    e_cl = np.round(np.arange(35.0, 250.0, 0.25), 10)
    de_cl = e_cl[1] - e_cl[0]
    bkg = background_counts * (e_cl / 60.0) ** (-background_r)
    li_lif = edge_shape(e_cl, "LiF", r=background_r)
    li_li2s = edge_shape(e_cl, "Li2S", r=background_r)
    s_edge = edge_shape(e_cl, "S", r=background_r)
    li = edge_counts * (lif[:, None] * li_lif + (1 - lif[:, None]) * li_li2s)
    sl = 0.25 * edge_counts * s_edge
    cl = tl[:, None] * (bkg[None, :] + c_li[:, None] * li + c_s[:, None] * sl[None, :])

    truth = np.empty((n, 2))
    for j, (name, edge) in enumerate((("Li_K", li), ("S_L23", np.broadcast_to(sl, li.shape)))):
        w = EDGE_TABLE[name].integral_ev
        i0 = int(np.rint((w[0] - e_cl[0]) / de_cl))
        i1 = int(np.rint((w[1] - e_cl[0]) / de_cl))
        truth[:, j] = conc[:, j] * edge[:, i0:i1].sum(-1)

    if noise:
        ll = rng.poisson(ll).astype(float)
        cl = rng.poisson(cl).astype(float)
    return SimulatedEELSLineScan(
        position_nm=pos,
        low_loss=ll,
        low_loss_energy_ev=e_ll,
        core_loss=cl,
        core_loss_energy_ev=e_cl,
        t_over_lambda=tl,
        edge_names=("Li_K", "S_L23"),
        concentration=conc,
        lif_fraction=lif,
        integral_per_t=truth,
        zlp_shift_ev=drift,
    )
