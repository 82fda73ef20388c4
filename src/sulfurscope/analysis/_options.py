"""Options: one frozen dataclass per analysis, from which the CLI flags and the manifest keys are made.

An analysis's options are a frozen dataclass whose fields are declared with the helpers below
(:func:`number`, :func:`integer`, :func:`flag`, :func:`choice`, :func:`text`, :func:`numbers`,
:func:`texts`, :func:`table`). Each helper stores an :class:`OptionSpec` in the field's metadata: the help
text, the unit, the allowed values or range. From these specs

* the CLI builds its flags (``sulfur_mass_mg`` → ``--sulfur-mass-mg``, same default, same help, the
  unit in the help),
* the study manifest validates its keys (``options = { ... }`` tables and entry fields),
* the options validate themselves when built (``__post_init__``), so the CLI, the manifest and a
  Python caller get the same checks and the same messages.

A validation error is an :class:`OptionError` that names the option by its field name; only the CLI
turns the name into a flag (``--sulfur-mass-mg``) and only the manifest into a key with its line.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, slots=True)
... class Demo(Options):
...     rate_c: float = number(0.1, "C-rate of the pulses.", positive=True)
...     mode: str = choice("fast", ("fast", "exact"), "How to compute.")
>>> Demo.from_mapping({"rate_c": "0.2"}).rate_c
0.2
>>> Demo(rate_c=-1.0)
Traceback (most recent call last):
...
sulfurscope.analysis._options.OptionError: rate_c: expected a positive number, got -1.0
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sulfurscope.errors import SulfurscopeError

__all__ = [
    "OptionError",
    "OptionSpec",
    "Options",
    "choice",
    "flag",
    "integer",
    "number",
    "number_or",
    "numbers",
    "option_flag",
    "table",
    "text",
    "texts",
]

Kind = Literal[
    "number", "integer", "flag", "choice", "text", "numbers", "texts", "table", "number_or_word"
]
OptionsT = TypeVar("OptionsT", bound="Options")


class OptionError(SulfurscopeError, ValueError):
    """An option value is not allowed. ``option`` is the field name (the CLI maps it to its flag)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option
        self.detail = message


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """What an option accepts (stored in the dataclass field's metadata).

    Attributes
    ----------
    kind : str
        ``number``, ``integer``, ``flag``, ``choice``, ``text``, ``numbers`` (tuple of floats),
        ``texts`` (tuple of strings) or ``table`` (a mapping; manifest only).
    help : str
        One sentence; the CLI and the docs show it.
    unit : str
        Unit of a number (also in the name, e.g. ``_um``), "" when dimensionless.
    choices : tuple of str
        Allowed values of a choice (or of each item of ``texts``).
    minimum, maximum : float or None
        Inclusive bounds of a number/integer (of each item of ``numbers``).
    positive : bool
        Strictly greater than zero.
    length : int or None
        Exact length of a ``numbers``/``texts`` value.
    optional : bool
        ``None`` is allowed (the default is ``None``).
    cli : bool
        Offered as a CLI flag.
    per_input : bool
        A CLI flag that may be given once per input file (cell masses, labels, sizes).
    """

    kind: Kind
    help: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    length: int | None = None
    optional: bool = False
    cli: bool = True
    per_input: bool = False
    split: bool = True


def option_flag(name: str) -> str:
    """The CLI flag of an option field: ``sulfur_mass_mg`` → ``--sulfur-mass-mg``."""
    return "--" + name.replace("_", "-")


def _field(default: Any, spec: OptionSpec) -> Any:
    if isinstance(default, list):
        default = tuple(default)
    return dataclasses.field(default=default, metadata={"option": spec})


def number(
    default: float | None,
    help: str,
    *,
    unit: str = "",
    positive: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    cli: bool = True,
    per_input: bool = False,
) -> Any:
    """A finite float option (``None`` allowed when the default is ``None``)."""
    spec = OptionSpec(
        "number",
        help,
        unit=unit,
        positive=positive,
        minimum=minimum,
        maximum=maximum,
        optional=default is None,
        cli=cli,
        per_input=per_input,
    )
    return _field(default, spec)


