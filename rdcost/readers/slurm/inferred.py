"""Allocations inferred from their steps, for exports that hold steps but not the
allocation line (``sacct -j 123.batch``, a filtered export, an interactive step):
without one, the job would vanish from every total.

One inferred allocation per job id, flagged ``is_inferred`` and counted in the ingest
report. Its values come from its steps: submit = the first step's submit, start = the
first step's start, end = the last step's end (none while a step has not ended),
elapsed = end - start (else the longest step's), CPUs, nodes, GPUs and memory = the
largest step's (the ``.extern`` step holds the whole allocation), state and exit code
= the ``.batch`` step's, else the step that ended last; peak memory = the largest
step's, CPU time = the sum of the steps', energy = the extern step's. Names, user,
partition and QOS are not on step lines and stay unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rdcost.readers.base import ParseOptions
from rdcost.readers.derived import UNFINISHED_STATES
from rdcost.readers.slurm.job_rows import finish, floats, identity_columns, ints
from rdcost.readers.slurm.records import Records
from rdcost.readers.slurm.row_values import read_values
from rdcost.readers.slurm.step_usage import USAGE_FIELDS


def inferred_allocations(
    recs: Records, steps: np.ndarray, opts: ParseOptions, source_format: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """Job rows inferred from the orphan step lines at positions ``steps``, and the steps
    whose values could not be read (rejected; their positions)."""
    vals = read_values(recs, steps, opts, pending_array=np.zeros(len(steps), dtype=bool))
    assert vals.state is not None and vals.n_gpus is not None  # read_values sets both
    usage = _step_usage(recs, steps, vals)
    ok = ~vals.bad
    good = steps[ok]
    if not len(good):
        return pd.DataFrame(), steps[~ok]
    group = pd.Series(recs.alloc_code[good]).factorize()[0]
    frame = pd.DataFrame(
        {
            "g": group,
            "pos": good,
            "line": recs.lines[good],
            "submit": vals.times["Submit"].to_numpy()[ok],
            "start": vals.times["Start"].to_numpy()[ok],
            "end": vals.times["End"].to_numpy()[ok],
            "elapsed": floats(vals.elapsed, vals.n)[ok],
            "state": vals.state.to_numpy(dtype=object)[ok],
            "state_raw": (
                vals.state_raw if vals.state_raw is not None else vals.missing()
            ).to_numpy(dtype=object)[ok],
            "exit_code": (
                vals.exit["status"]
                if vals.exit is not None
                else pd.Series(pd.NA, index=range(vals.n), dtype="Int64")
            ).array[ok],
            "exit_signal": (
                vals.exit["signal"]
                if vals.exit is not None
                else pd.Series(pd.NA, index=range(vals.n), dtype="Int64")
            ).array[ok],
            "n_cpus": floats(vals.n_cpus, vals.n)[ok],
            "n_nodes": floats(vals.n_nodes, vals.n)[ok],
            "n_gpus": vals.n_gpus.to_numpy(dtype=float)[ok],
            "mem": floats(vals.mem, vals.n)[ok],
            "step": recs.jid["step"].to_numpy(dtype=object)[good],
            **{name: u[ok] for name, u in usage.items()},
        }
    )
    rep = _representatives(frame)
    first = frame.groupby("g").head(1).sort_values("g")
    by = frame.groupby("g")
    ident = identity_columns(
        recs, first["pos"].to_numpy(), _Subset(vals, np.flatnonzero(ok)[first.index]), opts
    )
    unfinished = pd.Series(rep["state"].to_numpy()).isin(UNFINISHED_STATES).to_numpy()
    ended = ~by["end"].apply(lambda s: s.isna().any()).to_numpy() & ~unfinished
    start = by["start"].min().to_numpy()
    end = np.where(ended, by["end"].max().to_numpy(), np.datetime64("NaT"))
    span = (pd.Series(end) - pd.Series(start)).dt.total_seconds().to_numpy()
    cols = {
        "source_line": first["line"].to_numpy(),
        **{
            c: (v.to_numpy(dtype=object) if isinstance(v, pd.Series) else v)
            for c, v in ident.items()
        },
        "state": rep["state"].to_numpy(dtype=object),
        "state_raw": rep["state_raw"].to_numpy(dtype=object),
        "exit_code": rep["exit_code"].array,
        "exit_signal": rep["exit_signal"].array,
        "submit_time": pd.to_datetime(by["submit"].min().to_numpy(), utc=True),
        "start_time": pd.to_datetime(start, utc=True),
        "end_time": pd.to_datetime(end, utc=True),
        "elapsed_s": np.where(np.isnan(span), by["elapsed"].max().to_numpy(), span),
        "n_nodes": ints(by["n_nodes"].max().to_numpy(), len(first)),
        "n_cpus": ints(by["n_cpus"].max().to_numpy(), len(first)),
        "n_gpus": by["n_gpus"].max().to_numpy(),
        "gpu_type": _gpu_types(frame, vals, ok),
        "mem_req_bytes": ints(by["mem"].max().to_numpy(), len(first)),
        "max_rss_bytes": ints(by["MaxRSS"].max().to_numpy(), len(first))
        if "MaxRSS" in frame
        else None,
        "total_cpu_s": by["TotalCPU"].sum(min_count=1).to_numpy() if "TotalCPU" in frame else None,
        "energy_j": _extern_energy(frame),
        "is_inferred": True,
    }
    return finish(pd.DataFrame(cols), source_format, {}), steps[~ok]


class _Subset:
    """A RowValues seen through some of its rows (for identity_columns)."""

    def __init__(self, vals, rows: np.ndarray):
        self._vals, self._rows = vals, rows
        self.n = len(rows)

    def col(self, name: str) -> pd.Series | None:
        c = self._vals.col(name)
        return None if c is None else c.iloc[self._rows].reset_index(drop=True)

    def missing(self) -> pd.Series:
        return pd.Series([None] * self.n, dtype=object)


def _step_usage(recs: Records, steps: np.ndarray, vals) -> dict[str, np.ndarray]:
    """Peak memory, CPU time and energy of each step line (NaN where not exported)."""
    out = {}
    for name, (key, fn) in USAGE_FIELDS.items():
        if vals.col(name) is None:
            continue
        p = fn(vals.col(name))
        vals.check(name, p.invalid.to_numpy(), key)
        out[name] = p.values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if (
        "TotalCPU" not in out
        and vals.col("UserCPU") is not None
        and vals.col("SystemCPU") is not None
    ):
        from rdcost.readers.slurm import grammar as sv

        pu, ps = sv.parse_duration(vals.col("UserCPU")), sv.parse_duration(vals.col("SystemCPU"))
        out["TotalCPU"] = (pu.values.astype("Float64") + ps.values.astype("Float64")).to_numpy(
            dtype=float, na_value=np.nan
        )
    e_raw, e_scaled = out.pop("ConsumedEnergyRaw", None), out.pop("ConsumedEnergy", None)
    if e_raw is not None or e_scaled is not None:
        out["energy"] = (
            e_raw
            if e_scaled is None
            else (e_scaled if e_raw is None else np.where(np.isnan(e_raw), e_scaled, e_raw))
        )
    return out


def _representatives(frame: pd.DataFrame) -> pd.DataFrame:
    """Per job id, the step whose state stands for the allocation (the batch step, else
    the one that ended last, else the last one)."""
    f = frame.assign(
        is_batch=frame["step"] == "batch",
        end_rank=frame["end"].fillna(pd.Timestamp.min.tz_localize("UTC")),
        order=np.arange(len(frame)),
    )
    best = f.sort_values(["is_batch", "end_rank", "order"]).groupby("g").tail(1).sort_values("g")
    return best.reset_index(drop=True)


def _gpu_types(frame: pd.DataFrame, vals, ok: np.ndarray) -> np.ndarray:
    """The GPU type of the step holding the most GPUs, per job id."""
    t = frame.assign(
        gpu_type=vals.gpu_type.to_numpy(dtype=object)[ok], neg=-frame["n_gpus"].fillna(-1)
    )
    t = t[t["gpu_type"].notna()].sort_values(["g", "neg"], kind="stable").groupby("g").head(1)
    out = np.full(frame["g"].max() + 1, None, dtype=object)
    out[t["g"].to_numpy()] = t["gpu_type"].to_numpy()
    return out


def _extern_energy(frame: pd.DataFrame) -> np.ndarray | None:
    """Energy of the extern step (it spans the whole allocation), else the largest step's."""
    if "energy" not in frame:
        return None
    e = frame.assign(ext=frame["step"] == "extern").sort_values(
        ["g", "ext", "energy"], kind="stable"
    )
    best = e.dropna(subset=["energy"]).groupby("g").tail(1)
    out = np.full(frame["g"].max() + 1, np.nan)
    out[best["g"].to_numpy()] = best["energy"].to_numpy()
    return np.where(out > 0, out, np.nan)
