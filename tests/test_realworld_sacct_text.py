"""Real sacct text files (../shared/realworld, see SOURCES.md), checked against
values worked out by hand from the files (counting allocation lines with
awk/grep, reading single lines, converting units on paper). Skipped when the
shared folder is absent."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.cli import app
from rdcost.errors import FormatDetectionError
from rdcost.jobtable import schema
from tests.cli_runner import cli_runner
from tests.conftest import realworld_file

KIB, MIB, GIB, TIB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

HCS_V1 = (
    "State,JobID,ReqCPUS,ReqMem,ReqNodes,Constraints,Submit,Eligible,Start,Elapsed,Suspended,End,"
    "ExitCode,DerivedExitCode,AllocNodes,NCPUS,MaxDiskRead,MaxDiskWrite,MaxPages,MaxRSS,MaxVMSize,"
    "CPUTime,UserCPU,SystemCPU,TotalCPU"
).split(",")
SLURMDOG = "JobID,User,Group,State,Cluster,AllocCPUS,REQMEM,TotalCPU,Elapsed,MaxRSS,ExitCode,NNodes,NTasks,JobName".split(
    ","
)

#: file, --fields, format, allocation lines counted by hand, step lines, non-record lines
FILES = [
    ("ga4hpc_sacct_p2_example.txt", None, "sacct-parsable2", 2, 0, 1),
    ("hcs_sacct_p2_noheader_array.txt", HCS_V1, "sacct-parsable2", 8, 8, 4),
    (
        "hcs_sacct_p2_noheader_issue61_cancelled_by.txt",
        HCS_V1 + ["Partition"],
        "sacct-parsable2",
        1,
        0,
        2,
    ),
    ("oodsacct_bridges_p2_2017.txt", None, "sacct-parsable2", 106, 163, 1),
    ("slurmdog_alpine_p2_noheader_14f.txt", SLURMDOG, "sacct-parsable2", 99, 178, 0),
    ("slurmio_sacct_p2_single.txt", None, "sacct-parsable2", 1, 0, 1),
    ("slurmusage_sacct_p2_formatall.txt", None, "sacct-parsable2", 1, 2, 1),
    ("clockwork_sacct_p_cedar.txt", None, "sacct-parsable", 382, 570, 1),
    ("cttoy_sacct_fixedwidth_maxrss.txt", None, "sacct-fixed", 1239, 1785, 2),
    ("hyak_sacct_fixedwidth_2024.txt", None, "sacct-fixed", 753, 1539, 2),
]


def load(name: str, fields=None, **opts):
    kw = {"fields": fields} if fields else {}
    return read_log_report(realworld_file(name), **kw, **opts)


def jobs(name: str, fields=None, **opts) -> pd.DataFrame:
    return load(name, fields, **opts)[0].set_index("job_id", drop=False)


@pytest.mark.parametrize(
    "name,fields,fmt,n_alloc,n_steps,n_other", [pytest.param(*f, id=f[0]) for f in FILES]
)
def test_one_row_per_allocation_and_every_line_accounted_for(
    name, fields, fmt, n_alloc, n_steps, n_other
):
    df, rep = load(name, fields)
    rejected = 1 if "issue61" in name else 0
    assert rep.format == fmt
    assert (rep.n_jobs, rep.n_folded, rep.n_ignored, rep.n_rejected) == (
        n_alloc,
        n_steps,
        n_other,
        rejected,
    )
    assert rep.n_records == sum(1 for _ in open(realworld_file(name), "rb"))
    assert df["job_id"].is_unique and schema.validate(df) == []


def test_ga4hpc():
    j = jobs("ga4hpc_sacct_p2_example.txt")
    gpu, cpu = j.loc["552375"], j.loc["556141"]
    assert gpu["n_gpus"] == 1.0 and pd.isna(gpu["gpu_type"]) and gpu["n_cpus"] == 32
    assert gpu["elapsed_s"] == 3 * 3600 + 30 and gpu["state"] == "TIMEOUT"
    assert gpu["mem_req_bytes"] == 250 * GIB  # 250Gn x 1 node
    assert gpu["submit_time"] == pd.Timestamp("2022-02-12T13:55:33Z")
    assert cpu["n_gpus"] == 0.0 and cpu["elapsed_s"] == 4 * 3600 + 25
    assert cpu["mem_req_bytes"] == 6760 * MIB  # 6760Mc x 1 CPU
    assert pd.isna(cpu["total_cpu_s"])  # TotalCPU 00:00:00 with no steps: an `sacct -X` zero
    assert j["n_gpus"].sum() == 1.0


def test_hcs_array():
    j = jobs("hcs_sacct_p2_noheader_array.txt", HCS_V1)
    assert j.index.tolist() == [f"846_{i}" for i in range(8)]
    assert (j["array_job_id"] == "846").all() and j["array_task_id"].tolist() == list(range(8))
    assert (j["group_id"] == "846").all() and (j["group_source"] == "array").all()
    assert (j["state"] == "OUT_OF_MEMORY").all() and (j["exit_signal"] == 125).all()
    t0 = j.loc["846_0"]
    assert t0["elapsed_s"] == 301.0 and t0["mem_req_bytes"] == 30512 * MIB
    assert t0["max_rss_bytes"] == 6953016 * KIB  # from 846_0.batch
    assert t0["total_cpu_s"] == pytest.approx(4 * 60 + 27.386)
    assert t0["start_time"] == pd.Timestamp("2022-07-05T16:21:22Z") and t0["source_line"] == 5
    assert j.loc["846_7", "max_rss_bytes"] == 6955560 * KIB


def test_hcs_issue61_cancelled_by_and_invalid_state():
    df, rep = load("hcs_sacct_p2_noheader_issue61_cancelled_by.txt", HCS_V1 + ["Partition"])
    j = df.iloc[0]
    assert (j["job_id"], j["state"], j["state_raw"]) == ("141", "CANCELLED", "CANCELLED by 32874")
    assert pd.isna(j["start_time"]) and j["elapsed_s"] == 0.0 and j["n_gpus"] == 0.0
    assert j["mem_req_bytes"] == 2 * TIB and j["partition"] == "us-east-1a_all"
    bad = rep.examples[0]
    assert (bad.line, bad.column, bad.value) == (4, "State", "INVALID")


def test_headerless_real_file_without_fields_asks_for_them():
    with pytest.raises(FormatDetectionError) as e:
        load("hcs_sacct_p2_noheader_issue61_cancelled_by.txt")
    assert "26 fields" in str(e.value) and "--fields" in str(e.value)


def test_oodsacct_bridges():
    j = jobs("oodsacct_bridges_p2_2017.txt")
    assert j["state"].value_counts().to_dict() == {
        "COMPLETED": 44,
        "PENDING": 31,
        "RUNNING": 19,
        "TIMEOUT": 10,
        "FAILED": 2,
    }
    first = j.loc["2074737"]
    assert (first["partition"], first["account"], first["n_cpus"]) == ("GPU", "mc4sa9p", 32)
    assert pd.isna(first["n_gpus"])  # no TRES in the export: GPUs unknown, not 0
    assert j.loc["2074738", "n_gpus"] == 0.0  # PENDING: nothing allocated


def test_slurmdog_alpine():
    j = jobs("slurmdog_alpine_p2_noheader_14f.txt", SLURMDOG)
    assert j["state"].value_counts().to_dict() == {
        "COMPLETED": 44,
        "CANCELLED": 21,
        "TIMEOUT": 20,
        "FAILED": 11,
        "OUT_OF_MEMORY": 2,
        "RUNNING": 1,
    }
    a = j.loc["6114624"]
    assert a["state"] == "FAILED" and a["exit_code"] == 1 and a["cluster"] == "alpine"
    assert a["elapsed_s"] == 38 * 60 + 50 and a["total_cpu_s"] == pytest.approx(164.935)
    assert a["max_rss_bytes"] == 3406408 * KIB and a["mem_req_bytes"] == 3840 * MIB
    c = j.loc["6144084"]
    assert (
        c["state_raw"] == "CANCELLED by 2000886"
        and c["n_cpus"] == 0
        and c["mem_req_bytes"] == 30 * GIB
    )
    assert j.loc["6144229", "state"] == "OUT_OF_MEMORY"
    assert j.loc["6144229", "max_rss_bytes"] == 15330372 * KIB
    assert j.loc["9742843_1", "group_id"] == "9742843"


def test_slurmio_single():
    j = jobs("slurmio_sacct_p2_single.txt").loc["606501"]
    assert (j["n_cpus"], j["n_nodes"], j["n_gpus"], j["partition"]) == (12, 1, 0.0, "cpu")
    assert j["mem_req_bytes"] == 18 * GIB and j["job_name"] == "test_slurm_job"


def test_slurmusage_format_all():
    j = jobs("slurmusage_sacct_p2_formatall.txt").loc["33979"]
    assert j["cluster"] == "cluster-genomique" and j["state"] == "COMPLETED"
    assert j["elapsed_s"] == 778.0 and pd.isna(j["timelimit_s"])  # UNLIMITED
    assert j["max_rss_bytes"] == 1043168 * KIB  # the .0 step
    assert j["total_cpu_s"] == pytest.approx(12 * 60 + 53.010)
    assert j["mem_req_bytes"] == 1000 * MIB and j["n_gpus"] == 0.0
    assert pd.isna(j["energy_j"])  # 0 J: no energy plugin
    assert j["record_key"] == "slurm:cluster-genomique:33979:2026-01-15T19:33:36Z"


def test_clockwork_cedar_parsable_with_trailing_pipe():
    j = jobs("clockwork_sacct_p_cedar.txt")
    assert j["state"].value_counts().to_dict() == {
        "RUNNING": 180,
        "PENDING": 96,
        "COMPLETED": 80,
        "TIMEOUT": 23,
        "FAILED": 2,
        "CANCELLED": 1,
    }
    pend = j[j["job_id"].str.contains("_[", regex=False)]
    assert len(pend) == 91 and (pend["state"] == "PENDING").all() and (pend["n_gpus"] == 0.0).all()
    p = j.loc["3114519_[3,5,7,9]"]
    assert (
        p["array_job_id"] == "3114519"
        and p["group_id"] == "3114519"
        and pd.isna(p["array_task_id"])
    )
    t = j.loc["3114204_7"]
    assert t["start_time"] == pd.Timestamp("2021-06-07T01:23:17Z") and t["user"] == "3093349"
    # Cedar is in Vancouver: with --tz the same line is 7 h later in UTC (PDT)
    v = jobs("clockwork_sacct_p_cedar.txt", tz="America/Vancouver").loc["3114204_7"]
    assert v["start_time"] == pd.Timestamp("2021-06-07T08:23:17Z")


def test_cttoy_fixed_width():
    j = jobs("cttoy_sacct_fixedwidth_maxrss.txt")
    assert j["state"].value_counts().to_dict() == {
        "CANCELLED": 403,
        "COMPLETED": 400,
        "RUNNING": 204,
        "OUT_OF_MEMORY": 163,
        "FAILED": 68,
        "TIMEOUT": 1,
    }
    assert j.loc["46630292", "state"] == "TIMEOUT"
    assert j.loc["46630292", "max_rss_bytes"] == 1017420 * KIB  # the .0 step beats .ba+ 12472K
    assert j.loc["46641603", "max_rss_bytes"] == 0  # steps say 0: a real 0
    assert j.loc["46642463", "job_name"] == "CT_MPS_L1+"  # cut by the column, kept


def test_hyak_fixed_width_utf8_and_cut_ids():
    df, rep = load("hyak_sacct_fixedwidth_2024.txt")
    j = df.set_index("job_id", drop=False)
    assert j["state"].value_counts().to_dict() == {
        "COMPLETED": 651,
        "FAILED": 51,
        "RUNNING": 19,
        "CANCELLED": 17,
        "TIMEOUT": 15,
    }
    em = j.loc["16346031"]
    assert em["job_name"] == "\u2014N" and em["partition"] == "compute" and em["account"] == "stf"
    assert (em["state"], em["exit_code"], em["n_cpus"]) == ("FAILED", 2, 1)
    # '16342389_10+' lines after '16342389_100' are its .batch/.extern cut at the dot
    assert "16342389_100" in j.index and "16342389_10" in j.index
    assert j.loc["16325776_1", "array_job_id"] == "16325776"
    assert j.loc["16312373", "partition"] == "gpu-2080ti"


@pytest.mark.parametrize(
    "name,fields,fmt,n_alloc,n_steps,n_other", [pytest.param(*f, id=f[0]) for f in FILES]
)
def test_cli_ingest_then_jobs_json(tmp_path, name, fields, fmt, n_alloc, n_steps, n_other):
    path = realworld_file(name)
    store = str(tmp_path / "store")
    args = ["ingest", str(path), "--store", store] + (
        ["--fields", ",".join(fields)] if fields else []
    )
    runner = cli_runner()
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["jobs", "--store", store, "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == n_alloc
    assert len({row["job_id"] for row in rows}) == n_alloc
