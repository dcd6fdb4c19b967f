"""The prepared input of plots, the report and the compute statement.

:func:`build_context` does the work once: the compute rows of a job table
(:func:`rdcost.analysis.linking.compute_jobs`), their per-job GPU-hours, cost, energy
and CO2e (:func:`rdcost.analysis.summary.job_costs`, with the assumptions resolved for
the year the jobs ran, exactly as :func:`rdcost.analysis.summary.summarize` does), the
grid searches (:func:`rdcost.analysis.grouping.find_groups`) and the
:class:`~rdcost.analysis.summary.Summary`. Plots (``rdcost.output.plots.*``), the report
(:mod:`rdcost.output.report`) and the compute statement (:mod:`rdcost.output.statement`) read
the same numbers from it, so a figure in a plot and in a table never differ.

:func:`draw` writes one plot kind of :data:`rdcost.output.plots.KINDS` for a
context; kinds that need another input (the buy-vs-cloud comparison) are
listed in :data:`PLOT_INPUTS` and get it from the context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.assumptions import Assumptions
from rdcost.analysis.grouping import find_groups, summarize_groups
from rdcost.analysis.linking import compute_jobs
from rdcost.analysis.summary import Summary, job_costs, summarize
from rdcost.output import render


@dataclass
class Context:
    """Everything a plot, the report or the compute statement reads (see the module doc).

    ``jobs`` are the compute rows (W&B/MLflow runs linked to their Slurm job
    folded in), ``runs`` the table as stored (runs with their own state,
    config and metrics), ``costs`` one row per compute job (same index as
    ``jobs``), ``searches`` one row per grid search, ``resolved`` the
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
    on_missing: str = "raise"
    owned: Any = None                   # rdcost.analysis.buy_vs_cloud.OwnedSpec, for the buy-vs-cloud plots
    inputs: list[Any] = field(default_factory=list)  # rdcost.jobtable.store.InputRecord of the files behind the jobs
    _buy: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def who(self) -> str:
        """'project X' or 'all stored jobs' (for titles)."""
        return f"project {self.project}" if self.project else "all stored jobs"

    def buy_vs_cloud(self, sizing: bool = False) -> Any:
        """The buy-vs-cloud comparison of these jobs (cached; ``sizing`` adds the replay)."""
        key = "sizing" if sizing else "plain"
        if key not in self._buy:
            from rdcost.analysis.buy_vs_cloud import compare_jobs

            self._buy[key] = compare_jobs(self.runs, self.assumptions, self.owned,
                                          sizes="auto" if sizing else None, today=self.today,
                                          on_missing=self.on_missing, project=self.project)
        return self._buy[key]


def build_context(jobs: pd.DataFrame, assumptions: Assumptions | None = None, *,
                  project: str | None = None, today: pd.Timestamp | None = None,
                  on_missing: str = "raise", owned: Any = None,
                  inputs: Sequence[Any] = ()) -> Context:
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
    s = summarize(jobs, a0, project=project, today=today, on_missing=on_missing)
    cj = compute_jobs(jobs)
    starts = pd.to_datetime(cj["start_time"], utc=True)
    year = None if starts.notna().sum() == 0 else int(starts.dropna().median().year)
    a = a0.for_year(year)
    costs = job_costs(cj, a, today)
    groups = find_groups(cj)
    searches = summarize_groups(cj, groups)
    files = set(jobs["source_file"].dropna().astype(str))
    latest: dict[tuple[str, str], Any] = {}
    for r in inputs:  # a file ingested twice is listed once, with its latest ingest
        if r.path in files:
            latest[(r.path, r.sha256)] = r
    kept = sorted(latest.values(), key=lambda r: r.path)
    return Context(project=project, jobs=cj, runs=jobs, costs=costs, groups=groups, searches=searches,
                   summary=s, assumptions=a0, resolved=a, today=today, on_missing=on_missing,
                   owned=owned, inputs=kept)


# -- drawing ---------------------------------------------------------------------

#: Plot kinds whose function takes something other than the Context: kind -> how to get it.
PLOT_INPUTS: dict[str, Any] = {
    "buy-vs-cloud-cumulative": lambda ctx: ctx.buy_vs_cloud(),
    "sizing": lambda ctx: ctx.buy_vs_cloud(sizing=True),
}


def draw(kind: str, ctx: Context, path: Path | str, source: Any = None) -> Path:
    """Write plot ``kind`` for ``ctx`` to ``path`` (PNG, SVG or PDF by the suffix).

    ``source``: what the plot is drawn from when already at hand (e.g. the
    :class:`rdcost.analysis.tuning.TuningResult` of a chosen metric for the tuning kinds);
    default: the context, or what :data:`PLOT_INPUTS` gets from it.
    """
    from rdcost.output.plots import get_plot

    fn = get_plot(kind)
    arg = source if source is not None else PLOT_INPUTS[kind](ctx) if kind in PLOT_INPUTS else ctx
    return Path(fn(arg, Path(path)))


