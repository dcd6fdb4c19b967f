"""The utilization waste of a summary as blocks (`rdcost summarize`, the report): what the
figures rest on (threshold, utilisation logged, its sources), GPU time at 0%, below the
threshold and on unused GPUs of multi-GPU jobs with cost, energy and CO2e, and the top
users, grid searches and jobs (docs/summarize.md, "Utilization waste")."""

from __future__ import annotations

from typing import Any

from rdcost.analysis.summary import Summary
from rdcost.output.blocks import Block, Heading, Paragraph, Table
from rdcost.output.numbers import given, integer, number, pct, usd_range
from rdcost.output.views.energy import low_high
from rdcost.plural import plural

#: Where utilisation comes from, in a sentence (docs/summarize.md).
SOURCES = (
    "a jobstats summary in sacct's AdminComment (per GPU), sacct's gres/gpuutil in "
    "TRESUsageInAve (a mean; its 0 is not read: Slurm prints 0 for GPUs it cannot measure), "
    "W&B and MLflow GPU system metrics (per GPU)"
)


def _thr(u: dict[str, Any]) -> str:
    return f"{given(u['threshold_percent'])}%"


def heading(s: Summary) -> str:
    u = s.utilization
    return f"Utilization waste: GPUs at 0% and below {_thr(u)}"


def coverage_text(s: Summary) -> str:
    """What the figures rest on: the threshold, the jobs and GPU-hours with utilisation
    logged and where it came from, and what is unknown."""
    u = s.utilization
    a = s.assumptions.get("util_threshold_percent") or {}
    thr = f"Threshold {_thr(u)}" + (f" [{a['origin']}]" if a.get("origin") else "") + "."
    if u["status"] == "unknown":
        return (
            f"{thr} No GPU utilisation logged for any job: utilisation waste unknown "
            f"({plural(u['n_jobs_with_gpu_time'], 'job')} with GPU time, {number(u['gpu_hours'])} "
            f"GPU-hours, none with a utilisation). rdcost reads it from {SOURCES}."
        )
    src = ", ".join(
        f"{r['source']} {pct(r['share_of_util_logged_gpu_hours'])}" for r in u["by_source"]
    )
    text = (
        f"{thr} Utilisation logged for {plural(u['n_jobs_util_logged'], 'job')} of the "
        f"{integer(u['n_jobs_with_gpu_time'])} with GPU time: "
        f"{pct(u['util_logged_share_of_gpu_hours'])} of the GPU-hours ({src}); "
        f"GPU-hour-weighted mean utilisation {pct(_frac(u['mean_util_percent']))}."
    )
    if u["n_jobs_util_unknown"]:
        text += (
            f" The other {plural(u['n_jobs_util_unknown'], 'job')} "
            f"({number(u['util_unknown_gpu_hours'])} GPU-hours) have no utilisation logged: "
            "unknown, counted neither as used nor as idle, so the figures below are a lower bound."
        )
    return text


def _frac(v: float | None) -> float | None:
    return None if v is None else v / 100


def table(s: Summary) -> Table:
    """GPU time at 0%, below the threshold and on unused GPUs, with cost, energy and CO2e
    (the columns of the waste table)."""
    u = s.utilization
    labels = {
        "zero_util": "GPUs at 0%",
        "below_threshold": f"jobs below {_thr(u)}",
        "unused_gpus": "unused GPUs of multi-GPU jobs",
        "util_waste": f"total: at 0% or below {_thr(u)}",
    }
    cols = (
        "utilization",
        "jobs",
        "GPU-hours",
        "share of logged GPU-hours",
        "cloud cost (USD, low - high)",
        "energy (kWh)",
        "CO2e (kg)",
        "CO2e range (kg)",
    )
    rows = []
    for key, label in labels.items():
        r = u[key]
        rows.append(
            (
                label,
                integer(r["n_jobs"]),
                number(r["gpu_hours"]),
                pct(r["share_of_util_logged_gpu_hours"]),
                usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
                number(r["energy_kwh"]),
                number(r["co2e_kg"]),
                low_high(r.get("co2e_kg_low"), r.get("co2e_kg_high")),
            )
        )
    return Table.of(cols, rows, right=cols[1:])


