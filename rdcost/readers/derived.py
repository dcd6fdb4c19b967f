"""Values rdcost derives when an export leaves them out: one set of rules for every
format (sacct text and JSON, W&B, MLflow, plain CSV), applied by each reader to its job
rows, each derived value named in the row's ``derived_columns`` (docs/sacct.md,
"Derived values").

1. ``elapsed_s`` = end - start, when the export has no elapsed time and both times
   are known (and in order).
2. ``start_time`` = end - elapsed, when the export has no start time, the end and
   the elapsed time are known and the job ran (elapsed > 0). Not where the export
   says the job never started (sacct's ``Start`` of ``Unknown`` or ``None``).
3. The end time of a job that has not ended (RUNNING, PENDING, SUSPENDED) is null,
   whatever the export printed there (the time it was last seen, not an end; rules
   1 and 2 use it first: the run time so far is known from it).

TotalCPU = UserCPU + SystemCPU is derived by the sacct reader, where those fields exist
(:mod:`rdcost.readers.slurm.step_usage`), and named the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: States in which a job has no end yet.
UNFINISHED_STATES = ("RUNNING", "PENDING", "SUSPENDED")
#: The order derived column names are listed in.
DERIVED_ORDER = ("start_time", "elapsed_s", "total_cpu_s")


def derive_times(
    jobs: pd.DataFrame,
    marks: Mapping[str, np.ndarray] | None = None,
    never_started: np.ndarray | None = None,
) -> pd.DataFrame:
    """Apply the rules of the module doc to a job frame (in place; also returned).

    ``marks`` are columns the reader derived itself (name -> mask per row); they are
    listed in ``derived_columns`` with the ones derived here. ``never_started`` marks
    rows whose export says the job never started (no start is derived for them).
    """
    idx = jobs.index
    n = len(jobs)
    for c in ("start_time", "end_time"):
        if c not in jobs:
            jobs[c] = pd.Series(pd.NaT, index=idx, dtype="datetime64[us, UTC]")
    if "elapsed_s" not in jobs:
        jobs["elapsed_s"] = np.nan
    found = {k: np.asarray(v, dtype=bool) for k, v in (marks or {}).items()}
    start, end = (
        pd.to_datetime(jobs["start_time"], utc=True),
        pd.to_datetime(jobs["end_time"], utc=True),
    )
    elapsed = pd.to_numeric(jobs["elapsed_s"]).astype("float64")
    span = (end - start).dt.total_seconds()
    take = (elapsed.isna() & span.notna() & (span >= 0)).to_numpy(dtype=bool)
    if take.any():
        jobs["elapsed_s"] = elapsed.where(~take, span)
        found["elapsed_s"] = found.get("elapsed_s", np.zeros(n, bool)) | take
    back = end - pd.to_timedelta(pd.to_numeric(jobs["elapsed_s"]).astype("float64"), unit="s")
    ran = (pd.to_numeric(jobs["elapsed_s"]).astype("float64") > 0).to_numpy(dtype=bool)
    take = (start.isna() & back.notna()).to_numpy(dtype=bool) & ran
    if never_started is not None:
        take &= ~np.asarray(never_started, dtype=bool)
    if take.any():
        jobs["start_time"] = start.where(~take, back)
        found["start_time"] = found.get("start_time", np.zeros(n, bool)) | take
    if "state" in jobs:  # last: the time printed as an unfinished job's end dates its start
        unfinished = jobs["state"].isin(UNFINISHED_STATES).fillna(False).to_numpy(dtype=bool)
        if unfinished.any():
            jobs["end_time"] = jobs["end_time"].where(~unfinished)
    jobs["derived_columns"] = derived_text(found, n, jobs.get("derived_columns"))
    return jobs


def derived_text(
    found: Mapping[str, np.ndarray], n: int, before: pd.Series | None = None
) -> np.ndarray:
    """``derived_columns`` per row: the names whose mask is set, comma-joined, in
    :data:`DERIVED_ORDER` (None where nothing was derived)."""
    names = sorted(
        found, key=lambda k: DERIVED_ORDER.index(k) if k in DERIVED_ORDER else len(DERIVED_ORDER)
    )
    out = np.full(n, "", dtype=object)
    if before is not None:
        out = before.astype(object).where(before.notna(), "").to_numpy(dtype=object)
    for name in names:
        m = found[name]
        if m.any():
            sep = np.where(out[m] == "", "", ",")
            out[m] = out[m] + sep + name
    out[out == ""] = None
    return out
