"""Tasks from a manifest: one per cell, image, TGA file or spectrum, with its validated options.

A task's options are the analysis's options dataclass filled from the manifest entry (its fields such
as ``sulfur_mass_mg`` or ``pixel_size_nm`` and its ``options`` table) — the same dataclass the CLI
makes its flags from, so a key means the same thing in both and is validated the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sulfurscope.study.manifest import Study, cell_options, image_options
from sulfurscope.study.registry import Analysis, Task

__all__ = ["build_tasks"]


def _clean(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    def plain(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return tuple(sorted((k, plain(v)) for k, v in options.items() if v is not None))


def _validated(analysis: Analysis, options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Options of a built-in analysis validated into its dataclass; a plug-in's as given."""
    from sulfurscope.analysis import ANALYSES, options_class

    name = analysis.name
    if name not in ANALYSES or analysis.run is None or not _is_builtin(analysis):
        return _clean(options)
    return _clean(options_class(name).from_mapping(options).to_dict())


def _is_builtin(analysis: Analysis) -> bool:
    run = analysis.run
    return getattr(getattr(run, "func", None), "__name__", "") == "builtin_run"


def _cell_tasks(study: Study, analysis: Analysis, protocols: Sequence[str]) -> list[Task]:
    samples = {s.name: s for s in study.samples}
    tasks = []
    for cell in study.cells:
        if cell.protocol not in protocols:
            continue
        sample = samples[cell.sample]
        # one task per cell: several files of a cell are one run continued (joined in order)
        files = [("file" if k == 0 else f"file_{k + 1}", str(p)) for k, p in enumerate(cell.files)]
        if cell.composite_mass_mg is not None and sample.tga is not None:
            files.append(("tga", str(sample.tga)))
        opts = _validated(analysis, cell_options(cell, sample))
        tasks.append(Task(analysis.name, cell.name, cell.sample, tuple(files), opts))
    return tasks


def build_tasks(study: Study, analysis: Analysis) -> list[Task]:
    """The tasks of one analysis for a study (empty for study-level steps)."""
    kind = analysis.kind
    if kind == "study" or not analysis.per_task:
        return []
    if kind == "cycling":
        return _cell_tasks(study, analysis, ("rate", "cycling", "asymmetric"))
    if kind == "gitt":
        return _cell_tasks(study, analysis, ("gitt",))
    if kind in ("sem", "hrtem"):
        return [
            Task(
                analysis.name,
                img.name,
                img.sample,
                (("file", str(img.file)),),
                _validated(analysis, image_options(img)),
            )
            for img in study.images
            if img.kind == kind
        ]
    if kind == "tga":
        return [
            Task(analysis.name, s.name, s.name, (("file", str(s.tga)),), _validated(analysis, {}))
            for s in study.samples
            if s.tga is not None
        ]
    return [
        Task(
            analysis.name,
            sp.name,
            sp.sample,
            tuple((role, str(p)) for role, p in sp.files.items()),
            _validated(analysis, dict(sp.options)),
        )
        for sp in study.spectra
        if sp.kind == kind
    ]
