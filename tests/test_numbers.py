"""rdcost.output.numbers: the one formatter of counts, quantities, money, shares and ranges."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rdcost.output import numbers as n

UNKNOWNS = [None, float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT]

CASES = [
    # (id, function, arguments, expected)
    ("count", n.integer, (4789,), "4,789"),
    ("count-float-rounds", n.integer, (23.6,), "24"),
    ("count-numpy", n.integer, (np.int64(1_000_000),), "1,000,000"),
    ("number-int", n.number, (4789,), "4,789"),
    ("number-numpy-int", n.number, (np.int32(12),), "12"),
    ("number-large", n.number, (239_942.4,), "239,942"),
    ("number-100", n.number, (100.0,), "100"),
    ("number-tens", n.number, (58.14,), "58.1"),
    ("number-units", n.number, (3.0166,), "3.02"),
    ("number-hundredths", n.number, (0.0123,), "0.01"),
    ("number-tiny", n.number, (0.001234,), "0.00123"),
    ("number-zero", n.number, (0.0,), "0"),
    ("number-negative", n.number, (-58.14,), "-58.1"),
    ("number-numpy-float", n.number, (np.float64(9.0),), "9.00"),
    ("fixed", n.fixed, (1415.78, 2), "1,415.78"),
    ("fixed-0", n.fixed, (171.6, 0), "172"),
    ("trimmed", n.trimmed, (12041.51,), "12,041.51"),
    ("trimmed-whole", n.trimmed, (3200.0,), "3,200"),
    ("trimmed-rounds", n.trimmed, (1415.7849,), "1,415.78"),
    ("significant", n.significant, (0.432734, 4), "0.4327"),
    ("metric", n.metric, (86.3456, 4), "86.35"),
    ("metric-large", n.metric, (12345.6,), "12,346"),
    ("given", n.given, (1.58,), "1.58"),
    ("given-whole", n.given, (8.0,), "8"),
    ("given-grouped", n.given, (20000.0,), "20000"),
    ("usd-whole", n.usd, (103_175.4,), "$103,175"),
    ("usd-ten", n.usd, (10.0,), "$10"),
    ("usd-cents-below-ten", n.usd, (4.94,), "$4.94"),
    ("usd-cents", n.usd, (0.43,), "$0.43"),
    ("usd-zero", n.usd, (0,), "$0"),
    ("usd-zero-float", n.usd, (0.0,), "$0"),
    ("usd-negative", n.usd, (-1234.0,), "-$1,234"),
    ("usd-negative-cents", n.usd, (-0.5,), "-$0.50"),
    ("usd-rate", n.usd_rate, (0.0692,), "$0.0692"),
    ("usd-range", n.usd_range, (51.6, 175.2), "$52 - $175"),
    ("usd-range-small", n.usd_range, (2.5, 9.99), "$2.50 - $9.99"),
    ("usd-short-millions", n.usd_short, (1_234_567,), "$1.2M"),
    ("usd-short-thousands", n.usd_short, (145_000,), "$145k"),
    ("usd-short-dollars", n.usd_short, (900,), "$900"),
    ("pct", n.pct, (0.1234,), "12.3%"),
    ("pct-0-decimals", n.pct, (0.72, 0), "72%"),
    ("pct-one", n.pct, (1.0,), "100.0%"),
    ("ratio", n.ratio, (0.41427,), "0.41"),
    ("months", n.months, (3.84,), "3.8 months"),
    ("months-never", n.months, (None,), "never"),
    ("data-float", n.data_value, (4917.5432,), "4,917.54"),
    ("data-huge-float", n.data_value, (1e16,), "1e+16"),
    ("data-int", n.data_value, (np.int64(3),), "3"),
    ("data-text", n.data_value, ("lisa",), "lisa"),
    ("data-bool", n.data_value, (np.bool_(True),), "True"),
    (
        "data-time",
        n.data_value,
        (pd.Timestamp("2018-01-02 03:04:05", tz="UTC"),),
        "2018-01-02T03:04:05Z",
    ),
]


@pytest.mark.parametrize("fn,args,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_format(fn, args, expected):
    assert fn(*args) == expected


def test_grouped_given_value():
    assert n.given(20000.0, grouped=True) == "20,000"


UNKNOWN_FUNCTIONS = [
    n.integer,
    n.number,
    n.usd,
    n.usd_rate,
    n.usd_short,
    n.pct,
    n.ratio,
    lambda v: n.fixed(v, 2),
    lambda v: n.significant(v, 3),
    n.given,
    n.trimmed,
]


@pytest.mark.parametrize(
    "value", UNKNOWNS, ids=["None", "nan", "np.nan", "float32-nan", "NA", "NaT"]
)
@pytest.mark.parametrize(
    "fn",
    UNKNOWN_FUNCTIONS,
    ids=[
        "integer",
        "number",
        "usd",
        "usd_rate",
        "usd_short",
        "pct",
        "ratio",
        "fixed",
        "significant",
        "given",
        "trimmed",
    ],
)
def test_unknown_values_print_unknown(fn, value):
    assert fn(value) == "unknown"


@pytest.mark.parametrize(
    "value", UNKNOWNS, ids=["None", "nan", "np.nan", "float32-nan", "NA", "NaT"]
)
def test_unknown_ends_make_an_unknown_range_and_empty_cells_where_asked(value):
    assert n.usd_range(value, 5.0) == n.usd_range(5.0, value) == "unknown"
    assert n.metric(value) == "" and n.data_value(value) == ""
    assert n.pct(value, missing="") == "" and n.significant(value, 3, missing="") == ""


@pytest.mark.parametrize("v", [0.004, 0.43, 1.0, 9.994, 9.996, 10.0, 999.5, 12_345.678, 1e9])
def test_one_rule_for_dollars(v):
    """Whole dollars from $10, cents below; never nan/None; a range uses the same rule."""
    text = n.usd(v)
    assert text.startswith("$") and "nan" not in text and "None" not in text
    if v >= n.WHOLE_DOLLARS_FROM:
        assert "." not in text
    else:
        assert text.split(".")[1].isdigit() and len(text.split(".")[1]) == 2
    assert n.usd_range(v, v) == f"{text} - {text}"


def test_is_unknown_is_false_for_numbers_and_text():
    for v in (0, 0.0, -1.5, math.inf, "", "nan", np.int64(0)):
        assert not n.is_unknown(v), v
