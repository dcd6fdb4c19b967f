"""Per-search statistics: how much the metric depends on each hyperparameter the search varied
(the spread of the mean metric across its values and eta-squared; main effects, one hyperparameter
at a time) and on the seed (pooled standard deviation across seeds of the same configuration)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.tuning.values import Values, uncanon
from rdcost.output.render import json_ready

#: A numeric hyperparameter with more distinct values than this in a search is cut into
#: N_BINS bins of equal counts (quantiles) for the sensitivity.
MAX_LEVELS = 10
N_BINS = 5


def varied(g: pd.DataFrame, v: Values) -> dict[str, list[str]]:
    """Per search: the hyperparameter keys with more than one value among its runs with a configuration."""
    c = g[g["has_config"]]
    if c.empty or not v.hp_keys:
        return {}
    n = v.hp.loc[c.index].groupby(c["search"].to_numpy(), sort=False).nunique()
    return {sid: [k for k in v.hp_keys if row[k] > 1] for sid, row in n.iterrows()}


def sensitivity(g: pd.DataFrame, v: Values, sign: float) -> dict[str, list[dict[str, Any]]]:
    """Per search: per hyperparameter it varied (2+ values among runs with a result), the values'
    mean metric, their spread and eta-squared; most explaining first."""
    long = _level_frame(g, v)
    if long.empty:
        return {}
    keys = ["search", "key"]
    smean = long.groupby(keys, sort=False)["score"].transform("mean")
    long["sst"] = (long["score"] - smean) ** 2
    long["smean"] = smean
    lv = (
        long.groupby([*keys, "level"], sort=False)
        .agg(
            mean=("score", "mean"),
            n=("score", "size"),
            is_binned=("is_binned", "first"),
            num=("num", "min"),
            smean=("smean", "first"),
        )
        .reset_index()
    )
    lv["ssb"] = lv["n"] * (lv["mean"] - lv["smean"]) ** 2
    per = lv.groupby(keys, sort=False).agg(
        n_values=("level", "size"),
        top=("mean", "max"),
        bottom=("mean", "min"),
        ssb=("ssb", "sum"),
        is_binned=("is_binned", "first"),
    )
    per["sst"] = long.groupby(keys, sort=False)["sst"].sum()
    per = per[per["n_values"] >= 2]
    per["eta_squared"] = (per["ssb"] / per["sst"]).where(per["sst"] > 0)
    per["spread"] = per["top"] - per["bottom"]
    per = per.sort_values(
        ["eta_squared", "spread"], ascending=False, kind="stable", na_position="last"
    )
    lv = lv.sort_values([*keys, "num", "level"], kind="stable", na_position="last")
    levels: dict[tuple[str, str], list[dict[str, Any]]] = {}
    best: dict[tuple[str, str], tuple[float, Any]] = {}
    for sid, key, level, mean, n, binned in zip(
        lv["search"], lv["key"], lv["level"], lv["mean"], lv["n"], lv["is_binned"], strict=True
    ):
        value = uncanon(level, binned)
        levels.setdefault((sid, key), []).append(
            {"value": value, "n_runs": int(n), "mean": sign * float(mean)}
        )
        if (sid, key) not in best or mean > best[(sid, key)][0]:
            best[(sid, key)] = (mean, value)
    out: dict[str, list[dict[str, Any]]] = {}
    for (sid, key), x in zip(per.index, per.itertuples(index=False), strict=True):
        out.setdefault(sid, []).append(
            {
                "hyperparameter": key,
                "n_values": int(x.n_values),
                "spread": float(x.spread),
                "eta_squared": json_ready(x.eta_squared),
                "best_value": best[(sid, key)][1],
                "is_binned": bool(x.is_binned),
                "values": levels[(sid, key)],
            }
        )
    return out


def seed_std(g: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """Per search: (configurations run with 2+ seeds, pooled std of the metric across their seeds)."""
    res = g[g["has_result"] & g["has_config"]]
    k = res.groupby(["search", "config"], sort=False)
    rep = res[(k["score"].transform("size") >= 2) & (k["exact"].transform("nunique") >= 2)]
    if rep.empty:
        return {}
    dev2 = (
        rep["score"] - rep.groupby(["search", "config"], sort=False)["score"].transform("mean")
    ) ** 2
    agg = (
        pd.DataFrame({"search": rep["search"], "config": rep["config"], "dev2": dev2})
        .groupby("search")
        .agg(ss=("dev2", "sum"), n=("dev2", "size"), n_configs=("config", "nunique"))
    )
    sd = np.sqrt(agg["ss"] / (agg["n"] - agg["n_configs"]))
    return {
        sid: (int(n), float(x)) for sid, n, x in zip(agg.index, agg["n_configs"], sd, strict=True)
    }


def _level_frame(g: pd.DataFrame, v: Values) -> pd.DataFrame:
    """Long frame (search, key, level, score) of the runs with a result, numeric keys with many
    values cut into quantile bins within their search."""
    res = g[g["has_result"] & g["has_config"]]
    if res.empty or not v.hp_keys:
        return pd.DataFrame(columns=["search", "key", "level", "num", "score", "is_binned"])
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "search": res["search"].to_numpy(),
                    "key": k,
                    "level": v.hp.loc[res.index, k].to_numpy(),
                    "num": v.hp_num.loc[res.index, k].to_numpy(),
                    "score": res["score"].to_numpy(),
                }
            )
            for k in v.hp_keys
        ],
        ignore_index=True,
    )
    keys = [long["search"], long["key"]]
    n_levels = long.groupby(keys, sort=False)["level"].transform("nunique")
    many = (n_levels > MAX_LEVELS) & long["num"].notna().groupby(keys, sort=False).transform("all")
    if many.any():
        m = long[many]
        pct = m.groupby(["search", "key"], sort=False)["num"].rank(method="average", pct=True)
        b = np.clip(np.ceil(pct * N_BINS), 1, N_BINS).astype(int)
        lo = m["num"].groupby([m["search"], m["key"], b]).transform("min")
        hi = m["num"].groupby([m["search"], m["key"], b]).transform("max")
        long.loc[many, "level"] = [f"{a:g}..{z:g}" for a, z in zip(lo, hi, strict=True)]
    long["is_binned"] = many
    return long
