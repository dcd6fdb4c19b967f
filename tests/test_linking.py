"""linking.compute_jobs: MLflow parents not counted; runs linked to a Slurm job counted once."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.analysis.linking import compute_jobs, link_runs
from rdcost.jobtable import schema

DATA = Path(__file__).parent / "data" / "runs"
T0 = pd.Timestamp("2024-01-01T00:00:00", tz="UTC")


def h(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=n)


def table(rows: list[dict]) -> pd.DataFrame:
    return schema.conform(pd.DataFrame(rows))


def slurm(jid, raw=None, cluster="c", start=0.0, end=1.0, **kw):
    return dict(
        record_key=f"slurm:{cluster}:{jid}:{start}",
        source="slurm",
        job_id=jid,
        job_id_raw=raw or jid,
        cluster=cluster,
        start_time=h(start),
        end_time=h(end),
        elapsed_s=(end - start) * 3600,
        n_gpus=1.0,
        **kw,
    )


def run(rid, linked=None, source="wandb", start=0.1, elapsed=3000.0, **kw):
    return dict(
        record_key=f"{source}::{rid}",
        source=source,
        run_id=rid,
        job_id=rid,
        linked_slurm_job_id=linked,
        start_time=h(start),
        elapsed_s=elapsed,
        **kw,
    )


def test_a_linked_run_is_counted_once_from_the_scheduler_with_its_values():
    jobs = table(
        [
            slurm("100", group_id=None),
            run(
                "r1",
                "100",
                config_json='{"lr": 0.1}',
                metrics_json='{"acc": 0.9}',
                other_json='{"Notes": "x"}',
                group_id="sw1",
                group_source="sweep",
            ),
            run("r9", None, elapsed=60.0),
        ]
    )
    out = compute_jobs(jobs)
    assert out["record_key"].tolist() == ["slurm:c:100:0.0", "wandb::r9"]
    s = out.iloc[0]
    assert s["elapsed_s"] == 3600.0  # the scheduler's time, not the run's 3000 s
    assert json.loads(s["config_json"]) == {"lr": 0.1}
    assert json.loads(s["metrics_json"]) == {"acc": 0.9}
    assert json.loads(s["other_json"]) == {"Notes": "x"}
    assert (s["run_id"], s["group_id"], s["group_source"]) == ("r1", "sw1", "sweep")
    assert out["elapsed_s"].sum() == 3600.0 + 60.0
    assert schema.validate(schema.conform(out)) == []  # still a job table
    assert pd.isna(jobs.iloc[0]["config_json"])  # the input (the store's rows) is not changed


def test_array_task_matches_on_job_id_raw_and_display_id():
    jobs = table(
        [slurm("123_4", raw="130"), slurm("123_5", raw="131"), run("a", "130"), run("b", "123_5")]
    )
    pairs = link_runs(jobs)
    assert sorted(zip(pairs["run"], pairs["slurm"], strict=True)) == [(2, 0), (3, 1)]
    assert len(compute_jobs(jobs)) == 2


def test_cluster_must_agree_when_both_are_known():
    jobs = table([slurm("100", cluster="a"), run("r1", "100", cluster="b")])
    assert len(compute_jobs(jobs)) == 2  # different clusters: not the same job
    jobs = table([slurm("100", cluster="a"), run("r1", "100", cluster="a")])
    assert len(compute_jobs(jobs)) == 1


def test_reused_job_id_is_resolved_by_time_or_left_unlinked():
    reused = [slurm("100", cluster="a", start=0, end=1), slurm("100", cluster="b", start=5, end=6)]
    jobs = table(reused + [run("r1", "100", start=5.5)])
    out = compute_jobs(jobs)
    assert out["record_key"].tolist() == ["slurm:a:100:0", "slurm:b:100:5"]
    assert out.iloc[1]["run_id"] == "r1" and pd.isna(out.iloc[0]["run_id"])
    jobs = table(reused + [run("r2", "100", start=9.0)])  # in neither: do not guess
    assert len(compute_jobs(jobs)) == 3


def test_several_runs_in_one_job_keep_their_values_keyed_by_run_id():
    jobs = table(
        [
            slurm("200"),
            run("r2", "200", config_json='{"lr": 1}'),
            run("r3", "200", config_json='{"lr": 2}'),
        ]
    )
    out = compute_jobs(jobs)
    assert len(out) == 1 and out.iloc[0]["elapsed_s"] == 3600.0
    assert json.loads(out.iloc[0]["config_json"]) == {"r2": {"lr": 1}, "r3": {"lr": 2}}
    assert pd.isna(out.iloc[0]["run_id"])


def test_a_run_whose_job_is_not_stored_counts_on_its_own():
    jobs = table([slurm("100"), run("r1", "999")])
    assert len(compute_jobs(jobs)) == 2


def test_mlflow_parent_dropped_even_when_ingested_from_another_file():
    jobs = table(
        [
            dict(record_key="mlflow:p", source="mlflow", run_id="p", elapsed_s=7200.0),
            dict(
                record_key="mlflow:c1",
                source="mlflow",
                run_id="c1",
                parent_run_id="p",
                elapsed_s=3000.0,
            ),
            dict(
                record_key="mlflow:c2",
                source="mlflow",
                run_id="c2",
                parent_run_id="p",
                elapsed_s=600.0,
            ),
        ]
    )
    out = compute_jobs(jobs)
    assert out["run_id"].tolist() == ["c1", "c2"] and out["elapsed_s"].sum() == 3600.0


def test_project_from_both_sources_counts_gpu_time_once():
    """W&B JSON Lines (one run names Slurm job 4242 on cedar) + that Slurm job."""
    runs, _ = read_log_report(DATA / "wandb_runs.jsonl")
    job = table(
        [
            slurm("4242", cluster="cedar", start=0, end=2, n_nodes=1)
            | {
                "start_time": pd.Timestamp("2024-03-04T09:10:00", tz="UTC"),
                "end_time": pd.Timestamp("2024-03-04T10:20:00", tz="UTC"),
                "elapsed_s": 4200.0,
            }
        ]
    )
    both = pd.concat([job, runs], ignore_index=True)
    out = compute_jobs(both)
    assert "a1b2c3d4" not in set(out.loc[out["source"] == "wandb", "run_id"])
    s = out[out["source"] == "slurm"].iloc[0]
    assert s["elapsed_s"] == 4200.0 and s["run_id"] == "a1b2c3d4"
    assert json.loads(s["config_json"]) == {"lr": 0.001, "model.layers": 6}
    assert out["elapsed_s"].sum() == pytest.approx(4200.0 + 50.0)  # + the unlinked crashed run
