"""What owning GPUs costs (pure arithmetic): the owned-side parameters, the project's demand,
and the owned cost of ``n_gpus`` GPUs (purchase, amortized share, electricity, hosting,
maintenance, staff). Definitions in docs/compare-buy-vs-cloud.md."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rdcost.errors import AssumptionError, UsageError

HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365.25
MONTHS_PER_YEAR = 12
HOURS_PER_YEAR = 8_766  # 365.25 x 24
HOURS_PER_MONTH = 730.5  # 8,766 / 12
W_PER_KW = 1_000
S_PER_HOUR = 3_600


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
        for name in (
            "server_price_usd",
            "lifetime_years",
            "power_w_per_gpu",
            "pue",
            "electricity_usd_per_kwh",
            "hosting_usd_per_kw_month",
            "maintenance_fraction_per_year",
            "staff_usd_per_year",
        ):
            v = getattr(self, name)
            if v is None or not math.isfinite(float(v)) or float(v) < 0:
                raise AssumptionError(f"{name} must be a number >= 0", value=str(v))
        if not self.gpus_per_server or self.gpus_per_server <= 0:
            raise AssumptionError(
                "gpus_per_server must be a whole number > 0", value=str(self.gpus_per_server)
            )
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
    maintenance = (
        purchase_usd(n_gpus, params) * params.maintenance_fraction_per_year / MONTHS_PER_YEAR
    )
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
