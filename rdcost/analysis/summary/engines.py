"""Where the summary is computed: the one path of partials and a combine step, on a
store (partition by partition, in this process or on Dask) or on a table in memory
(the same code on one piece, or on several to check that the split changes nothing).

Engines: ``pandas`` runs the partition tasks in this process, one after
another; ``dask`` runs the same tasks as ``dask.delayed`` calls on a
``distributed.Client`` (``scheduler`` = its address) or, without a
scheduler, on dask's local threads. The workers must see the store's files
at the same path. Sums are exact, so the result does not depend on how the
work was split: both engines give identical results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rdcost import progress
from rdcost.analysis.assumptions import Assumptions
from rdcost.analysis.energy.capacity import NodeCapacity
from rdcost.analysis.gpu_resolution import UNIDENTIFIED, GpuEvidence, GpuResolver
from rdcost.analysis.grouping import GroupingParams
from rdcost.analysis.linking import compute_jobs, link_counts
from rdcost.analysis.projects import ProjectDef
from rdcost.analysis.summary.combine import ON_MISSING, check_missing, combine
from rdcost.analysis.summary.job_costs import costs_for, median_start_year, placed_time
from rdcost.analysis.summary.partial import Partial, combos_of, partial_of_frame
from rdcost.analysis.summary.result import Summary
from rdcost.analysis.summary.store_plan import (
    COST_COLUMNS,
    GROUP_COLUMNS,
    PROJECT_COLUMNS,
    YEAR_COLUMNS,
    Plan,
    compute_rows,
    link_plan,
    median_year,
    year_partial,
)
from rdcost.errors import RdcostError, UsageError
from rdcost.jobtable import schema
from rdcost.jobtable.store import Store

if TYPE_CHECKING:
    from rdcost.analysis.breakdown import Breakdown, BreakdownSpec, GroupPartial

ENGINES = ("pandas", "dask")


def partial(
    path: str,
    plan: Plan,
    a: Assumptions,
    resolver: GpuResolver,
    params: GroupingParams,
    part: int,
    today: pd.Timestamp,
    fallback: bool,
    when_unknown: pd.Timestamp | None,
    include_implausible: bool,
    capacity: NodeCapacity | None = None,
) -> Partial:
    """The partial of one partition file (runs on a Dask worker with the dask engine)."""
    cj, costs = _rows_and_costs(path, plan, a, resolver, today, fallback, when_unknown, capacity)
    return partial_of_frame(cj, costs, params, part, include_implausible)


def partial_by(
    path: str,
    plan: Plan,
    a: Assumptions,
    resolver: GpuResolver,
    params: GroupingParams,
    part: int,
    today: pd.Timestamp,
    fallback: bool,
    when_unknown: pd.Timestamp | None,
    include_implausible: bool,
    capacity: NodeCapacity | None,
    spec: BreakdownSpec,
) -> tuple[Partial, GroupPartial]:
    """The partial of one partition file and its breakdown partial (same rows, same costs)."""
    from rdcost.analysis.breakdown import breakdown_partial

    cj, costs = _rows_and_costs(path, plan, a, resolver, today, fallback, when_unknown, capacity)
    return (
        partial_of_frame(cj, costs, params, part, include_implausible),
        breakdown_partial(cj, costs, spec, part, include_implausible),
    )


def _rows_and_costs(
    path: str,
    plan: Plan,
    a: Assumptions,
    resolver: GpuResolver,
    today: pd.Timestamp,
    fallback: bool,
    when_unknown: pd.Timestamp | None,
    capacity: NodeCapacity | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A partition file's compute rows and their per-job costs."""
    cj = compute_rows(path, plan)
    return cj, costs_for(cj, a, today, resolver, fallback, when_unknown, capacity)


def summarize_store(
    store: Store | str,
    project: str | None = None,
    defs: Mapping[str, ProjectDef] | None = None,
    assumptions: Assumptions | None = None,
    *,
    engine: str = "pandas",
    scheduler: str | None = None,
    today: pd.Timestamp | None = None,
    on_missing: str = "default",
    grouping: GroupingParams | None = None,
    include_implausible: bool = False,
) -> Summary:
    """The summary of the stored jobs (one project's with ``project``), partition by partition.

    ``defs`` are project definitions (:func:`rdcost.analysis.projects.load_projects`);
    ``engine`` is ``pandas`` (this process) or ``dask`` (``scheduler``: the
    address of a running Dask scheduler, else dask's local threads). Other
    arguments mean what they mean for :func:`summarize`.
    Raises :class:`RdcostError` when no job is selected.
    """
    s, _ = _store_run(
        store,
        project,
        defs,
        assumptions,
        engine=engine,
        scheduler=scheduler,
        today=today,
        on_missing=on_missing,
        grouping=grouping,
        include_implausible=include_implausible,
        spec=None,
    )
    return s


