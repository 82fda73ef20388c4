"""Every command, every numeric option, invalid values: one line on stderr naming the flag, exit 2,
within seconds (each invocation runs in a child with a time limit, so a hang fails the test instead
of hanging it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sulfurscope._isolate import call_isolated
from sulfurscope.analysis import ANALYSES, option_flag, options_class
from sulfurscope.cli import app  # imported here: each invocation's child inherits it

#: The command of each analysis and the arguments it needs besides its options.
COMMANDS = {
    "cycling": ["cycling", "{file}"],
    "gitt": ["gitt", "{file}"],
    "particles": ["particles", "{file}"],
    "lattice": ["lattice", "{file}"],
    "xps": ["xps", "{file}"],
    "raman": ["raman", "{file}"],
    "tga": ["tga", "{file}"],
    "eds": ["eds", "{file}"],
    "eels": ["eels", "--core-loss", "{file}"],
    "model_predict": ["model", "predict", "--reference-rates", "{file}"],
    "model_formation": ["model", "formation"],
    "model_fit": ["model", "fit", "{folder}"],
}
#: Options of the shells (not analysis options): (command, flag, the values that must be refused).
SHELL_OPTIONS = [
    (["run", "{file}"], "--workers", ["0", "-5", "abc", "nan", "1.5"]),
    (["run", "{file}"], "--dask-local", ["0", "-5", "abc"]),
    (["run", "{file}"], "--task-timeout", ["0", "-5", "abc", "nan", "inf"]),
    (["run", "{file}"], "--task-memory", ["0", "-5", "abc", "nan", "inf"]),
    ([], "--max-file-size", ["0", "-5", "abc", "nan", "inf"]),
    ([], "--read-timeout", ["0", "-5", "abc", "nan", "inf"]),
    ([], "--read-memory", ["0", "-5", "abc", "nan", "inf"]),
]


def _bad_values(spec) -> list[str]:
    """Values the option must refuse: never a number, not finite, and out of its range."""
    bad = ["abc", "nan", "inf", "-inf", "1e999"] if spec.kind != "integer" else ["abc", "1.5", "nan"]
    if spec.positive:
        bad += ["0", "-5"]
    if spec.minimum is not None:
        bad.append(str(spec.minimum - 1 if spec.kind == "integer" else spec.minimum - abs(spec.minimum) * 0.5 - 1))
    if spec.maximum is not None:
        bad.append(str(int(spec.maximum) + 1 if spec.kind == "integer" else spec.maximum * 10 + 1))
    if spec.kind == "numbers":
        bad = [f"1,{v}" for v in bad] + ["1,,2", "1,"]
    if spec.kind == "number_or_word":
        bad = [v for v in bad if v not in spec.choices] + ["autox"]
    return bad


def _cases() -> list[tuple[list[str], str, str]]:
    cases = []
    for name, base in COMMANDS.items():
        assert name in ANALYSES
        for field, (spec, _default) in options_class(name).specs().items():
            if not spec.cli or spec.kind not in ("number", "integer", "numbers", "number_or_word"):
                continue
            for value in _bad_values(spec):
                cases.append((base, option_flag(field), value))
    for base, flag, values in SHELL_OPTIONS:
        cases += [(base, flag, v) for v in values]
    return cases


CASES = _cases()


def _invoke(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, args)
    return res.exit_code, res.stdout, res.stderr


def test_every_analysis_command_has_numeric_options_under_test():
    commands = {tuple(base[:2]) for base, _, _ in CASES}
    assert len(CASES) > 150
    assert {("cycling", "{file}"), ("model", "formation"), ("eels", "--core-loss")} <= commands


@pytest.mark.parametrize(("base", "flag", "value"), CASES,
                         ids=[f"{' '.join(b[:2])}{f}={v}" for b, f, v in CASES])
def test_invalid_value_is_one_line_and_exit_2(base, flag, value, tmp_path):
    file = tmp_path / "input.txt"
    file.write_text("not read: options are checked before any file\n")
    args = [a.format(file=file, folder=tmp_path) for a in base]
    cmd = [flag, value, *args] if not base else [*args, flag, value, "--out", str(tmp_path / "o")]
    if not base:  # a root option: any command after it
        cmd += ["tga", str(file)]
    code, out, err = call_isolated(_invoke, cmd, timeout_s=30, memory_mb=1024, label=" ".join(cmd))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (cmd, code, out, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), (cmd, err)
    assert flag in lines[0] or flag.lstrip("-") in lines[0], (cmd, err)
    assert "Traceback" not in err + out
    assert not (Path(tmp_path) / "o").exists()  # nothing written
