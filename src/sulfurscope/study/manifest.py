"""``study.toml`` → frozen dataclasses, with errors that name the line and the key.

A manifest describes a study once: its samples, cells (cycler files and sulfur masses), images (SEM
per sample, HRTEM), spectra (XPS, Raman, EDS projects, EELS pairs) and the model settings. Paths are
relative to the manifest. Unknown keys are errors (they are usually typos). ``tomllib`` gives no line
numbers, so the line of a key is found by scanning the text: the n-th ``[[cells]]`` header, then the
``key =`` line inside its block (a good approximation; the header line when the key is absent).

Example
-------
.. code-block:: toml

    [study]
    title = "Particle size study"

    [[samples]]
    name = "AC-S_8um"
    carbon = "activated carbon"
    particle_size = "8 um"
    particle_size_um = 8.0
    sulfur_fraction = 0.49          # or: tga = "tga/ac-s_8um.csv"

    [[cells]]
    name = "8um_rate_1"
    sample = "AC-S_8um"
    files = ["echem/8um_rate_1.mpr"]
    protocol = "rate"               # rate | cycling | gitt | asymmetric
    sulfur_mass_mg = 2.64           # or loading_mg_cm2 (+ area_cm2) or composite_mass_mg

    [[images]]
    name = "sem_8um"
    sample = "AC-S_8um"
    kind = "sem"                    # sem | hrtem
    file = "images/8um.tif"
    pixel_size_nm = 11.65           # optional: overrides the file's calibration

    [[spectra]]
    name = "xps_S2p_8um"
    sample = "AC-S_8um"
    kind = "xps"                    # xps | raman | eds | eels | any registered kind
    files = { file = "spectro/8um.vms" }
    options = { region = "S 2p" }

    [model]
    enabled = true

    [limits]                        # optional; the defaults are shown
    task_timeout_s = 1800           # a task running longer is stopped and marked failed
    task_memory_mb = 4096           # a task allocating more is stopped and marked failed

Every path must resolve (symlinks followed) inside the study folder (the manifest's folder) or inside
a folder the manifest declares in ``[study] data_roots = ["../shared/data"]``; anything else is
refused with an error naming the key, so a manifest cannot make the report read ``/etc/passwd``.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sulfurscope.errors import SulfurscopeError
from sulfurscope.study._conditions import (
    CELL_KEYS,
    SAMPLE_KEYS,
    cell_extras,
    replicates_table,
    sample_cell_defaults,
    sample_fraction_u,
    with_sample_defaults,
)
from sulfurscope.units import ELECTRODE_AREA_13MM_CM2

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport (same API)
    import tomli as tomllib

__all__ = [
    "CELL_PROTOCOLS",
    "IMAGE_KINDS",
    "KIND_OF",
    "CellEntry",
    "ImageEntry",
    "ModelSettings",
    "SampleEntry",
    "SpectrumEntry",
    "Study",
    "cell_options",
    "image_options",
    "load_study",
    "parse_study",
]

CELL_PROTOCOLS = ("rate", "cycling", "gitt", "asymmetric")
IMAGE_KINDS = ("sem", "hrtem")
DEFAULT_AREA_CM2 = ELECTRODE_AREA_13MM_CM2
#: Manifest entries → built-in analysis: cells by protocol (gitt, else cycling), images and spectra
#: by kind, samples with a TGA file.
KIND_OF = {
    "cycling": "cycling",
    "gitt": "gitt",
    "sem": "particles",
    "hrtem": "lattice",
    "tga": "tga",
    "xps": "xps",
    "raman": "raman",
    "eds": "eds",
    "eels": "eels",
}


@dataclass(frozen=True, slots=True)
class SampleEntry:
    """A material: carbon, particle size and sulfur content (given or from a TGA file)."""

    name: str
    carbon: str = ""
    particle_size: str = ""
    particle_size_um: float | None = None
    sulfur_fraction: float | None = None
    tga: Path | None = None
    line: int = 0
    sulfur_fraction_u: float | None = None
    cell_defaults: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (paths as strings)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class CellEntry:
    """A cell: its cycler files, protocol and how its sulfur mass is known."""

    name: str
    sample: str
    files: tuple[Path, ...]
    protocol: str
    sulfur_mass_mg: float | None = None
    loading_mg_cm2: float | None = None
    area_cm2: float = DEFAULT_AREA_CM2
    composite_mass_mg: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0
    electrolyte: str = ""
    condition: str = ""
    exclude: str = ""
    mass_u: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (paths as strings)."""
        d = asdict(self)
        d["files"] = [str(p) for p in self.files]
        d["options"] = dict(self.options)
        d["mass_u"] = dict(self.mass_u)
        return d


