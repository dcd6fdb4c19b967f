"""Buying GPUs instead of renting them: the arithmetic (pure functions).

Everything here takes explicit numbers; the command (``rdcost
compare-buy-vs-cloud``) gathers them from the job table, the bundled
reference tables and the assumptions. Definitions (all documented in
docs/compare-buy-vs-cloud.md):

- **Demand**: the project's GPU-hours, over its span (first start to last
  end), mean and peak GPUs in use.
- **Cloud**: GPU-hours x price per GPU-hour, low (pre-emptible/spot) and
  high (on-demand), summed over GPU types.
- **Owned**, for ``n_gpus`` GPUs bought as servers of ``gpus_per_server``:
  purchase = n_gpus x server price / gpus_per_server (fractional servers, as
  Strubell et al. price 58 GPUs at $2,500 each; ``is_whole_servers`` rounds
  up to whole servers); amortized share = purchase x min(1, project months /
  lifetime months); electricity = GPU-hours x W per GPU / 1000 x PUE x USD
  per kWh (busy GPUs only: idle draw is not modelled); hosting = n_gpus x W
  per GPU / 1000 x USD per kW-month x project months; maintenance = purchase
  x fraction per year x project years; staff = USD per year x project years.
  Running = electricity + hosting + maintenance + staff.
  Total = purchase + running (the project pays for the hardware);
  amortized total = amortized share + running (the hardware outlives it).
- **Break-even utilization**: over the hardware's lifetime, the fraction of
  the owned GPU-hours that must be busy for owning to cost what renting those
  busy hours would: fixed cost per owned GPU-hour / (cloud price - electricity
  per busy GPU-hour). Above 1 owning never pays within the lifetime; null
  when electricity alone costs more than the cloud.
- **Break-even months**: the time after the project's first start at which
  the cumulative cloud bill overtakes the owned cost (purchase paid up front,
  running costs as they accrue), following the logged demand, then the
  project's mean rate after its last job ends; null if it never does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import AssumptionError, UsageError

HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365.25
MONTHS_PER_YEAR = 12
HOURS_PER_YEAR = 8_766                     # 365.25 x 24
HOURS_PER_MONTH = 730.5                    # 8,766 / 12
W_PER_KW = 1_000
S_PER_HOUR = 3_600


# -- inputs ----------------------------------------------------------------------

@dataclass(frozen=True)
class OwnedParams:
    """What owning costs. Zero means "not charged" (a choice, printed as such)."""

    server_price_usd: float
    gpus_per_server: int
    lifetime_years: float
    power_w_per_gpu: float
    pue: float
    electricity_usd_per_kwh: float
    hosting_usd_per_kw_month: float = 0.0
    maintenance_fraction_per_year: float = 0.0
    staff_usd_per_year: float = 0.0
    is_whole_servers: bool = False
    server_label: str = ""

    def __post_init__(self) -> None:
        for name in ("server_price_usd", "lifetime_years", "power_w_per_gpu", "pue",
                     "electricity_usd_per_kwh", "hosting_usd_per_kw_month",
                     "maintenance_fraction_per_year", "staff_usd_per_year"):
            v = getattr(self, name)
            if v is None or not math.isfinite(float(v)) or float(v) < 0:
                raise AssumptionError(f"{name} must be a number >= 0", value=str(v))
        if not self.gpus_per_server or self.gpus_per_server <= 0:
            raise AssumptionError("gpus_per_server must be a whole number > 0",
                                  value=str(self.gpus_per_server))
        if self.lifetime_years <= 0:
            raise AssumptionError("lifetime_years must be > 0", value=str(self.lifetime_years))
        if self.pue < 1:
            raise AssumptionError("PUE must be >= 1", value=str(self.pue))

    @property
    def usd_per_gpu(self) -> float:
        return self.server_price_usd / self.gpus_per_server

    @property
    def electricity_usd_per_gpu_hour(self) -> float:
        """Electricity of one busy GPU-hour, PUE included."""
        return self.power_w_per_gpu / W_PER_KW * self.pue * self.electricity_usd_per_kwh


@dataclass(frozen=True)
class Demand:
    """The project's GPU time (from the job table)."""

    gpu_hours: float
    span_hours: float
    mean_gpus: float | None
    peak_gpus: float | None

    @property
    def span_months(self) -> float:
        return self.span_hours / HOURS_PER_MONTH


# -- how many GPUs ----------------------------------------------------------------

