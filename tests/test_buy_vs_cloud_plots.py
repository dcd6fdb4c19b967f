"""Plots of compare-buy-vs-cloud: files written by suffix, with title and labels.

The tests open the written files (headers, size, the SVG's text), never pixels.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from rdcost.analysis import assumptions as assumptions_mod
from rdcost.analysis import buy_vs_cloud as bvc
from rdcost.errors import UsageError
from rdcost.jobtable.schema import conform
from rdcost.output.plots import KINDS, get_plot

T0 = pd.Timestamp("2019-03-01", tz="UTC")


def _jobs():
    rows = []
    for i in range(30):  # one-GPU jobs of 10 h, three submitted every 5 hours
        s = T0 + pd.Timedelta(hours=5 * (i // 3))
        rows.append(
            dict(
                record_key=f"k{i}",
                submit_time=s,
                start_time=s,
                end_time=s + pd.Timedelta(hours=10),
                elapsed_s=36_000.0,
                n_gpus=1.0 + (i % 2),
                gpu_type="v100",
                state="COMPLETED",
            )
        )
    return conform(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def report():
    a = assumptions_mod.apply_dict(
        assumptions_mod.Assumptions(),
        {
            "prices": {"v100_sxm2": {"usd_per_gpu_hour_low": 0.74, "usd_per_gpu_hour_high": 2.48}},
            "pue": {"value": 1.1},
            "electricity": {"usd_per_kwh": 0.08},
        },
        "test",
    )
    owned = bvc.OwnedSpec().merged(
        {"server_price_usd": 400, "gpus_per_server": 1, "hosting_usd_per_kw_month": 0}, "test"
    )
    return bvc.compare_jobs(_jobs(), a, owned, sizes=[2, 4, 6, 8], project="demo")


def test_kinds_are_registered():
    assert KINDS["buy-vs-cloud-cumulative"] == "buy_vs_cloud:cumulative"
    assert KINDS["sizing"] == "buy_vs_cloud:sizing"


@pytest.mark.parametrize("kind", ["buy-vs-cloud-cumulative", "sizing"])
def test_png(report, kind, tmp_path):
    p = get_plot(kind)(report, tmp_path / "sub" / f"{kind}.png")
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


# 15 one-GPU and 15 two-GPU jobs of 10 h = 450 GPU-hours; span 0-55 h:
# 450 / 55 = 8.2 GPUs on average -> 8 bought.
@pytest.mark.parametrize(
    "kind,title",
    [
        ("buy-vs-cloud-cumulative", "Renting vs buying 8 GPUs"),
        ("sizing", "Sizing an owned cluster by replaying the jobs"),
    ],
)
def test_svg_has_title_and_axis_labels(report, kind, title, tmp_path):
    text = get_plot(kind)(report, tmp_path / f"{kind}.svg").read_text()
    assert text.lstrip().startswith("<?xml")
    assert title in text and "project demo" in text
    if kind == "sizing":
        for label in (
            "GPUs owned",
            "project duration (days)",
            "wait before start (hours)",
            "cost (USD)",
        ):
            assert label in text
    else:
        for label in (
            "cumulative cost (USD)",
            "time since the first job started (months)",
            "break-even vs",
        ):
            assert label in text


def test_pdf(report, tmp_path):
    assert get_plot("sizing")(report, tmp_path / "s.pdf").read_bytes()[:5] == b"%PDF-"


def test_unknown_suffix_and_missing_sizing_are_refused(report, tmp_path):
    with pytest.raises(UsageError):
        get_plot("sizing")(report, tmp_path / "s.jpg")
    no_sizing = bvc.Report(**{**report.__dict__, "sizing": None})
    with pytest.raises(UsageError, match="--sizing"):
        get_plot("sizing")(no_sizing, tmp_path / "s.png")


def test_only_the_plots_import_matplotlib():
    code = (
        "import sys, rdcost.cli, rdcost.analysis.buy_vs_cloud, rdcost.analysis.replay; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
