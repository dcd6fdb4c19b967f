"""rdcost against a real Slurm 22.05 cluster (scripts/slurm-testbed.sh).

One run of a realistic job mix (slurm_mix.py: a throttled grid-search array, typed
and untyped GPU jobs, a failing job, a timeout, a cancelled job, a job with several
srun steps, a job pending and an array still running at export time) is exported as
``--parsable2``, ``--parsable``, fixed width (wide columns, and Slurm's default
widths) and ``--json``. Each export is read with ``rdcost.read_log`` (format
auto-detected) and the tables are compared job by job: with each other, with what
was submitted, and with Slurm's own usage accounting (``sreport``).

Skipped when no testbed answers, unless RDCOST_REQUIRE_SLURM=1 (set by .ci/run
after the testbed started), where it fails instead. RDCOST_SLURM_EXPORT_DIR keeps
the exports for inspection. Wall time: about 100 s, most of it the TIMEOUT job
(1-minute limit; Slurm checks limits every 30 s).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

from rdcost.readers.ingest import read_log_report, resolve_format

from . import slurm_mix
from .slurm_mix import MixRun

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.timeout(600)]

#: Export kind -> the rdcost format that must claim it.
FORMAT_OF = {
    "parsable2": "sacct-parsable",
    "parsable": "sacct-parsable",
    "fixed": "sacct-fixed",
    "fixed-default": "sacct-fixed",
    "json": "sacct-json",
}
#: The full-fidelity exports, compared with the reference (parsable2) column by column.
FULL = ["parsable2", "parsable", "fixed", "json"]
#: JSON plugins whose exit_code object reports every normal exit as SUCCESS/0.
OLD_JSON_EXIT = ("dbv0.0.37", "dbv0.0.38", "v0.0.39")


@pytest.fixture(scope="module")
def mix(tmp_path_factory: pytest.TempPathFactory) -> MixRun:
    reason = slurm_mix.unusable_reason()
    if reason:
        if os.environ.get("RDCOST_REQUIRE_SLURM") == "1":
            pytest.fail(f"RDCOST_REQUIRE_SLURM=1 but the Slurm testbed is not usable: {reason}")
        pytest.skip(
            f"no Slurm testbed ({reason}); start one with `sudo scripts/slurm-testbed.sh start`"
        )
    outdir = os.environ.get("RDCOST_SLURM_EXPORT_DIR")
    out = Path(outdir) if outdir else tmp_path_factory.mktemp("slurm-exports")
    return slurm_mix.run_mix(out)


@pytest.fixture(scope="module")
def tables(mix: MixRun) -> dict[str, pd.DataFrame]:
    """Export kind -> rdcost job table, read with format auto-detection."""
    out = {}
    for kind, path in mix.exports.items():
        df, report = read_log_report(path)
        if kind != "fixed-default":
            assert report.n_rejected == 0, (
                f"{path.name}: rejected {report.n_rejected} records: "
                f"{[(r.line, r.reason, r.value) for r in report.examples]}"
            )
        out[kind] = df
    return out


def rows_by_key(df: pd.DataFrame, kind: str) -> dict[str, dict]:
    """Allocation key (MixRun.key of job_id) -> row, checking keys are unique."""
    keys = [MixRun.key(j) for j in df["job_id"]]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    assert not dup, f"{kind}: several rows for {dup}"
    return dict(zip(keys, df.to_dict("records"), strict=True))


def isnull(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def same(a, b) -> bool:
    if isnull(a) or isnull(b):
        return isnull(a) and isnull(b)
    return a == b


def show(v) -> str:
    return "null" if isnull(v) else repr(v)


def lines_of(path: Path, job_id: str) -> str:
    """The export lines of one job, for failure messages."""
    if path.suffix == ".json":
        return f"(see {path})"
    text = path.read_text().splitlines()
    head = text[:1]
    hits = [ln for ln in text if ln.lstrip().startswith((job_id + "|", job_id + " "))]
    return "\n".join(head + hits)


def started(row: dict) -> bool:
    return not isnull(row.get("start_time"))


# ----------------------------------------------------------------------------- formats


def test_each_export_is_detected_as_its_format(mix: MixRun):
    for kind, path in mix.exports.items():
        assert resolve_format(path, None) == FORMAT_OF[kind], path.name


def test_all_exports_hold_the_submitted_jobs(mix: MixRun, tables):
    expected = set(mix.expected())
    for kind in ["parsable2", "parsable", "fixed"]:
        got = set(rows_by_key(tables[kind], kind))
        assert got == expected, (
            f"{kind}: missing {sorted(expected - got)}, unexpected {sorted(got - expected)}"
        )
    # Known Slurm quirk: --json sometimes leaves out the pending array remainder.
    remainder = f"{mix.jobs['sweep'].job_id}_[...]"
    got = set(rows_by_key(tables["json"], "json"))
    assert got - expected == set(), f"json: unexpected {sorted(got - expected)}"
    assert expected - got <= {remainder}, f"json: missing {sorted(expected - got)}"


def test_display_job_ids_agree(tables):
    """The same allocation has the same display JobID in every export, including the
    array remainder's bracket expression (`123_[1-3%1]`)."""
    ref = rows_by_key(tables["parsable2"], "parsable2")
    bad = []
    for kind in FULL[1:]:
        for key, row in rows_by_key(tables[kind], kind).items():
            if key in ref and row["job_id"] != ref[key]["job_id"]:
                bad.append(f"{kind}: {row['job_id']!r}, parsable2: {ref[key]['job_id']!r}")
    assert not bad, "\n".join(bad)


