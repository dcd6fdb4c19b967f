"""The summary's one path (partials and a combine step): its figures do not depend on
how the jobs are split into partitions, they equal hand-worked values, the store path
equals the in-memory path, exact sums, grid searches on integer codes equal
find_groups, and the Dask engine gives byte-identical JSON to the default one."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.grouping import GroupingParams, find_groups
from rdcost.analysis.projects import parse_projects, read_project_jobs
from rdcost.analysis.summary import exact, store_plan, summarize, summarize_store
from rdcost.analysis.summary.combine import _search_sizes
from rdcost.analysis.summary.job_costs import costs_for
from rdcost.analysis.summary.partial import partial_of_frame
from rdcost.errors import RdcostError, UsageError
from rdcost.jobtable.schema import conform
from rdcost.jobtable.store import Store
from rdcost.output.renderers import json as json_out
from rdcost.readers.ingest import ingest

REPO = Path(__file__).resolve().parents[1]
LISA = REPO / "sample_logs" / "lisa"
PAPER = A.load(["paper"])
TODAY = pd.Timestamp("2026-01-01", tz="UTC")
T0 = pd.Timestamp("2018-01-01", tz="UTC")


def same(a, b, path="$"):
    """Assert two summary dicts are equal: floats to 1e-12, everything else exactly."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), path
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


# -- exact sums ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_exact_sums_are_correctly_rounded_and_split_independent(seed):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(5000) * 10.0 ** rng.integers(-12, 12, 5000)
    v[::7] = 0.0
    total = sum(exact.exact_sums(v))
    assert exact.exact_float(total) == math.fsum(v)  # fsum is correctly rounded too
    assert Fraction(total, 1 << exact.SCALE) == sum(Fraction(x) for x in v)  # and nothing was lost
    seg = rng.integers(0, 4, len(v))
    by_seg = exact.exact_sums(v, seg, 4)
    assert sum(by_seg) == total
    assert [exact.exact_float(s) for s in by_seg] == [math.fsum(v[seg == k]) for k in range(4)]
    a, b = exact.exact_sums(v[:1234])[0], exact.exact_sums(v[1234:])[0]
    assert a + b == total


def test_exact_sums_refuse_nan():
    with pytest.raises(ValueError):
        exact.exact_sums(np.array([1.0, np.nan]))


@pytest.mark.parametrize("seed", range(20))
def test_median_and_quantile_from_counts_match_numpy(seed):
    rng = np.random.default_rng(seed)
    v = np.round(rng.lognormal(2, 1.5, int(rng.integers(1, 60))), int(rng.integers(0, 3)))
    vc = pd.Series(v).value_counts().sort_index()
    assert exact.median(vc) == pd.Series(v).median()
    for q in (0.0, 0.1, 0.5, 0.9, 0.95, 1.0):
        assert exact.quantile(vc, q) == pd.Series(v).quantile(q)


def test_median_year_of_two_middle_starts_in_different_years():
    us = lambda s: pd.Timestamp(s).value // 1000  # noqa: E731
    y = pd.DataFrame(
        {
            "n": [1, 1],
            "lo": [us("2017-12-31T20:00"), us("2018-01-01T06:00")],
            "hi": [us("2017-12-31T20:00"), us("2018-01-01T06:00")],
        },
        index=[2017, 2018],
    )
    starts = pd.Series(pd.to_datetime(["2017-12-31T20:00", "2018-01-01T06:00"], utc=True))
    assert store_plan.median_year([y]) == starts.median().year == 2018


# -- grid searches on codes ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_search_sizes_match_find_groups(seed):
    rng = np.random.default_rng(seed)
    n = 400
    stems = np.array(["bert-ft", "srl", "x", "12345", None], dtype=object)
    name = [
        None if s is None else f"{s}-lr{rng.integers(1, 9)}" if s != "12345" else s
        for s in stems[rng.integers(0, len(stems), n)]
    ]
    t = T0 + pd.to_timedelta(np.sort(rng.integers(0, 40 * 3600, n)), unit="s")
    sub = pd.Series(t).where(rng.random(n) > 0.05)
    gid = pd.Series(rng.integers(0, 6, n).astype(str), dtype=object).where(rng.random(n) < 0.3)
    jobs = conform(
        pd.DataFrame(
            {
                "record_key": [f"k{i}" for i in range(n)],
                "source": rng.choice(["slurm", "wandb"], n),
                "user": rng.choice(["u1", "u2", None], n),
                "project": "p",
                "job_name": name,
                "submit_time": sub,
                "start_time": pd.Series(t) + pd.Timedelta(minutes=5),
                "group_id": gid,
                "group_source": np.where(rng.random(n) < 0.5, "array", "sweep"),
                "cluster": "c",
                "state": "COMPLETED",
                "n_gpus": 1.0,
                "elapsed_s": 60.0,
            }
        )
    )
    for params in (
        GroupingParams(),
        GroupingParams(max_gap_s=600, min_jobs=3),
        GroupingParams(join_stored_bursts=False),
        GroupingParams(use_heuristics=False),
    ):
        expected = find_groups(jobs, params)["search_id"].dropna().value_counts()
        assert sorted(_sizes(jobs, params, n_parts=3)) == sorted(expected.tolist()), params


