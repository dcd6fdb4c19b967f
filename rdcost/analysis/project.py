"""One project's jobs analysed once, for the report, the plots, the compute
statement and the tuning analysis: the compute rows
(:func:`rdcost.analysis.linking.compute_jobs`), their per-job GPU-hours, cost,
energy and CO2e (:func:`rdcost.analysis.summary.job_costs`), the grid searches
(:func:`rdcost.analysis.grouping.find_groups`) and the
:class:`~rdcost.analysis.summary.Summary` made from those same per-job figures
(:func:`rdcost.analysis.summary.summarize_jobs`). Nothing is computed twice, so a
figure in a plot and in a table never differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rdcost import progress
from rdcost.analysis.assumptions import Assumptions
from rdcost.analysis.grouping import find_groups, summarize_groups
from rdcost.analysis.summary import Summary, cost_jobs, summarize_jobs
from rdcost.analysis.summary.partial import counted_jobs


@dataclass
class ProjectAnalysis:
    """Everything a plot, the report or the compute statement reads (see the module doc).

    ``jobs`` are the compute rows (W&B/MLflow runs linked to their Slurm job
    folded in), ``runs`` the table as stored (runs with their own state,
    config and metrics), ``costs`` one row per compute job (same index as
    ``jobs``; ``is_counted`` marks the jobs every total counts), ``searches`` one row per grid search, ``resolved`` the
    assumptions filled for the year the jobs ran.
    """

    project: str | None
    jobs: pd.DataFrame
    runs: pd.DataFrame
    costs: pd.DataFrame
    groups: pd.DataFrame
    searches: pd.DataFrame
    summary: Summary
    assumptions: Assumptions
    resolved: Assumptions
    today: pd.Timestamp
    on_missing: str = "default"
    include_implausible: bool = False
    owned: Any = None  # rdcost.analysis.buy_vs_cloud.OwnedSpec, for the buy-vs-cloud plots
    inputs: list[Any] = field(
        default_factory=list
    )  # rdcost.jobtable.store.InputRecord of the files behind the jobs
    by: Any = None  # rdcost.analysis.breakdown.BreakdownSpec: the report's breakdown (--by)
    capacity: Any = None  # rdcost.analysis.capacity.Capacity: owned capacity (--capacity)
    _buy: dict[str, Any] = field(default_factory=dict, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def who(self) -> str:
        """'project X' or 'all stored jobs' (for titles)."""
        return f"project {self.project}" if self.project else "all stored jobs"

    def breakdown(self) -> Any:
        """The breakdown of these jobs by :attr:`by` (cached; None without one): the same
        per-job figures as the summary, so its total is the summary's."""
        if self.by is None:
            return None
        if "breakdown" not in self._cache:
            from rdcost.analysis.breakdown import breakdown_of_frame

            self._cache["breakdown"] = breakdown_of_frame(
                self.jobs, self.costs, self.by, include_implausible=self.include_implausible
            )
        return self._cache["breakdown"]

    def idle(self) -> Any:
        """Owned utilization, idle cost and its spread over :attr:`capacity` (cached; None
        without one): :func:`rdcost.analysis.capacity.idle_cost` of the counted jobs."""
        if self.capacity is None:
            return None
        if "idle" not in self._cache:
            from rdcost.analysis.capacity import idle_cost

            pue, kwh = self.resolved.pue, self.resolved.electricity_usd_per_kwh
            assert pue is not None and kwh is not None  # filled by Assumptions.for_year
            self._cache["idle"] = idle_cost(
                self.jobs,
                self.costs,
                self.capacity,
                pue=pue.value,
                usd_per_kwh=kwh.value,
                counted=self.costs["is_counted"].to_numpy(dtype=bool),
            )
        return self._cache["idle"]

    def buy_vs_cloud(self, sizing: bool = False) -> Any:
        """The buy-vs-cloud comparison of these jobs (cached; ``sizing`` adds the replay)."""
        key = "sizing" if sizing else "plain"
        if key not in self._buy:
            from rdcost.analysis.buy_vs_cloud import compare_jobs

            self._buy[key] = compare_jobs(
                self.runs,
                self.assumptions,
                self.owned,
                sizes="auto" if sizing else None,
                today=self.today,
                on_missing=self.on_missing,
                project=self.project,
                include_implausible=self.include_implausible,
                capacity=self.capacity,
            )
        return self._buy[key]


def analyze_project(
    jobs: pd.DataFrame,
    assumptions: Assumptions | None = None,
    *,
    project: str | None = None,
    today: pd.Timestamp | None = None,
    on_missing: str = "default",
    owned: Any = None,
    inputs: Sequence[Any] = (),
    include_implausible: bool = False,
) -> ProjectAnalysis:
    """Prepare a job table (e.g. one project's rows of the store) for plots and reports.

    ``assumptions``, ``today`` and ``on_missing`` mean what they mean for
    :func:`rdcost.analysis.summary.summarize`. ``owned`` is the
    :class:`rdcost.analysis.buy_vs_cloud.OwnedSpec` for the buy-vs-cloud plots
    (default: its defaults). ``inputs`` is the provenance of the ingested
    files (:meth:`rdcost.jobtable.store.Store.inputs`); only those whose path is a
    ``source_file`` of these jobs are kept, each (path, sha256) once.
    """
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    with progress.task("analysing the jobs", total=3) as t:
        return _analyze(jobs, a0, project, today, on_missing, owned, inputs, include_implausible, t)


def _analyze(
    jobs: pd.DataFrame,
    a0: Assumptions,
    project: str | None,
    today: pd.Timestamp,
    on_missing: str,
    owned: Any,
    inputs: Sequence[Any],
    include_implausible: bool,
    t: progress.Task,
) -> ProjectAnalysis:
    c = cost_jobs(jobs, a0, today=today, on_missing=on_missing)
    t.advance(what="costed")
    cj, a, on_missing = c.cj, c.a, c.on_missing
    # the jobs every total counts: started, and not left out as implausible
    costs = c.costs.assign(is_counted=counted_jobs(c.costs, include_implausible))
    s = summarize_jobs(
        cj,
        costs,
        a,
        c.year,
        project=project,
        on_missing=on_missing,
        include_implausible=include_implausible,
        links=c.links,
    )
    t.advance(what="summarized")
    groups = find_groups(cj)
    searches = summarize_groups(cj, groups)
    t.advance(what="grid searches")
    files = set(jobs["source_file"].dropna().astype(str))
    latest: dict[tuple[str, str], Any] = {}
    for r in inputs:  # a file ingested twice is listed once, with its latest ingest
        if r.path in files:
            latest[(r.path, r.sha256)] = r
    kept = sorted(latest.values(), key=lambda r: r.path)
    return ProjectAnalysis(
        project=project,
        jobs=cj,
        runs=jobs,
        costs=costs,
        groups=groups,
        searches=searches,
        summary=s,
        assumptions=a0,
        resolved=a,
        today=today,
        on_missing=on_missing,
        include_implausible=include_implausible,
        owned=owned,
        inputs=kept,
    )
