"""Fuzzing every input format through ``rdcost.read_log_report``.

Seeds are the heads of real files (../shared/realworld, skipped when absent)
and of the bundled sample_logs/lisa files. Hypothesis breaks them (lines cut,
duplicated, dropped, moved; fields shuffled, dropped, replaced by noise or by
1 MB of text; another delimiter; binary bytes; invalid UTF-8; a BOM; CRLF or
CR line ends; JSON values replaced, deleted, duplicated) and reads the result
with the format forced and with auto-detection.

The only allowed outcomes: a job table that fits the schema and accounts for
every record it read (read = stored + folded + merged + ignored + rejected),
or an RdcostError with a message. Any other exception is a bug.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from rdcost import read_log_report
from rdcost.errors import RdcostError
from rdcost.jobtable import schema
from rdcost.readers.registry import FORMATS
from tests.conftest import REALWORLD, SAMPLE_LOGS
from tests.strategies import fuzz_settings, mutated_file, mutated_json
from tests.test_contract import HCS_V1_FIELDS, SLURMDOG_FIELDS

RUNS_DATA = Path(__file__).parent / "data" / "runs"


@dataclass(frozen=True)
class Seed:
    name: str
    path: Path
    format: str
    delimiter: bytes = b""
    head: int = 12  # lines kept (0 = whole file)
    options: dict = field(default_factory=dict, hash=False)

    @property
    def opts(self) -> dict:
        return dict(self.options)

    def lines(self) -> list[bytes]:
        return _lines(self.path, self.head)

    def content(self) -> bytes:
        return b"\n".join(self.lines()) + b"\n"


@functools.cache
def _lines(path: Path, head: int) -> list[bytes]:
    lines = path.read_bytes().splitlines()
    return lines[:head] if head else lines


SEEDS = [
    Seed("lisa-sacct", SAMPLE_LOGS / "lisa/sacct.txt", "sacct-parsable", b"|", 16),
    Seed("lisa-wandb", SAMPLE_LOGS / "lisa/wandb_runs.csv", "wandb", b",", 10),
    Seed("lisa-jobs", SAMPLE_LOGS / "lisa/jobs.csv", "csv", b",", 12),
    Seed("sacct-p-trailing", REALWORLD / "clockwork_sacct_p_cedar.txt", "sacct-parsable", b"|", 12),
    Seed(
        "sacct-p2-formatall",
        REALWORLD / "slurmusage_sacct_p2_formatall.txt",
        "sacct-parsable",
        b"|",
        8,
    ),
    Seed(
        "sacct-p2-noheader",
        REALWORLD / "hcs_sacct_p2_noheader_array.txt",
        "sacct-parsable",
        b"|",
        12,
        {"fields": HCS_V1_FIELDS},
    ),
    Seed(
        "sacct-p2-slurmdog",
        REALWORLD / "slurmdog_alpine_p2_noheader_14f.txt",
        "sacct-parsable",
        b"|",
        12,
        {"fields": SLURMDOG_FIELDS},
    ),
    Seed(
        "sacct-fixed-cttoy",
        REALWORLD / "cttoy_sacct_fixedwidth_maxrss.txt",
        "sacct-fixed",
        b" ",
        14,
    ),
    Seed("sacct-fixed-hyak", REALWORLD / "hyak_sacct_fixedwidth_2024.txt", "sacct-fixed", b" ", 14),
    Seed("sacct-json-21", REALWORLD / "sarc_sacct_json_slurm_21_8_8.json", "sacct-json", b",", 0),
    Seed("sacct-json-23", REALWORLD / "sarc_sacct_json_slurm_23_11_5.json", "sacct-json", b",", 0),
    Seed(
        "sacct-json-v0041",
        REALWORLD / "slurmweb_slurmdb_v0041_s2405_gpus_completed.json",
        "sacct-json",
        b",",
        0,
    ),
    Seed("wandb-api", REALWORLD / "wandb_api_runs_sweepid_equiunet.csv", "wandb", b",", 8),
    Seed("wandb-ui", REALWORLD / "wandb_ui_runs_nanogpt_comp3242.csv", "wandb", b",", 8),
    Seed("wandb-json", RUNS_DATA / "wandb_runs.json", "wandb", b",", 0),
    Seed("wandb-jsonl", RUNS_DATA / "wandb_runs.jsonl", "wandb", b",", 0),
    Seed("mlflow-search", REALWORLD / "mlflow_search_runs_taxi.csv", "mlflow", b",", 10),
    Seed("mlflow-ui", REALWORLD / "mlflow_ui_runs_v2_optuna.csv", "mlflow", b",", 10),
    Seed("csv-hcs", REALWORLD / "hcs_plain_jobs.csv", "csv", b",", 10),
    Seed("csv-tsv-bom", RUNS_DATA / "plain_bom_crlf.tsv", "csv", b"\t", 0),
    Seed("csv-canonical", RUNS_DATA / "plain_canonical.csv", "csv", b",", 0),
    Seed(
        "csv-words-dates",
        RUNS_DATA / "plain_words_dates.csv",
        "csv",
        b",",
        0,
        {"tz": "Europe/Berlin"},
    ),
    Seed("mlflow-ui-quoted", RUNS_DATA / "mlflow_ui_quoted.csv", "mlflow", b",", 0),
    Seed("wandb-ui-endtime", RUNS_DATA / "wandb_ui_endtime.csv", "wandb", b",", 0),
]


def _param(seed: Seed):
    return pytest.param(
        seed,
        id=seed.name,
        marks=pytest.mark.skipif(not seed.path.is_file(), reason=f"{seed.path} not present"),
    )


PARAMS = [_param(s) for s in SEEDS]
JSON_PARAMS = [_param(s) for s in SEEDS if s.path.suffix == ".json"]


def n_lines(content: bytes) -> int:
    return len(re.split(rb"\r\n|\r|\n", content))


def read_checked(path: Path, format: str | None, on_bad_row: str = "skip", **opts):
    """read_log_report, with the contract checked: a valid, fully accounted
    table, or an RdcostError. Returns the report, or the error."""
    try:
        df, rep = read_log_report(path, format=format, on_bad_row=on_bad_row, **opts)
    except RdcostError as exc:
        assert str(exc).strip(), "an error must say what is wrong"
        return exc
    assert (
        rep.n_records == rep.n_jobs + rep.n_folded + rep.n_merged + rep.n_ignored + rep.n_rejected
    ), rep
    assert rep.n_jobs == len(df)
    assert (
        min(rep.n_records, rep.n_jobs, rep.n_folded, rep.n_merged, rep.n_ignored, rep.n_rejected)
        >= 0
    )
    assert list(df.columns) == list(schema.COLUMN_NAMES)
    assert schema.validate(df) == []
    assert sum(rep.reasons.values()) == rep.n_rejected
    assert all(isinstance(r, str) and r.strip() for r in rep.reasons)
    if on_bad_row == "raise":
        assert rep.n_rejected == 0
    return rep


def _check(content: bytes, seed: Seed, on_bad_row: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("mutated" + seed.path.suffix)
        path.write_bytes(content)
        lines = n_lines(content)
        for fmt in (seed.format, None):
            try:
                rep = read_checked(path, fmt, on_bad_row, **seed.opts)
            except BaseException:
                _save(content, seed)
                raise
            if not isinstance(rep, RdcostError):
                for ex in rep.examples:
                    assert ex.line is None or 1 <= ex.line <= lines, (ex, lines)


def _save(content: bytes, seed: Seed) -> None:
    """With $RDCOST_FUZZ_SAVE set, keep each failing input there (to replay it by hand)."""
    where = os.environ.get("RDCOST_FUZZ_SAVE")
    if where:
        out = (
            Path(where)
            / f"{seed.name}-{hashlib.sha256(content).hexdigest()[:12]}{seed.path.suffix}"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)


@pytest.mark.parametrize("seed", PARAMS)
def test_every_seed_reads_cleanly_before_mutation(seed, tmp_path):
    path = tmp_path / ("seed" + seed.path.suffix)
    path.write_bytes(seed.content())
    rep = read_checked(path, seed.format, **seed.opts)
    assert not isinstance(rep, RdcostError), rep
    assert rep.n_jobs > 0


@pytest.mark.parametrize("seed", PARAMS)
@fuzz_settings(12)
@given(data=st.data(), on_bad_row=st.sampled_from(["skip", "skip", "raise"]))
def test_mutated_lines_give_a_table_or_an_rdcost_error(seed, data, on_bad_row):
    content = data.draw(mutated_file(seed.lines(), seed.delimiter), label="content")
    _check(content, seed, on_bad_row)


@pytest.mark.parametrize("seed", JSON_PARAMS)
@fuzz_settings(25)
@given(data=st.data())
def test_mutated_json_gives_a_table_or_an_rdcost_error(seed, data):
    doc = json.loads(seed.path.read_bytes())
    content = data.draw(mutated_json(doc), label="content")
    _check(content, seed, "skip")


@pytest.mark.parametrize("fmt", [*FORMATS, None])
@fuzz_settings(20)
@given(
    content=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.lists(
            st.text(alphabet='JobIDStae|,;\t\x1f0123456789:-T. "{}[]', max_size=40), max_size=8
        ).map(lambda ls: "\n".join(ls).encode()),
    )
)
def test_arbitrary_bytes_give_a_table_or_an_rdcost_error(fmt, content):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "any.txt"
        path.write_bytes(content)
        read_checked(path, fmt)


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("seed", PARAMS)
def test_a_file_of_another_format_gives_a_table_or_an_rdcost_error(seed, fmt, tmp_path):
    """Every format forced on every seed (most are another format's file)."""
    path = tmp_path / ("seed" + seed.path.suffix)
    path.write_bytes(seed.content())
    rep = read_checked(path, fmt, **seed.opts)
    if fmt == seed.format:
        assert not isinstance(rep, RdcostError), rep


# ---------------------------------------------------------------- regressions found by fuzzing

SACCT_HEAD = "JobID|JobName|State|Start|End|ElapsedRaw|TotalCPU|ConsumedEnergyRaw"


def test_sacct_chunk_of_steps_without_any_allocation(tmp_path):
    """Step records whose allocation is missing make one inferred allocation; a chunk
    holding no allocation at all once crashed (IndexError)."""
    p = tmp_path / "steps.txt"
    p.write_text(
        SACCT_HEAD + "\n"
        "5.batch|batch|COMPLETED|2020-01-01T00:00:00|2020-01-01T01:00:00|3600|01:00:00|10\n"
        "5.extern|extern|COMPLETED|2020-01-01T00:00:00|2020-01-01T01:00:00|3600|00:00:01|20\n"
    )
    rep = read_checked(p, "sacct-parsable")
    assert (rep.n_jobs, rep.n_inferred, rep.n_folded, rep.n_rejected) == (1, 1, 1, 0)


def test_sacct_line_with_wrong_field_count_and_invalid_utf8_is_rejected_alone(tmp_path):
    """pyarrow cannot hand such a line to the reject handler; it once failed the
    whole file with a traceback."""
    p = tmp_path / "latin1.txt"
    good = "7|ok|COMPLETED|2020-01-01T00:00:00|2020-01-01T01:00:00|3600|01:00:00|"
    p.write_bytes(
        (SACCT_HEAD + "\n").encode()
        + b"\x80bad|line\n"
        + good.encode()
        + b"\n"
        + "8|caf\xe9|COMPLETED|2020-01-01T00:00:00|2020-01-01T01:00:00|3600||".encode("latin-1")
        + b"\n"
    )
    df, rep = read_log_report(p, format="sacct-parsable")
    assert (rep.n_jobs, rep.n_rejected) == (2, 1)
    assert rep.examples[0].line == 2 and "2 fields where the header has 8" in rep.examples[0].reason
    assert df["job_name"].tolist() == ["ok", "caf\ufffd"]


def test_sacct_parsable_drops_a_bom_before_a_headerless_record(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf5|COMPLETED|3600\n6|FAILED|60\n")
    df, rep = read_log_report(p, format="sacct-parsable", fields=["JobID", "State", "ElapsedRaw"])
    assert rep.n_rejected == 0 and df["job_id"].tolist() == ["5", "6"]


@pytest.mark.parametrize("fmt", ["wandb", "mlflow", "csv"])
def test_a_header_of_a_million_columns_is_refused_at_once(tmp_path, fmt):
    """A 2 MB first line 'a,a,a,...' once took minutes and gigabytes of memory."""
    p = tmp_path / "wide.csv"
    p.write_bytes(b"a," * (1 << 19) + b"\nName,State\nx,finished\n")
    err = read_checked(p, fmt)
    assert isinstance(err, RdcostError)
    assert "the header row has 524,289 columns, more than the 10,000 rdcost reads" in str(err)


@pytest.mark.parametrize("fmt", ["wandb", "csv"])
def test_a_one_megabyte_cell_is_read_not_a_file_error(tmp_path, fmt):
    """Python's csv module refuses cells over 128 KiB; that once failed the whole file."""
    p = tmp_path / "big.csv"
    p.write_text(
        '"Name","State","Created","Runtime","Notes"\n'
        f'"a","finished","2024-01-01T00:00:00.000Z","60","{"n" * (1 << 20)}"\n'
        '"b","finished","2024-01-01T00:00:00.000Z","60","-"\n'
    )
    rep = read_checked(p, fmt)
    assert not isinstance(rep, RdcostError), rep
    assert rep.n_jobs == 2


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(
            '{"id": "a", "name": "n", "state": ["finished"], "created_at": "2024-03-04T09:12:44"}',
            id="list-where-text-belongs",
        ),
        pytest.param('{"state": "finished"}', id="no-id-no-name"),
        pytest.param("{}", id="empty-object"),
    ],
)
def test_wandb_json_records_of_the_wrong_shape_are_rejected(tmp_path, record):
    p = tmp_path / "runs.json"
    p.write_text(
        "[" + record + ', {"id": "b", "name": "m", "state": "finished", '
        '"created_at": "2024-03-04T09:12:44"}]'
    )
    rep = read_checked(p, "wandb")
    assert not isinstance(rep, RdcostError), rep
    assert (rep.n_jobs, rep.n_rejected) == (1, 1)


