"""One training run (:class:`rdcost.analysis.costing.RunEstimate`) with the assumptions it used:
the `rdcost estimate` table and lines, and its long form for CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rdcost.analysis.costing import RunEstimate
from rdcost.output.blocks import BulletList, Document, Heading, Table
from rdcost.output.numbers import given, number, significant, trimmed, usd, usd_range, usd_rate


def _count(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def title(e: RunEstimate) -> str:
    return f"rdcost estimate: {given(e.count)} x {e.hardware} for {given(e.hours)} hours"


def table(e: RunEstimate) -> Table:
    cols = (
        "hardware",
        "count",
        "hours",
        "power_w",
        "energy_kwh (x PUE)",
        "co2e_lbs",
        "co2e_kg",
        "cloud_usd (low - high)",
        "electricity_usd",
    )
    row = (
        e.hardware,
        number(_count(e.count)),
        number(_count(e.hours)),
        trimmed(e.power_w),
        number(e.energy_kwh),
        number(e.co2e_lbs),
        number(e.co2e_kg),
        usd_range(e.cloud_usd_low, e.cloud_usd_high),
        usd(e.electricity_usd),
    )
    return Table.of(cols, [row], right=cols[1:])


def assumption_lines(u: dict[str, Any]) -> list[str]:
    """``u``: the assumptions used (the ``assumptions`` of the command's JSON)."""
    p, c, pw = u["price"], u["carbon"], u["power"]
    power = (
        "power: unknown (no --watts): energy, CO2e and electricity are unknown"
        if pw["power_w"] is None
        else f"power: {trimmed(pw['power_w'])} W, {pw['basis']} [{pw['origin']}]"
    )
    return [
        f"price: {usd_rate(p['usd_per_gpu_hour_low'])} - {usd_rate(p['usd_per_gpu_hour_high'])} per device-hour "
        f"({p['provider']} {p['pricing_model_low']} / {p['pricing_model_high']}, as of {p['as_of']}) "
        f"[{p['origin']}]" + (f" {p['note']}." if p["note"] else "") + f" Source: {p['source']}",
        power,
        f"PUE: {given(u['pue']['value'])} [{u['pue']['origin']}] Source: {u['pue']['source']}",
        f"carbon intensity: {significant(c['kg_co2e_per_kwh'], 4)} kg CO2e/kWh = "
        f"{significant(c['lbs_co2e_per_kwh'], 4)} lbs/kWh ({c['region']}, {c['year']}) [{c['origin']}] "
        f"Source: {c['source']}",
        f"electricity: {given(u['electricity_usd_per_kwh']['value'])} USD/kWh "
        f"[{u['electricity_usd_per_kwh']['origin']}] Source: {u['electricity_usd_per_kwh']['source']}",
    ]


def document(e: RunEstimate, used: dict[str, Any]) -> Document:
    return Document(
        title(e),
        [
            Heading(title(e), level=1),
            table(e),
            Heading("Assumptions"),
            BulletList(assumption_lines(used)),
        ],
    )


def figures(e: RunEstimate, u: dict[str, Any]) -> pd.DataFrame:
    """Long form for --format csv: section, metric, value (unrounded), unit, assumption."""
    p = u["price"]
    price = f"{p['provider']} {p['pricing_model_low']}/{p['pricing_model_high']} as of {p['as_of']}; {p['origin']}"
    env = (
        f"PUE {given(u['pue']['value'])}; {significant(u['carbon']['kg_co2e_per_kwh'], 4)} kg CO2e/kWh "
        f"({u['carbon']['region']}, {u['carbon']['year']})"
    )
    rows = [
        ("gpu_hours", e.gpu_hours, "device-hours", f"{given(e.count)} x {given(e.hours)} h"),
        ("power_w", e.power_w, "W", u["power"]["basis"] or "unknown"),
        ("energy_kwh", e.energy_kwh, "kWh", env),
        ("co2e_kg", e.co2e_kg, "kg", env),
        ("co2e_lbs", e.co2e_lbs, "lbs", env),
        ("usd_per_gpu_hour_low", e.usd_per_gpu_hour_low, "USD per device-hour", price),
        ("usd_per_gpu_hour_high", e.usd_per_gpu_hour_high, "USD per device-hour", price),
        ("cloud_usd_low", e.cloud_usd_low, "USD", price),
        ("cloud_usd_high", e.cloud_usd_high, "USD", price),
        (
            "electricity_usd",
            e.electricity_usd,
            "USD",
            f"{given(u['electricity_usd_per_kwh']['value'])} USD/kWh; {env}",
        ),
    ]
    return pd.DataFrame(
        [("estimate", *r) for r in rows],
        columns=["section", "metric", "value", "unit", "assumption"],
        dtype=object,
    )
