"""How the summary reads a store: which rows of which columns each partition task
reads, the links between runs and Slurm jobs found before the partials (so a run
that names its Slurm job is counted once), and the year of the median start.

1. **Links** (a subset): the rows that are not compute (MLflow parents of a
   search, runs that name the Slurm job they ran in) and the search groups
   Slurm rows take from their runs are found with
   :func:`rdcost.analysis.linking.compute_jobs` on the non-Slurm rows plus the
   Slurm rows whose ids they name, read with filters pushed down to parquet.
2. **Year** (one column): each partition counts its compute jobs' start
   times per year; the year of the median start fixes the year-dependent
   assumptions (PUE, carbon intensity, electricity price), and each partition
   lists its distinct (GPU type, start day) for the price table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from rdcost.analysis.energy.capacity import NodeCapacity
from rdcost.analysis.gpu_resolution import GpuEvidence
from rdcost.analysis.linking import compute_jobs, link_counts
from rdcost.analysis.projects import ProjectDef, project_mask
from rdcost.analysis.summary.job_costs import placed_time
from rdcost.jobtable import schema

#: A job's measured GPU use (a linked run's fills its Slurm row's gaps).
MEASURED_COLUMNS = ["gpu_util_percent", "gpu_power_w", "n_gpus_unused", "gpu_metrics_source"]
#: Columns the summary reads from every partition.
COST_COLUMNS = [
    "job_id",
    "start_time",
    "end_time",
    "submit_time",
    "elapsed_s",
    "timelimit_s",
    "n_gpus",
    "gpu_type",
    "state",
    "partition",
    "node_list",
    "is_inferred",
    "derived_columns",
    "ingested_time",
    # the energy model (rdcost.analysis.energy.model)
    "n_nodes",
    "n_cpus",
    "mem_req_bytes",
    "total_cpu_s",
    "energy_j",
    "energy_j_field",
    *MEASURED_COLUMNS,
]
#: Columns the first pass reads (the year of the jobs, the GPU types of partitions and nodes).
YEAR_COLUMNS = [
    "start_time",
    "submit_time",
    "gpu_type",
    "n_gpus",
    "elapsed_s",
    "partition",
    "node_list",
    "n_nodes",
]
GROUP_COLUMNS = [
    "source",
    "user",
    "project",
    "job_name",
    "submit_time",
    "group_id",
    "group_source",
    "cluster",
]
#: Extra columns a project definition (--projects-file) looks at.
PROJECT_COLUMNS = ["account", "user", "project", "job_name", "start_time", "submit_time"]
#: Columns linking looks at (read for the non-Slurm rows and the Slurm rows they name).
LINK_COLUMNS = [
    "record_key",
    "source",
    "cluster",
    "job_id",
    "job_id_raw",
    "run_id",
    "parent_run_id",
    "is_container",
    "linked_slurm_job_id",
    "start_time",
    "end_time",
    "group_id",
    "group_source",
    *MEASURED_COLUMNS,
]
_ATTACHED = ("config_json", "metrics_json", "other_json")


@dataclass(frozen=True)
class Plan:
    """How a partition task selects its compute rows (picklable for Dask workers)."""

    columns: tuple[str, ...]  # read by the partials
    year_columns: tuple[str, ...] = ()  # read by the year pass
    project: str | None = None  # stored project value (filter pushed down)
    project_def: ProjectDef | None = None  # --projects-file definition
    drop_keys: frozenset[str] = frozenset()  # record keys of rows that are not compute
    group_fill: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)  # record key -> group
    measured_fill: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # -> MEASURED

    def filter(self) -> ds.Expression | None:
        if self.project is not None and self.project_def is None:
            return ds.field("project") == self.project
        return None


def read_partition(
    path: str, columns: Sequence[str], filter: ds.Expression | None = None
) -> pa.Table:
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
    if plan.measured_fill and "gpu_power_w" in df:
        hit = df["record_key"].isin(list(plan.measured_fill)).to_numpy()
        for row in np.flatnonzero(hit).tolist():
            for c, v in zip(
                MEASURED_COLUMNS, plan.measured_fill[df["record_key"].iat[row]], strict=True
            ):
                df.loc[df.index[row], c] = v
    return df


# -- 1. links -------------------------------------------------------------------------


def link_plan(
    store_files: Sequence[str],
    project: str | None,
    project_def: ProjectDef | None,
    read: Callable[..., pa.Table] = read_partition,
    counts: dict[str, int] | None = None,
    measured: dict[str, tuple] | None = None,
) -> tuple[frozenset[str], dict[str, tuple]]:
    """(record keys of rows that are not compute, record key -> (group_id, group_source) of
    Slurm rows that take the group of their run), from the non-Slurm rows and the Slurm
    rows they name (or, for plain-CSV rows, repeat); ``counts`` gets
    :func:`rdcost.analysis.linking.link_counts`, ``measured`` record key -> the
    :data:`MEASURED_COLUMNS` of Slurm rows that take their run's measured GPU use."""
    counts = {} if counts is None else counts
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
    csv_ids = others.loc[
        others["source"].astype("string").eq("csv").fillna(False).to_numpy(dtype=bool), "job_id"
    ]
    ids = pd.concat([others["linked_slurm_job_id"], csv_ids]).dropna().astype(str).unique().tolist()
    slurm = (
        rows(
            (ds.field("source") == "slurm")
            & (ds.field("job_id_raw").isin(ids) | ds.field("job_id").isin(ids))
        )
        if ids
        else others.iloc[:0]
    )
    small = pd.concat([others, slurm], ignore_index=True)
    for c in _ATTACHED:
        small[c] = None
    kept = compute_jobs(small)
    counts.update(link_counts(small))
    drop = frozenset(small.loc[~small.index.isin(kept.index), "record_key"].dropna().astype(str))
    fill: dict[str, tuple] = {}
    sl = kept[kept["source"].astype("string").eq("slurm").fillna(False).to_numpy(dtype=bool)]
    if len(sl) and measured is not None:
        b = small.loc[sl.index, MEASURED_COLUMNS].astype(object)
        a = sl[MEASURED_COLUMNS].astype(object)
        diff = ~(b.fillna("\0").eq(a.fillna("\0"))).all(axis=1)
        for k, row in zip(
            sl.loc[diff.to_numpy(), "record_key"],
            a[diff.to_numpy()].itertuples(index=False),
            strict=True,
        ):
            measured[str(k)] = tuple(None if pd.isna(v) else v for v in row)
    if len(sl):
        before = small.loc[sl.index, ["group_id", "group_source"]]
        changed = ~(
            before["group_id"]
            .astype(object)
            .fillna("\0")
            .eq(sl["group_id"].astype(object).fillna("\0"))
            & before["group_source"]
            .astype(object)
            .fillna("\0")
            .eq(sl["group_source"].astype(object).fillna("\0"))
        )
        for k, g, s in sl.loc[
            changed.to_numpy(), ["record_key", "group_id", "group_source"]
        ].itertuples(index=False):
            fill[str(k)] = (None if pd.isna(g) else g, None if pd.isna(s) else s)
    return drop, fill


