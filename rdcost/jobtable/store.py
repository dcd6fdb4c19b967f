"""The on-disk store: a partitioned parquet dataset of the job table.

Layout of a store directory::

    manifest.json                       the commit point: live files + ingested inputs
    jobs/source=slurm/month=2018-03/part-<uuid>.parquet   (several past MAX_FILE_ROWS rows)
    rejected/<time>-<input name>.csv    records that could not be stored, with reasons
    .lock                               writers hold an exclusive flock on it

Guarantees:

- Idempotent: rows are keyed by ``record_key``; re-ingesting a record changes
  nothing, a later export of the same job (RUNNING, then COMPLETED) updates it,
  and a non-final state never overwrites a final one.
- Atomic: new parquet files are written first, then ``manifest.json`` is
  replaced in one ``os.replace``. A crash at any point leaves either the old or
  the new manifest, and files the manifest does not list are ignored and
  cleaned up by the next writer.
- Serialized: one writer at a time (flock); a second one waits, then fails
  with a clear message after ``lock_timeout_s``.
- Incremental: an ingest rewrites only the (source, month) partitions it
  touches; readers project columns and push filters down to parquet.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Set
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from rdcost.errors import StoreError, StoreLockedError
from rdcost.jobtable import schema
from rdcost.jobtable.consolidate import consolidate
from rdcost.jobtable.identity import moves
from rdcost.jobtable.record_merge import fold_versions, merge_versions
from rdcost.readers.base import Rejected
from rdcost.version import __version__

ENV_VAR = "RDCOST_STORE"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1

#: Columns that are bookkeeping, not facts: a change in them alone is "unchanged".
_BOOKKEEPING = ("ingested_time", "source_file", "source_line", "source_format")
#: A partition holding more rows is written as several files (see StoreWriter._merged_buckets),
#: which bounds the memory of an ingest and of reading one file, however dense a month is.
MAX_FILE_ROWS = 500_000
_FACT_COLUMNS = [c for c in schema.COLUMN_NAMES if c not in _BOOKKEEPING]


def default_store_path() -> Path:
    """$RDCOST_STORE, else $XDG_DATA_HOME/rdcost/store, else ~/.local/share/rdcost/store."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rdcost" / "store"


@dataclass
class InputRecord:
    """Provenance of one ingested file."""

    path: str
    size_bytes: int
    sha256: str
    format: str
    rdcost_version: str
    ingested_time: str
    n_records: int = 0
    n_jobs: int = 0
    #: What the store did with the file's jobs; null when several files were ingested
    #: together (the store's counts are those of the whole ingest, not of each file).
    n_new: int | None = None
    n_updated: int | None = None
    n_unchanged: int | None = None
    n_folded: int = 0
    n_merged: int = 0
    n_ignored: int = 0
    n_rejected: int = 0
    rejected_file: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpsertStats:
    n_new: int = 0
    n_updated: int = 0
    n_unchanged: int = 0
    n_merged: int = 0  # duplicates inside this ingest (the same job twice)
    n_kept_final: int = 0  # incoming non-final records that did not overwrite a final one
    project_moves: Counter = field(default_factory=Counter)  # (old, new project) -> jobs
    notes: list[str] = field(default_factory=list)


