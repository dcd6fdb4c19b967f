"""The contract every input format follows.

A format is a module with three names:

- ``NAME``: the string users pass to ``--format`` (e.g. ``"sacct-parsable"``);
- ``sniff(sample: Sample) -> bool``: True when the sample is this format and
  no other (sniffers must never claim another format's files);
- ``parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]``: stream the
  file as chunks of job rows, in bounded memory.

Every input record is accounted for in the chunks: for each chunk,
``n_records == len(jobs) + n_folded + n_merged + len(rejected) + n_ignored``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import pandas as pd
import pyarrow as pa

from rdcost.errors import ParseError

OnBadRow = Literal["skip", "raise"]

#: Bytes read from the head of a file for sniffing.
SAMPLE_BYTES = 256 * 1024


@dataclass
class ParseOptions:
    """What a user can tell a parser (each maps to an ``rdcost ingest`` option)."""

    tz: str = "UTC"  # --tz: zone of naive timestamps in the file
    time_format: str | None = None  # --time-format: standard, relative or a strftime format
    export_time: pd.Timestamp | None = (
        None  # --export-time: when the file was exported (relative times)
    )
    fields: list[str] | None = None  # --fields: column names of a header-less file
    delimiter: str | None = None  # --delimiter: field separator of delimited text
    cluster: str | None = None  # --cluster: where the file does not say
    project: str | None = None  # --project: tag for everything ingested
    on_bad_row: OnBadRow = "skip"  # --on-bad-row
    gpus_per_run: float | None = None  # --gpus-per-run (W&B/MLflow/CSV without GPU info)
    gpu_type: str | None = None  # --gpu-type
    dayfirst: bool | None = None  # --dayfirst/--monthfirst for ambiguous CSV dates
    column_map: dict[str, str] = field(default_factory=dict)  # --map canonical=theirs
    chunk_rows: int = 200_000  # records per chunk (bounded memory)
    now: pd.Timestamp | None = None  # reference "now" for sanity checks (tests)


@dataclass
class Rejected:
    """One input record that could not be stored, with the reason."""

    path: str
    line: int | None
    reason: str
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    text: str | None = None

    def to_error(self) -> ParseError:
        return ParseError(
            self.reason,
            path=self.path,
            line=self.line,
            column=self.column,
            value=self.value,
            expected=self.expected,
        )

    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass
class Chunk:
    """A batch of parsed job rows and the accounting of the records behind them."""

    jobs: pd.DataFrame  # partial job-table frame (schema.conform applies)
    n_records: int  # input records consumed by this chunk
    n_folded: int = 0  # step records folded into their allocation
    n_merged: int = 0  # duplicate records merged into another in this file
    n_ignored: int = 0  # comment/blank/separator lines that are not records
    rejected: list[Rejected] = field(default_factory=list)
    format_detail: str | None = None  # e.g. "sacct-json/v0.0.40"
    bytes_done: int | None = None  # input bytes consumed so far (progress bar)
    n_inferred: int = 0  # of the job rows: allocations inferred from their steps
    notes: list[str] = field(default_factory=list)  # what the reader could not do, for the report

    def check_accounting(self) -> None:
        total = len(self.jobs) + self.n_folded + self.n_merged + self.n_ignored + len(self.rejected)
        if total != self.n_records:
            raise AssertionError(
                f"records unaccounted for: read {self.n_records}, stored {len(self.jobs)} + "
                f"folded {self.n_folded} + merged {self.n_merged} + ignored {self.n_ignored} + "
                f"rejected {len(self.rejected)} = {total}"
            )


@dataclass
class Sample:
    """The head of a file, for sniffing."""

    path: Path
    head: bytes  # first SAMPLE_BYTES bytes
    text: str  # head decoded as UTF-8 with replacement, BOM removed

    @classmethod
    def read(cls, path: Path) -> Sample:
        with open(path, "rb") as fh:
            head = fh.read(SAMPLE_BYTES)
        text = head.decode("utf-8", errors="replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        return cls(path=path, head=head, text=text)

    def lines(self, n: int = 50) -> list[str]:
        """The first ``n`` complete lines (without line endings)."""
        lines = self.text.splitlines()
        if len(self.head) == SAMPLE_BYTES and lines:
            lines = lines[:-1]  # last one may be cut
        return lines[:n]


class Format(Protocol):
    NAME: str

    def sniff(self, sample: Sample) -> bool: ...

    def parse(self, path: Path, opts: ParseOptions) -> Iterator[Chunk]: ...


def handle_bad(rejected: list[Rejected], bad: Rejected, opts: ParseOptions) -> None:
    """Record a bad record, or raise at once with --on-bad-row raise."""
    if opts.on_bad_row == "raise":
        raise bad.to_error()
    rejected.append(bad)


# ---------------------------------------------------------------- plausibility

#: The longest run time a record may claim: more is a corrupted value or clock.
MAX_RUN_S = 366 * 86_400
#: How far after "now" a time may lie (a clock or a --tz off by hours is no error).
FUTURE_SLACK_S = 86_400
#: States whose elapsed time is "so far" (not checked against MAX_RUN_S).
UNFINISHED_STATES = frozenset({"RUNNING", "SUSPENDED", "PENDING"})


def reject_implausible(chunk: Chunk, path: str, opts: ParseOptions) -> None:
    """Move the job rows that no real job can have into ``chunk.rejected``.

    Applied to every format after parsing (``chunk.jobs`` conformed to the
    schema), so that the same record gets the same verdict from every source:

    - ``end before start``: an end time before the start time;
    - ``<column> is in the future``: a submit, start or end time more than one
      day after now (``opts.now``, default the clock);
    - ``run time of more than a year``: an elapsed time, or end - start, over
      366 days, of a job that is not RUNNING, SUSPENDED or PENDING (whose
      elapsed time is only its time so far).

    Each record gets its first problem as its reason; accounting is kept
    (a row moves from stored to rejected).
    """
    jobs = chunk.jobs
    if len(jobs) == 0:
        return
    if isinstance(jobs, pd.DataFrame):
        view = jobs[list(_PLAUSIBILITY_COLUMNS)]
    else:  # an Arrow table with the job schema
        from rdcost.jobtable.schema import to_pandas

        view = to_pandas(jobs.select(list(_PLAUSIBILITY_COLUMNS)))
    bad = _implausible(view, path, opts, chunk)
    if bad is not None:
        chunk.jobs = (
            jobs[~bad].reset_index(drop=True)
            if isinstance(jobs, pd.DataFrame)
            else jobs.filter(pa.array(~bad))
        )


_PLAUSIBILITY_COLUMNS = (
    "state",
    "submit_time",
    "start_time",
    "end_time",
    "elapsed_s",
    "source_line",
)


def _implausible(jobs: pd.DataFrame, path: str, opts: ParseOptions, chunk: Chunk):
    """The rows to drop (numpy mask), their rejects added to ``chunk``; None if none."""
    jobs = jobs.reset_index(drop=True)
    now = pd.Timestamp.now(tz="UTC") if opts.now is None else pd.Timestamp(opts.now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    latest = now + pd.Timedelta(seconds=FUTURE_SLACK_S)
    start, end = jobs["start_time"], jobs["end_time"]
    long_run = f"at most {MAX_RUN_S:,} s (366 days)"
    checks = [
        (end < start, "end_time", end, "end before start", "an end time at or after the start time")
    ]
    for col in ("submit_time", "start_time", "end_time"):
        checks.append(
            (
                jobs[col] > latest,
                col,
                jobs[col],
                f"{col} is in the future",
                f"a time before {latest:%Y-%m-%dT%H:%M}Z (now + 1 day)",
            )
        )
    # an unfinished job's elapsed time is its time so far, computed at export:
    # kept as the log says (years of it is a Slurm "runaway" record)
    ended = ~jobs["state"].isin(list(UNFINISHED_STATES))
    checks.append(
        (
            ended & (jobs["elapsed_s"] > MAX_RUN_S),
            "elapsed_s",
            jobs["elapsed_s"],
            "run time of more than a year",
            long_run,
        )
    )
    checks.append(
        (
            ended & ((end - start).dt.total_seconds() > MAX_RUN_S),
            "end_time",
            end,
            "run time of more than a year",
            long_run + " after the start",
        )
    )
    bad = pd.Series(False, index=jobs.index)
    found: list[tuple[int, Rejected]] = []
    lines = jobs["source_line"]
    for mask, column, values, reason, expected in checks:
        new = mask.fillna(False).astype(bool) & ~bad
        for i in new[new].index:
            line = lines.at[i]
            found.append(
                (
                    i,
                    Rejected(
                        path=str(path),
                        line=None if pd.isna(line) else int(line),
                        reason=reason,
                        column=column,
                        value=_as_text(values.at[i]),
                        expected=expected,
                    ),
                )
            )
        bad |= new
    if not found:
        return None
    out = list(chunk.rejected)
    for _, r in sorted(found, key=lambda f: f[0]):
        handle_bad(out, r, opts)
    chunk.rejected = sorted(out, key=lambda r: (r.line is None, r.line or 0))
    return bad.to_numpy(dtype=bool)


def _as_text(v) -> str:
    if isinstance(v, pd.Timestamp):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
