"""The energy plot: where each GPU-hour's energy comes from, the footprint layer by layer,
and CO2e by accounting, every figure with its low - high range (docs/energy.md)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rdcost.analysis.project import ProjectAnalysis  # noqa: E402
from rdcost.output.numbers import is_unknown, number, pct  # noqa: E402
from rdcost.output.plots.case_study import (  # noqa: E402
    _THOUSANDS,
    HATCHES,
    SERIES,
    STYLE,
    _c,
    _check,
    _footnote,
    _nothing,
    _save,
)
from rdcost.output.wording import assumptions_brief  # noqa: E402

#: Layer key -> (label, colour).
_LAYERS = (
    ("measured_node_kwh", "node meters (GPU, CPU, memory, idle)", "blue"),
    ("gpu_kwh", "GPU energy (modelled)", "orange"),
    ("cpu_memory_kwh", "CPU and memory", "green"),
    ("node_share_kwh", "node's share", "sky"),
    ("pue_overhead_kwh", "facility overhead (PUE - 1)", "grey"),
)


def energy(ctx: ProjectAnalysis, path: Path) -> Path:
    """Energy by source (share of GPU-hours), the footprint layer by layer, and CO2e by accounting, with ranges."""
    path = _check(path)
    s = ctx.summary
    e = s.energy
    title = f"Energy and CO2e, by source and layer, with ranges: {ctx.who}"
    if not e or not e.get("by_source") or is_unknown(s.energy_kwh):
        return _nothing(path, title, "energy unknown: no GPU time with a known power")
    note = (
        assumptions_brief(s)
        + ". Ranges combine every input's low and high end (a bound, not a confidence interval); "
        "the inputs and their sources are listed in the energy section of the summary."
    )
    with plt.rc_context(STYLE):
        fig, (a1, a2, a3) = plt.subplots(
            1, 3, figsize=(12.5, 5.6), gridspec_kw={"width_ratios": [0.8, 1.0, 1.6]}
        )
        _sources(a1, e)
        _layers(a2, e)
        _co2e(a3, e)
        fig.suptitle(title, fontsize=11.5)
        fig.tight_layout()
        _footnote(fig, note, width=165)
    return _save(fig, path, title, note)


def _sources(ax, e: dict) -> None:
    """Share of the GPU-hours on each energy source (one stacked bar)."""
    bottom = 0.0
    for i, r in enumerate(e["by_source"]):
        share = r["share_of_gpu_hours"] or 0.0
        ax.bar(
            0,
            100 * share,
            bottom=100 * bottom,
            width=0.6,
            color=_c(SERIES[i % len(SERIES)]),
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor="white",
            label=f"{r['source'].replace('_', ' ')}: {pct(share)}",
        )
        bottom += share
    ax.set_xlim(-0.6, 0.6)
    ax.set_xticks([])
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of GPU-hours (%)")
    ax.set_title("energy source of each GPU-hour", fontsize=9.5)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.03), fontsize=7.5, frameon=True)


def _layers(ax, e: dict) -> None:
    """The layers stacked into facility energy, with its low - high range."""
    lay = e["layers"]
    bottom = 0.0
    for key, label, colour in _LAYERS:
        v = lay.get(key)
        if is_unknown(v) or not v:
            continue
        ax.bar(
            0,
            v,
            bottom=bottom,
            width=0.55,
            color=_c(colour),
            edgecolor="white",
            label=f"{label}: {number(v)} kWh",
        )
        bottom += v
    r = e["ranges"]["energy_kwh"]
    if not is_unknown(r["low"]) and not is_unknown(r["high"]):
        ax.errorbar(
            [0.5],
            [r["central"]],
            yerr=[[r["central"] - r["low"]], [r["high"] - r["central"]]],
            fmt="D",
            color=_c("vermillion"),
            mec=_c("black"),
            ecolor=_c("black"),
            capsize=6,
            label=f"facility energy {number(r['central'])} kWh ({number(r['low'])} - {number(r['high'])})",
        )
    ax.set_xlim(-0.5, 0.8)
    ax.set_xticks([])
    ax.set_ylim(0, max(bottom, r["high"] or 0) * 1.08)
    ax.set_ylabel("energy (kWh)")
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title("the footprint, layer by layer (PUE included)", fontsize=9.5)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.03), fontsize=7.5, frameon=True)


def _co2e(ax, e: dict) -> None:
    """CO2e by accounting: location-based (annual, time-matched), market-based, embodied."""
    c, r = e["carbon"], e["ranges"]
    bars = [
        ("electricity\n(central)", r["co2e_kg"], "green"),
        ("location,\nannual", _point(c["location_annual_co2e_kg"]), "sky"),
        ("location,\ntime-matched", _point(c["location_time_matched_co2e_kg"]), "blue"),
        ("market-\nbased", r["co2e_market_kg"], "purple"),
        ("embodied", r["embodied_co2e_kg"], "orange"),
    ]
    x = np.arange(len(bars))
    top = 0.0
    unknown: list[int] = []
    for i, (_label, v, colour) in enumerate(bars):
        if v is None or is_unknown(v.get("central")):
            unknown.append(i)
            continue
        ax.bar(
            i,
            v["central"],
            width=0.6,
            color=_c(colour),
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor="white",
        )
        lo, hi = v.get("low"), v.get("high")
        if not is_unknown(lo) and not is_unknown(hi) and (lo != v["central"] or hi != v["central"]):
            ax.errorbar(
                [i],
                [v["central"]],
                yerr=[[v["central"] - lo], [hi - v["central"]]],
                fmt="none",
                color=_c("black"),
                ecolor=_c("black"),
                capsize=5,
            )
            top = max(top, hi)
        top = max(top, v["central"])
        ax.text(
            i + 0.08, v["central"], f" {number(v['central'])}", ha="left", va="bottom", fontsize=7.5
        )
    ax.set_xticks(x, [b[0] for b in bars], fontsize=8)
    ax.set_ylim(0, top * 1.12 if top > 0 else 1)
    for i in unknown:
        ax.text(i, top * 0.03, "unknown", ha="center", va="bottom", fontsize=8, rotation=90)
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_ylabel("CO2e (kg)")
    ax.set_title(f"CO2e by accounting (central: {c['central_basis']})", fontsize=9.5)
    ax.grid(axis="x", visible=False)


def _point(v) -> dict | None:
    return None if is_unknown(v) else {"low": v, "central": v, "high": v}
