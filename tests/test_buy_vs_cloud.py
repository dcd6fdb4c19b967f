"""Owned vs cloud arithmetic, on numbers worked out by hand.

A month is 730.5 hours (8,766 h a year / 12); a year of hardware life is
8,766 hours.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rdcost import buy_vs_cloud as bvc
from rdcost.errors import AssumptionError, UsageError

# $2,500 per GPU; 250 W x PUE 1.5 x $0.10/kWh = $0.0375 per busy GPU-hour.
PLAIN = bvc.OwnedParams(server_price_usd=20_000, gpus_per_server=8, lifetime_years=3,
                        power_w_per_gpu=250, pue=1.5, electricity_usd_per_kwh=0.10)
# The same plus hosting $100/kW-month, maintenance 6 %/year, staff $12,000/year.
FULL = bvc.OwnedParams(server_price_usd=20_000, gpus_per_server=8, lifetime_years=3,
                       power_w_per_gpu=250, pue=1.5, electricity_usd_per_kwh=0.10,
                       hosting_usd_per_kw_month=100, maintenance_fraction_per_year=0.06,
                       staff_usd_per_year=12_000)


def test_electricity_per_busy_gpu_hour():
    assert PLAIN.electricity_usd_per_gpu_hour == pytest.approx(0.0375)
    assert PLAIN.usd_per_gpu == 2_500


def test_owned_cost_of_four_gpus_for_two_months():
    # 4 GPUs, 1,461 GPU-hours (one GPU busy for 2 x 730.5 h), 2 months.
    c = bvc.owned_cost(4, 1_461, 2, FULL)
    assert c.n_servers == 0.5
    assert c.purchase_usd == 10_000                          # 4 x 2,500
    assert c.amortized_fraction == pytest.approx(2 / 36)
    assert c.amortized_usd == pytest.approx(10_000 * 2 / 36)  # 555.56
    assert c.electricity_usd == pytest.approx(1_461 * 0.0375)  # 54.7875
    assert c.hosting_usd == pytest.approx(200)                 # 4 x 0.25 kW x $100 x 2
    assert c.maintenance_usd == pytest.approx(100)             # 10,000 x 6 % x 2/12
    assert c.staff_usd == pytest.approx(2_000)                 # 12,000 x 2/12
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
    paper = bvc.OwnedParams(server_price_usd=20_000, gpus_per_server=8, lifetime_years=3,
                            power_w_per_gpu=217, pue=1.58, electricity_usd_per_kwh=0.12)
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
    assert bvc.breakeven_utilization(8, PLAIN, 0.0375) is None     # electricity eats the margin
    assert bvc.breakeven_utilization(8, PLAIN, None) is None


def test_gpu_hours_curve_is_exact_between_events():
    # 2 GPUs 0-10 h, 1 GPU 5-20 h: G(5) = 10, G(10) = 25, G(20) = 35.
    t, g = bvc.gpu_hours_curve(np.array([0.0, 5.0]), np.array([10.0, 20.0]), np.array([2.0, 1.0]))
    assert t.tolist() == [0, 5, 10, 20]
    assert g.tolist() == [0, 10, 25, 35]
    assert np.interp(7.5, t, g) == pytest.approx(17.5)


CURVE = (np.array([0.0, 100.0]), np.array([0.0, 200.0]))   # 2 GPUs busy for 100 h


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
    assert df["owned_usd"].tolist() == pytest.approx([5_000 + 0.0375 * g for g in (0, 100, 200, 300, 400)])
    assert df["is_extrapolated"].tolist() == [False, False, False, True, True]
    assert df["months"].iloc[-1] == pytest.approx(200 / 730.5)


def test_sizing_costs_use_the_replayed_duration():
    replayed = pd.DataFrame({"n_gpus": [4.0, 8.0], "gpu_hours": [1_461.0, 1_461.0],
                             "duration_days": [2 * 730.5 / 24, 730.5 / 24]})
    out = bvc.sizing_costs(replayed, FULL)
    assert out["owned_purchase_usd"].tolist() == [10_000, 20_000]
    # 4 GPUs over 2 months: as in test_owned_cost_of_four_gpus_for_two_months
    assert out["owned_total_usd"].iloc[0] == pytest.approx(12_354.7875)
    # 8 GPUs over 1 month: hosting 8 x 0.25 x 100 = 200, maintenance 100, staff 1,000
    assert out["owned_running_usd"].iloc[1] == pytest.approx(54.7875 + 200 + 100 + 1_000)


@pytest.mark.parametrize("field,value", [("pue", 0.9), ("lifetime_years", 0), ("gpus_per_server", 0),
                                         ("server_price_usd", -1), ("electricity_usd_per_kwh", math.nan)])
def test_invalid_owned_parameters_are_refused(field, value):
    with pytest.raises(AssumptionError):
        bvc.OwnedParams(**{**PLAIN.__dict__, field: value})
