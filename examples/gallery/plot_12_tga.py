"""
TGA — sulfur content of the composites
======================================

Mass loss steps of the sulfur–carbon composites are found from derivative peaks; moisture below
~150 °C is excluded and the sulfur fraction is the loss from the first sulfur step's onset to the
end of the last one, with its uncertainty. CLI: ``sulfurscope tga``.
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
figures, failed = draw_figures("tga", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('tga',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``tga_fraction`` table (also in ``results.duckdb``).
table = tables["tga_fraction"]
print(table.head(12).to_string(index=False))
