"""Utilization waste (issue 16, item 2): GPU-hours at 0%, below the threshold and on unused
GPUs of multi-GPU jobs, with cost, energy and CO2e, per user, grid search and job; worked by
hand on a small table, equal whatever the split and on the store, computed on the samples
that log utilisation (sample_logs/utilization, sample_logs/energy) and said to be unknown
where nothing is logged (sample_logs/lisa)."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import math

import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.linking import compute_jobs
from rdcost.analysis.project import analyze_project
from rdcost.analysis.projects import read_project_jobs
from rdcost.analysis.summary import summarize, summarize_store
from rdcost.analysis.utilization.section import NOTHING_LOGGED
from rdcost.cli import main
from rdcost.errors import AssumptionError
from rdcost.jobtable.schema import conform
from rdcost.jobtable.store import Store
from rdcost.output import renderers
from rdcost.output.views import report as report_view
from rdcost.output.views import summary as summary_view
from rdcost.readers.ingest import ingest, read_log
from rdcost.readers.runs.gpu_metrics import from_keys
from rdcost.readers.slurm.gpu_usage import jobstats_gpu_util
from rdcost.samples import utilization as util_sample
from tests.conftest import REPO
from tests.test_engine import PAPER, TODAY, job, same

UTIL = REPO / "sample_logs" / "utilization"
ENERGY = REPO / "sample_logs" / "energy"
LISA = REPO / "sample_logs" / "lisa"
# the paper preset: $0.43 - $1.46 per GPU-hour, 217 W per GPU, PUE 1.58, one carbon factor
LOW, HIGH, KW, PUE = 0.43, 1.46, 0.217, 1.58


def util_job(key, hours, n_gpus, util, unused=None, user="u1", state="COMPLETED", **kw):
    return job(
        key,
        state,
        0 if hours else None,
        hours,
        n_gpus,
        "titanx",
        gpu_util_percent=util,
        n_gpus_unused=unused,
        user=user,
        **kw,
    )


def hand_frame() -> pd.DataFrame:
    """Ten jobs whose utilisation waste is worked out by hand in the tests below."""
    arr = dict(group_id="100", group_source="array")
    return conform(
        pd.DataFrame(
            [
                util_job("a", 10, 1, 0.0, **arr),  # a mean of 0%: its one GPU at 0%
                util_job("b", 5, 4, 25.0, 3),  # one GPU of four used: 3 unused, 25% mean
                util_job("c", 3, 2, 6.0, 0, **arr),  # both GPUs used, at 6%: below 10%
                util_job("d", 4, 1, 50.0, user="u2", **arr),
                util_job("e", 6, 2, None, user="u2"),  # nothing logged: unknown
                util_job("f", 2, 8, 0.0, 8, user="u2"),  # eight GPUs, none used
                util_job("g", 1, 1, 9.99, user="u3", **arr),  # just below 10%
                util_job("h", 2, 1, 10.0, user="u3"),  # at the threshold: not below
                util_job("i", None, 1, 0.0, user="u3", state="CANCELLED"),  # never ran
                util_job("j", 0.05, 1, 0.0, user="u3", state="FAILED"),  # crashed, at 0%
            ]
        )
    )


@pytest.fixture(scope="module")
def hand():
    return summarize(hand_frame(), PAPER, today=TODAY, project="p").to_dict()["utilization"]


def test_coverage_worked_by_hand(hand):
    u = hand
    assert u["status"] == "computed" and u["threshold_percent"] == 10
    assert u["n_jobs_with_gpu_time"] == 9  # i never ran
    assert u["gpu_hours"] == pytest.approx(10 + 20 + 6 + 4 + 12 + 16 + 1 + 2 + 0.05)
    assert (u["n_jobs_util_logged"], u["n_jobs_util_unknown"]) == (8, 1)  # e unknown
    assert u["util_logged_gpu_hours"] == pytest.approx(59.05)
    assert u["util_unknown_gpu_hours"] == pytest.approx(12)
    assert u["util_logged_share_of_gpu_hours"] == pytest.approx(59.05 / 71.05)
    weighted = 20 * 25 + 6 * 6 + 4 * 50 + 1 * 9.99 + 2 * 10  # GPU-hours x mean utilisation
    assert u["mean_util_percent"] == pytest.approx(weighted / 59.05)


@pytest.mark.parametrize(
    "row,n_jobs,gpu_hours",
    [
        ("zero_util", 4, 10 + 15 + 16 + 0.05),  # a; b's 3 of 4 GPUs; f; j
        ("below_threshold", 5, 10 + 6 + 16 + 1 + 0.05),  # a, c, f, g, j (not h: 10% is not below)
        ("unused_gpus", 2, 15 + 16),  # b and f (c used both)
        ("util_waste", 6, 10 + 15 + 6 + 16 + 1 + 0.05),  # each GPU-hour once
    ],
)
def test_rows_worked_by_hand(hand, row, n_jobs, gpu_hours):
    r = hand[row]
    assert r["n_jobs"] == n_jobs
    assert r["gpu_hours"] == pytest.approx(gpu_hours, abs=1e-9)
    assert r["share_of_util_logged_gpu_hours"] == pytest.approx(gpu_hours / 59.05)
    assert r["cloud_usd_low"] == pytest.approx(gpu_hours * LOW)
    assert r["cloud_usd_high"] == pytest.approx(gpu_hours * HIGH)
    assert r["energy_kwh"] == pytest.approx(gpu_hours * KW * PUE)
    assert r["co2e_kg"] == pytest.approx(r["energy_kwh"] * PAPER_KG_PER_KWH)
    assert r["co2e_kg_low"] <= r["co2e_kg"] <= r["co2e_kg_high"]


PAPER_KG_PER_KWH = A.load(["paper"]).for_year(2018).environment()[1].kg_co2e_per_kwh


def test_unused_gpus_of_multi_gpu_jobs(hand):
    un = hand["unused_gpus"]
    assert un["n_jobs_multi_gpu"] == 4  # b, c, e, f
    assert un["n_jobs_multi_gpu_per_gpu_logged"] == 3  # b, c, f
    assert (un["n_gpus_allocated"], un["n_gpus_unused"]) == (4 + 2 + 8, 3 + 0 + 8)
    assert un["per_gpu_logged_gpu_hours"] == pytest.approx(20 + 6 + 16)


def test_lists_per_user_search_and_job(hand):
    users = {r["user"]: r for r in hand["by_user"]}
    assert [r["user"] for r in hand["by_user"]] == ["u1", "u2", "u3"]
    assert users["u1"]["util_waste_gpu_hours"] == pytest.approx(10 + 15 + 6)
    assert users["u2"]["util_waste_gpu_hours"] == pytest.approx(16)
    assert users["u2"]["util_logged_share_of_gpu_hours"] == pytest.approx(20 / 32)
    assert users["u3"]["below_threshold_gpu_hours"] == pytest.approx(1.05)
    assert users["u1"]["util_waste_cloud_usd_low"] == pytest.approx(31 * LOW)
    assert hand["n_users_with_util_waste"] == 3
    (search,) = hand["by_search"]  # the array a, c, d, g (no cluster: scoped by project)
    assert search["search_id"] == "array:p:100"
    assert (search["n_jobs"], search["gpu_hours"]) == (4, pytest.approx(10 + 6 + 4 + 1))
    assert search["zero_util_gpu_hours"] == pytest.approx(10)
    assert search["util_waste_gpu_hours"] == pytest.approx(17)
    assert [j["job_id"] for j in hand["top_jobs"]] == ["f", "b", "a", "c", "g", "j"]
    b = hand["top_jobs"][1]
    assert (b["n_gpus"], b["n_gpus_unused"], b["util_percent"]) == (4, 3, 25)
    assert hand["n_jobs_with_util_waste"] == 6 and hand["list_limit"] == 10


def test_the_threshold_is_an_assumption_shown_beside_the_figures():
    a = A.apply_dict(PAPER, {"utilization": {"threshold_percent": 30}}, "option --util-threshold")
    s = summarize(hand_frame(), a, today=TODAY)
    u = s.to_dict()["utilization"]
    assert u["threshold_percent"] == 30
    # b's 25% and h's 10% are below 30% too
    assert u["below_threshold"]["gpu_hours"] == pytest.approx(33.05 + 20 + 2)
    assert u["util_waste"]["gpu_hours"] == pytest.approx(10 + 20 + 6 + 16 + 1 + 2 + 0.05)
    assert s.assumptions["util_threshold_percent"]["origin"] == "option --util-threshold"
    text = renderers.document(summary_view.document(s), "table")
    assert "Threshold 30% [option --util-threshold]" in text
    assert "utilisation threshold: 30 percent [option --util-threshold]" in text
    for bad in (0, 101, "x"):
        with pytest.raises(AssumptionError, match="threshold_percent"):
            A.apply_dict(PAPER, {"utilization": {"threshold_percent": bad}}, "t")


def test_unknown_prices_leave_the_money_unknown_not_zero():
    jobs = hand_frame().assign(gpu_type="mystery-gpu")  # no price, no power of its own
    u = summarize(conform(jobs), None, today=TODAY, on_missing="unknown").to_dict()["utilization"]
    r = u["util_waste"]
    assert r["gpu_hours"] == pytest.approx(48.05)  # the GPU time is known
    assert r["cloud_usd_low"] is None and r["energy_kwh"] is None and r["co2e_kg"] is None
    assert u["by_user"][0]["util_waste_cloud_usd_low"] is None


@pytest.mark.parametrize("n_parts", [2, 3, 10])
def test_the_split_changes_nothing(n_parts):
    jobs = hand_frame()
    ref = summarize(jobs, PAPER, today=TODAY, project="p").to_dict()
    same(ref, summarize(jobs, PAPER, today=TODAY, project="p", n_parts=n_parts).to_dict())


def test_nothing_logged_is_unknown_never_zero():
    jobs = hand_frame().assign(gpu_util_percent=float("nan"), n_gpus_unused=pd.NA)
    s = summarize(conform(jobs), PAPER, today=TODAY)
    u = s.to_dict()["utilization"]
    assert u["status"] == "unknown" and u["note"] == NOTHING_LOGGED
    assert u["n_jobs_util_logged"] == 0 and u["util_logged_share_of_gpu_hours"] == 0
    for row in ("zero_util", "below_threshold", "unused_gpus", "util_waste"):
        assert u[row]["gpu_hours"] is None and u[row]["cloud_usd_low"] is None
    assert u["by_user"] == [] and u["n_users_with_util_waste"] is None
    text = renderers.document(summary_view.document(s), "table")
    assert "No GPU utilisation logged for any job: utilisation waste unknown" in text
    assert "nan" not in text.lower().replace("nanogpt", "") and "None" not in text
    json.dumps(s.to_dict(), allow_nan=False)


# -- readers: per-GPU values ----------------------------------------------------------


def _js1(util: dict[str, float]) -> str:
    d = {"nodes": {"n1": {"gpu_utilization": util}}}
    return "JS1:" + base64.b64encode(gzip.compress(json.dumps(d).encode())).decode()


def test_jobstats_counts_the_gpus_at_zero():
    got = jobstats_gpu_util(_js1({"0": 84, "1": 0, "2": 0.0, "3": 0.4}))
    assert got is not None
    assert (got.mean_percent, got.n_gpus, got.n_unused) == (21.1, 4, 2)


def test_wandb_and_mlflow_per_gpu_values_count_the_gpus_at_zero():
    host = {"system.gpu.0.gpu": 77, "system.gpu.1.gpu": 0, "system.gpu.0.powerWatts": 300}
    m = from_keys(host, "wandb", 2.0)
    assert (m.util_percent, m.n_unused, m.source) == (38.5, 1, "wandb system metrics (host GPUs)")
    assert from_keys({"system.gpu.0.powerWatts": 300}, "wandb", 1.0).n_unused is None
    ml = from_keys({"system/gpu_0_utilization_percentage": 0}, "mlflow", 1.0)
    assert (ml.util_percent, ml.n_unused) == (0, 1)


def test_several_runs_in_one_job_give_unused_gpus_only_when_all_agree_on_none():
    slurm = job("s", "COMPLETED", 0, 4, 2, "titanx")
    slurm.update(job_id_raw="s", cluster="c")
    runs = [
        job(
            f"r{i}",
            "COMPLETED",
            0,
            2,
            2,
            "titanx",
            source="wandb",
            run_id=f"r{i}",
            linked_slurm_job_id="s",
            cluster="c",
            gpu_util_percent=50.0,
            n_gpus_unused=unused,
            gpu_metrics_source="wandb system metrics (host GPUs)",
        )
        for i, unused in enumerate((0, 1))
    ]
    cj = compute_jobs(conform(pd.DataFrame([slurm, *runs])))
    assert len(cj) == 1 and pd.isna(cj["n_gpus_unused"].iloc[0])  # GPU 1 idle in one run only
    runs[1]["n_gpus_unused"] = 0
    cj = compute_jobs(conform(pd.DataFrame([slurm, *runs])))
    assert cj["n_gpus_unused"].iloc[0] == 0 and cj["gpu_util_percent"].iloc[0] == 50


# -- the utilization sample -----------------------------------------------------------


def test_the_generator_gives_the_committed_files(tmp_path):
    for name, p in util_sample.generate(tmp_path).items():
        assert p.read_bytes() == (UTIL / name).read_bytes(), name


@pytest.fixture(scope="module")
def util_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("util") / "store"
    ingest([UTIL / "sacct.txt", UTIL / "wandb_runs.jsonl"], store=path, project="util")
    return path


def _expected_from_files() -> dict[str, float]:
    """The sample's utilisation waste from its files (read with csv and json, not rdcost):
    jobstats per-GPU values, gres/gpuutil of the batch step (0 not read), W&B host GPUs."""
    with open(UTIL / "sacct.txt", newline="") as fh:
        lines = list(csv.DictReader(fh, delimiter="|"))
    usage = {r["JobID"].split(".")[0]: r["TRESUsageInAve"] for r in lines if ".batch" in r["JobID"]}
    runs = {}
    for line in (UTIL / "wandb_runs.jsonl").read_text().splitlines():
        r = json.loads(line)
        runs[r["metadata"]["slurm"]["job_id"]] = [
            v for k, v in sorted(r["system_metrics"].items()) if k.endswith(".gpu")
        ]
    out = dict(all=0.0, logged=0.0, zero=0.0, below=0.0, unused=0.0, waste=0.0)
    for r in lines:
        if "." in r["JobID"]:
            continue
        n = int(dict(x.split("=", 1) for x in r["AllocTRES"].split(","))["gres/gpu"])
        h = int(r["ElapsedRaw"]) / 3600
        out["all"] += n * h
        per_gpu = None
        if r["AdminComment"].startswith("JS1:"):
            d = json.loads(gzip.decompress(base64.b64decode(r["AdminComment"][4:])))
            per_gpu = [v for node in d["nodes"].values() for v in node["gpu_utilization"].values()]
        elif r["JobIDRaw"] in runs:
            per_gpu = runs[r["JobIDRaw"]]
        tres = dict(x.split("=", 1) for x in usage[r["JobID"]].split(","))
        mean = None
        if per_gpu is not None:
            mean = sum(per_gpu) / len(per_gpu)
        elif float(tres.get("gres/gpuutil", 0)) > 0:
            mean = float(tres["gres/gpuutil"])
        if mean is None:
            continue
        out["logged"] += n * h
        idle = sum(1 for v in per_gpu if v == 0) if per_gpu is not None else (n if mean == 0 else 0)
        out["zero"] += idle * h
        if n > 1 and per_gpu is not None:
            out["unused"] += idle * h
        out["below"] += n * h if mean < 10 else 0
        out["waste"] += n * h if mean < 10 else idle * h
    return out


def test_the_sample_gives_the_waste_its_files_hold(util_store):
    s = summarize_store(util_store, "util", assumptions=PAPER, today=TODAY).to_dict()
    u, want = s["utilization"], _expected_from_files()
    assert u["status"] == "computed"
    assert u["gpu_hours"] == pytest.approx(want["all"])
    assert u["util_logged_gpu_hours"] == pytest.approx(want["logged"])
    for row, key in (
        ("zero_util", "zero"),
        ("below_threshold", "below"),
        ("unused_gpus", "unused"),
        ("util_waste", "waste"),
    ):
        assert u[row]["gpu_hours"] == pytest.approx(want[key]), row
    # as the sample's doc says: 4 hung array tasks (18 GPU-hours), five 4-GPU jobs with three
    # idle GPUs for 10 hours, three W&B runs with GPU 1 idle for 6 hours, four sessions at 3-6%
    assert u["zero_util"]["gpu_hours"] == pytest.approx(18 + 5 * 3 * 10 + 3 * 6)
    assert u["below_threshold"]["gpu_hours"] == pytest.approx(18 + 7.5 + 8 + 8 + 7.5)
    assert {r["source"] for r in u["by_source"]} == {
        "jobstats",
        "sacct gres/gpuutil",
        "wandb system metrics (host GPUs)",
    }
    assert [r["user"] for r in u["by_user"]] == ["adiaz", "cokafor", "bchen", "ehassan"]
    assert [r["search_id"] for r in u["by_search"]] == [
        "heuristic:adiaz:ddp:2025-06-03T07:57:00Z",
        "array:tarn:8123400",
    ]
    assert u["n_jobs_util_unknown"] == 7  # dlund's six and the session whose gpuutil is 0


def test_store_path_equals_the_in_memory_path(util_store):
    jobs = read_project_jobs(Store(util_store), "util", None)
    ref = summarize(jobs, PAPER, project="util", today=TODAY).to_dict()
    got = summarize_store(util_store, "util", None, PAPER, today=TODAY).to_dict()
    same(ref, got)
    assert got["utilization"]["by_search"]  # the searches are found on both paths


def test_every_key_is_documented(util_store):
    u = summarize_store(util_store, "util", assumptions=PAPER, today=TODAY).to_dict()["utilization"]
    doc = (REPO / "docs" / "summary-json.md").read_text()
    rows = [
        u["unused_gpus"],
        u["by_user"][0],
        u["by_search"][0],
        u["top_jobs"][0],
        u["by_source"][0],
    ]
    keys = set(u).union(*rows)
    assert [k for k in sorted(keys) if f"`{k}`" not in doc] == []
    assert "`util_threshold_percent`" in doc


def _cli(capsys, *args):
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    assert done.value.code in (0, None), out.err
    return out.out


def test_cli_every_format_shows_the_block(util_store, capsys):
    base = ("summarize", "--store", str(util_store), "-p", "util", "--util-threshold", "5")
    d = json.loads(_cli(capsys, *base, "-f", "json"))
    assert d["utilization"]["threshold_percent"] == 5
    assert d["assumptions"]["util_threshold_percent"]["origin"] == "option --util-threshold"
    text = _cli(capsys, *base)
    assert "Utilization waste: GPUs at 0% and below 5%" in text
    assert "Threshold 5% [option --util-threshold]" in text
    assert "unused GPUs of multi-GPU jobs" in text and "adiaz" in text
    md = _cli(capsys, *base, "-f", "markdown")
    assert "## Utilization waste" in md and "| total: at 0% or below 5% |" in md
    rows = list(csv.DictReader(_cli(capsys, *base, "-f", "csv").splitlines()))
    got = {(r["section"], r["metric"]): r["value"] for r in rows}
    assert float(got[("utilization:util_waste", "gpu_hours")]) == pytest.approx(
        d["utilization"]["util_waste"]["gpu_hours"]
    )
    assert got[("assumptions", "util_threshold_percent")] == "5.0"


def test_cli_anonymize_tokens_users_and_searches(util_store, capsys, monkeypatch):
    monkeypatch.setenv("RDCOST_ANON_SALT", "s" * 32)
    for fmt in ("json", "table", "csv"):
        out = _cli(
            capsys, "--anonymize", "summarize", "--store", str(util_store), "-p", "util", "-f", fmt
        )
        for name in ("adiaz", "bchen", "cokafor", "ehassan", "heuristic:", "array:tarn"):
            assert name not in out, (fmt, name)
    d = json.loads(
        _cli(
            capsys,
            "--anonymize",
            "summarize",
            "--store",
            str(util_store),
            "-p",
            "util",
            "-f",
            "json",
        )
    )
    assert all(r["user"].startswith("user-") for r in d["utilization"]["by_user"])
    assert all(r["search_id"].startswith("search-") for r in d["utilization"]["by_search"])


def test_the_report_has_the_section(util_store):
    jobs = read_project_jobs(Store(util_store), "util", None)
    ctx = analyze_project(jobs, PAPER, project="util", today=TODAY)
    md = renderers.document(report_view.document(ctx, kinds=()), "markdown")
    assert "## Utilization waste" in md
    assert "Threshold 10% \\[built-in default\\]" in md  # Markdown escapes the brackets
    assert "| total: at 0% or below 10% |" in md and "| adiaz |" in md


# -- the energy sample logs utilisation; the lisa sample logs none ---------------------


def test_the_energy_sample_computes_it():
    jobs = pd.concat(
        [read_log(ENERGY / "sacct.txt"), read_log(ENERGY / "wandb_runs.jsonl")], ignore_index=True
    )
    a = A.load(["current"])
    u = summarize(jobs, a, today=TODAY).to_dict()["utilization"]
    assert u["status"] == "computed"
    # every job but the three H100 jobs without a W&B run (gres/gpuutil=0 there: not read)
    assert (u["n_jobs_with_gpu_time"], u["n_jobs_util_logged"]) == (48, 45)
    assert 0 < u["util_logged_share_of_gpu_hours"] < 1
    # the sample's jobs ran at 55-96%: nothing below 10%, a known 0, not unknown
    assert u["below_threshold"]["gpu_hours"] == 0 and u["zero_util"]["gpu_hours"] == 0
    assert u["unused_gpus"]["n_gpus_unused"] == 0
    high = A.apply_dict(a, {"utilization": {"threshold_percent": 70}}, "t")
    u70 = summarize(jobs, high, today=TODAY).to_dict()["utilization"]
    assert u70["below_threshold"]["gpu_hours"] > 0 and u70["by_user"]


@pytest.mark.skipif(not (LISA / "sacct.txt").is_file(), reason="sample logs absent")
def test_the_lisa_sample_says_unknown():
    s = summarize(read_log(LISA / "sacct.txt"), PAPER, today=TODAY)
    u = s.to_dict()["utilization"]
    assert u["status"] == "unknown" and u["n_jobs_util_logged"] == 0
    assert u["util_waste"]["gpu_hours"] is None and u["unused_gpus"]["n_gpus_unused"] is None
    assert u["n_jobs_with_gpu_time"] == 4789
    text = renderers.document(summary_view.document(s), "table")
    assert "No GPU utilisation logged for any job: utilisation waste unknown" in text
    assert not math.isnan(u["gpu_hours"])