def definitions(s: Summary) -> str:
    u = s.utilization
    un = u["unused_gpus"]
    text = (
        "GPUs at 0%: the GPU-hours of GPUs that sat at 0% for the whole job, counted per GPU "
        "where per-GPU values are logged, else whole jobs whose mean utilisation is 0%. "
        f"Jobs below {_thr(u)}: every GPU-hour of the jobs whose GPUs' mean utilisation over the "
        f"run is below {_thr(u)} (0% included). Unused GPUs: GPUs held and never used by "
        "multi-GPU jobs with per-GPU values, part of the GPUs at 0%"
    )
    if un.get("n_gpus_unused") is not None:
        text += (
            f" ({integer(un['n_gpus_unused'])} of {integer(un['n_gpus_allocated'])} GPUs of the "
            f"{plural(un['n_jobs_multi_gpu_per_gpu_logged'], 'multi-GPU job')} with per-GPU values; "
            f"{integer(un['n_jobs_multi_gpu'])} multi-GPU jobs in all)"
        )
    else:
        text += (
            f" (unknown: none of the {plural(un['n_jobs_multi_gpu'], 'multi-GPU job')} has per-GPU "
            "values)"
        )
    return text + (
        f". Total: the GPU-hours at 0% or below {_thr(u)}, each once (a job below the threshold "
        "with all its GPU-hours, another with those of its GPUs at 0%). The rows above the total "
        "overlap, and every row may overlap the waste by final state: do not add them. The cost, "
        "energy and CO2e of a share of a job's GPUs are that share of the job's (the per-job "
        "figures of the waste table)."
    )


def _listed_heading(what: str, shown: int, n: int | None, u: dict[str, Any]) -> str:
    of = "" if n is None or shown == n else f", first {shown} of {integer(n)}"
    return f"{what} by idle or under-used GPU-hours (at 0% or below {_thr(u)}){of}"


def _group_rows(rows: list[dict[str, Any]], key: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            str(r[key]),
            f"{integer(r['n_jobs_util_logged'])} / {integer(r['n_jobs'])}",
            number(r["gpu_hours"]),
            pct(r["util_logged_share_of_gpu_hours"]),
            number(r["zero_util_gpu_hours"]),
            number(r["below_threshold_gpu_hours"]),
            number(r["util_waste_gpu_hours"]),
            usd_range(r["util_waste_cloud_usd_low"], r["util_waste_cloud_usd_high"]),
            number(r["util_waste_co2e_kg"]),
        )
        for r in rows
    )


def _group_table(rows: list[dict[str, Any]], key: str, label: str, u: dict[str, Any]) -> Table:
    cols = (
        label,
        "jobs logged / all",
        "GPU-hours",
        "logged",
        "at 0%",
        f"below {_thr(u)}",
        "idle or under-used",
        "its cloud cost (USD)",
        "its CO2e (kg)",
    )
    return Table.of(cols, _group_rows(rows, key), right=cols[1:])


def jobs_table(s: Summary) -> Table:
    u = s.utilization
    cols = (
        "job",
        "user",
        "state",
        "GPUs (unused)",
        "mean utilisation",
        "logged by",
        "GPU-hours",
        "at 0%",
        "idle or under-used",
        "its cloud cost (USD)",
    )
    rows = [
        (
            str(r["job_id"]),
            str(r["user"] or ""),
            str(r["state"] or ""),
            f"{given(r['n_gpus'])} ({integer(r['n_gpus_unused'], missing='not logged')})",
            pct(_frac(r["util_percent"])),
            str(r["util_source"] or ""),
            number(r["gpu_hours"]),
            number(r["zero_util_gpu_hours"]),
            number(r["util_waste_gpu_hours"]),
            usd_range(r["util_waste_cloud_usd_low"], r["util_waste_cloud_usd_high"]),
        )
        for r in u["top_jobs"]
    ]
    return Table.of(cols, rows, right=cols[3:5] + cols[6:])


def blocks(s: Summary, heading_: bool = True, level: int = 2) -> list[Block]:
    """The utilization waste's blocks (with its heading unless ``heading_`` is False)."""
    u = s.utilization
    if not u:
        return []
    out: list[Block] = [Heading(heading(s), level=level, id="utilization")] if heading_ else []
    out.append(Paragraph(coverage_text(s)))
    out.append(table(s))
    out.append(Paragraph(definitions(s)))
    sub = level + 1
    for rows, n, key, label, what, anchor in (
        (u["by_user"], u["n_users_with_util_waste"], "user", "user", "Users", "util-users"),
        (
            u["by_search"],
            u["n_searches_with_util_waste"],
            "search_id",
            "grid search",
            "Grid searches",
            "util-searches",
        ),
    ):
        if rows:
            out += [
                Heading(_listed_heading(what, len(rows), n, u), level=sub, id=anchor),
                _group_table(rows, key, label, u),
            ]
    if u["top_jobs"]:
        out += [
            Heading(
                _listed_heading("Jobs", len(u["top_jobs"]), u["n_jobs_with_util_waste"], u),
                level=sub,
                id="util-jobs",
            ),
            jobs_table(s),
        ]
    if u["status"] == "computed" and not u["n_jobs_with_util_waste"]:
        out.append(
            Paragraph(f"No job with utilisation logged had a GPU at 0% or a mean below {_thr(u)}.")
        )
    return out
