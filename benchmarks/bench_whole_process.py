"""Whole-process benchmark: what a user waits for, side by side with the peer tools (issue 19).

Every measurement starts a fresh interpreter, runs one task, and reports two numbers: its wall time
(imports included) and its own peak RSS (``ru_maxrss``). Each case is the best of ``--repeats`` runs,
with sulfurscope and its peer interleaved. The figure of merit is the ratio **peer time / sulfurscope
time**, so ≥ 1 means sulfurscope is at least as fast.

The cases are:

* ``.mpr → cycle summary``: sulfurscope's ``read_cycler`` + ``cycle_summary`` against navani's
  ``echem_file_loader`` + ``cycle_summary``.
* raw ``.mpr`` read: ``read_cycler(settings=False)`` against galvani's ``MPRfile``.
* ``.ndax`` read: ``read_cycler`` against ``NewareNDA.read``, with peak memory.

The peers may live in another interpreter, because navani pins numpy < 2. Pass it with
``--peer-python`` (default: this one).

Run::

    python -m venv /tmp/peers && /tmp/peers/bin/pip install navani NewareNDA datalab-org-galvani
    SULFURSCOPE_REALDATA=../shared/data python benchmarks/bench_whole_process.py --peer-python /tmp/peers/bin/python
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

_TAIL = (
    "\nimport resource, sys, time\n"
    "sys.stderr.write(f'@@ {time.perf_counter() - __t0:.6f} "
    "{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n"
)


def _run(python: str, code: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one fresh interpreter running ``code``."""
    src = "import time as __time; __t0 = __time.perf_counter()\n" + code + _TAIL
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([python, "-c", src], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    line = [x for x in out.stderr.splitlines() if x.startswith("@@ ")][-1]
    _, t, rss = line.split()
    return float(t), float(rss) / 1024.0


CASES = {
    "mpr → cycle summary": (
        "from sulfurscope.io import read_cycler\n"
        "from sulfurscope.cycling import cycle_summary\n"
        "cycle_summary(read_cycler({f!r}).frame, sulfur_mass_mg=1.0)",
        "import navani.echem as ec\nec.cycle_summary(ec.echem_file_loader({f!r}))",
        "navani",
        "echem/*.mpr",
    ),
    "raw mpr read": (
        "from sulfurscope.io import read_cycler\nread_cycler({f!r}, settings=False)",
        "from galvani import BioLogic\nBioLogic.MPRfile(open({f!r}, 'rb'))",
        "galvani",
        "echem/*.mpr",
    ),
    "ndax read": (
        "from sulfurscope.io import read_cycler\nread_cycler({f!r})",
        "import NewareNDA\nNewareNDA.read({f!r})",
        "NewareNDA",
        "echem/*.ndax",
    ),
}


def _best(python: str, code: str, repeats: int) -> tuple[float, float]:
    runs = [_run(python, code) for _ in range(repeats)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default=os.environ.get("SULFURSCOPE_REALDATA", "../shared/data"))
    ap.add_argument("--peer-python", default=sys.executable)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--files", type=int, default=4, help="files per case (largest first)")
    args = ap.parse_args()
    print(f"{'case':22s} {'file':44s} {'ours s':>7s} {'peer s':>7s} {'peer/ours':>9s} "
          f"{'ours MiB':>9s} {'peer MiB':>9s}")
    for case, (ours, peer, peer_name, pattern) in CASES.items():
        files = sorted(Path(args.data).glob(pattern), key=lambda p: -p.stat().st_size)[: args.files]
        ratios = []
        for f in files:
            try:
                t_o, m_o = _best(sys.executable, ours.format(f=str(f)), args.repeats)
            except RuntimeError as exc:
                print(f"{case:22s} {f.name[:44]:44s} ours failed: {exc}")
                continue
            try:
                t_p, m_p = _best(args.peer_python, peer.format(f=str(f)), args.repeats)
            except RuntimeError as exc:
                print(f"{case:22s} {f.name[:44]:44s} {t_o:7.3f} {peer_name} failed: {str(exc)[:60]}")
                continue
            ratios.append(t_p / t_o)
            print(f"{case:22s} {f.name[:44]:44s} {t_o:7.3f} {t_p:7.3f} {t_p / t_o:9.2f} "
                  f"{m_o:9.0f} {m_p:9.0f}")
        if ratios:
            print(f"{case:22s} {'(' + peer_name + ')':44s} peer/ours median {sorted(ratios)[len(ratios) // 2]:.2f}")


if __name__ == "__main__":
    main()