@dataclass(frozen=True, slots=True)
class ImageEntry:
    """A micrograph: SEM for particle sizes or HRTEM for lattice fringes."""

    name: str
    sample: str
    kind: str
    file: Path
    pixel_size_nm: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (paths as strings)."""
        d = asdict(self)
        d["file"] = str(self.file)
        d["options"] = dict(self.options)
        return d


@dataclass(frozen=True, slots=True)
class SpectrumEntry:
    """A spectrum measurement: kind (xps, raman, eds, eels...), files by role, options."""

    name: str
    sample: str
    kind: str
    files: Mapping[str, Path]
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (paths as strings)."""
        return {
            "name": self.name,
            "sample": self.sample,
            "kind": self.kind,
            "files": {k: str(v) for k, v in self.files.items()},
            "options": dict(self.options),
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """The ``[model]`` table: whether and how the particle-size model is fitted."""

    enabled: bool = True
    n_classes: int = 8
    n_cells: int = 20
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the options the model step receives)."""
        return {
            "enabled": self.enabled,
            "n_classes": self.n_classes,
            "n_cells": self.n_cells,
            **dict(self.options),
        }


@dataclass(frozen=True, slots=True)
class Study:
    """A validated manifest."""

    path: Path
    title: str
    description: str
    samples: tuple[SampleEntry, ...]
    cells: tuple[CellEntry, ...]
    images: tuple[ImageEntry, ...]
    spectra: tuple[SpectrumEntry, ...]
    model: ModelSettings
    data_roots: tuple[Path, ...] = ()
    limits: dict[str, float] = field(default_factory=dict)
    truth: Path | None = None
    replicates: Mapping[str, Any] = field(default_factory=lambda: {"enabled": True})

    def cells_frame(self) -> pd.DataFrame:
        """The cells with their conditions, exclusions and mass fields (the replicates step's
        input; :func:`sulfurscope.study._conditions.cells_frame`)."""
        from sulfurscope.study._conditions import cells_frame

        return cells_frame(self)

    def to_frame(self) -> pd.DataFrame:
        """The samples table (``Sample``, ``Carbon``, ``Particle size label``, ``Particle size [um]``,
        ``Sulfur fraction``, ``TGA file``)."""
        return pd.DataFrame(
            {
                "Sample": [s.name for s in self.samples],
                "Carbon": [s.carbon for s in self.samples],
                "Particle size label": [s.particle_size for s in self.samples],
                "Particle size [um]": [
                    float("nan") if s.particle_size_um is None else s.particle_size_um
                    for s in self.samples
                ],
                "Sulfur fraction": [
                    float("nan") if s.sulfur_fraction is None else s.sulfur_fraction
                    for s in self.samples
                ],
                "TGA file": [str(s.tga) if s.tga else "" for s in self.samples],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready manifest."""
        return {
            "path": str(self.path),
            "title": self.title,
            "description": self.description,
            "samples": [s.to_dict() for s in self.samples],
            "cells": [c.to_dict() for c in self.cells],
            "images": [i.to_dict() for i in self.images],
            "spectra": [s.to_dict() for s in self.spectra],
            "model": self.model.to_dict(),
            "data_roots": [str(r) for r in self.data_roots],
            "limits": dict(self.limits),
            "replicates": dict(self.replicates),
        }


