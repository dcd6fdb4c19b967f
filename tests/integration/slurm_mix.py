"""Drive a running Slurm testbed (scripts/slurm-testbed.sh): submit a realistic mix of
short jobs, wait for them, export ``sacct`` in every form rdcost reads, and ask Slurm
for per-account usage: ``sreport`` hour by hour (after forced rollups) and ``sacct
--truncate`` over windows with edges at any second.

To cross one of slurmdbd's hour boundaries at any time of day, slurmdbd is restarted
in a time zone whose hour begins 30 s after the submission (see ``Clock``), and put
back afterwards; RDCOST_SLURM_SHIFT=0 keeps the real hours.

Used by test_slurm_real.py; also runnable by hand to produce real exports::

    python -m tests.integration.slurm_mix OUTDIR

The exports run with ``TZ=UTC`` (sacctmgr and sreport in slurmdbd's zone) and without
inherited ``SLURM_*``/``SACCT_*`` variables, so they do not depend on the caller's
shell or job.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

#: Marks our jobs (stored: AccountingStoreFlags=job_comment) so leftovers of an
#: interrupted run can be found and cancelled. Every comment begins with it.
COMMENT_PREFIX = "rdcost-integration"
#: The 'pipe' job: a shell pipe in its --wrap command and '|' in its comment (after the
#: prefix), so sacct's Comment and SubmitLine hold the delimiter of --parsable(2).
PIPE_COMMENT = " | lr=0.1|bs=32"
PIPE_WRAP = "echo a | cat; sleep 3"

#: Field list of every text export: what the comparison needs, and more. The free-text
#: fields (JobName, Comment, SubmitLine, WorkDir, Flags) are each separated from the
#: next by typed fields (State, Submit, NNodes, ...): sacct does not escape a '|' inside
#: a value, and only then can a line with extra '|' be read one way only (docs/sacct.md,
#: "Free text holding the delimiter"; PROBE_KINDS shows the other case).
FIELDS = [
    "JobID",
    "JobIDRaw",
    "JobName",
    "User",
    "Account",
    "Partition",
    "QOS",
    "State",
    "ExitCode",
    "DerivedExitCode",
    "Comment",
    "Submit",
    "Eligible",
    "Start",
    "End",
    "Elapsed",
    "ElapsedRaw",
    "Timelimit",
    "TimelimitRaw",
    "SubmitLine",
    "NNodes",
    "NCPUS",
    "ReqCPUS",
    "NTasks",
    "ReqMem",
    "ReqTRES",
    "AllocTRES",
    "MaxRSS",
    "AveRSS",
    "TotalCPU",
    "CPUTimeRAW",
    "ConsumedEnergyRaw",
    "WorkDir",
    "NodeList",
    "Cluster",
    "Flags",
]
#: Column widths of the wide fixed-width export: wide enough that no value the
#: comparison reads is cut (the longest AllocTRES here is about 70 characters, the
#: longest SubmitLine about 300).
WIDE = {
    "JobID": 24,
    "JobIDRaw": 16,
    "JobName": 24,
    "User": 10,
    "Account": 12,
    "Partition": 10,
    "QOS": 8,
    "State": 20,
    "ExitCode": 8,
    "DerivedExitCode": 15,
    "Comment": 64,
    "Submit": 19,
    "Eligible": 19,
    "Start": 19,
    "End": 19,
    "Elapsed": 12,
    "ElapsedRaw": 10,
    "Timelimit": 16,
    "TimelimitRaw": 16,
    "SubmitLine": 400,
    "NNodes": 8,
    "NCPUS": 10,
    "ReqCPUS": 8,
    "NTasks": 8,
    "ReqMem": 10,
    "ReqTRES": 90,
    "AllocTRES": 90,
    "MaxRSS": 10,
    "AveRSS": 10,
    "TotalCPU": 12,
    "CPUTimeRAW": 10,
    "ConsumedEnergyRaw": 17,
    "WorkDir": 80,
    "NodeList": 15,
    "Cluster": 10,
    "Flags": 30,
}
#: TRES that sreport is asked for (AccountingStorageTRES of the testbed, plus cpu).
SREPORT_TRES = ["cpu", "gres/gpu", "gres/gpu:titanx", "gres/gpu:m40"]
#: States after which a job's accounting no longer changes.
TERMINAL = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
}
#: Commands the mix needs.
COMMANDS = ["sinfo", "sbatch", "squeue", "scancel", "scontrol", "sacct", "sacctmgr", "sreport"]


class SlurmError(RuntimeError):
    """A Slurm command failed or the cluster did not do what the mix expects."""


def env(tz: str | None = "UTC") -> dict[str, str]:
    """The caller's environment without Slurm's variables, in time zone ``tz`` (None:
    without TZ)."""
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "SACCT_", "SQUEUE_", "SBATCH_", "SALLOC_", "SRUN_"))
    }
    e.update(SLURM_TIME_FORMAT="standard", SLURM_BITSTR_LEN="0")
    e.pop("TZ", None)
    if tz is not None:
        e["TZ"] = tz
    return e


def run(
    args: list[str],
    timeout: float = 60,
    check: bool = True,
    cwd: str | os.PathLike | None = None,
    tz: str | None = "UTC",
) -> str:
    """Run a command (in time zone ``tz``); its stdout. A failure raises SlurmError
    with its stderr."""
    try:
        p = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env=env(tz),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
        )
    except FileNotFoundError as exc:
        raise SlurmError(f"{args[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise SlurmError(f"{' '.join(args)}: no answer within {timeout:.0f} s") from exc
    if check and p.returncode != 0:
        raise SlurmError(f"{' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def unusable_reason() -> str | None:
    """Why the testbed cannot run the mix, or None when it can."""
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        return f"Slurm commands not installed: {', '.join(missing)}"
    try:
        if "is UP" not in run(["scontrol", "ping"], timeout=15, check=False):
            return "slurmctld does not answer (scontrol ping)"
        run(["sacctmgr", "-n", "-P", "show", "cluster", "format=cluster"], timeout=15)
        states = run(["sinfo", "-h", "-N", "-o", "%T"], timeout=15).split()
    except SlurmError as exc:
        return str(exc)
    if not any(s in ("idle", "mixed", "allocated", "completing") for s in states):
        return f"no usable node (sinfo says: {' '.join(states) or 'nothing'})"
    return None


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fmt(t: datetime, zone: dt.tzinfo = UTC) -> str:
    """``t`` as a Slurm command reads it: local time of ``zone``, without an offset."""
    return t.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


# ----------------------------------------------------------------------------- job mix


@dataclass
class Job:
    """One submission and what Slurm must end up saying about it."""

    label: str
    args: list[str]  # sbatch options (after the common ones)
    account: str
    partition: str
    n_cpus: int
    gpus: int = 0
    gpu_type: str | None = None  # None with gpus > 0: any type
    final_state: str = "COMPLETED"  # state in the exports
    array: str | None = None  # e.g. "0-5%2"
    script: str | None = None  # batch script body instead of --wrap
    wrap: str | None = None
    comment: str = ""  # appended to the comment every job gets (COMMENT_PREFIX:run id)
    job_id: str = ""  # filled by submit


def job_mix() -> list[Job]:
    """The jobs, in submission order: long ones first so they start at once."""
    return [
        Job(
            "timeout",
            ["-J", "train_timeout", "-t", "1"],
            "research",
            "cpu",
            1,
            final_state="TIMEOUT",
            wrap="sleep 600",
        ),
        Job(
            "running",
            ["-J", "train_long", "--gres=gpu:m40:1", "-c", "2"],
            "nlp",
            "gpu",
            2,
            gpus=1,
            gpu_type="m40",
            final_state="RUNNING",
            wrap="sleep 900",
        ),
        Job(
            "sweep",
            ["-J", "sweep_bs", "-c", "1"],
            "nlp",
            "cpu",
            1,
            final_state="RUNNING",
            array="0-3%1",
            wrap="sleep 900",
        ),
        Job(
            "cancelled",
            ["-J", "train_cancelled", "-c", "1"],
            "nlp",
            "cpu",
            1,
            final_state="CANCELLED",
            wrap="sleep 600",
        ),
        Job(
            "pending",
            ["-J", "eval_after_train", "--gres=gpu:m40:1", "-c", "1"],
            "nlp",
            "gpu",
            1,
            gpus=1,
            gpu_type="m40",
            final_state="PENDING",
            wrap="sleep 5",
        ),  # --dependency on "running" is added at submission
        Job(
            "grid",
            ["-J", "grid_lr", "-c", "1"],
            "research",
            "cpu",
            1,
            array="0-5%2",
            wrap="sleep $((2 + SLURM_ARRAY_TASK_ID % 3))",
        ),
        Job(
            "titanx",
            ["-J", "bert_base_titanx", "--gres=gpu:titanx:2", "-c", "2"],
            "nlp",
            "gpu",
            2,
            gpus=2,
            gpu_type="titanx",
            wrap="sleep 6",
        ),
        Job(
            "m40",
            ["-J", "lstm_m40", "--gres=gpu:m40:1", "-c", "1"],
            "research",
            "gpu",
            1,
            gpus=1,
            gpu_type="m40",
            wrap="sleep 4",
        ),
        Job(
            "anygpu",
            ["-J", "eval baseline", "--gpus=1", "-c", "1"],
            "research",
            "gpu",
            1,
            gpus=1,
            wrap="sleep 3",
        ),
        Job(
            "failed",
            ["-J", "preprocess", "-c", "1"],
            "research",
            "cpu",
            1,
            final_state="FAILED",
            wrap="sleep 2; exit 3",
        ),
        Job(
            "steps",
            ["-J", "pipeline_steps", "-n", "2"],
            "research",
            "cpu",
            2,
            script="#!/bin/bash\n"
            "srun -n 2 sleep 2\n"
            "srun -n 1 sleep 1\n"
            "srun -n 1 sh -c 'exit 2' || true\n"
            "srun -n 1 sleep 1\n",
        ),
        Job(
            "pipe",
            ["-J", "pipe_wrap", "--gres=gpu:titanx:1", "-c", "2"],
            "research",
            "gpu",
            2,
            gpus=1,
            gpu_type="titanx",
            wrap=PIPE_WRAP,
            comment=PIPE_COMMENT,
        ),
    ]


@dataclass
class MixRun:
    """What one run of the mix submitted, exported and measured."""

    workdir: Path
    run_id: str = ""
    jobs: dict[str, Job] = field(default_factory=dict)
    submitted_at: datetime | None = None
    exports: dict[str, Path] = field(default_factory=dict)
    probes: dict[str, Path] = field(default_factory=dict)  # see PROBE_KINDS
    export_span_s: float = 0.0  # wall time from the first export to the last
    clock: Clock | None = None  # where slurmdbd's hours began during the run
    hour_checks: list[HourCheck] = field(default_factory=list)
    period_check: PeriodCheck | None = None
    truncate_checks: list[TruncateCheck] = field(default_factory=list)

    @property
    def job_ids(self) -> list[str]:
        return [j.job_id for j in self.jobs.values()]

    def comment(self, job: Job) -> str:
        """The --comment ``job`` was submitted with."""
        return f"{COMMENT_PREFIX}:{self.run_id}{job.comment}"

    def expected(self) -> dict[str, Job]:
        """Allocation key -> Job for every allocation the exports must hold. The key is
        the display JobID, except for the sweep's pending remainder, whose bracket
        expression Slurm updates late (``123_[0-3%1]`` or ``123_[1-3%1]``): its key is
        ``123_[...]`` (see ``key``)."""
        out: dict[str, Job] = {}
        for j in self.jobs.values():
            if j.label == "grid":
                for i in range(6):
                    out[f"{j.job_id}_{i}"] = j
            elif j.label == "sweep":
                out[f"{j.job_id}_0"] = j
                out[f"{j.job_id}_[...]"] = j
            else:
                out[j.job_id] = j
        return out

    @staticmethod
    def key(job_id: str) -> str:
        """The allocation key of a display JobID (see ``expected``)."""
        base, sep, _ = job_id.partition("_[")
        return f"{base}_[...]" if sep else job_id

    def expected_state(self, key: str) -> str:
        j = self.expected()[key]
        if key.endswith("_[...]"):
            return "PENDING"
        return j.final_state


def cancel_leftovers() -> None:
    """Cancel jobs that an interrupted earlier run left behind (found by comment)."""
    out = run(["squeue", "-h", "-o", "%i|%k"])
    ids = [
        line.split("|", 1)[0]
        for line in out.splitlines()
        if line.partition("|")[2].startswith(COMMENT_PREFIX)
    ]
    if ids:
        run(["scancel", *ids])
        wait_until(
            lambda: not run(["squeue", "-h", "-o", "%i", "-j", ",".join(ids)], check=False).strip(),
            60,
            "leftover jobs to end",
        )


def wait_until(pred, timeout_s: float, what: str, every_s: float = 1.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise SlurmError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def submit(mix: MixRun, run_id: str) -> None:
    mix.run_id = run_id
    mix.workdir.mkdir(parents=True, exist_ok=True)
    mix.submitted_at = utc_now()
    for job in job_mix():
        args = [
            "sbatch",
            "--parsable",
            f"--chdir={mix.workdir}",
            f"--output={mix.workdir}/%x-%j.out",
            f"--comment={mix.comment(job)}",
            "-A",
            job.account,
            "-p",
            job.partition,
            *job.args,
        ]
        if job.array:
            args.append(f"--array={job.array}")
        if job.label == "pending":
            args.append(f"--dependency=afterok:{mix.jobs['running'].job_id}")
        if job.script is not None:
            path = mix.workdir / f"{job.label}.sh"
            path.write_text(job.script)
            args.append(str(path))
        else:
            args += ["--wrap", job.wrap or "true"]
        job.job_id = run(args).strip().split(";")[0]
        mix.jobs[job.label] = job


def alloc_states(job_ids: Iterable[str]) -> dict[str, str]:
    """Allocation key (MixRun.key) -> base state of every allocation row sacct has for these jobs."""
    out = run(["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", "JobID,State"])
    states = {}
    for line in out.splitlines():
        jid, _, state = line.partition("|")
        states[MixRun.key(jid)] = state.split()[0] if state else ""
    return states


def wait_for_export_point(mix: MixRun, timeout_s: float = 240) -> None:
    """Cancel the 'cancelled' job once it runs; wait until every job is in its export
    state (terminal ones terminal, 'running' and sweep task 0 running, the rest
    pending) and visible in sacct."""
    cancel = mix.jobs["cancelled"].job_id
    wait_until(
        lambda: alloc_states([cancel]).get(cancel) == "RUNNING", 60, f"job {cancel} to start"
    )
    time.sleep(2)
    run(["scancel", cancel])
    expected = mix.expected()

    def ready() -> bool:
        states = alloc_states(mix.job_ids)
        return all(states.get(jid) == mix.expected_state(jid) for jid in expected)

    try:
        wait_until(ready, timeout_s, "the jobs to reach their export states", every_s=2)
    except SlurmError as exc:
        states = alloc_states(mix.job_ids)
        wrong = {
            jid: (states.get(jid), mix.expected_state(jid))
            for jid in expected
            if states.get(jid) != mix.expected_state(jid)
        }
        raise SlurmError(f"{exc}; (sacct state, wanted): {wrong}") from exc


def text_format_args(kind: str) -> list[str]:
    if kind == "parsable2":
        return ["--parsable2", "-o", ",".join(FIELDS)]
    if kind == "parsable":
        return ["--parsable", "-o", ",".join(FIELDS)]
    if kind == "fixed":
        return ["-o", ",".join(f"{f}%{WIDE[f]}" for f in FIELDS)]
    if kind == "fixed-default":
        return ["-o", ",".join(FIELDS)]
    raise ValueError(kind)


EXPORT_KINDS = ["parsable2", "parsable", "fixed", "fixed-default", "json"]


def export(
    job_ids: list[str], outdir: Path, prefix: str = "sacct"
) -> tuple[dict[str, Path], float]:
    """Export the jobs in every form, in quick succession; (paths, seconds taken)."""
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    t0 = time.monotonic()
    for kind in EXPORT_KINDS:
        sel = ["-a", "-j", ",".join(job_ids)]
        args = (
            ["sacct", *sel, "--json"]
            if kind == "json"
            else ["sacct", *sel, *text_format_args(kind)]
        )
        path = outdir / f"{prefix}-{kind}.{'json' if kind == 'json' else 'txt'}"
        path.write_text(run(args))
        paths[kind] = path
    return paths, time.monotonic() - t0


#: Two more exports, taken right after the five, that are not part of them:
#: ``x1f``: --parsable2 with the delimiter 0x1f, which no value holds: what sacct says,
#: split by hand (the reference for Comment and SubmitLine, which the JSON of Slurm
#: 22.05 lacks); ``adjacent``: --parsable2 with the free-text fields side by side at the
#: end, as the recommended export of docs/sacct.md has them, where the "|" of the
#: pipe job cannot be placed.
PROBE_KINDS = ["x1f", "adjacent"]
X1F = "\x1f"
ADJACENT_FIELDS = [
    "JobID",
    "JobIDRaw",
    "State",
    "Submit",
    "Start",
    "End",
    "ElapsedRaw",
    "NCPUS",
    "AllocTRES",
    "JobName",
    "Comment",
    "SubmitLine",
    "WorkDir",
]


def export_probes(job_ids: list[str], outdir: Path, prefix: str = "sacct") -> dict[str, Path]:
    """The PROBE_KINDS exports of the jobs."""
    sel = ["sacct", "-a", "-j", ",".join(job_ids), "--parsable2"]
    args = {
        "x1f": [*sel, f"--delimiter={X1F}", "-o", ",".join(FIELDS)],
        "adjacent": [*sel, "-o", ",".join(ADJACENT_FIELDS)],
    }
    paths = {}
    for kind in PROBE_KINDS:
        path = outdir / f"{prefix}-probe-{kind}.txt"
        path.write_text(run(args[kind]))
        paths[kind] = path
    return paths


def finish(mix: MixRun) -> None:
    """Cancel what still runs or waits, and wait until sacct has every job terminal."""
    for label in ("pending", "sweep", "running"):
        run(["scancel", mix.jobs[label].job_id], check=False)

    def done() -> bool:
        states = alloc_states(mix.job_ids)
        return bool(states) and all(s in TERMINAL for s in states.values())

    wait_until(done, 90, "the cancelled jobs to be recorded as ended", every_s=1)


# ----------------------------------------------------------------------------- usage

#: Set to 0 to leave slurmdbd's hours on the real clock (no restart of slurmdbd).
SHIFT_ENV = "RDCOST_SLURM_SHIFT"
#: Seconds from choosing the shifted hour boundary to the boundary: enough for the
#: restart of slurmdbd (2-5 s) and the submission; the long jobs (60 s and more), which
#: start at once, run across it.
SHIFT_LEAD_S = 30
#: Standard-time name of the shifted zones (POSIX TZ: three or more letters).
SHIFT_TZ_NAME = "RDC"
TESTBED_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "slurm-testbed.sh"
HOUR = timedelta(hours=1)


@dataclass
class Clock:
    """Where slurmdbd's hours begin during a run. slurmdbd's hourly rollup and sreport
    cut time at the whole hours of their local time zone (TZ), so a zone some minutes
    and seconds west of UTC moves the hour boundary to any second of the UTC hour:
    in ``RDC+0:43:48`` (UTC-00:43:48) an hour begins at 21:43:48 UTC."""

    boundary: datetime  # a boundary between two of slurmdbd's hours (UTC)
    tz: str  # TZ for sacctmgr and sreport (slurmdbd runs in it)
    zone: dt.tzinfo  # the same zone, for rdcost and Python
    shifted: bool
    restore_tz: str | None = None  # slurmdbd's TZ before the shift (None: unset)

    @property
    def hours(self) -> list[tuple[datetime, datetime]]:
        """The hour before the boundary and the hour after it."""
        return [(self.boundary - HOUR, self.boundary), (self.boundary, self.boundary + HOUR)]

    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.boundary - HOUR, self.boundary + HOUR


def slurmdbd_tz() -> str | None:
    """TZ in slurmdbd's environment (None: unset). SlurmError if it cannot be read."""
    try:
        pid = Path("/run/slurm/slurmdbd.pid").read_text().strip()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError as exc:
        raise SlurmError(f"cannot read slurmdbd's environment: {exc}") from exc
    for item in environ.split(b"\0"):
        if item.startswith(b"TZ="):
            return item[3:].decode()
    return None


