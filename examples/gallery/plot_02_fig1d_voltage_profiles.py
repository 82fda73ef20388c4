"""
Fig 1d — voltage profiles and dQ/dV
===================================

Voltage against specific capacity (mAh/g of sulfur) of the second cycle, the first after the C/10
formation discharge: one plateau near 2.1 V, the solid-state S ↔ Li₂S conversion. dQ/dV is a
Savitzky–Golay derivative on a uniform voltage grid. CLI: ``sulfurscope cycling``.
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
shown = [(stem, fig, spec) for stem, fig, spec in figures if stem.startswith(('fig1d', 'dqdv'))]
assert shown, f"no figure drawn: {failed}"
for stem, fig, spec in shown:
    print(stem, "—", spec.caption)
    show(fig)

# %%
# The same analysis on one file, as ``sulfurscope cycling FILE --sulfur-mass-mg M`` runs it: read the
# cycler file with :mod:`sulfurscope.io`, analyse it with :func:`sulfurscope.analysis.run_files`.
from sulfurscope.analysis import run_files
from sulfurscope.study import load_study

study = load_study(results.parent / "study.toml")
cell = next(c for c in study.cells if c.protocol == "rate")
one = run_files("cycling", {"file": cell.files[0]}, {"sulfur_mass_mg": cell.sulfur_mass_mg})
print(sorted(one.tables), [f.code for f in one.flags])
