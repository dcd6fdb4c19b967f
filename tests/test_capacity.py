"""Owned capacity and idle cost (issue 16, item 3): utilization, idle GPU-hours and cost and
their spread worked by hand; the saved sinfo / scontrol inventories; compare-buy-vs-cloud's
owned cost per used GPU-hour at the measured utilization (worked by hand); the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.buy_vs_cloud import OwnedSpec, compare_jobs
from rdcost.analysis.capacity import (
    CapacityError,
    idle_cost,
    load_capacity,
    read_inventory,
)
from rdcost.analysis.summary import cost_jobs
from rdcost.analysis.summary.partial import counted_jobs
from rdcost.jobtable.schema import conform
from rdcost.jobtable.store import Store

REPO = Path(__file__).resolve().parents[1]
H = 3600


def hand_assumptions() -> A.Assumptions:
    """$1 - $2 per GPU-hour, 250 W, PUE 1, $0.10/kWh: a busy GPU-hour's electricity is $0.025."""
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


def job(key, user, start, hours, n_gpus):
    s = pd.Timestamp(start, tz="UTC")
    return dict(
        record_key=key,
        source="slurm",
        job_id=key,
        user=user,
        account="lab",
        state="COMPLETED",
        submit_time=s,
        start_time=s,
        end_time=s + pd.Timedelta(hours=hours),
        elapsed_s=float(hours * H),
        n_gpus=n_gpus,
        gpu_type="titanx",
        project="p",
        partition="gpu",
    )


def jobs() -> pd.DataFrame:
    # a: alice 2 GPUs x 10 h = 20; b: bob 1 x 20 h = 20; c: carol 1 x 24 h from 2 Jan 12:00,
    # of which 12 h fall inside the capacity's window (1-3 January)
    return conform(
        pd.DataFrame(
            [
                job("a", "alice", "2018-01-01", 10, 2.0),
                job("b", "bob", "2018-01-02", 20, 1.0),
                job("c", "carol", "2018-01-02T12:00", 24, 1.0),
            ]
        )
    )


CAPACITY = """
source = "hand-made"
idle_power_w_per_gpu = 50
[[nodes]]
name = "node1"
count = 1
gpus_per_node = 4
from = "2018-01-01"
to = "2018-01-03"
[cost]
usd_per_gpu_hour = 0.5
source = "test"
[[shared]]
item = "login node"
usd = 100
[spread]
method = "weighted"
by = "user"
[spread.weights]
alice = 3
bob = 1
"""


@pytest.fixture
def cap_file(tmp_path) -> Path:
    f = tmp_path / "cap.toml"
    f.write_text(CAPACITY)
    return f


def run_idle(cap):
    c = cost_jobs(jobs(), hand_assumptions())
    return idle_cost(c.cj, c.costs, cap, pue=1.0, usd_per_kwh=0.1, counted=counted_jobs(c.costs))


def test_idle_cost_worked_by_hand(cap_file):
    r = run_idle(load_capacity(cap_file))
    # available: 1 node x 4 GPUs x 48 h = 192 GPU-hours; used: 20 + 20 + 12 (c's part inside)
    assert r.available_gpu_hours == 192.0
    assert r.used_gpu_hours == pytest.approx(52.0)
    assert r.outside_gpu_hours == pytest.approx(12.0)
    assert r.utilization == pytest.approx(52 / 192)
    assert r.idle_gpu_hours == pytest.approx(140.0)
    # idle: 140 x $0.5 + 140 GPU-h x 0.05 kW x PUE 1 x $0.1 = $70 + $0.70
    assert r.idle_electricity_usd == pytest.approx(0.7)
    assert r.idle_usd == pytest.approx(70.7)
    assert r.shared_usd == 100.0
    # all in: (192 x 0.5 + 0.70 idle + busy electricity 40 x 0.025 + 12 x 0.025 + 100) / 52
    assert r.owned_usd_per_used_gpu_hour == pytest.approx((96 + 0.7 + 1.3 + 100) / 52)
    # weighted: alice 3, bob 1, carol (no weight) 1 -> 0.6, 0.2, 0.2
    s = {x["user"]: x for x in r.spread}
    assert s["alice"]["share"] == pytest.approx(0.6)
    assert s["alice"]["idle_usd"] == pytest.approx(0.6 * 70.7)
    assert s["alice"]["shared_usd"] == pytest.approx(60.0)
    assert s["alice"]["busy_usd"] == pytest.approx(10.0)  # 20 used GPU-hours x $0.5
    assert s["alice"]["total_usd"] == pytest.approx(10.0 + 42.42 + 60.0)
    assert s["carol"]["used_gpu_hours"] == pytest.approx(12.0)
    assert sum(x["idle_usd"] for x in r.spread) == pytest.approx(r.idle_usd)
    assert sum(x["shared_usd"] for x in r.spread) == pytest.approx(100.0)
    assert any("outside the capacity" in n for n in r.notes)


