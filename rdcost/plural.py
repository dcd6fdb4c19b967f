"""Counts with their noun, singular or plural: ``plural(1, "job")`` is "1 job",
``plural(4789, "job")`` is "4,789 jobs". Used by every message and view that counts."""

from __future__ import annotations

IRREGULAR = {"search": "searches", "was": "were", "is": "are", "has": "have", "its": "their"}


def plural(n: int | float, word: str, many: str | None = None) -> str:
    """``n`` with thousands separators and ``word`` (or ``many``, else its plural form)."""
    return (
        f"{n:,.0f} {noun(n, word, many)}"
        if float(n).is_integer()
        else f"{n:,} {noun(n, word, many)}"
    )


def noun(n: int | float, word: str, many: str | None = None) -> str:
    """``word`` when ``n`` is one, else ``many`` (default: the word's plural)."""
    if n == 1:
        return word
    if many is not None:
        return many
    last = word.rsplit(" ", 1)[-1]
    head = word[: len(word) - len(last)]
    if last in IRREGULAR:
        return head + IRREGULAR[last]
    if last.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"
