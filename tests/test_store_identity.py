"""One job, one row, whatever was ingested in whatever order: exports of the same
Slurm jobs that lack the cluster or the submit time, cut fixed-width values, a running
export and a final one, a plain CSV that repeats the jobs, a re-ingest under another
project. Through the CLI as a user runs it; expected values written from the files."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

import rdcost
from rdcost.analysis.linking import compute_jobs
from rdcost.cli import main

REPO = Path(__file__).resolve().parents[1]
JSON = (
    REPO / "tests" / "data" / "sacct_json" / "v0041_spec_example.json"
)  # job 9001_3, cluster alpha
# the same job as sacct prints it without --json, with no Cluster or Submit column
TEXT = (
    "JobID|JobName|State|Start|End|ElapsedRaw|NCPUS|AllocTRES\n"
    "9001_3|sweep|COMPLETED|2024-03-02T10:00:05|2024-03-02T10:42:05|2520|8|"
    "billing=8,cpu=8,gres/gpu=1,mem=32G,node=1\n"
)
# and as the default fixed-width table cuts it (AllocTRES to 10 characters)
FIXED = (
    "       JobID    JobName      State               Start                 End  AllocTRES \n"
    "------------ ---------- ---------- ------------------- ------------------- ---------- \n"
    "9001_3            sweep  COMPLETED 2024-03-02T10:00:05 2024-03-02T10:42:05 billing=8+ \n"
)
RUNNING = (
    "JobID|JobName|State|Start|End|ElapsedRaw|NCPUS|AllocTRES\n"
    "9001_3|sweep|RUNNING|2024-03-02T10:00:05|Unknown|600|8|billing=8,cpu=8,gres/gpu=1,mem=32G,node=1\n"
)


def run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code, capsys.readouterr().err


def ingest(capsys, store: Path, path: Path, *extra: str) -> str:
    code, err = run(capsys, "ingest", str(path), "--store", str(store), *extra)
    assert code == 0, err
    return err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"json": JSON}
    for name, text in (("text", TEXT), ("fixed", FIXED), ("running", RUNNING)):
        p = tmp_path / f"{name}.txt"
        p.write_text(text)
        out[name] = p
    return out


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["json", "text", "fixed"])), ids=lambda o: "-".join(o)
)
def test_every_export_of_a_job_in_any_order_is_one_row(order, files, tmp_path, capsys):
    store = tmp_path / "store"
    for name in order:
        ingest(capsys, store, files[name])
    jobs = rdcost.read_jobs(store)
    assert len(jobs) == 1, jobs[["record_key", "source_format"]]
    j = jobs.iloc[0]
    # what only the JSON says survives; what the cut export lost is not lost
    assert j["record_key"] == "slurm:alpha:9001_3:2024-03-02T09:50:00Z"
    assert (j["cluster"], j["user"], j["account"], j["partition"]) == ("alpha", "bob", "cv", "gpu")
    assert j["n_gpus"] == 1 and j["n_cpus"] == 8 and j["elapsed_s"] == 2520
    assert j["state"] == "COMPLETED" and j["job_name"] == "sweep"


def test_a_cut_export_after_the_json_changes_no_figure(files, tmp_path, capsys):
    store = tmp_path / "store"
    ingest(capsys, store, files["json"])
    err = ingest(capsys, store, files["fixed"])
    assert "0 new, 0 updated, 1 unchanged" in err
    j = rdcost.read_jobs(store).iloc[0]
    assert j["n_gpus"] == 1 and pd.isna(j["cut_columns"])


@pytest.mark.parametrize(
    "order", [("running", "json"), ("json", "running")], ids=lambda o: "-then-".join(o)
)
def test_a_final_state_beats_a_running_one_in_either_order(order, files, tmp_path, capsys):
    store = tmp_path / "store"
    for name in order:
        ingest(capsys, store, files[name])
    jobs = rdcost.read_jobs(store)
    assert len(jobs) == 1
    j = jobs.iloc[0]
    assert j["state"] == "COMPLETED" and j["elapsed_s"] == 2520
    assert j["end_time"] == pd.Timestamp("2024-03-02T10:42:05Z")


def test_without_a_cluster_a_job_id_of_two_clusters_stays_apart(files, tmp_path, capsys):
    """Two clusters in the store: an export without Cluster cannot say whose job it is."""
    store = tmp_path / "store"
    ingest(capsys, store, files["json"])
    other = tmp_path / "beta.txt"
    other.write_text(
        "Cluster|JobID|State|Submit|Start|End|ElapsedRaw\n"
        "beta|9001_3|COMPLETED|2024-03-02T09:50:00|2024-03-02T10:00:05|2024-03-02T10:42:05|2520\n"
    )
    ingest(capsys, store, other)
    ingest(capsys, store, files["text"])
    assert len(rdcost.read_jobs(store)) == 3


def test_times_shifted_by_whole_hours_are_not_merged_and_said(files, tmp_path, capsys):
    store = tmp_path / "store"
    ingest(capsys, store, files["json"])
    err = ingest(capsys, store, files["text"], "--tz", "Europe/Berlin")  # read an hour off
    assert len(rdcost.read_jobs(store)) == 2
    assert "times shifted by whole hours" in err and "--tz" in err


def test_reingest_under_another_project_says_what_moved(files, tmp_path, capsys):
    store = tmp_path / "store"
    ingest(capsys, store, files["json"], "--project", "alpha-study")
    err = ingest(capsys, store, files["json"], "--project", "beta-study")
    assert "1 job moved from project alpha-study to beta-study" in err
    assert rdcost.read_jobs(store).iloc[0]["project"] == "beta-study"


def test_a_plain_csv_of_the_same_jobs_is_counted_once(tmp_path, capsys):
    """sample_logs/lisa/jobs.csv holds the jobs of sacct.txt as a plain CSV."""
    lisa = REPO / "sample_logs" / "lisa"
    store = tmp_path / "store"
    ingest(capsys, store, lisa / "sacct.txt", "--project", "lisa")
    ingest(capsys, store, lisa / "jobs.csv", "--project", "lisa")
    jobs = rdcost.read_jobs(store, project="lisa")
    n_csv = int((jobs["source"] == "csv").sum())
    n_slurm = int((jobs["source"] == "slurm").sum())
    assert n_csv == n_slurm == 4789  # both stored, as the logs said
    cj = compute_jobs(jobs)
    assert len(cj) == 4789 and set(cj["source"]) == {"slurm"}
    code, err = run(
        capsys, "summarize", "--store", str(store), "-p", "lisa", "-a", "paper", "-f", "json"
    )
    assert code == 0


ALLOC = (
    "JobID|JobName|State|Submit|Start|End|ElapsedRaw|NCPUS|AllocTRES\n"
    "777|train|COMPLETED|2024-05-01T08:00:00|2024-05-01T09:00:00|2024-05-01T11:00:00|7200|8|"
    "billing=8,cpu=8,gres/gpu=2,mem=32G,node=1\n"
    "777.batch|batch|COMPLETED|2024-05-01T09:00:00|2024-05-01T09:00:00|2024-05-01T10:59:59|"
    "7199|8|cpu=8,gres/gpu=2,mem=32G,node=1\n"
)
# `sacct -j 777.batch`: the step alone, its allocation line not in the file
STEP_ONLY = ALLOC.split("\n")[0] + "\n" + ALLOC.split("\n")[2] + "\n"


@pytest.mark.parametrize("order", [("steps", "alloc"), ("alloc", "steps")], ids="-then-".join)
def test_an_inferred_allocation_and_its_logged_line_are_one_job(order, tmp_path, capsys):
    """A step-only export makes an inferred allocation (submit = the step's start); the
    job's own line, ingested before or after, is the same job, and its values lead."""
    paths = {"alloc": tmp_path / "alloc.txt", "steps": tmp_path / "steps.txt"}
    paths["alloc"].write_text(ALLOC)
    paths["steps"].write_text(STEP_ONLY)
    store = tmp_path / "store"
    for name in order:
        ingest(capsys, store, paths[name])
    jobs = rdcost.read_jobs(store)
    assert len(jobs) == 1, jobs[["record_key", "is_inferred", "submit_time"]]
    j = jobs.iloc[0]
    assert not j["is_inferred"] and j["job_name"] == "train"
    assert j["submit_time"] == pd.Timestamp("2024-05-01T08:00:00Z")
    assert j["end_time"] == pd.Timestamp("2024-05-01T11:00:00Z") and j["elapsed_s"] == 7200
    assert j["record_key"].endswith(":777:2024-05-01T08:00:00Z")
    assert j["n_gpus"] == 2


def test_an_inferred_allocation_of_another_start_stays_apart(tmp_path, capsys):
    """A job id reused (another start): the steps are not folded into the logged job."""
    store = tmp_path / "store"
    (tmp_path / "alloc.txt").write_text(ALLOC)
    (tmp_path / "steps.txt").write_text(STEP_ONLY.replace("2024-05-01", "2024-05-02"))
    ingest(capsys, store, tmp_path / "alloc.txt")
    ingest(capsys, store, tmp_path / "steps.txt")
    assert len(rdcost.read_jobs(store)) == 2


def test_the_manifest_says_what_each_ingest_did(files, tmp_path, capsys):
    """An input's n_new / n_updated / n_unchanged are the store's counts for it; null
    when several files were ingested together (the counts are the ingest's, not a file's)."""
    import json

    store = tmp_path / "store"
    ingest(capsys, store, files["text"])
    ingest(capsys, store, files["text"])
    code, err = run(
        capsys, "ingest", str(files["json"]), str(files["fixed"]), "--store", str(store)
    )
    assert code == 0, err
    inputs = json.loads((store / "manifest.json").read_text())["inputs"]
    counts = [(i["n_new"], i["n_updated"], i["n_unchanged"]) for i in inputs]
    assert counts[:2] == [(1, 0, 0), (0, 0, 1)]
    assert counts[2:] == [(None, None, None)] * 2
