"""Crystal phases and their reference spacings: the table the lattice analysis indexes against.

:class:`Phase` (lattice parameters, centring, extinction rules), :func:`reference_spacings` (the
d-spacings of every reflection family down to a smallest d) and :func:`interplanar_angle` (the angle
between two planes from the reciprocal metric tensor). Used by :mod:`sulfurscope.microscopy.lattice`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "Phase",
    "REFERENCE_PHASES",
    "interplanar_angle",
    "reference_spacings",
]


@dataclass(frozen=True, slots=True)
class Phase:
    """A crystal phase: lattice constants (Å, degrees), centring and extra reflection conditions.

    Attributes
    ----------
    name : str
    a_angstrom, b_angstrom, c_angstrom : float
        Cell edges; ``b`` and ``c`` default to ``a`` (cubic).
    alpha_deg, beta_deg, gamma_deg : float
        Cell angles.
    centring : {"P", "F", "I", "C", "A", "B"}
        Lattice centring (its systematic absences are applied).
    absent : callable, optional
        ``absent(h, k, l) -> bool`` for further absences (glides, screws, structure-specific).
    """

    name: str
    a_angstrom: float
    b_angstrom: float | None = None
    c_angstrom: float | None = None
    alpha_deg: float = 90.0
    beta_deg: float = 90.0
    gamma_deg: float = 90.0
    centring: Literal["P", "F", "I", "C", "A", "B"] = "P"
    absent: Callable[[int, int, int], bool] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, object]:
        """Plain dict (the ``absent`` callable by name)."""
        d = asdict(self)
        d["absent"] = getattr(self.absent, "__name__", None)
        return d


def _centring_allowed(c: str, h: int, k: int, l: int) -> bool:  # noqa: E741
    if c == "P":
        return True
    if c == "F":
        return (h % 2 == k % 2) and (k % 2 == l % 2)
    if c == "I":
        return (h + k + l) % 2 == 0
    if c == "C":
        return (h + k) % 2 == 0
    if c == "A":
        return (k + l) % 2 == 0
    if c == "B":
        return (h + l) % 2 == 0
    raise ValueError(f"centring must be one of P F I C A B, got {c!r}")


def _fddd_absent(h: int, k: int, l: int) -> bool:  # noqa: E741
    """d-glide absences of Fddd (alpha-S8): 0kl k+l=4n, h0l h+l=4n, hk0 h+k=4n."""
    if h == 0 and (k + l) % 4:
        return True
    if k == 0 and (h + l) % 4:
        return True
    return l == 0 and (h + k) % 4 != 0


def _graphite_absent(h: int, k: int, l: int) -> bool:  # noqa: E741
    """P6_3/mmc graphite (atoms on 2b + 2c): l odd absent when h - k = 3n; 000l needs l even."""
    return l % 2 == 1 and (h - k) % 3 == 0


def _c2c_absent(h: int, k: int, l: int) -> bool:  # noqa: E741
    """c-glide of C2/c (Li2CO3): h0l needs l even."""
    return k == 0 and l % 2 == 1


def _p21c_absent(h: int, k: int, l: int) -> bool:  # noqa: E741
    """P2_1/c (Li2SO4): h0l needs l even, 0k0 needs k even."""
    return (k == 0 and l % 2 == 1) or (h == 0 and l == 0 and k % 2 == 1)


#: The phases of a Li–S cathode. Sources: LiF a = 4.027 Å and Li2S a = 5.708 Å (the study);
#: alpha-S8 Fddd a = 10.4646, b = 12.8660, c = 24.4860 Å (Rettig & Trotter, Acta Cryst. C43, 2260,
#: 1987); graphite P6_3/mmc a = 2.464, c = 6.711 Å; Li2CO3 C2/c a = 8.359, b = 4.973, c = 6.197 Å,
#: beta = 114.83° (Idemoto et al. 1998); Li2SO4 (beta, P2_1/c) a = 8.239, b = 4.954, c = 8.474 Å,
#: beta = 107.98° (Nord 1976).
REFERENCE_PHASES: tuple[Phase, ...] = (
    Phase("LiF", 4.027, centring="F"),
    Phase("Li2S", 5.708, centring="F"),
    Phase("S8", 10.4646, 12.8660, 24.4860, centring="F", absent=_fddd_absent),
    Phase("graphite", 2.464, 2.464, 6.711, gamma_deg=120.0, absent=_graphite_absent),
    Phase("Li2CO3", 8.359, 4.973, 6.197, beta_deg=114.83, centring="C", absent=_c2c_absent),
    Phase("Li2SO4", 8.239, 4.954, 8.474, beta_deg=107.98, absent=_p21c_absent),
)


def _reciprocal_metric(p: Phase) -> np.ndarray:
    a = p.a_angstrom
    b = p.b_angstrom if p.b_angstrom is not None else a
    c = p.c_angstrom if p.c_angstrom is not None else a
    al, be, ga = (math.radians(x) for x in (p.alpha_deg, p.beta_deg, p.gamma_deg))
    g = np.array(
        [
            [a * a, a * b * math.cos(ga), a * c * math.cos(be)],
            [a * b * math.cos(ga), b * b, b * c * math.cos(al)],
            [a * c * math.cos(be), b * c * math.cos(al), c * c],
        ]
    )
    return np.linalg.inv(g) * 100.0  # Å^-2 -> nm^-2


def _reflections(p: Phase, d_min_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """All allowed hkl (every sign) with d >= d_min_nm, and their d in nm."""
    gstar = _reciprocal_metric(p)
    # index range from the shortest real-space axis projection
    a = p.a_angstrom
    b = p.b_angstrom if p.b_angstrom is not None else a
    c = p.c_angstrom if p.c_angstrom is not None else a
    hmax = [int(math.ceil(x / 10.0 / d_min_nm)) + 1 for x in (a, b, c)]
    rng = [np.arange(-m, m + 1) for m in hmax]
    hkl = np.array(np.meshgrid(*rng, indexing="ij")).reshape(3, -1).T
    hkl = hkl[np.any(hkl != 0, axis=1)]
    q2 = np.einsum("ij,jk,ik->i", hkl, gstar, hkl)
    d = 1.0 / np.sqrt(q2)
    keep = d >= d_min_nm
    hkl, d = hkl[keep], d[keep]
    ok = np.array(
        [
            _centring_allowed(p.centring, *map(int, h))
            and not (p.absent is not None and p.absent(*map(int, h)))
            for h in hkl
        ],
        dtype=bool,
    )
    return hkl[ok], d[ok]


def _family_label(members: np.ndarray) -> str:
    # representative: most non-negative, then largest indices first
    best = max(members.tolist(), key=lambda h: (sum(x >= 0 for x in h), h))
    return "(" + "".join(str(x) if x >= 0 else f"-{abs(x)}" for x in best) + ")"


def _families(p: Phase, d_min_nm: float) -> list[tuple[str, float, np.ndarray]]:
    hkl, d = _reflections(p, d_min_nm)
    order = np.argsort(-d)
    hkl, d = hkl[order], d[order]
    out: list[tuple[str, float, np.ndarray]] = []
    i = 0
    while i < len(d):
        j = i
        while j < len(d) and abs(d[j] - d[i]) < 1e-6 * d[i]:
            j += 1
        members = hkl[i:j]
        out.append((_family_label(members), float(d[i]), members))
        i = j
    return out


def chance_match_fraction(
    phase: Phase, d_lo_nm: float, d_hi_nm: float, *, tolerance: float = 0.02,
    d_min_nm: float = 0.1,
) -> float:
    """Share of all spacings between ``d_lo_nm`` and ``d_hi_nm`` (uniform in ln d) that lie within
    ``tolerance`` (relative) of a reflection of ``phase``: the chance that a spacing from any
    crystal matches the phase.

    Cubic LiF and Li2S cover 11 % and 21 % of 0.12–0.5 nm at 2 %; monoclinic Li2CO3 and
    Li2SO4 61 % and 79 %; orthorhombic S8 (438 families) 88 %, so a match to it, or a zone of
    spots consistent with it, says little about whether it is there.

    Examples
    --------
    >>> from sulfurscope.microscopy.phases import REFERENCE_PHASES
    >>> lif = next(p for p in REFERENCE_PHASES if p.name == "LiF")
    >>> 0.05 < chance_match_fraction(lif, 0.12, 0.5) < 0.2
    True
    """
    lo, hi = sorted((float(d_lo_nm), float(d_hi_nm)))
    if not lo > 0:
        return float("nan")
    d = np.sort([f[1] for f in _families(phase, d_min_nm)])
    if d.size == 0:
        return 0.0
    grid = np.exp(np.linspace(np.log(lo), np.log(hi), 4001))
    k = np.clip(np.searchsorted(d, grid), 1, d.size - 1)
    nearest = np.minimum(np.abs(grid - d[k - 1]) / d[k - 1], np.abs(grid - d[k]) / d[k])
    return float(np.mean(nearest <= tolerance))


def reference_spacings(
    phases: Sequence[Phase] = REFERENCE_PHASES, *, d_min_nm: float = 0.1
) -> pd.DataFrame:
    """Table of allowed d-spacings of each phase, from its lattice constants.

    Parameters
    ----------
    phases : sequence of Phase
        Defaults to :data:`REFERENCE_PHASES` (LiF, Li2S, S8, graphite, Li2CO3, Li2SO4); add your own.
    d_min_nm : float
        Shortest spacing listed.

    Returns
    -------
    DataFrame
        ``"Phase"``, ``"hkl"``, ``"d [nm]"``, ``"Multiplicity"`` sorted by phase then d descending.
        Intensities are not computed: weak but allowed reflections are listed too.

    Examples
    --------
    >>> t = reference_spacings([Phase("LiF", 4.027, centring="F")], d_min_nm=0.2)
    >>> [(r.hkl, round(r._3 * 10, 3)) for r in t.itertuples()]
    [('(111)', 2.325), ('(200)', 2.013)]
    """
    rows = []
    for p in phases:
        for label, d, members in _families(p, d_min_nm):
            rows.append((p.name, label, d, len(members)))
    return pd.DataFrame(rows, columns=["Phase", "hkl", "d [nm]", "Multiplicity"])


def interplanar_angle(phase: Phase, hkl1: Sequence[int], hkl2: Sequence[int]) -> float:
    """Angle in degrees between the normals of planes ``hkl1`` and ``hkl2`` of a phase.

    Examples
    --------
    >>> sto = Phase("SrTiO3", 3.905)
    >>> round(interplanar_angle(sto, (0, 0, 1), (1, -1, 1)), 1)
    54.7
    """
    gstar = _reciprocal_metric(phase)
    h1, h2 = np.asarray(hkl1, float), np.asarray(hkl2, float)
    cos = h1 @ gstar @ h2 / math.sqrt((h1 @ gstar @ h1) * (h2 @ gstar @ h2))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))
