"""The owned cost of one used GPU-hour at a utilization (pure arithmetic): owned GPUs cost
their purchase, hosting, maintenance and staff whether busy or idle, so each used GPU-hour
carries the idle ones. With a capacity (:mod:`rdcost.analysis.capacity`) the utilization
is the one measured on the owned cluster; without, the project's own use of the GPUs bought
(at most 1). Definitions in docs/compare-buy-vs-cloud.md."""

from __future__ import annotations

from dataclasses import dataclass

from rdcost.analysis.buy_vs_cloud.cost_model import (
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    W_PER_KW,
    OwnedParams,
    fixed_usd_per_month,
)


@dataclass(frozen=True)
class PerUsed:
    """The owned cost of a used GPU-hour at ``utilization`` (see :func:`per_used_gpu_hour`)."""

    utilization: float | None
    utilization_rule: str
    fixed_usd_per_gpu_hour: float  # every owned GPU-hour, busy or idle
    electricity_usd_per_busy_gpu_hour: float
    electricity_usd_per_idle_gpu_hour: float
    usd_per_used_gpu_hour: float | None


def fixed_usd_per_gpu_hour(n_gpus: int, params: OwnedParams) -> float:
    """What one owned GPU-hour costs, busy or idle: the purchase over the lifetime, plus
    hosting, maintenance and staff per GPU-hour."""
    purchase = params.usd_per_gpu / (params.lifetime_years * HOURS_PER_YEAR)
    return purchase + fixed_usd_per_month(n_gpus, params) / (n_gpus * HOURS_PER_MONTH)


def per_used_gpu_hour(
    n_gpus: int,
    params: OwnedParams,
    utilization: float | None,
    rule: str,
    idle_power_w_per_gpu: float = 0.0,
) -> PerUsed:
    """u = ``utilization``; cost per used GPU-hour = fixed / u + busy electricity + idle
    electricity x (1 - u) / u (unknown when u is unknown or 0)."""
    fixed = fixed_usd_per_gpu_hour(n_gpus, params)
    busy = params.electricity_usd_per_gpu_hour
    idle = idle_power_w_per_gpu / W_PER_KW * params.pue * params.electricity_usd_per_kwh
    per = (
        None
        if utilization is None or utilization <= 0
        else fixed / utilization + busy + idle * (1 - min(utilization, 1.0)) / utilization
    )
    return PerUsed(utilization, rule, fixed, busy, idle, per)
