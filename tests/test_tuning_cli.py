"""`rdcost tuning` on the LISA sample logs: every output format, the detail of one search,
errors, plots; and what the generator of the sample put in is found again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rdcost
from rdcost.cli import main

LISA = Path(__file__).resolve().parents[1] / "sample_logs" / "lisa"
BASE = ["tuning", "-p", "lisa", "-a", "paper", "--resamples", "2000"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tmp_path_factory.mktemp("lisa-tuning") / "store"
    rdcost.ingest([LISA / "sacct.txt", LISA / "wandb_runs.csv"], store=store, project="lisa")
    return store


def _run(capsys, store, *args):
    with pytest.raises(SystemExit) as e:
        main([*BASE, "--store", str(store), *args])
    o = capsys.readouterr()
    return e.value.code, o.out, o.err


@pytest.fixture(scope="module")
def as_json(store):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main([*BASE, "--store", str(store), "--format", "json"])
    assert e.value.code == 0
    return json.loads(buf.getvalue())


def test_json_finds_what_the_sample_generator_put_in(as_json):
    d = as_json
    # rdcost/samples/lisa.py and sample_logs/README.md: val/f1 depends mainly on the learning rate, then on
    # dropout; batch size and depth barely matter; some configurations are repeated with several seeds;
    # runs that died early have no val/f1
    assert (d["metric"], d["goal"], d["is_role_guessed"]) == ("val/f1", "max", True)
    assert [h["hyperparameter"] for h in d["hyperparameters"][:2]] == ["learning_rate", "dropout"]
    eta = {h["hyperparameter"]: h["eta_squared_median"] for h in d["hyperparameters"]}
    assert eta["learning_rate"] > 0.5 > 0.2 > max(eta["batch_size"], eta["num_layers"])
    assert d["seed_keys"] == ["seed"]
    assert {"epoch", "train/loss", "slurm_job_id"} <= set(d["excluded_keys"])
    assert not {"epoch", "train/loss", "val/f1", "slurm_job_id", "seed"} & set(
        d["hyperparameter_keys"]
    )
    assert len(d["searches"]) == d["totals"]["n_searches"] == 123
    roles = {r["role"]: r["n_runs"] for r in d["repeats"]}
    assert roles["seed_replicate"] > 0 and roles["first"] == d["totals"]["n_configurations"]
    assert sum(roles.values()) == d["totals"]["n_runs_with_config"]
    assert d["totals"]["n_runs_with_result"] < d["totals"]["n_runs_with_config"]


def test_json_adds_up(as_json):
    d, tot = as_json, as_json["totals"]
    assert sum(s["gpu_hours"] for s in d["searches"]) == pytest.approx(tot["gpu_hours_in_searches"])
    assert sum(s["n_runs"] for s in d["searches"]) == tot["n_runs_in_searches"]
    assert sum(r["gpu_hours"] for r in d["repeats"]) <= tot["gpu_hours_in_searches"] + 1e-6
    for s in d["searches"]:
        assert len(s["curve"]) == s["n_runs"]
        assert s["curve"][-1]["cumulative_gpu_hours"] == pytest.approx(s["gpu_hours"])
        cf = s["counterfactual"]
        if cf is None:
            continue
        assert s["best"]["metric"] == max(
            p["metric"] for p in s["curve"] if p["metric"] is not None
        )
        assert cf["mean_gpu_hours"] <= cf["quantile_gpu_hours"] + 1e-9 <= s["gpu_hours"] + 1e-6
        assert cf["mean_gpu_hours"] == pytest.approx(cf["exact_mean_gpu_hours"], rel=0.08)
        assert 0 <= cf["saved_share"] < 1
    assert tot["counterfactual_saved_gpu_hours"] == pytest.approx(
        tot["counterfactual_search_gpu_hours"] - tot["counterfactual_mean_gpu_hours"]
    )
    assert d["method"]["n_resamples"] == 2000 and d["method"]["resample_seed"] == 0


def test_table(capsys, store):
    code, out, err = _run(capsys, store)
    assert code == 0
    for title in (
        "Which hyperparameters mattered",
        "Searches (first submission first)",
        "Random search over the same runs",
        "Repeated configurations",
        "For the paper",
        "Prices",
    ):
        assert title in out
    assert "learning_rate" in out and "array:campus:2054660" in out


def test_csv_and_markdown(capsys, store):
    code, out, _ = _run(capsys, store, "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(
        "search_id,name,metric,n_runs,n_configurations,gpu_hours,best_metric"
    )
    assert len(lines) == 124
    code, out, _ = _run(capsys, store, "--format", "markdown")
    assert code == 0 and out.startswith("# rdcost tuning: project lisa")
    assert "| learning\\_rate |" in out


def test_one_search_in_detail(capsys, store, as_json):
    sid = "array:campus:2054660"
    code, out, _ = _run(capsys, store, "--search", sid)
    assert code == 0
    assert "Tuning return: runs in launch order" in out and "Sensitivity" in out
    s = next(x for x in as_json["searches"] if x["search_id"] == sid)
    assert f"{s['n_runs']:,} runs" in out
    code, out, _ = _run(capsys, store, "--search", sid, "--format", "json")
    assert [x["search_id"] for x in json.loads(out)["searches"]] == [sid]
    code, out, _ = _run(capsys, store, "--search", sid, "--format", "csv")
    assert out.splitlines()[0].startswith(
        "launch_rank,job_id,state,gpu_hours,cumulative_gpu_hours,metric"
    )
    assert len(out.splitlines()) == s["n_runs"] + 1


def test_unknown_search_and_metric_are_usage_errors(capsys, store):
    code, _, err = _run(capsys, store, "--search", "array:campus:1")
    assert code == 2 and "no such search: 'array:campus:1'" in err
    code, _, err = _run(capsys, store, "--metric", "val/acc")
    assert code == 2
    assert (
        "no run reports this metric: 'val/acc'" in err and "val/f1" in err and "train/loss" in err
    )
    assert "Traceback" not in err


def test_options_reach_the_analysis(capsys, store):
    code, out, _ = _run(
        capsys,
        store,
        "--format",
        "json",
        "--tolerance",
        "0.5",
        "--tolerance-kind",
        "absolute",
        "--quantile",
        "0.5",
        "--hyperparameter",
        "learning_rate",
        "--hyperparameter",
        "dropout",
    )
    d = json.loads(out)
    assert (
        code == 0
        and d["method"]["tolerance_text"] == "0.5 val/f1"
        and d["method"]["quantile"] == 0.5
    )
    assert d["hyperparameter_keys"] == ["learning_rate", "dropout"]
    s = d["searches"][0]
    assert s["counterfactual"]["target"] == pytest.approx(s["best"]["metric"] - 0.5)


def test_plots(capsys, store, tmp_path):
    code, _, err = _run(capsys, store, "--plots-dir", str(tmp_path / "p"), "--format", "csv")
    assert code == 0
    for name in ("tuning-return.png", "sensitivity.png"):
        f = tmp_path / "p" / name
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 20_000
        assert str(f) in err
    with pytest.raises(SystemExit) as e:
        main(
            [
                "plot",
                "sensitivity",
                "--store",
                str(store),
                "-p",
                "lisa",
                "-a",
                "paper",
                "-o",
                str(tmp_path / "s.svg"),
            ]
        )
    assert e.value.code == 0
    assert "eta" in (tmp_path / "s.svg").read_text(encoding="utf-8")


def _keys(obj, skip=("configuration", "seed", "excluded_keys")):
    """Every key of a JSON document, except the keys of objects keyed by data (hyperparameter names)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            if k not in skip:
                yield from _keys(v, skip)
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v, skip)


def test_every_json_key_is_documented(as_json):
    doc = (Path(__file__).resolve().parents[1] / "docs" / "tuning.md").read_text(encoding="utf-8")
    keys = set(_keys(as_json))
    assert {
        "counterfactual",
        "n_runs_repeating_another_search",
        "best_so_far",
        "eta_squared_q3",
    } <= keys
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert not missing, f"keys of `rdcost tuning -f json` not in docs/tuning.md: {missing}"
