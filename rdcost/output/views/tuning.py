"""Hyperparameter tuning (:class:`rdcost.analysis.tuning.TuningResult`) as titled tables and
lines: what the analysis used, which hyperparameters mattered, the searches, random search
over the same runs, repeated runs, the sentences for the paper; or one search in detail."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rdcost.analysis.tuning import TuningResult
from rdcost.output.blocks import BulletList, Document, Heading, Table
from rdcost.output.numbers import (
    given,
    integer,
    is_unknown,
    metric,
    number,
    pct,
    significant,
    usd_range,
    usd_rate,
)
from rdcost.plural import plural

Section = tuple[str, Table | list[str]]


def _goal(t: TuningResult) -> str:
    return "higher" if t.goal == "max" else "lower"


def header_lines(t: TuningResult) -> list[str]:
    m = t.method
    lines = [
        f"metric: {t.metric} ({t.metric_rule}); {_goal(t)} is better ({t.goal_rule}); results from "
        f"{m['results_from']}"
        if t.metric
        else "metric: none (no run reports one)",
        f"hyperparameters: {', '.join(t.hyperparameter_keys) or 'none'}; seeds: {', '.join(t.seed_keys) or 'none'}",
    ]
    if t.excluded_keys:
        lines.append(
            "not hyperparameters: "
            + ", ".join(f"{k} ({why})" for k, why in t.excluded_keys.items())
        )
    return lines


def hyperparameter_table(t: TuningResult) -> Table:
    cols = (
        "hyperparameter",
        "searches varying it",
        "most important in",
        "eta² median",
        "eta² IQR",
        f"spread median ({t.metric})",
        "spread max",
    )
    rows = [
        (
            x["hyperparameter"],
            integer(x["n_searches"]),
            integer(x["n_searches_most_important"]),
            pct(x["eta_squared_median"]),
            f"{pct(x['eta_squared_q1'])} - {pct(x['eta_squared_q3'])}",
            metric(x["spread_median"]),
            metric(x["spread_max"]),
        )
        for x in t.hyperparameters
    ]
    return Table.of(cols, rows, right=cols[1:])


def _role(s: dict, r: str) -> int:
    return next(x["n_runs"] for x in s["repeats"]["roles"] if x["role"] == r)


def _reps(s: dict) -> str:
    return f"{_role(s, 'seed_replicate')} / {_role(s, 'retry')} / {_role(s, 'redundant')}"


def _top(s: dict) -> str:
    if not s["sensitivity"]:
        return ""
    top = s["sensitivity"][0]
    return f"{top['hyperparameter']} ({pct(top['eta_squared'])})"


def search_table(t: TuningResult, columns: tuple[str, ...] | None = None) -> Table:
    """One row per search, first submission first (``columns``: only these)."""
    q = f"p{round(100 * t.method['quantile'])}"
    cols = (
        "search_id",
        "runs",
        "configs",
        "GPU-hours",
        f"best {t.metric}",
        "best run #",
        "top hyperparameter (eta²)",
        "GPU-h to target (launch order)",
        f"random search: mean / {q} GPU-h",
        "saved",
        "seed reps / retries / redundant",
    )
    rows = []
    for s in t.searches:
        cf, b = s["counterfactual"], s["best"]
        rows.append(
            (
                s["search_id"],
                integer(s["n_runs"]),
                integer(s["n_configurations"]),
                number(s["gpu_hours"]),
                "" if b is None else metric(b["metric"], 4),
                "" if b is None else str(b["launch_rank"]),
                _top(s),
                "" if cf is None else number(cf["launch_order_gpu_hours"]),
                ""
                if cf is None
                else f"{number(cf['mean_gpu_hours'])} / {number(cf['quantile_gpu_hours'])}",
                "" if cf is None else pct(cf["saved_share"]),
                _reps(s),
            )
        )
    full = Table.of(
        cols, rows, right=[c for c in cols if c not in ("search_id", "top hyperparameter (eta²)")]
    )
    return full if columns is None else select(full, columns)


def select(t: Table, columns: tuple[str, ...]) -> Table:
    """The table with only these columns, in this order."""
    at = [t.columns.index(c) for c in columns]
    return Table(
        tuple(columns),
        tuple(tuple(r[i] for i in at) for r in t.rows),
        frozenset(c for c in columns if c in t.right),
        t.breakable,
        t.max_width,
    )


def counterfactual_lines(t: TuningResult) -> list[str]:
    m, tot = t.method, t.totals
    lines = [
        f"method: {m['counterfactual']}",
        f"tolerance: {m['tolerance_text']}: a run at most this much worse than its search's best reaches "
        f"the target; {integer(m['n_resamples'])} resamples per search, {m['rng']}, resample seed "
        f"{m['resample_seed']}; mean and {given(m['quantile'])} quantile shown",
    ]
    if tot["counterfactual_mean_gpu_hours"] is not None:
        lines.append(
            f"{plural(tot['counterfactual_n_searches'], 'search')} spent {number(tot['counterfactual_search_gpu_hours'])} "
            f"GPU-hours; random search would have needed {number(tot['counterfactual_mean_gpu_hours'])} on average: "
            f"{number(tot['counterfactual_saved_gpu_hours'])} GPU-hours ({pct(tot['counterfactual_saved_share'])})"
            f" or {usd_range(tot['counterfactual_saved_usd_low'], tot['counterfactual_saved_usd_high'])} of cloud "
            "time could have been saved"
        )
    return lines


def repeats_table(t: TuningResult) -> Table:
    rows = [
        (
            x["role"],
            integer(x["n_runs"]),
            number(x["gpu_hours"]),
            usd_range(x["cloud_usd_low"], x["cloud_usd_high"]),
            x["meaning"],
        )
        for x in t.repeats
    ]
    return Table.of(
        ("role", "runs", "GPU-hours", "cloud_usd (low - high)", "meaning"),
        rows,
        right=("runs", "GPU-hours", "cloud_usd (low - high)"),
    )


def price_lines(t: TuningResult) -> list[str]:
    return [
        f"price {p['gpu_key']}: {usd_rate(p['usd_per_gpu_hour_low'])} - {usd_rate(p['usd_per_gpu_hour_high'])} "
        f"per GPU-hour ({p['price_provider']} {p['pricing_model_low']} / {p['pricing_model_high']}, as of "
        f"{p['price_as_of_low']}; {p['price_note']})"
        if not is_unknown(p["usd_per_gpu_hour_low"]) and not is_unknown(p["usd_per_gpu_hour_high"])
        else f"price {p['gpu_key']}: unknown"
        for p in t.prices
    ]


def sections(t: TuningResult) -> list[Section]:
    if t.metric is None:
        cols = ("search_id", "runs", "configs", "GPU-hours", "seed reps / retries / redundant")
        return [
            (
                "What the analysis used",
                [
                    *header_lines(t),
                    *t.statement(),
                    "hint: ingest the project's W&B or MLflow runs (docs/runs-formats.md); "
                    "runs that name their Slurm job are linked to it",
                ],
            ),
            ("Searches (first submission first)", search_table(t, cols)),
            ("Repeated configurations (whole project, launch order)", repeats_table(t)),
        ]
    return [
        ("What the analysis used", header_lines(t)),
        (
            "Which hyperparameters mattered (main effects within each search; eta² = share of the metric's "
            "variance explained by the hyperparameter's values)",
            hyperparameter_table(t),
        ),
        ("Searches (first submission first)", search_table(t)),
        ("Random search over the same runs (counterfactual)", counterfactual_lines(t)),
        ("Repeated configurations (whole project, launch order)", repeats_table(t)),
        ("For the paper", t.statement()),
        ("Prices", price_lines(t)),
    ]


# -- one search ------------------------------------------------------------------------------


def curve_frame(s: dict[str, Any]) -> pd.DataFrame:
    """The search's runs in launch order (the CSV of --search)."""
    return pd.DataFrame(s["curve"])


