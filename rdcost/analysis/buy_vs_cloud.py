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

from rdcost.errors import AssumptionError, UsageError
from rdcost.output.render import json_ready

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


def compare(n_gpus: int, n_gpus_rule: str, demand: Demand, cloud_usd_low: float | None,
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


def sizing_costs(replayed: pd.DataFrame, params: OwnedParams) -> pd.DataFrame:
    """Add the owned cost of each cluster size to a replay sweep
    (:func:`rdcost.analysis.replay.sweep`): hosting, maintenance and staff run for the
    replayed project duration."""
    out = replayed.copy()
    if (out["n_gpus"] == out["n_gpus"].round()).all():
        out["n_gpus"] = out["n_gpus"].astype("int64")
    rows = [owned_cost(int(n), gh, d * HOURS_PER_DAY / HOURS_PER_MONTH if math.isfinite(d) else 0.0, params)
            for n, gh, d in zip(out["n_gpus"], out["gpu_hours"], out["duration_days"], strict=True)]
    out["owned_purchase_usd"] = [r.purchase_usd for r in rows]
    out["owned_running_usd"] = [r.running_usd for r in rows]
    out["owned_total_usd"] = [r.total_usd for r in rows]
    out["owned_amortized_total_usd"] = [r.amortized_total_usd for r in rows]
    return out


# -- owned hardware: the bundled server prices and the [owned] assumptions ----------

#: GPU key -> (the hardware_costs.csv server_price row, as an item glob; GPUs
#: per server). rdcost's own join between gpus.csv keys and server rows.
SERVERS: dict[str, tuple[str, int]] = {
    "gtx1080ti": ("8x NVIDIA GTX 1080 Ti*", 8),
    "p100_sxm2": ("NVIDIA DGX-1 (8x P100)*", 8),
    "v100_sxm2": ("NVIDIA DGX-1 (8x V100)*", 8),
    "a100_40_sxm": ("NVIDIA DGX A100 (8x A100 40GB)*", 8),
    "a100_80_sxm": ("NVIDIA DGX A100 640GB*", 8),
    "h100_sxm": ("Supermicro HGX H100 server*", 8),
    "b200": ("NVIDIA DGX B200*", 8),
}
#: GPU types with no server row -> the server bought in their place (same
#: chip in another form factor; Maxwell/Pascal-era workstation and datacentre
#: cards -> the 1080 Ti server Strubell et al. priced for the LISA project).
SERVER_EQUIVALENTS: dict[str, str] = {
    "titanx_maxwell": "gtx1080ti", "titanx_pascal": "gtx1080ti", "titan_xp": "gtx1080ti",
    "m40": "gtx1080ti",
    "p100": "p100_sxm2", "p100_pcie": "p100_sxm2",
    "v100_pcie": "v100_sxm2",
    "a100_40_pcie": "a100_40_sxm", "a100_80_pcie": "a100_80_sxm",
    "h100_pcie": "h100_sxm", "h100_nvl": "h100_sxm",
}
#: hardware_costs.csv rows behind the owned-side defaults (category, item glob).
LIFETIME_ROW = ("amortization", "Typical HPC depreciation period*")
HOSTING_ROWS = ("hosting", "*asking*")
MAINTENANCE_ROW = ("maintenance", "Annual hardware maintenance*")
STAFF_ROW = ("staff", "Cost of a person per year*")
PERCENT = 100

#: Keys of the ``[owned]`` table of an assumptions TOML file.
OWNED_KEYS = ("server", "server_price_usd", "gpus_per_server", "is_whole_servers", "lifetime_years",
              "power_w_per_gpu", "hosting_usd_per_kw_month", "maintenance_fraction_per_year",
              "staff_fte", "staff_usd_per_fte_year", "source", "note")
_OWNED_NUMBERS = ("server_price_usd", "gpus_per_server", "lifetime_years", "power_w_per_gpu",
                  "hosting_usd_per_kw_month", "maintenance_fraction_per_year", "staff_fte",
                  "staff_usd_per_fte_year")


@dataclass(frozen=True)
class OwnedSpec:
    """Owned-side settings as given (None = take the default). ``origins``
    says, per setting, which layer gave it and on what source."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def merged(self, data: dict[str, Any], origin: str) -> OwnedSpec:
        """This spec with one more layer (an ``[owned]`` table or CLI options) on top."""
        unknown = sorted(set(data) - set(OWNED_KEYS))
        if unknown:
            raise AssumptionError(f"{origin}: unknown key(s) in [owned]: {unknown}", value=", ".join(unknown),
                                  hint=f"known keys: {', '.join(OWNED_KEYS)}")
        values, origins = dict(self.values), dict(self.origins)
        if data.get("server") is not None and data.get("server_price_usd") is None:
            # a server chosen by a later layer replaces a price given by an earlier one
            for k in ("server_price_usd", "gpus_per_server"):
                values.pop(k, None)
                origins.pop(k, None)
        source = data.get("source")
        for k, v in data.items():
            if k in ("source", "note") or v is None:
                continue
            if k in _OWNED_NUMBERS:
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                    raise AssumptionError(f"{origin}: owned.{k} must be a number >= 0", value=repr(v))
                if k == "gpus_per_server" and (v != int(v) or v == 0):
                    raise AssumptionError(f"{origin}: owned.gpus_per_server must be a whole number > 0",
                                          value=repr(v))
            elif k == "is_whole_servers" and not isinstance(v, bool):
                raise AssumptionError(f"{origin}: owned.is_whole_servers must be true or false", value=repr(v))
            elif k == "server" and not (isinstance(v, str) and v.strip()):
                raise AssumptionError(f"{origin}: owned.server must be a GPU key", value=repr(v))
            values[k] = v
            origins[k] = origin + (f"; {source}" if source else "")
        return OwnedSpec(values, origins)


def _spec_path(spec: str):
    from importlib import resources
    from pathlib import Path

    preset = resources.files("rdcost") / "presets" / f"{spec}.toml"
    if "/" not in spec and not spec.endswith(".toml") and preset.is_file():
        return preset, f"preset {spec}"
    path = Path(spec)
    return (path, f"file {path}") if path.is_file() else (None, None)


def load_owned(specs, base: OwnedSpec | None = None) -> OwnedSpec:
    """The ``[owned]`` tables of the ``--assumptions`` presets/files, in order.

    The other tables of those files are read by :func:`rdcost.analysis.assumptions.load`.
    """
    import tomllib

    spec_out = base or OwnedSpec()
    for spec in specs:
        path, origin = _spec_path(spec)
        if path is None:
            continue  # rdcost.analysis.assumptions.load reports it
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise AssumptionError(f"invalid TOML: {exc}", path=str(path)) from exc
        owned = data.get("owned")
        if owned is None:
            continue
        if not isinstance(owned, dict):
            raise AssumptionError(f"{origin}: owned must be a table", value=repr(owned))
        spec_out = spec_out.merged(owned, origin)
    return spec_out


def server_for(gpu_key: str | None) -> str | None:
    """The server key (a key of :data:`SERVERS`) to buy for a GPU key."""
    if gpu_key is None:
        return None
    if gpu_key in SERVERS:
        return gpu_key
    return SERVER_EQUIVALENTS.get(gpu_key)


def resolve_owned(spec: OwnedSpec, a, project_gpu_key: str | None, year: int | None
                  ) -> tuple[OwnedParams, dict[str, Any]]:
    """Owned-side parameters from the spec, filling the rest from the bundled
    tables, and the list of what was assumed (value, unit, origin, source).

    ``a`` is the year-resolved :class:`rdcost.analysis.assumptions.Assumptions`
    (electricity, PUE, power per GPU); ``project_gpu_key`` the GPU type with
    the most GPU-hours, whose server is bought unless ``server`` is given.
    """
    from rdcost.analysis import assumptions as assumptions_mod
    from rdcost.analysis import reference

    v, o = spec.values, spec.origins
    used: dict[str, Any] = {}

    def note(name: str, value: Any, unit: str, origin: str, source: str = "", as_of: str | None = None) -> None:
        used[name] = {"value": value, "unit": unit, "origin": origin, "source": source, "as_of": as_of}

    server_key = v.get("server")
    if server_key is None:
        server_key = server_for(project_gpu_key)
        server_origin = (f"the project's main GPU type {project_gpu_key}"
                         + ("" if server_key == project_gpu_key else f", bought as {server_key}"))
    else:
        server_origin = o["server"]
    if "server_price_usd" in v and "gpus_per_server" in v:
        price, per = float(v["server_price_usd"]), int(v["gpus_per_server"])
        label = server_key or "server"
        note("server_price_usd", price, "USD per server", o["server_price_usd"])
        note("gpus_per_server", per, "GPUs", o["gpus_per_server"])
    else:
        if server_key not in SERVERS:
            raise AssumptionError(
                f"no server price for GPU type {server_key or project_gpu_key or 'unknown'}",
                value=str(server_key or project_gpu_key),
                hint=f"choose a server with --server ({', '.join(SERVERS)}) or give "
                     "--server-price-usd and --gpus-per-server")
        glob, per_default = SERVERS[server_key]
        row = reference.series_value("server_price", glob, None)
        price = float(v.get("server_price_usd", row.value))
        per = int(v.get("gpus_per_server", per_default))
        label = row.item
        note("server_price_usd", price, "USD per server",
             o.get("server_price_usd", f"refdata hardware_costs.csv: {row.item} ({server_origin})"),
             row.source, row.as_of)
        note("gpus_per_server", per, "GPUs", o.get("gpus_per_server", f"rdcost server table ({server_key})"))

    power_key = server_key or project_gpu_key
    if "power_w_per_gpu" in v:
        power_w = float(v["power_w_per_gpu"])
        note("power_w_per_gpu", power_w, "W per GPU", o["power_w_per_gpu"])
    else:
        draw = assumptions_mod.power_plan(a, power_key)
        if draw is None:
            raise AssumptionError(f"no power per GPU for the owned GPU type {power_key}", value=str(power_key),
                                  hint="give --owned-watts-per-gpu or owned.power_w_per_gpu")
        power_w = draw.power_w
        note("power_w_per_gpu", power_w, "W per GPU", f"{draw.origin} ({draw.basis})", draw.source)

    def from_row(name: str, category_glob: tuple[str, str], unit: str, scale: float = 1.0,
                 by_year: bool = False) -> float:
        if name in v:
            note(name, float(v[name]), unit, o[name])
            return float(v[name])
        row = reference.series_value(*category_glob, year if by_year else None)
        value = row.value * scale
        note(name, value, unit, f"refdata hardware_costs.csv: {row.item}", row.source, row.as_of)
        if row.note:
            used[name]["note"] = row.note
        return value

    lifetime = from_row("lifetime_years", LIFETIME_ROW, "years")
    hosting = from_row("hosting_usd_per_kw_month", HOSTING_ROWS, "USD per kW-month", by_year=True)
    maintenance = from_row("maintenance_fraction_per_year", MAINTENANCE_ROW, "fraction of purchase per year",
                           scale=1 / PERCENT)
    fte = float(v.get("staff_fte", 0.0))
    note("staff_fte", fte, "FTE", o.get("staff_fte", "built-in default: no staff charged to the project"))
    per_fte = from_row("staff_usd_per_fte_year", STAFF_ROW, "USD per FTE-year") if fte > 0 else 0.0
    is_whole = bool(v.get("is_whole_servers", False))
    note("is_whole_servers", is_whole, "", o.get("is_whole_servers", "built-in default: GPUs priced one by one "
                                                                      "(a share of a server), as in the paper"))
    note("pue", a.pue.value, "ratio", a.pue.origin, a.pue.source, a.pue.as_of)
    e = a.electricity_usd_per_kwh
    note("electricity_usd_per_kwh", e.value, "USD per kWh", e.origin, e.source, e.as_of)
    params = OwnedParams(server_price_usd=price, gpus_per_server=per, lifetime_years=lifetime,
                         power_w_per_gpu=power_w, pue=a.pue.value, electricity_usd_per_kwh=e.value,
                         hosting_usd_per_kw_month=hosting, maintenance_fraction_per_year=maintenance,
                         staff_usd_per_year=fte * per_fte, is_whole_servers=is_whole, server_label=label)
    return params, used


# -- from a job table to the report ------------------------------------------------

SIZE_BY_HELP = "mean (GPU-hours / span, rounded), pNN (NN-th percentile of GPUs in use, e.g. p90) or peak"
COMMITTED_MODELS = ("reserved_1y", "reserved_3y")


def parse_size_by(size_by: str) -> float | None:
    """``mean`` -> None; ``peak`` -> 100; ``p90`` -> 90."""
    s = size_by.strip().lower()
    if s == "mean":
        return None
    if s == "peak":
        return 100.0
    if s.startswith("p"):
        try:
            q = float(s[1:])
        except ValueError:
            q = -1.0
        if 0 < q <= 100:
            return q
    raise UsageError(f"--size-by must be {SIZE_BY_HELP}", value=size_by)


@dataclass
class Report:
    """Everything ``rdcost compare-buy-vs-cloud`` prints (see :meth:`to_dict`)."""

    project: str | None
    n_jobs: int
    n_jobs_gpu_unknown: int
    comparison: Comparison
    project_gpu_key: str | None
    owned_server: str
    cloud_usd_committed_1y: float | None
    cloud_usd_committed_3y: float | None
    curve: pd.DataFrame
    sizing: pd.DataFrame | None
    replay: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON (docs/compare-buy-vs-cloud.md)."""
        d: dict[str, Any] = {"project": self.project, "n_jobs": self.n_jobs,
                             "n_jobs_gpu_unknown": self.n_jobs_gpu_unknown}
        d.update(self.comparison.to_dict())
        d["project_gpu_key"] = self.project_gpu_key
        d["owned_server"] = self.owned_server
        d["cloud_usd_committed_1y"] = self.cloud_usd_committed_1y
        d["cloud_usd_committed_3y"] = self.cloud_usd_committed_3y
        d["sizing"] = None if self.sizing is None else _records(self.sizing)
        d["replay"] = self.replay
        d["notes"] = list(self.notes)
        d["assumptions"] = d.pop("assumptions")
        return json_ready(d)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: json_ready(v) for k, v in row.items()} for row in df.to_dict(orient="records")]




