"""Benchmark of the replay (run on purpose, not a test).

    python bench/bench_replay.py [--load 0.95] [--gpus 256] [--seed 0]

Replays synthetic traces of 100,000 and 1,000,000 jobs on a cluster of
``--gpus`` GPUs under FCFS + EASY backfill and prints the wall time of each
and their ratio. An O(n log n) replay gives a ratio a little above 10 for
10x the jobs; O(n^2) would give about 100.

The trace: Poisson arrivals; GPUs per job drawn from 1, 2, 4, 8 (weights
0.5, 0.25, 0.15, 0.10); run times log-normal (median 1 h, sigma 1.5,
clipped to 3 min .. 9 days, like the paper's LISA jobs); the arrival rate is
set so that the GPUs asked for are ``--load`` times what the cluster can
serve (near 1, queues build up and drain again, which keeps backfill busy).
``--estimate limit`` also gives the scheduler time-limit-like estimates
(1 to 3 times the run time, rounded up to the hour), which exercises the
separate heap of estimated end times.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rdcost.analysis.replay import replay

GPU_CHOICES = np.array([1.0, 2.0, 4.0, 8.0])
GPU_WEIGHTS = np.array([0.5, 0.25, 0.15, 0.10])


def synthetic_trace(n_jobs: int, capacity_gpus: int, load: float, seed: int):
    rng = np.random.default_rng(seed)
    gpus = rng.choice(GPU_CHOICES, size=n_jobs, p=GPU_WEIGHTS)
    duration = np.clip(rng.lognormal(np.log(3600.0), 1.5, size=n_jobs), 180.0, 9 * 86400.0)
    mean_work = float(np.mean(gpus * duration))  # GPU-seconds per job
    rate = load * capacity_gpus / mean_work  # jobs per second
    submit = np.cumsum(rng.exponential(1.0 / rate, size=n_jobs))
    return submit, gpus, duration


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpus", type=int, default=256)
    ap.add_argument("--load", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--estimate", choices=("elapsed", "limit"), default="elapsed")
    args = ap.parse_args()
    times = {}
    for n in (100_000, 1_000_000):
        submit, gpus, duration = synthetic_trace(n, args.gpus, args.load, args.seed)
        estimate = None
        if args.estimate == "limit":
            rng = np.random.default_rng(args.seed + 1)
            estimate = np.ceil(duration * rng.uniform(1.0, 3.0, size=n) / 3600.0) * 3600.0
        t0 = time.perf_counter()
        start = replay(submit, gpus, duration, args.gpus, estimate)
        times[n] = time.perf_counter() - t0
        wait_h = (start - submit) / 3600
        print(
            f"{n:>9,} jobs on {args.gpus} GPUs, load {args.load}, estimate {args.estimate}: {times[n]:7.2f} s "
            f"(mean wait {wait_h.mean():.2f} h, p95 {np.percentile(wait_h, 95):.2f} h)"
        )
    print(f"ratio 1M / 100k: {times[1_000_000] / times[100_000]:.1f}")


if __name__ == "__main__":
    main()