def restart_slurmdbd(tz: str | None) -> None:
    """Restart slurmdbd alone (scripts/slurm-testbed.sh restart-slurmdbd, which waits
    until it answers) in zone ``tz`` (None: without TZ). slurmctld queues its accounting
    messages meanwhile and sends them once slurmdbd is back."""
    if os.geteuid() != 0:
        raise SlurmError("restarting slurmdbd needs root")
    if not TESTBED_SCRIPT.is_file():
        raise SlurmError(f"{TESTBED_SCRIPT} not found")
    run(["bash", str(TESTBED_SCRIPT), "restart-slurmdbd"], timeout=120, tz=tz)


def shifted_clock(lead_s: float = SHIFT_LEAD_S, tries: int = 3) -> Clock:
    """Restart slurmdbd in a zone whose hour begins ``lead_s`` seconds from now (again,
    should the restart itself take so long that less than a third of that is left)."""
    restore = slurmdbd_tz()
    if restore is not None and restore.startswith(SHIFT_TZ_NAME):
        restore = None  # left shifted by an interrupted run: back to no TZ
    for _ in range(tries):
        boundary = utc_now() + timedelta(seconds=lead_s)
        west = boundary.minute * 60 + boundary.second  # seconds west of UTC
        tz = f"{SHIFT_TZ_NAME}+0:{west // 60:02d}:{west % 60:02d}"
        restart_slurmdbd(tz)
        if (boundary - utc_now()).total_seconds() > lead_s / 3:
            break
        print("slurm_mix: slurmdbd took too long to restart; shifting again", file=sys.stderr)
    return Clock(boundary, tz, dt.timezone(-timedelta(seconds=west)), True, restore_tz=restore)


