"""Grid searches: which jobs belong to the same hyperparameter search.

Groups stated by the source (job arrays, W&B sweeps, MLflow parent runs, a
CSV column) are stored in ``group_id``; jobs submitted one by one are grouped
here at analysis time by documented, tunable heuristics
(:class:`GroupingParams`). Nothing computed here is stored, so changing a
heuristic never needs a re-ingest.

The heuristic, for jobs in no stored group:

1. **Name stem.** The job name is cut into tokens at ``-``, ``_``, spaces,
   ``,``, ``/``, ``:`` and ``+``; trailing tokens that look like
   hyperparameters (they contain a digit or ``=``: ``lr0.001``, ``drop0.3``,
   ``s2``, ``bs=32``, ``7``) are dropped: ``lisa-c05-srl-lr0.04-drop0.2`` ->
   ``lisa-c05-srl``. A name of one token keeps the text before its first digit
   or ``=`` (``run12`` -> ``run``). A name with no stem left (``12345``) is
   never grouped.
2. **Same submitter.** Jobs are compared only within one source, user and
   project.
3. **Burst.** Sorted by submission time (start time when the source has no
   submission time), a job more than ``max_gap_s`` after the previous one of
   the same stem starts a new burst.
4. **Size.** A burst of at least ``min_jobs`` jobs is a search
   (``search_method`` ``heuristic``); smaller bursts (a debugging session, a
   few final runs) are no search.
5. **Stragglers.** Before 4, bursts are also formed over all jobs: a job in
   no stored group whose burst holds jobs of exactly one stored group joins
   that group (its ``search_method`` is that group's source). A sweep agent
   job whose W&B run never started thus stays with its sweep.

Search ids are stable and readable: ``array:<cluster>:<array job id>``,
``sweep:<project>:<sweep id>``, ``mlflow_parent:<project>:<run id>``,
``csv:<project>:<group>``, and
``heuristic:<user>:<stem>:<first submission, UTC>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rdcost.errors import UsageError

#: Characters that separate the tokens of a job name.
NAME_SEPARATORS = r"-_\s,/:+"


@dataclass(frozen=True)
class GroupingParams:
    """How jobs submitted one by one are grouped into searches (see the module doc).

    max_gap_s: a job submitted more than this many seconds after the previous
        job of the same user and name stem starts a new search. Default one
        hour: a loop of ``sbatch`` calls, or a grid submitted in a few
        batches, stays together; tomorrow's re-run of the same script does not.
    min_jobs: fewer jobs than this in a burst are no search (debugging,
        a handful of final runs). Default 4.
    join_stored_bursts: a job in no stored group, submitted in the same
        burst as jobs of exactly one stored group, joins that group (rule 5:
        e.g. sweep agents that crashed before their W&B run existed, so only
        their Slurm record is left). Default True.
    use_heuristics: False keeps only the groups the sources state (and
        turns rule 5 off too).
    """

    max_gap_s: float = 3600.0
    min_jobs: int = 4
    join_stored_bursts: bool = True
    use_heuristics: bool = True

    def __post_init__(self) -> None:
        if not (self.max_gap_s >= 0 and np.isfinite(self.max_gap_s)):
            raise UsageError("max_gap_s must be a number of seconds >= 0", value=str(self.max_gap_s))
        if self.min_jobs < 2:
            raise UsageError("min_jobs must be at least 2 (one job is no search)",
                             value=str(self.min_jobs))


_HP_TOKEN = rf"[^{NAME_SEPARATORS}]*[\d=][^{NAME_SEPARATORS}]*"
_TRAILING_HP = rf"(?:[{NAME_SEPARATORS}]+{_HP_TOKEN})+$"
_HAS_SEPARATOR = rf"[{NAME_SEPARATORS}]"


def name_stem(names: pd.Series) -> pd.Series:
    """The name stem of each job name (rule 1 of the module doc); null when none."""
    s = names.astype("string")
    uniq = pd.Series(s.dropna().unique(), dtype="string")
    stem = uniq.str.replace(_TRAILING_HP, "", regex=True).str.strip(NAME_SEPARATORS.replace(r"\s", " "))
    single = ~stem.str.contains(_HAS_SEPARATOR, regex=True)
    stem = stem.where(~single, stem.str.replace(r"[\d=].*$", "", regex=True))
    stem = stem.where(stem.str.len() > 0)
    return s.map(dict(zip(uniq, stem, strict=True))).astype("string")


def _col(jobs: pd.DataFrame, name: str) -> pd.Series:
    if name in jobs:
        return jobs[name]
    return pd.Series(pd.NA, index=jobs.index, dtype="object")


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("")


def _when(jobs: pd.DataFrame) -> pd.Series:
    """Submission time, or start time where the source has none (W&B, MLflow)."""
    sub = pd.to_datetime(_col(jobs, "submit_time"), utc=True)
    return sub.fillna(pd.to_datetime(_col(jobs, "start_time"), utc=True))


def stored_search_ids(jobs: pd.DataFrame) -> pd.Series:
    """``<group_source>:<scope>:<group_id>`` for rows with a stored group, else null.

    The scope is the cluster for job arrays (array ids are per cluster) and the
    project otherwise.
    """
    gid = _col(jobs, "group_id").astype("string")
    src = _text(_col(jobs, "group_source")).replace("", "stored")
    cluster, project = _text(_col(jobs, "cluster")), _text(_col(jobs, "project"))
    scope = cluster.where((src == "array") & (cluster != ""), project)
    return (src + ":" + scope + ":" + gid).where(gid.notna())


_KEYS = ["source", "user", "project", "stem"]


def burst_frame(jobs: pd.DataFrame) -> pd.DataFrame:
    """The jobs that can be in a burst (a name stem and a time), sorted by key and time.

    Columns: the burst keys (source, user, project, stem), ``t`` (submission,
    else start time), ``key`` (an integer per key) and ``t_s`` (epoch seconds).
    """
    d = pd.DataFrame({"source": _text(_col(jobs, "source")), "user": _text(_col(jobs, "user")),
                      "project": _text(_col(jobs, "project")),
                      "stem": name_stem(_col(jobs, "job_name")), "t": _when(jobs)}, index=jobs.index)
    d = d[d["stem"].notna() & d["t"].notna()].sort_values(_KEYS + ["t"], kind="stable")
    d["key"] = d.groupby(_KEYS, sort=False, dropna=False).ngroup().to_numpy()
    d["t_s"] = d["t"].to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6
    return d


def burst_labels(d: pd.DataFrame, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Burst label of each row of a sorted :func:`burst_frame` (rule 3), and whether the
    row starts its burst."""
    key, t_s = d["key"].to_numpy(), d["t_s"].to_numpy()
    new = np.ones(len(d), dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (np.diff(t_s) > max_gap_s)
    return np.cumsum(new), new


def heuristic_search_ids(d: pd.DataFrame, params: GroupingParams) -> pd.Series:
    """``heuristic:<user>:<stem>:<time>`` for the rows of a sorted :func:`burst_frame` that
    are in a burst of ``min_jobs`` or more, else null (rules 3-4)."""
    burst, new = burst_labels(d, params.max_gap_s)
    size = np.bincount(burst)[burst]
    keep = size >= params.min_jobs
    result = pd.Series(pd.NA, index=d.index, dtype="string")
    if not keep.any():
        return result
    first = d[new & keep]
    ids = pd.Series(("heuristic:" + first["user"] + ":" + first["stem"] + ":"
                     + first["t"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_numpy(),
                    index=burst[new & keep], dtype="string")
    dup = ids.duplicated(keep=False)
    ids = ids.where(~dup, ids + "#" + (ids.groupby(ids).cumcount() + 1).astype(str))
    result.iloc[np.flatnonzero(keep)] = ids.reindex(burst[keep]).to_numpy()
    return result


def straggler_search_ids(d: pd.DataFrame, sid: pd.Series, params: GroupingParams) -> pd.Series:
    """For rows of a sorted :func:`burst_frame` in no stored group: the stored search of
    their burst when it holds jobs of exactly one stored search, else null (rule 5)."""
    burst, _ = burst_labels(d, params.max_gap_s)
    s = pd.Series(sid.loc[d.index].to_numpy(), index=burst, dtype="string")
    by = s.groupby(level=0)
    n_sids, the_sid = by.transform("nunique"), by.transform("first")
    join = (s.isna() & (n_sids == 1)).to_numpy()
    result = pd.Series(pd.NA, index=d.index, dtype="string")
    result.iloc[np.flatnonzero(join)] = the_sid.to_numpy()[join]
    return result


def find_groups(jobs: pd.DataFrame, params: GroupingParams | None = None) -> pd.DataFrame:
    """Per job (same index as ``jobs``): ``search_id`` and ``search_method``.

    ``search_method`` says how the group was found: the stored group_source
    (array, sweep, mlflow_parent, csv) or ``heuristic``. Jobs in no search
    have null in both. Stored groups win; a job in no stored group submitted
    in the same burst as jobs of one stored group joins it (rule 5); the
    heuristic groups are made of the jobs left.
    """
    params = params or GroupingParams()
    sid = stored_search_ids(jobs).astype("string")
    method = _text(_col(jobs, "group_source")).replace("", "stored").where(sid.notna()).astype("string")
    if params.use_heuristics:
        d = burst_frame(jobs)
        if params.join_stored_bursts and sid.notna().any():
            joined = straggler_search_ids(d, sid, params)
            joined = joined[joined.notna()]
            src = method.dropna().groupby(sid.dropna()).first()
            sid.loc[joined.index] = joined
            method.loc[joined.index] = joined.map(src)
        rest = d[sid.loc[d.index].isna().to_numpy()]
        hid = heuristic_search_ids(rest, params)
        hid = hid[hid.notna()]
        sid.loc[hid.index] = hid
        method.loc[hid.index] = "heuristic"
    return pd.DataFrame({"search_id": sid, "search_method": method}, index=jobs.index)


#: Normalized states counted in each ``n_*`` column of :func:`summarize_groups`.
STATE_COLUMNS = {
    "n_completed": ("COMPLETED",),
    "n_failed": ("FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"),
    "n_cancelled": ("CANCELLED", "PREEMPTED"),
    "n_timeout": ("TIMEOUT",),
}


def gpu_hours(jobs: pd.DataFrame) -> pd.Series:
    """GPUs x elapsed hours per job; null where either is unknown."""
    return _col(jobs, "n_gpus").astype("float64") * _col(jobs, "elapsed_s").astype("float64") / 3600


def summarize_groups(jobs: pd.DataFrame, groups: pd.DataFrame | None = None,
                     params: GroupingParams | None = None) -> pd.DataFrame:
    """One row per search, sorted by first submission.

    Columns: search_id, search_method, user (comma list if several), project,
    name (the name stem when all its jobs share one, else the first job's name), n_jobs,
    gpu_hours (sum over jobs whose GPUs and time are known; null if none is),
    first_submit_time, last_end_time, and job counts by state (n_completed,
    n_failed incl. out-of-memory and node failures, n_cancelled incl.
    preemption, n_timeout, n_other: running, pending, unknown...).
    """
    if groups is None:
        groups = find_groups(jobs, params)
    d = pd.DataFrame({"search_id": groups["search_id"], "search_method": groups["search_method"],
                      "user": _text(_col(jobs, "user")), "project": _col(jobs, "project").astype("string"),
                      "job_name": _col(jobs, "job_name").astype("string"),
                      "stem": name_stem(_col(jobs, "job_name")), "gpu_hours": gpu_hours(jobs),
                      "t": _when(jobs), "end": pd.to_datetime(_col(jobs, "end_time"), utc=True),
                      "state": _text(_col(jobs, "state"))}, index=jobs.index)
    d = d[d["search_id"].notna()].sort_values(["search_id", "t"], kind="stable")
    cols = ["search_id", "search_method", "user", "project", "name", "n_jobs", "gpu_hours",
            "first_submit_time", "last_end_time", *STATE_COLUMNS, "n_other"]
    if d.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    g = d.groupby("search_id", sort=False)
    first = g.head(1).set_index("search_id")
    out = pd.DataFrame({"search_method": first["search_method"], "project": first["project"]})
    users = d[["search_id", "user"]].drop_duplicates().sort_values(["search_id", "user"])
    out["user"] = users.groupby("search_id", sort=False)["user"].agg(",".join)
    one_stem = g["stem"].nunique() == 1
    out["name"] = first["stem"].where(one_stem & first["stem"].notna(), first["job_name"])
    out["n_jobs"] = g.size()
    out["gpu_hours"] = g["gpu_hours"].sum(min_count=1)
    out["first_submit_time"] = g["t"].min()
    out["last_end_time"] = g["end"].max()
    counted = pd.Series(False, index=d.index)
    for col, states in STATE_COLUMNS.items():
        hit = d["state"].isin(states)
        counted |= hit
        out[col] = hit.groupby(d["search_id"], sort=False).sum()
    out["n_other"] = (~counted).groupby(d["search_id"], sort=False).sum()
    out = out.reset_index().rename(columns={"index": "search_id"})
    out = out.sort_values(["first_submit_time", "search_id"], kind="stable", ignore_index=True)
    return out[cols]


def group_members(jobs: pd.DataFrame, groups: pd.DataFrame | None = None,
                  params: GroupingParams | None = None) -> pd.DataFrame:
    """The jobs of every search, one row each, sorted by search then submission."""
    if groups is None:
        groups = find_groups(jobs, params)
    d = pd.DataFrame({"search_id": groups["search_id"], "search_method": groups["search_method"],
                      "job_id": _col(jobs, "job_id"), "job_name": _col(jobs, "job_name"),
                      "user": _col(jobs, "user"), "state": _col(jobs, "state"),
                      "submit_time": _when(jobs), "end_time": _col(jobs, "end_time"),
                      "n_gpus": _col(jobs, "n_gpus"), "gpu_hours": gpu_hours(jobs)}, index=jobs.index)
    d = d[d["search_id"].notna()]
    return d.sort_values(["search_id", "submit_time"], kind="stable", ignore_index=True)
