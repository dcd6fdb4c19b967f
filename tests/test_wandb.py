"""W&B run exports: UI runs-table CSV, API CSV dumps, JSON/JSON Lines, chart-panel refusal.

Expected values are worked out by hand from the files (constructed ones in
tests/data/runs, real ones in ../shared/realworld).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.errors import FormatDetectionError, ParseError
from rdcost.jobtable import schema
from rdcost.readers.base import ParseOptions, Sample
from rdcost.readers.registry import detect
from rdcost.readers.runs import wandb
from tests.conftest import realworld_file

DATA = Path(__file__).parent / "data" / "runs"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def by(df: pd.DataFrame, col: str) -> pd.DataFrame:
    return df.set_index(col, drop=False)


# --------------------------------------------------------------------------
# UI runs-table export


def test_ui_export_with_ids():
    path = DATA / "wandb_ui_ids.csv"
    assert not path.read_bytes().endswith(b"\n")  # as the UI writes it
    df, rep = read_log_report(path)
    assert rep.format == "wandb-ui-csv"
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (4, 4, 0)
    assert schema.validate(df) == []
    r = by(df, "run_id")
    assert r.loc["a1b2c3d4", "record_key"] == "wandb::a1b2c3d4"
    assert r["state"].to_dict() == {
        "a1b2c3d4": "COMPLETED",
        "e5f6g7h8": "FAILED",
        "i9j0k1l2": "CANCELLED",
        "m3n4o5p6": "RUNNING",
    }
    assert r.loc["e5f6g7h8", "state_raw"] == "crashed"
    assert r.loc["i9j0k1l2", "state_raw"] == "killed"
    assert r.loc["a1b2c3d4", "start_time"] == ts("2024-03-04T09:12:44")
    assert r.loc["a1b2c3d4", "elapsed_s"] == 3921.0
    assert pd.isna(r.loc["a1b2c3d4", "end_time"])  # no End Time column: not invented
    assert r.loc["a1b2c3d4", "job_name"] == "baseline"
    assert r.loc["a1b2c3d4", "user"] == "alice"
    assert r.loc["a1b2c3d4", "linked_slurm_job_id"] == "4242"
    assert json.loads(r.loc["e5f6g7h8", "tags"]) == ["ablation", "long"]
    assert pd.isna(r.loc["a1b2c3d4", "tags"])
    assert (
        r.loc["i9j0k1l2", "group_id"] == "1wfhjnkh" and r.loc["i9j0k1l2", "group_source"] == "sweep"
    )
    assert pd.isna(r.loc["a1b2c3d4", "group_id"]) and pd.isna(r.loc["a1b2c3d4", "group_source"])
    # config and summary cannot be told apart in a UI export: all in other_json
    assert pd.isna(r.loc["a1b2c3d4", "config_json"]) and pd.isna(r.loc["a1b2c3d4", "metrics_json"])
    assert json.loads(r.loc["a1b2c3d4", "other_json"]) == {
        "batch_size": 64,
        "optimizer.lr": 0.0003,
        "layers": [1, 2, "x"],
        "train/loss": 1.732,
        "SLURM_JOB_ID": 4242,
    }
    crashed = json.loads(r.loc["e5f6g7h8", "other_json"])
    assert crashed["Notes"] == "oom at step 9" and crashed["train/loss"] is None
    assert json.loads(r.loc["m3n4o5p6", "other_json"])["layers"] == {"a": 1}
    # no GPU information and no option: unknown, not 0
    assert df["n_gpus"].isna().all() and df["is_gpu_assumed"].isna().all()


def test_gpus_per_run_option_is_recorded_as_assumed():
    df, _ = read_log_report(DATA / "wandb_ui_ids.csv", gpus_per_run=2, gpu_type="a100")
    assert (df["n_gpus"] == 2.0).all()
    assert (df["gpu_type"] == "a100").all()
    assert df["is_gpu_assumed"].eq(True).all()


def test_ui_export_without_created_starts_at_end_minus_runtime():
    df, rep = read_log_report(DATA / "wandb_ui_endtime.csv")
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (4, 2, 2)
    first, second = df.iloc[0], df.iloc[1]
    assert first["start_time"] == ts("2024-05-01T11:00:00")  # 12:00:00 - 3600 s
    assert first["end_time"] == ts("2024-05-01T12:00:00")
    assert second["start_time"] == ts("2024-05-01T12:59:30")  # 13:00:30 - 60 s
    assert first["node_list"] == "gpu-node-07"
    # same Name twice: keyed on Name + start, never on Name alone
    assert first["record_key"] == "wandb::name=run-a:created=2024-05-01T11:00:00Z"
    assert second["record_key"] == "wandb::name=run-a:created=2024-05-01T12:59:30Z"
    reasons = {(r.line, r.column, r.value, r.reason) for r in rep.examples}
    assert (4, "Runtime", "-5", "negative duration") in reasons
    assert (5, "End Time", "2024-13-01T13:00:30.000Z", "not a valid date") in reasons


def test_name_only_ui_export_needs_format_and_is_keyed_by_content():
    path = DATA / "wandb_ui_nameonly.csv"
    assert wandb.sniff(Sample.read(path)) is False  # nothing says W&B but 'Name'
    df, rep = read_log_report(path, format="wandb")
    assert rep.n_jobs == 2 and df["record_key"].is_unique
    assert df["record_key"].str.startswith("wandb::name=baseline:row=").all()
    again, _ = read_log_report(path, format="wandb")
    assert again["record_key"].tolist() == df["record_key"].tolist()


def test_chart_panel_csv_is_refused_with_what_to_export_instead():
    path = DATA / "wandb_chart_panel.csv"
    with pytest.raises(FormatDetectionError) as exc:
        detect(path)
    msg = str(exc.value)
    assert "chart-panel" in msg and "not a table of runs" in msg
    assert "baseline - train/loss__MIN" in msg
    assert "export the runs table instead" in msg and "Runs tab" in msg
    with pytest.raises(FormatDetectionError):
        list(wandb.parse(path, ParseOptions()))


# --------------------------------------------------------------------------
# API dumps


def test_docs_script_dump_with_python_dict_cells():
    df, rep = read_log_report(DATA / "wandb_api_docs_dump.csv")
    assert rep.format == "wandb-api-csv" and rep.n_jobs == 2
    a, b = df.iloc[0], df.iloc[1]
    assert a["elapsed_s"] == 3921.0  # _wandb.runtime wins over _runtime
    assert b["elapsed_s"] == 12.5
    assert json.loads(a["config_json"]) == {
        "batch_size": 64,
        "optimizer.lr": 0.0003,
        "SLURM_JOB_ID": "777",
    }
    metrics = json.loads(a["metrics_json"])
    assert metrics["train/loss"] == 1.732 and metrics["val/acc"] is None
    assert a["linked_slurm_job_id"] == "777"
    assert pd.isna(a["state"]) and pd.isna(a["start_time"])  # the dump has neither
    assert a["record_key"] != b["record_key"]  # same name, different runs


def test_jsonl_records_with_metadata():
    df, rep = read_log_report(DATA / "wandb_runs.jsonl", gpus_per_run=1, gpu_type="a100")
    assert rep.format == "wandb-api-jsonl"
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (4, 3, 1)
    bad = rep.examples[0]
    assert bad.line == 3 and "not a JSON object" in bad.reason
    r = by(df, "run_id")
    a = r.loc["a1b2c3d4"]
    assert a["record_key"] == "wandb:lab/nmt:a1b2c3d4"
    assert (a["account"], a["project"], a["cluster"]) == ("lab", "nmt", "cedar")
    assert a["source_line"] == 1
    assert a["start_time"] == ts("2024-03-04T09:12:44")  # naive created_at is UTC
    assert a["end_time"] == ts("2024-03-04T10:18:05")
    assert a["elapsed_s"] == 3921.0
    # two GPUs used by the process (system.gpu.process.0/1), not the 8 the host has
    assert a["n_gpus"] == 2.0 and a["gpu_type"] == "NVIDIA A100-SXM4-40GB"
    assert a["is_gpu_assumed"] == False  # noqa: E712 (pandas boolean)
    assert a["linked_slurm_job_id"] == "4242" and a["node_list"] == "node17"
    assert a["group_id"] == "swp12345" and json.loads(a["tags"]) == ["baseline"]
    assert json.loads(a["config_json"]) == {"lr": 0.001, "model.layers": 6}
    assert json.loads(a["metrics_json"])["bleu"] == 27.3
    b = r.loc["q9w8e7r6"]
    assert b["state"] == "FAILED" and b["elapsed_s"] == 50.0
    assert b["n_gpus"] == 2.0 and b["gpu_type"] == "Tesla V100-SXM2-16GB"  # gpu_count
    assert json.loads(b["config_json"]) == {"lr": 0.01}  # {"value": ...} unwrapped
    c = r.loc["z1x2c3v4"]  # no metadata: the options fill in, marked assumed
    assert c["n_gpus"] == 1.0 and c["gpu_type"] == "a100" and c["is_gpu_assumed"] == True  # noqa: E712
    assert c["state"] == "CANCELLED" and pd.isna(c["elapsed_s"])


def test_json_array_with_run_paths():
    df, rep = read_log_report(DATA / "wandb_runs.json")
    assert rep.format == "wandb-api-json" and rep.n_jobs == 2
    assert df["record_key"].tolist() == ["wandb:lab/nmt:a1b2c3d4", "wandb:lab/nmt:zz00zz00"]
    assert df["elapsed_s"].tolist() == [3921.0, 7.5]
    assert df["state"].tolist() == ["COMPLETED", "PREEMPTED"]
    assert df["source_line"].isna().all()


def test_project_option_scopes_the_key_when_the_file_does_not_say():
    df, _ = read_log_report(DATA / "wandb_ui_ids.csv", project="lab/nmt")
    assert df["record_key"].iloc[0] == "wandb:lab/nmt:a1b2c3d4"


def test_unknown_state_is_rejected_with_file_line_column_value(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text(
        '"Name","ID","State","Created","Runtime"\n'
        '"a","id000001","finished","2024-01-01T00:00:00.000Z","10"\n'
        '"b","id000002","exploded","2024-01-01T00:00:00.000Z","10"\n'
    )
    df, rep = read_log_report(p)
    assert rep.n_jobs == 1 and rep.n_rejected == 1
    bad = rep.examples[0]
    assert (bad.line, bad.column, bad.value) == (3, "State", "exploded")
    with pytest.raises(ParseError) as exc:
        read_log_report(p, on_bad_row="raise")
    assert f"{p}:3: column 'State'" in str(exc.value) and "'exploded'" in str(exc.value)


def test_ui_export_with_duplicate_rows_merges_identical_and_rejects_conflicts(tmp_path):
    p = tmp_path / "w.csv"
    row = '"a","id000001","finished","2024-01-01T00:00:00.000Z","10"\n'
    p.write_text(
        '"Name","ID","State","Created","Runtime"\n'
        + row
        + row
        + '"a","id000001","finished","2024-01-01T00:00:00.000Z","11"\n'
    )
    df, rep = read_log_report(p)
    assert (rep.n_jobs, rep.n_merged, rep.n_rejected) == (1, 1, 1)
    assert "same record as line 2" in rep.examples[0].reason


# --------------------------------------------------------------------------
# Real exports (hand-checked rows)


def test_real_nanogpt_ui_export():
    df, rep = read_log_report(realworld_file("wandb_ui_runs_nanogpt_comp3242.csv"))
    assert rep.format == "wandb-ui-csv" and (rep.n_records, rep.n_jobs) == (64, 64)
    assert df["record_key"].is_unique  # 48 repeated names, keyed on Name + Created
    first = df.iloc[0]
    assert first["job_name"] == "G1_ternary_weights"
    assert first["start_time"] == ts("2026-05-25T14:08:33")
    assert first["elapsed_s"] == 732.0
    assert first["state"] == "COMPLETED"
    assert json.loads(first["tags"]) == ["full"]
    other = json.loads(first["other_json"])
    assert (
        other["bias"] is False and other["n_layer"] == 6 and other["val/loss"] == 1.4786324501037598
    )


def test_real_reordered_sweep_export():
    df, rep = read_log_report(realworld_file("wandb_ui_runs_url_sweep_reordered.csv"))
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (333, 333, 0)
    first = df.iloc[0]
    assert (first["job_name"], first["group_id"], first["elapsed_s"]) == (
        "still-sweep-1",
        "bdjt2zuq",
        123108.0,
    )
    assert first["start_time"] == ts("2023-07-03T09:17:13")
    assert set(df["state_raw"]) == {"finished", "failed", "crashed"}
    assert set(df.loc[df["state_raw"] == "crashed", "state"]) == {"FAILED"}
    assert (df["group_source"] == "sweep").all()


def test_real_sweep_agent_export_keeps_stopped():
    df, rep = read_log_report(realworld_file("wandb_ui_sweep_agent_stopped.csv"))
    assert rep.n_jobs == 50 and set(df["group_id"]) == {"rzpn3bhn"}
    first = df.iloc[0]
    assert (first["job_name"], first["state"], first["elapsed_s"]) == (
        "apricot-sweep-50",
        "FAILED",
        112.0,
    )
    assert json.loads(first["other_json"])["Stopped"] is True


def test_real_500_column_export():
    df, rep = read_log_report(realworld_file("wandb_ui_runs_mjlab_nestedcfg.csv"))
    assert rep.n_jobs == 16
    assert set(df["state_raw"]) == {"finished", "killed"}
    first = df.iloc[0]
    assert first["start_time"] == ts("2026-08-13T01:43:36") and first["elapsed_s"] == 12125.0
    other = json.loads(first["other_json"])
    assert len(other) > 300
    assert other["env_cfg.actions.joint_pos.actuator_names"] == [".*"]


def test_real_api_csv():
    df, rep = read_log_report(realworld_file("wandb_api_runs_sweepid_equiunet.csv"))
    assert rep.format == "wandb-api-csv" and rep.n_jobs == 140
    first = df.iloc[0]
    assert first["record_key"] == "wandb::8wsgexov"
    assert (first["job_name"], first["state"]) == ("mild-sweep-1", "COMPLETED")
    assert first["start_time"] == ts("2026-04-22T20:11:14")
    assert df["group_id"].isna().all()  # sweep_id column is empty: not guessed from names
    assert df["elapsed_s"].isna().all()  # the dump has no runtime
    assert json.loads(first["other_json"])["total_params"] == 488892


def test_reingesting_changes_nothing(tmp_path):
    from rdcost.readers.ingest import ingest

    store = tmp_path / "store"
    first = ingest([DATA / "wandb_ui_ids.csv", DATA / "wandb_runs.jsonl"], store=store)
    assert first.stats.n_new == 4 + 3
    again = ingest([DATA / "wandb_ui_ids.csv", DATA / "wandb_runs.jsonl"], store=store)
    assert (again.stats.n_new, again.stats.n_updated, again.stats.n_unchanged) == (0, 0, 7)


def test_running_run_has_no_end_time_but_a_derived_start(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text(
        '"Name","State","Runtime","End Time"\n'
        '"live","running","600","2024-05-01T12:10:00.000Z"\n'
        '"done","finished","600","2024-05-01T12:10:00.000Z"\n'
    )
    df, _ = read_log_report(p)
    live, done = df.iloc[0], df.iloc[1]
    assert pd.isna(live["end_time"]) and live["start_time"] == ts("2024-05-01T12:00:00")
    assert done["end_time"] == ts("2024-05-01T12:10:00") and done["start_time"] == ts(
        "2024-05-01T12:00:00"
    )