def real_clock(submitted_at: datetime) -> Clock:
    """slurmdbd's own hours (the testbed runs it without TZ on a UTC machine): the
    boundary is the next whole UTC hour after the submission."""
    boundary = submitted_at.replace(minute=0, second=0, microsecond=0) + HOUR
    return Clock(boundary, "UTC", UTC, False)


def unshift_leftover() -> None:
    """A slurmdbd left in a shifted zone by an interrupted run goes back to no TZ."""
    try:
        tz = slurmdbd_tz()
    except SlurmError:
        return
    if tz is not None and tz.startswith(SHIFT_TZ_NAME):
        restart_slurmdbd(None)


def unshift(clock: Clock | None) -> None:
    """Put slurmdbd back in the zone it had before the run (a failure is only reported:
    the next run puts it back)."""
    if clock is not None and clock.shifted:
        try:
            restart_slurmdbd(clock.restore_tz)
        except SlurmError as exc:
            print(f"slurm_mix: warning: slurmdbd stays in {clock.tz}: {exc}", file=sys.stderr)


def rollup(start: datetime, end: datetime, clock: Clock) -> None:
    """Roll the job table up into hourly usage for [start, end) now, not at the next
    hour: ``sacctmgr rollup START END``. slurmdbd rolls up the hours from the hour of
    START to the hour of END (its local hours), also an hour that has not ended yet,
    where a job still running counts up to the hour's end. A bounded rollup does not
    move slurmdbd's own rollup mark (as_mysql_usage.c), so its regular hourly rollup
    later recomputes these hours from the job table."""
    run(
        ["sacctmgr", "-i", "rollup", fmt(start, clock.zone), fmt(end, clock.zone)],
        timeout=120,
        tz=clock.tz,
    )


