"""rdcost against a real Slurm 22.05 cluster (scripts/slurm-testbed.sh).

One run of a realistic job mix (slurm_mix.py: a throttled grid-search array, typed
and untyped GPU jobs, a failing job, a timeout, a cancelled job, a job with several
srun steps, a job pending and an array still running at export time, a job with '|'
in its comment and command) is exported as
``--parsable2``, ``--parsable``, fixed width (wide columns, and Slurm's default
widths) and ``--json``. Each export is read with ``rdcost.read_log`` (format
auto-detected) and the tables are compared job by job: with each other, with what
was submitted, and with Slurm's own usage accounting: CPU- and GPU-seconds per
account, by rdcost.analysis.usage_window (``rdcost usage``), against ``sreport`` for each of
slurmdbd's hours around an hour boundary that the mix runs across (slurmdbd's hours
are shifted so that one begins 30 s after the submission; RDCOST_SLURM_SHIFT=0 keeps
the real ones), and against ``sacct --truncate`` for windows with edges at any second.

Skipped when no testbed answers, unless RDCOST_REQUIRE_SLURM=1 (set by .ci/run
after the testbed started), where it fails instead. RDCOST_SLURM_EXPORT_DIR keeps
the exports and sreport's answers for inspection. Wall time: about 100 s, most of it
the TIMEOUT job (1-minute limit; Slurm checks limits every 30 s). The job with '|' and
the five exports in one store: test_slurm_one_store.py (the same run of the mix).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rdcost.analysis.usage_window import ROLLUP, SACCT_TRUNCATE, Usage, tres_seconds
from rdcost.analysis.usage_window import sreport_period as sreport_period_of_rdcost
from rdcost.analysis.usage_window import sreport_usage as rdcost_sreport_usage
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


# The `mix` fixture (one run of the job mix per session) is in conftest.py.


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


# ----------------------------------------------------------------------------- usage
#
# slurmdbd rolls the job table up hour by hour: for each hour, every job counts
# TRES x (its seconds inside the hour); a job still running counts up to the hour's
# end. sreport adds up whole hours. During the run slurmdbd's hours are shifted
# (slurm_mix.Clock) so that one begins 30 s after the submission: the long jobs run
# across it at any time of day. rdcost's side is rdcost.analysis.usage_window, the module
# behind `rdcost usage`, so the test and users apply the same rule.


@functools.cache
def read_export(path: Path) -> pd.DataFrame:
    df, report = read_log_report(path)
    assert report.n_rejected == 0, report.examples
    return df


def differences(want: dict[tuple[str, str], int], got: Usage, what: str) -> list[str]:
    """Per account and TRES, sreport's (or sacct's) seconds against rdcost's; tolerance 0."""
    accounts = {a for a, _ in want} | {a for a in got.table["account"] if a}
    bad = []
    for acct in sorted(accounts):
        for tres in slurm_mix.SREPORT_TRES:
            w, g = want.get((acct, tres), 0), got.get(tres, account=acct)
            if g != w:
                bad.append(f"{what}: {acct} {tres}: rdcost {g:.0f} s, Slurm {w} s")
    return bad


def local(t, zone) -> str:
    return pd.Timestamp(t).tz_convert(zone).strftime("%Y-%m-%dT%H:%M:%S")


def hour_usage(check: slurm_mix.HourCheck) -> Usage:
    return tres_seconds(
        read_export(check.export),
        check.start,
        check.end,
        rule=ROLLUP,
        as_of=check.rolled_at,
        tres=slurm_mix.SREPORT_TRES,
    )


