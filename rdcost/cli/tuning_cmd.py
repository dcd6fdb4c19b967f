"""`rdcost tuning`: hyperparameter sensitivity, search efficiency and repeated runs, per search."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from rdcost.analysis.tuning import DEFAULT_PARAMS, TuningParams, TuningResult, analyze_context
from rdcost.cli.app import OutputFormat, app, err, out
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.output import render
from rdcost.output.wording import fmt, usd_range


class Goal(StrEnum):
    max = "max"
    min = "min"


class ToleranceKind(StrEnum):
    relative = "relative"
    absolute = "absolute"


#: The metric and its goal, as `rdcost tuning`, `report` and `card` take them.
MetricOpt = Annotated[str | None, typer.Option(
    "--metric", "-m", help="The metric tuned for (default: the one validation metric the runs report, e.g. "
                           "val/f1; when it is not clear which, the candidates are listed).")]
GoalOpt = Annotated[Goal | None, typer.Option(
    help="Higher (max) or lower (min) is better (default: from the metric's name).")]


@assumption_options()
def tuning_command(
    metric: MetricOpt = None,
    goal: GoalOpt = None,
    tolerance: Annotated[float, typer.Option(
        help="Counterfactual: a run within this much of the search's best counts as reaching it "
             "(a fraction of |best| with --tolerance-kind relative, metric units with absolute).")]
    = DEFAULT_PARAMS.tolerance,
    tolerance_kind: Annotated[ToleranceKind, typer.Option(help="relative or absolute.")] = ToleranceKind.relative,
    resamples: Annotated[int, typer.Option(help="Counterfactual: random orders drawn per search.")]
    = DEFAULT_PARAMS.n_resamples,
    resample_seed: Annotated[int, typer.Option(help="Counterfactual: random seed (results are reproducible).")]
    = DEFAULT_PARAMS.resample_seed,
    quantile: Annotated[float, typer.Option(help="Counterfactual: the quantile of GPU-hours shown beside the mean.")]
    = DEFAULT_PARAMS.quantile,
    completed_only: Annotated[bool, typer.Option(
        "--completed-only/--any-state",
        help="Count the metric of COMPLETED runs only (default), or of runs in any state (a cancelled run "
             "reports a half-trained model's metric).")] = True,
    hyperparameter: Annotated[list[str] | None, typer.Option(
        "--hyperparameter", help="A key that is a hyperparameter (repeatable); default: found by the rule "
                                 "of docs/tuning.md.")] = None,
    seed_key: Annotated[list[str] | None, typer.Option(
        "--seed-key", help="A key that is a random seed (repeatable); default: keys with 'seed' in the name.")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", help="Only this search (a search_id from the listing), in detail.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")]
    = OutputFormat.table,
    plots_dir: Annotated[Path | None, typer.Option(
        "--plots-dir", help="Also write tuning-return.png and sensitivity.png to this directory.")] = None,
    *, opts: AssumptionOptions,
) -> None:
    """Hyperparameter tuning, per grid search: configurations tried, GPU-hours, the best
    result and its configuration; how much each hyperparameter moved the metric
    (sensitivity); the best result so far against GPU-hours spent (tuning return); what a
    random search over the same runs would have spent to come within a tolerance of the
    best (counterfactual, by resampling); and runs that trained the same configuration
    again (seed replicates, retries, redundant repeats) with their GPU-hours and cost.
    Takes the options of `rdcost summarize`. See docs/tuning.md.

    Example:

      rdcost tuning --project lisa --assumptions paper

      rdcost tuning -p lisa -a paper --metric val/f1 --goal max --tolerance 0.5 --tolerance-kind absolute

      rdcost tuning -p lisa -a paper -f json --search array:campus:2054660
    """
    params = TuningParams(
        metric=metric, goal=None if goal is None else goal.value, tolerance=tolerance,
        tolerance_kind=tolerance_kind.value, n_resamples=resamples, resample_seed=resample_seed,
        quantile=quantile, completed_only=completed_only, hyperparameters=tuple(hyperparameter or ()),
        seed_keys=tuple(seed_key or ()))
    ctx = opts.context()
    result = analyze_context(ctx, params)
    one = result.search(search) if search is not None else None
    if format == OutputFormat.json:
        d = result.to_dict()
        if one is not None:
            d["searches"] = [s for s in d["searches"] if s["search_id"] == search]
        out(render.to_json(d))
    elif format == OutputFormat.csv:
        out(render.to_csv(curve_frame(one) if one is not None else result.search_table()))
    elif format == OutputFormat.markdown:
        out(to_markdown(result, one))
    else:
        out(to_text(result, one))
    if plots_dir is not None:
        from rdcost.output.plots.tuning import sensitivity, tuning_return

        for name, fn in (("tuning-return.png", tuning_return), ("sensitivity.png", sensitivity)):
            written = fn(result, plots_dir / name)
            err.print(f"rdcost: wrote {written}", markup=False)
    if format in (OutputFormat.json, OutputFormat.csv):
        for n in result.notes:
            err.print(f"rdcost: note: {n}", markup=False)


app.command("tuning")(tuning_command)


# -- sections ------------------------------------------------------------------------------

def _f(v: Any, digits: int = 3) -> str:
    """A metric value: significant digits, not thousands rounding."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:,.0f}"


