"""The run tables the analysis works on: every compute job as a run in launch order
(:func:`run_table`), and the runs of the grid searches with their progress
(:func:`search_runs`); sums over runs that are unknown when any term is."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rdcost.analysis.tuning.params import TuningParams
from rdcost.analysis.tuning.values import Values


def run_table(
    cj: pd.DataFrame, costs: pd.DataFrame, groups: pd.DataFrame, v: Values, p: TuningParams
) -> pd.DataFrame:
    """One row per compute job, in launch order (submission, else start time): its search, ids,
    state, GPU-hours and cost, result (``y``; only COMPLETED runs' if ``p.completed_only``),
    ``score`` (higher is better), configuration text ``config`` (seeds excluded) and ``exact``
    (seeds included)."""
    state = cj["state"].astype("string")
    done = (
        state.eq("COMPLETED").fillna(False).astype(bool)
        if p.completed_only
        else pd.Series(True, index=cj.index)
    )
    submit = pd.to_datetime(cj["submit_time"], utc=True).fillna(
        pd.to_datetime(cj["start_time"], utc=True)
    )
    r = pd.DataFrame(
        {
            "search": groups["search_id"].astype("string"),
            "launch": submit,
            "job_id": cj["job_id"].astype("string"),
            "run_id": cj["run_id"].astype("string"),
            "state": state,
            "gh": costs["gpu_hours"].astype("float64"),
            "usd_low": costs["cloud_usd_low"].astype("float64"),
            "usd_high": costs["cloud_usd_high"].astype("float64"),
            "has_config": v.has_config,
            "y": v.y.where(done),
        },
        index=cj.index,
    )
    r["has_result"] = r["y"].notna()
    r["score"] = -r["y"] if v.goal == "min" else r["y"]
    r = r.sort_values(["launch", "job_id"], kind="stable", na_position="last")
    r["config"] = config_text(v.hp.loc[r.index]).where(r["has_config"])
    r["exact"] = (r["config"] + "|" + v.seed.loc[r.index]).where(r["has_config"])
    return r


def search_runs(r: pd.DataFrame, goal: str | None) -> pd.DataFrame:
    """The runs of ``r`` that are in a search, with their launch rank in it (``order``), the
    cumulative GPU-hours (unknown from the first unknown on), the metric and the best so far."""
    g = r[r["search"].notna()].copy()
    by = g.groupby("search", sort=False)
    g["order"] = by.cumcount() + 1
    g["cum_gh"] = by["gh"].cumsum()
    g.loc[g["gh"].isna().groupby(g["search"], sort=False).cumsum() > 0, "cum_gh"] = (
        np.nan
    )  # unknown from there on
    g["best_so_far"] = by["score"].cummax()
    g["best_so_far"] = g.groupby("search", sort=False)["best_so_far"].ffill()
    sign = -1.0 if goal == "min" else 1.0
    g["metric"] = sign * g["score"]
    g["best_so_far"] = sign * g["best_so_far"]
    return g


def config_text(hp: pd.DataFrame) -> pd.Series:
    """Each row's hyperparameter values (canonical texts) as one comparable text."""
    text = pd.Series("{", index=hp.index)
    for k in hp.columns:
        text = text + json.dumps(k) + ":" + hp[k] + ","
    return text + "}"


def known_sum(s: pd.Series) -> float | None:
    """The sum, or None when any term is unknown."""
    return None if s.isna().any() else float(s.sum())


def group_sums(g: pd.DataFrame, keys: list[str], extra: str | None = None) -> pd.DataFrame:
    """Runs, GPU-hours and cost per group; a sum is unknown (NaN) when any of its terms is."""
    cols = [g[k] for k in keys]
    by = g.groupby(cols, sort=False)
    out = pd.DataFrame({"n": by.size()})
    for c in ("gh", "usd_low", "usd_high"):
        out[c] = by[c].sum().mask(g[c].isna().groupby(cols, sort=False).any())
    if extra:
        out[extra] = by[extra].sum()
    return out
