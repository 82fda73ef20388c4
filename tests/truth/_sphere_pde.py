"""An independent GITT simulator for truth tests: diffusion in a sphere by finite volumes in space and
an exact step in time: the propagator over one sample interval is the matrix exponential of the
augmented system (SciPy's Padé scaling-and-squaring ``expm``), applied sample by sample — not the
modal series of ``sulfurscope._sphere``.

Dimensionless radius x = r/R ∈ [0, 1] on a grid refined towards the surface; unit flux enters at
x = 1 during a pulse and none during a rest. The cell voltage is linear in the surface concentration
(V = U0 − k·c_s, lithiation lowers it), with an ohmic drop under current and optional noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.linalg import expm


def _grid(n: int) -> np.ndarray:
    """Faces 0 … 1, spacing shrinking geometrically towards the surface."""
    h = np.geomspace(1e-4, 1.0, n)[::-1]  # widths from the centre outwards, big to small
    h = h / h.sum()
    return np.concatenate([[0.0], np.cumsum(h)])


def sphere_gitt_frame(
    *,
    radius_um: float,
    diffusivity_m2_s: float,
    pulse_s: float,
    rest_s: float,
    pulses: int = 1,
    first_rest_s: float = 600.0,
    sample_s: float = 5.0,
    current_ma: float = -0.3,
    k_v: float = 0.004,
    ir_v: float = 0.01,
    noise_v: float = 0.0,
    seed: int = 0,
    n_cells: int = 160,
) -> pd.DataFrame:
    """Canonical cycler table of ``pulses`` constant-current pulses, each followed by a rest."""
    faces = _grid(n_cells)
    vol = (faces[1:] ** 3 - faces[:-1] ** 3) / 3.0
    centres = 0.5 * (faces[1:] + faces[:-1])
    cond = faces[1:-1] ** 2 / np.diff(centres)
    main = -np.concatenate([cond, [0.0]]) - np.concatenate([[0.0], cond])
    a = (np.diag(cond, -1) + np.diag(main) + np.diag(cond, 1)) / vol[:, None]
    src = np.zeros(n_cells)
    src[-1] = 1.0 / vol[-1]  # unit flux through the outer face (area x² = 1)
    scale = (radius_um * 1e-6) ** 2 / diffusivity_m2_s  # s per unit T
    sign = np.sign(current_ma)
    gap = 1.0 - centres[-1]
    # augmented state [c, flux]: d/dT [c; f] = [[A, src], [0, 0]] [c; f] — exact for a constant flux
    aug = np.zeros((n_cells + 1, n_cells + 1))
    aug[:n_cells, :n_cells] = a
    aug[:n_cells, n_cells] = src
    step = expm(aug * (sample_s / scale))

    def run(c0: np.ndarray, t0: float, dur: float, flux: float, dt: float) -> tuple:
        n = max(int(round(dur / dt)), 1)
        states = np.empty((n, n_cells + 1))
        x = np.concatenate([c0, [flux]])
        for k in range(n):
            x = step @ x
            states[k] = x
        tt = dt * np.arange(1, n + 1)
        surface = states[:, n_cells - 1] + flux * gap
        return t0 + tt, surface, states[-1, :n_cells]

    rng = np.random.default_rng(seed)
    t_parts = [np.arange(0.0, first_rest_s + 1e-9, sample_s)]
    cs_parts = [np.zeros(len(t_parts[0]))]
    i_parts = [np.zeros(len(t_parts[0]))]
    c = np.zeros(n_cells)
    t = t_parts[0][-1]
    for _ in range(pulses):
        tp, sp, c = run(c, t, pulse_s, -sign, sample_s)  # discharge (I < 0) lithiates: c rises
        t_parts.append(tp)
        cs_parts.append(sp)
        i_parts.append(np.full(len(tp), current_ma))
        t = tp[-1]
        tr, sr, c = run(c, t, rest_s, 0.0, sample_s)
        t_parts.append(tr)
        cs_parts.append(sr)
        i_parts.append(np.zeros(len(tr)))
        t = tr[-1]
    time = np.concatenate(t_parts)
    cur = np.concatenate(i_parts)
    volt = 2.1 - k_v * np.concatenate(cs_parts) + ir_v * np.sign(cur)
    volt = volt + rng.normal(0.0, noise_v, len(time)) if noise_v else volt
    charge = np.concatenate([[0.0], np.cumsum(cur[1:] * np.diff(time))]) / 3600.0
    return pd.DataFrame(
        {
            "Time [s]": time,
            "Voltage [V]": volt,
            "Current [mA]": cur,
            "Charge [mAh]": charge,
            "Step": 0,
            "Rest": cur == 0,
        }
    )


def polydisperse_gitt_frame(
    *,
    diameters_um: np.ndarray,
    volume_weights: np.ndarray,
    diffusivity_m2_s: float,
    k_v: float = 0.004,
    ir_v: float = 0.01,
    noise_v: float = 0.0,
    seed: int = 0,
    **kw,
) -> pd.DataFrame:
    """:func:`sphere_gitt_frame` of an electrode of particle classes: each class's sphere is solved
    on its own (same current per volume of sulfur), and the voltage follows the volume-weighted
    surface excess: class k's dimensionless surface concentration scales with its R_k² (flux q R/3
    per area, concentration per flux R/D), normalised to the largest class."""
    d = np.asarray(diameters_um, float)
    w = np.asarray(volume_weights, float) / np.sum(volume_weights)
    frames = [sphere_gitt_frame(radius_um=0.5 * dk, diffusivity_m2_s=diffusivity_m2_s, k_v=1.0,
                                ir_v=0.0, **kw) for dk in d]
    scale = (d / d.max()) ** 2
    surface = sum(wk * sk * (2.1 - f["Voltage [V]"].to_numpy())
                  for wk, sk, f in zip(w, scale, frames, strict=True))
    out = frames[0].copy()
    cur = out["Current [mA]"].to_numpy()
    volt = 2.1 - k_v * surface + ir_v * np.sign(cur)
    if noise_v:
        volt = volt + np.random.default_rng(seed).normal(0.0, noise_v, len(volt))
    out["Voltage [V]"] = volt
    return out
