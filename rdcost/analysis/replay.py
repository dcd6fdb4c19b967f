"""Replay a project's job trace on a cluster of N owned GPUs.

Owning N GPUs means a job waits when more than N are wanted at once. This
module re-runs the logged trace (submit time, GPUs, run time of every job)
on such a cluster and reports what the project would have looked like: how
long it would have taken, how long jobs would have waited, how busy the
GPUs would have been.

Scheduling policy (the usual baseline of batch schedulers):

- **First come, first served.** Jobs queue in order of submit time (ties in
  input order). The job at the head of the queue starts as soon as enough
  GPUs are free.
- **EASY backfill.** When the head cannot start, it gets a reservation: the
  *shadow time*, the earliest time at which enough GPUs will be free for it,
  given the running jobs' estimated end times. A later job may jump ahead
  ("backfill") if it fits in the GPUs free now and either ends (by its
  estimate) before the shadow time, or uses only GPUs the head will not need
  at the shadow time (the *extra* GPUs). Among the eligible jobs the one
  submitted first goes first; this repeats until none fits. Backfill can
  therefore never delay the head job.
- **Run-time estimates.** By default each job's own logged run time is its
  estimate (a scheduler with perfect estimates: optimistic, it backfills as
  well as backfill can). ``estimate_s`` may carry other estimates, such as
  the jobs' time limits (``trace_from_jobs(..., estimate="timelimit")``);
  a job still ends at its logged run time, whatever its estimate.
- GPUs are one pool: nodes, GPU types and CPUs are not modelled, so a
  multi-GPU job can take GPUs "from several servers".

Cost: every job is queued and started once, and each scheduling decision is
a heap operation, a walk over the few running jobs that free the head's
GPUs, or a descent of a segment tree (one tree per distinct GPU count,
holding the queued jobs' estimates): O(n log n) for n jobs, times the number
of distinct GPU counts in the trace (a handful in practice).

Jobs that cannot be replayed are left out and counted (never silently):
never started, unknown run time, unknown GPU count, no GPU, and jobs that
ask for more GPUs than the cluster has (they could never run on it).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rdcost import progress
from rdcost.analysis.linking import compute_jobs
from rdcost.errors import UsageError

S_PER_HOUR = 3_600
S_PER_DAY = 86_400
#: Tolerance for comparing GPU amounts (fractional MIG slices are floats).
_GPU_EPS = 1e-9

#: How a job's run time is estimated by the scheduler (see the module doc).
ESTIMATES = ("elapsed", "timelimit")


@dataclass(frozen=True)
class Trace:
    """The part of a job table the replay needs, as plain arrays.

    Times are seconds since ``origin_time`` (the earliest submit time of a
    replayed job). ``n_jobs_*`` count the jobs left out, each once, in the
    order the fields are listed.
    """

    submit_s: np.ndarray
    n_gpus: np.ndarray
    duration_s: np.ndarray
    estimate_s: np.ndarray
    #: When each job really started (in the logs), seconds since origin.
    logged_start_s: np.ndarray
    origin_time: pd.Timestamp | None
    #: End of the logged project (latest end), seconds since origin.
    logged_end_s: float
    n_jobs_never_started: int = 0
    n_jobs_unknown_duration: int = 0
    n_jobs_unknown_gpus: int = 0
    n_jobs_without_gpu: int = 0
    #: Replayed jobs whose submit time was unknown: their start time was used.
    n_jobs_submit_from_start: int = 0
    estimate: str = "elapsed"

    @property
    def n_jobs(self) -> int:
        return int(self.submit_s.size)

    @property
    def gpu_hours(self) -> float:
        return float(np.sum(self.n_gpus * self.duration_s)) / S_PER_HOUR

    def exclusions(self) -> dict[str, int]:
        return {
            "n_jobs_never_started": self.n_jobs_never_started,
            "n_jobs_unknown_duration": self.n_jobs_unknown_duration,
            "n_jobs_unknown_gpus": self.n_jobs_unknown_gpus,
            "n_jobs_without_gpu": self.n_jobs_without_gpu,
        }


def trace_from_jobs(jobs: pd.DataFrame, estimate: str = "elapsed") -> Trace:
    """Build the replay trace from a job table (only ``compute_jobs`` rows).

    Run time is ``elapsed_s``, else ``end_time - start_time``. A job with no
    submit time (W&B/MLflow runs) is taken as submitted when it started.
    ``estimate="timelimit"`` uses each job's time limit as the scheduler's
    run-time estimate where it is known (else its run time).
    """
    if estimate not in ESTIMATES:
        raise UsageError(
            f"unknown run-time estimate {estimate!r}; choose one of: {', '.join(ESTIMATES)}"
        )
    jobs = compute_jobs(jobs)
    start = jobs["start_time"]
    never = start.isna().to_numpy()
    duration = jobs["elapsed_s"].astype("Float64")
    from_times = (jobs["end_time"] - start).dt.total_seconds().astype("Float64")
    duration = duration.fillna(from_times)
    no_duration = ~never & duration.isna().to_numpy()
    gpus = jobs["n_gpus"].astype("Float64")
    no_gpus = ~never & ~no_duration & gpus.isna().to_numpy()
    zero = ~never & ~no_duration & ~no_gpus & (gpus.fillna(0) == 0).to_numpy()
    keep = ~(never | no_duration | no_gpus | zero)

    submit = jobs["submit_time"]
    submit_missing = submit.isna().to_numpy() & keep
    submit = submit.where(submit.notna(), start)[keep]
    end = jobs["end_time"][keep]
    dur = duration[keep].to_numpy(dtype=float)
    if estimate == "timelimit":
        est = (
            jobs["timelimit_s"].astype("Float64")[keep].fillna(duration[keep]).to_numpy(dtype=float)
        )
    else:
        est = dur.copy()

    if keep.any():
        origin = submit.min()
        submit_s = (submit - origin).dt.total_seconds().to_numpy(dtype=float)
        logged_start_s = (start[keep] - origin).dt.total_seconds().to_numpy(dtype=float)
        end_s = logged_start_s + dur
        known_end = end.notna().to_numpy()
        if known_end.any():
            end_s = np.where(
                known_end,
                (end - origin).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan),
                end_s,
            )
        logged_end_s = float(np.nanmax(end_s))
    else:
        origin = None
        submit_s = np.empty(0)
        logged_start_s = np.empty(0)
        logged_end_s = 0.0
    return Trace(
        submit_s=submit_s,
        n_gpus=gpus[keep].to_numpy(dtype=float),
        duration_s=dur,
        estimate_s=est,
        logged_start_s=logged_start_s,
        origin_time=origin,
        logged_end_s=logged_end_s,
        n_jobs_never_started=int(never.sum()),
        n_jobs_unknown_duration=int(no_duration.sum()),
        n_jobs_unknown_gpus=int(no_gpus.sum()),
        n_jobs_without_gpu=int(zero.sum()),
        n_jobs_submit_from_start=int(submit_missing.sum()),
        estimate=estimate,
    )


# -- the simulation ------------------------------------------------------------


class _MinTree:
    """Segment tree over a fixed list of slots: set a slot, find the leftmost
    slot whose value is <= a bound. Empty slots hold +inf."""

    __slots__ = ("size", "t")

    def __init__(self, n: int):
        size = 1
        while size < n:
            size *= 2
        self.size = size
        self.t = [np.inf] * (2 * size)

    def insert(self, slot: int, value: float) -> None:
        t = self.t
        i = slot + self.size
        t[i] = value
        i >>= 1
        while i and t[i] > value:
            t[i] = value
            i >>= 1

    def clear(self, slot: int) -> None:
        t = self.t
        i = slot + self.size
        t[i] = np.inf
        i >>= 1
        while i:
            m = t[2 * i] if t[2 * i] < t[2 * i + 1] else t[2 * i + 1]
            if t[i] == m:
                break
            t[i] = m
            i >>= 1

    def leftmost_at_most(self, bound: float) -> int:
        """Leftmost slot with value <= bound, or -1."""
        t = self.t
        if not t[1] <= bound:
            return -1
        i = 1
        size = self.size
        while i < size:
            i *= 2
            if not t[i] <= bound:
                i += 1
        return i - size


def replay(
    submit_s: np.ndarray,
    n_gpus: np.ndarray,
    duration_s: np.ndarray,
    capacity_gpus: float,
    estimate_s: np.ndarray | None = None,
) -> np.ndarray:
    """Start time (seconds, same origin as ``submit_s``) of every job on a
    cluster of ``capacity_gpus`` GPUs under FCFS + EASY backfill.

    Jobs asking for more than ``capacity_gpus`` GPUs never run: their start
    is NaN. ``estimate_s`` (default: ``duration_s``) is what the scheduler
    believes each job's run time to be.

    Long on purpose: the event loop, ``launch`` and the backfill step share a dozen local
    variables; split into functions, the hot loop pays calls and lookups (1M jobs: 2.7 s).
    """
    submit_s, n_gpus, duration_s, estimate_s = _checked_trace(
        submit_s, n_gpus, duration_s, capacity_gpus, estimate_s
    )
    n = submit_s.size

    start_out = np.full(n, np.nan)
    fits = n_gpus <= capacity_gpus + _GPU_EPS
    idx = np.flatnonzero(fits)
    order = idx[np.argsort(submit_s[idx], kind="stable")]
    m = order.size
    if m == 0:
        return start_out
    sub = submit_s[order].tolist()
    gp = n_gpus[order].tolist()
    dur = duration_s[order].tolist()
    est = estimate_s[order].tolist()
    same_estimates = estimate_s is duration_s or np.array_equal(
        estimate_s[order], duration_s[order]
    )

    # Distinct GPU counts ("classes"), ascending; each class keeps its jobs in
    # queue order, a pointer to its first job not yet started, and a tree.
    cls_vals, cls_of = np.unique(n_gpus[order], return_inverse=True)
    n_cls = cls_vals.size
    cls_vals = cls_vals.tolist()
    cls_of_l = cls_of.tolist()
    members = [np.flatnonzero(cls_of == c).tolist() for c in range(n_cls)]
    slot = np.empty(m, dtype=np.int64)
    for c in range(n_cls):
        slot[members[c]] = np.arange(len(members[c]))
    slot_l = slot.tolist()
    trees = [_MinTree(len(members[c])) for c in range(n_cls)]
    cls_ptr = [0] * n_cls
    min_cls = cls_vals[0]

    started = [False] * m
    start = [0.0] * m
    running: list[tuple[float, int]] = []  # (actual end, job)
    est_running: list[tuple[float, int]] = []  # (estimated end, job), lazily pruned
    finished = [False] * m
    free = float(capacity_gpus)
    n_arrived = 0  # jobs 0..n_arrived-1 have been submitted
    n_in_trees = 0  # jobs 0..n_in_trees-1 were offered to the trees
    head = 0  # first job not yet started
    push, pop = heapq.heappush, heapq.heappop
    inf = np.inf

    def launch(j: int, t: float) -> None:
        nonlocal free
        started[j] = True
        start[j] = t
        free -= gp[j]
        push(running, (t + dur[j], j))
        if not same_estimates:
            push(est_running, (t + est[j], j))
        if j < n_in_trees:
            trees[cls_of_l[j]].clear(slot_l[j])

    while n_arrived < m or running:
        t = sub[n_arrived] if n_arrived < m else inf
        if running and running[0][0] <= t:
            t = running[0][0]
        while running and running[0][0] <= t:
            _, j = pop(running)
            free += gp[j]
            finished[j] = True
        if not running:
            free = float(capacity_gpus)  # no drift from fractional GPUs
        while n_arrived < m and sub[n_arrived] <= t:
            n_arrived += 1

        # First come, first served.
        while head < n_arrived:
            if started[head]:
                head += 1
                continue
            if gp[head] <= free + _GPU_EPS:
                launch(head, t)
                head += 1
                continue
            break
        if head >= n_arrived or free + _GPU_EPS < min_cls:
            continue

        # The head is blocked: its shadow time and the extra GPUs.
        need = gp[head] - free
        heap = running if same_estimates else est_running
        taken = []
        got = 0.0
        shadow = inf
        while heap:
            e = pop(heap)
            if not same_estimates and finished[e[1]]:
                continue
            taken.append(e)
            got += gp[e[1]]
            if got + _GPU_EPS >= need:
                shadow = e[0] if e[0] > t else t
                while heap and heap[0][0] <= shadow:
                    e = pop(heap)
                    if not same_estimates and finished[e[1]]:
                        continue
                    taken.append(e)
                    got += gp[e[1]]
                break
        for e in taken:
            push(heap, e)
        if shadow == inf:  # only rounding of fractional GPUs can get here
            shadow = max(e[0] for e in taken) if taken else t
        shadow = max(shadow, t)
        extra = free + got - gp[head]
        window = shadow - t

        # Offer the newly arrived jobs to the trees (only now: a job that
        # started on arrival never needs a tree).
        while n_in_trees < n_arrived:
            j = n_in_trees
            if not started[j]:
                trees[cls_of_l[j]].insert(slot_l[j], est[j])
            n_in_trees += 1

        # EASY backfill: the earliest-submitted job that fits and cannot delay
        # the head, again and again.
        while True:
            best = -1
            for c in range(n_cls):
                g = cls_vals[c]
                if g > free + _GPU_EPS:
                    break
                if g <= extra + _GPU_EPS:
                    mem = members[c]
                    p = cls_ptr[c]
                    while p < len(mem) and started[mem[p]]:
                        p += 1
                    cls_ptr[c] = p
                    j = mem[p] if p < len(mem) and mem[p] < n_arrived else -1
                else:
                    s = trees[c].leftmost_at_most(window)
                    j = members[c][s] if s >= 0 else -1
                if j >= 0 and (best < 0 or j < best):
                    best = j
            if best < 0:
                break
            launch(best, t)
            if est[best] > window:
                extra -= gp[best]

    start_out[order] = start
    return start_out


def _checked_trace(
    submit_s: np.ndarray,
    n_gpus: np.ndarray,
    duration_s: np.ndarray,
    capacity_gpus: float,
    estimate_s: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The trace of :func:`replay` as float arrays (``estimate_s`` defaults to
    ``duration_s``, the same object), or the error that it cannot be replayed."""
    submit_s = np.asarray(submit_s, dtype=float)
    n_gpus = np.asarray(n_gpus, dtype=float)
    duration_s = np.asarray(duration_s, dtype=float)
    estimate_s = duration_s if estimate_s is None else np.asarray(estimate_s, dtype=float)
    n = submit_s.size
    if not (n_gpus.size == duration_s.size == estimate_s.size == n):
        raise ValueError("submit_s, n_gpus, duration_s and estimate_s must have the same length")
    if not capacity_gpus > 0:
        raise UsageError(f"a cluster needs at least one GPU, got {capacity_gpus!r}")
    for name, arr in (
        ("submit_s", submit_s),
        ("n_gpus", n_gpus),
        ("duration_s", duration_s),
        ("estimate_s", estimate_s),
    ):
        if n and not np.isfinite(arr).all():
            raise ValueError(
                f"{name} has NaN or infinite values: build traces with trace_from_jobs"
            )
    if n and ((n_gpus <= 0).any() or (duration_s < 0).any() or (estimate_s < 0).any()):
        raise ValueError("n_gpus must be > 0 and run times >= 0")
    return submit_s, n_gpus, duration_s, estimate_s


