"""``sulfurscope init DIR``: scan a folder of raw files and write a starting ``study.toml``.

Files are classified by extension and (for ambiguous text files) by their first bytes: cycler files
through :func:`sulfurscope.io.detect_cycler_format`, images, XPS (.vms/.npl/.spe/.pro), Raman
(.wdf, two-column .txt), EDS (.ASW projects, else .pts), EELS (.dm3/.dm4, .hspy with "eels" in the
path; low-/core-loss pairs by name), TGA (CSV/TXT with temperature and mass). What a person must add
— above all the sulfur mass of every cell — is written as ``TODO`` comments, and left out of the
TOML so that running the manifest unedited fails with a message naming the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sulfurscope.errors import FileFormatError, SulfurscopeError

__all__ = ["ScannedFile", "guess_protocol", "manifest_text", "scan_folder"]

_IMAGE = {".tif", ".tiff", ".jpg", ".jpeg", ".png", ".webp", ".bmp"}
_XPS = {".vms", ".npl", ".spe", ".pro"}
_CYCLER = {".mpr", ".mpt", ".res", ".nda", ".ndax"}
_EELS = {".dm3", ".dm4"}
_EM_IMAGE = {".emd", ".emi", ".ser", ".mrc"}  # electron-microscopy images (a Velox .emd may be EDS)
_SKIP = {".md", ".json", ".mat", ".toml", ".py", ".zip", ".roi", ".xml", ".hdr", ".rpl", ".raw"}
_MACCOR_TOKENS = (b"Rec#", b"Cyc#", b"Test (Sec)", b"TestTime", b"Amp-hr", b"Amps", b"Volts")


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A raw file and what it was recognised as (``kind``: cycler, image, hrtem, xps, raman, eds,
    eels, tga)."""

    path: Path
    kind: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """Plain dict."""
        return {"path": str(self.path), "kind": self.kind, "detail": self.detail}


def _head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


#: Extension → (kind, detail) for formats known by their extension alone.
_BY_EXTENSION = {".wdf": ("raman", "renishaw"), ".asw": ("eds", "jeol project"),
                 ".pts": ("eds", "jeol pts")}


def _classify(path: Path) -> ScannedFile | None:
    ext = path.suffix.lower()
    if ext in _SKIP or path.name.startswith(".") or path.name.endswith("_mask.png"):
        return None
    if ext in _CYCLER or re.fullmatch(r"\.\d{3}", ext):
        from sulfurscope.io import detect_cycler_format

        try:
            return ScannedFile(path, "cycler", detect_cycler_format(path))
        except (FileFormatError, OSError):
            return None
    if ext in _XPS:
        return ScannedFile(path, "xps", ext[1:])
    if ext in _BY_EXTENSION:
        return ScannedFile(path, *_BY_EXTENSION[ext])
    if ext in _EELS:
        return _classify_dm(path, ext)
    if ext in (".hspy", ".hdf5", ".h5"):
        return _classify_hdf5(path)
    if ext in _IMAGE:
        return ScannedFile(path, "hrtem" if "hrtem" in str(path).lower() else "image", ext[1:])
    if ext in _EM_IMAGE:
        return _classify_em(path, ext)
    if ext in (".txt", ".csv", ".dat"):
        return _classify_text(path, ext)
    return None


def _classify_hdf5(path: Path) -> ScannedFile:
    low = str(path).lower()
    signal = _hspy_signal_type(path)
    if signal.startswith("EELS") or (not signal and "eels" in low):
        return ScannedFile(path, "eels", "hspy")
    if signal.startswith("EDS"):
        return ScannedFile(path, "eds", f"hspy {signal}")
    return ScannedFile(path, _em_kind(path), "hspy")


def _em_kind(path: Path) -> str:
    low = str(path).lower()
    return "hrtem" if any(w in low for w in ("hrtem", "stem", "tem")) else "image"


def _classify_dm(path: Path, ext: str) -> ScannedFile:
    """A Gatan file by what it holds (:func:`sulfurscope.io._em.file_signal_kinds`, header only):
    EELS, EDS or an image (a camera or STEM micrograph); EELS when it cannot be read (the EELS
    reader then says why)."""
    from sulfurscope.io._em import file_signal_kinds

    kinds = file_signal_kinds(path, "digitalmicrograph")
    if kinds is None or "eels" in kinds:
        return ScannedFile(path, "eels", ext[1:])
    if "eds" in kinds:
        return ScannedFile(path, "eds", ext[1:])
    return ScannedFile(path, _em_kind(path), ext[1:])


