"""What one partition of the summary keeps of its jobs' utilisation: exact sums of the
GPU time (and its cost, energy and CO2e) at 0%, below the threshold and on unused GPUs of
multi-GPU jobs; coverage (jobs and GPU-hours with utilisation logged, per source); the
same per user (:mod:`.groups`); the logged rows that may be in a grid search (the searches
are known only once every partition is merged); and the partition's top jobs.

Which jobs count: those every total counts (they ran, plausible) with known GPU time above
0 (:func:`rdcost.analysis.summary.partial.counted_jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rdcost.analysis.summary.exact import exact_sums
from rdcost.analysis.utilization.groups import Grouped, grouped

#: The rows of the utilization table, each summed like a waste row: GPUs at 0%, jobs below
#: the threshold, unused GPUs of multi-GPU jobs (part of the first), and the GPU time in
#: the first or the second, each GPU-hour once (``util_waste``).
ROWS = ("zero_util", "below_threshold", "unused_gpus", "util_waste")
#: Money, energy and CO2e kept per user, search and job, of their ``util_waste``.
LIST_MONEY = ("cloud_usd_low", "cloud_usd_high", "energy_kwh", "co2e_kg")
#: The values of a list row (a user, a search, a job), in order.
LIST_VALUES = (
    "gpu_hours",
    "util_logged_gpu_hours",
    "zero_util_gpu_hours",
    "below_threshold_gpu_hours",
    *(f"util_waste_{c}" for c in ("gpu_hours", *LIST_MONEY)),
)
LIST_COUNTS = (
    "n_jobs",
    "n_jobs_util_logged",
    "n_jobs_zero_util",
    "n_jobs_below_threshold",
    "n_jobs_util_waste",
)
#: Jobs kept per partition for the top jobs (the summary lists as many).
TOP = 10
#: Columns of a top job.
JOB_COLUMNS = (
    "job_id",
    "source",
    "user",
    "state",
    "n_gpus",
    "n_gpus_unused",
    "util_percent",
    "util_source",
    "elapsed_hours",
)
POS_BITS = 40


@dataclass
class UtilPartial:
    """One partition's share of the utilization waste (see the module doc)."""

    part: int
    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, dict[str, int]] = field(default_factory=dict)  # row -> column -> exact sum
    nans: dict[str, dict[str, int]] = field(default_factory=dict)  # row -> column -> n unknown
    exact: dict[str, int] = field(default_factory=dict)  # coverage sums (exact)
    by_source: dict[str, list[int]] = field(default_factory=dict)  # source -> n, gh (exact)
    users: Grouped = field(default_factory=Grouped)
    rows: pd.DataFrame | None = None  # logged rows that may be in a search: pos + LIST_*
    top: pd.DataFrame | None = None  # the partition's top jobs: JOB_COLUMNS + LIST_VALUES


def _f(cj: pd.DataFrame, name: str) -> np.ndarray:
    if name not in cj:
        return np.full(len(cj), np.nan)
    return pd.to_numeric(cj[name], errors="coerce").astype("float64").to_numpy()


def _text(cj: pd.DataFrame, name: str, missing: str | None = None) -> np.ndarray:
    if name not in cj:
        return np.full(len(cj), missing, dtype=object)
    s = cj[name].astype("string")
    return s.astype(object).where(s.notna(), missing).to_numpy(dtype=object)


