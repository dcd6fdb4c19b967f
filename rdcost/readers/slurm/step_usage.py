"""Usage that sacct prints on step lines (formats.md 1.1): peak memory, CPU time and
energy, read per record and aggregated per allocation.

Read on the allocation lines, and on the step lines only where the allocation line
lacks it: MaxRSS always, TotalCPU when the allocation's is empty or 0, energy from the
``.extern`` step only. Aggregated per allocation: the largest MaxRSS; the allocation's
TotalCPU, else the sum of its steps'; the allocation's energy, else its extern step's
(batch and srun steps overlap, so step energies are never added up).

An export without TotalCPU but with UserCPU and SystemCPU gets TotalCPU = UserCPU +
SystemCPU (what sacct computes), marked as derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rdcost.readers.slurm import grammar as sv
from rdcost.readers.slurm.records import Records
from rdcost.readers.slurm.row_values import RowValues

#: Usage fields: name -> (grammar key of the expected text, parser).
USAGE_FIELDS = {
    "MaxRSS": ("size", sv.parse_size),
    "TotalCPU": ("duration", sv.parse_duration),
    "ConsumedEnergyRaw": ("energy_raw", sv.parse_energy_raw),
    "ConsumedEnergy": ("energy", sv.parse_energy),
}


@dataclass
class Usage:
    """Usage values per record position (NaN = none), and step lines whose value is unreadable."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    cpu_derived: np.ndarray | None = None  # TotalCPU from UserCPU + SystemCPU, per record
    rec_bad: np.ndarray | None = None
    step_first_bad: dict[int, tuple[str, str]] = field(default_factory=dict)


def read_usage(recs: Records, A: np.ndarray, vals: RowValues) -> Usage:
    """Usage of the allocation lines at positions ``A`` (their bad values checked into
    ``vals``) and of the step lines that fold into them."""
    n, na = recs.n, len(A)
    u = Usage(rec_bad=np.zeros(n, dtype=bool))
    at_alloc = np.full(n, -1, dtype=np.int64)
    at_alloc[A] = np.arange(na)
    step_owner = np.where(
        recs.is_step & ~np.isnan(recs.owner), np.nan_to_num(recs.owner, nan=0).astype(np.int64), -1
    )
    owner_alloc = np.where(step_owner >= 0, at_alloc[np.maximum(step_owner, 0)], -1)
    is_extern = recs.jid["step"].eq("extern").fillna(False).to_numpy(dtype=bool)
    for name, (key, fn) in USAGE_FIELDS.items():
        if name not in recs.rows and not (name == "TotalCPU" and _has_user_system(recs)):
            continue
        values = np.full(n, np.nan)
        own_v = _read(recs, A, name, key, fn, vals)
        values[A] = own_v
        want = recs.is_step & (owner_alloc >= 0)
        if name == "MaxRSS":
            pass
        elif na == 0:
            want &= False
        else:
            lacking = np.isnan(own_v) | (own_v == 0)
            want &= lacking[np.maximum(owner_alloc, 0)]
            if name.startswith("ConsumedEnergy"):
                want &= is_extern
        rows = np.flatnonzero(want)
        if len(rows):
            values[rows] = _read_steps(recs, rows, name, key, fn, u)
        u.values[name] = values
    if "TotalCPU" in u.values and "TotalCPU" not in recs.rows:
        u.cpu_derived = ~np.isnan(u.values["TotalCPU"])
    return u


def _has_user_system(recs: Records) -> bool:
    return "UserCPU" in recs.rows and "SystemCPU" in recs.rows


