"""A breakdown (:class:`rdcost.analysis.breakdown.Breakdown`) as a table: one row per group
(largest GPU-hours first) and the total, which is the project's. `rdcost summarize --by`
prints it after the summary; the report shows it with its plot."""

from __future__ import annotations

from rdcost.analysis.breakdown import Breakdown
from rdcost.output.blocks import Block, Heading, Paragraph, Table
from rdcost.output.numbers import integer, number, pct, usd_range
from rdcost.plural import plural

#: Groups shown in a table before the rest are folded into one row (the JSON and CSV
#: have every group).
TOP_GROUPS = 50


def _key(v: object) -> str:
    return "(none logged)" if v is None else str(v)


def title(b: Breakdown) -> str:
    return "Breakdown by " + ", ".join(k.replace("_", " ") for k in b.keys)


def table(b: Breakdown, top: int = TOP_GROUPS) -> Table:
    """The groups, the rest folded into one row when there are more than ``top``, and the total."""
    cols = (
        *b.keys,
        "jobs",
        "GPU-hours",
        "share",
        "cloud cost (USD, low - high)",
        "energy (kWh)",
        "CO2e (kg)",
        "waste GPU-hours",
        "waste share",
    )

    def row(keys: tuple[str, ...], r: dict) -> tuple[str, ...]:
        jobs = integer(r["n_jobs"])
        if r["n_jobs_gpu_unknown"]:
            jobs += f" ({integer(r['n_jobs_gpu_unknown'])} of unknown GPU count)"
        return (
            *keys,
            jobs,
            number(r["gpu_hours"]),
            pct(r["share_of_gpu_hours"]),
            usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
            number(r["energy_kwh"]),
            number(r["co2e_kg"]),
            number(r["waste_gpu_hours"]),
            pct(r["waste_share_of_gpu_hours"]),
        )

    shown = b.rows[:top]
    rows = [row(tuple(_key(r[k]) for k in b.keys), r) for r in shown]
    rest = b.rows[top:]
    if rest:
        label = f"{plural(len(rest), 'other group')}"
        rows.append(row((label, *([""] * (len(b.keys) - 1))), _folded(rest)))
    rows.append(row(tuple("total" if i == 0 else "" for i in range(len(b.keys))), b.total))
    return Table.of(cols, rows, right=cols[len(b.keys) :])


def _folded(rows: list[dict]) -> dict:
    """Several groups as one row (for display: sums of the rounded figures)."""
    out: dict = {}
    for k in rows[0]:
        vals = [r[k] for r in rows]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
            out[k] = sum(vals)
        elif any(v is None for v in vals) and k not in ("n_jobs",):
            known = [v for v in vals if isinstance(v, int | float)]
            out[k] = sum(known) if known else None
        else:
            out[k] = None
    gh = out.get("gpu_hours")
    wgh = out.get("waste_gpu_hours")
    out["waste_share_of_gpu_hours"] = None if not gh or wgh is None else wgh / gh
    return out


def note(b: Breakdown) -> str:
    text = (
        f"{plural(len(b.rows), 'group')}, largest GPU-hours first; the total is the project's "
        "(the same jobs as above: every group counts the jobs the summary counts). A missing "
        "value is its own group, '(none logged)'. Waste: crashed, failed, cancelled and timed-out jobs."
    )
    if any(k in ("month", "week", "day") for k in b.keys):
        text += " A job counts in the month, week or day it started (else was submitted), UTC."
    if b.hierarchy:
        text += f" Site hierarchy: {b.hierarchy} (accounts it does not name are unknown)."
    if len(b.rows) > TOP_GROUPS:
        text += f" The {TOP_GROUPS} largest are shown; --format json or csv lists every group."
    return text


def blocks(b: Breakdown, level: int = 2) -> list[Block]:
    return [Heading(title(b), level=level, id="breakdown"), table(b), Paragraph(note(b))]
