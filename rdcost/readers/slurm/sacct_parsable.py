"""sacct ``--parsable2``/``-P`` and ``--parsable``/``-p`` text, with any
one-character ``--delimiter`` (``|``, tab, ``0x1f``), with or without header.

The file is streamed with ``pyarrow.csv.open_csv`` (quoting off, every column
a string, single-threaded so that a line with the wrong field count is
reported with its line number) and cut into chunks of about
``opts.chunk_rows`` records that never separate an allocation from its steps.
Values are parsed by :mod:`sacct_rows` / :mod:`sacct_values`, vectorized.
"""

from __future__ import annotations

import codecs
import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from rdcost.errors import FormatDetectionError, ParseError, UsageError
from rdcost.readers.base import SAMPLE_BYTES, Chunk, ParseOptions, Rejected, Sample
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.chunking import chunk_cuts
from rdcost.readers.slurm.fields import fields_from_user, is_known_field, resolve_field
from rdcost.readers.slurm.folding import records_to_chunk
from rdcost.readers.states import normalize_slurm_state

NAME = "sacct-parsable"

#: Delimiters tried when the user gives none, most specific first.
DELIMITERS = ("\x1f", "|", "\t")
#: Bytes per block read by pyarrow (small blocks keep the single-threaded reader fast).
BLOCK_BYTES = 1 << 20
#: Chunks parsed ahead of the one handed out (memory: about PARSE_AHEAD + 2 chunks).
PARSE_AHEAD = 1
_TRAILING = "_trailing"


@dataclass
class Layout:
    """How a parsable sacct file is laid out."""

    delimiter: str
    columns: list[str]          # one name per field (canonical sacct names where known)
    trailing: bool              # -p: every line ends with the delimiter
    skip_lines: int             # lines before the first record (preamble, header)
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
    need_all = delimiter == "\t"   # a TSV with a few sacct-like names is plain CSV
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
    """A header of sacct field names only, separated by another one-character
    delimiter (``sacct -P --delimiter=,``): (delimiter, names) or None.

    ``strict`` (auto-detection): at least four names, JobID among them, so that
    a small table with a few sacct-like column names stays plain CSV; with
    ``--format sacct-parsable`` two names are enough.
    """
    seen = [c for c in dict.fromkeys(line) if c.isascii() and not c.isalnum() and c not in ' "\'_']
    for d in sorted(seen, key=line.count, reverse=True):
        parts = _split(line, d)
        if len(parts) >= 2 and parts[-1] == "":
            parts = parts[:-1]
        if len(parts) < (4 if strict else 2) or not all(is_known_field(x) for x in parts):
            continue
        if strict and "jobid" not in {x.strip().casefold() for x in parts}:
            continue
        return d, parts
    return None


def detect_layout(lines: list[str], opts: ParseOptions | None = None, path: str | None = None,
                  strict: bool = False) -> Layout | None:
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
    delims = (opts.delimiter,) if opts.delimiter else DELIMITERS
    for d in delims:
        if d not in first:
            continue
        names = _header_fields(first, d)
        if names is not None:
            trailing = first.endswith(d)
            cols = [resolve_field(n) if is_known_field(n) else n.strip() for n in names]
            if opts.fields:
                given = fields_from_user(opts.fields)
                if given != cols:
                    raise UsageError(
                        "--fields does not match the header line of the file",
                        path=path, value=first,
                        hint="leave out --fields: the header gives the column order")
            return Layout(d, _unique(cols), trailing, first_i + 1, True)
        if _looks_like_records([ln for _, ln in content], d):
            n_seen = pd.Series([len(_split(ln, d)) for _, ln in content]).mode().iloc[0]
            if not opts.fields:
                example = "JobID,State,Elapsed,..."
                raise FormatDetectionError(
                    f"sacct output without a header line: its {n_seen} fields have no names",
                    path=path, value=first,
                    hint=f"pass --fields {example} with the {n_seen} names of the --format list "
                         "used for the export, in order (or re-export without --noheader/-n)")
            cols = fields_from_user(opts.fields)
            trailing = False
            if n_seen == len(cols) + 1 and all(ln.endswith(d) for _, ln in content):
                trailing = True
            elif n_seen != len(cols):
                raise UsageError(
                    f"--fields names {len(cols)} columns but the lines have {n_seen} fields",
                    path=path, value=first, hint="give one name per field, in the export's order")
            return Layout(d, _unique(cols), trailing, first_i, False)
    other = None if opts.delimiter else _other_delimiter_header(first, strict)
    if other is not None:
        d, names = other
        cols = [resolve_field(n) for n in names]
        if opts.fields and fields_from_user(opts.fields) != cols:
            raise UsageError("--fields does not match the header line of the file", path=path,
                             value=first, hint="leave out --fields: the header gives the column order")
        return Layout(d, _unique(cols), first.endswith(d), first_i + 1, True)
    return None


def _unique(cols: list[str]) -> list[str]:
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


