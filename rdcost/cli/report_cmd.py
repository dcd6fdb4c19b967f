"""`rdcost report`: one self-contained HTML (or Markdown) report of a project."""

from __future__ import annotations

import shlex
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from rdcost.analysis.tuning import TuningParams
from rdcost.cli.app import app, err, print_notes, state
from rdcost.cli.assumption_options import AssumptionOptions, CompareOpt, assumption_options
from rdcost.cli.breakdown_options import (
    ByOpt,
    CapacityOpt,
    HierarchyOpt,
    SpreadByOpt,
    SpreadOpt,
    breakdown_spec,
    load_capacity_for,
)
from rdcost.cli.tuning_cmd import GoalOpt, MetricOpt
from rdcost.output.report import write_report

FinalJobOpt = Annotated[
    str | None,
    typer.Option(
        help="Job id (or Slurm raw id, or run id) of the final model (default: the final-size runs).",
        metavar="TEXT",
    ),
]


@assumption_options()
def report_command(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="File to write: .html (one self-contained file) or .md (plots in NAME_files/).",
            metavar="PATH",
        ),
    ],
    metric: MetricOpt = None,
    goal: GoalOpt = None,
    final_job: FinalJobOpt = None,
    by: ByOpt = None,
    hierarchy: HierarchyOpt = None,
    capacity: CapacityOpt = None,
    spread: SpreadOpt = None,
    spread_by: SpreadByOpt = None,
    compare_with: CompareOpt = None,
    *,
    opts: AssumptionOptions,
) -> None:
    """A shareable report of a project: the summary tables, the plots, the R&D breakdown, waste,
    grid searches, hyperparameter tuning (as `rdcost tuning`: the largest searches, sensitivity,
    tuning return, random search, repeats), the compute statement, every assumption with its
    source and date, the input files with their sha256, and the rdcost version. The HTML works
    offline (plots embedded, no script, no external file); text from the logs is escaped.
    Takes the options of `rdcost summarize`.

    Example:

      rdcost report --project lisa --assumptions paper -o report.html

      rdcost --anonymize report -p lisa -a paper -o report.md

      rdcost report --by user --capacity cluster.toml -o report.html

      rdcost report -p energy -a paper --compare-with current,site.toml -o report.html
    """
    c = opts.context()
    c.by = breakdown_spec(by, hierarchy)
    c.capacity = load_capacity_for(capacity, spread, spread_by)
    params = TuningParams(metric=metric, goal=None if goal is None else goal.value)
    written = write_report(
        c,
        output,
        command=command_line(ctx),
        params=params,
        final_job=final_job,
        compare=opts.compared(compare_with or [], c),
    )
    err.print(f"rdcost: wrote {written}", markup=False)
    print_notes(c.summary.notes)


app.command("report")(report_command)


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def command_line(ctx: typer.Context) -> str:
    """The command as the user typed it (options given on the line only; --store left out:
    the reader ingests into a store of their own)."""
    words = ["rdcost"] + (["--anonymize"] if state.anonymize else []) + [ctx.info_name or ""]
    for p in ctx.command.params:
        source = ctx.get_parameter_source(p.name) if p.name else None
        if p.name == "store" or source is None or source.name != "COMMANDLINE":
            continue
        v = ctx.params.get(p.name)
        if p.param_type_name == "argument":
            words.append(str(_plain(v)))
            continue
        long = max(p.opts, key=len)
        if getattr(p, "is_flag", False):
            words.append(
                long if v else (max(p.secondary_opts, key=len) if p.secondary_opts else "")
            )
            continue
        for item in v if isinstance(v, list | tuple) else [v]:
            words += [long, str(_plain(item))]
    return shlex.join(w for w in words if w)
