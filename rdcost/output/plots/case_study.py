"""The case-study plots: GPUs in use, cumulative cost, job lengths, grid searches, R&D, waste.

Each function takes a :class:`rdcost.analysis.project.ProjectAnalysis` and a path, writes PNG,
SVG or PDF by the suffix (headless, Agg) and returns the path. Conventions:

- units in every axis label; cost and CO2e plots carry the assumptions
  (prices, power, PUE, carbon intensity, electricity) in a footnote, which
  is also stored in the file's metadata (PNG text chunk, SVG ``<desc>``, PDF
  Subject) with the title;
- the Okabe-Ito palette (safe for colour-blind readers) plus hatching or line
  styles, so every series can also be told apart in grey print;
- SVG text stays text (``svg.fonttype = none``): searchable and small;
- a plot with nothing to show says so in the figure instead of failing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from rdcost.analysis.costing import KG_PER_LB  # noqa: E402
from rdcost.analysis.project import ProjectAnalysis  # noqa: E402
from rdcost.errors import UsageError  # noqa: E402
from rdcost.output.numbers import given, integer, number, pct, usd, usd_range  # noqa: E402
from rdcost.output.plots.time_series import accrued, job_intervals  # noqa: E402
from rdcost.output.wording import assumptions_brief  # noqa: E402
from rdcost.version import __version__  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.typing import RcKeyType

    from rdcost.analysis.summary import Summary

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
SERIES = ["blue", "orange", "green", "vermillion", "sky", "purple", "yellow"]
HATCHES = ["", "//", "..", "xx", "\\\\", "++", "oo"]
SUFFIXES = (".png", ".svg", ".pdf")
DPI = 150
STYLE: dict[RcKeyType, Any] = {  # matplotlib's stubs check the rc keys
    "font.size": 10,
    "axes.titlesize": 11.5,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "hatch.linewidth": 0.6,
    "svg.fonttype": "none",
    "text.parse_math": False,
}  # "$" in labels is a dollar, never mathtext
#: Final states as plotted (normalized states grouped), with their colours.
STATE_GROUPS = {
    "COMPLETED": ("COMPLETED",),
    "CANCELLED": ("CANCELLED", "PREEMPTED"),
    "FAILED": ("FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL"),
    "TIMEOUT": ("TIMEOUT", "DEADLINE"),
}
STATE_COLOURS = {
    "COMPLETED": "blue",
    "CANCELLED": "orange",
    "FAILED": "vermillion",
    "TIMEOUT": "purple",
    "other": "grey",
}
WASTE_LABELS = {
    "crashed": "crashed (shorter than the crash threshold)",
    "failed": "failed (FAILED, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL)",
    "cancelled": "cancelled",
    "timed_out": "timed out (TIMEOUT, DEADLINE)",
}


def _c(name: str) -> str:
    return OKABE_ITO[name]


def _check(path: Path | str) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"a plot file must end in {', '.join(SUFFIXES)}", value=str(path))
    return path


def _footnote(fig, text: str, width: int = 130, y: float = -0.01) -> None:
    """The assumptions under a figure, as plain text ($ is a dollar, not mathtext)."""
    fig.text(
        0.01,
        y,
        textwrap.fill(text, width),
        ha="left",
        va="top",
        fontsize=7.5,
        color="#333333",
        parse_math=False,
    )


def _save(fig, path: Path, title: str, note: str) -> Path:
    meta = {
        ".png": {"Title": title, "Description": note, "Software": f"rdcost {__version__}"},
        ".svg": {"Title": title, "Description": note, "Creator": f"rdcost {__version__}"},
        ".pdf": {"Title": title, "Subject": note, "Creator": f"rdcost {__version__}"},
    }[path.suffix.lower()]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with plt.rc_context(STYLE):
            fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata=meta)
    finally:
        plt.close(fig)
    if path.suffix.lower() == ".png":
        _palette_png(path, meta)
    return path


def _palette_png(path: Path, meta: dict[str, str]) -> None:
    """Re-save a PNG with a 256-colour palette: about 3x smaller (reports embed several), and
    the flat colours of the plot (the Okabe-Ito fills, text, grid) are kept exactly."""
    from PIL import Image, PngImagePlugin

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    q = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    info = PngImagePlugin.PngInfo()
    for k, v in meta.items():
        info.add_text(k, v)
    q.save(path, "PNG", optimize=True, pnginfo=info, dpi=(DPI, DPI))


def _nothing(path: Path, title: str, why: str) -> Path:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.set_axis_off()
        ax.set_title(title)
        ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=11, transform=ax.transAxes)
    return _save(fig, path, title, why)


def _usd_axis(axis) -> None:
    def label(v, _pos):
        if v >= 1e6:
            return f"${v / 1e6:,.3g}M"
        if v >= 1e3:
            return f"${v / 1e3:,.3g}k"
        return f"${v:,.3g}"

    axis.set_major_formatter(FuncFormatter(label))


def _tick(v: float, _pos: object = None) -> str:
    """An axis tick: whole numbers with thousands separators, the decimals a small value
    needs (0.25, 1.5), so that ticks below 10 never read 0, 0, 1, 1."""
    if v == 0 or abs(v) >= 10:
        return f"{v:,.0f}"
    return f"{v:.3g}"


_THOUSANDS = FuncFormatter(_tick)


def _date_axis(ax) -> None:
    loc = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def _naive_utc(t: pd.Series | pd.DatetimeIndex):
    """UTC times without tz (matplotlib's date axis then shows UTC)."""
    t = pd.DatetimeIndex(t)
    return t.tz_convert("UTC").tz_localize(None) if t.tz is not None else t


def _bin_width(span: pd.Timedelta) -> tuple[pd.Timedelta, str]:
    if span <= pd.Timedelta(days=7):
        return pd.Timedelta(hours=1), "hourly"
    if span <= pd.Timedelta(days=60):
        return pd.Timedelta(hours=6), "6-hourly"
    return pd.Timedelta(days=1), "daily"


# -- 1. GPUs in use over time -----------------------------------------------------------


def gpus_in_use(ctx: ProjectAnalysis, path: Path) -> Path:
    """GPUs in use over time, stacked by GPU type, with the mean over the project's span."""
    path = _check(path)
    title = f"GPUs in use over time, by GPU type: {ctx.who}"
    iv = job_intervals(ctx)
    iv = iv[iv["gpu_hours"] > 0]
    if iv.empty:
        return _nothing(path, title, "no started jobs with known GPU time")
    first, last = iv["start_time"].min(), iv["end_time"].max()
    width, word = _bin_width(last - first)
    edges = pd.date_range(first.floor(width), last.ceil(width) + width, freq=width)
    hours = width / pd.Timedelta(hours=1)
    totals = iv.groupby("gpu_type")["gpu_hours"].sum().sort_values(ascending=False)
    grand = float(totals.sum())
    ys, labels = [], []
    for t in totals.index:
        g = iv[iv["gpu_type"] == t]
        cum = accrued(g["start_time"], g["end_time"], g["gpu_hours"], edges)
        ys.append(np.diff(cum) / hours)
        labels.append(f"{t} ({pct(totals[t] / grand, 0)} of GPU-hours)")
    x = _naive_utc(edges)
    s = ctx.summary
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 4.6))
        base = np.zeros(len(edges) - 1)
        for i, (y, label) in enumerate(zip(ys, labels, strict=True)):
            colour = _c(SERIES[i % len(SERIES)])
            top = base + y
            ax.fill_between(
                x,
                np.append(base, base[-1]),
                np.append(top, top[-1]),
                step="post",
                facecolor=colour,
                edgecolor="white",
                linewidth=0.3,
                hatch=HATCHES[i % len(HATCHES)],
                label=label,
            )
            base = top
        if s.mean_concurrent_gpus is not None:
            ax.axhline(
                s.mean_concurrent_gpus,
                color=_c("black"),
                ls="--",
                lw=1.3,
                label=f"mean over the span: {number(s.mean_concurrent_gpus)} GPUs",
            )
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(bottom=0)
        _date_axis(ax)
        ax.set_xlabel("date (UTC)")
        ax.set_ylabel(f"GPUs in use ({word} mean, GPUs)")
        ax.set_title(title)
        ax.legend(loc="upper left", frameon=True)
        note = (
            f"{number(s.gpu_hours)} GPU-hours over {number(s.span_days)} days; a job holds its GPUs from "
            f"start to end. Peak (instantaneous): {number(s.peak_concurrent_gpus)} GPUs."
        )
        _footnote(fig, note)
    return _save(fig, path, title, note)


