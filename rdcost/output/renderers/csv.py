"""CSV: a data table, one header line, formula-safe cells (:func:`rdcost.output.render.csv_safe`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from rdcost.jsonable import plain
from rdcost.output.blocks import Table, cell
from rdcost.output.render import csv_safe


def rows(header: Sequence[Any], body: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_safe(c) for c in header])
    for row in body:
        w.writerow([csv_safe(_value(v)) for v in row])
    return buf.getvalue()


def _value(v: Any) -> Any:
    """Numbers stay numbers (csv writes their repr); missing values are empty."""
    if isinstance(v, str):
        return v
    v = plain(v)
    return "" if v is None else v


def frame(df: pd.DataFrame) -> str:
    """A data frame as CSV: values as they are (numbers unrounded), missing ones empty."""
    return rows(list(df.columns), df.itertuples(index=False, name=None))


def table(t: Table) -> str:
    """A table of display strings as CSV."""
    return rows(t.columns, ([cell(v) for v in r] for r in t.rows))
