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

When several runs name the same Slurm job (a sweep agent running trials one
after another in one allocation, or one run per rank), the Slurm row is
counted once and gets the runs' values as JSON objects keyed by run id
(``{"<run id>": {...}, ...}``), with ``run_id`` left null.
"""

from __future__ import annotations

import json

import pandas as pd

_ATTACHED = ("config_json", "metrics_json", "other_json")


def compute_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """The rows whose elapsed time is compute, each counted once."""
    jobs = jobs[~_containers(jobs)]
    pairs = link_runs(jobs)
    if pairs.empty:
        return jobs
    out = jobs.drop(index=pairs["run"].unique()).copy()
    _attach(out, jobs, pairs)
    return out


def _containers(jobs: pd.DataFrame) -> pd.Series:
    container = jobs["is_container"].astype("boolean").fillna(False).astype(bool)
    mlflow = jobs["source"].astype("string").eq("mlflow").fillna(False).astype(bool)
    parents = set(jobs.loc[mlflow, "parent_run_id"].dropna())
    named_parent = mlflow & jobs["run_id"].isin(parents)
    return container | named_parent


def link_runs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Pairs (``run``, ``slurm``) of index labels: each linked run and its Slurm row."""
    source = jobs["source"].astype("string")
    linked = jobs["linked_slurm_job_id"].astype("string")
    is_run = source.ne("slurm").fillna(False).astype(bool) & linked.notna()
    is_slurm = source.eq("slurm").fillna(False).astype(bool)
    if not is_run.any() or not is_slurm.any():
        return pd.DataFrame({"run": pd.Series([], dtype=object), "slurm": pd.Series([], dtype=object)})
    runs = pd.DataFrame({"run": jobs.index[is_run], "jid": linked[is_run].to_numpy(),
                         "run_cluster": jobs.loc[is_run, "cluster"].to_numpy(),
                         "run_start": jobs.loc[is_run, "start_time"].to_numpy()})
    sl = jobs[is_slurm]
    cands = []
    for col in ("job_id_raw", "job_id"):
        right = pd.DataFrame({"slurm": sl.index, "jid": sl[col].astype("string").to_numpy(),
                              "slurm_cluster": sl["cluster"].to_numpy(),
                              "s_start": sl["start_time"].to_numpy(),
                              "s_end": sl["end_time"].to_numpy()}).dropna(subset=["jid"])
        cands.append(runs.merge(right, on="jid"))
    c = pd.concat(cands, ignore_index=True).drop_duplicates(subset=["run", "slurm"])
    both = c["run_cluster"].notna() & c["slurm_cluster"].notna()
    c = c[~both | (c["run_cluster"].astype(str) == c["slurm_cluster"].astype(str))]
    n = c.groupby("run")["slurm"].transform("size")
    single = c[n == 1]
    multi = c[n > 1]
    if not multi.empty:
        start = pd.to_datetime(multi["run_start"], utc=True)
        inside = (start >= pd.to_datetime(multi["s_start"], utc=True)) & (
            pd.to_datetime(multi["s_end"], utc=True).isna()
            | (start <= pd.to_datetime(multi["s_end"], utc=True)))
        multi = multi[inside.fillna(False).astype(bool)]
        multi = multi[multi.groupby("run")["slurm"].transform("size") == 1]
    return pd.concat([single, multi])[["run", "slurm"]].reset_index(drop=True)


def _attach(out: pd.DataFrame, jobs: pd.DataFrame, pairs: pd.DataFrame) -> None:
    n = pairs.groupby("slurm")["run"].transform("size")
    one = pairs[n == 1]
    vals = jobs.loc[one["run"], list(_ATTACHED) + ["run_id"]].set_axis(one["slurm"].to_numpy())
    for many_slurm, group in pairs[n > 1].groupby("slurm", sort=False):  # few: shared jobs
        runs = jobs.loc[group["run"]]
        ids = runs["run_id"].where(runs["run_id"].notna(), runs["record_key"]).astype(str)
        row = {c: _keyed(ids, runs[c]) for c in _ATTACHED}
        row["run_id"] = None
        vals.loc[many_slurm] = pd.Series(row)
    _fill(out, vals, list(vals.columns))
    groups = jobs.loc[pairs["run"], ["group_id", "group_source"]].set_axis(pairs["slurm"].to_numpy())
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


def _keyed(ids: pd.Series, values: pd.Series) -> str | None:
    obj = {i: json.loads(v) for i, v in zip(ids, values, strict=True) if isinstance(v, str)}
    return json.dumps(obj, ensure_ascii=False) if obj else None
