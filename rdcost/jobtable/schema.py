"""The one job table: one row per job allocation (Slurm job, array task or
het-job component), W&B run, MLflow run or plain-CSV row.

Every column is declared once here with its Arrow type and its meaning.
Quantities carry their unit in the name (``_s``, ``_bytes``, ``_j``), times are
UTC (``*_time``), counts are ``n_*`` and booleans ``is_*``. Unknown is null,
never 0. ``conform`` is the only way a parser's frame enters the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from rdcost.errors import RdcostError

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column(
        "record_key",
        pa.string(),
        "Stable identity of the record across ingests: source, cluster or project, job/run id "
        "and submit time. Re-ingesting a record with the same key updates it.",
    ),
    Column("source", pa.string(), "Where the record came from: slurm, wandb, mlflow or csv."),
    Column(
        "source_format",
        pa.string(),
        "The exact input format, e.g. sacct-parsable2, sacct-fixed, sacct-json/v0.0.40, "
        "wandb-ui-csv, mlflow-search-runs, csv.",
    ),
    Column(
        "source_file", pa.string(), "Path of the input file (as given to ingest, made absolute)."
    ),
    Column(
        "source_line", pa.int64(), "1-based line of the record in the input file (null for JSON)."
    ),
    Column("cluster", pa.string(), "Cluster name (from the file, or --cluster)."),
    Column(
        "job_id",
        pa.string(),
        "Display id of the allocation: 123, 123_4 (array task), 123+1 (het component), "
        "123_[5-10%2] (pending array remainder); the run id for W&B/MLflow.",
    ),
    Column(
        "job_id_raw", pa.string(), "Slurm JobIDRaw (the numeric id of this allocation) where known."
    ),
    Column("array_job_id", pa.string(), "Array master job id for array tasks, else null."),
    Column("array_task_id", pa.int64(), "Array task index for array tasks, else null."),
    Column("het_job_id", pa.string(), "Heterogeneous job id for het components, else null."),
    Column("het_offset", pa.int64(), "Heterogeneous component offset, else null."),
    Column("job_name", pa.string(), "Job name (Slurm) or run display name (W&B, MLflow)."),
    Column("user", pa.string(), "User name (or numeric uid as text when only that is known)."),
    Column("account", pa.string(), "Slurm account (or W&B entity / MLflow experiment id)."),
    Column("partition", pa.string(), "Partition (queue); a comma list for never-started jobs."),
    Column("qos", pa.string(), "Quality of service."),
    Column(
        "project",
        pa.string(),
        "Project the record belongs to: --project at ingest, else the account, W&B project "
        "or MLflow experiment.",
    ),
    Column(
        "group_id",
        pa.string(),
        "Grid-search group this record belongs to as stated by the source: array job id, "
        "W&B sweep id, MLflow parent run id, or a CSV column. Heuristic groups are computed "
        "at analysis time and never stored.",
    ),
    Column(
        "group_source", pa.string(), "How group_id was found: array, sweep, mlflow_parent, csv."
    ),
    Column(
        "state",
        pa.string(),
        "Normalized final state: COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, "
        "NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, REQUEUED, RUNNING, PENDING, SUSPENDED, "
        "UNKNOWN.",
    ),
    Column(
        "state_raw",
        pa.string(),
        "State as the source wrote it (e.g. 'CANCELLED by 1234', 'crashed').",
    ),
    Column("exit_code", pa.int64(), "Process exit status (the part before ':' of Slurm ExitCode)."),
    Column("exit_signal", pa.int64(), "Signal number that ended the job (after ':'), 0 if none."),
    Column("submit_time", TS, "Submission time, UTC."),
    Column("start_time", TS, "Start time, UTC; null if the job never started."),
    Column("end_time", TS, "End time, UTC; null while running or if never started."),
    Column(
        "elapsed_s",
        pa.float64(),
        "Wall-clock run time in seconds (Slurm's Elapsed: suspended time left out); for a "
        "job still running, up to the export; end - start where the log has none "
        "(derived_columns).",
    ),
    Column("timelimit_s", pa.float64(), "Time limit in seconds; null if unlimited or unknown."),
    Column("n_nodes", pa.int64(), "Nodes allocated (requested if never started)."),
    Column(
        "n_cpus",
        pa.int64(),
        "CPUs allocated (for a job that never started: as the export prints it, the request).",
    ),
    Column(
        "n_gpus",
        pa.float64(),
        "GPUs allocated (fractions for MIG slices); 0 when the source says no GPU or the "
        "job never started (it held none), null when unknown.",
    ),
    Column(
        "gpu_type",
        pa.string(),
        "GPU type as the source names it (gres type, nvidia-smi name, --gpu-type).",
    ),
    Column(
        "is_inferred",
        pa.bool_(),
        "True for a Slurm allocation rdcost inferred from its steps, because the export held the "
        "steps but not the allocation line (docs/sacct.md, Orphan steps).",
    ),
    Column(
        "derived_columns",
        pa.string(),
        "The columns of this row whose value rdcost derived rather than read, comma-joined "
        "(start_time = end - elapsed, elapsed_s = end - start, total_cpu_s = user + system CPU; "
        "docs/sacct.md, Derived values); null when none.",
    ),
    Column(
        "cut_columns",
        pa.string(),
        "The columns of this row fed by a value that sacct's fixed-width table cut to its "
        "column (ends in '+'), comma-joined; a full value from another export of the job "
        "replaces them. Null when none.",
    ),
    Column(
        "is_gpu_assumed",
        pa.bool_(),
        "True when n_gpus/gpu_type came from an ingest option (--gpus-per-run, --gpu-type), "
        "not from the log.",
    ),
    Column("mem_req_bytes", pa.int64(), "Memory requested or allocated for the whole job, bytes."),
    Column("max_rss_bytes", pa.int64(), "Peak resident memory of any step/task, bytes."),
    Column("total_cpu_s", pa.float64(), "CPU time actually used (user + system), seconds."),
    Column(
        "energy_j",
        pa.float64(),
        "Energy measured by the scheduler's energy counter, joules: ConsumedEnergyRaw (else "
        "ConsumedEnergy, else the energy= of the steps' TRES usage); 0 readings are null. Never "
        "estimated; checked at analysis time (docs/energy.md).",
    ),
    Column(
        "energy_j_field",
        pa.string(),
        "The sacct field energy_j was read from: ConsumedEnergyRaw, ConsumedEnergy, "
        "TRESUsageOutTot, TRESUsageInTot, TRESUsageOutAve or TRESUsageInAve (an average per task "
        "x NTasks).",
    ),
    Column(
        "gpu_util_percent",
        pa.float64(),
        "Mean utilisation of the job's own GPUs over its run, percent (0-100), as measured: "
        "a jobstats summary in AdminComment, sacct gres/gpuutil (TRESUsageInAve), W&B or MLflow "
        "system metrics. Null when not measured.",
    ),
    Column(
        "gpu_power_w",
        pa.float64(),
        "Mean power draw per GPU of the job's own GPUs, W, as measured by W&B or MLflow system "
        "metrics (NVML). Null when not measured.",
    ),
    Column(
        "gpu_metrics_source",
        pa.string(),
        "Where gpu_util_percent and gpu_power_w came from: jobstats, sacct gres/gpuutil, "
        "wandb system metrics (process GPUs / host GPUs), mlflow system metrics.",
    ),
    Column(
        "n_gpus_unused",
        pa.int64(),
        "GPUs of the job whose own utilisation was 0% over the whole run, counted from per-GPU "
        "values: a jobstats summary's per-GPU gpu_utilization, W&B or MLflow per-GPU system "
        "metrics. 0 when every GPU logged was used; null when no per-GPU value was logged "
        "(sacct gres/gpuutil gives one mean only).",
    ),
    Column(
        "node_list", pa.string(), "Nodes the job ran on (Slurm hostlist expression) or host name."
    ),
    Column("run_id", pa.string(), "W&B or MLflow run id."),
    Column("parent_run_id", pa.string(), "MLflow parent run id of a child run."),
    Column(
        "is_container",
        pa.bool_(),
        "True for a record whose time contains other records' compute (an MLflow parent "
        "run of a search); its time is not counted on top of its children.",
    ),
    Column("linked_slurm_job_id", pa.string(), "Slurm job id a W&B/MLflow/CSV run says it ran in."),
    Column("tags", pa.string(), "Tags as a JSON list of strings."),
    Column(
        "config_json", pa.string(), "Hyperparameters (W&B config, MLflow params) as a JSON object."
    ),
    Column(
        "metrics_json", pa.string(), "Final metrics (W&B summary, MLflow metrics) as a JSON object."
    ),
    Column(
        "other_json",
        pa.string(),
        "Values whose role (config or metric) the export cannot tell, as a JSON object.",
    ),
    Column("ingested_time", TS, "When this row was written to the store, UTC."),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
ARROW_SCHEMA = pa.schema([pa.field(c.name, c.type) for c in COLUMNS])

#: States in which the job has stopped and its usage is final.
TERMINAL_STATES = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
    }
)
STATES = TERMINAL_STATES | {"REQUEUED", "RUNNING", "PENDING", "SUSPENDED", "UNKNOWN"}


class SchemaError(RdcostError, ValueError):
    """A frame that does not fit the job table (a bug in a parser)."""


_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow job table -> pandas: nullable Int64/boolean, float64, UTC datetimes, str.

    Nulls stay nulls (``pd.NA``/``NaN``/``NaT``); nothing becomes 0.
    """
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get)


