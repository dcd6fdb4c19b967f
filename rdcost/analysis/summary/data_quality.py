"""What the summary's figures rest on, in one list a reader can check: jobs left out as
implausible, jobs still running, allocations inferred from their steps, values derived
rather than read, jobs placed in time by their submission, GPUs that no logged type
named, records counted once because another record holds the same job, and the shares
of the GPU-hours that each step of the GPU chain, each price basis and each power basis
covers (docs/summarize.md, "Data quality").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.gpu_resolution import RULES
from rdcost.analysis.summary.exact import exact_float

RULE_ORDER = RULES
#: How a GPU-hour's price was found.
PRICE_BASES = (
    "given in the assumptions",
    "own cloud price",
    "cloud equivalent",
    "range of the GPUs of its year",
    "unknown",
)
#: How a GPU-hour's power was found.
POWER_BASES = (
    "given in the assumptions",
    "rated",
    "measured",
    "median of the GPUs of its year",
    "unknown",
)


def _with_bases(combos: pd.DataFrame | None) -> pd.DataFrame | None:
    """The (GPU key, day, type, step) rows with the price and power basis of each."""
    if combos is None:
        return None
    c = combos.copy()
    rule = c["price_rule"].astype("string").fillna("missing")
    eq = c["price_key"].astype("string") != c["gpu_key"].astype("string")
    c["price_basis"] = np.select(
        [
            rule.eq("fixed"),
            rule.eq("table") & ~eq.fillna(False),
            rule.eq("table"),
            rule.eq("year_range"),
        ],
        [
            "given in the assumptions",
            "own cloud price",
            "cloud equivalent",
            "range of the GPUs of its year",
        ],
        "unknown",
    )
    prule = c["power_rule"].astype("string").fillna("missing")
    basis = c["power_basis"].astype("string").fillna("")
    c["power_basis_kind"] = np.select(
        [
            prule.str.startswith("year_range").fillna(False),
            c["power_w"].isna(),
            basis.eq("rated") & prule.str.startswith("refdata").fillna(False),
            basis.eq("measured") & prule.str.startswith("refdata").fillna(False),
        ],
        ["median of the GPUs of its year", "unknown", "rated", "measured"],
        "given in the assumptions",
    )
    return c


def _shares(
    combos: pd.DataFrame | None, column: str, gh_total: float, order: Sequence[str]
) -> list[dict[str, Any]]:
    """GPU-hours and jobs per value of ``column`` (in ``order``), with shares of the total."""
    if combos is None or not len(combos):
        return []
    used = combos[combos["n_used"] > 0]
    out = []
    for value, g in used.groupby(used[column].astype("string").fillna("unknown"), sort=False):
        gh = exact_float(sum(g["gh_used"]))
        out.append(
            {
                column.removesuffix("_kind"): str(value),
                "n_jobs": int(g["n_used"].sum()),
                "gpu_hours": gh,
                "share_of_gpu_hours": gh / gh_total if gh_total > 0 else None,
            }
        )
    rank = {v: i for i, v in enumerate(order)}
    return sorted(out, key=lambda r: rank.get(next(iter(r.values())), len(rank)))


def data_quality(
    cnt: Mapping[str, int],
    combos: pd.DataFrame | None,
    implausible_gh: float,
    include_implausible: bool,
    links: Mapping[str, int],
) -> list[dict[str, Any]]:
    """The items of the data-quality section (only those that apply), each with the jobs
    and, where they have them, the GPU-hours it concerns, and what it means for the figures."""
    items: list[dict[str, Any]] = []

    def add(item: str, n: int, note: str, gpu_hours: float | None = None) -> None:
        if n:
            items.append({"item": item, "n_jobs": int(n), "gpu_hours": gpu_hours, "note": note})

    add(
        "implausible records",
        cnt["implausible"],
        (
            "kept in every total (--include-implausible)"
            if include_implausible
            else "left out of every total (--include-implausible keeps them); listed below"
        ),
        implausible_gh,
    )
    add("still running", cnt["running"], "counted up to the export (their elapsed time so far)")
    add(
        "allocations inferred from their steps",
        cnt["inferred"],
        "the export held their steps but not the allocation line",
    )
    add(
        "start times derived",
        cnt["start_derived"],
        "start = end - elapsed (the export has no start)",
    )
    add(
        "elapsed times derived",
        cnt["elapsed_derived"],
        "elapsed = end - start (the export has no elapsed time)",
    )
    add(
        "placed by their submit time",
        cnt["placed_by_submit"],
        "no start time: the span and the GPUs in use place them at their submission",
    )
    add(
        "not placed in time",
        cnt["unplaced"],
        "neither start nor submit time: not in the span or GPUs in use",
    )
    add("unknown GPU count", cnt["gpu_unknown"], "left out of GPU-hours, cost, energy and CO2e")
    add(
        "unknown run time",
        cnt["elapsed_unknown"],
        "no elapsed time and no start and end: left out of GPU-hours, cost, energy and CO2e",
    )
    add(
        "MIG slices",
        cnt["mig_slices"],
        "each slice counted as its share of the parent GPU (a 1g.10gb of an A100 = 1/7) in "
        "GPU-hours, cost, energy and CO2e",
    )
    add(
        "pending array remainders",
        cnt["pending_remainder"],
        "array tasks that never started, one record per array: no GPU time, in no grid search",
    )
    if combos is not None:
        used = combos[combos["n_used"] > 0]
        for rule, what in (
            ("unidentified", "GPUs no logged type names"),
            ("partition", "GPU type taken from their partition's typed jobs"),
            ("node", "GPU type taken from their node's typed jobs"),
        ):
            g = used[
                used["gpu_key_rule"].astype("string").eq(rule).fillna(False).to_numpy(dtype=bool)
            ]
            if len(g):
                add(
                    what,
                    int(g["n_used"].sum()),
                    "priced and powered as the GPUs of their year"
                    if rule == "unidentified"
                    else "see the GPU chain",
                    exact_float(sum(g["gh_used"])),
                )
    add(
        "unknown cloud cost",
        cnt["cost_unknown"],
        "left out of the cloud cost totals (no price: --on-missing unknown)",
    )
    add(
        "unknown energy", cnt["energy_unknown"], "left out of the energy and CO2e totals (no power)"
    )
    add(
        "runs counted through their Slurm job",
        links.get("linked_runs", 0),
        "W&B/MLflow/CSV runs that name the Slurm job they ran in",
    )
    add(
        "CSV rows repeating Slurm jobs",
        links.get("csv_repeats", 0),
        "same job id and start as a Slurm job: counted once",
    )
    add(
        "MLflow parent runs",
        links.get("containers", 0),
        "their time is their children's: not counted again",
    )
    return items


def implausible_rows(parts: Sequence[Any], limit: int = 50) -> list[dict[str, Any]]:
    """The implausible jobs of every partition (the first ``limit``, in file order)."""
    frames = [p.implausible for p in parts if p.implausible is not None and len(p.implausible)]
    if not frames:
        return []
    f = pd.concat(frames, ignore_index=True).sort_values("first", kind="stable").head(limit)
    return [
        {k: (None if pd.isna(v) else v) for k, v in r.items() if k != "first"}
        for r in f.to_dict("records")
    ]
