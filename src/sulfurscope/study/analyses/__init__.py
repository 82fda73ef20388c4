"""Every analysis plug-in of the study pipeline; importing this package registers them.

One module per analysis, each ending with one :func:`~sulfurscope.study.registry.register_analysis`
call. The list below is explicit (no discovery, no guard): add a module here when it lands.
"""

from sulfurscope.study.analyses import (
    cycling,
    eds,
    eels,
    gitt,
    lattice,
    model,
    particles,
    raman,
    tga,
    xps,
)

__all__ = [
    "cycling",
    "eds",
    "eels",
    "gitt",
    "lattice",
    "model",
    "particles",
    "raman",
    "tga",
    "xps",
]
