"""Fixtures of the study tests: one full run with a report (hostile sample name), shared read-only."""

from __future__ import annotations

import pytest

from sulfurscope.study.pipeline import run_study
from tests.study._synth import add_images, make_study

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def reported_study(tmp_path_factory):
    """A synthetic study (cycling, GITT, SEM, HRTEM) whose small-particle sample is named
    ``<script>alert(1)</script>``, analysed with its report. Do not modify."""
    folder = tmp_path_factory.mktemp("reported")
    manifest = make_study(folder, small=HOSTILE, title="Study <b>&</b> 'quotes'")
    add_images(folder, manifest, small=HOSTILE)
    result = run_study(manifest, folder / "out", workers=1)
    return folder, result
