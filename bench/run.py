"""Ingest, summarize, start-up and replay benchmark with its floors (run on purpose, not a test).

    python bench/run.py [--repeat 3] [--narrow 600000] [--wide 1000000] [--large 5000000]
                        [--small 10000] [--data-dir bench/data] [--out FILE.json]

Files are generated once (kept in --data-dir) by ``bench/generate_sacct.py``:

- narrow: the common 21-field ``--format`` list with ``.batch`` and ``.extern`` steps
  (``generate_sacct.py --shape narrow``), default 600k jobs (about 1.8M lines);
- wide: 27 fields with srun steps, default 1M allocations (3.3M lines, 855 MiB);
- large (optional, ``--large N``): the wide shape at N allocations, for the ingest's
  peak memory (its floors are skipped unless ``--large-floors``: they hold the whole
  file in memory, 13 GiB at 5M);
- small: the narrow shape at 10k jobs, for the first answer (ingest + summarize).

Every measurement is one fresh process (interpreter start-up and imports included,
floors too) that imports the rdcost of this checkout, so its peak RSS (``wait4``) is its own; each is taken ``--repeat`` times,
interleaved with the others of its file, and the fastest run is kept. For each file:

- the floors: ``pyarrow.csv.read_csv`` and ``pandas.read_csv(engine="pyarrow")`` of the
  file with the reader options rdcost's splitter uses (``|``, no quoting, every column
  a string, empty = null), ``pyarrow.parquet.read_table`` of the resulting store;
- ``rdcost ingest FILE`` into a new store, ``rdcost summarize -f json`` of it (with
  ``--dask`` also ``--engine dask``), and the ratios to the faster floor.

Start-up: ``python -c pass``, ``rdcost --help``, ``python -c "import rdcost.cli"``.
Replay (unless ``--no-replay``): the buy-vs-cloud replay of 100k and 1M jobs.
The closing table states each target of issue #17 as met or missed.
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
PY = sys.executable
RDCOST = [PY, "-m", "rdcost"]
#: Children import the rdcost of this checkout (whatever the working directory, which
#: Python puts before PYTHONPATH for ``-m`` and ``-c``), and run in a neutral directory,
#: with bytecode caches as an installed rdcost has them (pip compiles on install; a
#: PYTHONDONTWRITEBYTECODE=1 shell would otherwise compile every module in every run).
CHILD_ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": os.pathsep.join(
        [str(BENCH.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    ),
}
CHILD_CWD = tempfile.gettempdir()

#: The reader options of rdcost's splitter (rdcost/readers/slurm/parsable_lines.py).
READ_CSV = (
    "import sys, pyarrow as pa, pyarrow.csv as c\n"
    "names = open(sys.argv[1]).readline().rstrip('\\n').split('|')\n"
    "c.read_csv(sys.argv[1], read_options=c.ReadOptions(skip_rows=1, column_names=names), "
    "parse_options=c.ParseOptions(delimiter='|', quote_char=False, escape_char=False), "
    "convert_options=c.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), "
    "null_values=[''], strings_can_be_null=True))"
)
READ_PANDAS = (
    "import sys, pandas as pd\n"
    "pd.read_csv(sys.argv[1], sep='|', engine='pyarrow', dtype=str, na_values=[''], "
    "keep_default_na=False)"
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
PER_YEAR = 5_000_000


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process; fails loudly if it fails."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV, cwd=CHILD_CWD
    )
    assert p.stderr is not None
    err = p.stderr.read().decode(errors="replace")  # read before waiting: no pipe dead-lock
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024


def best(cmds: dict[str, list[str]], repeat: int, prepare=None) -> dict[str, tuple[float, float]]:
    """Run each command ``repeat`` times, interleaved; keep the fastest run of each."""
    out: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for key, c in cmds.items():
            if prepare is not None:
                prepare(key)
            r = run(c)
            if key not in out or r[0] < out[key][0]:
                out[key] = r
    return out


def ensure_file(n: int, shape: str, data_dir: Path, per_year: int = PER_YEAR) -> tuple[Path, dict]:
    name = f"sacct-{shape}-{n}" + ("" if per_year == PER_YEAR else f"-{per_year}-per-year")
    path = data_dir / f"{name}.txt"
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        # in a child process: the runner stays small (a child's peak RSS as wait4
        # reports it starts from the RSS of the process it was forked from)
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); from generate_sacct import write; "
            "print(json.dumps(write(int(sys.argv[2]), __import__('pathlib').Path(sys.argv[3]), "
            "per_year=float(sys.argv[4]), progress=True, shape=sys.argv[5])))"
        )
        p = subprocess.run(
            [PY, "-c", code, str(BENCH), str(n), str(path), str(per_year), shape],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        meta.write_text(p.stdout.strip())
    return path, json.loads(meta.read_text())


def bench_file(
    label: str,
    n: int,
    shape: str,
    data_dir: Path,
    repeat: int,
    *,
    floors: bool = True,
    dask: bool = False,
    per_year: int = PER_YEAR,
) -> dict:
    path, info = ensure_file(n, shape, data_dir, per_year)
    work = Path(tempfile.mkdtemp(prefix=f"rdcost-bench-{label}-", dir=data_dir))
    store = work / "store"

    def fresh(key: str) -> None:
        if key == "ingest":  # into an empty store every time
            shutil.rmtree(store, ignore_errors=True)

    out = {
        "case": label,
        "shape": shape,
        "allocations": n,
        "lines": info["lines"],
        "fields": len(open(path).readline().split("|")),
        "file_mib": info["bytes"] / 2**20,
    }
    try:
        cmds = {"ingest": [*RDCOST, "ingest", "--store", str(store), str(path)]}
        if floors:
            cmds = {
                "read_csv": [PY, "-c", READ_CSV, str(path)],
                "read_pandas": [PY, "-c", READ_PANDAS, str(path)],
                **cmds,
            }
        res = best(cmds, repeat, fresh)
        cmds = {
            "read_table": [PY, "-c", READ_PARQUET, str(store / "jobs")],
            "summarize": [*RDCOST, "summarize", "--store", str(store), "-f", "json"],
        }
        if dask:
            cmds["summarize_dask"] = [*cmds["summarize"], "--engine", "dask"]
        res.update(best(cmds, repeat))
        out["store_mib"] = sum(f.stat().st_size for f in store.rglob("*.parquet")) / 2**20
        out["partitions"] = len(list((store / "jobs").rglob("*.parquet")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for key, (wall, rss) in res.items():
        out[f"{key}_s"], out[f"{key}_rss_mib"] = wall, rss
    out["records_per_s"] = info["lines"] / out["ingest_s"]
    if floors:
        out["floor_s"] = min(out["read_csv_s"], out["read_pandas_s"])
        out["ingest_ratio"] = out["ingest_s"] / out["floor_s"]
    out["summarize_ratio"] = out["summarize_s"] / out["read_table_s"]
    print(
        f"{label}: ingest {out['ingest_s']:.2f} s"
        + (f" ({out['ingest_ratio']:.2f}x the floor {out['floor_s']:.2f} s)" if floors else "")
        + f", peak {out['ingest_rss_mib']:,.0f} MiB; summarize {out['summarize_s']:.2f} s "
        f"({out['summarize_ratio']:.2f}x read_table {out['read_table_s']:.2f} s)",
        file=sys.stderr,
        flush=True,
    )
    return out


def bench_small(n: int, data_dir: Path, repeat: int) -> dict:
    """The first answer: ``rdcost ingest`` then ``rdcost summarize`` of a small file."""
    path, info = ensure_file(n, "narrow", data_dir)
    work = Path(tempfile.mkdtemp(prefix="rdcost-bench-small-", dir=data_dir))
    store = work / "store"
    best_total = None
    try:
        for _ in range(repeat):
            shutil.rmtree(store, ignore_errors=True)
            ing, _ = run([*RDCOST, "ingest", "--store", str(store), str(path)])
            summ, _ = run([*RDCOST, "summarize", "--store", str(store), "-f", "json"])
            if best_total is None or ing + summ < best_total[0]:
                best_total = (ing + summ, ing, summ)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert best_total is not None
    total, ing, summ = best_total
    print(f"small ({n:,} jobs): ingest {ing:.2f} s + summarize {summ:.2f} s", file=sys.stderr)
    return {
        "jobs": n,
        "lines": info["lines"],
        "ingest_s": ing,
        "summarize_s": summ,
        "total_s": total,
    }


def bench_startup(repeat: int) -> dict:
    res = best(
        {
            "python": [PY, "-c", "pass"],
            "help": [*RDCOST, "--help"],
            "import_cli": [PY, "-c", "import rdcost.cli"],
            "import_pyarrow": [PY, "-c", "import pyarrow.csv, pyarrow.parquet"],
            "import_pandas": [PY, "-c", "import pandas"],
        },
        max(repeat, 5),
    )
    return {f"{k}_s": v[0] for k, v in res.items()}


def bench_replay(repeat: int) -> dict:
    out = {}
    for n in (100_000, 1_000_000):
        runs = []
        for _ in range(repeat):
            p = subprocess.run(
                [PY, "-c", REPLAY, str(n), str(BENCH)],
                capture_output=True,
                text=True,
                check=True,
                env=CHILD_ENV,
                cwd=CHILD_CWD,
            )
            runs.append(float(p.stdout.strip()))
        out[n] = min(runs)
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
    versions = {}
    for mod in ("pyarrow", "pandas", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "versions": versions,
        "load_avg": os.getloadavg(),
    }


ROWS = [  # (label, key, format)
    ("fields / sacct lines", None, None),
    ("file size (MiB)", "file_mib", "{:,.0f}"),
    ("pyarrow.csv.read_csv (s)", "read_csv_s", "{:.2f}"),
    ("pandas.read_csv(engine='pyarrow') (s)", "read_pandas_s", "{:.2f}"),
    ("rdcost ingest (s)", "ingest_s", "{:.2f}"),
    ("ingest / faster floor", "ingest_ratio", "{:.2f}x"),
    ("ingest: sacct records/s", "records_per_s", "{:,.0f}"),
    ("ingest peak RSS (MiB)", "ingest_rss_mib", "{:,.0f}"),
    ("read_csv / pandas peak RSS (MiB)", None, None),
    ("store (MiB, files)", None, None),
    ("pyarrow.parquet.read_table (s)", "read_table_s", "{:.2f}"),
    ("rdcost summarize (s)", "summarize_s", "{:.2f}"),
    ("summarize / read_table", "summarize_ratio", "{:.2f}x"),
    ("summarize --engine dask (s)", "summarize_dask_s", "{:.2f}"),
    ("summarize peak RSS (MiB)", "summarize_rss_mib", "{:,.0f}"),
]


def _cell(r: dict, label: str, key: str | None, fmt: str | None) -> str:
    if label.startswith("fields"):
        return f"{r['fields']} / {r['lines']:,}"
    if label.startswith("read_csv / pandas peak"):
        if "read_csv_rss_mib" not in r:
            return "-"
        return f"{r['read_csv_rss_mib']:,.0f} / {r['read_pandas_rss_mib']:,.0f}"
    if label.startswith("store"):
        return f"{r['store_mib']:,.0f} ({r['partitions']})"
    assert key is not None and fmt is not None
    return fmt.format(r[key]) if key in r else "-"


def table(results: list[dict]) -> str:
    head = ["", *[f"{r['case']} ({r['allocations']:,} jobs)" for r in results]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, key, fmt in ROWS:
        if key is not None and not any(key in r for r in results):
            continue
        lines.append(
            "| " + " | ".join([label, *[_cell(r, label, key, fmt) for r in results]]) + " |"
        )
    return "\n".join(lines)


def targets(results: dict[str, dict], small: dict | None, startup: dict) -> str:
    """Issue #17's targets, each met or missed."""
    rows = []

    def add(target: str, measured: str, ok: bool | None) -> None:
        rows.append(
            f"| {target} | {measured} | {'-' if ok is None else 'met' if ok else 'missed'} |"
        )

    w, nar, big = results.get("wide"), results.get("narrow"), results.get("large")
    if w and "ingest_ratio" in w:
        add(
            "ingest within 3x of the faster floor, wide file",
            f"{w['ingest_ratio']:.2f}x",
            w["ingest_ratio"] <= 3,
        )
    if nar and "ingest_ratio" in nar:
        add(
            "ingest within 4x of the faster floor, narrow file",
            f"{nar['ingest_ratio']:.2f}x",
            nar["ingest_ratio"] <= 4,
        )
    d = startup["help_s"] - startup["python_s"]
    add(
        "`rdcost --help` within 0.35 s of `python -c pass`",
        f"+{d:.2f} s ({startup['help_s']:.2f} s vs {startup['python_s']:.2f} s)",
        d <= 0.35,
    )
    if small:
        add(
            f"ingest + summarize of {small['jobs']:,} jobs under 1 s",
            f"{small['total_s']:.2f} s ({small['ingest_s']:.2f} + {small['summarize_s']:.2f})",
            small["total_s"] < 1,
        )
    if w:
        add(
            "summarize within 2x of read_table, 1M jobs",
            f"{w['summarize_ratio']:.2f}x",
            w["summarize_ratio"] <= 2,
        )
    if big:
        add(
            f"ingest peak RSS under 2 GiB at {big['allocations']:,} allocations",
            f"{big['ingest_rss_mib']:,.0f} MiB",
            big["ingest_rss_mib"] < 2048,
        )
    return "\n".join(["| target | measured | |", "|---|---|---|", *rows])


