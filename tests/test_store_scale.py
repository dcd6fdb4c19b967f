"""The store at scale (not timed): summarize reads one partition file at a time and
only the columns it needs, so a store larger than a memory budget is summarized
without loading it; the synthetic benchmark file ingests completely and
re-ingesting it changes nothing."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet  # noqa: F401  (pa.parquet)
import pytest

from rdcost.analysis.summary import store_plan, summarize, summarize_store
from rdcost.jobtable.store import Store
from rdcost.readers.ingest import ingest

REPO = Path(__file__).resolve().parents[1]
TODAY = pd.Timestamp("2026-01-01", tz="UTC")
N_ALLOC = 3000


def _generator():
    spec = importlib.util.spec_from_file_location(
        "generate_sacct", REPO / "bench" / "generate_sacct.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, Store, object]:
    d = tmp_path_factory.mktemp("scale")
    path = d / "sacct.txt"
    # 3,000 allocations submitted over a year: 13 monthly partitions
    info = _generator().write(N_ALLOC, path, seed=1, per_year=N_ALLOC, chunk=1000)
    report = ingest([path], d / "store")
    return path, Store(d / "store"), (info, report)


def test_generator_is_deterministic(tmp_path):
    gen = _generator()
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    gen.write(500, a, seed=3, chunk=200)
    gen.write(500, b, seed=3, chunk=200)
    assert a.read_bytes() == b.read_bytes()
    gen.write(500, b, seed=4, chunk=200)
    assert a.read_bytes() != b.read_bytes()


def test_synthetic_file_ingests_every_record(synthetic):
    path, st, (info, report) = synthetic
    f = report.files[0]
    assert f.error is None and f.n_rejected == 0
    assert f.n_jobs == N_ALLOC and f.n_records == info["lines"]
    assert f.n_records == f.n_jobs + f.n_folded + f.n_ignored
    assert len(st.files()) >= 12


def test_summarize_reads_one_partition_at_a_time_with_a_projection(synthetic, monkeypatch):
    _, st, _ = synthetic
    full = st.read_table()
    n_columns, full_bytes = len(full.column_names), full.nbytes
    budget = full_bytes // 4  # the store is 4x bigger than what may be held at once
    del full
    expected = summarize(st.read_jobs(), today=TODAY).to_dict()
    base = pa.total_allocated_bytes()

    files = {str(f) for f in st.files()}
    reads: list[tuple[str, list[str], int, int]] = []
    real = store_plan.read_partition

    def spy(path, columns, filter=None):
        t = real(path, columns, filter)
        reads.append((path, list(columns), t.nbytes, pa.total_allocated_bytes()))
        return t

    def refuse(*a, **k):
        raise AssertionError("summarize must not read the whole table")

    monkeypatch.setattr(store_plan, "read_partition", spy)
    monkeypatch.setattr(Store, "read_table", refuse)
    monkeypatch.setattr(Store, "read_jobs", refuse)
    got = summarize_store(st, today=TODAY).to_dict()

    assert reads and all(path in files for path, *_ in reads)
    needed = (
        set(store_plan.COST_COLUMNS) | set(store_plan.GROUP_COLUMNS) | set(store_plan.LINK_COLUMNS)
    )
    # node_list is read (the GPU chain types a node's untyped jobs by its typed ones),
    # ingested_time (a RUNNING job cannot have run longer than from submission to export),
    # and mem_req_bytes (the energy model's memory power)
    never = {
        "source_file",
        "config_json",
        "metrics_json",
        "other_json",
        "tags",
        "state_raw",
        "max_rss_bytes",
    }
    for _, cols, _, _ in reads:
        assert set(cols) <= needed and not never & set(cols)
    widest = max(len(c) for _, c, _, _ in reads)
    assert widest <= len(needed) < n_columns  # a projection (the energy model reads ~30)
    assert max(nbytes for *_, nbytes, _ in reads) < budget
    # Arrow memory held while reading: a few partitions' columns at most, never the table
    assert max(alloc for *_, alloc in reads) - base < full_bytes // 2
    assert got["n_jobs"] == expected["n_jobs"] == N_ALLOC
    for k in (
        "gpu_hours",
        "cloud_usd_low",
        "energy_kwh",
        "mean_concurrent_gpus",
        "median_job_hours",
    ):
        assert math.isclose(got[k], expected[k], rel_tol=1e-12)
    assert got["jobs_by_state"] == expected["jobs_by_state"]
    assert got["n_grid_searches"] == expected["n_grid_searches"]


def test_reingest_changes_nothing(synthetic, tmp_path):
    path, st, _ = synthetic
    before = st.read_table()
    report = ingest([path], st.path)
    assert (report.stats.n_new, report.stats.n_updated, report.stats.n_unchanged) == (0, 0, N_ALLOC)
    after = st.read_table()
    assert after.equals(before)  # ingested_time kept too: unchanged rows are not rewritten


def test_a_dense_month_is_written_as_several_files_and_merges_the_same(tmp_path, monkeypatch):
    from rdcost.jobtable import store as store_module

    path = tmp_path / "month.txt"
    _generator().write(2000, path, seed=2, per_year=2000 * 24)  # about two weeks: one partition
    ingest([path], tmp_path / "one")
    monkeypatch.setattr(store_module, "MAX_FILE_ROWS", 600)  # as if the month were huge
    report = ingest([path], tmp_path / "many")
    one, many = Store(tmp_path / "one"), Store(tmp_path / "many")
    assert len(one.files()) == 1 and len(many.files()) >= 4
    assert max(m["rows"] for m in many.manifest()["files"].values()) <= 600
    assert report.stats.n_new == 2000
    a, b = (
        s.read_table().drop_columns(["ingested_time"]).sort_by("record_key") for s in (one, many)
    )
    assert a.equals(b)
    # upserts meet their stored row whatever bucket it is in: nothing new, nothing lost
    again = ingest([path], tmp_path / "many")
    assert (again.stats.n_new, again.stats.n_unchanged) == (0, 2000)
    assert many.read_table().num_rows == 2000
    for f in many.files():  # every file is sorted by submission time
        t = pa.parquet.read_table(f, columns=["submit_time"])["submit_time"].to_numpy()
        assert (t[1:] >= t[:-1]).all()
    got = summarize_store(many, today=TODAY).to_dict()
    expected = summarize(one.read_jobs(), today=TODAY).to_dict()
    assert got["n_jobs"] == 2000 and math.isclose(
        got["gpu_hours"], expected["gpu_hours"], rel_tol=1e-12
    )
    assert got["n_grid_searches"] == expected["n_grid_searches"]
