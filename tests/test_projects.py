"""Projects defined in TOML by accounts, users, job-name patterns and dates."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from rdcost.analysis.projects import (
    load_projects,
    parse_projects,
    project_mask,
    read_project_jobs,
    select,
)
from rdcost.errors import UsageError
from rdcost.jobtable.schema import conform
from rdcost.jobtable.store import Store


def frame() -> pd.DataFrame:
    t = pd.Timestamp
    rows = [
        # key, account, user, job_name, project, start
        ("1", "nlp", "ana", "lisa-srl-1", "nlp", t("2017-09-01 10:00", tz="UTC")),
        ("2", "nlp", "bob", "lisa-srl-2", "nlp", t("2018-02-28 23:59", tz="UTC")),
        ("3", "nlp", "ana", "bert-test", "nlp", t("2018-01-15", tz="UTC")),
        ("4", "vision", "ana", "lisa-srl-3", "vision", t("2018-01-15", tz="UTC")),
        ("5", "nlp", "ana", "lisa-srl-4", "nlp", t("2018-03-01 00:00", tz="UTC")),
        ("6", "nlp", "cyd", "LISA-caps", "lisa", None),  # never started: dated by submit time
    ]
    df = pd.DataFrame(
        rows, columns=["record_key", "account", "user", "job_name", "project", "start_time"]
    )
    df["submit_time"] = df["start_time"].fillna(pd.Timestamp("2017-08-01", tz="UTC"))
    df["source"] = "slurm"
    df["job_id"] = df["record_key"]
    df["state"] = "COMPLETED"
    df["elapsed_s"] = 3600.0
    df["n_gpus"] = 1.0
    return conform(df)


TOML = """
[projects.lisa]
accounts = ["nlp"]
job_name_patterns = ["lisa-*"]
start = "2017-09-01"
end = 2018-02-28

[projects.ana]
users = ["ana", "cyd"]

[projects.tagged]
project_tags = ["lisa"]
"""


def keys(df: pd.DataFrame) -> list[str]:
    return sorted(df["record_key"])


def test_and_across_criteria_or_within_dates_inclusive():
    defs = parse_projects(__import__("tomllib").loads(TOML))
    f = frame()
    # job 3: name does not match; 4: other account; 5: after the end day; 6: case and date
    assert keys(select(f, "lisa", defs)) == ["1", "2"]
    assert keys(select(f, "ana", defs)) == ["1", "3", "4", "5", "6"]
    assert keys(select(f, "tagged", defs)) == ["6"]


def test_undefined_name_falls_back_to_the_project_column():
    f = frame()
    assert keys(select(f, "vision", {})) == ["4"]
    assert keys(select(f, "lisa", None)) == ["6"]


def test_date_range_uses_submit_time_for_never_started_jobs():
    defs = parse_projects({"projects": {"early": {"end": "2017-08-31"}}})
    assert keys(select(frame(), "early", defs)) == ["6"]
    m = project_mask(frame(), defs["early"])
    assert m.dtype == bool and m.sum() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"projects": {"x": {}}},
        {"projects": {"x": {"acounts": ["a"]}}},
        {"projects": {"x": {"users": [1]}}},
        {"projects": {"x": {"start": "not a date"}}},
        {"projects": {"x": {"start": "2018-02-01", "end": "2018-01-01"}}},
        {"project": {"x": {"users": ["a"]}}},
        {"projects": {"x": "users"}},
    ],
    ids=str,
)
def test_invalid_definitions_are_refused(data):
    with pytest.raises(UsageError):
        parse_projects(data)


def test_load_projects_file_errors(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text("[projects.x\n")
    with pytest.raises(UsageError) as e:
        load_projects(bad)
    assert str(bad) in str(e.value)


def test_read_project_jobs_and_cli(tmp_path):
    st = Store(tmp_path / "store")
    with st.writer() as w:
        w.add(frame())
        w.commit()
    f = tmp_path / "projects.toml"
    f.write_text(TOML)
    defs = load_projects(f)
    assert keys(read_project_jobs(st, "lisa", defs)) == ["1", "2"]
    assert keys(read_project_jobs(st, "nlp", defs)) == ["1", "2", "3", "5"]
    assert len(read_project_jobs(st, None)) == 6
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rdcost",
            "summarize",
            "--store",
            str(st.path),
            "-p",
            "lisa",
            "--projects-file",
            str(f),
            "--watts-per-gpu",
            "200",
            "--usd-per-gpu-hour-low",
            "1",
            "--usd-per-gpu-hour-high",
            "2",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["n_jobs"] == 2 and d["gpu_hours"] == pytest.approx(2.0)
    assert d["cloud_usd_high"] == pytest.approx(4.0)


def test_the_toml_examples_in_the_docs_load(tmp_path, monkeypatch):
    import re
    import tomllib
    from pathlib import Path

    from rdcost.analysis import assumptions

    text = (Path(__file__).resolve().parents[1] / "docs" / "summarize.md").read_text(
        encoding="utf-8"
    )
    blocks = [tomllib.loads(b) for b in re.findall(r"```toml\n(.*?)```", text, flags=re.S)]
    assert len(blocks) == 2
    # the example's [carbon_series] names a file of the user's: one of the plain layout
    monkeypatch.chdir(tmp_path)
    (tmp_path / blocks[0]["carbon_series"]["path"]).write_text(
        "time,g_co2e_per_kwh\n2025-01-01T00:00:00Z,300\n2025-01-01T01:00:00Z,310\n"
    )
    a = assumptions.apply_dict(assumptions.Assumptions(), blocks[0], "docs")
    assert a.pue.value == 1.2 and a.prices["*"].usd_per_gpu_hour_high == 3.06
    assert parse_projects(blocks[1])["lisa"].users == ("strubell", "verga")
