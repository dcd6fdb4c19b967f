"""A shareable report of a project: one self-contained HTML file, or Markdown.

:func:`blocks` lays the report out once, as a list of blocks (headings,
paragraphs, tables of display strings, plots, preformatted text) built from a
:class:`rdcost.analysis.project.ProjectAnalysis`; :func:`to_html` and :func:`to_markdown`
render the same blocks, so both formats carry the same content.
:func:`write_report` draws the plots and writes the file.

HTML: one file that works offline. Plots are PNGs embedded as ``data:`` URIs,
the style sheet is inline, there is no script, no external URL, font or style,
and a Content-Security-Policy forbids loading anything but the embedded
images. Markdown: the plots are PNG files written beside it, in
``<name>_files/``, linked relatively (GitHub and most viewers do not show
``data:`` images in Markdown).

Every string that came from a log (job names, users, tags, GPU types,
hyperparameter names, file paths) is escaped for the output format (HTML:
:func:`rdcost.output.render.html_escape`; Markdown: :func:`rdcost.output.render.md_escape`).
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.metadata
import json
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rdcost.analysis.project import ProjectAnalysis
from rdcost.analysis.tuning import TuningParams, TuningResult
from rdcost.errors import RdcostError, UsageError
from rdcost.output import render
from rdcost.output import statement as card
from rdcost.output.plots import draw
from rdcost.output.wording import assumptions_brief, fmt, usd_range
from rdcost.version import __version__

#: The plots of the report, in order, with their captions.
REPORT_PLOTS: dict[str, str] = {
    "gpus-in-use": "GPUs in use over time, stacked by GPU type.",
    "cumulative": "GPU time, cloud cost and CO2e accumulated over the project's life.",
    "rd-cost": "One model, one tuning round and all of R&D (Strubell et al. 2019, Table 4).",
    "waste": "GPU time, cost and CO2e of crashed, failed, cancelled and timed-out jobs.",
    "job-lengths": "Job lengths by final state; the crash threshold is marked.",
    "grid-searches": "Grid searches by GPU time, largest first.",
    "sensitivity": "Which hyperparameters moved the metric within a search: share of its variance (eta²) and "
                   "spread of its mean, with the seed noise.",
    "tuning-return": "The best metric so far against the GPU-hours spent, runs in launch order, and what random "
                     "search over the same runs would have spent.",
    "buy-vs-cloud-cumulative": "Renting the same GPU time vs buying GPUs: cumulative cost.",
}
#: Plots drawn from the tuning analysis (left out, with the section saying why, when it is not available).
TUNING_PLOTS = ("sensitivity", "tuning-return")
SUFFIXES = (".html", ".htm", ".md")
TOP_SEARCHES = 15
TOP_JOBS = 10


@dataclass
class Block:
    """One piece of the report. ``kind``: h1, h2, p, table, plot, pre, details, list."""

    kind: str
    text: str = ""
    id: str = ""
    table: pd.DataFrame | None = None
    right: Sequence[str] = ()
    items: list[str] = field(default_factory=list)
    breakable: Sequence[str] = ()     # columns of long unbroken text (hashes, paths): wrap anywhere


# -- layout ---------------------------------------------------------------------------

def _table(rows: list[dict[str, Any]], right: Sequence[str] = (), breakable: Sequence[str] = ()) -> Block:
    return Block("table", table=pd.DataFrame(rows, dtype=object), right=tuple(right), breakable=tuple(breakable))


def _key_figures(ctx: ProjectAnalysis) -> Block:
    s = ctx.summary
    rows = [
        ("jobs", fmt(s.n_jobs), "jobs", f"{s.n_jobs_started:,} started, {s.n_jobs_never_started:,} never started"),
        ("jobs with unknown GPU count", fmt(s.n_jobs_gpu_unknown), "jobs", "left out of GPU-hours"),
        ("grid searches", fmt(s.n_grid_searches), "searches", f"{s.n_jobs_in_grid_searches:,} jobs"),
        ("GPU time", fmt(s.gpu_hours), "GPU-hours", f"{fmt(s.gpu_days)} GPU-days, {fmt(s.gpu_years)} GPU-years"),
        ("span", fmt(s.span_days), "days", f"{(s.first_start_time or 'unknown')[:10]} to "
                                           f"{(s.last_end_time or 'unknown')[:10]}, first start to last end"),
        ("shortest job", fmt(s.min_job_minutes), "minutes", ""),
        ("mean job", fmt(s.mean_job_hours), "hours", f"median {fmt(s.median_job_hours)} hours"),
        ("longest job", fmt(s.max_job_days), "days", ""),
        ("crashed jobs", fmt(s.n_crashed_jobs), "jobs", f"shorter than {s.crash_threshold_minutes:g} minutes"),
        ("mean GPUs in use", fmt(s.mean_concurrent_gpus), "GPUs", "GPU-hours / span"),
        ("peak GPUs in use", fmt(s.peak_concurrent_gpus), "GPUs", (s.peak_concurrent_time or "")[:16]),
        ("cloud cost", usd_range(s.cloud_usd_low, s.cloud_usd_high), "USD", "low (pre-emptible) - high (on-demand)"),
        ("electricity", fmt(s.electricity_usd, "usd"), "USD", "if run on owned GPUs"),
        ("energy", fmt(s.energy_kwh), "kWh", "PUE included"),
        ("CO2e", fmt(s.co2e_kg), "kg", f"{fmt(s.co2e_lbs)} lbs"),
    ]
    return _table([dict(zip(("figure", "value", "unit", "note"), r, strict=True)) for r in rows], right=("value",))


def _rd(ctx: ProjectAnalysis) -> Block:
    rows = []
    for r in ctx.summary.to_dict()["rd_table"]:
        rows.append({"row": r["label"], "jobs": fmt(r["n_jobs"]), "GPU-hours": fmt(r["gpu_hours"]),
                     "cloud cost (USD, low - high)": usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
                     "electricity (USD)": fmt(r["electricity_usd"], "usd"), "energy (kWh)": fmt(r["energy_kwh"]),
                     "CO2e (kg)": fmt(r["co2e_kg"]), "CO2e (lbs)": fmt(r["co2e_lbs"])})
    return _table(rows, right=[k for k in rows[0] if k != "row"])


def _waste(ctx: ProjectAnalysis) -> Block:
    w = ctx.summary.to_dict()["waste"]
    rows = [{"cause": r["category"].replace("_", " "), "jobs": fmt(r["n_jobs"]), "GPU-hours": fmt(r["gpu_hours"]),
             "cloud cost (USD, low - high)": usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
             "energy (kWh)": fmt(r["energy_kwh"]), "CO2e (kg)": fmt(r["co2e_kg"])}
            for r in [*w["categories"], w["total"]]]
    return _table(rows, right=[k for k in rows[0] if k != "cause"])


def _states_types(ctx: ProjectAnalysis) -> tuple[Block, Block]:
    s = ctx.summary
    states = [{"final state": k, "jobs": fmt(v), "share of jobs": fmt(v / s.n_jobs if s.n_jobs else None, "pct")}
              for k, v in s.jobs_by_state.items()]
    types = [{"GPU type (as logged)": t["gpu_type"], "GPU key": t["gpu_key"], "jobs": fmt(t["n_jobs"]),
              "GPU-hours": fmt(t["gpu_hours"]), "share of GPU-hours": fmt(t["share_of_gpu_hours"], "pct")}
             for t in s.gpu_types]
    return (_table(states, right=("jobs", "share of jobs")),
            _table(types, right=("jobs", "GPU-hours", "share of GPU-hours")))


def _comparisons(ctx: ProjectAnalysis) -> Block:
    rows = [{"all R&D emits as much CO2e as": c["item"], "lbs CO2e each": fmt(c["lbs_co2e_each"]),
             "times": fmt(c["n_equivalent"])} for c in ctx.summary.to_dict()["comparisons"]]
    return _table(rows, right=("lbs CO2e each", "times"))


def _searches(ctx: ProjectAnalysis) -> Block | None:
    t = ctx.searches
    if t.empty:
        return None
    t = t.assign(gh=pd.to_numeric(t["gpu_hours"], errors="coerce")).sort_values("gh", ascending=False,
                                                                                kind="stable").head(TOP_SEARCHES)
    rows = []
    for r in t.itertuples(index=False):
        first = "" if pd.isna(r.first_submit_time) else pd.Timestamp(r.first_submit_time).strftime("%Y-%m-%d %H:%M")
        rows.append({"search (name or stem)": r.name, "found by": r.search_method, "user": r.user,
                     "first submission (UTC)": first, "jobs": fmt(int(r.n_jobs)),
                     "GPU-days": fmt(r.gh / 24 if pd.notna(r.gh) else None),
                     "completed / failed / cancelled / timed out": f"{int(r.n_completed)} / {int(r.n_failed)} / "
                                                                     f"{int(r.n_cancelled)} / {int(r.n_timeout)}"})
    return _table(rows, right=("jobs", "GPU-days"))


def _largest_jobs(ctx: ProjectAnalysis) -> Block:
    c = ctx.costs
    top = c["gpu_hours"].dropna().sort_values(ascending=False, kind="stable").head(TOP_JOBS).index
    rows = []
    for i in top:
        j = ctx.jobs.loc[i]
        tags = j["tags"]
        if isinstance(tags, str):
            try:
                parsed = json.loads(tags)
                tags = ", ".join(str(x) for x in parsed) if isinstance(parsed, list) else tags
            except json.JSONDecodeError:
                pass
        rows.append({"job id": j["job_id"], "job name": j["job_name"], "user": j["user"], "state": j["state"],
                     "GPU type": j["gpu_type"],
                     "GPUs": "unknown" if pd.isna(j["n_gpus"]) else f"{float(j['n_gpus']):g}",
                     "hours": fmt(c.at[i, "elapsed_s"] / 3600 if pd.notna(c.at[i, "elapsed_s"]) else None),
                     "GPU-hours": fmt(c.at[i, "gpu_hours"]), "tags": tags})
    rows = [{k: ("" if v is None or (not isinstance(v, str) and pd.isna(v)) else v) for k, v in r.items()}
            for r in rows]
    return _table(rows, right=("GPUs", "hours", "GPU-hours"))


def _metric(v: Any) -> str:
    return "" if v is None or pd.isna(v) else f"{v:.4g}"


def _tuning_searches(t: TuningResult) -> Block:
    """The largest searches of the tuning analysis (its per-search table), by GPU-hours."""
    d = t.search_table()
    d = d.assign(gh=pd.to_numeric(d["gpu_hours"], errors="coerce")).sort_values(
        "gh", ascending=False, kind="stable", na_position="last").head(TOP_SEARCHES)
    q = f"p{round(100 * t.method['quantile'])}"
    rows = []
    for r in d.itertuples(index=False):
        cf = pd.notna(r.random_mean_gpu_hours)
        rows.append({
            "search (name or id)": r.name if isinstance(r.name, str) and r.name else r.search_id,
            "runs": fmt(int(r.n_runs)), "configs": fmt(int(r.n_configurations)), "GPU-hours": fmt(r.gpu_hours),
            f"best {t.metric}": _metric(r.best_metric),
            "top hyperparameter (eta²)": "" if not isinstance(r.top_hyperparameter, str) else
            f"{r.top_hyperparameter} ({fmt(r.top_eta_squared, 'pct')})",
            "seed std": "" if pd.isna(r.seed_std) else f"{r.seed_std:.3g}",
            "GPU-hours to target, launch order": fmt(r.launch_order_gpu_hours) if cf else "",
            f"random search, mean / {q} GPU-hours": f"{fmt(r.random_mean_gpu_hours)} / "
                                                    f"{fmt(r.random_quantile_gpu_hours)}" if cf else "",
            "saved": fmt(r.saved_share, "pct") if pd.notna(r.saved_share) else "",
            "seed reps / retries / redundant": f"{int(r.n_seed_replicates)} / {int(r.n_retries)} / "
                                               f"{int(r.n_redundant)}"})
    return _table(rows, right=[k for k in (rows[0] if rows else {}) if k not in ("search (name or id)",
                                                                                  "top hyperparameter (eta²)")])


def _tuning(ctx: ProjectAnalysis, tu: tuple[TuningResult | None, str | None], st: card.Statement,
            fig: Any) -> list[Block]:
    """The tuning section: what `rdcost tuning` finds, or why it is not available."""
    t, reason = tu
    out = [Block("h2", "Hyperparameter tuning", id="tuning")]
    if t is None or reason is not None:
        why = reason or "not available"
        return [*out, Block("p", why[:1].upper() + why[1:] + ".")]
    m = t.method
    n = len(t.searches)
    out += [
        Block("p", f"Tuned for {t.metric} ({'higher' if t.goal == 'max' else 'lower'} is better), results from "
                   f"{m['results_from']}; hyperparameters: {', '.join(t.hyperparameter_keys) or 'none'}; seeds: "
                   f"{', '.join(t.seed_keys) or 'none'}. As rdcost tuning finds with the same assumptions; the "
                   "method is below the plots."),
        Block("p", "For the paper:"), Block("list", items=t.statement()),
        Block("p", f"The {min(n, TOP_SEARCHES):,} largest of {n:,} searches by GPU-hours:"), _tuning_searches(t),
        *fig("sensitivity"), *fig("tuning-return"),
    ]
    if st.tuning.method:
        out.append(Block("p", st.tuning.method))
    return out


def _assumptions(ctx: ProjectAnalysis) -> Block:
    f = ctx.summary.figures()
    f = f[f["section"] == "assumptions"]
    rows = [{"assumption": r.metric, "value": "unknown" if r.value is None else f"{r.value:g}"
             if isinstance(r.value, float) else str(r.value), "unit": r.unit, "origin, source and date": r.assumption}
            for r in f.itertuples(index=False)]
    return _table(rows, right=("value",))


def _inputs(ctx: ProjectAnalysis) -> Block | None:
    if not ctx.inputs:
        return None
    rows = [{"file": r.path, "format": r.format, "size (bytes)": fmt(int(r.size_bytes)), "sha256": r.sha256,
             "ingested (UTC)": r.ingested_time[:19], "rdcost": r.rdcost_version, "jobs": fmt(int(r.n_jobs)),
             "ingest options": json.dumps(r.options, sort_keys=True) if r.options else ""}
            for r in ctx.inputs]
    return _table(rows, right=("size (bytes)", "jobs"), breakable=("file", "sha256"))


def _figures_appendix(ctx: ProjectAnalysis) -> Block:
    f = ctx.summary.figures()
    rows = [{"section": r.section, "figure": r.metric,
             "value": "unknown" if r.value is None else (fmt(r.value) if isinstance(r.value, float) else str(r.value)),
             "unit": r.unit, "assumption": r.assumption} for r in f.itertuples(index=False)]
    b = _table(rows, right=("value",))
    b.kind, b.text = "details", f"Every figure of the summary ({len(rows):,} rows, the long form of rdcost summarize -f csv)"
    return b


def _buy(ctx: ProjectAnalysis, kinds: Sequence[str]) -> list[Block]:
    if "buy-vs-cloud-cumulative" not in kinds:
        return []
    try:
        d = ctx.buy_vs_cloud().to_dict()
    except RdcostError as exc:
        return [Block("h2", "Buying instead of renting", id="buy"), Block("p", f"Not available: {exc}")]
    rows = [
        {"figure": "GPUs bought", "value": fmt(d.get("n_gpus")), "how": str(d.get("n_gpus_rule") or "")},
        {"figure": "owned: purchase", "value": fmt(d.get("owned_purchase_usd"), "usd"), "how": str(d.get("owned_server") or "")},
        {"figure": "owned: purchase + running", "value": fmt(d.get("owned_total_usd"), "usd"), "how": ""},
        {"figure": "cloud, low - high", "value": usd_range(d.get("cloud_usd_low"), d.get("cloud_usd_high")), "how": ""},
        {"figure": "purchase / cloud high", "value": "unknown" if d.get("owned_purchase_to_cloud_high_ratio") is None
         else f"{d['owned_purchase_to_cloud_high_ratio']:.2f}", "how": "the paper: $145k / $350k = 0.41"},
        {"figure": "owning is cheaper after (vs on-demand)", "value": "never" if d.get("breakeven_months") is None
         else f"{d['breakeven_months']:,.1f} months", "how": ""},
    ]
    return [Block("h2", "Buying instead of renting", id="buy"),
            Block("p", "From rdcost compare-buy-vs-cloud with the same assumptions; its own report has every "
                       "assumption of the owned hardware (server price, lifetime, hosting, staff)."),
            _table(rows, right=("value",)), Block("plot", REPORT_PLOTS["buy-vs-cloud-cumulative"],
                                                  id="buy-vs-cloud-cumulative")]


def blocks(ctx: ProjectAnalysis, *, kinds: Sequence[str] = tuple(REPORT_PLOTS), command: str | None = None,
           generated: str | None = None, statement: card.Statement | None = None,
           tuning: tuple[TuningResult | None, str | None] | None = None) -> list[Block]:
    """The report, laid out (see the module doc). ``kinds``: the plots to include; ``tuning``:
    :func:`rdcost.output.statement.tuning_analysis` of the context (default: with the default parameters)."""
    s = ctx.summary
    tu = tuning if tuning is not None else card.tuning_analysis(ctx)
    st = statement or card.statement(ctx, tuning=tu)
    title = f"rdcost report: {ctx.who}"
    plot = [k for k in REPORT_PLOTS if k in kinds]

    def fig(kind: str) -> list[Block]:
        return [Block("plot", REPORT_PLOTS[kind], id=kind)] if kind in plot else []

    states, types = _states_types(ctx)
    out: list[Block] = [
        Block("h1", title),
        Block("p", f"Generated {generated or 'now'} by rdcost {__version__} with the {assumptions_brief(s)}."),
        Block("list", items=["Summary", "GPU use over time", "Cost of R&D", "Waste", "Jobs", "Grid searches",
                             "Hyperparameter tuning", "Compute statement", "Assumptions", "Input files",
                             "Reproduce"], id="toc"),
        Block("h2", "Summary", id="summary"), _key_figures(ctx),
        Block("h2", "GPU use over time", id="gpu-use"), *fig("gpus-in-use"), *fig("cumulative"),
        Block("h2", "Cost of R&D", id="rd"),
        Block("p", f"One model = {fmt(s.one_model_gpu_hours)} GPU-hours; one tuning round = "
                   f"{fmt(s.tuning_round_n_jobs)} such models (see Assumptions). Energy includes PUE."),
        _rd(ctx), *fig("rd-cost"),
        Block("p", "Familiar comparisons (Strubell et al. 2019, Table 1):"), _comparisons(ctx),
        Block("h2", "Waste", id="waste"),
        Block("p", f"{fmt(s.waste['share_of_gpu_hours'], 'pct')} of the GPU-hours went to jobs that crashed "
                   f"(shorter than {s.crash_threshold_minutes:g} minutes), failed, were cancelled or timed out; "
                   "each job counts once, in the first matching cause."),
        _waste(ctx), *fig("waste"),
        Block("h2", "Jobs", id="jobs"), states, types, *fig("job-lengths"),
        Block("p", f"The {TOP_JOBS} largest jobs by GPU-hours:"), _largest_jobs(ctx),
        Block("h2", "Grid searches", id="searches"),
        Block("p", f"{s.n_grid_searches:,} searches, {s.n_jobs_in_grid_searches:,} jobs. The {TOP_SEARCHES} "
                   "largest by GPU time:"),
    ]
    sb = _searches(ctx)
    out += ([sb] if sb is not None else []) + fig("grid-searches")
    out += _tuning(ctx, tu, st, fig)
    out += _buy(ctx, plot)
    out += [Block("h2", "Compute statement", id="card"),
            Block("p", "For the paper (Strubell et al. 2019, section 5); rdcost card --format latex prints it "
                       "for LaTeX."),
            _table([{"item": k, "value": v} for k, v in card.rows(st)]),
            *[Block("p", n) for n in card.notes(st)],
            Block("pre", card.to_markdown(st), id="card-markdown")]
    out += [Block("h2", "Assumptions", id="assumptions"),
            Block("p", f"Assumptions '{s.assumptions['name']}' (layers: {', '.join(s.assumptions['layers'])}); "
                       f"year of the jobs: {s.assumptions['year']}; prices: {s.assumptions['price_provider']} list, "
                       f"{s.assumptions['price_date'].replace('_', ' ')} prices; power basis: "
                       f"{s.assumptions['power_basis']}."),
            _assumptions(ctx)]
    if s.notes:
        out += [Block("p", "Notes:"), Block("list", items=list(s.notes))]
    out += [Block("h2", "Input files", id="inputs")]
    ib = _inputs(ctx)
    out += [ib] if ib is not None else [Block("p", "unknown: the input files were not given to the report")]
    versions = ", ".join(f"{p} {_version(p)}" for p in ("pandas", "pyarrow", "matplotlib"))
    out += [Block("h2", "Reproduce", id="reproduce"),
            Block("p", "Ingest the files above (check their sha256), then run:"),
            Block("pre", command or f"rdcost report{' --project ' + ctx.project if ctx.project else ''} "
                                    f"--assumptions {s.assumptions['name']} -o report.html"),
            Block("p", f"rdcost {__version__}, Python {platform.python_version()}, {versions}."),
            _figures_appendix(ctx)]
    return out


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_TOC_IDS = ["summary", "gpu-use", "rd", "waste", "jobs", "searches", "tuning", "card", "assumptions",
            "inputs", "reproduce"]


# -- HTML -----------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
       font-size: 15px; line-height: 1.45; color: #1a1a1a; background: #fff; max-width: 1100px; margin: 0 auto;
       padding: 1.2rem 1.5rem 3rem; }
h1 { font-size: 1.7rem; margin: 0.4rem 0 0.6rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 0.6rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; }
th, td { border: 1px solid #c8c8c8; padding: 0.25rem 0.5rem; vertical-align: top; text-align: left; }
td.brk { word-break: break-all; min-width: 14ch; }
th { background: #eef3f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody tr:nth-child(even) { background: #f8f8f8; }
figure { margin: 1rem 0 1.4rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85rem; color: #444; margin-top: 0.3rem; }
pre { background: #f4f4f4; border: 1px solid #ddd; padding: 0.6rem; overflow-x: auto; white-space: pre-wrap;
      font-size: 0.82rem; }
code { font-size: 0.9em; }
nav ul { columns: 3; font-size: 0.9rem; }
details summary { cursor: pointer; margin: 0.6rem 0; }
.wrap { overflow-x: auto; }
@media print { body { max-width: none; font-size: 11pt; } h2 { break-after: avoid; }
  figure, table { break-inside: avoid; } nav { display: none; } }
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _html_table(b: Block) -> str:
    e = render.html_escape
    df = b.table
    cls = {c: (' class="num"' if c in b.right else ' class="brk"' if c in b.breakable else "") for c in df.columns}
    head = "".join(f'<th{cls[c] if c in b.right else ""}>{e(c)}</th>' for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = "".join(f"<td{cls[c]}>{e(v)}</td>" for c, v in zip(df.columns, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    return f'<div class="wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(body) + \
        "\n</tbody></table></div>"


def to_html(bs: Sequence[Block], images: dict[str, bytes]) -> str:
    """The blocks as one self-contained HTML document (``images``: kind -> PNG bytes)."""
    e = render.html_escape
    title = next((b.text for b in bs if b.kind == "h1"), "rdcost report")
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f'<meta name="generator" content="rdcost {e(__version__)}">',
             f"<title>{e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>"]
    for b in bs:
        if b.kind == "h1":
            parts.append(f"<h1>{e(b.text)}</h1>")
        elif b.kind == "h2":
            parts.append(f'<h2 id="{e(b.id)}">{e(b.text)}</h2>')
        elif b.kind == "p":
            parts.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "list" and b.id == "toc":
            links = "".join(f'<li><a href="#{e(i)}">{e(t)}</a></li>' for i, t in zip(_TOC_IDS, b.items, strict=True))
            parts.append(f"<nav><ul>{links}</ul></nav>")
        elif b.kind == "list":
            parts.append("<ul>" + "".join(f"<li>{e(t)}</li>" for t in b.items) + "</ul>")
        elif b.kind == "table":
            parts.append(_html_table(b))
        elif b.kind == "details":
            parts.append(f"<details><summary>{e(b.text)}</summary>{_html_table(b)}</details>")
        elif b.kind == "pre":
            parts.append(f"<pre>{e(b.text)}</pre>")
        elif b.kind == "plot":
            png = images.get(b.id)
            if png is None:
                continue
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<figure id="plot-{e(b.id)}"><img src="data:image/png;base64,{data}" '
                         f'alt="{e(b.text)}"><figcaption>{e(b.text)} (plot kind: {e(b.id)})</figcaption></figure>')
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


# -- Markdown ---------------------------------------------------------------------------------

def to_markdown(bs: Sequence[Block], images: dict[str, str]) -> str:
    """The blocks as Markdown (``images``: kind -> relative path of the PNG beside the file)."""
    m = render.md_escape
    parts: list[str] = []
    for b in bs:
        if b.kind == "h1":
            parts += [f"# {m(b.text)}", ""]
        elif b.kind == "h2":
            parts += [f"## {m(b.text)}", ""]
        elif b.kind == "p":
            parts += [m(b.text), ""]
        elif b.kind == "list" and b.id == "toc":
            continue
        elif b.kind == "list":
            parts += [*(f"- {m(t)}" for t in b.items), ""]
        elif b.kind in ("table", "details"):
            if b.kind == "details":
                parts += [f"**{m(b.text)}**", ""]
            parts += [render.to_markdown(b.table, align_right=b.right)]
        elif b.kind == "pre":
            fence = "````" if "```" in b.text else "```"
            parts += [fence, b.text.rstrip("\n").replace(fence, ""), fence, ""]
        elif b.kind == "plot" and b.id in images:
            parts += [f"![{m(b.text)}]({images[b.id]})", "", f"*{m(b.text)}*", ""]
    return "\n".join(parts).rstrip("\n") + "\n"


# -- writing ----------------------------------------------------------------------------------

def write_report(ctx: ProjectAnalysis, path: Path | str, *, kinds: Sequence[str] = tuple(REPORT_PLOTS),
                 command: str | None = None, params: TuningParams | None = None, final_job: str | None = None,
                 generated: str | None = None) -> Path:
    """Write the report to ``path``: ``.html``/``.htm`` (self-contained) or ``.md`` (plots in
    ``<stem>_files/``). Returns the path. ``params`` (how the tuning is analyzed) and ``final_job``
    as in :func:`rdcost.output.statement.statement`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"a report file must end in {', '.join(SUFFIXES)}", value=str(path))
    unknown = [k for k in kinds if k not in REPORT_PLOTS]
    if unknown:
        raise UsageError(f"not a report plot: {', '.join(unknown)}", hint=f"report plots: {', '.join(REPORT_PLOTS)}")
    generated = generated or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    tu = card.tuning_analysis(ctx, params)
    st = card.statement(ctx, final_job=final_job, tuning=tu)
    plot_kinds = [k for k in kinds if k not in TUNING_PLOTS or tu[1] is None]  # else the section says why
    if "buy-vs-cloud-cumulative" in plot_kinds:
        try:
            ctx.buy_vs_cloud()
        except RdcostError:
            plot_kinds.remove("buy-vs-cloud-cumulative")  # the section says why
    bs = blocks(ctx, kinds=kinds, command=command, generated=generated, statement=st, tuning=tu)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".md":
        folder = path.with_name(path.stem + "_files")
        folder.mkdir(exist_ok=True)
        rel = {}
        for k in plot_kinds:
            draw(k, ctx, folder / f"{k}.png", source=tu[0] if k in TUNING_PLOTS else None)
            rel[k] = f"{folder.name}/{k}.png"
        text = to_markdown(bs, rel)
    else:
        images = {}
        with tempfile.TemporaryDirectory(prefix="rdcost-report-") as tmp:
            for k in plot_kinds:
                images[k] = draw(k, ctx, Path(tmp) / f"{k}.png",
                                 source=tu[0] if k in TUNING_PLOTS else None).read_bytes()
        text = to_html(bs, images)
    tmp_path = path.with_name(f".{path.name}.tmp")
    tmp_path.write_text(text, encoding="utf-8")
    tmp_path.replace(path)
    return path
