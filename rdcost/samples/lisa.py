"""Synthetic logs of a LISA-like project, with the shape Strubell et al. (ACL
2019, section 4.2) published for the real, non-public ones.

``python -m rdcost.samples.lisa --seed 2019 --out sample_logs/lisa`` (or
:func:`generate`) writes ``sacct.txt``, ``wandb_runs.csv`` and ``jobs.csv``.
The same seed gives byte-identical files. This module plans the jobs and their
outcomes; :mod:`~rdcost.samples.lisa_schedule` places them in time and on
nodes, :mod:`~rdcost.samples.lisa_files` writes the text.

How the project is built (every number is a design choice written here):

- 123 grid searches of semantic-role-labelling models: 47 Slurm job arrays,
  56 loops of ``sbatch`` with the hyperparameters in the job name
  (``lisa-c05-srl-lr0.04-drop0.2``) and 20 W&B sweeps whose agents were
  submitted one ``sbatch`` at a time (``wb-agent-<sweep id>``). 45 searches
  have fewer than 24 jobs, 30 exactly 24 and 48 more, so the median is 24.
- A full training run takes 120 GPU-hours (one GPU for five days); some
  searches train shorter variants (24 h, 48 h). Runs fail
  at start-up (3-5 min), diverge at high learning rates, run out of memory
  with the biggest batch and depth, hit their time limit on slow nodes, die
  with their node, or are cancelled by their user (more often when the
  configuration is poor).
- Around the searches: debugging sessions, evaluations, final models (one to
  three seeds), multi-GPU runs, preprocessing and re-submissions of crashed
  configurations, and a few runs with a 9-day limit that time out, each
  submitted in sessions of at most three jobs of one name, so no heuristic
  should take them for a search.
- The durations of cancelled runs (when the user gave up is arbitrary) are
  scaled by one factor so the project totals 239,942 GPU-hours; GPU types
  are given per search or session so that Titan X has 72% of the GPU-hours.
- The first job starts at ``FIRST_START``; the last one ends
  ``END_EXTRA_S`` (2 h) after ``FIRST_START`` + 172 days.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEED = 2019
CLUSTER = "campus"
ACCOUNT = "lisa"
FIRST_START = pd.Timestamp("2017-12-04T14:12:31", tz="UTC")
SPAN_S = 172 * 86_400
#: The last job ends this long after FIRST_START + 172 days, so the span is 172
#: days whether it is rounded or truncated to whole days.
END_EXTRA_S = 2 * 3600
LAST_END = FIRST_START + pd.Timedelta(seconds=SPAN_S + END_EXTRA_S)
TARGET_GPU_HOURS = 239_942.0
N_JOBS = 4_789
M40_SHARE = 0.28
#: Jobs that start after this get an .extern step (the site enabled PrologFlags=Contain).
EXTERN_SINCE = pd.Timestamp("2018-02-12T16:00:00", tz="UTC")

USERS = ("asmith", "bnguyen", "cgarcia", "dpatel")
UIDS = {"asmith": 60421, "bnguyen": 60433, "cgarcia": 60512, "dpatel": 60587}
USER_P = (0.5, 0.22, 0.17, 0.11)
SRUN_USERS = ("cgarcia",)  # their job scripts start training with srun: a .0 step

N_SMALL, N_MEDIAN, N_LARGE = 45, 30, 48
SMALL_SIZES = (4, 6, 8, 9, 12, 16, 18)
LARGE_SIZES = (27, 32, 36, 48, 54, 64, 72, 96)
LARGE_P = (0.08, 0.2, 0.2, 0.2, 0.08, 0.1, 0.08, 0.06)
N_ARRAY, N_LOOP, N_SWEEP = 47, 56, 20

TASKS = ("conll05", "conll12")
MODELS = ("lisa", "sa", "lisa-elmo")
F1_MAX = {
    ("lisa", "conll05"): 86.1,
    ("sa", "conll05"): 85.2,
    ("lisa-elmo", "conll05"): 87.4,
    ("lisa", "conll12"): 83.4,
    ("sa", "conll12"): 82.6,
    ("lisa-elmo", "conll12"): 85.1,
}
LR = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16)
DROPOUT = (0.1, 0.2, 0.3, 0.4)
BATCH = (2000, 5000, 8000)
LAYERS = (8, 10, 12)
#: Length class -> (hours of a full run on one GPU, time limit in hours, probability).
LENGTHS = {24: (30, 0.22), 48: (60, 0.2), 120: (144, 0.58)}
#: Draws of search sizes and lengths are kept near these totals, so that every
#: seed needs about the same scaling of the cancelled runs.
SEARCH_JOBS = 3_450
NOMINAL_HOURS_PER_JOB = 84.0
#: F1 lost by shorter training.
LENGTH_F1 = {24: -3.0, 48: -1.5, 120: 0.0}

H = 3600.0
#: Submissions of one user with one name stem, in different search or session
#: units, are at least this far apart (well above any sensible burst gap).
UNIT_SEPARATION_S = 4 * H


def _grid_factorizations() -> dict[int, list[tuple[int, int, int, int, int]]]:
    out: dict[int, list] = {}
    for dims in itertools.product((2, 3, 4, 6), (1, 2, 3, 4), (1, 2, 3), (1, 2, 3), (1, 2, 3)):
        out.setdefault(int(np.prod(dims)), []).append(dims)
    return out


FACTORS = _grid_factorizations()


def _subset(rng, values, n, contiguous=False):
    if contiguous:
        i = int(rng.integers(0, len(values) - n + 1))
        return list(values[i : i + n])
    idx = np.sort(rng.choice(len(values), size=n, replace=False))
    return [values[i] for i in idx]


def _sweep_id(rng) -> str:
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
    return "".join(rng.choice(alphabet, 8))


def plan_searches(rng) -> pd.DataFrame:
    """One row per job of a grid search, with its hyperparameters."""
    sizes, length_of = _search_sizes(rng)
    kinds = np.array(["array"] * N_ARRAY + ["loop"] * N_LOOP + ["sweep"] * N_SWEEP)
    rng.shuffle(kinds)
    rows = []
    for s, (size, kind, length) in enumerate(zip(sizes, kinds, length_of.tolist(), strict=True)):
        rows += _search_rows(rng, s, int(size), str(kind), length)
    df = pd.DataFrame(rows, columns=SEARCH_COLUMNS)
    df["search"] = df["unit"]
    df["n_gpus"] = 1
    return df


def _search_sizes(rng) -> tuple[np.ndarray, np.ndarray]:
    """Jobs and nominal length (h) of each search, drawn until the totals are close."""
    while True:  # every seed gets about the same number of search jobs ...
        sizes = np.concatenate(
            [
                rng.choice(SMALL_SIZES, N_SMALL),
                np.full(N_MEDIAN, 24),
                rng.choice(LARGE_SIZES, N_LARGE, p=LARGE_P),
            ]
        )
        if abs(sizes.sum() - SEARCH_JOBS) <= 40:
            break
    rng.shuffle(sizes)
    lengths = np.array(list(LENGTHS))
    while True:  # ... and of nominal GPU-hours
        length_of = rng.choice(lengths, len(sizes), p=[v[1] for v in LENGTHS.values()])
        if abs((sizes * length_of).sum() / (SEARCH_JOBS * NOMINAL_HOURS_PER_JOB) - 1) <= 0.02:
            break
    return sizes, length_of


def _search_rows(rng, s: int, size: int, kind: str, length: Any) -> list[tuple]:
    """The jobs of search ``s`` (one row each, SEARCH_COLUMNS): its user, task, model and
    grid of hyperparameters, and the job names its kind (array, loop, sweep) gives."""
    rows = []
    user = str(rng.choice(USERS, p=USER_P))
    task = str(rng.choice(TASKS, p=(0.65, 0.35)))
    model = str(rng.choice(MODELS, p=(0.6, 0.25, 0.15)))
    opts = FACTORS[int(size)]
    n_lr, n_drop, n_bs, n_layers, n_seed = opts[int(rng.integers(len(opts)))]
    lrs = _subset(rng, LR, n_lr, contiguous=True)
    drops = _subset(rng, DROPOUT, n_drop) if n_drop > 1 else [float(rng.choice((0.1, 0.2, 0.3)))]
    bss = _subset(rng, BATCH, n_bs) if n_bs > 1 else [5000]
    layers = _subset(rng, LAYERS, n_layers) if n_layers > 1 else [10]
    seeds = list(range(1, n_seed + 1))
    tag = "c05" if task == "conll05" else "c12"
    stem = f"{model}-{tag}-srl"
    sweep = _sweep_id(rng) if kind == "sweep" else ""
    throttle = int(rng.choice((0, 4, 6, 8, 12), p=(0.3, 0.15, 0.2, 0.2, 0.15)))
    if size > 24 and throttle == 0:
        throttle = 16  # big arrays are always throttled
    for i, (lr, d, bs, nl, seed) in enumerate(itertools.product(lrs, drops, bss, layers, seeds)):
        if kind == "loop":
            name = f"{stem}-lr{lr:g}-drop{d:g}"
            name += (f"-bs{bs}" if n_bs > 1 else "") + (f"-l{nl}" if n_layers > 1 else "")
            name += f"-s{seed}" if n_seed > 1 else ""
        elif kind == "array":
            name = f"{model}-{tag}-grid"
        else:
            name = f"wb-agent-{sweep}"
        rows.append(
            (
                s,
                i,
                kind,
                user,
                name,
                stem if kind == "loop" else name.rsplit("-", 1)[0],
                task,
                model,
                length,
                lr,
                d,
                bs,
                nl,
                seed,
                sweep,
                throttle,
            )
        )
    return rows


#: The columns of :func:`plan_searches`' rows.
SEARCH_COLUMNS = [
    "unit",
    "task_index",
    "kind",
    "user",
    "name",
    "design_stem",
    "task",
    "model",
    "length_h",
    "lr",
    "dropout",
    "batch_size",
    "num_layers",
    "seed",
    "sweep_id",
    "throttle",
]


def best_f1(df: pd.DataFrame) -> np.ndarray:
    """The F1 of the best configuration of each job's model and task."""
    return np.array([F1_MAX[(m, t)] for m, t in zip(df["model"], df["task"], strict=True)])


