"""The LISA sample logs: the generator is deterministic, the committed files are
its output, and once ingested they have the shape Strubell et al. (ACL 2019,
section 4.2) published (the targets below are the paper's numbers, see
../shared/spec/case-study.md)."""

from __future__ import annotations

import csv
import importlib.util
import re

import pandas as pd
import pytest

from rdcost.analysis.grouping import find_groups
from rdcost.samples import lisa
from tests.conftest import SAMPLE_LOGS

LISA = SAMPLE_LOGS / "lisa"
PAPER_GPU_HOURS = 239_942
H = 3600.0


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("lisa")
    lisa.generate(out, seed=2019)
    return out


def test_same_seed_gives_byte_identical_files(generated, tmp_path):
    lisa.generate(tmp_path, seed=2019)
    for name in lisa.FILES:
        assert (tmp_path / name).read_bytes() == (generated / name).read_bytes(), name


def test_committed_files_are_the_generator_output(generated):
    for name in lisa.FILES:
        assert (LISA / name).read_bytes() == (generated / name).read_bytes(), (
            f"sample_logs/lisa/{name} is stale: run python -m rdcost.samples.lisa --seed 2019 "
            "--out sample_logs/lisa"
        )


def test_another_seed_gives_another_project_of_the_same_shape():
    a, b = lisa.simulate(2019), lisa.simulate(7)
    assert not a["name"].equals(b["name"])
    for j in (a, b):
        assert len(j) == 4_789
        assert j.loc[j["search"] >= 0, "search"].nunique() == 123
        gh = (j["n_gpus"] * j["elapsed_s"]).sum() / H
        assert abs(gh / PAPER_GPU_HOURS - 1) < 0.005


def test_files_are_small():
    total = sum(p.stat().st_size for p in SAMPLE_LOGS.rglob("*") if p.is_file())
    assert total < 6 * 2**20


# -- the ingested sacct export -------------------------------------------------


@pytest.fixture(scope="module")
def sacct():
    if importlib.util.find_spec("rdcost.readers.slurm.sacct_parsable") is None:
        pytest.skip("the sacct parser (rdcost.readers.slurm.sacct_parsable) is not there yet")
    from rdcost import read_log_report

    df, report = read_log_report(LISA / "sacct.txt")
    assert report.n_rejected == 0, report.reasons
    df["gpu_hours"] = df["n_gpus"] * df["elapsed_s"] / H
    return df


def test_jobs(sacct):
    assert len(sacct) == 4_789
    assert sacct["record_key"].is_unique


def test_span_is_172_days_rounded_or_truncated(sacct):
    for first in (sacct["start_time"].min(), sacct["submit_time"].min()):
        days = (sacct["end_time"].max() - first).total_seconds() / 86_400
        assert round(days) == 172 and int(days) == 172


def test_gpu_hours_within_half_a_percent(sacct):
    assert sacct["gpu_hours"].notna().all()
    assert abs(sacct["gpu_hours"].sum() / PAPER_GPU_HOURS - 1) < 0.005
    assert round(sacct["gpu_hours"].sum() / 24) in range(9_950, 10_050)  # "9,998 GPU-days"


def test_titanx_and_m40_share(sacct):
    share = sacct.groupby("gpu_type")["gpu_hours"].sum() / sacct["gpu_hours"].sum()
    assert set(share.index) == {"titanx", "m40"}
    assert round(100 * share["titanx"]) == 72 and round(100 * share["m40"]) == 28


def test_shortest_3_minutes_longest_9_days_mean_about_50_hours(sacct):
    assert round(sacct["elapsed_s"].min() / 60) == 3
    assert round(sacct["elapsed_s"].max() / 86_400) == 9
    assert 48 <= sacct["elapsed_s"].mean() / H <= 52


def test_about_58_gpus_in_use_on_average(sacct):
    span_h = (sacct["end_time"].max() - sacct["start_time"].min()).total_seconds() / H
    assert round(sacct["gpu_hours"].sum() / span_h) == 58


def test_some_jobs_hold_several_gpus(sacct):
    multi = sacct["n_gpus"] > 1
    assert 0 < multi.sum() < 0.02 * len(sacct)
    assert sacct["gpu_hours"].sum() > sacct["elapsed_s"].sum() / H


