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


@dataclass
class ByteBlock:
    """Consecutive whole lines of a file as the bytes read (``\n`` between them, none
    after the last): line ``first_line`` to ``first_line + n_lines - 1``."""

    data: bytes
    first_line: int
    n_lines: int
    bytes_done: int

    def lines(self) -> LineBlock:
        """The same lines as :func:`iter_line_blocks` gives them (decoded, ``\r`` cut)."""
        lines = pc.list_flatten(
            pc.split_pattern(
                pa.array([self.data.decode("utf-8", "replace")], pa.large_string()), "\n"
            )
        )
        lines = pc.utf8_rtrim(lines, characters="\r")
        return LineBlock(lines=lines, first_line=self.first_line, bytes_done=self.bytes_done)


def iter_byte_blocks(
    path: Path, skip_lines: int = 0, block_bytes: int | None = None
) -> Iterator[ByteBlock]:
    """The lines of ``path`` after the first ``skip_lines`` as undecoded blocks of about
    ``block_bytes``, cut at line ends (so a block decodes on its own: a ``\n`` byte is
    never inside a UTF-8 sequence); a UTF-8 byte order mark at the start is dropped.
    ``block.lines()`` equals what :func:`iter_line_blocks` yields for the same lines."""
    block_bytes = block_bytes or BLOCK_BYTES
    line_no = 1
    carry = b""
    done = 0
    first = True
    with open(path, "rb") as fh:
        while True:
            raw = fh.read(block_bytes)
            done += len(raw)
            data = carry + raw if carry else raw
            if first:
                if len(data) < 3 and raw:
                    carry = data
                    continue
                data = data.removeprefix(b"\xef\xbb\xbf")
                first = False
            while skip_lines and data:
                cut = data.find(b"\n")
                if cut < 0:
                    break
                data = data[cut + 1 :]
                skip_lines -= 1
                line_no += 1
            if raw:
                if skip_lines:
                    carry = data
                    continue
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                body, carry = data[:cut], data[cut + 1 :]
            else:
                body, carry = data, b""
                if not body or skip_lines:
                    return
            n = body.count(b"\n") + 1
            yield ByteBlock(body, line_no, n, done)
            line_no += n
            if not raw:
                return


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
