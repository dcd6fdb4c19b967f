"""The energy section of the summary: what each partition keeps of its jobs' energy
(:func:`energy_partial`: exact sums, GPU-hours per energy source, flagged meter readings)
and the section made from them (:func:`energy_section`; its JSON keys are documented in
docs/summary-json.md, ``energy``).

Which jobs count: those every total counts (they ran, plausible) with GPU time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.energy.inputs import Range
from rdcost.analysis.energy.model import (
    FLAGS,
    LAYER_SUMS,
    SOURCE_WORDS,
    SOURCES,
    carbon_range,
    embodied_for,
    pue_range,
)
from rdcost.analysis.energy.settings import EnergySettings
from rdcost.analysis.summary.exact import exact_float, exact_sums

#: Flagged meter readings listed in the summary (the first ones).
MAX_FLAGGED = 50
POS_BITS = 40


@dataclass
class EnergyPartial:
    """One partition's share of the energy section."""

    part: int
    sums: dict[str, int] = field(default_factory=dict)  # LAYER_SUMS column -> exact sum
    nans: dict[str, int] = field(default_factory=dict)  # ... -> jobs whose value is unknown
    by_source: dict[str, list[int]] = field(default_factory=dict)  # n, gh, kwh, low, high
    flags: dict[str, list[int]] = field(default_factory=dict)  # reason -> n, gh, energy_j
    flagged: pd.DataFrame | None = None
    n_reading: int = 0  # counted jobs with GPU time and a meter reading
    n_cpu_unknown: int = 0
    gh_cpu_unknown: int = 0
    n_series_partial: int = 0  # jobs the carbon series covers in part or not at all


def energy_partial(
    cj: pd.DataFrame, costs: pd.DataFrame, counted: np.ndarray, part: int = 0
) -> EnergyPartial:
    """What the energy section needs from some jobs' costs (see the module doc)."""
    p = EnergyPartial(part=part)
    gh = costs["gpu_hours"].to_numpy(dtype=float)
    use = counted & (gh > 0)
    for c in LAYER_SUMS:
        v = costs[c].to_numpy(dtype=float)[use]
        bad = np.isnan(v)
        p.sums[c] = exact_sums(np.where(bad, 0.0, v))[0]
        p.nans[c] = int(bad.sum())
    src = costs["energy_source"].astype("string").fillna("unknown").to_numpy(dtype=object)
    kwh = {
        c: costs[c].to_numpy(dtype=float)
        for c in ("energy_kwh", "energy_kwh_low", "energy_kwh_high")
    }
    for s in SOURCES:
        m = use & (src == s)
        if m.any():
            p.by_source[s] = [
                int(m.sum()),
                exact_sums(gh[m])[0],
                *(exact_sums(np.nan_to_num(kwh[c][m]))[0] for c in kwh),
            ]
    energy_j = _f(cj, "energy_j")
    p.n_reading = int((use & ~np.isnan(energy_j) & (energy_j > 0)).sum())
    flag = costs["meter_flag"].astype("string")
    fl = use & flag.notna().to_numpy(dtype=bool)
    fv = flag.fillna("").to_numpy(dtype=object)
    for reason in FLAGS:
        m = fl & (fv == reason)
        if m.any():
            p.flags[reason] = [int(m.sum()), exact_sums(gh[m])[0], exact_sums(energy_j[m])[0]]
    rows = np.flatnonzero(fl)[:MAX_FLAGGED]
    p.flagged = pd.DataFrame(
        {
            "job_id": _text(cj, "job_id")[rows],
            "reason": fv[rows],
            "energy_j": energy_j[rows],
            "n_nodes": _f(cj, "n_nodes")[rows],
            "n_gpus": _f(cj, "n_gpus")[rows],
            "partition": _text(cj, "partition")[rows],
            "elapsed_s": _f(cj, "elapsed_s")[rows],
            "first": (part << POS_BITS) | rows,
        }
    )
    cm = costs["cpu_memory_kwh"].to_numpy(dtype=float)
    known = ~np.isnan(_f(cj, "n_cpus")) & ~np.isnan(_f(cj, "mem_req_bytes"))
    unknown_cpu = use & ~np.isnan(cm) & ~known & (src != "meter")
    p.n_cpu_unknown = int(unknown_cpu.sum())
    p.gh_cpu_unknown = exact_sums(gh[unknown_cpu])[0]
    cov = costs["series_covered_kwh"].to_numpy(dtype=float)
    tot = costs["energy_kwh"].to_numpy(dtype=float)
    p.n_series_partial = int((use & ~np.isnan(cov) & (cov < tot * (1 - 1e-9))).sum())
    return p


