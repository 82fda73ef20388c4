"""
Fig 5 — particle-size model: active shell and predictions
=========================================================

Only an outer shell of thickness δ becomes active: active fraction 1 − (1 − 2δ/d)³ averaged over
the measured size distribution. Model C (cycling) is fitted to the smallest particles' rate test,
model B (first-discharge formation) to the GITT, and the large particles' rate capability is
predicted as the smallest's × their active fraction. CLI: ``sulfurscope model fit RESULTS``.
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
figures, failed = draw_figures("model_fit", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig5',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``model_parameters`` table (also in ``results.duckdb``).
table = tables["model_parameters"]
print(table.head(12).to_string(index=False))
