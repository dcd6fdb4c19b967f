"""The energy section of a summary as blocks (`rdcost summarize`, the report, the card):
energy by source, the footprint layer by layer, the low / central / high ranges with
every input behind them, location- and market-based CO2e side by side, and the meter
readings that were flagged and not used (docs/energy.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rdcost.analysis.energy.inputs import provenance
from rdcost.analysis.summary import Summary
from rdcost.output.blocks import Block, BulletList, Heading, Paragraph, Table
from rdcost.output.numbers import integer, is_unknown, number, pct, usd, usd_range
from rdcost.plural import plural

#: Layers of the footprint as rows: key, label, unit, what it adds.
LAYERS = (
    ("gpu_kwh", "GPU energy", "kWh", "the GPUs of the jobs whose energy is modelled"),
    ("cpu_memory_kwh", "+ CPU and memory", "kWh", "the cores used and the memory held"),
    (
        "node_share_kwh",
        "+ node's share",
        "kWh",
        "the rest of the node (board, fans, network, idle parts), per GPU held",
    ),
    (
        "measured_node_kwh",
        "+ node meters",
        "kWh",
        "jobs whose node counter was used: GPU, CPU, memory and idle together",
    ),
    ("it_kwh", "= IT energy", "kWh", "at the IT equipment's plugs"),
    (
        "pue_overhead_kwh",
        "+ facility overhead",
        "kWh",
        "cooling and power losses: IT energy x (PUE - 1)",
    ),
    ("facility_kwh", "= facility energy", "kWh", "the energy figure (PUE included)"),
    (
        "embodied_co2e_kg",
        "embodied emissions",
        "kg CO2e",
        "manufacturing of the GPUs held, per GPU-hour",
    ),
)


def value_range(r: dict[str, Any] | None, fmt=number) -> str:
    """``82,267 (57,274 - 88,515)``: central, then low - high; ``unknown`` when unknown."""
    if not r or is_unknown(r.get("central")):
        return "unknown"
    lo, hi = r.get("low"), r.get("high")
    if is_unknown(lo) or is_unknown(hi):
        return f"{fmt(r['central'])} (range unknown)"
    return f"{fmt(r['central'])} ({fmt(lo)} - {fmt(hi)})"


def low_high(lo: Any, hi: Any, fmt=number) -> str:
    """``57,274 - 88,515`` (``unknown`` when either is)."""
    if is_unknown(lo) or is_unknown(hi):
        return "unknown"
    return f"{fmt(lo)} - {fmt(hi)}"


def sources_table(s: Summary) -> Table:
    rows = [
        (
            r["description"],
            integer(r["n_jobs"]),
            number(r["gpu_hours"]),
            pct(r["share_of_gpu_hours"]),
            value_range(
                {
                    "low": r["energy_kwh_low"],
                    "central": r["energy_kwh"],
                    "high": r["energy_kwh_high"],
                }
            ),
        )
        for r in s.energy.get("by_source", [])
    ]
    cols = ("energy source", "jobs", "GPU-hours", "share of GPU-hours", "energy, kWh (low - high)")
    return Table.of(cols, rows, right=cols[1:])


def layers_table(s: Summary) -> Table:
    e = s.energy
    best = e.get("method") == "best_available"
    rows = []
    for key, label, unit, what in LAYERS:
        v = e["layers"].get(key)
        if (
            is_unknown(v)
            and not best
            and key in ("cpu_memory_kwh", "node_share_kwh", "measured_node_kwh")
        ):
            shown, what = "not counted", "not part of the gpu_power method (the paper's)"
        else:
            shown = number(v)
        rows.append((label, shown, unit, what))
    return Table.of(("layer", "value", "unit", "what it adds"), rows, right=("value",))


def ranges_table(s: Summary) -> Table:
    r = s.energy["ranges"]
    rows = []
    for key, label, unit, fmt in (
        ("energy_kwh", "energy (PUE included)", "kWh", number),
        ("electricity_usd", "electricity", "USD", usd),
        ("co2e_kg", "CO2e, electricity", "kg", number),
        ("co2e_lbs", "CO2e, electricity", "lbs", number),
        ("embodied_co2e_kg", "CO2e, embodied", "kg", number),
        ("total_co2e_kg", "CO2e, electricity + embodied", "kg", number),
        ("co2e_market_kg", "CO2e, electricity, market-based", "kg", number),
    ):
        v = r.get(key) or {}
        rows.append((label, fmt(v.get("low")), fmt(v.get("central")), fmt(v.get("high")), unit))
    cols = ("figure", "low", "central", "high", "unit")
    return Table.of(cols, rows, right=("low", "central", "high"))


def rd_ranges_table(s: Summary) -> Table:
    rows = [
        (
            r["label"],
            low_high(r.get("energy_kwh_low"), r.get("energy_kwh_high")),
            low_high(r.get("electricity_usd_low"), r.get("electricity_usd_high"), usd),
            low_high(r.get("co2e_kg_low"), r.get("co2e_kg_high")),
            low_high(r.get("co2e_lbs_low"), r.get("co2e_lbs_high")),
        )
        for r in s.to_dict()["rd_table"]
    ]
    cols = ("row", "energy (kWh)", "electricity (USD)", "CO2e (kg)", "CO2e (lbs)")
    return Table.of(cols, rows, right=cols[1:])


def carbon_lines(s: Summary) -> list[str]:
    c = s.energy["carbon"]
    ak = c["annual_kg_co2e_per_kwh"]
    lines = [
        f"Location-based, annual average ({c['region'] or 'region unknown'}, {c['year'] or 'year unknown'}, "
        f"{ak['central']:.4g} kg CO2e/kWh, range {ak['low']:.4g} - {ak['high']:.4g}): "
        f"{number(c['location_annual_co2e_kg'])} kg CO2e."
    ]
    ser = c.get("series")
    if ser is None:
        lines.append(
            "Location-based, time-matched: not computed (no carbon-intensity series given; "
            "--carbon-series or [carbon_series])."
        )
    else:
        lines.append(
            f"Location-based, time-matched to the hours the jobs ran: {number(c['location_time_matched_co2e_kg'])} kg "
            f"CO2e, from {ser['layout']} series {ser['path'].rsplit('/', 1)[-1]} ({ser['basis'].replace('_', ' ')} "
            f"intensity{', zone ' + ser['zone'] if ser.get('zone') else ''}, {ser['first_time'][:16]} to "
            f"{ser['last_time'][:16]} UTC, sha256 {ser['sha256'][:12]}); it covers {pct(ser['covered_share_of_energy'])} "
            "of the energy, the rest at the annual average"
            + (" (the central CO2e)." if ser["is_central"] else " (beside the central CO2e).")
        )
    cfe = c.get("cfe_fraction")
    if cfe is None:
        lines.append(
            "Market-based: unknown (needs the site's carbon-free energy share: [site] cfe_fraction)."
        )
    else:
        lines.append(
            f"Market-based (location-based x (1 - the site's carbon-free energy share {pct(cfe['value'], 0)}; "
            f"{cfe['source']}): {number(c['market_co2e_kg'])} kg CO2e."
        )
    lines.append(f"The central CO2e figure uses the {c['central_basis']}.")
    return lines


def meter_blocks(s: Summary) -> list[Block]:
    m = s.energy["meter"]
    text = (
        f"{plural(m['n_jobs_with_reading'], 'job')} with GPU time had a node energy reading; "
        f"{integer(m['n_jobs_used'])} used, {integer(m['n_jobs_flagged'])} flagged and not used."
    )
    if not m["is_used"]:
        text += " Readings are not used by this method (gpu_power): -a current uses them."
    out: list[Block] = [Paragraph(text)]
    if m["flags"]:
        out.append(
            Table.of(
                ("reason", "jobs", "GPU-hours", "logged kWh (not used)"),
                [
                    (
                        f["description"],
                        integer(f["n_jobs"]),
                        number(f["gpu_hours"]),
                        number(f["energy_kwh_logged"]),
                    )
                    for f in m["flags"]
                ],
                right=("jobs", "GPU-hours", "logged kWh (not used)"),
            )
        )
        lim = m["max_node_w"]
        out.append(
            Table.of(
                (
                    "job",
                    "partition",
                    "nodes",
                    "GPUs",
                    "elapsed (h)",
                    "logged kWh",
                    "limit kWh",
                    "reason",
                ),
                [
                    (
                        str(r["job_id"]),
                        r["partition"] or "",
                        number(r["n_nodes"]),
                        number(r["n_gpus"]),
                        number(None if r["elapsed_s"] is None else r["elapsed_s"] / 3600),
                        number(None if r["energy_j"] is None else r["energy_j"] / 3.6e6),
                        number(None if r["limit_j"] is None else r["limit_j"] / 3.6e6),
                        r["reason"].replace("_", " "),
                    )
                    for r in m["flagged_jobs"]
                ],
                right=("nodes", "GPUs", "elapsed (h)", "logged kWh", "limit kWh"),
            )
        )
        out.append(
            Paragraph(
                f"Limit = nodes x {number(lim['value'])} W x elapsed ({lim['origin']}; {lim['source']}). "
                "A shared node's counter holds other jobs' draw too."
            )
        )
    return out


def inputs_table(s: Summary) -> Table:
    rows = []
    for i in s.energy.get("inputs", []):
        src = provenance(i)
        rows.append(
            (
                i["input"],
                _given(i.get("low")),
                _given(i.get("value")),
                _given(i.get("high")),
                i.get("unit") or "",
                src,
            )
        )
    for g in s.energy.get("embodied_per_gpu", []):
        rows.append(
            (
                f"embodied per GPU: {g['gpu_key']}",
                _given(g["low"]),
                _given(g["value"]),
                _given(g["high"]),
                g["unit"],
                "; ".join(x for x in (g.get("origin"), g.get("source"), g.get("rule")) if x),
            )
        )
    cols = ("input", "low", "central", "high", "unit", "origin, source, rule and date")
    return Table.of(cols, rows, right=("low", "central", "high"))


def _given(v: Any) -> str:
    return "unknown" if is_unknown(v) else f"{v:,.6g}"


def method_line(s: Summary) -> str:
    e = s.energy
    if e["method"] == "best_available":
        text = (
            "Method best_available: per job the best source its logs allow (a checked node meter, the "
            "measured power of its GPUs, their measured utilisation through the power model, else rated "
            "power x a utilisation factor), plus the CPU and memory of the allocation and the node's share "
            "beyond them; x PUE."
        )
    else:
        text = (
            "Method gpu_power (the paper's): GPU-hours x one power per GPU x PUE; node meters, measured GPU "
            "power and utilisation are not used (-a current uses them)."
        )
    n = e.get("n_jobs_cpu_memory_unknown")
    if n and e["method"] == "best_available":
        text += (
            f" {plural(n, 'job')} ({number(e['cpu_memory_unknown_gpu_hours'])} GPU-hours) log no CPU count or memory: "
            "the node's share stands for their CPU and memory."
        )
    text += (
        " Low and high combine every input's low and high end (a bound, not a confidence interval); the "
        "inputs are listed below with their sources."
    )
    return text + f" ({e['method_origin']})"


def blocks(s: Summary, level: int = 2, heading: bool = True) -> list[Block]:
    """The energy section (under a heading of ``level``; ``heading``: with it)."""
    if not s.energy:
        return []
    sub = level + 1
    head: list[Block] = (
        [Heading("Energy and CO2e: sources, layers and ranges", level=level, id="energy")]
        if heading
        else []
    )
    return [
        *head,
        Paragraph(method_line(s)),
        Heading("Energy by source", level=sub, id="energy-sources"),
        sources_table(s),
        Heading("The whole footprint, layer by layer", level=sub, id="energy-layers"),
        layers_table(s),
        Heading("Ranges (low, central, high)", level=sub, id="energy-ranges"),
        ranges_table(s),
        rd_ranges_table(s),
        Heading("Carbon intensity: location-based and market-based", level=sub, id="carbon"),
        BulletList(carbon_lines(s)),
        Heading("Node energy meters", level=sub, id="meters"),
        *meter_blocks(s),
        Heading("Inputs of the ranges", level=sub, id="energy-inputs"),
        inputs_table(s),
    ]


def brief(e: dict[str, Any]) -> str:
    """Energy and CO2e in one line with their ranges and sources (the card), from a
    summary's ``energy`` section."""
    r = e["ranges"]
    shares = ", ".join(
        f"{pct(x['share_of_gpu_hours'], 0)} {x['source'].replace('_', ' ')}" for x in e["by_source"]
    )
    return (
        f"{value_range(r['energy_kwh'])} kWh (PUE included), {value_range(r['co2e_kg'])} kg CO2e from electricity "
        f"({e['carbon']['central_basis']}), {value_range(r['embodied_co2e_kg'])} kg embodied; "
        f"electricity {value_range(r['electricity_usd'], usd)}; energy by source (share of GPU-hours): {shares}; "
        f"method {e['method']}"
    )


