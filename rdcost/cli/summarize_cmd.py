"""`rdcost summarize`: the case-study summary of a project, with its assumptions."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Annotated, Any

import typer

from rdcost.analysis.summary import summarize_store, summarize_store_by
from rdcost.cli.app import (
    OutputFormat,
    app,
    err,
    out_csv,
    out_document,
    out_json,
    print_notes,
    state,
)
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.cli.breakdown_options import ByOpt, HierarchyOpt, breakdown_spec
from rdcost.jobtable.store import Store
from rdcost.output.views import summary as view


class Engine(StrEnum):
    pandas = "pandas"
    dask = "dask"


@app.command("summarize")
@assumption_options()
def summarize_command(
    opts: AssumptionOptions,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
    ] = OutputFormat.table,
    engine: Annotated[
        Engine,
        typer.Option(
            help="Where the per-partition work runs: pandas (this process) or dask (the same results; "
            "needs the dask extra)."
        ),
    ] = Engine.pandas,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Address of a running Dask scheduler (tcp://HOST:8786) for --engine dask; its workers "
            "must see the store at the same path. Default: dask's local threads.",
            metavar="TEXT",
        ),
    ] = None,
    by: ByOpt = None,
    hierarchy: HierarchyOpt = None,
) -> None:
    """The case study of a project: jobs, grid searches, GPU time, concurrency, the
    paper's Table 4 (one model, one tuning round, all R&D), energy, CO2e, waste, and
    every assumption behind the figures.

    Example:

      rdcost summarize --project lisa --assumptions paper

      rdcost summarize -p lisa --price-date today --carbon-region DEU -f json

      rdcost summarize --by user,month -f json
    """
    a = opts.load_assumptions()
    defs = opts.project_defs()
    st = Store(opts.store)
    if not st.exists:
        err.print(
            f"rdcost: the store {st.path} is empty; run `rdcost ingest FILE` first", markup=False
        )
        raise typer.Exit(1)
    # partition by partition, reading only the columns the summary needs (rdcost.analysis.summary);
    # only the utilization waste's lists name users and searches: --anonymize tokens them below
    spec = breakdown_spec(by, hierarchy)
    kwargs: dict[str, Any] = dict(
        engine=engine.value,
        scheduler=scheduler,
        on_missing=opts.on_missing,
        include_implausible=opts.include_implausible,
    )
    b = None
    if spec is None:
        s = summarize_store(st, opts.project, defs, a, **kwargs)
    else:  # the same pass, partial sums per group as well (docs/breakdowns.md)
        s, b = summarize_store_by(st, spec, opts.project, defs, a, **kwargs)
    if state.anonymize:
        from rdcost.output.anonymize import anonymize_utilization, load_salt

        s = replace(s, utilization=anonymize_utilization(s.utilization, load_salt(st.path)))
    if format == OutputFormat.json:
        d = s.to_dict()
        if b is not None:
            d["breakdown"] = b.to_dict()
        out_json(d)
    elif format == OutputFormat.csv:
        out_csv(s.figures() if b is None else b.frame())
    else:
        doc = view.document(s)
        if b is not None:
            from rdcost.output.views import breakdown as breakdown_view

            doc.blocks[3:3] = breakdown_view.blocks(b)  # after the key figures
        out_document(doc, format)
    if format in (
        OutputFormat.json,
        OutputFormat.csv,
    ):  # table and markdown print them in a section
        print_notes(s.notes)
