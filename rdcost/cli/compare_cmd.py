"""`rdcost compare-buy-vs-cloud`: renting the project's GPU time vs buying GPUs."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from rdcost.analysis.buy_vs_cloud import SERVERS, SIZE_BY_HELP, Report, compare_jobs, load_owned
from rdcost.analysis.replay import ESTIMATES
from rdcost.cli.app import OutputFormat, app, err, out
from rdcost.cli.assumption_options import AssumptionOptions, assumption_options
from rdcost.errors import UsageError
from rdcost.output import render
from rdcost.output.render import fmt


class Estimate(StrEnum):
    elapsed = "elapsed"
    timelimit = "timelimit"


assert tuple(e.value for e in Estimate) == ESTIMATES


@app.command("compare-buy-vs-cloud")
@assumption_options(
    "store", "project", "projects_file", "assumptions", "price_provider", "price_date", "usd_per_gpu_hour_low",
    "usd_per_gpu_hour_high", "watts_per_gpu", "pue", "usd_per_kwh", "gpu_alias", "on_missing",
    help={"on_missing": "A GPU type without a cloud price: raise an error, or show the cloud figures as unknown."})
def compare_command(
    opts: AssumptionOptions,
    format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="table, json, markdown or csv (one row per figure).")] = OutputFormat.table,
    gpus: Annotated[int | None, typer.Option("--gpus", help="GPUs to buy (default: from --size-by).")] = None,
    size_by: Annotated[str, typer.Option(help=f"How many GPUs to buy: {SIZE_BY_HELP}.")] = "mean",
    server: Annotated[str | None, typer.Option(
        help=f"GPU type whose bundled server price is used: {', '.join(SERVERS)} "
             "(default: the project's main GPU type or its equivalent).")] = None,
    server_price_usd: Annotated[float | None, typer.Option(help="Price of one server, USD.")] = None,
    gpus_per_server: Annotated[int | None, typer.Option(help="GPUs in one server.")] = None,
    whole_servers: Annotated[bool | None, typer.Option(
        "--whole-servers/--gpu-share",
        help="Buy whole servers (round up), or price GPUs one by one as the paper does (default).")] = None,
    lifetime_years: Annotated[float | None, typer.Option(help="Years over which the purchase is amortized.")] = None,
    owned_watts_per_gpu: Annotated[float | None, typer.Option(
        help="Average draw of an owned GPU, W (default: the assumptions' power for the server's GPU).")] = None,
    hosting_usd_per_kw_month: Annotated[float | None, typer.Option(
        help="Hosting (colocation) per kW of GPU power per month, USD; 0 = not charged.")] = None,
    maintenance_fraction_per_year: Annotated[float | None, typer.Option(
        help="Maintenance per year as a fraction of the purchase (0.06 = 6 %); 0 = not charged.")] = None,
    staff_fte: Annotated[float | None, typer.Option(help="Staff time charged to the project, full-time equivalents.")] = None,
    staff_usd_per_fte_year: Annotated[float | None, typer.Option(help="Cost of one staff FTE-year, USD.")] = None,
    sizing: Annotated[bool, typer.Option(
        "--sizing", help="Replay the job trace on clusters of several sizes (FCFS + EASY backfill).")] = False,
    sizes: Annotated[str | None, typer.Option(
        help="Cluster sizes to replay, comma-separated GPUs (implies --sizing; default: from the "
             "largest job to the peak demand).")] = None,
    estimate: Annotated[Estimate, typer.Option(
        help="The replay scheduler's run-time estimate of a job: its logged run time (elapsed) or "
             "its time limit where known (timelimit).")] = Estimate.elapsed,
    plot_cumulative: Annotated[Path | None, typer.Option(
        help="Write the cumulative cost plot to this file (.png, .svg or .pdf).")] = None,
    plot_sizing: Annotated[Path | None, typer.Option(
        help="Write the sizing plot to this file (.png, .svg or .pdf; implies --sizing).")] = None,
) -> None:
    """Renting vs buying: the cloud cost of the project's GPU time (low-high) against
    buying N GPUs (purchase, amortized share, electricity, hosting, maintenance, staff),
    the ratio, the break-even utilization and months; with --sizing, the project
    replayed on clusters of several sizes (duration, waits, utilization, owned cost).

    Example:

      rdcost compare-buy-vs-cloud --project lisa --assumptions paper

      rdcost compare-buy-vs-cloud -p lisa -a paper --sizing --plot-sizing sizing.png -f json
    """
    a = opts.load_assumptions()
    owned = load_owned(list(opts.assumptions))
    spec = {"server": server, "server_price_usd": server_price_usd, "gpus_per_server": gpus_per_server,
            "is_whole_servers": whole_servers, "lifetime_years": lifetime_years,
            "power_w_per_gpu": owned_watts_per_gpu, "hosting_usd_per_kw_month": hosting_usd_per_kw_month,
            "maintenance_fraction_per_year": maintenance_fraction_per_year, "staff_fte": staff_fte,
            "staff_usd_per_fte_year": staff_usd_per_fte_year}
    given = {k: v for k, v in spec.items() if v is not None}
    if given:
        owned = owned.merged(given, "command-line option")
    size_list: list[float] | str | None = None
    if sizes is not None:
        size_list = _sizes(sizes)
    elif sizing or plot_sizing is not None:
        size_list = "auto"

    jobs = opts.jobs()
    r = compare_jobs(jobs, a, owned, n_gpus=gpus, size_by=size_by, sizes=size_list,
                     estimate=estimate.value, on_missing=opts.on_missing, project=opts.project)
    if format == OutputFormat.json:
        out(render.to_json(r.to_dict()))
    elif format == OutputFormat.csv:
        out(render.to_csv(figures(r)))
    elif format == OutputFormat.markdown:
        out(to_markdown(r))
    else:
        out(to_text(r))
    for path, kind in ((plot_cumulative, "buy-vs-cloud-cumulative"), (plot_sizing, "sizing")):
        if path is not None:
            from rdcost.output.plots import get_plot

            written = get_plot(kind)(r, path)
            err.print(f"rdcost: wrote {written}", markup=False)
    for n in r.notes:
        err.print(f"rdcost: note: {n}", markup=False)


def _sizes(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError("--sizes expects GPU counts separated by commas, e.g. 16,32,58", value=text) from None
    if not values or any(v <= 0 for v in values):
        raise UsageError("--sizes expects GPU counts > 0, separated by commas", value=text)
    return values


# -- display ---------------------------------------------------------------------------

def _usd(v: Any) -> str:
    return "$0" if v == 0 else fmt(v, "usd")


def _ratio(v: Any) -> str:
    return "unknown" if v is None else f"{v:.2f}"


def _months(v: Any) -> str:
    return "never" if v is None else f"{v:,.1f} months"


def sections(r: Report) -> list[tuple[str, pd.DataFrame]]:
    """The report as titled tables of display strings."""
    d = r.to_dict()
    ow = d["assumptions"]["owned"]
    per = ow["gpus_per_server"]["value"]
    srv_price = ow["server_price_usd"]["value"]
    e = ow["electricity_usd_per_kwh"]["value"]
    life = ow["lifetime_years"]["value"]
    demand = [
        ("GPU time", fmt(d["gpu_hours"]), "GPU-hours", ""),
        ("span", fmt(d["span_days"]), "days", "first start to last end"),
        ("mean GPUs in use", fmt(d["mean_gpus"]), "GPUs", "GPU-hours / span"),
        ("peak GPUs in use", fmt(d["peak_gpus"]), "GPUs", ""),
        ("GPUs bought", fmt(d["n_gpus"]), "GPUs", d["n_gpus_rule"]),
        ("utilization of them", f"{d['utilization']:.3f}", "fraction", "GPU-hours / (GPUs x span)"),
    ]
    cloud_p = d["assumptions"]["cloud_prices"]
    low_t = "; ".join(dict.fromkeys(f"{p['gpu_key']} as {p['price_key']} {p['pricing_model_low']} "
                                    f"${p['usd_per_gpu_hour_low']:g}" for p in cloud_p
                                    if p["usd_per_gpu_hour_low"] is not None))
    high_t = "; ".join(dict.fromkeys(f"{p['gpu_key']} as {p['price_key']} {p['pricing_model_high']} "
                                     f"${p['usd_per_gpu_hour_high']:g}" for p in cloud_p
                                     if p["usd_per_gpu_hour_high"] is not None))
    cloud = [
        ("low (pre-emptible / spot)", _usd(d["cloud_usd_low"]), low_t),
        ("high (on-demand)", _usd(d["cloud_usd_high"]), high_t),
        ("committed use, 1 year", _usd(d["cloud_usd_committed_1y"]), "bundled price table"),
        ("committed use, 3 years", _usd(d["cloud_usd_committed_3y"]), "bundled price table"),
    ]
    owned = [
        ("purchase", _usd(d["owned_purchase_usd"]),
         f"{d['n_gpus']} GPUs = {d['owned_n_servers']:g} x {per}-GPU server at {_usd(srv_price)} "
         f"({_usd(d['assumptions']['owned_usd_per_gpu'])} per GPU)"),
        ("amortized share", _usd(d["owned_amortized_usd"]),
         f"{fmt(d['span_days'])} days of a {life:g}-year life ({100 * d['owned_amortized_fraction']:.1f}%)"),
        ("electricity", _usd(d["owned_electricity_usd"]),
         f"{fmt(d['gpu_hours'])} GPU-hours x {ow['power_w_per_gpu']['value']:g} W x PUE {ow['pue']['value']:g} "
         f"x ${e:g}/kWh"),
        ("hosting", _usd(d["owned_hosting_usd"]), f"${ow['hosting_usd_per_kw_month']['value']:g} per kW-month"),
        ("maintenance", _usd(d["owned_maintenance_usd"]),
         f"{100 * ow['maintenance_fraction_per_year']['value']:g}% of the purchase per year"),
        ("staff", _usd(d["owned_staff_usd"]), f"{ow['staff_fte']['value']:g} FTE"),
        ("total, purchase + running", _usd(d["owned_total_usd"]), "the project pays for the hardware"),
        ("total, amortized + running", _usd(d["owned_amortized_total_usd"]), "the hardware outlives the project"),
    ]
    comp = [
        ("owned total / cloud high", _ratio(d["owned_to_cloud_high_ratio"]), "purchase + running vs on-demand"),
        ("purchase / cloud high", _ratio(d["owned_purchase_to_cloud_high_ratio"]),
         "the paper's ratio (purchase only: $145k / $350k = 0.41)"),
        ("owned total / cloud low", _ratio(d["owned_to_cloud_low_ratio"]), "purchase + running vs pre-emptible"),
        ("amortized total / cloud high", _ratio(d["owned_amortized_to_cloud_high_ratio"]), ""),
        ("break-even utilization vs high", fmt(d["breakeven_utilization"], "pct")
         if d["breakeven_utilization"] is not None else "never", f"busy share of the owned GPUs over {life:g} years"),
        ("break-even utilization vs low", fmt(d["breakeven_utilization_vs_low"], "pct")
         if d["breakeven_utilization_vs_low"] is not None else "never", ""),
        ("owning is cheaper after (vs high)", _months(d["breakeven_months"]), "purchase up front; logged demand"),
        ("owning is cheaper after (vs low)", _months(d["breakeven_months_vs_low"]), "then the mean rate"),
    ]
    out_ = [
        ("Demand", pd.DataFrame(demand, columns=["figure", "value", "unit", "how"])),
        ("Cloud: renting the same GPU-hours", pd.DataFrame(cloud, columns=["figure", "usd", "prices per GPU-hour"])),
        (f"Owned: buying {d['n_gpus']} GPUs ({r.owned_server})",
         pd.DataFrame(owned, columns=["figure", "usd", "how"])),
        ("Owned vs cloud", pd.DataFrame(comp, columns=["figure", "value", "how"])),
    ]
    if r.sizing is not None:
        s = r.sizing
        t = pd.DataFrame({
            "gpus": [fmt(int(x)) if float(x).is_integer() else f"{x:g}" for x in s["n_gpus"]],
            "project_days": [fmt(x) for x in s["duration_days"]],
            "mean_wait_hours": [fmt(x) for x in s["mean_wait_hours"]],
            "p95_wait_hours": [fmt(x) for x in s["p95_wait_hours"]],
            "utilization": [fmt(x, "pct") for x in s["utilization"]],
            "jobs_too_large": [fmt(int(x)) for x in s["n_jobs_too_large"]],
            "owned_total_usd": [_usd(x) for x in s["owned_total_usd"]],
            "owned_amortized_total_usd": [_usd(x) for x in s["owned_amortized_total_usd"]],
        })
        rp = d["replay"]
        left = ", ".join(f"{v:,} {k[7:].replace('_', ' ')}" for k, v in rp.items()
                         if k.startswith("n_jobs_") and k not in ("n_jobs_replayed", "n_jobs_submit_from_start") and v)
        title = (f"Sizing: the project replayed on N GPUs ({rp['policy']}, run-time estimate: {rp['estimate']}; "
                 f"{rp['n_jobs_replayed']:,} jobs replayed" + (f", left out: {left}" if left else "")
                 + f"; logged: {fmt(rp['logged_duration_days'])} days)")
        out_.append((title, t))
    return out_


def assumption_lines(r: Report) -> list[str]:
    a = r.to_dict()["assumptions"]
    lines = [f"assumptions: {a['name']} (layers: {', '.join(a['layers'])}); year of the jobs: {a['year']}"]
    for p in a["cloud_prices"]:
        lines.append(f"cloud price {p['gpu_key']}: ${p['usd_per_gpu_hour_low']} - ${p['usd_per_gpu_hour_high']} per "
                     f"GPU-hour ({p['price_key']}, {p['price_provider']} {p['pricing_model_low']} / "
                     f"{p['pricing_model_high']}, as of {p['price_as_of_low']}; {fmt(p['gpu_hours'])} GPU-hours)"
                     + (f" {p['note']}." if p["note"] else "") + f" Source: {p['price_source']}")
    for name, v in a["owned"].items():
        text = f"{name.replace('_', ' ')}: {v['value']:,g}" if isinstance(v["value"], float | int) and \
            not isinstance(v["value"], bool) else f"{name.replace('_', ' ')}: {v['value']}"
        text += f" {v['unit']}" if v["unit"] else ""
        text += f" [{v['origin']}]"
        if v.get("as_of"):
            text += f" as of {v['as_of']}."
        if v.get("note"):
            text += f" {v['note']}."
        if v.get("source"):
            text += f" Source: {v['source']}"
        lines.append(text)
    lines.append(f"a month is {a['hours_per_month']:g} hours, a year {a['hours_per_year']:,} hours")
    return lines


def figures(r: Report) -> pd.DataFrame:
    """Long form for --format csv: one row per scalar figure of the JSON."""
    d = r.to_dict()
    rows = [(k, v) for k, v in d.items()
            if k not in ("project", "sizing", "replay", "notes", "assumptions")]
    return pd.DataFrame(rows, columns=["figure", "value"])


def to_text(r: Report) -> str:
    title = (f"rdcost compare-buy-vs-cloud: project {r.project}" if r.project
             else "rdcost compare-buy-vs-cloud: all stored jobs")
    parts = [title, "=" * len(title), ""]
    for name, df in sections(r):
        parts += [name, render.to_text_table(df, max_width=90)]
    parts += ["Assumptions", *[f"- {x}" for x in assumption_lines(r)]]
    if r.notes:
        parts += ["", "Notes", *[f"- {n}" for n in r.notes]]
    return "\n".join(parts) + "\n"


def to_markdown(r: Report) -> str:
    title = (f"rdcost compare-buy-vs-cloud: project {r.project}" if r.project
             else "rdcost compare-buy-vs-cloud: all stored jobs")
    parts = [f"# {render.md_escape(title)}", ""]
    for name, df in sections(r):
        right = [c for c in df.columns if c not in ("figure", "unit", "how", "prices per GPU-hour")]
        parts += [f"## {render.md_escape(name)}", "", render.to_markdown(df, align_right=right)]
    parts += ["## Assumptions", "", *[f"- {render.md_escape(x)}" for x in assumption_lines(r)]]
    if r.notes:
        parts += ["", "## Notes", "", *[f"- {render.md_escape(n)}" for n in r.notes]]
    return "\n".join(parts) + "\n"
