"""The compute statement a paper should publish (Strubell et al. 2019, section 5).

:func:`statement` gathers it from a :class:`rdcost.analysis.project.ProjectAnalysis`: the
hardware and training time of the final model, the GPU-hours of the whole
project and of its hyperparameter searches, the number of configurations
tried, energy and CO2e with their assumptions, the cloud cost of the same
GPU time, and, where runs carry hyperparameters and a metric, what the
tuning analysis (:mod:`rdcost.analysis.tuning`, as `rdcost tuning` prints it) says
for the paper: which hyperparameters mattered, the seed noise, what random
search over the same runs would have spent, and the redundant runs
(:func:`tuning_statement`). :func:`to_markdown` and :func:`to_latex` print
it, short and ready to paste (laid out by :mod:`rdcost.output.views.statement`,
written by :mod:`rdcost.output.renderers.markdown` and :mod:`rdcost.output.renderers.latex`);
text from the logs is escaped for each.

Rules (documented in docs/plots-report-card.md):

- **Final model**: the job given (``final_job``: a job id, Slurm raw id or run
  id), else the final-size runs of the summary (COMPLETED jobs at or above the
  90th percentile of completed jobs' GPU-hours): their most common hardware,
  median wall-clock hours and median GPU-hours.
- **Tuning**: the jobs in grid searches (:func:`rdcost.analysis.grouping.find_groups`).
- **Configurations tried**: distinct settings of the hyperparameters (seeds
  excluded) among the runs that log them, as :mod:`rdcost.analysis.tuning` counts
  them; else unknown (the jobs in searches are shown).
- **Tuning analysis**: :func:`rdcost.analysis.tuning.analyze_context` with the
  :class:`rdcost.analysis.tuning.TuningParams` given (default: its defaults); "not
  available" and why when no run reports a metric, no such run is in a grid
  search, no search has a result, or the metric cannot be picked without
  being named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rdcost.analysis.project import ProjectAnalysis
from rdcost.analysis.summary import FINAL_SIZE_QUANTILE
from rdcost.analysis.tuning import MetricError, TuningParams, TuningResult, analyze_context
from rdcost.errors import UsageError
from rdcost.output.numbers import given, integer, pct
from rdcost.output.render import md_cell
from rdcost.output.renderers import latex, markdown
from rdcost.output.views import energy as energy_view
from rdcost.output.views import statement as statement_view
from rdcost.output.views.statement import notes, rows  # noqa: F401  (the statement's printed form)
from rdcost.output.wording import assumptions_brief
from rdcost.version import __version__

#: The items of a tuning statement (:meth:`rdcost.analysis.tuning.TuningResult.statement_items`) the card
#: prints, with their labels; the searches sentence is left out (the tuning row says it).
TUNING_ITEMS = {
    "sensitivity": "Hyperparameters that mattered",
    "seeds": "Seed noise",
    "counterfactual": "Random search over the same runs",
    "repeats": "Repeated runs",
}


@dataclass
class TuningStatement:
    """What the tuning analysis says for the paper, or why it cannot (``reason``)."""

    is_available: bool
    reason: str | None = None
    metric: str | None = None
    goal: str | None = None
    metric_rule: str | None = None
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, sentence)
    method: str | None = None
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
    gpu_hours: float | None
    gpu_days: float | None
    span_days: float | None
    first_start_time: str | None
    last_end_time: str | None
    gpu_type_share: dict[str, float | None]
    n_grid_searches: int
    n_jobs_in_grid_searches: int
    grid_search_gpu_hours: float | None
    energy_kwh: float | None
    co2e_kg: float | None
    co2e_lbs: float | None
    cloud_usd_low: float | None
    cloud_usd_high: float | None
    tuning: TuningStatement
    inputs: list[dict[str, str]]
    gpu_key_rules: list[dict[str, Any]] = field(default_factory=list)
    price_bases: list[dict[str, Any]] = field(default_factory=list)
    power_bases: list[dict[str, Any]] = field(default_factory=list)
    data_quality: list[dict[str, Any]] = field(default_factory=list)
    #: GPU-hours of the project split four ways (NeurIPS checklist): in grid searches; crashed,
    #: failed, cancelled or timed out outside them; final-size runs outside them; the rest
    #: (preliminary and other runs). Over the known GPU-hours, as every total: they add up to
    #: the project's GPU-hours (jobs of unknown GPU count are counted in none).
    compute_split: dict[str, float | None] = field(default_factory=dict)
    final_model_co2e_kg: float | None = None
    final_model_co2e_rule: str | None = None
    carbon_region: str | None = None
    energy: dict[str, Any] = field(default_factory=dict)  # the summary's energy section
    #: The same project under other assumptions, side by side: column names and rows.
    comparison: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- tuning ------------------------------------------------------------------------------


def tuning_analysis(
    ctx: ProjectAnalysis, params: TuningParams | None = None
) -> tuple[TuningResult | None, str | None]:
    """The tuning analysis of the context and, when it says nothing for the paper, why.

    A metric that cannot be picked without being named (several candidates, only a test
    metric, a goal the name does not tell) makes it not available, unless the metric, the
    hyperparameters or the seed keys were named: then the error is raised.
    """
    p = params or TuningParams()
    try:
        t = analyze_context(ctx, p)
    except MetricError as exc:
        if p.metric is not None or p.hyperparameters or p.seed_keys:
            raise
        why = (
            exc.message
            + (f": {exc.value}" if exc.value else "")
            + (f" ({exc.hint})" if exc.hint else "")
        )
        return None, f"not available: {why}"
    if t.metric is None:
        return t, (
            "not available: no run reports a metric (ingest the project's W&B or MLflow runs; "
            "runs that name their Slurm job are linked to it)"
        )
    if not t.searches:
        return t, f"not available: no run that reports {t.metric} is in a grid search"
    if not t.totals["n_searches_with_result"]:
        return (
            t,
            f"not available: no search has a run with a result ({t.method['results_from']} reporting {t.metric})",
        )
    return t, None


def tuning_statement(t: TuningResult | None, reason: str | None = None) -> TuningStatement:
    """The card's part of a tuning analysis (``reason``: why it is not available, if so)."""
    configs = (
        {}
        if t is None
        else {
            "n_runs_with_config": t.totals["n_runs_with_config"],
            "n_configurations": t.totals["n_configurations"] or None,
        }
    )
    if t is None or reason is not None:
        return TuningStatement(False, reason or "not available", **configs)
    m = t.method
    method = (
        f"Tuning analysis (rdcost tuning, docs/tuning.md): metric {t.metric}, {t.metric_rule}; "
        f"{'higher' if t.goal == 'max' else 'lower'} is better ({t.goal_rule}); results from "
        f"{m['results_from']}. Sensitivity: main effects within each search (eta-squared: the share of the "
        "metric's variance a hyperparameter's values explain; spread: max - min of the mean metric across "
        "its values). Random search: random orders of each search's own runs, each run costing its "
        f"GPU-hours, up to the first within {m['tolerance_text']} of the search's best (an oracle stopping "
        f"rule); {integer(m['n_resamples'])} resamples per search, seed {m['resample_seed']}."
    )
    if t.is_role_guessed:
        method += (
            " Which logged values are hyperparameters and which are metrics was told from their names "
            "(the export does not say)."
        )
    items = [(TUNING_ITEMS[k], text) for k, text in t.statement_items() if k in TUNING_ITEMS]
    return TuningStatement(
        True,
        None,
        metric=t.metric,
        goal=t.goal,
        metric_rule=t.metric_rule,
        items=items,
        method=method,
        **configs,
    )


