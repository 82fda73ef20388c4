"""The ``replicates`` study step end to end: replicate rate-test cells written by the independent
cycler simulator (known capacity per gram), conditions from the manifest, an excluded cell with its
reason, a planted outlier — store tables, flags and report."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from sulfurscope.errors import SulfurscopeError
from sulfurscope.study import pipeline
from sulfurscope.study.manifest import load_study, parse_study

from ._synth import write_rate

Q = {"small": [610.0, 590.0, 605.0, 350.0], "big": [300.0, 310.0, 295.0, 305.0]}


def _study(folder: Path) -> Path:
    raw = folder / "raw"
    raw.mkdir(parents=True)
    lines = ['[study]\ntitle = "replicates"\n']
    for s in Q:
        lines.append(f'[[samples]]\nname = "{s}"\nsulfur_fraction = 0.5\nsulfur_fraction_u = 0.01\n')
    for s, qs in Q.items():
        for k, q in enumerate(qs):
            name = f"{s}_{k}"
            write_rate(raw / f"{name}.mpt", q, 2.5, 10 * k + len(s))
            extra = 'exclude = "electrolyte leaked"\n' if name == "big_3" else ""
            lines.append(f'[[cells]]\nname = "{name}"\nsample = "{s}"\nfile = "raw/{name}.mpt"\n'
                         f'protocol = "rate"\ncomposite_mass_mg = 5.0\ncondition = "{s} LiPF6"\n'
                         f"{extra}")
    lines.append("[model]\nenabled = false\n")
    path = folder / "study.toml"
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rep")
    manifest = _study(folder)
    result = pipeline.run_study(manifest, folder / "out", workers=1)
    return folder / "out", result


def _sql(out: Path, q: str):
    con = duckdb.connect(str(out / "results.duckdb"), read_only=True)
    try:
        return con.sql(q).df()
    finally:
        con.close()


def test_condition_stats_in_the_store(run) -> None:
    out, result = run
    assert result.failed == 0
    s = _sql(out, """SELECT * FROM condition_stats WHERE metric = 'First-discharge capacity'""")
    s = s.set_index("condition")
    assert {"condition", "metric", "cycle_or_rate", "n", "mean", "sd", "ci95_low", "ci95_high",
            "unit"} <= set(s.reset_index().columns)
    assert s.loc["small LiPF6", "n"] == 4 and s.loc["big LiPF6", "n"] == 3  # big_3 excluded
    # the simulator's capacity law at the formation rate; the interval covers its mean over cells
    assert s.loc["big LiPF6", "ci95_low"] < s.loc["big LiPF6", "mean"] < s.loc["big LiPF6",
                                                                              "ci95_high"]
    # the shared fraction uncertainty (0.01/0.5 = 2 %) is part of every interval
    assert np.allclose(s["u_shared"] / s["mean"], 0.02, rtol=1e-6)
    comp = _sql(out, """SELECT * FROM condition_comparisons
                        WHERE metric = 'Rate-block discharge capacity'""")
    assert len(comp) and (comp["condition_a"] == "small LiPF6").all()


def test_outlier_flagged_and_exclusion_reported(run) -> None:
    out, result = run
    flags = _sql(out, "SELECT * FROM cell_flags")
    codes = dict(zip(flags["cell"], flags["code"], strict=True))
    assert codes.get("small_3") == "outlier_first_discharge"
    assert codes.get("big_3") == "excluded"
    assert "electrolyte leaked" in flags.loc[flags["cell"] == "big_3", "reason"].iloc[0]
    assert set(codes) == {"small_3", "big_3"}
    html = (out / "report.html").read_text()
    assert "electrolyte leaked" in html and "Replicate cells" in html
    assert any(f["Code"] == "outlier_first_discharge" for f in result.to_dict()["flags"])


def test_specific_capacity_uncertainty_per_cell(run) -> None:
    out, _ = run
    m = _sql(out, "SELECT * FROM cell_mass_uncertainty").set_index("cell")
    # composite 5.0 mg (balance 0.014 mg) × fraction 0.5 ± 0.01
    exact = np.hypot(0.01 * 2**0.5 / 5.0, 0.01 / 0.5)
    assert np.allclose(m["u_rel"], exact) and np.allclose(m["mass_mg"], 2.5)


def test_manifest_replicate_keys_are_validated(tmp_path) -> None:
    base = '[[samples]]\nname = "s"\n[[cells]]\nname = "c"\nsample = "s"\nfile = "x.mpt"\n' \
           'protocol = "rate"\nsulfur_mass_mg = 2.0\n'
    (tmp_path / "x.mpt").write_text("x")
    study = parse_study(base, tmp_path / "study.toml")
    assert study.cells[0].condition == "s" and study.replicates["enabled"] is True
    for bad, key in (('sulfur_mass_u_mg = -1\n', "sulfur_mass_u_mg"), ('exclude = ""\n', "exclude"),
                     ('[replicates]\nci_method = "magic"\n', "ci_method"),
                     ('[replicates]\nenabled = "yes"\n', "enabled")):
        with pytest.raises(SulfurscopeError, match=key):
            parse_study(base + bad, tmp_path / "study.toml")
    off = parse_study(base + "[replicates]\nenabled = false\n", tmp_path / "study.toml")
    assert off.replicates["enabled"] is False
    assert load_study  # imported for the module's API