def _classify_em(path: Path, ext: str) -> ScannedFile | None:
    """A Velox/Berkeley ``.emd`` (EDS when it holds an EDS signal, else an image), a TIA ``.emi`` (its
    ``.ser`` data files are read through it) or ``.ser`` without one, or an ``.mrc`` image."""
    from sulfurscope.io._em import file_signal_kinds

    if ext == ".ser" and list(path.parent.glob(f"{path.stem.rsplit('_', 1)[0]}.emi")):
        return None  # read through its .emi
    if ext == ".emd" and "eds" in (file_signal_kinds(path, "emd") or []):
        return ScannedFile(path, "eds", "emd")
    return ScannedFile(path, _em_kind(path), ext[1:])


def _classify_text(path: Path, ext: str) -> ScannedFile | None:
    head = _head(path)
    if sum(tok in head for tok in _MACCOR_TOKENS) >= 3:
        return ScannedFile(path, "cycler", "maccor")
    text = head.decode("latin-1").lower()
    if "temp" in text and ("mass" in text or "weight" in text or "tg" in text):
        return ScannedFile(path, "tga", "csv")
    if re.search(r"\bindex\s+t\s+ts\s+tr\s+value\b", text):
        return ScannedFile(path, "tga", "mettler stare")
    if ext == ".txt" and "raman" in str(path).lower() or re.match(
        r"^\s*-?\d+(\.\d+)?[\s,;]+-?\d", text
    ):
        return ScannedFile(path, "raman", "two-column text")
    return None