def sha256_file(path: Path, bufsize: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(bufsize):
            h.update(chunk)
    return h.hexdigest()


class Store:
    """A job-table store directory. Reading needs no lock."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path).expanduser() if path is not None else default_store_path()

    # -- reading ---------------------------------------------------------
    @property
    def exists(self) -> bool:
        return (self.path / MANIFEST).is_file()

    def manifest(self) -> dict[str, Any]:
        mpath = self.path / MANIFEST
        if not mpath.is_file():
            return {"format_version": FORMAT_VERSION, "files": {}, "inputs": []}
        try:
            data = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"cannot read the store manifest: {exc}", path=str(mpath)) from exc
        if data.get("format_version") != FORMAT_VERSION:
            raise StoreError(
                f"store format version {data.get('format_version')!r} is not {FORMAT_VERSION}",
                path=str(mpath),
                hint="re-ingest the logs into a new store (--store)",
            )
        return data

    def files(self) -> list[Path]:
        return [self.path / rel for rel in sorted(self.manifest()["files"])]

    def inputs(self) -> list[InputRecord]:
        return [InputRecord(**rec) for rec in self.manifest()["inputs"]]

    def dataset(self) -> ds.Dataset:
        files = [str(f) for f in self.files()]
        return ds.dataset(files, schema=schema.ARROW_SCHEMA, format="parquet")

    def read_table(
        self, columns: list[str] | None = None, filter: pc.Expression | None = None
    ) -> pa.Table:
        """The stored job table (or some columns / rows of it) as Arrow."""
        for attempt in range(3):
            try:
                return self.dataset().to_table(columns=columns, filter=filter)
            except FileNotFoundError:
                # a writer replaced the manifest between our reads; read it again
                if attempt == 2:
                    raise
                time.sleep(0.1)
        raise AssertionError("unreachable")

    def read_jobs(
        self,
        project: str | None = None,
        columns: list[str] | None = None,
        filter: pc.Expression | None = None,
    ) -> pd.DataFrame:
        """The stored job table as pandas (see :func:`rdcost.jobtable.schema.to_pandas`)."""
        expr = filter
        if project is not None:
            p = ds.field("project") == project
            expr = p if expr is None else (expr & p)
        table = self.read_table(columns=columns, filter=expr)
        if columns is None:
            return schema.to_pandas(table)
        return table.to_pandas(
            types_mapper={pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
        )

    def projects(self) -> list[str]:
        t = self.read_table(columns=["project"])
        return sorted(v for v in pc.unique(t["project"]).to_pylist() if v is not None)

    # -- writing ---------------------------------------------------------
    @contextmanager
    def writer(self, lock_timeout_s: float = 600.0, on_wait: Any = None) -> Iterator[StoreWriter]:
        """Exclusive writer. Changes become visible only at ``commit()``."""
        created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the store directory: {exc}", path=str(self.path)
            ) from exc
        lock_fh = open(self.path / ".lock", "a+")  # noqa: SIM115 (held for the block)
        try:
            _acquire(lock_fh, lock_timeout_s, on_wait, self.path)
            w = StoreWriter(self)
            try:
                yield w
            finally:
                w.cleanup()
                if (
                    created and not self.exists
                ):  # nothing was committed to a new store: leave no trace
                    shutil.rmtree(self.path, ignore_errors=True)
        finally:
            lock_fh.close()


def _acquire(fh: Any, timeout_s: float, on_wait: Any, path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    warned = False
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not warned and on_wait is not None:
                on_wait()
                warned = True
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    f"another rdcost process is writing to this store (waited {timeout_s:.0f} s)",
                    path=str(path),
                    hint="wait for it to finish, or use another --store",
                ) from None
            time.sleep(0.2)


class StoreWriter:
    """Stages chunks, then merges them into the touched partitions at commit."""

    def __init__(self, store: Store):
        self.store = store
        self.staging = store.path / f".staging-{uuid.uuid4().hex}"
        self.staging.mkdir()
        self._staged: dict[str, list[Path]] = {}
        self._staged_rows: dict[str, int] = {}
        self._seq = 0
        self._inputs: list[InputRecord] = []
        self._reject_files: list[tuple[Path, Path]] = []
        self._precounted: set[str] = set()  # keys of merged rows whose stats are counted already
        self._cleanup_orphans()

    def _cleanup_orphans(self) -> None:
        """Remove files left by writers that crashed before their commit."""
        live = set(self.store.manifest()["files"])
        for d in self.store.path.glob(".staging-*"):
            if d != self.staging:
                shutil.rmtree(d, ignore_errors=True)
        jobs = self.store.path / "jobs"
        if jobs.is_dir():
            for f in jobs.rglob("*.parquet"):
                if f.relative_to(self.store.path).as_posix() not in live:
                    f.unlink(missing_ok=True)

    def add(self, jobs: pd.DataFrame | pa.Table) -> None:
        """Stage conformed job rows (not visible until commit).

        ``jobs`` is a job-table frame or an Arrow table with the schema's
        columns. Staged rows are spilled to uncompressed-fast Arrow IPC files
        (LZ4) per partition, so an ingest holds one chunk in memory at a time.
        """
        table = jobs if isinstance(jobs, pa.Table) else schema.to_arrow(jobs)
        if table.num_rows == 0:
            return
        if table.schema != schema.ARROW_SCHEMA:
            table = table.select(list(schema.COLUMN_NAMES)).cast(schema.ARROW_SCHEMA)
        for key, sub in _split_by_partition(table):
            self._seq += 1
            out = self.staging / f"{self._seq:06d}.arrow"
            _write_ipc(sub, out)
            self._staged.setdefault(key, []).append(out)
            self._staged_rows[key] = self._staged_rows.get(key, 0) + sub.num_rows

    def stage_rejects(self, input_path: Path, rejects: Iterable[Rejected]) -> Path | None:
        """Write rejected records to a staged CSV; it moves into rejected/ at commit."""
        rejects = list(rejects)
        if not rejects:
            return None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{stamp}-{uuid.uuid4().hex[:6]}-{input_path.name}.rejected.csv"
        staged = self.staging / name
        write_rejects(staged, rejects)
        final = self.store.path / "rejected" / name
        self._reject_files.append((staged, final))
        return final

    def record_input(self, rec: InputRecord) -> None:
        self._inputs.append(rec)

    def commit(self) -> UpsertStats:
        """Merge staged rows into their partitions and swap the manifest atomically
        (nothing at all is written when nothing was staged)."""
        stats = UpsertStats()
        if not self._staged and not self._inputs and not self._reject_files:
            return stats
        manifest = self.store.manifest()
        files: dict[str, dict[str, Any]] = dict(manifest["files"])
        by_partition: dict[str, list[str]] = {}
        for rel, meta in files.items():
            by_partition.setdefault(meta["partition"], []).append(rel)
        now = pd.Timestamp.now(tz="UTC").floor("us")
        replaced: list[str] = []
        drop = self._consolidate(by_partition, now, stats)
        for part in sorted(set(self._staged) | set(drop)):
            staged = self._staged.get(part, [])
            old_rel = by_partition.get(part, [])
            old_paths = [self.store.path / r for r in old_rel]
            n_rows = sum(int(files[r].get("rows", 0)) for r in old_rel) + self._staged_rows.get(
                part, 0
            )
            for merged in self._merged_buckets(
                old_paths, staged, n_rows, now, stats, drop.get(part, set())
            ):
                rel = f"jobs/{part}/part-{uuid.uuid4().hex}.parquet"
                out = self.store.path / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(merged, out, compression="zstd")
                _fsync(out)
                files[rel] = {"partition": part, "rows": merged.num_rows}
            for r in old_rel:
                files.pop(r, None)
                replaced.append(r)
        for staged_file, final in self._reject_files:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged_file, final)
        if len(self._inputs) == 1:
            rec = self._inputs[0]
            rec.n_new, rec.n_updated, rec.n_unchanged = (
                stats.n_new,
                stats.n_updated,
                stats.n_unchanged,
            )
        new_manifest = {
            "format_version": FORMAT_VERSION,
            "rdcost_version": __version__,
            "updated_time": now.isoformat(),
            "files": files,
            "inputs": manifest["inputs"] + [asdict(r) for r in self._inputs],
        }
        tmp = self.store.path / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps(new_manifest, indent=1, sort_keys=True), encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, self.store.path / MANIFEST)
        _fsync_dir(self.store.path)
        for r in replaced:
            (self.store.path / r).unlink(missing_ok=True)
        self._staged.clear()
        self._staged_rows.clear()
        self._inputs.clear()
        self._reject_files.clear()
        return stats

    def _consolidate(
        self, by_partition: dict[str, list[str]], now: pd.Timestamp, stats: UpsertStats
    ) -> dict[str, set[str]]:
        """Bring the records of one job together (:mod:`rdcost.jobtable.consolidate`): the
        merged rows are staged again, their staged and stored versions taken out; returns
        partition -> stored keys to drop."""
        con = consolidate(
            {part: [self.store.path / r for r in rels] for part, rels in by_partition.items()},
            self._staged,
            _read_staged,
            now,
        )
        stats.notes.extend(con.notes)
        if con.moved is None:
            return con.drop
        stats.n_new += con.n_new
        stats.n_updated += con.n_updated
        stats.n_unchanged += con.n_unchanged
        stats.n_merged += con.n_merged
        stats.project_moves.update(con.project_moves)
        drop_keys = pa.array(sorted(con.take_out), pa.string())
        for part, paths in list(self._staged.items()):
            kept = []
            for path in paths:
                t = _read_staged(path)
                out = t.filter(pc.invert(pc.is_in(t["record_key"], value_set=drop_keys)))
                if out.num_rows != t.num_rows:
                    self._staged_rows[part] -= t.num_rows - out.num_rows
                    if out.num_rows:
                        _write_ipc(out, path)
                    else:
                        path.unlink()
                        continue
                kept.append(path)
            self._staged[part] = kept
        self._precounted = set(con.moved["record_key"].to_pylist())
        self.add(con.moved)
        return con.drop

    def _merged_buckets(
        self,
        old_paths: list[Path],
        staged: list[Path],
        n_rows: int,
        now: pd.Timestamp,
        stats: UpsertStats,
        drop: set[str],
    ) -> Iterator[pa.Table]:
        """The merged rows of one partition, as one table or, past :data:`MAX_FILE_ROWS`,
        several (rows spread by a hash of their record key, so a key's old and new rows
        meet in the same bucket). Memory: about one bucket, whatever the partition's size."""
        n_buckets = max(1, -(-n_rows // MAX_FILE_ROWS))
        if n_buckets == 1:
            old = _without(_read_files(old_paths), drop)
            new = pa.concat_tables(
                [_read_staged(p) for p in staged] or [schema.ARROW_SCHEMA.empty_table()]
            )
            yield _merge(old, new, now, stats, self._precounted)
            return
        spill = self.staging / f"buckets-{uuid.uuid4().hex}"
        spill.mkdir()
        sources = [(p, "old") for p in old_paths] + [(p, "new") for p in staged]
        written: dict[tuple[str, int], list[Path]] = {}
        for i, (path, kind) in enumerate(sources):
            table = _read_files([path]) if kind == "old" else _read_staged(path)
            bucket = _bucket_of(table["record_key"], n_buckets)
            for b in np.unique(bucket):
                out = spill / f"{kind}-{b}-{i}.arrow"
                _write_ipc(table.filter(pa.array(bucket == b)), out)
                written.setdefault((kind, int(b)), []).append(out)
            del table
        for b in range(n_buckets):
            old = _without(
                pa.concat_tables(
                    [_read_staged(p) for p in written.get(("old", b), [])]
                    or [schema.ARROW_SCHEMA.empty_table()]
                ),
                drop,
            )
            new = pa.concat_tables(
                [_read_staged(p) for p in written.get(("new", b), [])]
                or [schema.ARROW_SCHEMA.empty_table()]
            )
            if old.num_rows or new.num_rows:
                yield _merge(old, new, now, stats, self._precounted)
        shutil.rmtree(spill, ignore_errors=True)

    def cleanup(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def write_rejects(path: Path, rejects: Iterable[Rejected]) -> None:
    """Rejected records as CSV: file, line, reason, column, value, expected, text."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "line", "reason", "column", "value", "expected", "text"])
        for r in rejects:
            w.writerow([r.path, r.line, r.reason, r.column, r.value, r.expected, r.text])


def _split_by_partition(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """('source=<s>/month=<YYYY-MM>', rows) per partition, the month from the submit,
    else start, else end time ('unknown' without any), in first-seen order.

    The month comes from integer year/month kernels and each key's text is
    built once per partition, never per row.
    """
    t = pc.coalesce(table["submit_time"], table["start_time"], table["end_time"])
    ym = pc.fill_null(pc.add(pc.multiply(pc.year(t), 100), pc.month(t)), -1).to_numpy(
        zero_copy_only=False
    )
    src = pc.dictionary_encode(pc.fill_null(table["source"].combine_chunks(), "unknown"))
    codes = src.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    names = src.dictionary.to_pylist()
    combined = codes * 1_000_000 + (ym + 1)  # yyyymm + 1 < 10**6; 0 = no time
    uniq, first = np.unique(combined, return_index=True)
    out = []
    for u in uniq[np.argsort(first)]:
        code, m = divmod(int(u), 1_000_000)
        month = "unknown" if m == 0 else f"{(m - 1) // 100:04d}-{(m - 1) % 100:02d}"
        mask = combined == u
        out.append(
            (
                f"source={names[code]}/month={month}",
                table if mask.all() else table.filter(pa.array(mask)),
            )
        )
    return out


def _write_ipc(table: pa.Table, path: Path) -> None:
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(
            sink, schema.ARROW_SCHEMA, options=pa.ipc.IpcWriteOptions(compression="lz4")
        ) as w,
    ):
        w.write_table(table)


def _bucket_of(keys: pa.ChunkedArray | pa.Array, n_buckets: int) -> np.ndarray:
    """Bucket (0..n_buckets-1) of each record key; the same key always lands in the same one."""
    h = pd.util.hash_pandas_object(pd.Series(keys.to_pandas(), dtype="string"), index=False)
    return (h.to_numpy() % np.uint64(n_buckets)).astype(np.int64)


def _read_staged(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as src:
        return pa.ipc.open_file(src).read_all()


def _read_files(paths: list[Path]) -> pa.Table:
    if not paths:
        return schema.ARROW_SCHEMA.empty_table()
    try:
        return pa.concat_tables([pq.read_table(p, schema=schema.ARROW_SCHEMA) for p in paths])
    except (OSError, pa.ArrowInvalid) as exc:
        raise StoreError(f"cannot read stored data: {exc}", path=str(paths[0])) from exc


def _row_hash(df: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(df[_FACT_COLUMNS].astype("string"), index=False)


def _without(table: pa.Table, keys: set[str]) -> pa.Table:
    """The rows of ``table`` whose record key is not in ``keys``."""
    if not keys or not table.num_rows:
        return table
    return table.filter(
        pc.invert(pc.is_in(table["record_key"], value_set=pa.array(sorted(keys), pa.string())))
    )


def _merge(
    old: pa.Table,
    new: pa.Table,
    now: pd.Timestamp,
    stats: UpsertStats,
    precounted: Set[str] = frozenset(),
) -> pa.Table:
    """Upsert ``new`` into ``old`` by record_key (see the module doc for the rules).

    Versions of one key are merged field by field (:mod:`rdcost.jobtable.record_merge`).
    Done in Arrow (``is_in``, ``take``) where no key repeats: a partition is never
    converted to pandas as a whole; only rows whose key repeats are. Rows whose key is
    in ``precounted`` were counted when they were brought together (consolidate).
    """
    new = new.set_column(
        new.schema.get_field_index("ingested_time"),
        "ingested_time",
        pa.array(np.full(new.num_rows, now.value // 1000, dtype="int64"), pa.int64()).cast(
            schema.TS
        ),
    )
    new = _fold_duplicates(new, stats)
    keys = new["record_key"]
    is_old = (
        pc.is_in(keys, value_set=old["record_key"]).to_numpy(zero_copy_only=False)
        if old.num_rows
        else np.zeros(new.num_rows, dtype=bool)
    )
    counted = (
        pc.is_in(keys, value_set=pa.array(sorted(precounted), pa.string())).to_numpy(
            zero_copy_only=False
        )
        if precounted
        else np.zeros(new.num_rows, dtype=bool)
    )
    stats.n_new += int((~is_old & ~counted).sum())
    upd_at = np.flatnonzero(is_old)
    if not len(upd_at):
        out = pa.concat_tables([old, new]) if old.num_rows else new
    else:
        upd = schema.to_pandas(new.take(upd_at))
        prev = schema.to_pandas(
            old.take(
                pc.index_in(pa.array(upd["record_key"], pa.string()), value_set=old["record_key"])
            )
        )
        merged = merge_versions(prev, upd)
        same = _row_hash(prev).to_numpy() == _row_hash(merged).to_numpy()
        prev_final, upd_final = _is_final(prev), _is_final(upd)
        kept_final = same & prev_final & ~upd_final
        stats.n_kept_final += int(kept_final.sum())
        stats.n_unchanged += int((same & ~kept_final).sum())
        stats.n_updated += int((~same).sum())
        stats.project_moves.update(moves(prev["project"], upd["project"]))
        changed = merged[~same].assign(ingested_time=now)
        kept_old = old.filter(
            pc.invert(
                pc.is_in(old["record_key"], value_set=pa.array(changed["record_key"], pa.string()))
            )
        )
        out = pa.concat_tables([kept_old, new.filter(pa.array(~is_old)), schema.to_arrow(changed)])
    order = pc.sort_indices(
        out, sort_keys=[("submit_time", "ascending"), ("record_key", "ascending")]
    )
    return out.take(order).combine_chunks()


def _fold_duplicates(new: pa.Table, stats: UpsertStats) -> pa.Table:
    """One row per key among the incoming rows: repeated keys merged field by field,
    in arrival order (each extra version counted as merged)."""
    n_rows = new.num_rows
    if not n_rows:
        return new
    counts = (
        pa.table({"k": new["record_key"]})
        .group_by("k", use_threads=False)
        .aggregate([("k", "count")])
    )
    repeated = counts.filter(pc.greater(counts["k_count"], 1))["k"]
    if not len(repeated):
        return new
    dup = pc.is_in(new["record_key"], value_set=repeated).to_numpy(zero_copy_only=False)
    merged, _ = fold_versions(schema.to_pandas(new.filter(pa.array(dup))))
    stats.n_merged += int(dup.sum()) - len(merged)
    return pa.concat_tables([new.filter(pa.array(~dup)), schema.to_arrow(merged)])


def _is_final(df: pd.DataFrame) -> np.ndarray:
    return df["state"].isin(list(schema.TERMINAL_STATES)).fillna(False).to_numpy(dtype=bool)


_TERMINAL = pa.array(sorted(schema.TERMINAL_STATES), pa.string())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:
        pass
