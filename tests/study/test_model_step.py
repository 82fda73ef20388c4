"""Study-level steps: GITT τ ∝ L^n across samples from the store tables (its own step, whether or not
the model is fitted), and the model fit — a clear problem when it has nothing to work on. (The full
fit is exercised by the demo/benchmark: it takes about a minute.)"""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.study import store
from sulfurscope.study.pipeline import run_study
from tests.study._synth import write_gitt

MANIFEST = """\
[[samples]]
name = "one"
particle_size_um = 1.0

[[samples]]
name = "eight"
particle_size_um = 8.0

[[cells]]
name = "g1"
sample = "one"
file = "g1.mpt"
protocol = "gitt"
sulfur_mass_mg = 2.0

[[cells]]
name = "g8"
sample = "eight"
file = "g8.mpt"
protocol = "gitt"
sulfur_mass_mg = 2.0

[model]
enabled = {enabled}
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_gitt_scaling_across_samples(tmp_path, enabled):
    write_gitt(tmp_path / "g1.mpt", 1.0, 2.0, 4)
    write_gitt(tmp_path / "g8.mpt", 8.0, 2.0, 5)
    (tmp_path / "study.toml").write_text(MANIFEST.format(enabled=str(enabled).lower()))
    result = run_study(tmp_path / "study.toml", tmp_path / "out", workers=1, report=False)
    tables = store.read_tables(tmp_path / "out")
    # the model (enabled) has no rate test to fit: a problem; the τ scaling runs either way
    assert result.failed == int(enabled)
    assert result.tasks == 4 + int(enabled)  # 2 cells, the τ step, the replicates step
    scaling = tables["gitt_scaling"].set_index("Half cycle label")
    # simulate_gitt: τ ∝ L² in the first discharge, size-independent afterwards
    assert scaling.loc["first discharge", "Exponent n"] == pytest.approx(2.0, abs=0.2)
    assert abs(scaling.loc["first charge", "Exponent n"]) < 0.3
    assert set(scaling["Task"]) == {"gitt_scaling"}
    assert {"Exponent CI95 low", "Pulse limited points"} <= set(scaling.columns)


def test_model_without_sizes_or_rate_tests_is_a_problem(tmp_path):
    write_gitt(tmp_path / "g1.mpt", 1.0, 2.0, 4)
    write_gitt(tmp_path / "g8.mpt", 8.0, 2.0, 5)
    text = (
        MANIFEST.format(enabled="true")
        .replace("particle_size_um = 1.0\n", "")
        .replace("particle_size_um = 8.0\n", "")
    )
    (tmp_path / "study.toml").write_text(text)
    result = run_study(tmp_path / "study.toml", tmp_path / "out", workers=1, report=False)
    assert result.failed == 1
    p = result.problems.iloc[0]
    assert (p["Task"], p["File"]) == ("model", "(study-level)")
    assert "no sample has both a size" in p["Message"] and "enabled = false" in p["Message"]


def test_fit_and_predictions_wiring_with_fast_fits(tmp_path, monkeypatch):
    """The model step end to end with the two slow least-squares fits replaced by the default
    parameters (predictions, shell fit, distributions from SEM, tables and Figure 5 are real)."""
    from types import SimpleNamespace

    import pandas as pd

    import sulfurscope.model as model_step
    from sulfurscope.model import CyclingParameters, FormationParameters
    from tests.study._synth import add_images, make_study

    calls = []

    def fake_fit(*args, parameter="k_c_per_h", **kwargs):
        calls.append(args)
        return SimpleNamespace(
            cycling=CyclingParameters(),
            formation=FormationParameters(),
            to_frame=lambda: pd.DataFrame(
                {"Parameter": [parameter], "Value": [1.0], "Standard error": [0.1]}
            ),
            values={parameter: 1.0 + 0.05 * len(calls)},
            correlations={},
            table=pd.DataFrame(
                {"Sample": ["small"], "Cycle": [2], "Measured [mAh/g]": [510.0],
                 "Fitted [mAh/g]": [500.0]}
            ),
            success=True,
            message="",
        )

    monkeypatch.setattr(model_step, "fit_cycling_model", fake_fit)
    monkeypatch.setattr(model_step, "fit_formation_model",
                        lambda *a, **k: fake_fit(*a, parameter="diffusivity_m2_s", **k))
    monkeypatch.setenv("SULFURSCOPE_MODEL_PROCESSES", "0")  # the refits in this process: counted
    manifest = make_study(tmp_path, model=True)
    add_images(tmp_path, manifest)
    text = manifest.read_text().replace(
        "enabled = true", "enabled = true\nn_cells = 8\nn_classes = 4"
    )
    manifest.write_text(text)
    result = run_study(manifest, tmp_path / "out", workers=1, isolate=False)  # calls seen here
    assert result.failed == 0, result.problems.to_dict(orient="records")
    # model C, model C again with the SEM mean size moved by its standard error, model C with the
    # condition's mean curve moved by its uncertainty (one cell: no jackknife), model B
    assert len(calls) == 4
    reference_table, reference_dist = calls[0][0], calls[0][1]
    # the smallest particles' rate test: the mean over the condition's cells (one here), with the
    # uncertainty of each cycle's mean as the fit's weights
    assert (reference_table["Cells"] == 1).all()
    assert (reference_table["Discharge capacity u [mAh/g]"] > 0).all()
    np.testing.assert_allclose(
        calls[2][0]["Discharge capacity [mAh/g]"],
        reference_table["Discharge capacity [mAh/g]"] + reference_table["Discharge capacity u [mAh/g]"],
    )
    assert reference_dist.kind == "measured"  # from the SEM particle table
    u_rel = reference_dist.parameters["mean_relative_stderr"]
    assert 0 < u_rel < 0.2
    np.testing.assert_allclose(calls[1][1].diameter_um, reference_dist.diameter_um * (1 + u_rel))
    tables = store.read_tables(tmp_path / "out")
    comp = tables["model_rate_comparison"]
    assert set(comp["Sample"]) == {"small", "big"}
    assert comp["Measured capacity [mAh/g]"].notna().all()
    assert set(tables["model_parameters"]["Model"]) >= {"C (cycling)", "B (formation)"}
    c = tables["model_parameters"].query("Model == 'C (cycling)'").iloc[0]
    assert c["Standard error (size distribution)"] == pytest.approx(0.05)  # the refit's shift
    assert c["Standard error (replicate cells)"] == pytest.approx(0.10)  # one cell: its mass u
    assert c["Standard error"] == pytest.approx(np.sqrt(0.1**2 + 0.05**2 + 0.10**2))
    from scipy.stats import t as student

    b = tables["model_parameters"].query("Model == 'B (formation)'").iloc[0]
    assert np.isfinite(b["Standard error (model C)"]) and b["Standard error (model C)"] > 0
    assert b["Standard error"] == pytest.approx(np.hypot(0.1, b["Standard error (model C)"]))
    half = student.ppf(0.975, c["Degrees of freedom"]) * c["Standard error"]
    assert c["CI95 high"] - c["Value"] == pytest.approx(half)
    assert c["Value"] - c["CI95 low"] == pytest.approx(half)
    af = tables["model_active_fraction"].set_index("Sample")
    assert af.loc["big", "Geometric active fraction (1 um shell)"] == pytest.approx(
        1 - (1 - 2 / 8) ** 3, abs=1e-9
    )
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Figure 5 — Particle-size model" in html
    assert "Predicted vs measured rate capability (Fig 5c–e)" in html
    figures = {p.stem for p in (tmp_path / "out" / "figures" / "model").glob("*.png")}
    assert {"fig5b_active_fraction", "fig5_predictions", "fig5cde_shell_scaling",
            "fig5cde_predicted_vs_measured", "model_cycling_fit", "model_formation_fit"} == figures


def test_missing_model_c_share_of_model_b_uncertainty_is_flagged(tmp_path, monkeypatch):
    """A singular sensitivity leaves model B's error without model C's share: flagged, not silent."""
    from types import SimpleNamespace

    import pandas as pd

    import sulfurscope.model as model_step
    from sulfurscope.model import CyclingParameters, FormationParameters
    from tests.study._synth import make_study

    def fake_fit(*args, parameter="k_c_per_h", **kwargs):
        return SimpleNamespace(
            cycling=CyclingParameters(), formation=FormationParameters(), correlations={},
            to_frame=lambda: pd.DataFrame({"Parameter": [parameter], "Value": [1.0],
                                           "Standard error": [0.1]}),
            values={parameter: 1.0}, success=True, message="",
            table=pd.DataFrame({"Sample": ["small"], "Cycle": [2], "Measured [mAh/g]": [510.0],
                                "Fitted [mAh/g]": [500.0]}),
        )

    monkeypatch.setattr(model_step, "fit_cycling_model", fake_fit)
    monkeypatch.setattr(model_step, "fit_formation_model",
                        lambda *a, **k: fake_fit(*a, parameter="diffusivity_m2_s", **k))
    monkeypatch.setattr(model_step, "formation_sensitivity",
                        lambda *a, **k: {"diffusivity_m2_s": {"k_c_per_h": float("nan")}})
    monkeypatch.setenv("SULFURSCOPE_MODEL_PROCESSES", "0")
    manifest = make_study(tmp_path, model=True)
    manifest.write_text(manifest.read_text().replace(
        "enabled = true", "enabled = true\nn_cells = 8\nn_classes = 4"))
    result = run_study(manifest, tmp_path / "out", workers=1, isolate=False, report=False)
    assert result.failed == 0, result.problems.to_dict(orient="records")
    flags = store.read_tables(tmp_path / "out")["flags"]
    hit = flags[flags["Code"] == "uncertainty_incomplete"]
    assert len(hit) == 1 and hit.iloc[0]["Severity"] == "warning", flags.to_dict(orient="records")
