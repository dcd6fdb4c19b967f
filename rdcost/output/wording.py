"""Words and numbers shared by the plots, the report and the compute statement."""

from __future__ import annotations

from typing import Any

from rdcost.analysis.summary import Summary
from rdcost.output import render


def fmt(v: Any, kind: str = "") -> str:
    """:func:`rdcost.output.render.fmt` with whole dollars from $10 ($1,234; $5.43; 12.3%; 'unknown')."""
    return render.fmt(v, kind, usd_cents_below=10)


def usd_range(low: Any, high: Any) -> str:
    """'$52 - $175', or 'unknown' when either end is unknown."""
    if fmt(low) == "unknown" or fmt(high) == "unknown":
        return "unknown"
    return f"{fmt(low, 'usd')} - {fmt(high, 'usd')}"


def assumptions_brief(s: Summary) -> str:
    """The assumptions behind every cost, energy and CO2e figure, in one line."""
    a = s.assumptions
    prices = []
    for p in a["prices"]:
        lo, hi = p["usd_per_gpu_hour_low"], p["usd_per_gpu_hour_high"]
        if lo is None or hi is None:
            prices.append(f"{p['gpu_key']} unknown")
            continue
        when = p["price_as_of_low"] if p["price_as_of_low"] == p["price_as_of_high"] else \
            f"{p['price_as_of_low']}/{p['price_as_of_high']}"
        prices.append(f"${lo:g}-${hi:g} per GPU-hour ({p['price_key']}, {p['price_provider']} "
                      f"{p['pricing_model_low']} to {p['pricing_model_high']}, as of {when})")
    power = [f"{p['power_w']:g} W per GPU ({p['basis']})" if p["power_w"] is not None
             else f"{p['gpu_key']} power unknown" for p in a["power"]]
    c, pue, el = a["carbon"], a["pue"], a["electricity_usd_per_kwh"]
    parts = [f"{a['name']} assumptions"]
    if prices:
        parts.append("cloud " + "; ".join(dict.fromkeys(prices)))
    if power:
        parts.append(", ".join(dict.fromkeys(power)))
    parts.append(f"PUE {pue['value']:g}" + (f" (as of {pue['as_of']})" if pue.get("as_of") else ""))
    parts.append(f"{c['kg_co2e_per_kwh']:.4g} kg CO2e/kWh ({c['region'] or 'region unknown'}, "
                 f"{c['year'] or 'year unknown'})")
    parts.append(f"electricity ${el['value']:g}/kWh" + (f" (as of {el['as_of']})" if el.get("as_of") else ""))
    return "; ".join(parts)