def sreport_usage(
    start: datetime, end: datetime, clock: Clock
) -> tuple[dict[tuple[str, str], int], str]:
    """(account, TRES) -> allocated TRES-seconds from ``sreport -t seconds cluster
    AccountUtilizationByUser start=START end=END`` (account total lines only), run in
    slurmdbd's zone; and its text (with the header, which names the period)."""
    text = run(
        [
            "sreport",
            "-P",
            "-t",
            "seconds",
            "-T",
            ",".join(SREPORT_TRES),
            "cluster",
            "AccountUtilizationByUser",
            f"start={fmt(start, clock.zone)}",
            f"end={fmt(end, clock.zone)}",
        ],
        tz=clock.tz,
    )
    usage: dict[tuple[str, str], int] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) != 6 or parts[0] == "Cluster":
            continue
        _cluster, account, login, _name, tres, used = parts
        if login or account == "root":  # user lines; root = sum of all accounts
            continue
        usage[(account, tres)] = int(used)
    return usage, text


def export_window(start: datetime, end: datetime, path: Path) -> Path:
    """Every job of any user that was eligible or ran in [start, end), --parsable2."""
    path.write_text(
        run(["sacct", "-a", "-S", fmt(start), "-E", fmt(end), *text_format_args("parsable2")])
    )
    return path


