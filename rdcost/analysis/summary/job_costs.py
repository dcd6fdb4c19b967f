"""Per compute job: whether it ran, GPU-hours, the GPU it ran on and that GPU's price
and power, cloud cost, energy, CO2e, when it is placed in time, whether it is
plausible, and its waste category.

:func:`job_costs` is the one place these are computed. The summary reduces its
columns partition by partition (:mod:`rdcost.analysis.summary.partial`); the report,
the plots, the tuning analysis and the buy-vs-cloud comparison read the same columns.
Prices and power are looked up once per distinct (GPU key, day) in a
:func:`price_table`, so a million jobs cost a few hundred look-ups.

Rules (docs/summarize.md):

- A job **ran** when its log shows it: a start time, an elapsed time above 0, or a
  state only a running job reaches (RUNNING, COMPLETED, FAILED, TIMEOUT,
  OUT_OF_MEMORY, NODE_FAIL, PREEMPTED). "Never started" means no such evidence.
- GPU-hours = n_gpus x elapsed_s / 3600 for a job that ran, 0 for one that did not,
  unknown when the GPU count or the elapsed time is.
- The GPU: :mod:`rdcost.analysis.gpu_resolution` (``gpu_key``, ``gpu_key_rule``).
- Money and impact are 0 for jobs with no GPU time, unknown where the GPU-hours, the
  price or the power are unknown.
- **Placed** at its start, else its submit time (``is_placed_by_submit``), else not
  placed in time; its end is the logged end, else start + elapsed.
- **Implausible** (``implausible_reason``): run longer than its time limit plus
  :func:`grace_s`, or a running job longer than the time since it was submitted (to the
  ingest). Left out of every total unless ``include_implausible``.
- Waste category, at most one per job, in this order: crashed (ran, not running, did
  not complete, shorter than the crash threshold), failed, cancelled, timed out. A
  COMPLETED job shorter than the threshold is no crash: ``short_completed``, reported
  beside the waste and not in it.
- Utilisation (:mod:`rdcost.analysis.utilization.jobs`): whether it is logged, the share
  of the job's GPUs at 0%, whether its mean is below the utilisation threshold, the share
  of a multi-GPU job's GPUs never used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rdcost.analysis import costing
from rdcost.analysis.assumptions import (
    POWER_COLUMNS,
    PRICE_COLUMNS,
    Assumptions,
    job_power,
    job_prices,
)
from rdcost.analysis.energy.capacity import NodeCapacity
from rdcost.analysis.energy.model import RANGES, job_energy
from rdcost.analysis.gpu_resolution import UNIDENTIFIED, GpuEvidence, GpuResolver
from rdcost.analysis.utilization.jobs import job_utilization

FAILED_STATES = ("FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL")
CANCELLED_STATES = ("CANCELLED",)
TIMEOUT_STATES = ("TIMEOUT", "DEADLINE")
WASTE_CATEGORIES = ("crashed", "failed", "cancelled", "timed_out")
#: Beside the waste, not in it.
SHORT_COMPLETED = "short_completed"
#: States only a job that ran reaches.
RAN_STATES = (
    "RUNNING",
    "SUSPENDED",
    "COMPLETED",
    "FAILED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
)
UNFINISHED_STATES = ("RUNNING", "SUSPENDED", "PENDING")
MONEY = ("cloud_usd_low", "cloud_usd_high", "electricity_usd")
IMPACT = ("energy_kwh", "co2e_kg", "co2e_lbs", *RANGES)
#: How long a running job's elapsed time may exceed the time since its submission
#: (clocks of the exporting host and of the ingest differ a little).
EXPORT_SLACK_S = 3600
#: What a price table holds for each (GPU key, day).
PRICE_TABLE_COLUMNS = ["gpu_key", "day", *PRICE_COLUMNS, *POWER_COLUMNS]


#: How far past its time limit a job may run and still be plausible (:func:`grace_s`).
GRACE_MIN_S = 900.0
GRACE_FRACTION = 0.05
GRACE_RULE = (
    f"{GRACE_MIN_S / 60:g} minutes or {GRACE_FRACTION:.0%} of the time limit, whichever is more"
)


def grace_s(timelimit_s: pd.Series) -> pd.Series:
    """How far past its time limit a job may run and still be plausible: Slurm ends a job
    at its limit plus its OverTimeLimit and KillWait (minutes); :data:`GRACE_RULE` leaves
    room for both."""
    return np.maximum(GRACE_MIN_S, GRACE_FRACTION * timelimit_s)


def placed_time(cj: pd.DataFrame) -> pd.Series:
    """When each job is placed in time: its start, else its submission (UTC; NaT for neither)."""
    start = pd.to_datetime(cj["start_time"], utc=True)
    if "submit_time" not in cj:
        return start
    return start.fillna(pd.to_datetime(cj["submit_time"], utc=True))


def median_start_year(start_time: pd.Series) -> int | None:
    """The year of the median start time: the year whose PUE, carbon intensity and
    electricity price apply (:meth:`Assumptions.for_year`); None when nothing started."""
    starts = pd.to_datetime(start_time, utc=True).dropna()
    return None if starts.empty else int(starts.median().year)


def price_time(cj: pd.DataFrame, when_unknown: pd.Timestamp | None = None) -> pd.Series:
    """The time whose prices apply to a job: its start, else its submit, else its end,
    else ``when_unknown`` (the middle of the project's year)."""
    t = pd.to_datetime(cj["start_time"], utc=True)
    for c in ("submit_time", "end_time"):
        if c in cj:
            t = t.fillna(pd.to_datetime(cj[c], utc=True))
    if when_unknown is not None:
        t = t.fillna(pd.Timestamp(when_unknown))
    return t


def price_days(gpu_key: pd.Series, when: pd.Series) -> pd.DataFrame:
    """The distinct (GPU key, day) of some jobs: what a price table is built for."""
    day = pd.to_datetime(when, utc=True).dt.floor("D")
    kcode, _ = pd.factorize(gpu_key.astype("string"), use_na_sentinel=False)
    dcode, duniq = pd.factorize(day, use_na_sentinel=False)
    first = (
        pd.Series(kcode.astype(np.int64) * max(len(duniq), 1) + dcode)
        .drop_duplicates()
        .index.to_numpy()
    )
    return pd.DataFrame(
        {
            "gpu_key": gpu_key.astype("string").iloc[first].to_numpy(),
            "day": day.iloc[first].to_numpy(),
        }
    )


def price_table(
    pairs: Sequence[pd.DataFrame], a: Assumptions, today: pd.Timestamp, fallback: bool = True
) -> pd.DataFrame:
    """Price and power (:data:`PRICE_TABLE_COLUMNS`) of every (GPU key, day) of
    :func:`price_days` tables; ``a`` resolved for the year (``a.for_year``).
    ``fallback``: a GPU with no price or power of its own takes its year's range."""
    if pairs:
        u = pd.concat(pairs, ignore_index=True).drop_duplicates(ignore_index=True)
    else:
        u = pd.DataFrame(
            {
                "gpu_key": pd.array([], dtype="string"),
                "day": pd.Series([], dtype="datetime64[us, UTC]"),
            }
        )
    key = u["gpu_key"].astype("string")
    out = pd.DataFrame({"gpu_key": key, "day": u["day"]})
    out = out.join(job_prices(a, key, u["day"], today, fallback)).join(
        job_power(a, key, u["day"], fallback)
    )
    return out[PRICE_TABLE_COLUMNS]


def price_rows(prices: pd.DataFrame, gpu_key: pd.Series, when: pd.Series) -> np.ndarray:
    """For each job, its row of the price table (by GPU key and day)."""
    day = pd.to_datetime(when, utc=True).dt.floor("D")
    kcode, kuniq = pd.factorize(gpu_key.astype("string"), use_na_sentinel=False)
    dcode, duniq = pd.factorize(day, use_na_sentinel=False)
    nd = max(len(duniq), 1)
    ccode, cuniq = pd.factorize(kcode.astype(np.int64) * nd + dcode)
    if not len(cuniq):
        return np.zeros(0, dtype=np.int64)
    want = _pair_index(
        pd.Series(np.asarray(kuniq, dtype=object)[cuniq // nd]),
        pd.Series(pd.DatetimeIndex(duniq)[cuniq % nd]),
    )
    have = _pair_index(prices["gpu_key"], prices["day"])
    rows = have.get_indexer(want)
    if (rows < 0).any():
        raise ValueError("the price table lacks a (GPU key, day) of these jobs")
    return rows[ccode].astype(np.int64)


def _pair_index(gpu_key: pd.Series, day: pd.Series) -> pd.MultiIndex:
    t = gpu_key.astype("string").fillna("\x00").to_numpy(dtype=object)
    d = pd.DatetimeIndex(pd.to_datetime(day, utc=True)).as_unit("ns").asi8
    return pd.MultiIndex.from_arrays([t, d])


def ran(cj: pd.DataFrame) -> pd.Series:
    """Jobs whose log shows they ran (see the module doc)."""
    state = cj["state"].astype("string")
    elapsed = pd.to_numeric(cj["elapsed_s"]).astype("float64")
    return (
        pd.to_datetime(cj["start_time"], utc=True).notna()
        | (elapsed > 0).fillna(False)
        | state.isin(RAN_STATES).fillna(False)
    ).astype(bool)


def implausible_reasons(cj: pd.DataFrame) -> pd.Series:
    """Why a job's record cannot be right (see the module doc), else null."""
    elapsed = pd.to_numeric(cj["elapsed_s"]).astype("float64")
    limit = (
        pd.to_numeric(cj["timelimit_s"]).astype("float64")
        if "timelimit_s" in cj
        else pd.Series(np.nan, index=cj.index)
    )
    out = pd.Series(pd.NA, index=cj.index, dtype="string")
    over = (elapsed > limit + grace_s(limit)).fillna(False)
    out = out.mask(over.astype(bool), "ran longer than its time limit")
    if "ingested_time" in cj and "submit_time" in cj:
        since = (
            pd.to_datetime(cj["ingested_time"], utc=True)
            - pd.to_datetime(cj["submit_time"], utc=True)
        ).dt.total_seconds()
        running = cj["state"].astype("string").isin(UNFINISHED_STATES).fillna(False)
        early = (running & (elapsed > since + EXPORT_SLACK_S)).fillna(False).astype(
            bool
        ) & out.isna()
        out = out.mask(early, "running longer than since its submission")
    return out


def job_costs(
    cj: pd.DataFrame,
    a: Assumptions,
    prices: pd.DataFrame,
    keys: pd.DataFrame,
    when_unknown: pd.Timestamp | None = None,
    capacity: NodeCapacity | None = None,
) -> pd.DataFrame:
    """Per compute job (same index as ``cj``): is_started (ran), is_running, elapsed_s,
    gpu_hours, gpu_type, gpu_key, gpu_key_rule, price_row, the price and power columns,
    cloud_usd_low/high, energy_kwh, co2e_kg, co2e_lbs, electricity_usd, place_time,
    end_eff, is_placed_by_submit, the energy columns of
    :func:`rdcost.analysis.energy.model.job_energy` (energy source, ranges, layers),
    implausible_reason, is_crashed, waste_category and the utilisation columns of
    :func:`rdcost.analysis.utilization.jobs.job_utilization` (see the module doc). ``capacity``:
    the node capacities of all the jobs (default: of these jobs).

    ``a`` must be resolved for the year (``a.for_year``); ``keys`` is the
    :meth:`GpuResolver.resolve` of ``cj``; ``prices`` the :func:`price_table` of (at
    least) these jobs' (GPU key, :func:`price_time` day).
    """
    j = pd.DataFrame(index=cj.index)
    state = cj["state"].astype("string")
    started = ran(cj)
    elapsed = pd.to_numeric(cj["elapsed_s"], errors="raise").astype("float64")
    n_gpus = pd.to_numeric(cj["n_gpus"], errors="raise").astype("float64")
    j["is_started"] = started
    j["is_running"] = state.eq("RUNNING").fillna(False).astype(bool)
    j["elapsed_s"] = elapsed.where(started)
    gh = costing.gpu_hours(n_gpus, elapsed).where(started, 0.0)
    j["gpu_hours"] = gh
    j["gpu_type"] = cj["gpu_type"].astype("string")
    j["gpu_key"] = keys["gpu_key"]
    j["gpu_key_rule"] = keys["gpu_key_rule"]
    row = price_rows(prices, keys["gpu_key"], price_time(cj, when_unknown))
    j["price_row"] = row
    j = j.join(prices.iloc[row].drop(columns=["gpu_key", "day"]).set_axis(cj.index))
    _money(j, gh, a)
    _placement(j, cj, started)
    j = j.join(job_energy(j, cj, a, capacity))
    j["implausible_reason"] = implausible_reasons(cj).where(started)
    _waste(j, state, started, elapsed, a)
    j = j.join(job_utilization(cj, gh, a.util_threshold_percent.value))
    return j


def _money(j: pd.DataFrame, gh: pd.Series, a: Assumptions) -> None:
    pue_s, carbon, electricity = a.environment()
    pue, kg, usd_kwh = pue_s.value, carbon.kg_co2e_per_kwh, electricity.value
    none = gh == 0
    j["cloud_usd_low"] = costing.cloud_usd(gh, j["usd_per_gpu_hour_low"]).mask(none, 0.0)
    j["cloud_usd_high"] = costing.cloud_usd(gh, j["usd_per_gpu_hour_high"]).mask(none, 0.0)
    j["energy_kwh"] = costing.energy_kwh(gh, j["power_w"], pue).mask(none, 0.0)
    j["co2e_kg"] = costing.co2e_kg(j["energy_kwh"], kg)
    j["co2e_lbs"] = costing.kg_to_lbs(j["co2e_kg"])
    j["electricity_usd"] = costing.electricity_usd(j["energy_kwh"], usd_kwh)


def _placement(j: pd.DataFrame, cj: pd.DataFrame, started: pd.Series) -> None:
    start = pd.to_datetime(cj["start_time"], utc=True)
    submit = (
        pd.to_datetime(cj["submit_time"], utc=True)
        if "submit_time" in cj
        else pd.Series(pd.NaT, index=cj.index, dtype="datetime64[us, UTC]")
    )
    by_submit = start.isna() & submit.notna() & started
    place = start.where(start.notna(), submit.where(by_submit))
    end = pd.to_datetime(cj["end_time"], utc=True)
    end = end.fillna(place + pd.to_timedelta(j["elapsed_s"], unit="s"))
    j["place_time"] = place.where(started)
    j["end_eff"] = end.where(started)
    j["is_placed_by_submit"] = by_submit.astype(bool)


def _waste(
    j: pd.DataFrame, state: pd.Series, started: pd.Series, elapsed: pd.Series, a: Assumptions
) -> None:
    threshold_s = a.crash_threshold_minutes.value * costing.S_PER_MINUTE
    short = started & ~j["is_running"] & (elapsed < threshold_s).fillna(False).astype(bool)
    completed = state.eq("COMPLETED").fillna(False).astype(bool)
    crashed = short & ~completed & ~state.isin(UNFINISHED_STATES).fillna(False).astype(bool)
    cat = pd.Series(pd.NA, index=j.index, dtype="string")
    cat = cat.mask(state.isin(TIMEOUT_STATES).fillna(False).astype(bool), "timed_out")
    cat = cat.mask(state.isin(CANCELLED_STATES).fillna(False).astype(bool), "cancelled")
    cat = cat.mask(state.isin(FAILED_STATES).fillna(False).astype(bool), "failed")
    cat = cat.mask(crashed, "crashed")
    cat = cat.mask(short & completed, SHORT_COMPLETED)
    j["is_crashed"] = crashed
    j["waste_category"] = cat


def costs_for(
    cj: pd.DataFrame,
    a: Assumptions,
    today: pd.Timestamp,
    resolver: GpuResolver | None = None,
    fallback: bool = True,
    when_unknown: pd.Timestamp | None = None,
    capacity: NodeCapacity | None = None,
) -> pd.DataFrame:
    """:func:`job_costs` of some compute jobs with their own price table (and their own
    GPU evidence, without a ``resolver``). ``when_unknown``: the price time of jobs with
    no time at all (default: the middle of their median start year); ``capacity``: the
    node capacities (default: of these jobs)."""
    if resolver is None:
        resolver = GpuResolver.build(
            GpuEvidence.of(cj, a.gpu_aliases),
            a.gpu_aliases,
            a.gpu_partitions,
            a.gpu_nodes,
            fallback=UNIDENTIFIED if fallback else None,
        )
    keys = resolver.resolve(cj)
    when_unknown = when_unknown or _mid_year(cj)
    when = price_time(cj, when_unknown)
    prices = price_table([price_days(keys["gpu_key"], when)], a, today, fallback)
    return job_costs(cj, a, prices, keys, when_unknown, capacity)


def _mid_year(cj: pd.DataFrame) -> pd.Timestamp | None:
    year = median_start_year(placed_time(cj))
    return None if year is None else pd.Timestamp(f"{year}-07-01", tz="UTC")