# -- the statement ---------------------------------------------------------------------


def _hardware(n_gpus: Any, gpu_type: Any) -> str:
    n = "unknown number of" if pd.isna(n_gpus) else given(float(n_gpus))
    t = "GPU of unknown type" if pd.isna(gpu_type) else str(gpu_type)
    return f"{n} × {t}"


def _final_model(
    ctx: ProjectAnalysis, final_job: str | None
) -> tuple[str, str | None, float | None, float | None]:
    cj, c = ctx.jobs, ctx.costs
    if final_job is not None:
        hit = pd.Series(False, index=cj.index)
        for col in ("job_id", "job_id_raw", "run_id"):
            hit |= cj[col].astype("string").eq(final_job).fillna(False).astype(bool)
        if not hit.any():
            raise UsageError(f"no job or run with id {final_job!r} in these jobs", value=final_job)
        if hit.sum() > 1:
            raise UsageError(
                f"{int(hit.sum())} jobs have the id {final_job!r}; give the display job id "
                "(e.g. 123_4) or a run id",
                value=final_job,
            )
        i = hit[hit].index[0]
        el = c.at[i, "elapsed_s"]
        gh = c.at[i, "gpu_hours"]
        return (
            f"job {final_job}",
            _hardware(cj.at[i, "n_gpus"], cj.at[i, "gpu_type"]),
            None if pd.isna(el) else float(el) / 3600,
            None if pd.isna(gh) else float(gh),
        )
    done = cj["state"].astype("string").eq("COMPLETED").fillna(False).astype(bool) & (
        c["gpu_hours"] > 0
    )
    gh = c.loc[done, "gpu_hours"].dropna()
    if gh.empty:
        return "no completed job with GPU time", None, None, None
    final = gh[gh >= gh.quantile(FINAL_SIZE_QUANTILE)].index
    hw = pd.Series(
        [
            _hardware(n, t)
            for n, t in zip(cj.loc[final, "n_gpus"], cj.loc[final, "gpu_type"], strict=True)
        ]
    ).value_counts()
    top = hw.index[0]
    rule = (
        f"medians of the {integer(len(final))} final-size runs, the COMPLETED jobs at or above the "
        f"{_ordinal(FINAL_SIZE_QUANTILE)} percentile of completed jobs' GPU-hours"
    )
    if len(hw) > 1:
        rule += f" ({pct(hw.iloc[0] / hw.sum(), 0)} of them on this hardware)"
    hardware = top
    return (
        rule,
        hardware,
        float(c.loc[final, "elapsed_s"].median()) / 3600,
        float(gh.loc[final].median()),
    )


