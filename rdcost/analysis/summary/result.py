"""The result of a summary: :class:`Summary`, its JSON form and its long (CSV) form.

Every field is documented in docs/summary-json.md; the rules behind them in
docs/summarize.md. The figures are computed by
:func:`rdcost.analysis.summary.combine.combine` only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rdcost.analysis.energy.figures import RANGE_UNITS, energy_figures
from rdcost.analysis.utilization.figures import utilization_figures
from rdcost.jsonable import json_ready

SCHEMA_VERSION = 3
FINAL_SIZE_QUANTILE = 0.9
ONE_MODEL_RULE = (
    "median GPU-hours of the final-size runs: COMPLETED jobs at or above the 90th "
    "percentile of completed jobs' GPU-hours"
)
TUNING_ROUND_RULE = "median number of jobs per grid search, rounded to a whole job"


@dataclass
class Summary:
    """The whole summary. Every field is documented in docs/summary-json.md."""

    project: str | None
    n_jobs: int
    n_jobs_started: int
    n_jobs_never_started: int
    n_jobs_running: int
    n_jobs_gpu_unknown: int
    n_jobs_elapsed_unknown: int
    n_grid_searches: int
    n_jobs_in_grid_searches: int
    gpu_hours: float | None
    gpu_days: float | None
    gpu_years: float | None
    first_start_time: str | None
    last_end_time: str | None
    span_days: float | None
    min_job_minutes: float | None
    mean_job_hours: float | None
    median_job_hours: float | None
    max_job_days: float | None
    crash_threshold_minutes: float
    n_crashed_jobs: int
    jobs_by_state: dict[str, int]
    gpu_type_share: dict[str, float | None]
    gpu_types: list[dict[str, Any]]
    mean_concurrent_gpus: float | None
    peak_concurrent_gpus: float | None
    peak_concurrent_time: str | None
    one_model_gpu_hours: float | None
    tuning_round_n_jobs: float | None
    rd_table: list[dict[str, Any]]
    cloud_usd_low: float | None
    cloud_usd_high: float | None
    electricity_usd: float | None
    energy_kwh: float | None
    co2e_kg: float | None
    co2e_lbs: float | None
    comparisons: list[dict[str, Any]]
    waste: dict[str, Any]
    assumptions: dict[str, Any]
    n_jobs_implausible: int = 0
    implausible_gpu_hours: float = 0.0
    include_implausible: bool = False
    median_search: dict[str, Any] = field(default_factory=dict)
    gpu_key_rules: list[dict[str, Any]] = field(default_factory=list)
    price_bases: list[dict[str, Any]] = field(default_factory=list)
    power_bases: list[dict[str, Any]] = field(default_factory=list)
    data_quality: list[dict[str, Any]] = field(default_factory=list)
    implausible_jobs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # schema 3: the low and high ends of every energy, electricity and CO2e total (the keys
    # above hold the central value) and the energy section (rdcost.analysis.energy)
    energy_kwh_low: float | None = None
    energy_kwh_high: float | None = None
    electricity_usd_low: float | None = None
    electricity_usd_high: float | None = None
    co2e_kg_low: float | None = None
    co2e_kg_high: float | None = None
    co2e_lbs_low: float | None = None
    co2e_lbs_high: float | None = None
    energy: dict[str, Any] = field(default_factory=dict)
    # GPU time idle or under-used where utilisation is logged (rdcost.analysis.utilization)
    utilization: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {"schema_version": SCHEMA_VERSION}
        d.update(asdict(self))
        return json_ready(d)

    def figures(self) -> pd.DataFrame:
        """One row per figure: section, metric, value, unit, assumption (the CSV form)."""
        return _figures(self)


# -- long and sectioned forms ----------------------------------------------------------


def _figures(s: Summary) -> pd.DataFrame:
    a = s.assumptions
    price = _price_text(a)
    power = _power_text(a)
    env = (
        f"PUE {a['pue']['value']:g}; {a['carbon']['kg_co2e_per_kwh']:.4g} kg CO2e/kWh "
        f"({a['carbon']['region']}, {a['carbon']['year']}); ${a['electricity_usd_per_kwh']['value']:g}/kWh"
    )
    rows: list[tuple[str, str, Any, str, str]] = []

    def add(section: str, metric: str, value: Any, unit: str, assumption: str = "") -> None:
        rows.append((section, metric, value, unit, assumption))

    crash = f"shorter than {s.crash_threshold_minutes:g} minutes"
    for m, v, u, note in (
        ("n_jobs", s.n_jobs, "jobs", ""),
        ("n_jobs_started", s.n_jobs_started, "jobs", ""),
        ("n_jobs_never_started", s.n_jobs_never_started, "jobs", ""),
        ("n_jobs_running", s.n_jobs_running, "jobs", ""),
        ("n_jobs_gpu_unknown", s.n_jobs_gpu_unknown, "jobs", "left out of GPU-hours"),
        ("n_grid_searches", s.n_grid_searches, "searches", ""),
        ("gpu_hours", s.gpu_hours, "GPU-hours", ""),
        ("gpu_days", s.gpu_days, "GPU-days", ""),
        ("gpu_years", s.gpu_years, "GPU-years", "365.25-day years"),
        ("span_days", s.span_days, "days", "first start to last end"),
        ("min_job_minutes", s.min_job_minutes, "minutes", ""),
        ("mean_job_hours", s.mean_job_hours, "hours", ""),
        ("median_job_hours", s.median_job_hours, "hours", ""),
        ("max_job_days", s.max_job_days, "days", ""),
        ("n_crashed_jobs", s.n_crashed_jobs, "jobs", crash),
        (
            "n_jobs_implausible",
            s.n_jobs_implausible,
            "jobs",
            "kept in the totals" if s.include_implausible else "left out of every total",
        ),
        ("implausible_gpu_hours", s.implausible_gpu_hours, "GPU-hours", ""),
        (
            "mean_concurrent_gpus",
            s.mean_concurrent_gpus,
            "GPUs",
            "GPU-hours of the jobs placed in time / their span",
        ),
        ("peak_concurrent_gpus", s.peak_concurrent_gpus, "GPUs", ""),
    ):
        add("jobs", m, v, u, note)
    for st, n in s.jobs_by_state.items():
        add("jobs_by_state", st, n, "jobs")
    for t in s.gpu_types:
        add(
            "gpu_type_share",
            t["gpu_type"],
            t["share_of_gpu_hours"],
            "fraction of GPU-hours",
            f"gpu key {t['gpu_key']}",
        )
    for r in s.rd_table:
        for m, u, note in (
            ("n_jobs", "jobs", ""),
            ("gpu_hours", "GPU-hours", ""),
            ("cloud_usd_low", "USD", price),
            ("cloud_usd_high", "USD", price),
            ("electricity_usd", "USD", f"{power}; {env}"),
            ("energy_kwh", "kWh", f"{power}; {env}"),
            ("co2e_kg", "kg", env),
            ("co2e_lbs", "lbs", env),
        ):
            add(f"rd_table:{r['label']}", m, r[m], u, note)
        for m, u in RANGE_UNITS.items():
            add(f"rd_table:{r['label']}", m, r.get(m), u, "range: see energy_inputs")
        add(f"rd_table:{r['label']}", "basis", r.get("basis"), "", "")
    ms = s.median_search or {}
    for k, u in (
        ("n_jobs", "jobs"),
        ("gpu_hours", "GPU-hours"),
        ("n_searches", "searches"),
        ("n_searches_gpu_hours_known", "searches"),
    ):
        if k in ms:
            add("median_search", k, ms[k], u, "measured: median over the grid searches")
    for section, shares, key in (
        ("gpu_chain", s.gpu_key_rules, "gpu_key_rule"),
        ("price_basis", s.price_bases, "price_basis"),
        ("power_basis", s.power_bases, "power_basis"),
    ):
        for r in shares:
            add(section, f"gpu_hours:{r[key]}", r["gpu_hours"], "GPU-hours", f"{r['n_jobs']} jobs")
            add(section, f"share:{r[key]}", r["share_of_gpu_hours"], "fraction of GPU-hours", "")
    for d in s.data_quality:
        add("data_quality", f"n_jobs:{d['item']}", d["n_jobs"], "jobs", d["note"])
        if d.get("gpu_hours") is not None:
            add("data_quality", f"gpu_hours:{d['item']}", d["gpu_hours"], "GPU-hours", d["note"])
    for c in s.comparisons:
        add(
            "comparisons",
            c["item"],
            c["n_equivalent"],
            "times",
            f"{c['lbs_co2e_each']:,.0f} lbs CO2e each",
        )
    for r in [*s.waste["categories"], s.waste["total"], s.waste.get("short_completed")]:
        if not r:
            continue
        for m, u in (
            ("n_jobs", "jobs"),
            ("n_jobs_gpu_unknown", "jobs"),
            ("gpu_hours", "GPU-hours"),
            ("cloud_usd_low", "USD"),
            ("cloud_usd_high", "USD"),
            ("energy_kwh", "kWh"),
            ("co2e_kg", "kg"),
            ("co2e_lbs", "lbs"),
            *RANGE_UNITS.items(),
        ):
            add(
                f"waste:{r['category']}",
                m,
                r.get(m),
                u,
                crash if r["category"] == "crashed" else "",
            )
    for p in a["prices"]:
        add(
            "assumptions",
            f"usd_per_gpu_hour_low:{p['gpu_key']}",
            p["usd_per_gpu_hour_low"],
            "USD per GPU-hour",
            _one_price(p, "low"),
        )
        add(
            "assumptions",
            f"usd_per_gpu_hour_high:{p['gpu_key']}",
            p["usd_per_gpu_hour_high"],
            "USD per GPU-hour",
            _one_price(p, "high"),
        )
    for p in a["power"]:
        add(
            "assumptions",
            f"power_w:{p['gpu_key']}",
            p["power_w"],
            "W per GPU",
            "; ".join(t for t in (_text(p["basis"]), _text(p["origin"]), _text(p["source"])) if t)
            if _known(p["power_w"])
            else f"no power of its own (left out of energy and CO2e); {_text(p['origin'])}",
        )
    add("assumptions", "pue", a["pue"]["value"], "ratio", _src(a["pue"]))
    add(
        "assumptions",
        "kg_co2e_per_kwh",
        a["carbon"]["kg_co2e_per_kwh"],
        "kg CO2e per kWh",
        f"{a['carbon']['region']}, {a['carbon']['year']}; {_src(a['carbon'])}",
    )
    add(
        "assumptions",
        "electricity_usd_per_kwh",
        a["electricity_usd_per_kwh"]["value"],
        "USD per kWh",
        _src(a["electricity_usd_per_kwh"]),
    )
    for k in (
        "one_model_gpu_hours",
        "tuning_round_n_jobs",
        "crash_threshold_minutes",
        "util_threshold_percent",
    ):
        v = a.get(k)
        add(
            "assumptions",
            k,
            None if v is None else v["value"],
            "" if v is None else v["unit"],
            "" if v is None else _src(v),
        )
    rows += energy_figures(s)
    rows += utilization_figures(s)
    df = pd.DataFrame(
        rows, columns=["section", "metric", "value", "unit", "assumption"], dtype=object
    )
    df["value"] = pd.Series([json_ready(v) for v in df["value"]], index=df.index, dtype=object)
    return df


def _src(d: dict[str, Any]) -> str:
    parts = [d.get("origin") or "", d.get("source") or ""]
    if d.get("as_of"):
        parts.append(f"as of {d['as_of']}")
    if d.get("note"):
        parts.append(d["note"])
    return "; ".join(p for p in parts if p)


def _one_price(p: dict[str, Any], side: str) -> str:
    if not _known(p[f"usd_per_gpu_hour_{side}"]):
        return f"no price of its own (left out of the cloud cost); {_text(p['origin'])}"
    return (
        f"{p['price_key']} {p[f'pricing_model_{side}']}, {p['price_provider']}, as of "
        f"{p[f'price_as_of_{side}']}; {p['origin']}; {p['price_source']}"
    )


def _price_text(a: dict[str, Any]) -> str:
    parts = [
        f"{p['gpu_key']} at ${p['usd_per_gpu_hour_low']:g}-${p['usd_per_gpu_hour_high']:g}/GPU-hour "
        f"({p['price_key']}, {p['price_provider']} {p['pricing_model_low']}/{p['pricing_model_high']}, "
        f"as of {p['price_as_of_low']})"
        for p in a["prices"]
        if _known(p["usd_per_gpu_hour_low"]) and _known(p["usd_per_gpu_hour_high"])
    ]
    return "; ".join(dict.fromkeys(parts))


def _power_text(a: dict[str, Any]) -> str:
    return "; ".join(
        dict.fromkeys(
            f"{p['gpu_key']} {p['power_w']:g} W ({p['basis']})"
            for p in a["power"]
            if _known(p["power_w"])
        )
    )


def _known(v: Any) -> bool:
    """A number that is neither None nor NaN."""
    return v is not None and v == v


def _text(v: Any) -> str:
    """Text of an optional value: "" for None or NaN."""
    return str(v) if _known(v) else ""
