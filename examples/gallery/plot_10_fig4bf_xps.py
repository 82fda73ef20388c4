"""
Fig 4b–f, S1–S6 — XPS deconvolution and quantification
======================================================

S 2p, F 1s, Li 1s, C 1s and P 2p regions fitted with the study's component library (Li₂S
160.7 eV, polysulfides 162.0/163.7, C–S 164.6, sulfate 169.7, LiF 685.5 eV …) on a Shirley
background, from several starts; atomic % from the areas with sensitivity factors. CLI:
``sulfurscope xps``.
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
figures, failed = draw_figures("xps", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig4_xps',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown[:4]:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``xps_components`` table (also in ``results.duckdb``).
table = tables["xps_components"]
print(table.head(12).to_string(index=False))
