"""The summary from the partials of every partition: the one place every figure of
:class:`rdcost.analysis.summary.result.Summary` is finished.

Partials are merged in partition order: counts and exact sums are added,
medians and the 90th percentile come from merged value counts, the concurrency
sweep runs over the merged instants, and grid searches follow
:func:`rdcost.analysis.grouping.search_labels` on the merged integer codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis import costing, reference
from rdcost.analysis.assumptions import PRICE_COLUMNS, Assumptions, Sourced
from rdcost.analysis.energy.section import energy_section, per_gpu_hour, scaled_ranges
from rdcost.analysis.grouping import GroupingParams, search_ids, search_labels
from rdcost.analysis.summary.data_quality import (
    POWER_BASES,
    PRICE_BASES,
    RULE_ORDER,
    _shares,
    _with_bases,
    data_quality,
    implausible_rows,
)
from rdcost.analysis.summary.exact import exact_float, median, merge_counts, quantile
from rdcost.analysis.summary.job_costs import IMPACT, MONEY, SHORT_COMPLETED, WASTE_CATEGORIES
from rdcost.analysis.summary.partial import COUNT_NAMES, N_SEG, SEGMENTS, SUM_COLUMNS, Partial
from rdcost.analysis.summary.result import (
    FINAL_SIZE_QUANTILE,
    ONE_MODEL_RULE,
    TUNING_ROUND_RULE,
    Summary,
)
from rdcost.analysis.utilization.section import Searches, utilization_section
from rdcost.errors import AssumptionError
from rdcost.output.render import iso
from rdcost.plural import plural

#: A (GPU key, price) row of the assumptions used: the price columns of a job's costs.
PRICE_ROW_COLUMNS = ["gpu_key", *PRICE_COLUMNS[: PRICE_COLUMNS.index("price_note") + 1]]
POWER_ROW_COLUMNS = ["gpu_key", "power_w", "power_basis", "power_source", "power_rule"]


def combine(
    parts: Sequence[Partial],
    a: Assumptions,
    year: int | None,
    *,
    project: str | None,
    on_missing: str,
    params: GroupingParams,
    include_implausible: bool = False,
    links: Mapping[str, int] | None = None,
) -> Summary:
    """The summary from the partials of every partition (in any order: they are sorted).
    ``links``: how many records linking folded into others (linked runs, CSV repeats)."""
    parts = sorted(parts, key=lambda p: p.part)
    n = sum(p.n for p in parts)
    cnt = {k: sum(p.counts.get(k, 0) for p in parts) for k in COUNT_NAMES}
    have_combos = [p.combos for p in parts if p.combos is not None and len(p.combos)]
    combos = pd.concat(have_combos, ignore_index=True) if have_combos else None
    notes: list[str] = []
    check_missing(combos, on_missing, notes)
    s = _Sums(parts)
    gh_total = s.gh(range(N_SEG))
    el = merge_counts([p.el_counts for p in parts])
    n_el = int(el.sum()) if len(el) else 0
    first, last = _span(parts)
    conc = _concurrency(parts)
    searches = _searches(parts, params)
    keep = searches.n_jobs > 0
    sizes, search_gh = searches.n_jobs[keep].astype(np.int64), searches.gpu_hours[keep]
    per_search = pd.Series(sizes, dtype="int64")
    one_model = a.one_model_gpu_hours or _one_model(merge_counts([p.done_gh for p in parts]))
    tuning = a.tuning_round_n_jobs or _tuning_round(per_search)
    totals = s.money(range(N_SEG))
    # unknown, not 0, when no counted job has known GPU-hours but some have unknown ones
    n_gh_unknown = sum(sum(p.gh_unknown) for p in parts if p.gh_unknown)
    n_gh_known = sum(sum(p.cat_n) for p in parts) - n_gh_unknown
    all_unknown = n_gh_known == 0 and n_gh_unknown > 0
    gh_shown: float | None = None if all_unknown else gh_total
    if all_unknown:
        totals = dict.fromkeys(totals)
    eff = _effective_rates(totals, gh_total, parts)
    eff.update(per_gpu_hour(a, totals, gh_total))
    rd = _rd_table(one_model, tuning, per_search, search_gh, eff, a, n, gh_shown, totals)
    types = _gpu_types(combos, gh_total)
    implausible = implausible_rows(parts)
    implausible_gh = exact_float(sum(p.implausible_gh for p in parts))
    el_min = None if not n_el else float(el.index.min())
    el_max = None if not n_el else float(el.index.max())
    return Summary(
        project=project,
        n_jobs=n,
        n_jobs_started=cnt["started"],
        n_jobs_never_started=n - cnt["started"],
        n_jobs_running=cnt["running"],
        n_jobs_gpu_unknown=cnt["gpu_unknown"],
        n_jobs_elapsed_unknown=cnt["elapsed_unknown"],
        n_grid_searches=int(len(per_search)),
        n_jobs_in_grid_searches=int(per_search.sum()),
        gpu_hours=gh_shown,
        gpu_days=None if gh_shown is None else gh_shown / costing.HOURS_PER_DAY,
        gpu_years=None
        if gh_shown is None
        else gh_shown / costing.HOURS_PER_DAY / costing.DAYS_PER_YEAR,
        first_start_time=iso(first),
        last_end_time=iso(last),
        span_days=None
        if pd.isna(first) or pd.isna(last)
        else (last - first).total_seconds() / 86_400,
        min_job_minutes=None if el_min is None else el_min / costing.S_PER_MINUTE,
        mean_job_hours=None
        if not n_el
        else exact_float(sum(p.el_sum for p in parts)) / n_el / costing.S_PER_HOUR,
        median_job_hours=None if not n_el else _hours(median(el)),
        max_job_days=None if el_max is None else el_max / 86_400,
        crash_threshold_minutes=a.crash_threshold_minutes.value,
        n_crashed_jobs=cnt["crashed"],
        jobs_by_state=_states(parts),
        gpu_type_share=_type_shares(types),
        gpu_types=types,
        mean_concurrent_gpus=conc.mean_concurrent_gpus,
        peak_concurrent_gpus=conc.peak_concurrent_gpus,
        peak_concurrent_time=iso(conc.peak_time),
        one_model_gpu_hours=None if one_model is None else one_model.value,
        tuning_round_n_jobs=None if tuning is None else _whole(tuning.value),
        rd_table=rd,
        **totals,
        comparisons=_comparisons(totals["co2e_lbs"]),
        waste=_waste(s, parts, gh_total),
        assumptions=_assumptions_used(a, combos, one_model, tuning, eff, year, on_missing),
        n_jobs_implausible=cnt["implausible"],
        implausible_gpu_hours=implausible_gh,
        include_implausible=include_implausible,
        median_search=_median_search(per_search, search_gh),
        gpu_key_rules=_shares(combos, "gpu_key_rule", gh_total, RULE_ORDER),
        price_bases=_shares(_with_bases(combos), "price_basis", gh_total, PRICE_BASES),
        power_bases=_shares(_with_bases(combos), "power_basis_kind", gh_total, POWER_BASES),
        data_quality=data_quality(cnt, combos, implausible_gh, include_implausible, links or {}),
        implausible_jobs=implausible,
        notes=notes + _notes(cnt),
        energy=energy_section(
            [p.energy for p in parts], a, totals, gh_total, [t["gpu_key"] for t in types]
        ),
        utilization=utilization_section(
            [p.util for p in parts],
            a.util_threshold_percent.value,
            gh_shown,
            searches,
            SUM_COLUMNS,
        ),
    )


class _Sums:
    """Exact sums of the partials per segment; a money or impact total over the jobs whose
    value is known (unknown only when no job with GPU time has one)."""

    def __init__(self, parts: Sequence[Partial]):
        self.parts = parts

    def _sum(self, c: str, segs: Sequence[int] | range) -> int:
        return sum(p.sums[c][s] for p in self.parts for s in segs)

    def n_unknown(self, c: str, segs: Sequence[int] | range) -> int:
        return sum(p.nans[c][s] for p in self.parts for s in segs)

    def gh(self, segs: Sequence[int] | range) -> float:
        return exact_float(self._sum("gpu_hours", segs))

    def money(self, segs: Sequence[int] | range) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for c in (*MONEY, *IMPACT):
            total = self._sum(c, segs)
            out[c] = None if total == 0 and self.n_unknown(c, segs) else exact_float(total)
        return out


def _span(parts: Sequence[Partial]) -> tuple[Any, Any]:
    firsts = [
        p.first_start for p in parts if p.first_start is not None and not pd.isna(p.first_start)
    ]
    lasts = [p.last_end for p in parts if p.last_end is not None and not pd.isna(p.last_end)]
    return (min(firsts) if firsts else pd.NaT), (max(lasts) if lasts else pd.NaT)


def _states(parts: Sequence[Partial]) -> dict[str, int]:
    have = [p.states for p in parts if p.states is not None]
    if not have:
        return {}
    st = pd.concat(have, ignore_index=True)
    st = st.groupby("state", sort=False).agg(n=("n", "sum"), first=("first", "min"))
    st = st.assign(neg=-st["n"]).sort_values(["neg", "first"], kind="stable")
    return {str(k): int(v) for k, v in st["n"].items()}


def _effective_rates(
    totals: dict[str, Any], gh_total: float, parts: Sequence[Partial]
) -> dict[str, Any]:
    """The GPU-hour-weighted mean price and power of the project's GPU time."""
    if gh_total <= 0:
        return {"usd_per_gpu_hour_low": None, "usd_per_gpu_hour_high": None, "power_w": None}
    wp = exact_float(sum(p.wp_sum for p in parts))
    return {
        "usd_per_gpu_hour_low": None
        if totals["cloud_usd_low"] is None
        else totals["cloud_usd_low"] / gh_total,
        "usd_per_gpu_hour_high": None
        if totals["cloud_usd_high"] is None
        else totals["cloud_usd_high"] / gh_total,
        "power_w": None if wp == 0 else wp / gh_total,
    }


