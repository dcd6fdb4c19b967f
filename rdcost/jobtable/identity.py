"""Which Slurm records are the same job, across exports that do not all carry the
cluster or the submit time (the default ``sacct`` output has neither; ``--json`` has
both), so that every job is stored once whatever was ingested, in whatever order
(docs/job-table.md, "One job, one row").

A Slurm record's key is ``slurm:<cluster>:<job id>:<submit time>`` with empty parts
where the export lacks them. Two records with different keys are the same job when:

- their job ids are equal (a pending array remainder ``123_[5-10]`` counts as
  ``123_[]``, as in the key);
- their clusters are equal, or one is unknown and the store (with what is being
  ingested) knows at most one cluster;
- at least one of submit, start and end time is known in both and equal (to the
  second), and none known in both differs. An allocation inferred from its steps
  (``is_inferred``: its allocation line was not in the file) has the steps' submit
  time, which is their own start, not the job's, and its end is the last step's,
  which may be a second before the job's: with such a record only the start times
  are compared (a job's first step starts when the job does).

Records found to be one job get one key: a logged allocation's before an inferred
one's, then the one that says the most (cluster and submit known), a stored key
before a new one, then the first in text order. Records
that agree on everything but are shifted by a whole number of hours are counted as
``tz_suspects`` (a wrong ``--tz`` at one of the ingests), not merged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rdcost.plural import noun, plural

ID_COLUMNS = [
    "record_key",
    "source",
    "cluster",
    "job_id",
    "submit_time",
    "start_time",
    "end_time",
    "is_inferred",
]
_TIMES = ("submit_time", "start_time", "end_time")


@dataclass
class Resolution:
    """The outcome: ``rekey`` maps a key to the key of its job (only keys that change);
    ``components`` lists the keys found to be one job (more than one key each)."""

    rekey: dict[str, str] = field(default_factory=dict)
    components: list[list[str]] = field(default_factory=list)
    tz_suspects: int = 0
    notes: list[str] = field(default_factory=list)


def resolve(incoming: pd.DataFrame, stored: pd.DataFrame, n_clusters: int) -> Resolution:
    """Match incoming Slurm records to each other and to stored ones (both frames with
    :data:`ID_COLUMNS` and ``is_stored``); ``n_clusters`` is how many distinct clusters
    the store and the incoming records name."""
    rows = pd.concat(
        [incoming.assign(is_stored=False), stored.assign(is_stored=True)], ignore_index=True
    )
    rows = rows[rows["source"].astype("string").eq("slurm").fillna(False).to_numpy(dtype=bool)]
    if rows.empty:
        return Resolution()
    rows = rows.drop_duplicates(subset=["record_key"], keep="last").reset_index(drop=True)
    rows["jid"] = rows["job_id"].astype("string").str.replace(r"_\[.*\]$", "_[]", regex=True)
    pairs = _candidate_pairs(rows)
    if pairs.empty:
        return Resolution()
    same, shifted = _same_job(pairs, single_cluster=n_clusters <= 1)
    res = Resolution(tz_suspects=int(shifted.sum()))
    if res.tz_suspects:
        res.notes.append(
            f"{plural(res.tz_suspects, 'record')} {noun(res.tz_suspects, 'has', 'have')} the job "
            "id of a stored record and times shifted by whole hours: "
            f"{noun(res.tz_suspects, 'it is', 'they are')} kept apart (was --tz the same at both "
            "ingests?)"
        )
    matched = pairs[same]
    if matched.empty:
        return res
    stored_keys = set(rows.loc[rows["is_stored"].to_numpy(dtype=bool), "record_key"])
    inferred_keys = set(rows.loc[_inferred(rows["is_inferred"]), "record_key"])
    for comp in _components(matched["key_l"].to_numpy(), matched["key_r"].to_numpy()):
        keys = sorted(comp, key=lambda k: (k in inferred_keys, *_rank(k, k in stored_keys)))
        res.components.append(keys)
        for k in keys[1:]:
            res.rekey[k] = keys[0]
    return res


def _candidate_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """Pairs of different keys with the same job id (each pair once)."""
    dup = rows["jid"].duplicated(keep=False) & rows["jid"].notna()
    r = rows[dup.to_numpy(dtype=bool)]
    if r.empty:
        return pd.DataFrame()
    cols = ["record_key", "cluster", *_TIMES, "is_inferred", "jid"]
    p = r[cols].merge(r[cols], on="jid", suffixes=("_l", "_r"))
    p = p[p["record_key_l"] < p["record_key_r"]]
    return p.rename(columns={"record_key_l": "key_l", "record_key_r": "key_r"}).reset_index(
        drop=True
    )


def _same_job(p: pd.DataFrame, single_cluster: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: the same job (see the module doc); and shifted by whole hours only."""
    cl, cr = p["cluster_l"].astype("string"), p["cluster_r"].astype("string")
    both = (cl.notna() & cr.notna()).to_numpy(dtype=bool)
    clusters_ok = np.where(both, (cl == cr).fillna(False).to_numpy(dtype=bool), single_cluster)
    agree = np.zeros(len(p), dtype=int)
    conflict = np.zeros(len(p), dtype=int)
    shift_only = np.ones(len(p), dtype=bool)
    n_both = np.zeros(len(p), dtype=int)
    inferred = _inferred(p["is_inferred_l"]) | _inferred(p["is_inferred_r"])
    for t in _TIMES:
        a, b = pd.to_datetime(p[f"{t}_l"], utc=True), pd.to_datetime(p[f"{t}_r"], utc=True)
        known = (a.notna() & b.notna()).to_numpy(dtype=bool)
        if t != "start_time":  # an inferred allocation has its steps' submit and end
            known = known & ~inferred
        diff = (a - b).dt.total_seconds().abs().to_numpy(dtype=float)
        eq = known & (diff < 1)
        agree += eq
        conflict += known & ~eq
        n_both += known
        whole_hours = known & ~eq & (np.abs(diff / 3600 - np.round(diff / 3600)) < 1 / 3600)
        shift_only &= ~known | whole_hours
    same = clusters_ok & (agree >= 1) & (conflict == 0)
    shifted = clusters_ok & (n_both >= 1) & (agree == 0) & shift_only
    return same, shifted


def _inferred(col: pd.Series) -> np.ndarray:
    return col.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _components(left: np.ndarray, right: np.ndarray) -> list[set[str]]:
    """Connected components of the key pairs (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(left, right, strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    groups: dict[str, set[str]] = {}
    for k in parent:
        groups.setdefault(find(k), set()).add(k)
    return [g for g in groups.values() if len(g) > 1]


def _rank(key: str, stored: bool) -> tuple:
    """Sort order of a job's keys: the most complete first, stored before new, then by text."""
    parts = key.split(":")
    complete = (len(parts) > 1 and parts[1] != "") + (len(parts) > 3 and ":".join(parts[3:]) != "")
    return (-complete, not stored, key)


def moves(old_projects: pd.Series, new_projects: pd.Series) -> Counter:
    """(old project, new project) -> jobs, where a record's project changes."""
    o, n = old_projects.astype("string"), new_projects.astype("string")
    changed = (o.notna() & n.notna() & (o != n)).fillna(False).to_numpy(dtype=bool)
    return Counter(zip(o[changed].tolist(), n[changed].tolist(), strict=True))
