"""``sulfurscope model`` commands: predict, formation, fit (typer CliRunner, files in tmp_path)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from sulfurscope.cli import app
from sulfurscope.model import (
    CellModel,
    CyclingParameters,
    gaussian_distribution,
    protocol_capacities,
    rate_law_capacity,
    rate_test_protocol,
)

runner = CliRunner()
RATES = np.array([1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5])


def _reference(tmp_path):
    p = tmp_path / "rate.csv"
    pd.DataFrame(
        {
            "C-rate": RATES,
            "Mean discharge capacity [mAh/g]": rate_law_capacity(
                RATES, q_max_mah_g=1400, c_star=30, m=6
            ),
        }
    ).to_csv(p, index=False)
    return p


def test_predict_json_and_files(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "model",
            "predict",
            "--particle-sizes-um",
            "1,4,8",
            "--shell-um",
            "1",
            "--reference-rates",
            str(_reference(tmp_path)),
            "--out",
            str(out),
            "--json",
            "--no-rate-correction",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["inputs"][0]["summary"]["F(8 um)"] == 0.578125
    pred = pd.read_csv(out / "model_rate_predictions.csv")
    assert pred.loc[pred["Sample"] == "8 um", "Active fraction"].iloc[0] == 0.578125
    assert (out / "fig5b_active_fraction.png").exists() and (
        out / "fig5cde_rate_predictions.png"
    ).exists()


def test_predict_with_distribution_text_output(tmp_path):
    res = runner.invoke(
        app,
        [
            "model",
            "predict",
            "--particle-sizes-um",
            "1,8",
            "--particle-size-sd-um",
            "0.3,4",
            "--reference-rates",
            str(_reference(tmp_path)),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "F(8 um) = 0.43" in res.stdout  # volume-weighted 8 ± 4 µm: F ≈ 0.44 (MODEL.md)


def test_formation_command(tmp_path):
    out = tmp_path / "f"
    res = runner.invoke(
        app,
        [
            "model",
            "formation",
            "--particle-sizes-um",
            "8",
            "--c-rate",
            "0.1",
            "--n-cells",
            "20",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert abs(data["inputs"][0]["summary"]["8 um"]["electrode_active_fraction"] - 0.61) < 0.015
    assert (out / "formation_classes.csv").exists() and (
        out / "formation_profiles_8um.png"
    ).exists()


def _study(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    pd.DataFrame(
        {"Sample": ["S1", "S8"], "Mean diameter [um]": [1.0, 8.0], "SD diameter [um]": [0.3, 2.4]}
    ).to_csv(folder / "samples.csv", index=False)
    true = CyclingParameters(k_c_per_h=2e-6, m_c=7.5)
    for name, d in (("S1", 1.0), ("S8", 8.0)):
        cell = CellModel(gaussian_distribution(d, 0.3 * d, n_classes=4), cycling=true, n_cells=14)
        t = protocol_capacities(rate_test_protocol([0.05, 0.2, 0.4], cycles_per_rate=2), cell).table
        dis = t[t["Mode"] != "charge"].reset_index(drop=True)
        pd.DataFrame(
            {
                "Cycle": np.arange(1, len(dis) + 1),
                "Discharge C-rate": dis["C-rate"],
                "Discharge capacity [mAh/g]": dis["Capacity [mAh/g]"],
            }
        ).to_csv(folder / f"{name}_summary.csv", index=False)
    return folder


def test_fit_command(tmp_path):
    out = tmp_path / "fit"
    res = runner.invoke(
        app,
        [
            "model",
            "fit",
            str(_study(tmp_path)),
            "--out",
            str(out),
            "--n-classes",
            "4",
            "--n-cells",
            "14",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    params = pd.read_csv(out / "model_parameters.csv")
    value = params.set_index(["Model", "Parameter"])["Value"]
    assert abs(value[("C (cycling)", "m_c")] - 7.5) < 0.1
    assert ("B (formation)", "diffusivity_m2_s") in value.index
    assert value[("A (active shell)", "shell_um")] > 0
    assert (out / "summary.json").exists() and (out / "model_fitted_vs_measured.csv").exists()
    # every sample's rate test, retention and first discharge predicted with the fitted parameters
    rate = pd.read_csv(out / "model_predicted_rate.csv")
    fitted = pd.read_csv(out / "model_fitted_vs_measured.csv")
    assert set(rate["Sample"]) == set(fitted["Sample"])
    ret = pd.read_csv(out / "model_predicted_retention.csv")
    assert (ret.loc[ret["Cycle"] == 2, "Retention [%]"] == 100.0).all()
    first = pd.read_csv(out / "model_predicted_first_discharge.csv")
    assert first.groupby("Sample")["Voltage [V]"].last().between(0.45, 0.55).all()
    assert (out / "fig5_predictions.png").stat().st_size > 1000
    af = pd.read_csv(out / "model_active_fraction.csv")
    assert set(af["Sample"]) == set(rate["Sample"])
    assert json.loads(res.stdout)["figures_failed"] == []


def test_errors_are_one_line_exit_1(tmp_path):
    res = runner.invoke(
        app, ["model", "predict", "--particle-sizes-um", "1,x", "--reference-rates", str(_reference(tmp_path))]
    )
    assert res.exit_code == 2
    assert "--particle-sizes-um" in res.output and "Traceback" not in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["model", "fit", str(empty)])
    assert res.exit_code == 1 and "samples.csv" in res.output


def test_formation_gitt_option(tmp_path):
    out = tmp_path / "g"
    res = runner.invoke(
        app,
        [
            "model",
            "formation",
            "--particle-sizes-um",
            "4",
            "--n-cells",
            "14",
            "--gitt-pulse-mah-g",
            "200",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    curves = pd.read_csv(out / "formation_curves.csv")
    assert (curves["Current [C]"] == 0).any()
