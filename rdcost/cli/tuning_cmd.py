"""`rdcost tuning`: hyperparameter sensitivity, search efficiency and repeated runs, per search."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rdcost.analysis.tuning import DEFAULT_PARAMS, TuningParams, analyze_context
from rdcost.cli.app import OutputFormat, app, err, out_csv, out_document, out_json, print_notes
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.output.views import tuning as view


class Goal(StrEnum):
    max = "max"
    min = "min"


class ToleranceKind(StrEnum):
    relative = "relative"
    absolute = "absolute"


#: The metric and its goal, as `rdcost tuning`, `report` and `card` take them.
MetricOpt = Annotated[
    str | None,
    typer.Option(
        "--metric",
        "-m",
        help="The metric tuned for (default: the one validation metric the runs report, e.g. "
        "val/f1; when it is not clear which, the candidates are listed).",
        metavar="TEXT",
    ),
]
GoalOpt = Annotated[
    Goal | None,
    typer.Option(help="Higher (max) or lower (min) is better (default: from the metric's name)."),
]


@assumption_options()
def tuning_command(
    metric: MetricOpt = None,
    goal: GoalOpt = None,
    tolerance: Annotated[
        float,
        typer.Option(
            help="Counterfactual: a run within this much of the search's best counts as reaching it "
            "(a fraction of |best| with --tolerance-kind relative, metric units with absolute).",
            metavar="NUMBER",
        ),
    ] = DEFAULT_PARAMS.tolerance,
    tolerance_kind: Annotated[
        ToleranceKind, typer.Option(help="relative or absolute.")
    ] = ToleranceKind.relative,
    resamples: Annotated[
        int, typer.Option(help="Counterfactual: random orders drawn per search.", metavar="N")
    ] = DEFAULT_PARAMS.n_resamples,
    resample_seed: Annotated[
        int,
        typer.Option(help="Counterfactual: random seed (results are reproducible).", metavar="N"),
    ] = DEFAULT_PARAMS.resample_seed,
    quantile: Annotated[
        float,
        typer.Option(
            help="Counterfactual: the quantile of GPU-hours shown beside the mean.",
            metavar="NUMBER",
        ),
    ] = DEFAULT_PARAMS.quantile,
    completed_only: Annotated[
        bool,
        typer.Option(
            "--completed-only/--any-state",
            help="Count the metric of COMPLETED runs only (default), or of runs in any state (a cancelled run "
            "reports a half-trained model's metric).",
        ),
    ] = True,
    hyperparameter: Annotated[
        list[str] | None,
        typer.Option(
            "--hyperparameter",
            help="A key that is a hyperparameter (repeatable); default: found by the rule "
            "of docs/tuning.md.",
            metavar="TEXT",
        ),
    ] = None,
    seed_key: Annotated[
        list[str] | None,
        typer.Option(
            "--seed-key",
            help="A key that is a random seed (repeatable); default: keys with 'seed' in the name.",
            metavar="TEXT",
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="Only this search (a search_id from the listing), in detail.",
            metavar="TEXT",
        ),
    ] = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
    ] = OutputFormat.table,
    plots_dir: Annotated[
        Path | None,
        typer.Option(
            "--plots-dir",
            help="Also write tuning-return.png and sensitivity.png to this directory.",
            metavar="PATH",
        ),
    ] = None,
    *,
    opts: AssumptionOptions,
) -> None:
    """Hyperparameter tuning, per grid search: configurations tried, GPU-hours, the best
    result and its configuration; how much each hyperparameter moved the metric
    (sensitivity); the best result so far against GPU-hours spent (tuning return); what a
    random search over the same runs would have spent to come within a tolerance of the
    best (counterfactual, by resampling); and runs that trained the same configuration
    again (seed replicates, retries, redundant repeats) with their GPU-hours and cost.
    Takes the options of `rdcost summarize`. See docs/tuning.md.

    Example:

      rdcost tuning --project lisa --assumptions paper

      rdcost tuning -p lisa -a paper --metric val/f1 --goal max --tolerance 0.5 --tolerance-kind absolute

      rdcost tuning -p lisa -a paper -f json --search array:campus:2054660
    """
    params = TuningParams(
        metric=metric,
        goal=None if goal is None else goal.value,
        tolerance=tolerance,
        tolerance_kind=tolerance_kind.value,
        n_resamples=resamples,
        resample_seed=resample_seed,
        quantile=quantile,
        completed_only=completed_only,
        hyperparameters=tuple(hyperparameter or ()),
        seed_keys=tuple(seed_key or ()),
    )
    ctx = opts.context()
    result = analyze_context(ctx, params)
    one = result.search(search) if search is not None else None
    if format == OutputFormat.json:
        d = result.to_dict()
        if one is not None:
            d["searches"] = [s for s in d["searches"] if s["search_id"] == search]
        out_json(d)
    elif format == OutputFormat.csv:
        out_csv(view.curve_frame(one) if one is not None else result.search_table())
    else:
        out_document(view.document(result, one), format)
    if plots_dir is not None:
        from rdcost.output.plots.tuning import sensitivity, tuning_return

        for name, fn in (("tuning-return.png", tuning_return), ("sensitivity.png", sensitivity)):
            written = fn(result, plots_dir / name)
            err.print(f"rdcost: wrote {written}", markup=False)
    if format in (
        OutputFormat.json,
        OutputFormat.csv,
    ):  # table and markdown print them in a section
        print_notes(result.notes)


app.command("tuning")(tuning_command)