def number_or(
    default: float | str,
    words: Sequence[str],
    help: str,
    *,
    unit: str = "",
    positive: bool = False,
    cli: bool = True,
) -> Any:
    """A finite number or one of a few words (``"auto"``; threshold method names)."""
    spec = OptionSpec(
        "number_or_word", help, unit=unit, choices=tuple(words), positive=positive, cli=cli
    )
    return _field(default, spec)


def integer(
    default: int | None,
    help: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    cli: bool = True,
) -> Any:
    """An integer option."""
    spec = OptionSpec(
        "integer", help, minimum=minimum, maximum=maximum, optional=default is None, cli=cli
    )
    return _field(default, spec)


def flag(default: bool, help: str, *, cli: bool = True) -> Any:
    """A true/false option (CLI: ``--name/--no-name``)."""
    return _field(bool(default), OptionSpec("flag", help, cli=cli))


def choice(default: str | None, choices: Sequence[str], help: str, *, cli: bool = True) -> Any:
    """One of a fixed set of words."""
    spec = OptionSpec(
        "choice", help, choices=tuple(choices), optional=default is None, cli=cli
    )
    return _field(default, spec)


def text(default: str | None, help: str, *, cli: bool = True, per_input: bool = False) -> Any:
    """A free string (a label, a region name, a library name)."""
    spec = OptionSpec("text", help, optional=default is None, cli=cli, per_input=per_input)
    return _field(default, spec)


def numbers(
    default: Sequence[float] | None,
    help: str,
    *,
    unit: str = "",
    length: int | None = None,
    minimum: float | None = None,
    positive: bool = False,
    cli: bool = True,
) -> Any:
    """A tuple of finite floats (CLI: comma-separated, ``1000,2000``)."""
    spec = OptionSpec(
        "numbers",
        help,
        unit=unit,
        length=length,
        minimum=minimum,
        positive=positive,
        optional=default is None,
        cli=cli,
    )
    return _field(None if default is None else tuple(float(v) for v in default), spec)


def texts(
    default: Sequence[str] | None,
    help: str,
    *,
    choices: Sequence[str] = (),
    cli: bool = True,
    split: bool = True,
) -> Any:
    """A tuple of strings (CLI: comma-separated, ``S_Ka,F_Ka``; with ``split=False`` one value per
    repeated flag, for values that contain commas)."""
    spec = OptionSpec(
        "texts", help, choices=tuple(choices), optional=default is None, cli=cli, split=split
    )
    return _field(None if default is None else tuple(default), spec)


def table(help: str) -> Any:
    """A mapping (manifest only: TOML inline tables; not a CLI flag)."""
    spec = OptionSpec("table", help, optional=True, cli=False)
    return dataclasses.field(default=None, metadata={"option": spec})