def expected_f1(df: pd.DataFrame) -> pd.Series:
    """F1 a run of this configuration reaches when trained to the end (before seed noise).
    Learning rate and dropout matter; batch size and depth barely."""
    return (
        best_f1(df)
        - 1.3 * np.log2(df["lr"] / 0.04) ** 2
        - 25.0 * (df["dropout"] - 0.2) ** 2
        - 0.15 * np.abs(np.log2(df["batch_size"] / 5000))
        + 0.05 * (df["num_layers"] - 10)
        + df["length_h"].map(LENGTH_F1)
    )


def search_outcomes(rng, df: pd.DataFrame) -> pd.DataFrame:
    """State, exit code and run time of every search job (cancel times before scaling)."""
    n = len(df)
    speed = df["num_layers"].map({8: 0.99, 10: 1.0, 12: 1.01}).to_numpy() * rng.normal(1, 0.006, n)
    speed *= np.where(rng.random(n) < 0.02, 1.3, 1.0)  # a few land on a slow (throttled) node
    full_s = np.round(df["length_h"].to_numpy() * H * speed)
    limit_s = df["length_h"].map({k: v[0] * H for k, v in LENGTHS.items()}).to_numpy()
    f1 = expected_f1(df).to_numpy()
    badness = np.clip((best_f1(df) - f1) / 6.0, 0, 1)
    p_oom = np.where((df["batch_size"] == 8000) & (df["num_layers"] == 12), 0.35, 0.01)
    p_div = df["lr"].map({0.16: 0.4, 0.08: 0.08}).fillna(0.01).to_numpy()
    u = rng.random((6, n))
    crash = u[0] < 0.03
    oom = ~crash & (u[1] < p_oom)
    diverge = ~crash & ~oom & (u[2] < p_div)
    node_fail = ~crash & ~oom & ~diverge & (u[3] < 0.008)
    cancel = ~crash & ~oom & ~diverge & ~node_fail & (u[4] < 0.12 + 0.5 * badness)
    rest = ~(crash | oom | diverge | node_fail | cancel)
    timeout = rest & (full_s > limit_s)
    frac = u[5]
    out = pd.DataFrame(index=df.index)
    out["limit_s"] = limit_s
    out["full_s"] = full_s
    out["state"] = np.select(
        [crash, oom, diverge, node_fail, cancel, timeout],
        ["FAILED", "OUT_OF_MEMORY", "FAILED", "NODE_FAIL", "CANCELLED", "TIMEOUT"],
        "COMPLETED",
    )
    out["exit"] = np.select([crash | diverge, oom], ["1:0", "0:125"], "0:0")
    out["cancel_u"] = np.where(cancel, rng.beta(1.4, 2.2, n), np.nan)
    el = np.select(
        [crash, oom, diverge, node_fail, timeout, rest],
        [
            180 + frac * 120,
            300 + frac * 6900,
            (0.02 + 0.38 * frac) * full_s,
            (0.05 + 0.9 * frac) * full_s,
            limit_s + 1 + np.floor(frac * 60),
            full_s,
        ],
        np.nan,
    )
    out["elapsed_s"] = np.round(el)
    out["is_diverged"] = diverge
    out["f1_final"] = f1 + rng.normal(0, 0.25, n)
    return out


