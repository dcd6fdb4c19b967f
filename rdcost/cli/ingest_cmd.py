"""`rdcost ingest`: read log files into the store, and account for every record."""

from __future__ import annotations

import tomllib
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rdcost.cli.app import StoreOpt, app, err
from rdcost.errors import UsageError
from rdcost.jobtable.store import Store
from rdcost.output.numbers import integer
from rdcost.plural import plural
from rdcost.readers.base import ParseOptions
from rdcost.readers.ingest import IngestReport, ingest
from rdcost.readers.registry import FORMATS

FormatChoice = Enum("FormatChoice", {name: name for name in FORMATS}, type=str)  # type: ignore[misc]


class OnBadRow(StrEnum):
    skip = "skip"
    raise_ = "raise"


#: Files larger than this get a progress bar on stderr.
PROGRESS_MIN_BYTES = 20 * 1024 * 1024


@app.command("ingest")
def ingest_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Log files: sacct text or JSON, W&B or MLflow exports, CSV/TSV.", metavar="FILE"
        ),
    ],
    store: StoreOpt = None,
    format: Annotated[
        FormatChoice | None,
        typer.Option("--format", "-f", help="Force the input format instead of detecting it."),
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option(
            help="Column names of a header-less file, comma-separated, e.g. JobID,State,Elapsed "
            "(the --format/-o list the sacct export used).",
            metavar="TEXT",
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            help="Field separator of delimited text (default: detected; '\\t' and '\\x1f' accepted).",
            metavar="TEXT",
        ),
    ] = None,
    tz: Annotated[
        str,
        typer.Option(
            help="Time zone of timestamps written without an offset (sacct text, MLflow UI CSV). "
            "Stored times are UTC.",
            metavar="TEXT",
        ),
    ] = "UTC",
    time_format: Annotated[
        str | None,
        typer.Option(
            help="SLURM_TIME_FORMAT of a sacct export: standard, relative, or the strftime "
            "format it was set to, e.g. '%s' or '%d/%m/%Y %H:%M' (default: detected).",
            metavar="TEXT",
        ),
    ] = None,
    export_time: Annotated[
        str | None,
        typer.Option(
            help="When the file was exported, e.g. 2024-06-20T12:00 (in --tz unless it has an "
            "offset): dates SLURM_TIME_FORMAT=relative times (default: the file's modification "
            "time).",
            metavar="TIME",
        ),
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="Cluster name where the file does not say.", metavar="TEXT")
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            help="Tag every ingested record with this project (default: its account).",
            metavar="TEXT",
        ),
    ] = None,
    on_bad_row: Annotated[
        OnBadRow,
        typer.Option(
            help="skip: store good records, report and save bad ones; raise: stop at the first bad record."
        ),
    ] = OnBadRow.skip,
    gpus_per_run: Annotated[
        float | None,
        typer.Option(
            help="GPUs each run held, for W&B/MLflow/CSV exports that do not say (recorded as assumed).",
            metavar="NUMBER",
        ),
    ] = None,
    gpu_type: Annotated[
        str | None,
        typer.Option(
            help="GPU type of runs whose export does not say, e.g. a100 (recorded as assumed).",
            metavar="TEXT",
        ),
    ] = None,
    dayfirst: Annotated[
        bool | None,
        typer.Option(
            "--dayfirst/--monthfirst", help="How to read ambiguous CSV dates like 03/04/2024."
        ),
    ] = None,
    map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Map a canonical CSV column to yours: --map start_time=begin (repeatable).",
            metavar="TEXT",
        ),
    ] = None,
    map_file: Annotated[
        Path | None,
        typer.Option(
            help="TOML file with a [map] table of canonical = 'their column' pairs.", metavar="PATH"
        ),
    ] = None,
    lock_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for another ingest into the same store.", metavar="NUMBER"
        ),
    ] = 600.0,
) -> None:
    """Read log files into the job store. Every record is stored, folded into its
    job (sacct steps), merged with a duplicate, or rejected with its reason; the
    report goes to stderr and rejected records to a CSV beside the store.

    Example:

      rdcost ingest sacct.txt --tz America/New_York --cluster cedar

      rdcost ingest old.txt --fields JobID,User,State,Elapsed,AllocTRES
    """
    opts = ParseOptions(
        tz=tz,
        time_format=time_format,
        export_time=_export_time(export_time, tz),
        fields=_split_fields(fields),
        delimiter=_unescape(delimiter),
        cluster=cluster,
        project=project,
        on_bad_row="raise" if on_bad_row == OnBadRow.raise_ else "skip",
        gpus_per_run=gpus_per_run,
        gpu_type=gpu_type,
        dayfirst=dayfirst,
        column_map=_column_map(map or [], map_file),
    )
    st = Store(store)
    err.print(f"store: {st.path}", markup=False)
    big = [f for f in files if f.is_file() and f.stat().st_size >= PROGRESS_MIN_BYTES]
    progress = _progress() if big else None
    try:
        if progress is not None:
            progress.start()
        report = ingest(
            files,
            store=st,
            format=format.value if format else None,
            opts=opts,
            on_progress=_on_progress(progress) if progress else None,
            lock_timeout_s=lock_timeout,
            on_lock_wait=lambda: err.print(
                "waiting for another ingest into this store...", markup=False
            ),
        )
    finally:
        if progress is not None:
            progress.stop()
    print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _export_time(text: str | None, tz: str):
    """``--export-time``: a timestamp, in ``tz`` unless it carries an offset."""
    if text is None:
        return None
    import pandas as pd

    from rdcost.readers.slurm.grammar import check_tz

    check_tz(tz)
    try:
        t = pd.Timestamp(text)
    except (ValueError, TypeError):
        t = None
    if t is None or pd.isna(t):
        raise UsageError(
            f"--export-time must be a date and time such as 2024-06-20T12:00, got {text!r}"
        )
    try:
        return (t if t.tzinfo is not None else t.tz_localize(tz)).tz_convert("UTC")
    except ValueError as exc:  # a local time that does not exist, or occurs twice, in tz
        raise UsageError(f"--export-time {text!r} in --tz {tz!r}: {exc}") from exc


