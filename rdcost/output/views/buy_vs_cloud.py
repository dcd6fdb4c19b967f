"""Renting vs buying (:class:`rdcost.analysis.buy_vs_cloud.Report`) as titled tables:
demand, cloud, owned, owned vs cloud and, with --sizing, the replay; then every assumption."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rdcost.analysis.buy_vs_cloud import Report
from rdcost.output.blocks import BulletList, Document, Heading, Table
from rdcost.output.numbers import (
    fixed,
    given,
    integer,
    is_unknown,
    months,
    number,
    pct,
    ratio,
    usd,
    usd_range,
    usd_rate,
)
from rdcost.output.wording import said
from rdcost.plural import plural


def title(r: Report) -> str:
    return (
        f"rdcost compare-buy-vs-cloud: project {r.project}"
        if r.project
        else "rdcost compare-buy-vs-cloud: all stored jobs"
    )


def _never(v: Any, text: str, cloud: Any = 0.0) -> str:
    """A break-even: ``text``; "never" when owning never pays; unknown when the cloud
    cost it is measured against is unknown (no conclusion from an unknown)."""
    if is_unknown(cloud):
        return "unknown: cloud cost unknown"
    return "never" if v is None else text


def _paper_ratio(d: dict[str, Any], label: str = "the paper's ratio") -> str:
    """The paper's purchase / on-demand comparison: its figures only under its preset."""
    layers = (
        " ".join(d["assumptions"].get("layers") or []) + " " + str(d["assumptions"].get("name"))
    )
    if "paper" in layers:
        return f"{label} (purchase only: Strubell et al. 2019's $145k / $350k = 0.41)"
    return "purchase only, as Strubell et al. (2019) compare"


def demand_table(d: dict[str, Any]) -> Table:
    rows = [
        ("GPU time", number(d["gpu_hours"]), "GPU-hours", ""),
        ("span", number(d["span_days"]), "days", "first start to last end"),
        (
            "mean GPUs in use",
            number(d["mean_gpus"]),
            "GPUs",
            "GPU-hours of the jobs placed in time / their span",
        ),
        ("peak GPUs in use", number(d["peak_gpus"]), "GPUs", ""),
        ("GPUs bought", number(d["n_gpus"]), "GPUs", d["n_gpus_rule"]),
        (
            "utilization of them",
            fixed(d["utilization"], 3),
            "fraction",
            "GPU-hours / (GPUs x span)",
        ),
    ]
    return Table.of(("figure", "value", "unit", "how"), rows, right=("value",))


def _prices(d: dict[str, Any], end: str) -> str:
    return "; ".join(
        dict.fromkeys(
            f"{p['gpu_key']} as {p['price_key']} {p[f'pricing_model_{end}']} "
            f"{usd_rate(p[f'usd_per_gpu_hour_{end}'])}"
            for p in d["assumptions"]["cloud_prices"]
            if p[f"usd_per_gpu_hour_{end}"] is not None
        )
    )


def cloud_table(d: dict[str, Any]) -> Table:
    rows = [
        ("low (pre-emptible / spot)", usd(d["cloud_usd_low"]), _prices(d, "low")),
        ("high (on-demand)", usd(d["cloud_usd_high"]), _prices(d, "high")),
        ("committed use, 1 year", usd(d["cloud_usd_committed_1y"]), "bundled price table"),
        ("committed use, 3 years", usd(d["cloud_usd_committed_3y"]), "bundled price table"),
    ]
    return Table.of(("figure", "usd", "prices per GPU-hour"), rows, right=("usd",))


