"""Read log files into job rows, and ingest them into a store.

``read_log`` turns one file into a job-table DataFrame; ``ingest`` streams
files into a :class:`~rdcost.jobtable.store.Store` and returns an accounting report in
which every input record is stored, folded into its job, merged with a
duplicate, ignored (comments, separators) or rejected with its reason.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rdcost.errors import NothingIngestibleError, RdcostError, UsageError
from rdcost.jobtable import schema
from rdcost.jobtable.store import InputRecord, Store, UpsertStats, sha256_file
from rdcost.readers.base import Chunk, ParseOptions, Rejected, reject_implausible
from rdcost.readers.registry import detect, get_format
from rdcost.version import __version__

#: How many rejected records a report shows as examples.
N_EXAMPLES = 5


@dataclass
class FileReport:
    """What happened to the records of one input file."""

    path: str
    format: str
    size_bytes: int = 0
    sha256: str = ""
    n_records: int = 0
    n_jobs: int = 0
    n_folded: int = 0
    n_merged: int = 0
    n_ignored: int = 0
    n_rejected: int = 0
    n_inferred: int = 0
    notes: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    examples: list[Rejected] = field(default_factory=list)
    rejected_file: str | None = None
    error: RdcostError | None = None

    def add(self, chunk: Chunk) -> None:
        self.n_records += chunk.n_records
        self.n_jobs += len(chunk.jobs)
        self.n_folded += chunk.n_folded
        self.n_merged += chunk.n_merged
        self.n_ignored += chunk.n_ignored
        self.n_rejected += len(chunk.rejected)
        self.n_inferred += chunk.n_inferred
        self.notes.extend(n for n in chunk.notes if n not in self.notes)
        for r in chunk.rejected:
            self.reasons[r.reason] += 1
            if len(self.examples) < N_EXAMPLES:
                self.examples.append(r)
        if chunk.format_detail:
            self.format = chunk.format_detail


@dataclass
class IngestReport:
    store_path: str
    files: list[FileReport]
    stats: UpsertStats

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.error is not None]


def resolve_format(path: Path, format: str | None) -> str:
    """The format name for ``path``: the forced one, or the detected one."""
    if format is not None:
        get_format(format)  # validates the name
        return format
    return detect(path)


def iter_chunks(path: Path, opts: ParseOptions, format: str | None = None, *, arrow: bool = False
                ) -> Iterator[tuple[str, Chunk]]:
    """Parse one file as conformed chunks, each checked for record accounting.

    With ``arrow`` the chunks' ``jobs`` are Arrow tables with the schema (what
    the store writes), which skips a round trip through pandas.
    """
    path = Path(path)
    check_options(opts)
    _check_readable(path)
    name = resolve_format(path, format)
    module = get_format(name)
    source_file = str(path.resolve())
    for chunk in module.parse(path, opts):
        chunk.check_accounting()
        jobs = chunk.jobs
        if len(jobs):
            jobs = jobs.copy()
            jobs["source_file"] = source_file
            jobs = _apply_tags(jobs, opts)
        if arrow:
            extra = [c for c in jobs.columns if c not in schema.COLUMN_NAMES]
            if extra:
                raise schema.SchemaError(f"columns not in the job schema: {extra}")
            chunk.jobs = schema.to_arrow(jobs)
        else:
            chunk.jobs = schema.conform(jobs)
        reject_implausible(chunk, str(path), opts)
        yield name, chunk


def _apply_tags(jobs: pd.DataFrame, opts: ParseOptions) -> pd.DataFrame:
    if opts.project is not None:
        jobs["project"] = opts.project
    else:
        proj = jobs["project"] if "project" in jobs else pd.Series(None, index=jobs.index, dtype=object)
        acct = jobs["account"] if "account" in jobs else pd.Series(None, index=jobs.index, dtype=object)
        jobs["project"] = proj.where(proj.notna(), acct)
    if opts.cluster is not None:
        cl = jobs["cluster"] if "cluster" in jobs else pd.Series(None, index=jobs.index, dtype=object)
        jobs["cluster"] = cl.where(cl.notna(), opts.cluster)
    return jobs


def read_log(path: str | os.PathLike, format: str | None = None,
             opts: ParseOptions | None = None, **options) -> pd.DataFrame:
    """Read one log file into job rows (one per allocation or run).

    ``options`` are :class:`~rdcost.readers.base.ParseOptions` fields, e.g.
    ``read_log("sacct.txt", tz="Europe/Berlin", fields=["JobID", "State"])``.
    Rejected records are dropped (``on_bad_row="raise"`` raises at the first);
    use :func:`read_log_report` to see them.
    """
    df, _ = read_log_report(path, format=format, opts=opts, **options)
    return df


def read_log_report(path: str | os.PathLike, format: str | None = None,
                    opts: ParseOptions | None = None, **options
                    ) -> tuple[pd.DataFrame, FileReport]:
    """Like :func:`read_log`, also returning the accounting of every record."""
    opts = _options(opts, options)
    path = Path(path)
    report = FileReport(path=str(path), format=format or "")
    frames = []
    for name, chunk in iter_chunks(path, opts, format):
        if not report.format or report.format == format:
            report.format = name
        report.add(chunk)
        frames.append(chunk.jobs)
    df = pd.concat(frames, ignore_index=True) if frames else schema.empty_frame()
    return df, report


def _options(opts: ParseOptions | None, options: dict) -> ParseOptions:
    if opts is None:
        opts = ParseOptions()
    for k, v in options.items():
        if not hasattr(opts, k):
            raise TypeError(f"unknown parse option {k!r}")
        setattr(opts, k, v)
    return opts


def check_options(opts: ParseOptions) -> None:
    """Options that cannot work are a UsageError before any file is read."""
    from rdcost.readers.slurm.grammar import check_tz

    check_tz(opts.tz)
    d = opts.delimiter
    if d is not None and (len(d) != 1 or d in '\r\n"'):
        raise UsageError(f"--delimiter must be one character (not a line break or a quote), got {d!r}")
    g = opts.gpus_per_run
    if g is not None and not (isinstance(g, (int, float)) and math.isfinite(g) and g >= 0):
        raise UsageError(f"--gpus-per-run must be a number >= 0, got {g!r}")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise RdcostError("no such file", path=str(path))
    if path.is_dir():
        raise RdcostError("is a directory, not a log file", path=str(path))
    if not os.access(path, os.R_OK):
        raise RdcostError("permission denied", path=str(path))


def ingest(paths: Iterable[str | os.PathLike], store: Store | str | os.PathLike | None = None,
           format: str | None = None, opts: ParseOptions | None = None,
           on_progress: Callable[[str, int, int], None] | None = None,
           lock_timeout_s: float = 600.0, on_lock_wait: Callable[[], None] | None = None,
           **options) -> IngestReport:
    """Ingest log files into a store; see the module doc for the accounting.

    A file with nothing ingestible gets ``error`` set in its report (the other
    files are still committed). With ``on_bad_row="raise"`` the first bad record
    raises and nothing of this call is committed. ``on_progress(path,
    bytes_done, bytes_total)`` is called after each chunk.
    """
    opts = _options(opts, options)
    check_options(opts)   # before the store is opened or locked
    st = store if isinstance(store, Store) else Store(store)
    reports: list[FileReport] = []
    with st.writer(lock_timeout_s=lock_timeout_s, on_wait=on_lock_wait) as w, \
            ThreadPoolExecutor(1, thread_name_prefix="sha256") as hasher:
        for p in paths:
            path = Path(p)
            report = FileReport(path=str(path), format=format or "")
            reports.append(report)
            digest = None
            try:
                _check_readable(path)
                report.size_bytes = path.stat().st_size
                digest = hasher.submit(sha256_file, path)   # hashed while the file is parsed
                rejects: list[Rejected] = []
                for name, chunk in iter_chunks(path, opts, format, arrow=True):
                    if not report.format:
                        report.format = name
                    report.add(chunk)
                    rejects.extend(chunk.rejected)
                    w.add(chunk.jobs)
                    if on_progress is not None and chunk.bytes_done is not None:
                        on_progress(str(path), chunk.bytes_done, report.size_bytes)
                rej = w.stage_rejects(path, rejects)
                report.rejected_file = str(rej) if rej else None
                report.sha256 = digest.result()
                if report.n_jobs == 0:
                    raise NothingIngestibleError(_nothing_message(report), path=str(path))
            except RdcostError as exc:
                if digest is not None and not report.sha256:
                    report.sha256 = digest.result()
                if opts.on_bad_row == "raise":
                    raise
                report.error = exc  # the file adds nothing; the others still land
                continue
            w.record_input(InputRecord(
                path=str(path.resolve()), size_bytes=report.size_bytes, sha256=report.sha256,
                format=report.format, rdcost_version=__version__,
                ingested_time=pd.Timestamp.now(tz="UTC").isoformat(),
                n_records=report.n_records, n_jobs=report.n_jobs, n_folded=report.n_folded,
                n_merged=report.n_merged, n_ignored=report.n_ignored,
                n_rejected=report.n_rejected, rejected_file=report.rejected_file,
                options=_options_record(opts)))
        stats = w.commit()
    return IngestReport(store_path=str(st.path), files=reports, stats=stats)


def _nothing_message(r: FileReport) -> str:
    if r.n_records == r.n_ignored:   # a header (and blank or comment lines), nothing else
        return "no job records: the file has a header but no records below it"
    msg = f"nothing ingestible: {r.n_records} records read, none could be stored"
    if r.reasons:
        top = ", ".join(f"{reason} ({n})" for reason, n in r.reasons.most_common(3))
        msg += f"; rejected: {top}"
    return msg


def _options_record(opts: ParseOptions) -> dict:
    return {k: v for k, v in {
        "tz": opts.tz, "fields": opts.fields, "delimiter": opts.delimiter,
        "cluster": opts.cluster, "project": opts.project,
        "gpus_per_run": opts.gpus_per_run, "gpu_type": opts.gpu_type,
        "dayfirst": opts.dayfirst, "column_map": opts.column_map or None,
    }.items() if v is not None}
