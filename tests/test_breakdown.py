"""Breakdowns (issue 16, item 1): per-group figures worked by hand, groups that add up to the
project's totals (in memory, split, and from the store), the site hierarchy, the CLI in every
format, the sample logs and a real multi-user export."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.breakdown import (
    BreakdownSpec,
    breakdown_of_frame,
    load_hierarchy,
    parse_keys,
)
from rdcost.analysis.summary import cost_jobs, summarize, summarize_store_by
from rdcost.analysis.summary.partial import counted_jobs
from rdcost.errors import RdcostError, UsageError
from rdcost.jobtable.schema import conform
from rdcost.jobtable.store import Store
from rdcost.readers.ingest import ingest
from tests.conftest import REALWORLD as REAL

REPO = Path(__file__).resolve().parents[1]
H = 3600
T0 = pd.Timestamp("2018-01-01", tz="UTC")


def hand_assumptions() -> A.Assumptions:
    """$1 - $2 per GPU-hour, 250 W, PUE 1, 0.5 kg CO2e/kWh, $0.10/kWh: easy to work by hand."""
    a = A.override_all_prices(A.load([]), 1.0, 2.0, "test")
    a = A.override_all_power(a, 250.0, "test")
    return A.apply_dict(
        a,
        {
            "pue": {"value": 1.0},
            "carbon": {"kg_co2e_per_kwh": 0.5},
            "electricity": {"usd_per_kwh": 0.1},
        },
        "test",
    )


def job(key, user, account, state, start, hours, n_gpus, **kw):
    s = None if start is None else pd.Timestamp(start, tz="UTC")
    elapsed = None if hours is None else float(hours * H)
    row = dict(
        record_key=key,
        source="slurm",
        job_id=key,
        user=user,
        account=account,
        state=state,
        submit_time=T0,
        start_time=s,
        end_time=None if s is None else s + pd.Timedelta(seconds=elapsed),
        elapsed_s=elapsed,
        n_gpus=n_gpus,
        gpu_type="titanx",
        project="p",
        partition="gpu",
    )
    row.update(kw)
    return row


def jobs() -> pd.DataFrame:
    # a: alice 1 GPU x 10 h = 10 GPU-h (January, W01)
    # b: bob 2 x 8 h = 16, FAILED (waste), starts 31 Jan 20:00 and ends in February (counts in January)
    # c: alice 4 x 4 h = 16 (February)
    # d: carol, unknown GPU count, no account (February)
    # e: bob, never started (no place in time)
    # f: alice, 10 h against a 1 h limit: implausible, left out of every total
    return conform(
        pd.DataFrame(
            [
                job("a", "alice", "nlp", "COMPLETED", "2018-01-01", 10, 1.0),
                job("b", "bob", "nlp", "FAILED", "2018-01-31T20:00", 8, 2.0),
                job("c", "alice", "vision", "COMPLETED", "2018-02-02", 4, 4.0),
                job("d", "carol", None, "COMPLETED", "2018-02-03", 5, None),
                job("e", "bob", "vision", "PENDING", None, None, 1.0),
                job("f", "alice", "nlp", "COMPLETED", "2018-01-05", 10, 1.0, timelimit_s=3600.0),
            ]
        )
    )


def by(keys, hierarchy=None, n_parts=1, include_implausible=False):
    c = cost_jobs(jobs(), hand_assumptions())
    return breakdown_of_frame(
        c.cj,
        c.costs,
        BreakdownSpec(tuple(keys), hierarchy),
        n_parts=n_parts,
        include_implausible=include_implausible,
    )


def rows_by(b, key):
    return {r[key]: r for r in b.rows}


def test_by_user_worked_by_hand():
    b = by(["user"])
    r = rows_by(b, "user")
    alice, bob, carol = r["alice"], r["bob"], r["carol"]
    # alice: a (10) + c (16) = 26 GPU-hours; f is implausible: counted as a job, not in the sums
    assert (alice["n_jobs"], alice["n_jobs_started"], alice["n_jobs_implausible"]) == (3, 3, 1)
    assert alice["gpu_hours"] == 26.0
    assert (alice["cloud_usd_low"], alice["cloud_usd_high"]) == (26.0, 52.0)
    assert alice["energy_kwh"] == pytest.approx(26 * 0.25)  # 6.5 kWh
    assert alice["co2e_kg"] == pytest.approx(3.25)
    assert alice["electricity_usd"] == pytest.approx(0.65)
    assert alice["waste_n_jobs"] == 0 and alice["waste_gpu_hours"] == 0.0
    # bob: b (16, failed: all of it waste); e never started
    assert (bob["n_jobs"], bob["n_jobs_started"]) == (2, 1)
    assert bob["gpu_hours"] == 16.0 and bob["cloud_usd_high"] == 32.0
    assert (bob["waste_n_jobs"], bob["waste_gpu_hours"], bob["waste_share_of_gpu_hours"]) == (
        1,
        16.0,
        1.0,
    )
    # carol: one job of unknown GPU count: counted, and her GPU-hours are unknown, never 0
    assert carol["n_jobs"] == 1 and carol["n_jobs_gpu_unknown"] == 1
    assert carol["gpu_hours"] is None and carol["cloud_usd_low"] is None
    assert carol["share_of_gpu_hours"] is None
    t = b.total
    assert (t["n_jobs"], t["gpu_hours"], t["cloud_usd_low"], t["cloud_usd_high"]) == (
        6,
        42.0,
        42.0,
        84.0,
    )
    assert t["waste_gpu_hours"] == 16.0
    assert [r["user"] for r in b.rows] == ["alice", "bob", "carol"]  # largest GPU-hours first
    assert alice["share_of_gpu_hours"] == pytest.approx(26 / 42)


def test_total_is_the_summary_of_the_same_jobs():
    b = by(["user"])
    s = summarize(jobs(), hand_assumptions())
    assert b.total["n_jobs"] == s.n_jobs == 6
    for k in ("gpu_hours", "cloud_usd_low", "cloud_usd_high", "energy_kwh", "co2e_kg"):
        assert b.total[k] == getattr(s, k)
    assert b.total["waste_gpu_hours"] == s.waste["total"]["gpu_hours"]
    assert b.total["n_jobs_gpu_unknown"] == s.n_jobs_gpu_unknown
    assert b.total["n_jobs_implausible"] == s.n_jobs_implausible
    # with --include-implausible, f's 10 GPU-hours count for alice and in the total
    bi = by(["user"], include_implausible=True)
    assert rows_by(bi, "user")["alice"]["gpu_hours"] == 36.0 and bi.total["gpu_hours"] == 52.0


def test_by_month_and_week():
    r = rows_by(by(["month"]), "month")
    # January: a and b (b started in January), f (implausible: counted as a job only)
    assert (r["2018-01"]["n_jobs"], r["2018-01"]["gpu_hours"]) == (3, 26.0)
    # February: c, and d of unknown GPU count
    assert (r["2018-02"]["n_jobs"], r["2018-02"]["gpu_hours"]) == (2, 16.0)
    assert r["2018-02"]["n_jobs_gpu_unknown"] == 1
    # e never started: no time to place it in; its GPU time is a known 0
    assert (r[None]["n_jobs"], r[None]["gpu_hours"]) == (1, 0.0)
    w = rows_by(by(["week"]), "week")
    assert w["2018-W01"]["gpu_hours"] == 10.0  # 1 January 2018 is a Monday
    assert w["2018-W05"]["gpu_hours"] == 32.0  # b (31 Jan) and c (2 Feb)


def test_several_keys_and_splits_change_nothing():
    one = by(["user", "month"])
    assert {(r["user"], r["month"]) for r in one.rows} == {
        ("alice", "2018-01"),
        ("alice", "2018-02"),
        ("bob", "2018-01"),
        ("bob", None),
        ("carol", "2018-02"),
    }
    for n in (2, 3, 6):
        assert by(["user", "month"], n_parts=n).to_dict() == one.to_dict()


def test_hierarchy(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text(
        '[accounts.nlp]\ngroup = "NLP lab"\ndepartment = "CS"\n'
        '[accounts.vision]\ngroup = "Vision lab"\ndepartment = "CS"\n'
    )
    h = load_hierarchy(f)
    r = rows_by(by(["department"], h), "department")
    # CS: a, b, f (nlp) and c, e (vision); carol's job has no account: unknown
    assert (r["CS"]["n_jobs"], r["CS"]["gpu_hours"]) == (5, 42.0)
    assert r[None]["n_jobs"] == 1 and r[None]["gpu_hours"] is None
    g = rows_by(by(["group"], h), "group")
    assert (g["NLP lab"]["gpu_hours"], g["Vision lab"]["gpu_hours"]) == (26.0, 16.0)
    with pytest.raises(UsageError):
        BreakdownSpec(("group",))
    bad = tmp_path / "bad.toml"
    bad.write_text('[accounts.nlp]\nfaculty = "x"\n')
    with pytest.raises(RdcostError, match="unknown level"):
        load_hierarchy(bad)


def test_parse_keys():
    assert parse_keys(["user,month", "user", "qos"]) == ("user", "month", "qos")
    with pytest.raises(UsageError, match="unknown key"):
        parse_keys(["colour"])


# -- the store, the CLI, the sample and a real file -----------------------------------------


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args], capture_output=True, text=True, cwd=REPO
    )


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bd") / "store"
    with Store(path).writer() as w:
        w.add(jobs())
        w.commit()
    return path


def test_store_equals_memory(hand_store):
    spec = BreakdownSpec(("user", "month"))
    s, b = summarize_store_by(hand_store, spec, None, None, hand_assumptions())
    mem = by(["user", "month"])
    assert b.to_dict() == mem.to_dict()
    assert b.total["gpu_hours"] == s.gpu_hours == 42.0


def assert_rows_add_up(d: dict) -> None:
    """The JSON rows of --by add up to the project's totals (summary keys)."""
    rows, total = d["breakdown"]["rows"], d["breakdown"]["total"]
    assert sum(r["n_jobs"] for r in rows) == d["n_jobs"] == total["n_jobs"]
    assert sum(r["n_jobs_gpu_unknown"] for r in rows) == d["n_jobs_gpu_unknown"]
    known = [r["gpu_hours"] for r in rows if r["gpu_hours"] is not None]
    if d["gpu_hours"] is None:  # no counted job has known GPU-hours: the total is unknown,
        # and a group is known only when none of its jobs ran (0 GPU-hours)
        assert all(k == 0 for k in known) and total["gpu_hours"] is None
    else:
        assert math.fsum(known) == pytest.approx(d["gpu_hours"], rel=1e-12, abs=1e-9)
    for k in ("cloud_usd_low", "cloud_usd_high", "energy_kwh", "co2e_kg"):
        vals = [r[k] for r in rows if r[k] is not None]
        assert all(r[k] is None for r in rows if r["gpu_hours"] is None)  # unknown, never 0
        if d[k] is None:
            assert total[k] is None
        else:
            assert total[k] == d[k]
            assert math.fsum(vals) == pytest.approx(d[k], rel=1e-12, abs=1e-9)
    assert total["waste_gpu_hours"] == d["waste"]["total"]["gpu_hours"]


