"""One entry per grid search (the JSON's ``searches``): its runs, GPU-hours and cost, best result,
sensitivity, seed noise, counterfactual, repeats and tuning-return curve."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rdcost import progress
from rdcost.analysis.tuning.counterfactual import counterfactual
from rdcost.analysis.tuning.params import TuningParams
from rdcost.analysis.tuning.repeats import ROLES, repeated_configurations
from rdcost.analysis.tuning.runs import group_sums
from rdcost.analysis.tuning.sensitivity import seed_std, sensitivity, varied
from rdcost.analysis.tuning.values import Values, uncanon
from rdcost.output.render import iso, json_ready


def search_entries(
    g: pd.DataFrame, searches: pd.DataFrame, v: Values, p: TuningParams
) -> list[dict[str, Any]]:
    """The entry of every search with runs (``g``: :func:`rdcost.analysis.tuning.runs.search_runs`),
    in the order of ``searches`` (the grid searches found), then by id."""
    sign = -1.0 if v.goal == "min" else 1.0
    var = varied(g, v)
    sens, seed_sd, reps = (
        sensitivity(g, v, sign),
        seed_std(g),
        repeated_configurations(g, v, var, sign),
    )
    meta = (
        searches.set_index("search_id")
        if len(searches)
        else pd.DataFrame(columns=["search_method", "name"])
    )
    per = group_sums(g, ["search"])
    by = g.groupby("search", sort=False)
    per["n_config"] = by["has_config"].sum()
    per["n_result"] = by["has_result"].sum()
    per["n_configs"] = by["config"].nunique()
    per["first"] = by["launch"].min()
    roles = group_sums(
        g.assign(other=g["repeats_other_search"].fillna(False).astype(int)),
        ["search", "role"],
        extra="other",
    )
    bests = (
        g[g["has_result"]]
        .sort_values("score", ascending=False, kind="stable")
        .groupby("search")
        .head(1)
    )
    bests = bests.rename_axis("index").reset_index().set_index("search").to_dict("index")
    meta_d, per_d, roles_d = meta.to_dict("index"), per.to_dict("index"), roles.to_dict("index")
    out = []
    with progress.task("analysing the searches", total=len(by.indices)) as t:
        for sid, pos in by.indices.items():
            info = {
                "meta": meta_d.get(sid),
                "sums": per_d[sid],
                "best": bests.get(sid),
                "roles": {role: roles_d.get((sid, role)) for role in ROLES},
            }
            out.append(
                _one_search(
                    str(sid),
                    g.iloc[pos],
                    v,
                    p,
                    var.get(sid, []),
                    sens.get(sid, []),
                    seed_sd.get(sid),
                    reps.get(sid, []),
                    info,
                )
            )
            t.advance()
    rank = {sid: i for i, sid in enumerate(searches["search_id"])} if len(searches) else {}
    out.sort(key=lambda x: (rank.get(x["search_id"], len(rank)), x["search_id"]))
    return out


def _one_search(
    sid: str,
    g: pd.DataFrame,
    v: Values,
    p: TuningParams,
    varied: list[str],
    sens: list[dict[str, Any]],
    seed_sd: tuple[int, float] | None,
    reps: list[dict[str, Any]],
    info: dict[str, Any],
) -> dict[str, Any]:
    m, su, b = info["meta"], info["sums"], info["best"]
    best = None
    if b is not None:
        best = {
            "metric": float(b["metric"]),
            "job_id": b["job_id"],
            "run_id": json_ready(b["run_id"]),
            "configuration": {k: uncanon(v.hp.at[b["index"], k]) for k in varied},
            "seed": _seed_of(v, b["index"]),
            "state": json_ready(b["state"]),
            "launch_rank": int(b["order"]),
            "cumulative_gpu_hours": json_ready(b["cum_gh"]),
        }
    gh, usd_low, usd_high = (
        json_ready(su["gh"]),
        json_ready(su["usd_low"]),
        json_ready(su["usd_high"]),
    )
    return {
        "search_id": sid,
        "search_method": None if m is None else json_ready(m["search_method"]),
        "name": None if m is None else json_ready(m["name"]),
        "first_submit_time": iso(su["first"]),
        "n_runs": int(su["n"]),
        "n_runs_with_config": int(su["n_config"]),
        "n_runs_with_result": int(su["n_result"]),
        "n_configurations": int(su["n_configs"]),
        "hyperparameters_varied": varied,
        "gpu_hours": gh,
        "cloud_usd_low": usd_low,
        "cloud_usd_high": usd_high,
        "best": best,
        "sensitivity": sens,
        "seed_std": None if seed_sd is None else seed_sd[1],
        "n_seed_replicated_configurations": 0 if seed_sd is None else seed_sd[0],
        "counterfactual": counterfactual(sid, g, p, v.goal, best, gh, usd_low, usd_high),
        "repeats": {"roles": _search_roles(info["roles"]), "repeated_configurations": reps},
        "curve": _curve(g),
    }


def _search_roles(sums: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Runs, GPU-hours and cost of one search per repeat role (no ``first``)."""
    roles = []
    for role in ROLES[1:]:
        x = sums[role]
        row = {
            "role": role,
            "n_runs": 0 if x is None else int(x["n"]),
            **{
                k: 0.0 if x is None else json_ready(x[c])
                for k, c in (
                    ("gpu_hours", "gh"),
                    ("cloud_usd_low", "usd_low"),
                    ("cloud_usd_high", "usd_high"),
                )
            },
        }
        if role == "redundant":
            row["n_runs_repeating_another_search"] = 0 if x is None else int(x["other"])
        roles.append(row)
    return roles


def _curve(g: pd.DataFrame) -> list[dict[str, Any]]:
    """The tuning-return curve: the search's runs in launch order with the best metric so far."""
    return [
        {
            "launch_rank": int(o),
            "job_id": j,
            "state": json_ready(st),
            "gpu_hours": json_ready(h),
            "cumulative_gpu_hours": json_ready(c),
            "metric": json_ready(y),
            "best_so_far": json_ready(bsf),
        }
        for o, j, st, h, c, y, bsf in zip(
            g["order"].to_numpy(),
            g["job_id"].to_numpy(dtype=object),
            g["state"].to_numpy(dtype=object),
            g["gh"].to_numpy(),
            g["cum_gh"].to_numpy(),
            g["metric"].to_numpy(),
            g["best_so_far"].to_numpy(),
            strict=True,
        )
    ]


def _seed_of(v: Values, idx: Any) -> dict[str, Any]:
    parts = [x for x in str(v.seed.at[idx]).split(";") if x]
    return {k: uncanon(t.split("=", 1)[1]) for k, t in zip(v.seed_keys, parts, strict=True)}
