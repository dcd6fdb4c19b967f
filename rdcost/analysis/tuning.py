"""Hyperparameter tuning from a project's own history: sensitivity, search efficiency, repeats.

:func:`analyze` (or :func:`analyze_context` on a prepared
:class:`rdcost.analysis.project.ProjectAnalysis`) takes the compute rows of a job table
(:func:`rdcost.analysis.linking.compute_jobs`: W&B/MLflow runs folded into the Slurm
jobs they ran in), their grid searches (:func:`rdcost.analysis.grouping.find_groups`)
and their per-job GPU-hours and cloud cost (:func:`rdcost.analysis.summary.job_costs`),
and returns a :class:`TuningResult`. ``TuningResult.to_dict()`` is the JSON
documented in docs/tuning.md. For each search:

- runs, configurations tried, GPU-hours, cost, the best metric and the
  configuration that reached it;
- sensitivity: per hyperparameter the search varied, the spread (max - min)
  of the mean metric across its values and eta-squared (between-value sum of
  squares / total sum of squares), a main-effect (one-at-a-time) measure;
  and the pooled standard deviation across seeds of the same configuration;
- the tuning-return curve: the best metric so far against cumulative
  GPU-hours, runs in launch order;
- the counterfactual: the GPU-hours a random search over the same runs would
  have spent before its first run within the tolerance of the search's best,
  from resampling the search's own results;
- repeats: the same configuration trained again, as a seed replicate, a retry
  of a run that gave no result, or a redundant repeat (same seed, after a
  result existed), with GPU-hours and cost.

Rules (all documented in docs/tuning.md):

- **Values.** ``config_json`` holds hyperparameters and ``metrics_json``
  metrics. ``other_json`` (an export that cannot tell them apart, e.g. the W&B
  UI CSV) is split by key names: metric-like numeric keys
  (:func:`is_metric_like`) are metrics, progress counters (``epoch``,
  ``step``) and system or id keys (:func:`is_system_key`) are neither, the
  rest are hyperparameters. Keys whose name contains ``seed`` are seeds. A
  text key with a different value in every run (a path, a name) is an
  identifier, not a hyperparameter. Nested objects are flattened to dotted
  keys; W&B's ``{"value": x}`` is unwrapped.
- **Metric.** ``metric`` names it; else the one validation-like key
  (``val``, ``valid``, ``validation``, ``eval``, ``dev`` in the name); else the
  only metric. ``goal`` (max or min) follows the name (loss, error,
  perplexity -> min; accuracy, F1, BLEU, score -> max) unless given.
- **Results.** A run's result is its metric, finite, and by default only
  from COMPLETED runs (a cancelled run's metric is that of a half-trained
  model). Runs without a result still cost their GPU-hours everywhere.
- **Configuration.** The values of every hyperparameter key (absent = its
  own value), seeds excluded. Repeats are found over the whole project in
  launch order (submission, else start time).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.assumptions import Assumptions
from rdcost.analysis.grouping import GroupingParams, find_groups, summarize_groups
from rdcost.analysis.linking import compute_jobs, link_runs
from rdcost.analysis.summary.combine import check_missing
from rdcost.analysis.summary.job_costs import costs_for, median_start_year
from rdcost.analysis.summary.partial import combos_of
from rdcost.errors import UsageError
from rdcost.output.render import iso, json_ready

SCHEMA_VERSION = 1
#: A numeric hyperparameter with more distinct values than this in a search is cut into
#: N_BINS bins of equal counts (quantiles) for the sensitivity.
MAX_LEVELS = 10
N_BINS = 5
#: Elements per resampling block (memory bound of the counterfactual).
BLOCK_ELEMENTS = 2_000_000
ROLES = ("first", "seed_replicate", "retry", "redundant")
ROLE_TEXT = {
    "first": "first run of its configuration",
    "seed_replicate": "another seed of a configuration run before (purpose: variance estimate)",
    "retry": "same configuration and seed, earlier runs gave no result (purpose: replace them)",
    "redundant": "same configuration and seed, an earlier run already gave a result",
}

_TOKEN = re.compile(r"[/._\-\s]+")
VALIDATION_WORDS = frozenset({"val", "valid", "validation", "eval", "evaluation", "dev"})
MIN_WORDS = frozenset({"loss", "error", "err", "perplexity", "ppl", "mse", "mae", "rmse", "wer", "cer",
                       "nll", "bpc", "bpb", "kl", "regret", "latency"})
MAX_WORDS = frozenset({"acc", "accuracy", "f1", "bleu", "rouge", "auc", "auroc", "score", "precision",
                       "recall", "map", "iou", "miou", "dice", "reward", "return", "r2", "ndcg", "mrr",
                       "top1", "top5", "em", "spearman", "pearson", "correlation", "mcc", "sacrebleu"})
_RESULT_PREFIX = frozenset({"val", "valid", "validation", "eval", "evaluation", "dev", "test", "train",
                            "training", "best"})
#: Last words that make a metric-sounding key a setting (loss_weight, score_threshold).
_SETTING_WORDS = frozenset({"weight", "weights", "coef", "coeff", "scale", "type", "fn", "function",
                            "alpha", "beta", "temperature", "margin", "threshold", "factor", "name"})
PROGRESS_KEYS = frozenset({"epoch", "step", "global_step", "iteration", "iter", "trainer/global_step",
                           "_step", "epochs_done", "steps_done"})
_SYSTEM = re.compile(
    r"^(_|slurm|wandb|mlflow|system[/.]|sys[/.]|git)"
    r"|^(name|display_name|run_name|exp_name|experiment_name|notes?|updated|agent|stopped|created|"
    r"host|hostname|user|username|tags|state|status|runtime|duration|sweep|project|entity|group|job_type|"
    r"commit|version|cwd|command|program|source( ?(type|name|version))?|artifact_uri|models)$"
    r"|(^|[._/-])(id|ids|uuid|run_?id|job_?id|pid|node|timestamp)$"
    r"|(^|[._/-])(\w+_)?(dir|path|file|filename)$", re.IGNORECASE)
_SEED = re.compile(r"seed", re.IGNORECASE)


@dataclass(frozen=True)
class TuningParams:
    """How the analysis is done (see the module doc and docs/tuning.md).

    metric / goal: the metric and whether higher (max) or lower (min) is
        better; None = from the names.
    tolerance / tolerance_kind: a run is "within tolerance" of the best when
        its metric is at most ``tolerance`` worse (absolute, in metric
        units) or ``tolerance`` x |best| worse (relative).
    n_resamples / resample_seed / quantile: the counterfactual's resampling.
    completed_only: only COMPLETED runs' metrics count as results.
    hyperparameters / seed_keys: name the keys instead of the rule.
    """

    metric: str | None = None
    goal: str | None = None
    tolerance: float = 0.01
    tolerance_kind: str = "relative"
    n_resamples: int = 10_000
    resample_seed: int = 0
    quantile: float = 0.9
    completed_only: bool = True
    hyperparameters: tuple[str, ...] = ()
    seed_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.goal is not None and self.goal not in ("max", "min"):
            raise UsageError("goal must be max or min", value=str(self.goal))
        if self.tolerance_kind not in ("relative", "absolute"):
            raise UsageError("tolerance kind must be relative or absolute", value=str(self.tolerance_kind))
        if not (self.tolerance >= 0 and math.isfinite(self.tolerance)):
            raise UsageError("tolerance must be a number >= 0", value=str(self.tolerance))
        if self.n_resamples < 1:
            raise UsageError("the number of resamples must be at least 1", value=str(self.n_resamples))
        if not 0 < self.quantile < 1:
            raise UsageError("quantile must be between 0 and 1 (e.g. 0.9)", value=str(self.quantile))


DEFAULT_PARAMS = TuningParams()


class MetricError(UsageError):
    """A metric (or key) that no run reports, or none that can be picked without being named."""


@dataclass
class TuningResult:
    """The analysis. Every field is documented in docs/tuning.md ("The JSON")."""

    project: str | None
    metric: str | None
    goal: str | None
    metric_rule: str
    goal_rule: str | None
    is_role_guessed: bool
    hyperparameter_keys: list[str]
    seed_keys: list[str]
    excluded_keys: dict[str, str]
    method: dict[str, Any]
    totals: dict[str, Any]
    hyperparameters: list[dict[str, Any]]
    repeats: list[dict[str, Any]]
    searches: list[dict[str, Any]]
    prices: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {"schema_version": SCHEMA_VERSION}
        d.update(asdict(self))
        return json_ready(d)

    def search_table(self) -> pd.DataFrame:
        """One row per search (the table and CSV form)."""
        return _search_table(self)

    def search(self, search_id: str) -> dict[str, Any]:
        for s in self.searches:
            if s["search_id"] == search_id:
                return s
        known = ", ".join(s["search_id"] for s in self.searches[:5])
        raise UsageError("no such search", value=search_id,
                         hint=f"`rdcost tuning` lists the search ids (e.g. {known})")

    def statement(self) -> list[str]:
        """A few sentences for a paper's compute statement (what :mod:`rdcost.output.statement` prints)."""
        return [text for _, text in _statement(self)]

    def statement_items(self) -> list[tuple[str, str]]:
        """The sentences of :meth:`statement`, each with what it is about: ``searches``,
        ``sensitivity`` (which hyperparameters mattered), ``seeds`` (seed noise),
        ``counterfactual`` (random search over the same runs), ``repeats``; or only
        ``not_available`` when no search has runs with a metric."""
        return _statement(self)