def gpus_for_mean(mean_gpus: float) -> int:
    """The mean GPUs in use, rounded to the nearest whole GPU (half up), at
    least 1: the paper's 239,942 GPU-hours over 172 days = 58.1 -> 58."""
    if mean_gpus is None or not math.isfinite(mean_gpus):
        raise UsageError("the mean number of GPUs in use is unknown (no job with a start, "
                         "end and GPU count)", hint="give --gpus N")
    return max(1, int(math.floor(mean_gpus + 0.5)))


def concurrency_percentile(start_h: np.ndarray, end_h: np.ndarray, n_gpus: np.ndarray,
                           q: float) -> float:
    """The q-th percentile (0-100) of GPUs in use, weighted by time over the
    span from the first start to the last end: the smallest level L such that
    at least q % of the span has at most L GPUs in use."""
    if not 0 <= q <= 100:
        raise UsageError(f"a percentile is between 0 and 100, got {q}", value=str(q))
    start_h = np.asarray(start_h, float)
    end_h = np.asarray(end_h, float)
    n_gpus = np.asarray(n_gpus, float)
    if start_h.size == 0:
        return float("nan")
    times = np.concatenate([start_h, end_h])
    delta = np.concatenate([n_gpus, -n_gpus])
    order = np.lexsort((delta, times))
    t = times[order]
    level = np.cumsum(delta[order])
    # level[i] holds from t[i] to t[i + 1]
    length = np.diff(t)
    level = level[:-1]
    total = float(length.sum())
    if total <= 0:
        return float(np.max(n_gpus.sum(), initial=0.0))
    by_level = np.argsort(level, kind="stable")
    cum = np.cumsum(length[by_level]) / total
    k = int(np.searchsorted(cum, q / 100 - 1e-12, side="left"))
    return float(level[by_level][min(k, level.size - 1)])


def gpus_for_percentile(start_h, end_h, n_gpus, q: float) -> int:
    """GPUs to cover the q-th percentile of concurrency, rounded up."""
    level = concurrency_percentile(start_h, end_h, n_gpus, q)
    if not math.isfinite(level):
        raise UsageError("no job with a start, end and GPU count to size the cluster from",
                         hint="give --gpus N")
    return max(1, int(math.ceil(level - 1e-9)))


# -- owned cost ---------------------------------------------------------------------

@dataclass(frozen=True)
class OwnedCost:
    n_gpus: int
    n_servers: float
    purchase_usd: float
    amortized_fraction: float
    amortized_usd: float
    electricity_usd: float
    hosting_usd: float
    maintenance_usd: float
    staff_usd: float

    @property
    def running_usd(self) -> float:
        return self.electricity_usd + self.hosting_usd + self.maintenance_usd + self.staff_usd

    @property
    def total_usd(self) -> float:
        return self.purchase_usd + self.running_usd

    @property
    def amortized_total_usd(self) -> float:
        return self.amortized_usd + self.running_usd


def n_servers(n_gpus: int, params: OwnedParams) -> float:
    servers = n_gpus / params.gpus_per_server
    return float(math.ceil(servers - 1e-9)) if params.is_whole_servers else servers


def purchase_usd(n_gpus: int, params: OwnedParams) -> float:
    return n_servers(n_gpus, params) * params.server_price_usd


def fixed_usd_per_month(n_gpus: int, params: OwnedParams) -> float:
    """Owned costs that accrue with time, busy or not: hosting, maintenance, staff."""
    hosting = n_gpus * params.power_w_per_gpu / W_PER_KW * params.hosting_usd_per_kw_month
    maintenance = purchase_usd(n_gpus, params) * params.maintenance_fraction_per_year / MONTHS_PER_YEAR
    staff = params.staff_usd_per_year / MONTHS_PER_YEAR
    return hosting + maintenance + staff


def owned_cost(n_gpus: int, gpu_hours: float, months: float, params: OwnedParams) -> OwnedCost:
    """Owning ``n_gpus`` GPUs for ``months`` and running ``gpu_hours`` on them."""
    if n_gpus <= 0:
        raise UsageError(f"the number of GPUs to buy must be > 0, got {n_gpus}", value=str(n_gpus))
    purchase = purchase_usd(n_gpus, params)
    fraction = min(1.0, months / (params.lifetime_years * MONTHS_PER_YEAR))
    hosting = n_gpus * params.power_w_per_gpu / W_PER_KW * params.hosting_usd_per_kw_month * months
    return OwnedCost(
        n_gpus=int(n_gpus),
        n_servers=n_servers(n_gpus, params),
        purchase_usd=purchase,
        amortized_fraction=fraction,
        amortized_usd=purchase * fraction,
        electricity_usd=gpu_hours * params.electricity_usd_per_gpu_hour,
        hosting_usd=hosting,
        maintenance_usd=purchase * params.maintenance_fraction_per_year * months / MONTHS_PER_YEAR,
        staff_usd=params.staff_usd_per_year * months / MONTHS_PER_YEAR,
    )