def _sum_or_none(s: pd.Series) -> float | None:
    return None if s.isna().any() else float(s.sum())


def compare_jobs(jobs: pd.DataFrame, assumptions, owned: OwnedSpec | None = None, *,
                 n_gpus: int | None = None, size_by: str = "mean", sizes: list[float] | str | None = None,
                 estimate: str = "elapsed", today: pd.Timestamp | None = None,
                 on_missing: str = "raise", project: str | None = None) -> Report:
    """Owned vs cloud for a job table (a project's rows of the store).

    ``n_gpus`` (``--gpus``) wins over ``size_by``. ``sizes``: cluster sizes to
    replay the trace on ("auto" = :func:`rdcost.analysis.replay.default_gpu_counts`
    plus ``n_gpus``; None = no replay). ``on_missing`` as in summarize.
    """
    from rdcost.analysis import costing, replay
    from rdcost.analysis.linking import compute_jobs
    from rdcost.analysis.summary.job_costs import costs_for, median_start_year

    if on_missing not in ("raise", "unknown"):
        raise UsageError(f"--on-missing must be raise or unknown, got {on_missing!r}", value=on_missing)
    owned = owned or OwnedSpec()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    notes: list[str] = []
    cj = compute_jobs(jobs)
    starts = pd.to_datetime(cj["start_time"], utc=True)
    year = median_start_year(starts)
    a = assumptions.for_year(year)
    j = costs_for(cj, a, today)
    started = j["is_started"]
    known = started & j["gpu_hours"].notna()
    use = known & (j["gpu_hours"] > 0)
    if not use.any():
        raise UsageError("the selected jobs hold no GPU time (no started job with a known GPU count "
                         "and run time)", hint="check --project, or ingest with --gpus-per-run")
    n_gpu_unknown = int((started & pd.to_numeric(cj["n_gpus"]).isna()).sum())
    if n_gpu_unknown:
        notes.append(f"{n_gpu_unknown:,} started jobs have an unknown GPU count; they are left out of "
                     "the GPU-hours, the cloud cost and the replay")

    # cloud side
    miss = use & (j["usd_per_gpu_hour_low"].isna() | j["usd_per_gpu_hour_high"].isna())
    if miss.any():
        types = j.loc[miss, "gpu_type"].fillna("(no GPU type)").value_counts()
        listed = ", ".join(f"{t} ({n:,} jobs)" for t, n in types.items())
        if on_missing == "raise":
            raise AssumptionError(f"no cloud price for GPU type(s) {listed}",
                                  hint="map the type to a known GPU (--gpu-alias NAME=KEY) or give a price "
                                       "([prices.KEY] in an --assumptions TOML file); --on-missing unknown "
                                       "shows the cloud figures as unknown")
        notes.append(f"no cloud price for GPU type(s) {listed}; the cloud figures are unknown")
    cloud_low = _sum_or_none(j.loc[use, "cloud_usd_low"])
    cloud_high = _sum_or_none(j.loc[use, "cloud_usd_high"])
    if j.loc[use, "is_price_before_known"].any():
        notes.append(f"{int(j.loc[use, 'is_price_before_known'].sum()):,} jobs ran before the earliest "
                     "known price of their GPU; the earliest known price is used")
    committed = _committed(a, j, cj, use, today)
    if committed["n_jobs_before_known_price"]:
        notes.append(f"committed-use prices: {committed['n_jobs_before_known_price']:,} jobs ran before the "
                     f"earliest known commitment price of their GPU (as of "
                     f"{', '.join(sorted(committed['as_of']))}); that price is used")

    # demand
    t0 = starts[use].min()
    start_h = ((starts[use] - t0).dt.total_seconds() / S_PER_HOUR).to_numpy(dtype=float)
    elapsed_h = (j.loc[use, "elapsed_s"] / S_PER_HOUR).to_numpy(dtype=float)
    gpus = pd.to_numeric(cj.loc[use, "n_gpus"]).to_numpy(dtype=float)
    end_h = start_h + elapsed_h
    knots, used_gh = gpu_hours_curve(start_h, end_h, gpus)
    conc = costing.concurrency(starts[use], starts[use] + pd.to_timedelta(j.loc[use, "elapsed_s"], unit="s"),
                               cj.loc[use, "n_gpus"])
    demand = Demand(gpu_hours=float(j.loc[use, "gpu_hours"].sum()), span_hours=float(end_h.max()),
                    mean_gpus=conc.mean_concurrent_gpus, peak_gpus=conc.peak_concurrent_gpus)

    # owned side
    by_key = j.loc[use].groupby(j.loc[use, "gpu_key"].fillna("unknown"))["gpu_hours"].sum()
    main_key = None if by_key.empty or by_key.idxmax() == "unknown" else str(by_key.idxmax())
    params, owned_used = resolve_owned(owned, a, main_key, year)
    if n_gpus is not None:
        if n_gpus <= 0:
            raise UsageError(f"--gpus must be > 0, got {n_gpus}", value=str(n_gpus))
        chosen, rule = int(n_gpus), "--gpus"
    else:
        q = parse_size_by(size_by)
        if q is None:
            chosen, rule = gpus_for_mean(demand.mean_gpus), "mean GPUs in use, rounded"
        else:
            chosen = gpus_for_percentile(start_h, end_h, gpus, q)
            rule = f"percentile {q:g} of GPUs in use (weighted by time), rounded up"

    c = compare(chosen, rule, demand, cloud_low, cloud_high, params, knots, used_gh)
    if c.utilization > 1:
        notes.append(f"{chosen} GPUs cannot run {demand.gpu_hours:,.0f} GPU-hours in "
                     f"{c.span_days:,.0f} days (utilization {c.utilization:.3f} > 1): owning them, the "
                     "project takes longer; see the sizing replay (--sizing)")
    c.assumptions = _assumptions_used(a, j, use, params, owned_used, year)

    # cumulative curve for the plot: the project, and on to the break-even (within the lifetime)
    lifetime_h = params.lifetime_years * HOURS_PER_YEAR
    ends = [m * HOURS_PER_MONTH for m in (c.breakeven_months, c.breakeven_months_vs_low) if m is not None]
    horizon = max([demand.span_hours] + [min(1.25 * e, lifetime_h) for e in ends])
    curve = cumulative_costs(knots, used_gh, chosen, params, c.cloud_usd_per_gpu_hour_low or float("nan"),
                             c.cloud_usd_per_gpu_hour_high or float("nan"), horizon)

    sizing_table = None
    replay_info = None
    if sizes is not None:
        trace = replay.trace_from_jobs(cj, estimate=estimate)
        counts = replay.default_gpu_counts(trace) + [chosen] if sizes == "auto" else list(sizes)
        sizing_table = sizing_costs(replay.sweep(trace, counts), params)
        replay_info = {
            "policy": "first come, first served with EASY backfill",
            "estimate": estimate,
            "n_jobs_replayed": trace.n_jobs,
            **trace.exclusions(),
            "n_jobs_submit_from_start": trace.n_jobs_submit_from_start,
            "logged_duration_days": trace.logged_end_s / 86_400,
        }
        too_large = sizing_table.loc[sizing_table["n_jobs_too_large"] > 0]
        for r in too_large.itertuples(index=False):
            notes.append(f"on {r.n_gpus:g} GPUs, {r.n_jobs_too_large:,} jobs ask for more GPUs than the "
                         "cluster has and could never run; they are left out of that row")

    return Report(project=project, n_jobs=len(cj), n_jobs_gpu_unknown=n_gpu_unknown, comparison=c,
                  project_gpu_key=main_key, owned_server=params.server_label,
                  cloud_usd_committed_1y=committed.get("reserved_1y"),
                  cloud_usd_committed_3y=committed.get("reserved_3y"),
                  curve=curve, sizing=sizing_table, replay=replay_info, notes=notes)


