"""Grid-search grouping: stored groups, the name-stem rule and burst heuristics,
the per-search summary and `rdcost groups`, on small hand-made tables whose
answers are known."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rdcost.analysis.grouping import (
    GroupingParams,
    find_groups,
    group_members,
    name_stem,
    summarize_groups,
)
from rdcost.errors import UsageError
from rdcost.jobtable import schema

T = pd.Timestamp("2018-03-02T10:00:00Z")


def jobs(*rows: dict) -> pd.DataFrame:
    """A job table from rows; defaults: one Slurm job of alice, 1 GPU for 1 h."""
    base = {
        "source": "slurm",
        "cluster": "campus",
        "project": "lisa",
        "user": "alice",
        "state": "COMPLETED",
        "n_gpus": 1.0,
        "elapsed_s": 3600.0,
    }
    full = []
    for i, r in enumerate(rows):
        d = {**base, "record_key": f"k{i}", "job_id": str(1000 + i), **r}
        if "submit_min" in d:
            d["submit_time"] = T + pd.Timedelta(seconds=round(60 * d.pop("submit_min")))
        full.append(d)
    df = pd.DataFrame(full)
    if "submit_time" in df and "end_time" not in df:
        df["end_time"] = df["submit_time"] + pd.to_timedelta(df["elapsed_s"], unit="s")
    return schema.conform(df)


def burst(name_fmt: str, n: int, start_min: float, every_min: float = 0.05, **extra) -> list[dict]:
    return [
        {"job_name": name_fmt.format(i=i), "submit_min": start_min + i * every_min, **extra}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "name,stem",
    [
        pytest.param("lisa-srl-lr0.001-drop0.3", "lisa-srl", id="hyperparameters-stripped"),
        pytest.param(
            "lisa-c05-srl-lr0.04-drop0.2-bs8000-l12-s2", "lisa-c05-srl", id="many-trailing-tokens"
        ),
        pytest.param("train_lr=0.1_bs=32", "train", id="key=value-tokens"),
        pytest.param("bert base lr 3e-5", "bert base lr", id="spaces-and-bare-number"),
        pytest.param("sweep/7", "sweep", id="slash"),
        pytest.param("run12", "run", id="single-token-keeps-text-before-digit"),
        pytest.param("debug", "debug", id="no-hyperparameters"),
        pytest.param("eval-c05-dev", "eval-c05-dev", id="digit-token-inside-kept"),
        pytest.param("lisa-c05", "lisa", id="trailing-token-with-digit-is-stripped"),
        pytest.param("12345", None, id="numeric-name-has-no-stem"),
        pytest.param("-7", None, id="separator-and-number"),
        pytest.param(None, None, id="null-name"),
    ],
)
def test_name_stem(name, stem):
    got = name_stem(pd.Series([name], dtype="object")).iloc[0]
    assert (got is pd.NA and stem is None) or got == stem


def test_one_burst_is_one_heuristic_search_with_a_readable_id():
    g = find_groups(jobs(*burst("lisa-srl-lr{i}-drop0.1", 6, 0)))
    assert g["search_id"].nunique() == 1
    assert g["search_id"].iloc[0] == "heuristic:alice:lisa-srl:2018-03-02T10:00:00Z"
    assert (g["search_method"] == "heuristic").all()


def test_two_bursts_separated_by_a_long_gap_are_two_searches():
    df = jobs(*burst("lisa-srl-lr{i}", 5, 0), *burst("lisa-srl-lr{i}", 5, 6 * 60))
    g = find_groups(df)
    assert g["search_id"].nunique() == 2
    assert g["search_id"].iloc[:5].nunique() == 1 and g["search_id"].iloc[5:].nunique() == 1
    # a larger max gap joins them
    assert find_groups(df, GroupingParams(max_gap_s=7 * 3600))["search_id"].nunique() == 1


def test_gap_is_between_consecutive_submissions_not_from_the_first():
    # 8 jobs, each 50 min after the previous: 5h50 from first to last, one burst
    g = find_groups(jobs(*burst("grid-lr{i}", 8, 0, every_min=50)))
    assert g["search_id"].nunique() == 1 and g["search_id"].notna().all()
    g = find_groups(jobs(*burst("grid-lr{i}", 8, 0, every_min=61)))
    assert g["search_id"].isna().all()


def test_different_users_are_separate_searches():
    df = jobs(
        *burst("lisa-srl-lr{i}", 4, 0, user="alice"), *burst("lisa-srl-lr{i}", 4, 0.01, user="bob")
    )
    g = find_groups(df)
    assert g["search_id"].nunique() == 2
    assert g["search_id"].str.startswith("heuristic:alice:").sum() == 4
    assert g["search_id"].str.startswith("heuristic:bob:").sum() == 4


def test_different_projects_and_sources_are_separate_searches():
    df = jobs(
        *burst("x-lr{i}", 4, 0, project="a"),
        *burst("x-lr{i}", 4, 0, project="b"),
        *burst("x-lr{i}", 4, 0, project="a", source="csv"),
    )
    g = find_groups(df)
    assert g["search_id"].nunique() == 3  # same user, stem and minute: ids made unique
    assert g.groupby(g["search_id"]).size().tolist() == [4, 4, 4]


def test_a_burst_below_min_jobs_is_no_search():
    g = find_groups(jobs(*burst("lisa-final-s{i}", 3, 0)))
    assert g["search_id"].isna().all() and g["search_method"].isna().all()
    g = find_groups(jobs(*burst("lisa-final-s{i}", 3, 0)), GroupingParams(min_jobs=3))
    assert g["search_id"].nunique() == 1


def test_different_stems_in_one_burst_are_separate():
    df = jobs(*burst("srl-lr{i}", 4, 0), *burst("parse-lr{i}", 4, 0.01))
    assert find_groups(df)["search_id"].nunique() == 2


def test_array_and_heuristic_mix():
    array = [
        {
            "job_name": "grid",
            "group_id": "2107540",
            "group_source": "array",
            "job_id": f"2107540_{i}",
            "submit_min": 0,
        }
        for i in range(5)
    ]
    loop = burst("search-lr{i}", 4, 0.5)
    g = find_groups(jobs(*array, *loop))
    assert (g["search_id"].iloc[:5] == "array:campus:2107540").all()
    assert (g["search_method"].iloc[:5] == "array").all()
    assert g["search_id"].iloc[5:].nunique() == 1
    assert (g["search_method"].iloc[5:] == "heuristic").all()
    # without heuristics only the array is a search
    g = find_groups(jobs(*array, *loop), GroupingParams(use_heuristics=False))
    assert g["search_id"].notna().sum() == 5


def test_jobs_submitted_with_a_stored_group_join_it():
    """Rule 5: sweep agents whose W&B run never started are left with only their
    Slurm row (no sweep id); submitted in the agents' burst, they join the sweep."""
    agents = [
        {
            "job_name": "wb-agent-ab12cd34",
            "group_id": "ab12cd34",
            "group_source": "sweep",
            "submit_min": i * 0.02,
        }
        for i in range(6)
    ]
    crashed = [{"job_name": "wb-agent-ab12cd34", "submit_min": 0.5}]
    later = [{"job_name": "wb-agent-ab12cd34", "submit_min": 600}]
    g = find_groups(jobs(*agents, *crashed, *later))
    assert (g["search_id"].iloc[:7] == "sweep:lisa:ab12cd34").all()
    assert (g["search_method"].iloc[:7] == "sweep").all()
    assert pd.isna(g["search_id"].iloc[7])
    g = find_groups(jobs(*agents, *crashed), GroupingParams(join_stored_bursts=False))
    assert pd.isna(g["search_id"].iloc[6])