def test_sacct_duplicates_mixed_with_final_and_unfinished_jobs_merge_by_key(tmp_path):
    """The merge once grouped a sorted frame by an unsorted key array: it kept
    the wrong rows and left duplicate record keys."""
    p = tmp_path / "dups.txt"
    states = [
        ("1", "COMPLETED"),
        ("2", "PENDING"),
        ("2", "PENDING"),
        ("3", "PENDING"),
        ("4", "COMPLETED"),
        ("2", "PENDING"),
        ("5", "COMPLETED"),
        ("5", "COMPLETED"),
    ]
    p.write_text("JobID|State\n" + "".join(f"{j}|{s}\n" for j, s in states))
    df, rep = read_log_report(p, format="sacct-parsable")
    assert schema.validate(df) == []
    assert sorted(df["job_id"]) == ["1", "2", "3", "4", "5"] and rep.n_merged == 3
    assert dict(zip(df["job_id"], df["state"], strict=True)) == {
        "1": "COMPLETED",
        "2": "PENDING",
        "3": "PENDING",
        "4": "COMPLETED",
        "5": "COMPLETED",
    }


def test_sacct_json_with_a_number_of_thousands_of_digits(tmp_path):
    """Python refuses to read integers of more than 4300 digits (a plain ValueError)."""
    p = tmp_path / "big.json"
    p.write_text('{"jobs": [{"job_id": ' + "9" * 5000 + ', "name": "x"}], "meta": {}}')
    err = read_checked(p, "sacct-json")
    assert isinstance(
        err, RdcostError
    ) and "a number too long to read (more than 4300 digits)" in str(err)


