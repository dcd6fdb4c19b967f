"""The case-study summary (:class:`rdcost.analysis.summary.Summary`) as tables and lines.

`rdcost summarize` prints :func:`document`; the report (:mod:`rdcost.output.views.report`)
shows the same tables (:func:`key_figures`, :func:`rd_table`, ...) in its sections.
"""

from __future__ import annotations

from rdcost.analysis.summary import Summary
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
from rdcost.output.wording import said


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
            "grid searches",
            number(s.n_grid_searches),
            "searches",
            f"{integer(s.n_jobs_in_grid_searches)} jobs",
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
            f"{_day(s.first_start_time)} to {_day(s.last_end_time)}, first start to last end",
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
            f"shorter than {given(s.crash_threshold_minutes)} minutes",
        ),
        ("mean GPUs in use", number(s.mean_concurrent_gpus), "GPUs", "GPU-hours / span"),
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
        ("electricity", usd(s.electricity_usd), "USD", "if run on owned GPUs"),
        ("energy", number(s.energy_kwh), "kWh", "PUE included"),
        ("CO2e", number(s.co2e_kg), "kg", f"{number(s.co2e_lbs)} lbs"),
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
    )
    rows = [
        (
            r["label"],
            number(r["n_jobs"]),
            number(r["gpu_hours"]),
            usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
            usd(r["electricity_usd"]),
            number(r["energy_kwh"]),
            number(r["co2e_kg"]),
            number(r["co2e_lbs"]),
        )
        for r in s.to_dict()["rd_table"]
    ]
    return Table.of(cols, rows, right=cols[1:])


def rd_note(s: Summary) -> str:
    return (
        f"One model = {number(s.one_model_gpu_hours)} GPU-hours; one tuning round = "
        f"{number(s.tuning_round_n_jobs)} such models (see Assumptions). Energy includes PUE."
    )


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
    )
    rows = [
        (
            r["category"].replace("_", " "),
            number(r["n_jobs"]),
            number(r["gpu_hours"]),
            usd_range(r["cloud_usd_low"], r["cloud_usd_high"]),
            number(r["energy_kwh"]),
            number(r["co2e_kg"]),
        )
        for r in [*w["categories"], w["total"]]
    ]
    return Table.of(cols, rows, right=cols[1:])


def waste_note(s: Summary) -> str:
    return (
        f"{pct(s.waste['share_of_gpu_hours'])} of the GPU-hours went to jobs that crashed "
        f"(shorter than {given(s.crash_threshold_minutes)} minutes), failed, were cancelled or timed out; "
        "each job counts once, in the first matching cause."
    )


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
        text = f"price {p['gpu_key']}: unknown ({integer(p['n_jobs'])} jobs) [{p['origin']}]"
    else:
        when = (
            p["price_as_of_low"]
            if p["price_as_of_low"] == p["price_as_of_high"]
            else f"{p['price_as_of_low']} / {p['price_as_of_high']}"
        )
        text = (
            f"price {p['gpu_key']}: {usd_rate(lo)} - {usd_rate(hi)} per GPU-hour ({p['price_key']} "
            f"{p['price_provider']} {p['pricing_model_low']} / {p['pricing_model_high']}, as of {when}; "
            f"{integer(p['n_jobs'])} jobs) [{p['origin']}]"
        )
    text += said(p["note"], f" {p['note']}.")
    if p["n_jobs_before_known_price"]:
        text += f" {integer(p['n_jobs_before_known_price'])} jobs ran before this price's date (earliest known used)."
    return text + said(p["price_source"], f" Source: {p['price_source']}")


def _sourced_line(label: str, v: dict | None, unit: str) -> str:
    if v is None:
        return f"{label}: unknown (no completed jobs or grid searches to derive it from)"
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
        f"power {p['gpu_key']}: {number(p['power_w'])} W per GPU, {p['basis']} ({integer(p['n_jobs'])} jobs) "
        f"[{p['origin']}]" + said(p["source"], f" Source: {p['source']}")
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
    for label, key in (
        ("one model", "one_model_gpu_hours"),
        ("one tuning round", "tuning_round_n_jobs"),
        ("crash threshold", "crash_threshold_minutes"),
    ):
        v = a[key]
        lines.append(
            _sourced_line(label, v, "")
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
        Heading("Cost of R&D (Strubell et al. 2019, Table 4)", id="rd"),
        rd_table(s),
        Paragraph(rd_note(s)),
        Heading("Familiar comparisons (Strubell et al. 2019, Table 1)", id="comparisons"),
        comparisons_table(s),
        Heading("Waste: crashed, failed, cancelled and timed-out jobs", id="waste"),
        waste_table(s),
        Paragraph(waste_note(s)),
        Heading("Assumptions", id="assumptions"),
        BulletList(assumption_lines(s)),
    ]
    if s.notes:
        blocks += [Heading("Notes", id="notes"), BulletList(s.notes)]
    return Document(title(s), blocks)
