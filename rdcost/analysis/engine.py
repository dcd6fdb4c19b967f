"""The summary of a store, computed partition by partition, here or on Dask.

:func:`summarize_store` returns the :class:`~rdcost.analysis.summary.Summary` that
:func:`rdcost.analysis.summary.summarize` computes for the stored jobs (or one
project's), without holding the job table in memory:

1. **Links** (a subset): the rows that are not compute (MLflow parents of a
   search, runs that name the Slurm job they ran in) and the search groups
   Slurm rows take from their runs are found with
   :func:`rdcost.analysis.linking.compute_jobs` on the non-Slurm rows plus the Slurm
   rows whose ids they name, read with filters pushed down to parquet.
2. **Year** (one column): each partition counts its compute jobs' start
   times per year; the year of the median start fixes the year-dependent
   assumptions (PUE, carbon intensity, electricity price).
3. **Partials** (projected columns, one partition file at a time): counts,
   exact sums, minima and maxima, value counts (states, job lengths, the
   GPU-hours of completed jobs), one row per (GPU type, start day) with its
   price, power and totals, the GPUs starting and ending at each instant, and
   the grid-search input as integer codes.
4. **Combine** (small): the partials are merged in file order and the
   figures finished: medians and the 90th percentile from value counts, the
   concurrency sweep over the merged instants, grid searches by the rules of
   :mod:`rdcost.analysis.grouping` on the integer codes.

What grows with the number of jobs n: the partial of one partition is
O(rows of that partition); the merged partials are O(distinct values) for
the value counts, O(distinct start/end instants) for the concurrency sweep
(16 bytes each) and about 24 bytes per named job for the grid searches;
nothing else holds per-job data. The job table itself is never loaded.

Engines: ``pandas`` runs the partition tasks in this process, one after
another; ``dask`` runs the same tasks as ``dask.delayed`` calls on a
``distributed.Client`` (``scheduler`` = its address) or, without a
scheduler, on dask's local threads. The workers must see the store's files
at the same path. Sums are exact (each float is added as an integer
multiple of 2**-1130 and rounded once at the end), so the result does not
depend on how the work was split: both engines give identical results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from rdcost.analysis import costing
from rdcost.analysis.assumptions import Assumptions, Sourced
from rdcost.analysis.grouping import GroupingParams, burst_labels, name_stem
from rdcost.analysis.linking import compute_jobs
from rdcost.analysis.projects import ProjectDef, project_mask
from rdcost.analysis.summary import (
    CANCELLED_STATES,
    FAILED_STATES,
    FINAL_SIZE_QUANTILE,
    IMPACT,
    MONEY,
    ONE_MODEL_RULE,
    TIMEOUT_STATES,
    WASTE_CATEGORIES,
    Summary,
    _comparisons,
    _scaled_row,
    _tuning_round,
    _whole,
    assumptions_block,
    job_costs,
)
from rdcost.errors import AssumptionError, RdcostError, UsageError
from rdcost.jobtable import schema
from rdcost.jobtable.store import Store
from rdcost.output.render import iso

ENGINES = ("pandas", "dask")

#: Columns the summary reads from every partition.
COST_COLUMNS = ["start_time", "end_time", "elapsed_s", "n_gpus", "gpu_type", "state"]
GROUP_COLUMNS = ["source", "user", "project", "job_name", "submit_time", "group_id", "group_source", "cluster"]
#: Extra columns a project definition (--projects-file) looks at.
PROJECT_COLUMNS = ["account", "user", "project", "job_name", "start_time", "submit_time"]
#: Columns linking looks at (read for the non-Slurm rows and the Slurm rows they name).
LINK_COLUMNS = ["record_key", "source", "cluster", "job_id", "job_id_raw", "run_id", "parent_run_id",
                "is_container", "linked_slurm_job_id", "start_time", "end_time", "group_id", "group_source"]
_ATTACHED = ("config_json", "metrics_json", "other_json")

_SUM_COLUMNS = ("gpu_hours", *MONEY, *IMPACT)
_N_SEG = len(WASTE_CATEGORIES) + 1          # waste category codes 0..3, 4 = none
_PRICE_COLS = ["gpu_key", "price_key", "price_rule", "usd_per_gpu_hour_low", "usd_per_gpu_hour_high",
               "price_provider", "pricing_model_low", "pricing_model_high", "price_as_of_low",
               "price_as_of_high", "price_source", "price_note"]
_POWER_COLS = ["gpu_key", "power_w", "power_basis", "power_source", "power_rule"]
_POS_BITS = 40                              # global row order = partition number << 40 | row


# -- exact sums -------------------------------------------------------------------

_SCALE = 1130   # sums are integers in units of 2**-1130: every finite double is one


def exact_sums(values: np.ndarray, seg: np.ndarray | None = None, n_seg: int = 1) -> list[int]:
    """Exact sums of finite float64 ``values`` per segment ``seg`` (0..n_seg-1), as
    integers in units of 2**-1130; add them freely, :func:`exact_float` rounds once."""
    v = np.asarray(values, dtype=np.float64)
    s = np.zeros(len(v), np.int64) if seg is None else np.asarray(seg, np.int64)
    nz = v != 0
    v, s = v[nz], s[nz]
    out = [0] * n_seg
    if not len(v):
        return out
    if not np.isfinite(v).all():
        raise ValueError("exact_sums needs finite values")
    m, e = np.frexp(v)
    mi = (m * 2.0 ** 53).astype(np.int64)               # v = mi * 2**(e - 53), exactly
    sh = e.astype(np.int64) + (_SCALE - 53)              # >= 0 for every double
    hi, lo = mi >> 26, mi & ((1 << 26) - 1)              # mi = hi * 2**26 + lo
    base = int(sh.min())
    n_exp = int(sh.max()) - base + 1
    idx = s * n_exp + (sh - base)
    step = 1 << 25                                       # bin sums stay below 2**53: exact in float64
    for a in range(0, len(v), step):
        i = idx[a:a + step]
        hs = np.bincount(i, weights=hi[a:a + step], minlength=n_seg * n_exp)
        ls = np.bincount(i, weights=lo[a:a + step], minlength=n_seg * n_exp)
        for k in np.flatnonzero((hs != 0) | (ls != 0)):
            sg, x = divmod(int(k), n_exp)
            out[sg] += ((int(hs[k]) << 26) + int(ls[k])) << (x + base)
    return out


def exact_float(total: int) -> float:
    """An exact sum of :func:`exact_sums` as the nearest float."""
    return total / (1 << _SCALE)


# -- what every partition task needs -------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """How a partition task selects its compute rows (picklable for Dask workers)."""

    columns: tuple[str, ...]                         # read by the partials
    year_columns: tuple[str, ...] = ()               # read by the year pass
    project: str | None = None                       # stored project value (filter pushed down)
    project_def: ProjectDef | None = None            # --projects-file definition
    drop_keys: frozenset[str] = frozenset()          # record keys of rows that are not compute
    group_fill: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)  # record key -> group

    def filter(self) -> ds.Expression | None:
        if self.project is not None and self.project_def is None:
            return ds.field("project") == self.project
        return None


def read_partition(path: str, columns: Sequence[str], filter: ds.Expression | None = None) -> pa.Table:
    """Some columns (and rows) of one partition file."""
    dataset = ds.dataset([path], schema=schema.ARROW_SCHEMA, format="parquet")
    return dataset.to_table(columns=list(columns), filter=filter)


_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def compute_rows(path: str, plan: Plan, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The compute rows of one partition file (projected columns only)."""
    t = read_partition(path, plan.columns if columns is None else columns, plan.filter())
    if plan.drop_keys:
        drop = pa.array(sorted(plan.drop_keys), pa.string())
        t = t.filter(pc.invert(pc.is_in(t["record_key"], value_set=drop)))
    df = t.to_pandas(types_mapper=_TYPES.get)
    if plan.project_def is not None:
        df = df[project_mask(df, plan.project_def).to_numpy()].reset_index(drop=True)
    if plan.group_fill and "group_id" in df:
        hit = df["record_key"].isin(list(plan.group_fill)).to_numpy()
        if hit.any():
            vals = [plan.group_fill[k] for k in df["record_key"][hit]]
            for i, c in enumerate(("group_id", "group_source")):
                col = df[c].astype(object)
                col.iloc[np.flatnonzero(hit)] = [v[i] for v in vals]
                df[c] = col.astype(df[c].dtype)
    return df