def summarize_store_by(
    store: Store | str,
    spec: BreakdownSpec,
    project: str | None = None,
    defs: Mapping[str, ProjectDef] | None = None,
    assumptions: Assumptions | None = None,
    **kwargs: Any,
) -> tuple[Summary, Breakdown]:
    """:func:`summarize_store` and the breakdown by ``spec``
    (:class:`rdcost.analysis.breakdown.BreakdownSpec`) of the same jobs, in the same pass."""
    s, b = _store_run(store, project, defs, assumptions, spec=spec, **kwargs)
    assert b is not None
    return s, b


def _store_run(
    store: Store | str,
    project: str | None,
    defs: Mapping[str, ProjectDef] | None,
    assumptions: Assumptions | None,
    *,
    engine: str = "pandas",
    scheduler: str | None = None,
    today: pd.Timestamp | None = None,
    on_missing: str = "default",
    grouping: GroupingParams | None = None,
    include_implausible: bool = False,
    spec: BreakdownSpec | None = None,
) -> tuple[Summary, Breakdown | None]:
    if engine not in ENGINES:
        raise UsageError(
            f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}", value=engine
        )
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler needs --engine dask", value=scheduler)
    on_missing = check_on_missing(on_missing)
    st = store if isinstance(store, Store) else Store(store)
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    params = grouping or GroupingParams()
    pdef = defs.get(project) if (defs and project is not None) else None
    files = [str(f) for f in st.files()]
    links: dict[str, int] = {}
    plan = _plan(files, project, pdef, links, () if spec is None else spec.columns)
    run = _run_dask(scheduler) if engine == "dask" else _run_local
    years = run(year_partial, [(f, plan, dict(a0.gpu_aliases)) for f in files])
    if sum(y[0] for y in years) == 0:
        raise RdcostError(
            f"no jobs for project {project!r}" if project else "the store holds no jobs",
            hint="`rdcost jobs --columns project` lists the stored projects",
        )
    year = median_year([y[1] for y in years])
    a = a0.for_year(year)
    evidence = GpuEvidence()
    capacity = NodeCapacity()
    for y in years:
        evidence.merge(y[2])
        capacity.merge(y[3])
    resolver = resolver_for(a, evidence, on_missing)
    when_unknown = None if year is None else pd.Timestamp(f"{year}-07-01", tz="UTC")
    calls = [
        (
            f,
            plan,
            a,
            resolver,
            params,
            i,
            today,
            on_missing != "unknown",
            when_unknown,
            include_implausible,
            capacity,
        )
        for i, f in enumerate(files)
    ]
    b = None
    if spec is None:
        parts = run(partial, calls)
    else:
        from rdcost.analysis.breakdown import combine_groups

        both = run(partial_by, [(*c, spec) for c in calls])
        parts = [x[0] for x in both]
        b = combine_groups([x[1] for x in both], spec)
    s = combine(
        parts,
        a,
        year,
        project=project,
        on_missing=on_missing,
        params=params,
        include_implausible=include_implausible,
        links=links,
    )
    return s, b


def _plan(
    files: list[str],
    project: str | None,
    pdef: ProjectDef | None,
    links: dict[str, int],
    extra: Sequence[str] = (),
) -> Plan:
    """What each partition task reads (columns, filters) and the links found first;
    ``extra``: more columns (a breakdown's keys)."""
    measured: dict[str, tuple] = {}
    drop, fill = link_plan(files, project, pdef, counts=links, measured=measured)
    cols = set(COST_COLUMNS) | set(GROUP_COLUMNS) | set(extra)
    ycols = set(YEAR_COLUMNS)
    if pdef is not None:
        cols |= set(PROJECT_COLUMNS)
        ycols |= set(PROJECT_COLUMNS)
    if drop or fill:
        cols.add("record_key")
        ycols.add("record_key")
    return Plan(
        columns=tuple(c for c in schema.COLUMN_NAMES if c in cols),
        year_columns=tuple(c for c in schema.COLUMN_NAMES if c in ycols),
        project=project,
        project_def=pdef,
        drop_keys=drop,
        group_fill=fill,
        measured_fill=measured,
    )


def resolver_for(a: Assumptions, evidence: GpuEvidence, on_missing: str) -> GpuResolver:
    """The GPU chain for these assumptions (no unidentified GPU with ``--on-missing unknown``)."""
    return GpuResolver.build(
        evidence,
        a.gpu_aliases,
        a.gpu_partitions,
        a.gpu_nodes,
        fallback=None if on_missing == "unknown" else UNIDENTIFIED,
    )


@dataclass
class CostedJobs:
    """A job table's compute rows and their :func:`job_costs`, computed the way every
    command computes them: ``a`` resolved for ``year``, ``links`` counted."""

    cj: pd.DataFrame
    costs: pd.DataFrame
    a: Assumptions
    year: int | None
    links: dict[str, int]
    on_missing: str


