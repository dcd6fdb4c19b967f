"""Time integrals of the jobs' GPU time and money, for the over-time plots."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def job_intervals(ctx: Any) -> pd.DataFrame:
    """Per counted job with known GPU-hours: where the summary places it in time (its
    start, else its submission) and its effective end (the logged end, else the placement
    + elapsed: a job still RUNNING at export), UTC; its GPUs and costs."""
    cj, c = ctx.jobs, ctx.costs
    start = pd.to_datetime(c["place_time"], utc=True)
    end = pd.to_datetime(c["end_eff"], utc=True)
    ok = c["is_counted"] & c["gpu_hours"].notna() & start.notna() & end.notna()
    cols = [
        "gpu_hours",
        "cloud_usd_low",
        "cloud_usd_high",
        "electricity_usd",
        "energy_kwh",
        "co2e_kg",
        "co2e_kg_low",
        "co2e_kg_high",
        "electricity_usd_low",
        "electricity_usd_high",
    ]
    out = c.loc[ok, [x for x in cols if x in c]].copy()
    out["start_time"] = start[ok]
    out["end_time"] = end[ok]
    out["n_gpus"] = pd.to_numeric(cj.loc[ok, "n_gpus"]).astype("float64")
    out["gpu_type"] = c.loc[ok, "gpu_type"].fillna("(none logged)").astype(str)
    return out


def accrued(
    start: pd.Series, end: pd.Series, amount: pd.Series, at: pd.DatetimeIndex
) -> np.ndarray:
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
