"""From a job table to the comparison (:func:`compare_jobs`): price the project's jobs, the cloud
side, the demand, the owned hardware and how many GPUs, the comparison, the cumulative cost curve
and, on request, the sizing replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis import costing, replay
from rdcost.analysis.buy_vs_cloud.breakeven import cumulative_costs, gpu_hours_curve
from rdcost.analysis.buy_vs_cloud.cloud import cloud_side
from rdcost.analysis.buy_vs_cloud.comparison import Comparison, compare
from rdcost.analysis.buy_vs_cloud.cost_model import (
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    S_PER_HOUR,
    Demand,
    OwnedParams,
)
from rdcost.analysis.buy_vs_cloud.owned_params import resolve_owned
from rdcost.analysis.buy_vs_cloud.owned_spec import OwnedSpec
from rdcost.analysis.buy_vs_cloud.report import Report
from rdcost.analysis.buy_vs_cloud.sizing import (
    gpus_for_mean,
    gpus_for_percentile,
    parse_size_by,
    sizing_costs,
)
from rdcost.analysis.buy_vs_cloud.utilization import PerUsed, per_used_gpu_hour
from rdcost.analysis.summary.combine import PRICE_ROW_COLUMNS
from rdcost.analysis.summary.engines import check_on_missing, cost_jobs
from rdcost.analysis.summary.partial import counted_jobs
from rdcost.errors import UsageError
from rdcost.plural import plural


def compare_jobs(
    jobs: pd.DataFrame,
    assumptions,
    owned: OwnedSpec | None = None,
    *,
    n_gpus: int | None = None,
    size_by: str = "mean",
    sizes: list[float] | str | None = None,
    estimate: str = "elapsed",
    today: pd.Timestamp | None = None,
    on_missing: str = "default",
    project: str | None = None,
    include_implausible: bool = False,
    capacity: Any = None,
) -> Report:
    """Owned vs cloud for a job table (a project's rows of the store).

    ``n_gpus`` (``--gpus``) wins over ``size_by``. ``sizes``: cluster sizes to
    replay the trace on ("auto" = :func:`rdcost.analysis.replay.default_gpu_counts`
    plus ``n_gpus``; None = no replay). ``on_missing`` and ``include_implausible`` as in
    summarize. ``capacity`` (:class:`rdcost.analysis.capacity.Capacity`): the owned cluster whose
    measured utilization prices a used GPU-hour (else the project's own use of the GPUs bought).
    """
    on_missing = check_on_missing(on_missing)
    owned = owned or OwnedSpec()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    notes: list[str] = []
    p = _priced_jobs(jobs, assumptions, today, notes, on_missing, include_implausible)
    cloud_low, cloud_high, committed = cloud_side(p.a, p.j, p.cj, p.use, today, on_missing, notes)
    d = _demand(p)
    main_key = _main_gpu_key(p)
    params, owned_used = resolve_owned(owned, p.a, main_key, p.year)
    chosen, rule = _cluster_size(n_gpus, size_by, d)
    c = compare(chosen, rule, d.demand, cloud_low, cloud_high, params, d.knots, d.used_gh)
    if c.utilization > 1:
        notes.append(
            f"{plural(chosen, 'GPU')} cannot run {d.demand.gpu_hours:,.0f} GPU-hours in "
            f"{c.span_days:,.0f} days (utilization {c.utilization:.3f} > 1): owning them, the "
            "project takes longer; see the sizing replay (--sizing)"
        )
    c.assumptions = _assumptions_used(p.a, p.j, p.use, params, owned_used, p.year)
    curve = _cost_curve(c, d, chosen, params)
    sizing_table, replay_info = (
        (None, None) if sizes is None else _sizing(p.cj, sizes, chosen, estimate, params, notes)
    )
    per_used, cap = _per_used(p, c, chosen, params, capacity, notes)
    return Report(
        per_used=per_used,
        capacity=cap,
        project=project,
        n_jobs=len(p.cj),
        n_jobs_gpu_unknown=p.n_gpu_unknown,
        comparison=c,
        project_gpu_key=main_key,
        owned_server=params.server_label,
        cloud_usd_committed_1y=committed.get("reserved_1y"),
        cloud_usd_committed_3y=committed.get("reserved_3y"),
        curve=curve,
        sizing=sizing_table,
        replay=replay_info,
        notes=notes,
    )


def _per_used(
    p: _PricedJobs,
    c: Comparison,
    n_gpus: int,
    params: OwnedParams,
    capacity: Any,
    notes: list[str],
) -> tuple[PerUsed, dict[str, Any] | None]:
    """The owned cost of a used GPU-hour: at the utilization measured on ``capacity``, else at
    the project's own use of the ``n_gpus`` bought (at most 1)."""
    if capacity is None:
        u = min(c.utilization, 1.0) if np.isfinite(c.utilization) else None
        rule = "the project's own use of the GPUs bought: GPU-hours / (GPUs x span), at most 1"
        return per_used_gpu_hour(n_gpus, params, u, rule), None
    from rdcost.analysis.capacity import idle_cost

    r = idle_cost(
        p.cj,
        p.j,
        capacity,
        pue=params.pue,
        usd_per_kwh=params.electricity_usd_per_kwh,
        counted=p.use.to_numpy(dtype=bool),
    )
    notes.extend(r.notes)
    rule = (
        f"measured on the owned capacity ({capacity.origin}): {r.used_gpu_hours:,.1f} used of "
        f"{r.available_gpu_hours:,.1f} available GPU-hours"
    )
    idle_w = capacity.idle_power_w_per_gpu or 0.0
    return per_used_gpu_hour(n_gpus, params, r.utilization, rule, idle_w), r.to_dict()


@dataclass
class _PricedJobs:
    """The compute jobs (``cj``), their start times, the year they ran, the assumptions for that
    year (``a``), per-job GPU-hours and prices (``j``) and the jobs with GPU time (``use``)."""

    cj: pd.DataFrame
    starts: pd.Series
    year: int | None
    a: Any
    j: pd.DataFrame
    use: pd.Series
    n_gpu_unknown: int


def _priced_jobs(
    jobs: pd.DataFrame,
    assumptions,
    today: pd.Timestamp,
    notes: list[str],
    on_missing: str = "default",
    include_implausible: bool = False,
) -> _PricedJobs:
    c = cost_jobs(jobs, assumptions, today=today, on_missing=on_missing)
    cj, j, a, year = c.cj, c.costs, c.a, c.year
    started = pd.Series(counted_jobs(j, include_implausible), index=j.index)
    n_out = int((j["is_started"] & ~started).sum())
    if n_out:
        notes.append(
            f"{plural(n_out, 'implausible record')} left out (--include-implausible keeps them); "
            "`rdcost summarize` lists them"
        )
    known = started & j["gpu_hours"].notna()
    use = known & (j["gpu_hours"] > 0)
    if not use.any():
        raise UsageError(
            "the selected jobs hold no GPU time (no started job with a known GPU count "
            "and run time)",
            hint="check --project, or ingest with --gpus-per-run",
        )
    n_gpu_unknown = int((started & pd.to_numeric(cj["n_gpus"]).isna()).sum())
    if n_gpu_unknown:
        notes.append(
            f"{n_gpu_unknown:,} started jobs have an unknown GPU count; they are left out of "
            "the GPU-hours, the cloud cost and the replay"
        )
    starts = pd.to_datetime(j["place_time"], utc=True)  # the start, else the submission
    return _PricedJobs(cj, starts, year, a, j, use, n_gpu_unknown)


@dataclass
class _DemandTrace:
    """The project's demand, its cumulative GPU-hours curve (``knots``, ``used_gh``) and the jobs'
    start and end (hours since the first start) and GPUs."""

    demand: Demand
    knots: np.ndarray
    used_gh: np.ndarray
    start_h: np.ndarray
    end_h: np.ndarray
    gpus: np.ndarray


def _demand(p: _PricedJobs) -> _DemandTrace:
    use, starts, j, cj = p.use, p.starts, p.j, p.cj
    t0 = starts[use].min()
    start_h = ((starts[use] - t0).dt.total_seconds() / S_PER_HOUR).to_numpy(dtype=float)
    elapsed_h = (j.loc[use, "elapsed_s"] / S_PER_HOUR).to_numpy(dtype=float)
    gpus = pd.to_numeric(cj.loc[use, "n_gpus"]).to_numpy(dtype=float)
    end_h = start_h + elapsed_h
    knots, used_gh = gpu_hours_curve(start_h, end_h, gpus)
    conc = costing.concurrency(
        starts[use],
        starts[use] + pd.to_timedelta(j.loc[use, "elapsed_s"], unit="s"),
        cj.loc[use, "n_gpus"],
    )
    demand = Demand(
        gpu_hours=float(j.loc[use, "gpu_hours"].sum()),
        span_hours=float(end_h.max()),
        mean_gpus=conc.mean_concurrent_gpus,
        peak_gpus=conc.peak_concurrent_gpus,
    )
    return _DemandTrace(demand, knots, used_gh, start_h, end_h, gpus)


def _main_gpu_key(p: _PricedJobs) -> str | None:
    """The GPU type with the most GPU-hours (None if unknown)."""
    by_key = p.j.loc[p.use].groupby(p.j.loc[p.use, "gpu_key"].fillna("unknown"))["gpu_hours"].sum()
    return None if by_key.empty or by_key.idxmax() == "unknown" else str(by_key.idxmax())


def _cluster_size(n_gpus: int | None, size_by: str, d: _DemandTrace) -> tuple[int, str]:
    """GPUs to buy and the rule: ``--gpus``, else ``size_by`` (mean, a percentile or the peak)."""
    if n_gpus is not None:
        if n_gpus <= 0:
            raise UsageError(f"--gpus must be > 0, got {n_gpus}", value=str(n_gpus))
        return int(n_gpus), "--gpus"
    q = parse_size_by(size_by)
    if q is None:
        return gpus_for_mean(d.demand.mean_gpus), "mean GPUs in use, rounded"
    return (
        gpus_for_percentile(d.start_h, d.end_h, d.gpus, q),
        f"percentile {q:g} of GPUs in use (weighted by time), rounded up",
    )


def _cost_curve(c: Comparison, d: _DemandTrace, chosen: int, params: OwnedParams) -> pd.DataFrame:
    """The cumulative cost curve for the plot: the project, and on to the break-even (within the lifetime)."""
    lifetime_h = params.lifetime_years * HOURS_PER_YEAR
    ends = [
        m * HOURS_PER_MONTH
        for m in (c.breakeven_months, c.breakeven_months_vs_low)
        if m is not None
    ]
    horizon = max([d.demand.span_hours] + [min(1.25 * e, lifetime_h) for e in ends])
    return cumulative_costs(
        d.knots,
        d.used_gh,
        chosen,
        params,
        c.cloud_usd_per_gpu_hour_low or float("nan"),
        c.cloud_usd_per_gpu_hour_high or float("nan"),
        horizon,
    )


def _sizing(
    cj: pd.DataFrame,
    sizes: list[float] | str,
    chosen: int,
    estimate: str,
    params: OwnedParams,
    notes: list[str],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The project replayed on clusters of ``sizes`` GPUs with their owned cost, and how it was replayed."""
    trace = replay.trace_from_jobs(cj, estimate=estimate)
    counts = replay.default_gpu_counts(trace) + [chosen] if sizes == "auto" else list(sizes)
    sizing_table = sizing_costs(replay.sweep(trace, counts), params)
    replay_info = {
        "policy": "first come, first served with EASY backfill",
        "estimate": estimate,
        "n_jobs_replayed": trace.n_jobs,
        **trace.exclusions(),
        "n_jobs_submit_from_start": trace.n_jobs_submit_from_start,
        "logged_duration_days": trace.logged_end_s / 86_400,
    }
    too_large = sizing_table.loc[sizing_table["n_jobs_too_large"] > 0]
    for r in too_large.itertuples(index=False):
        notes.append(
            f"on {r.n_gpus:g} GPUs, {r.n_jobs_too_large:,} jobs ask for more GPUs than the "
            "cluster has and could never run; they are left out of that row"
        )
    return sizing_table, replay_info


def _assumptions_used(
    a,
    j: pd.DataFrame,
    use: pd.Series,
    params: OwnedParams,
    owned_used: dict[str, Any],
    year: int | None,
) -> dict[str, Any]:
    """The JSON's ``assumptions``: the cloud prices behind the cost (by GPU-hours) and the owned side."""
    cols = [c for c in PRICE_ROW_COLUMNS if c not in ("price_rule", "price_note")]
    p = j.loc[use].assign(gpu_key=j.loc[use, "gpu_key"].fillna("unknown"))
    prices = []
    for vals, g in p.groupby(cols, dropna=False, sort=False):
        row = dict(zip(cols, vals, strict=True))
        row["gpu_hours"] = float(g["gpu_hours"].sum())
        pk = row["price_key"]
        row["note"] = a.prices[pk].note if isinstance(pk, str) and pk in a.prices else None
        prices.append(row)
    return {
        "name": a.name,
        "layers": list(a.layers),
        "year": year,
        "cloud_prices": sorted(prices, key=lambda r: -r["gpu_hours"]),
        "owned": owned_used,
        "owned_usd_per_gpu": params.usd_per_gpu,
        "owned_electricity_usd_per_gpu_hour": params.electricity_usd_per_gpu_hour,
        "hours_per_month": HOURS_PER_MONTH,
        "hours_per_year": HOURS_PER_YEAR,
    }
