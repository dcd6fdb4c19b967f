"""Case-study plots: every kind from the sample logs, opened and read back (text, metadata), not pixels."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import rdcost
from rdcost.analysis.assumptions import load, override_all_power, override_all_prices
from rdcost.analysis.buy_vs_cloud import load_owned
from rdcost.analysis.project import analyze_project
from rdcost.cli import main
from rdcost.errors import UsageError
from rdcost.jobtable.schema import conform
from rdcost.output.plots import KINDS, draw, plot_kinds
from rdcost.output.plots.case_study import OKABE_ITO
from rdcost.output.plots.time_series import accrued

LISA = Path(__file__).resolve().parents[1] / "sample_logs" / "lisa"
CASE_STUDY_KINDS = ["gpus-in-use", "cumulative", "job-lengths", "grid-searches", "rd-cost", "waste"]
#: Per kind: text every rendering must contain (axis labels with units, key figures of the sample).
EXPECTED = {
    "gpus-in-use": [
        "GPUs in use (daily mean, GPUs)",
        "date (UTC)",
        "mean over the span: 58.1 GPUs",
        "titanx (72% of GPU-hours)",
        "m40 (28% of GPU-hours)",
    ],
    "cumulative": [
        "GPU time (GPU-days)",
        "cost (USD)",
        "CO2e (kg)",
        "CO2e (lbs)",
        "date (UTC)",
        "9,998 GPU-days (239,942 GPU-hours)",
        "$350,315",
        "$103,175",
    ],
    "job-lengths": [
        "job length, log scale (s = seconds, min = minutes, h = hours, d = days)",
        "jobs (per length bin)",
        "crash threshold: 5 min",
        "4,789 jobs of known length, of 4,789 started",
    ],
    "grid-searches": [
        "GPU-days per search",
        "GPU time of the search (GPU-days)",
        "123 searches of known GPU time",
        "rank of the search by GPU time (1 = largest)",
        "cumulative share (%)",
    ],
    "rd-cost": [
        "cost (USD, log scale)",
        "$52 - $175",
        "$1,238 - $4,205",
        "$103,175 - $350,315",
        "1 job\n120 GPU-hours",
        "24 jobs\n2,880 GPU-hours",
        "4,789 jobs\n239,942 GPU-hours",
    ],
    "waste": [
        "GPU time (GPU-hours)",
        "jobs",
        "crashed",
        "cancelled",
        "timed out",
        "(TIMEOUT, DEADLINE)",
    ],
}
#: The assumptions that must stand beside every cost or CO2e figure (paper preset).
ASSUMPTIONS = [
    "$0.43-$1.46 per GPU-hour",
    "217 W per GPU",
    "PUE 1.58",
    "0.4327 kg CO2e/kWh (US, 2018)",
    "electricity $0.12/kWh",
]
COST_KINDS = {"cumulative", "rd-cost", "waste"}


@pytest.fixture(scope="session")
def lisa_ctx(tmp_path_factory):
    store = tmp_path_factory.mktemp("lisa") / "store"
    rdcost.ingest([LISA / "sacct.txt", LISA / "wandb_runs.csv"], store=store, project="lisa")
    st = rdcost.open_store(store)
    ctx = analyze_project(
        st.read_jobs(project="lisa"),
        load(["paper"]),
        project="lisa",
        owned=load_owned(["paper"]),
        inputs=st.inputs(),
    )
    ctx.store_path = store  # for the CLI tests
    return ctx


def svg_text(path: Path) -> str:
    """All text of an SVG (title, desc and every <text>), one piece per line."""
    root = ET.parse(path).getroot()
    return "\n".join(t.strip() for el in root.iter() for t in [el.text or ""] if t.strip())


def svg_colours(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {c.lower() for c in re.findall(r"(?:fill|stroke)\s*[:=]\s*\"?(#[0-9a-fA-F]{6})", text)}


@pytest.mark.parametrize("kind", CASE_STUDY_KINDS)
def test_svg_has_labels_units_and_figures(lisa_ctx, tmp_path, kind):
    out = draw(kind, lisa_ctx, tmp_path / f"{kind}.svg")
    text = svg_text(out)
    root = ET.parse(out).getroot()
    title = root.find("{http://www.w3.org/2000/svg}title").text
    assert "project lisa" in title
    sm = lisa_ctx.summary
    derived = {  # figures of the sample that are not the paper's: taken from the summary
        "job-lengths": [
            f"{sm.n_crashed_jobs:,} jobs shorter (crashed)",
            f"COMPLETED ({sm.jobs_by_state['COMPLETED']:,} jobs)",
        ],
        "waste": [
            f"{100 * sm.waste['share_of_gpu_hours']:.1f}% of GPU-hours",
            f"total {sm.waste['total']['n_jobs']:,} jobs",
        ],
        "grid-searches": [f"{sm.n_jobs_in_grid_searches:,} jobs"],
    }
    for s in EXPECTED[kind] + derived.get(kind, []):
        assert s in text, f"{kind}: {s!r} not in the SVG"
    if kind in COST_KINDS:
        for s in ASSUMPTIONS:
            assert s in text.replace("\n", " "), f"{kind}: assumption {s!r} not stated"


@pytest.mark.parametrize("kind", CASE_STUDY_KINDS)
def test_colours_are_colour_blind_safe(lisa_ctx, tmp_path, kind):
    out = draw(kind, lisa_ctx, tmp_path / f"{kind}.svg")
    allowed = {c.lower() for c in OKABE_ITO.values()}
    coloured = set()
    for c in svg_colours(out):
        r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
        if not (r == g == b):  # greys (text, grid, white edges) are fine in any palette
            coloured.add(c)
    assert coloured, "no coloured series found"
    assert coloured <= allowed, f"colours outside Okabe-Ito: {sorted(coloured - allowed)}"


@pytest.mark.parametrize("kind", CASE_STUDY_KINDS)
def test_png_and_pdf_carry_title_and_assumptions(lisa_ctx, tmp_path, kind):
    png = draw(kind, lisa_ctx, tmp_path / f"{kind}.png")
    with Image.open(png) as im:
        assert im.format == "PNG"
        assert im.size[0] >= 900 and im.size[1] >= 400
        assert "project lisa" in im.text["Title"]
        assert im.text["Software"].startswith("rdcost ")
        if kind in COST_KINDS:
            assert "PUE 1.58" in im.text["Description"]
    pdf = draw(kind, lisa_ctx, tmp_path / f"{kind}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert b"/Title (" in pdf and b"project lisa" in pdf


def test_cumulative_ends_at_the_summary_totals(lisa_ctx, tmp_path):
    s = lisa_ctx.summary
    text = svg_text(draw("cumulative", lisa_ctx, tmp_path / "c.svg"))
    assert f"${s.cloud_usd_high:,.0f}" in text and f"${s.cloud_usd_low:,.0f}" in text
    assert f"{s.co2e_kg:,.0f} kg" in text


def test_bad_suffix_is_a_usage_error(lisa_ctx, tmp_path):
    with pytest.raises(UsageError, match="must end in"):
        draw("waste", lisa_ctx, tmp_path / "waste.jpg")
    assert not (tmp_path / "waste.jpg").exists()


def test_every_kind_is_registered_and_described():
    kinds = plot_kinds()
    assert set(CASE_STUDY_KINDS) <= set(kinds)
    assert set(kinds) == set(KINDS)
    assert all(d and "\n" not in d for d in kinds.values())


# -- small hand-made job tables ------------------------------------------------------


def _jobs(rows: list[dict]) -> pd.DataFrame:
    base = {
        "source": "csv",
        "project": "t",
        "state": "COMPLETED",
        "n_gpus": 1.0,
        "gpu_type": "v100",
        "user": "u",
    }
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["record_key"] = [f"k{i}" for i in range(len(df))]
    for c in ("start_time", "end_time"):
        df[c] = pd.to_datetime(df[c], utc=True)
    df["elapsed_s"] = (df["end_time"] - df["start_time"]).dt.total_seconds()
    return conform(df)


def test_no_searches_and_unknown_cost_are_said_not_drawn_as_zero(tmp_path):
    jobs = _jobs(
        [
            {
                "job_id": "1",
                "job_name": "a",
                "gpu_type": "mystery-gpu",
                "start_time": "2020-01-01T00:00Z",
                "end_time": "2020-01-01T10:00Z",
            },
            {
                "job_id": "2",
                "job_name": "b",
                "gpu_type": "mystery-gpu",
                "start_time": "2020-01-02T00:00Z",
                "end_time": "2020-01-02T05:00Z",
            },
        ]
    )
    ctx = analyze_project(jobs, load([]), project="t", on_missing="unknown")
    text = svg_text(draw("grid-searches", ctx, tmp_path / "g.svg"))
    assert "no grid searches found" in text
    text = svg_text(draw("cumulative", ctx, tmp_path / "c.svg"))
    assert "unknown (no price or power for some GPU type)" in text
    assert "CO2e unknown" in text
    assert "cloud, high (on-demand)" not in text  # no cost line drawn from the unknown prices
    assert "cloud, low (pre-emptible)" not in text
    text = svg_text(draw("rd-cost", ctx, tmp_path / "r.svg"))
    assert "cost unknown" in text


def test_gpus_in_use_integrates_to_the_gpu_hours(tmp_path):
    # 2 GPUs for 10 h, then 4 GPUs for 5 h overlapping: 40 GPU-hours
    jobs = _jobs(
        [
            {
                "job_id": "1",
                "job_name": "a",
                "n_gpus": 2.0,
                "start_time": "2020-01-01T00:00Z",
                "end_time": "2020-01-01T10:00Z",
            },
            {
                "job_id": "2",
                "job_name": "b",
                "n_gpus": 4.0,
                "start_time": "2020-01-01T05:00Z",
                "end_time": "2020-01-01T10:00Z",
            },
        ]
    )
    a = override_all_power(override_all_prices(load([]), 1.0, 2.0, "test"), 300.0, "test")
    ctx = analyze_project(jobs, a, project="t")
    assert ctx.summary.gpu_hours == pytest.approx(40.0)
    text = svg_text(draw("gpus-in-use", ctx, tmp_path / "g.svg"))
    assert "GPUs in use (hourly mean, GPUs)" in text
    assert "mean over the span: 4.00 GPUs" in text  # 40 GPU-hours / 10 h


# -- the time integral behind the over-time plots ----------------------------------------


def test_accrued_hand_worked():
    t0 = pd.Timestamp("2020-01-01", tz="UTC")
    h = pd.Timedelta(hours=1)
    start = pd.Series([t0, t0 + 2 * h, t0 + 4 * h])
    end = pd.Series([t0 + 10 * h, t0 + 2 * h, t0 + 6 * h])  # 2nd job: zero length
    amount = pd.Series([10.0, 3.0, 4.0])
    at = pd.DatetimeIndex([t0 - h, t0, t0 + h, t0 + 2 * h, t0 + 5 * h, t0 + 10 * h, t0 + 20 * h])
    got = accrued(start, end, amount, at)
    np.testing.assert_allclose(got, [0, 0, 1, 2 + 3, 5 + 3 + 2, 10 + 3 + 4, 17])


def test_accrued_reaches_the_total_and_never_decreases():
    rng = np.random.default_rng(7)
    t0 = pd.Timestamp("2021-03-01", tz="UTC")
    s = t0 + pd.to_timedelta(rng.uniform(0, 1000, 300), unit="h")
    e = s + pd.to_timedelta(rng.uniform(0, 50, 300), unit="h")
    q = rng.uniform(0, 5, 300)
    at = pd.date_range(t0, e.max(), periods=200)
    got = accrued(pd.Series(s), pd.Series(e), q, at)
    assert np.all(np.diff(got) >= -1e-9)
    assert got[-1] == pytest.approx(q.sum())


# -- CLI -----------------------------------------------------------------------------------


def test_cli_plot_list_names_every_kind(capsys):
    with pytest.raises(SystemExit) as e:
        main(["plot", "--list"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for kind in KINDS:
        assert re.search(rf"^{re.escape(kind)}\s+\S", out, re.M), kind
    with pytest.raises(SystemExit) as e:
        main(["plot"])
    assert e.value.code == 0 and capsys.readouterr().out == out


def test_cli_plot_writes_the_file(lisa_ctx, tmp_path, capsys):
    out = tmp_path / "rd.svg"
    with pytest.raises(SystemExit) as e:
        main(
            [
                "plot",
                "rd-cost",
                "--store",
                str(lisa_ctx.store_path),
                "-p",
                "lisa",
                "-a",
                "paper",
                "-o",
                str(out),
            ]
        )
    assert e.value.code == 0
    cap = capsys.readouterr()
    assert cap.out == ""  # stdout is for data; the message goes to stderr
    assert f"wrote {out}" in cap.err
    assert "$103,175 - $350,315" in svg_text(out)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["plot", "nope", "-o", "x.png"], 2, "unknown plot kind 'nope'"),
        (["plot", "waste"], 2, "-o FILE"),
        (["plot", "waste", "-o", "x.gif", "-p", "lisa"], 2, "must end in"),
    ],
)
def test_cli_plot_errors(lisa_ctx, tmp_path, capsys, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main([*args, "--store", str(lisa_ctx.store_path)] if "-p" in args else args)
    assert e.value.code == code
    assert message in capsys.readouterr().err
