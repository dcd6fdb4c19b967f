"""The cloud side of the comparison, from the priced job table: the cost of the project's GPU
time at the low and high prices (with missing prices refused or left unknown), and at the
bundled 1- and 3-year committed-use prices."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rdcost.analysis import assumptions as assumptions_mod
from rdcost.analysis import reference
from rdcost.errors import AssumptionError
from rdcost.plural import plural

COMMITTED_MODELS = ("reserved_1y", "reserved_3y")


def cloud_side(
    a,
    j: pd.DataFrame,
    cj: pd.DataFrame,
    use: pd.Series,
    today: pd.Timestamp,
    on_missing: str,
    notes: list[str],
) -> tuple[float | None, float | None, dict[str, Any]]:
    """Cloud cost low and high of the jobs ``use`` and the committed-use costs
    (:func:`committed`); what the reader should know goes to ``notes``. A job without a price
    is an error unless ``on_missing`` is ``unknown`` (then the cost is unknown)."""
    miss = use & (j["usd_per_gpu_hour_low"].isna() | j["usd_per_gpu_hour_high"].isna())
    if miss.any():
        types = j.loc[miss, "gpu_type"].fillna("(no GPU type)").value_counts()
        listed = ", ".join(f"{t} ({n:,} jobs)" for t, n in types.items())
        if on_missing == "error":
            raise AssumptionError(
                f"no cloud price for GPU type(s) {listed}",
                hint="map the type to a known GPU (--gpu-alias NAME=KEY) or give a price "
                "([prices.KEY] in an --assumptions TOML file); --on-missing unknown "
                "shows the cloud figures as unknown",
            )
        notes.append(f"no cloud price for GPU type(s) {listed}; the cloud figures are unknown")
    cloud_low = sum_or_none(j.loc[use, "cloud_usd_low"])
    cloud_high = sum_or_none(j.loc[use, "cloud_usd_high"])
    if j.loc[use, "is_price_before_known"].any():
        notes.append(
            f"{plural(int(j.loc[use, 'is_price_before_known'].sum()), 'job')} ran before the earliest "
            "known price of their GPU; the earliest known price is used"
        )
    committed_usd = committed(a, j, cj, use, today)
    if committed_usd["n_jobs_before_known_price"]:
        notes.append(
            f"committed-use prices: {plural(committed_usd['n_jobs_before_known_price'], 'job')} ran before the "
            f"earliest known commitment price of their GPU (as of "
            f"{', '.join(sorted(committed_usd['as_of']))}); that price is used"
        )
    return cloud_low, cloud_high, committed_usd


def committed(
    a, j: pd.DataFrame, cj: pd.DataFrame, use: pd.Series, today: pd.Timestamp
) -> dict[str, Any]:
    """Committed-use cost (1- and 3-year) from the bundled price table, for
    each job's GPU type or its cloud equivalent; None if any GPU-hour has no
    such price (e.g. the provider sells no commitment for it)."""
    table = reference.priced_keys(a.price_provider)
    bundled = reference.cloud_equivalents()

    def table_key(k: Any) -> str | None:
        if not isinstance(k, str):
            return None
        for cand in (k, a.cloud_equivalents.get(k), bundled.get(k)):
            if cand in table:
                return cand
        return None

    gpu_keys = j.loc[use, "gpu_key"].astype("string")
    keys = gpu_keys.map({k: table_key(k) for k in gpu_keys.dropna().unique()}).astype("string")
    # prices are dated by day at best: look each (key, day) up once
    days = pd.to_datetime(
        assumptions_mod.price_dates(a, cj.loc[use, "start_time"], today), utc=True
    ).dt.floor("D")
    pairs = pd.DataFrame({"key": keys, "day": days}).drop_duplicates().reset_index(drop=True)
    gh = pd.DataFrame({"key": keys, "day": days, "gpu_hours": j.loc[use, "gpu_hours"]})
    gh = (
        gh.groupby(["key", "day"], dropna=False, sort=False)["gpu_hours"]
        .agg(["sum", "size"])
        .reset_index()
    )
    out: dict[str, Any] = {"n_jobs_before_known_price": 0, "as_of": set()}
    for model in COMMITTED_MODELS:
        p = reference.prices_in_effect(pairs["key"], pairs["day"], a.price_provider, (model,))
        priced = pairs.assign(
            usd_per_gpu_hour=p["usd_per_gpu_hour"].to_numpy(),
            is_before=p["is_price_before_known"].to_numpy(),
            as_of=p["as_of"].to_numpy(),
        )
        m = gh.merge(priced, on=["key", "day"], how="left")
        out[model] = sum_or_none(m["sum"] * m["usd_per_gpu_hour"])
        if out[model] is not None:
            out["n_jobs_before_known_price"] = max(
                out["n_jobs_before_known_price"],
                int(m.loc[m["is_before"].astype(bool), "size"].sum()),
            )
            out["as_of"] |= set(m["as_of"].dropna().astype(str))
    return out


def sum_or_none(s: pd.Series) -> float | None:
    return None if s.isna().any() else float(s.sum())
