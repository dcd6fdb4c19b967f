"""The catalogue of bad inputs (tests/data/bad/): each one ends with its own
message, through the API and through the CLI, and never with a traceback.

Two kinds:

- *file errors*: the file as a whole cannot be read (empty, binary, packed,
  another format, a header only, no header): an RdcostError naming the file,
  and ``rdcost ingest`` exits 1 with ``rdcost: error: FILE: message``;
- *record errors*: one record is wrong (field count, end before start,
  negative or year-long run time, a time in the future, a conflicting
  duplicate): that record is rejected with its reason, line, column and
  value, the good record beside it is stored, and the CLI report says so.
  A file holding only such records is "nothing ingestible" (exit 1), and
  ``--on-bad-row raise`` stops at the first one with
  ``FILE:LINE: column 'X': expected ..., got '...' (reason)``.

Duplicates follow the store's rule (a final state beats an unfinished one,
otherwise the later record wins), within a Slurm file (counted as merged) and
across ingests (counted as updated, or kept).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import rdcost
from rdcost import read_log_report
from rdcost.cli import main
from rdcost.errors import ParseError, RdcostError, UsageError
from rdcost.jobtable.store import Store

BAD = Path(__file__).parent / "data" / "bad"
#: "now" for the API checks (the files' future dates are in 2999, past ones in 2010-2020).
NOW = pd.Timestamp("2026-01-01T00:00:00Z")
FUTURE_EXPECTED = "a time before 2026-01-02T00:00Z (now + 1 day)"
YEAR_EXPECTED = "at most 31,622,400 s (366 days)"

BINARY = (
    "the file looks binary (NUL bytes or mostly non-text), not a job log; rdcost reads "
    "sacct text or JSON, W&B and MLflow CSV/JSON exports and plain CSV"
)
FORMATS_HINT = (
    "  hint: pass --format with one of: sacct-json, wandb, mlflow, sacct-fixed, "
    "sacct-parsable, csv (see `rdcost ingest --help`)"
)
HEADER_ONLY = "no job records: the file has a header but no records below it"

#: file -> the whole message after "<path>" (the hint on its own line)
FILE_ERRORS = {
    "empty.txt": ": the file is empty: no job records to read",
    "blank_lines.txt": ": the file is empty: no job records to read",
    "binary.png": ": " + BINARY,
    "sacct.txt.gz": (
        ": the file is gzip-compressed, not a job log in text\n"
        "  hint: decompress it first (gunzip FILE), then ingest the text file"
    ),
    "workbook.xlsx": (
        ": the file is a ZIP archive or an Excel workbook (.xlsx), not a job log in text\n"
        "  hint: unzip it, or save the sheet as CSV, then ingest the text file"
    ),
    "notes.md": ": cannot tell the format of this file: '# Experiments'\n" + FORMATS_HINT,
    "squeue.json": (
        ": this looks like `squeue --json` / slurmrestd /slurm/jobs output (the live "
        "queue, job_state per job), not accounting records\n"
        "  hint: export finished jobs with `sacct --json` (or slurmrestd /slurmdb/.../jobs)"
    ),
    "wandb_chart_panel.csv": (
        ": this is a W&B chart-panel CSV (the per-step history of one plot, one column per run "
        "and metric), not a table of runs: it holds no run times or states: "
        "'lively-sweep-6 - val/f1__MIN'\n  hint: export the runs table instead"
    ),
    "headerless_sacct.txt": (
        ": sacct output without a header line: its 4 fields have no names: '7001|good|COMPLETED|3600'\n"
        "  hint: pass --fields JobID,State,Elapsed,... with the 4 names of the --format list used "
        "for the export, in order (or re-export without --noheader/-n)"
    ),
    "not_utf8.csv": (
        ":2: the file is not UTF-8 text: \"b'\\\\xe9,ann,CO'\"\n"
        "  hint: save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
    ),
    "header_only_sacct.txt": ": " + HEADER_ONLY,
    "header_only_runs.csv": ": " + HEADER_ONLY,
}

#: A file of another format forced with --format: (file, format, message after "<path>")
FORCED_ERRORS = [
    (
        "comma_delimited_sacct.csv",
        "sacct-json",
        ":1: invalid JSON: a JSON object '{' at the start of the file, found 'J' (column 1)\n"
        "  hint: the file is not complete, valid JSON; re-export it with `sacct --json ... > file.json`",
    ),
    (
        "end_before_start.csv",
        "sacct-fixed",
        ": nothing ingestible: 3 records read, none could be stored\n"
        "  line 1: line before the first header/underline of a sacct table\n"
        "  line 2: line before the first header/underline of a sacct table\n"
        "  line 3: line before the first header/underline of a sacct table\n"
        "  the rejected records are in ",
    ),
    (
        "end_before_start_sacct.txt",
        "wandb",
        ": not a W&B runs export: no Name/ID column of the runs table and no run_id/state/created_at "
        "column of an API dump: 'JobID,JobName,User,Account,State,Submit,Start,End,ElapsedRaw,AllocTRES'",
    ),
    (
        "years_runtime.csv",
        "mlflow",
        ": not an MLflow runs export: expected run_id + experiment_id (search_runs) or 'Run ID' + "
        "'Start Time' (UI download): 'job_id,name,user,state,start_time,end_time,elapsed'",
    ),
    (
        "future_dates.csv",
        "sacct-parsable",
        ": not sacct --parsable/--parsable2 output\n  hint: pass --format to choose another format",
    ),
    (
        "squeue.json",
        "wandb",
        ": this is Slurm JSON (it has 'jobs'), not W&B runs\n  hint: use --format sacct-json",
    ),
    (
        "binary.png",
        "csv",
        ":1: the file is not UTF-8 text: \"b'\\\\x89PNG\\\\r\\\\n\\\\x1a\\\\n'\"",
    ),
]

#: file -> (jobs stored, [(line, column, value, reason, expected)] in file order)
RECORD_ERRORS = {
    "mixed_column_counts_sacct.txt": (
        1,
        [
            (
                2,
                None,
                None,
                "11 fields where the header has 10: no way of reading the 1 extra '|' as part of "
                "JobName gives valid values",
                "10 fields",
            ),
            (3, None, None, "5 fields where the header has 10", "10 fields"),
        ],
    ),
    "mixed_column_counts.csv": (
        1,
        [
            (2, None, None, "expected 7 fields as in the header, found 8", None),
            (3, None, None, "expected 7 fields as in the header, found 3", None),
        ],
    ),
    "end_before_start_sacct.txt": (
        1,
        [
            (
                2,
                "end_time",
                "2020-03-01T10:00:00Z",
                "end before start",
                "an end time at or after the start time",
            )
        ],
    ),
    "end_before_start.csv": (
        1,
        [
            (
                2,
                "end_time",
                "2020-03-01 10:00:00+00:00",
                "end before start",
                "an end time at or after the start time",
            )
        ],
    ),
    "negative_duration_sacct.txt": (
        1,
        [
            (2, "ElapsedRaw", "-3600", "ElapsedRaw value not understood", "a non-negative integer"),
            (
                3,
                "Elapsed",
                "INVALID",
                "Elapsed value not understood",
                "[D-]HH:MM:SS, MM:SS or MM:SS.mmm",
            ),
        ],
    ),
    "negative_duration.csv": (
        1,
        [
            (
                2,
                "elapsed",
                "-3600",
                "negative duration",
                "a duration: seconds (3600, 12.5), [D-]HH:MM:SS, 2h30m, 161ms, 5.6s, 2.2min, 2.7h, 1.1d, "
                "PT2H30M, or timedelta text (1 day, 2:03:04)",
            )
        ],
    ),
    "years_elapsed_sacct.txt": (
        1,
        [
            (2, "elapsed_s", "157856400", "run time of more than a year", YEAR_EXPECTED),
            (3, "elapsed_s", "34560000", "run time of more than a year", YEAR_EXPECTED),
        ],
    ),
    "years_runtime.csv": (
        1,
        [(2, "elapsed_s", "157766400", "run time of more than a year", YEAR_EXPECTED)],
    ),
    "future_dates_sacct.txt": (
        1,
        [
            (
                2,
                "submit_time",
                "2999-03-01T09:00:00Z",
                "submit_time is in the future",
                FUTURE_EXPECTED,
            ),
            (3, "end_time", "2999-03-01T10:05:00Z", "end_time is in the future", FUTURE_EXPECTED),
        ],
    ),
    "future_dates.csv": (
        1,
        [(2, "start_time", "2999-03-01T09:05:00Z", "start_time is in the future", FUTURE_EXPECTED)],
    ),
    "duplicate_ids.csv": (
        1,
        [
            (
                3,
                None,
                None,
                "same record as line 2 (key csv::9001:2020-03-01T09:05:00Z) with different values",
                None,
            )
        ],
    ),
}


def test_the_catalogue_is_complete():
    """Every file in tests/data/bad has its expected outcome here."""
    listed = (
        set(FILE_ERRORS)
        | set(RECORD_ERRORS)
        | {
            "duplicate_ids_sacct.txt",
            "duplicate_running_sacct.txt",
            "duplicate_completed_sacct.txt",
            "comma_delimited_sacct.csv",
        }
    )
    assert {p.name for p in BAD.iterdir()} == listed


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    captured = capsys.readouterr()
    return done.value.code, captured.out, captured.err


# ---------------------------------------------------------------- file errors


@pytest.mark.parametrize("name", sorted(FILE_ERRORS))
def test_file_error_through_the_api(name, tmp_path):
    path = BAD / name
    report = rdcost.ingest([path], store=tmp_path / "store")
    err = report.files[0].error
    assert isinstance(err, RdcostError)
    assert str(err).startswith(str(path) + FILE_ERRORS[name]), str(err)
    assert report.stats.n_new == 0
    if name not in ("header_only_sacct.txt", "header_only_runs.csv"):
        with pytest.raises(RdcostError) as exc:
            read_log_report(path)
        assert str(exc.value) == str(err)


@pytest.mark.parametrize("name", sorted(FILE_ERRORS))
def test_file_error_through_the_cli(name, tmp_path, capsys):
    path = BAD / name
    code, out, err = cli(capsys, "ingest", str(path), "--store", str(tmp_path / "store"))
    assert code == 1
    assert f"rdcost: error: {path}{FILE_ERRORS[name]}" in err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize(
    "name,fmt,message", FORCED_ERRORS, ids=[f"{n}-as-{f}" for n, f, _ in FORCED_ERRORS]
)
def test_a_file_of_another_format_forced(name, fmt, message, tmp_path, capsys):
    path = BAD / name
    err = rdcost.ingest([path], store=tmp_path / "api", format=fmt).files[0].error
    assert str(err).startswith(str(path) + message), str(err)
    code, _, err = cli(capsys, "ingest", str(path), "--format", fmt, "--store", str(tmp_path / "s"))
    assert code == 1 and f"rdcost: error: {path}{message}" in err and "Traceback" not in err


def test_every_file_error_in_one_real_process(tmp_path):
    """The installed command, all catalogue files at once: each named with its
    message, exit status 1, no traceback, nothing stored."""
    paths = [str(BAD / n) for n in sorted(FILE_ERRORS)]
    r = subprocess.run(
        [sys.executable, "-m", "rdcost", "ingest", *paths, "--store", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert "Traceback" not in r.stderr
    for name in FILE_ERRORS:
        assert f"rdcost: error: {BAD / name}{FILE_ERRORS[name]}" in r.stderr, name
    assert "store: unchanged" in r.stderr


# ---------------------------------------------------------------- record errors


@pytest.mark.parametrize("name", sorted(RECORD_ERRORS))
def test_bad_record_is_rejected_with_its_reason_and_the_good_one_stored(name):
    path = BAD / name
    n_jobs, want = RECORD_ERRORS[name]
    df, rep = read_log_report(path, now=NOW)
    assert rep.n_jobs == len(df) == n_jobs
    assert df["job_name"].tolist() == ["good"]
    assert rep.n_rejected == len(want)
    got = [(r.line, r.column, r.value, r.reason, r.expected) for r in rep.examples]
    assert got == want
    assert (
        rep.n_records == rep.n_jobs + rep.n_folded + rep.n_merged + rep.n_ignored + rep.n_rejected
    )


@pytest.mark.parametrize("name", sorted(RECORD_ERRORS))
def test_bad_record_raises_at_once_with_on_bad_row_raise(name):
    path = BAD / name
    line, column, value, reason, expected = RECORD_ERRORS[name][1][0]
    with pytest.raises(ParseError) as exc:
        read_log_report(path, now=NOW, on_bad_row="raise")
    text = str(exc.value)
    if column is not None:
        assert (
            text
            == f"{path}:{line}: column {column!r}: expected {expected}, got {value!r} ({reason})"
        )
    else:
        assert text.startswith(f"{path}:{line}: {reason}")


@pytest.mark.parametrize("name", sorted(RECORD_ERRORS))
def test_bad_record_through_the_cli(name, tmp_path, capsys):
    path = BAD / name
    _, want = RECORD_ERRORS[name]
    code, _, err = cli(capsys, "ingest", str(path), "--store", str(tmp_path / "store"))
    assert code == 0 and "Traceback" not in err
    assert f"{path} [" in err and f"{len(want)} rejected" in err
    for line, _col, _val, reason, _exp in want:
        assert f"e.g. {path}:{line}:" in err and reason in err
    assert "store: 1 new, 0 updated, 0 unchanged jobs" in err
    rejected = list((tmp_path / "store" / "rejected").glob("*.rejected.csv"))
    assert len(rejected) == 1
    saved = pd.read_csv(rejected[0], keep_default_na=False)
    assert saved["line"].tolist() == [w[0] for w in want]


@pytest.mark.parametrize("name", sorted(set(RECORD_ERRORS) - {"duplicate_ids.csv"}))
def test_a_file_of_bad_records_only_is_nothing_ingestible(name, tmp_path, capsys):
    """The catalogue file without its good last record: exit 1, every reason counted."""
    src = BAD / name
    path = tmp_path / name
    path.write_bytes(b"\n".join(src.read_bytes().splitlines()[:-1]) + b"\n")
    _, want = RECORD_ERRORS[name]
    code, _, err = cli(capsys, "ingest", str(path), "--store", str(tmp_path / "store"))
    assert code == 1 and "Traceback" not in err
    m = re.search(
        rf"rdcost: error: {re.escape(str(path))}: nothing ingestible: (\d+) records? read, "
        r"none could be stored\n((?:  .*\n)+)",
        err,
    )
    assert m, err
    for line, _col, _val, reason, _exp in want[:3]:  # the first few, each with its line and reason
        assert f"line {line}:" in m.group(2) and reason in m.group(2)
    saved = re.search(
        r"the rejected records are in (\S+) \(the store was not changed\)", m.group(2)
    )
    assert saved, m.group(2)
    rows = Path(saved.group(1)).read_text().splitlines()
    assert len(rows) == 1 + len(want)  # header + one row per rejected record
    assert not (tmp_path / "store").exists()  # a failed ingest leaves no store behind


def test_on_bad_row_raise_through_the_cli(tmp_path, capsys):
    path = BAD / "end_before_start_sacct.txt"
    code, _, err = cli(
        capsys, "ingest", str(path), "--on-bad-row", "raise", "--store", str(tmp_path / "s")
    )
    assert code == 1 and "Traceback" not in err
    assert (
        f"rdcost: error: {path}:2: column 'end_time': expected an end time at or after the start "
        "time, got '2020-03-01T10:00:00Z' (end before start)"
    ) in err
    assert not Store(tmp_path / "s").exists  # nothing of this call is committed


def test_unfinished_jobs_keep_their_run_time_so_far(tmp_path):
    """A RUNNING job's elapsed time is its time so far: years of it (a Slurm
    'runaway' record) are stored as the log says, not rejected."""
    text = (BAD / "duplicate_running_sacct.txt").read_text().replace("|600|", f"|{400 * 86400}|")
    path = tmp_path / "runaway.txt"
    path.write_text(text)
    df, rep = read_log_report(path, now=NOW)
    assert rep.n_rejected == 0 and df["elapsed_s"].tolist() == [400 * 86400.0]
    path.write_text(text.replace("RUNNING", "COMPLETED").replace("Unknown", "2021-04-05T09:05:00"))
    df, rep = read_log_report(path, now=NOW)
    assert rep.n_rejected == 1 and rep.examples[0].reason == "run time of more than a year"


# ---------------------------------------------------------------- duplicates


def test_duplicate_job_ids_in_one_slurm_file_follow_the_store_rule(tmp_path, capsys):
    """RUNNING, COMPLETED, RUNNING again for one job (same id and submit time):
    the final state wins over the later unfinished record; both others are merged."""
    path = BAD / "duplicate_ids_sacct.txt"
    df, rep = read_log_report(path, now=NOW)
    assert (rep.n_jobs, rep.n_merged, rep.n_rejected) == (2, 2, 0)
    job = df[df["job_id"] == "7011"].iloc[0]
    assert job["state"] == "COMPLETED" and job["elapsed_s"] == 7200.0 and job["source_line"] == 3
    code, _, err = cli(capsys, "ingest", str(path), "--store", str(tmp_path / "store"))
    assert code == 0
    assert (
        f"{path} [sacct-parsable2]: 4 records read: 2 jobs, 0 steps folded, 2 duplicates merged, "
        "0 rejected; 1 other line (header, blank or comment)"
    ) in err


def test_conflicting_duplicate_rows_of_a_run_export_are_rejected(tmp_path, capsys):
    """A run export lists each run once: a second row with the same key and other
    values is rejected, naming the first; an identical repeat is merged."""
    path = BAD / "duplicate_ids.csv"
    df, rep = read_log_report(path, now=NOW)
    assert (rep.n_jobs, rep.n_merged, rep.n_rejected) == (1, 1, 1)
    assert df["state"].tolist() == ["COMPLETED"]


def test_duplicate_job_ids_across_two_ingests_follow_the_store_rule(tmp_path, capsys):
    """RUNNING then COMPLETED: updated. RUNNING again: the final record is kept,
    and the report says so. The same file again: unchanged."""
    store = str(tmp_path / "store")
    running, completed = BAD / "duplicate_running_sacct.txt", BAD / "duplicate_completed_sacct.txt"

    code, _, err = cli(capsys, "ingest", str(running), "--store", store)
    assert code == 0 and "store: 1 new, 0 updated, 0 unchanged jobs" in err
    code, _, err = cli(capsys, "ingest", str(completed), "--store", store)
    assert code == 0 and "store: 0 new, 1 updated, 0 unchanged jobs" in err
    code, _, err = cli(capsys, "ingest", str(running), "--store", store)
    assert code == 0
    assert "store: 0 new, 0 updated, 0 unchanged jobs, 1 older non-final record ignored" in err
    code, _, err = cli(capsys, "ingest", str(completed), "--store", store)
    assert code == 0 and "store: 0 new, 0 updated, 1 unchanged jobs" in err

    jobs = Store(store).read_jobs()
    assert (
        len(jobs) == 1
        and jobs.loc[0, "state"] == "COMPLETED"
        and jobs.loc[0, "elapsed_s"] == 7200.0
    )
    stats = rdcost.ingest([completed, running], store=store).stats
    assert (stats.n_new, stats.n_updated, stats.n_merged) == (0, 0, 1)


# ---------------------------------------------------------------- a delimiter rdcost did not expect


def test_comma_delimited_sacct_export_is_detected(tmp_path, capsys):
    """`sacct -P --delimiter=,` with a header of sacct field names: claimed by the
    sacct reader (plain CSV refuses sacct-looking text on purpose)."""
    path = BAD / "comma_delimited_sacct.csv"
    df, rep = read_log_report(path, now=NOW)
    assert rep.format == "sacct-parsable2"
    assert (rep.n_jobs, rep.n_folded, rep.n_rejected) == (1, 1, 0)
    assert df.loc[0, "elapsed_s"] == 3600.0 and df.loc[0, "n_cpus"] == 4
    code, _, err = cli(capsys, "ingest", str(path), "--store", str(tmp_path / "s"))
    assert code == 0 and "1 job, 1 step folded" in err


@pytest.mark.parametrize(
    "header,claimed",
    [
        pytest.param("JobID;JobName;State;Elapsed", True, id="semicolon"),
        pytest.param("JobID,JobName,State,Elapsed,", True, id="comma-trailing"),
        pytest.param("JobID:State:Start:End", True, id="colon"),
        pytest.param("JobID,State,Elapsed", False, id="three-names-stay-ambiguous"),
        pytest.param("JobName,State,Elapsed,Start", False, id="no-jobid"),
        pytest.param("JobID,State,Elapsed,my_note", False, id="not-all-sacct-names"),
    ],
)
def test_sacct_header_with_another_delimiter(tmp_path, header, claimed):
    from rdcost.readers.base import Sample
    from rdcost.readers.registry import claims

    d = header[5]
    path = tmp_path / "x.txt"
    path.write_text(header + "\n" + d.join(["1", "x", "COMPLETED", "00:01:00"]) + "\n")
    assert (claims(Sample.read(path)) == ["sacct-parsable"]) is claimed
    if header == "JobID,State,Elapsed":
        # forcing the format is enough when every name is a sacct field
        df, rep = read_log_report(path, format="sacct-parsable")
        assert (
            rep.n_records
            == rep.n_jobs + rep.n_ignored + rep.n_rejected + rep.n_folded + rep.n_merged
        )


# ---------------------------------------------------------------- options that cannot work


@pytest.mark.parametrize(
    "options,cli_args,message",
    [
        pytest.param(
            {"tz": "Mars/Olympus"},
            ["--tz", "Mars/Olympus"],
            "unknown time zone 'Mars/Olympus'; use an IANA name like UTC, Europe/Berlin or America/New_York",
            id="tz",
        ),
        pytest.param({"tz": ""}, ["--tz", ""], "unknown time zone ''", id="empty-tz"),
        pytest.param(
            {"delimiter": ";;"},
            ["--delimiter", ";;"],
            "--delimiter must be one character for a CSV/TSV table, got ';;'",
            id="delimiter",
        ),
        pytest.param(
            {"delimiter": "\n"},
            ["--delimiter", "\\n"],
            "--delimiter must be a non-empty string without a line break or a quote, got '\\n'",
            id="newline",
        ),
        pytest.param(
            {"gpus_per_run": -1.0},
            ["--gpus-per-run", "-1"],
            "--gpus-per-run must be a number >= 0, got -1.0",
            id="negative-gpus",
        ),
        pytest.param(
            {"gpus_per_run": float("nan")},
            ["--gpus-per-run", "nan"],
            "--gpus-per-run must be a number >= 0, got nan",
            id="nan-gpus",
        ),
    ],
)
def test_options_that_cannot_work_are_usage_errors(options, cli_args, message, tmp_path, capsys):
    """These once crashed (an unknown zone in a CSV, a 2-character delimiter) or stored
    negative GPU counts; now: exit status 2 before any file is read."""
    path = BAD / "end_before_start.csv"
    with pytest.raises(UsageError) as exc:
        read_log_report(path, **options)
    assert str(exc.value).startswith(message)
    with pytest.raises(UsageError):
        rdcost.ingest([path], store=tmp_path / "s", **options)
    assert not (tmp_path / "s").exists()
    code, _, err = cli(capsys, "ingest", str(path), *cli_args, "--store", str(tmp_path / "s"))
    assert code == 2 and f"rdcost: error: {message}" in err and "Traceback" not in err


def test_sacct_text_delimiter_may_be_any_string(tmp_path):
    """sacct --delimiter takes any string: a non-ASCII character, several characters."""
    for d in ("\u2603", "^|^", "::"):
        path = tmp_path / "e.txt"
        path.write_text(f"JobID{d}State{d}Elapsed\n1{d}COMPLETED{d}00:01:00\n", encoding="utf-8")
        df, rep = read_log_report(path, format="sacct-parsable", delimiter=d)
        assert (rep.n_jobs, df.iloc[0]["state"], df.iloc[0]["elapsed_s"]) == (
            1,
            "COMPLETED",
            60.0,
        ), d


def test_a_table_delimiter_of_several_characters_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("job_id,elapsed\n1,60\n")
    with pytest.raises(UsageError, match="one character for a CSV/TSV table"):
        read_log_report(path, format="csv", delimiter="::")