def test_the_mix_runs_across_an_hour_boundary(mix: MixRun):
    """The long jobs (TIMEOUT after ~85 s, 'running' and the sweep's first task until
    the end) start before the boundary between slurmdbd's two hours and end after it."""
    clock = mix.clock
    final = [c for c in mix.hour_checks if c.stage == "final"][0]
    df = read_export(final.export)
    b = pd.Timestamp(clock.boundary)
    rows = {MixRun.key(r["job_id"]): r for r in df.to_dict("records")}
    across = [
        k
        for k, r in rows.items()
        if not isnull(r["start_time"])
        and r["start_time"] < b
        and not isnull(r["end_time"])
        and r["end_time"] > b
    ]
    long = {mix.jobs["timeout"].job_id, mix.jobs["running"].job_id, f"{mix.jobs['sweep'].job_id}_0"}
    if not clock.shifted and not long <= set(across):
        pytest.skip(
            f"slurmdbd's hours are on the real clock ({slurm_mix.SHIFT_ENV}=0 or no root) "
            f"and the mix did not reach {clock.boundary:%H:%M:%S}"
        )
    assert long <= set(across), (
        f"jobs across {clock.boundary} ({clock.tz}): {sorted(across)}; "
        f"expected at least {sorted(long)}"
    )


@pytest.mark.parametrize("stage", ["final", "running"])
def test_usage_per_hour_equals_sreport(mix: MixRun, stage: str):
    """CPU-seconds and GPU-seconds (all GPUs and per type) per account in each hour
    around the boundary equal sreport's to the second (-t seconds): the hour the long
    jobs leave and the hour they enter. 'running': the rollup was forced while 'running'
    and the sweep's first task still ran, so both sides count them up to the end of the
    current hour, which is still to come; 'final': after every job ended."""
    checks = [c for c in mix.hour_checks if c.stage == stage]
    assert checks and (len(checks) == 2 or not mix.clock.shifted), [c.start for c in checks]
    # -S/-E leaves out jobs that were never eligible (the dependency-blocked job, the
    # array remainder); every job that ran must be there
    ran = {k for k in mix.expected() if mix.expected_state(k) != "PENDING"}
    missing = ran - {MixRun.key(j) for j in read_export(checks[0].export)["job_id"]}
    assert not missing, f"the window export lacks jobs that ran: {sorted(missing)}"
    bad, texts = [], []
    for c in checks:
        bad += differences(
            c.sreport,
            hour_usage(c),
            f"{local(c.start, mix.clock.zone)} - {local(c.end, mix.clock.zone)}",
        )
        texts.append(c.text)
    assert not bad, (
        "\n".join(bad)
        + f"\nslurmdbd TZ={mix.clock.tz}, export {checks[0].export}\n"
        + "\n".join(texts)
    )
    total = {
        (a, t): sum(c.sreport.get((a, t), 0) for c in checks)
        for a in ("nlp", "research")
        for t in slurm_mix.SREPORT_TRES
    }
    # the comparison is not empty: our GPU jobs are in it
    assert total[("nlp", "gres/gpu:titanx")] > 0 and total[("research", "gres/gpu:m40")] > 0
    if stage == "running":
        # 'running' (one M40) counts from the rollup on to the end of the current hour
        last = checks[-1]
        ahead = (pd.Timestamp(last.end) - pd.Timestamp(last.rolled_at)).total_seconds()
        assert last.sreport[("nlp", "gres/gpu:m40")] >= ahead > 0


def sreport_period(text: str, zone) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period sreport's header names ("... Utilization START - END (N secs)")."""
    m = re.search(r"Utilization (\S+) - (\S+) \((\d+) secs\)", text)
    assert m, text
    p0 = pd.Timestamp(m.group(1)).tz_localize(zone).tz_convert("UTC")
    return p0, p0 + pd.Timedelta(seconds=int(m.group(3)))


def sreport_now(mix: MixRun) -> pd.Timestamp:
    """The moment sreport counted as now: of the two times it ran between, one for
    which rdcost predicts the period it reported (they differ only if the clock passed
    hh:29:30 meanwhile)."""
    c = mix.period_check
    period = sreport_period(c.text, mix.clock.zone)
    predicted = {
        now: sreport_period_of_rdcost(c.start, c.end, now, mix.clock.zone)
        for now in c.asked_between
    }
    for now, p in predicted.items():
        if p == period:
            return pd.Timestamp(now)
    raise AssertionError(
        f"sreport reported {period[0]} - {period[1]}; rdcost predicts "
        + ", ".join(f"{p[0]} - {p[1]} at {now}" for now, p in predicted.items())
    )