def owned_table(d: dict[str, Any]) -> Table:
    ow = d["assumptions"]["owned"]
    life = ow["lifetime_years"]["value"]
    rows = [
        (
            "purchase",
            usd(d["owned_purchase_usd"]),
            f"{plural(d['n_gpus'], 'GPU')} = {given(d['owned_n_servers'])} x {given(ow['gpus_per_server']['value'])}-GPU "
            f"server at {usd(ow['server_price_usd']['value'])} ({usd(d['assumptions']['owned_usd_per_gpu'])} per GPU)",
        ),
        (
            "amortized share",
            usd(d["owned_amortized_usd"]),
            f"{number(d['span_days'])} days of a {given(life)}-year life ({pct(d['owned_amortized_fraction'])})",
        ),
        (
            "electricity",
            usd(d["owned_electricity_usd"]),
            f"{number(d['gpu_hours'])} GPU-hours x {given(ow['power_w_per_gpu']['value'])} W x PUE "
            f"{given(ow['pue']['value'])} x {usd_rate(ow['electricity_usd_per_kwh']['value'])}/kWh",
        ),
        (
            "hosting",
            usd(d["owned_hosting_usd"]),
            f"{usd_rate(ow['hosting_usd_per_kw_month']['value'])} per kW-month",
        ),
        (
            "maintenance",
            usd(d["owned_maintenance_usd"]),
            f"{given(100 * ow['maintenance_fraction_per_year']['value'])}% of the purchase per year",
        ),
        ("staff", usd(d["owned_staff_usd"]), f"{given(ow['staff_fte']['value'])} FTE"),
        (
            "total, purchase + running",
            usd(d["owned_total_usd"]),
            "the project pays for the hardware",
        ),
        (
            "total, amortized + running",
            usd(d["owned_amortized_total_usd"]),
            "the hardware outlives the project",
        ),
    ]
    return Table.of(("figure", "usd", "how"), rows, right=("usd",))


def versus_table(d: dict[str, Any]) -> Table:
    life = d["assumptions"]["owned"]["lifetime_years"]["value"]
    rows = [
        (
            "owned total / cloud high",
            ratio(d["owned_to_cloud_high_ratio"]),
            "purchase + running vs on-demand",
        ),
        (
            "purchase / cloud high",
            ratio(d["owned_purchase_to_cloud_high_ratio"]),
            _paper_ratio(d),
        ),
        (
            "owned total / cloud low",
            ratio(d["owned_to_cloud_low_ratio"]),
            "purchase + running vs pre-emptible",
        ),
        ("amortized total / cloud high", ratio(d["owned_amortized_to_cloud_high_ratio"]), ""),
        (
            "break-even utilization vs high",
            _never(
                d["breakeven_utilization"], pct(d["breakeven_utilization"]), d["cloud_usd_high"]
            ),
            f"busy share of the owned GPUs over {given(life)} years",
        ),
        (
            "break-even utilization vs low",
            _never(
                d["breakeven_utilization_vs_low"],
                pct(d["breakeven_utilization_vs_low"]),
                d["cloud_usd_low"],
            ),
            "",
        ),
        (
            "owning is cheaper after (vs high)",
            _never(d["breakeven_months"], months(d["breakeven_months"]), d["cloud_usd_high"]),
            "purchase up front; logged demand",
        ),
        (
            "owning is cheaper after (vs low)",
            _never(
                d["breakeven_months_vs_low"],
                months(d["breakeven_months_vs_low"]),
                d["cloud_usd_low"],
            ),
            "then the mean rate",
        ),
    ]
    return Table.of(("figure", "value", "how"), rows, right=("value",))


def per_used_table(d: dict[str, Any]) -> Table:
    """The owned cost of one used GPU-hour at the measured (or the project's) utilization."""
    rows = [
        (
            "owned utilization",
            pct(d.get("owned_utilization")),
            d.get("owned_utilization_rule") or "",
        ),
        (
            "owned GPU-hour, busy or idle",
            usd_rate(_round(d.get("owned_fixed_usd_per_gpu_hour"))),
            "purchase over the lifetime + hosting, maintenance, staff",
        ),
        (
            "owned cost per used GPU-hour",
            usd_rate(_round(d.get("owned_usd_per_used_gpu_hour"))),
            "fixed / utilization + busy electricity + idle electricity x (1 - u) / u",
        ),
        (
            "cloud per GPU-hour, low - high",
            f"{usd_rate(_round(d.get('cloud_usd_per_gpu_hour_low')))} - "
            f"{usd_rate(_round(d.get('cloud_usd_per_gpu_hour_high')))}",
            "",
        ),
        (
            "owned at this utilization",
            usd(d.get("owned_usd_at_utilization")),
            f"the project's {number(d['gpu_hours'])} GPU-hours x cost per used GPU-hour",
        ),
        (
            "owned at this utilization / cloud high",
            ratio(d.get("owned_at_utilization_to_cloud_high_ratio")),
            "",
        ),
    ]
    return Table.of(("figure", "value", "how"), rows, right=("value",))


