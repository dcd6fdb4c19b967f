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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def slurm_record_keys(cluster: pd.Series, job_id: pd.Series, submit_time: pd.Series) -> pd.Series:
    """Vectorized keys; ``submit_time`` is a UTC datetime series (NaT allowed)."""
    jid = pc.replace_substring_regex(_strings(job_id), r"_\[.*\]$", "_[]")
    sub = utc_iso_seconds(pa.array(pd.to_datetime(submit_time, utc=True), from_pandas=True))
    key = pc.binary_join_element_wise(
        "slurm",
        pc.fill_null(_strings(cluster), ""),
        pc.fill_null(jid, ""),
        pc.fill_null(sub, ""),
        ":",
    )
    return pd.Series(
        np.asarray(key.to_numpy(zero_copy_only=False), dtype=object), index=job_id.index
    )


def _strings(s: pd.Series) -> pa.Array:
    arr = pa.array(s.astype("string"), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string())


def utc_iso_seconds(ts: pa.Array) -> pa.Array:
    """UTC timestamps -> ``YYYY-MM-DDTHH:MM:SSZ`` (what ``strftime("%Y-%m-%dT%H:%M:%SZ")``
    gives), null for null; built from integer arithmetic on the days and seconds since
    the epoch (a civil-from-days conversion), many times faster than strftime."""
    n = len(ts)
    valid = np.asarray(ts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if not n or not valid.any():
        return pa.nulls(n, pa.string())
    unit = ts.type.unit if pa.types.is_timestamp(ts.type) else "us"
    per_s = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    ticks = pc.fill_null(ts.cast(pa.timestamp(unit)).cast(pa.int64()), 0).to_numpy()
    secs = np.floor_divide(ticks, per_s)
    days, sod = np.divmod(secs, 86400)
    z = days + 719468  # civil_from_days (H. Hinnant), proleptic Gregorian
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    if ((year < 1000) | (year > 9999))[valid].any():  # strftime pads differently there
        return pc.strftime(ts.cast(pa.timestamp("s", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
    hh, rem = np.divmod(sod, 3600)
    mm, ss = np.divmod(rem, 60)
    out = np.empty((20, n), dtype=np.uint8)
    for col, value, width in (
        (0, year, 4),
        (5, month, 2),
        (8, day, 2),
        (11, hh, 2),
        (14, mm, 2),
        (17, ss, 2),
    ):
        for k in range(width):
            out[col + width - 1 - k] = 48 + value % 10
            value = value // 10
    for col, char in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "Z")):
        out[col] = ord(char)
    offsets = pa.py_buffer(np.arange(n + 1, dtype=np.int32) * 20)
    text = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(np.ascontiguousarray(out.T)))
    return pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))