def test_realistic_failures(sacct):
    states = sacct["state"].value_counts()
    for s in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
        assert states.get(s, 0) > 0, s
    assert states["COMPLETED"] > len(sacct) / 2
    crashes = (sacct["state"] == "FAILED") & (sacct["elapsed_s"] <= 5 * 60)
    assert crashes.sum() > 50
    assert (sacct.loc[sacct["state"] == "FAILED", "exit_code"] != 0).all()
    cancelled = sacct.loc[sacct["state"] == "CANCELLED", "state_raw"]
    assert cancelled.str.fullmatch(r"CANCELLED by \d+").all()
    timeout = sacct[sacct["state"] == "TIMEOUT"]
    assert (timeout["elapsed_s"] >= timeout["timelimit_s"]).all()


def test_completed_full_length_runs_cluster_at_120_gpu_hours(sacct):
    """'One model' (Table 4): completed full-length training runs take 120 GPU-hours."""
    done = sacct[(sacct["state"] == "COMPLETED") & (sacct["n_gpus"] == 1)]
    long_runs = done.loc[done["gpu_hours"] >= 100, "gpu_hours"]
    assert len(long_runs) > 500
    assert round(long_runs.median()) == 120
    assert long_runs.between(115, 125).mean() > 0.9


def test_123_grid_searches_with_a_median_of_24_jobs(sacct):
    g = find_groups(sacct)
    per = g["search_id"].value_counts()
    assert len(per) == 123
    assert per.median() == 24
    methods = g.drop_duplicates("search_id")["search_method"].value_counts()
    assert set(methods.index) == {"array", "heuristic"} and methods.min() > 10


def test_searches_found_are_exactly_the_searches_in_jobs_csv(sacct):
    """The plain CSV says which search each job was in; grouping the sacct jobs
    (arrays + heuristics) must find the same sets, and group nothing else."""
    plain = pd.read_csv(LISA / "jobs.csv", dtype=str, keep_default_na=False)
    label = plain.set_index("job_id")["group"]
    found = find_groups(sacct).set_index(sacct["job_id"])["search_id"]
    assert set(found.index) == set(label.index)
    pairs = pd.DataFrame({"found": found, "label": label.reindex(found.index)})
    assert pairs["found"].isna().eq(pairs["label"] == "").all()
    grouped = pairs.dropna()
    assert grouped.groupby("found")["label"].nunique().max() == 1
    assert grouped.groupby("label")["found"].nunique().max() == 1


def test_sacct_and_wandb_together_give_the_same_searches(sacct):
    """Ingested together, W&B runs are counted once through their Slurm jobs and
    bring their sweep ids: 20 searches are then sweeps, still 123 in all."""
    from rdcost import read_log
    from rdcost.analysis.linking import compute_jobs

    runs = read_log(LISA / "wandb_runs.csv", project="lisa")
    both = compute_jobs(pd.concat([sacct.drop(columns="gpu_hours"), runs], ignore_index=True))
    assert len(both) == 4_789
    g = find_groups(both)
    per = g.drop_duplicates("search_id")["search_method"].value_counts()
    assert per.sum() == 123 and per["sweep"] == 20
    assert g["search_id"].notna().sum() == find_groups(sacct)["search_id"].notna().sum()


def test_arrays_have_task_ids_distinct_from_raw_ids(sacct):
    arr = sacct[sacct["array_job_id"].notna()]
    assert len(arr) > 500
    assert (arr["job_id"] == arr["array_job_id"] + "_" + arr["array_task_id"].astype(str)).all()
    # one task per array keeps the array's own id, the others got new ids when they started
    keeps = arr["job_id_raw"] == arr["array_job_id"]
    assert keeps.groupby(arr["array_job_id"]).sum().eq(1).all()
    assert arr["group_source"].eq("array").all()


# -- the raw sacct text ----------------------------------------------------------


def test_sacct_text_has_allocations_and_steps():
    lines = (LISA / "sacct.txt").read_text().splitlines()
    header = lines[0].split("|")
    assert header[:3] == ["Cluster", "JobID", "JobIDRaw"] and "AllocTRES" in header
    rows = [ln.split("|") for ln in lines[1:]]
    assert all(len(r) == len(header) for r in rows)
    ids = [r[1] for r in rows]
    n_alloc = sum("." not in i for i in ids)
    assert n_alloc == 4_789
    assert sum(i.endswith(".batch") for i in ids) == n_alloc
    n_extern = sum(i.endswith(".extern") for i in ids)
    n_srun = sum(i.endswith(".0") for i in ids)
    assert 0 < n_extern < n_alloc and 0 < n_srun < n_alloc
    tres = header.index("AllocTRES")
    assert any("gres/gpu:titanx=1,gres/gpu=1" in r[tres] for r in rows)
    assert any("gres/gpu:m40=" in r[tres] for r in rows)


