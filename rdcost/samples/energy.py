"""Synthetic logs of a small GPU project whose exports carry every energy source rdcost
reads (docs/energy.md), so that each is exercised and a reader can see what each changes.

``python -m rdcost.samples.energy --seed 2026 --out sample_logs/energy`` (or
:func:`generate`) writes:

- ``sacct.txt``: a ``sacct --parsable2 --noconvert`` export of cluster ``dune`` (Slurm
  23.02+: ``ConsumedEnergyRaw``, ``TRESUsageInAve`` with ``energy=`` and
  ``gres/gpuutil=``, ``NTasks``, and a jobstats summary in ``AdminComment`` on some jobs);
- ``wandb_runs.jsonl``: W&B runs written through the public API, with the mean power and
  utilisation of the run's GPUs in ``system_metrics`` (``system.gpu.process.N.powerWatts``,
  ``system.gpu.process.N.gpu``); most name their Slurm job, three ran on a workstation;
- ``carbon_series.csv``: an hourly carbon-intensity series in the Electricity Maps
  data-portal layout, for a made-up zone ``SYNTH``;
- ``site.toml``: a site table (PUE of the year with its range, CPU model, the shared
  partition, the carbon-free energy share) and the series, for ``-a current -a site.toml``.

Every number is made up here; the same seed gives byte-identical files. How the project is
built (design choices):

- ``a100`` (nodes ``a100n01``-``a100n08``, 8 x A100 80 GB, 2 x AMD EPYC 7742 = 128 cores):
  whole-node training jobs on 1 or 2 nodes with an IPMI-like node energy counter. A node
  draws 1,400 W + 8 x (60 W + utilisation x 340 W). Two readings are broken on purpose:
  one corrupt value of 4.2e15 J and one 2.6 times above nodes x 10,200 W x elapsed.
- ``gpu-shared`` (nodes ``shr01``, ``shr02``, 4 x A100 80 GB, 64 cores): jobs of 1-2 GPUs
  (one whole-node job of 4 per node), several at a time on a node; the counter reads the
  whole node (2,200 W), so the small jobs' readings are not theirs. Half carry a jobstats
  summary; all carry ``gres/gpuutil``.
- ``h100`` (nodes ``h100n01``-``h100n04``, 8 x H100, 112 cores): no energy plugin
  (ConsumedEnergyRaw 0) and ``gres/gpuutil=0`` (unsupported); most jobs have a W&B run with
  measured GPU power, the others nothing but the GPU type (rated power x a factor).
- Three W&B runs on a workstation (``ws-lab1``, one RTX 4090) name no Slurm job.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from rdcost.samples.sacct_values import hms, jobstats_field, ts

SEED = 2026
CLUSTER = "dune"
ACCOUNT = "energy"
START = pd.Timestamp("2025-03-03T08:00:00", tz="UTC")
DAYS = 21
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
    "ConsumedEnergyRaw",
    "TRESUsageInAve",
    "NodeList",
    "AdminComment",
)
#: partition -> (node names, GPUs per node, cores per node, memory per node (GB), gres type)
PARTITIONS = {
    "a100": ([f"a100n{i:02d}" for i in range(1, 9)], 8, 128, 1000, "a100_80gb"),
    "gpu-shared": (["shr01", "shr02"], 4, 64, 500, "a100_80gb"),
    "h100": ([f"h100n{i:02d}" for i in range(1, 5)], 8, 112, 2000, "h100"),
}
USERS = ("ayoung", "bkim", "cmuller")
NODE_BASE_W, GPU_IDLE_W, GPU_SPAN_W = 1400.0, 60.0, 340.0
SHARED_NODE_W = 2200.0
CORRUPT_J = 4.2e15
OVER_FACTOR = 2.6
MAX_NODE_W = 10_200


def plan(rng: np.random.Generator) -> pd.DataFrame:
    """One row per Slurm job: partition, nodes, GPUs, times, utilisation and what its
    export carries (see the module doc)."""
    rows = []
    t0 = START
    for k in range(16):  # whole-node A100 training, nodes taken in turn
        nodes = 2 if k % 4 == 3 else 1
        rows.append(
            _job(rng, "a100", nodes, 8 * nodes, t0 + pd.Timedelta(hours=25 * k), (6, 40), 2 * k % 8)
        )
    rows[5]["broken"] = "corrupt"
    rows[11]["broken"] = "over"
    for n in range(2):  # shared nodes shr01, shr02: one whole-node job, then
        t = t0 + pd.Timedelta(days=9 * n, hours=3)  # small jobs that overlap
        rows.append(_job(rng, "gpu-shared", 1, 4, t, (2, 10), n))
        for i in range(6):
            g = 2 if i % 3 == 1 else 1
            j = _job(rng, "gpu-shared", 1, g, t + pd.Timedelta(hours=12 + 4 * i), (2, 12), n)
            j["jobstats"] = i % 2 == 1
            rows.append(j)
    for k in range(12):  # H100: no energy plugin; W&B runs for most
        j = _job(rng, "h100", 1, 8, t0 + pd.Timedelta(hours=40 * k + 11), (8, 30), k % 4)
        j["wandb"] = k % 4 != 3
        rows.append(j)
    for k, state in enumerate(("FAILED", "FAILED", "CANCELLED")):  # short failures
        j = _job(rng, "gpu-shared", 1, 1, t0 + pd.Timedelta(hours=90 * k + 20), (0.05, 0.2), 1)
        j["state"] = state
        rows.append(j)
    df = pd.DataFrame(rows)
    df["job_id"] = (7_100_000 + 37 * np.arange(len(df))).astype(str)
    return df


def _job(
    rng, partition: str, nodes: int, gpus: int, start: pd.Timestamp, hours, first: int
) -> dict:
    names, _, cores, mem, gres = PARTITIONS[partition]
    elapsed = int(round(rng.uniform(*hours) * 3600))
    return {
        "partition": partition,
        "nodes": nodes,
        "gpus": gpus,
        "node": names[first]
        if nodes == 1
        else f"{names[first][:-2]}[{first + 1:02d}-{first + nodes:02d}]",
        "user": str(rng.choice(USERS)),
        "submit": start - pd.Timedelta(minutes=int(rng.integers(2, 90))),
        "start": start + pd.Timedelta(minutes=int(rng.integers(0, 50))),
        "elapsed": elapsed,
        "util": float(np.round(rng.uniform(55, 96), 1)),
        "power_w": float(np.round(rng.uniform(430, 640), 1)),
        "cpu_share": float(rng.uniform(0.1, 0.4)),
        "cores": cores * nodes if partition != "gpu-shared" else 16 * gpus,
        "mem_gb": mem * nodes if partition != "gpu-shared" else 120 * gpus,
        "gres": gres,
        "state": "COMPLETED",
        "broken": "",
        "jobstats": False,
        "wandb": False,
    }


def energy_j(j: pd.Series) -> int:
    """The node energy counter a job's export shows (0: no energy plugin)."""
    if j["partition"] == "h100":
        return 0
    if j["broken"] == "corrupt":
        return int(CORRUPT_J)
    if j["broken"] == "over":
        return int(OVER_FACTOR * j["nodes"] * MAX_NODE_W * j["elapsed"])
    if j["partition"] == "gpu-shared":
        return int(round(SHARED_NODE_W * j["elapsed"]))  # the whole node, whoever ran on it
    per_gpu = GPU_IDLE_W + j["util"] / 100 * GPU_SPAN_W
    return int(round(j["nodes"] * (NODE_BASE_W + 8 * per_gpu) * j["elapsed"]))


