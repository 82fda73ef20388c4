"""
Fig S1 — Raman D and G bands
============================

Two-band (Lorentzian D + BWF G) and Sadezky five-band fits of the carbons after baseline removal;
I_D/I_G by height and by area, with multi-start intervals. CLI: ``sulfurscope raman``.
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
figures, failed = draw_figures("raman", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('figS1', 'raman_fit'))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown[:3]:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``raman_summary`` table (also in ``results.duckdb``).
table = tables["raman_summary"]
print(table.head(12).to_string(index=False))
