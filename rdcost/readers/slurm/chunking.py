"""Where a buffer of sacct records may be cut into chunks: never between an
allocation record and its steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from rdcost.readers.slurm import grammar as sv


def has_step_dot(job_ids: pd.Series) -> np.ndarray:
    """True where a JobID text has a step part: a '.' after any ']' (a pending
    array list may itself end in '...')."""
    return _np(pc.match_substring_regex(sv.arrow_strings(job_ids), r"\.[^\]]*$"))


def split_at_last_allocation(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split before the last allocation record, so that it and the step
    records after it stay together: (complete part, rest to carry over)."""
    jid = raw["JobID"]
    is_alloc = jid.notna().to_numpy() & ~has_step_dot(jid)
    where = np.flatnonzero(is_alloc)
    if len(where) == 0:
        return raw.iloc[:0], raw
    cut = int(where[-1])
    return raw.iloc[:cut], raw.iloc[cut:]


def chunk_cuts(starts: np.ndarray, chunk_rows: int) -> list[int]:
    """Where to cut a buffer of records into chunks of about ``chunk_rows``:
    each cut is the first allocation record (index in ``starts``) at least
    ``chunk_rows`` rows after the previous cut, so no job loses its steps."""
    cuts: list[int] = []
    last = 0
    while True:
        later = starts[starts >= last + max(chunk_rows, 1)]
        if not len(later):
            return cuts
        last = int(later[0])
        cuts.append(last)


def _np(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)
