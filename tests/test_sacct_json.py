"""sacct --json / slurmrestd slurmdb jobs: every data_parser version, every encoding.

Expected values are worked out by hand from the input files: epochs converted with
`date -u -d @N`, fixture times are B = 1710000000 (2024-03-09T16:00:00Z) plus the
offsets written in tests/data/sacct_json, memory MB x 1048576.
"""

from __future__ import annotations

import importlib
import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdcost.errors import FormatDetectionError, ParseError
from rdcost.jobtable import schema
from rdcost.readers.base import ParseOptions, Sample
from rdcost.readers.ingest import iter_chunks, read_log_report
from rdcost.readers.slurm import sacct_json
from rdcost.readers.slurm.record_keys import slurm_record_keys

from .conftest import realworld_file

DATA = Path(__file__).parent / "data" / "sacct_json"
FIXTURES = sorted(DATA.glob("*.json"))
REAL = [
    "sarc_sacct_json_slurm_21_8_8.json",
    "sarc_sacct_json_slurm_23_11_5.json",
    "slurmweb_slurmdb_v0041_s2405_gpus_completed.json",
]


def read(path, **options):
    df, report = read_log_report(path, format="sacct-json", **options)
    assert schema.validate(df) == [], schema.validate(df)
    return df, report


def by_id(df: pd.DataFrame) -> dict[str, dict]:
    return {r["job_id"]: r for r in df.to_dict("records")}


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def isnull(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def check(row: dict, **expected) -> None:
    for k, v in expected.items():
        if v is None:
            assert isnull(row[k]), f"{k}: expected null, got {row[k]!r}"
        else:
            assert not isnull(row[k]), f"{k}: expected {v!r}, got null"
            assert row[k] == v, f"{k}: expected {v!r}, got {row[k]!r}"


# ------------------------------------------------------------------ real files


def test_real_dbv0037_slurm_21_08(realworld):
    df, rep = read(realworld_file(REAL[0]))
    assert (rep.n_records, rep.n_jobs, rep.n_folded) == (1, 1, 0)
    (row,) = df.to_dict("records")
    check(
        row,
        job_id="55978384",
        job_id_raw="55978384",
        cluster="cedar",
        state="REQUEUED",
        state_raw="REQUEUED",
        source="slurm",
        source_format="sacct-json/dbv0.0.37",
        submit_time=ts("2023-01-09T14:37:03Z"),
        # time.start holds the eligible time (dbv0.0.37 bug): start = end - elapsed
        start_time=ts("2023-01-09T16:51:25Z"),
        end_time=ts("2023-01-10T16:49:46Z"),
        elapsed_s=86301.0,
        timelimit_s=1440 * 60.0,
        n_nodes=1,
        n_cpus=4,
        n_gpus=1.0,
        gpu_type=None,
        mem_req_bytes=40960 * 1048576,
        user="purah",
        account="rrg-bengioy-ad_gpu",
        partition="gpubackfill",
        qos="normal",
        job_name="submitit",
        node_list="cdr896",
        exit_code=0,
        exit_signal=0,
        total_cpu_s=None,
        energy_j=None,
        max_rss_bytes=None,
        array_job_id=None,
        het_job_id=None,
        source_line=None,
        record_key="slurm:cedar:55978384:2023-01-09T14:37:03Z",
    )


def test_real_v0040_slurm_23_11_running(realworld):
    df, rep = read(realworld_file(REAL[1]))
    (row,) = df.to_dict("records")
    check(
        row,
        job_id="4",
        cluster="mila",
        state="RUNNING",
        state_raw="RUNNING",
        source_format="sacct-json/v0.0.40",
        submit_time=ts("2021-02-19T09:00:09Z"),
        start_time=ts("2021-02-19T09:00:09Z"),
        end_time=None,
        elapsed_s=102228976.0,
        timelimit_s=7200 * 60.0,
        n_gpus=2.0,
        gpu_type=None,
        n_cpus=4,
        mem_req_bytes=32768 * 1048576,
        node_list="mila02",
        user="masterkohga",
        # a running job has no exit status yet; energy count -2 is NO_VAL
        exit_code=None,
        exit_signal=None,
        energy_j=None,
    )


def test_real_slurmrestd_v0041_no_gres_tracked(realworld):
    df, rep = read(realworld_file(REAL[2]))
    assert (rep.n_records, rep.n_jobs, rep.n_folded, rep.n_rejected) == (2, 1, 1, 0)
    (row,) = df.to_dict("records")
    check(
        row,
        job_id="10",
        cluster="hpc",
        state="COMPLETED",
        source_format="sacct-json/v0.0.41",
        submit_time=ts("2025-11-07T15:34:14Z"),
        start_time=ts("2025-11-07T15:34:15Z"),
        end_time=ts("2025-11-07T15:34:45Z"),
        elapsed_s=30.0,
        timelimit_s=60.0,
        n_cpus=1,
        n_nodes=1,
        # accounting tracks no gres here: the TRES list says 0 GPUs (see docs)
        n_gpus=0.0,
        gpu_type=None,
        mem_req_bytes=512 * 1048576,
        energy_j=None,
        total_cpu_s=0.0,
        max_rss_bytes=None,
        exit_code=0,
        exit_signal=0,
        node_list="gpu1",
        partition="gpu",
        account="acoustic",
        user="acuevas",
    )


@pytest.mark.parametrize("name", REAL)
def test_real_files_are_claimed_by_the_sniffer(realworld, name):
    assert sacct_json.sniff(Sample.read(realworld_file(name)))


# ------------------------------------------------------------------ constructed fixtures


def test_dbv0038_before_22_05_8():
    df, rep = read(DATA / "dbv0038_slurm_22_05_2.json")
    assert rep.format == "sacct-json/dbv0.0.38"
    assert (rep.n_records, rep.n_jobs, rep.n_folded) == (8, 5, 3)
    rows = by_id(df)
    assert sorted(rows) == ["5001", "5008_2", "5020", "7700+0", "7700+1"]
    # FAILED with exit {status SUCCESS, return_code 0}: the lost exit status is unknown
    check(
        rows["5001"],
        state="FAILED",
        exit_code=None,
        exit_signal=0,
        submit_time=ts("2024-03-09T16:00:00Z"),
        start_time=ts("2024-03-09T16:11:00Z"),
        end_time=ts("2024-03-09T17:11:00Z"),
        elapsed_s=3600.0,
        timelimit_s=7200.0,
        n_cpus=16,
        n_nodes=1,
        n_gpus=4.0,
        gpu_type="titanx",
        mem_req_bytes=131072 * 1048576,
        max_rss_bytes=42949672960,
        # extern step energy only (batch 3420000 + .0 3415000 would double count)
        energy_j=3600000.0,
        # job time.total is 0: finished steps 10 + 0 + 6990.5
        total_cpu_s=7000.5,
        node_list="gpu017",
        cluster="testbed",
        job_name="train_res",
    )
    check(
        rows["5008_2"],
        job_id_raw="5010",
        array_job_id="5008",
        array_task_id=2,
        group_id="5008",
        group_source="array",
        state="CANCELLED",
        exit_code=0,
        exit_signal=15,
        start_time=ts("2024-03-09T16:02:10Z"),
        end_time=ts("2024-03-09T16:22:10Z"),
        n_gpus=1.0,
        gpu_type=None,
        total_cpu_s=120.0,
        timelimit_s=3600.0,
    )
    check(
        rows["5020"],
        state="PENDING",
        start_time=None,
        end_time=None,
        timelimit_s=None,
        n_nodes=2,
        n_cpus=4,  # never started: the request (tres.requested cpu), as sacct text's NCPUS
        n_gpus=0.0,
        mem_req_bytes=16384 * 1048576,
        node_list=None,
        partition="gpu,gpu-long",
        exit_code=None,
        exit_signal=None,
    )
    check(
        rows["7700+0"],
        job_id_raw="7700",
        het_job_id="7700",
        het_offset=0,
        start_time=ts("2024-03-09T16:05:00Z"),
        n_cpus=4,
        n_gpus=0.0,
        user="carol",
    )
    check(rows["7700+1"], job_id_raw="7701", het_job_id="7700", het_offset=1, n_gpus=2.0)


def test_v0039_wrappers_and_old_exit_codes():
    df, rep = read(DATA / "v0039_slurm_23_02_6.json")
    assert rep.format == "sacct-json/v0.0.39"
    assert (rep.n_records, rep.n_folded) == (5, 2)
    rows = by_id(df)
    # v0.0.39 has no start-time bug: start is kept
    check(
        rows["6001"],
        state="COMPLETED",
        exit_code=0,
        exit_signal=0,
        submit_time=ts("2024-03-09T16:16:40Z"),
        start_time=ts("2024-03-09T16:17:10Z"),
        end_time=ts("2024-03-09T18:17:10Z"),
        timelimit_s=28800.0,
        n_gpus=2.0,
        gpu_type="a100",
        mem_req_bytes=274877906944,
        energy_j=5400000.0,
        total_cpu_s=50100.25,
        max_rss_bytes=68719476736,
        cluster="gamma",
    )
    check(
        rows["6002"],
        state="FAILED",
        exit_code=None,
        exit_signal=0,
        timelimit_s=None,
        n_gpus=2.0,
        gpu_type="a100,v100",
        energy_j=None,
        mem_req_bytes=68719476736,
    )
    check(
        rows["6010_2"],
        job_id_raw="6012",
        array_task_id=2,
        state="TIMEOUT",
        exit_code=0,
        start_time=ts("2024-03-09T16:50:05Z"),
        elapsed_s=3630.0,
        timelimit_s=3600.0,
        mem_req_bytes=16000 * 1048576,
        n_gpus=0.0,
    )


def test_v0042_meta_after_jobs_and_new_exit_codes():
    df, rep = read(DATA / "v0042_slurm_24_11_1.json")
    assert rep.format == "sacct-json/v0.0.42"
    assert (rep.n_records, rep.n_jobs, rep.n_folded) == (6, 3, 3)
    rows = by_id(df)
    check(
        rows["7101"],
        cluster="alpha",
        state="FAILED",
        state_raw="FAILED",
        exit_code=3,
        exit_signal=0,
        timelimit_s=1800.0,
        n_gpus=1.0,
        gpu_type="h100",
        energy_j=250000.0,
        max_rss_bytes=2147483648,
        total_cpu_s=3500.0,
        submit_time=ts("2024-03-09T17:23:20Z"),
        start_time=ts("2024-03-09T17:23:30Z"),
        end_time=ts("2024-03-09T17:38:30Z"),
    )
    check(
        rows["7102"], state="CANCELLED", exit_code=0, exit_signal=9, timelimit_s=86400.0, n_gpus=0.0
    )
    check(
        rows["7103"],
        state="RUNNING",
        exit_code=None,
        exit_signal=None,
        end_time=None,
        elapsed_s=1234.0,
    )


def test_v0043_complex_flat_values():
    df, rep = read(DATA / "v0043_complex_slurm_25_05_0.json")
    assert rep.format == "sacct-json/v0.0.43"
    rows = by_id(df)
    check(
        rows["8000_5"],
        job_id_raw="8005",
        array_job_id="8000",
        array_task_id=5,
        state="COMPLETED",
        exit_code=0,
        exit_signal=0,
        timelimit_s=None,
        n_gpus=2.0,
        gpu_type="l40s",
        total_cpu_s=550.0,
        max_rss_bytes=3221225472,
        energy_j=None,
        submit_time=ts("2024-03-09T18:30:00Z"),
        start_time=ts("2024-03-09T18:31:40Z"),
    )
    check(
        rows["8100+0"],
        het_job_id="8100",
        het_offset=0,
        state="PREEMPTED",
        exit_code=0,
        exit_signal=15,
        timelimit_s=7200.0,
        n_nodes=2,
        node_list="cn[01-02]",
    )


def test_v0044_pending_array_remainder_and_reused_ids():
    df, rep = read(DATA / "v0044_slurm_25_11_0.json")
    assert rep.format == "sacct-json/v0.0.44"
    rows = by_id(df)
    check(
        rows["9001_[7-20%4]"],
        job_id_raw="9001",
        array_job_id="9001",
        array_task_id=None,
        group_id="9001",
        state="PENDING",
        n_cpus=8,  # the request, as for 5020 above
        n_gpus=0.0,
        n_nodes=1,
        mem_req_bytes=32768 * 1048576,
        exit_code=None,
        record_key="slurm:beta:9001_[]:2024-03-09T21:33:20Z",
    )
    check(rows["9100_9"], job_id_raw="9100", array_task_id=9, n_gpus=1.0, gpu_type="a100")
    check(
        rows["9200+1"],
        job_id_raw="9201",
        het_offset=1,
        state="OUT_OF_MEMORY",
        exit_code=0,
        exit_signal=9,
        timelimit_s=None,
    )


def test_v0041_spec_example():
    df, _ = read(DATA / "v0041_spec_example.json")
    (row,) = df.to_dict("records")
    check(
        row,
        job_id="9001_3",
        job_id_raw="9004",
        cluster="alpha",
        submit_time=ts("2024-03-02T09:50:00Z"),
        start_time=ts("2024-03-02T10:00:05Z"),
        end_time=ts("2024-03-02T10:42:05Z"),
        elapsed_s=2520.0,
        timelimit_s=7200.0,
        n_cpus=8,
        mem_req_bytes=34359738368,
        n_gpus=1.0,
        max_rss_bytes=9663676416,
        energy_j=None,
    )


def test_same_job_from_text_and_json_has_the_same_record_key(tmp_path):
    df, _ = read(DATA / "v0041_spec_example.json")
    expected = "slurm:alpha:9001_3:2024-03-02T09:50:00Z"
    assert df.loc[0, "record_key"] == expected
    try:
        importlib.import_module("rdcost.readers.slurm.sacct_parsable")
    except ModuleNotFoundError:
        # text parser not there yet: the key of the sacct -P line, built by hand
        text_key = slurm_record_keys(
            pd.Series(["alpha"]), pd.Series(["9001_3"]), pd.Series([ts("2024-03-02T09:50:00Z")])
        )[0]
    else:
        p = tmp_path / "sacct.txt"
        p.write_text(
            "Cluster|JobID|JobIDRaw|State|ExitCode|Submit|Start|End|ElapsedRaw|NCPUS\n"
            "alpha|9001_3|9004|COMPLETED|0:0|2024-03-02T09:50:00|2024-03-02T10:00:05|"
            "2024-03-02T10:42:05|2520|8\n"
        )
        text, _ = read_log_report(p, format="sacct-parsable", tz="UTC")
        text_key = text.loc[0, "record_key"]
    assert text_key == expected


def test_cluster_falls_back_to_the_option(tmp_path):
    doc = {
        "jobs": [
            {
                "job_id": 12,
                "state": {"current": ["COMPLETED"]},
                "time": {"submission": 1710000000},
                "tres": {"allocated": []},
            }
        ]
    }
    p = tmp_path / "nocluster.json"
    p.write_text(json.dumps(doc))
    df, rep = read(p, cluster="zeta")
    assert df.loc[0, "record_key"] == "slurm:zeta:12:2024-03-09T16:00:00Z"
    assert rep.format == "sacct-json/unknown"


# ------------------------------------------------------------------ bad input

BAD_SYNTAX = (
    '{"meta": {"plugin": {"type": "openapi/dbv0.0.37"}},\n'
    ' "jobs": [\n'
    '  {"job_id": 1, "state": {"current": "COMPLETED"},}\n'
    " ]}\n"
)


@pytest.mark.parametrize("read_size", [None, 3, 17])
def test_invalid_json_names_line_and_column(tmp_path, monkeypatch, read_size):
    if read_size:
        monkeypatch.setattr(sacct_json, "READ_SIZE", read_size)
    p = tmp_path / "bad.json"
    p.write_text(BAD_SYNTAX)
    with pytest.raises(ParseError) as ei:
        read(p)
    err = ei.value
    # the '}' after the trailing comma: line 3, column 51
    assert err.line == 3
    assert "column 51" in str(err)
    assert str(err).startswith(f"{p}:3: invalid JSON")


def test_truncated_file_is_a_parse_error(tmp_path):
    p = tmp_path / "cut.json"
    p.write_text('{"jobs": [{"job_id": 1, "name": "ab')
    with pytest.raises(ParseError) as ei:
        read(p)
    assert ei.value.line == 1 and "column 33" in str(ei.value)


@pytest.mark.parametrize(
    "text, says",
    [
        ('[{"name": "run-1", "state": "finished"}]', "array"),
        ('{"runs": [{"id": "a1"}], "project": "p"}', "top-level keys: runs, project"),
        ('{"id": "a1", "state": "finished"}\n{"id": "a2", "state": "crashed"}\n', "JSON Lines"),
        ('{"jobs": {"job_id": 1}}', "'jobs' is a JSON dict"),
        (
            '{"meta": {"plugin": {"type": "openapi/slurmctld", "data_parser": "data_parser/v0.0.41"},'
            ' "slurm": {"release": "24.05.3"}}, "jobs": [{"job_id": 5, "job_state": ["RUNNING"]}]}',
            "squeue",
        ),
    ],
    ids=["wandb-list", "other-object", "jsonl", "jobs-not-list", "squeue"],
)
def test_json_that_is_not_sacct_is_a_detection_error(tmp_path, text, says):
    p = tmp_path / "other.json"
    p.write_text(text)
    with pytest.raises(FormatDetectionError) as ei:
        read(p)
    assert says in str(ei.value)


def test_not_json_at_all_is_a_parse_error(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("JobID|State\n1|COMPLETED\n")
    with pytest.raises(ParseError) as ei:
        read(p)
    assert ei.value.line == 1 and "found 'J'" in str(ei.value)


def _bad_jobs_doc(tmp_path) -> Path:
    good = {
        "job_id": 1,
        "state": {"current": ["COMPLETED"]},
        "time": {"submission": 1710000000},
        "steps": [{"step": {"id": "1.batch"}}, {"step": {"id": "1.extern"}}],
    }
    no_id = {"name": "x", "state": {"current": ["COMPLETED"]}, "steps": [{"step": {"id": "2.0"}}]}
    bad_state = {"job_id": 3, "state": {"current": ["EXPLODED"]}}
    bad_time = {"job_id": 4, "state": {"current": "COMPLETED"}, "time": {"end": "yesterday"}}
    lines = [
        '{"meta": {"plugin": {"data_parser": "data_parser/v0.0.41"}, "slurm": {}},',
        ' "jobs": [',
    ]
    jobs = [good, no_id, bad_state, bad_time]
    for i, j in enumerate(jobs):
        lines.append("  " + json.dumps(j) + ("," if i < len(jobs) - 1 else ""))
    lines.append(" ]}")
    p = tmp_path / "some_bad.json"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_bad_job_objects_are_rejected_with_path_and_value(tmp_path):
    p = _bad_jobs_doc(tmp_path)
    df, rep = read(p)
    assert list(df["job_id"]) == ["1"]
    # 4 job objects + 3 step objects; steps are folded into their job
    assert (rep.n_records, rep.n_jobs, rep.n_folded, rep.n_rejected) == (7, 1, 3, 3)
    got = [(r.line, r.column, r.value) for r in rep.examples]
    assert got == [
        (4, "jobs[1].job_id", None),
        (5, "jobs[2].state.current", '["EXPLODED"]'),
        (6, "jobs[3].time.end", "yesterday"),
    ]


def test_bad_job_raises_with_on_bad_row_raise(tmp_path):
    p = _bad_jobs_doc(tmp_path)
    with pytest.raises(ParseError) as ei:
        read(p, on_bad_row="raise")
    assert str(ei.value).startswith(f"{p}:4: column 'jobs[1].job_id'")


def test_sacct_errors_without_jobs_are_reported(tmp_path):
    p = tmp_path / "err.json"
    p.write_text(
        '{"meta": {"plugin": {"data_parser": "data_parser/v0.0.40"}, "slurm": {}},'
        ' "errors": [{"error": "Unable to contact slurmdbd", "error_number": 1}],'
        ' "jobs": []}'
    )
    with pytest.raises(ParseError, match="Unable to contact slurmdbd"):
        read(p)


def test_empty_jobs_list_yields_an_empty_accounted_chunk(tmp_path):
    p = tmp_path / "empty.json"
    p.write_text(
        '{"jobs": [], "meta": {"plugin": {"data_parser": "data_parser/v0.0.42"},'
        ' "slurm": {"cluster": "c"}}, "errors": [], "warnings": []}'
    )
    df, rep = read(p)
    assert len(df) == 0 and rep.n_records == 0 and rep.format == "sacct-json/v0.0.42"


# ------------------------------------------------------------------ sniffer


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_are_claimed(path):
    assert sacct_json.sniff(Sample.read(path))


@pytest.mark.parametrize(
    "text",
    [
        '[{"name": "run-1", "state": "finished"}]',
        '{"id": "a1", "jobs": 3}\n{"id": "a2"}\n',
        '{"runs": [{"id": "a1", "config": {"lr": 0.1}}]}',
        '{"jobs": [{"name": "build", "status": "ok"}]}',
        '{"jobs": [], "project": "ci"}',
        "JobID|State\n1|COMPLETED\n",
    ],
    ids=["list", "jsonl", "runs", "ci-jobs", "empty-non-slurm", "text"],
)
def test_sniffer_leaves_other_json_alone(tmp_path, text):
    p = tmp_path / "f.json"
    p.write_text(text)
    assert not sacct_json.sniff(Sample.read(p))


def test_sniffer_refuses_squeue_json_with_a_reason(tmp_path):
    p = tmp_path / "squeue.json"
    p.write_text(
        '{"jobs": [{"job_id": 5, "job_state": ["RUNNING"], "user_name": "a"}],'
        ' "meta": {"plugin": {}, "slurm": {}}}'
    )
    with pytest.raises(FormatDetectionError, match="squeue"):
        sacct_json.sniff(Sample.read(p))


def test_sniffer_claims_a_file_whose_first_job_is_bigger_than_the_sample(tmp_path):
    job = {
        "job_id": 1,
        "association": {"account": "a"},
        "state": {"current": ["COMPLETED"]},
        "script": "x" * 300_000,
    }
    p = tmp_path / "big.json"
    p.write_text(json.dumps({"jobs": [job], "meta": {}}))
    assert sacct_json.sniff(Sample.read(p))


def test_detection_picks_sacct_json_only():
    from rdcost.readers.registry import claims

    for path in FIXTURES:
        assert claims(Sample.read(path)) == ["sacct-json"], path


# ------------------------------------------------------------------ streaming and chunks


def _table(path, **options) -> pd.DataFrame:
    df, _ = read(path, **options)
    return df.drop(columns=["ingested_time"]).reset_index(drop=True)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("read_size", [1, 7, 64])
def test_tiny_read_sizes_give_the_same_table(monkeypatch, path, read_size):
    whole = _table(path)
    monkeypatch.setattr(sacct_json, "READ_SIZE", read_size)
    pd.testing.assert_frame_equal(_table(path), whole)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_one_job_per_chunk_accounts_for_every_record(path):
    whole, whole_rep = read(path)
    chunks = [c for _, c in iter_chunks(path, ParseOptions(chunk_rows=1), "sacct-json")]
    n_objects = len(json.loads(path.read_text())["jobs"])
    assert len(chunks) == n_objects
    assert sum(c.n_records for c in chunks) == whole_rep.n_records
    parts = pd.concat([c.jobs for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(
        parts.drop(columns=["ingested_time"]), whole.drop(columns=["ingested_time"])
    )


def test_meta_found_by_a_full_scan_when_not_in_the_tail(monkeypatch):
    monkeypatch.setattr(sacct_json, "TAIL_BYTES", 40)
    df, rep = read(DATA / "v0042_slurm_24_11_1.json")
    assert rep.format == "sacct-json/v0.0.42"
    assert set(df["cluster"]) == {"alpha"}


def test_minified_and_bom_prefixed_files_read_the_same(tmp_path):
    src = DATA / "v0042_slurm_24_11_1.json"
    p = tmp_path / "min.json"
    p.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(json.loads(src.read_text()), separators=(",", ":")).encode()
    )
    a, b = _table(src), _table(p)
    b["source_file"] = a["source_file"]
    pd.testing.assert_frame_equal(a, b)


def test_duplicate_record_keys_in_one_file_are_merged(tmp_path):
    job = {
        "job_id": 3,
        "cluster": "c",
        "state": {"current": ["COMPLETED"]},
        "time": {"submission": 1710000000},
    }
    running = dict(job, state={"current": ["RUNNING"]})
    p = tmp_path / "dup.json"
    p.write_text(json.dumps({"jobs": [job, running]}))
    df, rep = read(p)
    assert (rep.n_records, rep.n_jobs, rep.n_merged) == (2, 1, 1)
    assert df.loc[0, "state"] == "COMPLETED"  # a final state beats a later non-final one


# a JSON value generator for the reader's property test
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.text(max_size=6), c, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    before=st.dictionaries(st.sampled_from(["meta", "errors", "a"]), _values, max_size=3),
    jobs=st.lists(st.dictionaries(st.text(max_size=5), _values, max_size=4), max_size=6),
    after=st.dictionaries(st.sampled_from(["warnings", "b"]), _values, max_size=2),
    read_size=st.integers(1, 40),
    indent=st.sampled_from([None, 1]),
)
def test_stream_reader_matches_json_loads(before, jobs, after, read_size, indent):
    doc = dict(before)
    doc["jobs"] = jobs
    doc.update(after)
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    stream = sacct_json._JsonStream(io.BytesIO(text.encode()), "mem.json", read_size=read_size)
    got_jobs, got_members = [], {}
    for ev in sacct_json._walk(stream):
        if ev[0] == "job":
            got_jobs.append(ev[2])
        elif ev[0] == "member":
            got_members[ev[1]] = ev[2]
    expected = json.loads(text)
    assert got_jobs == expected["jobs"]
    assert got_members == {k: v for k, v in expected.items() if k != "jobs"}


# ------------------------------------------------------------------ value encodings


@pytest.mark.parametrize(
    "raw, expected",
    [
        (7, 7),
        (None, None),
        ({"set": True, "infinite": False, "number": 120}, 120),
        ({"set": False, "infinite": False, "number": 0}, None),
        ({"set": False, "infinite": True, "number": 0}, math.inf),
        ("Infinity", math.inf),
        (2.5, 2.5),
    ],
    ids=["int", "null", "wrapper", "unset", "infinite", "complex-infinity", "float"],
)
def test_number_encodings(raw, expected):
    assert sacct_json._num(raw, "x") == expected


@pytest.mark.parametrize(
    "raw",
    [
        -2,
        -1,
        4294967294,
        4294967295,
        18446744073709551614,
        {"set": False, "infinite": False, "number": 5},
        "Infinity",
    ],
)
def test_no_value_counts_are_null(raw):
    assert sacct_json._count(raw, "x") is None


@pytest.mark.parametrize("raw", [True, "12", [1], {"number": "x"}])
def test_number_of_the_wrong_type_is_bad(raw):
    with pytest.raises(sacct_json._Bad):
        sacct_json._num(raw, "jobs[0].time.end")


@pytest.mark.parametrize(
    "step, kind",
    [
        ({"step": {"job_id": 5, "id": "batch", "name": "batch"}}, "batch"),  # dbv0.0.37/38
        ({"step": {"job_id": 5, "id": 0, "name": "python"}}, "0"),
        ({"step": {"job_id": 5, "id": 4294967292}}, "extern"),  # raw sentinel
        (
            {"step": {"id": {"job_id": 5, "step_id": "extern"}, "name": "extern"}},
            "extern",
        ),  # v0.0.39
        ({"step": {"id": {"job_id": 5, "step_id": 3}}}, "3"),
        ({"step": {"id": "5.interactive", "name": "interactive"}}, "interactive"),  # v0.0.40+
        ({"step": {"id": "5.0+1", "name": "python"}}, "0+1"),
    ],
    ids=[
        "dbv-batch",
        "dbv-int",
        "dbv-sentinel",
        "v39-extern",
        "v39-int",
        "v40-string",
        "v40-het-step",
    ],
)
def test_step_id_encodings(step, kind):
    assert sacct_json._step_kind(step, "s") == kind


@pytest.mark.parametrize(
    "ec, state, expected",
    [
        ({"status": "SUCCESS", "return_code": 0}, "COMPLETED", (0, 0)),
        ({"status": "SUCCESS", "return_code": 0}, "FAILED", (None, 0)),  # status lost
        (
            {
                "status": "SIGNALED",
                "return_code": None,
                "signal": {"signal_id": 9, "name": "Killed"},
            },
            "CANCELLED",
            (0, 9),
        ),
        ({"status": "PENDING", "return_code": None}, "PENDING", (None, None)),
        (
            {
                "status": ["ERROR"],
                "return_code": {"set": True, "infinite": False, "number": 2},
                "signal": {"id": {"set": False, "infinite": False, "number": 0}, "name": ""},
            },
            "FAILED",
            (2, 0),
        ),
        (
            {"status": ["SUCCESS"], "return_code": 0, "signal": {"id": None, "name": ""}},
            "COMPLETED",
            (0, 0),
        ),
    ],
    ids=["old-ok", "old-failed-bug", "old-signal", "old-pending", "new-error", "complex-ok"],
)
def test_exit_code_encodings(ec, state, expected):
    assert sacct_json._exit(ec, "x", state) == expected


def test_start_time_is_kept_from_22_05_8_on(tmp_path):
    doc = json.loads((DATA / "dbv0038_slurm_22_05_2.json").read_text())
    doc["meta"]["Slurm"] = {"version": {"major": 22, "micro": 9, "minor": 5}, "release": "22.05.9"}
    p = tmp_path / "fixed.json"
    p.write_text(json.dumps(doc))
    rows = by_id(read(p)[0])
    # time.start as written (B + 60), not rebuilt from end - elapsed
    assert rows["5001"]["start_time"] == ts("2024-03-09T16:01:00Z")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0xE", "1-3"),
        ("0x2D", "0,2-3,5"),
        ("0x1", "0"),
        ("1-3", "1-3"),
        ("5,7,9", "5,7,9"),
    ],
    ids=["hex-range", "hex-mixed", "hex-single", "range-text", "list-text"],
)
def test_pending_array_tasks_read_like_sacct_text(text, expected):
    from rdcost.readers.slurm.sacct_json import _task_ranges

    assert _task_ranges(text) == expected
