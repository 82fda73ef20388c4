"""Read and write EELS spectra, line scans and spectrum images through rosettasciio.

=====================  ==========================================  ==========================
format                 content                                     rosettasciio plugin
=====================  ==========================================  ==========================
Gatan ``.dm3/.dm4``    single spectra, line scans, spectrum images  ``digitalmicrograph``
HyperSpy ``.hspy``     any of the above (e.g. exported line scans)  ``hspy``
EMSA/MAS ``.msa``      single spectra                               ``msa``
=====================  ==========================================  ==========================

:func:`read_eels` returns an :class:`EELSData`: the counts with the **energy axis last**, the energy
axis in eV and the navigation axes (names, positions converted to nm where the unit is a length).
Nothing else is interpreted. :func:`write_eels` writes ``.hspy`` (any shape) or ``.msa`` (single
spectra) for the simulated line scan of the demo.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sulfurscope._files import atomic_path
from sulfurscope.errors import FileFormatError
from sulfurscope.io._em import ENERGY_TO_EV, is_energy_axis, signal_kind, signal_type
from sulfurscope.io._guard import reader

__all__ = ["EELS_FORMATS", "EELSData", "read_eels", "read_reference_spectrum", "write_eels"]

EELS_FORMATS = {".dm3": "dm3", ".dm4": "dm4", ".hspy": "hspy", ".hdf5": "hspy", ".msa": "msa"}
"""File suffix → format name of :func:`read_eels`."""

# energy units → factor to eV; length units → factor to nm (the readers' unit map)
_ENERGY_TO_EV = ENERGY_TO_EV
_LENGTH_TO_NM = {
    "nm": 1.0,
    "µm": 1000.0,
    "μm": 1000.0,
    "um": 1000.0,
    "micron": 1000.0,
    "å": 0.1,
    "a": 0.1,
    "pm": 1e-3,
    "mm": 1e6,
    "m": 1e9,
}


@dataclass(frozen=True, slots=True)
class EELSData:
    """EELS counts with their energy and navigation axes.

    Attributes
    ----------
    counts : (..., N) ndarray of float
        Counts per channel, energy axis last: ``(N,)`` spectrum, ``(P, N)`` line scan,
        ``(Y, X, N)`` spectrum image (navigation axes in the order of the stored array).
    energy_ev : (N,) ndarray of float, eV
        Channel energies (offset + scale·i as stored; not realigned).
    navigation_names : tuple of str
        One per navigation axis (``("x",)``, ``("y", "x")``).
    navigation_nm : tuple of ndarray
        Positions along each navigation axis, nm (or in ``navigation_units`` when not a length).
    navigation_units : tuple of str
        ``"nm"`` after conversion, or the stored unit when it is not a length.
    title : str
    path : Path
    format : str
        ``"dm3"``, ``"dm4"``, ``"hspy"`` or ``"msa"``.
    """

    counts: np.ndarray
    energy_ev: np.ndarray
    navigation_names: tuple[str, ...]
    navigation_nm: tuple[np.ndarray, ...]
    navigation_units: tuple[str, ...]
    title: str
    path: Path
    format: str

    def to_dict(self) -> dict[str, Any]:
        """Summary (no counts): shape, energy range, navigation axes."""
        return {
            "path": str(self.path),
            "format": self.format,
            "title": self.title,
            "shape": list(self.counts.shape),
            "energy_first_ev": float(self.energy_ev[0]),
            "energy_last_ev": float(self.energy_ev[-1]),
            "dispersion_ev": float(self.energy_ev[1] - self.energy_ev[0]),
            "navigation": [
                {
                    "name": n,
                    "size": int(p.size),
                    "step": float(p[1] - p[0]) if p.size > 1 else 0.0,
                    "units": u,
                }
                for n, p, u in zip(
                    self.navigation_names, self.navigation_nm, self.navigation_units, strict=True
                )
            ],
        }


def _format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in set(EELS_FORMATS.values()) | {"dm3", "dm4"}:
            raise FileFormatError(
                f"{path.name}: format {fmt!r} unknown, expected one of "
                f"{sorted(set(EELS_FORMATS.values()))}"
            )
        return fmt
    suffix = path.suffix.lower()
    if suffix not in EELS_FORMATS:
        raise FileFormatError(
            f"{path.name}: suffix {suffix!r} is not an EELS format "
            f"({', '.join(sorted(EELS_FORMATS))})"
        )
    return EELS_FORMATS[suffix]


def _raw_signals(path: Path, fmt: str) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            if fmt in ("dm3", "dm4"):
                from rsciio.digitalmicrograph import file_reader

                return file_reader(str(path))
            if fmt == "hspy":
                from rsciio.hspy import file_reader

                return file_reader(str(path))
            from rsciio.msa import file_reader

            return file_reader(str(path))
        except FileFormatError:
            raise
        except Exception as exc:  # rosettasciio raises many types for corrupt files
            raise FileFormatError(
                f"{path.name}: rosettasciio could not read it as {fmt} "
                f"({type(exc).__name__}: {exc})"
            ) from exc


def _positions(axis: dict[str, Any], n: int) -> np.ndarray:
    if "axis" in axis and axis["axis"] is not None:
        return np.asarray(axis["axis"], dtype=float)
    return float(axis.get("offset", 0.0) or 0.0) + float(axis.get("scale", 1.0) or 1.0) * np.arange(
        n
    )


_EELS_MODULES = ("rsciio.digitalmicrograph", "rsciio.hspy", "rsciio.msa")


@reader("EELS", modules=_EELS_MODULES)
def read_eels(
    path: str | Path, *, format: str | None = None, signal: int | None = None
) -> EELSData:
    """Read an EELS spectrum, line scan or spectrum image.

    Parameters
    ----------
    path : str or Path
    format : {"dm3", "dm4", "hspy", "msa"} or None
        Forced format; by default from the suffix (:data:`EELS_FORMATS`).
    signal : int or None
        Which signal when the file holds several; by default the only EELS-like one (the one with
        an energy axis in eV).

    Returns
    -------
    EELSData

    Raises
    ------
    FileFormatError
        When the file cannot be read, holds no signal with an energy axis, has a non-uniform or
        non-increasing energy axis, or the chosen signal does not exist. The message names the file
        and the field.
    """
    p = Path(path)
    fmt = _format(p, format)
    sigs = _raw_signals(p, fmt)
    sig = sigs[_choose(sigs, signal, p.name)]
    axes = list(sig.get("axes", []))
    data = np.asarray(sig["data"])
    if data.ndim != len(axes):
        raise FileFormatError(
            f"{p.name}: data has {data.ndim} dimensions but {len(axes)} axes are described"
        )
    ei, energy = _energy(axes, data.shape, p.name)
    counts = np.moveaxis(data, ei, -1).astype(float)
    nav_axes = [a for k, a in enumerate(axes) if k != ei]
    keep = [k for k in range(counts.ndim - 1) if counts.shape[k] > 1]
    squeeze = tuple(k for k in range(counts.ndim - 1) if counts.shape[k] == 1)
    counts = counts.squeeze(axis=squeeze) if squeeze else counts
    names, positions, nav_units = _navigation(nav_axes, keep, counts.shape)
    if not np.all(np.isfinite(counts)):
        raise FileFormatError(f"{p.name}: counts contain NaN or infinite values")
    title = str(sig.get("metadata", {}).get("General", {}).get("title", "") or "")
    return EELSData(
        counts=counts,
        energy_ev=energy,
        navigation_names=tuple(names),
        navigation_nm=tuple(positions),
        navigation_units=tuple(nav_units),
        title=title,
        path=p,
        format=fmt,
    )


def _choose(sigs: list[dict[str, Any]], signal: int | None, name: str) -> int:
    """The requested signal, or the first one with an energy axis."""
    if signal is not None:
        if not 0 <= signal < len(sigs):
            raise FileFormatError(f"{name}: signal {signal} requested, file holds {len(sigs)}")
        return signal
    candidates = [k for k, s in enumerate(sigs) if any(is_energy_axis(a) for a in s.get("axes", []))]
    if not candidates:
        raise FileFormatError(
            f"{name}: no signal with an energy axis (axes units: "
            f"{[[a.get('units') for a in s.get('axes', [])] for s in sigs]})"
        )
    eels = [k for k in candidates if signal_kind(sigs[k]) != "eds"]
    if not eels:
        raise FileFormatError(
            f"{name}: holds an EDS (X-ray) spectrum, signal type "
            f"{signal_type(sigs[candidates[0]])!r}, not an EELS spectrum: read it with "
            "`sulfurscope eds`"
        )
    return eels[0]



def _energy(axes: list[dict[str, Any]], shape: tuple[int, ...], name: str
            ) -> tuple[int, np.ndarray]:
    """The index of the single energy axis and its values in eV (uniform, increasing)."""
    energy_idx = [k for k, a in enumerate(axes) if is_energy_axis(a)]
    if len(energy_idx) != 1:
        raise FileFormatError(
            f"{name}: expected exactly one energy axis, found {len(energy_idx)} "
            f"({[a.get('name') for a in axes]})"
        )
    ei = energy_idx[0]
    eax = axes[ei]
    units = str(eax.get("units") or "eV").strip().lower()
    if units not in _ENERGY_TO_EV:
        raise FileFormatError(f"{name}: energy axis unit {eax.get('units')!r} is not eV/keV")
    energy = _positions(eax, shape[ei]) * _ENERGY_TO_EV[units]
    if energy.size < 2 or not np.all(np.diff(energy) > 0):
        raise FileFormatError(
            f"{name}: energy axis (offset {eax.get('offset')}, scale {eax.get('scale')}) is not "
            "increasing"
        )
    d = np.diff(energy)
    if not np.allclose(d, d[0], rtol=1e-4):
        raise FileFormatError(f"{name}: energy axis is non-uniform; resample it first")
    return ei, energy


def _navigation(nav_axes: list[dict[str, Any]], keep: list[int], shape: tuple[int, ...]
                ) -> tuple[list[str], list[np.ndarray], list[str]]:
    """Names, positions (nm where the unit is a length) and units of the kept navigation axes."""
    names: list[str] = []
    positions: list[np.ndarray] = []
    nav_units: list[str] = []
    for k in keep:
        a = nav_axes[k]
        pos = _positions(a, shape[len(names)])
        u = str(a.get("units") or "").strip()
        factor = _LENGTH_TO_NM.get(u.lower())
        if factor is not None:
            pos = pos * factor
            u = "nm"
        names.append(str(a.get("name") or f"axis{k}"))
        positions.append(pos)
        nav_units.append(u)
    return names, positions, nav_units


def write_eels(
    path: str | Path,
    counts: Any,
    energy_ev: Any,
    *,
    position_nm: Any = None,
    title: str = "",
) -> Path:
    """Write a spectrum (``.msa`` or ``.hspy``) or a line scan (``.hspy``) atomically.

    Parameters
    ----------
    path : str or Path
        ``.hspy`` or ``.msa``.
    counts : (N,) or (P, N) array_like of float
    energy_ev : (N,) array_like of float, eV (uniform)
    position_nm : (P,) array_like of float, nm, optional
        Positions of a line scan (uniform); default 0, 1, 2… nm.
    title : str

    Returns
    -------
    Path

    Raises
    ------
    FileFormatError
        Unsupported suffix, a line scan to ``.msa``, or inconsistent shapes.
    """
    p = Path(path)
    c = np.asarray(counts, dtype=np.float32)
    e = np.asarray(energy_ev, dtype=float)
    if c.ndim not in (1, 2) or c.shape[-1] != e.size or e.size < 2:
        raise FileFormatError(
            f"{p.name}: counts of shape {c.shape} do not match an energy axis of {e.size} channels"
        )
    scale = float(e[1] - e[0])
    if not np.allclose(np.diff(e), scale, rtol=1e-6):
        raise FileFormatError(f"{p.name}: energy_ev must be uniform to be written")
    eax = {
        "name": "Energy loss",
        "size": int(e.size),
        "offset": float(e[0]),
        "scale": scale,
        "units": "eV",
        "navigate": False,
    }
    axes = [eax]
    if c.ndim == 2:
        pos = (
            np.arange(c.shape[0], dtype=float)
            if position_nm is None
            else np.asarray(position_nm, dtype=float)
        )
        if pos.size != c.shape[0]:
            raise FileFormatError(f"{p.name}: {pos.size} positions for {c.shape[0]} spectra")
        step = float(pos[1] - pos[0]) if pos.size > 1 else 1.0
        axes = [
            {
                "name": "x",
                "size": int(pos.size),
                "offset": float(pos[0]),
                "scale": step,
                "units": "nm",
                "navigate": True,
            },
            eax,
        ]
    md = {"General": {"title": title}, "Signal": {"signal_type": "EELS"}}
    suffix = p.suffix.lower()
    with atomic_path(p) as tmp:
        if suffix == ".hspy":
            from rsciio.hspy import file_writer

            sig = {
                "data": c,
                "axes": axes,
                "metadata": md,
                "original_metadata": {},
                "tmp_parameters": {},
                "attributes": {"_lazy": False},
                "package_info": {"name": "sulfurscope", "version": ""},
                "learning_results": {},
                "models": {},
            }
            file_writer(str(tmp), sig)
        elif suffix == ".msa":
            if c.ndim != 1:
                raise FileFormatError(f"{p.name}: .msa holds one spectrum, got shape {c.shape}")
            from rsciio.msa import file_writer

            file_writer(
                str(tmp), {"data": c, "axes": axes, "metadata": md, "original_metadata": {}}
            )
        else:
            raise FileFormatError(f"{p.name}: write_eels writes .hspy or .msa, not {suffix!r}")
    return p


@reader("EELS reference", modules=_EELS_MODULES)
def read_reference_spectrum(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a reference spectrum for fingerprinting: ``(energy_ev, intensity)``.

    EELS formats (:data:`EELS_FORMATS`, one spectrum) through :func:`read_eels`; anything else as a
    two-column text table (energy in eV, intensity; comma, tab or space separated, ``#`` comments).

    Raises
    ------
    FileFormatError
        When the file holds more than one spectrum or is not a two-column table.
    """
    p = Path(path)
    if p.suffix.lower() in EELS_FORMATS:
        d = read_eels(p)
        if d.counts.ndim != 1:
            raise FileFormatError(
                f"{p.name}: a reference must be one spectrum, got shape {d.counts.shape}"
            )
        return d.energy_ev, d.counts
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file")
    try:
        text = p.read_text(encoding="utf-8", errors="replace").replace(",", " ").replace(";", " ")
        rows = [
            [float(v) for v in line.split()[:2]]
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        arr = np.asarray(rows, dtype=float)
    except ValueError as exc:
        raise FileFormatError(
            f"{p.name}: expected a two-column text table (energy eV, intensity): {exc}"
        ) from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
        raise FileFormatError(
            f"{p.name}: expected at least 3 rows of two columns (energy eV, intensity)"
        )
    order = np.argsort(arr[:, 0])
    return arr[order, 0], arr[order, 1]
