"""Grid searches on real files, against labels made by hand from the files themselves
(issue 13, item 7): the labels below come from reading each file (its sweep column, its
run names and times, its array task ids), never from rdcost's output.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.analysis.grouping import find_groups
from rdcost.analysis.linking import compute_jobs
from tests.conftest import realworld_file


def _searches(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    df, _ = read_log_report(realworld_file(name))
    jobs = compute_jobs(df)
    return jobs, find_groups(jobs)


def test_sweep_without_sweep_ids_is_three_searches_by_its_run_names():
    """wandb_api_runs_sweepid_equiunet.csv: the sweep_id column is empty in all 140 rows,
    but W&B named the runs ``<word>-sweep-<n>``. Read in created_at order, the counter
    runs 1..28 (2026-04-22T20:11 to 2026-04-23T06:09), starts again at 1 at
    2026-04-23T13:16:48Z and runs to 42, and starts again at 2026-04-24T07:35:08Z and runs
    to 70: three sweeps, each hours apart from the next."""
    jobs, g = _searches("wandb_api_runs_sweepid_equiunet.csv")
    created = pd.to_datetime(jobs["start_time"], utc=True)
    hand = pd.cut(
        created,
        pd.to_datetime(
            ["2026-04-22T00:00Z", "2026-04-23T13:00Z", "2026-04-24T07:00Z", "2026-04-26T00:00Z"]
        ),
        labels=["first", "second", "third"],
    )
    assert Counter(hand.astype(str)) == {"first": 28, "second": 42, "third": 70}
    assert g["search_id"].notna().all()
    # each hand-labelled sweep is exactly one search, and no two share one
    per_label = g.groupby(hand.astype(str))["search_id"].nunique()
    assert per_label.to_dict() == {"first": 1, "second": 1, "third": 1}
    assert g["search_id"].nunique() == 3


def _sweep_column(name: str, column: str) -> dict[str, str]:
    with open(realworld_file(name), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {r["Name"]: r[column] for r in rows}, len(rows)


@pytest.mark.parametrize(
    "name", ["wandb_ui_runs_url_sweep_reordered.csv", "wandb_ui_sweep_agent_stopped.csv"]
)
def test_sweeps_with_ids_are_the_searches_of_their_sweep_column(name):
    """The Sweep column names each run's sweep: the searches are exactly those groups
    (run names repeat across sweeps in the first file, so runs are matched by row)."""
    with open(realworld_file(name), newline="", encoding="utf-8") as fh:
        sweep = [r["Sweep"] for r in csv.DictReader(fh)]
    jobs, g = _searches(name)
    assert len(jobs) == len(sweep)
    hand = pd.Series(sweep, index=jobs.index)
    # one search per sweep id, holding exactly that sweep's runs
    pairs = pd.DataFrame({"hand": hand, "found": g["search_id"]})
    assert pairs["found"].notna().all()
    assert pairs.groupby("hand")["found"].nunique().eq(1).all()
    assert pairs.groupby("found")["hand"].nunique().eq(1).all()
    assert g["search_id"].nunique() == hand.nunique()


def test_job_arrays_are_searches_only_from_four_tasks_and_remainders_are_none():
    """clockwork_sacct_p_cedar.txt (Cedar): 62 arrays list tasks one by one (``123_4``):
    44 with 5 tasks, 13 with 4, 2 with 3, 1 with 2, 2 with 1. 91 arrays also have (or only
    have) a pending remainder line (``123_[3,5,7,9]``): tasks that never started. An array
    is a search from 4 tasks (the minimum of every search): 57 searches of 5 or 4 jobs.
    The tasks of the smaller arrays belong to no search of their own; no remainder is a
    job of any search."""
    path = realworld_file("clockwork_sacct_p_cedar.txt")
    lines = path.read_text().splitlines()
    col = lines[0].split("|").index("JobID")
    tasks: dict[str, set[str]] = defaultdict(set)
    for line in lines[1:]:
        m = re.match(r"^(\d+)_(\d+)$", line.split("|")[col])
        if m:
            tasks[m.group(1)].add(m.group(2))
    hand = {a: len(t) for a, t in tasks.items() if len(t) >= 4}
    assert len(hand) == 57 and sorted(Counter(hand.values()).items()) == [(4, 13), (5, 44)]

    jobs, g = _searches("clockwork_sacct_p_cedar.txt")
    array = jobs["job_id"].astype(str).str.extract(r"^(\d+)_(\d+)$")[0]
    sid = g["search_id"]
    # every array of 4 or more tasks is one search of its own, holding all its tasks
    for a, n in hand.items():
        mine = sid[array.eq(a).fillna(False)]
        assert len(mine) == n and mine.nunique() == 1 and mine.iloc[0].endswith(f":{a}")
    assert sid.dropna().str.startswith("array:").sum() >= sum(hand.values())
    assert {s.rsplit(":", 1)[1] for s in sid.dropna() if s.startswith("array:")} == set(hand)
    # a smaller array is never a search of its own: its tasks are in no search, or in the
    # search of the array submitted with them (same script family, rule 5)
    small = array.notna() & ~array.isin(list(hand))
    assert small.sum() == 2 * 3 + 1 * 2 + 2 * 1
    joined = sid[small].dropna()
    assert all(s.rsplit(":", 1)[1] in hand for s in joined)
    names = jobs["job_name"].astype(str)
    for i in joined.index:
        owner = joined[i].rsplit(":", 1)[1]
        stem = names[array.eq(owner).fillna(False)].iloc[0].split("_thre")[0]
        assert names[i].startswith(stem)
    remainder = jobs["job_id"].astype(str).str.contains(r"_\[", regex=True)
    assert remainder.sum() > 0
    assert sid[remainder].isna().all()
