"""`rdcost estimate`: one training run from hardware, count, hours and measured power
(the method of Strubell et al. 2019, Table 3)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import pandas as pd
import typer

from rdcost.analysis import reference
from rdcost.analysis.assumptions import hardware_price
from rdcost.analysis.costing import RunEstimate, estimate_run
from rdcost.cli.app import OutputFormat, app, out
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.errors import AssumptionError, UsageError
from rdcost.output import render
from rdcost.output.render import fmt


@app.command("estimate")
@assumption_options(
    "assumptions", "pue", "kg_co2e_per_kwh", "lbs_co2e_per_kwh", "usd_per_gpu_hour_low", "usd_per_gpu_hour_high",
    "usd_per_kwh", "price_provider", "price_date", "carbon_region", "carbon_year", "gpu_alias",
    help={  # one run on named hardware, not the jobs of a project
        "assumptions": "A bundled preset (paper) or a TOML file; repeat to layer them, later ones win. "
                       "Default: paper.",
        "pue": "Power usage effectiveness (default from --assumptions: paper 1.58).",
        "kg_co2e_per_kwh": "Carbon intensity, kg CO2e per kWh (default: the paper's 0.954 lbs = 0.4327 kg).",
        "lbs_co2e_per_kwh": "Carbon intensity, lbs CO2e per kWh.",
        "usd_per_gpu_hour_low": "Low cloud price per device-hour, USD (with --usd-per-gpu-hour-high).",
        "usd_per_gpu_hour_high": "High cloud price per device-hour, USD.",
        "price_provider": "Cloud whose price list is used when the assumptions give no price.",
        "price_date": "Date of the price list (YYYY-MM-DD; default today).",
        "carbon_region": "Region of carbon_intensity.csv when the assumptions give no intensity.",
        "carbon_year": "Year of that carbon intensity.",
        "gpu_alias": "Map a device name to a gpus.csv key: NAME=KEY (repeatable)."})
def estimate_command(
    hardware: Annotated[str, typer.Option(help="Device type: a gpus.csv key or a name such as P100, V100, TPUv2, 'Tesla V100-SXM2-16GB'.")],
    hours: Annotated[float, typer.Option(help="Wall-clock training time, hours.")],
    count: Annotated[float, typer.Option(help="Number of devices (GPUs, or Cloud TPU devices).")] = 1,
    watts: Annotated[float | None, typer.Option(
        help="Measured average draw of the whole system (all devices, CPU and DRAM), W. "
             "Without it (or --watts-per-device) energy and CO2e are unknown.")] = None,
    watts_per_device: Annotated[float | None, typer.Option(help="Average draw per device, W (times --count).")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")] = OutputFormat.table,
    *, opts: AssumptionOptions,
) -> None:
    """Energy (kWh x PUE), CO2e and cloud cost of one training run:
    kWh = PUE x hours x watts / 1000, CO2e = kWh x intensity, cost = count x hours x price.

    Defaults are the paper's (--assumptions paper): PUE 1.58, 0.954 lbs CO2e/kWh and its
    2019 GCP prices for P100, V100, TPU v2 and TPU v3.

    Example:

      rdcost estimate --hardware P100 --count 8 --hours 12 --watts 1415.78

      rdcost estimate --hardware TPUv2 --count 16 --hours 96 --format json
    """
    if watts is not None and watts_per_device is not None:
        raise UsageError("give --watts (whole system) or --watts-per-device, not both")
    for name, v in (("--hours", hours), ("--count", count)):
        if v <= 0:
            raise UsageError(f"{name} must be > 0", value=str(v))
    # --price-date picks the price of this run's date below; it does not re-date the assumptions
    a = replace(opts, price_date=None).load_assumptions(default=["paper"])
    if opts.usd_per_gpu_hour_low is None:
        # a preset's price for "any GPU" (the paper's P100 stand-in for its cluster) is
        # not a price of the hardware named here
        a = replace(a, prices={k: v for k, v in a.prices.items() if k != "*"})
    when = pd.Timestamp(opts.price_date) if opts.price_date else pd.Timestamp.now(tz="UTC")
    a = a.for_year(when.year)
    key = reference.gpu_key(hardware, dict(a.gpu_aliases))
    price, why = hardware_price(a, key if key is not None else hardware, when)
    if price is None:
        raise AssumptionError(f"no cloud price for {hardware!r} ({why})", value=hardware,
                              hint="give --usd-per-gpu-hour-low and --usd-per-gpu-hour-high, or another "
                                   "--price-provider / --assumptions")
    power_w = watts if watts is not None else (None if watts_per_device is None else watts_per_device * count)
    est = estimate_run(hardware, count, hours, power_w, a.pue.value, a.carbon.kg_co2e_per_kwh,
                       price.usd_per_gpu_hour_low, price.usd_per_gpu_hour_high,
                       a.electricity_usd_per_kwh.value)
    used = {
        "gpu_key": key,
        "price": {"usd_per_gpu_hour_low": price.usd_per_gpu_hour_low,
                  "usd_per_gpu_hour_high": price.usd_per_gpu_hour_high, "provider": price.provider,
                  "pricing_model_low": price.pricing_model_low, "pricing_model_high": price.pricing_model_high,
                  "as_of": price.as_of, "source": price.source, "origin": price.origin,
                  "note": price.note or why},
        "power": {"power_w": power_w,
                  "basis": None if power_w is None else
                  ("whole system, measured" if watts is not None else f"{watts_per_device:g} W per device x {count:g}"),
                  "origin": "option --watts" if watts is not None else
                  ("option --watts-per-device" if watts_per_device is not None else None)},
        "pue": _sourced(a.pue), "electricity_usd_per_kwh": _sourced(a.electricity_usd_per_kwh),
        "carbon": {"kg_co2e_per_kwh": a.carbon.kg_co2e_per_kwh, "lbs_co2e_per_kwh": a.carbon.lbs_co2e_per_kwh,
                   "region": a.carbon.region, "year": a.carbon.year, "source": a.carbon.source,
                   "origin": a.carbon.origin, "note": a.carbon.note},
        "layers": list(a.layers),
    }
    d = {**est.to_dict(), "gpu_key": key, "assumptions": used}
    if format == OutputFormat.json:
        out(render.to_json(d))
        return
    if format == OutputFormat.csv:
        out(render.to_csv(_figures(est, used)))
        return
    df = _table(est)
    lines = _assumption_lines(used)
    if format == OutputFormat.markdown:
        out(render.to_markdown(df, align_right=[c for c in df.columns if c != "hardware"]) + "\n"
            + "\n".join(f"- {render.md_escape(x)}" for x in lines))
    else:
        out(render.to_text_table(df) + "\n" + "\n".join(f"- {x}" for x in lines))


def _sourced(v: Any) -> dict[str, Any]:
    return {"value": v.value, "unit": v.unit, "source": v.source, "origin": v.origin, "as_of": v.as_of,
            "note": v.note}


def _table(e: RunEstimate) -> pd.DataFrame:
    return pd.DataFrame({
        "hardware": [e.hardware], "count": [fmt(_num(e.count))], "hours": [fmt(_num(e.hours))],
        "power_w": ["unknown" if e.power_w is None else f"{e.power_w:,.2f}".rstrip("0").rstrip(".")], "energy_kwh (x PUE)": [fmt(e.energy_kwh)],
        "co2e_lbs": [fmt(e.co2e_lbs)], "co2e_kg": [fmt(e.co2e_kg)],
        "cloud_usd (low - high)": [f"{fmt(e.cloud_usd_low, 'usd')} - {fmt(e.cloud_usd_high, 'usd')}"],
        "electricity_usd": [fmt(e.electricity_usd, "usd")],
    })


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _assumption_lines(u: dict[str, Any]) -> list[str]:
    p, c = u["price"], u["carbon"]
    power = ("power: unknown (no --watts): energy, CO2e and electricity are unknown" if u["power"]["power_w"] is None
             else f"power: {u['power']['power_w']:,g} W, {u['power']['basis']} [{u['power']['origin']}]")
    return [
        f"price: ${p['usd_per_gpu_hour_low']:g} - ${p['usd_per_gpu_hour_high']:g} per device-hour "
        f"({p['provider']} {p['pricing_model_low']} / {p['pricing_model_high']}, as of {p['as_of']}) "
        f"[{p['origin']}]" + (f" {p['note']}." if p["note"] else "") + f" Source: {p['source']}",
        power,
        f"PUE: {u['pue']['value']:g} [{u['pue']['origin']}] Source: {u['pue']['source']}",
        f"carbon intensity: {c['kg_co2e_per_kwh']:.4g} kg CO2e/kWh = {c['lbs_co2e_per_kwh']:.4g} lbs/kWh "
        f"({c['region']}, {c['year']}) [{c['origin']}] Source: {c['source']}",
        f"electricity: {u['electricity_usd_per_kwh']['value']:g} USD/kWh [{u['electricity_usd_per_kwh']['origin']}] "
        f"Source: {u['electricity_usd_per_kwh']['source']}",
    ]


def _figures(e: RunEstimate, u: dict[str, Any]) -> pd.DataFrame:
    p = u["price"]
    price = f"{p['provider']} {p['pricing_model_low']}/{p['pricing_model_high']} as of {p['as_of']}; {p['origin']}"
    env = (f"PUE {u['pue']['value']:g}; {u['carbon']['kg_co2e_per_kwh']:.4g} kg CO2e/kWh "
           f"({u['carbon']['region']}, {u['carbon']['year']})")
    rows = [("gpu_hours", e.gpu_hours, "device-hours", f"{e.count:g} x {e.hours:g} h"),
            ("power_w", e.power_w, "W", u["power"]["basis"] or "unknown"),
            ("energy_kwh", e.energy_kwh, "kWh", env), ("co2e_kg", e.co2e_kg, "kg", env),
            ("co2e_lbs", e.co2e_lbs, "lbs", env),
            ("usd_per_gpu_hour_low", e.usd_per_gpu_hour_low, "USD per device-hour", price),
            ("usd_per_gpu_hour_high", e.usd_per_gpu_hour_high, "USD per device-hour", price),
            ("cloud_usd_low", e.cloud_usd_low, "USD", price), ("cloud_usd_high", e.cloud_usd_high, "USD", price),
            ("electricity_usd", e.electricity_usd, "USD",
             f"{u['electricity_usd_per_kwh']['value']:g} USD/kWh; {env}")]
    return pd.DataFrame([("estimate", *r) for r in rows],
                        columns=["section", "metric", "value", "unit", "assumption"], dtype=object)
