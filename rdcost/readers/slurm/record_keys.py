"""The record key of a Slurm allocation, shared by every sacct format.

``slurm:<cluster>:<display job id>:<submit time, UTC ISO seconds>``, with an
empty field where the export does not give it. The display id (``123``,
``123_4``, ``123+1``) is stable across exports and formats (JSON rebuilds it
from array/het fields); the submit time separates reused job ids (id wrap,
requeue with ``--duplicates``); the cluster separates clusters. A pending
array remainder (``123_[5-10%2]``) is keyed ``123_[]`` so that a later export
with a smaller remainder updates the same record.
"""

from __future__ import annotations

import pandas as pd


def slurm_record_keys(cluster: pd.Series, job_id: pd.Series, submit_time: pd.Series) -> pd.Series:
    """Vectorized keys; ``submit_time`` is a UTC datetime series (NaT allowed)."""
    jid = job_id.astype("string").str.replace(r"_\[.*\]$", "_[]", regex=True)
    sub = pd.to_datetime(submit_time, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    cl = cluster.astype("string").fillna("")
    return ("slurm:" + cl + ":" + jid.fillna("") + ":" + sub.astype("string").fillna("")).astype(
        str
    )
