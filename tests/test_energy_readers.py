"""What the readers take for the energy model (docs/sacct.md "Energy and GPU use",
docs/runs-formats.md "GPU power and utilisation"): sacct TRES usage energy and
gres/gpuutil, jobstats summaries in AdminComment, W&B and MLflow system metrics, and a
linked run's measurement given to its Slurm job. Expected values are read off the inputs
written here (or the peers' files, with the arithmetic in the comments)."""

from __future__ import annotations

import base64
import gzip
import json

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.analysis.linking import compute_jobs
from rdcost.jobtable.schema import conform
from rdcost.readers.ingest import read_log
from tests.conftest import realworld_file

HEADER = (
    "JobID|JobIDRaw|State|Start|End|ElapsedRaw|NNodes|NCPUS|NTasks|AllocTRES|"
    "ConsumedEnergyRaw|TRESUsageInAve|TRESUsageOutTot|NodeList|AdminComment"
)
TRES = "cpu=8,gres/gpu=2,mem=64G,node=1"
TIMES = "2025-01-01T00:00:00|2025-01-01T01:00:00|3600|1|8"


def js1(summary: dict) -> str:
    return "JS1:" + base64.b64encode(gzip.compress(json.dumps(summary).encode())).decode()


def sacct(tmp_path, lines: list[str]):
    p = tmp_path / "sacct.txt"
    p.write_text("\n".join([HEADER, *lines]) + "\n")
    df, rep = read_log_report(p)
    return df.set_index("job_id"), rep


def test_tres_usage_energy_and_gpu_utilisation(tmp_path):
    summary = {"nodes": {"n1": {"gpu_utilization": {"0": 80.0, "1": 60.0}}}, "gpus": 2}
    df, rep = sacct(
        tmp_path,
        [
            # 1: ConsumedEnergyRaw 0 (no plugin): the extern step's TRESUsageOutTot 2.5K =
            #    2.5 x 1024 = 2,560 J wins over the batch's 1,000 J; gpuutil 0 on extern, 71 on batch
            f"1|1|COMPLETED|{TIMES}||{TRES}|0|||n1|",
            f"1.batch|1.batch|COMPLETED|{TIMES}|1|{TRES}||cpu=00:10:00,gres/gpuutil=71|energy=1000|n1|",
            f"1.extern|1.extern|COMPLETED|{TIMES}|1|{TRES}||gres/gpuutil=0|energy=2.5K|n1|",
            # 2: ConsumedEnergyRaw wins; a jobstats summary (80 and 60 %: mean 70) wins over gpuutil
            f"2|2|COMPLETED|{TIMES}||{TRES}|720000|||n1|{js1(summary)}",
            f"2.batch|2.batch|COMPLETED|{TIMES}|1|{TRES}||gres/gpuutil=55|energy=9|n1|",
            # 3: only an average per task (InAve energy=300) x NTasks 4 = 1,200 J; gpuutil 150:
            #    not read (above 100); a jobstats summary of 3 GPUs for a 2-GPU job: not used
            f"3|3|COMPLETED|{TIMES}||{TRES}||||n1|{js1({'nodes': {'n1': {'gpu_utilization': {'0': 1, '1': 2, '2': 3}}}})}",
            f"3.0|3.0|COMPLETED|{TIMES}|4|{TRES}||energy=300,gres/gpuutil=150||n1|",
            # 4: JS1:None holds no summary
            f"4|4|COMPLETED|{TIMES}||{TRES}||||n1|JS1:None",
        ],
    )
    assert df.at["1", "energy_j"] == 2.5 * 1024
    assert df.at["1", "energy_j_field"] == "TRESUsageOutTot"
    assert df.at["1", "gpu_util_percent"] == 71
    assert df.at["1", "gpu_metrics_source"] == "sacct gres/gpuutil"
    assert df.at["2", "energy_j"] == 720_000 and df.at["2", "energy_j_field"] == "ConsumedEnergyRaw"
    assert df.at["2", "gpu_util_percent"] == (80 + 60) / 2
    assert df.at["2", "gpu_metrics_source"] == "jobstats"
    assert df.at["3", "energy_j"] == 300 * 4 and df.at["3", "energy_j_field"] == "TRESUsageInAve"
    assert pd.isna(df.at["3", "gpu_util_percent"]) and pd.isna(df.at["4", "gpu_util_percent"])
    assert any("1 jobstats summaries" in n for n in rep.notes)
    assert rep.n_rejected == 0


def test_jobstats_peer_file():
    """PrincetonUniversity/jobstats' simple GPU job: one GPU at 98.6% (SOURCES.md)."""
    df = read_log(realworld_file("peers/jobstats_simple_gpu_job_60155093.txt"))
    j = df.iloc[0]
    assert (j["gpu_util_percent"], j["gpu_metrics_source"]) == (98.6, "jobstats")


