"""Renderers: a :class:`rdcost.output.blocks.Document` (or a data table) in one output format.

One module per format: :mod:`.text` (terminal tables, through rich, no colour),
:mod:`.markdown`, :mod:`.html` (a self-contained page), :mod:`.csv` (tables, formula-safe),
:mod:`.json` (results' ``to_dict``), :mod:`.latex` (the compute statement). They format no
number and escape every string with :mod:`rdcost.output.render`.
"""

from __future__ import annotations

from rdcost.output.blocks import Document


def document(doc: Document, format: str) -> str:
    """The document as ``table`` (text) or ``markdown``."""
    from rdcost.output.renderers import markdown, text

    if format == "markdown":
        return markdown.render(doc)
    if format in ("table", "text"):
        return text.render(doc)
    raise ValueError(f"no document renderer for {format!r}")