def _round(v: Any) -> Any:
    return None if is_unknown(v) else round(float(v), 4)


def sizing_title(d: dict[str, Any]) -> str:
    rp = d["replay"]
    left = ", ".join(
        f"{integer(v)} {k[7:].replace('_', ' ')}"
        for k, v in rp.items()
        if k.startswith("n_jobs_")
        and k not in ("n_jobs_replayed", "n_jobs_submit_from_start")
        and v
    )
    return (
        f"Sizing: the project replayed on N GPUs ({rp['policy']}, run-time estimate: {rp['estimate']}; "
        f"{plural(rp['n_jobs_replayed'], 'job')} replayed"
        + (f", left out: {left}" if left else "")
        + f"; logged: {number(rp['logged_duration_days'])} days)"
    )


def sizing_table(s: pd.DataFrame) -> Table:
    cols = (
        "gpus",
        "project_days",
        "mean_wait_hours",
        "p95_wait_hours",
        "utilization",
        "jobs_too_large",
        "owned_total_usd",
        "owned_amortized_total_usd",
    )
    rows = zip(
        [number(int(x)) if float(x).is_integer() else given(x) for x in s["n_gpus"]],
        [number(x) for x in s["duration_days"]],
        [number(x) for x in s["mean_wait_hours"]],
        [number(x) for x in s["p95_wait_hours"]],
        [pct(x) for x in s["utilization"]],
        [integer(x) for x in s["n_jobs_too_large"]],
        [usd(x) for x in s["owned_total_usd"]],
        [usd(x) for x in s["owned_amortized_total_usd"]],
        strict=True,
    )
    return Table.of(cols, rows, right=cols)


def sections(r: Report) -> list[tuple[str, Table]]:
    """The report as titled tables of display strings."""
    d = r.to_dict()
    out = [
        ("Demand", demand_table(d)),
        ("Cloud: renting the same GPU-hours", cloud_table(d)),
        (f"Owned: buying {plural(d['n_gpus'], 'GPU')} ({r.owned_server})", owned_table(d)),
        ("Owned vs cloud", versus_table(d)),
    ]
    if "owned_usd_per_used_gpu_hour" in d:
        out.append(("Owned cost per used GPU-hour", per_used_table(d)))
    if r.sizing is not None:
        out.append((sizing_title(d), sizing_table(r.sizing)))
    return out


#: The owned side's assumptions as a reader names them.
OWNED_LABELS = {
    "server_price_usd": "server price",
    "gpus_per_server": "GPUs per server",
    "power_w_per_gpu": "power per owned GPU",
    "lifetime_years": "hardware lifetime",
    "hosting_usd_per_kw_month": "hosting",
    "maintenance_fraction_per_year": "maintenance",
    "staff_fte": "staff",
    "is_whole_servers": "bought as",
    "pue": "PUE",
    "electricity_usd_per_kwh": "electricity price",
}


def _owned_line(name: str, v: dict[str, Any]) -> str:
    value = v["value"]
    if isinstance(value, bool):
        shown = "whole servers" if value else "GPUs one by one (a share of a server)"
    elif isinstance(value, float | int):
        shown = given(value, grouped=True)
    else:
        shown = str(value)
    return (
        f"{OWNED_LABELS.get(name, name.replace('_', ' '))}: {shown}"
        + (f" {v['unit']}" if v["unit"] and not isinstance(value, bool) else "")
        + f" [{v['origin']}]"
        + (f" as of {v['as_of']}." if v.get("as_of") else "")
        + (f" {v['note']}." if v.get("note") else "")
        + (f" Source: {v['source']}" if v.get("source") else "")
    )