def _hspy_signal_type(path: Path) -> str:
    """HyperSpy's ``metadata/Signal/signal_type`` of the first experiment ("EELS", "EDS_TEM", ...;
    "" when absent or unreadable), read-only with h5py."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            experiments = f.get("Experiments")
            if experiments is None:
                return ""
            for name in experiments:
                signal = experiments[name].get("metadata/Signal")
                if signal is not None:
                    value = signal.attrs.get("signal_type", "")
                    return value.decode() if isinstance(value, bytes) else str(value)
    except (OSError, KeyError, ValueError):
        return ""
    return ""


def guess_protocol(path: str | os.PathLike[str]) -> str | None:
    """The protocol a cycler file's name suggests ("gitt", "rate", "asymmetric", "cycling"), or None.

    Examples
    --------
    >>> guess_protocol("AC-S_8um_GITT_C10.mpr"), guess_protocol("cell3_rate-test.mpr")
    ('gitt', 'rate')
    >>> guess_protocol("cell3_long_cycling.mpr"), guess_protocol("cell3.mpr") is None
    ('cycling', True)
    """
    stem = Path(path).stem.lower()
    words = set(re.split(r"[^a-z0-9]+", stem))
    if "gitt" in words:
        return "gitt"
    if "asym" in words or "asymmetric" in words:
        return "asymmetric"
    if "rate" in words or "ratetest" in words or "rates" in words:
        return "rate"
    if words & {"long", "cycling", "cycle", "cycles", "life", "retention"}:
        return "cycling"
    return None


def scan_folder(folder: str | os.PathLike[str]) -> list[ScannedFile]:
    """Every recognised raw file under ``folder`` (recursively, sorted), read-only.

    Raises
    ------
    SulfurscopeError
        When ``folder`` is not a directory.
    """
    root = Path(folder)
    if not root.is_dir():
        raise SulfurscopeError(f"{root}: not a folder")
    found = [f for p in sorted(root.rglob("*")) if p.is_file() and (f := _classify(p))]
    projects = {f.path.parent for f in found if f.detail == "jeol project"}
    # a .pts inside a JEOL project folder is read through the project
    return [
        f
        for f in found
        if not (f.detail == "jeol pts" and any(proj in f.path.parents for proj in projects))
    ]


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ident(path: Path, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_") or "entry"
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _eels_pairs(files: Iterable[ScannedFile]) -> list[dict[str, Path]]:
    low, core, other = {}, {}, []
    for f in files:
        n = f.path.stem.lower().replace("-", "_")
        if "low" in n:
            low[re.sub(r"_?low_?loss|_?lowloss|_?low", "", n)] = f.path
        elif "core" in n or "high" in n:
            core[re.sub(r"_?core_?loss|_?coreloss|_?core|_?high_?loss|_?high", "", n)] = f.path
        else:
            other.append(f.path)
    pairs = []
    for key, c in core.items():
        entry = {"core_loss": c}
        if key in low:
            entry["low_loss"] = low.pop(key)
        pairs.append(entry)
    pairs += [{"low_loss": p} for p in low.values()]
    pairs += [{"core_loss": p} for p in other]
    return pairs


def _roots_line(files: list[ScannedFile], manifest_dir: Path) -> list[str]:
    """``data_roots = [...]`` when the scanned files lie outside the manifest's folder (paths there
    are refused unless their folder is declared)."""
    if not files:
        return []
    here = manifest_dir.resolve()
    common = Path(os.path.commonpath([str(f.path.resolve().parent) for f in files]))
    if common.is_relative_to(here):
        return []
    root = Path(os.path.relpath(common, here)).as_posix()
    return [f"data_roots = [{_q(root)}]  # the scanned folder (files outside it are refused)"]


_SIZE = re.compile(r"(?<![0-9.])(\d+(?:[.p]\d+)?)\s*(?:um|µm|micron)", re.IGNORECASE)


def _size_token(path: Path) -> tuple[str, float] | None:
    """The sample a file name points at: (the name up to its particle-size token, the size in um),
    e.g. ``AC-S_8um_rate_1.mpt`` → ("AC-S_8um", 8.0); None without a size token."""
    m = _SIZE.search(path.stem)
    if m is None:
        return None
    return path.stem[: m.end()].strip("_- ") or m.group(0), float(m.group(1).replace("p", "."))


def guess_samples(files: Iterable[ScannedFile]) -> dict[str, float]:
    """Sample names and particle sizes guessed from the files' names (empty when no name has a size
    token such as ``8um``): one ``[[samples]]`` entry each, every file assigned to its own."""
    out: dict[str, float] = {}
    for f in files:
        token = _size_token(f.path)
        if token is not None:
            out.setdefault(*token)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _sample_lines(name: str, size_um: float | None, tga: str | None) -> list[str]:
    guessed = size_um is not None
    return [
        "[[samples]]",
        f"name = {_q(name)}" + ("  # guessed from the file names" if guessed else ""),
        'carbon = ""               # TODO: e.g. "activated carbon"',
        (f'particle_size = "{size_um:g} um"' if guessed else
         'particle_size = ""        # TODO: label, e.g. "8 um"'),
        (f"particle_size_um = {size_um:g}  # mean diameter in um (used by the model): check it"
         if guessed else "# particle_size_um = 8.0  # TODO: mean diameter in um (used by the model)"),
        (f"tga = {tga}  # found by name: check it" if tga else
         '# sulfur_fraction = 0.49  # TODO: S mass fraction 0-1, or tga = "path/to/tga.csv"'),
        "# loading_mg_cm2 = ...     # TODO: areal sulfur loading of this sample's electrodes, applied",
        "#                          to each of its cells (a cell's own sulfur mass overrides it)",
        "# area_cm2 = 1.32          # electrode area with loading_mg_cm2 (13 mm disc)",
        "",
    ]


_MASS_TODO = [
    "# TODO REQUIRED unless the sample has loading_mg_cm2: the sulfur mass — one of",
    "# sulfur_mass_mg = ...",
    "# loading_mg_cm2 = ...  (with area_cm2 = 1.32)",
    "# composite_mass_mg = ...  (with the sample's sulfur_fraction or tga)",
    "",
]
_SAMPLE_TODO = 'sample = "sample_1"       # TODO: which sample'


class _Entries:
    """Writes the manifest's entries: paths relative to the manifest, unique names."""

    def __init__(self, manifest_dir: Path, samples: Iterable[str] = ()) -> None:
        self.dir = manifest_dir.resolve()
        self.used: set[str] = set()
        self.samples = set(samples)

    def sample(self, p: Path) -> str:
        token = _size_token(p)
        if token is not None and token[0] in self.samples:
            return f"sample = {_q(token[0])}"
        return _SAMPLE_TODO if not self.samples else _SAMPLE_TODO.replace("sample_1", sorted(self.samples)[0])

    def rel(self, p: Path) -> str:
        return _q(Path(os.path.relpath(p.resolve(), self.dir)).as_posix())

    def name(self, p: Path) -> str:
        return f"name = {_q(_ident(p, self.used))}"

    def cell(self, f: ScannedFile) -> list[str]:
        guess = guess_protocol(f.path)
        protocol = (f'protocol = "{guess}"  # guessed from the file name; check: rate | cycling | '
                    "gitt | asymmetric" if guess else
                    'protocol = "cycling"      # TODO: rate | cycling | gitt | asymmetric')
        return ["[[cells]]", self.name(f.path), self.sample(f.path),
                f"files = [{self.rel(f.path)}]  # {f.detail}", protocol, *_MASS_TODO]

    def image(self, f: ScannedFile) -> list[str]:
        kind = "hrtem" if f.kind == "hrtem" else "sem"
        return ["[[images]]", self.name(f.path), self.sample(f.path),
                f'kind = "{kind}"            # TODO: sem (particle sizes) or hrtem (lattice fringes)',
                f"file = {self.rel(f.path)}", "# pixel_size_nm = ...     # TODO if the file has no "
                "calibration", ""]

    def spectrum(self, f: ScannedFile) -> list[str]:
        role = "project" if f.kind == "eds" else "file"
        return ["[[spectra]]", self.name(f.path), self.sample(f.path), f'kind = "{f.kind}"',
                f"files = {{ {role} = {self.rel(f.path)} }}",
                "# options = { }           # TODO: analysis options", ""]

    def eels(self, pair: dict[str, Path]) -> list[str]:
        roles = ", ".join(f"{r} = {self.rel(p)}" for r, p in pair.items())
        note = "" if len(pair) == 2 else "  # TODO: add the low_loss/core_loss partner if any"
        first = next(iter(pair.values()))
        return ["[[spectra]]", self.name(first), self.sample(first),
                'kind = "eels"', f"files = {{ {roles} }}" + note, ""]


