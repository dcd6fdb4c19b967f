"""The case-study summary (:class:`rdcost.analysis.summary.Summary`) as tables and lines.

`rdcost summarize` prints :func:`document`; the report (:mod:`rdcost.output.views.report`)
shows the same tables (:func:`key_figures`, :func:`rd_table`, ...) in its sections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdcost.analysis.summary import Summary
from rdcost.analysis.summary.job_costs import GRACE_RULE
from rdcost.output.blocks import BulletList, Document, Heading, Paragraph, Table
from rdcost.output.numbers import (
    given,
    integer,
    is_unknown,
    number,
    pct,
    significant,
    usd,
    usd_range,
    usd_rate,
)
from rdcost.output.views import energy as energy_view
from rdcost.output.views import utilization as utilization_view
from rdcost.output.views.energy import low_high
from rdcost.output.wording import said
from rdcost.plural import plural

if TYPE_CHECKING:
    from rdcost.output.statement import Statement


def title(s: Summary) -> str:
    return (
        f"rdcost summary: project {s.project}" if s.project else "rdcost summary: all stored jobs"
    )


def _day(ts: str | None) -> str:
    return (ts or "unknown")[:10]


def key_figures(s: Summary) -> Table:
    """The headline figures with their units, and a note each."""
    started = (
        f"{integer(s.n_jobs_started)} started, {integer(s.n_jobs_never_started)} never started"
    )
    if s.n_jobs_running:
        started += f", {integer(s.n_jobs_running)} still running (flagged)"
    rows = [
        ("jobs", number(s.n_jobs), "jobs", started),
        (
            "jobs with unknown GPU count",
            number(s.n_jobs_gpu_unknown),
            "jobs",
            "left out of GPU-hours",
        ),
        (
            "implausible records",
            number(s.n_jobs_implausible),
            "jobs",
            (
                f"{number(s.implausible_gpu_hours)} GPU-hours "
                + ("kept in the totals" if s.include_implausible else "left out of every total")
                + " (see Data quality)"
            )
            if s.n_jobs_implausible
            else "none",
        ),
        (
            "grid searches",
            number(s.n_grid_searches),
            "searches",
            f"{plural(s.n_jobs_in_grid_searches, 'job')}",
        ),
        (
            "GPU time",
            number(s.gpu_hours),
            "GPU-hours",
            f"{number(s.gpu_days)} GPU-days, {number(s.gpu_years)} GPU-years",
        ),
        (
            "span",
            number(s.span_days),
            "days",
            (
                f"{_day(s.first_start_time)} to {_day(s.last_end_time)}, first start to last end"
                if s.first_start_time and s.last_end_time
                else "no job placed in time (no start, end or submit times in the logs)"
            )
            + (
                " (submit time for jobs without a start)"
                if any(d["item"] == "placed by their submit time" for d in s.data_quality)
                else ""
            ),
        ),
        ("shortest job", number(s.min_job_minutes), "minutes", ""),
        (
            "mean job",
            number(s.mean_job_hours),
            "hours",
            f"median {number(s.median_job_hours)} hours",
        ),
        ("longest job", number(s.max_job_days), "days", ""),
        (
            "crashed jobs",
            number(s.n_crashed_jobs),
            "jobs",
            f"ended, not COMPLETED, within {given(s.crash_threshold_minutes)} minutes",
        ),
        (
            "mean GPUs in use",
            number(s.mean_concurrent_gpus),
            "GPUs",
            "GPU-hours of the jobs placed in time / their span",
        ),
        (
            "peak GPUs in use",
            number(s.peak_concurrent_gpus),
            "GPUs",
            (s.peak_concurrent_time or "")[:16],
        ),
        (
            "cloud cost",
            usd_range(s.cloud_usd_low, s.cloud_usd_high),
            "USD",
            "low (pre-emptible) - high (on-demand)",
        ),
        (
            "electricity",
            usd(s.electricity_usd),
            "USD",
            "if run on owned GPUs; range "
            + low_high(s.electricity_usd_low, s.electricity_usd_high, usd),
        ),
        (
            "energy",
            number(s.energy_kwh),
            "kWh",
            "PUE included; range " + low_high(s.energy_kwh_low, s.energy_kwh_high),
        ),
        (
            "CO2e",
            number(s.co2e_kg),
            "kg",
            f"{number(s.co2e_lbs)} lbs; range " + low_high(s.co2e_kg_low, s.co2e_kg_high) + " kg",
        ),
    ]
    return Table.of(("figure", "value", "unit", "note"), rows, right=("value",))


def rd_table(s: Summary) -> Table:
    """One model, one tuning round and all of R&D (Strubell et al. 2019, Table 4)."""
    cols = (
        "row",
        "jobs",
        "GPU-hours",
        "cloud cost (USD, low - high)",
        "electricity (USD)",
        "energy (kWh)",
        "CO2e (kg)",
        "CO2e (lbs)",
        "basis",
    )
    rows = [
        (
            r["label"],
            given(r["n_jobs"], grouped=True),
            number(r["gpu_hours"]),
            usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
            usd(r["electricity_usd"]),
            number(r["energy_kwh"]),
            number(r["co2e_kg"]),
            number(r["co2e_lbs"]),
            r.get("basis") or "unknown",
        )
        for r in s.to_dict()["rd_table"]
    ]
    return Table.of(cols, rows, right=cols[1:-1])


def rd_note(s: Summary) -> str:
    text = (
        f"One model = {number(s.one_model_gpu_hours)} GPU-hours; one tuning round = "
        f"{given(s.tuning_round_n_jobs)} such models (the paper's definition: one model x the jobs of "
        "a typical search; see Assumptions). Energy includes PUE; the low - high range of each row "
        "is under Energy and CO2e."
    )
    if any("preset" in (r.get("basis") or "") for r in s.rd_table):
        text += (
            " Rows whose basis names a preset show that preset's constant, not this project's data."
        )
    m = s.median_search or {}
    if m.get("n_searches"):
        text += (
            f" The measured median search is the median of the {plural(m['n_searches'], 'grid search')}: "
            f"{given(m['n_jobs'])} jobs and "
            + (
                f"{number(m['gpu_hours'])} GPU-hours (over the "
                f"{plural(m['n_searches_gpu_hours_known'], 'search')} whose every job has known GPU-hours)."
                if m.get("gpu_hours") is not None
                else "unknown GPU-hours (every search holds a job of unknown GPU-hours: its GPU count or run time is unknown)."
            )
        )
    return text


def waste_table(s: Summary) -> Table:
    """GPU time, cost, energy and CO2e of each cause of waste, and their total."""
    w = s.to_dict()["waste"]
    cols = (
        "cause",
        "jobs",
        "GPU-hours",
        "cloud cost (USD, low - high)",
        "energy (kWh)",
        "CO2e (kg)",
        "CO2e range (kg)",
    )
    rows = [
        (
            r["category"].replace("_", " "),
            number(r["n_jobs"])
            + (
                f" ({integer(r['n_jobs_gpu_unknown'])} of unknown GPU-hours)"
                if r.get("n_jobs_gpu_unknown")
                else ""
            ),
            number(r["gpu_hours"]),
            usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
            number(r["energy_kwh"]),
            number(r["co2e_kg"]),
            low_high(r.get("co2e_kg_low"), r.get("co2e_kg_high")),
        )
        for r in [*w["categories"], w["total"]]
    ]
    return Table.of(cols, rows, right=cols[1:])


def waste_note(s: Summary) -> str:
    text = (
        f"{pct(s.waste['share_of_gpu_hours'])} of the GPU-hours went to jobs that crashed "
        f"(ended in any state but COMPLETED after less than {given(s.crash_threshold_minutes)} "
        "minutes), failed, were cancelled or timed out; "
        "each job counts once, in the first matching cause. Jobs of unknown GPU-hours (GPU count or run time unknown) are counted "
        "as jobs but add no GPU-hours."
    )
    short = s.waste.get("short_completed") or {}
    if short.get("n_jobs"):
        text += (
            f" {plural(short['n_jobs'], 'COMPLETED job')} shorter than {given(s.crash_threshold_minutes)} "
            f"minutes ({number(short['gpu_hours'])} GPU-hours) are not waste: they finished."
        )
    return text


def states_table(s: Summary) -> Table:
    rows = [
        (k, number(v), pct(v / s.n_jobs if s.n_jobs else None)) for k, v in s.jobs_by_state.items()
    ]
    return Table.of(("final state", "jobs", "share of jobs"), rows, right=("jobs", "share of jobs"))


def gpu_types_table(s: Summary) -> Table:
    rows = [
        (
            t["gpu_type"],
            t["gpu_key"],
            number(t["n_jobs"]),
            number(t["gpu_hours"]),
            pct(t["share_of_gpu_hours"]),
        )
        for t in s.gpu_types
    ]
    return Table.of(
        ("GPU type (as logged)", "GPU key", "jobs", "GPU-hours", "share of GPU-hours"),
        rows,
        right=("jobs", "GPU-hours", "share of GPU-hours"),
    )


#: How each step of the GPU chain (rdcost.analysis.gpu_resolution) reads in a sentence.
RULE_WORDS = {
    "exact": "by exact type",
    "normalised": "by normalised name",
    "site": "by the site mapping (--gpu-partition, --gpu-node, [gpu_sites])",
    "partition": "by their partition's typed jobs",
    "node": "by their node's typed jobs",
    "unidentified": "unidentified (no GPU type in the logs)",
}


def _shares(rows: list[dict], key: str, words: dict[str, str] | None = None) -> str:
    return ", ".join(
        f"{pct(r['share_of_gpu_hours'])} {(words or {}).get(r[key], r[key])}" for r in rows
    )


def chain_lines(s: Summary | Statement) -> list[str]:
    """What share of the GPU-hours each step of the GPU chain typed, and each price and
    power basis priced and powered (docs/summarize.md, "The GPU chain")."""
    if not s.gpu_key_rules:
        return ["No GPU-hours to type, price or power."]
    return [
        "GPU type: " + _shares(s.gpu_key_rules, "gpu_key_rule", RULE_WORDS) + ".",
        "Price: " + _shares(s.price_bases, "price_basis") + ".",
        "Power: " + _shares(s.power_bases, "power_basis") + ".",
    ]


def data_quality_brief(s: Summary | Statement) -> str:
    """The data-quality items in one line (the compute statement's row)."""
    if not s.data_quality:
        return "every record read as logged"
    return "; ".join(
        f"{d['item']}: {plural(d['n_jobs'], 'job')}"
        + said(d.get("gpu_hours"), f", {number(d.get('gpu_hours'))} GPU-hours")
        + f" ({d['note']})"
        for d in s.data_quality
    )


def data_quality_table(s: Summary) -> Table:
    """What the figures rest on: each item with its jobs, GPU-hours and meaning."""
    rows = [
        (d["item"], integer(d["n_jobs"]), number(d["gpu_hours"], missing=""), d["note"])
        for d in s.data_quality
    ]
    return Table.of(
        ("item", "jobs", "GPU-hours", "what it means for the figures"),
        rows,
        right=("jobs", "GPU-hours"),
    )


def implausible_table(s: Summary) -> Table:
    """The implausible records (the first 50), with why and their GPU-hours."""
    rows = [
        (
            str(r["job_id"]),
            str(r["source"] or ""),
            str(r["state"] or ""),
            r["implausible_reason"],
            number(None if r["elapsed_s"] is None else r["elapsed_s"] / 86_400),
            number(None if r["timelimit_s"] is None else r["timelimit_s"] / 86_400),
            number(r["gpu_hours"]),
        )
        for r in s.implausible_jobs
    ]
    cols = ("job", "source", "state", "why", "elapsed (days)", "time limit (days)", "GPU-hours")
    return Table.of(cols, rows, right=cols[4:])


def data_quality_blocks(s: Summary, level: int = 2) -> list:
    """The data-quality section's blocks (summarize, report and card)."""
    blocks: list = []
    if s.data_quality:
        blocks.append(data_quality_table(s))
    else:
        blocks.append(Paragraph("Nothing to report: every record was read as logged."))
    if s.implausible_jobs:
        shown = len(s.implausible_jobs)
        blocks += [
            Heading(
                "Implausible records"
                + (
                    ""
                    if shown == s.n_jobs_implausible
                    else f" (first {shown} of {s.n_jobs_implausible:,})"
                ),
                level=level + 1,
                id="implausible",
            ),
            implausible_table(s),
            Paragraph(
                f"Implausible: elapsed beyond the time limit plus a grace ({GRACE_RULE}), or still "
                "running for longer than since its submission. "
                + (
                    "Kept in every total (--include-implausible)."
                    if s.include_implausible
                    else "Left out of every total; --include-implausible keeps them."
                )
            ),
        ]
    return blocks


def comparisons_table(s: Summary) -> Table:
    """All R&D's CO2e in familiar terms (Strubell et al. 2019, Table 1)."""
    rows = [
        (c["item"], number(c["lbs_co2e_each"]), number(c["n_equivalent"]))
        for c in s.to_dict()["comparisons"]
    ]
    return Table.of(
        ("all R&D emits as much CO2e as", "lbs CO2e each", "times"),
        rows,
        right=("lbs CO2e each", "times"),
    )


def assumptions_table(s: Summary) -> Table:
    """Every assumption as a figure of the long form: value, unit, origin, source and date."""
    f = s.figures()
    f = f[f["section"] == "assumptions"]
    rows = [
        (
            r.metric,
            given(r.value) if isinstance(r.value, float) or r.value is None else str(r.value),
            r.unit,
            r.assumption,
        )
        for r in f.itertuples(index=False)
    ]
    return Table.of(
        ("assumption", "value", "unit", "origin, source and date"), rows, right=("value",)
    )


def figures_table(s: Summary) -> Table:
    """Every figure of the summary (the long form of `rdcost summarize -f csv`)."""
    f = s.figures()
    rows = [
        (
            r.section,
            r.metric,
            number(r.value) if isinstance(r.value, float) or r.value is None else str(r.value),
            r.unit,
            r.assumption,
        )
        for r in f.itertuples(index=False)
    ]
    return Table.of(("section", "figure", "value", "unit", "assumption"), rows, right=("value",))


def assumptions_brief_header(s: Summary) -> str:
    a = s.assumptions
    return (
        f"Assumptions '{a['name']}' (layers: {', '.join(a['layers'])}); year of the jobs: {a['year']}; "
        f"prices: {a['price_provider']} list, {a['price_date'].replace('_', ' ')} prices; power basis: "
        f"{a['power_basis']}."
    )


def _price_line(p: dict) -> str:
    lo, hi = p["usd_per_gpu_hour_low"], p["usd_per_gpu_hour_high"]
    if is_unknown(lo) or is_unknown(hi):
        text = f"price {p['gpu_key']}: unknown ({plural(p['n_jobs'], 'job')}) [{p['origin']}]"
    else:
        when = (
            p["price_as_of_low"]
            if p["price_as_of_low"] == p["price_as_of_high"]
            else f"{p['price_as_of_low']} / {p['price_as_of_high']}"
        )
        text = (
            f"price {p['gpu_key']}: {usd_rate(lo)} - {usd_rate(hi)} per GPU-hour ({p['price_key']} "
            f"{p['price_provider']} {p['pricing_model_low']} / {p['pricing_model_high']}, as of {when}; "
            f"{plural(p['n_jobs'], 'job')}) [{p['origin']}]"
        )
    text += said(p["note"], f" {p['note']}.")
    if p["n_jobs_before_known_price"]:
        text += (
            f" {plural(p['n_jobs_before_known_price'], 'job')} ran before this price's date "
            "(earliest known used)."
        )
    return text + said(p["price_source"], f" Source: {p['price_source']}")


def _sourced_line(label: str, v: dict | None, unit: str, why: str = "") -> str:
    if v is None:
        return f"{label}: unknown" + (f" ({why})" if why else "")
    return (
        f"{label}: {given(v['value'])}{unit} [{v['origin']}]"
        + said(v.get("as_of"), f" as of {v.get('as_of')}.")
        + said(v["note"], f" {v['note']}.")
        + said(v["source"], f" Source: {v['source']}")
    )


def assumption_lines(s: Summary) -> list[str]:
    """One line per assumption, with its origin and source."""
    a = s.assumptions
    lines = [
        f"assumptions: {a['name']} (layers: {', '.join(a['layers'])}); year of the jobs: {a['year']}"
    ]
    lines += [_price_line(p) for p in a["prices"]]
    lines += [
        (
            f"power {p['gpu_key']}: {number(p['power_w'])} W per GPU, {p['basis']}"
            if not is_unknown(p["power_w"])
            else f"power {p['gpu_key']}: unknown (no power of its own; --on-missing unknown)"
        )
        + f" ({plural(p['n_jobs'], 'job')}) [{p['origin']}]"
        + said(p["source"], f" Source: {p['source']}")
        for p in a["power"]
    ]
    lines += [
        _sourced_line("PUE", a["pue"], ""),
        _sourced_line("electricity", a["electricity_usd_per_kwh"], " USD/kWh"),
    ]
    c = a["carbon"]
    lines.append(
        f"carbon intensity: {significant(c['kg_co2e_per_kwh'], 4)} kg CO2e/kWh = "
        f"{significant(c['lbs_co2e_per_kwh'], 4)} lbs/kWh, region {c['region']}, year {c['year']} "
        f"[{c['origin']}]"
        + said(c["note"], f" {c['note']}.")
        + said(c["source"], f" Source: {c['source']}")
    )
    for label, key, why in (
        ("one model", "one_model_gpu_hours", "no COMPLETED job with known GPU-hours"),
        ("one tuning round", "tuning_round_n_jobs", "no grid search"),
        ("crash threshold", "crash_threshold_minutes", ""),
        ("utilisation threshold", "util_threshold_percent", ""),
    ):
        v = a.get(key)
        lines.append(
            _sourced_line(label, v, "", why)
            if v is None
            else f"{label}: {given(v['value'])} {v['unit']} [{v['origin']}]"
            + said(v["note"], f" {v['note']}.")
            + said(v["source"], f" Source: {v['source']}")
        )
    if a["mean_usd_per_gpu_hour_low"] is not None:
        lines.append(
            f"one model and tuning round priced at the project's GPU-hour-weighted mean: "
            f"${significant(a['mean_usd_per_gpu_hour_low'], 4)} - "
            f"${significant(a['mean_usd_per_gpu_hour_high'], 4)} per GPU-hour, {number(a['mean_power_w'])} W per GPU"
        )
    lines.append(
        f"prices: {a['price_provider']} list, {a['price_date'].replace('_', ' ')} prices; power basis: "
        f"{a['power_basis']}"
    )
    return lines


def document(s: Summary) -> Document:
    """`rdcost summarize`: the tables, then the assumptions and notes."""
    blocks = [
        Heading(title(s), level=1),
        Heading("Key figures", id="summary"),
        key_figures(s),
        Heading("Jobs by final state", id="states"),
        states_table(s),
        Heading("GPU types by share of GPU-hours", id="gpu-types"),
        gpu_types_table(s),
        BulletList(chain_lines(s)),
        Heading("Cost of R&D (Strubell et al. 2019, Table 4)", id="rd"),
        rd_table(s),
        Paragraph(rd_note(s)),
        Heading("Familiar comparisons (Strubell et al. 2019, Table 1)", id="comparisons"),
        comparisons_table(s),
        *energy_view.blocks(s),
        Heading("Waste: crashed, failed, cancelled and timed-out jobs", id="waste"),
        waste_table(s),
        Paragraph(waste_note(s)),
        *utilization_view.blocks(s),
        Heading("Data quality", id="data-quality"),
        *data_quality_blocks(s),
        Heading("Assumptions", id="assumptions"),
        BulletList(assumption_lines(s)),
    ]
    if s.notes:
        blocks += [Heading("Notes", id="notes"), BulletList(s.notes)]
    return Document(title(s), blocks)