def _rd_table(
    one_model: Sourced | None,
    tuning: Sourced | None,
    per_search: pd.Series,
    search_gh: np.ndarray,
    eff: dict[str, Any],
    a: Assumptions,
    n: int,
    gh_total: float | None,
    totals: dict[str, Any],
) -> list[dict[str, Any]]:
    """One model, one tuning round (the paper's definition: one model x the jobs of a
    typical search), the median measured search, and all of R&D; each row says whether
    it is measured, derived from the data or a preset's constant."""
    n_round = None if tuning is None else _whole(tuning.value)
    rows = [
        {
            **_scaled_row("one model", 1, None if one_model is None else one_model.value, eff, a),
            "basis": _basis(one_model, "measured: median final-size run"),
        },
        {
            **_scaled_row(
                "one tuning round",
                n_round,
                None if one_model is None or tuning is None else one_model.value * tuning.value,
                eff,
                a,
            ),
            "basis": "one model x jobs per search, " + _basis(tuning, "measured: median"),
        },
    ]
    med = _median_search(per_search, search_gh)
    if med["n_jobs"] is not None:
        rows.append(
            {
                **_scaled_row("median search (measured)", med["n_jobs"], med["gpu_hours"], eff, a),
                "basis": "measured",
            }
        )
    rows.append(
        {"label": "all R&D", "n_jobs": n, "gpu_hours": gh_total, **totals, "basis": "measured"}
    )
    return rows