def util_partial(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    counted: np.ndarray,
    columns: tuple[str, ...],
    search_candidate: np.ndarray,
    part: int = 0,
) -> UtilPartial:
    """The partition's share (see the module doc); ``columns``: the job costs' sum columns
    (GPU-hours, money, impact and their ranges); ``search_candidate``: rows that may be in
    a grid search."""
    p = UtilPartial(part=part)
    gh = costs["gpu_hours"].to_numpy(dtype=float)
    use = counted & (gh > 0)
    logged = use & costs["util_logged"].to_numpy(dtype=bool)
    zero = np.nan_to_num(costs["zero_util_fraction"].to_numpy(dtype=float))
    below = costs["is_below_util_threshold"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    below &= logged
    unused = costs["unused_gpu_fraction"].to_numpy(dtype=float)
    multi = use & (_f(cj, "n_gpus") > 1)
    multi_logged = multi & ~np.isnan(unused)
    util = _f(cj, "gpu_util_percent")
    mean_known = logged & ~np.isnan(util)
    n_gpus, n_unused = _f(cj, "n_gpus"), _f(cj, "n_gpus_unused")
    share = {
        "zero_util": np.where(logged, zero, 0.0),
        "below_threshold": below.astype(float),
        "unused_gpus": np.where(multi_logged, unused, 0.0),
    }
    share["util_waste"] = np.where(below, 1.0, share["zero_util"])
    for row, f in share.items():
        on = use & (f > 0)
        p.sums[row], p.nans[row] = {}, {}
        for c in columns:
            v = (gh if c == "gpu_hours" else costs[c].to_numpy(dtype=float))[on] * f[on]
            bad = np.isnan(v)
            p.sums[row][c] = exact_sums(np.where(bad, 0.0, v))[0]
            p.nans[row][c] = int(bad.sum())
        p.counts[f"n_{row}"] = int(on.sum())
    p.counts.update(
        n_use=int(use.sum()),
        n_logged=int(logged.sum()),
        n_mean_known=int(mean_known.sum()),
        n_multi=int(multi.sum()),
        n_multi_logged=int(multi_logged.sum()),
        n_gpus_multi_logged=int(np.nansum(n_gpus[multi_logged])),
        n_gpus_unused=int(np.nansum(n_unused[multi_logged])),
    )
    p.exact = {
        "gh_logged": exact_sums(gh[logged])[0],
        "gh_mean_known": exact_sums(gh[mean_known])[0],
        "gh_x_util": exact_sums(gh[mean_known] * util[mean_known])[0],
        "gh_multi_logged": exact_sums(gh[multi_logged])[0],
    }
    src = _text(cj, "gpu_metrics_source", "(source not recorded)")
    for s in pd.unique(src[logged]):
        m = logged & (src == s)
        p.by_source[str(s)] = [int(m.sum()), exact_sums(gh[m])[0]]
    counts, values = _list_values(costs, gh, use, logged, share)
    users = _text(cj, "user", "(no user logged)")
    codes, names = pd.factorize(pd.Series(users[use], dtype=object))
    p.users = grouped(
        codes,
        [str(x) for x in names],
        {k: m[use] for k, m in counts.items()},
        {k: v[use] for k, v in values.items()},
    )
    keep = logged & search_candidate
    p.rows = pd.DataFrame(
        {
            "pos": np.flatnonzero(keep),
            **{k: m[keep] for k, m in counts.items()},
            **{k: v[keep] for k, v in values.items()},
        }
    )
    p.top = _top(cj, costs, util, n_gpus, n_unused, use, values, part)
    return p


def _list_values(
    costs: pd.DataFrame,
    gh: np.ndarray,
    use: np.ndarray,
    logged: np.ndarray,
    share: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per job: the LIST_COUNTS masks and LIST_VALUES (NaN: unknown)."""
    counts = {
        "n_jobs": use,
        "n_jobs_util_logged": logged,
        **{
            f"n_jobs_{r}": use & (share[r] > 0)
            for r in ("zero_util", "below_threshold", "util_waste")
        },
    }
    values = {
        "gpu_hours": np.where(use, gh, 0.0),
        "util_logged_gpu_hours": np.where(logged, gh, 0.0),
    }
    for row in ("zero_util", "below_threshold", "util_waste"):
        f, on = share[row], counts[f"n_jobs_{row}"]
        values[f"{row}_gpu_hours"] = np.where(on, gh * f, 0.0)
    f, on = share["util_waste"], counts["n_jobs_util_waste"]
    for c in LIST_MONEY:
        values[f"util_waste_{c}"] = np.where(on, costs[c].to_numpy(dtype=float) * f, 0.0)
    return counts, values


def _top(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    util: np.ndarray,
    n_gpus: np.ndarray,
    n_unused: np.ndarray,
    use: np.ndarray,
    values: dict[str, np.ndarray],
    part: int,
) -> pd.DataFrame:
    """The partition's :data:`TOP` jobs with the most idle or under-used GPU-hours, then at
    0% (ties: by job id), with what the summary lists of them."""
    w, zr = values["util_waste_gpu_hours"], values["zero_util_gpu_hours"]
    rows = np.flatnonzero(use & (w > 0))
    if len(rows) > TOP:  # the TOP largest and every job tied with the last of them
        kth = -np.partition(-w[rows], TOP - 1)[TOP - 1]
        rows = rows[w[rows] >= kth]
    job_id = _text(cj.iloc[rows], "job_id", "").astype(str)
    r = rows[np.lexsort((job_id, -zr[rows], -w[rows]))[:TOP]]
    top = cj.iloc[r]
    elapsed = costs["elapsed_s"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "job_id": _text(top, "job_id", ""),
            "source": _text(top, "source"),
            "user": _text(top, "user"),
            "state": _text(top, "state"),
            "n_gpus": n_gpus[r],
            "n_gpus_unused": n_unused[r],
            "util_percent": util[r],
            "util_source": _text(top, "gpu_metrics_source"),
            "elapsed_hours": elapsed[r] / 3600.0,
            **{k: values[k][r] for k in LIST_VALUES},
            "first": (part << POS_BITS) | r,
        }
    )
