"""The compute statement: figures from the sample logs, hand-worked sensitivity, escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import rdcost
from rdcost import card
from rdcost.assumptions import load, override_all_power, override_all_prices
from rdcost.cli import main
from rdcost.context import build_context
from rdcost.errors import UsageError
from rdcost.schema import conform

LISA = Path(__file__).resolve().parents[1] / "sample_logs" / "lisa"


@pytest.fixture(scope="session")
def lisa(tmp_path_factory):
    store = tmp_path_factory.mktemp("lisa-card") / "store"
    rdcost.ingest([LISA / "sacct.txt", LISA / "wandb_runs.csv"], store=store, project="lisa")
    st = rdcost.open_store(store)
    ctx = build_context(st.read_jobs(project="lisa"), load(["paper"]), project="lisa", inputs=st.inputs())
    return store, ctx


def test_statement_of_the_sample_matches_the_summary(lisa):
    _, ctx = lisa
    st = card.statement(ctx)
    s = ctx.summary
    assert st.n_jobs == 4789 and round(st.gpu_hours) == 239_942 and st.n_grid_searches == 123
    assert (st.energy_kwh, st.co2e_kg, st.cloud_usd_low, st.cloud_usd_high) == (
        s.energy_kwh, s.co2e_kg, s.cloud_usd_low, s.cloud_usd_high)
    in_search = ctx.groups["search_id"].notna()
    assert st.grid_search_gpu_hours == pytest.approx(ctx.costs.loc[in_search, "gpu_hours"].sum())
    assert 0 < st.grid_search_gpu_hours < st.gpu_hours
    # the final-size runs of the sample are full-length runs of about 120 GPU-hours on one GPU
    assert st.final_model_hardware.startswith("1 × ")
    assert 100 < st.final_model_gpu_hours < 140
    assert st.one_model_gpu_hours == 120 and "preset paper" in st.one_model_source
    assert [i["path"].rsplit("/", 1)[-1] for i in st.inputs] == ["sacct.txt", "wandb_runs.csv"]


def test_sensitivity_of_the_sample_finds_what_the_generator_put_in(lisa):
    # rdcost/samples/lisa.py: "Learning rate and dropout matter; batch size and depth barely."
    se = card.statement(lisa[1]).sensitivity
    assert se.is_available and se.metric == "val/f1" and se.is_role_guessed
    ranked = [h.name for h in se.hyperparameters]
    assert ranked[:2] == ["learning_rate", "dropout"]
    spread = {h.name: h.spread_median for h in se.hyperparameters}
    assert spread["learning_rate"] > 2 * spread["batch_size"]
    assert not {"epoch", "train/loss", "slurm_job_id", "val/f1"} & set(ranked)
    assert se.n_configurations and se.n_configurations <= se.n_runs_with_config


# -- hand-made runs ---------------------------------------------------------------------

def _runs(rows: list[dict], other: bool = False) -> pd.DataFrame:
    out = []
    for i, r in enumerate(rows):
        cfg, met = r.pop("config"), r.pop("metrics")
        row = {"record_key": f"w{i}", "source": "wandb", "project": "t", "run_id": f"r{i}", "job_id": f"r{i}",
               "job_name": f"run-{i}", "user": "u", "state": "COMPLETED", "n_gpus": 1.0, "gpu_type": "v100",
               "start_time": pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(hours=i),
               "elapsed_s": 3600.0, "group_source": "sweep", **r}
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
    return build_context(jobs, a, project="t")


HAND = [  # search A: lr 0.1 -> 80, 80; lr 0.01 -> 70, 72. search B: lr 0.1 -> 60; lr 0.01 -> 65
    {"group_id": "A", "config": {"lr": 0.1, "dropout": 0.1}, "metrics": {"val_acc": 80.0}},
    {"group_id": "A", "config": {"lr": 0.1, "dropout": 0.3}, "metrics": {"val_acc": 80.0}},
    {"group_id": "A", "config": {"lr": 0.01, "dropout": 0.1}, "metrics": {"val_acc": 70.0}},
    {"group_id": "A", "config": {"lr": 0.01, "dropout": 0.3}, "metrics": {"val_acc": 72.0}},
    {"group_id": "A", "state": "FAILED", "config": {"lr": 0.5, "dropout": 0.1}, "metrics": {"val_acc": 0.0}},
    {"group_id": "B", "config": {"lr": 0.1, "dropout": 0.2}, "metrics": {"val_acc": 60.0}},
    {"group_id": "B", "config": {"lr": 0.01, "dropout": 0.2}, "metrics": {"val_acc": 65.0}},
    {"group_id": "C", "config": {"lr": 0.1, "dropout": 0.2}, "metrics": {"val_acc": 99.0}},  # one run: skipped
]


def test_sensitivity_hand_worked():
    se = card.sensitivity(_ctx(_runs([dict(r) for r in HAND])))
    assert se.is_available and se.metric == "val_acc" and not se.is_role_guessed
    assert (se.n_runs, se.n_searches) == (6, 2)  # the FAILED run and the lone run of C are left out
    lr, dropout = se.hyperparameters
    # lr: A means 80 vs 71 -> 9; B 60 vs 65 -> 5; median 7, max 9
    assert (lr.name, lr.n_searches, lr.spread_median, lr.spread_max) == ("lr", 2, 7.0, 9.0)
    # dropout varies in A only: 0.1 -> (80 + 70) / 2 = 75; 0.3 -> (80 + 72) / 2 = 76
    assert (dropout.name, dropout.n_searches, dropout.spread_median) == ("dropout", 1, 1.0)
    # std within A: values 80, 80, 70, 72 -> sample std; B: 60, 65; median of the two
    a_std = pd.Series([80.0, 80, 70, 72]).std()
    b_std = pd.Series([60.0, 65]).std()
    assert se.metric_std_median == pytest.approx((a_std + b_std) / 2)
    assert se.metric_range_median == pytest.approx((10 + 5) / 2)
    assert se.n_runs_with_config == 8 and se.n_configurations == 7  # (0.1, 0.2) twice


def test_sensitivity_roles_guessed_from_an_untyped_export():
    rows = [dict(r, config={**r["config"], "epoch": 3, "slurm_job_id": 17}) for r in HAND]
    se = card.sensitivity(_ctx(_runs(rows, other=True)))
    assert se.is_available and se.is_role_guessed and se.metric == "val_acc"
    assert [h.name for h in se.hyperparameters] == ["lr", "dropout"]


def test_sensitivity_not_available_is_said():
    plain = conform(pd.DataFrame([{"record_key": "k", "source": "csv", "project": "t", "job_id": "1",
                                   "state": "COMPLETED", "n_gpus": 1.0, "gpu_type": "v100",
                                   "start_time": pd.Timestamp("2020-01-01", tz="UTC"),
                                   "end_time": pd.Timestamp("2020-01-01 01:00", tz="UTC"), "elapsed_s": 3600.0}]))
    st = card.statement(_ctx(plain))
    assert not st.sensitivity.is_available and st.sensitivity.reason.startswith("not available")
    md = card.to_markdown(st)
    assert "| Sensitivity to hyperparameters | not available" in md
    assert "| Configurations tried | unknown" in md
    no_val = [dict(r, metrics={"train_loss": 1.0}) for r in HAND]
    se = card.sensitivity(_ctx(_runs(no_val)))
    assert not se.is_available and "--metric" in se.reason
    se = card.sensitivity(_ctx(_runs([dict(r, metrics={"train_loss": 1.0}) for r in HAND])), metric="train_loss")
    assert se.is_available and se.metric == "train_loss"
    with pytest.raises(UsageError, match="no run reports the metric 'nope'"):
        card.sensitivity(_ctx(_runs([dict(r) for r in HAND])), metric="nope")


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
    return build_context(jobs, a, project=EVIL)


def test_latex_escapes_text_from_the_logs():
    tex = card.to_latex(card.statement(_evil_ctx()))
    escaped = (r"a\_b\&c\%\$\#\{x\}\textasciitilde{}\textasciicircum{}\textbackslash{}\textbar{}"
               r"\textless{}i\textgreater{}")
    assert escaped in tex
    assert EVIL not in tex
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    # every & that is not a column separator, every % $ # _ is escaped
    assert not re.search(r"(?<!\\)[%$#_]", body.replace("CO$_2$e", "").replace(r"$\times$", ""))
    assert all(line.count(" & ") == 1 for line in body.splitlines() if line.endswith("\\\\"))
    assert body.count("{") == body.count("}")
    assert tex.startswith("% Compute statement") and r"\begin{tabular}" in tex and r"\end{table}" in tex


def test_markdown_escapes_text_from_the_logs():
    md = card.to_markdown(card.statement(_evil_ctx()))
    assert "<i>" not in md and "&lt;i&gt;" in md
    assert r"a\_b&amp;c%$#{x}\~^\\\|" in md
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 3, line  # item | value: no stray cell separator


def test_markdown_of_the_sample_is_short_and_complete(lisa):
    md = card.to_markdown(card.statement(lisa[1]))
    for item in ("Final model", "Whole project", "Hyperparameter tuning", "Configurations tried",
                 "Energy and CO2e", "Cloud cost of the same GPU-hours", "Sensitivity to hyperparameters"):
        assert f"| {item} |" in md
    assert "239,942 GPU-hours (9,998 GPU-days) in 4,789 jobs over 172 days" in md
    assert "$103,175 - $350,315" in md
    assert "PUE 1.58" in md and "0.4327 kg CO2e/kWh" in md and "217 W per GPU" in md
    assert "sha256" in md and f"rdcost {rdcost.__version__}" in md
    assert len(md.splitlines()) < 25


@pytest.mark.parametrize("fmt_, start", [("markdown", "**Compute statement: project lisa**"),
                                         ("latex", "% Compute statement for project lisa")])
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
    assert "no run reports the metric 'nope'" in err and "val/f1" in err


def test_cli_card_with_a_projects_file(lisa, tmp_path, capsys):
    store, ctx = lisa
    user = ctx.jobs["user"].value_counts().index[0]
    n = int((ctx.jobs["user"] == user).sum())
    defs = tmp_path / "projects.toml"
    defs.write_text(f'[projects.one_user]\nusers = ["{user}"]\n', encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(["card", "--store", str(store), "-p", "one_user", "--projects-file", str(defs), "-a", "paper"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("**Compute statement: project one\\_user**")
    assert f" in {n:,} jobs over " in out
