"""A new user's first run on real logs (issue 13): every Slurm, W&B, MLflow and plain
CSV file of ../shared/realworld ingested into one project, then every analysis command
with the default assumptions. Every command exits 0; no output of any format shows
nan, NaN, None or $nan; every GPU-hour is typed, priced and powered with the share of
each step of the chain printed; the implausible records are flagged, listed and left
out. The same for a project of one export that has no Start column.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

from rdcost.cli import app
from rdcost.output.plots import KINDS as PLOTS
from tests.cli_runner import cli_runner
from tests.conftest import REALWORLD
from tests.test_contract import REAL

#: A leak of a missing value into text: nan, NaN, None, $nan (not "nanogpt", "Nonetheless").
LEAK = re.compile(r"(?<![A-Za-z0-9_])(nan|NaN|None|NaT|null)(?![A-Za-z0-9_])")
#: In JSON, null is how unknown is written; NaN and Infinity are not JSON.
JSON_LEAK = re.compile(r"(?<![A-Za-z0-9_\"])(NaN|Infinity|nan)(?![A-Za-z0-9_\"])")


def _leaks(text: str) -> list[str]:
    return [text[max(0, m.start() - 60) : m.end() + 20] for m in LEAK.finditer(text)]


def _ingest(store: Path, files: list[tuple[str, dict]], project: str) -> None:
    runner = cli_runner()
    for name, opts in files:
        args = ["ingest", str(REALWORLD / name), "--store", str(store), "--project", project]
        if "fields" in opts:
            args += ["--fields", ",".join(opts["fields"])]
        r = runner.invoke(app, args)
        assert r.exit_code == 0, f"{name}: {r.output}"


@pytest.fixture(scope="module")
def rw_store(tmp_path_factory) -> Path:
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld not present")
    store = tmp_path_factory.mktemp("rw") / "store"
    _ingest(store, [(f, o) for f, _, o in REAL], "rw")
    return store


@pytest.fixture(scope="module")
def nostart_store(tmp_path_factory) -> Path:
    """GA4HPC's field list: Submit and Elapsed, no Start, no End."""
    if not (REALWORLD / "ga4hpc_sacct_p2_example.txt").is_file():
        pytest.skip("../shared/realworld not present")
    store = tmp_path_factory.mktemp("ga") / "store"
    _ingest(store, [("ga4hpc_sacct_p2_example.txt", {})], "ga")
    return store


def _run(*args: str) -> tuple[str, str]:
    r = cli_runner().invoke(app, list(args))
    assert r.exit_code == 0, f"rdcost {' '.join(args)} exited {r.exit_code}: {r.output}"
    return r.stdout, r.stderr


PROJECTS = [("rw_store", "rw"), ("nostart_store", "ga")]


@pytest.mark.parametrize("fixture,project", PROJECTS)
@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_summarize_every_format_has_no_missing_value_leak(request, fixture, project, fmt):
    store = request.getfixturevalue(fixture)
    out, err = _run("summarize", "--store", str(store), "-p", project, "-f", fmt)
    if fmt == "json":
        assert not JSON_LEAK.search(out)
        json.loads(out)
    else:
        assert not _leaks(out), _leaks(out)
    assert not _leaks(err), _leaks(err)


def _summary(store: Path, project: str, *extra: str) -> dict:
    out, _ = _run("summarize", "--store", str(store), "-p", project, "-f", "json", *extra)
    return json.loads(out)


@pytest.mark.parametrize("fixture,project", PROJECTS)
def test_every_gpu_hour_is_typed_priced_and_powered(request, fixture, project):
    store = request.getfixturevalue(fixture)
    s = _summary(store, project)
    assert s["gpu_hours"] > 0
    for shares, key in (
        (s["gpu_key_rules"], "gpu_key_rule"),
        (s["price_bases"], "price_basis"),
        (s["power_bases"], "power_basis"),
    ):
        assert sum(r["gpu_hours"] for r in shares) == pytest.approx(s["gpu_hours"])
        assert "unknown" not in {r[key] for r in shares}
    assert s["cloud_usd_low"] > 0 and s["cloud_usd_high"] >= s["cloud_usd_low"]
    assert s["energy_kwh"] > 0 and s["co2e_kg"] > 0
    table, _ = _run("summarize", "--store", str(store), "-p", project)
    # the share of each step is printed, e.g. "GPU type: 100.0% unidentified (...)"
    for r in s["gpu_key_rules"]:
        assert f"{100 * r['share_of_gpu_hours']:.1f}%" in table
    assert "GPU type: " in table and "Price: " in table and "Power: " in table


