"""MIG slices counted as their share of the parent GPU.

A job that held a MIG slice (``gres/gpu:a100_1g.10gb=1``, ``1g.10gb``, Mila's
``a100l.2``) held part of one GPU: its GPU count is the number of slices times the
slice's share of the parent's compute slices (a ``1g.10gb`` of an A100 is 1/7, a
``3g.40gb`` 3/7), so that its GPU-hours, price and power are that share of the
parent's. The stored job table keeps the count as the log wrote it; the analysis reads
it through :func:`as_gpu_shares` (``rdcost.analysis.linking.compute_jobs``). A profile
whose share is not known (not listed for its parent in gpus.csv) counts as a whole GPU.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from rdcost.analysis import reference
from rdcost.analysis.per_value import per_value


@lru_cache(maxsize=4096)
def _share(gpu_type: str) -> float:
    f = reference.gpu_match(gpu_type).mig_fraction
    return float(f) if f is not None and 0 < f < 1 else 1.0


def mig_shares(gpu_type: pd.Series) -> np.ndarray:
    """Per row: the share of one GPU that one logged GPU of this type is (1.0 for a
    whole GPU, or a type that is not a MIG slice)."""
    return per_value(gpu_type, _share, missing=1.0).astype(float)


def as_gpu_shares(jobs: pd.DataFrame) -> pd.DataFrame:
    """``jobs`` with ``n_gpus`` of MIG slices as their share of the parent GPU."""
    if "gpu_type" not in jobs or "n_gpus" not in jobs or jobs.empty:
        return jobs
    share = mig_shares(jobs["gpu_type"])
    if (share == 1.0).all():
        return jobs
    out = jobs.copy()
    out["n_gpus"] = pd.to_numeric(out["n_gpus"], errors="raise").astype("float64") * share
    return out
