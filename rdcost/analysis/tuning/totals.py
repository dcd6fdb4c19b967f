"""Project-level figures across the searches: the totals, each hyperparameter's importance across
searches (roll-up), and the cloud prices behind the costs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.tuning.runs import known_sum
from rdcost.output.render import json_ready


def totals(
    searches: list[dict[str, Any]], r: pd.DataFrame, in_search: pd.DataFrame
) -> dict[str, Any]:
    """The JSON's ``totals`` from the search entries, all runs ``r`` and the runs in searches."""
    cf = [s["counterfactual"] for s in searches if s["counterfactual"] is not None]
    known = [c for c in cf if c["mean_gpu_hours"] is not None]
    spent = sum(c["search_gpu_hours"] for c in known)
    mean = sum(c["mean_gpu_hours"] for c in known)
    return {
        "n_searches": len(searches),
        "n_searches_with_result": len(cf),
        "n_runs_in_searches": len(in_search),
        "n_runs_with_config": int(r["has_config"].sum()),
        "n_runs_with_result": int(r["has_result"].sum()),
        "n_configurations": int(r.loc[r["has_config"], "config"].nunique()),
        "gpu_hours_in_searches": known_sum(in_search["gh"]),
        "cloud_usd_low_in_searches": known_sum(in_search["usd_low"]),
        "cloud_usd_high_in_searches": known_sum(in_search["usd_high"]),
        "counterfactual_n_searches": len(known),
        "counterfactual_search_gpu_hours": spent if known else None,
        "counterfactual_mean_gpu_hours": mean if known else None,
        "counterfactual_saved_gpu_hours": spent - mean if known else None,
        "counterfactual_saved_share": (spent - mean) / spent if known and spent else None,
        "counterfactual_saved_usd_low": _sum_known(known, "saved_usd_low"),
        "counterfactual_saved_usd_high": _sum_known(known, "saved_usd_high"),
    }


def _sum_known(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [x[key] for x in rows]
    return None if not vals or any(x is None for x in vals) else float(sum(vals))


def rollup(searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per hyperparameter across the searches that varied it: eta-squared median and quartiles,
    how often it was the most important, spread; most important first."""
    rows = [(s["search_id"], h) for s in searches for h in s["sensitivity"]]
    if not rows:
        return []
    d = pd.DataFrame(
        {
            "search": [a for a, _ in rows],
            "key": [h["hyperparameter"] for _, h in rows],
            "eta": [np.nan if h["eta_squared"] is None else h["eta_squared"] for _, h in rows],
            "spread": [h["spread"] for _, h in rows],
        }
    )
    top = d.sort_values("eta", ascending=False, kind="stable").groupby("search").head(1)
    n_top = top["key"].value_counts()
    out = []
    for key, x in d.groupby("key", sort=False):
        e = x["eta"].dropna()
        out.append(
            {
                "hyperparameter": key,
                "n_searches": len(x),
                "n_searches_most_important": int(n_top.get(key, 0)),
                "eta_squared_median": None if e.empty else float(e.median()),
                "eta_squared_q1": None if e.empty else float(e.quantile(0.25)),
                "eta_squared_q3": None if e.empty else float(e.quantile(0.75)),
                "spread_median": float(x["spread"].median()),
                "spread_max": float(x["spread"].max()),
            }
        )
    out.sort(key=lambda h: (-(h["eta_squared_median"] or 0.0), h["hyperparameter"]))
    return out


def prices(costs: pd.DataFrame) -> list[dict[str, Any]]:
    """The distinct cloud prices of the jobs with GPU time (the JSON's ``prices``)."""
    c = costs[costs["gpu_hours"] > 0]
    cols = [
        "gpu_key",
        "usd_per_gpu_hour_low",
        "usd_per_gpu_hour_high",
        "price_provider",
        "pricing_model_low",
        "pricing_model_high",
        "price_as_of_low",
        "price_as_of_high",
        "price_note",
    ]
    if c.empty:
        return []
    u = c[cols].astype(object).drop_duplicates()
    return [
        {k: json_ready(x) for k, x in zip(cols, row, strict=True)}
        for row in u.itertuples(index=False)
    ]