def jobstats_comment(j: pd.Series) -> str:
    """A jobstats summary (``JS1:`` + base64 of gzipped JSON, as its epilog stores it)."""
    util = {str(i): round(j["util"] + 2.0 * i - 1.0, 1) for i in range(int(j["gpus"]))}
    d = {
        "gpus": int(j["gpus"]),
        "nodes": {
            j["node"]: {
                "cpus": int(j["cores"]),
                "gpu_total_memory": {k: 85_899_345_920 for k in util},
                "gpu_used_memory": {k: 61_203_283_968 for k in util},
                "gpu_utilization": util,
                "total_memory": int(j["mem_gb"]) * 1024**3,
                "total_time": round(j["cpu_share"] * j["cores"] * j["elapsed"], 1),
                "used_memory": int(j["mem_gb"]) * 1024**3 // 3,
            }
        },
        "total_time": int(j["elapsed"]),
    }
    return jobstats_field(d)


def sacct_text(jobs: pd.DataFrame) -> str:
    lines = ["|".join(FIELDS)]
    for _, j in jobs.iterrows():
        lines += _job_lines(j)
    return "\n".join(lines) + "\n"


def _job_lines(j: pd.Series) -> list[str]:
    end = j["start"] + pd.Timedelta(seconds=int(j["elapsed"]))
    e = energy_j(j)
    mem = f"{int(j['mem_gb'])}G"
    tres = (
        f"billing={j['cores']},cpu={j['cores']},gres/gpu:{j['gres']}={j['gpus']},"
        f"gres/gpu={j['gpus']},mem={mem},node={j['nodes']}"
    )
    cpu_s = j["cpu_share"] * j["cores"] * j["elapsed"]
    util = 0 if j["partition"] == "h100" else int(round(j["util"]))
    mem_b = int(j["mem_gb"]) * 1024**3 // 3
    batch_e = int(round(e * 0.97)) if 0 < e < CORRUPT_J else 0
    usage_b = (
        f"cpu={hms(cpu_s)},energy={batch_e},fs/disk=2305843,gres/gpumem=61203283968,"
        f"gres/gpuutil={util},mem={mem_b},pages=0,vmem={mem_b * 2}"
    )
    usage_x = f"cpu=00:00:00,energy={e if e < CORRUPT_J else 0},fs/disk=5273,gres/gpumem=0,gres/gpuutil=0,mem=262144,pages=0,vmem=0"
    state, code = j["state"], "0:0" if j["state"] == "COMPLETED" else "1:0"
    if state == "CANCELLED":
        state, code = "CANCELLED by 61002", "0:15"
    common = [CLUSTER, j["job_id"], j["job_id"]]
    alloc = [
        *common,
        f"train-{j['partition']}",
        j["user"],
        ACCOUNT,
        j["partition"],
        "normal",
        state,
        code,
        ts(j["submit"]),
        ts(j["start"]),
        ts(end),
        str(int(j["elapsed"])),
        "2-00:00:00",
        str(j["nodes"]),
        str(j["cores"]),
        "",
        tres,
        hms(cpu_s),
        str(e),
        "",
        j["node"],
        jobstats_comment(j) if j["jobstats"] else "",
    ]
    step = [ts(j["start"]), ts(j["start"]), ts(end), str(int(j["elapsed"])), ""]
    batch = [
        CLUSTER,
        f"{j['job_id']}.batch",
        f"{j['job_id']}.batch",
        "batch",
        "",
        ACCOUNT,
        "",
        "",
        state.split(" ")[0],
        code,
        *step,
        "1",
        str(j["cores"] // j["nodes"]),
        "1",
        tres.replace(f"node={j['nodes']}", "node=1"),
        hms(cpu_s),
        str(batch_e),
        usage_b,
        j["node"] if j["nodes"] == 1 else j["node"].replace("[", "").split("-")[0],
        "",
    ]
    ext = [
        CLUSTER,
        f"{j['job_id']}.extern",
        f"{j['job_id']}.extern",
        "extern",
        "",
        ACCOUNT,
        "",
        "",
        "COMPLETED",
        "0:0",
        *step,
        str(j["nodes"]),
        str(j["cores"]),
        str(j["nodes"]),
        tres,
        "00:00:00",
        str(e),
        usage_x,
        j["node"],
        "",
    ]
    return ["|".join(map(str, x)) for x in (alloc, batch, ext)]


def wandb_lines(jobs: pd.DataFrame, rng: np.random.Generator) -> str:
    """W&B runs (JSON Lines, one per run): the H100 jobs' runs and three workstation runs."""
    recs = []
    for _, j in jobs[jobs["wandb"]].iterrows():
        recs.append(
            _run(
                rng,
                j["job_id"],
                j["start"],
                j["elapsed"],
                int(j["gpus"]),
                j["power_w"],
                j["util"],
                "NVIDIA H100 80GB HBM3",
                j["node"],
                True,
            )
        )
    t = START + pd.Timedelta(days=2, hours=5)
    for k in range(3):
        el = int(round(rng.uniform(3, 9) * 3600))
        recs.append(
            _run(
                rng,
                None,
                t + pd.Timedelta(days=6 * k),
                el,
                1,
                float(np.round(rng.uniform(280, 410), 1)),
                float(np.round(rng.uniform(60, 95), 1)),
                "NVIDIA GeForce RTX 4090",
                "ws-lab1",
                False,
            )
        )
    return "\n".join(json.dumps(r, sort_keys=True) for r in recs) + "\n"


def _run(rng, job_id, start, elapsed, gpus, power_w, util, gpu, host, slurm) -> dict:
    rid = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), 8))
    system = {}
    for i in range(gpus):
        system[f"system.gpu.process.{i}.powerWatts"] = round(power_w + 4.0 * i - 14.0, 1)
        system[f"system.gpu.process.{i}.gpu"] = round(util + 0.5 * i - 1.75, 1)
    meta = {"gpu": gpu, "gpu_count": gpus, "host": host}
    if slurm:
        meta["slurm"] = {"job_id": job_id, "cluster_name": CLUSTER}
    return {
        "id": rid,
        "display_name": f"llm-{rid[:4]}",
        "entity": "dune-lab",
        "project": ACCOUNT,
        "state": "finished",
        "created_at": ts(start) + "Z",
        "summary": {
            "_wandb": {"runtime": int(elapsed)},
            "val/loss": round(float(rng.uniform(1.8, 2.6)), 4),
        },
        "config": {
            "lr": float(rng.choice([1e-4, 3e-4, 6e-4])),
            "batch_size": int(rng.choice([256, 512])),
        },
        "metadata": meta,
        "system_metrics": system,
    }


