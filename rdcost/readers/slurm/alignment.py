"""Lines of delimited sacct text with more fields than the header: a delimiter inside a
free-text value (a shell pipe in ``--wrap``, ``a100|h100`` in Constraints), which sacct
prints without escaping (formats.md 1.3).

The extra delimiters can only belong to the free-text fields
(:data:`rdcost.readers.slurm.fields.FREE_TEXT_FIELDS`). Every way of giving them to
those fields is tried; a reading is valid when every typed field (ids, states, times,
durations, counts, sizes, TRES, exit codes) then parses. A line with exactly one valid
reading is stored with it; a line with none or several is rejected, saying which.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rdcost.readers.base import ParseOptions
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.fields import FREE_TEXT_FIELDS

#: Readings tried per line at most (the number grows as C(extra + free - 1, free - 1)).
MAX_READINGS = 5_000

_TIME = ("Submit", "Start", "End", "Eligible")
_DURATION = (
    "Elapsed",
    "TotalCPU",
    "UserCPU",
    "SystemCPU",
    "CPUTime",
    "Suspended",
    "AveCPU",
    "MinCPU",
    "Planned",
    "Reserved",
)
_COUNT = (
    "ElapsedRaw",
    "CPUTimeRAW",
    "NCPUS",
    "AllocCPUS",
    "ReqCPUS",
    "NNodes",
    "NTasks",
    "Priority",
    "UID",
    "GID",
    "DBIndex",
    "AssocID",
    "QOSRAW",
    "PlannedCPURAW",
    "ResvCPURAW",
    "Restarts",
    "SegmentSize",
    "ReservationId",
    "WCKeyID",
)
_SIZE = (
    "MaxRSS",
    "AveRSS",
    "MaxVMSize",
    "AveVMSize",
    "MaxPages",
    "AvePages",
    "MaxDiskRead",
    "MaxDiskWrite",
    "AveDiskRead",
    "AveDiskWrite",
)
_TRES = ("AllocTRES", "ReqTRES")


def _invalid_of(name: str, opts: ParseOptions) -> Callable[[pd.Series], np.ndarray] | None:
    """The grammar check of a typed field (True = the value breaks it), None for text."""
    if name in ("JobID", "JobIDRaw"):
        return lambda s: sv.parse_job_id(s)["invalid"].to_numpy()
    if name == "State":
        return lambda s: sv.parse_state(s).invalid.to_numpy()
    if name in ("ExitCode", "DerivedExitCode"):
        return lambda s: sv.parse_exit_code(s)["invalid"].to_numpy()
    if name in _TIME:
        return lambda s: sv.parse_timestamp(
            s, opts.tz, opts.time_format, opts.export_time
        ).invalid.to_numpy()
    table: dict[tuple[str, ...], Callable[[pd.Series], sv.Parsed]] = {
        _DURATION: sv.parse_duration,
        _COUNT: sv.parse_count,
        _SIZE: sv.parse_size,
        ("Timelimit",): sv.parse_timelimit,
        ("TimelimitRaw",): sv.parse_timelimit_raw,
        ("ReqMem",): sv.parse_mem_request,
        ("ConsumedEnergyRaw",): sv.parse_energy_raw,
        ("ConsumedEnergy",): sv.parse_energy,
        ("AllocNodes", "ReqNodes"): sv.parse_scaled_count,
    }
    for names, fn in table.items():
        if name in names:
            return lambda s: fn(s).invalid.to_numpy()
    if name in _TRES:
        return lambda s: sv.parse_tres(s)["invalid"].to_numpy()
    return None


@dataclass
class Reading:
    """The outcome for one line: its values (one per column) or why it was rejected."""

    values: list[str] | None
    reason: str | None = None


def align(
    lines: Sequence[list[str]], columns: Sequence[str], delimiter: str, opts: ParseOptions
) -> list[Reading]:
    """Readings of lines split into more fields than ``columns`` (see the module doc)."""
    n = len(columns)
    free = [i for i, c in enumerate(columns) if c in FREE_TEXT_FIELDS]
    names = ", ".join(columns[i] for i in free)
    out: list[Reading | None] = [None] * len(lines)
    cands: list[tuple[int, list[str]]] = []
    for li, parts in enumerate(lines):
        extra = len(parts) - n
        if not free:
            out[li] = Reading(
                None,
                f"{len(parts)} fields where the header has {n}, and no field of the "
                "header holds free text that could contain the delimiter",
            )
            continue
        combos = _compositions(extra, len(free))
        if combos is None:
            out[li] = Reading(
                None,
                f"{len(parts)} fields where the header has {n}: too many ways to give "
                f"the {extra} extra delimiters to the free-text fields ({names})",
            )
            continue
        for combo in combos:
            cands.append((li, _join(parts, n, dict(zip(free, combo, strict=True)), delimiter)))
    if cands:
        frame = pd.DataFrame([c for _, c in cands], columns=list(columns), dtype=object)
        frame = frame.where(frame != "", None)
        ok = np.ones(len(cands), dtype=bool)
        for name in columns:
            check = _invalid_of(name, opts)
            if check is not None:
                ok &= ~check(frame[name])
        owner = np.array([li for li, _ in cands])
        for li in np.unique(owner):
            good = np.flatnonzero((owner == li) & ok)
            extra = len(lines[li]) - n
            if len(good) == 1:
                out[li] = Reading(cands[good[0]][1])
            elif not len(good):
                out[li] = Reading(
                    None,
                    f"{len(lines[li])} fields where the header has {n}: no way of reading "
                    f"the {extra} extra {delimiter!r} as part of {names} gives valid values",
                )
            else:
                out[li] = Reading(
                    None,
                    f"{len(lines[li])} fields where the header has {n}: the {extra} extra "
                    f"{delimiter!r} could belong to several of {names} ({len(good)} readings "
                    "fit); re-export with an unusual --delimiter",
                )
    return [r if r is not None else Reading(None, "not aligned") for r in out]


def _compositions(total: int, k: int) -> list[tuple[int, ...]] | None:
    """Every way to write ``total`` as an ordered sum of ``k`` counts >= 0 (None past MAX_READINGS)."""
    out = []
    for bars in itertools.combinations(range(total + k - 1), k - 1):
        prev, parts = -1, []
        for b in bars:
            parts.append(b - prev - 1)
            prev = b
        parts.append(total + k - 1 - prev - 1)
        out.append(tuple(parts))
        if len(out) > MAX_READINGS:
            return None
    return out


def _join(parts: list[str], n: int, extra: dict[int, int], delimiter: str) -> list[str]:
    """The ``n`` values of one reading: column ``i`` takes ``1 + extra[i]`` consecutive parts."""
    out, j = [], 0
    for i in range(n):
        take = 1 + extra.get(i, 0)
        out.append(delimiter.join(parts[j : j + take]))
        j += take
    return out
