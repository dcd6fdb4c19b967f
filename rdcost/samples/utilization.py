"""Synthetic logs of a small GPU project whose exports carry GPU utilisation where a site
would have it, and leave it out where a site would not, so that the utilization waste
(docs/summarize.md, "Utilization waste") has something to find and something it cannot know.

``python -m rdcost.samples.utilization --out sample_logs/utilization`` (or :func:`generate`)
writes:

- ``sacct.txt``: a ``sacct --parsable2 --noconvert`` export of cluster ``tarn`` (Slurm 23.02+:
  ``TRESUsageInAve`` with ``gres/gpuutil=``, and a jobstats summary in ``AdminComment``);
- ``wandb_runs.jsonl``: W&B runs written through the public API that name their Slurm job,
  with the mean utilisation of each of the host's GPUs in ``system_metrics``
  (``system.gpu.N.gpu``).

Every number is made up; there is no randomness (the files are the same on every run). What
the project holds, user by user (design choices):

- ``bchen``: a job array of 12 one-GPU tasks (a learning-rate sweep) on ``a100`` with jobstats
  summaries. Four tasks hung at start-up and sat at 0% (two ran into their 6-hour limit, two
  were cancelled after 3 hours); the others ran at 70-89%.
- ``adiaz``: seven 4-GPU jobs on ``a100`` with jobstats summaries. Five, submitted a minute
  apart (``ddp-bs32`` ...), ran a single-GPU script: one GPU at 80-88%, three at 0% (a mean
  above the threshold, three unused GPUs). Two later ones use all four GPUs.
- ``cokafor``: five one-GPU Jupyter sessions on ``a100`` without jobstats; sacct's
  ``gres/gpuutil`` says 3-6% for four of them and 0 for one (Slurm prints 0 for a GPU it
  cannot measure, so rdcost reads that one as not logged).
- ``ehassan``: four 2-GPU fine-tuning jobs on ``a40``, whose nodes account no GPU
  utilisation; each has a W&B run naming it, with both host GPUs' utilisation: three left
  GPU 1 at 0%.
- ``dlund``: six 2-GPU pre-training jobs on ``v100``, with no utilisation anywhere (unknown).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from rdcost.samples.sacct_values import hms, jobstats_field, ts

CLUSTER = "tarn"
ACCOUNT = "util"
START = pd.Timestamp("2025-06-02T08:00:00", tz="UTC")
FIELDS = (
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
    "NTasks",
    "AllocTRES",
    "TotalCPU",
    "TRESUsageInAve",
    "NodeList",
    "AdminComment",
)
#: partition -> (node names, gres type, GPUs per node, cores per GPU, whether the nodes
#: account GPU utilisation in gres/gpuutil)
PARTITIONS = {
    "a100": (["a100n01", "a100n02", "a100n03", "a100n04"], "a100_80gb", 4, 16, True),
    "a40": (["a40n01", "a40n02"], "a40", 2, 12, False),
    "v100": (["v100n01", "v100n02", "v100n03"], "v100", 4, 8, False),
}
#: The array's tasks that hung at start-up (0%): task -> final state.
IDLE_TASKS = {2: "TIMEOUT", 5: "CANCELLED", 8: "TIMEOUT", 11: "CANCELLED"}
H = pd.Timedelta(hours=1)


def plan() -> list[dict]:
    """One dict per Slurm job (see the module doc)."""
    jobs: list[dict] = []
    for k in range(12):  # bchen's learning-rate sweep: a job array on a100
        idle = k in IDLE_TASKS
        state = IDLE_TASKS.get(k, "COMPLETED")
        hours = 6.0 if state == "TIMEOUT" else 3.0 if idle else 4.0 + 0.25 * (k % 4)
        jobs.append(
            _job(
                f"8123400_{k}",
                str(8123401 + k),
                "sweep-lr",
                "bchen",
                "a100",
                1,
                START + k * pd.Timedelta(minutes=20),
                hours,
                state,
                jobstats=[0.0] if idle else [70.0 + (7 * k) % 20],
                limit="06:00:00",
                submit=START - pd.Timedelta(minutes=5),
            )
        )
    for k in range(7):  # adiaz: five single-GPU scripts on 4 GPUs, then two real DDP runs
        single = k < 5
        t = START + pd.Timedelta(days=1) + (k * pd.Timedelta(minutes=1) if single else k * 14 * H)
        util = [80.0 + 2 * k, 0.0, 0.0, 0.0] if single else [81.0, 79.0, 83.0, 80.0 - k]
        jobs.append(
            _job(
                str(8123500 + k),
                str(8123500 + k),
                f"ddp-bs{32 * 2**k}" if single else f"ddp-final-{k}",
                "adiaz",
                "a100",
                4,
                t,
                10.0 if single else 12.0,
                "COMPLETED",
                jobstats=util,
            )
        )
    for k, pct in enumerate((3, 5, 0, 6, 4)):  # cokafor: Jupyter sessions, gres/gpuutil only
        jobs.append(
            _job(
                str(8123600 + k),
                str(8123600 + k),
                "jupyter",
                "cokafor",
                "a100",
                1,
                START + pd.Timedelta(days=2 + k, hours=1),
                8.0 if k % 2 else 7.5,
                "TIMEOUT" if k % 2 else "COMPLETED",
                gpuutil=pct,
                limit="08:00:00",
            )
        )
    for k in range(4):  # ehassan: a40 without GPU accounting; W&B runs say what ran
        jobs.append(
            _job(
                str(8123700 + k),
                str(8123700 + k),
                f"finetune-{k + 1}",
                "ehassan",
                "a40",
                2,
                START + pd.Timedelta(days=1 + 2 * k, hours=3),
                6.0,
                "COMPLETED",
                wandb=[77.0 - k, 0.0] if k < 3 else [75.0, 73.0],
            )
        )
    for k in range(6):  # dlund: v100, nothing logged
        jobs.append(
            _job(
                str(8123800 + k),
                str(8123800 + k),
                f"bert-pretrain-{k + 1}",
                "dlund",
                "v100",
                2,
                START + pd.Timedelta(days=k, hours=6),
                20.0,
                "COMPLETED",
            )
        )
    return jobs


def _job(
    job_id: str,
    raw: str,
    name: str,
    user: str,
    partition: str,
    gpus: int,
    start: pd.Timestamp,
    hours: float,
    state: str,
    *,
    jobstats: list[float] | None = None,
    gpuutil: int | None = None,
    wandb: list[float] | None = None,
    limit: str = "1-00:00:00",
    submit: pd.Timestamp | None = None,
) -> dict:
    nodes, gres, _, cores, accounted = PARTITIONS[partition]
    node = nodes[int(raw) % len(nodes)]
    if gpuutil is None and jobstats is not None and accounted:
        gpuutil = int(round(sum(jobstats) / len(jobstats)))  # sacct's mean, next to jobstats
    return {
        "job_id": job_id,
        "raw": raw,
        "name": name,
        "user": user,
        "partition": partition,
        "gpus": gpus,
        "gres": gres,
        "cores": cores * gpus,
        "node": node,
        "submit": submit if submit is not None else start - pd.Timedelta(minutes=3),
        "start": start,
        "elapsed": int(round(hours * 3600)),
        "state": state,
        "limit": limit,
        "jobstats": jobstats,
        "gpuutil": gpuutil if accounted else None,
        "wandb": wandb,
    }


def jobstats_comment(j: dict) -> str:
    """A jobstats summary (``JS1:`` + base64 of gzipped JSON) with each GPU's utilisation."""
    util = {str(i): u for i, u in enumerate(j["jobstats"])}
    d = {
        "gpus": j["gpus"],
        "nodes": {
            j["node"]: {
                "cpus": j["cores"],
                "gpu_total_memory": {k: 85_899_345_920 for k in util},
                "gpu_used_memory": {k: 0 if u == 0 else 40_802_189_312 for k, u in util.items()},
                "gpu_utilization": util,
                "total_memory": 64 * j["gpus"] * 1024**3,
                "total_time": round(0.2 * j["cores"] * j["elapsed"], 1),
                "used_memory": 20 * j["gpus"] * 1024**3,
            }
        },
        "total_time": j["elapsed"],
    }
    return jobstats_field(d)


