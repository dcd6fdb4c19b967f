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

6. **Arrays.** A job array is a search only when it has at least
   ``min_jobs`` jobs, like a burst (a one-task array, or an array of two
   runs, is a batch, not a hyperparameter search); its jobs are then grouped
   by the rules above. A pending array remainder (``123_[5-10]``) is in no
   search: it is no job that ran.

W&B names the runs of a sweep ``<word>-sweep-<n>`` (``mild-sweep-1``); such
names have the stem ``sweep``, so the runs of a sweep whose id the export
left out still form one burst.

Search ids are stable and readable: ``array:<cluster>:<array job id>``,
``sweep:<project>:<sweep id>``, ``mlflow_parent:<project>:<run id>``,
``csv:<project>:<group>``, and
``heuristic:<user>:<stem>:<first submission, UTC>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
            raise UsageError(
                "max_gap_s must be a number of seconds >= 0", value=str(self.max_gap_s)
            )
        if self.min_jobs < 2:
            raise UsageError(
                "min_jobs must be at least 2 (one job is no search)", value=str(self.min_jobs)
            )


_HP_TOKEN = rf"[^{NAME_SEPARATORS}]*[\d=][^{NAME_SEPARATORS}]*"
_TRAILING_HP = rf"(?:[{NAME_SEPARATORS}]+{_HP_TOKEN})+$"
_HAS_SEPARATOR = rf"[{NAME_SEPARATORS}]"


def name_stem(names: pd.Series) -> pd.Series:
    """The name stem of each job name (rule 1 of the module doc); null when none."""
    s = names.astype("string")
    uniq = pd.Series(s.dropna().unique(), dtype="string")
    stem = uniq.str.replace(_TRAILING_HP, "", regex=True).str.strip(
        NAME_SEPARATORS.replace(r"\s", " ")
    )
    single = ~stem.str.contains(_HAS_SEPARATOR, regex=True)
    stem = stem.where(~single, stem.str.replace(r"[\d=].*$", "", regex=True))
    stem = stem.where(stem.str.len() > 0)
    sweep_run = uniq.str.fullmatch(r"[A-Za-z]+-sweep-\d+").fillna(False).astype(bool)
    stem = stem.where(~sweep_run, "sweep")  # W&B's names for the runs of a sweep
    return s.map(dict(zip(uniq, stem, strict=True))).astype("string")


def _col(jobs: pd.DataFrame, name: str) -> pd.Series:
    if name in jobs:
        return jobs[name]
    return pd.Series(pd.NA, index=jobs.index, dtype="object")


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("")


def when_submitted(jobs: pd.DataFrame) -> pd.Series:
    """Submission time, or start time where the source has none (W&B, MLflow)."""
    sub = pd.to_datetime(_col(jobs, "submit_time"), utc=True)
    return sub.fillna(pd.to_datetime(_col(jobs, "start_time"), utc=True))


# -- the rules on integer codes (one implementation for a table and for partitions) ----


def _arrow_text(s: pd.Series, fill: str | None = "") -> pa.Array:
    """A text column as Arrow strings (zero-copy when Arrow-backed), nulls as ``fill``."""
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr if fill is None else pc.fill_null(arr, fill)


def _encode(arr: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for null) and the distinct values, in order of first appearance."""
    enc = pc.dictionary_encode(arr)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


def stored_search_codes(jobs: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's stored search ``<group_source>:<scope>:<group_id>`` as a code into the
    distinct ids (-1: no stored group). The scope is the cluster for job arrays (array
    ids are per cluster) and the project otherwise."""
    if not len(jobs):
        return np.zeros(0, np.int64), []
    gid = _arrow_text(_col(jobs, "group_id"), None)
    src = _arrow_text(_col(jobs, "group_source"))
    src = pc.if_else(pc.equal(src, ""), "stored", src)
    cluster, project = _arrow_text(_col(jobs, "cluster")), _arrow_text(_col(jobs, "project"))
    scope = pc.if_else(pc.and_(pc.equal(src, "array"), pc.not_equal(cluster, "")), cluster, project)
    return _encode(pc.binary_join_element_wise(src, scope, gid, ":"))


#: Separator of the parts of a burst key text (source, user, project, name stem).
KEY_SEP = "\x1f"


