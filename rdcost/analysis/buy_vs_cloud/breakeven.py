"""When owning pays (pure arithmetic): the break-even utilization over the hardware's lifetime,
the cumulative GPU-hours curve of the demand, the break-even time along it, and the cumulative
cost of cloud and owned over time. Definitions in docs/compare-buy-vs-cloud.md."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rdcost.analysis.buy_vs_cloud.cost_model import (
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    OwnedParams,
    fixed_usd_per_month,
    purchase_usd,
)


def breakeven_utilization(
    n_gpus: int, params: OwnedParams, usd_per_gpu_hour: float | None
) -> float | None:
    """Busy fraction of the owned GPU-hours over the lifetime at which owning
    costs what renting the busy hours costs; None if never (electricity per
    busy hour >= the cloud price) or unknown price."""
    if usd_per_gpu_hour is None or not math.isfinite(usd_per_gpu_hour):
        return None
    margin = usd_per_gpu_hour - params.electricity_usd_per_gpu_hour
    if margin <= 0:
        return None
    lifetime_h = params.lifetime_years * HOURS_PER_YEAR
    fixed_per_hour = (
        purchase_usd(n_gpus, params) / lifetime_h
        + fixed_usd_per_month(n_gpus, params) / HOURS_PER_MONTH
    )
    return fixed_per_hour / (n_gpus * margin)


def gpu_hours_curve(
    start_h: np.ndarray, end_h: np.ndarray, n_gpus: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative GPU-hours used by time t (hours): knots (t, G(t)) of a
    piecewise-linear function, exact between knots (np.interp)."""
    start_h = np.asarray(start_h, float)
    end_h = np.asarray(end_h, float)
    n_gpus = np.asarray(n_gpus, float)
    if start_h.size == 0:
        return np.zeros(1), np.zeros(1)
    times = np.concatenate([start_h, end_h])
    delta = np.concatenate([n_gpus, -n_gpus])
    order = np.argsort(times, kind="stable")
    t = times[order]
    level = np.cumsum(delta[order])
    used = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(t))])
    # keep the last knot of each time (several events at one instant)
    last = np.append(t[1:] != t[:-1], True)
    return t[last], used[last]


def breakeven_hours(
    knots_h: np.ndarray,
    used_gpu_hours: np.ndarray,
    purchase: float,
    usd_per_month_fixed: float,
    usd_per_gpu_hour_margin: float,
) -> float | None:
    """First time t (hours since the first knot) at which
    margin x G(t) - fixed per hour x t reaches the purchase price, where G is
    the cumulative GPU-hours curve, continued at its mean rate after its last
    knot. None if never."""
    t = np.asarray(knots_h, float) - knots_h[0]
    g = np.asarray(used_gpu_hours, float)
    fixed_per_hour = usd_per_month_fixed / HOURS_PER_MONTH
    h = usd_per_gpu_hour_margin * g - fixed_per_hour * t
    if purchase <= 0:
        return 0.0
    hit = np.flatnonzero(h >= purchase)
    if hit.size:
        k = int(hit[0])
        if k == 0:
            return 0.0
        frac = (purchase - h[k - 1]) / (h[k] - h[k - 1])
        return float(t[k - 1] + frac * (t[k] - t[k - 1]))
    end = float(t[-1])
    if end <= 0:
        return None
    slope = usd_per_gpu_hour_margin * g[-1] / end - fixed_per_hour
    if slope <= 0:
        return None
    return end + (purchase - float(h[-1])) / slope


def cumulative_costs(
    knots_h: np.ndarray,
    used_gpu_hours: np.ndarray,
    n_gpus: int,
    params: OwnedParams,
    usd_per_gpu_hour_low: float,
    usd_per_gpu_hour_high: float,
    horizon_h: float,
    n_points: int = 400,
) -> pd.DataFrame:
    """Cumulative cost over time, on a regular grid from the first start to
    ``horizon_h`` hours later: cloud low and high, owned (purchase up front,
    then running costs). Past the last job the demand goes on at the
    project's mean rate (``is_extrapolated``)."""
    t0 = float(knots_h[0])
    t = np.asarray(knots_h, float) - t0
    g = np.asarray(used_gpu_hours, float)
    end = float(t[-1])
    grid = np.linspace(0.0, max(horizon_h, end), n_points)
    used = np.interp(grid, t, g)
    if end > 0:
        after = grid > end
        used[after] = g[-1] + g[-1] / end * (grid[after] - end)
    months = grid / HOURS_PER_MONTH
    owned = (
        purchase_usd(n_gpus, params)
        + used * params.electricity_usd_per_gpu_hour
        + fixed_usd_per_month(n_gpus, params) * months
    )
    return pd.DataFrame(
        {
            "months": months,
            "gpu_hours": used,
            "cloud_usd_low": used * usd_per_gpu_hour_low,
            "cloud_usd_high": used * usd_per_gpu_hour_high,
            "owned_usd": owned,
            "is_extrapolated": grid > end,
        }
    )
