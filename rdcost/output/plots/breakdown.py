"""The breakdown plot: GPU time per group (``--by``), its waste, cloud cost and CO2e."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from rdcost.analysis.project import ProjectAnalysis
from rdcost.output.numbers import number, pct, usd_range
from rdcost.output.plots.case_study import (
    _THOUSANDS,
    STYLE,
    _c,
    _check,
    _footnote,
    _nothing,
    _save,
)
from rdcost.output.wording import assumptions_brief
from rdcost.plural import plural

#: Groups drawn; the rest are one bar.
TOP = 20


def _label(r: dict[str, Any], keys: tuple[str, ...]) -> str:
    text = " / ".join("(none logged)" if r.get(k) is None else str(r[k]) for k in keys)
    return text if len(text) <= 32 else text[:31] + "…"


def breakdown(ctx: ProjectAnalysis, path: Path) -> Path:
    """Breakdown: GPU-hours per group (--by), the waste part hatched, with cloud cost and CO2e."""
    path = _check(path)
    b = ctx.breakdown()
    keys = () if b is None else b.keys
    title = f"GPU time by {', '.join(k.replace('_', ' ') for k in keys) or 'group'}: {ctx.who}"
    if b is None:
        return _nothing(path, title, "no breakdown asked for (give --by KEY)")
    if not b.rows or not any(r["gpu_hours"] for r in b.rows):
        return _nothing(path, title, "no group has known GPU-hours")
    rows = b.rows[:TOP]
    rest = b.rows[TOP:]
    labels = [_label(r, keys) for r in rows]
    gh = [r["gpu_hours"] or 0.0 for r in rows]  # unknown draws no bar; its text says so
    waste = [r["waste_gpu_hours"] or 0.0 for r in rows]
    texts = [
        f" {number(r['gpu_hours'])} GPU-hours ({pct(r['share_of_gpu_hours'])}), "
        f"{usd_range(r['cloud_usd_low'], r['cloud_usd_high'])}, {number(r['co2e_kg'])} kg CO2e"
        if r["gpu_hours"] is not None
        else " GPU-hours unknown (no GPU count or run time logged)"
        for r in rows
    ]
    if rest:
        rgh = sum(r["gpu_hours"] or 0.0 for r in rest)
        labels.append(f"{len(rest)} other groups")
        gh.append(rgh)
        waste.append(sum(r["waste_gpu_hours"] or 0.0 for r in rest))
        texts.append(f" {number(rgh)} GPU-hours")
    t = b.total
    note = (
        assumptions_brief(ctx.summary)
        + ". Each job counts in one group; the groups add up to the project's total. Waste: "
        "crashed, failed, cancelled and timed-out jobs (hatched). Jobs of unknown GPU count add "
        "no GPU-hours."
    )
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(10, 1.6 + 0.36 * len(labels)))
        y = np.arange(len(labels))
        useful = np.asarray(gh) - np.asarray(waste)
        ax.barh(y, useful, color=_c("blue"), edgecolor="white", label="GPU-hours (not waste)")
        ax.barh(
            y,
            waste,
            left=useful,
            color=_c("vermillion"),
            edgecolor="white",
            hatch="//",
            label="waste (crashed, failed, cancelled, timed out)",
        )
        for yi, g, text in zip(y, gh, texts, strict=True):
            ax.text(g, float(yi), text, va="center", fontsize=7.5)
        ax.set_yticks(y, labels, fontsize=8.5)
        ax.invert_yaxis()
        ax.set_xlim(0, max(gh + [1e-9]) * 1.9)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(_THOUSANDS)
        ax.set_xlabel("GPU time (GPU-hours)")
        ax.legend(loc="lower right", fontsize=8)
        fig.suptitle(title, fontsize=11.5)
        ax.set_title(
            f"total {number(t['gpu_hours'])} GPU-hours in {plural(len(b.rows), 'group')}, "
            f"{usd_range(t['cloud_usd_low'], t['cloud_usd_high'])} in the cloud, "
            f"{number(t['co2e_kg'])} kg CO2e",
            fontsize=9,
        )
        fig.tight_layout()
        _footnote(fig, note, width=140)
    return _save(fig, path, title, note)