def _basis(v: Sourced | None, derived: str) -> str:
    """Where a one-model or tuning-round figure comes from, as the R&D table says it:
    ``derived`` when from the data, else its origin (``preset paper``, ``option ...``)."""
    if v is None:
        return "unknown"
    if v.origin == "derived from the data":
        return derived
    return v.origin


def _median_search(per_search: pd.Series, search_gh: np.ndarray) -> dict[str, Any]:
    """The median grid search as measured: its jobs and GPU-hours (medians of both)."""
    if per_search.empty:
        return {"n_jobs": None, "gpu_hours": None, "n_searches": 0, "n_searches_gpu_hours_known": 0}
    known = search_gh[~np.isnan(search_gh)]
    return {
        "n_jobs": float(per_search.median()),
        "gpu_hours": float(np.median(known)) if len(known) else None,
        "n_searches": int(len(per_search)),
        "n_searches_gpu_hours_known": int(len(known)),
    }


def _waste(s: _Sums, parts: Sequence[Partial], gh_total: float) -> dict[str, Any]:
    def row(name: str, segs: list[int]) -> dict[str, Any]:
        n = sum(p.cat_n[i] for p in parts for i in segs)
        n_unknown = sum(p.gh_unknown[i] for p in parts if p.gh_unknown for i in segs)
        r = {
            "category": name,
            "n_jobs": n,
            "n_jobs_gpu_unknown": n_unknown,
            "gpu_hours": s.gh(segs),
            **s.money(segs),
        }
        if (
            n and n_unknown == n
        ):  # no job of the cause has a known GPU count: its figures are unknown
            r.update(dict.fromkeys(["gpu_hours", *MONEY, *IMPACT]))
        return r

    cats = [row(c, [i]) for i, c in enumerate(WASTE_CATEGORIES)]
    total = row("total", list(range(len(WASTE_CATEGORIES))))
    return {
        "categories": cats,
        "total": total,
        "share_of_gpu_hours": (
            None if total["gpu_hours"] is None or gh_total <= 0 else total["gpu_hours"] / gh_total
        ),
        "short_completed": row(SHORT_COMPLETED, [SEGMENTS.index(SHORT_COMPLETED)]),
    }


