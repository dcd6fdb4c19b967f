"""The record lines of one chunk of sacct text, sorted out: which lines are no records
(blank, a repeated header, ``#`` comments), which are allocations and which are steps,
and which allocation record each step belongs to.

The job id comes from ``JobID``; an export without it (``sacct -o JobIDRaw,...``, as
jobstats and Toil call sacct) is read by ``JobIDRaw``: steps are told apart the same
way (``123.batch``), but array tasks and het components cannot be grouped (each raw id
is a job of its own), which the ingest report states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from rdcost.errors import ParseError
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.chunking import _np

#: (record position, reason, column, value, expected) of a record to reject.
Reject = tuple[int, str, str | None, str | None, str | None]
NO_JOBID_NOTE = (
    "no JobID column: jobs are identified by JobIDRaw, so array tasks and het-job "
    "components are not grouped (each raw id is a job of its own)"
)


class Rows:
    """Columns of ``frame`` restricted to ``rows``, cut out on first use."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray):
        self._frame, self._rows = frame, rows
        self._cache: dict[str, pd.Series] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._frame.columns

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self._cache:
            self._cache[name] = self._frame[name].iloc[self._rows].reset_index(drop=True)
        return self._cache[name]

    def get(self, name: str, default=None):
        return self[name] if name in self else default


def value_at(series: pd.Series, i: int) -> str | None:
    """The text of one value (None when empty)."""
    v = series.iat[int(i)]
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)


@dataclass
class Records:
    """The kept record lines of a chunk, their job ids and how steps belong to allocations.

    Positions (``pos``) index the kept records, in file order. ``owner[pos]`` is the
    position of the allocation record a step folds into (NaN for allocations and for
    steps whose allocation is not in the chunk).
    """

    raw: pd.DataFrame
    fields: list[str]
    keep_rows: np.ndarray
    rows: Rows
    lines: np.ndarray
    n_ignored: int
    id_column: str
    jid: pd.DataFrame
    bad_id: np.ndarray
    is_step: np.ndarray
    is_alloc: np.ndarray
    alloc_code: np.ndarray
    owner: np.ndarray
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.keep_rows)

    @property
    def orphan(self) -> np.ndarray:
        """Steps whose allocation record is not among the records."""
        return self.is_step & np.isnan(self.owner)

    def text_of(self, pos: int, delimiter: str) -> str:
        """The line of a record as read (rebuilt from its values when not kept)."""
        if "_text" in self.raw.columns:
            return str(self.raw["_text"].iat[self.keep_rows[pos]])
        return delimiter.join(value_at(self.raw[c], self.keep_rows[pos]) or "" for c in self.fields)


def sort_out(raw: pd.DataFrame, *, path: str | Path, source_format: str) -> Records:
    """Classify the lines of ``raw`` and tie each step to its allocation (see the module doc)."""
    raw = raw.reset_index(drop=True)
    id_column = (
        "JobID" if "JobID" in raw.columns else "JobIDRaw" if "JobIDRaw" in raw.columns else None
    )
    if id_column is None:
        raise ParseError(
            "the sacct output has no JobID or JobIDRaw column; rdcost needs one to tell jobs "
            "from steps",
            path=str(path),
            hint="export with --format=JobID,... (see docs/sacct.md)",
        )
    fields = [c for c in raw.columns if not c.startswith("_")]
    keep_rows, n_ignored = _record_rows(raw, fields, id_column)
    rows = Rows(raw, keep_rows)
    jid = sv.parse_job_id(rows[id_column], truncated=source_format == "sacct-fixed")
    bad_id = (jid["invalid"] | rows[id_column].isna()).to_numpy()
    is_step = jid["is_step"].to_numpy() & ~bad_id
    is_alloc = ~jid["is_step"].to_numpy() & ~bad_id
    codes = pc.dictionary_encode(sv.arrow_strings(jid["alloc_id"])).indices
    alloc_code = np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    recs = Records(
        raw=raw,
        fields=fields,
        keep_rows=keep_rows,
        rows=rows,
        lines=raw["_line"].to_numpy(dtype=np.int64)[keep_rows],
        n_ignored=n_ignored,
        id_column=id_column,
        jid=jid,
        bad_id=bad_id,
        is_step=is_step,
        is_alloc=is_alloc,
        alloc_code=alloc_code,
        owner=_owners(is_step, is_alloc, alloc_code),
    )
    for p in np.flatnonzero(bad_id).tolist():
        v = value_at(rows[id_column], p)
        recs.rejects.append(
            (
                p,
                f"{id_column} is not a Slurm job id" if v is not None else f"empty {id_column}",
                id_column,
                v or "",
                sv.EXPECTED["job_id"],
            )
        )
    if id_column == "JobIDRaw":
        recs.notes.append(NO_JOBID_NOTE)
    return recs


def _record_rows(raw: pd.DataFrame, fields: list[str], id_column: str) -> tuple[np.ndarray, int]:
    """Positions of the lines that are records, and how many are not (blank, header again, comments)."""
    blank = (
        np.logical_and.reduce([raw[c].isna().to_numpy() for c in fields])
        if fields
        else np.ones(len(raw), bool)
    )
    header_again = _np(pc.equal(pc.utf8_lower(sv.arrow_strings(raw[id_column])), id_column.lower()))
    comment = _np(pc.starts_with(sv.arrow_strings(raw[fields[0]]), "#"))
    ignored = blank | header_again | comment
    return np.flatnonzero(~ignored), int(ignored.sum())


def _owners(is_step: np.ndarray, is_alloc: np.ndarray, alloc_code: np.ndarray) -> np.ndarray:
    """Each step belongs to the allocation record before it with the same id (sacct
    prints an allocation, then its steps); failing that, to the last allocation record
    with that id anywhere in the chunk. NaN where none."""
    n = len(is_step)
    pos = np.arange(n)
    last_alloc = pd.Series(np.where(is_alloc, pos, np.nan)).ffill().to_numpy()
    has_prev = ~np.isnan(last_alloc)
    prev_code = np.full(n, -2, dtype=np.int64)
    prev_code[has_prev] = alloc_code[last_alloc[has_prev].astype(np.int64)]
    owner = np.where(is_step & (prev_code == alloc_code), last_alloc, np.nan)
    need = is_step & np.isnan(owner)
    if need.any():
        amap = pd.Series(pos[is_alloc], index=alloc_code[is_alloc])
        amap = amap[~amap.index.duplicated(keep="last")]
        owner[need] = pd.Series(alloc_code[need]).map(amap).to_numpy(dtype=float)
    return owner
