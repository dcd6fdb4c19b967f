"""`rdcost ingest` options that the library had and the CLI lacked: --time-format and
--export-time (sacct exports written with SLURM_TIME_FORMAT set), and the report of a
rejected record without a column. Through the CLI as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rdcost.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    out = capsys.readouterr()
    return int(e.value.code or 0), out.out, out.err


def jobs(capsys, store: Path) -> pd.DataFrame:
    code, out, err = run(capsys, "jobs", "--store", str(store), "--format", "json")
    assert code == 0, err
    return pd.DataFrame(json.loads(out)).set_index("job_id")


def test_relative_times_dated_by_export_time(tmp_path, capsys):
    f = tmp_path / "relative.txt"
    f.write_text("JobID|State|Start|End\n91|COMPLETED|Ystday 22:10|01:15:00\n")
    store = tmp_path / "s"
    code, _, err = run(
        capsys,
        *("ingest", str(f), "--store", str(store), "--time-format", "relative"),
        *("--export-time", "2025-03-10T09:00", "--tz", "Europe/Paris"),
    )
    assert code == 0, err
    j = jobs(capsys, store).loc["91"]
    # yesterday 22:10 and today 01:15 Paris time (UTC+1 in March) of 2025-03-10
    assert j["start_time"] == "2025-03-09T21:10:00Z" and j["end_time"] == "2025-03-10T00:15:00Z"
    assert j["elapsed_s"] == 3 * 3600 + 5 * 60


def test_a_strftime_time_format(tmp_path, capsys):
    f = tmp_path / "dmy.txt"
    f.write_text("JobID|State|Start|End\n7|COMPLETED|05/04/2024 10:00|05/04/2024 12:30\n")
    store = tmp_path / "s"
    code, _, err = run(
        capsys, "ingest", str(f), "--store", str(store), "--time-format", "%d/%m/%Y %H:%M"
    )
    assert code == 0, err
    j = jobs(capsys, store).loc["7"]
    assert j["start_time"] == "2024-04-05T10:00:00Z" and j["elapsed_s"] == 9000


@pytest.mark.parametrize(
    "args, said",
    [
        (("--export-time", "yesterday-ish"), "--export-time must be a date and time"),
        (("--time-format", "dd/mm"), "--time-format must be standard, relative or a strftime"),
    ],
)
def test_bad_time_options_are_usage_errors(args, said, tmp_path, capsys):
    f = tmp_path / "a.txt"
    f.write_text("JobID|State\n1|COMPLETED\n")
    code, _, err = run(capsys, "ingest", str(f), "--store", str(tmp_path / "s"), *args)
    assert code == 2 and said in err and "Traceback" not in err


def test_a_rejected_line_without_a_column_is_shown_with_one_colon(tmp_path, capsys):
    f = tmp_path / "short.txt"
    f.write_text(
        "JobID|State|Start|End\n1|COMPLETED|2024-01-01T00:00:00|2024-01-01T01:00:00\n2|FAILED\n"
    )
    code, _, err = run(capsys, "ingest", str(f), "--store", str(tmp_path / "s"))
    assert code == 0, err
    line = next(x for x in err.splitlines() if "e.g." in x)
    assert f"{f}:3: " in line and "::" not in line
