"""What the summary keeps of one partition of jobs: counts, exact sums, minima and
maxima, value counts, one row per (GPU type, start day) with its price, power and
totals, the GPUs starting and ending at each instant, and the grid-search input as
integer codes. :func:`rdcost.analysis.summary.combine.combine` merges them.

A partial is O(rows of its partition) while it is built and small once built:
O(distinct values) for the value counts, O(distinct start/end instants) for the
concurrency sweep, a few integers per job that could be in a grid search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis import costing
from rdcost.analysis.assumptions import POWER_COLUMNS, PRICE_COLUMNS
from rdcost.analysis.grouping import (
    GroupingParams,
    burst_key_codes,
    stored_search_codes,
    when_submitted,
)
from rdcost.analysis.summary.exact import exact_sums, value_counts
from rdcost.analysis.summary.job_costs import IMPACT, MONEY, WASTE_CATEGORIES

SUM_COLUMNS = ("gpu_hours", *MONEY, *IMPACT)
N_SEG = len(WASTE_CATEGORIES) + 1  # waste category codes 0..3, 4 = none
POS_BITS = 40  # global row order = partition number << 40 | row
#: The columns of a partial's (GPU type, start day) rows taken from the job costs.
COMBO_COLUMNS = ["gpu_type", "gpu_key", *PRICE_COLUMNS, *POWER_COLUMNS]


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
    combos: pd.DataFrame | None = None  # one row per (GPU type, start day)
    el_counts: pd.Series | None = None  # elapsed_s of started jobs -> n
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


COUNT_NAMES = (
    "started",
    "running",
    "gpu_unknown",
    "elapsed_unknown",
    "crashed",
    "before_known",
    "power_nan_used",
)


def first_pos(codes: np.ndarray, mask: np.ndarray, n_codes: int, part: int) -> np.ndarray:
    """Global position of the first row of each code among the masked rows (-1 if none)."""
    out = np.full(n_codes, -1, dtype=np.int64)
    rows = np.flatnonzero(mask)
    if len(rows):
        first = pd.Series(codes[rows]).drop_duplicates()
        out[first.to_numpy()] = (part << POS_BITS) | rows[first.index.to_numpy()]
    return out


def partial_of_frame(
    cj: pd.DataFrame, costs: pd.DataFrame, params: GroupingParams, part: int = 0
) -> Partial:
    """The partial of some compute rows ``cj`` and their :func:`job_costs` ``costs``."""
    n = len(cj)
    p = Partial(part=part, n=n)
    starts = pd.to_datetime(cj["start_time"], utc=True)
    started = costs["is_started"].to_numpy(dtype=bool)
    running = costs["is_running"].to_numpy(dtype=bool)
    state = cj["state"].astype("string")
    elapsed = pd.to_numeric(cj["elapsed_s"], errors="raise").astype("float64")
    n_gpus = pd.to_numeric(cj["n_gpus"], errors="raise").astype("float64")
    ghv = costs["gpu_hours"].to_numpy(dtype=float)
    power = costs["power_w"].to_numpy(dtype=float)
    cat = np.full(n, len(WASTE_CATEGORIES), dtype=np.int64)
    for code, name in enumerate(WASTE_CATEGORIES):
        cat[costs["waste_category"].eq(name).fillna(False).to_numpy(dtype=bool)] = code

    known = started & ~np.isnan(ghv)
    used = ghv > 0  # started, known and some GPU time
    p.counts = {
        "started": int(started.sum()),
        "running": int((started & running).sum()),
        "gpu_unknown": int((started & n_gpus.isna().to_numpy()).sum()),
        "elapsed_unknown": int((started & elapsed.isna().to_numpy()).sum()),
        "crashed": int(costs["is_crashed"].sum()),
        "before_known": int(costs["is_price_before_known"].to_numpy(dtype=bool).sum()),
        "power_nan_used": int((used & np.isnan(power)).sum()),
    }
    st = state.fillna("UNKNOWN")
    sc, su = pd.factorize(st)
    p.states = pd.DataFrame(
        {
            "state": np.asarray(su, dtype=object),
            "n": np.bincount(sc, minlength=len(su)),
            "first": first_pos(sc, np.ones(n, bool), len(su), part),
        }
    )
    seg = cat[known]
    for c in SUM_COLUMNS:
        v = costs[c].to_numpy(dtype=float)[known]
        bad = np.isnan(v)
        p.sums[c] = exact_sums(np.where(bad, 0.0, v), seg, N_SEG)
        p.nans[c] = np.bincount(seg[bad], minlength=N_SEG).tolist()
    p.cat_n = np.bincount(cat, minlength=N_SEG).tolist()
    p.wp_sum = exact_sums((ghv * power)[used & ~np.isnan(power)])[0]
    p.combos = combos_of(costs, part)

    # job lengths, span, the one model
    el = elapsed.to_numpy()[started]
    el = el[~np.isnan(el)]
    p.el_counts = value_counts(el)
    p.el_sum = exact_sums(el)[0]
    done = state.eq("COMPLETED").fillna(False).to_numpy(dtype=bool) & used
    p.done_gh = value_counts(ghv[done])
    end_eff = pd.to_datetime(cj["end_time"], utc=True)
    end_eff = end_eff.fillna(starts + pd.to_timedelta(costs["elapsed_s"], unit="s"))
    p.first_start = starts.min() if started.any() else None
    p.last_end = end_eff[started].max() if started.any() else None

    # concurrency: net GPUs starting per instant (costing.concurrency's rows)
    ok = known & end_eff.notna().to_numpy() & n_gpus.notna().to_numpy()
    ok &= (end_eff >= starts).fillna(False).to_numpy(dtype=bool)
    s_ns = starts[ok].to_numpy(dtype="datetime64[ns]").astype("int64")
    e_ns = end_eff[ok].to_numpy(dtype="datetime64[ns]").astype("int64")
    g = n_gpus.to_numpy()[ok]
    if len(g):
        times, inv = np.unique(np.concatenate([s_ns, e_ns]), return_inverse=True)
        p.conc_t = times
        p.conc_d = np.bincount(inv, weights=np.concatenate([g, -g]), minlength=len(times))
        p.conc_gpu_h = exact_sums(g * (e_ns - s_ns) / 1e9 / costing.S_PER_HOUR)[0]
        p.conc_lo, p.conc_hi = int(s_ns.min()), int(e_ns.max())

    # grid searches: stored search ids and burst keys as codes (rdcost.analysis.grouping's rules)
    p.sid, p.sid_names = stored_search_codes(cj)
    if params.use_heuristics:
        when = when_submitted(cj)
        p.key, p.key_names = burst_key_codes(cj, when.notna().to_numpy())
        p.t_s = np.where(
            p.key >= 0, when.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6, np.nan
        )
    return p


def combos_of(costs: pd.DataFrame, part: int = 0) -> pd.DataFrame:
    """One row per (GPU type, start day) of some jobs' :func:`job_costs`: its type, key,
    price and power, and the jobs and GPU-hours with GPU time it holds, and of those
    the ones missing a price or a power."""
    ccode, crows = pd.factorize(costs["price_row"].to_numpy())
    nc = len(crows)
    first = pd.Series(ccode).drop_duplicates().index.to_numpy()
    combos = costs.iloc[first][COMBO_COLUMNS].reset_index(drop=True)
    ghv = costs["gpu_hours"].to_numpy(dtype=float)
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