#: Non-search work: kind -> (share of the non-search jobs, name stems, jobs per session).
OTHER = {
    "debug": (0.48, ("debug", "test", "lisa-dbg", "tmp"), (1, 3)),
    "eval": (0.26, ("eval-c05-dev", "eval-c05-test", "eval-c12-dev", "decode-c05-dev"), (1, 3)),
    "final": (
        0.09,
        ("lisa-c05-final", "lisa-c12-final", "sa-c05-final", "lisa-elmo-c05-final"),
        (1, 3),
    ),
    "big": (0.03, ("lisa-c05-big", "lisa-c12-big"), (1, 2)),
    "prep": (0.06, ("elmo-embed", "prep-vocab"), (1, 2)),
    "resubmit": (0.08, (), (1, 3)),
    "long": (0.006, ("lisa-elmo-c05-long", "lisa-c05-long"), (1, 2)),
}


def plan_other(rng, n_total: int, search_jobs: pd.DataFrame, first_unit: int) -> pd.DataFrame:
    """Jobs that belong to no search, in sessions of 1-3 jobs (one unit each)."""
    return _other_outcomes(rng, _other_sessions(rng, n_total, search_jobs, first_unit))


def _other_sessions(rng, n_total: int, search_jobs: pd.DataFrame, first_unit: int) -> pd.DataFrame:
    """The non-search jobs of :func:`plan_other`: kind, user, name and unit of each."""
    counts = {k: int(round(v[0] * n_total)) for k, v in OTHER.items()}
    counts["debug"] += n_total - sum(counts.values())
    loops = search_jobs[(search_jobs["kind"] == "loop")]
    rows = []
    unit = first_unit
    for kind, (_, stems, (lo, hi)) in OTHER.items():
        left = counts[kind]
        while left > 0:
            k = min(left, int(rng.integers(lo, hi + 1)))
            user = str(rng.choice(USERS, p=USER_P))
            search = -1
            if kind == "resubmit":
                pick = loops.iloc[int(rng.integers(len(loops)))]
                search, user, length = int(pick["search"]), pick["user"], pick["length_h"]
                same = loops[loops["search"] == search]
                names = list(
                    same["name"].iloc[rng.choice(len(same), size=min(k, len(same)), replace=False)]
                )
                stem = pick["design_stem"]
                k = len(names)
            else:
                stem = str(rng.choice(stems))
                if kind in ("final", "big"):
                    names = [f"{stem}-s{i + 1}" for i in range(k)] if k > 1 else [stem]
                elif kind == "prep":
                    names = [f"{stem}-c05", f"{stem}-c12"][:k]
                else:
                    names = [stem] * k
                if kind == "big":
                    names = [f"{stem}-{g}gpu" for g in (2, 4)[:k]]
            for j, name in enumerate(names):
                rows.append(
                    (unit, j, kind, user, name, stem, search, length if kind == "resubmit" else 120)
                )
            unit += 1
            left -= k
    return pd.DataFrame(
        rows,
        columns=[
            "unit",
            "task_index",
            "kind",
            "user",
            "name",
            "design_stem",
            "origin_search",
            "length_h",
        ],
    )


