"""The analysis entry points: :func:`analyze` (a job table) and :func:`analyze_context` (a prepared
:class:`rdcost.analysis.project.ProjectAnalysis`), and the steps from compute jobs to a
:class:`rdcost.analysis.tuning.result.TuningResult`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.assumptions import Assumptions
from rdcost.analysis.grouping import GroupingParams, find_groups, summarize_groups
from rdcost.analysis.linking import link_runs
from rdcost.analysis.summary.combine import check_missing
from rdcost.analysis.summary.engines import cost_jobs
from rdcost.analysis.summary.partial import combos_of
from rdcost.analysis.tuning.method import method
from rdcost.analysis.tuning.params import TuningParams
from rdcost.analysis.tuning.repeats import assign_roles, role_rows
from rdcost.analysis.tuning.result import TuningResult
from rdcost.analysis.tuning.runs import run_table, search_runs
from rdcost.analysis.tuning.searches import search_entries
from rdcost.analysis.tuning.totals import prices, rollup, totals
from rdcost.analysis.tuning.values import Values, read_values


def analyze(
    jobs: pd.DataFrame,
    assumptions: Assumptions | None = None,
    params: TuningParams | None = None,
    *,
    project: str | None = None,
    today: pd.Timestamp | None = None,
    on_missing: str = "default",
    grouping: GroupingParams | None = None,
) -> TuningResult:
    """Analyze the tuning of a job table (e.g. one project's rows of the store).

    ``assumptions``, ``today``, ``on_missing`` and ``grouping`` mean what they
    mean for :func:`rdcost.analysis.summary.summarize`: the cost of runs is priced the
    same way.
    """
    c = cost_jobs(jobs, assumptions, today=today, on_missing=on_missing)
    cj, costs = c.cj, c.costs
    notes: list[str] = []
    check_missing(combos_of(costs), c.on_missing, notes)
    groups = find_groups(cj, grouping)
    return _analyze(
        jobs,
        cj,
        costs,
        groups,
        summarize_groups(cj, groups),
        params or TuningParams(),
        project,
        notes,
    )


def analyze_context(ctx: Any, params: TuningParams | None = None) -> TuningResult:
    """:func:`analyze` on a :class:`rdcost.analysis.project.ProjectAnalysis` (the same numbers as its plots)."""
    return _analyze(
        ctx.runs,
        ctx.jobs,
        ctx.costs,
        ctx.groups,
        ctx.searches,
        params or TuningParams(),
        ctx.project,
        list(ctx.summary.notes),
    )


def _analyze(
    runs: pd.DataFrame,
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    groups: pd.DataFrame,
    searches: pd.DataFrame,
    p: TuningParams,
    project: str | None,
    notes: list[str],
) -> TuningResult:
    """The steps: values of each run, the run table in launch order with repeat roles, the runs of
    each search, one entry per search, then the project-level figures and notes."""
    shared = _shared_jobs(runs, cj)
    v = read_values(cj, shared, p)
    if shared.any():
        notes.append(
            f"{int(shared.sum()):,} jobs each ran several W&B/MLflow runs; their GPU-hours cannot be "
            "split among the runs, so they count as runs without a configuration"
        )
    r = run_table(cj, costs, groups, v, p)
    r["role"], r["repeats_other_search"] = assign_roles(r)
    g = search_runs(r, v.goal)
    out = search_entries(g, searches, v, p)
    notes.extend(_notes(r, v))
    return TuningResult(
        project=project,
        metric=v.metric,
        goal=v.goal,
        metric_rule=v.metric_rule,
        goal_rule=v.goal_rule,
        is_role_guessed=v.guessed,
        hyperparameter_keys=v.hp_keys,
        seed_keys=v.seed_keys,
        excluded_keys=v.excluded,
        method=method(p, v),
        totals=totals(out, r, g),
        hyperparameters=rollup(out),
        repeats=role_rows(r),
        searches=out,
        prices=prices(costs),
        notes=notes,
    )


def _shared_jobs(runs: pd.DataFrame, cj: pd.DataFrame) -> np.ndarray:
    """Compute rows that hold several runs (values keyed by run id): no configuration of their own."""
    pairs = link_runs(runs)
    if pairs.empty:
        return np.zeros(len(cj), dtype=bool)
    n = pairs["slurm"].value_counts()
    return cj.index.isin(n[n > 1].index)


def _notes(r: pd.DataFrame, v: Values) -> list[str]:
    """What the reader should know about the runs: jobs outside searches, no metric or seed,
    roles told by key names."""
    notes = []
    n_outside = int(r["search"].isna().sum())
    if n_outside:
        notes.append(
            f"{n_outside:,} compute jobs are in no grid search: they count only for repeats "
            "(a configuration trained again anywhere in the project)"
        )
    if v.metric is None:
        notes.append(
            "no run reports a metric: best results, sensitivity and the counterfactual are unknown"
        )
    elif not v.seed_keys:
        notes.append(
            "no run logs a seed: a configuration trained twice cannot be told apart from a seed "
            "replicate, so repeats count as retries or redundant"
        )
    if v.guessed:
        notes.append(
            "the export does not separate hyperparameters from metrics (other_json): roles were "
            "assigned by key names; see excluded_keys"
        )
    return notes