def comparison_table(named: Sequence[tuple[str, Summary]]) -> Table:
    """The same project under several assumption sets, side by side (the paper's method and
    the current one)."""
    cols = ("figure", *(n for n, _ in named))
    rows = []
    for label, fn in (
        ("method", lambda s: s.energy["method"]),
        ("GPU-hours", lambda s: number(s.gpu_hours)),
        (
            "energy by source (share of GPU-hours)",
            lambda s: "; ".join(
                f"{x['source'].replace('_', ' ')} {pct(x['share_of_gpu_hours'], 0)}"
                for x in s.energy["by_source"]
            ),
        ),
        ("PUE", lambda s: f"{s.assumptions['pue']['value']:g} ({s.assumptions['pue']['origin']})"),
        ("energy, kWh", lambda s: value_range(s.energy["ranges"]["energy_kwh"])),
        ("electricity, USD", lambda s: value_range(s.energy["ranges"]["electricity_usd"], usd)),
        ("CO2e from electricity, kg", lambda s: value_range(s.energy["ranges"]["co2e_kg"])),
        ("carbon intensity basis", lambda s: s.energy["carbon"]["central_basis"]),
        ("CO2e market-based, kg", lambda s: value_range(s.energy["ranges"]["co2e_market_kg"])),
        ("CO2e embodied, kg", lambda s: value_range(s.energy["ranges"]["embodied_co2e_kg"])),
        (
            "CO2e electricity + embodied, kg",
            lambda s: value_range(s.energy["ranges"]["total_co2e_kg"]),
        ),
        ("cloud cost, USD", lambda s: usd_range(s.cloud_usd_low, s.cloud_usd_high)),
    ):
        rows.append((label, *(fn(s) for _, s in named)))
    return Table.of(cols, rows)
