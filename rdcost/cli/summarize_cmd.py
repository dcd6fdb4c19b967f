"""`rdcost summarize`: the case-study summary of a project, with its assumptions."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import pandas as pd
import typer

from rdcost.analysis.summary import Summary, summarize_store
from rdcost.cli.app import OutputFormat, app, err, out
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.jobtable.store import Store
from rdcost.output import render
from rdcost.output.render import fmt


class Engine(StrEnum):
    pandas = "pandas"
    dask = "dask"


@app.command("summarize")
@assumption_options()
def summarize_command(
    opts: AssumptionOptions,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="table, csv, json or markdown.")] = OutputFormat.table,
    engine: Annotated[Engine, typer.Option(
        help="Where the per-partition work runs: pandas (this process) or dask (the same results; "
             "needs the dask extra).")] = Engine.pandas,
    scheduler: Annotated[str | None, typer.Option(
        help="Address of a running Dask scheduler (tcp://HOST:8786) for --engine dask; its workers "
             "must see the store at the same path. Default: dask's local threads.")] = None,
) -> None:
    """The case study of a project: jobs, grid searches, GPU time, concurrency, the
    paper's Table 4 (one model, one tuning round, all R&D), energy, CO2e, waste, and
    every assumption behind the figures.

    Example:

      rdcost summarize --project lisa --assumptions paper

      rdcost summarize -p lisa --price-date today --carbon-region DEU -f json
    """
    a = opts.load_assumptions()
    defs = opts.project_defs()
    st = Store(opts.store)
    if not st.exists:
        err.print(f"rdcost: the store {st.path} is empty; run `rdcost ingest FILE` first", markup=False)
        raise typer.Exit(1)
    # partition by partition, reading only the columns the summary needs (rdcost.analysis.summary);
    # the figures name no user, account, job or node, so --anonymize changes none of them
    s = summarize_store(st, opts.project, defs, a, engine=engine.value, scheduler=scheduler,
                        on_missing=opts.on_missing)
    if format == OutputFormat.json:
        out(render.to_json(s.to_dict()))
    elif format == OutputFormat.csv:
        out(render.to_csv(s.figures()))
    elif format == OutputFormat.markdown:
        out(to_markdown(s))
    else:
        out(to_text(s))
    if format in (OutputFormat.json, OutputFormat.csv):  # table and markdown print them in a section
        for n in s.notes:
            err.print(f"rdcost: note: {n}", markup=False)


# -- text and Markdown --------------------------------------------------------------

def _usd_range(low: Any, high: Any) -> str:
    if low is None or high is None:
        return "unknown"
    return f"{fmt(low, 'usd')} - {fmt(high, 'usd')}"


def _frame(columns: dict[str, list[str]], left: tuple[str, ...] = ()) -> pd.DataFrame:
    """Display strings, right-aligned (numbers) to the column's width, header included."""
    out = {}
    for name, col in columns.items():
        if name in left:
            out[name] = col
        else:
            w = max([len(name), *(len(x) for x in col)])
            out[name] = [x.rjust(w) for x in col]
    return pd.DataFrame(out)


