"""Table-driven tests of the sacct value grammars (spec/formats.md §1.2, §1.4).

Every expected value below was worked out by hand from the grammar, not
copied from the code's output.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdcost.errors import ParseError, UsageError
from rdcost.readers.slurm import grammar as sv

KIB, MIB, GIB, TIB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


def case(*values, id):
    return pytest.param(*values, id=id)


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "text,seconds",
    [
        case("00:00:00", 0.0, id="zero"),
        case("01:02:03", 3723.0, id="hh:mm:ss"),
        case("1-02:03:04", 93784.0, id="d-hh:mm:ss"),
        case("123-00:00:00", 123 * 86400.0, id="days-unbounded"),
        case("4-00:16:00", 4 * 86400.0 + 960, id="ga4hpc-cputime"),
        case("05:03.123", 303.123, id="mm:ss.mmm-is-minutes"),
        case("00:00.001", 0.001, id="one-millisecond"),
        case("02:44.935", 164.935, id="slurmdog-totalcpu"),
        case("12:53.010", 773.010, id="formatall-totalcpu"),
        case("59:59", 3599.0, id="mm:ss"),
        case("", None, id="empty-is-null"),
    ],
)
def test_duration(text, seconds):
    got = sv.duration_s(text)
    assert (got is None) if seconds is None else got == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize(
    "text",
    [
        case("INVALID", id="negative-marker"),
        case("1:60:00", id="minutes-60"),
        case("00:00:60", id="seconds-60"),
        case("2-25:00:00", id="hours-25-with-days"),
        case("1-05:03", id="days-without-hours"),
        case("12", id="bare-number"),
        case("1:2:3:4", id="too-many-parts"),
        case("-01:00:00", id="minus-sign"),
        case("Unknown", id="unknown-is-no-duration"),
    ],
)
def test_duration_invalid(text):
    with pytest.raises(ParseError) as e:
        sv.duration_s(text)
    assert e.value.value == text and "HH:MM:SS" in e.value.expected


@pytest.mark.parametrize(
    "text,seconds",
    [
        case("00:01:00", 60.0, id="one-minute"),
        case("2-00:00:00", 172800.0, id="two-days"),
        case("UNLIMITED", None, id="unlimited"),
        case("Partition_Limit", None, id="partition-limit-code-spelling"),
        case("Partition_limit", None, id="partition-limit-man-spelling"),
        case("", None, id="empty"),
    ],
)
def test_timelimit(text, seconds):
    assert sv.timelimit_s(text) == seconds


@pytest.mark.parametrize(
    "text,seconds,invalid",
    [
        case("240", 14400.0, False, id="minutes"),
        case("UNLIMITED", None, False, id="unlimited"),
        case("Partition_Limit", None, False, id="partition-limit"),
        case("4:00", None, True, id="not-minutes"),
    ],
)
def test_timelimit_raw(text, seconds, invalid):
    p = sv.parse_timelimit_raw(pd.Series([text], dtype=object))
    assert bool(p.invalid.iloc[0]) is invalid
    v = p.values.iloc[0]
    assert (math.isnan(v)) if seconds is None else v == seconds


def _secs2time_str(secs: int) -> str:
    """What sacct prints for Elapsed (secs2time_str), written from the spec."""
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{d}-{h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}"


@given(st.integers(min_value=0, max_value=400 * 86400))
def test_duration_reads_back_what_sacct_prints(secs):
    assert sv.duration_s(_secs2time_str(secs)) == secs


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "text,tz,utc",
    [
        case("2024-03-01T08:05:10", "UTC", "2024-03-01T08:05:10Z", id="utc"),
        case(
            "2024-07-01T12:00:00", "Europe/Berlin", "2024-07-01T10:00:00Z", id="berlin-summer-cest"
        ),
        case(
            "2024-01-15T12:00:00", "Europe/Berlin", "2024-01-15T11:00:00Z", id="berlin-winter-cet"
        ),
        case(
            "2021-06-07T01:23:17", "America/Vancouver", "2021-06-07T08:23:17Z", id="vancouver-pdt"
        ),
        # 2024-11-03 01:30 happens twice in New York: taken as the first (EDT, -4)
        case(
            "2024-11-03T01:30:00",
            "America/New_York",
            "2024-11-03T05:30:00Z",
            id="dst-ambiguous-first",
        ),
        # 2024-03-10 02:30 never happens in New York: moved to 03:00 EDT
        case(
            "2024-03-10T02:30:00",
            "America/New_York",
            "2024-03-10T07:00:00Z",
            id="dst-nonexistent-forward",
        ),
        case(
            "2024-03-01T08:05:10+0100",
            "America/New_York",
            "2024-03-01T07:05:10Z",
            id="explicit-offset-wins",
        ),
        case("2024-02-29T23:59:59", "UTC", "2024-02-29T23:59:59Z", id="leap-day"),
        case("2024-03-01 08:05:10", "UTC", "2024-03-01T08:05:10Z", id="space-instead-of-T"),
        case("2024-07-01 12:00:00", "Europe/Berlin", "2024-07-01T10:00:00Z", id="space-berlin"),
        # SLURM_TIME_FORMAT=%s (jobstats): 1730723367 s after the epoch = 2024-11-04T12:29:27Z
        case("1730723367", "Europe/Berlin", "2024-11-04T12:29:27Z", id="epoch-seconds"),
        case("Unknown", "UTC", None, id="unknown"),
        case("None", "UTC", None, id="none"),
        case("", "UTC", None, id="empty"),
    ],
)
def test_timestamp(text, tz, utc):
    got = sv.timestamp_utc(text, tz)
    if utc is None:
        assert got is None
    else:
        assert got == pd.Timestamp(utc)
        assert str(got.tz) == "UTC"


@pytest.mark.parametrize(
    "text",
    [
        case("2023-02-29T00:00:00", id="no-leap-day"),
        case("2024-02-30T00:00:00", id="feb-30"),
        case("2024-13-01T00:00:00", id="month-13"),
        case("03/04-10:00:00", id="old-no-year-format"),
        case("Ystday 12:34", id="relative-format"),
        case("17307233", id="too-few-digits-for-epoch"),
    ],
)
def test_timestamp_invalid(text):
    with pytest.raises(ParseError) as e:
        sv.timestamp_utc(text)
    assert "YYYY-MM-DDTHH:MM:SS" in e.value.expected


EXPORTED = pd.Timestamp("2024-03-06T15:00:00Z")  # a Wednesday


@pytest.mark.parametrize(
    "text,utc",
    [
        case("09:15:30", "2024-03-06T09:15:30Z", id="same-day"),
        case("Ystday 23:59", "2024-03-05T23:59:00Z", id="yesterday"),
        case("Tomorr 01:02", "2024-03-07T01:02:00Z", id="tomorrow"),
        case("Sat 10:00", "2024-03-09T10:00:00Z", id="weekday-ahead"),
        case("1 Feb 08:30", "2024-02-01T08:30:00Z", id="day-month-this-year"),
        case("6 Jun 2012", "2012-06-06T00:00:00Z", id="far-date-only"),
        case("2024-03-01T08:05:10", "2024-03-01T08:05:10Z", id="standard-still-read"),
    ],
)
def test_relative_timestamps_are_dated_by_the_export(text, utc):
    """SLURM_TIME_FORMAT=relative (Slurm's parse_time.c): times relative to the export day."""
    from rdcost.readers.slurm.timestamps import parse_timestamp

    p = parse_timestamp(pd.Series([text], dtype=object), "UTC", "relative", EXPORTED)
    assert not p.invalid.iloc[0] and p.values.iloc[0] == pd.Timestamp(utc)


def test_relative_timestamps_need_a_relative_format():
    p = sv.parse_timestamp(pd.Series(["Ystday 12:34"], dtype=object))
    assert p.invalid.iloc[0]


def test_custom_strftime_format():
    from rdcost.readers.slurm.timestamps import parse_timestamp

    p = parse_timestamp(
        pd.Series(["01/03/2024 08:05", "bad"], dtype=object), "Europe/Berlin", "%d/%m/%Y %H:%M"
    )
    assert p.values.iloc[0] == pd.Timestamp("2024-03-01T07:05:00Z") and list(p.invalid) == [
        False,
        True,
    ]


def test_unknown_time_zone_is_a_usage_error():
    with pytest.raises(UsageError, match="Mars/Olympus"):
        sv.timestamp_utc("2024-03-01T08:05:10", "Mars/Olympus")


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    "text,bare,expected",
    [
        case("321860K", 1, 321860 * KIB, id="kib"),
        case("6953016K", 1, 6953016 * KIB, id="hcs-maxrss"),
        case("1.50G", 1, 3 * GIB // 2, id="decimal-gib"),
        case("64G", 1, 64 * GIB, id="gib"),
        case("1T", 1, TIB, id="tib"),
        case("2P", 1, 2 << 50, id="pib"),
        case("0", 1, 0, id="zero"),
        case("12345", 1, 12345, id="bare-is-bytes-for-maxrss"),
        case("4000", MIB, 4000 * MIB, id="bare-is-mb-for-mem"),
        case("0.14M", 1, round(0.14 * MIB), id="two-decimals-rounded"),
        case("", 1, None, id="empty"),
    ],
)
def test_size(text, bare, expected):
    assert sv.size_bytes(text, bare_bytes=bare) == expected


@pytest.mark.parametrize(
    "text",
    [
        case("12KB", id="two-letter-unit"),
        case("1.5?", id="overflow-marker"),
        case("-5K", id="negative"),
        case("5k", id="lower-case"),
        case("K", id="unit-only"),
    ],
)
def test_size_invalid(text):
    with pytest.raises(ParseError):
        sv.size_bytes(text)


@pytest.mark.parametrize(
    "text,cpus,nodes,expected",
    [
        case("4000Mc", 8, 1, 8 * 4000 * MIB, id="per-cpu"),
        case("64Gn", 8, 2, 2 * 64 * GIB, id="per-node"),
        case("6760Mc", 1, 1, 6760 * MIB, id="ga4hpc-per-cpu"),
        case("250Gn", 32, 1, 250 * GIB, id="ga4hpc-per-node"),
        case("30512M", 1, 1, 30512 * MIB, id="total-21.08"),
        case("2T", 1, 1, 2 * TIB, id="two-tib"),
        case("4000", 1, 1, 4000 * MIB, id="bare-is-mb"),
        case("4000Mc", 0, 1, None, id="per-cpu-never-got-cpus"),
        case("64Gn", None, None, None, id="per-node-count-unknown"),
        case("0", 4, 1, None, id="mem-0-is-unknown"),
        case("0n", 4, 1, None, id="mem-0-per-node-is-unknown"),
    ],
)
def test_mem_request(text, cpus, nodes, expected):
    assert sv.mem_request_bytes(text, cpus, nodes) == expected


@pytest.mark.parametrize(
    "text",
    [case("4000Mx", id="unknown-scope"), case("c", id="scope-only"), case("4000 M", id="space")],
)
def test_mem_request_invalid(text):
    with pytest.raises(ParseError):
        sv.mem_request_bytes(text, 1, 1)


def test_mem_request_per_cpu_uses_each_rows_cpu_count():
    p = sv.parse_mem_request(
        pd.Series(["1Gc", "1Gc", "1Gn"]), pd.Series([2, 4, 4]), pd.Series([1, 1, 3])
    )
    assert p.values.tolist() == [2 * GIB, 4 * GIB, 3 * GIB]


# ---------------------------------------------------------------- counts and energy


@pytest.mark.parametrize(
    "text,expected,invalid",
    [
        case("16", 16, False, id="int"),
        case("0", 0, False, id="zero"),
        case("", None, False, id="empty"),
        case("1.5", None, True, id="fraction"),
        case("2K", None, True, id="scaled"),
    ],
)
def test_count(text, expected, invalid):
    p = sv.parse_count(pd.Series([text], dtype=object))
    assert bool(p.invalid.iloc[0]) is invalid
    v = p.values.iloc[0]
    assert (v is pd.NA) if expected is None else v == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        case("2", 2, id="plain"),
        case("2K", 2048, id="2K-is-2048-nodes"),
    ],
)
def test_scaled_count(text, expected):
    assert sv.parse_scaled_count(pd.Series([text])).values.iloc[0] == expected