def _read(recs: Records, A: np.ndarray, name: str, key: str, fn, vals: RowValues) -> np.ndarray:
    """One usage field of the allocation lines, checked."""
    if name == "TotalCPU" and name not in recs.rows:
        user, system = vals.cols["UserCPU"], vals.cols["SystemCPU"]
        pu, ps = sv.parse_duration(user), sv.parse_duration(system)
        vals.check("UserCPU", pu.invalid.to_numpy(), "duration")
        vals.check("SystemCPU", ps.invalid.to_numpy(), "duration")
        return (pu.values.astype("Float64") + ps.values.astype("Float64")).to_numpy(
            dtype=float, na_value=np.nan
        )
    p = fn(vals.cols[name])
    vals.check(name, p.invalid.to_numpy(), key)
    return p.values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _read_steps(recs: Records, rows: np.ndarray, name: str, key: str, fn, u: Usage) -> np.ndarray:
    """One usage field of some step lines; an unreadable value marks the step bad."""
    if name == "TotalCPU" and name not in recs.rows:
        pu = sv.parse_duration(recs.rows["UserCPU"].iloc[rows].reset_index(drop=True))
        ps = sv.parse_duration(recs.rows["SystemCPU"].iloc[rows].reset_index(drop=True))
        out = (pu.values.astype("Float64") + ps.values.astype("Float64")).to_numpy(
            dtype=float, na_value=np.nan
        )
        for col, parsed in (("UserCPU", pu), ("SystemCPU", ps)):
            _mark_bad(u, rows, parsed.invalid.to_numpy(), col, "duration")
        return out
    ps = fn(recs.rows[name].iloc[rows].reset_index(drop=True))
    _mark_bad(u, rows, ps.invalid.to_numpy(), name, key)
    return ps.values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _mark_bad(u: Usage, rows: np.ndarray, inv: np.ndarray, name: str, key: str) -> None:
    assert u.rec_bad is not None
    for q in rows[inv & ~u.rec_bad[rows]]:
        u.step_first_bad[int(q)] = (name, key)
    u.rec_bad[rows[inv]] = True


@dataclass
class AllocationUsage:
    """Usage per allocation (in the order of the allocation positions); None = not exported."""

    max_rss: np.ndarray | None
    total_cpu: np.ndarray | None
    total_cpu_derived: np.ndarray | None
    energy: np.ndarray | None


def per_allocation(
    u: Usage,
    recs: Records,
    A: np.ndarray,
    folded: np.ndarray,
    own: np.ndarray,
    elapsed: pd.Series | None,
) -> AllocationUsage:
    """Aggregate the usage of the folded steps (``own``: their allocation's position) into
    the allocations at positions ``A`` (see the module doc)."""
    n = recs.n
    fpos = np.flatnonzero(folded)
    fown = own[fpos]
    steps_per_alloc = np.bincount(fown, minlength=n)[A]

    def agg(values: np.ndarray, how: str, sel: np.ndarray | None = None) -> np.ndarray:
        """Per allocation: max or sum over its folded steps; NaN if none had a value."""
        s = fpos if sel is None else fpos[sel]
        o = fown if sel is None else fown[sel]
        v = values[s]
        keep = ~np.isnan(v)
        out = pd.Series(v[keep]).groupby(o[keep]).agg(how)
        res = np.full(n, np.nan)
        res[out.index.to_numpy(dtype=np.int64)] = out.to_numpy()
        return res[A]

    rss = u.values.get("MaxRSS")
    max_rss = None if rss is None else np.fmax(rss[A], agg(rss, "max"))
    total_cpu = derived = None
    tcpu = u.values.get("TotalCPU")
    if tcpu is not None:
        own_t = tcpu[A]
        steps_sum = agg(tcpu, "sum")
        # sacct sums the finished steps into the allocation line; when that is
        # missing or 0 while steps carry CPU time, use the steps' sum
        use_steps = np.isnan(own_t) | ((own_t == 0) & (steps_sum > 0))
        total_cpu = np.where(use_steps, steps_sum, own_t)
        # with `sacct -X` steps are not loaded and TotalCPU prints as 0: a job
        # that ran, has no step in the file and shows 0 CPU time is unknown
        el = (
            elapsed.to_numpy(dtype=float, na_value=np.nan)
            if elapsed is not None
            else np.full(len(A), np.nan)
        )
        total_cpu = np.where(
            (total_cpu == 0) & (steps_per_alloc == 0) & (el > 0), np.nan, total_cpu
        )
        if u.cpu_derived is not None:
            derived = ~np.isnan(total_cpu)
    energy = None
    e_raw, e_scaled = u.values.get("ConsumedEnergyRaw"), u.values.get("ConsumedEnergy")
    if e_raw is not None or e_scaled is not None:
        ev = (
            e_raw
            if e_scaled is None
            else (e_scaled if e_raw is None else np.where(np.isnan(e_raw), e_scaled, e_raw))
        )
        assert ev is not None  # one of the two is not None
        own_e = ev[A]
        is_ext = recs.jid["step"].to_numpy(dtype=object)[fpos] == "extern"
        ext = agg(ev, "max", is_ext)
        energy = np.where(np.isnan(own_e) | (own_e == 0), ext, own_e)
        # ConsumedEnergyRaw is 0 when no AcctGatherEnergy plugin measured anything
        energy = np.where(energy > 0, energy, np.nan)
    return AllocationUsage(max_rss, total_cpu, derived, energy)
