"""Which rows of the job table count as compute.

The stored table keeps every record as its source wrote it; analysis asks
this module for the rows whose time is compute, so that nothing is counted
twice:

- an MLflow parent run of a search (``is_container``, or any MLflow run that
  another stored run names as its parent) holds its children's time, so only
  the children count;
- a W&B/MLflow/CSV run that names the Slurm job it ran in
  (``linked_slurm_job_id``) is counted once, from the scheduler: the run's row
  is dropped and its ``config_json``, ``metrics_json`` and ``other_json``
  (and its run id and search group when the Slurm row has none) are attached
  to the Slurm row in the returned frame. The store is not changed.

Matching a run to a Slurm row: the run's job id equals the row's
``job_id_raw`` (what ``SLURM_JOB_ID`` holds, also for array tasks) or its
display ``job_id`` (``123_4``); when both sides know their cluster, the
clusters must be equal. If several Slurm rows still match (a job id reused
after a wrap, clusters unknown), the one whose [start, end] contains the
run's start is taken; if that does not single one out, the run is not linked
and is counted on its own.

A plain-CSV row that repeats a Slurm job (a job list exported from the same
scheduler: its ``job_id`` equals the Slurm row's display or raw id, clusters
compatible as above, and its start time, else its end time, within a minute of
the Slurm row's) is the same job: it is dropped like a linked run and its
values attached, so the job is counted once (:func:`csv_repeats`).

When several runs name the same Slurm job (a sweep agent running trials one
after another in one allocation, or one run per rank), the Slurm row is
counted once and gets the runs' values as JSON objects keyed by run id
(``{"<run id>": {...}, ...}``), with ``run_id`` left null.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rdcost.analysis.mig import as_gpu_shares

_ATTACHED = ("config_json", "metrics_json", "other_json")
#: A run's measured GPU use, given to its Slurm row where the scheduler did not measure it
#: (several runs in one job: the mean of theirs; GPUs unused: 0 when every run used all of
#: its GPUs, else unknown, as runs one after another may leave different GPUs idle).
_MEASURED = ("gpu_util_percent", "gpu_power_w", "n_gpus_unused", "gpu_metrics_source")
#: The measured numbers among them.
_MEASURED_VALUES = ("gpu_util_percent", "gpu_power_w", "n_gpus_unused")


def compute_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """The rows whose elapsed time is compute, each counted once; MIG slices counted as
    their share of the parent GPU (:mod:`rdcost.analysis.mig`)."""
    jobs = as_gpu_shares(jobs[~_containers(jobs)])
    pairs = link_runs(jobs)
    if pairs.empty:
        return jobs
    out = jobs.drop(index=pairs["run"].unique()).copy()
    _attach(out, jobs, pairs)
    return out


def link_counts(jobs: pd.DataFrame) -> dict[str, int]:
    """How many records :func:`compute_jobs` folds into others: MLflow parent runs
    (``containers``), runs that name their Slurm job (``linked_runs``) and plain-CSV rows
    that repeat one (``csv_repeats``)."""
    containers = _containers(jobs)
    rest = jobs[~containers]
    pairs = link_runs(rest)
    named = (
        rest.loc[pairs["run"], "linked_slurm_job_id"].notna()
        if len(pairs)
        else pd.Series([], dtype=bool)
    )
    return {
        "containers": int(containers.sum()),
        "linked_runs": int(named.sum()),
        "csv_repeats": int((~named).sum()),
    }


def _containers(jobs: pd.DataFrame) -> pd.Series:
    container = jobs["is_container"].astype("boolean").fillna(False).astype(bool)
    mlflow = jobs["source"].astype("string").eq("mlflow").fillna(False).astype(bool)
    parents = set(jobs.loc[mlflow, "parent_run_id"].dropna())
    named_parent = mlflow & jobs["run_id"].isin(parents)
    return container | named_parent


#: How far a CSV row's start (else end) may be from a Slurm row's for the two to be one job.
REPEAT_TOLERANCE_S = 60


def link_runs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Pairs (``run``, ``slurm``) of index labels: each linked run (or CSV row that
    repeats a Slurm job) and its Slurm row."""
    named = _named_links(jobs)
    repeats = csv_repeats(jobs)
    if repeats.empty:
        return named
    repeats = repeats[~repeats["run"].isin(named["run"])]
    return pd.concat([named, repeats], ignore_index=True)