@pytest.mark.parametrize(
    "fn,text,expected,invalid",
    [
        case(sv.parse_energy_raw, "3600000", 3600000.0, False, id="raw-joules"),
        case(sv.parse_energy_raw, "0", 0.0, False, id="raw-zero"),
        case(sv.parse_energy_raw, "18446744073709551614", None, False, id="raw-no-val-sentinel"),
        case(sv.parse_energy_raw, "3.60M", None, True, id="raw-scaled-is-invalid"),
        case(sv.parse_energy, "3.60M", 3600000.0, False, id="scaled-1000-based"),
        case(sv.parse_energy, "12K", 12000.0, False, id="scaled-k"),
        case(sv.parse_energy, "512", 512.0, False, id="scaled-bare"),
    ],
)
def test_energy(fn, text, expected, invalid):
    p = fn(pd.Series([text], dtype=object))
    assert bool(p.invalid.iloc[0]) is invalid
    v = p.values.iloc[0]
    assert math.isnan(v) if expected is None else v == pytest.approx(expected)


# ---------------------------------------------------------------- TRES and GRES


@pytest.mark.parametrize(
    "text,expected",
    [
        case(
            "billing=16,cpu=16,gres/gpu:a100=4,gres/gpu=4,mem=128G,node=1",
            {
                "cpu": 16,
                "billing": 16,
                "node": 1,
                "mem_bytes": 128 * GIB,
                "n_gpus": 4.0,
                "gpu_type": "a100",
            },
            id="typed-and-untyped-not-added",
        ),
        case(
            "cpu=8,gres/gpu:a100=2,mem=32G",
            {"cpu": 8, "mem_bytes": 32 * GIB, "n_gpus": 2.0, "gpu_type": "a100"},
            id="typed-only",
        ),
        case(
            "cpu=8,gres/gpu:a100=2,gres/gpu:v100=1",
            {"cpu": 8, "n_gpus": 3.0, "gpu_type": "a100,v100"},
            id="two-types-summed",
        ),
        case(
            "billing=32,cpu=32,gres/gpu=1,mem=250G,node=1",
            {"cpu": 32, "billing": 32, "node": 1, "mem_bytes": 250 * GIB, "n_gpus": 1.0},
            id="untyped-only",
        ),
        case(
            "billing=16,cpu=12,mem=18G,node=1",
            {"cpu": 12, "billing": 16, "node": 1, "mem_bytes": 18 * GIB, "n_gpus": 0.0},
            id="no-gpu-is-zero",
        ),
        case(
            "cpu=1,mem=6760M,node=1",
            {"cpu": 1, "node": 1, "mem_bytes": 6760 * MIB, "n_gpus": 0.0},
            id="mem-in-mib",
        ),
        case(
            "cpu=2,mem=131072,node=1",
            {"cpu": 2, "node": 1, "mem_bytes": 131072 * MIB, "n_gpus": 0.0},
            id="noconvert-bare-mem-is-mb",
        ),
        case(
            "cpu=4,gres/gpumem=40G,gres/gpuutil=87,node=1",
            {"cpu": 4, "node": 1, "n_gpus": 0.0},
            id="gpumem-gpuutil-are-not-gpus",
        ),
        case(
            "cpu=2,energy=5000,fs/disk=123,1001=,node=1",
            {"cpu": 2, "node": 1, "energy_j": 5000.0, "n_gpus": 0.0},
            id="unresolved-id-and-fs",
        ),
        case(
            "cpu=1,gres/gpu:1g.10gb=2,node=1",
            {"cpu": 1, "node": 1, "n_gpus": 2.0, "gpu_type": "1g.10gb"},
            id="mig-type",
        ),
        case("", {}, id="empty-is-null"),
    ],
)
def test_tres(text, expected):
    assert sv.tres(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        case("cpu=8,,mem=1G", id="empty-item"),
        case("cpu", id="no-equals"),
        case("cpu=eight", id="count-not-a-number"),
        case("gres/gpu=NONE", id="gpu-count-none"),
        case("mem=12X", id="bad-mem-size"),
    ],
)
def test_tres_invalid(text):
    with pytest.raises(ParseError):
        sv.tres(text)


