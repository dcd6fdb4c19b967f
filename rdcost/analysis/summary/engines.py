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

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.assumptions import Assumptions
from rdcost.analysis.grouping import GroupingParams
from rdcost.analysis.linking import compute_jobs
from rdcost.analysis.projects import ProjectDef
from rdcost.analysis.summary.combine import combine
from rdcost.analysis.summary.job_costs import costs_for, job_costs, median_start_year, price_table
from rdcost.analysis.summary.partial import Partial, partial_of_frame
from rdcost.analysis.summary.result import Summary
from rdcost.analysis.summary.store_plan import (
    COST_COLUMNS,
    GROUP_COLUMNS,
    PROJECT_COLUMNS,
    Plan,
    compute_rows,
    link_plan,
    median_year,
    year_partial,
)
from rdcost.errors import RdcostError, UsageError
from rdcost.jobtable import schema
from rdcost.jobtable.store import Store

ENGINES = ("pandas", "dask")
ON_MISSING = ("raise", "unknown")


def partial(
    path: str, plan: Plan, a: Assumptions, prices: pd.DataFrame, params: GroupingParams, part: int
) -> Partial:
    """The partial of one partition file (runs on a Dask worker with the dask engine)."""
    cj = compute_rows(path, plan)
    return partial_of_frame(cj, job_costs(cj, a, prices), params, part)


def summarize_store(
    store: Store | str,
    project: str | None = None,
    defs: Mapping[str, ProjectDef] | None = None,
    assumptions: Assumptions | None = None,
    *,
    engine: str = "pandas",
    scheduler: str | None = None,
    today: pd.Timestamp | None = None,
    on_missing: str = "raise",
    grouping: GroupingParams | None = None,
) -> Summary:
    """The summary of the stored jobs (one project's with ``project``), partition by partition.

    ``defs`` are project definitions (:func:`rdcost.analysis.projects.load_projects`);
    ``engine`` is ``pandas`` (this process) or ``dask`` (``scheduler``: the
    address of a running Dask scheduler, else dask's local threads). Other
    arguments mean what they mean for :func:`summarize`.
    Raises :class:`RdcostError` when no job is selected.
    """
    if engine not in ENGINES:
        raise UsageError(
            f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}", value=engine
        )
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler needs --engine dask", value=scheduler)
    _check_on_missing(on_missing)
    st = store if isinstance(store, Store) else Store(store)
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    params = grouping or GroupingParams()
    pdef = defs.get(project) if (defs and project is not None) else None
    files = [str(f) for f in st.files()]
    drop, fill = link_plan(files, project, pdef)
    cols = set(COST_COLUMNS) | set(GROUP_COLUMNS)
    if pdef is not None:
        cols |= set(PROJECT_COLUMNS)
    if drop or fill:
        cols.add("record_key")
    ycols = {"start_time", "gpu_type"} | (set(PROJECT_COLUMNS) if pdef is not None else set())
    if drop or fill:
        ycols.add("record_key")
    plan = Plan(
        columns=tuple(c for c in schema.COLUMN_NAMES if c in cols),
        year_columns=tuple(c for c in schema.COLUMN_NAMES if c in ycols),
        project=project,
        project_def=pdef,
        drop_keys=drop,
        group_fill=fill,
    )
    run = _run_dask(scheduler) if engine == "dask" else _run_local
    years = run(year_partial, [(f, plan) for f in files])
    if sum(y[0] for y in years) == 0:
        raise RdcostError(
            f"no jobs for project {project!r}" if project else "the store holds no jobs",
            hint="`rdcost jobs --columns project` lists the stored projects",
        )
    year = median_year([y[1] for y in years])
    a = a0.for_year(year)
    prices = price_table([y[2] for y in years], a, today)
    parts = run(partial, [(f, plan, a, prices, params, i) for i, f in enumerate(files)])
    return combine(parts, a, year, project=project, on_missing=on_missing, params=params)


def summarize(
    jobs: pd.DataFrame,
    assumptions: Assumptions | None = None,
    *,
    project: str | None = None,
    today: pd.Timestamp | None = None,
    on_missing: str = "raise",
    grouping: GroupingParams | None = None,
    n_parts: int = 1,
) -> Summary:
    """The summary of a job table in memory (e.g. one project's rows of the store).

    ``today`` is the date for ``price_date = "today"`` (default: now).
    ``on_missing``: ``raise`` (default) raises
    :class:`rdcost.errors.AssumptionError` when a GPU type with GPU time has no
    price or power; ``unknown`` leaves the figures that need it unknown (null)
    and says so in ``notes``. ``grouping`` tunes how grid searches are found
    (:func:`rdcost.analysis.grouping.find_groups`). ``n_parts`` cuts the table
    into that many partitions (the figures do not change; tests use it).
    """
    _check_on_missing(on_missing)
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    cj = compute_jobs(jobs).reset_index(drop=True)
    year = median_start_year(cj["start_time"])
    a = a0.for_year(year)
    return summarize_jobs(
        cj,
        costs_for(cj, a, today),
        a,
        year,
        project=project,
        on_missing=on_missing,
        grouping=grouping,
        n_parts=n_parts,
    )


def summarize_jobs(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    a: Assumptions,
    year: int | None,
    *,
    project: str | None = None,
    on_missing: str = "raise",
    grouping: GroupingParams | None = None,
    n_parts: int = 1,
) -> Summary:
    """The summary of compute rows ``cj`` and their job costs (``a`` resolved for ``year``)."""
    _check_on_missing(on_missing)
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
        )
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]
    return combine(parts, a, year, project=project, on_missing=on_missing, params=params)


def _check_on_missing(on_missing: str) -> None:
    if on_missing not in ON_MISSING:
        raise UsageError(
            f"on_missing must be raise or unknown, got {on_missing!r}", value=on_missing
        )


def _run_local(fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
    return [fn(*args) for args in calls]


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