def _committed(a, j: pd.DataFrame, cj: pd.DataFrame, use: pd.Series, today: pd.Timestamp) -> dict[str, Any]:
    """Committed-use cost (1- and 3-year) from the bundled price table, for
    each job's GPU type or its cloud equivalent; None if any GPU-hour has no
    such price (e.g. the provider sells no commitment for it)."""
    from rdcost.analysis import assumptions as assumptions_mod
    from rdcost.analysis import reference

    table = reference.priced_keys(a.price_provider)
    bundled = reference.cloud_equivalents()

    def table_key(k: Any) -> str | None:
        if not isinstance(k, str):
            return None
        for cand in (k, a.cloud_equivalents.get(k), bundled.get(k)):
            if cand in table:
                return cand
        return None

    gpu_keys = j.loc[use, "gpu_key"].astype("string")
    keys = gpu_keys.map({k: table_key(k) for k in gpu_keys.dropna().unique()}).astype("string")
    # prices are dated by day at best: look each (key, day) up once
    days = pd.to_datetime(assumptions_mod.price_dates(a, cj.loc[use, "start_time"], today), utc=True).dt.floor("D")
    pairs = pd.DataFrame({"key": keys, "day": days}).drop_duplicates().reset_index(drop=True)
    gh = pd.DataFrame({"key": keys, "day": days, "gpu_hours": j.loc[use, "gpu_hours"]})
    gh = gh.groupby(["key", "day"], dropna=False, sort=False)["gpu_hours"].agg(["sum", "size"]).reset_index()
    out: dict[str, Any] = {"n_jobs_before_known_price": 0, "as_of": set()}
    for model in COMMITTED_MODELS:
        p = reference.prices_in_effect(pairs["key"], pairs["day"], a.price_provider, (model,))
        priced = pairs.assign(usd_per_gpu_hour=p["usd_per_gpu_hour"].to_numpy(),
                              is_before=p["is_price_before_known"].to_numpy(), as_of=p["as_of"].to_numpy())
        m = gh.merge(priced, on=["key", "day"], how="left")
        out[model] = _sum_or_none(m["sum"] * m["usd_per_gpu_hour"])
        if out[model] is not None:
            out["n_jobs_before_known_price"] = max(out["n_jobs_before_known_price"],
                                                   int(m.loc[m["is_before"].astype(bool), "size"].sum()))
            out["as_of"] |= set(m["as_of"].dropna().astype(str))
    return out