def test_tres_is_vectorized_row_by_row():
    df = sv.parse_tres(
        pd.Series(
            ["gres/gpu:a100=4", None, "cpu=1", "gres/gpu=2,gres/gpu:t4=2", "bad"],
            index=[10, 11, 12, 13, 14],
        )
    )
    assert df.index.tolist() == [10, 11, 12, 13, 14]
    assert df["n_gpus"].tolist()[:1] == [4.0] and math.isnan(df["n_gpus"].iloc[1])
    assert df["n_gpus"].tolist()[2:4] == [0.0, 2.0]
    assert df["gpu_type"].tolist()[:4] == ["a100", None, None, "t4"]
    assert df["invalid"].tolist() == [False, False, False, False, True]


def test_tres_repeated_values_are_parsed_once_and_spread_back():
    values = ["cpu=1,gres/gpu:t4=2"] * 6 + [None, "cpu=4", "bad", "cpu=4"] + ["gres/gpu=8"] * 4
    df = sv.parse_tres(pd.Series(values, index=range(100, 114)))
    assert df.index.tolist() == list(range(100, 114))
    assert df["n_gpus"].iloc[:6].tolist() == [2.0] * 6 and df["gpu_type"].iloc[0] == "t4"
    assert math.isnan(df["n_gpus"].iloc[6]) and not df["invalid"].iloc[6]
    assert df["cpu"].iloc[7] == 4 and df["n_gpus"].iloc[7] == 0.0
    assert df["invalid"].tolist() == [False] * 8 + [True] + [False] * 5
    assert df["n_gpus"].iloc[10:].tolist() == [8.0] * 4


