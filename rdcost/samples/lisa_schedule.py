"""When and where the jobs of :mod:`rdcost.samples.lisa` ran: submission and start
times, the calendar, GPU types, Slurm job ids and nodes."""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd

from rdcost.samples.lisa import END_EXTRA_S, FIRST_START, M40_SHARE, SPAN_S, UNIT_SEPARATION_S, H


def relative_times(rng, jobs: pd.DataFrame) -> pd.DataFrame:
    """Submit and start of every job in seconds from its unit's first submission.

    Loops of sbatch submit a job every second or two (sometimes in two batches
    minutes apart); array tasks share one submission and start as the queue and
    the throttle (``%N``) let them; sessions submit a few jobs minutes apart.
    """
    n = len(jobs)
    wait = np.minimum(np.round(np.exp(rng.normal(np.log(120), 1.4, n))), 12 * H)
    gaps = {
        "loop": rng.uniform(0.4, 2.5, n),
        "sweep": rng.uniform(0.4, 2.5, n),
        "debug": rng.uniform(8 * 60, 50 * 60, n),
        "eval": rng.uniform(60, 600, n),
    }
    other_gap = rng.uniform(1, 4, n)
    pause = rng.uniform(4 * 60, 25 * 60, n)
    is_pause = rng.random(n) < 0.3
    sched_delay = rng.uniform(5, 60, n)
    sub = np.zeros(n)
    start = np.zeros(n)
    kinds = jobs["kind"].to_numpy()
    elapsed = jobs["elapsed_s"].to_numpy()
    throttle = jobs["throttle"].fillna(0).to_numpy().astype(int)
    for idx in jobs.groupby("unit", sort=True).indices.values():
        kind = kinds[idx[0]]
        if kind == "array":
            w = np.sort(wait[idx]) + 20
            ends: list[float] = []
            prev = 0.0
            for j, i in enumerate(idx):
                t = max(w[j], prev)
                if throttle[i] and len(ends) == throttle[i]:
                    t = max(t, heapq.heappop(ends) + sched_delay[i])
                start[i] = prev = round(t)
                heapq.heappush(ends, start[i] + elapsed[i])
            continue
        g = gaps.get(kind, other_gap)[idx].copy()
        g[0] = 0
        if kind in ("loop", "sweep") and len(idx) > 8 and is_pause[idx[0]]:
            g[len(idx) // 2] += pause[idx[0]]
        sub[idx] = np.round(np.cumsum(g))
        start[idx] = sub[idx] + wait[idx]
    out = pd.DataFrame({"submit_rel": sub, "start_rel": start}, index=jobs.index)
    out["end_rel"] = out["start_rel"] + jobs["elapsed_s"]
    return out


def _draw_time(rng) -> float:
    """Seconds after FIRST_START: more work towards the deadline, in working hours."""
    hour_w = np.array([0.7] * 4 + [0.25] * 3 + [0.1] * 7 + [1.0] * 10)
    while True:
        x = -0.35 + np.sqrt(0.1225 + 1.7 * rng.random())
        day = int(x * SPAN_S // 86_400)
        if (FIRST_START + pd.Timedelta(days=day)).day_of_week >= 5 and rng.random() < 0.5:
            continue
        hour = rng.choice(24, p=hour_w / hour_w.sum())
        return day * 86_400 + hour * H + rng.uniform(0, H) - (FIRST_START.hour * H)


def place_units(rng, jobs: pd.DataFrame) -> pd.Series:
    """Absolute first-submission time (s after FIRST_START) of every unit."""
    units = jobs.groupby("unit", sort=True).agg(
        kind=("kind", "first"),
        user=("user", "first"),
        stem=("design_stem", "first"),
        origin=("origin_search", "first"),
        sub_first=("submit_rel", "min"),
        sub_last=("submit_rel", "max"),
        start_min=("start_rel", "min"),
        end_max=("end_rel", "max"),
    )
    resub = units["kind"] == "resubmit"
    # a search re-submitted later must leave room for its re-submissions
    by_origin = units[resub].groupby("origin")
    tail = (
        by_origin["end_max"].max() + 6 * H + (by_origin.size() - 1) * (UNIT_SEPARATION_S + H)
    ).reindex(units.index)
    units["need"] = np.fmax(units["end_max"], units["sub_last"] + tail)
    t0 = pd.Series(np.nan, index=units.index)
    opening = units.index[units["kind"] == "debug"][0]
    closing = units.index[units["kind"] == "final"][0]
    t0[opening] = -units.at[opening, "start_min"]
    t0[closing] = (SPAN_S + END_EXTRA_S) - units.at[closing, "end_max"]
    busy: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def free(key, a, b):
        return all(
            b + UNIT_SEPARATION_S < c or a - UNIT_SEPARATION_S > d for c, d in busy.get(key, [])
        )

    def book(u):
        if units.at[u, "kind"] != "array":
            busy.setdefault((units.at[u, "user"], units.at[u, "stem"]), []).append(
                (t0[u] + units.at[u, "sub_first"], t0[u] + units.at[u, "sub_last"])
            )

    book(opening)
    book(closing)
    order = list(units[~resub].sort_values("end_max", ascending=False, kind="stable").index)
    order += list(units[resub].index)
    latest = SPAN_S + END_EXTRA_S
    for u in order:
        if u in (opening, closing):
            continue
        key = (units.at[u, "user"], units.at[u, "stem"])
        for _ in range(5000):
            if units.at[u, "kind"] == "resubmit":
                o = units.at[u, "origin"]
                lo = t0[o] + units.at[o, "sub_last"] + 6 * H
                t = lo + rng.uniform(0, min(66 * H, latest - units.at[u, "need"] - lo))
            else:
                t = _draw_time(rng)
            if t < 2 * H or t + units.at[u, "need"] > latest:
                continue
            if units.at[u, "kind"] == "array" or free(key, t, t + units.at[u, "sub_last"]):
                t0[u] = round(t)
                book(u)
                break
        else:
            raise AssertionError(f"cannot place unit {u} ({units.at[u, 'kind']})")
    return t0


def assign_gpu_types(rng, jobs: pd.DataFrame) -> pd.Series:
    """Titan X or M40 per unit (a search runs on one partition), M40 until its share is reached."""
    hours = (jobs["elapsed_s"] * jobs["n_gpus"]).groupby(jobs["unit"], sort=True).sum() / H
    target = M40_SHARE * hours.sum()
    m40 = 0.0
    gpu = {}
    for u in rng.permutation(hours.index.to_numpy()):
        if m40 + hours[u] <= target:
            gpu[u] = "m40"
            m40 += hours[u]
        else:
            gpu[u] = "titanx"
    return jobs["unit"].map(gpu)


def assign_ids(rng, jobs: pd.DataFrame) -> pd.DataFrame:
    """Slurm job ids: one per submission, one per array task split off at its start
    (the last task to start keeps the array's own id), other users' jobs in between."""
    arr = (jobs["kind"] == "array").to_numpy()
    last_task = (
        arr & (jobs.groupby("unit")["start_rel"].transform("max") == jobs["start_rel"]).to_numpy()
    )
    last_task &= ~jobs.assign(_l=last_task).duplicated(["unit", "_l"]).to_numpy()
    first_of_array = arr & (jobs["task_index"] == 0).to_numpy()
    ev_time = np.concatenate(
        [
            jobs.loc[~arr, "submit_s"],
            jobs.loc[first_of_array, "submit_s"] - 0.5,
            jobs.loc[arr & ~last_task, "start_s"],
        ]
    )
    ev_row = np.concatenate(
        [np.flatnonzero(~arr), np.flatnonzero(first_of_array), np.flatnonzero(arr & ~last_task)]
    )
    ev_kind = np.concatenate(
        [np.zeros((~arr).sum()), np.ones(first_of_array.sum()), np.zeros((arr & ~last_task).sum())]
    )
    order = np.lexsort((ev_row, ev_time))
    dt = np.diff(ev_time[order], prepend=ev_time[order][0])
    ids = 1_984_112 + np.cumsum(1 + rng.poisson(np.maximum(dt, 0) / 20.0))
    raw = np.zeros(len(jobs), dtype=np.int64)
    master = np.zeros(len(jobs), dtype=np.int64)
    for i, row, k in zip(ids, ev_row[order], ev_kind[order], strict=True):
        if k == 1:
            master[jobs["unit"].to_numpy() == jobs["unit"].iat[row]] = i
        else:
            raw[row] = i
    raw[last_task] = master[last_task]
    out = pd.DataFrame({"job_id_raw": raw.astype(str)}, index=jobs.index)
    out["array_job_id"] = np.where(arr, master.astype(str), "")
    out["job_id"] = np.where(
        arr, out["array_job_id"] + "_" + jobs["task_index"].astype(str), out["job_id_raw"]
    )
    return out


#: GPU nodes of the shared cluster (4 GPUs each); other projects used them too.
NODES = {
    "titanx": [f"node{i:03d}" for i in range(1, 81)],
    "m40": [f"node{i:03d}" for i in range(101, 141)],
}


def assign_nodes(rng, jobs: pd.DataFrame) -> pd.Series:
    """A node per job with enough GPUs free at its start (4 GPU slots per node)."""
    nodes = pd.Series("", index=jobs.index, dtype=object)
    for gpu, names in NODES.items():
        free_at = np.full((len(names), 4), -np.inf)
        sel = jobs[jobs["gpu_type"] == gpu].sort_values(["start_s", "job_id_raw"], kind="stable")
        for i, s, e, k in zip(sel.index, sel["start_s"], sel["end_s"], sel["n_gpus"], strict=True):
            ok = np.flatnonzero((free_at <= s).sum(axis=1) >= k)
            if len(ok) == 0:
                raise AssertionError(f"no {gpu} node free at {s}")
            n = ok[int(rng.integers(len(ok)))]
            slots = np.flatnonzero(free_at[n] <= s)[:k]
            free_at[n, slots] = e
            nodes[i] = names[n]
    return nodes