def _ordinal(q: float) -> str:
    n = int(round(100 * q))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def statement(
    ctx: ProjectAnalysis,
    *,
    params: TuningParams | None = None,
    final_job: str | None = None,
    tuning: tuple[TuningResult | None, str | None] | None = None,
    compare: Sequence[tuple[str, Any]] = (),
) -> Statement:
    """The compute statement of the context's jobs (see the module doc for every rule).

    ``params``: how the tuning is analyzed (the metric, ...); ``tuning``: the result of
    :func:`tuning_analysis` when already at hand (then ``params`` is not used); ``compare``:
    (name, Summary) of the same jobs under other assumptions, shown beside this one's.
    """
    s = ctx.summary
    rule, hw, hours, fgh = _final_model(ctx, final_job)
    co2e, co2e_rule = _final_co2e(ctx, final_job)
    in_search = ctx.groups["search_id"].notna()
    sgh = ctx.costs.loc[in_search & ctx.costs["is_counted"], "gpu_hours"]
    om = s.assumptions.get("one_model_gpu_hours")
    return Statement(
        project=ctx.project,
        rdcost_version=__version__,
        assumptions_name=s.assumptions["name"],
        assumptions_text=assumptions_brief(s),
        final_model_rule=rule,
        final_model_hardware=hw,
        final_model_hours=hours,
        final_model_gpu_hours=fgh,
        one_model_gpu_hours=s.one_model_gpu_hours,
        one_model_source=None if om is None else f"{om['origin']}: {om['source']}",
        n_jobs=s.n_jobs,
        gpu_hours=s.gpu_hours,
        gpu_days=s.gpu_days,
        span_days=s.span_days,
        first_start_time=s.first_start_time,
        last_end_time=s.last_end_time,
        gpu_type_share=dict(s.gpu_type_share),
        n_grid_searches=s.n_grid_searches,
        n_jobs_in_grid_searches=s.n_jobs_in_grid_searches,
        grid_search_gpu_hours=None if sgh.isna().any() else float(sgh.sum()),
        energy_kwh=s.energy_kwh,
        co2e_kg=s.co2e_kg,
        co2e_lbs=s.co2e_lbs,
        cloud_usd_low=s.cloud_usd_low,
        cloud_usd_high=s.cloud_usd_high,
        tuning=tuning_statement(*(tuning if tuning is not None else tuning_analysis(ctx, params))),
        inputs=[{"path": r.path, "sha256": r.sha256, "format": r.format} for r in ctx.inputs],
        gpu_key_rules=list(s.gpu_key_rules),
        price_bases=list(s.price_bases),
        power_bases=list(s.power_bases),
        data_quality=list(s.data_quality),
        compute_split=_split(ctx),
        final_model_co2e_kg=co2e,
        final_model_co2e_rule=co2e_rule,
        carbon_region=s.assumptions["carbon"].get("region"),
        energy=dict(s.energy),
        comparison=_comparison(s, compare),
    )