@pytest.mark.parametrize(
    "text,n,gtype,invalid",
    [
        case("gpu:2", 2.0, None, False, id="untyped"),
        case("gpu:tesla:2", 2.0, "tesla", False, id="typed"),
        case("gpu:tesla:2(IDX:0-1),mic:1", 2.0, "tesla", False, id="with-index-and-other"),
        case("mic:1", 0.0, None, False, id="no-gpu"),
        case("gpu", None, None, True, id="no-count"),
    ],
)
def test_old_gres(text, n, gtype, invalid):
    row = sv.parse_gres(pd.Series([text])).iloc[0]
    assert bool(row["invalid"]) is invalid
    assert math.isnan(row["n_gpus"]) if n is None else row["n_gpus"] == n
    assert row["gpu_type"] == gtype


# ---------------------------------------------------------------- job ids


@pytest.mark.parametrize(
    "text,expected",
    [
        case(
            "123",
            {"alloc_id": "123", "base_id": "123", "is_step": False, "is_pending_array": False},
            id="plain",
        ),
        case("123.batch", {"alloc_id": "123", "step": "batch", "is_step": True}, id="batch"),
        case("123.extern", {"alloc_id": "123", "step": "extern", "is_step": True}, id="extern"),
        case(
            "123.interactive",
            {"alloc_id": "123", "step": "interactive", "is_step": True},
            id="interactive",
        ),
        case("123.0", {"alloc_id": "123", "step": "0", "is_step": True}, id="srun-step"),
        case("123.TBD", {"alloc_id": "123", "step": "TBD", "is_step": True}, id="pending-step"),
        case("123.4+1", {"alloc_id": "123", "step": "4+1", "is_step": True}, id="het-step"),
        case(
            "846_7",
            {"alloc_id": "846_7", "array_job_id": "846", "array_task_id": 7, "is_step": False},
            id="array-task",
        ),
        case(
            "846_7.batch",
            {"alloc_id": "846_7", "array_job_id": "846", "array_task_id": 7, "step": "batch"},
            id="array-task-step",
        ),
        case(
            "123_[5-10%2]",
            {"alloc_id": "123_[5-10%2]", "array_job_id": "123", "is_pending_array": True},
            id="pending-array-throttle",
        ),
        case(
            "3114519_[3,5,7,9]",
            {"alloc_id": "3114519_[3,5,7,9]", "array_job_id": "3114519", "is_pending_array": True},
            id="pending-array-list",
        ),
        case(
            "9_[0-100:2]",
            {"array_job_id": "9", "is_pending_array": True},
            id="pending-array-stride",
        ),
        case(
            "123_[1-3,5...]",
            {"alloc_id": "123_[1-3,5...]", "is_pending_array": True, "is_step": False},
            id="pending-array-cut-by-bitstr-len",
        ),
        case(
            "7700+1",
            {"alloc_id": "7700+1", "het_job_id": "7700", "het_offset": 1, "is_step": False},
            id="het-component",
        ),
        case(
            "7700+0.batch",
            {"alloc_id": "7700+0", "het_job_id": "7700", "het_offset": 0, "step": "batch"},
            id="het-component-step",
        ),
    ],
)
def test_job_id(text, expected):
    got = sv.job_id(text)
    for k, v in expected.items():
        assert got.get(k) == v, k