# ---------------------------------------------------------------- line finding


class _Lines:
    """Approximate line numbers of tables and keys in the TOML text."""

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*(\]\]?)\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []  # (line number, name, array)
        for k, line in enumerate(self.lines, start=1):
            m = self._header.match(line)
            if m and (m.group(1) == "[[") == (m.group(3) == "]]"):
                self.headers.append((k, m.group(2).strip(), m.group(1) == "[["))

    def table(self, name: str, index: int | None = None) -> int:
        """Line of ``[name]`` or of the index-th ``[[name]]`` (0 when not found)."""
        hits = [ln for ln, n, arr in self.headers if n == name and arr == (index is not None)]
        if index is None:
            return hits[0] if hits else self._bare(name)
        return hits[index] if index < len(hits) else self._bare(name)

    def _bare(self, name: str) -> int:
        pat = re.compile(rf"^\s*{re.escape(name)}\s*=")
        return next((k for k, line in enumerate(self.lines, 1) if pat.match(line)), 0)

    def key(self, table: str, index: int | None, key: str) -> int:
        """Line of ``key =`` inside the table block (the header line when absent)."""
        start = self.table(table, index)
        if start == 0:
            return self._bare(key)
        nxt = next((ln for ln, _, _ in self.headers if ln > start), len(self.lines) + 1)
        pat = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for k in range(start + 1, nxt):
            if pat.match(self.lines[k - 1]):
                return k
        inline = re.compile(rf"[{{,]\s*\"?{re.escape(key)}\"?\s*=")
        for k in range(start + 1, nxt):
            if inline.search(self.lines[k - 1]):
                return k
        return start


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.root = path.parent
        self.lines = _Lines(text)
        self.roots: tuple[Path, ...] = (self.root.resolve(),)

    def fail(
        self, table: str, index: int | None, key: str | None, message: str
    ) -> SulfurscopeError:
        where = table if index is None else f"{table}[{index}]"
        line = (
            self.lines.key(table, index, key.rsplit(".", 1)[-1])
            if key is not None
            else self.lines.table(table, index)
        )
        dotted = f"{where}.{key}" if key else where
        return SulfurscopeError(f"{self.path.name} line {line}: {dotted}: {message}")

    def keys(
        self, entry: Mapping[str, Any], allowed: set[str], table: str, index: int | None
    ) -> None:
        for key in entry:
            if key not in allowed:
                raise self.fail(
                    table, index, key, f"unknown key (allowed: {', '.join(sorted(allowed))})"
                )

    def string(
        self, entry: Mapping[str, Any], key: str, table: str, index: int | None, *, required: bool
    ) -> str:
        if key not in entry:
            if required:
                raise self.fail(table, index, key, "required")
            return ""
        value = entry[key]
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(table, index, key, f"expected a non-empty string, got {value!r}")
        return value

    def number(
        self,
        entry: Mapping[str, Any],
        key: str,
        table: str,
        index: int | None,
        *,
        maximum: float | None = None,
    ) -> float | None:
        if key not in entry:
            return None
        value = entry[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value <= 0:
            raise self.fail(table, index, key, f"expected a positive number, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.fail(table, index, key, f"must be at most {maximum:g}, got {value!r}")
        return float(value)

    def file(self, value: Any, table: str, index: int | None, key: str) -> Path:
        if not isinstance(value, str) or not value:
            raise self.fail(table, index, key, f"expected a file path string, got {value!r}")
        p = Path(value)
        p = p if p.is_absolute() else (self.root / p)
        real = p.resolve()
        if not any(real.is_relative_to(r) for r in self.roots):
            raise self.fail(
                table, index, key,
                f"{value!r} resolves to {real}, outside the study folder and its data roots; "
                "declare its folder in [study] data_roots",
            )
        if not real.is_file():
            raise self.fail(table, index, key, f"file not found: {p}")
        return real

    def options(self, entry: Mapping[str, Any], table: str, index: int | None) -> dict[str, Any]:
        value = entry.get("options", {})
        if not isinstance(value, dict):
            raise self.fail(table, index, "options", f"expected a table, got {value!r}")
        return dict(value)

    def entries(self, data: Mapping[str, Any], table: str) -> list[dict[str, Any]]:
        value = data.get(table, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(table, None, None, "expected an array of tables ([[" + table + "]])")
        return value


_TOP = {"study", "samples", "cells", "images", "spectra", "model", "limits", "replicates"}
_STUDY = {"title", "description", "data_roots", "truth"}
#: ``[limits]`` keys and their maxima (a day, 1 TB).
_LIMITS = {"task_timeout_s": 86400.0, "task_memory_mb": 1e6}
_SAMPLE = {"name", "carbon", "particle_size", "particle_size_um", "sulfur_fraction", "tga"} | SAMPLE_KEYS
_CELL = {
    "name",
    "sample",
    "files",
    "file",
    "protocol",
    "sulfur_mass_mg",
    "loading_mg_cm2",
    "area_cm2",
    "composite_mass_mg",
    "electrolyte",
    "options",
} | CELL_KEYS
_IMAGE = {"name", "sample", "kind", "file", "pixel_size_nm", "options"}
_SPECTRUM = {"name", "sample", "kind", "files", "file", "options"}
_MODEL = {"enabled", "n_classes", "n_cells", "options"}


def cell_options(cell: CellEntry, sample: SampleEntry) -> dict[str, Any]:
    """A cell's analysis options: its sulfur-mass fields (the sample's fraction for a composite
    mass), its protocol (cycling analyses) and its ``options`` table."""
    opts: dict[str, Any] = {
        "sulfur_mass_mg": cell.sulfur_mass_mg,
        "loading_mg_cm2": cell.loading_mg_cm2,
        "area_cm2": cell.area_cm2 if cell.loading_mg_cm2 is not None else None,
        "composite_mass_mg": cell.composite_mass_mg,
        "sulfur_fraction": sample.sulfur_fraction if cell.composite_mass_mg else None,
        "sulfur_fraction_u": sample.sulfur_fraction_u if cell.composite_mass_mg else None,
        **dict(cell.mass_u),
    }
    if cell.protocol != "gitt":
        opts["protocol"] = cell.protocol
    opts.update(dict(cell.options))
    return {k: v for k, v in opts.items() if v is not None}


def image_options(image: ImageEntry) -> dict[str, Any]:
    """An image's analysis options: its pixel size (when given) and its ``options`` table."""
    opts = {"pixel_size_nm": image.pixel_size_nm, **dict(image.options)}
    return {k: v for k, v in opts.items() if v is not None}


def _check_options(
    chk: _Checker,
    table: str,
    index: int | None,
    analysis: str,
    values: Mapping[str, Any],
    in_options: Mapping[str, Any],
) -> None:
    """Validate an entry's options against the analysis's options dataclass (the CLI's flags)."""
    from sulfurscope.analysis import OptionError, options_class

    try:
        options_class(analysis).from_mapping(values)
    except OptionError as exc:
        key = f"options.{exc.option}" if exc.option in in_options else exc.option
        raise chk.fail(table, index, key, exc.detail) from None


def _unique(chk: _Checker, names: list[str], table: str) -> None:
    seen: set[str] = set()
    for k, n in enumerate(names):
        if n in seen:
            raise chk.fail(table, k, "name", f"duplicate name {n!r}")
        seen.add(n)


def _study_table(chk: _Checker, data: Mapping[str, Any], p: Path) -> tuple[str, str]:
    for key in data:
        if key not in _TOP:
            raise chk.fail(key, None, None, f"unknown table (allowed: {', '.join(sorted(_TOP))})")
    study = data.get("study", {})
    if not isinstance(study, dict):
        raise chk.fail("study", None, None, "expected a table [study]")
    chk.keys(study, _STUDY, "study", None)
    chk.roots = (chk.root.resolve(), *_data_roots(chk, study))
    title = chk.string(study, "title", "study", None, required=False) or p.stem
    return title, chk.string(study, "description", "study", None, required=False)


def _data_roots(chk: _Checker, study: Mapping[str, Any]) -> list[Path]:
    """The ``data_roots`` folders (relative to the manifest), resolved; each must exist."""
    value = study.get("data_roots", [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise chk.fail("study", None, "data_roots", f"expected a list of folder paths, got {value!r}")
    roots = []
    for v in value:
        q = Path(v) if Path(v).is_absolute() else chk.root / v
        if not q.is_dir():
            raise chk.fail("study", None, "data_roots", f"no such folder: {q}")
        roots.append(q.resolve())
    return roots


def _limits(chk: _Checker, data: Mapping[str, Any]) -> dict[str, float]:
    value = data.get("limits", {})
    if not isinstance(value, dict):
        raise chk.fail("limits", None, None, "expected a table [limits]")
    chk.keys(value, set(_LIMITS), "limits", None)
    out = {}
    for key, maximum in _LIMITS.items():
        number = chk.number(value, key, "limits", None, maximum=maximum)
        if number is not None:
            out[key] = number
    return out


def _samples(chk: _Checker, data: Mapping[str, Any]) -> list[SampleEntry]:
    samples: list[SampleEntry] = []
    for k, e in enumerate(chk.entries(data, "samples")):
        chk.keys(e, _SAMPLE, "samples", k)
        frac = chk.number(e, "sulfur_fraction", "samples", k, maximum=1.0)
        tga = chk.file(e["tga"], "samples", k, "tga") if "tga" in e else None
        if frac is not None and tga is not None:
            raise chk.fail("samples", k, "tga", "give sulfur_fraction or tga, not both")
        samples.append(
            SampleEntry(
                name=chk.string(e, "name", "samples", k, required=True),
                carbon=chk.string(e, "carbon", "samples", k, required=False),
                particle_size=chk.string(e, "particle_size", "samples", k, required=False),
                particle_size_um=chk.number(e, "particle_size_um", "samples", k),
                sulfur_fraction=frac,
                tga=tga,
                line=chk.lines.table("samples", k),
                sulfur_fraction_u=sample_fraction_u(chk, e, k),
                cell_defaults=sample_cell_defaults(chk, e, k),
            )
        )
    _unique(chk, [s.name for s in samples], "samples")
    return samples


def _sample_of(
    chk: _Checker, by_name: Mapping[str, SampleEntry], e: Mapping[str, Any], table: str, k: int,
    *, required: bool,
) -> str:
    name = chk.string(e, "sample", table, k, required=required)
    if name and name not in by_name:
        raise chk.fail(table, k, "sample", f"unknown sample {name!r} (samples: {sorted(by_name)})")
    return name


def _cell_files(chk: _Checker, e: Mapping[str, Any], k: int) -> tuple[Path, ...]:
    if "file" in e and "files" in e:
        raise chk.fail("cells", k, "file", "give file or files, not both")
    if "file" in e:
        return (chk.file(e["file"], "cells", k, "file"),)
    if "files" in e:
        raw = e["files"]
        if not isinstance(raw, list) or not raw:
            raise chk.fail("cells", k, "files", f"expected a list of paths, got {raw!r}")
        return tuple(chk.file(v, "cells", k, "files") for v in raw)
    raise chk.fail("cells", k, "files", "required (the cycler files of the cell)")


def _cell_mass(
    chk: _Checker, e: Mapping[str, Any], k: int, sample: SampleEntry
) -> dict[str, float | None]:
    mass = {
        key: chk.number(e, key, "cells", k)
        for key in ("sulfur_mass_mg", "loading_mg_cm2", "composite_mass_mg", "area_cm2")
    }
    given = [n for n in ("sulfur_mass_mg", "loading_mg_cm2", "composite_mass_mg") if mass[n]]
    if len(given) > 1:
        raise chk.fail("cells", k, given[1], f"give one of {given}, not several")
    if not given:
        raise chk.fail(
            "cells",
            k,
            "sulfur_mass_mg",
            "required when no loading is given (or loading_mg_cm2 with area_cm2 — here or in the "
            "sample —, or composite_mass_mg with the sample's sulfur_fraction/tga); there is no "
            "default mass",
        )
    if mass["composite_mass_mg"] is not None and sample.sulfur_fraction is None and sample.tga is None:
        raise chk.fail(
            "cells", k, "composite_mass_mg",
            f"sample {sample.name!r} has neither sulfur_fraction nor tga",
        )
    if mass["area_cm2"] is not None and mass["loading_mg_cm2"] is None:
        raise chk.fail("cells", k, "area_cm2", "only used with loading_mg_cm2")
    return mass


def _cells(
    chk: _Checker, data: Mapping[str, Any], by_name: Mapping[str, SampleEntry]
) -> list[CellEntry]:
    cells: list[CellEntry] = []
    for k, e in enumerate(chk.entries(data, "cells")):
        chk.keys(e, _CELL, "cells", k)
        name = chk.string(e, "name", "cells", k, required=True)
        sample = by_name[_sample_of(chk, by_name, e, "cells", k, required=True)]
        e = with_sample_defaults(e, sample.cell_defaults)
        files = _cell_files(chk, e, k)
        protocol = chk.string(e, "protocol", "cells", k, required=True)
        if protocol not in CELL_PROTOCOLS:
            raise chk.fail(
                "cells", k, "protocol", f"expected one of {list(CELL_PROTOCOLS)}, got {protocol!r}"
            )
        mass = _cell_mass(chk, e, k, sample)
        area = mass.pop("area_cm2")
        cell = CellEntry(
            name=name,
            sample=sample.name,
            files=files,
            protocol=protocol,
            area_cm2=area if area is not None else DEFAULT_AREA_CM2,
            options=chk.options(e, "cells", k),
            line=chk.lines.table("cells", k),
            electrolyte=chk.string(e, "electrolyte", "cells", k, required=False) or "",
            **cell_extras(chk, e, k, sample.name),
            **mass,
        )
        analysis = KIND_OF["gitt" if protocol == "gitt" else "cycling"]
        _check_options(chk, "cells", k, analysis, cell_options(cell, sample), cell.options)
        cells.append(cell)
    _unique(chk, [c.name for c in cells], "cells")
    return cells


def _images(
    chk: _Checker, data: Mapping[str, Any], by_name: Mapping[str, SampleEntry]
) -> list[ImageEntry]:
    images: list[ImageEntry] = []
    for k, e in enumerate(chk.entries(data, "images")):
        chk.keys(e, _IMAGE, "images", k)
        kind = chk.string(e, "kind", "images", k, required=True)
        if kind not in IMAGE_KINDS:
            raise chk.fail(
                "images", k, "kind", f"expected one of {list(IMAGE_KINDS)}, got {kind!r}"
            )
        if "file" not in e:
            raise chk.fail("images", k, "file", "required")
        image = ImageEntry(
            name=chk.string(e, "name", "images", k, required=True),
            sample=_sample_of(chk, by_name, e, "images", k, required=kind == "sem"),
            kind=kind,
            file=chk.file(e["file"], "images", k, "file"),
            pixel_size_nm=chk.number(e, "pixel_size_nm", "images", k),
            options=chk.options(e, "images", k),
            line=chk.lines.table("images", k),
        )
        _check_options(chk, "images", k, KIND_OF[kind], image_options(image), image.options)
        images.append(image)
    _unique(chk, [i.name for i in images], "images")
    return images


def _spectrum_files(chk: _Checker, e: Mapping[str, Any], k: int) -> dict[str, Path]:
    if "file" in e and "files" in e:
        raise chk.fail("spectra", k, "file", "give file or files, not both")
    if "file" in e:
        return {"file": chk.file(e["file"], "spectra", k, "file")}
    if "files" in e:
        raw = e["files"]
        if not isinstance(raw, dict) or not raw:
            raise chk.fail("spectra", k, "files", f"expected a table role = path, got {raw!r}")
        return {role: chk.file(v, "spectra", k, role) for role, v in raw.items()}
    raise chk.fail("spectra", k, "files", 'required (e.g. files = { file = "x.vms" })')


def _spectra(
    chk: _Checker, data: Mapping[str, Any], by_name: Mapping[str, SampleEntry]
) -> list[SpectrumEntry]:
    spectra: list[SpectrumEntry] = []
    for k, e in enumerate(chk.entries(data, "spectra")):
        chk.keys(e, _SPECTRUM, "spectra", k)
        kind = chk.string(e, "kind", "spectra", k, required=True)
        entry = SpectrumEntry(
            name=chk.string(e, "name", "spectra", k, required=True),
            sample=_sample_of(chk, by_name, e, "spectra", k, required=False),
            kind=kind,
            files=_spectrum_files(chk, e, k),
            options=chk.options(e, "spectra", k),
            line=chk.lines.table("spectra", k),
        )
        if kind in KIND_OF and kind not in ("cycling", "gitt", "sem", "hrtem", "tga"):
            _check_options(chk, "spectra", k, KIND_OF[kind], entry.options, entry.options)
        spectra.append(entry)
    _unique(chk, [s.name for s in spectra], "spectra")
    return spectra


def _model(chk: _Checker, data: Mapping[str, Any]) -> ModelSettings:
    m = data.get("model", {})
    if not isinstance(m, dict):
        raise chk.fail("model", None, None, "expected a table [model]")
    chk.keys(m, _MODEL, "model", None)
    enabled = m.get("enabled", True)
    if not isinstance(enabled, bool):
        raise chk.fail("model", None, "enabled", f"expected true or false, got {enabled!r}")
    ints = {}
    for key, default in (("n_classes", 8), ("n_cells", 20)):
        v = m.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 2:
            raise chk.fail("model", None, key, f"expected an integer >= 2, got {v!r}")
        ints[key] = v
    _check_options(chk, "model", None, "model_fit", ints, {})
    return ModelSettings(enabled=enabled, options=chk.options(m, "model", None), **ints)


def parse_study(text: str, path: str | Path = "study.toml") -> Study:
    """Validate manifest text; ``path`` names it in errors and anchors relative paths.

    Every entry's options are validated against the options dataclass of the analysis it feeds
    (:mod:`sulfurscope.analysis`): the keys the CLI offers as flags, with the same checks.

    Raises
    ------
    SulfurscopeError
        TOML syntax errors and every validation error, as ``"<file> line N: <table>[i].<key>: ..."``.
    """
    p = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SulfurscopeError(f"{p.name}: not valid TOML: {exc}") from None
    chk = _Checker(p, text)
    title, description = _study_table(chk, data, p)
    samples = _samples(chk, data)
    by_name = {s.name: s for s in samples}
    return Study(
        path=p.resolve() if p.exists() else p,
        title=title,
        description=description,
        samples=tuple(samples),
        cells=tuple(_cells(chk, data, by_name)),
        images=tuple(_images(chk, data, by_name)),
        spectra=tuple(_spectra(chk, data, by_name)),
        model=_model(chk, data),
        data_roots=chk.roots[1:],
        limits=_limits(chk, data),
        truth=_truth(chk, data),
        replicates=replicates_table(chk, data),
    )


def _truth(chk: _Checker, data: Mapping[str, Any]) -> Path | None:
    """``[study] truth``: a JSON file of the numbers a simulated study was made with (the report
    sets them beside what the analyses recovered)."""
    study = data.get("study", {})
    if "truth" not in study:
        return None
    return chk.file(study["truth"], "study", None, "truth")


def load_study(path: str | Path) -> Study:
    """Read and validate ``study.toml`` (see :func:`parse_study`).

    Raises
    ------
    SulfurscopeError
        Missing file, invalid TOML, any validation error (naming line and key).
    """
    p = Path(path)
    if not p.is_file():
        raise SulfurscopeError(f"{p}: no such manifest")
    return parse_study(p.read_text(encoding="utf-8"), p)
