"""
Fig 4a, S6 — HRTEM lattice fringes by FFT
=========================================

The FFT of an HRTEM image: spots and rings are found above the noise, converted to d-spacings and
indexed to LiF (111) and Li₂S (111) within a tolerance. CLI: ``sulfurscope lattice``.
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
figures, failed = draw_figures("lattice", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig4a',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``lattice_spots`` table (also in ``results.duckdb``).
table = tables["lattice_spots"]
print(table.head(12).to_string(index=False))
