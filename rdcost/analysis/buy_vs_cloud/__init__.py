"""Buying GPUs instead of renting them (``rdcost compare-buy-vs-cloud``).

The arithmetic is pure functions of explicit numbers (:mod:`~rdcost.analysis.buy_vs_cloud.cost_model`,
:mod:`~rdcost.analysis.buy_vs_cloud.breakeven`, :mod:`~rdcost.analysis.buy_vs_cloud.sizing`,
:mod:`~rdcost.analysis.buy_vs_cloud.comparison`); :func:`compare_jobs`
(:mod:`~rdcost.analysis.buy_vs_cloud.driver`) gathers those numbers from the job table, the
bundled reference tables and the assumptions. Definitions (all documented in
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

Modules (one idea each; this package re-exports the names callers use):

- :mod:`~rdcost.analysis.buy_vs_cloud.cost_model`: owned-side parameters, demand, the owned cost;
- :mod:`~rdcost.analysis.buy_vs_cloud.breakeven`: break-even utilization and time, cumulative costs;
- :mod:`~rdcost.analysis.buy_vs_cloud.sizing`: how many GPUs (mean, percentile), owned cost per replayed size;
- :mod:`~rdcost.analysis.buy_vs_cloud.comparison`: :class:`Comparison`, owned vs cloud for N GPUs;
- :mod:`~rdcost.analysis.buy_vs_cloud.owned_spec`: :class:`OwnedSpec`, the ``[owned]`` layers
  (:func:`load_owned`, reading the presets and files with the assumptions' TOML reader);
- :mod:`~rdcost.analysis.buy_vs_cloud.owned_params`: the spec completed from the bundled tables
  (:data:`SERVERS`, :func:`resolve_owned`);
- :mod:`~rdcost.analysis.buy_vs_cloud.cloud`: the cloud cost of the jobs, committed-use prices;
- :mod:`~rdcost.analysis.buy_vs_cloud.report`: :class:`Report` and its JSON;
- :mod:`~rdcost.analysis.buy_vs_cloud.driver`: :func:`compare_jobs`, job table -> report.
"""

from rdcost.analysis.buy_vs_cloud.breakeven import (
    breakeven_hours,
    breakeven_utilization,
    cumulative_costs,
    gpu_hours_curve,
)
from rdcost.analysis.buy_vs_cloud.cloud import COMMITTED_MODELS
from rdcost.analysis.buy_vs_cloud.comparison import Comparison, compare
from rdcost.analysis.buy_vs_cloud.cost_model import (
    DAYS_PER_YEAR,
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    MONTHS_PER_YEAR,
    S_PER_HOUR,
    W_PER_KW,
    Demand,
    OwnedCost,
    OwnedParams,
    fixed_usd_per_month,
    n_servers,
    owned_cost,
    purchase_usd,
)
from rdcost.analysis.buy_vs_cloud.driver import compare_jobs
from rdcost.analysis.buy_vs_cloud.owned_params import (
    HOSTING_ROWS,
    LIFETIME_ROW,
    MAINTENANCE_ROW,
    PERCENT,
    SERVER_EQUIVALENTS,
    SERVERS,
    STAFF_ROW,
    resolve_owned,
    server_for,
)
from rdcost.analysis.buy_vs_cloud.owned_spec import OWNED_KEYS, OwnedSpec, load_owned
from rdcost.analysis.buy_vs_cloud.report import Report
from rdcost.analysis.buy_vs_cloud.sizing import (
    SIZE_BY_HELP,
    concurrency_percentile,
    gpus_for_mean,
    gpus_for_percentile,
    parse_size_by,
    sizing_costs,
)

__all__ = [
    "COMMITTED_MODELS",
    "DAYS_PER_YEAR",
    "HOSTING_ROWS",
    "HOURS_PER_DAY",
    "HOURS_PER_MONTH",
    "HOURS_PER_YEAR",
    "LIFETIME_ROW",
    "MAINTENANCE_ROW",
    "MONTHS_PER_YEAR",
    "OWNED_KEYS",
    "PERCENT",
    "SERVERS",
    "SERVER_EQUIVALENTS",
    "SIZE_BY_HELP",
    "STAFF_ROW",
    "S_PER_HOUR",
    "W_PER_KW",
    "Comparison",
    "Demand",
    "OwnedCost",
    "OwnedParams",
    "OwnedSpec",
    "Report",
    "breakeven_hours",
    "breakeven_utilization",
    "compare",
    "compare_jobs",
    "concurrency_percentile",
    "cumulative_costs",
    "fixed_usd_per_month",
    "gpu_hours_curve",
    "gpus_for_mean",
    "gpus_for_percentile",
    "load_owned",
    "n_servers",
    "owned_cost",
    "parse_size_by",
    "purchase_usd",
    "resolve_owned",
    "server_for",
    "sizing_costs",
]