@pytest.mark.parametrize(
    "method,shares",
    [
        ("uniform", {"alice": 1 / 3, "bob": 1 / 3, "carol": 1 / 3}),
        ("proportional", {"alice": 20 / 52, "bob": 20 / 52, "carol": 12 / 52}),
    ],
)
def test_spread_methods(cap_file, method, shares):
    r = run_idle(load_capacity(cap_file).with_spread(method, None))
    got = {x["user"]: x["share"] for x in r.spread}
    assert got == pytest.approx(shares)


def test_no_cost_means_unknown_idle_cost(tmp_path):
    f = tmp_path / "cap.toml"
    f.write_text(
        '[[nodes]]\ncount = 1\ngpus_per_node = 4\nfrom = "2018-01-01"\nto = "2018-01-03"\n'
    )
    r = run_idle(load_capacity(f))
    assert r.idle_gpu_hours == pytest.approx(140.0)
    assert r.idle_usd is None and r.owned_usd_per_used_gpu_hour is None
    assert r.to_dict()["idle_usd"] is None
    assert all(x["idle_usd"] is None and x["total_usd"] is None for x in r.spread)


def test_cost_from_the_purchase(tmp_path):
    f = tmp_path / "cap.toml"
    f.write_text(
        "[[nodes]]\ncount = 1\ngpus_per_node = 8\n"
        "[cost]\nserver_price_usd = 70128\ngpus_per_server = 8\nlifetime_years = 1\n"
    )
    c = load_capacity(f)
    assert c.usd_per_gpu_hour == pytest.approx(1.0)  # $8,766 per GPU over 8,766 hours
    r = run_idle(c)  # no dates: the jobs' span, 1 Jan 00:00 to 3 Jan 12:00 = 60 h
    assert r.available_gpu_hours == pytest.approx(8 * 60)
    assert r.used_gpu_hours == pytest.approx(64.0)


SINFO = """NODELIST   PARTITION GRES
gpu01      gpu*      gpu:v100:4(S:0-1)
gpu01      long      gpu:v100:4(S:0-1)
gpu02      gpu*      gpu:a100:2,gpu:v100:2
cpu01      cpu       (null)
"""
SCONTROL = """NodeName=gpu01 Arch=x86_64 CoresPerSocket=16
   Gres=gpu:v100:4(S:0-1)
   Partitions=gpu,long

NodeName=cpu01 Arch=x86_64
   Gres=(null)
   Partitions=cpu
"""


def test_inventories():
    g = read_inventory(SINFO, "sinfo.txt")
    got = sorted((x.name, x.gpu_type, x.gpus_per_node, x.partitions) for x in g)
    assert got == [
        ("gpu01", "v100", 4.0, ("gpu", "long")),
        ("gpu02", "a100", 2.0, ("gpu",)),
        ("gpu02", "v100", 2.0, ("gpu",)),
    ]
    g = read_inventory(SCONTROL, "scontrol.txt")
    assert [(x.name, x.gpu_type, x.n_gpus, x.partitions) for x in g] == [
        ("gpu01", "v100", 4.0, ("gpu", "long"))
    ]
    with pytest.raises(CapacityError, match="NODELIST and GRES"):
        read_inventory("NODELIST STATE\ngpu01 idle\n", "x")


def test_saved_sinfo_as_capacity(tmp_path):
    f = tmp_path / "sinfo.txt"
    f.write_text("NODELIST PARTITION GRES\nn1 gpu gpu:titanx:4\n")
    r = run_idle(load_capacity(f))
    # the snapshot over the jobs' span (60 h): 4 x 60 = 240 available, 64 used, no cost: unknown
    assert r.available_gpu_hours == pytest.approx(240.0)
    assert r.used_gpu_hours == pytest.approx(64.0)
    assert r.idle_usd is None


def test_bad_capacity_files(tmp_path):
    for text, match in (
        ("[[nodes]]\ncount = 1\n", "gpus_per_node"),
        ("[[nodes]]\ncount = 1\ngpus_per_node = 4\ncolour = 1\n", "unknown key"),
        ("nodes = 3\nbogus = 1\n", "unknown key"),
        (
            '[[nodes]]\ncount = 1\ngpus_per_node = 4\nfrom = "2018-02-01"\nto = "2018-01-01"\n',
            "after",
        ),
    ):
        f = tmp_path / "bad.toml"
        f.write_text(text)
        with pytest.raises(CapacityError, match=match):
            load_capacity(f)


# -- compare-buy-vs-cloud: the owned cost of a used GPU-hour ---------------------------------