def _table(columns: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})


def header_lines(t: TuningResult) -> list[str]:
    m = t.method
    lines = [f"metric: {t.metric} ({t.metric_rule}); {'higher' if t.goal == 'max' else 'lower'} is better "
             f"({t.goal_rule}); results from {m['results_from']}" if t.metric else
             "metric: none (no run reports one)",
             f"hyperparameters: {', '.join(t.hyperparameter_keys) or 'none'}; seeds: {', '.join(t.seed_keys) or 'none'}"]
    if t.excluded_keys:
        lines.append("not hyperparameters: " + ", ".join(f"{k} ({why})" for k, why in t.excluded_keys.items()))
    return lines


def hyperparameter_table(t: TuningResult) -> pd.DataFrame:
    h = t.hyperparameters
    return _table({
        "hyperparameter": [x["hyperparameter"] for x in h],
        "searches varying it": [f"{x['n_searches']:,}" for x in h],
        "most important in": [f"{x['n_searches_most_important']:,}" for x in h],
        "eta² median": [fmt(x["eta_squared_median"], "pct") for x in h],
        "eta² IQR": [f"{fmt(x['eta_squared_q1'], 'pct')} - {fmt(x['eta_squared_q3'], 'pct')}" for x in h],
        f"spread median ({t.metric})": [_f(x["spread_median"]) for x in h],
        "spread max": [_f(x["spread_max"]) for x in h]})


def search_table(t: TuningResult) -> pd.DataFrame:
    rows = t.searches
    q = f"p{round(100 * t.method['quantile'])}"

    def cf(s: dict, k: str) -> Any:
        return None if s["counterfactual"] is None else s["counterfactual"][k]

    def role(s: dict, r: str) -> int:
        return next(x["n_runs"] for x in s["repeats"]["roles"] if x["role"] == r)

    return _table({
        "search_id": [s["search_id"] for s in rows],
        "runs": [f"{s['n_runs']:,}" for s in rows],
        "configs": [f"{s['n_configurations']:,}" for s in rows],
        "GPU-hours": [fmt(s["gpu_hours"]) for s in rows],
        f"best {t.metric}": [_f(None if s["best"] is None else s["best"]["metric"], 4) for s in rows],
        "best run #": ["" if s["best"] is None else str(s["best"]["launch_rank"]) for s in rows],
        "top hyperparameter (eta²)": [f"{s['sensitivity'][0]['hyperparameter']} "
                                      f"({fmt(s['sensitivity'][0]['eta_squared'], 'pct')})"
                                      if s["sensitivity"] else "" for s in rows],
        "GPU-h to target (launch order)": [fmt(cf(s, "launch_order_gpu_hours")) if s["counterfactual"] else ""
                                           for s in rows],
        f"random search: mean / {q} GPU-h": [f"{fmt(cf(s, 'mean_gpu_hours'))} / {fmt(cf(s, 'quantile_gpu_hours'))}"
                                             if s["counterfactual"] else "" for s in rows],
        "saved": [fmt(cf(s, "saved_share"), "pct") if s["counterfactual"] else "" for s in rows],
        "seed reps / retries / redundant": [f"{role(s, 'seed_replicate')} / {role(s, 'retry')} / "
                                            f"{role(s, 'redundant')}" for s in rows]})


def counterfactual_lines(t: TuningResult) -> list[str]:
    m, tot = t.method, t.totals
    lines = [f"method: {m['counterfactual']}",
             f"tolerance: {m['tolerance_text']}: a run at most this much worse than its search's best reaches "
             f"the target; {m['n_resamples']:,} resamples per search, {m['rng']}, resample seed "
             f"{m['resample_seed']}; mean and {m['quantile']:g} quantile shown"]
    if tot["counterfactual_mean_gpu_hours"] is not None:
        lines.append(
            f"{tot['counterfactual_n_searches']:,} searches spent {fmt(tot['counterfactual_search_gpu_hours'])} "
            f"GPU-hours; random search would have needed {fmt(tot['counterfactual_mean_gpu_hours'])} on average: "
            f"{fmt(tot['counterfactual_saved_gpu_hours'])} GPU-hours ({fmt(tot['counterfactual_saved_share'], 'pct')})"
            f" or {usd_range(tot['counterfactual_saved_usd_low'], tot['counterfactual_saved_usd_high'])} of cloud "
            "time could have been saved")
    return lines


