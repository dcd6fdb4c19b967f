"""`rdcost compare-buy-vs-cloud`: renting the project's GPU time vs buying GPUs."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rdcost.analysis.buy_vs_cloud import SERVERS, SIZE_BY_HELP, compare_jobs, load_owned
from rdcost.analysis.replay import ESTIMATES
from rdcost.cli.app import OutputFormat, app, err, out_csv, out_document, out_json, print_notes
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.cli.breakdown_options import CapacityOpt, SpreadByOpt, SpreadOpt, load_capacity_for
from rdcost.errors import UsageError
from rdcost.output.views import buy_vs_cloud as view


class Estimate(StrEnum):
    elapsed = "elapsed"
    timelimit = "timelimit"


assert tuple(e.value for e in Estimate) == ESTIMATES


@app.command("compare-buy-vs-cloud")
@assumption_options(
    "store",
    "project",
    "projects_file",
    "assumptions",
    "price_provider",
    "price_date",
    "usd_per_gpu_hour_low",
    "usd_per_gpu_hour_high",
    "watts_per_gpu",
    "pue",
    "usd_per_kwh",
    "gpu_alias",
    "on_missing",
    "gpu_partition",
    "gpu_node",
    "include_implausible",
    help={
        "on_missing": "A GPU type without a cloud price: raise an error, or show the cloud figures as unknown."
    },
)
def compare_command(
    opts: AssumptionOptions,
    format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="table, json, markdown or csv (one row per figure)."),
    ] = OutputFormat.table,
    gpus: Annotated[
        int | None,
        typer.Option("--gpus", help="GPUs to buy (default: from --size-by).", metavar="N"),
    ] = None,
    size_by: Annotated[
        str, typer.Option(help=f"How many GPUs to buy: {SIZE_BY_HELP}.", metavar="TEXT")
    ] = "mean",
    server: Annotated[
        str | None,
        typer.Option(
            help=f"GPU type whose bundled server price is used: {', '.join(SERVERS)} "
            "(default: the project's main GPU type or its equivalent).",
            metavar="TEXT",
        ),
    ] = None,
    server_price_usd: Annotated[
        float | None, typer.Option(help="Price of one server, USD.", metavar="NUMBER")
    ] = None,
    gpus_per_server: Annotated[
        int | None, typer.Option(help="GPUs in one server.", metavar="N")
    ] = None,
    whole_servers: Annotated[
        bool | None,
        typer.Option(
            "--whole-servers/--gpu-share",
            help="Buy whole servers (round up), or price GPUs one by one as the paper does (default).",
        ),
    ] = None,
    lifetime_years: Annotated[
        float | None,
        typer.Option(help="Years over which the purchase is amortized.", metavar="NUMBER"),
    ] = None,
    owned_watts_per_gpu: Annotated[
        float | None,
        typer.Option(
            help="Average draw of an owned GPU, W (default: the assumptions' power for the server's GPU).",
            metavar="NUMBER",
        ),
    ] = None,
    hosting_usd_per_kw_month: Annotated[
        float | None,
        typer.Option(
            help="Hosting (colocation) per kW of GPU power per month, USD; 0 = not charged.",
            metavar="NUMBER",
        ),
    ] = None,
    maintenance_fraction_per_year: Annotated[
        float | None,
        typer.Option(
            help="Maintenance per year as a fraction of the purchase (0.06 = 6 %); 0 = not charged.",
            metavar="NUMBER",
        ),
    ] = None,
    staff_fte: Annotated[
        float | None,
        typer.Option(
            help="Staff time charged to the project, full-time equivalents.", metavar="NUMBER"
        ),
    ] = None,
    staff_usd_per_fte_year: Annotated[
        float | None, typer.Option(help="Cost of one staff FTE-year, USD.", metavar="NUMBER")
    ] = None,
    sizing: Annotated[
        bool,
        typer.Option(
            "--sizing",
            help="Replay the job trace on clusters of several sizes (FCFS + EASY backfill).",
        ),
    ] = False,
    sizes: Annotated[
        str | None,
        typer.Option(
            help="Cluster sizes to replay, comma-separated GPUs (implies --sizing; default: from the "
            "largest job to the peak demand).",
            metavar="TEXT",
        ),
    ] = None,
    estimate: Annotated[
        Estimate,
        typer.Option(
            help="The replay scheduler's run-time estimate of a job: its logged run time (elapsed) or "
            "its time limit where known (timelimit)."
        ),
    ] = Estimate.elapsed,
    plot_cumulative: Annotated[
        Path | None,
        typer.Option(
            help="Write the cumulative cost plot to this file (.png, .svg or .pdf).", metavar="PATH"
        ),
    ] = None,
    plot_sizing: Annotated[
        Path | None,
        typer.Option(
            help="Write the sizing plot to this file (.png, .svg or .pdf; implies --sizing).",
            metavar="PATH",
        ),
    ] = None,
    capacity: CapacityOpt = None,
    spread: SpreadOpt = None,
    spread_by: SpreadByOpt = None,
) -> None:
    """Renting vs buying: the cloud cost of the project's GPU time (low-high) against
    buying N GPUs (purchase, amortized share, electricity, hosting, maintenance, staff),
    the ratio, the break-even utilization and months; with --sizing, the project
    replayed on clusters of several sizes (duration, waits, utilization, owned cost).

    Example:

      rdcost compare-buy-vs-cloud --project lisa --assumptions paper

      rdcost compare-buy-vs-cloud -p lisa -a paper --sizing --plot-sizing sizing.png -f json
    """
    a = opts.load_assumptions()
    owned = load_owned(list(opts.assumptions))
    spec = {
        "server": server,
        "server_price_usd": server_price_usd,
        "gpus_per_server": gpus_per_server,
        "is_whole_servers": whole_servers,
        "lifetime_years": lifetime_years,
        "power_w_per_gpu": owned_watts_per_gpu,
        "hosting_usd_per_kw_month": hosting_usd_per_kw_month,
        "maintenance_fraction_per_year": maintenance_fraction_per_year,
        "staff_fte": staff_fte,
        "staff_usd_per_fte_year": staff_usd_per_fte_year,
    }
    given = {k: v for k, v in spec.items() if v is not None}
    if given:
        owned = owned.merged(given, "command-line option")
    size_list: list[float] | str | None = None
    if sizes is not None:
        size_list = _sizes(sizes)
    elif sizing or plot_sizing is not None:
        size_list = "auto"

    jobs = opts.jobs()
    r = compare_jobs(
        jobs,
        a,
        owned,
        n_gpus=gpus,
        size_by=size_by,
        sizes=size_list,
        estimate=estimate.value,
        on_missing=opts.on_missing,
        project=opts.project,
        include_implausible=opts.include_implausible,
        capacity=load_capacity_for(capacity, spread, spread_by),
    )
    if format == OutputFormat.json:
        out_json(r.to_dict())
    elif format == OutputFormat.csv:
        out_csv(view.figures(r))
    else:
        out_document(view.document(r), format)
    for path, kind in ((plot_cumulative, "buy-vs-cloud-cumulative"), (plot_sizing, "sizing")):
        if path is not None:
            from rdcost.output.plots import get_plot

            written = get_plot(kind)(r, path)
            err.print(f"rdcost: wrote {written}", markup=False)
    if format in (OutputFormat.json, OutputFormat.csv):  # table and markdown show them
        print_notes(r.notes)


def _sizes(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(
            "--sizes expects GPU counts separated by commas, e.g. 16,32,58", value=text
        ) from None
    if not values or any(v <= 0 for v in values):
        raise UsageError("--sizes expects GPU counts > 0, separated by commas", value=text)
    return values
