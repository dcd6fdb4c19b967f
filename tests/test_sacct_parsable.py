"""sacct --parsable2 / --parsable text: layouts, steps, arrays, het jobs,
rejects and chunking, on small files written here. Expected values are worked
out by hand from the lines below."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.errors import FormatDetectionError, ParseError, UsageError
from rdcost.jobtable import schema
from rdcost.readers import text_lines
from rdcost.readers.base import ParseOptions, Sample
from rdcost.readers.slurm import sacct_parsable as P

GIB, KIB = 1 << 30, 1 << 10

HEAD = (
    "JobID|JobIDRaw|User|Account|Partition|State|ExitCode|Start|End|ElapsedRaw|NCPUS|ReqMem|"
    "AllocTRES|MaxRSS|ConsumedEnergyRaw|NodeList"
)
# spec/formats.md §1.9, first constructed example
ONE_JOB = [
    "48213|48213|alice|nlp|gpu|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T12:05:10|14400|16|128G|"
    "billing=16,cpu=16,gres/gpu:a100=4,gres/gpu=4,mem=128G,node=1||3600000|gpu017",
    "48213.batch|48213.batch||nlp||COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T12:05:10|14400|16||"
    "cpu=16,gres/gpu:a100=4,gres/gpu=4,mem=128G,node=1|2211840K|3420000|gpu017",
    "48213.extern|48213.extern||nlp||COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T12:05:11|14401|16||"
    "billing=16,cpu=16,gres/gpu:a100=4,gres/gpu=4,mem=128G,node=1|1024K|3600000|gpu017",
    "48213.0|48213.0||nlp||COMPLETED|0:0|2024-03-01T08:05:40|2024-03-01T12:04:58|14358|16||"
    "cpu=16,gres/gpu:a100=4,gres/gpu=4,mem=128G,node=1|41943040K|3415000|gpu017",
]
# second constructed example: array, het job, pending cancel, running job
MIXED = [
    "9001_[7-20%4]|9001|bob|cv|gpu|PENDING|0:0|Unknown|Unknown|0|0|32G||||None assigned",
    "9001_3|9004|bob|cv|gpu|COMPLETED|0:0|2024-03-02T10:00:05|2024-03-02T10:42:05|2520|8|32G|"
    "billing=8,cpu=8,gres/gpu=1,mem=32G,node=1||0|gpu003",
    "9001_3.batch|9004.batch||cv||COMPLETED|0:0|2024-03-02T10:00:05|2024-03-02T10:42:05|2520|8||"
    "cpu=8,gres/gpu=1,mem=32G,node=1|9437184K|0|gpu003",
    "7700+0|7700|carol|phys|cpu|COMPLETED|0:0|2024-03-02T11:00:00|2024-03-02T12:00:00|3600|4|16G|"
    "billing=4,cpu=4,mem=16G,node=1||0|cn101",
    "7700+1|7701|carol|phys|gpu|COMPLETED|0:0|2024-03-02T11:00:00|2024-03-02T12:00:00|3600|2|8G|"
    "billing=2,cpu=2,gres/gpu=2,mem=8G,node=1||0|gpu020",
    "8120|8120|dave|nlp|gpu|CANCELLED by 10234|0:0|2024-03-03T09:30:00|2024-03-03T09:30:00|0|0|64G||||None assigned",
    "8130|8130|erin|nlp|gpu|RUNNING|0:0|2024-03-03T10:00:00|Unknown|5400|32|256G|"
    "billing=32,cpu=32,gres/gpu=8,mem=256G,node=1||0|gpu021",
]


def write(
    tmp_path: Path, lines: list[str] | str | bytes, name: str = "sacct.txt", end: str = "\n"
) -> Path:
    p = tmp_path / name
    text = lines if isinstance(lines, (str, bytes)) else end.join(lines) + end
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def read(path: Path, **opts):
    return read_log_report(path, format="sacct-parsable", **opts)


def by_id(df: pd.DataFrame) -> dict:
    return {r["job_id"]: r for _, r in df.iterrows()}


# ---------------------------------------------------------------- allocations and steps


def test_steps_fold_into_their_allocation_and_are_not_counted_twice(tmp_path):
    df, rep = read(write(tmp_path, [HEAD] + ONE_JOB))
    assert (rep.n_records, rep.n_jobs, rep.n_folded, rep.n_ignored, rep.n_rejected) == (
        5,
        1,
        3,
        1,
        0,
    )
    j = df.iloc[0]
    assert j["job_id"] == "48213" and j["job_id_raw"] == "48213" and j["source_line"] == 2
    assert j["n_gpus"] == 4.0 and j["gpu_type"] == "a100"  # not 4 + 4, not 4 x 4 lines
    assert j["elapsed_s"] == 14400.0 and j["n_cpus"] == 16
    assert j["energy_j"] == 3600000.0  # the allocation's, not the steps' sum
    assert j["max_rss_bytes"] == 41943040 * KIB  # largest step
    assert j["mem_req_bytes"] == 128 * GIB
    assert j["start_time"] == pd.Timestamp("2024-03-01T08:05:10Z")
    assert j["user"] == "alice" and j["node_list"] == "gpu017" and j["state"] == "COMPLETED"
    assert j["source"] == "slurm" and j["source_format"] == "sacct-parsable2"
    assert schema.validate(df) == []


def test_arrays_het_jobs_pending_remainders_and_running_jobs(tmp_path):
    df, rep = read(write(tmp_path, [HEAD] + MIXED))
    assert rep.n_jobs == 6 and rep.n_folded == 1 and rep.n_rejected == 0
    j = by_id(df)
    pend = j["9001_[7-20%4]"]
    assert (
        pend["state"] == "PENDING"
        and pend["array_job_id"] == "9001"
        and pd.isna(pend["array_task_id"])
    )
    assert pend["n_gpus"] == 0.0 and pend["group_id"] == "9001" and pend["group_source"] == "array"
    assert pd.isna(pend["start_time"]) and pd.isna(pend["node_list"])
    assert pend["record_key"] == "slurm::9001_[]:"
    task = j["9001_3"]
    assert (
        task["job_id_raw"] == "9004" and task["array_task_id"] == 3 and task["group_id"] == "9001"
    )
    assert (
        task["n_gpus"] == 1.0
        and task["max_rss_bytes"] == 9437184 * KIB
        and task["elapsed_s"] == 2520.0
    )
    h0, h1 = j["7700+0"], j["7700+1"]
    assert (h0["het_job_id"], h0["het_offset"], h0["job_id_raw"], h0["n_gpus"]) == (
        "7700",
        0,
        "7700",
        0.0,
    )
    assert (h1["het_job_id"], h1["het_offset"], h1["job_id_raw"], h1["n_gpus"]) == (
        "7700",
        1,
        "7701",
        2.0,
    )
    assert pd.isna(h0["energy_j"])  # 0 J = no energy plugin, not a measurement
    cancelled = j["8120"]
    assert cancelled["state"] == "CANCELLED" and cancelled["state_raw"] == "CANCELLED by 10234"
    assert cancelled["n_gpus"] == 0.0 and cancelled["elapsed_s"] == 0.0  # never ran
    running = j["8130"]
    assert (
        running["state"] == "RUNNING" and pd.isna(running["end_time"]) and running["n_gpus"] == 8.0
    )
    assert pd.isna(running["exit_code"]) and pd.isna(
        pend["exit_code"]
    )  # '0:0' of an unfinished job
    assert task["exit_code"] == 0 and task["exit_signal"] == 0
    assert schema.validate(df) == []


def test_parsable_with_trailing_delimiter(tmp_path):
    lines = ["JobID|State|Elapsed|", "77|COMPLETED|01:00:00|", "77.batch|COMPLETED|01:00:00|"]
    df, rep = read(write(tmp_path, lines))
    assert rep.format == "sacct-parsable" and rep.n_jobs == 1 and rep.n_folded == 1
    assert df.iloc[0]["elapsed_s"] == 3600.0


@pytest.mark.parametrize(
    "delim", [pytest.param("\t", id="tab"), pytest.param("\x1f", id="unit-separator")]
)
def test_other_delimiters(tmp_path, delim):
    lines = [
        delim.join(["JobID", "State", "JobName", "ElapsedRaw"]),
        delim.join(["5", "FAILED", "a|b", "60"]),
        delim.join(["5.0", "FAILED", "x", "59"]),
    ]
    df, rep = read(write(tmp_path, lines))
    assert rep.n_jobs == 1 and rep.n_folded == 1
    assert df.iloc[0]["job_name"] == "a|b" and df.iloc[0]["elapsed_s"] == 60.0
    assert P.sniff(Sample.read(tmp_path / "sacct.txt"))


def test_crlf_bom_quotes_and_bad_utf8(tmp_path):
    text = ('\ufeffJobID|State|JobName\r\n1|COMPLETED|"quoted\r\n').encode(
        "utf-8"
    ) + b"2|FAILED|caf\xe9\r\n"
    df, rep = read(write(tmp_path, text))
    assert rep.n_jobs == 2 and rep.n_rejected == 0
    j = by_id(df)
    assert j["1"]["job_name"] == '"quoted'
    assert j["2"]["job_name"] == "caf\ufffd"


# ---------------------------------------------------------------- header-less files

NOHEAD = ["COMPLETED|101|00:10:00|4", "COMPLETED|101.batch|00:10:00|4", "FAILED|102_3|00:00:05|1"]


def test_headerless_file_asks_for_fields(tmp_path):
    p = write(tmp_path, NOHEAD)
    assert P.sniff(Sample.read(p))  # ours: it is sacct text
    with pytest.raises(FormatDetectionError) as e:
        read(p)
    msg = str(e.value)
    assert "--fields" in msg and "4 fields" in msg and "JobID,State" in msg


def test_headerless_file_with_fields_matched_like_sacct(tmp_path):
    p = write(tmp_path, NOHEAD)
    df, rep = read(p, fields=["state", "JOBID", "elapsed", "ncpus"])  # prefix, any case
    assert rep.n_jobs == 2 and rep.n_folded == 1 and rep.n_ignored == 0
    j = by_id(df)
    assert j["101"]["elapsed_s"] == 600.0 and j["101"]["n_cpus"] == 4
    assert j["102_3"]["array_task_id"] == 3 and j["102_3"]["state"] == "FAILED"


def test_fields_that_do_not_fit_are_usage_errors(tmp_path):
    p = write(tmp_path, NOHEAD)
    with pytest.raises(UsageError, match="3 columns but the lines have 4"):
        read(p, fields=["State", "JobID", "Elapsed"])
    with pytest.raises(UsageError, match="not sacct field names: Bogus"):
        read(p, fields=["State", "JobID", "Elapsed", "Bogus"])
    h = write(tmp_path, [HEAD] + ONE_JOB, name="h.txt")
    with pytest.raises(UsageError, match="header"):
        read(h, fields=["JobID", "State"])
    with pytest.raises(
        FormatDetectionError, match="--delimiter '\\|\\|' does not occur in the first line"
    ):
        read(h, delimiter="||")


def test_no_jobid_column_is_refused(tmp_path):
    p = write(tmp_path, ["State|Elapsed|NCPUS", "COMPLETED|00:01:00|1"])
    with pytest.raises(ParseError, match="no JobID or JobIDRaw column"):
        read(p)


# ---------------------------------------------------------------- rejects and accounting


def test_wrong_field_count_is_rejected_with_its_line(tmp_path):
    lines = (
        [HEAD]
        + ONE_JOB[:1]
        + [
            "48214|48214|bob|nlp|gpu|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|3600|1|1G|cpu=1|x|y||0|n1",
            "48215|48215|bob|nlp|gpu|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|3600|1",
        ]
    )
    df, rep = read(write(tmp_path, lines))
    assert rep.n_jobs == 1 and rep.n_rejected == 2
    assert rep.n_records == rep.n_jobs + rep.n_folded + rep.n_ignored + rep.n_rejected
    lines_rej = sorted((e.line, e.reason) for e in rep.examples)
    assert lines_rej[0][0] == 3 and "18 fields where the header has 16" in lines_rej[0][1]
    assert (
        "no field of the header holds free text that could contain the delimiter" in lines_rej[0][1]
    )
    assert lines_rej[1][0] == 4 and "11 fields where the header has 16" in lines_rej[1][1]


def test_on_bad_row_raise_stops_at_the_first_bad_line(tmp_path):
    lines = (
        [HEAD]
        + ONE_JOB
        + [
            "48300|48300|bob|nlp|gpu|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|12:00|1|1G|cpu=1||0|n1",
            "48301|48301|bob|nlp|gpu|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|3600|1|1G|cpu=1|||n1|extra",
        ]
    )
    with pytest.raises(ParseError) as e:
        read(write(tmp_path, lines), on_bad_row="raise")
    err = e.value
    assert err.line == 6 and err.column == "ElapsedRaw" and err.value == "12:00"
    assert err.expected == "a non-negative integer"
    assert f"{tmp_path / 'sacct.txt'}:6: column 'ElapsedRaw'" in str(err)


def test_bad_values_reject_the_record_with_column_value_and_expected(tmp_path):
    lines = [HEAD] + [
        "1|1|u|a|p|COMPLETED|0:0|2024-03-01T08:05:10|2024-02-30T09:05:10|60|1|1G|cpu=1||0|n1",
        "2|2|u|a|p|DONE|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|60|1|1G|cpu=1||0|n1",
        "3|3|u|a|p|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|60|1|1G|gres/gpu=NONE||0|n1",
        "4|4|u|a|p|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|60|1|4000Mx|cpu=1||0|n1",
        "4.batch|4.batch||a||COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|60|1||cpu=1|5K|0|n1",
        "x5|5|u|a|p|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|60|1|1G|cpu=1||0|n1",
        "6|6|u|a|p|COMPLETED|0:0|2024-03-01T08:05:10|2024-03-01T09:05:10|60|1|1G|cpu=1||0|n1",
    ]
    df, rep = read(write(tmp_path, lines))
    assert df["job_id"].tolist() == ["6"]
    got = {(r.line, r.column, r.value) for r in _all_rejects(tmp_path / "sacct.txt")}
    assert got == {
        (2, "End", "2024-02-30T09:05:10"),
        (3, "State", "DONE"),
        (4, "AllocTRES", "gres/gpu=NONE"),
        (5, "ReqMem", "4000Mx"),
        (6, "JobID", "4.batch"),
        (7, "JobID", "x5"),
    }
    assert rep.n_records == 8 and rep.n_folded == 0 and rep.n_rejected == 6


def _all_rejects(path: Path, **opts):
    chunks = list(P.parse(path, ParseOptions(**opts)))
    return [r for c in chunks for r in c.rejected]


def test_steps_whose_allocation_is_missing_make_one_inferred_allocation(tmp_path):
    """`sacct -j 500.batch` or a filtered export: the steps of job 500 without its
    allocation line give one allocation, flagged as inferred, with values from its steps."""
    steps = [line.replace("48213", "500") for line in ONE_JOB[1:]]
    df, rep = read(write(tmp_path, [HEAD, *steps, ONE_JOB[0]]))
    assert rep.n_jobs == 2 and rep.n_rejected == 0 and rep.n_inferred == 1
    assert rep.n_folded == 2  # three step lines: one stands for the job, two fold in
    j = df.set_index("job_id").loc["500"]
    assert bool(j["is_inferred"]) and j["source_line"] == 2
    assert j["start_time"] == pd.Timestamp("2024-03-01T08:05:10Z")  # the first step's start
    assert j["end_time"] == pd.Timestamp("2024-03-01T12:05:11Z")  # the last step's end
    assert j["elapsed_s"] == 14401 and j["n_gpus"] == 4 and j["n_cpus"] == 16
    assert j["state"] == "COMPLETED" and j["account"] == "nlp"
    assert j["max_rss_bytes"] == 41943040 * KIB and j["energy_j"] == 3600000  # extern's energy
    assert pd.isna(j["user"]) and pd.isna(j["job_name"])  # not on step lines
    assert not df.set_index("job_id").loc["48213", "is_inferred"]


def test_steps_of_a_rejected_allocation_say_so(tmp_path):
    bad = ONE_JOB[0].replace("|16|128G|", "|sixteen|128G|")
    df, rep = read(write(tmp_path, [HEAD, bad, ONE_JOB[1]]))
    assert rep.n_jobs == 0 and rep.n_rejected == 2
    assert "its allocation record (line 2) was rejected" in rep.examples[1].reason


def test_a_bad_step_value_rejects_the_step_and_keeps_the_job(tmp_path):
    lines = [HEAD] + ONE_JOB[:3] + [ONE_JOB[3].replace("41943040K", "4194304OK")]
    df, rep = read(write(tmp_path, lines))
    assert rep.n_jobs == 1 and rep.n_folded == 2 and rep.n_rejected == 1
    assert rep.examples[0].column == "MaxRSS" and rep.examples[0].line == 5
    assert df.iloc[0]["max_rss_bytes"] == 2211840 * KIB  # the largest of the readable steps


def test_blank_comment_and_repeated_header_lines_are_ignored(tmp_path):
    lines = ["", "# exported by me", HEAD] + ONE_JOB[:2] + ["", "# more", HEAD] + MIXED[-1:]
    df, rep = read(write(tmp_path, lines))
    assert rep.n_jobs == 2 and rep.n_folded == 1 and rep.n_ignored == 6 and rep.n_rejected == 0
    assert by_id(df)["8130"]["source_line"] == 9


def test_duplicate_records_are_merged_final_state_wins(tmp_path):
    lines = [
        "JobID|State|Submit|ElapsedRaw",
        "9|COMPLETED|2024-01-01T00:00:00|100",
        "9|RUNNING|2024-01-01T00:00:00|50",
        "9|RUNNING|2024-01-02T00:00:00|10",
    ]  # requeued: another submit time, another record
    df, rep = read(write(tmp_path, lines))
    assert rep.n_jobs == 2 and rep.n_merged == 1
    first = df[df["submit_time"] == pd.Timestamp("2024-01-01T00:00:00Z")].iloc[0]
    assert first["state"] == "COMPLETED" and first["elapsed_s"] == 100.0


# ---------------------------------------------------------------- usage rules

E_HEAD = "JobID|State|ElapsedRaw|ConsumedEnergyRaw|TotalCPU"


@pytest.mark.parametrize(
    "lines,energy",
    [
        pytest.param(["1|COMPLETED|100|1000|00:00:10"], 1000.0, id="allocation-value"),
        pytest.param(
            [
                "1|COMPLETED|100||00:00:10",
                "1.batch|COMPLETED|100|300|",
                "1.extern|COMPLETED|100|500|",
                "1.0|COMPLETED|90|400|",
            ],
            500.0,
            id="extern-step-covers-the-job",
        ),
        pytest.param(
            ["1|COMPLETED|100||00:00:10", "1.batch|COMPLETED|100|300|", "1.0|COMPLETED|90|400|"],
            None,
            id="no-extern-overlapping-steps-never-added",
        ),
        pytest.param(
            ["1|COMPLETED|100|0|00:00:10", "1.batch|COMPLETED|100|0|"], None, id="zero-is-no-plugin"
        ),
    ],
)
def test_energy_rule(tmp_path, lines, energy):
    df, _ = read(write(tmp_path, [E_HEAD] + lines))
    v = df.iloc[0]["energy_j"]
    assert math.isnan(v) if energy is None else v == energy


@pytest.mark.parametrize(
    "lines,cpu",
    [
        pytest.param(["1|COMPLETED|100||00:01:10"], 70.0, id="allocation-value"),
        pytest.param(["1|COMPLETED|100||00:00:00"], None, id="zero-without-steps-is-sacct-X"),
        pytest.param(
            ["1|COMPLETED|100||00:00:00", "1.batch|COMPLETED|100||00:00:00"],
            0.0,
            id="zero-with-steps",
        ),
        pytest.param(["1|CANCELLED|0||00:00:00"], 0.0, id="never-ran"),
        pytest.param(
            ["1|COMPLETED|100||", "1.batch|COMPLETED|100||00:10.5", "1.0|COMPLETED|90||01:00"],
            70.5,
            id="missing-on-allocation-sum-of-steps",
        ),
        pytest.param(
            [
                "1|COMPLETED|100||00:00:00",
                "1.batch|COMPLETED|100||00:02",
                "1.0|COMPLETED|90||00:03",
            ],
            5.0,
            id="zero-on-allocation-sum-of-steps",
        ),
    ],
)
def test_total_cpu_rule(tmp_path, lines, cpu):
    df, _ = read(write(tmp_path, [E_HEAD] + lines))
    v = df.iloc[0]["total_cpu_s"]
    assert math.isnan(v) if cpu is None else v == pytest.approx(cpu)


def test_old_reqmem_and_gres(tmp_path):
    lines = [
        "JobID|State|NCPUS|NNodes|ReqCPUS|ReqMem|AllocGRES",
        "1|COMPLETED|8|1|8|4000Mc|gpu:tesla:2",
        "2|CANCELLED|0|1|4|1000Mc|",
        "3|COMPLETED|2|2|2|64Gn|",
    ]
    df, _ = read(write(tmp_path, lines))
    j = by_id(df)
    assert (
        j["1"]["mem_req_bytes"] == 8 * 4000 << 20
        and j["1"]["n_gpus"] == 2.0
        and j["1"]["gpu_type"] == "tesla"
    )
    assert j["2"]["mem_req_bytes"] == 4 * 1000 << 20  # never started: requested CPUs
    assert (
        j["2"]["n_gpus"] == 0.0
        and j["3"]["mem_req_bytes"] == 2 * 64 * GIB
        and j["3"]["n_gpus"] == 0.0
    )


def test_a_second_source_column_is_read_where_the_first_is_empty(tmp_path):
    lines = [
        "JobID|State|ElapsedRaw|Elapsed|NCPUS|AllocCPUS",
        "1|COMPLETED|60|99:99:99|2|2",  # Elapsed not read: ElapsedRaw has the value
        "2|COMPLETED||00:02:30|3|",
        "3|COMPLETED||bad||4",
    ]
    df, rep = read(write(tmp_path, lines))
    assert df["elapsed_s"].tolist() == [60.0, 150.0] and df["n_cpus"].tolist() == [2, 3]
    assert [(r.line, r.column, r.value) for r in rep.examples] == [(4, "Elapsed", "bad")]


# ---------------------------------------------------------------- options


def test_tz_and_cluster_options(tmp_path):
    lines = ["JobID|State|Submit|Start", "1|COMPLETED|2024-07-01T12:00:00|2024-07-01T12:00:05"]
    df, _ = read(write(tmp_path, lines), tz="Europe/Berlin", cluster="alpha")
    j = df.iloc[0]
    assert j["submit_time"] == pd.Timestamp("2024-07-01T10:00:00Z")
    assert j["cluster"] == "alpha" and j["record_key"] == "slurm:alpha:1:2024-07-01T10:00:00Z"
    lines = ["JobID|Cluster|State", "1|cedar|COMPLETED"]
    df, _ = read(write(tmp_path, lines, name="c.txt"), cluster="alpha")
    assert df.iloc[0]["cluster"] == "cedar" and df.iloc[0]["record_key"].startswith(
        "slurm:cedar:1:"
    )


# ---------------------------------------------------------------- streaming


def _many_jobs(n: int) -> list[str]:
    out = ["JobID|State|ElapsedRaw|MaxRSS"]
    for i in range(n):
        out += [
            f"{1000 + i}|COMPLETED|{i}|",
            f"{1000 + i}.batch|COMPLETED|{i}|{i + 1}K",
            f"{1000 + i}.extern|COMPLETED|{i}|1K",
        ]
        if i == 7:
            out.append("1007.0|COMPLETED|7|bad|x")  # wrong count inside a job
        if i == 20:
            out += ["", "# comment"]
    return out


def test_chunks_never_split_a_job_and_each_accounts_for_its_records(tmp_path, monkeypatch):
    monkeypatch.setattr(text_lines, "BLOCK_BYTES", 256)  # many small blocks of lines
    p = write(tmp_path, _many_jobs(30))
    chunks = list(P.parse(p, ParseOptions(chunk_rows=4)))
    assert len(chunks) > 5
    for c in chunks:
        c.check_accounting()
    assert sum(len(c.jobs) for c in chunks) == 30
    assert sum(c.n_folded for c in chunks) == 60
    assert sum(len(c.rejected) for c in chunks) == 1
    assert sum(c.n_records for c in chunks) == 1 + 90 + 1 + 2
    assert [r.line for c in chunks for r in c.rejected] == [1 + 8 * 3 + 1]
    rss = pd.concat([c.jobs for c in chunks]).set_index("job_id")["max_rss_bytes"]
    assert all(rss[str(1000 + i)] == (i + 1) * KIB for i in range(30))
    assert chunks[-1].bytes_done == p.stat().st_size
    whole = read(p)[0]
    small = read(p, chunk_rows=4)[0]
    pd.testing.assert_frame_equal(
        whole.drop(columns="source_file"), small.drop(columns="source_file")
    )


def test_raise_gives_the_first_bad_line_of_the_file_even_when_chunks_are_parsed_in_parallel(
    tmp_path,
):
    import threading

    lines = _many_jobs(40)
    lines.remove("1007.0|COMPLETED|7|bad|x")
    early, late = lines.index("1009|COMPLETED|9|"), lines.index("1030|COMPLETED|30|")
    lines[late] = "1030|DONE|30|"
    lines[early] = "1009|FINISHED|9|"
    p = write(tmp_path, lines)
    with pytest.raises(ParseError) as e:
        list(P.parse(p, ParseOptions(chunk_rows=5, on_bad_row="raise")))
    assert e.value.line == early + 1 and e.value.value == "FINISHED" and e.value.column == "State"
    assert [t.name for t in threading.enumerate() if t.name.startswith("sacct")] == []


def test_one_big_block_is_still_cut_into_chunks_of_about_chunk_rows(tmp_path):
    p = write(tmp_path, _many_jobs(30))
    chunks = list(P.parse(p, ParseOptions(chunk_rows=6)))
    sizes = [c.n_records for c in chunks]
    assert (
        len(chunks) >= 10 and max(sizes[:-1]) <= 6 + 3 + 2
    )  # one job (3-4 lines) over, plus blanks
    assert sum(len(c.jobs) for c in chunks) == 30 and sum(c.n_folded for c in chunks) == 60


# ---------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    "text,claimed",
    [
        pytest.param(HEAD + "\n" + ONE_JOB[0] + "\n", True, id="parsable2-header"),
        pytest.param(
            "Account|UID|JobID|JobName|State|Start|End|\nx|1|5|n|RUNNING|Unknown|Unknown|\n",
            True,
            id="parsable-trailing",
        ),
        pytest.param("\n".join(NOHEAD) + "\n", True, id="headerless"),
        pytest.param("JobID,State,Elapsed\n1,COMPLETED,00:01:00\n", False, id="comma-csv"),
        pytest.param(
            "JobID           JobName      State \n------------ ---------- ---------- \n"
            "1                  x  COMPLETED \n",
            False,
            id="fixed-width",
        ),
        pytest.param("name|value\na|1\nb|2\n", False, id="other-pipe-table"),
        pytest.param("1|2|3\n4|5|6\n", False, id="numbers-only"),
        pytest.param("run_id|state\nabc|finished\n", False, id="not-sacct-names"),
    ],
)
def test_sniff(tmp_path, text, claimed):
    p = write(tmp_path, text)
    assert P.sniff(Sample.read(p)) is claimed


# ---------------------------------------------------------------- free text holding the delimiter

FREE_HEAD = "JobID|JobName|State|Comment|Start|End|ElapsedRaw|SubmitLine|NCPUS"
FREE_JOB = (
    "7|cat|COMPLETED|sort | uniq|2024-03-01T08:00:00|2024-03-01T09:00:00|3600|"
    "sbatch --wrap 'cat x | wc -l'|4"
)


@pytest.mark.parametrize("trailing", [False, True], ids=["parsable2", "parsable"])
def test_a_pipe_in_comment_and_submit_line_is_read_back(tmp_path, trailing):
    """Typed fields between the free-text ones leave one reading: the values as --json gives them."""
    end = "|" if trailing else ""
    df, rep = read(write(tmp_path, [FREE_HEAD + end, FREE_JOB + end]))
    assert (rep.n_jobs, rep.n_rejected) == (1, 0)
    j = df.iloc[0]
    assert j["elapsed_s"] == 3600 and j["n_cpus"] == 4 and j["state"] == "COMPLETED"
    assert j["source_line"] == 2


def test_adjacent_free_text_fields_with_a_pipe_are_ambiguous(tmp_path):
    head = "JobID|State|Comment|SubmitLine|ElapsedRaw"
    df, rep = read(write(tmp_path, [head, "7|COMPLETED|a | b|sbatch x|60", "8|COMPLETED|c|d|60"]))
    assert (rep.n_jobs, rep.n_rejected) == (1, 1)
    r = rep.examples[0]
    assert r.line == 2 and "could belong to several of Comment, SubmitLine" in r.reason
    assert "re-export with an unusual --delimiter" in r.reason


def test_a_step_of_a_line_that_no_reading_fits_names_it(tmp_path):
    head = "JobID|JobName|State|ElapsedRaw"
    lines = [head, "7|a|b|COMPLETED|x", "7.batch|batch|COMPLETED|60"]
    df, rep = read(write(tmp_path, lines))
    assert rep.n_jobs == 0 and rep.n_rejected == 2
    assert (
        "no way of reading the 1 extra '|' as part of JobName gives valid values"
        in rep.examples[0].reason
    )
    assert rep.examples[1].reason.startswith("its allocation record (line 2) was rejected: ")


# ---------------------------------------------------------------- line numbers


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 200_000])
def test_source_line_is_the_line_in_the_file_whatever_the_chunks(tmp_path, monkeypatch, chunk_rows):
    """Malformed, blank and comment lines before, after and on chunk boundaries: every
    stored job's source_line is the line it was read from."""
    monkeypatch.setattr(text_lines, "BLOCK_BYTES", 97)  # blocks end mid-line and mid-job
    out = ["JobID|State|ElapsedRaw|NCPUS"]
    expect = {}
    for i in range(40):
        if i % 5 == 2:
            out.append(f"{900 + i}|COMPLETED|60")  # too few fields: rejected
        if i % 7 == 3:
            out += ["", "# note"]
        out.append(f"{100 + i}|COMPLETED|60|1")
        expect[str(100 + i)] = len(out)
        out.append(f"{100 + i}.batch|COMPLETED|60|1")
    df, rep = read(write(tmp_path, out), chunk_rows=chunk_rows)
    assert rep.n_rejected == 8 and rep.n_jobs == 40
    assert dict(zip(df["job_id"], df["source_line"], strict=True)) == expect
    assert sorted(e.line for e in _all_rejects(write(tmp_path, out), chunk_rows=chunk_rows)) == [
        i + 1 for i, line in enumerate(out) if line.startswith("9")
    ]


@pytest.mark.parametrize("delim", ["^|^", "☃", ";", "::", " ~ ", "☃☃"])
def test_a_sacct_header_with_its_own_delimiter_is_detected(tmp_path, delim):
    """`sacct -P --delimiter=...` with a header: found without --format or --delimiter."""
    from rdcost.readers.registry import detect

    f = tmp_path / "d.txt"
    f.write_text(
        delim.join(["JobID", "State", "Elapsed", "AllocTRES"])
        + "\n"
        + delim.join(["1", "COMPLETED", "00:10:00", "cpu=2,gres/gpu=1"])
        + "\n",
        encoding="utf-8",
    )
    assert detect(f) == "sacct-parsable"
    df, rep = read_log_report(f)
    assert rep.n_rejected == 0 and df["n_gpus"].tolist() == [1]
    assert df["elapsed_s"].tolist() == [600]