def _lines(j: dict) -> list[str]:
    end = j["start"] + pd.Timedelta(seconds=j["elapsed"])
    tres = (
        f"billing={j['cores']},cpu={j['cores']},gres/gpu:{j['gres']}={j['gpus']},"
        f"gres/gpu={j['gpus']},mem={64 * j['gpus']}G,node=1"
    )
    cpu = hms(0.2 * j["cores"] * j["elapsed"])
    usage = f"cpu={cpu},fs/disk=2305843,mem={20 * j['gpus'] * 1024**3},pages=0"
    if j["gpuutil"] is not None:
        usage += f",gres/gpuutil={j['gpuutil']}"
    state, code = j["state"], "0:0" if j["state"] == "COMPLETED" else "0:15"
    shown = "CANCELLED by 71004" if state == "CANCELLED" else state
    times = [ts(j["start"]), ts(end), str(j["elapsed"])]
    alloc = [
        CLUSTER,
        j["job_id"],
        j["raw"],
        j["name"],
        j["user"],
        ACCOUNT,
        j["partition"],
        "normal",
        shown,
        code,
        ts(j["submit"]),
        *times,
        j["limit"],
        "1",
        str(j["cores"]),
        "",
        tres,
        cpu,
        "",
        j["node"],
        jobstats_comment(j) if j["jobstats"] is not None else "",
    ]
    batch = [
        CLUSTER,
        f"{j['job_id']}.batch",
        f"{j['raw']}.batch",
        "batch",
        "",
        ACCOUNT,
        "",
        "",
        "CANCELLED" if state in ("CANCELLED", "TIMEOUT") else state,
        code,
        ts(j["start"]),
        *times,
        "",
        "1",
        str(j["cores"]),
        "1",
        tres,
        cpu,
        usage,
        j["node"],
        "",
    ]
    return ["|".join(x) for x in (alloc, batch)]


