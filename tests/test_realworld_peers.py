"""sacct outputs from other tools' test suites (../shared/realworld/peers): each ingests
with the values its SOURCES.md lists. The expected values are worked out by hand from
the files' text (the arithmetic is in the comments), never taken from rdcost's output.
Where a peer's definition differs from rdcost's documented rule (XDMoD and tdhock/slurm
expand pending array ranges into one job per index), the test checks rdcost's rule."""

from __future__ import annotations

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.cli import main
from tests.conftest import realworld_file

REPORTSEFF_FIELDS = [
    "AdminComment",
    "AllocCPUS",
    "Elapsed",
    "JobID",
    "JobIDRaw",
    "MaxRSS",
    "NNodes",
    "NTasks",
    "ReqMem",
    "State",
    "Timelimit",
    "TotalCPU",
]
XDMOD_FIELDS = (
    "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,end,"
    "elapsed,exitcode,state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,nodelist,"
    "jobname"
).split(",")
GIB = 1024**3


def read(name: str, **opts) -> tuple[pd.DataFrame, object]:
    df, rep = read_log_report(realworld_file(f"peers/{name}"), **opts)
    assert (
        rep.n_records == rep.n_jobs + rep.n_folded + rep.n_merged + rep.n_ignored + rep.n_rejected
    )
    return df, rep


def test_reportseff_console_three_character_delimiter():
    """`sacct --parsable -n --delimiter=^|^`: no header, a trailing delimiter."""
    df, rep = read("reportseff_console_24418435.txt", fields=REPORTSEFF_FIELDS)
    assert rep.format == "sacct-parsable" and (rep.n_jobs, rep.n_folded, rep.n_rejected) == (
        1,
        2,
        0,
    )
    j = df.iloc[0]
    assert (j["job_id"], j["state"]) == ("24418435", "COMPLETED")
    assert j["elapsed_s"] == 1 * 3600 + 27 * 60 + 42  # 01:27:42 = 5,262 s
    assert round(100 * j["elapsed_s"] / j["timelimit_s"], 1) == 48.7  # of 03:00:00
    assert j["total_cpu_s"] == 1 * 3600 + 27 * 60 + 29  # 01:27:29
    assert round(100 * j["total_cpu_s"] / (j["elapsed_s"] * j["n_cpus"]), 1) == 99.8
    assert j["max_rss_bytes"] == 499092 * 1024  # the batch step's 499092K
    assert j["mem_req_bytes"] == GIB  # 1Gn on 1 node
    assert round(100 * j["max_rss_bytes"] / j["mem_req_bytes"], 1) == 47.6


def test_reportseff_job_with_36_steps_is_one_job():
    df, rep = read("reportseff_issue16_65638294_36steps.txt", fields=REPORTSEFF_FIELDS)
    assert (rep.n_jobs, rep.n_folded) == (
        1,
        38,
    )  # the job line and 38 step lines (batch, extern, 36 srun)
    j = df.iloc[0]
    assert j["state"] == "COMPLETED" and j["n_cpus"] == 16
    assert j["elapsed_s"] == 7 * 3600 + 36 * 60 + 3  # 07:36:03 = 27,363 s
    assert j["total_cpu_s"] == 4 * 86400 + 23 * 3600 + 56 * 60 + 21  # 4-23:56:21
    assert round(100 * j["total_cpu_s"] / (j["elapsed_s"] * 16), 1) == 98.6
    assert j["mem_req_bytes"] == 32 * GIB
    assert round(100 * j["max_rss_bytes"] / j["mem_req_bytes"], 1) == 24.1


def test_reportseff_array_with_energy_usage_field():
    fields = REPORTSEFF_FIELDS[:10] + ["TRESUsageOutAve"] + REPORTSEFF_FIELDS[10:]
    df, rep = read("reportseff_energy_37403870_array.txt", fields=fields)
    got = df.set_index("job_id")
    assert list(got.index) == ["37403870_1", "37403870_2", "37403870_3", "37403870_4"]
    assert list(got["elapsed_s"]) == [69, 81, 94, 71]  # 00:01:09, 00:01:21, 00:01:34, 00:01:11
    assert set(got["state"]) == {"COMPLETED"} and set(got["array_job_id"]) == {"37403870"}


