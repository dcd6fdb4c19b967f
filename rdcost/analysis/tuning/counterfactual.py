"""The counterfactual: the GPU-hours a random search over the same runs would have spent before its
first run within the tolerance of the search's best, from resampling the search's own results
(and the exact mean of that resampling)."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.tuning.params import TuningParams

#: Elements per resampling block (memory bound of the counterfactual).
BLOCK_ELEMENTS = 2_000_000


def counterfactual(
    sid: str,
    g: pd.DataFrame,
    p: TuningParams,
    goal: str | None,
    best: dict | None,
    gh: float | None,
    usd_low: float | None,
    usd_high: float | None,
) -> dict[str, Any] | None:
    """The counterfactual of one search (runs ``g`` in launch order, best result ``best``, its
    GPU-hours and cost); None when no run has a result."""
    if best is None:
        return None
    b = abs(best["metric"])
    tol = p.tolerance * b if p.tolerance_kind == "relative" else p.tolerance
    score = g["score"].to_numpy(dtype="float64")
    hit = score >= np.nanmax(score) - tol  # NaN (no result) never hits
    target = best["metric"] + tol if goal == "min" else best["metric"] - tol
    cost = g["gh"].to_numpy(dtype="float64")
    known = not np.isnan(cost).any()
    cost = cost if known else np.ones(len(g))
    rng = np.random.default_rng([p.resample_seed, zlib.crc32(sid.encode())])
    spent, n_runs = resample_until(cost, hit, p.n_resamples, rng)
    q = float(np.quantile(spent, p.quantile))
    mean = float(spent.mean())
    first = int(np.argmax(hit))
    launch_cost = float(cost[: first + 1].sum())
    exact = expected_until(cost, hit)
    out = {
        "target": target,
        "n_runs_within_tolerance": int(hit.sum()),
        "n_runs": len(g),
        "launch_order_n_runs": first + 1,
        "mean_n_runs": float(n_runs.mean()),
        "quantile_n_runs": float(np.quantile(n_runs, p.quantile)),
        "exact_mean_n_runs": expected_until(np.ones(len(g)), hit),
    }
    if known:
        assert gh is not None  # every run's GPU-hours are known, so is their sum
        saved = gh - mean
        rate = (
            None if usd_low is None or not gh else usd_low / gh,
            None if usd_high is None or not gh else usd_high / gh,
        )
        out.update(
            {
                "launch_order_gpu_hours": launch_cost,
                "mean_gpu_hours": mean,
                "quantile_gpu_hours": q,
                "exact_mean_gpu_hours": exact,
                "search_gpu_hours": gh,
                "saved_gpu_hours": saved,
                "saved_share": saved / gh if gh else None,
                "saved_usd_low": None if rate[0] is None else saved * rate[0],
                "saved_usd_high": None if rate[1] is None else saved * rate[1],
            }
        )
    else:
        out.update(
            {
                k: None
                for k in (
                    "launch_order_gpu_hours",
                    "mean_gpu_hours",
                    "quantile_gpu_hours",
                    "exact_mean_gpu_hours",
                    "search_gpu_hours",
                    "saved_gpu_hours",
                    "saved_share",
                    "saved_usd_low",
                    "saved_usd_high",
                )
            }
        )
    return out


def resample_until(
    cost: np.ndarray, hit: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cost and number of runs spent, in random orders of the runs, up to and including the first hit.

    Each resample is a uniformly random order of all runs (sampling without
    replacement): a run comes before the first hit when its random key is
    below the smallest key of the hits. Runs that never hit (failed, no
    result, too far from the best) still cost. Needs at least one hit.
    """
    cost = np.asarray(cost, dtype="float64")
    hit = np.asarray(hit, dtype=bool)
    if not hit.any():
        raise ValueError("no run hits the target")
    n = len(cost)
    block = max(1, BLOCK_ELEMENTS // max(n, 1))
    spent, runs = [], []
    for start in range(0, n_resamples, block):
        k = min(block, n_resamples - start)
        u = rng.random((k, n))
        first = u[:, hit].min(axis=1)
        before = u <= first[:, None]  # the first hit itself and everything before it
        spent.append(before.astype("float64") @ cost)
        runs.append(before.sum(axis=1))
    return np.concatenate(spent), np.concatenate(runs).astype("float64")


def expected_until(cost: np.ndarray, hit: np.ndarray) -> float:
    """The exact mean of :func:`resample_until`: a hit is first with probability 1/h (h hits),
    a non-hit comes before every hit with probability 1/(h + 1)."""
    cost = np.asarray(cost, dtype="float64")
    hit = np.asarray(hit, dtype=bool)
    h = int(hit.sum())
    return float(cost[hit].sum() / h + cost[~hit].sum() / (h + 1))