def repeats_table(t: TuningResult) -> pd.DataFrame:
    r = t.repeats
    return _table({"role": [x["role"] for x in r], "runs": [f"{x['n_runs']:,}" for x in r],
                   "GPU-hours": [fmt(x["gpu_hours"]) for x in r],
                   "cloud_usd (low - high)": [usd_range(x["cloud_usd_low"], x["cloud_usd_high"]) for x in r],
                   "meaning": [x["meaning"] for x in r]})


def price_lines(t: TuningResult) -> list[str]:
    return [f"price {p['gpu_key']}: ${p['usd_per_gpu_hour_low']:g} - ${p['usd_per_gpu_hour_high']:g} per GPU-hour "
            f"({p['price_provider']} {p['pricing_model_low']} / {p['pricing_model_high']}, as of {p['price_as_of_low']}"
            f"; {p['price_note']})" if p["usd_per_gpu_hour_low"] is not None and p["usd_per_gpu_hour_high"] is not None
            else f"price {p['gpu_key']}: unknown" for p in t.prices]


def sections(t: TuningResult) -> list[tuple[str, pd.DataFrame | list[str]]]:
    if t.metric is None:
        cols = ["search_id", "runs", "configs", "GPU-hours", "seed reps / retries / redundant"]
        return [("What the analysis used", [*header_lines(t), *t.statement(),
                                            "hint: ingest the project's W&B or MLflow runs (docs/runs-formats.md); "
                                            "runs that name their Slurm job are linked to it"]),
                ("Searches (first submission first)", search_table(t)[cols]),
                ("Repeated configurations (whole project, launch order)", repeats_table(t))]
    return [("What the analysis used", header_lines(t)),
            ("Which hyperparameters mattered (main effects within each search; eta² = share of the metric's "
             "variance explained by the hyperparameter's values)", hyperparameter_table(t)),
            ("Searches (first submission first)", search_table(t)),
            ("Random search over the same runs (counterfactual)", counterfactual_lines(t)),
            ("Repeated configurations (whole project, launch order)", repeats_table(t)),
            ("For the paper", t.statement()),
            ("Prices", price_lines(t))]