def test_the_implausible_record_is_flagged_listed_and_left_out(rw_store):
    s = _summary(rw_store, "rw")
    assert s["n_jobs_implausible"] >= 1
    bad = s["implausible_jobs"]
    assert bad and all(r["implausible_reason"] for r in bad)
    # the RUNNING job that claims years against a 5-day limit (sarc's Slurm 21.08 export)
    worst = max(bad, key=lambda r: r["elapsed_s"])
    assert worst["elapsed_s"] > 100 * worst["timelimit_s"]
    # left out: the longest job and the span are not the implausible one's
    assert s["max_job_days"] * 86_400 < worst["elapsed_s"]
    assert s["gpu_hours"] < worst["gpu_hours"]
    kept = _summary(rw_store, "rw", "--include-implausible")
    assert kept["gpu_hours"] == pytest.approx(s["gpu_hours"] + s["implausible_gpu_hours"])
    table, _ = _run("summarize", "--store", str(rw_store), "-p", "rw")
    assert "Data quality" in table and "Implausible records" in table
    assert "implausible records" in table


def test_no_start_column_is_enough(nostart_store):
    s = _summary(nostart_store, "ga")
    assert s["n_jobs_never_started"] == 0
    assert s["n_jobs_started"] == s["n_jobs"] == 2
    # 04:00:25 with no GPU, 03:00:30 with gres/gpu=1 (GA4HPC's own example)
    assert s["gpu_hours"] == pytest.approx(3 + 30 / 3600)
    assert s["assumptions"]["year"] == 2022  # from the submit times
    items = {d["item"]: d for d in s["data_quality"]}
    assert items["placed by their submit time"]["n_jobs"] == 2


@pytest.mark.parametrize("fixture,project", PROJECTS)
def test_report_card_and_buy_vs_cloud_run_without_leaks(request, tmp_path, fixture, project):
    store = request.getfixturevalue(fixture)
    common = ["--store", str(store), "-p", project]
    for suffix in ("md", "html"):
        path = tmp_path / f"report.{suffix}"
        _, err = _run("report", *common, "-o", str(path))
        text = path.read_text()
        if suffix == "html":  # the page's text, without its embedded images and scripts
            text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
            text = re.sub(r"data:image/[^\"']+", "", text)
        assert not _leaks(text), _leaks(text)
        assert "Data quality" in text and "GPU type: " in text
    for fmt in ("markdown", "latex"):
        out, err = _run("card", *common, "--format", fmt)
        assert not _leaks(out + err), _leaks(out + err)
        assert "GPU type: " in out
    for fmt in ("table", "markdown", "csv"):
        out, err = _run("compare-buy-vs-cloud", *common, "-f", fmt)
        assert not _leaks(out + err), _leaks(out + err)
    out, _ = _run("compare-buy-vs-cloud", *common, "-f", "json")
    assert not JSON_LEAK.search(out)
    d = json.loads(out)
    assert d["cloud_usd_high"] is not None and d["owned_total_usd"] is not None


@pytest.mark.parametrize("fixture,project", PROJECTS)
def test_every_plot_kind_is_written_without_leaks(request, tmp_path, fixture, project):
    """Each plot as SVG with its text kept as text, so every label can be read back."""
    store = request.getfixturevalue(fixture)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for kind in PLOTS:
            path = tmp_path / f"{kind}.svg"
            _run("plot", kind, "--store", str(store), "-p", project, "-o", str(path))
            svg = path.read_text()
            labels = " ".join(re.findall(r">([^<>]+)</text>", svg))
            assert labels, f"{kind}: no text in the plot"
            assert not _leaks(labels), (kind, _leaks(labels))


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_on_missing_unknown_leaves_out_without_leaks(rw_store, fmt):
    out, err = _run(
        "summarize", "--store", str(rw_store), "-p", "rw", "--on-missing", "unknown", "-f", fmt
    )
    assert not _leaks(out + err), _leaks(out + err)


def test_on_missing_error_is_strict_but_accepts_given_values(nostart_store):
    common = ["summarize", "--store", str(nostart_store), "-p", "ga"]
    r = cli_runner().invoke(app, [*common, "--on-missing", "error"])
    assert r.exit_code == 1 and "by a guess" in str(r.exception)
    # the GPU's type is unknown, but its price and power are given: nothing is guessed
    out, _ = _run(
        *common,
        "--on-missing",
        "error",
        "--usd-per-gpu-hour-low",
        "1",
        "--usd-per-gpu-hour-high",
        "2",
        "--watts-per-gpu",
        "300",
        "-f",
        "json",
    )
    s = json.loads(out)
    assert s["cloud_usd_low"] == pytest.approx(s["gpu_hours"] * 1)
    assert s["cloud_usd_high"] == pytest.approx(s["gpu_hours"] * 2)
