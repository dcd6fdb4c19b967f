"""Before an ingest's rows are merged into their partitions: the records that are one
job with a record under another key, or under the same key in another partition, are
brought together (:mod:`rdcost.jobtable.identity`), merged field by field
(:mod:`rdcost.jobtable.record_merge`), given their job's key, and staged again in the
partition of the merged row; their stored versions are dropped from where they were.

Everything else (the common case: new jobs, or the same key in the same partition)
is left to the per-partition merge. Memory: the rows that move, whatever the store's size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from rdcost.jobtable import schema
from rdcost.jobtable.identity import ID_COLUMNS, Resolution, moves, resolve
from rdcost.jobtable.record_merge import fold_versions


@dataclass
class Consolidation:
    """What :func:`consolidate` decided (see the module doc)."""

    moved: pa.Table | None = None  # merged rows of the jobs that move
    drop: dict[str, set[str]] = field(default_factory=dict)  # partition -> stored keys to drop
    take_out: set[str] = field(default_factory=set)  # staged keys replaced by ``moved``
    n_new: int = 0
    n_updated: int = 0
    n_unchanged: int = 0
    n_merged: int = 0
    project_moves: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def consolidate(
    store_files: dict[str, list[Path]],
    staged: dict[str, list[Path]],
    read_staged: Callable[[Path], pa.Table],
    now: pd.Timestamp,
) -> Consolidation:
    """``store_files``: partition -> live parquet files; ``staged``: partition -> staged
    Arrow files of this ingest (read with ``read_staged``).

    Only the records whose job id occurs under more than one key can be matched
    (:func:`resolve`); they are found in Arrow from a lean table of the incoming Slurm
    keys and job ids (no times, the partition as a number), and only their identity
    rows are read in full and go on to pandas. A store without Slurm rows needs no
    comparison with stored rows at all; a large ingest of new jobs costs a few passes
    over two string columns.
    """
    lean, clusters = _incoming_keys(staged, read_staged)
    slurm_store = {p: f for p, f in store_files.items() if p.startswith("source=slurm/")}
    if not lean.num_rows and not store_files:
        return Consolidation()
    parts = list(staged)
    if slurm_store and lean.num_rows:
        stored = _stored_ids(slurm_store, pc.unique(lean["job_id"]).drop_null())
    else:
        stored = _ID_SCHEMA.empty_table()
    n_clusters = len(clusters | set(pc.unique(stored["cluster"]).drop_null().to_pylist()))
    shared = _shared_job_ids(lean, stored)
    incoming = _staged_ids(staged, read_staged, shared) if len(shared) else _ID_SCHEMA.empty_table()
    res = resolve(
        schema_free_pandas(_with_job_ids(incoming, shared)),
        schema_free_pandas(_with_job_ids(stored, shared)),
        n_clusters,
    )
    moving = set(res.rekey) | set(res.rekey.values()) | _split_keys(lean, parts, stored)
    out = Consolidation(notes=list(res.notes))
    if not moving:
        return out
    stored_df = schema_free_pandas(
        stored.filter(pc.is_in(stored["record_key"], value_set=pa.array(sorted(moving))))
    )
    old = _stored_rows(store_files, stored_df, moving)
    new = _staged_rows(staged, read_staged, moving)
    out.take_out = set(new["record_key"])
    for part, keys in stored_df[["partition", "record_key"]].groupby("partition")["record_key"]:
        out.drop[str(part)] = set(keys)
    out.moved = _fold(old, new, res, now, out)
    return out


_ID_SCHEMA = pa.schema(
    [schema.ARROW_SCHEMA.field(c) for c in ID_COLUMNS] + [pa.field("partition", pa.string())]
)


def schema_free_pandas(t: pa.Table) -> pd.DataFrame:
    """Identity rows as pandas (the job table's dtypes, plus ``partition``)."""
    return schema.to_pandas(t)


def _normalized_jid(job_id: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """The job id as :mod:`rdcost.jobtable.identity` compares it (``123_[5-10]`` -> ``123_[]``)."""
    return pc.replace_substring_regex(job_id, r"_\[.*\]$", "_[]")


def _slurm(t: pa.Table) -> pa.Table:
    return t.filter(pc.fill_null(pc.equal(t["source"], "slurm"), False))


def _incoming_keys(
    staged: dict[str, list[Path]], read_staged: Callable[[Path], pa.Table]
) -> tuple[pa.Table, set[str]]:
    """The incoming Slurm rows as (record_key, job_id, jid, part: index in ``staged``),
    and the clusters that any incoming row names."""
    tables, clusters = [], set()
    for i, paths in enumerate(staged.values()):
        for p in paths:
            t = read_staged(p).select(["record_key", "source", "cluster", "job_id"])
            clusters.update(pc.unique(t["cluster"]).drop_null().to_pylist())
            t = _slurm(t)
            tables.append(
                pa.table(
                    {
                        "record_key": t["record_key"],
                        "job_id": t["job_id"],
                        "jid": _normalized_jid(t["job_id"]),
                        "part": pa.array(np.full(t.num_rows, i, dtype=np.int32)),
                    }
                )
            )
    if not tables:
        empty = pa.array([], pa.string())
        return pa.table(
            {"record_key": empty, "job_id": empty, "jid": empty, "part": pa.array([], pa.int32())}
        ), clusters
    return pa.concat_tables(tables), clusters


def _shared_job_ids(lean: pa.Table, stored: pa.Table) -> pa.Array:
    """The (normalized) Slurm job ids that have more than one record key among the
    incoming and stored rows: the only ones whose records two keys can be matched in."""
    keyed = pa.concat_tables(
        [
            lean.select(["jid", "record_key"]),
            pa.table(
                {
                    "jid": _normalized_jid(_slurm(stored)["job_id"]),
                    "record_key": _slurm(stored)["record_key"],
                }
            ),
        ]
    )
    if not keyed.num_rows:
        return pa.array([], pa.string())
    if pc.count_distinct(keyed["jid"], mode="all").as_py() == keyed.num_rows:
        return pa.array([], pa.string())  # every job id on one row: one key each
    counts = keyed.group_by("jid").aggregate([("record_key", "count_distinct")])
    return counts.filter(pc.greater(counts["record_key_count_distinct"], 1))["jid"].combine_chunks()


def _with_job_ids(rows: pa.Table, jids: pa.Array) -> pa.Table:
    """The Slurm rows of ``rows`` whose normalized job id is in ``jids``."""
    if not len(jids) or not rows.num_rows:
        return rows.slice(0, 0)
    rows = _slurm(rows)
    return rows.filter(pc.is_in(_normalized_jid(rows["job_id"]), value_set=jids))


def _staged_ids(
    staged: dict[str, list[Path]], read_staged: Callable[[Path], pa.Table], jids: pa.Array
) -> pa.Table:
    """The identity columns of the staged Slurm rows whose normalized job id is in ``jids``."""
    parts = []
    for part, paths in staged.items():
        for p in paths:
            t = _with_job_ids(read_staged(p).select(ID_COLUMNS), jids)
            parts.append(t.append_column("partition", pa.array([part] * t.num_rows, pa.string())))
    if not parts:
        return _ID_SCHEMA.empty_table()
    return pa.concat_tables(parts).cast(_ID_SCHEMA)


def _stored_ids(store_files: dict[str, list[Path]], job_ids: pa.Array) -> pa.Table:
    """Identity columns of the stored Slurm rows with these job ids, with their partition."""
    tables = []
    want = job_ids.cast(pa.string())
    for part, paths in store_files.items():
        if not part.startswith("source=slurm/") or not len(job_ids):
            continue
        d = ds.dataset([str(p) for p in paths], schema=schema.ARROW_SCHEMA, format="parquet")
        t = d.to_table(columns=ID_COLUMNS, filter=ds.field("job_id").isin(want))
        if t.num_rows:
            tables.append(t.append_column("partition", pa.array([part] * t.num_rows, pa.string())))
    if not tables:
        return _ID_SCHEMA.empty_table()
    return pa.concat_tables(tables).cast(_ID_SCHEMA)


def _split_keys(lean: pa.Table, parts: list[str], stored: pa.Table) -> set[str]:
    """Keys stored in one partition and arriving in another (their times became known)."""
    if not stored.num_rows or not lean.num_rows:
        return set()
    mine = lean.filter(pc.is_in(lean["record_key"], value_set=stored["record_key"]))
    if not mine.num_rows:
        return set()
    names = pa.array(parts, pa.string()).take(mine["part"])
    a = pa.table({"record_key": mine["record_key"], "p_in": names})
    b = stored.select(["record_key", "partition"]).rename_columns(["record_key", "p_st"])
    both = a.join(b, "record_key", join_type="inner")
    differs = pc.fill_null(pc.not_equal(both["p_in"], both["p_st"]), False)
    return set(both["record_key"].filter(differs).to_pylist())


def _stored_rows(
    store_files: dict[str, list[Path]], stored: pd.DataFrame, keys: set[str]
) -> pd.DataFrame:
    """The whole stored rows with these keys, from the partitions that hold them."""
    sel = stored[stored["record_key"].isin(keys)]
    frames = []
    for part, g in sel.groupby("partition"):
        d = ds.dataset(
            [str(p) for p in store_files[str(part)]], schema=schema.ARROW_SCHEMA, format="parquet"
        )
        t = d.to_table(
            filter=ds.field("record_key").isin(pa.array(sorted(set(g["record_key"])), pa.string()))
        )
        frames.append(schema.to_pandas(t))
    return pd.concat(frames, ignore_index=True) if frames else schema.empty_frame()


def _staged_rows(
    staged: dict[str, list[Path]], read_staged: Callable[[Path], pa.Table], keys: set[str]
) -> pd.DataFrame:
    want = pa.array(sorted(keys), pa.string())
    frames = []
    for paths in staged.values():
        for p in paths:
            t = read_staged(p)
            t = t.filter(pc.is_in(t["record_key"], value_set=want))
            if t.num_rows:
                frames.append(schema.to_pandas(t))
    return pd.concat(frames, ignore_index=True) if frames else schema.empty_frame()


def _fold(
    old: pd.DataFrame, new: pd.DataFrame, res: Resolution, now: pd.Timestamp, out: Consolidation
) -> pa.Table:
    """One merged row per job: stored versions first, then the incoming ones in order
    (merged in rounds: every job's second version, then every third...)."""
    rows = pd.concat(
        [old.assign(_src=0, _ord=range(len(old))), new.assign(_src=1, _ord=range(len(new)))],
        ignore_index=True,
    )
    rows["record_key"] = rows["record_key"].map(lambda k: res.rekey.get(k, k)).astype(object)
    rows = rows.sort_values(["record_key", "_src", "_ord"], kind="stable").reset_index(drop=True)
    had_stored = rows.groupby("record_key", sort=False)["_src"].min().eq(0)
    n_new_versions = rows.groupby("record_key", sort=False)["_src"].sum()
    versions = rows.drop(columns=["_src", "_ord"])
    v = versions.groupby("record_key", sort=False).cumcount().to_numpy()
    for i in range(1, int(v.max(initial=0)) + 1):  # project moves, version by version
        prev = versions[v == i - 1].set_index("record_key")["project"]
        cur = versions[v == i].set_index("record_key")["project"]
        out.project_moves.update(moves(prev.reindex(cur.index), cur))
    acc, first = fold_versions(versions)
    first = first.set_index("record_key", drop=False)
    acc = acc.set_index("record_key", drop=False)
    acc["ingested_time"] = now
    # each incoming record counts once: new, updated or unchanged (the first of its job), else merged
    same = _row_hashes(first) == _row_hashes(acc)
    stored_keys = had_stored.reindex(first.index).to_numpy(dtype=bool)
    incoming = n_new_versions.reindex(first.index).to_numpy() > 0
    out.n_unchanged += int((incoming & stored_keys & same).sum())
    out.n_updated += int((incoming & stored_keys & ~same).sum())
    out.n_new += int((incoming & ~stored_keys).sum())
    out.n_merged += int(n_new_versions.sum()) - int(incoming.sum())
    return schema.to_arrow(acc.reset_index(drop=True)[list(schema.COLUMN_NAMES)])


_FACTS = [
    c
    for c in schema.COLUMN_NAMES
    if c not in ("ingested_time", "source_file", "source_line", "source_format")
]


def _row_hashes(df: pd.DataFrame):
    return pd.util.hash_pandas_object(df[_FACTS].astype("string"), index=False).to_numpy()
