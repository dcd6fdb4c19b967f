"""Owned capacity (:class:`rdcost.analysis.capacity.IdleResult`) as tables: utilization and
idle cost, the node groups, and how idle and shared cost was spread. The report shows them."""

from __future__ import annotations

from rdcost.analysis.capacity import IdleResult
from rdcost.output.blocks import Block, BulletList, Paragraph, Table
from rdcost.output.numbers import given, number, pct, usd, usd_rate


def figures_table(r: IdleResult) -> Table:
    d = r.to_dict()
    cost = (
        "unknown (no cost of a GPU-hour of capacity given)"
        if d["usd_per_gpu_hour"] is None
        else f"{usd_rate(round(d['usd_per_gpu_hour'], 6))} per GPU-hour ({d['cost_rule']})"
        + (f"; source: {d['cost_source']}" if d["cost_source"] else "")
        + (f", as of {d['cost_as_of']}" if d["cost_as_of"] else "")
    )
    idle_w = d["idle_power_w_per_gpu"]
    rows = [
        ("available", number(d["available_gpu_hours"]), "GPU-hours", "nodes x GPUs x hours owned"),
        (
            "used by these jobs",
            number(d["used_gpu_hours"]),
            "GPU-hours",
            "inside the capacity's dates and partitions",
        ),
        ("owned utilization", pct(d["utilization"]), "", "used / available"),
        ("idle", number(d["idle_gpu_hours"]), "GPU-hours", "available - used"),
        ("cost of a GPU-hour of capacity", usd_rate(d["usd_per_gpu_hour"]), "USD", cost),
        (
            "idle electricity",
            usd(d["idle_electricity_usd"]),
            "USD",
            "unknown: no idle draw given"
            if idle_w is None
            else f"idle GPU-hours x {given(idle_w)} W x PUE x price",
        ),
        (
            "idle cost",
            usd(d["idle_usd"]),
            "USD",
            "idle GPU-hours x cost per GPU-hour + idle electricity",
        ),
        (
            "shared cost",
            usd(d["shared_usd"]),
            "USD",
            "; ".join(s["item"] for s in d["shared"]) or "none given",
        ),
        (
            "owned cost per used GPU-hour, all in",
            usd_rate(
                None
                if d["owned_usd_per_used_gpu_hour"] is None
                else round(d["owned_usd_per_used_gpu_hour"], 4)
            ),
            "USD",
            "(available x cost per GPU-hour + idle and busy electricity + shared) / used",
        ),
    ]
    return Table.of(("figure", "value", "unit", "how"), rows, right=("value",))


def spread_table(r: IdleResult) -> Table:
    by = r.capacity.spread_by
    rows = [
        (
            "unknown" if s[by] is None else s[by],
            number(s["used_gpu_hours"]),
            pct(s["share"]),
            usd(s["busy_usd"]),
            usd(s["idle_usd"]),
            usd(s["shared_usd"]),
            usd(s["total_usd"]),
            usd_rate(
                None if s["usd_per_used_gpu_hour"] is None else round(s["usd_per_used_gpu_hour"], 4)
            ),
        )
        for s in r.spread
    ]
    cols = (
        by,
        "used GPU-hours",
        "share of idle and shared",
        "own use (USD)",
        "idle (USD)",
        "shared (USD)",
        "total (USD)",
        "per used GPU-hour",
    )
    return Table.of(cols, rows, right=cols[1:])


def groups_table(r: IdleResult) -> Table:
    rows = [
        (
            g["name"],
            number(g["n_nodes"]),
            given(g["gpus_per_node"]),
            g["gpu_type"] or "unknown",
            (g["from"] or "unknown")[:10] + " to " + (g["to"] or "unknown")[:10],
            ", ".join(g["partitions"]) or "any other",
            number(g["available_gpu_hours"]),
        )
        for g in r.to_dict()["node_groups"]
    ]
    cols = (
        "nodes",
        "count",
        "GPUs per node",
        "GPU type",
        "owned",
        "partitions",
        "available GPU-hours",
    )
    return Table.of(cols, rows, right=("count", "GPUs per node", "available GPU-hours"))


def spread_note(r: IdleResult) -> str:
    c = r.capacity
    how = {
        "uniform": "in equal shares",
        "proportional": "in proportion to the GPU-hours each used",
        "weighted": "by the weights of the capacity file (a "
        + c.spread_by
        + " without one weighs 1)",
    }[c.spread_method]
    return (
        f"Idle and shared cost spread over the {c.spread_by}s that used the capacity {how} "
        f"(--spread {c.spread_method}, --spread-by {c.spread_by}); own use = used GPU-hours x the "
        "cost of a GPU-hour of capacity (electricity of busy GPUs is in the summary's figures)."
    )


def blocks(r: IdleResult) -> list[Block]:
    out: list[Block] = [
        Paragraph(
            f"Owned capacity from {r.capacity.origin}"
            + (f" ({r.capacity.source})" if r.capacity.source else "")
            + f": {pct(r.utilization)} of its GPU-hours were used by these jobs."
        ),
        figures_table(r),
        groups_table(r),
    ]
    if r.spread:
        out += [Paragraph(spread_note(r)), spread_table(r)]
    if r.notes:
        out.append(BulletList(r.notes))
    return out
