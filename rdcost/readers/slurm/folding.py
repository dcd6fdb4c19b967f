"""sacct records (one row per text line, columns = sacct field names) -> job rows.

Shared by every sacct text mode (parsable, fixed-width). The input frame has the
canonical sacct field names as columns (``JobID``, ``State``, ``AllocTRES``...),
string values (NA = empty) and ``_line`` (1-based line in the file); ``_text`` (the
line as read) and ``_cut`` (the fields a fixed-width column cut) are optional.
:func:`records_to_chunk` keeps one row per allocation (plain job, array task, het
component, pending array remainder), folds step rows (``.batch``, ``.extern``,
``.0``...) into their allocation, infers the allocation of steps whose allocation line
is not in the file, and rejects what cannot be read, with a reason. Everything
touching every record is vectorized.

The steps, one module each: sort the lines out and tie steps to allocations
(:mod:`.records`), parse the allocation lines' values (:mod:`.row_values`), read and
aggregate step usage (:mod:`.step_usage`), build the job rows (:mod:`.job_rows`),
infer allocations of orphan steps (:mod:`.inferred`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rdcost.readers.base import Chunk, ParseOptions, Rejected, handle_bad
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.gpu_usage import gpu_columns
from rdcost.readers.slurm.inferred import inferred_allocations
from rdcost.readers.slurm.job_rows import allocation_rows, merge_duplicates
from rdcost.readers.slurm.records import Records, sort_out, value_at
from rdcost.readers.slurm.row_values import RowValues, read_values
from rdcost.readers.slurm.step_usage import Usage, per_allocation, read_usage


@dataclass
class _Verdict:
    alloc_ok: np.ndarray  # per allocation line: stored
    folded: np.ndarray  # per record: a step folded into its allocation
    own: np.ndarray  # per record: the position of a folded step's allocation
    orphans: np.ndarray  # positions of steps whose allocation is not in the file


def records_to_chunk(
    raw: pd.DataFrame,
    *,
    path: str | Path,
    opts: ParseOptions,
    source_format: str,
    n_ignored: int = 0,
    pre_rejected: Iterable[Rejected] = (),
    bytes_done: int | None = None,
    delimiter: str = "|",
    rejected_allocations: Mapping[str, Rejected] | None = None,
) -> Chunk:
    """Turn the record lines of one chunk into job rows with full accounting.

    ``n_ignored`` counts lines that are not in ``raw`` and are not records (header,
    comments); ``pre_rejected`` are lines already refused by the reader (wrong field
    count), and ``rejected_allocations`` the allocation ids among them (alloc id ->
    its rejection), so that their steps are rejected with that reason. Blank rows,
    repeated header rows and rows whose first value starts with ``#`` in ``raw`` are
    ignored here. ``delimiter`` rebuilds the text of a rejected line when ``_text``
    is absent.
    """
    path = str(path)
    pre = list(pre_rejected)
    n_records = len(raw) + n_ignored + len(pre)
    recs = sort_out(raw, path=path, source_format=source_format)
    A = np.flatnonzero(recs.is_alloc)
    vals = read_values(recs, A, opts, pending_array=recs.jid["is_pending_array"].to_numpy()[A])
    usage = read_usage(recs, A, vals)
    verdict = _decide(recs, A, vals, usage, rejected_allocations or {})
    agg = per_allocation(usage, recs, A, verdict.folded, verdict.own, vals.elapsed)
    extra = gpu_columns(recs, A, vals, agg, verdict.folded, verdict.own)
    frames = [allocation_rows(recs, A, vals, agg, verdict.alloc_ok, opts, source_format, extra)]
    n_folded = int(verdict.folded.sum())
    n_inferred = 0
    if len(verdict.orphans):
        inferred, bad_steps = inferred_allocations(recs, verdict.orphans, opts, source_format)
        for p in bad_steps:
            recs.rejects.append(
                (
                    int(p),
                    "a value of a step (whose allocation line is not in the file) not understood",
                    None,
                    None,
                    None,
                )
            )
        n_inferred = len(inferred)
        n_folded += len(verdict.orphans) - len(bad_steps) - n_inferred
        frames.append(inferred)
    jobs = pd.concat([f for f in frames if len(f.columns)], ignore_index=True)
    jobs, n_merged = merge_duplicates(jobs)
    rejected = [
        Rejected(
            path=path,
            line=int(recs.lines[p]),
            reason=reason,
            column=column,
            value=None if value is None else str(value),
            expected=expected,
            text=recs.text_of(p, delimiter),
        )
        for p, reason, column, value, expected in recs.rejects
    ]
    out: list[Rejected] = []
    for r in sorted(pre + rejected, key=lambda r: r.line if r.line is not None else -1):
        handle_bad(out, r, opts)
    return Chunk(
        jobs=jobs,
        n_records=n_records,
        n_folded=n_folded,
        n_merged=n_merged,
        n_ignored=n_ignored + recs.n_ignored,
        rejected=out,
        format_detail=source_format,
        bytes_done=bytes_done,
        n_inferred=n_inferred,
        notes=list(recs.notes),
    )


def _decide(
    recs: Records,
    A: np.ndarray,
    vals: RowValues,
    usage: Usage,
    rejected_allocations: Mapping[str, Rejected],
) -> _Verdict:
    """Which allocation lines are stored, which steps fold into them, which are
    rejected (and why), and which steps have no allocation line at all."""
    n = recs.n
    alloc_ok = ~vals.bad
    for i in np.flatnonzero(vals.bad):
        column, key, reason = vals.first_bad[int(i)]
        p = int(A[i])
        recs.rejects.append((p, reason, column, value_at(recs.rows[column], p), sv.EXPECTED[key]))
    alloc_ok_at = np.zeros(n, dtype=bool)
    alloc_ok_at[A[alloc_ok]] = True
    orphan = recs.orphan
    owned = recs.is_step & ~orphan
    own = np.where(owned, recs.owner, 0).astype(np.int64)
    owner_rejected = owned & ~alloc_ok_at[own]
    for p in np.flatnonzero(owner_rejected).tolist():
        recs.rejects.append(
            (
                p,
                f"its allocation record (line {recs.lines[own[p]]}) was rejected",
                recs.id_column,
                value_at(recs.rows[recs.id_column], p),
                None,
            )
        )
    orphan_of_rejected = np.zeros(n, dtype=bool)
    if rejected_allocations and orphan.any():
        ids = recs.jid["alloc_id"].to_numpy(dtype=object)
        for p in np.flatnonzero(orphan).tolist():
            r = rejected_allocations.get(ids[p])
            if r is not None:
                orphan_of_rejected[p] = True
                recs.rejects.append(
                    (
                        p,
                        f"its allocation record (line {r.line}) was rejected: {r.reason}",
                        recs.id_column,
                        value_at(recs.rows[recs.id_column], p),
                        None,
                    )
                )
    assert usage.rec_bad is not None
    step_bad = owned & ~owner_rejected & usage.rec_bad
    for p in np.flatnonzero(step_bad).tolist():
        name, key = usage.step_first_bad[int(p)]
        recs.rejects.append(
            (
                p,
                f"{name} value of a step not understood",
                name,
                value_at(recs.rows[name], p),
                sv.EXPECTED[key],
            )
        )
    folded = owned & ~owner_rejected & ~step_bad
    return _Verdict(alloc_ok, folded, own, np.flatnonzero(orphan & ~orphan_of_rejected))