@pytest.mark.parametrize(
    "text",
    [
        case("abc", id="letters"),
        case("123.", id="dot-only"),
        case("123.foo", id="unknown-step"),
        case("123_", id="underscore-only"),
        case("_4", id="no-base"),
        case("123.ba+", id="cut-step-not-in-parsable"),
        case("JobID", id="header-word"),
    ],
)
def test_job_id_invalid(text):
    with pytest.raises(ParseError):
        sv.job_id(text)


@pytest.mark.parametrize(
    "text,alloc",
    [
        case("46630292.ba+", "46630292", id="batch-cut"),
        case("100000.exte+", "100000", id="extern-cut"),
        case("16325776_1.+", "16325776_1", id="array-task-step-cut-at-dot"),
        case("16352809.in+", "16352809", id="interactive-cut"),
    ],
)
def test_cut_step_ids_of_fixed_width_are_steps(text, alloc):
    got = sv.job_id(text, truncated=True)
    assert got["is_step"] and got["alloc_id"] == alloc


# ---------------------------------------------------------------- exit codes and states


@pytest.mark.parametrize(
    "text,expected",
    [
        case("0:0", (0, 0), id="ok"),
        case("1:0", (1, 0), id="exit-1"),
        case("0:15", (0, 15), id="sigterm"),
        case("0:125", (0, 125), id="oom-125"),
        case("", None, id="empty"),
    ],
)
def test_exit_code(text, expected):
    assert sv.exit_code(text) == expected