def test_states_are_what_slurm_did(mix: MixRun, tables):
    bad = []
    for kind in [*FULL, "fixed-default"]:
        for key, row in rows_by_key(tables[kind], kind).items():
            if key not in mix.expected():
                continue  # reported by the job-set tests
            want = mix.expected_state(key)
            if row["state"] != want:
                bad.append(
                    f"{kind}: {row['job_id']} state {show(row['state'])} "
                    f"(raw {show(row['state_raw'])}), Slurm: {want}"
                )
    assert not bad, "\n".join(bad)


# Columns that must be identical in every full export; elapsed and exit codes have
# their own tests below.
SAME_COLUMNS = [
    "job_id_raw",
    "job_name",
    "account",
    "partition",
    "user",
    "cluster",
    "array_job_id",
    "array_task_id",
    "submit_time",
    "start_time",
    "end_time",
    "n_nodes",
    "n_cpus",
    "n_gpus",
    "gpu_type",
    "timelimit_s",
    "node_list",
]


@pytest.mark.parametrize("kind", FULL[1:])
def test_export_agrees_with_parsable2(mix: MixRun, tables, kind: str):
    ref = rows_by_key(tables["parsable2"], "parsable2")
    got = rows_by_key(tables[kind], kind)
    bad = []
    for key, row in got.items():
        if key not in ref:
            continue
        for col in SAME_COLUMNS:
            if not same(row[col], ref[key][col]):
                bad.append(
                    f"{row['job_id']}: {col} = {show(row[col])} in {kind}, "
                    f"{show(ref[key][col])} in parsable2\n"
                    f"{lines_of(mix.exports[kind], ref[key]['job_id'])}"
                )
    assert not bad, f"{len(bad)} differences:\n" + "\n".join(bad)


