"""Energy, electricity, CO2e and embodied emissions of each job, with the source of its
energy and a low / central / high range (docs/energy.md is the method in prose).

Per job with GPU time, the energy at the meter of the IT equipment (``it_kwh``) comes from
one source (``energy_source``):

- ``meter``: the scheduler's energy counter (``energy_j``: ConsumedEnergyRaw, or the TRES
  usage ``energy=`` of its steps), used only when it passes the checks: not above nodes x
  the stated maximum node power x elapsed, and not a whole-node counter of a node the job
  shared (fewer GPUs per node than the node has, or a partition the site says is shared).
  A reading that fails is flagged with its reason (``meter_flag``), not used and counted.
  Range: the reading +- the meter's uncertainty.
- ``gpu_power``: the mean power of the job's own GPUs as measured (W&B/MLflow system
  metrics) x GPU-hours. Range: +- the sensor's uncertainty.
- ``gpu_utilization``: the mean utilisation of the job's own GPUs (jobstats, sacct
  ``gres/gpuutil``, W&B/MLflow) through the model draw = rated x (idle + utilisation x
  (max - idle)); the range takes the low and high idle and max fractions.
- ``rated_x_factor``: rated power (TDP) x a utilisation factor (range: the factor's).
- ``assumed_power``: a draw per GPU an assumptions layer gives (or gpus.csv's measured
  average with ``power_basis = measured``), taken as it is.
- ``rated_power``: the rated power itself (the ``gpu_power`` method's default).
- ``unknown``: no power at all; the job's energy is unknown (never 0).

Method ``gpu_power`` (the paper's, rdcost's default) uses only the last three, and its energy
is GPU-hours x power x PUE exactly as before. Method ``best_available`` takes the first
source that applies and adds, for every source but the meter (which already holds the
whole node): the CPU and memory of the allocation (W per core x core-hours used, W per GB
x GB-hours held) and the node's share beyond them (the host's draw per GPU held, less the
CPU and memory counted). Then facility energy = IT energy x PUE; electricity = facility
energy x price; CO2e = facility energy x grid intensity: the annual average of the region
and year, or (with a series) the mean over the hours the job ran, the hours the series does
not cover at the annual average; market-based = location-based x (1 - the site's
carbon-free share). Embodied emissions = GPU-hours x the GPU's manufacturing emissions /
(lifetime hours x the share of it in use).

Low and high combine every input's low and high end (a bound, not a confidence interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rdcost.analysis import costing, reference
from rdcost.analysis.energy.capacity import NodeCapacity, gpus_per_node
from rdcost.analysis.energy.inputs import Range, embodied_kg
from rdcost.analysis.energy.settings import EnergySettings

SOURCES = (
    "meter",
    "gpu_power",
    "gpu_utilization",
    "rated_x_factor",
    "assumed_power",
    "rated_power",
    "unknown",
)
#: How each source reads in a sentence.
SOURCE_WORDS = {
    "meter": "measured energy (the scheduler's node energy counter)",
    "gpu_power": "measured GPU power (W&B / MLflow system metrics)",
    "gpu_utilization": "measured GPU utilisation through the power model",
    "rated_x_factor": "rated power x a utilisation factor",
    "assumed_power": "an assumed power per GPU",
    "rated_power": "rated power (TDP)",
    "unknown": "unknown (no power)",
}
#: Why a meter reading is not used.
FLAGS = {
    "above_max": "above nodes x the maximum node power x elapsed",
    "shared_node": "a shared node: the whole-node counter holds other jobs' draw",
    "shared_partition": "a partition the site shares between jobs (whole-node counter)",
    "unchecked": "cannot be checked (node count or elapsed time unknown)",
}
HOURS_PER_YEAR = costing.HOURS_PER_DAY * costing.DAYS_PER_YEAR
#: Range columns of each job, also summed per waste category and R&D row.
RANGES = (
    "energy_kwh_low",
    "energy_kwh_high",
    "electricity_usd_low",
    "electricity_usd_high",
    "co2e_kg_low",
    "co2e_kg_high",
    "co2e_lbs_low",
    "co2e_lbs_high",
)
#: Further sums of the energy section (totals only).
LAYER_SUMS = (
    "it_kwh",
    "it_kwh_low",
    "it_kwh_high",
    "gpu_kwh",
    "cpu_memory_kwh",
    "node_share_kwh",
    "measured_kwh",
    "pue_overhead_kwh",
    "co2e_annual_kg",
    "co2e_time_matched_kg",
    "series_covered_kwh",
    "co2e_market_kg",
    "co2e_market_kg_low",
    "co2e_market_kg_high",
    "embodied_co2e_kg",
    "embodied_co2e_kg_low",
    "embodied_co2e_kg_high",
)
COLUMNS = ("energy_source", "meter_flag", *RANGES, *LAYER_SUMS)


def _f(cj: pd.DataFrame, name: str) -> np.ndarray:
    if name not in cj:
        return np.full(len(cj), np.nan)
    return pd.to_numeric(cj[name], errors="coerce").astype("float64").to_numpy()


def _s(cj: pd.DataFrame, name: str) -> pd.Series:
    if name not in cj:
        return pd.Series(pd.NA, index=cj.index, dtype="string")
    return cj[name].astype("string")


def rated_tdp(keys: pd.Series, power_w: np.ndarray, basis: pd.Series) -> np.ndarray:
    """Rated power per GPU of each job: gpus.csv's TDP of its key, else its power when that
    is a rating (the median rated power of the GPUs of its year)."""
    codes, uniq = pd.factorize(keys.astype("string"), use_na_sentinel=False)
    tdp = []
    for u in uniq:
        row = None if pd.isna(u) else reference.gpu_power(str(u), "rated")
        tdp.append(np.nan if row is None else row.power_w)
    out = np.asarray(tdp, dtype=float)[codes] if len(uniq) else np.full(len(keys), np.nan)
    rated = basis.astype("string").str.startswith("rated").fillna(False).to_numpy(dtype=bool)
    return np.where(np.isnan(out) & rated, power_w, out)


def pue_range(a) -> Range:
    """The PUE's range: the site's entry (when it gave the PUE), else a layer's
    ``[energy] pue``, else the default range around the PUE in use."""
    e: EnergySettings = a.energy
    if a.pue is not None and str(a.pue.origin).startswith("site "):
        r = e.site.pue_for(e.year)
        if r is not None:
            return r
    if "pue" in e.given:
        return e.given["pue"].with_central(a.pue.value)
    return e.input("pue", a.pue.value).with_central(a.pue.value)


def carbon_range(a) -> tuple[float, float, float]:
    """Annual intensity, kg CO2e per kWh: low, central, high."""
    kg = a.carbon.kg_co2e_per_kwh
    f = a.energy.input("carbon_factor")
    return kg * f.low, kg, kg * f.high


def job_energy(
    j: pd.DataFrame, cj: pd.DataFrame, a, capacity: NodeCapacity | None = None
) -> pd.DataFrame:
    """The columns :data:`COLUMNS` of each job (same index as ``j``), from its job costs so
    far ``j`` (GPU-hours, GPU key, power, placement) and its row ``cj``; ``a`` resolved for
    the year. Under method ``best_available`` (or with a time-matched series) the central
    ``energy_kwh``, ``electricity_usd``, ``co2e_kg`` and ``co2e_lbs`` of ``j`` are replaced."""
    e: EnergySettings = a.energy
    gh = j["gpu_hours"].to_numpy(dtype=float)
    h = np.where(gh > 0, _f(j, "elapsed_s") / costing.S_PER_HOUR, 0.0)
    power = j["power_w"].to_numpy(dtype=float)
    basis = j["power_basis"].astype("string")
    tdp = rated_tdp(j["gpu_key"], power, basis)
    out = pd.DataFrame(index=j.index)
    flag = _meter_flags(cj, j, e, capacity) if e.is_best_available else _no_flags(j)
    src = _sources(cj, j, e, tdp, power, basis, flag)
    out["energy_source"] = pd.Series(src, index=j.index, dtype="string").where(gh > 0)
    out["meter_flag"] = flag.where(gh > 0)
    gpu = _gpu_kwh(cj, e, src, gh, tdp, power)
    meas = _meter_kwh(cj, e, src)
    layers = _host_layers(cj, e, src, gh, h) if e.is_best_available else None
    it = {}
    for k in ("c", "lo", "hi"):
        host = 0.0 if layers is None else layers[k]
        it[k] = np.where(src == "meter", meas[k], gpu[k] + host)
    it = {k: np.where(src == "unknown", np.nan, v) for k, v in it.items()}
    _layer_columns(out, src, gpu, meas, layers, it, e)
    _totals(out, j, a, it, gh)
    _embodied(out, j, e, gh)
    none = gh == 0
    for c in out.columns:
        if c not in ("energy_source", "meter_flag"):
            out[c] = out[c].mask(none, 0.0)
    return out


def _no_flags(j: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=j.index, dtype="string")


def _meter_flags(
    cj: pd.DataFrame, j: pd.DataFrame, e: EnergySettings, capacity: NodeCapacity | None
) -> pd.Series:
    """Why each job's meter reading is not used (the keys of :data:`FLAGS`), else null."""
    energy = _f(cj, "energy_j")
    has = ~np.isnan(energy) & (energy > 0)
    flag = pd.Series(pd.NA, index=cj.index, dtype="string")
    if not e.use_meter or not has.any():
        return flag
    nodes, elapsed = _f(cj, "n_nodes"), _f(cj, "elapsed_s")
    max_w = e.input("max_node_w").central
    unchecked = has & (np.isnan(nodes) | np.isnan(elapsed) | (nodes <= 0))
    above = has & ~unchecked & (energy > nodes * max_w * elapsed)
    part = _s(cj, "partition")
    shared_part = part.isin(list(e.site.shared_partitions)).fillna(False).to_numpy(dtype=bool)
    exclusive = part.isin(list(e.site.exclusive_partitions)).fillna(False).to_numpy(dtype=bool)
    cap = (capacity or NodeCapacity.of(cj)).of_jobs(cj, e.site.gpus_per_node)
    per_node = gpus_per_node(cj)
    fewer = (per_node < cap) & ~np.isnan(per_node) & ~np.isnan(cap)
    shared = has & ~exclusive & fewer
    for key, m in (
        ("shared_node", shared),
        ("shared_partition", has & shared_part),
        ("above_max", above),
        ("unchecked", unchecked),
    ):  # the last applies, so an implausible reading is flagged as such first
        flag = flag.mask(pd.Series(m, index=cj.index), key)
    return flag


