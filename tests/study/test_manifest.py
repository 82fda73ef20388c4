"""Manifest validation: a good study loads into frozen dataclasses; every error names line and key."""

from __future__ import annotations

import dataclasses

import pytest

from sulfurscope.errors import SulfurscopeError
from sulfurscope.study.manifest import Study, load_study, parse_study

GOOD = """\
[study]
title = "Sizes"

[[samples]]
name = "S8"
carbon = "AC"
particle_size = "8 um"
particle_size_um = 8.0
sulfur_fraction = 0.49

[[samples]]
name = "S1"
tga = "tga.csv"

[[cells]]
name = "c1"
sample = "S8"
files = ["a.mpt"]
protocol = "rate"
sulfur_mass_mg = 2.5

[[cells]]
name = "c2"
sample = "S8"
file = "a.mpt"
protocol = "gitt"
loading_mg_cm2 = 2.0
area_cm2 = 1.5

[[cells]]
name = "c3"
sample = "S1"
file = "a.mpt"
protocol = "cycling"
composite_mass_mg = 4.0
options = { first = "discharge" }

[[images]]
name = "sem"
sample = "S8"
kind = "sem"
file = "img.tif"
pixel_size_nm = 11.6

[[spectra]]
name = "eels1"
sample = "S8"
kind = "eels"
files = { low_loss = "a.mpt", core_loss = "img.tif" }
options = { edges = ["S_L", "F_K"] }

[model]
enabled = false
n_classes = 6
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a.mpt").write_text("x")
    (tmp_path / "img.tif").write_bytes(b"x")
    (tmp_path / "tga.csv").write_text("x")
    return tmp_path


def _write(folder, text):
    p = folder / "study.toml"
    p.write_text(text)
    return p


def _line_of(text: str, needle: str, occurrence: int = 0) -> int:
    hits = [k for k, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence]


def test_good_manifest_loads_into_frozen_dataclasses(folder):
    study = load_study(_write(folder, GOOD))
    assert isinstance(study, Study)
    assert [s.name for s in study.samples] == ["S8", "S1"]
    assert study.samples[1].tga == (folder / "tga.csv").resolve()
    c1, c2, c3 = study.cells
    assert c1.files == ((folder / "a.mpt").resolve(),) and c1.sulfur_mass_mg == 2.5
    assert c2.loading_mg_cm2 == 2.0 and c2.area_cm2 == 1.5 and c2.protocol == "gitt"
    assert c3.composite_mass_mg == 4.0 and c3.options == {"first": "discharge"}
    assert study.images[0].pixel_size_nm == 11.6
    assert set(study.spectra[0].files) == {"low_loss", "core_loss"}
    assert study.spectra[0].options["edges"] == ["S_L", "F_K"]
    assert study.model.enabled is False and study.model.n_classes == 6
    assert c1.line == _line_of(GOOD, "[[cells]]", 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c1.protocol = "gitt"  # type: ignore[misc]
    frame = study.to_frame()
    assert list(frame["Sample"]) == ["S8", "S1"] and frame["Particle size [um]"].iloc[0] == 8.0


# (edit: (old, new) replacements applied to GOOD, expected "table[index].key", message regex,
#  the text the reported line must contain)
ERRORS = [
    (
        ("sulfur_mass_mg = 2.5", ""),
        r"cells\[0\]\.sulfur_mass_mg",
        "required when no loading is given",
        "[[cells]]",
    ),
    (
        ('protocol = "rate"', 'protocol = "rate"\nsulfur_mas_mg = 1.0'),
        r"cells\[0\]\.sulfur_mas_mg",
        "unknown key",
        "sulfur_mas_mg",
    ),
    (
        ('protocol = "rate"', 'protocol = "fast"'),
        r"cells\[0\]\.protocol",
        "expected one of",
        'protocol = "fast"',
    ),
    (
        ("sulfur_mass_mg = 2.5", "sulfur_mass_mg = -1"),
        r"cells\[0\]\.sulfur_mass_mg",
        "positive number",
        "sulfur_mass_mg = -1",
    ),
    (
        ("sulfur_mass_mg = 2.5", "sulfur_mass_mg = 2.5\nloading_mg_cm2 = 2"),
        r"cells\[0\]\.loading_mg_cm2",
        "not several",
        "loading_mg_cm2 = 2",
    ),
    (('name = "c2"', 'name = "c1"'), r"cells\[1\]\.name", "duplicate name", 'name = "c1"'),
    (
        ('sample = "S8"\nfile = "a.mpt"', 'sample = "S9"\nfile = "a.mpt"'),
        r"cells\[1\]\.sample",
        "unknown sample 'S9'",
        'sample = "S9"',
    ),
    (
        ('files = ["a.mpt"]', 'files = ["missing.mpt"]'),
        r"cells\[0\]\.files",
        "file not found",
        "missing.mpt",
    ),
    (('kind = "sem"', 'kind = "afm"'), r"images\[0\]\.kind", "expected one of", 'kind = "afm"'),
    (
        ('tga = "tga.csv"', 'tga = "tga.csv"\nsulfur_fraction = 0.5'),
        r"samples\[1\]\.tga",
        "not both",
        'tga = "tga.csv"',
    ),
    (
        ("sulfur_fraction = 0.49", "sulfur_fraction = 49"),
        r"samples\[0\]\.sulfur_fraction",
        "at most 1",
        "sulfur_fraction = 49",
    ),
    (('kind = "eels"', ""), r"spectra\[0\]\.kind", "required", "[[spectra]]"),
    (("n_classes = 6", "n_classes = 6\nn_cell = 3"), r"model\.n_cell", "unknown key", "n_cell = 3"),
    (("[model]", "[modle]"), r"modle", "unknown table", "[modle]"),
    (("enabled = false", 'enabled = "no"'), r"model\.enabled", "true or false", 'enabled = "no"'),
]


@pytest.mark.parametrize(("edit", "where", "message", "line_text"), ERRORS)
def test_errors_name_line_and_key(folder, edit, where, message, line_text):
    old, new = edit
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = _write(folder, text)
    with pytest.raises(
        SulfurscopeError, match=rf"^study\.toml line (\d+): {where}: .*{message}"
    ) as info:
        load_study(path)
    line = int(str(info.value).split(" line ")[1].split(":")[0])
    assert line_text in text.splitlines()[line - 1], (line, text.splitlines()[line - 1])


def test_composite_mass_needs_a_sulfur_fraction(folder):
    text = GOOD.replace('tga = "tga.csv"', 'carbon = "AC"')
    with pytest.raises(
        SulfurscopeError, match=r"cells\[2\]\.composite_mass_mg: sample 'S1' has neither"
    ):
        parse_study(text, _write(folder, text))


def test_toml_syntax_error_and_missing_file(folder, tmp_path):
    with pytest.raises(SulfurscopeError, match=r"study\.toml: not valid TOML: .*line 2"):
        parse_study("[study]\ntitle = \n", folder / "study.toml")
    with pytest.raises(SulfurscopeError, match="no such manifest"):
        load_study(tmp_path / "nope.toml")


def test_paths_are_relative_to_the_manifest(folder, tmp_path, monkeypatch):
    path = _write(folder, GOOD)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    study = load_study(path)
    assert study.cells[0].files[0] == (folder / "a.mpt").resolve()


def test_sample_loading_applies_to_its_cells_and_a_cell_mass_overrides_it(folder):
    text = GOOD.replace('sulfur_fraction = 0.49\n', 'sulfur_fraction = 0.49\nloading_mg_cm2 = 1.8\n'
                        'area_cm2 = 1.2\nloading_u_mg_cm2 = 0.05\n')
    text = text.replace('protocol = "rate"\nsulfur_mass_mg = 2.5\n', 'protocol = "rate"\n')
    _write(folder, text)
    study = load_study(folder / "study.toml")
    c1, c2 = study.cells[0], study.cells[1]
    assert (c1.sulfur_mass_mg, c1.loading_mg_cm2, c1.area_cm2) == (None, 1.8, 1.2)
    assert c1.mass_u == {"loading_u_mg_cm2": 0.05}
    assert (c2.loading_mg_cm2, c2.area_cm2) == (2.0, 1.5)  # its own loading and area win


def test_sample_area_without_loading_is_an_error(folder):
    _write(folder, GOOD.replace('sulfur_fraction = 0.49\n', 'sulfur_fraction = 0.49\narea_cm2 = 1.2\n'))
    with pytest.raises(SulfurscopeError, match=r"samples\[0\]\.area_cm2: only used with loading"):
        load_study(folder / "study.toml")