def sections(s: Summary) -> list[tuple[str, pd.DataFrame]]:
    """The summary as titled tables of display strings (units in the headers)."""
    d = s.to_dict()
    jobs = [
        ("jobs", fmt(s.n_jobs), ""), ("jobs started", fmt(s.n_jobs_started), ""),
        ("jobs never started", fmt(s.n_jobs_never_started), ""),
        ("jobs still running (flagged)", fmt(s.n_jobs_running), ""),
        ("jobs with unknown GPU count", fmt(s.n_jobs_gpu_unknown), "not in GPU-hours"),
        ("grid searches", fmt(s.n_grid_searches), f"{s.n_jobs_in_grid_searches:,} jobs"),
        ("GPU time", fmt(s.gpu_hours), "GPU-hours"), ("", fmt(s.gpu_days), "GPU-days"),
        ("", fmt(s.gpu_years), "GPU-years"),
        ("span", fmt(s.span_days), "days"),
        ("shortest job", fmt(s.min_job_minutes), "minutes"), ("mean job", fmt(s.mean_job_hours), "hours"),
        ("median job", fmt(s.median_job_hours), "hours"), ("longest job", fmt(s.max_job_days), "days"),
        ("crashed jobs", fmt(s.n_crashed_jobs), f"shorter than {s.crash_threshold_minutes:g} minutes"),
        ("mean GPUs in use", fmt(s.mean_concurrent_gpus), "GPUs"),
        ("peak GPUs in use", fmt(s.peak_concurrent_gpus), "GPUs"),
    ]
    t_jobs = _frame({"figure": [r[0] for r in jobs], "value": [r[1] for r in jobs],
                     "unit": [r[2] for r in jobs]}, left=("figure", "unit"))
    states = _frame({"state": list(s.jobs_by_state),
                           "n_jobs": ([fmt(v) for v in s.jobs_by_state.values()]),
                           "share_of_jobs": ([fmt(v / s.n_jobs if s.n_jobs else None, "pct")
                                                    for v in s.jobs_by_state.values()])}, left=("state",))
    types = _frame({"gpu_type": [t["gpu_type"] for t in s.gpu_types],
                          "gpu_key": [t["gpu_key"] for t in s.gpu_types],
                          "n_jobs": ([fmt(t["n_jobs"]) for t in s.gpu_types]),
                          "gpu_hours": ([fmt(t["gpu_hours"]) for t in s.gpu_types]),
                          "share_of_gpu_hours": ([fmt(t["share_of_gpu_hours"], "pct") for t in s.gpu_types])},
                   left=("gpu_type", "gpu_key"))
    rd = _frame({
        "row": [r["label"] for r in d["rd_table"]],
        "n_jobs": ([fmt(r["n_jobs"]) for r in d["rd_table"]]),
        "gpu_hours": ([fmt(r["gpu_hours"]) for r in d["rd_table"]]),
        "cloud_usd (low - high)": ([_usd_range(r["cloud_usd_low"], r["cloud_usd_high"]) for r in d["rd_table"]]),
        "electricity_usd": ([fmt(r["electricity_usd"], "usd") for r in d["rd_table"]]),
        "energy_kwh": ([fmt(r["energy_kwh"]) for r in d["rd_table"]]),
        "co2e_kg": ([fmt(r["co2e_kg"]) for r in d["rd_table"]]),
        "co2e_lbs": ([fmt(r["co2e_lbs"]) for r in d["rd_table"]]),
    }, left=("row",))
    comp = _frame({"all R&D emits as much CO2e as": [c["item"] for c in d["comparisons"]],
                         "lbs_co2e_each": ([fmt(c["lbs_co2e_each"]) for c in d["comparisons"]]),
                         "times": ([fmt(c["n_equivalent"]) for c in d["comparisons"]])},
                  left=("all R&D emits as much CO2e as",))
    w = [*d["waste"]["categories"], d["waste"]["total"]]
    waste = _frame({
        "category": [r["category"] for r in w], "n_jobs": ([fmt(r["n_jobs"]) for r in w]),
        "gpu_hours": ([fmt(r["gpu_hours"]) for r in w]),
        "cloud_usd (low - high)": ([_usd_range(r["cloud_usd_low"], r["cloud_usd_high"]) for r in w]),
        "energy_kwh": ([fmt(r["energy_kwh"]) for r in w]),
        "co2e_kg": ([fmt(r["co2e_kg"]) for r in w]),
        "co2e_lbs": ([fmt(r["co2e_lbs"]) for r in w])}, left=("category",))
    share = d["waste"]["share_of_gpu_hours"]
    return [("Jobs", t_jobs), ("Jobs by final state", states), ("GPU types by share of GPU-hours", types),
            ("Cost of R&D (Strubell et al. 2019, Table 4; energy includes PUE)", rd),
            ("Familiar comparisons (Strubell et al. 2019, Table 1)", comp),
            (f"Waste: crashed, failed, cancelled and timed-out jobs ({fmt(share, 'pct')} of GPU-hours)", waste)]