def test_a_job_between_two_stored_groups_joins_neither():
    a = [{"job_name": "grid", "group_id": "1", "group_source": "array", "submit_min": 0}]
    b = [{"job_name": "grid", "group_id": "2", "group_source": "array", "submit_min": 20}]
    g = find_groups(jobs(*a, {"job_name": "grid-7", "submit_min": 10}, *b))
    assert pd.isna(g["search_id"].iloc[1])


def test_stored_groups_are_scoped():
    """Array ids are per cluster, other groups per project (arrays of 4 jobs: a search)."""
    arrays = [
        {"job_name": "a", "group_id": "9", "group_source": "array", "cluster": c, "submit_min": 0}
        for c in ("c1", "c2")
        for _ in range(4)
    ]
    df = jobs(
        *arrays,
        {
            "job_name": "r",
            "group_id": "ab12cd34",
            "group_source": "sweep",
            "source": "wandb",
            "project": "lisa",
            "submit_min": 0,
        },
        {
            "job_name": "c",
            "group_id": "g1",
            "group_source": "csv",
            "source": "csv",
            "project": "p",
            "submit_min": 0,
        },
    )
    assert find_groups(df)["search_id"].tolist() == ["array:c1:9"] * 4 + ["array:c2:9"] * 4 + [
        "sweep:lisa:ab12cd34",
        "csv:p:g1",
    ]
    assert find_groups(df)["search_method"].tolist() == ["array"] * 8 + ["sweep", "csv"]