@dataclass
class HourCheck:
    """sreport's usage of one of slurmdbd's hours, and the export it is compared with."""

    stage: str  # "running" (jobs still ran at the rollup) or "final"
    start: datetime
    end: datetime
    export: Path  # every job in the window, exported before the rollup
    rolled_at: datetime
    sreport: dict[tuple[str, str], int]
    text: str


@dataclass
class PeriodCheck:
    """sreport asked for the whole two-hour window, after the final rollup."""

    start: datetime
    end: datetime
    asked_between: tuple[datetime, datetime]  # sreport ran between these two times
    rolled_up_to: datetime
    export: Path
    sreport: dict[tuple[str, str], int]
    text: str


@dataclass
class TruncateCheck:
    """``sacct -T`` (truncate) over a window whose edges fall inside the mix."""

    start: datetime
    end: datetime
    as_of: datetime  # the second sacct ran in (it counts running jobs to it)
    text: str  # JobID|Account|State|ElapsedRaw|AllocTRES lines


def check_hours(mix: MixRun, stage: str, outdir: Path) -> None:
    """Export the two-hour window, roll up its hours that have begun, ask sreport for
    each of them. An hour that has not begun is never rolled up: a job running at the
    rollup would count the whole hour, and no later rollup takes that back if the job
    ends before the hour (slurmdbd only inserts and updates usage rows)."""
    clock = mix.clock
    assert clock is not None
    w0, w1 = clock.window
    export = export_window(w0, w1, outdir / f"sacct-window-{stage}-parsable2.txt")
    rolled_at = utc_now()
    begun = [(h0, h1) for h0, h1 in clock.hours if h0 <= rolled_at]
    rollup(w0, begun[-1][1], clock)
    for h0, h1 in begun:
        usage, text = sreport_usage(h0, h1, clock)
        name = f"sreport-{stage}-{fmt(h0, clock.zone).replace(':', '')}.txt"
        (outdir / name).write_text(text)
        mix.hour_checks.append(HourCheck(stage, h0, h1, export, rolled_at, usage, text))