# -- summaries -------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayStats:
    """What owning ``n_gpus`` GPUs would have meant for the project."""

    n_gpus: float
    n_jobs_replayed: int
    #: Jobs asking for more GPUs than the cluster has: they never run.
    n_jobs_too_large: int
    duration_days: float
    mean_wait_hours: float
    p95_wait_hours: float
    max_wait_hours: float
    utilization: float
    gpu_hours: float


def replay_stats(trace: Trace, capacity_gpus: float) -> ReplayStats:
    """Replay ``trace`` on ``capacity_gpus`` GPUs and summarize it.

    duration = first submit to last end of the replayed jobs; wait = start -
    submit (95th percentile by linear interpolation); utilization = GPU-hours
    run / (GPUs x duration). Jobs too large for the cluster are left out of
    all of these. Unknown (no job replayed) is NaN.
    """
    start = replay(
        trace.submit_s,
        trace.n_gpus,
        trace.duration_s,
        capacity_gpus,
        None if trace.estimate == "elapsed" else trace.estimate_s,
    )
    ran = ~np.isnan(start)
    n_ran = int(ran.sum())
    if n_ran == 0:
        nan = float("nan")
        return ReplayStats(float(capacity_gpus), 0, int(trace.n_jobs), nan, nan, nan, nan, nan, 0.0)
    wait_h = (start[ran] - trace.submit_s[ran]) / S_PER_HOUR
    span_s = float(np.max(start[ran] + trace.duration_s[ran]) - np.min(trace.submit_s[ran]))
    gpu_s = float(np.sum(trace.n_gpus[ran] * trace.duration_s[ran]))
    return ReplayStats(
        n_gpus=float(capacity_gpus),
        n_jobs_replayed=n_ran,
        n_jobs_too_large=int(trace.n_jobs - n_ran),
        duration_days=span_s / S_PER_DAY,
        mean_wait_hours=float(np.mean(wait_h)),
        p95_wait_hours=float(np.percentile(wait_h, 95)),
        max_wait_hours=float(np.max(wait_h)),
        utilization=gpu_s / (capacity_gpus * span_s) if span_s > 0 else float("nan"),
        gpu_hours=gpu_s / S_PER_HOUR,
    )


