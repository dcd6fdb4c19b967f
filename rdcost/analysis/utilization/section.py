"""The summary's ``utilization`` object (docs/summary-json.md) from the partitions'
:class:`~rdcost.analysis.utilization.partial.UtilPartial`: coverage, the three rows (GPUs at
0%, jobs below the threshold, unused GPUs of multi-GPU jobs) with cost, energy and CO2e,
and the top users, grid searches and jobs.

Unknown is never 0: with no utilisation logged for any job with GPU time, every waste figure
is null and ``status`` is ``unknown``; the share of the GPU-hours with utilisation logged
always says what the figures rest on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.summary.exact import exact_float
from rdcost.analysis.utilization.groups import Grouped, grouped, merge, ranked, value
from rdcost.analysis.utilization.partial import (
    JOB_COLUMNS,
    LIST_COUNTS,
    LIST_VALUES,
    ROWS,
    TOP,
    UtilPartial,
)
from rdcost.plural import plural

#: The order of the lists: idle or under-used GPU-hours, then GPU-hours at 0%.
RANK_BY = ("util_waste_gpu_hours", "zero_util_gpu_hours")
NOTHING_LOGGED = "no GPU utilisation logged for any job: utilisation waste unknown"


@dataclass
class Searches:
    """What the combine step knows of the grid searches: per row of the partitions in
    partition order (``offsets``: each partition's first row) its search code (-1: none),
    and per code its id, jobs and GPU-hours (NaN: a job of unknown GPU-hours)."""

    label: np.ndarray
    names: list[str]
    n_jobs: np.ndarray
    gpu_hours: np.ndarray
    offsets: dict[int, int]


def utilization_section(
    parts: Sequence[UtilPartial | None],
    threshold_percent: float,
    gh_total: float | None,
    searches: Searches | None,
    columns: Sequence[str],
) -> dict[str, Any]:
    """The ``utilization`` object (see the module doc)."""
    ps = sorted((p for p in parts if p is not None), key=lambda p: p.part)
    cnt: dict[str, int] = {}
    for p in ps:
        for k, v in p.counts.items():
            cnt[k] = cnt.get(k, 0) + v
    ex = {
        k: exact_float(sum(p.exact.get(k, 0) for p in ps))
        for k in ("gh_logged", "gh_mean_known", "gh_x_util", "gh_multi_logged")
    }
    n_logged = cnt.get("n_logged", 0)
    known = n_logged > 0
    gh_all = gh_total if gh_total is not None else None
    gh_logged = ex["gh_logged"]
    out: dict[str, Any] = {
        "status": "computed" if known else "unknown",
        "threshold_percent": threshold_percent,
        "n_jobs_with_gpu_time": cnt.get("n_use", 0),
        "gpu_hours": gh_all,
        "n_jobs_util_logged": n_logged,
        "util_logged_gpu_hours": gh_logged,
        "util_logged_share_of_gpu_hours": gh_logged / gh_all if gh_all else None,
        "n_jobs_util_unknown": cnt.get("n_use", 0) - n_logged,
        "util_unknown_gpu_hours": None if gh_all is None else max(gh_all - gh_logged, 0.0),
        "mean_util_percent": ex["gh_x_util"] / ex["gh_mean_known"]
        if ex["gh_mean_known"] > 0
        else None,
        "by_source": _by_source(ps, gh_logged),
    }
    for row in ROWS:
        out[row] = _row(row, ps, cnt, columns, gh_logged, known)
    per_gpu = cnt.get("n_multi_logged", 0) > 0
    out["unused_gpus"].update(
        n_jobs_multi_gpu=cnt.get("n_multi", 0),
        n_jobs_multi_gpu_per_gpu_logged=cnt.get("n_multi_logged", 0),
        per_gpu_logged_gpu_hours=ex["gh_multi_logged"],
        n_gpus_allocated=cnt.get("n_gpus_multi_logged", 0) if per_gpu else None,
        n_gpus_unused=cnt.get("n_gpus_unused", 0) if per_gpu else None,
    )
    if not per_gpu:  # no multi-GPU job with per-GPU values: unused GPUs unknown, not 0
        for k in ("n_jobs", *columns, "share_of_util_logged_gpu_hours"):
            out["unused_gpus"][k] = None
    users = merge([p.users for p in ps])
    out["by_user"], out["n_users_with_util_waste"] = _listed(users, "user", known)
    out["by_search"], out["n_searches_with_util_waste"] = _search_list(ps, searches, known)
    out["top_jobs"], out["n_jobs_with_util_waste"] = _top_jobs(ps, known)
    out["list_limit"] = TOP
    out["note"] = _note(out)
    return out


def _row(
    row: str,
    ps: Sequence[UtilPartial],
    cnt: dict[str, int],
    columns: Sequence[str],
    gh_logged: float,
    known: bool,
) -> dict[str, Any]:
    """One row of the table, like a waste row: jobs, GPU-hours, money, energy, CO2e."""
    r: dict[str, Any] = {"row": row, "n_jobs": cnt.get(f"n_{row}", 0) if known else None}
    for c in columns:
        total = sum(p.sums[row][c] for p in ps)
        unknown = sum(p.nans[row][c] for p in ps)
        r[c] = None if not known or (total == 0 and unknown) else exact_float(total)
    gh = r.get("gpu_hours")
    r["share_of_util_logged_gpu_hours"] = (
        gh / gh_logged if gh is not None and gh_logged > 0 else None
    )
    return r


def _by_source(ps: Sequence[UtilPartial], gh_logged: float) -> list[dict[str, Any]]:
    acc: dict[str, list[int]] = {}
    for p in ps:
        for s, (n, gh) in p.by_source.items():
            a = acc.setdefault(s, [0, 0])
            a[0] += n
            a[1] += gh
    rows = [
        {
            "source": s,
            "n_jobs": n,
            "gpu_hours": exact_float(gh),
            "share_of_util_logged_gpu_hours": exact_float(gh) / gh_logged
            if gh_logged > 0
            else None,
        }
        for s, (n, gh) in acc.items()
    ]
    return sorted(rows, key=lambda r: (-r["gpu_hours"], r["source"]))


def _list_row(g: Grouped, name: str, key: str) -> dict[str, Any]:
    r: dict[str, Any] = {key: name}
    for c in LIST_COUNTS:
        r[c] = g.counts[name][c]
    for c in LIST_VALUES:
        r[c] = value(g, name, c)
    gh, lg = r["gpu_hours"], r["util_logged_gpu_hours"]
    r["util_logged_share_of_gpu_hours"] = lg / gh if gh and lg is not None else None
    return r


def _listed(g: Grouped, key: str, known: bool) -> tuple[list[dict[str, Any]], int | None]:
    if not known:
        return [], None
    names, n = ranked(g, RANK_BY, TOP)
    return [_list_row(g, name, key) for name in names], n


def _search_list(
    ps: Sequence[UtilPartial], s: Searches | None, known: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """Per grid search, from the logged rows that may be in one (their search is known
    only now); its jobs and GPU-hours are all of its jobs'."""
    if not known:
        return [], None
    if s is None or not len(s.names):
        return [], 0
    frames = []
    for p in ps:
        if p.rows is None or not len(p.rows) or p.part not in s.offsets:
            continue
        f = p.rows
        frames.append(f.assign(label=s.label[s.offsets[p.part] + f["pos"].to_numpy()]))
    if not frames:
        return [], 0
    rows = pd.concat(frames, ignore_index=True)
    g = grouped(
        rows["label"].to_numpy(dtype=np.int64),
        s.names,
        {c: rows[c].to_numpy(dtype=bool) for c in LIST_COUNTS},
        {c: rows[c].to_numpy(dtype=float) for c in LIST_VALUES},
    )
    names, n = ranked(g, RANK_BY, TOP)
    index = {name: i for i, name in enumerate(s.names)}
    out = []
    for name in names:
        r = _list_row(g, name, "search_id")
        i = index[name]
        r["n_jobs"] = int(s.n_jobs[i])
        r["gpu_hours"] = None if np.isnan(s.gpu_hours[i]) else float(s.gpu_hours[i])
        gh, lg = r["gpu_hours"], r["util_logged_gpu_hours"]
        r["util_logged_share_of_gpu_hours"] = lg / gh if gh and lg is not None else None
        out.append(r)
    return out, n


def _top_jobs(ps: Sequence[UtilPartial], known: bool) -> tuple[list[dict[str, Any]], int | None]:
    if not known:
        return [], None
    n = sum(p.counts.get("n_util_waste", 0) for p in ps)  # jobs of the util_waste row
    tops = [p.top for p in ps if p.top is not None and len(p.top)]
    if not tops:
        return [], n
    t = pd.concat(tops, ignore_index=True)
    t = t.assign(_b=-t["util_waste_gpu_hours"], _z=-t["zero_util_gpu_hours"])
    t = t.sort_values(["_b", "_z", "job_id", "first"], kind="stable").head(TOP)
    cols = [*JOB_COLUMNS, *LIST_VALUES]
    return [{c: r[c] for c in cols} for r in t.to_dict("records")], n


def _note(u: dict[str, Any]) -> str:
    """What the figures rest on, in a sentence."""
    if u["status"] == "unknown":
        return NOTHING_LOGGED
    share = u["util_logged_share_of_gpu_hours"]
    text = (
        f"utilisation logged for {plural(u['n_jobs_util_logged'], 'job')} of the "
        f"{u['n_jobs_with_gpu_time']:,} with GPU time"
    )
    if share is not None:
        text += f", {100 * share:.1f}% of the GPU-hours"
    if u["n_jobs_util_unknown"]:
        text += "; the rest is unknown, not counted as used or idle"
    return text
