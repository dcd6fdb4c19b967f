"""Turn tables into text safely: aligned text, CSV, JSON, Markdown, HTML.

Text that came from logs (job names, users, tags) is untrusted: CSV cells that
a spreadsheet would run as formulas are neutralized, Markdown and HTML are
escaped. This module is the only place that formats output rows.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rdcost.jsonable import iso, json_ready, plain  # noqa: F401  (re-exported)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def csv_safe(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would evaluate with a quote.

    Numbers (including negative ones) are left alone: only text is neutralized.
    A carriage return becomes a newline: the csv module does not quote a cell
    holding a bare CR when lines end in LF, and a spreadsheet would start a new
    row (whose first cell could be a formula) there.
    """
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if value.startswith(_FORMULA_START) and not _NUMBER.match(value):
            return "'" + value
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def to_json(obj: Any) -> str:
    if isinstance(obj, pd.DataFrame):
        obj = records(obj)
    return json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default, allow_nan=False)


def _json_default(o: Any) -> Any:
    v = plain(o)
    if v is o:
        return str(o)
    return v


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_safe(c) for c in df.columns])
    for row in df.itertuples(index=False):
        w.writerow([csv_safe(_cell(v)) for v in row])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    v = plain(v)
    return "" if v is None else v


def md_escape(text: Any) -> str:
    s = printable("" if text is None else str(text))
    s = html.escape(s, quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~>])", r"\\\1", s)


_LINE_BREAKS = re.compile("[\r\n\t\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from logs made safe for one line of a terminal or table: line breaks
    and tabs become spaces, other control characters (escape sequences that would
    move the cursor or recolour a terminal) become visible ``\\xNN``."""
    s = _LINE_BREAKS.sub(" ", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def html_escape(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def to_markdown(df: pd.DataFrame, align_right: Sequence[str] = ()) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(md_escape(c) for c in cols) + " |",
             "| " + " | ".join("---:" if c in align_right else "---" for c in cols) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(md_escape(_cell(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


def to_text_table(df: pd.DataFrame, max_width: int = 40) -> str:
    """A plain aligned table (no colours), numbers right-aligned, long cells cut with '…'."""
    cols = list(df.columns)
    cells = [[_fmt(v, max_width) for v in row] for row in df.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in cols]
    widths = [max([len(printable(str(c)))] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    def line(vals):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(vals, widths, numeric, strict=True)).rstrip()
    out = [line([printable(str(c)) for c in cols]), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out) + "\n"


def fmt(v: Any, kind: str = "", *, usd_cents_below: float = 1) -> str:
    """A figure for reading: thousands separators, sensible decimals, 'unknown' for None/NA/NaN.

    ``kind``: ``usd`` ($1,234; with cents below ``usd_cents_below`` dollars: $0.43),
    ``pct`` (a fraction as 12.3%), ``int`` (rounded to a whole number).
    """
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "unknown"
    if kind == "usd":
        return f"${v:,.0f}" if abs(v) >= usd_cents_below else f"${v:,.2f}"
    if kind == "pct":
        return f"{100 * v:.1f}%"
    if kind == "int" or isinstance(v, int | np.integer):
        return f"{int(round(v)):,}"
    a = abs(float(v))
    if a >= 100 or a == 0:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    if a >= 0.01:
        return f"{v:,.2f}"
    return f"{v:.3g}"


def _fmt(v: Any, max_width: int) -> str:
    v = plain(v)
    if v is None:
        return ""
    if isinstance(v, float):
        s = f"{v:,.2f}" if abs(v) < 1e15 else f"{v:.3g}"
    else:
        s = printable(str(v))
    return s if len(s) <= max_width else s[: max_width - 1] + "…"
