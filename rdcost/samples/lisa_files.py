"""Text of the LISA sample files, from the simulated jobs of :mod:`rdcost.samples.lisa`.

- ``sacct_text``: what ``TZ=UTC sacct -P -a -A lisa -o <SACCT_FIELDS>``
  prints on a Slurm 18.08 cluster: one allocation row per job, then its
  ``.batch`` step, an ``.extern`` step once the site enabled
  ``PrologFlags=Contain``, and a ``.0`` step for scripts that start training
  with ``srun``;
- ``wandb_text``: the W&B runs-table "Export as CSV" of the search runs
  (every cell quoted, no final newline, newest run first);
- ``jobs_csv_text``: a plain CSV, one row per job.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pandas as pd

from rdcost.samples import lisa

SACCT_FIELDS = (
    "Cluster",
    "JobID",
    "JobIDRaw",
    "JobName",
    "User",
    "Account",
    "Partition",
    "QOS",
    "State",
    "ExitCode",
    "Submit",
    "Start",
    "End",
    "ElapsedRaw",
    "Timelimit",
    "NNodes",
    "NCPUS",
    "ReqMem",
    "AllocTRES",
    "MaxRSS",
    "TotalCPU",
    "NodeList",
)
CPUS_PER_GPU = 4
MEM_GB_PER_GPU = 32

#: Job state -> (state, exit code) of its steps.
STEP_STATE = {
    "CANCELLED": ("CANCELLED", "0:15"),
    "TIMEOUT": ("CANCELLED", "0:15"),
    "NODE_FAIL": ("CANCELLED", "0:9"),
    "OUT_OF_MEMORY": ("OUT_OF_MEMORY", "0:125"),
}
WANDB_STATE = {
    "COMPLETED": "finished",
    "CANCELLED": "killed",
    "FAILED": "failed",
    "OUT_OF_MEMORY": "crashed",
    "NODE_FAIL": "crashed",
    "TIMEOUT": "crashed",
}
ADJECTIVES = (
    "fresh",
    "stellar",
    "dainty",
    "rosy",
    "swift",
    "lively",
    "eager",
    "hearty",
    "jolly",
    "misty",
    "royal",
    "sunny",
    "winter",
    "vivid",
    "glowing",
    "hardy",
    "fine",
    "good",
    "devout",
    "lemon",
    "silver",
    "proud",
    "fancy",
    "still",
    "twilight",
    "polished",
)


def _ts(s: pd.Series, fmt: str = "%Y-%m-%dT%H:%M:%S") -> pd.Series:
    return s.dt.strftime(fmt)


def cpu_time_str(seconds: np.ndarray) -> list[str]:
    """sacct's TotalCPU text: D-HH:MM:SS, HH:MM:SS, MM:SS.mmm under an hour."""
    out = []
    for v in seconds:
        ms = int(round(v * 1000))
        s, frac = divmod(ms, 1000)
        d, rem = divmod(s, 86_400)
        h, rem = divmod(rem, 3600)
        m, sec = divmod(rem, 60)
        if d:
            out.append(f"{d}-{h:02d}:{m:02d}:{sec:02d}")
        elif h:
            out.append(f"{h:02d}:{m:02d}:{sec:02d}")
        elif frac:
            out.append(f"{m:02d}:{sec:02d}.{frac:03d}")
        else:
            out.append(f"00:{m:02d}:{sec:02d}")
    return out


def timelimit_str(seconds: pd.Series) -> pd.Series:
    """sacct's Timelimit text: D-HH:MM:SS, or HH:MM:SS under a day."""
    s = seconds.astype(int)
    d, h, m = s // 86_400, s % 86_400 // 3600, s % 3600 // 60
    hms = h.map("{:02d}".format) + ":" + m.map("{:02d}".format) + ":00"
    return (d.astype(str) + "-").where(d > 0, "") + hms


