"""rdcost.analysis.usage_window and `rdcost usage`: TRES-seconds in a window, by hand-worked
examples (no Slurm needed; tests/integration/test_slurm_real.py checks the same rules
against a real slurmdbd, sreport and sacct --truncate)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest

from rdcost.analysis.usage_window import (
    ROLLUP,
    SACCT_TRUNCATE,
    WindowRule,
    hour_floor,
    hour_round,
    hours,
    job_seconds,
    parse_tz,
    sreport_period,
    sreport_usage,
    to_utc,
    tres_seconds,
)
from rdcost.errors import UsageError

D = "2026-03-02T"
W0, W1 = D + "10:00Z", D + "12:00Z"  # the window [10:00, 12:00) UTC


def t(hhmm: str | None) -> pd.Timestamp | None:
    return None if hhmm is None else pd.Timestamp(D + hhmm + "Z")


def jobs() -> pd.DataFrame:
    """A: crosses the window's start; B: crosses its end; C: inside; D: still running
    (no end); E: before the window; F: pending; G: a container record (MLflow parent
    run); H: unknown CPU count, GPUs of two types."""
    rows = [
        # id, account, user, start, end, cpus, gpus, gpu type, container
        ("A", "a", "ann", "09:30", "10:30", 2, 1.0, "a100", False),
        ("B", "a", "bob", "11:40", "12:20", 4, 0.0, None, False),
        ("C", "b", "ann", "10:15", "10:45", 1, 2.0, "v100", False),
        ("D", "b", "bob", "11:00", None, 8, 1.0, "v100", False),
        ("E", "b", "ann", "08:00", "09:00", 16, 4.0, "v100", False),
        ("F", "c", "ann", None, None, 2, 1.0, "a100", False),
        ("G", "a", "ann", "10:00", "11:00", 1, 0.0, None, True),
        ("H", None, "cy", "10:00", "11:00", None, 2.0, "a100,v100", False),
    ]
    rows = [(*r[:3], t(r[3]), t(r[4]), *r[5:]) for r in rows]
    df = pd.DataFrame(
        rows,
        columns=[
            "job_id",
            "account",
            "user",
            "start_time",
            "end_time",
            "n_cpus",
            "n_gpus",
            "gpu_type",
            "is_container",
        ],
    )
    df["start_time"] = pd.to_datetime(df["start_time"], utc=True)
    df["end_time"] = pd.to_datetime(df["end_time"], utc=True)
    df["n_cpus"] = df["n_cpus"].astype("Int64")
    return df


def per_job(rule: WindowRule, as_of: str, start=W0, end=W1) -> dict[str, float]:
    df = jobs()
    return dict(
        zip(df["job_id"], job_seconds(df, start, end, as_of=t(as_of), rule=rule), strict=True)
    )


TRES = ["cpu", "gres/gpu", "gres/gpu:a100", "gres/gpu:v100"]


def table(usage) -> dict[str, list[float]]:
    """account -> [cpu, gres/gpu, a100, v100]."""
    d = usage.as_dict()
    return {a: [d[(a, x)] for x in TRES] for a in sorted({k[0] for k in d})}


# ----------------------------------------------------------------------------- rules


def test_after_the_fact_clip_counts_the_seconds_inside():
    """As of 13:00 every job has ended or runs on: A counts 10:00-10:30, B 11:40-12:00,
    C all 30 min, D 11:00-12:00 (running: to now, cut at the window's end)."""
    assert per_job(SACCT_TRUNCATE, "13:00") == {
        "A": 1800,
        "B": 1200,
        "C": 1800,
        "D": 3600,
        "E": 0,
        "F": 0,
        "G": 0,
        "H": 3600,
    }
    u = tres_seconds(jobs(), W0, W1, as_of=t("13:00"))
    # a: A 2x1800 + B 4x1200 CPU-s; A's GPU.  b: C 1x1800 + D 8x3600; C 2x1800 + D 1x3600.
    # "" (H, no account): no CPU count, 2 GPUs x 3600 s of two types (no per-type figure)
    assert table(u) == {
        "": [0, 7200, 0, 0],
        "a": [8400, 1800, 1800, 0],
        "b": [30600, 7200, 0, 7200],
    }
    assert (u.n_jobs, u.no_cpus, u.no_gpus, u.mixed_gpu_types) == (5, 1, 0, 1)
    assert list(u.table.columns) == ["account", "tres", "seconds"]
    # sreport's TRES order: cpu, gres/gpu, then the types
    assert list(u.table["tres"][:4]) == TRES


def test_a_running_job_counts_to_as_of_or_to_the_window_end():
    """As of 11:30 (a snapshot inside the window): D has run 30 min. sacct --truncate
    counts it to now (1800 s); slurmdbd's rollup of an hour counts it to the hour's end
    (3600 s); exclude drops it. B starts after 11:30: not there yet."""
    assert per_job(SACCT_TRUNCATE, "11:30")["D"] == 1800
    assert per_job(ROLLUP, "11:30")["D"] == 3600
    assert per_job(WindowRule(running="exclude"), "11:30")["D"] == 0
    assert per_job(SACCT_TRUNCATE, "11:30")["B"] == 0

    def b(rule):
        return table(tres_seconds(jobs(), W0, W1, as_of=t("11:30"), rule=rule, tres=TRES))["b"]

    # C: 1 CPU, 2 V100 x 1800 s; D: 8 CPUs, 1 V100
    assert b(SACCT_TRUNCATE) == [1800 + 8 * 1800, 3600 + 1800, 0, 3600 + 1800]
    assert b(ROLLUP) == [1800 + 8 * 3600, 3600 + 3600, 0, 3600 + 3600]
    assert b(WindowRule("exclude")) == [1800, 3600, 0, 3600]


def test_a_job_that_ended_after_as_of_was_running_then():
    """As of 12:10, B (11:40-12:20) was running: as-of counts it to 12:10, cut at 12:00."""
    assert per_job(SACCT_TRUNCATE, "12:10", end=D + "12:30Z")["B"] == 1800  # 11:40-12:10
    assert per_job(ROLLUP, "12:10", end=D + "12:30Z")["B"] == 3000  # 11:40-12:30
    assert per_job(SACCT_TRUNCATE, "12:10")["B"] == 1200


def test_whole_and_start_edge_rules():
    """whole: every job that overlaps counts its whole run (A 1 h, B 40 min, D 11:00
    to now 13:00); start: only jobs that started inside count, in full (not A)."""
    whole = per_job(WindowRule(edges="whole"), "13:00")
    assert whole == {"A": 3600, "B": 2400, "C": 1800, "D": 7200, "E": 0, "F": 0, "G": 0, "H": 3600}
    start = per_job(WindowRule(edges="start"), "13:00")
    assert start == {"A": 0, "B": 2400, "C": 1800, "D": 7200, "E": 0, "F": 0, "G": 0, "H": 3600}
    assert table(
        tres_seconds(jobs(), W0, W1, as_of=t("13:00"), rule=WindowRule(edges="whole"), tres=TRES)
    )["a"] == [2 * 3600 + 4 * 2400, 3600, 3600, 0]


def test_windows_split_without_loss():
    """Hour by hour, the clip rule adds up to the whole window (what sreport relies on)."""
    df = jobs()
    total = tres_seconds(df, W0, W1, as_of=t("13:00")).as_dict()
    parts = [
        tres_seconds(df, h, h + pd.Timedelta(hours=1), as_of=t("13:00"), tres=TRES).as_dict()
        for h in hours(W0, W1)
    ]
    for key, secs in total.items():
        assert sum(p.get(key, 0) for p in parts) == secs, key


def test_any_index_of_the_caller():
    """The frame's index does not matter (duplicated labels, as after concatenating)."""
    df = jobs()
    df.index = [7] * len(df)
    assert list(job_seconds(df, W0, W1, as_of=t("13:00"))) == [
        1800,
        1200,
        1800,
        3600,
        0,
        0,
        0,
        3600,
    ]
    assert tres_seconds(df, W0, W1, as_of=t("13:00")).get("cpu", account="b") == 30600


def test_group_by_any_column():
    u = tres_seconds(jobs(), W0, W1, as_of=t("13:00"), by=["account", "user"], tres=["cpu"])
    assert u.as_dict() == {
        ("", "cy", "cpu"): 0,
        ("a", "ann", "cpu"): 3600,
        ("a", "bob", "cpu"): 4800,
        ("b", "ann", "cpu"): 1800,
        ("b", "bob", "cpu"): 28800,
    }
    assert u.get("cpu", account="a") == 8400


def test_empty_window_and_bad_arguments():
    u = tres_seconds(jobs(), D + "00:00Z", D + "01:00Z", as_of=t("13:00"))
    assert len(u.table) == 0 and u.n_jobs == 0
    with pytest.raises(UsageError, match="before it starts"):
        tres_seconds(jobs(), W1, W0)
    with pytest.raises(UsageError, match="not columns"):
        tres_seconds(jobs(), W0, W1, by=["nope"])
    with pytest.raises(UsageError, match="rdcost counts"):
        tres_seconds(jobs(), W0, W1, tres=["mem"])
    with pytest.raises(UsageError, match="running rule"):
        WindowRule(running="forever")
    with pytest.raises(UsageError, match="edge rule"):
        WindowRule(edges="round")
    with pytest.raises(UsageError, match="time zone"):
        parse_tz("Mars/Olympus")
    with pytest.raises(UsageError, match="not a time"):
        to_utc("yesterday-ish")


# ----------------------------------------------------------------------------- times and sreport


def test_time_zones_and_hours():
    assert to_utc("2026-03-02T10:00") == pd.Timestamp(W0)
    assert to_utc("2026-03-02T11:00", "Europe/Paris") == pd.Timestamp(W0)
    assert to_utc("2026-03-02T09:16:12", "-00:43:48") == pd.Timestamp(W0)
    assert to_utc("2026-03-02T09:16:12-00:43:48") == pd.Timestamp(W0)
    assert parse_tz("+05:30").utcoffset(None) == dt.timedelta(hours=5, minutes=30)
    assert hour_floor(D + "10:59:59Z") == pd.Timestamp(W0)
    assert hour_floor(D + "10:20Z", "Asia/Kolkata") == pd.Timestamp(D + "09:30Z")
    assert hour_floor(D + "10:20Z", "-00:43:48") == pd.Timestamp(D + "09:43:48Z")
    assert hour_round(D + "10:29:29Z") == pd.Timestamp(D + "10:00Z")
    assert hour_round(D + "10:29:30Z") == pd.Timestamp(D + "11:00Z")
    assert hours(W0, W1) == [pd.Timestamp(W0), pd.Timestamp(D + "11:00Z")]


@pytest.mark.parametrize(
    ("start", "end", "now", "tz", "period"),
    [
        # issue #19: one minute after the hour, an end in the future is cut to the past hour
        ("20:00", "22:00", "21:01:00", None, ("20:00", "21:00")),
        ("20:00", "22:00", "21:29:29", None, ("20:00", "21:00")),
        ("20:00", "22:00", "21:29:30", None, ("20:00", "22:00")),
        ("20:00", "22:00", "23:00:00", None, ("20:00", "22:00")),
        # start and end round to the nearest hour; at least one hour
        ("20:40", "22:10", "23:00:00", None, ("21:00", "22:00")),
        ("20:00", "20:00", "23:00:00", None, ("20:00", "21:00")),
        ("20:00", "20:20", "23:00:00", None, ("20:00", "21:00")),
        ("20:00", "22:00", "20:10:00", None, ("20:00", "21:00")),
        # hours of a zone half an hour off UTC, and of a shifted testbed zone
        ("14:30", "16:30", "15:35:00", "Asia/Kolkata", ("14:30", "15:30")),
        ("20:43:48", "22:43:48", "21:45:00", "-00:43:48", ("20:43:48", "21:43:48")),
    ],
)
def test_sreport_period(start, end, now, tz, period):
    day = "2026-12-06T"
    got = sreport_period(day + start + "Z", day + end + "Z", day + now + "Z", tz)
    assert got == (pd.Timestamp(day + period[0] + "Z"), pd.Timestamp(day + period[1] + "Z"))


def test_sreport_usage_counts_rolled_up_hours_of_its_period():
    """At 11:20, start=10:00 end=12:00 is cut to 10:00-11:00 (rolled up at 11:00): A's
    half hour, C, H. At 11:40 the period is 10:00-12:00 but 11:00-12:00 is not rolled
    up yet: the same figures and a note. After `sacctmgr rollup 10:00 12:00` at 11:40
    the rollup counted the jobs running then (B since 11:40, D since 11:00) to 12:00."""
    first_hour = {"": [0, 7200, 0, 0], "a": [3600, 1800, 1800, 0], "b": [1800, 3600, 0, 3600]}
    u = sreport_usage(jobs(), W0, W1, now=t("11:20"), tres=TRES)
    assert (u.start, u.end) == (pd.Timestamp(W0), pd.Timestamp(D + "11:00Z"))
    assert table(u) == first_hour and not u.notes
    u = sreport_usage(jobs(), W0, W1, now=t("11:40"), tres=TRES)
    assert (u.start, u.end) == (pd.Timestamp(W0), pd.Timestamp(W1))
    assert table(u) == first_hour and "not rolled up" in u.notes[0]
    u = sreport_usage(jobs(), W0, W1, now=t("11:40"), rolled_up_to=t("12:00"), tres=TRES)
    assert table(u) == {
        "": [0, 7200, 0, 0],
        "a": [3600 + 4 * 1200, 1800, 1800, 0],
        "b": [1800 + 8 * 3600, 3600 + 3600, 0, 7200],
    }
    assert u.rule == ROLLUP


# ----------------------------------------------------------------------------- the command

SACCT = """\
JobID|JobIDRaw|JobName|User|Account|Partition|State|Submit|Start|End|ElapsedRaw|NCPUS|AllocTRES|Cluster
101|101|crosses_start|ann|a|gpu|COMPLETED|2026-03-02T09:00:00|2026-03-02T09:30:00|2026-03-02T10:30:00|3600|2|billing=2,cpu=2,gres/gpu:a100=1,gres/gpu=1,mem=1G,node=1|c1
102|102|crosses_end|bob|a|cpu|COMPLETED|2026-03-02T11:00:00|2026-03-02T11:40:00|2026-03-02T12:20:00|2400|4|billing=4,cpu=4,mem=2G,node=1|c1
103|103|runs|bob|b|gpu|RUNNING|2026-03-02T11:00:00|2026-03-02T11:00:00|Unknown|1800|8|billing=8,cpu=8,gres/gpu:v100=1,gres/gpu=1,mem=4G,node=1|c1
104|104|waits|ann|c|cpu|PENDING|2026-03-02T11:00:00|Unknown|Unknown|0|2||c1
"""


def usage_cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    f = tmp_path / "sacct.txt"
    f.write_text(SACCT)
    return subprocess.run(
        [sys.executable, "-m", "rdcost", "usage", str(f), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_usage_command_reads_an_export(tmp_path):
    p = usage_cli(
        tmp_path,
        "-S",
        "2026-03-02T10:00",
        "-E",
        "2026-03-02T12:00",
        "--as-of",
        "2026-03-02T11:30",
        "-f",
        "json",
    )
    assert p.returncode == 0, p.stderr
    got = {(r["account"], r["tres"]): r["seconds"] for r in json.loads(p.stdout)}
    # 101: 1800 s x 2 CPUs, 1 GPU; 102 starts after 11:30; 103: 11:00-11:30 x 8 CPUs, 1 GPU
    assert got == {
        ("a", "cpu"): 3600,
        ("a", "gres/gpu"): 1800,
        ("a", "gres/gpu:a100"): 1800,
        ("a", "gres/gpu:v100"): 0,
        ("b", "cpu"): 14400,
        ("b", "gres/gpu"): 1800,
        ("b", "gres/gpu:a100"): 0,
        ("b", "gres/gpu:v100"): 1800,
    }
    assert "running=as-of, edges=clip" in p.stderr and "2 jobs counted" in p.stderr


def test_usage_command_rules_and_sreport_mode(tmp_path):
    p = usage_cli(
        tmp_path,
        "-S",
        "2026-03-02T10:00",
        "-E",
        "2026-03-02T12:00",
        "--as-of",
        "2026-03-02T11:30",
        "--running",
        "window-end",
        "--tres",
        "cpu",
        "-f",
        "csv",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["account,tres,seconds", "a,cpu,3600", "b,cpu,28800"]
    # sreport at 11:40 after `sacctmgr rollup 10:00 12:00`: 102 and 103 run to 12:00
    p = usage_cli(
        tmp_path,
        "-S",
        "2026-03-02T10:00",
        "-E",
        "2026-03-02T12:00",
        "--sreport",
        "--as-of",
        "2026-03-02T11:40",
        "--rolled-up-to",
        "2026-03-02T12:00",
        "--tres",
        "cpu",
        "-f",
        "csv",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["account,tres,seconds", "a,cpu,8400", "b,cpu,28800"]
    assert "sreport period 2026-03-02T10:00:00+00:00 - 2026-03-02T12:00:00+00:00" in p.stderr
    # at 11:01 sreport cuts the same request to 10:00-11:00
    p = usage_cli(
        tmp_path,
        "-S",
        "2026-03-02T10:00",
        "-E",
        "2026-03-02T12:00",
        "--sreport",
        "--as-of",
        "2026-03-02T11:01",
        "--tres",
        "cpu",
        "-f",
        "csv",
    )
    assert p.stdout.splitlines() == ["account,tres,seconds", "a,cpu,3600"]
    assert "- 2026-03-02T11:00:00+00:00 (3600 secs)" in p.stderr


def test_usage_command_usage_errors(tmp_path):
    p = usage_cli(
        tmp_path,
        "-S",
        "2026-03-02T10:00",
        "-E",
        "2026-03-02T12:00",
        "--sreport",
        "--edges",
        "whole",
    )
    assert p.returncode == 2 and "sreport" in p.stderr and "Traceback" not in p.stderr
    p = usage_cli(tmp_path, "-S", "2026-03-02T10:00", "-E", "2026-03-02T12:00", "--by", "nope")
    assert p.returncode == 2 and "nope" in p.stderr
    p = usage_cli(tmp_path, "-S", "noon", "-E", "2026-03-02T12:00")
    assert p.returncode == 2 and "not a time" in p.stderr
