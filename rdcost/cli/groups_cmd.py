"""`rdcost groups`: the grid searches of a project, and how each was found."""

from __future__ import annotations

from typing import Annotated

import typer

from rdcost.analysis.grouping import GroupingParams, find_groups, group_members, summarize_groups
from rdcost.analysis.linking import compute_jobs
from rdcost.cli.app import (
    OutputFormat,
    ProjectOpt,
    StoreOpt,
    app,
    err,
    out_csv,
    out_document,
    out_json,
    state,
)
from rdcost.jobtable.store import Store
from rdcost.output.views import listing

_DEFAULTS = GroupingParams()


@app.command("groups")
def groups_command(
    store: StoreOpt = None,
    project: ProjectOpt = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
    ] = OutputFormat.table,
    members: Annotated[
        bool,
        typer.Option(
            "--members",
            help="One row per job of a search (its search_id, job id, name, state, GPU-hours) "
            "instead of one row per search.",
        ),
    ] = False,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="Only this search (a search_id from the listing); implies --members.",
            metavar="TEXT",
        ),
    ] = None,
    max_gap_s: Annotated[
        float,
        typer.Option(
            "--max-gap-s",
            help="Heuristic: a job submitted more than this many seconds after the previous "
            "one of the same user and name stem starts a new search.",
            metavar="NUMBER",
        ),
    ] = _DEFAULTS.max_gap_s,
    min_jobs: Annotated[
        int,
        typer.Option("--min-jobs", help="Heuristic: smaller bursts are no search.", metavar="N"),
    ] = _DEFAULTS.min_jobs,
    heuristics: Annotated[
        bool,
        typer.Option(
            "--heuristics/--no-heuristics",
            help="Group jobs submitted one by one (name stem + burst), or keep only the groups the logs "
            "state (job arrays, W&B sweeps, MLflow parent runs, a CSV column).",
        ),
    ] = True,
) -> None:
    """List the grid searches: one row per search with its jobs, GPU-hours and how it was found.

    A search is a job array, a W&B sweep, an MLflow parent run or a CSV group
    column; jobs submitted one by one are grouped when one user submitted jobs
    with the same name stem (lisa-srl-lr0.1-drop0.3 -> lisa-srl) in a burst.
    See docs/groups.md.

    Example:

      rdcost groups --project lisa

      rdcost groups --search array:campus:2107540 --format csv
    """
    params = GroupingParams(max_gap_s=max_gap_s, min_jobs=min_jobs, use_heuristics=heuristics)
    st = Store(store)
    if not st.exists:
        err.print(
            f"rdcost: the store {st.path} is empty; run `rdcost ingest FILE` first", markup=False
        )
        raise typer.Exit(1)
    # every column: linking (one row per compute job) attaches the runs' values
    jobs = compute_jobs(st.read_jobs(project=project))
    groups = find_groups(jobs, params)  # on the real names: stems do not survive anonymization
    if members or search is not None:
        table = group_members(jobs, groups)
    else:
        table = summarize_groups(jobs, groups)
    if state.anonymize:
        # as rdcost.output.anonymize does: a project that is just the account is a token too
        same = jobs["project"].notna() & (jobs["project"] == jobs["account"])
        from rdcost.output.anonymize import anonymize_searches, load_salt

        table = anonymize_searches(table, load_salt(st.path), set(jobs.loc[same, "project"]))
    if search is not None:
        table = table[table["search_id"] == search].reset_index(drop=True)
        if table.empty:
            err.print(
                f"rdcost: no search {search!r}; `rdcost groups` lists the search ids", markup=False
            )
            raise typer.Exit(1)
    if format == OutputFormat.json:
        out_json(table)
    elif format == OutputFormat.csv:
        out_csv(table)
    else:
        out_document(listing.searches(table, raw=format == OutputFormat.markdown), format)
    err.print(listing.searches_caption(table, len(jobs)), markup=False)
