"""rdcost.analysis.tuning on small hand-made searches whose answers are worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rdcost.analysis import tuning
from rdcost.analysis.assumptions import load, override_all_power, override_all_prices
from rdcost.analysis.tuning import TuningParams, analyze
from rdcost.errors import UsageError
from rdcost.jobtable.schema import conform

T0 = pd.Timestamp("2021-03-01", tz="UTC")


def _assumptions():
    """$1 - $3 per GPU-hour for every GPU, so cost_low = GPU-hours and cost_high = 3 x GPU-hours."""
    return override_all_power(override_all_prices(load([]), 1.0, 3.0, "test"), 250.0, "test")


def _runs(rows: list[dict], other: bool = False) -> pd.DataFrame:
    """W&B runs, one hour apart in list order (the launch order). Each row: config, metrics and
    optionally group_id (default "S"), state (COMPLETED), gpu_hours (1 GPU for that many hours)."""
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        cfg, met = r.pop("config"), r.pop("metrics")
        hours = r.pop("gpu_hours", 1.0)
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
            "start_time": T0 + pd.Timedelta(hours=i),
            "elapsed_s": 3600.0 * hours,
            "group_id": "S",
            "group_source": "sweep",
        }
        row.update(r)
        if other:
            row["other_json"] = json.dumps({**cfg, **met})
        else:
            row["config_json"], row["metrics_json"] = json.dumps(cfg), json.dumps(met)
        out.append(row)
    df = pd.DataFrame(out)
    df["end_time"] = df["start_time"] + pd.to_timedelta(df["elapsed_s"], unit="s")
    return conform(df)


def _go(rows, other=False, **params):
    return analyze(_runs(rows, other), _assumptions(), TuningParams(**params), project="t")


def _one(result, sid="sweep:t:S"):
    return result.search(sid)


def _sens(search):
    return {h["hyperparameter"]: h for h in search["sensitivity"]}


def _roles(result):
    return {r["role"]: r for r in result.repeats}


# -- sensitivity --------------------------------------------------------------------------


def test_metric_that_depends_on_one_hyperparameter_only():
    # lr 0.1 -> 80, lr 0.01 -> 70 whatever the dropout: lr explains all of it, dropout nothing
    rows = [
        {"config": {"lr": lr, "dropout": d}, "metrics": {"val_acc": 80.0 if lr == 0.1 else 70.0}}
        for lr in (0.1, 0.01)
        for d in (0.1, 0.2, 0.3)
    ]
    s = _one(_go(rows))
    sens = _sens(s)
    assert sens["lr"]["eta_squared"] == pytest.approx(1.0)
    assert sens["lr"]["spread"] == pytest.approx(10.0)
    assert sens["lr"]["best_value"] == 0.1
    assert {v["value"]: (v["n_runs"], v["mean"]) for v in sens["lr"]["values"]} == {
        0.1: (3, 80.0),
        0.01: (3, 70.0),
    }
    assert sens["dropout"]["eta_squared"] == pytest.approx(0.0)
    assert sens["dropout"]["spread"] == pytest.approx(0.0)
    assert [h["hyperparameter"] for h in s["sensitivity"]] == ["lr", "dropout"]
    assert s["n_configurations"] == 6 and s["hyperparameters_varied"] == ["dropout", "lr"]


def test_eta_squared_and_spread_worked_by_hand():
    # (lr, dropout) -> acc: (.1,.1) 80, (.1,.3) 82, (.01,.1) 70, (.01,.3) 72; mean 76
    # SST = 16 + 36 + 36 + 16 = 104; lr means 81 / 71: SSB = 2*25 + 2*25 = 100; dropout means 75 / 77: SSB = 4
    rows = [
        {"config": {"lr": lr, "dropout": d}, "metrics": {"val_acc": acc}}
        for lr, d, acc in ((0.1, 0.1, 80.0), (0.1, 0.3, 82.0), (0.01, 0.1, 70.0), (0.01, 0.3, 72.0))
    ]
    t = _go(rows)
    sens = _sens(_one(t))
    assert sens["lr"]["eta_squared"] == pytest.approx(100 / 104)
    assert sens["dropout"]["eta_squared"] == pytest.approx(4 / 104)
    assert (sens["lr"]["spread"], sens["dropout"]["spread"]) == pytest.approx((10.0, 2.0))
    assert sens["dropout"]["best_value"] == 0.3
    assert [h["hyperparameter"] for h in t.hyperparameters] == ["lr", "dropout"]
    assert t.hyperparameters[0]["n_searches_most_important"] == 1


def test_sensitivity_for_a_metric_to_minimize_reports_metric_units():
    rows = [
        {"config": {"lr": lr}, "metrics": {"val_loss": loss}}
        for lr, loss in ((0.1, 0.5), (0.1, 0.7), (0.01, 0.9), (0.01, 1.1))
    ]
    t = _go(rows)
    assert (t.metric, t.goal) == ("val_loss", "min")
    lr = _sens(_one(t))["lr"]
    assert lr["best_value"] == 0.1 and lr["spread"] == pytest.approx(0.4)
    assert {v["value"]: v["mean"] for v in lr["values"]} == pytest.approx({0.1: 0.6, 0.01: 1.0})
    assert _one(t)["best"]["metric"] == 0.5


def test_many_valued_numeric_hyperparameter_is_binned():
    # random search: 20 distinct learning rates; the metric rises with lr
    lrs = [0.001 * (i + 1) for i in range(20)]
    rows = [{"config": {"lr": lr}, "metrics": {"val_acc": 50.0 + 1000 * lr}} for lr in lrs]
    lr = _sens(_one(_go(rows)))["lr"]
    assert lr["is_binned"] and lr["n_values"] == tuning.N_BINS
    assert [v["n_runs"] for v in lr["values"]] == [4] * 5
    assert lr["values"][0]["value"] == "0.001..0.004" and lr["best_value"] == "0.017..0.02"
    # bin means 52.5, 56.5, ..., 68.5; between-bin share of a linear trend cut in 5 bins: 1 - 1/25 ... here exact:
    y = 50 + 1000 * np.array(lrs)
    bins = y.reshape(5, 4)
    ssb = (4 * (bins.mean(axis=1) - y.mean()) ** 2).sum()
    assert lr["eta_squared"] == pytest.approx(ssb / ((y - y.mean()) ** 2).sum())


# -- best, tuning-return curve, counterfactual -----------------------------------------------


def _four(best_at: int, hours=(1.0, 1.0, 1.0, 1.0)):
    """Four runs, 70 / 72 / 71 / 69, except the one at ``best_at`` (0-based), which reaches 90."""
    accs = [70.0, 72.0, 71.0, 69.0]
    accs[best_at] = 90.0
    return [
        {"config": {"lr": 0.1 * (i + 1)}, "metrics": {"val_acc": a}, "gpu_hours": h}
        for i, (a, h) in enumerate(zip(accs, hours, strict=True))
    ]


def test_best_run_came_first():
    s = _one(_go(_four(0)))
    assert s["best"]["launch_rank"] == 1 and s["best"]["metric"] == 90.0
    assert s["best"]["configuration"] == {"lr": 0.1}
    assert [p["best_so_far"] for p in s["curve"]] == [90.0] * 4
    assert [p["cumulative_gpu_hours"] for p in s["curve"]] == [1.0, 2.0, 3.0, 4.0]
    cf = s["counterfactual"]
    assert cf["launch_order_gpu_hours"] == 1.0 and cf["launch_order_n_runs"] == 1
    # one run within 1% of 90 among 4 runs of 1 GPU-hour: expected 1 + 3/2 = 2.5 GPU-hours
    assert cf["exact_mean_gpu_hours"] == pytest.approx(2.5)
    assert cf["mean_gpu_hours"] == pytest.approx(2.5, abs=0.05)
    assert cf["quantile_gpu_hours"] == 4.0  # 25% of random orders find it last
    assert cf["saved_gpu_hours"] == pytest.approx(4.0 - cf["mean_gpu_hours"])
    assert cf["saved_usd_low"] == pytest.approx(cf["saved_gpu_hours"])
    assert cf["saved_usd_high"] == pytest.approx(3 * cf["saved_gpu_hours"])


def test_best_run_came_last():
    s = _one(_go(_four(3, hours=(1.0, 2.0, 3.0, 4.0))))
    assert s["best"]["launch_rank"] == 4
    assert [p["best_so_far"] for p in s["curve"]] == [70.0, 72.0, 72.0, 90.0]
    assert [p["metric"] for p in s["curve"]] == [70.0, 72.0, 71.0, 90.0]
    cf = s["counterfactual"]
    assert cf["launch_order_gpu_hours"] == 10.0 and cf["launch_order_n_runs"] == 4
    assert cf["target"] == pytest.approx(89.1)
    # the hit costs 4; each of the others (1 + 2 + 3) comes before it with probability 1/2
    assert cf["exact_mean_gpu_hours"] == pytest.approx(4 + 6 / 2)
    assert cf["mean_gpu_hours"] == pytest.approx(7.0, abs=0.1)
    assert s["gpu_hours"] == 10.0 and s["cloud_usd_low"] == 10.0 and s["cloud_usd_high"] == 30.0


def test_failed_runs_cost_gpu_hours_in_the_resample():
    rows = [
        {"config": {"lr": 0.1}, "metrics": {}, "state": "FAILED", "gpu_hours": 10.0},
        {"config": {"lr": 0.2}, "metrics": {"val_acc": 90.0}},
        {"config": {"lr": 0.3}, "metrics": {"val_acc": 50.0}},
    ]
    s = _one(_go(rows))
    cf = s["counterfactual"]
    assert s["n_runs_with_result"] == 2 and cf["n_runs_within_tolerance"] == 1
    assert cf["exact_mean_gpu_hours"] == pytest.approx(1 + (10 + 1) / 2)
    assert cf["mean_gpu_hours"] == pytest.approx(6.5, abs=0.15)
    assert cf["launch_order_gpu_hours"] == 11.0
    assert s["curve"][0]["metric"] is None and s["curve"][0]["best_so_far"] is None


def test_tolerance_relative_and_absolute():
    rows = [
        {"config": {"lr": 0.1 * i}, "metrics": {"val_acc": a}}
        for i, a in enumerate((80.0, 79.5, 79.0, 60.0))
    ]
    assert _one(_go(rows))["counterfactual"]["n_runs_within_tolerance"] == 2  # 1% of 80 = 0.8
    assert _one(_go(rows, tolerance=0))["counterfactual"]["n_runs_within_tolerance"] == 1
    absolute = _one(_go(rows, tolerance=1.0, tolerance_kind="absolute"))["counterfactual"]
    assert absolute["n_runs_within_tolerance"] == 3 and absolute["target"] == 79.0


def test_resampling_is_reproducible_and_matches_the_exact_mean():
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 40):
        cost = rng.uniform(0.5, 5, n)
        hit = rng.random(n) < 0.3
        hit[rng.integers(n)] = True
        spent, runs = tuning.resample_until(cost, hit, 20_000, np.random.default_rng(1))
        assert spent.mean() == pytest.approx(tuning.expected_until(cost, hit), rel=0.02)
        assert runs.min() >= 1 and runs.max() <= n - hit.sum() + 1
    a = _one(_go(_four(2)))["counterfactual"]
    b = _one(_go(_four(2)))["counterfactual"]
    c = _one(_go(_four(2), resample_seed=5))["counterfactual"]
    assert a == b and a["mean_gpu_hours"] != c["mean_gpu_hours"]


def test_cancelled_runs_give_no_result_unless_asked():
    rows = [
        {"config": {"lr": 0.1}, "metrics": {"val_acc": 95.0}, "state": "CANCELLED"},
        {"config": {"lr": 0.2}, "metrics": {"val_acc": 80.0}},
    ]
    assert _one(_go(rows))["best"]["metric"] == 80.0
    assert _one(_go(rows, completed_only=False))["best"]["metric"] == 95.0


def test_unknown_gpu_hours_leave_gpu_figures_unknown_but_count_runs():
    rows = _four(3)
    rows[1]["n_gpus"] = None
    s = _one(_go(rows))
    cf = s["counterfactual"]
    assert s["gpu_hours"] is None and cf["mean_gpu_hours"] is None and cf["saved_gpu_hours"] is None
    assert cf["exact_mean_n_runs"] == pytest.approx(1 + 3 / 2)
    assert [p["cumulative_gpu_hours"] for p in s["curve"]] == [1.0, None, None, None]


def test_search_without_any_metric():
    rows = [
        {"config": {"lr": 0.1}, "metrics": {"val_acc": 90.0}, "group_id": "A"},
        {"config": {"lr": 0.2}, "metrics": {"val_acc": 91.0}, "group_id": "A"},
        {"config": {"lr": 0.1}, "metrics": {}, "group_id": "B", "state": "FAILED"},
        {"config": {"lr": 0.2}, "metrics": {}, "group_id": "B", "state": "FAILED"},
    ]
    b = _go(rows).search("sweep:t:B")
    assert b["best"] is None and b["counterfactual"] is None and b["sensitivity"] == []
    assert b["gpu_hours"] == 2.0


# -- repeats ---------------------------------------------------------------------------------


def test_grid_with_duplicates_seed_replicates_retries_and_redundant():
    rows = [
        {"config": {"lr": 0.1, "seed": 1}, "metrics": {"val_acc": 80.0}, "gpu_hours": 2.0},  # first
        {
            "config": {"lr": 0.1, "seed": 2},
            "metrics": {"val_acc": 81.0},
            "gpu_hours": 3.0,
        },  # seed replicate
        {
            "config": {"lr": 0.1, "seed": 1},
            "metrics": {"val_acc": 80.2},
            "gpu_hours": 5.0,
        },  # redundant
        {
            "config": {"lr": 0.2, "seed": 1},
            "metrics": {},
            "state": "FAILED",
            "gpu_hours": 0.5,
        },  # first
        {"config": {"lr": 0.2, "seed": 1}, "metrics": {"val_acc": 70.0}, "gpu_hours": 4.0},  # retry
        {
            "config": {"lr": 0.2, "seed": 1},
            "metrics": {"val_acc": 70.1},
            "gpu_hours": 7.0,
        },  # redundant
    ]
    t = _go(rows)
    assert t.seed_keys == ["seed"] and t.hyperparameter_keys == ["lr"]
    r = _roles(t)
    assert {k: (v["n_runs"], v["gpu_hours"]) for k, v in r.items()} == {
        "first": (2, 2.5),
        "seed_replicate": (1, 3.0),
        "retry": (1, 4.0),
        "redundant": (2, 12.0),
    }
    assert (r["redundant"]["cloud_usd_low"], r["redundant"]["cloud_usd_high"]) == (12.0, 36.0)
    s = _one(t)
    assert s["n_configurations"] == 2 and s["n_runs"] == 6
    red = next(x for x in s["repeats"]["roles"] if x["role"] == "redundant")
    assert red["n_runs"] == 2 and red["n_runs_repeating_another_search"] == 0
    reps = {json.dumps(x["configuration"]): x for x in s["repeats"]["repeated_configurations"]}
    assert reps['{"lr": 0.1}']["n_runs"] == 3 and reps['{"lr": 0.1}']["n_seeds"] == 2
    assert reps['{"lr": 0.1}']["roles"] == {
        "first": 1,
        "seed_replicate": 1,
        "retry": 0,
        "redundant": 1,
    }
    assert reps['{"lr": 0.2}']["metric_mean"] == pytest.approx(70.05)
    # lr 0.1 ran with 2 seeds: results 80, 81, 80.2, mean 80.4: SS 0.16 + 0.36 + 0.04 over 3 - 1 degrees of
    # freedom; lr 0.2 ran with one seed only and does not count
    assert (
        s["seed_std"] == pytest.approx(np.sqrt(0.56 / 2))
        and s["n_seed_replicated_configurations"] == 1
    )


def test_a_configuration_trained_again_in_a_later_search_is_redundant():
    rows = [
        {"config": {"lr": 0.1, "seed": 1}, "metrics": {"val_acc": 80.0}, "group_id": "A"},
        {"config": {"lr": 0.2, "seed": 1}, "metrics": {"val_acc": 70.0}, "group_id": "A"},
        {"config": {"lr": 0.1, "seed": 1}, "metrics": {"val_acc": 80.1}, "group_id": "B"},
        {"config": {"lr": 0.3, "seed": 1}, "metrics": {"val_acc": 60.0}, "group_id": "B"},
    ]
    t = _go(rows)
    b = t.search("sweep:t:B")
    red = next(x for x in b["repeats"]["roles"] if x["role"] == "redundant")
    assert (
        red["n_runs"] == 1
        and red["n_runs_repeating_another_search"] == 1
        and red["gpu_hours"] == 1.0
    )
    assert b["repeats"]["repeated_configurations"] == []  # nothing repeated within B itself
    assert t.totals["n_configurations"] == 3


def test_without_a_seed_key_repeats_are_redundant_and_said_so():
    rows = [
        {"config": {"lr": 0.1}, "metrics": {"val_acc": 80.0}},
        {"config": {"lr": 0.1}, "metrics": {"val_acc": 80.5}},
    ]
    t = _go(rows)
    assert _roles(t)["redundant"]["n_runs"] == 1 and _roles(t)["seed_replicate"]["n_runs"] == 0
    assert any("no run logs a seed" in n for n in t.notes)


def test_configuration_identity_ignores_number_spelling_and_key_order():
    rows = [
        {"config": {"bs": 32, "lr": 0.1}, "metrics": {"val_acc": 80.0}},
        {"config": {"lr": 0.1, "bs": 32.0}, "metrics": {"val_acc": 80.0}},
    ]
    assert _roles(_go(rows))["redundant"]["n_runs"] == 1


# -- values and roles of keys -----------------------------------------------------------------


def test_untyped_export_roles_from_key_names():
    rows = [
        {
            "config": {
                "learning_rate": lr,
                "dropout": d,
                "seed": 1,
                "epoch": 10 + i,
                "slurm_job_id": 100 + i,
                "Notes": "",
                "run_dir": f"/scratch/r{i}",
                "tag_text": f"t{i}",
            },
            "metrics": {"val/f1": 80.0 + 10 * lr + d, "train/loss": 0.1 * i},
        }
        for i, (lr, d) in enumerate(((0.1, 0.1), (0.1, 0.3), (0.2, 0.1), (0.2, 0.3)))
    ]
    t = _go(rows, other=True)
    assert t.is_role_guessed and t.metric == "val/f1" and t.goal == "max"
    assert t.hyperparameter_keys == ["dropout", "learning_rate"] and t.seed_keys == ["seed"]
    assert t.excluded_keys == {
        "Notes": "system value, name or id",
        "epoch": "progress counter",
        "run_dir": "system value, name or id",
        "slurm_job_id": "system value, name or id",
        "tag_text": "identifier (a different text in every run)",
        "train/loss": "metric",
        "val/f1": "metric",
    }


@pytest.mark.parametrize(
    "key, metric_like, goal",
    [
        ("val/f1", True, "max"),
        ("val_loss", True, "min"),
        ("eval.bleu", True, "max"),
        ("accuracy", True, "max"),
        ("test_perplexity", True, "min"),
        ("loss_weight", False, "min"),
        ("learning_rate", False, None),
        ("max_epochs", False, None),
        ("val/rougeL", True, "max"),
        ("dev_wer", True, "min"),
    ],
)
def test_key_rules(key, metric_like, goal):
    assert tuning.is_metric_like(key) is metric_like
    assert tuning.goal_of(key) == goal


def test_metric_is_picked_or_asked_for():
    rows = [
        {"config": {"lr": 0.1}, "metrics": {"train_loss": 0.3, "val_acc": 80.0}},
        {"config": {"lr": 0.2}, "metrics": {"train_loss": 0.2, "val_acc": 82.0}},
    ]
    t = _go(rows)
    assert t.metric == "val_acc" and "validation" in t.metric_rule
    two = [{"config": {"lr": 0.1}, "metrics": {"val_acc": 80.0, "val_loss": 0.3}}]
    with pytest.raises(tuning.MetricError) as e:
        _go(two)
    assert (
        "val_acc (1 runs)" in str(e.value)
        and "val_loss" in str(e.value)
        and "--metric" in str(e.value)
    )
    assert _go(two, metric="val_loss").goal == "min"
    with pytest.raises(tuning.MetricError) as e:
        _go(rows, metric="val/f1")
    assert "no run reports this metric: 'val/f1'" in str(e.value) and "val_acc" in str(e.value)
    assert isinstance(e.value, UsageError)


def test_a_test_set_metric_is_never_picked_unnamed():
    rows = [
        {"config": {"lr": 0.1}, "metrics": {"test_acc": 80.0}},
        {"config": {"lr": 0.2}, "metrics": {"test_acc": 81.0}},
    ]
    with pytest.raises(tuning.MetricError, match="test data"):
        _go(rows)
    assert _go(rows, metric="test_acc").metric_rule == "given"
    only = [{"config": {"lr": 0.1}, "metrics": {"train_loss": 0.3}}]
    assert _go(only).metric == "train_loss"


def test_goal_must_be_given_when_the_name_does_not_say():
    rows = [{"config": {"lr": 0.1}, "metrics": {"val_thing": 1.0}}]
    with pytest.raises(tuning.MetricError, match="--goal"):
        _go(rows)
    assert _go(rows, goal="min").goal_rule == "given"


def test_named_hyperparameters_and_seed_keys():
    rows = [
        {"config": {"lr": 0.1, "wd": 0.0, "rep": 1}, "metrics": {"val_acc": 80.0}},
        {"config": {"lr": 0.1, "wd": 0.1, "rep": 2}, "metrics": {"val_acc": 81.0}},
    ]
    t = _go(rows, hyperparameters=("lr",), seed_keys=("rep",))
    assert t.hyperparameter_keys == ["lr"] and t.seed_keys == ["rep"]
    assert _roles(t)["seed_replicate"]["n_runs"] == 1
    with pytest.raises(tuning.MetricError, match="no run logs this hyperparameter: 'momentum'"):
        _go(rows, hyperparameters=("momentum",))


def test_bad_params_are_usage_errors():
    for kw in (
        {"goal": "up"},
        {"tolerance": -1},
        {"tolerance_kind": "percent"},
        {"n_resamples": 0},
        {"quantile": 1.0},
    ):
        with pytest.raises(UsageError):
            TuningParams(**kw)


def test_runs_linked_to_slurm_jobs_take_the_schedulers_gpu_hours():
    runs = _runs(
        [
            {
                "config": {"lr": lr},
                "metrics": {"val_acc": a},
                "linked_slurm_job_id": str(100 + i),
                "n_gpus": None,
                "group_id": None,
                "group_source": None,
            }
            for i, (lr, a) in enumerate(((0.1, 80.0), (0.2, 85.0), (0.3, 70.0), (0.4, 60.0)))
        ]
    )
    slurm = conform(
        pd.DataFrame(
            {
                "record_key": [f"s{i}" for i in range(4)],
                "source": "slurm",
                "project": "t",
                "cluster": "c",
                "job_id": [f"99_{i}" for i in range(4)],
                "job_id_raw": [str(100 + i) for i in range(4)],
                "array_job_id": "99",
                "group_id": "99",
                "group_source": "array",
                "job_name": "grid",
                "user": "u",
                "state": "COMPLETED",
                "n_gpus": 2.0,
                "gpu_type": "v100",
                "elapsed_s": [1800.0, 3600.0, 5400.0, 7200.0],
                "submit_time": [T0 + pd.Timedelta(minutes=i) for i in range(4)],
                "start_time": [T0 + pd.Timedelta(hours=i) for i in range(4)],
                "end_time": [T0 + pd.Timedelta(hours=i + 1.5) for i in range(4)],
            }
        )
    )
    t = analyze(pd.concat([slurm, runs], ignore_index=True), _assumptions())
    s = t.search("array:c:99")
    assert s["gpu_hours"] == 10.0 and s["n_runs"] == 4  # 2 GPUs x 0.5, 1, 1.5 and 2 hours
    assert s["best"]["job_id"] == "99_1" and s["best"]["cumulative_gpu_hours"] == 3.0
    assert [p["cumulative_gpu_hours"] for p in s["curve"]] == [1.0, 3.0, 6.0, 10.0]


def test_json_is_strict_and_carries_the_method():
    t = _go(_four(1))
    d = t.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["schema_version"] == tuning.SCHEMA_VERSION and d["metric"] == "val_acc"
    for k in (
        "tolerance",
        "tolerance_kind",
        "n_resamples",
        "resample_seed",
        "quantile",
        "counterfactual",
    ):
        assert k in d["method"]
    assert "NaN" not in text
    assert list(t.search_table().columns)[:4] == ["search_id", "name", "metric", "n_runs"]
    assert any("random search" in line.lower() for line in t.statement())


# -- plots -------------------------------------------------------------------------------------

OKABE_ITO = {
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#d55e00",
    "#56b4e9",
    "#cc79a7",
    "#f0e442",
    "#000000",
    "#999999",
}


def _svg(path) -> tuple[str, set[str]]:
    import re
    import xml.etree.ElementTree as ET

    text = "\n".join(
        t.strip() for el in ET.parse(path).getroot().iter() for t in [el.text or ""] if t.strip()
    )
    raw = path.read_text(encoding="utf-8")
    colours = {c.lower() for c in re.findall(r"(?:fill|stroke)\s*[:=]\s*\"?(#[0-9a-fA-F]{6})", raw)}
    return text, {c for c in colours if len({c[1:3], c[3:5], c[5:7]}) > 1}  # greys are fine


def test_plots_of_a_hand_made_search(tmp_path):
    from rdcost.output.plots.tuning import sensitivity, tuning_return

    rows = [
        {"config": {"lr": lr, "dropout": d, "seed": s}, "metrics": {"val_acc": acc + s / 10}}
        for lr, d, acc in ((0.1, 0.1, 80.0), (0.1, 0.3, 82.0), (0.01, 0.1, 70.0), (0.01, 0.3, 72.0))
        for s in (1, 2)
    ]
    t = _go(rows)
    text, colours = _svg(tuning_return(t, tmp_path / "r.svg"))
    for want in (
        "cumulative GPU-hours",
        "val_acc",
        "best so far",
        "random search, mean",
        "share of the search's GPU-hours spent, runs in launch order (%)",
        "8 runs, 8.00 GPU-hours",
    ):
        assert want in text, want
    assert colours and colours <= OKABE_ITO
    text, colours = _svg(sensitivity(t, tmp_path / "s.svg"))
    for want in (
        "share of val_acc's variance explained (eta², %)",
        "lr\n(1 search)",
        "96%",
        "seed noise: median std across seeds (0.071)",
    ):
        assert want in text, want
    assert colours and colours <= OKABE_ITO


def test_plots_say_when_there_is_nothing_to_show(tmp_path):
    from rdcost.output.plots.tuning import sensitivity, tuning_return

    t = _go([{"config": {"lr": 0.1}, "metrics": {}}, {"config": {"lr": 0.2}, "metrics": {}}])
    assert t.metric is None
    for fn in (tuning_return, sensitivity):
        text, _ = _svg(fn(t, tmp_path / f"{fn.__name__}.svg"))
        assert "no search" in text


@pytest.mark.parametrize(
    "key,metric",
    [
        ("val/f1", True),
        ("train_loss_step", True),
        ("best_eval_top1", True),
        ("fold_1_val_acc", True),
        ("val_DetA", True),
        # settings logged beside the metrics in real W&B exports (../shared/realworld)
        ("eval_interval", False),
        ("eval_iters", False),
        ("Loss/learning_rate", False),
        ("train_cfg.algorithm.gamma", False),
        ("train_cfg.seed", False),
        ("env_cfg.viewer.reward_bar_max_terms", False),
        ("loss_weight", False),
    ],
)
def test_keys_named_like_settings_are_not_metrics(key, metric):
    from rdcost.analysis.tuning.keys import is_metric_like

    assert is_metric_like(key) is metric
