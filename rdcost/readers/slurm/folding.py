"""sacct records (one row per text line, columns = sacct field names) -> job rows.

Shared by every sacct text mode (parsable, fixed-width). The input frame has
the canonical sacct field names as columns (``JobID``, ``State``,
``AllocTRES``...), string values (NA = empty) and ``_line`` (1-based line in
the file); ``_text`` (the line as read) is optional. :func:`records_to_chunk`
keeps one row per allocation (plain job, array task, het component, pending
array remainder), folds step rows (``.batch``, ``.extern``, ``.0``...) into
their allocation, and rejects what cannot be read, with a reason. Everything
touching every record is vectorized.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from rdcost.errors import UsageError
from rdcost.jobtable.schema import TERMINAL_STATES
from rdcost.readers.base import Chunk, ParseOptions, Rejected, handle_bad
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.record_keys import slurm_record_keys

#: Every sacct --format field name across Slurm 14.11-26.05, spelled as sacct
#: prints it, in sacct's own table order (case-insensitive alphabetical), which
#: is the order its prefix matching tries them (``elapsed`` -> Elapsed).
SACCT_FIELDS: tuple[str, ...] = tuple(sorted((
    "Account", "AdminComment", "AllocCPUS", "AllocGRES", "AllocNodes", "AllocTRES", "AssocID",
    "AveCPU", "AveCPUFreq", "AveDiskRead", "AveDiskWrite", "AvePages", "AveRSS", "AveVMSize",
    "BlockID", "Cluster", "Comment", "Constraints", "ConsumedEnergy", "ConsumedEnergyRaw",
    "Container", "CPUTime", "CPUTimeRAW", "DBIndex", "DerivedExitCode", "Elapsed", "ElapsedRaw",
    "Eligible", "End", "Exclusive", "ExitCode", "Extra", "FailedNode", "Flags", "GID", "Group",
    "JobID", "JobIDRaw", "JobName", "Layout", "Licenses", "MaxDiskRead", "MaxDiskReadNode",
    "MaxDiskReadTask", "MaxDiskWrite", "MaxDiskWriteNode", "MaxDiskWriteTask", "MaxPages",
    "MaxPagesNode", "MaxPagesTask", "MaxRSS", "MaxRSSNode", "MaxRSSTask", "MaxVMSize",
    "MaxVMSizeNode", "MaxVMSizeTask", "McsLabel", "MinCPU", "MinCPUNode", "MinCPUTask", "NCPUS",
    "NNodes", "NodeList", "NTasks", "OriginalSLUID", "OverSubscribe", "Partition", "Planned",
    "PlannedCPU", "PlannedCPURAW", "Priority", "QOS", "QOSRAW", "QOSREQ", "Reason", "ReqCPUFreq",
    "ReqCPUFreqGov", "ReqCPUFreqMax", "ReqCPUFreqMin", "ReqCPUS", "ReqGRES", "ReqMem", "ReqNodes",
    "ReqReservation", "ReqTRES", "Reservation", "ReservationId", "Reserved", "Restarts", "ResvCPU",
    "ResvCPURAW", "SegmentSize", "SLUID", "Start", "State", "StdErr", "StdIn", "StdOut", "Submit",
    "SubmitLine", "Suspended", "SystemComment", "SystemCPU", "Timelimit", "TimelimitRaw",
    "TotalCPU", "TRESUsageInAve", "TRESUsageInMax", "TRESUsageInMaxNode", "TRESUsageInMaxTask",
    "TRESUsageInMin", "TRESUsageInMinNode", "TRESUsageInMinTask", "TRESUsageInTot",
    "TRESUsageOutAve", "TRESUsageOutMax", "TRESUsageOutMaxNode", "TRESUsageOutMaxTask",
    "TRESUsageOutMin", "TRESUsageOutMinNode", "TRESUsageOutMinTask", "TRESUsageOutTot", "UID",
    "User", "UserCPU", "WCKey", "WCKeyID", "WorkDir",
), key=str.casefold))

_BY_LOWER = {f.casefold(): f for f in SACCT_FIELDS}


def resolve_field(name: str) -> str | None:
    """A field name as a header or --fields writes it -> sacct's spelling.

    Exact case-insensitive match first; otherwise a case-insensitive prefix,
    the first in sacct's table order wins (as ``sacct -o`` does). A name cut
    by the fixed-width header (``ConsumedE+``) is matched by its prefix.
    None when nothing matches.
    """
    n = name.strip()
    if n.endswith("+"):
        n = n[:-1]
    low = n.casefold()
    if not low:
        return None
    if low in _BY_LOWER and not name.strip().endswith("+"):
        return _BY_LOWER[low]
    for f in SACCT_FIELDS:
        if f.casefold().startswith(low):
            return f
    return None


def fields_from_user(names: Iterable[str]) -> list[str]:
    """``--fields`` -> canonical names; an unknown name is a UsageError."""
    out, unknown = [], []
    for n in names:
        f = resolve_field(n)
        (out if f else unknown).append(f or n)
    if unknown:
        raise UsageError(f"--fields: not sacct field names: {', '.join(unknown)}",
                         hint="use the names of the sacct --format list, e.g. JobID,State,Elapsed")
    return out


def is_known_field(name: str) -> bool:
    return name.strip().casefold() in _BY_LOWER


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
    cuts, last = [], 0
    while True:
        later = starts[starts >= last + max(chunk_rows, 1)]
        if not len(later):
            return cuts
        last = int(later[0])
        cuts.append(last)


# ---------------------------------------------------------------- records -> chunk

def records_to_chunk(raw: pd.DataFrame, *, path: str | Path, opts: ParseOptions, source_format: str,
                     n_ignored: int = 0, pre_rejected: Iterable[Rejected] = (),
                     bytes_done: int | None = None, delimiter: str = "|") -> Chunk:
    """Turn the record lines of one chunk into job rows with full accounting.

    ``n_ignored`` counts lines that are not in ``raw`` and are not records
    (header, comments); ``pre_rejected`` are lines already refused by the
    reader (wrong field count). Blank rows, repeated header rows and rows
    whose first value starts with ``#`` in ``raw`` are ignored here.
    ``delimiter`` rebuilds the text of a rejected line when ``_text`` is absent.
    """
    path = str(path)
    pre = list(pre_rejected)
    n_records = len(raw) + n_ignored + len(pre)
    if "JobID" not in raw.columns:
        from rdcost.errors import ParseError
        raise ParseError("the sacct output has no JobID column; rdcost needs it to tell jobs from steps",
                         path=path, hint="export with --format=JobID,... (see docs/sacct.md)")
    raw = raw.reset_index(drop=True)
    fields = [c for c in raw.columns if not c.startswith("_")]

    # lines that are no records: blank, the header again, '#' comments
    blank = np.logical_and.reduce([raw[c].isna().to_numpy() for c in fields]) if fields \
        else np.ones(len(raw), bool)
    jid_arrow = sv.arrow_strings(raw["JobID"])
    header_again = _np(pc.equal(pc.utf8_lower(jid_arrow), "jobid"))
    comment = _np(pc.starts_with(sv.arrow_strings(raw[fields[0]]), "#"))
    ignored = blank | header_again | comment
    n_ignored += int(ignored.sum())
    keep_rows = np.flatnonzero(~ignored)
    t = _Rows(raw, keep_rows)
    lines = raw["_line"].to_numpy(dtype=np.int64)[keep_rows]
    n = len(keep_rows)
    rejects: list[tuple[int, str, str | None, str | None, str | None]] = []  # (pos, reason, column, value, expected)

    def text_of(pos: int) -> str:
        if "_text" in raw.columns:
            return str(raw["_text"].iat[keep_rows[pos]])
        return delimiter.join(_value(raw[c], keep_rows[pos]) or "" for c in fields)

    jid = sv.parse_job_id(t["JobID"], truncated=source_format == "sacct-fixed")
    bad_id = (jid["invalid"] | t["JobID"].isna()).to_numpy()
    for p in np.flatnonzero(bad_id):
        v = _value(t["JobID"], p)
        rejects.append((p, "JobID is not a Slurm job id" if v is not None else "empty JobID",
                        "JobID", v or "", sv.EXPECTED["job_id"]))
    is_step = jid["is_step"].to_numpy() & ~bad_id
    is_alloc = ~jid["is_step"].to_numpy() & ~bad_id
    codes = pc.dictionary_encode(sv.arrow_strings(jid["alloc_id"])).indices
    alloc_code = np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    pos = np.arange(n)

    # each step belongs to the allocation record before it with the same id
    # (sacct prints an allocation, then its steps); failing that, to the last
    # allocation record with that id anywhere in the chunk.
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
    orphan = is_step & np.isnan(owner)
    for p in np.flatnonzero(orphan):
        rejects.append((p, "step record whose allocation record is not in the file (a step alone "
                           "cannot be billed: include the allocation line in the export)",
                        "JobID", _value(t["JobID"], p), None))

    # ---- allocation rows: parse and validate
    A = np.flatnonzero(is_alloc)
    ta = _Rows(raw, keep_rows[A])
    na = len(A)
    bad_alloc = np.zeros(na, dtype=bool)
    first_bad: dict[int, tuple[str, str, str]] = {}

    def check(column: str, invalid: pd.Series | np.ndarray, expected_key: str, reason: str | None = None) -> None:
        inv = np.asarray(invalid, dtype=bool)
        for i in np.flatnonzero(inv & ~bad_alloc):
            first_bad[int(i)] = (column, expected_key, reason or f"{column} value not understood")
        bad_alloc[inv] = True

    def col(name: str) -> pd.Series | None:
        return ta.get(name)

    def missing() -> pd.Series:
        return pd.Series([None] * na, dtype=object)

    idx = pd.RangeIndex(na)
    state_raw = col("State")
    if state_raw is not None:
        st = sv.parse_state(state_raw)
        check("State", st.invalid | state_raw.isna(), "state",
              "State is not a Slurm job state")
        state = st.values
    else:
        state = missing()
    ex = sv.parse_exit_code(col("ExitCode")) if col("ExitCode") is not None else None
    if ex is not None:
        check("ExitCode", ex["invalid"], "exit_code")
    times = {}
    for name in ("Submit", "Start", "End"):
        if col(name) is not None:
            pt = sv.parse_timestamp(col(name), opts.tz)
            check(name, pt.invalid, "timestamp")
            times[name] = pt.values
        else:
            times[name] = pd.Series(pd.NaT, index=idx, dtype="datetime64[us, UTC]")

    def first_known(*parsed: tuple[str, str, object]) -> pd.Series | None:
        """The first column that has a value, per row: a later column is read
        (and checked) only on the rows where the earlier ones are empty."""
        out = None
        for name, key, fn in parsed:
            if col(name) is None:
                continue
            if out is None:
                p = fn(col(name))
                check(name, p.invalid, key)
                out = p.values
                continue
            need = out.isna().to_numpy(dtype=bool)
            if not need.any():
                continue
            p = fn(col(name)[need])
            inv = np.zeros(na, dtype=bool)
            inv[need] = p.invalid.to_numpy()
            check(name, inv, key)
            more = pd.Series(p.values.astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                             index=np.flatnonzero(need)).reindex(idx)
            out = out.astype("Float64")
            out = out.where(out.notna(), more.astype("Float64"))
        return out

    elapsed = first_known(("ElapsedRaw", "count", sv.parse_count), ("Elapsed", "duration", sv.parse_duration))
    timelimit = first_known(("TimelimitRaw", "timelimit_raw", sv.parse_timelimit_raw),
                            ("Timelimit", "timelimit", sv.parse_timelimit))
    n_nodes = first_known(("NNodes", "count", sv.parse_count), ("AllocNodes", "scaled_count", sv.parse_scaled_count))
    n_cpus = first_known(("NCPUS", "count", sv.parse_count), ("AllocCPUS", "count", sv.parse_count))
    req_cpus = first_known(("ReqCPUS", "count", sv.parse_count))
    req_nodes = first_known(("ReqNodes", "scaled_count", sv.parse_scaled_count))

    alloc_tres = None
    if col("AllocTRES") is not None:
        alloc_tres = sv.parse_tres(col("AllocTRES"))
        check("AllocTRES", alloc_tres["invalid"], "tres")
    if n_cpus is None and alloc_tres is not None:
        n_cpus = alloc_tres["cpu"]
    cpus_for_mem = _first(n_cpus, req_cpus, positive=True)
    nodes_for_mem = _first(n_nodes, req_nodes, positive=True)
    mem = None
    if col("ReqMem") is not None:
        pm = sv.parse_mem_request(col("ReqMem"), cpus_for_mem, nodes_for_mem)
        check("ReqMem", pm.invalid, "mem_request")
        mem = pm.values
    if alloc_tres is not None:
        mem = alloc_tres["mem_bytes"] if mem is None else mem.where(mem.notna(), alloc_tres["mem_bytes"])
    if col("ReqTRES") is not None:
        # read only where nothing above gave the memory (a job that never ran)
        need = np.ones(na, dtype=bool) if mem is None else mem.isna().to_numpy(dtype=bool)
        if need.any():
            rt = sv.parse_tres(col("ReqTRES")[need])
            inv = np.zeros(na, dtype=bool)
            inv[need] = rt["invalid"].to_numpy()
            check("ReqTRES", inv, "tres")
            req_mem = pd.Series(pd.NA, index=idx, dtype="Int64")
            req_mem[need] = rt["mem_bytes"].to_numpy()
            mem = req_mem if mem is None else mem.where(mem.notna(), req_mem)

    # ---- GPUs: AllocTRES, else the old AllocGRES; 0 for records that never ran
    n_gpus = pd.Series(np.nan, index=idx)
    gpu_type = missing()
    if alloc_tres is not None:
        n_gpus = alloc_tres["n_gpus"].copy()
        gpu_type = alloc_tres["gpu_type"].copy()
    if col("AllocGRES") is not None:
        g = sv.parse_gres(col("AllocGRES"))
        check("AllocGRES", g["invalid"], "gres")
        g_gpus = g["n_gpus"].fillna(0.0).where(~g["invalid"])   # empty AllocGRES: no GRES allocated
        take = n_gpus.isna() | ((n_gpus == 0) & (g_gpus > 0))
        n_gpus = n_gpus.where(~take, g_gpus)
        gpu_type = gpu_type.where(~take, g["gpu_type"])
    pending_array = jid["is_pending_array"].to_numpy()[A]
    never_started = pending_array | (state == "PENDING").to_numpy()
    if col("Start") is not None:   # Start 'Unknown'/'None'
        never_started |= (times["Start"].isna() & col("Start").notna()).to_numpy()
    if col("NodeList") is not None:
        never_started |= _np(pc.equal(pc.utf8_lower(sv.arrow_strings(col("NodeList"))), "none assigned"))
    if n_cpus is not None:          # NCPUS is 0 for a job that never got an allocation
        never_started |= (n_cpus.astype("Float64") == 0).fillna(False).to_numpy(dtype=bool)
    n_gpus = n_gpus.where(~(n_gpus.isna().to_numpy() & never_started), 0.0)
    n_gpus = n_gpus.where(~pending_array, 0.0)
    if n_cpus is not None:          # a job that never started holds no CPUs (22.05 prints the request)
        n_cpus = n_cpus.where(~never_started, 0)

    # ---- usage that steps carry. Parsed on the allocation lines, and on the
    # step lines only where the allocation line lacks it: MaxRSS always,
    # TotalCPU when the allocation's is empty or 0, energy from .extern only.
    usage: dict[str, np.ndarray] = {}               # values per record (NaN = none)
    rec_bad = np.zeros(n, dtype=bool)               # step rows with an unreadable usage value
    step_first_bad: dict[int, tuple[str, str]] = {}
    at_alloc = np.full(n, -1, dtype=np.int64)
    at_alloc[A] = np.arange(na)
    step_owner = np.where(is_step & ~np.isnan(owner), np.nan_to_num(owner, nan=0).astype(np.int64), -1)
    owner_alloc = np.where(step_owner >= 0, at_alloc[np.maximum(step_owner, 0)], -1)
    step_names = jid["step"]
    for name, key, fn in (("MaxRSS", "size", sv.parse_size), ("TotalCPU", "duration", sv.parse_duration),
                          ("ConsumedEnergyRaw", "energy_raw", sv.parse_energy_raw),
                          ("ConsumedEnergy", "energy", sv.parse_energy)):
        if name not in t:
            continue
        values = np.full(n, np.nan)
        pa_ = fn(ta[name])
        check(name, pa_.invalid.to_numpy(), key)
        own_v = pa_.values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        values[A] = own_v
        want = is_step & (owner_alloc >= 0)
        if name == "TotalCPU":
            lacking = np.isnan(own_v) | (own_v == 0)
            want &= lacking[np.maximum(owner_alloc, 0)] if na else False   # na 0: steps only
        elif name.startswith("ConsumedEnergy"):
            lacking = np.isnan(own_v) | (own_v == 0)
            want &= lacking[np.maximum(owner_alloc, 0)] if na else False
            want &= step_names.eq("extern").fillna(False).to_numpy(dtype=bool)
        rows = np.flatnonzero(want)
        if len(rows):
            ps = fn(t[name].iloc[rows].reset_index(drop=True))
            values[rows] = ps.values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            inv = ps.invalid.to_numpy()
            for q in rows[inv & ~rec_bad[rows]]:
                step_first_bad[int(q)] = (name, key)
            rec_bad[rows[inv]] = True
        usage[name] = values

    # ---- decide which allocations are rejected, then which steps fold
    alloc_ok = ~bad_alloc
    for i in np.flatnonzero(bad_alloc):
        column, key, reason = first_bad[int(i)]
        p = int(A[i])
        rejects.append((p, reason, column, _value(t[column], p), sv.EXPECTED[key]))
    alloc_ok_at = np.zeros(n, dtype=bool)
    alloc_ok_at[A[alloc_ok]] = True
    owned = is_step & ~orphan
    own = np.where(owned, owner, 0).astype(np.int64)
    owner_rejected = owned & ~alloc_ok_at[own]
    for p in np.flatnonzero(owner_rejected):
        rejects.append((p, f"its allocation record (line {lines[own[p]]}) was rejected", "JobID",
                        _value(t["JobID"], p), None))
    step_bad = owned & ~owner_rejected & rec_bad
    for p in np.flatnonzero(step_bad):
        name, key = step_first_bad[int(p)]
        rejects.append((p, f"{name} value of a step not understood", name, _value(t[name], p), sv.EXPECTED[key]))
    folded = owned & ~owner_rejected & ~step_bad
    n_folded = int(folded.sum())

    # ---- aggregate step usage per allocation (indexed by record position)
    fpos = np.flatnonzero(folded)
    fown = own[fpos]
    steps_per_alloc = np.bincount(fown, minlength=n)[A]

    def step_values(name: str) -> np.ndarray | None:
        return usage.get(name)

    def agg(values: np.ndarray, how: str, sel: np.ndarray | None = None) -> np.ndarray:
        """Per allocation (in A order): max or sum over its folded steps; NaN if none had a value."""
        s = fpos if sel is None else fpos[sel]
        o = fown if sel is None else fown[sel]
        v = values[s]
        keep = ~np.isnan(v)
        out = pd.Series(v[keep]).groupby(o[keep]).agg(how)
        res = np.full(n, np.nan)
        res[out.index.to_numpy(dtype=np.int64)] = out.to_numpy()
        return res[A]

    rss = step_values("MaxRSS")
    max_rss = None
    if rss is not None:
        max_rss = np.fmax(rss[A], agg(rss, "max"))
    tcpu = step_values("TotalCPU")
    total_cpu = None
    if tcpu is not None:
        own_t = tcpu[A]
        steps_sum = agg(tcpu, "sum")
        # sacct sums the finished steps into the allocation line; when that is
        # missing or 0 while steps carry CPU time, use the steps' sum
        total_cpu = np.where(np.isnan(own_t) | ((own_t == 0) & (steps_sum > 0)), steps_sum, own_t)
        # with `sacct -X` steps are not loaded and TotalCPU prints as 0: a job
        # that ran, has no step in the file and shows 0 CPU time is unknown
        el = np.asarray(elapsed.to_numpy(dtype=float, na_value=np.nan)) if elapsed is not None else np.full(na, np.nan)
        total_cpu = np.where((total_cpu == 0) & (steps_per_alloc == 0) & (el > 0), np.nan, total_cpu)
    energy = None
    e_raw, e_scaled = step_values("ConsumedEnergyRaw"), step_values("ConsumedEnergy")
    if e_raw is not None or e_scaled is not None:
        ev = e_raw if e_scaled is None else (e_scaled if e_raw is None else np.where(np.isnan(e_raw), e_scaled, e_raw))
        own_e = ev[A]
        step_name = jid["step"].to_numpy(dtype=object)[fpos]
        is_ext = step_name == "extern"
        # spec 1.1 rule 4: the extern step spans every node for the whole job;
        # batch and srun steps overlap, so step energies are never added up
        ext = agg(ev, "max", is_ext)
        energy = np.where(np.isnan(own_e) | (own_e == 0), ext, own_e)
        # ConsumedEnergyRaw is 0 when no AcctGatherEnergy plugin measured anything
        energy = np.where(energy > 0, energy, np.nan)

    # ---- build the job rows of the good allocations
    keep = alloc_ok
    P = A[keep]

    kept = np.flatnonzero(keep)

    def k(values: pd.Series | np.ndarray):
        """Values of the kept allocations (strings stay Arrow-backed; NA for missing)."""
        if isinstance(values, pd.Series):
            return values.iloc[kept].reset_index(drop=True)
        arr = np.asarray(values, dtype=object)[keep]
        arr[pd.isna(arr)] = None
        return arr

    cluster = ta.get("Cluster")
    cluster = cluster if cluster is not None else missing()
    if opts.cluster is not None:
        cluster = cluster.where(cluster.notna(), opts.cluster)
    user = ta.get("User")
    uid = ta.get("UID")
    if user is None:
        user = uid if uid is not None else missing()
    elif uid is not None:
        user = user.where(user.notna(), uid)
    node_list = ta.get("NodeList")
    if node_list is not None:
        node_list = node_list.where(
            ~_np(pc.equal(pc.utf8_lower(sv.arrow_strings(node_list)), "none assigned")), None)
    job_id = jid["alloc_id"].iloc[A]
    jid_a = jid.iloc[A].reset_index(drop=True)
    job_id_raw = ta.get("JobIDRaw")
    plain = (jid_a["array_job_id"].isna() & jid_a["het_job_id"].isna()).to_numpy()
    derived_raw = jid_a["base_id"].where(plain, None)
    job_id_raw = derived_raw if job_id_raw is None else job_id_raw.where(job_id_raw.notna(), derived_raw)
    is_array = jid_a["array_job_id"].notna()
    # sacct prints 0:0 for jobs that have not ended: their exit status is unknown
    unfinished = state.isin(["PENDING", "RUNNING", "SUSPENDED"]).to_numpy(dtype=bool)

    jobs = pd.DataFrame({
        "source": "slurm",
        "source_format": source_format,
        "source_line": lines[P],
        "cluster": k(cluster),
        "job_id": k(job_id),
        "job_id_raw": k(job_id_raw),
        "array_job_id": k(jid_a["array_job_id"]),
        "array_task_id": jid_a["array_task_id"].array[keep],
        "het_job_id": k(jid_a["het_job_id"]),
        "het_offset": jid_a["het_offset"].array[keep],
        "job_name": k(ta.get("JobName", missing())),
        "user": k(user),
        "account": k(ta.get("Account", missing())),
        "partition": k(ta.get("Partition", missing())),
        "qos": k(ta.get("QOS", missing())),
        "group_id": k(jid_a["array_job_id"]),
        "group_source": np.where(is_array.to_numpy(), "array", None)[keep],
        "state": k(state),
        "state_raw": k(state_raw if state_raw is not None else missing()),
        "exit_code": _unless(ex["status"], unfinished)[keep] if ex is not None else None,
        "exit_signal": _unless(ex["signal"], unfinished)[keep] if ex is not None else None,
        "submit_time": times["Submit"].array[keep],
        "start_time": times["Start"].array[keep],
        "end_time": times["End"].array[keep],
        "elapsed_s": _floats(elapsed, na)[keep],
        "timelimit_s": _floats(timelimit, na)[keep],
        "n_nodes": _ints(n_nodes, na)[keep],
        "n_cpus": _ints(n_cpus, na)[keep],
        "n_gpus": n_gpus.to_numpy(dtype=float)[keep],
        "gpu_type": k(gpu_type),
        "is_gpu_assumed": False,
        "mem_req_bytes": _ints(mem, na)[keep],
        "max_rss_bytes": _ints(max_rss, na)[keep],
        "total_cpu_s": _floats(total_cpu, na)[keep],
        "energy_j": _floats(energy, na)[keep],
        "node_list": k(node_list if node_list is not None else missing()),
    })
    n_merged = 0
    if len(jobs):
        jobs["record_key"] = slurm_record_keys(jobs["cluster"], jobs["job_id"], jobs["submit_time"]).to_numpy()
        dup = jobs["record_key"].duplicated(keep=False)
        if dup.any():
            final = jobs["state"].isin(TERMINAL_STATES).to_numpy()
            order = pd.DataFrame({"final": final, "pos": np.arange(len(jobs)),
                                  "key": jobs["record_key"].to_numpy()})
            best = order.sort_values(["final", "pos"]).groupby("key").tail(1)["pos"]
            before = len(jobs)
            jobs = jobs.iloc[np.sort(best.to_numpy())].reset_index(drop=True)
            n_merged = before - len(jobs)

    rejected = [Rejected(path=path, line=int(lines[p]), reason=reason, column=column,
                         value=None if value is None else str(value), expected=expected, text=text_of(p))
                for p, reason, column, value, expected in rejects]
    out: list[Rejected] = []
    for r in sorted(pre + rejected, key=lambda r: (r.line if r.line is not None else -1)):
        handle_bad(out, r, opts)
    return Chunk(jobs=jobs, n_records=n_records, n_folded=n_folded, n_merged=n_merged,
                 n_ignored=n_ignored, rejected=out, format_detail=source_format, bytes_done=bytes_done)


class _Rows:
    """Columns of ``frame`` restricted to ``rows``, cut out on first use."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray):
        self._frame, self._rows, self._cache = frame, rows, {}

    def __contains__(self, name: str) -> bool:
        return name in self._frame.columns

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self._cache:
            self._cache[name] = self._frame[name].iloc[self._rows].reset_index(drop=True)
        return self._cache[name]

    def get(self, name: str, default=None):
        return self[name] if name in self else default


def _value(series: pd.Series, i: int) -> str | None:
    v = series.iat[int(i)]
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)


def _np(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _unless(values: pd.Series, mask: np.ndarray) -> pd.arrays.IntegerArray:
    out = values.array.copy()
    out[mask] = pd.NA
    return out


def _first(*series: pd.Series | None, positive: bool = False) -> pd.Series | None:
    out = None
    for s in series:
        if s is None:
            continue
        s = s.astype("Float64")
        if positive:
            s = s.where(s > 0)
        out = s if out is None else out.where(out.notna(), s)
    return out


def _floats(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    if isinstance(values, pd.Series):
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def _ints(values, n: int) -> pd.arrays.IntegerArray:
    f = _floats(values, n)
    out = pd.array(np.where(np.isnan(f), 0, np.rint(np.nan_to_num(f))).astype(np.int64), dtype="Int64")
    out[np.isnan(f)] = pd.NA
    return out