def test_an_array_smaller_than_a_search_is_none():
    """A one-task array, or an array of three runs, is a batch, not a search (rule 6);
    a pending remainder row is in no search either."""
    small = [{"job_name": "one", "group_id": "5", "group_source": "array", "submit_min": 0}]
    three = [
        {"job_name": "x", "group_id": "6", "group_source": "array", "submit_min": 10}
        for _ in range(3)
    ]
    four = [
        {"job_name": "y", "group_id": "7", "group_source": "array", "submit_min": 20}
        for _ in range(4)
    ]
    g = find_groups(jobs(*small, *three, *four))["search_id"]
    assert g.isna().sum() == 4 and set(g.dropna()) == {"array:campus:7"}


def test_runs_without_submit_time_use_start_time():
    rows = [
        {
            "source": "wandb",
            "job_name": f"lisa-lr{i}",
            "start_time": T + pd.Timedelta(seconds=30 * i),
        }
        for i in range(4)
    ]
    g = find_groups(jobs(*rows))
    assert g["search_id"].nunique() == 1 and g["search_id"].notna().all()


def test_jobs_without_time_or_stem_are_never_grouped():
    rows = [{"job_name": f"x-lr{i}"} for i in range(5)] + [
        {"job_name": str(i), "submit_min": 0} for i in range(5)
    ]
    assert find_groups(jobs(*rows))["search_id"].isna().all()


def test_result_keeps_the_index_of_the_input():
    df = jobs(*burst("s-lr{i}", 4, 0), {"job_name": "debug", "submit_min": 500})
    df.index = [10, 3, 7, 1, 99]
    g = find_groups(df)
    assert list(g.index) == [10, 3, 7, 1, 99]
    assert g.loc[99, "search_id"] is pd.NA and g.loc[[10, 3, 7, 1], "search_id"].nunique() == 1


def test_order_of_rows_does_not_change_the_groups():
    df = jobs(
        *burst("a-lr{i}", 5, 0),
        *burst("a-lr{i}", 5, 300),
        *burst("b-lr{i}", 4, 1),
        {"job_name": "debug", "submit_min": 2},
    )
    g1 = find_groups(df)
    shuffled = df.sample(frac=1, random_state=3)
    g2 = find_groups(shuffled).loc[df.index]
    pd.testing.assert_frame_equal(g1, g2)


@pytest.mark.parametrize(
    "kwargs", [{"min_jobs": 1}, {"max_gap_s": -1}, {"max_gap_s": float("nan")}]
)
def test_invalid_params_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        GroupingParams(**kwargs)


def test_summary_counts_add_up():
    rows = burst("lisa-srl-lr{i}", 6, 0)
    for r, st in zip(
        rows,
        ["COMPLETED", "COMPLETED", "FAILED", "OUT_OF_MEMORY", "CANCELLED", "TIMEOUT"],
        strict=True,
    ):
        r["state"] = st
    rows[0]["n_gpus"] = 4.0
    rows[1]["elapsed_s"] = 7200.0
    array = [
        {
            "job_name": "grid",
            "group_id": "77",
            "group_source": "array",
            "user": "bob",
            "submit_min": 100,
            "state": "RUNNING",
        }
        for _ in range(4)
    ]
    df = jobs(*rows, *array, {"job_name": "debug", "submit_min": 900})
    s = summarize_groups(df)
    assert list(s["search_id"]) == [
        "heuristic:alice:lisa-srl:2018-03-02T10:00:00Z",
        "array:campus:77",
    ]
    h = s.iloc[0]
    assert (
        h["n_jobs"],
        h["n_completed"],
        h["n_failed"],
        h["n_cancelled"],
        h["n_timeout"],
        h["n_other"],
    ) == (6, 2, 2, 1, 1, 0)
    assert h["gpu_hours"] == pytest.approx(4 + 2 + 4 * 1)
    assert h["name"] == "lisa-srl" and h["user"] == "alice"
    a = s.iloc[1]
    assert (a["n_jobs"], a["n_other"], a["name"], a["search_method"]) == (4, 4, "grid", "array")
    # every job of a search is counted once; the debug job is in none
    total = pd.to_numeric(df["n_gpus"]) * df["elapsed_s"] / 3600
    assert s["gpu_hours"].sum() == pytest.approx(total.sum() - 1.0)


def test_summary_of_unknown_gpus_is_null_not_zero():
    s = summarize_groups(jobs(*burst("w-lr{i}", 4, 0, n_gpus=None)))
    assert pd.isna(s["gpu_hours"].iloc[0])


def test_summary_lists_several_users_of_one_stored_group():
    rows = [
        {
            "job_name": "r",
            "group_id": "sw1",
            "group_source": "sweep",
            "source": "wandb",
            "user": u,
            "submit_min": i,
        }
        for i, u in enumerate(["bob", "alice", "bob"])
    ]
    assert summarize_groups(jobs(*rows))["user"].tolist() == ["alice,bob"]