# -- 2. cumulative GPU-days, cost and CO2e ---------------------------------------------------


def cumulative(ctx: ProjectAnalysis, path: Path) -> Path:
    """Cumulative GPU-days, cloud cost (low to high), electricity and CO2e over the project's life."""
    path = _check(path)
    title = f"GPU time, cost and CO2e accumulated over the life of {ctx.who}"
    iv = job_intervals(ctx)
    if iv.empty or float(iv["gpu_hours"].sum()) <= 0:
        return _nothing(path, title, "no started jobs with known GPU time")
    at = pd.date_range(iv["start_time"].min(), iv["end_time"].max(), periods=500)
    x = _naive_utc(at)

    def curve(col: str) -> np.ndarray | None:
        if iv[col].isna().any():
            return None  # unknown for some job: the total is unknown, never a partial sum
        return accrued(iv["start_time"], iv["end_time"], iv[col], at)

    s = ctx.summary
    note = (
        assumptions_brief(s)
        + ". Energy includes PUE; each job's amounts accrue evenly from its start to its end."
    )
    with plt.rc_context(STYLE):
        fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(9, 8.5), sharex=True)
        gd = accrued(iv["start_time"], iv["end_time"], iv["gpu_hours"], at) / 24
        a1.plot(
            x,
            gd,
            color=_c("blue"),
            lw=2,
            label=f"GPU time: {number(gd[-1])} GPU-days ({number(s.gpu_hours)} GPU-hours) in all",
        )
        a1.set_ylabel("GPU time (GPU-days)")
        a1.legend(loc="upper left", frameon=True)
        lo, hi, el = curve("cloud_usd_low"), curve("cloud_usd_high"), curve("electricity_usd")
        _cumulative_cost(a2, x, lo, hi, el)
        _cumulative_co2e(a3, x, curve("co2e_kg"), s, curve("co2e_kg_low"), curve("co2e_kg_high"))
        for ax in (a1, a2, a3):
            ax.set_ylim(bottom=0)
        for ax in (a1, a3):
            ax.yaxis.set_major_formatter(_THOUSANDS)
        a3.set_xlim(x[0], x[-1])
        _date_axis(a3)
        a3.set_xlabel("date (UTC)")
        a1.set_title(title)
        fig.tight_layout()
        _footnote(fig, note)
    return _save(fig, path, title, note)