def _f(cj: pd.DataFrame, name: str) -> np.ndarray:
    if name not in cj:
        return np.full(len(cj), np.nan)
    return pd.to_numeric(cj[name], errors="coerce").astype("float64").to_numpy()


def _text(cj: pd.DataFrame, name: str) -> np.ndarray:
    if name not in cj:
        return np.full(len(cj), None, dtype=object)
    s = cj[name].astype("string")
    return s.astype(object).where(s.notna(), None).to_numpy(dtype=object)


def _rng(low: float | None, central: float | None, high: float | None) -> dict[str, Any]:
    return {"low": low, "central": central, "high": high}


def energy_section(
    parts: Sequence[EnergyPartial | None],
    a,
    totals: dict[str, Any],
    gh_total: float,
    gpu_keys: Sequence[str | None] = (),
) -> dict[str, Any]:
    """The summary's ``energy`` object from the partitions' partials (documented in
    docs/summary-json.md)."""
    e: EnergySettings = a.energy
    ps = [p for p in sorted((q for q in parts if q is not None), key=lambda q: q.part)]
    s = {c: exact_float(sum(p.sums.get(c, 0) for p in ps)) for c in LAYER_SUMS}
    unknown = {c: sum(p.nans.get(c, 0) for p in ps) for c in LAYER_SUMS}
    n_used = _n_used(ps)

    def val(c: str) -> float | None:
        return None if n_used == 0 or unknown[c] == n_used else s[c]

    best = e.is_best_available
    it = val("it_kwh")
    layers = {
        "gpu_kwh": val("gpu_kwh"),
        "cpu_memory_kwh": val("cpu_memory_kwh") if best else None,
        "node_share_kwh": val("node_share_kwh") if best else None,
        "measured_node_kwh": val("measured_kwh") if best else None,
        "it_kwh": it,
        "pue_overhead_kwh": val("pue_overhead_kwh"),
        "facility_kwh": totals.get("energy_kwh"),
        "embodied_co2e_kg": val("embodied_co2e_kg"),
    }
    emb = _rng(val("embodied_co2e_kg_low"), val("embodied_co2e_kg"), val("embodied_co2e_kg_high"))
    op = _rng(totals.get("co2e_kg_low"), totals.get("co2e_kg"), totals.get("co2e_kg_high"))
    total = {k: None if op[k] is None or emb[k] is None else op[k] + emb[k] for k in op}
    return {
        "method": e.method,
        "method_origin": e.method_origin,
        "by_source": _by_source(ps, gh_total),
        "ranges": {
            "energy_kwh": _rng(
                totals.get("energy_kwh_low"),
                totals.get("energy_kwh"),
                totals.get("energy_kwh_high"),
            ),
            "it_kwh": _rng(val("it_kwh_low"), it, val("it_kwh_high")),
            "electricity_usd": _rng(
                totals.get("electricity_usd_low"),
                totals.get("electricity_usd"),
                totals.get("electricity_usd_high"),
            ),
            "co2e_kg": op,
            "co2e_lbs": _rng(
                totals.get("co2e_lbs_low"), totals.get("co2e_lbs"), totals.get("co2e_lbs_high")
            ),
            "embodied_co2e_kg": emb,
            "total_co2e_kg": total,
            "co2e_market_kg": _rng(
                val("co2e_market_kg_low"), val("co2e_market_kg"), val("co2e_market_kg_high")
            ),
        },
        "layers": layers,
        "carbon": _carbon(e, a, s, val, totals),
        "meter": _meter(ps, a, e),
        "n_jobs_cpu_memory_unknown": sum(p.n_cpu_unknown for p in ps),
        "cpu_memory_unknown_gpu_hours": exact_float(sum(p.gh_cpu_unknown for p in ps)),
        "inputs": inputs_used(a, [r["source"] for r in _by_source(ps, gh_total)]),
        "embodied_per_gpu": embodied_inputs(a, gpu_keys),
    }


def _n_used(ps: Sequence[EnergyPartial]) -> int:
    return sum(v[0] for p in ps for v in p.by_source.values())


