"""Owned vs cloud for a number of owned GPUs and the project's demand (pure arithmetic): every
figure of ``rdcost compare-buy-vs-cloud`` (:class:`Comparison`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rdcost.analysis.buy_vs_cloud.breakeven import breakeven_hours, breakeven_utilization
from rdcost.analysis.buy_vs_cloud.cost_model import (
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    Demand,
    OwnedParams,
    fixed_usd_per_month,
    owned_cost,
)


@dataclass
class Comparison:
    """Every figure of ``rdcost compare-buy-vs-cloud`` (JSON keys = field names)."""

    n_gpus: int
    n_gpus_rule: str
    gpu_hours: float
    span_days: float
    mean_gpus: float | None
    peak_gpus: float | None
    utilization: float
    cloud_usd_low: float | None
    cloud_usd_high: float | None
    cloud_usd_per_gpu_hour_low: float | None
    cloud_usd_per_gpu_hour_high: float | None
    owned_n_servers: float
    owned_purchase_usd: float
    owned_amortized_fraction: float
    owned_amortized_usd: float
    owned_electricity_usd: float
    owned_hosting_usd: float
    owned_maintenance_usd: float
    owned_staff_usd: float
    owned_running_usd: float
    owned_total_usd: float
    owned_amortized_total_usd: float
    owned_to_cloud_high_ratio: float | None
    owned_to_cloud_low_ratio: float | None
    owned_purchase_to_cloud_high_ratio: float | None
    owned_amortized_to_cloud_high_ratio: float | None
    breakeven_utilization: float | None
    breakeven_utilization_vs_low: float | None
    breakeven_months: float | None
    breakeven_months_vs_low: float | None
    assumptions: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(a: float, b: float | None) -> float | None:
    if b is None or not math.isfinite(b) or b <= 0:
        return None
    return a / b


def compare(
    n_gpus: int,
    n_gpus_rule: str,
    demand: Demand,
    cloud_usd_low: float | None,
    cloud_usd_high: float | None,
    params: OwnedParams,
    knots_h: np.ndarray,
    used_gpu_hours: np.ndarray,
) -> Comparison:
    """Owned vs cloud for ``n_gpus`` owned GPUs and the project's demand.

    ``knots_h``/``used_gpu_hours`` is the demand's cumulative GPU-hours curve
    (:func:`rdcost.analysis.buy_vs_cloud.breakeven.gpu_hours_curve`), used for the
    break-even months. Cloud prices per GPU-hour are the blended ones (cost /
    GPU-hours), so a project that used several GPU types keeps its mix.
    """
    months = demand.span_months
    owned = owned_cost(n_gpus, demand.gpu_hours, months, params)
    gh = demand.gpu_hours
    price_low = cloud_usd_low / gh if cloud_usd_low is not None and gh > 0 else None
    price_high = cloud_usd_high / gh if cloud_usd_high is not None and gh > 0 else None

    def months_to_breakeven(price: float | None) -> float | None:
        if price is None:
            return None
        hours = breakeven_hours(
            knots_h,
            used_gpu_hours,
            owned.purchase_usd,
            fixed_usd_per_month(n_gpus, params),
            price - params.electricity_usd_per_gpu_hour,
        )
        return None if hours is None else hours / HOURS_PER_MONTH

    span_h = demand.span_hours
    return Comparison(
        n_gpus=int(n_gpus),
        n_gpus_rule=n_gpus_rule,
        gpu_hours=gh,
        span_days=span_h / HOURS_PER_DAY,
        mean_gpus=demand.mean_gpus,
        peak_gpus=demand.peak_gpus,
        utilization=gh / (n_gpus * span_h) if span_h > 0 else float("nan"),
        cloud_usd_low=cloud_usd_low,
        cloud_usd_high=cloud_usd_high,
        cloud_usd_per_gpu_hour_low=price_low,
        cloud_usd_per_gpu_hour_high=price_high,
        owned_n_servers=owned.n_servers,
        owned_purchase_usd=owned.purchase_usd,
        owned_amortized_fraction=owned.amortized_fraction,
        owned_amortized_usd=owned.amortized_usd,
        owned_electricity_usd=owned.electricity_usd,
        owned_hosting_usd=owned.hosting_usd,
        owned_maintenance_usd=owned.maintenance_usd,
        owned_staff_usd=owned.staff_usd,
        owned_running_usd=owned.running_usd,
        owned_total_usd=owned.total_usd,
        owned_amortized_total_usd=owned.amortized_total_usd,
        owned_to_cloud_high_ratio=_ratio(owned.total_usd, cloud_usd_high),
        owned_to_cloud_low_ratio=_ratio(owned.total_usd, cloud_usd_low),
        owned_purchase_to_cloud_high_ratio=_ratio(owned.purchase_usd, cloud_usd_high),
        owned_amortized_to_cloud_high_ratio=_ratio(owned.amortized_total_usd, cloud_usd_high),
        breakeven_utilization=breakeven_utilization(n_gpus, params, price_high),
        breakeven_utilization_vs_low=breakeven_utilization(n_gpus, params, price_low),
        breakeven_months=months_to_breakeven(price_high),
        breakeven_months_vs_low=months_to_breakeven(price_low),
    )