def _assumptions_used(a, j: pd.DataFrame, use: pd.Series, params: OwnedParams,
                      owned_used: dict[str, Any], year: int | None) -> dict[str, Any]:
    cols = ["gpu_key", "price_key", "usd_per_gpu_hour_low", "usd_per_gpu_hour_high", "price_provider",
            "pricing_model_low", "pricing_model_high", "price_as_of_low", "price_as_of_high", "price_source"]
    p = j.loc[use].assign(gpu_key=j.loc[use, "gpu_key"].fillna("unknown"))
    prices = []
    for vals, g in p.groupby(cols, dropna=False, sort=False):
        row = dict(zip(cols, vals, strict=True))
        row["gpu_hours"] = float(g["gpu_hours"].sum())
        pk = row["price_key"]
        row["note"] = a.prices[pk].note if isinstance(pk, str) and pk in a.prices else None
        prices.append(row)
    return {"name": a.name, "layers": list(a.layers), "year": year,
            "cloud_prices": sorted(prices, key=lambda r: -r["gpu_hours"]),
            "owned": owned_used,
            "owned_usd_per_gpu": params.usd_per_gpu,
            "owned_electricity_usd_per_gpu_hour": params.electricity_usd_per_gpu_hour,
            "hours_per_month": HOURS_PER_MONTH, "hours_per_year": HOURS_PER_YEAR}
