"""
Fig 1f — capacity retention and the fade plateau
================================================

Retention Q_n/Q_2 and cycle-to-cycle Q_n/Q_(n−1) of the long-cycling cells (C/10). The plateau
cycle is the first cycle after which the rolling fade rate stays below a stated threshold for a
stated window of cycles (``--plateau-threshold-pct``, ``--plateau-window-cycles``).
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
figures, failed = draw_figures("cycling", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig1f',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``cycling_retention_fit`` table (also in ``results.duckdb``).
table = tables["cycling_retention_fit"]
print(table.head(12).to_string(index=False))