def test_elapsed_agrees_and_matches_start_end(mix: MixRun, tables):
    """Finished jobs: the same elapsed seconds everywhere, equal to end - start.
    Running jobs: elapsed grows between exports, by at most the time they took."""
    ref = rows_by_key(tables["parsable2"], "parsable2")
    slack = mix.export_span_s + 1.0
    bad = []
    for r in ref.values():
        if r["state"] in slurm_mix.TERMINAL and started(r):
            span = (r["end_time"] - r["start_time"]).total_seconds()
            if r["elapsed_s"] != span:
                bad.append(f"{r['job_id']}: elapsed {r['elapsed_s']} != end - start {span}")
        if r["state"] == "PENDING" and not (isnull(r["elapsed_s"]) or r["elapsed_s"] == 0):
            bad.append(f"{r['job_id']}: pending job with elapsed {r['elapsed_s']}")
    for kind in FULL[1:]:
        for key, row in rows_by_key(tables[kind], kind).items():
            if key not in ref:
                continue
            a, b = row["elapsed_s"], ref[key]["elapsed_s"]
            if ref[key]["state"] == "RUNNING" and not isnull(a) and not isnull(b):
                ok = abs(a - b) <= slack
            else:
                ok = same(a, b)
            if not ok:
                bad.append(f"{row['job_id']}: elapsed {show(a)} in {kind}, {show(b)} in parsable2")
    timeout = ref[mix.jobs["timeout"].job_id]
    # 1-minute limit, enforced by a check every ~30 s (OverTimeLimit=0)
    if not 60 <= timeout["elapsed_s"] <= 100:
        bad.append(f"TIMEOUT job ran {timeout['elapsed_s']} s for a 60 s limit")
    assert not bad, "\n".join(bad)


def test_gpu_counts_and_types_are_what_was_allocated(mix: MixRun, tables):
    bad = []
    for kind in FULL:
        for key, row in rows_by_key(tables[kind], kind).items():
            job = mix.expected().get(key)
            if job is None or not started(row):
                continue
            if job.gpus == 0:
                if not same(row["n_gpus"], 0.0):
                    bad.append(
                        f"{kind}: {row['job_id']} ({job.label}) n_gpus "
                        f"{show(row['n_gpus'])}, no GPU was allocated"
                    )
                continue
            if not same(row["n_gpus"], float(job.gpus)):
                bad.append(
                    f"{kind}: {row['job_id']} ({job.label}) n_gpus "
                    f"{show(row['n_gpus'])}, allocated {job.gpus}"
                )
            types = {job.gpu_type} if job.gpu_type else {"titanx", "m40"}
            if row["gpu_type"] not in types:
                bad.append(
                    f"{kind}: {row['job_id']} ({job.label}) gpu_type "
                    f"{show(row['gpu_type'])}, expected one of {sorted(types)}"
                )
    assert not bad, "\n".join(bad)


def test_cpu_counts_are_what_was_allocated(mix: MixRun, tables):
    bad = []
    for kind in FULL:
        for key, row in rows_by_key(tables[kind], kind).items():
            job = mix.expected().get(key)
            if job is not None and started(row) and not same(row["n_cpus"], job.n_cpus):
                bad.append(
                    f"{kind}: {row['job_id']} n_cpus {show(row['n_cpus'])}, allocated {job.n_cpus}"
                )
    assert not bad, "\n".join(bad)


def test_exit_codes(mix: MixRun, tables):
    """Text exports carry ExitCode; old JSON plugins (22.05: dbv0.0.38) report a
    non-zero exit as SUCCESS/0, which rdcost must turn into null, never 0."""
    ref = rows_by_key(tables["parsable2"], "parsable2")
    failed = ref[mix.jobs["failed"].job_id]
    bad = []
    if (failed["exit_code"], failed["exit_signal"]) != (3, 0):
        bad.append(
            f"parsable2: failed job exit {show(failed['exit_code'])}:"
            f"{show(failed['exit_signal'])}, the script exited 3"
        )
    for kind in FULL[1:]:
        for key, row in rows_by_key(tables[kind], kind).items():
            r = ref.get(key)
            if r is None or r["state"] not in slurm_mix.TERMINAL:
                continue  # no exit status before a job ends
            for col in ("exit_code", "exit_signal"):
                a, b = row[col], r[col]
                old_json = kind == "json" and str(row["source_format"]).endswith(OLD_JSON_EXIT)
                if old_json and col == "exit_code" and not isnull(b) and b != 0:
                    ok = isnull(a) or a == b
                else:
                    ok = same(a, b)
                if not ok:
                    bad.append(f"{kind}: {row['job_id']} {col} {show(a)}, parsable2 {show(b)}")
    assert not bad, "\n".join(bad)