def _sizes(jobs: pd.DataFrame, params: GroupingParams, n_parts: int) -> list[int]:
    """Jobs per search from the partials of ``n_parts`` pieces, checked against the summary's counts."""
    bounds = np.linspace(0, len(jobs), n_parts + 1).astype(int)
    costs = costs_for(jobs, PAPER.for_year(2018), TODAY)
    parts = [
        partial_of_frame(
            jobs.iloc[lo:hi].reset_index(drop=True),
            costs.iloc[lo:hi].reset_index(drop=True),
            params,
            i,
        )
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]
    sizes, _ = _search_sizes(parts, params)
    s = summarize(jobs, PAPER, today=TODAY, grouping=params, n_parts=n_parts)
    assert s.n_grid_searches == len(sizes) and s.n_jobs_in_grid_searches == int(sizes.sum())
    return sizes.tolist()


# -- the partial/combine path gives summarize's figures --------------------------------


def job(key, state, start_h=None, hours=None, n_gpus=1.0, gpu_type="titanx", group=None, **kw):
    start = None if start_h is None else T0 + pd.Timedelta(seconds=round(start_h * 3600))
    elapsed = None if hours is None else float(round(hours * 3600))
    end = (
        None
        if start is None or hours is None or state == "RUNNING"
        else start + pd.Timedelta(seconds=elapsed)
    )
    row = dict(
        record_key=key,
        source="slurm",
        job_id=key,
        state=state,
        submit_time=T0,
        start_time=start,
        end_time=end,
        elapsed_s=elapsed,
        n_gpus=n_gpus,
        gpu_type=gpu_type,
        job_name=f"run-{key}",
        user="u",
        group_id=group,
        group_source=None if group is None else "array",
        project="p",
    )
    row.update(kw)
    return row


def edge_frame() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            [
                job("a", "COMPLETED", 0, 10, 1, "titanx", "g1"),
                job("b", "COMPLETED", 5, 20, 2, "m40", "g1"),
                job("c", "FAILED", 30, 0.05, 1, "titanx"),
                job("d", "CANCELLED", None, None, 2, "titanx"),
                job("e", "TIMEOUT", 40, 8, 4, "titanx", "g2"),
                job("f", "RUNNING", 41, 3, 1, "m40"),
                job("g", "COMPLETED", 42, 2, None, "titanx"),  # unknown GPU count
                job("h", "COMPLETED", 43, 1, 1, "mystery-gpu"),  # no price, no power
                job("i", "OUT_OF_MEMORY", 44, 0.5, 1, None),  # no GPU type
                job("j", None, 45, 1.5, 0.5, "m40", "g2"),  # no state, half a GPU
                job("k", "COMPLETED", 46, 1.0 / 3, 3, "titanx"),
                job("l", "COMPLETED", 60 * 24 * 2, 5, 1, "titanx"),  # a later month
            ]
        )
    )


@pytest.mark.parametrize("n_parts", [1, 2, 5, 12])
@pytest.mark.parametrize("assumptions", [None, PAPER])
def test_partials_give_the_figures_of_summarize(n_parts, assumptions):
    jobs = edge_frame()
    ref = summarize(jobs, assumptions, today=TODAY, on_missing="unknown", project="p").to_dict()
    got = summarize(
        jobs, assumptions, today=TODAY, on_missing="unknown", project="p", n_parts=n_parts
    ).to_dict()
    same(ref, got)
    assert got["data_quality"] and got["n_jobs_gpu_unknown"] == 1 and got["n_jobs_running"] == 1


def test_edge_frame_figures_worked_by_hand():
    """The figures of edge_frame() under the paper's preset ($0.43-$1.46 per GPU-hour,
    217 W, PUE 1.58 for every GPU), each worked out by hand from the rows."""
    s = summarize(edge_frame(), PAPER, today=TODAY, on_missing="unknown").to_dict()
    # GPU-hours: a 10x1, b 20x2, c 0.05x1, e 8x4, f 3x1 (running), h 1x1, i 0.5x1, j 1.5x0.5,
    # k 1200 s x 3, l 5x1; d never started, g has no GPU count
    gh = 10 + 40 + 0.05 + 32 + 3 + 1 + 0.5 + 0.75 + 1 + 5
    assert s["gpu_hours"] == pytest.approx(gh)
    assert (s["n_jobs"], s["n_jobs_started"], s["n_jobs_never_started"]) == (12, 11, 1)
    assert (s["n_jobs_running"], s["n_jobs_gpu_unknown"], s["n_crashed_jobs"]) == (1, 1, 1)
    assert s["cloud_usd_low"] == pytest.approx(gh * 0.43) and s["cloud_usd_high"] == pytest.approx(
        gh * 1.46
    )
    assert s["energy_kwh"] == pytest.approx(gh * 217 / 1000 * 1.58)
    assert s["jobs_by_state"] == {
        "COMPLETED": 6,
        "FAILED": 1,
        "CANCELLED": 1,
        "TIMEOUT": 1,
        "RUNNING": 1,
        "OUT_OF_MEMORY": 1,
        "UNKNOWN": 1,
    }
    assert s["span_days"] == pytest.approx(120 + 5 / 24)  # a starts at 0 h, l ends at 120 d + 5 h
    assert s["min_job_minutes"] == pytest.approx(3) and s["max_job_days"] == pytest.approx(20 / 24)
    # waste: c crashed (3 min), i failed (out of memory), d cancelled (no time), e timed out
    cats = {c["category"]: (c["n_jobs"], c["gpu_hours"]) for c in s["waste"]["categories"]}
    assert cats == {
        "crashed": (1, pytest.approx(0.05)),
        "failed": (1, 0.5),
        "cancelled": (0, 0.0),  # d never started: no GPU held, nothing wasted
        "timed_out": (1, 32.0),
    }
    assert s["waste"]["total"]["gpu_hours"] == pytest.approx(32.55)
    # two arrays of two jobs (g1: a, b; g2: e, j): smaller than a search (4 jobs);
    # names run-<key> share no stem
    assert (s["n_grid_searches"], s["n_jobs_in_grid_searches"]) == (0, 0)


