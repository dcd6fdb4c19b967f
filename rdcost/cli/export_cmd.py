"""`rdcost export`: the project's cost and usage as FOCUS rows other tools take in."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rdcost.cli.app import app, err, print_notes
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.cli.breakdown_options import (
    ByOpt,
    CapacityOpt,
    HierarchyOpt,
    breakdown_spec,
    load_capacity_for,
)


class ExportFormat(StrEnum):
    focus = "focus"


class Scenario(StrEnum):
    cloud_on_demand = "cloud-on-demand"
    cloud_spot = "cloud-spot"
    owned = "owned"


class Period(StrEnum):
    month = "month"
    week = "week"
    day = "day"


@assumption_options()
def export_command(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="File to write: .csv or .parquet."),
    ],
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="focus (FinOps FOCUS 1.x rows).")
    ] = ExportFormat.focus,
    scenario: Annotated[
        Scenario,
        typer.Option(
            help="Whose prices: cloud-on-demand (list = effective), cloud-spot (list on-demand, "
            "effective pre-emptible/spot) or owned (amortized owned cost of a used GPU-hour, as "
            "compare-buy-vs-cloud finds it)."
        ),
    ] = Scenario.cloud_on_demand,
    by: ByOpt = None,
    hierarchy: HierarchyOpt = None,
    period: Annotated[
        Period,
        typer.Option(help="Charge period of grouped rows (--by without month, week or day)."),
    ] = Period.month,
    capacity: CapacityOpt = None,
    *,
    opts: AssumptionOptions,
) -> None:
    """The project's GPU time as FOCUS (FinOps Open Cost and Usage Specification) 1.x rows, one
    per job, or one per group (--by) and charge period: list, contracted, effective and billed
    cost of the scenario, GPU-hours as the consumed and pricing quantity, and x_ columns for
    energy, CO2e and the assumptions' sources. Loads in pandas, DuckDB and FinOps tools.

    Example:

      rdcost export -p lisa -a paper -o lisa-focus.parquet

      rdcost export --by user,month --scenario cloud-spot -o usage.csv
    """
    from rdcost.output.export.focus import focus_rows

    c = opts.context()
    c.capacity = load_capacity_for(capacity, None, None)
    x = focus_rows(
        c, scenario=scenario.value, by=breakdown_spec(by, hierarchy), period=period.value
    )
    written = x.write(output)
    err.print(
        f"rdcost: wrote {written} ({len(x.rows):,} FOCUS rows, scenario {x.scenario})",
        markup=False,
    )
    print_notes(x.notes)


app.command("export")(export_command)