def _search_lines(t: TuningResult, s: dict[str, Any]) -> list[str]:
    b = s["best"]
    lines = [
        f"{plural(s['n_runs'], 'run')} ({integer(s['n_runs_with_config'])} with a configuration, "
        f"{integer(s['n_runs_with_result'])} with a result), {integer(s['n_configurations'])} configurations, "
        f"{number(s['gpu_hours'])} GPU-hours, {usd_range(s['cloud_usd_low'], s['cloud_usd_high'])}",
        f"hyperparameters varied: {', '.join(s['hyperparameters_varied']) or 'none'}",
    ]
    if b is not None:
        cfg = ", ".join(f"{k}={v}" for k, v in {**b["configuration"], **b["seed"]}.items())
        lines.append(
            f"best {t.metric}: {metric(b['metric'], 5)} by job {b['job_id']} ({cfg}), run "
            f"#{b['launch_rank']} in launch order, after {number(b['cumulative_gpu_hours'])} GPU-hours"
        )
    if s["seed_std"] is not None:
        lines.append(
            f"seed noise: pooled standard deviation {metric(s['seed_std'])} over "
            f"{s['n_seed_replicated_configurations']} configurations run with several seeds"
        )
    return lines


def _sensitivity_table(t: TuningResult, s: dict[str, Any]) -> Table:
    cols = (
        "hyperparameter",
        "values",
        "eta²",
        "spread",
        "best value",
        f"mean {t.metric} per value (runs)",
    )
    rows = [
        (
            x["hyperparameter"],
            str(x["n_values"]) + (" bins" if x["is_binned"] else ""),
            pct(x["eta_squared"]),
            metric(x["spread"]),
            str(x["best_value"]),
            "; ".join(f"{v['value']}: {metric(v['mean'], 4)} ({v['n_runs']})" for v in x["values"]),
        )
        for x in s["sensitivity"]
    ]
    return Table.of(cols, rows, right=("values", "eta²", "spread"))


