"""Plots of `rdcost tuning`: tuning-return curves and hyperparameter sensitivity bars.

Each function takes a :class:`rdcost.analysis.tuning.TuningResult` (or a
:class:`rdcost.analysis.project.ProjectAnalysis`, analyzed with the default
:class:`rdcost.analysis.tuning.TuningParams`, as `rdcost plot KIND` does) and a path,
and writes PNG, SVG or PDF by the suffix, with the conventions of
:mod:`rdcost.output.plots.case_study` (Okabe-Ito colours plus line styles, units on
every axis, the method in a footnote and in the file's metadata).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rdcost.analysis.tuning import MetricError, TuningResult, analyze_context  # noqa: E402
from rdcost.output.numbers import given, integer, number, pct, significant  # noqa: E402
from rdcost.output.plots.case_study import STYLE, _c, _check, _footnote, _nothing, _save  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Searches drawn one panel each in the tuning-return plot (the largest by GPU-hours).
N_PANELS = 6


def _result(src: Any) -> TuningResult | str:
    """The tuning result to draw, or why there is none: `rdcost plot` has no --metric, so
    when the metric cannot be picked without being named, the plot says so (and where to
    name it) instead of failing."""
    if isinstance(src, TuningResult):
        return src
    try:
        return analyze_context(src)
    except MetricError as exc:
        return f"{exc.message}.\nTo draw it for a chosen metric: rdcost tuning --metric NAME --plots-dir DIR"


def _who(t: Any) -> str:
    """'project X' or 'all stored jobs', of a tuning result or a project analysis."""
    return f"project {t.project}" if t.project else "all stored jobs"


def _curve(s: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = s["curve"]
    x = np.array(
        [np.nan if p["cumulative_gpu_hours"] is None else p["cumulative_gpu_hours"] for p in c],
        float,
    )
    y = np.array([np.nan if p["metric"] is None else p["metric"] for p in c], float)
    b = np.array([np.nan if p["best_so_far"] is None else p["best_so_far"] for p in c], float)
    return x, y, b


def tuning_return(src: Any, path: Path) -> Path:
    """Best metric so far against cumulative GPU-hours, runs in launch order, with the random-search counterfactual."""
    path = _check(path)
    t = _result(src)
    if isinstance(t, str):
        return _nothing(path, f"Tuning return: {_who(src)}", t)
    title = f"Tuning return: best {t.metric or 'metric'} so far against GPU-hours spent, {_who(t)}"
    ok = [
        s
        for s in t.searches
        if s["counterfactual"] is not None
        and s["gpu_hours"]
        and s["counterfactual"]["mean_gpu_hours"] is not None
    ]
    if t.metric is None or not ok:
        return _nothing(path, title, "no search has runs with a result and known GPU-hours")
    m, tot = t.method, t.totals
    shown = sorted(ok, key=lambda s: -s["gpu_hours"])[:N_PANELS]
    q = f"{given(m['quantile'])} quantile"
    with plt.rc_context(STYLE):
        rows = -(-len(shown) // 3)
        height = 4.2 + 3.15 * rows
        fig = plt.figure(figsize=(11, height))
        gs = fig.add_gridspec(
            1 + rows,
            3,
            height_ratios=[1.15] + [1] * rows,
            hspace=0.55,
            wspace=0.28,
            bottom=1.15 / height,
            top=1 - 0.85 / height,
        )
        ax = fig.add_subplot(gs[0, :])
        _all_searches(ax, ok, tot, t.metric)
        for i, s in enumerate(shown):
            a = fig.add_subplot(gs[1 + i // 3, i % 3])
            _one_search(a, s, m, q, t.metric)
            if i == 0:
                handles, labels = a.get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=3,
            frameon=False,
            fontsize=8,
            bbox_to_anchor=(0.5, 0.0),
        )
        which = "the largest search" if len(shown) == 1 else f"the {len(shown)} largest searches"
        fig.suptitle(
            title + f"\n({which} below; y axis cut at 6 tolerances below the target)",
            fontsize=11.5,
            y=1.0,
        )
        note = (
            f"Random search: {m['counterfactual']}. Tolerance {m['tolerance_text']}; {integer(m['n_resamples'])} "
            f"resamples per search, seed {m['resample_seed']}. Results from {m['results_from']}; runs without a "
            "result cost their GPU-hours but show no point."
        )
        _footnote(fig, note, width=150)
    return _save(fig, path, title, note)


def _all_searches(ax: Axes, ok: list[dict[str, Any]], tot: dict[str, Any], metric: str) -> None:
    """The top panel of :func:`tuning_return`: every search's gap to its final best against
    the share of its GPU-hours spent, their median, and the random search's mean share."""
    gaps = []
    for s in ok:
        x, _, b = _curve(s)
        share = 100 * x / s["gpu_hours"]
        gap = np.abs(s["best"]["metric"] - b)
        ax.step(
            np.r_[0, share],
            np.r_[np.nan, gap],
            where="post",
            color=_c("grey"),
            lw=0.6,
            alpha=0.5,
        )
        grid = np.linspace(0, 100, 201)
        k = np.searchsorted(share, grid, side="right") - 1
        gaps.append(np.where(k >= 0, gap[np.clip(k, 0, None)], np.nan))
    stack = np.vstack(gaps)
    some = (~np.isnan(stack)).any(axis=0)
    med = np.full(stack.shape[1], np.nan)
    med[some] = np.nanmedian(stack[:, some], axis=0)
    ax.plot(
        np.linspace(0, 100, 201),
        med,
        color=_c("blue"),
        lw=2.2,
        label="median over the searches with a result by then" if len(ok) > 1 else "the search",
    )
    if len(ok) > 1:
        ax.plot([], [], color=_c("grey"), lw=0.8, label=f"one search (of {len(ok)})")
    share = tot["counterfactual_mean_gpu_hours"] / tot["counterfactual_search_gpu_hours"]
    ax.axvline(
        100 * share,
        color=_c("vermillion"),
        ls="--",
        lw=1.4,
        label=f"random search, mean over all searches: {pct(share, 0)} of the GPU-hours",
    )
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("share of the search's GPU-hours spent, runs in launch order (%)")
    ax.set_ylabel(f"gap to the search's best ({metric})")
    ax.set_title(
        "All searches: how far the best so far was from the search's final best", fontsize=10.5
    )
    ax.legend(loc="upper right", frameon=True)


