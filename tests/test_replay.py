"""The replay of a job trace on N GPUs (FCFS + EASY backfill).

Every expected start time below was worked out by hand from the policy in
rdcost/analysis/replay.py's docstring; the property test compares the fast replay
with a plain, quadratic re-statement of the same policy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdcost.analysis.replay import (
    default_gpu_counts,
    peak_concurrency,
    replay,
    replay_stats,
    sweep,
    trace_from_jobs,
)
from rdcost.errors import UsageError
from rdcost.jobtable.schema import conform


def starts(submit, gpus, duration, capacity, estimate=None):
    return replay(
        np.array(submit, float),
        np.array(gpus, float),
        np.array(duration, float),
        capacity,
        None if estimate is None else np.array(estimate, float),
    ).tolist()


# -- cases worked out by hand ---------------------------------------------------


def test_one_gpu_runs_jobs_one_after_another():
    # 1 GPU, three jobs submitted together: 0-10, 10-30, 30-60.
    assert starts([0, 0, 0], [1, 1, 1], [10, 20, 30], 1) == [0, 10, 30]


def test_one_gpu_sequential_submissions_never_wait():
    # Each job is submitted after the previous one ended: no wait.
    assert starts([0, 15, 40], [1, 1, 1], [10, 20, 5], 1) == [0, 15, 40]


def test_enough_gpus_nothing_waits():
    submit = [0, 3, 3, 7, 100]
    assert starts(submit, [2, 4, 1, 8, 3], [50, 60, 70, 80, 9], 18) == submit


def test_a_queue_builds_up_and_drains():
    # 2 GPUs, five 1-GPU jobs of 10 s submitted a second apart:
    # 0 and 1 start at once; 2 waits for 0 (t=10), 3 for 1 (t=11),
    # 4 for 2 (t=20). Waits 0, 0, 8, 8, 16.
    assert starts([0, 1, 2, 3, 4], [1] * 5, [10] * 5, 2) == [0, 1, 10, 11, 20]


def test_a_job_ending_frees_its_gpus_for_one_submitted_at_that_instant():
    assert starts([0, 10], [1, 1], [10, 5], 1) == [0, 10]


def test_ties_in_submit_time_keep_input_order():
    assert starts([5, 5, 5], [1, 1, 1], [1, 2, 3], 1) == [5, 6, 8]


def test_submit_order_not_input_order_decides():
    # Input lists the later submission first.
    assert starts([4, 0], [1, 1], [10, 10], 1) == [10, 0]


def test_backfill_a_short_job_before_the_head_reservation():
    # 4 GPUs. A (3 GPUs, 0-100) runs. B (4 GPUs) must wait for A: shadow 100.
    # C (1 GPU, 50 s) fits in the free GPU and ends at 52 <= 100: backfilled at 2.
    # D (1 GPU, 200 s) would end after 100 and there are no extra GPUs: waits.
    # B runs 100-150, then D starts at 150. (Plain FCFS would start C at 150.)
    assert starts([0, 1, 2, 3], [3, 4, 1, 1], [100, 50, 50, 200], 4) == [0, 100, 2, 150]


def test_backfill_a_long_job_on_gpus_the_head_does_not_need():
    # 4 GPUs. A (2, 0-100). B (3 GPUs) waits for A: at 100 there will be
    # 4 free, 1 more than B needs (extra = 1). C (1 GPU, 500 s) runs past
    # 100 but uses only the extra GPU: backfilled at 2. D (1 GPU) then has
    # neither extra GPUs nor a short run: waits. B runs 100-110; D starts at 110
    # (C still holds 1 GPU, 3 are free).
    assert starts([0, 1, 2, 3], [2, 3, 1, 1], [100, 10, 500, 1000], 4) == [0, 100, 2, 110]


def test_backfill_never_delays_the_head():
    # 2 GPUs. A (1, 0-10). B (2) waits until 10. C (1 GPU, 11 s) would end at
    # 13 > 10 and extra = 0: it must not start at 2, or B would wait until 13.
    assert starts([0, 1, 2], [1, 2, 1], [10, 5, 11], 2) == [0, 10, 15]


def test_time_limit_estimates_change_backfill():
    # 3 GPUs. A (2 GPUs, runs 10 s, limit 100). B (3 GPUs, 5 s) waits.
    # C (1 GPU, 50 s).
    # With perfect estimates the shadow is 10: C cannot backfill; B runs 10-15,
    # C 15-65.
    assert starts([0, 1, 2], [2, 3, 1], [10, 5, 50], 3) == [0, 10, 15]
    # With A's limit of 100 as its estimate the shadow is 100: C (ends 52)
    # backfills at 2 and B, which could have run at 10, waits for C until 52.
    assert starts([0, 1, 2], [2, 3, 1], [10, 5, 50], 3, estimate=[100, 5, 50]) == [0, 52, 2]


def test_fractional_gpus_share_one_gpu():
    assert starts([0, 0, 0], [0.5, 0.5, 0.5], [10, 10, 10], 1) == [0, 0, 10]


def test_a_job_larger_than_the_cluster_never_runs_and_does_not_block():
    out = starts([0, 1, 2], [4, 1, 1], [10, 10, 10], 2)
    assert math.isnan(out[0]) and out[1:] == [1, 2]


def test_a_cluster_without_gpus_is_refused():
    with pytest.raises(UsageError):
        replay(np.array([0.0]), np.array([1.0]), np.array([1.0]), 0)


def test_empty_trace():
    assert replay(np.array([]), np.array([]), np.array([]), 4).size == 0


# -- the policy restated plainly (quadratic), for the property test ------------


def reference_replay(submit, gpus, duration, capacity, estimate):
    n = len(submit)
    order = sorted(range(n), key=lambda j: (submit[j], j))
    queue: list[int] = []
    running: list[int] = []
    start = [math.nan] * n
    arrivals = [j for j in order if gpus[j] <= capacity]
    free = capacity
    t = 0
    while arrivals or running or queue:
        cands = ([submit[arrivals[0]]] if arrivals else []) + [
            start[j] + duration[j] for j in running
        ]
        t = min(cands)
        for j in [j for j in running if start[j] + duration[j] <= t]:
            running.remove(j)
            free += gpus[j]
        while arrivals and submit[arrivals[0]] <= t:
            queue.append(arrivals.pop(0))
        while queue and gpus[queue[0]] <= free:
            j = queue.pop(0)
            start[j], free = t, free - gpus[j]
            running.append(j)
        if not queue:
            continue
        head = queue[0]
        by_est = sorted(running, key=lambda j: start[j] + estimate[j])
        avail, shadow = free, None
        for j in by_est:
            avail += gpus[j]
            if avail >= gpus[head]:
                shadow = start[j] + estimate[j]
                break
        shadow = max(shadow, t)
        extra = (
            free + sum(gpus[j] for j in running if start[j] + estimate[j] <= shadow) - gpus[head]
        )
        for j in list(queue[1:]):
            if gpus[j] <= free and (t + estimate[j] <= shadow or gpus[j] <= extra):
                queue.remove(j)
                start[j], free = t, free - gpus[j]
                running.append(j)
                if t + estimate[j] > shadow:
                    extra -= gpus[j]
    return start


jobs_strategy = st.lists(
    st.tuples(
        st.integers(0, 40),
        st.sampled_from([1, 1, 2, 3, 4, 6]),
        st.integers(0, 30),
        st.integers(0, 30),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(jobs=jobs_strategy, capacity=st.integers(1, 8), use_estimates=st.booleans())
def test_replay_matches_the_plain_statement_of_the_policy(jobs, capacity, use_estimates):
    submit, gpus, duration, est = (list(x) for x in zip(*jobs, strict=True))
    estimate = est if use_estimates else duration
    fast = starts(submit, gpus, duration, capacity, estimate if use_estimates else None)
    slow = reference_replay(submit, gpus, duration, capacity, estimate)
    assert np.array_equal(np.array(fast), np.array(slow, float), equal_nan=True)


@settings(max_examples=200, deadline=None)
@given(jobs=jobs_strategy, capacity=st.integers(1, 8))
def test_never_more_gpus_than_owned_and_no_job_starts_before_submit(jobs, capacity):
    submit, gpus, duration, _ = (np.array(x, float) for x in zip(*jobs, strict=True))
    start = replay(submit, gpus, duration, capacity)
    ran = ~np.isnan(start)
    assert (start[ran] >= submit[ran]).all()
    assert (np.isnan(start) == (gpus > capacity)).all()
    positive = ran & (duration > 0)
    assert peak_concurrency(start[positive], duration[positive], gpus[positive]) <= capacity


# -- from the job table ----------------------------------------------------------

T0 = pd.Timestamp("2018-01-01", tz="UTC")


def job_table(rows):
    df = pd.DataFrame(rows)
    df["record_key"] = [f"k{i}" for i in range(len(df))]
    return conform(df)


def h(hours):
    return T0 + pd.Timedelta(hours=hours)


def test_trace_leaves_out_and_counts_jobs_it_cannot_replay():
    jobs = job_table(
        [
            dict(submit_time=h(0), start_time=h(1), end_time=h(3), elapsed_s=7200.0, n_gpus=2.0),
            dict(submit_time=h(1), start_time=None, n_gpus=1.0),  # never started
            dict(submit_time=h(1), start_time=h(2), n_gpus=1.0),  # no run time
            dict(submit_time=h(1), start_time=h(2), end_time=h(4), n_gpus=None),  # GPUs unknown
            dict(submit_time=h(1), start_time=h(2), end_time=h(4), n_gpus=0.0),  # CPU job
            dict(submit_time=None, start_time=h(5), end_time=h(6), n_gpus=1.0),  # W&B-like run
            dict(submit_time=h(0), start_time=h(0), end_time=h(9), n_gpus=8.0, is_container=True),
        ]
    )
    tr = trace_from_jobs(jobs)
    assert tr.exclusions() == {
        "n_jobs_never_started": 1,
        "n_jobs_unknown_duration": 1,
        "n_jobs_unknown_gpus": 1,
        "n_jobs_without_gpu": 1,
    }
    assert tr.n_jobs == 2 and tr.n_jobs_submit_from_start == 1
    assert tr.origin_time == h(0)
    assert tr.submit_s.tolist() == [0.0, 5 * 3600.0]
    assert tr.duration_s.tolist() == [7200.0, 3600.0]  # elapsed_s, else end - start
    assert tr.logged_start_s.tolist() == [3600.0, 5 * 3600.0]
    assert tr.logged_end_s == 6 * 3600.0
    assert tr.gpu_hours == 2 * 2 + 1


def test_trace_time_limit_estimate_falls_back_to_run_time():
    jobs = job_table(
        [
            dict(submit_time=h(0), start_time=h(0), end_time=h(1), n_gpus=1.0, timelimit_s=36000.0),
            dict(submit_time=h(0), start_time=h(0), end_time=h(2), n_gpus=1.0),
        ]
    )
    assert trace_from_jobs(jobs, estimate="timelimit").estimate_s.tolist() == [36000.0, 7200.0]
    assert trace_from_jobs(jobs).estimate_s.tolist() == [3600.0, 7200.0]
    with pytest.raises(UsageError):
        trace_from_jobs(jobs, estimate="guess")


def test_stats_for_a_queue_that_builds_up():
    # Hours: 2 GPUs, four 1-GPU jobs of 10 h submitted at 0, 0, 0, 0:
    # starts 0, 0, 10, 10; waits 0, 0, 10, 10; project 20 h; 40 GPU-h on
    # 2 GPUs x 20 h = utilization 1.
    jobs = job_table(
        [dict(submit_time=h(0), start_time=h(0), end_time=h(10), n_gpus=1.0) for _ in range(4)]
    )
    s = replay_stats(trace_from_jobs(jobs), 2)
    assert s.n_jobs_replayed == 4 and s.n_jobs_too_large == 0
    assert s.duration_days == pytest.approx(20 / 24)
    assert s.mean_wait_hours == pytest.approx(5.0)
    # waits sorted 0, 0, 10, 10: the 95th percentile lies at rank 2.85, between 10 and 10
    assert s.p95_wait_hours == pytest.approx(10.0)
    assert s.max_wait_hours == pytest.approx(10.0)
    assert s.utilization == pytest.approx(1.0)
    assert s.gpu_hours == pytest.approx(40.0)


def test_sweep_over_cluster_sizes_and_too_large_jobs():
    # One 4-GPU job of 10 h and two 1-GPU jobs of 10 h, all submitted at 0.
    jobs = job_table(
        [
            dict(submit_time=h(0), start_time=h(0), end_time=h(10), n_gpus=4.0),
            dict(submit_time=h(0), start_time=h(0), end_time=h(10), n_gpus=1.0),
            dict(submit_time=h(0), start_time=h(0), end_time=h(10), n_gpus=1.0),
        ]
    )
    tr = trace_from_jobs(jobs)
    table = sweep(tr, [6, 1, 4])
    assert table["n_gpus"].tolist() == [1.0, 4.0, 6.0]
    # 1 GPU: the 4-GPU job never runs; the two others run one after another.
    # 4 GPUs: the 4-GPU job first (0-10), then both small ones (10-20).
    # 6 GPUs: everything at once.
    assert table["n_jobs_too_large"].tolist() == [1, 0, 0]
    assert table["duration_days"].tolist() == pytest.approx([20 / 24, 20 / 24, 10 / 24])
    assert table["mean_wait_hours"].tolist() == pytest.approx([5.0, 20 / 3, 0.0])
    assert table["utilization"].tolist() == pytest.approx([20 / 20, 60 / 80, 60 / 60])
    # 60 GPU-hours over 10 h: mean demand 6 = the peak demand; every
    # multiple of it is clipped to 4 (largest job) .. 6 (peak).
    assert default_gpu_counts(tr) == [4, 5, 6]


def test_peak_concurrency_counts_an_end_before_a_start_at_the_same_time():
    assert (
        peak_concurrency(np.array([0.0, 10.0]), np.array([10.0, 5.0]), np.array([3.0, 2.0])) == 3.0
    )
    assert (
        peak_concurrency(np.array([0.0, 9.0]), np.array([10.0, 5.0]), np.array([3.0, 2.0])) == 5.0
    )


def test_default_sizes_are_multiples_of_the_mean_demand_up_to_the_peak():
    # 40 one-GPU jobs of 10 h submitted at 0, one more at 90 h: 410 GPU-hours
    # over 100 h = 4.1 GPUs on average; 40 wanted at once at the peak.
    rows = [dict(submit_time=h(0), start_time=h(0), end_time=h(10), n_gpus=1.0) for _ in range(40)]
    rows.append(dict(submit_time=h(90), start_time=h(90), end_time=h(100), n_gpus=1.0))
    tr = trace_from_jobs(job_table(rows))
    # 0.5, 0.75, 1, 1.25, 1.5, 2, 3 x 4.1 = 2.05, 3.075, 4.1, 5.125, 6.15, 8.2, 12.3
    assert default_gpu_counts(tr) == [2, 3, 4, 5, 6, 8, 12, 40]