def cost_jobs(
    jobs: pd.DataFrame,
    assumptions: Assumptions | None = None,
    *,
    today: pd.Timestamp | None = None,
    on_missing: str = "default",
) -> CostedJobs:
    """The compute rows of ``jobs`` and their costs (the in-memory path of every command)."""
    on_missing = check_on_missing(on_missing)
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    links = link_counts(jobs)
    cj = compute_jobs(jobs)
    year = median_start_year(placed_time(cj))
    a = a0.for_year(year)
    resolver = resolver_for(a, GpuEvidence.of(cj, a.gpu_aliases), on_missing)
    costs = costs_for(cj, a, today, resolver, on_missing != "unknown")
    if on_missing == "error":  # stop here, naming what has no price or power of its own
        check_missing(combos_of(costs), on_missing, [])
    return CostedJobs(cj, costs, a, year, links, on_missing)


def summarize(
    jobs: pd.DataFrame,
    assumptions: Assumptions | None = None,
    *,
    project: str | None = None,
    today: pd.Timestamp | None = None,
    on_missing: str = "default",
    grouping: GroupingParams | None = None,
    n_parts: int = 1,
    include_implausible: bool = False,
) -> Summary:
    """The summary of a job table in memory (e.g. one project's rows of the store).

    ``today`` is the date for ``price_date = "today"`` (default: now).
    ``on_missing`` (:data:`rdcost.analysis.summary.combine.ON_MISSING`): ``default``
    prices and powers every GPU-hour by the chain of
    :mod:`rdcost.analysis.gpu_resolution` (year ranges where a GPU has no price or power
    of its own); ``unknown`` leaves those jobs' figures unknown, counted; ``error``
    raises :class:`rdcost.errors.AssumptionError` naming them. ``grouping`` tunes how
    grid searches are found (:func:`rdcost.analysis.grouping.find_groups`).
    ``n_parts`` cuts the table into that many partitions (the figures do not change;
    tests use it). ``include_implausible`` keeps implausible records in the totals.
    """
    c = cost_jobs(jobs, assumptions, today=today, on_missing=on_missing)
    return summarize_jobs(
        c.cj,
        c.costs,
        c.a,
        c.year,
        project=project,
        on_missing=c.on_missing,
        grouping=grouping,
        n_parts=n_parts,
        include_implausible=include_implausible,
        links=c.links,
    )


def summarize_jobs(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    a: Assumptions,
    year: int | None,
    *,
    project: str | None = None,
    on_missing: str = "default",
    grouping: GroupingParams | None = None,
    n_parts: int = 1,
    include_implausible: bool = False,
    links: Mapping[str, int] | None = None,
) -> Summary:
    """The summary of compute rows ``cj`` and their job costs (``a`` resolved for ``year``)."""
    on_missing = check_on_missing(on_missing)
    params = grouping or GroupingParams()
    cj = cj.reset_index(drop=True)
    costs = costs.reset_index(drop=True)
    bounds = np.linspace(0, len(cj), n_parts + 1).astype(int)
    parts = [
        partial_of_frame(
            cj.iloc[lo:hi].reset_index(drop=True),
            costs.iloc[lo:hi].reset_index(drop=True),
            params,
            i,
            include_implausible,
        )
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]
    return combine(
        parts,
        a,
        year,
        project=project,
        on_missing=on_missing,
        params=params,
        include_implausible=include_implausible,
        links=links,
    )


def check_on_missing(on_missing: str) -> str:
    """The --on-missing mode (``raise`` is the old spelling of ``error``)."""
    on_missing = "error" if on_missing == "raise" else on_missing
    if on_missing not in ON_MISSING:
        raise UsageError(
            f"on_missing must be one of {', '.join(ON_MISSING)}, got {on_missing!r}",
            value=on_missing,
        )
    return on_missing


def _run_local(fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
    what = "reading the store" if fn is year_partial else "summarizing the store"
    out = []
    with progress.task(what, total=len(calls)) as t:
        for args in calls:
            out.append(fn(*args))
            t.advance()
    return out


def _run_dask(scheduler: str | None) -> Callable[[Callable[..., Any], list[tuple]], list[Any]]:
    try:
        import dask
    except ImportError as exc:
        raise UsageError("--engine dask needs dask: pip install 'rdcost[dask]'") from exc

    def run(fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        tasks = [dask.delayed(fn, pure=True)(*args) for args in calls]
        if scheduler is None:
            return list(dask.compute(*tasks, scheduler="threads"))
        try:
            from distributed import Client
        except ImportError as exc:
            raise UsageError("--scheduler needs distributed: pip install 'rdcost[dask]'") from exc
        with Client(scheduler, set_as_default=False) as client:
            return list(client.gather(client.compute(tasks)))

    return run
