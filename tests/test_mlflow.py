"""MLflow run exports: search_runs() CSV and the UI's CSV download (1.x, 2.x).

Expected values are worked out by hand from the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.analysis.linking import compute_jobs
from rdcost.errors import FormatDetectionError
from rdcost.jobtable import schema
from rdcost.readers.base import ParseOptions
from rdcost.readers.runs import mlflow
from tests.conftest import realworld_file

DATA = Path(__file__).parent / "data" / "runs"
PARENT = "a" * 32
C1, C2, C3 = "b" * 31 + "1", "b" * 31 + "2", "b" * 31 + "3"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_search_runs_with_a_parent_run():
    df, rep = read_log_report(DATA / "mlflow_search_parent.csv")
    assert rep.format == "mlflow-search-runs"
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (4, 4, 0)
    assert schema.validate(df) == []
    r = df.set_index("run_id", drop=False)
    assert r.loc[PARENT, "record_key"] == f"mlflow:{PARENT}"
    # the parent is the container of the search; its children are the group
    assert r["is_container"].to_dict() == {PARENT: True, C1: False, C2: False, C3: False}
    assert (r["group_id"] == PARENT).all() and (r["group_source"] == "mlflow_parent").all()
    assert r.loc[C1, "parent_run_id"] == PARENT and pd.isna(r.loc[PARENT, "parent_run_id"])
    assert r["state"].to_dict() == {
        PARENT: "COMPLETED",
        C1: "COMPLETED",
        C2: "FAILED",
        C3: "RUNNING",
    }
    c1 = r.loc[C1]
    assert c1["start_time"] == ts("2024-03-05T14:00:05") and c1["end_time"] == ts(
        "2024-03-05T14:50:05"
    )
    assert c1["elapsed_s"] == 3000.0
    assert r.loc[C2, "elapsed_s"] == pytest.approx(599.75)  # 14:50:10.500 -> 15:00:10.250
    assert pd.isna(r.loc[C3, "end_time"]) and pd.isna(r.loc[C3, "elapsed_s"])  # still running
    assert (c1["job_name"], c1["user"], c1["project"]) == ("trial-1", "alice", "7")
    assert json.loads(c1["config_json"]) == {"lr": 0.001, "layers": None}  # params 'None' -> null
    assert json.loads(r.loc[C2, "config_json"]) == {"lr": 0.01, "layers": 4}
    assert json.loads(c1["metrics_json"]) == {
        "val_loss": 0.412,
        "system/gpu_0_utilization_percentage": 97.0,
    }
    assert json.loads(c1["tags"]) == ["team=vision", "SLURM_JOB_ID=5151"]
    assert c1["linked_slurm_job_id"] == "5151"
    # GPUs from the system metrics: gpu_0 only for trial-1, gpu_0 and gpu_1 for trial-2
    assert c1["n_gpus"] == 1.0 and r.loc[C2, "n_gpus"] == 2.0
    assert c1["is_gpu_assumed"] == False  # noqa: E712
    assert pd.isna(r.loc[PARENT, "n_gpus"])


def test_parent_is_not_counted_on_top_of_its_children():
    df, _ = read_log_report(DATA / "mlflow_search_parent.csv")
    counted = compute_jobs(df)
    assert PARENT not in set(counted["run_id"])
    assert counted["elapsed_s"].sum() == pytest.approx(3000.0 + 599.75)  # C3 is running: NaN


def test_ui_download_quoted_with_local_times_and_rounded_durations():
    df, rep = read_log_report(DATA / "mlflow_ui_quoted.csv", tz="Europe/Berlin")
    assert rep.format == "mlflow-ui-csv"
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (6, 4, 2)
    r = df.set_index("job_name")
    assert r.loc["eager-hare-42", "start_time"] == ts("2024-03-05T14:02:11")  # 15:02:11 CET
    assert r.loc["eager-hare-42", "elapsed_s"] == pytest.approx(3.2 * 3600)
    assert r.loc["quick", "elapsed_s"] == pytest.approx(0.161)
    assert r.loc["mid", "elapsed_s"] == pytest.approx(132.0)
    assert r.loc["mid", "state"] == "CANCELLED"
    assert r.loc["live", "state"] == "RUNNING" and pd.isna(r.loc["live", "elapsed_s"])
    assert pd.isna(r.loc["eager-hare-42", "end_time"])  # a rounded duration gives no end time
    assert r.loc["eager-hare-42", "record_key"] == "mlflow:6f1c0b7e2d9a4c1b8e3f5a7d9c2b4e6f"
    # the UI's CSV-injection quote is removed: '-0.113 -> -0.113, '=cmd -> =cmd
    other = json.loads(r.loc["eager-hare-42", "other_json"])
    assert other["val_loss"] == -0.113 and other["lr"] == 0.001 and other["team"] == "vision"
    assert json.loads(r.loc["quick", "other_json"])["team"] == "=cmd"
    assert pd.isna(r.loc["eager-hare-42", "config_json"])  # bare columns: role unknown
    why = {(e.line, e.column): e.reason for e in rep.examples}
    assert "daylight-saving" in why[(6, "Start Time")]
    assert why[(7, "Status")] == "unknown run status"


def test_ui_download_times_follow_tz():
    utc, _ = read_log_report(DATA / "mlflow_ui_quoted.csv")
    ny, _ = read_log_report(DATA / "mlflow_ui_quoted.csv", tz="America/New_York")
    a = utc.set_index("job_name").loc["eager-hare-42", "start_time"]
    b = ny.set_index("job_name").loc["eager-hare-42", "start_time"]
    assert a == ts("2024-03-05T15:02:11") and b == ts("2024-03-05T20:02:11")


def test_not_mlflow_is_refused_when_forced(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(FormatDetectionError, match="not an MLflow runs export"):
        list(mlflow.parse(p, ParseOptions()))


def test_real_search_runs():
    df, rep = read_log_report(realworld_file("mlflow_search_runs_taxi.csv"))
    assert rep.format == "mlflow-search-runs" and rep.n_jobs == 2
    r = df.set_index("run_id")
    a = r.loc["125f3972d83b4899b0e88c81caa129d9"]
    assert a["start_time"] == ts("2026-05-25T09:31:08.198") and a["end_time"] == ts(
        "2026-05-25T09:32:11.295"
    )
    assert a["elapsed_s"] == pytest.approx(63.097)
    assert (a["job_name"], a["user"], a["state"], a["project"]) == (
        "silent-gull-111",
        "alena483",
        "COMPLETED",
        "0",
    )
    assert json.loads(a["config_json"])["n_estimators"] == 100
    assert json.loads(a["config_json"])["max_depth"] is None
    b = r.loc["f2f198e6c17747aa82585112a50079a9"]
    assert b["elapsed_s"] == pytest.approx(114.49)  # 09:29:12.984 -> 09:31:07.474


def test_real_ui_v1_hours():
    df, rep = read_log_report(realworld_file("mlflow_ui_runs_v1_hours.csv"), tz="Europe/Rome")
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (36, 36, 0)
    first = df.iloc[0]
    assert first["job_name"] == "masked-wren-516"
    assert first["start_time"] == ts("2022-11-09T11:33:08")  # 12:33:08 CET
    assert first["elapsed_s"] == pytest.approx(2.7 * 3600)
    assert df.iloc[3]["elapsed_s"] == pytest.approx(44.8 * 60)
    assert set(df["state_raw"]) == {"FINISHED", "FAILED"}


def test_real_ui_v2_optuna():
    df, rep = read_log_report(realworld_file("mlflow_ui_runs_v2_optuna.csv"))
    assert rep.n_jobs == 30
    first = df.iloc[0]
    assert (first["job_name"], first["user"]) == ("trial_27", "jvitt")
    assert first["start_time"] == ts("2025-03-22T13:08:00")
    assert first["elapsed_s"] == pytest.approx(96.0)  # 1.6min
    assert json.loads(first["other_json"])["input_shape"] == [64, 501]  # tuple text "(64, 501)"
