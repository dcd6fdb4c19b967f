"""sacct's default fixed-width table: columns from the underline, '+' cuts,
several tables in one file, UTF-8 padded by bytes. Expected values are worked
out by hand from the lines below."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.jobtable import schema
from rdcost.readers.base import ParseOptions, Sample
from rdcost.readers.slurm import sacct_fixed as F


def fw(values: list[str], widths: list[int], left: tuple[int, ...] = (0,)) -> str:
    """One line as sacct pads it: by bytes, one space after every column."""
    out = b""
    for i, (v, w) in enumerate(zip(values, widths, strict=True)):
        b = v.encode("utf-8")
        pad = b" " * max(w - len(b), 0)
        out += (b + pad if i in left else pad + b) + b" "
    return out.decode("utf-8", errors="surrogateescape")


def table(header: list[str], widths: list[int], rows: list[list[str]]) -> list[str]:
    return [fw(header, widths), " ".join("-" * w for w in widths) + " "] + [
        fw(r, widths) for r in rows
    ]


def write(tmp_path: Path, lines: list[str], name: str = "fixed.txt", end: str = "\n") -> Path:
    p = tmp_path / name
    p.write_bytes(end.join(lines).encode("utf-8", errors="surrogateescape") + end.encode())
    return p


def read(path: Path, **opts):
    return read_log_report(path, format="sacct-fixed", **opts)


def by_id(df):
    return {r["job_id"]: r for _, r in df.iterrows()}


# spec/formats.md §1.9, constructed fixed-width example
SPEC = [
    "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode ",
    "------------ ---------- ---------- ---------- ---------- ---------- -------- ",
    "48213        train_res+        gpu        nlp         16  COMPLETED      0:0 ",
    "8120           sweep_lr        gpu        nlp          0 CANCELLED+      0:0 ",
]


def test_spec_example(tmp_path):
    df, rep = read(write(tmp_path, SPEC))
    assert (rep.n_records, rep.n_jobs, rep.n_ignored, rep.n_rejected) == (4, 2, 2, 0)
    j = by_id(df)
    assert j["48213"]["job_name"] == "train_res+"  # kept as cut (see docs/sacct.md)
    assert (
        j["48213"]["n_cpus"] == 16
        and j["48213"]["partition"] == "gpu"
        and j["48213"]["account"] == "nlp"
    )
    assert j["8120"]["state"] == "CANCELLED" and j["8120"]["state_raw"] == "CANCELLED+"
    assert (
        j["8120"]["n_cpus"] == 0 and j["8120"]["exit_code"] == 0 and j["8120"]["source_line"] == 4
    )
    assert df["source_format"].tolist() == ["sacct-fixed"] * 2
    assert schema.validate(df) == []


W3 = [12, 10, 10]
CUT_IDS = table(
    ["JobID", "JobName", "State"],
    W3,
    [
        ["100000", "train", "COMPLETED"],
        ["100000.batch", "batch", "COMPLETED"],
        ["100000.exte+", "extern", "COMPLETED"],  # line 5
        ["16325776_1", "julia", "COMPLETED"],
        ["16325776_1.+", "batch", "COMPLETED"],
        ["16342389_100", "julia", "OUT_OF_ME+"],
        ["16342389_10+", "batch", "OUT_OF_ME+"],  # the step of 16342389_100, cut at the dot
        ["123456789012", "big", "COMPLETED"],
        ["12345678901+", "batch", "COMPLETED"],
        ["3114519_[3,+", "sweep", "PENDING"],  # line 12
        ["99999999_12+", "other", "COMPLETED"],  # line 13: cut, and no job it could belong to
    ],
)


def test_cut_job_ids(tmp_path):
    df, rep = read(write(tmp_path, CUT_IDS))
    assert rep.n_jobs == 5 and rep.n_folded == 5 and rep.n_rejected == 1 and rep.n_ignored == 2
    j = by_id(df)
    assert set(j) == {"100000", "16325776_1", "16342389_100", "123456789012", "3114519_[3,...]"}
    assert (
        j["16342389_100"]["state"] == "OUT_OF_MEMORY" and j["16342389_100"]["array_task_id"] == 100
    )
    pend = j["3114519_[3,...]"]
    assert (
        pend["state"] == "PENDING" and pend["array_job_id"] == "3114519" and pend["n_gpus"] == 0.0
    )
    assert pend["record_key"] == "slurm::3114519_[]:"
    bad = rep.examples[0]
    assert bad.line == 13 and bad.column == "JobID" and bad.value == "99999999_12+"
    assert "cut by the fixed-width column" in bad.reason


def test_several_tables_with_their_own_columns(tmp_path):
    first = table(["JobID", "JobName", "State"], W3, [["1", "a", "COMPLETED"]])
    second = table(
        ["JobID", "Elapsed", "State", "ConsumedE+"],
        [12, 10, 10, 10],
        [["2", "00:10:00", "FAILED", "5K"], ["2.batch", "00:10:00", "FAILED", "4000"]],
    )
    df, rep = read(write(tmp_path, first + [""] + second))
    assert (rep.n_records, rep.n_jobs, rep.n_folded, rep.n_ignored) == (8, 2, 1, 5)
    j = by_id(df)
    assert j["1"]["job_name"] == "a" and pd.isna(j["1"]["elapsed_s"])
    assert (
        j["2"]["elapsed_s"] == 600.0 and j["2"]["energy_j"] == 5000.0
    )  # ConsumedEnergy: 1000 based
    assert j["2"]["source_line"] == 7


def test_utf8_is_padded_by_bytes(tmp_path):
    widths = [12, 10, 10, 8]
    lines = table(
        ["JobID", "JobName", "State", "ExitCode"],
        widths,
        [
            ["16346031", "—N", "FAILED", "2:0"],
            ["16346031.0", "—N", "FAILED", "2:0"],
            ["16346032", "éééé+", "COMPLETED", "0:0"],
        ],
    )
    # sacct cut a 12-byte name after 9 bytes: half of the fifth 'é', then '+'
    cut_name = "éééé".encode() + b"\xc3" + b"+"
    assert len(cut_name) == 10
    lines.append(
        (b"16346033     " + cut_name + b"  COMPLETED      0:0 ").decode(
            "utf-8", errors="surrogateescape"
        )
    )
    df, rep = read(write(tmp_path, lines))
    assert rep.n_rejected == 0 and rep.n_jobs == 3
    j = by_id(df)
    assert j["16346031"]["job_name"] == "—N" and j["16346031"]["state"] == "FAILED"
    assert j["16346031"]["exit_code"] == 2
    assert j["16346032"]["job_name"] == "éééé+"
    assert j["16346033"]["job_name"] == "éééé\ufffd+" and j["16346033"]["state"] == "COMPLETED"


def test_overflowing_value_and_text_before_the_table_are_rejected(tmp_path):
    lines = ["sacct: warning: something"] + table(
        ["JobID", "JobName", "State"], W3, [["1", "a", "COMPLETED"], ["2", "b", "COMPLETED"]]
    )
    lines[4] = "2                  bb2COMPLETED "
    df, rep = read(write(tmp_path, lines))
    assert rep.n_jobs == 1 and rep.n_rejected == 2
    reasons = {r.line: r.reason for r in rep.examples}
    assert "before the first header" in reasons[1]
    assert "overflows its fixed-width column" in reasons[5]


def test_crlf_and_small_blocks_and_chunks_give_the_same_table(tmp_path, monkeypatch):
    rows = []
    for i in range(40):
        rows += [[str(500 + i), f"job{i}", "COMPLETED"], [f"{500 + i}.batch", "batch", "COMPLETED"]]
    lines = (
        table(["JobID", "JobName", "State"], W3, rows[:40])
        + [""]
        + table(["JobID", "JobName", "State"], W3, rows[40:])
    )
    p = write(tmp_path, lines, end="\r\n")
    whole, rep = read(p)
    assert rep.n_jobs == 40 and rep.n_folded == 40 and rep.n_ignored == 5
    monkeypatch.setattr(F, "BLOCK_BYTES", 50)  # a header and its underline in different blocks
    chunks = list(F.parse(p, ParseOptions(chunk_rows=3)))
    for c in chunks:
        c.check_accounting()
    assert len(chunks) > 10
    small = read(p, chunk_rows=3)[0]
    pd.testing.assert_frame_equal(
        whole.drop(columns="source_file"), small.drop(columns="source_file")
    )
    assert whole["job_name"].tolist() == [f"job{i}" for i in range(40)]


@pytest.mark.parametrize(
    "lines,claimed",
    [
        pytest.param(SPEC, True, id="fixed-width"),
        pytest.param(["", ""] + SPEC, True, id="after-blank-lines"),
        pytest.param(["JobID|State", "1|COMPLETED"], False, id="parsable"),
        pytest.param(
            ["name       value", "---------- -----", "a          1"], False, id="other-table"
        ),
        pytest.param(["JobID,State", "1,COMPLETED"], False, id="csv"),
    ],
)
def test_sniff(tmp_path, lines, claimed):
    assert F.sniff(Sample.read(write(tmp_path, lines))) is claimed


def test_values_cut_by_default_widths_are_unknown_not_a_rejected_job(tmp_path):
    """Slurm's default widths cut AllocTRES ('billing=1+'): the job is kept, its GPUs unknown."""
    from rdcost import read_log_report

    f = tmp_path / "cut.txt"
    f.write_text(
        "JobID           JobIDRaw    JobName  Partition      State  ExitCode ElapsedRaw  AllocTRES \n"
        "------------ ------------ ---------- ---------- ---------- -------- ---------- ---------- \n"
        "100019       100019       train_tim+        cpu    TIMEOUT      0:0         85 billing=1+ \n"
        "100019.batch 100019.batch      batch             CANCELLED     0:15         85 cpu=1,mem+ \n"
        "100020       100020        gpu_small        gpu  COMPLETED      0:0         10 billing=2+ \n"
    )
    df, rep = read_log_report(f)
    assert (rep.n_jobs, rep.n_folded, rep.n_rejected) == (2, 1, 0)
    j = df.set_index("job_id")
    assert j.loc["100019", "state"] == "TIMEOUT" and j.loc["100019", "elapsed_s"] == 85
    assert j.loc["100019", "job_name"] == "train_tim+"  # cut text is kept as cut
    assert j["n_gpus"].isna().all() and j["gpu_type"].isna().all()  # cut TRES: unknown, not 0