def burst_key_codes(jobs: pd.DataFrame, timed: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each row's burst key (source, user, project, name stem; rule 2) as a code into the
    distinct keys, their parts joined by :data:`KEY_SEP`; -1 for rows without a stem or
    without a time (``timed`` False)."""
    n = len(jobs)
    if not n:
        return np.zeros(0, np.int64), []
    name_c, names = _encode(_arrow_text(_col(jobs, "job_name")))
    stems = name_stem(pd.Series(names, dtype="string"))  # once per distinct name
    stem_c, stem_u = pd.factorize(stems)  # -1: no stem
    row_stem = stem_c[name_c]
    parts = [_encode(_arrow_text(_col(jobs, c))) for c in ("source", "user", "project")]
    combined = np.zeros(n, np.int64)
    for codes, uniq in [*parts, (row_stem, list(stem_u))]:
        combined = pd.factorize(combined * (len(uniq) + 1) + (codes + 1))[0].astype(np.int64)
    keyed = timed & (row_stem >= 0)
    out = np.full(n, -1, np.int64)
    if not keyed.any():
        return out, []
    local, _ = pd.factorize(combined[keyed])
    out[keyed] = local
    first = np.flatnonzero(keyed)[pd.Series(local).drop_duplicates().index.to_numpy()]
    texts = [np.asarray(u, dtype=object)[c[first]] for c, u in parts]
    texts.append(np.asarray(stem_u, dtype=object)[row_stem[first]])
    keys = [KEY_SEP.join(v) for v in zip(*texts, strict=True)]
    return out, keys


def burst_labels(d: pd.DataFrame, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Burst label of each row of a frame sorted by ``key`` then ``t_s`` (rule 3), and
    whether the row starts its burst."""
    key, t_s = d["key"].to_numpy(), d["t_s"].to_numpy()
    new = np.ones(len(d), dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (np.diff(t_s) > max_gap_s)
    return np.cumsum(new), new


@dataclass
class SearchLabels:
    """Each row's search, by the rules of the module doc, on integer codes.

    ``label``: per row, the code of its stored search (``0 .. n_stored - 1``,
    the codes of :func:`stored_search_codes`), ``n_stored + b`` for heuristic
    search ``b``, or -1. ``heuristic_first``: per heuristic search, the row
    that starts it (its first submission).
    """

    label: np.ndarray
    n_stored: int
    heuristic_first: np.ndarray

    def sizes(self) -> np.ndarray:
        """Jobs per search: stored searches (by code), then heuristic ones."""
        have = self.label[self.label >= 0]
        size = np.bincount(have, minlength=self.n_stored + len(self.heuristic_first))
        return size[size > 0]


def search_labels(
    sid: np.ndarray,
    n_stored: int,
    key: np.ndarray,
    t_s: np.ndarray,
    params: GroupingParams,
    stored_names: Sequence[str] | None = None,
) -> SearchLabels:
    """Rules 3-6 of the module doc on codes: ``sid`` stored search per row (-1 none),
    ``key`` burst key (-1: no name stem or time), ``t_s`` submission time in seconds;
    rows in table order. ``stored_names`` (the ids of the stored codes) lets job arrays
    smaller than ``min_jobs`` be no search (rule 6)."""
    label = sid.astype(np.int64).copy()
    if stored_names is not None and (label >= 0).any():
        size = np.bincount(label[label >= 0], minlength=n_stored)
        is_array = np.array([str(x).startswith("array:") for x in stored_names], dtype=bool)
        small = is_array & (size < params.min_jobs)
        if small.any():
            label[(label >= 0) & small[np.maximum(label, 0)]] = -1
    firsts = np.zeros(0, np.int64)
    if params.use_heuristics and len(key):
        rows = np.flatnonzero(key >= 0)
        order = rows[np.lexsort((t_s[rows], key[rows]))]  # stable: ties keep table order
        d = pd.DataFrame({"key": key[order], "t_s": t_s[order]})
        if params.join_stored_bursts and (label >= 0).any():
            burst, _ = burst_labels(d, params.max_gap_s)
            s = label[order]
            have = s >= 0
            pairs = pd.DataFrame({"b": burst[have], "s": s[have]}).drop_duplicates()
            one = pairs.groupby("b")["s"].agg(["nunique", "first"])
            one = one[one["nunique"] == 1]["first"]
            join = ~have & np.isin(burst, one.index.to_numpy())
            label[order[join]] = one.reindex(burst[join]).to_numpy()
        rest = order[label[order] < 0]
        burst, new = burst_labels(
            pd.DataFrame({"key": key[rest], "t_s": t_s[rest]}), params.max_gap_s
        )
        size = np.bincount(burst)
        keep = size[burst] >= params.min_jobs
        if keep.any():
            hb, hcode = np.unique(burst[keep], return_inverse=True)
            label[rest[keep]] = n_stored + hcode
            firsts = rest[new & keep]
    return SearchLabels(label, n_stored, firsts)


def pending_remainder(jobs: pd.DataFrame) -> np.ndarray:
    """Rows of a pending array remainder (``123_[5-10]``): tasks that never started, one
    record for many; no job, in no search (rule 6)."""
    if "job_id" not in jobs:
        return np.zeros(len(jobs), dtype=bool)
    ids = jobs["job_id"].astype("string")
    return ids.str.contains("_[", regex=False).fillna(False).to_numpy(dtype=bool)


def find_groups(jobs: pd.DataFrame, params: GroupingParams | None = None) -> pd.DataFrame:
    """Per job (same index as ``jobs``): ``search_id`` and ``search_method``.

    ``search_method`` says how the group was found: the stored group_source
    (array, sweep, mlflow_parent, csv) or ``heuristic``. Jobs in no search
    have null in both. Stored groups win; a job in no stored group submitted
    in the same burst as jobs of one stored group joins it (rule 5); the
    heuristic groups are made of the jobs left.
    """
    params = params or GroupingParams()
    sid, sid_names = stored_search_codes(jobs)
    remainder = pending_remainder(jobs)
    sid = np.where(remainder, -1, sid)
    when = when_submitted(jobs)
    if params.use_heuristics:
        key, key_names = burst_key_codes(jobs, when.notna().to_numpy() & ~remainder)
        t_s = np.where(
            key >= 0, when.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6, np.nan
        )
    else:
        key, key_names, t_s = np.zeros(0, np.int64), [], np.zeros(0)
    lab = search_labels(sid, len(sid_names), key, t_s, params, stored_names=sid_names)
    ids = search_ids(lab, sid_names, key, key_names, when)
    methods = [n.split(":", 1)[0] for n in sid_names] + ["heuristic"] * len(lab.heuristic_first)
    have = lab.label >= 0
    search_id = pd.Series(pd.NA, index=jobs.index, dtype="string")
    method = pd.Series(pd.NA, index=jobs.index, dtype="string")
    if have.any():
        search_id.iloc[np.flatnonzero(have)] = np.asarray(ids, dtype=object)[lab.label[have]]
        method.iloc[np.flatnonzero(have)] = np.asarray(methods, dtype=object)[lab.label[have]]
    return pd.DataFrame({"search_id": search_id, "search_method": method}, index=jobs.index)


def search_ids(
    lab: SearchLabels,
    stored_names: Sequence[str],
    key: np.ndarray,
    key_names: list[str],
    when: pd.Series,
) -> list[str]:
    """The id of every search of ``lab`` (by its code): the stored ids, then
    ``heuristic:<user>:<stem>:<first submission>`` (``when``: each row's submission)."""
    return list(stored_names) + _heuristic_ids(lab.heuristic_first, key, key_names, when)


def _heuristic_ids(
    firsts: np.ndarray, key: np.ndarray, key_names: list[str], when: pd.Series
) -> list[str]:
    """``heuristic:<user>:<stem>:<first submission, UTC>`` of each heuristic search; ids
    that two searches share get ``#1``, ``#2`` in the order of their (source, user,
    project, stem, first submission)."""
    if not len(firsts):
        return []
    parts = [key_names[k].split(KEY_SEP) for k in key[firsts]]
    t = when.iloc[firsts]
    base = pd.Series(
        [
            f"heuristic:{p[1]}:{p[3]}:{x}"
            for p, x in zip(parts, t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), strict=True)
        ],
        dtype="string",
    )
    tv = t.to_numpy(dtype="datetime64[ns]")  # not t.iloc[i] in the key: one Python call each
    order = sorted(range(len(firsts)), key=lambda i: (*parts[i], tv[i]))
    ranked = base.iloc[order]
    dup = ranked.duplicated(keep=False)
    ranked = ranked.where(~dup, ranked + "#" + (ranked.groupby(ranked).cumcount() + 1).astype(str))
    return ranked.sort_index().tolist()


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


def summarize_groups(
    jobs: pd.DataFrame, groups: pd.DataFrame | None = None, params: GroupingParams | None = None
) -> pd.DataFrame:
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
    d = pd.DataFrame(
        {
            "search_id": groups["search_id"],
            "search_method": groups["search_method"],
            "user": _text(_col(jobs, "user")),
            "project": _col(jobs, "project").astype("string"),
            "job_name": _col(jobs, "job_name").astype("string"),
            "stem": name_stem(_col(jobs, "job_name")),
            "gpu_hours": gpu_hours(jobs),
            "t": when_submitted(jobs),
            "end": pd.to_datetime(_col(jobs, "end_time"), utc=True),
            "state": _text(_col(jobs, "state")),
        },
        index=jobs.index,
    )
    d = d[d["search_id"].notna()].sort_values(["search_id", "t"], kind="stable")
    cols = [
        "search_id",
        "search_method",
        "user",
        "project",
        "name",
        "n_jobs",
        "gpu_hours",
        "first_submit_time",
        "last_end_time",
        *STATE_COLUMNS,
        "n_other",
    ]
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


def group_members(
    jobs: pd.DataFrame, groups: pd.DataFrame | None = None, params: GroupingParams | None = None
) -> pd.DataFrame:
    """The jobs of every search, one row each, sorted by search then submission."""
    if groups is None:
        groups = find_groups(jobs, params)
    d = pd.DataFrame(
        {
            "search_id": groups["search_id"],
            "search_method": groups["search_method"],
            "job_id": _col(jobs, "job_id"),
            "job_name": _col(jobs, "job_name"),
            "user": _col(jobs, "user"),
            "state": _col(jobs, "state"),
            "submit_time": when_submitted(jobs),
            "end_time": _col(jobs, "end_time"),
            "n_gpus": _col(jobs, "n_gpus"),
            "gpu_hours": gpu_hours(jobs),
        },
        index=jobs.index,
    )
    d = d[d["search_id"].notna()]
    return d.sort_values(["search_id", "submit_time"], kind="stable", ignore_index=True)
