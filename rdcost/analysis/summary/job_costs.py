"""Per compute job: GPU-hours, the price and power of its GPU, cloud cost, energy,
CO2e and waste category.

:func:`job_costs` is the one place these are computed. The summary reduces its
columns partition by partition (:mod:`rdcost.analysis.summary.partial`); the
report, the plots, the tuning analysis and the buy-vs-cloud comparison read the
same columns. Prices and power are looked up once per distinct (GPU type,
start day) in a :func:`price_table`, so a million jobs cost a few hundred
look-ups.

Rules (docs/summarize.md):

- GPU-hours = n_gpus x elapsed_s / 3600 for a started job, 0 for a job that
  never started, unknown when the GPU count or the elapsed time is.
- Money and impact are 0 for jobs with no GPU time, unknown where the
  GPU-hours, the price or the power are unknown.
- Waste category, at most one per job, in this order: crashed (started, not
  running, shorter than the crash threshold), failed, cancelled, timed out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rdcost.analysis import costing, reference
from rdcost.analysis.assumptions import (
    POWER_COLUMNS,
    PRICE_COLUMNS,
    Assumptions,
    job_power,
    job_prices,
)

FAILED_STATES = ("FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL")
CANCELLED_STATES = ("CANCELLED",)
TIMEOUT_STATES = ("TIMEOUT", "DEADLINE")
WASTE_CATEGORIES = ("crashed", "failed", "cancelled", "timed_out")
MONEY = ("cloud_usd_low", "cloud_usd_high", "electricity_usd")
IMPACT = ("energy_kwh", "co2e_kg", "co2e_lbs")
#: What a price table holds for each (GPU type, start day).
PRICE_TABLE_COLUMNS = ["gpu_type", "day", "gpu_key", *PRICE_COLUMNS, *POWER_COLUMNS]


def median_start_year(start_time: pd.Series) -> int | None:
    """The year of the median start time: the year whose PUE, carbon intensity and
    electricity price apply (:meth:`Assumptions.for_year`); None when nothing started."""
    starts = pd.to_datetime(start_time, utc=True).dropna()
    return None if starts.empty else int(starts.median().year)


def price_days(gpu_type: pd.Series, start_time: pd.Series) -> pd.DataFrame:
    """The distinct (GPU type, start day) of some jobs: what a price table is built for."""
    day = pd.to_datetime(start_time, utc=True).dt.floor("D")
    tcode, _ = pd.factorize(gpu_type.astype("string"), use_na_sentinel=False)
    dcode, duniq = pd.factorize(day, use_na_sentinel=False)
    first = (
        pd.Series(tcode.astype(np.int64) * max(len(duniq), 1) + dcode)
        .drop_duplicates()
        .index.to_numpy()
    )
    return pd.DataFrame(
        {
            "gpu_type": gpu_type.astype("string").iloc[first].to_numpy(),
            "day": day.iloc[first].to_numpy(),
        }
    )


def price_table(pairs: Sequence[pd.DataFrame], a: Assumptions, today: pd.Timestamp) -> pd.DataFrame:
    """GPU key, price and power (:data:`PRICE_TABLE_COLUMNS`) of every (GPU type, start day)
    of :func:`price_days` tables; ``a`` resolved for the year (``a.for_year``)."""
    if pairs:
        u = pd.concat(pairs, ignore_index=True).drop_duplicates(ignore_index=True)
    else:
        u = pd.DataFrame(
            {
                "gpu_type": pd.array([], dtype="string"),
                "day": pd.Series([], dtype="datetime64[us, UTC]"),
            }
        )
    key = reference.gpu_keys(u["gpu_type"], dict(a.gpu_aliases))
    out = pd.DataFrame(
        {"gpu_type": u["gpu_type"].astype("string"), "day": u["day"], "gpu_key": key}
    )
    out = out.join(job_prices(a, key, u["day"], today)).join(job_power(a, key))
    return out[PRICE_TABLE_COLUMNS]


def price_rows(prices: pd.DataFrame, gpu_type: pd.Series, start_time: pd.Series) -> np.ndarray:
    """For each job, its row of the price table (by GPU type and start day)."""
    day = pd.to_datetime(start_time, utc=True).dt.floor("D")
    tcode, tuniq = pd.factorize(gpu_type.astype("string"), use_na_sentinel=False)
    dcode, duniq = pd.factorize(day, use_na_sentinel=False)
    nd = max(len(duniq), 1)
    ccode, cuniq = pd.factorize(tcode.astype(np.int64) * nd + dcode)
    if not len(cuniq):
        return np.zeros(0, dtype=np.int64)
    want = _pair_index(
        pd.Series(np.asarray(tuniq, dtype=object)[cuniq // nd]),
        pd.Series(pd.DatetimeIndex(duniq)[cuniq % nd]),
    )
    have = _pair_index(prices["gpu_type"], prices["day"])
    rows = have.get_indexer(want)
    if (rows < 0).any():
        raise ValueError("the price table lacks a (GPU type, day) of these jobs")
    return rows[ccode].astype(np.int64)


def _pair_index(gpu_type: pd.Series, day: pd.Series) -> pd.MultiIndex:
    t = gpu_type.astype("string").fillna("\x00").to_numpy(dtype=object)
    d = pd.DatetimeIndex(pd.to_datetime(day, utc=True)).as_unit("ns").asi8
    return pd.MultiIndex.from_arrays([t, d])


def job_costs(cj: pd.DataFrame, a: Assumptions, prices: pd.DataFrame) -> pd.DataFrame:
    """Per compute job (same index as ``cj``): is_started, is_running, elapsed_s,
    gpu_hours, gpu_type, price_row (its row of ``prices``), gpu_key, the price and
    power columns, cloud_usd_low/high, energy_kwh, co2e_kg, co2e_lbs,
    electricity_usd, is_crashed and waste_category (see the module doc).

    ``a`` must be resolved for the year (``a.for_year``); ``prices`` is the
    :func:`price_table` of (at least) these jobs' (GPU type, start day).
    """
    j = pd.DataFrame(index=cj.index)
    starts = pd.to_datetime(cj["start_time"], utc=True)
    started = starts.notna()
    elapsed = pd.to_numeric(cj["elapsed_s"], errors="raise").astype("float64")
    n_gpus = pd.to_numeric(cj["n_gpus"], errors="raise").astype("float64")
    state = cj["state"].astype("string")
    j["is_started"] = started
    j["is_running"] = state.eq("RUNNING").fillna(False).astype(bool)
    j["elapsed_s"] = elapsed.where(started)
    gh = costing.gpu_hours(n_gpus, elapsed).where(started, 0.0)
    j["gpu_hours"] = gh
    j["gpu_type"] = cj["gpu_type"].astype("string")
    row = price_rows(prices, cj["gpu_type"], starts)
    j["price_row"] = row
    looked_up = prices.iloc[row].drop(columns=["gpu_type", "day"]).set_axis(cj.index)
    j = j.join(looked_up)
    pue, kg, usd_kwh = a.pue.value, a.carbon.kg_co2e_per_kwh, a.electricity_usd_per_kwh.value
    none = gh == 0
    j["cloud_usd_low"] = costing.cloud_usd(gh, j["usd_per_gpu_hour_low"]).mask(none, 0.0)
    j["cloud_usd_high"] = costing.cloud_usd(gh, j["usd_per_gpu_hour_high"]).mask(none, 0.0)
    j["energy_kwh"] = costing.energy_kwh(gh, j["power_w"], pue).mask(none, 0.0)
    j["co2e_kg"] = costing.co2e_kg(j["energy_kwh"], kg)
    j["co2e_lbs"] = costing.kg_to_lbs(j["co2e_kg"])
    j["electricity_usd"] = costing.electricity_usd(j["energy_kwh"], usd_kwh)
    threshold_s = a.crash_threshold_minutes.value * costing.S_PER_MINUTE
    crashed = started & ~j["is_running"] & (elapsed < threshold_s).fillna(False).astype(bool)
    cat = pd.Series(pd.NA, index=cj.index, dtype="string")
    cat = cat.mask(state.isin(TIMEOUT_STATES).fillna(False).astype(bool), "timed_out")
    cat = cat.mask(state.isin(CANCELLED_STATES).fillna(False).astype(bool), "cancelled")
    cat = cat.mask(state.isin(FAILED_STATES).fillna(False).astype(bool), "failed")
    cat = cat.mask(crashed, "crashed")
    j["is_crashed"] = crashed
    j["waste_category"] = cat
    return j


def costs_for(cj: pd.DataFrame, a: Assumptions, today: pd.Timestamp) -> pd.DataFrame:
    """:func:`job_costs` of some compute jobs with their own price table."""
    return job_costs(cj, a, price_table([price_days(cj["gpu_type"], cj["start_time"])], a, today))
