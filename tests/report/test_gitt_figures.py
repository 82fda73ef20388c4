"""GITT figures: they draw what they are given and refuse without a sulfur mass."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from sulfurscope.cycling.gitt import gitt_steps, relaxation_curves, relaxation_times
from sulfurscope.errors import SulfurscopeError
from sulfurscope.report.gitt import plot_gitt_voltage, plot_relaxation_curves, plot_relaxation_times
from sulfurscope.simulate.gitt import simulate_gitt


def _cell(size: float, mass: float | None = 2.0):
    df = simulate_gitt(particle_size_um=size, sulfur_mass_mg=2.0, rng=np.random.default_rng(0))
    s = gitt_steps(df, sulfur_mass_mg=mass)
    return df, s


def test_voltage_figure_has_relaxation_curve_through_rest_ends():
    df, s = _cell(8.0)
    fig = plot_gitt_voltage(df, s, label="8 um")
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert [a.get_title() for a in axes] == [
        "8 um first discharge",
        "8 um first charge",
        "8 um second discharge",
    ]
    red = axes[0].get_lines()[1]
    first = s.half_cycle_label == "first discharge"
    np.testing.assert_allclose(red.get_ydata(), s.qocv_v[first])
    np.testing.assert_allclose(red.get_xdata(), s.capacity_mah_g[first])


def test_tau_figure_one_marker_set_per_cell_and_convention_in_title():
    times = {}
    for size in (1.0, 8.0):
        df, s = _cell(size)
        times[f"{size:g} um"] = relaxation_times(df, s, v0="last_under_current")
    fig = plot_relaxation_times(times)
    assert "last_under_current" in fig.get_suptitle()
    ax = fig.get_axes()[0]
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["1 um", "8 um"]


def test_curve_figure_and_levels():
    df, s = _cell(4.0)
    c = relaxation_curves(df, s, v0="first_rest_point")
    fig = plot_relaxation_curves({"4 um": c})
    ax = fig.get_axes()[0]
    levels = sorted(float(line.get_ydata()[0]) for line in ax.get_lines()[-2:])
    np.testing.assert_allclose(levels, [np.exp(-1), 1 - np.exp(-1)])
    assert ax.get_xscale() == "log"


def test_figures_refuse_without_sulfur_mass():
    df, s = _cell(4.0, mass=None)
    with pytest.raises(SulfurscopeError, match="sulfur_mass_mg"):
        plot_gitt_voltage(df, s)
    with pytest.raises(SulfurscopeError, match="sulfur_mass_mg"):
        plot_relaxation_times({"x": relaxation_times(df, s, v0="first_rest_point")})
    with pytest.raises(SulfurscopeError, match="at least one cell"):
        plot_relaxation_curves({})
