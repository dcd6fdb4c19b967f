"""`rdcost card`: the compute statement of a project, in Markdown or LaTeX."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from rdcost.analysis.tuning import TuningParams
from rdcost.cli.app import app, out, print_notes
from rdcost.cli.assumption_options import AssumptionOptions, CompareOpt, assumption_options
from rdcost.cli.report_cmd import FinalJobOpt
from rdcost.cli.tuning_cmd import GoalOpt, MetricOpt
from rdcost.output.statement import statement, to_latex, to_markdown


class CardFormat(StrEnum):
    markdown = "markdown"
    latex = "latex"
    hf = "hf"


class TrainingType(StrEnum):
    pre_training = "pre-training"
    fine_tuning = "fine-tuning"


@assumption_options()
def card_command(
    format: Annotated[
        CardFormat,
        typer.Option(
            "--format",
            "-f",
            help="markdown, latex, or hf (the Hugging Face model card's co2_eq_emissions block).",
        ),
    ] = CardFormat.markdown,
    metric: MetricOpt = None,
    goal: GoalOpt = None,
    final_job: FinalJobOpt = None,
    training_type: Annotated[
        TrainingType | None,
        typer.Option(help="For --format hf: pre-training or fine-tuning (default: null, unknown)."),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(
            help="For --format hf: where the model was trained, as granular as possible "
            "(default: the region of the carbon intensity)."
        ),
    ] = None,
    compare_with: CompareOpt = None,
    *,
    opts: AssumptionOptions,
) -> None:
    """The compute statement to publish with a paper (Strubell et al. 2019, section 5): hardware
    and training time of the final model, GPU-hours of the whole project and of tuning, the
    hyperparameter configurations tried, energy and CO2e with their assumptions, and, where runs
    log hyperparameters and a metric, what `rdcost tuning` finds: which hyperparameters mattered,
    seed noise, what random search would have spent, redundant runs.
    Printed on stdout. Takes the options of `rdcost summarize`.

    Example:

      rdcost card --project lisa --assumptions paper

      rdcost card -p lisa -a paper --format latex > compute-statement.tex

      rdcost card -p lisa -a paper --format hf --training-type pre-training

      rdcost card -p energy -a paper --compare-with current,site.toml
    """
    c = opts.context()
    st = statement(
        c,
        params=TuningParams(metric=metric, goal=None if goal is None else goal.value),
        final_job=final_job,
        compare=opts.compared(compare_with or [], c),
    )
    if format == CardFormat.hf:
        from rdcost.output.export import hf_card

        tt = None if training_type is None else training_type.value
        out(hf_card.to_yaml(hf_card.block(st, training_type=tt, location=location)))
    else:
        out(to_latex(st) if format == CardFormat.latex else to_markdown(st))
    print_notes(c.summary.notes)


app.command("card")(card_command)