def test_jobstats_epoch_times_and_jobidraw_without_jobid():
    """`SLURM_TIME_FORMAT=%s sacct -P -X -o jobidraw,start,end,...`."""
    df, rep = read("jobstats_simple_gpu_job_60155093.txt")
    assert (rep.n_jobs, rep.n_rejected) == (1, 0)
    assert any("JobIDRaw" in n for n in rep.notes)  # arrays cannot be grouped: said
    j = df.iloc[0]
    assert (j["job_id"], j["state"], j["n_gpus"], j["n_cpus"]) == ("60155093", "COMPLETED", 1, 12)
    assert j["start_time"] == pd.Timestamp(1730723367, unit="s", tz="UTC")
    assert (j["end_time"] - j["start_time"]).total_seconds() == 1730774311 - 1730723367 == 50944
    assert j["elapsed_s"] == 50944 and "elapsed_s" in j["derived_columns"]  # no Elapsed field
    assert j["timelimit_s"] == 990 * 60


def test_jobstats_cpu_job_without_gpus():
    df, _ = read("jobstats_cpu_mem_over_100_percent_49589697.txt")
    j = df.iloc[0]
    assert (j["state"], j["n_cpus"], j["n_gpus"]) == ("TIMEOUT", 15, 0)
    assert j["elapsed_s"] == 1690964225 - 1690927903 == 36322 and j["timelimit_s"] == 600 * 60


def test_xdmod_header_less_allocations():
    df, rep = read("xdmod_accounting-logs.log", fields=XDMOD_FIELDS)
    got = df.set_index("job_id")
    assert list(got.index) == ["4103947", "4107166", "4107219", "5692623"]
    assert list(got["elapsed_s"]) == [
        3 * 86400,
        2 * 86400 + 22 * 3600 + 3 * 60 + 4,
        14 * 3600 + 49 + 0 * 60,
        0,
    ]
    assert list(got["n_gpus"]) == [0, 0, 0, 2]  # only the last has gres/gpu=2
    assert got.loc["4107166", "state_raw"] == "CANCELLED by 102216"
    assert got.loc["4103947", "exit_code"] == 1 and got.loc["4103947", "exit_signal"] == 0


def test_xdmod_array_ranges_follow_rdcosts_rule():
    """XDMoD counts one job per index of `123_[9-11,...]` (23); rdcost stores a pending
    remainder as one record per array and export (docs/sacct.md), so the five bracket
    lines of array 4103947 (one submit time) are one record beside the task 4103947_100."""
    df, rep = read("xdmod_accounting-logs-with-job-arrays.log", fields=XDMOD_FIELDS)
    assert (rep.n_jobs, rep.n_merged, rep.n_rejected) == (2, 4, 0)
    assert sorted(df["job_id"].str.replace(r"_\[.*\]$", "_[]", regex=True)) == [
        "4103947_100",
        "4103947_[]",
    ]


def test_slurm2sql_times_in_helsinki():
    df, rep = read("slurm2sql_test-data1.csv", tz="Europe/Helsinki")
    assert rep.format == "sacct-parsable2" and (rep.n_jobs, rep.n_folded) == (2, 3)
    got = df.set_index("job_id")
    j = got.loc["43974388"]
    assert j["job_name"] == "spawner-jupyterhub"
    assert j["start_time"] == pd.Timestamp(
        1564601354, unit="s", tz="UTC"
    )  # 22:29:14 Helsinki (EEST)
    assert j["end_time"] == pd.Timestamp(1564614159, unit="s", tz="UTC")  # 02:02:39
    assert (j["start_time"] - j["submit_time"]).total_seconds() == 1
    assert pd.isna(got.loc["43977780", "end_time"])  # End 'Unknown'


def test_tdhock_array_with_a_pending_remainder():
    df, rep = read("tdhock-slurm_sacct-multistep.txt")
    tasks = df[~df["job_id"].str.contains("[", regex=False)]
    rest = df[df["job_id"].str.contains("[", regex=False)]
    assert len(tasks) == 75 and len(rest) == 1  # tasks 1-75; remainder 76-999
    assert rest.iloc[0]["job_id"] == "26735347_[76-999]" and rest.iloc[0]["state"] == "PENDING"


def test_a_peer_file_through_the_cli(tmp_path, capsys):
    path = realworld_file("peers/reportseff_console_24418435.txt")
    with pytest.raises(SystemExit) as e:
        main(
            [
                "ingest",
                str(path),
                "--fields",
                ",".join(REPORTSEFF_FIELDS),
                "--store",
                str(tmp_path / "s"),
            ]
        )
    err = capsys.readouterr().err
    assert e.value.code == 0 and "[sacct-parsable]: 3 records read: 1 job," in err, err
