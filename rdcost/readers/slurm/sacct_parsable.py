"""sacct ``--parsable2``/``-P`` and ``--parsable``/``-p`` text, with any ``--delimiter``
(``|``, tab, ``0x1f``, ``^|^``, a non-ASCII character), with or without a header (then
``--fields`` names the columns), in every ``SLURM_TIME_FORMAT``.

The file is read as blocks of lines with their exact line numbers
(:mod:`rdcost.readers.text_lines`), split into fields in Arrow
(:mod:`rdcost.readers.slurm.parsable_lines`, which also reads lines whose free text
holds the delimiter), and cut into chunks of about ``opts.chunk_rows`` records that
never separate an allocation from its steps; each chunk becomes job rows
(:mod:`rdcost.readers.slurm.folding`), two at a time on worker threads.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rdcost.errors import FormatDetectionError, UsageError
from rdcost.jobtable import schema
from rdcost.readers.base import SAMPLE_BYTES, Chunk, ParseOptions, Rejected, Sample
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.chunking import chunk_cuts
from rdcost.readers.slurm.fields import fields_from_user, is_known_field, resolve_field
from rdcost.readers.slurm.folding import records_to_chunk
from rdcost.readers.slurm.parsable_lines import SplitBlock, split_bytes
from rdcost.readers.slurm.timestamps import check_time_format, looks_relative
from rdcost.readers.states import normalize_slurm_state
from rdcost.readers.text_lines import iter_byte_blocks

NAME = "sacct-parsable"

#: Delimiters tried when the user gives none, most specific first (``^|^`` is how
#: reportseff calls sacct; it must be tried before ``|``).
DELIMITERS = ("\x1f", "^|^", "|", "\t")
#: Chunks parsed ahead of the one handed out (memory: about PARSE_AHEAD + 2 chunks).
PARSE_AHEAD = 1


@dataclass
class Layout:
    """How a parsable sacct file is laid out."""

    delimiter: str
    columns: list[str]  # one name per field (canonical sacct names where known)
    trailing: bool  # -p: every line ends with the delimiter
    skip_lines: int  # lines before the first record (preamble, header)
    has_header: bool

    @property
    def source_format(self) -> str:
        return "sacct-parsable" if self.trailing else "sacct-parsable2"


# ---------------------------------------------------------------- sniffing


def _content(lines: list[str]) -> list[tuple[int, str]]:
    """(0-based index, line) of lines that are neither blank nor '#' comments."""
    return [(i, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]


def _split(line: str, delimiter: str) -> list[str]:
    return line.split(delimiter)


def _header_fields(line: str, delimiter: str) -> list[str] | None:
    """The field names if ``line`` is a sacct header with this delimiter."""
    parts = _split(line, delimiter)
    if len(parts) >= 2 and parts[-1] == "":
        parts = parts[:-1]
    if len(parts) < 2:
        return None
    known = [p for p in parts if is_known_field(p)]
    need_all = delimiter == "\t"  # a TSV with a few sacct-like names is plain CSV
    if len(known) < (3 if need_all else 2) or len(known) < 0.8 * len(parts):
        return None
    if need_all and len(known) != len(parts):
        return None
    return parts


def _looks_like_records(lines: list[str], delimiter: str) -> bool:
    """Header-less sacct records: a steady field count, one column of job ids,
    and some value only sacct writes (a state, a step id, a sacct time)."""
    rows = [_split(ln, delimiter) for ln in lines]
    counts = pd.Series([len(r) for r in rows])
    width = int(counts.mode().iloc[0])
    if width < 2 or (counts == width).mean() < 0.8:
        return False
    rows = [r for r in rows if len(r) == width]
    frame = pd.DataFrame(rows, dtype=object)
    for c in frame.columns:
        ids = sv.parse_job_id(frame[c])
        if frame[c].eq("").any() or ids["invalid"].any():
            continue
        if ids["is_step"].any() or ids["array_job_id"].notna().any():
            return True
        values = pd.unique(frame.drop(columns=[c]).to_numpy().ravel())
        for v in values:
            v = str(v)
            if len(v) >= 6 and normalize_slurm_state(v) is not None:
                return True
        return False
    return False


def _other_delimiter_header(line: str, strict: bool) -> tuple[str, list[str]] | None:
    """A header of sacct field names only, separated by another delimiter, ASCII or
    not, of one character or several (``sacct -P --delimiter=,``, ``--delimiter=☃``,
    ``--delimiter=::``): (delimiter, names) or None. Field names are letters and
    digits, so a delimiter of several characters is the one run of other characters
    that separates every two names (whitespace alone is a fixed-width table's).

    ``strict`` (auto-detection): at least four names, JobID among them, so that
    a small table with a few sacct-like column names stays plain CSV; with
    ``--format sacct-parsable`` two names are enough.
    """
    seen = [
        c for c in dict.fromkeys(line) if not c.isalnum() and not c.isspace() and c not in "\"'_"
    ]
    for d in sorted(seen, key=line.count, reverse=True):
        parts = _split(line, d)
        if len(parts) >= 2 and parts[-1] == "":
            parts = parts[:-1]
        if len(parts) < (4 if strict else 2) or not all(is_known_field(x) for x in parts):
            continue
        if any(x != x.strip() for x in parts):  # spaces around: part of the delimiter
            continue
        if strict and "jobid" not in {x.strip().casefold() for x in parts}:
            continue
        return d, parts
    return _run_delimiter_header(line, strict)


def _run_delimiter_header(line: str, strict: bool) -> tuple[str, list[str]] | None:
    """:func:`_other_delimiter_header` for a delimiter of several characters."""
    body = line.strip()
    seps = re.findall(r"[^0-9A-Za-z_]+", body)
    if seps and not re.match(r"[0-9A-Za-z_]", body[-1]):  # a trailing delimiter
        seps = seps[:-1]
    if not seps or len(set(seps)) != 1 or not seps[0].strip():
        return None
    d = seps[0]
    parts = body.split(d)
    if parts[-1] == "":
        parts = parts[:-1]
    if len(parts) < (4 if strict else 2) or not all(is_known_field(x) for x in parts):
        return None
    if strict and "jobid" not in {x.casefold() for x in parts}:
        return None
    return d, parts


def detect_layout(
    lines: list[str],
    opts: ParseOptions | None = None,
    path: str | None = None,
    strict: bool = False,
) -> Layout | None:
    """Find delimiter, header and column names from the first lines of a file.

    Returns None when the lines are no sacct parsable text. A header-less file
    without ``opts.fields`` raises FormatDetectionError asking for --fields.
    Without ``opts.delimiter``, a header of sacct field names separated by any
    other one-character delimiter is found too (``strict``: the sniffer's rule,
    see :func:`_other_delimiter_header`).
    """
    opts = opts or ParseOptions()
    content = _content(lines)
    if not content:
        return None
    first_i, first = content[0]
    if opts.delimiter and opts.delimiter not in first:
        raise FormatDetectionError(
            f"the --delimiter {opts.delimiter!r} does not occur in the first line",
            path=path,
            value=first,
            hint="check the --delimiter the export used",
        )
    delims = (opts.delimiter,) if opts.delimiter else DELIMITERS
    for d in delims:
        if d not in first:
            continue
        names = _header_fields(first, d)
        if names is not None:
            trailing = first.endswith(d)
            cols: Sequence[str | None] = [
                resolve_field(n) if is_known_field(n) else n.strip() for n in names
            ]
            if opts.fields:
                given = fields_from_user(opts.fields)
                if given != cols:
                    raise UsageError(
                        "--fields does not match the header line of the file",
                        path=path,
                        value=first,
                        hint="leave out --fields: the header gives the column order",
                    )
            return Layout(d, _unique(cols), trailing, first_i + 1, True)
        if _looks_like_records([ln for _, ln in content], d):
            n_seen = pd.Series([len(_split(ln, d)) for _, ln in content]).mode().iloc[0]
            if not opts.fields:
                example = "JobID,State,Elapsed,..."
                raise FormatDetectionError(
                    f"sacct output without a header line: its {n_seen} fields have no names",
                    path=path,
                    value=first,
                    hint=f"pass --fields {example} with the {n_seen} names of the --format list "
                    "used for the export, in order (or re-export without --noheader/-n)",
                )
            cols = fields_from_user(opts.fields)
            trailing = False
            if n_seen == len(cols) + 1 and all(ln.endswith(d) for _, ln in content):
                trailing = True
            elif n_seen != len(cols):
                raise UsageError(
                    f"--fields names {len(cols)} columns but the lines have {n_seen} fields",
                    path=path,
                    value=first,
                    hint="give one name per field, in the export's order",
                )
            return Layout(d, _unique(cols), trailing, first_i, False)
    other = None if opts.delimiter else _other_delimiter_header(first, strict)
    if other is not None:
        d, names = other
        cols = [resolve_field(n) for n in names]
        if opts.fields and fields_from_user(opts.fields) != cols:
            raise UsageError(
                "--fields does not match the header line of the file",
                path=path,
                value=first,
                hint="leave out --fields: the header gives the column order",
            )
        return Layout(d, _unique(cols), first.endswith(d), first_i + 1, True)
    return None


def _unique(cols: Sequence[str | None]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        c = c or "_unnamed"
        if c in seen:
            seen[c] += 1
            out.append(f"{c}#{seen[c]}")
        else:
            seen[c] = 1
            out.append(c)
    return out


def sniff(sample: Sample) -> bool:
    lines = [ln.rstrip("\r") for ln in sample.lines(50)]
    try:
        return detect_layout(lines, strict=True) is not None
    except FormatDetectionError:
        return True  # header-less sacct text: ours, parse asks for --fields
    except UsageError:
        return True


# ---------------------------------------------------------------- parsing


def _head_lines(path: Path) -> list[str]:
    """The first lines of the file (a line cut by the sample size left out)."""
    sample = Sample.read(path)
    lines = sample.text.split("\n")
    if len(sample.head) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]
    return [ln.rstrip("\r") for ln in lines[:200]]


def parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    return _parse(path, opts, arrow=False)


def parse_arrow(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    """:func:`parse` with each chunk's job rows as an Arrow table with the job schema
    (built on the worker threads; what the store takes)."""
    return _parse(path, opts, arrow=True)


def _parse(path: Path, opts: ParseOptions, arrow: bool) -> Iterator[Chunk]:
    path = Path(path)
    sv.check_tz(opts.tz)
    check_delimiter(opts.delimiter)
    check_time_format(opts.time_format)
    head = _head_lines(path)
    layout = detect_layout(head, opts, str(path))
    if layout is None:
        raise FormatDetectionError(
            "not sacct --parsable/--parsable2 output",
            path=str(path),
            hint="pass --format to choose another format",
        )
    opts, notes = _time_options(head, layout, opts, path)
    yield from _stream(path, opts, layout, notes, arrow)


def check_delimiter(delimiter: str | None) -> None:
    """``--delimiter`` for sacct text: any string without a line break."""
    if delimiter is not None and (not delimiter or "\n" in delimiter or "\r" in delimiter):
        raise UsageError(
            f"--delimiter must be a non-empty string without a line break, got {delimiter!r}"
        )


_TIME_FIELDS = ("Submit", "Start", "End", "Eligible")


def _time_options(
    head: list[str], layout: Layout, opts: ParseOptions, path: Path
) -> tuple[ParseOptions, list[str]]:
    """The time format of the file: as given, else relative when the values say so;
    relative times are dated by --export-time, else the file's modification time (said)."""
    notes: list[str] = []
    fmt = opts.time_format
    if fmt is None:
        content = [ln for _, ln in _content(head[layout.skip_lines :])]
        rows = [_split(ln, layout.delimiter) for ln in content]
        for name in _TIME_FIELDS:
            if name in layout.columns:
                i = layout.columns.index(name)
                if looks_relative(pd.Series([r[i] for r in rows if len(r) > i], dtype=object)):
                    fmt = "relative"
                    notes.append("times are SLURM_TIME_FORMAT=relative (read from the values)")
                    break
    export_time = opts.export_time
    if fmt == "relative" and export_time is None:
        export_time = pd.Timestamp(path.stat().st_mtime, unit="s", tz="UTC")
        notes.append(
            f"relative times dated by the file's modification time, {export_time:%Y-%m-%d %H:%M}Z "
            "(pass --export-time if the file was exported at another time); minutes are their precision"
        )
    if fmt == opts.time_format and export_time is opts.export_time:
        return opts, notes
    return replace(opts, time_format=fmt, export_time=export_time), notes


def _stream(
    path: Path, opts: ParseOptions, layout: Layout, notes: list[str], arrow: bool
) -> Iterator[Chunk]:
    """Split blocks of lines, cut them into chunks that keep each allocation with its
    steps, and turn the chunks into job rows on two worker threads (in file order)."""
    columns = list(layout.columns)
    fmt = layout.source_format
    buf = _Buffer()
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sacct-parse")
    in_flight: deque[Future] = deque()
    unsaid = list(notes)

    def emit(part: _Buffer, n_ignored: int, bytes_done: int, final: bool) -> Iterator[Chunk]:
        in_flight.append(
            pool.submit(
                fold_records,
                part.table(),
                arrow,
                path=path,
                opts=opts,
                source_format=fmt,
                n_ignored=n_ignored,
                pre_rejected=part.rejected,
                bytes_done=bytes_done,
                delimiter=layout.delimiter,
                rejected_allocations=part.rejected_allocations,
            )
        )
        while in_flight and (final or len(in_flight) > PARSE_AHEAD):
            chunk = in_flight.popleft().result()
            chunk.notes.extend(unsaid)
            unsaid.clear()
            yield chunk

    try:
        bytes_done = 0
        pre_ignored = layout.skip_lines
        for block in iter_byte_blocks(path, layout.skip_lines):
            bytes_done = block.bytes_done
            buf.add(split_bytes(block, columns, layout.delimiter, layout.trailing, opts, str(path)))
            if buf.n_rows >= opts.chunk_rows:
                for part in buf.take_chunks(opts.chunk_rows, recs_id_column(columns)):
                    yield from emit(part, pre_ignored + part.n_ignored, bytes_done, final=False)
                    pre_ignored = 0
        yield from emit(buf, pre_ignored + buf.n_ignored, bytes_done, final=True)
    finally:
        for f in in_flight:
            f.cancel()
        pool.shutdown(wait=True)


def fold_records(table: pa.Table, arrow: bool, **kwargs) -> Chunk:
    """:func:`records_to_chunk` of a chunk's records given as Arrow; with ``arrow`` the
    job rows come back as an Arrow table with the job schema."""
    chunk = records_to_chunk(table.to_pandas(), **kwargs)
    if arrow:
        chunk.jobs = schema.to_arrow(chunk.jobs)
    return chunk


def recs_id_column(columns: list[str]) -> str:
    return "JobID" if "JobID" in columns else "JobIDRaw" if "JobIDRaw" in columns else columns[0]


class _Buffer:
    """Split blocks waiting to become chunks: their records (Arrow), rejected and ignored lines."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self.rejected: list[Rejected] = []
        self.rejected_allocations: dict[str, Rejected] = {}
        self.ignored: list[np.ndarray] = []

    @property
    def n_rows(self) -> int:
        return sum(t.num_rows for t in self.tables)

    @property
    def n_ignored(self) -> int:
        return int(sum(len(x) for x in self.ignored))

    def add(self, b: SplitBlock) -> None:
        t = b.arrow()
        if t.num_rows:
            self.tables.append(t)
        self.rejected.extend(b.rejected)
        self.rejected_allocations.update(b.rejected_allocations)
        self.ignored.append(b.ignored_lines)

    def table(self) -> pa.Table:
        if not self.tables:
            return pa.table({"JobID": pa.array([], pa.string()), "_line": pa.array([], pa.int64())})
        return pa.concat_tables(self.tables) if len(self.tables) > 1 else self.tables[0]

    def take_chunks(self, chunk_rows: int, id_column: str) -> Iterator[_Buffer]:
        """Cut before the first allocation at or after ``chunk_rows`` records, as often as
        it fits; what follows the last cut stays buffered."""
        table = self.table()
        ids = table[id_column]
        step = pc.match_substring_regex(ids, r"\.[^\]]*$")  # has_step_dot, in Arrow
        starts = np.flatnonzero(
            np.asarray(
                pc.fill_null(pc.and_(pc.is_valid(ids), pc.invert(step)), False).to_numpy(
                    zero_copy_only=False
                ),
                dtype=bool,
            )
        )
        lines = table["_line"]
        done = 0
        for cut in chunk_cuts(starts, chunk_rows):
            yield self._split_off(table.slice(done, cut - done), int(lines[cut].as_py()))
            done = cut
        self.tables = [table.slice(done)]

    def _split_off(self, rows: pa.Table, next_line: int) -> _Buffer:
        """A buffer of ``rows`` and the rejected/ignored lines before ``next_line``."""
        part = _Buffer()
        part.tables = [rows]
        part.rejected = [r for r in self.rejected if r.line is not None and r.line < next_line]
        self.rejected = [
            r for r in self.rejected if not (r.line is not None and r.line < next_line)
        ]
        part.rejected_allocations = {
            k: r
            for k, r in self.rejected_allocations.items()
            if r.line is not None and r.line < next_line
        }
        ign = np.concatenate(self.ignored) if self.ignored else np.zeros(0, dtype=np.int64)
        part.ignored, self.ignored = [ign[ign < next_line]], [ign[ign >= next_line]]
        return part
