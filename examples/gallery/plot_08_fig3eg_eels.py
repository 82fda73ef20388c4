"""
Fig 3e–g — EELS line scan from the surface
==========================================

t/λ from the low-loss spectrum (log-ratio), power-law background under each core-loss edge,
edge integrals divided by t/λ along the line scan, and the Li K fingerprint compared with reference
spectra. CLI: ``sulfurscope eels``.
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
figures, failed = draw_figures("eels", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig3g', 'eels_thickness', 'eels_fingerprint'))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``eels_depth`` table (also in ``results.duckdb``).
table = tables["eels_depth"]
print(table.head(12).to_string(index=False))
