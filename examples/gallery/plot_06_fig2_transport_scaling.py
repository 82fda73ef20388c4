"""
Fig 2 — τ ∝ L²/D across particle sizes
======================================

τ of the first discharge against particle size, fitted with the pulse-length-aware sphere
relation τ = G(t_p D/R²)·R²/D (MODEL.md, "GITT interpretation"), gives one diffusivity D with its
95 % interval; each rest's own D and the flags of rests too short to determine it are in
``gitt_diffusivity``.
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
figures, failed = draw_figures("gitt_scaling", tables)
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig2_tau_scaling',))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The numbers behind it: the store's ``gitt_scaling`` table (also in ``results.duckdb``).
table = tables["gitt_scaling"]
print(table.head(12).to_string(index=False))

# %%
# The numbers behind it: the store's ``gitt_diffusivity`` table (also in ``results.duckdb``).
table = tables["gitt_diffusivity"]
print(table.head(12).to_string(index=False))