# -- key rules --------------------------------------------------------------------------

def _tokens(key: str) -> list[str]:
    return [t for t in _TOKEN.split(key.lower()) if t]


def is_system_key(key: str) -> bool:
    """A key that is no hyperparameter: W&B/MLflow/Slurm system values, ids, names, paths."""
    return bool(_SYSTEM.search(key))


def is_progress_key(key: str) -> bool:
    return key.lower() in PROGRESS_KEYS


def is_metric_like(key: str) -> bool:
    """A key named like a result: ``val/f1``, ``train_loss``, ``accuracy``, ``eval.bleu``."""
    toks = _tokens(key)
    if not toks or toks[-1] in _SETTING_WORDS:
        return False
    if "/" in key or toks[0] in _RESULT_PREFIX:
        return True
    return any(t in MIN_WORDS or t in MAX_WORDS or t.startswith("rouge") for t in toks)


def is_validation_key(key: str) -> bool:
    return bool(set(_tokens(key)) & VALIDATION_WORDS)


def goal_of(metric: str) -> str | None:
    """max or min from the metric's name; None when the name does not say."""
    toks = _tokens(metric)
    if any(t in MIN_WORDS for t in toks):
        return "min"
    if any(t in MAX_WORDS or t.startswith("rouge") for t in toks):
        return "max"
    return None


# -- values -----------------------------------------------------------------------------

def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if set(v) == {"value"}:
                out[key] = v["value"]
            else:
                out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _frame(col: pd.Series, keep: np.ndarray) -> pd.DataFrame:
    """A JSON object column -> one column per (flattened) key; rows not kept are empty."""
    recs = []
    for text, k in zip(col.to_numpy(dtype=object), keep, strict=True):
        obj = json.loads(text) if k and isinstance(text, str) and text else None
        recs.append(_flat(obj) if isinstance(obj, dict) else {})
    return pd.DataFrame.from_records(recs, index=col.index) if recs else pd.DataFrame(index=col.index)


def _numbers(s: pd.Series) -> pd.Series:
    """Finite int/float values as float64; everything else (text, bool, null, NaN, inf) NaN."""
    ok = s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).astype(bool)
    x = pd.to_numeric(s.where(ok), errors="coerce").astype("float64")
    return x.where(np.isfinite(x))


