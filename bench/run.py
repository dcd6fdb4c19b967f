"""Ingest, summarize and replay benchmark with its floors (run on purpose, not a test).

    python bench/run.py [--sizes 100k,1M,5M] [--data-dir bench/data] [--repeat 1] [--out FILE.json]

For each size it generates (once, kept in --data-dir) a synthetic
``sacct --parsable2`` file with ``bench/generate_sacct.py`` and measures, each
in a fresh process so that peak memory (RSS, from ``wait4``) is that of the
one measurement:

- ``rdcost ingest FILE`` into a new store: wall time, sacct records and
  allocations per second, peak RSS;
- the floor: ``pyarrow.csv.read_csv`` of the same file (all columns, the
  default multi-threaded reader), and the ratio ingest / floor;
- ``rdcost summarize -f json`` on the resulting store (default engine; with
  ``--dask`` also ``--engine dask`` on dask's local threads);
- the floor: ``pyarrow.parquet.read_table`` of every file of the store (all
  columns), and the ratio summarize / floor;

and, once, the buy-vs-cloud replay of 100k and 1M synthetic jobs (the trace of
``bench/bench_replay.py``) and the ratio of the two times. Every command
times a whole process (interpreter start and imports included), floors too.
With ``--repeat N`` each measurement is taken N times, interleaved, and the
fastest is kept (the machine is shared; see docs/performance.md). The table
ends with how each figure grows from the smallest to the largest size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SIZES = {"100k": 100_000, "1M": 1_000_000, "2M": 2_000_000, "5M": 5_000_000}
PER_YEAR = 5_000_000


def run(cmd: list[str], quiet: bool = True) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process; fails loudly if it fails."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024


def best(cmds: list[list[str]], repeat: int, prepare=None) -> list[tuple[float, float]]:
    """Run each command ``repeat`` times, interleaved; keep the fastest run of each."""
    out: list[tuple[float, float] | None] = [None] * len(cmds)
    for _ in range(repeat):
        for i, c in enumerate(cmds):
            if prepare is not None:
                prepare(i)
            r = run(c)
            if out[i] is None or r[0] < out[i][0]:
                out[i] = r
    return out  # type: ignore[return-value]


def ensure_file(n: int, data_dir: Path, per_year: int = PER_YEAR) -> tuple[Path, dict]:
    path = data_dir / (
        f"sacct-{n}.txt" if per_year == PER_YEAR else f"sacct-{n}-{per_year}-per-year.txt"
    )
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        # in a child process: the runner must stay small, because a child's peak RSS as
        # wait4 reports it starts from the RSS of the process it was forked from
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); from generate_sacct import write; "
            "print(json.dumps(write(int(sys.argv[2]), __import__('pathlib').Path(sys.argv[3]), "
            "per_year=float(sys.argv[4]), progress=True)))"
        )
        p = subprocess.run(
            [PY, "-c", code, str(BENCH), str(n), str(path), str(per_year)],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        meta.write_text(p.stdout.strip())
    return path, json.loads(meta.read_text())


PY = sys.executable
RDCOST = [PY, "-m", "rdcost"]
READ_CSV = (
    "import sys, pyarrow.csv as c; "
    "c.read_csv(sys.argv[1], parse_options=c.ParseOptions(delimiter='|', quote_char=False))"
)
READ_PARQUET = (
    "import sys, pathlib, pyarrow.parquet as pq; "
    "pq.read_table(sorted(str(p) for p in pathlib.Path(sys.argv[1]).rglob('*.parquet')), "
    "partitioning=None)"
)
REPLAY = (
    "import sys, time; sys.path.insert(0, sys.argv[2]); "
    "from bench_replay import synthetic_trace; from rdcost.analysis.replay import replay; "
    "n = int(sys.argv[1]); s, g, d = synthetic_trace(n, 256, 0.95, 0); "
    "t = time.perf_counter(); replay(s, g, d, 256); print(time.perf_counter() - t)"
)


def bench_size(
    label: str, n: int, data_dir: Path, repeat: int, dask: bool, per_year: int = PER_YEAR
) -> dict:
    path, info = ensure_file(n, data_dir, per_year)
    work = Path(tempfile.mkdtemp(prefix=f"rdcost-bench-{label}-", dir=data_dir))
    store = work / "store"

    def fresh(i: int) -> None:
        if i == 1:  # the ingest: into an empty store every time
            shutil.rmtree(store, ignore_errors=True)

    try:
        (csv_s, csv_mb), (ing_s, ing_mb) = best(
            [
                [PY, "-c", READ_CSV, str(path)],
                [*RDCOST, "ingest", "--store", str(store), str(path)],
            ],
            repeat,
            fresh,
        )
        cmds = [
            [PY, "-c", READ_PARQUET, str(store / "jobs")],
            [*RDCOST, "summarize", "--store", str(store), "-f", "json"],
        ]
        if dask:
            cmds.append(
                [*RDCOST, "summarize", "--store", str(store), "-f", "json", "--engine", "dask"]
            )
        res = best(cmds, repeat)
        store_mb = sum(f.stat().st_size for f in store.rglob("*.parquet")) / 2**20
        n_parts = len(list((store / "jobs").rglob("*.parquet")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {
        "size": label,
        "allocations": n,
        "lines": info["lines"],
        "file_mib": info["bytes"] / 2**20,
        "read_csv_s": csv_s,
        "read_csv_rss_mib": csv_mb,
        "ingest_s": ing_s,
        "ingest_rss_mib": ing_mb,
        "records_per_s": info["lines"] / ing_s,
        "jobs_per_s": n / ing_s,
        "ingest_ratio": ing_s / csv_s,
        "store_mib": store_mb,
        "partitions": n_parts,
        "read_table_s": res[0][0],
        "read_table_rss_mib": res[0][1],
        "summarize_s": res[1][0],
        "summarize_rss_mib": res[1][1],
        "summarize_ratio": res[1][0] / res[0][0],
    }
    if dask:
        out.update({"summarize_dask_s": res[2][0], "summarize_dask_rss_mib": res[2][1]})
    print(
        f"{label}: ingest {ing_s:.1f} s ({ing_s / csv_s:.2f}x read_csv {csv_s:.1f} s), peak {ing_mb:,.0f} MiB; "
        f"summarize {res[1][0]:.1f} s ({res[1][0] / res[0][0]:.2f}x read_table {res[0][0]:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
    return out


def bench_startup(repeat: int) -> dict:
    """Fixed costs in every figure above: starting Python with rdcost's CLI, and with pyarrow."""
    (cli_s, _), (pa_s, _) = best(
        [[*RDCOST, "--help"], [PY, "-c", "import pyarrow.csv, pyarrow.parquet"]], repeat
    )
    return {"startup_rdcost_s": cli_s, "startup_pyarrow_s": pa_s}


