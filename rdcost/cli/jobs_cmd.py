"""`rdcost jobs`: print the stored job table, exactly as stored."""

from __future__ import annotations

from typing import Annotated

import typer

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
)
from rdcost.errors import UsageError
from rdcost.jobtable.schema import COLUMN_NAMES
from rdcost.output.views import listing
from rdcost.plural import plural

#: Columns of the default `--format table` view (all columns with --columns all).
TABLE_COLUMNS = [
    "job_id",
    "job_name",
    "user",
    "project",
    "state",
    "start_time",
    "elapsed_s",
    "n_gpus",
    "gpu_type",
    "group_id",
]


@app.command("jobs")
def jobs_command(
    store: StoreOpt = None,
    project: ProjectOpt = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
    ] = OutputFormat.table,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated columns to show, or 'all' (default: all for csv/json, a summary view for table).",
            metavar="TEXT",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Show at most this many rows.", metavar="N")
    ] = None,
) -> None:
    """Print the stored job table (json = a list of records with the schema's column names).

    Example:

      rdcost jobs --project lisa --format json > jobs.json
    """
    cols = _columns(columns, format)
    df = load_jobs(store, project=project, columns=cols)
    if limit is not None:
        df = df.head(limit)
    if format == OutputFormat.json:
        out_json(df)
    elif format == OutputFormat.csv:
        out_csv(df)
    else:
        out_document(listing.jobs(df, raw=format == OutputFormat.markdown), format)
    err.print(plural(len(df), "job"), markup=False)


def _columns(spec: str | None, format: OutputFormat) -> list[str]:
    if spec is None:
        return (
            TABLE_COLUMNS
            if format in (OutputFormat.table, OutputFormat.markdown)
            else list(COLUMN_NAMES)
        )
    if spec == "all":
        return list(COLUMN_NAMES)
    cols = [c.strip() for c in spec.split(",") if c.strip()]
    unknown = [c for c in cols if c not in COLUMN_NAMES]
    if unknown:
        raise UsageError(f"unknown column(s) {unknown}; see the schema in docs/job-table.md")
    return cols
