"""
Fig 2, S4 — GITT: overpotential and relaxation times
====================================================

GITT with a rest after every 100 mAh/g_S at C/10. τ is read where the normalised relaxation
reaches 1 − 1/e on discharge and 1/e on charge (V0 at the first rest sample, V∞ the rest's last
sample). In the first discharge the large particles relax up to 3× more slowly; afterwards τ is
alike for all sizes. CLI: ``sulfurscope gitt``; guide: *GITT*.
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
# The GITT trace of one cell with its quasi-OCV.
figures, failed = draw_figures("gitt", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig2af',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown[:1]:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The figure, drawn from the store's tables by the same function as the report and the CLI.
figures, failed = draw_figures("gitt", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig2_overpotential', 'fig2gi', 'figS4'))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``gitt_relaxation`` table (also in ``results.duckdb``).
table = tables["gitt_relaxation"]
print(table.head(12).to_string(index=False))