class _CountingFile:
    """A binary file that remembers how many bytes were read (progress).

    What it hands on is UTF-8: a byte that is not (a Latin-1 job name) becomes
    U+FFFD, as _to_frame would make it, so that pyarrow can always pass a line
    with a wrong field count to the handler that rejects it (it cannot when the
    line is not UTF-8, and then fails the whole file).
    """

    def __init__(self, path: Path):
        self._fh = open(path, "rb")
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self.bytes_read = 0
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        while True:
            b = self._fh.read(n)
            self.bytes_read += len(b)
            text = self._utf8.decode(b, final=not b or n is None or n < 0)
            if text or not b:   # b"" only at the end (a lone partial character is held back)
                return text.encode("utf-8")

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()
        self.closed = True


def parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    path = Path(path)
    sv.check_tz(opts.tz)
    if opts.delimiter is not None and (len(opts.delimiter) != 1 or not opts.delimiter.isascii()):
        raise UsageError(f"--delimiter must be one ASCII character for sacct text, got {opts.delimiter!r}",
                         hint="re-export with a one-character delimiter, e.g. --delimiter=$'\\x1f'")
    layout = detect_layout(_head_lines(path), opts, str(path))
    if layout is None:
        raise FormatDetectionError("not sacct --parsable/--parsable2 output", path=str(path),
                                   hint="pass --format to choose another format")
    yield from _stream(path, opts, layout)


def _stream(path: Path, opts: ParseOptions, layout: Layout) -> Iterator[Chunk]:
    names = list(layout.columns) + ([_TRAILING] if layout.trailing else [])
    n_fields = len(names)
    invalid: list[tuple[int, str, int]] = []  # (line, text, n fields)

    def on_invalid(row) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    fh = _CountingFile(path)
    try:
        reader = _open_reader(fh, names, layout, on_invalid)
    except pa.ArrowInvalid as exc:   # the first block is read here
        fh.close()
        raise _read_error(exc, path) from exc
    next_line = layout.skip_lines + 1
    pre_ignored = layout.skip_lines
    batches: list[pa.RecordBatch] = []
    spans: list[np.ndarray] = []
    buffered = 0
    fmt = layout.source_format
    pending_bad: list[tuple[int, str, int]] = []   # refused lines not yet reported

    def make_rejects(upto: int | None) -> tuple[list[Rejected], int]:
        """Refused lines up to line ``upto`` (all if None) -> rejects, ignored count."""
        nonlocal pending_bad
        take = [b for b in pending_bad if upto is None or b[0] <= upto]
        pending_bad = [b for b in pending_bad if not (upto is None or b[0] <= upto)]
        rej, ign = [], 0
        for line, text, got in take:
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                ign += 1
                continue
            hint = " (a delimiter inside a value such as a job name, comment or constraint?)" \
                if got > n_fields else ""
            rej.append(Rejected(str(path), line, f"{got} fields where the header has {n_fields}{hint}",
                                column=None, value=None, expected=f"{n_fields} fields", text=text))
        return rej, ign

    # Chunks are parsed by two worker threads (pyarrow.compute releases the
    # GIL) and handed out in file order; at most PARSE_AHEAD are in flight.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sacct-parse")
    in_flight: deque[Future] = deque()

    def emit(table: pa.Table, lines: np.ndarray, final: bool) -> Iterator[Chunk]:
        nonlocal pre_ignored
        frame = _to_frame(table)
        frame["_line"] = lines
        if layout.trailing:
            frame = _check_trailing(frame, pending_bad, n_fields, layout.delimiter)
        upto = None if final else int(lines[-1])
        rej, ign = make_rejects(upto)
        in_flight.append(pool.submit(records_to_chunk, frame, path=path, opts=opts, source_format=fmt,
                                     n_ignored=pre_ignored + ign, pre_rejected=rej,
                                     bytes_done=fh.bytes_read, delimiter=layout.delimiter))
        pre_ignored = 0
        while in_flight and (final or len(in_flight) > PARSE_AHEAD):
            yield in_flight.popleft().result()

    ahead = _prefetch(reader, invalid)
    try:
        for batch, refused in ahead:
            skipped = sorted(b[0] for b in refused)   # lines pyarrow refused: not rows
            pending_bad.extend(refused)
            n = batch.num_rows
            if n == 0:
                continue
            span = np.arange(next_line, next_line + n + len(skipped), dtype=np.int64)
            if skipped:
                span = span[~np.isin(span, np.asarray(skipped, dtype=np.int64))]
            span = span[:n]
            next_line = int(span[-1]) + 1
            batches.append(batch)
            spans.append(span)
            buffered += n
            if buffered >= opts.chunk_rows:
                table = pa.Table.from_batches(batches).combine_chunks()
                lines = np.concatenate(spans)
                starts = _allocation_rows(table.column("JobID"))
                # cut before the first allocation at or after chunk_rows, as often as it fits
                done = 0
                for cut in chunk_cuts(starts, opts.chunk_rows):
                    yield from emit(table.slice(done, cut - done), lines[done:cut], final=False)
                    done = cut
                rest = table.slice(done)
                batches, spans, buffered = rest.to_batches(), [lines[done:]], rest.num_rows
        if batches:
            table = pa.Table.from_batches(batches).combine_chunks()
            lines = np.concatenate(spans)
        else:
            table = pa.table({c: pa.array([], pa.string()) for c in names})
            lines = np.zeros(0, dtype=np.int64)
        yield from emit(table, lines, final=True)
    except pa.ArrowInvalid as exc:
        raise _read_error(exc, path) from exc
    finally:
        for f in in_flight:
            f.cancel()
        pool.shutdown(wait=True)
        ahead.close()          # stops and joins the reader thread before the file closes
        fh.close()