def _type_shares(types: list[dict[str, Any]]) -> dict[str, float | None]:
    """Share of GPU-hours per logged GPU type (a type resolved to several keys summed)."""
    out: dict[str, float | None] = {}
    for t in types:
        share, before = t["share_of_gpu_hours"], out.get(t["gpu_type"], 0.0)
        out[t["gpu_type"]] = None if share is None or before is None else before + share
    return out


def _notes(cnt: dict[str, int]) -> list[str]:
    out = []
    if cnt["before_known"]:
        out.append(
            f"{plural(cnt['before_known'], 'job')} ran before the earliest known price "
            "of their GPU; the earliest known price is used"
        )
    return out


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / costing.S_PER_HOUR


# -- grid searches ---------------------------------------------------------------------


def _merge_codes(parts: Sequence[Partial], codes: str, names: str) -> tuple[np.ndarray, list[str]]:
    """Per-partition codes renumbered into one dictionary (-1 stays -1), and its names."""
    out: list[np.ndarray] = []
    lookup: dict[str, int] = {}
    for p in parts:
        c = getattr(p, codes)
        nm = getattr(p, names)
        if c is None:
            continue
        remap = np.array([lookup.setdefault(x, len(lookup)) for x in nm] + [-1], dtype=np.int64)
        out.append(remap[np.where(c < 0, len(nm), c)])
    return (np.concatenate(out) if out else np.zeros(0, np.int64)), list(lookup)


def _search_sizes(
    parts: Sequence[Partial], params: GroupingParams
) -> tuple[np.ndarray, np.ndarray]:
    """Jobs and GPU-hours per grid search over every partition, by
    :func:`rdcost.analysis.grouping.search_labels`."""
    s = _searches(parts, params)
    keep = s.n_jobs > 0
    return s.n_jobs[keep].astype(np.int64), s.gpu_hours[keep]


