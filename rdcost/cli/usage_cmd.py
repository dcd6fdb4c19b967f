"""`rdcost usage`: CPU- and GPU-seconds per account (or any column) in a time window,
with the rule for running jobs and jobs crossing the window's edges as options, and
a mode that reports exactly what `sreport` reports (rdcost.analysis.usage_window)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from rdcost.analysis.usage_window import (
    ROLLUP,
    WindowRule,
    hour_floor,
    parse_tz,
    sreport_usage,
    to_utc,
    tres_seconds,
)
from rdcost.cli.app import (
    OutputFormat,
    ProjectOpt,
    StoreOpt,
    app,
    err,
    load_jobs,
    out_csv,
    out_document,
    out_json,
    state,
)
from rdcost.errors import UsageError
from rdcost.output.blocks import Document, Table


class Running(StrEnum):
    as_of = "as-of"
    window_end = "window-end"
    exclude = "exclude"


class Edges(StrEnum):
    clip = "clip"
    whole = "whole"
    start = "start"


#: Columns the usage needs besides the --by columns.
NEEDED = ["start_time", "end_time", "n_cpus", "n_gpus", "gpu_type", "is_container"]


@app.command("usage")
def usage_command(
    start: Annotated[
        str,
        typer.Option(
            "--start",
            "-S",
            help="Window start, e.g. 2026-12-06T20:00 (without an offset: in --tz).",
            metavar="TEXT",
        ),
    ],
    end: Annotated[
        str,
        typer.Option(
            "--end", "-E", help="Window end, excluded (without an offset: in --tz).", metavar="TEXT"
        ),
    ],
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="sacct exports (or other logs) to read instead of the store; not stored.",
            metavar="FILE",
        ),
    ] = None,
    by: Annotated[
        str,
        typer.Option(
            help="Comma-separated job-table columns to group by, e.g. account,user.", metavar="TEXT"
        ),
    ] = "account",
    running: Annotated[
        Running,
        typer.Option(
            help="What a job without an end counts up to: as-of (the --as-of time, like sacct "
            "--truncate), window-end (like slurmdbd's hourly rollup), exclude."
        ),
    ] = Running.as_of,
    edges: Annotated[
        Edges,
        typer.Option(
            help="A job crossing the window's start or end counts: clip (its seconds inside, like "
            "sacct --truncate and sreport), whole (its whole run), start (its whole run, in "
            "the window where it started)."
        ),
    ] = Edges.clip,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The time the figures are as of: jobs running then count by --running "
            "(default: now; give the export's time for an older export).",
            metavar="TEXT",
        ),
    ] = None,
    sreport: Annotated[
        bool,
        typer.Option(
            "--sreport",
            help="Report what `sreport -t seconds cluster AccountUtilizationByUser "
            "start=START end=END` reports (run at --as-of): sreport's whole hours, "
            "the rollup's rule, only rolled-up hours. Sets --running window-end "
            "--edges clip.",
        ),
    ] = False,
    rolled_up_to: Annotated[
        str | None,
        typer.Option(
            "--rolled-up-to",
            help="With --sreport: end of the last hour slurmdbd has rolled up "
            "(default: the start of the --as-of hour; after `sacctmgr rollup S E`: E).",
            metavar="TEXT",
        ),
    ] = None,
    tres: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated TRES to report: cpu, gres/gpu, gres/gpu:TYPE (default: cpu, "
            "gres/gpu and every GPU type seen).",
            metavar="TEXT",
        ),
    ] = None,
    tz: Annotated[
        str,
        typer.Option(
            help="Time zone of times written without an offset: in FILES (sacct prints local "
            "time) and in --start/--end/--as-of/--rolled-up-to. An IANA name.",
            metavar="TEXT",
        ),
    ] = "UTC",
    sreport_tz: Annotated[
        str | None,
        typer.Option(
            "--sreport-tz",
            help="With --sreport: the time zone slurmdbd and sreport run in, which "
            "sets where their hours begin (default: --tz). An IANA name or an "
            "offset like +05:30.",
            metavar="TEXT",
        ),
    ] = None,
    store: StoreOpt = None,
    project: ProjectOpt = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
    ] = OutputFormat.table,
) -> None:
    """TRES-seconds (cpu, gres/gpu, gres/gpu:TYPE) per account in [--start, --end), with
    the rule for running jobs and jobs crossing the window's edges made explicit.
    --sreport gives sreport's own figures; docs/sacct.md shows how to compare.

    Example:

      rdcost usage --start 2026-12-06T20:00 --end 2026-12-06T22:00 --by account,user

      rdcost usage sacct.txt -S 2026-12-06T20:00 -E 2026-12-06T22:00 --sreport --as-of 2026-12-06T22:05
    """
    zone = parse_tz(tz)
    hour_zone = parse_tz(sreport_tz) if sreport_tz else zone
    if sreport_tz is not None and not sreport:
        raise UsageError("--sreport-tz only applies with --sreport")
    group = [c.strip() for c in by.split(",") if c.strip()]
    if not group:
        raise UsageError("--by is empty; give a column, e.g. account")
    tres_list = [t.strip() for t in tres.split(",") if t.strip()] if tres else None
    t_start, t_end = to_utc(start, zone), to_utc(end, zone)
    now = to_utc(as_of, zone) if as_of else pd.Timestamp.now(tz="UTC").floor("s")
    if rolled_up_to is not None and not sreport:
        raise UsageError("--rolled-up-to only applies with --sreport")
    if sreport and (running == Running.exclude or edges != Edges.clip):
        raise UsageError(
            "--sreport counts by sreport's rule (--running window-end --edges clip); "
            "leave --running and --edges out"
        )

    jobs = _jobs(files, store, project, tz, [*group, *NEEDED])
    if sreport:
        u = sreport_usage(
            jobs,
            t_start,
            t_end,
            now=now,
            tz=hour_zone,
            by=group,
            tres=tres_list,
            rolled_up_to=to_utc(rolled_up_to, zone) if rolled_up_to else None,
        )
        rolled = hour_floor(to_utc(rolled_up_to, zone) if rolled_up_to else now, hour_zone)
        err.print(
            f"sreport period {_show(u.start, hour_zone)} - {_show(u.end, hour_zone)} "
            f"({(u.end - u.start).total_seconds():.0f} secs), hours rolled up before "
            f"{_show(rolled, hour_zone)}; rule: {ROLLUP}",
            markup=False,
        )
    else:
        u = tres_seconds(
            jobs,
            t_start,
            t_end,
            by=group,
            as_of=now,
            tres=tres_list,
            rule=WindowRule(running=running.value, edges=edges.value),
        )
        err.print(
            f"window {_show(u.start, zone)} - {_show(u.end, zone)} as of "
            f"{_show(now, zone)}; rule: {u.rule}",
            markup=False,
        )
    for note in u.notes:
        err.print(f"note: {note}", markup=False)
    if u.no_cpus:
        err.print(
            f"note: {u.no_cpus:,} counted jobs have no CPU count (they add nothing to cpu)",
            markup=False,
        )
    if u.no_gpus:
        err.print(
            f"note: {u.no_gpus:,} counted jobs have no GPU count (they add nothing to gres/gpu)",
            markup=False,
        )
    if u.mixed_gpu_types:
        err.print(
            f"note: {u.mixed_gpu_types:,} counted jobs hold GPUs of several types "
            "(in gres/gpu only, not per type)",
            markup=False,
        )

    table = u.table.copy()
    secs = table["seconds"]
    if len(secs) and (secs == secs.round()).all():
        table["seconds"] = secs.round().astype("Int64")
    if format == OutputFormat.json:
        out_json(table)
    elif format == OutputFormat.csv:
        out_csv(table)
    else:
        out_document(Document("TRES-seconds", [Table.from_frame(table)]), format)
    err.print(f"{u.n_jobs:,} jobs counted", markup=False)


def _show(t: pd.Timestamp, zone) -> str:
    return t.tz_convert(zone).isoformat()


def _jobs(
    files: list[Path] | None, store: Path | None, project: str | None, tz: str, columns: list[str]
) -> pd.DataFrame:
    if not files:
        return load_jobs(store, project=project, columns=list(dict.fromkeys(columns)))
    from rdcost.readers.ingest import read_log_report

    frames = []
    for f in files:
        df, report = read_log_report(f, tz=tz)
        if report.n_rejected:
            err.print(
                f"{f}: {report.n_rejected:,} records rejected (not counted); "
                "`rdcost ingest` lists them",
                markup=False,
            )
        frames.append(df)
    jobs = pd.concat(frames, ignore_index=True)
    if project is not None:
        jobs = jobs[jobs["project"] == project]
    if state.anonymize:
        from rdcost.jobtable.store import Store
        from rdcost.output.anonymize import anonymize, load_salt

        jobs = anonymize(jobs, load_salt(Store(store).path))
    return jobs
