"""Job rows from the parsed values of sacct allocation lines: one row per allocation,
its usage folded in, values the export lacks derived (:mod:`rdcost.readers.derived`),
its record key, and duplicate records of one job in one file merged."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from rdcost.jobtable.schema import TERMINAL_STATES
from rdcost.readers.base import ParseOptions
from rdcost.readers.derived import derive_times
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.chunking import _np
from rdcost.readers.slurm.cut_values import cut_columns
from rdcost.readers.slurm.record_keys import slurm_record_keys
from rdcost.readers.slurm.records import Records
from rdcost.readers.slurm.row_values import RowValues
from rdcost.readers.slurm.step_usage import AllocationUsage


def allocation_rows(
    recs: Records,
    A: np.ndarray,
    vals: RowValues,
    usage: AllocationUsage,
    keep: np.ndarray,
    opts: ParseOptions,
    source_format: str,
    extra: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The job rows of the allocation lines at positions ``A`` where ``keep``; ``extra``:
    more columns, one value per allocation line (energy and GPU use,
    :func:`rdcost.readers.slurm.gpu_usage.gpu_columns`)."""
    kept = np.flatnonzero(keep)
    na = len(A)

    def k(values: Any) -> Any:
        """Values of the kept allocations (strings stay Arrow-backed; NA for missing)."""
        if isinstance(values, pd.Series):
            return values.iloc[kept].reset_index(drop=True)
        arr = np.asarray(values, dtype=object)[keep]
        arr[pd.isna(arr)] = None
        return arr

    jid_a = recs.jid.iloc[A].reset_index(drop=True)
    assert vals.state is not None and vals.n_gpus is not None and vals.gpu_type is not None
    # sacct prints 0:0 for jobs that have not ended: their exit status is unknown
    unfinished = vals.state.isin(["PENDING", "RUNNING", "SUSPENDED"]).to_numpy(dtype=bool)
    ex = vals.exit
    cols = {
        "source_line": recs.lines[A[keep]],
        **{c: k(v) for c, v in identity_columns(recs, A, vals, opts).items()},
        "state": k(vals.state),
        "state_raw": k(vals.state_raw if vals.state_raw is not None else vals.missing()),
        "exit_code": _unless(ex["status"], unfinished)[keep] if ex is not None else None,
        "exit_signal": _unless(ex["signal"], unfinished)[keep] if ex is not None else None,
        "submit_time": vals.times["Submit"].array[keep],
        "start_time": vals.times["Start"].array[keep],
        "end_time": vals.times["End"].array[keep],
        "elapsed_s": floats(vals.elapsed, na)[keep],
        "timelimit_s": floats(vals.timelimit, na)[keep],
        "n_nodes": ints(vals.n_nodes, na)[keep],
        "n_cpus": ints(vals.n_cpus, na)[keep],
        "n_gpus": vals.n_gpus.to_numpy(dtype=float)[keep],
        "gpu_type": k(vals.gpu_type),
        "mem_req_bytes": ints(vals.mem, na)[keep],
        "max_rss_bytes": ints(usage.max_rss, na)[keep],
        "total_cpu_s": floats(usage.total_cpu, na)[keep],
        "energy_j": floats(usage.energy, na)[keep],
        "cut_columns": cut_columns(vals.col("_cut"), na)[keep],
        "array_task_id": jid_a["array_task_id"].array[keep],
        "het_offset": jid_a["het_offset"].array[keep],
        **{c: np.asarray(v)[keep] for c, v in (extra or {}).items()},
    }
    marks = {}
    if usage.total_cpu_derived is not None:
        marks["total_cpu_s"] = usage.total_cpu_derived[keep]
    return finish(
        pd.DataFrame(cols), source_format, marks, never_started=_start_unknown(vals)[keep]
    )


class Columns(Protocol):
    """What identity_columns reads of a RowValues (or of some of its rows)."""

    def col(self, name: str) -> pd.Series | None: ...

    def missing(self) -> pd.Series: ...


