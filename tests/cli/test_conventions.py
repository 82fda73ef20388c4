"""One CLI convention: every command has --help, --out and --json; one concept has one flag name
and one unit everywhere; a unit is in the flag's name; --version works."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from sulfurscope.analysis import ANALYSES, option_flag, options_class
from sulfurscope.cli import app

runner = CliRunner()

#: Names that mean the same thing. At most one of each group may appear across all commands
#: (after singular/plural are made alike): two would be one concept under two names.
SYNONYMS = [
    {"--out", "--output", "--output-dir", "--outdir", "--dest"},
    {"--json", "--as-json", "--json-output"},
    {"--force", "--overwrite", "--replace"},
    {"--workers", "--jobs", "--processes", "--n-jobs"},
    {"--seed", "--random-seed", "--rng-seed"},
    {"--moving-average-point", "--moving-average-bin", "--moving-average", "--smooth-point",
     "--smoothing-window"},
    {"--particle-size-um", "--size-um", "--diameter-um", "--mean-size-um", "--mean-diameter-um"},
    {"--particle-size-sd-um", "--sd-um", "--size-sd-um"},
    {"--sulfur-mass-mg", "--mass-mg", "--s-mass-mg", "--sulphur-mass-mg"},
    {"--pixel-size-nm", "--pixel-nm", "--scale-nm", "--px-size-nm", "--calibration-nm"},
    {"--phase-lattice-angstrom", "--phase"},
    {"--loading-mg-cm2", "--areal-loading-mg-cm2", "--mass-loading-mg-cm2"},
]

#: Unit tokens a flag name may end with, and the units of the options specs they stand for.
UNIT_TOKENS = {
    "mg": "mg", "mg/cm²": "mg-cm2", "cm²": "cm2", "mAh/g": "mah-g", "%/cycle": "pct", "%": "pct",
    "V": "v", "nm": "nm", "px": "px", "px²": "px", "eV": "ev", "keV": "kev", "cm⁻¹": "cm1",
    "°C": "c", "µm": "um", "m²/s": "m2-s", "Å": "angstrom",
}
_SUFFIXES = sorted(set(UNIT_TOKENS.values()), key=len, reverse=True)


def _commands() -> dict[str, object]:
    out: dict[str, object] = {}

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        else:
            out[" ".join(path)] = cmd

    walk(typer.main.get_command(app), ())
    return out


def _flags(cmd: object) -> set[str]:
    return {o for p in cmd.params if p.param_type_name == "option" for o in p.opts  # type: ignore[attr-defined]
            if o.startswith("--")}


def _singular(flag: str) -> str:
    return "-".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
                    for w in flag.split("-"))


def _stem_unit(flag: str) -> tuple[str, str]:
    for s in _SUFFIXES:
        if flag.endswith("-" + s):
            return flag[: -len(s) - 1], s
    return flag, ""


def test_there_are_commands_to_check() -> None:
    assert {"cycling", "gitt", "particles", "run", "demo", "model fit"} <= set(_commands())


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_help_out_and_json(name: str) -> None:
    cmd = _commands()[name]
    flags = _flags(cmd)
    assert "--out" in flags, f"{name} lacks --out"
    assert "--json" in flags, f"{name} lacks --json"
    out = next(p for p in cmd.params if "--out" in getattr(p, "opts", ()))  # type: ignore[attr-defined]
    assert not out.required, f"{name}: --out is required"
    default = str(out.default)  # one default scheme: sulfurscope-<what>; init writes a manifest
    assert default == "study.toml" if name == "init" else default.startswith("sulfurscope-"), default
    res = runner.invoke(app, [*name.split(), "--help"])
    assert res.exit_code == 0 and "--out" in res.output, res.output


def test_one_concept_one_name() -> None:
    """Across all commands, at most one name of each synonym group is used."""
    used: dict[str, set[str]] = {}
    for name, cmd in _commands().items():
        for f in _flags(cmd):
            used.setdefault(_singular(f), set()).add(name)
    for group in SYNONYMS:
        present = sorted(g for g in group if g in used)
        assert len(present) <= 1, f"one concept under several names: {present} " + str(
            {g: sorted(used[g]) for g in present})


def test_one_quantity_one_unit() -> None:
    """A quantity (a flag name without its unit suffix) carries the same unit in every command."""
    units: dict[str, set[str]] = {}
    for cmd in _commands().values():
        for f in _flags(cmd):
            stem, unit = _stem_unit(_singular(f))
            if unit:
                units.setdefault(stem, set()).add(unit)
    assert {s: u for s, u in units.items() if len(u) > 1} == {}


@pytest.mark.parametrize("analysis", sorted(ANALYSES))
def test_a_unit_is_in_the_flag_name(analysis: str) -> None:
    """Every CLI option with a physical unit names it (``--split-depth-px``, not ``--split-depth``)."""
    for key, (spec, _) in options_class(analysis).specs().items():
        if spec.cli and spec.unit:
            token = UNIT_TOKENS[spec.unit]
            assert re.search(rf"-{re.escape(token)}$", option_flag(key)), (key, spec.unit)


def test_version_and_usage_error_convention() -> None:
    from sulfurscope import __version__

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"sulfurscope {__version__}"
    res = runner.invoke(app, ["cycling", "--no-such-flag"])
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and "╭" not in res.output  # one plain line
