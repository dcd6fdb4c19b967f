"""Which logged keys are what, from their names alone: system values and ids, progress counters,
metric-like keys (and whether higher or lower is better), validation metrics, seeds.

The rules are documented in docs/tuning.md ("Which keys are hyperparameters").
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[/._\-\s]+")
VALIDATION_WORDS = frozenset({"val", "valid", "validation", "eval", "evaluation", "dev"})
MIN_WORDS = frozenset(
    {
        "loss",
        "error",
        "err",
        "perplexity",
        "ppl",
        "mse",
        "mae",
        "rmse",
        "wer",
        "cer",
        "nll",
        "bpc",
        "bpb",
        "kl",
        "regret",
        "latency",
    }
)
MAX_WORDS = frozenset(
    {
        "acc",
        "accuracy",
        "f1",
        "bleu",
        "rouge",
        "auc",
        "auroc",
        "score",
        "precision",
        "recall",
        "map",
        "iou",
        "miou",
        "dice",
        "reward",
        "return",
        "r2",
        "ndcg",
        "mrr",
        "top1",
        "top5",
        "em",
        "spearman",
        "pearson",
        "correlation",
        "mcc",
        "sacrebleu",
    }
)
_RESULT_PREFIX = frozenset(
    {"val", "valid", "validation", "eval", "evaluation", "dev", "test", "train", "training", "best"}
)
#: Last words that make a metric-sounding key a setting (loss_weight, score_threshold).
_SETTING_WORDS = frozenset(
    {
        "weight",
        "weights",
        "coef",
        "coeff",
        "scale",
        "type",
        "fn",
        "function",
        "alpha",
        "beta",
        "temperature",
        "margin",
        "threshold",
        "factor",
        "name",
        # schedules, sizes and counts of a run's setup (eval_interval, max_iters, learning_rate)
        "interval",
        "iters",
        "iterations",
        "every",
        "freq",
        "frequency",
        "rate",
        "lr",
        "size",
        "steps",
        "epochs",
        "patience",
        "warmup",
        "decay",
        "dropout",
        "momentum",
        "eps",
        "epsilon",
        "seed",
    }
)
#: Words that mark a key as part of a run's configuration (train_cfg.algorithm.gamma).
_CONFIG_WORDS = frozenset(
    {"cfg", "config", "configs", "args", "hparams", "hyperparameters", "params"}
)
PROGRESS_KEYS = frozenset(
    {
        "epoch",
        "step",
        "global_step",
        "iteration",
        "iter",
        "trainer/global_step",
        "_step",
        "epochs_done",
        "steps_done",
    }
)
_SYSTEM = re.compile(
    r"^(_|slurm|wandb|mlflow|system[/.]|sys[/.]|git)"
    r"|^(name|display_name|run_name|exp_name|experiment_name|notes?|updated|agent|stopped|created|"
    r"host|hostname|user|username|tags|state|status|runtime|duration|sweep|project|entity|group|job_type|"
    r"commit|version|cwd|command|program|source( ?(type|name|version))?|artifact_uri|models)$"
    r"|(^|[._/-])(id|ids|uuid|run_?id|job_?id|pid|node|timestamp)$"
    r"|(^|[._/-])(\w+_)?(dir|path|file|filename)$",
    re.IGNORECASE,
)
_SEED = re.compile(r"seed", re.IGNORECASE)


def tokens(key: str) -> list[str]:
    """The words of a key, lower case (split at ``/ . _ -`` and spaces)."""
    return [t for t in _TOKEN.split(key.lower()) if t]


def is_system_key(key: str) -> bool:
    """A key that is no hyperparameter: W&B/MLflow/Slurm system values, ids, names, paths."""
    return bool(_SYSTEM.search(key))


def is_progress_key(key: str) -> bool:
    return key.lower() in PROGRESS_KEYS


def is_metric_like(key: str) -> bool:
    """A key named like a result: ``val/f1``, ``train_loss``, ``accuracy``, ``eval.bleu``."""
    toks = tokens(key)
    if not toks or toks[-1] in _SETTING_WORDS or set(toks) & _CONFIG_WORDS:
        return False
    if "/" in key or toks[0] in _RESULT_PREFIX:
        return True
    return any(t in MIN_WORDS or t in MAX_WORDS or t.startswith("rouge") for t in toks)


def is_validation_key(key: str) -> bool:
    return bool(set(tokens(key)) & VALIDATION_WORDS)


def is_seed_key(key: str) -> bool:
    """A key whose name contains ``seed`` (any case)."""
    return bool(_SEED.search(key))


def goal_of(metric: str) -> str | None:
    """max or min from the metric's name; None when the name does not say."""
    toks = tokens(metric)
    if any(t in MIN_WORDS for t in toks):
        return "min"
    if any(t in MAX_WORDS or t.startswith("rouge") for t in toks):
        return "max"
    return None
