"""The compute statement: figures from the sample logs, the tuning analysis on hand-made runs, escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import rdcost
from rdcost.analysis.assumptions import load, override_all_power, override_all_prices
from rdcost.analysis.project import analyze_project
from rdcost.analysis.tuning import TuningParams, analyze_context
from rdcost.cli import main
from rdcost.errors import UsageError
from rdcost.jobtable.schema import conform
from rdcost.output import statement as card

LISA = Path(__file__).resolve().parents[1] / "sample_logs" / "lisa"


@pytest.fixture(scope="session")
def lisa(tmp_path_factory):
    store = tmp_path_factory.mktemp("lisa-card") / "store"
    rdcost.ingest([LISA / "sacct.txt", LISA / "wandb_runs.csv"], store=store, project="lisa")
    st = rdcost.open_store(store)
    ctx = analyze_project(
        st.read_jobs(project="lisa"), load(["paper"]), project="lisa", inputs=st.inputs()
    )
    return store, ctx


def test_statement_of_the_sample_matches_the_summary(lisa):
    _, ctx = lisa
    st = card.statement(ctx)
    s = ctx.summary
    assert st.n_jobs == 4789 and round(st.gpu_hours) == 239_942 and st.n_grid_searches == 123
    assert (st.energy_kwh, st.co2e_kg, st.cloud_usd_low, st.cloud_usd_high) == (
        s.energy_kwh,
        s.co2e_kg,
        s.cloud_usd_low,
        s.cloud_usd_high,
    )
    in_search = ctx.groups["search_id"].notna()
    assert st.grid_search_gpu_hours == pytest.approx(ctx.costs.loc[in_search, "gpu_hours"].sum())
    assert 0 < st.grid_search_gpu_hours < st.gpu_hours
    # the final-size runs of the sample are full-length runs of about 120 GPU-hours on one GPU
    assert st.final_model_hardware.startswith("1 × ")
    assert 100 < st.final_model_gpu_hours < 140
    assert st.one_model_gpu_hours == 120 and "preset paper" in st.one_model_source
    assert [i["path"].rsplit("/", 1)[-1] for i in st.inputs] == ["sacct.txt", "wandb_runs.csv"]


def test_tuning_of_the_sample_finds_what_the_generator_put_in(lisa):
    # rdcost/samples/lisa.py: "Learning rate and dropout matter; batch size and depth barely."
    ctx = lisa[1]
    tu = card.statement(ctx).tuning
    assert tu.is_available and tu.reason is None and tu.metric == "val/f1" and tu.goal == "max"
    items = dict(tu.items)
    assert list(items) == [
        "Hyperparameters that mattered",
        "Seed noise",
        "Random search over the same runs",
        "Repeated runs",
    ]
    mattered = items["Hyperparameters that mattered"]
    assert mattered.startswith("val/f1 depended most on learning_rate (median ")
    assert mattered.index("learning_rate") < mattered.index("dropout")
    assert not {"epoch", "train/loss", "slurm_job_id"} & set(
        re.findall(r"(\S+) \(median", mattered)
    )
    # the card says what `rdcost tuning` says: the same analysis, not a second measure
    t = analyze_context(ctx)
    assert [x for _, x in tu.items] == [x for k, x in t.statement_items() if k != "searches"]
    assert tu.n_configurations == t.totals["n_configurations"] <= tu.n_runs_with_config
    assert "Which logged values are hyperparameters" in tu.method  # the W&B UI export mixes them


# -- hand-made runs ---------------------------------------------------------------------


def _runs(rows: list[dict], other: bool = False) -> pd.DataFrame:
    out = []
    for i, r in enumerate(rows):
        cfg, met = r.pop("config"), r.pop("metrics")
        row = {
            "record_key": f"w{i}",
            "source": "wandb",
            "project": "t",
            "run_id": f"r{i}",
            "job_id": f"r{i}",
            "job_name": f"run-{i}",
            "user": "u",
            "state": "COMPLETED",
            "n_gpus": 1.0,
            "gpu_type": "v100",
            "start_time": pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(hours=i),
            "elapsed_s": 3600.0,
            "group_source": "sweep",
            **r,
        }
        if other:
            row["other_json"] = json.dumps({**cfg, **met})
        else:
            row["config_json"], row["metrics_json"] = json.dumps(cfg), json.dumps(met)
        out.append(row)
    df = pd.DataFrame(out)
    df["end_time"] = df["start_time"] + pd.Timedelta(hours=1)
    return conform(df)


def _ctx(jobs: pd.DataFrame):
    a = override_all_power(override_all_prices(load([]), 1.0, 3.0, "test"), 250.0, "test")
    return analyze_project(jobs, a, project="t")


HAND = [  # search A: lr 0.1 -> 80, 80; lr 0.01 -> 70, 72. search B: lr 0.1 -> 60; lr 0.01 -> 65
    {"group_id": "A", "config": {"lr": 0.1, "dropout": 0.1}, "metrics": {"val_acc": 80.0}},
    {"group_id": "A", "config": {"lr": 0.1, "dropout": 0.3}, "metrics": {"val_acc": 80.0}},
    {"group_id": "A", "config": {"lr": 0.01, "dropout": 0.1}, "metrics": {"val_acc": 70.0}},
    {"group_id": "A", "config": {"lr": 0.01, "dropout": 0.3}, "metrics": {"val_acc": 72.0}},
    {
        "group_id": "A",
        "state": "FAILED",
        "config": {"lr": 0.5, "dropout": 0.1},
        "metrics": {"val_acc": 0.0},
    },
    {"group_id": "B", "config": {"lr": 0.1, "dropout": 0.2}, "metrics": {"val_acc": 60.0}},
    {"group_id": "B", "config": {"lr": 0.01, "dropout": 0.2}, "metrics": {"val_acc": 65.0}},
    {
        "group_id": "C",
        "config": {"lr": 0.1, "dropout": 0.2},
        "metrics": {"val_acc": 99.0},
    },  # one run: skipped
]


def _rows(st) -> dict[str, str]:
    return dict(card.rows(st))


def test_tuning_hand_worked():
    st = card.statement(_ctx(_runs([dict(r) for r in HAND])))
    rows, tu = _rows(st), st.tuning
    assert tu.is_available and tu.metric == "val_acc" and tu.goal == "max"
    assert rows["Metric tuned for"].startswith(
        "val_acc, higher is better (the only validation metric"
    )
    # eta² of lr in A: between-value SS 4 x 4.5² = 81 over total SS 4.5² + 4.5² + 5.5² + 3.5² = 83;
    # in B each value has one run: 1. Median over A and B: 0.988 -> 99%. Spread: A 80 - 71 = 9, B 65 - 60 = 5:
    # median 7. dropout varies in A only: means 75 and 76, between-value SS 1 -> 1 / 83 = 1%, spread 1.
    assert rows["Hyperparameters that mattered"] == (
        "val_acc depended most on lr (median 99% of the variance within a search, spread 7; 2 searches), "
        "then dropout (median 1% of the variance within a search, spread 1; 1 searches) "
        "(main effects, eta-squared)."
    )
    assert "Seed noise" not in rows  # no run logs a seed
    # three searches of 5, 2 and 1 runs of 1 GPU-hour each: 8 GPU-hours spent
    assert "within 1% (relative) of each search's best" in rows["Random search over the same runs"]
    assert (
        "of the 8 spent; resampled 10,000 times, seed 0" in rows["Random search over the same runs"]
    )
    # C trains B's (lr 0.1, dropout 0.2) again after it gave a result: 1 redundant run, 1 GPU-hour
    assert rows["Repeated runs"].startswith(
        "1 runs repeated a configuration and seed that had already given a "
        "result (1 GPU-hours); 0 were retries"
    )
    # 8 runs, (0.1, 0.2) twice: 7 configurations
    assert rows["Configurations tried"].startswith(
        "7 distinct hyperparameter configurations (seeds excluded) among 8 runs"
    )
    assert "within 1% (relative) of the search's best" in tu.method
    assert "10,000 resamples per search, seed 0" in tu.method
    assert "Which logged values" not in tu.method  # config and metrics were told apart


SEEDS = [  # one search; each configuration with two seeds: lr 0.1 -> 80, 82; lr 0.01 -> 70, 74
    {"group_id": "S", "config": {"lr": lr, "seed": seed}, "metrics": {"val_acc": v}}
    for lr, seed, v in ((0.1, 1, 80.0), (0.1, 2, 82.0), (0.01, 1, 70.0), (0.01, 2, 74.0))
]


def test_seed_noise_and_the_tuning_parameters_reach_the_card():
    ctx = _ctx(_runs([dict(r) for r in SEEDS]))
    st = card.statement(ctx, params=TuningParams(tolerance=0.5, tolerance_kind="absolute"))
    rows = _rows(st)
    # pooled variance over the two configurations: ((80 - 81)² + (82 - 81)² + (70 - 72)² + (74 - 72)²) / 2 = 5
    assert rows["Seed noise"] == (
        "Across seeds of the same configuration, val_acc varied with a median standard "
        f"deviation of {5**0.5:.3g} (1 searches)."
    )
    assert "within 0.5 val_acc of each search's best" in rows["Random search over the same runs"]
    assert "within 0.5 val_acc of the search's best" in st.tuning.method
    assert rows["Configurations tried"].startswith(
        "2 distinct hyperparameter configurations (seeds excluded) among 4 runs"
    )
    # an analysis at hand is used as it is
    t = analyze_context(ctx, TuningParams(metric="val_acc", goal="min"))
    assert _rows(card.statement(ctx, tuning=(t, None)))["Metric tuned for"].startswith(
        "val_acc, lower is better"
    )


def test_tuning_not_available_is_said():
    plain = conform(
        pd.DataFrame(
            [
                {
                    "record_key": "k",
                    "source": "csv",
                    "project": "t",
                    "job_id": "1",
                    "state": "COMPLETED",
                    "n_gpus": 1.0,
                    "gpu_type": "v100",
                    "start_time": pd.Timestamp("2020-01-01", tz="UTC"),
                    "end_time": pd.Timestamp("2020-01-01 01:00", tz="UTC"),
                    "elapsed_s": 3600.0,
                }
            ]
        )
    )
    st = card.statement(_ctx(plain))
    assert not st.tuning.is_available and st.tuning.reason.startswith(
        "not available: no run reports a metric"
    )
    md = card.to_markdown(st)
    assert "| Hyperparameter sensitivity | not available: no run reports a metric" in md
    assert "| Configurations tried | unknown" in md
    assert "Seed noise" not in md and "Tuning analysis" not in md
    # two validation metrics: which one was tuned for is not guessed
    two = [dict(r, metrics={**r["metrics"], "val_loss": 1.0}) for r in HAND]
    st = card.statement(_ctx(_runs([dict(r) for r in two])))
    assert not st.tuning.is_available
    assert "several metrics could be the one to tune for" in st.tuning.reason
    assert "val_acc" in st.tuning.reason and "val_loss" in st.tuning.reason
    st = card.statement(_ctx(_runs([dict(r) for r in two])), params=TuningParams(metric="val_loss"))
    assert st.tuning.is_available and st.tuning.metric == "val_loss" and st.tuning.goal == "min"
    # a metric whose name does not say which way is better
    odd = [dict(r, metrics={"val_thing": r["metrics"]["val_acc"]}) for r in HAND]
    st = card.statement(_ctx(_runs([dict(r) for r in odd])))
    assert not st.tuning.is_available and "--goal" in st.tuning.reason
    st = card.statement(_ctx(_runs([dict(r) for r in odd])), params=TuningParams(goal="max"))
    assert st.tuning.is_available and st.tuning.metric == "val_thing"
    # a metric named but not logged is an error, not "not available"
    with pytest.raises(UsageError, match="no run reports this metric"):
        card.statement(_ctx(_runs([dict(r) for r in HAND])), params=TuningParams(metric="nope"))


def test_final_job_given():
    ctx = _ctx(_runs([dict(r) for r in HAND]))
    st = card.statement(ctx, final_job="r2")
    assert st.final_model_rule == "job r2"
    assert st.final_model_hardware == "1 × v100" and st.final_model_hours == pytest.approx(1.0)
    with pytest.raises(UsageError, match="no job or run with id 'zz'"):
        card.statement(ctx, final_job="zz")


# -- printing and escaping ------------------------------------------------------------------

EVIL = "a_b&c%$#{x}~^\\|<i>"


def _evil_ctx():
    rows = [dict(r, gpu_type=EVIL, config={f"{EVIL}lr": r["config"]["lr"]}) for r in HAND]
    jobs = _runs(rows)
    jobs["project"] = EVIL
    a = override_all_power(override_all_prices(load([]), 1.0, 3.0, "test"), 250.0, "test")
    return analyze_project(jobs, a, project=EVIL)


def test_latex_escapes_text_from_the_logs():
    tex = card.to_latex(card.statement(_evil_ctx()))
    escaped = (
        r"a\_b\&c\%\$\#\{x\}\textasciitilde{}\textasciicircum{}\textbackslash{}\textbar{}"
        r"\textless{}i\textgreater{}"
    )
    assert escaped in tex
    assert EVIL not in tex
    # a hyperparameter named in the logs, in the tuning analysis's row
    assert any(
        line.startswith("Hyperparameters that mattered & ") and escaped + "lr (median" in line
        for line in tex.splitlines()
    )
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    # every & that is not a column separator, every % $ # _ is escaped
    assert not re.search(r"(?<!\\)[%$#_]", body.replace("CO$_2$e", "").replace(r"$\times$", ""))
    assert all(line.count(" & ") == 1 for line in body.splitlines() if line.endswith("\\\\"))
    assert body.count("{") == body.count("}")
    assert (
        tex.startswith("% Compute statement")
        and r"\begin{tabular}" in tex
        and r"\end{table}" in tex
    )


def test_markdown_escapes_text_from_the_logs():
    md = card.to_markdown(card.statement(_evil_ctx()))
    assert "<i>" not in md and "&lt;i&gt;" in md
    assert r"a\_b&amp;c%$#{x}\~^\\\|" in md
    assert (
        r"| Hyperparameters that mattered | val\_acc depended most on a\_b&amp;c%$#{x}\~^\\\|&lt;i&gt;lr"
        in md
    )
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 3, (
                line
            )  # item | value: no stray cell separator


def test_markdown_of_the_sample_is_short_and_complete(lisa):
    md = card.to_markdown(card.statement(lisa[1]))
    for item in (
        "Final model",
        "Whole project",
        "Hyperparameter tuning",
        "Configurations tried",
        "Energy and CO2e",
        "Cloud cost of the same GPU-hours",
        "Metric tuned for",
        "Hyperparameters that mattered",
        "Seed noise",
        "Random search over the same runs",
        "Repeated runs",
    ):
        assert f"| {item} |" in md
    assert "239,942 GPU-hours (9,998 GPU-days) in 4,789 jobs over 172 days" in md
    assert "$103,175 - $350,315" in md
    assert "PUE 1.58" in md and "0.4327 kg CO2e/kWh" in md and "217 W per GPU" in md
    assert "sha256" in md and f"rdcost {rdcost.__version__}" in md
    assert len(md.splitlines()) < 25


@pytest.mark.parametrize(
    "fmt_, start",
    [
        ("markdown", "**Compute statement: project lisa**"),
        ("latex", "% Compute statement for project lisa"),
    ],
)
def test_cli_card(lisa, capsys, fmt_, start):
    store, _ = lisa
    with pytest.raises(SystemExit) as e:
        main(["card", "--store", str(store), "-p", "lisa", "-a", "paper", "--format", fmt_])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(start)


def test_cli_card_bad_metric_is_a_usage_error(lisa, capsys):
    store, _ = lisa
    with pytest.raises(SystemExit) as e:
        main(["card", "--store", str(store), "-p", "lisa", "-a", "paper", "--metric", "nope"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "no run reports this metric: 'nope'" in err and "val/f1" in err


def test_cli_card_metric_and_goal(lisa, capsys):
    store, _ = lisa
    with pytest.raises(SystemExit) as e:
        main(
            [
                "card",
                "--store",
                str(store),
                "-p",
                "lisa",
                "-a",
                "paper",
                "-m",
                "val/f1",
                "--goal",
                "min",
            ]
        )
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "| Metric tuned for | val/f1, lower is better (given) |" in out


def test_cli_card_with_a_projects_file(lisa, tmp_path, capsys):
    store, ctx = lisa
    user = ctx.jobs["user"].value_counts().index[0]
    n = int((ctx.jobs["user"] == user).sum())
    defs = tmp_path / "projects.toml"
    defs.write_text(f'[projects.one_user]\nusers = ["{user}"]\n', encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(
            [
                "card",
                "--store",
                str(store),
                "-p",
                "one_user",
                "--projects-file",
                str(defs),
                "-a",
                "paper",
            ]
        )
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("**Compute statement: project one\\_user**")
    assert f" in {n:,} jobs over " in out
