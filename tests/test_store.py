"""The store: idempotent upserts, final states win, atomic commits, one writer."""

from __future__ import annotations

import json
import multiprocessing as mp
import time

import pandas as pd
import pytest

from rdcost.errors import StoreLockedError
from rdcost.jobtable import schema
from rdcost.jobtable.store import Store


def jobs(*rows: dict) -> pd.DataFrame:
    base = {"source": "slurm", "cluster": "c1", "n_gpus": 1.0}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    for col in ("submit_time", "start_time", "end_time"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return schema.conform(frame)


def ingest_frame(store: Store, df: pd.DataFrame):
    with store.writer() as w:
        w.add(df)
        return w.commit()


A = {
    "record_key": "slurm:c1:1:2024-01-01T00:00:00Z",
    "job_id": "1",
    "state": "RUNNING",
    "submit_time": "2024-01-01T00:00:00Z",
    "elapsed_s": 100.0,
}
B = {
    "record_key": "slurm:c1:2:2024-02-03T00:00:00Z",
    "job_id": "2",
    "state": "COMPLETED",
    "submit_time": "2024-02-03T00:00:00Z",
    "elapsed_s": 50.0,
}


def test_new_rows_are_stored_and_partitioned_by_source_and_month(store_path):
    st = Store(store_path)
    stats = ingest_frame(st, jobs(A, B))
    assert (stats.n_new, stats.n_updated, stats.n_unchanged) == (2, 0, 0)
    parts = sorted(p.parent.relative_to(store_path).as_posix() for p in st.files())
    assert parts == ["jobs/source=slurm/month=2024-01", "jobs/source=slurm/month=2024-02"]
    got = st.read_jobs()
    assert sorted(got["job_id"]) == ["1", "2"]
    assert list(got.columns) == list(schema.COLUMN_NAMES)


def test_same_rows_twice_change_nothing(store_path):
    st = Store(store_path)
    ingest_frame(st, jobs(A, B))
    before = st.read_jobs()
    stats = ingest_frame(st, jobs(A, B))
    assert (stats.n_new, stats.n_updated, stats.n_unchanged) == (0, 0, 2)
    after = st.read_jobs()
    pd.testing.assert_frame_equal(before, after)  # ingested_time kept too


def test_later_final_state_updates_running_job(store_path):
    st = Store(store_path)
    ingest_frame(st, jobs(A))
    stats = ingest_frame(st, jobs({**A, "state": "COMPLETED", "elapsed_s": 3600.0}))
    assert (stats.n_new, stats.n_updated) == (0, 1)
    got = st.read_jobs()
    assert len(got) == 1
    assert got.loc[0, "state"] == "COMPLETED" and got.loc[0, "elapsed_s"] == 3600.0


def test_older_running_export_never_overwrites_final_state(store_path):
    st = Store(store_path)
    ingest_frame(st, jobs({**A, "state": "COMPLETED", "elapsed_s": 3600.0}))
    stats = ingest_frame(st, jobs(A))
    assert stats.n_kept_final == 1 and stats.n_updated == 0
    assert st.read_jobs().loc[0, "state"] == "COMPLETED"


def test_duplicates_inside_one_ingest_are_merged(store_path):
    st = Store(store_path)
    stats = ingest_frame(st, jobs(A, {**A, "state": "COMPLETED"}, B))
    assert stats.n_new == 2 and stats.n_merged == 1
    assert set(st.read_jobs()["state"]) == {"COMPLETED"}


def test_project_filter_and_column_projection(store_path):
    st = Store(store_path)
    ingest_frame(st, jobs({**A, "project": "lisa"}, {**B, "project": "other"}))
    got = st.read_jobs(project="lisa", columns=["job_id", "n_gpus"])
    assert got["job_id"].tolist() == ["1"] and list(got.columns) == ["job_id", "n_gpus"]


def test_uncommitted_writes_are_invisible_and_cleaned_up(store_path):
    st = Store(store_path)
    ingest_frame(st, jobs(A))
    with st.writer() as w:
        w.add(jobs(B))
        # no commit: as if the process died here
    assert st.read_jobs()["job_id"].tolist() == ["1"]
    assert not list(store_path.glob(".staging-*"))


def test_orphan_files_from_a_crashed_writer_are_ignored_then_removed(store_path):
    st = Store(store_path)
    ingest_frame(st, jobs(A))
    orphan = store_path / "jobs" / "source=slurm" / "month=2024-01" / "part-orphan.parquet"
    orphan.write_bytes(b"not parquet")
    (store_path / ".staging-dead").mkdir()
    assert len(st.read_jobs()) == 1  # readers see only the manifest's files
    ingest_frame(st, jobs(B))
    assert not orphan.exists() and not (store_path / ".staging-dead").exists()
    assert len(st.read_jobs()) == 2


def test_manifest_records_only_live_files(store_path):
    st = Store(store_path)
    ingest_frame(st, jobs(A))
    ingest_frame(st, jobs({**A, "state": "COMPLETED"}))
    manifest = json.loads((store_path / "manifest.json").read_text())
    on_disk = {
        p.relative_to(store_path).as_posix() for p in (store_path / "jobs").rglob("*.parquet")
    }
    assert set(manifest["files"]) == on_disk and len(on_disk) == 1


def _hold_lock(path, ready, release):
    st = Store(path)
    with st.writer():
        ready.set()
        release.wait(10)


def test_second_writer_waits_then_fails_clearly(store_path):
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_hold_lock, args=(store_path, ready, release))
    p.start()
    try:
        assert ready.wait(10)
        t0 = time.monotonic()
        with pytest.raises(StoreLockedError, match="another rdcost process"):
            with Store(store_path).writer(lock_timeout_s=0.5):
                pass
        assert time.monotonic() - t0 >= 0.5
    finally:
        release.set()
        p.join(10)
    with Store(store_path).writer(lock_timeout_s=1):  # free again
        pass
