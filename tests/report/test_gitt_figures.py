"""GITT figures, drawn from the GITT analysis's tables: they show what they are given and draw
nothing without a sulfur mass (no specific capacity)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sulfurscope.analysis.gitt import GittOptions, analyse_gitt
from sulfurscope.report.gitt import (
    fig_gitt_voltage,
    fig_relaxation_curves,
    fig_relaxation_times,
)
from sulfurscope.simulate.gitt import simulate_gitt


def _tables(cells: dict[str, tuple[float, float | None]], v0: str = "first_rest_point"):
    """Tables of several simulated cells, concatenated with a Task column (as the CLI writes)."""
    import pandas as pd

    parts: dict[str, list] = {}
    for task, (size, mass) in cells.items():
        df = simulate_gitt(particle_size_um=size, sulfur_mass_mg=2.0, rng=np.random.default_rng(0))
        res = analyse_gitt(df, GittOptions(sulfur_mass_mg=mass, v0=v0))
        for name, t in res.tables.items():
            parts.setdefault(name, []).append(t.assign(Task=task))
    return {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}


def test_voltage_figure_has_relaxation_curve_through_rest_ends():
    tables = _tables({"8 um": (8.0, 2.0)})
    fig = fig_gitt_voltage(tables)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert [a.get_title() for a in axes] == [
        "8 um — first discharge",
        "8 um — first charge",
        "8 um — second discharge",
    ]
    red = axes[0].get_lines()[1]
    s = tables["gitt_steps"]
    first = s[(s["Half cycle label"] == "first discharge") & s["Has rest"]]
    np.testing.assert_allclose(red.get_ydata(), first["QOCV [V]"])
    np.testing.assert_allclose(red.get_xdata(), first["Specific capacity [mAh/g]"])
    # only the chosen half-cycle's trace: no point beyond the half-cycle's capacity
    blue = axes[0].get_lines()[0]
    assert np.nanmax(blue.get_xdata()) <= first["Specific capacity [mAh/g]"].max() * 1.05


def test_tau_figure_one_marker_set_per_cell_and_convention_in_title():
    tables = _tables({"1 um": (1.0, 2.0), "8 um": (8.0, 2.0)}, v0="last_under_current")
    fig = fig_relaxation_times(tables)
    assert "last_under_current" in fig.get_suptitle()
    ax = fig.get_axes()[0]
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["1 um", "8 um"]


def test_curve_figure_and_levels():
    fig = fig_relaxation_curves(_tables({"4 um": (4.0, 2.0)}))
    ax = fig.get_axes()[0]
    levels = sorted(float(line.get_ydata()[0]) for line in ax.get_lines()[-2:])
    np.testing.assert_allclose(levels, [np.exp(-1), 1 - np.exp(-1)])
    assert ax.get_xscale() == "log"


def test_figures_draw_nothing_without_sulfur_mass():
    tables = _tables({"4 um": (4.0, None)})
    assert "Specific capacity [mAh/g]" not in tables["gitt_steps"].columns
    assert fig_gitt_voltage(tables) is None
    assert fig_relaxation_curves({}) is None
    assert fig_relaxation_times({}) is None
