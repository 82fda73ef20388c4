"""
Fig 1e — rate capability C/40 … C/2.5
=====================================

Discharge and charge capacity per cycle of the rate tests; the C-rate blocks (5 cycles each) are
found from the measured current, and each block's coulombic efficiency comes from its own
discharge/charge pairs. Smaller particles give about twice the capacity at C/2.5.
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
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig1e',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``cycling_rate_blocks`` table (also in ``results.duckdb``).
table = tables["cycling_rate_blocks"]
print(table.head(12).to_string(index=False))