def test_default_widths_keep_what_fits(mix: MixRun, tables):
    """Slurm's default column widths cut JobName, State (CANCELLED+), AllocTRES
    (billing=1+) and long JobIDs (123_[1-+). What survives must be right: every
    allocation is there by JobIDRaw, with its state, elapsed time and CPUs; a GPU
    count cut away must be unknown (null), never a wrong number."""
    ref = {r["job_id_raw"]: r for r in tables["parsable2"].to_dict("records")}
    got = tables["fixed-default"]
    assert got["job_id_raw"].notna().all()
    rows = {r["job_id_raw"]: r for r in got.to_dict("records")}
    assert set(rows) == set(ref), (
        f"missing {sorted(set(ref) - set(rows))}, unexpected {sorted(set(rows) - set(ref))}"
    )
    slack = mix.export_span_s + 1.0
    bad = []
    for raw, row in rows.items():
        r = ref[raw]
        if row["state"] != r["state"]:
            bad.append(f"{raw}: state {show(row['state'])}, parsable2 {r['state']}")
        if not same(row["n_cpus"], r["n_cpus"]):
            bad.append(f"{raw}: n_cpus {show(row['n_cpus'])}, parsable2 {show(r['n_cpus'])}")
        a, b = row["elapsed_s"], r["elapsed_s"]
        if not (same(a, b) or (r["state"] == "RUNNING" and abs(a - b) <= slack)):
            bad.append(f"{raw}: elapsed {show(a)}, parsable2 {show(b)}")
        if not (isnull(row["n_gpus"]) or same(row["n_gpus"], r["n_gpus"])):
            bad.append(
                f"{raw}: n_gpus {show(row['n_gpus'])} from a cut AllocTRES, "
                f"parsable2 {show(r['n_gpus'])}"
            )
    assert not bad, "\n".join(bad)


# ----------------------------------------------------------------------------- sreport


def test_usage_per_account_equals_sreport(mix: MixRun):
    """CPU-seconds and GPU-seconds (all GPUs, and per type) per account over whole
    hours, from rdcost's table of every job in the window, equal Slurm's own hourly
    rollup as sreport prints it (-t seconds: no rounding, so no tolerance). Each job
    counts n x (its time inside the window); a job still running counts up to the
    window's end, as the rollup does."""
    start, end = (pd.Timestamp(t) for t in mix.window)
    df, report = read_log_report(mix.window_export)
    assert report.n_rejected == 0, report.examples
    # -S/-E leaves out jobs that were never eligible (the dependency-blocked job, the
    # array remainder); every job that ran must be there
    ran = {k for k in mix.expected() if mix.expected_state(k) != "PENDING"}
    missing = ran - {MixRun.key(j) for j in df["job_id"]}
    assert not missing, f"the window export lacks jobs that ran: {sorted(missing)}"

    t0 = df["start_time"].where(df["start_time"] > start, start)
    t1 = df["end_time"].fillna(end)
    t1 = t1.where(t1 < end, end)
    inside_s = (t1 - t0).dt.total_seconds().clip(lower=0).where(df["start_time"].notna(), 0)
    gpus = df["n_gpus"].fillna(0)
    per_tres = {
        "cpu": df["n_cpus"].fillna(0).astype(float) * inside_s,
        "gres/gpu": gpus * inside_s,
        "gres/gpu:titanx": gpus.where(df["gpu_type"] == "titanx", 0) * inside_s,
        "gres/gpu:m40": gpus.where(df["gpu_type"] == "m40", 0) * inside_s,
    }
    accounts = sorted({a for a, _ in mix.sreport} | set(df["account"].dropna()))
    bad = []
    for tres, secs in per_tres.items():
        mine = secs.groupby(df["account"]).sum()
        for acct in accounts:
            want = mix.sreport.get((acct, tres), 0)
            got = float(mine.get(acct, 0.0))
            if got != want:
                bad.append(f"{acct} {tres}: rdcost {got:.0f} s, sreport {want} s")
    assert not bad, (
        "\n".join(bad) + f"\nwindow {mix.window[0]} - {mix.window[1]}\n" + mix.sreport_text
    )
    # the comparison is not empty: our GPU jobs are in it
    assert mix.sreport[("nlp", "gres/gpu:titanx")] > 0
    assert mix.sreport[("research", "gres/gpu:m40")] > 0