def _canon(v: Any) -> str:
    """A value as comparable text: 5000 == 5000.0, absent/null -> null."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "null"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return json.dumps(v, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class _Values:
    hp: pd.DataFrame          # canonical text per hyperparameter key
    hp_num: pd.DataFrame      # numeric value per hyperparameter key (NaN if not a number)
    seed: pd.Series           # canonical text of the seed keys
    has_config: pd.Series
    y: pd.Series              # the metric (NaN = none)
    metric: str | None
    goal: str | None
    metric_rule: str
    goal_rule: str | None
    guessed: bool
    hp_keys: list[str]
    seed_keys: list[str]
    excluded: dict[str, str]


def _values(cj: pd.DataFrame, shared: np.ndarray, p: TuningParams) -> _Values:
    keep = ~shared
    cfg, met, oth = (_frame(cj[c], keep) for c in ("config_json", "metrics_json", "other_json"))
    # rows whose values came only from other_json: their roles are told by key names
    guessed = bool((oth.notna().any(axis=1) & ~cfg.notna().any(axis=1) & ~met.notna().any(axis=1)).any())
    excluded: dict[str, str] = {}
    metric_cols: dict[str, pd.Series] = {}
    for k in met.columns:
        if is_system_key(k) or is_progress_key(k):
            continue
        x = _numbers(met[k])
        if x.notna().any():
            metric_cols[k] = x
    for k in oth.columns:
        if k in metric_cols or is_system_key(k) or is_progress_key(k):
            continue
        x = _numbers(oth[k])
        if is_metric_like(k) and x.notna().any():
            metric_cols[k] = x
    # the metric
    metric, metric_rule = _pick_metric(metric_cols, p.metric)
    y = metric_cols[metric].copy() if metric else pd.Series(np.nan, index=cj.index)
    if metric in met.columns and metric in oth.columns:
        y = y.fillna(_numbers(oth[metric]))
    goal, goal_rule = p.goal, None if p.goal is None else "given"
    if metric and goal is None:
        goal = goal_of(metric)
        if goal is None:
            raise MetricError("cannot tell from the name of the metric whether higher or lower is better",
                              value=metric, hint="give --goal max or --goal min")
        goal_rule = "from the metric's name"
    # hyperparameters and seeds
    source: dict[str, pd.Series] = {}
    for frame, from_other in ((cfg, False), (oth, True)):
        for k in frame.columns:
            if k in source or k in met.columns:
                continue
            if k == metric or k in metric_cols:
                excluded.setdefault(k, "metric")
            elif is_progress_key(k):
                excluded[k] = "progress counter"
            elif is_system_key(k):
                excluded[k] = "system value, name or id"
            elif from_other and is_metric_like(k) and _numbers(frame[k]).notna().any():
                excluded[k] = "metric"
            else:
                source[k] = frame[k]
    if p.seed_keys:
        _known(p.seed_keys, source, "seed key")
        seed_keys = list(p.seed_keys)
    else:
        seed_keys = sorted(k for k in source if _SEED.search(k))
    if p.hyperparameters:
        _known(p.hyperparameters, source, "hyperparameter")
        hp_keys = [k for k in p.hyperparameters if k not in seed_keys]
    else:
        hp_keys = []
        for k in sorted(source):
            if k in seed_keys:
                continue
            v = source[k].dropna()
            if len(v) >= 3 and v.map(lambda x: isinstance(x, str)).all() and v.nunique() == len(v):
                excluded[k] = "identifier (a different text in every run)"
                continue
            hp_keys.append(k)
    hp = pd.DataFrame({k: source[k].map(_canon) for k in hp_keys}, index=cj.index)
    hp_num = pd.DataFrame({k: _numbers(source[k]) for k in hp_keys}, index=cj.index)
    has_config = pd.Series(False, index=cj.index)
    for k in [*hp_keys, *seed_keys]:
        has_config |= source[k].notna().to_numpy()
    seed = pd.Series("", index=cj.index)
    for k in seed_keys:
        seed = seed + k + "=" + source[k].map(_canon) + ";"
    return _Values(hp, hp_num, seed, has_config, y, metric, goal, metric_rule, goal_rule, guessed,
                   hp_keys, seed_keys, dict(sorted(excluded.items())))


def _known(keys: tuple[str, ...], source: dict[str, pd.Series], what: str) -> None:
    missing = [k for k in keys if k not in source]
    if missing:
        raise MetricError(f"no run logs this {what}", value=missing[0],
                          hint=f"keys the runs log: {', '.join(sorted(source)) or 'none'}")


def _pick_metric(cols: dict[str, pd.Series], given: str | None) -> tuple[str | None, str]:
    counts = {k: int(v.notna().sum()) for k, v in cols.items()}
    listed = ", ".join(f"{k} ({n:,} runs)" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    if given is not None:
        if given not in cols:
            raise MetricError("no run reports this metric", value=given,
                              hint=f"metrics the runs report: {listed or 'none'}")
        return given, "given"
    if not cols:
        return None, "no run reports a metric"
    val = [k for k in cols if is_validation_key(k)]
    if len(val) == 1:
        return val[0], "the only validation metric: val, valid, validation, eval or dev in its name"
    if not val and len(cols) == 1:
        only = next(iter(cols))
        if "test" in _tokens(only):
            raise MetricError("the only metric is measured on test data; tuning for it is not picked "
                              "without being named", value=only,
                              hint=f"if the searches were tuned for it, give --metric {only}")
        return only, "the only metric the runs report"
    raise MetricError("several metrics could be the one to tune for; name one with --metric",
                      hint=f"metrics the runs report: {listed}")


# -- the analysis ---------------------------------------------------------------------------

def analyze(jobs: pd.DataFrame, assumptions: Assumptions | None = None, params: TuningParams | None = None,
            *, project: str | None = None, today: pd.Timestamp | None = None, on_missing: str = "raise",
            grouping: GroupingParams | None = None) -> TuningResult:
    """Analyze the tuning of a job table (e.g. one project's rows of the store).

    ``assumptions``, ``today``, ``on_missing`` and ``grouping`` mean what they
    mean for :func:`rdcost.analysis.summary.summarize`: the cost of runs is priced the
    same way.
    """
    if on_missing not in ("raise", "unknown"):
        raise ValueError(f"on_missing must be raise or unknown, got {on_missing!r}")
    a0 = assumptions or Assumptions()
    today = pd.Timestamp.now(tz="UTC") if today is None else pd.Timestamp(today)
    cj = compute_jobs(jobs)
    costs = costs_for(cj, a0.for_year(median_start_year(cj["start_time"])), today)
    notes: list[str] = []
    check_missing(combos_of(costs), on_missing, notes)
    groups = find_groups(cj, grouping)
    return _analyze(jobs, cj, costs, groups, summarize_groups(cj, groups), params or TuningParams(),
                    project, notes)


def analyze_context(ctx: Any, params: TuningParams | None = None) -> TuningResult:
    """:func:`analyze` on a :class:`rdcost.analysis.project.ProjectAnalysis` (the same numbers as its plots)."""
    return _analyze(ctx.runs, ctx.jobs, ctx.costs, ctx.groups, ctx.searches, params or TuningParams(),
                    ctx.project, list(ctx.summary.notes))


def _shared_jobs(runs: pd.DataFrame, cj: pd.DataFrame) -> np.ndarray:
    """Compute rows that hold several runs (values keyed by run id): no configuration of their own."""
    pairs = link_runs(runs)
    if pairs.empty:
        return np.zeros(len(cj), dtype=bool)
    n = pairs["slurm"].value_counts()
    return cj.index.isin(n[n > 1].index)


def _analyze(runs: pd.DataFrame, cj: pd.DataFrame, costs: pd.DataFrame, groups: pd.DataFrame,
             searches: pd.DataFrame, p: TuningParams, project: str | None, notes: list[str]) -> TuningResult:
    shared = _shared_jobs(runs, cj)
    v = _values(cj, shared, p)
    if shared.any():
        notes.append(f"{int(shared.sum()):,} jobs each ran several W&B/MLflow runs; their GPU-hours cannot be "
                     "split among the runs, so they count as runs without a configuration")
    state = cj["state"].astype("string")
    done = state.eq("COMPLETED").fillna(False).astype(bool) if p.completed_only else pd.Series(True, index=cj.index)
    submit = pd.to_datetime(cj["submit_time"], utc=True).fillna(pd.to_datetime(cj["start_time"], utc=True))
    r = pd.DataFrame({"search": groups["search_id"].astype("string"), "launch": submit,
                      "job_id": cj["job_id"].astype("string"), "run_id": cj["run_id"].astype("string"),
                      "state": state, "gh": costs["gpu_hours"].astype("float64"),
                      "usd_low": costs["cloud_usd_low"].astype("float64"),
                      "usd_high": costs["cloud_usd_high"].astype("float64"),
                      "has_config": v.has_config, "y": v.y.where(done)}, index=cj.index)
    r["has_result"] = r["y"].notna()
    r["score"] = -r["y"] if v.goal == "min" else r["y"]
    r = r.sort_values(["launch", "job_id"], kind="stable", na_position="last")
    r["config"] = _config_text(v.hp.loc[r.index]).where(r["has_config"])
    r["exact"] = (r["config"] + "|" + v.seed.loc[r.index]).where(r["has_config"])
    r["role"], r["repeats_other_search"] = _roles(r)
    g = r[r["search"].notna()].copy()
    by = g.groupby("search", sort=False)
    g["order"] = by.cumcount() + 1
    g["cum_gh"] = by["gh"].cumsum()
    g.loc[g["gh"].isna().groupby(g["search"], sort=False).cumsum() > 0, "cum_gh"] = np.nan  # unknown from there on
    g["best_so_far"] = by["score"].cummax()
    g["best_so_far"] = g.groupby("search", sort=False)["best_so_far"].ffill()
    sign = -1.0 if v.goal == "min" else 1.0
    g["metric"] = sign * g["score"]
    g["best_so_far"] = sign * g["best_so_far"]
    varied = _varied(g, v)
    sens, seed_sd, reps = _sensitivity(g, v, sign), _seed_std(g), _repeated(g, v, varied, sign)
    meta = searches.set_index("search_id") if len(searches) else pd.DataFrame(columns=["search_method", "name"])
    per = _sums(g, ["search"])
    by = g.groupby("search", sort=False)
    per["n_config"] = by["has_config"].sum()
    per["n_result"] = by["has_result"].sum()
    per["n_configs"] = by["config"].nunique()
    per["first"] = by["launch"].min()
    roles = _sums(g.assign(other=g["repeats_other_search"].fillna(False).astype(int)), ["search", "role"],
                  extra="other")
    bests = g[g["has_result"]].sort_values("score", ascending=False, kind="stable").groupby("search").head(1)
    bests = bests.rename_axis("index").reset_index().set_index("search").to_dict("index")
    meta_d, per_d, roles_d = meta.to_dict("index"), per.to_dict("index"), roles.to_dict("index")
    out = []
    for sid, pos in by.indices.items():
        info = {"meta": meta_d.get(sid), "sums": per_d[sid], "best": bests.get(sid),
                "roles": {role: roles_d.get((sid, role)) for role in ROLES}}
        out.append(_one_search(str(sid), g.iloc[pos], v, p, varied.get(sid, []), sens.get(sid, []),
                               seed_sd.get(sid), reps.get(sid, []), info))
    rank = {sid: i for i, sid in enumerate(searches["search_id"])} if len(searches) else {}
    out.sort(key=lambda x: (rank.get(x["search_id"], len(rank)), x["search_id"]))
    n_outside = int(r["search"].isna().sum())
    if n_outside:
        notes.append(f"{n_outside:,} compute jobs are in no grid search: they count only for repeats "
                     "(a configuration trained again anywhere in the project)")
    if v.metric is None:
        notes.append("no run reports a metric: best results, sensitivity and the counterfactual are unknown")
    elif not v.seed_keys:
        notes.append("no run logs a seed: a configuration trained twice cannot be told apart from a seed "
                     "replicate, so repeats count as retries or redundant")
    if v.guessed:
        notes.append("the export does not separate hyperparameters from metrics (other_json): roles were "
                     "assigned by key names; see excluded_keys")
    return TuningResult(
        project=project, metric=v.metric, goal=v.goal, metric_rule=v.metric_rule, goal_rule=v.goal_rule,
        is_role_guessed=v.guessed, hyperparameter_keys=v.hp_keys, seed_keys=v.seed_keys,
        excluded_keys=v.excluded, method=_method(p, v), totals=_totals(out, r, g),
        hyperparameters=_rollup(out), repeats=_role_rows(r), searches=out,
        prices=_prices(costs), notes=notes)


def _config_text(hp: pd.DataFrame) -> pd.Series:
    text = pd.Series("{", index=hp.index)
    for k in hp.columns:
        text = text + json.dumps(k) + ":" + hp[k] + ","
    return text + "}"


def _roles(r: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per run with a configuration (r in launch order): first / seed_replicate / retry /
    redundant, and for redundant runs whether the result they repeat came from another search."""
    c = r[r["has_config"]]
    role = pd.Series(pd.NA, index=r.index, dtype="string")
    other = pd.Series(pd.NA, index=r.index, dtype="boolean")
    if c.empty:
        return role, other
    cfg_rank = c.groupby("config", sort=False).cumcount()
    exact_rank = c.groupby("exact", sort=False).cumcount()
    prior = c.groupby("exact", sort=False)["has_result"].cumsum() - c["has_result"].astype(int)
    rr = np.select([cfg_rank == 0, exact_rank == 0, prior > 0], ["first", "seed_replicate", "redundant"], "retry")
    role.loc[c.index] = rr
    first_result = c[c["has_result"]].groupby("exact", sort=False)["search"].first()
    red = c[rr == "redundant"]
    src = red["exact"].map(first_result)
    other.loc[red.index] = (src.fillna("") != red["search"].fillna("")).to_numpy()
    return role, other


def _varied(g: pd.DataFrame, v: _Values) -> dict[str, list[str]]:
    """Per search: the hyperparameter keys with more than one value among its runs with a configuration."""
    c = g[g["has_config"]]
    if c.empty or not v.hp_keys:
        return {}
    n = v.hp.loc[c.index].groupby(c["search"].to_numpy(), sort=False).nunique()
    return {sid: [k for k in v.hp_keys if row[k] > 1] for sid, row in n.iterrows()}


def _level_frame(g: pd.DataFrame, v: _Values) -> pd.DataFrame:
    """Long frame (search, key, level, score) of the runs with a result, numeric keys with many
    values cut into quantile bins within their search."""
    res = g[g["has_result"] & g["has_config"]]
    if res.empty or not v.hp_keys:
        return pd.DataFrame(columns=["search", "key", "level", "num", "score", "is_binned"])
    long = pd.concat([pd.DataFrame({"search": res["search"].to_numpy(), "key": k,
                                    "level": v.hp.loc[res.index, k].to_numpy(),
                                    "num": v.hp_num.loc[res.index, k].to_numpy(),
                                    "score": res["score"].to_numpy()}) for k in v.hp_keys], ignore_index=True)
    keys = [long["search"], long["key"]]
    n_levels = long.groupby(keys, sort=False)["level"].transform("nunique")
    many = (n_levels > MAX_LEVELS) & long["num"].notna().groupby(keys, sort=False).transform("all")
    if many.any():
        m = long[many]
        pct = m.groupby(["search", "key"], sort=False)["num"].rank(method="average", pct=True)
        b = np.clip(np.ceil(pct * N_BINS), 1, N_BINS).astype(int)
        lo = m["num"].groupby([m["search"], m["key"], b]).transform("min")
        hi = m["num"].groupby([m["search"], m["key"], b]).transform("max")
        long.loc[many, "level"] = [f"{a:g}..{z:g}" for a, z in zip(lo, hi, strict=True)]
    long["is_binned"] = many
    return long


def _sensitivity(g: pd.DataFrame, v: _Values, sign: float) -> dict[str, list[dict[str, Any]]]:
    """Per search: per hyperparameter it varied (2+ values among runs with a result), the values'
    mean metric, their spread and eta-squared; most explaining first."""
    long = _level_frame(g, v)
    if long.empty:
        return {}
    keys = ["search", "key"]
    smean = long.groupby(keys, sort=False)["score"].transform("mean")
    long["sst"] = (long["score"] - smean) ** 2
    long["smean"] = smean
    lv = long.groupby([*keys, "level"], sort=False).agg(
        mean=("score", "mean"), n=("score", "size"), is_binned=("is_binned", "first"), num=("num", "min"),
        smean=("smean", "first")).reset_index()
    lv["ssb"] = lv["n"] * (lv["mean"] - lv["smean"]) ** 2
    per = lv.groupby(keys, sort=False).agg(n_values=("level", "size"), top=("mean", "max"),
                                           bottom=("mean", "min"), ssb=("ssb", "sum"),
                                           is_binned=("is_binned", "first"))
    per["sst"] = long.groupby(keys, sort=False)["sst"].sum()
    per = per[per["n_values"] >= 2]
    per["eta_squared"] = (per["ssb"] / per["sst"]).where(per["sst"] > 0)
    per["spread"] = per["top"] - per["bottom"]
    per = per.sort_values(["eta_squared", "spread"], ascending=False, kind="stable", na_position="last")
    lv = lv.sort_values([*keys, "num", "level"], kind="stable", na_position="last")
    levels: dict[tuple[str, str], list[dict[str, Any]]] = {}
    best: dict[tuple[str, str], tuple[float, Any]] = {}
    for sid, key, level, mean, n, binned in zip(lv["search"], lv["key"], lv["level"], lv["mean"], lv["n"],
                                                lv["is_binned"], strict=True):
        value = _uncanon(level, binned)
        levels.setdefault((sid, key), []).append({"value": value, "n_runs": int(n), "mean": sign * float(mean)})
        if (sid, key) not in best or mean > best[(sid, key)][0]:
            best[(sid, key)] = (mean, value)
    out: dict[str, list[dict[str, Any]]] = {}
    for (sid, key), x in zip(per.index, per.itertuples(index=False), strict=True):
        out.setdefault(sid, []).append({
            "hyperparameter": key, "n_values": int(x.n_values), "spread": float(x.spread),
            "eta_squared": json_ready(x.eta_squared), "best_value": best[(sid, key)][1],
            "is_binned": bool(x.is_binned),
            "values": levels[(sid, key)]})
    return out


def _seed_std(g: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """Per search: (configurations run with 2+ seeds, pooled std of the metric across their seeds)."""
    res = g[g["has_result"] & g["has_config"]]
    k = res.groupby(["search", "config"], sort=False)
    rep = res[(k["score"].transform("size") >= 2) & (k["exact"].transform("nunique") >= 2)]
    if rep.empty:
        return {}
    dev2 = (rep["score"] - rep.groupby(["search", "config"], sort=False)["score"].transform("mean")) ** 2
    agg = pd.DataFrame({"search": rep["search"], "config": rep["config"], "dev2": dev2}).groupby("search").agg(
        ss=("dev2", "sum"), n=("dev2", "size"), n_configs=("config", "nunique"))
    sd = np.sqrt(agg["ss"] / (agg["n"] - agg["n_configs"]))
    return {sid: (int(n), float(x)) for sid, n, x in zip(agg.index, agg["n_configs"], sd, strict=True)}


def _repeated(g: pd.DataFrame, v: _Values, varied: dict[str, list[str]],
              sign: float) -> dict[str, list[dict[str, Any]]]:
    """Per search: the configurations it ran more than once, with their runs' roles and results."""
    c = g[g["has_config"]]
    c = c[c.groupby(["search", "config"], sort=False)["config"].transform("size") > 1]
    if c.empty:
        return {}
    keys = [c["search"], c["config"]]
    agg = pd.DataFrame({
        "n_runs": c.groupby(keys, sort=False).size(),
        "n_seeds": c.groupby(keys, sort=False)["exact"].nunique(),
        "n_result": c.groupby(keys, sort=False)["has_result"].sum(),
        "gh": c.groupby(keys, sort=False)["gh"].sum(min_count=1),
        "gh_unknown": c["gh"].isna().groupby(keys, sort=False).any(),
        "mean": c.groupby(keys, sort=False)["score"].mean(),
        "std": c.groupby(keys, sort=False)["score"].std(ddof=1),
        "first": pd.Series(c.index, index=c.index).groupby(keys, sort=False).first()})
    roles = pd.crosstab(keys, c["role"]).reindex(columns=list(ROLES), fill_value=0).reindex(agg.index)
    out: dict[str, list[dict[str, Any]]] = {}
    for (sid, _), x, rl in zip(agg.index, agg.itertuples(index=False), roles.itertuples(index=False), strict=True):
        out.setdefault(sid, []).append({
            "configuration": {k: _uncanon(v.hp.at[x.first, k]) for k in varied.get(sid, [])},
            "n_runs": int(x.n_runs), "n_seeds": int(x.n_seeds), "n_runs_with_result": int(x.n_result),
            "roles": dict(zip(ROLES, (int(n) for n in rl), strict=True)),
            "gpu_hours": None if x.gh_unknown else float(x.gh),
            "metric_mean": None if pd.isna(x.mean) else sign * float(x.mean),
            "metric_std": None if pd.isna(x.std) else float(x.std)})
    return out


def _uncanon(text: Any, binned: bool = False) -> Any:
    """The value of a canonical text (a bin label stays text)."""
    return text if binned or not isinstance(text, str) else json.loads(text)


# -- one search ------------------------------------------------------------------------------

def _sum(s: pd.Series) -> float | None:
    return None if s.isna().any() else float(s.sum())


def _sums(g: pd.DataFrame, keys: list[str], extra: str | None = None) -> pd.DataFrame:
    """Runs, GPU-hours and cost per group; a sum is unknown (NaN) when any of its terms is."""
    cols = [g[k] for k in keys]
    by = g.groupby(cols, sort=False)
    out = pd.DataFrame({"n": by.size()})
    for c in ("gh", "usd_low", "usd_high"):
        out[c] = by[c].sum().mask(g[c].isna().groupby(cols, sort=False).any())
    if extra:
        out[extra] = by[extra].sum()
    return out


def _one_search(sid: str, g: pd.DataFrame, v: _Values, p: TuningParams, varied: list[str],
                sens: list[dict[str, Any]], seed_sd: tuple[int, float] | None, reps: list[dict[str, Any]],
                info: dict[str, Any]) -> dict[str, Any]:
    m, su, b = info["meta"], info["sums"], info["best"]
    best = None
    if b is not None:
        best = {"metric": float(b["metric"]), "job_id": b["job_id"], "run_id": json_ready(b["run_id"]),
                "configuration": {k: _uncanon(v.hp.at[b["index"], k]) for k in varied},
                "seed": _seed_of(v, b["index"]), "state": json_ready(b["state"]), "launch_rank": int(b["order"]),
                "cumulative_gpu_hours": json_ready(b["cum_gh"])}
    roles = []
    for role in ROLES[1:]:
        x = info["roles"][role]
        row = {"role": role, "n_runs": 0 if x is None else int(x["n"]),
               **{k: 0.0 if x is None else json_ready(x[c]) for k, c in
                  (("gpu_hours", "gh"), ("cloud_usd_low", "usd_low"), ("cloud_usd_high", "usd_high"))}}
        if role == "redundant":
            row["n_runs_repeating_another_search"] = 0 if x is None else int(x["other"])
        roles.append(row)
    curve = [{"launch_rank": int(o), "job_id": j, "state": json_ready(st), "gpu_hours": json_ready(h),
              "cumulative_gpu_hours": json_ready(c), "metric": json_ready(y), "best_so_far": json_ready(bsf)}
             for o, j, st, h, c, y, bsf in zip(g["order"].to_numpy(), g["job_id"].to_numpy(dtype=object),
                                               g["state"].to_numpy(dtype=object), g["gh"].to_numpy(),
                                               g["cum_gh"].to_numpy(), g["metric"].to_numpy(),
                                               g["best_so_far"].to_numpy(), strict=True)]
    gh, usd_low, usd_high = json_ready(su["gh"]), json_ready(su["usd_low"]), json_ready(su["usd_high"])
    return {
        "search_id": sid, "search_method": None if m is None else json_ready(m["search_method"]),
        "name": None if m is None else json_ready(m["name"]),
        "first_submit_time": iso(su["first"]),
        "n_runs": int(su["n"]), "n_runs_with_config": int(su["n_config"]), "n_runs_with_result": int(su["n_result"]),
        "n_configurations": int(su["n_configs"]),
        "hyperparameters_varied": varied,
        "gpu_hours": gh, "cloud_usd_low": usd_low, "cloud_usd_high": usd_high,
        "best": best, "sensitivity": sens,
        "seed_std": None if seed_sd is None else seed_sd[1],
        "n_seed_replicated_configurations": 0 if seed_sd is None else seed_sd[0],
        "counterfactual": _counterfactual(sid, g, p, v.goal, best, gh, usd_low, usd_high),
        "repeats": {"roles": roles, "repeated_configurations": reps},
        "curve": curve,
    }


def _seed_of(v: _Values, idx: Any) -> dict[str, Any]:
    parts = [x for x in str(v.seed.at[idx]).split(";") if x]
    return {k: _uncanon(t.split("=", 1)[1]) for k, t in zip(v.seed_keys, parts, strict=True)}


def _counterfactual(sid: str, g: pd.DataFrame, p: TuningParams, goal: str | None, best: dict | None,
                    gh: float | None,
                    usd_low: float | None, usd_high: float | None) -> dict[str, Any] | None:
    if best is None:
        return None
    b = abs(best["metric"])
    tol = p.tolerance * b if p.tolerance_kind == "relative" else p.tolerance
    score = g["score"].to_numpy(dtype="float64")
    hit = score >= np.nanmax(score) - tol          # NaN (no result) never hits
    target = best["metric"] + tol if goal == "min" else best["metric"] - tol
    cost = g["gh"].to_numpy(dtype="float64")
    known = not np.isnan(cost).any()
    cost = cost if known else np.ones(len(g))
    rng = np.random.default_rng([p.resample_seed, zlib.crc32(sid.encode())])
    spent, n_runs = resample_until(cost, hit, p.n_resamples, rng)
    q = float(np.quantile(spent, p.quantile))
    mean = float(spent.mean())
    first = int(np.argmax(hit))
    launch_cost = float(cost[: first + 1].sum())
    exact = expected_until(cost, hit)
    out = {"target": target, "n_runs_within_tolerance": int(hit.sum()),
           "n_runs": len(g), "launch_order_n_runs": first + 1,
           "mean_n_runs": float(n_runs.mean()), "quantile_n_runs": float(np.quantile(n_runs, p.quantile)),
           "exact_mean_n_runs": expected_until(np.ones(len(g)), hit)}
    if known:
        saved = gh - mean
        rate = (None if usd_low is None or not gh else usd_low / gh, None if usd_high is None or not gh else usd_high / gh)
        out.update({"launch_order_gpu_hours": launch_cost, "mean_gpu_hours": mean, "quantile_gpu_hours": q,
                    "exact_mean_gpu_hours": exact, "search_gpu_hours": gh, "saved_gpu_hours": saved,
                    "saved_share": saved / gh if gh else None,
                    "saved_usd_low": None if rate[0] is None else saved * rate[0],
                    "saved_usd_high": None if rate[1] is None else saved * rate[1]})
    else:
        out.update({k: None for k in ("launch_order_gpu_hours", "mean_gpu_hours", "quantile_gpu_hours",
                                      "exact_mean_gpu_hours", "search_gpu_hours", "saved_gpu_hours",
                                      "saved_share", "saved_usd_low", "saved_usd_high")})
    return out


def resample_until(cost: np.ndarray, hit: np.ndarray, n_resamples: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cost and number of runs spent, in random orders of the runs, up to and including the first hit.

    Each resample is a uniformly random order of all runs (sampling without
    replacement): a run comes before the first hit when its random key is
    below the smallest key of the hits. Runs that never hit (failed, no
    result, too far from the best) still cost. Needs at least one hit.
    """
    cost = np.asarray(cost, dtype="float64")
    hit = np.asarray(hit, dtype=bool)
    if not hit.any():
        raise ValueError("no run hits the target")
    n = len(cost)
    block = max(1, BLOCK_ELEMENTS // max(n, 1))
    spent, runs = [], []
    for start in range(0, n_resamples, block):
        k = min(block, n_resamples - start)
        u = rng.random((k, n))
        first = u[:, hit].min(axis=1)
        before = u <= first[:, None]          # the first hit itself and everything before it
        spent.append(before.astype("float64") @ cost)
        runs.append(before.sum(axis=1))
    return np.concatenate(spent), np.concatenate(runs).astype("float64")


def expected_until(cost: np.ndarray, hit: np.ndarray) -> float:
    """The exact mean of :func:`resample_until`: a hit is first with probability 1/h (h hits),
    a non-hit comes before every hit with probability 1/(h + 1)."""
    cost = np.asarray(cost, dtype="float64")
    hit = np.asarray(hit, dtype=bool)
    h = int(hit.sum())
    return float(cost[hit].sum() / h + cost[~hit].sum() / (h + 1))


# -- project level --------------------------------------------------------------------------

def _role_rows(r: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for role in ROLES:
        m = r["role"].eq(role).fillna(False).astype(bool)
        out.append({"role": role, "meaning": ROLE_TEXT[role], "n_runs": int(m.sum()),
                    "n_runs_in_searches": int((m & r["search"].notna()).sum()),
                    "gpu_hours": _sum(r.loc[m, "gh"]), "cloud_usd_low": _sum(r.loc[m, "usd_low"]),
                    "cloud_usd_high": _sum(r.loc[m, "usd_high"])})
    return out


def _totals(searches: list[dict[str, Any]], r: pd.DataFrame, in_search: pd.DataFrame) -> dict[str, Any]:
    cf = [s["counterfactual"] for s in searches if s["counterfactual"] is not None]
    known = [c for c in cf if c["mean_gpu_hours"] is not None]
    spent = sum(c["search_gpu_hours"] for c in known)
    mean = sum(c["mean_gpu_hours"] for c in known)
    return {
        "n_searches": len(searches),
        "n_searches_with_result": len(cf),
        "n_runs_in_searches": len(in_search),
        "n_runs_with_config": int(r["has_config"].sum()),
        "n_runs_with_result": int(r["has_result"].sum()),
        "n_configurations": int(r.loc[r["has_config"], "config"].nunique()),
        "gpu_hours_in_searches": _sum(in_search["gh"]),
        "cloud_usd_low_in_searches": _sum(in_search["usd_low"]),
        "cloud_usd_high_in_searches": _sum(in_search["usd_high"]),
        "counterfactual_n_searches": len(known),
        "counterfactual_search_gpu_hours": spent if known else None,
        "counterfactual_mean_gpu_hours": mean if known else None,
        "counterfactual_saved_gpu_hours": spent - mean if known else None,
        "counterfactual_saved_share": (spent - mean) / spent if known and spent else None,
        "counterfactual_saved_usd_low": _sum_known(known, "saved_usd_low"),
        "counterfactual_saved_usd_high": _sum_known(known, "saved_usd_high"),
    }


def _sum_known(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [x[key] for x in rows]
    return None if not vals or any(x is None for x in vals) else float(sum(vals))


def _rollup(searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [(s["search_id"], h) for s in searches for h in s["sensitivity"]]
    if not rows:
        return []
    d = pd.DataFrame({"search": [a for a, _ in rows], "key": [h["hyperparameter"] for _, h in rows],
                      "eta": [np.nan if h["eta_squared"] is None else h["eta_squared"] for _, h in rows],
                      "spread": [h["spread"] for _, h in rows]})
    top = d.sort_values("eta", ascending=False, kind="stable").groupby("search").head(1)
    n_top = top["key"].value_counts()
    out = []
    for key, x in d.groupby("key", sort=False):
        e = x["eta"].dropna()
        out.append({"hyperparameter": key, "n_searches": len(x),
                    "n_searches_most_important": int(n_top.get(key, 0)),
                    "eta_squared_median": None if e.empty else float(e.median()),
                    "eta_squared_q1": None if e.empty else float(e.quantile(0.25)),
                    "eta_squared_q3": None if e.empty else float(e.quantile(0.75)),
                    "spread_median": float(x["spread"].median()), "spread_max": float(x["spread"].max())})
    out.sort(key=lambda h: (-(h["eta_squared_median"] or 0.0), h["hyperparameter"]))
    return out


def _method(p: TuningParams, v: _Values) -> dict[str, Any]:
    tol = f"{100 * p.tolerance:g}% (relative)" if p.tolerance_kind == "relative" else f"{p.tolerance:g} {v.metric}"
    return {
        "results_from": "COMPLETED runs" if p.completed_only else "runs in any state",
        "sensitivity": ("for each hyperparameter the search varied, over the runs with a result: the spread "
                        "(max - min) of the mean metric across its values, and eta-squared (between-value "
                        "sum of squares / total sum of squares); main effects, one hyperparameter at a "
                        f"time; a numeric hyperparameter with more than {MAX_LEVELS} values is cut into "
                        f"{N_BINS} quantile bins"),
        "counterfactual": ("random search over the same runs: each resample is a random order of all the "
                           "search's runs (without replacement); it spends each run's GPU-hours, runs "
                           "without a result included, up to and including the first run within the "
                           "tolerance of the search's best (an oracle stopping rule: the best is known)"),
        "tolerance": p.tolerance, "tolerance_kind": p.tolerance_kind, "tolerance_text": tol,
        "n_resamples": p.n_resamples, "resample_seed": p.resample_seed, "quantile": p.quantile,
        "rng": "numpy.random.default_rng([resample_seed, CRC-32 of the search id])",
        "repeats": ("configuration = the values of every hyperparameter key, seeds excluded; runs in launch "
                    "order over the whole project; " + "; ".join(f"{k}: {t}" for k, t in ROLE_TEXT.items())),
    }


def _prices(costs: pd.DataFrame) -> list[dict[str, Any]]:
    c = costs[costs["gpu_hours"] > 0]
    cols = ["gpu_key", "usd_per_gpu_hour_low", "usd_per_gpu_hour_high", "price_provider", "pricing_model_low",
            "pricing_model_high", "price_as_of_low", "price_as_of_high", "price_note"]
    if c.empty:
        return []
    u = c[cols].astype(object).drop_duplicates()
    return [{k: json_ready(x) for k, x in zip(cols, row, strict=True)} for row in u.itertuples(index=False)]


# -- tables and words ---------------------------------------------------------------------

def _search_table(t: TuningResult) -> pd.DataFrame:
    rows = []
    for s in t.searches:
        cf, b = s["counterfactual"] or {}, s["best"] or {}
        top = s["sensitivity"][0] if s["sensitivity"] else {}
        roles = {x["role"]: x for x in s["repeats"]["roles"]}
        rows.append({
            "search_id": s["search_id"], "name": s["name"], "metric": t.metric, "n_runs": s["n_runs"],
            "n_configurations": s["n_configurations"], "gpu_hours": s["gpu_hours"],
            "best_metric": b.get("metric"), "best_launch_rank": b.get("launch_rank"),
            "top_hyperparameter": top.get("hyperparameter"), "top_eta_squared": top.get("eta_squared"),
            "top_spread": top.get("spread"), "seed_std": s["seed_std"],
            "launch_order_gpu_hours": cf.get("launch_order_gpu_hours"),
            "random_mean_gpu_hours": cf.get("mean_gpu_hours"),
            "random_quantile_gpu_hours": cf.get("quantile_gpu_hours"),
            "saved_share": cf.get("saved_share"),
            "n_seed_replicates": roles["seed_replicate"]["n_runs"],
            "n_retries": roles["retry"]["n_runs"], "n_redundant": roles["redundant"]["n_runs"],
            "redundant_gpu_hours": roles["redundant"]["gpu_hours"],
        })
    return pd.DataFrame(rows)


def _pct(x: float | None) -> str:
    return "unknown" if x is None else f"{100 * x:.0f}%"


def _statement(t: TuningResult) -> list[tuple[str, str]]:
    tot = t.totals
    if t.metric is None:
        return [("not_available", "No run reports hyperparameters and a metric: tuning sensitivity is not available.")]
    if not t.searches:
        return [("not_available", f"No run that reports {t.metric} is in a grid search: tuning sensitivity is not "
                                  "available.")]
    lines = [("searches", f"{tot['n_searches']:,} hyperparameter searches ({tot['n_runs_in_searches']:,} runs, "
             f"{tot['n_configurations']:,} distinct configurations"
             + (f", {tot['gpu_hours_in_searches']:,.0f} GPU-hours" if tot["gpu_hours_in_searches"] is not None else "")
             + f"), tuned for {t.metric} ({'higher' if t.goal == 'max' else 'lower'} is better).")]
    hs = [h for h in t.hyperparameters if h["eta_squared_median"] is not None]
    if hs:
        parts = [f"{h['hyperparameter']} (median {_pct(h['eta_squared_median'])} of the variance within a "
                 f"search, spread {h['spread_median']:.3g}; {h['n_searches']} searches)" for h in hs[:3]]
        lines.append(("sensitivity", f"{t.metric} depended most on " + ", then ".join(parts)
                      + " (main effects, eta-squared)."))
    seeds = [s["seed_std"] for s in t.searches if s["seed_std"] is not None]
    if seeds:
        lines.append(("seeds", f"Across seeds of the same configuration, {t.metric} varied with a median standard "
                               f"deviation of {float(np.median(seeds)):.3g} ({len(seeds)} searches)."))
    if tot["counterfactual_mean_gpu_hours"] is not None:
        m = t.method
        lines.append(("counterfactual",
                      f"A random search over the same runs would have reached within {m['tolerance_text']} of "
                      f"each search's best after {tot['counterfactual_mean_gpu_hours']:,.0f} GPU-hours on average "
                      f"({_pct(1 - (tot['counterfactual_saved_share'] or 0))} of the "
                      f"{tot['counterfactual_search_gpu_hours']:,.0f} spent; resampled "
                      f"{m['n_resamples']:,} times, seed {m['resample_seed']})."))
    red = {x["role"]: x for x in t.repeats}
    if red["redundant"]["n_runs"] or red["retry"]["n_runs"]:
        gh = red["redundant"]["gpu_hours"]
        lines.append(("repeats", f"{red['redundant']['n_runs']:,} runs repeated a configuration and seed that had "
                                 "already given a result" + (f" ({gh:,.0f} GPU-hours)" if gh is not None else "")
                      + f"; {red['retry']['n_runs']:,} were retries of runs without a result."))
    return lines


# -- helpers -------------------------------------------------------------------------------