# -- 1. links -------------------------------------------------------------------------

def link_plan(store_files: Sequence[str], project: str | None, project_def: ProjectDef | None,
              read: Callable[..., pa.Table] = read_partition) -> tuple[frozenset[str], dict[str, tuple]]:
    """(record keys of rows that are not compute, record key -> (group_id, group_source) of
    Slurm rows that take the group of their run), from the non-Slurm rows and the Slurm
    rows they name."""
    cols = sorted(set(LINK_COLUMNS) | (set(PROJECT_COLUMNS) if project_def else set()))
    sel = ds.field("project") == project if project is not None and project_def is None else None

    def rows(expr: ds.Expression) -> pd.DataFrame:
        e = expr if sel is None else (expr & sel)
        tables = [read(f, cols, e) for f in store_files]
        t = pa.concat_tables(tables) if tables else schema.ARROW_SCHEMA.empty_table().select(cols)
        df = t.to_pandas(types_mapper=_TYPES.get)
        if project_def is not None:
            df = df[project_mask(df, project_def).to_numpy()]
        return df

    others = rows(~ds.field("source").is_null() & (ds.field("source") != "slurm"))
    if others.empty:
        return frozenset(), {}
    ids = others["linked_slurm_job_id"].dropna().astype(str).unique().tolist()
    slurm = rows((ds.field("source") == "slurm") & (ds.field("job_id_raw").isin(ids) | ds.field("job_id").isin(ids))) \
        if ids else others.iloc[:0]
    small = pd.concat([others, slurm], ignore_index=True)
    for c in _ATTACHED:
        small[c] = None
    kept = compute_jobs(small)
    drop = frozenset(small.loc[~small.index.isin(kept.index), "record_key"].dropna().astype(str))
    fill: dict[str, tuple] = {}
    sl = kept[kept["source"].astype("string").eq("slurm").fillna(False).to_numpy(dtype=bool)]
    if len(sl):
        before = small.loc[sl.index, ["group_id", "group_source"]]
        changed = ~(before["group_id"].astype(object).fillna("\0").eq(sl["group_id"].astype(object).fillna("\0"))
                    & before["group_source"].astype(object).fillna("\0").eq(
                        sl["group_source"].astype(object).fillna("\0")))
        for k, g, s in sl.loc[changed.to_numpy(), ["record_key", "group_id", "group_source"]].itertuples(index=False):
            fill[str(k)] = (None if pd.isna(g) else g, None if pd.isna(s) else s)
    return drop, fill


# -- 2. year --------------------------------------------------------------------------

def year_partial(path: str, plan: Plan) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """The number of compute rows; per year of start: n, min and max start (int64
    microseconds); and the distinct (GPU type, start day) pairs (the price lookups)."""
    df = compute_rows(path, plan, plan.year_columns)
    starts = pd.to_datetime(df["start_time"], utc=True)
    t = starts.dropna()
    us = t.to_numpy(dtype="datetime64[us]").astype(np.int64)
    g = pd.DataFrame({"year": t.dt.year.to_numpy(), "us": us}).groupby("year")["us"]
    return len(df), pd.DataFrame({"n": g.size(), "lo": g.min(), "hi": g.max()}), _pairs(df["gpu_type"], starts)


def _pairs(gpu_type: pd.Series, starts: pd.Series) -> pd.DataFrame:
    """The distinct (GPU type, start day) of some jobs."""
    day = starts.dt.floor("D")
    tcode, _ = pd.factorize(gpu_type.astype("string"), use_na_sentinel=False)
    dcode, duniq = pd.factorize(day, use_na_sentinel=False)
    first = pd.Series(tcode.astype(np.int64) * max(len(duniq), 1) + dcode).drop_duplicates().index.to_numpy()
    return pd.DataFrame({"gpu_type": gpu_type.astype("string").iloc[first].to_numpy(),
                         "day": day.iloc[first].to_numpy()})


