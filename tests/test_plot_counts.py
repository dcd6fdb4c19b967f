"""Every count a plot prints equals the summary's for the same project (issue 18): the
plots are drawn as SVG with their text kept as text, and each count read back from the
drawing is compared with `rdcost summarize --format json` of the same store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

from rdcost.cli import app
from tests.cli_runner import cli_runner
from tests.conftest import REALWORLD, SAMPLE_LOGS
from tests.test_contract import REAL


def _invoke(*args: str) -> str:
    r = cli_runner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture(scope="module", params=["lisa", "realworld"])
def project(request, tmp_path_factory) -> tuple[Path, str]:
    store = tmp_path_factory.mktemp(request.param) / "store"
    if request.param == "lisa":
        files = [(SAMPLE_LOGS / "lisa" / "sacct.txt", {})]
    else:
        if not REALWORLD.is_dir():
            pytest.skip("../shared/realworld not present")
        files = [(REALWORLD / f, o) for f, fmt, o in REAL if fmt.startswith("sacct")]
    for path, opts in files:
        extra = ["--fields", ",".join(opts["fields"])] if "fields" in opts else []
        _invoke("ingest", str(path), "--store", str(store), "--project", "p", *extra)
    return store, "p"


def _texts(store: Path, kind: str, tmp: Path) -> str:
    path = tmp / f"{kind}.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        _invoke("plot", kind, "--store", str(store), "-p", "p", "-o", str(path))
    svg = path.read_text()
    texts = re.findall(r">([^<>]+)</text>", svg)
    return "\n".join(t.replace("&#x27;", "'") for t in texts) + "\n" + _description(svg)


def _description(svg: str) -> str:
    m = re.search(r"<dc:description>(.*?)</dc:description>", svg, re.S)
    return m.group(1) if m else ""


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _summary(store: Path) -> dict:
    return json.loads(_invoke("summarize", "--store", str(store), "-p", "p", "-f", "json"))


def test_job_lengths_counts_are_the_summarys(project, tmp_path):
    store, _ = project
    s = _summary(store)
    text = _texts(store, "job-lengths", tmp_path)
    m = re.search(r"([\d,]+) jobs of known length, of ([\d,]+) started", text)
    assert m, text
    known, started = _int(m.group(1)), _int(m.group(2))
    assert started == s["n_jobs_started"]
    assert known == s["n_jobs_started"] - s["n_jobs_implausible"] - s["n_jobs_elapsed_unknown"]
    crashed = re.search(r"([\d,]+) jobs shorter \(crashed\)", text)
    assert crashed and _int(crashed.group(1)) == s["n_crashed_jobs"]
    legend = [_int(n) for n in re.findall(r"\(([\d,]+) jobs\)", text)]
    assert sum(legend) == known


def test_waste_counts_are_the_summarys(project, tmp_path):
    store, _ = project
    s = _summary(store)
    text = _texts(store, "waste", tmp_path)
    total = re.search(r"total ([\d,]+) jobs", text)
    assert total and _int(total.group(1)) == s["waste"]["total"]["n_jobs"]


def test_grid_search_counts_are_the_summarys(project, tmp_path):
    store, _ = project
    s = _summary(store)
    text = _texts(store, "grid-searches", tmp_path)
    if s["n_grid_searches"] == 0:
        assert "no grid search" in text.lower()
        return
    m = re.search(r"([\d,]+) searches, ([\d,]+) jobs", text)
    assert m, text
    assert _int(m.group(1)) == s["n_grid_searches"]
    assert _int(m.group(2)) == s["n_jobs_in_grid_searches"]