def curve_frame(s: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(s["curve"])


def detail_sections(t: TuningResult, s: dict[str, Any]) -> list[tuple[str, pd.DataFrame | list[str]]]:
    b, cf = s["best"], s["counterfactual"]
    lines = [f"{s['n_runs']:,} runs ({s['n_runs_with_config']:,} with a configuration, {s['n_runs_with_result']:,} "
             f"with a result), {s['n_configurations']:,} configurations, {fmt(s['gpu_hours'])} GPU-hours, "
             f"{usd_range(s['cloud_usd_low'], s['cloud_usd_high'])}",
             f"hyperparameters varied: {', '.join(s['hyperparameters_varied']) or 'none'}"]
    if b is not None:
        cfg = ", ".join(f"{k}={v}" for k, v in {**b["configuration"], **b["seed"]}.items())
        lines.append(f"best {t.metric}: {_f(b['metric'], 5)} by job {b['job_id']} ({cfg}), run #{b['launch_rank']} "
                     f"in launch order, after {fmt(b['cumulative_gpu_hours'])} GPU-hours")
    if s["seed_std"] is not None:
        lines.append(f"seed noise: pooled standard deviation {_f(s['seed_std'])} over "
                     f"{s['n_seed_replicated_configurations']} configurations run with several seeds")
    sens = _table({
        "hyperparameter": [x["hyperparameter"] for x in s["sensitivity"]],
        "values": [str(x["n_values"]) + (" bins" if x["is_binned"] else "") for x in s["sensitivity"]],
        "eta²": [fmt(x["eta_squared"], "pct") for x in s["sensitivity"]],
        "spread": [_f(x["spread"]) for x in s["sensitivity"]],
        "best value": [str(x["best_value"]) for x in s["sensitivity"]],
        f"mean {t.metric} per value (runs)": ["; ".join(f"{v['value']}: {_f(v['mean'], 4)} ({v['n_runs']})"
                                                       for v in x["values"]) for x in s["sensitivity"]]})
    cfl = []
    if cf is not None:
        q = f"{t.method['quantile']:g} quantile"
        cfl = [f"target: {t.metric} {'>=' if t.goal == 'max' else '<='} {_f(cf['target'], 5)} "
               f"(within {t.method['tolerance_text']} of the best); {cf['n_runs_within_tolerance']} of "
               f"{cf['n_runs']} runs reach it",
               f"in launch order: reached at run {cf['launch_order_n_runs']}, after "
               f"{fmt(cf['launch_order_gpu_hours'])} GPU-hours",
               f"random order ({t.method['n_resamples']:,} resamples): mean {_f(cf['mean_n_runs'])} runs, "
               f"{fmt(cf['mean_gpu_hours'])} GPU-hours (exact mean {fmt(cf['exact_mean_gpu_hours'])}); {q} "
               f"{_f(cf['quantile_n_runs'])} runs, {fmt(cf['quantile_gpu_hours'])} GPU-hours",
               f"the search spent {fmt(cf['search_gpu_hours'])} GPU-hours: {fmt(cf['saved_gpu_hours'])} "
               f"({fmt(cf['saved_share'], 'pct')}, {usd_range(cf['saved_usd_low'], cf['saved_usd_high'])}) "
               "more than random search needed on average"]
    roles = s["repeats"]["roles"]
    rt = _table({"role": [x["role"] for x in roles], "runs": [str(x["n_runs"]) for x in roles],
                 "GPU-hours": [fmt(x["gpu_hours"]) for x in roles],
                 "cloud_usd (low - high)": [usd_range(x["cloud_usd_low"], x["cloud_usd_high"]) for x in roles],
                 "note": [f"{x['n_runs_repeating_another_search']} repeat a result of another search"
                          if "n_runs_repeating_another_search" in x else "" for x in roles]})
    reps = s["repeats"]["repeated_configurations"]
    rc = _table({"configuration": [", ".join(f"{k}={v}" for k, v in x["configuration"].items()) for x in reps],
                 "runs": [str(x["n_runs"]) for x in reps], "seeds": [str(x["n_seeds"]) for x in reps],
                 "with result": [str(x["n_runs_with_result"]) for x in reps],
                 "GPU-hours": [fmt(x["gpu_hours"]) for x in reps],
                 f"mean {t.metric}": [_f(x["metric_mean"], 4) for x in reps],
                 "std": [_f(x["metric_std"]) for x in reps]})
    c = curve_frame(s)
    curve = _table({"run #": [str(x) for x in c["launch_rank"]], "job": list(c["job_id"]),
                    "state": list(c["state"]), "GPU-hours": [fmt(x) for x in c["gpu_hours"]],
                    "cumulative GPU-hours": [fmt(x) for x in c["cumulative_gpu_hours"]],
                    t.metric or "metric": [_f(x, 4) for x in c["metric"]],
                    "best so far": [_f(x, 4) for x in c["best_so_far"]]})
    return [("Search", lines), ("Sensitivity (main effects, runs with a result)", sens),
            ("Random search over the same runs (counterfactual)", cfl),
            ("Runs repeating an earlier configuration (whole project, launch order)", rt),
            ("Configurations run more than once in this search", rc if reps else ["none"]),
            ("Tuning return: runs in launch order", curve)]


def to_text(t: TuningResult, one: dict[str, Any] | None = None) -> str:
    who = f"project {t.project}" if t.project else "all stored jobs"
    title = f"rdcost tuning: {who}" + (f", search {one['search_id']}" if one else "")
    parts = [title, "=" * len(title), ""]
    for name, body in (detail_sections(t, one) if one else sections(t)):
        parts.append(name)
        if isinstance(body, list):
            parts += [f"- {x}" for x in body] + [""]
        else:
            parts.append(render.to_text_table(body, max_width=100))
    if t.notes:
        parts += ["Notes", *[f"- {n}" for n in t.notes]]
    return "\n".join(parts) + "\n"


def to_markdown(t: TuningResult, one: dict[str, Any] | None = None) -> str:
    who = f"project {t.project}" if t.project else "all stored jobs"
    title = f"rdcost tuning: {who}" + (f", search {one['search_id']}" if one else "")
    parts = [f"# {render.md_escape(title)}", ""]
    for name, body in (detail_sections(t, one) if one else sections(t)):
        parts += [f"## {render.md_escape(name)}", ""]
        if isinstance(body, list):
            parts += [f"- {render.md_escape(x)}" for x in body] + [""]
        else:
            right = [c for c in body.columns
                     if body[c].map(lambda x: str(x) == "" or str(x)[0] in "0123456789$-").all()]
            parts.append(render.to_markdown(body, align_right=right))
    if t.notes:
        parts += ["## Notes", "", *[f"- {render.md_escape(n)}" for n in t.notes]]
    return "\n".join(parts) + "\n"
