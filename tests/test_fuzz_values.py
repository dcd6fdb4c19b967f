"""Property tests of every value grammar: sacct text (durations, time limits,
timestamps, sizes, memory requests, counts, energy, TRES, GRES, job ids,
exit codes, states) and run exports (durations, times, JSON cells, job ids,
states).

For any text, a vectorized grammar returns one value and one verdict per
cell, on the input's index, and never raises: a cell is either read, or
empty/unknown (null, not invalid), or refused (null and invalid, so the
record is rejected with a reason). Texts drawn from the grammar read back to
the value they were made from. The scalar helpers raise ParseError (an
RdcostError) for what the grammar refuses, and nothing else.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdcost.errors import ParseError, RdcostError
from rdcost.jobtable.schema import STATES
from rdcost.readers import delimited as rv
from rdcost.readers.slurm import grammar as sv
from rdcost.readers.states import normalize_run_state, normalize_slurm_state
from tests.strategies import (
    TRICKY_CELLS,
    exit_codes,
    fuzz_settings,
    iso_times,
    job_ids,
    noise_text,
    run_durations,
    sacct_durations,
    sacct_sizes,
    sacct_timestamps,
    slurm_states,
    text_series,
    tres_strings,
)

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]


def _empty(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(object).map(lambda v: v == "" if isinstance(v, str) else False))


def _check_parsed(s: pd.Series, p: sv.Parsed) -> None:
    """One value and one verdict per cell, on the input's index; empty cells are
    null and valid; a refused cell has no value."""
    assert len(p.values) == len(s) and len(p.invalid) == len(s)
    assert list(p.values.index) == list(s.index) and list(p.invalid.index) == list(s.index)
    assert p.invalid.dtype == bool
    empty = _empty(s).to_numpy(dtype=bool)
    assert not p.invalid.to_numpy()[empty].any()
    assert p.values.isna().to_numpy()[empty].all()
    assert p.values.isna().to_numpy()[p.invalid.to_numpy()].all()


# (name, function) of every vectorized sacct grammar returning Parsed
PARSED_GRAMMARS = [
    ("duration", sv.parse_duration),
    ("timelimit", sv.parse_timelimit),
    ("timelimit_raw", sv.parse_timelimit_raw),
    ("size", sv.parse_size),
    ("mem_request", sv.parse_mem_request),
    ("count", sv.parse_count),
    ("scaled_count", sv.parse_scaled_count),
    ("energy_raw", sv.parse_energy_raw),
    ("energy", sv.parse_energy),
    ("state", sv.parse_state),
]


@pytest.mark.parametrize("name,fn", PARSED_GRAMMARS, ids=[n for n, _ in PARSED_GRAMMARS])
@fuzz_settings(60)
@given(s=text_series(noise_text()))
def test_sacct_grammar_never_raises_and_gives_one_verdict_per_cell(name, fn, s):
    p = fn(s)
    _check_parsed(s, p)
    if name != "state":
        v = pd.to_numeric(p.values, errors="coerce").astype(float)
        assert (v.dropna() >= 0).all(), "no grammar reads a negative quantity"


@fuzz_settings(60)
@given(s=text_series(noise_text()), tz=st.sampled_from(ZONES))
def test_sacct_timestamps_never_raise(s, tz):
    p = sv.parse_timestamp(s, tz)
    _check_parsed(s, p)
    assert str(p.values.dtype) == "datetime64[us, UTC]"


@fuzz_settings(60)
@given(s=text_series(noise_text()))
def test_sacct_tres_gres_job_id_and_exit_code_never_raise(s):
    for frame in (
        sv.parse_tres(s),
        sv.parse_gres(s),
        sv.parse_job_id(s),
        sv.parse_job_id(s, truncated=True),
        sv.parse_exit_code(s),
    ):
        assert list(frame.index) == list(s.index)
        inv = frame["invalid"].to_numpy(dtype=bool)
        assert not inv[_empty(s).to_numpy(dtype=bool)].any()
    tres = sv.parse_tres(s)
    bad = tres["invalid"].to_numpy(dtype=bool)
    assert tres["n_gpus"].isna().to_numpy()[bad].all()
    assert (tres["n_gpus"].dropna() >= 0).all()


@fuzz_settings(60)
@given(text=noise_text())
def test_sacct_scalar_helpers_raise_only_parse_errors(text):
    for fn in (
        sv.duration_s,
        sv.timelimit_s,
        sv.timestamp_utc,
        sv.size_bytes,
        sv.mem_request_bytes,
        sv.tres,
        sv.job_id,
        sv.exit_code,
    ):
        try:
            fn(text)
        except ParseError as exc:
            assert isinstance(exc, RdcostError) and exc.expected
            assert str(exc)  # the message renders


@fuzz_settings(80)
@given(st.lists(sacct_durations(), min_size=1, max_size=10))
def test_sacct_durations_read_back(cases):
    s = pd.Series([t for t, _ in cases], dtype=object)
    p = sv.parse_duration(s)
    assert not p.invalid.any()
    np.testing.assert_allclose(p.values.to_numpy(), [v for _, v in cases], rtol=0, atol=1e-6)


@fuzz_settings(80)
@given(st.lists(sacct_sizes(), min_size=1, max_size=10))
def test_sacct_sizes_read_back(cases):
    p = sv.parse_size(pd.Series([t for t, _ in cases], dtype=object))
    assert not p.invalid.any()
    assert p.values.tolist() == [v for _, v in cases]


@fuzz_settings(60)
@given(st.lists(sacct_timestamps(), min_size=1, max_size=10))
def test_sacct_timestamps_read_back(cases):
    p = sv.parse_timestamp(pd.Series([t for t, _ in cases], dtype=object), "UTC")
    assert not p.invalid.any()
    assert list(p.values) == [v for _, v in cases]


@fuzz_settings(80)
@given(st.lists(job_ids(), min_size=1, max_size=10))
def test_job_ids_read_back(cases):
    frame = sv.parse_job_id(pd.Series([t for t, _ in cases], dtype=object))
    assert not frame["invalid"].any()
    for (_, want), (_, row) in zip(cases, frame.iterrows(), strict=True):
        for key, value in want.items():
            got = row[key]
            assert (got.item() if hasattr(got, "item") else got) == value, (key, row)


@fuzz_settings(80)
@given(st.lists(tres_strings(), min_size=1, max_size=10))
def test_tres_gpu_rule(cases):
    frame = sv.parse_tres(pd.Series([t for t, _ in cases], dtype=object))
    assert not frame["invalid"].any()
    assert frame["n_gpus"].tolist() == [n for _, n in cases]


@fuzz_settings(60)
@given(st.lists(st.tuples(slurm_states(), exit_codes()), min_size=1, max_size=10))
def test_states_and_exit_codes_read_back(cases):
    states = sv.parse_state(pd.Series([s for (s, _), _ in cases], dtype=object))
    assert not states.invalid.any()
    assert states.values.tolist() == [b for (_, b), _ in cases]
    codes = sv.parse_exit_code(pd.Series([t for _, (t, _) in cases], dtype=object))
    assert list(zip(codes["status"], codes["signal"], strict=True)) == [v for _, (_, v) in cases]


@fuzz_settings(100)
@given(text=st.one_of(noise_text(), st.sampled_from(TRICKY_CELLS)))
def test_state_normalizers_return_a_schema_state_or_none(text):
    for fn in (normalize_slurm_state, normalize_run_state):
        got = fn(text)
        assert got is None or got in STATES


# ---------------------------------------------------------------- run exports


@fuzz_settings(60)
@given(s=text_series(noise_text()))
def test_run_durations_never_raise(s):
    out, reason = rv.parse_duration_s(s)
    assert list(out.index) == list(s.index) and list(reason.index) == list(s.index)
    assert out[reason.notna()].isna().all()
    finite = out.dropna()
    assert np.isfinite(finite).all() and (finite >= 0).all()
    assert reason[rv.is_missing(s)].isna().all()


@fuzz_settings(80)
@given(st.lists(run_durations(), min_size=1, max_size=10))
def test_run_durations_read_back(cases):
    out, reason = rv.parse_duration_s(pd.Series([t for t, _ in cases], dtype=object))
    assert reason.isna().all(), reason.dropna().tolist()
    np.testing.assert_allclose(out.to_numpy(), [v for _, v in cases])


@fuzz_settings(40)
@given(
    s=text_series(noise_text(), max_size=8),
    tz=st.sampled_from(ZONES),
    dayfirst=st.sampled_from([None, True, False]),
    free_form=st.booleans(),
    epoch=st.booleans(),
)
def test_run_times_never_raise(s, tz, dayfirst, free_form, epoch):
    out, reason = rv.parse_times(s, tz, dayfirst, free_form=free_form, epoch=epoch)
    assert list(out.index) == list(s.index)
    assert str(out.dtype) == "datetime64[us, UTC]"
    assert out[reason.notna()].isna().all()
    assert reason[rv.is_missing(s)].isna().all()


@fuzz_settings(60)
@given(st.lists(iso_times(), min_size=1, max_size=10))
def test_iso_times_read_back(cases):
    out, reason = rv.parse_times(pd.Series([t for t, _ in cases], dtype=object), "UTC")
    assert reason.isna().all(), reason.dropna().tolist()
    assert list(out) == [v for _, v in cases]


@fuzz_settings(60)
@given(
    rows=st.lists(st.lists(st.one_of(noise_text(), st.none()), min_size=3, max_size=3), max_size=6),
    keys=st.lists(noise_text(12), min_size=3, max_size=3),
    mode=st.sampled_from(["json", "python"]),
)
def test_cells_become_strict_json_objects(rows, keys, mode):
    cells = (
        pd.DataFrame(rows, columns=range(3), dtype=object)
        if rows
        else pd.DataFrame({i: pd.Series([], dtype=object) for i in range(3)})
    )
    objs = rv.json_objects(cells, keys, mode)
    assert list(objs.index) == list(cells.index)
    for text in objs.dropna():
        value = json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
        assert isinstance(value, dict)


@fuzz_settings(100)
@given(text=noise_text(60), mode=st.sampled_from(["json", "python"]))
def test_literal_is_strict_json_or_refused(text, mode):
    got = rv.literal_json(text, mode)
    if got is not None:
        json.loads(got, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))


@fuzz_settings(60)
@given(s=text_series(noise_text()))
def test_slurm_job_ids_from_run_exports(s):
    ids = rv.slurm_job_ids(s)
    assert list(ids.index) == list(s.index)
    for v in ids.dropna():
        assert isinstance(v, str) and v[0].isdigit()


def test_tricky_cells_have_no_surrogates():
    """The strategies only make text that can be written to a UTF-8 file."""
    for c in TRICKY_CELLS:
        c.encode("utf-8")
    assert not any(isinstance(c, float) and math.isnan(c) for c in TRICKY_CELLS)


# ---------------------------------------------------------------- regressions found by fuzzing


@pytest.mark.parametrize(
    "fn,text",
    [
        pytest.param(sv.parse_size, "9999999999999999999", id="size-over-int64"),
        pytest.param(sv.parse_size, "8192P", id="size-8EiB"),
        pytest.param(sv.parse_scaled_count, "9999999999999999999", id="scaled-count-over-int64"),
        pytest.param(sv.parse_mem_request, "99999999999999999999Mc", id="mem-request-over-int64"),
    ],
)
def test_quantities_too_large_for_int64_are_refused_not_wrapped_negative(fn, text):
    p = fn(pd.Series([text], dtype=object))
    assert bool(p.invalid.iloc[0]) and pd.isna(p.values.iloc[0])


@pytest.mark.parametrize("text", ["cpu=99999999999999999999", "gres/gpu:a100=99999999999999999999"])
def test_tres_counts_too_large_for_int64_are_refused(text):
    row = sv.parse_tres(pd.Series([text], dtype=object)).iloc[0]
    assert row["invalid"] and pd.isna(row["cpu"]) and pd.isna(row["n_gpus"])


@pytest.mark.parametrize("text", ["123_99999999999999999999", "123+99999999999999999999"])
def test_job_id_parts_too_large_for_int64_are_refused(text):
    assert sv.parse_job_id(pd.Series([text], dtype=object))["invalid"].iloc[0]


def test_exit_code_too_large_for_int64_is_refused():
    assert sv.parse_exit_code(pd.Series(["99999999999999999999:0"], dtype=object))["invalid"].iloc[
        0
    ]


def test_states_and_offset_times_keep_their_index():
    """A Series not indexed 0..n-1 (a slice of a bigger frame) reads the same."""
    s = pd.Series(["COMPLETED", "CANCELLED by 0", "bogus"], index=[7, 3, 11], dtype=object)
    p = sv.parse_state(s)
    assert p.values.tolist() == ["COMPLETED", "CANCELLED", None]
    assert p.invalid.tolist() == [False, False, True]
    t = sv.parse_timestamp(pd.Series(["2024-01-01T10:00:00+02:00"], index=[5], dtype=object))
    assert t.values.iloc[0] == pd.Timestamp("2024-01-01T08:00:00Z") and not t.invalid.iloc[0]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_year_9999_is_refused_in_every_zone(tz):
    p = sv.parse_timestamp(pd.Series(["9999-12-31T23:59:59"], dtype=object), tz)
    assert p.invalid.iloc[0]
    out, reason = rv.parse_times(
        pd.Series(["9999-12-31T23:59:59", "31/12/9999 23:59"], dtype=object),
        tz,
        dayfirst=True,
        free_form=True,
    )
    assert out.isna().all() and (reason == "not a valid date").all()


@fuzz_settings(100)
@given(
    rows=st.lists(
        st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=3, max_size=3), max_size=8
    )
)
def test_join_columns_matches_a_plain_python_join(rows):
    """pyarrow 26 drops the rows in which every piece is null; the join must not."""
    cols = [pd.Series([r[i] for r in rows], dtype=object) for i in range(3)]
    got = rv.join_columns(cols, "|", pd.RangeIndex(len(rows)))
    want = [
        "|".join(v for v in r if v is not None) if any(v is not None for v in r) else None
        for r in rows
    ]
    assert [None if v is pd.NA else v for v in got] == want
