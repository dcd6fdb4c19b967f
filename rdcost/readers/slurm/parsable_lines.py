"""Blocks of ``sacct -P``/``-p`` lines split into fields with any delimiter (one
character or several, ASCII or not: ``|``, ``0x1f``, ``^|^``, ``☃``), in Arrow.

A line with the header's number of fields (plus an empty last one after ``-p``'s
trailing delimiter) is a record; blank lines and ``#`` comments are no records; a line
with more fields goes through :func:`rdcost.readers.slurm.alignment.align`; a line with
fewer, or that no reading fits, is rejected with its line number, the fields it has
and why. A rejected allocation line is remembered by its job id, so that its steps are
rejected with that reason too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from rdcost.readers.base import ParseOptions, Rejected
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.alignment import align
from rdcost.readers.slurm.fields import FREE_TEXT_FIELDS
from rdcost.readers.text_lines import ByteBlock, LineBlock


@dataclass
class SplitBlock:
    """One block's records as a frame (sacct field names, ``_line``), and the rest."""

    frame: pd.DataFrame | None
    rejected: list[Rejected] = field(default_factory=list)
    ignored_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rejected_allocations: dict[str, Rejected] = field(default_factory=dict)
    n_aligned: int = 0
    table: pa.Table | None = None  # the records as Arrow (strings, ``_line`` int64)

    def arrow(self) -> pa.Table:
        """The records as an Arrow table: string columns (null = empty) and ``_line``."""
        if self.table is None:
            assert self.frame is not None
            t = pa.Table.from_pandas(self.frame, preserve_index=False)
            self.table = t.cast(
                pa.schema(
                    [
                        pa.field(f.name, pa.int64() if f.name == "_line" else pa.string())
                        for f in t.schema
                    ]
                )
            )
        return self.table


def split_block(
    block: LineBlock,
    columns: list[str],
    delimiter: str,
    trailing: bool,
    opts: ParseOptions,
    path: str,
) -> SplitBlock:
    """Split the lines of ``block`` into the fields named ``columns`` (see the module doc)."""
    n = len(columns)
    lines, numbers = block.lines, block.numbers
    trimmed = pc.utf8_trim_whitespace(lines)
    ignore = _np(pc.or_(pc.equal(trimmed, ""), pc.starts_with(trimmed, "#")))
    parts = pc.split_pattern(lines, delimiter)
    counts = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    good = (counts == n + int(trailing)) & ~ignore
    if trailing and good.any():
        last = pc.list_element(parts.filter(pa.array(good)), n)
        ok_last = _np(pc.equal(last, ""))
        idx = np.flatnonzero(good)
        good[idx[~ok_last]] = False
    sub = parts.filter(pa.array(good))
    data = {
        c: _nulls_for_empty(pc.list_element(sub, i))
        if len(sub)
        else pa.array([], pa.large_string())
        for i, c in enumerate(columns)
    }
    frame = pa.table(data).to_pandas()
    frame["_line"] = numbers[good]
    out = SplitBlock(frame=frame, ignored_lines=numbers[ignore])
    bad = np.flatnonzero(~good & ~ignore)
    if len(bad):
        _bad_lines(
            out,
            [parts[int(i)].as_py() for i in bad],
            [lines[int(i)].as_py() for i in bad],
            numbers[bad],
            columns,
            delimiter,
            trailing,
            opts,
            path,
        )
    return out


def split_bytes(
    block: ByteBlock,
    columns: list[str],
    delimiter: str,
    trailing: bool,
    opts: ParseOptions,
    path: str,
) -> SplitBlock:
    """:func:`split_block` of the lines in ``block``, read by pyarrow's CSV reader (C++,
    on its own threads) when every line of the block is a record or a ``#`` comment with
    the header's number of fields: then the rows are the lines one for one, so their line
    numbers are exact. Any other block (a line with another field count, a blank line, a
    lone ``\r``, bytes that are not UTF-8, a delimiter the CSV reader cannot take) is split
    line by line by :func:`split_block`, with the same result."""
    fast = _split_csv(block, columns, delimiter, trailing)
    if fast is not None:
        return fast
    return split_block(block.lines(), columns, delimiter, trailing, opts, path)