def empty_frame() -> pd.DataFrame:
    """An empty job table with the right dtypes."""
    return to_pandas(ARROW_SCHEMA.empty_table())


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the schema's columns, in order, with its types.

    Missing columns are added as null. Unknown columns are an error (a parser
    bug: every value must have a documented home). Values are cast through
    Arrow, so a text in a number column fails loudly instead of becoming 0.
    """
    extra = [c for c in df.columns if c not in COLUMN_NAMES]
    if extra:
        raise SchemaError(f"columns not in the job schema: {extra}")
    return to_pandas(to_arrow(df))


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """Cast a (partial) job frame to an Arrow table with the full schema."""
    n = len(df)
    arrays = []
    for col in COLUMNS:
        if col.name in df.columns:
            s = df[col.name]
            try:
                arr = pa.array(s, from_pandas=True)
                if arr.type != col.type:
                    if (
                        pa.types.is_timestamp(col.type)
                        and pa.types.is_timestamp(arr.type)
                        and arr.type.tz is None
                    ):
                        arr = arr.cast(pa.timestamp(arr.type.unit)).cast(col.type)
                    else:
                        arr = arr.cast(col.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"column {col.name!r} cannot be stored as {col.type}: {exc}"
                ) from exc
            arrays.append(arr)
        else:
            arrays.append(pa.nulls(n, type=col.type))
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def validate(df: pd.DataFrame) -> list[str]:
    """Check the table's invariants; return a list of problems (empty = valid).

    Used by the contract tests over every sample file.
    """
    problems: list[str] = []
    if list(df.columns) != list(COLUMN_NAMES):
        problems.append("columns differ from the schema")
        return problems
    if df["record_key"].isna().any():
        problems.append("record_key has nulls")
    if df["record_key"].duplicated().any():
        dups = df.loc[df["record_key"].duplicated(), "record_key"].head(3).tolist()
        problems.append(f"record_key not unique, e.g. {dups}")
    bad_states = set(df["state"].dropna().unique()) - STATES
    if bad_states:
        problems.append(f"unknown normalized states {sorted(bad_states)}")
    for q in ("elapsed_s", "timelimit_s", "n_gpus", "energy_j", "total_cpu_s", "gpu_power_w"):
        neg = df[q].dropna() < 0
        if neg.any():
            problems.append(f"{q} has negative values")
    for q in ("n_nodes", "n_cpus", "mem_req_bytes", "max_rss_bytes", "n_gpus_unused"):
        if (df[q].dropna() < 0).any():
            problems.append(f"{q} has negative values")
    both = df["start_time"].notna() & df["end_time"].notna()
    if (df.loc[both, "end_time"] < df.loc[both, "start_time"]).any():
        problems.append("end_time before start_time")
    util = df["gpu_util_percent"].dropna()
    if ((util < 0) | (util > 100)).any():
        problems.append("gpu_util_percent outside 0-100")
    return problems


def markdown_doc() -> str:
    """The job table documented column by column (docs/job-table.md is this text)."""
    lines = [
        "# The job table",
        "",
        "One row per job allocation (a Slurm job, array task or het-job component), W&B run,",
        "MLflow run or plain-CSV row. Quantities carry their unit in the name, times are UTC,",
        "unknown values are null (never 0). Generated from `rdcost/jobtable/schema.py` by",
        "`python -m rdcost.jobtable.schema > docs/job-table.md`; a test keeps the two in sync.",
        "",
        "| column | type | meaning |",
        "| --- | --- | --- |",
    ]
    for c in COLUMNS:
        lines.append(f"| `{c.name}` | {c.type} | {c.doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown_doc(), end="")
