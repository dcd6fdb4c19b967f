"""The compute statement a paper should publish (Strubell et al. 2019, section 5).

:func:`statement` gathers it from a :class:`rdcost.context.Context`: the
hardware and training time of the final model, the GPU-hours of the whole
project and of its hyperparameter searches, the number of configurations
tried, energy and CO2e with their assumptions, the cloud cost of the same
GPU time, and, where runs carry hyperparameters and a validation metric, how
sensitive the result was to the hyperparameters searched
(:func:`sensitivity`). :func:`to_markdown` and :func:`to_latex` print it,
short and ready to paste; text from the logs is escaped for each.

Rules (documented in docs/plots-report-card.md):

- **Final model**: the job given (``final_job``: a job id, Slurm raw id or run
  id), else the final-size runs of the summary (COMPLETED jobs at or above the
  90th percentile of completed jobs' GPU-hours): their most common hardware,
  median wall-clock hours and median GPU-hours.
- **Tuning**: the jobs in grid searches (:func:`rdcost.grouping.find_groups`).
- **Configurations tried**: distinct hyperparameter settings among the runs
  that log them (W&B, MLflow); else unknown (the jobs in searches are shown).
- **Sensitivity**: within each search, over its COMPLETED runs that report
  the metric: the metric's standard deviation, and for each hyperparameter
  the search varied, the spread (max - min) of the metric's mean across that
  hyperparameter's values. Reported as the median (and max) over searches.
  Searches are compared only with themselves: tasks and data differ between
  them. This is a first, simple measure, not a tuning analysis.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .context import Context, assumptions_brief, fmt, usd_range
from .errors import UsageError
from .grouping import stored_search_ids
from .linking import link_runs
from .summary import FINAL_SIZE_QUANTILE

#: A metric name that says it was measured on held-out data.
METRIC_HINT = re.compile(r"(^|[/_.\-])(val|valid|validation|dev|eval|test)([/_.\-]|$)", re.IGNORECASE)
#: Keys of an untyped export (other_json) that are no hyperparameter: metrics, counters, ids.
NOT_HYPERPARAMETER = re.compile(
    r"(/|^_|loss|acc|f1|bleu|rouge|perplexity|ppl|score|epoch|step|runtime|time|duration|slurm|job_?id|"
    r"run_?id|host|node|gpu|cuda)", re.IGNORECASE)
MIN_RUNS = 2


@dataclass
class HyperparameterSpread:
    name: str
    n_searches: int             # searches that varied it
    spread_median: float        # median over those searches of max - min of the metric's mean per value
    spread_max: float


@dataclass
class Sensitivity:
    """How much the metric moved with the hyperparameters searched (see the module doc)."""

    is_available: bool
    reason: str
    metric: str | None = None
    is_role_guessed: bool = False
    n_runs: int = 0
    n_searches: int = 0
    metric_std_median: float | None = None
    metric_range_median: float | None = None
    hyperparameters: list[HyperparameterSpread] = field(default_factory=list)
    n_runs_with_config: int = 0
    n_configurations: int | None = None


@dataclass
class Statement:
    """The compute statement's figures (units in the names; None = unknown)."""

    project: str | None
    rdcost_version: str
    assumptions_name: str
    assumptions_text: str
    final_model_rule: str
    final_model_hardware: str | None
    final_model_hours: float | None
    final_model_gpu_hours: float | None
    one_model_gpu_hours: float | None
    one_model_source: str | None
    n_jobs: int
    gpu_hours: float
    gpu_days: float
    span_days: float | None
    first_start_time: str | None
    last_end_time: str | None
    gpu_type_share: dict[str, float]
    n_grid_searches: int
    n_jobs_in_grid_searches: int
    grid_search_gpu_hours: float | None
    energy_kwh: float | None
    co2e_kg: float | None
    co2e_lbs: float | None
    cloud_usd_low: float | None
    cloud_usd_high: float | None
    sensitivity: Sensitivity
    inputs: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- sensitivity -------------------------------------------------------------------