def test_summary_name_is_the_shared_stem_else_the_first_name():
    rows = [
        {"job_name": n, "group_id": g, "group_source": "csv", "source": "csv", "submit_min": i}
        for i, (n, g) in enumerate(
            [("x-lr1", "a"), ("x-lr2", "a"), ("first-1", "b"), ("other", "b")]
        )
    ]
    assert summarize_groups(jobs(*rows))["name"].tolist() == ["x", "first-1"]


def test_members_lists_every_grouped_job_once():
    df = jobs(
        *burst("a-lr{i}", 4, 0), *burst("b-lr{i}", 5, 0.01), {"job_name": "debug", "submit_min": 3}
    )
    m = group_members(df)
    assert len(m) == 9 and m["job_id"].is_unique
    assert m.groupby("search_id").size().sort_values().tolist() == [4, 5]


def test_empty_table():
    assert find_groups(schema.empty_frame()).empty
    assert summarize_groups(schema.empty_frame()).empty


def test_heuristic_is_vectorized_enough_for_large_tables():
    """200,000 jobs in 20,000 bursts: the answer is exact (no timing asserted)."""
    n_b, per = 20_000, 10
    i = np.arange(n_b * per)
    b = i // per
    df = pd.DataFrame(
        {
            "source": "slurm",
            "project": "p",
            "user": "u" + (b % 7).astype(str),
            "job_name": "exp" + (b % 13).astype(str) + "-run-lr" + (i % per).astype(str),
            "submit_time": T + pd.to_timedelta(b * 7200 + (i % per) * 5, unit="s"),
        }
    )
    g = find_groups(df)
    assert g["search_id"].notna().all() and g["search_id"].nunique() == n_b


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args], capture_output=True, text=True, timeout=120
    )


def test_groups_command_lists_searches(tmp_path):
    lines = [
        "JobID|JobIDRaw|JobName|User|Account|State|ExitCode|Submit|Start|End|ElapsedRaw|AllocTRES"
    ]
    tres = "billing=4,cpu=4,gres/gpu=1,mem=32G,node=1"
    for i in range(5):  # a loop of sbatch, one second apart
        lines.append(
            f"{500 + i}|{500 + i}|srl-lr0.{i}|alice|lisa|COMPLETED|0:0|2018-03-02T10:00:0{i}|"
            f"2018-03-02T10:01:00|2018-03-02T12:01:00|7200|{tres}"
        )
    for t in range(4):  # an array
        lines.append(
            f"600_{t}|{601 + t}|grid|bob|lisa|FAILED|1:0|2018-03-03T10:00:00|"
            f"2018-03-03T10:00:30|2018-03-03T10:04:30|240|{tres}"
        )
    lines.append(
        f"700|700|debug|alice|lisa|COMPLETED|0:0|2018-03-04T10:00:00|2018-03-04T10:00:30|"
        f"2018-03-04T11:00:30|3600|{tres}"
    )
    f = tmp_path / "sacct.txt"
    f.write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "store")
    r = _run("ingest", str(f), "--store", store, "--cluster", "c")
    assert r.returncode == 0, r.stderr
    r = _run("groups", "--store", store, "--format", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert [(g["search_id"], g["search_method"], g["n_jobs"]) for g in got] == [
        ("heuristic:alice:srl:2018-03-02T10:00:00Z", "heuristic", 5),
        ("array:c:600", "array", 4),
    ]
    assert got[0]["gpu_hours"] == pytest.approx(10.0) and got[1]["n_failed"] == 4
    assert "2 searches" in r.stderr
    r = _run("groups", "--store", store, "--search", "array:c:600", "--format", "csv")
    assert (
        r.returncode == 0 and r.stdout.count("\n") == 5 and "600_3" in r.stdout
    )  # header + 4 jobs
    r = _run("groups", "--store", store, "--no-heuristics", "--format", "csv")
    assert r.stdout.count("\n") == 2
    # anonymized: the searches are found on the real names, then users, names and ids are tokens
    r = _run("--anonymize", "groups", "--store", store, "--format", "json")
    anon = json.loads(r.stdout)
    assert [g["n_jobs"] for g in anon] == [5, 4]
    assert "alice" not in r.stdout and "srl" not in r.stdout and "grid" not in r.stdout
    assert all(g["search_id"].startswith("search-") for g in anon)
    r = _run("groups", "--store", store, "--min-jobs", "1")
    assert r.returncode == 2 and "min_jobs" in r.stderr and "Traceback" not in r.stderr
