"""Value grammars shared by the W&B, MLflow and plain-CSV parsers (table-driven)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdcost.readers.delimited import (
    AMBIGUOUS_DATE,
    json_objects,
    literal,
    parse_duration_s,
    parse_times,
    read_delimited,
    slurm_job_ids,
)

DURATIONS = [
    ("3921", 3921.0, "seconds"),
    ("12.5", 12.5, "fractional seconds"),
    ("1e3", 1000.0, "exponent"),
    ("02:03:04", 2 * 3600 + 3 * 60 + 4, "HH:MM:SS"),
    ("100:00:00", 100 * 3600, "hours past 24"),
    ("1-02:03:04", 86400 + 2 * 3600 + 3 * 60 + 4, "D-HH:MM:SS"),
    ("0:00:03", 3.0, "timedelta text"),
    ("0:00:00.006155", 0.006155, "timedelta text with microseconds"),
    ("1 day, 2:03:04", 86400 + 7384, "timedelta text with a day"),
    ("2 days, 0:00:00", 2 * 86400, "timedelta text with days"),
    ("0 days 00:00:03", 3.0, "pandas timedelta text"),
    ("2h30m", 2.5 * 3600, "units"),
    ("2h 30m 15s", 2 * 3600 + 30 * 60 + 15, "units with spaces"),
    ("161ms", 0.161, "MLflow ms"),
    ("5.6s", 5.6, "MLflow s"),
    ("2.2min", 132.0, "MLflow min"),
    ("2.7h", 9720.0, "MLflow h"),
    ("1.1d", 1.1 * 86400, "MLflow d"),
    ("90 s", 90.0, "unit after a space"),
    ("PT2H30M", 9000.0, "ISO 8601"),
]


@pytest.mark.parametrize("text,seconds,case", DURATIONS, ids=[c for _, _, c in DURATIONS])
def test_duration_grammar(text, seconds, case):
    values, reasons = parse_duration_s(pd.Series([text]))
    assert reasons.isna().all(), reasons.tolist()
    assert values[0] == pytest.approx(seconds)


BAD_DURATIONS = [
    ("-5", "negative duration"),
    ("-00:00:01", "negative duration"),
    ("-1 day, 23:59:59", "negative duration"),
    ("-2h", "negative duration"),
    ("12:30", "not a duration"),
    ("abc", "not a duration"),
    ("00:61:00", "not a duration"),
    ("inf", "not a duration"),
]


@pytest.mark.parametrize("text,reason", BAD_DURATIONS, ids=[t for t, _ in BAD_DURATIONS])
def test_bad_durations_are_refused_with_their_reason(text, reason):
    values, reasons = parse_duration_s(pd.Series([text]))
    assert reasons[0] == reason
    assert math.isnan(values[0])


@pytest.mark.parametrize("text", ["", "NaN", "nan", "None", "  "])
def test_missing_duration_is_null_not_zero(text):
    values, reasons = parse_duration_s(pd.Series([text]))
    assert reasons.isna().all() and math.isnan(values[0])


UTC = "UTC"
TIMES = [
    # text, tz, dayfirst, expected UTC, case
    ("2024-03-04T09:12:44.000Z", UTC, None, "2024-03-04T09:12:44", "W&B Created"),
    ("2026-05-25 09:31:08.198000+00:00", UTC, None, "2026-05-25T09:31:08.198", "search_runs"),
    ("2024-03-04T10:00:00+01:00", UTC, None, "2024-03-04T09:00:00", "offset"),
    ("2024-03-04 10:00:00", "Europe/Berlin", None, "2024-03-04T09:00:00", "naive in --tz (CET)"),
    ("2024-07-04 10:00:00", "Europe/Berlin", None, "2024-07-04T08:00:00", "naive in --tz (CEST)"),
    ("2024-03-04 10:00", "America/New_York", None, "2024-03-04T15:00:00", "no seconds, EST"),
    ("1709546400", UTC, None, "2024-03-04T10:00:00", "epoch seconds"),
    ("1709546400000", UTC, None, "2024-03-04T10:00:00", "epoch milliseconds"),
    ("13/04/2024 10:00", UTC, None, "2024-04-13T10:00:00", "day > 12: only day-first is valid"),
    ("04/13/2024 1:05 PM", UTC, None, "2024-04-13T13:05:00", "month-first with PM"),
    ("03/04/2024", UTC, True, "2024-04-03T00:00:00", "--dayfirst"),
    ("03/04/2024", UTC, False, "2024-03-04T00:00:00", "--monthfirst"),
    ("03/03/2024", UTC, None, "2024-03-03T00:00:00", "same day and month"),
    ("05.03.24 08:00", UTC, True, "2024-03-05T08:00:00", "dots and a 2-digit year"),
    ("4 March 2024 10:00", "Europe/Berlin", None, "2024-03-04T09:00:00", "words (dateparser)"),
    ("March 5, 2024 9:00 PM", UTC, None, "2024-03-05T21:00:00", "words, month first"),
]


@pytest.mark.parametrize("text,tz,dayfirst,expected,case", TIMES, ids=[t[-1] for t in TIMES])
def test_time_grammar(text, tz, dayfirst, expected, case):
    values, reasons = parse_times(pd.Series([text]), tz, dayfirst, free_form=True)
    assert reasons.isna().all(), reasons.tolist()
    assert values[0] == pd.Timestamp(expected, tz="UTC")


BAD_TIMES = [
    ("03/04/2024", None, AMBIGUOUS_DATE),
    ("4 3 2024", None, AMBIGUOUS_DATE),
    ("13/04/2024", False, "not a month-first date (MM/DD/YYYY) as --monthfirst says"),
    ("04/13/2024", True, "not a day-first date (DD/MM/YYYY) as --dayfirst says"),
    ("31/02/2024", True, "not a valid date"),
    ("yesterday", None, "not a date"),
    ("2024-02-30T00:00:00", None, "not a valid date"),
]


@pytest.mark.parametrize("text,dayfirst,reason", BAD_TIMES, ids=[t for t, _, _ in BAD_TIMES])
def test_bad_and_ambiguous_dates_are_refused_never_guessed(text, dayfirst, reason):
    values, reasons = parse_times(pd.Series([text]), "UTC", dayfirst, free_form=True)
    assert reasons[0] == reason
    assert pd.isna(values[0])


def test_ambiguous_message_asks_for_the_option():
    assert "--dayfirst" in AMBIGUOUS_DATE and "--monthfirst" in AMBIGUOUS_DATE


def test_local_time_in_a_daylight_saving_gap_is_refused():
    # 2024-03-31 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00)
    values, reasons = parse_times(pd.Series(["2024-03-31 02:30:00"]), "Europe/Berlin")
    assert "daylight-saving" in reasons[0] and pd.isna(values[0])


def test_strict_times_refuse_free_form_text():
    values, reasons = parse_times(pd.Series(["13/04/2024", "1709546400"]), "UTC")
    assert reasons.tolist() == ["not a date", "not a date"]


def test_cells_become_one_flat_json_object_per_row():
    cells = pd.DataFrame(
        [
            ["64", "0.0003", '[1,2,"x"]', "true", "NaN", "", "007", 'say "hi"\n'],
            ["", "", "", "", "", "", "", ""],
        ]
    )
    keys = ["batch_size", "optimizer.lr", "layers", "flag", "loss", "empty", "code", "note"]
    out = json_objects(cells, keys, "json")
    assert json.loads(out[0]) == {
        "batch_size": 64,
        "optimizer.lr": 0.0003,
        "layers": [1, 2, "x"],
        "flag": True,
        "loss": None,
        "code": "007",
        "note": 'say "hi"\n',
    }
    assert pd.isna(out[1])  # nothing known: null, not {}


def test_repeated_keys_are_kept_apart():
    out = json_objects(pd.DataFrame([["1", "2"]]), ["loss", "loss"], "json")
    assert json.loads(out[0]) == {"loss": 1, "loss#2": 2}


def test_python_literals_in_python_mode_only():
    text = "{'a': nan, 'b': (1, 2), 'c': None, 'd': True, 'e': -inf}"
    assert literal(text, "python") == {
        "a": None,
        "b": [1, 2],
        "c": None,
        "d": True,
        "e": "-Infinity",
    }
    out_json = json_objects(pd.DataFrame([[text, "True"]]), ["x", "y"], "json")
    assert json.loads(out_json[0]) == {"x": text, "y": "True"}
    out_py = json_objects(pd.DataFrame([[text, "True"]]), ["x", "y"], "python")
    assert json.loads(out_py[0])["y"] is True


def test_slurm_job_ids():
    got = slurm_job_ids(pd.Series(["4242", "4242.0", "123_4", "None", "", "abc"])).tolist()
    assert got[:3] == ["4242", "4242", "123_4"]
    assert all(pd.isna(v) for v in got[3:])


def test_read_delimited_counts_lines_through_quoted_newlines(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b'\xef\xbb\xbfa,b\r\n1,"x\r\ny"\r\n\r\n2,z\r\n3\r\n4,w')
    t = read_delimited(p)
    assert t.header == ["a", "b"]
    assert t.cells.values.tolist() == [["1", "x\r\ny"], ["2", "z"], ["4", "w"]]
    assert t.lines.tolist() == [2, 5, 7]
    assert t.n_blank == 1
    assert [(r.line, r.reason) for r in t.bad] == [
        (6, "expected 2 fields as in the header, found 1")
    ]


@given(st.integers(min_value=0, max_value=400 * 86400))
def test_duration_texts_round_trip(seconds):
    """A whole number of seconds written in each grammar reads back as itself."""
    td = pd.Timedelta(seconds=seconds)
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    texts = [
        str(seconds),
        f"{d}-{h:02d}:{m:02d}:{s:02d}",
        f"{d * 24 + h}:{m:02d}:{s:02d}",
        str(td.to_pytimedelta()),
        str(td),
        f"{d}d{h}h{m}m{s}s",
        f"P{d}DT{h}H{m}M{s}S",
    ]
    values, reasons = parse_duration_s(pd.Series(texts))
    assert reasons.isna().all(), list(zip(texts, reasons, strict=True))
    assert (values == float(seconds)).all(), list(zip(texts, values, strict=True))