def _by_source(ps: Sequence[EnergyPartial], gh_total: float) -> list[dict[str, Any]]:
    out = []
    for s in SOURCES:
        rows = [p.by_source[s] for p in ps if s in p.by_source]
        if not rows:
            continue
        gh = exact_float(sum(r[1] for r in rows))
        unknown = s == "unknown"
        out.append(
            {
                "source": s,
                "description": SOURCE_WORDS[s],
                "n_jobs": sum(r[0] for r in rows),
                "gpu_hours": gh,
                "share_of_gpu_hours": gh / gh_total if gh_total > 0 else None,
                "energy_kwh": None if unknown else exact_float(sum(r[2] for r in rows)),
                "energy_kwh_low": None if unknown else exact_float(sum(r[3] for r in rows)),
                "energy_kwh_high": None if unknown else exact_float(sum(r[4] for r in rows)),
            }
        )
    return out


def _carbon(
    e: EnergySettings, a, s: dict[str, float], val, totals: dict[str, Any]
) -> dict[str, Any]:
    c = a.carbon
    lo, kg, hi = carbon_range(a)
    factor = e.input("carbon_factor")
    series = e.carbon_series
    facility = totals.get("energy_kwh")
    out: dict[str, Any] = {
        "central_basis": "time-matched series" if e.uses_series else "annual average",
        "location_annual_co2e_kg": val("co2e_annual_kg"),
        "location_time_matched_co2e_kg": val("co2e_time_matched_kg")
        if series is not None
        else None,
        "market_co2e_kg": val("co2e_market_kg") if e.site.cfe_fraction is not None else None,
        "annual_kg_co2e_per_kwh": {"low": lo, "central": kg, "high": hi},
        "annual_range": _range_dict(factor),
        "region": c.region,
        "year": c.year,
        "cfe_fraction": None if e.site.cfe_fraction is None else _range_dict(e.site.cfe_fraction),
        "series": None,
    }
    if series is not None:
        covered = s["series_covered_kwh"]
        out["series"] = {
            "path": series.path,
            "sha256": series.sha256,
            "layout": series.layout,
            "basis": series.basis,
            "zone": series.zone,
            "n_intervals": series.n_rows,
            "first_time": series.first_time.isoformat().replace("+00:00", "Z"),
            "last_time": series.last_time.isoformat().replace("+00:00", "Z"),
            "mean_g_co2e_per_kwh": series.mean_g_per_kwh(),
            "origin": e.carbon_series_origin,
            "covered_share_of_energy": covered / facility if facility else None,
            "is_central": e.uses_series,
        }
    return out


def _meter(ps: Sequence[EnergyPartial], a, e: EnergySettings) -> dict[str, Any]:
    flags = []
    for reason, words in FLAGS.items():
        rows = [p.flags[reason] for p in ps if reason in p.flags]
        if rows:
            flags.append(
                {
                    "reason": reason,
                    "description": words,
                    "n_jobs": sum(r[0] for r in rows),
                    "gpu_hours": exact_float(sum(r[1] for r in rows)),
                    "energy_kwh_logged": exact_float(sum(r[2] for r in rows)) / 3.6e6,
                }
            )
    have = [p.flagged for p in ps if p.flagged is not None and len(p.flagged)]
    listed: list[dict[str, Any]] = []
    max_w = e.input("max_node_w").central
    if have:
        t = pd.concat(have, ignore_index=True).sort_values("first").head(MAX_FLAGGED)
        for r in t.to_dict("records"):
            limit = r["n_nodes"] * max_w * r["elapsed_s"]
            listed.append(
                {
                    "job_id": r["job_id"],
                    "reason": r["reason"],
                    "energy_j": _num(r["energy_j"]),
                    "n_nodes": _num(r["n_nodes"]),
                    "n_gpus": _num(r["n_gpus"]),
                    "partition": r["partition"],
                    "elapsed_s": _num(r["elapsed_s"]),
                    "limit_j": _num(limit),
                }
            )
    used = sum(p.by_source.get("meter", [0])[0] for p in ps)
    return {
        "is_used": e.is_best_available and e.use_meter,
        "n_jobs_with_reading": sum(p.n_reading for p in ps),
        "n_jobs_used": used,
        "n_jobs_flagged": sum(f["n_jobs"] for f in flags),
        "max_node_w": _range_dict(e.input("max_node_w")),
        "flags": flags,
        "flagged_jobs": listed,
    }


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


def _range_dict(r: Range) -> dict[str, Any]:
    d = asdict(r)
    d["value"] = d.pop("central")
    return d


#: Which inputs each method uses (the summary lists those).
_METHOD_INPUTS = {
    "gpu_power": ("rated_factor",),
    "best_available": (
        "meter_uncertainty",
        "max_node_w",
        "gpu_sensor_uncertainty",
        "idle_fraction",
        "max_fraction",
        "rated_factor",
        "cpu_w_per_core",
        "cpu_usage_unknown",
        "memory_w_per_gb",
        "host_w_per_gpu",
    ),
}


