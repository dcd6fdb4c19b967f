"""Plots of `rdcost compare-buy-vs-cloud`: cumulative cost over time, and cluster sizing.

Both take the command's :class:`rdcost.analysis.buy_vs_cloud.Report` as ``ctx`` and
write PNG, SVG or PDF by the file suffix. Colours are the Okabe-Ito palette
(safe for colour-blind readers), and lines also differ by style.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from rdcost.errors import UsageError  # noqa: E402
from rdcost.output import numbers  # noqa: E402
from rdcost.output.plots.case_study import STYLE, _c, _check, _footnote, _save  # noqa: E402
from rdcost.output.views.buy_vs_cloud import assumptions_brief  # noqa: E402
from rdcost.plural import plural  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette (rdcost.output.plots.case_study's).
BLUE, SKY, ORANGE, GREEN, VERMILLION, PURPLE, BLACK = (
    _c(n) for n in ("blue", "sky", "orange", "green", "vermillion", "purple", "black")
)


def _usd_axis(ax) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: numbers.usd_short(v)))


def _who(ctx) -> str:
    return f"project {ctx.project}" if ctx.project else "all stored jobs"


def cumulative(ctx, path: Path) -> Path:
    """Cumulative cost over time: cloud low and high against owned, break-even marked."""
    path = _check(path)
    c = ctx.comparison
    curve = ctx.curve
    title = f"Renting vs buying {plural(c.n_gpus, 'GPU')}: cumulative cost, {_who(ctx)}"
    note = assumptions_brief(ctx)
    months = curve["months"].to_numpy()
    ext = curve["is_extrapolated"].to_numpy()
    span_months = c.span_days / 30.4375
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 5))
    for col, label, colour, style in (
        ("cloud_usd_high", "cloud, on-demand (high)", VERMILLION, "-"),
        ("cloud_usd_low", "cloud, pre-emptible (low)", SKY, "--"),
        ("owned_usd", f"owned, {plural(c.n_gpus, 'GPU')} (purchase up front + running)", BLUE, "-"),
    ):
        y = curve[col].to_numpy()
        if np.isnan(y).all():
            continue
        ax.plot(months[~ext], y[~ext], style, color=colour, lw=2, label=label)
        if ext.any():
            k = max(int(np.argmax(ext)) - 1, 0)
            ax.plot(months[k:], y[k:], style, color=colour, lw=1.2, alpha=0.55)
    if ext.any():
        ax.axvline(span_months, color=BLACK, lw=0.8, ls=":")
        ax.plot(
            [],
            [],
            "-",
            color=BLACK,
            lw=1.2,
            alpha=0.4,
            label="paler: after the last job, at the project's mean rate",
        )
        ax.text(
            span_months,
            0.98,
            "last job ends ",
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            transform=blended_transform_factory(ax.transData, ax.transAxes),
        )
    for m, colour, what in (
        (c.breakeven_months, VERMILLION, "on-demand"),
        (c.breakeven_months_vs_low, SKY, "pre-emptible"),
    ):
        if m is None or m > months[-1]:
            continue
        y = float(np.interp(m, months, curve["owned_usd"].to_numpy()))
        ax.plot(
            [m],
            [y],
            "o",
            color=colour,
            mec=BLACK,
            ms=8,
            zorder=5,
            label=f"break-even vs {what}: {numbers.months(m)}",
        )
    ax.set_xlim(0, months[-1])
    ax.set_ylim(bottom=0)
    _usd_axis(ax)
    ax.set_xlabel("time since the first job started (months)")
    ax.set_ylabel("cumulative cost (USD)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    _footnote(fig, note, width=120, y=-0.13)  # under the legend
    return _save(fig, path, title, note)


def sizing(ctx, path: Path) -> Path:
    """GPUs owned against project duration and waits, with the owned cost."""
    path = _check(path)
    s = ctx.sizing
    if s is None or s.empty:
        raise UsageError("no sizing replay to plot", hint="run with --sizing")
    s = s.sort_values("n_gpus")
    n = s["n_gpus"].to_numpy(dtype=float)
    c = ctx.comparison
    logged_days = ctx.replay["logged_duration_days"] if ctx.replay else None
    with plt.rc_context(STYLE):
        fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    ax1.plot(n, s["duration_days"], "o-", color=BLUE, lw=2, label="replayed project")
    if logged_days is not None:
        ax1.axhline(
            logged_days,
            color=BLACK,
            ls=":",
            lw=1,
            label=f"as logged: {numbers.fixed(logged_days, 0)} days",
        )
    ax1.set_ylabel("project duration (days)")
    ax1.set_ylim(bottom=0)
    ax1.legend(fontsize=8)
    ax2.plot(n, s["mean_wait_hours"], "o-", color=ORANGE, lw=2, label="mean wait")
    ax2.plot(n, s["p95_wait_hours"], "s--", color=PURPLE, lw=2, label="95th-percentile wait")
    ax2.set_ylabel("wait before start (hours)")
    ax2.set_ylim(bottom=0)
    ax2.legend(fontsize=8)
    ax3.plot(n, s["owned_total_usd"], "o-", color=GREEN, lw=2, label="owned: purchase + running")
    ax3.plot(
        n,
        s["owned_amortized_total_usd"],
        "^--",
        color=BLUE,
        lw=1.5,
        label="owned: amortized + running",
    )
    if c.cloud_usd_high is not None:
        ax3.axhline(c.cloud_usd_high, color=VERMILLION, lw=1.5, label="cloud, on-demand (high)")
    if c.cloud_usd_low is not None:
        ax3.axhline(c.cloud_usd_low, color=SKY, ls="--", lw=1.5, label="cloud, pre-emptible (low)")
    ax3.set_ylabel("cost (USD)")
    ax3.set_ylim(bottom=0)
    _usd_axis(ax3)
    ax3.legend(fontsize=8)
    ax3.set_xlabel("GPUs owned")
    for ax in (ax1, ax2, ax3):
        ax.axvline(c.n_gpus, color=BLACK, lw=0.8, ls="-.", alpha=0.6)
        ax.grid(True, alpha=0.3)
    ax1.text(
        c.n_gpus,
        ax1.get_ylim()[1] * 0.95,
        f" {plural(c.n_gpus, 'GPU')} ({c.n_gpus_rule})",
        fontsize=8,
        va="top",
    )
    rp = ctx.replay or {}
    title = (
        f"Sizing an owned cluster by replaying the jobs, {_who(ctx)}\n"
        f"({rp.get('policy', 'replay')}, run-time estimate: {rp.get('estimate', 'unknown')})"
    )
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    note = assumptions_brief(ctx)
    _footnote(fig, note, width=110)
    return _save(fig, path, title, note)