def bench_replay(repeat: int) -> dict:
    out = {}
    for n in (100_000, 1_000_000):
        runs = []
        for _ in range(repeat):
            p = subprocess.run(
                [PY, "-c", REPLAY, str(n), str(BENCH)], capture_output=True, text=True, check=True
            )
            runs.append(float(p.stdout.strip()))
        out[n] = min(runs)
        print(f"replay {n:,} jobs: {out[n]:.1f} s", file=sys.stderr, flush=True)
    return {
        "replay_100k_s": out[100_000],
        "replay_1M_s": out[1_000_000],
        "replay_ratio": out[1_000_000] / out[100_000],
    }


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "free_h": free,
        "python": platform.python_version(),
        "load_avg": os.getloadavg(),
    }


ROWS = [  # (label, key, format)
    ("sacct lines", "lines", "{:,.0f}"),
    ("file size (MiB)", "file_mib", "{:,.0f}"),
    ("pyarrow.csv.read_csv (s)", "read_csv_s", "{:.2f}"),
    ("rdcost ingest (s)", "ingest_s", "{:.2f}"),
    ("ingest / read_csv", "ingest_ratio", "{:.2f}x"),
    ("ingest: sacct records/s", "records_per_s", "{:,.0f}"),
    ("ingest: jobs/s", "jobs_per_s", "{:,.0f}"),
    ("ingest peak RSS (MiB)", "ingest_rss_mib", "{:,.0f}"),
    ("read_csv peak RSS (MiB)", "read_csv_rss_mib", "{:,.0f}"),
    ("store (MiB, partitions)", "store", None),
    ("pyarrow.parquet.read_table (s)", "read_table_s", "{:.2f}"),
    ("rdcost summarize (s)", "summarize_s", "{:.2f}"),
    ("summarize / read_table", "summarize_ratio", "{:.2f}x"),
    ("summarize --engine dask (s)", "summarize_dask_s", "{:.2f}"),
    ("summarize peak RSS (MiB)", "summarize_rss_mib", "{:,.0f}"),
    ("read_table peak RSS (MiB)", "read_table_rss_mib", "{:,.0f}"),
]
GROWTH = {
    "read_csv_s",
    "ingest_s",
    "ingest_rss_mib",
    "read_table_s",
    "summarize_s",
    "summarize_dask_s",
    "summarize_rss_mib",
    "lines",
}


