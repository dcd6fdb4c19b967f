"""The value grammars of sacct text output, vectorized over pandas string Series.

Every function takes a Series of strings (empty string or NA = the field was
empty) and returns the parsed values together with a boolean ``invalid``
mask: True where a non-empty value does not follow the grammar, so the caller
can reject that record naming the column, the value and :data:`EXPECTED`.
Empty input is null output and never invalid; a value that means "unknown"
(``Unknown``, ``None``, ``UNLIMITED``) is null too. Nothing unknown becomes 0.

The work is done by pyarrow.compute (RE2 regular expressions, strptime) and
numpy, never by a Python loop over the records; see spec/formats.md §1.2, §1.4.
Scalar wrappers at the end (``duration_s("1-02:03:04")``) serve tests and
small callers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rdcost.errors import ParseError, UsageError
from rdcost.readers.states import normalize_slurm_state

#: What each grammar expects, as error messages show it.
EXPECTED = {
    "duration": "[D-]HH:MM:SS, MM:SS or MM:SS.mmm",
    "timelimit": "[D-]HH:MM:SS, UNLIMITED or Partition_Limit",
    "timelimit_raw": "minutes (an integer), UNLIMITED or Partition_Limit",
    "timestamp": "YYYY-MM-DDTHH:MM:SS, epoch seconds, Unknown or None (for another SLURM_TIME_FORMAT "
    "pass --time-format relative or its strftime format)",
    "size": "a size like 1024, 321860K, 1.50G (binary K/M/G/T/P)",
    "mem_request": "a memory request like 4000M, 64G, 4000Mc (per CPU) or 64Gn (per node)",
    "count": "a non-negative integer",
    "scaled_count": "a count like 2, 2K (1024 based)",
    "energy_raw": "joules (an integer)",
    "energy": "energy like 3600000, 3.60M (1000 based)",
    "tres": "a TRES list like cpu=16,mem=128G,node=1,gres/gpu:a100=4",
    "gres": "a GRES list like gpu:2 or gpu:tesla:2",
    "job_id": "a job id like 123, 123.batch, 123_4, 123_[5-10%2], 123+1 or 123.0+1",
    "exit_code": "STATUS:SIGNAL like 0:0 or 1:15",
    "state": "a Slurm job state like COMPLETED, CANCELLED by 1234, OUT_OF_MEMORY",
}

_UNITS_1024 = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}
MIB = 1 << 20

_DURATION = r"^(?:(?:(?P<d>\d+)-)?(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)$"
_SIZE = r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>[KMGTP]?)$"
_MEM_REQ = r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>[KMGTP]?)(?P<scope>[nc]?)$"
_COUNT = r"^\d{1,18}$"
_ALLOC = r"^(?P<alloc>(?P<base>\d+)(?:_(?P<task>\d+)|_\[(?P<tasks>[^\]]*)\]|\+(?P<het>\d+))?)$"
_STEP = r"^(?:batch|extern|interactive|TBD|\d+(?:\+\d+)?)$"
# fixed-width output cuts long ids: '100000.exte+', '16325776_1.+'
_STEP_CUT = r"^(?:batch|extern|interactive|TBD|\d+(?:\+\d+)?|[A-Za-z0-9]*\+)$"
_EXIT = r"^(?P<status>\d+):(?P<signal>\d+)$"
_NO_LIMIT = ["unlimited", "partition_limit", "infinite"]
_NO_TIME = ["unknown", "none"]
#: ConsumedEnergyRaw values at or above this are Slurm's NO_VAL64/INFINITE64 sentinels.
ENERGY_SENTINEL_J = 2.0**63


class Parsed(NamedTuple):
    """Parsed values and the mask of values that broke the grammar."""

    values: pd.Series
    invalid: pd.Series


# ---------------------------------------------------------------- helpers


def arrow_strings(s: pd.Series) -> pa.Array:
    """A Series of strings as one Arrow large_string array (zero-copy when the
    Series is Arrow-backed); non-string objects are refused by Arrow."""
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_null(arr.type) or not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return arr


def _arrow(s: pd.Series) -> pa.Array:
    """The Series as an Arrow string array in which empty strings are null."""
    arr = arrow_strings(s)
    if len(arr) and pc.any(pc.equal(arr, "")).as_py():
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.large_string()), arr)
    return arr


def _np_bool(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _np_float(arr: pa.Array) -> np.ndarray:
    """Arrow strings/numbers -> float64 numpy; '' and null -> NaN."""
    if pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type):
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    return np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def _matches(arr: pa.Array, pattern: str, ignore_case: bool = False) -> np.ndarray:
    return _np_bool(pc.match_substring_regex(arr, pattern, ignore_case=ignore_case))


def _is_in(arr: pa.Array, words: list[str]) -> np.ndarray:
    return _np_bool(pc.is_in(pc.utf8_lower(arr), value_set=pa.array(words, pa.large_string())))


def _present(arr: pa.Array) -> np.ndarray:
    return _np_bool(pc.is_valid(arr))


def _invalid(index: pd.Index, mask: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(mask, dtype=bool), index=index)


def _in_range(values: np.ndarray) -> np.ndarray:
    """True where a float is NaN or fits an Int64 (a bigger count or size is no real value)."""
    v = np.asarray(values, dtype=float)
    return np.isnan(v) | (np.abs(v) < 2.0**63)


def _int_series(values: np.ndarray, ok: np.ndarray, index: pd.Index) -> pd.Series:
    """float values -> nullable Int64 where ok, NA elsewhere (rounded to the nearest)."""
    out = pd.array(
        np.where(ok, np.rint(np.where(ok, values, 0)), 0).astype(np.int64), dtype="Int64"
    )
    out[~ok] = pd.NA
    return pd.Series(out, index=index)


def _str_series(arr: pa.Array, index: pd.Index) -> pd.Series:
    """Arrow strings -> a pandas Series of strings (Arrow-backed where pandas
    does that by default), NA for null."""
    out = arr.to_pandas()
    out.index = index
    return out


def _size_parts(arr: pa.Array, pattern: str) -> tuple[pa.StructArray, np.ndarray]:
    parts = pc.extract_regex(arr, pattern)
    ok = _np_bool(pc.is_valid(parts))
    return parts, ok


def _unit_factor(unit: pa.Array, base: int) -> np.ndarray:
    exps = np.zeros(len(unit), dtype=float)
    for letter, e in _UNITS_1024.items():
        if letter:
            exps[_np_bool(pc.equal(unit, letter))] = e
    return np.power(float(base), exps)


# ---------------------------------------------------------------- durations


def _duration_seconds(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, ok) for the duration grammar; ok False where it does not match."""
    parts = pc.extract_regex(arr, _DURATION)
    matched = _np_bool(pc.is_valid(parts))
    d = np.nan_to_num(_np_float(pc.struct_field(parts, "d")))
    h_raw = _np_float(pc.struct_field(parts, "h"))
    has_d = ~np.isnan(_np_float(pc.struct_field(parts, "d")))
    h = np.nan_to_num(h_raw)
    m = np.nan_to_num(_np_float(pc.struct_field(parts, "m")))
    s = np.nan_to_num(_np_float(pc.struct_field(parts, "s")))
    ok = matched & (m < 60) & (s < 60) & ~(has_d & (h >= 24))
    secs = d * 86400 + h * 3600 + m * 60 + s
    return np.where(ok, secs, np.nan), ok


