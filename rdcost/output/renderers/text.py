"""Plain text for a terminal or a pipe: titled sections, tables laid out by rich.

No colour, no markup, no box-drawing characters: the output is data (stdout), the same
whether or not it goes to a terminal. Tables are as wide as their content (a long line is
never wrapped; a listing's cells may be cut with '…' at the table's ``max_width``),
numbers aligned right. Every string goes through :func:`rdcost.output.render.printable`,
so a log's escape sequences are shown, never sent.
"""

from __future__ import annotations

import io

import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

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
from rdcost.output.render import printable

#: Column separators are spaces; one rule of '-' under the header.
RULE_UNDER_HEADER = box.Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True)
PADDING = (
    0,
    1,
    0,
    0,
)  # one space after each cell: with the blank column separator, two between cells


def render(doc: Document) -> str:
    """The document as text lines: a title underlined with '=', then each section's name
    above its table, list or paragraph, blank lines between."""
    lines: list[str] = []
    for b in doc.blocks:
        lines += _block(b)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _block(b) -> list[str]:
    match b:
        case Heading(text=t, level=1):
            t = printable(t)
            return [t, "=" * cell_len(t), ""]
        case Heading(text=t):
            return [printable(t)]
        case Paragraph(text=t) | Note(text=t):
            return [printable(t), ""]
        case BulletList(items=items):
            return [*(f"- {printable(x)}" for x in items), ""]
        case Table():
            return [*table(b).rstrip("\n").split("\n"), ""]
        case Details(summary=s, table=t):
            return [printable(s), *table(t).rstrip("\n").split("\n"), ""]
        case Preformatted(text=t):
            return [*(printable(x) for x in t.rstrip("\n").split("\n")), ""]
        case Figure() | Contents():
            return []
    raise TypeError(f"not a block: {b!r}")


def table(t: Table) -> str:
    """A table: the header, a rule of '-' under it, one line per row; columns two spaces
    apart, right-aligned ones for numbers; no trailing spaces."""
    rt = RichTable(
        box=RULE_UNDER_HEADER,
        show_edge=False,
        pad_edge=False,
        padding=PADDING,
        header_style=None,
        show_header=True,
        expand=False,
    )
    widths = [cell_len(printable(c)) for c in t.columns]
    for c in t.columns:
        rt.add_column(
            Text(printable(c)),
            justify="right" if c in t.right else "left",
            no_wrap=True,
            overflow="ellipsis",
            max_width=t.max_width,
        )
    for row in t.rows:
        cells = [printable(v) for v in row]
        widths = [max(w, cell_len(v)) for w, v in zip(widths, cells, strict=True)]
        rt.add_row(*(Text(v) for v in cells))
    if t.max_width is not None:
        widths = [min(w, t.max_width) for w in widths]
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=sum(widths) + 2 * len(widths) + 2,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        force_interactive=False,
        legacy_windows=False,
        markup=False,
        emoji=False,
        highlight=False,
        no_color=True,
        soft_wrap=False,
    )
    console.print(rt)
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip("\n").split("\n")) + "\n"


def frame(df: pd.DataFrame, max_width: int | None = 40) -> str:
    """A data frame listed as a text table (cells cut at ``max_width`` with '…')."""
    return table(Table.from_frame(df, max_width=max_width))
