"""One self-contained HTML report: every figure (embedded PNG) and table of an analysis.

A report is a list of :class:`ReportSection` (title, text, figure files, tables); the HTML embeds the
figures as base64 so the report is one file that can be mailed or archived.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sulfurscope._files import atomic_write_bytes

__all__ = ["ReportSection", "render_html_report", "write_html_report"]


@dataclass(frozen=True, slots=True)
class ReportSection:
    """A section of the report: a heading, a paragraph, figures (PNG paths with their captions),
    titled tables and flags (warnings and failures, shown before the figures)."""

    title: str
    text: str = ""
    figures: tuple[Path, ...] = ()
    tables: tuple[tuple[str, pd.DataFrame], ...] = field(default_factory=tuple)
    captions: tuple[str, ...] = ()
    flags: pd.DataFrame | None = None


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.note{background:#fff3cd;border:1px solid #e0c060;padding:.6em 1em;font-weight:600}
figure{display:inline-block;margin:.5em;vertical-align:top} figure img{max-width:520px}
figcaption{font-size:.8em;color:#555}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0} td,th{border:1px solid #ccc;padding:.2em .5em}
th{background:#f3f3f3} caption{text-align:left;font-weight:600;padding:.3em 0}
.tbl{overflow-x:auto;max-width:100%}
.flags{list-style:none;padding-left:0} .flag{padding:.2em .5em;margin:.15em 0;border-left:4px solid #999}
.flag.failed{border-color:#c0392b;background:#fdecea} .flag.warning{border-color:#e0a800;background:#fff8e1}
.flag.note{border-color:#7f8c8d;background:#f4f6f6} .file{color:#999}
.foot{font-size:.75em;color:#666;margin:.2em 0}
.summary td:first-child{font-weight:600}
"""


#: What an empty cell of a report table means (its footnote).
EMPTY = "—"
EMPTY_NOTE = (
    "— : no value — not given, not applicable, or not determined (the section's flags say why)."
)


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and value.strip() in ("", "nan", "NaN", "None", "<NA>")


def _show_empty(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Empty cells as "—" (numeric columns keep their type; the renderer's na_rep does it)."""
    out = table.copy()
    any_empty = bool(out.isna().to_numpy().any()) if len(out) else False
    for col in out.columns:
        if out[col].dtype == object:
            blank = out[col].map(_blank)
            if blank.any():
                any_empty = True
                out[col] = out[col].where(~blank, EMPTY)
    return out, any_empty


def _table_html(
    title: str, table: pd.DataFrame, max_rows: int, more_rows_in: str = "the CSV"
) -> str:
    shown, any_empty = _show_empty(table.head(max_rows))
    body = shown.to_html(
        index=False, float_format=lambda x: f"{x:.4g}", border=0, na_rep=EMPTY, escape=True
    )
    more = (
        f"<p><em>{len(table) - max_rows} more rows in {html.escape(more_rows_in)}.</em></p>"
        if len(table) > max_rows
        else ""
    )
    note = f"<p class='foot'>{html.escape(EMPTY_NOTE)}</p>" if any_empty else ""
    return f"<div class='tbl'><strong>{html.escape(title)}</strong>{body}{note}{more}</div>"


def _flags_html(flags: pd.DataFrame) -> str:
    """Warnings and failures of a section, failed first, each with its reason."""
    order = {"failed": 0, "warning": 1, "note": 2}
    rows = sorted(flags.to_dict(orient="records"), key=lambda r: order.get(r.get("Severity"), 3))
    items = []
    for r in rows:
        sev = str(r.get("Severity", ""))
        who = " · ".join(str(r[k]) for k in ("Task", "Subject") if r.get(k))
        items.append(
            f"<li class='flag {html.escape(sev)}'><strong>{html.escape(sev)}</strong> "
            f"<code>{html.escape(str(r.get('Code', '')))}</code> "
            f"{html.escape(who)}{': ' if who else ''}{html.escape(str(r.get('Message', '')))}</li>"
        )
    return "<ul class='flags'>" + "".join(items) + "</ul>"


def render_html_report(
    sections: Sequence[ReportSection],
    *,
    title: str,
    note: str = "",
    max_rows: int = 40,
    more_rows_in: str = "the CSV",
) -> str:
    """The report as one HTML string (figures read from their files and embedded).

    Every string (titles, text, table cells, file names) is HTML-escaped; the page loads nothing
    from the network (figures are ``data:`` URIs, the icon is empty).
    """
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if note:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    parts.append(
        "<ul>"
        + "".join(
            f"<li><a href='#s{k}'>{html.escape(s.title)}</a></li>" for k, s in enumerate(sections)
        )
        + "</ul>"
    )
    for k, s in enumerate(sections):
        parts.append(f"<h2 id='s{k}'>{html.escape(s.title)}</h2>")
        if s.text:
            parts += [f"<p>{html.escape(p)}</p>" for p in s.text.split("\n\n")]
        if s.flags is not None and len(s.flags):
            parts.append(_flags_html(s.flags))
        for j, fig in enumerate(s.figures):
            data = base64.b64encode(Path(fig).read_bytes()).decode("ascii")
            caption = s.captions[j] if j < len(s.captions) and s.captions[j] else Path(fig).stem
            parts.append(
                f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(caption)} <span class='file'>"
                f"({html.escape(Path(fig).name)})</span></figcaption></figure>"
            )
        for name, table in s.tables:
            parts.append(_table_html(name, table, max_rows, more_rows_in))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html_report(
    path: str | Path,
    sections: Sequence[ReportSection],
    *,
    title: str,
    note: str = "",
    max_rows: int = 40,
    more_rows_in: str = "the CSV",
) -> Path:
    """Render and write the report atomically; return its path."""
    return atomic_write_bytes(
        path,
        render_html_report(
            sections, title=title, note=note, max_rows=max_rows, more_rows_in=more_rows_in
        ).encode("utf-8"),
    )
