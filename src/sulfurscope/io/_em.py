"""What an electron-microscopy signal is, from rosettasciio's description of it (private to
:mod:`sulfurscope.io`): an EELS or EDS spectrum (image) or a micrograph. One rule for the image
reader, the EELS reader and ``sulfurscope init``."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any, Literal

SignalKind = Literal["eels", "eds", "image"]

#: Energy-axis units (lower case) and their factor to eV.
ENERGY_TO_EV = {"ev": 1.0, "kev": 1000.0, "mev": 1e-3}


def is_energy_axis(axis: dict[str, Any]) -> bool:
    """An axis in eV/keV/meV, or one named "energy" ("Energy loss", "Energy")."""
    units = str(axis.get("units") or "").strip().lower()
    return units in ENERGY_TO_EV or "energy" in str(axis.get("name") or "").lower()


def signal_type(sig: dict[str, Any]) -> str:
    """The file's own signal type (``metadata.Signal.signal_type``), upper case; "" if none."""
    meta = sig.get("metadata") or {}
    return str((meta.get("Signal") or {}).get("signal_type", "") or "").upper()


def signal_kind(sig: dict[str, Any]) -> SignalKind:
    """"eds" for an EDS signal type; "eels" for an EELS signal type or any energy axis (whatever
    the axis order: Gatan lists the energy first); else "image"."""
    kind = signal_type(sig)
    if kind.startswith("EDS"):
        return "eds"
    if kind.startswith("EELS") or any(is_energy_axis(a) for a in sig.get("axes", [])):
        return "eels"
    return "image"


def file_signal_kinds(path: Path, module: str) -> list[SignalKind] | None:
    """The kind of every signal of an EM file, from its header (``rsciio.<module>``, lazy); None when
    the file cannot be read (the reader then says why)."""
    try:
        reader = importlib.import_module(f"rsciio.{module}").file_reader
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signals = reader(str(path), lazy=True)
    except Exception:  # noqa: BLE001 - rosettasciio raises a zoo of types on bad files
        return None
    return [signal_kind(s) for s in signals]
