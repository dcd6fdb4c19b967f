"""The energy section in the summary's long form (`rdcost summarize -f csv`): one row per
figure, with the assumption behind it."""

from __future__ import annotations

from typing import Any

from rdcost.analysis.energy.inputs import provenance

#: The range keys of the totals, R&D rows and waste rows, with their units.
RANGE_UNITS = {
    "energy_kwh_low": "kWh",
    "energy_kwh_high": "kWh",
    "electricity_usd_low": "USD",
    "electricity_usd_high": "USD",
    "co2e_kg_low": "kg",
    "co2e_kg_high": "kg",
    "co2e_lbs_low": "lbs",
    "co2e_lbs_high": "lbs",
}
_RANGE_FIGURES = {
    "energy_kwh": "kWh",
    "it_kwh": "kWh",
    "electricity_usd": "USD",
    "co2e_kg": "kg",
    "co2e_lbs": "lbs",
    "embodied_co2e_kg": "kg",
    "total_co2e_kg": "kg",
    "co2e_market_kg": "kg",
}
_LAYER_UNITS = {
    "gpu_kwh": ("kWh", "GPU energy of the jobs whose energy is modelled"),
    "cpu_memory_kwh": ("kWh", "CPU and memory of the allocation"),
    "node_share_kwh": ("kWh", "the node's share beyond its GPUs, CPU and memory"),
    "measured_node_kwh": ("kWh", "node energy counters (GPU, CPU, memory and idle together)"),
    "it_kwh": ("kWh", "IT energy: the layers above"),
    "pue_overhead_kwh": ("kWh", "the facility's overhead: IT energy x (PUE - 1)"),
    "facility_kwh": ("kWh", "IT energy x PUE (the energy_kwh figure)"),
    "embodied_co2e_kg": ("kg", "manufacturing emissions of the GPUs held, per GPU-hour"),
}


def energy_figures(s: Any) -> list[tuple[str, str, Any, str, str]]:
    """Rows (section, metric, value, unit, assumption) of the energy section of ``s``."""
    e = s.energy or {}
    rows: list[tuple[str, str, Any, str, str]] = []
    if not e:
        return rows
    method = f"method {e['method']} ({e['method_origin']})"
    for name, unit in _RANGE_FIGURES.items():
        r = e["ranges"].get(name) or {}
        for end in ("low", "central", "high"):
            rows.append(("energy_ranges", f"{name}:{end}", r.get(end), unit, method))
    for r in e["by_source"]:
        note = r["description"]
        rows.append(("energy_sources", f"n_jobs:{r['source']}", r["n_jobs"], "jobs", note))
        rows.append(
            ("energy_sources", f"gpu_hours:{r['source']}", r["gpu_hours"], "GPU-hours", note)
        )
        rows.append(
            (
                "energy_sources",
                f"share:{r['source']}",
                r["share_of_gpu_hours"],
                "fraction of GPU-hours",
                note,
            )
        )
        rows.append(("energy_sources", f"energy_kwh:{r['source']}", r["energy_kwh"], "kWh", note))
    for name, (unit, note) in _LAYER_UNITS.items():
        rows.append(("energy_layers", name, e["layers"].get(name), unit, note))
    c = e["carbon"]
    basis = f"central: {c['central_basis']}"
    rows.append(
        (
            "carbon",
            "location_annual_co2e_kg",
            c["location_annual_co2e_kg"],
            "kg",
            f"location-based, annual average of {c['region']}, {c['year']}",
        )
    )
    rows.append(
        (
            "carbon",
            "location_time_matched_co2e_kg",
            c["location_time_matched_co2e_kg"],
            "kg",
            "location-based, the series' intensity over the hours each job ran"
            + ("" if c["series"] is None else f"; {c['series']['path']}"),
        )
    )
    rows.append(
        (
            "carbon",
            "market_co2e_kg",
            c["market_co2e_kg"],
            "kg",
            "market-based: location-based x (1 - the site's carbon-free energy share)",
        )
    )
    if c["series"] is not None:
        rows.append(
            (
                "carbon",
                "series_covered_share_of_energy",
                c["series"]["covered_share_of_energy"],
                "fraction of kWh",
                basis,
            )
        )
    m = e["meter"]
    for k in ("n_jobs_with_reading", "n_jobs_used", "n_jobs_flagged"):
        rows.append(("meter", k, m[k], "jobs", "node energy counters (energy_j)"))
    for f in m["flags"]:
        rows.append(
            ("meter", f"n_jobs_flagged:{f['reason']}", f["n_jobs"], "jobs", f["description"])
        )
        rows.append(
            ("meter", f"gpu_hours_flagged:{f['reason']}", f["gpu_hours"], "GPU-hours", "not used")
        )
    rows.append(
        (
            "energy",
            "n_jobs_cpu_memory_unknown",
            e["n_jobs_cpu_memory_unknown"],
            "jobs",
            "no CPU count or memory in the log: the node's share stands for them",
        )
    )
    for i in e["inputs"]:
        text = provenance(i)
        for end, key in (("low", "low"), ("value", "value"), ("high", "high")):
            rows.append(
                ("energy_inputs", f"{i['input']}:{end}", i.get(key), i.get("unit") or "", text)
            )
    for g in e.get("embodied_per_gpu", []):
        text = "; ".join(x for x in (g.get("origin"), g.get("source"), g.get("rule")) if x)
        for end in ("low", "value", "high"):
            rows.append(
                (
                    "energy_inputs",
                    f"embodied_kg:{g['gpu_key']}:{end}",
                    g.get(end),
                    "kg CO2e per GPU",
                    text,
                )
            )
    return rows
