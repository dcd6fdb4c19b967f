"""`rdcost plot`: one plot of a project to PNG, SVG or PDF; `plot --list` lists every kind."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rdcost.cli.app import OutputFormat, app, err, out_document, print_notes
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.cli.breakdown_options import ByOpt, HierarchyOpt, breakdown_spec
from rdcost.errors import UsageError
from rdcost.output.plots import draw, plot_kinds
from rdcost.output.views import listing


@assumption_options()
def plot_command(
    kind: Annotated[
        str | None,
        typer.Argument(help="The plot kind; `rdcost plot --list` lists them.", metavar="KIND"),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write: .png, .svg or .pdf (the suffix decides).",
            metavar="PATH",
        ),
    ] = None,
    list_kinds: Annotated[
        bool, typer.Option("--list", help="List every plot kind with what it shows.")
    ] = False,
    by: ByOpt = None,
    hierarchy: HierarchyOpt = None,
    *,
    opts: AssumptionOptions,
) -> None:
    """One plot of a project to PNG, SVG or PDF (headless), with units on every axis and the
    assumptions beside every cost and CO2e figure; colours safe for colour-blind readers.
    Without KIND (or with --list), list the kinds. Takes the options of `rdcost summarize`.

    Example:

      rdcost plot --list

      rdcost plot gpus-in-use --project lisa --assumptions paper -o gpus.png

      rdcost plot rd-cost -p lisa -a paper -o rd-cost.pdf

      rdcost plot breakdown -p lisa -a paper --by user -o by-user.png
    """
    if kind is None or list_kinds:
        out_document(listing.plot_kinds(plot_kinds()), OutputFormat.table)
        return
    if output is None:
        raise UsageError(f"give the file to write: rdcost plot {kind} -o FILE (.png, .svg or .pdf)")
    from rdcost.output.plots import get_plot

    get_plot(kind)  # an unknown kind fails before the jobs are read
    ctx = opts.context()
    ctx.by = breakdown_spec(by, hierarchy)
    written = draw(kind, ctx, output)
    err.print(f"rdcost: wrote {written}", markup=False)
    print_notes(ctx.summary.notes)


app.command("plot")(plot_command)