def table(results: list[dict], replay: dict | None) -> str:
    labels = [r["size"] for r in results]
    growth = len(results) > 1
    head = ["", *[f"{x} allocations" for x in labels]]
    if growth:
        head.append(f"growth {labels[0]} -> {labels[-1]}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, key, fmt in ROWS:
        if key == "store":
            cells = [f"{r['store_mib']:,.0f} ({r['partitions']})" for r in results]
        elif key not in results[0]:
            continue
        else:
            cells = [fmt.format(r[key]) for r in results]
        row = [label, *cells]
        if growth:
            row.append(f"{results[-1][key] / results[0][key]:.1f}x" if key in GROWTH else "")
        lines.append("| " + " | ".join(row) + " |")
    if replay:
        lines += [
            "",
            "| replay (FCFS + EASY backfill, 256 GPUs) | 100k jobs | 1M jobs | ratio 1M / 100k |",
            "|---|---|---|---|",
            f"| wall time (s) | {replay['replay_100k_s']:.2f} | {replay['replay_1M_s']:.2f} | "
            f"{replay['replay_ratio']:.1f} (n log n: about 12; n^2: 100) |",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes", default="100k,1M,5M", help=f"comma list of {', '.join(SIZES)} or numbers"
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=BENCH / "data",
        help="where the synthetic files are kept (several GB for 5M)",
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs per measurement; the fastest is kept"
    )
    ap.add_argument("--no-replay", action="store_true")
    ap.add_argument("--dask", action="store_true", help="also time summarize --engine dask")
    ap.add_argument(
        "--per-year",
        type=int,
        default=PER_YEAR,
        help="allocations submitted per year in the synthetic files (denser: bigger partitions)",
    )
    ap.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    sizes = [(s, SIZES.get(s) or int(s.replace("_", ""))) for s in args.sizes.split(",")]
    info = machine()
    results = [
        bench_size(label, n, args.data_dir, args.repeat, args.dask, args.per_year)
        for label, n in sizes
    ]
    replay = None if args.no_replay else bench_replay(args.repeat)
    startup = bench_startup(args.repeat)
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
        f"load average at start {info['load_avg'][0]:.1f}, at end {os.getloadavg()[0]:.1f}"
    )
    print(info["free_h"])
    print(f"command: python bench/run.py {' '.join(sys.argv[1:])}")
    print(
        f"start-up included in every time: `rdcost --help` {startup['startup_rdcost_s']:.2f} s, "
        f"`import pyarrow.csv, pyarrow.parquet` {startup['startup_pyarrow_s']:.2f} s"
    )
    print()
    print(table(results, replay))
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "machine": info,
                    "sizes": results,
                    "replay": replay,
                    "startup": startup,
                    "argv": sys.argv[1:],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