def assumptions_brief(r: Report) -> str:
    """The assumptions behind the owned and cloud figures in one paragraph (the plots' footnote)."""
    a = r.to_dict()["assumptions"]
    ow = a["owned"]

    def v(name: str) -> Any:
        return (ow.get(name) or {}).get("value")

    clouds = [
        f"{usd_rate(p['usd_per_gpu_hour_low'])}-{usd_rate(p['usd_per_gpu_hour_high'])} per GPU-hour "
        f"({p['price_key']}, {p['price_provider']} {p['pricing_model_low']} to {p['pricing_model_high']})"
        if not (is_unknown(p["usd_per_gpu_hour_low"]) or is_unknown(p["usd_per_gpu_hour_high"]))
        else f"{p['gpu_key']} unknown"
        for p in a["cloud_prices"]
    ]
    server = (ow.get("server_price_usd") or {}).get("as_of")
    return (
        f"{a['name']} assumptions. Owned: {r.owned_server or 'server'} at {usd(v('server_price_usd'))} per "
        f"{given(v('gpus_per_server'))}-GPU server"
        + said(server, f" (as of {server})")
        + f", {given(v('lifetime_years'))}-year life, {given(v('power_w_per_gpu'))} W per GPU, PUE "
        f"{given(v('pue'))}, electricity {usd_rate(v('electricity_usd_per_kwh'))}/kWh, hosting "
        f"{usd_rate(v('hosting_usd_per_kw_month'))}/kW-month, maintenance "
        f"{given(100 * v('maintenance_fraction_per_year') if v('maintenance_fraction_per_year') is not None else None)}% "
        f"a year, staff {given(v('staff_fte'))} FTE. Cloud: "
        + ("; ".join(dict.fromkeys(clouds)) or "unknown")
        + "."
    )


def assumption_lines(r: Report) -> list[str]:
    a = r.to_dict()["assumptions"]
    lines = [
        f"assumptions: {a['name']} (layers: {', '.join(a['layers'])}); year of the jobs: {a['year']}"
    ]
    for p in a["cloud_prices"]:
        lo, hi = p["usd_per_gpu_hour_low"], p["usd_per_gpu_hour_high"]
        price = (
            f"unknown ({number(p['gpu_hours'])} GPU-hours)"
            if is_unknown(lo) or is_unknown(hi)
            else f"{usd_rate(lo)} - {usd_rate(hi)} per GPU-hour ({p['price_key']}, {p['price_provider']} "
            f"{p['pricing_model_low']} / {p['pricing_model_high']}, as of {p['price_as_of_low']}; "
            f"{number(p['gpu_hours'])} GPU-hours)"
        )
        lines.append(
            f"cloud price {p['gpu_key']}: {price}"
            + said(p["note"], f" {p['note']}.")
            + said(p["price_source"], f" Source: {p['price_source']}")
        )
    lines += [_owned_line(name, v) for name, v in a["owned"].items()]
    lines.append(
        f"a month is {given(a['hours_per_month'])} hours, a year {integer(a['hours_per_year'])} hours"
    )
    return lines


def figures(r: Report) -> pd.DataFrame:
    """Long form for --format csv: one row per scalar figure of the JSON."""
    d = r.to_dict()
    rows = [
        (k, v)
        for k, v in d.items()
        if k not in ("project", "sizing", "replay", "notes", "assumptions", "capacity")
    ]
    return pd.DataFrame(rows, columns=["figure", "value"])


def document(r: Report) -> Document:
    blocks: list = [Heading(title(r), level=1)]
    for name, t in sections(r):
        blocks += [Heading(name), t]
    blocks += [Heading("Assumptions"), BulletList(assumption_lines(r))]
    if r.notes:
        blocks += [Heading("Notes"), BulletList(r.notes)]
    return Document(title(r), blocks)


def brief_table(d: dict[str, Any]) -> Table:
    """The report's section: GPUs bought, owned and cloud cost, the paper's ratio, break-even."""
    rows = [
        ("GPUs bought", number(d.get("n_gpus")), str(d.get("n_gpus_rule") or "")),
        ("owned: purchase", usd(d.get("owned_purchase_usd")), str(d.get("owned_server") or "")),
        ("owned: purchase + running", usd(d.get("owned_total_usd")), ""),
        ("cloud, low - high", usd_range(d.get("cloud_usd_low"), d.get("cloud_usd_high")), ""),
        (
            "purchase / cloud high",
            ratio(d.get("owned_purchase_to_cloud_high_ratio")),
            _paper_ratio(d, "the paper"),
        ),
        (
            "owning is cheaper after (vs on-demand)",
            _never(
                d.get("breakeven_months"),
                months(d.get("breakeven_months")),
                d.get("cloud_usd_high"),
            ),
            "",
        ),
    ]
    return Table.of(("figure", "value", "how"), rows, right=("value",))
