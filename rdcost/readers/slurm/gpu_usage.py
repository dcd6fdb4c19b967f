"""What sacct says of a job's energy and GPU use beyond ConsumedEnergy: the ``energy=`` and
``gres/gpuutil=`` of the steps' TRES usage (``TRESUsageIn*``/``TRESUsageOut*``, Slurm
18.08+; GPU utilisation since 23.02) and a jobstats summary in ``AdminComment``
(``JS1:`` + base64 of gzipped JSON, PrincetonUniversity/jobstats).

Rules (docs/sacct.md, "Energy and GPU use"):

- **energy** of a record: ``TRESUsageOutTot``, else ``TRESUsageInTot``, else the average per
  task (``TRESUsageOutAve``, else ``TRESUsageInAve``) x ``NTasks`` (only where NTasks is
  given). Values are joules, or scaled with a 1024 divisor (``2.5K``). Per allocation: its
  ``.extern`` step's (it covers every node for the whole job), else the allocation line's,
  else the largest of its steps' (steps overlap, so they are never added up). Used only
  where ConsumedEnergy gives nothing; ``energy_j_field`` names the field.
- **GPU utilisation** of a record: ``gres/gpuutil`` of ``TRESUsageInAve`` (percent). Per
  allocation: the largest over its lines, so the step that ran the GPU work counts, not the
  batch script waiting for it. A value of 0 is not a measurement (unsupported GPUs print 0)
  and values above 100 are not read (sacct's documentation does not say what they are).
- **jobstats**: the mean of the per-GPU ``gpu_utilization`` values of every node of the
  summary, and how many of those values are 0 (GPUs the job held and never used:
  ``n_gpus_unused``). Not used when it lists more GPUs than the job holds (not the job's own
  GPUs) or cannot be decoded; ``JS1:Short`` and ``JS1:None`` hold no summary. A jobstats
  summary wins over ``gres/gpuutil``, which gives a mean only (``n_gpus_unused`` stays null).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rdcost.readers.slurm.records import Records

#: TRES usage fields that can hold energy, in the order they are preferred.
ENERGY_FIELDS = ("TRESUsageOutTot", "TRESUsageInTot", "TRESUsageOutAve", "TRESUsageInAve")
_AVE = {"TRESUsageOutAve", "TRESUsageInAve"}
_SCALE = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_ENERGY = r"(?:^|,)energy=(?P<num>\d+(?:\.\d+)?)(?P<unit>[KMGTP]?)(?:,|$)"
_UTIL = r"(?:^|,)gres/gpuutil=(?P<num>\d+(?:\.\d+)?)(?:,|$)"


def _extract(s: pd.Series, pattern: str) -> pd.DataFrame:
    return s.astype("string").str.extract(pattern)


def energy_of(s: pd.Series) -> np.ndarray:
    """The ``energy=`` of TRES usage strings, joules (NaN where absent or 0)."""
    m = _extract(s, _ENERGY)
    num = pd.to_numeric(m["num"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    factor = m["unit"].fillna("").map(_SCALE).to_numpy(dtype=float, na_value=np.nan)
    out = num * factor
    return np.where(out > 0, out, np.nan)


def gpu_util_of(s: pd.Series) -> np.ndarray:
    """The ``gres/gpuutil=`` of TRES usage strings, percent (NaN where absent, 0 or above 100)."""
    m = _extract(s, _UTIL)
    v = pd.to_numeric(m["num"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where((v > 0) & (v <= 100), v, np.nan)


@dataclass
class GpuUsage:
    """Per allocation (in the order of the allocation positions); None = not exported."""

    energy_j: np.ndarray | None
    energy_field: np.ndarray | None
    gpu_util_percent: np.ndarray | None


def tres_usage(recs: Records, A: np.ndarray, folded: np.ndarray, own: np.ndarray) -> GpuUsage:
    """Energy and GPU utilisation of the allocations at positions ``A`` from their own lines
    and their folded steps (``own``: a folded step's allocation position)."""
    n = recs.n
    members = np.flatnonzero(folded)
    owner = np.full(n, -1, dtype=np.int64)
    owner[A] = A
    owner[members] = own[members]
    rec_e, rec_f = _record_energy(recs, n)
    energy = field_ = util = None
    if rec_e is not None and rec_f is not None:
        is_ext = recs.jid["step"].eq("extern").fillna(False).to_numpy(dtype=bool)
        ext = _per_alloc(rec_e, owner, is_ext, A, "max")
        own_e = rec_e[A]
        most = _per_alloc(rec_e, owner, owner >= 0, A, "max")
        energy = np.where(~np.isnan(ext), ext, np.where(~np.isnan(own_e), own_e, most))
        pick = np.where(~np.isnan(ext), 0, np.where(~np.isnan(own_e), 1, 2))
        field_ = np.full(len(A), None, dtype=object)
        for k, src in (
            (0, _first_field(rec_f, owner, is_ext, A)),
            (1, rec_f[A]),
            (2, _first_field(rec_f, owner, owner >= 0, A)),
        ):
            field_ = np.where((pick == k) & ~np.isnan(energy), src, field_)
    if "TRESUsageInAve" in recs.rows:
        rec_u = gpu_util_of(recs.rows["TRESUsageInAve"])
        util = _per_alloc(rec_u, owner, owner >= 0, A, "max")
    return GpuUsage(energy, field_, util)


def _record_energy(recs: Records, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    have = [f for f in ENERGY_FIELDS if f in recs.rows]
    if not have:
        return None, None
    tasks = (
        pd.to_numeric(recs.rows["NTasks"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if "NTasks" in recs.rows
        else np.full(n, np.nan)
    )
    e = np.full(n, np.nan)
    f = np.full(n, None, dtype=object)
    for name in have:
        v = energy_of(recs.rows[name])
        if name in _AVE:
            v = v * np.where(tasks > 0, tasks, np.nan)
        take = np.isnan(e) & ~np.isnan(v)
        e = np.where(take, v, e)
        f = np.where(take, name, f)
    return e, f


def _per_alloc(
    values: np.ndarray, owner: np.ndarray, sel: np.ndarray, A: np.ndarray, how: str
) -> np.ndarray:
    keep = sel & (owner >= 0) & ~np.isnan(values)
    out = pd.Series(values[keep]).groupby(owner[keep]).agg(how)
    res = pd.Series(np.nan, index=A)
    hit = out.index.intersection(res.index)
    res.loc[hit] = out.loc[hit].to_numpy()
    return res.to_numpy(dtype=float)


def _first_field(
    fields: np.ndarray, owner: np.ndarray, sel: np.ndarray, A: np.ndarray
) -> np.ndarray:
    keep = sel & (owner >= 0) & pd.notna(fields)
    s = pd.Series(fields[keep]).groupby(owner[keep]).first()
    return pd.Series(s).reindex(A).to_numpy(dtype=object)


# -- jobstats summaries in AdminComment ------------------------------------------------------

JOBSTATS_PREFIX = "JS1:"
_NO_SUMMARY = {"JS1:Short", "JS1:None"}


def jobstats_summary(text: str) -> dict | None:
    """The jobstats summary (the decoded JSON) of an AdminComment, else None."""
    if not isinstance(text, str) or not text.startswith(JOBSTATS_PREFIX) or text in _NO_SUMMARY:
        return None
    try:
        d = json.loads(gzip.decompress(base64.b64decode(text[len(JOBSTATS_PREFIX) :])))
    except (ValueError, OSError, EOFError, binascii.Error, zlib.error, RecursionError):
        return None
    return d if isinstance(d, dict) else None


@dataclass(frozen=True)
class JobstatsUtil:
    """What a jobstats summary says of a job's GPUs' utilisation."""

    mean_percent: float  # mean over the GPUs it lists
    n_gpus: int  # GPUs it lists
    n_unused: int  # of them, GPUs at 0% over the whole run


def jobstats_gpu_util(text: str) -> JobstatsUtil | None:
    """Mean GPU utilisation (percent) over every GPU of a jobstats summary, the number of
    GPUs it lists and how many of them sat at 0%; None when there is no usable summary."""
    d = jobstats_summary(text)
    nodes = d.get("nodes") if d else None
    if not isinstance(nodes, dict):
        return None
    vals = []
    for node in nodes.values():
        util = node.get("gpu_utilization") if isinstance(node, dict) else None
        if isinstance(util, dict):
            for v in util.values():
                if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 100:
                    vals.append(float(v))
    if not vals:
        return None
    return JobstatsUtil(sum(vals) / len(vals), len(vals), sum(1 for v in vals if v == 0))


def jobstats_column(
    admin: pd.Series | None, n_gpus: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per line: the jobstats GPU utilisation of its AdminComment and the GPUs it lists at
    0% (NaN: no summary, or more GPUs than the job holds); and how many summaries were there
    but could not be used."""
    out = np.full(len(n_gpus), np.nan)
    unused = np.full(len(n_gpus), np.nan)
    if admin is None:
        return out, unused, 0
    s = admin.astype("string")
    has = s.str.startswith(JOBSTATS_PREFIX).fillna(False).to_numpy(dtype=bool) & ~s.isin(
        list(_NO_SUMMARY)
    ).fillna(False).to_numpy(dtype=bool)
    if not has.any():
        return out, unused, 0
    uniq = {u: jobstats_gpu_util(u) for u in s[has].unique()}
    unusable = 0
    for i in np.flatnonzero(has):
        got = uniq.get(s.iat[i])
        if got is None or (not np.isnan(n_gpus[i]) and got.n_gpus > n_gpus[i]):
            unusable += 1
            continue
        out[i] = got.mean_percent
        unused[i] = got.n_unused
    return out, unused, unusable


def gpu_columns(
    recs: Records, A: np.ndarray, vals, usage, folded: np.ndarray, own: np.ndarray
) -> dict[str, np.ndarray]:
    """The job-table columns energy_j, energy_j_field, gpu_util_percent, n_gpus_unused and
    gpu_metrics_source of the allocations at ``A`` (``usage``: their
    :class:`rdcost.readers.slurm.step_usage.AllocationUsage`; ``vals``: their
    :class:`rdcost.readers.slurm.row_values.RowValues`). A jobstats summary that cannot be
    used adds a note to ``recs``."""
    na = len(A)
    consumed = (
        np.full(na, np.nan) if usage.energy is None else np.asarray(usage.energy, dtype=float)
    )
    name = "ConsumedEnergyRaw" if "ConsumedEnergyRaw" in recs.rows else "ConsumedEnergy"
    field_ = np.full(na, None, dtype=object)
    field_[~np.isnan(consumed)] = name
    g = tres_usage(recs, A, folded, own)
    energy = consumed
    if g.energy_j is not None and g.energy_field is not None:
        take = np.isnan(energy) & ~np.isnan(g.energy_j)
        energy = np.where(take, g.energy_j, energy)
        field_ = np.where(take, g.energy_field, field_)
    n_gpus = vals.n_gpus.to_numpy(dtype=float) if vals.n_gpus is not None else np.full(na, np.nan)
    js, js_unused, unusable = jobstats_column(vals.col("AdminComment"), n_gpus)
    if unusable:
        recs.notes.append(
            f"{unusable} jobstats summaries in AdminComment could not be used (not decodable, "
            "or more GPUs than the job holds)"
        )
    util = js.copy()
    src = np.full(na, None, dtype=object)
    src[~np.isnan(js)] = "jobstats"
    if g.gpu_util_percent is not None:
        take = np.isnan(util) & ~np.isnan(g.gpu_util_percent)
        util = np.where(take, g.gpu_util_percent, util)
        src = np.where(take, "sacct gres/gpuutil", src)
    return {
        "energy_j": energy,
        "energy_j_field": field_,
        "gpu_util_percent": util,
        "n_gpus_unused": js_unused,
        "gpu_metrics_source": src,
    }