def sweep(trace: Trace, gpu_counts) -> pd.DataFrame:
    """``replay_stats`` for each cluster size, one row each (sorted by size)."""
    counts = sorted({float(c) for c in gpu_counts})
    if not counts:
        raise UsageError("no cluster sizes to replay")
    rows = []
    with progress.task("replaying the jobs", total=len(counts)) as t:
        for c in counts:
            rows.append(replay_stats(trace, c).__dict__)
            t.advance(what=f"{c:g} GPUs")
    return pd.DataFrame(rows)


#: Cluster sizes replayed by default, as multiples of the mean demand.
DEFAULT_SIZE_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)


def default_gpu_counts(trace: Trace) -> list[int]:
    """Cluster sizes worth replaying: 0.5, 0.75, 1, 1.25, 1.5, 2 and 3 times
    the mean demand (GPU-hours over the logged span, first submit to last
    end) and the peak demand (the most GPUs wanted at once if every job
    started when submitted: above it nothing waits), rounded to whole GPUs;
    none below the largest job (it could never run) nor above the peak."""
    if trace.n_jobs == 0:
        return []
    largest = int(np.ceil(np.max(trace.n_gpus) - _GPU_EPS))
    peak = max(
        largest,
        int(np.ceil(peak_concurrency(trace.submit_s, trace.duration_s, trace.n_gpus) - _GPU_EPS)),
    )
    span_h = trace.logged_end_s / S_PER_HOUR
    mean = trace.gpu_hours / span_h if span_h > 0 else float(peak)
    counts = {min(peak, max(largest, int(np.floor(f * mean + 0.5)))) for f in DEFAULT_SIZE_FACTORS}
    return sorted(counts | {peak})


def peak_concurrency(start_s: np.ndarray, duration_s: np.ndarray, n_gpus: np.ndarray) -> float:
    """Most GPUs in use at once (a job ending at t frees its GPUs for one
    starting at t). Jobs with a NaN start are ignored."""
    ok = ~np.isnan(start_s)
    k = int(ok.sum())
    times = np.concatenate([start_s[ok] + duration_s[ok], start_s[ok]])
    delta = np.concatenate([-n_gpus[ok], n_gpus[ok]])
    ends_first = np.concatenate([np.zeros(k), np.ones(k)])
    o = np.lexsort((ends_first, times))
    return float(np.max(np.cumsum(delta[o]), initial=0.0))