def test_run_export_cell_of_thousands_of_digits_is_kept_as_text(tmp_path):
    p = tmp_path / "api.csv"
    p.write_text(
        "name,state,created_at,config.seed\nr1,finished,2024-01-01T00:00:00," + "9" * 5000 + "\n"
    )
    df, rep = read_log_report(p, format="wandb")
    assert rep.n_jobs == 1 and json.loads(df.loc[0, "config_json"])["seed"] == "9" * 5000


# ---------------------------------------------------------------- any options

OPTION_SEEDS = [
    _param(s)
    for s in SEEDS
    if s.name
    in (
        "lisa-sacct",
        "lisa-wandb",
        "lisa-jobs",
        "sacct-fixed-cttoy",
        "sacct-json-21",
        "mlflow-ui",
        "wandb-json",
    )
]

options = st.fixed_dictionaries(
    {},
    optional={
        "tz": st.one_of(
            st.sampled_from(
                [
                    "UTC",
                    "Europe/Berlin",
                    "America/New_York",
                    "Nope/Nope",
                    "",
                    "utc",
                    "../../etc/passwd",
                    "Etc/GMT+14",
                ]
            ),
            st.text(max_size=12),
        ),
        "delimiter": st.one_of(
            st.sampled_from(["|", ",", ";", "\t", "\x1f", "é", "||", "\n", '"', " ", ""]),
            st.text(max_size=3),
        ),
        "fields": st.lists(
            st.one_of(
                st.sampled_from(
                    ["JobID", "State", "Elapsed", "jobid", "elapsed", "ConsumedE+", "Bogus", ""]
                ),
                st.text(max_size=8),
            ),
            max_size=5,
        ),
        "gpus_per_run": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        "gpu_type": st.one_of(st.none(), st.text(max_size=8)),
        "dayfirst": st.sampled_from([None, True, False]),
        "cluster": st.one_of(st.none(), st.text(max_size=8)),
        "project": st.one_of(st.none(), st.text(max_size=8)),
        "column_map": st.dictionaries(
            st.sampled_from(
                ["start_time", "end_time", "job_id", "user", "gpus", "bogus", "elapsed_s"]
            ),
            st.sampled_from(["Start", "Created", "job_id", "JobID", "nope", "", "Name"]),
            max_size=3,
        ),
        "chunk_rows": st.integers(-3, 50),
        "on_bad_row": st.sampled_from(["skip", "raise"]),
    },
)


