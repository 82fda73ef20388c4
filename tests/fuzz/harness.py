"""Fuzzing the readers with mutants of the real files (and of generated ones).

A *mutant* is a real file changed by one seeded mutation (truncated, bytes flipped or zeroed, numbers
replaced by NaN/inf/1e12 or text, lines shuffled or dropped, emptied, random bytes under the vendor's
extension, the right bytes under a wrong extension). Each mutant is read by its reader in a worker
process that is killed on a timeout and limited in memory; the outcome is one of

``ok``        read, and the data are valid (finite, monotonic where the format promises it)
``refused``   a sulfurscope error whose message names the file
``garbage``   read, but the data are not valid (NaN kept, axis not monotonic, ...)
``unnamed``   a sulfurscope error that does not name the file
``escaped``   a foreign exception (ValueError, KeyError, ...) left the reader
``hang``      the read took longer than the timeout
``memory``    the read needed more than the memory limit (MemoryError in the worker)
``crash``     the worker died (segmentation fault, abort)

Only ``ok`` and ``refused`` are acceptable. Mutants are described by (file, mutation, seed) and are
re-made from the real file, so a failing case is stored as its generator, never as a copy.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CASES", "MUTATIONS", "Case", "Result", "corpus", "make_mutant", "run_cases"]

#: How a refusal for a limit reads (sulfurscope.io._guard): counted apart in the report.
LIMIT_TEXT = {
    "timeout": "did not finish in time",
    "memory": "needed more memory",
    "crash": "library crashed",
}
OUTCOMES = ("ok", "refused", "garbage", "unnamed", "escaped", "hang", "memory", "crash")
ACCEPTABLE = ("ok", "refused")

# --------------------------------------------------------------------------- the corpus

_READER_OF_FOLDER = {
    "echem": "cycler",
    "xps": "xps",
    "raman": "raman",
    "eds_jeol": "eds",
    "eds": "eds",
    "eels": "eels",
    "hrtem": "image",
    "images": "image",
}
_SKIP = {".md", ".sh", ".mat", ".ser"}


def corpus(realdata: Path, generated: Path) -> list[tuple[str, Path]]:
    """(reader, file) for every real file and a few generated ones (TGA exports, ROI sets)."""
    out = []
    for p in sorted(realdata.rglob("*")):
        if not p.is_file() or p.suffix.lower() in _SKIP:
            continue
        if p.name.endswith(("_mask.png", "_mask.tif")):
            out.append(("image", p))
            continue
        parts = set(p.relative_to(realdata).parts[:-1])
        reader = next((r for f, r in _READER_OF_FOLDER.items() if f in parts), None)
        if reader is not None and not (reader == "eds" and p.suffix.lower() not in (".asw", ".pts", ".emd", ".dm3", ".map", ".img")):
            out.append((reader, p))
    out += [("tga", p) for p in sorted(generated.glob("*tga*"))]
    return out


def write_generated(folder: Path) -> None:
    """TGA exports in the layouts the TGA reader takes (there are no public real ones)."""
    from sulfurscope.simulate.tga import tga_curve, write_netzsch_tga

    folder.mkdir(parents=True, exist_ok=True)
    t, m = tga_curve(0.49, rng=np.random.default_rng(0))
    write_netzsch_tga(t, m, folder / "netzsch_tga.txt")
    lines = ["Temperature [°C],Mass [%]"] + [f"{a:.3f},{b:.5f}" for a, b in zip(t, m, strict=True)]
    (folder / "plain_tga.csv").write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------ the readers

def _misbehave(how: str) -> Callable[[Path], object]:
    """Readers that misbehave on purpose (the harness's own tests)."""

    def read(path: Path) -> object:
        if how == "_raise":
            raise KeyError("not a sulfurscope error")
        if how == "_hang":
            while True:
                time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGSEGV)
        return None

    return read


def _fake_xps() -> object:
    """An XPS result whose binding-energy axis is not ascending (validate must object)."""
    from types import SimpleNamespace

    spectrum = SimpleNamespace(region="S 2p", binding_energy_ev=np.array([1.0, 3.0, 2.0]),
                               intensity=np.ones(3))
    return SimpleNamespace(spectra=[spectrum])


def _reader(name: str) -> Callable[[Path], object]:
    from sulfurscope import io

    if name.startswith("_"):
        return _misbehave(name)
    if name == "cycler":
        return io.read_cycler
    if name == "xps":
        return io.read_xps
    if name == "raman":
        return io.read_raman
    if name == "eds":
        return lambda p: io.read_eds(p, downsample=4)
    if name == "eels":
        return io.read_eels
    if name == "image":
        from sulfurscope.io.images import read_image

        return read_image
    if name == "tga":
        from sulfurscope.io.tga import read_tga

        return read_tga
    raise KeyError(name)