def check_period(mix: MixRun, outdir: Path) -> None:
    """sreport over the whole window (start=first hour, end=after the second hour), as
    a user would ask it right after the run: with an end in the future, sreport cuts
    the period at the hour nearest to now."""
    clock = mix.clock
    assert clock is not None
    w0, w1 = clock.window
    before = utc_now()
    usage, text = sreport_usage(w0, w1, clock)
    after = utc_now()
    (outdir / "sreport-period.txt").write_text(text)
    final = [c for c in mix.hour_checks if c.stage == "final"]
    mix.period_check = PeriodCheck(
        w0, w1, (before, after), final[-1].end, final[0].export, usage, text
    )


def check_truncate(mix: MixRun, start: datetime, end: datetime, tries: int = 5) -> None:
    """``sacct -a -X -T -S START -E END``: Slurm's own cut of each job at the window's
    edges (a running job ends at now). Repeated until sacct started and ended in the
    same second, so that second is the 'now' it used."""
    for _ in range(tries):
        t0 = time.time()
        text = run(
            [
                "sacct",
                "-a",
                "-X",
                "-T",
                "-n",
                "--parsable2",
                "-S",
                fmt(start),
                "-E",
                fmt(end),
                "-o",
                "JobID,Account,State,ElapsedRaw,AllocTRES",
            ]
        )
        t1 = time.time()
        if int(t0) == int(t1):
            as_of = datetime.fromtimestamp(int(t0), UTC)
            mix.truncate_checks.append(TruncateCheck(start, end, as_of, text))
            return
    raise SlurmError(f"sacct -T never ran within one second in {tries} tries")