def csv_delimiter_ok(delimiter: str) -> bool:
    """Whether pyarrow's CSV reader can split on ``delimiter`` (one ASCII character that
    is no quote, line end or space)."""
    return len(delimiter) == 1 and delimiter.isascii() and delimiter not in "\r\n\"' \t\x0b\x0c"


def _split_csv(
    block: ByteBlock, columns: list[str], delimiter: str, trailing: bool
) -> SplitBlock | None:
    if not csv_delimiter_ok(delimiter):
        return None
    n = len(columns) + int(trailing)
    names = [f"c{i}" for i in range(n)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(block.data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                check_utf8=True,
            ),
        )
    except pa.ArrowInvalid:  # a line with another number of fields, bytes that are not UTF-8
        return None
    if table.num_rows != block.n_lines:
        return None
    if trailing:
        if table.column(n - 1).null_count != table.num_rows:
            return None
        table = table.drop_columns([names[-1]])
    numbers = np.arange(block.first_line, block.first_line + block.n_lines, dtype=np.int64)
    first = table.column(0)
    comment = _np(pc.starts_with(pc.utf8_ltrim_whitespace(first), "#"))
    table = table.rename_columns(columns)
    if comment.any():
        table = table.filter(pa.array(~comment))
    table = table.append_column("_line", pa.array(numbers[~comment]))
    return SplitBlock(frame=None, table=table, ignored_lines=numbers[comment])


def _bad_lines(
    out: SplitBlock,
    split: list[list[str]],
    texts: list[str],
    numbers: np.ndarray,
    columns: list[str],
    delimiter: str,
    trailing: bool,
    opts: ParseOptions,
    path: str,
) -> None:
    """Align the lines with extra fields; reject the rest, remembering rejected allocations."""
    n = len(columns)
    fields = [p[:-1] if trailing and len(p) > n and p[-1] == "" else p for p in split]
    longer = [i for i, p in enumerate(fields) if len(p) > n]
    readings = dict(
        zip(longer, align([fields[i] for i in longer], columns, delimiter, opts), strict=True)
    )
    rows = []
    for i, parts in enumerate(fields):
        r = readings.get(i)
        if r is not None and r.values is not None:
            rows.append([None if v == "" else v for v in r.values] + [int(numbers[i])])
            continue
        reason = (
            r.reason
            if r is not None and r.reason
            else f"{len(parts)} fields where the header has {n}"
        )
        rej = Rejected(
            path,
            int(numbers[i]),
            reason,
            column=None,
            value=None,
            expected=f"{n} fields",
            text=texts[i],
        )
        out.rejected.append(rej)
        alloc = _allocation_id(parts, columns)
        if alloc is not None:
            out.rejected_allocations[alloc] = rej
    if rows:
        assert out.frame is not None  # the line splitter's block (the CSV reader's has none)
        aligned = pd.DataFrame(rows, columns=[*columns, "_line"])
        for c in columns:  # the same string dtype as the split records
            aligned[c] = aligned[c].astype(out.frame[c].dtype) if len(out.frame) else aligned[c]
        out.frame = pd.concat([out.frame, aligned], ignore_index=True).sort_values(
            "_line", kind="stable", ignore_index=True
        )
        out.n_aligned = len(rows)


def _allocation_id(parts: list[str], columns: list[str]) -> str | None:
    """The allocation id of a rejected line, where its place is certain: the id column
    comes before every free-text column (so no extra delimiter moved it)."""
    for name in ("JobID", "JobIDRaw"):
        if name in columns:
            j = columns.index(name)
            if any(c in FREE_TEXT_FIELDS for c in columns[:j]) or j >= len(parts):
                return None
            jid = sv.parse_job_id(pd.Series([parts[j]], dtype=object)).iloc[0]
            return None if jid["invalid"] or jid["is_step"] else str(jid["alloc_id"])
    return None


def _nulls_for_empty(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _np(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)