def price_table(pairs: Sequence[pd.DataFrame], a: Assumptions, today: pd.Timestamp) -> pd.DataFrame:
    """GPU key, price and power of every (GPU type, start day), by summary.job_costs."""
    if pairs:
        u = pd.concat(pairs, ignore_index=True).drop_duplicates(ignore_index=True)
    else:
        u = pd.DataFrame({"gpu_type": pd.array([], dtype="string"),
                          "day": pd.Series([], dtype="datetime64[us, UTC]")})
    jobs = pd.DataFrame({"gpu_type": u["gpu_type"], "start_time": u["day"], "elapsed_s": np.nan,
                         "n_gpus": np.nan, "state": pd.array([None] * len(u), dtype="string")})
    cc = job_costs(jobs, a, today).reset_index(drop=True)
    out = cc[["gpu_type", "gpu_key", *_PRICE_COLS[1:], "is_price_before_known", *_POWER_COLS[1:]]].copy()
    out.insert(1, "day", u["day"].to_numpy())
    return out


def median_year(parts: Sequence[pd.DataFrame]) -> int | None:
    """The year of the median start time (as pandas' median of the start times gives it)."""
    if not parts:
        return None
    y = pd.concat(parts).groupby(level=0).agg({"n": "sum", "lo": "min", "hi": "max"}).sort_index()
    n = int(y["n"].sum())
    if n == 0:
        return None
    cum = y["n"].cumsum().to_numpy()
    i_lo, i_hi = np.searchsorted(cum, [(n - 1) // 2 + 1, n // 2 + 1])
    if i_lo == i_hi:
        return int(y.index[i_lo])
    mid = (float(y["hi"].iloc[i_lo]) + float(y["lo"].iloc[i_hi])) / 2   # the two middle starts
    return int(pd.Timestamp(int(mid), unit="us").year)


# -- 3. partials ------------------------------------------------------------------------

@dataclass
class Partial:
    """Everything the summary needs from one partition (see the module doc)."""

    part: int
    n: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    states: pd.DataFrame | None = None          # state -> n, first
    sums: dict[str, list[int]] = field(default_factory=dict)      # column -> exact sum per segment
    nans: dict[str, list[int]] = field(default_factory=dict)      # column -> NaN count per segment
    cat_n: list[int] = field(default_factory=list)
    combos: pd.DataFrame | None = None          # one row per (GPU type, start day)
    el_counts: pd.Series | None = None          # elapsed_s of started jobs -> n
    el_sum: int = 0
    done_gh: pd.Series | None = None            # GPU-hours of completed GPU jobs -> n
    first_start: Any = None
    last_end: Any = None
    conc_t: np.ndarray | None = None            # instants (ns) with GPUs starting or ending
    conc_d: np.ndarray | None = None            # net GPUs starting at each instant
    conc_gpu_h: int = 0
    conc_lo: int | None = None
    conc_hi: int | None = None
    wp_sum: int = 0                             # sum of GPU-hours x power over jobs with GPU time
    sid: np.ndarray | None = None               # per row: stored search (code into sid_names), -1 none
    sid_names: list[str] = field(default_factory=list)
    key: np.ndarray | None = None               # per row: burst key (code into key_names), -1 none
    key_names: list[str] = field(default_factory=list)
    t_s: np.ndarray | None = None               # per row: submission (else start) time, s


def _first_pos(codes: np.ndarray, mask: np.ndarray, n_codes: int, part: int) -> np.ndarray:
    """Global position of the first row of each code among the masked rows (-1 if none)."""
    out = np.full(n_codes, -1, dtype=np.int64)
    rows = np.flatnonzero(mask)
    if len(rows):
        first = pd.Series(codes[rows]).drop_duplicates()
        out[first.to_numpy()] = (part << _POS_BITS) | rows[first.index.to_numpy()]
    return out


def _value_counts(values: np.ndarray) -> pd.Series:
    return pd.Series(values).value_counts(sort=False).sort_index()


def partial(path: str, plan: Plan, a: Assumptions, prices: pd.DataFrame, params: GroupingParams,
            part: int) -> Partial:
    """The partial of one partition file (runs on a Dask worker with the dask engine)."""
    return partial_of_frame(compute_rows(path, plan), a, prices, params, part)


def partial_of_frame(cj: pd.DataFrame, a: Assumptions, prices: pd.DataFrame, params: GroupingParams,
                     part: int = 0) -> Partial:
    """The partial of some compute rows (what summary.job_costs and summarize compute per
    job); ``prices`` is the :func:`price_table` of every (GPU type, start day) among them."""
    n = len(cj)
    p = Partial(part=part, n=n)
    starts = pd.to_datetime(cj["start_time"], utc=True)
    started = starts.notna().to_numpy()
    state = cj["state"].astype("string")
    running = state.eq("RUNNING").fillna(False).to_numpy(dtype=bool)
    elapsed = pd.to_numeric(cj["elapsed_s"], errors="raise").astype("float64")
    n_gpus = pd.to_numeric(cj["n_gpus"], errors="raise").astype("float64")
    gh = costing.gpu_hours(n_gpus, elapsed).where(started, 0.0)
    ghv = gh.to_numpy()

    # prices and power of each (GPU type, start day), from the price table
    day = starts.dt.floor("D")
    tcode, tuniq = pd.factorize(cj["gpu_type"].astype("string"), use_na_sentinel=False)
    dcode, duniq = pd.factorize(day, use_na_sentinel=False)
    nd = max(len(duniq), 1)
    ccode, cuniq = pd.factorize(tcode.astype(np.int64) * nd + dcode)
    lookup = {(None if _missing(t) else t, None if _missing(d) else d.value): i for i, (t, d) in
              enumerate(zip(prices["gpu_type"].astype(object), pd.DatetimeIndex(prices["day"]), strict=True))}
    tu = np.asarray(tuniq, dtype=object)
    du = pd.DatetimeIndex(duniq) if len(duniq) else pd.DatetimeIndex([], tz="UTC")
    rows = [lookup[(None if _missing(tu[c // nd]) else tu[c // nd],
                    None if _missing(du[c % nd]) else du[c % nd].value)] for c in cuniq]
    cc = prices.iloc[rows].reset_index(drop=True)
    nc = len(cc)
    low = pd.Series(cc["usd_per_gpu_hour_low"].to_numpy()[ccode], index=cj.index)
    high = pd.Series(cc["usd_per_gpu_hour_high"].to_numpy()[ccode], index=cj.index)
    power = pd.Series(cc["power_w"].to_numpy()[ccode], index=cj.index)
    before = cc["is_price_before_known"].to_numpy(dtype=bool)[ccode]

    # per-job money and impact, as summary.job_costs computes them
    pue, kg, usd_kwh = a.pue.value, a.carbon.kg_co2e_per_kwh, a.electricity_usd_per_kwh.value
    none = gh == 0
    vals = {"gpu_hours": gh,
            "cloud_usd_low": costing.cloud_usd(gh, low).mask(none, 0.0),
            "cloud_usd_high": costing.cloud_usd(gh, high).mask(none, 0.0),
            "energy_kwh": costing.energy_kwh(gh, power, pue).mask(none, 0.0)}
    vals["co2e_kg"] = costing.co2e_kg(vals["energy_kwh"], kg)
    vals["co2e_lbs"] = costing.kg_to_lbs(vals["co2e_kg"])
    vals["electricity_usd"] = costing.electricity_usd(vals["energy_kwh"], usd_kwh)
    threshold_s = a.crash_threshold_minutes.value * costing.S_PER_MINUTE
    crashed = started & ~running & (elapsed < threshold_s).fillna(False).to_numpy(dtype=bool)
    cat = np.full(n, len(WASTE_CATEGORIES), dtype=np.int64)
    for code, states in ((3, TIMEOUT_STATES), (2, CANCELLED_STATES), (1, FAILED_STATES)):
        cat[state.isin(states).fillna(False).to_numpy(dtype=bool)] = code
    cat[crashed] = 0

    known = started & ~np.isnan(ghv)
    used = ghv > 0                        # started, known and some GPU time
    p.counts = {
        "started": int(started.sum()), "running": int((started & running).sum()),
        "gpu_unknown": int((started & n_gpus.isna().to_numpy()).sum()),
        "elapsed_unknown": int((started & elapsed.isna().to_numpy()).sum()),
        "crashed": int(crashed.sum()), "before_known": int(before.sum()),
        "power_nan_used": int((used & power.isna().to_numpy()).sum()),
    }
    st = state.fillna("UNKNOWN")
    sc, su = pd.factorize(st)
    p.states = pd.DataFrame({"state": np.asarray(su, dtype=object), "n": np.bincount(sc, minlength=len(su)),
                             "first": _first_pos(sc, np.ones(n, bool), len(su), part)})
    seg = cat[known]
    for c in _SUM_COLUMNS:
        v = vals[c].to_numpy(dtype=float)[known]
        bad = np.isnan(v)
        p.sums[c] = exact_sums(np.where(bad, 0.0, v), seg, _N_SEG)
        p.nans[c] = np.bincount(seg[bad], minlength=_N_SEG).tolist()
    p.cat_n = np.bincount(cat, minlength=_N_SEG).tolist()
    p.wp_sum = exact_sums((ghv * power.to_numpy())[used & ~power.isna().to_numpy()])[0]

    # per (GPU type, start day): what the type, price, power and missing-value tables need
    combos = cc.drop(columns=["day"])
    combos["n_used"] = np.bincount(ccode[used], minlength=nc)
    combos["gh_used"] = exact_sums(ghv[used], ccode[used], nc)
    combos["first_used"] = _first_pos(ccode, used, nc, part)
    needs = used
    miss_price = needs & (low.isna() | high.isna()).to_numpy()
    miss_power = needs & power.isna().to_numpy()
    for name, m in (("price", miss_price), ("power", miss_power)):
        combos[f"n_miss_{name}"] = np.bincount(ccode[m], minlength=nc)
        combos[f"first_miss_{name}"] = _first_pos(ccode, m, nc, part)
    p.combos = combos

    # job lengths, span, the one model
    el = elapsed.to_numpy()[started]
    el = el[~np.isnan(el)]
    p.el_counts = _value_counts(el)
    p.el_sum = exact_sums(el)[0]
    done = state.eq("COMPLETED").fillna(False).to_numpy(dtype=bool) & used
    p.done_gh = _value_counts(ghv[done])
    elapsed_started = elapsed.where(started)
    end_eff = pd.to_datetime(cj["end_time"], utc=True)
    end_eff = end_eff.fillna(starts + pd.to_timedelta(elapsed_started, unit="s"))
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

    # grid searches: stored search ids and burst keys as codes (grouping's rules, in Arrow)
    p.sid, p.sid_names = _stored_search_codes(cj)
    if params.use_heuristics:
        when = pd.to_datetime(_col(cj, "submit_time"), utc=True).fillna(starts)
        p.key, p.key_names = _burst_key_codes(cj, when.notna().to_numpy())
        p.t_s = np.where(p.key >= 0, when.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6, np.nan)
    return p


def _arrow_text(s: pd.Series, fill: str | None = "") -> pa.Array:
    """A text column as Arrow strings (zero-copy when Arrow-backed), nulls as ``fill``."""
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr if fill is None else pc.fill_null(arr, fill)


def _encode(arr: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for null) and the distinct values, in order of first appearance."""
    enc = pc.dictionary_encode(arr)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


def _stored_search_codes(cj: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """:func:`rdcost.analysis.grouping.stored_search_ids` as codes into the distinct ids."""
    if not len(cj):
        return np.zeros(0, np.int64), []
    gid = _arrow_text(_col(cj, "group_id"), None)
    src = _arrow_text(_col(cj, "group_source"))
    src = pc.if_else(pc.equal(src, ""), "stored", src)
    cluster, project = _arrow_text(_col(cj, "cluster")), _arrow_text(_col(cj, "project"))
    scope = pc.if_else(pc.and_(pc.equal(src, "array"), pc.not_equal(cluster, "")), cluster, project)
    return _encode(pc.binary_join_element_wise(src, scope, gid, ":"))


def _burst_key_codes(cj: pd.DataFrame, timed: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The burst key of :func:`rdcost.analysis.grouping.burst_frame` (source, user, project, name
    stem) of each row with a stem and a time, as codes into the distinct keys (-1: none)."""
    n = len(cj)
    if not n:
        return np.zeros(0, np.int64), []
    name_c, names = _encode(_arrow_text(_col(cj, "job_name")))
    stems = name_stem(pd.Series(names, dtype="string"))         # once per distinct name
    stem_c, stem_u = pd.factorize(stems)                          # -1: no stem
    row_stem = stem_c[name_c]
    parts = [_encode(_arrow_text(_col(cj, c))) for c in ("source", "user", "project")]
    combined = np.zeros(n, np.int64)
    for codes, uniq in [*parts, (row_stem, list(stem_u))]:
        combined = pd.factorize(combined * (len(uniq) + 1) + (codes + 1))[0].astype(np.int64)
    keyed = timed & (row_stem >= 0)
    out = np.full(n, -1, np.int64)
    if not keyed.any():
        return out, []
    local, _ = pd.factorize(combined[keyed])
    out[keyed] = local
    first = np.flatnonzero(keyed)[pd.Series(local).drop_duplicates().index.to_numpy()]
    texts = [np.asarray(u, dtype=object)[c[first]] for c, u in parts]
    texts.append(np.asarray(stem_u, dtype=object)[row_stem[first]])
    keys = ["\x1f".join(v) for v in zip(*texts, strict=True)]
    return out, keys


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(pd.NA, index=df.index, dtype="object")


# -- 4. combine -------------------------------------------------------------------------

def _merge_codes(parts: Sequence[Partial], codes: str, names: str) -> np.ndarray:
    """Concatenate per-partition codes, renumbered into one global dictionary (-1 stays -1)."""
    out, lookup = [], {}
    for p in parts:
        c = getattr(p, codes)
        nm = getattr(p, names)
        if c is None:
            continue
        remap = np.array([lookup.setdefault(x, len(lookup)) for x in nm] + [-1], dtype=np.int64)
        out.append(remap[np.where(c < 0, len(nm), c)])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def search_sizes(sid: np.ndarray, key: np.ndarray, t_s: np.ndarray, params: GroupingParams) -> np.ndarray:
    """Jobs per grid search, by the rules of :func:`rdcost.analysis.grouping.find_groups` on codes:
    ``sid`` stored search per job (-1 none), ``key`` burst key (-1: no name stem or time),
    ``t_s`` submission time in seconds; rows in table order."""
    sid = sid.copy()
    if params.use_heuristics and len(key):
        rows = np.flatnonzero(key >= 0)
        order = rows[np.lexsort((t_s[rows], key[rows]))]        # stable: ties keep table order
        d = pd.DataFrame({"key": key[order], "t_s": t_s[order]})
        if params.join_stored_bursts and (sid >= 0).any():
            burst, _ = burst_labels(d, params.max_gap_s)
            s = sid[order]
            have = s >= 0
            pairs = pd.DataFrame({"b": burst[have], "s": s[have]}).drop_duplicates()
            one = pairs.groupby("b")["s"].agg(["nunique", "first"])
            one = one[one["nunique"] == 1]["first"]
            join = ~have & np.isin(burst, one.index.to_numpy())
            sid[order[join]] = one.reindex(burst[join]).to_numpy()
        rest = order[sid[order] < 0]
        burst, _ = burst_labels(pd.DataFrame({"key": key[rest], "t_s": t_s[rest]}), params.max_gap_s)
        size = np.bincount(burst)
        heur = size[size >= params.min_jobs]
    else:
        heur = np.zeros(0, np.int64)
    stored = np.bincount(sid[sid >= 0]) if (sid >= 0).any() else np.zeros(0, np.int64)
    return np.concatenate([stored[stored > 0], heur]).astype(np.int64)


def _order_stat(values: np.ndarray, cum: np.ndarray, rank: int) -> float:
    return float(values[np.searchsorted(cum, rank + 1)])


def _median(vc: pd.Series) -> float | None:
    if vc.empty:
        return None
    v, cum = vc.index.to_numpy(dtype=float), np.cumsum(vc.to_numpy())
    n = int(cum[-1])
    if n % 2:
        return _order_stat(v, cum, n // 2)
    return (_order_stat(v, cum, n // 2 - 1) + _order_stat(v, cum, n // 2)) / 2


def _quantile(vc: pd.Series, q: float) -> float:
    """numpy's linear quantile of the values counted in ``vc`` (index sorted)."""
    v, cum = vc.index.to_numpy(dtype=float), np.cumsum(vc.to_numpy())
    n = int(cum[-1])
    qa = np.asarray([q], dtype=np.float64)
    vi = (n - 1) * qa                          # numpy's "linear" virtual index
    prev = np.floor(vi)
    gamma = np.asanyarray(vi - prev)
    lo = int(min(max(prev[0], 0), n - 1))
    hi = int(min(max(prev[0] + 1, 0), n - 1))
    if vi[0] >= n - 1:
        lo = hi = n - 1
    elif vi[0] < 0:
        lo = hi = 0
    a, b = np.float64(_order_stat(v, cum, lo)), np.float64(_order_stat(v, cum, hi))
    diff = b - a
    res = a + diff * gamma[0]
    if gamma[0] >= 0.5:
        res = b - diff * (1 - gamma[0])
    return float(res)


def _by_first(rows: pd.DataFrame, keys: list[str], first: str, sums: Sequence[str]) -> list[dict[str, Any]]:
    """Group (GPU type, day) rows by ``keys`` (missing equal to missing), adding up ``sums``;
    groups in order of their first job, as pandas' groupby(sort=False, dropna=False) gives them."""
    groups: dict[tuple, dict[str, Any]] = {}
    for rec in rows.to_dict("records"):
        if rec[first] < 0:
            continue
        k = tuple(None if _missing(rec[c]) else rec[c] for c in keys)
        g = groups.get(k)
        if g is None:
            groups[k] = {**{c: rec[c] for c in keys}, **{c: rec[c] for c in sums}, "_first": rec[first]}
        else:
            for c in sums:
                g[c] += rec[c]
            g["_first"] = min(g["_first"], rec[first])
    return sorted(groups.values(), key=lambda g: g["_first"])


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def combine(parts: Sequence[Partial], a: Assumptions, year: int | None, *, project: str | None,
            on_missing: str, params: GroupingParams) -> Summary:
    """The summary from the partials of every partition (in file order)."""
    parts = sorted(parts, key=lambda p: p.part)
    n = sum(p.n for p in parts)
    cnt = {k: sum(p.counts.get(k, 0) for p in parts) for k in
           ("started", "running", "gpu_unknown", "elapsed_unknown", "crashed", "before_known", "power_nan_used")}
    combos = pd.concat([p.combos for p in parts if p.combos is not None and len(p.combos)], ignore_index=True) \
        if any(p.combos is not None and len(p.combos) for p in parts) else None
    notes: list[str] = []
    _check_missing(combos, on_missing, notes)

    def seg_sum(c: str, segs: Sequence[int]) -> int:
        return sum(p.sums[c][s] for p in parts for s in segs)

    def seg_nan(c: str, segs: Sequence[int]) -> int:
        return sum(p.nans[c][s] for p in parts for s in segs)

    def sums(segs: Sequence[int]) -> dict[str, float | None]:
        return {c: None if seg_nan(c, segs) else exact_float(seg_sum(c, segs)) for c in (*MONEY, *IMPACT)}

    all_segs = range(_N_SEG)
    gh_total = exact_float(seg_sum("gpu_hours", all_segs))
    if cnt["gpu_unknown"]:
        notes.append(f"{cnt['gpu_unknown']:,} started jobs have an unknown GPU count; they are counted "
                     "as jobs but left out of GPU-hours, cost, energy and CO2e")
    if cnt["running"]:
        notes.append(f"{cnt['running']:,} jobs were still RUNNING at export; their time is counted up to the export")

    # job lengths and span
    el = _merge_counts([p.el_counts for p in parts])
    n_el = int(el.sum()) if len(el) else 0
    firsts = [p.first_start for p in parts if p.first_start is not None and not pd.isna(p.first_start)]
    lasts = [p.last_end for p in parts if p.last_end is not None and not pd.isna(p.last_end)]
    first = min(firsts) if firsts else pd.NaT
    last = max(lasts) if lasts else pd.NaT
    span_days = None if pd.isna(first) or pd.isna(last) else (last - first).total_seconds() / 86_400
    conc = _concurrency(parts)

    # grid searches, one model, tuning round
    sizes = search_sizes(_merge_codes(parts, "sid", "sid_names"), _merge_codes(parts, "key", "key_names"),
                         np.concatenate([p.t_s for p in parts if p.t_s is not None])
                         if any(p.t_s is not None for p in parts) else np.zeros(0), params)
    per_search = pd.Series(sizes, dtype="int64")
    one_model = a.one_model_gpu_hours or _one_model(_merge_counts([p.done_gh for p in parts]))
    tuning = a.tuning_round_n_jobs or _tuning_round(per_search)
    n_round = None if tuning is None else _whole(tuning.value)

    totals = sums(all_segs)
    eff = {"usd_per_gpu_hour_low": None, "usd_per_gpu_hour_high": None, "power_w": None}
    if gh_total > 0:
        eff = {"usd_per_gpu_hour_low": None if totals["cloud_usd_low"] is None else totals["cloud_usd_low"] / gh_total,
               "usd_per_gpu_hour_high": None if totals["cloud_usd_high"] is None
               else totals["cloud_usd_high"] / gh_total,
               "power_w": None if cnt["power_nan_used"] else exact_float(sum(p.wp_sum for p in parts)) / gh_total}
    rd = []
    for label, nj, g in (("one model", 1, None if one_model is None else one_model.value),
                         ("one tuning round", n_round,
                          None if one_model is None or tuning is None else one_model.value * tuning.value)):
        rd.append(_scaled_row(label, nj, g, eff, a))
    rd.append({"label": "all R&D", "n_jobs": n, "gpu_hours": gh_total, **totals})

    cats = []
    for i, c in enumerate(WASTE_CATEGORIES):
        cats.append({"category": c, "n_jobs": sum(p.cat_n[i] for p in parts),
                     "gpu_hours": exact_float(seg_sum("gpu_hours", [i])), **sums([i])})
    waste_segs = range(len(WASTE_CATEGORIES))
    total = {"category": "total", "n_jobs": sum(p.cat_n[i] for p in parts for i in waste_segs),
             "gpu_hours": exact_float(seg_sum("gpu_hours", waste_segs)), **sums(waste_segs)}
    waste = {"categories": cats, "total": total,
             "share_of_gpu_hours": total["gpu_hours"] / gh_total if gh_total > 0 else None}
    comps = _comparisons(totals["co2e_lbs"])
    st = pd.concat([p.states for p in parts if p.states is not None], ignore_index=True) \
        if parts else pd.DataFrame(columns=["state", "n", "first"])
    st = st.groupby("state", sort=False).agg(n=("n", "sum"), first=("first", "min"))
    st = st.assign(neg=-st["n"]).sort_values(["neg", "first"], kind="stable")
    types = _gpu_types(combos, gh_total)
    if cnt["before_known"]:
        notes.append(f"{cnt['before_known']:,} jobs ran before the earliest known price "
                     "of their GPU; the earliest known price is used")

    el_min = None if not n_el else float(el.index.min())
    el_max = None if not n_el else float(el.index.max())
    return Summary(
        project=project, n_jobs=n, n_jobs_started=cnt["started"], n_jobs_never_started=n - cnt["started"],
        n_jobs_running=cnt["running"], n_jobs_gpu_unknown=cnt["gpu_unknown"],
        n_jobs_elapsed_unknown=cnt["elapsed_unknown"],
        n_grid_searches=int(len(per_search)), n_jobs_in_grid_searches=int(per_search.sum()),
        gpu_hours=gh_total, gpu_days=gh_total / costing.HOURS_PER_DAY,
        gpu_years=gh_total / costing.HOURS_PER_DAY / costing.DAYS_PER_YEAR,
        first_start_time=iso(first), last_end_time=iso(last), span_days=span_days,
        min_job_minutes=None if el_min is None else el_min / costing.S_PER_MINUTE,
        mean_job_hours=None if not n_el else exact_float(sum(p.el_sum for p in parts)) / n_el / costing.S_PER_HOUR,
        median_job_hours=None if not n_el else _median(el) / costing.S_PER_HOUR,
        max_job_days=None if el_max is None else el_max / 86_400,
        crash_threshold_minutes=a.crash_threshold_minutes.value, n_crashed_jobs=cnt["crashed"],
        jobs_by_state={str(k): int(v) for k, v in st["n"].items()},
        gpu_type_share={t["gpu_type"]: t["share_of_gpu_hours"] for t in types},
        gpu_types=types,
        mean_concurrent_gpus=conc.mean_concurrent_gpus, peak_concurrent_gpus=conc.peak_concurrent_gpus,
        peak_concurrent_time=iso(conc.peak_time),
        one_model_gpu_hours=None if one_model is None else one_model.value,
        tuning_round_n_jobs=n_round,
        rd_table=rd, **totals, comparisons=comps, waste=waste,
        assumptions=_assumptions_used(a, combos, one_model, tuning, eff, year),
        notes=notes,
    )


def _merge_counts(series: Sequence[pd.Series | None]) -> pd.Series:
    s = [x for x in series if x is not None and len(x)]
    if not s:
        return pd.Series(dtype="int64")
    return pd.concat(s).groupby(level=0).sum().sort_index()


def _one_model(gh: pd.Series) -> Sourced | None:
    if gh.empty:
        return None
    threshold = _quantile(gh, FINAL_SIZE_QUANTILE)
    final = gh[gh.index.to_numpy(dtype=float) >= threshold]
    return Sourced(float(_median(final)), "GPU-hours", ONE_MODEL_RULE, "derived from the data",
                   note=f"{int(final.sum()):,} final-size runs of {int(gh.sum()):,} completed jobs")


def _concurrency(parts: Sequence[Partial]) -> costing.Concurrency:
    have = [p for p in parts if p.conc_t is not None]
    if not have:
        return costing.Concurrency(None, None, None, None)
    t = np.concatenate([p.conc_t for p in have])
    order = np.argsort(t, kind="stable")        # sorted runs, one per partition: a merge
    t = t[order]
    new = np.ones(len(t), dtype=bool)
    new[1:] = t[1:] != t[:-1]
    times = t[new]
    delta = np.add.reduceat(np.concatenate([p.conc_d for p in have])[order], np.flatnonzero(new))
    level = np.cumsum(delta)
    i_peak = int(np.argmax(level))
    span_ns = max(p.conc_hi for p in have) - min(p.conc_lo for p in have)
    span_h = span_ns / 1e9 / costing.S_PER_HOUR
    gpu_h = exact_float(sum(p.conc_gpu_h for p in have))
    mean = gpu_h / span_h if span_h > 0 else None
    return costing.Concurrency(mean, float(level[i_peak]), pd.Timestamp(int(times[i_peak]), tz="UTC"), span_h)


def _check_missing(combos: pd.DataFrame | None, on_missing: str, notes: list[str]) -> None:
    if combos is None:
        return
    problems = []
    for what in ("price", "power"):
        c = combos[combos[f"n_miss_{what}"] > 0]
        if c.empty:
            continue
        t = c.assign(label=c["gpu_type"].astype(object).where(c["gpu_type"].notna(), "(no GPU type)"))
        t = t.groupby("label", sort=False).agg(n=(f"n_miss_{what}", "sum"), first=(f"first_miss_{what}", "min"))
        t = t.assign(neg=-t["n"]).sort_values(["neg", "first"], kind="stable")
        listed = ", ".join(f"{k} ({int(v):,} jobs)" for k, v in t["n"].items())
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


def _gpu_types(combos: pd.DataFrame | None, gh_total: float) -> list[dict[str, Any]]:
    if combos is None:
        return []
    c = combos[combos["n_used"] > 0].assign(
        gpu_type=lambda x: x["gpu_type"].astype(object).where(x["gpu_type"].notna(), "unknown"),
        gpu_key=lambda x: x["gpu_key"].astype(object).where(x["gpu_key"].notna(), "unknown"))
    g = _by_first(c, ["gpu_type", "gpu_key"], "first_used", ["n_used", "gh_used"])
    out = [{"gpu_type": str(r["gpu_type"]), "gpu_key": str(r["gpu_key"]), "n_jobs": int(r["n_used"]),
            "gpu_hours": exact_float(r["gh_used"]),
            "share_of_gpu_hours": exact_float(r["gh_used"]) / gh_total if gh_total > 0 else None}
           for r in g]
    return sorted(out, key=lambda r: -r["gpu_hours"])


def _assumptions_used(a: Assumptions, combos: pd.DataFrame | None, one_model: Sourced | None,
                      tuning: Sourced | None, eff: dict[str, Any], year: int | None) -> dict[str, Any]:
    """summary._assumptions_used, from the (GPU type, day) rows instead of the jobs."""
    prices, power = [], []
    if combos is not None and (combos["n_used"] > 0).any():
        used = combos[combos["n_used"] > 0].copy()
        used["gpu_key"] = used["gpu_key"].astype(object).where(used["gpu_key"].notna(), "unknown")
        used["n_before"] = np.where(used["is_price_before_known"].to_numpy(dtype=bool), used["n_used"], 0)
        for r in _by_first(used, _PRICE_COLS, "first_used", ["n_used", "gh_used", "n_before"]):
            row = {c: _nan_if_missing(r[c]) for c in _PRICE_COLS}
            row["n_jobs"] = int(r["n_used"])
            row["gpu_hours"] = exact_float(r["gh_used"])
            row["n_jobs_before_known_price"] = int(r["n_before"])
            pk = row["price_key"]
            notes = [row.pop("price_note")]
            if isinstance(pk, str) and pk in a.prices and row["price_rule"] == "fixed":
                row["origin"] = a.prices[pk].origin
                notes.append(a.prices[pk].note)
            else:
                row["origin"] = f"refdata cloud_prices.csv ({a.price_date.replace('_', ' ')} prices)"
            row["note"] = "; ".join(x for x in notes if isinstance(x, str) and x)
            prices.append(row)
        for r in _by_first(used, _POWER_COLS, "first_used", ["n_used"]):
            power.append({"gpu_key": _nan_if_missing(r["gpu_key"]), "power_w": _nan_if_missing(r["power_w"]),
                          "basis": _nan_if_missing(r["power_basis"]), "source": _nan_if_missing(r["power_source"]),
                          "origin": _nan_if_missing(r["power_rule"]), "n_jobs": int(r["n_used"])})
    return assumptions_block(a, prices, power, one_model, tuning, eff, year)


def _nan_if_missing(v: Any) -> Any:
    """Missing group keys as pandas' groupby(dropna=False) gives them (NaN)."""
    if _missing(v):
        return float("nan")
    return v.item() if isinstance(v, np.generic) else v


# -- the entry points ---------------------------------------------------------------------

def summarize_store(store: Store | str, project: str | None = None,
                    defs: Mapping[str, ProjectDef] | None = None,
                    assumptions: Assumptions | None = None, *, engine: str = "pandas",
                    scheduler: str | None = None, today: pd.Timestamp | None = None,
                    on_missing: str = "raise", grouping: GroupingParams | None = None) -> Summary:
    """The summary of the stored jobs (one project's with ``project``), partition by partition.

    ``defs`` are project definitions (:func:`rdcost.analysis.projects.load_projects`);
    ``engine`` is ``pandas`` (this process) or ``dask`` (``scheduler``: the
    address of a running Dask scheduler, else dask's local threads). Other
    arguments mean what they mean for :func:`rdcost.analysis.summary.summarize`.
    Raises :class:`RdcostError` when no job is selected.
    """
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}", value=engine)
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler needs --engine dask", value=scheduler)
    if on_missing not in ("raise", "unknown"):
        raise ValueError(f"on_missing must be raise or unknown, got {on_missing!r}")
    st = store if isinstance(store, Store) else Store(store)
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    params = grouping or GroupingParams()
    pdef = defs.get(project) if (defs and project is not None) else None
    files = [str(f) for f in st.files()]
    drop, fill = link_plan(files, project, pdef)
    cols = set(COST_COLUMNS) | set(GROUP_COLUMNS)
    if pdef is not None:
        cols |= set(PROJECT_COLUMNS)
    if drop or fill:
        cols.add("record_key")
    ycols = {"start_time", "gpu_type"} | (set(PROJECT_COLUMNS) if pdef is not None else set())
    if drop or fill:
        ycols.add("record_key")
    plan = Plan(columns=tuple(c for c in schema.COLUMN_NAMES if c in cols),
                year_columns=tuple(c for c in schema.COLUMN_NAMES if c in ycols), project=project,
                project_def=pdef, drop_keys=drop, group_fill=fill)
    run = _run_dask(scheduler) if engine == "dask" else _run_local
    years = run(year_partial, [(f, plan) for f in files])
    if sum(y[0] for y in years) == 0:
        raise RdcostError(f"no jobs for project {project!r}" if project else "the store holds no jobs",
                          hint="`rdcost jobs --columns project` lists the stored projects")
    year = median_year([y[1] for y in years])
    a = a0.for_year(year)
    prices = price_table([y[2] for y in years], a, today)
    parts = run(partial, [(f, plan, a, prices, params, i) for i, f in enumerate(files)])
    return combine(parts, a, year, project=project, on_missing=on_missing, params=params)


def summarize_frame(jobs: pd.DataFrame, assumptions: Assumptions | None = None, *,
                    project: str | None = None, today: pd.Timestamp | None = None,
                    on_missing: str = "raise", grouping: GroupingParams | None = None,
                    n_parts: int = 1) -> Summary:
    """The partial/combine path on an in-memory job table cut into ``n_parts`` pieces
    (the same figures as :func:`rdcost.analysis.summary.summarize`; used to check the engines)."""
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    params = grouping or GroupingParams()
    cj = compute_jobs(jobs).reset_index(drop=True)
    starts = pd.to_datetime(cj["start_time"], utc=True)
    year = None if starts.notna().sum() == 0 else int(starts.dropna().median().year)
    a = a0.for_year(year)
    prices = price_table([_pairs(cj["gpu_type"], starts)], a, today)
    bounds = np.linspace(0, len(cj), n_parts + 1).astype(int)
    parts = [partial_of_frame(cj.iloc[lo:hi].reset_index(drop=True), a, prices, params, i)
             for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))]
    return combine(parts, a, year, project=project, on_missing=on_missing, params=params)


def _run_local(fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
    return [fn(*args) for args in calls]


def _run_dask(scheduler: str | None) -> Callable[[Callable[..., Any], list[tuple]], list[Any]]:
    try:
        import dask
    except ImportError as exc:
        raise UsageError("--engine dask needs dask: pip install 'rdcost[dask]'") from exc

    def run(fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        tasks = [dask.delayed(fn, pure=True)(*args) for args in calls]
        if scheduler is None:
            return list(dask.compute(*tasks, scheduler="threads"))
        try:
            from distributed import Client
        except ImportError as exc:
            raise UsageError("--scheduler needs distributed: pip install 'rdcost[dask]'") from exc
        with Client(scheduler, set_as_default=False) as client:
            return list(client.gather(client.compute(tasks)))

    return run
