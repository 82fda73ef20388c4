"""Pure, vectorised line-shape functions for 1-D peak fitting (XPS, Raman).

Conventions follow lmfit's ``lineshapes.py``: the first argument is the abscissa ``x`` and, wherever
the profile has a finite area, ``amplitude`` **is the area** (not the height). Every parameter
broadcasts against ``x``, so a batch of parameter sets of shape ``(K, 1)`` against ``x`` of shape
``(N,)`` returns ``(K, N)`` profiles in one call (the fitter uses this for batched Jacobians).

=====================  ======================================  ====================================
function               width parameter                         area
=====================  ======================================  ====================================
gaussian               ``sigma`` (FWHM = 2√(2 ln 2) σ)         ``amplitude``
lorentzian             ``sigma`` = HWHM (FWHM = 2σ)            ``amplitude``
voigt                  ``sigma`` (Gaussian), ``gamma`` (HWHM)  ``amplitude``
pseudo_voigt           ``sigma`` = HWHM of both parts          ``amplitude``
gl_product (GL(m))     ``fwhm``, ``m`` in % Lorentzian         ``amplitude`` (closed form)
gl_sum (SGL(m))        ``fwhm``, ``m`` in % Lorentzian         ``amplitude``
doniach_sunjic         ``sigma`` (HWHM at α = 0)               divergent for α > 0: height scale
breit_wigner_fano      ``sigma`` = FWHM, ``q`` Fano parameter  divergent: height scale
=====================  ======================================  ====================================

References
----------
.. [1] M. Newville et al., LMFIT, ``lmfit/lineshapes.py`` (definitions of the lmfit conventions).
.. [2] N. Fairley et al., "Systematic and collaborative approach to problem solving using X-ray
   photoelectron spectroscopy", Appl. Surf. Sci. Adv. 5 (2021) 100112 — CasaXPS GL(m), SGL(m).
.. [3] S. Doniach, M. Šunjić, J. Phys. C 3 (1970) 285.
.. [4] J. J. Olivero, R. L. Longbothum, JQSRT 17 (1977) 233 — Voigt FWHM approximation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FWHM_PER_SIGMA",
    "breit_wigner_fano",
    "doniach_sunjic",
    "fwhm_gaussian",
    "fwhm_lorentzian",
    "fwhm_voigt",
    "gaussian",
    "gaussian_derivatives",
    "gl_product",
    "gl_sum",
    "lorentzian",
    "pseudo_voigt",
    "voigt",
    "voigt_derivatives",
    "voigt_width_split",
]

_LN2 = float(np.log(2.0))
_SQRT2 = float(np.sqrt(2.0))
_SQRT2PI = float(np.sqrt(2.0 * np.pi))
_SQRTPI = float(np.sqrt(np.pi))
_TINY = 1.0e-15
#: FWHM of a Gaussian in units of its standard deviation, 2√(2 ln 2) ≈ 2.3548.
FWHM_PER_SIGMA = float(2.0 * np.sqrt(2.0 * np.log(2.0)))

Array = NDArray[np.float64]


def _pos(v: ArrayLike) -> Array:
    return np.maximum(np.asarray(v, dtype=float), _TINY)


def gaussian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> Array:
    """Area-normalised Gaussian, ``A/(σ√(2π)) exp(−(x−c)²/(2σ²))``.

    Parameters
    ----------
    x : (N,) array_like of float
        Abscissa (eV, cm⁻¹, ...).
    amplitude : float or array_like
        Area.
    center : float or array_like
        Position of the maximum.
    sigma : float or array_like
        Standard deviation (FWHM = 2√(2 ln 2) σ).

    Returns
    -------
    (..., N) ndarray of float

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-10, 10, 2001)
    >>> round(float(np.trapezoid(gaussian(x, 3.0, 0.0, 1.0), x)), 6)
    3.0
    """
    s = _pos(sigma)
    x = np.asarray(x, dtype=float)
    return (np.asarray(amplitude) / (s * _SQRT2PI)) * np.exp(-((x - center) ** 2) / (2.0 * s * s))


def gaussian_derivatives(
    x: ArrayLike, amplitude: ArrayLike, center: ArrayLike, sigma: ArrayLike
) -> tuple[Array, Array, Array, Array]:
    """Gaussian and its analytic partial derivatives ``(g, ∂g/∂A, ∂g/∂c, ∂g/∂σ)``.

    Examples
    --------
    >>> g, da, dc, ds = gaussian_derivatives([0.5], 2.0, 0.0, 1.0)
    >>> bool(np.isclose(da[0], g[0] / 2.0))
    True
    """
    x = np.asarray(x, dtype=float)
    s = _pos(sigma)
    a = np.asarray(amplitude, dtype=float)
    u = x - center
    base = np.exp(-(u**2) / (2.0 * s * s)) / (s * _SQRT2PI)
    g = a * base
    return g, base * np.ones_like(g), g * u / (s * s), g * (u**2 / s**3 - 1.0 / s)  # type: ignore[return-value]


def lorentzian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> Array:
    """Area-normalised Lorentzian (Cauchy), ``(A/π) σ/((x−c)² + σ²)``; σ is the HWHM.

    Examples
    --------
    >>> float(lorentzian(0.0, np.pi, 0.0, 1.0))
    1.0
    """
    s = _pos(sigma)
    x = np.asarray(x, dtype=float)
    return (np.asarray(amplitude) / np.pi) * s / ((x - center) ** 2 + s * s)  # type: ignore[return-value]


def voigt(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike = 1.0,
) -> Array:
    """Area-normalised Voigt profile, ``A Re[w(z)]/(σ√(2π))``, ``z = (x − c + iγ)/(σ√2)``.

    Parameters
    ----------
    x : (N,) array_like of float
    amplitude : area
    center : position
    sigma : Gaussian standard deviation
    gamma : Lorentzian half width at half maximum (lmfit's ``gamma``)

    Notes
    -----
    ``w`` is the Faddeeva function (:func:`scipy.special.wofz`). The FWHM is given to 0.02 % by
    :func:`fwhm_voigt` [4]_.

    Examples
    --------
    >>> x = np.linspace(-200, 200, 400001)
    >>> round(float(np.trapezoid(voigt(x, 1.0, 0.0, 0.5, 0.2), x)), 3)
    0.999
    """
    from scipy.special import wofz  # imported on use (import time)

    s = _pos(sigma)
    x = np.asarray(x, dtype=float)
    z = ((x - center) + 1j * np.asarray(gamma, dtype=float)) / (s * _SQRT2)
    return np.asarray(amplitude) * wofz(z).real / (s * _SQRT2PI)


def voigt_derivatives(
    x: ArrayLike, amplitude: ArrayLike, center: ArrayLike, sigma: ArrayLike, gamma: ArrayLike
) -> tuple[Array, Array, Array, Array, Array]:
    """Voigt and its analytic partial derivatives ``(v, ∂v/∂A, ∂v/∂c, ∂v/∂σ, ∂v/∂γ)``.

    Uses one Faddeeva evaluation and w′(z) = −2z w(z) + 2i/√π.

    Examples
    --------
    >>> v, da, dc, ds, dg = voigt_derivatives([0.3], 1.0, 0.0, 0.5, 0.2)
    >>> h = 1e-6
    >>> num = (voigt(0.3, 1.0, h, 0.5, 0.2) - voigt(0.3, 1.0, -h, 0.5, 0.2)) / (2 * h)
    >>> bool(np.isclose(dc[0], num, rtol=1e-5))
    True
    """
    from scipy.special import wofz  # imported on use (import time)

    x = np.asarray(x, dtype=float)
    s = _pos(sigma)
    a = np.asarray(amplitude, dtype=float)
    g = np.asarray(gamma, dtype=float)
    z = ((x - center) + 1j * g) / (s * _SQRT2)
    w = wofz(z)
    dw = -2.0 * z * w + 2j / _SQRTPI
    norm = 1.0 / (s * _SQRT2PI)
    base = w.real * norm
    v = a * base
    dz_dc = -1.0 / (s * _SQRT2)
    dv_dc = a * norm * (dw * dz_dc).real
    # z depends on σ as 1/σ: ∂z/∂σ = −z/σ; the norm gives −v/σ
    dv_ds = a * norm * (dw * (-z / s)).real - v / s
    dv_dg = a * norm * (dw * (1j / (s * _SQRT2))).real
    return v, base * np.ones_like(v), dv_dc, dv_ds, dv_dg


def pseudo_voigt(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    fraction: ArrayLike = 0.5,
) -> Array:
    """Area-normalised pseudo-Voigt, lmfit's definition.

    ``(1 − η) G(x; A, c, σ_g) + η L(x; A, c, σ)`` with ``σ_g = σ/√(2 ln 2)``, so both parts have
    FWHM = 2σ; ``η = fraction`` is the Lorentzian fraction.

    Examples
    --------
    >>> bool(np.isclose(pseudo_voigt(0.0, 1.0, 0.0, 1.0, 1.0), lorentzian(0.0, 1.0, 0.0, 1.0)))
    True
    """
    s = _pos(sigma)
    f = np.asarray(fraction, dtype=float)
    sg = s / np.sqrt(2.0 * _LN2)
    return (1.0 - f) * gaussian(x, amplitude, center, sg) + f * lorentzian(x, amplitude, center, s)


def gl_product(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    fwhm: ArrayLike = 1.0,
    m: ArrayLike = 30.0,
) -> Array:
    """CasaXPS GL(m): Gaussian–Lorentzian *product*, normalised to area ``amplitude``.

    The CasaXPS shape (height 1) is
    ``GL(x) = exp(−4 ln2 (1 − m/100) u²/F²) / (1 + 4 (m/100) u²/F²)``, ``u = x − c`` [2]_;
    ``m = 0`` is a pure Gaussian and ``m = 100`` a pure Lorentzian, both of FWHM ``F`` (for
    intermediate ``m`` the FWHM is close to, not exactly, ``F``). Its area has the closed form
    ``∫ exp(−a u²)/(1 + b u²) du = (π/√b) erfcx(√(a/b))`` (a = 4 ln2 (1 − m/100)/F², b = 4 (m/100)/F²),
    used here so ``amplitude`` is the area, as in lmfit.

    Examples
    --------
    >>> x = np.linspace(-60, 60, 240001)
    >>> round(float(np.trapezoid(gl_product(x, 2.0, 0.0, 1.2, 30.0), x)), 3)
    2.0
    >>> bool(np.isclose(gl_product(0.6, 1.0, 0.0, 1.2, 0.0) / gl_product(0.0, 1.0, 0.0, 1.2, 0.0), 0.5))
    True
    """
    from scipy.special import erfcx  # imported on use (import time)

    F = _pos(fwhm)
    mm = np.clip(np.asarray(m, dtype=float) / 100.0, 0.0, 1.0)
    x = np.asarray(x, dtype=float)
    u2 = (x - center) ** 2 / (F * F)
    shape = np.exp(-4.0 * _LN2 * (1.0 - mm) * u2) / (1.0 + 4.0 * mm * u2)
    a = 4.0 * _LN2 * (1.0 - mm)
    b = np.maximum(4.0 * mm, _TINY)
    # area in units of F: π/√b · erfcx(√(a/b)); for b → 0 this tends to √(π/a)
    area_unit = np.where(
        mm < 1e-9,
        np.sqrt(np.pi / np.maximum(a, _TINY)),
        np.pi / np.sqrt(b) * erfcx(np.sqrt(a / b)),
    )
    return np.asarray(amplitude) * shape / (area_unit * F)


def gl_sum(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    fwhm: ArrayLike = 1.0,
    m: ArrayLike = 30.0,
) -> Array:
    """CasaXPS SGL(m): Gaussian–Lorentzian *sum* of common FWHM ``F``, normalised to area.

    Height-1 form ``(1 − m/100) exp(−4 ln2 u²/F²) + (m/100)/(1 + 4 u²/F²)`` [2]_, whose area is
    ``F [(1 − m/100) √(π/(4 ln 2)) + (m/100) π/2]``. Identical to :func:`pseudo_voigt` with
    ``sigma = F/2`` and ``fraction`` = the Lorentzian *area* fraction; here ``m`` is the *height*
    fraction, as in CasaXPS.

    Examples
    --------
    >>> float(np.round(gl_sum(0.6, 1.0, 0.0, 1.2, 50.0) / gl_sum(0.0, 1.0, 0.0, 1.2, 50.0), 6))
    0.5
    """
    F = _pos(fwhm)
    mm = np.clip(np.asarray(m, dtype=float) / 100.0, 0.0, 1.0)
    x = np.asarray(x, dtype=float)
    u2 = (x - center) ** 2 / (F * F)
    shape = (1.0 - mm) * np.exp(-4.0 * _LN2 * u2) + mm / (1.0 + 4.0 * u2)
    area = F * ((1.0 - mm) * np.sqrt(np.pi / (4.0 * _LN2)) + mm * np.pi / 2.0)
    return np.asarray(amplitude) * shape / area


def doniach_sunjic(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike = 0.0,
) -> Array:
    """Doniach–Šunjić asymmetric line [3]_, tail towards **higher x** (binding-energy axes).

    ``A/σ^(1−α) · cos(πα/2 + (1−α) arctan(u)) / (1 + u²)^((1−α)/2)`` with ``u = (c − x)/σ`` and
    ``α = gamma`` (0 ≤ α < 1). This is lmfit's ``doniach`` mirrored (lmfit's tail points to lower x,
    the kinetic-energy convention). For α > 0 the area diverges, so ``amplitude`` is a height scale:
    at α = 0 the line is a Lorentzian of HWHM σ and area ``π A``.

    Examples
    --------
    >>> bool(np.isclose(doniach_sunjic(0.3, 1.0, 0.0, 1.0, 0.0), np.pi * lorentzian(0.3, 1.0, 0.0, 1.0)))
    True
    >>> bool(doniach_sunjic(2.0, 1.0, 0.0, 1.0, 0.2) > doniach_sunjic(-2.0, 1.0, 0.0, 1.0, 0.2))
    True
    """
    s = _pos(sigma)
    a = np.asarray(gamma, dtype=float)
    x = np.asarray(x, dtype=float)
    u = (center - x) / s
    gm1 = 1.0 - a
    out = (
        (np.asarray(amplitude) / s**gm1)
        * np.cos(np.pi * a / 2.0 + gm1 * np.arctan(u))
        / (1.0 + u * u) ** (gm1 / 2.0)
    )
    return np.asarray(out, dtype=float)


def breit_wigner_fano(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    q: ArrayLike = 1.0,
) -> Array:
    """Breit–Wigner–Fano line (Raman G band), lmfit's ``breit_wigner``.

    ``A (qσ/2 + x − c)² / ((σ/2)² + (x − c)²)``: σ is the FWHM of the underlying resonance and
    ``q`` the Fano parameter (|q| → ∞ gives a Lorentzian of height ``A q²``). Equivalent to the
    Raman form ``I₀ [1 + 2(x − c)/(qΓ)]² / [1 + (2(x − c)/Γ)²]`` with ``I₀ = A q²``, ``Γ = σ``.
    The area diverges (the line tends to ``A`` far away), so ``amplitude`` is a height scale.

    Examples
    --------
    >>> round(float(breit_wigner_fano(0.0, 1.0, 0.0, 2.0, 3.0)), 9)
    9.0
    """
    s = np.asarray(sigma, dtype=float)
    x = np.asarray(x, dtype=float)
    d = x - center
    qq = np.asarray(q, dtype=float)
    return np.asarray(amplitude) * (qq * s / 2.0 + d) ** 2 / ((s / 2.0) ** 2 + d * d + _TINY)


def fwhm_gaussian(sigma: ArrayLike) -> Array:
    """FWHM of :func:`gaussian`: ``2√(2 ln 2) σ``.

    Examples
    --------
    >>> round(float(fwhm_gaussian(1.0)), 4)
    2.3548
    """
    return FWHM_PER_SIGMA * np.asarray(sigma, dtype=float)


def fwhm_lorentzian(sigma: ArrayLike) -> Array:
    """FWHM of :func:`lorentzian` (σ = HWHM): ``2σ``.

    Examples
    --------
    >>> float(fwhm_lorentzian(0.5))
    1.0
    """
    return 2.0 * np.asarray(sigma, dtype=float)


def fwhm_voigt(sigma: ArrayLike, gamma: ArrayLike) -> Array:
    """FWHM of :func:`voigt` by Olivero & Longbothum [4]_ (accurate to 0.02 %).

    ``f_V = 0.5346 f_L + √(0.2166 f_L² + f_G²)``, ``f_G = 2√(2 ln 2) σ``, ``f_L = 2γ``.

    Examples
    --------
    >>> x = np.linspace(-5, 5, 200001)
    >>> y = voigt(x, 1.0, 0.0, 0.4, 0.3)
    >>> above = x[y >= y.max() / 2]
    >>> bool(abs((above[-1] - above[0]) - fwhm_voigt(0.4, 0.3)) < 1e-3)
    True
    """
    fg = fwhm_gaussian(sigma)
    fl = 2.0 * np.asarray(gamma, dtype=float)
    return 0.5346 * fl + np.sqrt(0.2166 * fl * fl + fg * fg)


def voigt_width_split(fwhm: ArrayLike, lorentz_fraction: ArrayLike) -> tuple[Array, Array]:
    """``(sigma, gamma)`` of a Voigt of total FWHM ``fwhm`` whose Lorentzian share is ``η``.

    With ``f_L = η s`` and ``f_G = (1 − η) s`` the Olivero formula gives
    ``s = F / (0.5346 η + √(0.2166 η² + (1 − η)²))``; ``σ = f_G/(2√(2 ln 2))``, ``γ = f_L/2``.
    This is how :mod:`sulfurscope.spectra.peaks` parameterises a Voigt by one FWHM.

    Examples
    --------
    >>> s, g = voigt_width_split(1.2, 0.3)
    >>> round(float(fwhm_voigt(s, g)), 6)
    1.2
    """
    F = np.asarray(fwhm, dtype=float)
    eta = np.clip(np.asarray(lorentz_fraction, dtype=float), 0.0, 1.0)
    scale = F / (0.5346 * eta + np.sqrt(0.2166 * eta * eta + (1.0 - eta) ** 2))
    return (1.0 - eta) * scale / FWHM_PER_SIGMA, eta * scale / 2.0
