"""The one exception base of rdcost.

Every error a user can cause (bad input, bad option, unreadable store) is an
``RdcostError``. The CLI catches only these (and ``OSError``), prints
``rdcost: error: <message>`` on stderr and exits 1. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RdcostError(Exception):
    """Base of all rdcost errors, with structured context.

    ``path``/``line`` locate the input, ``column`` names the field, ``value``
    is the text found and ``expected`` what the grammar wanted.
    """

    message: str
    path: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        text = where
        if self.column is not None:
            text += f"column {self.column!r}: "
        if self.expected is not None and self.value is not None:
            text += f"expected {self.expected}, got {_short(self.value)!r}"
            if self.message:
                text += f" ({self.message})"
        else:
            text += self.message
            if self.value is not None:
                text += f": {_short(self.value)!r}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def _short(value: str, limit: int = 80) -> str:
    value = str(value)
    return value if len(value) <= limit else value[: limit - 3] + "..."


class ParseError(RdcostError, ValueError):
    """A record or file that does not follow its format's grammar."""


class FormatDetectionError(RdcostError, ValueError):
    """A file whose format cannot be recognised, or that is not a job table."""


class NothingIngestibleError(RdcostError, ValueError):
    """A file that was read but held no record that could be stored."""


class StoreError(RdcostError, OSError):
    """The store cannot be opened, read or written (corrupt, locked, ...)."""


class StoreLockedError(StoreError):
    """Another process holds the store's write lock."""


class UsageError(RdcostError, ValueError):
    """An option or argument that cannot work (CLI exit status 2)."""


class AssumptionError(RdcostError, ValueError):
    """An assumption (price, power, PUE, carbon intensity) that is missing or invalid."""