def _counterfactual_lines(t: TuningResult, cf: dict[str, Any] | None) -> list[str]:
    if cf is None:
        return []
    q = f"{given(t.method['quantile'])} quantile"
    return [
        f"target: {t.metric} {'>=' if t.goal == 'max' else '<='} {metric(cf['target'], 5)} "
        f"(within {t.method['tolerance_text']} of the best); {cf['n_runs_within_tolerance']} of "
        f"{cf['n_runs']} runs reach it",
        f"in launch order: reached at run {cf['launch_order_n_runs']}, after "
        f"{number(cf['launch_order_gpu_hours'])} GPU-hours",
        f"random order ({integer(t.method['n_resamples'])} resamples): mean {metric(cf['mean_n_runs'])} runs, "
        f"{number(cf['mean_gpu_hours'])} GPU-hours (exact mean {number(cf['exact_mean_gpu_hours'])}); {q} "
        f"{metric(cf['quantile_n_runs'])} runs, {number(cf['quantile_gpu_hours'])} GPU-hours",
        f"the search spent {number(cf['search_gpu_hours'])} GPU-hours: {number(cf['saved_gpu_hours'])} "
        f"({pct(cf['saved_share'])}, {usd_range(cf['saved_usd_low'], cf['saved_usd_high'])}) "
        "more than random search needed on average",
    ]


def _roles_table(s: dict[str, Any]) -> Table:
    rows = [
        (
            x["role"],
            str(x["n_runs"]),
            number(x["gpu_hours"]),
            usd_range(x["cloud_usd_low"], x["cloud_usd_high"]),
            f"{x['n_runs_repeating_another_search']} repeat a result of another search"
            if "n_runs_repeating_another_search" in x
            else "",
        )
        for x in s["repeats"]["roles"]
    ]
    return Table.of(
        ("role", "runs", "GPU-hours", "cloud_usd (low - high)", "note"),
        rows,
        right=("runs", "GPU-hours", "cloud_usd (low - high)"),
    )


def _repeated_table(t: TuningResult, reps: list[dict[str, Any]]) -> Table:
    cols = ("configuration", "runs", "seeds", "with result", "GPU-hours", f"mean {t.metric}", "std")
    rows = [
        (
            ", ".join(f"{k}={v}" for k, v in x["configuration"].items()),
            str(x["n_runs"]),
            str(x["n_seeds"]),
            str(x["n_runs_with_result"]),
            number(x["gpu_hours"]),
            metric(x["metric_mean"], 4),
            metric(x["metric_std"]),
        )
        for x in reps
    ]
    return Table.of(cols, rows, right=cols[1:])


