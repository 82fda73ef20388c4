"""Microscopy figures (report/microscopy.py): from result objects and from the analysis tables."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sulfurscope.analysis.lattice import LatticeOptions, analyse_lattice
from sulfurscope.io.images import Micrograph
from sulfurscope.microscopy.calibration import Calibration
from sulfurscope.microscopy.lattice import fft_filter, lattice_spacings
from sulfurscope.microscopy.particles import measure_particles, segment_particles, size_distribution
from sulfurscope.report.microscopy import (
    fig_lattice,
    particle_overlay_figure,
    size_histogram_figure,
)
from tests.microscopy._synth import render_discs, render_lattice


def test_particle_figures(tmp_path):
    img, _ = render_discs((200, 200), n=12, mean_d_px=20, seed=1)
    labels = segment_particles(img)
    fig = particle_overlay_figure(img, labels, title="discs", pixel_size_nm=10.0)
    assert isinstance(fig, Figure)
    assert "particles" in fig.axes[0].get_title()
    table = measure_particles(labels, pixel_size_nm=10.0)
    dist = size_distribution(table.iloc[:, 2].to_numpy(), length_unit="nm")
    fig = size_histogram_figure(dist, title="h")
    labels_text = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("Gaussian" in t for t in labels_text) and any("log-normal" in t for t in labels_text)
    fig.savefig(tmp_path / "h.png")


def test_lattice_figure_labels_phases(tmp_path):
    from pathlib import Path

    px = 0.02
    img = render_lattice((128, 128), [(px / 0.4027, 0.0), (0.0, -px / 0.4027)], noise=0.2)
    mic = Micrograph(img, Calibration(px, "user", "given"), Path("lattice.tif"), "tiff")
    res = analyse_lattice(mic, LatticeOptions(phase_lattice_angstrom=("X:4.027",), only_phases=True))
    tables = {k: v.assign(Task="lattice") for k, v in res.tables.items()}
    fig = fig_lattice(tables)
    assert len(fig.axes) == 3
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert any("X(" in t for t in texts)
    fig.savefig(tmp_path / "l.png")
    ref = lattice_spacings(img, pixel_size_nm=px)
    filt = fft_filter(img, ref.spots[["fx [1/px]", "fy [1/px]"]].to_numpy())
    assert np.isfinite(filt).all()