def test_reportseff_energy_peer_file():
    """troycomi/reportseff's energy test: TRESUsageOutAve energy= x NTasks 1 of the extern
    steps (33, 32, 30, 27 J), the extern step being the job's whole span."""
    from tests.test_realworld_peers import REPORTSEFF_FIELDS

    fields = REPORTSEFF_FIELDS[:10] + ["TRESUsageOutAve"] + REPORTSEFF_FIELDS[10:]
    df = read_log(
        realworld_file("peers/reportseff_energy_37403870_array.txt"),
        fields=fields,
        delimiter="^|^",
    ).set_index("job_id")
    assert df["energy_j"].to_dict() == {
        "37403870_1": 33.0,
        "37403870_2": 32.0,
        "37403870_3": 30.0,
        "37403870_4": 27.0,
    }
    assert set(df["energy_j_field"]) == {"TRESUsageOutAve"}


def wandb_lines(tmp_path, records: list[dict]):
    p = tmp_path / "runs.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return read_log(p).set_index("run_id")


def test_wandb_process_gpus_win_and_host_gpus_only_when_they_are_the_runs(tmp_path):
    base = {
        "entity": "e",
        "project": "p",
        "state": "finished",
        "created_at": "2025-01-01T00:00:00Z",
    }
    df = wandb_lines(
        tmp_path,
        [
            # process GPUs 0 and 1 at 300 and 340 W, 90 and 70 %: mean 320 W, 80 %
            {
                **base,
                "id": "a",
                "metadata": {"gpu_count": 4},
                "system_metrics": {
                    "system.gpu.process.0.powerWatts": 300,
                    "system.gpu.process.1.powerWatts": 340,
                    "system.gpu.process.0.gpu": 90,
                    "system.gpu.process.1.gpu": 70,
                    "system.gpu.2.powerWatts": 60,
                },
            },
            # host GPUs 0-3 for a 2-GPU run: not the run's own
            {
                **base,
                "id": "b",
                "metadata": {"gpu_count": 2},
                "system_metrics": {f"system.gpu.{i}.powerWatts": 100 for i in range(4)},
            },
            # host GPU 0 for a 1-GPU run, in the summary: 250 W
            {
                **base,
                "id": "c",
                "metadata": {"gpu_count": 1},
                "summary": {"system.gpu.0.powerWatts": 250},
            },
        ],
    )
    assert (df.at["a", "gpu_power_w"], df.at["a", "gpu_util_percent"]) == (320, 80)
    assert df.at["a", "gpu_metrics_source"] == "wandb system metrics (process GPUs)"
    assert pd.isna(df.at["b", "gpu_power_w"])
    assert df.at["c", "gpu_power_w"] == 250
    assert df.at["c", "gpu_metrics_source"] == "wandb system metrics (host GPUs)"


def test_mlflow_system_metrics(tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text(
        "run_id,experiment_id,status,artifact_uri,start_time,end_time,"
        "metrics.system/gpu_0_power_usage_watts,metrics.system/gpu_1_power_usage_watts,"
        "metrics.system/gpu_0_utilization_percentage,metrics.system/gpu_1_utilization_percentage\n"
        "r1,1,FINISHED,file:///m,2025-01-01 00:00:00+00:00,2025-01-01 02:00:00+00:00,200,220,50,70\n"
    )
    j = read_log(p).iloc[0]
    assert (j["gpu_power_w"], j["gpu_util_percent"]) == (210, 60)
    assert j["gpu_metrics_source"] == "mlflow system metrics"


def test_a_linked_run_gives_its_power_to_its_slurm_job():
    t = pd.Timestamp("2025-01-01", tz="UTC")
    common = dict(start_time=t, end_time=t + pd.Timedelta(hours=1), elapsed_s=3600.0, n_gpus=1.0)
    jobs = conform(
        pd.DataFrame(
            [
                dict(record_key="s1", source="slurm", job_id="11", job_id_raw="11", **common),
                dict(
                    record_key="s2",
                    source="slurm",
                    job_id="12",
                    job_id_raw="12",
                    gpu_util_percent=40.0,
                    gpu_metrics_source="jobstats",
                    **common,
                ),
                dict(
                    record_key="w1",
                    source="wandb",
                    job_id="w1",
                    run_id="w1",
                    linked_slurm_job_id="11",
                    gpu_power_w=300.0,
                    gpu_util_percent=90.0,
                    gpu_metrics_source="wandb system metrics (process GPUs)",
                    **common,
                ),
                dict(
                    record_key="w2",
                    source="wandb",
                    job_id="w2",
                    run_id="w2",
                    linked_slurm_job_id="12",
                    gpu_power_w=250.0,
                    gpu_util_percent=95.0,
                    gpu_metrics_source="wandb system metrics (process GPUs)",
                    **common,
                ),
            ]
        )
    )
    cj = compute_jobs(jobs).set_index("record_key")
    assert list(cj.index) == ["s1", "s2"]
    assert (cj.at["s1", "gpu_power_w"], cj.at["s1", "gpu_util_percent"]) == (300, 90)
    # the job's own jobstats utilisation stays; the run adds the power, and the source says both
    assert (cj.at["s2", "gpu_power_w"], cj.at["s2", "gpu_util_percent"]) == (250, 40)
    assert cj.at["s2", "gpu_metrics_source"] == "jobstats; wandb system metrics (process GPUs)"


@pytest.mark.parametrize(
    "bad", ["JS1:notbase64!!", "JS1:" + base64.b64encode(b"not gzip").decode()]
)
def test_undecodable_jobstats_is_no_summary(bad):
    from rdcost.readers.slurm.gpu_usage import jobstats_gpu_util

    assert jobstats_gpu_util(bad) is None