def test_jobidraw_without_jobid_names_the_jobs(tmp_path):
    """`sacct -o JobIDRaw,...` as a fixed-width table (jobstats and Toil's field lists):
    JobIDRaw names the jobs, as in --parsable2 text; steps fold into their job."""
    lines = [
        "    JobIDRaw    JobName      State               Start                 End    Elapsed ",
        "------------ ---------- ---------- ------------------- ------------------- ---------- ",
        "5001              train  COMPLETED 2024-03-02T10:00:05 2024-03-02T10:42:05   00:42:00 ",
        "5001.batch        batch  COMPLETED 2024-03-02T10:00:05 2024-03-02T10:42:05   00:42:00 ",
        "5002               eval     FAILED 2024-03-02T11:00:00 2024-03-02T11:01:00   00:01:00 ",
        "123456789012      other  COMPLETED 2024-03-02T11:00:00 2024-03-02T11:01:00   00:01:00 ",
        "12345678901+      batch  COMPLETED 2024-03-02T11:00:00 2024-03-02T11:01:00   00:01:00 ",
    ]
    df, rep = read(write(tmp_path, lines))
    assert rep.n_rejected == 0 and rep.n_folded == 2
    jobs = by_id(df)
    assert sorted(jobs) == ["123456789012", "5001", "5002"]
    assert jobs["5001"]["elapsed_s"] == 2520 and jobs["5002"]["state"] == "FAILED"
    assert any("no JobID column" in n for n in rep.notes)