def _sources(
    cj: pd.DataFrame,
    j: pd.DataFrame,
    e: EnergySettings,
    tdp: np.ndarray,
    power: np.ndarray,
    basis: pd.Series,
    flag: pd.Series,
) -> np.ndarray:
    n = len(j)
    rated = basis.str.startswith("rated").fillna(False).to_numpy(dtype=bool)
    src = np.full(n, "unknown", dtype=object)
    if not e.is_best_available:
        src[~np.isnan(power)] = "assumed_power"
        src[~np.isnan(power) & rated] = "rated_power"
        return src
    energy = _f(cj, "energy_j")
    gpu_w = _f(cj, "gpu_power_w")
    util = _f(cj, "gpu_util_percent")
    order = [
        ("assumed_power", ~np.isnan(power) & ~rated),
        ("rated_x_factor", ~np.isnan(tdp) & rated),
        ("gpu_utilization", ~np.isnan(util) & ~np.isnan(tdp)),
        ("gpu_power", ~np.isnan(gpu_w) & (gpu_w > 0)),
        (
            "meter",
            e.use_meter & ~np.isnan(energy) & (energy > 0) & flag.isna().to_numpy(dtype=bool),
        ),
    ]
    for name, m in order:  # the best source comes last and wins
        src[m] = name
    return src


