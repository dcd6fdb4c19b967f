"""`rdcost report`: one self-contained HTML (or Markdown) report of a project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..report import write_report
from .app import app, err
from .plot_cmd import command_line, context_from_options, with_summary_options

MetricOpt = Annotated[str | None, typer.Option(
    help="Validation metric for the hyperparameter sensitivity (default: the metric the most runs report "
         "whose name has val, valid, dev, eval or test).")]
FinalJobOpt = Annotated[str | None, typer.Option(
    help="Job id (or Slurm raw id, or run id) of the final model (default: the final-size runs).")]


@with_summary_options
def report_command(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="File to write: .html (one self-contained file) or .md (plots in NAME_files/).")],
    metric: MetricOpt = None,
    final_job: FinalJobOpt = None,
    **opts: Any,
) -> None:
    """A shareable report of a project: the summary tables, the plots, the R&D breakdown, waste,
    grid searches, hyperparameter sensitivity, the compute statement, every assumption with its
    source and date, the input files with their sha256, and the rdcost version. The HTML works
    offline (plots embedded, no script, no external file); text from the logs is escaped.
    Takes the options of `rdcost summarize`.

    Example:

      rdcost report --project lisa --assumptions paper -o report.html

      rdcost --anonymize report -p lisa -a paper -o report.md
    """
    c = context_from_options(opts)
    written = write_report(c, output, command=command_line(ctx), metric=metric, final_job=final_job)
    err.print(f"rdcost: wrote {written}", markup=False)
    for n in c.summary.notes:
        err.print(f"rdcost: note: {n}", markup=False)


app.command("report")(report_command)