OWNED = OwnedSpec().merged(
    {
        "server_price_usd": 70128,  # 8 GPUs: $8,766 per GPU
        "gpus_per_server": 8,
        "lifetime_years": 1,  # 8,766 hours: $1.00 per owned GPU-hour
        "power_w_per_gpu": 250,  # x PUE 1 x $0.1/kWh = $0.025 per busy GPU-hour
        "hosting_usd_per_kw_month": 0,
        "maintenance_fraction_per_year": 0,
        "staff_fte": 0,
    },
    "test",
)


def test_compare_owned_cost_per_used_gpu_hour_by_hand(cap_file):
    a = hand_assumptions()
    plain = compare_jobs(jobs(), a, OWNED, n_gpus=4).to_dict()
    # without a capacity: the project's own use of 4 GPUs: 64 GPU-hours / (4 x 60 h) = 0.2667
    assert plain["owned_utilization"] == pytest.approx(64 / 240)
    assert plain["owned_fixed_usd_per_gpu_hour"] == pytest.approx(1.0)
    assert plain["owned_usd_per_used_gpu_hour"] == pytest.approx(1 / (64 / 240) + 0.025)  # 3.775
    assert plain["owned_usd_at_utilization"] == pytest.approx(3.775 * 64)
    assert plain["owned_at_utilization_to_cloud_high_ratio"] == pytest.approx(3.775 * 64 / 128)
    cap = load_capacity(cap_file)
    measured = compare_jobs(jobs(), a, OWNED, n_gpus=4, capacity=cap).to_dict()
    # measured on the capacity: 52 of 192 GPU-hours; idle draw 50 W: $0.005 per idle GPU-hour
    u = 52 / 192
    assert measured["owned_utilization"] == pytest.approx(u)
    assert measured["owned_idle_electricity_usd_per_gpu_hour"] == pytest.approx(0.005)
    expected = 192 / 52 + 0.025 + 0.005 * 140 / 52  # 3.6923 + 0.025 + 0.01346 = 3.7308
    assert measured["owned_usd_per_used_gpu_hour"] == pytest.approx(expected)
    assert measured["owned_usd_per_used_gpu_hour"] != plain["owned_usd_per_used_gpu_hour"]
    assert "measured on the owned capacity" in measured["owned_utilization_rule"]
    assert measured["capacity"]["available_gpu_hours"] == 192.0


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args], capture_output=True, text=True, cwd=REPO
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cap") / "store"
    with Store(path).writer() as w:
        w.add(jobs())
        w.commit()
    return path


HAND = ["--usd-per-gpu-hour-low", "1", "--usd-per-gpu-hour-high", "2", "--watts-per-gpu", "250"]
HAND += ["--pue", "1", "--usd-per-kwh", "0.1"]


def test_cli_compare_and_report(store, cap_file, tmp_path):
    owned = ["--server-price-usd", "70128", "--gpus-per-server", "8", "--lifetime-years", "1"]
    owned += ["--owned-watts-per-gpu", "250", "--gpus", "4", "--hosting-usd-per-kw-month", "0"]
    owned += ["--maintenance-fraction-per-year", "0", "--staff-fte", "0"]
    r = run(
        "compare-buy-vs-cloud",
        "--store",
        str(store),
        *HAND,
        *owned,
        "-f",
        "json",
        "--capacity",
        str(cap_file),
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["owned_usd_per_used_gpu_hour"] == pytest.approx(192 / 52 + 0.025 + 0.005 * 140 / 52)
    r = run(
        "compare-buy-vs-cloud", "--store", str(store), *HAND, *owned, "--capacity", str(cap_file)
    )
    assert (
        "Owned cost per used GPU-hour" in r.stdout and "measured on the owned capacity" in r.stdout
    )
    out = tmp_path / "r.md"
    r = run(
        "report",
        "--store",
        str(store),
        *HAND,
        "--by",
        "user",
        "--capacity",
        str(cap_file),
        "--spread",
        "proportional",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "## Owned capacity" in text and "## Breakdown" in text
    assert "owned utilization | 27.1%" in text  # 52 / 192
    assert "--spread proportional" in text
    assert (tmp_path / "r_files" / "breakdown.png").is_file()
    r = run("report", "--store", str(store), *HAND, "--spread", "uniform", "-o", str(out))
    assert r.returncode == 2 and "--capacity" in r.stderr


def test_a_job_without_a_user_is_spread_as_unknown(cap_file):
    j = jobs()
    j.loc[j["job_id"] == "c", "user"] = None
    c = cost_jobs(j, hand_assumptions())
    r = idle_cost(
        c.cj,
        c.costs,
        load_capacity(cap_file),
        pue=1.0,
        usd_per_kwh=0.1,
        counted=counted_jobs(c.costs),
    )
    s = {x["user"]: x for x in r.spread}
    assert set(s) == {"alice", "bob", None}  # unknown is its own group: JSON null, never a name
    assert s[None]["used_gpu_hours"] == pytest.approx(12.0) and s[None]["share"] == pytest.approx(
        0.2
    )
    assert r.to_dict()["spread"][-1]["user"] is None