def print_report(report: IngestReport) -> None:
    for f in report.files:
        if f.error is not None:
            err.print(f"rdcost: error: {f.error}", markup=False)
            continue
        inferred = f" ({f.n_inferred:,} inferred from their steps)" if f.n_inferred else ""
        other = (
            f"; {plural(f.n_ignored, 'other line')} (header, blank or comment)"
            if f.n_ignored
            else ""
        )
        err.print(
            f"{f.path} [{f.format}]: {plural(f.n_records - f.n_ignored, 'record')} read: "
            f"{plural(f.n_jobs, 'job')}{inferred}, {plural(f.n_folded, 'step')} folded, "
            f"{plural(f.n_merged, 'duplicate')} merged, {integer(f.n_rejected)} rejected{other}",
            markup=False,
        )
        for note in f.notes:
            err.print(f"  note: {note}", markup=False)
        for warning in f.warnings():
            err.print(f"  warning: {warning}", markup=False)
        for reason, n in f.reasons.most_common():
            err.print(f"  {plural(n, 'record')} rejected: {reason}", markup=False)
        for ex in f.examples:
            detail = f" column {ex.column!r}" if ex.column else ""
            if ex.value is not None:
                detail += f"{',' if detail else ''} value {ex.value[:60]!r}"
            where = f"{ex.location()}:{detail}" if detail else ex.location()
            err.print(f"    e.g. {where}: {ex.reason}", markup=False)
        if f.rejected_file:
            err.print(f"  rejected records saved to {f.rejected_file}", markup=False)
    s = report.stats
    if report.files and len(report.failed) == len(report.files):
        err.print(f"store: unchanged -> {report.store_path}", markup=False)
        return
    for note in s.notes:
        err.print(f"  note: {note}", markup=False)
    for (old, new), n in sorted(s.project_moves.items()):
        err.print(
            f"  {plural(n, 'job')} moved from project {old} to {new}",
            markup=False,
        )
    err.print(
        f"store: {integer(s.n_new)} new, {integer(s.n_updated)} updated, {integer(s.n_unchanged)} unchanged "
        "jobs"
        + (
            f", {plural(s.n_kept_final, 'older non-final record')} ignored"
            if s.n_kept_final
            else ""
        )
        + f" -> {report.store_path}",
        markup=False,
    )


def _split_fields(fields: str | None) -> list[str] | None:
    if fields is None:
        return None
    names = [f.strip() for f in fields.replace("|", ",").split(",") if f.strip()]
    if not names:
        raise UsageError("--fields is empty; give the column names, e.g. JobID,State,Elapsed")
    return names


def _unescape(s: str | None) -> str | None:
    if s is None:
        return None
    return s.encode("utf-8").decode("unicode_escape") if "\\" in s else s


def _column_map(pairs: list[str], map_file: Path | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if map_file is not None:
        try:
            data = tomllib.loads(map_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read --map-file: {exc}", path=str(map_file)) from exc
        table = data.get("map", data)
        for k, v in table.items():
            if not isinstance(v, str):
                raise UsageError(
                    f"--map-file: value of {k!r} must be a column name",
                    path=str(map_file),
                    value=str(v),
                )
            mapping[k] = v
    for p in pairs:
        if "=" not in p:
            raise UsageError(f"--map expects canonical=theirs, got {p!r}")
        k, v = p.split("=", 1)
        mapping[k.strip()] = v.strip()
    return mapping


def _progress():
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def _on_progress(progress):
    tasks: dict[str, int] = {}

    def update(path: str, done: int, total: int) -> None:
        if path not in tasks:
            tasks[path] = progress.add_task(Path(path).name, total=total)
        progress.update(tasks[path], completed=done)

    return update
