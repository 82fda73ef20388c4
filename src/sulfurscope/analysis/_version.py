"""The version of an analysis's code: a hash of every sulfurscope module it runs.

The study cache keys a task on its inputs' content, its options and this hash, so any change to the
analysis module or to a module it imports (directly or not, at module level or inside a function)
invalidates the cached results of that analysis and of no other. The closure is found statically
from the ``import`` statements of the package's own source files; third-party packages are covered by
the versions the provenance records.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

__all__ = ["code_version", "module_closure"]

_PACKAGE = "sulfurscope"
_ROOT = Path(__file__).resolve().parents[1]  # .../sulfurscope


def _module_file(name: str) -> Path | None:
    if not (name == _PACKAGE or name.startswith(_PACKAGE + ".")):
        return None
    rel = Path(*name.split(".")[1:])
    for candidate in (_ROOT / rel / "__init__.py", (_ROOT / rel).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(_ROOT).with_suffix("")
    parts = [_PACKAGE, *rel.parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def _imports(path: Path) -> frozenset[str]:
    """The modules ``path`` imports (each file parsed once per process: closures share most files)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return frozenset(out)


@cache
def module_closure(module: str) -> tuple[Path, ...]:
    """Source files of ``module`` and of every sulfurscope module it imports, transitively."""
    seen: dict[Path, None] = {}
    todo = [module]
    while todo:
        f = _module_file(todo.pop())
        if f is None or f in seen:
            continue
        seen[f] = None
        # a submodule import also runs its parents' __init__
        name = _module_name(f)
        while "." in name:
            name = name.rpartition(".")[0]
            todo.append(name)
        todo.extend(_imports(f))
    return tuple(sorted(seen))


@cache
def code_version(module: str) -> str:
    """SHA-256 (first 16 hex digits) of the source closure of ``module``."""
    h = hashlib.sha256()
    for f in module_closure(module):
        h.update(str(f.relative_to(_ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]
