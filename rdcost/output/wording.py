"""Words shared by the plots, the report and the compute statement (numbers: :mod:`rdcost.output.numbers`)."""

from __future__ import annotations

from rdcost.analysis.summary import Summary
from rdcost.output.numbers import given, is_unknown, significant, usd_rate


def said(v: object, text: str) -> str:
    """``text`` when ``v`` is given (not missing, not empty), else nothing."""
    return "" if is_unknown(v) or v == "" else text


def assumptions_brief(s: Summary) -> str:
    """The assumptions behind every cost, energy and CO2e figure, in one line."""
    a = s.assumptions
    prices = []
    for p in a["prices"]:
        lo, hi = p["usd_per_gpu_hour_low"], p["usd_per_gpu_hour_high"]
        if is_unknown(lo) or is_unknown(hi):
            prices.append(f"{p['gpu_key']} unknown")
            continue
        when = (
            p["price_as_of_low"]
            if p["price_as_of_low"] == p["price_as_of_high"]
            else f"{p['price_as_of_low']}/{p['price_as_of_high']}"
        )
        prices.append(
            f"{usd_rate(lo)}-{usd_rate(hi)} per GPU-hour ({p['price_key']}, {p['price_provider']} "
            f"{p['pricing_model_low']} to {p['pricing_model_high']}, as of {when})"
        )
    power = [
        f"{given(p['power_w'])} W per GPU ({p['basis']})"
        if not is_unknown(p["power_w"])
        else f"{p['gpu_key']} power unknown"
        for p in a["power"]
    ]
    c, pue, el = a["carbon"], a["pue"], a["electricity_usd_per_kwh"]
    parts = [f"{a['name']} assumptions"]
    if prices:
        parts.append("cloud " + "; ".join(dict.fromkeys(prices)))
    if power:
        parts.append(", ".join(dict.fromkeys(power)))
    parts.append(
        f"PUE {given(pue['value'])}" + (f" (as of {pue['as_of']})" if pue.get("as_of") else "")
    )
    parts.append(
        f"{significant(c['kg_co2e_per_kwh'], 4)} kg CO2e/kWh ({c['region'] or 'region unknown'}, "
        f"{c['year'] or 'year unknown'})"
    )
    parts.append(
        f"electricity {usd_rate(el['value'])}/kWh"
        + (f" (as of {el['as_of']})" if el.get("as_of") else "")
    )
    e = getattr(s, "energy", None) or {}
    if e:
        ins = {i["input"]: i for i in e.get("inputs", [])}
        rng = [
            f"{label} {given(ins[k]['low'])}-{given(ins[k]['high'])}"
            for k, label in (("pue", "PUE"), ("rated_factor", "rated-power factor"))
            if k in ins
        ]
        if "carbon_intensity_kg_per_kwh" in ins:
            c = ins["carbon_intensity_kg_per_kwh"]
            rng.append(f"intensity {significant(c['low'], 3)}-{significant(c['high'], 3)} kg/kWh")
        parts.append(
            f"energy method {e['method']}"
            + (
                f"; ranges from {', '.join(rng)} and the other inputs of the energy section"
                if rng
                else ""
            )
        )
    return "; ".join(parts)
