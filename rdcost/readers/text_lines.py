"""A text file as blocks of lines (Arrow strings) with their exact line numbers.

Lines are cut at ``\\n`` (a ``\\r`` before it is dropped); bytes that are not UTF-8
become U+FFFD, so one bad byte never stops the file; a UTF-8 byte order mark at the
start is dropped. Each block holds whole lines of about ``block_bytes`` bytes, and
says how many bytes of the file have been read (for progress).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BLOCK_BYTES = 8 << 20


@dataclass
class LineBlock:
    """Consecutive lines of a file: ``lines[i]`` is line ``first_line + i`` (1-based)."""

    lines: pa.Array
    first_line: int
    bytes_done: int

    @property
    def numbers(self) -> np.ndarray:
        return np.arange(self.first_line, self.first_line + len(self.lines), dtype=np.int64)


def iter_line_blocks(
    path: Path, skip_lines: int = 0, block_bytes: int | None = None
) -> Iterator[LineBlock]:
    """The lines of ``path`` after the first ``skip_lines``, in blocks of about
    ``block_bytes`` (default :data:`BLOCK_BYTES`; see the module doc)."""
    block_bytes = block_bytes or BLOCK_BYTES
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    line_no = 1
    carry = ""
    done = 0
    first = True
    with open(path, "rb") as fh:
        while True:
            raw = fh.read(block_bytes)
            done += len(raw)
            text = carry + decoder.decode(raw, final=not raw)
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            if raw:
                cut = text.rfind("\n")
                if cut < 0:
                    carry = text
                    continue
                body, carry = text[:cut], text[cut + 1 :]
            else:
                body, carry = text, ""
                if not body:
                    return
            lines = pc.list_flatten(pc.split_pattern(pa.array([body], pa.large_string()), "\n"))
            lines = pc.utf8_rtrim(lines, characters="\r")
            if skip_lines:
                dropped = min(skip_lines, len(lines))
                lines = lines.slice(dropped)
                skip_lines -= dropped
                line_no += dropped
            if len(lines):
                yield LineBlock(lines=lines, first_line=line_no, bytes_done=done)
                line_no += len(lines)
            if not raw:
                return
