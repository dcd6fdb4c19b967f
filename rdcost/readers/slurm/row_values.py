"""The values of some sacct record lines (allocation lines, or steps that stand for an
allocation the export left out): states, times, counts, memory and GPUs, each parsed
by its grammar (:mod:`rdcost.readers.slurm.grammar`) and checked.

A line whose value breaks its field's grammar is marked bad, with the first field
that did (column, expected grammar, reason), so it can be rejected with a message
naming the line, the field, the value and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from rdcost.readers.base import ParseOptions
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.chunking import _np
from rdcost.readers.slurm.records import Records, Rows


@dataclass
class RowValues:
    """Parsed values of ``n`` record lines (see the module doc); Series are on 0..n-1."""

    n: int
    cols: Rows
    bad: np.ndarray = field(init=False)
    first_bad: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    state: pd.Series | None = None
    state_raw: pd.Series | None = None
    exit: pd.DataFrame | None = None
    times: dict[str, pd.Series] = field(default_factory=dict)
    elapsed: pd.Series | None = None
    timelimit: pd.Series | None = None
    n_nodes: pd.Series | None = None
    n_cpus: pd.Series | None = None
    mem: pd.Series | None = None
    n_gpus: pd.Series | None = None
    gpu_type: pd.Series | None = None
    never_started: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.bad = np.zeros(self.n, dtype=bool)

    def col(self, name: str) -> pd.Series | None:
        return self.cols.get(name)

    def missing(self) -> pd.Series:
        return pd.Series([None] * self.n, dtype=object)

    def check(
        self,
        column: str,
        invalid: pd.Series | np.ndarray,
        expected_key: str,
        reason: str | None = None,
    ) -> None:
        """Mark the lines where ``column`` broke its grammar (the first such field is kept)."""
        inv = np.asarray(invalid, dtype=bool)
        for i in np.flatnonzero(inv & ~self.bad):
            self.first_bad[int(i)] = (
                column,
                expected_key,
                reason or f"{column} value not understood",
            )
        self.bad[inv] = True

    def first_known(self, *parsed: tuple[str, str, Callable]) -> pd.Series | None:
        """The first column that has a value, per line: a later column is read (and
        checked) only on the lines where the earlier ones are empty."""
        out = None
        idx = pd.RangeIndex(self.n)
        for name, key, fn in parsed:
            col = self.col(name)
            if col is None:
                continue
            if out is None:
                p = fn(col)
                self.check(name, p.invalid, key)
                out = p.values
                continue
            need = out.isna().to_numpy(dtype=bool)
            if not need.any():
                continue
            p = fn(col[need])
            inv = np.zeros(self.n, dtype=bool)
            inv[need] = p.invalid.to_numpy()
            self.check(name, inv, key)
            more = pd.Series(
                p.values.astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                index=np.flatnonzero(need),
            ).reindex(idx)
            out = out.astype("Float64")
            out = out.where(out.notna(), more.astype("Float64"))
        return out


def read_values(
    recs: Records, positions: np.ndarray, opts: ParseOptions, *, pending_array: np.ndarray
) -> RowValues:
    """Parse and check the values of the record lines at ``positions``.

    ``pending_array`` marks lines that are a pending array remainder (``123_[5-10]``).
    """
    v = RowValues(n=len(positions), cols=Rows(recs.raw, recs.keep_rows[positions]))
    _states(v, opts)
    _times_and_counts(v, opts)
    alloc_tres = _memory(v)
    _gpus(v, alloc_tres)
    _never_started(v, pending_array)
    return v


def _states(v: RowValues, opts: ParseOptions) -> None:
    v.state_raw = v.col("State")
    if v.state_raw is not None:
        st = sv.parse_state(v.state_raw)
        v.check("State", st.invalid | v.state_raw.isna(), "state", "State is not a Slurm job state")
        v.state = st.values
    else:
        v.state = v.missing()
    if v.col("ExitCode") is not None:
        v.exit = sv.parse_exit_code(v.col("ExitCode"))
        v.check("ExitCode", v.exit["invalid"], "exit_code")


def _times_and_counts(v: RowValues, opts: ParseOptions) -> None:
    idx = pd.RangeIndex(v.n)
    for name in ("Submit", "Start", "End"):
        if v.col(name) is not None:
            pt = sv.parse_timestamp(v.col(name), opts.tz, opts.time_format, opts.export_time)
            v.check(name, pt.invalid, "timestamp")
            v.times[name] = pt.values
        else:
            v.times[name] = pd.Series(pd.NaT, index=idx, dtype="datetime64[us, UTC]")
    v.elapsed = v.first_known(
        ("ElapsedRaw", "count", sv.parse_count), ("Elapsed", "duration", sv.parse_duration)
    )
    v.timelimit = v.first_known(
        ("TimelimitRaw", "timelimit_raw", sv.parse_timelimit_raw),
        ("Timelimit", "timelimit", sv.parse_timelimit),
    )
    v.n_nodes = v.first_known(
        ("NNodes", "count", sv.parse_count), ("AllocNodes", "scaled_count", sv.parse_scaled_count)
    )
    v.n_cpus = v.first_known(
        ("NCPUS", "count", sv.parse_count), ("AllocCPUS", "count", sv.parse_count)
    )


def _memory(v: RowValues) -> pd.DataFrame | None:
    """Requested memory of the whole job (ReqMem, else AllocTRES mem, else ReqTRES mem);
    returns the parsed AllocTRES (GPUs come from it too)."""
    alloc_tres = None
    if v.col("AllocTRES") is not None:
        alloc_tres = sv.parse_tres(v.col("AllocTRES"))
        v.check("AllocTRES", alloc_tres["invalid"], "tres")
    if v.n_cpus is None and alloc_tres is not None:
        v.n_cpus = alloc_tres["cpu"]
    req_cpus = v.first_known(("ReqCPUS", "count", sv.parse_count))
    req_nodes = v.first_known(("ReqNodes", "scaled_count", sv.parse_scaled_count))
    cpus_for_mem = _first(v.n_cpus, req_cpus, positive=True)
    nodes_for_mem = _first(v.n_nodes, req_nodes, positive=True)
    mem = None
    if v.col("ReqMem") is not None:
        pm = sv.parse_mem_request(v.col("ReqMem"), cpus_for_mem, nodes_for_mem)
        v.check("ReqMem", pm.invalid, "mem_request")
        mem = pm.values
    if alloc_tres is not None:
        mem = (
            alloc_tres["mem_bytes"]
            if mem is None
            else mem.where(mem.notna(), alloc_tres["mem_bytes"])
        )
    req_tres = v.col("ReqTRES")
    if req_tres is not None:
        # read only where nothing above gave the memory (a job that never ran)
        need = np.ones(v.n, dtype=bool) if mem is None else mem.isna().to_numpy(dtype=bool)
        if need.any():
            rt = sv.parse_tres(req_tres[need])
            inv = np.zeros(v.n, dtype=bool)
            inv[need] = rt["invalid"].to_numpy()
            v.check("ReqTRES", inv, "tres")
            req_mem = pd.Series(pd.NA, index=pd.RangeIndex(v.n), dtype="Int64")
            req_mem[need] = rt["mem_bytes"].to_numpy()
            mem = req_mem if mem is None else mem.where(mem.notna(), req_mem)
    v.mem = mem
    return alloc_tres


def _gpus(v: RowValues, alloc_tres: pd.DataFrame | None) -> None:
    """GPUs from AllocTRES, else the old AllocGRES (Slurm 14.11-20.02)."""
    n_gpus = pd.Series(np.nan, index=pd.RangeIndex(v.n))
    gpu_type = v.missing()
    if alloc_tres is not None:
        n_gpus = alloc_tres["n_gpus"].copy()
        gpu_type = alloc_tres["gpu_type"].copy()
    if v.col("AllocGRES") is not None:
        g = sv.parse_gres(v.col("AllocGRES"))
        v.check("AllocGRES", g["invalid"], "gres")
        g_gpus = g["n_gpus"].fillna(0.0).where(~g["invalid"])  # empty AllocGRES: no GRES allocated
        take = n_gpus.isna() | ((n_gpus == 0) & (g_gpus > 0))
        n_gpus = n_gpus.where(~take, g_gpus)
        gpu_type = gpu_type.where(~take, g["gpu_type"])
    v.n_gpus, v.gpu_type = n_gpus, gpu_type


def _never_started(v: RowValues, pending_array: np.ndarray) -> None:
    """Lines of jobs that never ran hold no GPU: an unknown count is 0 for them."""
    assert v.state is not None  # _states ran first
    never = pending_array | (v.state == "PENDING").to_numpy()
    start = v.col("Start")
    if start is not None:  # Start 'Unknown'/'None'
        never |= (v.times["Start"].isna() & start.notna()).to_numpy()
    if v.col("NodeList") is not None:
        never |= _np(pc.equal(pc.utf8_lower(sv.arrow_strings(v.col("NodeList"))), "none assigned"))
    if v.n_cpus is not None:  # NCPUS is 0 for a job that never got an allocation
        never |= (v.n_cpus.astype("Float64") == 0).fillna(False).to_numpy(dtype=bool)
    assert v.n_gpus is not None
    n_gpus = v.n_gpus.where(~(v.n_gpus.isna().to_numpy() & never), 0.0)
    v.n_gpus = n_gpus.where(~pending_array, 0.0)
    v.never_started = never


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