def _monotonic(a: np.ndarray) -> bool:
    d = np.diff(np.asarray(a, dtype=float))
    return bool(np.all(d > 0) or np.all(d < 0))


def validate(name: str, data: object) -> str:
    """'' when the data a reader returned are valid, else what is wrong."""
    if name == "cycler":
        f = data.frame  # type: ignore[attr-defined]
        for c in ("Time [s]", "Voltage [V]", "Current [mA]", "Charge [mAh]"):
            if not np.isfinite(f[c].to_numpy(float)).all():
                return f"non-finite {c}"
        if (np.diff(f["Time [s]"].to_numpy(float)) < 0).any():
            return "time runs backwards"
        if f["Step"].isna().any() or (f["Step"].to_numpy() < 0).any():
            return "NaN or negative step"
        return "" if len(f) else "no rows"
    if name == "xps":
        for s in data.spectra:  # type: ignore[attr-defined]
            if not (np.isfinite(s.binding_energy_ev).all() and np.isfinite(s.intensity).all()):
                return f"non-finite values in region {s.region}"
            if len(s.binding_energy_ev) > 1 and not np.all(np.diff(s.binding_energy_ev) > 0):
                return f"binding-energy axis of {s.region} not strictly ascending"
        return ""
    if name == "raman":
        x, y = data.shift_cm1, data.intensity  # type: ignore[attr-defined]
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            return "non-finite values"
        return "" if _monotonic(x) else "Raman-shift axis not monotonic"
    if name == "eds":
        si = data.spectrum_image  # type: ignore[attr-defined]
        if si is None:
            return ""
        counts = si.counts if hasattr(si, "counts") else None
        if counts is not None and not np.all(np.isfinite(np.asarray(counts, dtype=float))):
            return "non-finite counts"
        return ""
    if name == "eels":
        c, e = data.counts, data.energy_ev  # type: ignore[attr-defined]
        if not (np.isfinite(c).all() and np.isfinite(e).all()):
            return "non-finite values"
        return "" if _monotonic(e) else "energy axis not monotonic"
    if name == "image":
        img = data.image  # type: ignore[attr-defined]
        return "" if np.isfinite(img).all() and img.size else "non-finite or empty image"
    if name == "tga":
        f = data.frame  # type: ignore[attr-defined]
        ok = np.isfinite(f["Temperature [°C]"].to_numpy(float)).all()
        ok &= np.isfinite(f["Mass [%]"].to_numpy(float)).all()
        return "" if ok and len(f) else "non-finite or empty curve"
    return ""


# ------------------------------------------------------------------------- mutations

_NUMBER = re.compile(rb"(?<![A-Za-z_])[-+]?\d+\.\d+(?:[eE][-+]?\d+)?")


def _truncate(b: bytes, r: random.Random) -> bytes:
    return b[: r.randrange(0, max(1, len(b)))]


def _flip(b: bytes, r: random.Random) -> bytes:
    a = bytearray(b)
    for _ in range(r.choice((1, 2, 8, 64))):
        if a:
            a[r.randrange(len(a))] = r.randrange(256)
    return bytes(a)


def _zero_block(b: bytes, r: random.Random) -> bytes:
    if not b:
        return b
    a = bytearray(b)
    start = r.randrange(len(a))
    n = r.choice((4, 64, 1024, 16384))
    a[start : start + n] = bytes(min(n, len(a) - start))
    return bytes(a)


def _numbers(b: bytes, r: random.Random, token: bytes) -> bytes:
    hits = list(_NUMBER.finditer(b))
    if not hits:
        return _flip(b, r)
    out, last = [], 0
    chosen = sorted(r.sample(hits, min(len(hits), r.choice((1, 3, 20)))), key=lambda m: m.start())
    for m in chosen:
        out += [b[last : m.start()], token]
        last = m.end()
    out.append(b[last:])
    return b"".join(out)


