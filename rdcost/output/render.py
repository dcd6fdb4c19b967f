"""Escaping: text made safe for each output format. The one place that does it.

Text that came from logs (job names, users, tags, GPU types, hyperparameter names,
paths) is untrusted. Every renderer (:mod:`rdcost.output.renderers`) passes each string
through the function of its format:

- :func:`printable` (terminal text): line breaks become spaces, other control
  characters (escape sequences) become visible ``\\xNN``;
- :func:`csv_safe` (CSV): a cell a spreadsheet would run as a formula gets a leading ``'``;
- :func:`md_escape` (Markdown): HTML specials and every Markdown markup character
  escaped, one line; :func:`md_cell` escapes less (for text meant to be pasted and read
  as it is: the compute statement) but as safely;
- :func:`html_escape` (HTML): ``< > & " '`` as entities;
- :func:`latex_escape` (LaTeX): the special characters as their commands;
- :func:`preformatted`: text shown as it is (a code block), line breaks kept, other control
  characters shown; the format's own escaping still applies (HTML entities; Markdown
  shows a fenced block literally).
"""

from __future__ import annotations

import html
import re
from typing import Any

from rdcost.jsonable import iso, json_ready, plain  # noqa: F401  (re-exported)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_LINE_BREAKS = re.compile("[\r\n\t\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


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


def printable(text: str) -> str:
    """Text from logs made safe for one line of a terminal or table: line breaks
    and tabs become spaces, other control characters (escape sequences that would
    move the cursor or recolour a terminal) become visible ``\\xNN``."""
    s = _LINE_BREAKS.sub(" ", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def md_escape(text: Any) -> str:
    """Text safe anywhere in Markdown (a table cell, a heading, a list item): one line,
    HTML specials as entities, every markup character escaped."""
    s = printable("" if text is None else str(text))
    s = html.escape(s, quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~>])", r"\\\1", s)


def md_cell(text: Any) -> str:
    """Text safe in a Markdown table cell, still readable: one line, HTML specials as
    entities, and the inline Markdown characters (backslash, backtick, * _ [ ] | ~) escaped."""
    s = html.escape(printable("" if text is None else str(text)), quote=False)
    return re.sub(r"([\\`*_\[\]|~])", r"\\\1", s)


def html_escape(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def latex_escape(text: Any) -> str:
    """Text safe in LaTeX body text, on one line: the ten specials (and < > |) replaced by their
    commands, control characters shown as ``\\xNN``."""
    return "".join(_LATEX.get(ch, ch) for ch in printable("" if text is None else str(text)))


def preformatted(text: str) -> str:
    """Text for a code block: its lines kept, each made :func:`printable`."""
    return "\n".join(printable(line) for line in text.replace("\r\n", "\n").split("\n"))