def sacct_text(jobs: list[dict]) -> str:
    lines = ["|".join(FIELDS)]
    for j in jobs:
        lines += _lines(j)
    return "\n".join(lines) + "\n"


def wandb_lines(jobs: list[dict]) -> str:
    """One W&B run (JSON Lines) per job with host GPU metrics, naming its Slurm job."""
    recs = []
    for n, j in enumerate(x for x in jobs if x["wandb"] is not None):
        rid = f"ft{n:02d}{j['raw'][-4:]}"
        system: dict[str, float] = {}
        for i, u in enumerate(j["wandb"]):
            system[f"system.gpu.{i}.gpu"] = u
            system[f"system.gpu.{i}.powerWatts"] = 60.0 if u == 0 else round(120 + 2.5 * u, 1)
        recs.append(
            {
                "id": rid,
                "display_name": j["name"],
                "entity": "tarn-lab",
                "project": ACCOUNT,
                "state": "finished",
                "created_at": ts(j["start"] + pd.Timedelta(minutes=1)) + "Z",
                "summary": {"_wandb": {"runtime": j["elapsed"] - 120}, "eval/acc": 0.8 + n / 100},
                "config": {"lr": 2e-5, "epochs": 3},
                "metadata": {
                    "gpu": "NVIDIA A40",
                    "gpu_count": j["gpus"],
                    "host": j["node"],
                    "slurm": {"job_id": j["raw"], "cluster_name": CLUSTER},
                },
                "system_metrics": system,
            }
        )
    return "\n".join(json.dumps(r, sort_keys=True) for r in recs) + "\n"


def generate(out: Path | str) -> dict[str, Path]:
    """Write the sample's files into ``out`` (see the module doc)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = plan()
    files = {"sacct.txt": sacct_text(jobs), "wandb_runs.jsonl": wandb_lines(jobs)}
    paths = {}
    for name, text in files.items():
        p = out / name
        p.write_text(text, encoding="utf-8", newline="\n")
        paths[name] = p
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("sample_logs/utilization"))
    args = ap.parse_args(argv)
    for p in generate(args.out).values():
        print(p)


if __name__ == "__main__":
    main()