def _open_reader(fh, names: list[str], layout: Layout, on_invalid):
    return pacsv.open_csv(
        fh,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=layout.skip_lines,
                                       block_size=BLOCK_BYTES, use_threads=False, encoding="utf8"),
        parse_options=pacsv.ParseOptions(delimiter=layout.delimiter, quote_char=False, escape_char=False,
                                         newlines_in_values=False, ignore_empty_lines=False,
                                         invalid_row_handler=on_invalid),
        # strings are not checked for UTF-8 here but per column in _to_frame, which
        # repairs a bad byte instead of failing the whole file
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                             strings_can_be_null=True, null_values=[""],
                                             quoted_strings_can_be_null=False, check_utf8=False),
    )


def _read_error(exc: pa.ArrowInvalid, path: Path) -> ParseError:
    """The reader's error as a ParseError. pyarrow cannot hand a line with a
    wrong field count to our handler when the line is not UTF-8 either: the
    file as a whole is refused then, with a hint."""
    hint = None
    if "Expected" in str(exc) and "columns" in str(exc):
        hint = ("a line with the wrong number of fields that is not UTF-8 text stops the reader: "
                "re-encode the file as UTF-8 (iconv -f latin1 -t utf-8) or remove that line")
    return ParseError(f"cannot read the file as sacct text: {exc}", path=str(path), hint=hint)


def _prefetch(reader, invalid: list, depth: int = 3) -> Iterator[tuple[pa.RecordBatch, list]]:
    """Read the next blocks in a background thread while the caller parses
    values (pyarrow releases the GIL), at most ``depth`` batches ahead.

    Yields (batch, lines refused while reading it). The reader is
    single-threaded, so a block's refused lines are reported before its batch.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    died = object()

    def produce() -> None:
        finished = False
        try:
            for batch in reader:
                refused = list(invalid)
                invalid.clear()
                if not put((batch, refused)):
                    return
            finished = True
            put((end, list(invalid)))
        except (pa.ArrowException, OSError) as exc:   # bad input or I/O: the consumer re-raises it
            finished = True
            put((exc, None))
        finally:
            if not finished:   # a bug: its traceback is printed by threading's excepthook
                put((died, None))

    t = threading.Thread(target=produce, name="sacct-reader", daemon=True)
    t.start()
    try:
        while True:
            item, refused = q.get()
            if item is end:
                if refused:
                    yield pa.record_batch([], schema=pa.schema([])), refused
                return
            if item is died:
                raise RuntimeError("the sacct reader thread stopped unexpectedly (see the traceback above)")
            if isinstance(item, BaseException):
                raise item
            yield item, refused
    finally:
        stop.set()
        t.join()


def _allocation_rows(job_ids: pa.ChunkedArray) -> np.ndarray:
    """Row indices of allocation records (a JobID without a step part)."""
    arr = job_ids.combine_chunks() if isinstance(job_ids, pa.ChunkedArray) else job_ids
    step = pc.fill_null(pc.match_substring_regex(arr, r"\.[^\]]*$"), True)
    return np.flatnonzero(np.asarray(pc.invert(step).to_numpy(zero_copy_only=False), dtype=bool))


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """Unchecked string columns -> pandas; a column with invalid UTF-8 (a
    Latin-1 job name) is decoded with replacement characters instead of
    failing the file."""
    cols = {}
    for name, arr in zip(table.column_names, table.columns, strict=True):
        try:
            arr.validate(full=True)
            cols[name] = arr
        except pa.ArrowInvalid:
            raw = arr.cast(pa.binary())
            cols[name] = pa.array([None if v is None else v.decode("utf-8", errors="replace")
                                   for v in raw.to_pylist()], pa.string())
    return pa.table(cols).to_pandas()


def _check_trailing(df: pd.DataFrame, pending_bad: list, n_fields: int, delimiter: str) -> pd.DataFrame:
    """-p lines end with the delimiter: the extra last field must be empty."""
    extra = df[_TRAILING]
    bad = extra.notna().to_numpy()
    df = df.drop(columns=[_TRAILING])
    for i in np.flatnonzero(bad):
        values = ["" if pd.isna(v) else str(v) for v in df.iloc[i].drop("_line")]
        pending_bad.append((int(df["_line"].iat[i]), delimiter.join(values + [str(extra.iat[i])]), n_fields))
    return df.loc[~bad]
