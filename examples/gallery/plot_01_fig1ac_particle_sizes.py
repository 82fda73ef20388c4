"""
Fig 1a–c, S8 — particle-size distributions from SEM
===================================================

SEM images of the three milled carbons are segmented (background flattening, threshold, watershed
split of touching particles, edge particles excluded) and each particle's equivalent circular
diameter (ECD = √(4A/π)) is measured; the distribution gives the mean, sd and D[4,3] with bootstrap
intervals. CLI: ``sulfurscope particles IMAGE --pixel-size-nm P``; guide: *Particle sizes*.
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
figures, failed = draw_figures("particles", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig1_sizes',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# One segmentation overlay (Fig S8): every measured particle outlined.
figures, failed = draw_figures("particles", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('figS8_overlay',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown[:1]:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``particle_distribution`` table (also in ``results.duckdb``).
table = tables["particle_distribution"]
print(table.head(12).to_string(index=False))
