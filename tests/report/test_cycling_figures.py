"""Cycling figures: one colour per cell, legend labels, axes in the study's units."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex

from sulfurscope.cycling import cycle_summary, dqdv, rate_capability, retention, voltage_profiles
from sulfurscope.report import (
    plot_dqdv,
    plot_rate_capability,
    plot_retention,
    plot_voltage_profiles,
    save_figure,
)
from sulfurscope.simulate.cycling import long_cycling_schedule, rate_test_schedule, simulate_run


@pytest.fixture(scope="module")
def cells():
    out = {}
    for label, scale in (("1 um", 1.0), ("8 um", 0.5)):
        law = lambda c, r, d, s=scale: s * 800 * (1 - 0.3 * r) * (1 - 0.002 * c)  # noqa: E731
        frame = simulate_run(
            rate_test_schedule(law, cycles_per_rate=2), sulfur_mass_mg=2.0, points_per_half_cycle=40
        )
        out[label] = frame
    return out


def test_profiles_figure_one_colour_per_cell(cells) -> None:
    fig = plot_voltage_profiles(
        {k: voltage_profiles(f, sulfur_mass_mg=2.0) for k, f in cells.items()}
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["1 um (cycle 2)", "8 um (cycle 2)"]
    colours = {to_hex(line.get_color()) for line in ax.get_lines()}
    assert len(colours) == 2
    assert "mAh/g" in ax.get_xlabel()


def test_rate_figure_labels_blocks(cells) -> None:
    rc = {k: rate_capability(cycle_summary(f, sulfur_mass_mg=2.0)) for k, f in cells.items()}
    fig = plot_rate_capability(rc)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["C/10", "C/40", "C/20", "C/10", "C/5", "C/2.5"]
    # the 8 um cell's points sit at half the 1 um cell's
    lines = fig.axes[0].get_lines()
    y1, y8 = np.asarray(lines[0].get_ydata()), np.asarray(lines[2].get_ydata())
    np.testing.assert_allclose(y8 / y1, 0.5, rtol=1e-3)


def test_retention_and_dqdv_figures(tmp_path, cells) -> None:
    law = lambda c, r, d: 500 * (0.8 + 0.2 * np.exp(-max(c - 2, 0) / 8))  # noqa: E731
    f = simulate_run(
        long_cycling_schedule(law, cycles=30), sulfur_mass_mg=2.0, points_per_half_cycle=40
    )
    r = retention(cycle_summary(f, sulfur_mass_mg=2.0))
    fig = plot_retention({"cell": r})
    top = fig.axes[0]
    x = np.asarray(top.get_lines()[0].get_xdata())
    assert x.min() == 2  # the formation cycle is not drawn as a retention
    p = save_figure(fig, tmp_path / "ret.png")
    assert p.stat().st_size > 1000
    d = {"cell": dqdv(voltage_profiles(f, sulfur_mass_mg=2.0, cycles=[2]))}
    fig2 = plot_dqdv(d)
    assert fig2.axes[0].get_legend().get_texts()[0].get_text() == "cell"
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write leaves no temporary file


def test_profiles_figure_charge_only_cycle_named(cells, tmp_path) -> None:
    """A cell whose drawn cycle holds only a charge (a formation file that starts with a charge)
    still appears in the legend; before, the empty legend's warning stopped the figure."""
    import warnings

    prof = voltage_profiles(cells["1 um"], sulfur_mass_mg=2.0)
    t = prof.table
    charge_only = type(prof)(
        table=t[(t["Cycle"] == 2) & (t["Direction"] == "charge")].reset_index(drop=True),
        sulfur_mass_mg=2.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as the report draws figures
        fig = plot_voltage_profiles({"cell A": charge_only})
    labels = [x.get_text() for x in fig.axes[0].get_legend().get_texts()]
    assert labels == ["cell A (cycle 2)"]
