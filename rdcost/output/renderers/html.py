"""HTML: one self-contained page that works offline.

The style sheet is inline; figures are PNGs embedded as ``data:`` URIs; there is no
script, no external URL, font or style, and a Content-Security-Policy forbids loading
anything but the embedded images. Every string is escaped with
:func:`rdcost.output.render.html_escape`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from rdcost.output.blocks import (
    BulletList,
    Contents,
    Details,
    Document,
    Figure,
    Heading,
    Note,
    Paragraph,
    Preformatted,
    Table,
)
from rdcost.output.render import html_escape as e
from rdcost.output.render import preformatted

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
       font-size: 15px; line-height: 1.45; color: #1a1a1a; background: #fff; max-width: 1100px; margin: 0 auto;
       padding: 1.2rem 1.5rem 3rem; }
h1 { font-size: 1.7rem; margin: 0.4rem 0 0.6rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 0.6rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; }
th, td { border: 1px solid #c8c8c8; padding: 0.25rem 0.5rem; vertical-align: top; text-align: left; }
td.brk { word-break: break-all; min-width: 14ch; }
th { background: #eef3f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody tr:nth-child(even) { background: #f8f8f8; }
figure { margin: 1rem 0 1.4rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85rem; color: #444; margin-top: 0.3rem; }
pre { background: #f4f4f4; border: 1px solid #ddd; padding: 0.6rem; overflow-x: auto; white-space: pre-wrap;
      font-size: 0.82rem; }
code { font-size: 0.9em; }
nav ul { columns: 3; font-size: 0.9rem; }
details summary { cursor: pointer; margin: 0.6rem 0; }
.wrap { overflow-x: auto; }
@media print { body { max-width: none; font-size: 11pt; } h2 { break-after: avoid; }
  figure, table { break-inside: avoid; } nav { display: none; } }
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def render(doc: Document, images: Mapping[str, bytes] | None = None) -> str:
    """The document as one HTML page (``images``: figure id -> PNG bytes; a figure without
    an image is left out)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{e(doc.generator)}">',
        f"<title>{e(doc.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
    ]
    for b in doc.blocks:
        html = _block(b, images or {})
        if html:
            parts.append(html)
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _block(b, images: Mapping[str, bytes]) -> str:
    match b:
        case Heading(text=t, level=1):
            return f"<h1>{e(t)}</h1>"
        case Heading(text=t, level=level, id=id_):
            anchor = f' id="{e(id_)}"' if id_ else ""
            return f"<h{level}{anchor}>{e(t)}</h{level}>"
        case Paragraph(text=t, strong=True):
            return f"<p><strong>{e(t)}</strong></p>"
        case Paragraph(text=t) | Note(text=t):
            return f"<p>{e(t)}</p>"
        case Contents(entries=entries):
            links = "".join(f'<li><a href="#{e(i)}">{e(t)}</a></li>' for i, t in entries)
            return f"<nav><ul>{links}</ul></nav>"
        case BulletList(items=items):
            return "<ul>" + "".join(f"<li>{e(t)}</li>" for t in items) + "</ul>"
        case Table():
            return table(b)
        case Details(summary=s, table=t):
            return f"<details><summary>{e(s)}</summary>{table(t)}</details>"
        case Preformatted(text=t):
            return f"<pre>{e(preformatted(t))}</pre>"
        case Figure(id=kind, caption=c):
            png = images.get(kind)
            if png is None:
                return ""
            data = base64.b64encode(png).decode("ascii")
            return (
                f'<figure id="plot-{e(kind)}"><img src="data:image/png;base64,{data}" alt="{e(c)}">'
                f"<figcaption>{e(c)} (plot kind: {e(kind)})</figcaption></figure>"
            )
    raise TypeError(f"not a block: {b!r}")


def table(t: Table) -> str:
    """A table in a horizontally scrolling box; right-aligned columns have class ``num``,
    breakable ones ``brk``."""
    cls = {
        c: (' class="num"' if c in t.right else ' class="brk"' if c in t.breakable else "")
        for c in t.columns
    }
    head = "".join(f"<th{cls[c] if c in t.right else ''}>{e(c)}</th>" for c in t.columns)
    body = [
        "<tr>"
        + "".join(f"<td{cls[c]}>{e(v)}</td>" for c, v in zip(t.columns, row, strict=True))
        + "</tr>"
        for row in t.rows
    ]
    return (
        '<div class="wrap"><table>\n<thead><tr>'
        + head
        + "</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table></div>"
    )
