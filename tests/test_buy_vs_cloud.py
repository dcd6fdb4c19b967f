"""Owned vs cloud arithmetic, on numbers worked out by hand.

A month is 730.5 hours (8,766 h a year / 12); a year of hardware life is
8,766 hours.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rdcost.analysis import buy_vs_cloud as bvc
from rdcost.errors import AssumptionError, UsageError

# $2,500 per GPU; 250 W x PUE 1.5 x $0.10/kWh = $0.0375 per busy GPU-hour.
PLAIN = bvc.OwnedParams(
    server_price_usd=20_000,
    gpus_per_server=8,
    lifetime_years=3,
    power_w_per_gpu=250,
    pue=1.5,
    electricity_usd_per_kwh=0.10,
)
# The same plus hosting $100/kW-month, maintenance 6 %/year, staff $12,000/year.
FULL = bvc.OwnedParams(
    server_price_usd=20_000,
    gpus_per_server=8,
    lifetime_years=3,
    power_w_per_gpu=250,
    pue=1.5,
    electricity_usd_per_kwh=0.10,
    hosting_usd_per_kw_month=100,
    maintenance_fraction_per_year=0.06,
    staff_usd_per_year=12_000,
)


def test_electricity_per_busy_gpu_hour():
    assert PLAIN.electricity_usd_per_gpu_hour == pytest.approx(0.0375)
    assert PLAIN.usd_per_gpu == 2_500


def test_owned_cost_of_four_gpus_for_two_months():
    # 4 GPUs, 1,461 GPU-hours (one GPU busy for 2 x 730.5 h), 2 months.
    c = bvc.owned_cost(4, 1_461, 2, FULL)
    assert c.n_servers == 0.5
    assert c.purchase_usd == 10_000  # 4 x 2,500
    assert c.amortized_fraction == pytest.approx(2 / 36)
    assert c.amortized_usd == pytest.approx(10_000 * 2 / 36)  # 555.56
    assert c.electricity_usd == pytest.approx(1_461 * 0.0375)  # 54.7875
    assert c.hosting_usd == pytest.approx(200)  # 4 x 0.25 kW x $100 x 2
    assert c.maintenance_usd == pytest.approx(100)  # 10,000 x 6 % x 2/12
    assert c.staff_usd == pytest.approx(2_000)  # 12,000 x 2/12
    assert c.running_usd == pytest.approx(2_354.7875)
    assert c.total_usd == pytest.approx(12_354.7875)
    assert c.amortized_total_usd == pytest.approx(10_000 / 18 + 2_354.7875)


def test_whole_servers_round_up():
    p = bvc.OwnedParams(**{**PLAIN.__dict__, "is_whole_servers": True})
    assert bvc.owned_cost(4, 0, 1, p).purchase_usd == 20_000
    assert bvc.owned_cost(9, 0, 1, p).purchase_usd == 40_000
    assert bvc.owned_cost(9, 0, 1, PLAIN).purchase_usd == 22_500


def test_amortized_share_stops_at_the_whole_price():
    assert bvc.owned_cost(8, 0, 48, PLAIN).amortized_usd == 20_000


def test_paper_purchase_and_ratio():
    # Strubell et al.: 239,942 GPU-hours over 172 days -> 58.1 GPUs on average,
    # 58 GPUs x $2,500 = $145,000; 145,000 / (239,942 x 1.46 = 350,315.32) = 0.414.
    span_h = 172 * 24
    mean = 239_942 / span_h
    assert mean == pytest.approx(58.13, abs=0.01)
    n = bvc.gpus_for_mean(mean)
    assert n == 58
    paper = bvc.OwnedParams(
        server_price_usd=20_000,
        gpus_per_server=8,
        lifetime_years=3,
        power_w_per_gpu=217,
        pue=1.58,
        electricity_usd_per_kwh=0.12,
    )
    demand = bvc.Demand(gpu_hours=239_942, span_hours=span_h, mean_gpus=mean, peak_gpus=None)
    knots = np.array([0.0, span_h])
    used = np.array([0.0, 239_942.0])
    c = bvc.compare(n, "mean", demand, 239_942 * 0.43, 239_942 * 1.46, paper, knots, used)
    assert c.owned_purchase_usd == 145_000
    assert c.cloud_usd_high == pytest.approx(350_315.32)
    assert c.owned_purchase_to_cloud_high_ratio == pytest.approx(145_000 / 350_315.32)
    assert round(c.owned_purchase_to_cloud_high_ratio, 2) == 0.41
    # electricity 239,942 h x 0.217 kW = 52,067.41 kWh; x 1.58 = 82,266.51 kWh;
    # x $0.12 = $9,871.98 (the paper's $9,870)
    assert c.owned_electricity_usd == pytest.approx(9_871.98, abs=0.01)
    assert c.owned_total_usd == pytest.approx(154_871.98, abs=0.01)
    assert c.owned_to_cloud_high_ratio == pytest.approx(154_871.98 / 350_315.32, abs=1e-6)
    # 58 GPUs over 172 days hold 239,424 GPU-hours: the work needs 100.2 % of them.
    assert c.utilization == pytest.approx(239_942 / 239_424)


def test_gpus_for_mean_rounds_half_up_and_needs_one():
    assert bvc.gpus_for_mean(58.5) == 59
    assert bvc.gpus_for_mean(58.49) == 58
    assert bvc.gpus_for_mean(0.2) == 1
    with pytest.raises(UsageError):
        bvc.gpus_for_mean(float("nan"))


def test_concurrency_percentile_is_weighted_by_time():
    # Hours 0-5: 3 GPUs (a 1-GPU and a 2-GPU job); 5-10: 1; 10-20: none; 20-30: 1.
    # Sorted by level: 0 for 10 h (1/3 of the span), 1 for 15 h (-> 5/6), 3 for 5 h.
    start = np.array([0.0, 0.0, 20.0])
    end = np.array([10.0, 5.0, 30.0])
    gpus = np.array([1.0, 2.0, 1.0])
    pct = [bvc.concurrency_percentile(start, end, gpus, q) for q in (30, 50, 83, 90, 100)]
    assert pct == [0, 1, 1, 3, 3]
    assert bvc.gpus_for_percentile(start, end, gpus, 50) == 1
    assert bvc.gpus_for_percentile(start, end, np.array([0.5, 0.5, 0.5]), 100) == 1
    with pytest.raises(UsageError):
        bvc.concurrency_percentile(start, end, gpus, 101)


def test_breakeven_utilization():
    # 8 GPUs, $20,000 over 3 years = 26,298 h: $0.7605 per hour of the cluster.
    # Cloud $1.0375 - electricity $0.0375 = $1 saved per busy GPU-hour:
    # u = 0.7605 / (8 x 1) = 2,500 / 26,298 = 0.09506.
    assert bvc.breakeven_utilization(8, PLAIN, 1.0375) == pytest.approx(2_500 / 26_298)
    # Fixed costs per month add up: hosting 8 x 0.25 x 100 = 200, maintenance
    # 20,000 x 0.06 / 12 = 100, staff 1,000: 1,300 / 730.5 per hour.
    fixed = 20_000 / 26_298 + 1_300 / 730.5
    assert bvc.breakeven_utilization(8, FULL, 1.0375) == pytest.approx(fixed / 8)
    assert bvc.breakeven_utilization(8, PLAIN, 0.0375) is None  # electricity eats the margin
    assert bvc.breakeven_utilization(8, PLAIN, None) is None


def test_gpu_hours_curve_is_exact_between_events():
    # 2 GPUs 0-10 h, 1 GPU 5-20 h: G(5) = 10, G(10) = 25, G(20) = 35.
    t, g = bvc.gpu_hours_curve(np.array([0.0, 5.0]), np.array([10.0, 20.0]), np.array([2.0, 1.0]))
    assert t.tolist() == [0, 5, 10, 20]
    assert g.tolist() == [0, 10, 25, 35]
    assert np.interp(7.5, t, g) == pytest.approx(17.5)


CURVE = (np.array([0.0, 100.0]), np.array([0.0, 200.0]))  # 2 GPUs busy for 100 h


def test_breakeven_within_the_project():
    # purchase 5,000; $50 saved per GPU-hour x 2 GPU-hours per hour = $100/h -> 50 h.
    assert bvc.breakeven_hours(*CURVE, 5_000, 0.0, 50.0) == pytest.approx(50.0)


def test_breakeven_after_the_project_at_its_mean_rate():
    # $10 x 2 = $20/h: 2,000 by 100 h; the other 3,000 at $20/h -> 250 h.
    assert bvc.breakeven_hours(*CURVE, 5_000, 0.0, 10.0) == pytest.approx(250.0)
    # Staff $730.50 a month = $1/h: $19/h net, 1,900 by 100 h, 3,100 / 19 more.
    assert bvc.breakeven_hours(*CURVE, 5_000, 730.5, 10.0) == pytest.approx(100 + 3_100 / 19)


def test_no_breakeven_when_fixed_costs_eat_the_savings():
    # $0.5 x 2 = $1/h saved, $1/h of staff: never.
    assert bvc.breakeven_hours(*CURVE, 5_000, 730.5, 0.5) is None


def test_breakeven_months_in_the_comparison():
    # Same curve, 2 GPUs owned at $2,500 = $5,000; electricity $0.0375/GPU-h;
    # cloud high $10.0375/GPU-h: $10 x 2 = $20/h -> 250 h; low $5.0375 -> 500 h.
    demand = bvc.Demand(gpu_hours=200, span_hours=100, mean_gpus=2, peak_gpus=2)
    c = bvc.compare(2, "gpus", demand, 200 * 5.0375, 200 * 10.0375, PLAIN, *CURVE)
    assert c.breakeven_months == pytest.approx(250 / 730.5)
    assert c.breakeven_months_vs_low == pytest.approx(500 / 730.5)
    assert c.cloud_usd_per_gpu_hour_high == pytest.approx(10.0375)
    assert c.owned_to_cloud_low_ratio == pytest.approx((5_000 + 200 * 0.0375) / (200 * 5.0375))


def test_unknown_cloud_price_gives_unknown_ratios():
    demand = bvc.Demand(gpu_hours=200, span_hours=100, mean_gpus=2, peak_gpus=2)
    c = bvc.compare(2, "gpus", demand, None, None, PLAIN, *CURVE)
    assert c.owned_to_cloud_high_ratio is None and c.breakeven_months is None
    assert c.breakeven_utilization is None
    assert c.owned_purchase_usd == 5_000


def test_cumulative_costs_follow_the_curve_then_extrapolate():
    df = bvc.cumulative_costs(*CURVE, 2, PLAIN, 1.0, 2.0, horizon_h=200, n_points=5)
    # grid 0, 50, 100, 150, 200 h; GPU-hours 0, 100, 200, then 300, 400 at 2 per hour
    assert df["gpu_hours"].tolist() == pytest.approx([0, 100, 200, 300, 400])
    assert df["cloud_usd_high"].tolist() == pytest.approx([0, 200, 400, 600, 800])
    assert df["owned_usd"].tolist() == pytest.approx(
        [5_000 + 0.0375 * g for g in (0, 100, 200, 300, 400)]
    )
    assert df["is_extrapolated"].tolist() == [False, False, False, True, True]
    assert df["months"].iloc[-1] == pytest.approx(200 / 730.5)


def test_sizing_costs_use_the_replayed_duration():
    replayed = pd.DataFrame(
        {
            "n_gpus": [4.0, 8.0],
            "gpu_hours": [1_461.0, 1_461.0],
            "duration_days": [2 * 730.5 / 24, 730.5 / 24],
        }
    )
    out = bvc.sizing_costs(replayed, FULL)
    assert out["owned_purchase_usd"].tolist() == [10_000, 20_000]
    # 4 GPUs over 2 months: as in test_owned_cost_of_four_gpus_for_two_months
    assert out["owned_total_usd"].iloc[0] == pytest.approx(12_354.7875)
    # 8 GPUs over 1 month: hosting 8 x 0.25 x 100 = 200, maintenance 100, staff 1,000
    assert out["owned_running_usd"].iloc[1] == pytest.approx(54.7875 + 200 + 100 + 1_000)


@pytest.mark.parametrize(
    "field,value",
    [
        ("pue", 0.9),
        ("lifetime_years", 0),
        ("gpus_per_server", 0),
        ("server_price_usd", -1),
        ("electricity_usd_per_kwh", math.nan),
    ],
)
def test_invalid_owned_parameters_are_refused(field, value):
    with pytest.raises(AssumptionError):
        bvc.OwnedParams(**{**PLAIN.__dict__, field: value})


# -- from a job table (hand-made), with explicit assumptions ------------------------

from rdcost.analysis import assumptions as assumptions_mod  # noqa: E402
from rdcost.jobtable.schema import conform  # noqa: E402

T0 = pd.Timestamp("2018-01-01", tz="UTC")


def hours(x):
    return T0 + pd.Timedelta(hours=x)


def table(rows):
    df = pd.DataFrame(rows)
    df["record_key"] = [f"k{i}" for i in range(len(df))]
    df["state"] = "COMPLETED"
    return conform(df)


# A: 4 GPUs for hours 0-10 (40 GPU-h); B: 2 GPUs for hours 10-30 (40 GPU-h).
# 80 GPU-hours over a 30-hour span: 2.67 GPUs on average (-> 3), peak 4.
TWO_JOBS = table(
    [
        dict(
            submit_time=hours(0),
            start_time=hours(0),
            end_time=hours(10),
            elapsed_s=36_000.0,
            n_gpus=4.0,
            gpu_type="v100",
        ),
        dict(
            submit_time=hours(0),
            start_time=hours(10),
            end_time=hours(30),
            elapsed_s=72_000.0,
            n_gpus=2.0,
            gpu_type="v100",
        ),
    ]
)
# Cloud $1 - $3 per GPU-hour; PUE 1.2, $0.10/kWh.
ASSUME = assumptions_mod.apply_dict(
    assumptions_mod.Assumptions(),
    {
        "prices": {
            "v100_sxm2": {
                "usd_per_gpu_hour_low": 1.0,
                "usd_per_gpu_hour_high": 3.0,
                "source": "test",
            }
        },
        "pue": {"value": 1.2, "source": "test"},
        "electricity": {"usd_per_kwh": 0.10, "source": "test"},
    },
    "test",
)
# $8,000 per 4-GPU server = $2,000 per GPU; 250 W; 2 years; nothing else charged.
# Electricity per busy GPU-hour: 0.25 kW x 1.2 x $0.10 = $0.03.
OWNED = bvc.OwnedSpec().merged(
    {
        "server_price_usd": 8_000,
        "gpus_per_server": 4,
        "power_w_per_gpu": 250,
        "lifetime_years": 2,
        "hosting_usd_per_kw_month": 0,
        "maintenance_fraction_per_year": 0,
    },
    "test",
)


def test_report_from_a_job_table():
    r = bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED)
    c = r.comparison
    assert c.gpu_hours == 80 and c.span_days == pytest.approx(30 / 24)
    assert c.mean_gpus == pytest.approx(80 / 30) and c.peak_gpus == 4
    assert c.n_gpus == 3 and c.n_gpus_rule.startswith("mean")
    assert (c.cloud_usd_low, c.cloud_usd_high) == (80, 240)
    assert c.owned_purchase_usd == 6_000
    assert c.owned_electricity_usd == pytest.approx(80 * 0.03)
    assert c.owned_total_usd == pytest.approx(6_002.4)
    assert c.owned_to_cloud_high_ratio == pytest.approx(6_002.4 / 240)
    # u = (6,000 / (2 x 8,766 h)) / (3 GPUs x ($3 - $0.03))
    assert c.breakeven_utilization == pytest.approx(6_000 / 17_532 / (3 * 2.97))
    # $2.97 x 80 = 237.60 saved by hour 30, then $2.97 x 80/30 = 7.92 per hour:
    # (6,000 - 237.60) / 7.92 = 727.58 more hours -> 757.58 h = 1.0371 months
    assert c.breakeven_months == pytest.approx((30 + (6_000 - 237.6) / 7.92) / 730.5)
    # GCP committed use for the V100 (first known 2025-03-03, used for 2018 jobs):
    # 1 year $1.56, 3 years $1.12 per GPU-hour
    assert r.cloud_usd_committed_1y == pytest.approx(80 * 1.56)
    assert r.cloud_usd_committed_3y == pytest.approx(80 * 1.12)
    d = r.to_dict()
    for key in (
        "n_gpus",
        "owned_purchase_usd",
        "owned_electricity_usd",
        "owned_total_usd",
        "cloud_usd_low",
        "cloud_usd_high",
        "owned_to_cloud_high_ratio",
        "breakeven_utilization",
        "breakeven_months",
        "assumptions",
    ):
        assert key in d
    assert d["assumptions"]["owned"]["server_price_usd"]["origin"] == "test"
    assert d["sizing"] is None


def test_gpus_by_percentile_or_given():
    # GPUs in use: 4 for 10 h, 2 for 20 h -> median 2, peak 4.
    assert bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED, size_by="p50").comparison.n_gpus == 2
    assert bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED, size_by="peak").comparison.n_gpus == 4
    assert bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED, n_gpus=5, size_by="p50").comparison.n_gpus == 5
    with pytest.raises(UsageError):
        bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED, size_by="p0")
    with pytest.raises(UsageError):
        bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED, n_gpus=0)


def test_sizing_replay_in_the_report():
    # On 4 GPUs A runs 0-10 and B waits for it (as logged): 30 h. On 6 GPUs B
    # (submitted at 0) starts at once: 20 h.
    r = bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED, sizes=[4, 6])
    s = r.sizing
    assert s["n_gpus"].tolist() == [4, 6]
    assert s["duration_days"].tolist() == pytest.approx([30 / 24, 20 / 24])
    assert s["mean_wait_hours"].tolist() == pytest.approx([5.0, 0.0])
    assert s["owned_purchase_usd"].tolist() == [8_000, 12_000]
    assert r.replay["n_jobs_replayed"] == 2 and r.replay["policy"].startswith("first come")


def test_a_job_too_large_for_the_cluster_is_reported():
    r = bvc.compare_jobs(TWO_JOBS, ASSUME, OWNED, sizes=[2])
    assert r.sizing["n_jobs_too_large"].tolist() == [1]
    assert any("could never run" in n for n in r.notes)


def test_a_gpu_type_without_price_raises_or_stays_unknown():
    jobs = table(
        [
            dict(
                submit_time=hours(0),
                start_time=hours(0),
                end_time=hours(10),
                elapsed_s=36_000.0,
                n_gpus=1.0,
                gpu_type="mystery-card",
            )
        ]
    )
    owned = OWNED.merged(
        {"server": "v100_sxm2"}, "test"
    )  # no price in OWNED for the server: refdata
    with pytest.raises(AssumptionError, match="mystery-card"):
        bvc.compare_jobs(jobs, ASSUME, owned, on_missing="error")
    priced = bvc.compare_jobs(jobs, ASSUME, owned)  # default: the range of the GPUs of its year
    assert priced.comparison.cloud_usd_low < priced.comparison.cloud_usd_high
    r = bvc.compare_jobs(jobs, ASSUME, owned, on_missing="unknown")
    assert r.comparison.cloud_usd_high is None and r.comparison.owned_to_cloud_high_ratio is None
    # NVIDIA DGX-1 (8x V100) $149,000: one GPU = $18,625
    assert r.comparison.owned_purchase_usd == 18_625


def test_no_gpu_time_is_a_usage_error():
    jobs = table([dict(submit_time=hours(0), start_time=None, n_gpus=1.0, gpu_type="v100")])
    with pytest.raises(UsageError):
        bvc.compare_jobs(jobs, ASSUME, OWNED)


# -- owned-side settings ---------------------------------------------------------------


def test_owned_defaults_come_from_the_bundled_tables():
    a = ASSUME.for_year(2018)
    params, used = bvc.resolve_owned(bvc.OwnedSpec(), a, "titanx_maxwell", 2018)
    # Titan X is bought as the 8x GTX 1080 Ti server ($20,000); its power from gpus.csv (250 W TDP)
    assert (params.server_price_usd, params.gpus_per_server) == (20_000, 8)
    assert "gtx1080ti" in used["server_price_usd"]["origin"]
    assert params.power_w_per_gpu == 250
    assert params.lifetime_years == 3  # typical HPC depreciation period
    assert params.hosting_usd_per_kw_month == 130  # CBRE H2 2018, the latest on or before 2018
    assert params.maintenance_fraction_per_year == pytest.approx(0.06)
    assert params.staff_usd_per_year == 0
    assert (params.pue, params.electricity_usd_per_kwh) == (1.2, 0.10)


def test_staff_is_fte_times_the_cost_of_a_person():
    params, _ = bvc.resolve_owned(
        bvc.OwnedSpec().merged({"staff_fte": 0.5}, "t"), ASSUME.for_year(2018), "v100_sxm2", 2018
    )
    assert params.staff_usd_per_year == 125_000  # 0.5 x $250,000 (NAG TCO default)


def test_a_gpu_type_without_a_server_is_bought_as_the_newest_server_of_its_year():
    """gpus.csv: the server GPUs launched by 2018 are gtx1080ti and v100_sxm2 (2017) and
    p100_sxm2 (2016); of the two newest, the later key in alphabetical order."""
    params, used = bvc.resolve_owned(bvc.OwnedSpec(), ASSUME.for_year(2018), "k80", 2018)
    origin = used["server_price_usd"]["origin"]
    assert "no server of its own for the project's main GPU type k80" in origin
    assert "(v100_sxm2, 2017)" in origin
    # an unidentified GPU in 2023: the newest server GPU launched by then is h100_sxm (2022)
    _, used = bvc.resolve_owned(bvc.OwnedSpec(), ASSUME.for_year(2023), "unidentified", 2023)
    assert "(h100_sxm, 2022)" in used["server_price_usd"]["origin"]


def test_owned_layers_and_errors(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        "[owned]\nserver_price_usd = 10000\ngpus_per_server = 4\nlifetime_years = 5\n"
        'source = "quote from our vendor"\n'
    )
    spec = bvc.load_owned(["paper", str(f)])
    assert spec.values["server"] == "gtx1080ti" and spec.values["server_price_usd"] == 10_000
    assert "quote from our vendor" in spec.origins["lifetime_years"]
    # a later layer naming a server drops the earlier price
    later = spec.merged({"server": "h100_sxm"}, "option")
    assert "server_price_usd" not in later.values and later.values["lifetime_years"] == 5
    with pytest.raises(AssumptionError, match="unknown"):
        bvc.OwnedSpec().merged({"gpus": 3}, "t")
    with pytest.raises(AssumptionError):
        bvc.OwnedSpec().merged({"gpus_per_server": 2.5}, "t")
    with pytest.raises(AssumptionError):
        bvc.OwnedSpec().merged({"lifetime_years": "three"}, "t")
    # the assumptions loader accepts the [owned] table it does not read
    assert assumptions_mod.load([str(f)]).name == "mine"


# -- acceptance: the paper's preset on the LISA sample logs ----------------------------

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from tests.conftest import SAMPLE_LOGS  # noqa: E402

LISA_SACCT = SAMPLE_LOGS / "lisa" / "sacct.txt"


@pytest.fixture(scope="module")
def lisa_jobs():
    if not LISA_SACCT.is_file():
        pytest.skip(f"{LISA_SACCT} not present")
    from rdcost.readers.ingest import read_log

    return conform(read_log(LISA_SACCT, project="lisa"))


def test_paper_preset_on_the_lisa_logs_says_what_the_paper_says(lisa_jobs):
    a = assumptions_mod.load(["paper"])
    r = bvc.compare_jobs(lisa_jobs, a, bvc.load_owned(["paper"]), project="lisa")
    c = r.comparison
    assert round(c.gpu_hours) == 239_942
    assert round(c.span_days) == 172
    assert c.n_gpus == 58  # "about 58 GPUs for 172 days"
    owned = c.assumptions["owned"]
    assert owned["server_price_usd"]["value"] == 20_000  # an 8-GPU 1080 Ti server for $20,000
    assert owned["gpus_per_server"]["value"] == 8
    assert c.owned_purchase_usd == 145_000  # 58 x $2,500
    assert round(c.cloud_usd_high, -3) == 350_000  # on-demand: 239,942 x $1.46
    assert round(c.cloud_usd_low, -3) == 103_000  # pre-emptible: 239,942 x $0.43
    assert round(c.owned_electricity_usd, -1) == 9_870  # plus electricity (Table 4)
    assert (
        round(c.owned_purchase_to_cloud_high_ratio, 2) == 0.41
    )  # the paper's ratio: purchase only
    assert c.owned_hosting_usd == c.owned_maintenance_usd == c.owned_staff_usd == 0
    # 58 GPUs over 172 days hold fewer GPU-hours than the project used
    assert c.utilization > 1


def test_lisa_on_58_gpus_takes_longer_than_172_days(lisa_jobs):
    a = assumptions_mod.load(["paper"])
    r = bvc.compare_jobs(lisa_jobs, a, bvc.load_owned(["paper"]), sizes=[58])
    row = r.sizing.iloc[0]
    assert row["n_jobs_replayed"] == 4_789 and row["n_jobs_too_large"] == 0
    # No schedule can beat GPU-hours / GPUs: 239,942 / 58 / 24 = 172.4 days.
    assert row["duration_days"] >= 239_942 / 58 / 24
    assert row["utilization"] <= 1


# -- the command -----------------------------------------------------------------------


def rdcost(*args, store):
    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def lisa_store(tmp_path_factory):
    if not LISA_SACCT.is_file():
        pytest.skip(f"{LISA_SACCT} not present")
    store = tmp_path_factory.mktemp("lisa") / "store"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rdcost",
            "ingest",
            str(LISA_SACCT),
            "--project",
            "lisa",
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return store


def test_command_json(lisa_store):
    r = rdcost(
        "compare-buy-vs-cloud",
        "-p",
        "lisa",
        "-a",
        "paper",
        "-f",
        "json",
        "--sizes",
        "29,58",
        store=lisa_store,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["n_gpus"] == 58 and d["owned_purchase_usd"] == 145_000
    assert [row["n_gpus"] for row in d["sizing"]] == [29, 58]
    assert d["replay"]["estimate"] == "elapsed"
    assert "utilization 1.0" in r.stderr  # the note goes to stderr


def test_command_table_shows_the_assumptions_beside_the_figures(lisa_store):
    r = rdcost(
        "compare-buy-vs-cloud", "-p", "lisa", "-a", "paper", "--gpus", "32", store=lisa_store
    )
    assert r.returncode == 0, r.stderr
    assert "$80,000" in r.stdout  # 32 x $2,500
    assert "217 W x PUE 1.58 x $0.12/kWh" in r.stdout
    assert "Assumptions" in r.stdout and "preset paper" in r.stdout


def test_command_markdown_whole_servers_and_plots(lisa_store, tmp_path):
    png, svg = tmp_path / "cum.png", tmp_path / "sizing.svg"
    r = rdcost(
        "compare-buy-vs-cloud",
        "-p",
        "lisa",
        "-a",
        "paper",
        "-f",
        "markdown",
        "--whole-servers",
        "--sizes",
        "58",
        "--plot-cumulative",
        str(png),
        "--plot-sizing",
        str(svg),
        store=lisa_store,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# rdcost compare")
    assert "$160,000" in r.stdout  # 58 GPUs -> 8 whole servers of $20,000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and svg.read_text().lstrip().startswith(
        "<?xml"
    )


def test_command_errors(lisa_store):
    r = rdcost(
        "compare-buy-vs-cloud", "-p", "lisa", "-a", "paper", "--size-by", "median", store=lisa_store
    )
    assert r.returncode == 2 and "--size-by" in r.stderr and "Traceback" not in r.stderr
    r = rdcost("compare-buy-vs-cloud", "-p", "nope", store=lisa_store)
    assert r.returncode == 1 and "no jobs" in r.stderr  # an input problem, as in every command
    r = rdcost("compare-buy-vs-cloud", "-p", "lisa", "--server", "k80", store=lisa_store)
    assert r.returncode == 1 and "server" in r.stderr and "Traceback" not in r.stderr
