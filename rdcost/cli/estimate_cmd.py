"""`rdcost estimate`: one training run from hardware, count, hours and measured power
(the method of Strubell et al. 2019, Table 3)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import pandas as pd
import typer

from rdcost.analysis import reference
from rdcost.analysis.assumptions import Assumptions, PriceRange, hardware_price
from rdcost.analysis.costing import estimate_run
from rdcost.cli.app import OutputFormat, app, out_csv, out_document, out_json
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.errors import AssumptionError, UsageError
from rdcost.output.numbers import given
from rdcost.output.views import estimate as view


@app.command("estimate")
@assumption_options(
    "assumptions",
    "pue",
    "kg_co2e_per_kwh",
    "lbs_co2e_per_kwh",
    "usd_per_gpu_hour_low",
    "usd_per_gpu_hour_high",
    "usd_per_kwh",
    "price_provider",
    "price_date",
    "carbon_region",
    "carbon_year",
    "gpu_alias",
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
        "gpu_alias": "Map a device name to a gpus.csv key: NAME=KEY (repeatable).",
    },
)
def estimate_command(
    hardware: Annotated[
        str,
        typer.Option(
            help="Device type: a gpus.csv key or a name such as P100, V100, TPUv2, 'Tesla V100-SXM2-16GB'.",
            metavar="TEXT",
        ),
    ],
    hours: Annotated[
        float, typer.Option(help="Wall-clock training time, hours.", metavar="NUMBER")
    ],
    count: Annotated[
        float,
        typer.Option(help="Number of devices (GPUs, or Cloud TPU devices).", metavar="NUMBER"),
    ] = 1,
    watts: Annotated[
        float | None,
        typer.Option(
            help="Measured average draw of the whole system (all devices, CPU and DRAM), W. "
            "Without it (or --watts-per-device) energy and CO2e are unknown.",
            metavar="NUMBER",
        ),
    ] = None,
    watts_per_device: Annotated[
        float | None,
        typer.Option(help="Average draw per device, W (times --count).", metavar="NUMBER"),
    ] = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")
    ] = OutputFormat.table,
    *,
    opts: AssumptionOptions,
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
    a, key, price, why = _price(opts, hardware)
    assert a.pue and a.carbon and a.electricity_usd_per_kwh  # for_year filled them
    power_w = (
        watts
        if watts is not None
        else (None if watts_per_device is None else watts_per_device * count)
    )
    est = estimate_run(
        hardware,
        count,
        hours,
        power_w,
        a.pue.value,
        a.carbon.kg_co2e_per_kwh,
        price.usd_per_gpu_hour_low,
        price.usd_per_gpu_hour_high,
        a.electricity_usd_per_kwh.value,
    )
    power = {
        "power_w": power_w,
        "basis": None
        if power_w is None
        else (
            "whole system, measured"
            if watts is not None
            else f"{given(watts_per_device)} W per device x {given(count)}"
        ),
        "origin": "option --watts"
        if watts is not None
        else ("option --watts-per-device" if watts_per_device is not None else None),
    }
    used = _used(a, key, price, why, power)
    if format == OutputFormat.json:
        out_json({**est.to_dict(), "gpu_key": key, "assumptions": used})
    elif format == OutputFormat.csv:
        out_csv(view.figures(est, used))
    else:
        out_document(view.document(est, used), format)


def _price(
    opts: AssumptionOptions, hardware: str
) -> tuple[Assumptions, str | None, PriceRange, str]:
    """The assumptions, the hardware's gpus.csv key and its cloud price on the run's date."""
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
        raise AssumptionError(
            f"no cloud price for {hardware!r} ({why})",
            value=hardware,
            hint="give --usd-per-gpu-hour-low and --usd-per-gpu-hour-high, or another "
            "--price-provider / --assumptions",
        )
    return a, key, price, why


def _used(
    a: Assumptions, key: str | None, price: PriceRange, why: str, power: dict[str, Any]
) -> dict[str, Any]:
    """The assumptions the estimate used (the ``assumptions`` of the JSON)."""
    assert a.carbon is not None  # for_year filled it
    return {
        "gpu_key": key,
        "price": {
            "usd_per_gpu_hour_low": price.usd_per_gpu_hour_low,
            "usd_per_gpu_hour_high": price.usd_per_gpu_hour_high,
            "provider": price.provider,
            "pricing_model_low": price.pricing_model_low,
            "pricing_model_high": price.pricing_model_high,
            "as_of": price.as_of,
            "source": price.source,
            "origin": price.origin,
            "note": price.note or why,
        },
        "power": power,
        "pue": _sourced(a.pue),
        "electricity_usd_per_kwh": _sourced(a.electricity_usd_per_kwh),
        "carbon": {
            "kg_co2e_per_kwh": a.carbon.kg_co2e_per_kwh,
            "lbs_co2e_per_kwh": a.carbon.lbs_co2e_per_kwh,
            "region": a.carbon.region,
            "year": a.carbon.year,
            "source": a.carbon.source,
            "origin": a.carbon.origin,
            "note": a.carbon.note,
        },
        "layers": list(a.layers),
    }


def _sourced(v: Any) -> dict[str, Any]:
    return {
        "value": v.value,
        "unit": v.unit,
        "source": v.source,
        "origin": v.origin,
        "as_of": v.as_of,
        "note": v.note,
    }
