"""The utilization waste in the summary's long form (`rdcost summarize -f csv`): one row per
figure, with the threshold and the coverage behind it."""

from __future__ import annotations

from typing import Any

from rdcost.analysis.energy.figures import RANGE_UNITS

#: The columns of a row of the utilization table, with their units.
ROW_UNITS = {
    "n_jobs": "jobs",
    "gpu_hours": "GPU-hours",
    "share_of_util_logged_gpu_hours": "fraction of GPU-hours with utilisation logged",
    "cloud_usd_low": "USD",
    "cloud_usd_high": "USD",
    "electricity_usd": "USD",
    "energy_kwh": "kWh",
    "co2e_kg": "kg",
    "co2e_lbs": "lbs",
    **RANGE_UNITS,
}
#: The values of a user, search or job row, with their units.
LIST_UNITS = {
    "n_jobs": "jobs",
    "gpu_hours": "GPU-hours",
    "util_logged_gpu_hours": "GPU-hours",
    "util_logged_share_of_gpu_hours": "fraction of GPU-hours",
    "zero_util_gpu_hours": "GPU-hours",
    "below_threshold_gpu_hours": "GPU-hours",
    "util_waste_gpu_hours": "GPU-hours",
    "util_waste_cloud_usd_low": "USD",
    "util_waste_cloud_usd_high": "USD",
    "util_waste_energy_kwh": "kWh",
    "util_waste_co2e_kg": "kg",
}
_WHAT = {
    "zero_util": "GPUs at 0% for the whole run (per GPU where logged, else jobs whose mean is 0%)",
    "below_threshold": "jobs whose GPUs' mean utilisation is below the threshold (0% included)",
    "unused_gpus": "GPUs never used in multi-GPU jobs with per-GPU utilisation logged",
    "util_waste": "GPU-hours at 0% or below the threshold, each once",
}


def utilization_figures(s: Any) -> list[tuple[str, str, Any, str, str]]:
    """Rows (section, metric, value, unit, assumption) of the utilization waste of ``s``."""
    u = s.utilization or {}
    if not u:
        return []
    thr = f"threshold {u['threshold_percent']:g}%; {u['note']}"
    rows: list[tuple[str, str, Any, str, str]] = [
        ("utilization", "status", u["status"], "", u["note"]),
        ("utilization", "threshold_percent", u["threshold_percent"], "percent", ""),
    ]
    for m, unit in (
        ("n_jobs_with_gpu_time", "jobs"),
        ("gpu_hours", "GPU-hours"),
        ("n_jobs_util_logged", "jobs"),
        ("util_logged_gpu_hours", "GPU-hours"),
        ("util_logged_share_of_gpu_hours", "fraction of GPU-hours"),
        ("n_jobs_util_unknown", "jobs"),
        ("util_unknown_gpu_hours", "GPU-hours"),
        ("mean_util_percent", "percent"),
    ):
        rows.append(("utilization", m, u[m], unit, "GPU-hour-weighted" if "mean" in m else ""))
    for r in u["by_source"]:
        rows.append(("utilization_source", f"n_jobs:{r['source']}", r["n_jobs"], "jobs", ""))
        rows.append(
            ("utilization_source", f"gpu_hours:{r['source']}", r["gpu_hours"], "GPU-hours", "")
        )
    for name in ("zero_util", "below_threshold", "unused_gpus", "util_waste"):
        r = u[name]
        for m, unit in ROW_UNITS.items():
            rows.append((f"utilization:{name}", m, r.get(m), unit, f"{_WHAT[name]}; {thr}"))
    un = u["unused_gpus"]
    for m in (
        "n_jobs_multi_gpu",
        "n_jobs_multi_gpu_per_gpu_logged",
        "n_gpus_allocated",
        "n_gpus_unused",
    ):
        rows.append(
            (
                "utilization:unused_gpus",
                m,
                un.get(m),
                "jobs" if m.startswith("n_jobs") else "GPUs",
                "",
            )
        )
    for key, section, listed in (
        ("user", "utilization_user", u["by_user"]),
        ("search_id", "utilization_search", u["by_search"]),
        ("job_id", "utilization_job", u["top_jobs"]),
    ):
        for r in listed:
            for m, unit in LIST_UNITS.items():
                if m in r:
                    rows.append((f"{section}:{r[key]}", m, r[m], unit, thr))
    return rows