def parse_duration(s: pd.Series) -> Parsed:
    """``[D-]HH:MM:SS``, ``MM:SS`` and ``MM:SS.mmm`` -> seconds (float).

    A single colon always means minutes:seconds (``05:03.123`` = 303.123 s).
    ``INVALID`` (what sacct prints for a negative time) is invalid.
    """
    arr = _arrow(s)
    secs, ok = _duration_seconds(arr)
    present = _present(arr)
    return Parsed(pd.Series(secs, index=s.index, dtype=float), _invalid(s.index, present & ~ok))


def parse_timelimit(s: pd.Series) -> Parsed:
    """``Timelimit``: a duration, or UNLIMITED / Partition_Limit (-> null, valid)."""
    both = _per_distinct(
        lambda u: pd.DataFrame(dict(zip(("values", "invalid"), _parse_timelimit(u), strict=True))),
        s,
    )
    return Parsed(both["values"].astype(float), both["invalid"].astype(bool))


def _parse_timelimit(s: pd.Series) -> Parsed:
    arr = _arrow(s)
    secs, ok = _duration_seconds(arr)
    unlimited = _is_in(arr, _NO_LIMIT)
    present = _present(arr)
    return Parsed(
        pd.Series(np.where(ok, secs, np.nan), index=s.index, dtype=float),
        _invalid(s.index, present & ~ok & ~unlimited),
    )