def assumption_lines(s: Summary) -> list[str]:
    """One line per assumption, with its origin and source."""
    a = s.assumptions
    lines = [f"assumptions: {a['name']} (layers: {', '.join(a['layers'])}); year of the jobs: {a['year']}"]
    for p in a["prices"]:
        when = p["price_as_of_low"] if p["price_as_of_low"] == p["price_as_of_high"] else \
            f"{p['price_as_of_low']} / {p['price_as_of_high']}"
        text = (f"price {p['gpu_key']}: ${p['usd_per_gpu_hour_low']:g} - ${p['usd_per_gpu_hour_high']:g} per GPU-hour"
                if p["usd_per_gpu_hour_low"] is not None and p["usd_per_gpu_hour_high"] is not None
                else f"price {p['gpu_key']}: unknown")
        text += (f" ({p['price_key']} {p['price_provider']} {p['pricing_model_low']} / {p['pricing_model_high']}, "
                 f"as of {when}; {p['n_jobs']:,} jobs) [{p['origin']}]")
        if p["note"]:
            text += f" {p['note']}."
        if p["n_jobs_before_known_price"]:
            text += f" {p['n_jobs_before_known_price']:,} jobs ran before this price's date (earliest known used)."
        lines.append(text + f" Source: {p['price_source']}")
    for p in a["power"]:
        lines.append(f"power {p['gpu_key']}: {fmt(p['power_w'])} W per GPU, {p['basis']} ({p['n_jobs']:,} jobs) "
                     f"[{p['origin']}] Source: {p['source']}")
    for label, key, unit in (("PUE", "pue", ""), ("electricity", "electricity_usd_per_kwh", " USD/kWh")):
        v = a[key]
        lines.append(f"{label}: {v['value']:g}{unit} [{v['origin']}]" + (f" as of {v['as_of']}." if v["as_of"] else "")
                     + (f" {v['note']}." if v["note"] else "") + f" Source: {v['source']}")
    c = a["carbon"]
    lines.append(f"carbon intensity: {c['kg_co2e_per_kwh']:.4g} kg CO2e/kWh = {c['lbs_co2e_per_kwh']:.4g} lbs/kWh, "
                 f"region {c['region']}, year {c['year']} [{c['origin']}]" + (f" {c['note']}." if c["note"] else "")
                 + f" Source: {c['source']}")
    for label, key in (("one model", "one_model_gpu_hours"), ("one tuning round", "tuning_round_n_jobs"),
                       ("crash threshold", "crash_threshold_minutes")):
        v = a[key]
        if v is None:
            lines.append(f"{label}: unknown (no completed jobs or grid searches to derive it from)")
            continue
        lines.append(f"{label}: {v['value']:g} {v['unit']} [{v['origin']}]" + (f" {v['note']}." if v["note"] else "")
                     + f" Source: {v['source']}")
    if a["mean_usd_per_gpu_hour_low"] is not None:
        lines.append(f"one model and tuning round priced at the project's GPU-hour-weighted mean: "
                     f"${a['mean_usd_per_gpu_hour_low']:.4g} - ${a['mean_usd_per_gpu_hour_high']:.4g} per GPU-hour, "
                     f"{fmt(a['mean_power_w'])} W per GPU")
    lines.append(f"prices: {a['price_provider']} list, {a['price_date'].replace('_', ' ')} prices; power basis: "
                 f"{a['power_basis']}")
    return lines


def to_text(s: Summary) -> str:
    title = f"rdcost summary: project {s.project}" if s.project else "rdcost summary: all stored jobs"
    parts = [title, "=" * len(title), ""]
    for name, df in sections(s):
        parts += [name, render.to_text_table(df, max_width=60)]
    parts += ["Assumptions", *[f"- {x}" for x in assumption_lines(s)]]
    if s.notes:
        parts += ["", "Notes", *[f"- {n}" for n in s.notes]]
    return "\n".join(parts) + "\n"


def to_markdown(s: Summary) -> str:
    title = f"rdcost summary: project {s.project}" if s.project else "rdcost summary: all stored jobs"
    parts = [f"# {render.md_escape(title)}", ""]
    for name, df in sections(s):
        right = [c for c in df.columns if c not in ("figure", "unit", "state", "gpu_type", "gpu_key", "row",
                                                     "category", "all R&D emits as much CO2e as")]
        parts += [f"## {render.md_escape(name)}", "", render.to_markdown(df, align_right=right)]
    parts += ["## Assumptions", "", *[f"- {render.md_escape(x)}" for x in assumption_lines(s)]]
    if s.notes:
        parts += ["", "## Notes", "", *[f"- {render.md_escape(n)}" for n in s.notes]]
    return "\n".join(parts) + "\n"
