"""Deterministic synthetic ``sacct --parsable2`` files for benchmarks (not a test).

    python bench/generate_sacct.py N_ALLOCATIONS OUT.txt [--seed 0] [--per-year 5000000]

Writes ``N_ALLOCATIONS`` job allocations, each followed by its steps, in the
order and with the value shapes sacct prints (docs/sacct.md, spec section 1):

- plain jobs, job arrays (``123_4``, the display id of the first task) and
  loops of one-by-one submissions with hyperparameters in their names
  (``bert-ft-lr0.001-s3``), so that the summary finds grid searches both ways;
- states COMPLETED, FAILED, ``CANCELLED by <uid>``, TIMEOUT, OUT_OF_MEMORY,
  NODE_FAIL, PREEMPTED, RUNNING (End ``Unknown``) and PENDING (Start
  ``Unknown``, ``None assigned``, no steps);
- steps ``.batch``, ``.extern`` and ``.0``/``.1``/``.2`` (srun), with step-only
  usage (MaxRSS, TotalCPU as ``MM:SS.mmm`` or ``[D-]HH:MM:SS``,
  ConsumedEnergyRaw) and job-level fields blank as on Slurm 21.08+;
- TRES with GPUs (``billing=32,cpu=32,gres/gpu:a100=4,gres/gpu=4,mem=256G,node=1``)
  on about 70 % of the jobs, CPU-only TRES on the rest.

About 3 lines and 900 bytes per allocation. Submissions arrive at a steady
``--per-year`` rate (default 5 million allocations a year, a large centre),
so 100k allocations span about a week and 5M a year: the store's
(source, month) partitions grow with the span as they would in production.
The same arguments always give the same bytes; the file is written in
chunks of ``--chunk`` allocations, so memory stays small at any size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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
    "Eligible",
    "Start",
    "End",
    "ElapsedRaw",
    "Elapsed",
    "Timelimit",
    "NNodes",
    "NCPUS",
    "ReqMem",
    "ReqTRES",
    "AllocTRES",
    "MaxRSS",
    "TotalCPU",
    "ConsumedEnergyRaw",
    "NodeList",
    "WorkDir",
)
#: The narrow shape: the common ``--format`` list of 21 fields (no QOS, Eligible, ReqTRES,
#: TotalCPU, energy or WorkDir); every job that ran has exactly a ``.batch`` and an
#: ``.extern`` step (about 2.9 lines and 610 bytes per job).
NARROW_FIELDS = (
    "JobID",
    "JobIDRaw",
    "JobName",
    "User",
    "Account",
    "Partition",
    "Cluster",
    "State",
    "ExitCode",
    "Submit",
    "Start",
    "End",
    "Elapsed",
    "ElapsedRaw",
    "Timelimit",
    "NNodes",
    "NCPUS",
    "ReqMem",
    "MaxRSS",
    "AllocTRES",
    "NodeList",
)
SHAPES = {"wide": FIELDS, "narrow": NARROW_FIELDS}

EPOCH_S = 1_704_067_200  # 2024-01-01T00:00:00 UTC
FIRST_JOB_ID = 4_000_000
GPU_TYPES = np.array(["a100", "v100", "h100", "t4", "p100"])
GPU_TYPE_P = np.array([0.40, 0.20, 0.15, 0.15, 0.10])
GPU_COUNTS = np.array([1, 2, 4, 8])
GPU_COUNT_P = np.array([0.50, 0.25, 0.15, 0.10])
GPUS_PER_NODE = 4
PARTITIONS = np.array(["gpu", "gpu-long", "cpu", "debug"])
PARTITION_P = np.array([0.60, 0.10, 0.25, 0.05])
LIMIT_S = np.array([2 * 86400, 7 * 86400, 86400, 3600])  # per partition
STATES = np.array(
    [
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "PREEMPTED",
        "RUNNING",
        "PENDING",
    ]
)
STATE_P = np.array([0.70, 0.08, 0.08, 0.05, 0.02, 0.005, 0.005, 0.03, 0.03])
STEMS = np.array(
    [
        "bert-ft",
        "resnet50",
        "gpt-small",
        "lstm-lm",
        "vit-b16",
        "srl-lisa",
        "nmt-base",
        "wav2vec",
        "unet-seg",
        "dqn-atari",
        "t5-base",
        "gnn-mol",
        "diffusion",
        "clip-ft",
        "speech-asr",
        "mt5-xl",
        "yolo-det",
        "ppo-mujoco",
        "roberta-ner",
        "moe-lm",
    ]
)
SINGLE_NAMES = np.array(
    [
        "train",
        "jupyter",
        "preprocess",
        "eval",
        "interactive",
        "data_prep",
        "debug",
        "sbatch_run.sh",
        "export_ckpt",
        "tensorboard",
    ]
)
N_USERS = 2000


def _s(x) -> pa.Array:
    """Integers -> decimal strings."""
    return pc.cast(pa.array(np.asarray(x)), pa.string())


def _pad2(x) -> pa.Array:
    return pc.utf8_lpad(_s(x), 2, "0")


def _ts(seconds: np.ndarray) -> pa.Array:
    return pc.strftime(
        pa.array(seconds.astype("int64"), pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S"
    )


def _hms(seconds: np.ndarray) -> pa.Array:
    """[D-]HH:MM:SS as sacct's secs2time_str prints it."""
    s = seconds.astype("int64")
    d, h, m, sec = s // 86400, (s // 3600) % 24, (s // 60) % 60, s % 60
    base = pc.binary_join_element_wise(_pad2(h), _pad2(m), _pad2(sec), ":")
    return pc.if_else(pa.array(d > 0), pc.binary_join_element_wise(_s(d), base, "-"), base)