def manifest_text(files: list[ScannedFile], manifest_dir: Path, *, title: str = "My study") -> str:
    """A starting ``study.toml`` for the scanned files (paths relative to ``manifest_dir``)."""
    samples = guess_samples(files)
    w = _Entries(manifest_dir, samples)
    tga = [f for f in files if f.kind == "tga"]
    tga_of = {s: [f for f in tga if (_size_token(f.path) or ("",))[0] == s] for s in samples}
    lines = [
        "# study.toml written by `sulfurscope init` — edit every TODO, then run",
        "#   sulfurscope run study.toml --out results",
        "# Paths are relative to this file. Unknown keys are errors.",
        "",
        "[study]",
        f"title = {_q(title)}",
        'description = ""  # TODO: what the study is',
        *_roots_line(files, manifest_dir),
        "",
        "# One [[samples]] entry per material; entries below refer to samples by name.",
    ]
    for name, size in samples.items() or [("sample_1", None)]:
        mine = tga_of.get(name, [])
        lines += _sample_lines(name, size, w.rel(mine[0].path) if len(mine) == 1 else None)
    unmatched = [f for f in tga if f not in [g for v in tga_of.values() if len(v) == 1 for g in v]]
    lines += [f"# TGA file found: {w.rel(f.path)} — use it as tga = ... of its sample"
              for f in unmatched]
    lines += [""] if unmatched else []
    for f in files:
        if f.kind == "cycler":
            lines += w.cell(f)
    for f in files:
        if f.kind in ("image", "hrtem"):
            lines += w.image(f)
    for f in files:
        if f.kind in ("xps", "raman", "eds"):
            lines += w.spectrum(f)
    for pair in _eels_pairs(f for f in files if f.kind == "eels"):
        lines += w.eels(pair)
    lines += ["[model]", "enabled = true            # fit the particle-size model (needs particle "
              "sizes and rate tests)", ""]
    return "\n".join(lines)