def _searches(parts: Sequence[Partial], params: GroupingParams) -> Searches:
    """Every row's grid search (:func:`rdcost.analysis.grouping.search_labels` on the merged
    codes), and per search its id (as `rdcost groups` names it), jobs and GPU-hours."""
    sid, names = _merge_codes(parts, "sid", "sid_names")
    key, key_names = _merge_codes(parts, "key", "key_names")
    t_s = (
        np.concatenate([p.t_s for p in parts if p.t_s is not None])
        if any(p.t_s is not None for p in parts)
        else np.zeros(0)
    )
    gh = np.concatenate([p.gh for p in parts if p.gh is not None]) if parts else np.zeros(0)
    lab = search_labels(sid, len(names), key, t_s, params, stored_names=names)
    have = lab.label >= 0
    n_all = lab.n_stored + len(lab.heuristic_first)
    size = np.bincount(lab.label[have], minlength=n_all)
    unknown = np.isnan(gh)
    ghs = np.bincount(lab.label[have], weights=np.where(unknown, 0.0, gh)[have], minlength=n_all)
    n_unknown = np.bincount(lab.label[have & unknown], minlength=n_all)
    ghs = np.where(n_unknown > 0, np.nan, ghs)  # a search with a job of unknown GPU-hours
    offsets, at = {}, 0
    for p in parts:
        offsets[p.part] = at
        at += p.n
    return Searches(
        label=lab.label,
        names=search_ids(lab, names, key, key_names, _submitted(t_s)),
        n_jobs=size,
        gpu_hours=ghs,
        offsets=offsets,
    )


def _submitted(t_s: np.ndarray) -> pd.Series:
    """Submission times (UTC) from the partials' seconds (NaN: none)."""
    us = np.round(np.nan_to_num(t_s) * 1e6).astype(np.int64)
    return pd.Series(pd.to_datetime(us, unit="us", utc=True))


# -- one model, tuning round, the R&D table -----------------------------------------------


def _one_model(gh: pd.Series) -> Sourced | None:
    """Median GPU-hours of the final-size runs, from the value counts of completed jobs' GPU-hours."""
    if gh.empty:
        return None
    threshold = quantile(gh, FINAL_SIZE_QUANTILE)
    final = gh[gh.index.to_numpy(dtype=float) >= threshold]
    med = median(final)
    if med is None:
        return None
    return Sourced(
        med,
        "GPU-hours",
        ONE_MODEL_RULE,
        "derived from the data",
        note=f"{int(final.sum()):,} final-size runs of {int(gh.sum()):,} completed jobs",
    )


def _tuning_round(per_search: pd.Series) -> Sourced | None:
    if per_search.empty:
        return None
    med = float(per_search.median())
    return Sourced(
        float(math.floor(med + 0.5)),
        "jobs",
        TUNING_ROUND_RULE,
        "derived from the data",
        note=f"median {med:g} jobs over {len(per_search):,} grid searches",
    )


