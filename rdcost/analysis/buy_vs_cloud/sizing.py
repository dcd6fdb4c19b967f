"""How many GPUs to buy (pure arithmetic): the mean GPUs in use, a percentile of GPUs in use
weighted by time (``--size-by``), and the owned cost of each cluster size of a replay sweep."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rdcost.analysis.buy_vs_cloud.cost_model import (
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    OwnedParams,
    owned_cost,
)
from rdcost.errors import UsageError

SIZE_BY_HELP = (
    "mean (GPU-hours / span, rounded), pNN (NN-th percentile of GPUs in use, e.g. p90) or peak"
)


def parse_size_by(size_by: str) -> float | None:
    """``mean`` -> None; ``peak`` -> 100; ``p90`` -> 90."""
    s = size_by.strip().lower()
    if s == "mean":
        return None
    if s == "peak":
        return 100.0
    if s.startswith("p"):
        try:
            q = float(s[1:])
        except ValueError:
            q = -1.0
        if 0 < q <= 100:
            return q
    raise UsageError(f"--size-by must be {SIZE_BY_HELP}", value=size_by)


def gpus_for_mean(mean_gpus: float | None) -> int:
    """The mean GPUs in use, rounded to the nearest whole GPU (half up), at
    least 1: the paper's 239,942 GPU-hours over 172 days = 58.1 -> 58."""
    if mean_gpus is None or not math.isfinite(mean_gpus):
        raise UsageError(
            "the mean number of GPUs in use is unknown (no job with a start, end and GPU count)",
            hint="give --gpus N",
        )
    return max(1, int(math.floor(mean_gpus + 0.5)))


def concurrency_percentile(
    start_h: np.ndarray, end_h: np.ndarray, n_gpus: np.ndarray, q: float
) -> float:
    """The q-th percentile (0-100) of GPUs in use, weighted by time over the
    span from the first start to the last end: the smallest level L such that
    at least q % of the span has at most L GPUs in use."""
    if not 0 <= q <= 100:
        raise UsageError(f"a percentile is between 0 and 100, got {q}", value=str(q))
    start_h = np.asarray(start_h, float)
    end_h = np.asarray(end_h, float)
    n_gpus = np.asarray(n_gpus, float)
    if start_h.size == 0:
        return float("nan")
    times = np.concatenate([start_h, end_h])
    delta = np.concatenate([n_gpus, -n_gpus])
    order = np.lexsort((delta, times))
    t = times[order]
    level = np.cumsum(delta[order])
    # level[i] holds from t[i] to t[i + 1]
    length = np.diff(t)
    level = level[:-1]
    total = float(length.sum())
    if total <= 0:
        return float(np.max(n_gpus.sum(), initial=0.0))
    by_level = np.argsort(level, kind="stable")
    cum = np.cumsum(length[by_level]) / total
    k = int(np.searchsorted(cum, q / 100 - 1e-12, side="left"))
    return float(level[by_level][min(k, level.size - 1)])


def gpus_for_percentile(start_h, end_h, n_gpus, q: float) -> int:
    """GPUs to cover the q-th percentile of concurrency, rounded up."""
    level = concurrency_percentile(start_h, end_h, n_gpus, q)
    if not math.isfinite(level):
        raise UsageError(
            "no job with a start, end and GPU count to size the cluster from", hint="give --gpus N"
        )
    return max(1, int(math.ceil(level - 1e-9)))


def sizing_costs(replayed: pd.DataFrame, params: OwnedParams) -> pd.DataFrame:
    """Add the owned cost of each cluster size to a replay sweep
    (:func:`rdcost.analysis.replay.sweep`): hosting, maintenance and staff run for the
    replayed project duration."""
    out = replayed.copy()
    if (out["n_gpus"] == out["n_gpus"].round()).all():
        out["n_gpus"] = out["n_gpus"].astype("int64")
    rows = [
        owned_cost(
            int(n), gh, d * HOURS_PER_DAY / HOURS_PER_MONTH if math.isfinite(d) else 0.0, params
        )
        for n, gh, d in zip(out["n_gpus"], out["gpu_hours"], out["duration_days"], strict=True)
    ]
    out["owned_purchase_usd"] = [r.purchase_usd for r in rows]
    out["owned_running_usd"] = [r.running_usd for r in rows]
    out["owned_total_usd"] = [r.total_usd for r in rows]
    out["owned_amortized_total_usd"] = [r.amortized_total_usd for r in rows]
    return out