def _compile_rdcost() -> None:
    """Write the bytecode of this checkout's rdcost once, before anything is timed."""
    subprocess.run(
        [PY, "-m", "compileall", "-q", str(BENCH.parent / "rdcost")], env=CHILD_ENV, check=True
    )


def main() -> None:
    _compile_rdcost()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--narrow", type=int, default=600_000, help="jobs of the narrow file (0: none)")
    ap.add_argument(
        "--wide", type=int, default=1_000_000, help="allocations of the wide file (0: none)"
    )
    ap.add_argument(
        "--large", type=int, default=0, help="allocations of a large wide file, for memory"
    )
    ap.add_argument("--large-floors", action="store_true", help="also time the floors of --large")
    ap.add_argument(
        "--small", type=int, default=10_000, help="jobs of the first-answer file (0: none)"
    )
    ap.add_argument("--data-dir", type=Path, default=BENCH / "data")
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the fastest is kept"
    )
    ap.add_argument("--no-replay", action="store_true")
    ap.add_argument("--dask", action="store_true", help="also time summarize --engine dask")
    ap.add_argument("--per-year", type=int, default=PER_YEAR, help="allocations submitted per year")
    ap.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    args.data_dir = args.data_dir.resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    startup = bench_startup(args.repeat)
    small = bench_small(args.small, args.data_dir, args.repeat) if args.small else None
    results: dict[str, dict] = {}
    for label, n, shape, floors in (
        ("narrow", args.narrow, "narrow", True),
        ("wide", args.wide, "wide", True),
        ("large", args.large, "wide", args.large_floors),
    ):
        if n:
            results[label] = bench_file(
                label, n, shape, args.data_dir, args.repeat,
                floors=floors, dask=args.dask, per_year=args.per_year,
            )  # fmt: skip
    replay = None if args.no_replay else bench_replay(args.repeat)
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + f"; load average at start {info['load_avg'][0]:.1f}, at end {os.getloadavg()[0]:.1f}"
    )
    print(f"command: python bench/run.py {' '.join(sys.argv[1:])}")
    print(
        f"start-up: `python -c pass` {startup['python_s']:.2f} s, `rdcost --help` "
        f"{startup['help_s']:.2f} s, `import rdcost.cli` {startup['import_cli_s']:.2f} s, "
        f"`import pyarrow.csv, pyarrow.parquet` {startup['import_pyarrow_s']:.2f} s, "
        f"`import pandas` {startup['import_pandas_s']:.2f} s"
    )
    print()
    print(targets(results, small, startup))
    print()
    print(table(list(results.values())))
    if replay:
        print()
        print("| replay (FCFS + EASY backfill, 256 GPUs) | 100k jobs | 1M jobs | ratio 1M / 100k |")
        print("|---|---|---|---|")
        print(
            f"| wall time (s) | {replay['replay_100k_s']:.2f} | {replay['replay_1M_s']:.2f} | "
            f"{replay['replay_ratio']:.1f} (n log n: about 12; n^2: 100) |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "machine": info,
                    "startup": startup,
                    "small": small,
                    "files": results,
                    "replay": replay,
                    "argv": sys.argv[1:],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
