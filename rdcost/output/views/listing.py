"""Listings: the stored job table (`rdcost jobs`), the grid searches (`rdcost groups`) and the
plot kinds (`rdcost plot --list`).

The text form shows numbers with separators and cuts long cells; the Markdown form shows
each value as its own text (as CSV does), numeric columns aligned right.
"""

from __future__ import annotations

import pandas as pd

from rdcost.output.blocks import Document, Table
from rdcost.output.numbers import integer
from rdcost.plural import plural

#: Longest cell shown in text: job names, tags and JSON are cut with '…'; search ids stay whole.
JOBS_MAX_WIDTH = 40
SEARCHES_MAX_WIDTH = 64


def jobs(df: pd.DataFrame, *, raw: bool = False) -> Document:
    return Document("rdcost jobs", [Table.from_frame(df, max_width=JOBS_MAX_WIDTH, raw=raw)])


def searches(df: pd.DataFrame, *, raw: bool = False) -> Document:
    """One row per search, or per job of a search (--members); GPU-hours to 2 decimals."""
    shown = df.round({"gpu_hours": 2}) if raw and "gpu_hours" in df else df
    return Document(
        "rdcost groups", [Table.from_frame(shown, max_width=SEARCHES_MAX_WIDTH, raw=raw)]
    )


def searches_caption(table: pd.DataFrame, n_jobs: int) -> str:
    """What the listing holds, in one line (a message: stderr)."""
    if "n_jobs" in table:
        by = table["search_method"].value_counts()
        return (
            f"{plural(len(table), 'search')} ({', '.join(f'{integer(n)} {m}' for m, n in by.items())}) "
            f"holding {integer(table['n_jobs'].sum())} of {plural(n_jobs, 'job')}"
        )
    n = table["search_id"].nunique()
    return f"{plural(len(table), 'job')} in {integer(n)} search{'es' if n != 1 else ''}"


def plot_kinds(kinds: dict[str, str]) -> Document:
    """Every plot kind with what it shows (`rdcost plot --list`)."""
    return Document("rdcost plot kinds", [Table.of(("kind", "what it shows"), kinds.items())])