def _curve_table(t: TuningResult, s: dict[str, Any]) -> Table:
    c = curve_frame(s)
    cols = (
        "run #",
        "job",
        "state",
        "GPU-hours",
        "cumulative GPU-hours",
        t.metric or "metric",
        "best so far",
    )
    rows = zip(
        [str(x) for x in c["launch_rank"]],
        list(c["job_id"]),
        list(c["state"]),
        [number(x) for x in c["gpu_hours"]],
        [number(x) for x in c["cumulative_gpu_hours"]],
        [metric(x, 4) for x in c["metric"]],
        [metric(x, 4) for x in c["best_so_far"]],
        strict=True,
    )
    return Table.of(
        cols,
        rows,
        right=("run #", "GPU-hours", "cumulative GPU-hours", t.metric or "metric", "best so far"),
    )


def detail_sections(t: TuningResult, s: dict[str, Any]) -> list[Section]:
    reps = s["repeats"]["repeated_configurations"]
    return [
        ("Search", _search_lines(t, s)),
        ("Sensitivity (main effects, runs with a result)", _sensitivity_table(t, s)),
        (
            "Random search over the same runs (counterfactual)",
            _counterfactual_lines(t, s["counterfactual"]),
        ),
        ("Runs repeating an earlier configuration (whole project, launch order)", _roles_table(s)),
        (
            "Configurations run more than once in this search",
            _repeated_table(t, reps) if reps else ["none"],
        ),
        ("Tuning return: runs in launch order", _curve_table(t, s)),
    ]


def title(t: TuningResult, one: dict[str, Any] | None = None) -> str:
    who = f"project {t.project}" if t.project else "all stored jobs"
    return f"rdcost tuning: {who}" + (f", search {one['search_id']}" if one else "")


def document(t: TuningResult, one: dict[str, Any] | None = None) -> Document:
    """`rdcost tuning`: every search (or ``one`` in detail), then the notes."""
    blocks: list = [Heading(title(t, one), level=1)]
    for name, body in detail_sections(t, one) if one else sections(t):
        blocks += [Heading(name), BulletList(body) if isinstance(body, list) else body]
    if t.notes:
        blocks += [Heading("Notes"), BulletList(t.notes)]
    return Document(title(t, one), blocks)


# -- the report's table -------------------------------------------------------------------------


def largest_searches_table(t: TuningResult, top: int) -> Table:
    """The ``top`` largest searches by GPU-hours (the report's table), searches named where they have a name."""
    d = t.search_table()
    d = (
        d.assign(gh=pd.to_numeric(d["gpu_hours"], errors="coerce"))
        .sort_values("gh", ascending=False, kind="stable", na_position="last")
        .head(top)
    )
    q = f"p{round(100 * t.method['quantile'])}"
    cols = (
        "search (name or id)",
        "runs",
        "configs",
        "GPU-hours",
        f"best {t.metric}",
        "top hyperparameter (eta²)",
        "seed std",
        "GPU-hours to target, launch order",
        f"random search, mean / {q} GPU-hours",
        "saved",
        "seed reps / retries / redundant",
    )
    rows = []
    for r in d.itertuples(index=False):
        cf = pd.notna(r.random_mean_gpu_hours)
        rows.append(
            (
                r.name if isinstance(r.name, str) and r.name else r.search_id,
                number(int(r.n_runs)),
                number(int(r.n_configurations)),
                number(r.gpu_hours),
                metric(r.best_metric, 4),
                f"{r.top_hyperparameter} ({pct(r.top_eta_squared)})"
                if isinstance(r.top_hyperparameter, str)
                else "",
                significant(r.seed_std, 3, missing=""),
                number(r.launch_order_gpu_hours) if cf else "",
                f"{number(r.random_mean_gpu_hours)} / {number(r.random_quantile_gpu_hours)}"
                if cf
                else "",
                pct(r.saved_share, missing=""),
                f"{int(r.n_seed_replicates)} / {int(r.n_retries)} / {int(r.n_redundant)}",
            )
        )
    return Table.of(
        cols if rows else (),
        rows,
        right=[c for c in cols if c not in ("search (name or id)", "top hyperparameter (eta²)")],
    )
