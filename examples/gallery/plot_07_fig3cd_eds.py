"""
Fig 3c/d — STEM-EDS maps and profiles from the surface
======================================================

Net-intensity maps (background-subtracted line windows) of a discharged large particle and their
profiles against depth from the particle's surface: LiF (F) rich in the outer ~100 nm, detectable
to ~1 µm; S roughly uniform. The depth where F falls to 1/e and where it reaches the detection
limit (3σ of the background) are given with intervals. CLI: ``sulfurscope eds``.
"""

# %%
# The demo study — **simulated data**, labelled so in every file — is simulated and run through the
# study pipeline once (``sulfurscope demo`` does the same); later examples reuse its results folder.
from sulfurscope.report.figures import draw_figures, show
from sulfurscope.study import read_tables
from sulfurscope.study.demo import demo_results

results = demo_results()
tables = read_tables(results)

# %%
# The figure, drawn from the store's tables by the same function as the report and the CLI.
figures, failed = draw_figures("eds", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig3c', 'fig3d'))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``eds_depth`` table (also in ``results.duckdb``).
table = tables["eds_depth"]
print(table.head(12).to_string(index=False))