def _one_search(a: Axes, s: dict[str, Any], m: dict[str, Any], q: str, metric: str) -> None:
    """One search's panel of :func:`tuning_return`: its runs' results, the best so far, the
    target and where launch order and the random search reach it."""
    x, y, b = _curve(s)
    cf = s["counterfactual"]
    res = ~np.isnan(y)
    a.scatter(x[res], y[res], s=9, color=_c("sky"), alpha=0.8, label="a run's result", zorder=2)
    a.step(
        x[~np.isnan(b)],
        b[~np.isnan(b)],
        where="post",
        color=_c("blue"),
        lw=1.8,
        label="best so far",
        zorder=3,
    )
    a.axhline(
        cf["target"],
        color=_c("black"),
        ls=":",
        lw=1,
        label=f"target: within {m['tolerance_text']} of the best",
    )
    a.axvline(
        cf["launch_order_gpu_hours"],
        color=_c("green"),
        lw=1.2,
        label="target reached (launch order)",
    )
    a.axvline(
        cf["mean_gpu_hours"],
        color=_c("vermillion"),
        ls="--",
        lw=1.3,
        label="random search, mean",
    )
    a.axvline(
        cf["quantile_gpu_hours"],
        color=_c("orange"),
        ls="-.",
        lw=1.1,
        label=f"random search, {q}",
    )
    lo = np.nanmin(y[res]) if res.any() else cf["target"]
    a.set_ylim(
        max(lo, cf["target"] - 6 * abs(s["best"]["metric"] - cf["target"]) - 1e-9),
        s["best"]["metric"] + 0.25 * abs(s["best"]["metric"] - cf["target"]) + 1e-9,
    )
    a.set_xlim(0, s["gpu_hours"] * 1.02)
    a.set_title(
        f"{s['name'] or s['search_id']} ({s['search_method']}, {(s['first_submit_time'] or '')[:10]})"
        f"\n{s['n_runs']} runs, {number(s['gpu_hours'])} GPU-hours",
        fontsize=8.5,
    )
    a.set_xlabel("cumulative GPU-hours", fontsize=8.5)
    a.set_ylabel(metric, fontsize=8.5)
    a.tick_params(labelsize=7.5)


