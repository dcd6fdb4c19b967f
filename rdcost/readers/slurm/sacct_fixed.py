"""sacct's default fixed-width table (no ``-p``/``-P``).

Column boundaries come from the ``---- ----`` underline under each header; a
file may hold several tables one after the other (each with its own header
and underline). sacct pads and cuts by **bytes**, not characters (a job name
with a UTF-8 em dash is 2 characters shorter on screen than its neighbours),
so lines are sliced as bytes and each value decoded afterwards. Values longer
than their column end in ``+``: states (``CANCELLED+``) are resolved by
:mod:`rdcost.readers.states`, names are kept as cut, and job ids are resolved here
(see :func:`_resolve_cut_ids`). Prefer ``--parsable2`` exports: the fixed
format loses information.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rdcost.readers.base import Chunk, ParseOptions, Rejected, Sample
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.chunking import chunk_cuts, has_step_dot
from rdcost.readers.slurm.fields import resolve_field
from rdcost.readers.slurm.folding import records_to_chunk

NAME = "sacct-fixed"
SOURCE_FORMAT = "sacct-fixed"

_UNDERLINE = r"^-+( +-+)* *$"
_UNDERLINE_RE = re.compile(_UNDERLINE)
_UNDERLINE_BYTES = re.compile(_UNDERLINE.encode())
#: Bytes read per block.
BLOCK_BYTES = 4 << 20


@dataclass
class Table:
    """One fixed-width table: byte ranges and field names of its columns."""

    spans: list[tuple[int, int]]
    names: list[str]
    width: int  # bytes up to the end of the last column


#: Columns whose '+'-cut values are kept as cut text (ids and states are resolved
#: elsewhere); every other cut value (numbers, times, sizes, TRES) becomes unknown.
_CUT_KEPT = frozenset(
    {
        "JobID",
        "JobIDRaw",
        "State",
        "JobName",
        "User",
        "Group",
        "Account",
        "Partition",
        "QOS",
        "Cluster",
        "NodeList",
        "WorkDir",
        "Comment",
        "AdminComment",
        "SystemComment",
        "Constraints",
        "Reason",
        "Flags",
        "Reservation",
        "SubmitLine",
        "WCKey",
        "Container",
        "Extra",
        "Licenses",
        "FailedNode",
        "StdOut",
        "StdErr",
        "StdIn",
        "McsLabel",
    }
)


def _spans(underline: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"-+", underline)]


def _table(header: bytes, underline: bytes) -> Table:
    spans = _spans(underline.decode("ascii", errors="replace"))
    names = []
    for a, b in spans:
        raw = header[a:b].decode("utf-8", errors="replace").strip()
        names.append(resolve_field(raw) or raw or f"_column{a}")
    seen: dict[str, int] = {}
    for i, nm in enumerate(names):
        if nm in seen:
            seen[nm] += 1
            names[i] = f"{nm}#{seen[nm]}"
        else:
            seen[nm] = 1
    return Table(spans, names, spans[-1][1])


# ---------------------------------------------------------------- sniffing


def sniff(sample: Sample) -> bool:
    lines = [ln.rstrip("\r") for ln in sample.lines(60)]
    for i in range(len(lines) - 1):
        if "|" in lines[i] or not _UNDERLINE_RE.match(lines[i + 1]):
            continue
        header = lines[i].encode("utf-8")
        spans = _spans(lines[i + 1])
        tokens = [header[a:b].decode("utf-8", errors="replace").strip() for a, b in spans]
        if len(spans) != len(lines[i].split()):
            return False
        known = [t for t in tokens if t and resolve_field(t)]
        return len(known) >= 2 and len(known) >= 0.8 * len(tokens)
    return False


# ---------------------------------------------------------------- reading lines


def _line_blocks(path: Path) -> Iterator[tuple[pa.Array, int, int]]:
    """(lines as binary, 1-based number of the first, bytes read so far).

    The last complete line of each block is held back and read with the next
    block (it may be a header whose underline is not read yet), together
    with the line before it when it is itself an underline.
    """
    first = 1
    done = 0
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(BLOCK_BYTES)
            done += len(block)
            if not block:
                break
            blob = carry + block
            end = blob.rfind(b"\n")
            k = blob.rfind(b"\n", 0, end) if end > 0 else -1
            if k >= 0 and _UNDERLINE_BYTES.match(blob[k + 1 : end].rstrip(b"\r")):
                k = blob.rfind(b"\n", 0, k) if k > 0 else -1
            if k < 0:
                carry = blob
                continue
            body, carry = blob[:k], blob[k + 1 :]
            lines = _split_lines(body, first)
            yield lines, first, done
            first += len(lines)
    if carry:
        tail = carry[:-1] if carry.endswith(b"\n") else carry
        lines = _split_lines(tail, first)
        yield lines, first, done


def _split_lines(body: bytes, first: int) -> pa.Array:
    if first == 1 and body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return pc.list_flatten(pc.split_pattern(pa.array([body], pa.large_binary()), b"\n"))


def _strip_cr(lines: pa.Array) -> pa.Array:
    if pc.any(pc.ends_with(lines, b"\r")).as_py():
        lines = pc.replace_substring_regex(lines.cast(pa.large_binary()), r"\r$", b"")
    return lines


def _decode(values: pa.Array) -> pa.Array:
    """Binary -> string; a character cut in half by the column becomes U+FFFD."""
    try:
        return values.cast(pa.large_string())
    except pa.ArrowInvalid:
        return pa.array(
            [
                None if v is None else v.decode("utf-8", errors="replace")
                for v in values.to_pylist()
            ],
            pa.large_string(),
        )


# ---------------------------------------------------------------- parsing


def parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    path = Path(path)
    sv.check_tz(opts.tz)
    state = _State(str(path))
    buf: list[pd.DataFrame] = []
    buffered = 0
    done = 0
    for lines, first, done in _line_blocks(path):
        frame = state.records(_strip_cr(lines), first)
        if len(frame):
            buf.append(frame)
            buffered += len(frame)
        if buffered >= opts.chunk_rows:
            all_rows = pd.concat(buf, ignore_index=True)
            ids = all_rows[_id_column(all_rows.columns)]
            starts = np.flatnonzero(ids.notna().to_numpy() & ~has_step_dot(ids))
            start = 0
            for cut in chunk_cuts(starts, opts.chunk_rows):
                head = all_rows.iloc[start:cut]
                yield state.chunk(head, opts, done, upto=int(head["_line"].iloc[-1]))
                start = cut
            tail = all_rows.iloc[start:]
            buf, buffered = [tail], len(tail)
    all_rows = (
        pd.concat(buf, ignore_index=True) if buf else pd.DataFrame({"JobID": [], "_line": []})
    )
    yield state.chunk(all_rows, opts, done, upto=None)


def _id_column(columns) -> str:
    """The column that names jobs: JobID, else JobIDRaw (as in --parsable2 text)."""
    return "JobID" if "JobID" in columns or "JobIDRaw" not in columns else "JobIDRaw"


class _State:
    """What carries over between blocks: the current table, the last allocation
    id (to resolve cut step ids), ignored and refused lines not yet reported."""

    def __init__(self, path: str):
        self.path = path
        self.table: Table | None = None
        self.last_alloc: str | None = None
        self.ignored: list[np.ndarray] = []
        self.rejected: list[Rejected] = []

    # -- one block of lines -> record rows (with _line, _text)
    def records(self, lines: pa.Array, first: int) -> pd.DataFrame:
        n = len(lines)
        numbers = np.arange(first, first + n, dtype=np.int64)
        blank = ~np.asarray(
            pc.match_substring_regex(lines, r"[^ \t]").to_numpy(zero_copy_only=False), dtype=bool
        )
        under = np.asarray(
            pc.match_substring_regex(lines, _UNDERLINE).to_numpy(zero_copy_only=False), dtype=bool
        )
        header = np.zeros(n, dtype=bool)
        u_idx = np.flatnonzero(under)
        header[u_idx[u_idx > 0] - 1] = True
        header &= ~blank
        self.ignored.append(numbers[blank | under | header])
        frames = []
        # segments: [start of block or after an underline, next header)
        starts = [0] + list(u_idx + 1)
        for k, s in enumerate(starts):
            if k > 0:
                u = u_idx[k - 1]
                if u == 0 or blank[u - 1]:
                    self.rejected.append(
                        Rejected(
                            self.path,
                            int(numbers[u]),
                            "underline without a header line above",
                            text=lines[u].as_py().decode("utf-8", "replace"),
                        )
                    )
                    self.table = None
                    continue
                self.table = _table(lines[u - 1].as_py(), lines[u].as_py())
            e = u_idx[k] - 1 if k < len(u_idx) else n
            sel = np.arange(s, max(e, s))
            sel = sel[~(blank[sel] | under[sel] | header[sel])]
            if len(sel) == 0:
                continue
            seg = lines.take(pa.array(sel))
            if self.table is None:
                for i, ln in zip(sel, seg.to_pylist(), strict=True):
                    self.rejected.append(
                        Rejected(
                            self.path,
                            int(numbers[i]),
                            "line before the first header/underline of a sacct table",
                            text=ln.decode("utf-8", "replace"),
                        )
                    )
                continue
            frames.append(self._slice(seg, numbers[sel]))
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def _slice(self, seg: pa.Array, numbers: np.ndarray) -> pd.DataFrame:
        t = self.table
        assert t is not None
        cols: dict[str, pd.Series] = {}
        for (a, b), name in zip(t.spans, t.names, strict=True):
            v = pc.utf8_trim_whitespace(_decode(pc.binary_slice(seg, a, b)))
            v = pc.if_else(pc.equal(v, ""), pa.scalar(None, pa.large_string()), v)
            cols[name] = pd.Series(v.to_pandas(), dtype=object)
        df = pd.DataFrame(cols)
        cut_fields = np.full(len(df), "", dtype=object)
        for name in df.columns:
            # sacct marks a value cut by its column with a final '+': names and other
            # text keep it (documented); a cut number, time or TRES string is unknown.
            # Either way the row lists the field as cut (a full export replaces it).
            cut = df[name].astype("string").str.endswith("+").fillna(False).to_numpy(dtype=bool)
            if not cut.any():
                continue
            cut_fields[cut] = cut_fields[cut] + np.where(cut_fields[cut] == "", "", ",") + name
            if name not in _CUT_KEPT:
                df.loc[cut, name] = None
        cut_fields[cut_fields == ""] = None
        df["_cut"] = cut_fields
        df["_line"] = numbers
        df["_text"] = pd.Series(_decode(seg).to_pandas(), dtype=object).to_numpy()
        # a value wider than its column shifts the rest of the line: refuse it
        bad = np.zeros(len(df), dtype=bool)
        for (_, b), (c, _) in zip(t.spans[:-1], t.spans[1:], strict=True):
            gap = pc.binary_slice(seg, b, c)
            bad |= np.asarray(
                pc.match_substring_regex(gap, r"[^ ]").to_numpy(zero_copy_only=False), dtype=bool
            )
        rest = pc.binary_slice(seg, t.width, 1 << 30)
        bad |= np.asarray(
            pc.match_substring_regex(rest, r"[^ ]").to_numpy(zero_copy_only=False), dtype=bool
        )
        for i in np.flatnonzero(bad):
            self.rejected.append(
                Rejected(
                    self.path,
                    int(numbers[i]),
                    "a value overflows its fixed-width column (the columns do not line up)",
                    text=df["_text"].iat[i],
                )
            )
        df = df.loc[~bad].reset_index(drop=True)
        if _id_column(df.columns) in df.columns:
            df = self._resolve_cut_ids(df, _id_column(df.columns))
        return df

    def _resolve_cut_ids(self, df: pd.DataFrame, column: str) -> pd.DataFrame:
        """Job ids cut by the column (``column``: JobID, else JobIDRaw): a cut step id
        stays a step of its job.

        ``123.ba+``/``16325776_1.+`` keep their dot: steps of ``123``/``16325776_1``.
        A cut pending-array list ``123_[1,3,+`` becomes ``123_[1,3,...]`` (sacct's
        own mark for a cut list). A cut id without a dot whose text is the
        start of "<previous allocation id>." is that allocation's step cut at
        the dot (``123456789012.batch`` -> ``12345678901+``). Any other cut id
        cannot be known and the line is refused.
        """
        jid = df[column].astype(object)
        text = jid.fillna("")
        has_dot = has_step_dot(text)
        cut = text.str.endswith("+").to_numpy() & ~has_dot
        pend = cut & text.str.contains("_[", regex=False).to_numpy()
        if pend.any():
            jid[pend] = text[pend].str.slice(0, -1) + "...]"
        is_alloc = ~has_dot & ~cut & jid.notna().to_numpy()
        prev = pd.Series(
            np.where(is_alloc, text.to_numpy(dtype=object), None), dtype=object
        ).ffill()
        prev = prev.where(prev.notna(), self.last_alloc)
        bad = np.zeros(len(df), dtype=bool)
        for i in np.flatnonzero(cut & ~pend):
            stem = text.iat[i][:-1]
            p = prev.iat[i]
            if p is not None and (p + ".").startswith(stem):
                jid.iat[i] = p + ".+"
            else:
                bad[i] = True
                self.rejected.append(
                    Rejected(
                        self.path,
                        int(df["_line"].iat[i]),
                        f"{column} cut by the fixed-width column: the job cannot be identified "
                        f"(re-export with --parsable2, or widen it: --format={column}%30,...)",
                        column=column,
                        value=text.iat[i],
                        expected=sv.EXPECTED["job_id"],
                        text=df["_text"].iat[i],
                    )
                )
        if is_alloc.any():
            self.last_alloc = text.to_numpy(dtype=object)[is_alloc][-1]
        df = df.assign(**{column: jid})
        return df.loc[~bad].reset_index(drop=True)

    # -- rows of complete jobs -> a chunk
    def chunk(self, rows: pd.DataFrame, opts: ParseOptions, done: int, upto: int | None) -> Chunk:
        ign = np.concatenate(self.ignored) if self.ignored else np.zeros(0, np.int64)
        if upto is None:
            n_ign, self.ignored = len(ign), []
            rej, self.rejected = self.rejected, []
        else:
            n_ign = int((ign <= upto).sum())
            self.ignored = [ign[ign > upto]]
            rej = [r for r in self.rejected if r.line is not None and r.line <= upto]
            self.rejected = [
                r for r in self.rejected if not (r.line is not None and r.line <= upto)
            ]
        if _id_column(rows.columns) not in rows.columns:
            rows = rows.assign(JobID=pd.Series([None] * len(rows), dtype=object))
        if "_line" not in rows.columns:
            rows = rows.assign(_line=pd.Series([], dtype=np.int64))
        return records_to_chunk(
            rows,
            path=self.path,
            opts=opts,
            source_format=SOURCE_FORMAT,
            n_ignored=n_ign,
            pre_rejected=rej,
            bytes_done=done,
        )
