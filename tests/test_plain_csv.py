"""Plain CSV/TSV job lists, --map/--map-file, and detection across every format.

Expected values are worked out by hand from the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rdcost import read_log_report
from rdcost.errors import FormatDetectionError, ParseError, UsageError
from rdcost.jobtable import schema
from rdcost.readers.base import Sample
from rdcost.readers.registry import FORMATS, get_format
from tests.cli_runner import cli_runner
from tests.conftest import REALWORLD, SAMPLE_LOGS, realworld_file

DATA = Path(__file__).parent / "data" / "runs"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_canonical_columns():
    df, rep = read_log_report(DATA / "plain_canonical.csv", tz="America/New_York", gpus_per_run=2)
    assert rep.format == "csv"
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (6, 3, 3)
    assert schema.validate(df) == []
    r = df.set_index("job_id")
    one = r.loc["1"]
    assert one["start_time"] == ts("2024-03-04T15:00:00")  # 10:00 EST
    assert one["end_time"] == ts("2024-03-04T17:30:00")
    assert one["elapsed_s"] == 9000.0  # end - start
    assert (one["n_gpus"], one["gpu_type"], one["is_gpu_assumed"]) == (4.0, "a100", False)
    assert json.loads(one["tags"]) == ["a", "b"]
    assert json.loads(one["config_json"]) == {"lr": 0.1}
    assert json.loads(one["other_json"]) == {"lr": 0.1}
    assert (one["group_id"], one["group_source"], one["cluster"]) == ("grid1", "csv", "lab")
    assert one["record_key"] == "csv:lab:1:2024-03-04T15:00:00Z"
    two = r.loc["2"]
    assert two["start_time"] == ts("2024-03-04T10:00:00")  # explicit Z beats --tz
    assert two["elapsed_s"] == 9000.0 and pd.isna(two["end_time"])  # 2h30m
    assert two["linked_slurm_job_id"] == "4242"
    assert two["n_gpus"] == 2.0 and two["is_gpu_assumed"] == True  # noqa: E712 (--gpus-per-run)
    three = r.loc["3"]
    assert three["state"] == "COMPLETED" and three["state_raw"] == "finished"
    assert three["elapsed_s"] == 30.0
    assert three["n_gpus"] == 0.0 and three["is_gpu_assumed"] == False  # noqa: E712 (logged 0)
    why = {e.line: (e.column, e.value, e.reason) for e in rep.examples}
    assert why[5] == ("elapsed_s", "-00:05:00", "negative duration")
    assert why[6][0] == "end_time" and why[6][2] == "end before start"
    assert why[7] == ("state", "WEIRD", "unknown state")


def test_error_message_names_file_line_column_value_and_expectation():
    path = DATA / "plain_canonical.csv"
    with pytest.raises(ParseError) as exc:
        read_log_report(path, on_bad_row="raise")
    msg = str(exc.value)
    assert msg.startswith(f"{path}:5: column 'elapsed_s': expected a duration")
    assert "got '-00:05:00' (negative duration)" in msg


def test_tsv_with_bom_crlf_and_map_needs_a_day_first_choice():
    path = DATA / "plain_bom_crlf.tsv"
    mapping = {"end": "Stop", "user": "Owner"}
    df, rep = read_log_report(path, column_map=mapping)
    assert rep.format == "tsv"
    assert (rep.n_records, rep.n_jobs, rep.n_ignored, rep.n_rejected) == (4, 2, 1, 1)
    bad = rep.examples[0]
    assert (bad.line, bad.column, bad.value) == (2, "Begin", "04/03/2024 10:00")
    assert "--dayfirst" in bad.reason and "--monthfirst" in bad.reason
    r = df.set_index("job_id")
    assert r.loc["a-2", "start_time"] == ts("2024-03-13T09:00:00")  # 13 > 12: day first
    assert r.loc["a-2", "elapsed_s"] == 45 * 60
    assert r.loc["a-3", "source_line"] == 5  # after the blank line 4
    assert r.loc["a-3", "user"] == "carol" and r.loc["a-3", "n_gpus"] == 1.0

    df, rep = read_log_report(path, column_map=mapping, dayfirst=True)
    assert rep.n_jobs == 3 and rep.n_rejected == 0
    a1 = df.set_index("job_id").loc["a-1"]
    assert a1["start_time"] == ts("2024-03-04T10:00:00") and a1["elapsed_s"] == 5400.0
    df, _ = read_log_report(path, column_map=mapping, dayfirst=False)
    assert df.set_index("job_id").loc["a-1", "start_time"] == ts("2024-04-03T10:00:00")


def test_map_errors_name_the_problem():
    with pytest.raises(UsageError, match="unknown column 'begining'"):
        read_log_report(DATA / "plain_canonical.csv", column_map={"begining": "x"})
    with pytest.raises(UsageError, match="the file has no column 'Nope'"):
        read_log_report(DATA / "plain_canonical.csv", column_map={"start": "Nope"})


def test_rows_with_wrong_field_counts_and_quoted_newlines():
    df, rep = read_log_report(DATA / "plain_bad_fields.csv")
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (4, 2, 2)
    r = df.set_index("job_id")
    assert r.loc["1", "job_name"] == "multi\nline name" and r.loc["1", "source_line"] == 2
    assert r.loc["4", "source_line"] == 6 and r.loc["4", "elapsed_s"] == 86400.0
    assert {(e.line, e.reason) for e in rep.examples} == {
        (4, "expected 4 fields as in the header, found 3"),
        (5, "expected 4 fields as in the header, found 5"),
    }


def test_dates_in_words_and_timedelta_text():
    df, rep = read_log_report(DATA / "plain_words_dates.csv", tz="Europe/Berlin")
    assert rep.n_jobs == 2 and rep.n_rejected == 1  # 05.03.2024 is ambiguous
    r = df.set_index(df["other_json"].map(lambda t: json.loads(t)["run"]))
    assert (
        r.loc["w1", "start_time"] == ts("2024-03-04T09:00:00") and r.loc["w1", "elapsed_s"] == 3600
    )
    assert r.loc["w2", "start_time"] == ts("2024-03-05T20:00:00") and r.loc["w2", "elapsed_s"] == 90
    df, rep = read_log_report(DATA / "plain_words_dates.csv", tz="Europe/Berlin", dayfirst=True)
    w3 = df[df["other_json"].str.contains('"w3"')].iloc[0]
    assert w3["start_time"] == ts("2024-03-05T07:00:00") and w3["elapsed_s"] == 86400


def test_rows_without_ids_get_stable_content_keys():
    a, _ = read_log_report(DATA / "plain_words_dates.csv", dayfirst=True)
    b, _ = read_log_report(DATA / "plain_words_dates.csv", dayfirst=True, tz="Asia/Tokyo")
    assert a["record_key"].str.startswith("csv::row=").all() and a["record_key"].is_unique
    assert a["record_key"].tolist() == b["record_key"].tolist()  # options do not change identity


def test_cli_ingest_with_map_file(tmp_path):
    from rdcost.cli import app

    result = cli_runner().invoke(
        app,
        [
            "ingest",
            str(DATA / "plain_bom_crlf.tsv"),
            "--store",
            str(tmp_path / "s"),
            "--map-file",
            str(DATA / "plain_map.toml"),
            "--dayfirst",
        ],
    )
    said = result.stdout + result.stderr  # the report is on stderr
    assert result.exit_code == 0, said
    assert "3 jobs" in said and "0 rejected" in said


def test_real_hcs_jobs():
    df, rep = read_log_report(realworld_file("hcs_plain_jobs.csv"))
    assert (rep.n_records, rep.n_jobs, rep.n_rejected) == (87, 87, 0)
    first = df.iloc[0]
    assert first["record_key"] == "csv::386:2022-02-14T08:15:45Z"
    assert first["submit_time"] == ts("2022-02-14T08:15:45")
    assert first["start_time"] == ts("2022-02-14T08:15:46")
    assert first["end_time"] == ts("2022-02-14T08:15:49")
    assert first["elapsed_s"] == 3.0  # run_time "0:00:03"
    assert (first["n_cpus"], first["n_nodes"]) == (1, 1)
    assert df["state"].isna().all()  # the file has no state column: unknown
    assert json.loads(first["other_json"])["exit_status"] == 0
    assert df["elapsed_s"].max() == 8 * 60 + 21  # "0:08:21"


def test_real_runs_with_end_times_only():
    path = realworld_file("plain_runs_epoch_times_json.csv")
    df, rep = read_log_report(path, column_map={"end_time": "timestamp_utc"})
    assert (rep.n_records, rep.n_jobs) == (159, 159)
    assert df.iloc[0]["end_time"] == ts("2025-12-18T07:44:40")
    assert df["start_time"].isna().all() and df["elapsed_s"].isna().all()  # not in the file
    assert json.loads(df.iloc[0]["other_json"])["epoch_times_json"][0] == pytest.approx(
        11.061884601134807
    )


# --------------------------------------------------------------------------
# Detection: every sniffer on every sample file


def _samples() -> list[Path]:
    files = sorted(DATA.glob("*"))
    if REALWORLD.is_dir():
        files += sorted(
            p for p in REALWORLD.iterdir() if p.suffix in {".csv", ".txt", ".json", ".tsv"}
        )
    if SAMPLE_LOGS.is_dir():
        files += sorted(p for p in SAMPLE_LOGS.rglob("*") if p.is_file())
    return files


#: Sample file name prefix -> the one format that must claim it ("refused": the W&B
#: sniffer raises; None: none of the run formats may claim it). Other files are
#: sacct output: no run format may claim them, and at most one sacct format does.
EXPECTED_BY_PREFIX = {
    "wandb_chart_panel": "refused",
    "wandb_ui_nameonly": "csv",
    "wandb_": "wandb",
    "mlflow_": "mlflow",
    "plain_map": None,
    "plain_": "csv",
    "hcs_plain": "csv",
    "sacct_like_comma": None,
    "jobs.csv": "csv",
    "carbon_series": "csv",  # claimed; stored with a note that no column is a job's
}


def _expected(path: Path) -> str | None:
    name = path.name
    for prefix in sorted(EXPECTED_BY_PREFIX, key=len, reverse=True):
        if name.startswith(prefix):
            return EXPECTED_BY_PREFIX[prefix]
    return "sacct"


@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.name)
def test_every_sniffer_on_every_sample(path):
    sample = Sample.read(path)
    claimed, refused = [], []
    for name in FORMATS:
        try:
            module = get_format(name)
        except ImportError:
            continue
        try:
            if module.sniff(sample):
                claimed.append(name)
        except FormatDetectionError:
            refused.append(name)
    expected = _expected(path)
    if expected == "refused":
        assert refused == ["wandb"] and claimed == []
    elif expected == "sacct":
        assert not set(claimed) & {"wandb", "mlflow", "csv"}
        assert len(claimed) <= 1
    elif expected is None:
        assert not set(claimed) & {"wandb", "mlflow", "csv"}
    else:
        assert claimed == [expected], claimed


def test_reingesting_rows_without_ids_changes_nothing(tmp_path):
    from rdcost.readers.ingest import ingest

    store = tmp_path / "store"
    first = ingest([DATA / "plain_words_dates.csv"], store=store, dayfirst=True)
    assert first.stats.n_new == 3
    again = ingest([DATA / "plain_words_dates.csv"], store=store, dayfirst=True)
    assert (again.stats.n_new, again.stats.n_updated, again.stats.n_unchanged) == (0, 0, 3)


def test_a_csv_without_any_job_column_says_so(tmp_path):
    """A CSV with no column rdcost knows (here a carbon-intensity series ingested by
    mistake): its rows are kept, nothing is invented for them, and the report says so
    with the fix (--map)."""
    path = SAMPLE_LOGS / "energy" / "carbon_series.csv"
    df, rep = read_log_report(path)
    assert rep.n_jobs == len(df) > 0 and rep.n_rejected == 0
    assert df["start_time"].isna().all() and df["n_gpus"].isna().all()
    assert any("no column of this CSV names a job field" in n and "--map" in n for n in rep.notes)