def run_mix(outdir: Path, run_id: str | None = None, shift: bool | None = None) -> MixRun:
    """The whole sequence; on any failure the run's jobs are cancelled and slurmdbd is
    put back in its zone.

    ``shift`` (default: unless RDCOST_SLURM_SHIFT=0): restart slurmdbd in a zone whose
    hour begins 30 s after now, so the mix runs across one of its hour boundaries at any
    time of day. Without root or when the testbed script did not start slurmdbd, the
    real hours are used."""
    if shift is None:
        shift = os.environ.get(SHIFT_ENV, "1") != "0"
    run_id = run_id or utc_now().strftime("%Y%m%dT%H%M%S")
    mix = MixRun(workdir=Path("/tmp/slurm-testbed-jobs") / f"rdcost-{run_id}-{os.getpid()}")
    outdir.mkdir(parents=True, exist_ok=True)
    cancel_leftovers()
    try:
        if shift:
            try:
                mix.clock = shifted_clock()
            except SlurmError as exc:
                print(f"slurm_mix: slurmdbd's hours stay on the real clock: {exc}", file=sys.stderr)
        else:
            unshift_leftover()
        submit(mix, run_id)
        if mix.clock is None:
            assert mix.submitted_at is not None
            mix.clock = real_clock(mix.submitted_at)
        wait_for_export_point(mix)
        mix.exports, mix.export_span_s = export(mix.job_ids, outdir)
        mix.probes = export_probes(mix.job_ids, outdir)
        # Slurm's own cut at arbitrary seconds: a window inside the mix (edges in the
        # past), and one from inside the mix to the future (running jobs end at now)
        assert mix.submitted_at is not None
        now = utc_now()
        check_truncate(mix, mix.submitted_at + timedelta(seconds=5), now - timedelta(seconds=5))
        check_truncate(mix, mix.submitted_at + timedelta(seconds=20), now + timedelta(minutes=10))
        # 'running' and the sweep's first task still run: the rollup counts them up to
        # the end of each hour, the current one included
        check_hours(mix, "running", outdir)
        finish(mix)
        check_hours(mix, "final", outdir)
        check_period(mix, outdir)
    finally:
        ids = [j.job_id for j in mix.jobs.values() if j.job_id]
        if ids:
            run(["scancel", *ids], check=False)
        unshift(mix.clock)
    return mix


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.integration.slurm_mix OUTDIR", file=sys.stderr)
        return 2
    reason = unusable_reason()
    if reason:
        print(f"slurm_mix: the testbed is not usable: {reason}", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    mix = run_mix(Path(argv[0]))
    for label, job in mix.jobs.items():
        print(f"{label:10} {job.job_id}", file=sys.stderr)
    print(
        f"exports in {argv[0]} ({mix.export_span_s:.1f} s for all five); "
        f"whole run {time.monotonic() - t0:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
