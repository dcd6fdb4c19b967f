"""The case-study summary of a project: one call, one documented result.

``summarize(jobs, assumptions)`` takes a job table (any rows of the store)
and returns a :class:`Summary`: the case-study figures (jobs, grid searches,
GPU-hours/days/years, span, job lengths, crashes, states, GPU types,
concurrency), the paper's Table 4 (one model, one tuning round, all R&D),
energy and CO2e with familiar comparisons, waste, and every assumption
behind them. ``Summary.to_dict()`` is the stable JSON documented in
docs/summary-json.md; ``figures()`` is the long form (one row per figure);
``tables()`` the sections for text and Markdown.

Rules (all documented in docs/summarize.md):

- Rows: :func:`rdcost.analysis.linking.compute_jobs` only. GPU-hours of a job =
  n_gpus x elapsed_s / 3600; a job that never started has none; a started
  job with unknown n_gpus is counted in ``n_jobs_gpu_unknown`` and left out
  of every GPU-hour total (never taken as 0 GPUs). RUNNING jobs count with
  their elapsed time at export and are flagged.
- Crashed: a started job, not running, shorter than the crash threshold.
- Waste: each job in at most one category, in this order: crashed, failed
  (FAILED, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL), cancelled, timed_out
  (TIMEOUT, DEADLINE); categories add up to the waste total.
- One model (unless given) = the median GPU-hours of the final-size runs:
  completed jobs whose GPU-hours are at or above the 90th percentile of
  completed jobs' GPU-hours. One tuning round (unless given) = the median
  number of jobs per grid search, rounded to a whole job.
- The one-model and tuning-round rows are priced at the project's
  GPU-hour-weighted mean price and power (the same as each job's own when all
  jobs share one price and power, as with ``--assumptions paper``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rdcost.analysis import costing, reference
from rdcost.analysis.assumptions import Assumptions, Sourced, job_power, job_prices
from rdcost.analysis.grouping import GroupingParams, find_groups
from rdcost.analysis.linking import compute_jobs
from rdcost.errors import AssumptionError
from rdcost.output.render import iso, json_ready

SCHEMA_VERSION = 1
FAILED_STATES = ("FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL")
CANCELLED_STATES = ("CANCELLED",)
TIMEOUT_STATES = ("TIMEOUT", "DEADLINE")
WASTE_CATEGORIES = ("crashed", "failed", "cancelled", "timed_out")
FINAL_SIZE_QUANTILE = 0.9
ONE_MODEL_RULE = ("median GPU-hours of the final-size runs: COMPLETED jobs at or above the 90th "
                  "percentile of completed jobs' GPU-hours")
TUNING_ROUND_RULE = "median number of jobs per grid search, rounded to a whole job"
MONEY = ("cloud_usd_low", "cloud_usd_high", "electricity_usd")
IMPACT = ("energy_kwh", "co2e_kg", "co2e_lbs")


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
    gpu_hours: float
    gpu_days: float
    gpu_years: float
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
    gpu_type_share: dict[str, float]
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
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {"schema_version": SCHEMA_VERSION}
        d.update(asdict(self))
        return json_ready(d)

    def figures(self) -> pd.DataFrame:
        """One row per figure: section, metric, value, unit, assumption (the CSV form)."""
        return _figures(self)


# -- per-job table -------------------------------------------------------------

def job_costs(jobs: pd.DataFrame, a: Assumptions, today: pd.Timestamp) -> pd.DataFrame:
    """Per compute job: GPU-hours, GPU key, price, power, cost, energy, CO2e, waste category.

    ``a`` must be resolved for the year (``a.for_year``). Money and impact
    columns are 0 for jobs with no GPU time, null where the GPU-hours, price
    or power are unknown.
    """
    j = pd.DataFrame(index=jobs.index)
    started = jobs["start_time"].notna()
    elapsed = pd.to_numeric(jobs["elapsed_s"], errors="raise").astype("float64")
    n_gpus = pd.to_numeric(jobs["n_gpus"], errors="raise").astype("float64")
    j["is_started"] = started
    j["is_running"] = jobs["state"].astype("string").eq("RUNNING").fillna(False).astype(bool)
    j["elapsed_s"] = elapsed.where(started)
    gh = costing.gpu_hours(n_gpus, elapsed).where(started, 0.0)
    j["gpu_hours"] = gh
    j["gpu_type"] = jobs["gpu_type"].astype("string")
    j["gpu_key"] = reference.gpu_keys(jobs["gpu_type"], dict(a.gpu_aliases))
    j = j.join(job_prices(a, j["gpu_key"], jobs["start_time"], today))
    j = j.join(job_power(a, j["gpu_key"]))
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
    state = jobs["state"].astype("string")
    cat = pd.Series(pd.NA, index=jobs.index, dtype="string")
    cat = cat.mask(state.isin(TIMEOUT_STATES).fillna(False).astype(bool), "timed_out")
    cat = cat.mask(state.isin(CANCELLED_STATES).fillna(False).astype(bool), "cancelled")
    cat = cat.mask(state.isin(FAILED_STATES).fillna(False).astype(bool), "failed")
    cat = cat.mask(crashed, "crashed")
    j["is_crashed"] = crashed
    j["waste_category"] = cat
    return j


# -- the summary -------------------------------------------------------------------

def summarize(jobs: pd.DataFrame, assumptions: Assumptions | None = None, *,
              project: str | None = None, today: pd.Timestamp | None = None,
              on_missing: str = "raise", grouping: GroupingParams | None = None) -> Summary:
    """Summarize a job table (e.g. one project's rows of the store).

    ``today`` is the date for ``price_date = "today"`` (default: now).
    ``on_missing``: ``raise`` (default) raises :class:`AssumptionError` when a
    GPU type with GPU time has no price or power; ``unknown`` leaves the
    figures that need it unknown (null) and says so in ``notes``.
    ``grouping`` tunes how grid searches are found (:func:`rdcost.analysis.grouping.find_groups`).
    """
    if on_missing not in ("raise", "unknown"):
        raise ValueError(f"on_missing must be raise or unknown, got {on_missing!r}")
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    cj = compute_jobs(jobs)
    notes: list[str] = []
    starts = pd.to_datetime(cj["start_time"], utc=True)
    year = None if starts.notna().sum() == 0 else int(starts.dropna().median().year)
    a = a0.for_year(year)
    j = job_costs(cj, a, today)
    _check_missing(j, on_missing, notes)

    started = j["is_started"]
    known = started & j["gpu_hours"].notna()
    gh_total = float(j.loc[known, "gpu_hours"].sum())
    n_gpu_unknown = int((started & pd.to_numeric(cj["n_gpus"]).isna()).sum())
    n_elapsed_unknown = int((started & j["elapsed_s"].isna()).sum())
    if n_gpu_unknown:
        notes.append(f"{n_gpu_unknown:,} started jobs have an unknown GPU count; they are counted "
                     "as jobs but left out of GPU-hours, cost, energy and CO2e")
    n_running = int((started & j["is_running"]).sum())
    if n_running:
        notes.append(f"{n_running:,} jobs were still RUNNING at export; their time is counted up to the export")

    # job lengths and span
    el = j.loc[started, "elapsed_s"].dropna()
    end_eff = pd.to_datetime(cj["end_time"], utc=True)
    end_eff = end_eff.fillna(starts + pd.to_timedelta(j["elapsed_s"], unit="s"))
    first, last = starts.min(), end_eff[started].max()
    span_days = None if pd.isna(first) or pd.isna(last) else (last - first).total_seconds() / 86_400
    conc = costing.concurrency(starts[known], end_eff[known], pd.to_numeric(cj.loc[known, "n_gpus"]))

    # grid searches, one model, tuning round
    groups = find_groups(cj, grouping)["search_id"]
    per_search = groups.dropna().value_counts()
    one_model = a.one_model_gpu_hours or _one_model(cj, j)
    tuning = a.tuning_round_n_jobs or _tuning_round(per_search)
    n_round = None if tuning is None else _whole(tuning.value)

    totals = _sums(j, known)
    eff = _effective_rates(j, known, totals, gh_total)
    rd = []
    for label, n, gh in (("one model", 1, None if one_model is None else one_model.value),
                         ("one tuning round", n_round,
                          None if one_model is None or tuning is None else one_model.value * tuning.value)):
        rd.append(_scaled_row(label, n, gh, eff, a))
    rd.append({"label": "all R&D", "n_jobs": len(cj), "gpu_hours": gh_total, **totals})

    waste = _waste(j, known, gh_total)
    comps = _comparisons(totals["co2e_lbs"])
    states = cj["state"].astype("string").fillna("UNKNOWN").value_counts()
    types = _gpu_types(j, known, gh_total)
    if j["is_price_before_known"].any():
        notes.append(f"{int(j['is_price_before_known'].sum()):,} jobs ran before the earliest known price "
                     "of their GPU; the earliest known price is used")

    return Summary(
        project=project, n_jobs=len(cj), n_jobs_started=int(started.sum()),
        n_jobs_never_started=int((~started).sum()), n_jobs_running=n_running,
        n_jobs_gpu_unknown=n_gpu_unknown, n_jobs_elapsed_unknown=n_elapsed_unknown,
        n_grid_searches=int(len(per_search)), n_jobs_in_grid_searches=int(per_search.sum()),
        gpu_hours=gh_total, gpu_days=gh_total / costing.HOURS_PER_DAY,
        gpu_years=gh_total / costing.HOURS_PER_DAY / costing.DAYS_PER_YEAR,
        first_start_time=iso(first), last_end_time=iso(last), span_days=span_days,
        min_job_minutes=None if el.empty else float(el.min()) / costing.S_PER_MINUTE,
        mean_job_hours=None if el.empty else float(el.mean()) / costing.S_PER_HOUR,
        median_job_hours=None if el.empty else float(el.median()) / costing.S_PER_HOUR,
        max_job_days=None if el.empty else float(el.max()) / 86_400,
        crash_threshold_minutes=a.crash_threshold_minutes.value, n_crashed_jobs=int(j["is_crashed"].sum()),
        jobs_by_state={str(k): int(v) for k, v in states.items()},
        gpu_type_share={t["gpu_type"]: t["share_of_gpu_hours"] for t in types},
        gpu_types=types,
        mean_concurrent_gpus=conc.mean_concurrent_gpus, peak_concurrent_gpus=conc.peak_concurrent_gpus,
        peak_concurrent_time=iso(conc.peak_time),
        one_model_gpu_hours=None if one_model is None else one_model.value,
        tuning_round_n_jobs=n_round,
        rd_table=rd, **totals, comparisons=comps, waste=waste,
        assumptions=_assumptions_used(a, j, started, one_model, tuning, eff, year),
        notes=notes,
    )


def _check_missing(j: pd.DataFrame, on_missing: str, notes: list[str]) -> None:
    needs = j["gpu_hours"] > 0
    problems = []
    for what, miss in (("price", needs & (j["usd_per_gpu_hour_low"].isna() | j["usd_per_gpu_hour_high"].isna())),
                       ("power", needs & j["power_w"].isna())):
        if miss.any():
            types = j.loc[miss, "gpu_type"].fillna("(no GPU type)").value_counts()
            listed = ", ".join(f"{t} ({n:,} jobs)" for t, n in types.items())
            problems.append(f"no {what} for GPU type(s) {listed}")
    if not problems:
        return
    if on_missing == "raise":
        raise AssumptionError("; ".join(problems),
                              hint="map the type to a known GPU (--gpu-alias NAME=KEY), or give the value "
                                   "(--usd-per-gpu-hour-low/-high, --watts-per-gpu, or [prices.KEY] / "
                                   "[gpu_power.KEY] in an --assumptions TOML file); "
                                   "--on-missing unknown shows those figures as unknown")
    notes.extend(p + "; figures that need it are unknown" for p in problems)


def _sum(s: pd.Series) -> float | None:
    """Sum that stays unknown when any term is unknown."""
    return None if s.isna().any() else float(s.sum())


def _sums(j: pd.DataFrame, rows: pd.Series) -> dict[str, float | None]:
    return {c: _sum(j.loc[rows, c]) for c in (*MONEY, *IMPACT)}


def _effective_rates(j: pd.DataFrame, known: pd.Series, totals: dict[str, Any], gh: float) -> dict[str, Any]:
    """GPU-hour-weighted mean price and power of the project's GPU time."""
    if gh <= 0:
        return {"usd_per_gpu_hour_low": None, "usd_per_gpu_hour_high": None, "power_w": None}
    has = known & (j["gpu_hours"] > 0)
    w = j.loc[has, "gpu_hours"]
    power = j.loc[has, "power_w"]
    return {"usd_per_gpu_hour_low": None if totals["cloud_usd_low"] is None else totals["cloud_usd_low"] / gh,
            "usd_per_gpu_hour_high": None if totals["cloud_usd_high"] is None else totals["cloud_usd_high"] / gh,
            "power_w": None if power.isna().any() else float((w * power).sum() / w.sum())}


def _scaled_row(label: str, n_jobs: float | None, gh: float | None, eff: dict[str, Any],
                a: Assumptions) -> dict[str, Any]:
    def mul(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else x * y
    kwh = None if gh is None or eff["power_w"] is None else costing.energy_kwh(gh, eff["power_w"], a.pue.value)
    kg = mul(kwh, a.carbon.kg_co2e_per_kwh)
    return {"label": label, "n_jobs": n_jobs, "gpu_hours": gh,
            "cloud_usd_low": mul(gh, eff["usd_per_gpu_hour_low"]),
            "cloud_usd_high": mul(gh, eff["usd_per_gpu_hour_high"]),
            "electricity_usd": mul(kwh, a.electricity_usd_per_kwh.value),
            "energy_kwh": kwh, "co2e_kg": kg, "co2e_lbs": None if kg is None else costing.kg_to_lbs(kg)}


def _one_model(cj: pd.DataFrame, j: pd.DataFrame) -> Sourced | None:
    done = (cj["state"].astype("string") == "COMPLETED").fillna(False).astype(bool) & (j["gpu_hours"] > 0)
    gh = j.loc[done, "gpu_hours"].dropna()
    if gh.empty:
        return None
    final = gh[gh >= gh.quantile(FINAL_SIZE_QUANTILE)]
    return Sourced(float(final.median()), "GPU-hours", ONE_MODEL_RULE, "derived from the data",
                   note=f"{len(final):,} final-size runs of {len(gh):,} completed jobs")


def _tuning_round(per_search: pd.Series) -> Sourced | None:
    if per_search.empty:
        return None
    med = float(per_search.median())
    return Sourced(float(math.floor(med + 0.5)), "jobs", TUNING_ROUND_RULE, "derived from the data",
                   note=f"median {med:g} jobs over {len(per_search):,} grid searches")


def _waste(j: pd.DataFrame, known: pd.Series, gh_total: float) -> dict[str, Any]:
    rows = []
    for cat in WASTE_CATEGORIES:
        m = j["waste_category"].eq(cat).fillna(False).astype(bool)
        rows.append({"category": cat, "n_jobs": int(m.sum()),
                     "gpu_hours": float(j.loc[m & known, "gpu_hours"].sum()), **_sums(j, m & known)})
    m = j["waste_category"].notna()
    total = {"category": "total", "n_jobs": int(m.sum()),
             "gpu_hours": float(j.loc[m & known, "gpu_hours"].sum()), **_sums(j, m & known)}
    share = total["gpu_hours"] / gh_total if gh_total > 0 else None
    return {"categories": rows, "total": total, "share_of_gpu_hours": share}


def _comparisons(co2e_lbs: float | None) -> list[dict[str, Any]]:
    t = reference.comparisons(paper_only=True)
    out = []
    for r in t.itertuples(index=False):
        out.append({"item": r.item, "lbs_co2e_each": float(r.value_lbs_co2e), "unit": r.unit,
                    "n_equivalent": None if co2e_lbs is None else co2e_lbs / float(r.value_lbs_co2e),
                    "source": r.source})
    return out


def _gpu_types(j: pd.DataFrame, known: pd.Series, gh_total: float) -> list[dict[str, Any]]:
    t = j.assign(gpu_type=j["gpu_type"].fillna("unknown"), gpu_key=j["gpu_key"].fillna("unknown"))
    t = t[known & (t["gpu_hours"] > 0)]
    out = []
    for (gtype, key), g in t.groupby(["gpu_type", "gpu_key"], sort=False):
        gh = float(g["gpu_hours"].sum())
        out.append({"gpu_type": str(gtype), "gpu_key": str(key), "n_jobs": len(g), "gpu_hours": gh,
                    "share_of_gpu_hours": gh / gh_total if gh_total > 0 else None})
    return sorted(out, key=lambda r: -r["gpu_hours"])


def _assumptions_used(a: Assumptions, j: pd.DataFrame, started: pd.Series, one_model: Sourced | None,
                      tuning: Sourced | None, eff: dict[str, Any], year: int | None) -> dict[str, Any]:
    used = j[started & (j["gpu_hours"] > 0)]
    prices = []
    cols = ["gpu_key", "price_key", "price_rule", "usd_per_gpu_hour_low", "usd_per_gpu_hour_high",
            "price_provider", "pricing_model_low", "pricing_model_high", "price_as_of_low", "price_as_of_high",
            "price_source", "price_note"]
    if not used.empty:
        p = used.assign(gpu_key=used["gpu_key"].fillna("unknown"))[cols + ["gpu_hours", "is_price_before_known"]]
        for key_vals, g in p.groupby(cols, dropna=False, sort=False):
            row = dict(zip(cols, key_vals, strict=True))
            row["n_jobs"] = len(g)
            row["gpu_hours"] = float(g["gpu_hours"].sum())
            row["n_jobs_before_known_price"] = int(g["is_price_before_known"].sum())
            pk = row["price_key"]
            notes = [row.pop("price_note")]
            if isinstance(pk, str) and pk in a.prices and row["price_rule"] == "fixed":
                row["origin"] = a.prices[pk].origin
                notes.append(a.prices[pk].note)
            else:
                row["origin"] = f"refdata cloud_prices.csv ({a.price_date.replace('_', ' ')} prices)"
            row["note"] = "; ".join(n for n in notes if isinstance(n, str) and n)
            prices.append(row)
    power = []
    if not used.empty:
        pw = used.assign(gpu_key=used["gpu_key"].fillna("unknown"))
        for key_vals, g in pw.groupby(["gpu_key", "power_w", "power_basis", "power_source", "power_rule"],
                                      dropna=False, sort=False):
            k, w, basis, src, rule = key_vals
            power.append({"gpu_key": k, "power_w": w, "basis": basis, "source": src, "origin": rule,
                          "n_jobs": len(g)})
    return assumptions_block(a, prices, power, one_model, tuning, eff, year)


def assumptions_block(a: Assumptions, prices: list[dict[str, Any]], power: list[dict[str, Any]],
                      one_model: Sourced | None, tuning: Sourced | None, eff: dict[str, Any],
                      year: int | None) -> dict[str, Any]:
    """The ``assumptions`` of the summary JSON: the prices and power rows actually used,
    and every other assumption with its origin and source (one layout for every engine)."""
    c = a.carbon
    return {
        "name": a.name, "layers": list(a.layers), "year": year,
        "price_provider": a.price_provider, "price_date": a.price_date, "power_basis": a.power_basis,
        "gpu_aliases": dict(a.gpu_aliases), "cloud_equivalents": dict(a.cloud_equivalents),
        "prices": prices, "power": power,
        "mean_usd_per_gpu_hour_low": eff["usd_per_gpu_hour_low"],
        "mean_usd_per_gpu_hour_high": eff["usd_per_gpu_hour_high"],
        "mean_power_w": eff["power_w"],
        "pue": asdict(a.pue),
        "carbon": {"kg_co2e_per_kwh": c.kg_co2e_per_kwh, "lbs_co2e_per_kwh": c.lbs_co2e_per_kwh,
                   "region": c.region, "year": c.year, "source": c.source, "origin": c.origin,
                   "as_of": c.as_of, "note": c.note},
        "electricity_usd_per_kwh": asdict(a.electricity_usd_per_kwh),
        "one_model_gpu_hours": None if one_model is None else asdict(one_model),
        "tuning_round_n_jobs": None if tuning is None else asdict(tuning),
        "crash_threshold_minutes": asdict(a.crash_threshold_minutes),
    }


# -- long and sectioned forms ----------------------------------------------------------

def _figures(s: Summary) -> pd.DataFrame:
    a = s.assumptions
    price = _price_text(a)
    power = _power_text(a)
    env = (f"PUE {a['pue']['value']:g}; {a['carbon']['kg_co2e_per_kwh']:.4g} kg CO2e/kWh "
           f"({a['carbon']['region']}, {a['carbon']['year']}); ${a['electricity_usd_per_kwh']['value']:g}/kWh")
    rows: list[tuple[str, str, Any, str, str]] = []

    def add(section: str, metric: str, value: Any, unit: str, assumption: str = "") -> None:
        rows.append((section, metric, value, unit, assumption))

    crash = f"shorter than {s.crash_threshold_minutes:g} minutes"
    for m, v, u, note in (
            ("n_jobs", s.n_jobs, "jobs", ""), ("n_jobs_started", s.n_jobs_started, "jobs", ""),
            ("n_jobs_never_started", s.n_jobs_never_started, "jobs", ""),
            ("n_jobs_running", s.n_jobs_running, "jobs", ""),
            ("n_jobs_gpu_unknown", s.n_jobs_gpu_unknown, "jobs", "left out of GPU-hours"),
            ("n_grid_searches", s.n_grid_searches, "searches", ""),
            ("gpu_hours", s.gpu_hours, "GPU-hours", ""), ("gpu_days", s.gpu_days, "GPU-days", ""),
            ("gpu_years", s.gpu_years, "GPU-years", "365.25-day years"),
            ("span_days", s.span_days, "days", "first start to last end"),
            ("min_job_minutes", s.min_job_minutes, "minutes", ""),
            ("mean_job_hours", s.mean_job_hours, "hours", ""),
            ("median_job_hours", s.median_job_hours, "hours", ""),
            ("max_job_days", s.max_job_days, "days", ""),
            ("n_crashed_jobs", s.n_crashed_jobs, "jobs", crash),
            ("mean_concurrent_gpus", s.mean_concurrent_gpus, "GPUs", "GPU-hours / span"),
            ("peak_concurrent_gpus", s.peak_concurrent_gpus, "GPUs", "")):
        add("jobs", m, v, u, note)
    for st, n in s.jobs_by_state.items():
        add("jobs_by_state", st, n, "jobs")
    for t in s.gpu_types:
        add("gpu_type_share", t["gpu_type"], t["share_of_gpu_hours"], "fraction of GPU-hours",
            f"gpu key {t['gpu_key']}")
    for r in s.rd_table:
        for m, u, note in (("n_jobs", "jobs", ""), ("gpu_hours", "GPU-hours", ""),
                           ("cloud_usd_low", "USD", price), ("cloud_usd_high", "USD", price),
                           ("electricity_usd", "USD", f"{power}; {env}"),
                           ("energy_kwh", "kWh", f"{power}; {env}"), ("co2e_kg", "kg", env),
                           ("co2e_lbs", "lbs", env)):
            add(f"rd_table:{r['label']}", m, r[m], u, note)
    for c in s.comparisons:
        add("comparisons", c["item"], c["n_equivalent"], "times", f"{c['lbs_co2e_each']:,.0f} lbs CO2e each")
    for r in [*s.waste["categories"], s.waste["total"]]:
        for m, u in (("n_jobs", "jobs"), ("gpu_hours", "GPU-hours"), ("cloud_usd_low", "USD"),
                     ("cloud_usd_high", "USD"), ("energy_kwh", "kWh"), ("co2e_kg", "kg"),
                     ("co2e_lbs", "lbs")):
            add(f"waste:{r['category']}", m, r[m], u, crash if r["category"] == "crashed" else "")
    for p in a["prices"]:
        add("assumptions", f"usd_per_gpu_hour_low:{p['gpu_key']}", p["usd_per_gpu_hour_low"], "USD per GPU-hour",
            _one_price(p, "low"))
        add("assumptions", f"usd_per_gpu_hour_high:{p['gpu_key']}", p["usd_per_gpu_hour_high"],
            "USD per GPU-hour", _one_price(p, "high"))
    for p in a["power"]:
        add("assumptions", f"power_w:{p['gpu_key']}", p["power_w"], "W per GPU",
            f"{p['basis']}; {p['origin']}; {p['source']}")
    add("assumptions", "pue", a["pue"]["value"], "ratio", _src(a["pue"]))
    add("assumptions", "kg_co2e_per_kwh", a["carbon"]["kg_co2e_per_kwh"], "kg CO2e per kWh",
        f"{a['carbon']['region']}, {a['carbon']['year']}; {_src(a['carbon'])}")
    add("assumptions", "electricity_usd_per_kwh", a["electricity_usd_per_kwh"]["value"], "USD per kWh",
        _src(a["electricity_usd_per_kwh"]))
    for k in ("one_model_gpu_hours", "tuning_round_n_jobs", "crash_threshold_minutes"):
        v = a[k]
        add("assumptions", k, None if v is None else v["value"], "" if v is None else v["unit"],
            "" if v is None else _src(v))
    df = pd.DataFrame(rows, columns=["section", "metric", "value", "unit", "assumption"], dtype=object)
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
    return (f"{p['price_key']} {p[f'pricing_model_{side}']}, {p['price_provider']}, as of "
            f"{p[f'price_as_of_{side}']}; {p['origin']}; {p['price_source']}")


def _price_text(a: dict[str, Any]) -> str:
    parts = [f"{p['gpu_key']} at ${p['usd_per_gpu_hour_low']:g}-${p['usd_per_gpu_hour_high']:g}/GPU-hour "
             f"({p['price_key']}, {p['price_provider']} {p['pricing_model_low']}/{p['pricing_model_high']}, "
             f"as of {p['price_as_of_low']})" for p in a["prices"] if p["usd_per_gpu_hour_low"] == p["usd_per_gpu_hour_low"]]
    return "; ".join(dict.fromkeys(parts))


def _power_text(a: dict[str, Any]) -> str:
    return "; ".join(dict.fromkeys(f"{p['gpu_key']} {p['power_w']:g} W ({p['basis']})"
                                   for p in a["power"] if p["power_w"] == p["power_w"]))


def _whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x