def sensitivity(src: Any, path: Path) -> Path:
    """Which hyperparameters moved the metric: share of variance explained (eta²) and spread, over searches."""
    path = _check(path)
    t = _result(src)
    if isinstance(t, str):
        return _nothing(path, f"Sensitivity to each hyperparameter: {_who(src)}", t)
    title = f"Sensitivity of {t.metric or 'the metric'} to each hyperparameter, within searches: {_who(t)}"
    h = [x for x in t.hyperparameters if x["eta_squared_median"] is not None]
    if t.metric is None or not h:
        return _nothing(path, title, "no search varied a hyperparameter over runs with a result")
    h = h[::-1]  # most important on top
    y = np.arange(len(h))
    labels = [
        f"{x['hyperparameter']}\n({x['n_searches']} search{'es' if x['n_searches'] != 1 else ''})"
        for x in h
    ]
    seeds = [s["seed_std"] for s in t.searches if s["seed_std"] is not None]
    with plt.rc_context(STYLE):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 1.6 + 0.62 * len(h)), sharey=True)
        med = np.array([100 * x["eta_squared_median"] for x in h])
        lo = med - np.array([100 * x["eta_squared_q1"] for x in h])
        hi = np.array([100 * x["eta_squared_q3"] for x in h]) - med
        a1.barh(
            y, med, color=_c("blue"), edgecolor="white", height=0.6, label="median over searches"
        )
        a1.errorbar(
            med,
            y,
            xerr=[lo, hi],
            fmt="none",
            color=_c("black"),
            ecolor=_c("black"),
            capsize=3,
            lw=1,
            label="interquartile range",
        )
        for yi, v in zip(y, med, strict=True):
            a1.text(v + 1, yi + 0.3, pct(v / 100, 0), va="center", fontsize=8)
        a1.set_xlim(0, 105)
        a1.set_yticks(y, labels, fontsize=8.5)
        a1.grid(axis="y", visible=False)
        a1.set_xlabel(f"share of {t.metric}'s variance explained (eta², %)")
        a1.set_title("share of variance (main effect)", fontsize=10)
        a1.legend(loc="lower right", frameon=True, fontsize=7.5)
        sp = np.array([x["spread_median"] for x in h])
        mx = np.array([x["spread_max"] for x in h])
        a2.barh(
            y,
            sp,
            color=_c("orange"),
            hatch="//",
            edgecolor="white",
            height=0.6,
            label="median over searches",
        )
        a2.scatter(
            mx, y, marker="|", s=120, color=_c("black"), label="largest in a search", zorder=3
        )
        if seeds:
            sd = float(np.median(seeds))
            a2.axvline(
                sd,
                color=_c("vermillion"),
                ls="--",
                lw=1.3,
                label=f"seed noise: median std across seeds ({significant(sd, 2)})",
            )
        a2.set_xlim(0, float(max(mx.max(), max(seeds) if seeds else 0)) * 1.1 + 1e-9)
        a2.grid(axis="y", visible=False)
        a2.set_xlabel(f"spread of the mean {t.metric} across values ({t.metric} units)")
        a2.set_title("spread: best value's mean - worst value's mean", fontsize=10)
        a2.legend(loc="lower right", frameon=True, fontsize=7.5)
        fig.suptitle(title, fontsize=11.5)
        fig.tight_layout()
        note = (
            f"Sensitivity: {t.method['sensitivity']}. Results from {t.method['results_from']}. Searches are compared only "
            "with themselves (tasks and data differ between them); a hyperparameter the search held fixed "
            "does not count for it."
        )
        _footnote(fig, note)
    return _save(fig, path, title, note)