# -- the W&B export ---------------------------------------------------------------


@pytest.fixture(scope="module")
def wandb():
    return pd.read_csv(LISA / "wandb_runs.csv", dtype=str, keep_default_na=False)


def test_wandb_layout():
    text = (LISA / "wandb_runs.csv").read_text()
    assert not text.endswith("\n")
    header = next(csv.reader([text.split("\n", 1)[0]]))
    assert header[:8] == ["Name", "State", "Notes", "User", "Tags", "Created", "Runtime", "Sweep"]
    assert "val/f1" in header and "slurm_job_id" in header
    for line in text.split("\n")[:200]:
        assert line.startswith('"') and line.endswith('"') and '",""' not in line.replace('","', "")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", text.split("\n")[1].split('","')[5]
    )


def test_wandb_runs_link_to_sacct_jobs(wandb):
    lines = (LISA / "sacct.txt").read_text().splitlines()[1:]
    raw_ids = {ln.split("|")[2] for ln in lines if "." not in ln.split("|")[2]}
    assert wandb["slurm_job_id"].isin(raw_ids).all()
    assert wandb["slurm_job_id"].is_unique
    assert 3_000 < len(wandb) <= 3_454


def test_wandb_sweeps_states_and_missing_metrics(wandb):
    sweeps = wandb.loc[wandb["Sweep"] != "", "Sweep"]
    assert sweeps.nunique() == 20 and sweeps.str.fullmatch(r"[a-z0-9]{8}").all()
    assert set(wandb["State"]) == {"finished", "failed", "crashed", "killed"}
    failed = wandb[wandb["State"] == "failed"]
    assert (failed["val/f1"] == "").any()
    assert (wandb.loc[wandb["State"] == "finished", "val/f1"] != "").all()


def test_wandb_repeated_configurations_with_different_seeds(wandb):
    cfg = [
        "Sweep",
        "slurm_array_job_id",
        "batch_size",
        "dropout",
        "learning_rate",
        "model",
        "num_layers",
        "task",
    ]
    key = wandb[cfg].astype(str).agg("|".join, axis=1)
    repeated = wandb.groupby(key)["seed"].nunique()
    assert (repeated > 1).sum() > 50


def test_wandb_metric_depends_on_learning_rate_and_dropout_not_batch_size(wandb):
    """The generator's model: F1 falls by 1.3 per squared octave of learning rate away
    from 0.04 and by 25 x (dropout - 0.2)^2; batch size costs at most 0.15 per octave."""
    done = wandb[wandb["State"] == "finished"]
    f1 = done["val/f1"].astype(float)
    # compare runs of the same model, task and training length
    resid = f1 - f1.groupby([done["model"], done["task"], done["max_epochs"]]).transform("mean")

    def effect(col, a, b):
        x = done[col].astype(float)
        return resid[x == a].mean() - resid[x == b].mean()

    assert effect("learning_rate", 0.04, 0.005) > 5  # design: +11.7
    assert effect("dropout", 0.4, 0.2) < -0.5  # design: -1.0
    assert abs(effect("batch_size", 8000, 5000)) < 0.3  # design: -0.1
    assert f1.between(50, 95).all()


# -- the plain CSV ------------------------------------------------------------------


def test_plain_csv_is_the_same_jobs():
    plain = pd.read_csv(LISA / "jobs.csv", dtype=str, keep_default_na=False)
    assert list(plain.columns) == [
        "job_id",
        "name",
        "user",
        "project",
        "partition",
        "state",
        "submit_time",
        "start_time",
        "end_time",
        "n_gpus",
        "gpu_type",
        "group",
    ]
    assert len(plain) == 4_789 and plain["job_id"].is_unique
    assert plain.loc[plain["group"] != "", "group"].nunique() == 123
    start = pd.to_datetime(plain["start_time"], utc=True)
    end = pd.to_datetime(plain["end_time"], utc=True)
    gh = ((end - start).dt.total_seconds() * plain["n_gpus"].astype(float)).sum() / H
    assert abs(gh / PAPER_GPU_HOURS - 1) < 0.005