def _kib(rng, lo: float, hi: float, n: int) -> np.ndarray:
    """Odd KiB counts (so sacct's exact scaling keeps the K suffix)."""
    return (rng.uniform(lo, hi, n) // 2 * 2 + 1).astype(np.int64)


def sacct_text(jobs: pd.DataFrame, seed: int) -> str:
    """The ``--parsable2`` export of ``jobs``: an allocation line per job, then its
    ``.batch``, ``.extern`` (jobs since EXTERN_SINCE) and ``.0`` (srun) steps."""
    rng = np.random.default_rng(seed + 1)
    j = jobs.reset_index(drop=True)
    v = _sacct_values(j, rng)  # draws from rng first, in this order
    alloc = _alloc_frame(j, v)
    batch, ext, s0 = _step_frames(j, v, alloc["ElapsedRaw"], rng)
    n = len(j)
    base = np.where(j["array_job_id"] != "", j["array_job_id"], j["job_id_raw"]).astype(np.int64)
    parts = []
    for k, (frame, keep) in enumerate(
        [(alloc, np.ones(n, bool)), (batch, np.ones(n, bool)), (ext, v["extern"]), (s0, v["srun"])]
    ):
        f = frame[list(SACCT_FIELDS)][keep].copy()
        f["_base"], f["_task"], f["_k"] = base[keep], j["task_index"].to_numpy()[keep], k
        parts.append(f)
    rows = pd.concat(parts).sort_values(["_base", "_task", "_k"], kind="stable")
    lines = rows[list(SACCT_FIELDS)].astype(str).agg("|".join, axis=1)
    return "|".join(SACCT_FIELDS) + "\n" + "\n".join(lines) + "\n"


def _sacct_values(j: pd.DataFrame, rng: np.random.Generator) -> dict[str, Any]:
    """The values the lines of :func:`sacct_text` share: TRES, CPU time and memory use of
    each step, states, exit codes and timestamps."""
    n = len(j)
    g = j["n_gpus"].astype(int)
    cpus = g * CPUS_PER_GPU
    mem = (g * MEM_GB_PER_GPU).astype(str) + "G"
    gres = "gres/gpu:" + j["gpu_type"] + "=" + g.astype(str) + ",gres/gpu=" + g.astype(str)
    tres_step = "cpu=" + cpus.astype(str) + "," + gres + ",mem=" + mem + ",node=1"
    srun = (j["user"].isin(lisa.SRUN_USERS) | (g > 1)).to_numpy()
    extern = (j["start_time"] >= lisa.EXTERN_SINCE).to_numpy()
    el = j["elapsed_s"].to_numpy()
    main_cpu = el * rng.uniform(0.85, 1.6, n) * np.where(j["state"] == "FAILED", 0.6, 1.0)
    batch_cpu = np.where(srun, rng.uniform(0.2, 1.5, n), main_cpu)
    srun_offset = rng.integers(3, 30, n)
    srun_cpu = np.where(srun, np.maximum(el - srun_offset, 1) * rng.uniform(0.85, 1.6, n), 0.0)
    extern_cpu = np.where(extern, rng.integers(1, 6, n) / 1000, 0.0)
    rss = np.where(
        j["state"] == "OUT_OF_MEMORY",
        _kib(rng, 33_300_000, 33_554_000, n) * g,
        _kib(rng, 5_000_000, 14_000_000, n),
    )
    small_rss = _kib(rng, 4_000, 9_000, n)
    canceller = np.where(rng.random(n) < 0.03, 0, j["user"].map(lisa.UIDS))
    return {
        "common": {
            "Cluster": lisa.CLUSTER,
            "Account": lisa.ACCOUNT,
            "NNodes": "1",
            "NCPUS": cpus.astype(str),
            "ReqMem": mem + "n",
            "NodeList": j["node"],
        },
        "tres_step": tres_step,
        "tres_alloc": "billing=" + cpus.astype(str) + "," + tres_step,
        "srun": srun,
        "extern": extern,
        "el": el,
        "batch_cpu": batch_cpu,
        "srun_offset": srun_offset,
        "srun_cpu": srun_cpu,
        "extern_cpu": extern_cpu,
        "rss": rss,
        "small_rss": small_rss,
        "state": j["state"].where(
            j["state"] != "CANCELLED", "CANCELLED by " + pd.Series(canceller).astype(str)
        ),
        "alloc_exit": j["exit"].where(
            ~j["state"].isin(["CANCELLED", "TIMEOUT", "NODE_FAIL"]), "0:0"
        ),
        "step_state": j["state"].map(lambda s: STEP_STATE.get(s, (s, None))[0]),
        "step_exit": j["state"].map(lambda s: STEP_STATE.get(s, (s, None))[1]).fillna(j["exit"]),
        "sub": _ts(j["submit_time"]),
        "start": _ts(j["start_time"]),
        "end": _ts(j["end_time"]),
    }


def _alloc_frame(j: pd.DataFrame, v: dict[str, Any]) -> pd.DataFrame:
    """The allocation line of every job (fields of SACCT_FIELDS)."""
    return pd.DataFrame(
        {
            **v["common"],
            "JobID": j["job_id"],
            "JobIDRaw": j["job_id_raw"],
            "JobName": j["name"],
            "User": j["user"],
            "Partition": j["partition"],
            "QOS": "normal",
            "State": v["state"],
            "ExitCode": v["alloc_exit"],
            "Submit": v["sub"],
            "Start": v["start"],
            "End": v["end"],
            "ElapsedRaw": j["elapsed_s"].astype(int).astype(str),
            "Timelimit": timelimit_str(j["limit_s"]),
            "AllocTRES": v["tres_alloc"],
            "MaxRSS": "",
            "TotalCPU": cpu_time_str(v["batch_cpu"] + v["srun_cpu"] + v["extern_cpu"]),
        }
    )


def _step_frames(
    j: pd.DataFrame, v: dict[str, Any], elapsed: pd.Series, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ``.batch``, ``.extern`` and ``.0`` lines of every job (the caller keeps the
    ones that exist); the extern step's MaxRSS is drawn from ``rng``."""
    n = len(j)
    common = {**v["common"], "User": "", "Partition": "", "QOS": "", "Timelimit": ""}
    start, end = v["start"], v["end"]
    batch = pd.DataFrame(
        {
            **common,
            "JobID": j["job_id"] + ".batch",
            "JobIDRaw": j["job_id_raw"] + ".batch",
            "JobName": "batch",
            "State": v["step_state"],
            "ExitCode": v["step_exit"],
            "Submit": start,
            "Start": start,
            "End": end,
            "ElapsedRaw": elapsed,
            "AllocTRES": v["tres_step"],
            "MaxRSS": pd.Series(np.where(v["srun"], v["small_rss"], v["rss"])).astype(str) + "K",
            "TotalCPU": cpu_time_str(v["batch_cpu"]),
        }
    )
    ext_state = np.where(j["state"] == "NODE_FAIL", "CANCELLED", "COMPLETED")
    ext = pd.DataFrame(
        {
            **common,
            "JobID": j["job_id"] + ".extern",
            "JobIDRaw": j["job_id_raw"] + ".extern",
            "JobName": "extern",
            "State": ext_state,
            "ExitCode": np.where(ext_state == "COMPLETED", "0:0", "0:9"),
            "Submit": start,
            "Start": start,
            "End": end,
            "ElapsedRaw": elapsed,
            "AllocTRES": v["tres_alloc"],
            "MaxRSS": pd.Series(_kib(rng, 800, 1_100, n)).astype(str) + "K",
            "TotalCPU": cpu_time_str(v["extern_cpu"]),
        }
    )
    s0_start = j["start_time"] + pd.to_timedelta(v["srun_offset"], unit="s")
    s0_el = np.maximum(v["el"] - v["srun_offset"], 1)
    s0 = pd.DataFrame(
        {
            **common,
            "JobID": j["job_id"] + ".0",
            "JobIDRaw": j["job_id_raw"] + ".0",
            "JobName": "python",
            "State": v["step_state"],
            "ExitCode": v["step_exit"],
            "Submit": _ts(s0_start),
            "Start": _ts(s0_start),
            "End": end,
            "ElapsedRaw": s0_el.astype(int).astype(str),
            "AllocTRES": v["tres_step"],
            "MaxRSS": pd.Series(v["rss"]).astype(str) + "K",
            "TotalCPU": cpu_time_str(v["srun_cpu"]),
        }
    )
    return batch, ext, s0


def _f32(values: np.ndarray) -> list[str]:
    """Floats as W&B prints logged float32 values (e.g. 85.93121337890625); NaN as NaN."""
    return ["NaN" if np.isnan(v) else repr(float(np.float32(v))) for v in values]


def wandb_runs(jobs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The W&B runs of the search jobs, with hyperparameters and final metrics."""
    rng = np.random.default_rng(seed + 2)
    s = jobs[jobs["search"] >= 0].copy()
    n = len(s)
    startup = (s["state"] == "FAILED") & (s["elapsed_s"] <= 300)
    s = s[~startup | (rng.random(n) < 0.5)].copy()  # half crash before wandb.init
    n = len(s)
    offset = rng.integers(20, 90, n)
    s["created"] = s["start_time"] + pd.to_timedelta(offset, unit="s")
    s["runtime"] = np.maximum(s["elapsed_s"].to_numpy() - offset, 1).astype(int)
    progress = np.where(s["state"] == "COMPLETED", 1.0, np.minimum(s["runtime"] / s["full_s"], 1.0))
    has_loss = s["runtime"].to_numpy() >= 300
    has_eval = s["runtime"].to_numpy() >= s["full_s"].to_numpy() / 40
    f1 = s["f1_final"].to_numpy() - 30 * (np.exp(-6 * progress) - np.exp(-6))
    loss = 0.25 + 1.9 * np.exp(-5 * progress) + rng.normal(0, 0.02, n)
    loss = np.where(s["is_diverged"], np.nan, loss)
    epochs = np.floor(progress * s["length_h"].to_numpy() / 2.4).astype(int)
    name = s["name"].where(s["kind"] == "loop", s["name"] + "-" + s["task_index"].astype(str))
    sweep = s["kind"] == "sweep"
    order = s.groupby("unit")["created"].rank(method="first").astype(int)
    adj = np.array(ADJECTIVES)[rng.integers(0, len(ADJECTIVES), n)]
    name = name.where(~sweep, pd.Series(adj, index=s.index) + "-sweep-" + order.astype(str))
    arr = s["kind"] == "array"
    out = pd.DataFrame(
        {
            "Name": name,
            "State": s["state"].map(WANDB_STATE),
            "Notes": "-",
            "User": s["user"],
            "Tags": s["task"],
            "Created": _ts(s["created"], "%Y-%m-%dT%H:%M:%S.000Z"),
            "Runtime": s["runtime"].astype(str),
            "Sweep": s["sweep_id"],
            "batch_size": s["batch_size"].astype(int).astype(str),
            "dropout": s["dropout"].map("{:g}".format),
            "learning_rate": s["lr"].map("{:g}".format),
            "max_epochs": (s["length_h"] / 2.4).astype(int).astype(str),
            "model": s["model"],
            "num_layers": s["num_layers"].astype(int).astype(str),
            "seed": s["seed"].astype(int).astype(str),
            "slurm_array_job_id": s["array_job_id"],
            "slurm_array_task_id": s["task_index"].astype(str).where(arr, ""),
            "slurm_job_id": s["job_id_raw"],
            "task": s["task"],
            "warmup_steps": "8000",
            "epoch": np.where(has_loss, epochs.astype(str), ""),
            "train/loss": np.where(has_loss, _f32(loss), ""),
            "val/f1": np.where(has_eval, _f32(f1), ""),
        }
    )
    return out.iloc[np.argsort(-s["created"].astype("int64").to_numpy(), kind="stable")]


def wandb_text(jobs: pd.DataFrame, seed: int) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    runs = wandb_runs(jobs, seed)
    w.writerow(runs.columns)
    w.writerows(runs.itertuples(index=False))
    return buf.getvalue().rstrip("\n")


JOBS_CSV_COLUMNS = (
    "job_id",
    "name",
    "user",
    "project",
    "partition",
    "state",
    "submit_time",
    "start_time",
    "end_time",
    "n_gpus",
    "gpu_type",
    "group",
)


def jobs_csv_text(jobs: pd.DataFrame) -> str:
    j = jobs.sort_values(["submit_s", "job_id_raw"], kind="stable")
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    first = j[j["search"] >= 0].groupby("search")["submit_s"].min()
    number = first.rank(method="first").astype(int).to_dict()  # searches numbered by start
    number[-1] = 0
    out = pd.DataFrame(
        {
            "job_id": j["job_id"],
            "name": j["name"],
            "user": j["user"],
            "project": lisa.ACCOUNT,
            "partition": j["partition"],
            "state": j["state"],
            "submit_time": _ts(j["submit_time"], fmt),
            "start_time": _ts(j["start_time"], fmt),
            "end_time": _ts(j["end_time"], fmt),
            "n_gpus": j["n_gpus"].astype(str),
            "gpu_type": j["gpu_type"],
            "group": ("search-" + j["search"].map(number).map("{:03d}".format)).where(
                j["search"] >= 0, ""
            ),
        }
    )
    return out.to_csv(index=False, lineterminator="\n")