def parse_timelimit_raw(s: pd.Series) -> Parsed:
    """``TimelimitRaw``: integer minutes -> seconds; UNLIMITED / Partition_Limit -> null."""
    arr = _arrow(s)
    ok = _digits(arr)
    mins = _np_float(pc.if_else(pa.array(ok), arr, pa.scalar(None, arr.type)))
    unlimited = _is_in(arr, _NO_LIMIT)
    present = _present(arr)
    return Parsed(
        pd.Series(np.where(ok, mins * 60.0, np.nan), index=s.index, dtype=float),
        _invalid(s.index, present & ~ok & ~unlimited),
    )


# ---------------------------------------------------------------- timestamps


def check_tz(tz: str) -> str:
    """The zone name, or a UsageError for one the tz database does not know."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {tz!r}; use an IANA name like UTC, Europe/Berlin or "
            "America/New_York"
        ) from None
    return tz


def parse_timestamp(
    s: pd.Series,
    tz: str = "UTC",
    time_format: str | None = None,
    export_time: pd.Timestamp | None = None,
) -> Parsed:
    """sacct timestamps in every SLURM_TIME_FORMAT -> UTC (:mod:`rdcost.readers.slurm.timestamps`)."""
    from rdcost.readers.slurm import timestamps

    return timestamps.parse_timestamp(s, tz, time_format, export_time)


# ---------------------------------------------------------------- sizes


def parse_size(s: pd.Series, *, bare_bytes: int = 1) -> Parsed:
    """Sizes with binary suffixes (``321860K``, ``1.50G``, ``1T``) -> bytes (Int64).

    ``bare_bytes`` is what a number without suffix means: 1 (bytes) for
    MaxRSS/AveRSS and TRES usage (Slurm 18.08+), MIB for ReqMem and TRES
    ``mem=`` (stored in MB; shown bare only with --noconvert).
    """
    arr = _arrow(s)
    parts, ok = _size_parts(arr, _SIZE)
    num = _np_float(pc.struct_field(parts, "num"))
    unit = pc.struct_field(parts, "unit")
    factor = _unit_factor(unit, 1024)
    bare = _np_bool(pc.equal(unit, ""))
    factor = np.where(bare, float(bare_bytes), factor)
    ok = ok & _in_range(num * factor)
    present = _present(arr)
    return Parsed(_int_series(num * factor, ok, s.index), _invalid(s.index, present & ~ok))


def parse_mem_request(
    s: pd.Series, n_cpus: pd.Series | None = None, n_nodes: pd.Series | None = None
) -> Parsed:
    """``ReqMem`` -> total requested bytes of the job (Int64).

    Before Slurm 21.08 the value ends in a scope letter: ``c`` per CPU
    (x ``n_cpus``), ``n`` per node (x ``n_nodes``); from 21.08 it is the job
    total. A bare number is MB (the unit Slurm stores). ``0`` (``--mem=0``:
    all of a node's memory, amount not recorded) and a per-CPU/per-node value
    whose multiplier is unknown or 0 (a job that never got CPUs) are null.
    """
    arr = _arrow(s)
    parts, ok = _size_parts(arr, _MEM_REQ)
    num = _np_float(pc.struct_field(parts, "num"))
    unit = pc.struct_field(parts, "unit")
    factor = np.where(_np_bool(pc.equal(unit, "")), float(MIB), _unit_factor(unit, 1024))
    ok = ok & _in_range(num * factor)
    scope = np.asarray(
        pc.fill_null(pc.struct_field(parts, "scope"), "").to_numpy(zero_copy_only=False),
        dtype=object,
    )
    mult = np.ones(len(arr), dtype=float)
    for letter, counts in (("c", n_cpus), ("n", n_nodes)):
        sel = scope == letter
        if sel.any():
            c = (
                np.full(len(arr), np.nan)
                if counts is None
                else pd.to_numeric(counts, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            )
            c = np.where(c > 0, c, np.nan)
            mult = np.where(sel, c, mult)
    total = num * factor * mult
    known = ok & ~np.isnan(total) & (total > 0) & _in_range(total)
    present = _present(arr)
    return Parsed(_int_series(total, known, s.index), _invalid(s.index, present & ~ok))


def _digits(arr: pa.Array, max_len: int = 18) -> np.ndarray:
    """ASCII digits only, at most ``max_len`` of them (cheaper than a regex)."""
    return _np_bool(pc.and_(pc.ascii_is_decimal(arr), pc.less_equal(pc.utf8_length(arr), max_len)))


def parse_count(s: pd.Series) -> Parsed:
    """Plain non-negative integers (NCPUS, NNodes, ElapsedRaw, ...) -> Int64."""
    arr = _arrow(s)
    ok = _digits(arr)
    vals = _np_float(pc.if_else(pa.array(ok), arr, pa.scalar(None, arr.type)))
    present = _present(arr)
    return Parsed(_int_series(vals, ok, s.index), _invalid(s.index, present & ~ok))


def parse_scaled_count(s: pd.Series) -> Parsed:
    """Counts that sacct scales by 1024 (``AllocNodes``: ``2K`` = 2048) -> Int64."""
    arr = _arrow(s)
    parts, ok = _size_parts(arr, _SIZE)
    num = _np_float(pc.struct_field(parts, "num"))
    factor = _unit_factor(pc.struct_field(parts, "unit"), 1024)
    ok = ok & _in_range(num * factor)
    present = _present(arr)
    return Parsed(_int_series(num * factor, ok, s.index), _invalid(s.index, present & ~ok))


def parse_energy_raw(s: pd.Series) -> Parsed:
    """``ConsumedEnergyRaw`` (integer joules) -> float joules; sentinels -> null."""
    arr = _arrow(s)
    ok = _digits(arr, 40)
    vals = _np_float(pc.if_else(pa.array(ok), arr, pa.scalar(None, arr.type)))
    vals = np.where(vals >= ENERGY_SENTINEL_J, np.nan, vals)
    present = _present(arr)
    return Parsed(pd.Series(vals, index=s.index, dtype=float), _invalid(s.index, present & ~ok))


def parse_energy(s: pd.Series) -> Parsed:
    """``ConsumedEnergy`` (joules scaled by 1000: ``3.60M``) -> float joules."""
    arr = _arrow(s)
    parts, ok = _size_parts(arr, _SIZE)
    num = _np_float(pc.struct_field(parts, "num"))
    factor = _unit_factor(pc.struct_field(parts, "unit"), 1000)
    vals = np.where(ok, num * factor, np.nan)
    vals = np.where(vals >= ENERGY_SENTINEL_J, np.nan, vals)
    present = _present(arr)
    return Parsed(pd.Series(vals, index=s.index, dtype=float), _invalid(s.index, present & ~ok))


# ---------------------------------------------------------------- TRES and GRES


def _per_distinct(fn, s: pd.Series) -> pd.DataFrame:
    """Apply ``fn`` (Series -> frame on its index) to the distinct values of
    ``s`` only and spread the result back: TRES strings repeat a lot."""
    enc = pc.dictionary_encode(_arrow(s))
    uniq = enc.dictionary
    if len(uniq) * 2 > len(s):
        return fn(s)
    res = fn(pd.Series(uniq.to_pandas(), dtype=object))
    idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=float)
    null = np.isnan(idx)
    empty = fn(pd.Series([None], dtype=object))
    both = pd.concat([res, empty], ignore_index=True)
    take = np.where(null, len(res), np.nan_to_num(idx)).astype(np.int64)
    out = both.iloc[take]
    out.index = s.index
    return out


def parse_tres(s: pd.Series) -> pd.DataFrame:
    """TRES strings (``billing=16,cpu=16,gres/gpu:a100=4,gres/gpu=4,mem=128G,node=1``).

    Returns a frame on ``s.index`` with ``cpu``, ``node``, ``billing`` (Int64),
    ``mem_bytes`` (Int64), ``energy_j`` (float), ``n_gpus`` (float), ``gpu_type``
    (str, typed entries joined by ',') and ``invalid`` (bool).

    GPU count rule (spec §1.4): ``gres/gpu=N`` when present; otherwise the sum
    of the typed ``gres/gpu:<type>=N`` entries; 0 when the list has neither;
    null when the string is empty. Items whose type is not used here
    (``fs/disk``, ``gres/gpumem``, ``license/...``) are only checked for shape.
    """
    return _per_distinct(_parse_tres, s)


def _parse_tres(s: pd.Series) -> pd.DataFrame:
    arr = _arrow(s)
    n = len(arr)
    present = _present(arr)
    items = pc.split_pattern(arr, ",")
    parent = np.asarray(
        pc.list_parent_indices(items).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    flat = pc.list_flatten(items)
    kv = pc.extract_regex(flat, r"^(?P<k>[^=,]+)=(?P<v>[^=,]*)$")
    item_ok = _np_bool(pc.is_valid(kv))
    bad = np.zeros(n, dtype=bool)
    bad[parent[~item_ok]] = True
    keys = pc.fill_null(pc.struct_field(kv, "k"), "")
    vals = pc.fill_null(pc.struct_field(kv, "v"), "")
    val_is_count = _matches(vals, r"^\d{1,18}$")

    def count_of(key: str) -> np.ndarray:
        out = np.full(n, np.nan)
        sel = _np_bool(pc.equal(keys, key))
        if sel.any():
            bad[parent[sel & ~val_is_count]] = True
            good = sel & val_is_count
            out[parent[good]] = _np_float(vals.filter(pa.array(good)))
        return out

    cpu, node, billing, energy, untyped = (
        count_of(k) for k in ("cpu", "node", "billing", "energy", "gres/gpu")
    )
    mem = np.full(n, np.nan)
    sel = _np_bool(pc.equal(keys, "mem"))
    if sel.any():
        msz = parse_size(
            pd.Series(vals.filter(pa.array(sel)).to_pandas(), dtype=object), bare_bytes=MIB
        )
        bad[parent[sel][msz.invalid.to_numpy()]] = True
        mem[parent[sel]] = msz.values.to_numpy(dtype=float, na_value=np.nan)
    typed_sel = _np_bool(pc.starts_with(keys, "gres/gpu:"))
    typed_sum: np.ndarray = np.zeros(n)
    has_typed = np.zeros(n, dtype=bool)
    gpu_type = pd.Series([None] * n, index=s.index, dtype=object)
    if typed_sel.any():
        bad[parent[typed_sel & ~val_is_count]] = True
        good = typed_sel & val_is_count
        p = parent[good]
        typed_sum = np.bincount(p, weights=_np_float(vals.filter(pa.array(good))), minlength=n)
        has_typed[p] = True
        types = pc.utf8_slice_codeunits(keys.filter(pa.array(good)), len("gres/gpu:"))
        t = pd.DataFrame({"p": p, "t": types.to_numpy(zero_copy_only=False)}).drop_duplicates()
        multi = t["p"].duplicated(keep=False)
        single = t[~multi]
        joined = (
            t[multi].sort_values("t").groupby("p")["t"].agg(",".join)
            if multi.any()
            else pd.Series(dtype=object)
        )
        gt = np.full(n, None, dtype=object)
        gt[single["p"].to_numpy()] = single["t"].to_numpy()
        if len(joined):
            gt[joined.index.to_numpy()] = joined.to_numpy()
        gpu_type = pd.Series(gt, index=s.index, dtype=object)
    n_gpus = np.where(~np.isnan(untyped), untyped, np.where(has_typed, typed_sum, 0.0))
    n_gpus = np.where(present, n_gpus, np.nan)
    invalid = present & bad
    for a in (cpu, node, billing, energy, mem, n_gpus):
        a[invalid] = np.nan
    gpu_type[invalid] = None
    idx = s.index
    return pd.DataFrame(
        {
            "cpu": _int_series(cpu, ~np.isnan(cpu), idx),
            "node": _int_series(node, ~np.isnan(node), idx),
            "billing": _int_series(billing, ~np.isnan(billing), idx),
            "mem_bytes": _int_series(mem, ~np.isnan(mem), idx),
            "energy_j": pd.Series(energy, index=idx, dtype=float),
            "n_gpus": pd.Series(n_gpus, index=idx, dtype=float),
            "gpu_type": gpu_type,
            "invalid": _invalid(idx, invalid),
        },
        index=idx,
    )


def parse_gres(s: pd.Series) -> pd.DataFrame:
    """Old ``AllocGRES``/``ReqGRES`` (Slurm 14.11-20.02): ``gpu:2``, ``gpu:tesla:2``,
    ``gpu:tesla:2(IDX:0-1),mic:1`` -> ``n_gpus`` (0 when no gpu item; null when
    empty), ``gpu_type`` and ``invalid``."""
    arr = _arrow(s)
    n = len(arr)
    present = _present(arr)
    items = pc.split_pattern(arr, ",")
    parent = np.asarray(
        pc.list_parent_indices(items).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    flat = pc.list_flatten(items)
    g = pc.extract_regex(
        flat, r"^(?P<name>[A-Za-z0-9_/]+)(?::(?P<type>[^:(]+))?:(?P<n>\d+)(?:\(.*\))?$"
    )
    ok = _np_bool(pc.is_valid(g))
    bad = np.zeros(n, dtype=bool)
    bad[parent[~ok]] = True
    is_gpu = ok & _np_bool(pc.equal(pc.struct_field(g, "name"), "gpu"))
    cnt = (
        np.bincount(
            parent[is_gpu],
            weights=_np_float(pc.struct_field(g, "n").filter(pa.array(is_gpu))),
            minlength=n,
        )
        if is_gpu.any()
        else np.zeros(n)
    )
    gtype = pc.struct_field(g, "type")
    sel = is_gpu & _np_bool(pc.not_equal(gtype, ""))
    gt = np.full(n, None, dtype=object)
    gt[parent[sel]] = np.asarray(
        gtype.filter(pa.array(sel)).to_numpy(zero_copy_only=False), dtype=object
    )
    invalid = present & bad
    n_gpus = np.where(present & ~invalid, cnt, np.nan)
    gt[invalid] = None
    return pd.DataFrame(
        {
            "n_gpus": pd.Series(n_gpus, index=s.index, dtype=float),
            "gpu_type": pd.Series(gt, index=s.index, dtype=object),
            "invalid": _invalid(s.index, invalid),
        },
        index=s.index,
    )


# ---------------------------------------------------------------- ids, codes, states


def parse_job_id(s: pd.Series, *, truncated: bool = False) -> pd.DataFrame:
    """JobID (spec §1.2) -> its parts, on ``s.index``.

    Columns: ``alloc_id`` (the allocation's display id: ``123``, ``123_4``,
    ``123_[5-10%2]``, ``123+1``), ``step`` (``batch``, ``0``, ``0+1``... or
    null), ``is_step``, ``base_id`` (the leading number), ``array_job_id``,
    ``array_task_id`` (Int64), ``het_job_id``, ``het_offset`` (Int64),
    ``is_pending_array`` and ``invalid``. With ``truncated`` (fixed-width
    output) a step cut by the column width (``123.ba+``, ``16325776_1.+``)
    is still a step.
    """
    arr = _arrow(s)
    n = len(arr)
    idx = s.index
    # split "<allocation>.<step>" at the first dot (a pending-array list may
    # contain dots of its own: those records have no step), then apply the
    # grammar to the distinct allocation and step texts only
    bracket = _np_bool(pc.match_substring(arr, "_["))
    pieces = pc.split_pattern(arr, ".", max_splits=1)
    alloc_txt = pc.if_else(pa.array(bracket), arr, pc.list_element(pieces, 0))
    second = pc.list_slice(pieces, 1, 2)
    parent = np.asarray(
        pc.list_parent_indices(second).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    pos = np.full(n, -1, dtype=np.int64)
    pos[parent] = np.arange(len(parent))
    pos[bracket] = -1
    step_txt = pc.list_flatten(second).take(pa.array(pos, mask=pos < 0))
    step_ok = ~_present(step_txt) | _on_distinct_bool(
        step_txt, lambda u: pc.match_substring_regex(u, _STEP_CUT if truncated else _STEP)
    )

    enc = pc.dictionary_encode(alloc_txt)
    parts = pc.extract_regex(enc.dictionary, _ALLOC)

    def field(name: str) -> pa.Array:
        f = pc.struct_field(parts, name).take(enc.indices)
        return pc.if_else(pc.equal(f, ""), pa.scalar(None, f.type), f)

    ok = _np_bool(pc.is_valid(pc.take(parts, enc.indices))) & step_ok
    base = field("base")
    task, het = field("task"), field("het")
    alloc = field("alloc")
    step = pc.if_else(pc.equal(step_txt, ""), pa.scalar(None, step_txt.type), step_txt)
    has_task = _present(task)
    is_pending = _np_bool(pc.match_substring(alloc, "_["))
    has_het = _present(het)
    ok = ok & _in_range(_np_float(task)) & _in_range(_np_float(het))
    base_s = _str_series(base, idx)
    return pd.DataFrame(
        {
            "alloc_id": _str_series(alloc, idx),
            "step": _str_series(step, idx),
            "is_step": pd.Series(_present(step_txt), index=idx),
            "base_id": base_s,
            "array_job_id": base_s.where(has_task | is_pending, None),
            "array_task_id": _int_series(_np_float(task), has_task, idx),
            "het_job_id": base_s.where(has_het, None),
            "het_offset": _int_series(_np_float(het), has_het, idx),
            "is_pending_array": pd.Series(is_pending, index=idx),
            "invalid": _invalid(idx, _present(arr) & ~ok),
        },
        index=idx,
    )


def _on_distinct_bool(arr: pa.Array, fn) -> np.ndarray:
    """A boolean compute ``fn`` applied to the distinct values of ``arr`` only."""
    enc = pc.dictionary_encode(arr)
    return _np_bool(pc.take(fn(enc.dictionary), enc.indices))


def parse_exit_code(s: pd.Series) -> pd.DataFrame:
    """``ExitCode`` ``status:signal`` -> ``status``, ``signal`` (Int64), ``invalid``."""
    arr = _arrow(s)
    parts = pc.extract_regex(arr, _EXIT)
    ok = _np_bool(pc.is_valid(parts))
    st = _np_float(pc.struct_field(parts, "status"))
    sg = _np_float(pc.struct_field(parts, "signal"))
    ok = ok & _in_range(st) & _in_range(sg)
    return pd.DataFrame(
        {
            "status": _int_series(st, ok, s.index),
            "signal": _int_series(sg, ok, s.index),
            "invalid": _invalid(s.index, _present(arr) & ~ok),
        },
        index=s.index,
    )


def parse_state(s: pd.Series) -> Parsed:
    """State text -> normalized state (``CANCELLED by 1234`` -> CANCELLED,
    ``OUT_OF_ME+`` -> OUT_OF_MEMORY); text that is no Slurm state is invalid.

    The rule per distinct text lives in :mod:`rdcost.readers.states`; it is applied to
    the distinct values only, so a file of millions of records costs a few
    hundred calls.
    """
    arr = _arrow(s)
    present = _present(arr)
    text = _str_series(arr, s.index).astype(object)
    uniq = pd.unique(text[present])
    table = {u: normalize_slurm_state(u) for u in uniq}
    norm = text.map(table).where(present, None)
    invalid = present & norm.isna().to_numpy()
    return Parsed(norm.astype(object).where(norm.notna(), None), _invalid(s.index, invalid))


# ---------------------------------------------------------------- scalar wrappers


def _scalar(parsed: Parsed, text: str, kind: str):
    if bool(parsed.invalid.iloc[0]):
        raise ParseError("not a sacct value", value=text, expected=EXPECTED[kind])
    v = parsed.values.iloc[0]
    return None if pd.isna(v) else v


def duration_s(text: str) -> float | None:
    return _scalar(parse_duration(pd.Series([text], dtype=object)), text, "duration")


def timelimit_s(text: str) -> float | None:
    return _scalar(parse_timelimit(pd.Series([text], dtype=object)), text, "timelimit")


def timestamp_utc(text: str, tz: str = "UTC") -> pd.Timestamp | None:
    return _scalar(parse_timestamp(pd.Series([text], dtype=object), tz), text, "timestamp")


def size_bytes(text: str, bare_bytes: int = 1) -> int | None:
    v = _scalar(parse_size(pd.Series([text], dtype=object), bare_bytes=bare_bytes), text, "size")
    return None if v is None else int(v)


def mem_request_bytes(
    text: str, n_cpus: int | None = None, n_nodes: int | None = None
) -> int | None:
    p = parse_mem_request(
        pd.Series([text], dtype=object),
        pd.Series([n_cpus], dtype=object),
        pd.Series([n_nodes], dtype=object),
    )
    v = _scalar(p, text, "mem_request")
    return None if v is None else int(v)


def tres(text: str) -> dict:
    """One TRES string -> {'cpu': 16, 'n_gpus': 4.0, 'gpu_type': 'a100', ...} (nulls left out)."""
    row = parse_tres(pd.Series([text], dtype=object)).iloc[0]
    if row["invalid"]:
        raise ParseError("not a TRES list", value=text, expected=EXPECTED["tres"])
    return {
        k: (v.item() if hasattr(v, "item") else v)
        for k, v in row.items()
        if k != "invalid" and not pd.isna(v)
    }


def job_id(text: str, truncated: bool = False) -> dict:
    """One JobID -> its parts (see :func:`parse_job_id`), nulls left out."""
    row = parse_job_id(pd.Series([text], dtype=object), truncated=truncated).iloc[0]
    if row["invalid"]:
        raise ParseError("not a job id", value=text, expected=EXPECTED["job_id"])
    return {
        k: (v.item() if hasattr(v, "item") else v)
        for k, v in row.items()
        if k != "invalid"
        and not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
    }


def exit_code(text: str) -> tuple[int, int] | None:
    row = parse_exit_code(pd.Series([text], dtype=object)).iloc[0]
    if row["invalid"]:
        raise ParseError("not an exit code", value=text, expected=EXPECTED["exit_code"])
    if pd.isna(row["status"]):
        return None
    return int(row["status"]), int(row["signal"])
