"""The job-table schema: documented, conformed, validated."""

from __future__ import annotations

import pandas as pd
import pytest

from rdcost.jobtable import schema
from tests.conftest import REPO


def test_docs_job_table_is_generated_from_the_schema():
    assert (REPO / "docs" / "job-table.md").read_text() == schema.markdown_doc(), (
        "run: python -m rdcost.jobtable.schema > docs/job-table.md"
    )


@pytest.mark.parametrize("col", schema.COLUMNS, ids=lambda c: c.name)
def test_every_quantity_column_names_its_unit(col):
    import pyarrow as pa

    if pa.types.is_floating(col.type) and not col.name.startswith("n_"):
        assert col.name.rsplit("_", 1)[-1] in {
            "s",
            "j",
            "bytes",
            "usd",
            "kwh",
            "kg",
            "w",
            "percent",
        }, col.name
    if pa.types.is_timestamp(col.type):
        assert col.name.endswith("_time")
    if pa.types.is_boolean(col.type):
        assert col.name.startswith("is_")


def test_conform_adds_missing_columns_as_null_not_zero():
    df = schema.conform(pd.DataFrame({"record_key": ["k"], "job_id": ["1"]}))
    assert list(df.columns) == list(schema.COLUMN_NAMES)
    assert df["n_gpus"].isna().all() and df["elapsed_s"].isna().all()
    assert df["n_cpus"].isna().all() and df["state"].isna().all()


def test_conform_refuses_unknown_columns():
    with pytest.raises(schema.SchemaError, match="not in the job schema"):
        schema.conform(pd.DataFrame({"record_key": ["k"], "gpus": [1]}))


def test_conform_refuses_text_in_a_number_column():
    with pytest.raises(schema.SchemaError, match="n_cpus"):
        schema.conform(pd.DataFrame({"record_key": ["k"], "n_cpus": ["four"]}))


def test_naive_times_are_taken_as_utc():
    df = schema.conform(
        pd.DataFrame({"record_key": ["k"], "start_time": [pd.Timestamp("2024-03-01 12:00")]})
    )
    assert df.loc[0, "start_time"] == pd.Timestamp("2024-03-01 12:00", tz="UTC")


def test_validate_finds_broken_invariants():
    df = schema.conform(
        pd.DataFrame(
            {
                "record_key": ["a", "a"],
                "state": ["DONE", "COMPLETED"],
                "elapsed_s": [-1.0, 2.0],
                "start_time": pd.to_datetime(["2024-01-02", "2024-01-01"], utc=True),
                "end_time": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
            }
        )
    )
    problems = " | ".join(schema.validate(df))
    for expected in (
        "not unique",
        "unknown normalized states",
        "elapsed_s has negative",
        "end_time before start_time",
    ):
        assert expected in problems
    assert schema.validate(schema.conform(pd.DataFrame({"record_key": ["x"]}))) == []