def test_sreport_period_equals_rdcost_sreport(mix: MixRun):
    """sreport asked for both hours right after the run (end in the future) reports the
    period rdcost.analysis.usage_window.sreport_period predicts (sreport cuts the end at now and
    rounds it to the nearest hour, so in the first half hour after the boundary it
    reports only the first hour: the cause of issue #19), and rdcost's sreport_usage
    gives its figures to the second."""
    c = mix.period_check
    zone = mix.clock.zone
    now = sreport_now(mix)
    usage = rdcost_sreport_usage(
        read_export(c.export),
        c.start,
        c.end,
        now=now,
        tz=zone,
        rolled_up_to=c.rolled_up_to,
        tres=slurm_mix.SREPORT_TRES,
    )
    bad = differences(
        c.sreport, usage, f"sreport start={local(c.start, zone)} end={local(c.end, zone)}"
    )
    assert not bad, "\n".join(bad) + "\n" + c.text


def offset_text(zone) -> str:
    off = zone.utcoffset(None)
    sign, off = ("-", -off) if off < dt.timedelta(0) else ("+", off)
    secs = int(off.total_seconds())
    return f"{sign}{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def test_usage_command_prints_sreport_figures(mix: MixRun):
    """`rdcost usage EXPORT --sreport`, as a user runs it, prints the period sreport
    reported and its figures."""
    c = mix.period_check
    now = sreport_now(mix)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "rdcost",
            "usage",
            str(c.export),
            "--sreport",
            "--sreport-tz",
            offset_text(mix.clock.zone),
            "--start",
            c.start.isoformat(),
            "--end",
            c.end.isoformat(),
            "--as-of",
            now.isoformat(),
            "--rolled-up-to",
            c.rolled_up_to.isoformat(),
            "--tres",
            ",".join(slurm_mix.SREPORT_TRES),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    m = re.search(r"sreport period (\S+) - (\S+) ", p.stderr)
    assert m, p.stderr
    printed = tuple(
        pd.Timestamp(dt.datetime.fromisoformat(t)).tz_convert("UTC") for t in m.groups()
    )
    assert printed == sreport_period(c.text, mix.clock.zone), p.stderr + c.text
    got = {(r["account"], r["tres"]): r["seconds"] for r in json.loads(p.stdout)}
    accounts = {a for a, _ in c.sreport} | {a for a, _ in got if a}
    bad = [
        f"{a} {t}: rdcost usage {got.get((a, t), 0)} s, sreport {c.sreport.get((a, t), 0)} s"
        for a in sorted(accounts)
        for t in slurm_mix.SREPORT_TRES
        if got.get((a, t), 0) != c.sreport.get((a, t), 0)
    ]
    assert not bad, "\n".join(bad) + "\n" + p.stderr + c.text


def test_any_window_equals_sacct_truncate(mix: MixRun, tables):
    """Windows whose edges fall at any second inside the mix: per account, rdcost's
    clip rule (running jobs up to the as-of time) equals Slurm's own cut, ``sacct -X -T``
    (ElapsedRaw x the allocated CPUs and GPUs), to the second."""
    ours = {j.job_id for j in mix.jobs.values()}
    df = tables["parsable2"]
    assert mix.truncate_checks
    for c in mix.truncate_checks:
        want: dict[tuple[str, str], int] = {}
        for line in c.text.splitlines():
            job_id, account, _state, elapsed, alloc = line.split("|")
            if job_id.split("_")[0] not in ours or not elapsed:
                continue
            counts = dict(kv.split("=", 1) for kv in alloc.split(",") if "=" in kv)
            for tres in slurm_mix.SREPORT_TRES:
                n = int(counts.get(tres, 0) or 0)
                want[(account, tres)] = want.get((account, tres), 0) + n * int(elapsed)
        got = tres_seconds(
            df, c.start, c.end, rule=SACCT_TRUNCATE, as_of=c.as_of, tres=slurm_mix.SREPORT_TRES
        )
        bad = differences(
            want,
            got,
            f"sacct -T -S {c.start:%H:%M:%S} -E {c.end:%H:%M:%S} (as of {c.as_of:%H:%M:%S})",
        )
        assert not bad, "\n".join(bad) + "\n" + c.text