def _cumulative_cost(
    ax: Axes, x: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None, el: np.ndarray | None
) -> None:
    """The cost panel of :func:`cumulative`: cloud low to high, electricity; None = unknown."""
    if lo is not None and hi is not None:
        ax.fill_between(
            x,
            lo,
            hi,
            color=_c("sky"),
            alpha=0.35,
            hatch="//",
            edgecolor=_c("sky"),
            label="cloud price range",
        )
    if hi is not None:
        ax.plot(
            x, hi, color=_c("vermillion"), lw=2, label=f"cloud, high (on-demand): {usd(hi[-1])}"
        )
    if lo is not None:
        ax.plot(
            x,
            lo,
            color=_c("blue"),
            lw=2,
            ls="--",
            label=f"cloud, low (pre-emptible): {usd(lo[-1])}",
        )
    if el is not None:
        ax.plot(
            x,
            el,
            color=_c("black"),
            lw=1.5,
            ls=":",
            label=f"electricity (owned GPUs, PUE included): {usd(el[-1])}",
        )
    missing = [
        n for n, v in (("cloud low", lo), ("cloud high", hi), ("electricity", el)) if v is None
    ]
    if missing:
        ax.text(
            0.99,
            0.05,
            "unknown (no price or power for some GPU type): " + ", ".join(missing),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8.5,
        )
    _usd_axis(ax.yaxis)
    ax.set_ylabel("cost (USD)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", frameon=True)


