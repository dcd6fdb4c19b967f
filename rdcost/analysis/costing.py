"""Money, energy and carbon from GPU time: pure functions, scalars or columns in.

Every function works on Python floats and on pandas Series alike; unknown
(NaN/None) stays unknown, it never becomes 0. Units are in the names:

- GPU-hours = n_gpus x elapsed_s / 3600
- cloud_usd = gpu_hours x usd_per_gpu_hour
- energy_kwh = gpu_hours x power_w / 1000 x pue    (PUE included)
- co2e_kg = energy_kwh x kg_co2e_per_kwh; co2e_lbs = co2e_kg / KG_PER_LB
- electricity_usd = energy_kwh x usd_per_kwh

``estimate_run`` is the model-level method of Strubell et al. (2019), Table 3;
``concurrency`` sweeps job start/end events for mean and peak GPUs in use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

J_PER_KWH = 3_600_000
W_PER_KW = 1_000
KG_PER_LB = 0.45359237  # exact, by definition of the avoirdupois pound
S_PER_HOUR = 3_600
S_PER_MINUTE = 60
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365.25  # Julian year, used for GPU-years


def gpu_hours(n_gpus: Any, elapsed_s: Any) -> Any:
    """GPU-hours held: n_gpus x elapsed_s / 3600 (unknown if either is unknown)."""
    return _float(n_gpus) * _float(elapsed_s) / S_PER_HOUR


def cloud_usd(gpu_hours: Any, usd_per_gpu_hour: Any) -> Any:
    """Cost of renting the same GPU-hours in a cloud."""
    return _float(gpu_hours) * _float(usd_per_gpu_hour)


def energy_kwh(gpu_hours: Any, power_w: Any, pue: Any) -> Any:
    """Facility energy: device energy (GPU-hours x W per device / 1000) times PUE."""
    return _float(gpu_hours) * _float(power_w) / W_PER_KW * _float(pue)


def kwh_from_j(energy_j: Any) -> Any:
    """Joules (e.g. Slurm ConsumedEnergyRaw) to kWh."""
    return _float(energy_j) / J_PER_KWH


def co2e_kg(energy_kwh: Any, kg_co2e_per_kwh: Any) -> Any:
    return _float(energy_kwh) * _float(kg_co2e_per_kwh)


def kg_to_lbs(kg: Any) -> Any:
    return _float(kg) / KG_PER_LB


def lbs_to_kg(lbs: Any) -> Any:
    return _float(lbs) * KG_PER_LB


def electricity_usd(energy_kwh: Any, usd_per_kwh: Any) -> Any:
    return _float(energy_kwh) * _float(usd_per_kwh)


def _float(x: Any) -> Any:
    """Scalars -> float (None -> nan); Series -> float64 Series (NA -> nan)."""
    if isinstance(x, pd.Series):
        return pd.to_numeric(x, errors="raise").astype("float64")
    if x is None or x is pd.NA:
        return float("nan")
    return float(x)


# -- concurrency -----------------------------------------------------------


@dataclass(frozen=True)
class Concurrency:
    """GPUs in use over the span from the first start to the last end."""

    mean_concurrent_gpus: float | None
    peak_concurrent_gpus: float | None
    peak_time: pd.Timestamp | None
    span_hours: float | None


def concurrency(start_time: pd.Series, end_time: pd.Series, n_gpus: pd.Series) -> Concurrency:
    """Mean and peak GPUs held at once, by a sweep over start (+n) and end (-n) events.

    Rows with an unknown start, end or GPU count are left out. At equal times
    ends are applied before starts, so back-to-back jobs do not overlap. The
    mean is the GPU-time integral over the span divided by the span, i.e.
    total GPU-hours / span hours.
    """
    start = pd.to_datetime(start_time, utc=True)
    end = pd.to_datetime(end_time, utc=True)
    g = pd.to_numeric(n_gpus, errors="raise").astype("float64")
    ok = start.notna() & end.notna() & g.notna() & (end >= start)
    if not ok.any():
        return Concurrency(None, None, None, None)
    s = start[ok].to_numpy(dtype="datetime64[ns]").astype("int64")
    e = end[ok].to_numpy(dtype="datetime64[ns]").astype("int64")
    n = g[ok].to_numpy()
    times = np.concatenate([s, e])
    delta = np.concatenate([n, -n])
    order = np.lexsort((delta, times))  # by time, then ends (negative) first
    level = np.cumsum(delta[order])
    i_peak = int(np.argmax(level))
    span_ns = int(e.max() - s.min())
    span_h = span_ns / 1e9 / S_PER_HOUR
    gpu_h = float(np.sum(n * (e - s) / 1e9 / S_PER_HOUR))
    mean = gpu_h / span_h if span_h > 0 else None
    peak_time = pd.Timestamp(int(times[order][i_peak]), tz="UTC")
    return Concurrency(mean, float(level[i_peak]), peak_time, span_h)


# -- model-level estimate (Strubell et al. 2019, Table 3) -------------------


@dataclass(frozen=True)
class RunEstimate:
    """One training run: hardware x count for hours, at a measured system power.

    ``power_w`` is the whole system's average draw (all devices, CPU, DRAM),
    as in the paper; ``energy_kwh`` includes PUE and is None when the power is
    unknown, and so are the CO2e and electricity figures.
    """

    hardware: str
    count: float
    hours: float
    gpu_hours: float
    power_w: float | None
    pue: float
    kg_co2e_per_kwh: float
    usd_per_gpu_hour_low: float | None
    usd_per_gpu_hour_high: float | None
    usd_per_kwh: float | None
    energy_kwh: float | None
    co2e_kg: float | None
    co2e_lbs: float | None
    cloud_usd_low: float | None
    cloud_usd_high: float | None
    electricity_usd: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_run(
    hardware: str,
    count: float,
    hours: float,
    power_w: float | None,
    pue: float,
    kg_co2e_per_kwh: float,
    usd_per_gpu_hour_low: float | None = None,
    usd_per_gpu_hour_high: float | None = None,
    usd_per_kwh: float | None = None,
) -> RunEstimate:
    """p_t = PUE x hours x power_w / 1000 kWh; CO2e = p_t x intensity; cost = device-hours x price.

    ``hours`` is wall-clock time and ``count`` the number of devices, so the
    device-hours are hours x count while the energy uses the system power once.
    """
    dev_h = float(hours) * float(count)
    kwh = None if power_w is None else float(hours) * float(power_w) / W_PER_KW * float(pue)
    kg = None if kwh is None else kwh * float(kg_co2e_per_kwh)
    return RunEstimate(
        hardware=hardware,
        count=float(count),
        hours=float(hours),
        gpu_hours=dev_h,
        power_w=None if power_w is None else float(power_w),
        pue=float(pue),
        kg_co2e_per_kwh=float(kg_co2e_per_kwh),
        usd_per_gpu_hour_low=usd_per_gpu_hour_low,
        usd_per_gpu_hour_high=usd_per_gpu_hour_high,
        usd_per_kwh=usd_per_kwh,
        energy_kwh=kwh,
        co2e_kg=kg,
        co2e_lbs=None if kg is None else kg / KG_PER_LB,
        cloud_usd_low=None if usd_per_gpu_hour_low is None else dev_h * usd_per_gpu_hour_low,
        cloud_usd_high=None if usd_per_gpu_hour_high is None else dev_h * usd_per_gpu_hour_high,
        electricity_usd=None if kwh is None or usd_per_kwh is None else kwh * usd_per_kwh,
    )