def csv_repeats(jobs: pd.DataFrame) -> pd.DataFrame:
    """Pairs (``run``, ``slurm``): plain-CSV rows that repeat a Slurm job (module doc)."""
    source = jobs["source"].astype("string")
    is_csv = (
        source.eq("csv").fillna(False).astype(bool)
        & jobs["job_id"].notna()
        & jobs["linked_slurm_job_id"].isna()
    )
    is_slurm = source.eq("slurm").fillna(False).astype(bool)
    empty = pd.DataFrame({"run": pd.Series([], dtype=object), "slurm": pd.Series([], dtype=object)})
    if not is_csv.any() or not is_slurm.any():
        return empty
    rows = pd.DataFrame(
        {
            "run": jobs.index[is_csv],
            "jid": jobs.loc[is_csv, "job_id"].astype("string").to_numpy(),
            "run_cluster": jobs.loc[is_csv, "cluster"].to_numpy(),
            "r_start": jobs.loc[is_csv, "start_time"].to_numpy(),
            "r_end": jobs.loc[is_csv, "end_time"].to_numpy(),
        }
    )
    c = _slurm_candidates(rows, jobs[is_slurm])
    if c.empty:
        return empty

    def close(a, b):
        d = (
            (pd.to_datetime(c[a], utc=True) - pd.to_datetime(c[b], utc=True))
            .dt.total_seconds()
            .abs()
        )
        return d <= REPEAT_TOLERANCE_S

    starts_known = c["r_start"].notna() & c["s_start"].notna()
    same = (starts_known & close("r_start", "s_start")) | (~starts_known & close("r_end", "s_end"))
    c = c[same.fillna(False).astype(bool)]
    c = c[c.groupby("run")["slurm"].transform("size") == 1]
    return c[["run", "slurm"]].reset_index(drop=True)