def _cpu_time(seconds: np.ndarray, ms: np.ndarray) -> pa.Array:
    """TotalCPU: MM:SS.mmm under an hour with milliseconds, else [D-]HH:MM:SS."""
    s = seconds.astype("int64")
    short = pc.binary_join_element_wise(
        _pad2(s // 60),
        pc.binary_join_element_wise(_pad2(s % 60), pc.utf8_lpad(_s(ms), 3, "0"), "."),
        ":",
    )
    return pc.if_else(pa.array((s < 3600) & (ms > 0)), short, _hms(seconds))


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


class Generator:
    """Chunks of rows; the state carried between chunks is the clock and the next job id."""

    def __init__(self, seed: int = 0, per_year: float = 5e6, shape: str = "wide"):
        self.seed = seed
        self.shape = shape
        self.mean_gap_s = 365.25 * 86400 / per_year
        self.clock_s = float(EPOCH_S)
        self.next_id = FIRST_JOB_ID
        self.chunk_no = 0
        ranks = np.arange(1, N_USERS + 1)
        self.user_p = 1.0 / ranks**1.1
        self.user_p /= self.user_p.sum()

    def chunk(self, n: int) -> pa.Table:
        rng = np.random.default_rng([self.seed, self.chunk_no])
        self.chunk_no += 1
        # -- submission batches: single jobs, arrays, loops of sbatch calls
        nb = n  # enough batches; the last one is cut
        kind = rng.choice(3, size=nb, p=[0.80, 0.12, 0.08])  # 0 single, 1 array, 2 loop
        size = np.where(kind == 0, 1, rng.integers(4, 41, size=nb))
        ends = np.cumsum(size)
        nb = int(np.searchsorted(ends, n) + 1)
        kind, size = kind[:nb], size[:nb].copy()
        size[-1] -= int(ends[nb - 1] - n)
        b = np.repeat(np.arange(nb), size)  # batch of each allocation
        first = np.concatenate([[0], np.cumsum(size)[:-1]])
        task = np.arange(n) - first[b]
        gaps = rng.exponential(self.mean_gap_s * size)  # keep the mean rate per allocation
        b_submit = self.clock_s + np.cumsum(gaps)
        self.clock_s = float(b_submit[-1])
        b_user = rng.choice(N_USERS, size=nb, p=self.user_p)
        b_part = rng.choice(len(PARTITIONS), size=nb, p=PARTITION_P)
        b_stem = rng.integers(0, len(STEMS), size=nb)
        b_gpus = rng.choice(GPU_COUNTS, size=nb, p=GPU_COUNT_P)
        b_type = rng.choice(len(GPU_TYPES), size=nb, p=GPU_TYPE_P)
        raw = self.next_id + np.arange(n)
        self.next_id += n
        k = kind[b]
        submit = np.floor(
            b_submit[b] + np.where(k == 2, task * rng.uniform(1, 20, size=n), 0)
        ).astype("int64")
        user = b_user[b]
        part = PARTITIONS[b_part[b]]
        is_gpu = np.isin(part, ["gpu", "gpu-long", "debug"])
        gpus = np.where(is_gpu, b_gpus[b], 0)
        nodes = np.where(
            is_gpu, np.maximum(1, -(-gpus // GPUS_PER_NODE)), rng.choice([1, 1, 1, 2, 4], size=n)
        )
        cpus = np.where(is_gpu, gpus * 8, nodes * rng.choice([4, 8, 16, 32], size=n))
        mem_g = np.where(is_gpu, gpus * 64, cpus * 4)
        gtype = GPU_TYPES[b_type[b]]
        state = STATES[rng.choice(len(STATES), size=n, p=STATE_P)]
        limit = LIMIT_S[b_part[b]]
        elapsed = np.clip(rng.lognormal(np.log(3600.0), 1.6, size=n), 5, limit).astype("int64")
        elapsed = np.where(state == "TIMEOUT", limit, elapsed)
        elapsed = np.where(
            np.isin(state, ["FAILED", "NODE_FAIL"]), np.minimum(elapsed, 900), elapsed
        )
        wait = np.clip(rng.lognormal(np.log(120.0), 2.0, size=n), 0, 3 * 86400).astype("int64")
        pending = state == "PENDING"
        running = state == "RUNNING"
        start = submit + wait
        end = start + elapsed
        elapsed = np.where(pending, 0, elapsed)

        # -- per allocation text
        arr_base = raw[first[b]]
        job_id = pc.if_else(
            pa.array(k == 1), pc.binary_join_element_wise(_s(arr_base), _s(task), "_"), _s(raw)
        )
        hp = pc.binary_join_element_wise(
            pa.array(STEMS[b_stem[b]]),
            pc.binary_join_element_wise(
                pa.array(np.array(["lr0.1", "lr0.01", "lr0.001", "lr3e-4"])[task % 4]),
                pc.binary_join_element_wise(pa.array(np.full(n, "s")), _s(task), ""),
                "-",
            ),
            "-",
        )
        name = pc.if_else(
            pa.array(k == 0),
            pa.array(SINGLE_NAMES[rng.integers(0, len(SINGLE_NAMES), size=n)]),
            pc.if_else(pa.array(k == 1), pa.array(STEMS[b_stem[b]]), hp),
        )
        user_s = pc.binary_join_element_wise(
            pa.array(np.full(n, "u")), pc.utf8_lpad(_s(user), 4, "0"), ""
        )
        acct = pc.binary_join_element_wise(
            pa.array(np.full(n, "proj")), pc.utf8_lpad(_s(user % 400), 3, "0"), ""
        )
        uid = 10_000 + user
        state_txt = pc.if_else(
            pa.array(state == "CANCELLED"),
            pc.binary_join_element_wise(pa.array(np.full(n, "CANCELLED by")), _s(uid), " "),
            pa.array(state),
        )
        exit_code = np.select(
            [
                state == "COMPLETED",
                state == "FAILED",
                state == "CANCELLED",
                state == "OUT_OF_MEMORY",
                state == "TIMEOUT",
            ],
            ["0:0", "1:0", "0:15", "0:125", "0:0"],
            "0:9",
        )
        exit_code = np.where(pending | running, "0:0", exit_code)
        node_no = rng.integers(1, 400, size=n)
        prefix = np.where(is_gpu, "gpu", "cn")
        one_node = pc.binary_join_element_wise(
            pa.array(prefix), pc.utf8_lpad(_s(node_no), 3, "0"), ""
        )
        many = pc.binary_join_element_wise(
            pa.array(prefix),
            pa.array(np.full(n, "[")),
            pc.utf8_lpad(_s(node_no), 3, "0"),
            pa.array(np.full(n, "-")),
            pc.utf8_lpad(_s(node_no + nodes - 1), 3, "0"),
            pa.array(np.full(n, "]")),
            "",
        )
        nodelist = pc.if_else(
            pa.array(pending),
            pa.scalar("None assigned"),
            pc.if_else(pa.array(nodes > 1), many, one_node),
        )
        mem_txt = pc.binary_join_element_wise(_s(mem_g), pa.array(np.full(n, "G")), "")
        gres = pc.binary_join_element_wise(
            pa.array(np.full(n, "gres/gpu:")),
            pa.array(gtype),
            pa.array(np.full(n, "=")),
            _s(gpus),
            pa.array(np.full(n, ",gres/gpu=")),
            _s(gpus),
            "",
        )
        tres_cpu = pc.binary_join_element_wise(pa.array(np.full(n, "cpu=")), _s(cpus), "")
        tres_tail = pc.binary_join_element_wise(
            pa.array(np.full(n, "mem=")), mem_txt, pa.array(np.full(n, ",node=")), _s(nodes), ""
        )
        with_gpu = pc.binary_join_element_wise(tres_cpu, gres, tres_tail, ",")
        no_gpu = pc.binary_join_element_wise(tres_cpu, tres_tail, ",")
        step_tres = pc.if_else(pa.array(is_gpu), with_gpu, no_gpu)
        billing = pc.binary_join_element_wise(pa.array(np.full(n, "billing=")), _s(cpus), "")
        alloc_tres = pc.binary_join_element_wise(billing, step_tres, ",")
        timelimit = _hms(limit)
        workdir = pc.binary_join_element_wise(
            pa.array(np.full(n, "/home")), user_s, pa.array(STEMS[b_stem[b]]), "/"
        )

        # -- steps: .batch (95 %), .extern (80 %), 0-2 srun steps; none for pending jobs
        has_batch = (rng.random(n) < 0.95) & ~pending
        has_extern = (rng.random(n) < 0.80) & ~pending
        n_srun = np.where(pending, 0, rng.choice(3, size=n, p=[0.5, 0.35, 0.15]))
        if self.shape == "narrow":  # exactly .batch and .extern for every job that ran
            has_batch = has_extern = ~pending
            n_srun = np.zeros(n, dtype=np.int64)
        rows_per = 1 + has_batch + has_extern + n_srun
        a = np.repeat(np.arange(n), rows_per)
        row0 = np.concatenate([[0], np.cumsum(rows_per)[:-1]])
        pos = np.arange(len(a)) - row0[a]
        q = pos - 1
        is_alloc = pos == 0
        is_batch = ~is_alloc & has_batch[a] & (q == 0)
        q2 = q - has_batch[a]
        is_extern = ~is_alloc & ~is_batch & has_extern[a] & (q2 == 0)
        srun_no = q2 - has_extern[a]
        is_srun = ~is_alloc & ~is_batch & ~is_extern
        step_name = np.where(is_batch, "batch", np.where(is_extern, "extern", srun_no.astype(str)))
        nr = len(a)
        at = pa.array(a)

        # step times: batch/extern span the job; srun steps split it
        s_start = start[a] + np.where(is_srun, srun_no * 10, 0)
        s_el = np.where(is_srun, np.maximum(1, elapsed[a] - srun_no * 10 - 5), elapsed[a])
        s_end = s_start + s_el
        s_cpus = np.where(is_batch, np.minimum(cpus[a], 8), cpus[a])
        util = rng.uniform(0.05, 0.95, size=nr)
        cpu_s = np.where(
            is_extern,
            0,
            np.floor(s_el * s_cpus * util * np.where(is_batch & (n_srun[a] > 0), 0.05, 1)),
        )
        cpu_ms = rng.integers(0, 1000, size=nr)
        steps_cpu = np.bincount(a[~is_alloc], weights=cpu_s[~is_alloc], minlength=n)
        rss_k = np.floor(rng.lognormal(np.log(4e6), 1.0, size=nr)).astype("int64")
        watts = np.where(is_gpu[a], gpus[a] * 250.0, 0.0) + cpus[a] * 5.0
        energy = np.floor(watts * s_el).astype("int64")
        alloc_energy = np.where(
            has_extern | has_batch, np.floor((gpus * 250.0 + cpus * 5.0) * elapsed), 0
        )

        def rows(alloc_vals: pa.Array, step_vals: pa.Array | None) -> pa.Array:
            v = pc.take(alloc_vals, at)
            if step_vals is None:
                return _null_where(v, ~is_alloc)
            return pc.if_else(pa.array(is_alloc), v, step_vals)

        step_jobid = pc.binary_join_element_wise(pc.take(job_id, at), pa.array(step_name), ".")
        step_raw = pc.binary_join_element_wise(pc.take(_s(raw), at), pa.array(step_name), ".")
        step_label = pa.array(np.where(is_batch, "batch", np.where(is_extern, "extern", "python")))
        step_state = pa.array(
            np.where(
                np.isin(state[a], ["RUNNING"]) & ~is_extern,
                "RUNNING",
                np.where(
                    state[a] == "CANCELLED",
                    "CANCELLED",
                    np.where(
                        state[a] == "COMPLETED",
                        "COMPLETED",
                        np.where(is_extern, "COMPLETED", "FAILED"),
                    ),
                ),
            )
        )
        never = pending
        alloc_start = _null_where(_ts(start), never)
        alloc_start = pc.fill_null(alloc_start, "Unknown")
        alloc_end = pc.fill_null(_null_where(_ts(end), never | running), "Unknown")
        st_end_txt = pc.fill_null(_null_where(_ts(s_end), running[a] & ~is_extern), "Unknown")
        st_end = pc.if_else(pa.array(is_alloc), pc.take(alloc_end, at), st_end_txt)
        alloc_cpu = _cpu_time(np.where(never, 0, steps_cpu), np.zeros(n, "int64"))
        alloc_energy_txt = _s(alloc_energy.astype("int64"))
        mem_rss = pc.binary_join_element_wise(_s(rss_k), pa.array(np.full(nr, "K")), "")

        cols = {
            "Cluster": pa.array(np.full(nr, "hpc1")),
            "JobID": pc.if_else(pa.array(is_alloc), pc.take(job_id, at), step_jobid),
            "JobIDRaw": pc.if_else(pa.array(is_alloc), pc.take(_s(raw), at), step_raw),
            "JobName": pc.if_else(pa.array(is_alloc), pc.take(name, at), step_label),
            "User": rows(user_s, None),
            "Account": rows(acct, pc.take(acct, at)),
            "Partition": rows(pa.array(part), None),
            "QOS": rows(pa.array(np.where(part == "debug", "debug", "normal")), None),
            "State": rows(state_txt, step_state),
            "ExitCode": rows(
                pa.array(exit_code),
                pa.array(
                    np.where(step_state.to_numpy(zero_copy_only=False) == "FAILED", "1:0", "0:0")
                ),
            ),
            "Submit": rows(_ts(submit), _ts(s_start)),
            "Eligible": rows(_ts(submit), _ts(s_start)),
            "Start": rows(alloc_start, _ts(s_start)),
            "End": st_end,
            "ElapsedRaw": rows(_s(elapsed), _s(s_el)),
            "Elapsed": rows(_hms(elapsed), _hms(s_el)),
            "Timelimit": rows(timelimit, None),
            "NNodes": rows(
                _s(nodes),
                pa.array(
                    np.where(is_batch, "1", pc.take(_s(nodes), at).to_numpy(zero_copy_only=False))
                ),
            ),
            "NCPUS": rows(_s(np.where(never, 0, cpus)), _s(s_cpus)),
            "ReqMem": rows(mem_txt, None),
            "ReqTRES": rows(alloc_tres, None),
            "AllocTRES": rows(_null_where(alloc_tres, never), pc.take(step_tres, at)),
            "MaxRSS": _null_where(mem_rss, is_alloc | is_extern),
            "TotalCPU": rows(alloc_cpu, _cpu_time(cpu_s, cpu_ms)),
            "ConsumedEnergyRaw": rows(alloc_energy_txt, _s(energy)),
            "NodeList": rows(nodelist, pc.take(nodelist, at)),
            "WorkDir": rows(workdir, None),
        }
        return pa.table({f: cols[f] for f in SHAPES[self.shape]})


def write(
    n_allocations: int,
    out: Path,
    seed: int = 0,
    per_year: float = 5e6,
    chunk: int = 200_000,
    progress: bool = False,
    shape: str = "wide",
) -> dict:
    """Write the file; returns {'allocations', 'lines', 'bytes'}."""
    gen = Generator(seed, per_year, shape)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = 0
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        fh.write(("|".join(SHAPES[shape]) + "\n").encode())
        writer = None
        done = 0
        while done < n_allocations:
            k = min(chunk, n_allocations - done)
            table = gen.chunk(k)
            if writer is None:
                writer = pacsv.CSVWriter(
                    fh,
                    table.schema,
                    write_options=pacsv.WriteOptions(
                        include_header=False, delimiter="|", quoting_style="none"
                    ),
                )
            writer.write_table(table)
            lines += table.num_rows
            done += k
            if progress:
                print(
                    f"\r{done:,} / {n_allocations:,} allocations ({time.perf_counter() - t0:.0f} s)",
                    end="",
                    file=sys.stderr,
                )
        if writer is not None:
            writer.close()
    if progress:
        print(file=sys.stderr)
    return {"allocations": n_allocations, "lines": lines + 1, "bytes": out.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_allocations", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-year", type=float, default=5e6, help="allocations submitted per year")
    ap.add_argument("--chunk", type=int, default=200_000, help="allocations generated at a time")
    ap.add_argument(
        "--shape",
        choices=sorted(SHAPES),
        default="wide",
        help="wide: 27 fields and srun steps; narrow: the common 21 fields, .batch and .extern",
    )
    args = ap.parse_args()
    info = write(
        args.n_allocations,
        args.out,
        args.seed,
        args.per_year,
        args.chunk,
        progress=True,
        shape=args.shape,
    )
    print(
        f"{args.out}: {info['allocations']:,} allocations, {info['lines']:,} lines, "
        f"{info['bytes'] / 2**20:,.1f} MiB"
    )


if __name__ == "__main__":
    main()