SERIES_HEADER = (
    "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO\u2082eq/kWh (direct),"
    "Carbon Intensity gCO\u2082eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
    "Data Source,Data Estimated,Data Estimation Method"
)


def series_text() -> str:
    """Hourly intensity of March 2025 for the made-up zone SYNTH: a daily cycle (cleanest at
    13:00 UTC) on a level that drifts over the month; no randomness."""
    hours = pd.date_range("2025-03-01", "2025-03-31 23:00", freq="h", tz="UTC")
    lines = [SERIES_HEADER]
    for i, t in enumerate(hours):
        direct = (
            380
            + 110 * np.cos(2 * np.pi * (t.hour - 1) / 24)
            + 40 * np.sin(2 * np.pi * i / (24 * 9))
        )
        low_c = 45 - 15 * np.cos(2 * np.pi * (t.hour - 1) / 24)
        lines.append(
            f"{t:%Y-%m-%d %H:%M:%S},Synthetic,Synthetic zone,SYNTH,{direct:.2f},{direct * 1.25:.2f},"
            f"{low_c:.2f},{low_c * 0.7:.2f},rdcost.samples.energy,false,"
        )
    return "\n".join(lines) + "\n"


SITE_TOML = """# A synthetic site table for sample_logs/energy (docs/energy.md, "Site table"): made up,
# like the logs. Use it after the current preset:
#   rdcost summarize -p energy -a current -a sample_logs/energy/site.toml
[site]
name = "dune (synthetic)"
source = "synthetic: rdcost/samples/energy.py"
cpu_model = "AMD EPYC 7742"
shared_partitions = ["gpu-shared"]
cfe_fraction = { value = 0.35, low = 0.3, high = 0.4, source = "synthetic: the imagined site's carbon-free energy contracts" }

[[site.pue]]
year = 2025
value = 1.25
low = 1.2
high = 1.3
source = "synthetic: the imagined site's 2025 facility report"
as_of = "2025"

[carbon_series]
path = "carbon_series.csv"
"""


def generate(out: Path | str, seed: int = SEED) -> dict[str, Path]:
    """Write the sample's files into ``out`` (see the module doc)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    jobs = plan(rng)
    files = {
        "sacct.txt": sacct_text(jobs),
        "wandb_runs.jsonl": wandb_lines(jobs, rng),
        "carbon_series.csv": series_text(),
        "site.toml": SITE_TOML,
    }
    paths = {}
    for name, text in files.items():
        p = out / name
        p.write_text(text, encoding="utf-8", newline="\n")
        paths[name] = p
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=Path("sample_logs/energy"))
    args = ap.parse_args(argv)
    for p in generate(args.out, args.seed).values():
        print(p)


if __name__ == "__main__":
    main()
