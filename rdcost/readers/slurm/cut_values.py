"""Values that sacct's default fixed-width table cut to its column width (the last
kept character replaced by ``+``): which job-table columns they feed, so that the row
says which of its values are incomplete (``cut_columns``) and a full value from
another export of the same job replaces them in the store."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: sacct field -> the job-table columns read from it.
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "JobID": ("job_id",),  # a pending array remainder's task list (`123_[1-3+`)
    "JobIDRaw": ("job_id_raw",),
    "JobName": ("job_name",),
    "User": ("user",),
    "UID": ("user",),
    "Account": ("account",),
    "Partition": ("partition",),
    "QOS": ("qos",),
    "Cluster": ("cluster",),
    "NodeList": ("node_list",),
    "State": ("state_raw",),
    "ExitCode": ("exit_code", "exit_signal"),
    "Submit": ("submit_time",),
    "Start": ("start_time",),
    "End": ("end_time",),
    "Elapsed": ("elapsed_s",),
    "ElapsedRaw": ("elapsed_s",),
    "Timelimit": ("timelimit_s",),
    "TimelimitRaw": ("timelimit_s",),
    "NNodes": ("n_nodes",),
    "AllocNodes": ("n_nodes",),
    "NCPUS": ("n_cpus",),
    "AllocCPUS": ("n_cpus",),
    "AllocTRES": ("n_gpus", "gpu_type"),
    "AllocGRES": ("n_gpus", "gpu_type"),
    "ReqMem": ("mem_req_bytes",),
    "MaxRSS": ("max_rss_bytes",),
    "TotalCPU": ("total_cpu_s",),
    "ConsumedEnergyRaw": ("energy_j",),
    "ConsumedEnergy": ("energy_j",),
}


def cut_columns(cut_fields: pd.Series | None, n: int) -> np.ndarray:
    """Per row, the job-table columns fed by a cut field (comma-joined, in schema-ish
    order), from the reader's per-line list of cut sacct fields; None where nothing was cut."""
    out = np.full(n, None, dtype=object)
    if cut_fields is None:
        return out
    for i, text in enumerate(cut_fields.to_numpy(dtype=object)):
        if (
            text is None
            or text is pd.NA
            or (isinstance(text, float) and np.isnan(text))
            or not text
        ):
            continue
        cols = dict.fromkeys(c for f in str(text).split(",") for c in FIELD_COLUMNS.get(f, ()))
        out[i] = ",".join(cols) if cols else None
    return out