def _whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _scaled_row(
    label: str, n_jobs: float | None, gh: float | None, eff: dict[str, Any], a: Assumptions
) -> dict[str, Any]:
    """A row of the R&D table priced at the project's GPU-hour-weighted mean price and power."""

    def mul(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else x * y

    pue, carbon, electricity = a.environment()
    kwh = (
        None
        if gh is None or eff["power_w"] is None
        else costing.energy_kwh(gh, eff["power_w"], pue.value)
    )
    kg = mul(kwh, carbon.kg_co2e_per_kwh)
    return scaled_ranges(
        {
            "label": label,
            "n_jobs": n_jobs,
            "gpu_hours": gh,
            "cloud_usd_low": mul(gh, eff["usd_per_gpu_hour_low"]),
            "cloud_usd_high": mul(gh, eff["usd_per_gpu_hour_high"]),
            "electricity_usd": mul(kwh, electricity.value),
            "energy_kwh": kwh,
            "co2e_kg": kg,
            "co2e_lbs": None if kg is None else costing.kg_to_lbs(kg),
        },
        gh,
        eff,
    )


def _comparisons(co2e_lbs: float | None) -> list[dict[str, Any]]:
    t = reference.comparisons(paper_only=True)
    out = []
    for r in t.itertuples(index=False):
        out.append(
            {
                "item": r.item,
                "lbs_co2e_each": float(r.value_lbs_co2e),
                "unit": r.unit,
                "n_equivalent": None if co2e_lbs is None else co2e_lbs / float(r.value_lbs_co2e),
                "source": r.source,
            }
        )
    return out


# -- concurrency ---------------------------------------------------------------------------


def _concurrency(parts: Sequence[Partial]) -> costing.Concurrency:
    have = [p for p in parts if p.conc_t is not None]
    if not have:
        return costing.Concurrency(None, None, None, None)
    t = np.concatenate([p.conc_t for p in have])
    order = np.argsort(t, kind="stable")  # sorted runs, one per partition: a merge
    t = t[order]
    new = np.ones(len(t), dtype=bool)
    new[1:] = t[1:] != t[:-1]
    times = t[new]
    delta = np.add.reduceat(np.concatenate([p.conc_d for p in have])[order], np.flatnonzero(new))
    level = np.cumsum(delta)
    i_peak = int(np.argmax(level))
    his = [p.conc_hi for p in have if p.conc_hi is not None]
    los = [p.conc_lo for p in have if p.conc_lo is not None]
    span_ns = (max(his) - min(los)) if his and los else 0
    span_h = span_ns / 1e9 / costing.S_PER_HOUR
    gpu_h = exact_float(sum(p.conc_gpu_h for p in have))
    mean = gpu_h / span_h if span_h > 0 else None
    return costing.Concurrency(
        mean, float(level[i_peak]), pd.Timestamp(int(times[i_peak]), tz="UTC"), span_h
    )


# -- prices, power and GPU types actually used ---------------------------------------------


#: --on-missing: ``default`` (every step of the GPU chain, year ranges for what has no
#: price or power of its own), ``unknown`` (no fallback: those jobs' money or energy are
#: unknown, counted and named) or ``error`` (stop, naming the GPU types).
ON_MISSING = ("default", "unknown", "error")


def check_missing(combos: pd.DataFrame | None, on_missing: str, notes: list[str]) -> None:
    """Stop (``error``) or note what had no price or power of its own: GPU types with GPU
    time and no price or power, and GPU-hours whose GPU or price needed a fallback."""
    if combos is None:
        return
    used = combos[combos["n_used"] > 0]
    problems = []
    for what in ("price", "power"):
        c = combos[combos[f"n_miss_{what}"] > 0]
        if not c.empty:
            problems.append(
                f"no {what} for GPU type(s) {_listed(c, f'n_miss_{what}', f'first_miss_{what}')}"
            )
    if on_missing == "error":
        # strict: no GPU-hour priced or powered by a guess. A type taken from the partition
        # or node, or no type at all, is a guess unless the price and the power are given
        # for every GPU; a price or power from the year's range is always one.
        def flag(col: str, test) -> np.ndarray:
            return test(used[col].astype("string")).fillna(False).to_numpy(dtype=bool)

        guessed_type = flag("gpu_key_rule", lambda s: s.isin(["partition", "node", "unidentified"]))
        price_given = flag("price_rule", lambda s: s.eq("fixed"))
        power_given = ~flag("power_rule", lambda s: s.str.startswith(("refdata", "year_range"))) & (
            used["power_w"].notna().to_numpy(dtype=bool)
        )
        year_range = flag("price_rule", lambda s: s.eq("year_range")) | flag(
            "power_rule", lambda s: s.str.startswith("year_range")
        )
        fallback = used[(guessed_type & ~(price_given & power_given)) | year_range]
        if not fallback.empty:
            problems.append(
                "GPU type(s) priced or powered by a guess (a partition's or node's typed jobs, "
                "or the GPUs of their year) " + _listed(fallback, "n_used", "first_used")
            )
        if problems:
            raise AssumptionError(
                "; ".join(problems),
                hint="map the type to a known GPU (--gpu-alias NAME=KEY, --gpu-partition PART=KEY), or give "
                "the value (--usd-per-gpu-hour-low/-high, --watts-per-gpu, or [prices.KEY] / [gpu_power.KEY] "
                "in an --assumptions TOML file); without --on-missing error they are priced as the GPUs of "
                "their year, and said so",
            )
    notes.extend(
        p + "; left out of the totals that need it (counted under data quality)" for p in problems
    )


def _listed(rows: pd.DataFrame, n: str, first: str) -> str:
    """``type (N jobs), ...``, most jobs first."""
    t = rows.assign(
        label=rows["gpu_type"].astype(object).where(rows["gpu_type"].notna(), "(no GPU type)")
    )
    t = t.groupby("label", sort=False).agg(n=(n, "sum"), first=(first, "min"))
    t = t.assign(neg=-t["n"]).sort_values(["neg", "first"], kind="stable")
    return ", ".join(f"{k} ({int(v):,} job{'' if int(v) == 1 else 's'})" for k, v in t["n"].items())


def _by_first(
    rows: pd.DataFrame, keys: list[str], first: str, sums: Sequence[str]
) -> list[dict[str, Any]]:
    """Group (GPU type, day) rows by ``keys`` (missing equal to missing), adding up ``sums``;
    groups in order of their first job."""
    groups: dict[tuple, dict[str, Any]] = {}
    for rec in rows.to_dict("records"):
        if rec[first] < 0:
            continue
        k = tuple(None if _missing(rec[c]) else rec[c] for c in keys)
        g = groups.get(k)
        if g is None:
            groups[k] = {
                **{c: rec[c] for c in keys},
                **{c: rec[c] for c in sums},
                "_first": rec[first],
            }
        else:
            for c in sums:
                g[c] += rec[c]
            g["_first"] = min(g["_first"], rec[first])
    return sorted(groups.values(), key=lambda g: g["_first"])


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _value(v: Any) -> Any:
    """A group key as a plain Python value (missing as NaN, as the JSON writer expects)."""
    if _missing(v):
        return float("nan")
    return v.item() if isinstance(v, np.generic) else v


def _gpu_types(combos: pd.DataFrame | None, gh_total: float) -> list[dict[str, Any]]:
    if combos is None:
        return []
    c = combos[combos["n_used"] > 0].assign(
        gpu_type=lambda x: (
            x["gpu_type"].astype(object).where(x["gpu_type"].notna(), "(none logged)")
        ),
        gpu_key=lambda x: x["gpu_key"].astype(object).where(x["gpu_key"].notna(), "unknown"),
    )
    c = c.assign(
        gpu_key_rule=c["gpu_key_rule"].astype(object).where(c["gpu_key_rule"].notna(), "unknown")
    )
    g = _by_first(c, ["gpu_type", "gpu_key", "gpu_key_rule"], "first_used", ["n_used", "gh_used"])
    out = [
        {
            "gpu_type": str(r["gpu_type"]),
            "gpu_key": str(r["gpu_key"]),
            "gpu_key_rule": str(r["gpu_key_rule"]),
            "n_jobs": int(r["n_used"]),
            "gpu_hours": exact_float(r["gh_used"]),
            "share_of_gpu_hours": exact_float(r["gh_used"]) / gh_total if gh_total > 0 else None,
        }
        for r in g
    ]
    return sorted(out, key=lambda r: -r["gpu_hours"])


def _assumptions_used(
    a: Assumptions,
    combos: pd.DataFrame | None,
    one_model: Sourced | None,
    tuning: Sourced | None,
    eff: dict[str, Any],
    year: int | None,
    on_missing: str = "default",
) -> dict[str, Any]:
    """The prices and power rows actually used (from the (GPU type, day) rows), and every
    other assumption with its origin and source."""
    prices, power = [], []
    if combos is not None and (combos["n_used"] > 0).any():
        used = combos[combos["n_used"] > 0].copy()
        used["gpu_key"] = used["gpu_key"].astype(object).where(used["gpu_key"].notna(), "unknown")
        used["n_before"] = np.where(
            used["is_price_before_known"].to_numpy(dtype=bool), used["n_used"], 0
        )
        for r in _by_first(
            used, PRICE_ROW_COLUMNS, "first_used", ["n_used", "gh_used", "n_before"]
        ):
            row = {c: _value(r[c]) for c in PRICE_ROW_COLUMNS}
            row["n_jobs"] = int(r["n_used"])
            row["gpu_hours"] = exact_float(r["gh_used"])
            row["n_jobs_before_known_price"] = int(r["n_before"])
            pk = row["price_key"]
            notes = [row.pop("price_note")]
            if isinstance(pk, str) and pk in a.prices and row["price_rule"] == "fixed":
                row["origin"] = a.prices[pk].origin
                notes.append(a.prices[pk].note)
            elif row["price_rule"] == "year_range":
                row["origin"] = (
                    f"refdata cloud_prices.csv (the range of the GPUs of the year; {a.price_date.replace('_', ' ')} prices)"
                )
            else:
                row["origin"] = (
                    f"refdata cloud_prices.csv ({a.price_date.replace('_', ' ')} prices)"
                )
            row["note"] = "; ".join(x for x in notes if isinstance(x, str) and x)
            prices.append(row)
        for r in _by_first(used, POWER_ROW_COLUMNS, "first_used", ["n_used"]):
            power.append(
                {
                    "gpu_key": _value(r["gpu_key"]),
                    "power_w": _value(r["power_w"]),
                    "basis": _value(r["power_basis"]),
                    "source": _value(r["power_source"]),
                    "origin": _value(r["power_rule"]),
                    "n_jobs": int(r["n_used"]),
                }
            )
    pue, c, electricity = a.environment()
    return {
        "name": a.name,
        "layers": list(a.layers),
        "year": year,
        "price_provider": a.price_provider,
        "price_date": a.price_date,
        "power_basis": a.power_basis,
        "gpu_aliases": dict(a.gpu_aliases),
        "gpu_partitions": dict(a.gpu_partitions),
        "gpu_nodes": dict(a.gpu_nodes),
        "on_missing": on_missing,
        "unidentified_gpu": None if year is None else reference.unidentified_gpu(year).describe(),
        "cloud_equivalents": dict(a.cloud_equivalents),
        "prices": prices,
        "power": power,
        "mean_usd_per_gpu_hour_low": eff["usd_per_gpu_hour_low"],
        "mean_usd_per_gpu_hour_high": eff["usd_per_gpu_hour_high"],
        "mean_power_w": eff["power_w"],
        "pue": asdict(pue),
        "carbon": {
            "kg_co2e_per_kwh": c.kg_co2e_per_kwh,
            "lbs_co2e_per_kwh": c.lbs_co2e_per_kwh,
            "region": c.region,
            "year": c.year,
            "source": c.source,
            "origin": c.origin,
            "as_of": c.as_of,
            "note": c.note,
        },
        "electricity_usd_per_kwh": asdict(electricity),
        "one_model_gpu_hours": None if one_model is None else asdict(one_model),
        "tuning_round_n_jobs": None if tuning is None else asdict(tuning),
        "crash_threshold_minutes": asdict(a.crash_threshold_minutes),
        "util_threshold_percent": asdict(a.util_threshold_percent),
    }
