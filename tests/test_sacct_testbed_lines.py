"""Lines copied from the real Slurm testbed (tests/data/slurm_testbed/README.md), read
without Slurm: the job with '|' in its Comment and SubmitLine, a pending job, a running
array task and its pending remainder, as --parsable2, --parsable, fixed width (wide and
default), --json and --parsable2 with the delimiter 0x1f (the reference, split by hand).

Two bugs found on the testbed are pinned here: --json gave a pending job 0 CPUs where
the text exports give the requested CPUs (so the store's value depended on which export
came last), and the default fixed width's cut remainder id (``100003_[1-3+``) replaced
the full one in the store when that export came last."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd
import pytest

import rdcost
from rdcost.cli import main
from rdcost.readers.base import ParseOptions
from rdcost.readers.ingest import read_log_report
from rdcost.readers.slurm.parsable_lines import split_block
from rdcost.readers.slurm.sacct_parsable import detect_layout
from rdcost.readers.text_lines import iter_line_blocks

DATA = Path(__file__).parent / "data" / "slurm_testbed"
PIPE = "100012"
COMMENT = "rdcost-integration:20261207T000955 | lr=0.1|bs=32"
#: Allocation -> (state, NCPUS, gres/gpu count) as sacct printed them (0x1f export).
JOBS = {
    "100005": ("PENDING", 1, 0.0),
    "100012": ("COMPLETED", 2, 1.0),
    "100003_0": ("RUNNING", 1, 0.0),
    "100003_[1-3%1]": ("PENDING", 1, 0.0),
}


#: Fields of a RUNNING line that grow between two exports (the 0x1f one came last).
GROWING = {"Elapsed", "ElapsedRaw", "CPUTimeRAW", "TotalCPU", "MaxRSS", "AveRSS"}


def export(kind: str) -> Path:
    return DATA / (f"sacct-{kind}.json" if kind == "json" else f"sacct-{kind}.txt")


def isnull(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def by_hand() -> dict[str, dict[str, str]]:
    """JobID -> {field: value} of the 0x1f export, split by hand."""
    lines = [ln for ln in export("probe-x1f").read_text().split("\n") if ln]
    header = lines[0].split("\x1f")
    return {
        ln.split("\x1f")[0]: dict(zip(header, ln.split("\x1f"), strict=True)) for ln in lines[1:]
    }


def read(kind: str) -> dict[str, dict]:
    df, report = read_log_report(export(kind))
    assert report.n_rejected == 0, [(r.line, r.reason) for r in report.examples]
    return {r["job_id"]: r for r in df.to_dict("records")}


def test_the_reference_holds_the_pipes():
    hand = by_hand()[PIPE]
    assert hand["Comment"] == COMMENT
    assert "--comment=" + COMMENT in hand["SubmitLine"]
    assert hand["SubmitLine"].endswith("--wrap echo a | cat; sleep 3")
    header = export("parsable2").read_text().split("\n", 1)[0]
    line = next(ln for ln in export("parsable2").read_text().split("\n") if ln.startswith(PIPE))
    assert line.count("|") == header.count("|") + 5


@pytest.mark.parametrize("kind", ["parsable2", "parsable"])
def test_the_pipe_job_is_split_where_slurm_had_its_fields(kind):
    path = export(kind)
    layout = detect_layout(path.read_text().split("\n"))
    assert layout is not None
    rows, refused = {}, []
    for block in iter_line_blocks(path, layout.skip_lines):
        b = split_block(
            block, layout.columns, layout.delimiter, layout.trailing, ParseOptions(), str(path)
        )
        refused += b.rejected
        rows.update({r["JobID"]: r for r in b.frame.to_dict("records")})
    assert refused == []
    hand = by_hand()
    assert set(rows) == set(hand)
    bad = [
        f"{jid} {name}: {rows[jid][name]!r}, sacct {value!r}"
        for jid in hand
        for name, value in hand[jid].items()
        if ("" if isnull(rows[jid][name]) else rows[jid][name]) != value
        and not (hand[jid]["State"] == "RUNNING" and name in GROWING)
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("kind", ["parsable2", "parsable", "fixed", "fixed-default", "json"])
def test_every_export_gives_each_job_its_state_cpus_and_gpus(kind):
    """The same state and CPUs everywhere (a job that never started: the requested
    CPUs sacct prints in NCPUS, from --json too), and the GPUs (unknown where the
    default width cut AllocTRES)."""
    rows = read(kind)
    assert {k.replace("_[1-3...]", "_[1-3%1]") for k in rows} == set(JOBS)
    for jid, (state, cpus, gpus) in JOBS.items():
        row = rows.get(jid) or rows[jid.replace("%1]", "...]")]
        assert (row["state"], row["n_cpus"]) == (state, cpus), (jid, kind)
        if kind == "fixed-default" and state != "PENDING":
            assert isnull(row["n_gpus"]) or row["n_gpus"] == gpus
        else:
            assert row["n_gpus"] == gpus, (jid, kind)


@pytest.mark.parametrize("kind", ["parsable2", "parsable"])
def test_the_pipe_job_row_equals_the_json_row(kind):
    row, ref = read(kind)[PIPE], read("json")[PIPE]
    hand = by_hand()[PIPE]
    cols = [
        "job_id_raw",
        "job_name",
        "user",
        "account",
        "partition",
        "qos",
        "cluster",
        "state",
        "exit_code",
        "exit_signal",
        "submit_time",
        "start_time",
        "end_time",
        "elapsed_s",
        "timelimit_s",
        "n_nodes",
        "n_cpus",
        "n_gpus",
        "gpu_type",
        "node_list",
    ]
    assert {c: row[c] for c in cols} == {c: ref[c] for c in cols}
    assert (row["start_time"], row["end_time"], row["elapsed_s"]) == (
        pd.Timestamp(hand["Start"], tz="UTC"),
        pd.Timestamp(hand["End"], tz="UTC"),
        float(hand["ElapsedRaw"]),
    )
    assert (row["n_gpus"], row["gpu_type"], row["job_name"]) == (1.0, "titanx", "pipe_wrap")


def test_free_text_side_by_side_is_rejected_as_ambiguous():
    df, report = read_log_report(export("probe-adjacent"))
    reasons = {r.line: r.reason for r in report.examples}
    assert sorted(reasons) == [3, 4, 5]  # the pipe job's line and its two steps
    assert "could belong to several of JobName, Comment, SubmitLine, WorkDir" in reasons[3]
    assert reasons[4].startswith("its allocation record (line 3) was rejected")
    assert set(df["job_id"]) == set(JOBS) - {PIPE}


def run(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    err = capsys.readouterr().err
    assert e.value.code == 0, err
    return err


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(["json", "parsable2", "fixed-default"])),
    ids=lambda o: "-".join(o),
)
def test_one_store_whatever_the_order(order, tmp_path, capsys):
    """Each job once, with the full remainder id and the requested CPUs of the jobs that
    never started, whichever export comes last; again, nothing new."""
    store = tmp_path / "store"
    for kind in order:
        run(capsys, "ingest", str(export(kind)), "--store", str(store))
    jobs = rdcost.read_jobs(store)
    assert sorted(jobs["job_id"]) == sorted(JOBS)
    for row in jobs.to_dict("records"):
        state, cpus, gpus = JOBS[row["job_id"]]
        assert (row["state"], row["n_cpus"], row["n_gpus"]) == (state, cpus, gpus)
        assert isnull(row["cut_columns"]), row
    err = run(capsys, "ingest", *(str(export(k)) for k in order), "--store", str(store))
    assert "store: 0 new," in err
    assert len(rdcost.read_jobs(store)) == len(JOBS)