def _lines(b: bytes, r: random.Random, how: str) -> bytes:
    lines = b.split(b"\n")
    if len(lines) < 3:
        return _flip(b, r)
    if how == "shuffle":
        k = r.randrange(1, len(lines) - 1)
        j = min(len(lines), k + r.choice((2, 5, 50)))
        seg = lines[k:j]
        r.shuffle(seg)
        lines[k:j] = seg
    else:
        for _ in range(r.choice((1, 5, 50))):
            if len(lines) > 2:
                del lines[r.randrange(1, len(lines))]
    return b"\n".join(lines)


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncate": _truncate,
    "flip": _flip,
    "zero_block": _zero_block,
    "nan": lambda b, r: _numbers(b, r, b"NaN"),
    "inf": lambda b, r: _numbers(b, r, r.choice((b"inf", b"-inf"))),
    "huge": lambda b, r: _numbers(b, r, r.choice((b"1e12", b"-1e12", b"1e308"))),
    "text": lambda b, r: _numbers(b, r, r.choice((b"abc", b"1.2.3", b"", b"--"))),
    "shuffle_lines": lambda b, r: _lines(b, r, "shuffle"),
    "drop_lines": lambda b, r: _lines(b, r, "drop"),
    "empty": lambda b, r: b"",
    "random": lambda b, r: r.randbytes(r.choice((1, 16, 512, 8192))),
}
#: Extensions a file may be renamed to (the wrong-extension mutation).
WRONG_SUFFIX = {
    "cycler": (".mpr", ".mpt", ".res", ".nda", ".ndax", ".txt"),
    "xps": (".vms", ".npl", ".spe", ".pro", ".xy", ".txt"),
    "raman": (".wdf", ".txt"),
    "eds": (".pts", ".msa", ".emd", ".dm3", ".hspy"),
    "eels": (".dm3", ".dm4", ".hspy", ".msa"),
    "image": (".tif", ".png", ".jpg", ".dm3", ".emd", ".hspy", ".emi"),
    "tga": (".txt", ".csv"),
}


@dataclass(frozen=True, slots=True)
class Case:
    """One mutant: the reader, the source file, the mutation and its seed (re-made on demand)."""

    reader: str
    source: Path
    mutation: str
    seed: int

    def label(self) -> str:
        return f"{self.reader}:{self.source.name}:{self.mutation}:{self.seed}"


CASES_FILE = Path(__file__).with_name("regressions.txt")
CASES: list[str] = []  # filled from regressions.txt (failing cases found and fixed)


def make_mutant(case: Case, folder: Path) -> Path:
    """Write the mutant of ``case`` into ``folder`` (a JEOL project is copied as a folder)."""
    r = random.Random(f"{case.source.name}:{case.mutation}:{case.seed}")
    suffix = case.source.suffix
    if case.mutation == "wrong_suffix":
        data = case.source.read_bytes()
        suffix = r.choice([s for s in WRONG_SUFFIX[case.reader] if s != suffix.lower()])
    else:
        data = MUTATIONS[case.mutation](case.source.read_bytes(), r)
    digest = hashlib.sha1(case.label().encode()).hexdigest()[:10]
    target = folder / f"m{digest}_{case.source.stem}{suffix}"
    target.write_bytes(data)
    return target


def all_cases(files: list[tuple[str, Path]], per_file: int, seed: int) -> list[Case]:
    """``per_file`` mutants of every file, mutations drawn in turn with a fixed seed."""
    r = random.Random(seed)
    names = [*MUTATIONS, "wrong_suffix"]
    cases = []
    for reader, path in files:
        for k in range(per_file):
            cases.append(Case(reader, path, names[(k + r.randrange(len(names))) % len(names)],
                              r.randrange(1 << 30)))
    return cases


# ------------------------------------------------------------------------- running


@dataclass(frozen=True, slots=True)
class Result:
    case: Case
    outcome: str
    detail: str
    seconds: float
    peak_rss_mb: float


