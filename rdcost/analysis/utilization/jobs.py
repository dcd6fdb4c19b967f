"""Per job: how much of its GPU time sat idle or under-used, by the utilisation its logs
carry (``gpu_util_percent``: the mean over its GPUs and its run; ``n_gpus_unused``: GPUs at
0% for the whole run, from per-GPU values).

Rules (docs/summarize.md, "Utilization waste"):

- **logged**: the job has GPU time and a logged mean utilisation or per-GPU values.
- **share of its GPUs at 0%** (``zero_util_fraction``): n_gpus_unused / n_gpus where per-GPU
  values are logged (at most 1); else 1 when the logged mean is 0%, else 0 (a mean above 0
  cannot tell an idle GPU from a busy one). Null when not logged.
- **below the threshold** (``is_below_util_threshold``): the logged mean is below the
  threshold (0% included); null when no mean is logged.
- **unused GPUs of a multi-GPU job** (``unused_gpu_fraction``): n_gpus_unused / n_gpus of a
  job of more than one GPU with per-GPU values; null otherwise.

The cost, energy and CO2e of a share of a job's GPUs are that share of the job's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The columns :func:`job_utilization` adds to the job costs.
UTIL_COLUMNS = (
    "util_logged",
    "zero_util_fraction",
    "is_below_util_threshold",
    "unused_gpu_fraction",
)


def _f(cj: pd.DataFrame, name: str) -> np.ndarray:
    if name not in cj:
        return np.full(len(cj), np.nan)
    return pd.to_numeric(cj[name], errors="coerce").astype("float64").to_numpy()


def job_utilization(
    cj: pd.DataFrame, gpu_hours: pd.Series, threshold_percent: float
) -> pd.DataFrame:
    """The :data:`UTIL_COLUMNS` of each job (same index as ``cj``; see the module doc)."""
    util = _f(cj, "gpu_util_percent")
    unused = _f(cj, "n_gpus_unused")
    n_gpus = _f(cj, "n_gpus")
    gh = pd.to_numeric(gpu_hours).astype("float64").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        per_gpu = ~np.isnan(unused) & (n_gpus > 0)
        share = np.clip(np.where(per_gpu, unused / n_gpus, np.nan), 0.0, 1.0)
        logged = (gh > 0) & (~np.isnan(util) | per_gpu)
        zero = np.where(per_gpu, share, np.where(util == 0, 1.0, 0.0))
        below = pd.array(np.where(np.isnan(util), False, util < threshold_percent), "boolean")
        below[~logged | np.isnan(util)] = pd.NA
        multi = logged & per_gpu & (n_gpus > 1)
    return pd.DataFrame(
        {
            "util_logged": logged,
            "zero_util_fraction": np.where(logged, zero, np.nan),
            "is_below_util_threshold": below,
            "unused_gpu_fraction": np.where(multi, share, np.nan),
        },
        index=cj.index,
    )