def plot_kinds() -> dict[str, str]:
    """Every registered plot kind with the first line of its function's doc."""
    from rdcost.output.plots import KINDS, get_plot

    out = {}
    for kind in sorted(KINDS):
        doc = (get_plot(kind).__doc__ or "").strip().splitlines()
        out[kind] = doc[0].strip() if doc else ""
    return out


# -- time integrals (used by the over-time plots) ------------------------------------

def job_intervals(ctx: Context) -> pd.DataFrame:
    """Per started job with known GPU-hours: start, effective end (UTC), GPUs and costs.

    A job without an end (still RUNNING at export) ends at start + elapsed,
    as in the summary.
    """
    cj, c = ctx.jobs, ctx.costs
    start = pd.to_datetime(cj["start_time"], utc=True)
    end = pd.to_datetime(cj["end_time"], utc=True)
    end = end.fillna(start + pd.to_timedelta(c["elapsed_s"], unit="s"))
    ok = c["is_started"] & c["gpu_hours"].notna() & start.notna() & end.notna()
    cols = ["gpu_hours", "cloud_usd_low", "cloud_usd_high", "electricity_usd", "energy_kwh", "co2e_kg"]
    out = c.loc[ok, cols].copy()
    out["start_time"] = start[ok]
    out["end_time"] = end[ok]
    out["n_gpus"] = pd.to_numeric(cj.loc[ok, "n_gpus"]).astype("float64")
    out["gpu_type"] = c.loc[ok, "gpu_type"].fillna("unknown").astype(str)
    return out


def accrued(start: pd.Series, end: pd.Series, amount: pd.Series, at: pd.DatetimeIndex) -> np.ndarray:
    """How much of ``amount`` has accrued by each time of ``at``, each job's amount spread evenly
    over [start, end] (a zero-length job accrues all at its start). Exact, O((n + m) log n)."""
    s = start.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    e = end.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    q = np.asarray(amount, dtype="float64")
    t = at.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    dur = e - s
    point = dur <= 0
    rate = np.where(point, 0.0, q / np.where(point, 1.0, dur))
    # sum over jobs of rate x (clip(t, s, e) - s) = rate x (t - s)[s<=t] - rate x (t - e)[e<=t]
    total = np.zeros_like(t)
    for times, sign in ((s, 1.0), (e, -1.0)):
        order = np.argsort(times, kind="stable")
        ts, r = times[order], rate[order]
        cr, crt = np.concatenate([[0.0], np.cumsum(r)]), np.concatenate([[0.0], np.cumsum(r * ts)])
        k = np.searchsorted(ts, t, side="right")
        total += sign * (t * cr[k] - crt[k])
    if point.any():
        ps = np.sort(s[point])
        cq = np.concatenate([[0.0], np.cumsum(q[point][np.argsort(s[point], kind="stable")])])
        total += cq[np.searchsorted(ps, t, side="right")]
    return total


# -- words and numbers shared by the plots, the report and the compute statement -------

def fmt(v: Any, kind: str = "") -> str:
    """:func:`rdcost.output.render.fmt` with whole dollars from $10 ($1,234; $5.43; 12.3%; 'unknown')."""
    return render.fmt(v, kind, usd_cents_below=10)


def usd_range(low: Any, high: Any) -> str:
    """'$52 - $175', or 'unknown' when either end is unknown."""
    if fmt(low) == "unknown" or fmt(high) == "unknown":
        return "unknown"
    return f"{fmt(low, 'usd')} - {fmt(high, 'usd')}"


def assumptions_brief(s: Summary) -> str:
    """The assumptions behind every cost, energy and CO2e figure, in one line."""
    a = s.assumptions
    prices = []
    for p in a["prices"]:
        lo, hi = p["usd_per_gpu_hour_low"], p["usd_per_gpu_hour_high"]
        if lo is None or hi is None:
            prices.append(f"{p['gpu_key']} unknown")
            continue
        when = p["price_as_of_low"] if p["price_as_of_low"] == p["price_as_of_high"] else \
            f"{p['price_as_of_low']}/{p['price_as_of_high']}"
        prices.append(f"${lo:g}-${hi:g} per GPU-hour ({p['price_key']}, {p['price_provider']} "
                      f"{p['pricing_model_low']} to {p['pricing_model_high']}, as of {when})")
    power = [f"{p['power_w']:g} W per GPU ({p['basis']})" if p["power_w"] is not None
             else f"{p['gpu_key']} power unknown" for p in a["power"]]
    c, pue, el = a["carbon"], a["pue"], a["electricity_usd_per_kwh"]
    parts = [f"{a['name']} assumptions"]
    if prices:
        parts.append("cloud " + "; ".join(dict.fromkeys(prices)))
    if power:
        parts.append(", ".join(dict.fromkeys(power)))
    parts.append(f"PUE {pue['value']:g}" + (f" (as of {pue['as_of']})" if pue.get("as_of") else ""))
    parts.append(f"{c['kg_co2e_per_kwh']:.4g} kg CO2e/kWh ({c['region'] or 'region unknown'}, "
                 f"{c['year'] or 'year unknown'})")
    parts.append(f"electricity ${el['value']:g}/kWh" + (f" (as of {el['as_of']})" if el.get("as_of") else ""))
    return "; ".join(parts)