def _kg_to_lbs(kg: Any) -> Any:
    return kg / KG_PER_LB


def _lbs_to_kg(lbs: Any) -> Any:
    return lbs * KG_PER_LB


def _cumulative_co2e(
    ax: Axes,
    x: np.ndarray,
    kg: np.ndarray | None,
    s: Summary,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> None:
    """The CO2e panel of :func:`cumulative`, kg with lbs on the right, the low - high range as a
    band; None = unknown."""
    if kg is not None and low is not None and high is not None:
        ax.fill_between(
            x,
            low,
            high,
            color=_c("green"),
            alpha=0.18,
            hatch="..",
            edgecolor=_c("green"),
            linewidth=0,
            label=f"range: {number(low[-1])} - {number(high[-1])} kg (low and high inputs, see Energy)",
        )
    if kg is not None:
        ax.plot(
            x,
            kg,
            color=_c("green"),
            lw=2,
            label=f"CO2e: {number(kg[-1])} kg ({number(s.co2e_lbs)} lbs) in all",
        )
        lbs = ax.secondary_yaxis("right", functions=(_kg_to_lbs, _lbs_to_kg))
        lbs.set_ylabel("CO2e (lbs)")
        lbs.yaxis.set_major_formatter(_THOUSANDS)
        ax.legend(loc="upper left", frameon=True)
    else:
        ax.text(
            0.5,
            0.5,
            "CO2e unknown (no power for some GPU type)",
            transform=ax.transAxes,
            ha="center",
            va="center",
        )
    ax.set_ylabel("CO2e (kg)")


# -- 3. job lengths ---------------------------------------------------------------------

_LENGTH_TICKS_H = [
    (1 / 3600, "1 s"),
    (10 / 3600, "10 s"),
    (1 / 60, "1 min"),
    (10 / 60, "10 min"),
    (1, "1 h"),
    (10, "10 h"),
    (24, "1 d"),
    (72, "3 d"),
    (240, "10 d"),
    (720, "30 d"),
    (2400, "100 d"),
]


def job_lengths(ctx: ProjectAnalysis, path: Path) -> Path:
    """Job lengths on a log scale, stacked by final state, with the crash threshold marked."""
    path = _check(path)
    title = f"Job lengths by final state: {ctx.who}"
    c = ctx.costs
    el = c.loc[c["is_counted"], "elapsed_s"].dropna()
    if el.empty:
        return _nothing(path, title, "no started jobs with a known length")
    state = ctx.jobs.loc[el.index, "state"].astype("string").fillna("UNKNOWN")
    group = pd.Series("other", index=el.index)
    for name, members in STATE_GROUPS.items():
        group = group.mask(state.isin(members).fillna(False).astype(bool), name)
    floor_h = 1 / 3600  # 1 second: a 0-second job cannot sit on a log axis
    hours = (el / 3600).clip(lower=floor_h)
    n_zero = int((el <= 0).sum())
    lo, hi = float(hours.min()), float(hours.max())
    bins = np.logspace(np.log10(lo) - 0.02, np.log10(hi) + 0.02, 45)
    s = ctx.summary
    thr_h = s.crash_threshold_minutes / 60
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 4.8))
        order = [g for g in (*STATE_GROUPS, "other") if (group == g).any()]
        data = [hours[group == g].to_numpy() for g in order]
        ax.hist(
            data,
            bins=bins.tolist(),
            stacked=True,
            color=[_c(STATE_COLOURS[g]) for g in order],
            hatch=None,
            edgecolor="white",
            linewidth=0.3,
            label=[f"{g} ({integer((group == g).sum())} jobs)" for g in order],
        )
        for patchset, h in zip(ax.containers, HATCHES, strict=False):
            for p in patchset:
                p.set_hatch(h)
        ax.set_xscale("log")
        ticks = [(t, lab) for t, lab in _LENGTH_TICKS_H if bins[0] <= t <= bins[-1]]
        ax.set_xticks([t for t, _ in ticks], [lab for _, lab in ticks])
        ax.xaxis.set_minor_locator(LogLocator(subs="auto"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axvline(thr_h, color=_c("black"), lw=1.6, ls="--")
        ax.text(
            thr_h,
            0.97,
            f" crash threshold: {given(s.crash_threshold_minutes)} min\n"
            f" {integer(s.n_crashed_jobs)} jobs shorter (crashed)",
            transform=ax.get_xaxis_transform(),
            va="top",
            ha="left",
            fontsize=8.5,
        )
        ax.set_xlabel("job length, log scale (s = seconds, min = minutes, h = hours, d = days)")
        ax.set_ylabel("jobs (per length bin)")
        ax.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_title(title)
        # beside the axes: never over the bars or the threshold's label
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="final state")
        left_out = [
            f"{integer(n)} {what}"
            for n, what in (
                (s.n_jobs_implausible, "implausible, left out"),
                (s.n_jobs_elapsed_unknown, "of unknown length"),
            )
            if n
        ]
        note = (
            f"{integer(len(el))} jobs of known length, of {integer(s.n_jobs_started)} started"
            + (f" ({'; '.join(left_out)})" if left_out else "")
            + f": shortest {number(s.min_job_minutes)} minutes, median "
            f"{number(s.median_job_hours)} hours, mean {number(s.mean_job_hours)} hours, longest "
            f"{number(s.max_job_days)} days. FAILED includes OUT_OF_MEMORY, NODE_FAIL and BOOT_FAIL; "
            "CANCELLED includes PREEMPTED; TIMEOUT includes DEADLINE."
        )
        if n_zero:
            note += f" {integer(n_zero)} jobs of 0 seconds are drawn at 1 second."
        _footnote(fig, note)
    return _save(fig, path, title, note)


# -- 4. grid searches ----------------------------------------------------------------------


def _search_label(row: pd.Series, width: int = 26) -> str:
    name = "" if pd.isna(row["name"]) else str(row["name"])
    name = name if len(name) <= width else name[: width - 1] + "…"
    user = "" if pd.isna(row["user"]) else str(row["user"])
    user = user if len(user) <= 16 else user[:15] + "…"
    first = row["first_submit_time"]
    day = "" if pd.isna(first) else pd.Timestamp(first).strftime("%Y-%m-%d")
    return f"{name} ({user}, {day}, {integer(row['n_jobs'])} jobs)"


def grid_searches(ctx: ProjectAnalysis, path: Path, top: int = 20) -> Path:
    """Grid searches by GPU-days, largest first: all of them ranked, and the largest named."""
    path = _check(path)
    title = f"Hyperparameter grid searches by GPU time, largest first: {ctx.who}"
    every = ctx.searches
    if every.empty:
        return _nothing(path, title, "no grid searches found in these jobs")
    counts = f"{integer(len(every))} searches, {integer(every['n_jobs'].sum())} jobs"
    t = every[pd.to_numeric(every["gpu_hours"], errors="coerce").notna()].copy()
    if t.empty:
        return _nothing(
            path,
            title,
            f"{counts}, none of known GPU time\n(their GPU counts or run times are unknown)",
        )
    t["gpu_days"] = pd.to_numeric(t["gpu_hours"]) / 24
    t = t.sort_values("gpu_days", ascending=False, kind="stable").reset_index(drop=True)
    shown = t.head(top)
    total = float(t["gpu_days"].sum())
    methods = list(dict.fromkeys(t["search_method"].astype(str)))
    style = {
        m: (_c(SERIES[i % len(SERIES)]), HATCHES[i % len(HATCHES)]) for i, m in enumerate(methods)
    }
    s = ctx.summary
    share = total * 24 / s.gpu_hours if s.gpu_hours else None
    with plt.rc_context(STYLE):
        fig, (a1, a2) = plt.subplots(
            2,
            1,
            figsize=(9, 2.8 + 0.27 * len(shown) + 1.2),
            gridspec_kw={"height_ratios": [2.8, 0.27 * len(shown) + 1.2]},
        )
        heading = (
            f"{title}\n{integer(len(t))} searches of known GPU time: {number(total)} GPU-days, {pct(share)} "
            "of the project's GPU time"
        )
        _searches_ranked(a1, t, style, heading)
        _searches_largest(a2, shown, style)
        fig.tight_layout()
        unknown = len(every) - len(t)
        note = (
            f"{counts}, {number(total)} GPU-days"
            + (
                f" ({integer(unknown)} searches of unknown GPU time are not drawn)"
                if unknown
                else ""
            )
            + ". A search is a job "
            "array, a W&B sweep, an MLflow parent run, a CSV group, or (heuristic) a burst of jobs with the "
            "same user and job-name stem."
        )
        _footnote(fig, note)
    return _save(fig, path, title, note)


def _searches_ranked(ax: Axes, t: pd.DataFrame, style: dict[str, tuple], heading: str) -> None:
    """The top panel of :func:`grid_searches`: every search's GPU-days by rank, coloured by
    how it was found, with the cumulative share on a second axis."""
    methods = list(dict.fromkeys(t["search_method"].astype(str)))
    rank = np.arange(1, len(t) + 1)
    for m in methods:
        sel = (t["search_method"].astype(str) == m).to_numpy()
        ax.bar(
            rank[sel],
            t.loc[sel, "gpu_days"],
            width=0.85,
            color=style[m][0],
            hatch=style[m][1],
            edgecolor="white",
            linewidth=0.2,
            label=f"found by: {m} ({integer(sel.sum())})",
        )
    ax.set_xlim(0.3, len(t) + 0.7)
    ax.set_xlabel("rank of the search by GPU time (1 = largest)")
    ax.set_ylabel("GPU-days per search")
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(heading, fontsize=11)
    cum = ax.twinx()
    cum.plot(
        rank,
        100 * t["gpu_days"].cumsum() / float(t["gpu_days"].sum()),
        color=_c("black"),
        lw=1.4,
        ls="--",
        label="cumulative share of search GPU time (%)",
    )
    cum.set_ylim(0, 105)
    cum.set_ylabel("cumulative share (%)")
    cum.grid(False)
    cum.spines["right"].set_visible(True)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = cum.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center right", frameon=True)


def _searches_largest(ax: Axes, shown: pd.DataFrame, style: dict[str, tuple]) -> None:
    """The bottom panel of :func:`grid_searches`: the largest searches, named."""
    y = np.arange(len(shown))
    bars = ax.barh(
        y,
        shown["gpu_days"],
        color=[style[str(m)][0] for m in shown["search_method"]],
        edgecolor="white",
        linewidth=0.3,
    )
    for b, m in zip(bars, shown["search_method"], strict=True):
        b.set_hatch(style[str(m)][1])
    for yi, v in zip(y.tolist(), shown["gpu_days"], strict=True):
        ax.text(v, yi, f" {number(v)}", va="center", fontsize=7.5)
    ax.set_yticks(y, [_search_label(r) for _, r in shown.iterrows()], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(0, float(shown["gpu_days"].max()) * 1.12)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_formatter(_THOUSANDS)
    ax.set_xlabel("GPU time of the search (GPU-days)")
    ax.set_title(
        f"the {len(shown)} largest searches (name stem or job name, user, first submission, jobs)",
        fontsize=9.5,
    )


# -- 5. one model / one tuning round / all R&D -------------------------------------------


def rd_cost(ctx: ProjectAnalysis, path: Path) -> Path:
    """One model, one tuning round and all of R&D: cloud cost ranges and electricity (log scale)."""
    path = _check(path)
    s = ctx.summary
    title = f"Cost of one model, one tuning round and all R&D: {ctx.who}"
    rows = s.to_dict()["rd_table"]
    note = (
        assumptions_brief(s)
        + f". One model: {number(s.one_model_gpu_hours)} GPU-hours; one tuning round: "
        f"{number(s.tuning_round_n_jobs)} such models (the rows of Strubell et al. 2019, Table 4)."
    )
    values = [
        v
        for r in rows
        for v in (r["cloud_usd_low"], r["cloud_usd_high"], r["electricity_usd"])
        if v is not None and v > 0
    ]
    if not values:
        return _nothing(
            path, title, "cost unknown: no price or power for these jobs, or no GPU time"
        )
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(2.3 * len(rows) + 1.5, 5.2))
        x = np.arange(len(rows))
        ymin, ymax = min(values) / 3, max(values) * 4
        for i, r in enumerate(rows):
            _rd_row(ax, i, r, ymin)
        ax.set_xticks(x, [_rd_tick(r) for r in rows], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(ymin, ymax)
        _usd_axis(ax.yaxis)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(axis="x", visible=False)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_ylabel("cost (USD, log scale)")
        ax.set_title(title)
        if ax.get_legend_handles_labels()[0]:  # nothing known to draw: the rows say unknown
            ax.legend(loc="upper left", frameon=True)
        fig.subplots_adjust(bottom=0.21)  # room for the four-line row labels above the note
        _footnote(fig, note, width=120)
    return _save(fig, path, title, note)


def _rd_row(ax: Axes, i: int, r: dict[str, Any], ymin: float) -> None:
    """Row ``i`` of :func:`rd_cost`: the cloud range as a bar, electricity as a diamond."""
    lo, hi, el = r["cloud_usd_low"], r["cloud_usd_high"], r["electricity_usd"]
    labelled = set(ax.get_legend_handles_labels()[1])
    cloud_label = "cloud compute, low (pre-emptible) to high (on-demand)"
    el_label = "electricity (PUE included)"
    known_cloud = lo is not None and hi is not None and hi > 0
    known_el = el is not None and el > 0
    if not known_cloud and not known_el:
        ax.text(i, ymin * 1.5, "cost unknown", ha="center", fontsize=8.5)
        return
    if known_cloud:
        ax.bar(
            i - 0.12,
            hi - lo,
            bottom=max(lo, ymin),
            width=0.36,
            color=_c("sky"),
            edgecolor=_c("blue"),
            hatch="//",
            linewidth=1.0,
            label=None if cloud_label in labelled else cloud_label,
        )
        ax.text(i - 0.12, hi * 1.15, usd_range(lo, hi), ha="center", va="bottom", fontsize=8.5)
    else:
        ax.text(i - 0.12, ymin * 1.5, "cloud:\nunknown", ha="center", fontsize=8.5)
    lo_e, hi_e = r.get("electricity_usd_low"), r.get("electricity_usd_high")
    if known_el:
        el_range = "electricity range (low - high inputs)"
        if lo_e is not None and hi_e is not None and hi_e > 0:
            ax.errorbar(
                [i + 0.22],
                [el],
                yerr=[[max(el - max(lo_e, ymin), 0.0)], [max(hi_e - el, 0.0)]],
                fmt="none",
                color=_c("black"),
                ecolor=_c("black"),
                elinewidth=1.2,
                capsize=5,
                label=None if el_range in labelled else el_range,
            )
        ax.plot(
            [i + 0.22],
            [el],
            "D",
            color=_c("vermillion"),
            mec=_c("black"),
            ms=8,
            label=None if el_label in labelled else el_label,
        )
        ax.text(
            i + 0.30,
            el,
            usd(el) + ("" if lo_e is None or hi_e is None else f"\n({usd(lo_e)} - {usd(hi_e)})"),
            va="center",
            fontsize=8.5,
        )
    else:
        ax.text(i + 0.22, ymin * 1.5, "electricity:\nunknown", ha="center", fontsize=8.5)


def _rd_tick(r: dict[str, Any]) -> str:
    """The x label of a row of :func:`rd_cost`: its name, jobs, GPU-hours and CO2e."""
    n = (
        "unknown jobs"
        if r["n_jobs"] is None
        else f"{given(r['n_jobs'], grouped=True)} " + ("job" if r["n_jobs"] == 1 else "jobs")
    )
    rng = (
        ""
        if r.get("co2e_kg_low") is None or r.get("co2e_kg_high") is None
        else f" ({number(r['co2e_kg_low'])} - {number(r['co2e_kg_high'])})"
    )
    return (
        f"{r['label']}\n{n}\n{number(r['gpu_hours'])} GPU-hours\n"
        f"{number(r['co2e_kg'])} kg CO2e{rng}"
    )


# -- 6. waste by cause ---------------------------------------------------------------------


def waste(ctx: ProjectAnalysis, path: Path) -> Path:
    """Waste by cause: GPU-hours, cost and CO2e of crashed, failed, cancelled and timed-out jobs."""
    path = _check(path)
    s = ctx.summary
    w = s.to_dict()["waste"]
    share = w["share_of_gpu_hours"]
    what = "GPU-hours of unknown share" if share is None else f"{pct(share)} of GPU-hours"
    title = f"Waste by cause: {what} in crashed, failed, cancelled or timed-out jobs: {ctx.who}"
    cats = w["categories"]
    note = (
        assumptions_brief(s)
        + f". Each job counts once, in the first matching cause (crashed = a job that ended in any "
        f"state but COMPLETED after less than {given(s.crash_threshold_minutes)} minutes, then failed, "
        "cancelled, timed out). Jobs of unknown GPU-hours (GPU count or run time unknown) add none; a cause whose every job "
        "has one shows 'unknown'."
    )
    if not any(r["n_jobs"] for r in cats):
        return _nothing(path, title, "no crashed, failed, cancelled or timed-out jobs")
    with plt.rc_context(STYLE):
        fig, (a1, a2) = plt.subplots(
            1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [2.6, 1]}, sharey=True
        )
        y = np.arange(len(cats))
        colours = [_c(c) for c in ("purple", "vermillion", "orange", "sky")]
        gh = [r["gpu_hours"] or 0.0 for r in cats]  # unknown (None) draws no bar; its text says so
        b1 = a1.barh(y, gh, color=colours, edgecolor="white")
        b2 = a2.barh(y, [r["n_jobs"] for r in cats], color=colours, edgecolor="white")
        for bars in (b1, b2):
            for b, h in zip(bars, HATCHES, strict=False):
                b.set_hatch(h)
        for yi, r in zip(y, cats, strict=True):
            a1.text(
                r["gpu_hours"] or 0.0,
                yi,
                f" {number(r['gpu_hours'])} GPU-hours\n {usd_range(r['cloud_usd_low'], r['cloud_usd_high'])}"
                f" in the cloud\n {number(r['co2e_kg'])} kg CO2e"
                + (
                    ""
                    if r.get("co2e_kg_low") is None or r.get("co2e_kg_high") is None
                    else f" ({number(r['co2e_kg_low'])} - {number(r['co2e_kg_high'])})"
                ),
                va="center",
                fontsize=7.5,
                linespacing=1.1,
            )
            a2.text(r["n_jobs"], yi, f" {integer(r['n_jobs'])}", va="center", fontsize=8)
        a1.set_yticks(
            y, [WASTE_LABELS[r["category"]].replace(" (", "\n(") for r in cats], fontsize=8.5
        )
        a1.invert_yaxis()
        if max(gh + [0.0]) > 0:
            a1.set_xlim(0, max(gh) * 1.6)
        else:  # nothing known to draw: no axis of invisible fractions, the rows say unknown
            a1.set_xlim(0, 1)
            a1.set_xticks([])
        a2.set_xlim(0, max([r["n_jobs"] for r in cats]) * 1.3)
        for ax in (a1, a2):
            ax.grid(axis="y", visible=False)
            ax.xaxis.set_major_formatter(_THOUSANDS)
        a1.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v)))
        a1.set_xlabel("GPU time (GPU-hours)")
        a2.set_xlabel("jobs")
        t = w["total"]
        fig.suptitle(title, fontsize=11.5)
        a1.set_title(
            f"total {number(t['gpu_hours'])} GPU-hours, {usd_range(t['cloud_usd_low'], t['cloud_usd_high'])} "
            f"in the cloud, {number(t['co2e_kg'])} kg CO2e"
            + (
                ""
                if t.get("co2e_kg_low") is None or t.get("co2e_kg_high") is None
                else f" ({number(t['co2e_kg_low'])} - {number(t['co2e_kg_high'])})"
            ),
            fontsize=9,
        )
        a2.set_title(f"total {integer(t['n_jobs'])} jobs", fontsize=9)
        fig.tight_layout()
        _footnote(fig, note, width=140)
    return _save(fig, path, title, note)