#: The inputs each energy source's range rests on.
_SOURCE_INPUTS = {
    "meter": ("meter_uncertainty", "max_node_w"),
    "gpu_power": ("gpu_sensor_uncertainty",),
    "gpu_utilization": ("idle_fraction", "max_fraction"),
    "rated_x_factor": ("rated_factor",),
    "rated_power": ("rated_factor",),
}


def inputs_used(a, sources: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every input of the energy, electricity and CO2e ranges, with its source and date
    (``sources``: the energy sources of the jobs; their inputs only, else the method's)."""
    e: EnergySettings = a.energy
    out = []
    names = list(_METHOD_INPUTS[e.method])
    if sources is not None:
        want = {i for s in sources for i in _SOURCE_INPUTS.get(s, ())}
        if e.is_best_available and set(sources) - {"meter", "unknown"}:
            want |= {"cpu_w_per_core", "cpu_usage_unknown", "memory_w_per_gb", "host_w_per_gpu"}
        if e.is_best_available and e.use_meter:
            want.add("max_node_w")
        names = [n for n in names if n in want]
    for name in names:
        out.append({"input": name, **_range_dict(e.input(name))})
    out.append({"input": "pue", **_range_dict(pue_range(a))})
    lo, kg, hi = carbon_range(a)
    f = e.input("carbon_factor")
    out.append(
        {
            "input": "carbon_intensity_kg_per_kwh",
            "low": lo,
            "value": kg,
            "high": hi,
            "unit": "kg CO2e per kWh",
            "source": f"{a.carbon.source} (range: {f.source})",
            "origin": f"{a.carbon.origin}; range x {f.low:g} - {f.high:g}: {f.origin}",
            "rule": f.rule,
            "as_of": a.carbon.as_of,
        }
    )
    out.append(
        {
            "input": "electricity_usd_per_kwh",
            "low": a.electricity_usd_per_kwh.value,
            "value": a.electricity_usd_per_kwh.value,
            "high": a.electricity_usd_per_kwh.value,
            "unit": "USD per kWh",
            "source": a.electricity_usd_per_kwh.source,
            "origin": a.electricity_usd_per_kwh.origin,
            "rule": "one price (no range)",
            "as_of": a.electricity_usd_per_kwh.as_of,
        }
    )
    if e.site.cfe_fraction is not None:
        out.append({"input": "cfe_fraction", **_range_dict(e.site.cfe_fraction)})
    for name in ("embodied_lifetime_years", "embodied_utilization"):
        out.append({"input": name, **_range_dict(e.input(name))})
    return out


def embodied_inputs(a, gpu_keys: Sequence[str | None]) -> list[dict[str, Any]]:
    """The manufacturing emissions used for each GPU key."""
    return [{"gpu_key": k, **_range_dict(embodied_for(a.energy, k))} for k in gpu_keys]


#: The central figures a scaled R&D row (one model, one tuning round) takes from the
#: project's totals per GPU-hour when the method is not GPU-hours x one power x one PUE.
_CENTRAL = ("energy_kwh", "electricity_usd", "co2e_kg", "co2e_lbs")


def per_gpu_hour(a, totals: dict[str, Any], gh_total: float) -> dict[str, Any]:
    """The project's energy, electricity and CO2e per GPU-hour (central and range), for the
    R&D rows that scale one model's GPU-hours (:func:`scaled_ranges`)."""
    from rdcost.analysis.energy.model import RANGES

    rates = {
        c: None if gh_total <= 0 or totals.get(c) is None else totals[c] / gh_total
        for c in (*_CENTRAL, *RANGES)
    }
    e: EnergySettings = a.energy
    return {"per_gpu_hour": rates, "central_by_rate": e.is_best_available or e.uses_series}


def scaled_ranges(row: dict[str, Any], gh: float | None, eff: dict[str, Any]) -> dict[str, Any]:
    """An R&D row of ``gh`` GPU-hours with the ranges (and, under a per-job method, the
    central figures) at the project's rates per GPU-hour."""
    from rdcost.analysis.energy.model import RANGES

    rates = eff.get("per_gpu_hour") or {}
    cols = (*RANGES, *(_CENTRAL if eff.get("central_by_rate") else ()))
    for c in cols:
        r = rates.get(c)
        row[c] = None if gh is None or r is None else gh * r
    return row