def test_missing_price_raises_the_same_error():
    jobs = edge_frame()
    with pytest.raises(Exception) as ref:
        summarize(jobs, None, today=TODAY, on_missing="error")
    with pytest.raises(type(ref.value)) as got:
        summarize(jobs, None, today=TODAY, n_parts=3, on_missing="error")
    assert str(got.value) == str(ref.value)
    assert "mystery-gpu (1 job)" in str(got.value)


@pytest.mark.skipif(not (LISA / "sacct.txt").is_file(), reason="sample logs absent")
def test_partials_on_the_lisa_sample():
    from rdcost.readers.ingest import read_log

    jobs = read_log(LISA / "sacct.txt")
    ref = summarize(jobs, PAPER, today=TODAY).to_dict()
    same(ref, summarize(jobs, PAPER, today=TODAY, n_parts=7).to_dict())


# -- the store, both engines --------------------------------------------------------------


@pytest.fixture(scope="module")
def lisa_store(tmp_path_factory) -> Store:
    if not (LISA / "sacct.txt").is_file():
        pytest.skip("sample logs absent")
    path = tmp_path_factory.mktemp("engine") / "store"
    ingest([LISA / "sacct.txt", LISA / "wandb_runs.csv"], path)
    st = Store(path)
    assert len(st.files()) > 5  # several (source, month) partitions
    return st


DEFS = parse_projects(
    {"projects": {"late": {"users": ["bnguyen", "asmith"], "start": "2018-03-01"}}}
)


@pytest.mark.parametrize("project,defs", [(None, None), ("lisa", None), ("late", DEFS)])
def test_store_summary_equals_summarize_of_the_loaded_jobs(lisa_store, project, defs):
    jobs = read_project_jobs(lisa_store, project, defs)
    ref = summarize(jobs, PAPER, project=project, today=TODAY).to_dict()
    got = summarize_store(lisa_store, project, defs, PAPER, today=TODAY).to_dict()
    same(ref, got)
    if project is None:  # W&B runs linked to their Slurm jobs are counted once
        assert got["n_jobs"] == 4789 and got["n_grid_searches"] == 123


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster


@pytest.mark.parametrize("project,defs", [(None, None), ("late", DEFS)])
def test_dask_engine_gives_identical_json(lisa_store, dask_cluster, project, defs):
    kw = dict(today=TODAY, on_missing="unknown")
    default = json_out.dumps(summarize_store(lisa_store, project, defs, PAPER, **kw).to_dict())
    on_cluster = json_out.dumps(
        summarize_store(
            lisa_store,
            project,
            defs,
            PAPER,
            engine="dask",
            scheduler=dask_cluster.scheduler_address,
            **kw,
        ).to_dict()
    )
    local_threads = json_out.dumps(
        summarize_store(lisa_store, project, defs, PAPER, engine="dask", **kw).to_dict()
    )
    assert on_cluster == default
    assert local_threads == default


def test_cli_engine_dask_output_equals_the_default(lisa_store, dask_cluster, capsys):
    from rdcost.cli import main

    def run(*extra):
        with pytest.raises(SystemExit) as e:
            main(
                ["summarize", "--store", str(lisa_store.path), "-a", "paper", "-f", "json", *extra]
            )
        assert e.value.code in (0, None)
        return capsys.readouterr().out

    default = run()
    assert run("--engine", "dask", "--scheduler", dask_cluster.scheduler_address) == default
    assert '"n_jobs": 4789' in default


def test_engine_errors(lisa_store):
    with pytest.raises(UsageError):
        summarize_store(lisa_store, engine="spark")
    with pytest.raises(UsageError):
        summarize_store(lisa_store, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(RdcostError, match="no jobs for project 'nope'"):
        summarize_store(lisa_store, "nope", today=TODAY)
