"""FOCUS (FinOps Open Cost and Usage Specification) 1.x rows of a project: one per job, or
one per group (``--by``) and charge period, for one pricing scenario.

Scenarios: ``cloud-on-demand`` (list = effective = the on-demand price), ``cloud-spot``
(list = on-demand, effective = the pre-emptible/spot price), ``owned`` (list = effective =
the owned cost of a used GPU-hour from compare-buy-vs-cloud: amortized purchase, running
costs and the idle share at the measured or the project's utilization). BilledCost is the
effective cost (what the scenario would have billed: rdcost estimates, no invoice exists).

Column names, types and the mandatory columns follow FOCUS 1.0 (and are kept in 1.1):
:data:`FOCUS_COLUMNS`; rdcost's own figures are ``x_`` columns (:data:`X_COLUMNS`).
docs/export.md documents every column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rdcost.analysis.breakdown import BreakdownSpec, breakdown_of_frame
from rdcost.analysis.project import ProjectAnalysis
from rdcost.errors import UsageError
from rdcost.plural import plural
from rdcost.version import __version__

FOCUS_VERSION = "1.0"
SCENARIOS = ("cloud-on-demand", "cloud-spot", "owned")
PERIODS = ("month", "week", "day")
#: FOCUS type of each column (Decimal, DateTime, String); every FOCUS 1.0 Mandatory column
#: and the Conditional ones rdcost can fill.
FOCUS_COLUMNS: dict[str, str] = {
    "BilledCost": "Decimal",
    "BillingAccountId": "String",
    "BillingAccountName": "String",
    "BillingCurrency": "String",
    "BillingPeriodEnd": "DateTime",
    "BillingPeriodStart": "DateTime",
    "ChargeCategory": "String",
    "ChargeClass": "String",
    "ChargeDescription": "String",
    "ChargeFrequency": "String",
    "ChargePeriodEnd": "DateTime",
    "ChargePeriodStart": "DateTime",
    "ConsumedQuantity": "Decimal",
    "ConsumedUnit": "String",
    "ContractedCost": "Decimal",
    "ContractedUnitPrice": "Decimal",
    "EffectiveCost": "Decimal",
    "InvoiceIssuerName": "String",
    "ListCost": "Decimal",
    "ListUnitPrice": "Decimal",
    "PricingCategory": "String",
    "PricingQuantity": "Decimal",
    "PricingUnit": "String",
    "ProviderName": "String",
    "PublisherName": "String",
    "RegionId": "String",
    "RegionName": "String",
    "ResourceId": "String",
    "ResourceName": "String",
    "ResourceType": "String",
    "ServiceCategory": "String",
    "ServiceName": "String",
    "SkuId": "String",
    "SkuPriceId": "String",
    "SubAccountId": "String",
    "SubAccountName": "String",
    "Tags": "String",
}
#: FOCUS 1.0 Mandatory columns (present in every FOCUS dataset).
MANDATORY = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
)
#: rdcost's own columns (FOCUS custom columns start with ``x_``): name -> (Arrow type, meaning).
X_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "x_Scenario": (pa.string(), "cloud-on-demand, cloud-spot or owned"),
    "x_GpuHours": (pa.float64(), "GPU-hours (n_gpus x elapsed hours)"),
    "x_NJobs": (pa.int64(), "jobs in the row"),
    "x_GpuType": (pa.string(), "GPU type as logged (per-job rows)"),
    "x_GpuKey": (pa.string(), "rdcost GPU key (per-job rows)"),
    "x_CloudCostLow": (pa.float64(), "cloud cost at the pre-emptible/spot price, USD"),
    "x_CloudCostHigh": (pa.float64(), "cloud cost at the on-demand price, USD"),
    "x_ElectricityCost": (pa.float64(), "electricity if run on owned GPUs, USD"),
    "x_EnergyKwh": (pa.float64(), "energy at the meter (PUE included), kWh"),
    "x_PowerWPerGpu": (pa.float64(), "power per GPU behind the energy, W (per-job rows)"),
    "x_PowerBasis": (pa.string(), "rated, measured or assumed (per-job rows)"),
    "x_PowerSource": (pa.string(), "where the power figure comes from"),
    "x_Pue": (pa.float64(), "power usage effectiveness"),
    "x_Co2eKg": (pa.float64(), "CO2e, kg"),
    "x_CarbonIntensityKgPerKwh": (pa.float64(), "kg CO2e per kWh"),
    "x_CarbonSource": (pa.string(), "region, year and source of the carbon intensity"),
    "x_PriceSource": (
        pa.string(),
        "price list, pricing models, date and source of the cloud price",
    ),
    "x_OwnedUsdPerUsedGpuHour": (pa.float64(), "owned cost of a used GPU-hour (owned scenario)"),
    "x_OwnedCostRule": (pa.string(), "how the owned cost was found (owned scenario)"),
    "x_WasteCategory": (pa.string(), "crashed, failed, cancelled, timed_out (per-job rows)"),
    "x_State": (pa.string(), "final state (per-job rows)"),
    "x_Assumptions": (pa.string(), "the assumptions' name and layers"),
    "x_Generator": (pa.string(), "rdcost version and FOCUS version followed"),
}
_ARROW = {
    "Decimal": pa.decimal128(38, 12),
    "DateTime": pa.timestamp("us", tz="UTC"),
    "String": pa.string(),
}
_PROVIDERS = {
    "gcp": "Google Cloud",
    "aws": "Amazon Web Services",
    "azure": "Microsoft Azure",
    "lambda": "Lambda",
    "runpod": "RunPod",
    "coreweave": "CoreWeave",
    "nebius": "Nebius",
}
UNIT = "GPU-Hours"


@dataclass
class FocusExport:
    """The rows (a data frame with the FOCUS and x_ columns) and what was left out."""

    rows: pd.DataFrame
    scenario: str
    notes: list[str] = field(default_factory=list)

    def arrow(self) -> pa.Table:
        """The rows with their FOCUS types (Decimal as decimal128(38, 12), DateTime as UTC
        timestamps, String as string) and the x_ columns' types."""
        arrays, fields = [], []
        for name in self.rows.columns:
            col = self.rows[name]
            if name in FOCUS_COLUMNS:
                t = _ARROW[FOCUS_COLUMNS[name]]
                if FOCUS_COLUMNS[name] == "Decimal":
                    values = [None if _na(v) else _dec(v) for v in col]
                    arrays.append(pa.array(values, type=t))
                else:
                    arrays.append(pa.array(col, type=t, from_pandas=True))
            else:
                arrays.append(pa.array(col, type=X_COLUMNS[name][0], from_pandas=True))
            fields.append(pa.field(name, arrays[-1].type))
        meta = {
            b"focus_version": FOCUS_VERSION.encode(),
            b"generator": f"rdcost {__version__}".encode(),
        }
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))

    def write(self, path: str | Path) -> Path:
        """Write ``.csv`` or ``.parquet`` (by the suffix)."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise UsageError("a FOCUS export is written to a .csv or .parquet file", value=str(p))
        p.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".parquet":
            pq.write_table(self.arrow(), p)
        else:
            p.write_text(to_csv(self.rows), encoding="utf-8")
        return p


def _na(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _dec(v: float) -> Decimal:
    return Decimal(repr(float(v))).quantize(Decimal("1e-12"))


def to_csv(rows: pd.DataFrame) -> str:
    """CSV: DateTime as ISO 8601 UTC (``2018-01-01T00:00:00Z``), numbers as their shortest
    text, null as an empty cell; cells that would start a spreadsheet formula are quoted as
    text by the CSV renderer's rule."""
    from rdcost.output.renderers import csv as csv_renderer

    out = rows.copy()
    for name, kind in FOCUS_COLUMNS.items():
        if kind == "DateTime" and name in out:
            out[name] = pd.to_datetime(out[name], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return csv_renderer.frame(out)


def focus_rows(
    ctx: ProjectAnalysis,
    *,
    scenario: str = "cloud-on-demand",
    by: BreakdownSpec | None = None,
    period: str = "month",
) -> FocusExport:
    """The FOCUS rows of a project: per job, or per group of ``by`` and ``period``."""
    if scenario not in SCENARIOS:
        raise UsageError(f"--scenario must be one of {', '.join(SCENARIOS)}", value=scenario)
    if period not in PERIODS:
        raise UsageError(f"--period must be one of {', '.join(PERIODS)}", value=period)
    owned_rate, owned_rule = (None, None)
    if scenario == "owned":
        d = ctx.buy_vs_cloud().to_dict()
        owned_rate = d.get("owned_usd_per_used_gpu_hour")
        owned_rule = (
            f"compare-buy-vs-cloud: {d.get('owned_server')}; utilization {d.get('owned_utilization')} "
            f"({d.get('owned_utilization_rule')})"
        )
        if owned_rate is None:
            raise UsageError("the owned cost of a used GPU-hour is unknown (no utilization)")
    notes: list[str] = []
    if by is None:
        df = _job_rows(ctx, notes)
    else:
        df = _group_rows(ctx, by, period, notes)
    _costs(df, scenario, owned_rate, owned_rule, ctx)
    _common(df, ctx, scenario)
    cols = [c for c in FOCUS_COLUMNS if c in df] + [c for c in X_COLUMNS if c in df]
    return FocusExport(df[cols].reset_index(drop=True), scenario, notes)


def _job_rows(ctx: ProjectAnalysis, notes: list[str]) -> pd.DataFrame:
    cj, c = ctx.jobs, ctx.costs
    gh = c["gpu_hours"].astype("float64")
    ok = c["is_counted"] & gh.notna() & (gh > 0) & c["place_time"].notna()
    unknown = ok & (c["cloud_usd_low"].isna() | c["cloud_usd_high"].isna())
    n_left = int((c["is_counted"] & gh.isna()).sum())
    if n_left:
        notes.append(
            f"{n_left:,} jobs of unknown GPU count or run time are left out (no GPU-hours to charge)"
        )
    if unknown.any():
        notes.append(f"{int(unknown.sum()):,} jobs without a cloud price are left out")
    ok &= ~unknown
    j, k = cj[ok], c[ok]
    start = pd.to_datetime(k["place_time"], utc=True)
    end = pd.to_datetime(k["end_eff"], utc=True)
    end = end.where(end > start, start + pd.Timedelta(seconds=1))
    n_gpus = pd.to_numeric(j["n_gpus"]).astype("float64")
    hours = k["elapsed_s"].astype("float64") / 3600
    source = j["source"].astype("string").fillna("job")
    kind = source.map(
        {"slurm": "Slurm job", "wandb": "W&B run", "mlflow": "MLflow run", "csv": "job"}
    )
    cluster = j["cluster"].astype("string") if "cluster" in j else pd.Series(pd.NA, index=j.index)
    rid = (cluster.fillna(source) + "/" + j["job_id"].astype("string")).astype("string")
    tags = [
        json.dumps(
            {
                t: v
                for t, v in zip(
                    ("user", "account", "partition", "qos", "project"), vals, strict=True
                )
                if isinstance(v, str)
            },
            sort_keys=True,
        )
        for vals in zip(
            *(_col(j, n) for n in ("user", "account", "partition", "qos", "project")), strict=True
        )
    ]
    df = pd.DataFrame(
        {
            "ChargePeriodStart": start,
            "ChargePeriodEnd": end,
            "ChargeDescription": [
                f"{_g(n)} x {t if isinstance(t, str) else 'GPU'} for {h:.4g} h: {kd} {jid}"
                for n, t, h, kd, jid in zip(
                    n_gpus, _col(j, "gpu_type"), hours, kind, j["job_id"], strict=True
                )
            ],
            "ResourceId": rid,
            "ResourceName": j["job_name"].astype("string"),
            "ResourceType": kind.astype("string"),
            "SubAccountId": j["account"].astype("string") if "account" in j else pd.NA,
            "SubAccountName": j["account"].astype("string") if "account" in j else pd.NA,
            "Tags": tags,
            "quantity": gh[ok],
            "x_NJobs": 1,
            "x_GpuType": k["gpu_type"].astype("string"),
            "x_GpuKey": k["gpu_key"].astype("string"),
            "low": k["cloud_usd_low"].astype("float64"),
            "high": k["cloud_usd_high"].astype("float64"),
            "unit_low": k["usd_per_gpu_hour_low"].astype("float64"),
            "unit_high": k["usd_per_gpu_hour_high"].astype("float64"),
            "SkuId": k["price_key"].astype("string"),
            "x_ElectricityCost": k["electricity_usd"].astype("float64"),
            "x_EnergyKwh": k["energy_kwh"].astype("float64"),
            "x_PowerWPerGpu": k["power_w"].astype("float64"),
            "x_PowerBasis": k["power_basis"].astype("string"),
            "x_PowerSource": k["power_source"].astype("string"),
            "x_Co2eKg": k["co2e_kg"].astype("float64"),
            "x_PriceSource": [
                _price_source(r)
                for r in k[
                    [
                        "price_provider",
                        "pricing_model_low",
                        "pricing_model_high",
                        "price_as_of_high",
                        "price_source",
                    ]
                ].itertuples(index=False)
            ],
            "x_WasteCategory": k["waste_category"].astype("string"),
            "x_State": j["state"].astype("string"),
        }
    )
    return df


def _col(df: pd.DataFrame, name: str) -> list[Any]:
    if name not in df:
        return [None] * len(df)
    return [None if _na(v) else v for v in df[name].astype(object)]


def _g(n: float) -> str:
    return "unknown number of" if np.isnan(n) else f"{n:g}"


def _price_source(r: Any) -> str | None:
    provider, low, high, as_of, source = r
    if _na(provider) and _na(source):
        return None
    return f"{provider} {low} / {high}, as of {as_of}" + (
        f"; {source}" if isinstance(source, str) else ""
    )


def _group_rows(
    ctx: ProjectAnalysis, by: BreakdownSpec, period: str, notes: list[str]
) -> pd.DataFrame:
    time_keys = [k for k in by.keys if k in PERIODS]
    if len(time_keys) > 1:
        raise UsageError("give one of month, week, day in --by (or --period)")
    per = time_keys[0] if time_keys else period
    keys = by.keys if time_keys else (*by.keys, per)
    spec = BreakdownSpec(tuple(keys), by.hierarchy)
    b = breakdown_of_frame(ctx.jobs, ctx.costs, spec, include_implausible=ctx.include_implausible)
    rows = [
        r
        for r in b.rows
        if r["gpu_hours"]
        and r[per] is not None
        and r["cloud_usd_low"] is not None
        and r["cloud_usd_high"] is not None
    ]
    left = [r for r in b.rows if r not in rows and (r["gpu_hours"] or r["n_jobs_gpu_unknown"])]
    if left:
        notes.append(
            f"{len(left):,} groups without known GPU-hours, cloud cost or period are left out"
        )
    group_keys = [k for k in keys if k != per]
    starts = [_period_start(r[per], per) for r in rows]
    ends = [_period_end(s, per) for s in starts]
    df = pd.DataFrame(
        {
            "ChargePeriodStart": pd.to_datetime(starts, utc=True),
            "ChargePeriodEnd": pd.to_datetime(ends, utc=True),
            "ChargeDescription": [
                f"{r['gpu_hours']:.6g} GPU-hours in {plural(r['n_jobs'], 'job')}"
                + (
                    ": "
                    + ", ".join(
                        f"{k} {r[k] if r[k] is not None else 'unknown'}" for k in group_keys
                    )
                    if group_keys
                    else ""
                )
                + f", {per} {r[per]}"
                for r in rows
            ],
            "ResourceId": pd.Series([None] * len(rows), dtype="string"),
            "ResourceName": pd.Series([None] * len(rows), dtype="string"),
            "ResourceType": pd.Series([None] * len(rows), dtype="string"),
            "SubAccountId": [r.get("account") for r in rows]
            if "account" in keys
            else pd.Series([None] * len(rows), dtype="string"),
            "SubAccountName": [r.get("account") for r in rows]
            if "account" in keys
            else pd.Series([None] * len(rows), dtype="string"),
            "Tags": [
                json.dumps({k: r[k] for k in group_keys if r[k] is not None}, sort_keys=True)
                for r in rows
            ],
            "quantity": [r["gpu_hours"] for r in rows],
            "x_NJobs": [r["n_jobs"] for r in rows],
            "low": [r["cloud_usd_low"] for r in rows],
            "high": [r["cloud_usd_high"] for r in rows],
            "x_ElectricityCost": [r["electricity_usd"] for r in rows],
            "x_EnergyKwh": [r["energy_kwh"] for r in rows],
            "x_Co2eKg": [r["co2e_kg"] for r in rows],
            "x_PowerSource": _power_sources(ctx),
            "x_PriceSource": _price_sources(ctx),
        }
    )
    df["unit_low"] = df["low"] / df["quantity"]
    df["unit_high"] = df["high"] / df["quantity"]
    df["SkuId"] = pd.Series([None] * len(df), dtype="string")
    return df


def _period_start(value: str, per: str) -> pd.Timestamp:
    if per == "week":
        return pd.Timestamp.fromisocalendar(int(value[:4]), int(value[6:]), 1).tz_localize("UTC")
    return pd.Timestamp(value + ("-01" if per == "month" else ""), tz="UTC")


def _period_end(start: pd.Timestamp, per: str) -> pd.Timestamp:
    step = {
        "month": pd.DateOffset(months=1),
        "week": pd.Timedelta(days=7),
        "day": pd.Timedelta(days=1),
    }[per]
    return start + step


def _power_sources(ctx: ProjectAnalysis) -> str:
    return "; ".join(
        f"{p['gpu_key']} {p['power_w']:g} W ({p['basis']}): {p['source']}"
        for p in ctx.summary.assumptions["power"]
        if p["power_w"] is not None and p["power_w"] == p["power_w"]
    )


def _price_sources(ctx: ProjectAnalysis) -> str:
    return "; ".join(
        dict.fromkeys(
            f"{p['gpu_key']} as {p['price_key']}: {p['price_provider']} {p['pricing_model_low']} / "
            f"{p['pricing_model_high']}, as of {p['price_as_of_high']}; {p['price_source']}"
            for p in ctx.summary.assumptions["prices"]
        )
    )


def _costs(
    df: pd.DataFrame, scenario: str, rate: float | None, rule: str | None, ctx: ProjectAnalysis
) -> None:
    q = df["quantity"].astype("float64")
    df["ConsumedQuantity"] = q
    df["PricingQuantity"] = q
    df["x_GpuHours"] = q
    df["x_CloudCostLow"] = df["low"]
    df["x_CloudCostHigh"] = df["high"]
    if scenario == "owned":
        assert rate is not None
        df["ListUnitPrice"] = rate
        df["ListCost"] = q * rate
        df["EffectiveCost"] = df["ListCost"]
        df["x_OwnedUsdPerUsedGpuHour"] = rate
        df["x_OwnedCostRule"] = rule
        df["PricingCategory"] = "Standard"
        df["SkuPriceId"] = pd.Series([None] * len(df), dtype="string")
        df["SkuId"] = pd.Series([None] * len(df), dtype="string")
    else:
        df["ListUnitPrice"] = df["unit_high"]
        df["ListCost"] = df["high"]
        df["EffectiveCost"] = df["high"] if scenario == "cloud-on-demand" else df["low"]
        df["PricingCategory"] = "Standard" if scenario == "cloud-on-demand" else "Dynamic"
        df["SkuPriceId"] = df["SkuId"].astype("string") + (
            ":on_demand" if scenario == "cloud-on-demand" else ":spot"
        )
    df["ContractedUnitPrice"] = df["ListUnitPrice"]
    df["ContractedCost"] = df["ListCost"]
    df["BilledCost"] = df["EffectiveCost"]


def _common(df: pd.DataFrame, ctx: ProjectAnalysis, scenario: str) -> None:
    a = ctx.summary.assumptions
    start = pd.to_datetime(df["ChargePeriodStart"], utc=True)
    month = start.dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.tz_localize("UTC")
    df["BillingPeriodStart"] = month
    df["BillingPeriodEnd"] = month + pd.DateOffset(months=1)
    account = ctx.project or "all stored jobs"
    df["BillingAccountId"] = account
    df["BillingAccountName"] = account
    df["BillingCurrency"] = "USD"
    df["ChargeCategory"] = "Usage"
    df["ChargeClass"] = pd.Series([None] * len(df), dtype="string")
    df["ChargeFrequency"] = "Usage-Based"
    df["ConsumedUnit"] = UNIT
    df["PricingUnit"] = UNIT
    if scenario == "owned":
        provider = "Owned hardware (rdcost estimate)"
    else:
        pv = str(a.get("price_provider") or "cloud")
        provider = _PROVIDERS.get(pv, pv) + " (rdcost estimate)"
    df["ProviderName"] = provider
    df["PublisherName"] = provider
    df["InvoiceIssuerName"] = provider
    df["RegionId"] = pd.Series([None] * len(df), dtype="string")
    df["RegionName"] = pd.Series([None] * len(df), dtype="string")
    df["ServiceCategory"] = "Compute"
    df["ServiceName"] = "GPU compute"
    df["x_Scenario"] = scenario
    df["x_Pue"] = a["pue"]["value"]
    c = a["carbon"]
    df["x_CarbonIntensityKgPerKwh"] = c["kg_co2e_per_kwh"]
    df["x_CarbonSource"] = f"{c['region']}, {c['year']}; {c['source']}"
    df["x_Assumptions"] = f"{a['name']} (layers: {', '.join(a['layers'])})"
    df["x_Generator"] = f"rdcost {__version__}; FOCUS {FOCUS_VERSION}"
    if "x_PowerSource" not in df:
        df["x_PowerSource"] = _power_sources(ctx)


def columns_doc() -> list[tuple[str, str, str]]:
    """(column, type, mandatory or conditional / custom) for docs and tests."""
    out = [
        (c, t, "Mandatory" if c in MANDATORY else "Conditional") for c, t in FOCUS_COLUMNS.items()
    ]
    out += [(c, str(t), m) for c, (t, m) in X_COLUMNS.items()]
    return out