# -- break-even -----------------------------------------------------------------------

def breakeven_utilization(n_gpus: int, params: OwnedParams, usd_per_gpu_hour: float) -> float | None:
    """Busy fraction of the owned GPU-hours over the lifetime at which owning
    costs what renting the busy hours costs; None if never (electricity per
    busy hour >= the cloud price) or unknown price."""
    if usd_per_gpu_hour is None or not math.isfinite(usd_per_gpu_hour):
        return None
    margin = usd_per_gpu_hour - params.electricity_usd_per_gpu_hour
    if margin <= 0:
        return None
    lifetime_h = params.lifetime_years * HOURS_PER_YEAR
    fixed_per_hour = (purchase_usd(n_gpus, params) / lifetime_h
                      + fixed_usd_per_month(n_gpus, params) / HOURS_PER_MONTH)
    return fixed_per_hour / (n_gpus * margin)


def gpu_hours_curve(start_h: np.ndarray, end_h: np.ndarray, n_gpus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def breakeven_hours(knots_h: np.ndarray, used_gpu_hours: np.ndarray, purchase: float,
                    usd_per_month_fixed: float, usd_per_gpu_hour_margin: float) -> float | None:
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


def cumulative_costs(knots_h: np.ndarray, used_gpu_hours: np.ndarray, n_gpus: int,
                     params: OwnedParams, usd_per_gpu_hour_low: float, usd_per_gpu_hour_high: float,
                     horizon_h: float, n_points: int = 400) -> pd.DataFrame:
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
    owned = (purchase_usd(n_gpus, params) + used * params.electricity_usd_per_gpu_hour
             + fixed_usd_per_month(n_gpus, params) * months)
    return pd.DataFrame({
        "months": months,
        "gpu_hours": used,
        "cloud_usd_low": used * usd_per_gpu_hour_low,
        "cloud_usd_high": used * usd_per_gpu_hour_high,
        "owned_usd": owned,
        "is_extrapolated": grid > end,
    })


# -- the comparison -------------------------------------------------------------------

@dataclass
class Comparison:
    """Every figure of ``rdcost compare-buy-vs-cloud`` (JSON keys = field names)."""

    n_gpus: int
    sizing: str
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


def compare(n_gpus: int, sizing: str, demand: Demand, cloud_usd_low: float | None,
            cloud_usd_high: float | None, params: OwnedParams,
            knots_h: np.ndarray, used_gpu_hours: np.ndarray) -> Comparison:
    """Owned vs cloud for ``n_gpus`` owned GPUs and the project's demand.

    ``knots_h``/``used_gpu_hours`` is the demand's cumulative GPU-hours curve
    (:func:`gpu_hours_curve`), used for the break-even months. Cloud prices
    per GPU-hour are the blended ones (cost / GPU-hours), so a project that
    used several GPU types keeps its mix.
    """
    months = demand.span_months
    owned = owned_cost(n_gpus, demand.gpu_hours, months, params)
    gh = demand.gpu_hours
    price_low = cloud_usd_low / gh if cloud_usd_low is not None and gh > 0 else None
    price_high = cloud_usd_high / gh if cloud_usd_high is not None and gh > 0 else None

    def months_to_breakeven(price: float | None) -> float | None:
        if price is None:
            return None
        hours = breakeven_hours(knots_h, used_gpu_hours, owned.purchase_usd,
                                fixed_usd_per_month(n_gpus, params),
                                price - params.electricity_usd_per_gpu_hour)
        return None if hours is None else hours / HOURS_PER_MONTH

    span_h = demand.span_hours
    return Comparison(
        n_gpus=int(n_gpus),
        sizing=sizing,
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


def sizing_costs(replayed: pd.DataFrame, params: OwnedParams) -> pd.DataFrame:
    """Add the owned cost of each cluster size to a replay sweep
    (:func:`rdcost.replay.sweep`): hosting, maintenance and staff run for the
    replayed project duration."""
    out = replayed.copy()
    rows = [owned_cost(int(n), gh, d * HOURS_PER_DAY / HOURS_PER_MONTH if math.isfinite(d) else 0.0, params)
            for n, gh, d in zip(out["n_gpus"], out["gpu_hours"], out["duration_days"], strict=True)]
    out["owned_purchase_usd"] = [r.purchase_usd for r in rows]
    out["owned_running_usd"] = [r.running_usd for r in rows]
    out["owned_total_usd"] = [r.total_usd for r in rows]
    out["owned_amortized_total_usd"] = [r.amortized_total_usd for r in rows]
    return out
