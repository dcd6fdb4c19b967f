"""What the summary keeps of one partition of jobs: counts, exact sums, minima and
maxima, value counts, one row per (GPU key, day, logged type, chain step) with its
price, power and totals, the GPUs starting and ending at each instant, the
data-quality counts and the implausible jobs, and the grid-search input as integer
codes. :func:`rdcost.analysis.summary.combine.combine` merges them.

A partial is O(rows of its partition) while it is built and small once built:
O(distinct values) for the value counts, O(distinct start/end instants) for the
concurrency sweep, a few numbers per job that could be in a grid search.

Which jobs count: those that ran (:func:`rdcost.analysis.summary.job_costs.ran`),
less the implausible ones unless ``include_implausible``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis import costing
from rdcost.analysis.assumptions import POWER_COLUMNS, PRICE_COLUMNS
from rdcost.analysis.energy.section import EnergyPartial, energy_partial
from rdcost.analysis.grouping import (
    GroupingParams,
    burst_key_codes,
    pending_remainder,
    stored_search_codes,
    when_submitted,
)
from rdcost.analysis.mig import mig_shares
from rdcost.analysis.summary.exact import exact_sums, value_counts
from rdcost.analysis.summary.job_costs import IMPACT, MONEY, SHORT_COMPLETED, WASTE_CATEGORIES
from rdcost.analysis.utilization.partial import UtilPartial, util_partial

SUM_COLUMNS = ("gpu_hours", *MONEY, *IMPACT)
#: Segments of the sums: the waste categories, short completed jobs, the rest.
SEGMENTS = (*WASTE_CATEGORIES, SHORT_COMPLETED, "none")
N_SEG = len(SEGMENTS)
POS_BITS = 40  # global row order = partition number << 40 | row
#: The columns of a partial's (GPU key, day, type, step) rows taken from the job costs.
COMBO_COLUMNS = ["gpu_type", "gpu_key", "gpu_key_rule", *PRICE_COLUMNS, *POWER_COLUMNS]
#: Counts of the data-quality section (docs/summarize.md, "Data quality").
COUNT_NAMES = (
    "started",
    "running",
    "gpu_unknown",
    "elapsed_unknown",
    "crashed",
    "before_known",
    "inferred",
    "start_derived",
    "elapsed_derived",
    "placed_by_submit",
    "unplaced",
    "pending_remainder",
    "implausible",
    "cost_unknown",
    "energy_unknown",
    "mig_slices",
)
#: Columns of the implausible jobs kept for the data-quality listing.
IMPLAUSIBLE_COLUMNS = [
    "job_id",
    "source",
    "state",
    "implausible_reason",
    "elapsed_s",
    "timelimit_s",
    "gpu_hours",
    "first",
]


@dataclass
class Partial:
    """Everything the summary needs from one partition (see the module doc)."""

    part: int
    n: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    states: pd.DataFrame | None = None  # state -> n, first
    sums: dict[str, list[int]] = field(default_factory=dict)  # column -> exact sum per segment
    nans: dict[str, list[int]] = field(default_factory=dict)  # column -> NaN count per segment
    cat_n: list[int] = field(default_factory=list)
    gh_unknown: list[int] = field(default_factory=list)  # jobs of unknown GPU-hours per segment
    combos: pd.DataFrame | None = None  # one row per (GPU key, day, type, step)
    implausible: pd.DataFrame | None = None  # the implausible jobs (IMPLAUSIBLE_COLUMNS)
    implausible_gh: int = 0  # their GPU-hours (exact)
    el_counts: pd.Series | None = None  # elapsed_s of counted jobs -> n
    el_sum: int = 0
    done_gh: pd.Series | None = None  # GPU-hours of completed GPU jobs -> n
    first_start: Any = None
    last_end: Any = None
    conc_t: np.ndarray | None = None  # instants (ns) with GPUs starting or ending
    conc_d: np.ndarray | None = None  # net GPUs starting at each instant
    conc_gpu_h: int = 0
    conc_lo: int | None = None
    conc_hi: int | None = None
    wp_sum: int = 0  # sum of GPU-hours x power over jobs with GPU time
    sid: np.ndarray | None = None  # per row: stored search (code into sid_names), -1 none
    sid_names: list[str] = field(default_factory=list)
    key: np.ndarray | None = None  # per row: burst key (code into key_names), -1 none
    key_names: list[str] = field(default_factory=list)
    t_s: np.ndarray | None = None  # per row: submission (else start) time, s
    gh: np.ndarray | None = None  # per row: GPU-hours counted (0 where unknown or not counted)
    energy: EnergyPartial | None = None  # the energy section's share (rdcost.analysis.energy)
    util: UtilPartial | None = None  # the utilization waste's share (rdcost.analysis.utilization)


def first_pos(codes: np.ndarray, mask: np.ndarray, n_codes: int, part: int) -> np.ndarray:
    """Global position of the first row of each code among the masked rows (-1 if none)."""
    out = np.full(n_codes, -1, dtype=np.int64)
    rows = np.flatnonzero(mask)
    if len(rows):
        first = pd.Series(codes[rows]).drop_duplicates()
        out[first.to_numpy()] = (part << POS_BITS) | rows[first.index.to_numpy()]
    return out


def counted_jobs(costs: pd.DataFrame, include_implausible: bool = False) -> np.ndarray:
    """The jobs whose time counts: they ran, and are plausible (unless included)."""
    started = costs["is_started"].to_numpy(dtype=bool)
    if include_implausible:
        return started
    return started & costs["implausible_reason"].isna().to_numpy(dtype=bool)


def partial_of_frame(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    params: GroupingParams,
    part: int = 0,
    include_implausible: bool = False,
) -> Partial:
    """The partial of some compute rows ``cj`` and their :func:`job_costs` ``costs``."""
    p = Partial(part=part, n=len(cj))
    counted = counted_jobs(costs, include_implausible)
    ghv = np.where(counted, costs["gpu_hours"].to_numpy(dtype=float), np.nan)
    _counts(p, cj, costs, counted, ghv)
    _sums(p, cj, costs, counted, ghv)
    p.combos = combos_of(costs, part, counted)
    _implausible(p, cj, costs, include_implausible)
    _lengths_and_span(p, cj, costs, counted, ghv)
    _concurrency(p, cj, costs, counted, ghv)
    _searches(p, cj, params, ghv, counted, costs["is_started"].to_numpy(dtype=bool))
    p.energy = energy_partial(cj, costs, counted, part)
    in_search = p.sid >= 0 if p.sid is not None else np.zeros(len(cj), dtype=bool)
    if p.key is not None:
        in_search = in_search | (p.key >= 0)
    p.util = util_partial(cj, costs, counted, SUM_COLUMNS, in_search, part)
    return p


def _counts(
    p: Partial, cj: pd.DataFrame, costs: pd.DataFrame, counted: np.ndarray, ghv: np.ndarray
) -> None:
    started = costs["is_started"].to_numpy(dtype=bool)
    running = costs["is_running"].to_numpy(dtype=bool)
    elapsed = pd.to_numeric(cj["elapsed_s"], errors="raise").astype("float64").to_numpy()
    n_gpus = pd.to_numeric(cj["n_gpus"], errors="raise").astype("float64").to_numpy()
    derived = _text(cj, "derived_columns")
    used = ghv > 0
    p.counts = {
        "started": int(started.sum()),
        "running": int((counted & running).sum()),
        "gpu_unknown": int((counted & np.isnan(n_gpus)).sum()),
        "elapsed_unknown": int((counted & np.isnan(elapsed)).sum()),
        "crashed": int((costs["is_crashed"].to_numpy(dtype=bool) & counted).sum()),
        "before_known": int((costs["is_price_before_known"].to_numpy(dtype=bool) & used).sum()),
        "inferred": int((_bool(cj, "is_inferred") & counted).sum()),
        "start_derived": int(
            (
                derived.str.contains("start_time", regex=False).fillna(False).to_numpy(dtype=bool)
                & counted
            ).sum()
        ),
        "elapsed_derived": int(
            (
                derived.str.contains("elapsed_s", regex=False).fillna(False).to_numpy(dtype=bool)
                & counted
            ).sum()
        ),
        "placed_by_submit": int(
            (costs["is_placed_by_submit"].to_numpy(dtype=bool) & counted).sum()
        ),
        "unplaced": int((counted & costs["place_time"].isna().to_numpy()).sum()),
        "pending_remainder": int(pending_remainder(cj).sum()),
        "implausible": int(
            (started & costs["implausible_reason"].notna().to_numpy(dtype=bool)).sum()
        ),
        "cost_unknown": int((used & np.isnan(costs["cloud_usd_low"].to_numpy(dtype=float))).sum()),
        "energy_unknown": int((used & np.isnan(costs["energy_kwh"].to_numpy(dtype=float))).sum()),
        "mig_slices": int((counted & (mig_shares(cj["gpu_type"]) < 1)).sum()),
    }
    st = cj["state"].astype("string").fillna("UNKNOWN")
    sc, su = pd.factorize(st)
    p.states = pd.DataFrame(
        {
            "state": np.asarray(su, dtype=object),
            "n": np.bincount(sc, minlength=len(su)),
            "first": first_pos(sc, np.ones(len(cj), bool), len(su), p.part),
        }
    )


def _sums(
    p: Partial, cj: pd.DataFrame, costs: pd.DataFrame, counted: np.ndarray, ghv: np.ndarray
) -> None:
    """Exact sums of GPU-hours, money and impact per segment, over the counted jobs whose
    value is known (the unknown ones are counted in ``nans``)."""
    seg = np.full(len(cj), SEGMENTS.index("none"), dtype=np.int64)
    for code, name in enumerate(SEGMENTS[:-1]):
        seg[costs["waste_category"].eq(name).fillna(False).to_numpy(dtype=bool)] = code
    known = counted & ~np.isnan(ghv)
    s = seg[known]
    for c in SUM_COLUMNS:
        v = (ghv if c == "gpu_hours" else costs[c].to_numpy(dtype=float))[known]
        bad = np.isnan(v)
        p.sums[c] = exact_sums(np.where(bad, 0.0, v), s, N_SEG)
        p.nans[c] = np.bincount(s[bad], minlength=N_SEG).tolist()
    p.cat_n = np.bincount(seg[counted], minlength=N_SEG).tolist()
    p.gh_unknown = np.bincount(seg[counted & np.isnan(ghv)], minlength=N_SEG).tolist()
    power = costs["power_w"].to_numpy(dtype=float)
    used = ghv > 0
    p.wp_sum = exact_sums((ghv * power)[used & ~np.isnan(power)])[0]


def _implausible(p: Partial, cj: pd.DataFrame, costs: pd.DataFrame, include: bool) -> None:
    bad = costs["is_started"].to_numpy(dtype=bool) & costs["implausible_reason"].notna().to_numpy(
        dtype=bool
    )
    rows = np.flatnonzero(bad)
    gh = costs["gpu_hours"].to_numpy(dtype=float)[rows]
    p.implausible_gh = exact_sums(np.nan_to_num(gh))[0]
    p.implausible = pd.DataFrame(
        {
            "job_id": _text(cj, "job_id").to_numpy(dtype=object)[rows],
            "source": _text(cj, "source").to_numpy(dtype=object)[rows],
            "state": _text(cj, "state").to_numpy(dtype=object)[rows],
            "implausible_reason": costs["implausible_reason"].to_numpy(dtype=object)[rows],
            "elapsed_s": pd.to_numeric(cj["elapsed_s"]).to_numpy(dtype=float)[rows],
            "timelimit_s": pd.to_numeric(cj["timelimit_s"]).to_numpy(dtype=float)[rows]
            if "timelimit_s" in cj
            else np.full(len(rows), np.nan),
            "gpu_hours": gh,
            "first": (p.part << POS_BITS) | rows,
        }
    )


def _lengths_and_span(
    p: Partial, cj: pd.DataFrame, costs: pd.DataFrame, counted: np.ndarray, ghv: np.ndarray
) -> None:
    elapsed = pd.to_numeric(cj["elapsed_s"], errors="raise").astype("float64").to_numpy()
    el = elapsed[counted]
    el = el[~np.isnan(el)]
    p.el_counts = value_counts(el)
    p.el_sum = exact_sums(el)[0]
    done = cj["state"].astype("string").eq("COMPLETED").fillna(False).to_numpy(dtype=bool) & (
        ghv > 0
    )
    p.done_gh = value_counts(ghv[done])
    place = pd.to_datetime(costs["place_time"], utc=True)[counted]
    end = pd.to_datetime(costs["end_eff"], utc=True)[counted]
    p.first_start = place.min() if place.notna().any() else None
    p.last_end = end.max() if end.notna().any() else None


def _concurrency(
    p: Partial, cj: pd.DataFrame, costs: pd.DataFrame, counted: np.ndarray, ghv: np.ndarray
) -> None:
    """Net GPUs starting per instant (costing.concurrency's rows), jobs placed in time."""
    place = pd.to_datetime(costs["place_time"], utc=True)
    end = pd.to_datetime(costs["end_eff"], utc=True)
    n_gpus = pd.to_numeric(cj["n_gpus"], errors="raise").astype("float64")
    ok = (
        counted
        & ~np.isnan(ghv)
        & place.notna().to_numpy()
        & end.notna().to_numpy()
        & n_gpus.notna().to_numpy()
    )
    ok &= (end >= place).fillna(False).to_numpy(dtype=bool)
    s_ns = place[ok].to_numpy(dtype="datetime64[ns]").astype("int64")
    e_ns = end[ok].to_numpy(dtype="datetime64[ns]").astype("int64")
    g = n_gpus.to_numpy()[ok]
    if len(g):
        times, inv = np.unique(np.concatenate([s_ns, e_ns]), return_inverse=True)
        p.conc_t = times
        p.conc_d = np.bincount(inv, weights=np.concatenate([g, -g]), minlength=len(times))
        p.conc_gpu_h = exact_sums(g * (e_ns - s_ns) / 1e9 / costing.S_PER_HOUR)[0]
        p.conc_lo, p.conc_hi = int(s_ns.min()), int(e_ns.max())


def _searches(
    p: Partial,
    cj: pd.DataFrame,
    params: GroupingParams,
    ghv: np.ndarray,
    counted: np.ndarray,
    started: np.ndarray,
) -> None:
    """Stored search ids and burst keys as codes (rdcost.analysis.grouping's rules); a
    pending array remainder is in no search (it is no job that ran), nor is a job left
    out as implausible (started, not counted). GPU-hours: 0 for a job that never started,
    NaN for one of unknown GPU-hours (GPU count or run time)."""
    out = pending_remainder(cj) | (started & ~counted)
    p.sid, p.sid_names = stored_search_codes(cj)
    p.sid = np.where(out, -1, p.sid)
    p.gh = np.where(counted, ghv, 0.0)
    if params.use_heuristics:
        when = when_submitted(cj)
        p.key, p.key_names = burst_key_codes(cj, when.notna().to_numpy() & ~out)
        p.t_s = np.where(
            p.key >= 0, when.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6, np.nan
        )


def combos_of(
    costs: pd.DataFrame, part: int = 0, counted: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per (GPU key, day, logged type, chain step) of some jobs' :func:`job_costs`:
    its type, key, step, price and power, and the counted jobs and GPU-hours with GPU time
    it holds, and of those the ones missing a price or a power."""
    # one code per (price row, type, step): each column factorized on its own (nulls a
    # code of their own), combined as integers, then factorized in order of appearance
    combined = np.zeros(len(costs), dtype=np.int64)
    for col in ("price_row", "gpu_type", "gpu_key_rule"):
        c, u = pd.factorize(costs[col], use_na_sentinel=False)
        combined = combined * (len(u) + 1) + c
    ccode, crows = pd.factorize(combined)
    nc = len(crows)
    first = pd.Series(ccode).drop_duplicates().index.to_numpy()
    combos = costs.iloc[first][COMBO_COLUMNS].reset_index(drop=True)
    ghv = costs["gpu_hours"].to_numpy(dtype=float)
    if counted is not None:
        ghv = np.where(counted, ghv, np.nan)
    used = ghv > 0
    combos["n_used"] = np.bincount(ccode[used], minlength=nc)
    combos["gh_used"] = exact_sums(ghv[used], ccode[used], nc)
    combos["first_used"] = first_pos(ccode, used, nc, part)
    no_price = (
        costs["usd_per_gpu_hour_low"].isna() | costs["usd_per_gpu_hour_high"].isna()
    ).to_numpy()
    for name, m in (
        ("price", used & no_price),
        ("power", used & costs["power_w"].isna().to_numpy()),
    ):
        combos[f"n_miss_{name}"] = np.bincount(ccode[m], minlength=nc)
        combos[f"first_miss_{name}"] = first_pos(ccode, m, nc, part)
    return combos


def _text(cj: pd.DataFrame, name: str) -> pd.Series:
    return (
        cj[name].astype("string")
        if name in cj
        else pd.Series(pd.NA, index=cj.index, dtype="string")
    )


def _bool(cj: pd.DataFrame, name: str) -> np.ndarray:
    return (
        cj[name].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if name in cj
        else np.zeros(len(cj), dtype=bool)
    )