def _other_outcomes(rng, df: pd.DataFrame) -> pd.DataFrame:
    """GPUs, state, exit code, limit and run time of the non-search jobs ``df``."""
    n = len(df)
    u = rng.random((4, n))
    kind = df["kind"]
    df["n_gpus"] = np.where(
        kind == "big", df["name"].str.extract(r"(\d)gpu$")[0].fillna("1").astype(int), 1
    )
    short = kind.isin(["debug", "eval"]).to_numpy()
    crash = u[0] < np.select(
        [kind == "debug", kind == "eval", kind == "resubmit"], [0.4, 0.1, 0.15], 0.03
    )
    train = kind.isin(["final", "resubmit"]).to_numpy()
    full_s = np.select(
        [kind == "debug", kind == "eval", train, kind == "big", kind == "prep", kind == "long"],
        [
            600 + u[1] * 3 * H,
            900 + u[1] * 2.25 * H,
            df["length_h"] * H * rng.normal(1, 0.012, n),
            (55 + 40 * u[1]) * H,
            (2 + 8 * u[1]) * H,
            (230 + 40 * u[1]) * H,
        ],
        np.nan,
    )
    p_cancel = np.select([kind == "debug", train], [0.3, 0.08], 0.04)
    cancel = ~crash & (u[2] < p_cancel)
    node_fail = ~crash & ~cancel & train & (u[3] < 0.03)
    debug_long = (kind == "debug").to_numpy() & (u[3] > 0.92)
    full_s = np.where(debug_long, (3 + 21 * u[1]) * H, full_s)
    df["limit_s"] = np.select(
        [short & ~debug_long, debug_long, train, kind == "big", kind == "long"],
        [
            4 * H,
            24 * H,
            df["length_h"].map({k: v[0] * H for k, v in LENGTHS.items()}),
            120 * H,
            216 * H,
        ],
        12 * H,
    )
    df["full_s"] = np.round(full_s)
    timeout = ~crash & ~cancel & ~node_fail & (df["full_s"] > df["limit_s"]).to_numpy()
    df["state"] = np.select(
        [crash, cancel, node_fail, timeout],
        ["FAILED", "CANCELLED", "NODE_FAIL", "TIMEOUT"],
        "COMPLETED",
    )
    codes = np.array(["1:0", "1:0", "1:0", "2:0", "127:0", "139:0"])
    df["exit"] = np.where(crash, codes[rng.integers(0, len(codes), n)], "0:0")
    df["cancel_u"] = np.where(cancel, rng.beta(1.4, 2.2, n), np.nan)
    el = np.select(
        [crash, node_fail, timeout, ~cancel],
        [
            180 + u[1] * 120,
            (0.1 + 0.8 * u[1]) * full_s,
            df["limit_s"] + 1 + np.floor(u[3] * 60),
            full_s,
        ],
        np.nan,
    )
    df["elapsed_s"] = np.round(el)
    df["is_diverged"] = False
    df["search"] = -1
    return df