def _slurm_candidates(rows: pd.DataFrame, sl: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (with ``jid``, ``run_cluster``) joined to the Slurm rows whose display or
    raw id is ``jid``, clusters equal where both are known."""
    cands = []
    for col in ("job_id_raw", "job_id"):
        right = pd.DataFrame(
            {
                "slurm": sl.index,
                "jid": sl[col].astype("string").to_numpy(),
                "slurm_cluster": sl["cluster"].to_numpy(),
                "s_start": sl["start_time"].to_numpy(),
                "s_end": sl["end_time"].to_numpy(),
            }
        ).dropna(subset=["jid"])
        cands.append(rows.merge(right, on="jid"))
    c = pd.concat(cands, ignore_index=True).drop_duplicates(subset=["run", "slurm"])
    both = c["run_cluster"].notna() & c["slurm_cluster"].notna()
    return c[~both | (c["run_cluster"].astype(str) == c["slurm_cluster"].astype(str))]


def _named_links(jobs: pd.DataFrame) -> pd.DataFrame:
    """Pairs (``run``, ``slurm``): runs that name the Slurm job they ran in."""
    source = jobs["source"].astype("string")
    linked = jobs["linked_slurm_job_id"].astype("string")
    is_run = source.ne("slurm").fillna(False).astype(bool) & linked.notna()
    is_slurm = source.eq("slurm").fillna(False).astype(bool)
    if not is_run.any() or not is_slurm.any():
        return pd.DataFrame(
            {"run": pd.Series([], dtype=object), "slurm": pd.Series([], dtype=object)}
        )
    runs = pd.DataFrame(
        {
            "run": jobs.index[is_run],
            "jid": linked[is_run].to_numpy(),
            "run_cluster": jobs.loc[is_run, "cluster"].to_numpy(),
            "run_start": jobs.loc[is_run, "start_time"].to_numpy(),
        }
    )
    c = _slurm_candidates(runs, jobs[is_slurm])
    n = c.groupby("run")["slurm"].transform("size")
    single = c[n == 1]
    multi = c[n > 1]
    if not multi.empty:
        start = pd.to_datetime(multi["run_start"], utc=True)
        inside = (start >= pd.to_datetime(multi["s_start"], utc=True)) & (
            pd.to_datetime(multi["s_end"], utc=True).isna()
            | (start <= pd.to_datetime(multi["s_end"], utc=True))
        )
        multi = multi[inside.fillna(False).astype(bool)]
        multi = multi[multi.groupby("run")["slurm"].transform("size") == 1]
    return pd.concat([single, multi])[["run", "slurm"]].reset_index(drop=True)


def _attach(out: pd.DataFrame, jobs: pd.DataFrame, pairs: pd.DataFrame) -> None:
    n = pairs.groupby("slurm")["run"].transform("size")
    one = pairs[n == 1]
    measured = [c for c in _MEASURED if c in jobs]
    cols = list(_ATTACHED) + ["run_id"]
    vals = jobs.loc[one["run"], cols + measured].set_axis(one["slurm"].to_numpy())
    for many_slurm, group in pairs[n > 1].groupby("slurm", sort=False):  # few: shared jobs
        runs = jobs.loc[group["run"]]
        ids = runs["run_id"].where(runs["run_id"].notna(), runs["record_key"]).astype(str)
        row: dict = {c: _keyed(ids, runs[c]) for c in _ATTACHED}
        row["run_id"] = None
        for c in measured:
            v = runs[c].dropna()
            row[c] = None if v.empty else _several(c, v, len(runs))
        vals.loc[many_slurm] = pd.Series(row)
    _fill(out, vals, cols)
    if measured:
        _fill_measured(out, vals)
    groups = jobs.loc[pairs["run"], ["group_id", "group_source"]].set_axis(
        pairs["slurm"].to_numpy()
    )
    groups = groups.dropna(subset=["group_id"]).reset_index().drop_duplicates()
    groups = groups[~groups["index"].duplicated(keep=False)].set_index("index")  # one group only
    _fill(out, groups, ["group_id", "group_source"], when="group_id")


def _fill(out: pd.DataFrame, vals: pd.DataFrame, cols: list[str], when: str | None = None) -> None:
    """Fill out's nulls at vals' index from vals (all of cols only where ``when`` is null)."""
    if vals.empty:
        return
    idx = vals.index
    gate = out.loc[idx, when].isna().to_numpy() if when else None
    for c in cols:
        cur = out.loc[idx, c]
        mask = cur.isna().to_numpy() if gate is None else gate
        new = cur.astype(object).where(~mask, vals[c].astype(object).to_numpy())
        out.loc[idx, c] = new.to_numpy()


def _several(c: str, v: pd.Series, n_runs: int) -> object:
    """One Slurm job's measured value from the values of its several runs (see _MEASURED)."""
    if c == "gpu_metrics_source":
        return v.iloc[0]
    x = pd.to_numeric(v).astype("float64")
    if c == "n_gpus_unused":
        return 0 if len(x) == n_runs and (x == 0).all() else None
    return float(x.mean())


def _fill_measured(out: pd.DataFrame, vals: pd.DataFrame) -> None:
    """A run's GPU utilisation, power and unused GPUs fill what the Slurm row lacks (its own
    measurement wins); the source names both when both gave a value."""
    if vals.empty:
        return
    idx = vals.index
    cols = [c for c in _MEASURED_VALUES if c in vals and c in out]
    before = out.loc[idx, cols].isna()
    for c in cols:
        cur = pd.to_numeric(out.loc[idx, c]).astype("float64").to_numpy()
        run_v = pd.to_numeric(vals[c]).astype("float64").to_numpy()
        new = np.where(np.isnan(cur), run_v, cur)
        out.loc[idx, c] = pd.array(new, dtype="Int64") if c == "n_gpus_unused" else new
    took = (before.to_numpy() & vals[cols].notna().to_numpy()).any(axis=1)
    own = [None if pd.isna(v) else str(v) for v in out.loc[idx, "gpu_metrics_source"]]
    run = [None if pd.isna(v) else str(v) for v in vals["gpu_metrics_source"]]
    src = []
    for o, r, t in zip(own, run, took, strict=True):
        if not t:
            src.append(o)
        elif o is None or r is None or o == r:
            src.append(o or r)
        else:
            src.append(f"{o}; {r}")
    out.loc[idx, "gpu_metrics_source"] = pd.array(src, dtype="string")


def _keyed(ids: pd.Series, values: pd.Series) -> str | None:
    obj = {i: json.loads(v) for i, v in zip(ids, values, strict=True) if isinstance(v, str)}
    return json.dumps(obj, ensure_ascii=False) if obj else None