def _children_peak_mb() -> float:
    """Largest peak resident memory of any child process this worker has waited for (the readers'
    isolated children), MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _classify(case: Case, path: Path) -> tuple[str, str]:
    from sulfurscope.errors import SulfurscopeError

    try:
        data = _reader(case.reader)(path)
    except SulfurscopeError as exc:
        return ("refused", str(exc)) if path.name in str(exc) else ("unnamed", str(exc))
    except MemoryError:
        return "memory", "MemoryError"
    except Exception as exc:  # noqa: BLE001 - the point of the harness
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return "escaped", f"{type(exc).__name__}: {exc} [{Path(tb.filename).name}:{tb.lineno}]"
    try:
        problem = validate(case.reader, data)
    except Exception as exc:  # noqa: BLE001 - the data do not have the promised shape
        problem = f"invalid result: {type(exc).__name__}: {exc}"
    return ("garbage", problem) if problem else ("ok", "")


def _worker(conn, folder: Path, timeout_s: float, memory_mb: float) -> None:  # noqa: ANN001
    import faulthandler
    import warnings

    faulthandler.disable()  # a crash is an outcome here, not a traceback on the terminal
    warnings.simplefilter("ignore")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    limit = int((base + memory_mb) * 1024 * 1024 * 4)  # address space: generous, RSS is checked
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        case = conn.recv()
        if case is None:
            return
        path = make_mutant(case, folder)
        conn.send(("start", case.label()))
        _reset_peak()
        children_before = _children_peak_mb()
        signal.alarm(int(np.ceil(timeout_s)))  # default action: the worker dies, the parent sees it
        t0 = time.perf_counter()
        outcome, detail = _classify(case, path)
        signal.alarm(0)
        seconds = time.perf_counter() - t0
        rss = _rss_mb()
        children = _children_peak_mb()
        if children > children_before:
            rss = max(rss, children)
        if rss > memory_mb and outcome in ACCEPTABLE:
            outcome, detail = "memory", f"peak RSS {rss:.0f} MB"
        try:
            path.unlink()
        except OSError:
            pass
        conn.send(("done", Result(case, outcome, detail[:300], seconds, rss)))


def run_cases(
    cases: list[Case], folder: Path, *, workers: int = 2, timeout_s: float = 30.0,
    memory_mb: float = 2048.0,
) -> Iterator[Result]:
    """Run every case in worker processes (forked), restarting a worker that died or hung."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    todo = list(reversed(cases))
    folder.mkdir(parents=True, exist_ok=True)

    def start():
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(child, folder, timeout_s, memory_mb), daemon=True)
        p.start()
        return [p, parent, None, 0.0]

    slots = [start() for _ in range(max(1, workers))]
    for s in slots:
        if todo:
            s[2] = todo.pop()
            s[1].send(s[2])
            s[3] = time.perf_counter()
    while any(s[2] is not None for s in slots):
        for s in slots:
            p, conn, case, t0 = s
            if case is None:
                continue
            if conn.poll(0.05):
                try:
                    kind, payload = conn.recv()
                except EOFError:
                    kind, payload = "died", None
                if kind == "start":
                    s[3] = time.perf_counter()
                    continue
                if kind == "done":
                    yield payload
                    s[2] = todo.pop() if todo else None
                    if s[2] is not None:
                        conn.send(s[2])
                        s[3] = time.perf_counter()
                    continue
            dead = not p.is_alive()
            late = time.perf_counter() - t0 > timeout_s + 5
            if dead or late:
                if p.is_alive():
                    p.kill()
                p.join()
                code = p.exitcode
                outcome = "hang" if late or code == -signal.SIGALRM else "crash"
                yield Result(case, outcome, f"worker exit code {code}", time.perf_counter() - t0,
                             float("nan"))
                new = start()
                s[0], s[1] = new[0], new[1]
                s[2] = todo.pop() if todo else None
                if s[2] is not None:
                    s[1].send(s[2])
                    s[3] = time.perf_counter()
    for s in slots:
        try:
            s[1].send(None)
        except (OSError, BrokenPipeError):
            pass
        s[0].join(timeout=5)
        if s[0].is_alive():
            s[0].kill()


def main() -> None:  # pragma: no cover - the extended run: python -m tests.fuzz.harness N
    import argparse
    import collections
    import json
    import tempfile

    ap = argparse.ArgumentParser()
    ap.add_argument("cases", type=int)
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--report", type=Path, default=Path("fuzz_report.json"))
    args = ap.parse_args()
    from tests.conftest import REALDATA

    tmp = Path(tempfile.mkdtemp(prefix="ssfuzz"))
    write_generated(tmp / "generated")
    files = corpus(REALDATA, tmp / "generated")
    per_file = max(1, int(np.ceil(args.cases / len(files))))
    cases = all_cases(files, per_file, args.seed)[: args.cases]
    counts: collections.Counter[str] = collections.Counter()
    bad, peak, t0 = [], 0.0, time.perf_counter()
    limited: collections.Counter[str] = collections.Counter()
    limited_cases: list[dict[str, str]] = []
    for k, res in enumerate(run_cases(cases, tmp / "mutants", workers=args.workers), 1):
        counts[res.outcome] += 1
        peak = max(peak, res.peak_rss_mb if np.isfinite(res.peak_rss_mb) else 0.0)
        if res.outcome not in ACCEPTABLE:
            bad.append({"case": res.case.label(), "outcome": res.outcome, "detail": res.detail})
            print(f"FAIL {res.outcome} {res.case.label()} {res.detail[:200]}", flush=True)
        for why, text in LIMIT_TEXT.items():
            if res.outcome == "refused" and text in res.detail:
                limited[why] += 1
                if len(limited_cases) < 500:
                    limited_cases.append({"case": res.case.label(), "why": why})
        if k % 1000 == 0:
            print(f"{k} cases, {dict(counts)}, {time.perf_counter() - t0:.0f} s", flush=True)
    doc = {"cases": len(cases), "files": len(files), "counts": dict(counts), "peak_rss_mb": peak,
           "seconds": time.perf_counter() - t0, "refused_by_limit": dict(limited),
           "limited": limited_cases, "failures": bad[:2000]}
    args.report.write_text(json.dumps(doc, indent=1))
    print(json.dumps({k: v for k, v in doc.items() if k != "failures"}, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main()
