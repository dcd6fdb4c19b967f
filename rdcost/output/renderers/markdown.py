"""Markdown: ``#`` headings, pipe tables (numbers aligned right), lists, fenced code.

Every string is escaped with :func:`rdcost.output.render.md_escape` (or the ``escape``
given: :func:`rdcost.output.render.md_cell` for the compute statement, meant to be pasted
and read as it is). Figures link the image file given for their kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

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
from rdcost.output.render import md_escape, preformatted

Escape = Callable[[Any], str]


def render(
    doc: Document, images: Mapping[str, str] | None = None, escape: Escape = md_escape
) -> str:
    """The document as Markdown (``images``: figure id -> relative path of its image)."""
    parts: list[str] = []
    for b in doc.blocks:
        parts += _block(b, images or {}, escape)
    return "\n".join(parts).rstrip("\n") + "\n"


def _block(b, images: Mapping[str, str], m: Escape) -> list[str]:
    match b:
        case Heading(text=t, level=level):
            return [f"{'#' * level} {m(t)}", ""]
        case Paragraph(text=t, strong=True):
            return [f"**{m(t)}**", ""]
        case Paragraph(text=t) | Note(text=t):
            return [m(t), ""]
        case BulletList(items=items):
            return [*(f"- {m(x)}" for x in items), ""]
        case Table():
            return [table(b, m)]
        case Details(summary=s, table=t):
            return [f"**{m(s)}**", "", table(t, m)]
        case Preformatted(text=t):  # shown literally in a fence the text cannot close
            fence = "````" if "```" in t else "```"
            return [fence, preformatted(t.rstrip("\n")).replace(fence, ""), fence, ""]
        case Figure(id=kind, caption=c):
            if kind not in images:
                return []
            return [f"![{m(c)}]({images[kind]})", "", f"*{m(c)}*", ""]
        case Contents():
            return []
    raise TypeError(f"not a block: {b!r}")


def table(t: Table, escape: Escape = md_escape) -> str:
    """A pipe table; its right-aligned columns marked ``---:``."""
    lines = [
        "| " + " | ".join(escape(c) for c in t.columns) + " |",
        "| " + " | ".join("---:" if c in t.right else "---" for c in t.columns) + " |",
    ]
    lines += ["| " + " | ".join(escape(v) for v in row) + " |" for row in t.rows]
    return "\n".join(lines) + "\n"


def frame(df: pd.DataFrame, align_right: Sequence[str] = ()) -> str:
    """A data frame as a pipe table, each value as its own text (as CSV shows it)."""
    t = Table.from_frame(df, raw=True)
    return table(Table(t.columns, t.rows, frozenset(align_right)))
