"""The study pipeline: a manifest (``study.toml``), every registered analysis as tasks on local
processes or a Dask cluster, a results store (Parquet + DuckDB) and one HTML report.

Import the submodules for the API: :mod:`~sulfurscope.study.manifest` (``load_study``),
:mod:`~sulfurscope.study.registry` (``register_analysis``, the plug-in contract),
:mod:`~sulfurscope.study.pipeline` (``run_study``), :mod:`~sulfurscope.study.store` (``query``),
:mod:`~sulfurscope.study.scan` (``sulfurscope init``).
"""

from sulfurscope.study.manifest import Study, load_study, parse_study
from sulfurscope.study.pipeline import RunResult, run_study
from sulfurscope.study.registry import AnalysisContext, Task, register_analysis
from sulfurscope.study.store import query, read_tables

__all__ = [
    "AnalysisContext",
    "RunResult",
    "Study",
    "Task",
    "load_study",
    "parse_study",
    "query",
    "read_tables",
    "register_analysis",
    "run_study",
]
