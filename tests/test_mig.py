"""MIG slices are their share of the parent GPU in GPU-hours, cost and energy, in
memory and on the store alike, and the data-quality section says so."""

from __future__ import annotations

import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.mig import mig_shares
from rdcost.analysis.summary import summarize
from rdcost.jobtable.schema import conform
from tests.test_summary import job

PAPER = A.load(["paper"])


@pytest.mark.parametrize(
    "gpu_type, share",
    [("a100_1g.10gb", 1 / 7), ("3g.40gb", 3 / 7), ("a100l.2", 2 / 7), ("a100", 1.0), ("k80", 1.0)],
)
def test_shares(gpu_type, share):
    assert mig_shares(pd.Series([gpu_type]))[0] == pytest.approx(share)


def frame(gpu_type: str, n: float) -> pd.DataFrame:
    return conform(pd.DataFrame([job("m", "COMPLETED", 0, 7, n, gpu_type)]))


def test_a_slice_is_its_share_of_the_parent_gpu():
    whole = summarize(frame("a100", 1), PAPER)
    sliced = summarize(frame("a100_1g.10gb", 2), PAPER)  # two 1g slices for 7 hours
    assert whole.gpu_hours == pytest.approx(7.0)
    assert sliced.gpu_hours == pytest.approx(2.0)  # 2 x 1/7 x 7 h
    assert sliced.cloud_usd_high == pytest.approx(whole.cloud_usd_high * 2 / 7)
    assert sliced.energy_kwh == pytest.approx(whole.energy_kwh * 2 / 7)
    items = {d["item"]: d for d in sliced.data_quality}
    assert items["MIG slices"]["n_jobs"] == 1
    assert "MIG slices" not in {d["item"] for d in whole.data_quality}