def test_cli_every_format(hand_store):
    base = ["summarize", "--store", str(hand_store), "--usd-per-gpu-hour-low", "1"]
    base += ["--usd-per-gpu-hour-high", "2", "--watts-per-gpu", "250", "--pue", "1"]
    r = run(*base, "--by", "user", "-f", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["breakdown"]["by"] == ["user"]
    assert {x["user"] for x in d["breakdown"]["rows"]} == {"alice", "bob", "carol"}
    assert_rows_add_up(d)
    assert "NaN" not in r.stdout and "None" not in r.stdout
    r = run(*base, "--by", "user,month", "-f", "csv")
    assert r.returncode == 0, r.stderr
    got = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(got) == 5 and list(got[0])[:2] == ["user", "month"]
    # largest first; bob's January (b, 16) and alice's February (c, 16) tie: first job first
    assert [(g["user"], g["month"], float(g["gpu_hours"] or "nan")) for g in got[:2]] == [
        ("bob", "2018-01", 16.0),
        ("alice", "2018-02", 16.0),
    ]
    r = run(*base, "--by", "user", "--by", "month")
    assert r.returncode == 0, r.stderr
    assert "Breakdown by user, month" in r.stdout and "unknown" in r.stdout
    r = run(*base, "--by", "user", "-f", "markdown")
    assert "| alice |" in r.stdout
    r = run(*base, "--by", "group")
    assert r.returncode == 2 and "--hierarchy" in r.stderr


def test_sample_logs_by_user_add_up(tmp_path):
    lisa = REPO / "sample_logs" / "lisa" / "sacct.txt"
    if not lisa.is_file():
        pytest.skip("sample logs absent")
    ingest([lisa], tmp_path / "store", project="lisa")
    r = run(
        "summarize",
        "--store",
        str(tmp_path / "store"),
        "-p",
        "lisa",
        "-a",
        "paper",
        "--by",
        "user",
        "-f",
        "json",
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert len(d["breakdown"]["rows"]) == 4
    assert_rows_add_up(d)


@pytest.mark.parametrize(
    "name,opts",
    [
        ("oodsacct_bridges_p2_2017.txt", []),
        ("hyak_sacct_fixedwidth_2024.txt", []),
        ("clockwork_sacct_p_cedar.txt", []),
    ],
)
def test_real_multi_user_file_by_user_adds_up(tmp_path, name, opts):
    f = REAL / name
    if not f.is_file():
        pytest.skip("real-world samples absent")
    st = tmp_path / "store"
    r = run("ingest", str(f), "--store", str(st), *opts)
    assert r.returncode == 0, r.stderr
    r = run("summarize", "--store", str(st), "--by", "user", "-f", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert len(d["breakdown"]["rows"]) >= 1
    assert_rows_add_up(d)


def test_counted_jobs_rule_is_the_summarys():
    c = cost_jobs(jobs(), hand_assumptions())
    assert counted_jobs(c.costs).sum() == 4  # a, b, c, d (f implausible, e never started)


def test_breakdown_plot(tmp_path):
    from rdcost.analysis.project import analyze_project
    from rdcost.output.plots import draw

    ctx = analyze_project(jobs(), hand_assumptions(), project="p")
    empty = draw("breakdown", ctx, tmp_path / "none.svg").read_text()
    assert "no breakdown asked for" in empty
    ctx.by = BreakdownSpec(("user",))
    svg = draw("breakdown", ctx, tmp_path / "b.svg").read_text()
    for text in (
        "GPU time by user: project p",
        "alice",
        "26.0 GPU-hours (61.9%), $26 - $52, 3.25 kg CO2e",
        "carol",
    ):
        assert text in svg
    assert "GPU time (GPU-hours)" in svg  # the axis with its unit
    assert "nan" not in svg.lower().replace("nanometre", "")


def test_dask_engine_gives_the_same_breakdown(hand_store):
    pytest.importorskip("dask")
    spec = BreakdownSpec(("user", "week"))
    _, b1 = summarize_store_by(hand_store, spec, None, None, hand_assumptions())
    _, b2 = summarize_store_by(hand_store, spec, None, None, hand_assumptions(), engine="dask")
    assert b1.to_dict() == b2.to_dict()