# ----------------------------------------------------------------------------- validation


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise OptionError(name, f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise OptionError(name, f"expected a number, got {value!r}") from None
    if not isinstance(value, int | float):
        raise OptionError(name, f"expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise OptionError(name, f"expected a finite number, got {value!r}")
    return value


def _check_range(name: str, value: float, spec: OptionSpec) -> None:
    if spec.positive and not value > 0:
        raise OptionError(name, f"expected a positive number, got {value!r}")
    if spec.minimum is not None and value < spec.minimum:
        raise OptionError(name, f"must be at least {spec.minimum:g}, got {value!r}")
    if spec.maximum is not None and value > spec.maximum:
        raise OptionError(name, f"must be at most {spec.maximum:g}, got {value!r}")


def _convert_number(name: str, value: Any, spec: OptionSpec) -> float:
    v = _to_float(name, value)
    _check_range(name, v, spec)
    return v


def _convert_integer(name: str, value: Any, spec: OptionSpec) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise OptionError(name, f"expected an integer, got {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(name, f"expected an integer, got {value!r}")
    _check_range(name, float(value), spec)
    return int(value)


def _convert_flag(name: str, value: Any, spec: OptionSpec) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    if not isinstance(value, bool):
        raise OptionError(name, f"expected true or false, got {value!r}")
    return value


def _convert_number_or_word(name: str, value: Any, spec: OptionSpec) -> float | str:
    if isinstance(value, str) and value.strip() in spec.choices:
        return value.strip()
    try:
        return _convert_number(name, value, spec)
    except OptionError:
        raise OptionError(
            name, f"expected a number or one of {list(spec.choices)}, got {value!r}"
        ) from None


def _convert_choice(name: str, value: Any, spec: OptionSpec) -> str:
    if not isinstance(value, str) or value not in spec.choices:
        raise OptionError(name, f"expected one of {list(spec.choices)}, got {value!r}")
    return value


def _convert_text(name: str, value: Any, spec: OptionSpec) -> str:
    if not isinstance(value, str):
        raise OptionError(name, f"expected a string, got {value!r}")
    return value


def _sequence(name: str, value: Any, split: bool = True) -> list[Any]:
    if isinstance(value, str):
        return _split(value) if split else [value]
    if isinstance(value, Sequence):
        return list(value)
    raise OptionError(name, f"expected a list (or comma-separated values), got {value!r}")


def _check_length(name: str, items: list[Any], spec: OptionSpec) -> None:
    if spec.length is not None and len(items) != spec.length:
        raise OptionError(name, f"expected {spec.length} values, got {len(items)}")
    if not items:
        raise OptionError(name, "expected at least one value")


def _convert_numbers(name: str, value: Any, spec: OptionSpec) -> tuple[float, ...]:
    if isinstance(value, str) and any(not v.strip() for v in value.replace(";", ",").split(",")):
        raise OptionError(name, f"an empty value in {value!r} (expected e.g. 1,4,8)")
    items = _sequence(name, value)
    _check_length(name, items, spec)
    out = tuple(_to_float(name, v) for v in items)
    for v in out:
        _check_range(name, v, spec)
    return out


def _convert_texts(name: str, value: Any, spec: OptionSpec) -> tuple[str, ...]:
    items = [str(v).strip() for v in _sequence(name, value, spec.split)]
    _check_length(name, items, spec)
    if spec.choices:
        bad = [v for v in items if v not in spec.choices]
        if bad:
            raise OptionError(name, f"unknown value(s) {bad}; expected from {list(spec.choices)}")
    return tuple(items)


def _convert_table(name: str, value: Any, spec: OptionSpec) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise OptionError(name, f"expected a table (key = value pairs), got {value!r}")
    return dict(value)


_CONVERT = {
    "number": _convert_number,
    "integer": _convert_integer,
    "flag": _convert_flag,
    "choice": _convert_choice,
    "text": _convert_text,
    "numbers": _convert_numbers,
    "texts": _convert_texts,
    "table": _convert_table,
    "number_or_word": _convert_number_or_word,
}


def convert(name: str, value: Any, spec: OptionSpec) -> Any:
    """Validate and normalise one option value (strings from the CLI are parsed)."""
    if value is None:
        if spec.optional:
            return None
        raise OptionError(name, "a value is required")
    return _CONVERT[spec.kind](name, value, spec)


class Options:
    """Base of every analysis's options dataclass (``@dataclass(frozen=True, slots=True)``).

    Values are validated when the object is built; :meth:`from_mapping` also rejects unknown keys.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            spec = f.metadata.get("option")
            if spec is None:
                continue
            value = convert(f.name, getattr(self, f.name), spec)
            object.__setattr__(self, f.name, value)

    @classmethod
    def specs(cls) -> dict[str, tuple[OptionSpec, Any]]:
        """Every option: name → (spec, default), in declaration order."""
        out = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            spec = f.metadata.get("option")
            if spec is not None:
                out[f.name] = (spec, f.default)
        return out

    @classmethod
    def from_mapping(cls: type[OptionsT], values: Mapping[str, Any] | None = None) -> OptionsT:
        """Build from a mapping (manifest table, CLI values); unknown keys are errors."""
        values = dict(values or {})
        known = cls.specs()
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise OptionError(
                unknown[0], f"unknown option (known: {', '.join(known) or 'none'})"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (tuples as lists)."""
        out: dict[str, Any] = {}
        for name in self.specs():
            v = getattr(self, name)
            out[name] = list(v) if isinstance(v, tuple) else (dict(v) if isinstance(v, Mapping) else v)
        return out
