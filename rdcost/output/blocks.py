"""The presentation model: what every command prints, as data.

A view (:mod:`rdcost.output.views`) turns a library result into a :class:`Document`:
a title and a list of blocks (headings, paragraphs, tables of display strings, lists,
notes, figures, preformatted text). A renderer (:mod:`rdcost.output.renderers`) turns the
document into text, Markdown, HTML or LaTeX; none of them formats a number (the view did,
with :mod:`rdcost.output.numbers`) and each escapes every string for its format
(:mod:`rdcost.output.render`), since any of them may come from a log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rdcost.jsonable import plain
from rdcost.output.numbers import data_value
from rdcost.version import __version__


@dataclass(frozen=True)
class Heading:
    """A document title (``level`` 1) or a section title (2). ``id``: an anchor (HTML)."""

    text: str
    level: int = 2
    id: str = ""


@dataclass(frozen=True)
class Paragraph:
    """Running text; ``strong`` for a title line that is not a heading (the card's)."""

    text: str
    strong: bool = False


@dataclass(frozen=True)
class Note:
    """A note under a table: a paragraph, except in LaTeX, where it joins the caption."""

    text: str


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]

    def __init__(self, items: Iterable[str]):
        object.__setattr__(self, "items", tuple(items))


@dataclass(frozen=True)
class Contents:
    """A table of contents: (anchor id, section title) pairs. Only HTML shows it (as links)."""

    entries: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """Rows of display strings under column names.

    ``right``: the columns aligned right (numbers); ``breakable``: columns of long unbroken
    text (paths, hashes) that may wrap anywhere (HTML); ``max_width``: cells longer than
    this are cut with '…' in text (listings of raw data, whose cells can be any length).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[str] = frozenset()
    breakable: frozenset[str] = frozenset()
    max_width: int | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row of {len(row)} cells under {len(self.columns)} columns")

    @classmethod
    def of(
        cls,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        right: Iterable[str] = (),
        breakable: Iterable[str] = (),
        max_width: int | None = None,
    ) -> Table:
        """A table from rows of cells (a missing cell shows empty)."""
        return cls(
            tuple(columns),
            tuple(tuple(cell(v) for v in r) for r in rows),
            frozenset(right),
            frozenset(breakable),
            max_width,
        )

    @classmethod
    def from_records(
        cls,
        records: Sequence[Mapping[str, Any]],
        *,
        right: Iterable[str] = (),
        breakable: Iterable[str] = (),
    ) -> Table:
        """A table from dicts of column -> display string (columns in first-seen order)."""
        columns = list(dict.fromkeys(k for r in records for k in r))
        return cls.of(
            columns,
            ([r.get(c) for c in columns] for r in records),
            right=right,
            breakable=breakable,
        )

    @classmethod
    def from_frame(
        cls, df: pd.DataFrame, *, max_width: int | None = None, raw: bool = False
    ) -> Table:
        """A listing of a data frame: numeric columns aligned right; cells shown by
        :func:`rdcost.output.numbers.data_value` (``raw``: as the values' own text, as CSV shows them)."""
        numeric = [
            c
            for c in df.columns
            if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
        ]
        show = cell if raw else data_value
        rows = (tuple(show(v) for v in r) for r in df.itertuples(index=False, name=None))
        return cls(
            tuple(str(c) for c in df.columns),
            tuple(rows),
            frozenset(map(str, numeric)),
            frozenset(),
            max_width,
        )


def cell(v: Any) -> str:
    """A table cell as text: strings as they are, other values as their own text (as CSV
    shows them), missing values empty."""
    if isinstance(v, str):
        return v
    v = plain(v)
    return "" if v is None else str(v)


@dataclass(frozen=True)
class Details:
    """A table folded away under a summary line (HTML ``<details>``)."""

    summary: str
    table: Table


@dataclass(frozen=True)
class Figure:
    """A plot, by its kind (the image is given to the renderer), with its caption."""

    id: str
    caption: str


@dataclass(frozen=True)
class Preformatted:
    """Text shown as it is (a command line, a Markdown snippet)."""

    text: str
    id: str = ""


Block = Heading | Paragraph | Note | BulletList | Contents | Table | Details | Figure | Preformatted


@dataclass
class Document:
    """What a command prints. ``title``: the page title (HTML) or caption (LaTeX); ``id``:
    its label (LaTeX); ``generator``: the program and version that made it."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    id: str = ""
    generator: str = f"rdcost {__version__}"

    def tables(self) -> list[Table]:
        return [
            b if isinstance(b, Table) else b.table
            for b in self.blocks
            if isinstance(b, Table | Details)
        ]
