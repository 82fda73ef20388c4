"""
Replicate cells — condition means with 95 % intervals
=====================================================

Cells of one condition (by default their sample) give n, mean, sd and a 95 % interval per metric;
the sulfur-mass uncertainty (balance, area, TGA fraction) is carried into every specific capacity.
With one cell per condition (this gallery) the interval is that cell's mass uncertainty. CLI:
``sulfurscope replicates RESULTS``; guide: *Replicate cells*.
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
figures, failed = draw_figures("replicates", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig1e_condition', 'fig2_condition'))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``condition_stats`` table (also in ``results.duckdb``).
table = tables["condition_stats"]
print(table.head(12).to_string(index=False))