@pytest.mark.parametrize("seed", OPTION_SEEDS)
@fuzz_settings(15)
@given(opts=options, forced=st.booleans())
def test_any_options_give_a_table_or_an_rdcost_error(seed, opts, forced, tmp_path_factory):
    """What a user can type on the command line: every combination of options
    ends in a table or an error message (UsageError for an option that cannot work)."""
    d = tmp_path_factory.mktemp("opts")
    path = d / ("seed" + seed.path.suffix)
    path.write_bytes(seed.content())
    on_bad_row = opts.pop("on_bad_row", "skip")
    got = read_checked(path, seed.format if forced else None, on_bad_row, **opts)
    event("outcome: " + (type(got).__name__ if isinstance(got, RdcostError) else "table"))


def test_wandb_json_lines_with_a_number_of_thousands_of_digits(tmp_path):
    p = tmp_path / "runs.jsonl"
    p.write_text(
        '{"id": "a", "name": "n", "state": "finished", "created_at": "2024-03-04T09:12:44"}\n'
        '{"id": "b", "name": "m", "state": "finished", "_runtime": ' + "9" * 5000 + "}\n"
    )
    rep = read_checked(p, "wandb")
    assert not isinstance(rep, RdcostError), rep
    assert (rep.n_jobs, rep.n_rejected) == (1, 1)
    assert rep.examples[0].reason == "not a JSON object: a number of more than 4300 digits"


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "text,fmt",
    [
        pytest.param(DEEP, "wandb", id="wandb-json-array"),
        pytest.param('{"jobs": [' + DEEP + "]}", "sacct-json", id="sacct-json"),
        pytest.param('{"id": "a", "x": ' + DEEP + "}\n", "wandb", id="wandb-json-lines"),
        pytest.param(
            '{"meta": {}, "jobs": [{"job_id": 1, "name": ' + DEEP + "}]}", None, id="auto-detect"
        ),
    ],
)
def test_json_nested_deeper_than_python_recurses(tmp_path, text, fmt):
    """json.loads raises RecursionError (not ValueError) on deep nesting; it once crashed
    the W&B sniffer and reader and the sacct JSON reader."""
    p = tmp_path / "deep.json"
    p.write_text(text)
    read_checked(p, fmt)


