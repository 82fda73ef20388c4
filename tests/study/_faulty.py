"""A study-pipeline plug-in that misbehaves on purpose (fault injection): its input file says how.

``ok`` → one table row; ``hang`` → sleeps for ever; ``crash`` → a segmentation fault; ``memory`` →
allocates without bound; ``oserror`` → an ordinary foreign exception. Importable by Dask workers.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd

KIND = "faulty"


def run_faulty(files: dict[str, Path], options: dict) -> dict[str, pd.DataFrame]:
    how = Path(files["file"]).read_text().strip()
    if how == "hang":
        while True:
            time.sleep(0.05)
    if how == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if how == "memory":
        hog = []
        while True:
            hog.append(bytearray(64 * 1024 * 1024))  # pages written: resident, not just reserved
    if how == "oserror":
        raise OSError("simulated I/O error")
    return {"faulty_rows": pd.DataFrame({"How": [how], "Value [1]": [1.0]})}


def register() -> None:
    from sulfurscope.study.registry import register_analysis

    register_analysis(
        name="faulty", kind=KIND, run=run_faulty, report=lambda tables, figdir: [],
        tables=("faulty_rows",), figure="fault injection", replace=True,
    )


def unregister() -> None:
    from sulfurscope.study.registry import unregister_analysis

    unregister_analysis("faulty")


def add_spectra(folder: Path, manifest: Path, hows: list[str], sample: str = "small") -> None:
    """One ``[[spectra]]`` entry of kind ``faulty`` per ``how`` (its file holds the word)."""
    raw = folder / "raw"
    text = manifest.read_text()
    for how in hows:
        (raw / f"{how}.txt").write_text(how)
        text += (
            f'\n[[spectra]]\nname = "faulty_{how}"\nsample = "{sample}"\nkind = "{KIND}"\n'
            f'file = "raw/{how}.txt"\n'
        )
    manifest.write_text(text)