def calibrate(jobs: pd.DataFrame, target_gpu_hours: float) -> float:
    """Scale the cancelled runs' durations so the project totals target_gpu_hours."""
    cancel = jobs["cancel_u"].notna()
    fixed = (jobs.loc[~cancel, "elapsed_s"] * jobs.loc[~cancel, "n_gpus"]).sum() / H
    u = jobs.loc[cancel, "cancel_u"].to_numpy()
    full = jobs.loc[cancel, "full_s"].to_numpy()
    gpus = jobs.loc[cancel, "n_gpus"].to_numpy()

    def hours(scale):
        el = np.maximum(np.round(np.minimum(u * scale, 0.97) * full), 240)
        return el, fixed + (el * gpus).sum() / H

    lo, hi = 0.05, 2.5
    if not hours(lo)[1] < target_gpu_hours < hours(hi)[1]:
        raise AssertionError("the plan cannot reach the GPU-hour target by scaling cancellations")
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if hours(mid)[1] < target_gpu_hours else (lo, mid)
    jobs.loc[cancel, "elapsed_s"] = hours(lo)[0]
    return lo


def simulate(seed: int = SEED) -> pd.DataFrame:
    """Every job of the project, one row each, with what the files need."""
    from rdcost.samples.lisa_schedule import (
        assign_gpu_types,
        assign_ids,
        assign_nodes,
        place_units,
        relative_times,
    )

    rng = np.random.default_rng(seed)
    search = plan_searches(rng)
    search["origin_search"] = -1
    search = pd.concat([search, search_outcomes(rng, search)], axis=1)
    n_other = N_JOBS - len(search)
    if not 500 <= n_other <= 1500:
        raise AssertionError(f"the search plan leaves {n_other} other jobs")
    other = plan_other(rng, n_other, search, first_unit=int(search["unit"].max()) + 1)
    jobs = pd.concat([search, other], ignore_index=True)
    scale = calibrate(jobs, TARGET_GPU_HOURS)
    jobs = pd.concat([jobs, relative_times(rng, jobs)], axis=1)
    t0 = place_units(rng, jobs)
    base = jobs["unit"].map(t0)
    for col in ("submit", "start", "end"):
        jobs[f"{col}_s"] = base + jobs[f"{col}_rel"]
    jobs["gpu_type"] = assign_gpu_types(rng, jobs)
    jobs = jobs.sort_values(["submit_s", "unit", "task_index"], kind="stable", ignore_index=True)
    jobs = pd.concat([jobs, assign_ids(rng, jobs)], axis=1)
    jobs["node"] = assign_nodes(rng, jobs)
    jobs["partition"] = jobs["gpu_type"] + np.where(jobs["limit_s"] <= 4 * H, "-short", "-long")
    for col in ("submit", "start", "end"):
        jobs[f"{col}_time"] = FIRST_START + pd.to_timedelta(jobs[f"{col}_s"], unit="s")
    jobs.attrs["cancel_scale"] = scale
    return jobs


FILES = ("sacct.txt", "wandb_runs.csv", "jobs.csv")


def generate(out_dir: str | Path, seed: int = SEED) -> list[Path]:
    """Write the sample files into ``out_dir`` (created if needed); return their paths."""
    from rdcost.samples import lisa_files

    jobs = simulate(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = (
        lisa_files.sacct_text(jobs, seed),
        lisa_files.wandb_text(jobs, seed),
        lisa_files.jobs_csv_text(jobs),
    )
    paths = []
    for name, text in zip(FILES, texts, strict=True):
        path = out / name
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rdcost.samples.lisa",
        description="Write the synthetic LISA-like sample logs (sacct.txt, wandb_runs.csv, jobs.csv).",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--out", default="sample_logs/lisa", help="output directory")
    args = parser.parse_args(argv)
    for path in generate(args.out, args.seed):
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
