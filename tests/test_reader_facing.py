"""What a reader sees, through the CLI (issue 18): the waste definition, a failed ingest
that changes nothing, a RUNNING job's null end, a pending remainder's CPUs, a bad value
named by line, field and value, and counts in words ("1 job", not "1 jobs")."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

HEADER = "JobID|JobName|State|Submit|Start|End|Elapsed|NCPUS|AllocTRES|Timelimit"


def rdcost(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args], capture_output=True, text=True, timeout=300
    )


def _write(tmp: Path, name: str, lines: list[str]) -> Path:
    p = tmp / name
    p.write_text("\n".join(lines) + "\n")
    return p


def _summary(store: Path) -> dict:
    r = rdcost("summarize", "--store", str(store), "-f", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_short_completed_job_is_no_crash(tmp_path):
    """Three 2-minute GPU jobs (threshold 5 minutes): COMPLETED is no waste, FAILED is a
    crash; a 10-minute CANCELLED job is cancelled waste, not a crash."""
    f = _write(
        tmp_path,
        "s.txt",
        [
            HEADER,
            "1|a|COMPLETED|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T00:02:00|00:02:00|4|cpu=4,gres/gpu=1|01:00:00",
            "2|b|FAILED|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T00:02:00|00:02:00|4|cpu=4,gres/gpu=1|01:00:00",
            "3|c|CANCELLED by 99|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T00:10:00|00:10:00|4|cpu=4,gres/gpu=1|01:00:00",
        ],
    )
    st = tmp_path / "store"
    assert rdcost("ingest", str(f), "--store", str(st)).returncode == 0
    s = _summary(st)
    cats = {c["category"]: c for c in s["waste"]["categories"]}
    assert s["n_crashed_jobs"] == 1 and cats["crashed"]["n_jobs"] == 1
    assert cats["crashed"]["gpu_hours"] == pytest.approx(2 / 60)
    assert cats["cancelled"]["n_jobs"] == 1 and cats["cancelled"]["gpu_hours"] == pytest.approx(
        10 / 60
    )
    assert s["waste"]["short_completed"]["n_jobs"] == 1
    assert s["waste"]["total"]["n_jobs"] == 2
    table = rdcost("summarize", "--store", str(st)).stdout
    assert "1 COMPLETED job shorter than 5 minutes" in table and "not waste" in table
    assert "ended in any state but COMPLETED" in table


def _snapshot(store: Path) -> dict[str, str]:
    return {
        str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(store.rglob("*"))
        if p.is_file()
    }


def test_a_failed_ingest_changes_nothing_in_the_store(tmp_path):
    good = _write(
        tmp_path,
        "good.txt",
        [
            HEADER,
            "1|a|COMPLETED|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|4|cpu=4,gres/gpu=1|02:00:00",
        ],
    )
    bad = _write(
        tmp_path,
        "bad.txt",
        [
            HEADER,
            "2|b|FOO|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|4|cpu=4|02:00:00",
        ],
    )
    st = tmp_path / "store"
    assert rdcost("ingest", str(good), "--store", str(st)).returncode == 0
    before = _snapshot(st)
    r = rdcost("ingest", str(bad), "--store", str(st))
    assert r.returncode == 1
    assert f"{bad}" in r.stderr and "line 2" in r.stderr and "'FOO'" in r.stderr
    assert _snapshot(st) == before  # manifest, parquet and rejected/ untouched
    saved = re.search(r"the rejected records are in (\S+\.csv)", r.stderr)
    assert saved and Path(saved.group(1)).is_file() and not Path(saved.group(1)).is_relative_to(st)


def test_a_running_job_has_no_end_and_a_remainder_keeps_its_cpus(tmp_path):
    """Some sacct versions print the export time as a RUNNING job's End; it is no end.
    A pending array remainder line says its tasks' CPUs: they are kept."""
    f = _write(
        tmp_path,
        "r.txt",
        [
            HEADER,
            "7|run|RUNNING|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T05:00:00|05:00:00|8|cpu=8,gres/gpu=2|1-00:00:00",
            "8_[1-4]|arr|PENDING|2024-01-01T00:00:00|Unknown|Unknown|00:00:00|256||1-00:00:00",
        ],
    )
    st = tmp_path / "store"
    assert rdcost("ingest", str(f), "--store", str(st)).returncode == 0
    r = rdcost("jobs", "--store", str(st), "-f", "json")
    rows = {row["job_id"]: row for row in json.loads(r.stdout)}
    assert rows["7"]["state"] == "RUNNING" and rows["7"]["end_time"] is None
    assert rows["7"]["elapsed_s"] == 5 * 3600
    assert rows["8_[1-4]"]["n_cpus"] == 256


def test_a_bad_state_with_fields_is_named_by_line_field_and_value(tmp_path):
    """A header-less file given --fields, whose only problem is one unknown state."""
    f = _write(
        tmp_path,
        "noheader.txt",
        [
            "1|a|COMPLETED|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|4|cpu=4|02:00:00",
            "2|b|FOO|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|4|cpu=4|02:00:00",
        ],
    )
    r = rdcost(
        "ingest", str(f), "--store", str(tmp_path / "s"), "--fields", HEADER.replace("|", ",")
    )
    assert r.returncode == 0, r.stderr
    assert "cannot tell the format" not in r.stderr
    assert f"{f}:2: column 'State', value 'FOO'" in r.stderr
    assert "1 record rejected" in r.stderr


PLURAL_SLIP = re.compile(r"(?<![\d,.])1 (jobs|GPUs|searches|records|steps|runs|lines|days|hours)\b")


def test_counts_of_one_read_in_the_singular(tmp_path):
    f = _write(
        tmp_path,
        "one.txt",
        [
            HEADER,
            "1|a|TIMEOUT|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|4|cpu=4,gres/gpu=1|01:00:00",
        ],
    )
    st = tmp_path / "store"
    outputs = [rdcost("ingest", str(f), "--store", str(st))]
    for args in (["summarize"], ["compare-buy-vs-cloud"], ["card"], ["groups"]):
        outputs.append(rdcost(*args, "--store", str(st)))
    for r in outputs:
        assert r.returncode == 0, r.stderr
        text = r.stdout + r.stderr
        assert not PLURAL_SLIP.search(text), PLURAL_SLIP.findall(text)