@pytest.mark.parametrize(
    "text", [case("0", id="no-colon"), case("a:b", id="letters"), case("1:2:3", id="three")]
)
def test_exit_code_invalid(text):
    with pytest.raises(ParseError):
        sv.exit_code(text)


@pytest.mark.parametrize(
    "text,state",
    [
        case("COMPLETED", "COMPLETED", id="completed"),
        case("CANCELLED by 32874", "CANCELLED", id="cancelled-by-uid"),
        case("CANCELLED by 0", "CANCELLED", id="cancelled-by-root"),
        case("CANCELLED+", "CANCELLED", id="fixed-width-cut"),
        case("OUT_OF_ME+", "OUT_OF_MEMORY", id="oom-cut"),
        case("NODE_FAIL", "NODE_FAIL", id="node-fail"),
        case("PENDING", "PENDING", id="pending"),
        case("REQUEUED", "REQUEUED", id="requeued"),
    ],
)
def test_state(text, state):
    p = sv.parse_state(pd.Series([text]))
    assert p.values.iloc[0] == state and not p.invalid.iloc[0]


@pytest.mark.parametrize(
    "text",
    [
        case("INVALID", id="invalid-word"),
        case("DONE", id="not-slurm"),
        case("C+", id="ambiguous-cut"),
    ],
)
def test_state_invalid(text):
    assert bool(sv.parse_state(pd.Series([text])).invalid.iloc[0])


def test_empty_values_are_null_never_zero_and_never_invalid():
    empty = pd.Series(["", None], dtype=object)
    for fn in (
        sv.parse_duration,
        sv.parse_timelimit,
        sv.parse_size,
        sv.parse_count,
        sv.parse_energy_raw,
        sv.parse_mem_request,
    ):
        p = fn(empty)
        assert not p.invalid.any(), fn.__name__
        assert p.values.isna().all(), fn.__name__
    assert not sv.parse_timestamp(empty).invalid.any()
    assert sv.parse_tres(empty)["n_gpus"].isna().all()


def test_results_keep_the_input_index():
    s = pd.Series(["00:01:00", "bad", ""], index=[7, 3, 9])
    p = sv.parse_duration(s)
    assert p.values.index.tolist() == [7, 3, 9]
    assert p.values.iloc[0] == 60.0 and np.isnan(p.values.iloc[2])
    assert p.invalid.tolist() == [False, True, False]
