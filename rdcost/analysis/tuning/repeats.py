"""Repeats: a configuration trained again, as a seed replicate, a retry of a run that gave no
result, or a redundant repeat (same seed, after a result existed); found over the whole project
in launch order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.tuning.runs import known_sum
from rdcost.analysis.tuning.values import Values, uncanon

ROLES = ("first", "seed_replicate", "retry", "redundant")
ROLE_TEXT = {
    "first": "first run of its configuration",
    "seed_replicate": "another seed of a configuration run before (purpose: variance estimate)",
    "retry": "same configuration and seed, earlier runs gave no result (purpose: replace them)",
    "redundant": "same configuration and seed, an earlier run already gave a result",
}


def assign_roles(r: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per run with a configuration (r in launch order): first / seed_replicate / retry /
    redundant, and for redundant runs whether the result they repeat came from another search."""
    c = r[r["has_config"]]
    role = pd.Series(pd.NA, index=r.index, dtype="string")
    other = pd.Series(pd.NA, index=r.index, dtype="boolean")
    if c.empty:
        return role, other
    cfg_rank = c.groupby("config", sort=False).cumcount()
    exact_rank = c.groupby("exact", sort=False).cumcount()
    prior = c.groupby("exact", sort=False)["has_result"].cumsum() - c["has_result"].astype(int)
    rr = np.select(
        [cfg_rank == 0, exact_rank == 0, prior > 0],
        ["first", "seed_replicate", "redundant"],
        "retry",
    )
    role.loc[c.index] = rr
    first_result = c[c["has_result"]].groupby("exact", sort=False)["search"].first()
    red = c[rr == "redundant"]
    src = red["exact"].map(first_result)
    other.loc[red.index] = (src.fillna("") != red["search"].fillna("")).to_numpy()
    return role, other


def repeated_configurations(
    g: pd.DataFrame, v: Values, varied: dict[str, list[str]], sign: float
) -> dict[str, list[dict[str, Any]]]:
    """Per search: the configurations it ran more than once, with their runs' roles and results."""
    c = g[g["has_config"]]
    c = c[c.groupby(["search", "config"], sort=False)["config"].transform("size") > 1]
    if c.empty:
        return {}
    keys = [c["search"], c["config"]]
    agg = pd.DataFrame(
        {
            "n_runs": c.groupby(keys, sort=False).size(),
            "n_seeds": c.groupby(keys, sort=False)["exact"].nunique(),
            "n_result": c.groupby(keys, sort=False)["has_result"].sum(),
            "gh": c.groupby(keys, sort=False)["gh"].sum(min_count=1),
            "gh_unknown": c["gh"].isna().groupby(keys, sort=False).any(),
            "mean": c.groupby(keys, sort=False)["score"].mean(),
            "std": c.groupby(keys, sort=False)["score"].std(ddof=1),
            "first": pd.Series(c.index, index=c.index).groupby(keys, sort=False).first(),
        }
    )
    roles = (
        pd.crosstab(keys, c["role"]).reindex(columns=list(ROLES), fill_value=0).reindex(agg.index)
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for (sid, _), x, rl in zip(
        agg.index, agg.itertuples(index=False), roles.itertuples(index=False), strict=True
    ):
        out.setdefault(sid, []).append(
            {
                "configuration": {k: uncanon(v.hp.at[x.first, k]) for k in varied.get(sid, [])},
                "n_runs": int(x.n_runs),
                "n_seeds": int(x.n_seeds),
                "n_runs_with_result": int(x.n_result),
                "roles": dict(zip(ROLES, (int(n) for n in rl), strict=True)),
                "gpu_hours": None if x.gh_unknown else float(x.gh),
                "metric_mean": None if pd.isna(x.mean) else sign * float(x.mean),
                "metric_std": None if pd.isna(x.std) else float(x.std),
            }
        )
    return out


def role_rows(r: pd.DataFrame) -> list[dict[str, Any]]:
    """Runs, GPU-hours and cost per role over the whole project (the JSON's ``repeats``)."""
    out = []
    for role in ROLES:
        m = r["role"].eq(role).fillna(False).astype(bool)
        out.append(
            {
                "role": role,
                "meaning": ROLE_TEXT[role],
                "n_runs": int(m.sum()),
                "n_runs_in_searches": int((m & r["search"].notna()).sum()),
                "gpu_hours": known_sum(r.loc[m, "gh"]),
                "cloud_usd_low": known_sum(r.loc[m, "usd_low"]),
                "cloud_usd_high": known_sum(r.loc[m, "usd_high"]),
            }
        )
    return out