def identity_columns(
    recs: Records, A: np.ndarray, vals: Columns, opts: ParseOptions
) -> dict[str, Any]:
    """Who and where of the lines at ``A`` (all of them): ids, names, cluster, nodes."""
    cluster = vals.col("Cluster")
    cluster = cluster if cluster is not None else vals.missing()
    if opts.cluster is not None:
        cluster = cluster.where(cluster.notna(), opts.cluster)
    user, uid = vals.col("User"), vals.col("UID")
    if user is None:
        user = uid if uid is not None else vals.missing()
    elif uid is not None:
        user = user.where(user.notna(), uid)
    node_list = vals.col("NodeList")
    if node_list is not None:
        node_list = node_list.where(
            ~_np(pc.equal(pc.utf8_lower(sv.arrow_strings(node_list)), "none assigned")), None
        )
    jid_a = recs.jid.iloc[A].reset_index(drop=True)
    job_id_raw = vals.col("JobIDRaw") if recs.id_column == "JobID" else None
    if job_id_raw is not None:  # a step's JobIDRaw ("123.batch") names its allocation's id
        job_id_raw = job_id_raw.str.replace(r"\..*$", "", regex=True)
    plain = (jid_a["array_job_id"].isna() & jid_a["het_job_id"].isna()).to_numpy()
    derived_raw = jid_a["base_id"].where(plain, None)
    job_id_raw = (
        derived_raw if job_id_raw is None else job_id_raw.where(job_id_raw.notna(), derived_raw)
    )
    is_array = jid_a["array_job_id"].notna().to_numpy()
    return {
        "cluster": cluster,
        "job_id": recs.jid["alloc_id"].iloc[A].reset_index(drop=True),
        "job_id_raw": job_id_raw,
        "array_job_id": jid_a["array_job_id"],
        "het_job_id": jid_a["het_job_id"],
        "job_name": vals.col("JobName") if vals.col("JobName") is not None else vals.missing(),
        "user": user,
        "account": vals.col("Account") if vals.col("Account") is not None else vals.missing(),
        "partition": vals.col("Partition") if vals.col("Partition") is not None else vals.missing(),
        "qos": vals.col("QOS") if vals.col("QOS") is not None else vals.missing(),
        "group_id": jid_a["array_job_id"],
        "group_source": np.where(is_array, "array", None),  # type: ignore[call-overload]  # numpy's stubs reject a None branch; numpy takes it
        "node_list": node_list if node_list is not None else vals.missing(),
    }


def _start_unknown(vals: RowValues) -> np.ndarray:
    """Lines whose Start says the job never started (``Unknown``, ``None``)."""
    start = vals.col("Start")
    if start is None:
        return np.zeros(vals.n, dtype=bool)
    return (vals.times["Start"].isna() & start.notna()).to_numpy(dtype=bool)


def finish(
    jobs: pd.DataFrame,
    source_format: str,
    marks: dict[str, np.ndarray],
    never_started: np.ndarray | None = None,
) -> pd.DataFrame:
    """Source columns, derived values (marked) and record keys of built job rows."""
    jobs.insert(0, "source", "slurm")
    jobs.insert(1, "source_format", source_format)
    jobs["is_gpu_assumed"] = False
    if "is_inferred" not in jobs:
        jobs["is_inferred"] = False
    derive_times(jobs, marks, never_started)
    if len(jobs):
        jobs["record_key"] = slurm_record_keys(
            jobs["cluster"], jobs["job_id"], jobs["submit_time"]
        ).to_numpy()
    else:
        jobs["record_key"] = pd.Series([], dtype=object)
    return jobs


def merge_duplicates(jobs: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per record key: a final state beats a non-final one, a later line an earlier."""
    if not len(jobs):
        return jobs, 0
    dup = jobs["record_key"].duplicated(keep=False)
    if not dup.any():
        return jobs, 0
    final = jobs["state"].isin(TERMINAL_STATES).to_numpy()
    order = pd.DataFrame(
        {"final": final, "pos": np.arange(len(jobs)), "key": jobs["record_key"].to_numpy()}
    )
    best = order.sort_values(["final", "pos"]).groupby("key").tail(1)["pos"]
    before = len(jobs)
    jobs = jobs.iloc[np.sort(best.to_numpy())].reset_index(drop=True)
    return jobs, before - len(jobs)


def _unless(values: pd.Series, mask: np.ndarray) -> pd.arrays.IntegerArray:
    out = values.array.copy()
    out[mask] = pd.NA
    return out


def floats(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    if isinstance(values, pd.Series):
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def ints(values: Any, n: int) -> pd.arrays.IntegerArray:
    f = floats(values, n)
    out = pd.array(
        np.where(np.isnan(f), 0, np.rint(np.nan_to_num(f))).astype(np.int64), dtype="Int64"
    )
    out[np.isnan(f)] = pd.NA
    return out