# -- 2. year --------------------------------------------------------------------------


def year_partial(
    path: str, plan: Plan, aliases: Mapping[str, str] | None = None
) -> tuple[int, pd.DataFrame, GpuEvidence, NodeCapacity]:
    """The number of compute rows; per year of start (else submission): n, min and max
    (int64 microseconds); the GPU types the partition's typed jobs show per partition and
    node (:class:`rdcost.analysis.gpu_resolution.GpuEvidence`); and the GPUs per node they
    show (:class:`rdcost.analysis.energy.capacity.NodeCapacity`)."""
    df = compute_rows(path, plan, plan.year_columns)
    capacity = NodeCapacity.of(df)
    t = placed_time(df).dropna()
    us = t.to_numpy(dtype="datetime64[us]").astype(np.int64)
    g = pd.DataFrame({"year": t.dt.year.to_numpy(), "us": us}).groupby("year")["us"]
    return (
        len(df),
        pd.DataFrame({"n": g.size(), "lo": g.min(), "hi": g.max()}),
        GpuEvidence.of(df, aliases),
        capacity,
    )


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
    mid = (float(y["hi"].iloc[i_lo]) + float(y["lo"].iloc[i_hi])) / 2  # the two middle starts
    return int(pd.Timestamp(int(mid), unit="us").year)