def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON object flattened to scalar leaves (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``;
    W&B's ``{"value": x}`` wrappers unwrapped)."""
    out: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if set(v) == {"value"} and not isinstance(v["value"], dict | list):
                out[key] = v["value"]
            else:
                out.update(_flat(v, key + "."))
        elif isinstance(v, str | int | float | bool) or v is None:
            out[key] = v
    return out


def _parse(col: pd.Series) -> list[dict[str, Any]]:
    return [_flat(json.loads(v)) if isinstance(v, str) and v else {} for v in col]


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _run_table(ctx: Context) -> tuple[pd.DataFrame, bool]:
    """Runs that log values: search id, state, config dict, metric dict; and whether roles were guessed."""
    r = ctx.runs
    has = r["config_json"].notna() | r["metrics_json"].notna() | r["other_json"].notna()
    container = r["is_container"].astype("boolean").fillna(False).astype(bool)
    r = r[has & ~container]
    if r.empty:
        return pd.DataFrame(columns=["search_id", "state", "config", "metrics"]), False
    config, metrics, other = _parse(r["config_json"]), _parse(r["metrics_json"]), _parse(r["other_json"])
    guessed = not any(config) or not any(metrics)
    t = pd.DataFrame({"state": r["state"].astype("string").to_numpy()}, index=r.index)
    t["config"] = [c if c else (o if guessed else {}) for c, o in zip(config, other, strict=True)]
    t["metrics"] = [m if m else (o if guessed else {}) for m, o in zip(metrics, other, strict=True)]
    # the run's own search (sweep, parent run), else the search of the Slurm job it ran in
    sid = stored_search_ids(r).astype("string")
    pairs = link_runs(ctx.runs)
    if not pairs.empty:
        via = pd.Series(ctx.groups["search_id"].reindex(pairs["slurm"]).to_numpy(), index=pairs["run"].to_numpy())
        via = via[~via.index.duplicated()].reindex(r.index)
        sid = sid.fillna(via.astype("string"))
    t["search_id"] = sid
    return t, guessed


def _pick_metric(t: pd.DataFrame, metric: str | None) -> str | None:
    counts: dict[str, int] = {}
    for m in t["metrics"]:
        for k, v in m.items():
            if _number(v) is not None:
                counts[k] = counts.get(k, 0) + 1
    if metric is not None:
        if metric not in counts:
            known = ", ".join(sorted(counts)) or "none"
            raise UsageError(f"no run reports the metric {metric!r}",
                             hint=f"numeric values the runs report: {known}")
        return metric
    cands = {k: n for k, n in counts.items() if METRIC_HINT.search(k)}  # never a training metric by default
    if not cands:
        return None
    return sorted(cands, key=lambda k: (-cands[k], k))[0]


def _hyperparameters(t: pd.DataFrame, metric: str, guessed: bool) -> list[str]:
    keys: dict[str, int] = {}
    for c in t["config"]:
        for k in c:
            keys[k] = keys.get(k, 0) + 1
    out = [k for k in keys if k != metric]
    if guessed:
        out = [k for k in out if not NOT_HYPERPARAMETER.search(k) and not METRIC_HINT.search(k)]
    return sorted(out)


def sensitivity(ctx: Context, metric: str | None = None) -> Sensitivity:
    """How sensitive the metric was to the hyperparameters searched (see the module doc)."""
    t, guessed = _run_table(ctx)
    if t.empty:
        return Sensitivity(False, "not available: no run logs hyperparameters or metrics "
                                  "(ingest the W&B or MLflow runs of the project)")
    m = _pick_metric(t, metric)
    if m is None:
        return Sensitivity(False, "not available: no run reports a validation metric (a name with val, valid, "
                                  "dev, eval or test); name one with --metric", is_role_guessed=guessed)
    hps = _hyperparameters(t, m, guessed)
    configs = [json.dumps({k: c.get(k) for k in hps}, sort_keys=True, default=str) for c in t["config"]]
    n_cfg_runs = sum(1 for c in t["config"] if any(k in c for k in hps))
    n_configs = len({c for c, row in zip(configs, t["config"], strict=True) if any(k in row for k in hps)}) or None
    base = dict(metric=m, is_role_guessed=guessed, n_runs_with_config=n_cfg_runs, n_configurations=n_configs)
    t = t.assign(value=[_number(x.get(m)) for x in t["metrics"]])
    done = t[t["state"].eq("COMPLETED").fillna(False).astype(bool) & t["value"].notna() & t["search_id"].notna()]
    stds, ranges, spreads = [], [], {}
    n_runs = n_searches = 0
    for _, g in done.groupby("search_id", sort=True):
        if len(g) < MIN_RUNS:
            continue
        n_runs += len(g)
        n_searches += 1
        v = g["value"].astype("float64")
        stds.append(float(v.std(ddof=1)))
        ranges.append(float(v.max() - v.min()))
        for hp in hps:
            key = [json.dumps(c.get(hp), default=str) for c in g["config"]]
            means = v.groupby(pd.Series(key, index=g.index)).mean()
            if len(means) >= 2:
                spreads.setdefault(hp, []).append(float(means.max() - means.min()))
    if n_searches == 0:
        return Sensitivity(False, f"not available: no search has {MIN_RUNS} or more COMPLETED runs reporting "
                                  f"{m}", **base)
    rows = [HyperparameterSpread(hp, len(s), float(np.median(s)), float(max(s))) for hp, s in spreads.items()]
    rows.sort(key=lambda h: (-h.spread_median, h.name))
    how = (f"{m} over {n_runs:,} COMPLETED runs in {n_searches:,} searches; within each search, the metric's "
           "standard deviation and, per hyperparameter it varied, the spread (max - min) of the metric's mean "
           "across its values; medians over searches")
    if guessed:
        how += ("; which logged values are hyperparameters and which are metrics was guessed from their names "
                "(the export does not say)")
    return Sensitivity(True, how, n_runs=n_runs, n_searches=n_searches,
                       metric_std_median=float(np.median(stds)), metric_range_median=float(np.median(ranges)),
                       hyperparameters=rows, **base)


# -- the statement ---------------------------------------------------------------------

def _hardware(n_gpus: Any, gpu_type: Any) -> str:
    n = "unknown number of" if pd.isna(n_gpus) else (f"{int(n_gpus)}" if float(n_gpus).is_integer() else f"{n_gpus:g}")
    t = "GPU of unknown type" if pd.isna(gpu_type) else str(gpu_type)
    return f"{n} × {t}"


def _final_model(ctx: Context, final_job: str | None) -> tuple[str, str | None, float | None, float | None]:
    cj, c = ctx.jobs, ctx.costs
    if final_job is not None:
        hit = pd.Series(False, index=cj.index)
        for col in ("job_id", "job_id_raw", "run_id"):
            hit |= cj[col].astype("string").eq(final_job).fillna(False).astype(bool)
        if not hit.any():
            raise UsageError(f"no job or run with id {final_job!r} in these jobs", value=final_job)
        if hit.sum() > 1:
            raise UsageError(f"{int(hit.sum())} jobs have the id {final_job!r}; give the display job id "
                             "(e.g. 123_4) or a run id", value=final_job)
        i = hit[hit].index[0]
        el = c.at[i, "elapsed_s"]
        gh = c.at[i, "gpu_hours"]
        return (f"job {final_job}", _hardware(cj.at[i, "n_gpus"], cj.at[i, "gpu_type"]),
                None if pd.isna(el) else float(el) / 3600, None if pd.isna(gh) else float(gh))
    done = cj["state"].astype("string").eq("COMPLETED").fillna(False).astype(bool) & (c["gpu_hours"] > 0)
    gh = c.loc[done, "gpu_hours"].dropna()
    if gh.empty:
        return "no completed job with GPU time", None, None, None
    final = gh[gh >= gh.quantile(FINAL_SIZE_QUANTILE)].index
    hw = pd.Series([_hardware(n, t) for n, t in zip(cj.loc[final, "n_gpus"], cj.loc[final, "gpu_type"],
                                                       strict=True)]).value_counts()
    top = hw.index[0]
    rule = (f"medians of the {len(final):,} final-size runs, the COMPLETED jobs at or above the "
            f"{_ordinal(FINAL_SIZE_QUANTILE)} percentile of completed jobs' GPU-hours")
    if len(hw) > 1:
        rule += f" ({hw.iloc[0] / hw.sum():.0%} of them on this hardware)"
    hardware = top
    return (rule, hardware, float(c.loc[final, "elapsed_s"].median()) / 3600, float(gh.loc[final].median()))


def _ordinal(q: float) -> str:
    n = int(round(100 * q))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def statement(ctx: Context, *, metric: str | None = None, final_job: str | None = None) -> Statement:
    """The compute statement of the context's jobs (see the module doc for every rule)."""
    s = ctx.summary
    rule, hw, hours, fgh = _final_model(ctx, final_job)
    in_search = ctx.groups["search_id"].notna()
    sgh = ctx.costs.loc[in_search, "gpu_hours"]
    om = s.assumptions.get("one_model_gpu_hours")
    return Statement(
        project=ctx.project, rdcost_version=__version__, assumptions_name=s.assumptions["name"],
        assumptions_text=assumptions_brief(s), final_model_rule=rule, final_model_hardware=hw,
        final_model_hours=hours, final_model_gpu_hours=fgh,
        one_model_gpu_hours=s.one_model_gpu_hours,
        one_model_source=None if om is None else f"{om['origin']}: {om['source']}",
        n_jobs=s.n_jobs, gpu_hours=s.gpu_hours, gpu_days=s.gpu_days, span_days=s.span_days,
        first_start_time=s.first_start_time, last_end_time=s.last_end_time,
        gpu_type_share=dict(s.gpu_type_share), n_grid_searches=s.n_grid_searches,
        n_jobs_in_grid_searches=s.n_jobs_in_grid_searches,
        grid_search_gpu_hours=None if sgh.isna().any() else float(sgh.sum()),
        energy_kwh=s.energy_kwh, co2e_kg=s.co2e_kg, co2e_lbs=s.co2e_lbs,
        cloud_usd_low=s.cloud_usd_low, cloud_usd_high=s.cloud_usd_high,
        sensitivity=sensitivity(ctx, metric),
        inputs=[{"path": r.path, "sha256": r.sha256, "format": r.format} for r in ctx.inputs])


# -- printing ----------------------------------------------------------------------------

def _day(ts: str | None) -> str:
    return "unknown" if ts is None else ts[:10]


def rows(st: Statement) -> list[tuple[str, str]]:
    """The statement as (item, text) pairs of plain text (the printers escape them)."""
    share = ", ".join(f"{t} {v:.0%}" for t, v in st.gpu_type_share.items() if v is not None)
    final = (f"{st.final_model_hardware or 'unknown hardware'}, {fmt(st.final_model_hours)} hours wall-clock, "
             f"{fmt(st.final_model_gpu_hours)} GPU-hours: {st.final_model_rule}")
    if st.one_model_source and st.one_model_gpu_hours is not None:
        final += f"; costed as {fmt(st.one_model_gpu_hours)} GPU-hours per model ({st.one_model_source})"
    whole = (f"{fmt(st.gpu_hours)} GPU-hours ({fmt(st.gpu_days)} GPU-days) in {st.n_jobs:,} jobs over "
             f"{fmt(st.span_days)} days, {_day(st.first_start_time)} to {_day(st.last_end_time)}"
             + (f"; {share} of GPU-hours" if share else ""))
    sshare = (st.grid_search_gpu_hours / st.gpu_hours) if st.grid_search_gpu_hours is not None and st.gpu_hours else None
    tuning = (f"{st.n_grid_searches:,} grid searches: {st.n_jobs_in_grid_searches:,} jobs, "
              f"{fmt(st.grid_search_gpu_hours)} GPU-hours ({fmt(sshare, 'pct')} of the project)")
    se = st.sensitivity
    if se.n_configurations is not None:
        configs = (f"{se.n_configurations:,} distinct hyperparameter configurations among {se.n_runs_with_config:,} "
                   "logged runs")
    else:
        configs = (f"unknown (no run logs its hyperparameters); {st.n_jobs_in_grid_searches:,} jobs ran in grid "
                   "searches")
    energy = f"{fmt(st.energy_kwh)} kWh (PUE included), {fmt(st.co2e_kg)} kg CO2e ({fmt(st.co2e_lbs)} lbs)"
    cloud = usd_range(st.cloud_usd_low, st.cloud_usd_high) + " (low: pre-emptible, high: on-demand)"
    if se.is_available:
        top = ", ".join(f"{h.name} {fmt(h.spread_median)}" for h in se.hyperparameters[:6])
        sens = (f"{se.metric} ({se.n_runs:,} completed runs, {se.n_searches:,} searches): within a search, "
                f"standard deviation {fmt(se.metric_std_median)}, range {fmt(se.metric_range_median)}; "
                + (f"spread of the mean {se.metric} across the values of {top}" if top
                   else "no hyperparameter was varied within a search") + " (medians over searches)")
    else:
        sens = se.reason
    return [("Final model", final), ("Whole project", whole), ("Hyperparameter tuning", tuning),
            ("Configurations tried", configs), ("Energy and CO2e", energy),
            ("Cloud cost of the same GPU-hours", cloud), ("Sensitivity to hyperparameters", sens)]


def notes(st: Statement) -> list[str]:
    """The lines under the table: assumptions, the sensitivity method, provenance."""
    files = ", ".join(f"{r['path'].rsplit('/', 1)[-1]} (sha256 {r['sha256'][:12]})" for r in st.inputs)
    out = [f"Assumptions: {st.assumptions_text}."]
    if st.sensitivity.is_available:
        out.append(f"Sensitivity: {st.sensitivity.reason}.")
    out.append(f"Computed with rdcost {st.rdcost_version}" + (f" from {files}" if files else "") + ".")
    return out


def md_cell(text: Any) -> str:
    """Text safe in a Markdown table cell, still readable: HTML specials and the inline
    Markdown characters (backslash, backtick, * _ [ ] | ~) escaped, line breaks removed."""
    s = html.escape("" if text is None else str(text), quote=False)
    return re.sub(r"([\\`*_\[\]|~])", r"\\\1", s).replace("\n", " ").replace("\r", " ")


def to_markdown(st: Statement) -> str:
    title = f"Compute statement: project {st.project}" if st.project else "Compute statement"
    lines = [f"**{md_cell(title)}**", "", "| item | value |", "| --- | --- |"]
    lines += [f"| {md_cell(k)} | {md_cell(v)} |" for k, v in rows(st)]
    for n in notes(st):
        lines += ["", md_cell(n)]
    return "\n".join(lines) + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
          "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def latex_escape(text: Any) -> str:
    """Text safe in LaTeX body text: the ten specials (and < > |) replaced by their commands."""
    return "".join(_LATEX.get(ch, ch) for ch in ("" if text is None else str(text)))


def _tex(text: str) -> str:
    t = latex_escape(text)
    return t.replace("CO2e", "CO$_2$e").replace(" × ", r" $\times$ ").replace(" - ", " -- ")


def to_latex(st: Statement) -> str:
    """A ``table`` float with a two-column ``tabular`` (no package needed)."""
    title = f"Compute statement for project {st.project}" if st.project else "Compute statement"
    out = [f"% {latex_escape(title)}: generated by rdcost {latex_escape(st.rdcost_version)}",
           r"\begin{table}[t]", r"\centering\small",
           r"\begin{tabular}{@{}p{0.25\linewidth}p{0.70\linewidth}@{}}", r"\hline"]
    out += [f"{_tex(k)} & {_tex(v)} \\\\" for k, v in rows(st)]
    out += [r"\hline", r"\end{tabular}", "\\caption{" + _tex(title) + ". " + " ".join(_tex(n) for n in notes(st)) + "}",
            r"\label{tab:compute-statement}", r"\end{table}"]
    return "\n".join(out) + "\n"
