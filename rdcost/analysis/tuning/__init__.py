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

Modules (one idea each; this package re-exports the names callers use):

- :mod:`~rdcost.analysis.tuning.params`: :class:`TuningParams` (how the analysis is done), :class:`MetricError`;
- :mod:`~rdcost.analysis.tuning.keys`: which keys are system values, progress counters, metrics, seeds (by name);
- :mod:`~rdcost.analysis.tuning.values`: each run's metric, hyperparameters and seeds from the JSON columns;
- :mod:`~rdcost.analysis.tuning.runs`: the run table in launch order and the runs of each search;
- :mod:`~rdcost.analysis.tuning.repeats`: repeat roles (seed replicate, retry, redundant);
- :mod:`~rdcost.analysis.tuning.sensitivity`: per-search statistics (spread, eta-squared, seed noise);
- :mod:`~rdcost.analysis.tuning.counterfactual`: the random-search resampling counterfactual;
- :mod:`~rdcost.analysis.tuning.searches`: one JSON entry per search;
- :mod:`~rdcost.analysis.tuning.totals`: project-level totals, hyperparameter roll-up, prices;
- :mod:`~rdcost.analysis.tuning.method`: the JSON's description of the method;
- :mod:`~rdcost.analysis.tuning.result`: :class:`TuningResult`, its table and statement sentences;
- :mod:`~rdcost.analysis.tuning.driver`: :func:`analyze` and :func:`analyze_context`.
"""

from rdcost.analysis.tuning.counterfactual import BLOCK_ELEMENTS, expected_until, resample_until
from rdcost.analysis.tuning.driver import analyze, analyze_context
from rdcost.analysis.tuning.keys import (
    MAX_WORDS,
    MIN_WORDS,
    PROGRESS_KEYS,
    VALIDATION_WORDS,
    goal_of,
    is_metric_like,
    is_progress_key,
    is_seed_key,
    is_system_key,
    is_validation_key,
)
from rdcost.analysis.tuning.params import DEFAULT_PARAMS, MetricError, TuningParams
from rdcost.analysis.tuning.repeats import ROLE_TEXT, ROLES
from rdcost.analysis.tuning.result import SCHEMA_VERSION, TuningResult
from rdcost.analysis.tuning.sensitivity import MAX_LEVELS, N_BINS

__all__ = [
    "BLOCK_ELEMENTS",
    "DEFAULT_PARAMS",
    "MAX_LEVELS",
    "MAX_WORDS",
    "MIN_WORDS",
    "N_BINS",
    "PROGRESS_KEYS",
    "ROLES",
    "ROLE_TEXT",
    "SCHEMA_VERSION",
    "VALIDATION_WORDS",
    "MetricError",
    "TuningParams",
    "TuningResult",
    "analyze",
    "analyze_context",
    "expected_until",
    "goal_of",
    "is_metric_like",
    "is_progress_key",
    "is_seed_key",
    "is_system_key",
    "is_validation_key",
    "resample_until",
]
