"""Read log files into job rows, and ingest them into a store.

``read_log`` turns one file into a job-table DataFrame; ``ingest`` streams
files into a :class:`~rdcost.jobtable.store.Store` and returns an accounting report in
which every input record is stored, folded into its job, merged with a
duplicate, ignored (comments, separators) or rejected with its reason.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rdcost.errors import NothingIngestibleError, RdcostError, UsageError
from rdcost.jobtable import schema
from rdcost.jobtable.store import InputRecord, Store, UpsertStats, sha256_file, write_rejects
from rdcost.plural import noun, plural
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
    counts: Counter = field(default_factory=Counter)  # rows whose figures will miss something
    reasons: Counter = field(default_factory=Counter)
    examples: list[Rejected] = field(default_factory=list)
    rejected_file: str | None = None
    error: RdcostError | None = None

    def add(self, chunk: Chunk) -> None:
        self.counts.update(_what_figures_miss(chunk.jobs))
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

    def warnings(self) -> list[str]:
        """What later figures will miss because of this file, each with its fix."""
        c, out = self.counts, []
        if c["no_gpus_slurm"]:
            out.append(
                f"{plural(c['no_gpus_slurm'], 'started job')} "
                f"{noun(c['no_gpus_slurm'], 'has', 'have')} no GPU count in the export (no "
                f"AllocTRES, AllocGRES or ReqTRES value): {noun(c['no_gpus_slurm'], 'its', 'their')} "
                "GPU time, cost and energy will be unknown; re-export with AllocTRES in sacct's "
                "--format"
            )
        if c["no_gpus"]:
            out.append(
                f"{plural(c['no_gpus'], 'started run')} "
                f"{noun(c['no_gpus'], 'has', 'have')} no GPU count: "
                f"{noun(c['no_gpus'], 'its', 'their')} GPU time, cost and energy will be unknown; "
                "give --gpus-per-run N (and --gpu-type)"
            )
        if c["gpus_cut"]:
            out.append(
                f"the AllocTRES of {plural(c['gpus_cut'], 'job')} was cut by the fixed-width column "
                f"(it ends in '+'), so {noun(c['gpus_cut'], 'its GPU count is', 'their GPU counts are')} "
                "unknown: re-export with AllocTRES%80 or --parsable2"
            )
        if c["start_derived"]:
            out.append(
                f"{plural(c['start_derived'], 'job')} {noun(c['start_derived'], 'has', 'have')} no start time in the export: start = end - elapsed "
                "(marked in derived_columns)"
            )
        if c["no_times"]:
            out.append(
                f"{plural(c['no_times'], 'job')} that ran {noun(c['no_times'], 'has', 'have')} neither a start nor an end time: their "
                "GPU-hours come from their elapsed time, and the span and GPUs in use place them at "
                "their submit time (or leave them out without one); export Start and End for exact times"
            )
        return out


def _what_figures_miss(jobs) -> Counter:
    """Counts of rows with no GPU count, GPU counts cut, derived starts, no times."""
    if not len(jobs):
        return Counter()
    cols = [
        "n_gpus",
        "start_time",
        "end_time",
        "elapsed_s",
        "cut_columns",
        "derived_columns",
        "linked_slurm_job_id",
        "source",
    ]
    df = jobs[cols] if isinstance(jobs, pd.DataFrame) else schema.to_pandas(jobs.select(cols))
    # a run that names its Slurm job gets the GPUs from the scheduler's record
    ran = ((df["elapsed_s"] > 0).fillna(False) | df["start_time"].notna()) & df[
        "linked_slurm_job_id"
    ].isna()
    cut = df["cut_columns"].astype("string").str.contains("n_gpus", regex=False).fillna(False)
    slurm = df["source"].astype("string").eq("slurm").fillna(False)
    derived = (
        df["derived_columns"].astype("string").str.contains("start_time", regex=False).fillna(False)
    )
    return Counter(
        {
            "no_gpus": int((ran & df["n_gpus"].isna() & ~cut & ~slurm).sum()),
            "no_gpus_slurm": int((ran & df["n_gpus"].isna() & ~cut & slurm).sum()),
            "gpus_cut": int((ran & cut).sum()),
            "start_derived": int(derived.sum()),
            "no_times": int((ran & df["start_time"].isna() & df["end_time"].isna()).sum()),
        }
    )


@dataclass
class IngestReport:
    store_path: str
    files: list[FileReport]
    stats: UpsertStats

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.error is not None]


#: Formats that read sacct text: their --delimiter may be any string.
SACCT_TEXT_FORMATS = ("sacct-parsable", "sacct-fixed")


def resolve_format(path: Path, format: str | None, opts: ParseOptions | None = None) -> str:
    """The format name for ``path``: the forced one, else ``sacct-parsable`` when
    ``--fields`` names the columns of header-less sacct text, else the detected one;
    a UsageError when an option cannot apply to that format."""
    if format is None and opts is not None and opts.fields:
        format = "sacct-parsable"
    if format is not None:
        get_format(format)  # validates the name
    name = format or detect(path)
    if opts is not None:
        if opts.fields and name != "sacct-parsable":
            raise UsageError(
                f"--fields names the columns of header-less sacct text, not of {name} input",
                path=str(path),
                hint="leave out --fields, or --format",
            )
        d = opts.delimiter
        if d is not None and len(d) != 1 and name not in SACCT_TEXT_FORMATS:
            raise UsageError(
                f"--delimiter must be one character for a CSV/TSV table, got {d!r} "
                f"({path.name} reads as {name})",
                hint="several-character delimiters are read in sacct text (--format sacct-parsable)",
            )
    return name


def iter_chunks(
    path: Path, opts: ParseOptions, format: str | None = None, *, arrow: bool = False
) -> Iterator[tuple[str, Chunk]]:
    """Parse one file as conformed chunks, each checked for record accounting.

    With ``arrow`` the chunks' ``jobs`` are Arrow tables with the schema (what
    the store writes), which skips a round trip through pandas.
    """
    path = Path(path)
    check_options(opts)
    _check_readable(path)
    name = resolve_format(path, format, opts)
    module = get_format(name)
    source_file = str(path.resolve())
    # a reader may build its rows in Arrow for the store (parse_arrow)
    reader = getattr(module, "parse_arrow", None) if arrow else None
    for chunk in (reader or module.parse)(path, opts):
        chunk.check_accounting()
        jobs = chunk.jobs
        if isinstance(jobs, pa.Table):
            chunk.jobs = _tag_arrow(jobs, source_file, opts)
            reject_implausible(chunk, str(path), opts)
            yield name, chunk
            continue
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


def _tag_arrow(jobs: pa.Table, source_file: str, opts: ParseOptions) -> pa.Table:
    """:func:`_apply_tags` and the source file of a job table in Arrow (with the schema)."""
    if jobs.schema != schema.ARROW_SCHEMA:
        jobs = schema.to_arrow(schema.to_pandas(jobs))
    n = jobs.num_rows
    if not n:
        return jobs

    def put(name: str, values: pa.Array | pa.ChunkedArray) -> None:
        nonlocal jobs
        jobs = jobs.set_column(jobs.schema.get_field_index(name), name, values)

    def const(value: str) -> pa.Array:
        return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))

    put("source_file", const(source_file))
    if opts.project is not None:
        put("project", const(opts.project))
    else:
        put("project", pc.coalesce(jobs["project"], jobs["account"]))
    if opts.cluster is not None:
        put("cluster", pc.coalesce(jobs["cluster"], pa.scalar(opts.cluster, pa.string())))
    return jobs


def _apply_tags(jobs: pd.DataFrame, opts: ParseOptions) -> pd.DataFrame:
    if opts.project is not None:
        jobs["project"] = opts.project
    else:
        proj = (
            jobs["project"]
            if "project" in jobs
            else pd.Series(None, index=jobs.index, dtype=object)
        )
        acct = (
            jobs["account"]
            if "account" in jobs
            else pd.Series(None, index=jobs.index, dtype=object)
        )
        jobs["project"] = proj.where(proj.notna(), acct)
    if opts.cluster is not None:
        cl = (
            jobs["cluster"]
            if "cluster" in jobs
            else pd.Series(None, index=jobs.index, dtype=object)
        )
        jobs["cluster"] = cl.where(cl.notna(), opts.cluster)
    return jobs


def read_log(
    path: str | os.PathLike, format: str | None = None, opts: ParseOptions | None = None, **options
) -> pd.DataFrame:
    """Read one log file into job rows (one per allocation or run).

    ``options`` are :class:`~rdcost.readers.base.ParseOptions` fields, e.g.
    ``read_log("sacct.txt", tz="Europe/Berlin", fields=["JobID", "State"])``.
    Rejected records are dropped (``on_bad_row="raise"`` raises at the first);
    use :func:`read_log_report` to see them.
    """
    df, _ = read_log_report(path, format=format, opts=opts, **options)
    return df


def read_log_report(
    path: str | os.PathLike, format: str | None = None, opts: ParseOptions | None = None, **options
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
    from rdcost.readers.slurm.timestamps import check_time_format

    check_tz(opts.tz)
    d = opts.delimiter
    if d is not None and (not d or any(c in d for c in '\r\n"')):
        raise UsageError(
            f"--delimiter must be a non-empty string without a line break or a quote, got {d!r}"
        )
    check_time_format(opts.time_format)
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


def ingest(
    paths: Iterable[str | os.PathLike],
    store: Store | str | os.PathLike | None = None,
    format: str | None = None,
    opts: ParseOptions | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    lock_timeout_s: float = 600.0,
    on_lock_wait: Callable[[], None] | None = None,
    **options,
) -> IngestReport:
    """Ingest log files into a store; see the module doc for the accounting.

    A file with nothing ingestible gets ``error`` set in its report (the other
    files are still committed). With ``on_bad_row="raise"`` the first bad record
    raises and nothing of this call is committed. ``on_progress(path,
    bytes_done, bytes_total)`` is called after each chunk.
    """
    opts = _options(opts, options)
    check_options(opts)  # before the store is opened or locked
    files = [Path(p) for p in paths]
    for path in files:  # an option that cannot apply to a file's format stops everything
        if path.is_file():
            try:
                resolve_format(path, format, opts)
            except UsageError:
                raise
            except RdcostError:
                pass  # the file's own problem: reported with the file below
    st = store if isinstance(store, Store) else Store(store)
    reports: list[FileReport] = []
    with (
        st.writer(lock_timeout_s=lock_timeout_s, on_wait=on_lock_wait) as w,
        ThreadPoolExecutor(1, thread_name_prefix="sha256") as hasher,
    ):
        for path in files:
            report = FileReport(path=str(path), format=format or "")
            reports.append(report)
            digest = None
            try:
                _check_readable(path)
                report.size_bytes = path.stat().st_size
                digest = hasher.submit(sha256_file, path)  # hashed while the file is parsed
                rejects: list[Rejected] = []
                for name, chunk in iter_chunks(path, opts, format, arrow=True):
                    if not report.format:
                        report.format = name
                    report.add(chunk)
                    rejects.extend(chunk.rejected)
                    w.add(chunk.jobs)
                    if on_progress is not None and chunk.bytes_done is not None:
                        on_progress(str(path), chunk.bytes_done, report.size_bytes)
                report.sha256 = digest.result()
                if report.n_jobs == 0:  # the store stays as it was; the rejects go beside it
                    rej = save_rejects_outside(path, rejects)
                    report.rejected_file = str(rej) if rej else None
                    raise NothingIngestibleError(_nothing_message(report), path=str(path))
                rej = w.stage_rejects(path, rejects)
                report.rejected_file = str(rej) if rej else None
            except RdcostError as exc:
                if digest is not None and not report.sha256:
                    report.sha256 = digest.result()
                if opts.on_bad_row == "raise":
                    raise
                report.error = exc  # the file adds nothing; the others still land
                continue
            w.record_input(
                InputRecord(
                    path=str(path.resolve()),
                    size_bytes=report.size_bytes,
                    sha256=report.sha256,
                    format=report.format,
                    rdcost_version=__version__,
                    ingested_time=pd.Timestamp.now(tz="UTC").isoformat(),
                    n_records=report.n_records,
                    n_jobs=report.n_jobs,
                    n_folded=report.n_folded,
                    n_merged=report.n_merged,
                    n_ignored=report.n_ignored,
                    n_rejected=report.n_rejected,
                    rejected_file=report.rejected_file,
                    options=_options_record(opts),
                )
            )
        stats = w.commit()
    return IngestReport(store_path=str(st.path), files=reports, stats=stats)


def save_rejects_outside(path: Path, rejects: list[Rejected]) -> Path | None:
    """The rejected records of a file that adds nothing, written to the temporary
    directory (not the store, which a failed ingest leaves as it was)."""
    if not rejects:
        return None
    fd, name = tempfile.mkstemp(prefix=f"rdcost-rejected-{path.name}-", suffix=".csv")
    os.close(fd)
    write_rejects(Path(name), rejects)
    return Path(name)


def _nothing_message(r: FileReport) -> str:
    if r.n_records == r.n_ignored:  # a header (and blank or comment lines), nothing else
        return "no job records: the file has a header but no records below it"
    msg = f"nothing ingestible: {plural(r.n_records - r.n_ignored, 'record')} read, none could be stored"
    for e in r.examples[:3]:
        where = f"line {e.line}" if e.line is not None else "a record"
        what = f" {e.column} {e.value!r}" if e.column and e.value is not None else ""
        msg += f"\n  {where}:{what} {e.reason}" + (
            f" (expected {e.expected})" if e.expected else ""
        )
    if r.n_rejected > len(r.examples[:3]):
        top = ", ".join(f"{reason} ({n:,})" for reason, n in r.reasons.most_common(3))
        msg += f"\n  all {r.n_rejected:,} rejected: {top}"
    if r.rejected_file:
        msg += f"\n  the rejected records are in {r.rejected_file} (the store was not changed)"
    return msg


def _options_record(opts: ParseOptions) -> dict:
    return {
        k: v
        for k, v in {
            "tz": opts.tz,
            "time_format": opts.time_format,
            "export_time": None if opts.export_time is None else opts.export_time.isoformat(),
            "fields": opts.fields,
            "delimiter": opts.delimiter,
            "cluster": opts.cluster,
            "project": opts.project,
            "gpus_per_run": opts.gpus_per_run,
            "gpu_type": opts.gpu_type,
            "dayfirst": opts.dayfirst,
            "column_map": opts.column_map or None,
        }.items()
        if v is not None
    }