def _gpu_kwh(
    cj: pd.DataFrame,
    e: EnergySettings,
    src: np.ndarray,
    gh: np.ndarray,
    tdp: np.ndarray,
    power: np.ndarray,
) -> dict[str, np.ndarray]:
    """GPU energy (kWh) of each job by its source: central, low, high."""
    w = {k: np.full(len(src), np.nan) for k in ("c", "lo", "hi")}

    def put(m: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        for k, v in (("c", c), ("lo", lo), ("hi", hi)):
            w[k] = np.where(m, v, w[k])

    rf = e.input("rated_factor")
    put(src == "rated_power", power, tdp * rf.low, power)
    put(src == "assumed_power", power, power, power)
    put(src == "rated_x_factor", tdp * rf.central, tdp * rf.low, tdp * rf.high)
    u = np.clip(_f(cj, "gpu_util_percent") / 100.0, 0.0, 1.0)
    idle, mx = e.input("idle_fraction"), e.input("max_fraction")

    def model(i: float, m: float) -> np.ndarray:
        return tdp * (i + u * (m - i))

    put(
        src == "gpu_utilization",
        model(idle.central, mx.central),
        model(idle.low, mx.low),
        model(idle.high, mx.high),
    )
    gw = _f(cj, "gpu_power_w")
    su = e.input("gpu_sensor_uncertainty").central
    put(src == "gpu_power", gw, gw * (1 - su), gw * (1 + su))
    return {k: gh * v / costing.W_PER_KW for k, v in w.items()}


def _meter_kwh(cj: pd.DataFrame, e: EnergySettings, src: np.ndarray) -> dict[str, np.ndarray]:
    kwh = np.where(src == "meter", _f(cj, "energy_j") / costing.J_PER_KWH, np.nan)
    u = e.input("meter_uncertainty").central
    return {"c": kwh, "lo": kwh * (1 - u), "hi": kwh * (1 + u)}


def _host_layers(
    cj: pd.DataFrame, e: EnergySettings, src: np.ndarray, gh: np.ndarray, h: np.ndarray
) -> dict[str, np.ndarray]:
    """The CPU and memory of the allocation and the node's share beyond them (kWh), for the
    jobs whose source is not the meter: ``cpu_memory_*`` and ``node_*`` per end, and ``c``,
    ``lo``, ``hi`` = their sum."""
    cores, cpu_s = _f(cj, "n_cpus"), _f(cj, "total_cpu_s")
    mem_gb = _f(cj, "mem_req_bytes") / 1e9
    wc, usage = e.input("cpu_w_per_core"), e.input("cpu_usage_unknown")
    wm, host = e.input("memory_w_per_gb"), e.input("host_w_per_gpu")
    used_h = np.minimum(cpu_s / costing.S_PER_HOUR, cores * h)
    used_h = np.where(np.isnan(cpu_s), np.nan, np.where(np.isnan(cores), cpu_s / 3600, used_h))
    out: dict[str, np.ndarray] = {}
    for k, pick in (("c", "central"), ("lo", "low"), ("hi", "high")):
        core_h = np.where(np.isnan(used_h), cores * h * getattr(usage, pick), used_h)
        cpu = core_h * getattr(wc, pick) / costing.W_PER_KW
        mem = mem_gb * h * getattr(wm, pick) / costing.W_PER_KW
        known = ~np.isnan(cpu) | ~np.isnan(mem)
        cm = np.where(known, np.nan_to_num(cpu) + np.nan_to_num(mem), np.nan)
        hs = getattr(host, pick) * gh / costing.W_PER_KW
        node = np.maximum(0.0, hs - np.nan_to_num(cm))
        out[f"cpu_memory_{k}"] = cm
        out[f"node_{k}"] = node
        out[k] = np.nan_to_num(cm) + node
    out["cpu_memory_known"] = ~np.isnan(cores) & ~np.isnan(mem_gb)
    return out


def _layer_columns(
    out: pd.DataFrame,
    src: np.ndarray,
    gpu: dict[str, np.ndarray],
    meas: dict[str, np.ndarray],
    layers: dict[str, np.ndarray] | None,
    it: dict[str, np.ndarray],
    e: EnergySettings,
) -> None:
    metered = src == "meter"
    out["it_kwh"], out["it_kwh_low"], out["it_kwh_high"] = it["c"], it["lo"], it["hi"]
    out["gpu_kwh"] = np.where(metered, 0.0, gpu["c"])
    out["measured_kwh"] = np.where(metered, meas["c"], 0.0)
    if layers is None:  # not in the gpu_power method: null, never 0
        out["cpu_memory_kwh"] = np.nan
        out["node_share_kwh"] = np.nan
    else:
        out["cpu_memory_kwh"] = np.where(metered, 0.0, np.nan_to_num(layers["cpu_memory_c"]))
        out["node_share_kwh"] = np.where(metered, 0.0, layers["node_c"])
    unknown = src == "unknown"
    for c in ("gpu_kwh", "measured_kwh", "cpu_memory_kwh", "node_share_kwh"):
        out[c] = out[c].mask(unknown, np.nan)


def _totals(
    out: pd.DataFrame, j: pd.DataFrame, a, it: dict[str, np.ndarray], gh: np.ndarray
) -> None:
    e: EnergySettings = a.energy
    pue = pue_range(a)
    fac = {"c": it["c"] * a.pue.value, "lo": it["lo"] * pue.low, "hi": it["hi"] * pue.high}
    usd = a.electricity_usd_per_kwh.value
    kg_lo, kg_c, kg_hi = carbon_range(a)
    tm_c, tm_lo, tm_hi, covered = (np.full(len(j), np.nan) for _ in range(4))
    if e.carbon_series is not None:
        mean_g, frac = e.carbon_series.over(j["place_time"], j["end_eff"])
        frac = np.nan_to_num(frac)
        s_kg = np.nan_to_num(mean_g) / 1000.0
        tm_c, tm_lo, tm_hi = (frac * s_kg + (1 - frac) * k for k in (kg_c, kg_lo, kg_hi))
        covered = fac["c"] * frac
    use_tm = e.uses_series
    kg = {
        "c": tm_c if use_tm else np.full(len(j), kg_c),
        "lo": tm_lo if use_tm else np.full(len(j), kg_lo),
        "hi": tm_hi if use_tm else np.full(len(j), kg_hi),
    }
    co2 = {k: fac[k] * kg[k] for k in fac}
    out["pue_overhead_kwh"] = fac["c"] - it["c"]
    out["energy_kwh_low"], out["energy_kwh_high"] = fac["lo"], fac["hi"]
    out["electricity_usd_low"], out["electricity_usd_high"] = fac["lo"] * usd, fac["hi"] * usd
    out["co2e_kg_low"], out["co2e_kg_high"] = co2["lo"], co2["hi"]
    out["co2e_lbs_low"] = costing.kg_to_lbs(out["co2e_kg_low"])
    out["co2e_lbs_high"] = costing.kg_to_lbs(out["co2e_kg_high"])
    out["co2e_annual_kg"] = fac["c"] * kg_c
    out["co2e_time_matched_kg"] = fac["c"] * tm_c
    out["series_covered_kwh"] = covered
    cfe = e.site.cfe_fraction
    if cfe is None:
        for c in ("co2e_market_kg", "co2e_market_kg_low", "co2e_market_kg_high"):
            out[c] = np.nan
    else:
        out["co2e_market_kg"] = co2["c"] * (1 - cfe.central)
        out["co2e_market_kg_low"] = co2["lo"] * (1 - cfe.high)
        out["co2e_market_kg_high"] = co2["hi"] * (1 - cfe.low)
    if e.is_best_available or use_tm:  # the method's central figures
        j["energy_kwh"] = fac["c"]
        j["electricity_usd"] = fac["c"] * usd
        j["co2e_kg"] = co2["c"]
        j["co2e_lbs"] = costing.kg_to_lbs(j["co2e_kg"])
        for c in ("energy_kwh", "electricity_usd", "co2e_kg", "co2e_lbs"):
            j[c] = j[c].mask(gh == 0, 0.0)


def _embodied(out: pd.DataFrame, j: pd.DataFrame, e: EnergySettings, gh: np.ndarray) -> None:
    life, use = e.input("embodied_lifetime_years"), e.input("embodied_utilization")
    codes, uniq = pd.factorize(j["gpu_key"].astype("string"), use_na_sentinel=False)
    kg = [embodied_for(e, None if pd.isna(u) else str(u)) for u in uniq]
    for col, pick, lpick, upick in (
        ("embodied_co2e_kg", "central", "central", "central"),
        ("embodied_co2e_kg_low", "low", "high", "high"),
        ("embodied_co2e_kg_high", "high", "low", "low"),
    ):
        per_gpu = np.asarray([getattr(r, pick) for r in kg], dtype=float)
        per_gpu = per_gpu[codes] if len(uniq) else np.full(len(j), np.nan)
        hours = getattr(life, lpick) * HOURS_PER_YEAR * getattr(use, upick)
        out[col] = gh * per_gpu / hours


def embodied_for(e: EnergySettings, gpu_key: str | None) -> Range:
    """The manufacturing emissions of one GPU: a layer's value for the key, else for any
    GPU (``*``), else embodied_gpus.csv."""
    if gpu_key is not None and gpu_key in e.embodied_kg:
        return e.embodied_kg[gpu_key]
    if "*" in e.embodied_kg:
        return e.embodied_kg["*"]
    return embodied_kg(gpu_key)
