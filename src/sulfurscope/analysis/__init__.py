"""The analysis layer: one public function per analysis, the one implementation the CLI and the study
pipeline both call.

Every analysis takes parsed data and one frozen options dataclass and returns an
:class:`AnalysisResult` (its tables, its flags, its provenance). Its options dataclass is the single
definition of its settings: the CLI makes its flags from it and the manifest validates its keys against
it. ``run_files(name, files, options)`` reads the input files with :mod:`sulfurscope.io` and calls the
analysis — the whole of what a CLI command or a pipeline task does before writing tables and drawing
figures.

=================  ===================================  ==========================  ================
analysis           function                             inputs (file roles)         reference study
=================  ===================================  ==========================  ================
cycling            :func:`.cycling.analyse_cycling`     file, file_2…, tga          Fig 1d–f
gitt               :func:`.gitt.analyse_gitt`           file, file_2…, tga          Fig 2, S4
gitt_scaling       :func:`.gitt.analyse_gitt_scaling`   gitt_steps of several cells Fig 2
particles          :func:`.particles.analyse_particles` file, rois, truth_mask      Fig 1a–c, S8
lattice            :func:`.lattice.analyse_lattice`     file                        Fig 4a, S6
xps                :func:`.xps.analyse_xps_file`        file                        Fig 4b–f, S1–S6
raman              :func:`.raman.analyse_raman`         file                        Fig S1
tga                :func:`.tga.analyse_tga`             file                        Methods
eds                :func:`.eds.analyse_eds`             file (or project)           Fig 3c/d
eels               :func:`.eels.analyse_eels`           low_loss, core_loss, refs   Fig 3e–g
model_predict      :func:`.model.analyse_model_predict` reference rate table        Fig 5b–e
model_formation    :func:`.model.analyse_model_formation`  (none)                   Fig 5, model B
model_fit          :func:`.model.analyse_model_fit`     store tables                Fig 5
replicates         :func:`.replicates.analyse_replicates`  store tables, cells      Fig 1e/f, 2, 5
=================  ===================================  ==========================  ================
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sulfurscope.analysis._options import OptionError, Options, OptionSpec, option_flag
from sulfurscope.analysis._result import (
    FLAG_COLUMNS,
    AnalysisResult,
    Flag,
    Provenance,
    Source,
    flags_frame,
    source,
)

__all__ = [
    "ANALYSES",
    "FLAG_COLUMNS",
    "AnalysisResult",
    "AnalysisSpec",
    "Flag",
    "OptionError",
    "OptionSpec",
    "Options",
    "Provenance",
    "Source",
    "analysis_spec",
    "flags_frame",
    "option_flag",
    "options_class",
    "preload",
    "run_files",
    "source",
    "tables_of",
]


@dataclass(frozen=True, slots=True)
class AnalysisSpec:
    """What the shells need to know of an analysis.

    Attributes
    ----------
    name : str
    module : str
        Module holding the options class, the analysis function and ``run_files``.
    options : str
        Name of the options class in ``module``.
    tables : str
        Name of the module's tuple of table names.
    roles : tuple of str
        Input file roles it reads (``file`` for most; several files of a cell continue as
        ``file_2``, …).
    title : str
        One line for the report and the CLI help.
    figure : str
        The reference study's figures and tables it reproduces.
    """

    name: str
    module: str
    options: str
    tables: str
    roles: tuple[str, ...]
    title: str
    figure: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "name": self.name,
            "module": self.module,
            "options": self.options,
            "roles": list(self.roles),
            "title": self.title,
            "figure": self.figure,
        }


_M = "sulfurscope.analysis."
ANALYSES: dict[str, AnalysisSpec] = {
    s.name: s
    for s in (
        AnalysisSpec(
            "cycling", _M + "cycling", "CyclingOptions", "TABLES", ("file", "tga"),
            "Cycling: voltage profiles, rate capability, retention", "Figure 1d–f",
        ),
        AnalysisSpec(
            "gitt", _M + "gitt", "GittOptions", "TABLES", ("file", "tga"),
            "GITT: overpotentials and relaxation times", "Figure 2, Figure S4",
        ),
        AnalysisSpec(
            "gitt_scaling", _M + "gitt", "GittScalingOptions", "SCALING_TABLES", (),
            "GITT: τ ∝ L^n across particle sizes", "Figure 2",
        ),
        AnalysisSpec(
            "particles", _M + "particles", "ParticleOptions", "TABLES",
            ("file", "rois", "truth_mask"),
            "Particle sizes from SEM", "Figure 1a–c, Figure S8",
        ),
        AnalysisSpec(
            "lattice", _M + "lattice", "LatticeOptions", "TABLES", ("file",),
            "HRTEM lattice fringes by FFT", "Figure 4a, Figure S6",
        ),
        AnalysisSpec(
            "xps", _M + "xps", "XpsOptions", "TABLES", ("file",),
            "XPS deconvolution and quantification", "Figure 4b–f, Tables S1–S6",
        ),
        AnalysisSpec(
            "raman", _M + "raman", "RamanOptions", "TABLES", ("file",),
            "Raman D/G bands", "Figure S1",
        ),
        AnalysisSpec(
            "tga", _M + "tga", "TgaOptions", "TABLES", ("file",),
            "TGA sulfur content", "Methods (TGA)",
        ),
        AnalysisSpec(
            "eds", _M + "eds", "EdsOptions", "TABLES", ("file", "project"),
            "STEM-EDS maps and profiles from the surface", "Figure 3c/d",
        ),
        AnalysisSpec(
            "eels", _M + "eels", "EelsOptions", "TABLES", ("low_loss", "core_loss"),
            "STEM-EELS line scan from the surface", "Figure 3e–g",
        ),
        AnalysisSpec(
            "replicates", _M + "replicates", "ReplicateOptions", "TABLES", (),
            "Replicate cells: statistics per condition, outliers, mass uncertainty",
            "Figures 1e/f, 2 and 5 (mean ± 95 % CI)",
        ),
        AnalysisSpec(
            "model_predict", _M + "model", "ModelPredictOptions", "PREDICT_TABLES", ("reference",),
            "Model A: rate capability of other sizes", "Figure 5b–e",
        ),
        AnalysisSpec(
            "model_formation", _M + "model", "ModelFormationOptions", "FORMATION_TABLES", (),
            "Model B: first-discharge formation", "Figure 5 (model B)",
        ),
        AnalysisSpec(
            "model_fit", _M + "model", "ModelFitOptions", "FIT_TABLES", (),
            "Particle-size model: fit and predictions", "Figure 5b–e",
        ),
    )
}


def analysis_spec(name: str) -> AnalysisSpec:
    """The spec of analysis ``name``."""
    from sulfurscope.errors import SulfurscopeError

    try:
        return ANALYSES[name]
    except KeyError:
        raise SulfurscopeError(f"no analysis {name!r} (have {sorted(ANALYSES)})") from None


def options_class(name: str) -> type[Options]:
    """The options dataclass of analysis ``name``."""
    spec = analysis_spec(name)
    cls: type[Options] = getattr(importlib.import_module(spec.module), spec.options)
    return cls


def tables_of(name: str) -> tuple[str, ...]:
    """The table names analysis ``name`` can produce."""
    spec = analysis_spec(name)
    return tuple(getattr(importlib.import_module(spec.module), spec.tables))


def _check_roles(spec: AnalysisSpec, files: Mapping[str, Any]) -> None:
    from sulfurscope.errors import SulfurscopeError

    extra = {r for r in files if r.startswith(("file_", "reference_"))}
    unknown = sorted(set(files) - set(spec.roles) - extra)
    if unknown or not any(r in files for r in spec.roles[:_REQUIRED.get(spec.name, 1)]):
        need = " or ".join(spec.roles[: _REQUIRED.get(spec.name, 1)])
        raise SulfurscopeError(
            f"{spec.name} needs files with role {need} (accepted roles: {list(spec.roles)}), "
            f"got {sorted(files)}"
        )


#: How many of an analysis's leading roles can stand for its input (any one of them is enough).
_REQUIRED = {"eds": 2, "eels": 2}


def run_files(
    name: str, files: Mapping[str, str | Path], options: Options | Mapping[str, Any] | None = None
) -> AnalysisResult:
    """Read the input files of analysis ``name`` and run it (what a CLI command or a task does).

    ``options`` may be the options dataclass or a mapping validated into it.
    """
    spec = analysis_spec(name)
    _check_roles(spec, files)
    cls = options_class(name)
    opts = options if isinstance(options, cls) else cls.from_mapping(options or {})  # type: ignore[arg-type]
    module = importlib.import_module(spec.module)
    with _repairs_as_flags() as repairs:
        result = module.run_files({k: Path(v) for k, v in files.items()}, opts)
    if repairs:
        result = replace(result, flags=tuple(dict.fromkeys((*result.flags, *repairs))))
    return result  # type: ignore[no-any-return]


@contextmanager
def _repairs_as_flags() -> Iterator[list[Flag]]:
    """Collect the readers' :class:`~sulfurscope.errors.InputRepairWarning` s as ``input_repaired``
    flags (subject: the file); every other warning passes through unchanged."""
    import warnings

    from sulfurscope.errors import InputRepairWarning

    flags: list[Flag] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputRepairWarning)
        yield flags
    for w in caught:
        if issubclass(w.category, InputRepairWarning):
            text = str(w.message)
            flags.append(Flag("input_repaired", text, "warning", text.split(":", 1)[0]))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


#: The reader kind each analysis reads its files with (see :func:`sulfurscope.io.reader_modules`).
_READS = {
    "cycling": "cycler",
    "gitt": "cycler",
    "particles": "image",
    "lattice": "image",
    "eds": "eds",
    "eels": "eels",
    "raman": "raman",
}


def preload(names: Any) -> None:
    """Import the modules of analyses ``names`` and their reading libraries in this process (the
    pipeline does this once before it forks a child per task)."""
    from sulfurscope.io import preload_readers

    kinds = []
    for name in dict.fromkeys(names):
        if name in ANALYSES:
            importlib.import_module(ANALYSES[name].module)
            if name in _READS:
                kinds.append(_READS[name])
    preload_readers(kinds)