def test_csv_cell_nested_deeper_than_python_recurses(tmp_path):
    p = tmp_path / "deep.csv"
    p.write_text("job_id,config_json,tags\n1," + "[" * 100_000 + ",x\n")
    rep = read_checked(p, "csv")
    assert rep.n_rejected == 1 and rep.examples[0].reason == "not a JSON object"


@pytest.mark.parametrize(
    "text",
    ["P" + "1" * 5000 + "D", "1" * 5000 + "-00:00:00", "1" * 5000 + "d"],
    ids=["iso-days", "clock-days", "unit-days"],
)
def test_durations_with_thousands_of_digits_are_refused_not_zero(tmp_path, text):
    """pandas reads integers over 4300 digits as NaN, which became 0 days."""
    p = tmp_path / "d.csv"
    p.write_text(f"job_id,elapsed_s\n1,{text}\n2,60\n")
    df, rep = read_log_report(p, format="csv")
    assert df["elapsed_s"].tolist() == [60.0]
    assert [e.reason for e in rep.examples] == ["not a finite duration"]


def test_a_megabyte_in_a_date_column_is_refused_quickly(tmp_path):
    """dateparser takes minutes on a megabyte of text; such a cell is no date."""
    import time

    p = tmp_path / "slow.csv"
    p.write_text("job_id,start_time\n1," + "a b " * (1 << 18) + "\n2,4 March 2024 10:00\n")
    t0 = time.monotonic()
    df, rep = read_log_report(p, format="csv")
    assert time.monotonic() - t0 < 30
    assert [e.reason for e in rep.examples] == ["not a date"] and len(df) == 1
