"""The result of the tuning analysis (:class:`TuningResult`): its JSON, its per-search table and
the sentences it gives a compute statement."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdcost.errors import UsageError
from rdcost.output.render import json_ready

SCHEMA_VERSION = 1


@dataclass
class TuningResult:
    """The analysis. Every field is documented in docs/tuning.md ("The JSON")."""

    project: str | None
    metric: str | None
    goal: str | None
    metric_rule: str
    goal_rule: str | None
    is_role_guessed: bool
    hyperparameter_keys: list[str]
    seed_keys: list[str]
    excluded_keys: dict[str, str]
    method: dict[str, Any]
    totals: dict[str, Any]
    hyperparameters: list[dict[str, Any]]
    repeats: list[dict[str, Any]]
    searches: list[dict[str, Any]]
    prices: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {"schema_version": SCHEMA_VERSION}
        d.update(asdict(self))
        return json_ready(d)

    def search_table(self) -> pd.DataFrame:
        """One row per search (the table and CSV form)."""
        return _search_table(self)

    def search(self, search_id: str) -> dict[str, Any]:
        for s in self.searches:
            if s["search_id"] == search_id:
                return s
        known = ", ".join(s["search_id"] for s in self.searches[:5])
        raise UsageError(
            "no such search",
            value=search_id,
            hint=f"`rdcost tuning` lists the search ids (e.g. {known})",
        )

    def statement(self) -> list[str]:
        """A few sentences for a paper's compute statement (what :mod:`rdcost.output.statement` prints)."""
        return [text for _, text in _statement(self)]

    def statement_items(self) -> list[tuple[str, str]]:
        """The sentences of :meth:`statement`, each with what it is about: ``searches``,
        ``sensitivity`` (which hyperparameters mattered), ``seeds`` (seed noise),
        ``counterfactual`` (random search over the same runs), ``repeats``; or only
        ``not_available`` when no search has runs with a metric."""
        return _statement(self)


def _search_table(t: TuningResult) -> pd.DataFrame:
    rows = []
    for s in t.searches:
        cf, b = s["counterfactual"] or {}, s["best"] or {}
        top = s["sensitivity"][0] if s["sensitivity"] else {}
        roles = {x["role"]: x for x in s["repeats"]["roles"]}
        rows.append(
            {
                "search_id": s["search_id"],
                "name": s["name"],
                "metric": t.metric,
                "n_runs": s["n_runs"],
                "n_configurations": s["n_configurations"],
                "gpu_hours": s["gpu_hours"],
                "best_metric": b.get("metric"),
                "best_launch_rank": b.get("launch_rank"),
                "top_hyperparameter": top.get("hyperparameter"),
                "top_eta_squared": top.get("eta_squared"),
                "top_spread": top.get("spread"),
                "seed_std": s["seed_std"],
                "launch_order_gpu_hours": cf.get("launch_order_gpu_hours"),
                "random_mean_gpu_hours": cf.get("mean_gpu_hours"),
                "random_quantile_gpu_hours": cf.get("quantile_gpu_hours"),
                "saved_share": cf.get("saved_share"),
                "n_seed_replicates": roles["seed_replicate"]["n_runs"],
                "n_retries": roles["retry"]["n_runs"],
                "n_redundant": roles["redundant"]["n_runs"],
                "redundant_gpu_hours": roles["redundant"]["gpu_hours"],
            }
        )
    return pd.DataFrame(rows)


def _pct(x: float | None) -> str:
    return "unknown" if x is None else f"{100 * x:.0f}%"


def _statement(t: TuningResult) -> list[tuple[str, str]]:
    tot = t.totals
    if t.metric is None:
        return [
            (
                "not_available",
                "No run reports hyperparameters and a metric: tuning sensitivity is not available.",
            )
        ]
    if not t.searches:
        return [
            (
                "not_available",
                f"No run that reports {t.metric} is in a grid search: tuning sensitivity is not "
                "available.",
            )
        ]
    lines = [
        (
            "searches",
            f"{tot['n_searches']:,} hyperparameter searches ({tot['n_runs_in_searches']:,} runs, "
            f"{tot['n_configurations']:,} distinct configurations"
            + (
                f", {tot['gpu_hours_in_searches']:,.0f} GPU-hours"
                if tot["gpu_hours_in_searches"] is not None
                else ""
            )
            + f"), tuned for {t.metric} ({'higher' if t.goal == 'max' else 'lower'} is better).",
        )
    ]
    hs = [h for h in t.hyperparameters if h["eta_squared_median"] is not None]
    if hs:
        parts = [
            f"{h['hyperparameter']} (median {_pct(h['eta_squared_median'])} of the variance within a "
            f"search, spread {h['spread_median']:.3g}; {h['n_searches']} searches)"
            for h in hs[:3]
        ]
        lines.append(
            (
                "sensitivity",
                f"{t.metric} depended most on "
                + ", then ".join(parts)
                + " (main effects, eta-squared).",
            )
        )
    seeds = [s["seed_std"] for s in t.searches if s["seed_std"] is not None]
    if seeds:
        lines.append(
            (
                "seeds",
                f"Across seeds of the same configuration, {t.metric} varied with a median standard "
                f"deviation of {float(np.median(seeds)):.3g} ({len(seeds)} searches).",
            )
        )
    if tot["counterfactual_mean_gpu_hours"] is not None:
        m = t.method
        lines.append(
            (
                "counterfactual",
                f"A random search over the same runs would have reached within {m['tolerance_text']} of "
                f"each search's best after {tot['counterfactual_mean_gpu_hours']:,.0f} GPU-hours on average "
                f"({_pct(1 - (tot['counterfactual_saved_share'] or 0))} of the "
                f"{tot['counterfactual_search_gpu_hours']:,.0f} spent; resampled "
                f"{m['n_resamples']:,} times, seed {m['resample_seed']}).",
            )
        )
    red = {x["role"]: x for x in t.repeats}
    if red["redundant"]["n_runs"] or red["retry"]["n_runs"]:
        gh = red["redundant"]["gpu_hours"]
        lines.append(
            (
                "repeats",
                f"{red['redundant']['n_runs']:,} runs repeated a configuration and seed that had "
                "already given a result"
                + (f" ({gh:,.0f} GPU-hours)" if gh is not None else "")
                + f"; {red['retry']['n_runs']:,} were retries of runs without a result.",
            )
        )
    return lines
