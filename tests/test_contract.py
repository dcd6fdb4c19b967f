"""Contract tests over every (format, sample file).

Every sample file, real (../shared/realworld) or bundled (sample_logs/), must:
be claimed by exactly its own sniffer; parse to a table that fits the schema
and its invariants; parse the same way twice; survive a parquet round trip
unchanged; and account for every record it read. A new sample is covered by
adding one line below.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from rdcost import read_log_report
from rdcost.jobtable import schema
from rdcost.readers.base import Sample
from rdcost.readers.registry import claims, get_format
from tests.conftest import REALWORLD, SAMPLE_LOGS

# The field lists of the header-less real files (from the projects that wrote them).
HCS_V1_FIELDS = (
    "State,JobID,ReqCPUS,ReqMem,ReqNodes,Constraints,Submit,Eligible,Start,Elapsed,"
    "Suspended,End,ExitCode,DerivedExitCode,AllocNodes,NCPUS,MaxDiskRead,MaxDiskWrite,"
    "MaxPages,MaxRSS,MaxVMSize,CPUTime,UserCPU,SystemCPU,TotalCPU"
).split(",")
SLURMDOG_FIELDS = "JobID,User,Group,State,Cluster,AllocCPUS,REQMEM,TotalCPU,Elapsed,MaxRSS,ExitCode,NNodes,NTasks,JobName".split(
    ","
)

#: (file, format, parse options)
REAL = [
    ("clockwork_sacct_p_cedar.txt", "sacct-parsable", {}),
    ("ga4hpc_sacct_p2_example.txt", "sacct-parsable", {}),
    ("hcs_sacct_p2_noheader_array.txt", "sacct-parsable", {"fields": HCS_V1_FIELDS}),
    (
        "hcs_sacct_p2_noheader_issue61_cancelled_by.txt",
        "sacct-parsable",
        {"fields": HCS_V1_FIELDS + ["Partition"]},
    ),
    ("oodsacct_bridges_p2_2017.txt", "sacct-parsable", {}),
    ("slurmdog_alpine_p2_noheader_14f.txt", "sacct-parsable", {"fields": SLURMDOG_FIELDS}),
    ("slurmio_sacct_p2_single.txt", "sacct-parsable", {}),
    ("slurmusage_sacct_p2_formatall.txt", "sacct-parsable", {}),
    ("cttoy_sacct_fixedwidth_maxrss.txt", "sacct-fixed", {}),
    ("hyak_sacct_fixedwidth_2024.txt", "sacct-fixed", {}),
    ("sarc_sacct_json_slurm_21_8_8.json", "sacct-json", {}),
    ("sarc_sacct_json_slurm_23_11_5.json", "sacct-json", {}),
    ("slurmweb_slurmdb_v0041_s2405_gpus_completed.json", "sacct-json", {}),
    ("wandb_api_runs_sweepid_equiunet.csv", "wandb", {}),
    ("wandb_ui_runs_mjlab_nestedcfg.csv", "wandb", {}),
    ("wandb_ui_runs_nanogpt_comp3242.csv", "wandb", {}),
    ("wandb_ui_runs_url_sweep_reordered.csv", "wandb", {}),
    ("wandb_ui_sweep_agent_stopped.csv", "wandb", {}),
    ("mlflow_search_runs_taxi.csv", "mlflow", {}),
    ("mlflow_ui_runs_v1_hours.csv", "mlflow", {}),
    ("mlflow_ui_runs_v2_optuna.csv", "mlflow", {}),
    ("hcs_plain_jobs.csv", "csv", {}),
    ("plain_runs_epoch_times_json.csv", "csv", {}),
]
BUNDLED = [
    ("lisa/sacct.txt", "sacct-parsable", {}),
    ("lisa/wandb_runs.csv", "wandb", {}),
    ("lisa/jobs.csv", "csv", {}),
]

CASES = [pytest.param(REALWORLD / f, fmt, opts, id=f) for f, fmt, opts in REAL] + [
    pytest.param(SAMPLE_LOGS / f, fmt, opts, id=f"sample_logs/{f}") for f, fmt, opts in BUNDLED
]


def _need(path):
    if not path.is_file():
        pytest.skip(f"{path} not present")


def test_every_real_sample_file_is_covered():
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld not present")
    listed = {f for f, _, _ in REAL}
    present = {
        p.name
        for p in REALWORLD.iterdir()
        if p.suffix in {".txt", ".csv", ".json", ".jsonl", ".tsv"}
    }
    assert present - listed == set(), "add the new sample files to REAL"


@pytest.mark.parametrize("path,fmt,opts", CASES)
def test_only_its_own_sniffer_claims_it(path, fmt, opts):
    _need(path)
    assert claims(Sample.read(path)) == [fmt]


@pytest.mark.parametrize("path,fmt,opts", CASES)
def test_parses_to_a_valid_job_table_with_every_record_accounted_for(path, fmt, opts):
    _need(path)
    df, report = read_log_report(path, **opts)
    assert len(df) > 0
    assert list(df.columns) == list(schema.COLUMN_NAMES)
    assert schema.validate(df) == []
    assert report.n_records == (
        report.n_jobs + report.n_folded + report.n_merged + report.n_ignored + report.n_rejected
    )
    assert report.n_jobs == len(df)
    assert df["source_format"].notna().all() and df["source"].notna().all()


@pytest.mark.parametrize("path,fmt,opts", CASES)
def test_parsing_twice_gives_the_same_table(path, fmt, opts):
    _need(path)
    a = read_log_report(path, **opts)[0]
    b = read_log_report(path, **opts)[0]
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("path,fmt,opts", CASES)
def test_parquet_round_trip_is_lossless(path, fmt, opts, tmp_path):
    _need(path)
    df = read_log_report(path, **opts)[0]
    out = tmp_path / "t.parquet"
    pq.write_table(schema.to_arrow(df), out)
    back = schema.to_pandas(pq.read_table(out, schema=schema.ARROW_SCHEMA))
    pd.testing.assert_frame_equal(df, back)


@pytest.mark.parametrize(
    "fmt", ["sacct-parsable", "sacct-fixed", "sacct-json", "wandb", "mlflow", "csv"]
)
def test_every_format_module_follows_the_contract(fmt):
    module = get_format(fmt)
    assert module.NAME == fmt
    assert callable(module.sniff) and callable(module.parse)