def _split(ctx: ProjectAnalysis) -> dict[str, float | None]:
    """The counted GPU-hours in four parts, each job in the first that holds it: grid
    searches; crashed, failed, cancelled or timed-out runs; final-size runs (the summary's
    rule); the rest (preliminary and other runs)."""
    c, cj = ctx.costs, ctx.jobs
    counted = c["is_counted"]
    gh = c["gpu_hours"]
    in_search = ctx.groups["search_id"].notna().reindex(c.index, fill_value=False)
    waste = c["waste_category"].isin(["crashed", "failed", "cancelled", "timed_out"]).fillna(False)
    done = cj["state"].astype("string").eq("COMPLETED").fillna(False).astype(bool) & (gh > 0)
    done_gh = gh[done & counted].dropna()
    final = (
        done & counted & (gh >= done_gh.quantile(FINAL_SIZE_QUANTILE))
        if len(done_gh)
        else pd.Series(False, index=c.index)
    )
    parts = {
        "grid_searches": counted & in_search,
        "failed": counted & ~in_search & waste,
        "final_size": counted & ~in_search & ~waste & final,
        "other": counted & ~in_search & ~waste & ~final,
    }
    return {k: float(gh[m.astype(bool)].dropna().sum()) for k, m in parts.items()}


def _final_co2e(ctx: ProjectAnalysis, final_job: str | None) -> tuple[float | None, str]:
    """CO2e of the final model: the job given, else the summary's one-model row."""
    if final_job is not None:
        cj = ctx.jobs
        hit = pd.Series(False, index=cj.index)
        for col in ("job_id", "job_id_raw", "run_id"):
            hit |= cj[col].astype("string").eq(final_job).fillna(False).astype(bool)
        v = ctx.costs.loc[hit, "co2e_kg"]
        return (None if v.empty or v.isna().any() else float(v.iloc[0])), f"job {final_job}"
    row = ctx.summary.rd_table[0]
    return row.get("co2e_kg"), (
        f"one model: {row.get('gpu_hours'):g} GPU-hours at the project's mean power"
        if row.get("gpu_hours") is not None
        else "one model: unknown"
    )


def _comparison(s: Any, compare: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    if not compare:
        return {}
    t = energy_view.comparison_table([(s.assumptions["name"], s), *compare])
    return {"columns": list(t.columns), "rows": [list(r) for r in t.rows]}


# -- printing ----------------------------------------------------------------------------


def to_markdown(st: Statement) -> str:
    """The statement in Markdown, readable as it is (text from the logs escaped)."""
    return markdown.render(statement_view.document(st), escape=md_cell)


def to_latex(st: Statement) -> str:
    """A ``table`` float with a two-column ``tabular`` (no package needed)."""
    return latex.render(statement_view.document(st))
