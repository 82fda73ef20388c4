"""MkDocs hooks: pages generated from the code when the docs are built.

* ``<!-- cli-reference -->``: the CLI reference, made by mkdocs-click from the typer app;
* ``<!-- options: NAME -->``: the options of analysis NAME (manifest key, CLI flag, unit, default,
  help), from its options dataclass — the one definition the CLI and the manifest also use.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("MPLBACKEND", "Agg")

_OPTIONS = re.compile(r"<!-- options: ([a-z_]+) -->")


def _cli_reference() -> str:
    from mkdocs_click._docs import make_command_docs

    from sulfurscope.cli import click_command

    return "\n".join(
        make_command_docs("sulfurscope", click_command, depth=1, style="table",
                          list_subcommands=True, has_attr_list=True)
    )


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("[", "\\[").replace("\n", " ")


def _options_table(name: str) -> str:
    from sulfurscope.analysis import option_flag, options_class

    rows = ["| Manifest key | CLI flag | Unit | Default | What it sets |", "|---|---|---|---|---|"]
    for key, (spec, default) in options_class(name).specs().items():
        flag = f"`{option_flag(key)}`" if spec.cli else "(manifest only)"
        shown = "—" if default is None else f"`{default}`"
        rows.append(f"| `{key}` | {flag} | {_cell(spec.unit) or '—'} | {shown} | {_cell(spec.help)} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 - MkDocs hook
    """Fill the placeholders of a page."""
    if "<!-- cli-reference -->" in markdown:
        markdown = markdown.replace("<!-- cli-reference -->", _cli_reference())
    return _OPTIONS.sub(lambda m: _options_table(m.group(1)), markdown)
